/* recv.c - the receive calls of an accelerated socket, answered from its
 * AF_XDP rx rings and its kernel socket.  This is the fast path: no
 * allocation, no lock beyond one spinlock per batch, no syscall while the
 * rings are busy. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <arpa/inet.h>

#include <linux/sock_diag.h>

#include "shim/shim.h"

#define SHIM_DEMOTED 1   /* internal: socket left the fast path meanwhile */
#define SHIM_PREFETCH 4  /* frames loaded ahead of the one being parsed */

static bool shim_peer_ok(const struct shim_sock *s, const struct ring_frame_info *fi)
{
	const uint8_t *pa = s->peer.sin6_addr.s6_addr;

	if (fi->sport != s->peer.sin6_port)
		return false;
	if (fi->family == 4)
		return IN6_IS_ADDR_V4MAPPED(&s->peer.sin6_addr) && !memcmp(pa + 12, fi->saddr, 4);
	return !memcmp(pa, fi->saddr, 16);
}

/* Append one control message exactly as the kernel's put_cmsg does: with
 * no room even for a header, MSG_CTRUNC and nothing written; with room for
 * part of it, MSG_CTRUNC and a truncated message (cmsg_len = the room left)
 * that uses up the buffer. */
static void shim_cmsg_put(struct msghdr *m, size_t *used, int lvl, int type, const void *data, size_t len)
{
	size_t room = m->msg_controllen - *used, cmlen = CMSG_LEN(len);
	struct cmsghdr c;

	if (!m->msg_control || room < sizeof(struct cmsghdr)) {
		m->msg_flags |= MSG_CTRUNC;
		return;
	}
	if (room < cmlen) {
		m->msg_flags |= MSG_CTRUNC;
		cmlen = room;
	}
	c.cmsg_level = lvl;
	c.cmsg_type = type;
	c.cmsg_len = cmlen;
	memcpy((char *)m->msg_control + *used, &c, sizeof(c));
	memcpy((char *)m->msg_control + *used + CMSG_LEN(0), data, cmlen - CMSG_LEN(0));
	*used += CMSG_SPACE(len) < room ? CMSG_SPACE(len) : room;
}

/* What every message of one batch shares: the clock read once, and the
 * drop count SO_RXQ_OVFL reports. */
struct shim_batch {
	struct timespec now;
	uint32_t drops;
};

/* Control messages in the order the kernel emits them: sock_recv_cmsgs
 * first (SO_TIMESTAMP(NS), SCM_TIMESTAMPING, SO_RXQ_OVFL: socket layer),
 * then udp_cmsg_recv's UDP_GRO (gso > 0: a coalesced message), then on an
 * IPv6 socket IPV6_PKTINFO for both families (ip6_datagram_recv_common_ctl)
 * and for an IPv6 datagram HOPLIMIT, TCLASS, ORIGDSTADDR
 * (ip6_datagram_recv_specific_ctl); for an IPv4 datagram, on either kind
 * of socket, IP_PKTINFO, IP_TTL, IP_TOS, IP_ORIGDSTADDR
 * (ip_cmsg_recv_offset, in its flag order). */
static void shim_cmsgs(const struct shim_sock *s, const struct ring_frame_info *fi, struct msghdr *m,
		       const struct shim_batch *b, int gso)
{
	uint32_t want = s->cmsg;
	size_t used = 0;

	if (!(want & ~SHIM_CMSG_GRO) && !gso) {
		m->msg_controllen = 0;
		return;
	}
	if ((want & SHIM_CMSG_TS) && (want & SHIM_CMSG_TSNS)) {
		shim_cmsg_put(m, &used, SOL_SOCKET, SO_TIMESTAMPNS, &b->now, sizeof(b->now));
	} else if (want & SHIM_CMSG_TS) {
		struct timeval tv = { b->now.tv_sec, b->now.tv_nsec / 1000 };
		shim_cmsg_put(m, &used, SOL_SOCKET, SO_TIMESTAMP, &tv, sizeof(tv));
	}
	if (want & SHIM_CMSG_TSING) {
		/* struct scm_timestamping: ts[0] software, ts[2] hardware
		 * (never on a device without hardware stamps; see sock.c) */
		struct timespec ts[3] = { b->now };
		shim_cmsg_put(m, &used, SOL_SOCKET, SO_TIMESTAMPING, ts, sizeof(ts));
	}
	if ((want & SHIM_CMSG_OVFL) && b->drops)
		shim_cmsg_put(m, &used, SOL_SOCKET, SO_RXQ_OVFL, &b->drops, sizeof(b->drops));
	if (gso)
		shim_cmsg_put(m, &used, IPPROTO_UDP /* SOL_UDP */, 104 /* UDP_GRO */, &gso, sizeof(gso));
	if (s->domain == AF_INET6 && (want & SHIM_CMSG_PKTINFO6)) {
		struct in6_pktinfo pi = { .ipi6_ifindex = (unsigned)ctl_ifindex() };
		if (fi->family == 4) {
			pi.ipi6_addr.s6_addr[10] = 0xff;
			pi.ipi6_addr.s6_addr[11] = 0xff;
			memcpy(&pi.ipi6_addr.s6_addr[12], fi->daddr, 4);
		} else {
			memcpy(&pi.ipi6_addr, fi->daddr, 16);
		}
		shim_cmsg_put(m, &used, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	}
	if (fi->family == 6) {
		if (want & SHIM_CMSG_HOPLIMIT) {
			int hl = fi->ttl;
			shim_cmsg_put(m, &used, IPPROTO_IPV6, IPV6_HOPLIMIT, &hl, sizeof(hl));
		}
		if (want & SHIM_CMSG_TCLASS) {
			int tc = fi->tos;
			shim_cmsg_put(m, &used, IPPROTO_IPV6, IPV6_TCLASS, &tc, sizeof(tc));
		}
		if (want & SHIM_CMSG_ORIGDST6) {
			struct sockaddr_in6 d = { .sin6_family = AF_INET6, .sin6_port = fi->dport };

			memcpy(&d.sin6_addr, fi->daddr, 16);
			/* ipv6_iface_scope_id: a link-local destination names
			 * its interface */
			if (IN6_IS_ADDR_LINKLOCAL(&d.sin6_addr))
				d.sin6_scope_id = (uint32_t)ctl_ifindex();
			shim_cmsg_put(m, &used, IPPROTO_IPV6, IPV6_ORIGDSTADDR, &d, sizeof(d));
		}
	} else {
		if (want & SHIM_CMSG_PKTINFO) {
			struct in_pktinfo pi = { .ipi_ifindex = ctl_ifindex() };
			memcpy(&pi.ipi_spec_dst, fi->daddr, 4);
			memcpy(&pi.ipi_addr, fi->daddr, 4);
			shim_cmsg_put(m, &used, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
		}
		if (want & SHIM_CMSG_TTL) {
			int ttl = fi->ttl;
			shim_cmsg_put(m, &used, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
		}
		if (want & SHIM_CMSG_TOS)
			shim_cmsg_put(m, &used, IPPROTO_IP, IP_TOS, &fi->tos, 1);
		if (want & SHIM_CMSG_ORIGDST) {
			struct sockaddr_in d = { .sin_family = AF_INET, .sin_port = fi->dport };

			memcpy(&d.sin_addr, fi->daddr, 4);
			shim_cmsg_put(m, &used, IPPROTO_IP, IP_ORIGDSTADDR, &d, sizeof(d));
		}
	}
	m->msg_controllen = used;
}

/* Copy one validated datagram into m; returns the value recvmsg reports. */
static uint32_t shim_deliver(const struct shim_sock *s, const struct ring_frame_info *fi,
			     const uint8_t *frame, struct msghdr *m, int flags, const struct shim_batch *b)
{
	size_t copied = ring_copy_to_iov(frame + fi->payload_off, fi->payload_sz, m->msg_iov,
					 m->msg_iovlen);

	m->msg_flags = copied < fi->payload_sz ? MSG_TRUNC : 0;
	if (m->msg_name)
		m->msg_namelen = ring_frame_src(fi, s->domain == AF_INET6, m->msg_name, m->msg_namelen);
	shim_cmsgs(s, fi, m, b, 0);
	return (flags & MSG_TRUNC) ? fi->payload_sz : (uint32_t)copied;
}

/* UDP_GRO coalescing (the application enabled UDP_GRO).  Consecutive
 * datagrams of one flow off the rx ring - same addresses and ports, same
 * TOS/TTL (inet_gro_receive flushes on a difference), the same payload size
 * except that the last may be shorter (udp_gro_receive_segment) - go into
 * one message with a UDP_GRO cmsg carrying the segment size, as the
 * kernel's GRO delivers them, within its limits: UDP_GRO_CNT_MAX (64)
 * segments, an IP packet of at most 65535 bytes, and never past the
 * caller's buffer (the kernel would truncate; the shim then starts a new
 * message).  A lone datagram carries no cmsg, as the kernel's GRO clears
 * gso_size of a one-segment packet.  Never across a datagram from the
 * kernel socket, never with MSG_PEEK or zero-length datagrams. */
#define SHIM_GRO_SEGS 64
struct shim_gro {
	int      idx;       /* the open message in v[], -1: none */
	bool     closed;    /* a shorter segment ended it */
	uint32_t seg, cnt;
	size_t   tot, cap, ctl, hdr;
	struct ring_frame_info fi;
};

static void shim_gro_open(struct shim_gro *g, int idx, const struct ring_frame_info *fi,
			  const struct mmsghdr *v, size_t ctl)
{
	const struct msghdr *m = &v->msg_hdr;
	size_t cap = 0;

	g->idx = -1;
	if (!fi->payload_sz || (m->msg_flags & MSG_TRUNC))
		return;
	for (size_t i = 0; i < m->msg_iovlen; i++)
		cap += m->msg_iov[i].iov_len;
	g->idx = idx;
	g->closed = false;
	g->seg = fi->payload_sz;
	g->cnt = 1;
	g->tot = fi->payload_sz;
	g->cap = cap;
	g->ctl = ctl;
	g->hdr = 8 + (fi->family == 4 ? 20 : 40);
	g->fi = *fi;
}

/* Append fi's payload to the open message if it belongs there. */
static bool shim_gro_append(const struct shim_sock *s, struct shim_gro *g, struct mmsghdr *v,
			    const struct ring_frame_info *fi, const uint8_t *frame, const struct shim_batch *b)
{
	struct msghdr *m = &v[g->idx].msg_hdr;
	size_t sz = fi->payload_sz, left = sz, off = g->tot;
	const uint8_t *src = frame + fi->payload_off;

	if (g->closed || !sz || sz > g->seg || g->cnt >= SHIM_GRO_SEGS || g->tot + sz > g->cap ||
	    g->hdr + g->tot + sz > 65535 || fi->family != g->fi.family || fi->sport != g->fi.sport ||
	    fi->dport != g->fi.dport || fi->tos != g->fi.tos || fi->ttl != g->fi.ttl ||
	    memcmp(fi->saddr, g->fi.saddr, fi->family == 4 ? 4 : 16) ||
	    memcmp(fi->daddr, g->fi.daddr, fi->family == 4 ? 4 : 16))
		return false;
	for (size_t i = 0; i < m->msg_iovlen && left; i++) {
		size_t l = m->msg_iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > left)
			l = left;
		memcpy((uint8_t *)m->msg_iov[i].iov_base + off, src, l);
		src += l;
		left -= l;
		off = 0;
	}
	g->tot += sz;
	g->cnt++;
	g->closed = sz < g->seg;
	v[g->idx].msg_len = (unsigned)g->tot;
	if (g->cnt == 2) {
		m->msg_controllen = g->ctl;
		m->msg_flags &= ~MSG_CTRUNC;
		shim_cmsgs(s, &g->fi, m, b, (int)g->seg);
	}
	return true;
}

/* A spill episode of queue slot qi stands before the next frame of its
 * rx ring (its start is reached): hand over the episode's datagrams from
 * the kernel socket, in order, before any later frame.  Returns how many
 * went into v (<= room), and sets *stop when the ring must not be read
 * further now: the episode is still open (every newer datagram goes to the
 * kernel too), or closed with datagrams still missing from the kernel
 * socket.  Those the socket dropped (a full SO_RCVBUF, seen in its sk_drops)
 * are given up at once; the rest are waited for up to SHIM_SPILL_WAIT_NS
 * (still in the stack, or never coming: queued on another socket of a
 * SO_REUSEPORT group by the kernel's own choice).  rx lock held. */
static unsigned int shim_spill_take(struct shim_sock *s, int fd, uint32_t qi, struct xskshim_spill *sp,
				    struct mmsghdr *v, unsigned int room, int flags, bool *stop)
{
	uint32_t tail = sp->tail, head = __atomic_load_n(&sp->head, __ATOMIC_ACQUIRE);
	const struct xskshim_spill_ep *e = &sp->ep[tail & (XSKSHIM_SPILL_EPS - 1)];
	/* open before cnt: the program adds to cnt before it closes the
	 * episode, so a closed episode's count is final.  The other order
	 * could see the count one short and then the episode closed - by a
	 * budget another socket's reader raised on the shared queue meanwhile
	 * - and leave its last datagram behind, for later than the frames
	 * after the episode. */
	bool open = __atomic_load_n(&sp->open, __ATOMIC_ACQUIRE) && tail + 1 == head;
	uint64_t cnt = __atomic_load_n(&e->cnt, __ATOMIC_RELAXED);
	unsigned int got = 0;

	*stop = false;
	if (!s->rx->ep_done[qi] && !s->rx->ep_wait[qi] && !s->rx->ep_met[qi]) {
		/* first look at this episode: if it began long before the
		 * reader got here, the reader was away (descheduled, busy
		 * elsewhere) and the fill ring was too shallow for that:
		 * deepen it by what overflowed, and some */
		uint32_t away = (uint32_t)(shim_now_ns() / 1000) - e->t_open;

		s->rx->ep_met[qi] = true;
		if (away > SHIM_AWAY_US) {
			struct ring_umem *u = s->b.xsk[qi]->umem;

			ring_umem_fill_grow(u, 2 * (u->fill_target + (uint32_t)cnt));
		}
	}
	if (s->rx->ep_done[qi] < cnt) {
		uint64_t left = cnt - s->rx->ep_done[qi];
		int r = REAL(recvmmsg)(fd, v, left < room ? (unsigned int)left : room, flags | MSG_DONTWAIT, NULL);

		if (r > 0) {
			got = (unsigned int)r;
			s->rx->ep_wait[qi] = 0;
			if (!(flags & MSG_PEEK)) {
				s->rx->ep_done[qi] += got;
				shim_ctr_kernel_add(s, got);
			}
			*stop = true;   /* the caller comes back for more */
			return got;
		}
		if (open || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			*stop = true;
			return 0;
		}
		/* Closed and some missing.  Those the kernel socket dropped
		 * (full SO_RCVBUF: its sk_drops grew) are not coming; wait
		 * only for the rest, which may still be in the stack. */
		{
			uint32_t mi[SK_MEMINFO_VARS];
			socklen_t ml = sizeof(mi);

			if (!getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &ml) && ml >= sizeof(mi)) {
				uint32_t dropped = mi[SK_MEMINFO_DROPS] - s->rx->kdrops_seen;

				s->rx->kdrops_seen = mi[SK_MEMINFO_DROPS];
				if (dropped > left)
					dropped = (uint32_t)left;
				s->rx->ep_done[qi] += dropped;
				s->st->spill_unseen += dropped;
				left -= dropped;
			}
		}
		if (left) {
			if (!s->rx->ep_wait[qi])
				s->rx->ep_wait[qi] = shim_now_ns();
			if (shim_now_ns() - s->rx->ep_wait[qi] < SHIM_SPILL_WAIT_NS) {
				*stop = true;
				return 0;
			}
			s->st->spill_unseen += left;
		}
	} else if (open) {
		*stop = true;
		return 0;
	}
	/* delivered (or given up on): the program may reuse the record */
	__atomic_store_n(&sp->tail, tail + 1, __ATOMIC_RELEASE);
	s->rx->ep_done[qi] = 0;
	s->rx->ep_wait[qi] = 0;
	s->rx->ep_met[qi] = false;
	return 0;
}

/* Fill up to n messages from the socket's rx rings and, where the XDP
 * program spilled datagrams to the kernel socket in between (struct
 * xskshim_spill), from the kernel socket, in arrival order.  Returns the
 * count, or -SHIM_DEMOTED if the socket is no longer accelerated.  *spilling
 * is set while an episode is not yet delivered: the caller must then leave
 * the kernel socket to this function. */
/* One call's gathering from the rx rings (shim_xsk_gather and its steps). */
struct shim_gather {
	struct shim_sock *s;
	int      fd, flags;
	struct mmsghdr *v;
	unsigned int n, got;
	bool     peek, gro, full;
	bool     clock;         /* b.now is still to be read (SHIM_CMSG_CLOCK) */
	enum ring_csum_mode csum;
	struct shim_batch b;
	struct shim_gro g;
	uint64_t *addrs;        /* frames to return, of the current batch
				 * (256: the largest XSKSHIM_BATCH) */
};

/* SO_RXQ_OVFL: what the kernel counts in sk_drops - its own socket's drops
 * (a full SO_RCVBUF, also of spilled datagrams) plus datagrams the shim
 * dropped for a bad UDP checksum, which the kernel counts there too.  Read
 * once per call: the count at read time, not at enqueue time. */
static uint32_t shim_ovfl_drops(struct shim_sock *s, int fd)
{
	uint32_t mi[SK_MEMINFO_VARS], drops = 0;
	socklen_t ml = sizeof(mi);

	if (!getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &ml) && ml >= sizeof(mi))
		drops = mi[SK_MEMINFO_DROPS];
	return drops + (uint32_t)__atomic_load_n(&s->st->drop[RING_FRAME_BAD_CSUM], __ATOMIC_RELAXED);
}

/* Parse, check and deliver the cnt frames peeked at idx of x's rx ring.
 * Returns how many frames to release (G->addrs); *strag counts those that
 * were not for this socket (a reused AF_XDP socket's stragglers, outside
 * the program's numbering).  Frames left for later (MSG_PEEK, no message
 * left for a GRO segment) go back to the ring. */
static inline __attribute__((always_inline)) uint32_t
shim_gather_frames(struct shim_gather *G, struct ring_xsk *x, uint32_t idx, uint32_t cnt, uint32_t *strag)
{
	struct shim_sock *s = G->s;
	struct mmsghdr *v = G->v;
	uint32_t i, rel = 0;

	/* The first touch of a frame the kernel just wrote (on another CPU)
	 * is a cache miss: start loading the next frames' headers while this
	 * one is parsed and copied. */
	for (i = 0; i < cnt && i < SHIM_PREFETCH; i++)
		__builtin_prefetch(ring_umem_frame(x->umem, ring_rx_desc(&x->rx, idx + i)->addr));
	/* the batch's clock, once there is a frame to stamp (a call that
	 * finds the rings empty, as every receive loop's last does, reads
	 * none) */
	if (__builtin_expect(G->clock, 0)) {
		clock_gettime(CLOCK_REALTIME, &G->b.now);
		G->clock = false;
	}
	for (i = 0; i < cnt; i++) {
		const struct xdp_desc *d = ring_rx_desc(&x->rx, idx + i);
		const uint8_t *frame = ring_umem_frame(x->umem, d->addr);
		struct ring_frame_info fi;
		int r;

		if (i + SHIM_PREFETCH < cnt) {
			const uint8_t *nf = ring_umem_frame(x->umem, ring_rx_desc(&x->rx, idx + i + SHIM_PREFETCH)->addr);

			__builtin_prefetch(nf);
			__builtin_prefetch(nf + 64);
		}
		r = ring_frame_parse(frame, d->len, G->csum, &fi);

		G->addrs[rel++] = d->addr;
		if (r) {
			s->st->drop[-r]++;
			continue;
		}
		if (__builtin_expect(fi.dport != htons(s->port), 0)) {
			/* not for this socket (a reused AF_XDP socket's
			 * straggler): never deliver */
			s->st->drop[RING_FRAME_NOT_OURS]++;
			(*strag)++;
			continue;
		}
		if (s->connected && !shim_peer_ok(s, &fi)) {
			s->st->drop_peer++;
			continue;
		}
		if (G->gro) {
			size_t ctl;

			if (G->g.idx >= 0 && shim_gro_append(s, &G->g, v, &fi, frame, &G->b)) {
				s->st->rx_xdp++;
				s->st->rx_xdp_bytes += fi.payload_sz;
				continue;
			}
			G->g.idx = -1;
			if (G->got == G->n) {
				/* no message left for it: it stays on the ring */
				rel--;
				ring_cons_cancel(&x->rx, cnt - i);
				G->full = true;
				break;
			}
			ctl = v[G->got].msg_hdr.msg_controllen;
			v[G->got].msg_len = shim_deliver(s, &fi, frame, &v[G->got].msg_hdr, G->flags, &G->b);
			shim_gro_open(&G->g, (int)G->got, &fi, &v[G->got], ctl);
		} else {
			v[G->got].msg_len = shim_deliver(s, &fi, frame, &v[G->got].msg_hdr, G->flags, &G->b);
		}
		G->got++;
		if (G->peek) {
			/* leave the datagram on the ring */
			rel--;
			ring_cons_cancel(&x->rx, cnt - i);
			break;
		}
		s->st->rx_xdp++;
		s->st->rx_xdp_bytes += fi.payload_sz;
	}
	return rel;
}

/* Gather from the rx ring of the socket's queue slot xq, and from its
 * kernel socket where a spill episode stands in between.  Sets
 * *spilling while an episode is not yet delivered. */
static inline __attribute__((always_inline)) void shim_gather_queue(struct shim_gather *G, uint32_t xq,
								    bool *spilling)
{
	struct shim_sock *s = G->s;
	struct ring_xsk *x = s->b.xsk[xq];
	struct xskshim_spill *sp = ctl_bind_spill(&s->b, xq);

	G->g.idx = -1;
	G->full = false;
	/* with UDP_GRO the last message may still take frames */
	while (!G->full && (G->got < G->n || G->g.idx >= 0)) {
		uint32_t want = G->peek ? 1 : G->gro ? shim_g.cfg.ctl.batch : G->n - G->got, idx, cnt, rel, strag = 0;

		if (want > shim_g.cfg.ctl.batch)
			want = shim_g.cfg.ctl.batch;
		if (sp && __builtin_expect(sp->tail != __atomic_load_n(&sp->head, __ATOMIC_ACQUIRE), 0)) {
			uint64_t start = sp->ep[sp->tail & (XSKSHIM_SPILL_EPS - 1)].start;
			bool stop;

			*spilling = true;
			if (s->rx->xseq[xq] >= start) {
				G->g.idx = -1;   /* never coalesce across the kernel's datagrams */
				if (G->got == G->n)
					break;
				G->got += shim_spill_take(s, G->fd, xq, sp, G->v + G->got, G->n - G->got, G->flags, &stop);
				if (stop)
					break;
				continue;
			}
			if (start - s->rx->xseq[xq] < want)   /* older frames first */
				want = (uint32_t)(start - s->rx->xseq[xq]);
		}
		cnt = ring_cons_peek(&x->rx, want, &idx);
		if (!cnt)
			break;
		rel = shim_gather_frames(G, x, idx, cnt, &strag);
		if (rel) {
			s->rx->xseq[xq] += rel - strag;
			ring_xsk_rx_release(x, G->addrs, rel);
		}
		if (G->peek && G->got)
			break;
	}
}

/* The queues' spill episodes begun, summed (each only grows), or
 * SHIM_NO_SPILL when none of them can spill (zero-copy: no budget).  rx
 * lock held, binding valid. */
#define SHIM_NO_SPILL UINT64_MAX
static uint64_t shim_spill_heads(const struct shim_sock *s)
{
	uint64_t sum = SHIM_NO_SPILL;

	for (uint32_t qi = 0; qi < s->b.q_cnt; qi++) {
		const struct xskshim_spill *sp = ctl_bind_spill(&s->b, qi);

		if (sp)
			sum = (sum == SHIM_NO_SPILL ? 0 : sum) + __atomic_load_n(&sp->head, __ATOMIC_ACQUIRE);
	}
	return sum;
}

/* *heads: shim_spill_heads before the rings were looked at (when the call
 * returns >= 0). */
static int shim_xsk_gather(struct shim_sock *s, int fd, struct mmsghdr *v, unsigned int n, int flags,
			   bool *spilling, uint64_t *heads)
{
	uint64_t addrs[256];
	struct shim_gather G = {
		.s = s, .fd = fd, .flags = flags, .v = v, .n = n, .peek = (flags & MSG_PEEK) != 0,
		.csum = ctl_csum_mode(), .g = { .idx = -1 }, .addrs = addrs,
	};
	uint32_t q_cnt;

	G.gro = !G.peek && (s->cmsg & SHIM_CMSG_GRO);
	if (__builtin_expect(s->cmsg & SHIM_CMSG_OVFL, 0))
		G.b.drops = shim_ovfl_drops(s, fd);
	shim_rx_lock(s);
	if (!shim_sock_accel(s)) {
		shim_rx_unlock(s);
		return -SHIM_DEMOTED;
	}
	if (__builtin_expect(!shim_rx_valid(s), 0)) {
		/* another process tore it down or demoted it: this process
		 * follows, and drops its handles at close (shim_sock_put) */
		snprintf(s->why, sizeof(s->why), "%s", s->rx->live ? "closed in another process" : s->rx->why);
		s->stale = true;
		shim_sock_ops_set(s, &shim_ops_kernel);
		shim_rx_unlock(s);
		return -SHIM_DEMOTED;
	}
	G.clock = (s->cmsg & SHIM_CMSG_CLOCK) != 0;
	*heads = shim_spill_heads(s);
	*spilling = false;
	q_cnt = s->b.q_cnt;
	for (uint32_t qi = 0; qi < q_cnt && G.got < n; qi++)
		shim_gather_queue(&G, (s->q_next + qi) % q_cnt, spilling);
	s->q_next++;
	shim_rx_unlock(s);
	return (int)G.got;
}

void shim_rx_repair(struct shim_sock *s, uint64_t dead)
{
	uint32_t back = 0;

	/* the lock was taken over from a dead holder (struct shim_rx) */
	s->rx->repairs++;
	if (shim_sock_accel(s) && shim_rx_valid(s))
		for (uint32_t i = 0; i < s->b.q_cnt; i++)
			back += ring_xsk_rx_repair(s->b.xsk[i], dead);
	s->st->lock_takeovers++;
	s->st->reclaimed += back;
	shim_log(SHIM_LOG_INFO, "rx", "port %u: reader lock taken over from dead thread %u of process %u; %u frames "
		 "it held given back", s->port, (unsigned int)(dead & 0x3fffff), (unsigned int)(dead >> 32), back);
}

/* XSKSHIM_BUSY_POLL: before a blocking receive sleeps, watch the rx rings
 * for up to busy_poll_us (bounded by SO_RCVTIMEO).  No syscall while
 * spinning: the rings are shared memory.  If the AF_XDP sockets have
 * SO_PREFER_BUSY_POLL, a recvfrom() on one also drives the device's NAPI
 * from this thread, every 64th turn.  True if a ring has data. */
static bool shim_busy_poll(struct shim_sock *s, int64_t deadline_ns)
{
	int64_t end = shim_now_ns() + (int64_t)shim_g.cfg.ctl.busy_poll_us * 1000;
	uint32_t turn = 0;

	if (deadline_ns >= 0 && deadline_ns < end)
		end = deadline_ns;
	do {
		for (int i = 0; i < 64; i++) {
			if (shim_xsk_pending(s))
				return true;
			ring_cpu_relax();
		}
		if ((++turn & 63) == 0 && s->b.q_cnt)
			(void)recvfrom(s->b.xsk[0]->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
	} while (shim_now_ns() < end && shim_sock_accel(s));
	return false;
}

/* Read the kernel socket outside a spill episode (shim_gather).  A datagram
 * the XDP program spilled after the ring gather began (heads0) may already
 * be queued there, and taking it now would put it before AF_XDP frames the
 * program redirected ahead of its episode: still on the ring, or on their
 * way.  Seen with a spin reader preempted between the gather and this read
 * (XSKSHIM_FRAMES=256, a 200 us pause there: about 1000 of 100k datagrams
 * of a flow after later ones, none lost; the episode then waited in vain
 * for the datagrams already taken, spill_unseen).  So where the program can
 * spill (copy mode) a datagram is taken only after a zero-byte MSG_PEEK at
 * it was followed by an unchanged episode count: it was queued before any
 * new episode began, so no AF_XDP frame is owed before it.  One at a time,
 * each one proven; under the rx lock, so the datagram taken is the one
 * looked at (a first look, which mostly finds nothing, goes without it).  The application's MSG_PEEK takes nothing: it is checked after
 * the fact.  Returns datagrams read (sets *err when the kernel reported an
 * error after them, or instead of them), 0 for EAGAIN, or
 * SHIM_KREAD_EPISODE when an episode began first: gather again. */
#define SHIM_KREAD_EPISODE (-1)
/* A look at the kernel socket's head that takes nothing: the application's
 * own MSG_PEEK into v, else zero bytes.  >= 0: a datagram is there. */
static inline int shim_kernel_look(int fd, struct mmsghdr *v, unsigned int room, int flags)
{
	if (flags & MSG_PEEK)
		return REAL(recvmmsg)(fd, v, room, flags | MSG_DONTWAIT, NULL);
	return (int)REAL(recvfrom)(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT, NULL, NULL);
}

static int shim_kernel_read(struct shim_sock *s, int fd, struct mmsghdr *v, unsigned int room, int flags,
			    uint64_t heads0, int *err, bool *empty)
{
	unsigned int got = 0;
	bool episode = false;
	int r;

	*err = 0;
	*empty = false;
	if (heads0 == SHIM_NO_SPILL) {
		r = REAL(recvmmsg)(fd, v, room, flags | MSG_DONTWAIT, NULL);
		got = r > 0 ? (unsigned int)r : 0;
	} else {
		/* the common answer, EAGAIN, without the lock: readers of one
		 * socket (prefork children, threads) must not queue behind a
		 * syscall to learn that; a datagram found is looked at again
		 * under the lock */
		r = shim_kernel_look(fd, v, room, flags);
		if (r < 0)
			goto out;
		shim_rx_lock(s);
		do {
			r = shim_kernel_look(fd, v, room, flags);
			if (r < 0)
				break;
			if (!shim_sock_accel(s) || !shim_rx_valid(s) || shim_spill_heads(s) != heads0) {
				episode = !got;
				break;
			}
			if (flags & MSG_PEEK) {
				got = (unsigned int)r;
				break;
			}
			r = REAL(recvmmsg)(fd, v + got, 1, flags | MSG_DONTWAIT, NULL);
			if (r > 0)
				got++;
		} while (r > 0 && got < room);
		shim_rx_unlock(s);
	}
out:
	if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		*err = errno;
	else if (r < 0)
		*empty = true;
	return episode ? SHIM_KREAD_EPISODE : (int)got;
}

/* One non-blocking pass over both paths.  Returns messages gathered, or
 * -SHIM_DEMOTED; *kerr is set if nothing was gathered and the kernel socket
 * reported an error other than EAGAIN (a pending ICMP error on a connected
 * socket, ...).  The kernel socket is read when the rings ran dry, and
 * every SHIM_KERNEL_EVERY calls it gets the last slot of the batch, so a
 * ring that never runs dry cannot starve it. */
static int shim_gather(struct shim_sock *s, int fd, struct mmsghdr *v, unsigned int n, int flags, int *kerr)
{
	bool turn = __atomic_add_fetch(&s->kern_tick, 1, __ATOMIC_RELAXED) % SHIM_KERNEL_EVERY == 0;
	unsigned int xn = (turn && n > 1) ? n - 1 : n;
	unsigned int got = 0;

	*kerr = 0;
	for (int pass = 0;; pass++) {
		bool spilling, empty;
		uint64_t heads;
		int r = shim_xsk_gather(s, fd, v + got, xn - got, flags, &spilling, &heads), err;

		if (r < 0)
			return got ? (int)got : r;
		got += (unsigned)r;
		if (spilling)
			break;
		/* The hint may only save the syscall when the rings gave
		 * something: a call about to answer EAGAIN (or block) must
		 * have asked the kernel socket during the call, or a datagram
		 * queued there since the last readiness check would be
		 * reported as absent. */
		if (got == n || !((got < xn && (!got || __atomic_load_n(&s->kern_hint, __ATOMIC_RELAXED))) || turn) ||
		    ((flags & MSG_PEEK) && got))
			break;
		r = shim_kernel_read(s, fd, v + got, n - got, flags, heads, &err, &empty);
		if (r == SHIM_KREAD_EPISODE) {
			/* An episode began: its earlier frames first.  A call that
			 * may answer EAGAIN gathers again now (it must not report
			 * nothing while the episode is there); a blocking one
			 * returns to its wait, which the kernel socket ends at
			 * once.  Gathering again in blocking calls too made
			 * t_fork's 4 prefork children spill 940-1426 of 20000
			 * (9 without it, 97-179 before the peek). */
			xn = n;
			if (pass < 2 && ((flags & MSG_DONTWAIT) || __atomic_load_n(&s->nonblock, __ATOMIC_RELAXED)))
				continue;
			break;
		}
		if (r > 0) {
			got += (unsigned)r;
			shim_ctr_kernel_add(s, (uint64_t)r);
		}
		if (err && got) {
			/* the kernel consumed the error in reporting it; as its
			 * recvmmsg does after some datagrams, keep it for the
			 * next call */
			__atomic_store_n(&s->err_pending, err, __ATOMIC_RELAXED);
		} else if (err) {
			*kerr = err;
		} else if (empty) {
			__atomic_store_n(&s->kern_hint, false, __ATOMIC_RELAXED);
		}
		break;
	}
	return (int)got;
}

/* Would a handler-interrupted wait be restarted by the kernel?  Only if no
 * SO_RCVTIMEO is set and every installed handler has SA_RESTART. */
static bool shim_restartable(int fd)
{
	struct timeval tv = {0};
	socklen_t l = sizeof(tv);

	if (!getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &l) && (tv.tv_sec || tv.tv_usec))
		return false;
	for (int sig = 1; sig <= SIGRTMAX; sig++) {
		struct sigaction sa;

		if (sigaction(sig, NULL, &sa))
			continue;
		if (!(sa.sa_flags & SA_SIGINFO) && (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN))
			continue;
		if (!(sa.sa_flags & SA_RESTART))
			return false;
	}
	return true;
}

/* Block until either path may have data.  deadline_ns < 0: no SO_RCVTIMEO.
 * Returns >0 ready, 0 timed out, -errno.  *rdhup is set when the kernel
 * socket is shut down for reading. */
static int shim_wait(struct shim_sock *s, int fd, int64_t deadline_ns, bool *rdhup)
{
	struct pollfd p[1 + XSKSHIM_QUEUE_MAX];
	nfds_t cnt = 1;
	int ms = -1, r;

	p[0] = (struct pollfd){ .fd = fd, .events = POLLIN | POLLRDHUP };
	shim_rx_lock(s);
	if (shim_sock_accel(s))
		for (uint32_t i = 0; i < s->b.q_cnt; i++)
			p[cnt++] = (struct pollfd){ .fd = s->b.xsk[i]->fd, .events = POLLIN };
	s->st->waits++;
	shim_rx_unlock(s);
	if (deadline_ns >= 0) {
		int64_t left = deadline_ns - shim_now_ns();
		if (left <= 0)
			return 0;
		ms = (int)((left + 999999) / 1000000);
	}
	ctl_check_iface();
	r = REAL(poll)(p, cnt, ms);
	if (r != 0)   /* readable, or an error: let the next pass ask the kernel */
		__atomic_store_n(&s->kern_hint, true, __ATOMIC_RELAXED);
	if (r > 0 && (p[0].revents & POLLRDHUP))
		*rdhup = true;
	return r < 0 ? -errno : r;
}

/* The recvmmsg timeout's deadline, read from the clock the first time it is
 * needed: a call that returns from its first pass over the rings (the
 * streamer's poll + recvmmsg(MSG_WAITFORONE) with data waiting) reads no
 * clock at all.  The deadline then starts after that first non-blocking pass
 * instead of at entry, well under the timer slack the kernel's own timeout
 * has; it is always set before the call blocks. */
static inline int64_t shim_mmsg_deadline(int64_t *end_ns, const struct timespec *t)
{
	if (*end_ns < 0)
		*end_ns = shim_now_ns() + t->tv_sec * 1000000000LL + t->tv_nsec;
	return *end_ns;
}

static inline bool shim_mmsg_expired(int64_t *end_ns, const struct timespec *t)
{
	int64_t e = shim_mmsg_deadline(end_ns, t);

	return shim_now_ns() >= e;
}

/* A pending socket error is reported before any queued datagram and
 * consumed by that report, as the kernel's __skb_recv_udp checks
 * sock_error() before each datagram.  UDP sets sk_err only on a connected
 * socket or with IP_RECVERR/IPV6_RECVERR (__udp4_lib_err, __udp6_lib_err),
 * so only those pay for the getsockopt(SO_ERROR), which is the same
 * exchange; the error queue itself (MSG_ERRQUEUE) stays the kernel
 * socket's.  True with errno set if there was one. */
/* A pending error of the socket (sk_err: an ICMP error on a connected or
 * IP_RECVERR socket) is reported before any queued datagram and consumed
 * by that report, as the kernel's sock_error() does; getsockopt(SO_ERROR)
 * is the same exchange.  It costs a syscall, so it is asked only when it
 * can be set: on a connected or IP_RECVERR socket (others never get
 * sk_err), after the XDP program saw an ICMP error (icmp_err_seq moved) and
 * for SHIM_ICMP_SETTLE_NS after that, while the stack gets to it.  An error
 * from an ICMP message that arrived on another interface is reported by the
 * kernel socket's own receive once the rings run dry (at the latest after
 * SHIM_KERNEL_EVERY calls); one the kernel socket reported while a call
 * returned datagrams (err_pending) comes first in the next call.  True
 * with errno set when there is an error to report. */
bool shim_sock_error(struct shim_sock *s, int fd)
{
	int e = __atomic_exchange_n(&s->err_pending, 0, __ATOMIC_RELAXED);
	socklen_t el = sizeof(e);
	uint64_t seq;
	int64_t until;

	if (__builtin_expect(e, 0))
		goto report;
	if (!__atomic_load_n(&s->connected, __ATOMIC_RELAXED) && !__atomic_load_n(&s->recverr, __ATOMIC_RELAXED))
		return false;
	shim_rx_lock(s);
	if (!shim_sock_accel(s)) {
		shim_rx_unlock(s);
		return false;   /* the kernel path answers, error first */
	}
	seq = ctl_icmp_seq();
	if (seq != s->icmp_seen) {
		s->icmp_seen = seq;
		s->icmp_until = shim_now_ns() + SHIM_ICMP_SETTLE_NS;
	} else if (s->icmp_until && shim_now_ns() > s->icmp_until) {
		s->icmp_until = 0;
	}
	until = s->icmp_until;
	shim_rx_unlock(s);
	if (!until || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) || !e)
		return false;
report:
	errno = e;
	return true;
}

/* A receive found nothing on either path and may block: block until
 * either may have data (busy polling first under XSKSHIM_BUSY_POLL).
 * *rcv_deadline is SO_RCVTIMEO's deadline, read on the first call (-2: not
 * yet; -1: none).  1: look again (data, or a signal the kernel would have
 * restarted the call for); 0: SO_RCVTIMEO passed; -errno. */
static int shim_mmsg_block(struct shim_sock *s, int fd, int64_t *rcv_deadline, bool *rdhup)
{
	int r;

	if (*rcv_deadline == -2) {
		struct timeval tv = {0};
		socklen_t l = sizeof(tv);

		*rcv_deadline = -1;
		if (!getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &l) && (tv.tv_sec || tv.tv_usec))
			*rcv_deadline = shim_now_ns() + tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
	}
	if (shim_g.cfg.ctl.busy_poll_us && shim_busy_poll(s, *rcv_deadline))
		return 1;   /* the rings have data */
	r = shim_wait(s, fd, *rcv_deadline, rdhup);
	if (r == -EINTR && shim_restartable(fd))
		return 1;
	return r > 0 ? 1 : r;
}

/* What is left of the recvmmsg timeout, written back as the kernel does. */
static void shim_mmsg_left(struct timespec *t, int64_t end_ns)
{
	int64_t left = end_ns - shim_now_ns();

	if (left < 0)
		left = 0;
	t->tv_sec = left / 1000000000;
	t->tv_nsec = left % 1000000000;
}

int shim_recvmmsg(struct shim_sock *s, int fd, struct mmsghdr *v, unsigned int n, int fl, struct timespec *t)
{
	int64_t end_ns = -1, rcv_deadline = -2;
	unsigned int got = 0;
	int saved = errno;
	bool rdhup = false;

	/* UDP ignores MSG_OOB, so only MSG_ERRQUEUE is the kernel's alone */
	if ((fl & MSG_ERRQUEUE) || !v || n == 0)
		return REAL(recvmmsg)(fd, v, n, fl, t);
	if (t) {
		if (t->tv_sec < 0 || t->tv_nsec < 0 || t->tv_nsec >= 1000000000L) {
			errno = EINVAL;
			return -1;
		}
	}
	if (n > 1024)
		n = 1024;   /* UIO_MAXIOV, as the kernel clamps vlen */
	for (;;) {
		unsigned int want = n - got;
		int kerr, r;

		if (!got && shim_sock_error(s, fd))
			return -1;

		/* The kernel checks the timeout after each datagram: once it
		 * has passed (a zero timeout from the start), one more.  Before
		 * the deadline is read, only a zero timeout has passed. */
		if (t && want > 1 &&
		    (end_ns < 0 ? !t->tv_sec && !t->tv_nsec : shim_now_ns() >= end_ns))
			want = 1;
		r = shim_gather(s, fd, v + got, want, fl & ~MSG_WAITFORONE, &kerr);

		if (r < 0) {   /* demoted meanwhile: the kernel has the rest */
			r = REAL(recvmmsg)(fd, v + got, n - got, got ? (fl | MSG_DONTWAIT) : fl, NULL);
			if (r < 0)
				return got ? (int)got : -1;
			got += (unsigned)r;
			break;
		}
		got += (unsigned)r;
		/* MSG_PEEK: every entry gets the head datagram again, as each
		 * of the kernel's per-entry receives peeks the same one */
		if (r > 0 && (fl & MSG_PEEK) && got < n) {
			if (t && shim_mmsg_expired(&end_ns, t))
				break;
			continue;
		}
		if (got == n || (got && (fl & MSG_WAITFORONE)))
			break;
		if (got && t && shim_mmsg_expired(&end_ns, t))
			break;
		if (kerr) {
			if (got) {
				/* the kernel consumed it: keep it for the next
				 * call, as do_recvmmsg leaves it in sk_err */
				__atomic_store_n(&s->err_pending, kerr, __ATOMIC_RELAXED);
				break;
			}
			errno = kerr;
			return -1;
		}
		if ((fl & MSG_DONTWAIT) || __atomic_load_n(&s->nonblock, __ATOMIC_RELAXED)) {
			if (got)
				break;
			errno = EAGAIN;
			return -1;
		}
		if (rdhup) {
			/* shutdown(SHUT_RD): the kernel's receive no longer
			 * blocks, it returns 0-byte datagrams; let it answer
			 * (waiting again would spin) */
			r = REAL(recvmmsg)(fd, v + got, n - got,
					   (got && (fl & MSG_WAITFORONE)) ? fl | MSG_DONTWAIT : fl, NULL);
			if (r < 0) {
				if (got)
					break;
				return -1;
			}
			got += (unsigned)r;
			break;
		}
		if (t)
			shim_mmsg_deadline(&end_ns, t);   /* from before any wait */
		r = shim_mmsg_block(s, fd, &rcv_deadline, &rdhup);
		if (r > 0)
			continue;   /* either path may have data: gather it */
		if (got)
			break;
		errno = r ? -r : EAGAIN;
		return -1;
	}
	if (t && end_ns >= 0)   /* else no time has been measured as passing */
		shim_mmsg_left(t, end_ns);
	errno = saved;
	return (int)got;
}

ssize_t shim_recvmsg(struct shim_sock *s, int fd, struct msghdr *m, int fl)
{
	struct mmsghdr v;
	int r;

	if (!m || (fl & MSG_ERRQUEUE))
		return REAL(recvmsg)(fd, m, fl);
	v.msg_hdr = *m;
	v.msg_len = 0;
	r = shim_recvmmsg(s, fd, &v, 1, fl, NULL);
	if (r < 0)
		return -1;
	*m = v.msg_hdr;
	return (ssize_t)v.msg_len;
}

ssize_t shim_recvfrom(struct shim_sock *s, int fd, void *b, size_t l, int fl, struct sockaddr *a,
		      socklen_t *al)
{
	struct iovec iov = { b, l };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;

	if (a && al) {
		m.msg_name = a;
		m.msg_namelen = *al;
	}
	r = shim_recvmsg(s, fd, &m, fl);
	if (r >= 0 && a && al)
		*al = m.msg_namelen;
	return r;
}

ssize_t shim_recv(struct shim_sock *s, int fd, void *b, size_t l, int fl)
{
	return shim_recvfrom(s, fd, b, l, fl, NULL, NULL);
}

ssize_t shim_read(struct shim_sock *s, int fd, void *b, size_t l)
{
	if (!l)
		return 0;   /* read(2) of 0 bytes returns 0 and consumes nothing */
	return shim_recvfrom(s, fd, b, l, 0, NULL, NULL);
}

ssize_t shim_readv(struct shim_sock *s, int fd, const struct iovec *iov, int cnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };
	size_t total = 0;

	if (cnt < 0 || cnt > 1024)
		return REAL(readv)(fd, iov, cnt);
	for (int i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	if (!total)
		return 0;
	return shim_recvmsg(s, fd, &m, 0);
}

ssize_t shim___recv_chk(struct shim_sock *s, int fd, void *b, size_t l, size_t bl, int fl)
{
	if (l > bl)
		return REAL(__recv_chk)(fd, b, l, bl, fl);   /* reports the overflow */
	return shim_recv(s, fd, b, l, fl);
}

ssize_t shim___recvfrom_chk(struct shim_sock *s, int fd, void *b, size_t l, size_t bl, int fl,
			    struct sockaddr *a, socklen_t *al)
{
	if (l > bl)
		return REAL(__recvfrom_chk)(fd, b, l, bl, fl, a, al);
	return shim_recvfrom(s, fd, b, l, fl, a, al);
}

ssize_t shim___read_chk(struct shim_sock *s, int fd, void *b, size_t l, size_t bl)
{
	if (l > bl)
		return REAL(__read_chk)(fd, b, l, bl);
	return shim_read(s, fd, b, l);
}

int shim_connect(struct shim_sock *s, int fd, const struct sockaddr *a, socklen_t al)
{
	int r = REAL(connect)(fd, a, al), saved = errno;
	struct sockaddr_in6 p = { .sin6_family = AF_INET6 };

	shim_kstate_touch(s);

	if (r == 0 && a) {
		if (a->sa_family == AF_UNSPEC) {
			s->connected = false;
		} else if (a->sa_family == AF_INET && al >= sizeof(struct sockaddr_in)) {
			const struct sockaddr_in *i4 = (const struct sockaddr_in *)a;
			p.sin6_port = i4->sin_port;
			p.sin6_addr.s6_addr[10] = p.sin6_addr.s6_addr[11] = 0xff;
			memcpy(&p.sin6_addr.s6_addr[12], &i4->sin_addr, 4);
			shim_rx_lock(s);
			s->peer = p;
			s->connected = true;
			shim_rx_unlock(s);
		} else if (a->sa_family == AF_INET6 && al >= sizeof(struct sockaddr_in6)) {
			shim_rx_lock(s);
			s->peer = *(const struct sockaddr_in6 *)a;
			s->connected = true;
			shim_rx_unlock(s);
		}
		/* steer the peer's 4-tuple to this socket, as the kernel does */
		shim_enter();
		pthread_mutex_lock(&shim_g.lock);
		if (shim_sock_accel(s)) {
			if (s->connected)
				shim_sock_connect_xdp(s, fd, true);
			else
				shim_sock_connect_xdp(s, -1, false);
		}
		pthread_mutex_unlock(&shim_g.lock);
		shim_leave();
	}
	errno = saved;
	return r;
}

int shim_fionread(struct shim_sock *s, int fd, int *out)
{
	struct mmsghdr v;
	struct iovec iov = { NULL, 0 };
	uint64_t heads;
	bool spilling;
	int r;

	memset(&v, 0, sizeof(v));
	v.msg_hdr.msg_iov = &iov;
	v.msg_hdr.msg_iovlen = 1;
	/* A zero-length MSG_PEEK|MSG_TRUNC look at the head datagram: drops
	 * invalid frames on the way, as the kernel's first_packet_length does. */
	r = shim_xsk_gather(s, fd, &v, 1, MSG_PEEK | MSG_TRUNC, &spilling, &heads);
	if (r == 1) {
		*out = (int)v.msg_len;
		return 0;
	}
	return REAL(ioctl)(fd, FIONREAD, out);
}

uint32_t shim_xsk_pending(struct shim_sock *s)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < s->b.q_cnt; i++)
		n += ring_cons_avail(&s->b.xsk[i]->rx);
	return n;
}
