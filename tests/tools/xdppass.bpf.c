// SPDX-License-Identifier: GPL-2.0
/* xdppass.bpf.c - a "foreign" XDP program for the fault tests: counts every
 * packet in a one-entry array map and returns XDP_PASS.  Attached through
 * netlink by xdppass.c, so it stays on the interface after the loader exits
 * - like an operator's or another product's program would. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} pass_cnt SEC(".maps");

SEC("xdp")
int fault_xdppass(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *c = bpf_map_lookup_elem(&pass_cnt, &key);

	(void)ctx;
	if (c)
		__sync_fetch_and_add(c, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
