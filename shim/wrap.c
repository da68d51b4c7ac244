/* wrap.c - the exported entry points.  Calls on one fd whose whole job is
 * "accelerated socket? emulate : pass through" are generated from
 * SHIM_FD_CALLS; the rest do bookkeeping around the real call and are
 * written out below.  Every wrapper passes straight through while the shim
 * itself is working (shim_guard), and preserves the application's errno. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "shim/shim.h"

/* defined in sock.c */
void shim_on_socket(int fd, int domain, int type);
int  shim_on_bind(int fd, const struct sockaddr *a, socklen_t al);
void shim_on_close(int fd);
void shim_on_dup(int oldfd, int newfd);
void shim_on_nonblock(int fd, bool on);
void shim_on_setsockopt(int fd, int lvl, int opt, const void *v, socklen_t l);

static inline void shim_put_keep_errno(struct shim_sock *s)
{
	int saved = errno;

	shim_sock_put(s);
	errno = saved;
}

#define SHIM_CALL_(fn, s, ...) fn(s, __VA_ARGS__)
#define SHIM_CALL(fn, s, args) SHIM_CALL_(fn, s, SHIM_UNPAREN args)

/* fd -> socket -> its ops (ops.c): an accelerated socket's emulation or the
 * kernel path's counted pass-through; an fd the shim does not track passes
 * straight through. */
#define SHIM_WRAP_FD(ret, name, params, args, fd, kind)                             \
	SHIM_EXPORT ret name params                                                 \
	{                                                                           \
		struct shim_sock *s_;                                               \
		ret r_;                                                             \
		if (__builtin_expect(shim_guard || !shim_fd_maybe(fd), 1) ||        \
		    !(s_ = shim_sock_get_any(fd)))                                  \
			return REAL(name) args;                                     \
		r_ = SHIM_CALL(__atomic_load_n(&s_->ops, __ATOMIC_ACQUIRE)->name, s_, args); \
		shim_put_keep_errno(s_);                                            \
		return r_;                                                          \
	}
SHIM_FD_CALLS(SHIM_WRAP_FD)

static bool shim_is_udp(int d, int t, int p)
{
	return (d == AF_INET || d == AF_INET6) && (t & 0xf) == SOCK_DGRAM && (p == 0 || p == IPPROTO_UDP);
}

SHIM_EXPORT int socket(int d, int t, int p)
{
	int fd = REAL(socket)(d, t, p), saved = errno;

	if (fd < 0 || shim_guard || !shim_is_udp(d, t, p))
		return fd;
	shim_init();
	shim_enter();
	shim_on_socket(fd, d, t);
	shim_leave();
	errno = saved;
	return fd;
}

SHIM_EXPORT int bind(int fd, const struct sockaddr *a, socklen_t al)
{
	int r;

	if (shim_guard || !shim_fd_maybe(fd))
		return REAL(bind)(fd, a, al);
	shim_enter();
	r = shim_on_bind(fd, a, al);
	shim_leave();
	return r;
}

SHIM_EXPORT int close(int fd)
{
	if (__builtin_expect(shim_fd_own(fd), 0) && !shim_guard) {
		errno = EBADF;   /* not open, as far as the application knows */
		return -1;
	}
	if (!shim_guard && shim_fd_maybe(fd)) {
		int saved = errno;

		shim_enter();
		shim_on_close(fd);
		shim_leave();
		errno = saved;
	}
	return REAL(close)(fd);
}

/* close_range(lo, hi, fl) of the application's fds only: the real call on
 * each stretch between the shim's own fds (shim.h).  Setting close-on-exec
 * needs no care (ours have it); CLOSE_RANGE_UNSHARE goes with the first
 * call made (a range that starts on one of ours keeps it for the next
 * stretch), after which the table is this process's alone. */
static int shim_close_range_app(unsigned int lo, unsigned int hi, int fl)
{
	int own = (fl & CLOSE_RANGE_CLOEXEC) || lo > hi ? -1 : shim_own_next(lo);

	while (own >= 0 && (unsigned int)own <= hi) {
		if ((unsigned int)own > lo) {
			if (REAL(close_range)(lo, (unsigned int)own - 1, fl))
				return -1;
			fl &= ~(int)CLOSE_RANGE_UNSHARE;   /* done by that call */
		}
		if ((unsigned int)own == hi)   /* nothing of the application's left: unshare alone */
			return (fl & CLOSE_RANGE_UNSHARE) ? REAL(close_range)(~0U, ~0U, CLOSE_RANGE_UNSHARE) : 0;
		lo = (unsigned int)own + 1;
		own = shim_own_next(lo);
	}
	return REAL(close_range)(lo, hi, fl);
}

static int shim_close_range(unsigned int lo, unsigned int hi, int fl)
{
	int r, saved;

	if (shim_guard)
		return REAL(close_range)(lo, hi, fl);
	r = shim_close_range_app(lo, hi, fl);
	saved = errno;
	if (r == 0 && !(fl & CLOSE_RANGE_CLOEXEC) && shim_g.fds) {
		shim_enter();
		for (unsigned int fd = lo; fd <= hi && fd < SHIM_FD_MAX; fd++)
			if (shim_fd_maybe((int)fd))
				shim_on_close((int)fd);
		shim_leave();
	}
	errno = saved;
	return r;
}

SHIM_EXPORT int close_range(unsigned int lo, unsigned int hi, int fl)
{
	return shim_close_range(lo, hi, fl);
}

/* glibc's closefrom calls its internal close_range, which no interposer
 * sees: the same split here, and glibc's own (which would close ours too)
 * only where close_range fails (kernels before 5.9). */
SHIM_EXPORT void closefrom(int lo)
{
	int saved = errno;

	if (shim_guard || shim_close_range(lo < 0 ? 0 : (unsigned int)lo, ~0U, 0))
		REAL(closefrom)(lo);
	errno = saved;
}

SHIM_EXPORT int setsockopt(int fd, int lvl, int opt, const void *v, socklen_t l)
{
	int r = REAL(setsockopt)(fd, lvl, opt, v, l), saved = errno;

	if (r == 0 && !shim_guard && shim_fd_maybe(fd)) {
		shim_enter();
		shim_on_setsockopt(fd, lvl, opt, v, l);
		shim_leave();
	}
	errno = saved;
	return r;
}

static int shim_after_dup(int oldfd, int r)
{
	int saved = errno;

	if (r >= 0 && !shim_guard && (shim_fd_maybe(oldfd) || shim_fd_maybe(r))) {
		shim_enter();
		shim_on_dup(oldfd, r);
		shim_leave();
	}
	errno = saved;
	return r;
}

SHIM_EXPORT int dup(int fd)
{
	return shim_after_dup(fd, REAL(dup)(fd));
}

SHIM_EXPORT int dup2(int fd, int nfd)
{
	return shim_after_dup(fd, REAL(dup2)(fd, nfd));
}

SHIM_EXPORT int dup3(int fd, int nfd, int fl)
{
	return shim_after_dup(fd, REAL(dup3)(fd, nfd, fl));
}

static int shim_fcntl_common(int (*real)(int, int, ...), int fd, int cmd, long arg)
{
	int r = real(fd, cmd, arg), saved = errno;

	if (r < 0 || shim_guard || !shim_fd_maybe(fd))
		return r;
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return shim_after_dup(fd, r);
	if (cmd == F_SETFL)
		shim_on_nonblock(fd, (arg & O_NONBLOCK) != 0);
	errno = saved;
	return r;
}

SHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return shim_fcntl_common(REAL(fcntl), fd, cmd, arg);
}

SHIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return shim_fcntl_common(REAL(fcntl64), fd, cmd, arg);
}

SHIM_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	struct shim_sock *s;
	va_list ap;
	void *arg;
	int r, saved;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (shim_guard || !shim_fd_maybe(fd))
		return REAL(ioctl)(fd, req, arg);
	if (req == FIONREAD && arg && (s = shim_sock_get(fd))) {
		r = shim_fionread(s, fd, arg);
		shim_put_keep_errno(s);
		return r;
	}
	r = REAL(ioctl)(fd, req, arg);
	saved = errno;
	if (r == 0 && req == FIONBIO && arg)
		shim_on_nonblock(fd, *(int *)arg != 0);
	errno = saved;
	return r;
}

/* ---- readiness ---------------------------------------------------------- */

static inline bool shim_ready_active(void)
{
	return !shim_guard && __atomic_load_n(&shim_g.accel_cnt, __ATOMIC_RELAXED);
}

SHIM_EXPORT int poll(struct pollfd *f, nfds_t n, int t)
{
	if (!shim_ready_active())
		return REAL(poll)(f, n, t);
	return shim_poll(f, n, NULL, NULL, false, t);
}

SHIM_EXPORT int __poll_chk(struct pollfd *f, nfds_t n, int t, size_t fl)
{
	if (!shim_ready_active() || fl / sizeof(*f) < n)
		return REAL(__poll_chk)(f, n, t, fl);
	return shim_poll(f, n, NULL, NULL, false, t);
}

SHIM_EXPORT int ppoll(struct pollfd *f, nfds_t n, const struct timespec *t, const sigset_t *s)
{
	if (!shim_ready_active())
		return REAL(ppoll)(f, n, t, s);
	return shim_poll(f, n, t, s, true, 0);
}

SHIM_EXPORT int __ppoll_chk(struct pollfd *f, nfds_t n, const struct timespec *t, const sigset_t *s,
			    size_t fl)
{
	if (!shim_ready_active() || fl / sizeof(*f) < n)
		return REAL(__ppoll_chk)(f, n, t, s, fl);
	return shim_poll(f, n, t, s, true, 0);
}

static bool shim_select_wanted(int n, fd_set *r)
{
	if (!shim_ready_active() || !r || n <= 0 || n > FD_SETSIZE)
		return false;
	for (int fd = 0; fd < n; fd++)
		if (FD_ISSET(fd, r) && shim_fd_maybe(fd)) {
			struct shim_sock *s = shim_sock_get(fd);

			if (s) {
				shim_sock_put(s);
				return true;
			}
		}
	return false;
}

SHIM_EXPORT int select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t)
{
	struct timespec ts;

	if (!shim_select_wanted(n, r))
		return REAL(select)(n, r, w, e, t);
	if (t) {
		if (t->tv_sec < 0 || t->tv_usec < 0) {
			errno = EINVAL;
			return -1;
		}
		ts.tv_sec = t->tv_sec + t->tv_usec / 1000000;
		ts.tv_nsec = (t->tv_usec % 1000000) * 1000;
	}
	return shim_select(n, r, w, e, t ? &ts : NULL, NULL, t);
}

SHIM_EXPORT int pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t, const sigset_t *s)
{
	if (!shim_select_wanted(n, r))
		return REAL(pselect)(n, r, w, e, t, s);
	return shim_select(n, r, w, e, t, s, NULL);
}

SHIM_EXPORT int epoll_ctl(int ep, int op, int fd, struct epoll_event *e)
{
	int r;

	if (shim_guard || !shim_fd_maybe(fd))
		return REAL(epoll_ctl)(ep, op, fd, e);
	shim_enter();
	r = shim_epoll_ctl(ep, op, fd, e);
	shim_leave();
	return r;
}

SHIM_EXPORT int epoll_wait(int ep, struct epoll_event *e, int n, int t)
{
	return shim_epoll_wait(ep, e, n, NULL, NULL, t, 0);
}

SHIM_EXPORT int epoll_pwait(int ep, struct epoll_event *e, int n, int t, const sigset_t *s)
{
	return shim_epoll_wait(ep, e, n, NULL, s, t, 1);
}

SHIM_EXPORT int epoll_pwait2(int ep, struct epoll_event *e, int n, const struct timespec *t, const sigset_t *s)
{
	return shim_epoll_wait(ep, e, n, t, s, 0, 2);
}

/* ---- privilege drops (priv.c) ------------------------------------------- */

SHIM_EXPORT int capset(cap_user_header_t h, const cap_user_data_t d)
{
	if (!shim_guard)
		shim_priv_capset(h, d);
	return REAL(capset)(h, d);
}

#define SHIM_WRAP_UID(ret, name, params, args, euid) \
	SHIM_EXPORT ret name params                  \
	{                                            \
		if (!shim_guard)                     \
			shim_priv_euid(#name, euid); \
		return REAL(name) args;              \
	}
SHIM_PRIV_UID_CALLS(SHIM_WRAP_UID)

/* ---- raw syscall() -------------------------------------------------------
 * A program that calls syscall(SYS_recvmmsg, ...) (quinn-udp 0.4 to 0.5.4
 * did) or syscall(SYS_close, ...) would read an empty kernel socket or leave
 * the shim's fd table stale.  The numbers of SHIM_SYSCALLS (syms.h) are
 * served by the wrapper of the libc call of the same name, through a local
 * alias (the call binds here, whatever else the program preloads); every
 * other number goes to libc's syscall() with its arguments, return value
 * and errno untouched.  Six longs are read, as libc's syscall() does. */
#define SHIM_SYS_ALIAS(nr, name, ok, ...) \
	extern __typeof__(name) shim_sys_##name __attribute__((alias(#name), copy(name), visibility("hidden")));
SHIM_SYSCALLS(SHIM_SYS_ALIAS)

#define SHIM_SYS_CASE(nr, name, ok, ...)                         \
	case nr:                                                 \
		if (ok)                                          \
			return (long)shim_sys_##name(__VA_ARGS__); \
		break;

#define SHIM_SYS_UID_CASE(nr, euid)                      \
	case nr:                                         \
		shim_priv_euid(#nr, (uid_t)(euid));      \
		break;

SHIM_EXPORT long syscall(long nr, ...)
{
	long a[6];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!shim_guard) {
		switch (nr) {
			SHIM_SYSCALLS(SHIM_SYS_CASE)
		case SYS_capset:
			shim_priv_capset((cap_user_header_t)a[0], (const cap_user_data_t)a[1]);
			break;
			SHIM_PRIV_UID_SYSCALLS(SHIM_SYS_UID_CASE)
		}
	}
	return REAL(syscall)(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* ---- exec (shim.h, shim_on_exec) -------------------------------------- */

static void shim_exec_hook(const char *prog, char *const *envp)
{
	int saved = errno;

	if (shim_guard)
		return;
	shim_enter();
	shim_on_exec(prog, envp);
	shim_leave();
	errno = saved;
}

SHIM_EXPORT int execve(const char *p, char *const *av, char *const *ev)
{
	shim_exec_hook(p, ev);
	return REAL(execve)(p, av, ev);
}

SHIM_EXPORT int execv(const char *p, char *const *av)
{
	shim_exec_hook(p, NULL);
	return REAL(execv)(p, av);
}

SHIM_EXPORT int execvp(const char *p, char *const *av)
{
	shim_exec_hook(p, NULL);
	return REAL(execvp)(p, av);
}

SHIM_EXPORT int execvpe(const char *p, char *const *av, char *const *ev)
{
	shim_exec_hook(p, ev);
	return REAL(execvpe)(p, av, ev);
}

SHIM_EXPORT int fexecve(int fd, char *const *av, char *const *ev)
{
	shim_exec_hook("fexecve", ev);   /* (not av[0]: Linux takes a NULL argv) */
	return REAL(fexecve)(fd, av, ev);
}

/* execl, execle, execlp: glibc's call its internal execve, past any
 * wrapper; here they become execv, execve and execvp with the list as the
 * argument vector (the same as glibc's definitions). */
#define SHIM_EXECL_ARGV(first, argv, ap)                                        \
	size_t n_ = 1;                                                          \
	va_list c_;                                                             \
	va_copy(c_, ap);                                                        \
	while (va_arg(c_, const char *))                                        \
		n_++;                                                           \
	va_end(c_);                                                             \
	const char *argv[n_ + 1];                                               \
	argv[0] = first;                                                        \
	for (size_t i_ = 1; i_ <= n_; i_++)                                     \
		argv[i_] = va_arg(ap, const char *)

SHIM_EXPORT int execl(const char *p, const char *a, ...)
{
	va_list ap;

	va_start(ap, a);
	SHIM_EXECL_ARGV(a, argv, ap);
	va_end(ap);
	shim_exec_hook(p, NULL);
	return REAL(execv)(p, (char *const *)argv);
}

SHIM_EXPORT int execlp(const char *p, const char *a, ...)
{
	va_list ap;

	va_start(ap, a);
	SHIM_EXECL_ARGV(a, argv, ap);
	va_end(ap);
	shim_exec_hook(p, NULL);
	return REAL(execvp)(p, (char *const *)argv);
}

SHIM_EXPORT int execle(const char *p, const char *a, ...)
{
	va_list ap;
	char *const *ev;

	va_start(ap, a);
	SHIM_EXECL_ARGV(a, argv, ap);
	ev = va_arg(ap, char *const *);
	va_end(ap);
	shim_exec_hook(p, ev);
	return REAL(execve)(p, (char *const *)argv, ev);
}
