/* xsk.c - UMEM and AF_XDP socket setup on top of libxdp's xsk API, plus the
 * batched fill-ring refill.  See ring.h for the design note. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>
#include <xdp/xsk.h>

#include "ring/ring.h"

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

/* libxdp's xsk_ring_prod and xsk_ring_cons have the same fields; copy
 * either into our ring_q. */
#define RING_Q_FROM(q, lib)                        \
	do {                                       \
		(q)->cached_prod = (lib)->cached_prod; \
		(q)->cached_cons = (lib)->cached_cons; \
		(q)->mask = (lib)->mask;           \
		(q)->size = (lib)->size;           \
		(q)->producer = (lib)->producer;   \
		(q)->consumer = (lib)->consumer;   \
		(q)->ring = (lib)->ring;           \
		(q)->flags = (lib)->flags;         \
	} while (0)

static void ring_fd_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);
	if (fl >= 0 && !(fl & FD_CLOEXEC))
		(void)fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

static uint32_t ring_fill_post(struct ring_umem *umem, uint32_t want);

#define RING_HUGE_SZ (2ul << 20)

/* The packet buffer, 2 MiB aligned and backed by transparent huge pages
 * where the kernel allows: a UMEM of thousands of 4 KiB pages otherwise
 * costs a TLB miss per frame on the reader's side (measured: a 32 MiB UMEM
 * delivered half the rate of a 2 MiB one on 4 KiB pages). */
static void *ring_area_map(uint64_t sz)
{
	uint8_t *p, *a;
	uint64_t head, tail;

	/* MAP_SHARED: the same frames in every fork child (ring.h) */
	p = mmap(NULL, sz + RING_HUGE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (uint8_t *)(((uintptr_t)p + RING_HUGE_SZ - 1) & ~(uintptr_t)(RING_HUGE_SZ - 1));
	head = (uint64_t)(a - p);
	tail = RING_HUGE_SZ - head;
	if (head)
		munmap(p, head);
	if (tail)
		munmap(a + sz, tail);
	(void)madvise(a, sz, MADV_HUGEPAGE);
	return a;
}

static bool ring_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

struct ring_umem *ring_umem_create(const char *ifname, uint32_t queue, const struct ring_umem_cfg *cfg)
{
	struct xsk_umem_config ucfg = {0};
	struct ring_umem *umem;
	struct xsk_ring_prod *fill;
	struct xsk_ring_cons *comp;
	struct xsk_umem *lib;
	uint32_t i;
	int err;

	if (!ifname || !cfg || !ring_pow2(cfg->frame_cnt) || !ring_pow2(cfg->rx_sz) ||
	    (cfg->frame_sz != 2048 && cfg->frame_sz != 4096) || strlen(ifname) >= IFNAMSIZ) {
		errno = EINVAL;
		return NULL;
	}
	umem = ring_shm_alloc(sizeof(*umem));
	fill = calloc(1, sizeof(*fill));
	comp = calloc(1, sizeof(*comp));
	if (!umem || !fill || !comp) {
		err = -ENOMEM;
		goto out_free;
	}
	umem->ifindex = (int)if_nametoindex(ifname);
	if (!umem->ifindex) {
		err = -errno;
		goto out_free;
	}
	strcpy(umem->ifname, ifname);
	umem->queue = queue;
	umem->cfg = *cfg;
	umem->frame_cnt = cfg->frame_cnt;
	umem->frame_sz = cfg->frame_sz;
	umem->area_sz = (uint64_t)cfg->frame_cnt * cfg->frame_sz;
	umem->area = ring_area_map(umem->area_sz);
	if (!umem->area) {
		err = -errno;
		goto out_free;
	}

	ucfg.fill_size = cfg->frame_cnt;    /* every frame fits: no free list */
	/* transmit: every frame it may hold fits on the completion ring */
	ucfg.comp_size = cfg->tx_sz ? cfg->frame_cnt : 64;
	ucfg.frame_size = cfg->frame_sz;
	ucfg.frame_headroom = 0;
	err = xsk_umem__create(&lib, umem->area, umem->area_sz, fill, comp, &ucfg);
	if (err)
		goto out_unmap;
	ring_fd_cloexec(xsk_umem__fd(lib));
	umem->lib_umem = lib;
	umem->lib_fill = fill;
	umem->lib_comp = comp;
	RING_Q_FROM(&umem->fill, fill);
	RING_Q_FROM(&umem->comp, comp);
	umem->tx_max = cfg->tx_sz ? cfg->frame_cnt / 4 : 0;

	/* Every frame starts on the free stack (frame 0 on top); fill_min of
	 * them go to the kernel now. */
	umem->stack = ring_shm_alloc(sizeof(*umem->stack) * umem->frame_cnt);
	if (!umem->stack) {
		err = -ENOMEM;
		goto out_umem;
	}
	for (i = 0; i < umem->frame_cnt; i++)
		umem->stack[i] = (uint64_t)(umem->frame_cnt - 1 - i) * umem->frame_sz;
	umem->owner = ring_shm_alloc(sizeof(*umem->owner) * umem->frame_cnt);
	if (!umem->owner) {
		err = -ENOMEM;
		goto out_umem;
	}
	umem->frame_shift = (uint32_t)__builtin_ctz(umem->frame_sz);
	umem->stack_cnt = umem->frame_cnt;
	umem->fill_min = cfg->fill_min && cfg->fill_min < umem->frame_cnt ? cfg->fill_min : umem->frame_cnt;
	if (umem->tx_max && umem->fill_min > umem->frame_cnt - umem->tx_max)
		umem->fill_min = umem->frame_cnt - umem->tx_max;   /* see ring_fill_post */
	umem->fill_target = umem->fill_min;
	if (ring_fill_post(umem, umem->fill_target) != umem->fill_target) {
		err = -ENOSPC;
		goto out_umem;
	}

	/* The anchor socket binds the queue now (so a busy queue or a missing
	 * zero-copy driver shows up here) and keeps libxdp's per-queue context,
	 * and with it the fill ring mapping, alive while application sockets
	 * come and go.  Nothing is ever redirected to it. */
	umem->anchor = ring_xsk_create(umem, 64);
	if (!umem->anchor && errno == EOPNOTSUPP && cfg->zerocopy && cfg->zerocopy_fallback) {
		umem->cfg.zerocopy = false;
		umem->anchor = ring_xsk_create(umem, 64);
	}
	if (!umem->anchor) {
		err = -errno;
		goto out_umem;
	}
	umem->xsk_cnt = 0;
	return umem;

out_umem:
	ring_shm_free(umem->owner, sizeof(*umem->owner) * umem->frame_cnt);
	ring_shm_free(umem->stack, sizeof(*umem->stack) * umem->frame_cnt);
	xsk_umem__delete(lib);
out_unmap:
	munmap(umem->area, umem->area_sz);
out_free:
	free(comp);
	free(fill);
	ring_shm_free(umem, sizeof(*umem));
	errno = -err;
	return NULL;
}

int ring_umem_destroy(struct ring_umem *umem)
{
	int err;

	if (!umem)
		return 0;
	if (umem->xsk_cnt)
		return -EBUSY;
	umem->xsk_cnt = 1;
	ring_xsk_destroy(umem->anchor);
	umem->anchor = NULL;
	err = xsk_umem__delete(umem->lib_umem);
	if (err)
		return err;
	munmap(umem->area, umem->area_sz);
	ring_shm_free(umem->owner, sizeof(*umem->owner) * umem->frame_cnt);
	ring_shm_free(umem->stack, sizeof(*umem->stack) * umem->frame_cnt);
	free(umem->lib_fill);
	free(umem->lib_comp);
	ring_shm_free(umem, sizeof(*umem));
	return 0;
}

struct ring_xsk *ring_xsk_create(struct ring_umem *umem, uint32_t rx_sz)
{
	struct xsk_socket_config xcfg = {0};
	struct xsk_ring_cons *rx;
	struct xsk_ring_prod *tx = NULL;
	struct ring_xsk *xsk;
	struct xsk_socket *lib;
	int err;

	xsk = ring_shm_alloc(sizeof(*xsk));
	rx = calloc(1, sizeof(*rx));
	if (umem->cfg.tx_sz)
		tx = calloc(1, sizeof(*tx));
	if (!xsk || !rx || (umem->cfg.tx_sz && !tx)) {
		err = -ENOMEM;
		goto out_free;
	}
	if (rx_sz && !ring_pow2(rx_sz)) {
		err = -EINVAL;
		goto out_free;
	}
	xcfg.rx_size = rx_sz ? rx_sz : umem->cfg.rx_sz;
	xcfg.tx_size = umem->cfg.tx_sz;
	xcfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
	xcfg.bind_flags = (umem->cfg.zerocopy ? XDP_ZEROCOPY : XDP_COPY) |
			  (umem->cfg.need_wakeup ? XDP_USE_NEED_WAKEUP : 0);
	err = xsk_socket__create_shared(&lib, umem->ifname, umem->queue, umem->lib_umem, rx, tx,
					umem->lib_fill, umem->lib_comp, &xcfg);
	if (err)
		goto out_free;
	xsk->lib_xsk = lib;
	xsk->lib_rx = rx;
	xsk->umem = umem;
	xsk->queue = umem->queue;
	xsk->fd = xsk_socket__fd(lib);
	ring_fd_cloexec(xsk->fd);
	RING_Q_FROM(&xsk->rx, rx);
	if (tx) {
		RING_Q_FROM(&xsk->tx, tx);
		xsk->lib_tx = tx;
		ring_xsk_tx_budget(xsk);
	}
	umem->xsk_cnt++;
	return xsk;

out_free:
	free(tx);
	free(rx);
	ring_shm_free(xsk, sizeof(*xsk));
	errno = -err;
	return NULL;
}

uint32_t ring_xsk_drain(struct ring_xsk *xsk)
{
	return ring_xsk_drain_to(xsk, NULL, NULL);
}

uint32_t ring_xsk_drain_to(struct ring_xsk *xsk, ring_frame_fn fn, void *arg)
{
	uint32_t total = 0;

	for (;;) {
		uint64_t addrs[64];
		uint32_t idx, n, i;

		n = ring_cons_peek(&xsk->rx, 64, &idx);
		if (!n)
			break;
		for (i = 0; i < n; i++) {
			const struct xdp_desc *d = ring_rx_desc(&xsk->rx, idx + i);

			addrs[i] = d->addr;
			if (fn)
				fn(arg, ring_umem_frame(xsk->umem, d->addr), d->len);
		}
		ring_xsk_rx_release(xsk, addrs, n);
		total += n;
	}
	return total;
}

void ring_xsk_destroy(struct ring_xsk *xsk)
{
	if (!xsk)
		return;
	/* Frames still on this rx ring go back to the fill ring, or the UMEM
	 * would slowly leak frames with every socket closed. */
	ring_xsk_drain(xsk);
	/* and datagrams the application sent go out before the socket does */
	ring_xsk_tx_flush(xsk, 200);
	xsk->umem->xsk_cnt--;
	ring_xsk_forget(xsk);
}

RING_FORK_TEXT void ring_xsk_forget(struct ring_xsk *xsk)
{
	void *lib_rx, *lib_tx;

	if (!xsk)
		return;
	/* libxdp's delete only unmaps this process's rings, closes this
	 * process's fd and frees its private struct (no program is ours to
	 * remove: XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD) */
	lib_rx = xsk->lib_rx;
	lib_tx = xsk->lib_tx;
	xsk_socket__delete(xsk->lib_xsk);
	free(lib_rx);
	free(lib_tx);
	ring_shm_free(xsk, sizeof(*xsk));
}

void ring_xsk_rx_release(struct ring_xsk *xsk, const uint64_t *addrs, uint32_t n)
{
	struct ring_umem *umem = xsk->umem;
	uint64_t tag = RING_OWN_RX(ring_lock_me ? ring_lock_me : ring_lock_self_init());

	/* marked before they leave the ring, unmarked on the stack */
	for (uint32_t i = 0; i < n; i++)
		umem->owner[addrs[i] >> umem->frame_shift] = tag;
	ring_kill_order();
	ring_cons_release(&xsk->rx, n);
	__atomic_add_fetch(&umem->rx_seen_atomic, n, __ATOMIC_RELAXED);
	ring_umem_fill(umem, addrs, n, xsk->fd);
}

uint32_t ring_xsk_rx_repair(struct ring_xsk *xsk, uint64_t dead)
{
	struct ring_umem *umem = xsk->umem;
	uint32_t cons = __atomic_load_n(xsk->rx.consumer, __ATOMIC_RELAXED);
	uint32_t prod = __atomic_load_n(xsk->rx.producer, __ATOMIC_ACQUIRE);

	xsk->rx.cached_cons = cons;
	xsk->rx.cached_prod = prod;
	if (!dead)
		return 0;
	/* marked but still on the ring (not released): read again, not
	 * given back */
	for (uint32_t i = cons; i != prod; i++) {
		uint64_t *o = &umem->owner[ring_rx_desc(&xsk->rx, i)->addr >> umem->frame_shift];

		if (*o == RING_OWN_RX(dead))
			*o = 0;
	}
	return ring_umem_reclaim(umem, RING_OWN_RX(dead), &umem->acct.returned);
}

/* Fill lock held, stack[c0, c) written above the top: put them on the
 * stack (restartable), *ctr += n, unmark them. */
static void ring_stack_commit(struct ring_umem *umem, uint32_t c0, uint32_t c, uint64_t *ctr, uint64_t n)
{
	ring_jr_begin(umem, RING_JR_STACK, c, 0, ctr, n);
	umem->stack_cnt = c;
	ring_kill_order();
	*ctr += n;
	for (uint32_t i = c0; i < c; i++)
		umem->owner[umem->stack[i] >> umem->frame_shift] = 0;
	ring_jr_end(umem);
}

uint32_t ring_umem_reclaim(struct ring_umem *umem, uint64_t tag, uint64_t *ctr)
{
	uint32_t c0, c, k = 0, posted;

	ring_umem_lock(umem);
	c0 = c = umem->stack_cnt;
	for (uint32_t f = 0; f < umem->frame_cnt; f++)
		if (umem->owner[f] == tag && c < umem->frame_cnt) {
			umem->stack[c++] = (uint64_t)f << umem->frame_shift;
			k++;
		}
	if (k) {
		ring_stack_commit(umem, c0, c, ctr, k);
		umem->reclaimed += k;
		posted = ring_umem_fill_cnt(umem);
		if (posted < umem->fill_target)
			ring_fill_post(umem, umem->fill_target - posted);
	}
	ring_umem_unlock(umem);
	return k;
}

void ring_umem_held(struct ring_umem *umem, uint32_t *rx, uint32_t *tx)
{
	*rx = *tx = 0;
	for (uint32_t f = 0; f < umem->frame_cnt; f++) {
		uint64_t o = __atomic_load_n(&umem->owner[f], __ATOMIC_RELAXED);

		*rx += (o & RING_OWN_RX(0)) != 0;
		*tx += (o & RING_OWN_TX(0)) != 0;
	}
}

void ring_jr_begin(struct ring_umem *umem, uint32_t kind, uint32_t cnt1, uint32_t ring1, uint64_t *ctr, uint64_t n)
{
	umem->jr.cnt1 = cnt1;
	umem->jr.ring1 = ring1;
	umem->jr.ctr = ctr;
	umem->jr.ctr1 = *ctr + n;
	ring_kill_order();
	umem->jr.kind = kind;
	ring_kill_order();
}

void ring_jr_end(struct ring_umem *umem)
{
	ring_kill_order();
	umem->jr.kind = RING_JR_NONE;
}

/* A dead holder's step: finished if its evidence says it was done (the
 * ring word moved, or the stack count), forgotten otherwise (the counter
 * moved only after both). */
static void ring_jr_repair(struct ring_umem *umem)
{
	struct ring_jr *j = &umem->jr;
	bool done;

	if (j->kind == RING_JR_POST)
		done = __atomic_load_n(umem->fill.producer, __ATOMIC_RELAXED) == j->ring1;
	else if (j->kind == RING_JR_REAP)
		done = __atomic_load_n(umem->comp.consumer, __ATOMIC_RELAXED) == j->ring1;
	else if (j->kind == RING_JR_STACK)
		done = umem->stack_cnt == j->cnt1;
	else
		return;
	if (done) {
		umem->stack_cnt = j->cnt1;
		*j->ctr = j->ctr1;
	}
	/* not done: ctr was not moved (it moves after the stack count) */
	j->kind = RING_JR_NONE;
}

void ring_umem_push_locked(struct ring_umem *umem, const uint64_t *addrs, uint32_t n, uint64_t *ctr)
{
	uint64_t base_mask = ~(uint64_t)(umem->frame_sz - 1);
	uint32_t c0 = umem->stack_cnt, c = c0;

	for (uint32_t i = 0; i < n && c < umem->frame_cnt; i++)
		umem->stack[c++] = addrs[i] & base_mask;
	ring_stack_commit(umem, c0, c, ctr, n);
}

uint32_t ring_umem_pop_locked(struct ring_umem *umem, uint64_t *addrs, uint32_t n, uint64_t tag, uint64_t *ctr)
{
	uint32_t c0 = umem->stack_cnt;

	if (n > c0)
		n = c0;
	if (!n)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		addrs[i] = umem->stack[c0 - 1 - i];
		umem->owner[addrs[i] >> umem->frame_shift] = tag;
	}
	ring_jr_begin(umem, RING_JR_STACK, c0 - n, 0, ctr, n);
	umem->stack_cnt = c0 - n;
	ring_kill_order();
	*ctr += n;
	ring_jr_end(umem);
	return n;
}

static void ring_budget_publish(struct ring_umem *umem, uint32_t step);

/* The fill lock protects the fill ring's producer side (cached_prod,
 * cached_cons, the entries between cached_prod and *producer), the
 * completion ring's consumer view, the free stack and its count, the
 * adaptation state, acct, the journal and the budget state.  A holder that
 * died may have been inside a step that moves frames (struct ring_jr:
 * finished or forgotten here, so no frame is lost or doubled), reserved
 * entries without submitting them, peeked completions without releasing
 * them (reaped again now), or left fill_target mid-update: reload the ring
 * views from the kernel's words, clamp the counts, unmark the frames on the
 * stack and publish the budget again. */
void ring_umem_lock(struct ring_umem *umem)
{
	if (__builtin_expect(!ring_lock_take(&umem->fill_lock), 1))
		return;
	umem->repairs++;
	ring_jr_repair(umem);
	umem->fill.cached_prod = __atomic_load_n(umem->fill.producer, __ATOMIC_RELAXED);
	umem->fill.cached_cons = __atomic_load_n(umem->fill.consumer, __ATOMIC_ACQUIRE) + umem->fill.size;
	if (umem->comp.size) {
		umem->comp.cached_cons = __atomic_load_n(umem->comp.consumer, __ATOMIC_RELAXED);
		umem->comp.cached_prod = __atomic_load_n(umem->comp.producer, __ATOMIC_ACQUIRE);
	}
	if (umem->stack_cnt > umem->frame_cnt)
		umem->stack_cnt = umem->frame_cnt;
	/* a frame on the stack is nobody's (the holder died between pushing
	 * and unmarking it, or between marking and popping it) */
	for (uint32_t i = 0; i < umem->stack_cnt; i++)
		umem->owner[umem->stack[i] >> umem->frame_shift] = 0;
	if (umem->fill_target > umem->frame_cnt || !umem->fill_target)
		umem->fill_target = umem->frame_cnt;
	ring_budget_publish(umem, 0);
}

void ring_umem_unlock(struct ring_umem *umem)
{
	ring_lock_drop(&umem->fill_lock);
}

/* Store the fill budget (acct.filled + budget_off) if it has moved by at
 * least step frames since the last store.  fill_lock held. */
static void ring_budget_publish(struct ring_umem *umem, uint32_t step)
{
	uint64_t lim = umem->acct.filled + (uint64_t)umem->budget_off;

	if (umem->budget && lim - umem->budget_pub >= step) {
		__atomic_store_n(umem->budget, lim, __ATOMIC_RELEASE);
		umem->budget_pub = lim;
	}
}

/* Post up to `want` frames from the top of the free stack (most recently
 * returned first: still in cache).  fill_lock held. */
static uint32_t ring_fill_post(struct ring_umem *umem, uint32_t want)
{
	uint32_t idx, i, c0;

	if (want > umem->stack_cnt)
		want = umem->stack_cnt;
	if (umem->tx_max) {
		/* transmit's share (tx.c) never goes to the kernel's fill
		 * ring, where it could sit unused for as long as no datagram
		 * arrives (seen: a 64-frame UMEM, every frame posted, a
		 * sender waiting forever) */
		uint32_t posted = ring_umem_fill_cnt(umem), cap = umem->frame_cnt - umem->tx_max;
		/* nor do the frames transmit may still take (tx_max less what
		 * it holds): the fill ring's cap alone let a backlog on the rx
		 * ring take them, as returned frames were posted again, and
		 * knotd's answers went through the kernel for want of frames */
		uint64_t held = umem->acct.tx_out - umem->acct.tx_done;
		uint32_t keep = umem->tx_max > held ? umem->tx_max - (uint32_t)held : 0;
		uint32_t spare = umem->stack_cnt > keep ? umem->stack_cnt - keep : 0;

		want = posted >= cap ? 0 : want < cap - posted ? want : cap - posted;
		if (want > spare)
			want = spare;
	}
	if (!want || ring_prod_reserve(&umem->fill, want, &idx) != want)
		return 0;
	c0 = umem->stack_cnt;
	for (i = 0; i < want; i++)
		*ring_fill_addr(&umem->fill, idx + i) = umem->stack[c0 - 1 - i];
	/* the stack count moves only once the kernel may have them */
	ring_jr_begin(umem, RING_JR_POST, c0 - want, idx + want, &umem->acct.filled, want);
	ring_prod_submit(&umem->fill, want);
	ring_kill_order();
	umem->stack_cnt = c0 - want;
	umem->acct.filled += want;
	ring_jr_end(umem);
	/* The XDP program reads the word for every packet: write it only
	 * every fill_target/8 frames (a cache line moved to this CPU and back
	 * costs the program's CPU a miss), so it may lag the ring by that
	 * much - the program then spills a little early, never late.  The
	 * lag is safe only while posting goes on: see ring_fill_adapt. */
	ring_budget_publish(umem, umem->fill_target / 8 > 16 ? umem->fill_target / 8 : 16);
	return want;
}

void ring_umem_budget(struct ring_umem *umem, uint64_t *word, int64_t off)
{
	ring_umem_lock(umem);
	umem->budget = word;
	umem->budget_off = off;
	umem->budget_pub = umem->acct.filled + (uint64_t)off;
	if (word)
		__atomic_store_n(word, umem->budget_pub, __ATOMIC_RELEASE);
	ring_umem_unlock(umem);
}

/* Adaptive fill depth.  Every frame on the fill ring is one the kernel will
 * write long after we last touched it, so a fill ring holding the whole of a
 * large UMEM makes every packet a cache miss on both sides (measured here:
 * half the rate of a 2 MiB working set).  We therefore keep only fill_target
 * frames posted and the rest on a LIFO stack, and grow the target as soon as
 * readers fall behind (frames outside the stack and the fill ring are on rx
 * rings or in readers' hands): doubling when that backlog passes 3/4 of the
 * target (the kernel is about to run dry).  After a window of 8 x frame_cnt
 * returns whose backlog stayed under 1/4 of the target, the target drops in
 * one step to fill_min x 2^k, the least that is at least twice the window's
 * largest backlog: a reader that was away once (a descheduled VM vCPU) and
 * has caught up goes back to the cache-warm depth after one quiet window
 * instead of one halving per window (16384 -> 1024 took 4 windows, about
 * 300 ms at 2 Mpps, and a ring pinned at 8192 frames delivered about a
 * quarter less at 1228 B than one of 1024 on the AMD test VM).  Twice the
 * backlog keeps the next doubling 1/4 of the target away. */
static void ring_fill_adapt(struct ring_umem *umem, uint32_t n)
{
	uint32_t posted = ring_umem_fill_cnt(umem);
	uint32_t in_use = umem->frame_cnt - umem->stack_cnt - posted;

	if (in_use > umem->fill_target / 4 * 3 && umem->fill_target < umem->frame_cnt) {
		umem->fill_target *= 2;
		if (umem->fill_target > umem->frame_cnt)
			umem->fill_target = umem->frame_cnt;
	}
	if (in_use > umem->win_max)
		umem->win_max = in_use;
	umem->win_cnt += n;
	if (umem->win_cnt >= 8 * umem->frame_cnt) {
		if (umem->win_max < umem->fill_target / 4) {
			uint32_t t = umem->fill_min ? umem->fill_min : 1;

			while (t < 2 * umem->win_max)
				t <<= 1;
			if (t < umem->fill_target) {
				/* Posting now stops until the ring drains below
				 * the new target, so a budget store held back
				 * by the old, larger step would never come:
				 * the program would spill with those frames on
				 * the ring, and the reader, having nothing to
				 * return, would never post again (seen: 2016
				 * frames posted, every datagram spilled). */
				umem->fill_target = t;
				ring_budget_publish(umem, 1);
			}
		}
		umem->win_cnt = 0;
		umem->win_max = 0;
	}
}

void ring_umem_fill(struct ring_umem *umem, const uint64_t *addrs, uint32_t n, int xsk_fd)
{
	uint32_t posted;
	bool kick;

	if (!n)
		return;
	ring_umem_lock(umem);
	ring_umem_push_locked(umem, addrs, n, &umem->acct.returned);
	ring_fill_adapt(umem, n);
	posted = ring_umem_fill_cnt(umem);
	if (posted < umem->fill_target)
		ring_fill_post(umem, umem->fill_target - posted);
	kick = umem->cfg.need_wakeup && ring_prod_needs_wakeup(&umem->fill);
	ring_umem_unlock(umem);
	if (kick)
		(void)recvfrom(xsk_fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

void ring_umem_fill_grow(struct ring_umem *umem, uint32_t want)
{
	uint32_t t = 1;

	while (t < want && t < umem->frame_cnt)
		t <<= 1;
	ring_umem_lock(umem);
	if (t > umem->fill_target) {
		umem->fill_target = t;
		umem->win_cnt = 0;
		umem->win_max = 0;
		ring_fill_post(umem, umem->fill_target - ring_umem_fill_cnt(umem));
	}
	ring_umem_unlock(umem);
}

void ring_umem_fill_min(struct ring_umem *umem, uint32_t fill_min)
{
	ring_umem_lock(umem);
	if (fill_min > umem->frame_cnt)
		fill_min = umem->frame_cnt;
	if (fill_min > umem->fill_min)
		umem->fill_min = fill_min;
	if (umem->fill_target < umem->fill_min)
		umem->fill_target = umem->fill_min;
	ring_fill_post(umem, umem->fill_target - ring_umem_fill_cnt(umem));
	ring_umem_unlock(umem);
}

void ring_umem_acct_get(struct ring_umem *umem, struct ring_umem_acct *out)
{
	ring_umem_lock(umem);
	*out = umem->acct;
	out->idle = umem->stack_cnt;
	out->fill_target = umem->fill_target;
	out->reclaimed = umem->reclaimed;
	out->takeovers = umem->repairs;
	ring_umem_unlock(umem);
	out->rx_seen = __atomic_load_n(&umem->rx_seen_atomic, __ATOMIC_RELAXED);
}

int ring_umem_fd(const struct ring_umem *umem)
{
	return xsk_umem__fd(umem->lib_umem);
}

uint32_t ring_umem_fill_cnt(struct ring_umem *umem)
{
	return ring_cons_avail(&umem->fill);
}

static int ring_xsk_stats_raw(const struct ring_xsk *xsk, struct xdp_statistics *out)
{
	socklen_t len = sizeof(*out);

	memset(out, 0, sizeof(*out));
	if (getsockopt(xsk->fd, SOL_XDP, XDP_STATISTICS, out, &len))
		return -errno;
	return 0;
}

int ring_xsk_stats(const struct ring_xsk *xsk, struct xdp_statistics *out)
{
	int err = ring_xsk_stats_raw(xsk, out);

	if (err)
		return err;
	out->rx_dropped -= xsk->stats_base.rx_dropped;
	out->rx_invalid_descs -= xsk->stats_base.rx_invalid_descs;
	out->rx_ring_full -= xsk->stats_base.rx_ring_full;
	out->rx_fill_ring_empty_descs -= xsk->stats_base.rx_fill_ring_empty_descs;
	return 0;
}

void ring_xsk_stats_reset(struct ring_xsk *xsk)
{
	ring_xsk_stats_raw(xsk, &xsk->stats_base);
}
