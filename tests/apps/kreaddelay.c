/* kreaddelay.c - an LD_PRELOAD interposer placed AFTER libxskshim.so
 * (LD_PRELOAD=libxskshim.so:kreaddelay.so), so the shim's calls to the real
 * recvmmsg/recvfrom (dlsym(RTLD_NEXT), shim/real.c) come here first.  Every
 * KREADDELAY_EVERY-th (default 64) non-blocking receive on an IPv4/IPv6
 * datagram socket - the shim reading an application's kernel socket - is
 * held KREADDELAY_US (default 200) microseconds before it goes on to libc:
 * the reader preempted just before its kernel read, as a CPU hog does now
 * and then, made frequent.  AF_XDP sockets and blocking calls pass
 * straight through.  Prints "kreaddelay: delayed=N" on stderr at exit.
 * (tests/t_spillorder.sh) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define KD_FDS 1024
static unsigned char kd_kind[KD_FDS];   /* 0 unknown, 1 datagram socket, 2 other */
static unsigned long kd_calls, kd_delayed;
static long kd_every = 64, kd_us = 200;

__attribute__((constructor)) static void kd_init(void)
{
	const char *e = getenv("KREADDELAY_EVERY"), *u = getenv("KREADDELAY_US");

	if (e && atol(e) > 0)
		kd_every = atol(e);
	if (u && atol(u) >= 0)
		kd_us = atol(u);
}

__attribute__((destructor)) static void kd_fini(void)
{
	fprintf(stderr, "kreaddelay: delayed=%lu\n", __atomic_load_n(&kd_delayed, __ATOMIC_RELAXED));
}

static void kd_maybe_wait(int fd, int flags)
{
	int dom = 0, type = 0;
	socklen_t l = sizeof(int);
	struct timespec ts;

	if (!(flags & MSG_DONTWAIT) || fd < 0 || fd >= KD_FDS)
		return;
	if (!kd_kind[fd]) {
		getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l);
		l = sizeof(int);
		getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l);
		kd_kind[fd] = (dom == AF_INET || dom == AF_INET6) && type == SOCK_DGRAM ? 1 : 2;
	}
	if (kd_kind[fd] != 1 || __atomic_add_fetch(&kd_calls, 1, __ATOMIC_RELAXED) % (unsigned long)kd_every)
		return;
	__atomic_add_fetch(&kd_delayed, 1, __ATOMIC_RELAXED);
	ts.tv_sec = kd_us / 1000000;
	ts.tv_nsec = kd_us % 1000000 * 1000;
	nanosleep(&ts, NULL);
}

int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags, struct timespec *t)
{
	static int (*real)(int, struct mmsghdr *, unsigned int, int, struct timespec *);

	if (!real)
		real = (int (*)(int, struct mmsghdr *, unsigned int, int, struct timespec *))dlsym(RTLD_NEXT, "recvmmsg");
	kd_maybe_wait(fd, flags);
	return real(fd, v, n, flags, t);
}

ssize_t recvfrom(int fd, void *b, size_t len, int flags, struct sockaddr *a, socklen_t *al)
{
	static ssize_t (*real)(int, void *, size_t, int, struct sockaddr *, socklen_t *);

	if (!real)
		real = (ssize_t (*)(int, void *, size_t, int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT,
												"recvfrom");
	kd_maybe_wait(fd, flags);
	return real(fd, b, len, flags, a, al);
}
