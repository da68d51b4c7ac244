// SPDX-License-Identifier: GPL-2.0
/* xskshim.bpf.c - the XDP program: steer UDP datagrams for accelerated
 * sockets into their AF_XDP sockets, pass everything else to the kernel.
 *
 * Design note
 * -----------
 * The contract (maps, counters, flow hash) is in xskshim_bpf.h; this file
 * only implements it.  The program is deliberately conservative: it parses
 * Ethernet, up to two VLAN tags (802.1Q 0x8100 and 802.1ad 0x88a8, in any
 * order), then IPv4 (any IHL, no fragments) or IPv6 (UDP directly after the
 * fixed header), then the UDP header.  Anything else - and anything it
 * cannot see completely - is XDP_PASSed with a reason counter, so the worst
 * a parsing gap can do is send a packet the slow way, never lose it.
 *
 * Only header presence is checked here.  Lengths and checksums are left to
 * user space (ring_frame_parse), which sees every redirected frame and drops
 * malformed ones as the kernel would; doing it here would cost every packet
 * on the interface, not only ours.
 *
 * A match picks one member of the socket group by a flow hash of the source
 * address and ports (so a flow sticks to one socket of an SO_REUSEPORT
 * group) and redirects into xsks[slot * XSKSHIM_QUEUE_MAX + rx_queue].  The
 * fallback action of bpf_redirect_map() is XDP_PASS: an empty XSKMAP entry
 * sends the packet to the kernel stack.
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

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XSKSHIM_CTR_CNT);
	__type(key, __u32);
	__type(value, __u64);
} ctrs SEC(".maps");

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

SEC("xdp")
int xskshim_xdp(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct xskshim_port_key key = {};
	struct xskshim_port_val *val;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	__u32 saddr_fold, cnt, pick, idx, queue;
	__be16 proto;
	void *l3;
	long ret;
	int i;

	if ((void *)(eth + 1) > data_end)
		return pass(XSKSHIM_CTR_PASS_TRUNC);
	proto = eth->h_proto;
	l3 = eth + 1;

#pragma unroll
	for (i = 0; i < VLAN_MAX_DEPTH; i++) {
		struct vlan_tag *tag = l3;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(tag + 1) > data_end)
			return pass(XSKSHIM_CTR_PASS_TRUNC);
		proto = tag->proto;
		l3 = tag + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = l3;
		__u32 hlen;

		if ((void *)(iph + 1) > data_end)
			return pass(XSKSHIM_CTR_PASS_TRUNC);
		if (iph->version != 4 || iph->ihl < 5)
			return pass(XSKSHIM_CTR_PASS_BAD_HDR);
		/* IHL is 4 bits, so hlen is 20..60: the mask keeps the verifier
		 * (and us) sure of that bound for the variable packet offset. */
		hlen = (iph->ihl & 0xf) << 2;
		if (l3 + hlen > data_end)
			return pass(XSKSHIM_CTR_PASS_TRUNC);
		if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
			return pass(XSKSHIM_CTR_PASS_FRAG);
		if (iph->protocol != IPPROTO_UDP)
			return pass(XSKSHIM_CTR_PASS_NOT_UDP);
		udp = l3 + hlen;
		if ((void *)(udp + 1) > data_end)
			return pass(XSKSHIM_CTR_PASS_TRUNC);

		key.family = 4;
		__builtin_memcpy(key.addr, &iph->daddr, 4);
		saddr_fold = iph->saddr;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end)
			return pass(XSKSHIM_CTR_PASS_TRUNC);
		if (ip6->version != 6)
			return pass(XSKSHIM_CTR_PASS_BAD_HDR);
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

	/* Exact bound address first, then the family's wildcard entry. */
	key.port = udp->dest;
	val = bpf_map_lookup_elem(&ports, &key);
	if (!val) {
		__builtin_memset(key.addr, 0, sizeof(key.addr));
		val = bpf_map_lookup_elem(&ports, &key);
		if (!val)
			return pass(XSKSHIM_CTR_PASS_NO_PORT);
	}
	cnt = val->slot_cnt;
	if (cnt == 0 || cnt > XSKSHIM_GROUP_MAX)
		return pass(XSKSHIM_CTR_PASS_NO_PORT);

	queue = ctx->rx_queue_index;
	if (queue >= XSKSHIM_QUEUE_MAX)
		return pass(XSKSHIM_CTR_PASS_QUEUE);

	/* pick < cnt <= XSKSHIM_GROUP_MAX (a power of two), so the mask changes
	 * nothing; it is there for the verifier, which does not bound a
	 * modulo by a register.  The empty asm hides that knowledge from the
	 * compiler, which would otherwise drop the mask as redundant. */
	pick = xskshim_flow_hash(saddr_fold, udp->source, udp->dest) % cnt;
	asm volatile("" : "+r"(pick));
	pick &= XSKSHIM_GROUP_MAX - 1;
	idx = val->slots[pick] * XSKSHIM_QUEUE_MAX + queue;

	/* An empty (or out of range) XSKMAP entry makes this XDP_PASS. */
	ret = bpf_redirect_map(&xsks, idx, XDP_PASS);
	ctr_inc(ret == XDP_REDIRECT ? XSKSHIM_CTR_REDIRECT : XSKSHIM_CTR_NO_XSK);
	return ret;
}

char LICENSE[] SEC("license") = "GPL";
