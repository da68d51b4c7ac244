/* chrootfork.c - the shape of in.tftpd -s (tftpd-hpa), for tests/t_matrix.sh.
 *
 *   chrootfork PORT DIR
 *
 * Binds UDP PORT on the wildcard address, receives one datagram (blocking
 * recvfrom), then forks; the child chroots into DIR (an empty directory: no
 * /sys in it), answers the datagram from a new socket on an ephemeral port,
 * as tftpd's transfer children do, and exits through exit(0).  The parent
 * waits for it and exits 0.  Prints "chrootfork: child done" on stdout.
 * Under the shim neither process may print anything but the shim's own
 * lines - no libbpf warning about /sys/devices/system/cpu/possible.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET }, from;
	socklen_t fl = sizeof(from);
	char buf[512];
	ssize_t n;
	int s, st;
	pid_t c;

	if (argc != 3)
		return 2;
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a))) {
		perror("chrootfork: bind");
		return 1;
	}
	n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	if (n < 0) {
		perror("chrootfork: recvfrom");
		return 1;
	}
	c = fork();
	if (c < 0)
		return 1;
	if (c == 0) {
		int t;

		close(s);
		if (chroot(argv[2]) || chdir("/")) {
			perror("chrootfork: chroot");
			_exit(1);
		}
		t = socket(AF_INET, SOCK_DGRAM, 0);
		if (t < 0 || sendto(t, buf, (size_t)n, 0, (struct sockaddr *)&from, fl) != n) {
			perror("chrootfork: sendto");
			exit(1);
		}
		printf("chrootfork: child done\n");
		exit(0);
	}
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
		return 1;
	return 0;
}
