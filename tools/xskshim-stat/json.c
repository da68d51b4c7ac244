/* json.c - xskshim-stat's JSON rendering: one document per line, for the
 * process list and for one process (design note in stat.h). */
#include <inttypes.h>
#include <string.h>

#include "tools/xskshim-stat/stat.h"

/* ---- JSON ------------------------------------------------------------------------ */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_kstr(const char *k, const char *v, bool comma)
{
	printf("\"%s\":", k);
	json_str(v);
	if (comma)
		putchar(',');
}

static void json_ku(const char *k, uint64_t v, bool comma)
{
	printf("\"%s\":%" PRIu64 "%s", k, v, comma ? "," : "");
}

static void json_kd(const char *k, double v, bool comma)
{
	printf("\"%s\":%.3f%s", k, v, comma ? "," : "");
}

static void json_ctr(const struct xskshim_stats_ctr *c)
{
	printf("{");
	json_ku("rx_xdp", c->rx_xdp, true);
	json_ku("rx_xdp_bytes", c->rx_xdp_bytes, true);
	json_ku("rx_kernel", c->rx_kernel, true);
	printf("\"drop\":{");
	for (unsigned e = 1; e < XSKSHIM_STATS_DROP_CNT; e++)
		json_ku(stat_drop_names[e], c->drop[e], e + 1 < XSKSHIM_STATS_DROP_CNT);
	printf("},");
	json_ku("drop_total", ctr_drops(c), true);
	json_ku("drop_peer", c->drop_peer, true);
	json_ku("spill_unseen", c->spill_unseen, true);
	json_ku("waits", c->waits, true);
	json_ku("tx_xdp", c->tx_xdp, true);
	json_ku("tx_xdp_bytes", c->tx_xdp_bytes, true);
	json_ku("tx_kernel", c->tx_kernel, true);
	{
		const char *const *why = stat_tx_why_names;

		printf("\"tx_kernel_by_reason\":{");
		for (unsigned w = 1; w < XSKSHIM_STATS_TX_WHY_CNT; w++)
			json_ku(why[w], c->tx_kernel_why[w], w + 1 < XSKSHIM_STATS_TX_WHY_CNT);
		printf("},");
	}
	json_ku("tx_full", c->tx_full, true);
	json_ku("tx_waits", c->tx_waits, true);
	json_ku("tx_completions", c->tx_completions, true);
	json_ku("lock_takeovers", c->lock_takeovers, true);
	json_ku("reclaimed", c->reclaimed, false);
	printf("}");
}

/* One socket record i (p: its previous record, or NULL, when rates are
 * shown over dt seconds). */
static void json_one_sock(const struct snap *s, uint32_t i, const struct xskshim_stats_sock *p, bool rates,
			  double dt)
{
	const struct xskshim_stats_sock *r = &s->h.sock[i];

	printf("{");
	json_ku("record", i, true);
	printf("\"fd\":%d,", r->fd);
	json_ku("port", r->port, true);
	json_ku("family", r->family, true);
	printf("\"accelerated\":%s,", r->state == XSKSHIM_ST_ACCEL ? "true" : "false");
	json_kstr("reason", r->state == XSKSHIM_ST_ACCEL ? "" : r->why, true);
	json_ku("slot", r->slot, true);
	printf("\"queues\":[");
	for (uint32_t q = 0; q < r->q_cnt; q++) {
		printf("%s{", q ? "," : "");
		json_ku("queue", r->xsk_queue[q], true);
		printf("\"xsk_fd\":%d,\"rx_ring_entries\":", r->xsk_fd[q]);
		if (s->state == REG_LIVE && s->rx_ring_ok[i][q])
			printf("%u", s->rx_ring[i][q]);
		else
			printf("null");
		printf(",\"xdp_statistics\":");
		if (s->state == REG_LIVE && s->xs_ok[i][q]) {
			const struct xdp_statistics *x = &s->xs[i][q];

			printf("{");
			json_ku("rx_dropped", x->rx_dropped, true);
			json_ku("rx_invalid_descs", x->rx_invalid_descs, true);
			json_ku("rx_ring_full", x->rx_ring_full, true);
			json_ku("rx_fill_ring_empty_descs", x->rx_fill_ring_empty_descs, false);
			printf("}");
		} else {
			printf("null");
		}
		printf("}");
	}
	printf("],\"counters\":");
	json_ctr(&r->c);
	if (rates) {
		printf(",\"rates\":{");
		json_kd("rx_xdp_pps", p ? rate_of(r->c.rx_xdp, p->c.rx_xdp, dt) : 0, true);
		json_kd("rx_kernel_pps", p ? rate_of(r->c.rx_kernel, p->c.rx_kernel, dt) : 0, true);
		json_kd("rx_xdp_bytes_per_s", p ? rate_of(r->c.rx_xdp_bytes, p->c.rx_xdp_bytes, dt) : 0, true);
		json_kd("drop_pps", p ? rate_of(ctr_drops(&r->c), ctr_drops(&p->c), dt) : 0, false);
		printf("}");
	}
	printf("}");
}

/* The XDP program's counters (and their rates), the errors, the notes. */
static void json_one_tail(const struct snap *s, const struct snap *prev, bool rates, double dt)
{
	printf("\"xdp_statistics_error\":");
	if (s->state != REG_LIVE)
		json_str("process not live");
	else if (s->xs_err[0])
		json_str(s->xs_err);
	else
		printf("null");
	printf(",\"fill_ring_entries\":");
	if (s->state == REG_LIVE && s->fill_rings >= 0)
		printf("%" PRIu64, s->fill_posted);
	else
		printf("null");
	printf(",\"rings_error\":");
	if (s->state == REG_LIVE && s->rings_err[0])
		json_str(s->rings_err);
	else
		printf("null");
	printf(",\"xdp_counters\":");
	if (s->state == REG_LIVE && s->ctrs_ok) {
		printf("{");
		json_ku("cpus", (uint64_t)s->ctrs_cpus, true);
		for (unsigned c = 0; c < XSKSHIM_STATS_XDP_CNT; c++)
			json_ku(stat_xdp_names[c], s->ctrs[c], c + 1 < XSKSHIM_STATS_XDP_CNT);
		printf("}");
		if (rates && prev->ctrs_ok) {
			printf(",\"xdp_counter_rates\":{");
			for (unsigned c = 0; c < XSKSHIM_STATS_XDP_CNT; c++)
				json_kd(stat_xdp_names[c], rate_of(s->ctrs[c], prev->ctrs[c], dt),
					c + 1 < XSKSHIM_STATS_XDP_CNT);
			printf("}");
		}
	} else {
		printf("null");
	}
	printf(",\"xdp_counters_error\":");
	if (s->state != REG_LIVE)
		json_str("process not live");
	else if (!s->ctrs_ok)
		json_str(s->ctrs_err);
	else
		printf("null");
	printf(",\"notes\":[");
	for (int i = 0; i < s->note_cnt; i++) {
		if (i)
			putchar(',');
		json_str(s->notes[i]);
	}
	printf("]");
}

void json_show_one(const struct snap *s, const struct snap *prev)
{
	double dt = prev ? s->t - prev->t : 0;
	bool rates = prev && dt > 0;
	bool first = true;

	printf("{");
	json_ku("pid", (uint64_t)s->pid, true);
	json_kstr("comm", s->h.comm, true);
	json_kstr("state", stat_state_json[s->state], true);
	json_kstr("state_reason", s->state_why, true);
	json_kstr("path", s->path, true);
	if (!s->valid) {
		printf("\"sockets\":[]}\n");
		return;
	}
	json_ku("version", s->version_found, true);
	json_ku("starttime", s->h.starttime, true);
	if (s->uptime_s >= 0)
		json_kd("uptime_s", s->uptime_s, true);
	json_kstr("iface", s->h.iface, true);
	json_kstr("desc", s->h.desc, true);
	printf("\"config_ok\":%s,", s->h.config_why[0] ? "false" : "true");
	json_kstr("config_problem", s->h.config_why, true);
	json_ku("prog_id", s->h.prog_id, true);
	json_ku("ctrs_map_id", s->h.ctrs_map_id, true);
	json_ku("frame_cnt", s->h.frame_cnt, true);
	if (rates)
		json_kd("interval_s", dt, true);
	printf("\"sockets\":[");
	for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++) {
		if (s->h.sock[i].state == XSKSHIM_ST_FREE)
			continue;
		if (!first)
			putchar(',');
		first = false;
		json_one_sock(s, i, prev_rec(prev, s, i), rates, dt);
	}
	printf("],");
	json_one_tail(s, prev, rates, dt);
	printf("}\n");
}

void json_show_list(const struct list_ent *v, int n, const struct list_ent *pv, int pn, double dt)
{
	bool rates = pv && dt > 0;

	printf("{\"processes\":[");
	for (int i = 0; i < n; i++) {
		const struct snap *s = v[i].s;
		struct snap_sums c, pc;

		snap_sum(s, &c);
		printf("%s{", i ? "," : "");
		json_ku("pid", (uint64_t)s->pid, true);
		json_kstr("comm", s->h.comm, true);
		json_kstr("state", stat_state_json[s->state], true);
		json_kstr("state_reason", s->state_why, true);
		json_kstr("path", s->path, true);
		json_kstr("iface", s->h.iface, true);
		json_kstr("desc", s->h.desc, true);
		json_kstr("config_problem", s->h.config_why, true);
		json_ku("sockets", c.socks, true);
		json_ku("accelerated", c.accel, true);
		json_ku("rx_xdp", c.rx_xdp, true);
		json_ku("rx_kernel", c.rx_kernel, true);
		json_ku("drops", c.drops, rates);
		if (rates) {
			const struct snap *p = list_find(pv, pn, s);

			pc = c;
			if (p)
				snap_sum(p, &pc);
			json_kd("rx_xdp_pps", rate_of(c.rx_xdp, pc.rx_xdp, dt), true);
			json_kd("rx_kernel_pps", rate_of(c.rx_kernel, pc.rx_kernel, dt), false);
		}
		printf("}");
	}
	printf("]}\n");
}
