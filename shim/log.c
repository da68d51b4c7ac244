/* log.c - the shim's single line format, and libbpf/libxdp output routed
 * through the same level filter. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "shim/shim.h"

static const char *const lvl_names[] = { "error", "warn", "info", "debug" };

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
	(void)!write(2, buf, (size_t)n);
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

void shim_log(enum shim_log_lvl lvl, const char *subsys, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	shim_vlog(lvl, subsys, fmt, ap);
	va_end(ap);
}

static int shim_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum shim_log_lvl l = level == LIBBPF_WARN ? SHIM_LOG_WARN
			    : level == LIBBPF_INFO ? SHIM_LOG_INFO : SHIM_LOG_DEBUG;
	shim_vlog(l, "libbpf", fmt, ap);
	return 0;
}

static int shim_libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	enum shim_log_lvl l = level == LIBXDP_WARN ? SHIM_LOG_WARN
			    : level == LIBXDP_INFO ? SHIM_LOG_INFO : SHIM_LOG_DEBUG;
	shim_vlog(l, "libxdp", fmt, ap);
	return 0;
}

void shim_log_libs_init(void)
{
	libbpf_set_print(shim_libbpf_print);
	libxdp_set_print(shim_libxdp_print);
}
