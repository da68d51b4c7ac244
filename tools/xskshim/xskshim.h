/* xskshim.h - the `xskshim` launcher, as `onload` is for OpenOnload.
 *
 *   xskshim [-i IFACE] [-p PORTS] [--mode M] [--stats] [...] [--] PROGRAM [ARGS...]
 *   xskshim check -i IFACE -p PORTS [--mode M] [--zerocopy Z] [--frames N]
 *
 * Design note
 * -----------
 * The launcher turns options into the XSKSHIM_* environment, puts
 * libxskshim.so first in LD_PRELOAD (keeping what was there) and execs the
 * program: the program's exit status is its own, since nothing is left to
 * report it.  Option parsing stops at `--` or at the first argument that is
 * not an option, so the program's own options are never read.  The library
 * is the one beside the launcher when it runs from a build tree
 * (build/xskshim next to build/libxskshim.so), otherwise the installed one
 * (XSKSHIM_LIBDIR, fixed at build time), or --lib.
 *
 * `check` starts nothing and changes nothing: it reads the facts the shim
 * will meet at its first bind - the interface, its driver, its XDP features
 * (netdev generic netlink, kernel 6.3+), its RX queues (ethtool), an XDP
 * program already attached (bpf_xdp_query; its name needs CAP_SYS_ADMIN),
 * this process's capabilities, RLIMIT_MEMLOCK against the UMEM size - and
 * says, line by line, whether acceleration would work and why not.  It
 * checks the capabilities of the process running it, which are the
 * program's when the launcher execs it.
 *
 * Written in C, not shell: `check` needs bpf_xdp_query, a generic netlink
 * query, ethtool ioctls and capget, which a script could only get by parsing
 * the output of four other tools whose formats vary by version.
 *
 * Modules: main.c (options, usage), launch.c (library, environment, exec),
 * probe.c (facts about this host, no output), check.c (judging them, the
 * report).  Single-threaded; no privileges needed except to see more in
 * `check` (a foreign program's name).
 *
 * Exit status: the program's own; 2 usage; 126 the program cannot be run;
 * 127 not found; check: 0 would be accelerated, 1 would not, 2 usage.
 */
#ifndef XSKSHIM_LAUNCHER_H
#define XSKSHIM_LAUNCHER_H

#include <stdbool.h>
#include <stdint.h>

#define LAUNCH_ENV_MAX 32

struct launch_opts {
	const char *iface;
	const char *ports;
	const char *mode;           /* auto|native|skb */
	const char *zerocopy;       /* auto|on|off */
	const char *queues;
	const char *frames;
	const char *log;
	const char *busy_poll;
	bool stats;
	bool require;
	bool dry_run;
	const char *lib;            /* --lib, or NULL: found by launch_lib_path */
	const char *env[LAUNCH_ENV_MAX]; /* --env XSKSHIM_NAME=VALUE */
	int env_cnt;
};

/* ---- launch.c ---- */
/* The library to preload into buf: --lib, the build tree's, or the
 * installed one.  0, or -ENOENT with buf naming what was looked for. */
int launch_lib_path(const struct launch_opts *o, char *buf, size_t sz);
/* Set the environment and exec argv[0] (PATH searched).  Returns only on
 * failure, with the exit status to use (126/127) after saying why. */
int launch_exec(const struct launch_opts *o, char **argv);

/* ---- probe.c ---- */
struct probe_iface {
	int ifindex;                /* 0: no such interface */
	bool up;
	char driver[32];            /* "" unknown */
	int rx_queues;              /* -1 unknown */
	int xdp_features_known;     /* 1 known, 0 not (old kernel), -errno error */
	uint64_t xdp_features;      /* NETDEV_XDP_ACT_* */
	uint32_t xdp_prog_id;       /* attached XDP program, 0 none */
	uint8_t xdp_attach_mode;    /* XDP_ATTACHED_* */
	char xdp_prog_name[32];     /* "" when it could not be read */
};

#define PROBE_XDP_ACT_BASIC        (1ull << 0)
#define PROBE_XDP_ACT_REDIRECT     (1ull << 1)
#define PROBE_XDP_ACT_XSK_ZEROCOPY (1ull << 3)

void probe_iface(const char *name, struct probe_iface *out);
bool probe_cap(int cap);                       /* in this process's effective set */
int probe_memlock(uint64_t *soft);             /* RLIMIT_MEMLOCK, UINT64_MAX unlimited */

/* ---- check.c ---- */
int check_run(const struct launch_opts *o);

/* ---- main.c ---- */
/* "8001,8002,9000-9010": 0, or -EINVAL with why set. */
int ports_parse(const char *s, char *why, size_t sz);

#endif /* XSKSHIM_LAUNCHER_H */
