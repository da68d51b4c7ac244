/* stats.c - the live statistics region (layout and rules in stats.h) and
 * the XSKSHIM_STATS=1 exit summary. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim/shim.h"

static struct xskshim_stats_hdr *shim_region;
static char shim_region_path[64];
static bool shim_region_failed;

static const char *const frame_err_names[] = { RING_FRAME_ERR_NAMES };
static const char *const ctr_names[] = { XSKSHIM_CTR_NAMES };

/* The statistics ABI fixes these counts itself (stats.h); they must follow
 * ring/ and bpf/ (a change there needs a new XSKSHIM_STATS_VERSION). */
_Static_assert(RING_FRAME_ERR_CNT == XSKSHIM_STATS_DROP_CNT, "stats.h: drop reasons != ring_frame_err");
_Static_assert(XSKSHIM_CTR_CNT == XSKSHIM_STATS_XDP_CNT, "stats.h: XDP counters != enum xskshim_ctr");
_Static_assert(CTL_WHY_CNT == XSKSHIM_STATS_TX_WHY_CNT, "stats.h: transmit reasons != enum ctl_why");

static uint64_t shim_proc_starttime(int pid)
{
	char path[64], buf[1024];
	uint64_t v = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = REAL(read)(fd, buf, sizeof(buf) - 1);
	REAL(close)(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	if (xskshim_proc_stat_parse(buf, NULL, &v))
		return 0;
	return v;
}

/* Seqlock writer (single writer: shim_g.lock).  begin makes gen odd and
 * fences so no identity write is visible before it; end publishes them. */
static void shim_gen_begin(void)
{
	__atomic_store_n(&shim_region->gen, shim_region->gen + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void shim_gen_end(void)
{
	__atomic_store_n(&shim_region->gen, shim_region->gen + 1, __ATOMIC_RELEASE);
}

static bool shim_region_open(void)
{
	struct xskshim_stats_hdr *h;
	int fd;

	if (shim_region)
		return true;
	if (shim_region_failed || shim_g.forked)
		return false;
	snprintf(shim_region_path, sizeof(shim_region_path), XSKSHIM_STATS_PATH, (int)getpid());
	fd = open(shim_region_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		goto fail;
	(void)fchmod(fd, 0644);
	if (ftruncate(fd, sizeof(*h))) {
		REAL(close)(fd);
		unlink(shim_region_path);
		goto fail;
	}
	h = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	REAL(close)(fd);
	if (h == MAP_FAILED) {
		unlink(shim_region_path);
		goto fail;
	}
	h->version = XSKSHIM_STATS_VERSION;
	h->pid = (int32_t)getpid();
	h->size = sizeof(*h);
	h->starttime = shim_proc_starttime((int)getpid());
	h->sock_max = XSKSHIM_STATS_SOCKS;
	{
		int cfd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
		if (cfd >= 0) {
			ssize_t n = REAL(read)(cfd, h->comm, sizeof(h->comm) - 1);
			if (n > 0 && h->comm[n - 1] == '\n')
				h->comm[n - 1] = 0;
			REAL(close)(cfd);
		}
	}
	snprintf(h->iface, sizeof(h->iface), "%s", shim_g.cfg.ctl.iface);
	snprintf(h->config_why, sizeof(h->config_why), "%s", shim_g.cfg.active ? "" : shim_g.cfg.why);
	h->frame_cnt = shim_g.cfg.ctl.frames;
	__atomic_store_n(&h->magic, XSKSHIM_STATS_MAGIC, __ATOMIC_RELEASE);
	shim_region = h;
	return true;
fail:
	shim_region_failed = true;
	shim_log(SHIM_LOG_INFO, "stats", "no statistics region %s: %s", shim_region_path, strerror(errno));
	return false;
}

void shim_stats_global_publish(void)
{
	if (!shim_region_open())
		return;
	shim_gen_begin();
	snprintf(shim_region->desc, sizeof(shim_region->desc), "%s", ctl_describe());
	ctl_ids(&shim_region->prog_id, &shim_region->ctrs_map_id);
	shim_region->q_cnt = ctl_queue_cnt();
	shim_gen_end();
}

void shim_stats_sock_publish(struct shim_sock *s)
{
	struct xskshim_stats_sock *r = s->pub;

	if (!r) {
		if (!shim_region_open())
			return;
		for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS && !r; i++)
			if (shim_region->sock[i].state == XSKSHIM_ST_FREE)
				r = &shim_region->sock[i];
		if (!r)
			return;   /* more sockets than records: counters stay local */
		r->c = *s->st;
		s->pub = r;
		s->st = &r->c;
	}
	shim_gen_begin();
	r->fd = s->fd_first;
	r->port = s->port;
	r->family = s->domain == AF_INET6 ? 6 : 4;
	r->slot = s->b.slot;
	r->reuseport_members = (uint8_t)ctl_bind_group_size(&s->b);
	r->q_cnt = shim_sock_accel(s) ? s->b.q_cnt : 0;
	for (uint32_t q = 0; q < XSKSHIM_STATS_QUEUES; q++) {
		r->xsk_fd[q] = q < r->q_cnt ? s->b.xsk[q]->fd : -1;
		r->xsk_queue[q] = q < r->q_cnt ? s->b.xsk[q]->queue : 0;
	}
	snprintf(r->why, sizeof(r->why), "%s", shim_sock_accel(s) ? "" : s->why);
	r->state = shim_sock_accel(s) ? XSKSHIM_ST_ACCEL : XSKSHIM_ST_KERNEL;
	shim_gen_end();
	shim_stats_global_publish();
}

void shim_stats_sock_unpublish(struct shim_sock *s)
{
	if (!s->pub)
		return;
	s->st_local = *s->st;
	s->st = &s->st_local;
	shim_gen_begin();
	memset(s->pub, 0, sizeof(*s->pub));
	shim_gen_end();
	s->pub = NULL;
}

/* Sockets already closed at exit still belong in the summary. */
#define SHIM_RETIRED_MAX 64
static struct {
	int fd;
	uint16_t port;
	bool was_accel;
	uint32_t sock_cnt;
	char why[160];
	struct xskshim_stats_ctr c;
} shim_retired[SHIM_RETIRED_MAX];
static uint32_t shim_retired_cnt, shim_retired_lost;

/* Every counter is a u64 (the ABI says so): sum them all, so a counter
 * added later (the transmit ones were missed here once) is never left out. */
_Static_assert(sizeof(struct xskshim_stats_ctr) % sizeof(uint64_t) == 0, "counters are u64 words");
static void shim_ctr_add(struct xskshim_stats_ctr *to, const struct xskshim_stats_ctr *c)
{
	uint64_t w, v;

	for (size_t i = 0; i < sizeof(*c) / sizeof(uint64_t); i++) {
		memcpy(&w, (const char *)to + i * sizeof(w), sizeof(w));
		memcpy(&v, (const char *)c + i * sizeof(v), sizeof(v));
		w += v;
		memcpy((char *)to + i * sizeof(w), &w, sizeof(w));
	}
}

void shim_stats_sock_retire(const struct shim_sock *s, bool was_accel)
{
	if (!shim_g.cfg.stats || !s->port)
		return;
	/* closed sockets of one port and kind are summed (port probing would
	 * otherwise fill the list with empty entries) */
	for (uint32_t i = 0; i < shim_retired_cnt; i++)
		if (shim_retired[i].port == s->port && shim_retired[i].was_accel == was_accel) {
			shim_ctr_add(&shim_retired[i].c, s->st);
			shim_retired[i].sock_cnt++;
			return;
		}
	if (shim_retired_cnt == SHIM_RETIRED_MAX) {
		shim_retired_lost++;
		return;
	}
	shim_retired[shim_retired_cnt].fd = s->fd_first;
	shim_retired[shim_retired_cnt].port = s->port;
	shim_retired[shim_retired_cnt].was_accel = was_accel;
	snprintf(shim_retired[shim_retired_cnt].why, sizeof(shim_retired[0].why), "%s", s->why);
	shim_retired[shim_retired_cnt].c = *s->st;
	shim_retired[shim_retired_cnt].sock_cnt = 1;
	shim_retired_cnt++;
}

static void shim_stats_sock_line(int fd, uint16_t port, const char *state, const char *why,
				 const struct xskshim_stats_ctr *c)
{
	char line[512];
	int n;

	n = snprintf(line, sizeof(line), "fd %d port %u %s: rx_xdp %llu rx_kernel %llu", fd, port, state,
		     (unsigned long long)c->rx_xdp, (unsigned long long)c->rx_kernel);
	for (int e = 1; e < RING_FRAME_ERR_CNT && n < (int)sizeof(line); e++)
		if (c->drop[e])
			n += snprintf(line + n, sizeof(line) - (size_t)n, " drop_%s %llu", frame_err_names[e],
				      (unsigned long long)c->drop[e]);
	if (c->drop_peer && n < (int)sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n, " drop_peer %llu",
			      (unsigned long long)c->drop_peer);
	if (c->spill_unseen && n < (int)sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n, " spill_unseen %llu",
			      (unsigned long long)c->spill_unseen);
	if ((c->tx_xdp || c->tx_kernel) && n < (int)sizeof(line)) {
		static const char *const tx_why[] = { XSKSHIM_STATS_TX_WHY_NAMES };

		n += snprintf(line + n, sizeof(line) - (size_t)n, " tx_xdp %llu tx_kernel %llu tx_full %llu "
			      "tx_completions %llu", (unsigned long long)c->tx_xdp, (unsigned long long)c->tx_kernel,
			      (unsigned long long)c->tx_full, (unsigned long long)c->tx_completions);
		for (uint32_t w = 1; w < XSKSHIM_STATS_TX_WHY_CNT && n < (int)sizeof(line); w++)
			if (c->tx_kernel_why[w])
				n += snprintf(line + n, sizeof(line) - (size_t)n, " tx_kernel_%s %llu", tx_why[w],
					      (unsigned long long)c->tx_kernel_why[w]);
	}
	if (c->lock_takeovers && n < (int)sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n, " lock_takeovers %llu reclaimed %llu",
			      (unsigned long long)c->lock_takeovers, (unsigned long long)c->reclaimed);
	if (why && why[0] && n < (int)sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, " (%s)", why);
	shim_log_always("summary", "%s", line);
}

void shim_stats_exit(void)
{
	uint64_t ctrs[XSKSHIM_CTR_CNT];
	struct shim_sock *s;
	char line[512];
	int n;

	shim_log_always("summary", "---- xskshim summary: %s ----", ctl_describe());
	for (uint32_t i = 0; i < shim_retired_cnt; i++) {
		char state[64];

		snprintf(state, sizeof(state), "%s (closed%s)",
			 shim_retired[i].was_accel ? "accelerated" : "kernel-path",
			 shim_retired[i].sock_cnt > 1 ? ", several sockets summed" : "");
		shim_stats_sock_line(shim_retired[i].fd, shim_retired[i].port, state,
				     shim_retired[i].was_accel ? NULL : shim_retired[i].why, &shim_retired[i].c);
	}
	if (shim_retired_lost)
		shim_log_always("summary", "(%u more closed sockets not listed)", shim_retired_lost);
	for (s = shim_g.socks; s; s = s->next) {
		if (!s->port)
			continue;
		shim_stats_sock_line(s->fd_first, s->port,
				     shim_sock_accel(s) ? "accelerated" : "kernel-path",
				     shim_sock_accel(s) ? NULL : s->why, s->st);
	}
	shim_send_summary();
	if (!ctl_ctrs(ctrs)) {
		n = 0;
		for (int c = 0; c < XSKSHIM_CTR_CNT && n < (int)sizeof(line); c++)
			n += snprintf(line + n, sizeof(line) - (size_t)n, "%s%s %llu", c ? " " : "", ctr_names[c],
				      (unsigned long long)ctrs[c]);
		shim_log_always("summary", "xdp: %s", line);
	}
	for (uint32_t q = 0; q < XSKSHIM_QUEUE_MAX; q++) {
		struct ring_umem_acct a;
		struct xdp_statistics xs;
		uint32_t fill, frames, rx;

		if (ctl_queue_acct(q, &a, &fill, &frames, &rx, &xs))
			continue;
		shim_log_always("summary", "queue %u: AF_XDP rx_ring_full %llu rx_fill_ring_empty %llu rx_dropped %llu "
				"rx_invalid_descs %llu", q, (unsigned long long)xs.rx_ring_full,
				(unsigned long long)xs.rx_fill_ring_empty_descs, (unsigned long long)xs.rx_dropped,
				(unsigned long long)xs.rx_invalid_descs);
		/* held_by_readers: frames marked released off an rx ring and
		 * not yet returned (ring.h "Dead holders"); reclaimed: given
		 * back from dead holders */
		shim_log_always("summary", "queue %u: frames %u idle %u on_fill %u on_rx_rings %u held_by_readers "
				"%u recycled %llu fill_target %u tx_in_flight %llu tx_completed %llu reclaimed %llu "
				"lock_takeovers %llu accounted %s",
				q, frames, a.idle, fill, rx, a.held_rx, (unsigned long long)a.returned, a.fill_target,
				(unsigned long long)ring_umem_tx_in_flight(&a), (unsigned long long)a.tx_done,
				(unsigned long long)a.reclaimed, (unsigned long long)a.takeovers,
				a.idle + fill + rx + a.held_rx + ring_umem_tx_in_flight(&a) == frames ? "yes" : "NO");
	}
}

/* The process is switching its effective uid (priv.c): hand the region to
 * the new uid while still allowed to, so that it can unlink it at exit
 * (/dev/shm is sticky).  Lock held. */
void shim_stats_owner(uid_t uid)
{
	if (shim_region && chown(shim_region_path, uid, (gid_t)-1))
		shim_log(SHIM_LOG_INFO, "stats", "chown %s to uid %u: %s", shim_region_path, (unsigned)uid,
			 strerror(errno));
}

RING_FORK_TEXT void shim_stats_fini(void)
{
	struct shim_sock *s;

	if (!shim_region)
		return;
	for (s = shim_g.socks; s; s = s->next)
		if (s->pub) {
			s->st_local = *s->st;
			s->st = &s->st_local;
			s->pub = NULL;
		}
	/* only the process that made the region removes it (a fork child
	 * unmaps the parent's) */
	if (shim_region->pid == (int32_t)getpid())
		unlink(shim_region_path);
	munmap(shim_region, sizeof(*shim_region));
	shim_region = NULL;
}

/* Counters and the summary are per process: a fork child starts from zero
 * and reports only what it served.  The parent's region is forgotten but
 * left mapped (a munmap here cost every fork a syscall and a TLB flush;
 * the mapping goes with the child's exit or exec).  Not MADV_DONTFORK: a
 * child made without fork handlers (_Fork, a raw clone) still has its
 * sockets' counters pointing into it, and must not fault on them. */
RING_FORK_TEXT void shim_stats_atfork_child(void)
{
	for (struct shim_sock *s = shim_g.socks; s; s = s->next) {
		s->st = &s->st_local;
		s->pub = NULL;
		memset(&s->st_local, 0, sizeof(s->st_local));
	}
	/* (written only when set: each page written here costs a fault per fork) */
	if (shim_region)
		shim_region = NULL;
	if (shim_retired_cnt || shim_retired_lost)
		shim_retired_cnt = shim_retired_lost = 0;
}
