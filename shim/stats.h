/* stats.h - the published layout of a process's live statistics region,
 * shared between the shim (writer) and xskshim-stat (reader).  This is the
 * statistics ABI: self-contained (it includes only libc headers), so a
 * reader such as tools/xskshim-stat sees no interposer or ring internals.
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
 * The names of the drop reasons and of the XDP program's counters are part
 * of this ABI (XSKSHIM_STATS_DROP_NAMES, XSKSHIM_STATS_XDP_NAMES): their
 * counts are fixed here, not taken from ring/ or bpf/, so a change there
 * cannot move this layout silently; shim/stats.c asserts at compile time
 * that the counts agree and tests/test_stats_abi.c that the names do.
 *
 * Version 4 (XSKSHIM_STATS_VERSION; 3 added the transmit counters at the end
 * of struct xskshim_stats_ctr, 4 the dead-holder counters after them).
 * Append only; bump it on any change.
 */
#ifndef XSKSHIM_STATS_H
#define XSKSHIM_STATS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define XSKSHIM_STATS_MAGIC   0x534b5358u   /* "XSKS" */
#define XSKSHIM_STATS_VERSION 4u
#define XSKSHIM_STATS_SOCKS   128u
#define XSKSHIM_STATS_QUEUES  16u           /* AF_XDP fds listed per socket */
#define XSKSHIM_STATS_PATH    "/dev/shm/xskshim.%d"

/* Datagrams dropped by frame validation, indexed by ring/'s enum
 * ring_frame_err (index 0, "ok", is never counted). */
#define XSKSHIM_STATS_DROP_CNT 6u
#define XSKSHIM_STATS_DROP_NAMES \
	"ok", "trunc", "not_ours", "bad_ip", "bad_udplen", "bad_csum"

/* The XDP program's per-CPU counters (map `ctrs`, one u64 per index),
 * indexed by bpf/'s enum xskshim_ctr. */
#define XSKSHIM_STATS_XDP_CNT 17u
#define XSKSHIM_STATS_XDP_NAMES                                             \
	"redirect", "no_xsk", "pass_not_ip", "pass_not_udp", "pass_frag",   \
	"pass_ipv6_ext", "pass_trunc", "pass_bad_hdr", "pass_no_port",      \
	"pass_queue", "pass_ip_opts", "pass_other_host", "pass_not_local",  \
	"pass_mcast", "pass_martian", "pass_spill", "pass_too_big"

/* Why a datagram of an accelerated socket with XSKSHIM_TX=on was sent
 * through the kernel, indexed by ctl/'s enum ctl_why (index 0, "xdp", is
 * never counted). */
#define XSKSHIM_STATS_TX_WHY_CNT 16u
#define XSKSHIM_STATS_TX_WHY_NAMES                                                          \
	"xdp", "local", "mcast", "other_if", "no_route", "neigh", "policy", "ip_options",   \
	"mtu", "iftype", "cmsg", "link_down", "route", "addr", "src", "mirror"

struct xskshim_stats_ctr {
	uint64_t rx_xdp;            /* datagrams delivered from AF_XDP */
	uint64_t rx_xdp_bytes;
	uint64_t rx_kernel;         /* datagrams delivered from the kernel socket */
	uint64_t drop[XSKSHIM_STATS_DROP_CNT]; /* dropped by validation, by ring_frame_err */
	uint64_t drop_peer;         /* connected socket: datagram from another peer */
	uint64_t waits;             /* blocking calls that slept */
	uint64_t spill_unseen;      /* spilled to the kernel socket but never found
				     * there (its SO_RCVBUF was full, or the kernel
				     * queued it on another socket of the group) */
	/* transmit (XSKSHIM_TX=on), version 3 */
	uint64_t tx_xdp;            /* datagrams sent through the AF_XDP tx ring */
	uint64_t tx_xdp_bytes;      /* their UDP payload bytes */
	uint64_t tx_kernel;         /* datagrams sent through the kernel socket */
	uint64_t tx_kernel_why[XSKSHIM_STATS_TX_WHY_CNT]; /* ... by enum ctl_why */
	uint64_t tx_full;           /* sends that found no frame or tx ring room at once */
	uint64_t tx_waits;          /* ... and slept for it (blocking socket) */
	uint64_t tx_completions;    /* completion ring entries this socket's sends reaped */
	/* dead holders (a worker killed mid-call), version 4 */
	uint64_t lock_takeovers;    /* reader or send locks this process took over from a dead holder */
	uint64_t reclaimed;         /* UMEM frames the dead holders held, given back by this process */
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

/* The layout of this version, checked at compile time wherever the header
 * is included (the shim and every reader): a field added, removed, resized
 * or moved - including by a count taken from another module, such as the
 * number of drop reasons - fails the build until XSKSHIM_STATS_VERSION is
 * bumped and the new layout stated here.  tests/t_abi_layout.sh proves it. */
#define XSKSHIM_STATS_LAYOUT(cond) _Static_assert(cond, "statistics ABI layout changed: bump XSKSHIM_STATS_VERSION " \
						  "and state the new layout in shim/stats.h")
/* Only the current version's layout is stated (the earlier ones are in git
 * history: version 2 ended struct xskshim_stats_ctr at spill_unseen, 96
 * bytes; version 3 at tx_completions, 272). */
#if XSKSHIM_STATS_VERSION == 4
/* version 3 plus the dead-holder counters appended to struct xskshim_stats_ctr */
XSKSHIM_STATS_LAYOUT(sizeof(struct xskshim_stats_ctr) == 288);
XSKSHIM_STATS_LAYOUT(__builtin_offsetof(struct xskshim_stats_ctr, rx_kernel) == 16);
XSKSHIM_STATS_LAYOUT(__builtin_offsetof(struct xskshim_stats_ctr, drop) == 24);
XSKSHIM_STATS_LAYOUT(__builtin_offsetof(struct xskshim_stats_ctr, drop_peer) == 72);
XSKSHIM_STATS_LAYOUT(__builtin_offsetof(struct xskshim_stats_ctr, spill_unseen) == 88);
XSKSHIM_STATS_LAYOUT(__builtin_offsetof(struct xskshim_stats_ctr, tx_xdp) == 96);
XSKSHIM_STATS_LAYOUT(__builtin_offsetof(struct xskshim_stats_ctr, tx_kernel_why) == 120);
XSKSHIM_STATS_LAYOUT(__builtin_offsetof(struct xskshim_stats_ctr, tx_completions) == 264);
XSKSHIM_STATS_LAYOUT(__builtin_offsetof(struct xskshim_stats_ctr, lock_takeovers) == 272);
XSKSHIM_STATS_LAYOUT(__builtin_offsetof(struct xskshim_stats_ctr, reclaimed) == 280);
XSKSHIM_STATS_LAYOUT(sizeof(struct xskshim_stats_sock) == 600);
XSKSHIM_STATS_LAYOUT(__builtin_offsetof(struct xskshim_stats_sock, xsk_fd) == 20);
XSKSHIM_STATS_LAYOUT(__builtin_offsetof(struct xskshim_stats_sock, why) == 148);
XSKSHIM_STATS_LAYOUT(__builtin_offsetof(struct xskshim_stats_sock, c) == 312);
XSKSHIM_STATS_LAYOUT(sizeof(struct xskshim_stats_hdr) == 77280);
XSKSHIM_STATS_LAYOUT(__builtin_offsetof(struct xskshim_stats_hdr, gen) == 24);
XSKSHIM_STATS_LAYOUT(__builtin_offsetof(struct xskshim_stats_hdr, ctrs_map_id) == 464);
XSKSHIM_STATS_LAYOUT(__builtin_offsetof(struct xskshim_stats_hdr, frame_cnt) == 476);
XSKSHIM_STATS_LAYOUT(__builtin_offsetof(struct xskshim_stats_hdr, sock) == 480);
#else
#error "statistics ABI: state the layout of this XSKSHIM_STATS_VERSION here"
#endif

#endif /* XSKSHIM_STATS_H */
