/* shim.h - the interposer: everything that knows about LD_PRELOAD.
 *
 * Design note
 * -----------
 * The application's fd stays the real kernel UDP socket, bound the whole
 * time: its port stays reserved, sends and socket options go straight to the
 * kernel, and anything the XDP program passes (fragments, odd headers, queues
 * without an AF_XDP socket, packets that arrived before attach) is still
 * delivered there.  For a socket bound to a configured port we add, per RX
 * queue, an AF_XDP socket of its own (readiness option 1 of docs/design.md): the
 * XDP program picks the socket's XSKMAP slot from (address, port) plus a flow
 * hash for SO_REUSEPORT groups, so the kernel wakes exactly the right socket.
 * Why option 1 and not a shared XSK demultiplexed in user space: readiness
 * then needs no user-space hand-off at all - poll/epoll on the application fd
 * are answered by the kernel from the socket's own AF_XDP fds plus its kernel
 * socket, nobody does another socket's work, and there is no eventfd write
 * per wake-up.
 *
 * A receive call drains the socket's AF_XDP rx rings first, then the kernel
 * socket: when the rings ran dry and the kernel socket may have data
 * (kern_hint: set whenever poll/epoll/our own wait saw it readable or could
 * not tell, cleared when it answered EAGAIN - this saves a syscall per batch
 * in the poll-then-recvmmsg loop), and unconditionally every
 * SHIM_KERNEL_EVERY calls so neither a busy ring nor a spinning caller that
 * never polls can starve it.  Except while a spill episode is pending (the
 * XDP program passed datagrams to the kernel socket because the queue's
 * fill budget was spent, xskshim_bpf.h): then the rings are read only up to
 * the episode's start, the episode's datagrams from the kernel socket, and
 * on (shim_spill_take), so the two paths merge in arrival order.
 *
 * Objects and lifetimes
 *   shim_sock   one per open file description of a tracked UDP socket; the
 *               fd table holds one reference per fd (dup shares it), every
 *               in-flight call holds one.  Freed when the last goes.
 *   the install the control plane's (ctl/ctl.h): the loaded program, its
 *               bpf_link, one ring_umem per queue; a socket's binding to it
 *               (slot, AF_XDP sockets) is s->b, opened at bind and closed
 *               with the socket or when it moves to the kernel path.
 *
 * Threads: the control plane (socket/bind/close/dup/epoll_ctl bookkeeping,
 * install/uninstall) runs under one mutex, shim_g.lock.  The fd table is an
 * array of pointers; a reference is taken lock-free with one compare-and-swap
 * (see shim_sock_get_any), so threads on different sockets share no lock
 * word.  Receive on one socket is serialised by that socket's spinlock,
 * taken once per batch; different sockets never contend except on the
 * per-queue fill ring, which ring/ locks once per batch.
 *
 * Reentrancy: the shim's own calls, and those of the libbpf/libxdp linked
 * into it, never reach the wrappers: every internal reference to an
 * interposed name is bound at link time to a __wrap_NAME forwarder to libc
 * (syms.h).  A per-thread counter (shim_guard) still makes every wrapper pass
 * straight through while the shim is working on this thread (an application
 * signal handler interrupting it).  errno is saved and restored around our
 * work so the application sees exactly the errno of its own call.
 *
 * fork: the data plane is shared, children keep serving accelerated.
 *   What a reader touches lives in memory shared across fork: the UMEM, the
 *   fill ring state and the rx ring views (ring.h), and per socket a
 *   struct shim_rx (reader lock, spill-merge state).  A child keeps every
 *   inherited fd of ours (bpf_link, maps, AF_XDP sockets: they are its data
 *   plane too; all close-on-exec, so exec drops them) and never closes,
 *   reads or writes an fd number it did not get from the kernel in this
 *   process.  The program stays attached while any process holds the
 *   bpf_link fd and goes with the last one (kill -9 included): a daemon
 *   whose launcher exits keeps acceleration.  vfork/posix_spawn children
 *   run no fork handler and share our memory: the fd-table hooks do nothing
 *   in them (pid check), so their closes and dup2s before exec change
 *   nothing of ours.
 *   Control plane rule: the process that attached the program (the owner)
 *   is the only one that adds AF_XDP sockets, slots and SO_REUSEPORT group
 *   members; a fork child that binds a configured port stays on the kernel
 *   path and says so.  Why: a socket added in a child would have fds in
 *   that child only, and the group table (shim_group) is the owner's;
 *   keeping one writer avoids a cross-process mutex on every bind (servers
 *   bind before they fork).  Tearing down is different: a socket is shared
 *   by every process that inherited it, and its XSKMAP entries, group
 *   membership and rings must live exactly as long as some process holds
 *   it.  Who holds what is kept by the kernel: each holder owns a POSIX
 *   read lock on byte `slot` of a memfd made at install (not inherited by
 *   fork: a child takes its own; released by the kernel at any death), and
 *   "am I the last" is a non-blocking write lock on that byte.  The owner
 *   closing a socket others hold keeps it as an orphan (sock.c) and tears it
 *   down when the others are gone; a child that is last (the owner closed
 *   or died) takes the socket out of the XSKMAP (its datagrams then go to
 *   the kernel socket) and drains its rings.  A demotion (an option only
 *   the kernel path honours, a connect in a child) is global: shim_rx.live
 *   drops to 0 and every process's next receive moves that socket to the
 *   kernel path.  Counters are per process (a child starts from zero).
 *
 * Errors: internal int functions return 0 or a negative errno.
 *
 * Where a change goes (docs/house.md): what an application call does or
 * returns is here - a new interposed call is one line in syms.h, its
 * per-socket behaviour the ops tables (ops.c) and recv.c/ready.c; how
 * sockets are steered or the program installed is ctl/; frames and rings
 * are ring/; the program is bpf/.
 */
#ifndef XSKSHIM_SHIM_H
#define XSKSHIM_SHIM_H

#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "bpf/xskshim_bpf.h"
#include "ring/ring.h"
#include "ctl/ctl.h"
#include "shim/syms.h"
#include "shim/send.h"
#include "shim/stats.h"

#define SHIM_EXPORT __attribute__((visibility("default")))
#define SHIM_FD_MAX 65536        /* fds above this are never accelerated */
#define SHIM_KERNEL_EVERY 64     /* drain the kernel socket at least this often */
#define SHIM_BUDGET_MARGIN 32    /* fill frames kept back for CPUs racing the budget check */
#define SHIM_SPILL_WAIT_NS 50000 /* how long a spilled datagram may lag in the stack */
#define SHIM_AWAY_US      1000   /* an episode this old when first met: the reader was away */
#define SHIM_ICMP_SETTLE_NS 2000000 /* the stack sets sk_err this soon after the program saw the ICMP */

/* ---- real symbols (real.c) ------------------------------------------- */

#define SHIM_REAL_DECL(ret, name, params, args) extern ret(*shim_real_##name) params;
#define SHIM_REAL_DECL_F(ret, name, params, args, fd, kind) SHIM_REAL_DECL(ret, name, params, args)
#define SHIM_UNPAREN(...) __VA_ARGS__
#define SHIM_REAL_DECL_V(ret, name, params, args, last, nva) \
	extern ret(*shim_real_##name)(SHIM_UNPAREN params, ...);
#define SHIM_REAL_DECL_U(ret, name, params, args, euid) SHIM_REAL_DECL(ret, name, params, args)
SHIM_OTHER_CALLS(SHIM_REAL_DECL)
SHIM_FD_CALLS(SHIM_REAL_DECL_F)
SHIM_VA_CALLS(SHIM_REAL_DECL_V)
SHIM_PRIV_UID_CALLS(SHIM_REAL_DECL_U)
SHIM_INTERNAL_CALLS(SHIM_REAL_DECL)

void shim_real_resolve(void **slot, const char *name);
/* The next definition of `name`, resolved on first use (safe before our
 * constructor ran).  Never NULL for symbols libc has. */
#define REAL(name)                                                              \
	(__builtin_expect(shim_real_##name != NULL, 1)                          \
		 ? shim_real_##name                                             \
		 : (shim_real_resolve((void **)&shim_real_##name, #name), shim_real_##name))

extern __thread int shim_guard __attribute__((tls_model("initial-exec")));
static inline void shim_enter(void) { shim_guard++; }
static inline void shim_leave(void) { shim_guard--; }

/* ---- the shim's own fds (real.c) ---------------------------------------
 * Every fd the shim's internals make (AF_XDP and netlink sockets, bpf
 * program/map/link/BTF fds, the holders' memfd, inner epoll sets, eventfds,
 * the stderr copy) is made through a forwarder that records it here, and
 * unrecorded when they close it: the calls in SHIM_OWN_CALLS,
 * SHIM_VA_OWN_CALLS (F_DUPFD, SYS_bpf) and SHIM_INTERNAL_CALLS.  To the
 * application these numbers are not open: its close() of one returns
 * EBADF and closes nothing, close_range() and closefrom() close around
 * them (a daemon's "close every fd from 3" leaves the data plane and the
 * holders' POSIX locks alone).  All are close-on-exec, so exec drops them
 * as the kernel would.  A fork child inherits the record with the fds.
 * Not covered: dup2/dup3 onto one of these numbers (the kernel replaces
 * it), and fds above SHIM_FD_MAX.  Lock-free (atomic bit operations). */
extern uint8_t shim_own_fds[];
static inline bool shim_fd_own(int fd)
{
	return fd >= 0 && fd < SHIM_FD_MAX &&
	       (__atomic_load_n(&shim_own_fds[fd / 8], __ATOMIC_RELAXED) >> (fd % 8) & 1);
}
/* The next own fd >= from (< SHIM_FD_MAX), or -1. */
int shim_own_next(unsigned int from);

/* ---- configuration (config.c) ---------------------------------------- */

enum shim_log_lvl { SHIM_LOG_ERROR, SHIM_LOG_WARN, SHIM_LOG_INFO, SHIM_LOG_DEBUG };

struct shim_cfg {
	bool     active;            /* IFACE set and every value parsed */
	bool     iface_given;       /* XSKSHIM_IFACE set (even if invalid) */
	uint8_t  ports[65536 / 8];  /* bitmap, host byte order */
	uint32_t port_cnt;
	struct ctl_cfg ctl;         /* what the control plane is given (ctl.h):
				     * iface, mode, zerocopy, csum, queues,
				     * frames, fill_min, rx_sz, batch,
				     * busy_poll_us, linger_ms */
	enum shim_log_lvl log_lvl;
	bool     stats;
	bool     require;
	bool     tx;                /* XSKSHIM_TX=on: send through AF_XDP */
	uint32_t linger_ms;
	char     why[256];          /* why !active (config error or IFACE unset) */
};

/* Parse the XSKSHIM_* environment into cfg.  Reports each bad variable once
 * (one line, variable name and accepted forms).  Returns 0, or -EINVAL if any
 * value was malformed (cfg->active is then false and cfg->why says why). */
int shim_cfg_load(struct shim_cfg *cfg) __attribute__((warn_unused_result));
static inline bool shim_cfg_port(const struct shim_cfg *c, uint16_t port)
{
	return (c->ports[port >> 3] >> (port & 7)) & 1;
}

/* ---- logging (log.c) ------------------------------------------------- */

/* One line to stderr: "xskshim[pid]: level: subsys: message".  Never to
 * stdout, never allocates, safe in any thread. */
void shim_log(enum shim_log_lvl lvl, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same line format, never filtered (XSKSHIM_STATS output). */
void shim_log_always(const char *subsys, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void shim_log_libs_init(void);   /* route libbpf/libxdp output through shim_log */
/* Hold libbpf/libxdp output of this thread; release prints it (show) or
 * drops it.  Not nested. */
void shim_log_hold(void);
void shim_log_release(bool show);
/* shim_log with a va_list (the control plane's log hook). */
void shim_vlog_list(enum shim_log_lvl lvl, const char *subsys, const char *fmt, va_list ap);

/* ---- sockets (sock.c) ------------------------------------------------ */

struct shim_ops;

/* Wanted control messages (set through setsockopt). */
enum {
	SHIM_CMSG_PKTINFO   = 1u << 0,
	SHIM_CMSG_PKTINFO6  = 1u << 1,
	SHIM_CMSG_TS        = 1u << 2,  /* SOCK_RCVTSTAMP: a timestamp at all   */
	SHIM_CMSG_TSNS      = 1u << 3,  /* SOCK_RCVTSTAMPNS: ... as a timespec  */
	SHIM_CMSG_TOS       = 1u << 4,
	SHIM_CMSG_TCLASS    = 1u << 5,
	SHIM_CMSG_TTL       = 1u << 6,
	SHIM_CMSG_HOPLIMIT  = 1u << 7,
	SHIM_CMSG_TSING     = 1u << 8,  /* SO_TIMESTAMPING: SCM_TIMESTAMPING ts[0] */
	SHIM_CMSG_OVFL      = 1u << 9,  /* SO_RXQ_OVFL                         */
	SHIM_CMSG_ORIGDST   = 1u << 10, /* IP_RECVORIGDSTADDR                  */
	SHIM_CMSG_ORIGDST6  = 1u << 11, /* IPV6_RECVORIGDSTADDR                */
	SHIM_CMSG_GRO       = 1u << 12, /* UDP_GRO: coalesce, UDP_GRO cmsg     */
};
/* Every bit that needs the clock read per batch. */
#define SHIM_CMSG_CLOCK (SHIM_CMSG_TS | SHIM_CMSG_TSING)

/* Per-socket receive state, in memory shared across fork (ring_shm_alloc,
 * one page, kept for the shim_sock's life in the process that allocated
 * it).  Everything here is under `lock` (a ring_lock: robust to a holder
 * killed mid-batch).  On a takeover the taker repairs (shim_rx_repair):
 * entries the dead reader peeked but never released are readable again (its
 * buffers died with it, so nothing is delivered twice to a live process);
 * frames it released but had not yet returned to the fill ring go back to
 * the UMEM (ring.h "Dead holders").  xseq/ep_* are single words, each stored once: at worst one
 * batch's ordering against a spill episode is off.  live/gen say whether
 * the socket's rings may still be read: live drops to 0 when any process
 * tears the socket down or demotes it, gen changes when the owner reuses
 * the page for another socket; a reader checks both under the lock. */
struct shim_rx {
	uint64_t  lock;
	uint32_t  gen;
	uint32_t  live;
	uint64_t  repairs;          /* locks taken over from a dead holder */
	char      why[160];         /* why it is no longer live */
	/* per queue slot of xsk[] (recv.c shim_spill_take): frames taken off
	 * the rx ring in the XDP program's seq numbering, datagrams of the
	 * current spill episode delivered, and when the wait for its missing
	 * ones began */
	uint64_t  xseq[XSKSHIM_QUEUE_MAX];
	uint64_t  ep_done[XSKSHIM_QUEUE_MAX];
	int64_t   ep_wait[XSKSHIM_QUEUE_MAX];
	bool      ep_met[XSKSHIM_QUEUE_MAX];  /* the current episode was looked at */
	uint32_t  kdrops_seen;      /* the kernel socket's sk_drops when last read */
	/* transmit (send.c), shared so that fork children send too: one
	 * sender at a time in any process (the tx rings have one producer;
	 * a ring_lock, its takeover repair drops descriptors reserved but
	 * not posted), the IPv4 ID of a connected socket (the kernel's is
	 * per socket), and a count of setsockopt calls in any process (a
	 * sender re-reads the options when it moved) */
	uint64_t  tx_lock;
	uint32_t  tx_opts_gen;
	uint16_t  tx_conn_id;
	/* readiness (ready.c): counts, in any process, what may take a
	 * readiness bit of the kernel socket away without waking it (a send
	 * may take EPOLLOUT, setsockopt SO_SNDBUF too, connect), so that a
	 * cached kernel-socket mask is known stale */
	uint32_t  kstate_gen;
};

struct shim_sock {
	int       refcnt;           /* atomic */
	int       domain;
	int       fd_first;         /* fd it was created as (for messages) */
	const struct shim_ops *ops; /* shim_ops_accel or shim_ops_kernel (atomic) */
	char      why[160];         /* why not accelerated (state KERNEL) */
	char      cmsg_kernel_why[80]; /* an option only the kernel path honours */
	bool      nonblock;         /* O_NONBLOCK of the open file description */
	bool      v6only;
	uint16_t  port;             /* bound port, host order; 0 if unbound */
	struct ctl_bind b;          /* its binding to AF_XDP (control plane,
				     * ctl.h): slot, AF_XDP sockets b.xsk[b.q_cnt] */
	struct shim_rx *rx;         /* shared receive state (rx_local until accelerated) */
	uint32_t  rx_gen;           /* rx->gen when this socket took rx */
	int       rx_pid;           /* process that allocated rx (only it reuses it) */
	bool      stale;            /* demoted by another process; handles not yet dropped */
	bool      requeue;          /* the demotion under way hands the datagrams
				     * on its rings to the kernel socket (exec) */
	uint32_t  rq_sent, rq_lost; /* what that did */
	int       rq_err;
	uint32_t  q_next;           /* round-robin start queue */
	uint32_t  kern_tick;
	bool      kern_hint;        /* the kernel socket may have data: set by
				     * readiness results and spills, cleared on EAGAIN */
	uint32_t  cmsg;             /* SHIM_CMSG_* wanted */
	uint32_t  tsflags;          /* SO_TIMESTAMPING flags as last set */
	bool      recverr;          /* IP_RECVERR or IPV6_RECVERR: sk_err may be
				     * set without connect(), check it per call */
	bool      rp_app;           /* the application attached its own
				     * SO_ATTACH_REUSEPORT_CBPF/EBPF program */
	int       err_pending;      /* an error the kernel socket reported while
				     * datagrams were already gathered: given
				     * out by the next call, as sk_err would be */
	bool      connected;
	/* pending-error check (recv.c shim_sock_error) */
	uint64_t  icmp_seen;        /* icmp_err_seq when last looked at */
	int64_t   icmp_until;       /* ask SO_ERROR on every call until then */
	struct sockaddr_in6 peer;   /* IPv4 peers stored v4-mapped */
	bool      reuseport;        /* SO_REUSEPORT when it was bound */
	struct xskshim_stats_ctr *st;   /* in the shared region, or st_local */
	struct xskshim_stats_ctr st_local;
	struct xskshim_stats_sock *pub; /* our record in the region, or NULL */
	uint32_t  epreg_head;       /* its epoll registrations (ready.c), under shim_g.lock */
	struct shim_tx tx;          /* transmit state (send.c) */
	struct shim_sock *next;     /* all sockets, under shim_g.lock */
	struct shim_rx rx_local;    /* rx of a socket never accelerated here */
};

/* ---- per-socket operations (ops.c) ---------------------------------------
 * Dispatch is fd -> socket -> its ops: the wrappers of SHIM_FD_CALLS (wrap.c)
 * call s->ops->name(s, args...), nothing else.  An accelerated socket has
 * shim_ops_accel (the emulations of recv.c); a tracked socket on the kernel
 * path has shim_ops_kernel (the real call, its datagrams counted).  Moving a
 * socket between the paths is one release store of its ops pointer
 * (shim_sock_ops_set, under shim_g.lock and the socket's rx lock); both
 * tables are generated from the one list in syms.h. */
struct shim_ops {
#define SHIM_OPS_MEMBER(ret, name, params, args, fd, kind) ret (*name)(struct shim_sock *s, SHIM_UNPAREN params);
	SHIM_FD_CALLS(SHIM_OPS_MEMBER)
#undef SHIM_OPS_MEMBER
};
extern const struct shim_ops shim_ops_accel;
extern const struct shim_ops shim_ops_kernel;
extern const struct shim_ops shim_ops_adopt;   /* inherited bound: accelerated at its first receive */

/* Inherited sockets (sock.c): shim_adopt_scan at start tracks the program's
 * inherited UDP sockets bound to a configured port with shim_ops_adopt;
 * shim_sock_adopt (takes shim_g.lock) accelerates one as a bind would
 * have, once. */
void shim_adopt_scan(void);
void shim_sock_adopt(struct shim_sock *s, int fd);

static inline bool shim_sock_accel(const struct shim_sock *s)
{
	return __atomic_load_n(&s->ops, __ATOMIC_ACQUIRE) == &shim_ops_accel;
}

static inline void shim_sock_ops_set(struct shim_sock *s, const struct shim_ops *ops)
{
	__atomic_store_n(&s->ops, ops, __ATOMIC_RELEASE);
}

/* Global state; fields documented where used.  What a fork child writes
 * (the fork handler, and _exit's report) comes first, in one cache line
 * (shim_g is aligned to it): one copy-on-write page fault per fork, not
 * one per field's page. */
struct shim_glob {
	pthread_mutex_t lock;       /* control plane */
	pid_t    pid;               /* of this process (set at init and in a fork child) */
	int      inited;            /* 0 no, 1 yes */
	bool     forked;            /* a fork child that inherited an install: not
				     * its owner (no new AF_XDP sockets, no uninstall) */
	bool     child;             /* a fork child (inherited an install or not) */
	bool     cfg_rejected;      /* shim_cfg_load failed: cfg.why says why */
	bool     exiting;           /* destructor ran: change nothing any more */
	int      exit_done;         /* the exit report ran (exit.c) */
	struct shim_sock **fds;     /* SHIM_FD_MAX entries, NULL if not tracked */
	struct shim_sock *socks;    /* every live shim_sock */
	uint32_t accel_cnt;         /* sockets in state ACCEL */
	struct shim_cfg cfg;
	bool     decision_logged;
};
extern struct shim_glob shim_g;

void shim_init(void);                          /* idempotent, thread safe */
/* Take a reference on fd's socket if it is ACCELERATED; NULL otherwise. */
struct shim_sock *shim_sock_get(int fd);
/* Same, for any tracked UDP socket. */
struct shim_sock *shim_sock_get_any(int fd);
void shim_fd_walk(void (*fn)(int fd, void *arg), void *arg);   /* every open fd of the process (sock.c) */
void shim_sock_put(struct shim_sock *s);
void shim_sock_demote_all(const char *why);     /* lock held */
void shim_sock_demote(struct shim_sock *s, const char *why);   /* in every process; lock held */
/* exec (wrap.c's exec wrappers, before the real call): a
 * new program image cannot read AF_XDP, so every accelerated socket whose
 * fd stays open across the exec (no FD_CLOEXEC) moves to the kernel path
 * in every process, and the datagrams on its rings go to its kernel socket
 * (ctl_bind_kill_requeue), where that image will read them - when the image
 * is one that reads it: the socket is its fd 0, 1 or 2 (inetd's wait=yes
 * datagram services: the daemon, or a fork child of it, leaves the socket
 * to it), or one of LISTEN_FDS in its environment (envp, or environ when
 * NULL), or the exec ends the socket's acceleration anyway (the owner, no
 * other process holding it).  A helper that merely inherits an fd leaves
 * it accelerated for its readers.  One line per socket says so.
 * Not in a vfork child (our memory, not our process), nor for posix_spawn
 * (syms.h says why). */
void shim_on_exec(const char *prog, char *const *envp);
/* Whether s's rings may be read (rx lock held): no process tore the socket
 * down or demoted it since it was set up. */
static inline bool shim_rx_valid(const struct shim_sock *s)
{
	return s->rx->live && s->rx->gen == s->rx_gen;
}
void shim_rx_repair(struct shim_sock *s, uint64_t dead);   /* recv.c, see struct shim_rx */
/* The per-socket reader lock: one reader of a socket's rx rings at a
 * time, in any process, taken once per batch. */
static inline void shim_rx_lock(struct shim_sock *s)
{
	uint64_t dead = ring_lock_take(&s->rx->lock);

	if (__builtin_expect(dead != 0, 0))
		shim_rx_repair(s, dead);
}

static inline void shim_rx_unlock(struct shim_sock *s)
{
	ring_lock_drop(&s->rx->lock);
}

/* Something may have taken a readiness bit of s's kernel socket away
 * (struct shim_rx kstate_gen): called by every send emulation, setsockopt
 * and connect. */
static inline void shim_kstate_touch(struct shim_sock *s)
{
	__atomic_add_fetch(&s->rx->kstate_gen, 1, __ATOMIC_RELEASE);
}

/* Datagrams a socket received through its kernel socket.  Readers of one
 * socket add to it from inside the rx lock (a spill episode, recv.c) and
 * outside it (the kernel-path pass of a receive call, a kernel-path socket's
 * wrappers), so every update is one atomic add: never `+=`. */
static inline void shim_ctr_kernel_add(struct shim_sock *s, uint64_t n)
{
	__atomic_add_fetch(&s->st->rx_kernel, n, __ATOMIC_RELAXED);
}

/* CLOCK_MONOTONIC in nanoseconds (vDSO, no syscall). */
static inline int64_t shim_now_ns(void)
{
	return ctl_now_ns();
}

static inline bool shim_fd_maybe(int fd)
{
	return fd >= 0 && fd < SHIM_FD_MAX && shim_g.fds &&
	       __atomic_load_n(&shim_g.fds[fd], __ATOMIC_RELAXED) != NULL;
}

/* ---- the control plane (ctl/ctl.h) ------------------------------------
 * The program, UMEMs, slots and groups are the control plane's; a socket's
 * binding to them is s->b.  The interposer calls ctl_* with shim_g.lock
 * held and hears back through the hooks installed by shim_init (sock.c):
 * interface gone (every socket to the kernel path), install changed
 * (statistics), AF_XDP fds leaving (readiness). */

/* Accelerate a freshly bound socket (lock held): its keys and port, the
 * configuration's verdict on them, then ctl_bind_open.  On failure s->why
 * says why and a negative errno is returned (-ENOENT: a port not
 * configured); the socket keeps working on the kernel path. */
int shim_sock_bind_xdp(struct shim_sock *s, int fd);
/* Undo it: the owner closes the binding (ctl_bind_close); a fork child
 * drops its handles, and ends the socket for everyone if it was the last
 * holder or this is a demotion (shim.h "fork").  Lock held. */
void shim_sock_unbind_xdp(struct shim_sock *s, bool closing);
/* The owner closes s while another process still holds it: keep it (its
 * binding: slot, groups, AF_XDP sockets) as an orphan until the others are
 * gone.  True if kept.  Lock held. */
bool shim_sock_orphan(struct shim_sock *s);
void shim_orphans_atfork_child(void);
void shim_sock_connect_xdp(struct shim_sock *s, int fd, bool on);   /* lock held */

/* ---- the end of the process (exit.c) ---------------------------------- */
void shim_exit_init(void);              /* at init: Go notice, terminating-signal hooks */
/* The exit summary, /dev/shm removal and detach, once, from the destructor
 * (SHIM_END_EXIT), _exit/_Exit (SHIM_END_CALL) or a terminating signal
 * (SHIM_END_SIGNAL: only if the lock is free). */
enum shim_end { SHIM_END_EXIT, SHIM_END_CALL, SHIM_END_SIGNAL };
void shim_exit_report(enum shim_end how);

/* ---- privilege drops (priv.c) -----------------------------------------
 * Called by the wrappers of capset and the uid calls (and by syscall() for
 * their numbers) before the real call: if the call takes away a capability
 * the install needs, prepare it (ctl_prepare_drop). */
void shim_priv_capset(cap_user_header_t h, const cap_user_data_t d);
void shim_priv_euid(const char *what, uid_t new_euid);

/* ---- receive (recv.c) --------------------------------------------------
 * Emulations of the receive calls for an accelerated socket.  fd is the fd
 * the application used (a dup may differ from fd_first).  Return values and
 * errno exactly as the kernel call. */
int     shim_recvmmsg(struct shim_sock *s, int fd, struct mmsghdr *v, unsigned int n, int fl,
		      struct timespec *t);
ssize_t shim_recvmsg(struct shim_sock *s, int fd, struct msghdr *m, int fl);
ssize_t shim_recvfrom(struct shim_sock *s, int fd, void *b, size_t l, int fl, struct sockaddr *a,
		      socklen_t *al);
ssize_t shim_recv(struct shim_sock *s, int fd, void *b, size_t l, int fl);
ssize_t shim_read(struct shim_sock *s, int fd, void *b, size_t l);
ssize_t shim_readv(struct shim_sock *s, int fd, const struct iovec *iov, int cnt);
ssize_t shim___recv_chk(struct shim_sock *s, int fd, void *b, size_t l, size_t bl, int fl);
ssize_t shim___recvfrom_chk(struct shim_sock *s, int fd, void *b, size_t l, size_t bl, int fl,
			    struct sockaddr *a, socklen_t *al);
ssize_t shim___read_chk(struct shim_sock *s, int fd, void *b, size_t l, size_t bl);
int     shim_connect(struct shim_sock *s, int fd, const struct sockaddr *a, socklen_t al);
/* send.c: transmit emulations (XSKSHIM_TX=on; pass through when off) */
ssize_t shim_sendto(struct shim_sock *s, int fd, const void *b, size_t l, int fl, const struct sockaddr *a,
		    socklen_t al);
ssize_t shim_sendmsg(struct shim_sock *s, int fd, const struct msghdr *m, int fl);
int     shim_sendmmsg(struct shim_sock *s, int fd, struct mmsghdr *v, unsigned int n, int fl);
ssize_t shim_send(struct shim_sock *s, int fd, const void *b, size_t l, int fl);
ssize_t shim_write(struct shim_sock *s, int fd, const void *b, size_t l);
ssize_t shim_writev(struct shim_sock *s, int fd, const struct iovec *iov, int cnt);
/* A pending socket error (sk_err: an ICMP error on a connected or
 * IP_RECVERR socket), consumed and reported as the kernel's sock_error()
 * does: true with errno set.  Receive calls ask it before reading, the
 * AF_XDP send path before sending (the kernel's send would fail with it). */
bool    shim_sock_error(struct shim_sock *s, int fd);
/* Bytes of the next datagram (FIONREAD), from either path. */
int     shim_fionread(struct shim_sock *s, int fd, int *out);
/* Datagrams waiting on the AF_XDP rings (not validated). */
uint32_t shim_xsk_pending(struct shim_sock *s);

/* ---- readiness (ready.c) ---------------------------------------------- */
int shim_poll(struct pollfd *f, nfds_t n, const struct timespec *t, const sigset_t *ss, bool is_ppoll,
	      int ms);
int shim_select(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t, const sigset_t *ss,
		struct timeval *tv_update);
int shim_epoll_ctl(int ep, int op, int fd, struct epoll_event *e);
int shim_epoll_wait(int ep, struct epoll_event *e, int n, const struct timespec *t, const sigset_t *ss,
		    int ms, int which);
/* epoll registrations of a socket (ready.c), lock held: it became
 * accelerated (registrations for input move to inner sets holding its
 * AF_XDP fds), its AF_XDP sockets are about to go (out of those sets), its
 * last fd was closed (registrations freed). */
void shim_ready_accel(struct shim_sock *s);
void shim_ready_forget(struct shim_sock *s);
void shim_ready_sock_gone(struct shim_sock *s);

/* ---- statistics (stats.c) --------------------------------------------
 * The region layout is in stats.h.  All under shim_g.lock except
 * shim_stats_exit (destructor). */
void shim_stats_sock_publish(struct shim_sock *s);  /* (re)write identity, attach counters */
void shim_stats_sock_unpublish(struct shim_sock *s);
void shim_stats_sock_retire(const struct shim_sock *s, bool was_accel);  /* keep for the summary */
void shim_stats_global_publish(void);       /* iface, mode, map ids */
void shim_stats_exit(void);                 /* XSKSHIM_STATS=1 summary on stderr */
void shim_stats_fini(void);                 /* unmap and unlink (exit), or unmap (fork child) */
void shim_stats_owner(uid_t uid);           /* the region follows an effective uid switch */
void shim_stats_atfork_child(void);         /* the child's counters start at zero */
void shim_sock_recycle(struct shim_sock *s);   /* a reaped orphan (lock held) */

#endif /* XSKSHIM_SHIM_H */
