/* txone - one UDP socket sending a paced stream, with the socket settings
 * that decide the transmit path (tests/t_tx.sh kernel-path cases):
 *
 *   txone --dst ADDR --port P --sport S [--count N] [--size L] [--gap-ms G]
 *         [--df do|dont|want] [--ipopts] [--bindtodev IF] [--more]
 *
 * --ipopts sets IP_OPTIONS (a NOP option), --bindtodev SO_BINDTODEVICE,
 * --more sends every datagram as two calls, MSG_MORE then the rest;
 * --threads N sends --count datagrams from each of N threads on the one
 * socket (payload: thread index, sequence); --procs P forks P-1 children
 * after the socket is set up, each sending as the parent does (thread
 * index P*64+i; "txone: child pid PID" on stderr), each printing its own
 * "txone: ok=" line; --parent-waits: the parent sends only after its
 * children ended (a test kills one mid-send, the parent must then go on).
 * Prints "txone: bound pid PID" on stderr once bound (a test may then change the
 * network), and at the end "txone: ok=N err=M errno=NAME" (the first error's name, or -).
 * Exit status 0 (errors are for the caller to judge). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "toolutil.h"

struct thr {
	int fd, idx, count, size;
	const struct sockaddr *sa;
	socklen_t sl;
	long ok, err;
	int first_errno;
};

static void *thr_send(void *p)
{
	struct thr *t = p;
	char buf[2048];

	memset(buf, t->idx, sizeof(buf));
	for (int i = 0; i < t->count; i++) {
		memcpy(buf, &t->idx, sizeof(t->idx));
		memcpy(buf + 4, &i, sizeof(i));
		if (sendto(t->fd, buf, (size_t)t->size, 0, t->sa, t->sl) < 0) {
			if (!t->err++)
				t->first_errno = errno;
		} else {
			t->ok++;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option o[] = {
		{ "dst", 1, NULL, 'd' }, { "port", 1, NULL, 'p' }, { "sport", 1, NULL, 's' },
		{ "count", 1, NULL, 'c' }, { "size", 1, NULL, 'l' }, { "gap-ms", 1, NULL, 'g' },
		{ "df", 1, NULL, 'f' }, { "ipopts", 0, NULL, 'o' }, { "bindtodev", 1, NULL, 'b' },
		{ "more", 0, NULL, 'm' }, { "threads", 1, NULL, 't' }, { "procs", 1, NULL, 'P' },
		{ "parent-waits", 0, NULL, 'W' }, { NULL, 0, NULL, 0 },
	};
	const char *dst = NULL, *dev = NULL, *df = NULL;
	int port = 0, sport = 0, count = 1, size = 64, gap = 0, ipopts = 0, more = 0, threads = 0, c, fd, fam;
	int procs = 1, me = 0, parent_waits = 0;
	pid_t kids[16] = {0};
	long ok = 0, err = 0;
	int first_errno = 0;
	struct sockaddr_storage ss = {0}, bs = {0};
	socklen_t sl;
	static char buf[65536];

	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (c) {
		case 'd': dst = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 's': sport = atoi(optarg); break;
		case 'c': count = atoi(optarg); break;
		case 'l': size = atoi(optarg); break;
		case 'g': gap = atoi(optarg); break;
		case 'f': df = optarg; break;
		case 'o': ipopts = 1; break;
		case 'b': dev = optarg; break;
		case 'm': more = 1; break;
		case 't': threads = atoi(optarg); break;
		case 'P': procs = atoi(optarg); break;
		case 'W': parent_waits = 1; break;
		default: return 2;
		}
	}
	if (!dst || !port || size < 0 || size > (int)sizeof(buf)) {
		fprintf(stderr, "usage: txone --dst ADDR --port P --sport S [options]\n");
		return 2;
	}
	fam = tool_family(dst);
	fd = socket(fam, SOCK_DGRAM, 0);
	sl = tool_sockaddr(fam, dst, port, &ss);
	tool_sockaddr(fam, NULL, sport, &bs);
	if (fd < 0 || bind(fd, (struct sockaddr *)&bs, sl)) {
		perror("txone");
		return 2;
	}
	fprintf(stderr, "txone: bound pid %d\n", (int)getpid());
	if (df) {
		int v = !strcmp(df, "do") ? IP_PMTUDISC_DO : !strcmp(df, "dont") ? IP_PMTUDISC_DONT : IP_PMTUDISC_WANT;

		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
	}
	if (ipopts) {
		unsigned char opt[4] = { 1, 1, 1, 0 };   /* NOP NOP NOP EOL */

		if (setsockopt(fd, IPPROTO_IP, IP_OPTIONS, opt, sizeof(opt)))
			perror("IP_OPTIONS");
	}
	if (dev && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev)))
		perror("SO_BINDTODEVICE");
	fflush(stderr);
	for (int p = 1; p < procs && p < 16; p++) {
		pid_t k = fork();

		if (k == 0) {
			me = p;
			fprintf(stderr, "txone: child pid %d\n", (int)getpid());
			fflush(stderr);
			break;
		}
		kids[p] = k;
	}
	for (int p = 1; me == 0 && parent_waits && p < 16; p++)
		if (kids[p] > 0 && waitpid(kids[p], NULL, 0) == kids[p])
			kids[p] = 0;
	if (threads > 0 && threads <= 64 && size >= 8 && size <= 2048) {
		pthread_t tid[64];
		struct thr t[64];

		for (int i = 0; i < threads; i++) {
			t[i] = (struct thr){ .fd = fd, .idx = me * 64 + i, .count = count, .size = size,
					     .sa = (struct sockaddr *)&ss, .sl = sl };
			pthread_create(&tid[i], NULL, thr_send, &t[i]);
		}
		for (int i = 0; i < threads; i++) {
			pthread_join(tid[i], NULL);
			ok += t[i].ok;
			err += t[i].err;
			if (!first_errno)
				first_errno = t[i].first_errno;
		}
		count = 0;   /* done */
	}
	for (int i = 0; i < size; i++)
		buf[i] = (char)(i * 3);
	for (int i = 0; i < count; i++) {
		ssize_t r;

		memcpy(buf, &i, sizeof(i) < (size_t)size ? sizeof(i) : (size_t)size);
		if (more && size >= 2) {
			r = sendto(fd, buf, (size_t)size / 2, MSG_MORE, (struct sockaddr *)&ss, sl);
			if (r >= 0)
				r = sendto(fd, buf + size / 2, (size_t)(size - size / 2), 0, (struct sockaddr *)&ss, sl);
		} else {
			r = sendto(fd, buf, (size_t)size, 0, (struct sockaddr *)&ss, sl);
		}
		if (r < 0) {
			if (!err++)
				first_errno = errno;
		} else {
			ok++;
		}
		if (gap) {
			struct timespec t = { gap / 1000, (long)(gap % 1000) * 1000000 };

			nanosleep(&t, NULL);
		}
	}
	printf("txone: ok=%ld err=%ld errno=%s\n", ok, err, first_errno ? strerrorname_np(first_errno) : "-");
	fflush(stdout);
	for (int p = 1; p < 16; p++)
		if (kids[p] > 0)
			waitpid(kids[p], NULL, 0);
	return 0;
}
