/* text.c - xskshim-stat's human-readable rendering: the process list and
 * one process in detail, as aligned tables (design note in stat.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tools/xskshim-stat/stat.h"

/* ---- formatting ---------------------------------------------------------------- */

/* Counts: exact below 100000, then k/M/G/T with 3-4 significant digits. */
static const char *fmt_cnt(char *b, size_t sz, uint64_t v)
{
	static const char *const suf[] = { "k", "M", "G", "T", "P" };
	double d = (double)v;
	int i = -1;

	if (v < 100000) {
		snprintf(b, sz, "%" PRIu64, v);
		return b;
	}
	while (d >= 1000 && i < 4) {
		d /= 1000;
		i++;
	}
	snprintf(b, sz, d >= 100 ? "%.1f%s" : "%.2f%s", d, suf[i]);
	return b;
}

static const char *fmt_bytes(char *b, size_t sz, double v)
{
	static const char *const suf[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	int i = 0;

	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	if (!i)
		snprintf(b, sz, "%.0f B", v);
	else
		snprintf(b, sz, v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s", v, suf[i]);
	return b;
}

static const char *fmt_rate(char *b, size_t sz, double pps)
{
	if (pps < 0)
		pps = 0;
	if (pps >= 1e6)
		snprintf(b, sz, "%.2f Mpps", pps / 1e6);
	else if (pps >= 1e3)
		snprintf(b, sz, "%.1f kpps", pps / 1e3);
	else
		snprintf(b, sz, "%.0f pps", pps);
	return b;
}

static const char *fmt_pct(char *b, size_t sz, double part, double whole)
{
	if (whole <= 0)
		snprintf(b, sz, "-");
	else
		snprintf(b, sz, "%.1f%%", 100.0 * part / whole);
	return b;
}

static const char *fmt_dur(char *b, size_t sz, double s)
{
	if (s < 0)
		snprintf(b, sz, "?");
	else if (s < 120)
		snprintf(b, sz, "%.0fs", s);
	else if (s < 7200)
		snprintf(b, sz, "%ldm%02lds", (long)s / 60, (long)s % 60);
	else if (s < 172800)
		snprintf(b, sz, "%.1fh", s / 3600);
	else
		snprintf(b, sz, "%.1fd", s / 86400);
	return b;
}

/* A queue list "0", "0-3" or "0,2,5". */
static const char *fmt_queues(char *b, size_t sz, const struct xskshim_stats_sock *r)
{
	size_t n = 0;

	b[0] = 0;
	if (!r->q_cnt) {
		snprintf(b, sz, "-");
		return b;
	}
	for (uint32_t q = 0; q < r->q_cnt && n < sz; q++) {
		uint32_t a = r->xsk_queue[q], e = q;

		while (e + 1 < r->q_cnt && r->xsk_queue[e + 1] == r->xsk_queue[e] + 1)
			e++;
		if (e > q)
			n += (size_t)snprintf(b + n, sz - n, "%s%u-%u", n ? "," : "", a, r->xsk_queue[e]);
		else
			n += (size_t)snprintf(b + n, sz - n, "%s%u", n ? "," : "", a);
		q = e;
	}
	return b;
}

static const char *fmt_fds(char *b, size_t sz, const struct xskshim_stats_sock *r)
{
	size_t n = 0;

	b[0] = 0;
	if (!r->q_cnt)
		snprintf(b, sz, "-");
	for (uint32_t q = 0; q < r->q_cnt && n < sz; q++)
		n += (size_t)snprintf(b + n, sz - n, "%s%d", q ? "," : "", r->xsk_fd[q]);
	return b;
}

/* A small table printer: column widths from the content; headers starting
 * with '<' are left-aligned, others right-aligned.  The last column may be
 * free text (left-aligned, not padded). */
#define TBL_COLS 16
#define TBL_W    288

struct tbl {
	int ncol, nrow, cap;
	const char *hdr[TBL_COLS];
	bool left[TBL_COLS];
	char (*cell)[TBL_COLS][TBL_W];
};

static void tbl_init(struct tbl *t, const char *const *hdrs)
{
	memset(t, 0, sizeof(*t));
	for (; hdrs[t->ncol] && t->ncol < TBL_COLS; t->ncol++) {
		t->left[t->ncol] = hdrs[t->ncol][0] == '<';
		t->hdr[t->ncol] = hdrs[t->ncol] + t->left[t->ncol];
	}
}

static char (*tbl_row(struct tbl *t))[TBL_W]
{
	if (t->nrow == t->cap) {
		void *n = realloc(t->cell, (size_t)(t->cap = t->cap ? t->cap * 2 : 16) * sizeof(*t->cell));

		if (!n) {
			fprintf(stderr, "xskshim-stat: out of memory\n");
			exit(1);
		}
		t->cell = n;
	}
	memset(t->cell[t->nrow], 0, sizeof(*t->cell));
	return t->cell[t->nrow++];
}

static void tbl_print(struct tbl *t, const char *indent)
{
	int w[TBL_COLS];

	for (int c = 0; c < t->ncol; c++) {
		w[c] = (int)strlen(t->hdr[c]);
		for (int r = 0; r < t->nrow; r++)
			if ((int)strlen(t->cell[r][c]) > w[c])
				w[c] = (int)strlen(t->cell[r][c]);
	}
	for (int r = -1; r < t->nrow; r++) {
		char line[TBL_COLS * (TBL_W + 2) + 8];
		size_t n = 0;

		for (int c = 0; c < t->ncol; c++) {
			const char *v = r < 0 ? t->hdr[c] : t->cell[r][c];
			bool last = c == t->ncol - 1;

			if (t->left[c])
				n += (size_t)snprintf(line + n, sizeof(line) - n, "%-*s%s", last ? 0 : w[c], v,
						      last ? "" : "  ");
			else
				n += (size_t)snprintf(line + n, sizeof(line) - n, "%*s%s", w[c], v,
						      last ? "" : "  ");
		}
		while (n && line[n - 1] == ' ')
			line[--n] = 0;
		printf("%s%s\n", indent, line);
	}
	free(t->cell);
	t->cell = NULL;
	t->nrow = t->cap = 0;
}

/* ---- one process -------------------------------------------------------------------- */

/* Print t (or "(none)" / `empty` when it has no rows) and release it. */
static void tbl_print_or(struct tbl *t, const char *empty)
{
	if (t->nrow) {
		tbl_print(t, "  ");
		return;
	}
	printf("  %s\n", empty);
	free(t->cell);
	t->cell = NULL;
}

/* A new row of t for socket record r, its FD and PORT cells filled. */
static char (*text_sock_row(struct tbl *t, const struct xskshim_stats_sock *r))[TBL_W]
{
	char (*row)[TBL_W] = tbl_row(t);

	snprintf(row[0], TBL_W, "%d", r->fd);
	snprintf(row[1], TBL_W, "%u", r->port);
	return row;
}

static void text_one_head(const struct snap *s)
{
	uint32_t socks = 0, accel = 0;

	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++)
		if (s->h.sock[i].state != XSKSHIM_ST_FREE) {
			socks++;
			accel += s->h.sock[i].state == XSKSHIM_ST_ACCEL;
		}
	printf("  interface  %s\n", s->h.iface[0] ? s->h.iface : "-");
	printf("  XDP        %s", s->h.desc[0] ? s->h.desc : "not installed");
	if (s->h.prog_id)
		printf("  (prog id %u, counters map id %u)", s->h.prog_id, s->h.ctrs_map_id);
	printf("\n");
	printf("  UMEM       %u frames per queue\n", s->h.frame_cnt);
	printf("  config     %s\n", s->h.config_why[0] ? s->h.config_why : "ok");
	printf("  sockets    %u, %u accelerated\n", socks, accel);
}

static void text_one_sockets(const struct snap *s)
{
	struct tbl t;

	printf("\nSOCKETS\n");
	tbl_init(&t, (const char *const[]){ "FD", "PORT", "<FAMILY", "<ACCELERATED", "<QUEUES", "<AF_XDP FDS",
					    "<REASON", NULL });
	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++) {
		const struct xskshim_stats_sock *r = &s->h.sock[i];
		char (*row)[TBL_W];

		if (r->state == XSKSHIM_ST_FREE)
			continue;
		row = text_sock_row(&t, r);
		snprintf(row[2], TBL_W, "ipv%u", r->family);
		snprintf(row[3], TBL_W, "%s", r->state == XSKSHIM_ST_ACCEL ? "yes" : "no");
		fmt_queues(row[4], TBL_W, r);
		fmt_fds(row[5], TBL_W, r);
		snprintf(row[6], TBL_W, "%s", r->state == XSKSHIM_ST_ACCEL ? "" : r->why[0] ? r->why : "?");
	}
	tbl_print_or(&t, "(none)");
}

/* One COUNTERS row's cells after FD and PORT; p is the previous record (or
 * NULL) when rates are shown over dt seconds. */
static void text_counter_cells(char (*row)[TBL_W], int k, const struct xskshim_stats_ctr *c,
			       const struct xskshim_stats_sock *p, bool rates, double dt)
{
	char b1[64];

	if (rates) {
		double rx = p ? rate_of(c->rx_xdp, p->c.rx_xdp, dt) : 0;
		double rk = p ? rate_of(c->rx_kernel, p->c.rx_kernel, dt) : 0;
		double rd = p ? rate_of(ctr_drops(c), ctr_drops(&p->c), dt) : 0;

		fmt_cnt(row[k++], TBL_W, c->rx_xdp);
		fmt_rate(row[k++], TBL_W, rx);
		fmt_cnt(row[k++], TBL_W, c->rx_kernel);
		fmt_rate(row[k++], TBL_W, rk);
		fmt_pct(row[k++], TBL_W, rk, rx + rk);
		fmt_bytes(row[k++], TBL_W, (double)c->rx_xdp_bytes);
		snprintf(row[k++], TBL_W, "%s/s",
			 fmt_bytes(b1, sizeof(b1), p ? rate_of(c->rx_xdp_bytes, p->c.rx_xdp_bytes, dt) : 0));
		fmt_cnt(row[k++], TBL_W, ctr_drops(c));
		fmt_pct(row[k++], TBL_W, rd, rx + rd);
	} else {
		fmt_cnt(row[k++], TBL_W, c->rx_xdp);
		fmt_cnt(row[k++], TBL_W, c->rx_kernel);
		fmt_pct(row[k++], TBL_W, (double)c->rx_kernel, (double)(c->rx_xdp + c->rx_kernel));
		fmt_bytes(row[k++], TBL_W, (double)c->rx_xdp_bytes);
		fmt_cnt(row[k++], TBL_W, ctr_drops(c));
		fmt_pct(row[k++], TBL_W, (double)ctr_drops(c), (double)(c->rx_xdp + ctr_drops(c)));
	}
	fmt_cnt(row[k++], TBL_W, c->drop_peer);
	fmt_cnt(row[k++], TBL_W, c->waits);
}

static void text_one_counters(const struct snap *s, const struct snap *prev, bool rates, double dt)
{
	struct tbl t;

	printf("\nCOUNTERS%s\n", rates ? "  (rates over the last interval)" : "");
	if (rates)
		tbl_init(&t, (const char *const[]){ "FD", "PORT", "RX AF_XDP", "RATE", "RX KERNEL", "RATE",
						    "KERNEL%", "RX BYTES", "BYTES/S", "DROPS", "DROP%", "DROP_PEER",
						    "WAITS", NULL });
	else
		tbl_init(&t, (const char *const[]){ "FD", "PORT", "RX AF_XDP", "RX KERNEL", "KERNEL%",
						    "RX BYTES", "DROPS", "DROP%", "DROP_PEER", "WAITS", NULL });
	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++) {
		const struct xskshim_stats_sock *r = &s->h.sock[i];
		char (*row)[TBL_W];

		if (r->state == XSKSHIM_ST_FREE)
			continue;
		row = text_sock_row(&t, r);
		text_counter_cells(row, 2, &r->c, prev_rec(prev, s, i), rates, dt);
	}
	tbl_print_or(&t, "(none)");
}

/* drops by reason (validation of AF_XDP frames) */
static void text_one_drops(const struct snap *s)
{
	const char *hd[XSKSHIM_STATS_DROP_CNT + 3] = { "FD", "PORT" };
	struct tbl t;
	int k = 2;

	for (unsigned e = 1; e < XSKSHIM_STATS_DROP_CNT; e++)
		hd[k++] = stat_drop_names[e];
	hd[k] = NULL;
	printf("\nDROPS BY REASON (AF_XDP frames failing validation)\n");
	tbl_init(&t, hd);
	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++) {
		const struct xskshim_stats_sock *r = &s->h.sock[i];
		char (*row)[TBL_W];

		if (r->state == XSKSHIM_ST_FREE)
			continue;
		row = text_sock_row(&t, r);
		for (unsigned e = 1; e < XSKSHIM_STATS_DROP_CNT; e++)
			fmt_cnt(row[1 + e], TBL_W, r->c.drop[e]);
	}
	tbl_print_or(&t, "(none)");
}

/* transmit (XSKSHIM_TX=on): shown once any socket sent */
static void text_one_tx(const struct snap *s)
{
	const char *const *why = stat_tx_why_names;
	struct tbl t;
	bool any = false;

	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++)
		any |= s->h.sock[i].state != XSKSHIM_ST_FREE && (s->h.sock[i].c.tx_xdp || s->h.sock[i].c.tx_kernel);
	if (!any)
		return;
	printf("\nTRANSMIT (XSKSHIM_TX=on)\n");
	tbl_init(&t, (const char *const[]){ "FD", "PORT", "TX AF_XDP", "TX BYTES", "TX KERNEL", "TX FULL",
					    "COMPLETIONS", "KERNEL BY REASON", NULL });
	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++) {
		const struct xskshim_stats_sock *r = &s->h.sock[i];
		char (*row)[TBL_W];
		int n = 0;

		if (r->state == XSKSHIM_ST_FREE || !(r->c.tx_xdp || r->c.tx_kernel))
			continue;
		row = text_sock_row(&t, r);
		fmt_cnt(row[2], TBL_W, r->c.tx_xdp);
		fmt_bytes(row[3], TBL_W, (double)r->c.tx_xdp_bytes);
		fmt_cnt(row[4], TBL_W, r->c.tx_kernel);
		fmt_cnt(row[5], TBL_W, r->c.tx_full);
		fmt_cnt(row[6], TBL_W, r->c.tx_completions);
		row[7][0] = 0;
		for (unsigned w = 1; w < XSKSHIM_STATS_TX_WHY_CNT && n < TBL_W; w++)
			if (r->c.tx_kernel_why[w])
				n += snprintf(row[7] + n, TBL_W - (size_t)n, "%s%s %llu", n ? ", " : "", why[w],
					      (unsigned long long)r->c.tx_kernel_why[w]);
	}
	tbl_print_or(&t, "(none)");
}

/* dead holders: shown once a lock was taken over */
static void text_one_dead(const struct snap *s)
{
	struct tbl t;
	bool any = false;

	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++)
		any |= s->h.sock[i].state != XSKSHIM_ST_FREE && s->h.sock[i].c.lock_takeovers;
	if (!any)
		return;
	printf("\nDEAD HOLDERS (locks taken over from a thread killed inside a call)\n");
	tbl_init(&t, (const char *const[]){ "FD", "PORT", "TAKEOVERS", "FRAMES GIVEN BACK", NULL });
	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++) {
		const struct xskshim_stats_sock *r = &s->h.sock[i];
		char (*row)[TBL_W];

		if (r->state == XSKSHIM_ST_FREE || !r->c.lock_takeovers)
			continue;
		row = text_sock_row(&t, r);
		fmt_cnt(row[2], TBL_W, r->c.lock_takeovers);
		fmt_cnt(row[3], TBL_W, r->c.reclaimed);
	}
	tbl_print_or(&t, "(none)");
}

/* XDP_STATISTICS per AF_XDP socket (one per socket and queue) */
static void text_one_xsk(const struct snap *s)
{
	struct tbl t;

	printf("\nAF_XDP SOCKETS (XDP_STATISTICS, per queue)\n");
	if (s->xs_err[0]) {
		printf("  not available: %s\n", s->xs_err);
		return;
	}
	tbl_init(&t, (const char *const[]){ "FD", "PORT", "QUEUE", "XSK FD", "RX_DROPPED", "RX_INVALID_DESCS",
					    "RX_RING_FULL", "RX_FILL_RING_EMPTY", "ON RX RING", NULL });
	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++) {
		const struct xskshim_stats_sock *r = &s->h.sock[i];

		if (r->state != XSKSHIM_ST_ACCEL)
			continue;
		for (uint32_t q = 0; q < r->q_cnt; q++) {
			char (*row)[TBL_W] = tbl_row(&t);
			const struct xdp_statistics *x = &s->xs[i][q];

			snprintf(row[0], TBL_W, "%d", r->fd);
			snprintf(row[1], TBL_W, "%u", r->port);
			snprintf(row[2], TBL_W, "%u", r->xsk_queue[q]);
			snprintf(row[3], TBL_W, "%d", r->xsk_fd[q]);
			if (s->rx_ring_ok[i][q])
				fmt_cnt(row[8], TBL_W, s->rx_ring[i][q]);
			else
				snprintf(row[8], TBL_W, "?");
			if (!s->xs_ok[i][q]) {
				for (int k = 4; k < 8; k++)
					snprintf(row[k], TBL_W, "?");
				continue;
			}
			fmt_cnt(row[4], TBL_W, x->rx_dropped);
			fmt_cnt(row[5], TBL_W, x->rx_invalid_descs);
			fmt_cnt(row[6], TBL_W, x->rx_ring_full);
			fmt_cnt(row[7], TBL_W, x->rx_fill_ring_empty_descs);
		}
	}
	tbl_print_or(&t, "(no accelerated sockets)");
	if (s->fill_rings >= 0)
		printf("  fill rings: %" PRIu64 " frames posted to the kernel on %d ring(s), of %u UMEM frames per queue\n",
		       s->fill_posted, s->fill_rings, s->h.frame_cnt);
	if (s->rings_err[0])
		printf("  ring occupancy not available: %s\n", s->rings_err);
}

/* XDP program counters */
static void text_one_xdp(const struct snap *s, const struct snap *prev, bool rates, double dt)
{
	bool with_rate = rates && prev->ctrs_ok;
	uint64_t all = 0;
	struct tbl t;

	printf("\nXDP PROGRAM COUNTERS");
	if (s->ctrs_ok)
		printf(" (summed over %d CPUs)", s->ctrs_cpus);
	printf("\n");
	if (!s->ctrs_ok) {
		printf("  not available: %s\n", s->ctrs_err);
		return;
	}
	for (unsigned c = 0; c < XSKSHIM_STATS_XDP_CNT; c++)
		all += s->ctrs[c];
	if (with_rate)
		tbl_init(&t, (const char *const[]){ "<COUNTER", "PACKETS", "RATE", "SHARE", NULL });
	else
		tbl_init(&t, (const char *const[]){ "<COUNTER", "PACKETS", "SHARE", NULL });
	for (unsigned c = 0; c < XSKSHIM_STATS_XDP_CNT; c++) {
		char (*row)[TBL_W] = tbl_row(&t);
		int k = 0;

		snprintf(row[k++], TBL_W, "%s", stat_xdp_names[c]);
		fmt_cnt(row[k++], TBL_W, s->ctrs[c]);
		if (with_rate)
			fmt_rate(row[k++], TBL_W, rate_of(s->ctrs[c], prev->ctrs[c], dt));
		fmt_pct(row[k++], TBL_W, (double)s->ctrs[c], (double)all);
	}
	tbl_print(&t, "  ");
}

void text_show_one(const struct snap *s, const struct snap *prev)
{
	double dt = prev ? s->t - prev->t : 0;
	bool rates = prev && dt > 0;
	char b1[64];

	printf("%s (pid %d)  %s", s->h.comm[0] ? s->h.comm : "?", s->pid, stat_state_names[s->state]);
	if (s->state == REG_LIVE)
		printf(", up %s", fmt_dur(b1, sizeof(b1), s->uptime_s));
	else
		printf(": %s", s->state_why);
	printf("\n");
	if (s->state == REG_STALE)
		printf("  STALE: the process is gone; %s (xskshim-stat --clean %d removes the region)\n",
		       s->valid ? "these are its last counters" : "its region is unreadable", s->pid);
	if (!s->valid)
		return;
	text_one_head(s);
	text_one_sockets(s);
	text_one_counters(s, prev, rates, dt);
	text_one_drops(s);
	text_one_tx(s);
	text_one_dead(s);
	if (s->state == REG_LIVE) {
		text_one_xsk(s);
		text_one_xdp(s, prev, rates, dt);
	}
	for (int i = 0; i < s->note_cnt; i++)
		printf("note: %s\n", s->notes[i]);
}

/* ---- the list ------------------------------------------------------------------------- */

/* One process row of the list; p is its previous snapshot (or NULL) when
 * rates are shown over dt seconds. */
static void text_list_row(struct tbl *t, const struct snap *s, const struct snap *p, bool rates, double dt)
{
	char (*row)[TBL_W] = tbl_row(t);
	struct snap_sums c, pc;
	int k = 0;

	snap_sum(s, &c);
	snprintf(row[k++], TBL_W, "%d", s->pid);
	snprintf(row[k++], TBL_W, "%s", s->h.comm[0] ? s->h.comm : "?");
	snprintf(row[k++], TBL_W, "%s", stat_state_names[s->state]);
	snprintf(row[k++], TBL_W, "%s", s->h.iface[0] ? s->h.iface : "-");
	snprintf(row[k++], TBL_W, "%u", c.socks);
	snprintf(row[k++], TBL_W, "%u", c.accel);
	fmt_cnt(row[k++], TBL_W, c.rx_xdp);
	if (rates) {
		pc = c;
		if (p)
			snap_sum(p, &pc);
		if (s->state == REG_LIVE)
			fmt_rate(row[k++], TBL_W, rate_of(c.rx_xdp, pc.rx_xdp, dt));
		else
			snprintf(row[k++], TBL_W, "-");
		fmt_cnt(row[k++], TBL_W, c.rx_kernel);
		if (s->state == REG_LIVE)
			fmt_rate(row[k++], TBL_W, rate_of(c.rx_kernel, pc.rx_kernel, dt));
		else
			snprintf(row[k++], TBL_W, "-");
	} else {
		fmt_cnt(row[k++], TBL_W, c.rx_kernel);
	}
	fmt_cnt(row[k++], TBL_W, c.drops);
	if (s->state != REG_LIVE)
		snprintf(row[k++], TBL_W, "%s", s->state_why);
	else if (s->h.config_why[0])
		snprintf(row[k++], TBL_W, "config: %s", s->h.config_why);
	else
		snprintf(row[k++], TBL_W, "%s", s->h.desc[0] ? s->h.desc : "XDP not installed");
}

void text_show_list(const struct list_ent *v, int n, const struct list_ent *pv, int pn, double dt)
{
	bool rates = pv && dt > 0;
	int stale = 0;
	struct tbl t;

	if (!n) {
		printf("no processes under xskshim (no " STAT_DIR "/" STAT_PREFIX "* regions)\n");
		return;
	}
	if (rates)
		tbl_init(&t, (const char *const[]){ "PID", "<COMM", "<STATE", "<IFACE", "SOCKETS", "ACCEL",
						    "RX AF_XDP", "RATE", "RX KERNEL", "RATE", "DROPS",
						    "<XDP / REASON", NULL });
	else
		tbl_init(&t, (const char *const[]){ "PID", "<COMM", "<STATE", "<IFACE", "SOCKETS", "ACCEL",
						    "RX AF_XDP", "RX KERNEL", "DROPS", "<XDP / REASON", NULL });
	for (int i = 0; i < n; i++) {
		stale += v[i].s->state == REG_STALE;
		text_list_row(&t, v[i].s, rates ? list_find(pv, pn, v[i].s) : NULL, rates, dt);
	}
	tbl_print(&t, "");
	if (stale)
		printf("%d stale region(s) left by processes that died without cleaning up; "
		       "`xskshim-stat --clean` removes them\n", stale);
}
