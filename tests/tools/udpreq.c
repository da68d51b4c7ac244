/* udpreq.c - request/response UDP client for tests of real servers (nsd,
 * nginx stream, socat fork; tests/t_forkprog.sh).
 *
 *   udpreq --dst 198.18.0.2 --port 53 --count 500 --mode dns --qname www.example.test
 *
 * Sends --count requests from --flows sockets (default 1; request n goes
 * out of socket n % flows, each with its own source port, so a SO_REUSEPORT
 * group spreads them), keeping at most --window of them
 * unanswered, never resending.  --mode dns: a DNS query for --qname (type
 * A) with id = request number; a reply counts when its id and RCODE 0
 * (NOERROR) match.  --mode echo: payload "req <n>"; a reply counts when it
 * echoes one.  --mode any: every reply counts (the server answers with a
 * constant).  Stops when all are answered or nothing arrived for
 * --timeout-ms.  Prints "udpreq: sent=N answered=M" and exits 0 iff M == N.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/tools/toolutil.h"

enum { M_DNS, M_ECHO, M_ANY };

static size_t dns_query(uint8_t *b, size_t cap, uint16_t id, const char *qname)
{
	size_t n = 12;
	const char *p = qname;

	memset(b, 0, 12);
	b[0] = (uint8_t)(id >> 8);
	b[1] = (uint8_t)id;
	b[2] = 0x01;    /* RD */
	b[5] = 1;       /* QDCOUNT */
	while (*p && n + 64 < cap) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		b[n++] = (uint8_t)l;
		memcpy(b + n, p, l);
		n += l;
		p += l + (dot ? 1 : 0);
	}
	b[n++] = 0;
	b[n++] = 0, b[n++] = 1;   /* A */
	b[n++] = 0, b[n++] = 1;   /* IN */
	return n;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dst", 1, NULL, 'd' }, { "port", 1, NULL, 'p' }, { "count", 1, NULL, 'n' },
		{ "window", 1, NULL, 'w' }, { "timeout-ms", 1, NULL, 't' }, { "mode", 1, NULL, 'm' },
		{ "qname", 1, NULL, 'q' }, { "flows", 1, NULL, 'f' }, { NULL, 0, NULL, 0 },
	};
	const char *dst = NULL, *qname = "www.example.test";
	uint32_t count = 100, window = 8, timeout_ms = 2000, sent = 0, answered = 0, outstanding = 0;
	int port = 0, mode = M_DNS, o, flows = 1, fds[64];
	struct pollfd pf[64];
	struct sockaddr_in a = { .sin_family = AF_INET };
	uint8_t *seen, b[1500];
	uint64_t last;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'd': dst = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'n': count = (uint32_t)atoi(optarg); break;
		case 'w': window = (uint32_t)atoi(optarg); break;
		case 't': timeout_ms = (uint32_t)atoi(optarg); break;
		case 'm': mode = !strcmp(optarg, "dns") ? M_DNS : !strcmp(optarg, "echo") ? M_ECHO : M_ANY; break;
		case 'q': qname = optarg; break;
		case 'f': flows = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!dst || !port || inet_pton(AF_INET, dst, &a.sin_addr) != 1 || !count || count > 65535 || !window ||
	    flows < 1 || flows > 64) {
		fprintf(stderr, "usage: udpreq --dst IPV4 --port P [--count N<=65535] [--window W] "
				"[--timeout-ms T] [--mode dns|echo|any] [--qname NAME] [--flows 1-64]\n");
		return 2;
	}
	a.sin_port = htons((uint16_t)port);
	seen = calloc(count, 1);
	for (int i = 0; i < flows; i++) {
		fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
		if (fds[i] < 0 || !seen || connect(fds[i], (struct sockaddr *)&a, sizeof(a))) {
			perror("udpreq");
			return 1;
		}
		pf[i] = (struct pollfd){ fds[i], POLLIN, 0 };
	}
	last = now_ns();
	while (answered < count) {
		int r;

		while (sent < count && outstanding < window) {
			size_t n;

			if (mode == M_DNS)
				n = dns_query(b, sizeof(b), (uint16_t)sent, qname);
			else
				n = (size_t)snprintf((char *)b, sizeof(b), "req %u\n", sent);
			if (send(fds[sent % (uint32_t)flows], b, n, 0) != (ssize_t)n) {
				perror("send");
				break;
			}
			sent++;
			outstanding++;
		}
		r = poll(pf, (nfds_t)flows, 50);
		for (int f = 0; r > 0 && f < flows; f++) {
			ssize_t k;
			uint32_t id = UINT32_MAX;

			if (!(pf[f].revents & POLLIN))
				continue;
			k = recv(fds[f], b, sizeof(b) - 1, MSG_DONTWAIT);
			if (k <= 0)
				continue;
			b[k] = 0;
			if (mode == M_DNS && k >= 12 && (b[2] & 0x80) && (b[3] & 0x0f) == 0)
				id = (uint32_t)b[0] << 8 | b[1];
			else if (mode == M_ECHO && sscanf((char *)b, "req %u", &id) != 1)
				id = UINT32_MAX;
			else if (mode == M_ANY)
				id = answered;
			if (id < count && !seen[id]) {
				seen[id] = 1;
				answered++;
				if (outstanding)
					outstanding--;
			}
			last = now_ns();
		}
		if (r <= 0 && now_ns() - last > (uint64_t)timeout_ms * 1000000)
			break;
	}
	printf("udpreq: sent=%u answered=%u\n", sent, answered);
	return answered == count ? 0 : 1;
}
