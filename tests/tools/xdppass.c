/* xdppass.c - attach, query or detach the counting XDP_PASS program of
 * xdppass.bpf.c: the stand-in for a foreign XDP program (tests/t_fault_*.sh).
 *
 *   xdppass attach --iface IF [--mode native|skb]
 *       loads the program and attaches it through netlink (bpf_xdp_attach,
 *       XDP_FLAGS_UPDATE_IF_NOEXIST), so it stays after this process exits;
 *       prints "xdppass: attached id N mode M"
 *   xdppass count --iface IF
 *       whatever XDP program is attached to IF: prints
 *       "xdppass: id N name NAME count C" (C = the first u64 of its first
 *       map, i.e. our packet counter; count=- if it has no map); exit 1 if
 *       nothing is attached
 *   xdppass detach --iface IF
 *       detaches whatever is attached (any mode)
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdppass.skel.h"

static int query(int ifindex, __u32 *id, __u32 *flags)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err = bpf_xdp_query(ifindex, 0, &q);

	if (err)
		return err;
	*id = 0;
	*flags = 0;
	if (q.drv_prog_id) {
		*id = q.drv_prog_id;
		*flags = XDP_FLAGS_DRV_MODE;
	} else if (q.skb_prog_id) {
		*id = q.skb_prog_id;
		*flags = XDP_FLAGS_SKB_MODE;
	} else if (q.hw_prog_id) {
		*id = q.hw_prog_id;
		*flags = XDP_FLAGS_HW_MODE;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "mode", required_argument, NULL, 'm' },
		{ 0 }
	};
	const char *ifname = NULL, *mode = "native", *cmd;
	int c, ifindex, err;
	__u32 id, flags;

	if (argc < 2) {
		fprintf(stderr, "usage: xdppass attach|count|detach --iface IF [--mode native|skb]\n");
		return 2;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'i')
			ifname = optarg;
		else if (c == 'm')
			mode = optarg;
		else
			return 2;
	}
	if (!ifname || !(ifindex = (int)if_nametoindex(ifname))) {
		fprintf(stderr, "xdppass: no interface %s\n", ifname ? ifname : "(none)");
		return 2;
	}
	if (!strcmp(cmd, "attach")) {
		struct xdppass *skel = xdppass__open_and_load();
		__u32 f = XDP_FLAGS_UPDATE_IF_NOEXIST |
			  (strcmp(mode, "skb") ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
		struct bpf_prog_info info = {0};
		__u32 len = sizeof(info);

		if (!skel) {
			fprintf(stderr, "xdppass: load: %s\n", strerror(errno));
			return 1;
		}
		err = bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.fault_xdppass), f, NULL);
		if (err) {
			fprintf(stderr, "xdppass: attach: %s\n", strerror(-err));
			return 1;
		}
		bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.fault_xdppass), &info, &len);
		printf("xdppass: attached id %u mode %s\n", info.id, mode);
		xdppass__destroy(skel);   /* the netlink attachment keeps it */
		return 0;
	}
	if (!strcmp(cmd, "count")) {
		struct bpf_prog_info info = {0};
		__u32 len = sizeof(info), map_id = 0, key = 0;
		__u64 val = 0;
		int pfd, mfd;

		if ((err = query(ifindex, &id, &flags)) || !id) {
			printf("xdppass: nothing attached\n");
			return 1;
		}
		pfd = bpf_prog_get_fd_by_id(id);
		if (pfd < 0)
			return 1;
		info.nr_map_ids = 1;
		info.map_ids = (__u64)(unsigned long)&map_id;
		if (bpf_obj_get_info_by_fd(pfd, &info, &len))
			return 1;
		if (!info.nr_map_ids || !map_id) {
			printf("xdppass: id %u name %s count -\n", id, info.name);
			return 0;
		}
		mfd = bpf_map_get_fd_by_id(map_id);
		if (mfd < 0 || bpf_map_lookup_elem(mfd, &key, &val)) {
			printf("xdppass: id %u name %s count -\n", id, info.name);
			return 0;
		}
		printf("xdppass: id %u name %s count %llu\n", id, info.name, (unsigned long long)val);
		return 0;
	}
	if (!strcmp(cmd, "detach")) {
		if ((err = query(ifindex, &id, &flags)) || !id)
			return 0;
		err = bpf_xdp_detach(ifindex, flags, NULL);
		if (err) {
			fprintf(stderr, "xdppass: detach: %s\n", strerror(-err));
			return 1;
		}
		return 0;
	}
	fprintf(stderr, "xdppass: unknown command %s\n", cmd);
	return 2;
}
