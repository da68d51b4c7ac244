/* facts.c - what the statistics read from the control plane (ctl.h): the
 * program's per-CPU counters (summed, earlier attachments included), its
 * ids, the install's description, per-queue frame accounting. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/internal.h"

void ctl_xstats_add(struct xdp_statistics *to, const struct xdp_statistics *x)
{
	to->rx_dropped += x->rx_dropped;
	to->rx_invalid_descs += x->rx_invalid_descs;
	to->rx_ring_full += x->rx_ring_full;
	to->rx_fill_ring_empty_descs += x->rx_fill_ring_empty_descs;
}

int ctl_ctrs(uint64_t out[XSKSHIM_CTR_CNT])
{
	int err = ctl_ctrs_now(out);
	bool any = !err;

	for (int k = 0; k < XSKSHIM_CTR_CNT; k++) {
		out[k] = (err ? 0 : out[k]) + C.ctrs_base[k];
		any |= C.ctrs_base[k] != 0;
	}
	return any ? 0 : -ENOENT;
}

/* The counters of the current attachment. */
int ctl_ctrs_now(uint64_t out[XSKSHIM_CTR_CNT])
{
	int ncpu = libbpf_num_possible_cpus(), fd;
	uint64_t *v;

	memset(out, 0, sizeof(uint64_t) * XSKSHIM_CTR_CNT);
	if (!C.skel || ncpu <= 0)
		return -ENOENT;
	fd = bpf_map__fd(C.skel->maps.ctrs);
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t k = 0; k < XSKSHIM_CTR_CNT; k++) {
		if (bpf_map_lookup_elem(fd, &k, v))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += v[c];
	}
	free(v);
	return 0;
}

uint64_t ctl_icmp_seq(void)
{
	return __atomic_load_n(&C.skel->bss->icmp_err_seq, __ATOMIC_ACQUIRE);
}

enum ring_csum_mode ctl_csum_mode(void)
{
	return C.csum;
}

const char *ctl_describe(void)
{
	/* (prepared - program attached, UMEMs made - before any binding
	 * chose the mode: a bind that failed, a privilege drop ahead) */
	if (C.installed && !C.desc[0])
		return "program attached, no socket bound";
	return C.installed ? C.desc : "not installed";
}

int ctl_queue_acct(uint32_t q, struct ring_umem_acct *a, uint32_t *fill_cnt, uint32_t *frame_cnt,
		   uint32_t *rx_cnt, struct xdp_statistics *xs)
{
	struct ctl_bind *b;

	if (q >= XSKSHIM_QUEUE_MAX || !C.umem[q])
		return -ENOENT;
	*xs = C.closed_xs[q];
	ring_umem_acct_get(C.umem[q], a);
	ring_umem_held(C.umem[q], &a->held_rx, &a->held_tx);
	*fill_cnt = ring_umem_fill_cnt(C.umem[q]);
	*frame_cnt = C.umem[q]->frame_cnt;
	*rx_cnt = ring_cons_avail(&C.umem[q]->anchor->rx);
	for (b = C.binds; b; b = b->next)
		for (uint32_t i = 0; i < b->q_cnt; i++) {
			struct xdp_statistics x;

			if (b->xsk[i]->queue != q)
				continue;
			if (!ring_xsk_stats(b->xsk[i], &x))
				ctl_xstats_add(xs, &x);
			*rx_cnt += ring_cons_avail(&b->xsk[i]->rx);
		}
	return 0;
}

int ctl_ifindex(void)
{
	return C.ifindex;
}

int ctl_ids(uint32_t *prog_id, uint32_t *ctrs_map_id)
{
	struct bpf_prog_info pi = {0};
	struct bpf_map_info mi = {0};
	uint32_t pl = sizeof(pi), ml = sizeof(mi);

	*prog_id = *ctrs_map_id = 0;
	if (!C.skel)
		return -ENOENT;
	if (!bpf_obj_get_info_by_fd(bpf_program__fd(C.skel->progs.xskshim_xdp), &pi, &pl))
		*prog_id = pi.id;
	if (!bpf_obj_get_info_by_fd(bpf_map__fd(C.skel->maps.ctrs), &mi, &ml))
		*ctrs_map_id = mi.id;
	return 0;
}

uint32_t ctl_queue_cnt(void)
{
	return C.installed ? C.q_cnt : 0;
}

/* The description of the install, after a binding changed it. */
void ctl_desc_update(void)
{
	const char *zc = C.zerocopy ? "zero-copy" : "copy", *cs = C.csum == RING_CSUM_VERIFY ? "verify" : "trusted";

	if (C.q_cnt == 1)
		snprintf(C.desc, sizeof(C.desc), "%s %s %s queue %u, csum %s", C.cfg.iface, C.mode, zc, C.q_ids[0], cs);
	else
		snprintf(C.desc, sizeof(C.desc), "%s %s %s queues %u-%u, csum %s", C.cfg.iface, C.mode, zc,
			 C.q_ids[0], C.q_ids[C.q_cnt - 1], cs);
}
