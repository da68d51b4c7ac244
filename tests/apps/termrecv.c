/* termrecv.c - a UDP receiver for tests/t_sayit.sh that ends the ways real
 * daemons end.
 *
 *   termrecv PORT [--exit-handler | --raw-bind | --close-stderr | --null-stderr]
 *
 * Prints "termrecv: SIGTERM=<default|other> SIGINT=... SIGHUP=..." as the
 * program sees the dispositions (sigaction query) and "termrecv: signal()
 * old=<default|other>" (signal(SIGHUP) round trip), then "termrecv: ready"
 * on stderr, and counts datagrams with blocking recv() until a signal ends
 * it (every 100 datagrams "termrecv: received=N" on stdout): with the
 * default actions it dies by the signal (the shim's exit summary must still
 * appear); --exit-handler installs a SIGTERM handler that calls _exit(0), as
 * pdns_recursor does; --close-stderr closes fd 2 once ready, as chronyd
 * does before it exits; --null-stderr points it at /dev/null (freeradius)
 * before its socket exists.  --raw-bind makes and binds
 * the socket with the raw syscall instruction (x86-64), so no libc call and
 * no interposer sees it, and exits after 1 s through exit(0).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static void termrecv_exit(int sig)
{
	(void)sig;
	_exit(0);
}

static const char *termrecv_disp(int sig)
{
	struct sigaction sa;

	if (sigaction(sig, NULL, &sa))
		return "error";
	return !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_DFL ? "default"
	       : !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_IGN ? "ignored" : "other";
}

#if defined(__x86_64__)
static long termrecv_raw(long nr, long a, long b, long c)
{
	long r;

	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}
#endif

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	unsigned long n = 0;
	sighandler_t old;
	char buf[2048];
	int fd;

	if (argc < 2)
		return 2;
	a.sin_port = htons((uint16_t)atoi(argv[1]));
	fprintf(stderr, "termrecv: SIGTERM=%s SIGINT=%s SIGHUP=%s\n", termrecv_disp(SIGTERM), termrecv_disp(SIGINT),
		termrecv_disp(SIGHUP));
	old = signal(SIGHUP, SIG_DFL);
	fprintf(stderr, "termrecv: signal() old=%s now=%s\n", old == SIG_DFL ? "default" : "other",
		termrecv_disp(SIGHUP));
	if (argc > 2 && !strcmp(argv[2], "--raw-bind")) {
#if defined(__x86_64__)
		fd = (int)termrecv_raw(SYS_socket, AF_INET, SOCK_DGRAM, 0);
		if (fd < 0 || termrecv_raw(SYS_bind, fd, (long)&a, sizeof(a)))
			return 3;
		fprintf(stderr, "termrecv: ready (raw) fd %d\n", fd);
		sleep(1);
		exit(0);
#else
		return 4;
#endif
	}
	if (argc > 2 && !strcmp(argv[2], "--exit-handler"))
		signal(SIGTERM, termrecv_exit);
	if (argc > 2 && !strcmp(argv[2], "--null-stderr")) {
		int nul = open("/dev/null", O_WRONLY);

		dup2(nul, 2);
		close(nul);
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)))
		return 3;
	fprintf(stderr, "termrecv: ready\n");
	printf("termrecv: ready\n");
	fflush(stdout);
	if (argc > 2 && !strcmp(argv[2], "--close-stderr"))
		close(2);
	for (;;) {
		if (recv(fd, buf, sizeof(buf), 0) >= 0 && ++n % 100 == 0) {
			printf("termrecv: received=%lu\n", n);
			fflush(stdout);
		}
	}
}
