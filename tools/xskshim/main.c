/* main.c - the xskshim launcher's options and usage (design note in
 * xskshim.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/xskshim/xskshim.h"

#ifndef XSKSHIM_VERSION
#define XSKSHIM_VERSION "0"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xskshim [options] [--] PROGRAM [ARGS...]\n"
		"       xskshim check -i IFACE -p PORTS [--mode M] [--zerocopy Z] [--frames N]\n"
		"Run PROGRAM with kernel-bypass UDP receive through AF_XDP (libxskshim.so preloaded).\n"
		"Options stop at \"--\" or at the first argument that is not an option.\n"
		"  -i, --iface IFACE      interface whose RX queues get AF_XDP sockets (XSKSHIM_IFACE)\n"
		"  -p, --ports PORTS      UDP ports to accelerate, e.g. 8001,8002,9000-9010 (XSKSHIM_PORTS)\n"
		"  -m, --mode MODE        XDP attach mode: auto, native or skb (XSKSHIM_MODE)\n"
		"  -z, --zerocopy Z       AF_XDP zero-copy: auto, on or off (XSKSHIM_ZEROCOPY)\n"
		"  -q, --queues LIST      RX queues to serve, e.g. 0-3 (XSKSHIM_QUEUES)\n"
		"  -f, --frames N         UMEM frames per queue (XSKSHIM_FRAMES)\n"
		"  -b, --busy-poll US     busy-poll microseconds (XSKSHIM_BUSY_POLL)\n"
		"  -l, --log LEVEL        error, warn, info or debug (XSKSHIM_LOG)\n"
		"  -s, --stats            summary on stderr at exit (XSKSHIM_STATS=1)\n"
		"  -r, --require          bind fails if acceleration fails (XSKSHIM_REQUIRE=1)\n"
		"  -e, --env NAME=VALUE   any other XSKSHIM_ setting, e.g. XSKSHIM_CSUM=verify\n"
		"  -L, --lib PATH         the library to preload (default: the build tree's when run from\n"
		"                         it, else the installed one)\n"
		"  -n, --dry-run          print the environment and the command instead of running it\n"
		"  -h, --help             this text\n"
		"  -V, --version          the version\n"
		"check: says, without starting anything, whether acceleration would work on IFACE\n"
		"for PORTS and why not (interface, driver, XDP modes, queues, an XDP program already\n"
		"attached, capabilities, locked memory, zero-copy).  Exit 0 yes, 1 no, 2 usage.\n"
		"Exit status: PROGRAM's; 2 usage; 126 PROGRAM cannot run; 127 PROGRAM not found.\n"
		"See xskshim(1), xskshim(7), xskshim-stat(1).\n");
}

int ports_parse(const char *s, char *why, size_t sz)
{
	const char *p = s;

	if (!*p) {
		snprintf(why, sz, "empty port list");
		return -EINVAL;
	}
	while (*p) {
		char *end;
		long a = strtol(p, &end, 10), b = a;

		if (end == p || a < 1 || a > 65535)
			goto bad;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p || b < a || b > 65535)
				goto bad;
		}
		if (*end && *end != ',')
			goto bad;
		p = *end ? end + 1 : end;
		if (*end == ',' && !*p)
			goto bad;
	}
	return 0;
bad:
	snprintf(why, sz, "'%s': ports and ranges from 1 to 65535, e.g. 8001,8002,9000-9010", s);
	return -EINVAL;
}

static bool one_of(const char *v, const char *const *ok)
{
	for (; *ok; ok++)
		if (!strcmp(v, *ok))
			return true;
	return false;
}

/* Check what the launcher can judge itself; the shim checks the rest and
 * says so on stderr.  0 or 2 (usage), with the reason printed. */
static int opts_check(const struct launch_opts *o)
{
	static const char *const modes[] = { "auto", "native", "skb", NULL };
	static const char *const zc[] = { "auto", "on", "off", NULL };
	static const char *const logs[] = { "error", "warn", "info", "debug", NULL };
	char why[160];

	if (o->mode && !one_of(o->mode, modes)) {
		fprintf(stderr, "xskshim: --mode '%s': auto, native or skb\n", o->mode);
		return 2;
	}
	if (o->zerocopy && !one_of(o->zerocopy, zc)) {
		fprintf(stderr, "xskshim: --zerocopy '%s': auto, on or off\n", o->zerocopy);
		return 2;
	}
	if (o->log && !one_of(o->log, logs)) {
		fprintf(stderr, "xskshim: --log '%s': error, warn, info or debug\n", o->log);
		return 2;
	}
	if (o->ports && ports_parse(o->ports, why, sizeof(why))) {
		fprintf(stderr, "xskshim: --ports %s\n", why);
		return 2;
	}
	if ((o->iface != NULL) != (o->ports != NULL) && !getenv(o->iface ? "XSKSHIM_PORTS" : "XSKSHIM_IFACE")) {
		fprintf(stderr, "xskshim: --iface and --ports go together (or set the other in the environment)\n");
		return 2;
	}
	for (int i = 0; i < o->env_cnt; i++) {
		const char *eq = strchr(o->env[i], '=');

		if (strncmp(o->env[i], "XSKSHIM_", 8) || !eq || eq == o->env[i] + 8) {
			fprintf(stderr, "xskshim: --env '%s': XSKSHIM_NAME=VALUE\n", o->env[i]);
			return 2;
		}
	}
	return 0;
}

/* Options into o; *first is the index of the first argument after them.
 * 0, or the exit status for --help/--version (0) and usage errors (2), +1. */
static int opts_parse(int argc, char **argv, struct launch_opts *o, int *first)
{
	static const struct option lo[] = {
		{ "iface", required_argument, NULL, 'i' },  { "ports", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },   { "zerocopy", required_argument, NULL, 'z' },
		{ "queues", required_argument, NULL, 'q' }, { "frames", required_argument, NULL, 'f' },
		{ "busy-poll", required_argument, NULL, 'b' }, { "log", required_argument, NULL, 'l' },
		{ "stats", no_argument, NULL, 's' },        { "require", no_argument, NULL, 'r' },
		{ "env", required_argument, NULL, 'e' },    { "lib", required_argument, NULL, 'L' },
		{ "dry-run", no_argument, NULL, 'n' },      { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },      { NULL, 0, NULL, 0 },
	};
	int c;

	/* '+': stop at the first non-option (the program) */
	while ((c = getopt_long(argc, argv, "+i:p:m:z:q:f:b:l:sre:L:nhV", lo, NULL)) != -1) {
		switch (c) {
		case 'i': o->iface = optarg; break;
		case 'p': o->ports = optarg; break;
		case 'm': o->mode = optarg; break;
		case 'z': o->zerocopy = optarg; break;
		case 'q': o->queues = optarg; break;
		case 'f': o->frames = optarg; break;
		case 'b': o->busy_poll = optarg; break;
		case 'l': o->log = optarg; break;
		case 's': o->stats = true; break;
		case 'r': o->require = true; break;
		case 'L': o->lib = optarg; break;
		case 'n': o->dry_run = true; break;
		case 'e':
			if (o->env_cnt == LAUNCH_ENV_MAX) {
				fprintf(stderr, "xskshim: at most %d --env settings\n", LAUNCH_ENV_MAX);
				return 2 + 1;
			}
			o->env[o->env_cnt++] = optarg;
			break;
		case 'h': usage(stdout); return 0 + 1;
		case 'V': printf("xskshim %s\n", XSKSHIM_VERSION); return 0 + 1;
		default:
			fprintf(stderr, "Try 'xskshim --help'.\n");
			return 2 + 1;
		}
	}
	*first = optind;
	return opts_check(o) ? 2 + 1 : 0;
}

int main(int argc, char **argv)
{
	struct launch_opts o = { 0 };
	int first = 0, r;

	if (argc > 1 && !strcmp(argv[1], "check")) {
		r = opts_parse(argc - 1, argv + 1, &o, &first);
		if (r)
			return r - 1;
		if (first < argc - 1) {
			fprintf(stderr, "xskshim check: unexpected argument '%s'\n", argv[first + 1]);
			return 2;
		}
		if (!o.iface || !o.ports) {
			fprintf(stderr, "xskshim check: -i IFACE and -p PORTS are required\n");
			return 2;
		}
		return check_run(&o);
	}
	r = opts_parse(argc, argv, &o, &first);
	if (r)
		return r - 1;
	if (first >= argc) {
		fprintf(stderr, "xskshim: no program to run (xskshim [options] -- PROGRAM [ARGS...])\n");
		return 2;
	}
	return launch_exec(&o, argv + first);
}
