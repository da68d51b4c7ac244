/* test_stats_abi.c - the statistics ABI (shim/stats.h) names the same drop
 * reasons and XDP counters, in the same order, as ring/ring.h and
 * bpf/xskshim_bpf.h: a reader that includes only stats.h (tools/xskshim-stat)
 * labels every counter correctly.  The counts are checked at compile time in
 * shim/stats.c; this checks the names.  Prints PASS:/FAIL: lines. */
#include <stdio.h>
#include <string.h>

#include "bpf/xskshim_bpf.h"
#include "ctl/route.h"
#include "ring/ring.h"
#include "shim/stats.h"

static int names_same(const char *what, const char *const *a, const char *const *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(a[i], b[i])) {
			printf("FAIL: stats.h %s name %u is '%s', the module's is '%s'\n", what, i, a[i], b[i]);
			return 1;
		}
	printf("PASS: stats.h names the %u %s as the module does\n", n, what);
	return 0;
}

int main(void)
{
	static const char *const drop_abi[] = { XSKSHIM_STATS_DROP_NAMES };
	static const char *const drop_ring[] = { RING_FRAME_ERR_NAMES };
	static const char *const xdp_abi[] = { XSKSHIM_STATS_XDP_NAMES };
	static const char *const xdp_bpf[] = { XSKSHIM_CTR_NAMES };
	static const char *const tx_abi[] = { XSKSHIM_STATS_TX_WHY_NAMES };
	static const char *const tx_ctl[] = { CTL_WHY_NAMES };
	int fails = 0;

	_Static_assert(sizeof(drop_abi) / sizeof(drop_abi[0]) == XSKSHIM_STATS_DROP_CNT, "drop names");
	_Static_assert(sizeof(drop_ring) / sizeof(drop_ring[0]) == RING_FRAME_ERR_CNT, "ring names");
	_Static_assert(sizeof(xdp_abi) / sizeof(xdp_abi[0]) == XSKSHIM_STATS_XDP_CNT, "xdp names");
	_Static_assert(sizeof(xdp_bpf) / sizeof(xdp_bpf[0]) == XSKSHIM_CTR_CNT, "bpf names");
	fails += names_same("drop reasons (ring_frame_err)", drop_abi, drop_ring, XSKSHIM_STATS_DROP_CNT);
	fails += names_same("XDP counters (xskshim_ctr)", xdp_abi, xdp_bpf, XSKSHIM_STATS_XDP_CNT);
	_Static_assert(sizeof(tx_abi) / sizeof(tx_abi[0]) == XSKSHIM_STATS_TX_WHY_CNT, "tx names");
	_Static_assert(sizeof(tx_ctl) / sizeof(tx_ctl[0]) == CTL_WHY_CNT, "ctl names");
	fails += names_same("transmit kernel-path reasons (ctl_why)", tx_abi, tx_ctl, XSKSHIM_STATS_TX_WHY_CNT);
	return fails ? 1 : 0;
}
