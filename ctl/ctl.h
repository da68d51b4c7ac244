/* ctl.h - the control plane: the XDP program and its maps, interface facts,
 * UMEMs, XSKMAP slots, SO_REUSEPORT groups, the bindings of sockets to
 * them, install/linger/uninstall and the address watch.  Below the
 * interposer (shim/), above the AF_XDP core (ring/) and the program's ABI
 * (bpf/); it never sees the application's socket struct, nor calls into
 * the interposer except through the hooks it was given (struct ctl_hooks).
 *
 * Design note
 * -----------
 * Files, one concern each:
 *   caps.c     which capabilities a failed step lacked (for its message)
 *   iface.c    facts of the interface (queues, driver, MAC, VLANs, hardware
 *              timestamps) and noticing that it went away
 *   locals.c   the namespace's local addresses in the program's maps, and
 *              the thread that follows address changes
 *   install.c  load/attach (one bpf_link), one UMEM per queue, uninstall,
 *              linger, exit, fork
 *   slots.c    XSKMAP slots and port groups (SO_REUSEPORT, SO_REUSEADDR)
 *   bind.c     a socket's binding: its AF_XDP sockets (pooled), its slot,
 *              its groups, its connected 4-tuple
 *   facts.c    what the statistics read: counters, ids, description,
 *              frame accounting
 *
 * Ownership and lifetimes.  ctl owns everything it creates: the skeleton
 * (program, maps, their mmapped .bss and spill records), the bpf_link, the UMEMs and AF_XDP
 * sockets (ring/ objects), the slot bitmap, the group table and the list of
 * open bindings.  A struct ctl_bind is memory of the caller (the shim embeds
 * one per socket) that ctl fills in ctl_bind_open and empties in
 * ctl_bind_close; between the two it is on ctl's list of open bindings,
 * which is what ctl walks (never the caller's sockets).  The install lives
 * from the first ctl_prepare to the linger after the last ctl_bind_close
 * (XSKSHIM_LINGER_MS), the interface's disappearance, or exit.
 *
 * Threads and processes.  Every function runs with the control-plane lock
 * held (the mutex given to ctl_init, owned by the caller) unless it says
 * otherwise; ctl's two threads (linger, address watch) take it themselves.
 * The receive path reads only what a binding's fields point to (rings,
 * spill records) and the counters noted "any thread".  Across fork: the
 * UMEMs and rings are in shared memory (ring/), the program and maps are
 * the kernel's; a child keeps every fd and serves the bindings it
 * inherited, but only the process that attached (the owner) opens
 * bindings, takes slots or changes groups, and uninstalls.  Who holds a
 * binding is kept by the kernel: each holder has a POSIX read lock on byte
 * `slot` of a memfd (slots.c); "am I the last" is a non-blocking write lock
 * on it.
 *
 * Syscalls and capabilities: bpf(2) program load and link create
 * (CAP_BPF or CAP_SYS_ADMIN, and CAP_NET_ADMIN), AF_XDP sockets and UMEM
 * registration (CAP_NET_RAW, CAP_IPC_LOCK or RLIMIT_MEMLOCK), ethtool and
 * netlink (no capability).  Each failure says which capability was missing.
 *
 * Where a change goes: a new program feature or map is bpf/ plus the
 * install or binding step here that fills it; a new fact about the
 * interface is iface.c; how a socket is steered (slots, groups, 4-tuples)
 * is slots.c/bind.c; anything about the application's calls is shim/.
 *
 * Errors: int functions return 0 or a negative errno and write a one-line
 * reason into the caller's `why` buffer.
 */
#ifndef XSKSHIM_CTL_H
#define XSKSHIM_CTL_H

#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bpf/xskshim_bpf.h"
#include "ring/ring.h"

enum ctl_mode { CTL_MODE_AUTO, CTL_MODE_NATIVE, CTL_MODE_SKB };
enum ctl_tri { CTL_AUTO, CTL_ON, CTL_OFF };
enum ctl_log_lvl { CTL_LOG_ERROR, CTL_LOG_WARN, CTL_LOG_INFO, CTL_LOG_DEBUG };

/* What the control plane is told of the configuration (the caller parses
 * it; see shim/config.c for the variables). */
struct ctl_cfg {
	char     iface[IF_NAMESIZE];
	enum ctl_mode mode;
	enum ctl_tri zerocopy;
	enum ctl_tri csum;          /* AUTO: trust veth/lo, verify otherwise */
	bool     queues_all;
	uint64_t queue_mask;        /* when !queues_all */
	uint32_t frames;            /* UMEM frames per queue */
	bool     frames_set;        /* given explicitly: never shrunk to fit */
	uint32_t fill_min;
	bool     fill_min_set;
	uint32_t rx_sz;
	uint32_t batch;
	uint32_t busy_poll_us;
	uint32_t linger_ms;
	uint32_t tx_sz;             /* TX ring per AF_XDP socket (XSKSHIM_TX), 0: none */
};

struct ctl_bind;

/* How the control plane tells the interposer about events.  Called with the
 * lock held (vlog, log_hold/log_release: any thread, any lock state). */
struct ctl_hooks {
	void (*vlog)(enum ctl_log_lvl lvl, const char *subsys, const char *fmt, va_list ap);
	void (*log_hold)(void);            /* hold libbpf/libxdp output of this thread */
	void (*log_release)(bool show);    /* print it (show) or drop it */
	/* the interface went away: close every open binding (ctl_bind_close)
	 * and move its owner to the kernel path, saying `why` */
	void (*iface_gone)(const char *why);
	/* the install changed (attached, detached): republish what depends on it */
	void (*changed)(void);
	/* a binding's AF_XDP fds are about to be pooled or closed: drop any
	 * readiness registration of them */
	void (*xsks_leaving)(struct ctl_bind *b);
	/* installed on ifindex / about to uninstall (the transmit side starts
	 * and stops its route mirror); optional */
	void (*installed)(int ifindex);
	void (*uninstalling)(void);
	/* every 200 ms while ctl_tick_want(true), from the address watch
	 * thread (the interposer's orphans wait for their other holders) */
	void (*tick)(void);
};

/* Once, before anything else (the caller's constructor).  `lock` is the
 * control-plane lock; cfg and hooks are copied. */
void ctl_init(const struct ctl_cfg *cfg, pthread_mutex_t *lock, const struct ctl_hooks *hooks);

/* ---- install (install.c) ------------------------------------------------ */

/* Load and attach the program and create the UMEMs, if not done yet.  0 or
 * -errno with why set (a foreign program on the interface: -EBUSY). */
int  ctl_prepare(char *why, size_t why_sz);
/* No open binding left (or a prepare was not used): uninstall after the
 * linger time unless a binding is opened meanwhile. */
void ctl_idle(void);
/* The process is about to drop the privileges an install needs (setuid,
 * capset, ...): prepare now and fill the AF_XDP socket pool, kept until
 * exit, so binds after the drop can still be accelerated.  Once. */
void ctl_prepare_drop(const char *what);
void ctl_atexit(void);          /* detach now (the destructor); memory stays */
/* fork (see "Threads and processes"): prepare marks a fork under way (a
 * child holds its bindings before it can show it); the child keeps every
 * fd (the data plane is its too), drops the idle pool and holds the slots of
 * the open bindings.  True if it inherited an install: it is then not the
 * owner (adds no binding, never uninstalls). */
void ctl_atfork_prepare(void);
bool ctl_atfork_child(void);
/* The interposer keeps bindings whose owner closed them while another
 * process holds them: tick it (hooks.tick) until it says false. */
void ctl_tick_want(bool want);
/* Whether the installed interface is still there (rate limited, cheap; any
 * thread, lock NOT held).  If not: says so, calls hooks.iface_gone and
 * uninstalls. */
void ctl_check_iface(void);

/* ---- a socket's binding (bind.c) ----------------------------------------- */

struct ctl_bind {
	/* set by the caller before ctl_bind_open */
	bool     v6only;            /* IPV6_V6ONLY of an AF_INET6 socket */
	/* filled by ctl_bind_open; read-only to the caller */
	uint16_t port;              /* bound port, host order */
	bool     reuseport;         /* SO_REUSEPORT when it was bound */
	uint32_t slot;              /* XSKMAP slot */
	uint32_t key_cnt;
	struct xskshim_port_key keys[2];
	uint32_t q_cnt;             /* AF_XDP sockets, one per queue */
	uint32_t rx_sz;             /* rx ring entries of each */
	struct ring_xsk *xsk[XSKSHIM_QUEUE_MAX];
	uint64_t seq0[XSKSHIM_QUEUE_MAX]; /* the program's frame count of each
					   * at open (xskshim_spill.seq) */
	bool     conn_active;       /* steered by its 4-tuple, out of its groups */
	struct xskshim_conn_key conn_key;
	struct ctl_bind *next;      /* ctl's list of open bindings */
	bool     open;
};

/* The port and ports-map keys of a bound fd (getsockname), into b->port and
 * b->keys.  0 or -errno. */
int  ctl_bind_keys(struct ctl_bind *b, int fd);
/* Bind fd's socket to AF_XDP: prepare if needed, a slot, one AF_XDP socket
 * per queue (from the pool when one fits), the XSKMAP entries, its groups.
 * 0, or -errno with why set and b left closed. */
int  ctl_bind_open(struct ctl_bind *b, int fd, char *why, size_t why_sz);
/* Undo ctl_bind_open (the owner); datagrams left on its rings are dropped. */
void ctl_bind_close(struct ctl_bind *b);
/* Whether another process holds b (a fork child, or the parent of this
 * one): kernel-kept POSIX locks on the slot, released at any death. */
bool ctl_bind_held_elsewhere(const struct ctl_bind *b);
/* b's data plane ends for every process: out of the XSKMAP (its datagrams
 * go to the kernel socket), its rings drained.  Any process; idempotent. */
void ctl_bind_kill(struct ctl_bind *b);
/* The same, but the datagrams on its rings are handed to the kernel
 * socket instead of dropped (an exec'd image will read the socket through
 * the kernel): each frame's IP packet is sent unchanged to its local
 * destination through a raw IPPROTO_RAW socket (CAP_NET_RAW), so the
 * kernel delivers it to the socket with the sender's address.  *sent and
 * *lost count them; *err is the errno of the last failure (0 if none). */
void ctl_bind_kill_requeue(struct ctl_bind *b, uint32_t *sent, uint32_t *lost, int *err);
/* A process that is not the owner stops using b: its handles are dropped,
 * nothing shared is changed, its hold on the slot released. */
void ctl_bind_forget(struct ctl_bind *b);
/* connect(): steer peer's 4-tuple to b (ahead of any group) and leave its
 * groups; disconnect: undo, rejoining the groups if `rejoin`. */
void ctl_bind_connect(struct ctl_bind *b, int fd, const struct sockaddr_in6 *peer);
void ctl_bind_disconnect(struct ctl_bind *b, bool rejoin);
/* SO_RCVBUF of fd changed: in zero-copy mode deepen the fill rings. */
void ctl_bind_rcvbuf(int fd);
/* Members of the group of b's first key (0 if none). */
uint32_t ctl_bind_group_size(const struct ctl_bind *b);
/* The spill record of b's AF_XDP socket qi, or NULL without a fill budget
 * (zero-copy).  Valid while b is open; the caller serialises readers. */
struct xskshim_spill *ctl_bind_spill(const struct ctl_bind *b, uint32_t qi);
/* The application attached its own SO_REUSEPORT program to port's group:
 * sockets on it are not bound from now on. */
void ctl_rp_app_mark(uint16_t port);

/* ---- facts (iface.c, facts.c); any thread unless noted --------------------- */

bool ctl_iface_hw_rx_ts(void);                /* hardware rx timestamps? (no lock) */
int  ctl_ifindex(void);
enum ring_csum_mode ctl_csum_mode(void);
/* ICMP errors the program saw (bpf icmp_err_seq); the caller holds the rx
 * lock of an open binding, so the program stays installed. */
uint64_t ctl_icmp_seq(void);
const char *ctl_describe(void);               /* "vb native copy queue 0, csum verify" */
uint32_t ctl_queue_cnt(void);
int  ctl_ctrs(uint64_t out[XSKSHIM_CTR_CNT]); /* the program's counters, all attachments */
int  ctl_ids(uint32_t *prog_id, uint32_t *ctrs_map_id);
/* Frame accounting of queue q (lock held): counters, frames on the fill
 * ring, total, on the rx rings of the open bindings, and their
 * XDP_STATISTICS (closed ones included). */
int  ctl_queue_acct(uint32_t q, struct ring_umem_acct *a, uint32_t *fill_cnt, uint32_t *frame_cnt,
		    uint32_t *rx_cnt, struct xdp_statistics *xs);

/* CLOCK_MONOTONIC in nanoseconds (vDSO, no syscall). */
static inline int64_t ctl_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

#endif /* XSKSHIM_CTL_H */
