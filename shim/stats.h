/* stats.h - the published layout of a process's live statistics region,
 * shared between the shim (writer) and xskshim-stat (reader).
 *
 * Design note
 * -----------
 * Each process under the shim creates /dev/shm/xskshim.<pid> (mode 0644,
 * read-only to others), maps it shared, and keeps its per-socket counters
 * *inside* it: the receive path increments them in place, so publishing
 * costs nothing - no copy, no lock, no atomic beyond what the receive path
 * already does (one reader per socket at a time, under its rx spinlock).
 * Readers may see a counter a few packets stale, never torn (aligned 64-bit
 * stores).  Identity fields change only under the shim's control-plane lock;
 * `gen` is incremented before and after each change (seqlock), so a reader
 * retries while it is odd or changed.
 *
 * Lifetime: created at the first accelerated-port bind, removed at exit.
 * A region left behind by kill -9 is recognised as stale by comparing
 * `starttime` with field 22 of /proc/<pid>/stat (pid reuse safe).
 *
 * The XDP program's per-CPU counters are not copied here: readers fetch
 * them from the BPF map whose id is `ctrs_map_id`.  XDP_STATISTICS of each
 * AF_XDP socket is read through pidfd_getfd() on the fds listed per socket.
 *
 * Version 1.  Append only; bump XSKSHIM_STATS_VERSION on any change.
 */
#ifndef XSKSHIM_STATS_H
#define XSKSHIM_STATS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "bpf/xskshim_bpf.h"
#include "ring/ring.h"

#define XSKSHIM_STATS_MAGIC   0x534b5358u   /* "XSKS" */
#define XSKSHIM_STATS_VERSION 2u
#define XSKSHIM_STATS_SOCKS   128u
#define XSKSHIM_STATS_QUEUES  16u           /* AF_XDP fds listed per socket */
#define XSKSHIM_STATS_PATH    "/dev/shm/xskshim.%d"

struct xskshim_stats_ctr {
	uint64_t rx_xdp;            /* datagrams delivered from AF_XDP */
	uint64_t rx_xdp_bytes;
	uint64_t rx_kernel;         /* datagrams delivered from the kernel socket */
	uint64_t drop[RING_FRAME_ERR_CNT]; /* dropped by validation, by ring_frame_err */
	uint64_t drop_peer;         /* connected socket: datagram from another peer */
	uint64_t waits;             /* blocking calls that slept */
	uint64_t spill_unseen;      /* spilled to the kernel socket but never found
				     * there (its SO_RCVBUF was full, or the kernel
				     * queued it on another socket of the group) */
};

enum xskshim_stats_state { XSKSHIM_ST_FREE = 0, XSKSHIM_ST_KERNEL = 1, XSKSHIM_ST_ACCEL = 2 };

struct xskshim_stats_sock {
	uint32_t state;             /* enum xskshim_stats_state */
	int32_t  fd;                /* fd at creation */
	uint16_t port;
	uint8_t  family;            /* 4 or 6 */
	uint8_t  reuseport_members; /* group size when bound */
	uint32_t slot;
	uint32_t q_cnt;
	int32_t  xsk_fd[XSKSHIM_STATS_QUEUES];
	uint32_t xsk_queue[XSKSHIM_STATS_QUEUES];
	char     why[160];          /* why on the kernel path */
	struct xskshim_stats_ctr c;
};

struct xskshim_stats_hdr {
	uint32_t magic;
	uint32_t version;
	int32_t  pid;
	uint32_t size;              /* bytes of the whole region */
	uint64_t starttime;         /* /proc/<pid>/stat field 22 */
	uint32_t gen;               /* seqlock for identity fields */
	uint32_t sock_max;
	char     comm[32];
	char     iface[16];
	char     desc[128];         /* "vb native copy queue 0, csum verify" */
	char     config_why[256];   /* why the configuration is inactive */
	uint32_t ctrs_map_id;       /* BPF map id of the per-CPU counters, 0 if none */
	uint32_t prog_id;
	uint32_t q_cnt;
	uint32_t frame_cnt;         /* UMEM frames per queue */
	struct xskshim_stats_sock sock[XSKSHIM_STATS_SOCKS];
};

/* Parse the text of /proc/<pid>/stat (NUL-terminated): the state letter
 * (field 3) and starttime (field 22), which tells a live region from one
 * whose pid was reused.  The command name (field 2) may hold spaces and
 * parentheses, so fields are counted from the last ')'.  0 or -1. */
static inline int xskshim_proc_stat_parse(const char *buf, char *state, uint64_t *starttime)
{
	const char *p = strrchr(buf, ')');
	unsigned long long v;
	int field;

	if (!p || p[1] != ' ')
		return -1;
	if (state)
		*state = p[2];
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (sscanf(p, "%llu", &v) != 1)
		return -1;
	*starttime = v;
	return 0;
}

#endif /* XSKSHIM_STATS_H */
