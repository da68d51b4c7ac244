/* collect.c - xskshim-stat's readers: statistics regions, /proc, the
 * AF_XDP sockets' XDP_STATISTICS and the XDP program's counters, into
 * struct snap (design note in stat.h).  Nothing here prints to stdout. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tools/xskshim-stat/stat.h"

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

_Static_assert(sizeof(struct xskshim_stats_hdr) % 8 == 0, "region copied in 64-bit words");

const char *const stat_drop_names[XSKSHIM_STATS_DROP_CNT] = { XSKSHIM_STATS_DROP_NAMES };
const char *const stat_xdp_names[XSKSHIM_STATS_XDP_CNT] = { XSKSHIM_STATS_XDP_NAMES };
const char *const stat_tx_why_names[XSKSHIM_STATS_TX_WHY_CNT] = { XSKSHIM_STATS_TX_WHY_NAMES };
const char *const stat_state_names[] = { "live", "STALE", "starting", "INVALID" };
const char *const stat_state_json[] = { "live", "stale", "starting", "invalid" };

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

double stat_mono_now(void)
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

/* A region truncated under a reader raises SIGBUS: region_copy catches it. */
void stat_sigbus_install(void)
{
	struct sigaction sa = { .sa_handler = on_sigbus };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
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

/* Mark s as not readable (state and reason given) and say STALE anyway
 * when its pid is gone. */
static void snap_unreadable(struct snap *s, enum reg_state st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void snap_unreadable(struct snap *s, enum reg_state st, const char *fmt, ...)
{
	char why[sizeof(s->state_why)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	s->valid = false;
	memset(&s->h, 0, sizeof(s->h));
	snap_liveness(s);
	s->note_cnt = 0;
	if (s->state == REG_LIVE) {
		s->state = st;
		memcpy(s->state_why, why, sizeof(why));
	} else {
		snprintf(s->state_why + strlen(s->state_why), sizeof(s->state_why) - strlen(s->state_why),
			 " (%s)", why);
	}
}

/* Check a fresh copy against what this tool reads: 0 or -EPROTO (with
 * s->state_why set). */
static int snap_validate(struct snap *s, off_t file_sz, bool first)
{
	s->version_found = s->h.version;
	if (s->h.version < XSKSHIM_STATS_VERSION || s->h.size < sizeof(s->h) ||
	    (s->h.version == XSKSHIM_STATS_VERSION && s->h.size != sizeof(s->h)) ||
	    s->h.size > (uint64_t)file_sz) {
		snprintf(s->state_why, sizeof(s->state_why), "version %u size %u (this tool reads version %u, size %zu)",
			 s->h.version, s->h.size, XSKSHIM_STATS_VERSION, sizeof(s->h));
		return -EPROTO;
	}
	if (s->h.pid != s->pid) {
		snprintf(s->state_why, sizeof(s->state_why), "region says pid %d", s->h.pid);
		return -EPROTO;
	}
	if (s->h.version > XSKSHIM_STATS_VERSION && first)
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
	return 0;
}

/* Copy the mapped region, retrying while its writer is active: 0, -EAGAIN
 * (still busy), -ENODATA (not initialised), -EPROTO/-EFAULT (see
 * region_copy). */
static int snap_copy(struct snap *s, const struct xskshim_stats_hdr *m, uint32_t *gen, bool *busy)
{
	for (int tries = 0; tries < 2000; tries++) {
		struct timespec nap = { 0, 20000 };
		int r = region_copy(m, &s->h, gen);

		if (r != -EAGAIN)
			return r;
		*busy = true;
		nanosleep(&nap, NULL);
	}
	return -EAGAIN;
}

/* The seqlock rounds over the mapped region: 1 got a consistent snapshot
 * (with details if asked), 0 gave up (busy or uninitialised), -EPROTO the
 * region was found unreadable (state set). */
static int snap_read_mapped(struct snap *s, const struct xskshim_stats_hdr *m, off_t file_sz, bool details,
			    bool *busy)
{
	uint32_t g1 = 0;

	for (int round = 0; round < 3; round++) {
		int r = snap_copy(s, m, &g1, busy);

		if (r == -EFAULT) {
			snap_unreadable(s, REG_INVALID, "region truncated while reading");
			return -EPROTO;
		}
		if (r == -EPROTO) {
			snap_unreadable(s, REG_INVALID, "not an xskshim region (bad magic)");
			return -EPROTO;
		}
		if (r)
			return 0;
		s->t = stat_mono_now();
		if (snap_validate(s, file_sz, round == 0)) {
			snap_unreadable(s, REG_INVALID, "%s", s->state_why);
			return -EPROTO;
		}
		snap_liveness(s);
		s->valid = true;
		if (s->state != REG_LIVE || !details)
			return 1;
		/* The fds listed are only meaningful for this generation: fetch,
		 * then make sure the identity did not change meanwhile. */
		xsk_collect(s);
		ctrs_collect(s);
		if (__atomic_load_n(&m->gen, __ATOMIC_ACQUIRE) == g1)
			return 1;
	}
	return 0;
}

int snap_load(struct snap *s, const char *path, int pid, bool details)
{
	const struct xskshim_stats_hdr *m;
	struct stat sb;
	bool busy = false;
	int fd, r;

	memset(s, 0, sizeof(*s));
	s->pid = pid;
	s->uptime_s = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		close(fd);
		snap_unreadable(s, REG_INVALID, "not a regular file");
		return 0;
	}
	if ((size_t)sb.st_size < sizeof(struct xskshim_stats_hdr)) {
		close(fd);
		snap_unreadable(s, sb.st_size == 0 ? REG_STARTING : REG_INVALID, "%lld bytes, expected %zu",
				(long long)sb.st_size, sizeof(struct xskshim_stats_hdr));
		return 0;
	}
	m = mmap(NULL, sizeof(*m), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -errno;
	r = snap_read_mapped(s, m, sb.st_size, details, &busy);
	munmap((void *)m, sizeof(*m));
	if (r)
		return 0;
	if (s->h.magic == XSKSHIM_STATS_MAGIC && s->valid && s->state == REG_LIVE) {
		snap_note(s, "region kept changing while it was read; identity may be mixed");
		return 0;
	}
	snap_unreadable(s, REG_STARTING, "%s",
			busy ? "region busy (its writer holds the seqlock)" : "region not initialised yet");
	return 0;
}

/* XDP_STATISTICS of every AF_XDP socket the region lists, via pidfd_getfd. */
/* ---- ring occupancy ---------------------------------------------------------- */

/* The process's AF_XDP ring mappings, from /proc/<pid>/maps: a socket's
 * RX ring is mapped at page offset XDP_PGOFF_RX_RING, a UMEM's fill ring
 * at XDP_UMEM_PGOFF_FILL_RING ("socket:[inode]" lines). */
#define RING_MAPS_MAX 256
struct ring_maps {
	int cnt;
	struct { uint64_t start, pgoff, ino; } m[RING_MAPS_MAX];
};

static int ring_maps_load(int pid, struct ring_maps *rm)
{
	char path[64], line[512];
	FILE *f;

	rm->cnt = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && rm->cnt < RING_MAPS_MAX) {
		unsigned long long start, end, pgoff, ino;
		char perm[8], dev[16];
		int off = 0;

		if (sscanf(line, "%llx-%llx %7s %llx %15s %llu %n", &start, &end, perm, &pgoff, dev, &ino, &off) < 6 ||
		    !off || strncmp(line + off, "socket:[", 8))
			continue;
		rm->m[rm->cnt].start = start;
		rm->m[rm->cnt].pgoff = pgoff;
		rm->m[rm->cnt++].ino = ino;
	}
	fclose(f);
	return 0;
}

/* Entries on a ring of the process: producer - consumer, read with
 * process_vm_readv at the mapping's start plus the kernel's offsets.
 * 0 or -errno. */
static int ring_entries(int pid, uint64_t base, const struct xdp_ring_offset *o, uint32_t *out)
{
	uint32_t prod = 0, cons = 0;
	struct iovec loc[2] = { { &prod, 4 }, { &cons, 4 } };
	struct iovec rem[2] = { { (void *)(uintptr_t)(base + o->producer), 4 },
				{ (void *)(uintptr_t)(base + o->consumer), 4 } };

	if (process_vm_readv(pid, loc, 2, rem, 2, 0) != 8)
		return -errno;
	*out = prod - cons;
	return 0;
}

/* The RX ring of the AF_XDP socket record i queue q (fd: our duplicate of
 * it); the first call also keeps the ring layout for the fill rings. */
static void ring_rx_read(struct snap *s, const struct ring_maps *rm, int fd, uint32_t i, uint32_t q,
			 struct xdp_mmap_offsets *offs, bool *have_offs)
{
	struct xdp_mmap_offsets o;
	socklen_t len = sizeof(o);
	struct stat sb;
	int err;

	if (getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, &o, &len) || fstat(fd, &sb))
		return;
	if (!*have_offs) {
		*offs = o;
		*have_offs = true;
	}
	for (int k = 0; k < rm->cnt; k++) {
		if (rm->m[k].ino != (uint64_t)sb.st_ino || rm->m[k].pgoff != XDP_PGOFF_RX_RING)
			continue;
		err = ring_entries(s->pid, rm->m[k].start, &o.rx, &s->rx_ring[i][q]);
		if (!err)
			s->rx_ring_ok[i][q] = true;
		else if (!s->rings_err[0])
			snprintf(s->rings_err, sizeof(s->rings_err), "process_vm_readv on pid %d: %s", s->pid,
				 strerror(-err));
		return;
	}
}

/* Frames posted to the kernel on every fill ring of the process (one per
 * UMEM, that is per RX queue), with the layout an AF_XDP socket gave (the
 * kernel's, the same for every socket). */
static void ring_fill_read(struct snap *s, const struct ring_maps *rm, const struct xdp_mmap_offsets *o)
{
	uint32_t v;

	s->fill_posted = 0;
	s->fill_rings = 0;
	for (int k = 0; k < rm->cnt; k++) {
		if (rm->m[k].pgoff != XDP_UMEM_PGOFF_FILL_RING || ring_entries(s->pid, rm->m[k].start, &o->fr, &v))
			continue;
		s->fill_posted += v;
		s->fill_rings++;
	}
}

/* Our duplicate of the process's AF_XDP fd xfd: the fd, -EBADF (closed or
 * reused meanwhile: skip it), or another -errno with s->xs_err set (stop). */
static int xsk_dup(struct snap *s, int pfd, int xfd)
{
	socklen_t len = sizeof(int);
	int dom = 0, fd, e;

	fd = (int)syscall(SYS_pidfd_getfd, pfd, xfd, 0);
	if (fd < 0) {
		e = errno;
		if (e == EBADF)
			return -EBADF;   /* closed meanwhile; the gen check will tell */
		if (e == EPERM || e == EACCES)
			snprintf(s->xs_err, sizeof(s->xs_err),
				 "pidfd_getfd on pid %d: %s (needs ptrace access to the process: root or "
				 "CAP_SYS_PTRACE)", s->pid, strerror(e));
		else
			snprintf(s->xs_err, sizeof(s->xs_err), "pidfd_getfd on pid %d: %s%s", s->pid, strerror(e),
				 e == ENOSYS ? " (kernel older than 5.6)" : "");
		return -e;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) || dom != AF_XDP) {
		close(fd);
		return -EBADF;   /* fd reused for something else */
	}
	return fd;
}

/* XDP_STATISTICS and ring occupancy of every AF_XDP socket the region
 * lists, via pidfd_getfd, /proc/<pid>/maps and process_vm_readv. */
static void xsk_collect(struct snap *s)
{
	struct xdp_mmap_offsets offs = { 0 };
	struct ring_maps *rm = calloc(1, sizeof(*rm));
	bool have_offs = false;
	int pfd, err;

	s->xs_tried = true;
	memset(s->xs_ok, 0, sizeof(s->xs_ok));
	memset(s->rx_ring_ok, 0, sizeof(s->rx_ring_ok));
	s->xs_err[0] = 0;
	s->rings_err[0] = 0;
	s->fill_rings = -1;
	err = rm ? ring_maps_load(s->pid, rm) : -ENOMEM;
	if (err)
		snprintf(s->rings_err, sizeof(s->rings_err), "/proc/%d/maps: %s", s->pid, strerror(-err));
	pfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	if (pfd < 0) {
		snprintf(s->xs_err, sizeof(s->xs_err), "pidfd_open(%d): %s%s", s->pid, strerror(errno),
			 errno == ENOSYS ? " (kernel older than 5.3)" : "");
		free(rm);
		return;
	}
	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++) {
		struct xskshim_stats_sock *r = &s->h.sock[i];

		for (uint32_t q = 0; r->state == XSKSHIM_ST_ACCEL && q < r->q_cnt; q++) {
			socklen_t len = sizeof(s->xs[i][q]);
			int fd = xsk_dup(s, pfd, r->xsk_fd[q]);

			if (fd == -EBADF)
				continue;
			if (fd < 0)
				goto out;
			memset(&s->xs[i][q], 0, sizeof(s->xs[i][q]));
			if (getsockopt(fd, SOL_XDP, XDP_STATISTICS, &s->xs[i][q], &len) == 0)
				s->xs_ok[i][q] = true;
			else if (!s->xs_err[0])
				snprintf(s->xs_err, sizeof(s->xs_err), "getsockopt(XDP_STATISTICS): %s", strerror(errno));
			if (!err)
				ring_rx_read(s, rm, fd, i, q, &offs, &have_offs);
			close(fd);
		}
	}
	if (!err && have_offs)
		ring_fill_read(s, rm, &offs);
out:
	close(pfd);
	free(rm);
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
	    mi.max_entries < XSKSHIM_STATS_XDP_CNT || strcmp(mi.name, "ctrs")) {
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
	for (uint32_t k = 0; k < XSKSHIM_STATS_XDP_CNT; k++) {
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
int region_scan(int **out)
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

void region_path(char *buf, size_t sz, int pid)
{
	snprintf(buf, sz, STAT_DIR "/" STAT_PREFIX "%d", pid);
}

/* ---- per-socket derived values ------------------------------------------------ */

uint64_t ctr_drops(const struct xskshim_stats_ctr *c)
{
	uint64_t d = 0;

	for (unsigned e = 1; e < XSKSHIM_STATS_DROP_CNT; e++)
		d += c->drop[e];
	return d;
}

/* The previous snapshot's record i, if it still describes the same socket. */
const struct xskshim_stats_sock *prev_rec(const struct snap *prev, const struct snap *s, uint32_t i)
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

double rate_of(uint64_t now, uint64_t then, double dt)
{
	return dt > 0 && now >= then ? (double)(now - then) / dt : 0;
}
/* ---- the list ------------------------------------------------------------------------- */

void snap_sum(const struct snap *s, struct snap_sums *o)
{
	memset(o, 0, sizeof(*o));
	if (!s->valid)
		return;
	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++) {
		const struct xskshim_stats_sock *r = &s->h.sock[i];

		if (r->state == XSKSHIM_ST_FREE)
			continue;
		o->socks++;
		o->accel += r->state == XSKSHIM_ST_ACCEL;
		o->rx_xdp += r->c.rx_xdp;
		o->rx_kernel += r->c.rx_kernel;
		o->drops += ctr_drops(&r->c) + r->c.drop_peer;
	}
}

/* The entry of pv describing the same process (pid and start time) as s. */
const struct snap *list_find(const struct list_ent *pv, int pn, const struct snap *s)
{
	for (int j = 0; j < pn; j++)
		if (pv[j].pid == s->pid && pv[j].s->h.starttime == s->h.starttime)
			return pv[j].s;
	return NULL;
}

void list_free(struct list_ent *v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i].s);
	free(v);
}

int list_load(struct list_ent **out, bool details)
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
		if (snap_load(s, path, pids[i], details)) {
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
