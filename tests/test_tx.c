/* test_tx.c - unit test of the transmit frame builder (ring/tx.c), no
 * privileges: every frame it builds must pass the receive-side validator
 * (ring_frame_parse in VERIFY mode: IPv4 header checksum, UDP checksum,
 * lengths) and carry exactly the header fields and payload asked for, for
 * payloads split over iovecs at every odd and even boundary. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring/ring.h"
#include "tests/unit.h"


static struct ring_tx_hdr hdr(int family)
{
	struct ring_tx_hdr h = {
		.family = (uint8_t)family, .tos = 0xb9, .ttl = 17, .df = true, .ip_id = 0x1234,
		.flowlabel = 0xabcde, .sport = htons(5353), .dport = htons(53),
		.src_mac = { 2, 0, 0, 0, 0, 0x0b }, .dst_mac = { 2, 0, 0, 0, 0, 0x0a },
	};

	if (family == 4) {
		inet_pton(AF_INET, "198.18.0.2", h.saddr);
		inet_pton(AF_INET, "198.18.0.1", h.daddr);
	} else {
		inet_pton(AF_INET6, "2001:2::2", h.saddr);
		inet_pton(AF_INET6, "2001:2::1", h.daddr);
	}
	return h;
}

/* Build a frame of len payload bytes split into pieces at cut1/cut2 and
 * check it. Returns 0 if everything matched. */
static int one(int family, const uint8_t *pay, size_t len, size_t cut1, size_t cut2, size_t off)
{
	static uint8_t frame[2048];
	struct ring_tx_hdr h = hdr(family);
	struct iovec iov[3] = {
		{ (void *)pay, cut1 }, { (void *)(pay + cut1), cut2 - cut1 }, { (void *)(pay + cut2), off + len - cut2 },
	};
	struct ring_frame_info fi;
	uint32_t fl = ring_tx_frame_build(frame, sizeof(frame), &h, iov, 3, off, len);

	if (!fl || fl != RING_TX_HDR_SZ(family) + len)
		return 1;
	if (ring_frame_parse(frame, fl, RING_CSUM_VERIFY, &fi))
		return 2;
	if (fi.family != family || fi.tos != h.tos || fi.ttl != h.ttl || fi.sport != h.sport || fi.dport != h.dport ||
	    memcmp(fi.saddr, h.saddr, family == 4 ? 4 : 16) || memcmp(fi.daddr, h.daddr, family == 4 ? 4 : 16) ||
	    fi.payload_sz != len || memcmp(frame + fi.payload_off, pay + off, len))
		return 3;
	if (family == 4 && (frame[14 + 6] != 0x40 || frame[14 + 4] != 0x12 || frame[14 + 5] != 0x34))
		return 4;
	if (family == 6 && ((frame[15] & 0x0f) != 0xa || frame[16] != 0xbc || frame[17] != 0xde))
		return 5;
	if (memcmp(frame, h.dst_mac, 6) || memcmp(frame + 6, h.src_mac, 6))
		return 6;
	return 0;
}

/* RFC 1071 as written: big-endian 16-bit words, an odd last byte padded
 * with zero, 32-bit sum folded.  Independent of ring/'s 64-bit loops. */
static uint16_t ref_csum(const uint8_t *p, size_t len, uint16_t start)
{
	uint32_t sum = start;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

typedef uint64_t (*copy_fn)(void *, const void *, size_t, uint64_t);

/* fn over 3000 random (length 0-1500, source and destination alignment
 * 0-63, start accumulator) cases: the bytes copied exactly, nothing
 * written past the end, and the folded sum equal to the reference's. */
static void copy_vs_reference(const char *name, copy_fn fn)
{
	static uint8_t src[1600], dst[1700];
	int bad = 0, i;
	size_t len = 0, so = 0, dof = 0;

	for (i = 0; i < 3000 && !bad; i++) {
		uint16_t start = (uint16_t)rand(), got, want;
		uint64_t acc;

		len = i < 64 ? (size_t)i * 23 % 1501 : (size_t)rand() % 1501;
		so = (size_t)rand() % 64;
		dof = (size_t)rand() % 64;
		for (size_t k = 0; k < sizeof(src); k++)
			src[k] = (uint8_t)rand();
		memset(dst, 0xa5, sizeof(dst));
		/* the accumulator carries start in network order, as callers' */
		acc = fn(dst + dof, src + so, len, htons(start));
		got = ntohs(ring_csum_fold(acc));
		want = ref_csum(src + so, len, start);
		bad = got != want && !(got == 0xffff && want == 0) && !(got == 0 && want == 0xffff);
		bad |= memcmp(dst + dof, src + so, len) != 0 || dst[dof + len] != 0xa5 || (dof && dst[dof - 1] != 0xa5);
	}
	CHECK(!bad, "%s copies and sums as the RFC 1071 reference: 3000 random lengths 0-1500 and alignments 0-63%s",
	      name, bad ? " - mismatch" : "");
	if (bad)
		printf("  first mismatch: len %zu src+%zu dst+%zu\n", len, so, dof);
}

#if defined(__x86_64__)
#include <cpuid.h>

/* XINUSE (XGETBV with ECX=1, where CPUID.(0DH,1):EAX[2] says it exists):
 * bit 2 is set while the upper halves of the ymm registers are not known
 * to be zero.  -1 where the CPU cannot say. */
static int avx_upper_in_use(void)
{
	unsigned int a, b, c, d, lo, hi;

	if (!__get_cpuid_count(0xd, 1, &a, &b, &c, &d) || !(a & 4))
		return -1;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1));
	return (lo >> 2) & 1;
}

/* The vector loop must hand back clean upper halves (vzeroupper): with
 * them dirty every SSE instruction of the caller afterwards is slowed (the
 * shim's sender lost a quarter of its rate to it at 1228 bytes). */
static void upper_state_clean(void)
{
	static uint8_t a[1500], b[1500];
	int in_use;

	if (!ring_csum_copy_simd_ok()) {
		printf("SKIP: AVX upper state after ring_csum_copy: no vector loop on this CPU\n");
		return;
	}
	memset(a, 0x5a, sizeof(a));
	(void)ring_csum_copy_simd(b, a, sizeof(a), 0);
	in_use = avx_upper_in_use();
	if (in_use < 0) {
		printf("SKIP: AVX upper state after ring_csum_copy: the CPU has no XINUSE (XGETBV 1)\n");
		return;
	}
	CHECK(!in_use, "ring_csum_copy_simd returns with the ymm upper halves clean (XINUSE bit 2 clear: vzeroupper ran)");
}
#else
static void upper_state_clean(void)
{
	printf("SKIP: AVX upper state: not x86-64\n");
}
#endif

int main(void)
{
	static uint8_t pay[1600];
	static uint8_t a[1500], b[1500];
	int bad, first;

	srand(7);
	for (size_t i = 0; i < sizeof(pay); i++)
		pay[i] = (uint8_t)rand();

	for (int fam = 4; fam <= 6; fam += 2) {
		bad = 0;
		first = 0;
		for (size_t len = 0; len <= 70 && !bad; len++)
			for (size_t c1 = 0; c1 <= len && !bad; c1++)
				for (size_t c2 = c1; c2 <= len && !bad; c2 += 3)
					if ((first = one(fam, pay, len, c1, c2, 0)))
						bad = 1;
		CHECK(!bad, "IPv%d: payloads of 0-70 bytes in 3 iovecs cut at every place build frames that validate "
		      "(checksums, lengths, fields, payload)%s", fam, bad ? " - mismatch" : "");
		bad = one(fam, pay, 1472, 333, 1001, 0) || one(fam, pay, 1228, 1, 2, 0) || one(fam, pay, 1, 0, 1, 0);
		CHECK(!bad, "IPv%d: 1472, 1228 and 1 byte payloads", fam);
		bad = one(fam, pay, 100, 51, 120, 17) || one(fam, pay, 77, 3, 90, 100);
		CHECK(!bad, "IPv%d: a segment starting at an offset (UDP_SEGMENT)", fam);
		{
			uint8_t frame[200];
			struct ring_tx_hdr h = hdr(fam);
			struct iovec v = { pay, 100 };

			CHECK(ring_tx_frame_build(frame, 120, &h, &v, 1, 0, 100) == 0 &&
				      ring_tx_frame_build(frame, sizeof(frame), &h, &v, 1, 50, 60) == 0,
			      "IPv%d: a frame over the buffer, or a payload past the iovecs, is refused", fam);
		}
	}
	{
		/* a payload whose checksum comes out 0 is sent as 0xffff */
		struct ring_tx_hdr h = hdr(4);
		uint8_t frame[128], p[2] = { 0, 0 };
		struct iovec v = { p, 2 };
		uint16_t c;
		uint32_t fl = ring_tx_frame_build(frame, sizeof(frame), &h, &v, 1, 0, 2);
		uint64_t sum;

		/* choose the payload so that the one's complement sum is 0xffff */
		memcpy(&c, frame + 14 + 20 + 6, 2);
		sum = (uint16_t)~c;   /* the sum without the payload word (which is 0) */
		c = (uint16_t)~sum;
		memcpy(p, &c, 2);
		fl = ring_tx_frame_build(frame, sizeof(frame), &h, &v, 1, 0, 2);
		memcpy(&c, frame + 14 + 20 + 6, 2);
		CHECK(fl && c == 0xffff, "a UDP checksum computing to 0 goes out as 0xffff (got %#x)", c);
		h.no_csum = true;
		fl = ring_tx_frame_build(frame, sizeof(frame), &h, &v, 1, 0, 2);
		memcpy(&c, frame + 14 + 20 + 6, 2);
		CHECK(fl && c == 0, "SO_NO_CHECK on IPv4: checksum 0");
	}
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)rand();
	bad = 0;
	for (size_t len = 0; len < 200 && !bad; len++)
		for (size_t o = 0; o < 8 && !bad; o++) {
			uint64_t x = ring_csum_copy(b + o, a + o, len, 5), y = ring_csum_partial(a + o, len, 5);

			bad = ring_csum_fold(x) != ring_csum_fold(y) || memcmp(a + o, b + o, len);
		}
	CHECK(!bad, "ring_csum_copy copies and sums exactly as ring_csum_partial, every length 0-199 and alignment");
	copy_vs_reference("ring_csum_copy (the dispatcher)", ring_csum_copy);
	copy_vs_reference("ring_csum_copy_scalar", ring_csum_copy_scalar);
	if (ring_csum_copy_simd_ok())
		copy_vs_reference("ring_csum_copy_simd (AVX2)", ring_csum_copy_simd);
	else
		printf("SKIP: ring_csum_copy_simd: this CPU has no vector loop (the scalar one above is what runs)\n");
	upper_state_clean();
	printf("%s\n", unit_fails ? "test_tx: FAILED" : "test_tx: all passed");
	return unit_fails ? 1 : 0;
}
