/* callcount.c - an LD_PRELOAD interposer placed BEFORE libxskshim.so
 * (LD_PRELOAD=callcount.so:libxskshim.so).  It defines the libc calls the
 * shim interposes and that its internals (shim/, ring/, libbpf, libxdp) make,
 * forwards each to the next definition, and counts the calls that come from
 * inside libxskshim.so, libbpf.so or libxdp.so (return address, dladdr).
 * Any such call reached a global-scope definition: with the shim's symbol
 * isolation (--wrap, static libbpf/libxdp) there must be none, because every
 * internal reference was bound at link time.  Prints "callcount: internal=N
 * [names]" on stderr at exit.  (tests/t_isolation.sh) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int callcount_internal;
static char callcount_names[512];

static void callcount_note(void *ret, const char *name)
{
	Dl_info di;

	if (!dladdr(ret, &di) || !di.dli_fname)
		return;
	if (!strstr(di.dli_fname, "libxskshim") && !strstr(di.dli_fname, "libbpf") &&
	    !strstr(di.dli_fname, "libxdp"))
		return;
	if (__atomic_add_fetch(&callcount_internal, 1, __ATOMIC_RELAXED) < 20 &&
	    strlen(callcount_names) + strlen(name) + 2 < sizeof(callcount_names) &&
	    !strstr(callcount_names, name)) {
		strcat(callcount_names, " ");
		strcat(callcount_names, name);
	}
}

__attribute__((destructor)) static void callcount_report(void)
{
	char buf[640];
	int n = snprintf(buf, sizeof(buf), "callcount: internal=%d%s\n", callcount_internal, callcount_names);

	(void)!write(2, buf, (size_t)n);
}

#define CC_NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))
#define CC_FWD(ret, name, params, args)                              \
	ret name params                                              \
	{                                                            \
		callcount_note(__builtin_return_address(0), #name);  \
		return CC_NEXT(name) args;                           \
	}
CC_FWD(int, socket, (int d, int t, int p), (d, t, p))
CC_FWD(int, bind, (int fd, const struct sockaddr *a, socklen_t l), (fd, a, l))
CC_FWD(int, close, (int fd), (fd))
CC_FWD(int, setsockopt, (int fd, int lv, int o, const void *v, socklen_t l), (fd, lv, o, v, l))
CC_FWD(ssize_t, recvfrom, (int fd, void *b, size_t l, int f, struct sockaddr *a, socklen_t *al),
       (fd, b, l, f, a, al))
CC_FWD(ssize_t, recv, (int fd, void *b, size_t l, int f), (fd, b, l, f))
CC_FWD(ssize_t, read, (int fd, void *b, size_t l), (fd, b, l))
CC_FWD(int, poll, (struct pollfd *p, nfds_t n, int t), (p, n, t))
CC_FWD(int, dup, (int fd), (fd))
CC_FWD(int, dup2, (int fd, int n), (fd, n))

#define CC_FWD_VA(name, t2)                                          \
	int name(int fd, t2 cmd, ...)                                \
	{                                                            \
		va_list ap;                                          \
		long arg;                                            \
		va_start(ap, cmd);                                   \
		arg = va_arg(ap, long);                              \
		va_end(ap);                                          \
		callcount_note(__builtin_return_address(0), #name);  \
		return ((int (*)(int, t2, ...))dlsym(RTLD_NEXT, #name))(fd, cmd, arg); \
	}
CC_FWD_VA(fcntl, int)
CC_FWD_VA(ioctl, unsigned long)
