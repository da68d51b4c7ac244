/* prom.c - xskshim-stat's Prometheus rendering: the text exposition format
 * (version 0.0.4, which node_exporter's textfile collector and promtool
 * read), one scrape of every live process, and its atomic textfile.
 *
 * Naming follows the Prometheus conventions: the `xskshim_` prefix, base
 * units, counters end in `_total`, every family has one HELP and one TYPE
 * line and all its samples together, label values are escaped (\\, \", \n).
 * Labels: pid and comm name the process; fd, port and family the socket
 * (fd is the application's fd when the socket was created); queue the RX
 * queue; path, reason, action what a sample counts.  Only live processes
 * are rendered (a stale region's counters belong to a process that is
 * gone); xskshim_regions counts every region by state.
 *
 * Rendering reads nothing: it formats snapshots collect.c made. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/xskshim-stat/stat.h"

/* A label value, escaped as the exposition format requires. */
static void prom_esc(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void prom_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* `name{pid="..",comm=".."` - the caller adds labels, then prom_val. */
static void prom_open(FILE *f, const char *name, const struct snap *s)
{
	fprintf(f, "%s{pid=\"%d\",comm=\"", name, s->pid);
	prom_esc(f, s->h.comm);
	fputc('"', f);
}

static void prom_sock_labels(FILE *f, const struct xskshim_stats_sock *r)
{
	fprintf(f, ",fd=\"%d\",port=\"%u\",family=\"ipv%u\"", r->fd, r->port, r->family);
}

static void prom_val(FILE *f, uint64_t v)
{
	fprintf(f, "} %" PRIu64 "\n", v);
}

static bool prom_live(const struct snap *s)
{
	return s->valid && s->state == REG_LIVE;
}

typedef void prom_sock_fn(FILE *f, const struct snap *s, uint32_t i, const struct xskshim_stats_sock *r);

/* One family: HELP and TYPE, then fn over every socket record in use of
 * every live process. */
static void prom_sock_family(FILE *f, const struct list_ent *v, int n, const char *name, const char *type,
			     const char *help, prom_sock_fn *fn)
{
	prom_family(f, name, type, help);
	for (int p = 0; p < n; p++) {
		const struct snap *s = v[p].s;

		if (!prom_live(s))
			continue;
		for (uint32_t i = 0; i < XSKSHIM_STATS_SOCKS; i++)
			if (s->h.sock[i].state != XSKSHIM_ST_FREE)
				fn(f, s, i, &s->h.sock[i]);
	}
}

static void prom_regions(FILE *f, const struct list_ent *v, int n)
{
	static const char *const names[] = { "live", "stale", "starting", "invalid" };
	int cnt[4] = { 0 };

	for (int i = 0; i < n; i++)
		cnt[v[i].s->state]++;
	prom_family(f, "xskshim_regions", "gauge",
		    "Statistics regions in /dev/shm by state (stale: the process is gone; xskshim-stat --clean).");
	for (int k = 0; k < 4; k++)
		fprintf(f, "xskshim_regions{state=\"%s\"} %d\n", names[k], cnt[k]);
}

static void prom_processes(FILE *f, const struct list_ent *v, int n)
{
	prom_family(f, "xskshim_process_info", "gauge",
		    "A live process under xskshim (always 1); xdp describes its XDP attachment, config_problem "
		    "why its configuration is inactive.");
	for (int i = 0; i < n; i++) {
		const struct snap *s = v[i].s;

		if (!prom_live(s))
			continue;
		prom_open(f, "xskshim_process_info", s);
		fputs(",iface=\"", f);
		prom_esc(f, s->h.iface);
		fputs("\",xdp=\"", f);
		prom_esc(f, s->h.desc[0] ? s->h.desc : "not installed");
		fputs("\",config_problem=\"", f);
		prom_esc(f, s->h.config_why);
		fputc('"', f);
		prom_val(f, 1);
	}
	prom_family(f, "xskshim_umem_frames", "gauge", "UMEM frames (2 KiB each) per RX queue.");
	for (int i = 0; i < n; i++)
		if (prom_live(v[i].s)) {
			prom_open(f, "xskshim_umem_frames", v[i].s);
			prom_val(f, v[i].s->h.frame_cnt);
		}
	prom_family(f, "xskshim_fill_ring_entries", "gauge",
		    "UMEM frames posted to the kernel on the process's fill rings (all RX queues).");
	for (int i = 0; i < n; i++)
		if (prom_live(v[i].s) && v[i].s->fill_rings >= 0) {
			prom_open(f, "xskshim_fill_ring_entries", v[i].s);
			prom_val(f, v[i].s->fill_posted);
		}
}

/* A socket's one-counter sample: FN writes METRIC with the socket's labels
 * and its counter FIELD (struct xskshim_stats_ctr). */
#define PROM_SOCK_CTR(fn, metric, field)                                                                   \
	static void fn(FILE *f, const struct snap *s, uint32_t i, const struct xskshim_stats_sock *r)        \
	{                                                                                                  \
		(void)i;                                                                                   \
		prom_open(f, metric, s);                                                                   \
		prom_sock_labels(f, r);                                                                    \
		prom_val(f, r->c.field);                                                                   \
	}
PROM_SOCK_CTR(prom_s_unseen, "xskshim_socket_spill_unseen_packets_total", spill_unseen)
PROM_SOCK_CTR(prom_s_waits, "xskshim_socket_blocking_waits_total", waits)
PROM_SOCK_CTR(prom_s_tx_full, "xskshim_socket_tx_ring_full_total", tx_full)
PROM_SOCK_CTR(prom_s_tx_done, "xskshim_socket_tx_completions_total", tx_completions)
PROM_SOCK_CTR(prom_s_takeovers, "xskshim_socket_lock_takeovers_total", lock_takeovers)
PROM_SOCK_CTR(prom_s_reclaimed, "xskshim_socket_reclaimed_frames_total", reclaimed)

static void prom_s_accel(FILE *f, const struct snap *s, uint32_t i, const struct xskshim_stats_sock *r)
{
	(void)i;
	prom_open(f, "xskshim_socket_accelerated", s);
	prom_sock_labels(f, r);
	fputs(",reason=\"", f);
	prom_esc(f, r->state == XSKSHIM_ST_ACCEL ? "" : r->why[0] ? r->why : "unknown");
	fputc('"', f);
	prom_val(f, r->state == XSKSHIM_ST_ACCEL);
}

static void prom_s_rx(FILE *f, const struct snap *s, uint32_t i, const struct xskshim_stats_sock *r)
{
	(void)i;
	prom_open(f, "xskshim_socket_received_packets_total", s);
	prom_sock_labels(f, r);
	fputs(",path=\"af_xdp\"", f);
	prom_val(f, r->c.rx_xdp);
	prom_open(f, "xskshim_socket_received_packets_total", s);
	prom_sock_labels(f, r);
	fputs(",path=\"kernel\"", f);
	prom_val(f, r->c.rx_kernel);
}

static void prom_s_bytes(FILE *f, const struct snap *s, uint32_t i, const struct xskshim_stats_sock *r)
{
	(void)i;
	prom_open(f, "xskshim_socket_received_bytes_total", s);
	prom_sock_labels(f, r);
	fputs(",path=\"af_xdp\"", f);
	prom_val(f, r->c.rx_xdp_bytes);
}

/* Validation drops by reason (index 0 is "ok"), then the peer filter's. */
static void prom_s_drops(FILE *f, const struct snap *s, uint32_t i, const struct xskshim_stats_sock *r)
{
	(void)i;
	for (unsigned e = 1; e <= XSKSHIM_STATS_DROP_CNT; e++) {
		prom_open(f, "xskshim_socket_dropped_packets_total", s);
		prom_sock_labels(f, r);
		fprintf(f, ",reason=\"%s\"", e < XSKSHIM_STATS_DROP_CNT ? stat_drop_names[e] : "peer");
		prom_val(f, e < XSKSHIM_STATS_DROP_CNT ? r->c.drop[e] : r->c.drop_peer);
	}
}

/* XDP_STATISTICS of the socket's AF_XDP sockets (one per queue). */
static void prom_s_xsk_drops(FILE *f, const struct snap *s, uint32_t i, const struct xskshim_stats_sock *r)
{
	static const char *const why[] = { "rx_dropped", "rx_ring_full", "rx_invalid_descs" };

	for (uint32_t q = 0; q < r->q_cnt; q++) {
		const struct xdp_statistics *x = &s->xs[i][q];
		uint64_t val[] = { x->rx_dropped, x->rx_ring_full, x->rx_invalid_descs };

		if (!s->xs_ok[i][q])
			continue;
		for (int k = 0; k < 3; k++) {
			prom_open(f, "xskshim_xsk_dropped_packets_total", s);
			prom_sock_labels(f, r);
			fprintf(f, ",queue=\"%u\",reason=\"%s\"", r->xsk_queue[q], why[k]);
			prom_val(f, val[k]);
		}
	}
}

static void prom_s_fill_empty(FILE *f, const struct snap *s, uint32_t i, const struct xskshim_stats_sock *r)
{
	for (uint32_t q = 0; q < r->q_cnt; q++) {
		if (!s->xs_ok[i][q])
			continue;
		prom_open(f, "xskshim_xsk_fill_ring_empty_total", s);
		prom_sock_labels(f, r);
		fprintf(f, ",queue=\"%u\"", r->xsk_queue[q]);
		prom_val(f, s->xs[i][q].rx_fill_ring_empty_descs);
	}
}

static void prom_s_rx_ring(FILE *f, const struct snap *s, uint32_t i, const struct xskshim_stats_sock *r)
{
	for (uint32_t q = 0; q < r->q_cnt; q++) {
		if (!s->rx_ring_ok[i][q])
			continue;
		prom_open(f, "xskshim_xsk_rx_ring_entries", s);
		prom_sock_labels(f, r);
		fprintf(f, ",queue=\"%u\"", r->xsk_queue[q]);
		prom_val(f, s->rx_ring[i][q]);
	}
}

/* Transmit (XSKSHIM_TX=on): datagrams by path, bytes, and why a datagram
 * of an accelerated socket went through the kernel. */
static void prom_s_tx(FILE *f, const struct snap *s, uint32_t i, const struct xskshim_stats_sock *r)
{
	(void)i;
	prom_open(f, "xskshim_socket_sent_packets_total", s);
	prom_sock_labels(f, r);
	fputs(",path=\"af_xdp\"", f);
	prom_val(f, r->c.tx_xdp);
	prom_open(f, "xskshim_socket_sent_packets_total", s);
	prom_sock_labels(f, r);
	fputs(",path=\"kernel\"", f);
	prom_val(f, r->c.tx_kernel);
}

static void prom_s_tx_bytes(FILE *f, const struct snap *s, uint32_t i, const struct xskshim_stats_sock *r)
{
	(void)i;
	prom_open(f, "xskshim_socket_sent_bytes_total", s);
	prom_sock_labels(f, r);
	fputs(",path=\"af_xdp\"", f);
	prom_val(f, r->c.tx_xdp_bytes);
}

static void prom_s_tx_why(FILE *f, const struct snap *s, uint32_t i, const struct xskshim_stats_sock *r)
{
	(void)i;
	for (unsigned w = 1; w < XSKSHIM_STATS_TX_WHY_CNT; w++) {
		prom_open(f, "xskshim_socket_sent_kernel_path_packets_total", s);
		prom_sock_labels(f, r);
		fprintf(f, ",reason=\"%s\"", stat_tx_why_names[w]);
		prom_val(f, r->c.tx_kernel_why[w]);
	}
}

static void prom_transmit(FILE *f, const struct list_ent *v, int n)
{
	prom_sock_family(f, v, n, "xskshim_socket_sent_packets_total", "counter",
			 "Datagrams the application sent, by path (af_xdp: through the AF_XDP TX ring with "
			 "XSKSHIM_TX=on; kernel: through its kernel socket, counted when XSKSHIM_TX=on).", prom_s_tx);
	prom_sock_family(f, v, n, "xskshim_socket_sent_bytes_total", "counter",
			 "UDP payload bytes sent through the AF_XDP TX ring.", prom_s_tx_bytes);
	prom_sock_family(f, v, n, "xskshim_socket_sent_kernel_path_packets_total", "counter",
			 "Datagrams of an accelerated socket with XSKSHIM_TX=on sent through the kernel, by reason.",
			 prom_s_tx_why);
	prom_sock_family(f, v, n, "xskshim_socket_tx_ring_full_total", "counter",
			 "Sends that found no free frame or no TX ring room at once.", prom_s_tx_full);
	prom_sock_family(f, v, n, "xskshim_socket_tx_completions_total", "counter",
			 "Completion ring entries the socket's sends reaped.", prom_s_tx_done);
}

/* dead holders: workers killed inside a receive or send call */
static void prom_dead(FILE *f, const struct list_ent *v, int n)
{
	prom_sock_family(f, v, n, "xskshim_socket_lock_takeovers_total", "counter",
			 "Reader or send locks of the socket this process took over from a holder that died in the "
			 "call (a worker killed with SIGKILL).", prom_s_takeovers);
	prom_sock_family(f, v, n, "xskshim_socket_reclaimed_frames_total", "counter",
			 "UMEM frames those dead holders held, given back to the socket's pool by this process.",
			 prom_s_reclaimed);
}

static void prom_sockets(FILE *f, const struct list_ent *v, int n)
{
	prom_sock_family(f, v, n, "xskshim_socket_accelerated", "gauge",
			 "1 if the socket receives through AF_XDP, 0 if it stays on the kernel path (reason says why).",
			 prom_s_accel);
	prom_sock_family(f, v, n, "xskshim_socket_received_packets_total", "counter",
			 "Datagrams delivered to the application, by path (af_xdp: through the AF_XDP rings; "
			 "kernel: through its kernel socket).", prom_s_rx);
	prom_sock_family(f, v, n, "xskshim_socket_received_bytes_total", "counter",
			 "UDP payload bytes delivered to the application through AF_XDP.", prom_s_bytes);
	prom_sock_family(f, v, n, "xskshim_socket_dropped_packets_total", "counter",
			 "Datagrams the shim dropped, by reason: AF_XDP frames failing validation (as the kernel "
			 "would drop them); peer: not from a connected socket's peer.", prom_s_drops);
	prom_sock_family(f, v, n, "xskshim_socket_spill_unseen_packets_total", "counter",
			 "Datagrams that overflowed to the kernel socket and were never found there (its receive "
			 "buffer was full, or another member of its SO_REUSEPORT group got them).", prom_s_unseen);
	prom_sock_family(f, v, n, "xskshim_socket_blocking_waits_total", "counter",
			 "Blocking receive calls that slept.", prom_s_waits);
	prom_sock_family(f, v, n, "xskshim_xsk_dropped_packets_total", "counter",
			 "Frames the kernel dropped at an AF_XDP socket (XDP_STATISTICS), by reason.",
			 prom_s_xsk_drops);
	prom_sock_family(f, v, n, "xskshim_xsk_fill_ring_empty_total", "counter",
			 "Times the kernel found an AF_XDP socket's fill ring empty (XDP_STATISTICS).",
			 prom_s_fill_empty);
	prom_sock_family(f, v, n, "xskshim_xsk_rx_ring_entries", "gauge",
			 "Frames on an AF_XDP socket's RX ring waiting for the application.", prom_s_rx_ring);
}

/* The XDP program's counters: redirect (into an AF_XDP socket) or pass
 * (to the kernel stack), with the reason. */
static void prom_xdp(FILE *f, const struct list_ent *v, int n)
{
	prom_family(f, "xskshim_xdp_packets_total", "counter",
		    "Packets the process's XDP program saw, by action (redirect: into an AF_XDP socket; pass: to the "
		    "kernel stack) and reason.");
	for (int i = 0; i < n; i++) {
		const struct snap *s = v[i].s;

		if (!prom_live(s) || !s->ctrs_ok)
			continue;
		for (unsigned c = 0; c < XSKSHIM_STATS_XDP_CNT; c++) {
			const char *name = stat_xdp_names[c];
			bool redirect = !strcmp(name, "redirect");

			prom_open(f, "xskshim_xdp_packets_total", s);
			fputs(",iface=\"", f);
			prom_esc(f, s->h.iface);
			fprintf(f, "\",action=\"%s\",reason=\"%s\"", redirect ? "redirect" : "pass",
				redirect ? "port_match" : !strncmp(name, "pass_", 5) ? name + 5 : name);
			prom_val(f, s->ctrs[c]);
		}
	}
}

/* What this scrape could not read (1 per missing source, with the error). */
static void prom_errors(FILE *f, const struct list_ent *v, int n)
{
	prom_family(f, "xskshim_scrape_error", "gauge",
		    "1 when a source could not be read for a process (error says why: usually a missing "
		    "privilege of the reader).");
	for (int i = 0; i < n; i++) {
		const struct snap *s = v[i].s;

		if (!prom_live(s))
			continue;
		if (s->xs_err[0]) {
			prom_open(f, "xskshim_scrape_error", s);
			fputs(",source=\"xdp_statistics\",error=\"", f);
			prom_esc(f, s->xs_err);
			fputc('"', f);
			prom_val(f, 1);
		}
		if (s->rings_err[0]) {
			prom_open(f, "xskshim_scrape_error", s);
			fputs(",source=\"rings\",error=\"", f);
			prom_esc(f, s->rings_err);
			fputc('"', f);
			prom_val(f, 1);
		}
		if (!s->ctrs_ok) {
			prom_open(f, "xskshim_scrape_error", s);
			fputs(",source=\"xdp_counters\",error=\"", f);
			prom_esc(f, s->ctrs_err);
			fputc('"', f);
			prom_val(f, 1);
		}
	}
}

void prom_write(FILE *f, const struct list_ent *v, int n)
{
	prom_regions(f, v, n);
	prom_processes(f, v, n);
	prom_sockets(f, v, n);
	prom_transmit(f, v, n);
	prom_dead(f, v, n);
	prom_xdp(f, v, n);
	prom_errors(f, v, n);
}

int prom_textfile(const char *dir, const struct list_ent *v, int n)
{
	char tmp[4096], dst[4096];
	FILE *f;
	int fd, err = 0;

	if (snprintf(dst, sizeof(dst), "%s/xskshim.prom", dir) >= (int)sizeof(dst) ||
	    snprintf(tmp, sizeof(tmp), "%s/.xskshim.prom.XXXXXX", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	prom_write(f, v, n);
	if (fflush(f) || fchmod(fd, 0644) || fsync(fd))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, dst))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}
