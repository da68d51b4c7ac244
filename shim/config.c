/* config.c - XSKSHIM_* environment parsing.  Every malformed value gets one
 * error line naming the variable and the accepted forms; the process then
 * runs on the kernel path (or fails bind under XSKSHIM_REQUIRE=1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim/shim.h"

extern char **environ;

struct shim_cfg_err {
	char *why;
	size_t why_sz;
	int bad;
};

static void cfg_bad(struct shim_cfg_err *e, const char *var, const char *val, const char *forms)
{
	char shown[4 * 64 + 1];
	size_t n = 0;

	/* control characters shown escaped: a value must not forge log lines */
	for (const unsigned char *p = (const unsigned char *)val; *p && n < 64 * 4 - 4; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
			n += (size_t)snprintf(shown + n, sizeof(shown) - n, "\\x%02x", *p);
		else
			shown[n++] = (char)*p;
	}
	shown[n] = 0;
	shim_log(SHIM_LOG_ERROR, "config", "XSKSHIM_%s=\"%s\" is not valid; accepted: %s; "
		 "acceleration disabled, using the kernel path", var, shown, forms);
	if (!e->bad)
		snprintf(e->why, e->why_sz, "bad XSKSHIM_%s (accepted: %s)", var, forms);
	e->bad++;
}

/* Strict unsigned decimal: digits only, no sign, no overflow, within [lo, hi]. */
static int cfg_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > hi)
			return -ERANGE;
	}
	if (v < lo)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

/* "a,b-c,..." of unsigned numbers in [lo, hi]; calls set(v) for each. */
static int cfg_list(const char *s, uint32_t lo, uint32_t hi, void (*set)(void *, uint32_t), void *ctx)
{
	char buf[4096], *save = NULL, *tok;
	size_t len = strlen(s);
	int n = 0;

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len + 1);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		uint32_t a, b, v;

		while (*tok == ' ')
			tok++;
		if (dash) {
			*dash = 0;
			if (cfg_u32(tok, lo, hi, &a) || cfg_u32(dash + 1, lo, hi, &b) || a > b)
				return -EINVAL;
		} else {
			if (cfg_u32(tok, lo, hi, &a))
				return -EINVAL;
			b = a;
		}
		for (v = a;; v++) {
			set(ctx, v);
			n++;
			if (v == b)
				break;
		}
	}
	/* reject empty items such as "8000,,8001" or a trailing comma */
	if (strstr(s, ",,") || s[0] == ',' || s[len - 1] == ',')
		return -EINVAL;
	return n ? 0 : -EINVAL;
}

static void cfg_set_port(void *ctx, uint32_t v)
{
	struct shim_cfg *c = ctx;

	if (!shim_cfg_port(c, (uint16_t)v))
		c->port_cnt++;
	c->ports[v >> 3] |= (uint8_t)(1u << (v & 7));
}

static void cfg_set_queue(void *ctx, uint32_t v)
{
	((struct shim_cfg *)ctx)->ctl.queue_mask |= 1ull << v;
}

static int cfg_word(const char *s, const char *const *words, int cnt)
{
	for (int i = 0; i < cnt; i++)
		if (!strcmp(s, words[i]))
			return i;
	return -1;
}

static const char *const known_vars[] = {
	"IFACE", "PORTS", "MODE", "ZEROCOPY", "CSUM", "QUEUES", "FRAMES", "FILL_MIN", "RX_RING", "BATCH",
	"BUSY_POLL", "LOG", "STATS", "REQUIRE", "LINGER_MS", "TX",
};

static void cfg_defaults(struct shim_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->ctl.mode = CTL_MODE_AUTO;
	c->ctl.zerocopy = CTL_AUTO;
	c->ctl.csum = CTL_AUTO;
	c->ctl.queues_all = true;
	c->ctl.frames = 16384;
	c->ctl.fill_min = 1024;
	c->ctl.rx_sz = 4096;
	c->ctl.batch = 64;
	c->log_lvl = SHIM_LOG_WARN;
	c->ctl.linger_ms = 1000;
}

/* A variable with our prefix that we do not know is most likely a typo. */
static void cfg_warn_unknown(void)
{
	for (char **ep = environ; ep && *ep; ep++) {
		const char *name;
		size_t nl;
		bool known = false;

		if (strncmp(*ep, "XSKSHIM_", 8))
			continue;
		name = *ep + 8;
		nl = strcspn(name, "=");
		for (size_t i = 0; i < sizeof(known_vars) / sizeof(known_vars[0]); i++)
			if (strlen(known_vars[i]) == nl && !strncmp(name, known_vars[i], nl))
				known = true;
		if (!known)
			shim_log(SHIM_LOG_WARN, "config", "unknown variable XSKSHIM_%.*s ignored", (int)nl, name);
	}
}

/* The words: MODE, ZEROCOPY, CSUM, STATS, REQUIRE. */
static void cfg_load_words(struct shim_cfg *c, struct shim_cfg_err *e)
{
	static const char *const modes[] = { "auto", "native", "skb" };
	static const char *const tris[] = { "auto", "on", "off" };
	static const char *const csums[] = { "auto", "verify", "off" };
	static const char *const bools[] = { "0", "1" };
	const char *v;
	int w;

	if ((v = getenv("XSKSHIM_MODE"))) {
		if ((w = cfg_word(v, modes, 3)) < 0)
			cfg_bad(e, "MODE", v, "auto|native|skb");
		else
			c->ctl.mode = (enum ctl_mode)w;
	}
	if ((v = getenv("XSKSHIM_ZEROCOPY"))) {
		if ((w = cfg_word(v, tris, 3)) < 0)
			cfg_bad(e, "ZEROCOPY", v, "auto|on|off");
		else
			c->ctl.zerocopy = (enum ctl_tri)w;
	}
	if ((v = getenv("XSKSHIM_CSUM"))) {
		if ((w = cfg_word(v, csums, 3)) < 0)
			cfg_bad(e, "CSUM", v, "auto|verify|off");
		else
			c->ctl.csum = w == 0 ? CTL_AUTO : w == 1 ? CTL_ON : CTL_OFF;
	}
	if ((v = getenv("XSKSHIM_STATS"))) {
		if ((w = cfg_word(v, bools, 2)) < 0)
			cfg_bad(e, "STATS", v, "0|1");
		else
			c->stats = w;
	}
	if ((v = getenv("XSKSHIM_REQUIRE"))) {
		if ((w = cfg_word(v, bools, 2)) < 0)
			cfg_bad(e, "REQUIRE", v, "0|1");
		else
			c->require = w;
	}
	if ((v = getenv("XSKSHIM_TX"))) {
		static const char *const onoff[] = { "off", "on" };

		if ((w = cfg_word(v, onoff, 2)) < 0)
			cfg_bad(e, "TX", v, "off|on");
		else
			c->tx = w;
	}
}

/* The numbers: QUEUES, FRAMES, FILL_MIN, RX_RING, BATCH, BUSY_POLL,
 * LINGER_MS. */
static void cfg_load_numbers(struct shim_cfg *c, struct shim_cfg_err *e)
{
	const char *v;
	uint32_t u;

	if ((v = getenv("XSKSHIM_QUEUES")) && strcmp(v, "all")) {
		c->ctl.queues_all = false;
		if (cfg_list(v, 0, XSKSHIM_QUEUE_MAX - 1, cfg_set_queue, c))
			cfg_bad(e, "QUEUES", v, "all, or a list of queue numbers and ranges 0-63, e.g. 0,2-3");
	}
	if ((v = getenv("XSKSHIM_FRAMES"))) {
		if (cfg_u32(v, 64, 1u << 20, &u) || (u & (u - 1)))
			cfg_bad(e, "FRAMES", v, "a power of two from 64 to 1048576 (UMEM frames per queue)");
		else {
			c->ctl.frames = u;
			c->ctl.frames_set = true;
		}
	}
	if ((v = getenv("XSKSHIM_FILL_MIN"))) {
		if (cfg_u32(v, 64, 1u << 20, &u))
			cfg_bad(e, "FILL_MIN", v, "frames always posted to the kernel, 64-1048576 (capped at FRAMES)");
		else {
			c->ctl.fill_min = u;
			c->ctl.fill_min_set = true;
		}
	}
	if ((v = getenv("XSKSHIM_RX_RING"))) {
		if (cfg_u32(v, 64, 1u << 16, &u) || (u & (u - 1)))
			cfg_bad(e, "RX_RING", v, "a power of two from 64 to 65536");
		else
			c->ctl.rx_sz = u;
	}
	if ((v = getenv("XSKSHIM_BATCH"))) {
		if (cfg_u32(v, 1, 256, &u))
			cfg_bad(e, "BATCH", v, "a number from 1 to 256");
		else
			c->ctl.batch = u;
	}
	if ((v = getenv("XSKSHIM_BUSY_POLL"))) {
		if (cfg_u32(v, 0, 1000000, &u))
			cfg_bad(e, "BUSY_POLL", v, "0 (off) or busy-poll microseconds 1-1000000");
		else
			c->ctl.busy_poll_us = u;
	}
	if ((v = getenv("XSKSHIM_LINGER_MS"))) {
		if (cfg_u32(v, 0, 3600000, &u))
			cfg_bad(e, "LINGER_MS", v, "milliseconds 0-3600000");
		else
			c->ctl.linger_ms = u;
	}
	if (c->ctl.rx_sz > c->ctl.frames)
		c->ctl.rx_sz = c->ctl.frames;
}

int shim_cfg_load(struct shim_cfg *c)
{
	static const char *const lvls[] = { "error", "warn", "info", "debug" };
	struct shim_cfg_err e = { c->why, sizeof(c->why), 0 };
	const char *v;
	int w;

	cfg_defaults(c);
	/* LOG first, so the other messages obey it. */
	if ((v = getenv("XSKSHIM_LOG"))) {
		if ((w = cfg_word(v, lvls, 4)) < 0)
			cfg_bad(&e, "LOG", v, "error|warn|info|debug");
		else
			c->log_lvl = (enum shim_log_lvl)w;
	}
	cfg_warn_unknown();

	v = getenv("XSKSHIM_IFACE");
	if (!v) {
		snprintf(c->why, sizeof(c->why), "XSKSHIM_IFACE is not set");
		return 0;
	}
	c->iface_given = true;
	if (!*v || strlen(v) >= IF_NAMESIZE || strchr(v, '/') || strchr(v, ' ') || strpbrk(v, "\n\r\t"))
		cfg_bad(&e, "IFACE", v, "an interface name of at most 15 characters");
	else
		strcpy(c->ctl.iface, v);

	v = getenv("XSKSHIM_PORTS");
	if (!v)
		cfg_bad(&e, "PORTS", "", "a list of ports and ranges 1-65535, e.g. 8001,8002,9000-9010 (required)");
	else if (cfg_list(v, 1, 65535, cfg_set_port, c))
		cfg_bad(&e, "PORTS", v, "a list of ports and ranges 1-65535, e.g. 8001,8002,9000-9010");

	cfg_load_words(c, &e);
	cfg_load_numbers(c, &e);
	if (e.bad)
		return -EINVAL;
	c->active = true;
	return 0;
}
