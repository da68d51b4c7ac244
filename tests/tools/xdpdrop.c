/* xdpdrop.c - XDP_DROP on an interface and count: the limit of the path.
 *
 *   xdpdrop --iface vb [--mode native|skb] [--secs S] [--idle-ms MS] [--expect N]
 *
 * Loads xdpdrop.bpf.c and attaches it through a bpf_link (native: libbpf
 * bpf_program__attach_xdp; skb: bpf_link_create with XDP_FLAGS_SKB_MODE), so
 * the program goes away with this process however it ends.  Prints
 * "xdpdrop: ready ..." on stderr once attached, then samples the per-CPU
 * counters every 20 ms until --expect packets were dropped, --idle-ms passed
 * without a packet after the first one (default 2000), --secs passed
 * (default 60), or SIGINT/SIGTERM.  Prints one line:
 *   xdpdrop: received=N secs=S pps=X
 * where S is the time between the first packet and the last timestamped one
 * (the program stamps the first and every 64th packet) and X the rate over
 * that window.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdpdrop.skel.h"

#include "tests/tools/toolutil.h"

struct xdpdrop_ctr {
	uint64_t cnt;
	uint64_t first_ns;
	uint64_t last_ns;
	uint64_t last_cnt;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}


/* Sums the per-CPU counters.  first, last: earliest first and latest last
 * stamp over the CPUs; stamped: packets up to the last stamp. */
static int ctr_read(int map_fd, struct xdpdrop_ctr *vals, int ncpu, uint64_t *cnt,
		    uint64_t *first, uint64_t *last, uint64_t *stamped)
{
	uint32_t key = 0;
	int i;

	if (bpf_map_lookup_elem(map_fd, &key, vals))
		return -errno;
	*cnt = *first = *last = *stamped = 0;
	for (i = 0; i < ncpu; i++) {
		if (!vals[i].cnt)
			continue;
		*cnt += vals[i].cnt;
		*stamped += vals[i].last_cnt;
		if (!*first || vals[i].first_ns < *first)
			*first = vals[i].first_ns;
		if (vals[i].last_ns > *last)
			*last = vals[i].last_ns;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: xdpdrop --iface IF [--mode native|skb] [--secs S] "
		   "[--idle-ms MS] [--expect N]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "mode", required_argument, NULL, 'm' },
		{ "secs", required_argument, NULL, 's' },
		{ "idle-ms", required_argument, NULL, 'I' },
		{ "expect", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *ifname = NULL, *mode = "native";
	double secs_max = 60;
	unsigned idle_ms = 2000;
	uint64_t expect = 0, cnt = 0, first = 0, last = 0, stamped = 0, prev = 0, t_change;
	struct bpf_link *link = NULL;
	struct xdpdrop_ctr *vals = NULL;
	struct xdpdrop *skel;
	int c, ifindex, ncpu, err, rc = 0, link_fd = -1;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': ifname = optarg; break;
		case 'm': mode = optarg; break;
		case 's': secs_max = strtod(optarg, NULL); break;
		case 'I': idle_ms = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'e': expect = strtoull(optarg, NULL, 0); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!ifname || secs_max <= 0 || (strcmp(mode, "native") && strcmp(mode, "skb"))) {
		usage(stderr);
		return 2;
	}
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, "xdpdrop: no interface %s\n", ifname);
		return 1;
	}
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return 1;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return 1;

	skel = xdpdrop__open_and_load();
	if (!skel) {
		fprintf(stderr, "xdpdrop: load: %s\n", strerror(errno));
		free(vals);
		return 1;
	}
	if (!strcmp(mode, "native")) {
		link = bpf_program__attach_xdp(skel->progs.xdpdrop_xdp, ifindex);
		err = link ? 0 : -errno;
	} else {
		LIBBPF_OPTS(bpf_link_create_opts, lopts, .flags = XDP_FLAGS_SKB_MODE);

		link_fd = bpf_link_create(bpf_program__fd(skel->progs.xdpdrop_xdp), ifindex,
					  BPF_XDP, &lopts);
		err = link_fd < 0 ? -errno : 0;
	}
	if (err) {
		fprintf(stderr, "xdpdrop: attach %s mode to %s: %s\n", mode, ifname, strerror(-err));
		rc = 1;
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "xdpdrop: ready iface=%s mode=%s\n", ifname, mode);

	{
		uint64_t t0 = now_ns();
		int map_fd = bpf_map__fd(skel->maps.ctrs);

		t_change = t0;
		while (!stop) {
			struct timespec ts = { .tv_nsec = 20000000 };
			uint64_t now;

			nanosleep(&ts, NULL);
			err = ctr_read(map_fd, vals, ncpu, &cnt, &first, &last, &stamped);
			if (err) {
				fprintf(stderr, "xdpdrop: read counters: %s\n", strerror(-err));
				rc = 1;
				break;
			}
			now = now_ns();
			if (cnt != prev) {
				prev = cnt;
				t_change = now;
			}
			if ((expect && cnt >= expect) ||
			    (cnt && now - t_change > (uint64_t)idle_ms * 1000000ull) ||
			    (double)(now - t0) / 1e9 > secs_max)
				break;
		}
	}
	{
		double span = last > first ? (double)(last - first) / 1e9 : 0;

		printf("xdpdrop: received=%llu secs=%.6f pps=%.0f\n", (unsigned long long)cnt,
		       span, span > 0 ? (double)(stamped - 1) / span : 0.0);
		fflush(stdout);
	}
	if (expect && cnt < expect)
		rc = 1;
out:
	if (link_fd >= 0)
		close(link_fd);
	bpf_link__destroy(link);
	xdpdrop__destroy(skel);
	free(vals);
	return rc;
}
