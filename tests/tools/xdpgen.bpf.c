// SPDX-License-Identifier: GPL-2.0
/* xdpgen.bpf.c - the XDP program behind xdpgen, the high-rate generator.
 *
 * xdpgen runs this program with BPF_PROG_TEST_RUN in live-frames mode
 * (BPF_F_TEST_XDP_LIVE_FRAMES) on the sending veth: the kernel hands it a
 * prebuilt Ethernet/IP/UDP frame again and again, and every XDP_TX goes out
 * of the veth to its peer.  The program turns the template into datagram
 * number `seq` of the udpgen pattern (see udpgen.c), so receivers verify
 * xdpgen traffic exactly as udpgen traffic:
 *   - payload bytes 0..7 = seq (little-endian), 8..11 = flow = seq % flows,
 *     bytes 12.. = (seq * 31 + i) & 0xff: one bpf_xdp_store_bytes() from
 *     pat_tab (pat_tab[k] = k & 0xff), at offset (seq * 31 + 12) & 0xff;
 *   - UDP source port = sport_base + flow;
 *   - UDP checksum computed from scratch but cheaply: user space precomputes
 *     the ones'-complement sum of everything constant (pseudo header,
 *     destination port, length) in csum_base and the sum of each of the 256
 *     possible pattern tails in pat_sum[]; the program adds the source port
 *     and the 12 header bytes and folds.  With csum_zero (IPv4 only) the
 *     checksum is left 0 ("no checksum", legal for UDP over IPv4).
 * All sums are over 16-bit words loaded in memory order, which makes them
 * byte-order independent; the result is stored the same way.
 *
 * Frames are only ever generated on one CPU (the test run disables
 * migration), so the plain increment of `seq` is race free; its final value
 * tells user space how many frames were built.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define XDPGEN_PAY_MAX 1472     /* IPv4 in a 1500-byte MTU */
#define XDPGEN_HDR_SZ  12

/* Set by user space before load. */
const volatile __u32 udp_off = 34;      /* Ethernet + IP header bytes */
const volatile __u32 pay_len = 64;      /* UDP payload bytes */
const volatile __u32 flows = 1;
const volatile __u32 sport_base = 20000;
const volatile __u32 csum_base;         /* partial sum of the constant words */
const volatile __u32 csum_zero;

/* Filled by user space after load (.bss is mmapped). */
__u8 pat_tab[256 + XDPGEN_PAY_MAX];
__u32 pat_sum[256];
__u64 seq;

SEC("xdp")
int xdpgen_xdp(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	__u32 off = udp_off & 0xff, len = pay_len, sum, base;
	__u64 s = seq, flow;
	__u16 hw[XDPGEN_HDR_SZ / 2], *udp;
	__u8 *hb = (__u8 *)hw;
	int i;

	seq = s + 1;
	udp = data + off;
	if ((void *)(udp + 4) + XDPGEN_HDR_SZ > data_end || len < XDPGEN_HDR_SZ ||
	    len > XDPGEN_PAY_MAX)
		return XDP_ABORTED;

	flow = flows ? s % flows : 0;
	udp[0] = bpf_htons((__u16)(sport_base + flow));
	/* little-endian seq and flow, byte by byte: host order independent */
#pragma unroll
	for (i = 0; i < 8; i++)
		hb[i] = (__u8)(s >> (8 * i));
#pragma unroll
	for (i = 0; i < 4; i++)
		hb[8 + i] = (__u8)(flow >> (8 * i));
	__builtin_memcpy(udp + 4, hw, XDPGEN_HDR_SZ);

	base = (__u32)(s * 31 + XDPGEN_HDR_SZ) & 0xff;
	if (len > XDPGEN_HDR_SZ &&
	    bpf_xdp_store_bytes(ctx, off + 8 + XDPGEN_HDR_SZ, &pat_tab[base],
				len - XDPGEN_HDR_SZ))
		return XDP_ABORTED;

	if (csum_zero) {
		udp[3] = 0;
		return XDP_TX;
	}
	sum = csum_base + udp[0];
#pragma unroll
	for (i = 0; i < XDPGEN_HDR_SZ / 2; i++)
		sum += hw[i];
	sum += pat_sum[base];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	udp[3] = sum ? (__u16)sum : 0xffff;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
