/* xskshim_bpf.h - the contract between the XDP program (bpf/xskshim.bpf.c)
 * and user space (shim/ and tests/).
 *
 * Design note
 * -----------
 * The XDP program matches UDP datagrams by (family, destination address,
 * destination port) in the `ports` hash map.  A match yields a socket group:
 * up to XSKSHIM_GROUP_MAX socket slots (an SO_REUSEPORT group has several,
 * an ordinary socket one).  The program picks one slot by a flow hash of the
 * source address and port, so each flow stays on one socket, and redirects
 * into the XSKMAP `xsks` at index  slot * XSKSHIM_QUEUE_MAX + rx_queue_index.
 * Each application socket therefore owns one AF_XDP socket per RX queue and
 * the kernel wakes exactly the socket the packet is for.
 *
 * bpf_redirect_map() is called with XDP_PASS as the fallback action: an empty
 * XSKMAP slot (a queue without an AF_XDP socket, a socket being torn down)
 * hands the packet to the kernel stack, never to a black hole.
 *
 * Lookup order: the exact bound address first, then the wildcard (all-zero
 * address) entry of the same family.  A dual-stack IPv6 socket bound to ::
 * installs both a family-6 and a family-4 wildcard entry.
 *
 * Everything the program does not fully understand - non-IP, non-UDP, IPv4
 * fragments or options, IPv6 extension headers, truncated headers, unknown
 * ports - returns XDP_PASS and bumps a per-CPU reason counter in `ctrs`.
 *
 * Principle: redirect only what the kernel itself would deliver to the
 * bound socket; everything else is XDP_PASSed, so the kernel drops or
 * delivers it exactly as without the shim (the shim reads the kernel
 * socket too).  XDP_PASS is therefore always safe, merely slower: where
 * the kernel's decision is hard to reproduce, the program passes.  Beyond
 * the parsing rules above, a matched datagram is passed when
 *   - its source is martian (IPv4 0/8 - but 0.0.0.0 to 255.255.255.255
 *     is fine, DHCP -, 127/8, 224/4, 255.255.255.255; IPv6 ::1, ff00::/8)
 *     or its destination is (IPv4 0/8, 127/8; IPv6 ::, ::1), except that
 *     loopback addresses are fine on the loopback device (ingress ifindex
 *     1, which the kernel guarantees for `lo` in every namespace); also an
 *     IPv6 source :: (the kernel delivers that, the program leaves it to
 *     the kernel); also, with XSKSHIM_CFG_CHECK_LOCAL and not on `lo`, an
 *     IPv4 source that is one of the fast_local4 addresses (the XDP
 *     interface's own: the kernel's fib_validate_source drops it unless
 *     accept_local): pass_martian;
 *   - its destination is multicast (224/4, ff00::/8): the kernel's group
 *     membership is not emulated: pass_mcast;
 *   - XSKSHIM_CFG_CHECK_LOCAL is set, it matched the WILDCARD entry, did
 *     not arrive on `lo`, and its destination is neither 255.255.255.255
 *     nor in the `locals` map: pass_not_local.  A broadcast destination
 *     (255.255.255.255 or a XSKSHIM_LOCAL_BCAST entry) for a group of more
 *     than one socket is pass_mcast: the kernel gives every member a copy.
 * Exact-address entries skip the locality check: the bound address pins
 * the destination.  And before any parsing of IP, when configured:
 *   - XSKSHIM_CFG_CHECK_MAC: a unicast destination MAC other than cfg_mac
 *     (the kernel's PACKET_OTHERHOST): pass_other_host;
 *   - XSKSHIM_CFG_CHECK_VLAN: a VLAN tag with a non-zero VID is accepted
 *     only if it is the first such tag, is 802.1Q, and its VID is set in
 *     cfg_vlan_ids (a VLAN device of the interface); else pass_other_host.
 *
 * Not emulated (the program may redirect what the kernel would drop, or
 * deliver differently): reverse-path filtering (rp_filter 1/2), an IPv4
 * source that is an own address of another interface than the XDP one, or
 * one of more than XSKSHIM_FAST_LOCALS own addresses (a martian to the
 * kernel; checking every packet's source in `locals` would cost an LPM
 * lookup per packet), drop_unicast_in_l2_multicast,
 * route_localnet, VLAN devices with a MAC of their own or nested deeper
 * than one level, VLAN tags the NIC strips before XDP, the per-interface
 * scope of IPv6 link-local destinations, the kernel's choice of
 * SO_REUSEPORT member, and - without XSKSHIM_CFG_CHECK_LOCAL - subnet
 * broadcasts to a SO_REUSEPORT group (one member gets them, not all).
 *
 * Why `locals` and not bpf_fib_lookup(): on Linux 6.18 the helper returns
 * BPF_FIB_LKUP_RET_FWD_DISABLED for every destination unless forwarding
 * is enabled on the ingress device (the default is off), and even with
 * forwarding on, BPF_FIB_LKUP_RET_NOT_FWDED also covers destinations
 * without any route and 127/8 from the wire, which the kernel drops.
 * Measured with BPF_PROG_TEST_RUN on veth in a namespace.
 *
 * Load-time configuration lives in .rodata (see the "Configuration" block
 * below): user space sets skel->rodata->cfg_flags, cfg_mac, cfg_vlan_ids
 * between xskshim__open() and xskshim__load().  With cfg_flags 0 none of
 * the configured checks run (the verifier removes them as dead code).
 *
 * Ownership: user space creates and fills every map; the program only reads
 * `ports`/`xsks`/`locals` and increments `ctrs`.  Map values are replaced
 * whole with bpf_map_update_elem(), which the kernel publishes atomically
 * (RCU), so the program never sees a half-written group.
 *
 * This header is included by both BPF and user-space code, so it only uses
 * linux/types.h.
 */
#ifndef XSKSHIM_BPF_H
#define XSKSHIM_BPF_H

#include <linux/types.h>

#define XSKSHIM_QUEUE_MAX   64u   /* RX queues per interface we can serve   */
#define XSKSHIM_SLOT_MAX    256u  /* accelerated sockets per process        */
#define XSKSHIM_GROUP_MAX   16u   /* sockets in one SO_REUSEPORT group      */
#define XSKSHIM_PORTS_MAX   1024u /* entries in the ports map               */
#define XSKSHIM_XSKMAP_SZ   (XSKSHIM_SLOT_MAX * XSKSHIM_QUEUE_MAX)
#define XSKSHIM_PROG_NAME   "xskshim_xdp"
#define XSKSHIM_LOCALS_MAX  4096u /* entries in the locals LPM trie         */

/* Key of the ports map.  addr is all zero for a wildcard bind.  For family 4
 * only addr[0..3] is used (network order) and addr[4..15] must be zero. */
struct xskshim_port_key {
	__u8  family;   /* 4 or 6 */
	__u8  pad;
	__u16 port;     /* network byte order */
	__u8  addr[16];
};

struct xskshim_port_val {
	__u32 slot_cnt;                     /* 1..XSKSHIM_GROUP_MAX */
	__u32 slots[XSKSHIM_GROUP_MAX];     /* socket slot numbers   */
};

/* ---- Configuration (.rodata of the program, fixed at load) -------------
 *
 *   const volatile __u32 cfg_flags;          XSKSHIM_CFG_* bits, default 0
 *   const volatile __u8  cfg_mac[6];         the interface's MAC address
 *   const volatile __u64 cfg_vlan_ids[64];   bit v (word v/64, bit v%64):
 *                                            an 802.1Q VLAN device with
 *                                            VID v sits on the interface
 *   const volatile __u32 cfg_spill_nq;       rx queues with spill records
 *                                            (struct xskshim_spill)
 *
 * Set them on the opened skeleton before loading:
 *   skel = xskshim__open();
 *   skel->rodata->cfg_flags = XSKSHIM_CFG_CHECK_MAC | ...;
 *   memcpy(skel->rodata->cfg_mac, mac, 6);
 *   skel->rodata->cfg_vlan_ids[vid / 64] |= 1ull << (vid % 64);
 *   xskshim__load(skel);
 * They cannot change afterwards (a new MAC needs a reload; until then
 * everything addressed to it is pass_other_host: slow, never lost).
 */
#define XSKSHIM_CFG_CHECK_MAC   (1u << 0)  /* unicast dst MAC must be cfg_mac  */
#define XSKSHIM_CFG_CHECK_LOCAL (1u << 1)  /* wildcard: dst must be in locals  */
#define XSKSHIM_CFG_CHECK_VLAN  (1u << 2)  /* tagged: VID must be in cfg_vlan_ids */

/* Key of the `locals` map (BPF_MAP_TYPE_LPM_TRIE, BPF_F_NO_PREALLOC): the
 * destinations the kernel delivers locally, i.e. what its local routing
 * table holds (`ip route show table local`: type local, broadcast, and for
 * IPv6 anycast).  prefixlen counts the family byte too: 8 + the address
 * prefix (198.18.0.2/32 -> 40, 127.0.0.0/8 -> 16, 2001:2::2/128 -> 136).
 * For family 4, addr[0..3] holds the address (network order) and the rest
 * is zero; pad is never compared.  Weak host model: the addresses of every
 * interface of the namespace, not only of the XDP interface. */
struct xskshim_local_key {
	__u32 prefixlen;
	__u8  family;   /* 4 or 6 */
	__u8  addr[16];
	__u8  pad[3];
};
#define XSKSHIM_LOCAL_PREFIXLEN(plen) (8u + (plen))   /* key.prefixlen for an address prefix */

/* Value of the `locals` map (__u32). */
#define XSKSHIM_LOCAL_ADDR  1u   /* a local (or IPv6 anycast) address      */
#define XSKSHIM_LOCAL_BCAST 2u   /* an IPv4 broadcast address              */

/* Connected sockets (BPF_MAP_TYPE_HASH `conns`, value: __u32 socket slot).
 * The kernel prefers a socket connected to the datagram's source over the
 * unconnected sockets of the port, so this exact 4-tuple lookup comes first;
 * a connected socket is taken out of its port's group.  Addresses and ports
 * in network order; family 4 uses bytes 0..3 of the addresses, the rest
 * zero.  The program looks only while the .bss counter conn_cnt (written by
 * user space through the skeleton's mmapped bss) is non-zero. */
struct xskshim_conn_key {
	__u8  family;   /* 4 or 6 */
	__u8  pad;
	__u16 sport;    /* the peer's port */
	__u16 dport;    /* our port */
	__u16 pad2;
	__u8  saddr[16];  /* the peer's address */
	__u8  daddr[16];  /* our address */
};
#define XSKSHIM_CONNS_MAX 4096u

/* .bss fast path of the locality check: fast_local4[] (network order) and
 * fast_local6[][2] (the address as two 64-bit loads) hold up to this many of
 * the XDP interface's own addresses, each also in `locals`; a destination
 * found there skips the LPM lookup.  Written by user space (mmapped bss). */
#define XSKSHIM_FAST_LOCALS 4

/* ICMP errors seen on the interface (.bss `icmp_err_seq`, atomic add by the
 * program, read by user space): ICMPv4 destination unreachable, source
 * quench, redirect, time exceeded, parameter problem; ICMPv6 types below
 * 128.  Such a message is what sets a connected UDP socket's pending error
 * (sk_err) in the stack right after the program passed it, so a connected
 * socket's receive asks the kernel (SO_ERROR) only after this moved. */

/* Fill budget of one rx queue (.bss `budget[XSKSHIM_QUEUE_MAX]`).
 *
 * In copy mode the kernel copies a redirected frame into a buffer it takes
 * from the queue's fill ring; with none left it drops the frame.  So that a
 * shallow fill ring (a small, cache-hot working set) never costs a datagram
 * the kernel socket would have queued, the program counts the frames it
 * redirects into the queue's AF_XDP sockets (`used`) and, once `used`
 * reaches `limit`, passes the queue's matching datagrams to the kernel
 * stack instead (`spilled`, counter pass_spill), where the application's
 * own socket and its SO_RCVBUF take them; the shim reads both paths.
 * User space keeps `limit` = frames it has ever posted to the fill ring
 * (plus a base) minus a safety margin for concurrent CPUs, raising it after
 * every refill.  The rx rings hold every frame of the UMEM, so they cannot
 * overflow first.  limit 0: no budget (zero-copy mode, where the driver
 * takes fill buffers before the program runs).  Each field has its own
 * cache line: `used` is written per packet, `limit` per batch by the reader,
 * `spilled` only under overload. */
struct xskshim_budget {
	__u64 used;      /* program: frames redirected (atomic add) */
	__u64 pad0[7];
	__u64 spilled;   /* program: datagrams passed instead (atomic add) */
	__u64 pad1[7];
	__u64 limit;     /* user space: used may not pass it; 0: unlimited */
	__u64 pad2[7];
};

/* Spill episodes of one AF_XDP socket, so the shim can deliver the two
 * paths in arrival order.  The records are the BPF_F_MMAPABLE array map
 * `spills`, one per socket slot and rx queue at  slot * cfg_spill_nq +
 * queue.  Before the load user space sets the .rodata cfg_spill_nq to the
 * interface's rx queue count and max_entries to XSKSHIM_SLOT_MAX times that
 * (the defaults, XSKSHIM_QUEUE_MAX and XSKSHIM_XSKMAP_SZ, index it like the
 * XSKMAP), then mmaps it.  The mapping's page table entries are copied into
 * every fork child, so it is no larger than the queues need: 32 KiB per
 * queue instead of a fixed 2 MiB.  A queue at or above cfg_spill_nq (added
 * after the load) has no record, and no AF_XDP socket either: passed, no_xsk.  `seq` counts the frames redirected into the socket.  When
 * the queue's budget is spent the program opens an episode - ep[head % 2]
 * = { seq now, 0 }, then head++ - and passes datagrams (cnt++) until the
 * budget allows a redirect again, which closes it (open = 0).  The reader
 * delivers its AF_XDP frames up to seq `start`, then `cnt` datagrams from
 * its kernel socket, then moves on (tail++).  With XSKSHIM_SPILL_EPS
 * episodes unread (head - tail) the program keeps the open one open rather
 * than start another, so it never overwrites one.  head/open/ep/seq are
 * the program's; tail is the reader's.  A reader that reaches an episode
 * long after it began was away (not reading) and deepens the fill ring. */
#define XSKSHIM_SPILL_EPS 2
struct xskshim_spill_ep {
	__u64 start;   /* seq when the episode began */
	__u32 cnt;     /* datagrams passed to the kernel in it (atomic add) */
	__u32 t_open;  /* when it began: CLOCK_MONOTONIC in us, wrapping */
};
struct xskshim_spill {
	__u64 seq;     /* frames redirected into this socket (atomic add) */
	__u64 pad0[7]; /* seq changes per packet: the rest, which the reader
			* checks per call, stays off its cache line */
	__u32 head;    /* episodes begun */
	__u32 open;    /* the latest episode is still open */
	__u32 tail;    /* user space: episodes delivered */
	__u32 pad;
	struct xskshim_spill_ep ep[XSKSHIM_SPILL_EPS];
	__u64 pad1[2];
};

/* The longest frame a UMEM frame holds: the 2048-byte frame minus the
 * kernel's XDP_PACKET_HEADROOM (256).  Longer frames (jumbo MTU) would be
 * dropped by the kernel on redirect, so the program passes them. */
#define XSKSHIM_FRAME_SZ      2048u
#define XSKSHIM_RX_FRAME_MAX  (XSKSHIM_FRAME_SZ - 256u)

/* Per-CPU counters (BPF_MAP_TYPE_PERCPU_ARRAY, one __u64 per reason). */
enum xskshim_ctr {
	XSKSHIM_CTR_REDIRECT = 0,   /* handed to bpf_redirect_map and accepted */
	XSKSHIM_CTR_NO_XSK,         /* matched, but the XSKMAP slot was empty  */
	XSKSHIM_CTR_PASS_NOT_IP,    /* not IPv4/IPv6 (ARP, LLDP, ...)          */
	XSKSHIM_CTR_PASS_NOT_UDP,   /* IP, but not UDP                         */
	XSKSHIM_CTR_PASS_FRAG,      /* IPv4 fragment (first or later)          */
	XSKSHIM_CTR_PASS_IPV6_EXT,  /* IPv6 with extension headers             */
	XSKSHIM_CTR_PASS_TRUNC,     /* frame ends inside a header              */
	XSKSHIM_CTR_PASS_BAD_HDR,   /* IHL < 5, bad version, ...               */
	XSKSHIM_CTR_PASS_NO_PORT,   /* UDP to a port/address not in the map    */
	XSKSHIM_CTR_PASS_QUEUE,     /* rx queue index >= XSKSHIM_QUEUE_MAX     */
	XSKSHIM_CTR_PASS_IP_OPTS,   /* IPv4 with options (IHL > 5)             */
	XSKSHIM_CTR_PASS_OTHER_HOST, /* dst MAC or VLAN not ours (CFG_CHECK_MAC/VLAN) */
	XSKSHIM_CTR_PASS_NOT_LOCAL, /* wildcard match, dst not in `locals`     */
	XSKSHIM_CTR_PASS_MCAST,     /* multicast dst; broadcast to a group > 1 */
	XSKSHIM_CTR_PASS_MARTIAN,   /* martian source or destination address   */
	XSKSHIM_CTR_PASS_SPILL,     /* ours, but the queue's fill budget is spent */
	XSKSHIM_CTR_PASS_TOO_BIG,   /* ours, but longer than a UMEM frame holds */
	XSKSHIM_CTR_CNT
};

#define XSKSHIM_CTR_NAMES                                                   \
	"redirect", "no_xsk", "pass_not_ip", "pass_not_udp", "pass_frag",   \
	"pass_ipv6_ext", "pass_trunc", "pass_bad_hdr", "pass_no_port",      \
	"pass_queue", "pass_ip_opts", "pass_other_host", "pass_not_local",  \
	"pass_mcast", "pass_martian", "pass_spill", "pass_too_big"

/* Flow hash used to pick a member of a socket group.  saddr_fold is the
 * XOR of the source address's 32-bit words (network order as loaded),
 * ports are in network byte order.  Shared so tests can predict it. */
static inline __u32 xskshim_flow_hash(__u32 saddr_fold, __u16 sport, __u16 dport)
{
	__u32 h = saddr_fold ^ (((__u32)sport << 16) | dport);
	h ^= h >> 16;
	h *= 0x7feb352dU;
	h ^= h >> 15;
	h *= 0x846ca68bU;
	h ^= h >> 16;
	return h;
}

#endif /* XSKSHIM_BPF_H */
