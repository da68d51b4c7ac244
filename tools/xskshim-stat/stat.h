/* stat.h - xskshim-stat, the program that shows what xskshim does in the
 * processes running under it.  Not part of libxskshim.so; it includes only
 * the statistics ABI (shim/stats.h), never the interposer's or ring's
 * headers.
 *
 *   xskshim-stat                      list every process under the shim
 *   xskshim-stat PID                  one process in detail
 *   xskshim-stat -w [PID]             refresh every second, with rates
 *   xskshim-stat --json [PID]         machine-readable (one JSON document per line)
 *   xskshim-stat --prometheus [PID]   Prometheus text exposition format
 *   xskshim-stat --textfile DIR       the same, written atomically to DIR/xskshim.prom
 *   xskshim-stat --clean [PID..]      remove regions left behind by dead processes
 *
 * Design note
 * -----------
 * Modules: collect.c reads (regions, /proc, XDP_STATISTICS, the XDP
 * program's counters) into `struct snap`; text.c, json.c and prom.c render
 * snapshots and never read anything themselves; main.c parses options and
 * runs the loops.  A new output format is a new renderer; a new source of
 * facts goes into collect.c and struct snap.
 *
 * Everything comes from the statistics region each process publishes at
 * /dev/shm/xskshim.<pid> (layout and rules in shim/stats.h), plus two
 * sources the region only points at:
 *   - XDP_STATISTICS of every AF_XDP socket, read with getsockopt on a
 *     duplicate of the process's fd obtained through pidfd_open() +
 *     pidfd_getfd() (needs ptrace-attach permission over the process:
 *     root or CAP_SYS_PTRACE; the same user without it, where Yama allows);
 *   - ring occupancy: the producer and consumer words of each AF_XDP
 *     socket's RX ring and of each UMEM's fill ring, read with
 *     process_vm_readv at the addresses /proc/<pid>/maps shows for the
 *     socket's mappings (same permission as pidfd_getfd), with the layout
 *     getsockopt(XDP_MMAP_OFFSETS) gives;
 *   - the XDP program's per-CPU counters, from the BPF map whose id the
 *     region names (bpf_map_get_fd_by_id needs CAP_SYS_ADMIN; CAP_BPF alone
 *     is refused - measured on 6.18).
 * Either may be unavailable; the output then says why and carries on.
 *
 * Reading a region: it is mapped read-only and copied out first, 64 bits at
 * a time with atomic loads (the writer's counters are aligned 64-bit stores,
 * so no counter is ever torn), under the seqlock protocol: the copy is
 * retried while `gen` is odd or changed across it.  A SIGBUS (the file was
 * truncated under us: a new process reusing the pid) aborts the copy.
 * Nothing is ever written to a region; --clean only unlinks stale files.
 *
 * Liveness: a region is STALE when its pid no longer exists, is a zombie,
 * or now belongs to another process (field 22 of /proc/<pid>/stat differs
 * from the recorded starttime).  A stale region is never shown as live, and
 * nothing is queried from a stale process.
 *
 * Single-threaded; snapshots are large (~200 KiB) and heap-allocated.
 *
 * Exit status: 0 ok; 1 no such process, unreadable region or error; 2 usage;
 * 3 the requested process's region is stale.
 */
#ifndef XSKSHIM_STAT_H
#define XSKSHIM_STAT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/if_xdp.h>

#include "shim/stats.h"

#define STAT_DIR     "/dev/shm"
#define STAT_PREFIX  "xskshim."
#define NOTES_MAX    8

enum reg_state { REG_LIVE, REG_STALE, REG_STARTING, REG_INVALID };

extern const char *const stat_drop_names[XSKSHIM_STATS_DROP_CNT];
extern const char *const stat_xdp_names[XSKSHIM_STATS_XDP_CNT];
extern const char *const stat_tx_why_names[XSKSHIM_STATS_TX_WHY_CNT];
extern const char *const stat_state_names[];    /* "live", "STALE", ... */
extern const char *const stat_state_json[];     /* "live", "stale", ... */

/* One read of one region, plus what was fetched from the live process. */
struct snap {
	int      pid;                 /* from the file name */
	char     path[64];
	enum reg_state state;
	bool     valid;               /* h holds a validated copy */
	char     state_why[160];      /* why STALE/INVALID/STARTING */
	uint32_t version_found;
	double   uptime_s;            /* of the process, -1 unknown */
	struct xskshim_stats_hdr h;   /* the copy */
	/* XDP_STATISTICS per (socket record, queue index) */
	struct xdp_statistics xs[XSKSHIM_STATS_SOCKS][XSKSHIM_STATS_QUEUES];
	bool     xs_ok[XSKSHIM_STATS_SOCKS][XSKSHIM_STATS_QUEUES];
	bool     xs_tried;
	char     xs_err[200];         /* why XDP_STATISTICS are missing ("" if none) */
	/* ring occupancy: entries on each AF_XDP socket's RX ring (waiting for
	 * the reader), frames posted on the fill rings (for the kernel) */
	uint32_t rx_ring[XSKSHIM_STATS_SOCKS][XSKSHIM_STATS_QUEUES];
	bool     rx_ring_ok[XSKSHIM_STATS_SOCKS][XSKSHIM_STATS_QUEUES];
	uint64_t fill_posted;
	int      fill_rings;          /* fill rings read, -1 not tried */
	char     rings_err[200];
	/* XDP program per-CPU counters, summed */
	uint64_t ctrs[XSKSHIM_STATS_XDP_CNT];
	bool     ctrs_ok;
	int      ctrs_cpus;
	char     ctrs_err[200];
	char     notes[NOTES_MAX][200];
	int      note_cnt;
	double   t;                   /* CLOCK_MONOTONIC of the read */
};

/* Every region in STAT_DIR, loaded. */
struct list_ent {
	int pid;
	struct snap *s;
};

/* Per-process sums over its socket records. */
struct snap_sums {
	uint32_t socks, accel;
	uint64_t rx_xdp, rx_kernel, drops;
};

/* ---- collect.c ---- */
double stat_mono_now(void);
void stat_sigbus_install(void);
/* Read region `path` of `pid` into s (allocated by the caller).  For a live
 * process with details, also fetch XDP_STATISTICS and the BPF counters.
 * 0 (s->state says what was found) or -errno when the file vanished or
 * cannot be opened. */
int snap_load(struct snap *s, const char *path, int pid, bool details);
void region_path(char *buf, size_t sz, int pid);
int region_scan(int **out);                       /* sorted pids, count or -errno */
int list_load(struct list_ent **out, bool details); /* count or -errno; prints why */
void list_free(struct list_ent *v, int n);
const struct snap *list_find(const struct list_ent *v, int n, const struct snap *s);
uint64_t ctr_drops(const struct xskshim_stats_ctr *c);
const struct xskshim_stats_sock *prev_rec(const struct snap *prev, const struct snap *s, uint32_t i);
double rate_of(uint64_t now, uint64_t then, double dt);
void snap_sum(const struct snap *s, struct snap_sums *out);

/* ---- text.c ---- */
void text_show_one(const struct snap *s, const struct snap *prev);
void text_show_list(const struct list_ent *v, int n, const struct list_ent *pv, int pn, double dt);

/* ---- json.c ---- */
void json_show_one(const struct snap *s, const struct snap *prev);
void json_show_list(const struct list_ent *v, int n, const struct list_ent *pv, int pn, double dt);

/* ---- prom.c ---- */
/* One scrape of the snapshots in the Prometheus text exposition format. */
void prom_write(FILE *f, const struct list_ent *v, int n);
/* Write it to DIR/xskshim.prom atomically (temporary file + rename). 0 or -errno. */
int prom_textfile(const char *dir, const struct list_ent *v, int n);

#endif /* XSKSHIM_STAT_H */
