// SPDX-License-Identifier: GPL-2.0
/* xskshim.bpf.c - the XDP program: steer UDP datagrams for accelerated
 * sockets into their AF_XDP sockets, pass everything else to the kernel.
 *
 * Design note
 * -----------
 * The contract (maps, counters, flow hash) is in xskshim_bpf.h; this file
 * only implements it.  The program is deliberately conservative: it parses
 * Ethernet, up to two VLAN tags (802.1Q 0x8100 and 802.1ad 0x88a8, in any
 * order), then IPv4 (IHL 5: no options, no fragments) or IPv6 (UDP directly
 * after the fixed header), then the UDP header.  Anything else - and
 * anything it cannot see completely - is XDP_PASSed with a reason counter,
 * so the worst a parsing gap can do is send a packet the slow way, never
 * lose it.  IPv4 options are passed because the kernel validates them
 * (ip_options_compile) and drops malformed ones; nobody here would.
 *
 * Only header presence is checked here.  Lengths and checksums are left to
 * user space (ring_frame_parse), which sees every redirected frame and drops
 * malformed ones as the kernel would; doing it here would cost every packet
 * on the interface, not only ours.
 *
 * Addressing is checked as the kernel does on input, see xskshim_bpf.h:
 * destination MAC and VLAN (when configured) before parsing IP; martian
 * and multicast addresses after a port match (so unrelated traffic pays
 * nothing); locality of the destination for wildcard matches only (when
 * configured: the `locals` LPM trie; exact-address entries pin it).
 *
 * A match picks one member of the socket group by a flow hash of the source
 * address and ports (so a flow sticks to one socket of an SO_REUSEPORT
 * group) and redirects into xsks[slot * XSKSHIM_QUEUE_MAX + rx_queue].  The
 * fallback action of bpf_redirect_map() is XDP_PASS: an empty XSKMAP entry
 * sends the packet to the kernel stack.  So does a spent fill budget (the
 * queue's AF_XDP buffers are all taken: the kernel socket buffers the
 * overflow, see struct xskshim_budget) and a frame longer than a UMEM
 * frame.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xskshim_bpf.h"

/* 802.1Q / 802.1ad tag as it follows the MAC addresses (the outer TPID is
 * eth->h_proto, so a tag here is just TCI + the next ethertype). */
struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

#define VLAN_MAX_DEPTH 2

#ifndef IP_MF
#define IP_MF     0x2000
#define IP_OFFSET 0x1fff
#endif

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XSKSHIM_PORTS_MAX);
	__type(key, struct xskshim_port_key);
	__type(value, struct xskshim_port_val);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XSKSHIM_XSKMAP_SZ);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

/* Destinations the kernel delivers locally (its local routing table), for
 * the XSKSHIM_CFG_CHECK_LOCAL check of wildcard matches.  Value: __u32
 * XSKSHIM_LOCAL_ADDR or XSKSHIM_LOCAL_BCAST. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XSKSHIM_LOCALS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xskshim_local_key);
	__type(value, __u32);
} locals SEC(".maps");

/* Connected sockets: 4-tuple -> slot (see xskshim_bpf.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XSKSHIM_CONNS_MAX);
	__type(key, struct xskshim_conn_key);
	__type(value, __u32);
} conns SEC(".maps");

/* Entries in `conns`; 0 skips the lookup.  Written by user space. */
volatile __u32 conn_cnt = 0;

/* The XDP interface's own addresses (user space keeps them equal to their
 * `locals` entries): the common destination of a wildcard match is found
 * here without the LPM lookup.  Zero entries never match. */
volatile __u32 fast_local4[XSKSHIM_FAST_LOCALS] = {};
volatile __u64 fast_local6[XSKSHIM_FAST_LOCALS][2] = {};

/* Fill budgets per rx queue (xskshim_bpf.h).  User space writes
 * budget[].limit. */
struct xskshim_budget budget[XSKSHIM_QUEUE_MAX] = {};

/* Spill episodes per AF_XDP socket (xskshim_bpf.h): `spills` at
 * slot * cfg_spill_nq + queue, sized and mmapped by user space; user space
 * writes their tail. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XSKSHIM_XSKMAP_SZ);
	__type(key, __u32);
	__type(value, struct xskshim_spill);
} spills SEC(".maps");

/* ICMP errors passed to the stack (xskshim_bpf.h). */
volatile __u64 icmp_err_seq = 0;

static __always_inline void icmp_err_note(const __u8 *type, void *data_end, int v6)
{
	if ((void *)(type + 1) > data_end)
		return;
	if (v6 ? *type < 128 : (*type == 3 || *type == 4 || *type == 5 || *type == 11 || *type == 12))
		__sync_fetch_and_add(&icmp_err_seq, 1);
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XSKSHIM_CTR_CNT);
	__type(key, __u32);
	__type(value, __u64);
} ctrs SEC(".maps");

/* Load-time configuration (.rodata, see xskshim_bpf.h).  The verifier
 * knows these values, so a check whose flag is clear costs nothing. */
const volatile __u32 cfg_flags = 0;
const volatile __u32 cfg_spill_nq = XSKSHIM_QUEUE_MAX;
const volatile __u8  cfg_mac[6] = {};
const volatile __u64 cfg_vlan_ids[64] = {};

#define LOOPBACK_IFINDEX 1   /* `lo`, in every namespace (drivers/net/loopback.c) */

/* Per-CPU, so a plain increment is race free. */
static __always_inline void ctr_inc(__u32 reason)
{
	__u64 *c = bpf_map_lookup_elem(&ctrs, &reason);

	if (c)
		*c += 1;
}

static __always_inline int pass(__u32 reason)
{
	ctr_inc(reason);
	return XDP_PASS;
}

/* IPv6 next-header values that are extension headers (RFC 8200 4, IANA
 * "IPv6 Extension Header Types").  Anything else that is not UDP is simply
 * not UDP. */
static __always_inline int ipv6_is_ext(__u8 nh)
{
	switch (nh) {
	case 0:   /* hop-by-hop options */
	case 43:  /* routing */
	case 44:  /* fragment */
	case 50:  /* ESP */
	case 51:  /* AH */
	case 60:  /* destination options */
	case 135: /* mobility */
	case 139: /* HIP */
	case 140: /* shim6 */
	case 253: /* experimental */
	case 254:
		return 1;
	default:
		return 0;
	}
}

/* eth_type_trans(): a unicast destination MAC other than the interface's
 * makes the frame PACKET_OTHERHOST, which IPv4/IPv6 input drops.  Group
 * addresses (broadcast, multicast) are accepted as the kernel does. */
static __always_inline int mac_other_host(const __u8 *d)
{
	if (d[0] & 1)
		return 0;
	return ((d[0] ^ cfg_mac[0]) | (d[1] ^ cfg_mac[1]) | (d[2] ^ cfg_mac[2]) |
		(d[3] ^ cfg_mac[3]) | (d[4] ^ cfg_mac[4]) | (d[5] ^ cfg_mac[5])) != 0;
}

/* __netif_receive_skb_core(): a tag with a non-zero VID and no VLAN device
 * for it makes the frame PACKET_OTHERHOST; VID 0 (priority tag) is ignored.
 * Only one level of 802.1Q VLAN devices is modelled: a second non-zero
 * VID, or an 802.1ad tag with one, is not ours to judge. */
static __always_inline int vlan_other_host(__be16 tpid, __be16 tci, int *seen)
{
	__u32 vid = bpf_ntohs(tci) & 0xfff;

	if (!vid)
		return 0;
	if (*seen || tpid != bpf_htons(ETH_P_8021Q))
		return 1;
	*seen = 1;
	return !((cfg_vlan_ids[vid >> 6] >> (vid & 63)) & 1);
}

/* ip_route_input_slow(): martian source or destination (host order).
 * 0.0.0.0 -> 255.255.255.255 is limited broadcast input (DHCP), not
 * martian.  On `lo` the kernel does not route input (the skb carries the
 * route it was sent with), so loopback addresses are fine there. */
static __always_inline int ip4_martian(__u32 s, __u32 d, int lo)
{
	if ((s >> 28) == 0xe || s == 0xffffffff)
		return 1;
	if ((s >> 24) == 0 && d != 0xffffffff)
		return 1;
	if ((d >> 24) == 0)
		return 1;
	if (!lo && ((s >> 24) == 127 || (d >> 24) == 127))
		return 1;
	return 0;
}

/* ipv6_rcv(): ::1 as source or destination off `lo`, multicast source.
 * An unspecified destination never is local; an unspecified source the
 * kernel does deliver, but it is left to the kernel all the same. */
static __always_inline int ip6_martian(const struct ipv6hdr *ip6, int lo)
{
	const __u32 *s = ip6->saddr.in6_u.u6_addr32, *d = ip6->daddr.in6_u.u6_addr32;
	__u32 s012 = s[0] | s[1] | s[2], d012 = d[0] | d[1] | d[2];

	if (ip6->saddr.in6_u.u6_addr8[0] == 0xff)
		return 1;
	if (!s012 && (!s[3] || (!lo && s[3] == bpf_htonl(1))))
		return 1;
	if (!d012 && (!d[3] || (!lo && d[3] == bpf_htonl(1))))
		return 1;
	return 0;
}

/* Is the destination in `locals`?  -1: no; 1: a broadcast address; 0: a
 * local address. */
static __always_inline int local_kind(struct xskshim_local_key *lk)
{
	__u32 *kind = bpf_map_lookup_elem(&locals, lk);

	if (!kind)
		return -1;
	return *kind == XSKSHIM_LOCAL_BCAST;
}

static __always_inline int fast_local_v4(__u32 daddr)
{
#pragma unroll
	for (int i = 0; i < XSKSHIM_FAST_LOCALS; i++)
		if (fast_local4[i] && fast_local4[i] == daddr)
			return 1;
	return 0;
}

static __always_inline int fast_local_v6(const struct ipv6hdr *ip6)
{
	__u64 a, b;

	__builtin_memcpy(&a, &ip6->daddr, 8);
	__builtin_memcpy(&b, (const __u8 *)&ip6->daddr + 8, 8);
#pragma unroll
	for (int i = 0; i < XSKSHIM_FAST_LOCALS; i++)
		if ((fast_local6[i][0] | fast_local6[i][1]) && fast_local6[i][0] == a && fast_local6[i][1] == b)
			return 1;
	return 0;
}

#define READ_U32(x) (*(volatile __u32 *)&(x))
#define READ_U64(x) (*(volatile __u64 *)&(x))

static __always_inline long spill_one(struct xskshim_spill *sp, struct xskshim_budget *b)
{
	__sync_fetch_and_add(&sp->ep[(sp->head - 1) & (XSKSHIM_SPILL_EPS - 1)].cnt, 1);
	__sync_fetch_and_add(&b->spilled, 1);
	return pass(XSKSHIM_CTR_PASS_SPILL);
}

/* Redirect into xsks[slot * XSKSHIM_QUEUE_MAX + queue] while the queue's
 * fill budget lasts; past it, pass to the kernel stack (the application's
 * own socket) inside a spill episode; a frame no UMEM frame holds is passed
 * too.  queue < QUEUE_MAX. */
static __always_inline long to_xsk(struct xdp_md *ctx, __u32 slot, __u32 queue)
{
	struct xskshim_budget *b = &budget[queue & (XSKSHIM_QUEUE_MAX - 1)];
	__u32 k = slot * cfg_spill_nq + queue;
	struct xskshim_spill *sp = queue < cfg_spill_nq ? bpf_map_lookup_elem(&spills, &k) : NULL;
	__u64 lim = READ_U64(b->limit);
	int over = lim && READ_U64(b->used) >= lim;
	long ret;

	if (ctx->data_end - ctx->data > XSKSHIM_RX_FRAME_MAX)
		return pass(XSKSHIM_CTR_PASS_TOO_BIG);
	if (!sp) {
		/* a queue added after the load: no AF_XDP socket there either */
		ctr_inc(XSKSHIM_CTR_NO_XSK);
		return XDP_PASS;
	}
	if (sp->open) {
		/* close only with a free episode record for the next one */
		if (over || sp->head - READ_U32(sp->tail) >= XSKSHIM_SPILL_EPS)
			return spill_one(sp, b);
		sp->open = 0;
	} else if (over) {
		__u32 h = sp->head;
		struct xskshim_spill_ep *e = &sp->ep[h & (XSKSHIM_SPILL_EPS - 1)];

		e->start = READ_U64(sp->seq);
		e->cnt = 0;
		e->t_open = (__u32)(bpf_ktime_get_ns() / 1000);
		sp->open = 1;
		asm volatile("" ::: "memory");   /* the record before head */
		READ_U32(sp->head) = h + 1;
		return spill_one(sp, b);
	}
	ret = bpf_redirect_map(&xsks, slot * XSKSHIM_QUEUE_MAX + queue, XDP_PASS);
	if (ret == XDP_REDIRECT) {
		__sync_fetch_and_add(&sp->seq, 1);
		__sync_fetch_and_add(&b->used, 1);
		ctr_inc(XSKSHIM_CTR_REDIRECT);
	} else {
		ctr_inc(XSKSHIM_CTR_NO_XSK);
	}
	return ret;
}

/* The group member of a flow, the one choice both programs make (cnt is
 * val->slot_cnt, checked to be 1..XSKSHIM_GROUP_MAX).  pick < cnt <=
 * XSKSHIM_GROUP_MAX (a power of two), so the mask changes nothing; it is
 * there for the verifier, which does not bound a modulo by a register.  The
 * empty asm hides that knowledge from the compiler, which would otherwise
 * drop the mask as redundant. */
static __always_inline __u32 group_pick(const struct xskshim_port_val *val, __u32 cnt, __u32 fold, __u16 sport,
					__u16 dport)
{
	__u32 pick = xskshim_flow_hash(fold, sport, dport) % cnt;

	asm volatile("" : "+r"(pick));
	pick &= XSKSHIM_GROUP_MAX - 1;
	return val->slots[pick];
}

SEC("xdp")
int xskshim_xdp(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct xskshim_port_key key = {};
	struct xskshim_port_val *val;
	struct ethhdr *eth = data;
	struct iphdr *iph = NULL;
	struct ipv6hdr *ip6 = NULL;
	struct udphdr *udp;
	__u32 saddr_fold, cnt, queue;
	int i, lo, wild = 0, bcast = 0, vlan_seen = 0;
	__be16 proto;
	void *l3;

	if ((void *)(eth + 1) > data_end)
		return pass(XSKSHIM_CTR_PASS_TRUNC);
	if ((cfg_flags & XSKSHIM_CFG_CHECK_MAC) && mac_other_host(eth->h_dest))
		return pass(XSKSHIM_CTR_PASS_OTHER_HOST);
	proto = eth->h_proto;
	l3 = eth + 1;

#pragma unroll
	for (i = 0; i < VLAN_MAX_DEPTH; i++) {
		struct vlan_tag *tag = l3;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(tag + 1) > data_end)
			return pass(XSKSHIM_CTR_PASS_TRUNC);
		if ((cfg_flags & XSKSHIM_CFG_CHECK_VLAN) &&
		    vlan_other_host(proto, tag->tci, &vlan_seen))
			return pass(XSKSHIM_CTR_PASS_OTHER_HOST);
		proto = tag->proto;
		l3 = tag + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		iph = l3;
		if ((void *)(iph + 1) > data_end)
			return pass(XSKSHIM_CTR_PASS_TRUNC);
		if (iph->version != 4 || iph->ihl < 5)
			return pass(XSKSHIM_CTR_PASS_BAD_HDR);
		if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
			return pass(XSKSHIM_CTR_PASS_FRAG);
		if (iph->protocol != IPPROTO_UDP) {
			if (iph->protocol == IPPROTO_ICMP)
				icmp_err_note((const __u8 *)iph + (iph->ihl << 2), data_end, 0);
			return pass(XSKSHIM_CTR_PASS_NOT_UDP);
		}
		if (iph->ihl != 5)
			return pass(XSKSHIM_CTR_PASS_IP_OPTS);
		udp = (void *)(iph + 1);
		if ((void *)(udp + 1) > data_end)
			return pass(XSKSHIM_CTR_PASS_TRUNC);

		key.family = 4;
		__builtin_memcpy(key.addr, &iph->daddr, 4);
		saddr_fold = iph->saddr;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		ip6 = l3;
		if ((void *)(ip6 + 1) > data_end)
			return pass(XSKSHIM_CTR_PASS_TRUNC);
		if (ip6->version != 6)
			return pass(XSKSHIM_CTR_PASS_BAD_HDR);
		if (ip6->nexthdr == IPPROTO_ICMPV6)
			icmp_err_note((const __u8 *)(ip6 + 1), data_end, 1);
		if (ip6->nexthdr != IPPROTO_UDP)
			return pass(ipv6_is_ext(ip6->nexthdr) ? XSKSHIM_CTR_PASS_IPV6_EXT
							      : XSKSHIM_CTR_PASS_NOT_UDP);
		udp = (void *)(ip6 + 1);
		if ((void *)(udp + 1) > data_end)
			return pass(XSKSHIM_CTR_PASS_TRUNC);

		key.family = 6;
		__builtin_memcpy(key.addr, &ip6->daddr, 16);
		saddr_fold = ip6->saddr.in6_u.u6_addr32[0] ^ ip6->saddr.in6_u.u6_addr32[1] ^
			     ip6->saddr.in6_u.u6_addr32[2] ^ ip6->saddr.in6_u.u6_addr32[3];
	} else {
		return pass(XSKSHIM_CTR_PASS_NOT_IP);
	}

	/* A socket connected to this very peer wins, as in the kernel. */
	if (conn_cnt) {
		struct xskshim_conn_key ck = {
			.family = key.family, .sport = udp->source, .dport = udp->dest,
		};
		__u32 *cslot;

		asm volatile("" : "+r"(iph));
		if (iph) {
			__builtin_memcpy(ck.saddr, &iph->saddr, 4);
			__builtin_memcpy(ck.daddr, &iph->daddr, 4);
		} else if (ip6) {
			__builtin_memcpy(ck.saddr, &ip6->saddr, 16);
			__builtin_memcpy(ck.daddr, &ip6->daddr, 16);
		}
		cslot = bpf_map_lookup_elem(&conns, &ck);
		if (cslot) {
			queue = ctx->rx_queue_index;
			if (queue >= XSKSHIM_QUEUE_MAX)
				return pass(XSKSHIM_CTR_PASS_QUEUE);
			return to_xsk(ctx, *cslot, queue);
		}
	}

	/* Exact bound address first, then the family's wildcard entry. */
	key.port = udp->dest;
	val = bpf_map_lookup_elem(&ports, &key);
	if (!val) {
		__builtin_memset(key.addr, 0, sizeof(key.addr));
		val = bpf_map_lookup_elem(&ports, &key);
		if (!val)
			return pass(XSKSHIM_CTR_PASS_NO_PORT);
		wild = 1;
	}
	cnt = val->slot_cnt;
	if (cnt == 0 || cnt > XSKSHIM_GROUP_MAX)
		return pass(XSKSHIM_CTR_PASS_NO_PORT);

	/* Would the kernel deliver it at all?  (A zero destination reaches
	 * the wildcard entry in the first lookup; it is martian off `lo`.)
	 * The empty asm makes the compiler branch on iph itself rather than
	 * on key.family, whose value the verifier does not track. */
	lo = ctx->ingress_ifindex == LOOPBACK_IFINDEX;
	asm volatile("" : "+r"(iph));
	if (iph) {
		__u32 s = bpf_ntohl(iph->saddr), d = bpf_ntohl(iph->daddr);

		if (ip4_martian(s, d, lo))
			return pass(XSKSHIM_CTR_PASS_MARTIAN);
		/* a source that is one of the interface's own addresses is a
		 * martian to the kernel (fib_validate_source, accept_local 0) */
		if ((cfg_flags & XSKSHIM_CFG_CHECK_LOCAL) && !lo && fast_local_v4(iph->saddr))
			return pass(XSKSHIM_CTR_PASS_MARTIAN);
		if ((d >> 28) == 0xe)
			return pass(XSKSHIM_CTR_PASS_MCAST);
		bcast = d == 0xffffffff;
		if ((cfg_flags & XSKSHIM_CFG_CHECK_LOCAL) && wild && !lo && !bcast &&
		    !fast_local_v4(iph->daddr)) {
			struct xskshim_local_key lk = {
				.prefixlen = XSKSHIM_LOCAL_PREFIXLEN(128), .family = 4,
			};

			__builtin_memcpy(lk.addr, &iph->daddr, 4);
			bcast = local_kind(&lk);
			if (bcast < 0)
				return pass(XSKSHIM_CTR_PASS_NOT_LOCAL);
		}
	} else if (ip6) {
		if (ip6_martian(ip6, lo))
			return pass(XSKSHIM_CTR_PASS_MARTIAN);
		if (ip6->daddr.in6_u.u6_addr8[0] == 0xff)
			return pass(XSKSHIM_CTR_PASS_MCAST);
		if ((cfg_flags & XSKSHIM_CFG_CHECK_LOCAL) && wild && !lo && !fast_local_v6(ip6)) {
			struct xskshim_local_key lk = {
				.prefixlen = XSKSHIM_LOCAL_PREFIXLEN(128), .family = 6,
			};

			__builtin_memcpy(lk.addr, &ip6->daddr, 16);
			bcast = local_kind(&lk);
			if (bcast < 0)
				return pass(XSKSHIM_CTR_PASS_NOT_LOCAL);
		}
	} else {
		return pass(XSKSHIM_CTR_PASS_NOT_IP);   /* not reached */
	}
	/* A broadcast goes to every socket of a SO_REUSEPORT group. */
	if (bcast && cnt > 1)
		return pass(XSKSHIM_CTR_PASS_MCAST);

	queue = ctx->rx_queue_index;
	if (queue >= XSKSHIM_QUEUE_MAX)
		return pass(XSKSHIM_CTR_PASS_QUEUE);

	/* An empty (or out of range) XSKMAP entry makes this XDP_PASS. */
	return to_xsk(ctx, group_pick(val, cnt, saddr_fold, udp->source, udp->dest), queue);
}

/* ---- SO_REUSEPORT member choice on the kernel path ----------------------
 *
 * Datagrams of an accelerated SO_REUSEPORT group also reach the kernel
 * stack: spilled past the fill budget, passed for any other reason, or
 * arrived before attach.  The kernel would pick the member by its own hash,
 * so a flow would be split between the member the XDP program picked and
 * another one.  User space attaches this program to every accelerated
 * group (SO_ATTACH_REUSEPORT_EBPF) and keeps each member's kernel socket in
 * rp_socks at its XSKMAP slot number; the program picks the member exactly
 * as xskshim_xdp does - the same ports-map entry, the same flow hash of the
 * same fields, the same index - so both paths deliver a flow to one socket.
 * A datagram whose group is not (or no longer) in the ports map, or whose
 * member's socket is not in rp_socks, is left to the kernel's own hash
 * (SK_PASS without a selection). */
struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, XSKSHIM_SLOT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} rp_socks SEC(".maps");

SEC("sk_reuseport")
int xskshim_reuseport(struct sk_reuseport_md *md)
{
	struct xskshim_port_key key = {};
	struct xskshim_port_val *val;
	void *data = md->data, *data_end = md->data_end;
	struct udphdr *udp = data;
	__u32 a[8], fold, slot, cnt;

	if (md->ip_protocol != IPPROTO_UDP || (void *)(udp + 1) > data_end)
		return SK_PASS;
	if (md->eth_protocol == bpf_htons(ETH_P_IP)) {
		/* saddr, daddr: bytes 12..19 of the IPv4 header */
		if (bpf_skb_load_bytes_relative(md, 12, a, 8, BPF_HDR_START_NET))
			return SK_PASS;
		key.family = 4;
		__builtin_memcpy(key.addr, &a[1], 4);
		fold = a[0];
	} else if (md->eth_protocol == bpf_htons(ETH_P_IPV6)) {
		/* saddr, daddr: bytes 8..39 of the IPv6 header */
		if (bpf_skb_load_bytes_relative(md, 8, a, 32, BPF_HDR_START_NET))
			return SK_PASS;
		key.family = 6;
		__builtin_memcpy(key.addr, &a[4], 16);
		fold = a[0] ^ a[1] ^ a[2] ^ a[3];
	} else {
		return SK_PASS;
	}
	key.port = udp->dest;
	val = bpf_map_lookup_elem(&ports, &key);
	if (!val) {
		__builtin_memset(key.addr, 0, sizeof(key.addr));
		val = bpf_map_lookup_elem(&ports, &key);
		if (!val)
			return SK_PASS;
	}
	cnt = val->slot_cnt;
	if (cnt == 0 || cnt > XSKSHIM_GROUP_MAX)
		return SK_PASS;
	slot = group_pick(val, cnt, fold, udp->source, udp->dest);
	bpf_sk_select_reuseport(md, &rp_socks, &slot, 0);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
