// SPDX-License-Identifier: GPL-2.0
/* xdpdrop.bpf.c - XDP_DROP everything, counting packets per CPU.
 *
 * The benchmark's "physical limit of the path": attached to the receiving
 * veth by xdpdrop.c.  Per CPU it keeps the packet count and, to let user
 * space compute a rate between the first and the last packet without a
 * clock read per packet, the time of the first packet and of every 64th
 * (with the count at that moment).  Per-CPU map, so plain increments are
 * race free.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct xdpdrop_ctr {
	__u64 cnt;
	__u64 first_ns;
	__u64 last_ns;
	__u64 last_cnt;     /* cnt when last_ns was taken */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpdrop_ctr);
} ctrs SEC(".maps");

SEC("xdp")
int xdpdrop_xdp(struct xdp_md *ctx)
{
	struct xdpdrop_ctr *c;
	__u32 key = 0;
	__u64 n;

	(void)ctx;
	c = bpf_map_lookup_elem(&ctrs, &key);
	if (!c)
		return XDP_DROP;
	n = ++c->cnt;
	if (n == 1) {
		c->first_ns = bpf_ktime_get_ns();
		c->last_ns = c->first_ns;
		c->last_cnt = 1;
	} else if ((n & 63) == 0) {
		c->last_ns = bpf_ktime_get_ns();
		c->last_cnt = n;
	}
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
