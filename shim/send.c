/* send.c - the send calls of accelerated sockets through AF_XDP (see
 * send.h for the design note). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/udp.h>

#include "shim/shim.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef IPV6_AUTOFLOWLABEL
#define IPV6_AUTOFLOWLABEL 70
#endif
#define SHIM_TX_SEGS_MAX 64   /* UDP_MAX_SEGMENTS of older kernels; more go to the kernel */

static struct ctl_mirror shim_mirror;
static bool shim_mirror_on;     /* started and not stopped (lock held to change; atomic) */
static bool shim_mirror_child;  /* a fork child whose parent ran one: start ours at the first send */
static int shim_tx_ifindex;
static uint32_t shim_flow_seed;

/* ---- lifecycle hooks (shim_g.lock held) --------------------------------- */

uint32_t shim_send_tx_ring_sz(void)
{
	return shim_g.cfg.tx ? 2048 : 0;
}

void shim_send_install(int ifindex)
{
	int err;

	if (!shim_g.cfg.tx || shim_mirror_on)
		return;
	if (getrandom(&shim_flow_seed, sizeof(shim_flow_seed), GRND_NONBLOCK) != sizeof(shim_flow_seed))
		shim_flow_seed = (uint32_t)shim_now_ns();
	shim_tx_ifindex = ifindex;
	err = ctl_mirror_start(&shim_mirror, ifindex);
	if (err) {
		shim_log(SHIM_LOG_WARN, "tx", "route mirror: %s; every send goes through the kernel", strerror(-err));
		return;
	}
	shim_mirror_on = true;
	shim_log(SHIM_LOG_INFO, "tx", "XSKSHIM_TX=on: sends of accelerated sockets leave through AF_XDP on %s "
		 "where the route and neighbour allow", shim_g.cfg.ctl.iface);
}

void shim_send_uninstall(void)
{
	if (!shim_mirror_on)
		return;
	/* the thread takes only the mirror's own lock: joining it under
	 * shim_g.lock cannot deadlock */
	ctl_mirror_stop(&shim_mirror);
	shim_mirror_on = false;
}

/* The child's copies of the per-process transmit state may be mid-update
 * by a parent thread that does not exist here, and its destination cache
 * is for the parent's mirror generations: the mirror is forgotten here,
 * each socket's options and cache at its first send in this process
 * (struct shim_tx pid), so that a child that never sends writes none of
 * its sockets' pages. */
RING_FORK_TEXT void shim_send_atfork_child(void)
{
	if (shim_mirror_on) {   /* (untouched when off: a written page costs a fault per fork) */
		ctl_mirror_forget(&shim_mirror);
		shim_mirror_child = true;
		shim_mirror_on = false;
	}
}

/* A fork child's first send: its own mirror (the parent's thread did not
 * come along).  If it cannot run, sends are the kernel's, counted as
 * `mirror`. */
static void shim_mirror_child_start(void)
{
	int err;

	pthread_mutex_lock(&shim_g.lock);
	if (shim_mirror_child && !shim_mirror_on) {
		/* the parent's tables are left as they are (not freed): its
		 * mirror thread may have been between freeing and replacing
		 * them when the parent forked */
		err = ctl_mirror_start(&shim_mirror, shim_tx_ifindex);
		if (err)
			shim_log(SHIM_LOG_WARN, "tx", "fork child: route mirror: %s; its sends go through the kernel",
				 strerror(-err));
		else
			shim_log(SHIM_LOG_INFO, "tx", "fork child: route mirror started, sends leave through AF_XDP");
		__atomic_store_n(&shim_mirror_on, !err, __ATOMIC_RELEASE);
		__atomic_store_n(&shim_mirror_child, false, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&shim_g.lock);
}

void shim_tx_lock(struct shim_sock *s)
{
	uint64_t dead = ring_lock_take(&s->rx->tx_lock);

	if (__builtin_expect(dead != 0, 0)) {
		/* the holder died mid-send (any process) */
		uint32_t back = 0;

		for (uint32_t q = 0; q < s->b.q_cnt; q++)
			back += ring_xsk_tx_repair(s->b.xsk[q], dead);
		__atomic_add_fetch(&s->rx->repairs, 1, __ATOMIC_RELAXED);
		s->st->lock_takeovers++;
		s->st->reclaimed += back;
		shim_log(SHIM_LOG_WARN, "tx", "port %u: send lock taken over from a dead process (what it had "
			 "reserved on the TX ring is dropped; %u frames it held given back)", s->port, back);
	}
}

void shim_tx_unlock(struct shim_sock *s)
{
	ring_lock_drop(&s->rx->tx_lock);
}

/* Only what this process sent waits for its completions: a fork child that
 * never sent on a socket (tx.pid is another process's) does not touch the
 * socket's shared pages at its exit. */
RING_FORK_TEXT void shim_send_atexit(void)
{
	for (struct shim_sock *s = shim_g.socks; s; s = s->next)
		if (s->tx.pid == shim_g.pid && shim_sock_accel(s) && s->b.q_cnt && s->b.xsk[0]->tx.size) {
			shim_tx_lock(s);
			for (uint32_t q = 0; q < s->b.q_cnt; q++)
				ring_xsk_tx_flush(s->b.xsk[q], 200);
			shim_tx_unlock(s);
		}
}

void shim_send_summary(void)
{
	if (shim_mirror_on)
		shim_log_always("summary", "tx: route mirror generation %llu, resyncs %llu (overflows %llu), "
				"neighbour confirmations %llu%s", (unsigned long long)ctl_mirror_gen(&shim_mirror),
				(unsigned long long)shim_mirror.resyncs, (unsigned long long)shim_mirror.overflows,
				(unsigned long long)shim_mirror.neigh_confirms,
				shim_mirror.use_denied ? " (NTF_USE denied: no CAP_NET_ADMIN)" : "");
}

void shim_send_sockopt(struct shim_sock *s, int lvl, int opt, const void *v, socklen_t l)
{
	int val = 0;

	if (v && l >= sizeof(int))
		memcpy(&val, v, sizeof(int));
	if (lvl == IPPROTO_IP && opt == IP_TTL)
		s->tx.ttl_set = val != -1;
	if (lvl == IPPROTO_IPV6 && opt == IPV6_UNICAST_HOPS)
		s->tx.hops_set = val != -1;
	__atomic_store_n(&s->tx.opts_ok, false, __ATOMIC_RELEASE);
	__atomic_add_fetch(&s->rx->tx_opts_gen, 1, __ATOMIC_RELEASE);   /* for the other processes */
	shim_kstate_touch(s);   /* SO_SNDBUF may take EPOLLOUT away */
}

/* ---- socket options that shape a datagram (tx lock held) --------------- */

static int shim_gsopt(int fd, int lvl, int opt, int dflt)
{
	int v = dflt;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, lvl, opt, &v, &l))
		return dflt;
	return v;
}

static void shim_tx_opts(struct shim_sock *s, int fd)
{
	struct shim_tx *t = &s->tx;
	struct sockaddr_in6 sa;
	socklen_t l = sizeof(sa);
	struct timeval tv = {0};
	unsigned char opts[40];
	char dev[IF_NAMESIZE] = "";
	bool v6 = s->domain == AF_INET6;

	t->opts_gen = __atomic_load_n(&s->rx->tx_opts_gen, __ATOMIC_ACQUIRE);
	t->ttl = (uint8_t)shim_gsopt(fd, IPPROTO_IP, IP_TTL, 64);
	t->tos = (uint8_t)shim_gsopt(fd, IPPROTO_IP, IP_TOS, 0);
	t->pmtudisc = shim_gsopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_WANT);
	t->no_check = shim_gsopt(fd, SOL_SOCKET, SO_NO_CHECK, 0) != 0;
	t->cork = shim_gsopt(fd, IPPROTO_UDP, UDP_CORK, 0) != 0;
	t->gso = (uint16_t)shim_gsopt(fd, IPPROTO_UDP, UDP_SEGMENT, 0);
	l = sizeof(opts);
	t->ip_opts = !getsockopt(fd, IPPROTO_IP, IP_OPTIONS, opts, &l) && l > 0;
	if (v6) {
		t->hops = (uint8_t)shim_gsopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 64);
		t->tclass = (uint8_t)shim_gsopt(fd, IPPROTO_IPV6, IPV6_TCLASS, 0);
		t->pmtudisc6 = shim_gsopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IP_PMTUDISC_WANT);
		t->dontfrag6 = shim_gsopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, 0);
		t->autoflow = shim_gsopt(fd, IPPROTO_IPV6, IPV6_AUTOFLOWLABEL, 1) != 0;
	}
	l = sizeof(dev);
	t->bound_if = 0;
	if (!getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &l) && l > 0 && dev[0])
		t->bound_if = (int)if_nametoindex(dev);
	l = sizeof(tv);
	t->sndtimeo_ns = 0;
	if (!getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &l))
		t->sndtimeo_ns = (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
	/* the bound address, or the one connect() chose */
	t->has_bound = false;
	l = sizeof(sa);
	if (!getsockname(fd, (struct sockaddr *)&sa, &l)) {
		if (sa.sin6_family == AF_INET) {
			memcpy(t->bound4, &((struct sockaddr_in *)&sa)->sin_addr, 4);
			t->has_bound = ((struct sockaddr_in *)&sa)->sin_addr.s_addr != 0;
		} else if (sa.sin6_family == AF_INET6) {
			memcpy(t->bound6, &sa.sin6_addr, 16);
			if (IN6_IS_ADDR_V4MAPPED(&sa.sin6_addr))
				memcpy(t->bound4, &sa.sin6_addr.s6_addr[12], 4);
			t->has_bound = !IN6_IS_ADDR_UNSPECIFIED(&sa.sin6_addr);
		}
	}
	if (s->connected != t->opts_conn || !s->rx->tx_conn_id) {
		uint16_t r = 1;

		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
			r = (uint16_t)shim_now_ns();
		s->rx->tx_conn_id = r ? r : 1;
	}
	t->opts_conn = s->connected;
	__atomic_store_n(&t->opts_ok, true, __ATOMIC_RELEASE);
}

/* ---- one datagram ------------------------------------------------------- */

/* What one message asks for, from its address and control messages. */
struct shim_tx_req {
	int      family;          /* AF_INET / AF_INET6 of the frame */
	uint8_t  dst[16];
	uint16_t dport;           /* network order */
	bool     has_src;         /* pktinfo source */
	uint8_t  src[16];
	int      oif;             /* pktinfo ifindex, 0: none */
	int      tos, ttl;        /* -1: not given */
	int      dontfrag;        /* -1: not given */
	uint16_t gso;
	size_t   len;
};

/* Parse name + cmsgs.  CTL_XDP if the fast path can take it, otherwise the
 * reason to use the kernel. */
static enum ctl_why shim_tx_parse(struct shim_sock *s, const struct msghdr *m, struct shim_tx_req *q)
{
	const struct sockaddr *a = m->msg_name;
	struct cmsghdr *c;

	memset(q, 0, sizeof(*q));
	q->tos = q->ttl = q->dontfrag = -1;
	q->gso = s->tx.gso;
	if (a && m->msg_namelen) {
		if (a->sa_family == AF_INET && s->domain == AF_INET && m->msg_namelen >= sizeof(struct sockaddr_in)) {
			const struct sockaddr_in *i4 = (const void *)a;

			q->family = AF_INET;
			memcpy(q->dst, &i4->sin_addr, 4);
			q->dport = i4->sin_port;
		} else if (a->sa_family == AF_INET6 && s->domain == AF_INET6 &&
			   m->msg_namelen >= sizeof(struct sockaddr_in6)) {
			const struct sockaddr_in6 *i6 = (const void *)a;

			if (i6->sin6_flowinfo || i6->sin6_scope_id || IN6_IS_ADDR_LINKLOCAL(&i6->sin6_addr))
				return CTL_WHY_ADDR;
			if (IN6_IS_ADDR_V4MAPPED(&i6->sin6_addr)) {
				if (s->v6only)
					return CTL_WHY_ADDR;
				q->family = AF_INET;
				memcpy(q->dst, &i6->sin6_addr.s6_addr[12], 4);
			} else {
				q->family = AF_INET6;
				memcpy(q->dst, &i6->sin6_addr, 16);
			}
			q->dport = i6->sin6_port;
		} else {
			return CTL_WHY_ADDR;
		}
	} else if (s->connected) {
		const struct sockaddr_in6 *p = &s->peer;

		if (IN6_IS_ADDR_V4MAPPED(&p->sin6_addr)) {
			q->family = AF_INET;
			memcpy(q->dst, &p->sin6_addr.s6_addr[12], 4);
		} else {
			q->family = AF_INET6;
			memcpy(q->dst, &p->sin6_addr, 16);
			if (IN6_IS_ADDR_LINKLOCAL(&p->sin6_addr))
				return CTL_WHY_ADDR;
		}
		q->dport = p->sin6_port;
	} else {
		return CTL_WHY_ADDR;   /* the kernel says EDESTADDRREQ */
	}
	if (!q->dport)
		return CTL_WHY_ADDR;   /* the kernel says EINVAL */
	for (c = CMSG_FIRSTHDR((struct msghdr *)m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		size_t dl = c->cmsg_len - CMSG_LEN(0);
		int v;

		if (c->cmsg_len < CMSG_LEN(0))
			return CTL_WHY_CMSG;
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && dl >= sizeof(struct in_pktinfo)) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			q->oif = pi.ipi_ifindex;
			if (pi.ipi_spec_dst.s_addr) {
				q->has_src = true;
				memcpy(q->src, &pi.ipi_spec_dst, 4);
			}
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   dl >= sizeof(struct in6_pktinfo)) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			q->oif = (int)pi.ipi6_ifindex;
			if (!IN6_IS_ADDR_UNSPECIFIED(&pi.ipi6_addr)) {
				q->has_src = true;
				if (IN6_IS_ADDR_V4MAPPED(&pi.ipi6_addr))
					memcpy(q->src, &pi.ipi6_addr.s6_addr[12], 4);
				else
					memcpy(q->src, &pi.ipi6_addr, 16);
			}
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS && dl >= 1) {
			/* an int, or (older callers) one byte */
			if (dl >= sizeof(int))
				memcpy(&v, CMSG_DATA(c), sizeof(int));
			else
				v = *CMSG_DATA(c);
			if (v < 0 || v > 255)
				return CTL_WHY_CMSG;
			q->tos = v;
		} else if (((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
			    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) ||
			    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS) ||
			    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_DONTFRAG)) &&
			   dl >= sizeof(int)) {
			memcpy(&v, CMSG_DATA(c), sizeof(int));
			if (c->cmsg_type == IPV6_DONTFRAG) {
				q->dontfrag = v != 0;
				continue;
			}
			/* -1 means "the default" for hop limit and traffic class */
			if (v < -1 || v > 255 || (c->cmsg_type == IP_TTL && v < 1))
				return CTL_WHY_CMSG;
			if (v < 0)
				continue;   /* the socket's own */
			if (c->cmsg_type == IPV6_TCLASS)
				q->tos = v;
			else
				q->ttl = v;
		} else if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_SEGMENT && dl >= sizeof(uint16_t)) {
			memcpy(&q->gso, CMSG_DATA(c), sizeof(uint16_t));
		} else {
			return CTL_WHY_CMSG;
		}
	}
	for (size_t i = 0; i < m->msg_iovlen; i++)
		q->len += m->msg_iov[i].iov_len;
	return CTL_XDP;
}

/* The kernel's choice of source address towards dst, once per destination:
 * connect a probe UDP socket and read its name (no packet is sent). */
static bool shim_tx_probe_src(int family, const uint8_t *dst, uint8_t *out)
{
	struct sockaddr_storage ss = {0}, got = {0};
	socklen_t gl = sizeof(got);
	bool ok = false;
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return false;
	if (family == AF_INET) {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(9);
		memcpy(&a->sin_addr, dst, 4);
	} else {
		struct sockaddr_in6 *a = (void *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(9);
		memcpy(&a->sin6_addr, dst, 16);
	}
	if (!connect(fd, (struct sockaddr *)&ss, family == AF_INET ? sizeof(struct sockaddr_in)
								   : sizeof(struct sockaddr_in6)) &&
	    !getsockname(fd, (struct sockaddr *)&got, &gl)) {
		memcpy(out, family == AF_INET ? (void *)&((struct sockaddr_in *)&got)->sin_addr
					      : (void *)&((struct sockaddr_in6 *)&got)->sin6_addr,
		       family == AF_INET ? 4 : 16);
		ok = true;
	}
	close(fd);
	return ok;
}

/* n (4 or 16) address bytes equal: inline loads, not a call to libc's
 * memcmp for a few bytes per message (perf: 3.6% of a 1228-byte sender's
 * time in __memcmp_evex_movbe). */
static inline bool shim_addr_eq(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	uint64_t x[2] = {0, 0}, y[2] = {0, 0};

	if (n == 4) {
		uint32_t u, v;

		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		return u == v;
	}
	memcpy(x, a, 16);
	memcpy(y, b, 16);
	return x[0] == y[0] && x[1] == y[1];
}

/* A hash of n (4 or 16) address bytes, a word at a time (a byte-wise FNV
 * chain of dependent multiplies was a fifth of the 64-byte sender's time
 * in shim_tx_many). */
static inline uint32_t shim_addr_hash(const uint8_t *a, uint32_t n)
{
	uint32_t w[4] = {0, 0, 0, 0}, x;

	if (n == 4)
		memcpy(w, a, 4);
	else
		memcpy(w, a, 16);
	x = w[0] ^ (w[1] * 0x85ebca6bu) ^ (w[2] * 0xc2b2ae35u) ^ (w[3] * 0x27d4eb2fu);
	x *= 0x9e3779b1u;
	return x ^ x >> 15;
}

/* The cached answer for dst, recomputed when the mirror moved on. */
static struct shim_tx_dest *shim_tx_dest(struct shim_sock *s, int family, const uint8_t *dst)
{
	uint32_t n = family == AF_INET ? 4 : 16, h = shim_addr_hash(dst, n);
	struct shim_tx_dest *d;
	struct ctl_path p;
	uint64_t gen = ctl_mirror_gen(&shim_mirror);

	d = &s->tx.dest[h & (SHIM_TX_CACHE - 1)];
	if (d->family == family && d->gen == gen && shim_addr_eq(d->addr, dst, n))
		return d;
	if (d->family != family || !shim_addr_eq(d->addr, dst, n)) {
		uint16_t r = 0;

		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
			r = (uint16_t)shim_now_ns();
		d->ip_id = r;
		d->txq_hash = h ^ shim_flow_seed ^ (uint32_t)s->port << 16;
		d->family = (uint8_t)family;
		memset(d->addr, 0, 16);
		memcpy(d->addr, dst, n);
	}
	ctl_mirror_lookup(&shim_mirror, family, dst, &p, &d->gen, &d->use_slot);
	d->why = p.why;
	memcpy(d->src_mac, p.src_mac, 6);
	memcpy(d->dst_mac, p.dst_mac, 6);
	d->mtu = p.mtu;
	d->hoplimit = p.hoplimit;
	d->has_src = p.has_prefsrc;
	memcpy(d->src, p.prefsrc, 16);
	if (d->why == CTL_XDP && !d->has_src && !s->tx.has_bound) {
		d->has_src = shim_tx_probe_src(family, dst, d->src);
		if (!d->has_src)
			d->why = CTL_WHY_SRC;
	}
	return d;
}

static uint32_t shim_flowlabel(const struct ring_tx_hdr *h)
{
	uint32_t x = shim_flow_seed;

	for (int i = 0; i < 16; i++)
		x = (x ^ h->saddr[i] ^ (uint32_t)h->daddr[i] << 8) * 16777619u;
	x = (x ^ h->sport ^ (uint32_t)h->dport << 16) * 16777619u;
	x ^= x >> 15;
	x &= 0xfffff;
	return x ? x : 1;
}

/* shim_tx_one's "use the kernel" answer: below every -errno */
#define SHIM_TX_KERNEL ((ssize_t)-100000)

/* Frames a dead thread holds come back when the lock it held is next
 * taken (ring.h "Dead holders"): for this socket's send lock that is the
 * waiter's own next take, but frames of the UMEM can also be held under
 * the reader or send lock of another socket on it, which nobody may take
 * again (a worker killed mid-send on a socket only it used; forkserve
 * deadtx): a blocking sender then waited forever for the transmit share
 * they are counted in.  So a sender that keeps waiting looks, every
 * RING_LOCK_CHECK_NS, at the locks of this process's sockets on the same
 * UMEM, and takes (and drops) each one whose holder is gone: the takeover
 * repairs and gives the frames back.  Slow path only: nothing here runs
 * while frames are there.  No rx or tx lock held by the caller (shim_g.lock
 * comes first, as in shim_sock_put). */
__attribute__((noinline, cold)) static void shim_tx_sweep(struct shim_sock *self, const struct ring_umem *u)
{
	shim_enter();
	pthread_mutex_lock(&shim_g.lock);
	for (struct shim_sock *o = shim_g.socks; o; o = o->next) {
		bool on = false;
		uint64_t v;

		if (!shim_sock_accel(o))
			continue;
		for (uint32_t q = 0; q < o->b.q_cnt && !on; q++)
			on = o->b.xsk[q]->umem == u;
		if (!on)
			continue;
		v = __atomic_load_n(&o->rx->lock, __ATOMIC_RELAXED);
		if (v && ring_lock_holder_dead(v)) {
			shim_rx_lock(o);
			shim_rx_unlock(o);
		}
		v = __atomic_load_n(&o->rx->tx_lock, __ATOMIC_RELAXED);
		if (o != self && v && ring_lock_holder_dead(v)) {
			shim_tx_lock(o);
			shim_tx_unlock(o);
		}
	}
	pthread_mutex_unlock(&shim_g.lock);
	shim_leave();
}

/* Wait for frames or tx ring room: kick, reap, and for a blocking socket
 * sleep a little (the tx lock released meanwhile), every RING_LOCK_CHECK_NS
 * of it also looking for frames held by the dead (shim_tx_sweep).  0 to
 * retry, -EAGAIN for a non-blocking socket or after SO_SNDTIMEO.  Out of
 * line (cold), as shim_tx_sweep: the send path's hot code stays as it was. */
__attribute__((noinline, cold)) static int shim_tx_wait(struct shim_sock *s, struct ring_xsk *x, bool nonblock,
							    int64_t *deadline, bool *waited, int64_t *sweep_at)
{
	struct timespec nap = { 0, 20000 };
	bool sweep = false;
	int64_t now;

	ring_xsk_tx_kick(x);
	ring_umem_tx_reap(x->umem);
	if (nonblock)
		return -EAGAIN;
	now = shim_now_ns();
	if (!*waited) {
		*waited = true;
		s->st->tx_waits++;
		*deadline = s->tx.sndtimeo_ns ? now + s->tx.sndtimeo_ns : 0;
		*sweep_at = now + RING_LOCK_CHECK_NS;
	} else if (*deadline && now >= *deadline) {
		return -EAGAIN;
	} else if (now >= *sweep_at) {
		sweep = true;
		*sweep_at = now + RING_LOCK_CHECK_NS;
	}
	shim_tx_unlock(s);
	if (sweep)
		shim_tx_sweep(s, x->umem);
	nanosleep(&nap, NULL);
	shim_tx_lock(s);
	return 0;
}

/* Which of the socket's AF_XDP sockets (one per queue) sends a flow: as the
 * kernel's skb_tx_hash on a device without XPS, a hash of the flow (the
 * destination's, salted per socket and process at its cache fill, with the
 * destination port) picks the queue, so a flow stays on one queue (no
 * reordering) and flows spread over all of them.  One queue: 0. */
static inline uint32_t shim_tx_queue(const struct shim_sock *s, const struct shim_tx_dest *d, uint16_t dport)
{
	if (__builtin_expect(s->b.q_cnt <= 1, 1))
		return 0;
	return (((d->txq_hash ^ dport) * 0x9e3779b1u) >> 16) % s->b.q_cnt;
}

/* Kick until the kernel took what is posted (copy mode transmits
 * max_tx_budget descriptors per call, see ring_xsk_create); bounded. */
static void shim_tx_push(struct ring_xsk *x)
{
	for (int i = 0; i < 64 && ring_xsk_tx_pending(x); i++) {
		int err = ring_xsk_tx_kick(x);

		if (err && err != -EAGAIN && err != -EBUSY && err != -ENOBUFS && err != -EINTR)
			break;
		if (x->umem->cfg.zerocopy)
			break;   /* the driver transmits on its own */
	}
}

/* Push every queue the mask names (tx lock held; the socket may have
 * lost its AF_XDP sockets meanwhile: then nothing). */
static void shim_tx_push_all(struct shim_sock *s, uint64_t posted)
{
	for (uint32_t q = 0; posted && q < s->b.q_cnt; q++)
		if (posted & (1ull << q))
			shim_tx_push(s->b.xsk[q]);
}

/* One call's transmit state (tx lock held throughout, see shim_tx_many):
 * frames taken from one queue's UMEM together (one fill_lock, one
 * completion reap for many messages), the frames built from them, posted
 * on that queue's tx ring together when addr[] is full or the call ends
 * (room for them made sure of as each message is built), and the queues
 * posted to, kicked once at the end.  Before the tx lock is let go (a
 * wait, a send through the kernel, a look at the socket's error) what is
 * built is posted and kicked and the frames not used are given back
 * (shim_txb_pause): another sender may come in, and the socket may lose
 * its AF_XDP sockets meanwhile. */
struct shim_tx_batch {
	struct ring_xsk *x;      /* the queue the frames are from; NULL: none */
	uint32_t qi;             /* its index in s->b.xsk */
	uint32_t nfree;          /* frames taken, not used yet: fr[0, nfree) */
	uint32_t nbuilt;         /* built, not posted yet: addr/len[0, nbuilt) */
	uint32_t room;           /* tx ring entries known to be free */
	uint32_t left;           /* messages left in the call (frames to take) */
	uint64_t posted;         /* queues (bits) with frames posted, to kick */
	uint64_t fr[SHIM_TX_BATCH];
	uint64_t addr[SHIM_TX_BATCH];
	uint32_t len[SHIM_TX_BATCH];
};

/* Post what is built (the room was made sure of). */
static void shim_txb_post(struct shim_tx_batch *b)
{
	if (!b->nbuilt)
		return;
	ring_xsk_tx_post(b->x, b->addr, b->len, b->nbuilt);
	b->room -= b->nbuilt;
	b->posted |= 1ull << b->qi;
	b->nbuilt = 0;
}

/* Post what is built, give back the frames not used, leave the queue. */
static void shim_txb_drop(struct shim_tx_batch *b)
{
	if (!b->x)
		return;
	shim_txb_post(b);
	if (b->nfree)
		ring_umem_tx_unalloc(b->x->umem, b->fr, b->nfree);
	b->nfree = 0;
	b->x = NULL;
}

/* Before the tx lock is let go, and at the end of the call: the rest
 * posted and kicked, no frame held. */
static void shim_txb_pause(struct shim_sock *s, struct shim_tx_batch *b)
{
	shim_txb_drop(b);
	shim_tx_push_all(s, b->posted);
	b->posted = 0;
}

/* segs frames on queue qi and tx ring room for them, for one message: 0
 * (the frames are fr[nfree - segs, nfree)), -EAGAIN, or SHIM_TX_KERNEL
 * with *why set.  Completions are reaped whenever frames are taken. */
static ssize_t shim_txb_get(struct shim_sock *s, struct shim_tx_batch *b, uint32_t qi, uint32_t segs,
			    bool nonblock, int64_t *deadline, bool *waited, int64_t *sweep_at, enum ctl_why *why)
{
	struct ring_xsk *x = s->b.xsk[qi];

	/* Frames for the rest of the call are taken at once on one queue,
	 * or on several when the messages keep to the queue of the one
	 * before (each change of queue gives back what was not used) */
	bool ahead = s->b.q_cnt <= 1 || b->x == x;

	for (;;) {
		uint32_t reaped, want;

		if (b->x != x) {
			shim_txb_drop(b);
			b->x = x;
			b->qi = qi;
			b->room = 0;
		}
		if (b->nbuilt + segs > SHIM_TX_BATCH)
			shim_txb_post(b);
		if (b->room < b->nbuilt + segs)
			b->room = ring_xsk_tx_room(x);
		if (b->nfree < segs) {
			/* what the rest of the call will need, a frame a
			 * message (at least this one's) */
			want = ahead && b->left > segs ? b->left : segs;
			if (want > SHIM_TX_BATCH)
				want = SHIM_TX_BATCH;
			b->nfree += ring_umem_tx_alloc(x->umem, b->fr + b->nfree, want - b->nfree, &reaped);
			s->st->tx_completions += reaped;
		}
		if (b->nfree >= segs && b->room >= b->nbuilt + segs)
			return 0;
		s->st->tx_full++;
		if (b->nfree < segs) {
			struct ring_umem_acct a;

			ring_umem_acct_get(x->umem, &a);
			if (ring_umem_tx_in_flight(&a) <= b->nfree) {
				/* nothing in flight to wait for (a UMEM too small
				 * for this many segments): the kernel sends it */
				*why = CTL_WHY_MTU;
				return SHIM_TX_KERNEL;
			}
		}
		shim_txb_pause(s, b);
		if (shim_tx_wait(s, x, nonblock, deadline, waited, sweep_at))
			return -EAGAIN;
		if (!shim_sock_accel(s) || qi >= s->b.q_cnt || s->b.xsk[qi] != x) {
			/* moved to the kernel path while we slept */
			*why = CTL_WHY_MIRROR;
			return SHIM_TX_KERNEL;
		}
	}
}

/* Send one message through AF_XDP (tx lock held): its frames are built
 * into b's.  Returns the payload bytes sent, SHIM_TX_KERNEL with *why set,
 * or -errno (EAGAIN only). */
static ssize_t shim_tx_one(struct shim_sock *s, int fd, const struct msghdr *m, int fl, enum ctl_why *why,
			   struct shim_tx_batch *b)
{
	struct ring_xsk *x;
	struct ring_umem *u;
	struct shim_tx *t = &s->tx;
	struct shim_tx_req q;
	struct shim_tx_dest *d;
	struct ring_tx_hdr h = {0};
	const uint64_t *addrs;
	uint32_t segs, hl, qi;
	size_t seg, off;
	bool waited = false;
	int64_t deadline = 0, sweep_at = 0;
	bool nonblock = (fl & MSG_DONTWAIT) || __atomic_load_n(&s->nonblock, __ATOMIC_RELAXED);
	ssize_t r;

	if (__builtin_expect(t->pid != shim_g.pid, 0)) {
		/* first send of this socket in this process (a fork child) */
		__atomic_store_n(&t->opts_ok, false, __ATOMIC_RELEASE);
		memset(t->dest, 0, sizeof(t->dest));
		t->pid = shim_g.pid;
	}
	if (fl & ~(MSG_DONTWAIT | MSG_NOSIGNAL | MSG_CONFIRM)) {
		*why = CTL_WHY_CMSG;     /* MSG_MORE, MSG_OOB, ...: the kernel's */
		return SHIM_TX_KERNEL;
	}
	if (__builtin_expect(!__atomic_load_n(&shim_mirror_on, __ATOMIC_ACQUIRE), 0)) {
		*why = CTL_WHY_MIRROR;   /* it did not start (or not in this child) */
		return SHIM_TX_KERNEL;
	}
	if (!__atomic_load_n(&t->opts_ok, __ATOMIC_ACQUIRE) || t->opts_conn != s->connected ||
	    t->opts_gen != __atomic_load_n(&s->rx->tx_opts_gen, __ATOMIC_ACQUIRE))
		shim_tx_opts(s, fd);
	if (t->cork || t->corked) {
		/* UDP_CORK, or the rest of a MSG_MORE datagram: the kernel
		 * holds the start of it */
		*why = CTL_WHY_CMSG;
		return SHIM_TX_KERNEL;
	}
	if (t->ip_opts) {
		*why = CTL_WHY_OPTIONS;
		return SHIM_TX_KERNEL;
	}
	if (t->bound_if && t->bound_if != shim_tx_ifindex) {
		*why = CTL_WHY_OTHER_IF;
		return SHIM_TX_KERNEL;
	}
	*why = shim_tx_parse(s, m, &q);
	if (*why)
		return SHIM_TX_KERNEL;
	if (q.oif && q.oif != shim_tx_ifindex) {
		*why = CTL_WHY_OTHER_IF;
		return SHIM_TX_KERNEL;
	}
	d = shim_tx_dest(s, q.family, q.dst);
	if (d->why) {
		*why = d->why;
		return SHIM_TX_KERNEL;
	}
	qi = shim_tx_queue(s, d, q.dport);
	x = s->b.xsk[qi];
	u = x->umem;
	/* the source: pktinfo (must be ours), bound/connected, route, probe */
	h.family = q.family == AF_INET ? 4 : 6;
	if (q.has_src) {
		if (!ctl_mirror_is_local(&shim_mirror, q.family, q.src)) {
			*why = CTL_WHY_SRC;
			return SHIM_TX_KERNEL;
		}
		memcpy(h.saddr, q.src, 16);
	} else if (t->has_bound) {
		memcpy(h.saddr, q.family == AF_INET ? t->bound4 : t->bound6, q.family == AF_INET ? 4 : 16);
	} else {
		memcpy(h.saddr, d->src, 16);
	}
	/* (the length written: a 16-byte load of what was just stored as 4
	 * bytes stalls on store forwarding, half of this function's time) */
	memcpy(h.daddr, q.dst, q.family == AF_INET ? 4 : 16);
	h.sport = htons(s->port);
	h.dport = q.dport;
	memcpy(h.src_mac, d->src_mac, 6);
	memcpy(h.dst_mac, d->dst_mac, 6);
	hl = RING_TX_HDR_SZ(h.family) - 14;   /* IP + UDP */

	/* sizes: anything over the MTU or odd is the kernel's to fragment,
	 * refuse (EMSGSIZE) or reject (EINVAL) */
	if (q.gso && q.len > q.gso) {
		segs = (uint32_t)((q.len + q.gso - 1) / q.gso);
		if (q.gso + hl > d->mtu || segs > SHIM_TX_SEGS_MAX || q.gso + hl + 14 > u->frame_sz) {
			*why = CTL_WHY_MTU;
			return SHIM_TX_KERNEL;
		}
		seg = q.gso;
	} else {
		segs = 1;
		seg = q.len;
		if (q.len + hl > d->mtu || q.len + hl + 14 > u->frame_sz) {
			*why = CTL_WHY_MTU;
			return SHIM_TX_KERNEL;
		}
	}

	if (h.family == 4) {
		h.tos = (uint8_t)(q.tos >= 0 ? q.tos : t->tos);
		h.ttl = (uint8_t)(q.ttl >= 0 ? (uint32_t)q.ttl : !t->ttl_set && d->hoplimit ? d->hoplimit : t->ttl);
		/* __ip_make_skb(): DO and PROBE always; WANT when the whole
		 * datagram (a UDP_SEGMENT one before segmentation) fits the
		 * route MTU; DONT, INTERFACE and OMIT never */
		h.df = t->pmtudisc == IP_PMTUDISC_DO || t->pmtudisc == IP_PMTUDISC_PROBE ||
		       (t->pmtudisc == IP_PMTUDISC_WANT && q.len + hl <= d->mtu);
		h.no_csum = t->no_check;
	} else {
		h.tos = (uint8_t)(q.tos >= 0 ? q.tos : t->tclass);
		h.ttl = (uint8_t)(q.ttl >= 0 ? (uint32_t)q.ttl : !t->hops_set && d->hoplimit ? d->hoplimit : t->hops);
		h.flowlabel = t->autoflow ? shim_flowlabel(&h) : 0;
	}

	/* frames and ring room, completions reaped first */
	r = shim_txb_get(s, b, qi, segs, nonblock, &deadline, &waited, &sweep_at, why);
	if (r)
		return r;
	/* IPv4 ID as ip_select_ident_segs(): a connected socket's own
	 * counter (advanced by the segment count, the datagram takes the new
	 * value); unconnected with DF that may not be ignored (IP_MTU_DISCOVER
	 * DO/PROBE/INTERFACE, ip_sk_ignore_df()) 0; otherwise - the default
	 * WANT included - the destination's counter.  Segments of one
	 * UDP_SEGMENT send count up from there, as GSO segmentation does. */
	if (h.family == 4) {
		bool ignore_df = t->pmtudisc < IP_PMTUDISC_DO || t->pmtudisc == IP_PMTUDISC_OMIT;

		if (s->connected) {
			s->rx->tx_conn_id = (uint16_t)(s->rx->tx_conn_id + segs);
			h.ip_id = s->rx->tx_conn_id;
		} else if (!h.df || ignore_df) {
			h.ip_id = d->ip_id;
			d->ip_id = (uint16_t)(d->ip_id + segs);
		}
	}
	b->nfree -= segs;
	addrs = b->fr + b->nfree;
	off = 0;
	for (uint32_t i = 0; i < segs; i++) {
		size_t l = q.len - off < seg ? q.len - off : seg;

		if (i)
			h.ip_id++;
		b->addr[b->nbuilt] = addrs[i];
		b->len[b->nbuilt++] = ring_tx_frame_build(ring_umem_frame(u, addrs[i]), u->frame_sz, &h, m->msg_iov,
							  m->msg_iovlen, off, l);
		off += l;
	}
	ctl_mirror_neigh_used(&shim_mirror, d->use_slot);
	s->st->tx_xdp += segs;
	s->st->tx_xdp_bytes += q.len;
	return (ssize_t)q.len;
}

/* Whether this socket's sends are transmit's to decide (TX on, a tx ring);
 * a fork child's first send starts its mirror here, before any tx lock is
 * taken (shim_g.lock comes first).  Without a mirror shim_tx_one sends
 * through the kernel, counted as `mirror`. */
static bool shim_tx_usable(struct shim_sock *s)
{
	if (!shim_g.cfg.tx || !s->b.q_cnt || !s->b.xsk[0]->tx.size)
		return false;
	if (__builtin_expect(!__atomic_load_n(&shim_mirror_on, __ATOMIC_ACQUIRE), 0) &&
	    __atomic_load_n(&shim_mirror_child, __ATOMIC_ACQUIRE))
		shim_mirror_child_start();
	return true;
}

static ssize_t shim_tx_kernel(struct shim_sock *s, int fd, const struct msghdr *m, int fl, enum ctl_why why)
{
	ssize_t r = REAL(sendmsg)(fd, m, fl);

	if (r >= 0) {
		__atomic_add_fetch(&s->st->tx_kernel, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&s->st->tx_kernel_why[why < CTL_WHY_CNT ? why : 0], 1, __ATOMIC_RELAXED);
	}
	return r;
}

/* Whether the socket can have an error (sk_err) at all: UDP sets it only
 * on a connected or IP_RECVERR socket (__udp4_lib_err, __udp6_lib_err). */
static inline bool shim_tx_err_able(const struct shim_sock *s)
{
	return __atomic_load_n(&s->connected, __ATOMIC_RELAXED) || __atomic_load_n(&s->recverr, __ATOMIC_RELAXED);
}

/* An ICMP error reported to the socket (sk_err) fails the kernel's next
 * send before it sends anything (sock_alloc_send_pskb -> sock_error), and
 * is consumed by it; a send through AF_XDP does the same.  The lock-free
 * look at the XDP program's ICMP error count spares the common case the
 * receive lock.  Not under the tx lock (shim_sock_error takes the rx
 * lock, which comes first). */
static bool shim_tx_sock_error(struct shim_sock *s, int fd)
{
	if (!__atomic_load_n(&s->err_pending, __ATOMIC_RELAXED) &&
	    (!shim_tx_err_able(s) ||
	     (ctl_icmp_seq() == __atomic_load_n(&s->icmp_seen, __ATOMIC_RELAXED) &&
	      !__atomic_load_n(&s->icmp_until, __ATOMIC_RELAXED))))
		return false;
	return shim_sock_error(s, fd);
}

/* The socket's error now, consumed (0: none): after a send through the
 * kernel within a call, which may have drawn one at once (an ICMP error
 * that came back over lo or a veth within that send). */
static int shim_tx_err_now(struct shim_sock *s, int fd)
{
	int e = __atomic_exchange_n(&s->err_pending, 0, __ATOMIC_RELAXED);
	socklen_t l = sizeof(e);

	if (!e && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l))
		e = 0;
	return e;
}

/* The common body: n messages, sendmmsg's semantics (the count of messages
 * sent if any, else -1 and the first error).  One tx lock, frames taken
 * and posted many at a time and one kick per queue for the call (struct
 * shim_tx_batch).  The kernel looks at the socket's error before each
 * message (sock_error() in sock_alloc_send_pskb): an error that comes in
 * during the call fails the next message, which ends the call with the
 * count so far and the error consumed, as __sys_sendmmsg does.  So it is
 * looked at again before each message after the first - without a syscall
 * unless the XDP program saw an ICMP error since the last look (icmp_seen
 * below, once per ICMP error in a call) or a receive left one pending -
 * and right after each message sent through the kernel. */
static int shim_tx_many(struct shim_sock *s, int fd, struct mmsghdr *v, unsigned int n, int fl)
{
	struct shim_tx_batch b;
	unsigned int i;
	int err = 0;
	bool err_able = shim_tx_err_able(s);
	uint64_t icmp_seen = err_able ? ctl_icmp_seq() : 0;

	if (shim_tx_sock_error(s, fd))
		return -1;
	shim_tx_lock(s);
	if (!shim_sock_accel(s) || !s->b.q_cnt) {
		shim_tx_unlock(s);
		return REAL(sendmmsg)(fd, v, n, fl);   /* moved to the kernel path meanwhile */
	}
	b.x = NULL;
	b.nfree = b.nbuilt = b.room = 0;
	b.posted = 0;
	for (i = 0; i < n; i++) {
		enum ctl_why why = CTL_XDP;
		ssize_t r;

		if (i && (__atomic_load_n(&s->err_pending, __ATOMIC_RELAXED) ||
			  (err_able && __builtin_expect(ctl_icmp_seq() != icmp_seen, 0)))) {
			bool e;

			shim_txb_pause(s, &b);
			shim_tx_unlock(s);
			icmp_seen = ctl_icmp_seq();
			e = shim_sock_error(s, fd);
			if (e)
				err = errno;
			shim_tx_lock(s);
			if (e || !shim_sock_accel(s) || !s->b.q_cnt)
				break;   /* (moved to the kernel path: the rest is the caller's to send again) */
		}
		b.left = n - i;
		r = shim_tx_one(s, fd, &v[i].msg_hdr, fl, &why, &b);
		if (r == SHIM_TX_KERNEL) {
			int e = 0;

			/* what is built leaves first */
			shim_txb_pause(s, &b);
			shim_tx_unlock(s);
			r = shim_tx_kernel(s, fd, &v[i].msg_hdr, fl, why);
			if (r < 0)
				err = errno;
			else if (i + 1 < n && err_able)
				e = shim_tx_err_now(s, fd);
			shim_tx_lock(s);
			if (r >= 0)
				s->tx.corked = (fl & MSG_MORE) != 0;
			if (r >= 0 && (e || !shim_sock_accel(s) || !s->b.q_cnt)) {
				/* the next message fails with e; or the socket
				 * moved to the kernel path */
				v[i].msg_len = (unsigned int)r;
				i++;
				err = e;
				break;
			}
		} else if (r < 0) {
			err = (int)-r;
		}
		if (r < 0)
			break;
		v[i].msg_len = (unsigned int)r;
	}
	shim_txb_pause(s, &b);
	shim_tx_unlock(s);
	if (i)
		return (int)i;
	errno = err;
	return -1;
}

/* Every send counts once in shim_rx.kstate_gen (it may take EPOLLOUT away):
 * sendmmsg and sendmsg here, the forms that hand over to sendmsg only on
 * their own kernel path (one shared atomic add per call, not one per
 * layer). */
int shim_sendmmsg(struct shim_sock *s, int fd, struct mmsghdr *v, unsigned int n, int fl)
{
	int saved = errno, r;

	shim_kstate_touch(s);

	if (!shim_tx_usable(s))
		return REAL(sendmmsg)(fd, v, n, fl);
	if (n > 1024)
		n = 1024;   /* UIO_MAXIOV, as the kernel */
	if (!n || !v)
		return REAL(sendmmsg)(fd, v, n, fl);
	r = shim_tx_many(s, fd, v, n, fl);
	if (r >= 0)
		errno = saved;
	return r;
}

ssize_t shim_sendmsg(struct shim_sock *s, int fd, const struct msghdr *m, int fl)
{
	struct mmsghdr one;
	int saved = errno, r;

	shim_kstate_touch(s);

	if (!shim_tx_usable(s) || !m)
		return REAL(sendmsg)(fd, m, fl);
	one.msg_hdr = *m;
	one.msg_len = 0;
	r = shim_tx_many(s, fd, &one, 1, fl);
	if (r < 0)
		return -1;
	errno = saved;
	return (ssize_t)one.msg_len;
}

ssize_t shim_sendto(struct shim_sock *s, int fd, const void *b, size_t l, int fl, const struct sockaddr *a,
		    socklen_t al)
{
	struct iovec iov = { (void *)b, l };
	struct msghdr m = { .msg_name = (void *)a, .msg_namelen = a ? al : 0, .msg_iov = &iov, .msg_iovlen = 1 };

	if (!shim_tx_usable(s)) {
		shim_kstate_touch(s);
		return REAL(sendto)(fd, b, l, fl, a, al);
	}
	return shim_sendmsg(s, fd, &m, fl);
}

ssize_t shim_send(struct shim_sock *s, int fd, const void *b, size_t l, int fl)
{
	if (!shim_tx_usable(s)) {
		shim_kstate_touch(s);
		return REAL(send)(fd, b, l, fl);
	}
	return shim_sendto(s, fd, b, l, fl, NULL, 0);
}

ssize_t shim_write(struct shim_sock *s, int fd, const void *b, size_t l)
{
	if (!shim_tx_usable(s)) {
		shim_kstate_touch(s);
		return REAL(write)(fd, b, l);
	}
	return shim_sendto(s, fd, b, l, 0, NULL, 0);
}

ssize_t shim_writev(struct shim_sock *s, int fd, const struct iovec *iov, int cnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = cnt > 0 ? (size_t)cnt : 0 };

	/* a bad count is the kernel's to refuse (EINVAL), as is no destination */
	if (!shim_tx_usable(s) || cnt <= 0 || cnt > 1024) {
		shim_kstate_touch(s);
		return REAL(writev)(fd, iov, cnt);
	}
	return shim_sendmsg(s, fd, &m, 0);
}
