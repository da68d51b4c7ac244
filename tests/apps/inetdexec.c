/* inetdexec.c - the shape of an inetd "wait" datagram service (xinetd or
 * openbsd-inetd with wait=yes), for tests/t_matrix.sh.
 *
 *   inetdexec PORT COUNT     the daemon
 *   inetdexec --serve        the service (exec'd by the daemon)
 *
 * The daemon binds UDP PORT on the wildcard address, then COUNT times:
 * poll() until the socket is readable, peek at the datagram (MSG_PEEK, as
 * xinetd and libwrap do for the peer's address), fork; the child dup2()s
 * the socket onto fds 0, 1 and 2 and execs this program with --serve, which
 * reads one datagram from fd 0 and echoes it back; the daemon waits for it.  The service prints nothing; the daemon prints
 * "inetdexec: N served" on stdout at the end and exits 0 if every service
 * exited 0.  Under the shim the service, a new program image, can only read
 * the socket through the kernel: the datagram the daemon saw must be there.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int serve(void)
{
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	char buf[600];
	struct pollfd p = { .fd = 0, .events = POLLIN };
	ssize_t n;

	/* what a service does: a bounded wait, then the datagram */
	if (poll(&p, 1, 3000) != 1)
		return 3;
	n = recvfrom(0, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	if (n < 0)
		return 4;
	return sendto(0, buf, (size_t)n, 0, (struct sockaddr *)&from, fl) == n ? 0 : 5;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int s, i, cnt, ok = 0;

	if (argc == 2 && !strcmp(argv[1], "--serve"))
		return serve();
	if (argc != 3)
		return 2;
	cnt = atoi(argv[2]);
	a.sin_port = htons((uint16_t)atoi(argv[1]));
	s = socket(AF_INET, SOCK_DGRAM, 0);   /* no SOCK_CLOEXEC: inetd's */
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("inetdexec: bind");
		return 1;
	}
	for (i = 0; i < cnt; i++) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		char c;
		int st;
		pid_t pid;

		if (poll(&p, 1, 10000) != 1 ||
		    recvfrom(s, &c, 1, MSG_PEEK, (struct sockaddr *)&from, &fl) < 0)
			break;
		pid = fork();
		if (pid < 0)
			break;
		if (pid == 0) {
			char self[64];

			dup2(s, 0);
			dup2(s, 1);
			dup2(s, 2);
			if (s > 2)
				close(s);
			snprintf(self, sizeof(self), "/proc/%d/exe", (int)getppid());
			execl(self, "inetdexec", "--serve", (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
	}
	printf("inetdexec: %d served\n", ok);
	return ok == cnt ? 0 : 1;
}
