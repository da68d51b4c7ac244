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
 * only) sends checksum 0 instead.
 *
 * The run is split into chunks of about half a second (the first is 1 M
 * frames) so that --duration-max can act between them.  Each test run costs
 * ~20 ms of fixed setup here (measured: 64 frames take 19 ms), which is why
 * there is no --rate: pacing by small runs does not work, the generator
 * always sends as fast as it can (use udpgen --rate for paced traffic).
 * Needs root (CAP_BPF + CAP_NET_ADMIN); run it inside the sending namespace.
 *
 * Frames arriving on the peer veth need NAPI there (an XDP program attached
 * natively, or GRO on) - otherwise the peer drops them (PLATFORM.md).
 *
 * Prints one line:  xdpgen: sent=N secs=S pps=X
 * where sent is how many frames the program built and handed to XDP_TX.
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

#include "xdpgen.skel.h"

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

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xdpgen --iface IF --dst-mac MAC --src ADDR --dst ADDR --port P [options]\n"
		"  --src-mac MAC      default: the interface's address\n"
		"  --size BYTES       UDP payload, 12..%u (IPv6: ..%u), default 64\n"
		"  --count N          frames to send, default 1000\n"
		"  --flows N          source ports sport-base.., default 1\n"
		"  --sport-base P     default 20000\n"
		"  --csum full|zero   UDP checksum (zero: IPv4 only), default full\n"
		"  --batch N          live-frames batch size, default 64\n"
		"  --duration-max S   bound on the run, default 30\n",
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
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *ifname = NULL, *src = NULL, *dst = NULL;
	uint8_t dmac[6], smac[6], frame[14 + 40 + 8 + XDPGEN_PAY_MAX];
	uint8_t saddr[16], daddr[16];
	int have_dmac = 0, have_smac = 0, v6, c, err, rc = 0;
	unsigned port = 0, flows = 1, sport_base = 20000, batch = 64, csum_zero = 0;
	unsigned ifindex, l3len, udp_off, flen, i;
	uint64_t count = 1000, done;
	double dur_max = 30;
	size_t size = 64;
	struct xdpgen *skel;

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
			else if (strcmp(optarg, "full"))
				goto bad;
			break;
		case 'B': batch = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'D': dur_max = strtod(optarg, NULL); break;
		case 'h': usage(stdout); return 0;
		default: goto bad;
		}
	}
	if (!ifname || !have_dmac || !src || !dst || !port || port > 65535 || !flows ||
	    !sport_base || sport_base + flows - 1 > 65535 || !batch || batch > 256 ||
	    dur_max <= 0)
		goto bad;
	if (inet_pton(AF_INET, src, saddr) == 1 && inet_pton(AF_INET, dst, daddr) == 1)
		v6 = 0;
	else if (inet_pton(AF_INET6, src, saddr) == 1 && inet_pton(AF_INET6, dst, daddr) == 1)
		v6 = 1;
	else
		goto bad;
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

		while (issued < count) {
			uint64_t n = count - issued < chunk ? count - issued : chunk;
			uint64_t tc = now_ns();

			topts.repeat = (uint32_t)n;
			err = bpf_prog_test_run_opts(prog_fd, &topts);
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
		t1 = now_ns();
		done = skel->bss->seq;
		{
			double secs = (double)(t1 - t0) / 1e9;

			printf("xdpgen: sent=%llu secs=%.3f pps=%.0f\n", (unsigned long long)done,
			       secs, secs > 0 ? (double)done / secs : 0.0);
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
