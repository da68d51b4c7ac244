/* tx.c - transmit through AF_XDP: frames from the UMEM's free stack, the
 * tx and completion rings, and the Ethernet/IP/UDP frame builder with its
 * fused copy-and-checksum.  See "Transmit" in ring.h. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <arpa/inet.h>

#include "ring/ring.h"

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

/* Completion ring -> free stack.  fill_lock held.  The entries are
 * written above the stack's top, the ring released, then the count moved
 * (restartable, struct ring_jr): a holder killed in between neither loses
 * the frames nor has them reaped twice. */
static uint32_t ring_comp_reap_locked(struct ring_umem *umem)
{
	uint64_t base_mask = ~(uint64_t)(umem->frame_sz - 1);
	uint32_t idx, n, i, c, total = 0;

	if (!umem->comp.size)
		return 0;
	while ((n = ring_cons_peek(&umem->comp, 256, &idx))) {
		c = umem->stack_cnt;
		for (i = 0; i < n && c < umem->frame_cnt; i++)
			umem->stack[c++] = *ring_fill_addr(&umem->comp, idx + i) & base_mask;
		ring_jr_begin(umem, RING_JR_REAP, c, idx + n, &umem->acct.tx_done, n);
		ring_cons_release(&umem->comp, n);
		ring_kill_order();
		umem->stack_cnt = c;
		umem->acct.tx_done += n;
		ring_jr_end(umem);
		total += n;
	}
	return total;
}

uint32_t ring_umem_tx_reap(struct ring_umem *umem)
{
	uint32_t n;

	ring_umem_lock(umem);
	n = ring_comp_reap_locked(umem);
	ring_umem_unlock(umem);
	return n;
}

uint32_t ring_umem_tx_alloc(struct ring_umem *umem, uint64_t *addrs, uint32_t n, uint32_t *reaped)
{
	uint32_t room;
	uint64_t held;

	ring_umem_lock(umem);
	*reaped = ring_comp_reap_locked(umem);
	/* Transmit's share is tx_max frames at once; the fill ring never
	 * holds more than frame_cnt - tx_max (ring_fill_post), so receive
	 * keeps its share whatever transmit takes, and transmit does not
	 * hold back for the fill ring.  (It used to leave the stack what the
	 * fill ring lacked of its target: with the target grown to the whole
	 * UMEM and a backlog on the rx ring, that was every idle frame, and
	 * knotd's answers to kxdpgun went half through the kernel, counted as
	 * tx_kernel_mtu "nothing in flight to wait for".) */
	held = umem->acct.tx_out - umem->acct.tx_done;
	room = umem->tx_max > held ? umem->tx_max - (uint32_t)held : 0;
	if (n > room)
		n = room;
	n = ring_umem_pop_locked(umem, addrs, n, RING_OWN_TX(ring_lock_me ? ring_lock_me : ring_lock_self_init()),
				 &umem->acct.tx_out);
	ring_umem_unlock(umem);
	return n;
}

void ring_umem_tx_unalloc(struct ring_umem *umem, const uint64_t *addrs, uint32_t n)
{
	ring_umem_lock(umem);
	ring_umem_push_locked(umem, addrs, n, &umem->acct.tx_done);
	ring_umem_unlock(umem);
}

uint32_t ring_xsk_tx_room(struct ring_xsk *xsk)
{
	struct ring_q *r = &xsk->tx;

	if (!r->size)
		return 0;
	r->cached_cons = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE) + r->size;
	return r->cached_cons - r->cached_prod;
}

uint32_t ring_xsk_tx_post(struct ring_xsk *xsk, const uint64_t *addrs, const uint32_t *lens, uint32_t n)
{
	uint64_t tag = RING_OWN_TX(ring_lock_me);
	uint32_t idx;

	if (!n || !xsk->tx.size || ring_prod_reserve(&xsk->tx, n, &idx) != n)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		struct xdp_desc *d = ring_rx_desc(&xsk->tx, idx + i);

		d->addr = addrs[i];
		d->len = lens[i];
		d->options = 0;
	}
	ring_prod_submit(&xsk->tx, n);
	/* the kernel's now: unmarked after the submit, and tx_clear says up
	 * to where (a sender killed before that is repaired from it).  Only
	 * our own mark is cleared: the kernel may have completed the frame
	 * and another sender reaped and taken it meanwhile. */
	ring_kill_order();
	for (uint32_t i = 0; i < n; i++) {
		uint64_t *o = &xsk->umem->owner[addrs[i] >> xsk->umem->frame_shift];

		if (*o == tag)
			*o = 0;
	}
	ring_kill_order();
	xsk->tx_clear = idx + n;
	return n;
}

uint32_t ring_xsk_tx_pending(const struct ring_xsk *xsk)
{
	if (!xsk->tx.size)
		return 0;
	return __atomic_load_n(xsk->tx.producer, __ATOMIC_RELAXED) -
	       __atomic_load_n(xsk->tx.consumer, __ATOMIC_ACQUIRE);
}

uint32_t ring_xsk_tx_repair(struct ring_xsk *xsk, uint64_t dead)
{
	struct ring_umem *umem = xsk->umem;
	uint32_t prod;

	if (!xsk->tx.size)
		return 0;
	prod = __atomic_load_n(xsk->tx.producer, __ATOMIC_ACQUIRE);
	xsk->tx.cached_prod = prod;
	if (dead)   /* posted, still marked: in flight, not given back */
		for (uint32_t i = xsk->tx_clear; i != prod; i++) {
			uint64_t *o = &umem->owner[ring_rx_desc(&xsk->tx, i)->addr >> umem->frame_shift];

			if (*o == RING_OWN_TX(dead))
				*o = 0;
		}
	xsk->tx_clear = prod;
	return dead ? ring_umem_reclaim(umem, RING_OWN_TX(dead), &umem->acct.tx_done) : 0;
}

#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9   /* linux 6.17 */
#endif

uint32_t ring_xsk_tx_budget(struct ring_xsk *xsk)
{
	unsigned int v = xsk->tx.size < RING_TX_KICK_BUDGET ? xsk->tx.size : RING_TX_KICK_BUDGET;

	if (v > 32 && !setsockopt(xsk->fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &v, sizeof(v)))
		return v;
	return 32;   /* an older kernel's fixed batch */
}

int ring_xsk_tx_kick(struct ring_xsk *xsk)
{
	if (xsk->umem->cfg.zerocopy && !ring_prod_needs_wakeup(&xsk->tx))
		return 0;
	if (sendto(xsk->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0)
		return -errno;
	return 0;
}

uint32_t ring_xsk_tx_flush(struct ring_xsk *xsk, int timeout_ms)
{
	struct timespec t0, now, nap = { 0, 20000 };
	uint32_t left;

	if (!xsk->tx.size)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((left = ring_xsk_tx_pending(xsk))) {
		int err = ring_xsk_tx_kick(xsk);

		if (err && err != -EAGAIN && err != -EBUSY && err != -ENOBUFS && err != -EINTR)
			break;   /* ENETDOWN, ENXIO: nothing more will go */
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >= timeout_ms)
			break;
		if (err)
			nanosleep(&nap, NULL);
	}
	ring_umem_tx_reap(xsk->umem);
	return left;
}

/* ---- frames ------------------------------------------------------------- */

static inline uint64_t tx_mv64(uint8_t *d, const uint8_t *s)
{
	uint64_t v;

	memcpy(&v, s, 8);
	memcpy(d, &v, 8);
	return v;
}

/* One pass: each 8-byte word is loaded once, stored and added (four
 * independent add-with-carry chains, as csum_add in frame.c: the
 * arithmetic is ones' complement modulo 2^64-1, see there). */
uint64_t ring_csum_copy_scalar(void *dst, const void *src, size_t len, uint64_t acc)
{
	const uint8_t *s = src;
	uint8_t *d = dst;
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, t = 0;

	while (len >= 32) {
		s0 = ring_csum_add(s0, tx_mv64(d, s));
		s1 = ring_csum_add(s1, tx_mv64(d + 8, s + 8));
		s2 = ring_csum_add(s2, tx_mv64(d + 16, s + 16));
		s3 = ring_csum_add(s3, tx_mv64(d + 24, s + 24));
		s += 32;
		d += 32;
		len -= 32;
	}
	while (len >= 8) {
		s0 = ring_csum_add(s0, tx_mv64(d, s));
		s += 8;
		d += 8;
		len -= 8;
	}
	if (len & 4) {
		uint32_t v;

		memcpy(&v, s, 4);
		memcpy(d, &v, 4);
		t += v;
		s += 4;
		d += 4;
	}
	if (len & 2) {
		uint16_t v;

		memcpy(&v, s, 2);
		memcpy(d, &v, 2);
		t += v;
		s += 2;
		d += 2;
	}
	if (len & 1) {
		d[0] = s[0];
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		t += s[0];
#else
		t += (uint64_t)s[0] << 8;
#endif
	}
	s0 = ring_csum_add(s0, s2);
	s1 = ring_csum_add(s1, s3);
	s1 = ring_csum_add(s1, t);
	return ring_csum_add(acc, ring_csum_add(s0, s1));
}

#if defined(__x86_64__)
#include <immintrin.h>
#include <sys/platform/x86.h>

/* AVX2: 64 bytes per iteration, loaded and stored as two 32-byte vectors;
 * each vector's eight 32-bit words are added, zero-extended, into 64-bit
 * lanes (the low and the high word of each lane separately), so there is
 * no carry to propagate: a lane takes at most len/32 words below 2^32,
 * far from overflowing for any datagram.  A 32-bit word at an offset that
 * is a multiple of 4 keeps the byte pairing, and 2^16-1 divides 2^32-1,
 * so the lanes' total is congruent to the 16-bit ones' complement sum.
 * The rest (< 64 bytes, starting at an even offset) is the scalar
 * loop's, chained through acc. */
__attribute__((target("avx2")))
static uint64_t tx_csum_copy_avx2(uint8_t *d, const uint8_t *s, size_t len, uint64_t acc)
{
	const __m256i lo32 = _mm256_set1_epi64x(0xffffffffll);
	__m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, t;
	__m128i h;
	uint64_t sum;

	while (len >= 64) {
		__m256i v = _mm256_loadu_si256((const __m256i *)s);
		__m256i w = _mm256_loadu_si256((const __m256i *)(s + 32));

		_mm256_storeu_si256((__m256i *)d, v);
		_mm256_storeu_si256((__m256i *)(d + 32), w);
		a0 = _mm256_add_epi64(a0, _mm256_and_si256(v, lo32));
		a1 = _mm256_add_epi64(a1, _mm256_srli_epi64(v, 32));
		a2 = _mm256_add_epi64(a2, _mm256_and_si256(w, lo32));
		a3 = _mm256_add_epi64(a3, _mm256_srli_epi64(w, 32));
		s += 64;
		d += 64;
		len -= 64;
	}
	/* the lanes summed in registers (no carry: each lane is below
	 * 2^42 for any length up to 64 KiB, their total below 2^46); a
	 * store and 16 reloads of them stalled on store forwarding */
	t = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
	h = _mm_add_epi64(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
	sum = (uint64_t)_mm_cvtsi128_si64(h) + (uint64_t)_mm_extract_epi64(h, 1);
	/* Clean upper halves before any SSE code runs again: gcc leaves the
	 * vzeroupper out before the tail call below, and with the upper
	 * state dirty every later SSE instruction paid for it (perf: two
	 * thirds of shim_tx_many's time on the first one after the return,
	 * 1228-byte datagrams) */
	_mm256_zeroupper();
	acc = ring_csum_add(acc, sum);
	return ring_csum_copy_scalar(d, s, len, acc);
}

/* From what the dynamic loader already found out about the CPU (glibc's
 * <sys/platform/x86.h>: AVX2 present and enabled by the kernel), read at
 * load.  Not __builtin_cpu_supports: it links libgcc's CPU model, whose
 * constructor runs dozens of CPUID instructions in every process that
 * loads the library, and each one traps to the hypervisor on a VM (about
 * a tenth of what the shim added to a short-lived process there). */
static bool tx_avx2;

__attribute__((constructor))
static void tx_cpu_init(void)
{
	tx_avx2 = CPU_FEATURE_ACTIVE(AVX2);
}
#endif

bool ring_csum_copy_simd_ok(void)
{
#if defined(__x86_64__)
	return tx_avx2;
#else
	return false;
#endif
}

uint64_t ring_csum_copy_simd(void *dst, const void *src, size_t len, uint64_t acc)
{
#if defined(__x86_64__)
	if (tx_avx2)
		return tx_csum_copy_avx2(dst, src, len, acc);
#endif
	return ring_csum_copy_scalar(dst, src, len, acc);
}

/* Below 128 bytes the vector loop's set-up and horizontal sum cost about
 * what it saves. */
uint64_t ring_csum_copy(void *dst, const void *src, size_t len, uint64_t acc)
{
#if defined(__x86_64__)
	if (len >= 128 && tx_avx2)
		return tx_csum_copy_avx2(dst, src, len, acc);
#endif
	return ring_csum_copy_scalar(dst, src, len, acc);
}

/* Copy [off, off+len) of the iovecs to dst, summing; a piece that starts at
 * an odd payload offset pairs its bytes the other way round, which in ones'
 * complement is the byte-swapped sum.  Returns false if the iovecs are
 * short. */
static bool tx_copy_iov(uint8_t *dst, const struct iovec *iov, size_t iov_cnt, size_t off, size_t len,
			uint64_t *acc)
{
	size_t done = 0;

	for (size_t i = 0; i < iov_cnt && done < len; i++) {
		size_t l = iov[i].iov_len, n;

		if (!l)
			continue;
		if (off >= l) {
			off -= l;
			continue;
		}
		n = l - off;
		if (n > len - done)
			n = len - done;
		if (done & 1) {
			uint16_t f = ring_csum_fold(ring_csum_copy(dst + done, (const uint8_t *)iov[i].iov_base + off, n, 0));

			*acc = ring_csum_add(*acc, (uint16_t)((f >> 8) | (f << 8)));
		} else {
			*acc = ring_csum_copy(dst + done, (const uint8_t *)iov[i].iov_base + off, n, *acc);
		}
		done += n;
		off = 0;
	}
	return done == len;
}

/* Two header bytes as the 16-bit word a native load of them gives. */
static inline uint64_t tx_pair(uint8_t a, uint8_t b)
{
	uint8_t x[2] = { a, b };
	uint16_t v;

	memcpy(&v, x, 2);
	return v;
}

/* The pseudo-header's addresses, summed from h rather than from the frame:
 * reading back the bytes just stored there with wider loads stalls on
 * store forwarding (perf showed a third of the time in those adds). */
static uint64_t tx_addr_sum(const struct ring_tx_hdr *h)
{
	size_t n = h->family == 4 ? 4 : 16;
	uint64_t acc = 0;

	for (size_t i = 0; i < n; i += 4) {
		uint32_t a, b;

		memcpy(&a, h->saddr + i, 4);
		memcpy(&b, h->daddr + i, 4);
		acc += (uint64_t)a + b;
	}
	return acc;
}

uint32_t ring_tx_frame_build(uint8_t *frame, uint32_t cap, const struct ring_tx_hdr *h, const struct iovec *iov,
			     size_t iov_cnt, size_t off, size_t len)
{
	uint32_t hl = RING_TX_HDR_SZ(h->family), ulen = 8 + (uint32_t)len;
	uint8_t *ip = frame + 14, *udp = frame + hl - 8;
	uint64_t acc = 0, addrs = tx_addr_sum(h);
	uint16_t v16, c, ulen_be = htons((uint16_t)ulen);

	if (len > 0xffff - 8 - 40 || hl + len > cap)
		return 0;
	memcpy(frame, h->dst_mac, 6);
	memcpy(frame + 6, h->src_mac, 6);
	v16 = htons(h->family == 4 ? 0x0800 : 0x86dd);
	memcpy(frame + 12, &v16, 2);
	if (!tx_copy_iov(frame + hl, iov, iov_cnt, off, len, &acc))
		return 0;

	/* UDP header; its sum (checksum field 0) and the pseudo-header's
	 * (addresses, protocol, UDP length) from the values */
	memcpy(udp, &h->sport, 2);
	memcpy(udp + 2, &h->dport, 2);
	memcpy(udp + 4, &ulen_be, 2);
	acc = ring_csum_add(acc, (uint64_t)h->sport + h->dport + 2u * ulen_be + htons(IPPROTO_UDP) + addrs);
	if (h->family == 4) {
		uint16_t tot = htons((uint16_t)(20 + ulen)), id = htons(h->ip_id), frag = htons(h->df ? 0x4000 : 0);

		ip[0] = 0x45;
		ip[1] = h->tos;
		memcpy(ip + 2, &tot, 2);
		memcpy(ip + 4, &id, 2);
		memcpy(ip + 6, &frag, 2);
		ip[8] = h->ttl;
		ip[9] = IPPROTO_UDP;
		memcpy(ip + 12, h->saddr, 4);
		memcpy(ip + 16, h->daddr, 4);
		c = (uint16_t)~ring_csum_fold(tx_pair(0x45, h->tos) + tot + id + frag + tx_pair(h->ttl, IPPROTO_UDP) +
					      addrs);
		memcpy(ip + 10, &c, 2);
	} else {
		uint32_t w = htonl(6u << 28 | (uint32_t)h->tos << 20 | (h->flowlabel & 0xfffff));

		memcpy(ip, &w, 4);
		memcpy(ip + 4, &ulen_be, 2);
		ip[6] = IPPROTO_UDP;
		ip[7] = h->ttl;
		memcpy(ip + 8, h->saddr, 16);
		memcpy(ip + 24, h->daddr, 16);
	}
	c = (uint16_t)~ring_csum_fold(acc);
	if (h->family == 4 && h->no_csum)
		c = 0;
	else if (c == 0)
		c = 0xffff;   /* 0 means "no checksum" on the wire */
	memcpy(udp + 6, &c, 2);
	return hl + (uint32_t)len;
}
