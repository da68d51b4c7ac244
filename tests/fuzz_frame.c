/* fuzz_frame.c - libFuzzer target for ring/frame.c.
 *
 * The whole input is one Ethernet frame (so the seeds in tests/corpus are
 * plain frames, usable elsewhere too).  It is parsed in both checksum modes
 * from an exactly sized heap copy, so ASan catches any read past len.  The
 * first byte (the destination MAC, which the parser ignores) also picks how
 * the input is used: bit 0 want_v6, bits 1-3 the iovec layout, bits 4-6 the
 * msg_name capacity, and bit 7 "fix the IPv4 header checksum first", so
 * that mutations of IPv4 header fields (lengths, IHL, flags) reach the
 * checks behind the header checksum instead of all ending as BAD_IP.
 *
 * Invariants (violations trap):
 *   - the return value is 0 or -RING_FRAME_{TRUNC..BAD_CSUM};
 *   - success in VERIFY mode implies success in OFF mode with the same info,
 *     and a failure other than BAD_CSUM in VERIFY mode fails the same way
 *     in OFF mode;
 *   - on success: family 4 or 6, vlan_cnt <= 2, payload_off >= 14 + 28,
 *     payload_off + payload_sz <= len, and for IPv4 saddr/daddr[4..15] zero;
 *   - ring_copy_to_iov copies min(payload, iovec space) bytes, correctly;
 *   - ring_frame_src returns 16 or 28 and writes at most cap bytes.
 *
 *   make build/fuzz_frame && build/fuzz_frame -max_total_time=60 DIR tests/corpus
 */
#include <stdlib.h>
#include <string.h>

#include "ring/ring.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

/* The Makefile builds with recoverable UBSan checks: make them fatal. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

/* Recompute the IPv4 header checksum of frame, if it has a whole one. */
static void fix_ip4_csum(uint8_t *frame, uint32_t len)
{
	uint32_t off = 14, ihl, vlans = 0;
	uint16_t etype, c;

	if (len < 14)
		return;
	etype = (uint16_t)(frame[12] << 8 | frame[13]);
	while ((etype == 0x8100 || etype == 0x88a8) && vlans++ < 2) {
		if (len - off < 4)
			return;
		etype = (uint16_t)(frame[off + 2] << 8 | frame[off + 3]);
		off += 4;
	}
	if (etype != 0x0800 || len - off < 20)
		return;
	ihl = (frame[off] & 0x0fu) * 4;
	if (ihl < 20 || len - off < ihl)
		return;
	frame[off + 10] = frame[off + 11] = 0;
	c = (uint16_t)~ring_csum_fold(ring_csum_partial(frame + off, ihl, 0));
	memcpy(frame + off + 10, &c, 2);
}

static bool valid_rc(int rc)
{
	return rc == 0 || (rc <= -RING_FRAME_TRUNC && rc >= -RING_FRAME_BAD_CSUM);
}

static void exercise(const uint8_t *frame, uint32_t len, const struct ring_frame_info *info,
		     uint8_t sel)
{
	static uint8_t out[3][1024];
	static const size_t layouts[8][3] = {
		{ 1024, 0, 0 }, { 1, 2, 1024 }, { 0, 7, 1024 }, { 3, 0, 5 },
		{ 0, 0, 0 }, { 512, 512, 0 }, { 8, 8, 8 }, { 1024, 1024, 1024 },
	};
	const size_t *lay = layouts[(sel >> 1) & 7];
	struct iovec iov[3];
	size_t space = 0, want, got, i, o;
	uint8_t sa[sizeof(struct sockaddr_in6) + 8];
	uint32_t cap = ((sel >> 4) & 7) * 4u, sa_len;

	for (i = 0; i < 3; i++) {
		/* a zero-length iovec gets a NULL base half of the time */
		iov[i].iov_base = lay[i] || (sel & 1) ? out[i] : NULL;
		iov[i].iov_len = lay[i];
		space += lay[i];
	}
	want = info->payload_sz < space ? info->payload_sz : space;
	got = ring_copy_to_iov(frame + info->payload_off, info->payload_sz, iov, 3);
	CHECK(got == want);
	for (i = 0, o = 0; i < 3 && o < got; i++) {
		size_t n = lay[i] < got - o ? lay[i] : got - o;
		CHECK(!memcmp(out[i], frame + info->payload_off + o, n));
		o += n;
	}

	memset(sa, 0xa5, sizeof(sa));
	sa_len = ring_frame_src(info, sel & 1, sa, cap);
	if (info->family == 4 && !(sel & 1))
		CHECK(sa_len == sizeof(struct sockaddr_in));
	else
		CHECK(sa_len == sizeof(struct sockaddr_in6));
	for (i = cap < sa_len ? cap : sa_len; i < sizeof(sa); i++)
		CHECK(sa[i] == 0xa5);
	(void)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ring_frame_info iv, io;
	uint32_t len;
	uint8_t *frame;
	int rv, ro;
	static const uint8_t zero12[12];

	if (size > 65536)
		return 0;
	len = (uint32_t)size;
	frame = malloc(size ? size : 1);
	if (!frame)
		return 0;
	memcpy(frame, data, size);
	if (size && (data[0] & 0x80))
		fix_ip4_csum(frame, len);

	memset(&iv, 0x5a, sizeof(iv));
	memset(&io, 0x5a, sizeof(io));
	rv = ring_frame_parse(frame, len, RING_CSUM_VERIFY, &iv);
	ro = ring_frame_parse(frame, len, RING_CSUM_OFF, &io);
	CHECK(valid_rc(rv) && valid_rc(ro));
	CHECK(ro != -RING_FRAME_BAD_CSUM);
	if (rv == 0)
		CHECK(ro == 0 && !memcmp(&iv, &io, sizeof(iv)));
	else if (rv != -RING_FRAME_BAD_CSUM)
		CHECK(ro == rv);

	if (ro == 0) {
		CHECK(io.family == 4 || io.family == 6);
		CHECK(io.vlan_cnt <= 2);
		CHECK(io.payload_off >= 14 + 28);
		CHECK((uint64_t)io.payload_off + io.payload_sz <= len);
		if (io.family == 4)
			CHECK(!memcmp(io.saddr + 4, zero12, 12) && !memcmp(io.daddr + 4, zero12, 12));
		exercise(frame, len, &io, size ? data[0] : 0);
	}
	free(frame);
	return 0;
}
