/* capdrop.c - a receiver that drops its privileges the way daemons do, for
 * tests/t_privdrop.sh.  Built with tests/fault_recv.c compiled as
 * fault_recv_main (-Dmain=fault_recv_main):
 *
 *   capdrop [--via capset|syscall|setuid] [--when before|after] [--later N]
 *           -- fault_recv args...
 *
 * --via capset: drops CAP_BPF, CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW and
 *   CAP_IPC_LOCK from its effective and permitted sets with capset(2)
 *   (named does this through libcap); syscall: the same through
 *   syscall(SYS_capset); setuid: setgroups/setgid/setuid to nobody (65534),
 *   which clears every capability.
 * --when before: drop before any socket exists (named); after: first bind
 *   one socket on port 9000+N+1 (kept open), then drop (unbound, nsd).
 * --later N: after the drop, bind N more sockets on ports 9001..9000+N and
 *   keep them open; prints "capdrop: later bind PORT ok" per socket.
 * Then runs fault_recv with the arguments after "--".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <grp.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int fault_recv_main(int argc, char **argv);
int capset(cap_user_header_t h, const cap_user_data_t d);   /* glibc has no header for it */

static int capdrop_bind(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		fprintf(stderr, "capdrop: bind %u failed\n", port);
		exit(2);
	}
	return fd;
}

static void capdrop_drop(const char *via)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	const int drop[] = { CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW, CAP_IPC_LOCK, 39 /* CAP_BPF */ };
	int r;

	if (!strcmp(via, "setuid")) {
		gid_t g = 65534;

		r = setgroups(1, &g) || setgid(65534) || setuid(65534);
	} else {
		if (syscall(SYS_capget, &h, d)) {
			perror("capdrop: capget");
			exit(2);
		}
		for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
			d[drop[i] / 32].effective &= ~(1u << (drop[i] % 32));
			d[drop[i] / 32].permitted &= ~(1u << (drop[i] % 32));
			d[drop[i] / 32].inheritable &= ~(1u << (drop[i] % 32));
		}
		r = !strcmp(via, "syscall") ? (int)syscall(SYS_capset, &h, d) : capset(&h, d);
	}
	if (r) {
		perror("capdrop: drop");
		exit(2);
	}
	fprintf(stderr, "capdrop: dropped privileges via %s\n", via);
}

int main(int argc, char **argv)
{
	const char *via = "capset", *when = "before";
	int later = 0, i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--via") && i + 1 < argc)
			via = argv[++i];
		else if (!strcmp(argv[i], "--when") && i + 1 < argc)
			when = argv[++i];
		else if (!strcmp(argv[i], "--later") && i + 1 < argc)
			later = atoi(argv[++i]);
	}
	if (i >= argc) {
		fprintf(stderr, "usage: capdrop [--via capset|syscall|setuid] [--when before|after] [--later N] -- ARGS\n");
		return 2;
	}
	if (!strcmp(when, "after"))
		capdrop_bind((uint16_t)(9000 + later + 1));
	capdrop_drop(via);
	for (int k = 1; k <= later; k++) {
		capdrop_bind((uint16_t)(9000 + k));
		fprintf(stderr, "capdrop: later bind %d ok\n", 9000 + k);
	}
	argv[i] = argv[0];
	return fault_recv_main(argc - i, argv + i);
}
