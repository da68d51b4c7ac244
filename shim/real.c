/* real.c - lazily resolved pointers to the real libc definitions and the
 * __wrap_NAME forwarders the linker binds every internal reference to
 * (--wrap, see syms.h), both generated from the one list in syms.h; and the
 * per-thread reentrancy guard. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "shim/shim.h"

__thread int shim_guard __attribute__((tls_model("initial-exec")));

#define SHIM_REAL_DEF(ret, name, params, args) ret(*shim_real_##name) params;
#define SHIM_REAL_DEF_F(ret, name, params, args, fd, kind) SHIM_REAL_DEF(ret, name, params, args)
#define SHIM_REAL_DEF_V(ret, name, params, args, last, nva) ret(*shim_real_##name)(SHIM_UNPAREN params, ...);
#define SHIM_REAL_DEF_U(ret, name, params, args, euid) SHIM_REAL_DEF(ret, name, params, args)
SHIM_OTHER_CALLS(SHIM_REAL_DEF)
SHIM_FD_CALLS(SHIM_REAL_DEF_F)
SHIM_VA_CALLS(SHIM_REAL_DEF_V)
SHIM_PRIV_UID_CALLS(SHIM_REAL_DEF_U)
SHIM_INTERNAL_CALLS(SHIM_REAL_DEF)

/* The internal entry points: hidden (-fvisibility=hidden), reached only by
 * references inside libxskshim.so that the linker redirected from name to
 * __wrap_name.  Each goes straight to the real call: no bookkeeping, no
 * guard, errno exactly the real call's. */
#define SHIM_WRAP_DEF(ret, name, params, args) \
	ret __wrap_##name params;              \
	ret __wrap_##name params { return REAL(name) args; }
#define SHIM_WRAP_DEF_F(ret, name, params, args, fd, kind) SHIM_WRAP_DEF(ret, name, params, args)
#define SHIM_WRAP_DEF_V(ret, name, params, args, last, nva)                                    \
	ret __wrap_##name(SHIM_UNPAREN params, ...);                                           \
	ret __wrap_##name(SHIM_UNPAREN params, ...)                                            \
	{                                                                                      \
		long a_[6] = { 0 };                                                            \
		va_list ap_;                                                                   \
		va_start(ap_, last);                                                           \
		for (int i_ = 0; i_ < (nva); i_++)                                             \
			a_[i_] = va_arg(ap_, long);                                            \
		va_end(ap_);                                                                   \
		return REAL(name)(SHIM_UNPAREN args, a_[0], a_[1], a_[2], a_[3], a_[4], a_[5]); \
	}
#define SHIM_WRAP_DEF_U(ret, name, params, args, euid) SHIM_WRAP_DEF(ret, name, params, args)
SHIM_PLAIN_CALLS(SHIM_WRAP_DEF)
SHIM_FD_CALLS(SHIM_WRAP_DEF_F)
SHIM_VA_PLAIN_CALLS(SHIM_WRAP_DEF_V)
SHIM_PRIV_UID_CALLS(SHIM_WRAP_DEF_U)

/* ---- the shim's own fds (shim.h) ---------------------------------------- */

uint8_t shim_own_fds[SHIM_FD_MAX / 8];

static int shim_own_add(int fd)
{
	if (fd >= 0 && fd < SHIM_FD_MAX)
		__atomic_or_fetch(&shim_own_fds[fd / 8], (uint8_t)(1u << (fd % 8)), __ATOMIC_RELAXED);
	return fd;
}

static void shim_own_del(int fd)
{
	if (fd >= 0 && fd < SHIM_FD_MAX)
		__atomic_and_fetch(&shim_own_fds[fd / 8], (uint8_t)~(1u << (fd % 8)), __ATOMIC_RELAXED);
}

int shim_own_next(unsigned int from)
{
	for (unsigned int fd = from; fd < SHIM_FD_MAX; fd++) {
		uint8_t b = __atomic_load_n(&shim_own_fds[fd / 8], __ATOMIC_RELAXED) >> (fd % 8);

		if (!b) {
			fd |= 7;   /* nothing more in this byte */
			continue;
		}
		if (b & 1)
			return (int)fd;
	}
	return -1;
}

/* The forwarders of the calls that make or drop fds (SHIM_OWN_CALLS,
 * SHIM_VA_OWN_CALLS, SHIM_INTERNAL_CALLS): the real call, and the record. */
int __wrap_socket(int d, int t, int p);
int __wrap_socket(int d, int t, int p) { return shim_own_add(REAL(socket)(d, t, p)); }
int __wrap_close(int fd);
int __wrap_close(int fd)
{
	shim_own_del(fd);
	return REAL(close)(fd);
}
int __wrap_dup(int fd);
int __wrap_dup(int fd) { return shim_own_add(REAL(dup)(fd)); }
int __wrap_dup2(int fd, int nfd);
int __wrap_dup2(int fd, int nfd) { return shim_own_add(REAL(dup2)(fd, nfd)); }
int __wrap_dup3(int fd, int nfd, int fl);
int __wrap_dup3(int fd, int nfd, int fl) { return shim_own_add(REAL(dup3)(fd, nfd, fl)); }
int __wrap_memfd_create(const char *n, unsigned int fl);
int __wrap_memfd_create(const char *n, unsigned int fl) { return shim_own_add(REAL(memfd_create)(n, fl)); }
int __wrap_eventfd(unsigned int v, int fl);
int __wrap_eventfd(unsigned int v, int fl) { return shim_own_add(REAL(eventfd)(v, fl)); }
int __wrap_epoll_create1(int fl);
int __wrap_epoll_create1(int fl) { return shim_own_add(REAL(epoll_create1)(fl)); }

static int shim_own_fcntl(int (*real)(int, int, ...), int fd, int cmd, va_list ap)
{
	int r = real(fd, cmd, va_arg(ap, long));

	return (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) ? shim_own_add(r) : r;
}

/* fcntl and fcntl64: F_DUPFD/F_DUPFD_CLOEXEC make an fd */
#define SHIM_OWN_FCNTL(name)                                                   \
	int __wrap_##name(int fd, int cmd, ...);                               \
	int __wrap_##name(int fd, int cmd, ...)                                \
	{                                                                      \
		va_list ap;                                                    \
		int r;                                                         \
		va_start(ap, cmd);                                             \
		r = shim_own_fcntl(REAL(name), fd, cmd, ap);                   \
		va_end(ap);                                                    \
		return r;                                                      \
	}
SHIM_OWN_FCNTL(fcntl)
SHIM_OWN_FCNTL(fcntl64)

/* bpf(2) commands whose result is a new fd (libbpf makes them through
 * syscall(__NR_bpf, ...)). */
static bool shim_bpf_makes_fd(long cmd)
{
	switch (cmd) {
	case BPF_MAP_CREATE: case BPF_PROG_LOAD: case BPF_OBJ_GET: case BPF_PROG_GET_FD_BY_ID:
	case BPF_MAP_GET_FD_BY_ID: case BPF_RAW_TRACEPOINT_OPEN: case BPF_BTF_LOAD:
	case BPF_BTF_GET_FD_BY_ID: case BPF_LINK_CREATE: case BPF_LINK_GET_FD_BY_ID:
	case BPF_ENABLE_STATS: case BPF_ITER_CREATE:
		return true;
	default:
		return false;
	}
}

long __wrap_syscall(long nr, ...);
long __wrap_syscall(long nr, ...)
{
	long a[6];
	va_list ap;
	long r;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_close)
		shim_own_del((int)a[0]);
	r = REAL(syscall)(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (r >= 0 && nr == SYS_bpf && shim_bpf_makes_fd(a[0]))
		shim_own_add((int)r);
	return r;
}

void shim_real_resolve(void **slot, const char *name)
{
	int saved = errno;
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		/* Never crash the host: a symbol this libc lacks is a symbol the
		 * program cannot have called through libc either. */
		static const char msg[] = "xskshim: error: real: cannot resolve a libc symbol\n";
		(void)!write(2, msg, sizeof(msg) - 1);
	}
	__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	errno = saved;
}
