/* frame.c - frame validation, Internet checksum, payload copy and source
 * address for ring/ (see ring.h).  Pure functions: no state, no syscalls,
 * no privileges; thread safe.  Fuzzed by tests/fuzz_frame.c.
 *
 * Every load from a frame goes through memcpy (the frame is a byte array at
 * an arbitrary alignment: 14-byte Ethernet headers leave the IP header
 * 2-byte aligned at best, VLAN tags shift it by 4) and is bounds-checked
 * against len first, so nothing outside [frame, frame+len) is ever read.
 *
 * Order of checks (the first failing one decides the error):
 *   1. Ethernet + VLAN headers fit                         else TRUNC
 *   2. ethertype IPv4 or IPv6 (after at most two tags)     else NOT_OURS
 *   3. IPv4: header fits (20, then IHL*4)                  else TRUNC
 *            version 4, IHL >= 5, header checksum          else BAD_IP
 *            total length >= IHL*4                         else BAD_IP
 *            total length <= bytes after L2                else TRUNC
 *            not a fragment (MF or offset)                 else NOT_OURS
 *            protocol UDP                                  else NOT_OURS
 *            total length >= IHL*4 + 8                     else BAD_IP
 *      IPv6: 40-byte header fits                           else TRUNC
 *            version 6                                     else BAD_IP
 *            next header UDP (no extension headers)        else NOT_OURS
 *            payload length <= bytes after the header      else TRUNC
 *            payload length >= 8                           else BAD_IP
 *   4. UDP length >= 8 and <= IP payload length            else BAD_UDPLEN
 *      (IPv6: 0 means the IP payload length; a shorter UDP length trims
 *      the datagram, as the kernel does)
 *   5. VERIFY mode: UDP checksum (0 ok on IPv4 only)       else BAD_CSUM
 * Bytes after the IP datagram (Ethernet padding of short frames, or
 * anything else) are ignored, as the kernel trims them (pskb_trim_rcsum).
 * On error *info may have been partly written; its contents are undefined.
 */
#include <stddef.h>
#include <string.h>
#include <arpa/inet.h>

#include "ring/ring.h"

#define ETH_HLEN_     14u
#define VLAN_HLEN_    4u
#define IP4_HLEN_MIN  20u
#define IP6_HLEN_     40u
#define UDP_HLEN_     8u

#define ETYPE_IP4     0x0800
#define ETYPE_IP6     0x86dd
#define ETYPE_8021Q   0x8100
#define ETYPE_8021AD  0x88a8
#define PROTO_UDP     17

static inline uint16_t ld_be16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return ntohs(v);
}

static inline uint16_t ld_ne16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* ---------------------------------------------------------------------- */
/* Internet checksum                                                       */
/* ---------------------------------------------------------------------- */

/* The trick (RFC 1071 section 2): the ones' complement sum of 16-bit words
 * does not care about byte order.  Summing the words as the CPU loads them
 * (little-endian here) gives the byte-swapped network-order sum, and
 * byte-swapping commutes with ones' complement addition.  So we never swap:
 * the accumulator holds "native loads" of network-order data, and the folded
 * 16-bit result, stored to memory as is, has the checksum's bytes in network
 * order - exactly what a checksum field loaded with memcpy looks like.
 * In other words ring_csum_fold() returns the sum in network byte order
 * (ntohs() of it is the RFC 1071 value), on any host.  Constants (protocol
 * number, lengths) are added as htons(x) for the same reason.  A correct
 * datagram, checksum field included, sums to 0xffff (-0) either way.
 *
 * Ones' complement arithmetic modulo 2^16-1 is also compatible with wider
 * words: 2^16-1 divides 2^32-1 and 2^64-1, so we can add whole 64-bit words
 * with end-around carry (arithmetic modulo 2^64-1) and fold to 16 bits at the
 * very end.  Each 64-bit word contains four 16-bit lanes at even offsets
 * from p, so the pairing of bytes into words is kept.
 *
 * Chaining: ring_csum_partial(b, n2, ring_csum_partial(a, n1, acc)) equals
 * one call over a||b only if n1 is even (an odd chunk would shift the byte
 * pairing of the next one).  The start address may be anything. */

/* a + b with end-around carry: a + b modulo 2^64-1 (0 and 2^64-1 both
 * represent zero).  Compiles to add + adc $0. */
static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* The body of ring_csum_partial, inlined into ring_frame_parse so that the
 * fixed-size sums there (IPv4 header, pseudo-header addresses) compile to a
 * few straight-line adds. */
static inline __attribute__((always_inline))
uint64_t csum_add(const uint8_t *p, size_t len, uint64_t acc)
{
	/* Four independent add/adc chains, 64 bytes per iteration.  A single
	 * chain is bound by its carry-flag dependency (at most 8 bytes per
	 * cycle); four chains run at the load ports' speed, about 16 bytes per
	 * cycle: ~45 bytes/ns on a 1228-byte buffer (test_ring --bench), twice
	 * one chain.  64 rather than 32 bytes per iteration halves the loop
	 * overhead and made the speed independent of code placement. */
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, t = 0;

	while (len >= 64) {
		s0 = ring_csum_add(s0, ld64(p));
		s1 = ring_csum_add(s1, ld64(p + 8));
		s2 = ring_csum_add(s2, ld64(p + 16));
		s3 = ring_csum_add(s3, ld64(p + 24));
		s0 = ring_csum_add(s0, ld64(p + 32));
		s1 = ring_csum_add(s1, ld64(p + 40));
		s2 = ring_csum_add(s2, ld64(p + 48));
		s3 = ring_csum_add(s3, ld64(p + 56));
		p += 64;
		len -= 64;
	}
	if (len >= 32) {
		s0 = ring_csum_add(s0, ld64(p));
		s1 = ring_csum_add(s1, ld64(p + 8));
		s2 = ring_csum_add(s2, ld64(p + 16));
		s3 = ring_csum_add(s3, ld64(p + 24));
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		s0 = ring_csum_add(s0, ld64(p));
		p += 8;
		len -= 8;
	}
	/* Tail of 0..7 bytes.  Since 2^16 == 1 (mod 2^16-1), a 16-bit word
	 * may be added at any lane: add the 4-, 2- and 1-byte pieces as plain
	 * small integers (no carry possible) instead of assembling a 64-bit
	 * word through memory, which would stall on store forwarding.  An
	 * odd last byte is the first (high-order) byte of a 16-bit word
	 * padded with zero (RFC 1071): in a native load of that word it is
	 * the low byte on little-endian, the high byte on big-endian. */
	if (len & 4) {
		t += ld32(p);
		p += 4;
	}
	if (len & 2) {
		t += ld_ne16(p);
		p += 2;
	}
	if (len & 1) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		t += p[0];
#else
		t += (uint64_t)p[0] << 8;
#endif
	}
	s0 = ring_csum_add(s0, s2);
	s1 = ring_csum_add(s1, s3);
	s1 = ring_csum_add(s1, t);
	return ring_csum_add(acc, ring_csum_add(s0, s1));
}

uint64_t ring_csum_partial(const void *buf, size_t len, uint64_t acc)
{
	return csum_add(buf, len, acc);
}

uint16_t ring_csum_fold(uint64_t acc)
{
	/* 64 -> 32 -> 16 bits, each step with end-around carry.  Two steps at
	 * each width suffice: after the first the value has at most one bit
	 * above the width, and adding it back cannot carry again. */
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffu) + (acc >> 16);
	acc = (acc & 0xffffu) + (acc >> 16);
	return (uint16_t)acc;
}

/* ---------------------------------------------------------------------- */
/* Frame validation                                                        */
/* ---------------------------------------------------------------------- */

int ring_frame_parse(const uint8_t *frame, uint32_t len, enum ring_csum_mode mode,
		     struct ring_frame_info *info)
{
	uint32_t off = ETH_HLEN_, l3, l4, ip_end, udp_len, ip_pay;
	uint64_t acc;
	uint16_t etype;
	uint8_t vlan_cnt = 0;

	if (len < ETH_HLEN_)
		return -RING_FRAME_TRUNC;
	etype = ld_be16(frame + 12);
	while (etype == ETYPE_8021Q || etype == ETYPE_8021AD) {
		if (vlan_cnt == 2)
			return -RING_FRAME_NOT_OURS;   /* a third tag */
		if (len - off < VLAN_HLEN_)
			return -RING_FRAME_TRUNC;
		etype = ld_be16(frame + off + 2);
		off += VLAN_HLEN_;
		vlan_cnt++;
	}
	l3 = off;

	if (etype == ETYPE_IP4) {
		const uint8_t *ip = frame + l3;
		uint32_t ihl, tot_len;
		uint16_t frag;

		if (len - l3 < IP4_HLEN_MIN)
			return -RING_FRAME_TRUNC;
		if ((ip[0] >> 4) != 4)
			return -RING_FRAME_BAD_IP;
		ihl = (ip[0] & 0x0fu) * 4;
		if (ihl < IP4_HLEN_MIN)
			return -RING_FRAME_BAD_IP;
		if (len - l3 < ihl)
			return -RING_FRAME_TRUNC;
		/* A correct header sums (checksum field included) to -0. */
		acc = ihl == IP4_HLEN_MIN ? csum_add(ip, IP4_HLEN_MIN, 0)
					  : ring_csum_partial(ip, ihl, 0);
		if (ring_csum_fold(acc) != 0xffff)
			return -RING_FRAME_BAD_IP;
		tot_len = ld_be16(ip + 2);
		if (tot_len < ihl)
			return -RING_FRAME_BAD_IP;
		if (tot_len > len - l3)
			return -RING_FRAME_TRUNC;
		frag = ld_be16(ip + 6);
		if (frag & 0x3fffu)                    /* MF or fragment offset */
			return -RING_FRAME_NOT_OURS;
		if (ip[9] != PROTO_UDP)
			return -RING_FRAME_NOT_OURS;
		if (tot_len < ihl + UDP_HLEN_)
			return -RING_FRAME_BAD_IP;

		info->family = 4;
		info->tos = ip[1];
		info->ttl = ip[8];
		memset(info->saddr, 0, sizeof(info->saddr));
		memset(info->daddr, 0, sizeof(info->daddr));
		memcpy(info->saddr, ip + 12, 4);
		memcpy(info->daddr, ip + 16, 4);
		l4 = l3 + ihl;
		ip_end = l3 + tot_len;
		/* Pseudo-header: addresses, zero + protocol, UDP length (the
		 * latter added below once it is known to equal ip_pay). */
		acc = csum_add(ip + 12, 8, htons(PROTO_UDP));
	} else if (etype == ETYPE_IP6) {
		const uint8_t *ip = frame + l3;
		uint32_t pay_len;

		if (len - l3 < IP6_HLEN_)
			return -RING_FRAME_TRUNC;
		if ((ip[0] >> 4) != 6)
			return -RING_FRAME_BAD_IP;
		if (ip[6] != PROTO_UDP)
			return -RING_FRAME_NOT_OURS;   /* ext headers, TCP, ICMPv6 */
		pay_len = ld_be16(ip + 4);
		if (pay_len > len - l3 - IP6_HLEN_)
			return -RING_FRAME_TRUNC;
		if (pay_len < UDP_HLEN_)
			return -RING_FRAME_BAD_IP;

		info->family = 6;
		info->tos = (uint8_t)(((ip[0] & 0x0fu) << 4) | (ip[1] >> 4));
		info->ttl = ip[7];
		memcpy(info->saddr, ip + 8, 16);
		memcpy(info->daddr, ip + 24, 16);
		l4 = l3 + IP6_HLEN_;
		ip_end = l4 + pay_len;
		acc = csum_add(ip + 8, 32, htons(PROTO_UDP));
	} else {
		return -RING_FRAME_NOT_OURS;           /* ARP, LLDP, 802.3 ... */
	}

	/* l4 + 8 <= ip_end <= len was established above. */
	ip_pay = ip_end - l4;
	udp_len = ld_be16(frame + l4 + 4);
	/* As udp_rcv/udpv6_rcv: an IPv6 UDP length of 0 means "the IP payload
	 * length" (jumbogram rule), a UDP length shorter than the IP payload
	 * trims the datagram, a longer one is a short packet. */
	if (udp_len == 0 && info->family == 6)
		udp_len = ip_pay;
	if (udp_len < UDP_HLEN_ || udp_len > ip_pay)
		return -RING_FRAME_BAD_UDPLEN;

	if (mode == RING_CSUM_VERIFY) {
		uint16_t check = ld_ne16(frame + l4 + 6);
		/* IPv4: 0 means "not computed" (RFC 768).  IPv6: mandatory
		 * (RFC 8200 8.1); the kernel drops a zero checksum. */
		if (check != 0 || info->family == 6) {
			if (check == 0)
				return -RING_FRAME_BAD_CSUM;
			acc = ring_csum_add(acc, htons((uint16_t)udp_len));
			acc = ring_csum_partial(frame + l4, udp_len, acc);
			/* A computed checksum of 0 is sent as 0xffff (-0);
			 * both give a total of -0 here. */
			if (ring_csum_fold(acc) != 0xffff)
				return -RING_FRAME_BAD_CSUM;
		}
	}

	info->vlan_cnt = vlan_cnt;
	info->sport = ld_ne16(frame + l4);
	info->dport = ld_ne16(frame + l4 + 2);
	info->payload_off = l4 + UDP_HLEN_;
	info->payload_sz = udp_len - UDP_HLEN_;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Copy-out helpers                                                        */
/* ---------------------------------------------------------------------- */

size_t ring_copy_to_iov(const uint8_t *src, size_t len, const struct iovec *iov, size_t iov_cnt)
{
	size_t done = 0, i;

	for (i = 0; i < iov_cnt && done < len; i++) {
		size_t n = iov[i].iov_len;
		if (!iov[i].iov_base || !n)
			continue;
		if (n > len - done)
			n = len - done;
		memcpy(iov[i].iov_base, src + done, n);
		done += n;
	}
	return done;
}

/* sin6_flowinfo and sin6_scope_id are left 0.  For a link-local source
 * (fe80::/10) the kernel reports the receiving interface's index in
 * sin6_scope_id; this function does not know the interface, so the caller
 * must set it (at offset offsetof(struct sockaddr_in6, sin6_scope_id), if
 * cap covers it). */
uint32_t ring_frame_src(const struct ring_frame_info *info, bool want_v6, void *addr, uint32_t cap)
{
	union {
		struct sockaddr_in  v4;
		struct sockaddr_in6 v6;
	} sa;
	uint32_t sa_len;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (info->family == 4 && !want_v6 && addr && cap >= sizeof(struct sockaddr_in)) {
		/* The common case, composed in registers and stored as two
		 * 8-byte words.  Built on the stack field by field and copied
		 * out, it cost a failed store forward (an 8-byte load over four
		 * narrower stores: ~6% of a 64 B poll-style receiver's samples,
		 * perf annotate), and 8-byte stores let the application's own
		 * 8-byte reads of it forward. */
		uint64_t w[2] = { 0, 0 };
		uint32_t a;

		memcpy(&a, info->saddr, 4);
		w[0] = (uint64_t)AF_INET | (uint64_t)info->sport << 16 | (uint64_t)a << 32;
		_Static_assert(offsetof(struct sockaddr_in, sin_port) == 2 &&
			      offsetof(struct sockaddr_in, sin_addr) == 4 && sizeof(struct sockaddr_in) == 16,
			      "sockaddr_in layout");
		memcpy(addr, w, sizeof(w));
		return sizeof(struct sockaddr_in);
	}
#endif
	memset(&sa, 0, sizeof(sa));
	if (info->family == 4 && !want_v6) {
		sa.v4.sin_family = AF_INET;
		sa.v4.sin_port = info->sport;
		memcpy(&sa.v4.sin_addr, info->saddr, 4);
		sa_len = sizeof(sa.v4);
	} else if (info->family == 4) {
		/* ::ffff:a.b.c.d, what a dual-stack socket reports */
		sa.v6.sin6_family = AF_INET6;
		sa.v6.sin6_port = info->sport;
		sa.v6.sin6_addr.s6_addr[10] = 0xff;
		sa.v6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sa.v6.sin6_addr.s6_addr[12], info->saddr, 4);
		sa_len = sizeof(sa.v6);
	} else if (info->family == 6) {
		sa.v6.sin6_family = AF_INET6;
		sa.v6.sin6_port = info->sport;
		memcpy(&sa.v6.sin6_addr, info->saddr, 16);
		sa_len = sizeof(sa.v6);
	} else {
		return 0;
	}
	if (addr && cap)
		memcpy(addr, &sa, cap < sa_len ? cap : sa_len);
	return sa_len;
}
