/* sock.c - process state, the fd table, and socket lifecycle: socket, bind,
 * close, dup*, fcntl/ioctl flags, setsockopt bookkeeping, fork and exit. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/net_tstamp.h>

#include <net/if.h>

#include "shim/shim.h"

#ifndef SOF_TIMESTAMPING_OPT_RX_FILTER
#define SOF_TIMESTAMPING_OPT_RX_FILTER (1 << 17)   /* Linux 6.6; Debian 12's headers lack it */
#endif

struct shim_glob shim_g __attribute__((aligned(64))) = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};
_Static_assert(__builtin_offsetof(struct shim_glob, fds) <= 64, "what a fork child writes: one cache line");

static pthread_once_t shim_once = PTHREAD_ONCE_INIT;
static struct shim_sock *shim_free_socks;   /* under shim_g.lock */
_Static_assert(__builtin_offsetof(struct shim_sock, refcnt) == 0, "refcnt must come first (recycling)");

static void shim_atfork_child(void);

/* ---- the control plane's hooks (ctl.h struct ctl_hooks) ---------------- */

static void shim_ctl_vlog(enum ctl_log_lvl lvl, const char *subsys, const char *fmt, va_list ap)
{
	shim_vlog_list((enum shim_log_lvl)lvl, subsys, fmt, ap);
}

static void shim_sock_reap(void);
static struct shim_sock *shim_orphans;   /* closed by the owner, still held elsewhere; lock held */

static void shim_ctl_xsks_leaving(struct ctl_bind *b)
{
	shim_ready_forget((struct shim_sock *)((char *)b - __builtin_offsetof(struct shim_sock, b)));
}

static const struct ctl_hooks shim_ctl_hooks = {
	.vlog = shim_ctl_vlog,
	.log_hold = shim_log_hold,
	.log_release = shim_log_release,
	.iface_gone = shim_sock_demote_all,
	.changed = shim_stats_global_publish,
	.xsks_leaving = shim_ctl_xsks_leaving,
	.installed = shim_send_install,
	.uninstalling = shim_send_uninstall,
	.tick = shim_sock_reap,
};

static void shim_sock_rp_app(struct shim_sock *s);

static void shim_init_once(void)
{
	shim_enter();
	/* A rejected configuration (each bad variable already named on
	 * stderr) leaves every socket on the kernel path, and makes
	 * XSKSHIM_REQUIRE=1 binds fail (shim_on_bind). */
	shim_g.cfg_rejected = shim_cfg_load(&shim_g.cfg) != 0;
	shim_g.fds = calloc(SHIM_FD_MAX, sizeof(*shim_g.fds));
	shim_g.cfg.ctl.tx_sz = shim_send_tx_ring_sz();
	ctl_init(&shim_g.cfg.ctl, &shim_g.lock, &shim_ctl_hooks);
	shim_log_libs_init();
	pthread_atfork(ctl_atfork_prepare, NULL, shim_atfork_child);
	if (shim_g.cfg.active)
		shim_log(SHIM_LOG_INFO, "config", "iface %s, %u port(s), mode %s, frames %u, batch %u",
			 shim_g.cfg.ctl.iface, shim_g.cfg.port_cnt,
			 (const char *[]){ "auto", "native", "skb" }[shim_g.cfg.ctl.mode], shim_g.cfg.ctl.frames,
			 shim_g.cfg.ctl.batch);
	shim_g.pid = getpid();
	shim_exit_init();
	if (shim_g.cfg.active && shim_g.fds)
		shim_adopt_scan();
	__atomic_store_n(&shim_g.inited, 1, __ATOMIC_RELEASE);
	shim_leave();
}

void shim_init(void)
{
	if (!__atomic_load_n(&shim_g.inited, __ATOMIC_ACQUIRE))
		pthread_once(&shim_once, shim_init_once);
}

__attribute__((constructor)) static void shim_ctor(void)
{
	shim_init();
}

__attribute__((destructor)) static void shim_dtor(void)
{
	shim_exit_report(SHIM_END_EXIT);
}

/* ---- fd table ---------------------------------------------------------- */

/* Lock-free reference taking.  shim_sock memory is never returned to
 * malloc: a dead socket (refcnt 0) goes to a free list and may be reused.
 * A reader therefore may only increment a non-zero count (so it never
 * resurrects a dead socket), and after incrementing re-checks that the table
 * still points at the object; if not, the object was closed (and maybe
 * reused) meanwhile and the reader drops its transient reference. */
struct shim_sock *shim_sock_get_any(int fd)
{
	struct shim_sock *s;
	int c;

	if (!shim_fd_maybe(fd))
		return NULL;
	for (;;) {
		s = __atomic_load_n(&shim_g.fds[fd], __ATOMIC_ACQUIRE);
		if (!s)
			return NULL;
		c = __atomic_load_n(&s->refcnt, __ATOMIC_RELAXED);
		do {
			if (c == 0)
				break;
		} while (!__atomic_compare_exchange_n(&s->refcnt, &c, c + 1, true, __ATOMIC_ACQUIRE,
						      __ATOMIC_RELAXED));
		if (c == 0)
			continue;   /* dying: the table entry is being replaced */
		if (__atomic_load_n(&shim_g.fds[fd], __ATOMIC_ACQUIRE) == s)
			return s;
		shim_sock_put(s);
	}
}

/* fn(fd, arg) for every fd this process has open (/proc/self/fd, the
 * directory's own fd left out); nothing if /proc is not there. */
void shim_fd_walk(void (*fn)(int fd, void *arg), void *arg)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *d;

	if (!dir)
		return;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.' && atoi(d->d_name) != dirfd(dir))
			fn(atoi(d->d_name), arg);
	closedir(dir);
}

struct shim_sock *shim_sock_get(int fd)
{
	struct shim_sock *s = shim_sock_get_any(fd);

	if (s && !shim_sock_accel(s)) {
		shim_sock_put(s);
		return NULL;
	}
	return s;
}

/* Leave the fast path (closing: the fd's last reference in this process
 * went; else a demotion, which holds for every process).  A socket demoted
 * by another process (stale) still has this process's handles: drop them. */
static void shim_sock_unaccel_how(struct shim_sock *s, const char *why, bool closing)
{
	/* rx lock: no reader (of any process) is inside the rings while they
	 * go away; the tx lock: nor a sender (send.c) */
	shim_rx_lock(s);
	shim_tx_lock(s);
	if (shim_sock_accel(s) || s->stale) {
		if (shim_sock_accel(s)) {
			shim_sock_ops_set(s, &shim_ops_kernel);
			snprintf(s->why, sizeof(s->why), "%s", why);
		}
		s->stale = false;
		shim_g.accel_cnt--;
		shim_sock_unbind_xdp(s, closing);
		if (s->pub)
			shim_stats_sock_publish(s);
	}
	shim_tx_unlock(s);
	shim_rx_unlock(s);
}

static void shim_sock_unaccel(struct shim_sock *s, const char *why)
{
	shim_sock_unaccel_how(s, why, false);
}

void shim_sock_demote(struct shim_sock *s, const char *why)
{
	shim_sock_unaccel(s, why);
	shim_log(SHIM_LOG_WARN, "sock", "fd %d udp port %u moved to the kernel path: %s", s->fd_first, s->port, why);
}

/* Move every accelerated socket to the kernel path (the interface went
 * away).  Lock held. */
void shim_sock_demote_all(const char *why)
{
	for (struct shim_sock *s = shim_g.socks; s; s = s->next)
		if (shim_sock_accel(s))
			shim_sock_unaccel(s, why);
}

void shim_sock_put(struct shim_sock *s)
{
	struct shim_sock **pp;

	if (__atomic_sub_fetch(&s->refcnt, 1, __ATOMIC_ACQ_REL))
		return;
	shim_enter();
	pthread_mutex_lock(&shim_g.lock);
	{
		bool was_accel = shim_sock_accel(s);
		bool orphan = was_accel && shim_sock_orphan(s);

		if (!orphan)
			shim_sock_unaccel_how(s, "closed", true);
		shim_stats_sock_unpublish(s);
		shim_stats_sock_retire(s, was_accel);
		shim_ready_sock_gone(s);
		for (pp = &shim_g.socks; *pp; pp = &(*pp)->next)
			if (*pp == s) {
				*pp = s->next;
				break;
			}
		if (!orphan)
			shim_sock_recycle(s);
	}
	pthread_mutex_unlock(&shim_g.lock);
	shim_leave();
}

/* To the free list: see shim_sock_get_any for why never free().  Lock held. */
void shim_sock_recycle(struct shim_sock *s)
{
	s->next = shim_free_socks;
	shim_free_socks = s;
}

/* Point fd at s (taking a reference), or at nothing.  Returns the previous
 * occupant's reference for the caller to put. */
static struct shim_sock *shim_fd_set(int fd, struct shim_sock *s)
{
	struct shim_sock *old;

	if (fd < 0 || fd >= SHIM_FD_MAX || !shim_g.fds)
		return NULL;
	if (s)
		__atomic_add_fetch(&s->refcnt, 1, __ATOMIC_RELAXED);
	old = __atomic_exchange_n(&shim_g.fds[fd], s, __ATOMIC_ACQ_REL);
	return old;
}

static void shim_fd_clear(int fd)
{
	struct shim_sock *old = shim_fd_set(fd, NULL);

	if (old)
		shim_sock_put(old);
}

/* ---- lifecycle hooks called by the wrappers ---------------------------- */

void shim_on_socket(int fd, int domain, int type);
void shim_on_socket(int fd, int domain, int type)
{
	struct shim_sock *s;

	if (!shim_g.cfg.iface_given || fd >= SHIM_FD_MAX)
		return;
	pthread_mutex_lock(&shim_g.lock);
	s = shim_free_socks;
	if (s)
		shim_free_socks = s->next;
	pthread_mutex_unlock(&shim_g.lock);
	if (s) {
		/* refcnt is 0 and stays 0 until published: readers never touch
		 * anything else of an object they could not take a reference on.
		 * Its shared rx page stays with it, if this process made it. */
		struct shim_rx *rx = s->rx;
		int rx_pid = s->rx_pid;

		memset((char *)s + sizeof(s->refcnt), 0, sizeof(*s) - sizeof(s->refcnt));
		if (rx != &s->rx_local && rx_pid == shim_g.pid) {
			s->rx = rx;
			s->rx_pid = rx_pid;
		}
	} else {
		s = calloc(1, sizeof(*s));
	}
	if (!s)
		return;
	if (!s->rx)
		s->rx = &s->rx_local;
	s->domain = domain;
	s->fd_first = fd;
	shim_sock_ops_set(s, &shim_ops_kernel);
	s->nonblock = (type & SOCK_NONBLOCK) != 0;
	s->st = &s->st_local;
	s->kern_hint = true;
	snprintf(s->why, sizeof(s->why), "not bound");
	pthread_mutex_lock(&shim_g.lock);
	s->next = shim_g.socks;
	shim_g.socks = s;
	pthread_mutex_unlock(&shim_g.lock);
	shim_fd_clear(fd);               /* a stale entry, if any */
	shim_fd_set(fd, s);              /* the table's reference: refcnt 1 */
}

static bool shim_addr_port(const struct sockaddr *a, socklen_t al, uint16_t *port)
{
	if (!a)
		return false;
	if (a->sa_family == AF_INET && al >= sizeof(struct sockaddr_in))
		*port = ntohs(((const struct sockaddr_in *)a)->sin_port);
	else if (a->sa_family == AF_INET6 && al >= sizeof(struct sockaddr_in6))
		*port = ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
	else
		return false;
	return true;
}

/* One decision line per configured socket, at the default level: every
 * member of a SO_REUSEPORT group, every address of a multi-homed server.
 * Only a line identical to the previous one (the same fd bound to the same
 * port again with the same outcome: port probing, bind/close churn) drops to
 * info.  Lock held. */
int shim_sock_bind_xdp(struct shim_sock *s, int fd)
{
	int err;

	s->b.v6only = s->v6only;
	err = ctl_bind_keys(&s->b, fd);
	if (err) {
		snprintf(s->why, sizeof(s->why), "getsockname: %s", strerror(-err));
		return err;
	}
	s->port = s->b.port;
	if (!shim_cfg_port(&shim_g.cfg, s->port)) {
		snprintf(s->why, sizeof(s->why), "port %u is not in XSKSHIM_PORTS", s->port);
		return -ENOENT;
	}
	if (!shim_g.cfg.active) {
		snprintf(s->why, sizeof(s->why), "%.*s", (int)sizeof(s->why) - 1, shim_g.cfg.why);
		return -EINVAL;
	}
	if (shim_orphans)
		shim_sock_reap();
	/* the shared receive state: this process's page for this shim_sock,
	 * made once and reused; a new generation for each socket */
	if (s->rx == &s->rx_local || s->rx_pid != shim_g.pid) {
		struct shim_rx *rx = ring_shm_alloc(sizeof(*rx));

		if (!rx) {
			err = -errno;
			snprintf(s->why, sizeof(s->why), "shared receive state: %s", strerror(-err));
			return err;
		}
		s->rx = rx;
		s->rx_pid = shim_g.pid;
	}
	s->rx_gen = s->rx->gen + 1;
	__atomic_store_n(&s->rx->gen, s->rx_gen, __ATOMIC_RELEASE);
	s->rx->why[0] = 0;
	s->rx->lock = 0;
	s->rx->tx_lock = 0;
	err = ctl_bind_open(&s->b, fd, s->why, sizeof(s->why));
	if (err)
		return err;
	s->reuseport = s->b.reuseport;
	/* the spill episodes start in step with the program (xskshim_spill) */
	for (uint32_t q = 0; q < s->b.q_cnt; q++) {
		s->rx->xseq[q] = s->b.seq0[q];
		s->rx->ep_done[q] = 0;
		s->rx->ep_wait[q] = 0;
		s->rx->ep_met[q] = false;
	}
	__atomic_store_n(&s->rx->live, 1, __ATOMIC_RELEASE);
	return 0;
}

/* ---- bindings shared across fork (shim.h "fork") ------------------------ */

/* connect()/disconnect of an accelerated socket: steer the peer's 4-tuple
 * to it, or undo that (ctl_bind_connect).  The groups are the owner's: in
 * a fork child either demotes the socket in every process. */
void shim_sock_connect_xdp(struct shim_sock *s, int fd, bool on)
{
	if (shim_g.forked && (on || s->b.conn_active)) {
		shim_sock_demote(s, on ? "connect() in a fork child" : "disconnect in a fork child");
		return;
	}
	if (on)
		ctl_bind_connect(&s->b, fd, &s->peer);
	else
		ctl_bind_disconnect(&s->b, shim_sock_accel(s));
}

/* The socket's data plane ends for every process: readers of other
 * processes see live 0 (under the rx lock, held here), nothing is
 * redirected to its AF_XDP sockets any more, and what its rings hold goes
 * back to the fill rings.  Any process may do it; it is idempotent. */
static void shim_sock_kill(struct shim_sock *s, const char *why)
{
	if (!shim_rx_valid(s))
		return;
	snprintf(s->rx->why, sizeof(s->rx->why), "%s", why);
	__atomic_store_n(&s->rx->live, 0, __ATOMIC_RELEASE);
	if (s->requeue)
		ctl_bind_kill_requeue(&s->b, &s->rq_sent, &s->rq_lost, &s->rq_err);
	else
		ctl_bind_kill(&s->b);
}

void shim_sock_unbind_xdp(struct shim_sock *s, bool closing)
{
	if (shim_g.forked) {
		/* the last holder kills it (the owner closed it or is gone; a
		 * demotion always kills).  The AF_XDP fds leave epoll sets only
		 * when the socket ends for everyone: the inner sets of
		 * registrations inherited at fork are the parent's too. */
		bool ends = !shim_rx_valid(s) || !closing || !ctl_bind_held_elsewhere(&s->b);

		if (ends) {
			shim_sock_kill(s, closing ? "closed" : s->why);
			shim_ready_forget(s);
		}
		ctl_bind_forget(&s->b);
		return;
	}
	shim_sock_kill(s, s->why);
	ctl_bind_close(&s->b);
}

bool shim_sock_orphan(struct shim_sock *s)
{
	if (shim_g.forked || !ctl_bind_held_elsewhere(&s->b))
		return false;
	s->next = shim_orphans;
	__atomic_store_n(&shim_orphans, s, __ATOMIC_RELEASE);
	ctl_tick_want(true);
	shim_log(SHIM_LOG_DEBUG, "sock", "fd %d port %u closed here, still used by another process: kept",
		 s->fd_first, s->port);
	return true;
}

/* Orphans no other process holds any more: tear down and recycle (the
 * control plane's tick, and before a bind).  Lock held. */
static void shim_sock_reap(void)
{
	struct shim_sock **pp = &shim_orphans, *s;

	while ((s = *pp)) {
		if (ctl_bind_held_elsewhere(&s->b)) {
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		shim_rx_lock(s);
		shim_sock_ops_set(s, &shim_ops_kernel);
		s->stale = false;
		shim_g.accel_cnt--;
		shim_sock_unbind_xdp(s, true);
		shim_rx_unlock(s);
		shim_sock_recycle(s);
	}
	if (!shim_orphans)
		ctl_tick_want(false);
}

/* fork child: the parent's orphans are not the child's (it got their fds
 * from this very fork; the structs stay unused). */
RING_FORK_TEXT void shim_orphans_atfork_child(void)
{
	for (struct shim_sock *s = shim_orphans; s; s = s->next)
		ctl_bind_forget(&s->b);
	if (shim_orphans)   /* (not written when unchanged: a page fault per fork) */
		shim_orphans = NULL;
}

static void shim_log_decision(struct shim_sock *s, int fd, int err)
{
	static char last[sizeof(((struct shim_sock *)0)->why) + 128];
	char line[sizeof(last)];

	if (err == -ENOENT) {
		shim_log(SHIM_LOG_DEBUG, "sock", "fd %d: kernel path: %s", fd, s->why);
		return;
	}
	if (!err)
		snprintf(line, sizeof(line), "accelerated: fd %d udp port %u via AF_XDP on %s", fd, s->port,
			 ctl_describe());
	else
		snprintf(line, sizeof(line), "NOT accelerated: fd %d udp port %u stays on the kernel path: %s", fd,
			 s->port, s->why);
	shim_log(strcmp(line, last) ? SHIM_LOG_WARN : SHIM_LOG_INFO, "sock", "%s", line);
	snprintf(last, sizeof(last), "%s", line);
	shim_g.decision_logged = true;
}

/* Make fd an unbound socket again (XSKSHIM_REQUIRE=1 after a failed
 * acceleration): a fresh socket is dup'ed over it. */
static void shim_unbind(struct shim_sock *s, int fd)
{
	int fdfl = REAL(fcntl)(fd, F_GETFD), nfd;

	nfd = REAL(socket)(s->domain, SOCK_DGRAM | (s->nonblock ? SOCK_NONBLOCK : 0), 0);
	if (nfd < 0)
		return;
	REAL(dup3)(nfd, fd, (fdfl >= 0 && (fdfl & FD_CLOEXEC)) ? O_CLOEXEC : 0);
	REAL(close)(nfd);
}

/* The slow part of acceleration (program load and attach, UMEMs), before
 * the real bind: once the port is bound the kernel socket queues datagrams
 * that nobody reads until bind returns.  Lock held.  Nonzero (-errno) only
 * when XSKSHIM_REQUIRE=1 makes the bind fail. */
static int shim_bind_prepare(struct shim_sock *s, int fd, uint16_t port, bool want)
{
	int err;

	if (!want || !port || !shim_g.cfg.active || shim_g.forked || s->cmsg_kernel_why[0])
		return 0;
	err = ctl_prepare(s->why, sizeof(s->why));
	if (err && shim_g.cfg.require) {
		shim_log(SHIM_LOG_ERROR, "sock", "XSKSHIM_REQUIRE=1: bind(fd %d, port %u) fails with %s: %s",
			 fd, port, strerror(-err), s->why);
		return err;
	}
	return 0;
}

/* Whether fd is bound to an address nothing arriving on the interface can
 * reach through the fast path (its local address as the kernel has it): a
 * multicast group (the fast path takes unicast only), or a loopback
 * address when the interface is not lo (the kernel drops such a
 * destination arriving on any other device as martian).  If so why says so. */
static bool shim_bound_unreachable(int fd, char *why, size_t why_sz)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char as[INET6_ADDRSTRLEN] = "?";
	uint32_t v4 = 0;
	bool is4 = false, m = false, lo = false;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		return false;
	if (ss.ss_family == AF_INET) {
		const struct in_addr *ia = &((struct sockaddr_in *)&ss)->sin_addr;

		v4 = ntohl(ia->s_addr);
		is4 = true;
		inet_ntop(AF_INET, ia, as, sizeof(as));
	} else if (ss.ss_family == AF_INET6) {
		const struct in6_addr *ia = &((struct sockaddr_in6 *)&ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(ia)) {
			v4 = ((uint32_t)ia->s6_addr[12] << 24) | ((uint32_t)ia->s6_addr[13] << 16) |
			     ((uint32_t)ia->s6_addr[14] << 8) | ia->s6_addr[15];
			is4 = true;
		} else {
			m = IN6_IS_ADDR_MULTICAST(ia);
			lo = IN6_IS_ADDR_LOOPBACK(ia);
		}
		inet_ntop(AF_INET6, ia, as, sizeof(as));
	}
	if (is4) {
		m = IN_MULTICAST(v4);
		lo = (v4 >> 24) == IN_LOOPBACKNET;
	}
	if (m)
		snprintf(why, why_sz, "bound to multicast group address %s: multicast stays on the kernel path", as);
	else if (lo && strcmp(shim_g.cfg.ctl.iface, "lo"))
		snprintf(why, why_sz, "bound to loopback address %s: nothing arriving on %s can reach it", as,
			 shim_g.cfg.ctl.iface);
	else
		return false;
	return true;
}

/* A bound socket (a = its address) to AF_XDP, or the kernel path with its
 * decision line.  Lock held.  Nonzero (-errno) only when XSKSHIM_REQUIRE=1
 * fails the bind: the socket was made unbound again (not for an adopted
 * socket, whose bind was not this process's call). */
static int shim_bind_accelerate(struct shim_sock *s, int fd, const struct sockaddr *a, socklen_t al, bool want,
				bool adopted)
{
	uint16_t port = 0;
	int err;

	if (want && shim_addr_port(a, al, &port) && port && shim_g.cfg.active && !shim_sock_accel(s) &&
	    shim_g.forked) {
		/* the control-plane rule of shim.h */
		shim_addr_port(a, al, &s->port);
		snprintf(s->why, sizeof(s->why), "bound in fork child %d of the process that set up XDP; only "
			 "that process adds AF_XDP sockets (sockets it bound before fork stay accelerated)",
			 shim_g.pid);
		shim_log_decision(s, fd, -EPERM);
		return 0;
	}
	if (!want || shim_sock_accel(s) || shim_g.forked)
		return 0;
	{
		int v = 0;
		socklen_t vl = sizeof(v);

		if (s->domain == AF_INET6 && !getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vl))
			s->v6only = v != 0;
	}
	if (shim_bound_unreachable(fd, s->why, sizeof(s->why))) {
		/* nothing could come through AF_XDP: a group address
		 * (collectd's default Listen, mDNS/SSDP listeners bound to
		 * their group), or 127.0.0.1/::1 (daemons that listen on
		 * localhost as well) */
		err = -EOPNOTSUPP;
		shim_addr_port(a, al, &s->port);
	} else if (s->cmsg_kernel_why[0]) {
		err = -EOPNOTSUPP;
		snprintf(s->why, sizeof(s->why), "%s", s->cmsg_kernel_why);
		shim_addr_port(a, al, &s->port);
		if (s->rp_app) {
			int rp = 0;
			socklen_t rpl = sizeof(rp);

			s->reuseport = !getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &rp, &rpl) && rp;
			if (s->reuseport && s->port)
				shim_sock_rp_app(s);
		}
	} else {
		err = shim_sock_bind_xdp(s, fd);
	}
	if (!err) {
		shim_sock_ops_set(s, &shim_ops_accel);
		shim_g.accel_cnt++;
		shim_ready_accel(s);
	}
	shim_log_decision(s, fd, err);
	if (err != -ENOENT)
		shim_stats_sock_publish(s);
	if (err && err != -ENOENT && shim_g.cfg.require && !adopted) {
		shim_log(SHIM_LOG_ERROR, "sock", "XSKSHIM_REQUIRE=1: bind(fd %d, port %u) fails with %s",
			 fd, s->port, strerror(-err));
		shim_unbind(s, fd);
		return err;
	}
	return 0;
}

int shim_on_bind(int fd, const struct sockaddr *a, socklen_t al);
int shim_on_bind(int fd, const struct sockaddr *a, socklen_t al)
{
	struct shim_sock *s = shim_sock_get_any(fd);
	uint16_t port = 0;
	int r, err, saved;
	bool want;

	if (!s)
		return REAL(bind)(fd, a, al);
	want = shim_addr_port(a, al, &port) && (port == 0 || shim_cfg_port(&shim_g.cfg, port));
	if (shim_g.cfg.require && shim_g.cfg_rejected && port) {
		/* the operator demanded acceleration and the configuration is
		 * broken: no port can be known to be fine */
		shim_log(SHIM_LOG_ERROR, "sock", "XSKSHIM_REQUIRE=1: bind(fd %d, port %u) fails with %s: %s",
			 fd, port, strerror(EINVAL), shim_g.cfg.why);
		shim_sock_put(s);
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&shim_g.lock);
	err = shim_bind_prepare(s, fd, port, want);
	if (err) {
		pthread_mutex_unlock(&shim_g.lock);
		shim_sock_put(s);
		errno = -err;
		return -1;
	}
	r = REAL(bind)(fd, a, al);
	saved = errno;
	if (r == 0 && (err = shim_bind_accelerate(s, fd, a, al, want, false))) {
		r = -1;
		saved = -err;
	}
	/* prepared for a bind that failed or was not accelerated: do not leave
	 * the program attached for nothing */
	ctl_idle();
	pthread_mutex_unlock(&shim_g.lock);
	shim_sock_put(s);
	errno = saved;
	return r;
}

/* ---- inherited sockets -------------------------------------------------
 * A UDP socket this program did not bind: it came bound, on a configured
 * port, from whoever started it (systemd socket activation and other
 * launchers that pass LISTEN_FDS, inetd-style servers, a daemon that
 * re-executes itself, a parent that execs the program).  shim_adopt_scan
 * (at start) tracks it with shim_ops_adopt; its first receive call in this
 * process accelerates it as a bind would have (shim_sock_adopt), so the
 * privileged work is done only by a process that reads the socket: a
 * shell or launcher that merely passes it on never installs anything. */
void shim_sock_adopt(struct shim_sock *s, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	uint16_t port = 0;

	pthread_mutex_lock(&shim_g.lock);
	if (__atomic_load_n(&s->ops, __ATOMIC_ACQUIRE) == &shim_ops_adopt) {
		shim_sock_ops_set(s, &shim_ops_kernel);
		if (!getsockname(fd, (struct sockaddr *)&ss, &sl) &&
		    shim_addr_port((struct sockaddr *)&ss, sl, &port) && port &&
		    shim_cfg_port(&shim_g.cfg, port)) {
			shim_log(SHIM_LOG_INFO, "sock", "fd %d: first receive on the socket inherited bound to "
				 "port %u: accelerating it", fd, port);
			shim_bind_prepare(s, fd, port, true);
			shim_bind_accelerate(s, fd, (struct sockaddr *)&ss, sl, true, true);
		}
		ctl_idle();
	}
	pthread_mutex_unlock(&shim_g.lock);
}

/* At start (shim_init, configuration active): the fds the program was
 * started with that are UDP sockets bound to a configured port. */
static void shim_adopt_fd(int fd, void *arg)
{
	int dom = 0, type = 0, proto = 0, fl;
	socklen_t l = sizeof(int);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct shim_sock *s;
	uint16_t port = 0;

	(void)arg;
	if (fd >= SHIM_FD_MAX || shim_fd_maybe(fd) ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) || (dom != AF_INET && dom != AF_INET6) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) || type != SOCK_DGRAM ||
	    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) || proto != IPPROTO_UDP ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) || !shim_addr_port((struct sockaddr *)&ss, sl, &port) ||
	    !port || !shim_cfg_port(&shim_g.cfg, port))
		return;
	fl = REAL(fcntl)(fd, F_GETFL);
	shim_on_socket(fd, dom, SOCK_DGRAM | (fl >= 0 && (fl & O_NONBLOCK) ? SOCK_NONBLOCK : 0));
	if (!(s = shim_sock_get_any(fd)))
		return;
	s->port = port;
	snprintf(s->why, sizeof(s->why), "inherited bound to port %u, not read in this process", port);
	shim_sock_ops_set(s, &shim_ops_adopt);
	shim_log(SHIM_LOG_INFO, "sock", "fd %d: UDP socket inherited bound to configured port %u: "
		 "accelerated at its first receive in this process", fd, port);
	shim_sock_put(s);
}

void shim_adopt_scan(void)
{
	shim_fd_walk(shim_adopt_fd, NULL);
}

/* LISTEN_FDS=n of an environment (systemd's convention: fds 3..3+n-1 are
 * sockets for the new program), 0 if none. */
static int shim_env_listen_fds(char *const *envp)
{
	for (; envp && *envp; envp++)
		if (!strncmp(*envp, "LISTEN_FDS=", 11))
			return atoi(*envp + 11);
	return 0;
}

void shim_on_exec(const char *prog, char *const *envp)
{
	int listen_fds;

	if (!__atomic_load_n(&shim_g.inited, __ATOMIC_ACQUIRE) || !shim_g.fds || shim_g.exiting ||
	    !__atomic_load_n(&shim_g.accel_cnt, __ATOMIC_RELAXED) || getpid() != shim_g.pid)
		return;
	listen_fds = shim_env_listen_fds(envp ? envp : environ);
	pthread_mutex_lock(&shim_g.lock);
	for (int fd = 0; fd < SHIM_FD_MAX && shim_g.accel_cnt; fd++) {
		struct shim_sock *s = __atomic_load_n(&shim_g.fds[fd], __ATOMIC_ACQUIRE);
		char why[sizeof(s->why)];
		const char *how;
		int fl;

		if (!s || !shim_sock_accel(s))
			continue;
		fl = REAL(fcntl)(fd, F_GETFD);
		if (fl < 0 || (fl & FD_CLOEXEC))
			continue;
		/* which new image will read it: one handed the socket by a
		 * convention for that; and any, when this exec ends its
		 * acceleration anyway (the owner, nobody else holding it).
		 * Otherwise it is a helper that inherited an fd it does not
		 * know of, and the socket stays as it is for its readers. */
		if (fd <= 2)
			how = "as stdin/stdout/stderr";
		else if (fd < 3 + listen_fds)
			how = "listed by LISTEN_FDS";
		else if (!shim_g.forked && !ctl_bind_held_elsewhere(&s->b))
			how = "and no other process reads it through AF_XDP";
		else
			continue;
		snprintf(why, sizeof(why), "exec of %.40s keeps fd %d open %.48s (a new image reads it through the "
			 "kernel)", prog ? prog : "?", fd, how);
		s->requeue = true;
		s->rq_sent = s->rq_lost = 0;
		s->rq_err = 0;
		shim_sock_unaccel(s, why);
		s->requeue = false;
		if (s->rq_lost)
			shim_log(SHIM_LOG_WARN, "sock", "fd %d udp port %u moved to the kernel path: %s; %u queued "
				 "datagram(s) handed to its kernel socket, %u lost (%s)", fd, s->port, why, s->rq_sent,
				 s->rq_lost, s->rq_err ? strerror(s->rq_err) : "malformed");
		else
			shim_log(SHIM_LOG_WARN, "sock", "fd %d udp port %u moved to the kernel path: %s; %u queued "
				 "datagram(s) handed to its kernel socket", fd, s->port, why, s->rq_sent);
	}
	pthread_mutex_unlock(&shim_g.lock);
}

void shim_on_close(int fd);
/* A vfork child (posix_spawn, or vfork then close/dup2 before exec) runs
 * in our memory without our fork handler: its fd changes are not ours. */
static bool shim_in_vfork_child(void)
{
	return getpid() != shim_g.pid;
}

void shim_on_close(int fd)
{
	if (shim_fd_maybe(fd) && shim_in_vfork_child())
		return;
	shim_fd_clear(fd);
}

void shim_on_dup(int oldfd, int newfd);
void shim_on_dup(int oldfd, int newfd)
{
	struct shim_sock *s, *old;

	if (newfd < 0 || oldfd == newfd)
		return;
	if ((shim_fd_maybe(oldfd) || shim_fd_maybe(newfd)) && shim_in_vfork_child())
		return;
	s = shim_sock_get_any(oldfd);
	old = shim_fd_set(newfd, s);
	if (old)
		shim_sock_put(old);
	if (s)
		shim_sock_put(s);
}

void shim_on_nonblock(int fd, bool on);
void shim_on_nonblock(int fd, bool on)
{
	struct shim_sock *s = shim_sock_get_any(fd);

	if (s) {
		__atomic_store_n(&s->nonblock, on, __ATOMIC_RELAXED);
		shim_sock_put(s);
	}
}

/* The application attached its own SO_REUSEPORT program to s's group
 * (bound): its choice of member now decides which socket gets a datagram on
 * the kernel path, which the XDP program cannot follow.  Every accelerated
 * member of the port's groups moves to the kernel path, visibly, and the
 * port stays there (ctl_bind_open refuses it).  Lock held. */
static void shim_sock_rp_app(struct shim_sock *s)
{
	ctl_rp_app_mark(s->port);
	for (struct shim_sock *o = shim_g.socks; o; o = o->next) {
		if (o == s || !shim_sock_accel(o) || o->port != s->port || !o->reuseport)
			continue;
		shim_sock_unaccel(o, "the SO_REUSEPORT group has the application's own SO_ATTACH_REUSEPORT "
				  "program, which the XDP program cannot follow");
		shim_log(SHIM_LOG_WARN, "sock", "fd %d udp port %u moved to the kernel path: %s", o->fd_first,
			 o->port, o->why);
	}
}

/* SO_TIMESTAMPING, as sock_set_timestamping/__sock_recv_timestamp treat a
 * receive: SOFTWARE reports the software stamp, RX_SOFTWARE makes one
 * (ts[0] of SCM_TIMESTAMPING).  Every other flag concerns transmit stamps
 * (the kernel socket sends, so they work unchanged) or hardware stamps.
 * Returns the name of what needs the kernel path, or NULL:
 *   - SOFTWARE without RX_SOFTWARE and without OPT_RX_FILTER reports a
 *     receive stamp only while some socket of the host enables them (the
 *     kernel's global netstamp switch), which the shim cannot know;
 *   - RAW_HARDWARE on a device that makes hardware receive stamps
 *     (ETHTOOL_GET_TS_INFO says SOF_TIMESTAMPING_RX_HARDWARE): the AF_XDP
 *     path has no such stamp.  On a device without them (veth) the kernel
 *     never reports ts[2] either, so nothing differs. */
static const char *shim_tsflags_set(struct shim_sock *s, uint32_t f)
{
	bool sw = f & SOF_TIMESTAMPING_SOFTWARE, rx = f & SOF_TIMESTAMPING_RX_SOFTWARE;

	__atomic_store_n(&s->tsflags, f, __ATOMIC_RELAXED);
	if (sw && !rx && !(f & SOF_TIMESTAMPING_OPT_RX_FILTER))
		return "SO_TIMESTAMPING (SOFTWARE without RX_SOFTWARE)";
	if ((f & SOF_TIMESTAMPING_RAW_HARDWARE) && ctl_iface_hw_rx_ts())
		return "SO_TIMESTAMPING (hardware receive stamps)";
	if (sw && rx)
		__atomic_or_fetch(&s->cmsg, SHIM_CMSG_TSING, __ATOMIC_RELAXED);
	else
		__atomic_and_fetch(&s->cmsg, ~SHIM_CMSG_TSING, __ATOMIC_RELAXED);
	return NULL;
}

/* Socket options that change what a receive returns.  Those we synthesise
 * set a SHIM_CMSG_* bit; any other receive-side option moves the socket to
 * the kernel path, visibly, because the fast path cannot honour it. */
void shim_on_setsockopt(int fd, int lvl, int opt, const void *v, socklen_t l);
void shim_on_setsockopt(int fd, int lvl, int opt, const void *v, socklen_t l)
{
	struct shim_sock *s = shim_sock_get_any(fd);
	uint32_t bit = 0;
	const char *name = NULL;
	char dev_why[32];
	int on = 0;

	if (!s)
		return;
	if (v && l >= sizeof(int))
		memcpy(&on, v, sizeof(int));
	else if (v && l >= 1)
		on = *(const unsigned char *)v;
	shim_send_sockopt(s, lvl, opt, v, l);

	if (lvl == IPPROTO_IP) {
		switch (opt) {
		case IP_PKTINFO: bit = SHIM_CMSG_PKTINFO; break;
		case IP_RECVTOS: bit = SHIM_CMSG_TOS; break;
		case IP_RECVTTL: bit = SHIM_CMSG_TTL; break;
		case IP_RECVOPTS: name = "IP_RECVOPTS"; break;
		case IP_RETOPTS: name = "IP_RETOPTS"; break;
		case IP_RECVERR: __atomic_store_n(&s->recverr, on != 0, __ATOMIC_RELAXED); break;
		case IP_RECVORIGDSTADDR: bit = SHIM_CMSG_ORIGDST; break;
		case IP_CHECKSUM: name = "IP_CHECKSUM"; break;
		}
	} else if (lvl == IPPROTO_IPV6) {
		switch (opt) {
		case IPV6_RECVPKTINFO: bit = SHIM_CMSG_PKTINFO6; break;
		case IPV6_RECVTCLASS: bit = SHIM_CMSG_TCLASS; break;
		case IPV6_RECVHOPLIMIT: bit = SHIM_CMSG_HOPLIMIT; break;
		case IPV6_RECVRTHDR: name = "IPV6_RECVRTHDR"; break;
		case IPV6_RECVHOPOPTS: name = "IPV6_RECVHOPOPTS"; break;
		case IPV6_RECVDSTOPTS: name = "IPV6_RECVDSTOPTS"; break;
		case IPV6_RECVERR: __atomic_store_n(&s->recverr, on != 0, __ATOMIC_RELAXED); break;
		case IPV6_RECVORIGDSTADDR: bit = SHIM_CMSG_ORIGDST6; break;
		case IPV6_RECVPATHMTU: name = "IPV6_RECVPATHMTU"; break;
		}
	} else if (lvl == SOL_SOCKET) {
		switch (opt) {
		case SO_TIMESTAMP:
		case SO_TIMESTAMPNS:
			/* as sock_set_timestamp: on sets "timestamp" and picks
			 * the format, off clears both */
			if (on)
				__atomic_store_n(&s->cmsg, (s->cmsg & ~SHIM_CMSG_TSNS) | SHIM_CMSG_TS |
						 (opt == SO_TIMESTAMPNS ? SHIM_CMSG_TSNS : 0), __ATOMIC_RELAXED);
			else
				__atomic_and_fetch(&s->cmsg, ~(SHIM_CMSG_TS | SHIM_CMSG_TSNS), __ATOMIC_RELAXED);
			shim_sock_put(s);
			return;
#ifdef SO_TIMESTAMP_NEW
		case SO_TIMESTAMP_NEW: name = "SO_TIMESTAMP_NEW"; break;
		case SO_TIMESTAMPNS_NEW: name = "SO_TIMESTAMPNS_NEW"; break;
#endif
		case SO_TIMESTAMPING:
			name = shim_tsflags_set(s, (uint32_t)on);
			on = name != NULL;
			break;
		case SO_RXQ_OVFL: bit = SHIM_CMSG_OVFL; break;
		case SO_ATTACH_FILTER: name = "SO_ATTACH_FILTER"; on = 1; break;
		case SO_ATTACH_BPF: name = "SO_ATTACH_BPF"; on = 1; break;
		case SO_ATTACH_REUSEPORT_CBPF:
		case SO_ATTACH_REUSEPORT_EBPF:
			/* the group's member choice is the application's now: the
			 * whole group moves to the kernel path (ctl/bind.c) */
			name = opt == SO_ATTACH_REUSEPORT_CBPF ? "SO_ATTACH_REUSEPORT_CBPF" : "SO_ATTACH_REUSEPORT_EBPF";
			on = 1;
			s->rp_app = true;
			break;
		case SO_BINDTODEVICE:
#ifdef SO_BINDTOIFINDEX
		case SO_BINDTOIFINDEX:
#endif
		{
			/* bound to another interface: the kernel delivers it
			 * nothing that arrives on ours (chrony's binddevice,
			 * per-interface sockets on one port) */
			char dev[IFNAMSIZ + 1] = "";
			socklen_t dl = IFNAMSIZ;

			on = !getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &dl) && dev[0] &&
			     strcmp(dev, shim_g.cfg.ctl.iface);
			snprintf(dev_why, sizeof(dev_why), "SO_BINDTODEVICE %.15s", dev);
			name = dev_why;
			break;
		}
		case SO_PASSCRED: name = "SO_PASSCRED"; break;
		case SO_PASSSEC: name = "SO_PASSSEC"; break;
		case SO_WIFI_STATUS: name = "SO_WIFI_STATUS"; break;
		}
	} else if (lvl == IPPROTO_UDP) {
		switch (opt) {
		case 104 /* UDP_GRO */: bit = SHIM_CMSG_GRO; break;
		case 100 /* UDP_ENCAP */: name = "UDP_ENCAP"; break;
		}
	}
	if (lvl == SOL_SOCKET && (opt == SO_RCVBUF || opt == SO_RCVBUFFORCE) &&
	    shim_sock_accel(s)) {
		/* buffering asked for after bind: keep that many frames posted */
		pthread_mutex_lock(&shim_g.lock);
		if (shim_sock_accel(s))
			ctl_bind_rcvbuf(fd);
		pthread_mutex_unlock(&shim_g.lock);
	}
	if (bit) {
		if (on)
			__atomic_or_fetch(&s->cmsg, bit, __ATOMIC_RELAXED);
		else
			__atomic_and_fetch(&s->cmsg, ~bit, __ATOMIC_RELAXED);
	} else if (name && on) {
		pthread_mutex_lock(&shim_g.lock);
		snprintf(s->cmsg_kernel_why, sizeof(s->cmsg_kernel_why),
			 "setsockopt %s needs the kernel path", name);
		if (shim_sock_accel(s)) {
			shim_sock_unaccel(s, s->cmsg_kernel_why);
			shim_log(SHIM_LOG_WARN, "sock", "fd %d udp port %u moved to the kernel path: %s", fd,
				 s->port, s->why);
		}
		if (s->rp_app && s->reuseport && s->port)
			shim_sock_rp_app(s);
		pthread_mutex_unlock(&shim_g.lock);
	}
	shim_sock_put(s);
}

/* ---- fork --------------------------------------------------------------- */

/* Single-threaded here, and cheap: no fd of the application is touched,
 * no memory copied (the data plane is MAP_SHARED).  The child keeps its
 * accelerated sockets (see shim.h "fork"); a reader lock held by one of the
 * parent's threads at fork stays that live thread's, the child waits for
 * it.  Locks private to the process (the control-plane mutex) are reset:
 * their holders do not exist here. */
RING_FORK_TEXT static void shim_atfork_child(void)
{
	shim_enter();
	pthread_mutex_init(&shim_g.lock, NULL);
	shim_g.pid = getpid();
	shim_g.child = true;
	shim_stats_atfork_child();   /* first: what the handlers below count is the child's, not in the parent's region */
	shim_send_atfork_child();
	shim_orphans_atfork_child();
	shim_g.forked = ctl_atfork_child();
	shim_leave();
}
