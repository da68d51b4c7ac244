/* count_calls.c - counts the library calls the shim makes on a receiver's
 * fast path, by defining them in the executable (linked -rdynamic, so the
 * preloaded shim's references bind here first) and forwarding to libc.
 *
 *   count_calls --mode conn  --port P --peer A --peer-port Q --count N
 *       bind P, connect to A:Q, then N blocking recv() calls; reports the
 *       getsockopt(SO_ERROR) calls made during them (a connected socket
 *       with no ICMP error pending needs none);
 *   count_calls --mode epoll --port P --count N
 *       bind P, register it in an epoll set, then N times epoll_wait() +
 *       recv(); reports the pthread_mutex_lock() calls made during them (the
 *       readiness fast path takes no process-wide lock);
 *   count_calls --mode epollmm --port P --count N
 *       the same with recvmmsg(8, MSG_DONTWAIT) after each epoll_wait()
 *       (knotd's loop; t_fastpath_calls counts the shim's zero-byte
 *       MSG_PEEK looks at the kernel socket with strace: the shim reaches
 *       libc's recvfrom through dlsym(RTLD_NEXT), past this executable).
 *
 * Prints "count_calls: ready" once bound (the sender waits for it), then
 * "count_calls: calls=N received=N getsockopt_so_error=K mutex_lock=M".
 * Only calls made by the receiving thread are counted.
 * Exit status 0 when all N datagrams arrived within --secs (default 20). */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* counted in the receiving thread only: the shim's own threads (address
 * watch, linger) take the control-plane lock on their own events */
static __thread int counting;
static unsigned long n_so_error, n_mutex;

int pthread_mutex_lock(pthread_mutex_t *m)
{
	static int (*real)(pthread_mutex_t *);

	if (!real)
		real = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
	if (counting)
		__atomic_add_fetch(&n_mutex, 1, __ATOMIC_RELAXED);
	return real(m);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' }, { "port", required_argument, NULL, 'p' },
		{ "peer", required_argument, NULL, 'a' }, { "peer-port", required_argument, NULL, 'q' },
		{ "count", required_argument, NULL, 'c' }, { "secs", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mode = "conn", *peer = NULL;
	int port = 0, peer_port = 0, count = 100, secs = 20, fd, ep = -1, o;
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct timeval tv;
	unsigned long calls = 0, got = 0;
	char buf[2048];

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'm': mode = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'a': peer = optarg; break;
		case 'q': peer_port = atoi(optarg); break;
		case 'c': count = atoi(optarg); break;
		case 's': secs = atoi(optarg); break;
		default: return 2;
		}
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	a.sin_port = htons((uint16_t)port);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("count_calls: socket/bind");
		return 2;
	}
	tv = (struct timeval){ secs, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (!strcmp(mode, "conn")) {
		struct sockaddr_in p = { .sin_family = AF_INET, .sin_port = htons((uint16_t)peer_port) };

		if (!peer || inet_pton(AF_INET, peer, &p.sin_addr) != 1 ||
		    connect(fd, (struct sockaddr *)&p, sizeof(p))) {
			perror("count_calls: connect");
			return 2;
		}
	} else {
		struct epoll_event e = { .events = EPOLLIN, .data.u64 = 7 };

		ep = epoll_create1(0);
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e)) {
			perror("count_calls: epoll");
			return 2;
		}
	}
	printf("count_calls: ready\n");
	fflush(stdout);
	counting = 1;
	while (got < (unsigned long)count) {
		ssize_t r;

		if (ep >= 0) {
			struct epoll_event e;

			if (epoll_wait(ep, &e, 1, secs * 1000) != 1 || e.data.u64 != 7)
				break;
		}
		calls++;
		if (!strcmp(mode, "epollmm")) {
			static char bufs[8][2048];
			struct iovec iov[8];
			struct mmsghdr v[8];

			for (int i = 0; i < 8; i++) {
				iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
				v[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
			}
			r = recvmmsg(fd, v, 8, MSG_DONTWAIT, NULL);
			if (r < 0 && errno == EAGAIN)
				continue;   /* (a spurious wake-up; the kernel has them too) */
			if (r < 0)
				break;
			got += (unsigned long)r;
			continue;
		}
		r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0)
			break;
		got++;
	}
	counting = 0;
	printf("count_calls: calls=%lu received=%lu getsockopt_so_error=%lu mutex_lock=%lu\n", calls, got,
	       n_so_error, n_mutex);
	return got == (unsigned long)count ? 0 : 1;
}
