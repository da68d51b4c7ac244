/* check.c - `xskshim check`: judge the facts probe.c reads against what the
 * shim needs, one line per fact, and a verdict (design note in xskshim.h).
 * Lines start with "ok", "warn" (works, with a cost or a caveat), "FAIL"
 * (the shim would stay on the kernel path) or "info". */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/if_link.h>

#include "tools/xskshim/xskshim.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#define FRAME_SZ       2048u
#define FRAMES_DEFAULT 16384u
#define FRAMES_MIN     1024u
#define XSKSHIM_PROG   "xskshim_xdp"

struct verdict {
	int fails;
	int warns;
	char first_fail[512];
};

static void say(struct verdict *v, const char *level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(struct verdict *v, const char *level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printf("%-5s %s\n", level, line);
	if (!strcmp(level, "FAIL") && !v->fails++)
		snprintf(v->first_fail, sizeof(v->first_fail), "%s", line);
	v->warns += !strcmp(level, "warn");
}

static const char *attach_mode_name(uint8_t m)
{
	switch (m) {
	case XDP_ATTACHED_DRV: return "native";
	case XDP_ATTACHED_SKB: return "skb";
	case XDP_ATTACHED_HW: return "offloaded";
	case XDP_ATTACHED_MULTI: return "several modes";
	default: return "unknown mode";
	}
}

/* Interface, driver, XDP modes, queues.  *native: native mode would be used. */
static void check_iface(struct verdict *v, const struct launch_opts *o, const struct probe_iface *p, bool *native)
{
	const char *mode = o->mode ? o->mode : "auto";
	bool can_native = p->xdp_features_known == 1 && (p->xdp_features & PROBE_XDP_ACT_REDIRECT);

	say(v, p->up ? "ok" : "warn", "interface %s: ifindex %d, %s", o->iface, p->ifindex,
	    p->up ? "up" : "DOWN (no traffic until it is up)");
	say(v, "info", "driver: %s", p->driver[0] ? p->driver : "unknown (no ethtool driver info)");
	*native = false;
	if (p->xdp_features_known != 1) {
		say(v, strcmp(mode, "native") ? "info" : "warn",
		    "XDP features not reported by this kernel (before 6.3): native mode is tried at bind%s",
		    strcmp(mode, "native") ? ", skb mode if it fails" : "");
		*native = strcmp(mode, "skb") != 0;
	} else if (!strcmp(mode, "skb")) {
		say(v, "ok", "XDP mode skb (forced; native is %s)", can_native ? "supported" : "not supported");
	} else if (can_native) {
		say(v, "ok", "XDP mode native: the driver supports XDP with redirect");
		*native = true;
	} else if (!strcmp(mode, "native")) {
		say(v, "FAIL", "XDP mode native forced, but %s's driver does not support native XDP redirect", o->iface);
	} else {
		say(v, "warn", "XDP mode skb: the driver has no native XDP redirect (slower than native)");
	}
	if (p->rx_queues < 0)
		say(v, "warn", "RX queues: unknown; the shim binds every RX queue it finds");
	else
		say(v, "ok", "RX queues: %d; the shim binds %s (packets on other queues take the kernel path)",
		    p->rx_queues, o->queues ? o->queues : "all of them");
}

static void check_foreign(struct verdict *v, const struct probe_iface *p)
{
	if (!p->xdp_prog_id) {
		say(v, "ok", "no XDP program attached");
		return;
	}
	if (!strcmp(p->xdp_prog_name, XSKSHIM_PROG))
		say(v, "FAIL", "another xskshim process's XDP program (id %u, %s) is attached: one per interface",
		    p->xdp_prog_id, attach_mode_name(p->xdp_attach_mode));
	else if (p->xdp_prog_name[0])
		say(v, "FAIL", "a foreign XDP program id %u '%s' (%s) is attached: the shim never replaces it",
		    p->xdp_prog_id, p->xdp_prog_name, attach_mode_name(p->xdp_attach_mode));
	else
		say(v, "FAIL", "an XDP program id %u (%s) is attached (its name needs CAP_SYS_ADMIN to read): "
		    "the shim never replaces it", p->xdp_prog_id, attach_mode_name(p->xdp_attach_mode));
}

static void check_caps(struct verdict *v)
{
	bool bpf = probe_cap(CAP_BPF) || probe_cap(CAP_SYS_ADMIN);
	bool admin = probe_cap(CAP_NET_ADMIN), raw = probe_cap(CAP_NET_RAW);
	char miss[128] = "";

	if (!bpf)
		strcat(miss, " CAP_BPF");
	if (!admin)
		strcat(miss, " CAP_NET_ADMIN");
	if (!raw)
		strcat(miss, " CAP_NET_RAW");
	if (miss[0])
		say(v, "FAIL", "capabilities missing:%s (loading XDP needs CAP_BPF and CAP_NET_ADMIN, AF_XDP "
		    "sockets CAP_NET_RAW; systemd: AmbientCapabilities=)", miss);
	else
		say(v, "ok", "capabilities: CAP_BPF (or CAP_SYS_ADMIN), CAP_NET_ADMIN, CAP_NET_RAW");
}

/* Locked memory: the UMEMs are queues x frames x 2 KiB, counted against
 * RLIMIT_MEMLOCK without CAP_IPC_LOCK (with some slack: the limit is the
 * user's, and other locked pages count too). */
static void check_memlock(struct verdict *v, const struct launch_opts *o, int queues)
{
	uint64_t frames = o->frames ? strtoull(o->frames, NULL, 10) : FRAMES_DEFAULT, lim = 0;
	uint64_t need = (uint64_t)(queues > 0 ? queues : 1) * frames * FRAME_SZ;

	if (probe_cap(CAP_IPC_LOCK)) {
		say(v, "ok", "locked memory: CAP_IPC_LOCK, %llu MiB of UMEM for %d queue(s) x %llu frames",
		    (unsigned long long)(need >> 20), queues > 0 ? queues : 1, (unsigned long long)frames);
		return;
	}
	if (probe_memlock(&lim) || lim > need) {
		say(v, "ok", "locked memory: RLIMIT_MEMLOCK %s covers %llu MiB of UMEM",
		    lim == UINT64_MAX ? "unlimited" : "limit", (unsigned long long)(need >> 20));
		return;
	}
	if (o->frames) {
		say(v, "FAIL", "locked memory: RLIMIT_MEMLOCK %llu KiB < %llu KiB of UMEM for %s frames "
		    "(give CAP_IPC_LOCK or LimitMEMLOCK=, or fewer --frames)", (unsigned long long)(lim >> 10),
		    (unsigned long long)(need >> 10), o->frames);
		return;
	}
	while (frames > FRAMES_MIN && need >= lim) {
		frames /= 2;
		need /= 2;
	}
	if (need >= lim)
		say(v, "FAIL", "locked memory: RLIMIT_MEMLOCK %llu KiB holds not even %u frames per queue "
		    "(give CAP_IPC_LOCK or LimitMEMLOCK=)", (unsigned long long)(lim >> 10), FRAMES_MIN);
	else
		say(v, "warn", "locked memory: no CAP_IPC_LOCK and RLIMIT_MEMLOCK %llu KiB: the shim shrinks "
		    "the UMEM to %llu frames per queue", (unsigned long long)(lim >> 10), (unsigned long long)frames);
}

static void check_zerocopy(struct verdict *v, const struct launch_opts *o, const struct probe_iface *p, bool native)
{
	const char *zc = o->zerocopy ? o->zerocopy : "auto";
	bool can = native && p->xdp_features_known == 1 && (p->xdp_features & PROBE_XDP_ACT_XSK_ZEROCOPY);

	if (!strcmp(zc, "off"))
		say(v, "ok", "zero-copy: off (copy mode)");
	else if (can)
		say(v, "ok", "zero-copy: supported by the driver%s", strcmp(zc, "on") ? " (auto uses it)" : "");
	else if (!strcmp(zc, "on"))
		say(v, "FAIL", "zero-copy forced on, but %s", native ? "the driver does not support AF_XDP zero-copy"
		    : "zero-copy needs native mode");
	else
		say(v, "info", "zero-copy: not supported here; copy mode");
}

int check_run(const struct launch_opts *o)
{
	struct verdict v = { 0 };
	struct probe_iface p;
	char why[160], lib[4096];
	bool native = false;

	printf("xskshim check: interface %s, ports %s\n", o->iface, o->ports);
	if (ports_parse(o->ports, why, sizeof(why)))
		say(&v, "FAIL", "ports %s", why);
	else
		say(&v, "ok", "ports %s", o->ports);
	probe_iface(o->iface, &p);
	if (!p.ifindex) {
		say(&v, "FAIL", "no interface %s in this network namespace", o->iface);
	} else {
		check_iface(&v, o, &p, &native);
		check_foreign(&v, &p);
	}
	check_caps(&v);
	check_memlock(&v, o, p.rx_queues);
	if (p.ifindex)
		check_zerocopy(&v, o, &p, native);
	if (launch_lib_path(o, lib, sizeof(lib)))
		say(&v, "FAIL", "the library %s is missing", lib);
	else
		say(&v, "ok", "library %s", lib);
	if (v.fails)
		printf("verdict: NOT accelerated (%d problem%s): %s\n", v.fails, v.fails > 1 ? "s" : "", v.first_fail);
	else
		printf("verdict: would be accelerated (%s mode%s)\n", native ? "native" : "skb",
		       v.warns ? ", see the warnings" : "");
	return v.fails ? 1 : 0;
}
