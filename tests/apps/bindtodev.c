/* bindtodev.c - per-interface sockets on one port (SO_BINDTODEVICE), for
 * tests/t_matrix.sh: what chrony's binddevice, openvpn --bind-dev and
 * daemons with one socket per interface do.
 *
 *   bindtodev PORT IFACE SECS
 *
 In this order: socket "iface" binds PORT with SO_BINDTODEVICE IFACE,
 * socket "lo" with SO_BINDTODEVICE "lo" before bind(), socket "late" binds
 * PORT first and gets SO_BINDTODEVICE "lo" after.  All have SO_REUSEADDR
 * (of such a group the kernel otherwise gives a datagram to the last bound).
 * For SECS seconds it counts what each receives and prints one line
 *   bindtodev: lo N late N iface N
 * The kernel gives a datagram that arrives on IFACE only to "iface".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int sock(int port, const char *dev, int late)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int s = socket(AF_INET, SOCK_DGRAM, 0), one = 1;

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (!late && setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev) + 1))
		perror("bindtodev: SO_BINDTODEVICE");
	if (bind(s, (struct sockaddr *)&a, sizeof(a)))
		perror("bindtodev: bind");
	if (late && setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev) + 1))
		perror("bindtodev: SO_BINDTODEVICE");
	return s;
}

int main(int argc, char **argv)
{
	struct pollfd p[3];
	int port, n[3] = { 0 }, i;
	time_t end;
	char buf[2048];

	if (argc != 4)
		return 2;
	port = atoi(argv[1]);
	p[2].fd = sock(port, argv[2], 0);
	p[0].fd = sock(port, "lo", 0);
	p[1].fd = sock(port, "lo", 1);
	end = time(NULL) + atoi(argv[3]);
	printf("bindtodev: bound\n");
	fflush(stdout);
	while (time(NULL) < end) {
		for (i = 0; i < 3; i++)
			p[i].events = POLLIN;
		if (poll(p, 3, 200) <= 0)
			continue;
		for (i = 0; i < 3; i++)
			if ((p[i].revents & POLLIN) && recv(p[i].fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
				n[i]++;
	}
	printf("bindtodev: lo %d late %d iface %d\n", n[0], n[1], n[2]);
	return 0;
}
