/* route.h - a mirror of the kernel's routes, links and neighbours for the
 * transmit path (XSKSHIM_TX=on), kept current over rtnetlink.
 *
 * Design note
 * -----------
 * The send path must know, per destination, what the kernel would do with a
 * datagram: which table and route match, through which interface and next
 * hop, with which MTU and preferred source, and which link-layer address the
 * next hop has.  Only when every answer is "simple" (a unicast route of the
 * main table through the XDP interface, a resolved neighbour, default policy
 * rules) may a frame leave through AF_XDP; anything else goes through the
 * kernel, and the answer says why (enum ctl_why).
 *
 * Library: libmnl (Debian libmnl-dev), not libnl-route-3.  We need one dump
 * per object kind and a subscription, both parsed into our own small tables
 * whose layout the lookup wants; libnl-route-3 would keep its own object
 * caches (refcounted, allocated per object, with its own locking and a cache
 * manager thread model) that we would then copy from, and it pulls in libnl-3
 * plus a few hundred KiB into every process we are preloaded into.  libmnl
 * is a thin, allocation-free layer over the wire format (message iteration,
 * attribute validation, request building) - the protocol-level help without
 * a second object model.
 *
 * Objects and lifetimes
 *   struct ctl_tables   the mirrored state: routes of the main and local
 *                       tables (IPv4, IPv6), links, neighbours, whether the
 *                       policy rules are the default ones, and `gen`, bumped
 *                       on every change that can alter a lookup.  Plain data
 *                       owned by its creator; ctl_tables_apply() edits it in
 *                       place from one rtnetlink message (pure: no syscalls,
 *                       unit-tested with built messages).
 *   struct ctl_mirror   a ctl_tables kept current by a thread: it subscribes
 *                       (RTMGRP_IPV4_ROUTE/IPV6_ROUTE/NEIGH/LINK and the rule
 *                       groups), drains what was queued before, dumps links,
 *                       routes, neighbours and rules, then applies events.
 *                       An overflow of the subscription socket (ENOBUFS)
 *                       throws the tables away and dumps again.  Every second
 *                       it confirms the neighbours the send path used since
 *                       the last round with an NTF_USE neighbour update, so
 *                       the kernel keeps entries that only AF_XDP traffic uses
 *                       (it never sees that traffic and would let them go
 *                       stale and be garbage collected).
 *
 * Threads: the tables are changed only by the mirror thread, under
 * ctl_mirror.lock.  Readers (the send path) never take the lock per packet:
 * they cache a lookup result together with the `gen` it was computed at and
 * compare that with ctl_mirror_gen() (one relaxed atomic load); only a cache
 * miss or a changed gen takes the lock for a new lookup - a seqlock whose
 * readers recompute instead of retrying.  Neighbour use marks are a fixed
 * array written with relaxed stores.
 *
 * Syscalls and capabilities: socket(AF_NETLINK) and dumps need none.  The
 * NTF_USE update needs CAP_NET_ADMIN, checked against the credentials the
 * socket was opened with, so ctl_mirror_start() must run while privileged;
 * without it the refresh is skipped (said once) and neighbours used only by
 * AF_XDP may expire, which moves their destinations to the kernel path until
 * the kernel resolves them again.
 *
 * Errors: int functions return 0 or a negative errno.
 */
#ifndef XSKSHIM_CTL_ROUTE_H
#define XSKSHIM_CTL_ROUTE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/netlink.h>

#define CTL_NEIGH_USE_MAX 1024   /* neighbours whose use is tracked */

/* Why a destination takes the kernel path (0: it may use AF_XDP). */
enum ctl_why {
	CTL_XDP = 0,
	CTL_WHY_LOCAL,        /* local or loopback destination (local table) */
	CTL_WHY_MCAST,        /* multicast or broadcast destination */
	CTL_WHY_OTHER_IF,     /* route via another interface, SO_BINDTODEVICE, pktinfo ifindex */
	CTL_WHY_NO_ROUTE,     /* no route, or unreachable/blackhole/prohibit: the kernel's error */
	CTL_WHY_NEIGH,        /* no or unresolved neighbour: the kernel resolves it */
	CTL_WHY_POLICY,       /* policy routing rules beyond the default ones */
	CTL_WHY_OPTIONS,      /* IP options on the socket */
	CTL_WHY_MTU,          /* payload over the route MTU (or over a UMEM frame) */
	CTL_WHY_IFTYPE,       /* VLAN, bond or non-Ethernet interface */
	CTL_WHY_CMSG,         /* a control message or flag not emulated */
	CTL_WHY_LINK_DOWN,    /* the interface is down or has no carrier */
	CTL_WHY_ROUTE,        /* a route the fast path does not model (multipath, ...) */
	CTL_WHY_ADDR,         /* no destination, or one the fast path does not take */
	CTL_WHY_SRC,          /* source address not local / not selectable */
	CTL_WHY_MIRROR,       /* the mirror is not (yet) synchronised */
	CTL_WHY_CNT
};

#define CTL_WHY_NAMES                                                                     \
	"xdp", "local", "mcast", "other_if", "no_route", "neigh", "policy", "ip_options", \
	"mtu", "iftype", "cmsg", "link_down", "route", "addr", "src", "mirror"

struct ctl_route {
	uint8_t  family;       /* AF_INET or AF_INET6 */
	uint8_t  dst_len;
	uint8_t  table;        /* RT_TABLE_MAIN or RT_TABLE_LOCAL */
	uint8_t  type;         /* RTN_* */
	uint8_t  multipath;
	uint8_t  has_gw, has_prefsrc;
	uint8_t  tos;
	uint32_t priority;
	int      oif;
	uint32_t mtu;          /* RTAX_MTU metric, 0: the link's */
	uint32_t hoplimit;     /* RTAX_HOPLIMIT metric, 0: none */
	uint8_t  dst[16];
	uint8_t  gw[16];
	uint8_t  prefsrc[16];
};

struct ctl_link {
	int      ifindex;
	uint32_t flags;        /* IFF_* */
	uint32_t mtu;
	uint16_t type;         /* ARPHRD_* */
	uint8_t  addr_len;
	uint8_t  addr[8];
	int      link;         /* IFLA_LINK (lower device), 0 if none */
	int      master;       /* IFLA_MASTER */
	char     kind[16];     /* IFLA_INFO_KIND: "vlan", "bond", "veth", ... */
};

struct ctl_neigh {
	uint8_t  family;
	int      ifindex;
	uint16_t state;        /* NUD_* */
	uint8_t  flags;
	uint8_t  has_lladdr;
	uint8_t  dst[16];
	uint8_t  lladdr[6];
};

struct ctl_tables {
	struct ctl_route *routes;
	uint32_t route_cnt, route_cap;
	struct ctl_link *links;
	uint32_t link_cnt, link_cap;
	struct ctl_neigh *neighs;
	uint32_t neigh_cnt, neigh_cap;
	uint32_t rules_extra[2];   /* rules beyond the defaults, [0] IPv4, [1] IPv6 */
	uint64_t gen;              /* bumped by every change a lookup can see */
};

/* What a lookup found for one destination (valid for tables->gen). */
struct ctl_path {
	enum ctl_why why;
	int      oif;
	uint32_t mtu;              /* route MTU, else the link's */
	uint32_t hoplimit;         /* the route's RTAX_HOPLIMIT, 0: socket/default */
	bool     has_prefsrc;
	uint8_t  prefsrc[16];
	uint8_t  nexthop[16];      /* gateway or the destination itself */
	uint8_t  src_mac[6];
	uint8_t  dst_mac[6];
	uint16_t neigh_state;
};

void ctl_tables_init(struct ctl_tables *t);
void ctl_tables_free(struct ctl_tables *t);
/* Apply one RTM_{NEW,DEL}{ROUTE,LINK,NEIGH,RULE} message (others are
 * ignored).  Routes of tables other than main and local, and neighbours of
 * interfaces other than xdp_ifindex, are not kept.  Returns 0, or -ENOMEM
 * (the tables are then incomplete: the caller resynchronises), or -EINVAL
 * for a malformed message (ignored). */
int ctl_tables_apply(struct ctl_tables *t, const struct nlmsghdr *nlh, int xdp_ifindex);
/* Decide the path to dst (family AF_INET: 4 bytes, AF_INET6: 16) from the
 * tables, for frames leaving xdp_ifindex.  Pure. */
void ctl_tables_lookup(const struct ctl_tables *t, int family, const uint8_t *dst, int xdp_ifindex,
		       struct ctl_path *out);
/* Whether addr is one of this host's (a local-table RTN_LOCAL route). */
bool ctl_tables_is_local(const struct ctl_tables *t, int family, const uint8_t *addr);
const struct ctl_link *ctl_tables_link(const struct ctl_tables *t, int ifindex);

/* ---- the mirror ------------------------------------------------------- */

struct ctl_neigh_use {
	uint8_t  family;           /* 0: free */
	uint8_t  addr[16];
	uint32_t used;             /* set by senders, cleared by the refresh */
};

struct ctl_mirror {
	pthread_mutex_t lock;      /* tables; taken by lookups on a cache miss */
	struct ctl_tables t;
	int      xdp_ifindex;
	bool     synced;           /* a full dump has been applied */
	uint64_t resyncs;          /* full dumps after start: overflows, link changes, ENOMEM */
	uint64_t overflows;        /* of them: the subscription overflowed (ENOBUFS, events lost) */
	uint64_t neigh_confirms;   /* NTF_USE updates sent */
	uint64_t gen_pub;          /* t.gen as published to readers (atomic) */
	int      ev_fd;            /* subscription socket */
	int      req_fd;           /* dumps and NTF_USE updates */
	int      stop_fd;          /* eventfd: ends the thread */
	uint32_t seq;
	bool     use_denied;       /* NTF_USE got EPERM (said once) */
	bool     running;
	pthread_t thread;
	struct ctl_neigh_use use[CTL_NEIGH_USE_MAX];
};

/* Open the sockets (while privileged), dump everything once synchronously
 * (so the first sends already have answers) and start the thread.  The
 * thread blocks every signal.  Returns 0 or a negative errno. */
int ctl_mirror_start(struct ctl_mirror *m, int xdp_ifindex);
/* Stop the thread, close the sockets, free the tables.  Not concurrent
 * with lookups. */
void ctl_mirror_stop(struct ctl_mirror *m);
/* After fork in the child: the thread did not come along; forget it and
 * close the fds (the memory stays valid but frozen). */
void ctl_mirror_forget(struct ctl_mirror *m);

static inline uint64_t ctl_mirror_gen(const struct ctl_mirror *m)
{
	return __atomic_load_n(&m->gen_pub, __ATOMIC_ACQUIRE);
}

/* Look dst up under the lock; *gen receives the generation the answer is
 * valid for, *use_slot the neighbour-use slot for ctl_mirror_neigh_used
 * (-1 if none).  Thread safe. */
void ctl_mirror_lookup(struct ctl_mirror *m, int family, const uint8_t *dst, struct ctl_path *out,
		       uint64_t *gen, int *use_slot);
bool ctl_mirror_is_local(struct ctl_mirror *m, int family, const uint8_t *addr);

/* Mark a neighbour as used by AF_XDP traffic (cheap; any thread). */
static inline void ctl_mirror_neigh_used(struct ctl_mirror *m, int slot)
{
	if (slot >= 0 && !__atomic_load_n(&m->use[slot].used, __ATOMIC_RELAXED))
		__atomic_store_n(&m->use[slot].used, 1, __ATOMIC_RELAXED);
}

#endif /* XSKSHIM_CTL_ROUTE_H */
