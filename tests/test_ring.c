/* test_ring.c - unit tests for ring/: the inline ring operations of ring.h
 * against fake producer/consumer words, and the pure functions of
 * ring/frame.c (frame validation, checksum, iovec copy, source address),
 * and the UMEM fill policy (ring/xsk.c) on a fake fill ring.
 * Needs no privileges.  One PASS:/FAIL: line per check (tests/README.conventions).
 *
 *   test_ring                     run the tests
 *   test_ring --bench             time ring_csum_partial and ring_frame_parse
 *   test_ring --write-corpus DIR  write the valid test frames as fuzz seeds
 *
 * Frames are built here with a deliberately naive RFC 1071 reference
 * checksum (byte pairs, 32-bit sum), independent of ring_csum_partial.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ring/ring.h"

static int fail_cnt, pass_cnt;

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (ok)
		pass_cnt++;
	else
		fail_cnt++;
}

static const char *err_names[] = { RING_FRAME_ERR_NAMES };

static const char *err_name(int rc)
{
	static char buf[4][32];
	static int slot;
	if (rc <= 0 && -rc < RING_FRAME_ERR_CNT)
		return err_names[-rc];
	slot = (slot + 1) % 4;
	snprintf(buf[slot], sizeof(buf[slot]), "?%d", rc);
	return buf[slot];
}

/* xorshift64*: deterministic, seedable */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* ====================================================================== */
/* Reference checksum (RFC 1071, the obvious way)                          */
/* ====================================================================== */

static uint32_t ref_sum(const uint8_t *p, size_t n, uint32_t s)
{
	size_t i;
	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

/* Folded ones' complement sum, host order, not complemented. */
static uint16_t ref_fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* ring_csum_fold's result is in network order (see frame.c). */
static uint16_t lib_sum(const void *p, size_t n, uint64_t acc)
{
	return ntohs(ring_csum_fold(ring_csum_partial(p, n, acc)));
}

/* ====================================================================== */
/* Frame builder                                                           */
/* ====================================================================== */

#define FRAME_MAX 2048

enum { CS_GOOD, CS_ZERO };

struct spec {
	int      family;         /* 4 or 6 */
	int      vlan_cnt;       /* 0..3 */
	uint16_t tpid[3];
	uint16_t vid[3];
	uint16_t etype;          /* 0: from family */
	int      ihl;            /* IPv4, 5..15 */
	uint8_t  tos, ttl;
	uint16_t frag;           /* IPv4 flags+offset, host order */
	uint8_t  proto;          /* IPv4 protocol / IPv6 next header */
	uint32_t flow;           /* IPv6 flow label */
	uint8_t  saddr[16], daddr[16];
	uint16_t sport, dport;   /* host order */
	uint32_t pay_sz;
	uint8_t  pay_seed;
	uint32_t pad;            /* trailing bytes after the IP datagram */
	int      csum;
};

struct frame {
	uint8_t  b[FRAME_MAX];
	uint32_t len;            /* including padding */
	uint32_t l3, l4, ip_end;
	int      family;
};

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static struct spec spec_v4(void)
{
	struct spec s = {
		.family = 4, .ihl = 5, .tos = 0x2e, .ttl = 61, .frag = 0x4000,
		.proto = 17, .saddr = { 198, 18, 0, 1 }, .daddr = { 198, 19, 255, 254 },
		.sport = 40001, .dport = 8001, .pay_sz = 64, .pay_seed = 1,
		.tpid = { 0x8100, 0x8100, 0x8100 }, .vid = { 10, 20, 30 },
	};
	return s;
}

static struct spec spec_v6(void)
{
	struct spec s = {
		.family = 6, .tos = 0xb8, .ttl = 7, .flow = 0xabcde, .proto = 17,
		.saddr = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34 },
		.daddr = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0xfe, 0xdc, 0, 2 },
		.sport = 1234, .dport = 65535, .pay_sz = 100, .pay_seed = 2,
		.tpid = { 0x8100, 0x8100, 0x8100 }, .vid = { 10, 20, 30 },
	};
	return s;
}

/* Recompute the IPv4 header checksum after editing the header. */
static void fix_ip4(struct frame *f)
{
	uint8_t *ip = f->b + f->l3;
	uint32_t ihl = (ip[0] & 0x0f) * 4u;
	put16(ip + 10, 0);
	put16(ip + 10, (uint16_t)~ref_fold(ref_sum(ip, ihl, 0)));
}

/* Reference UDP checksum over pseudo-header + UDP header/payload, with the
 * checksum field taken as 0; length from the UDP header. */
static uint16_t ref_udp_csum(const struct frame *f)
{
	const uint8_t *ip = f->b + f->l3, *udp = f->b + f->l4;
	uint32_t ulen = get16(udp + 4), s;
	uint8_t pseudo[40];

	if (f->family == 4) {
		memcpy(pseudo, ip + 12, 8);
		pseudo[8] = 0;
		pseudo[9] = 17;
		put16(pseudo + 10, (uint16_t)ulen);
		s = ref_sum(pseudo, 12, 0);
	} else {
		memcpy(pseudo, ip + 8, 32);
		pseudo[32] = pseudo[33] = 0;
		put16(pseudo + 34, (uint16_t)ulen);
		pseudo[36] = pseudo[37] = pseudo[38] = 0;
		pseudo[39] = 17;
		s = ref_sum(pseudo, 40, 0);
	}
	s = ref_sum(udp, 6, s);                  /* ports, length */
	s = ref_sum(udp + 8, ulen - 8, s);       /* payload */
	return (uint16_t)~ref_fold(s);
}

static void fix_udp(struct frame *f)
{
	uint16_t c = ref_udp_csum(f);
	put16(f->b + f->l4 + 6, c ? c : 0xffff);
}

static void build(struct frame *f, const struct spec *s)
{
	uint8_t *b = f->b;
	uint32_t off = 12, ihl, i, udp_len = 8 + s->pay_sz;
	int v;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < 6; i++) {
		b[i] = (uint8_t)(0x02 + i);          /* dst */
		b[6 + i] = (uint8_t)(0x0a + i);      /* src */
	}
	for (v = 0; v < s->vlan_cnt; v++) {
		put16(b + off, s->tpid[v]);
		put16(b + off + 2, s->vid[v]);
		off += 4;
	}
	put16(b + off, s->etype ? s->etype : s->family == 4 ? 0x0800 : 0x86dd);
	off += 2;
	f->l3 = off;
	f->family = s->family;
	if (s->family == 4) {
		uint8_t *ip = b + off;
		ihl = (uint32_t)s->ihl * 4;
		ip[0] = (uint8_t)(0x40 | s->ihl);
		ip[1] = s->tos;
		put16(ip + 2, (uint16_t)(ihl + udp_len));
		put16(ip + 4, 0x1234);
		put16(ip + 6, s->frag);
		ip[8] = s->ttl;
		ip[9] = s->proto;
		memcpy(ip + 12, s->saddr, 4);
		memcpy(ip + 16, s->daddr, 4);
		for (i = 20; i < ihl; i++)           /* options: NOPs, then EOL */
			ip[i] = i + 1 < ihl ? 0x01 : 0x00;
		f->l4 = off + ihl;
		fix_ip4(f);
	} else {
		uint8_t *ip = b + off;
		uint32_t w = 6u << 28 | (uint32_t)s->tos << 20 | (s->flow & 0xfffff);
		ip[0] = w >> 24; ip[1] = (w >> 16) & 0xff; ip[2] = (w >> 8) & 0xff; ip[3] = w & 0xff;
		put16(ip + 4, (uint16_t)udp_len);
		ip[6] = s->proto;
		ip[7] = s->ttl;
		memcpy(ip + 8, s->saddr, 16);
		memcpy(ip + 24, s->daddr, 16);
		f->l4 = off + 40;
	}
	put16(b + f->l4, s->sport);
	put16(b + f->l4 + 2, s->dport);
	put16(b + f->l4 + 4, (uint16_t)udp_len);
	for (i = 0; i < s->pay_sz; i++)
		b[f->l4 + 8 + i] = (uint8_t)(s->pay_seed * 31 + i * 7 + (i >> 8));
	f->ip_end = f->l4 + udp_len;
	for (i = 0; i < s->pad; i++)
		b[f->ip_end + i] = 0;
	f->len = f->ip_end + s->pad;
	if (s->csum == CS_GOOD)
		fix_udp(f);
	else
		put16(b + f->l4 + 6, 0);
}

/* Make the datagram's true checksum 0 by choosing the last two payload
 * bytes (payload length even, >= 2), so the field must carry 0xffff. */
static void force_csum_ffff(struct frame *f)
{
	uint8_t *w = f->b + f->ip_end - 2;
	uint16_t c;
	put16(w, 0);
	c = ref_udp_csum(f);                 /* ~sum with w = 0 */
	/* sum + w == 0xffff  <=>  w = ~sum = c; then ~(sum + w) = 0 */
	put16(w, c);
	fix_udp(f);
}

/* ====================================================================== */
/* Ring operations                                                         */
/* ====================================================================== */

static void test_ring_cons(void)
{
	struct xdp_desc descs[8];
	uint32_t prod, cons, flags = 0, idx = 0, n, i;
	const uint32_t start = 0xfffffffdu;     /* wraps after 3 entries */
	struct ring_q r = {
		.mask = 7, .size = 8, .producer = &prod, .consumer = &cons,
		.ring = descs, .flags = &flags,
	};
	bool ok;

	memset(descs, 0, sizeof(descs));
	prod = cons = start;
	r.cached_prod = r.cached_cons = start;

	check(ring_cons_peek(&r, 4, &idx) == 0 && ring_cons_avail(&r) == 0,
	      "rx: empty ring peeks 0, avail 0");

	/* the "kernel" produces 6 descriptors across the 2^32 wrap */
	for (i = 0; i < 6; i++) {
		descs[(start + i) & 7].addr = 0x1000u * (i + 1);
		descs[(start + i) & 7].len = 100 + i;
	}
	prod = start + 6;
	check(ring_cons_avail(&r) == 6, "rx: avail counts 6 across the 2^32 wrap");

	n = ring_cons_peek(&r, 4, &idx);
	ok = n == 4 && idx == start && r.cached_cons == start + 4 && cons == start;
	for (i = 0; ok && i < n; i++)
		ok = ring_rx_desc(&r, idx + i)->addr == 0x1000u * (i + 1);
	check(ok, "rx: partial peek of 4 of 6 returns the first 4 descriptors in order");

	/* more arrive; the cached producer still has 2, so peek must not
	 * reload it and returns just those */
	descs[(start + 6) & 7].addr = 0x7000;
	descs[(start + 7) & 7].addr = 0x8000;
	prod = start + 8;
	n = ring_cons_peek(&r, 8, &idx);
	check(n == 2 && idx == start + 4 && r.cached_prod == start + 6,
	      "rx: peek uses the cached producer while it has entries (got %u)", n);

	ring_cons_cancel(&r, 2);
	n = ring_cons_peek(&r, 1, &idx);
	check(n == 1 && idx == start + 4 && ring_rx_desc(&r, idx)->addr == 0x5000,
	      "rx: cancel un-peeks (MSG_PEEK sees the same descriptor again)");
	ring_cons_cancel(&r, 1);

	ring_cons_release(&r, 4);
	check(cons == start + 4 && ring_cons_avail(&r) == 4,
	      "rx: release 4 advances the consumer word, avail 4");

	n = ring_cons_peek(&r, 8, &idx);
	ok = n == 2 && idx == start + 4;
	n = ring_cons_peek(&r, 8, &idx);        /* cache empty: reloads */
	ok = ok && n == 2 && idx == start + 6 && r.cached_prod == start + 8 &&
	     ring_rx_desc(&r, idx + 1)->addr == 0x8000;
	check(ok, "rx: empty cache reloads the producer and sees the new entries");

	ring_cons_release(&r, 4);
	check(cons == start + 8 && cons == r.cached_cons && cons == 5 &&
	      ring_cons_avail(&r) == 0 && ring_cons_peek(&r, 8, &idx) == 0,
	      "rx: releasing everything peeked leaves consumer == cached == producer (wrapped to 5)");

	check(ring_rx_desc(&r, 0xffffffffu) == &descs[7] && ring_rx_desc(&r, 8) == &descs[0],
	      "rx: descriptor index is masked");
}

static void test_ring_prod(void)
{
	uint64_t addrs[8];
	uint32_t prod, cons, flags = 0, idx = 0xdead, n, i;
	const uint32_t start = 0xfffffffau;
	struct ring_q r = {
		.mask = 7, .size = 8, .producer = &prod, .consumer = &cons,
		.ring = addrs, .flags = &flags,
	};
	bool ok;

	memset(addrs, 0, sizeof(addrs));
	prod = cons = start;
	/* as after xsk setup: cached_cons is consumer + size */
	r.cached_prod = start;
	r.cached_cons = start + 8;

	n = ring_prod_reserve(&r, 5, &idx);
	ok = n == 5 && idx == start && r.cached_prod == start + 5 && prod == start;
	for (i = 0; i < n; i++)
		*ring_fill_addr(&r, idx + i) = 0x100u * i;
	check(ok, "fill: reserve 5 of 8 on an empty ring");
	ring_prod_submit(&r, 5);
	check(prod == start + 5 && addrs[(start + 4) & 7] == 0x400,
	      "fill: submit publishes 5 across the 2^32 wrap");

	idx = 0xdead;
	n = ring_prod_reserve(&r, 4, &idx);
	check(n == 0 && idx == 0xdead && r.cached_prod == start + 5,
	      "fill: reserving 4 with 3 free fails and reserves nothing");
	n = ring_prod_reserve(&r, 3, &idx);
	check(n == 3 && idx == start + 5, "fill: reserving exactly the 3 free succeeds");
	ring_prod_submit(&r, 3);
	check(ring_prod_reserve(&r, 1, &idx) == 0, "fill: full ring refuses even 1");

	/* the kernel consumes 2: the cached consumer is stale until the next
	 * reserve that does not fit in the cache */
	cons = start + 2;
	n = ring_prod_reserve(&r, 2, &idx);
	check(n == 2 && idx == start + 8 && r.cached_cons == start + 2 + 8,
	      "fill: reserve reloads the consumer when the cache is short");
	ring_prod_submit(&r, 2);
	check(prod == start + 10 && prod == 4 && r.cached_prod == prod,
	      "fill: producer word accounts every submitted entry (wrapped to 4)");
	check(ring_fill_addr(&r, start + 8) == &addrs[2], "fill: address index is masked");

	check(!ring_prod_needs_wakeup(&r), "fill: needs_wakeup false without the flag");
	flags = XDP_RING_NEED_WAKEUP;
	check(ring_prod_needs_wakeup(&r), "fill: needs_wakeup true with XDP_RING_NEED_WAKEUP");
}

/* ====================================================================== */
/* Checksum                                                                */
/* ====================================================================== */

static void test_csum(void)
{
	static uint8_t buf[2048 + 16];
	uint32_t len, off, bad = 0, bad_acc = 0, bad_chain = 0;
	size_t i;

	/* RFC 1071 section 3 example: sum 0xddf2 */
	static const uint8_t rfc[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	check(lib_sum(rfc, 8, 0) == 0xddf2, "csum: RFC 1071 example sums to 0xddf2 (got 0x%04x)",
	      lib_sum(rfc, 8, 0));
	/* a real IPv4 header with checksum b861: sums to 0xffff */
	static const uint8_t iph[] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
				       0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	check(ring_csum_fold(ring_csum_partial(iph, 20, 0)) == 0xffff,
	      "csum: valid IPv4 header sums to 0xffff");
	check(lib_sum(iph, 0, 0) == 0 && lib_sum(rfc, 1, 0) == 0x0000 && lib_sum(rfc + 2, 1, 0) == 0xf200,
	      "csum: empty buffer and single odd bytes (padded as high byte)");

	/* fold edge cases against the reference */
	static const uint64_t fv[] = { 0, 1, 0xffff, 0x10000, 0x1fffe, 0xffffffffu, 0x100000000ull,
				       0xffffffffffffffffull, 0xfffffffffffffffeull, 0x8000800080008000ull };
	bool ok = true;
	for (i = 0; i < sizeof(fv) / sizeof(fv[0]); i++) {
		uint64_t x = fv[i];
		/* reference fold via 16-bit lanes (exact for any 64-bit value) */
		uint16_t want = ref_fold((x & 0xffff) + (x >> 16 & 0xffff) + (x >> 32 & 0xffff) + (x >> 48));
		ok = ok && ring_csum_fold(x) == want;
	}
	for (i = 0; i < 100000; i++) {
		uint64_t x = rnd();
		uint16_t want = ref_fold((x & 0xffff) + (x >> 16 & 0xffff) + (x >> 32 & 0xffff) + (x >> 48));
		ok = ok && ring_csum_fold(x) == want;
	}
	check(ok, "csum: ring_csum_fold matches the reference on edge and 100000 random values");

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd();
	for (len = 0; len <= 2048; len++) {
		for (off = 0; off < 8; off++) {
			const uint8_t *p = buf + off;
			uint16_t want = ref_fold(ref_sum(p, len, 0));
			uint64_t acc = rnd();
			uint16_t acc16 = ntohs(ring_csum_fold(acc));
			uint32_t split;

			if (lib_sum(p, len, 0) != want && bad++ < 3)
				printf("  csum mismatch len=%u off=%u: 0x%04x != 0x%04x\n",
				       len, off, lib_sum(p, len, 0), want);
			/* an initial accumulator is added ones'-complement style */
			if (lib_sum(p, len, acc) != ref_fold((uint32_t)want + acc16))
				bad_acc++;
			/* chaining at an even split equals one call */
			split = (uint32_t)(rnd() % (len + 1)) & ~1u;
			if (ring_csum_fold(ring_csum_partial(p + split, len - split,
							     ring_csum_partial(p, split, 0))) !=
			    ring_csum_fold(ring_csum_partial(p, len, 0)))
				bad_chain++;
		}
	}
	check(bad == 0, "csum: matches the reference for every length 0..2048 at offsets 0..7 (%u bad)", bad);
	check(bad_acc == 0, "csum: random initial accumulators add correctly (%u bad)", bad_acc);
	check(bad_chain == 0, "csum: chaining at even splits equals one call (%u bad)", bad_chain);

	/* all-0xff data: maximal carries (sum is -0, folds to 0xffff) */
	memset(buf, 0xff, sizeof(buf));
	bad = 0;
	for (len = 2; len <= 2048; len += 2)
		if (lib_sum(buf, len, 0xffffffffffffffffull) != 0xffff)
			bad++;
	check(bad == 0, "csum: all-ones buffers with an all-ones accumulator fold to 0xffff");
}

/* ====================================================================== */
/* Frame parsing                                                           */
/* ====================================================================== */

static int parse(const struct frame *f, uint32_t len, enum ring_csum_mode m, struct ring_frame_info *info)
{
	struct ring_frame_info tmp;
	/* copy to an exactly sized heap buffer so ASan/valgrind see any
	 * read past len */
	uint8_t *b = malloc(len ? len : 1);
	int rc;

	if (!b)
		abort();
	memcpy(b, f->b, len);
	rc = ring_frame_parse(b, len, m, info ? info : &tmp);
	free(b);
	return rc;
}

static void expect(const char *what, const struct frame *f, enum ring_csum_mode m, int want)
{
	int rc = parse(f, f->len, m, NULL);
	check(rc == want, "parse: %s -> %s (got %s)", what, err_name(want), err_name(rc));
}

/* A UDP length shorter than the IP payload trims the datagram (udp_rcv's
 * pskb_trim_rcsum): accepted, with the payload cut to the UDP length. */
static void expect_trimmed(const char *what, const struct frame *f, enum ring_csum_mode m)
{
	struct ring_frame_info info;
	uint32_t want = (uint32_t)get16(f->b + f->l4 + 4) - 8;
	int rc = parse(f, f->len, m, &info);

	check(rc == 0 && info.payload_sz == want, "parse: %s -> ok, payload trimmed to %u bytes (got %s, %u)",
	      what, want, err_name(rc), rc == 0 ? info.payload_sz : 0);
}

/* Parse a good frame and compare every field of ring_frame_info. */
static void expect_good(const char *what, const struct frame *f, const struct spec *s)
{
	struct ring_frame_info info;
	char why[128] = "";
	int rc;

	memset(&info, 0xaa, sizeof(info));
	rc = parse(f, f->len, RING_CSUM_VERIFY, &info);
	if (rc) {
		snprintf(why, sizeof(why), "rc %s", err_name(rc));
	} else {
		uint8_t sa[16] = { 0 }, da[16] = { 0 };
		memcpy(sa, s->saddr, s->family == 4 ? 4 : 16);
		memcpy(da, s->daddr, s->family == 4 ? 4 : 16);
		if (info.family != s->family)
			snprintf(why, sizeof(why), "family %u", info.family);
		else if (info.tos != s->tos)
			snprintf(why, sizeof(why), "tos 0x%x", info.tos);
		else if (info.ttl != s->ttl)
			snprintf(why, sizeof(why), "ttl %u", info.ttl);
		else if (info.vlan_cnt != s->vlan_cnt)
			snprintf(why, sizeof(why), "vlan_cnt %u", info.vlan_cnt);
		else if (info.sport != htons(s->sport) || info.dport != htons(s->dport))
			snprintf(why, sizeof(why), "ports %u %u", ntohs(info.sport), ntohs(info.dport));
		else if (memcmp(info.saddr, sa, 16) || memcmp(info.daddr, da, 16))
			snprintf(why, sizeof(why), "addresses");
		else if (info.payload_off != f->l4 + 8)
			snprintf(why, sizeof(why), "payload_off %u != %u", info.payload_off, f->l4 + 8);
		else if (info.payload_sz != s->pay_sz)
			snprintf(why, sizeof(why), "payload_sz %u != %u", info.payload_sz, s->pay_sz);
		else if (info.payload_off + info.payload_sz > f->len)
			snprintf(why, sizeof(why), "payload past the frame");
	}
	check(!why[0], "parse: %s accepted, every info field right%s%s", what, why[0] ? ": " : "", why);
	/* the checksum-off path must agree */
	if (!why[0]) {
		struct ring_frame_info i2;
		memset(&i2, 0xaa, sizeof(i2));
		rc = parse(f, f->len, RING_CSUM_OFF, &i2);
		check(rc == 0 && !memcmp(&i2, &info, sizeof(info)),
		      "parse: %s gives the same info with checksums off", what);
	}
}

/* Every cut inside the datagram is TRUNC; cuts in trailing padding are OK. */
static void expect_trunc_all(const char *what, const struct frame *f)
{
	uint32_t cut, bad = 0, cnt = 0;
	for (cut = 0; cut < f->len; cut++) {
		int want = cut < f->ip_end ? -RING_FRAME_TRUNC : 0;
		int rc = parse(f, cut, RING_CSUM_VERIFY, NULL);
		int rc2 = parse(f, cut, RING_CSUM_OFF, NULL);
		cnt++;
		if ((rc != want || rc2 != want) && bad++ < 3)
			printf("  %s cut at %u: got %s/%s want %s\n", what, cut, err_name(rc),
			       err_name(rc2), err_name(want));
	}
	check(bad == 0, "parse: %s truncated at each of its %u byte boundaries -> trunc (ok in padding)",
	      what, cnt);
}

/* Single-bit flips anywhere in the checksummed part must be caught. */
static void expect_bitflips_caught(const char *what, const struct frame *f, uint32_t from)
{
	struct frame g;
	uint32_t pos, bit, bad = 0, cnt = 0;

	for (pos = from; pos < f->ip_end; pos++) {
		for (bit = 0; bit < 8; bit++) {
			int rc;
			g = *f;
			g.b[pos] ^= (uint8_t)(1u << bit);
			/* IPv4: a checksum field flipped to 0 means "none" */
			if (f->family == 4 && pos >= f->l4 + 6 && pos < f->l4 + 8 &&
			    get16(g.b + f->l4 + 6) == 0)
				continue;
			rc = parse(&g, g.len, RING_CSUM_VERIFY, NULL);
			cnt++;
			if (rc == 0 && bad++ < 3)
				printf("  %s: flip of bit %u at %u accepted\n", what, bit, pos);
		}
	}
	check(bad == 0, "parse: %s: all %u single-bit flips in IP/UDP rejected", what, cnt);
}

static void test_parse_good(void)
{
	struct frame f;
	struct spec s;
	char name[64];
	int ihl, v;

	s = spec_v4();
	build(&f, &s);
	expect_good("ipv4", &f, &s);
	expect_trunc_all("ipv4", &f);
	expect_bitflips_caught("ipv4", &f, f.l3);

	for (v = 1; v <= 2; v++) {
		s = spec_v4();
		s.vlan_cnt = v;
		s.tpid[0] = v == 2 ? 0x88a8 : 0x8100;
		build(&f, &s);
		snprintf(name, sizeof(name), "ipv4 with %d VLAN tag%s", v, v > 1 ? "s (88a8+8100)" : "");
		expect_good(name, &f, &s);
		expect_trunc_all(name, &f);
	}
	s = spec_v4();
	s.vlan_cnt = 2;                        /* 8100 + 8100 (QinQ, old style) */
	build(&f, &s);
	expect_good("ipv4 with 2 VLAN tags (8100+8100)", &f, &s);
	s.tpid[0] = s.tpid[1] = 0x88a8;
	build(&f, &s);
	expect_good("ipv4 with 2 VLAN tags (88a8+88a8)", &f, &s);

	for (ihl = 6; ihl <= 15; ihl++) {
		s = spec_v4();
		s.ihl = ihl;
		s.vlan_cnt = ihl & 1;
		build(&f, &s);
		snprintf(name, sizeof(name), "ipv4 IHL %d (options)%s", ihl, s.vlan_cnt ? " + VLAN" : "");
		expect_good(name, &f, &s);
		if (ihl == 15) {
			expect_trunc_all(name, &f);
			expect_bitflips_caught(name, &f, f.l3);
		}
	}

	s = spec_v4();
	s.pay_sz = 2;
	s.pad = 60 - (14 + 20 + 8 + 2);
	build(&f, &s);
	expect_good("ipv4 2-byte payload + Ethernet padding to 60", &f, &s);
	expect_trunc_all("ipv4 padded", &f);
	s.pad = 1000;                           /* any trailing junk is ignored */
	build(&f, &s);
	memset(f.b + f.ip_end, 0x5a, s.pad);
	expect_good("ipv4 with 1000 trailing bytes", &f, &s);

	s = spec_v4();
	s.pay_sz = 0;
	s.pad = 18;
	build(&f, &s);
	expect_good("ipv4 zero-length payload (padded)", &f, &s);
	s = spec_v6();
	s.pay_sz = 0;
	build(&f, &s);
	expect_good("ipv6 zero-length payload", &f, &s);
	expect_trunc_all("ipv6 zero-length payload", &f);

	s = spec_v4();
	s.pay_sz = 1472;
	build(&f, &s);
	expect_good("ipv4 1472-byte payload", &f, &s);
	s = spec_v6();
	s.pay_sz = 1452;
	s.vlan_cnt = 1;
	build(&f, &s);
	expect_good("ipv6 1452-byte payload + VLAN", &f, &s);
	s = spec_v4();
	s.pay_sz = 333;                         /* odd length: padded checksum */
	build(&f, &s);
	expect_good("ipv4 odd payload (333)", &f, &s);
	s = spec_v6();
	s.pay_sz = 777;
	build(&f, &s);
	expect_good("ipv6 odd payload (777)", &f, &s);

	s = spec_v4();
	s.frag = 0;                             /* no DF: still not a fragment */
	s.tos = 0xff;
	s.ttl = 255;
	build(&f, &s);
	expect_good("ipv4 without DF, tos 0xff, ttl 255", &f, &s);

	s = spec_v6();
	build(&f, &s);
	expect_good("ipv6", &f, &s);
	expect_trunc_all("ipv6", &f);
	expect_bitflips_caught("ipv6", &f, f.l3 + 8);  /* hop limit etc. are not checksummed */
	for (v = 1; v <= 2; v++) {
		s = spec_v6();
		s.vlan_cnt = v;
		s.tpid[0] = v == 2 ? 0x88a8 : 0x8100;
		build(&f, &s);
		snprintf(name, sizeof(name), "ipv6 with %d VLAN tag%s", v, v > 1 ? "s" : "");
		expect_good(name, &f, &s);
		expect_trunc_all(name, &f);
	}
	s = spec_v6();
	s.pad = 7;
	build(&f, &s);
	expect_good("ipv6 with trailing bytes", &f, &s);
	s = spec_v6();
	s.tos = 0x0f;                           /* straddles the nibble boundary */
	s.saddr[0] = 0xfe;
	s.saddr[1] = 0x80;
	build(&f, &s);
	expect_good("ipv6 link-local source, traffic class 0x0f", &f, &s);
}

static void test_parse_csum(void)
{
	struct frame f;
	struct spec s;

	s = spec_v4();
	build(&f, &s);
	f.b[f.ip_end - 1] ^= 0x01;
	expect("ipv4 bad UDP checksum", &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_CSUM);
	expect("ipv4 bad UDP checksum, checksums off", &f, RING_CSUM_OFF, 0);
	s.pay_sz = 1;
	build(&f, &s);
	f.b[f.ip_end - 1] ^= 0x80;
	expect("ipv4 bad UDP checksum in an odd last byte", &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_CSUM);

	s = spec_v6();
	build(&f, &s);
	f.b[f.l3 + 8] ^= 0x40;                  /* source address: pseudo-header */
	expect("ipv6 source address changed (pseudo-header)", &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_CSUM);
	expect("ipv6 source address changed, checksums off", &f, RING_CSUM_OFF, 0);
	build(&f, &s);
	f.b[f.l4 + 6] ^= 0x10;
	expect("ipv6 bad UDP checksum field", &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_CSUM);

	s = spec_v4();
	s.csum = CS_ZERO;
	build(&f, &s);
	expect("ipv4 UDP checksum 0 (not computed)", &f, RING_CSUM_VERIFY, 0);
	f.b[f.ip_end - 1] ^= 0xff;
	expect("ipv4 UDP checksum 0 with altered payload", &f, RING_CSUM_VERIFY, 0);
	s = spec_v6();
	s.csum = CS_ZERO;
	build(&f, &s);
	expect("ipv6 UDP checksum 0", &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_CSUM);
	expect("ipv6 UDP checksum 0, checksums off", &f, RING_CSUM_OFF, 0);

	/* computed checksum 0 travels as 0xffff */
	s = spec_v4();
	build(&f, &s);
	force_csum_ffff(&f);
	check(get16(f.b + f.l4 + 6) == 0xffff, "builder: forced a datagram whose checksum is 0xffff");
	expect("ipv4 computed checksum 0 sent as 0xffff", &f, RING_CSUM_VERIFY, 0);
	s = spec_v6();
	build(&f, &s);
	force_csum_ffff(&f);
	expect("ipv6 computed checksum 0 sent as 0xffff", &f, RING_CSUM_VERIFY, 0);
	put16(f.b + f.l4 + 6, 0);
	expect("ipv6 computed checksum 0 sent as 0", &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_CSUM);
}

static void test_parse_bad(void)
{
	struct frame f;
	struct spec s;
	char name[64];
	int i;

	/* IPv4 header */
	s = spec_v4();
	build(&f, &s);
	f.b[f.l3] = 0x65;
	fix_ip4(&f);
	expect("ipv4 ethertype, version 6", &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_IP);
	f.b[f.l3] = 0x55;
	fix_ip4(&f);
	expect("ipv4 ethertype, version 5", &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_IP);
	for (i = 0; i < 5; i++) {
		build(&f, &s);
		f.b[f.l3] = (uint8_t)(0x40 | i);
		snprintf(name, sizeof(name), "ipv4 IHL %d", i);
		expect(name, &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_IP);
	}
	build(&f, &s);
	f.b[f.l3 + 10] ^= 0x01;
	expect("ipv4 bad header checksum", &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_IP);
	expect("ipv4 bad header checksum, checksums off", &f, RING_CSUM_OFF, -RING_FRAME_BAD_IP);
	build(&f, &s);
	f.b[f.l3 + 8]--;                        /* TTL decremented, checksum not */
	expect("ipv4 TTL changed without checksum update", &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_IP);

	build(&f, &s);
	put16(f.b + f.l3 + 2, (uint16_t)(get16(f.b + f.l3 + 2) + 1));
	fix_ip4(&f);
	expect("ipv4 total length 1 past the frame", &f, RING_CSUM_VERIFY, -RING_FRAME_TRUNC);
	put16(f.b + f.l3 + 2, 0xffff);
	fix_ip4(&f);
	expect("ipv4 total length 65535", &f, RING_CSUM_VERIFY, -RING_FRAME_TRUNC);
	put16(f.b + f.l3 + 2, 19);
	fix_ip4(&f);
	expect("ipv4 total length < IHL*4", &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_IP);
	put16(f.b + f.l3 + 2, 0);
	fix_ip4(&f);
	expect("ipv4 total length 0", &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_IP);
	put16(f.b + f.l3 + 2, 27);
	fix_ip4(&f);
	expect("ipv4 total length IHL*4+7 (no room for UDP header)", &f, RING_CSUM_VERIFY,
	       -RING_FRAME_BAD_IP);

	/* IPv4 UDP length */
	build(&f, &s);
	put16(f.b + f.l3 + 2, (uint16_t)(get16(f.b + f.l3 + 2) - 4));
	fix_ip4(&f);
	expect("ipv4 total length shorter than UDP length", &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_UDPLEN);
	build(&f, &s);
	put16(f.b + f.l4 + 4, (uint16_t)(get16(f.b + f.l4 + 4) + 1));
	fix_udp(&f);
	expect("ipv4 UDP length > IP payload", &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_UDPLEN);
	build(&f, &s);
	put16(f.b + f.l4 + 4, (uint16_t)(get16(f.b + f.l4 + 4) - 1));
	fix_udp(&f);
	expect_trimmed("ipv4 UDP length < IP payload", &f, RING_CSUM_VERIFY);
	expect_trimmed("ipv4 UDP length < IP payload, checksums off", &f, RING_CSUM_OFF);
	for (i = 0; i < 8; i += 7) {
		build(&f, &s);
		put16(f.b + f.l4 + 4, (uint16_t)i);
		put16(f.b + f.l4 + 6, 0);
		snprintf(name, sizeof(name), "ipv4 UDP length %d", i);
		expect(name, &f, RING_CSUM_OFF, -RING_FRAME_BAD_UDPLEN);
	}
	s.pay_sz = 0;                           /* IP payload exactly 8 */
	build(&f, &s);
	put16(f.b + f.l4 + 4, 4);
	expect("ipv4 UDP length 4 in an 8-byte IP payload", &f, RING_CSUM_OFF, -RING_FRAME_BAD_UDPLEN);

	/* not ours */
	s = spec_v4();
	s.frag = 0x2000;
	build(&f, &s);
	expect("ipv4 first fragment (MF)", &f, RING_CSUM_VERIFY, -RING_FRAME_NOT_OURS);
	s.frag = 0x0001;
	build(&f, &s);
	expect("ipv4 later fragment (offset 8)", &f, RING_CSUM_VERIFY, -RING_FRAME_NOT_OURS);
	s.frag = 0x5fff;
	build(&f, &s);
	expect("ipv4 fragment with DF|MF|offset", &f, RING_CSUM_VERIFY, -RING_FRAME_NOT_OURS);
	s.frag = 0x00b9;                        /* short later fragment, tot_len < ihl+8 */
	s.pay_sz = 0;
	build(&f, &s);
	put16(f.b + f.l3 + 2, 24);
	fix_ip4(&f);
	expect("ipv4 4-byte later fragment", &f, RING_CSUM_VERIFY, -RING_FRAME_NOT_OURS);
	s = spec_v4();
	s.proto = 6;
	build(&f, &s);
	expect("ipv4 TCP", &f, RING_CSUM_VERIFY, -RING_FRAME_NOT_OURS);
	s.proto = 1;
	build(&f, &s);
	expect("ipv4 ICMP", &f, RING_CSUM_VERIFY, -RING_FRAME_NOT_OURS);
	s = spec_v4();
	s.etype = 0x0806;
	build(&f, &s);
	expect("ARP", &f, RING_CSUM_VERIFY, -RING_FRAME_NOT_OURS);
	s.vlan_cnt = 1;
	build(&f, &s);
	expect("ARP in a VLAN", &f, RING_CSUM_VERIFY, -RING_FRAME_NOT_OURS);
	s = spec_v4();
	s.etype = 0x0040;                       /* 802.3 length field */
	build(&f, &s);
	expect("802.3 length instead of ethertype", &f, RING_CSUM_VERIFY, -RING_FRAME_NOT_OURS);
	s = spec_v4();
	s.vlan_cnt = 3;
	build(&f, &s);
	expect("ipv4 behind 3 VLAN tags", &f, RING_CSUM_VERIFY, -RING_FRAME_NOT_OURS);
	s.tpid[1] = 0x9100;                     /* unknown TPID: not IP */
	s.vlan_cnt = 2;
	build(&f, &s);
	expect("ipv4 behind an unknown TPID 0x9100", &f, RING_CSUM_VERIFY, -RING_FRAME_NOT_OURS);

	/* IPv6 */
	s = spec_v6();
	build(&f, &s);
	f.b[f.l3] = (uint8_t)(0x40 | (f.b[f.l3] & 0x0f));
	expect("ipv6 ethertype, version 4", &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_IP);
	static const uint8_t nh[] = { 0, 43, 44, 60, 6, 58, 59 };
	static const char *nh_name[] = { "hop-by-hop", "routing", "fragment", "dest opts",
					 "TCP", "ICMPv6", "no next header" };
	for (i = 0; i < (int)sizeof(nh); i++) {
		s = spec_v6();
		s.proto = nh[i];
		build(&f, &s);
		snprintf(name, sizeof(name), "ipv6 next header %u (%s)", nh[i], nh_name[i]);
		expect(name, &f, RING_CSUM_VERIFY, -RING_FRAME_NOT_OURS);
	}
	s = spec_v6();
	build(&f, &s);
	put16(f.b + f.l3 + 4, (uint16_t)(get16(f.b + f.l3 + 4) + 1));
	expect("ipv6 payload length 1 past the frame", &f, RING_CSUM_VERIFY, -RING_FRAME_TRUNC);
	put16(f.b + f.l3 + 4, 7);
	expect("ipv6 payload length 7", &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_IP);
	put16(f.b + f.l3 + 4, 0);
	expect("ipv6 payload length 0 (jumbogram without hop-by-hop)", &f, RING_CSUM_VERIFY,
	       -RING_FRAME_BAD_IP);
	build(&f, &s);
	put16(f.b + f.l3 + 4, (uint16_t)(get16(f.b + f.l3 + 4) - 2));
	expect("ipv6 payload length < UDP length", &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_UDPLEN);
	build(&f, &s);
	put16(f.b + f.l4 + 4, (uint16_t)(get16(f.b + f.l4 + 4) + 2));
	fix_udp(&f);
	expect("ipv6 UDP length > payload length", &f, RING_CSUM_VERIFY, -RING_FRAME_BAD_UDPLEN);
	build(&f, &s);
	put16(f.b + f.l4 + 4, (uint16_t)(get16(f.b + f.l4 + 4) - 2));
	fix_udp(&f);
	expect_trimmed("ipv6 UDP length < payload length", &f, RING_CSUM_VERIFY);
	build(&f, &s);
	put16(f.b + f.l4 + 4, 3);
	expect("ipv6 UDP length 3", &f, RING_CSUM_OFF, -RING_FRAME_BAD_UDPLEN);

	/* tiny frames */
	s = spec_v4();
	build(&f, &s);
	check(parse(&f, 0, RING_CSUM_VERIFY, NULL) == -RING_FRAME_TRUNC &&
	      parse(&f, 13, RING_CSUM_VERIFY, NULL) == -RING_FRAME_TRUNC,
	      "parse: 0- and 13-byte frames -> trunc");
	s.etype = 0x0806;
	build(&f, &s);
	check(parse(&f, 14, RING_CSUM_VERIFY, NULL) == -RING_FRAME_NOT_OURS,
	      "parse: bare 14-byte ARP header -> not_ours");
}

/* Inputs once found by fuzz_frame (none so far) and hand-picked nasties
 * kept as regression cases: the parser must not read past len. */
static void test_parse_regress(void)
{
	static const uint8_t f1[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x81, 0x00, 0, 0 };
	static const uint8_t f2[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00, 0x4f };
	static const uint8_t f3[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x86, 0xdd, 0x60 };
	struct frame f;
	memset(&f, 0, sizeof(f));
	memcpy(f.b, f1, sizeof(f1));
	check(parse(&f, sizeof(f1), RING_CSUM_VERIFY, NULL) == -RING_FRAME_TRUNC,
	      "parse: VLAN tag cut after its TPID -> trunc");
	memcpy(f.b, f2, sizeof(f2));
	check(parse(&f, sizeof(f2), RING_CSUM_VERIFY, NULL) == -RING_FRAME_TRUNC,
	      "parse: IPv4 with IHL 15 and one header byte -> trunc");
	memcpy(f.b, f3, sizeof(f3));
	check(parse(&f, sizeof(f3), RING_CSUM_VERIFY, NULL) == -RING_FRAME_TRUNC,
	      "parse: IPv6 with one header byte -> trunc");
}

/* ====================================================================== */
/* Copy-out helpers                                                        */
/* ====================================================================== */

static void test_copy_to_iov(void)
{
	uint8_t src[64], a[5], c[7], d[100], e[4];
	size_t i, n;
	bool ok;

	for (i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i + 1);
	memset(a, 0, sizeof(a));
	memset(c, 0, sizeof(c));
	memset(d, 0xee, sizeof(d));
	struct iovec iov[] = {
		{ a, sizeof(a) }, { c, 0 }, { NULL, 10 }, { c, sizeof(c) }, { d, sizeof(d) },
	};
	n = ring_copy_to_iov(src, 20, iov, 5);
	ok = n == 20 && !memcmp(a, src, 5) && !memcmp(c, src + 5, 7) && !memcmp(d, src + 12, 8);
	for (i = 8; i < sizeof(d); i++)
		ok = ok && d[i] == 0xee;
	check(ok, "iov: 20 bytes over 5+0+NULL+7+100 iovecs land in order, nothing past 20");

	memset(d, 0xee, sizeof(d));
	memset(e, 0xee, sizeof(e));
	struct iovec small[] = { { a, 5 }, { c, 7 } };
	n = ring_copy_to_iov(src, 64, small, 2);
	check(n == 12 && !memcmp(c, src + 5, 7), "iov: 64 bytes into 12 bytes of iovecs copies 12");
	n = ring_copy_to_iov(src, 64, small, 0);
	check(n == 0, "iov: zero iovecs copy nothing");
	struct iovec exact[] = { { e, 0 }, { d, 3 }, { e, 4 } };
	n = ring_copy_to_iov(src + 10, 3, exact, 3);
	check(n == 3 && !memcmp(d, src + 10, 3) && d[3] == 0xee && e[0] == 0xee,
	      "iov: an exact fit stops before the next iovec");
	n = ring_copy_to_iov(src, 0, exact, 3);
	check(n == 0 && d[0] == src[10], "iov: zero-length payload copies nothing");
	struct iovec nulls[] = { { NULL, 0 }, { NULL, 100 }, { e, 0 } };
	check(ring_copy_to_iov(src, 10, nulls, 3) == 0, "iov: only NULL/zero iovecs copy nothing");
}

static void test_frame_src(void)
{
	struct ring_frame_info info;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	uint8_t raw[64];
	uint32_t rc, i;
	bool ok;
	static const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 1 };
	struct spec s6 = spec_v6();

	memset(&info, 0, sizeof(info));
	info.family = 4;
	info.sport = htons(40001);
	memcpy(info.saddr, (uint8_t[]){ 198, 18, 0, 1 }, 4);

	memset(&sin, 0xaa, sizeof(sin));
	rc = ring_frame_src(&info, false, &sin, sizeof(sin));
	check(rc == sizeof(sin) && sin.sin_family == AF_INET && sin.sin_port == htons(40001) &&
	      sin.sin_addr.s_addr == htonl(0xc6120001) &&
	      !memcmp(sin.sin_zero, "\0\0\0\0\0\0\0\0", 8),
	      "src: IPv4 -> sockaddr_in 198.18.0.1:40001, sin_zero cleared");

	memset(&sin6, 0xaa, sizeof(sin6));
	rc = ring_frame_src(&info, true, &sin6, sizeof(sin6));
	check(rc == sizeof(sin6) && sin6.sin6_family == AF_INET6 && sin6.sin6_port == htons(40001) &&
	      !memcmp(&sin6.sin6_addr, mapped, 16) && sin6.sin6_flowinfo == 0 && sin6.sin6_scope_id == 0,
	      "src: IPv4 on a dual-stack socket -> ::ffff:198.18.0.1");

	info.family = 6;
	info.sport = htons(1234);
	memcpy(info.saddr, s6.saddr, 16);
	memset(&sin6, 0xaa, sizeof(sin6));
	rc = ring_frame_src(&info, true, &sin6, sizeof(sin6));
	ok = rc == sizeof(sin6) && sin6.sin6_family == AF_INET6 && sin6.sin6_port == htons(1234) &&
	     !memcmp(&sin6.sin6_addr, s6.saddr, 16) && sin6.sin6_flowinfo == 0 && sin6.sin6_scope_id == 0;
	memset(&sin6, 0xaa, sizeof(sin6));
	rc = ring_frame_src(&info, false, &sin6, sizeof(sin6));
	ok = ok && rc == sizeof(sin6) && !memcmp(&sin6.sin6_addr, s6.saddr, 16);
	check(ok, "src: IPv6 -> sockaddr_in6 (want_v6 either way), flowinfo and scope_id 0");

	/* truncation: returns the full length, writes at most cap bytes */
	memset(raw, 0xaa, sizeof(raw));
	rc = ring_frame_src(&info, false, raw, 10);
	ok = rc == sizeof(sin6);
	for (i = 10; i < sizeof(raw); i++)
		ok = ok && raw[i] == 0xaa;
	memcpy(&sin6, raw, 10);
	ok = ok && sin6.sin6_family == AF_INET6 && sin6.sin6_port == htons(1234);
	check(ok, "src: cap 10 on IPv6 writes 10 bytes and returns 28");

	info.family = 4;
	memset(raw, 0xaa, sizeof(raw));
	rc = ring_frame_src(&info, false, raw, 0);
	ok = rc == sizeof(sin) && raw[0] == 0xaa;
	rc = ring_frame_src(&info, false, NULL, 0);
	ok = ok && rc == sizeof(sin);
	rc = ring_frame_src(&info, false, raw, sizeof(raw));
	ok = ok && rc == sizeof(sin) && raw[sizeof(sin)] == 0xaa;
	check(ok, "src: cap 0 writes nothing, a large cap writes only sizeof(sockaddr_in)");
	memset(raw, 0xaa, sizeof(raw));
	rc = ring_frame_src(&info, true, raw, 3);
	check(rc == sizeof(sin6) && raw[2] != 0xaa && raw[3] == 0xaa,
	      "src: cap 3 on a v4-mapped address writes 3 bytes and returns 28");
	info.family = 0;
	check(ring_frame_src(&info, false, raw, sizeof(raw)) == 0,
	      "src: unknown family returns 0");

	/* end to end: parse a frame, then ask for its source */
	struct frame f;
	struct spec s = spec_v4();
	build(&f, &s);
	memset(&sin, 0, sizeof(sin));
	ok = parse(&f, f.len, RING_CSUM_VERIFY, &info) == 0 &&
	     ring_frame_src(&info, false, &sin, sizeof(sin)) == sizeof(sin) &&
	     sin.sin_port == htons(s.sport) && !memcmp(&sin.sin_addr, s.saddr, 4);
	check(ok, "src: parsed IPv4 frame gives its source address and port");
}

/* ====================================================================== */
/* Corpus and benchmark modes                                              */
/* ====================================================================== */

static int write_file(const char *dir, const char *name, const struct frame *f)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	if (!fp || fwrite(f->b, 1, f->len, fp) != f->len || fclose(fp)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int write_corpus(const char *dir)
{
	struct frame f;
	struct spec s;
	int err = 0;

	s = spec_v4(); build(&f, &s);
	err |= write_file(dir, "v4", &f);
	s.vlan_cnt = 1; build(&f, &s);
	err |= write_file(dir, "v4_vlan", &f);
	s.vlan_cnt = 2; s.tpid[0] = 0x88a8; build(&f, &s);
	err |= write_file(dir, "v4_qinq", &f);
	s = spec_v4(); s.ihl = 15; s.pay_sz = 17; build(&f, &s);
	err |= write_file(dir, "v4_opts", &f);
	s = spec_v4(); s.pay_sz = 2; s.pad = 16; build(&f, &s);
	err |= write_file(dir, "v4_pad", &f);
	s = spec_v4(); s.pay_sz = 0; s.pad = 18; s.csum = CS_ZERO; build(&f, &s);
	err |= write_file(dir, "v4_empty_nocsum", &f);
	s = spec_v4(); s.pay_sz = 30; build(&f, &s); force_csum_ffff(&f);
	err |= write_file(dir, "v4_csum_ffff", &f);
	s = spec_v4(); s.frag = 0x2000; build(&f, &s);
	err |= write_file(dir, "v4_frag", &f);
	s = spec_v6(); build(&f, &s);
	err |= write_file(dir, "v6", &f);
	s.vlan_cnt = 1; build(&f, &s);
	err |= write_file(dir, "v6_vlan", &f);
	s.vlan_cnt = 2; s.tpid[0] = 0x88a8; s.pay_sz = 0; build(&f, &s);
	err |= write_file(dir, "v6_qinq_empty", &f);
	s = spec_v6(); s.pay_sz = 1; s.pad = 5; build(&f, &s);
	err |= write_file(dir, "v6_odd_pad", &f);
	return err ? 1 : 0;
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void bench(void)
{
	static uint8_t buf[1228 + 8];
	struct ring_frame_info info;
	struct frame f;
	struct spec s;
	const int n = 1000000;
	uint64_t acc = 0;
	double t, best;
	int i, r, mode;
	size_t k;

	for (k = 0; k < sizeof(buf); k++)
		buf[k] = (uint8_t)rnd();
	for (k = 0; k < 2; k++) {
		best = 1e30;
		for (r = 0; r < 5; r++) {
			t = now_ns();
			for (i = 0; i < n; i++) {
				acc = ring_csum_partial(buf + k, 1228, acc);
				__asm__ volatile("" : "+r"(acc));
			}
			t = now_ns() - t;
			if (t < best)
				best = t;
		}
		printf("bench: ring_csum_partial 1228 bytes at offset %zu: %.1f ns, %.2f bytes/ns\n",
		       k, best / n, 1228.0 * n / best);
	}
	s = spec_v4();
	s.pay_sz = 1200;
	build(&f, &s);
	for (mode = 0; mode < 2; mode++) {
		best = 1e30;
		for (r = 0; r < 5; r++) {
			int bad = 0;
			t = now_ns();
			for (i = 0; i < n; i++) {
				bad |= ring_frame_parse(f.b, f.len, (enum ring_csum_mode)mode, &info);
				__asm__ volatile("" : : "r"(&info) : "memory");
			}
			t = now_ns() - t;
			if (bad)
				printf("bench: parse failed?\n");
			if (t < best)
				best = t;
		}
		printf("bench: ring_frame_parse %u-byte IPv4 frame, %s: %.1f ns/frame\n", f.len,
		       mode == RING_CSUM_VERIFY ? "verify" : "csum off", best / n);
	}
	printf("(sink %llx)\n", (unsigned long long)ring_csum_fold(acc));
}

/* ---- UMEM fill policy on a fake fill ring (ring/xsk.c) ------------------ */

/* The kernel side of the fake fill ring: take n posted addresses. */
static uint32_t fake_take(struct ring_umem *u, uint32_t n, uint64_t *out)
{
	uint32_t i;

	for (i = 0; i < n && *u->fill.consumer != *u->fill.producer; i++) {
		out[i] = ((uint64_t *)u->fill.ring)[*u->fill.consumer & u->fill.mask];
		(*u->fill.consumer)++;
	}
	return i;
}

/* A UMEM of f 2 KiB frames, all on the free stack (frame 0 on top), on a
 * fake fill ring of f entries; fill_min = fill_target = 64, no budget. */
static void fake_umem(struct ring_umem *u, uint32_t f, uint32_t *prod, uint32_t *cons, uint32_t *flags,
		      uint64_t *ring_mem, uint64_t *stack)
{
	uint32_t i;

	memset(u, 0, sizeof(*u));
	u->frame_cnt = f;
	u->frame_sz = 2048;
	u->fill = (struct ring_q){ .cached_prod = 0, .cached_cons = f, .mask = f - 1, .size = f,
				   .producer = prod, .consumer = cons, .ring = ring_mem, .flags = flags };
	u->stack = stack;
	u->owner = calloc(f, sizeof(*u->owner));   /* (left to the exit) */
	u->frame_shift = 11;
	for (i = 0; i < f; i++)
		stack[i] = (uint64_t)(f - 1 - i) * 2048;
	u->stack_cnt = f;
	u->fill_min = u->fill_target = 64;
}

static void test_umem_fill(void)
{
	enum { F = 1024 };
	static uint64_t ring_mem[F], stack[F];
	uint32_t prod = 0, cons = 0, flags = 0, i;
	uint64_t word = 7, taken[F], pub;
	struct ring_umem u;
	bool lifo = true;

	fake_umem(&u, F, &prod, &cons, &flags, ring_mem, stack);

	ring_umem_budget(&u, &word, 1000);
	check(word == 1000, "budget: published at once: filled 0 + offset 1000 = %llu", (unsigned long long)word);
	ring_umem_fill_min(&u, 64);
	check(prod == 64 && ring_umem_fill_cnt(&u) == 64 && word == 1064,
	      "fill_min 64 posts 64 frames and publishes filled + offset (%llu)", (unsigned long long)word);
	check(fake_take(&u, 10, taken) == 10 && taken[0] == 0 && taken[1] == 2048,
	      "the kernel takes frames in posting order, top of the free stack first (0, 2048, ...)");
	ring_umem_fill(&u, taken, 10, -1);
	check(ring_umem_fill_cnt(&u) == 64 && u.acct.filled == 74 && word == 1064,
	      "10 returned: topped up to 64 again (filled 74), but the budget word waits for a step of 16 (still %llu)",
	      (unsigned long long)word);
	for (i = 0; i < 10; i++)
		lifo &= ring_mem[(64 + i) & (F - 1)] == taken[9 - i];
	check(lifo, "returned frames are posted again most recent first (LIFO: still in cache)");
	fake_take(&u, 10, taken);
	for (i = 0; i < 10; i++)
		taken[i] += 100;   /* addresses inside the frame: the base is derived */
	ring_umem_fill(&u, taken, 10, -1);
	check(word == 1084 && word - 1000 == u.acct.filled,
	      "10 more returned (addresses inside frames): 20 since the last store >= 16: published %llu",
	      (unsigned long long)word);
	check(u.stack_cnt + ring_umem_fill_cnt(&u) == F, "accounting: %u on the stack + %u on the ring = %u frames",
	      u.stack_cnt, ring_umem_fill_cnt(&u), F);

	ring_umem_fill_grow(&u, 300);
	check(u.fill_target == 512 && ring_umem_fill_cnt(&u) == 512 && word == u.acct.filled + 1000,
	      "grow to 300: target rounded up to 512, posted at once, budget published (%llu)",
	      (unsigned long long)word);
	ring_umem_fill_grow(&u, 100);
	check(u.fill_target == 512, "grow to 100: never shrinks the target (512)");
	ring_umem_fill_grow(&u, 5000);
	check(u.fill_target == F && ring_umem_fill_cnt(&u) == F && u.stack_cnt == 0,
	      "grow to 5000: capped at the UMEM (%u), every frame posted", F);

	pub = word;
	ring_umem_budget(&u, NULL, 0);
	fake_take(&u, 64, taken);
	ring_umem_fill(&u, taken, 64, -1);
	check(word == pub && ring_umem_fill_cnt(&u) == F, "budget unset: posting goes on, the word is left alone");
}

/* Readers return frames 8 at a time, n in all, while the fake kernel keeps
 * taking them off the fill ring. */
static void fake_cycle(struct ring_umem *u, uint32_t n)
{
	uint64_t a[8];

	while (n) {
		uint32_t k = fake_take(u, n < 8 ? n : 8, a);

		if (!k)
			return;
		ring_umem_fill(u, a, k, -1);
		n -= k;
	}
}

/* The adaptive depth (ring_fill_adapt): doubles when the readers' backlog
 * passes 3/4 of the target, and after a quiet window of 8 x frame_cnt
 * returns drops in one step to the least fill_min x 2^k >= 2 x backlog. */
/* Transmit's share: with the fill target grown to the whole UMEM, the fill
 * ring holds frame_cnt - tx_max at most, and transmit still gets frames
 * from the rest. */
static void test_umem_tx_share(void)
{
	enum { F = 1024 };
	static uint64_t ring_mem[F], stack[F], taken[F];
	uint32_t prod = 0, cons = 0, flags = 0, reaped = 7, got;
	uint64_t addrs[64];
	struct ring_umem u;

	fake_umem(&u, F, &prod, &cons, &flags, ring_mem, stack);
	u.tx_max = F / 4;
	ring_umem_fill_min(&u, 64);
	u.fill_target = F;   /* as ring_fill_adapt grows it for a reader that was away */
	ring_umem_fill_min(&u, 64);
	check(ring_umem_fill_cnt(&u) == F - F / 4 && u.stack_cnt == F / 4,
	      "fill target = the whole UMEM: the fill ring holds frame_cnt - tx_max (%u), %u idle",
	      ring_umem_fill_cnt(&u), u.stack_cnt);
	got = ring_umem_tx_alloc(&u, addrs, 64, &reaped);
	check(got == 64 && reaped == 0 && u.stack_cnt == F / 4 - 64,
	      "transmit still takes 64 frames from the idle quarter (got %u)", got);
	ring_umem_tx_unalloc(&u, addrs, got);
	check(fake_take(&u, 300, taken) == 300 && ring_umem_fill_cnt(&u) == F - F / 4 - 300,
	      "the kernel takes 300 fill frames (a backlog on the rx ring)");
	ring_umem_fill(&u, taken, 10, -1);
	check(ring_umem_fill_cnt(&u) == F - F / 4 - 290 && u.stack_cnt == F / 4,
	      "10 of them returned are posted again, but not transmit's idle quarter (%u posted, %u idle)",
	      ring_umem_fill_cnt(&u), u.stack_cnt);
	got = ring_umem_tx_alloc(&u, addrs, 64, &reaped);
	check(got == 64, "transmit still gets 64 frames while receive lacks 290 of its target (got %u)", got);
	ring_umem_tx_unalloc(&u, addrs, got);
	got = ring_umem_tx_alloc(&u, addrs, 64, &reaped);
	got += ring_umem_tx_alloc(&u, addrs, 64, &reaped);
	got += ring_umem_tx_alloc(&u, addrs, 64, &reaped);
	got += ring_umem_tx_alloc(&u, addrs, 64, &reaped);
	check(got == F / 4 && ring_umem_tx_alloc(&u, addrs, 64, &reaped) == 0,
	      "but never more than tx_max (%u) at once (got %u)", F / 4, got);
}

static void test_umem_adapt(void)
{
	enum { F = 1024 };
	static uint64_t ring_mem[F], stack[F], held[F];
	uint32_t prod = 0, cons = 0, flags = 0, nheld;
	uint64_t word = 0, lag;
	struct ring_umem u;

	fake_umem(&u, F, &prod, &cons, &flags, ring_mem, stack);
	ring_umem_fill_min(&u, 64);
	ring_umem_budget(&u, &word, 500);

	nheld = fake_take(&u, 40, held);
	fake_cycle(&u, 8);
	check(u.fill_target == 64, "backlog 40 of target 64 (not past 3/4 = 48): target stays 64 (%u)",
	      u.fill_target);
	nheld += fake_take(&u, 10, held + nheld);
	fake_cycle(&u, 8);
	check(u.fill_target == 128 && ring_umem_fill_cnt(&u) == 128,
	      "backlog 50 > 48: target doubled to 128 and posted at once (%u posted)", ring_umem_fill_cnt(&u));
	ring_umem_fill(&u, held, nheld, -1);

	ring_umem_fill_grow(&u, 1000);
	check(u.fill_target == F, "a reader that was away: grown to the whole UMEM (%u)", u.fill_target);
	nheld = fake_take(&u, 40, held);
	fake_cycle(&u, 8 * F - 8);
	check(u.fill_target == F, "just short of a window (8 x %u returns): still %u", F, u.fill_target);
	lag = u.acct.filled + 500 - word;
	check(lag > 0 && lag < F / 8, "the budget word lags the ring by %llu frames (< the step %u at target %u)",
	      (unsigned long long)lag, F / 8, F);
	fake_cycle(&u, 8);
	check(u.fill_target == 128,
	      "a quiet window with backlog 40: %u -> 128 in one step (least 64 x 2^k >= 80), not halved to %u",
	      F, F / 2);
	check(word == u.acct.filled + 500 && ring_umem_fill_cnt(&u) > u.fill_target,
	      "the shrink stores the budget at once (%llu = filled + 500): %u frames stay posted above the "
	      "target, no post comes to store it later, and the program must not spill with them on the ring",
	      (unsigned long long)word, ring_umem_fill_cnt(&u));
	check(u.stack_cnt + ring_umem_fill_cnt(&u) + nheld == F,
	      "accounting: %u on the stack + %u posted + %u held = %u frames", u.stack_cnt,
	      ring_umem_fill_cnt(&u), nheld, F);

	ring_umem_fill_grow(&u, 1000);
	nheld += fake_take(&u, 260, held + nheld);
	fake_cycle(&u, 8 * F);
	check(u.fill_target == F, "a window whose backlog reached %u >= 1/4 of %u: no shrink", nheld, F);
	ring_umem_fill(&u, held, nheld, -1);
	fake_cycle(&u, 16 * F);
	check(u.fill_target == 64 && ring_umem_fill_cnt(&u) == 64,
	      "windows with no backlog: down to fill_min 64, never below (%u, %u posted)", u.fill_target,
	      ring_umem_fill_cnt(&u));
}


/* ---- locks shared across fork (ring/shm.c) ------------------------------ */

/* A lock held by a live thread of the parent at fork stays that thread's:
 * the child waits for it (never steals it) and gets it once it is dropped. */
static void *lock_hold_then_drop(void *p)
{
	uint64_t *w = p;

	ring_lock_take(&w[0]);
	__atomic_store_n(&w[1], 1, __ATOMIC_RELEASE);    /* held */
	while (!__atomic_load_n(&w[2], __ATOMIC_ACQUIRE)) /* until the child waits */
		usleep(1000);
	usleep(50 * 1000);
	__atomic_store_n(&w[3], 1, __ATOMIC_RELEASE);    /* about to drop */
	ring_lock_drop(&w[0]);
	return NULL;
}

static void test_lock_fork(void)
{
	uint64_t *w = ring_shm_alloc(4096);
	pthread_t t;
	pid_t c;
	int st;

	if (!w) {
		check(false, "ring_shm_alloc: %s", strerror(errno));
		return;
	}
	/* 1. a live holder in the parent, a waiter in the child */
	pthread_create(&t, NULL, lock_hold_then_drop, w);
	while (!__atomic_load_n(&w[1], __ATOMIC_ACQUIRE))
		usleep(1000);
	c = fork();
	if (c == 0) {
		bool took_over;

		struct timespec c0, c1;

		__atomic_store_n(&w[2], 1, __ATOMIC_RELEASE);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
		took_over = ring_lock_take(&w[0]);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
		w[4] = (uint64_t)((c1.tv_sec - c0.tv_sec) * 1000000000 + (c1.tv_nsec - c0.tv_nsec));
		/* exit 0: got it after the holder dropped it, not by takeover */
		_exit(!took_over && __atomic_load_n(&w[3], __ATOMIC_ACQUIRE) ? 0 : 1);
	}
	pthread_join(t, NULL);
	check(c > 0 && waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "ring_lock held by a parent thread at fork: the child waited for it and took it when dropped, no "
	      "takeover");
	/* the holder held it ~50 ms after the child began to wait: a waiter
	 * that spins and yields burns that time on its CPU (and keeps a
	 * descheduled holder on the same CPU from running), one that sleeps
	 * on the word does not */
	check(w[4] < 10 * 1000000ULL, "a waiter sleeps while the holder keeps the lock: %.1f ms of CPU in 50 ms of "
	      "waiting (< 10)", (double)w[4] / 1e6);
	check(w[0] == 0 || ring_lock_holder_dead(w[0]), "the child's exit leaves the lock free or dead-held");
	w[0] = 0;

	/* 2. a holder killed with SIGKILL while holding: a waiter takes over
	 * within a bounded time and is told so */
	memset(w, 0, 64);
	c = fork();
	if (c == 0) {
		ring_lock_take(&w[0]);
		__atomic_store_n(&w[1], 1, __ATOMIC_RELEASE);
		for (;;)
			pause();
	}
	while (!__atomic_load_n(&w[1], __ATOMIC_ACQUIRE))
		usleep(1000);
	kill(c, SIGKILL);
	{
		struct timespec a, b;
		bool took_over;

		/* not reaped yet: the holder is a zombie (its parent is the
		 * waiter), which must count as dead */
		clock_gettime(CLOCK_MONOTONIC, &a);
		took_over = ring_lock_take(&w[0]);
		clock_gettime(CLOCK_MONOTONIC, &b);
		check(took_over && w[0] == ring_lock_me,
		      "ring_lock held by a process killed with SIGKILL (unreaped zombie): taken over and reported "
		      "(after %.1f ms)", (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);
		ring_lock_drop(&w[0]);
	}
	waitpid(c, &st, 0);
	check(!ring_lock_holder_dead(ring_lock_me), "this thread's own id does not look dead");
	ring_shm_free(w, 4096);
}

/* Several waiters for a dead holder, as in t_killstorm's echo storm where
 * this wedged every verifier: each that finds the holder dead tries to take
 * the lock over from that exact value; a loser's compare-and-swap reads the
 * word as it is then - 0 once the winner has repaired and dropped it - and
 * it used to go on with that value and set RING_LOCK_WAITING on a free
 * lock: a word of 0x80000000 that names no holder, which no check could
 * find dead, and every later taker slept on it for good (seen in gdb:
 * ring_lock_sleep with cur=0x80000000, 4 processes).  Rounds: a child takes
 * the lock and is killed -9 (left a zombie for a while: the dead check then
 * reads /proc, the widest window), then 3 children that started together
 * wait for it, take it and drop it; every round must end within 2 s and
 * leave the word free.  Not deterministic: with the old code about one round in 20 wedged. */
static void test_lock_dead_race(void)
{
	enum { ROUNDS = 150, WAITERS = 3 };
	uint64_t *w = ring_shm_alloc(4096);
	int wedged = 0, bad_word = 0, bad_exit = 0, rounds = 0;

	if (!w) {
		check(false, "ring_shm_alloc: %s", strerror(errno));
		return;
	}
	for (int r = 0; r < ROUNDS && !wedged; r++) {
		pid_t h, c[WAITERS];
		struct timespec t0, t;
		int st;

		memset(w, 0, 64);
		h = fork();
		if (h == 0) {
			ring_lock_take(&w[0]);
			__atomic_store_n(&w[1], 1, __ATOMIC_RELEASE);
			for (;;)
				pause();
		}
		while (!__atomic_load_n(&w[1], __ATOMIC_ACQUIRE))
			usleep(100);
		for (int i = 0; i < WAITERS; i++) {
			c[i] = fork();
			if (c[i] == 0) {
				while (!__atomic_load_n(&w[2], __ATOMIC_ACQUIRE))
					ring_cpu_relax();
				ring_lock_take(&w[0]);
				ring_lock_drop(&w[0]);
				_exit(0);
			}
		}
		kill(h, SIGKILL);
		__atomic_store_n(&w[2], 1, __ATOMIC_RELEASE);   /* go */
		usleep(500 + (useconds_t)(rnd() % 1500));
		waitpid(h, &st, 0);   /* reaped at a random moment */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < WAITERS; i++) {
			for (;;) {
				pid_t got = waitpid(c[i], &st, WNOHANG);

				if (got == c[i]) {
					bad_exit += !WIFEXITED(st) || WEXITSTATUS(st);
					break;
				}
				clock_gettime(CLOCK_MONOTONIC, &t);
				if (t.tv_sec - t0.tv_sec >= 2) {
					wedged++;
					kill(c[i], SIGKILL);
					waitpid(c[i], &st, 0);
					break;
				}
				usleep(200);
			}
		}
		if (!wedged && w[0]) {
			bad_word++;
			fprintf(stderr, "round %d: the lock word after every taker dropped it: %#llx\n", r,
				(unsigned long long)w[0]);
		}
		if (wedged)
			fprintf(stderr, "round %d: waiters wedged, lock word %#llx\n", r, (unsigned long long)w[0]);
		rounds++;
	}
	check(!wedged && !bad_word && !bad_exit,
	      "a holder killed -9, %d waiters racing to take the lock over, %d rounds: none wedged (%d), the word "
	      "free after each (%d not), every waiter got it (%d did not)", WAITERS, rounds, wedged, bad_word,
	      bad_exit);
	ring_shm_free(w, 4096);
}

/* The fill lock taken over from a holder that died between reserving fill
 * ring entries and submitting them: the reservation is dropped, the ring
 * view matches the kernel's words again, posting works. */
static void test_umem_fill_repair(void)
{
	enum { F = 256 };
	static uint64_t ring_mem[F], stack[F];
	uint32_t prod = 0, cons = 0, flags = 0, idx;
	struct ring_umem u;
	uint64_t addr = 0;
	pid_t c;
	int st;

	fake_umem(&u, F, &prod, &cons, &flags, ring_mem, stack);
	ring_umem_fill_min(&u, 64);
	check(prod == 64, "repair setup: 64 frames posted (%u)", prod);
	/* the dead holder: reserved 8 entries, popped 8 frames, never submitted */
	check(ring_prod_reserve(&u.fill, 8, &idx) == 8, "repair setup: 8 entries reserved");
	u.stack_cnt -= 8;
	c = fork();
	if (c == 0)
		_exit(0);
	waitpid(c, &st, 0);
	u.fill_lock = (uint64_t)(uint32_t)c << 32 | (uint32_t)c;   /* held by a process now gone */
	ring_umem_fill(&u, &addr, 1, -1);
	check(u.repairs == 1 && u.fill_lock == 0, "fill lock of a dead holder taken over once and released (repairs %llu)",
	      (unsigned long long)u.repairs);
	check(u.fill.cached_prod == prod && prod == 64,
	      "the dead holder's unsubmitted reservation was dropped: ring view = kernel producer (%u = %u)",
	      u.fill.cached_prod, prod);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--write-corpus"))
		return write_corpus(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "--bench")) {
		bench();
		return 0;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: %s [--bench | --write-corpus DIR]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	test_ring_cons();
	test_ring_prod();
	test_csum();
	test_parse_good();
	test_parse_csum();
	test_parse_bad();
	test_parse_regress();
	test_copy_to_iov();
	test_frame_src();
	test_umem_fill();
	test_umem_adapt();
	test_umem_tx_share();
	test_umem_fill_repair();
	test_lock_fork();
	test_lock_dead_race();

	printf("test_ring: %d passed, %d failed\n", pass_cnt, fail_cnt);
	return fail_cnt ? 1 : 0;
}
