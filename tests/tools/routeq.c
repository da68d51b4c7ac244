/* routeq - ask the route/neighbour mirror (ctl/route.h) what it decides for
 * destinations, live: `routeq IFACE [-w SECONDS] ADDR...` starts a mirror on
 * IFACE and prints "ADDR WHY MAC MTU" per address; with -w it keeps
 * printing a line whenever the answer for an address changes, for SECONDS,
 * so a test can change routes and neighbours meanwhile and see the mirror
 * follow the kernel's notifications.  Exit status 0 unless the mirror could
 * not start. */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/route.h"

static const char *const why_names[] = { CTL_WHY_NAMES };

static void show(const char *a, const struct ctl_path *p)
{
	printf("%s %s %02x:%02x:%02x:%02x:%02x:%02x %u\n", a, why_names[p->why], p->dst_mac[0], p->dst_mac[1],
	       p->dst_mac[2], p->dst_mac[3], p->dst_mac[4], p->dst_mac[5], p->mtu);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static struct ctl_mirror m;
	struct ctl_path last[16];
	uint8_t addr[16][16];
	int fam[16], n = 0, secs = 0, ifx, err, slot;
	uint64_t gen;

	if (argc < 3) {
		fprintf(stderr, "usage: routeq IFACE [-w SECONDS] ADDR...\n");
		return 2;
	}
	ifx = (int)if_nametoindex(argv[1]);
	if (!ifx) {
		perror(argv[1]);
		return 2;
	}
	for (int i = 2; i < argc && n < 16; i++) {
		if (!strcmp(argv[i], "-w") && i + 1 < argc) {
			secs = atoi(argv[++i]);
			continue;
		}
		memset(addr[n], 0, 16);
		fam[n] = strchr(argv[i], ':') ? AF_INET6 : AF_INET;
		if (inet_pton(fam[n], argv[i], addr[n]) != 1) {
			fprintf(stderr, "bad address %s\n", argv[i]);
			return 2;
		}
		n++;
	}
	err = ctl_mirror_start(&m, ifx);
	if (err) {
		fprintf(stderr, "routeq: mirror: %s\n", strerror(-err));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		ctl_mirror_lookup(&m, fam[i], addr[i], &last[i], &gen, &slot);
		show(argv[0] ? inet_ntop(fam[i], addr[i], (char[64]){ 0 }, 64) : "", &last[i]);
	}
	for (time_t end = time(NULL) + secs; time(NULL) < end;) {
		usleep(20000);
		for (int i = 0; i < n; i++) {
			struct ctl_path p;

			ctl_mirror_lookup(&m, fam[i], addr[i], &p, &gen, &slot);
			if (p.why != last[i].why || memcmp(p.dst_mac, last[i].dst_mac, 6) || p.mtu != last[i].mtu) {
				last[i] = p;
				show(inet_ntop(fam[i], addr[i], (char[64]){ 0 }, 64), &p);
			}
		}
	}
	ctl_mirror_stop(&m);
	return 0;
}
