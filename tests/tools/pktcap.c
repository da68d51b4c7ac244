/* pktcap - capture UDP frames arriving on an interface (AF_PACKET) and print
 * every header field in a canonical line, so that what a plain sender and
 * the same sender under XSKSHIM_TX=on put on the wire can be compared line
 * by line (tests/t_tx.sh):
 *
 *   pktcap IFACE PORT COUNT MAX_SECS
 *
 * One line per frame whose UDP destination port is PORT:
 *   v4 SRC:SPORT > DST:DPORT ttl=T tos=0xTT df=0|1 id=POLICY ipcsum=ok|BAD
 *      udpcsum=ok|zero|BAD len=L fnv=HASH
 *   v6 SRC:SPORT > DST:DPORT hlim=H tclass=0xTT fl=POLICY udpcsum=ok|BAD len=L fnv=HASH
 * The IPv4 ID and the IPv6 flow label are random per boot/flow in the
 * kernel (and an unconnected socket's IDs jump by random amounts over
 * time), so their policy is printed instead of the value: id=0 or id=nz
 * (nz also for a 0 after a nonzero ID of the flow: a counter passing 0);
 * fl=0, fl=first (nonzero, first frame of its flow), fl=same (as the
 * flow's previous frame), fl=changed.  Checksums are
 * verified here (the sender's veth must have TX checksum offload off).
 * Stops after COUNT frames or MAX_SECS; prints "pktcap: frames=N" on stderr.
 * Exit status 0 if COUNT frames were seen. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ring/ring.h"

struct flow {
	uint8_t  key[36];
	uint32_t last;   /* last ID or flow label */
	bool nzid;       /* an IPv4 ID of this flow was nonzero */
};

static struct flow flows[256];
static uint32_t flow_cnt;

static struct flow *flow_get(const uint8_t *key, bool *fresh)
{
	for (uint32_t i = 0; i < flow_cnt; i++)
		if (!memcmp(flows[i].key, key, sizeof(flows[i].key))) {
			*fresh = false;
			return &flows[i];
		}
	*fresh = true;
	if (flow_cnt == 256)
		return &flows[255];
	memcpy(flows[flow_cnt].key, key, sizeof(flows[0].key));
	return &flows[flow_cnt++];
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	while (n--)
		h = (h ^ *p++) * 1099511628211ull;
	return h;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The UDP checksum over pseudo-header + UDP header + payload: 0xffff when
 * right. */
static bool udp_ok(const uint8_t *src, const uint8_t *dst, int alen, const uint8_t *udp, uint16_t ulen)
{
	uint64_t acc = ring_csum_partial(src, (size_t)alen, 0);

	acc = ring_csum_partial(dst, (size_t)alen, acc);
	acc += htons(IPPROTO_UDP);
	acc += htons(ulen);
	acc = ring_csum_partial(udp, ulen, acc);
	return ring_csum_fold(acc) == 0xffff;
}

static int one(const uint8_t *f, size_t n, uint16_t port)
{
	char s[64], d[64], line[512];
	const uint8_t *ip = f + 14, *udp;
	uint16_t et, sport, dport, ulen, csum;
	uint8_t key[36] = {0};
	bool fresh;
	struct flow *fl;

	if (n < 14 + 20)
		return 0;
	et = (uint16_t)(f[12] << 8 | f[13]);
	if (et == 0x0800) {
		uint16_t id, frag;
		int ihl = (ip[0] & 15) * 4;
		const char *idp;

		if (ip[9] != IPPROTO_UDP || n < (size_t)(14 + ihl + 8))
			return 0;
		udp = ip + ihl;
		sport = (uint16_t)(udp[0] << 8 | udp[1]);
		dport = (uint16_t)(udp[2] << 8 | udp[3]);
		ulen = (uint16_t)(udp[4] << 8 | udp[5]);
		if (dport != port || n < (size_t)(14 + ihl) + ulen)
			return 0;
		id = (uint16_t)(ip[4] << 8 | ip[5]);
		frag = (uint16_t)(ip[6] << 8 | ip[7]);
		memcpy(key, ip + 12, 8);
		memcpy(key + 32, udp, 4);
		fl = flow_get(key, &fresh);
		/* a counter-made ID passes through 0 once in 65536 frames: a 0
		 * after a nonzero ID in the same flow is the counter's, not the
		 * zero policy's (seen once: plain's hashed ID was 0, t_tx failed) */
		idp = id != 0 || (!fresh && fl->nzid) ? "nz" : "0";
		fl->nzid |= id != 0;
		fl->last = id;
		memcpy(&csum, udp + 6, 2);
		inet_ntop(AF_INET, ip + 12, s, sizeof(s));
		inet_ntop(AF_INET, ip + 16, d, sizeof(d));
		snprintf(line, sizeof(line),
			 "v4 %s:%u > %s:%u ttl=%u tos=0x%02x df=%d mf=%d id=%s ihl=%d ipcsum=%s udpcsum=%s len=%u "
			 "fnv=%016llx",
			 s, sport, d, dport, ip[8], ip[1], !!(frag & 0x4000), !!(frag & 0x2000), idp, ihl,
			 ring_csum_fold(ring_csum_partial(ip, (size_t)ihl, 0)) == 0xffff ? "ok" : "BAD",
			 csum == 0 ? "zero" : udp_ok(ip + 12, ip + 16, 4, udp, ulen) ? "ok" : "BAD", ulen - 8,
			 (unsigned long long)fnv1a(udp + 8, ulen - 8u));
	} else if (et == 0x86dd) {
		uint32_t w, flow;
		const char *flp;

		if (n < 14 + 40 + 8 || ip[6] != IPPROTO_UDP)
			return 0;
		udp = ip + 40;
		sport = (uint16_t)(udp[0] << 8 | udp[1]);
		dport = (uint16_t)(udp[2] << 8 | udp[3]);
		ulen = (uint16_t)(udp[4] << 8 | udp[5]);
		if (dport != port || n < 14 + 40 + (size_t)ulen)
			return 0;
		memcpy(&w, ip, 4);
		w = ntohl(w);
		flow = w & 0xfffff;
		memcpy(key, ip + 8, 32);
		memcpy(key + 32, udp, 4);
		fl = flow_get(key, &fresh);
		flp = flow == 0 ? "0" : fresh ? "first" : flow == fl->last ? "same" : "changed";
		fl->last = flow;
		inet_ntop(AF_INET6, ip + 8, s, sizeof(s));
		inet_ntop(AF_INET6, ip + 24, d, sizeof(d));
		snprintf(line, sizeof(line), "v6 %s:%u > %s:%u hlim=%u tclass=0x%02x fl=%s udpcsum=%s len=%u fnv=%016llx",
			 s, sport, d, dport, ip[7], (w >> 20) & 0xff, flp,
			 udp_ok(ip + 8, ip + 24, 16, udp, ulen) ? "ok" : "BAD", ulen - 8,
			 (unsigned long long)fnv1a(udp + 8, ulen - 8u));
	} else {
		return 0;
	}
	printf("%s\n", line);
	return 1;
}

int main(int argc, char **argv)
{
	static uint8_t buf[65536 + 64];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	long count, got = 0;
	double end;
	int fd, port;

	if (argc != 5) {
		fprintf(stderr, "usage: pktcap IFACE PORT COUNT MAX_SECS\n");
		return 2;
	}
	port = atoi(argv[2]);
	count = atol(argv[3]);
	end = now_s() + atof(argv[4]);
	sll.sll_ifindex = (int)if_nametoindex(argv[1]);
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0 || !sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		perror("pktcap");
		return 2;
	}
	{
		/* bursts of thousands of frames must not overflow the socket */
		int big = 64 << 20;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	}
	setvbuf(stdout, NULL, _IOFBF, 1 << 20);
	fprintf(stderr, "pktcap: ready\n");
	while (got < count && now_s() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		got += one(buf, (size_t)n, (uint16_t)port);
	}
	fprintf(stderr, "pktcap: frames=%ld\n", got);
	return got >= count ? 0 : 1;
}
