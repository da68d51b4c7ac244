/* send.h - transmit for accelerated sockets through their AF_XDP TX ring
 * (XSKSHIM_TX=on; issue 14).
 *
 * Design note
 * -----------
 * With TX on, sendto/sendmsg/sendmmsg/send/write/writev of an ACCELERATED
 * socket build Ethernet/IP/UDP frames in UMEM frames (ring/tx.c) and post
 * them on the tx ring of one of the socket's AF_XDP sockets (one per queue):
 * the one a hash of the flow picks (shim_tx_queue), as skb_tx_hash picks a
 * device queue without XPS, so a flow never changes queue and flows spread
 * over the queues; its frames come from that queue's UMEM.  The route, next hop and
 * its MAC come from the route/neighbour mirror (ctl/route.h), started at
 * install while the process is still privileged.  The kernel path stays for
 * everything the fast path does not model - per destination and counted by
 * reason (enum ctl_why): the message then goes through the real sendmsg(),
 * which also produces every error a send can return (EMSGSIZE over the MTU
 * with DF, ENETUNREACH without a route, EDESTADDRREQ, EINVAL for a bad
 * UDP_SEGMENT, ...), so error semantics are the kernel's by construction.
 *
 * Per destination: each socket keeps a small direct-mapped cache of
 * destinations (address -> path, MACs, source, MTU), valid while the
 * mirror's generation is unchanged.  A destination therefore changes path
 * only when a route, link, rule or neighbour changed - one flow is not
 * reordered across the two paths by anything else.
 *
 * Emulated as the kernel does (net/ipv4/ip_output.c, udp.c, ipv6/): the
 * source address (pktinfo cmsg, else the socket's bound or connected
 * address, else the route's preferred source, else the kernel's own choice
 * read once per destination through a connected probe socket), TTL/hop
 * limit (IP_TTL/IPV6_UNICAST_HOPS, cmsg, else the route's hoplimit metric,
 * else the default), TOS/traffic class incl. ECN (option and cmsg), DF per
 * IP_MTU_DISCOVER (as __ip_make_skb), the IPv4 ID (connected: a per-socket
 * counter; unconnected with DO/PROBE/INTERFACE: 0; else a per-destination
 * counter), IPv6 automatic flow labels (a per-flow hash),
 * UDP_SEGMENT split into gso_size datagrams, and a pending socket error
 * (an ICMP error on a connected or IP_RECVERR socket: shim_sock_error)
 * failing the send before anything is sent, as sock_error() in the
 * kernel's send - looked at before each message of a sendmmsg, as the
 * kernel does, so an error that comes in during the call ends it with the
 * count so far.
 *
 * Threads and processes: a per-socket ring_lock in the socket's shared
 * receive page (shim_rx.tx_lock, robust to a holder killed mid-send)
 * serialises the senders of one socket in every process that holds it (the
 * tx ring has one producer); it is released while a blocking sender waits
 * for room.  Frames come from the UMEM free stack (ring_umem_tx_alloc,
 * which never starves the fill ring); completions are reaped before every
 * allocation, under the UMEM's fill lock (also a shared ring_lock).  One
 * call is one batch (send.c, struct shim_tx_batch): frames for the rest of
 * its messages taken at once, the frames built posted on the tx ring
 * together, one kick per queue at the end (the kernel's per-kick budget
 * raised to RING_TX_KICK_BUDGET); before the tx lock is let go within a
 * call (a wait for room, a message through the kernel, a look at the
 * socket's error) what is built is posted and kicked and unused frames go
 * back, so nothing is held across it.  A blocking sender that keeps
 * waiting also gives back, every millisecond or so, frames a dead process
 * holds under another socket's lock on the same UMEM (shim_tx_sweep).
 *
 * Fork: children send through AF_XDP too.  The rings, the UMEM and the tx
 * lock are shared; the route mirror's thread does not survive fork, so a
 * child starts its own mirror at its first send (one netlink dump, a few
 * ms; without CAP_NET_ADMIN it cannot confirm neighbours, see route.h) and
 * forgets the parent's destination cache (IPv4 IDs restart from a random
 * value per process and destination, as they are random per destination in
 * the kernel).  The connected socket's IPv4 ID counter and the count of
 * option changes are in the shared page, so parent and child agree.
 *
 * Lifetime: close flushes the socket's tx ring (ring_xsk_tx_flush, bounded)
 * before its AF_XDP sockets go; exit flushes every socket's.
 */
#ifndef XSKSHIM_SHIM_SEND_H
#define XSKSHIM_SHIM_SEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ctl/route.h"

#define SHIM_TX_CACHE 64     /* destinations cached per socket (power of two) */
#define SHIM_TX_BATCH 64     /* frames per post */

struct shim_tx_dest {
	uint8_t  family;         /* AF_INET/AF_INET6; 0: empty */
	uint8_t  addr[16];
	uint64_t gen;            /* mirror generation the answer is for */
	enum ctl_why why;
	uint8_t  src_mac[6], dst_mac[6];
	bool     has_src;        /* src below: route prefsrc or the kernel's choice */
	uint8_t  src[16];
	uint32_t mtu;
	uint32_t hoplimit;       /* route metric, 0: none */
	int      use_slot;       /* ctl_mirror_neigh_used */
	uint16_t ip_id;          /* non-DF IPv4 identification */
	uint32_t txq_hash;       /* picks the queue of its flows (shim_tx_queue) */
};

/* Per-socket transmit state of this process (inside struct shim_sock;
 * zeroed with it); under the socket's tx lock (shim_rx.tx_lock). */
struct shim_tx {
	int      pid;            /* shim_g.pid when opts_ok and dest[] were last
				  * valid: a fork child's first send forgets
				  * them (shim_tx_one), not its fork handler,
				  * which would copy these pages into every
				  * child */
	bool     opts_ok;        /* the fields below are current */
	uint32_t opts_gen;       /* shim_rx.tx_opts_gen they were read at */
	bool     opts_conn;      /* s->connected when they were read */
	bool     ttl_set, hops_set; /* the application set IP_TTL/IPV6_UNICAST_HOPS */
	bool     cork, ip_opts, no_check, autoflow;
	bool     corked;         /* a MSG_MORE send left data pending in the kernel */
	int      bound_if;       /* SO_BINDTODEVICE ifindex, 0: none */
	int      pmtudisc, pmtudisc6, dontfrag6;
	uint8_t  ttl, tos, hops, tclass;
	uint16_t gso;            /* UDP_SEGMENT socket option */
	int64_t  sndtimeo_ns;    /* 0: none */
	bool     has_bound;      /* bound/connected source address (not wildcard) */
	uint8_t  bound4[4], bound6[16];
	struct shim_tx_dest dest[SHIM_TX_CACHE];
};

struct shim_sock;

/* Install/uninstall hooks (ctl_hooks, from ctl/install.c; shim_g.lock held): start the mirror on
 * ifindex when XSKSHIM_TX=on; stop it.  ring_umem_cfg.tx_sz to use. */
void shim_send_install(int ifindex);
void shim_send_uninstall(void);
void shim_send_atfork_child(void);
uint32_t shim_send_tx_ring_sz(void);
/* The socket's tx lock (shim_rx.tx_lock, shared across fork; repairs the
 * tx rings after a takeover from a dead holder). */
void shim_tx_lock(struct shim_sock *s);
void shim_tx_unlock(struct shim_sock *s);
/* Exit: flush every accelerated socket's tx ring (lock held). */
void shim_send_atexit(void);
/* A socket option changed (sock.c): re-read the send-side options. */
void shim_send_sockopt(struct shim_sock *s, int lvl, int opt, const void *v, socklen_t l);
/* Exit summary lines (lock held). */
void shim_send_summary(void);

#endif /* XSKSHIM_SHIM_SEND_H */
