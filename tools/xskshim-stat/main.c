/* main.c - xskshim-stat's options and loops: one process, the list, the
 * Prometheus scrape and textfile, --clean (design note in stat.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/xskshim-stat/stat.h"

enum out_fmt { OUT_TEXT, OUT_JSON, OUT_PROM };

static struct {
	enum out_fmt fmt;
	bool watch;
	bool once;
	bool clean;
	const char *textfile;         /* --textfile DIR */
	double interval;
	long count;                   /* watch iterations, 0 = until interrupted */
} opt = { .interval = 1.0 };

static volatile sig_atomic_t stop_req;

/* Sleep until `until` (CLOCK_MONOTONIC seconds) or a stop request. */
static void sleep_until(double until)
{
	double now;

	while (!stop_req && (now = stat_mono_now()) < until) {
		double d = until - now;
		struct timespec ts = { (time_t)d, (long)((d - (double)(time_t)d) * 1e9) };

		nanosleep(&ts, NULL);
	}
}

/* Another --watch round?  Counts the rounds done. */
static bool watch_more(long *iter)
{
	if (!opt.watch || stop_req || (opt.count && ++*iter >= opt.count))
		return false;
	*iter += !opt.count;
	return true;
}

static void watch_clear(long iter)
{
	if (opt.watch && opt.fmt == OUT_TEXT && isatty(STDOUT_FILENO))
		printf("\033[H\033[J");
	else if (opt.watch && opt.fmt == OUT_TEXT && iter)
		printf("\n");
}

static void say_no_region(const char *path, int pid, int err)
{
	if (err == -ENOENT)
		fprintf(stderr, "xskshim-stat: no statistics region %s: process %d is not running under xskshim "
			"(or has not bound an accelerated port yet)\n", path, pid);
	else
		fprintf(stderr, "xskshim-stat: %s: %s\n", path, strerror(-err));
}

static int cmd_one(int pid)
{
	struct snap *cur = malloc(sizeof(*cur)), *prev = malloc(sizeof(*prev));
	char path[64];
	long iter = 0;
	int rc = 0, err;
	bool have_prev = false;

	if (!cur || !prev) {
		fprintf(stderr, "xskshim-stat: out of memory\n");
		free(cur);
		free(prev);
		return 1;
	}
	region_path(path, sizeof(path), pid);
	for (;;) {
		err = snap_load(cur, path, pid, true);
		if (err) {
			if (iter == 0) {
				say_no_region(path, pid, err);
				rc = 1;
			} else if (opt.fmt == OUT_JSON) {
				printf("{\"pid\":%d,\"state\":\"exited\",\"sockets\":[]}\n", pid);
			} else {
				printf("process %d exited (its region is gone)\n", pid);
			}
			break;
		}
		watch_clear(iter);
		if (opt.fmt == OUT_JSON)
			json_show_one(cur, have_prev ? prev : NULL);
		else
			text_show_one(cur, have_prev ? prev : NULL);
		fflush(stdout);
		if (cur->state == REG_STALE)
			rc = 3;
		else if (cur->state == REG_INVALID)
			rc = 1;
		if (cur->state != REG_LIVE || !watch_more(&iter))
			break;
		{
			struct snap *t = prev;

			prev = cur;
			cur = t;
			have_prev = true;
		}
		sleep_until(prev->t + opt.interval);
		if (stop_req)
			break;
	}
	free(cur);
	free(prev);
	return rc;
}

static int cmd_list(void)
{
	struct list_ent *v = NULL, *pv = NULL;
	int n, pn = 0;
	double pt = 0, t;
	long iter = 0;

	for (;;) {
		t = stat_mono_now();
		n = list_load(&v, false);
		if (n < 0)
			return 1;
		watch_clear(iter);
		if (opt.fmt == OUT_JSON)
			json_show_list(v, n, pv, pn, pv ? t - pt : 0);
		else
			text_show_list(v, n, pv, pn, pv ? t - pt : 0);
		fflush(stdout);
		list_free(pv, pn);
		pv = v;
		pn = n;
		pt = t;
		if (!watch_more(&iter))
			break;
		sleep_until(t + opt.interval);
		if (stop_req)
			break;
	}
	list_free(pv, pn);
	return 0;
}

/* One process (pid > 0) or every region, with details, as a list. */
static int prom_load(int pid, struct list_ent **v)
{
	char path[64];
	int err;

	if (!pid)
		return list_load(v, true);
	*v = calloc(1, sizeof(**v));
	if (!*v || !((*v)[0].s = malloc(sizeof(struct snap)))) {
		free(*v);
		*v = NULL;
		return -ENOMEM;
	}
	region_path(path, sizeof(path), pid);
	err = snap_load((*v)[0].s, path, pid, true);
	if (err) {
		say_no_region(path, pid, err);
		list_free(*v, 1);
		*v = NULL;
		return err;
	}
	(*v)[0].pid = pid;
	return 1;
}

/* --prometheus / --textfile DIR: one scrape (every --interval with --watch). */
static int cmd_prom(int pid)
{
	struct list_ent *v;
	long iter = 0;
	int n, err;

	for (;;) {
		double t = stat_mono_now();

		n = prom_load(pid, &v);
		if (n < 0)
			return 1;
		if (opt.textfile) {
			err = prom_textfile(opt.textfile, v, n);
			if (err) {
				fprintf(stderr, "xskshim-stat: --textfile %s: %s\n", opt.textfile, strerror(-err));
				list_free(v, n);
				return 1;
			}
		} else {
			prom_write(stdout, v, n);
			fflush(stdout);
		}
		list_free(v, n);
		if (!watch_more(&iter))
			break;
		sleep_until(t + opt.interval);
		if (stop_req)
			break;
	}
	return 0;
}

/* ---- --clean ---------------------------------------------------------------------------- */

/* Remove the region of pid if (and only if) it is stale.  1 removed, 0 kept,
 * -1 error. */
static int clean_one(int pid, bool verbose_live)
{
	struct snap *s = malloc(sizeof(*s));
	char path[64];
	int err, r = 0;

	if (!s)
		return -1;
	region_path(path, sizeof(path), pid);
	err = snap_load(s, path, pid, false);
	if (err) {
		if (verbose_live)
			fprintf(stderr, "xskshim-stat: %s: %s\n", path, strerror(-err));
		free(s);
		return err == -ENOENT && !verbose_live ? 0 : -1;
	}
	if (s->state != REG_STALE) {
		if (verbose_live)
			fprintf(stderr, "xskshim-stat: %s: not removed: process %d is %s%s%s\n", path, pid,
				s->state == REG_LIVE ? "live" : stat_state_names[s->state],
				s->state_why[0] ? ": " : "", s->state_why);
		free(s);
		return verbose_live ? -1 : 0;
	}
	if (unlink(path)) {
		fprintf(stderr, "xskshim-stat: cannot remove %s: %s\n", path, strerror(errno));
		r = -1;
	} else {
		printf("removed %s (%s)\n", path, s->state_why);
		r = 1;
	}
	free(s);
	return r;
}

static int cmd_clean(int argc, char **argv)
{
	int removed = 0, bad = 0;

	if (argc) {
		for (int i = 0; i < argc; i++) {
			char *end;
			long pid = strtol(argv[i], &end, 10);

			if (*end || pid <= 0 || pid > 0x7fffffff) {
				fprintf(stderr, "xskshim-stat: --clean: '%s' is not a pid\n", argv[i]);
				return 2;
			}
			int r = clean_one((int)pid, true);

			removed += r > 0;
			bad += r < 0;
		}
	} else {
		int *pids, n = region_scan(&pids);

		if (n < 0) {
			fprintf(stderr, "xskshim-stat: cannot read " STAT_DIR ": %s\n", strerror(-n));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			int r = clean_one(pids[i], false);

			removed += r > 0;
			bad += r < 0;
		}
		free(pids);
		if (!removed && !bad)
			printf("no stale regions\n");
	}
	return bad ? 1 : 0;
}

/* ---- main ---------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xskshim-stat [options] [PID]\n"
		"       xskshim-stat --clean [PID...]\n"
		"Show what xskshim (LD_PRELOAD AF_XDP UDP receive) is doing.\n"
		"Without PID: list every process under the shim (" STAT_DIR "/" STAT_PREFIX "PID regions).\n"
		"With PID: that process's sockets, counters, AF_XDP and XDP program statistics.\n"
		"  -w, --watch          refresh every interval, showing rates\n"
		"  -i, --interval S     refresh interval in seconds for --watch (default 1)\n"
		"  -c, --count N        with --watch, stop after N refreshes\n"
		"  -1, --once           print once and exit (the default without --watch)\n"
		"  -j, --json           JSON output, one document per line\n"
		"  -p, --prometheus     Prometheus text exposition format: one scrape of every live\n"
		"                       process (or of PID)\n"
		"  -t, --textfile DIR   write that scrape to DIR/xskshim.prom atomically (temporary file\n"
		"                       + rename), for node_exporter's textfile collector; with --watch,\n"
		"                       every interval\n"
		"      --clean [PID]    remove regions of processes that are gone (only those PIDs if given)\n"
		"  -h, --help           this text\n"
		"XDP_STATISTICS need ptrace access to the process (root or CAP_SYS_PTRACE); the XDP\n"
		"program's counters need root (CAP_SYS_ADMIN).  Without them those parts are skipped, with a note.\n"
		"Exit status: 0 ok, 1 error or no such process, 2 usage, 3 the process's region is stale.\n");
}

static void on_stop(int sig)
{
	(void)sig;
	stop_req = 1;
}

/* Options into opt: 0, or the exit status of a usage error / --help (+1). */
static int opts_parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "watch", no_argument, NULL, 'w' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, '1' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "textfile", required_argument, NULL, 't' },
		{ "clean", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "wi:c:1jpt:h", lo, NULL)) != -1) {
		switch (c) {
		case 'w': opt.watch = true; break;
		case '1': opt.once = true; break;
		case 'j': opt.fmt = OUT_JSON; break;
		case 'p': opt.fmt = OUT_PROM; break;
		case 't': opt.fmt = OUT_PROM; opt.textfile = optarg; break;
		case 'C': opt.clean = true; break;
		case 'i':
			opt.interval = strtod(optarg, &end);
			if (*end || !(opt.interval >= 0.05 && opt.interval <= 3600)) {
				fprintf(stderr, "xskshim-stat: --interval: seconds from 0.05 to 3600\n");
				return 2 + 1;
			}
			break;
		case 'c':
			opt.count = strtol(optarg, &end, 10);
			if (*end || opt.count <= 0) {
				fprintf(stderr, "xskshim-stat: --count: a positive number\n");
				return 2 + 1;
			}
			break;
		case 'h': usage(stdout); return 0 + 1;
		default: usage(stderr); return 2 + 1;
		}
	}
	if (opt.once)
		opt.watch = false;
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_stop };
	long pid = 0;
	char *end;
	int r = opts_parse(argc, argv);

	if (r)
		return r - 1;
	stat_sigbus_install();
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (opt.clean)
		return cmd_clean(argc - optind, argv + optind);
	if (argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	if (argc - optind == 1) {
		pid = strtol(argv[optind], &end, 10);
		if (*end || pid <= 0 || pid > 0x7fffffff) {
			fprintf(stderr, "xskshim-stat: '%s' is not a pid\n", argv[optind]);
			return 2;
		}
	}
	if (opt.fmt == OUT_PROM)
		return cmd_prom((int)pid);
	return pid ? cmd_one((int)pid) : cmd_list();
}
