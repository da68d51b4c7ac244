/* resethand.c - a UDP receiver whose SIGTERM handler is one-shot, as node's
 * (src/node.cc RegisterSignalHandler(SIGTERM, SignalExit, true)), for
 * tests/t_matrix.sh.
 *
 *   resethand PORT
 *
 * Installs a SIGTERM handler with SA_SIGINFO | SA_RESETHAND and every signal
 * in sa_mask; the handler writes "resethand: handler" on stdout and raises
 * SIGTERM again, which the kernel's reset makes fatal once the handler
 * returns.  Reads the action back and prints "resethand: query ok" when it
 * is its own (handler and SA_RESETHAND), then "resethand: ready" on stderr,
 * and counts datagrams with blocking recv() until the signal ends it.  The
 * process dies by SIGTERM; under the shim its exit summary must appear and
 * /dev/shm/xskshim.PID must be gone.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void resethand_exit(int sig, siginfo_t *si, void *uc)
{
	static const char m[] = "resethand: handler\n";

	(void)si;
	(void)uc;
	if (write(1, m, sizeof(m) - 1) < 0)
		_exit(3);
	raise(sig);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct sigaction sa, q;
	char buf[2048];
	long n = 0;
	int s;

	if (argc != 2)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = resethand_exit;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGTERM, NULL, &q))
		return 1;
	if ((q.sa_flags & SA_SIGINFO) && q.sa_sigaction == resethand_exit && (q.sa_flags & SA_RESETHAND))
		printf("resethand: query ok\n");
	fflush(stdout);
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a))) {
		perror("resethand: bind");
		return 1;
	}
	fprintf(stderr, "resethand: ready\n");
	while (recv(s, buf, sizeof(buf), 0) >= 0)
		n++;
	return 0;
}
