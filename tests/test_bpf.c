/* test_bpf.c - the XDP program (bpf/xskshim.bpf.c) under BPF_PROG_TEST_RUN.
 *
 * Crafted frames go through the real program; for each we check the return
 * value and that exactly the expected per-CPU reason counter moved by one.
 *
 *   1. table of single frames: every ethertype, VLAN tags, IPv4 options,
 *      fragments, bad headers, IPv6 extension headers, mapped/unmapped
 *      ports, exact/wildcard addresses, invalid groups;
 *   2. truncation of several frames at every length from 0 up (lengths
 *      below ETH_HLEN are reached by putting the missing bytes in XDP
 *      metadata, which the test-run API requires to be present);
 *   3. in a private network namespace with a veth pair: a real AF_XDP
 *      socket in the XSKMAP, so the actual redirect decision is checked
 *      (exact before wildcard, SO_REUSEPORT group member choice by the flow
 *      hash, RX queue index, queue index >= XSKSHIM_QUEUE_MAX);
 *   4. random and mutated frames: the program agrees with a reference
 *      model of its specification, never matches a frame the validator
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

static struct xskshim *skel;
static int prog_fd, ports_fd, xsks_fd, ctrs_fd, ncpus;
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
	uint8_t proto = s->proto ? s->proto : 17;
	const uint8_t *sa = s->saddr ? s->saddr : (s->family == 6 ? A6_SRC : A4_SRC);
	const uint8_t *da = s->daddr ? s->daddr : (s->family == 6 ? A6_LOCAL : A4_LOCAL);
	uint16_t etype = s->etype ? s->etype : s->family == 4 ? ETH_P_IP_ :
			 s->family == 6 ? ETH_P_IPV6_ : ETH_P_ARP_;
	uint32_t off = 12, l3, l4, i, udp_len = 8u + s->paylen, len;
	uint32_t acc;

	memcpy(f, macs, 12);
	for (i = 0; i < s->nvlan; i++) {
		put16(f + off, s->tpid[i]);
		put16(f + off + 2, (uint16_t)(100 + i));    /* TCI: VLAN id */
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
	err |= port_add(6, P_V6W, A_ZERO, 1, 20);
	err |= port_add(6, P_V6E, A6_LOCAL, 1, 21);
	err |= port_add(6, P_DUAL, A_ZERO, 1, 22);
	err |= port_add(4, P_DUAL, A_ZERO, 1, 22);
	err |= port_add(4, P_RP4, A_ZERO, RP_SIZE, RP4_SLOT0);
	err |= port_add(6, P_RP6, A_ZERO, RP_SIZE, RP6_SLOT0);
	return err;
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

/* The lookup half: returns the counter for a parsed UDP datagram. */
static int ref_lookup(uint8_t family, uint16_t dport_ne, const uint8_t *daddr,
		      uint32_t saddr_fold, uint16_t sport_ne, uint32_t queue)
{
	struct xskshim_port_key k = { .family = family, .port = dport_ne };
	struct xskshim_port_val v;
	uint32_t idx;

	memcpy(k.addr, daddr, family == 4 ? 4 : 16);
	if (bpf_map_lookup_elem(ports_fd, &k, &v) != 0) {
		memset(k.addr, 0, sizeof(k.addr));
		if (bpf_map_lookup_elem(ports_fd, &k, &v) != 0)
			return XSKSHIM_CTR_PASS_NO_PORT;
	}
	if (v.slot_cnt == 0 || v.slot_cnt > XSKSHIM_GROUP_MAX)
		return XSKSHIM_CTR_PASS_NO_PORT;
	if (queue >= XSKSHIM_QUEUE_MAX)
		return XSKSHIM_CTR_PASS_QUEUE;
	idx = v.slots[xskshim_flow_hash(saddr_fold, sport_ne, dport_ne) % v.slot_cnt] *
	      XSKSHIM_QUEUE_MAX + queue;
	return idx < XSKSHIM_XSKMAP_SZ && xsk_present[idx] ? XSKSHIM_CTR_REDIRECT
							    : XSKSHIM_CTR_NO_XSK;
}

/* What the program must count for this frame; *hdr_end gets the end of the
 * UDP header when the frame reaches the lookup. */
static int ref_classify(const uint8_t *f, uint32_t len, uint32_t queue, uint32_t *hdr_end)
{
	uint32_t off = 14, i, fold = 0, w;
	uint16_t et, sport, dport;
	uint8_t daddr[16] = { 0 };
	uint8_t family;

	*hdr_end = 0;
	if (len < 14)
		return XSKSHIM_CTR_PASS_TRUNC;
	et = get16(f + 12);
	for (i = 0; i < 2 && (et == ETH_P_8021Q_ || et == ETH_P_8021AD_); i++) {
		if (len < off + 4)
			return XSKSHIM_CTR_PASS_TRUNC;
		et = get16(f + off + 2);
		off += 4;
	}
	if (et == ETH_P_IP_) {
		uint32_t hl;

		if (len < off + 20)
			return XSKSHIM_CTR_PASS_TRUNC;
		if ((f[off] >> 4) != 4 || (f[off] & 15) < 5)
			return XSKSHIM_CTR_PASS_BAD_HDR;
		hl = (f[off] & 15u) * 4;
		if (len < off + hl)
			return XSKSHIM_CTR_PASS_TRUNC;
		if (get16(f + off + 6) & 0x3fff)
			return XSKSHIM_CTR_PASS_FRAG;
		if (f[off + 9] != 17)
			return XSKSHIM_CTR_PASS_NOT_UDP;
		if (len < off + hl + 8)
			return XSKSHIM_CTR_PASS_TRUNC;
		family = 4;
		memcpy(daddr, f + off + 16, 4);
		memcpy(&fold, f + off + 12, 4);
		off += hl;
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
		memcpy(daddr, f + off + 24, 16);
		for (i = 0; i < 4; i++) {
			memcpy(&w, f + off + 8 + 4 * i, 4);
			fold ^= w;
		}
		off += 40;
	} else {
		return XSKSHIM_CTR_PASS_NOT_IP;
	}
	*hdr_end = off + 8;
	memcpy(&sport, f + off, 2);
	memcpy(&dport, f + off + 2, 2);
	return ref_lookup(family, dport, daddr, fold, sport, queue);
}

/* ---------------------------------------------------------------------- */
/* 1. Table of single frames                                               */
/* ---------------------------------------------------------------------- */

struct tcase {
	const char  *what;
	struct fspec s;
	int          expect;     /* counter */
};

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
	{ "IPv4, one 802.1ad tag", V4(.nvlan = 1, .tpid = { ETH_P_8021AD_ }, .dport = P_V4W, .sport = 7), XSKSHIM_CTR_NO_XSK },
	{ "IPv4, 802.1ad + 802.1Q tags (QinQ)", V4(.nvlan = 2, .tpid = { ETH_P_8021AD_, ETH_P_8021Q_ }, .dport = P_V4W, .sport = 7), XSKSHIM_CTR_NO_XSK },
	{ "IPv4, 802.1Q + 802.1Q tags", V4(.nvlan = 2, .tpid = { ETH_P_8021Q_, ETH_P_8021Q_ }, .dport = P_V4W, .sport = 7), XSKSHIM_CTR_NO_XSK },
	{ "IPv4, 802.1ad + 802.1ad tags", V4(.nvlan = 2, .tpid = { ETH_P_8021AD_, ETH_P_8021AD_ }, .dport = P_V4W, .sport = 7), XSKSHIM_CTR_NO_XSK },
	{ "IPv4, two tags, unmapped port", V4(.nvlan = 2, .tpid = { ETH_P_8021AD_, ETH_P_8021Q_ }, .dport = P_UNMAP, .sport = 7), XSKSHIM_CTR_PASS_NO_PORT },
	{ "IPv4, three tags (not parsed)", V4(.nvlan = 3, .tpid = { ETH_P_8021AD_, ETH_P_8021Q_, ETH_P_8021Q_ }, .dport = P_V4W, .sport = 7), XSKSHIM_CTR_PASS_NOT_IP },
	{ "IPv6, one 802.1Q tag", V6(.nvlan = 1, .tpid = { ETH_P_8021Q_ }, .dport = P_V6W, .sport = 7), XSKSHIM_CTR_NO_XSK },
	{ "IPv6, 802.1ad + 802.1Q tags", V6(.nvlan = 2, .tpid = { ETH_P_8021AD_, ETH_P_8021Q_ }, .dport = P_V6W, .sport = 7), XSKSHIM_CTR_NO_XSK },
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
	{ "IPv4 specific + wildcard entries, other destination falls back to the wildcard", V4(.dport = P_V4EW, .daddr = A4_OTHER), XSKSHIM_CTR_NO_XSK },
	{ "IPv6 specific-address entry, right destination", V6(.dport = P_V6E, .daddr = A6_LOCAL), XSKSHIM_CTR_NO_XSK },
	{ "IPv6 specific-address entry, wrong destination", V6(.dport = P_V6E, .daddr = A6_OTHER), XSKSHIM_CTR_PASS_NO_PORT },
	{ "IPv6 frame to an IPv4-mapped-looking key (v4 addr bytes) not matched", V6(.dport = P_V4E, .daddr = A4_LOCAL), XSKSHIM_CTR_PASS_NO_PORT },
	{ "group with slot_cnt 0 treated as unmapped", V4(.dport = P_CNT0), XSKSHIM_CTR_PASS_NO_PORT },
	{ "group with slot_cnt 17 treated as unmapped", V4(.dport = P_CNT17), XSKSHIM_CTR_PASS_NO_PORT },
	{ "slot beyond the XSKMAP size falls back to XDP_PASS", V4(.dport = P_BIGSLOT), XSKSHIM_CTR_NO_XSK },
};

static void test_table(void)
{
	uint8_t f[2048];
	uint32_t l3, l4, len, hend;
	size_t i;
	int ihl;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct tcase *c = &table[i];
		struct run_res r;
		int model;
		char d[128];

		len = build(&c->s, f, &l3, &l4);
		model = ref_classify(f, len, 0, &hend);
		run_frame(f, len, 0, 0, &r);
		run_describe(&r, d, sizeof(d));
		check(run_ok(&r, c->expect) && model == c->expect, "%s -> %s (%s; model %s)", c->what,
		      ctr_names[c->expect], d, ctr_name(model));
	}

	for (ihl = 6; ihl <= 15; ihl++) {
		struct fspec s = { .family = 4, .ihl = (uint8_t)ihl, .dport = P_V4W, .sport = 77, .paylen = 5 };
		struct run_res r;
		char d[128];

		len = build(&s, f, &l3, &l4);
		run_frame(f, len, 0, 0, &r);
		run_describe(&r, d, sizeof(d));
		check(run_ok(&r, XSKSHIM_CTR_NO_XSK),
		      "IPv4 with options, IHL %d, mapped port still matched -> no_xsk (%s)", ihl, d);
	}
	for (ihl = 6; ihl <= 15; ihl += 9) {
		struct fspec s = { .family = 4, .ihl = (uint8_t)ihl, .dport = P_UNMAP, .sport = 77 };
		struct run_res r;
		char d[128];

		len = build(&s, f, &l3, &l4);
		run_frame(f, len, 0, 0, &r);
		run_describe(&r, d, sizeof(d));
		check(run_ok(&r, XSKSHIM_CTR_PASS_NO_PORT),
		      "IPv4 with options, IHL %d, unmapped port -> pass_no_port (%s)", ihl, d);
	}
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

enum { NEED_UDP, NEED_ETYPE, NEED_IPHDR, NEED_IP6FIX };

static uint32_t trunc_need(const struct tcase_trunc *t, uint32_t l3, uint32_t l4)
{
	switch (t->need_kind) {
	case NEED_UDP:   return l4 + 8;        /* all headers through UDP */
	case NEED_ETYPE: return l3;            /* the (last) ethertype */
	case NEED_IP6FIX: return l3 + 40;      /* fixed IPv6 header */
	default:         return l4;            /* IP header incl. options/ext */
	}
}

static const struct tcase_trunc trunc_cases[] = {
	{ "IPv4 UDP", V4(.dport = P_V4W, .sport = 3, .paylen = 6), XSKSHIM_CTR_NO_XSK, NEED_UDP },
	{ "IPv4 UDP with 40 bytes of options (IHL 15)", V4(.ihl = 15, .dport = P_V4W, .sport = 3, .paylen = 6), XSKSHIM_CTR_NO_XSK, NEED_UDP },
	{ "IPv4 UDP with IHL 6", V4(.ihl = 6, .dport = P_V4W, .sport = 3, .paylen = 2), XSKSHIM_CTR_NO_XSK, NEED_UDP },
	{ "IPv4 UDP behind 802.1ad + 802.1Q", V4(.nvlan = 2, .tpid = { ETH_P_8021AD_, ETH_P_8021Q_ }, .dport = P_V4W, .sport = 3, .paylen = 6), XSKSHIM_CTR_NO_XSK, NEED_UDP },
	{ "IPv4 UDP behind 802.1Q", V4(.nvlan = 1, .tpid = { ETH_P_8021Q_ }, .dport = P_V4W, .sport = 3, .paylen = 1), XSKSHIM_CTR_NO_XSK, NEED_UDP },
	{ "IPv4 UDP unmapped", V4(.dport = P_UNMAP, .sport = 3, .paylen = 2), XSKSHIM_CTR_PASS_NO_PORT, NEED_UDP },
	{ "IPv6 UDP", V6(.dport = P_V6W, .sport = 3, .paylen = 6), XSKSHIM_CTR_NO_XSK, NEED_UDP },
	{ "IPv6 UDP behind 802.1ad", V6(.nvlan = 1, .tpid = { ETH_P_8021AD_ }, .dport = P_V6W, .sport = 3, .paylen = 2), XSKSHIM_CTR_NO_XSK, NEED_UDP },
	{ "IPv6 UDP behind 802.1Q + 802.1Q", V6(.nvlan = 2, .tpid = { ETH_P_8021Q_, ETH_P_8021Q_ }, .dport = P_V6W, .sport = 3, .paylen = 2), XSKSHIM_CTR_NO_XSK, NEED_UDP },
	{ "IPv6 with routing header", V6(.v6_ext = EXT(43), .dport = P_V6W, .sport = 3), XSKSHIM_CTR_PASS_IPV6_EXT, NEED_IP6FIX },
	{ "IPv6 ICMPv6", V6(.proto = 58, .dport = P_V6W, .sport = 3), XSKSHIM_CTR_PASS_NOT_UDP, NEED_IP6FIX },
	{ "IPv4 TCP", V4(.proto = 6, .dport = P_V4W, .sport = 3), XSKSHIM_CTR_PASS_NOT_UDP, NEED_IPHDR },
	{ "IPv4 fragment with IHL 7", V4(.ihl = 7, .frag = 0x2000, .dport = P_V4W, .sport = 3), XSKSHIM_CTR_PASS_FRAG, NEED_IPHDR },
	{ "ARP", { .family = 0, .etype = ETH_P_ARP_ }, XSKSHIM_CTR_PASS_NOT_IP, NEED_ETYPE },
	{ "ARP behind 802.1Q + 802.1ad", { .family = 0, .etype = ETH_P_ARP_, .nvlan = 2, .tpid = { ETH_P_8021Q_, ETH_P_8021AD_ } }, XSKSHIM_CTR_PASS_NOT_IP, NEED_ETYPE },
};

static void test_trunc(void)
{
	uint8_t f[2048];
	size_t i;

	for (i = 0; i < sizeof(trunc_cases) / sizeof(trunc_cases[0]); i++) {
		const struct tcase_trunc *t = &trunc_cases[i];
		uint32_t l3, l4, len = build(&t->s, f, &l3, &l4), need, n, bad = 0, hend, skipped = 0;
		char first[256] = "";

		need = trunc_need(t, l3, l4);
		for (n = 0; n <= len; n++) {
			int expect = n < need ? XSKSHIM_CTR_PASS_TRUNC : t->final;
			int model = ref_classify(f, n, 0, &hend);
			struct run_res r;

			run_frame(f, n, 0, 0, &r);
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
		check(bad == 0, "%s truncated at every length 0..%u: pass_trunc below %u bytes, %s at %u and above, never matched early (%u wrong%s%s)",
		      t->what, len, need, ctr_names[t->final], need, bad, first,
		      skipped ? "; lengths < 14 not testable on this kernel" : "");
	}
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
	int model = ref_classify(f, len, queue, &hend);
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
	one("same, IHL 15: XDP_REDIRECT", &s, 0, XSKSHIM_CTR_REDIRECT);
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
	static const uint16_t v4ports[] = { P_V4W, P_V4E, P_V4EW, P_DUAL, P_RP4, P_CNT0, P_BIGSLOT, P_UNMAP };
	static const uint16_t v6ports[] = { P_V6W, P_V6E, P_DUAL, P_RP6, P_V6UNMAP, P_V4W };
	static const uint8_t *const v4addrs[] = { A4_LOCAL, A4_OTHER, A_ZERO };
	static const uint8_t *const v6addrs[] = { A6_LOCAL, A6_OTHER, A_ZERO };
	static uint8_t rsaddr[16];
	struct fspec s = { 0 };
	uint32_t i;

	s.family = rndn(2) ? 4 : 6;
	s.nvlan = (uint8_t)rndn(3);
	for (i = 0; i < s.nvlan; i++)
		s.tpid[i] = rndn(2) ? ETH_P_8021Q_ : ETH_P_8021AD_;
	for (i = 0; i < 16; i++)
		rsaddr[i] = (uint8_t)rnd();
	s.saddr = rndn(2) ? rsaddr : NULL;
	s.sport = (uint16_t)rnd();
	if (s.family == 4) {
		s.ihl = rndn(3) ? 5 : (uint8_t)(5 + rndn(11));
		s.dport = rndn(8) ? v4ports[rndn(sizeof(v4ports) / sizeof(v4ports[0]))] : (uint16_t)rnd();
		s.daddr = v4addrs[rndn(3)];
		if (!rndn(8))
			s.frag = 0x4000;
	} else {
		s.dport = rndn(8) ? v6ports[rndn(sizeof(v6ports) / sizeof(v6ports[0]))] : (uint16_t)rnd();
		s.daddr = v6addrs[rndn(3)];
	}
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

static void test_mutation(int ifindex)
{
	const char *env_seed = getenv("XSKSHIM_SEED"), *env_n = getenv("XSKSHIM_MUTATIONS");
	uint64_t seed = env_seed ? strtoull(env_seed, NULL, 0) : 0x5eedf00d2024ULL;
	uint32_t n = env_n ? (uint32_t)strtoul(env_n, NULL, 0) : 20000, it;
	uint32_t matched = 0, redirected = 0, model_bad = 0, run_bad = 0, not_ours = 0;
	uint32_t hdr_trunc = 0, pay_trunc = 0, ok_mapped = 0, ok_mapped_missed = 0;
	uint32_t parse_ok = 0, parse_ok_unparsed = 0, other_drop = 0, untestable = 0;
	static uint8_t f[4096];
	char first[256] = "";

	rng_state = seed ? seed : 1;
	printf("mutation run: seed 0x%" PRIx64 " (XSKSHIM_SEED), %u frames, queue %s\n", seed, n,
	       ifindex ? "random 0..71 on " NS_IF : "0");
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
		int model, perr;
		bool m;

		len = mutate(f, len, 3000, l3, l4);
		if (ifindex && !rndn(4))
			queue = rndn(NS_RXQ);
		model = ref_classify(f, len, queue, &hend);
		run_frame(f, len, ifindex, queue, &r);
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
			snprintf(first, sizeof(first), "; iter %u len %u: program %s, model %s", it,
				 len, ctr_name(r.ctr), ctr_name(model));

		m = r.ctr == XSKSHIM_CTR_REDIRECT || r.ctr == XSKSHIM_CTR_NO_XSK;
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
		if (perr == 0) {
			int want;

			parse_ok++;
			if (r.ctr != XSKSHIM_CTR_REDIRECT && r.ctr != XSKSHIM_CTR_NO_XSK &&
			    r.ctr != XSKSHIM_CTR_PASS_NO_PORT && r.ctr != XSKSHIM_CTR_PASS_QUEUE) {
				if (!parse_ok_unparsed++ && !first[0])
					snprintf(first, sizeof(first), "; iter %u: validator ok but program %s", it, ctr_name(r.ctr));
			}
			{
				uint32_t fold = 0, w, i;

				if (info.family == 4) {
					memcpy(&fold, info.saddr, 4);
				} else {
					for (i = 0; i < 4; i++) {
						memcpy(&w, info.saddr + 4 * i, 4);
						fold ^= w;
					}
				}
				want = ref_lookup(info.family, info.dport, info.daddr, fold, info.sport, queue);
			}
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
	      parse_ok_unparsed == 0 && ok_mapped_missed == 0 && matched > n / 20 && ok_mapped > n / 20,
	      "random+mutated frames (seed 0x%" PRIx64 ", %u): program agrees with the reference "
	      "model (%u differ, %u bad runs); matched %u (redirected %u), of which validator "
	      "not_ours %u, trunc inside headers %u (both must be 0; validator drops: %u with IP "
	      "length > frame, %u other bad length/IP csum); validator ok %u, port mapped %u, all "
	      "matched (%u missed, %u stopped before lookup); %u shorter than 14 untestable%s",
	      seed, n, model_bad, run_bad, matched, redirected, not_ours, hdr_trunc, pay_trunc,
	      other_drop, parse_ok, ok_mapped, ok_mapped_missed, parse_ok_unparsed, untestable, first);
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

	prog_fd = bpf_program__fd(skel->progs.xskshim_xdp);
	ports_fd = bpf_map__fd(skel->maps.ports);
	xsks_fd = bpf_map__fd(skel->maps.xsks);
	ctrs_fd = bpf_map__fd(skel->maps.ctrs);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		check(false, "libbpf_num_possible_cpus");
		return 1;
	}
	check(ports_fill() == 0, "ports map filled with the test groups");

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

	test_table();
	test_trunc();

	if (geteuid() != 0) {
		why = "not root (needs a network namespace)";
	} else if (ns_setup(&why) == 0) {
		ns_ok = true;
		if (xsk_setup(&why) == 0)
			xsk_ok = true;
	}
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
	xskshim__destroy(skel);
	ns_cleanup();
	printf("test_bpf: %d passed, %d failed, %d skipped\n", n_pass, n_fail, n_skip);
	return n_fail ? 1 : 0;
}
