/* xdpgen.c - high-rate UDP generator: live XDP frames out of a veth.
 *
 *   xdpgen --iface va --dst-mac 02:00:00:00:00:0b --src 198.18.0.1 \
 *          --dst 198.18.0.2 --port 9000 --size 64 --count 5000000 --flows 4
 *
 * Builds one Ethernet/IPv4|IPv6/UDP frame (source MAC = the interface's),
 * loads xdpgen.bpf.c with the frame's constants and runs it through
 * BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES (batch 64) and the
 * interface as ingress device: every run returns XDP_TX, which transmits
 * the frame out of the veth to its peer.  The program stamps each frame with
 * the next sequence number, flow (source port sport-base + seq % flows),
 * the udpgen payload pattern and a correct UDP checksum, so streamrecv and
 * rawrecv verify these datagrams exactly as udpgen's.  --csum zero (IPv4
 * only) sends checksum 0 instead.  The program (and the AF_XDP engine below,
 * by default) takes the payload's sum from a table precomputed per pattern
 * offset, which a sender of arbitrary data cannot do; --csum computed (AF_XDP
 * engine only) instead copies each payload into its frame and sums it in one
 * pass with ring_csum_copy, the routine the shim's transmit uses, so that a
 * raw AF_XDP sender does the same per-frame work as the shim
 * (scripts/bench-tx compares against this one).
 *
 * The run is split into chunks of about half a second (the first is 1 M
 * frames) so that --duration-max can act between them.  Each test run costs
 * ~20 ms of fixed setup here (measured: 64 frames take 19 ms), which is why
 * live frames cannot be paced: pacing by small runs does not work.  --rate
 * PPS therefore takes the AF_XDP engine (below), which posts no frame ahead
 * of the schedule start + seq / PPS (a steady offered load, for comparing
 * receivers' CPU per packet under the same traffic; bench's QUIC rows).
 * Needs root (CAP_BPF + CAP_NET_ADMIN); run it inside the sending namespace.
 *
 * Frames arriving on the peer veth need NAPI there (an XDP program attached
 * natively, or GRO on) - otherwise the peer drops them (docs/platform.md).
 *
 * Some kernels refuse live-frames test runs (EPERM on 6.18 Firecracker
 * guests, where every other BPF and AF_XDP call works).  Then, or with
 * --engine afxdp, xdpgen sends the same frames through an AF_XDP socket's TX
 * ring on queue 0 of the interface instead (copy mode, no XDP program of its
 * own): user space writes each frame exactly as the program would (the same
 * pattern, flow and checksum arithmetic), posts batches on the TX ring,
 * kicks with sendto() and recycles frames from the completion ring.  The
 * kernel's per-kick budget is raised as the shim raises its own
 * (--kick-budget, XDP_MAX_TX_SKB_BUDGET, Linux 6.17+), and a batch of that
 * many is posted per kick, up to 64 (what the shim gets from a
 * sendmmsg(64)); --kick-budget 32 is the kernel's default and older batch.  This
 * is slower than live frames (generic transmit builds an skb per frame) but
 * still faster than a sendmmsg() loop, and the line below says which engine
 * ran.
 *
 * Prints one line:  xdpgen: sent=N secs=S pps=X engine=live|afxdp
 * where sent is how many frames were built and handed to the device.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <xdp/xsk.h>

#include "xdpgen.skel.h"

#include "ring/ring.h"
#include "tests/tools/toolutil.h"

#define XDPGEN_PAY_MAX 1472
#define XDPGEN_HDR_SZ  12
#define XDPGEN_CHUNK   (1u << 20)


/* Sum of 16-bit words loaded in memory order (odd tail zero padded). */
static uint32_t csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;
	uint16_t w;

	for (; len >= 2; len -= 2, b += 2) {
		memcpy(&w, b, 2);
		sum += w;
	}
	if (len) {
		uint8_t last[2] = { b[0], 0 };

		memcpy(&w, last, 2);
		sum += w;
	}
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (i = 0; i < 6; i++) {
		if (v[i] > 0xff)
			return -1;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

static int iface_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

/* ---- the AF_XDP TX engine ----------------------------------------------- */

#define AFX_FRAMES 4096
#define AFX_FRAME_SZ 2048
#define AFX_RING 2048
#define AFX_BATCH 64        /* most frames posted per kick (the kick budget allowing) */
#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9
#endif

/* What the XDP program does to the template for datagram `seq`, in user
 * space: source port, the 12 header bytes, the pattern tail and the UDP
 * checksum (see xdpgen.bpf.c for the arithmetic). */
struct afx_gen {
	uint32_t udp_off, pay_len, flows, sport_base, csum_base, csum_zero, csum_computed;
	const uint8_t *pat_tab;
	const uint32_t *pat_sum;
};

static void afx_stamp(const struct afx_gen *g, uint8_t *f, uint64_t s)
{
	uint8_t *udp = f + g->udp_off, hb[XDPGEN_HDR_SZ];
	uint64_t flow = g->flows ? s % g->flows : 0;
	uint32_t base = (uint32_t)(s * 31 + XDPGEN_HDR_SZ) & 0xff, sum;
	uint16_t sp = htons((uint16_t)(g->sport_base + flow)), w;
	int i;

	memcpy(udp, &sp, 2);
	for (i = 0; i < 8; i++)
		hb[i] = (uint8_t)(s >> (8 * i));
	for (i = 0; i < 4; i++)
		hb[8 + i] = (uint8_t)(flow >> (8 * i));
	memcpy(udp + 8, hb, XDPGEN_HDR_SZ);
	if (g->csum_computed) {
		/* the pattern starts at an even payload offset (12): its sum
		 * chains with the others' */
		uint64_t acc = ring_csum_copy(udp + 8 + XDPGEN_HDR_SZ, g->pat_tab + base,
					      g->pay_len - XDPGEN_HDR_SZ, 0);

		acc = ring_csum_partial(hb, XDPGEN_HDR_SZ, acc);
		w = (uint16_t)~ring_csum_fold(ring_csum_add(acc, (uint64_t)g->csum_base + sp));
		memcpy(udp + 6, w ? &w : &(uint16_t){ 0xffff }, 2);
		return;
	}
	if (g->pay_len > XDPGEN_HDR_SZ)
		memcpy(udp + 8 + XDPGEN_HDR_SZ, g->pat_tab + base, g->pay_len - XDPGEN_HDR_SZ);
	if (g->csum_zero) {
		memset(udp + 6, 0, 2);
		return;
	}
	sum = csum_add(g->csum_base + sp, hb, XDPGEN_HDR_SZ) + g->pat_sum[base];
	w = csum_fold(sum);
	if (!w)
		w = 0xffff;
	memcpy(udp + 6, &w, 2);
}

/* Send `count` datagrams of the template through an AF_XDP TX ring on
 * queue 0 of ifname.  Returns how many were handed to the device (*sent),
 * 0 or a negative errno. */
static int afx_send(const char *ifname, const uint8_t *tmpl, unsigned flen, const struct afx_gen *g,
		    uint64_t count, double dur_max, double rate, unsigned kick_budget, uint64_t *sent)
{
	uint32_t batch = 32;   /* generic transmit's default budget per kick */
	struct xsk_socket_config sc = {
		.tx_size = AFX_RING, .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY,
	};
	struct xsk_ring_prod fq, tx;
	struct xsk_ring_cons cq;
	struct xsk_umem *umem = NULL;
	struct xsk_socket *xsk = NULL;
	uint64_t *free_stack, seq = 0, tmax, t0, inflight = 0;
	uint32_t free_cnt = 0, i, idx = 0;
	uint8_t *area;
	int err = 0, fd;

	*sent = 0;
	area = mmap(NULL, (size_t)AFX_FRAMES * AFX_FRAME_SZ, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	free_stack = calloc(AFX_FRAMES, sizeof(*free_stack));
	if (area == MAP_FAILED || !free_stack) {
		err = -ENOMEM;
		goto out_mem;
	}
	{
		struct xsk_umem_config ucfg = { .fill_size = AFX_RING, .comp_size = AFX_FRAMES,
						.frame_size = AFX_FRAME_SZ };

		err = xsk_umem__create(&umem, area, (uint64_t)AFX_FRAMES * AFX_FRAME_SZ, &fq, &cq, &ucfg);
	}
	if (err)
		goto out_mem;
	err = xsk_socket__create(&xsk, ifname, 0, umem, NULL, &tx, &sc);
	if (err)
		goto out_umem;
	fd = xsk_socket__fd(xsk);
	if (kick_budget > 32) {
		if (setsockopt(fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &kick_budget, sizeof(kick_budget)))
			fprintf(stderr, "xdpgen: XDP_MAX_TX_SKB_BUDGET %u: %s (the kernel's 32 per kick)\n", kick_budget,
				strerror(errno));
		else
			batch = kick_budget < AFX_BATCH ? kick_budget : AFX_BATCH;
	}
	for (i = 0; i < AFX_FRAMES; i++) {
		memcpy(area + (uint64_t)i * AFX_FRAME_SZ, tmpl, flen);
		free_stack[free_cnt++] = (uint64_t)i * AFX_FRAME_SZ;
	}
	t0 = now_ns();
	tmax = t0 + (uint64_t)(dur_max * 1e9);
	while (seq < count || inflight) {
		uint32_t n = xsk_ring_cons__peek(&cq, AFX_FRAMES, &idx);

		for (i = 0; i < n; i++)
			free_stack[free_cnt++] = *xsk_ring_cons__comp_addr(&cq, idx + i);
		if (n)
			xsk_ring_cons__release(&cq, n);
		inflight -= n;
		*sent += n;
		n = count - seq < batch ? (uint32_t)(count - seq) : batch;
		if (n > free_cnt)
			n = free_cnt;
		if (rate > 0) {   /* nothing ahead of the schedule */
			double due = (double)(now_ns() - t0) * rate / 1e9 - (double)seq;

			if (due < n)
				n = due > 0 ? (uint32_t)due : 0;
		}
		if (n && xsk_ring_prod__reserve(&tx, n, &idx) == n) {
			for (i = 0; i < n; i++) {
				struct xdp_desc *d = xsk_ring_prod__tx_desc(&tx, idx + i);

				d->addr = free_stack[--free_cnt];
				d->len = flen;
				afx_stamp(g, area + d->addr, seq++);
			}
			xsk_ring_prod__submit(&tx, n);
			inflight += n;
		}
		if (sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 && errno != EAGAIN &&
		    errno != EBUSY && errno != ENOBUFS && errno != ENETDOWN) {
			err = -errno;
			break;
		}
		if (now_ns() > tmax) {
			fprintf(stderr, "xdpgen: --duration-max reached\n");
			break;
		}
	}
	/* Frames submitted but not yet completed go out on a kick: kick and
	 * reap them, for up to 1 s, so that `sent` counts every frame the
	 * receiver may see (it was 32 short, and 2 on a loaded machine with
	 * a shorter wait).  Stragglers past that are reported. */
	for (tmax = now_ns() + 1000000000ull; inflight && now_ns() < tmax;) {
		uint32_t n = xsk_ring_cons__peek(&cq, AFX_FRAMES, &idx);

		if (n)
			xsk_ring_cons__release(&cq, n);
		inflight -= n;
		*sent += n;
		(void)sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
		if (!n) {
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
		}
	}
	if (inflight)
		fprintf(stderr, "xdpgen: %llu frames still not completed after 1 s (not counted as sent)\n",
			(unsigned long long)inflight);
	xsk_socket__delete(xsk);
out_umem:
	xsk_umem__delete(umem);
out_mem:
	free(free_stack);
	if (area != MAP_FAILED)
		munmap(area, (size_t)AFX_FRAMES * AFX_FRAME_SZ);
	return err;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xdpgen --iface IF --dst-mac MAC --src ADDR --dst ADDR --port P [options]\n"
		"  --src-mac MAC      default: the interface's address\n"
		"  --size BYTES       UDP payload, 12..%u (IPv6: ..%u), default 64\n"
		"  --count N          frames to send, default 1000\n"
		"  --flows N          source ports sport-base.., default 1\n"
		"  --sport-base P     default 20000\n"
		"  --csum full|zero|computed  UDP checksum (zero: IPv4 only), default full;\n"
		"                     computed: full, summed over each payload as it is\n"
		"                     copied (AF_XDP engine only), not from a table\n"
		"  --batch N          live-frames batch size, default 64\n"
		"  --duration-max S   bound on the run, default 30\n"
		"  --rate PPS         pace to PPS (takes the afxdp engine), default 0: unpaced\n"
		"  --kick-budget N    afxdp: the kernel's frames per kick (XDP_MAX_TX_SKB_BUDGET),\n"
		"                     default 256 (as the shim); 32: the kernel's default\n"
		"  --engine E         live (BPF_F_TEST_XDP_LIVE_FRAMES), afxdp (AF_XDP TX\n"
		"                     ring), or auto: live, afxdp where the kernel refuses it\n",
		XDPGEN_PAY_MAX, XDPGEN_PAY_MAX - 20);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "dst-mac", required_argument, NULL, 'M' },
		{ "src-mac", required_argument, NULL, 'm' },
		{ "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 'z' },
		{ "count", required_argument, NULL, 'c' },
		{ "flows", required_argument, NULL, 'f' },
		{ "sport-base", required_argument, NULL, 'b' },
		{ "csum", required_argument, NULL, 'C' },
		{ "batch", required_argument, NULL, 'B' },
		{ "duration-max", required_argument, NULL, 'D' },
		{ "engine", required_argument, NULL, 'E' },
		{ "rate", required_argument, NULL, 'r' },
		{ "kick-budget", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *ifname = NULL, *src = NULL, *dst = NULL;
	uint8_t dmac[6], smac[6], frame[14 + 40 + 8 + XDPGEN_PAY_MAX];
	uint8_t saddr[16], daddr[16];
	int have_dmac = 0, have_smac = 0, v6, c, err, rc = 0;
	unsigned port = 0, flows = 1, sport_base = 20000, batch = 64, csum_zero = 0, csum_computed = 0;
	unsigned ifindex, l3len, udp_off, flen, i;
	uint64_t count = 1000, done;
	double dur_max = 30, rate = 0;
	unsigned kick_budget = 256;
	size_t size = 64;
	struct xdpgen *skel;
	const char *engine = "auto";

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': ifname = optarg; break;
		case 'M':
			if (parse_mac(optarg, dmac))
				goto bad;
			have_dmac = 1;
			break;
		case 'm':
			if (parse_mac(optarg, smac))
				goto bad;
			have_smac = 1;
			break;
		case 's': src = optarg; break;
		case 'd': dst = optarg; break;
		case 'p': port = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'z': size = strtoul(optarg, NULL, 0); break;
		case 'c': count = strtoull(optarg, NULL, 0); break;
		case 'f': flows = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'b': sport_base = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'C':
			if (!strcmp(optarg, "zero"))
				csum_zero = 1;
			else if (!strcmp(optarg, "computed"))
				csum_computed = 1;
			else if (strcmp(optarg, "full"))
				goto bad;
			break;
		case 'B': batch = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'D': dur_max = strtod(optarg, NULL); break;
		case 'E':
			if (strcmp(optarg, "auto") && strcmp(optarg, "live") && strcmp(optarg, "afxdp"))
				goto bad;
			engine = optarg;
			break;
		case 'r': rate = strtod(optarg, NULL); break;
		case 'K': kick_budget = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'h': usage(stdout); return 0;
		default: goto bad;
		}
	}
	if (!ifname || !have_dmac || !src || !dst || !port || port > 65535 || !flows ||
	    !sport_base || sport_base + flows - 1 > 65535 || !batch || batch > 256 ||
	    dur_max <= 0 || rate < 0 || (rate > 0 && !strcmp(engine, "live")))
		goto bad;
	if (rate > 0)
		engine = "afxdp";   /* live frames cannot be paced (above) */
	if (inet_pton(AF_INET, src, saddr) == 1 && inet_pton(AF_INET, dst, daddr) == 1)
		v6 = 0;
	else if (inet_pton(AF_INET6, src, saddr) == 1 && inet_pton(AF_INET6, dst, daddr) == 1)
		v6 = 1;
	else
		goto bad;
	if (csum_computed && strcmp(engine, "afxdp")) {
		fprintf(stderr, "xdpgen: --csum computed needs --engine afxdp\n");
		return 2;
	}
	if (size < XDPGEN_HDR_SZ || size > XDPGEN_PAY_MAX - (v6 ? 20u : 0u) || (v6 && csum_zero))
		goto bad;

	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, "xdpgen: no interface %s\n", ifname);
		return 1;
	}
	if (!have_smac && (err = iface_mac(ifname, smac))) {
		fprintf(stderr, "xdpgen: MAC of %s: %s\n", ifname, strerror(-err));
		return 1;
	}

	/* The template frame: payload of seq 0, checksums valid for it. */
	l3len = v6 ? 40 : 20;
	udp_off = 14 + l3len;
	flen = udp_off + 8 + (unsigned)size;
	memset(frame, 0, sizeof(frame));
	memcpy(frame, dmac, 6);
	memcpy(frame + 6, smac, 6);
	frame[12] = v6 ? 0x86 : 0x08;
	frame[13] = v6 ? 0xdd : 0x00;
	{
		uint8_t *ip = frame + 14, *udp = frame + udp_off, *pay = udp + 8;
		uint16_t ulen = htons((uint16_t)(8 + size)), w;
		uint8_t pseudo[40];
		uint32_t base;
		unsigned plen;

		if (v6) {
			ip[0] = 0x60;
			memcpy(ip + 4, &ulen, 2);   /* payload length = UDP length */
			ip[6] = IPPROTO_UDP;
			ip[7] = 64;
			memcpy(ip + 8, saddr, 16);
			memcpy(ip + 24, daddr, 16);
		} else {
			w = htons((uint16_t)(20 + 8 + size));
			ip[0] = 0x45;
			memcpy(ip + 2, &w, 2);
			ip[6] = 0x40;               /* DF */
			ip[8] = 64;
			ip[9] = IPPROTO_UDP;
			memcpy(ip + 12, saddr, 4);
			memcpy(ip + 16, daddr, 4);
			w = csum_fold(csum_add(0, ip, 20));
			memcpy(ip + 10, &w, 2);
		}
		w = htons((uint16_t)sport_base);
		memcpy(udp, &w, 2);
		w = htons((uint16_t)port);
		memcpy(udp + 2, &w, 2);
		memcpy(udp + 4, &ulen, 2);
		for (i = XDPGEN_HDR_SZ; i < size; i++)
			pay[i] = (uint8_t)i;    /* seq 0 */

		/* constant part: pseudo header + dport + length */
		memset(pseudo, 0, sizeof(pseudo));
		if (v6) {
			memcpy(pseudo, saddr, 16);
			memcpy(pseudo + 16, daddr, 16);
			memcpy(pseudo + 34, &ulen, 2);  /* 32-bit length, high half 0 */
			pseudo[39] = IPPROTO_UDP;
			plen = 40;
		} else {
			memcpy(pseudo, saddr, 4);
			memcpy(pseudo + 4, daddr, 4);
			pseudo[9] = IPPROTO_UDP;
			memcpy(pseudo + 10, &ulen, 2);
			plen = 12;
		}
		base = csum_add(0, pseudo, plen);
		base = csum_add(base, udp + 2, 4);
		if (!csum_zero) {
			uint32_t s = csum_add(csum_add(base, udp, 2), pay, size);

			w = csum_fold(s);
			if (!w)
				w = 0xffff;
			memcpy(udp + 6, &w, 2);
		}

		skel = xdpgen__open();
		if (!skel) {
			fprintf(stderr, "xdpgen: open skeleton: %s\n", strerror(errno));
			return 1;
		}
		skel->rodata->udp_off = udp_off;
		skel->rodata->pay_len = (uint32_t)size;
		skel->rodata->flows = flows;
		skel->rodata->sport_base = sport_base;
		skel->rodata->csum_base = base;
		skel->rodata->csum_zero = csum_zero;
	}
	err = xdpgen__load(skel);
	if (err) {
		fprintf(stderr, "xdpgen: load: %s\n", strerror(-err));
		rc = 1;
		goto out;
	}
	for (i = 0; i < sizeof(skel->bss->pat_tab); i++)
		skel->bss->pat_tab[i] = (uint8_t)i;
	for (i = 0; i < 256; i++)
		skel->bss->pat_sum[i] = size > XDPGEN_HDR_SZ ?
			csum_add(0, &skel->bss->pat_tab[i], size - XDPGEN_HDR_SZ) : 0;
	skel->bss->seq = 0;

	{
		struct xdp_md ctx_in = {
			.data_end = flen,
			.ingress_ifindex = ifindex,
		};
		LIBBPF_OPTS(bpf_test_run_opts, topts,
			.data_in = frame,
			.data_size_in = flen,
			.ctx_in = &ctx_in,
			.ctx_size_in = sizeof(ctx_in),
			.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
			.batch_size = batch,
		);
		int prog_fd = bpf_program__fd(skel->progs.xdpgen_xdp);
		uint64_t chunk = XDPGEN_CHUNK;
		uint64_t t0 = now_ns(), tmax = t0 + (uint64_t)(dur_max * 1e9), t1;
		uint64_t issued = 0;

		while (strcmp(engine, "afxdp") && issued < count) {
			uint64_t n = count - issued < chunk ? count - issued : chunk;
			uint64_t tc = now_ns();

			topts.repeat = (uint32_t)n;
			err = bpf_prog_test_run_opts(prog_fd, &topts);
			if (err && errno == EPERM && !issued && !strcmp(engine, "auto")) {
				fprintf(stderr, "xdpgen: live-frames test run refused (%s); "
					"sending through an AF_XDP TX ring instead\n", strerror(errno));
				engine = "afxdp";
				break;
			}
			if (err) {
				fprintf(stderr, "xdpgen: test run: %s\n", strerror(errno));
				rc = 1;
				break;
			}
			issued += n;
			/* next chunk: about half a second at the rate just seen */
			tc = now_ns() - tc;
			if (tc && n == chunk) {
				double half = (double)n * 0.5e9 / (double)tc;

				chunk = half > XDPGEN_CHUNK ? (uint64_t)half : XDPGEN_CHUNK;
				if (chunk > UINT32_MAX)
					chunk = UINT32_MAX;
			}
			if (now_ns() > tmax) {
				fprintf(stderr, "xdpgen: --duration-max reached\n");
				break;
			}
		}
		done = skel->bss->seq;
		if (!strcmp(engine, "afxdp")) {
			struct afx_gen g = {
				.udp_off = udp_off, .pay_len = (uint32_t)size, .flows = flows,
				.sport_base = sport_base, .csum_base = skel->rodata->csum_base,
				.csum_zero = csum_zero, .csum_computed = csum_computed, .pat_tab = skel->bss->pat_tab,
				.pat_sum = skel->bss->pat_sum,
			};

			t0 = now_ns();
			err = afx_send(ifname, frame, flen, &g, count, dur_max, rate, kick_budget, &done);
			if (err) {
				fprintf(stderr, "xdpgen: AF_XDP TX on %s: %s\n", ifname, strerror(-err));
				rc = 1;
			}
		} else {
			engine = "live";
		}
		t1 = now_ns();
		{
			double secs = (double)(t1 - t0) / 1e9;

			printf("xdpgen: sent=%llu secs=%.3f pps=%.0f engine=%s\n", (unsigned long long)done,
			       secs, secs > 0 ? (double)done / secs : 0.0, engine);
			fflush(stdout);
		}
		if (done != count)
			rc = 1;
	}
out:
	xdpgen__destroy(skel);
	return rc;
bad:
	usage(stderr);
	return 2;
}
