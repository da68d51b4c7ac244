/* craft.c - AF_PACKET sender of hand-built (and deliberately broken)
 * Ethernet frames, for the hostile-input tests (tests/t_hostile.sh).
 *
 *   craft --iface va --all            send every case once
 *   craft --iface va --case NAME ...  send the named cases
 *   craft --list                      print "NAME<TAB>what it is" per case
 *
 * Every byte of every frame is ours: Ethernet, optional VLAN tags, IPv4 (with
 * or without options) or IPv6 (with or without extension headers), UDP.
 * Lengths and checksums are correct unless the case breaks them on purpose.
 * The UDP payload of each case starts with "H:<name>;" so that a receiver's
 * dump says which cases were delivered; the rest of the payload is a fixed
 * pattern.
 *
 * Addresses (defaults = the netns fixture): --smac 02:00:00:00:00:0a
 * --dmac 02:00:00:00:00:0b --src 198.18.0.1 --dst 198.18.0.2
 * --src6 2001:2::1 --dst6 2001:2::2 --port 9000 (destination UDP port)
 * --sport 31000.  Only addresses inside 198.18.0.0/15 and 2001:2::/48 are
 * used by the built-in cases (plus the loopback, multicast, broadcast,
 * zero and class E source or destination addresses some cases spoof on
 * purpose - they never leave the veth pair the test created).  --gap-us U sleeps between frames
 * (default 2000) so the receiver never overflows; --repeat N sends the
 * selection N times.
 *
 * Needs CAP_NET_RAW.  Exit status 0 iff every frame was sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX 2048

/* the case table leaves every "correct" field out */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

struct addrs {
	uint8_t smac[6], dmac[6];
	uint8_t src4[4], dst4[4];
	uint8_t src6[16], dst6[16];
	uint16_t dport, sport;
};

enum csum_kind { CS_OK = 0, CS_ZERO, CS_BAD };

/* One case.  Fields left 0 mean "correct / none". */
struct kase {
	const char *name;
	const char *what;
	int family;                 /* 4 or 6 */
	int payload;                /* payload bytes after the tag (>= 0) */
	enum csum_kind csum;
	int udp_len_delta;          /* added to the correct UDP length */
	bool udp_len_abs;           /* udp_len_delta is the absolute value */
	int ip_len_delta;           /* added to the IPv4 total / IPv6 payload length */
	bool ip_len_abs;            /* ip_len_delta is the absolute IPv4 total length */
	int trailer;                /* junk bytes after the IP datagram */
	int truncate_to;            /* cut the frame to this many bytes (0: no) */
	const uint8_t *ip_opts;     /* IPv4 options (multiple of 4 bytes) */
	int ip_opts_len;
	bool bad_ip_csum;
	int ihl_override;           /* IPv4 IHL field value (0: correct) */
	int version_override;
	int ttl;                    /* 0: 64 */
	int vlan;                   /* 802.1Q tags to add (0..3) */
	bool vid0;                  /* the tags carry VID 0 (priority tags), not 100, 101, ... */
	int v6_ext;                 /* IPv6: 0 none, 1 hop-by-hop PadN, 2 atomic fragment hdr */
	int frag;                   /* IPv4: 1 = send as two fragments, 2 = lone first fragment */
	const char *src;            /* override source address (text) */
	const char *dst;            /* override destination address (text) */
	const char *dmac;           /* override destination MAC (text) */
	int dport;                  /* override destination port */
	bool nolayer4;              /* IPv4 protocol UDP but frame stops after IP hdr */
};

static const uint8_t opt_nop4[] = { 1, 1, 1, 1 };              /* 4 x NOP */
static const uint8_t opt_rr[] = { 7, 7, 4, 0, 0, 0, 0, 0 };   /* record route, 1 slot + EOL pad */
static const uint8_t opt_bad[] = { 0x44, 1, 0, 0 };            /* timestamp, length 1: malformed */

static const struct kase kases[] = {
	/* controls */
	{ "ok_v4", "valid IPv4 UDP", 4, 32 },
	{ "ok_v4_csum0", "valid IPv4 UDP, checksum 0 (not computed)", 4, 32, CS_ZERO },
	{ "ok_v6", "valid IPv6 UDP", 6, 32 },
	{ "zero_payload_v4", "IPv4 UDP with a zero-length payload", 4, -1 },
	{ "zero_payload_v6", "IPv6 UDP with a zero-length payload", 6, -1 },
	{ "eth_padding", "short datagram in a 60-byte frame with junk padding", 4, 0, .trailer = 20 },
	{ "ip_len_lt_frame", "IPv4 total length shorter than the frame (200 junk bytes after)", 4, 32,
	  .trailer = 200 },
	{ "big_v4", "1400-byte payload", 4, 1400 },
	{ "ttl0", "IPv4 TTL 0 (local delivery does not check TTL)", 4, 16, .ttl = -1 },
	{ "bcast_dst", "IPv4 to the subnet broadcast 198.18.0.255", 4, 16, .dst = "198.18.0.255" },
	{ "bcast_mac", "unicast IPv4 in an Ethernet broadcast frame", 4, 16, .dmac = "ff:ff:ff:ff:ff:ff" },
	{ "other_port", "valid datagram to port+1 (not configured)", 4, 16, .dport = 1 },
	/* checksums */
	{ "bad_csum_v4", "IPv4 UDP checksum wrong", 4, 32, CS_BAD },
	{ "bad_csum_v6", "IPv6 UDP checksum wrong", 6, 32, CS_BAD },
	{ "csum0_v6", "IPv6 UDP checksum 0 (mandatory on IPv6)", 6, 32, CS_ZERO },
	{ "bad_ip_csum", "IPv4 header checksum wrong", 4, 32, .bad_ip_csum = true },
	/* lengths */
	{ "ip_len_gt_frame", "IPv4 total length 40 bytes beyond the frame", 4, 32, .ip_len_delta = 40 },
	{ "ip_len_lt_hdrs", "IPv4 total length 24 (shorter than IP+UDP headers)", 4, 32, .ip_len_delta = 24,
	  .ip_len_abs = true },
	{ "udp_len_gt_ip", "UDP length 16 bytes beyond the IPv4 payload", 4, 32, .udp_len_delta = 16 },
	{ "udp_len_lt_ip", "UDP length 10 bytes short of the IPv4 payload (kernel trims)", 4, 32,
	  .udp_len_delta = -10 },
	{ "udp_len_lt8", "UDP length 4", 4, 32, .udp_len_delta = 4, .udp_len_abs = true },
	{ "v6_len_gt_frame", "IPv6 payload length 40 bytes beyond the frame", 6, 32, .ip_len_delta = 40 },
	{ "v6_udp_len_gt_ip", "IPv6 UDP length beyond the payload", 6, 32, .udp_len_delta = 16 },
	{ "v6_udp_len_lt_ip", "IPv6 UDP length 10 short of the payload (kernel trims)", 6, 32,
	  .udp_len_delta = -10 },
	{ "v6_udp_len0", "IPv6 UDP length 0 (kernel: jumbogram rule, length from IPv6)", 6, 32,
	  .udp_len_delta = 0, .udp_len_abs = true },
	{ "eth_only", "14-byte frame: Ethernet header (IPv4) and nothing else", 4, 32, .truncate_to = 14 },
	{ "trunc_ip", "frame ends inside the IPv4 header", 4, 32, .truncate_to = 14 + 12 },
	{ "trunc_udp", "frame ends inside the UDP header", 4, 32, .truncate_to = 14 + 20 + 4 },
	{ "ihl4", "IPv4 IHL 4", 4, 32, .ihl_override = 4 },
	{ "version5", "IPv4 ethertype, IP version 5", 4, 32, .version_override = 5 },
	/* options, extension headers, fragments */
	{ "ip_opts_nop", "IPv4 with 4 NOP options", 4, 32, .ip_opts = opt_nop4, .ip_opts_len = 4 },
	{ "ip_opts_rr", "IPv4 with a record-route option", 4, 32, .ip_opts = opt_rr, .ip_opts_len = 8 },
	{ "ip_opts_bad", "IPv4 with a malformed option (timestamp, length 1)", 4, 32,
	  .ip_opts = opt_bad, .ip_opts_len = 4 },
	{ "v6_hbh", "IPv6 with a hop-by-hop (PadN) extension header", 6, 32, .v6_ext = 1 },
	{ "v6_atomic_frag", "IPv6 with an atomic fragment header", 6, 32, .v6_ext = 2 },
	{ "frag_pair", "IPv4 datagram in two fragments", 4, 600, .frag = 1 },
	{ "frag_lone", "IPv4 first fragment whose rest never comes", 4, 600, .frag = 2 },
	{ "vlan1", "one 802.1Q tag (no VLAN device on the receiver)", 4, 32, .vlan = 1 },
	{ "vlan3", "three 802.1Q tags", 4, 32, .vlan = 3 },
	{ "vlan_prio", "one 802.1Q priority tag (VID 0: the kernel ignores it)", 4, 32, .vlan = 1, .vid0 = true },
	/* addressing */
	{ "wrong_dmac", "destination MAC of another host", 4, 32, .dmac = "02:00:00:00:00:99" },
	{ "dst_other", "IPv4 destination 198.18.0.99 (not a local address)", 4, 32, .dst = "198.18.0.99" },
	{ "dst_loopback", "IPv4 destination 127.0.0.1 from the wire", 4, 32, .dst = "127.0.0.1" },
	{ "src_loopback", "IPv4 source 127.0.0.1 from the wire (martian)", 4, 32, .src = "127.0.0.1" },
	{ "src_mcast", "IPv4 source 224.0.0.1 (martian)", 4, 32, .src = "224.0.0.1" },
	{ "src_zero", "IPv4 source 0.0.0.0 to a unicast address (martian)", 4, 32, .src = "0.0.0.0" },
	{ "v6_dst_other", "IPv6 destination 2001:2::99 (not local)", 6, 32, .dst = "2001:2::99" },
	{ "v6_src_loopback", "IPv6 source ::1 from the wire", 6, 32, .src = "::1" },
	{ "v6_dst_loopback", "IPv6 destination ::1 from the wire", 6, 32, .dst = "::1" },
	{ "mcast_mac", "unicast IPv4 in an Ethernet multicast frame (kernel delivers)", 4, 16,
	  .dmac = "01:00:5e:00:00:01" },
	{ "lbcast_dst", "IPv4 to the limited broadcast 255.255.255.255", 4, 16, .dst = "255.255.255.255",
	  .dmac = "ff:ff:ff:ff:ff:ff" },
	{ "dhcp_like", "IPv4 0.0.0.0 -> 255.255.255.255 (limited broadcast input, as DHCP)", 4, 16,
	  .src = "0.0.0.0", .dst = "255.255.255.255", .dmac = "ff:ff:ff:ff:ff:ff" },
	{ "mcast_dst", "IPv4 to 224.0.0.1 (all-hosts, joined by every interface)", 4, 16, .dst = "224.0.0.1",
	  .dmac = "01:00:5e:00:00:01" },
	{ "v6_mcast_dst", "IPv6 to ff02::1 (all-nodes, joined by every interface)", 6, 16, .dst = "ff02::1",
	  .dmac = "33:33:00:00:00:01" },
	{ "dst_zero", "IPv4 destination 0.0.0.0 (martian)", 4, 32, .dst = "0.0.0.0" },
	{ "src_lbcast", "IPv4 source 255.255.255.255 (martian)", 4, 32, .src = "255.255.255.255" },
	{ "src_classe", "IPv4 source 240.0.0.1 (class E is not martian; rp_filter off)", 4, 32,
	  .src = "240.0.0.1" },
	{ "src_own", "IPv4 source 198.18.0.2, the receiver's own address (kernel: martian)", 4, 32,
	  .src = "198.18.0.2" },
	{ "v6_src_mcast", "IPv6 source ff02::1 (multicast source: dropped)", 6, 32, .src = "ff02::1" },
	{ "v6_src_unspec", "IPv6 source :: (the shim leaves it to the kernel)", 6, 32, .src = "::" },
	{ "v6_src_v4mapped", "IPv6 source ::ffff:198.18.0.1", 6, 32, .src = "::ffff:198.18.0.1" },
};
#define KASE_CNT (sizeof(kases) / sizeof(kases[0]))

static uint64_t csum_add(const uint8_t *p, size_t len, uint64_t acc)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	return acc;
}

static uint16_t csum_fold(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

/* Payload: "H:<name>;" then a pattern, total tag + extra bytes (extra < 0:
 * no payload at all, not even the tag). */
static int build_payload(uint8_t *p, const struct kase *k)
{
	int n;

	if (k->payload < 0)
		return 0;
	n = snprintf((char *)p, 64, "H:%s;", k->name);
	for (int i = 0; i < k->payload; i++)
		p[n + i] = (uint8_t)('a' + i % 26);
	return n + k->payload;
}

/* UDP header + payload at u (udp_len bytes for the checksum), checksum over
 * the pseudo header with the given length. */
static void udp_fill(uint8_t *u, const struct addrs *a, const struct kase *k, int plen, int fam,
		     const uint8_t *src, const uint8_t *dst)
{
	int true_len = 8 + plen;
	int field = k->udp_len_abs ? k->udp_len_delta : true_len + k->udp_len_delta;
	/* the checksum covers what the receiver will consider the datagram:
	 * min(field, true_len) bytes (field 0 on IPv6: true_len) */
	int cov = field == 0 && fam == 6 ? true_len : field < true_len ? field : true_len;
	uint64_t acc = 0;
	uint16_t c;

	put16(u, a->sport);
	put16(u + 2, (uint16_t)(k->dport ? a->dport + k->dport : a->dport));
	put16(u + 4, (uint16_t)field);
	put16(u + 6, 0);
	if (cov < 8)
		cov = true_len;
	if (fam == 4) {
		acc = csum_add(src, 4, acc);
		acc = csum_add(dst, 4, acc);
	} else {
		acc = csum_add(src, 16, acc);
		acc = csum_add(dst, 16, acc);
	}
	acc += 17 + (uint32_t)cov;
	acc = csum_add(u, (size_t)cov, acc);
	c = csum_fold(acc);
	if (c == 0)
		c = 0xffff;
	if (k->csum == CS_ZERO)
		c = 0;
	else if (k->csum == CS_BAD)
		c ^= 0x5a5a;
	put16(u + 6, c);
}

static int eth_fill(uint8_t *f, const struct addrs *a, const struct kase *k, uint16_t etype)
{
	int off = 12, i;

	if (k->dmac) {
		if (parse_mac(k->dmac, f)) {
			fprintf(stderr, "craft: bad mac %s\n", k->dmac);
			exit(2);
		}
	} else {
		memcpy(f, a->dmac, 6);
	}
	memcpy(f + 6, a->smac, 6);
	for (i = 0; i < k->vlan; i++) {
		put16(f + off, 0x8100);
		put16(f + off + 2, (uint16_t)(k->vid0 ? 0 : 100 + i));
		off += 4;
	}
	put16(f + off, etype);
	return off + 2;
}

static void ip4_hdr(uint8_t *ip, const struct kase *k, const uint8_t *src, const uint8_t *dst, int tot_len,
		    uint16_t id, uint16_t frag_field)
{
	int ihl = 20 + k->ip_opts_len;

	ip[0] = (uint8_t)(((k->version_override ? k->version_override : 4) << 4) |
			  (k->ihl_override ? k->ihl_override : ihl / 4));
	ip[1] = 0;
	put16(ip + 2, (uint16_t)tot_len);
	put16(ip + 4, id);
	put16(ip + 6, frag_field);
	ip[8] = (uint8_t)(k->ttl < 0 ? 0 : k->ttl ? k->ttl : 64);
	ip[9] = 17;
	put16(ip + 10, 0);
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	if (k->ip_opts_len)
		memcpy(ip + 20, k->ip_opts, (size_t)k->ip_opts_len);
	put16(ip + 10, (uint16_t)(csum_fold(csum_add(ip, (size_t)ihl, 0)) ^ (k->bad_ip_csum ? 0x1111 : 0)));
}

struct out {
	uint8_t f[2][FRAME_MAX];
	int len[2];
	int cnt;
};

static void build(const struct kase *k, const struct addrs *a, struct out *o)
{
	uint16_t ip_id = 0x1000;   /* per case, so fragments of two cases never mix */
	uint8_t src[16] = {0}, dst[16] = {0};
	uint8_t dgram[FRAME_MAX];
	int plen, l2;

	memset(o, 0, sizeof(*o));
	if (k->family == 4) {
		memcpy(src, a->src4, 4);
		memcpy(dst, a->dst4, 4);
	} else {
		memcpy(src, a->src6, 16);
		memcpy(dst, a->dst6, 16);
	}
	if (k->src && inet_pton(k->family == 4 ? AF_INET : AF_INET6, k->src, src) != 1)
		exit(2);
	if (k->dst && inet_pton(k->family == 4 ? AF_INET : AF_INET6, k->dst, dst) != 1)
		exit(2);

	/* the UDP datagram */
	plen = build_payload(dgram + 8, k);
	udp_fill(dgram, a, k, plen, k->family, src, dst);

	for (const char *p = k->name; *p; p++)
		ip_id = (uint16_t)(ip_id * 31 + (uint8_t)*p);
	if (k->family == 4) {
		int ihl = 20 + k->ip_opts_len, dlen = 8 + plen;

		if (k->frag) {
			/* first fragment: 8-byte aligned cut */
			int cut = (dlen / 2) & ~7;
			uint8_t *f = o->f[0];
			l2 = eth_fill(f, a, k, 0x0800);
			ip4_hdr(f + l2, k, src, dst, ihl + cut, ip_id, 0x2000 /* MF */);
			memcpy(f + l2 + ihl, dgram, (size_t)cut);
			o->len[0] = l2 + ihl + cut;
			o->cnt = 1;
			if (k->frag == 1) {
				f = o->f[1];
				l2 = eth_fill(f, a, k, 0x0800);
				ip4_hdr(f + l2, k, src, dst, ihl + dlen - cut, ip_id, (uint16_t)(cut / 8));
				memcpy(f + l2 + ihl, dgram + cut, (size_t)(dlen - cut));
				o->len[1] = l2 + ihl + dlen - cut;
				o->cnt = 2;
			}
			return;
		}
		uint8_t *f = o->f[0];
		l2 = eth_fill(f, a, k, 0x0800);
		ip4_hdr(f + l2, k, src, dst, k->ip_len_abs ? k->ip_len_delta : ihl + dlen + k->ip_len_delta,
			ip_id, 0x4000 /* DF */);
		memcpy(f + l2 + ihl, dgram, (size_t)dlen);
		o->len[0] = l2 + ihl + dlen;
	} else {
		uint8_t *f = o->f[0], *ip;
		int ext = k->v6_ext ? 8 : 0, dlen = 8 + plen;

		l2 = eth_fill(f, a, k, 0x86dd);
		ip = f + l2;
		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(ext + dlen + k->ip_len_delta));
		ip[6] = k->v6_ext == 1 ? 0 : k->v6_ext == 2 ? 44 : 17;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
		if (k->v6_ext == 1) {          /* hop-by-hop: next UDP, len 0, PadN(4) */
			uint8_t h[8] = { 17, 0, 1, 4, 0, 0, 0, 0 };
			memcpy(ip + 40, h, 8);
		} else if (k->v6_ext == 2) {   /* fragment header, offset 0, M=0 */
			uint8_t h[8] = { 17, 0, 0, 0, 0, 0, 0x12, 0x34 };
			memcpy(ip + 40, h, 8);
		}
		memcpy(ip + 40 + ext, dgram, (size_t)dlen);
		o->len[0] = l2 + 40 + ext + dlen;
	}
	if (k->trailer) {
		memset(o->f[0] + o->len[0], 0xee, (size_t)k->trailer);
		o->len[0] += k->trailer;
	}
	if (o->len[0] < 60) {   /* Ethernet minimum, zero padded as a NIC would */
		memset(o->f[0] + o->len[0], 0, (size_t)(60 - o->len[0]));
		o->len[0] = 60;
	}
	if (k->truncate_to)
		o->len[0] = k->truncate_to;
	o->cnt = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: craft --iface IF (--all | --case NAME ...) [--repeat N] [--gap-us U]\n"
		   "             [--smac M] [--dmac M] [--src A] [--dst A] [--src6 A] [--dst6 A]\n"
		   "             [--port P] [--sport P]\n"
		   "       craft --list\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' }, { "all", no_argument, NULL, 'a' },
		{ "case", required_argument, NULL, 'c' },  { "list", no_argument, NULL, 'l' },
		{ "repeat", required_argument, NULL, 'r' }, { "gap-us", required_argument, NULL, 'g' },
		{ "smac", required_argument, NULL, 'S' },  { "dmac", required_argument, NULL, 'D' },
		{ "src", required_argument, NULL, 's' },   { "dst", required_argument, NULL, 'd' },
		{ "src6", required_argument, NULL, '6' },  { "dst6", required_argument, NULL, '7' },
		{ "port", required_argument, NULL, 'p' },  { "sport", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },        { 0 }
	};
	struct addrs a = { .dport = 9000, .sport = 31000 };
	bool sel[KASE_CNT] = { false }, any = false;
	const char *ifname = NULL;
	unsigned repeat = 1, gap_us = 2000, sent = 0, failed = 0;
	int c, fd;

	parse_mac("02:00:00:00:00:0a", a.smac);
	parse_mac("02:00:00:00:00:0b", a.dmac);
	inet_pton(AF_INET, "198.18.0.1", a.src4);
	inet_pton(AF_INET, "198.18.0.2", a.dst4);
	inet_pton(AF_INET6, "2001:2::1", a.src6);
	inet_pton(AF_INET6, "2001:2::2", a.dst6);

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': ifname = optarg; break;
		case 'a':
			for (size_t i = 0; i < KASE_CNT; i++)
				sel[i] = true;
			any = true;
			break;
		case 'c': {
			size_t i;
			for (i = 0; i < KASE_CNT; i++)
				if (!strcmp(kases[i].name, optarg))
					break;
			if (i == KASE_CNT) {
				fprintf(stderr, "craft: unknown case '%s' (see --list)\n", optarg);
				return 2;
			}
			sel[i] = any = true;
			break;
		}
		case 'l':
			for (size_t i = 0; i < KASE_CNT; i++)
				printf("%s\t%s\n", kases[i].name, kases[i].what);
			return 0;
		case 'r': repeat = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'g': gap_us = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'S': if (parse_mac(optarg, a.smac)) return 2; break;
		case 'D': if (parse_mac(optarg, a.dmac)) return 2; break;
		case 's': if (inet_pton(AF_INET, optarg, a.src4) != 1) return 2; break;
		case 'd': if (inet_pton(AF_INET, optarg, a.dst4) != 1) return 2; break;
		case '6': if (inet_pton(AF_INET6, optarg, a.src6) != 1) return 2; break;
		case '7': if (inet_pton(AF_INET6, optarg, a.dst6) != 1) return 2; break;
		case 'p': a.dport = (uint16_t)strtoul(optarg, NULL, 0); break;
		case 'P': a.sport = (uint16_t)strtoul(optarg, NULL, 0); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!ifname || !any) {
		usage(stderr);
		return 2;
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);   /* protocol 0: send only */
	if (fd < 0) {
		fprintf(stderr, "craft: socket(AF_PACKET): %s\n", strerror(errno));
		return 1;
	}
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_halen = 6 };
	ll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!ll.sll_ifindex) {
		fprintf(stderr, "craft: no interface %s\n", ifname);
		return 1;
	}
	for (unsigned r = 0; r < repeat; r++)
		for (size_t i = 0; i < KASE_CNT; i++) {
			struct out o;

			if (!sel[i])
				continue;
			build(&kases[i], &a, &o);
			for (int j = 0; j < o.cnt; j++) {
				memcpy(ll.sll_addr, o.f[j], 6);
				if (sendto(fd, o.f[j], (size_t)o.len[j], 0, (struct sockaddr *)&ll, sizeof(ll)) !=
				    o.len[j]) {
					fprintf(stderr, "craft: send %s: %s\n", kases[i].name, strerror(errno));
					failed++;
				} else {
					sent++;
				}
				if (gap_us)
					usleep(gap_us);
			}
		}
	printf("craft: sent=%u failed=%u\n", sent, failed);
	close(fd);
	return failed ? 1 : 0;
}
