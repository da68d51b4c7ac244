/* caps.c - which capabilities a failed step lacked, named in its message
 * (ctl.h).  Reads /proc/self/status; any thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/internal.h"

static uint64_t ctl_cap_eff(void)
{
	char line[256];
	uint64_t v = ~0ull;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "CapEff:", 7))
			v = strtoull(line + 7, NULL, 16);
	fclose(f);
	return v;
}

/* Text naming the missing capabilities among those a step needs. */
const char *ctl_caps_missing(bool bpf, bool net_admin, bool net_raw, bool ipc_lock)
{
	static __thread char buf[128];
	uint64_t c = ctl_cap_eff();
	size_t n = 0;

	buf[0] = 0;
#define CAPCHK(want, bit, name)                                                   \
	if ((want) && !(c & (1ull << (bit))))                                     \
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "," : "", name);
	CAPCHK(bpf && !(c & (1ull << 21)), 39, "CAP_BPF");
	CAPCHK(net_admin, 12, "CAP_NET_ADMIN");
	CAPCHK(net_raw, 13, "CAP_NET_RAW");
	CAPCHK(ipc_lock, 14, "CAP_IPC_LOCK");
#undef CAPCHK
	return n ? buf : NULL;
}
