/* syms.h - the one list of every libc symbol xskshim interposes.
 *
 * X(ret, name, params, args)
 *   Every entry gets a lazily resolved pointer to the next definition
 *   (dlsym(RTLD_NEXT)), callable as REAL(name)(args) from any point, even
 *   before our constructor has run.
 *
 * Symbol isolation.  Each name here is defined twice in libxskshim.so:
 *   name         the exported, application-facing wrapper (wrap.c); the
 *                version script exports these names and nothing else;
 *   __wrap_name  a hidden forwarder straight to REAL(name) (real.c).
 * The .so is linked with -Wl,--wrap=name for every name (the Makefile
 * generates the list from SHIM_ALL_NAMES), so every internal reference -
 * shim/, ring/ and the libbpf/libxdp linked in statically - binds at link
 * time to __wrap_name: the shim's own calls never enter its wrappers, and
 * libbpf's bpf(), socket(), setsockopt()... go straight to libc.  libbpf and
 * libxdp come from Debian's libbpf.a/libxdp.a, linked in with
 * --exclude-libs,ALL and hidden by the version script, so their functions
 * are neither exported nor replaceable by an application that defines its
 * own bpf_prog_load (dnsdist) - see the Makefile for the one relocation
 * that needed help (their reference to libc's stderr).
 *
 * SHIM_FD_CALLS(F): the subset whose wrapper is purely "look up the fd; if it
 *   is an accelerated socket call shim_<name>(sock, args...), otherwise pass
 *   through".  Their exported wrappers are generated in wrap.c from this list;
 *   only calls with extra logic (socket, bind, close, poll, fcntl, ...) have
 *   hand-written wrappers.  F(ret, name, params, args, fd, kind): kind says
 *   how many datagrams a successful call on a kernel-path socket received
 *   (MMSG: the return value, ONE: one, NONE: none), for its counters.
 */
#ifndef XSKSHIM_SYMS_H
#define XSKSHIM_SYMS_H

#ifndef SHIM_SYMS_NAMES_ONLY   /* set when generating the version script */
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#endif

#define SHIM_FD_CALLS(F)                                                                        \
	F(int, recvmmsg, (int fd, struct mmsghdr *v, unsigned int n, int fl, struct timespec *t), \
	  (fd, v, n, fl, t), fd, MMSG)                                                                  \
	F(ssize_t, recvmsg, (int fd, struct msghdr *m, int fl), (fd, m, fl), fd, ONE)                 \
	F(ssize_t, recvfrom, (int fd, void *b, size_t l, int fl, struct sockaddr *a, socklen_t *al), \
	  (fd, b, l, fl, a, al), fd, ONE)                                                              \
	F(ssize_t, recv, (int fd, void *b, size_t l, int fl), (fd, b, l, fl), fd, ONE)                \
	F(ssize_t, read, (int fd, void *b, size_t l), (fd, b, l), fd, ONE)                            \
	F(ssize_t, readv, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt), fd, ONE)         \
	F(ssize_t, __recv_chk, (int fd, void *b, size_t l, size_t bl, int fl), (fd, b, l, bl, fl), fd, ONE) \
	F(ssize_t, __recvfrom_chk, (int fd, void *b, size_t l, size_t bl, int fl, struct sockaddr *a, \
				    socklen_t *al), (fd, b, l, bl, fl, a, al), fd, ONE)                \
	F(ssize_t, __read_chk, (int fd, void *b, size_t l, size_t bl), (fd, b, l, bl), fd, ONE)       \
	F(int, connect, (int fd, const struct sockaddr *a, socklen_t al), (fd, a, al), fd, NONE)                 \
	F(ssize_t, sendto, (int fd, const void *b, size_t l, int fl, const struct sockaddr *a, socklen_t al), \
	  (fd, b, l, fl, a, al), fd, NONE)                                                             \
	F(ssize_t, sendmsg, (int fd, const struct msghdr *m, int fl), (fd, m, fl), fd, NONE)                 \
	F(int, sendmmsg, (int fd, struct mmsghdr *v, unsigned int n, int fl), (fd, v, n, fl), fd, NONE)      \
	F(ssize_t, send, (int fd, const void *b, size_t l, int fl), (fd, b, l, fl), fd, NONE)                \
	F(ssize_t, write, (int fd, const void *b, size_t l), (fd, b, l), fd, NONE)                    \
	F(ssize_t, writev, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt), fd, NONE)

/* SHIM_OTHER_CALLS = the fd-making ones (SHIM_OWN_CALLS: their internal
 * forwarders record the fds the shim's internals make, see "The shim's own
 * fds" in shim.h) + the rest (SHIM_PLAIN_CALLS). */
#define SHIM_OWN_CALLS(X)                                                                       \
	X(int, socket, (int d, int t, int p), (d, t, p))                                          \
	X(int, close, (int fd), (fd))                                                             \
	X(int, dup, (int fd), (fd))                                                               \
	X(int, dup2, (int fd, int nfd), (fd, nfd))                                                \
	X(int, dup3, (int fd, int nfd, int fl), (fd, nfd, fl))
#define SHIM_OTHER_CALLS(X) SHIM_OWN_CALLS(X) SHIM_PLAIN_CALLS(X)
#define SHIM_PLAIN_CALLS(X)                                                                     \
	X(int, bind, (int fd, const struct sockaddr *a, socklen_t al), (fd, a, al))               \
	X(int, close_range, (unsigned int lo, unsigned int hi, int fl), (lo, hi, fl))             \
	X(void, closefrom, (int lo), (lo))                                                        \
	X(int, setsockopt, (int fd, int lvl, int opt, const void *v, socklen_t l), (fd, lvl, opt, v, l)) \
	X(int, poll, (struct pollfd *f, nfds_t n, int t), (f, n, t))                              \
	X(int, __poll_chk, (struct pollfd *f, nfds_t n, int t, size_t fl), (f, n, t, fl))         \
	X(int, ppoll, (struct pollfd *f, nfds_t n, const struct timespec *t, const sigset_t *s), (f, n, t, s)) \
	X(int, __ppoll_chk, (struct pollfd *f, nfds_t n, const struct timespec *t, const sigset_t *s, size_t fl), \
	  (f, n, t, s, fl))                                                                       \
	X(int, select, (int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t), (n, r, w, e, t)) \
	X(int, pselect, (int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t, const sigset_t *s), \
	  (n, r, w, e, t, s))                                                                     \
	X(int, epoll_ctl, (int ep, int op, int fd, struct epoll_event *e), (ep, op, fd, e))       \
	X(int, epoll_wait, (int ep, struct epoll_event *e, int n, int t), (ep, e, n, t))          \
	X(int, epoll_pwait, (int ep, struct epoll_event *e, int n, int t, const sigset_t *s), (ep, e, n, t, s)) \
	X(int, epoll_pwait2, (int ep, struct epoll_event *e, int n, const struct timespec *t, const sigset_t *s), \
	  (ep, e, n, t, s))                                                                       \
	X(int, capset, (cap_user_header_t h, const cap_user_data_t d), (h, d))                    \
	X(int, sigaction, (int sig, const struct sigaction *act, struct sigaction *old), (sig, act, old)) \
	X(sighandler_t, signal, (int sig, sighandler_t h), (sig, h))                              \
	X(void, _exit, (int st), (st))                                                            \
	X(void, _Exit, (int st), (st))                                                            \
	SHIM_EXEC_CALLS(X)
/* exec (shim_on_exec first); execl, execle and execlp are variadic and
 * become execv, execve and execvp (SHIM_EXECL_NAMES).  Not posix_spawn:
 * its child runs the file actions (close, dup2) that decide which fds the
 * new image gets, out of our sight - a socket the actions close must stay
 * accelerated (t_fork "spawn"). */
#define SHIM_EXEC_CALLS(X)                                                                      \
	X(int, execve, (const char *p, char *const *av, char *const *ev), (p, av, ev))            \
	X(int, execv, (const char *p, char *const *av), (p, av))                                  \
	X(int, execvp, (const char *p, char *const *av), (p, av))                                 \
	X(int, execvpe, (const char *p, char *const *av, char *const *ev), (p, av, ev))           \
	X(int, fexecve, (int fd, char *const *av, char *const *ev), (fd, av, ev))
#define SHIM_EXECL_NAMES(N) N(execl) N(execle) N(execlp)

/* Calls that take the effective capabilities away when an effective uid of
 * 0 becomes another (unless SECBIT_NO_SETUID_FIXUP): U(ret, name, params,
 * args, the new effective uid or -1 for "unchanged").  Their wrappers (and
 * capset's) let priv.c prepare the XDP install first. */
#define SHIM_PRIV_UID_CALLS(U)                                                                 \
	U(int, setuid, (uid_t u), (u), u)                                                      \
	U(int, seteuid, (uid_t u), (u), u)                                                     \
	U(int, setreuid, (uid_t r, uid_t e), (r, e), e)                                        \
	U(int, setresuid, (uid_t r, uid_t e, uid_t s), (r, e, s), e)
/* The same through syscall(NR, ...): H(NR, the new effective uid).  Raw,
 * they change only the calling thread; the preparation is the same. */
#define SHIM_PRIV_UID_SYSCALLS(H)                                                              \
	H(SYS_setuid, a[0]) H(SYS_setreuid, a[1]) H(SYS_setresuid, a[1])

/* Variadic calls: V(ret, name, fixed params, fixed args, last fixed param,
 * how many long-sized variadic arguments the call can take).  The pointer
 * REAL(name) has the type ret (*)(fixed params, ...); a forwarder reads
 * exactly that many longs (x86-64: every integer or pointer argument is one
 * long, as glibc's own syscall() reads six). */
#define SHIM_VA_CALLS(V) SHIM_VA_OWN_CALLS(V) SHIM_VA_PLAIN_CALLS(V)
#define SHIM_VA_OWN_CALLS(V)                                                                    \
	V(int, fcntl, (int fd, int cmd), (fd, cmd), cmd, 1)                                       \
	V(int, fcntl64, (int fd, int cmd), (fd, cmd), cmd, 1)                                     \
	V(long, syscall, (long nr), (nr), nr, 6)
#define SHIM_VA_PLAIN_CALLS(V)                                                                  \
	V(int, ioctl, (int fd, unsigned long req), (fd, req), req, 1)

/* Calls the shim's internals make fds with that the application's are not
 * interposed for: never exported, only --wrap'ed, so the internal
 * references reach a forwarder that records the fd (real.c). */
#define SHIM_INTERNAL_CALLS(X)                                                                  \
	X(int, memfd_create, (const char *n, unsigned int fl), (n, fl))                          \
	X(int, eventfd, (unsigned int v, int fl), (v, fl))                                        \
	X(int, epoll_create1, (int fl), (fl))

/* syscall(NR, ...) numbers served exactly like the libc call of the same
 * name (its exported wrapper, so bookkeeping and emulation are the same):
 * S(NR, name, ok, args...) with args the six raw arguments a[0..5] cast to
 * the libc call's parameters, and `ok` a condition under which the raw call
 * has the libc call's shape (ppoll/epoll_pwait carry the kernel's sigset
 * size, which libc fills in; any other size passes through and fails in the
 * kernel as it would).  Every other number - select and pselect6 included,
 * whose raw forms write back the timeout - passes through untouched.  (A
 * raw ppoll writes the time left back to its timespec; served here it does
 * not, as libc's ppoll does not.)  aarch64 has no poll, dup2, epoll_wait. */
#define SHIM_SYS_FD   (int)a[0]
#define SHIM_SYS_SA   (const struct sockaddr *)a[1], (socklen_t)a[2]
#define SHIM_SYSCALLS_COMMON(S)                                                                 \
	S(SYS_recvmmsg, recvmmsg, 1, SHIM_SYS_FD, (struct mmsghdr *)a[1], (unsigned int)a[2],   \
	  (int)a[3], (struct timespec *)a[4])                                                   \
	S(SYS_recvmsg, recvmsg, 1, SHIM_SYS_FD, (struct msghdr *)a[1], (int)a[2])               \
	S(SYS_recvfrom, recvfrom, 1, SHIM_SYS_FD, (void *)a[1], (size_t)a[2], (int)a[3],        \
	  (struct sockaddr *)a[4], (socklen_t *)a[5])                                           \
	S(SYS_read, read, 1, SHIM_SYS_FD, (void *)a[1], (size_t)a[2])                           \
	S(SYS_readv, readv, 1, SHIM_SYS_FD, (const struct iovec *)a[1], (int)a[2])              \
	S(SYS_connect, connect, 1, SHIM_SYS_FD, SHIM_SYS_SA)                                    \
	S(SYS_sendto, sendto, 1, SHIM_SYS_FD, (const void *)a[1], (size_t)a[2], (int)a[3],      \
	  (const struct sockaddr *)a[4], (socklen_t)a[5])                                       \
	S(SYS_sendmsg, sendmsg, 1, SHIM_SYS_FD, (const struct msghdr *)a[1], (int)a[2])         \
	S(SYS_sendmmsg, sendmmsg, 1, SHIM_SYS_FD, (struct mmsghdr *)a[1], (unsigned int)a[2],   \
	  (int)a[3])                                                                            \
	S(SYS_write, write, 1, SHIM_SYS_FD, (const void *)a[1], (size_t)a[2])                   \
	S(SYS_writev, writev, 1, SHIM_SYS_FD, (const struct iovec *)a[1], (int)a[2])            \
	S(SYS_socket, socket, 1, (int)a[0], (int)a[1], (int)a[2])                               \
	S(SYS_bind, bind, 1, SHIM_SYS_FD, SHIM_SYS_SA)                                          \
	S(SYS_close, close, 1, SHIM_SYS_FD)                                                     \
	S(SYS_close_range, close_range, 1, (unsigned int)a[0], (unsigned int)a[1], (int)a[2])   \
	S(SYS_setsockopt, setsockopt, 1, SHIM_SYS_FD, (int)a[1], (int)a[2], (const void *)a[3], \
	  (socklen_t)a[4])                                                                      \
	S(SYS_dup, dup, 1, SHIM_SYS_FD)                                                         \
	S(SYS_dup3, dup3, 1, SHIM_SYS_FD, (int)a[1], (int)a[2])                                 \
	S(SYS_fcntl, fcntl, 1, SHIM_SYS_FD, (int)a[1], a[2])                                    \
	S(SYS_ioctl, ioctl, 1, SHIM_SYS_FD, (unsigned long)a[1], a[2])                          \
	S(SYS_ppoll, ppoll, a[4] == 8, (struct pollfd *)a[0], (nfds_t)a[1],                     \
	  (const struct timespec *)a[2], (const sigset_t *)a[3])                                \
	S(SYS_epoll_ctl, epoll_ctl, 1, (int)a[0], (int)a[1], (int)a[2], (struct epoll_event *)a[3]) \
	S(SYS_epoll_pwait, epoll_pwait, a[5] == 8, (int)a[0], (struct epoll_event *)a[1],       \
	  (int)a[2], (int)a[3], (const sigset_t *)a[4])                                         \
	S(SYS_epoll_pwait2, epoll_pwait2, a[5] == 8, (int)a[0], (struct epoll_event *)a[1],     \
	  (int)a[2], (const struct timespec *)a[3], (const sigset_t *)a[4])
#ifdef SYS_poll
#define SHIM_SYSCALLS(S)                                                                        \
	SHIM_SYSCALLS_COMMON(S)                                                                 \
	S(SYS_poll, poll, 1, (struct pollfd *)a[0], (nfds_t)a[1], (int)a[2])                    \
	S(SYS_dup2, dup2, 1, SHIM_SYS_FD, (int)a[1])                                            \
	S(SYS_epoll_wait, epoll_wait, 1, (int)a[0], (struct epoll_event *)a[1], (int)a[2], (int)a[3])
#else
#define SHIM_SYSCALLS(S) SHIM_SYSCALLS_COMMON(S)
#endif

/* Every interposed name, once: N(name).  The version script (exports) and
 * the linker's --wrap list (internal references) are both generated from
 * this. */
#define SHIM_NAME_OF_X(ret, name, ...) SHIM_NAME_EMIT(name)
#define SHIM_ALL_NAMES()                                                                        \
	SHIM_OTHER_CALLS(SHIM_NAME_OF_X) SHIM_FD_CALLS(SHIM_NAME_OF_X) SHIM_VA_CALLS(SHIM_NAME_OF_X) \
	SHIM_PRIV_UID_CALLS(SHIM_NAME_OF_X) SHIM_EXECL_NAMES(SHIM_NAME_EMIT)
/* ... and the --wrap list: those plus the internal-only ones */
#define SHIM_WRAP_NAMES() SHIM_ALL_NAMES() SHIM_INTERNAL_CALLS(SHIM_NAME_OF_X)

#endif /* XSKSHIM_SYMS_H */
