/* internal.h - what the files of ctl/ share among themselves (never
 * included outside ctl/; the interface is ctl.h).  All of it is under the
 * control-plane lock (C.lock) unless noted. */
#ifndef XSKSHIM_CTL_INTERNAL_H
#define XSKSHIM_CTL_INTERNAL_H

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <uthash.h>

#include "ctl/ctl.h"
#include "xskshim.skel.h"

#define CTL_XSK_POOL      8    /* idle AF_XDP sockets kept per queue */
#define CTL_BUDGET_MARGIN 32   /* fill frames kept back for CPUs racing the budget check */

/* One SO_REUSEPORT group (or single socket) per ports-map key. */
struct ctl_group {
	struct xskshim_port_key key;
	struct xskshim_port_val val;
	bool   reuseport;           /* its first member had SO_REUSEPORT */
	/* Sockets sharing the port through SO_REUSEADDR only: the kernel gives
	 * every datagram to the most recently bound one, so the map holds just
	 * that one and the others wait here, newest last. */
	uint32_t shared[XSKSHIM_GROUP_MAX];
	uint32_t shared_cnt;
	UT_hash_handle hh;
};

/* The control plane's state (one per process; install.c defines it). */
struct ctl_state {
	struct ctl_cfg cfg;
	struct ctl_hooks hooks;
	pthread_mutex_t *lock;      /* the caller's control-plane lock */
	/* What a fork child writes (ctl_atfork_child, ctl_atexit) is here, in
	 * one cache line: one copy-on-write page fault per fork, not one per
	 * field's page. */
	bool     forked __attribute__((aligned(64)));   /* a fork child: install nothing */
	bool     exiting;           /* the destructor ran: change nothing */
	bool     linger_running;
	int      link_fd;
	struct ctl_watch *watch;    /* the address watch (locals.c), or NULL */
	bool     installed;
	int      ifindex;
	struct xskshim *skel;
	struct xskshim_spill *spill; /* the program's `spills`, mmapped (bind.c ctl_bind_spill) */
	size_t   spill_sz;
	uint32_t spill_nq;          /* rx queues of the interface at load, <= XSKSHIM_QUEUE_MAX */
	const char *mode;           /* "native" or "skb" */
	bool     zerocopy;
	enum ring_csum_mode csum;
	uint32_t q_cnt;             /* queues with a UMEM */
	uint32_t q_ids[XSKSHIM_QUEUE_MAX];
	struct ring_umem *umem[XSKSHIM_QUEUE_MAX]; /* indexed by queue id */
	uint8_t  slots[XSKSHIM_SLOT_MAX / 8];
	struct ctl_group *groups;
	struct ctl_bind *binds;     /* open bindings */
	uint32_t bind_cnt;
	int64_t  linger_deadline;   /* CLOCK_MONOTONIC ns; see ctl_idle */
	uint64_t ctrs_base[XSKSHIM_CTR_CNT]; /* counters of earlier attachments */
	struct ring_xsk *pool[XSKSHIM_QUEUE_MAX][CTL_XSK_POOL]; /* see ctl_pool_put */
	uint32_t pool_cnt[XSKSHIM_QUEUE_MAX];
	struct xdp_statistics closed_xs[XSKSHIM_QUEUE_MAX]; /* of closed bindings */
	bool     pinned;            /* prepared for a privilege drop: kept until exit */
	char     desc[128];
	int      hold_fd;           /* memfd: POSIX read lock on byte `slot` per holder (slots.c) */
	bool     tick_wanted;       /* the interposer keeps orphans: tick it (hooks.tick) */
	/* Forks under way (shared by every process of the install): between
	 * fork() returning in the parent and the child's handler taking its
	 * slot locks, the child holds the bindings without a lock to show it. */
	struct { uint32_t in_flight; int64_t last_ns; } *gate;
};
extern struct ctl_state C;

void ctl_log(enum ctl_log_lvl lvl, const char *subsys, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* caps.c */
const char *ctl_caps_missing(bool bpf, bool net_admin, bool net_raw, bool ipc_lock);
/* iface.c */
int  ctl_ethtool(const char *ifname, void *data);
uint32_t ctl_rx_queue_cnt(const char *ifname);
bool ctl_iface_partial_csum(const char *ifname);
void ctl_prog_configure(void);
/* locals.c */
void ctl_locals_refresh(void);
void ctl_watch_start(void);
void ctl_watch_stop(void);
void ctl_watch_atfork_child(void);
/* install.c */
void ctl_uninstall(void);
/* slots.c */
int  ctl_slot_alloc(void);
void ctl_slot_free(uint32_t slot);
int  ctl_slot_hold(uint32_t slot, short type);
bool ctl_slot_held_elsewhere(uint32_t slot);
int  ctl_group_add(const struct xskshim_port_key *k, uint32_t slot, bool reuseport);
void ctl_group_del(const struct xskshim_port_key *k, uint32_t slot);
bool ctl_rp_app_marked(uint16_t port);
/* bind.c */
void ctl_pool_flush(void);
void ctl_pool_atfork_child(void);
/* facts.c */
int  ctl_ctrs_now(uint64_t out[XSKSHIM_CTR_CNT]);
void ctl_xstats_add(struct xdp_statistics *to, const struct xdp_statistics *x);
void ctl_desc_update(void);

#endif /* XSKSHIM_CTL_INTERNAL_H */
