/* test_bpf.c - the XDP program (bpf/xskshim.bpf.c) under BPF_PROG_TEST_RUN.
 *
 * Crafted frames go through the real program; for each we check the return
 * value and that exactly the expected per-CPU reason counter moved by one.
 *
 *   1. table of single frames: every ethertype, VLAN tags, IPv4 options,
 *      fragments, bad headers, IPv6 extension headers, mapped/unmapped
 *      ports, exact/wildcard addresses, invalid groups, martian and
 *      multicast addresses (with the loopback exemption on ingress
 *      ifindex 1), foreign destination MACs and VLAN IDs, local and
 *      non-local destinations of wildcard matches, broadcasts - each run
 *      through two loads of the program: the default one (cfg_flags 0)
 *      and a configured one (.rodata set before load: XSKSHIM_CFG_CHECK_MAC
 *      with cfg_mac, _CHECK_VLAN with VID 100, _CHECK_LOCAL with the
 *      `locals` trie filled from locals_tab), which share every map;
 *   2. truncation of several frames at every length from 0 up (lengths
 *      below ETH_HLEN are reached by putting the missing bytes in XDP
 *      metadata, which the test-run API requires to be present);
 *   3. in a private network namespace with a veth pair: a real AF_XDP
 *      socket in the XSKMAP, so the actual redirect decision is checked
 *      (exact before wildcard, SO_REUSEPORT group member choice by the flow
 *      hash, RX queue index, queue index >= XSKSHIM_QUEUE_MAX);
 *   4. random and mutated frames, through both loads: the program agrees
 *      with a reference model of its specification (which knows the
 *      configuration and locals_tab), never matches a frame the validator
 *      (ring_frame_parse) calls not ours or truncated in its headers, and
 *      matches every frame the validator accepts whose port is mapped.
 *
 * Needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN for setns).  Without
 * them everything prints SKIP and the test succeeds.
 *
 * Environment: XSKSHIM_TEST_NETNS names the namespace to create (t_bpf.sh
 * passes one so its trap can clean up after a kill -9), XSKSHIM_SEED the
 * mutation seed, XSKSHIM_MUTATIONS the mutation count, XSKSHIM_VERBOSE=1
 * libbpf's log.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/if_xdp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "bpf/xskshim_bpf.h"
#include "ring/ring.h"
#include "xskshim.skel.h"

/* ---------------------------------------------------------------------- */
/* Reporting                                                               */
/* ---------------------------------------------------------------------- */

static int n_pass, n_fail, n_skip;

static void report(const char *tag, int *cnt, const char *fmt, va_list ap)
{
	printf("%s: ", tag);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	(*cnt)++;
}

static void __attribute__((format(printf, 2, 3))) check(bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(ok ? "PASS" : "FAIL", ok ? &n_pass : &n_fail, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 1, 2))) skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("SKIP", &n_skip, fmt, ap);
	va_end(ap);
}

static const char *const ctr_names[XSKSHIM_CTR_CNT] = { XSKSHIM_CTR_NAMES };
static const char *const frame_err_names[RING_FRAME_ERR_CNT] = { RING_FRAME_ERR_NAMES };

static const char *frame_err_name(int err)
{
	return err <= 0 && -err < RING_FRAME_ERR_CNT ? frame_err_names[-err] : "?";
}

/* ---------------------------------------------------------------------- */
/* Network namespace fixture, cleaned up on every exit path                */
/* ---------------------------------------------------------------------- */

static char ns_name[40];
static volatile sig_atomic_t ns_created;
static const char *ip_path;

/* fork + execv + waitpid: usable from the signal handler too. */
static int run_ip(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(ip_path, argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void ns_cleanup(void)
{
	char *argv[] = { "ip", "netns", "del", ns_name, NULL };

	if (!ns_created)
		return;
	ns_created = 0;
	run_ip(argv);
}

static void on_signal(int sig)
{
	ns_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int ipf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run "ip ARGS" with ARGS split on spaces (no quoting needed here). */
static int ipf(const char *fmt, ...)
{
	char line[256], *argv[32], *save = NULL, *tok;
	int argc = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	argv[argc++] = "ip";
	for (tok = strtok_r(line, " ", &save); tok && argc < 31; tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	return run_ip(argv);
}

#define NS_IF      "xsa"   /* AF_XDP socket on queue 0; 72 RX queues */
#define NS_PEER    "xsb"
#define NS_RXQ     72

static int ns_ifindex;
/* Ingress of the "from the wire" test runs: the veth once the namespace
 * exists.  A test run without an ingress device runs on `lo` (ifindex 1 as
 * the program sees it), where loopback addresses are not martian and the
 * locality check is skipped. */
static int wire_ifindex;

/* Create the namespace and the veth pair inside it, then enter it.
 * Returns 0, or -1 with *why set. */
static int ns_setup(const char **why)
{
	static const char *const ips[] = { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" };
	const char *env = getenv("XSKSHIM_TEST_NETNS");
	char path[80];
	unsigned i;
	int fd;

	for (i = 0; i < sizeof(ips) / sizeof(ips[0]); i++)
		if (access(ips[i], X_OK) == 0) {
			ip_path = ips[i];
			break;
		}
	if (!ip_path) {
		*why = "iproute2 'ip' not found";
		return -1;
	}
	if (env && *env && strlen(env) < sizeof(ns_name) &&
	    strspn(env, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == strlen(env)) {
		snprintf(ns_name, sizeof(ns_name), "%s", env);
	} else {
		uint32_t r;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (uint32_t)getpid() * 2654435761u ^ (uint32_t)time(NULL);
		snprintf(ns_name, sizeof(ns_name), "xsb-%08x", r);
	}

	atexit(ns_cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGQUIT, on_signal);
	signal(SIGSEGV, on_signal);
	signal(SIGABRT, on_signal);
	signal(SIGBUS, on_signal);

	if (ipf("netns add %s", ns_name) != 0) {
		*why = "'ip netns add' failed (no CAP_SYS_ADMIN?)";
		return -1;
	}
	ns_created = 1;
	if (ipf("-n %s link add " NS_IF " numtxqueues 1 numrxqueues %d type veth peer name " NS_PEER,
		ns_name, NS_RXQ) != 0) {
		*why = "creating the veth pair failed";
		return -1;
	}
	if (ipf("-n %s link set lo up", ns_name) != 0 ||
	    ipf("-n %s link set " NS_IF " up", ns_name) != 0 ||
	    ipf("-n %s link set " NS_PEER " up", ns_name) != 0) {
		*why = "setting the links up failed";
		return -1;
	}
	snprintf(path, sizeof(path), "/run/netns/%s", ns_name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*why = "cannot open the namespace";
		return -1;
	}
	if (setns(fd, CLONE_NEWNET) != 0) {
		close(fd);
		*why = "setns failed";
		return -1;
	}
	close(fd);
	ns_ifindex = (int)if_nametoindex(NS_IF);
	if (!ns_ifindex) {
		*why = "veth not visible after setns";
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Program, maps, test runs                                                */
/* ---------------------------------------------------------------------- */

static struct xskshim *skel, *skel_cfg;
static int prog_fd, ports_fd, xsks_fd, ctrs_fd, locals_fd, ncpus;
static int prog_fd_plain, prog_fd_cfg = -1;

/* The configuration of the loaded program prog_fd refers to (the model's
 * view of .rodata). */
struct model_cfg {
	uint32_t flags;
	uint8_t  mac[6];
	uint64_t vlan_ids[64];
	const char *name;
};
static const struct model_cfg cfg_plain = { .name = "default" };
static const struct model_cfg cfg_set = {
	.flags = XSKSHIM_CFG_CHECK_MAC | XSKSHIM_CFG_CHECK_LOCAL | XSKSHIM_CFG_CHECK_VLAN,
	.mac = { 2, 0, 0, 0, 0, 0x0b },
	.vlan_ids = { [100 / 64] = 1ull << (100 % 64) },
	.name = "configured",
};
static const struct model_cfg *cur = &cfg_plain;

/* Switch the program under test; false if the configured one is missing. */
static bool use_prog(const struct model_cfg *c)
{
	if (c == &cfg_set && prog_fd_cfg < 0)
		return false;
	cur = c;
	prog_fd = c == &cfg_set ? prog_fd_cfg : prog_fd_plain;
	return true;
}
static bool xsk_present[XSKSHIM_XSKMAP_SZ];  /* mirror of the XSKMAP */
static int xsk_fd = -1;

static void ctrs_read(uint64_t out[XSKSHIM_CTR_CNT])
{
	uint64_t vals[ncpus];
	uint32_t k;
	int c;

	for (k = 0; k < XSKSHIM_CTR_CNT; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(ctrs_fd, &k, vals) != 0)
			continue;
		for (c = 0; c < ncpus; c++)
			out[k] += vals[c];
	}
}

struct run_res {
	int      err;                    /* test-run syscall result */
	uint32_t retval;                 /* XDP action */
	int      ctr;                    /* the counter that moved, or -1 */
	int      moved;                  /* how many counters moved */
	uint64_t delta[XSKSHIM_CTR_CNT];
};

/* The test-run API wants at least ETH_HLEN bytes of packet data.  A frame
 * shorter than that is presented in one of two ways, whichever the kernel
 * takes:
 *   SHORT_FRAGS: data_end = len with the rest of 14 bytes in a fragment
 *     (kernels with non-linear XDP test runs, e.g. 6.18.y); the program only
 *     sees the linear part, which is exactly the short frame;
 *   SHORT_META: the missing bytes before the frame as XDP metadata (older
 *     kernels checked data_size_in, metadata included, against ETH_HLEN).
 * If neither works, short frames are reported as not testable. */
enum { SHORT_UNKNOWN, SHORT_FRAGS, SHORT_META, SHORT_NONE };
static int short_mode = SHORT_UNKNOWN;
#define META_PAD 16

static int test_run(const uint8_t *frame, uint32_t len, int ifindex, uint32_t queue, int mode,
		    uint32_t *retval)
{
	static uint8_t in[META_PAD + 4096], out[META_PAD + 4096 + 512];
	struct xdp_md md = { 0 };
	uint32_t meta = 0, size = len;
	LIBBPF_OPTS(bpf_test_run_opts, o);

	if (len < 14 && mode == SHORT_META)
		meta = META_PAD;
	if (len < 14 && mode == SHORT_FRAGS)
		size = 14;
	memset(in, 0, META_PAD + 14);
	memcpy(in + meta, frame, len);
	md.data = meta;
	md.data_end = meta + len;
	md.ingress_ifindex = (uint32_t)ifindex;
	md.rx_queue_index = queue;

	o.data_in = in;
	o.data_size_in = meta + size;
	o.data_out = out;
	o.data_size_out = sizeof(out);
	o.ctx_in = &md;
	o.ctx_size_in = sizeof(md);
	o.repeat = 1;
	if (bpf_prog_test_run_opts(prog_fd, &o) != 0)
		return -errno;
	*retval = o.retval;
	return 0;
}

/* Run one frame through the program.  ifindex 0 means no ingress device
 * (then queue must be 0).  r->err is -EOPNOTSUPP for a frame shorter than
 * ETH_HLEN on a kernel that cannot test-run those. */
static void run_frame(const uint8_t *frame, uint32_t len, int ifindex, uint32_t queue,
		      struct run_res *r)
{
	uint64_t before[XSKSHIM_CTR_CNT], after[XSKSHIM_CTR_CNT];
	uint32_t k;

	memset(r, 0, sizeof(*r));
	r->ctr = -1;
	if (len > 4096) {
		r->err = -E2BIG;
		return;
	}
	if (len < 14 && short_mode == SHORT_NONE) {
		r->err = -EOPNOTSUPP;
		return;
	}
	ctrs_read(before);
	if (len >= 14) {
		r->err = test_run(frame, len, ifindex, queue, SHORT_UNKNOWN, &r->retval);
	} else if (short_mode != SHORT_UNKNOWN) {
		r->err = test_run(frame, len, ifindex, queue, short_mode, &r->retval);
	} else {
		short_mode = SHORT_FRAGS;
		r->err = test_run(frame, len, ifindex, queue, short_mode, &r->retval);
		if (r->err == -EINVAL) {
			short_mode = SHORT_META;
			r->err = test_run(frame, len, ifindex, queue, short_mode, &r->retval);
		}
		if (r->err == -EINVAL) {
			short_mode = SHORT_NONE;
			r->err = -EOPNOTSUPP;
		}
		printf("frames shorter than ETH_HLEN are test-run %s\n",
		       short_mode == SHORT_FRAGS ? "as linear part + fragment" :
		       short_mode == SHORT_META ? "behind XDP metadata" : "not at all (kernel refuses)");
	}
	ctrs_read(after);
	for (k = 0; k < XSKSHIM_CTR_CNT; k++) {
		r->delta[k] = after[k] - before[k];
		if (r->delta[k]) {
			r->moved++;
			r->ctr = (int)k;
		}
	}
}

static const char *ctr_name(int c)
{
	return c >= 0 && c < XSKSHIM_CTR_CNT ? ctr_names[c] : "none";
}

static uint32_t action_for(int ctr)
{
	return ctr == XSKSHIM_CTR_REDIRECT ? XDP_REDIRECT : XDP_PASS;
}

/* True iff the run succeeded, returned the action implied by ctr and moved
 * exactly that counter by one. */
static bool run_ok(const struct run_res *r, int ctr)
{
	return r->err == 0 && r->retval == action_for(ctr) && r->moved == 1 &&
	       r->ctr == ctr && r->delta[ctr] == 1;
}

static void run_describe(const struct run_res *r, char *buf, size_t sz)
{
	if (r->err)
		snprintf(buf, sz, "test run failed: %s", strerror(-r->err));
	else
		snprintf(buf, sz, "ret %u, %d counter(s) moved, last %s", r->retval, r->moved,
			 ctr_name(r->ctr));
}

/* ---------------------------------------------------------------------- */
/* Frame construction                                                      */
/* ---------------------------------------------------------------------- */

#define ETH_P_IP_     0x0800
#define ETH_P_IPV6_   0x86dd
#define ETH_P_ARP_    0x0806
#define ETH_P_8021Q_  0x8100
#define ETH_P_8021AD_ 0x88a8

struct fspec {
	uint8_t  family;       /* 4, 6, or 0: raw ethertype with 28 zero bytes */
	uint16_t etype;        /* 0: from family */
	uint8_t  nvlan;
	uint16_t tpid[3];
	bool     tci_set;      /* tci[] verbatim; else VLAN ids 100, 101, 102 */
	uint16_t tci[3];
	const uint8_t *dmac;   /* destination MAC; NULL: 02:00:00:00:00:0b */
	uint8_t  ihl;          /* IPv4 IHL field; 0 means 5 unless ihl_raw */
	bool     ihl_raw;      /* write ihl verbatim (< 5: 20 bytes emitted) */
	uint8_t  version;      /* 0: from family */
	uint16_t frag;         /* IPv4 frag_off, host order */
	uint8_t  proto;        /* 0: UDP */
	uint16_t v6_ext;       /* IPv6: EXT(n) inserts an 8-byte header n */
	const uint8_t *saddr, *daddr;
	uint16_t sport, dport; /* host order */
	uint16_t paylen;
	uint16_t pad_to;       /* Ethernet padding: frame at least this long */
};

static const uint8_t A4_LOCAL[16] = { 198, 18, 0, 2 };
static const uint8_t A4_OTHER[16] = { 198, 18, 0, 3 };
static const uint8_t A4_SRC[16]   = { 198, 18, 0, 1 };
/* 2001:2::/48, the IPv6 benchmarking range (RFC 5180) */
static const uint8_t A6_LOCAL[16] = { 0x20, 0x01, 0, 2, [15] = 2 };
static const uint8_t A6_OTHER[16] = { 0x20, 0x01, 0, 2, [15] = 3 };
static const uint8_t A6_SRC[16]   = { 0x20, 0x01, 0, 2, [15] = 1 };
static const uint8_t A_ZERO[16];
/* more addresses for the address rules (martians, broadcast, multicast) */
static const uint8_t A4_BCAST[16]   = { 198, 18, 0, 255 };   /* locals_tab: bcast */
static const uint8_t A4_LBCAST[16]  = { 255, 255, 255, 255 };
static const uint8_t A4_ANYIP[16]   = { 198, 19, 128, 77 };  /* in a local /24 */
static const uint8_t A4_NOTLOC[16]  = { 198, 18, 0, 50 };    /* exact entry, not local */
static const uint8_t A4_LOOP[16]    = { 127, 0, 0, 1 };
static const uint8_t A4_LOOP2[16]   = { 127, 9, 8, 7 };
static const uint8_t A4_ZNET[16]    = { 0, 1, 2, 3 };
static const uint8_t A4_MC[16]      = { 224, 0, 0, 1 };
static const uint8_t A4_MC2[16]     = { 239, 1, 2, 3 };
static const uint8_t A4_CLASSE[16]  = { 240, 0, 0, 1 };
static const uint8_t A6_LOOP[16]    = { [15] = 1 };
static const uint8_t A6_MC[16]      = { 0xff, 0x02, [15] = 1 };
static const uint8_t A6_V4MAPPED[16] = { [10] = 0xff, [11] = 0xff, 198, 18, 0, 1 };
static const uint8_t A6_LL[16]      = { 0xfe, 0x80, [15] = 2 };   /* locals_tab */
static const uint8_t MAC_OTHER[6]   = { 2, 0, 0, 0, 0, 0x99 };
static const uint8_t MAC_BCAST[6]   = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MAC_MCAST[6]   = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t MAC_OURS_BUT_BYTE4[6] = { 2, 0, 0, 0, 0x01, 0x0b };

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t csum_add(uint32_t acc, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		acc += get16(p + i);
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	return acc;
}

static uint16_t csum_fin(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

/* Build the frame; returns its length.  *l3 and *l4 get the offsets of the
 * network and transport headers. */
static uint32_t build(const struct fspec *s, uint8_t *f, uint32_t *l3p, uint32_t *l4p)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 0x0b, 2, 0, 0, 0, 0, 0x0a };
	static const uint16_t tci_dflt[3] = { 100, 101, 102 };
	const uint16_t *tci = s->tci_set ? s->tci : tci_dflt;
	uint8_t proto = s->proto ? s->proto : 17;
	const uint8_t *sa = s->saddr ? s->saddr : (s->family == 6 ? A6_SRC : A4_SRC);
	const uint8_t *da = s->daddr ? s->daddr : (s->family == 6 ? A6_LOCAL : A4_LOCAL);
	uint16_t etype = s->etype ? s->etype : s->family == 4 ? ETH_P_IP_ :
			 s->family == 6 ? ETH_P_IPV6_ : ETH_P_ARP_;
	uint32_t off = 12, l3, l4, i, udp_len = 8u + s->paylen, len;
	uint32_t acc;

	memcpy(f, macs, 12);
	if (s->dmac)
		memcpy(f, s->dmac, 6);
	for (i = 0; i < s->nvlan; i++) {
		put16(f + off, s->tpid[i]);
		put16(f + off + 2, tci[i]);                  /* TCI: VLAN id */
		off += 4;
	}
	put16(f + off, etype);
	l3 = off + 2;

	if (s->family == 4) {
		uint8_t ihl = s->ihl || s->ihl_raw ? s->ihl : 5;
		uint32_t hl = (ihl < 5 ? 5u : ihl) * 4u;

		memset(f + l3, 0, hl);
		f[l3] = (uint8_t)((s->version ? s->version : 4) << 4 | ihl);
		put16(f + l3 + 2, (uint16_t)(hl + udp_len));
		put16(f + l3 + 4, 0x1234);
		put16(f + l3 + 6, s->frag);
		f[l3 + 8] = 64;
		f[l3 + 9] = proto;
		memcpy(f + l3 + 12, sa, 4);
		memcpy(f + l3 + 16, da, 4);
		for (i = 20; i < hl; i++)
			f[l3 + i] = 1;                      /* NOP options */
		put16(f + l3 + 10, csum_fin(csum_add(0, f + l3, hl)));
		l4 = l3 + hl;
		acc = csum_add(0, sa, 4) + csum_add(0, da, 4) + proto + udp_len;
	} else if (s->family == 6) {
		uint32_t ext = s->v6_ext ? 8 : 0;

		memset(f + l3, 0, 40 + ext);
		f[l3] = (uint8_t)((s->version ? s->version : 6) << 4);
		put16(f + l3 + 4, (uint16_t)(ext + udp_len));
		f[l3 + 6] = s->v6_ext ? (uint8_t)s->v6_ext : proto;
		f[l3 + 7] = 64;
		memcpy(f + l3 + 8, sa, 16);
		memcpy(f + l3 + 24, da, 16);
		if (ext) {
			f[l3 + 40] = proto;     /* next header; length 0 = 8 bytes */
			f[l3 + 42] = 1;         /* PadN, 4 bytes of padding */
			f[l3 + 43] = 4;
		}
		l4 = l3 + 40 + ext;
		acc = csum_add(0, sa, 16) + csum_add(0, da, 16) + proto + udp_len;
	} else {
		memset(f + l3, 0, 28);
		*l3p = *l4p = l3;
		len = l3 + 28;
		goto pad;
	}

	/* An 8-byte UDP header (for TCP/ICMP just 8 bytes that look like one). */
	put16(f + l4, s->sport);
	put16(f + l4 + 2, s->dport);
	put16(f + l4 + 4, (uint16_t)udp_len);
	put16(f + l4 + 6, 0);
	for (i = 0; i < s->paylen; i++)
		f[l4 + 8 + i] = (uint8_t)(0xa0 + i);
	if (proto == 17) {
		uint16_t c = csum_fin(csum_add(acc, f + l4, udp_len));

		put16(f + l4 + 6, c ? c : 0xffff);
	}
	*l3p = l3;
	*l4p = l4;
	len = l4 + udp_len;
pad:
	if (len < s->pad_to) {
		memset(f + len, 0, s->pad_to - len);
		len = s->pad_to;
	}
	return len;
}

/* ---------------------------------------------------------------------- */
/* Map contents                                                            */
/* ---------------------------------------------------------------------- */

enum {
	P_V4W     = 5000,   /* IPv4 wildcard, slot 10 */
	P_V4E     = 5001,   /* IPv4 198.18.0.2 only, slot 11 */
	P_V4EW    = 5002,   /* IPv4 198.18.0.2 -> slot 12, wildcard -> slot 13 */
	P_CNT0    = 5003,   /* slot_cnt 0 (invalid) */
	P_CNT17   = 5004,   /* slot_cnt 17 (invalid) */
	P_BIGSLOT = 5005,   /* slot 300: index beyond the XSKMAP */
	P_V4X     = 5006,   /* IPv4 198.18.0.50 only (not in locals_tab), slot 16 */
	P_V4MC    = 5007,   /* IPv4 239.1.2.3 only (bound to a group address), slot 17 */
	P_UNMAP   = 5999,
	P_V6W     = 6000,   /* IPv6 wildcard, slot 20 */
	P_V6E     = 6001,   /* IPv6 2001:2::2 only, slot 21 */
	P_V6UNMAP = 6999,
	P_DUAL    = 7000,   /* IPv6 + IPv4 wildcard (dual-stack socket), slot 22 */
	P_RP4     = 8000,   /* IPv4 wildcard, group of 4: slots 30..33 */
	P_RP6     = 8001,   /* IPv6 wildcard, group of 4: slots 40..43 */
};

#define S_V4EW_EXACT 12
#define S_V4EW_WILD  13
#define RP_SIZE      4
#define RP4_SLOT0    30
#define RP6_SLOT0    40

static int port_add(uint8_t family, uint16_t port, const uint8_t *addr, uint32_t cnt,
		    uint32_t first_slot)
{
	struct xskshim_port_key k = { .family = family, .port = htons(port) };
	struct xskshim_port_val v = { .slot_cnt = cnt };
	uint32_t i;

	memcpy(k.addr, addr, family == 4 ? 4 : 16);
	for (i = 0; i < XSKSHIM_GROUP_MAX; i++)
		v.slots[i] = first_slot + i;
	return bpf_map_update_elem(ports_fd, &k, &v, BPF_ANY);
}

static int ports_fill(void)
{
	int err = 0;

	err |= port_add(4, P_V4W, A_ZERO, 1, 10);
	err |= port_add(4, P_V4E, A4_LOCAL, 1, 11);
	err |= port_add(4, P_V4EW, A4_LOCAL, 1, S_V4EW_EXACT);
	err |= port_add(4, P_V4EW, A_ZERO, 1, S_V4EW_WILD);
	err |= port_add(4, P_CNT0, A_ZERO, 0, 14);
	err |= port_add(4, P_CNT17, A_ZERO, XSKSHIM_GROUP_MAX + 1, 15);
	err |= port_add(4, P_BIGSLOT, A_ZERO, 1, 300);
	err |= port_add(4, P_V4X, A4_NOTLOC, 1, 16);
	err |= port_add(4, P_V4MC, A4_MC2, 1, 17);
	err |= port_add(6, P_V6W, A_ZERO, 1, 20);
	err |= port_add(6, P_V6E, A6_LOCAL, 1, 21);
	err |= port_add(6, P_DUAL, A_ZERO, 1, 22);
	err |= port_add(4, P_DUAL, A_ZERO, 1, 22);
	err |= port_add(4, P_RP4, A_ZERO, RP_SIZE, RP4_SLOT0);
	err |= port_add(6, P_RP6, A_ZERO, RP_SIZE, RP6_SLOT0);
	return err;
}

/* The local destinations (what `ip route show table local` would list);
 * filled into the `locals` trie and known to the model. */
static const struct local_ent {
	uint8_t family, plen;
	uint8_t addr[16];
	uint32_t kind;
} locals_tab[] = {
	{ 4, 32, { 198, 18, 0, 2 }, XSKSHIM_LOCAL_ADDR },
	{ 4, 32, { 198, 18, 0, 255 }, XSKSHIM_LOCAL_BCAST },
	{ 4, 24, { 198, 19, 128, 0 }, XSKSHIM_LOCAL_ADDR },   /* AnyIP: local 198.19.128.0/24 dev lo */
	{ 4, 8, { 127 }, XSKSHIM_LOCAL_ADDR },
	{ 6, 128, { 0x20, 0x01, 0, 2, [15] = 2 }, XSKSHIM_LOCAL_ADDR },
	{ 6, 128, { [15] = 1 }, XSKSHIM_LOCAL_ADDR },
	{ 6, 128, { 0xfe, 0x80, [15] = 2 }, XSKSHIM_LOCAL_ADDR },
};
#define LOCALS_CNT (sizeof(locals_tab) / sizeof(locals_tab[0]))

static int locals_fill(void)
{
	size_t i;

	for (i = 0; i < LOCALS_CNT; i++) {
		struct xskshim_local_key k = {
			.prefixlen = XSKSHIM_LOCAL_PREFIXLEN(locals_tab[i].plen),
			.family = locals_tab[i].family,
		};

		memcpy(k.addr, locals_tab[i].addr, 16);
		if (bpf_map_update_elem(locals_fd, &k, &locals_tab[i].kind, BPF_ANY) != 0)
			return -1;
	}
	return 0;
}

/* Longest-prefix match over locals_tab: the kind, or 0 if not local. */
static uint32_t model_local(uint8_t family, const uint8_t *a)
{
	uint32_t kind = 0;
	int best = -1;
	size_t i;

	for (i = 0; i < LOCALS_CNT; i++) {
		const struct local_ent *e = &locals_tab[i];
		unsigned b;
		bool match = e->family == family;

		for (b = 0; match && b < e->plen; b++)
			match = ((a[b / 8] ^ e->addr[b / 8]) >> (7 - b % 8) & 1) == 0;
		if (match && (int)e->plen > best) {
			best = e->plen;
			kind = e->kind;
		}
	}
	return kind;
}

static int xsk_put(uint32_t slot, uint32_t queue)
{
	uint32_t idx = slot * XSKSHIM_QUEUE_MAX + queue;
	int err = bpf_map_update_elem(xsks_fd, &idx, &xsk_fd, BPF_ANY);

	if (!err)
		xsk_present[idx] = true;
	return err;
}

static void xsk_del(uint32_t slot, uint32_t queue)
{
	uint32_t idx = slot * XSKSHIM_QUEUE_MAX + queue;

	bpf_map_delete_elem(xsks_fd, &idx);
	xsk_present[idx] = false;
}

/* ---------------------------------------------------------------------- */
/* Reference model of the program's specification                          */
/* ---------------------------------------------------------------------- */

static bool ipv6_ext(uint8_t nh)
{
	switch (nh) {
	case 0: case 43: case 44: case 50: case 51: case 60:
	case 135: case 139: case 140: case 253: case 254:
		return true;
	}
	return false;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* The address rules for a matched datagram (see xskshim_bpf.h): the
 * counter that passes it, or -1 if none does.  lo: arrived on ifindex 1. */
static int ref_addr_rules(uint8_t family, const uint8_t *sa, const uint8_t *da, bool wild,
			  uint32_t cnt, bool lo)
{
	bool bcast = false;

	if (family == 4) {
		uint32_t s = (uint32_t)sa[0] << 24 | sa[1] << 16 | sa[2] << 8 | sa[3];
		uint32_t d = (uint32_t)da[0] << 24 | da[1] << 16 | da[2] << 8 | da[3];

		if (s >= 0xe0000000u && s < 0xf0000000u)          /* 224/4 */
			return XSKSHIM_CTR_PASS_MARTIAN;
		if (s == 0xffffffffu)
			return XSKSHIM_CTR_PASS_MARTIAN;
		if (sa[0] == 0 && d != 0xffffffffu)                /* 0/8, but DHCP */
			return XSKSHIM_CTR_PASS_MARTIAN;
		if (da[0] == 0)
			return XSKSHIM_CTR_PASS_MARTIAN;
		if (!lo && (sa[0] == 127 || da[0] == 127))
			return XSKSHIM_CTR_PASS_MARTIAN;
		if (d >= 0xe0000000u && d < 0xf0000000u)
			return XSKSHIM_CTR_PASS_MCAST;
		bcast = d == 0xffffffffu;
	} else {
		if (sa[0] == 0xff)
			return XSKSHIM_CTR_PASS_MARTIAN;
		if (all_zero(sa, 16) || all_zero(da, 16))
			return XSKSHIM_CTR_PASS_MARTIAN;
		if (!lo && (!memcmp(sa, A6_LOOP, 16) || !memcmp(da, A6_LOOP, 16)))
			return XSKSHIM_CTR_PASS_MARTIAN;
		if (da[0] == 0xff)
			return XSKSHIM_CTR_PASS_MCAST;
	}
	if ((cur->flags & XSKSHIM_CFG_CHECK_LOCAL) && wild && !lo && !bcast) {
		uint32_t kind = model_local(family, da);

		if (!kind)
			return XSKSHIM_CTR_PASS_NOT_LOCAL;
		bcast = kind == XSKSHIM_LOCAL_BCAST;
	}
	if (bcast && cnt > 1)
		return XSKSHIM_CTR_PASS_MCAST;
	return -1;
}

/* The lookup half: returns the counter for a parsed UDP datagram. */
static int ref_lookup(uint8_t family, uint16_t dport_ne, const uint8_t *daddr, const uint8_t *saddr,
		      uint16_t sport_ne, uint32_t queue, int ifindex)
{
	struct xskshim_port_key k = { .family = family, .port = dport_ne };
	struct xskshim_port_val v;
	uint32_t idx, fold = 0, w, i;
	bool wild = false;
	int rule;

	memcpy(k.addr, daddr, family == 4 ? 4 : 16);
	if (bpf_map_lookup_elem(ports_fd, &k, &v) != 0) {
		memset(k.addr, 0, sizeof(k.addr));
		if (bpf_map_lookup_elem(ports_fd, &k, &v) != 0)
			return XSKSHIM_CTR_PASS_NO_PORT;
		wild = true;
	}
	if (v.slot_cnt == 0 || v.slot_cnt > XSKSHIM_GROUP_MAX)
		return XSKSHIM_CTR_PASS_NO_PORT;
	/* ifindex 0: a test run without an ingress device runs on `lo` */
	rule = ref_addr_rules(family, saddr, daddr, wild, v.slot_cnt, ifindex <= 1);
	if (rule >= 0)
		return rule;
	if (queue >= XSKSHIM_QUEUE_MAX)
		return XSKSHIM_CTR_PASS_QUEUE;
	for (i = 0; i < (family == 4 ? 1u : 4u); i++) {
		memcpy(&w, saddr + 4 * i, 4);
		fold ^= w;
	}
	idx = v.slots[xskshim_flow_hash(fold, sport_ne, dport_ne) % v.slot_cnt] *
	      XSKSHIM_QUEUE_MAX + queue;
	return idx < XSKSHIM_XSKMAP_SZ && xsk_present[idx] ? XSKSHIM_CTR_REDIRECT
							    : XSKSHIM_CTR_NO_XSK;
}

/* What the program must count for this frame, arriving on ifindex; *hdr_end
 * gets the end of the UDP header when the frame reaches the lookup. */
static int ref_classify(const uint8_t *f, uint32_t len, uint32_t queue, int ifindex,
			uint32_t *hdr_end)
{
	uint32_t off = 14, i;
	uint16_t et, sport, dport;
	uint8_t daddr[16] = { 0 }, saddr[16] = { 0 };
	uint8_t family;
	bool vid_seen = false;

	*hdr_end = 0;
	if (len < 14)
		return XSKSHIM_CTR_PASS_TRUNC;
	if ((cur->flags & XSKSHIM_CFG_CHECK_MAC) && !(f[0] & 1) && memcmp(f, cur->mac, 6))
		return XSKSHIM_CTR_PASS_OTHER_HOST;
	et = get16(f + 12);
	for (i = 0; i < 2 && (et == ETH_P_8021Q_ || et == ETH_P_8021AD_); i++) {
		uint16_t vid;

		if (len < off + 4)
			return XSKSHIM_CTR_PASS_TRUNC;
		vid = get16(f + off) & 0xfff;
		if ((cur->flags & XSKSHIM_CFG_CHECK_VLAN) && vid) {
			if (vid_seen || et != ETH_P_8021Q_ || !(cur->vlan_ids[vid / 64] >> (vid % 64) & 1))
				return XSKSHIM_CTR_PASS_OTHER_HOST;
			vid_seen = true;
		}
		et = get16(f + off + 2);
		off += 4;
	}
	if (et == ETH_P_IP_) {
		if (len < off + 20)
			return XSKSHIM_CTR_PASS_TRUNC;
		if ((f[off] >> 4) != 4 || (f[off] & 15) < 5)
			return XSKSHIM_CTR_PASS_BAD_HDR;
		if (get16(f + off + 6) & 0x3fff)
			return XSKSHIM_CTR_PASS_FRAG;
		if (f[off + 9] != 17)
			return XSKSHIM_CTR_PASS_NOT_UDP;
		if ((f[off] & 15) != 5)
			return XSKSHIM_CTR_PASS_IP_OPTS;
		if (len < off + 28)
			return XSKSHIM_CTR_PASS_TRUNC;
		family = 4;
		memcpy(saddr, f + off + 12, 4);
		memcpy(daddr, f + off + 16, 4);
		off += 20;
	} else if (et == ETH_P_IPV6_) {
		if (len < off + 40)
			return XSKSHIM_CTR_PASS_TRUNC;
		if ((f[off] >> 4) != 6)
			return XSKSHIM_CTR_PASS_BAD_HDR;
		if (f[off + 6] != 17)
			return ipv6_ext(f[off + 6]) ? XSKSHIM_CTR_PASS_IPV6_EXT
						    : XSKSHIM_CTR_PASS_NOT_UDP;
		if (len < off + 48)
			return XSKSHIM_CTR_PASS_TRUNC;
		family = 6;
		memcpy(saddr, f + off + 8, 16);
		memcpy(daddr, f + off + 24, 16);
		off += 40;
	} else {
		return XSKSHIM_CTR_PASS_NOT_IP;
	}
	*hdr_end = off + 8;
	memcpy(&sport, f + off, 2);
	memcpy(&dport, f + off + 2, 2);
	i = (uint32_t)ref_lookup(family, dport, daddr, saddr, sport, queue, ifindex);
	/* a matched frame no UMEM frame holds goes to the kernel */
	if ((i == XSKSHIM_CTR_REDIRECT || i == XSKSHIM_CTR_NO_XSK) && len > XSKSHIM_RX_FRAME_MAX)
		return XSKSHIM_CTR_PASS_TOO_BIG;
	return (int)i;
}

/* ---------------------------------------------------------------------- */
/* 1. Table of single frames                                               */
/* ---------------------------------------------------------------------- */

struct tcase {
	const char  *what;
	struct fspec s;
	int          expect;     /* counter, default program */
	int          cfg;        /* CFG(counter) under the configured one; 0: the same */
	int          ifindex;    /* ingress: 0 (none) or LO */
};
/* cfg and ifindex are mostly left out */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define CFG(c)  .cfg = (c) + 1
#define LO      .ifindex = 1
#define TQ(id, ...) { .nvlan = 1, .tpid = { ETH_P_8021Q_ }, .tci_set = true, .tci = { id }, __VA_ARGS__ }

#define V4(...)  { .family = 4, __VA_ARGS__ }
#define V6(...)  { .family = 6, __VA_ARGS__ }
#define EXT(n)   (0x100 | (n))

static const struct tcase table[] = {
	{ "IPv4 UDP to a mapped port (wildcard), XSK slot empty", V4(.dport = P_V4W, .sport = 1234, .paylen = 16), XSKSHIM_CTR_NO_XSK },
	{ "IPv4 UDP to an unmapped port", V4(.dport = P_UNMAP, .sport = 1234), XSKSHIM_CTR_PASS_NO_PORT },
	{ "IPv4 UDP to the byte-swapped mapped port (key is network order)", V4(.dport = 0x8813, .sport = 1234), XSKSHIM_CTR_PASS_NO_PORT },
	{ "IPv4 UDP to a port mapped for IPv6 only", V4(.dport = P_V6W, .sport = 1234), XSKSHIM_CTR_PASS_NO_PORT },
	{ "IPv4 UDP, empty payload", V4(.dport = P_V4W, .sport = 1), XSKSHIM_CTR_NO_XSK },
	{ "IPv4 UDP with Ethernet padding to 60 bytes", V4(.dport = P_V4W, .sport = 1, .pad_to = 60), XSKSHIM_CTR_NO_XSK },
	{ "IPv4 UDP, DF set (not a fragment)", V4(.dport = P_V4W, .sport = 1, .frag = 0x4000), XSKSHIM_CTR_NO_XSK },
	{ "IPv6 UDP to a mapped port (wildcard)", V6(.dport = P_V6W, .sport = 1234, .paylen = 16), XSKSHIM_CTR_NO_XSK },
	{ "IPv6 UDP to an unmapped port", V6(.dport = P_V6UNMAP, .sport = 1234), XSKSHIM_CTR_PASS_NO_PORT },
	{ "IPv6 UDP to a port mapped for IPv4 only", V6(.dport = P_V4W, .sport = 1234), XSKSHIM_CTR_PASS_NO_PORT },
	{ "dual-stack entry matches IPv4", V4(.dport = P_DUAL, .sport = 9), XSKSHIM_CTR_NO_XSK },
	{ "dual-stack entry matches IPv6", V6(.dport = P_DUAL, .sport = 9), XSKSHIM_CTR_NO_XSK },
	{ "IPv4, one 802.1Q tag", V4(.nvlan = 1, .tpid = { ETH_P_8021Q_ }, .dport = P_V4W, .sport = 7), XSKSHIM_CTR_NO_XSK },
	{ "IPv4, one 802.1ad tag", V4(.nvlan = 1, .tpid = { ETH_P_8021AD_ }, .dport = P_V4W, .sport = 7), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },
	{ "IPv4, 802.1ad + 802.1Q tags (QinQ)", V4(.nvlan = 2, .tpid = { ETH_P_8021AD_, ETH_P_8021Q_ }, .dport = P_V4W, .sport = 7), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },
	{ "IPv4, 802.1Q + 802.1Q tags", V4(.nvlan = 2, .tpid = { ETH_P_8021Q_, ETH_P_8021Q_ }, .dport = P_V4W, .sport = 7), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },
	{ "IPv4, 802.1ad + 802.1ad tags", V4(.nvlan = 2, .tpid = { ETH_P_8021AD_, ETH_P_8021AD_ }, .dport = P_V4W, .sport = 7), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },
	{ "IPv4, two tags, unmapped port", V4(.nvlan = 2, .tpid = { ETH_P_8021AD_, ETH_P_8021Q_ }, .dport = P_UNMAP, .sport = 7), XSKSHIM_CTR_PASS_NO_PORT, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },
	{ "IPv4, three tags (not parsed)", V4(.nvlan = 3, .tpid = { ETH_P_8021AD_, ETH_P_8021Q_, ETH_P_8021Q_ }, .dport = P_V4W, .sport = 7), XSKSHIM_CTR_PASS_NOT_IP, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },
	{ "IPv6, one 802.1Q tag", V6(.nvlan = 1, .tpid = { ETH_P_8021Q_ }, .dport = P_V6W, .sport = 7), XSKSHIM_CTR_NO_XSK },
	{ "IPv6, 802.1ad + 802.1Q tags", V6(.nvlan = 2, .tpid = { ETH_P_8021AD_, ETH_P_8021Q_ }, .dport = P_V6W, .sport = 7), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },
	{ "IPv4 first fragment (MF)", V4(.dport = P_V4W, .sport = 1, .frag = 0x2000), XSKSHIM_CTR_PASS_FRAG },
	{ "IPv4 middle fragment (MF + offset)", V4(.dport = P_V4W, .sport = 1, .frag = 0x2000 | 185), XSKSHIM_CTR_PASS_FRAG },
	{ "IPv4 last fragment (offset, no MF)", V4(.dport = P_V4W, .sport = 1, .frag = 185), XSKSHIM_CTR_PASS_FRAG },
	{ "IPv4 fragment with DF and offset 1", V4(.dport = P_V4W, .sport = 1, .frag = 0x4001), XSKSHIM_CTR_PASS_FRAG },
	{ "IPv4 IHL 0", V4(.ihl = 0, .ihl_raw = true, .dport = P_V4W), XSKSHIM_CTR_PASS_BAD_HDR },
	{ "IPv4 IHL 1", V4(.ihl = 1, .ihl_raw = true, .dport = P_V4W), XSKSHIM_CTR_PASS_BAD_HDR },
	{ "IPv4 IHL 4", V4(.ihl = 4, .ihl_raw = true, .dport = P_V4W), XSKSHIM_CTR_PASS_BAD_HDR },
	{ "version 6 in an IPv4 ethertype", V4(.version = 6, .dport = P_V4W), XSKSHIM_CTR_PASS_BAD_HDR },
	{ "version 4 in an IPv6 ethertype", V6(.version = 4, .dport = P_V6W), XSKSHIM_CTR_PASS_BAD_HDR },
	{ "IPv6 hop-by-hop extension header before UDP", V6(.v6_ext = EXT(0), .dport = P_V6W), XSKSHIM_CTR_PASS_IPV6_EXT },
	{ "IPv6 routing header before UDP", V6(.v6_ext = EXT(43), .dport = P_V6W), XSKSHIM_CTR_PASS_IPV6_EXT },
	{ "IPv6 fragment header before UDP", V6(.v6_ext = EXT(44), .dport = P_V6W), XSKSHIM_CTR_PASS_IPV6_EXT },
	{ "IPv6 destination options before UDP", V6(.v6_ext = EXT(60), .dport = P_V6W), XSKSHIM_CTR_PASS_IPV6_EXT },
	{ "IPv6 hop-by-hop to an unmapped port", V6(.v6_ext = EXT(0), .dport = P_V6UNMAP), XSKSHIM_CTR_PASS_IPV6_EXT },
	{ "ARP", { .family = 0, .etype = ETH_P_ARP_ }, XSKSHIM_CTR_PASS_NOT_IP },
	{ "LLDP", { .family = 0, .etype = 0x88cc }, XSKSHIM_CTR_PASS_NOT_IP },
	{ "802.3 length field instead of an ethertype", { .family = 0, .etype = 0x002e }, XSKSHIM_CTR_PASS_NOT_IP },
	{ "MPLS", { .family = 0, .etype = 0x8847 }, XSKSHIM_CTR_PASS_NOT_IP },
	{ "ARP behind an 802.1Q tag", { .family = 0, .etype = ETH_P_ARP_, .nvlan = 1, .tpid = { ETH_P_8021Q_ } }, XSKSHIM_CTR_PASS_NOT_IP },
	{ "IPv4 TCP to a mapped port number", V4(.proto = 6, .dport = P_V4W), XSKSHIM_CTR_PASS_NOT_UDP },
	{ "IPv4 ICMP", V4(.proto = 1, .dport = P_V4W), XSKSHIM_CTR_PASS_NOT_UDP },
	{ "IPv4 UDP-Lite", V4(.proto = 136, .dport = P_V4W), XSKSHIM_CTR_PASS_NOT_UDP },
	{ "IPv6 TCP to a mapped port number", V6(.proto = 6, .dport = P_V6W), XSKSHIM_CTR_PASS_NOT_UDP },
	{ "IPv6 ICMPv6", V6(.proto = 58, .dport = P_V6W), XSKSHIM_CTR_PASS_NOT_UDP },
	{ "IPv6 no next header (59)", V6(.proto = 59, .dport = P_V6W), XSKSHIM_CTR_PASS_NOT_UDP },
	{ "IPv4 specific-address entry, right destination", V4(.dport = P_V4E, .daddr = A4_LOCAL), XSKSHIM_CTR_NO_XSK },
	{ "IPv4 specific-address entry, wrong destination", V4(.dport = P_V4E, .daddr = A4_OTHER), XSKSHIM_CTR_PASS_NO_PORT },
	{ "IPv4 specific + wildcard entries, other destination falls back to the wildcard", V4(.dport = P_V4EW, .daddr = A4_OTHER), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_NOT_LOCAL) },
	{ "IPv6 specific-address entry, right destination", V6(.dport = P_V6E, .daddr = A6_LOCAL), XSKSHIM_CTR_NO_XSK },
	{ "IPv6 specific-address entry, wrong destination", V6(.dport = P_V6E, .daddr = A6_OTHER), XSKSHIM_CTR_PASS_NO_PORT },
	{ "IPv6 frame to an IPv4-mapped-looking key (v4 addr bytes) not matched", V6(.dport = P_V4E, .daddr = A4_LOCAL), XSKSHIM_CTR_PASS_NO_PORT },
	{ "group with slot_cnt 0 treated as unmapped", V4(.dport = P_CNT0), XSKSHIM_CTR_PASS_NO_PORT },
	{ "group with slot_cnt 17 treated as unmapped", V4(.dport = P_CNT17), XSKSHIM_CTR_PASS_NO_PORT },
	{ "slot beyond the XSKMAP size falls back to XDP_PASS", V4(.dport = P_BIGSLOT), XSKSHIM_CTR_NO_XSK },

	/* IPv4 options: the kernel validates them (G9) */
	{ "IPv4 with 4 bytes of options (IHL 6)", V4(.ihl = 6, .dport = P_V4W, .sport = 77), XSKSHIM_CTR_PASS_IP_OPTS },
	{ "IPv4 with 40 bytes of options (IHL 15)", V4(.ihl = 15, .dport = P_V4W, .sport = 77), XSKSHIM_CTR_PASS_IP_OPTS },
	{ "IPv4 with options to an exact-address entry", V4(.ihl = 7, .dport = P_V4E), XSKSHIM_CTR_PASS_IP_OPTS },
	{ "IPv4 with options to an unmapped port (decided before the lookup)", V4(.ihl = 6, .dport = P_UNMAP), XSKSHIM_CTR_PASS_IP_OPTS },
	{ "IPv4 TCP with options: pass_not_udp first", V4(.ihl = 6, .proto = 6, .dport = P_V4W), XSKSHIM_CTR_PASS_NOT_UDP },
	{ "IPv4 fragment with options: pass_frag first", V4(.ihl = 6, .frag = 0x2000, .dport = P_V4W), XSKSHIM_CTR_PASS_FRAG },

	/* destination MAC (G10): checked only with XSKSHIM_CFG_CHECK_MAC */
	{ "foreign unicast destination MAC", V4(.dmac = MAC_OTHER, .dport = P_V4W), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },
	{ "foreign MAC differing in byte 4 only", V4(.dmac = MAC_OURS_BUT_BYTE4, .dport = P_V4W), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },
	{ "foreign MAC, IPv6", V6(.dmac = MAC_OTHER, .dport = P_V6W), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },
	{ "foreign MAC, exact-address entry", V4(.dmac = MAC_OTHER, .dport = P_V4E), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },
	{ "foreign MAC, unmapped port (decided before parsing IP)", V4(.dmac = MAC_OTHER, .dport = P_UNMAP), XSKSHIM_CTR_PASS_NO_PORT, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },
	{ "foreign MAC, ARP", { .family = 0, .etype = ETH_P_ARP_, .dmac = MAC_OTHER }, XSKSHIM_CTR_PASS_NOT_IP, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },
	{ "broadcast MAC, unicast IP (kernel delivers)", V4(.dmac = MAC_BCAST, .dport = P_V4W), XSKSHIM_CTR_NO_XSK },
	{ "multicast MAC, unicast IP (kernel delivers)", V4(.dmac = MAC_MCAST, .dport = P_V4W), XSKSHIM_CTR_NO_XSK },

	/* VLAN tags (the cases above use VIDs 100, 101, 102 in that order): the
	 * configured program knows one 802.1Q VLAN device, VID 100 */
	{ "802.1Q VID 200 (no VLAN device)", TQ(200, .family = 4, .dport = P_V4W), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },
	{ "802.1Q VID 0 (priority tag)", TQ(0, .family = 4, .dport = P_V4W), XSKSHIM_CTR_NO_XSK },
	{ "802.1Q VID 100, priority bits set", TQ(0xe064, .family = 4, .dport = P_V4W), XSKSHIM_CTR_NO_XSK },
	{ "802.1Q VID 100 (the VLAN device), IPv6", TQ(100, .family = 6, .dport = P_V6W), XSKSHIM_CTR_NO_XSK },
	{ "802.1Q VID 101, IPv6", TQ(101, .family = 6, .dport = P_V6W), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },
	{ "802.1Q VID 4095", TQ(4095, .family = 4, .dport = P_V4W), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },
	{ "802.1ad VID 100 (not an 802.1Q device)", V4(.nvlan = 1, .tpid = { ETH_P_8021AD_ }, .tci_set = true, .tci = { 100 }, .dport = P_V4W), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },
	{ "802.1ad VID 0 + 802.1Q VID 100", V4(.nvlan = 2, .tpid = { ETH_P_8021AD_, ETH_P_8021Q_ }, .tci_set = true, .tci = { 0, 100 }, .dport = P_V4W), XSKSHIM_CTR_NO_XSK },
	{ "802.1Q VID 100 + 802.1Q VID 0", V4(.nvlan = 2, .tpid = { ETH_P_8021Q_, ETH_P_8021Q_ }, .tci_set = true, .tci = { 100, 0 }, .dport = P_V4W), XSKSHIM_CTR_NO_XSK },
	{ "802.1Q VID 100 + 802.1Q VID 100 (nested devices not modelled)", V4(.nvlan = 2, .tpid = { ETH_P_8021Q_, ETH_P_8021Q_ }, .tci_set = true, .tci = { 100, 100 }, .dport = P_V4W), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },
	{ "802.1Q VID 200, unmapped port (decided while parsing)", TQ(200, .family = 4, .dport = P_UNMAP), XSKSHIM_CTR_PASS_NO_PORT, CFG(XSKSHIM_CTR_PASS_OTHER_HOST) },

	/* martian sources and destinations (G12, G11), default and configured alike */
	{ "IPv4 source 0.0.0.0", V4(.saddr = A_ZERO, .dport = P_V4W), XSKSHIM_CTR_PASS_MARTIAN },
	{ "IPv4 source 0.1.2.3", V4(.saddr = A4_ZNET, .dport = P_V4W), XSKSHIM_CTR_PASS_MARTIAN },
	{ "IPv4 0.0.0.0 -> 255.255.255.255 (DHCP: limited broadcast input)", V4(.saddr = A_ZERO, .daddr = A4_LBCAST, .dport = P_V4W), XSKSHIM_CTR_NO_XSK },
	{ "IPv4 source 127.0.0.1", V4(.saddr = A4_LOOP, .dport = P_V4W), XSKSHIM_CTR_PASS_MARTIAN },
	{ "IPv4 source 127.9.8.7 to an exact-address entry", V4(.saddr = A4_LOOP2, .dport = P_V4E), XSKSHIM_CTR_PASS_MARTIAN },
	{ "IPv4 source 224.0.0.1", V4(.saddr = A4_MC, .dport = P_V4W), XSKSHIM_CTR_PASS_MARTIAN },
	{ "IPv4 source 255.255.255.255", V4(.saddr = A4_LBCAST, .dport = P_V4W), XSKSHIM_CTR_PASS_MARTIAN },
	{ "IPv4 source 255.255.255.255 to 255.255.255.255", V4(.saddr = A4_LBCAST, .daddr = A4_LBCAST, .dport = P_V4W), XSKSHIM_CTR_PASS_MARTIAN },
	{ "IPv4 source 240.0.0.1 (class E is not martian)", V4(.saddr = A4_CLASSE, .dport = P_V4W), XSKSHIM_CTR_NO_XSK },
	{ "IPv4 destination 0.0.0.0 (hits the wildcard key first)", V4(.daddr = A_ZERO, .dport = P_V4W), XSKSHIM_CTR_PASS_MARTIAN },
	{ "IPv4 destination 0.1.2.3", V4(.daddr = A4_ZNET, .dport = P_V4W), XSKSHIM_CTR_PASS_MARTIAN },
	{ "IPv4 destination 127.0.0.1 from the wire", V4(.daddr = A4_LOOP, .dport = P_V4W), XSKSHIM_CTR_PASS_MARTIAN },
	{ "IPv4 martian source to an unmapped port: pass_no_port (checked after the lookup)", V4(.saddr = A4_LOOP, .dport = P_UNMAP), XSKSHIM_CTR_PASS_NO_PORT },
	{ "on lo: 127.0.0.1 -> 127.0.0.1", V4(.saddr = A4_LOOP, .daddr = A4_LOOP, .dport = P_V4W), XSKSHIM_CTR_NO_XSK, 0, LO },
	{ "on lo: 127.0.0.1 -> 127.9.8.7", V4(.saddr = A4_LOOP, .daddr = A4_LOOP2, .dport = P_V4W), XSKSHIM_CTR_NO_XSK, 0, LO },
	{ "on lo: 198.18.0.1 -> 198.18.0.3 (lo skips the locality check)", V4(.daddr = A4_OTHER, .dport = P_V4W), XSKSHIM_CTR_NO_XSK, 0, LO },
	{ "on lo: source 0.0.0.0 is still martian", V4(.saddr = A_ZERO, .daddr = A4_LOOP, .dport = P_V4W), XSKSHIM_CTR_PASS_MARTIAN, 0, LO },
	{ "on lo: source 224.0.0.1 is still martian", V4(.saddr = A4_MC, .daddr = A4_LOOP, .dport = P_V4W), XSKSHIM_CTR_PASS_MARTIAN, 0, LO },
	{ "IPv6 source ::", V6(.saddr = A_ZERO, .dport = P_V6W), XSKSHIM_CTR_PASS_MARTIAN },
	{ "IPv6 source ::1", V6(.saddr = A6_LOOP, .dport = P_V6W), XSKSHIM_CTR_PASS_MARTIAN },
	{ "IPv6 source ::1 to an exact-address entry", V6(.saddr = A6_LOOP, .dport = P_V6E), XSKSHIM_CTR_PASS_MARTIAN },
	{ "IPv6 source ff02::1", V6(.saddr = A6_MC, .dport = P_V6W), XSKSHIM_CTR_PASS_MARTIAN },
	{ "IPv6 destination ::1 from the wire", V6(.daddr = A6_LOOP, .dport = P_V6W), XSKSHIM_CTR_PASS_MARTIAN },
	{ "IPv6 destination ::", V6(.daddr = A_ZERO, .dport = P_V6W), XSKSHIM_CTR_PASS_MARTIAN },
	{ "IPv6 source ::ffff:198.18.0.1 (kernel delivers)", V6(.saddr = A6_V4MAPPED, .dport = P_V6W), XSKSHIM_CTR_NO_XSK },
	{ "IPv6 source ::1 to the dual-stack entry", V6(.saddr = A6_LOOP, .dport = P_DUAL), XSKSHIM_CTR_PASS_MARTIAN },
	{ "on lo: ::1 -> ::1", V6(.saddr = A6_LOOP, .daddr = A6_LOOP, .dport = P_V6W), XSKSHIM_CTR_NO_XSK, 0, LO },
	{ "on lo: source :: is still martian", V6(.saddr = A_ZERO, .daddr = A6_LOOP, .dport = P_V6W), XSKSHIM_CTR_PASS_MARTIAN, 0, LO },

	/* multicast destinations: group membership is not emulated */
	{ "IPv4 to 224.0.0.1 (wildcard)", V4(.daddr = A4_MC, .dport = P_V4W), XSKSHIM_CTR_PASS_MCAST },
	{ "IPv4 to 239.1.2.3, socket bound to that group (exact entry)", V4(.daddr = A4_MC2, .dport = P_V4MC), XSKSHIM_CTR_PASS_MCAST },
	{ "IPv4 to 239.1.2.3 on lo", V4(.daddr = A4_MC2, .dport = P_V4W), XSKSHIM_CTR_PASS_MCAST, 0, LO },
	{ "IPv6 to ff02::1", V6(.daddr = A6_MC, .dport = P_V6W), XSKSHIM_CTR_PASS_MCAST },
	{ "IPv6 to ff02::1, dual-stack entry", V6(.daddr = A6_MC, .dport = P_DUAL), XSKSHIM_CTR_PASS_MCAST },

	/* locality of wildcard matches (G11): only with XSKSHIM_CFG_CHECK_LOCAL */
	{ "wildcard, destination not local (198.18.0.3)", V4(.daddr = A4_OTHER, .dport = P_V4W), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_NOT_LOCAL) },
	{ "wildcard, destination 198.19.128.77 (inside a local /24, AnyIP)", V4(.daddr = A4_ANYIP, .dport = P_V4W), XSKSHIM_CTR_NO_XSK },
	{ "wildcard, subnet broadcast 198.18.0.255 (locals: broadcast), one socket", V4(.daddr = A4_BCAST, .dport = P_V4W), XSKSHIM_CTR_NO_XSK },
	{ "wildcard, subnet broadcast to a group of 4 (kernel gives each a copy)", V4(.daddr = A4_BCAST, .dport = P_RP4), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_MCAST) },
	{ "wildcard, 255.255.255.255 to a group of 4", V4(.daddr = A4_LBCAST, .dport = P_RP4), XSKSHIM_CTR_PASS_MCAST },
	{ "wildcard, 255.255.255.255, one socket (needs no locals entry)", V4(.daddr = A4_LBCAST, .dport = P_V4W), XSKSHIM_CTR_NO_XSK },
	{ "wildcard, local destination to a group of 4", V4(.daddr = A4_LOCAL, .dport = P_RP4), XSKSHIM_CTR_NO_XSK },
	{ "dual-stack wildcard, IPv4 not local", V4(.daddr = A4_OTHER, .dport = P_DUAL), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_NOT_LOCAL) },
	{ "exact + wildcard entries, other destination: wildcard match, not local", V4(.dport = P_V4EW, .daddr = A4_OTHER), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_NOT_LOCAL) },
	{ "exact-address entry for an address not in locals: no locality check", V4(.daddr = A4_NOTLOC, .dport = P_V4X), XSKSHIM_CTR_NO_XSK },
	{ "IPv6 wildcard, destination not local (2001:2::3)", V6(.daddr = A6_OTHER, .dport = P_V6W), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_NOT_LOCAL) },
	{ "IPv6 wildcard, local link-local destination fe80::2", V6(.daddr = A6_LL, .dport = P_V6W), XSKSHIM_CTR_NO_XSK },
	{ "IPv6 wildcard, IPv4 address bytes as destination", V6(.daddr = A4_LOCAL, .dport = P_V6W), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_NOT_LOCAL) },
	{ "IPv6 dual-stack wildcard, not local", V6(.daddr = A6_OTHER, .dport = P_DUAL), XSKSHIM_CTR_NO_XSK, CFG(XSKSHIM_CTR_PASS_NOT_LOCAL) },
};

static void test_table(void)
{
	const struct model_cfg *cfgs[2] = { &cfg_plain, &cfg_set };
	uint8_t f[2048];
	uint32_t l3, l4, len, hend;
	size_t i, p;

	for (p = 0; p < 2; p++) {
		if (!use_prog(cfgs[p]))
			continue;
		for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
			const struct tcase *c = &table[i];
			int expect = p && c->cfg ? c->cfg - 1 : c->expect;
			struct run_res r;
			int model;
			char d[128];

			int ifx = c->ifindex ? c->ifindex : wire_ifindex;

			len = build(&c->s, f, &l3, &l4);
			model = ref_classify(f, len, 0, ifx, &hend);
			if (ifx <= 1 && !c->ifindex && model != expect) {
				skip("%s: %s: needs a non-loopback ingress device (no namespace)", cur->name,
				     c->what);
				continue;
			}
			run_frame(f, len, ifx, 0, &r);
			run_describe(&r, d, sizeof(d));
			check(run_ok(&r, expect) && model == expect, "%s: %s [ingress %s] -> %s (%s; model %s)",
			      cur->name, c->what, ifx <= 1 ? "lo" : NS_IF, ctr_names[expect], d,
			      ctr_name(model));
		}
	}
	use_prog(&cfg_plain);
}

/* ---------------------------------------------------------------------- */
/* 2. Truncation at every length                                           */
/* ---------------------------------------------------------------------- */

struct tcase_trunc {
	const char  *what;
	struct fspec s;
	int          final;      /* counter for the complete frame */
	int          need_kind;  /* how many bytes decide: see trunc_need() */
};

enum { NEED_UDP, NEED_ETYPE, NEED_IPHDR, NEED_IP6FIX, NEED_IP4FIX };

static uint32_t trunc_need(const struct tcase_trunc *t, uint32_t l3, uint32_t l4)
{
	switch (t->need_kind) {
	case NEED_UDP:   return l4 + 8;        /* all headers through UDP */
	case NEED_ETYPE: return l3;            /* the (last) ethertype */
	case NEED_IP6FIX: return l3 + 40;      /* fixed IPv6 header */
	case NEED_IP4FIX: return l3 + 20;      /* fixed IPv4 header (IHL, frag, proto) */
	default:         return l4;            /* IP header incl. options/ext */
	}
}

static const struct tcase_trunc trunc_cases[] = {
	{ "IPv4 UDP", V4(.dport = P_V4W, .sport = 3, .paylen = 6), XSKSHIM_CTR_NO_XSK, NEED_UDP },
	{ "IPv4 UDP with 40 bytes of options (IHL 15)", V4(.ihl = 15, .dport = P_V4W, .sport = 3, .paylen = 6), XSKSHIM_CTR_PASS_IP_OPTS, NEED_IP4FIX },
	{ "IPv4 UDP with IHL 6", V4(.ihl = 6, .dport = P_V4W, .sport = 3, .paylen = 2), XSKSHIM_CTR_PASS_IP_OPTS, NEED_IP4FIX },
	{ "IPv4 UDP behind 802.1ad + 802.1Q", V4(.nvlan = 2, .tpid = { ETH_P_8021AD_, ETH_P_8021Q_ }, .dport = P_V4W, .sport = 3, .paylen = 6), XSKSHIM_CTR_NO_XSK, NEED_UDP },
	{ "IPv4 UDP behind 802.1Q", V4(.nvlan = 1, .tpid = { ETH_P_8021Q_ }, .dport = P_V4W, .sport = 3, .paylen = 1), XSKSHIM_CTR_NO_XSK, NEED_UDP },
	{ "IPv4 UDP unmapped", V4(.dport = P_UNMAP, .sport = 3, .paylen = 2), XSKSHIM_CTR_PASS_NO_PORT, NEED_UDP },
	{ "IPv6 UDP", V6(.dport = P_V6W, .sport = 3, .paylen = 6), XSKSHIM_CTR_NO_XSK, NEED_UDP },
	{ "IPv6 UDP behind 802.1ad", V6(.nvlan = 1, .tpid = { ETH_P_8021AD_ }, .dport = P_V6W, .sport = 3, .paylen = 2), XSKSHIM_CTR_NO_XSK, NEED_UDP },
	{ "IPv6 UDP behind 802.1Q + 802.1Q", V6(.nvlan = 2, .tpid = { ETH_P_8021Q_, ETH_P_8021Q_ }, .dport = P_V6W, .sport = 3, .paylen = 2), XSKSHIM_CTR_NO_XSK, NEED_UDP },
	{ "IPv6 with routing header", V6(.v6_ext = EXT(43), .dport = P_V6W, .sport = 3), XSKSHIM_CTR_PASS_IPV6_EXT, NEED_IP6FIX },
	{ "IPv6 ICMPv6", V6(.proto = 58, .dport = P_V6W, .sport = 3), XSKSHIM_CTR_PASS_NOT_UDP, NEED_IP6FIX },
	{ "IPv4 TCP", V4(.proto = 6, .dport = P_V4W, .sport = 3), XSKSHIM_CTR_PASS_NOT_UDP, NEED_IPHDR },
	{ "IPv4 fragment with IHL 7", V4(.ihl = 7, .frag = 0x2000, .dport = P_V4W, .sport = 3), XSKSHIM_CTR_PASS_FRAG, NEED_IP4FIX },
	{ "IPv4 UDP from 127.0.0.1 (martian)", V4(.saddr = A4_LOOP, .dport = P_V4W, .sport = 3, .paylen = 3), XSKSHIM_CTR_PASS_MARTIAN, NEED_UDP },
	{ "IPv6 UDP to ff02::1", V6(.daddr = A6_MC, .dport = P_V6W, .sport = 3, .paylen = 3), XSKSHIM_CTR_PASS_MCAST, NEED_UDP },
	{ "ARP", { .family = 0, .etype = ETH_P_ARP_ }, XSKSHIM_CTR_PASS_NOT_IP, NEED_ETYPE },
	{ "ARP behind 802.1Q + 802.1ad", { .family = 0, .etype = ETH_P_ARP_, .nvlan = 2, .tpid = { ETH_P_8021Q_, ETH_P_8021AD_ } }, XSKSHIM_CTR_PASS_NOT_IP, NEED_ETYPE },
};

/* Default program: the expectation above.  Configured program: whatever
 * the model says (its MAC/VLAN rules decide some frames earlier). */
static void test_trunc(void)
{
	const struct model_cfg *cfgs[2] = { &cfg_plain, &cfg_set };
	uint8_t f[2048];
	size_t i, p;

	for (p = 0; p < 2; p++) {
		if (!use_prog(cfgs[p]))
			continue;
		for (i = 0; i < sizeof(trunc_cases) / sizeof(trunc_cases[0]); i++) {
			const struct tcase_trunc *t = &trunc_cases[i];
			uint32_t l3, l4, len = build(&t->s, f, &l3, &l4), need, n, bad = 0, hend, skipped = 0;
			char first[256] = "";

			need = trunc_need(t, l3, l4);
			for (n = 0; n <= len; n++) {
				int model = ref_classify(f, n, 0, wire_ifindex, &hend);
				int expect = p ? model : n < need ? XSKSHIM_CTR_PASS_TRUNC : t->final;
				struct run_res r;

				run_frame(f, n, wire_ifindex, 0, &r);
				if (r.err == -EOPNOTSUPP) {
					skipped++;
					continue;
				}
				if (!run_ok(&r, expect) || model != expect) {
					if (!bad++) {
						char d[128];

						run_describe(&r, d, sizeof(d));
						snprintf(first, sizeof(first), "; first at length %u: want %s, model %s, %s",
							 n, ctr_names[expect], ctr_name(model), d);
					}
				}
			}
			if (p)
				check(bad == 0, "%s: %s truncated at every length 0..%u: program and model agree (%u differ%s%s)",
				      cur->name, t->what, len, bad, first,
				      skipped ? "; lengths < 14 not testable on this kernel" : "");
			else
				check(bad == 0, "%s: %s truncated at every length 0..%u: pass_trunc below %u bytes, %s at %u and above, never matched early (%u wrong%s%s)",
				      cur->name, t->what, len, need, ctr_names[t->final], need, bad, first,
				      skipped ? "; lengths < 14 not testable on this kernel" : "");
		}
	}
	use_prog(&cfg_plain);
}

/* ---------------------------------------------------------------------- */
/* 3. Real AF_XDP socket: the redirect decision                            */
/* ---------------------------------------------------------------------- */

static struct xsk_umem *umem;
static struct xsk_socket *xsk;
static void *umem_area;
#define UMEM_FRAMES 64

static int xsk_setup(const char **why)
{
	struct xsk_umem_config ucfg = {
		.fill_size = UMEM_FRAMES, .comp_size = UMEM_FRAMES,
		.frame_size = XSK_UMEM__DEFAULT_FRAME_SIZE,
	};
	struct xsk_socket_config scfg = {
		.rx_size = 64,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY,
	};
	static struct xsk_ring_prod fill;
	static struct xsk_ring_cons comp, rx;
	size_t sz = (size_t)UMEM_FRAMES * XSK_UMEM__DEFAULT_FRAME_SIZE;
	int err;

	umem_area = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (umem_area == MAP_FAILED) {
		umem_area = NULL;
		*why = "mmap of the UMEM failed";
		return -1;
	}
	err = xsk_umem__create(&umem, umem_area, sz, &fill, &comp, &ucfg);
	if (err) {
		fprintf(stderr, "xsk_umem__create: %s\n", strerror(-err));
		*why = "xsk_umem__create failed";
		return -1;
	}
	err = xsk_socket__create(&xsk, NS_IF, 0, umem, &rx, NULL, &scfg);
	if (err) {
		fprintf(stderr, "xsk_socket__create: %s\n", strerror(-err));
		*why = "xsk_socket__create failed";
		return -1;
	}
	xsk_fd = xsk_socket__fd(xsk);
	return 0;
}

static void xsk_teardown(void)
{
	if (xsk)
		xsk_socket__delete(xsk);
	if (umem)
		xsk_umem__delete(umem);
	if (umem_area)
		munmap(umem_area, (size_t)UMEM_FRAMES * XSK_UMEM__DEFAULT_FRAME_SIZE);
	xsk = NULL;
	umem = NULL;
	umem_area = NULL;
}

static void one(const char *what, const struct fspec *s, uint32_t queue, int expect)
{
	uint8_t f[2048];
	uint32_t l3, l4, len = build(s, f, &l3, &l4), hend;
	int model = ref_classify(f, len, queue, ns_ifindex, &hend);
	struct run_res r;
	char d[128];

	run_frame(f, len, ns_ifindex, queue, &r);
	run_describe(&r, d, sizeof(d));
	check(run_ok(&r, expect) && model == expect, "%s -> %s (%s; model %s)", what,
	      ctr_names[expect], d, ctr_name(model));
}

/* SO_REUSEPORT group: with the XSK in member m's slot only, exactly the
 * flows the hash assigns to m are redirected.  Every flow must be redirected
 * in exactly one of the RP_SIZE configurations, the predicted one, and the
 * same frame twice gives the same answer. */
static void test_group(uint8_t family, uint16_t port, uint32_t slot0)
{
	enum { FLOWS = 64 };
	uint32_t hits[FLOWS] = { 0 }, m, i, bad = 0, per_member[RP_SIZE] = { 0 };
	const uint8_t *src = family == 4 ? A4_SRC : A6_SRC;
	uint32_t fold = 0, w;
	uint8_t f[256];
	char first[160] = "";

	if (family == 4) {
		memcpy(&fold, src, 4);
	} else {
		for (i = 0; i < 4; i++) {
			memcpy(&w, src + 4 * i, 4);
			fold ^= w;
		}
	}
	for (m = 0; m < RP_SIZE; m++) {
		for (i = 0; i < RP_SIZE; i++)
			xsk_del(slot0 + i, 0);
		if (xsk_put(slot0 + m, 0) != 0) {
			check(false, "IPv%u group: putting the XSK in slot %u failed: %s", family,
			      slot0 + m, strerror(errno));
			return;
		}
		for (i = 0; i < FLOWS; i++) {
			uint16_t sport = (uint16_t)(20000 + i * 7);
			struct fspec s = { .family = family, .dport = port, .sport = sport, .paylen = 4 };
			uint32_t l3, l4, len = build(&s, f, &l3, &l4), rep;
			uint32_t want = xskshim_flow_hash(fold, htons(sport), htons(port)) % RP_SIZE;
			int expect = want == m ? XSKSHIM_CTR_REDIRECT : XSKSHIM_CTR_NO_XSK;

			for (rep = 0; rep < 2; rep++) {
				struct run_res r;

				run_frame(f, len, ns_ifindex, 0, &r);
				if (!run_ok(&r, expect)) {
					if (!bad++)
						snprintf(first, sizeof(first),
							 "; first: sport %u member %u predicted %u got %s",
							 sport, m, want, ctr_name(r.ctr));
				} else if (expect == XSKSHIM_CTR_REDIRECT && rep == 0) {
					hits[i]++;
					per_member[m]++;
				}
			}
		}
	}
	for (i = 0; i < RP_SIZE; i++)
		xsk_del(slot0 + i, 0);
	for (i = 0; i < FLOWS; i++)
		if (hits[i] != 1 && !bad++)
			snprintf(first, sizeof(first), "; flow %u redirected in %u configurations", i, hits[i]);
	check(bad == 0, "IPv%u SO_REUSEPORT group of %u: %u source ports each redirected only when the XSK sits in the member xskshim_flow_hash picks, stable over repeats (per member %u/%u/%u/%u)%s",
	      family, RP_SIZE, FLOWS, per_member[0], per_member[1], per_member[2], per_member[3], first);
	check(per_member[0] && per_member[1] && per_member[2] && per_member[3],
	      "IPv%u group: the %u flows spread over all %u members", family, FLOWS, RP_SIZE);
}

/* Run the frame n times; true if every run gave counter ctr (and its action). */
static bool run_n(const uint8_t *f, uint32_t len, uint32_t n, int ctr, char *d, size_t dsz)
{
	struct run_res r;

	for (uint32_t i = 0; i < n; i++) {
		run_frame(f, len, ns_ifindex, 0, &r);
		if (!run_ok(&r, ctr)) {
			run_describe(&r, d, dsz);
			return false;
		}
	}
	snprintf(d, dsz, "%u x %s", n, ctr_names[ctr]);
	return true;
}

/* The fill budget and spill episodes (struct xskshim_budget/xskshim_spill):
 * user space's limit decides redirect vs pass, episodes open, count, close,
 * and stay open while XSKSHIM_SPILL_EPS of them are unread; frames longer
 * than a UMEM frame are passed. */
static void test_budget(void)
{
	struct xskshim_budget *b = &skel->bss->budget[0];
	/* `spills` at its default size: indexed like the XSKMAP */
	size_t spills_sz = (size_t)bpf_map__max_entries(skel->maps.spills) * sizeof(struct xskshim_spill);
	struct xskshim_spill *spills = mmap(NULL, spills_sz, PROT_READ | PROT_WRITE, MAP_SHARED,
					    bpf_map__fd(skel->maps.spills), 0);
	struct xskshim_spill *sp = &spills[S_V4EW_EXACT * XSKSHIM_QUEUE_MAX];
	struct fspec s = V4(.dport = P_V4EW, .daddr = A4_LOCAL, .sport = 4242, .paylen = 8);
	uint8_t f[2048];
	uint32_t l3, l4, len, head0;
	uint64_t used0, seq0, spilled0;
	char d[160];
	bool ok;

	if (spills == MAP_FAILED) {
		check(false, "budget: mmap of the spills map: %s", strerror(errno));
		return;
	}
	if (xsk_put(S_V4EW_EXACT, 0) != 0) {
		check(false, "budget: XSK into the XSKMAP: %s", strerror(errno));
		munmap(spills, spills_sz);
		return;
	}
	len = build(&s, f, &l3, &l4);
	head0 = sp->head;
	sp->tail = head0;
	used0 = b->used;
	seq0 = sp->seq;
	spilled0 = b->spilled;
	b->limit = used0 + 3;
	ok = run_n(f, len, 3, XSKSHIM_CTR_REDIRECT, d, sizeof(d));
	check(ok && b->used == used0 + 3 && sp->seq == seq0 + 3 && sp->head == head0 && !sp->open,
	      "budget: limit = used + 3: three frames redirected (%s), used +%llu, seq +%llu, no episode",
	      d, (unsigned long long)(b->used - used0), (unsigned long long)(sp->seq - seq0));
	ok = run_n(f, len, 2, XSKSHIM_CTR_PASS_SPILL, d, sizeof(d));
	check(ok && sp->head == head0 + 1 && sp->open && sp->ep[head0 & 1].start == seq0 + 3 &&
	      sp->ep[head0 & 1].cnt == 2 && b->spilled == spilled0 + 2 && b->used == used0 + 3,
	      "budget spent: the next two pass to the kernel (%s) in one episode: start %llu (= seq at its "
	      "beginning), cnt %u, spilled +%llu, used unchanged",
	      d, (unsigned long long)(sp->ep[head0 & 1].start - seq0), sp->ep[head0 & 1].cnt,
	      (unsigned long long)(b->spilled - spilled0));

	b->limit = b->used + 2;
	ok = run_n(f, len, 2, XSKSHIM_CTR_REDIRECT, d, sizeof(d));
	check(ok && !sp->open && sp->head == head0 + 1,
	      "limit raised by 2: redirect resumes (%s) and closes the episode", d);
	ok = run_n(f, len, 1, XSKSHIM_CTR_PASS_SPILL, d, sizeof(d));
	check(ok && sp->head == head0 + 2 && sp->open && sp->ep[(head0 + 1) & 1].start == seq0 + 5,
	      "spent again: a second episode opens (%s), start %llu", d,
	      (unsigned long long)(sp->ep[(head0 + 1) & 1].start - seq0));
	b->limit = b->used + 100;
	ok = run_n(f, len, 2, XSKSHIM_CTR_PASS_SPILL, d, sizeof(d));
	check(ok && sp->open && sp->head == head0 + 2 && sp->ep[(head0 + 1) & 1].cnt == 3,
	      "two episodes unread: the open one stays open although the budget allows more (%s), cnt 3", d);
	sp->tail = head0 + 1;
	ok = run_n(f, len, 1, XSKSHIM_CTR_REDIRECT, d, sizeof(d));
	check(ok && !sp->open, "the reader delivered the first (tail + 1): redirect resumes (%s)", d);
	b->limit = 0;
	ok = run_n(f, len, 3, XSKSHIM_CTR_REDIRECT, d, sizeof(d));
	check(ok, "limit 0 (no budget, zero-copy): always redirected (%s)", d);
	sp->tail = sp->head;

	s.paylen = XSKSHIM_RX_FRAME_MAX - 42;
	len = build(&s, f, &l3, &l4);
	ok = run_n(f, len, 1, XSKSHIM_CTR_REDIRECT, d, sizeof(d));
	check(ok && len == XSKSHIM_RX_FRAME_MAX, "a %u-byte frame (the most a 2048-byte UMEM frame holds): "
	      "redirected (%s)", len, d);
	s.paylen++;
	len = build(&s, f, &l3, &l4);
	ok = run_n(f, len, 1, XSKSHIM_CTR_PASS_TOO_BIG, d, sizeof(d));
	check(ok, "a %u-byte frame (jumbo MTU): passed to the kernel, which would drop it on redirect (%s)", len, d);
	xsk_del(S_V4EW_EXACT, 0);
	munmap(spills, spills_sz);
}

/* An IPv4 source that is the interface's own address (fast_local4): the
 * kernel drops it as a martian, so the configured program passes it; the
 * default program (no CHECK_LOCAL) does not look. */
static void test_own_source(void)
{
	struct fspec s = V4(.dport = P_V4EW, .daddr = A4_LOCAL, .saddr = A4_LOCAL, .sport = 4242);
	uint8_t f[256];
	uint32_t l3, l4, len = build(&s, f, &l3, &l4);
	struct run_res r;
	char d[128];

	if (prog_fd_cfg < 0 || xsk_put(S_V4EW_EXACT, 0) != 0) {
		check(false, "own source: configured program and an XSK needed");
		return;
	}
	memcpy((void *)&skel_cfg->bss->fast_local4[0], A4_LOCAL, 4);
	use_prog(&cfg_set);
	run_frame(f, len, ns_ifindex, 0, &r);
	run_describe(&r, d, sizeof(d));
	check(run_ok(&r, XSKSHIM_CTR_PASS_MARTIAN),
	      "configured: source 198.18.0.2 = the interface's own address (fast_local4): pass_martian (%s)", d);
	s.saddr = A4_SRC;
	len = build(&s, f, &l3, &l4);
	run_frame(f, len, ns_ifindex, 0, &r);
	run_describe(&r, d, sizeof(d));
	check(run_ok(&r, XSKSHIM_CTR_REDIRECT), "configured: source 198.18.0.1 (not own): redirected (%s)", d);
	use_prog(&cfg_plain);
	s.saddr = A4_LOCAL;
	len = build(&s, f, &l3, &l4);
	run_frame(f, len, ns_ifindex, 0, &r);
	run_describe(&r, d, sizeof(d));
	check(run_ok(&r, XSKSHIM_CTR_REDIRECT),
	      "default program (no CHECK_LOCAL): own source not checked, redirected (%s)", d);
	skel_cfg->bss->fast_local4[0] = 0;
	xsk_del(S_V4EW_EXACT, 0);
}

static void test_xsk(void)
{
	struct fspec s;

	/* Exact entry (slot 12) populated, wildcard (slot 13) empty. */
	if (xsk_put(S_V4EW_EXACT, 0) != 0) {
		check(false, "XSK fd accepted into the XSKMAP: %s", strerror(errno));
		return;
	}
	check(true, "real AF_XDP socket (copy mode, " NS_IF " queue 0) inserted into xsks[%u]",
	      S_V4EW_EXACT * XSKSHIM_QUEUE_MAX);

	s = (struct fspec)V4(.dport = P_V4EW, .daddr = A4_LOCAL, .sport = 4242, .paylen = 8);
	one("exact-address entry with an XSK in its slot: XDP_REDIRECT", &s, 0, XSKSHIM_CTR_REDIRECT);
	s = (struct fspec)V4(.dport = P_V4EW, .daddr = A4_LOCAL, .sport = 4242, .paylen = 8, .nvlan = 2,
			     .tpid = { ETH_P_8021AD_, ETH_P_8021Q_ });
	one("same, behind two VLAN tags: XDP_REDIRECT", &s, 0, XSKSHIM_CTR_REDIRECT);
	s = (struct fspec)V4(.dport = P_V4EW, .daddr = A4_LOCAL, .sport = 4242, .ihl = 15);
	one("same, IHL 15 (options): pass_ip_opts, not redirected", &s, 0, XSKSHIM_CTR_PASS_IP_OPTS);
	s = (struct fspec)V4(.dport = P_V4EW, .daddr = A4_LOCAL, .saddr = A4_LOOP, .sport = 4242);
	one("same, source 127.0.0.1: pass_martian, not redirected", &s, 0, XSKSHIM_CTR_PASS_MARTIAN);
	s = (struct fspec)V4(.dport = P_V4EW, .daddr = A4_LOCAL, .dmac = MAC_OTHER, .sport = 4242);
	one("same, foreign destination MAC, default program: XDP_REDIRECT (no MAC check)", &s, 0,
	    XSKSHIM_CTR_REDIRECT);
	s = (struct fspec)V4(.dport = P_V4EW, .daddr = A4_OTHER, .sport = 4242);
	one("other destination uses the wildcard entry, whose slot is empty: XDP_PASS", &s, 0,
	    XSKSHIM_CTR_NO_XSK);
	s = (struct fspec)V4(.dport = P_V4EW, .daddr = A4_LOCAL, .sport = 4242);
	one("RX queue 1: index slot*64+1 is empty: XDP_PASS", &s, 1, XSKSHIM_CTR_NO_XSK);
	one("RX queue 63 (last served queue): XDP_PASS, empty", &s, 63, XSKSHIM_CTR_NO_XSK);
	one("RX queue 64 (>= XSKSHIM_QUEUE_MAX): pass_queue", &s, 64, XSKSHIM_CTR_PASS_QUEUE);
	one("RX queue 71: pass_queue", &s, 71, XSKSHIM_CTR_PASS_QUEUE);
	s = (struct fspec)V4(.dport = P_UNMAP, .sport = 4242);
	one("unmapped port on RX queue 70: pass_no_port (lookup before the queue check)", &s, 70,
	    XSKSHIM_CTR_PASS_NO_PORT);
	s = (struct fspec)V4(.dport = P_V4EW, .daddr = A4_LOCAL, .sport = 4242, .frag = 0x2000);
	one("fragment to the redirected port: pass_frag, never redirected", &s, 0, XSKSHIM_CTR_PASS_FRAG);
	s = (struct fspec)V4(.dport = P_V4EW, .daddr = A4_LOCAL, .sport = 4242, .proto = 6);
	one("TCP to the redirected port number: pass_not_udp", &s, 0, XSKSHIM_CTR_PASS_NOT_UDP);

	/* Now the wildcard slot too: both destinations redirect. */
	if (xsk_put(S_V4EW_WILD, 0) == 0) {
		s = (struct fspec)V4(.dport = P_V4EW, .daddr = A4_OTHER, .sport = 4242);
		one("wildcard slot populated: other destination now XDP_REDIRECT", &s, 0,
		    XSKSHIM_CTR_REDIRECT);
		xsk_del(S_V4EW_EXACT, 0);
		s = (struct fspec)V4(.dport = P_V4EW, .daddr = A4_LOCAL, .sport = 4242);
		one("exact slot emptied: exact destination XDP_PASS (no fallback to the wildcard's XSK)",
		    &s, 0, XSKSHIM_CTR_NO_XSK);
		xsk_del(S_V4EW_WILD, 0);
	} else {
		check(false, "XSK fd into the wildcard slot: %s", strerror(errno));
	}
	s = (struct fspec)V4(.dport = P_V4EW, .daddr = A4_LOCAL, .sport = 4242);
	one("XSKMAP entry deleted: XDP_PASS", &s, 0, XSKSHIM_CTR_NO_XSK);

	/* The configured program, with both slots populated: only what the
	 * kernel would deliver is redirected. */
	if (use_prog(&cfg_set) && xsk_put(S_V4EW_EXACT, 0) == 0 && xsk_put(S_V4EW_WILD, 0) == 0 &&
	    xsk_put(10, 0) == 0 && xsk_put(20, 0) == 0) {
		s = (struct fspec)V4(.dport = P_V4EW, .daddr = A4_LOCAL, .sport = 4242);
		one("configured: exact-address entry: XDP_REDIRECT", &s, 0, XSKSHIM_CTR_REDIRECT);
		s = (struct fspec)V4(.dport = P_V4EW, .daddr = A4_OTHER, .sport = 4242);
		one("configured: wildcard match, destination 198.18.0.3 not local: pass_not_local although the slot has an XSK",
		    &s, 0, XSKSHIM_CTR_PASS_NOT_LOCAL);
		s = (struct fspec)V4(.dport = P_V4W, .daddr = A4_LOCAL, .sport = 4242);
		one("configured: wildcard match, local destination: XDP_REDIRECT", &s, 0, XSKSHIM_CTR_REDIRECT);
		s = (struct fspec)V4(.dport = P_V4W, .daddr = A4_BCAST, .sport = 4242);
		one("configured: wildcard match, subnet broadcast, one socket: XDP_REDIRECT", &s, 0,
		    XSKSHIM_CTR_REDIRECT);
		s = (struct fspec)V4(.dport = P_V4W, .daddr = A4_LOCAL, .dmac = MAC_OTHER, .sport = 4242);
		one("configured: foreign destination MAC: pass_other_host", &s, 0, XSKSHIM_CTR_PASS_OTHER_HOST);
		s = (struct fspec)V4(.dport = P_V4W, .daddr = A4_LOCAL, .dmac = MAC_BCAST, .sport = 4242);
		one("configured: broadcast destination MAC, local IP: XDP_REDIRECT", &s, 0, XSKSHIM_CTR_REDIRECT);
		s = (struct fspec)TQ(100, .family = 4, .dport = P_V4W, .sport = 4242);
		one("configured: 802.1Q VID 100 (configured VLAN): XDP_REDIRECT", &s, 0, XSKSHIM_CTR_REDIRECT);
		s = (struct fspec)TQ(200, .family = 4, .dport = P_V4W, .sport = 4242);
		one("configured: 802.1Q VID 200: pass_other_host", &s, 0, XSKSHIM_CTR_PASS_OTHER_HOST);
		s = (struct fspec)V6(.dport = P_V6W, .daddr = A6_LOCAL, .sport = 4242);
		one("configured: IPv6 wildcard, local destination: XDP_REDIRECT", &s, 0, XSKSHIM_CTR_REDIRECT);
		s = (struct fspec)V6(.dport = P_V6W, .daddr = A6_OTHER, .sport = 4242);
		one("configured: IPv6 wildcard, not local: pass_not_local", &s, 0, XSKSHIM_CTR_PASS_NOT_LOCAL);
		s = (struct fspec)V6(.dport = P_V6W, .daddr = A6_LOOP, .sport = 4242);
		one("configured: IPv6 to ::1 from the wire: pass_martian", &s, 0, XSKSHIM_CTR_PASS_MARTIAN);
	} else if (prog_fd_cfg >= 0) {
		check(false, "configured program: XSKs into the XSKMAP: %s", strerror(errno));
	}
	xsk_del(S_V4EW_EXACT, 0);
	xsk_del(S_V4EW_WILD, 0);
	xsk_del(10, 0);
	xsk_del(20, 0);
	use_prog(&cfg_plain);

	/* IPv6 exact entry (slot 21). */
	if (xsk_put(21, 0) == 0) {
		s = (struct fspec)V6(.dport = P_V6E, .daddr = A6_LOCAL, .sport = 999);
		one("IPv6 exact entry with an XSK: XDP_REDIRECT", &s, 0, XSKSHIM_CTR_REDIRECT);
		s = (struct fspec)V6(.dport = P_V6E, .daddr = A6_OTHER, .sport = 999);
		one("IPv6 wrong destination: pass_no_port", &s, 0, XSKSHIM_CTR_PASS_NO_PORT);
		xsk_del(21, 0);
	}

	test_group(4, P_RP4, RP4_SLOT0);
	test_group(6, P_RP6, RP6_SLOT0);
	test_budget();
	test_own_source();
}

/* ---------------------------------------------------------------------- */
/* 4. Random and mutated frames                                            */
/* ---------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint32_t rndn(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

static const uint16_t interesting_etypes[] = {
	ETH_P_IP_, ETH_P_IPV6_, ETH_P_8021Q_, ETH_P_8021AD_, ETH_P_ARP_, 0x9100, 0x0000, 0xffff,
};

/* A random well-formed frame aimed mostly at mapped ports and addresses. */
static uint32_t gen_base(uint8_t *f, uint32_t *l3, uint32_t *l4)
{
	static const uint16_t v4ports[] = { P_V4W, P_V4E, P_V4EW, P_DUAL, P_RP4, P_CNT0, P_BIGSLOT,
					    P_V4X, P_V4MC, P_UNMAP };
	static const uint16_t v6ports[] = { P_V6W, P_V6E, P_DUAL, P_RP6, P_V6UNMAP, P_V4W };
	static const uint8_t *const v4addrs[] = { A4_LOCAL, A4_LOCAL, A4_LOCAL, A4_OTHER, A_ZERO,
						  A4_BCAST, A4_LBCAST, A4_ANYIP, A4_NOTLOC, A4_LOOP,
						  A4_MC, A4_MC2 };
	static const uint8_t *const v4srcs[] = { A4_SRC, A4_LOOP, A_ZERO, A4_MC, A4_LBCAST, A4_CLASSE };
	static const uint8_t *const v6addrs[] = { A6_LOCAL, A6_LOCAL, A6_OTHER, A_ZERO, A6_LOOP, A6_MC,
						  A6_LL };
	static const uint8_t *const v6srcs[] = { A6_SRC, A6_LOOP, A_ZERO, A6_MC, A6_V4MAPPED };
	static const uint8_t *const macs[] = { MAC_OTHER, MAC_BCAST, MAC_MCAST, MAC_OURS_BUT_BYTE4 };
	static const uint16_t tcis[] = { 100, 100, 0, 101, 200, 0x2064 };
	static uint8_t rsaddr[16];
	struct fspec s = { 0 };
	uint32_t i;

#define PICK(a) (a)[rndn(sizeof(a) / sizeof((a)[0]))]
	s.family = rndn(2) ? 4 : 6;
	s.nvlan = (uint8_t)(rndn(2) ? 0 : 1 + rndn(2));
	s.tci_set = true;
	for (i = 0; i < s.nvlan; i++) {
		s.tpid[i] = rndn(2) ? ETH_P_8021Q_ : ETH_P_8021AD_;
		s.tci[i] = PICK(tcis);
	}
	if (!rndn(8))
		s.dmac = PICK(macs);
	for (i = 0; i < 16; i++)
		rsaddr[i] = (uint8_t)rnd();
	s.saddr = rndn(2) ? rsaddr : NULL;
	s.sport = (uint16_t)rnd();
	if (s.family == 4) {
		s.ihl = rndn(6) ? 5 : (uint8_t)(5 + rndn(11));
		s.dport = rndn(8) ? PICK(v4ports) : (uint16_t)rnd();
		s.daddr = PICK(v4addrs);
		if (!rndn(4))
			s.saddr = PICK(v4srcs);
		if (!rndn(8))
			s.frag = 0x4000;
	} else {
		s.dport = rndn(8) ? PICK(v6ports) : (uint16_t)rnd();
		s.daddr = PICK(v6addrs);
		if (!rndn(4))
			s.saddr = PICK(v6srcs);
	}
#undef PICK
	s.paylen = (uint16_t)(rndn(4) ? rndn(64) : rndn(1400));
	if (!rndn(4))
		s.pad_to = 60;
	return build(&s, f, l3, l4);
}

/* Mutate in place; returns the new length (<= cap). */
static uint32_t mutate(uint8_t *f, uint32_t len, uint32_t cap, uint32_t l3, uint32_t l4)
{
	uint32_t ops = rndn(4), i, p;

	for (i = 0; i < ops; i++) {
		switch (rndn(8)) {
		case 0: /* flip bits in a header byte */
		case 1:
			if (len) {
				p = rndn(len < l4 + 8 ? len : l4 + 8);
				f[p] ^= (uint8_t)(1u << rndn(8));
			}
			break;
		case 2: /* random byte anywhere */
			if (len)
				f[rndn(len)] = (uint8_t)rnd();
			break;
		case 3: /* truncate */
			len = rndn(len + 1);
			break;
		case 4: /* truncate within the last bytes of the headers */
			p = l4 + 8 - rndn((l4 + 8 < 24 ? l4 + 8 : 24) + 1);
			if (p < len)
				len = p;
			break;
		case 5: /* extend with random bytes */
			p = rndn(64);
			if (len + p > cap)
				p = cap - len;
			while (p--)
				f[len++] = (uint8_t)rnd();
			break;
		case 6: /* interesting ethertype at a tag/ethertype position */
			p = 12 + 4 * rndn(4);
			if (p + 2 <= len)
				put16(f + p, interesting_etypes[rndn(sizeof(interesting_etypes) /
								     sizeof(interesting_etypes[0]))]);
			break;
		default: /* IP version/IHL, fragment bits, protocol */
			if (l3 + 10 <= len) {
				switch (rndn(3)) {
				case 0: f[l3] = (uint8_t)rnd(); break;
				case 1: f[l3 + 6] ^= (uint8_t)(1u << rndn(8)); break;
				default: f[l3 + (f[l3] >> 4 == 6 ? 6 : 9)] = (uint8_t)rnd(); break;
				}
			}
			break;
		}
	}
	/* Half the time repair the IPv4 header checksum, so that structurally
	 * mutated frames also reach the validator's later checks. */
	if (rndn(2) && l3 + 20 <= len && f[l3] >> 4 == 4 && (f[l3] & 15) >= 5 &&
	    l3 + (f[l3] & 15u) * 4 <= len) {
		uint32_t hl = (f[l3] & 15u) * 4;

		put16(f + l3 + 10, 0);
		put16(f + l3 + 10, csum_fin(csum_add(0, f + l3, hl)));
	}
	return len;
}

static bool parse_stop(int ctr)
{
	switch (ctr) {
	case XSKSHIM_CTR_PASS_NOT_IP: case XSKSHIM_CTR_PASS_NOT_UDP: case XSKSHIM_CTR_PASS_FRAG:
	case XSKSHIM_CTR_PASS_IPV6_EXT: case XSKSHIM_CTR_PASS_TRUNC: case XSKSHIM_CTR_PASS_BAD_HDR:
		return true;
	}
	return false;
}

/* Passed by policy before the lookup (IPv4 options, foreign MAC or VLAN):
 * the validator accepts such frames, the program deliberately does not. */
static bool policy_stop(int ctr)
{
	return ctr == XSKSHIM_CTR_PASS_IP_OPTS || ctr == XSKSHIM_CTR_PASS_OTHER_HOST;
}

static void test_mutation_one(int ifindex)
{
	const char *env_seed = getenv("XSKSHIM_SEED"), *env_n = getenv("XSKSHIM_MUTATIONS");
	uint64_t seed = env_seed ? strtoull(env_seed, NULL, 0) : 0x5eedf00d2024ULL;
	uint32_t n = env_n ? (uint32_t)strtoul(env_n, NULL, 0) : 20000, it;
	uint32_t matched = 0, redirected = 0, model_bad = 0, run_bad = 0, not_ours = 0;
	uint32_t hdr_trunc = 0, pay_trunc = 0, ok_mapped = 0, ok_mapped_missed = 0;
	uint32_t parse_ok = 0, parse_ok_unparsed = 0, other_drop = 0, untestable = 0, policy = 0;
	uint32_t addr_pass = 0, on_lo = 0;
	/* the configured program passes many more frames (MAC, VLAN, locality) */
	uint32_t cover = cur == &cfg_plain ? 20 : 40;
	static uint8_t f[4096];
	char first[256] = "";

	rng_state = seed ? seed : 1;
	printf("mutation run (%s program): seed 0x%" PRIx64 " (XSKSHIM_SEED), %u frames, queue %s, "
	       "1 in 8 on lo\n", cur->name, seed, n, ifindex ? "random 0..71 on " NS_IF : "0");
	/* A populated slot or two so some frames really redirect. */
	if (ifindex) {
		xsk_put(10, 0);
		xsk_put(S_V4EW_EXACT, 0);
		xsk_put(20, 0);
		xsk_put(RP4_SLOT0 + 1, 0);
		xsk_put(RP6_SLOT0 + 2, 0);
	}

	for (it = 0; it < n; it++) {
		uint32_t l3, l4, len = gen_base(f, &l3, &l4), hend, queue = 0;
		struct ring_frame_info info;
		struct run_res r;
		int model, perr, ingress = ifindex;
		bool m;

		len = mutate(f, len, 3000, l3, l4);
		if (!rndn(8)) {
			ingress = 1;             /* lo: one RX queue */
			on_lo++;
		} else if (ifindex && !rndn(4)) {
			queue = rndn(NS_RXQ);
		}
		model = ref_classify(f, len, queue, ingress, &hend);
		run_frame(f, len, ingress, queue, &r);
		if (r.err == -EOPNOTSUPP) {
			untestable++;
			continue;
		}
		perr = ring_frame_parse(f, len, RING_CSUM_OFF, &info);

		if (r.err || r.moved != 1 || r.retval != action_for(r.ctr)) {
			if (!run_bad++ && !first[0])
				snprintf(first, sizeof(first), "; iter %u: bad run (err %d, moved %d, ret %u)",
					 it, r.err, r.moved, r.retval);
			continue;
		}
		if (r.ctr != model && !model_bad++ && !first[0])
			snprintf(first, sizeof(first), "; iter %u len %u ingress %d: program %s, model %s", it,
				 len, ingress, ctr_name(r.ctr), ctr_name(model));
		addr_pass += r.ctr == XSKSHIM_CTR_PASS_MARTIAN || r.ctr == XSKSHIM_CTR_PASS_MCAST ||
			     r.ctr == XSKSHIM_CTR_PASS_NOT_LOCAL;

		m = r.ctr == XSKSHIM_CTR_REDIRECT || r.ctr == XSKSHIM_CTR_NO_XSK || r.ctr == XSKSHIM_CTR_PASS_TOO_BIG;
		if (m) {
			matched++;
			redirected += r.ctr == XSKSHIM_CTR_REDIRECT;
			if (perr == -RING_FRAME_NOT_OURS) {
				if (!not_ours++ && !first[0])
					snprintf(first, sizeof(first), "; iter %u len %u: matched but validator says %s", it, len, frame_err_name(perr));
			} else if (perr == -RING_FRAME_TRUNC) {
				/* Allowed only when every header is in the frame
				 * and an IP length field claims more: the kernel
				 * drops that too, and so does the validator. */
				if (len < hend) {
					if (!hdr_trunc++ && !first[0])
						snprintf(first, sizeof(first), "; iter %u len %u: matched, validator %s, headers end at %u", it, len, frame_err_name(perr), hend);
				} else {
					pay_trunc++;
				}
			} else if (perr != 0) {
				other_drop++;
			}
		}
		if (perr == 0 && policy_stop(r.ctr)) {
			policy++;
		} else if (perr == 0) {
			int want;

			parse_ok++;
			if (parse_stop(r.ctr)) {
				if (!parse_ok_unparsed++ && !first[0])
					snprintf(first, sizeof(first), "; iter %u: validator ok but program %s", it, ctr_name(r.ctr));
			}
			want = ref_lookup(info.family, info.dport, info.daddr, info.saddr, info.sport, queue,
					  ingress);
			if (want == XSKSHIM_CTR_REDIRECT || want == XSKSHIM_CTR_NO_XSK) {
				ok_mapped++;
				if (!m && !ok_mapped_missed++ && !first[0])
					snprintf(first, sizeof(first), "; iter %u: validator ok, port mapped, program %s", it, ctr_name(r.ctr));
			}
		}
	}
	if (ifindex) {
		xsk_del(10, 0);
		xsk_del(S_V4EW_EXACT, 0);
		xsk_del(20, 0);
		xsk_del(RP4_SLOT0 + 1, 0);
		xsk_del(RP6_SLOT0 + 2, 0);
	}

	check(run_bad == 0 && model_bad == 0 && not_ours == 0 && hdr_trunc == 0 &&
	      parse_ok_unparsed == 0 && ok_mapped_missed == 0 && matched > n / cover && ok_mapped > n / cover &&
	      addr_pass > n / 50 && (cur == &cfg_plain || policy > n / 50),
	      "%s: random+mutated frames (seed 0x%" PRIx64 ", %u, %u on lo): program agrees with the "
	      "reference model (%u differ, %u bad runs); matched %u (redirected %u), of which validator "
	      "not_ours %u, trunc inside headers %u (both must be 0; validator drops: %u with IP "
	      "length > frame, %u other bad length/IP csum); validator ok %u (+%u passed by policy: "
	      "options, MAC, VLAN), lookup says matched %u, all matched (%u missed, %u stopped "
	      "before lookup); %u passed by the address rules; %u shorter than 14 untestable%s",
	      cur->name, seed, n, on_lo, model_bad, run_bad, matched, redirected, not_ours, hdr_trunc,
	      pay_trunc, other_drop, parse_ok, policy, ok_mapped, ok_mapped_missed, parse_ok_unparsed,
	      addr_pass, untestable, first);
}

static void test_mutation(int ifindex)
{
	test_mutation_one(ifindex);
	if (use_prog(&cfg_set))
		test_mutation_one(ifindex);
	use_prog(&cfg_plain);
}

/* ---------------------------------------------------------------------- */

static char libbpf_log[32768];
static size_t libbpf_log_len;

static int libbpf_print(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	int n;

	if (getenv("XSKSHIM_VERBOSE"))
		return vfprintf(stderr, fmt, ap);
	if (lvl == LIBBPF_DEBUG)
		return 0;
	n = vsnprintf(libbpf_log + libbpf_log_len, sizeof(libbpf_log) - libbpf_log_len, fmt, ap);
	if (n > 0) {
		libbpf_log_len += (size_t)n;
		if (libbpf_log_len >= sizeof(libbpf_log))
			libbpf_log_len = sizeof(libbpf_log) - 1;
	}
	return n;
}

int main(void)
{
	const char *why = NULL;
	bool ns_ok = false, xsk_ok = false;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(libbpf_print);

	skel = xskshim__open_and_load();
	if (!skel) {
		err = errno;
		if (err == EPERM || err == EACCES) {
			skip("all XDP program tests: loading the program needs root/CAP_BPF (%s)",
			     strerror(err));
			return 0;
		}
		fputs(libbpf_log, stderr);
		check(false, "XDP program loads and passes the verifier (%s)", strerror(err));
		return 1;
	}
	check(true, "XDP program " XSKSHIM_PROG_NAME " loads and passes the verifier");
	libbpf_log_len = 0;

	prog_fd = prog_fd_plain = bpf_program__fd(skel->progs.xskshim_xdp);
	ports_fd = bpf_map__fd(skel->maps.ports);
	xsks_fd = bpf_map__fd(skel->maps.xsks);
	ctrs_fd = bpf_map__fd(skel->maps.ctrs);
	locals_fd = bpf_map__fd(skel->maps.locals);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		check(false, "libbpf_num_possible_cpus");
		return 1;
	}
	check(ports_fill() == 0, "ports map filled with the test groups");
	check(locals_fill() == 0, "locals LPM trie filled with %zu prefixes", LOCALS_CNT);

	/* The configured program: .rodata set between open and load, every
	 * map shared with the default one. */
	skel_cfg = xskshim__open();
	if (skel_cfg) {
		skel_cfg->rodata->cfg_flags = cfg_set.flags;
		memcpy(skel_cfg->rodata->cfg_mac, cfg_set.mac, 6);
		memcpy(skel_cfg->rodata->cfg_vlan_ids, cfg_set.vlan_ids, sizeof(cfg_set.vlan_ids));
		err = bpf_map__reuse_fd(skel_cfg->maps.ports, ports_fd) ||
		      bpf_map__reuse_fd(skel_cfg->maps.xsks, xsks_fd) ||
		      bpf_map__reuse_fd(skel_cfg->maps.ctrs, ctrs_fd) ||
		      bpf_map__reuse_fd(skel_cfg->maps.locals, locals_fd) ||
		      xskshim__load(skel_cfg);
		if (!err)
			prog_fd_cfg = bpf_program__fd(skel_cfg->progs.xskshim_xdp);
	}
	if (prog_fd_cfg < 0)
		fputs(libbpf_log, stderr);
	check(prog_fd_cfg >= 0, "configured program (cfg_flags 0x%x, cfg_mac 02:00:00:00:00:0b, "
	      "VLAN 100) loads and passes the verifier, sharing the maps", cfg_set.flags);
	libbpf_log_len = 0;

	{
		/* Is BPF_PROG_TEST_RUN itself allowed? */
		static const uint8_t probe[14] = { 0 };
		struct run_res r;

		run_frame(probe, sizeof(probe), 0, 0, &r);
		if (r.err == -EPERM || r.err == -EACCES) {
			skip("all XDP program tests: BPF_PROG_TEST_RUN not permitted (%s)",
			     strerror(-r.err));
			xskshim__destroy(skel);
			return n_fail ? 1 : 0;
		}
		check(run_ok(&r, XSKSHIM_CTR_PASS_NOT_IP),
		      "BPF_PROG_TEST_RUN works; an all-zero 14-byte frame (ethertype 0) -> pass_not_ip");
	}

	if (geteuid() != 0) {
		why = "not root (needs a network namespace)";
	} else if (ns_setup(&why) == 0) {
		ns_ok = true;
		wire_ifindex = ns_ifindex;
		if (xsk_setup(&why) == 0)
			xsk_ok = true;
	}

	test_table();
	test_trunc();
	if (!ns_ok) {
		skip("rx_queue_index >= %u -> pass_queue: %s", XSKSHIM_QUEUE_MAX, why);
		skip("redirect decision with a real AF_XDP socket: %s", why);
		skip("SO_REUSEPORT group member selection: %s", why);
	} else {
		struct fspec s = V4(.dport = P_V4W, .sport = 4242);

		check(true, "namespace %s with veth " NS_IF "/" NS_PEER " (%d RX queues), entered",
		      ns_name, NS_RXQ);
		one("RX queue 64 on a 72-queue veth: pass_queue", &s, 64, XSKSHIM_CTR_PASS_QUEUE);
		one("RX queue 63: matched (no_xsk)", &s, 63, XSKSHIM_CTR_NO_XSK);
		if (!xsk_ok) {
			skip("redirect decision with a real AF_XDP socket: %s", why);
			skip("SO_REUSEPORT group member selection: %s", why);
		} else {
			test_xsk();
		}
	}

	test_mutation(xsk_ok ? ns_ifindex : 0);

	xsk_teardown();
	xskshim__destroy(skel_cfg);
	xskshim__destroy(skel);
	ns_cleanup();
	printf("test_bpf: %d passed, %d failed, %d skipped\n", n_pass, n_fail, n_skip);
	return n_fail ? 1 : 0;
}
