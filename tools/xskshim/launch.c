/* launch.c - the library to preload, the environment, the exec (design
 * note in xskshim.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tools/xskshim/xskshim.h"

#ifndef XSKSHIM_LIBDIR
#define XSKSHIM_LIBDIR "/usr/local/lib"
#endif

int launch_lib_path(const struct launch_opts *o, char *buf, size_t sz)
{
	char exe[PATH_MAX];
	ssize_t n;

	if (o->lib) {
		snprintf(buf, sz, "%s", o->lib);
		return access(buf, R_OK) ? -ENOENT : 0;
	}
	/* run from a build tree: build/xskshim beside build/libxskshim.so */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			if ((size_t)snprintf(buf, sz, "%s/libxskshim.so", exe) < sz && !access(buf, R_OK))
				return 0;
		}
	}
	snprintf(buf, sz, "%s/libxskshim.so", XSKSHIM_LIBDIR);
	return access(buf, R_OK) ? -ENOENT : 0;
}

static int env_set(const char *name, const char *val)
{
	if (!val)
		return 0;
	if (setenv(name, val, 1)) {
		fprintf(stderr, "xskshim: setenv %s: %s\n", name, strerror(errno));
		return -1;
	}
	return 0;
}

/* LD_PRELOAD with lib first and whatever was there after it (once). */
static int env_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *v;
	int r;

	if (!old || !*old)
		return env_set("LD_PRELOAD", lib);
	if (asprintf(&v, "%s %s", lib, old) < 0)
		return -1;
	r = env_set("LD_PRELOAD", v);
	free(v);
	return r;
}

static int env_apply(const struct launch_opts *o, const char *lib)
{
	int r = 0;

	r |= env_set("XSKSHIM_IFACE", o->iface);
	r |= env_set("XSKSHIM_PORTS", o->ports);
	r |= env_set("XSKSHIM_MODE", o->mode);
	r |= env_set("XSKSHIM_ZEROCOPY", o->zerocopy);
	r |= env_set("XSKSHIM_QUEUES", o->queues);
	r |= env_set("XSKSHIM_FRAMES", o->frames);
	r |= env_set("XSKSHIM_BUSY_POLL", o->busy_poll);
	r |= env_set("XSKSHIM_LOG", o->log);
	r |= env_set("XSKSHIM_STATS", o->stats ? "1" : NULL);
	r |= env_set("XSKSHIM_REQUIRE", o->require ? "1" : NULL);
	for (int i = 0; i < o->env_cnt; i++)
		r |= putenv((char *)o->env[i]) ? -1 : 0;
	r |= env_preload(lib);
	return r ? -1 : 0;
}

static void dry_run_print(char **argv)
{
	extern char **environ;

	for (char **e = environ; *e; e++)
		if (!strncmp(*e, "XSKSHIM_", 8) || !strncmp(*e, "LD_PRELOAD=", 11))
			printf("%s\n", *e);
	printf("exec");
	for (char **a = argv; *a; a++)
		printf(" %s", *a);
	printf("\n");
}

/* argv0 as execvp finds it, into buf: 0 or -ENOENT. */
static int prog_path(const char *argv0, char *buf, size_t sz)
{
	const char *path = getenv("PATH");

	if (strchr(argv0, '/')) {
		snprintf(buf, sz, "%s", argv0);
		return access(buf, X_OK) ? -ENOENT : 0;
	}
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");

		if ((size_t)snprintf(buf, sz, "%.*s/%s", (int)n, n ? p : ".", argv0) < sz && !access(buf, X_OK))
			return 0;
		p += n + (p[n] == ':');
	}
	return -ENOENT;
}

/* A program with file capabilities or set-user/group-ID runs in the
 * dynamic loader's secure-execution mode when started by anyone but root:
 * LD_PRELOAD with a path is then ignored, silently.  Say so. */
static void warn_secure_exec(const char *argv0)
{
	char path[PATH_MAX];
	struct stat sb;
	bool caps;

	if (!getuid() || prog_path(argv0, path, sizeof(path)) || stat(path, &sb))
		return;
	caps = getxattr(path, "security.capability", NULL, 0) > 0;
	if (!caps && !(sb.st_mode & (S_ISUID | S_ISGID)))
		return;
	fprintf(stderr, "xskshim: warning: %s has %s: the dynamic loader ignores LD_PRELOAD for it "
		"(secure-execution mode), so it will run without xskshim; give the capabilities as "
		"ambient ones instead (systemd AmbientCapabilities=, or setpriv --ambient-caps), see "
		"xskshim(1)\n", path, caps ? "file capabilities" : "the set-user-ID or set-group-ID bit");
}

int launch_exec(const struct launch_opts *o, char **argv)
{
	char lib[PATH_MAX];
	int e;

	if (launch_lib_path(o, lib, sizeof(lib))) {
		fprintf(stderr, "xskshim: the library %s is missing (install the xskshim package, run make, "
			"or name it with --lib)\n", lib);
		return 127;
	}
	if (env_apply(o, lib))
		return 126;
	if (o->dry_run) {
		dry_run_print(argv);
		return 0;
	}
	warn_secure_exec(argv[0]);
	execvp(argv[0], argv);
	e = errno;
	fprintf(stderr, "xskshim: cannot run %s: %s\n", argv[0], strerror(e));
	return e == ENOENT || e == ENOTDIR ? 127 : 126;
}
