/* ring.h - AF_XDP plumbing for xskshim: UMEM, one AF_XDP socket per queue,
 * fill/rx rings, frame validation and payload copy.  No interposition here;
 * this module is usable (and unit-tested) without LD_PRELOAD.
 *
 * Design note
 * -----------
 * One ring_umem exists per (interface, RX queue).  It owns the packet buffer,
 * the fill ring and the completion ring (used only with cfg.tx_sz, see
 * "Transmit" below).  Every
 * application socket that is accelerated owns one ring_xsk per queue; all the
 * ring_xsk of a queue share that queue's UMEM through XDP_SHARED_UMEM, each
 * with its own RX ring, so the kernel wakes only the socket a packet was
 * redirected to.
 *
 * Frames cycle:  free stack -> fill ring -> kernel -> rx ring of some
 * ring_xsk -> copied out by the reader -> back onto the free stack, from
 * which the fill ring is topped up to an adaptive depth (see ring_umem_fill:
 * a shallow fill ring keeps the working set in cache; it deepens as soon as
 * readers fall behind, up to the whole UMEM).  The fill ring is as large as
 * the UMEM, so posting never fails.  Because several sockets (possibly on
 * several threads) return frames to one UMEM, ring_umem_fill() serialises
 * them with a spinlock held once per batch, never per packet.
 *
 * Frame accounting (see ring_umem_acct): each frame is, at any moment, on
 * the free stack, on the fill ring, held by the kernel between fill and rx
 * ring (transient), on some ring_xsk's rx ring, or released by a reader and
 * not yet returned (marked in owner[], "Dead holders" below).  At rest
 * idle + ring_umem_fill_cnt + sum(rx ring occupancy) + held_rx ==
 * frame_cnt;  tests assert this.
 *
 * Errors: int functions return 0 or a negative errno; pointer-returning
 * functions return NULL and set errno.
 *
 * Where a change goes: anything about frames on the wire (parsing,
 * checksums, copy-out) or the rings belongs here; who gets which frames is
 * the control plane's (ctl/), what the application sees is the shim's.
 *
 * Thread safety: ring_umem_fill() is thread safe.  A ring_xsk's rx ring has a
 * single consumer: the caller serialises ring_xsk_rx_* per ring_xsk.  Creation
 * and destruction are not thread safe with respect to use.
 *
 * Process safety (fork).  Everything a reader or a filler writes lives in
 * memory shared across fork (ring_shm_alloc: MAP_SHARED|MAP_ANONYMOUS): the
 * packet area, struct ring_umem (fill ring view, free stack, fill lock,
 * budget and adaptation state, counters) and struct ring_xsk (rx ring view
 * with its cached_prod/cached_cons).  fork keeps virtual addresses, so the
 * pointers stay valid in every descendant, and a child reads the same frames
 * the kernel writes (a MAP_PRIVATE area would be copied at fork - 34 ms for
 * a pinned 32 MiB UMEM - while the kernel keeps writing the parent's pages).
 * The kernel's ring mappings are MAP_SHARED already.  Handles stay per
 * process: fds, ring mmaps and libxdp's own structs are inherited copies,
 * and each process drops its own (ring_xsk_forget); the kernel frees the
 * socket, the rings and the memory with the last reference.  The cost: the
 * area is shmem, which gets no transparent huge pages unless
 * /sys/kernel/mm/transparent_hugepage/shmem_enabled allows them (it says
 * never by default); the adaptive fill depth keeps the working set small.
 *
 * Locks shared by processes are ring_lock words (below): a holder killed
 * (kill -9) while holding one is detected and the lock taken over, and the
 * taker repairs what the holder may have left half-done.  For the fill lock
 * that is ring_umem_fill's state: entries reserved on the fill ring but never
 * submitted are dropped (cached_prod/cached_cons reloaded from the kernel's
 * words), the stack count is clamped, the budget republished.
 *
 * Dead holders: who holds which frame.  A frame outside the free stack and
 * every ring (released off an rx ring by a reader and not yet on the stack;
 * taken for transmit and not yet posted) is marked in the UMEM's shared
 * owner[] array with its holder: the thread's ring_lock id (pid << 32 |
 * tid) and a kind bit (RING_OWN_RX / RING_OWN_TX); 0 everywhere else.  The
 * marks are stores to shared memory, made before a frame leaves the rings
 * (ring_xsk_rx_release tags, then releases) and cleared only after it is
 * on the stack or on a ring the kernel reads, so at any instant a kill -9
 * leaves each frame either where the kernel or the stack has it, or marked
 * with the dead thread.  The next taker of the lock the dead thread held
 * (ring_lock_take returns the dead holder's id) gives the marked frames
 * back (ring_xsk_rx_repair, ring_xsk_tx_repair), after clearing the marks
 * of frames that are in fact on a ring: rx entries it peeked but never
 * released (they are read again), tx descriptors it posted but had not yet
 * unmarked (xsk->tx_clear .. the kernel-visible producer: in flight, never
 * given back twice).  Steps under the fill lock that move frames between
 * the stack and a ring or a holder (fill post, completion reap, transmit
 * take and give-back, returns) are made restartable by a journal
 * (struct ring_jr): the stack count and the counter they move are stored
 * after the evidence (the ring word, the stack's new entries), so a fill
 * lock taker finishes or forgets a step its dead holder left half done,
 * and clears the marks of frames on the stack.  A dead holder is a thread
 * that no longer exists or a zombie (ring_lock_holder_dead); ids are only
 * reused after the pid space wraps (pid_max allocations) with the thread
 * reaped, the same window as the lock's own.  What is not covered: a
 * repairer killed while it gives frames back loses those (they carry the
 * first dead thread's id, which nobody looks for again), and frames of a
 * dead holder whose lock nobody takes again stay out until the socket
 * goes - unless a sender waits for them: the shim's blocking sender takes
 * over, every RING_LOCK_CHECK_NS of its wait, the dead-held locks of the
 * sockets on its UMEM that its process has (shim/send.c shim_tx_sweep).
 */
#ifndef XSKSHIM_RING_H
#define XSKSHIM_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <linux/if_xdp.h>

/* ---------------------------------------------------------------------- */
/* A spinlock for state private to one process: test-and-test-and-set,    */
/* held for one batch.  State shared across fork uses ring_lock (below).   */
/* ---------------------------------------------------------------------- */

/* Tell the CPU we are spinning: `pause` on x86 (frees the sibling
 * hyperthread, avoids the memory-order flush on exit), `yield` on arm64;
 * a compiler barrier elsewhere. */
static inline void ring_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* Acquire pairs with ring_spin_unlock's release: what the previous holder
 * wrote under the lock is visible to the next.  The inner relaxed load
 * spins on a shared cache line instead of bouncing it with exchanges. */
static inline void ring_spin_lock(int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(l, __ATOMIC_RELAXED))
			ring_cpu_relax();
}

static inline void ring_spin_unlock(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/* ---------------------------------------------------------------------- */
/* Memory and locks shared across fork.                                    */
/* ---------------------------------------------------------------------- */

/* sz bytes (rounded up to pages), zeroed, MAP_SHARED|MAP_ANONYMOUS: the same
 * memory in every process forked after this call.  NULL and errno on
 * failure.  ring_shm_free unmaps this process's view only. */
void *ring_shm_alloc(size_t sz);
void ring_shm_free(void *p, size_t sz);

/* A lock word in shared memory: 0 when free, else the holder's
 * (pid << 32 | tid), with RING_LOCK_WAITING set once a waiter sleeps.
 * Taking it is one compare-and-swap; a waiter spins a little, then sets
 * RING_LOCK_WAITING and sleeps on the word (a futex on its tid half, shared
 * across processes) until the holder drops it: a waiter whose holder is
 * off the CPU (two forked readers on one CPU, the holder preempted
 * mid-batch) burns no CPU meanwhile and leaves its CPU to the holder,
 * where it used to spin and sched_yield (42 ms of CPU in a 50 ms wait,
 * test_ring).  On this VM's kernel sched_yield did hand the CPU back to the
 * holder: two processes on one CPU taking the lock for ~55 us each got as
 * many acquisitions either way (about 32,000 in 2 s).  Dropping is one
 * exchange; only a word that had RING_LOCK_WAITING costs a wake-up call.  Every
 * RING_LOCK_CHECK_NS the waiter asks whether the holder thread still exists
 * (tgkill(pid, tid, 0), and /proc/pid/stat for a leader left a zombie by
 * kill -9).  If not, it takes the lock over with a compare-and-swap from
 * that exact value (waking the other sleepers) and ring_lock_take returns
 * true: the caller must then repair what the lock protects (each user
 * documents what that is).  A waiter that loses that race to another
 * looks at the word afresh (it may be free again by then).  A lock held at fork by a parent's thread stays
 * the parent's: the child waits for that live thread to drop it, it never
 * steals it.  The per-thread id is cached and reset in a fork child
 * (pthread_atfork). */
/* Code that a fork child runs between fork() and _exit(): the fork handlers
 * and the exit report.  A child reads in the library's text by page faults,
 * each mapping one 64 KiB window of it; kept together at the start of
 * .text, next to the PLT, these cost one fault per fork, not one per module
 * (forkserve forkcost). */
#define RING_FORK_TEXT __attribute__((section(".text.hot.xskshim_fork")))

#define RING_LOCK_CHECK_NS 1000000
#define RING_LOCK_SPINS    4096      /* pauses before a waiter sleeps */
#define RING_LOCK_WAITING  (1ULL << 31)   /* tids are below 2^22 (PID_MAX_LIMIT) */
extern __thread uint64_t ring_lock_me __attribute__((tls_model("initial-exec")));
uint64_t ring_lock_self_init(void);
uint64_t ring_lock_slow(uint64_t *l, uint64_t me);
void ring_lock_wake(uint64_t *l);

/* 0, or (taken over) the dead holder's id (its word without
 * RING_LOCK_WAITING): the caller repairs, and gives back the frames that id
 * held (ring.h "Dead holders"). */
static inline uint64_t ring_lock_take(uint64_t *l)
{
	uint64_t me = ring_lock_me, z = 0;

	if (__builtin_expect(!me, 0))
		me = ring_lock_self_init();
	if (__builtin_expect(__atomic_compare_exchange_n(l, &z, me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED), 1))
		return 0;
	return ring_lock_slow(l, me);
}

/* The mark of a frame held by thread id (a ring_lock id: pid << 32 | tid,
 * tid below 2^22): released off an rx ring, or taken for transmit. */
#define RING_OWN_RX(id) ((id) | 1ULL << 30)
#define RING_OWN_TX(id) ((id) | 1ULL << 29)

static inline void ring_lock_drop(uint64_t *l)
{
	if (__builtin_expect(__atomic_exchange_n(l, 0, __ATOMIC_RELEASE) & RING_LOCK_WAITING, 0))
		ring_lock_wake(l);
}

/* Whether the thread whose id word is v (a lock holder) is gone. */
bool ring_lock_holder_dead(uint64_t v);

/* ---------------------------------------------------------------------- */
/* Rings: our own view of an AF_XDP producer/consumer ring.                */
/* ---------------------------------------------------------------------- */

/* A ring as mapped from the kernel.  producer/consumer point into shared
 * memory; the cached_* copies avoid touching the shared cache line on every
 * call.  Unit tests point producer/consumer at fake words. */
struct ring_q {
	uint32_t  cached_prod;
	uint32_t  cached_cons;
	uint32_t  mask;
	uint32_t  size;
	uint32_t *producer;
	uint32_t *consumer;
	void     *ring;     /* struct xdp_desc[] (rx) or __u64[] (fill) */
	uint32_t *flags;    /* XDP_RING_NEED_WAKEUP lives here          */
};

/* Consumer side (rx ring).  Returns how many entries (<= n) are ready and
 * sets *idx to the first.  The acquire load of *producer pairs with the
 * kernel's release store after it wrote the descriptors, so the descriptors
 * we read afterwards are complete. */
static inline uint32_t ring_cons_peek(struct ring_q *r, uint32_t n, uint32_t *idx)
{
	uint32_t avail = r->cached_prod - r->cached_cons;
	if (avail == 0) {
		r->cached_prod = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
		avail = r->cached_prod - r->cached_cons;
	}
	if (avail > n)
		avail = n;
	if (avail) {
		*idx = r->cached_cons;
		r->cached_cons += avail;
	}
	return avail;
}

/* Undo the last n peeked-but-not-released entries (MSG_PEEK). */
static inline void ring_cons_cancel(struct ring_q *r, uint32_t n)
{
	r->cached_cons -= n;
}

/* Release n consumed entries to the kernel.  The release store orders our
 * reads of the descriptors (and of the frame data) before the kernel may
 * overwrite them. */
static inline void ring_cons_release(struct ring_q *r, uint32_t n)
{
	__atomic_store_n(r->consumer, *r->consumer + n, __ATOMIC_RELEASE);
}

/* Entries ready to consume without advancing anything (for FIONREAD,
 * readiness).  Acquire for the same reason as ring_cons_peek. */
static inline uint32_t ring_cons_avail(const struct ring_q *r)
{
	return __atomic_load_n(r->producer, __ATOMIC_ACQUIRE) - *r->consumer;
}

/* Producer side (fill ring).  Reserve n slots or none.  The acquire load of
 * *consumer pairs with the kernel's release after it read the entries, so
 * we never overwrite an entry the kernel still reads. */
static inline uint32_t ring_prod_reserve(struct ring_q *r, uint32_t n, uint32_t *idx)
{
	uint32_t free_cnt = r->cached_cons - r->cached_prod;
	if (free_cnt < n) {
		r->cached_cons = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE) + r->size;
		free_cnt = r->cached_cons - r->cached_prod;
	}
	if (free_cnt < n)
		return 0;
	*idx = r->cached_prod;
	r->cached_prod += n;
	return n;
}

/* Publish n reserved entries.  Release so the kernel sees the addresses we
 * wrote before it sees the new producer value. */
static inline void ring_prod_submit(struct ring_q *r, uint32_t n)
{
	__atomic_store_n(r->producer, *r->producer + n, __ATOMIC_RELEASE);
}

static inline bool ring_prod_needs_wakeup(const struct ring_q *r)
{
	return (__atomic_load_n(r->flags, __ATOMIC_RELAXED) & XDP_RING_NEED_WAKEUP) != 0;
}

static inline struct xdp_desc *ring_rx_desc(struct ring_q *r, uint32_t idx)
{
	return &((struct xdp_desc *)r->ring)[idx & r->mask];
}

static inline uint64_t *ring_fill_addr(struct ring_q *r, uint32_t idx)
{
	return &((uint64_t *)r->ring)[idx & r->mask];
}

/* ---------------------------------------------------------------------- */
/* Frame validation (pure functions, no privileges, fuzzed).               */
/* ---------------------------------------------------------------------- */

enum ring_csum_mode {
	RING_CSUM_VERIFY = 0,   /* verify UDP checksums like the kernel does for a NIC */
	RING_CSUM_OFF    = 1,   /* trust them (loopback/veth carry partial sums)      */
};

/* Why a frame was not accepted.  Negative return values of ring_frame_parse.
 * NOT_OURS: a well-formed frame the fast path does not handle (should have
 * been XDP_PASSed); the others are malformed and are dropped and counted,
 * as the kernel would drop them. */
enum ring_frame_err {
	RING_FRAME_OK         = 0,
	RING_FRAME_TRUNC      = 1,  /* shorter than its headers               */
	RING_FRAME_NOT_OURS   = 2,  /* not IPv4/IPv6 UDP, fragment, ext hdrs  */
	RING_FRAME_BAD_IP     = 3,  /* bad version/IHL/total length/header csum */
	RING_FRAME_BAD_UDPLEN = 4,  /* UDP length disagrees with IP length    */
	RING_FRAME_BAD_CSUM   = 5,  /* UDP checksum wrong (or 0 on IPv6)      */
	RING_FRAME_ERR_CNT
};

#define RING_FRAME_ERR_NAMES \
	"ok", "trunc", "not_ours", "bad_ip", "bad_udplen", "bad_csum"

/* What ring_frame_parse learned.  Addresses in network byte order; for
 * IPv4 only the first 4 bytes of saddr/daddr are set (rest zero). */
struct ring_frame_info {
	uint8_t  family;        /* 4 or 6 */
	uint8_t  tos;           /* IPv4 TOS or IPv6 traffic class */
	uint8_t  ttl;           /* IPv4 TTL or IPv6 hop limit */
	uint8_t  vlan_cnt;      /* 0..2 */
	uint16_t sport;         /* network order */
	uint16_t dport;         /* network order */
	uint8_t  saddr[16];
	uint8_t  daddr[16];
	uint32_t payload_off;   /* offset of the UDP payload in the frame */
	uint32_t payload_sz;    /* from the UDP length field */
};

/* Validate an Ethernet frame (up to two 802.1Q/802.1ad tags) carrying an
 * IPv4 (any IHL) or IPv6 (no extension headers) UDP datagram:
 *   - every header fits in len;
 *   - IPv4: version 4, IHL >= 5, header checksum correct, not a fragment,
 *     total length fits in the frame (trailing Ethernet padding allowed);
 *   - IPv6: payload length fits in the frame;
 *   - UDP length >= 8 and equal to the IP payload length;
 *   - UDP checksum (mode VERIFY): 0 allowed on IPv4, mandatory on IPv6.
 * Returns 0 and fills *info, or -enum ring_frame_err.  Never reads outside
 * [frame, frame+len).  Pure; thread safe. */
int ring_frame_parse(const uint8_t *frame, uint32_t len, enum ring_csum_mode mode,
		     struct ring_frame_info *info);

/* Internet checksum helpers (RFC 1071).  ring_csum_partial adds len bytes at
 * p into a 64-bit accumulator; ring_csum_fold folds it to 16 bits (not
 * complemented). */
uint64_t ring_csum_partial(const void *p, size_t len, uint64_t acc);
uint16_t ring_csum_fold(uint64_t acc);
/* a + b with the end-around carry of ones'-complement sums: the step both
 * checksum loops (frame.c, tx.c) accumulate with.  Cannot overflow again:
 * the sum is at most 2^64 - 2 after a wrap. */
static inline uint64_t ring_csum_add(uint64_t a, uint64_t b)
{
	uint64_t s;

	if (__builtin_add_overflow(a, b, &s))
		s++;
	return s;
}

/* Copy len bytes from src into the iovec array, in order, stopping when the
 * iovecs are full.  Returns the number of bytes copied.  NULL/zero-length
 * iovecs are skipped.  Thread safe. */
size_t ring_copy_to_iov(const uint8_t *src, size_t len, const struct iovec *iov, size_t iov_cnt);

/* Fill a sockaddr_in (family 4) or sockaddr_in6 from info's source.  If
 * want_v6 and the frame is IPv4, produce an IPv4-mapped IPv6 address (what a
 * dual-stack socket reports).  Returns the address length written (at most
 * cap bytes are written, the kernel's truncation rule). */
uint32_t ring_frame_src(const struct ring_frame_info *info, bool want_v6, void *addr, uint32_t cap);

/* ---------------------------------------------------------------------- */
/* UMEM and AF_XDP sockets (need CAP_NET_RAW/CAP_NET_ADMIN, CAP_IPC_LOCK   */
/* or enough RLIMIT_MEMLOCK).                                              */
/* ---------------------------------------------------------------------- */

struct ring_umem_cfg {
	uint32_t frame_cnt;   /* power of two; also the fill ring size */
	uint32_t frame_sz;    /* 2048 or 4096 */
	uint32_t rx_sz;       /* rx ring entries per ring_xsk, power of two */
	bool     zerocopy;    /* bind with XDP_ZEROCOPY instead of XDP_COPY */
	bool     zerocopy_fallback; /* if zero-copy is unsupported, use copy mode */
	uint32_t fill_min;    /* frames always posted to the fill ring (0: all) */
	bool     need_wakeup; /* bind with XDP_USE_NEED_WAKEUP */
	uint32_t tx_sz;       /* tx ring entries per ring_xsk, power of two; 0: receive only */
};

/* filled counts frames ever posted to the fill ring; returned counts frames
 * given back by readers (or for dead ones); rx_seen counts descriptors
 * readers took off rx rings (all monotonic).  rx_seen - returned was the
 * number of frames readers hold; a reader killed between its release and
 * its count leaves them apart, so held_rx (the marks) says it now.  idle
 * and fill_target are current values. */
struct ring_umem_acct {
	uint64_t filled;
	uint64_t returned;
	uint64_t rx_seen;
	uint64_t tx_out;        /* frames taken for transmit (ring_umem_tx_alloc) */
	uint64_t tx_done;       /* ... given back: completed, or unused */
	uint32_t idle;          /* now: frames on the free stack */
	uint32_t fill_target;   /* now: frames kept posted on the fill ring */
	uint64_t reclaimed;     /* frames given back from dead holders */
	uint64_t takeovers;     /* fill locks taken over from a dead holder */
	uint32_t held_rx;       /* marked held by readers (ring_umem_held; 0 from acct_get) */
	uint32_t held_tx;       /* ... by senders, part of tx_out - tx_done */
};

/* A step under the fill lock that moves frames between the stack and a
 * ring or a holder, while it runs (kind != 0): done once `ring` (the fill
 * ring's producer for POST, the completion ring's consumer for REAP) or
 * else the stack count reads its value after the step; then the stack
 * count must be cnt1 and *ctr ctr1.  See ring.h "Dead holders". */
enum { RING_JR_NONE, RING_JR_STACK, RING_JR_POST, RING_JR_REAP };
struct ring_jr {
	uint32_t  kind;
	uint32_t  cnt1;
	uint32_t  ring1;
	uint64_t *ctr;
	uint64_t  ctr1;
};

struct ring_umem {
	void          *area;
	uint64_t       area_sz;
	uint32_t       frame_cnt;
	uint32_t       frame_sz;
	uint32_t       queue;
	int            ifindex;
	char           ifname[16];
	struct ring_umem_cfg cfg;
	struct ring_q  fill;
	struct ring_q  comp;             /* completion ring, under fill_lock (tx.c) */
	uint32_t       tx_max;           /* frames transmit may hold at once */
	uint64_t       fill_lock;        /* ring_lock: ring_umem_lock, see ring_umem_fill */
	uint64_t       repairs;          /* fill locks taken over from a dead holder */
	uint32_t       xsk_cnt;          /* application ring_xsk on this UMEM */
	struct ring_xsk *anchor;         /* binds the queue for the UMEM's life */
	void          *lib_umem;         /* struct xsk_umem * (libxdp) */
	void          *lib_fill;         /* struct xsk_ring_prod * */
	void          *lib_comp;         /* struct xsk_ring_cons * */
	struct ring_umem_acct acct;      /* updated under fill_lock */
	uint64_t      *stack;            /* free frames, LIFO; under fill_lock */
	uint32_t       stack_cnt;
	uint32_t       fill_min;         /* see ring_umem_fill */
	uint32_t       fill_target;
	uint32_t       win_max, win_cnt; /* adaptation window */
	uint64_t       rx_seen_atomic;   /* updated with atomic add by readers */
	uint64_t      *budget;           /* see ring_umem_budget; NULL: none */
	int64_t        budget_off;
	uint64_t       budget_pub;       /* the value last stored in *budget */
	uint64_t      *owner;            /* per frame: RING_OWN_* of its holder, 0 (shared) */
	uint32_t       frame_shift;      /* log2(frame_sz) */
	struct ring_jr jr;               /* under fill_lock */
	uint64_t       reclaimed;        /* frames given back from dead holders (fill_lock) */
};

struct ring_xsk {
	struct ring_umem *umem;
	struct ring_q     rx;
	struct ring_q     tx;           /* size 0 without cfg.tx_sz */
	void             *lib_tx;       /* struct xsk_ring_prod * */
	int               fd;
	uint32_t          queue;
	void             *lib_xsk;      /* struct xsk_socket * */
	void             *lib_rx;       /* struct xsk_ring_cons * */
	struct xdp_statistics stats_base; /* see ring_xsk_stats_reset */
	uint32_t          tx_clear;     /* tx producer up to which posted frames are unmarked */
};

/* struct ring_umem, its stack and struct ring_xsk live in ring_shm_alloc
 * memory (see the design note); the UMEM area too. */

/* Create the UMEM for (ifname, queue): mmap frame_cnt*frame_sz bytes,
 * register them (XDP_UMEM_REG), put every frame on the fill ring, and bind
 * an anchor AF_XDP socket to the queue (EBUSY if another process owns it,
 * EOPNOTSUPP for zero-copy without fallback).  The anchor keeps the fill
 * ring mapped while application sockets come and go; nothing is redirected
 * to it.  Owns the mapping until ring_umem_destroy.  Returns NULL and sets
 * errno. */
struct ring_umem *ring_umem_create(const char *ifname, uint32_t queue, const struct ring_umem_cfg *cfg);

/* Destroy a UMEM.  Fails with -EBUSY while any ring_xsk still uses it. */
int ring_umem_destroy(struct ring_umem *umem);

/* Create an AF_XDP socket bound to umem's (interface, queue), sharing the
 * UMEM with the queue's other ring_xsk (XDP_SHARED_UMEM), with an rx ring of
 * rx_sz entries (a power of two; 0: the UMEM's cfg.rx_sz).  No XDP program is
 * loaded (libxdp's default program is inhibited): the caller inserts
 * ring_xsk->fd into its own XSKMAP.  The fd is close-on-exec. */
struct ring_xsk *ring_xsk_create(struct ring_umem *umem, uint32_t rx_sz);
/* Drain (ring_xsk_drain), then drop: the end of the socket for every
 * process.  Only the last user calls it. */
void ring_xsk_destroy(struct ring_xsk *xsk);
/* Drop this process's handles of xsk (its fd, ring mapping, libxdp struct,
 * view of the shared struct) without touching the shared rings: for a
 * process that stops using a socket others still use (a fork child's copy). */
void ring_xsk_forget(struct ring_xsk *xsk);
/* After taking over the reader lock of xsk's rx ring from dead holder id
 * (ring_lock_take): entries it peeked but never released become readable
 * again; frames it released and had not returned go back to the UMEM.
 * Returns how many went back. */
uint32_t ring_xsk_rx_repair(struct ring_xsk *xsk, uint64_t dead);
/* The end of a batch of a reader of xsk's rx ring: mark the n frames
 * (addrs, as in the rx descriptors: the first n entries peeked) held,
 * release the entries, return the frames (ring_umem_fill). */
void ring_xsk_rx_release(struct ring_xsk *xsk, const uint64_t *addrs, uint32_t n);
/* Frames marked tag (RING_OWN_*) go back to the free stack (and the fill
 * ring is topped up); *ctr (&umem->acct.returned or .tx_done) counts them.
 * Returns how many.  Takes the fill lock. */
uint32_t ring_umem_reclaim(struct ring_umem *umem, uint64_t tag, uint64_t *ctr);
/* Frames marked held now: by readers (rx) and by senders (tx); a scan. */
void ring_umem_held(struct ring_umem *umem, uint32_t *rx, uint32_t *tx);

/* The UMEM's fill lock (a ring_lock; what it protects and how a takeover
 * repairs it: ring/xsk.c).  For ring/ itself (xsk.c, tx.c). */
void ring_umem_lock(struct ring_umem *umem);
void ring_umem_unlock(struct ring_umem *umem);
/* Fill lock held: push n frames (addrs, any address inside a frame) on the
 * free stack and unmark them, *ctr += n; pop up to n into addrs, marked
 * tag, *ctr += that many (returned).  Restartable (struct ring_jr). */
void ring_umem_push_locked(struct ring_umem *umem, const uint64_t *addrs, uint32_t n, uint64_t *ctr);
uint32_t ring_umem_pop_locked(struct ring_umem *umem, uint64_t *addrs, uint32_t n, uint64_t tag, uint64_t *ctr);
/* Fill lock held: a restartable step begins (kind RING_JR_*; the stack
 * count cnt1, the ring word ring1 and *ctr += n once done) / ends. */
void ring_jr_begin(struct ring_umem *umem, uint32_t kind, uint32_t cnt1, uint32_t ring1, uint64_t *ctr, uint64_t n);
void ring_jr_end(struct ring_umem *umem);
/* Keeps the compiler from moving stores across it: a kill -9 stops a
 * thread between two instructions, with every earlier store made. */
#define ring_kill_order() __atomic_signal_fence(__ATOMIC_SEQ_CST)

/* Return n frames (addresses as seen in rx descriptors; the chunk base is
 * derived) and top the fill ring up to its adaptive depth.  Thread safe: a
 * spinlock per UMEM, taken once.  If the fill ring asks for a wakeup, kicks
 * it through xsk_fd. */
void ring_umem_fill(struct ring_umem *umem, const uint64_t *addrs, uint32_t n, int xsk_fd);

/* Publish the fill budget: now, and after posts to the fill ring once it
 * has grown by max(16, fill_target / 8) frames, store acct.filled + off
 * into *word with release order, so that a reader of *word (the XDP
 * program's budget limit) never sees a count of frames that are not on the
 * ring yet, and sees it lag by at most that step.  word NULL stops
 * publishing.  The word must outlive the UMEM or a later call with NULL.
 * Thread safe (fill_lock). */
void ring_umem_budget(struct ring_umem *umem, uint64_t *word, int64_t off);

/* Deepen the fill ring to at least want frames (rounded up to a power of
 * two, at most the UMEM) now, for a reader that was away longer than the
 * current depth covers; the usual adaptation may shrink it again later.
 * Thread safe (fill_lock). */
void ring_umem_fill_grow(struct ring_umem *umem, uint32_t want);

/* Raise the minimum fill depth (e.g. to the buffering a socket's SO_RCVBUF
 * asks for) and post frames up to it now.  Thread safe. */
void ring_umem_fill_min(struct ring_umem *umem, uint32_t fill_min);

/* Pointer to a frame's bytes from an rx descriptor address. */
static inline uint8_t *ring_umem_frame(const struct ring_umem *umem, uint64_t addr)
{
	return (uint8_t *)umem->area + addr;
}

/* Snapshot of the accounting counters, for tests and statistics (held_rx
 * and held_tx are left 0: ring_umem_held scans for them).  in_rx is
 * estimated from the rx rings' producer/consumer words. */
void ring_umem_acct_get(struct ring_umem *umem, struct ring_umem_acct *out);

/* The UMEM's AF_XDP fd (also the fd of the queue's first ring_xsk). */
int ring_umem_fd(const struct ring_umem *umem);

/* Entries on the fill ring not yet taken by the kernel. */
uint32_t ring_umem_fill_cnt(struct ring_umem *umem);

/* XDP_STATISTICS of one AF_XDP socket (rx_dropped, rx_ring_full, ...),
 * counted since the last ring_xsk_stats_reset (creation if never). */
int ring_xsk_stats(const struct ring_xsk *xsk, struct xdp_statistics *out);
void ring_xsk_stats_reset(struct ring_xsk *xsk);

/* Return every frame on xsk's rx ring to its UMEM (the datagrams are
 * dropped).  Returns how many.  Caller serialises with readers of xsk. */
uint32_t ring_xsk_drain(struct ring_xsk *xsk);
/* The same, first showing each frame, in ring order, to fn (its bytes are
 * valid, and may be changed, only during the call). */
typedef void (*ring_frame_fn)(void *arg, uint8_t *frame, uint32_t len);
uint32_t ring_xsk_drain_to(struct ring_xsk *xsk, ring_frame_fn fn, void *arg);

/* ---------------------------------------------------------------------- */
/* Transmit (tx.c).                                                        */
/*                                                                         */
/* Frames to send come from the UMEM's free stack, so one pool serves both */
/* directions, each with its share.  Transmit holds at most tx_max (a      */
/* quarter of the UMEM) at once: receive cannot be starved by a sender.    */
/* The fill ring never holds more than frame_cnt - tx_max, and posting     */
/* leaves on the stack the part of tx_max transmit does not hold, however  */
/* large the fill target or the backlog on the rx rings: nor can transmit  */
/* be starved by receive.  A frame goes                                    */
/* stack -> (built) -> tx ring of a ring_xsk -> kernel -> completion ring  */
/* of the UMEM -> stack.  The completion ring is shared by every ring_xsk  */
/* of the queue and consumed under fill_lock, always before frames are     */
/* taken.  Accounting: idle + fill ring + rx rings + held by readers +     */
/* (tx_out - tx_done) == frame_cnt.                                        */
/*                                                                         */
/* A ring_xsk's tx ring has one producer at a time: callers serialise      */
/* ring_xsk_tx_* per ring_xsk.  Syscalls: sendto() on the AF_XDP fd (the   */
/* kick); in copy mode the kernel transmits during that call, at most      */
/* max_tx_budget descriptors per call (EAGAIN then means "call again"):    */
/* 32 unless raised (XDP_MAX_TX_SKB_BUDGET, Linux 6.17+), which            */
/* ring_xsk_create does to RING_TX_KICK_BUDGET, so that one kick sends     */
/* what a sendmmsg(64) posted.                                             */
/* ---------------------------------------------------------------------- */

/* Reap the completion ring (*reaped: how many entries), then take up to n
 * frames for transmit (their addresses into addrs), marked held by this
 * thread until posted or given back.  Returns how many (0:
 * none free for transmit now).  Thread safe (fill_lock). */
uint32_t ring_umem_tx_alloc(struct ring_umem *umem, uint64_t *addrs, uint32_t n, uint32_t *reaped);
/* Give back frames taken but not posted.  Thread safe. */
void ring_umem_tx_unalloc(struct ring_umem *umem, const uint64_t *addrs, uint32_t n);
/* Reap the completion ring only.  Returns frames reaped.  Thread safe. */
uint32_t ring_umem_tx_reap(struct ring_umem *umem);
/* Frames transmit holds now (taken, not yet completed). */
static inline uint64_t ring_umem_tx_in_flight(const struct ring_umem_acct *a)
{
	return a->tx_out - a->tx_done;
}

/* Post n frames (addrs[i], lens[i] bytes) on xsk's tx ring: all or none
 * (0 if the ring has no room for n).  Publishing is a release store, so the
 * kernel sees the frame bytes and descriptors before the new producer. */
uint32_t ring_xsk_tx_post(struct ring_xsk *xsk, const uint64_t *addrs, const uint32_t *lens, uint32_t n);
/* Free entries on xsk's tx ring. */
uint32_t ring_xsk_tx_room(struct ring_xsk *xsk);
/* Descriptors posted but not yet taken by the kernel. */
uint32_t ring_xsk_tx_pending(const struct ring_xsk *xsk);
/* After taking over the lock that serialises xsk's tx ring producers from
 * dead holder id: descriptors it reserved but never submitted are dropped
 * (cached_prod reloaded from the kernel-visible producer), the frames it
 * took and did not post go back to the UMEM (those it posted are the
 * kernel's).  Returns how many went back. */
uint32_t ring_xsk_tx_repair(struct ring_xsk *xsk, uint64_t dead);
#define RING_TX_KICK_BUDGET 256
/* Raise the kernel's per-kick transmit budget of xsk to RING_TX_KICK_BUDGET
 * (at most the tx ring size).  Returns the budget in force: 32 where the
 * kernel has no XDP_MAX_TX_SKB_BUDGET.  Called by ring_xsk_create. */
uint32_t ring_xsk_tx_budget(struct ring_xsk *xsk);
/* Make the kernel transmit what is posted, if it needs telling (copy mode
 * always, zero-copy when the ring says need_wakeup).  0 or -errno of the
 * sendto() (EAGAIN/EBUSY: more to do, call again; ENOBUFS: no memory for
 * an skb right now; ENETDOWN: interface down). */
int ring_xsk_tx_kick(struct ring_xsk *xsk);
/* Kick until the tx ring is empty or timeout_ms passed, then reap.  For
 * close and exit: what the application sent leaves before the socket
 * goes.  Returns descriptors still pending. */
uint32_t ring_xsk_tx_flush(struct ring_xsk *xsk, int timeout_ms);

/* What a UDP frame's headers say.  Addresses and ports in network order
 * (IPv4: the first 4 bytes of saddr/daddr). */
struct ring_tx_hdr {
	uint8_t  family;        /* 4 or 6 */
	uint8_t  tos;           /* IPv4 TOS or IPv6 traffic class, ECN included */
	uint8_t  ttl;           /* IPv4 TTL or IPv6 hop limit */
	bool     df;            /* IPv4: set DF */
	bool     no_csum;       /* IPv4 only: UDP checksum 0 (SO_NO_CHECK) */
	uint16_t ip_id;         /* IPv4 identification, host order */
	uint32_t flowlabel;     /* IPv6, 20 bits */
	uint16_t sport, dport;
	uint8_t  src_mac[6], dst_mac[6];
	uint8_t  saddr[16], daddr[16];
};

#define RING_TX_HDR_SZ(family) (14u + ((family) == 4 ? 20u : 40u) + 8u)

/* Write Ethernet + IPv4/IPv6 + UDP headers and payload bytes [off, off+len)
 * of the iovec array into frame (cap bytes), the payload copied and summed
 * in one pass; the IPv4 header checksum and the UDP checksum (a computed 0
 * sent as 0xffff) are filled in.  Returns the frame length, or 0 if it does
 * not fit in cap or the iovecs hold fewer than off+len bytes.  Pure. */
uint32_t ring_tx_frame_build(uint8_t *frame, uint32_t cap, const struct ring_tx_hdr *h, const struct iovec *iov,
			     size_t iov_cnt, size_t off, size_t len);

/* Copy len bytes from src to dst and add them to a checksum accumulator as
 * ring_csum_partial(dst, len, acc) would, in one pass (the sums are equal
 * after ring_csum_fold).  ring_csum_copy picks the fastest loop the CPU
 * has, checked once at load time: on x86-64 with AVX2 a vector loop for
 * 128 bytes and more (about 3x the scalar one at 1228 bytes), otherwise
 * the scalar loop (four add-with-carry chains).  The two are also callable
 * by name, for the unit tests: ring_csum_copy_simd is the vector loop where
 * ring_csum_copy_simd_ok() says the CPU has it, the scalar one elsewhere.
 * Pure; thread safe. */
uint64_t ring_csum_copy(void *dst, const void *src, size_t len, uint64_t acc);
uint64_t ring_csum_copy_scalar(void *dst, const void *src, size_t len, uint64_t acc);
uint64_t ring_csum_copy_simd(void *dst, const void *src, size_t len, uint64_t acc);
bool ring_csum_copy_simd_ok(void);

#endif /* XSKSHIM_RING_H */
