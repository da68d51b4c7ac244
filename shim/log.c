/* log.c - the shim's single line format, and libbpf/libxdp output routed
 * through the same level filter. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "shim/shim.h"

static const char *const lvl_names[] = { "error", "warn", "info", "debug" };

/* In a configured process, a copy of the stderr the program started with
 * (close-on-exec, numbered >= 512): the shim's lines still reach the
 * operator when the program closed fd 2 (chronyd does before it exits) or
 * pointed it at /dev/null (freeradius, daemons detaching) - the decision
 * lines and the exit summary are for whoever started the program.  Any other
 * redirection of fd 2 (a log file, a pipe) is the program's choice and is
 * followed - except onto a socket: inetd hands a service its socket as fds
 * 0, 1 and 2, and no line of ours may go to a network peer.  A program
 * started with a socket as fd 2 gets no copy (it would keep that socket
 * open) and no lines. */
static int shim_log_fd2 = -1;
static bool shim_log_fd2_null;   /* the copy itself is /dev/null: no use */

static bool shim_log_is_null(int fd)
{
	struct stat st;

	return !fstat(fd, &st) && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

/* where a line goes, or -1: nowhere */
static int shim_log_fd(void)
{
	struct stat st;

	if (fstat(2, &st))
		return shim_log_fd2 >= 0 && !shim_log_fd2_null ? shim_log_fd2 : 2;   /* closed */
	if (S_ISSOCK(st.st_mode))
		return shim_log_fd2 >= 0 && !shim_log_fd2_null ? shim_log_fd2 : -1;
	if (shim_log_fd2 < 0 || shim_log_fd2_null)
		return 2;
	return S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3) ? shim_log_fd2 : 2;
}

static void shim_vlog_raw(const char *lvl_name, const char *subsys, const char *fmt, va_list ap)
{
	char buf[1024];
	int saved = errno, n, m;

	n = snprintf(buf, sizeof(buf), "xskshim[%d]: %s: %s: ", (int)getpid(), lvl_name, subsys);
	/* libbpf/libxdp prefix their own name; we already did */
	if (!strncmp(fmt, subsys, strlen(subsys)) && !strncmp(fmt + strlen(subsys), ": ", 2))
		fmt += strlen(subsys) + 2;
	if (n < 0 || n >= (int)sizeof(buf))
		goto out;
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	if (m < 0)
		goto out;
	n += m;
	if (n >= (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 2;
	/* one line per message, even when a library passed its own newline */
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n++] = '\n';
	m = shim_log_fd();
	if (m >= 0)
		(void)!write(m, buf, (size_t)n);
out:
	errno = saved;
}

static void shim_vlog(enum shim_log_lvl lvl, const char *subsys, const char *fmt, va_list ap)
{
	if (lvl <= shim_g.cfg.log_lvl)
		shim_vlog_raw(lvl_names[lvl], subsys, fmt, ap);
}

void shim_log_always(const char *subsys, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	shim_vlog_raw("stats", subsys, fmt, ap);
	va_end(ap);
}

void shim_vlog_list(enum shim_log_lvl lvl, const char *subsys, const char *fmt, va_list ap)
{
	shim_vlog(lvl, subsys, fmt, ap);
}

void shim_log(enum shim_log_lvl lvl, const char *subsys, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	shim_vlog(lvl, subsys, fmt, ap);
	va_end(ap);
}

/* Library output held back while a setup step runs (shim_log_hold): a
 * failure we explain ourselves (missing capability) should not be preceded
 * by libbpf's generic advice, but a verifier rejection must show its log. */
static __thread char *hold_buf;
static __thread size_t hold_len;
#define SHIM_HOLD_MAX (64 * 1024)

static void shim_lib_vlog(enum shim_log_lvl l, const char *subsys, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if (l > shim_g.cfg.log_lvl)
		return;
	if (!hold_buf || shim_g.cfg.log_lvl == SHIM_LOG_DEBUG) {
		shim_vlog(l, subsys, fmt, ap);
		return;
	}
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n <= 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (hold_len + (size_t)n + 16 >= SHIM_HOLD_MAX)
		return;   /* the head of a verifier log is the useful part */
	hold_len += (size_t)snprintf(hold_buf + hold_len, SHIM_HOLD_MAX - hold_len, "%c%s\x1f%.*s\x1e",
				     '0' + l, subsys, n, line);
}

void shim_log_hold(void)
{
	if (!hold_buf)
		hold_buf = calloc(1, SHIM_HOLD_MAX);
	hold_len = 0;
}

void shim_log_release(bool show)
{
	char *p, *end;

	if (!hold_buf)
		return;
	for (p = hold_buf, end = hold_buf + hold_len; show && p < end;) {
		char *sep = memchr(p, 0x1f, (size_t)(end - p)), *next;
		enum shim_log_lvl l = (enum shim_log_lvl)(p[0] - '0');

		if (!sep)
			break;
		*sep = 0;
		next = memchr(sep + 1, 0x1e, (size_t)(end - sep - 1));
		if (!next)
			break;
		shim_log(l, p + 1, "%.*s", (int)(next - sep - 1), sep + 1);
		p = next + 1;
	}
	free(hold_buf);
	hold_buf = NULL;
	hold_len = 0;
}

static int shim_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum shim_log_lvl l = level == LIBBPF_WARN ? SHIM_LOG_WARN
			    : level == LIBBPF_INFO ? SHIM_LOG_INFO : SHIM_LOG_DEBUG;
	shim_lib_vlog(l, "libbpf", fmt, ap);
	return 0;
}

static int shim_libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	enum shim_log_lvl l = level == LIBXDP_WARN ? SHIM_LOG_WARN
			    : level == LIBXDP_INFO ? SHIM_LOG_INFO : SHIM_LOG_DEBUG;
	shim_lib_vlog(l, "libxdp", fmt, ap);
	return 0;
}

void shim_log_libs_init(void)
{
	struct stat st;

	if (shim_g.cfg.iface_given && shim_log_fd2 < 0 && !(!fstat(2, &st) && S_ISSOCK(st.st_mode))) {
		shim_log_fd2 = fcntl(2, F_DUPFD_CLOEXEC, 512);
		shim_log_fd2_null = shim_log_fd2 >= 0 && shim_log_is_null(shim_log_fd2);
	}
	libbpf_set_print(shim_libbpf_print);
	libxdp_set_print(shim_libxdp_print);
}

/* libbpf.a and libxdp.a, linked into the .so, refer to this instead of
 * libc's stderr (Makefile: the one relocation of theirs a shared object
 * cannot take).  Only their default print functions use it, and ours
 * replace those in shim_init; it is set before any constructor of the
 * program can reach them anyway. */
FILE *xskshim_lib_stderr;
__attribute__((constructor(101))) static void shim_log_lib_stderr(void)
{
	xskshim_lib_stderr = stderr;
}
