/* xskshim-stat.c - show what xskshim is doing in the processes that run
 * under it.  A separate program (not part of libxskshim.so).
 *
 *   xskshim-stat                 list every process under the shim
 *   xskshim-stat PID             one process in detail
 *   xskshim-stat -w [PID]        refresh every second, with rates
 *   xskshim-stat --json [PID]    machine-readable (one JSON document per line)
 *   xskshim-stat --clean [PID..] remove regions left behind by dead processes
 *
 * Design note
 * -----------
 * Everything comes from the statistics region each process publishes at
 * /dev/shm/xskshim.<pid> (layout and rules in shim/stats.h), plus two
 * sources the region only points at:
 *   - XDP_STATISTICS of every AF_XDP socket, read with getsockopt on a
 *     duplicate of the process's fd obtained through pidfd_open() +
 *     pidfd_getfd() (needs ptrace-attach permission over the process:
 *     root or CAP_SYS_PTRACE; the same user without it, where Yama allows);
 *   - the XDP program's per-CPU counters, from the BPF map whose id the
 *     region names (bpf_map_get_fd_by_id needs CAP_SYS_ADMIN; CAP_BPF alone
 *     is refused - measured on 6.18).
 * Either may be unavailable; the output then says why and carries on.
 *
 * Reading a region: it is mapped read-only and copied out first, 64 bits at
 * a time with atomic loads (the writer's counters are aligned 64-bit stores,
 * so no counter is ever torn), under the seqlock protocol: the copy is
 * retried while `gen` is odd or changed across it.  A SIGBUS (the file was
 * truncated under us: a new process reusing the pid) aborts the copy.
 * Nothing is ever written to a region; --clean only unlinks stale files.
 *
 * Liveness: a region is STALE when its pid no longer exists, is a zombie,
 * or now belongs to another process (field 22 of /proc/<pid>/stat differs
 * from the recorded starttime).  A stale region is never shown as live, and
 * nothing is queried from a stale process.
 *
 * Exit status: 0 ok; 1 no such process, unreadable region or error; 2 usage;
 * 3 the requested process's region is stale.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_xdp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "shim/stats.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define STAT_DIR     "/dev/shm"
#define STAT_PREFIX  "xskshim."
#define NOTES_MAX    8

_Static_assert(sizeof(struct xskshim_stats_hdr) % 8 == 0, "region copied in 64-bit words");

static const char *const frame_err_names[] = { RING_FRAME_ERR_NAMES };
static const char *const ctr_names[] = { XSKSHIM_CTR_NAMES };

enum reg_state { REG_LIVE, REG_STALE, REG_STARTING, REG_INVALID };
static const char *const reg_state_names[] = { "live", "STALE", "starting", "INVALID" };

/* One read of one region, plus what was fetched from the live process. */
struct snap {
	int      pid;                 /* from the file name */
	char     path[64];
	enum reg_state state;
	bool     valid;               /* h holds a validated copy */
	char     state_why[160];      /* why STALE/INVALID/STARTING */
	uint32_t version_found;
	double   uptime_s;            /* of the process, -1 unknown */
	struct xskshim_stats_hdr h;   /* the copy */
	/* XDP_STATISTICS per (socket record, queue index) */
	struct xdp_statistics xs[XSKSHIM_STATS_SOCKS][XSKSHIM_STATS_QUEUES];
	bool     xs_ok[XSKSHIM_STATS_SOCKS][XSKSHIM_STATS_QUEUES];
	bool     xs_tried;
	char     xs_err[200];         /* why XDP_STATISTICS are missing ("" if none) */
	/* XDP program per-CPU counters, summed */
	uint64_t ctrs[XSKSHIM_CTR_CNT];
	bool     ctrs_ok;
	int      ctrs_cpus;
	char     ctrs_err[200];
	char     notes[NOTES_MAX][200];
	int      note_cnt;
	double   t;                   /* CLOCK_MONOTONIC of the read */
};

static struct {
	bool json;
	bool watch;
	bool once;
	double interval;
	long count;                   /* watch iterations, 0 = until interrupted */
} opt = { .interval = 1.0 };

static volatile sig_atomic_t stop_req;

static void snap_note(struct snap *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void snap_note(struct snap *s, const char *fmt, ...)
{
	va_list ap;

	if (s->note_cnt >= NOTES_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(s->notes[s->note_cnt++], sizeof(s->notes[0]), fmt, ap);
	va_end(ap);
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- /proc ---------------------------------------------------------------- */

/* State letter and starttime (field 22) of pid.  0, or -ENOENT when the
 * process does not exist, or another negative errno. */
static int proc_stat(int pid, char *state, uint64_t *starttime)
{
	char path[64], buf[2048];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? -ENOENT : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ENOENT;   /* reaped between open and read */
	buf[n] = 0;
	return xskshim_proc_stat_parse(buf, state, starttime) ? -EINVAL : 0;
}

static double proc_uptime_of(uint64_t starttime)
{
	double up = -1;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/uptime", "re");

	if (f) {
		if (fscanf(f, "%lf", &up) != 1)
			up = -1;
		fclose(f);
	}
	if (up < 0 || hz <= 0 || !starttime)
		return -1;
	up -= (double)starttime / (double)hz;
	return up < 0 ? 0 : up;
}

/* Is the process that wrote this region still the one running as pid?
 * Sets s->state to LIVE or STALE (with the reason). */
static void snap_liveness(struct snap *s)
{
	uint64_t st = 0;
	char c = '?';
	int err = proc_stat(s->pid, &c, &st);

	s->uptime_s = -1;
	if (err == -ENOENT) {
		s->state = REG_STALE;
		snprintf(s->state_why, sizeof(s->state_why), "process %d is gone", s->pid);
		return;
	}
	if (err) {
		/* /proc unreadable: fall back to kill(0); never call it live
		 * unless the process at least exists. */
		if (kill(s->pid, 0) && errno == ESRCH) {
			s->state = REG_STALE;
			snprintf(s->state_why, sizeof(s->state_why), "process %d is gone", s->pid);
		} else {
			s->state = REG_LIVE;
			snap_note(s, "cannot read /proc/%d/stat (%s): pid reuse not checked", s->pid,
				  strerror(-err));
		}
		return;
	}
	if (s->h.starttime && st != s->h.starttime) {
		s->state = REG_STALE;
		snprintf(s->state_why, sizeof(s->state_why),
			 "process %d is gone (pid now used by another process)", s->pid);
		return;
	}
	if (c == 'Z' || c == 'X') {
		s->state = REG_STALE;
		snprintf(s->state_why, sizeof(s->state_why), "process %d has exited (zombie)", s->pid);
		return;
	}
	if (!s->h.starttime)
		snap_note(s, "region has no start time: pid reuse not checked");
	s->state = REG_LIVE;
	s->uptime_s = proc_uptime_of(st);
}

/* ---- reading a region ---------------------------------------------------- */

static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_armed;

static void on_sigbus(int sig)
{
	(void)sig;
	if (bus_armed)
		siglongjmp(bus_jmp, 1);
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

/* Copy sz bytes (a multiple of 8) 64 bits at a time: every aligned 64-bit
 * counter the writer stores is read whole. */
static void copy_words(void *dst, const void *src, size_t sz)
{
	const uint64_t *s = src;
	uint64_t *d = dst;

	for (size_t i = 0; i < sz / 8; i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

/* One seqlock read of the mapped region m into out: 0 (and *gen), -EAGAIN
 * (writer active: gen odd or changed), -ENODATA (magic not published yet),
 * -EPROTO (not an xskshim region), -EFAULT (SIGBUS: the file shrank under us). */
static int region_copy(const struct xskshim_stats_hdr *m, struct xskshim_stats_hdr *out, uint32_t *gen)
{
	uint32_t g1, g2, magic;

	bus_armed = 1;
	if (sigsetjmp(bus_jmp, 1)) {
		bus_armed = 0;
		return -EFAULT;
	}
	magic = __atomic_load_n(&m->magic, __ATOMIC_ACQUIRE);
	if (magic != XSKSHIM_STATS_MAGIC) {
		bus_armed = 0;
		return magic ? -EPROTO : -ENODATA;
	}
	g1 = __atomic_load_n(&m->gen, __ATOMIC_ACQUIRE);
	if (g1 & 1) {
		bus_armed = 0;
		return -EAGAIN;
	}
	copy_words(out, m, sizeof(*out));
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	g2 = __atomic_load_n(&m->gen, __ATOMIC_RELAXED);
	bus_armed = 0;
	if (g1 != g2)
		return -EAGAIN;
	*gen = g1;
	return 0;
}

static void str_fix(char *s, size_t sz)
{
	s[sz - 1] = 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void xsk_collect(struct snap *s);
static void ctrs_collect(struct snap *s);

/* Read region `path` of `pid` into s (allocated by the caller).  For a live
 * process with details, also fetch XDP_STATISTICS and the BPF counters.
 * Returns 0 (s->state says what was found) or a negative errno when the
 * file vanished or cannot be opened. */
static int snap_load(struct snap *s, const char *path, int pid, bool details)
{
	const struct xskshim_stats_hdr *m;
	struct stat sb;
	size_t map_sz;
	int fd, tries, round;
	uint32_t g1 = 0;
	bool got = false, busy = false;

	memset(s, 0, sizeof(*s));
	s->pid = pid;
	s->uptime_s = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		close(fd);
		s->state = REG_INVALID;
		snprintf(s->state_why, sizeof(s->state_why), "not a regular file");
		goto out_live;
	}
	if ((size_t)sb.st_size < sizeof(struct xskshim_stats_hdr)) {
		close(fd);
		s->state = sb.st_size == 0 ? REG_STARTING : REG_INVALID;
		snprintf(s->state_why, sizeof(s->state_why), "%lld bytes, expected %zu",
			 (long long)sb.st_size, sizeof(struct xskshim_stats_hdr));
		goto out_live;
	}
	map_sz = sizeof(struct xskshim_stats_hdr);
	m = mmap(NULL, map_sz, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -errno;

	for (round = 0; round < 3 && !got; round++) {
		bool copied = false;

		for (tries = 0; tries < 2000; tries++) {
			struct timespec nap = { 0, 20000 };
			int r = region_copy(m, &s->h, &g1);

			if (r == -EFAULT) {
				munmap((void *)m, map_sz);
				s->state = REG_INVALID;
				snprintf(s->state_why, sizeof(s->state_why), "region truncated while reading");
				goto out_live;
			}
			if (r == -EPROTO) {
				munmap((void *)m, map_sz);
				s->state = REG_INVALID;
				snprintf(s->state_why, sizeof(s->state_why), "not an xskshim region (bad magic)");
				goto out_live;
			}
			if (r == -ENODATA)
				break;
			if (r == -EAGAIN) {
				busy = true;
				nanosleep(&nap, NULL);
				continue;
			}
			copied = true;
			break;
		}
		if (!copied)
			break;
		s->t = mono_now();
		/* Validate the copy. */
		s->version_found = s->h.version;
		if (s->h.version < XSKSHIM_STATS_VERSION || s->h.size < sizeof(s->h) ||
		    (s->h.version == XSKSHIM_STATS_VERSION && s->h.size != sizeof(s->h)) ||
		    s->h.size > (uint64_t)sb.st_size) {
			munmap((void *)m, map_sz);
			s->state = REG_INVALID;
			snprintf(s->state_why, sizeof(s->state_why),
				 "version %u size %u (this tool reads version %u, size %zu)", s->h.version,
				 s->h.size, XSKSHIM_STATS_VERSION, sizeof(s->h));
			goto out_live;
		}
		if (s->h.pid != pid) {
			munmap((void *)m, map_sz);
			s->state = REG_INVALID;
			snprintf(s->state_why, sizeof(s->state_why), "region says pid %d", s->h.pid);
			goto out_live;
		}
		if (s->h.version > XSKSHIM_STATS_VERSION && round == 0)
			snap_note(s, "region version %u is newer than this tool (%u): showing the fields it knows",
				  s->h.version, XSKSHIM_STATS_VERSION);
		str_fix(s->h.comm, sizeof(s->h.comm));
		str_fix(s->h.iface, sizeof(s->h.iface));
		str_fix(s->h.desc, sizeof(s->h.desc));
		str_fix(s->h.config_why, sizeof(s->h.config_why));
		for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++) {
			struct xskshim_stats_sock *r = &s->h.sock[i];

			str_fix(r->why, sizeof(r->why));
			if (r->q_cnt > XSKSHIM_STATS_QUEUES)
				r->q_cnt = XSKSHIM_STATS_QUEUES;
			if (r->state > XSKSHIM_ST_ACCEL)
				r->state = XSKSHIM_ST_FREE;
		}
		snap_liveness(s);
		s->valid = true;
		if (s->state != REG_LIVE || !details) {
			got = true;
			break;
		}
		/* The fds listed are only meaningful for this generation: fetch,
		 * then make sure the identity did not change meanwhile. */
		xsk_collect(s);
		ctrs_collect(s);
		if (__atomic_load_n(&m->gen, __ATOMIC_ACQUIRE) == g1)
			got = true;
	}
	munmap((void *)m, map_sz);
	if (!got) {
		if (s->h.magic == XSKSHIM_STATS_MAGIC && s->state == REG_LIVE) {
			snap_note(s, "region kept changing while it was read; identity may be mixed");
			return 0;
		}
		s->state = REG_STARTING;
		snprintf(s->state_why, sizeof(s->state_why), "%s",
			 busy ? "region busy (its writer holds the seqlock)" : "region not initialised yet");
		goto out_live;
	}
	return 0;

out_live:
	/* Invalid or unfinished region: say STALE anyway when the pid is gone. */
	s->valid = false;
	memset(&s->h, 0, sizeof(s->h));
	{
		enum reg_state keep = s->state;
		char why[sizeof(s->state_why)];

		memcpy(why, s->state_why, sizeof(why));
		s->h.starttime = 0;
		snap_liveness(s);
		s->note_cnt = 0;
		if (s->state == REG_LIVE) {
			s->state = keep;
			memcpy(s->state_why, why, sizeof(why));
		} else {
			snprintf(s->state_why + strlen(s->state_why),
				 sizeof(s->state_why) - strlen(s->state_why), " (%s)", why);
		}
	}
	return 0;
}

/* XDP_STATISTICS of every AF_XDP socket the region lists, via pidfd_getfd. */
static void xsk_collect(struct snap *s)
{
	int pfd, n = 0;

	s->xs_tried = true;
	memset(s->xs_ok, 0, sizeof(s->xs_ok));
	s->xs_err[0] = 0;
	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++)
		if (s->h.sock[i].state == XSKSHIM_ST_ACCEL)
			n += (int)s->h.sock[i].q_cnt;
	if (!n)
		return;
	pfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	if (pfd < 0) {
		snprintf(s->xs_err, sizeof(s->xs_err), "pidfd_open(%d): %s%s", s->pid, strerror(errno),
			 errno == ENOSYS ? " (kernel older than 5.3)" : "");
		return;
	}
	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++) {
		struct xskshim_stats_sock *r = &s->h.sock[i];

		if (r->state != XSKSHIM_ST_ACCEL)
			continue;
		for (uint32_t q = 0; q < r->q_cnt; q++) {
			struct xdp_statistics st;
			socklen_t len = sizeof(int);
			int dom = 0, fd;

			fd = (int)syscall(SYS_pidfd_getfd, pfd, r->xsk_fd[q], 0);
			if (fd < 0) {
				int e = errno;

				if (e == EBADF)
					continue;   /* closed meanwhile; gen check will tell */
				if (e == EPERM || e == EACCES)
					snprintf(s->xs_err, sizeof(s->xs_err),
						 "pidfd_getfd on pid %d: %s (needs ptrace access to the "
						 "process: root or CAP_SYS_PTRACE)",
						 s->pid, strerror(e));
				else
					snprintf(s->xs_err, sizeof(s->xs_err), "pidfd_getfd on pid %d: %s%s",
						 s->pid, strerror(e),
						 e == ENOSYS ? " (kernel older than 5.6)" : "");
				goto out;
			}
			if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) || dom != AF_XDP) {
				close(fd);
				continue;   /* fd reused for something else */
			}
			memset(&st, 0, sizeof(st));
			len = sizeof(st);
			if (getsockopt(fd, SOL_XDP, XDP_STATISTICS, &st, &len) == 0) {
				s->xs[i][q] = st;
				s->xs_ok[i][q] = true;
			} else if (!s->xs_err[0]) {
				snprintf(s->xs_err, sizeof(s->xs_err), "getsockopt(XDP_STATISTICS): %s",
					 strerror(errno));
			}
			close(fd);
		}
	}
out:
	close(pfd);
}

/* The XDP program's per-CPU counters, summed over the possible CPUs. */
static void ctrs_collect(struct snap *s)
{
	struct bpf_map_info mi;
	uint32_t mil = sizeof(mi);
	uint64_t *v;
	int fd, ncpu;

	s->ctrs_ok = false;
	s->ctrs_err[0] = 0;
	memset(s->ctrs, 0, sizeof(s->ctrs));
	if (!s->h.ctrs_map_id) {
		snprintf(s->ctrs_err, sizeof(s->ctrs_err), "no XDP program installed");
		return;
	}
	fd = bpf_map_get_fd_by_id(s->h.ctrs_map_id);
	if (fd < 0) {
		int e = errno;

		if (e == EPERM || e == EACCES)
			snprintf(s->ctrs_err, sizeof(s->ctrs_err),
				 "cannot open BPF map id %u: %s (needs root, or CAP_SYS_ADMIN: CAP_BPF alone is not enough)",
				 s->h.ctrs_map_id, strerror(e));
		else if (e == ENOENT)
			snprintf(s->ctrs_err, sizeof(s->ctrs_err),
				 "BPF map id %u is gone (XDP program uninstalled)", s->h.ctrs_map_id);
		else
			snprintf(s->ctrs_err, sizeof(s->ctrs_err), "cannot open BPF map id %u: %s",
				 s->h.ctrs_map_id, strerror(e));
		return;
	}
	memset(&mi, 0, sizeof(mi));
	if (bpf_obj_get_info_by_fd(fd, &mi, &mil)) {
		snprintf(s->ctrs_err, sizeof(s->ctrs_err), "BPF map id %u: info: %s", s->h.ctrs_map_id,
			 strerror(errno));
		goto out;
	}
	if (mi.type != BPF_MAP_TYPE_PERCPU_ARRAY || mi.key_size != 4 || mi.value_size != 8 ||
	    mi.max_entries < XSKSHIM_CTR_CNT || strcmp(mi.name, "ctrs")) {
		snprintf(s->ctrs_err, sizeof(s->ctrs_err),
			 "BPF map id %u is not xskshim's counter map (name '%s')", s->h.ctrs_map_id, mi.name);
		goto out;
	}
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0) {
		snprintf(s->ctrs_err, sizeof(s->ctrs_err), "cannot count possible CPUs: %s", strerror(-ncpu));
		goto out;
	}
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v) {
		snprintf(s->ctrs_err, sizeof(s->ctrs_err), "out of memory");
		goto out;
	}
	for (uint32_t k = 0; k < XSKSHIM_CTR_CNT; k++) {
		if (bpf_map_lookup_elem(fd, &k, v)) {
			snprintf(s->ctrs_err, sizeof(s->ctrs_err), "lookup of counter %u: %s", k, strerror(errno));
			free(v);
			goto out;
		}
		for (int c = 0; c < ncpu; c++)
			s->ctrs[k] += v[c];
	}
	free(v);
	s->ctrs_ok = true;
	s->ctrs_cpus = ncpu;
out:
	close(fd);
}

/* ---- finding regions -------------------------------------------------------- */

/* pid from "xskshim.<pid>", or -1. */
static int region_pid(const char *name)
{
	const char *p;
	long v = 0;

	if (strncmp(name, STAT_PREFIX, strlen(STAT_PREFIX)))
		return -1;
	p = name + strlen(STAT_PREFIX);
	if (!*p)
		return -1;
	for (; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (*p - '0');
		if (v > 0x7fffffff)
			return -1;
	}
	return v > 0 ? (int)v : -1;
}

static int pid_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Sorted pids of every region in STAT_DIR.  Returns the count, or -errno. */
static int region_scan(int **out)
{
	struct dirent *d;
	int *v = NULL, n = 0, cap = 0;
	DIR *dir = opendir(STAT_DIR);

	*out = NULL;
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((d = readdir(dir))) {
		int pid = region_pid(d->d_name);

		if (pid < 0)
			continue;
		if (n == cap) {
			int *nv = realloc(v, (size_t)(cap = cap ? cap * 2 : 32) * sizeof(*v));

			if (!nv)
				break;
			v = nv;
		}
		v[n++] = pid;
	}
	closedir(dir);
	qsort(v, (size_t)n, sizeof(*v), pid_cmp);
	*out = v;
	return n;
}

static void region_path(char *buf, size_t sz, int pid)
{
	snprintf(buf, sz, STAT_DIR "/" STAT_PREFIX "%d", pid);
}

/* ---- formatting ---------------------------------------------------------------- */

/* Counts: exact below 100000, then k/M/G/T with 3-4 significant digits. */
static const char *fmt_cnt(char *b, size_t sz, uint64_t v)
{
	static const char *const suf[] = { "k", "M", "G", "T", "P" };
	double d = (double)v;
	int i = -1;

	if (v < 100000) {
		snprintf(b, sz, "%" PRIu64, v);
		return b;
	}
	while (d >= 1000 && i < 4) {
		d /= 1000;
		i++;
	}
	snprintf(b, sz, d >= 100 ? "%.1f%s" : "%.2f%s", d, suf[i]);
	return b;
}

static const char *fmt_bytes(char *b, size_t sz, double v)
{
	static const char *const suf[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	int i = 0;

	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	if (!i)
		snprintf(b, sz, "%.0f B", v);
	else
		snprintf(b, sz, v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s", v, suf[i]);
	return b;
}

static const char *fmt_rate(char *b, size_t sz, double pps)
{
	if (pps < 0)
		pps = 0;
	if (pps >= 1e6)
		snprintf(b, sz, "%.2f Mpps", pps / 1e6);
	else if (pps >= 1e3)
		snprintf(b, sz, "%.1f kpps", pps / 1e3);
	else
		snprintf(b, sz, "%.0f pps", pps);
	return b;
}

static const char *fmt_pct(char *b, size_t sz, double part, double whole)
{
	if (whole <= 0)
		snprintf(b, sz, "-");
	else
		snprintf(b, sz, "%.1f%%", 100.0 * part / whole);
	return b;
}

static const char *fmt_dur(char *b, size_t sz, double s)
{
	if (s < 0)
		snprintf(b, sz, "?");
	else if (s < 120)
		snprintf(b, sz, "%.0fs", s);
	else if (s < 7200)
		snprintf(b, sz, "%ldm%02lds", (long)s / 60, (long)s % 60);
	else if (s < 172800)
		snprintf(b, sz, "%.1fh", s / 3600);
	else
		snprintf(b, sz, "%.1fd", s / 86400);
	return b;
}

/* A queue list "0", "0-3" or "0,2,5". */
static const char *fmt_queues(char *b, size_t sz, const struct xskshim_stats_sock *r)
{
	size_t n = 0;

	b[0] = 0;
	if (!r->q_cnt) {
		snprintf(b, sz, "-");
		return b;
	}
	for (uint32_t q = 0; q < r->q_cnt && n < sz; q++) {
		uint32_t a = r->xsk_queue[q], e = q;

		while (e + 1 < r->q_cnt && r->xsk_queue[e + 1] == r->xsk_queue[e] + 1)
			e++;
		if (e > q)
			n += (size_t)snprintf(b + n, sz - n, "%s%u-%u", n ? "," : "", a, r->xsk_queue[e]);
		else
			n += (size_t)snprintf(b + n, sz - n, "%s%u", n ? "," : "", a);
		q = e;
	}
	return b;
}

static const char *fmt_fds(char *b, size_t sz, const struct xskshim_stats_sock *r)
{
	size_t n = 0;

	b[0] = 0;
	if (!r->q_cnt)
		snprintf(b, sz, "-");
	for (uint32_t q = 0; q < r->q_cnt && n < sz; q++)
		n += (size_t)snprintf(b + n, sz - n, "%s%d", q ? "," : "", r->xsk_fd[q]);
	return b;
}

/* A small table printer: column widths from the content; headers starting
 * with '<' are left-aligned, others right-aligned.  The last column may be
 * free text (left-aligned, not padded). */
#define TBL_COLS 16
#define TBL_W    288

struct tbl {
	int ncol, nrow, cap;
	const char *hdr[TBL_COLS];
	bool left[TBL_COLS];
	char (*cell)[TBL_COLS][TBL_W];
};

static void tbl_init(struct tbl *t, const char *const *hdrs)
{
	memset(t, 0, sizeof(*t));
	for (; hdrs[t->ncol] && t->ncol < TBL_COLS; t->ncol++) {
		t->left[t->ncol] = hdrs[t->ncol][0] == '<';
		t->hdr[t->ncol] = hdrs[t->ncol] + t->left[t->ncol];
	}
}

static char (*tbl_row(struct tbl *t))[TBL_W]
{
	if (t->nrow == t->cap) {
		void *n = realloc(t->cell, (size_t)(t->cap = t->cap ? t->cap * 2 : 16) * sizeof(*t->cell));

		if (!n) {
			fprintf(stderr, "xskshim-stat: out of memory\n");
			exit(1);
		}
		t->cell = n;
	}
	memset(t->cell[t->nrow], 0, sizeof(*t->cell));
	return t->cell[t->nrow++];
}

static void tbl_print(struct tbl *t, const char *indent)
{
	int w[TBL_COLS];

	for (int c = 0; c < t->ncol; c++) {
		w[c] = (int)strlen(t->hdr[c]);
		for (int r = 0; r < t->nrow; r++)
			if ((int)strlen(t->cell[r][c]) > w[c])
				w[c] = (int)strlen(t->cell[r][c]);
	}
	for (int r = -1; r < t->nrow; r++) {
		char line[TBL_COLS * (TBL_W + 2) + 8];
		size_t n = 0;

		for (int c = 0; c < t->ncol; c++) {
			const char *v = r < 0 ? t->hdr[c] : t->cell[r][c];
			bool last = c == t->ncol - 1;

			if (t->left[c])
				n += (size_t)snprintf(line + n, sizeof(line) - n, "%-*s%s", last ? 0 : w[c], v,
						      last ? "" : "  ");
			else
				n += (size_t)snprintf(line + n, sizeof(line) - n, "%*s%s", w[c], v,
						      last ? "" : "  ");
		}
		while (n && line[n - 1] == ' ')
			line[--n] = 0;
		printf("%s%s\n", indent, line);
	}
	free(t->cell);
	t->cell = NULL;
	t->nrow = t->cap = 0;
}

/* ---- JSON ------------------------------------------------------------------------ */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_kstr(const char *k, const char *v, bool comma)
{
	printf("\"%s\":", k);
	json_str(v);
	if (comma)
		putchar(',');
}

static void json_ku(const char *k, uint64_t v, bool comma)
{
	printf("\"%s\":%" PRIu64 "%s", k, v, comma ? "," : "");
}

static void json_kd(const char *k, double v, bool comma)
{
	printf("\"%s\":%.3f%s", k, v, comma ? "," : "");
}

/* ---- per-socket derived values ------------------------------------------------ */

static uint64_t ctr_drops(const struct xskshim_stats_ctr *c)
{
	uint64_t d = 0;

	for (int e = 1; e < RING_FRAME_ERR_CNT; e++)
		d += c->drop[e];
	return d;
}

/* The previous snapshot's record i, if it still describes the same socket. */
static const struct xskshim_stats_sock *prev_rec(const struct snap *prev, const struct snap *s, uint32_t i)
{
	const struct xskshim_stats_sock *p, *r = &s->h.sock[i];

	if (!prev || prev->pid != s->pid || prev->h.starttime != s->h.starttime)
		return NULL;
	p = &prev->h.sock[i];
	if (p->state == XSKSHIM_ST_FREE || p->fd != r->fd || p->port != r->port)
		return NULL;
	if (p->c.rx_xdp > r->c.rx_xdp || p->c.rx_kernel > r->c.rx_kernel)
		return NULL;
	return p;
}

static double rate_of(uint64_t now, uint64_t then, double dt)
{
	return dt > 0 && now >= then ? (double)(now - then) / dt : 0;
}

/* ---- one process -------------------------------------------------------------------- */

static void show_one_text(const struct snap *s, const struct snap *prev)
{
	double dt = prev ? s->t - prev->t : 0;
	bool rates = prev && dt > 0;
	char b1[64];
	struct tbl t;
	uint32_t socks = 0, accel = 0;

	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++)
		if (s->h.sock[i].state != XSKSHIM_ST_FREE) {
			socks++;
			accel += s->h.sock[i].state == XSKSHIM_ST_ACCEL;
		}

	printf("%s (pid %d)  %s", s->h.comm[0] ? s->h.comm : "?", s->pid, reg_state_names[s->state]);
	if (s->state == REG_LIVE)
		printf(", up %s", fmt_dur(b1, sizeof(b1), s->uptime_s));
	else
		printf(": %s", s->state_why);
	printf("\n");
	if (s->state == REG_STALE)
		printf("  STALE: the process is gone; %s (xskshim-stat --clean %d removes the region)\n",
		       s->valid ? "these are its last counters" : "its region is unreadable", s->pid);
	if (!s->valid)
		return;
	printf("  interface  %s\n", s->h.iface[0] ? s->h.iface : "-");
	printf("  XDP        %s", s->h.desc[0] ? s->h.desc : "not installed");
	if (s->h.prog_id)
		printf("  (prog id %u, counters map id %u)", s->h.prog_id, s->h.ctrs_map_id);
	printf("\n");
	printf("  UMEM       %u frames per queue\n", s->h.frame_cnt);
	printf("  config     %s\n", s->h.config_why[0] ? s->h.config_why : "ok");
	printf("  sockets    %u, %u accelerated\n", socks, accel);

	/* sockets */
	printf("\nSOCKETS\n");
	tbl_init(&t, (const char *const[]){ "FD", "PORT", "<FAMILY", "<ACCELERATED", "<QUEUES", "<AF_XDP FDS",
					    "<REASON", NULL });
	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++) {
		const struct xskshim_stats_sock *r = &s->h.sock[i];
		char (*row)[TBL_W];

		if (r->state == XSKSHIM_ST_FREE)
			continue;
		row = tbl_row(&t);
		snprintf(row[0], TBL_W, "%d", r->fd);
		snprintf(row[1], TBL_W, "%u", r->port);
		snprintf(row[2], TBL_W, "ipv%u", r->family);
		snprintf(row[3], TBL_W, "%s", r->state == XSKSHIM_ST_ACCEL ? "yes" : "no");
		fmt_queues(row[4], TBL_W, r);
		fmt_fds(row[5], TBL_W, r);
		snprintf(row[6], TBL_W, "%s", r->state == XSKSHIM_ST_ACCEL ? "" : r->why[0] ? r->why : "?");
	}
	if (t.nrow)
		tbl_print(&t, "  ");
	else {
		printf("  (none)\n");
		free(t.cell);
	}

	/* counters */
	printf("\nCOUNTERS%s\n", rates ? "  (rates over the last interval)" : "");
	if (rates)
		tbl_init(&t, (const char *const[]){ "FD", "PORT", "RX AF_XDP", "RATE", "RX KERNEL", "RATE",
						    "KERNEL%", "RX BYTES", "BYTES/S", "DROPS", "DROP%", "DROP_PEER",
						    "WAITS", NULL });
	else
		tbl_init(&t, (const char *const[]){ "FD", "PORT", "RX AF_XDP", "RX KERNEL", "KERNEL%",
						    "RX BYTES", "DROPS", "DROP%", "DROP_PEER", "WAITS", NULL });
	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++) {
		const struct xskshim_stats_sock *r = &s->h.sock[i], *p = prev_rec(prev, s, i);
		const struct xskshim_stats_ctr *c = &r->c;
		char (*row)[TBL_W];
		int k = 0;

		if (r->state == XSKSHIM_ST_FREE)
			continue;
		row = tbl_row(&t);
		snprintf(row[k++], TBL_W, "%d", r->fd);
		snprintf(row[k++], TBL_W, "%u", r->port);
		if (rates) {
			double rx = p ? rate_of(c->rx_xdp, p->c.rx_xdp, dt) : 0;
			double rk = p ? rate_of(c->rx_kernel, p->c.rx_kernel, dt) : 0;
			double rd = p ? rate_of(ctr_drops(c), ctr_drops(&p->c), dt) : 0;

			fmt_cnt(row[k++], TBL_W, c->rx_xdp);
			fmt_rate(row[k++], TBL_W, rx);
			fmt_cnt(row[k++], TBL_W, c->rx_kernel);
			fmt_rate(row[k++], TBL_W, rk);
			fmt_pct(row[k++], TBL_W, rk, rx + rk);
			fmt_bytes(row[k++], TBL_W, (double)c->rx_xdp_bytes);
			snprintf(row[k], TBL_W, "%s/s",
				 fmt_bytes(b1, sizeof(b1),
					   p ? rate_of(c->rx_xdp_bytes, p->c.rx_xdp_bytes, dt) : 0));
			k++;
			fmt_cnt(row[k++], TBL_W, ctr_drops(c));
			fmt_pct(row[k++], TBL_W, rd, rx + rd);
		} else {
			fmt_cnt(row[k++], TBL_W, c->rx_xdp);
			fmt_cnt(row[k++], TBL_W, c->rx_kernel);
			fmt_pct(row[k++], TBL_W, (double)c->rx_kernel, (double)(c->rx_xdp + c->rx_kernel));
			fmt_bytes(row[k++], TBL_W, (double)c->rx_xdp_bytes);
			fmt_cnt(row[k++], TBL_W, ctr_drops(c));
			fmt_pct(row[k++], TBL_W, (double)ctr_drops(c), (double)(c->rx_xdp + ctr_drops(c)));
		}
		fmt_cnt(row[k++], TBL_W, c->drop_peer);
		fmt_cnt(row[k++], TBL_W, c->waits);
	}
	if (t.nrow)
		tbl_print(&t, "  ");
	else {
		printf("  (none)\n");
		free(t.cell);
	}

	/* drops by reason (validation of AF_XDP frames) */
	{
		const char *hd[RING_FRAME_ERR_CNT + 3] = { "FD", "PORT" };
		int k = 2;

		for (int e = 1; e < RING_FRAME_ERR_CNT; e++)
			hd[k++] = frame_err_names[e];
		hd[k] = NULL;
		printf("\nDROPS BY REASON (AF_XDP frames failing validation)\n");
		tbl_init(&t, hd);
		for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++) {
			const struct xskshim_stats_sock *r = &s->h.sock[i];
			char (*row)[TBL_W];

			if (r->state == XSKSHIM_ST_FREE)
				continue;
			row = tbl_row(&t);
			snprintf(row[0], TBL_W, "%d", r->fd);
			snprintf(row[1], TBL_W, "%u", r->port);
			for (int e = 1; e < RING_FRAME_ERR_CNT; e++)
				fmt_cnt(row[1 + e], TBL_W, r->c.drop[e]);
		}
		if (t.nrow)
			tbl_print(&t, "  ");
		else {
			printf("  (none)\n");
			free(t.cell);
		}
	}

	if (s->state != REG_LIVE)
		goto notes;

	/* XDP_STATISTICS per AF_XDP socket (one per socket and queue) */
	printf("\nAF_XDP SOCKETS (XDP_STATISTICS, per queue)\n");
	if (s->xs_err[0]) {
		printf("  not available: %s\n", s->xs_err);
	} else {
		tbl_init(&t, (const char *const[]){ "FD", "PORT", "QUEUE", "XSK FD", "RX_DROPPED",
						    "RX_INVALID_DESCS", "RX_RING_FULL", "RX_FILL_RING_EMPTY", NULL });
		for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++) {
			const struct xskshim_stats_sock *r = &s->h.sock[i];

			if (r->state != XSKSHIM_ST_ACCEL)
				continue;
			for (uint32_t q = 0; q < r->q_cnt; q++) {
				char (*row)[TBL_W] = tbl_row(&t);
				const struct xdp_statistics *x = &s->xs[i][q];

				snprintf(row[0], TBL_W, "%d", r->fd);
				snprintf(row[1], TBL_W, "%u", r->port);
				snprintf(row[2], TBL_W, "%u", r->xsk_queue[q]);
				snprintf(row[3], TBL_W, "%d", r->xsk_fd[q]);
				if (!s->xs_ok[i][q]) {
					for (int k = 4; k < 8; k++)
						snprintf(row[k], TBL_W, "?");
					continue;
				}
				fmt_cnt(row[4], TBL_W, x->rx_dropped);
				fmt_cnt(row[5], TBL_W, x->rx_invalid_descs);
				fmt_cnt(row[6], TBL_W, x->rx_ring_full);
				fmt_cnt(row[7], TBL_W, x->rx_fill_ring_empty_descs);
			}
		}
		if (t.nrow)
			tbl_print(&t, "  ");
		else {
			printf("  (no accelerated sockets)\n");
			free(t.cell);
		}
	}

	/* XDP program counters */
	printf("\nXDP PROGRAM COUNTERS");
	if (s->ctrs_ok)
		printf(" (summed over %d CPUs)", s->ctrs_cpus);
	printf("\n");
	if (!s->ctrs_ok) {
		printf("  not available: %s\n", s->ctrs_err);
	} else {
		uint64_t all = 0;

		for (int c = 0; c < XSKSHIM_CTR_CNT; c++)
			all += s->ctrs[c];
		if (rates && prev->ctrs_ok)
			tbl_init(&t, (const char *const[]){ "<COUNTER", "PACKETS", "RATE", "SHARE", NULL });
		else
			tbl_init(&t, (const char *const[]){ "<COUNTER", "PACKETS", "SHARE", NULL });
		for (int c = 0; c < XSKSHIM_CTR_CNT; c++) {
			char (*row)[TBL_W] = tbl_row(&t);
			int k = 0;

			snprintf(row[k++], TBL_W, "%s", ctr_names[c]);
			fmt_cnt(row[k++], TBL_W, s->ctrs[c]);
			if (rates && prev->ctrs_ok)
				fmt_rate(row[k++], TBL_W, rate_of(s->ctrs[c], prev->ctrs[c], dt));
			fmt_pct(row[k++], TBL_W, (double)s->ctrs[c], (double)all);
		}
		tbl_print(&t, "  ");
	}
notes:
	for (int i = 0; i < s->note_cnt; i++)
		printf("note: %s\n", s->notes[i]);
}

static void json_ctr(const struct xskshim_stats_ctr *c)
{
	printf("{");
	json_ku("rx_xdp", c->rx_xdp, true);
	json_ku("rx_xdp_bytes", c->rx_xdp_bytes, true);
	json_ku("rx_kernel", c->rx_kernel, true);
	printf("\"drop\":{");
	for (int e = 1; e < RING_FRAME_ERR_CNT; e++)
		json_ku(frame_err_names[e], c->drop[e], e + 1 < RING_FRAME_ERR_CNT);
	printf("},");
	json_ku("drop_total", ctr_drops(c), true);
	json_ku("drop_peer", c->drop_peer, true);
	json_ku("spill_unseen", c->spill_unseen, true);
	json_ku("waits", c->waits, false);
	printf("}");
}

static void show_one_json(const struct snap *s, const struct snap *prev)
{
	double dt = prev ? s->t - prev->t : 0;
	bool rates = prev && dt > 0;
	bool first = true;

	printf("{");
	json_ku("pid", (uint64_t)s->pid, true);
	json_kstr("comm", s->h.comm, true);
	json_kstr("state", s->state == REG_LIVE ? "live" : s->state == REG_STALE ? "stale" :
		  s->state == REG_STARTING ? "starting" : "invalid", true);
	json_kstr("state_reason", s->state_why, true);
	json_kstr("path", s->path, true);
	if (!s->valid) {
		printf("\"sockets\":[]}\n");
		return;
	}
	json_ku("version", s->version_found, true);
	json_ku("starttime", s->h.starttime, true);
	if (s->uptime_s >= 0)
		json_kd("uptime_s", s->uptime_s, true);
	json_kstr("iface", s->h.iface, true);
	json_kstr("desc", s->h.desc, true);
	printf("\"config_ok\":%s,", s->h.config_why[0] ? "false" : "true");
	json_kstr("config_problem", s->h.config_why, true);
	json_ku("prog_id", s->h.prog_id, true);
	json_ku("ctrs_map_id", s->h.ctrs_map_id, true);
	json_ku("frame_cnt", s->h.frame_cnt, true);
	if (rates)
		json_kd("interval_s", dt, true);
	printf("\"sockets\":[");
	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++) {
		const struct xskshim_stats_sock *r = &s->h.sock[i], *p = prev_rec(prev, s, i);

		if (r->state == XSKSHIM_ST_FREE)
			continue;
		printf("%s{", first ? "" : ",");
		first = false;
		json_ku("record", i, true);
		printf("\"fd\":%d,", r->fd);
		json_ku("port", r->port, true);
		json_ku("family", r->family, true);
		printf("\"accelerated\":%s,", r->state == XSKSHIM_ST_ACCEL ? "true" : "false");
		json_kstr("reason", r->state == XSKSHIM_ST_ACCEL ? "" : r->why, true);
		json_ku("slot", r->slot, true);
		printf("\"queues\":[");
		for (uint32_t q = 0; q < r->q_cnt; q++) {
			printf("%s{", q ? "," : "");
			json_ku("queue", r->xsk_queue[q], true);
			printf("\"xsk_fd\":%d,\"xdp_statistics\":", r->xsk_fd[q]);
			if (s->state == REG_LIVE && s->xs_ok[i][q]) {
				const struct xdp_statistics *x = &s->xs[i][q];

				printf("{");
				json_ku("rx_dropped", x->rx_dropped, true);
				json_ku("rx_invalid_descs", x->rx_invalid_descs, true);
				json_ku("rx_ring_full", x->rx_ring_full, true);
				json_ku("rx_fill_ring_empty_descs", x->rx_fill_ring_empty_descs, false);
				printf("}");
			} else {
				printf("null");
			}
			printf("}");
		}
		printf("],\"counters\":");
		json_ctr(&r->c);
		if (rates) {
			printf(",\"rates\":{");
			json_kd("rx_xdp_pps", p ? rate_of(r->c.rx_xdp, p->c.rx_xdp, dt) : 0, true);
			json_kd("rx_kernel_pps", p ? rate_of(r->c.rx_kernel, p->c.rx_kernel, dt) : 0, true);
			json_kd("rx_xdp_bytes_per_s", p ? rate_of(r->c.rx_xdp_bytes, p->c.rx_xdp_bytes, dt) : 0,
				true);
			json_kd("drop_pps", p ? rate_of(ctr_drops(&r->c), ctr_drops(&p->c), dt) : 0, false);
			printf("}");
		}
		printf("}");
	}
	printf("],");
	printf("\"xdp_statistics_error\":");
	if (s->state != REG_LIVE)
		json_str("process not live");
	else if (s->xs_err[0])
		json_str(s->xs_err);
	else
		printf("null");
	printf(",\"xdp_counters\":");
	if (s->state == REG_LIVE && s->ctrs_ok) {
		printf("{");
		json_ku("cpus", (uint64_t)s->ctrs_cpus, true);
		for (int c = 0; c < XSKSHIM_CTR_CNT; c++)
			json_ku(ctr_names[c], s->ctrs[c], c + 1 < XSKSHIM_CTR_CNT);
		printf("}");
		if (rates && prev->ctrs_ok) {
			printf(",\"xdp_counter_rates\":{");
			for (int c = 0; c < XSKSHIM_CTR_CNT; c++)
				json_kd(ctr_names[c], rate_of(s->ctrs[c], prev->ctrs[c], dt), c + 1 < XSKSHIM_CTR_CNT);
			printf("}");
		}
	} else {
		printf("null");
	}
	printf(",\"xdp_counters_error\":");
	if (s->state != REG_LIVE)
		json_str("process not live");
	else if (!s->ctrs_ok)
		json_str(s->ctrs_err);
	else
		printf("null");
	printf(",\"notes\":[");
	for (int i = 0; i < s->note_cnt; i++) {
		if (i)
			putchar(',');
		json_str(s->notes[i]);
	}
	printf("]}\n");
}

static int cmd_one(int pid)
{
	struct snap *cur = malloc(sizeof(*cur)), *prev = malloc(sizeof(*prev));
	char path[64];
	long iter = 0;
	int rc = 0, err;
	bool have_prev = false;

	if (!cur || !prev) {
		fprintf(stderr, "xskshim-stat: out of memory\n");
		return 1;
	}
	region_path(path, sizeof(path), pid);
	for (;;) {
		err = snap_load(cur, path, pid, true);
		if (err) {
			if (iter == 0) {
				if (err == -ENOENT)
					fprintf(stderr, "xskshim-stat: no statistics region %s: process %d is not "
						"running under xskshim (or has not bound an accelerated port yet)\n",
						path, pid);
				else
					fprintf(stderr, "xskshim-stat: %s: %s\n", path, strerror(-err));
				rc = 1;
			} else if (opt.json) {
				printf("{\"pid\":%d,\"state\":\"exited\",\"sockets\":[]}\n", pid);
			} else {
				printf("process %d exited (its region is gone)\n", pid);
			}
			break;
		}
		if (opt.watch && !opt.json && isatty(STDOUT_FILENO))
			printf("\033[H\033[J");
		else if (opt.watch && !opt.json && iter)
			printf("\n");
		if (opt.json)
			show_one_json(cur, have_prev ? prev : NULL);
		else
			show_one_text(cur, have_prev ? prev : NULL);
		fflush(stdout);
		if (cur->state == REG_STALE)
			rc = 3;
		else if (cur->state == REG_INVALID)
			rc = 1;
		if (cur->state != REG_LIVE || !opt.watch || stop_req || (opt.count && ++iter >= opt.count))
			break;
		iter += !opt.count;
		{
			struct snap *t = prev;

			prev = cur;
			cur = t;
			have_prev = true;
		}
		{
			double until = prev->t + opt.interval;
			double now;

			while (!stop_req && (now = mono_now()) < until) {
				struct timespec ts = { (time_t)(until - now),
						       (long)(((until - now) - (double)(time_t)(until - now)) * 1e9) };
				nanosleep(&ts, NULL);
			}
		}
		if (stop_req)
			break;
	}
	free(cur);
	free(prev);
	return rc;
}

/* ---- the list ------------------------------------------------------------------------- */

struct list_ent {
	int pid;
	struct snap *s;
};

static void sum_socks(const struct snap *s, uint32_t *socks, uint32_t *accel, uint64_t *rx_xdp, uint64_t *rx_k,
		      uint64_t *drops)
{
	*socks = *accel = 0;
	*rx_xdp = *rx_k = *drops = 0;
	if (!s->valid)
		return;
	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++) {
		const struct xskshim_stats_sock *r = &s->h.sock[i];

		if (r->state == XSKSHIM_ST_FREE)
			continue;
		(*socks)++;
		*accel += r->state == XSKSHIM_ST_ACCEL;
		*rx_xdp += r->c.rx_xdp;
		*rx_k += r->c.rx_kernel;
		*drops += ctr_drops(&r->c) + r->c.drop_peer;
	}
}

static void show_list(struct list_ent *v, int n, struct list_ent *pv, int pn, double dt)
{
	bool rates = pv && dt > 0;
	int stale = 0;
	struct tbl t;

	if (opt.json) {
		printf("{\"processes\":[");
		for (int i = 0; i < n; i++) {
			const struct snap *s = v[i].s;
			uint32_t socks, accel;
			uint64_t rx, rk, dr;

			sum_socks(s, &socks, &accel, &rx, &rk, &dr);
			printf("%s{", i ? "," : "");
			json_ku("pid", (uint64_t)s->pid, true);
			json_kstr("comm", s->h.comm, true);
			json_kstr("state", s->state == REG_LIVE ? "live" : s->state == REG_STALE ? "stale" :
				  s->state == REG_STARTING ? "starting" : "invalid", true);
			json_kstr("state_reason", s->state_why, true);
			json_kstr("path", s->path, true);
			json_kstr("iface", s->h.iface, true);
			json_kstr("desc", s->h.desc, true);
			json_kstr("config_problem", s->h.config_why, true);
			json_ku("sockets", socks, true);
			json_ku("accelerated", accel, true);
			json_ku("rx_xdp", rx, true);
			json_ku("rx_kernel", rk, true);
			json_ku("drops", dr, rates);
			if (rates) {
				const struct snap *p = NULL;

				for (int j = 0; j < pn; j++)
					if (pv[j].pid == s->pid && pv[j].s->h.starttime == s->h.starttime)
						p = pv[j].s;
				uint32_t a, b;
				uint64_t prx = rx, prk = rk, pdr = dr;

				if (p)
					sum_socks(p, &a, &b, &prx, &prk, &pdr);
				json_kd("rx_xdp_pps", rate_of(rx, prx, dt), true);
				json_kd("rx_kernel_pps", rate_of(rk, prk, dt), false);
			}
			printf("}");
		}
		printf("]}\n");
		return;
	}
	if (!n) {
		printf("no processes under xskshim (no " STAT_DIR "/" STAT_PREFIX "* regions)\n");
		return;
	}
	if (rates)
		tbl_init(&t, (const char *const[]){ "PID", "<COMM", "<STATE", "<IFACE", "SOCKETS", "ACCEL",
						    "RX AF_XDP", "RATE", "RX KERNEL", "RATE", "DROPS",
						    "<XDP / REASON", NULL });
	else
		tbl_init(&t, (const char *const[]){ "PID", "<COMM", "<STATE", "<IFACE", "SOCKETS", "ACCEL",
						    "RX AF_XDP", "RX KERNEL", "DROPS", "<XDP / REASON", NULL });
	for (int i = 0; i < n; i++) {
		const struct snap *s = v[i].s;
		char (*row)[TBL_W] = tbl_row(&t);
		uint32_t socks, accel;
		uint64_t rx, rk, dr;
		int k = 0;

		sum_socks(s, &socks, &accel, &rx, &rk, &dr);
		stale += s->state == REG_STALE;
		snprintf(row[k++], TBL_W, "%d", s->pid);
		snprintf(row[k++], TBL_W, "%s", s->h.comm[0] ? s->h.comm : "?");
		snprintf(row[k++], TBL_W, "%s", reg_state_names[s->state]);
		snprintf(row[k++], TBL_W, "%s", s->h.iface[0] ? s->h.iface : "-");
		snprintf(row[k++], TBL_W, "%u", socks);
		snprintf(row[k++], TBL_W, "%u", accel);
		fmt_cnt(row[k++], TBL_W, rx);
		if (rates) {
			const struct snap *p = NULL;
			uint32_t a, b;
			uint64_t prx = rx, prk = rk, pdr = dr;

			for (int j = 0; j < pn; j++)
				if (pv[j].pid == s->pid && pv[j].s->h.starttime == s->h.starttime)
					p = pv[j].s;
			if (p)
				sum_socks(p, &a, &b, &prx, &prk, &pdr);
			if (s->state == REG_LIVE)
				fmt_rate(row[k++], TBL_W, rate_of(rx, prx, dt));
			else
				snprintf(row[k++], TBL_W, "-");
			fmt_cnt(row[k++], TBL_W, rk);
			if (s->state == REG_LIVE)
				fmt_rate(row[k++], TBL_W, rate_of(rk, prk, dt));
			else
				snprintf(row[k++], TBL_W, "-");
		} else {
			fmt_cnt(row[k++], TBL_W, rk);
		}
		fmt_cnt(row[k++], TBL_W, dr);
		if (s->state != REG_LIVE)
			snprintf(row[k++], TBL_W, "%s", s->state_why);
		else if (s->h.config_why[0])
			snprintf(row[k++], TBL_W, "config: %s", s->h.config_why);
		else
			snprintf(row[k++], TBL_W, "%s", s->h.desc[0] ? s->h.desc : "XDP not installed");
	}
	tbl_print(&t, "");
	if (stale)
		printf("%d stale region(s) left by processes that died without cleaning up; "
		       "`xskshim-stat --clean` removes them\n", stale);
}

static void list_free(struct list_ent *v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i].s);
	free(v);
}

static int list_load(struct list_ent **out)
{
	struct list_ent *v;
	int *pids, n, m = 0;

	*out = NULL;
	n = region_scan(&pids);
	if (n < 0) {
		fprintf(stderr, "xskshim-stat: cannot read " STAT_DIR ": %s\n", strerror(-n));
		return n;
	}
	v = calloc((size_t)n + 1, sizeof(*v));
	if (!v) {
		free(pids);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		char path[64];
		struct snap *s = malloc(sizeof(*s));

		if (!s)
			break;
		region_path(path, sizeof(path), pids[i]);
		if (snap_load(s, path, pids[i], false)) {
			free(s);   /* vanished between readdir and open */
			continue;
		}
		v[m].pid = pids[i];
		v[m++].s = s;
	}
	free(pids);
	*out = v;
	return m;
}

static int cmd_list(void)
{
	struct list_ent *v = NULL, *pv = NULL;
	int n, pn = 0;
	double pt = 0, t;
	long iter = 0;

	for (;;) {
		t = mono_now();
		n = list_load(&v);
		if (n < 0)
			return 1;
		if (opt.watch && !opt.json && isatty(STDOUT_FILENO))
			printf("\033[H\033[J");
		else if (opt.watch && !opt.json && iter)
			printf("\n");
		show_list(v, n, pv, pn, pv ? t - pt : 0);
		fflush(stdout);
		list_free(pv, pn);
		pv = v;
		pn = n;
		pt = t;
		if (!opt.watch || stop_req || (opt.count && ++iter >= opt.count))
			break;
		iter += !opt.count;
		while (!stop_req && mono_now() < t + opt.interval) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		if (stop_req)
			break;
	}
	list_free(pv, pn);
	return 0;
}

/* ---- --clean ---------------------------------------------------------------------------- */

/* Remove the region of pid if (and only if) it is stale.  1 removed, 0 kept,
 * -1 error. */
static int clean_one(int pid, bool verbose_live)
{
	struct snap *s = malloc(sizeof(*s));
	char path[64];
	int err, r = 0;

	if (!s)
		return -1;
	region_path(path, sizeof(path), pid);
	err = snap_load(s, path, pid, false);
	if (err) {
		if (verbose_live)
			fprintf(stderr, "xskshim-stat: %s: %s\n", path, strerror(-err));
		free(s);
		return err == -ENOENT && !verbose_live ? 0 : -1;
	}
	if (s->state != REG_STALE) {
		if (verbose_live)
			fprintf(stderr, "xskshim-stat: %s: not removed: process %d is %s%s%s\n", path, pid,
				s->state == REG_LIVE ? "live" : reg_state_names[s->state],
				s->state_why[0] ? ": " : "", s->state_why);
		free(s);
		return verbose_live ? -1 : 0;
	}
	if (unlink(path)) {
		fprintf(stderr, "xskshim-stat: cannot remove %s: %s\n", path, strerror(errno));
		r = -1;
	} else {
		printf("removed %s (%s)\n", path, s->state_why);
		r = 1;
	}
	free(s);
	return r;
}

static int cmd_clean(int argc, char **argv)
{
	int removed = 0, bad = 0;

	if (argc) {
		for (int i = 0; i < argc; i++) {
			char *end;
			long pid = strtol(argv[i], &end, 10);

			if (*end || pid <= 0 || pid > 0x7fffffff) {
				fprintf(stderr, "xskshim-stat: --clean: '%s' is not a pid\n", argv[i]);
				return 2;
			}
			int r = clean_one((int)pid, true);

			removed += r > 0;
			bad += r < 0;
		}
	} else {
		int *pids, n = region_scan(&pids);

		if (n < 0) {
			fprintf(stderr, "xskshim-stat: cannot read " STAT_DIR ": %s\n", strerror(-n));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			int r = clean_one(pids[i], false);

			removed += r > 0;
			bad += r < 0;
		}
		free(pids);
		if (!removed && !bad)
			printf("no stale regions\n");
	}
	return bad ? 1 : 0;
}

/* ---- main ---------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xskshim-stat [options] [PID]\n"
		"       xskshim-stat --clean [PID...]\n"
		"Show what xskshim (LD_PRELOAD AF_XDP UDP receive) is doing.\n"
		"Without PID: list every process under the shim (" STAT_DIR "/" STAT_PREFIX "PID regions).\n"
		"With PID: that process's sockets, counters, AF_XDP and XDP program statistics.\n"
		"  -w, --watch        refresh every interval, showing rates\n"
		"  -i, --interval S   refresh interval in seconds for --watch (default 1)\n"
		"  -c, --count N      with --watch, stop after N refreshes\n"
		"  -1, --once         print once and exit (the default without --watch)\n"
		"  -j, --json         JSON output, one document per line\n"
		"      --clean [PID]  remove regions of processes that are gone (only those PIDs if given)\n"
		"  -h, --help         this text\n"
		"XDP_STATISTICS need ptrace access to the process (root or CAP_SYS_PTRACE); the XDP\n"
		"program's counters need root (CAP_SYS_ADMIN).  Without them those parts are skipped, with a note.\n"
		"Exit status: 0 ok, 1 error or no such process, 2 usage, 3 the process's region is stale.\n");
}

static void on_stop(int sig)
{
	(void)sig;
	stop_req = 1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "watch", no_argument, NULL, 'w' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, '1' },
		{ "json", no_argument, NULL, 'j' },
		{ "clean", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_sigbus };
	bool clean = false;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "wi:c:1jh", lo, NULL)) != -1) {
		switch (c) {
		case 'w': opt.watch = true; break;
		case '1': opt.once = true; break;
		case 'j': opt.json = true; break;
		case 'C': clean = true; break;
		case 'i':
			opt.interval = strtod(optarg, &end);
			if (*end || !(opt.interval >= 0.05 && opt.interval <= 3600)) {
				fprintf(stderr, "xskshim-stat: --interval: seconds from 0.05 to 3600\n");
				return 2;
			}
			break;
		case 'c':
			opt.count = strtol(optarg, &end, 10);
			if (*end || opt.count <= 0) {
				fprintf(stderr, "xskshim-stat: --count: a positive number\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (opt.once)
		opt.watch = false;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (clean)
		return cmd_clean(argc - optind, argv + optind);
	if (argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	if (argc - optind == 1) {
		long pid = strtol(argv[optind], &end, 10);

		if (*end || pid <= 0 || pid > 0x7fffffff) {
			fprintf(stderr, "xskshim-stat: '%s' is not a pid\n", argv[optind]);
			return 2;
		}
		return cmd_one((int)pid);
	}
	return cmd_list();
}
