/* dnsgen - a DNS-over-UDP load generator that counts answers, for the
 * benchmark's knotd rows where kxdpgun is not installed or cannot load its
 * XDP program (BENCH_TX_KNOT_CLIENT=dnsgen), over plain kernel sockets:
 *
 *   dnsgen --dst ADDR [--port 53] [--secs S] [--flows N] [--batch B] [--rate QPS]
 *          [--name www.example.]
 *
 * N non-blocking sockets (distinct source ports) each send batches of B
 * identical A queries (fresh IDs) with sendmmsg(), round robin, and drain
 * answers with recvmmsg() between batches; after S seconds it drains for
 * 300 ms more.  Unpaced (--rate 0, the default) the batches go as fast as
 * they go; --rate QPS offers at most QPS queries per second, whole batches
 * paced from the start (tool_pace, as udpgen's --rate: a batch waits until
 * its first query is due).  Counts answers with QR set and RCODE NOERROR.
 * Prints one line:
 *   dnsgen: sent=N answers=M secs=S aps=X qps=Q lost=L
 * (aps and qps = answers and queries sent per second over the sending time;
 * lost = sent - answers: queries the server dropped or did not answer in
 * time, and answers the client's sockets dropped). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/tools/toolutil.h"

#define FLOWS_MAX 64
#define BATCH_MAX 256

/* A query for name (dotted, absolute) type A class IN; returns its length. */
static size_t build_query(uint8_t *q, const char *name)
{
	size_t n = 12;
	const char *p = name;

	memset(q, 0, 12);
	q[2] = 0x01;   /* RD */
	q[5] = 1;      /* QDCOUNT */
	while (*p && *p != '.') {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		q[n++] = (uint8_t)l;
		memcpy(q + n, p, l);
		n += l;
		p += l;
		if (*p == '.')
			p++;
	}
	q[n++] = 0;
	q[n++] = 0; q[n++] = 1;   /* A */
	q[n++] = 0; q[n++] = 1;   /* IN */
	return n;
}

int main(int argc, char **argv)
{
	static const struct option o[] = {
		{ "dst", 1, NULL, 'd' }, { "port", 1, NULL, 'p' }, { "secs", 1, NULL, 's' },
		{ "flows", 1, NULL, 'f' }, { "batch", 1, NULL, 'b' }, { "name", 1, NULL, 'n' }, { "rate", 1, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dst = NULL, *name = "www.example.";
	int port = 53, flows = 8, batch = 32, c, fd[FLOWS_MAX];
	double secs = 2;
	uint64_t t0, t_end, t_send, rate = 0, offered = 0;
	static uint8_t q[BATCH_MAX][512], r[BATCH_MAX][512];
	struct mmsghdr sm[BATCH_MAX], rm[BATCH_MAX];
	struct iovec siov[BATCH_MAX], riov[BATCH_MAX];
	struct sockaddr_storage da;
	socklen_t dl;
	uint64_t sent = 0, answers = 0;
	uint16_t id = 1;
	size_t ql;
	int fam;

	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (c) {
		case 'd': dst = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 's': secs = atof(optarg); break;
		case 'f': flows = atoi(optarg); break;
		case 'b': batch = atoi(optarg); break;
		case 'n': name = optarg; break;
		case 'r': rate = strtoull(optarg, NULL, 0); break;
		default: return 2;
		}
	}
	if (!dst || flows < 1 || flows > FLOWS_MAX || batch < 1 || batch > BATCH_MAX || secs <= 0) {
		fprintf(stderr, "usage: dnsgen --dst ADDR [--port P] [--secs S] [--flows N] [--batch B] [--rate QPS]\n");
		return 2;
	}
	fam = tool_family(dst);
	dl = tool_sockaddr(fam, dst, port, &da);
	for (int i = 0; i < flows; i++) {
		int big = 8 << 20;

		fd[i] = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fd[i] < 0) {
			perror("socket");
			return 2;
		}
		setsockopt(fd[i], SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	}
	ql = build_query(q[0], name);
	for (int i = 0; i < batch; i++) {
		memcpy(q[i], q[0], ql);
		siov[i] = (struct iovec){ q[i], ql };
		sm[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &da, .msg_namelen = dl, .msg_iov = &siov[i], .msg_iovlen = 1 } };
		riov[i] = (struct iovec){ r[i], sizeof(r[i]) };
	}
	t0 = now_ns();
	t_end = t0 + (uint64_t)(secs * 1e9);
	t_send = t0;
	for (int f = 0;; f = (f + 1) % flows) {
		uint64_t t;

		tool_pace(t0, offered, rate);
		t = now_ns();
		if (t < t_end) {
			int n;

			for (int i = 0; i < batch; i++) {
				q[i][0] = (uint8_t)(id >> 8);
				q[i][1] = (uint8_t)id++;
			}
			n = sendmmsg(fd[f], sm, (unsigned)batch, 0);
			if (n > 0)
				sent += (uint64_t)n;
			offered += (uint64_t)batch;
			t_send = t;
		} else if (t > t_end + 300000000ull) {
			break;
		}
		for (int g = 0; g < flows; g++) {
			int n;

			for (int i = 0; i < batch; i++)
				rm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &riov[i], .msg_iovlen = 1 } };
			n = recvmmsg(fd[g], rm, (unsigned)batch, MSG_DONTWAIT, NULL);
			for (int i = 0; i < n; i++)
				if (rm[i].msg_len >= 12 && (r[i][2] & 0x80) && (r[i][3] & 0x0f) == 0)
					answers++;
		}
	}
	secs = (double)(t_send - t0) / 1e9;
	printf("dnsgen: sent=%llu answers=%llu secs=%.3f aps=%.0f qps=%.0f lost=%lld\n", (unsigned long long)sent,
	       (unsigned long long)answers, secs, secs > 0 ? (double)answers / secs : 0.0,
	       secs > 0 ? (double)sent / secs : 0.0, (long long)(sent - answers));
	return 0;
}
