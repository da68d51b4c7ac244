/* closefds.c - a daemon that closes fds by number after it bound its
 * socket, for tests/t_closefds.sh (issue 11: "the shim never closes ... an
 * fd number it does not own", and the application's closes of numbers it
 * does not know must not break the shim).
 *
 *   closefds MODE PORT COUNT READYFILE
 *
 * Binds UDP PORT on the wildcard address, then daemonizes the usual way:
 * fork (the launcher exits), setsid, fork again (the first child exits).
 * The grandchild closes every fd above its socket by number - MODE
 * closefrom: closefrom(s + 1); close_range: close_range(s + 1, ~0U, 0);
 * loop: close(fd) for fd 3..1023 except s, counting the closes that
 * succeeded (each named on stderr) - then writes "ready <closes>" to READYFILE and echoes COUNT
 * datagrams back to their senders (recvmmsg, batches of up to 16), then
 * exits 0.  Exits 1 with a message on stderr if a call fails.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int close_all(const char *mode, int s)
{
	int n = 0;

	if (!strcmp(mode, "closefrom")) {
		closefrom(s + 1);
	} else if (!strcmp(mode, "close_range")) {
		if (close_range((unsigned int)s + 1, ~0U, 0))
			return -1;
	} else if (!strcmp(mode, "loop")) {
		for (int fd = 3; fd < 1024; fd++) {
			char path[32], what[128] = "?";
			ssize_t l;

			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			l = readlink(path, what, sizeof(what) - 1);
			what[l > 0 ? l : 1] = 0;
			if (fd != s && close(fd) == 0) {
				fprintf(stderr, "closefds: closed fd %d (%s)\n", fd, what);
				n++;
			}
		}
	} else {
		return -1;
	}
	return n;
}

static int serve(int s, long count)
{
	struct mmsghdr v[16];
	struct iovec iov[16];
	struct sockaddr_in from[16];
	char buf[16][512];

	while (count > 0) {
		int r;

		for (int i = 0; i < 16; i++) {
			iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
			v[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
							.msg_iov = &iov[i], .msg_iovlen = 1 };
		}
		r = recvmmsg(s, v, 16, MSG_WAITFORONE, NULL);
		if (r < 0) {
			perror("closefds: recvmmsg");
			return 1;
		}
		for (int i = 0; i < r; i++)
			if (sendto(s, buf[i], v[i].msg_len, 0, (struct sockaddr *)&from[i], v[i].msg_hdr.msg_namelen) < 0)
				perror("closefds: sendto");
		count -= r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	FILE *f;
	int s, n;

	if (argc != 5)
		return 2;
	a.sin_port = htons((unsigned short)atoi(argv[2]));
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a))) {
		perror("closefds: bind");
		return 1;
	}
	if (fork() != 0)
		_exit(0);      /* the launcher */
	setsid();
	if (fork() != 0)
		_exit(0);      /* the session leader */
	n = close_all(argv[1], s);
	if (n < 0) {
		perror("closefds: closing");
		return 1;
	}
	f = fopen(argv[4], "w");
	if (!f || fprintf(f, "ready %d\n", n) < 0 || fclose(f)) {
		perror("closefds: ready file");
		return 1;
	}
	return serve(s, atol(argv[3]));
}
