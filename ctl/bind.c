/* bind.c - a socket's binding to AF_XDP (ctl.h): its ports-map keys, a
 * slot, one AF_XDP socket per queue (pooled across bindings: closing one
 * waits for an RCU grace period, 7-20 ms measured, which made every probe
 * bind that slow), its groups, its connected 4-tuple, its spill records.
 * Lock held. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "ctl/internal.h"

#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif

/* The ports-map keys a bound socket needs (1 or 2). */
int ctl_bind_keys(struct ctl_bind *s, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct xskshim_port_key *k = s->keys;

	memset(s->keys, 0, sizeof(s->keys));
	s->key_cnt = 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -errno;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
		k[0].family = 4;
		k[0].port = a->sin_port;
		memcpy(k[0].addr, &a->sin_addr, 4);
		s->key_cnt = 1;
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
		k[0].port = a->sin6_port;
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
			k[0].family = 4;
			memcpy(k[0].addr, &a->sin6_addr.s6_addr[12], 4);
			s->key_cnt = 1;
		} else {
			k[0].family = 6;
			memcpy(k[0].addr, &a->sin6_addr, 16);
			s->key_cnt = 1;
			if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr) && !s->v6only) {
				k[1].family = 4;
				k[1].port = a->sin6_port;
				s->key_cnt = 2;
			}
		}
	} else {
		return -EAFNOSUPPORT;
	}
	s->port = ntohs(k[0].port);
	return 0;
}

/* AF_XDP sockets of closed application sockets are kept per queue and
 * handed to the next socket: close() of an AF_XDP socket waits for an RCU
 * grace period (7-20 ms measured), which made every probe bind that slow.
 * A pooled socket is out of the XSKMAP; it is drained when pooled and again
 * when reused, and readers also drop any frame whose destination port is not
 * their own, so nothing of one socket can reach another. */
static void ctl_pool_put(struct ring_xsk *x, bool reusable)
{
	uint32_t q = x->queue;

	if (reusable && C.pool_cnt[q] < CTL_XSK_POOL && !C.exiting) {
		ring_xsk_drain(x);
		C.pool[q][C.pool_cnt[q]++] = x;
	} else {
		ring_xsk_destroy(x);
	}
}

static struct ring_xsk *ctl_pool_get(uint32_t q, uint32_t rx_sz)
{
	for (uint32_t i = 0; i < C.pool_cnt[q]; i++) {
		struct ring_xsk *x = C.pool[q][i];

		if (x->rx.size < rx_sz)
			continue;
		C.pool[q][i] = C.pool[q][--C.pool_cnt[q]];
		ring_xsk_drain(x);
		ring_xsk_stats_reset(x);
		return x;
	}
	return NULL;
}

void ctl_pool_flush(void)
{
	for (uint32_t q = 0; q < XSKSHIM_QUEUE_MAX; q++)
		while (C.pool_cnt[q])
			ring_xsk_destroy(C.pool[q][--C.pool_cnt[q]]);
}

static void ctl_xsk_busy_poll(int fd)
{
	int one = 1, us = (int)C.cfg.busy_poll_us, budget = (int)C.cfg.batch;

	if (!us)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof(us)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof(budget)))
		ctl_log(CTL_LOG_WARN, "xdp", "busy poll on AF_XDP socket: %s (needs CAP_NET_ADMIN for "
			 "SO_BUSY_POLL_BUDGET)", strerror(errno));
}

/* Zero-copy mode (no fill budget): keep as many frames posted to the kernel
 * as a socket with this SO_RCVBUF could queue (1 per KiB), so a reader that
 * stalls loses no more than the kernel socket would have - unless
 * XSKSHIM_FILL_MIN says otherwise.  Copy mode needs no deep fill ring: past
 * the budget, datagrams overflow into the kernel socket itself. */
static void ctl_fill_for(int rcvbuf)
{
	if (C.cfg.fill_min_set || rcvbuf <= 0 || !C.q_cnt || !C.umem[C.q_ids[0]]->cfg.zerocopy)
		return;
	for (uint32_t i = 0; i < C.q_cnt; i++)
		ring_umem_fill_min(C.umem[C.q_ids[i]], (uint32_t)rcvbuf / 1024);
}

/* b's AF_XDP sockets out of the XSKMAP and into the pool (their
 * XDP_STATISTICS kept for the totals); the interposer drops its readiness
 * registrations of them first (hooks.xsks_leaving), so a pooled socket is in
 * no epoll set when it serves another binding. */
static void ctl_bind_xsks_free(struct ctl_bind *b)
{
	int map = C.skel ? bpf_map__fd(C.skel->maps.xsks) : -1;

	if (C.hooks.xsks_leaving)
		C.hooks.xsks_leaving(b);
	for (uint32_t i = 0; i < b->q_cnt; i++) {
		uint32_t idx = b->slot * XSKSHIM_QUEUE_MAX + b->xsk[i]->queue;
		struct xdp_statistics xs;

		if (!ring_xsk_stats(b->xsk[i], &xs))
			ctl_xstats_add(&C.closed_xs[b->xsk[i]->queue], &xs);
		if (map >= 0)
			bpf_map_delete_elem(map, &idx);
		ring_xsk_tx_flush(b->xsk[i], 200);   /* what was sent leaves first */
		ctl_pool_put(b->xsk[i], true);
		b->xsk[i] = NULL;
	}
	b->q_cnt = 0;
}

void ctl_bind_rcvbuf(int fd)
{
	int rcvbuf = 0;
	socklen_t rl = sizeof(rcvbuf);

	if (C.installed && !getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &rl))
		ctl_fill_for(rcvbuf);
}

/* SO_REUSEPORT affinity on the kernel path (bpf/xskshim.bpf.c,
 * xskshim_reuseport): before the socket joins its group in the ports map,
 * put its kernel socket into rp_socks at its slot and attach the program
 * to its SO_REUSEPORT group (attaching again for each member is harmless:
 * the group has one program, and it is this one).  Without it the kernel
 * would give a flow's spilled datagrams to the member of its own hash: the
 * socket still works, but such flows split - said once, loudly. */
static void ctl_rp_join(struct ctl_bind *s, int fd)
{
	static bool warned;
	int prog = bpf_program__fd(C.skel->progs.xskshim_reuseport);
	uint64_t v = (uint64_t)fd;
	const char *what = "REUSEPORT_SOCKARRAY update";

	if (!bpf_map_update_elem(bpf_map__fd(C.skel->maps.rp_socks), &s->slot, &v, BPF_ANY)) {
		what = "SO_ATTACH_REUSEPORT_EBPF";
		if (!setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &prog, sizeof(prog)))
			return;
	}
	ctl_log(warned ? CTL_LOG_INFO : CTL_LOG_WARN, "xdp",
		 "fd %d udp port %u: %s: %s: datagrams that take the kernel path go to the member the kernel's "
		 "hash picks, so a flow may be split between two sockets of its SO_REUSEPORT group",
		 fd, s->port, what, strerror(errno));
	warned = true;
}

/* The rx ring size of a new binding of fd.  Copy mode: every rx ring holds
 * the whole UMEM, so only the fill budget decides when datagrams overflow
 * to the kernel socket (whose SO_RCVBUF then buffers them); an rx ring
 * cannot overflow first.  Zero-copy mode has no budget: honour the
 * application's SO_RCVBUF with an rx ring holding as many datagrams as the
 * kernel would have queued (one per KiB, the truesize of a small datagram),
 * at least XSKSHIM_RX_RING, and a fill ring as deep. */
static uint32_t ctl_bind_rx_sz(int fd)
{
	const struct ring_umem *u0 = C.umem[C.q_ids[0]];
	uint32_t rx_sz = C.cfg.rx_sz;
	int rcvbuf = 0;
	socklen_t rl = sizeof(rcvbuf);

	if (!u0->cfg.zerocopy)
		rx_sz = u0->frame_cnt;
	else if (!getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &rl))
		while (rx_sz < (uint32_t)rcvbuf / 1024 && rx_sz < C.cfg.frames)
			rx_sz <<= 1;
	if (rx_sz > u0->frame_cnt)
		rx_sz = u0->frame_cnt;
	ctl_fill_for(rcvbuf);
	return rx_sz;
}

/* One AF_XDP socket per queue for b (from the pool when one fits), each in
 * the XSKMAP at b's slot, its spill record reset: it starts in step with
 * the program's count for its index, with no episode pending (one left by
 * the slot's previous binding is not b's to deliver). */
static int ctl_bind_xsks_open(struct ctl_bind *b, char *why, size_t why_sz)
{
	int map = bpf_map__fd(C.skel->maps.xsks), err;

	for (uint32_t i = 0; i < C.q_cnt; i++) {
		struct ring_umem *u = C.umem[C.q_ids[i]];
		struct ring_xsk *x = ctl_pool_get(u->queue, b->rx_sz);
		uint32_t idx = b->slot * XSKSHIM_QUEUE_MAX + u->queue;
		struct xskshim_spill *sp = &C.spill[b->slot * C.spill_nq + u->queue];

		if (!x)
			x = ring_xsk_create(u, b->rx_sz);
		if (!x) {
			err = -errno;
			snprintf(why, why_sz, "AF_XDP socket on %s queue %u: %s%s", C.cfg.iface, u->queue,
				 strerror(-err),
				 C.pinned ? " (the process dropped its privileges; the AF_XDP sockets prepared "
					    "for later binds are all in use)" : "");
			return err;
		}
		C.zerocopy = u->cfg.zerocopy;
		ctl_xsk_busy_poll(x->fd);
		b->seq0[b->q_cnt] = __atomic_load_n(&sp->seq, __ATOMIC_ACQUIRE);
		__atomic_store_n(&sp->tail, __atomic_load_n(&sp->head, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
		b->xsk[b->q_cnt++] = x;
		if (bpf_map_update_elem(map, &idx, &x->fd, BPF_ANY)) {
			err = -errno;
			snprintf(why, why_sz, "XSKMAP update: %s", strerror(-err));
			return err;
		}
	}
	return 0;
}

/* SO_REUSEPORT of fd: its group follows the program's flow hash, unless the
 * application attached its own SO_REUSEPORT program to the port. */
static int ctl_bind_reuseport(struct ctl_bind *b, int fd, char *why, size_t why_sz)
{
	int rp = 0;
	socklen_t rpl = sizeof(rp);

	if (getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &rp, &rpl))
		rp = 0;
	b->reuseport = rp != 0;
	if (!b->reuseport)
		return 0;
	if (ctl_rp_app_marked(b->port)) {
		snprintf(why, why_sz, "the SO_REUSEPORT group has the application's own "
			 "SO_ATTACH_REUSEPORT program, which the XDP program cannot follow");
		return -EOPNOTSUPP;
	}
	ctl_rp_join(b, fd);
	return 0;
}

int ctl_bind_open(struct ctl_bind *b, int fd, char *why, size_t why_sz)
{
	uint32_t k;
	int err, slot;

	err = ctl_prepare(why, why_sz);
	if (err)
		return err;
	slot = ctl_slot_alloc();
	if (slot < 0) {
		snprintf(why, why_sz, "more than %u accelerated sockets", XSKSHIM_SLOT_MAX);
		return slot;
	}
	b->slot = (uint32_t)slot;
	ctl_slot_hold(b->slot, F_RDLCK);
	b->q_cnt = 0;
	b->conn_active = false;
	ctl_locals_refresh();
	b->rx_sz = ctl_bind_rx_sz(fd);
	err = ctl_bind_xsks_open(b, why, why_sz);
	if (!err)
		err = ctl_bind_reuseport(b, fd, why, why_sz);
	if (err)
		goto out_xsks;
	for (k = 0; k < b->key_cnt; k++) {
		err = ctl_group_add(&b->keys[k], b->slot, b->reuseport);
		if (err) {
			snprintf(why, why_sz, "%s",
				 err == -ENOSPC ? "SO_REUSEPORT group larger than 16 sockets"
				 : err == -EADDRINUSE ? "the port is shared by SO_REUSEPORT and SO_REUSEADDR sockets "
							"at once, which the fast path does not model"
				 : "ports map update failed");
			goto out_groups;
		}
	}
	ctl_desc_update();
	b->open = true;
	b->next = C.binds;
	C.binds = b;
	C.bind_cnt++;
	why[0] = 0;
	return 0;

out_groups:
	while (k--)
		ctl_group_del(&b->keys[k], b->slot);
	if (b->reuseport && C.skel)
		bpf_map_delete_elem(bpf_map__fd(C.skel->maps.rp_socks), &b->slot);
out_xsks:
	ctl_bind_xsks_free(b);
	ctl_slot_hold(b->slot, F_UNLCK);
	ctl_slot_free(b->slot);
	return err;
}

void ctl_bind_connect(struct ctl_bind *s, int fd, const struct sockaddr_in6 *peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct xskshim_conn_key ck = {0};
	const uint8_t *pa = peer->sin6_addr.s6_addr;
	bool v4 = IN6_IS_ADDR_V4MAPPED(&peer->sin6_addr);

	ctl_bind_disconnect(s, false);
	if (!C.skel || getsockname(fd, (struct sockaddr *)&ss, &len))
		return;
	ck.family = v4 ? 4 : 6;
	ck.sport = peer->sin6_port;
	if (v4)
		memcpy(ck.saddr, pa + 12, 4);
	else
		memcpy(ck.saddr, pa, 16);
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
		ck.dport = a->sin_port;
		memcpy(ck.daddr, &a->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
		ck.dport = a->sin6_port;
		memcpy(ck.daddr, v4 ? &a->sin6_addr.s6_addr[12] : a->sin6_addr.s6_addr, v4 ? 4 : 16);
	}
	if (bpf_map_update_elem(bpf_map__fd(C.skel->maps.conns), &ck, &s->slot, BPF_ANY))
		return;   /* map full: stays in its group; the peer filter still holds */
	s->conn_key = ck;
	s->conn_active = true;
	C.skel->bss->conn_cnt++;
	for (uint32_t k = 0; k < s->key_cnt; k++)
		ctl_group_del(&s->keys[k], s->slot);
}

void ctl_bind_disconnect(struct ctl_bind *s, bool rejoin)
{
	if (!s->conn_active)
		return;
	s->conn_active = false;
	if (!C.skel)
		return;
	bpf_map_delete_elem(bpf_map__fd(C.skel->maps.conns), &s->conn_key);
	C.skel->bss->conn_cnt--;
	if (rejoin && s->open)
		for (uint32_t k = 0; k < s->key_cnt; k++)
			ctl_group_add(&s->keys[k], s->slot, s->reuseport);
}

static void ctl_bind_unlink(struct ctl_bind *b)
{
	for (struct ctl_bind **pp = &C.binds; *pp; pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			break;
		}
}

void ctl_bind_close(struct ctl_bind *b)
{
	if (!b->open)
		return;
	ctl_bind_disconnect(b, false);
	for (uint32_t k = 0; k < b->key_cnt; k++)
		ctl_group_del(&b->keys[k], b->slot);
	if (b->reuseport && C.skel)
		bpf_map_delete_elem(bpf_map__fd(C.skel->maps.rp_socks), &b->slot);
	ctl_bind_xsks_free(b);
	ctl_slot_hold(b->slot, F_UNLCK);
	ctl_slot_free(b->slot);
	ctl_bind_unlink(b);
	b->open = false;
	C.bind_cnt--;
	ctl_idle();
}

bool ctl_bind_held_elsewhere(const struct ctl_bind *b)
{
	if (C.hold_fd < 0 || !ctl_slot_held_elsewhere(b->slot))
		return false;
	ctl_slot_hold(b->slot, F_RDLCK);   /* (the probe may have upgraded it) */
	return true;
}

/* ---- handing queued datagrams to the kernel (ctl_bind_kill_requeue) ---- */

struct ctl_requeue {
	int fd4, fd6;           /* raw IPPROTO_RAW sockets, opened on first use */
	int err;                /* why the last send failed (errno), 0 if none */
	uint32_t sent, lost;
};

/* One frame from a ring: its IP packet, headers as received, sent to its
 * own (local) destination through a raw socket with the header included.
 * A locally addressed packet loops back through lo and is delivered by the
 * kernel's own UDP lookup, as if it had taken the kernel path on arrival:
 * the source address and port are the sender's. */
static void ctl_requeue_frame(void *arg, uint8_t *frame, uint32_t len)
{
	struct ctl_requeue *r = arg;
	struct ring_frame_info fi;
	struct sockaddr_storage ss;
	enum ring_csum_mode mode = ctl_csum_mode();
	socklen_t sl;
	uint32_t l3, iplen;
	int *fd;

	memset(&ss, 0, sizeof(ss));
	if (ring_frame_parse(frame, len, mode, &fi) < 0) {
		r->lost++;   /* the receive path would have dropped it too */
		return;
	}
	l3 = 14 + 4u * fi.vlan_cnt;
	if (mode != RING_CSUM_VERIFY) {
		/* trusted sums may be partial (a veth peer's offload): the
		 * kernel verifies what it gets from lo, so make it whole */
		uint8_t *udp = frame + fi.payload_off - 8, ph[40] = { 0 };
		uint32_t alen = fi.family == 4 ? 4 : 16, ulen = fi.payload_sz + 8;
		uint16_t ck;
		uint64_t acc;

		memcpy(ph, fi.saddr, alen);
		memcpy(ph + alen, fi.daddr, alen);
		ph[2 * alen + 1] = IPPROTO_UDP;
		ph[2 * alen + 2] = (uint8_t)(ulen >> 8);
		ph[2 * alen + 3] = (uint8_t)ulen;
		udp[6] = udp[7] = 0;
		acc = ring_csum_partial(ph, 2 * alen + 4, 0);
		acc = ring_csum_partial(udp, ulen, acc);
		ck = (uint16_t)~ring_csum_fold(acc);
		if (!ck)
			ck = 0xffff;
		memcpy(udp + 6, &ck, 2);
	}
	iplen = fi.payload_off + fi.payload_sz - l3;
	if (fi.family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, fi.daddr, 4);
		sl = sizeof(*sin);
		fd = &r->fd4;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, fi.daddr, 16);
		sl = sizeof(*sin6);
		fd = &r->fd6;
	}
	if (*fd == -1) {
		*fd = socket(fi.family == 4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
		if (*fd < 0) {
			r->err = errno;
			*fd = -2;
		}
	}
	if (*fd < 0 || sendto(*fd, frame + l3, iplen, 0, (struct sockaddr *)&ss, sl) != (ssize_t)iplen) {
		if (*fd >= 0)
			r->err = errno;
		r->lost++;
		return;
	}
	r->sent++;
}

void ctl_bind_kill_requeue(struct ctl_bind *b, uint32_t *sent, uint32_t *lost, int *err)
{
	struct ctl_requeue r = { .fd4 = -1, .fd6 = -1 };
	int map = C.skel ? bpf_map__fd(C.skel->maps.xsks) : -1;

	/* first nothing new is redirected to its rings, then what they hold
	 * goes to the kernel socket in ring order */
	for (uint32_t i = 0; i < b->q_cnt; i++) {
		uint32_t idx = b->slot * XSKSHIM_QUEUE_MAX + b->xsk[i]->queue;

		if (map >= 0)
			bpf_map_delete_elem(map, &idx);
	}
	for (uint32_t i = 0; i < b->q_cnt; i++)
		ring_xsk_drain_to(b->xsk[i], ctl_requeue_frame, &r);
	if (r.fd4 >= 0)
		close(r.fd4);
	if (r.fd6 >= 0)
		close(r.fd6);
	*sent = r.sent;
	*lost = r.lost;
	*err = r.err;
}

void ctl_bind_kill(struct ctl_bind *b)
{
	int map = C.skel ? bpf_map__fd(C.skel->maps.xsks) : -1;

	for (uint32_t i = 0; i < b->q_cnt; i++) {
		uint32_t idx = b->slot * XSKSHIM_QUEUE_MAX + b->xsk[i]->queue;

		if (map >= 0)
			bpf_map_delete_elem(map, &idx);
		ring_xsk_drain(b->xsk[i]);
	}
}

void ctl_bind_forget(struct ctl_bind *b)
{
	if (!b->open)
		return;
	/* (a conns entry stays: its slot's empty XSKMAP entries pass) */
	b->conn_active = false;
	for (uint32_t i = 0; i < b->q_cnt; i++) {
		ring_xsk_forget(b->xsk[i]);
		b->xsk[i] = NULL;
	}
	b->q_cnt = 0;
	ctl_slot_hold(b->slot, F_UNLCK);
	ctl_bind_unlink(b);
	b->open = false;
	C.bind_cnt--;
}



struct xskshim_spill *ctl_bind_spill(const struct ctl_bind *s, uint32_t qi)
{
	if (s->xsk[qi]->umem->cfg.zerocopy)
		return NULL;
	return &C.spill[s->slot * C.spill_nq + s->xsk[qi]->queue];
}
