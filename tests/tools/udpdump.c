/* udpdump.c - a plain UDP receiver for end-to-end tests: one socket per
 * --port, poll() over all of them, recvmsg() each datagram and print one
 * canonical line per datagram:
 *     port=DPORT src=ADDR:SPORT len=LEN fnv=HASH
 * so that the same traffic received plain and under the shim can be compared
 * line for line.  Stops after --count datagrams, --idle-ms of silence after
 * the first one, or --max-secs. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 16

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	while (n--) {
		h ^= *p++;
		h *= 1099511628211ull;
	}
	return h;
}

static void usage(void)
{
	fprintf(stderr, "usage: udpdump --port P [--port P2 ...] [--bind ADDR] [--count N] "
			"[--idle-ms MS] [--max-secs S]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct pollfd pfd[MAX_PORTS];
	int ports[MAX_PORTS], nports = 0, idle_ms = 2000, max_secs = 30;
	const char *bind_addr = "0.0.0.0";
	long count = 0, got = 0;
	double first = 0, start = now_s();
	static uint8_t buf[65536];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc && nports < MAX_PORTS)
			ports[nports++] = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--bind") && i + 1 < argc)
			bind_addr = argv[++i];
		else if (!strcmp(argv[i], "--count") && i + 1 < argc)
			count = atol(argv[++i]);
		else if (!strcmp(argv[i], "--idle-ms") && i + 1 < argc)
			idle_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--max-secs") && i + 1 < argc)
			max_secs = atoi(argv[++i]);
		else
			usage();
	}
	if (!nports)
		usage();
	setvbuf(stdout, NULL, _IOFBF, 1 << 20);
	for (int i = 0; i < nports; i++) {
		struct sockaddr_storage ss = {0};
		socklen_t sl;
		int fd, v6 = strchr(bind_addr, ':') != NULL, big = 8 << 20;

		fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
		if (fd < 0) {
			perror("socket");
			return 1;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
		if (v6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			int off = 0;

			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
			a->sin6_family = AF_INET6;
			a->sin6_port = htons((uint16_t)ports[i]);
			inet_pton(AF_INET6, bind_addr, &a->sin6_addr);
			sl = sizeof(*a);
		} else {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;

			a->sin_family = AF_INET;
			a->sin_port = htons((uint16_t)ports[i]);
			inet_pton(AF_INET, bind_addr, &a->sin_addr);
			sl = sizeof(*a);
		}
		if (bind(fd, (struct sockaddr *)&ss, sl)) {
			perror("bind");
			return 1;
		}
		pfd[i] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	fprintf(stderr, "udpdump: ready\n");
	while (!count || got < count) {
		double t = now_s();
		int r;

		if (t - start > max_secs || (first && (t - first) * 1000 > idle_ms && got))
			break;
		r = poll(pfd, (nfds_t)nports, 100);
		if (r < 0 && errno != EINTR) {
			perror("poll");
			return 1;
		}
		for (int i = 0; r > 0 && i < nports; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			for (;;) {
				struct sockaddr_storage src;
				struct iovec iov = { buf, sizeof(buf) };
				struct msghdr m = { .msg_name = &src, .msg_namelen = sizeof(src),
						    .msg_iov = &iov, .msg_iovlen = 1 };
				char a[INET6_ADDRSTRLEN] = "?";
				ssize_t n = recvmsg(pfd[i].fd, &m, MSG_DONTWAIT);
				unsigned sport = 0;

				if (n < 0)
					break;
				if (src.ss_family == AF_INET) {
					struct sockaddr_in *s4 = (struct sockaddr_in *)&src;
					inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
					sport = ntohs(s4->sin_port);
				} else if (src.ss_family == AF_INET6) {
					struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&src;
					inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
					sport = ntohs(s6->sin6_port);
				}
				printf("port=%d src=%s:%u namelen=%u len=%zd flags=%#x fnv=%016llx\n", ports[i], a,
				       sport, (unsigned)m.msg_namelen, n, (unsigned)m.msg_flags,
				       (unsigned long long)fnv1a(buf, (size_t)n));
				got++;
				if (!first)
					first = now_s();
				first = now_s();   /* idle is measured from the last datagram */
			}
		}
	}
	fflush(stdout);
	fprintf(stderr, "udpdump: received=%ld\n", got);
	return 0;
}
