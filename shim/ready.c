/* ready.c - readiness for accelerated sockets.  An accelerated socket is
 * readable when its kernel socket or any of its AF_XDP sockets is, so every
 * readiness call is answered by the kernel itself over an expanded set:
 *   poll/ppoll   the application's pollfds plus each socket's AF_XDP fds,
 *                whose POLLIN is folded back into the owner's revents;
 *   select       converted to the same expanded ppoll;
 *   epoll        an inner epoll set per registration (see below).
 * Sockets that are not accelerated cost one table load per fd.
 *
 * epoll: one inner set per registration
 * -------------------------------------
 * When the application registers an accelerated socket for input in its
 * epoll set, the shim registers in its place an inner epoll fd of its own
 * holding the socket's kernel fd (with the events the application asked
 * for) and its AF_XDP fds (EPOLLIN), all level-triggered; the outer entry
 * carries the application's flags (EPOLLET, EPOLLONESHOT, EPOLLWAKEUP) and a
 * tag naming the registration (struct shim_epreg) as its data.  epoll_wait
 * turns each tagged event back into the application's data and events.
 * Why this and not the AF_XDP fds registered beside the application fd
 * with the same data (the earlier design): one registration gives exactly
 * one event, so nothing is merged by data (two sockets registered with the
 * same data - 0, or one pointer - each keep their event), EPOLLONESHOT
 * disarms the whole socket in the kernel (no table of sibling
 * registrations to disarm and re-arm, which outlived fd reuse), edge-
 * triggered sets get an edge per wake-up of any member (the inner set
 * wakes its own waiters on every event), and epoll_wait takes no lock and
 * walks no socket list: a tagged event is decoded from a table entry
 * checked by generation.  The kernel removes the outer entry when the
 * inner epoll file is released, that is when every process holding it
 * (fork children included) has closed the socket, as it does for a
 * socket's own registration.  The price: an inner fd per registration, and
 * events beyond EPOLLIN (EPOLLOUT, errors, hang-up) cost one
 * epoll_wait(inner, 0) when reported.
 *
 * Edge-triggered registrations (not one-shot, not exclusive: what mio/tokio
 * and so quinn use, with EPOLLOUT and IP_RECVERR) are split: the inner set
 * holds the AF_XDP fds alone, and the kernel fd is an entry of its own in
 * the application's set, with the application's events and a tag marked
 * SHIM_EPREG_KTAG.  A kernel-socket wake-up then arrives with its exact
 * mask (and says whether it holds data: no kernel read on the next receive
 * unless it does), a ring's as EPOLLIN plus the kernel socket's other bits
 * from a cache that the kernel socket's own events keep, and no event needs
 * a look at the other side.  The cache is trusted only while it says
 * "writable" or nothing, and only until something that can take a bit away
 * without a wake-up happened in any process (a send, setsockopt, connect:
 * shim_rx.kstate_gen); else the ring event asks poll(fd, 0) and caches
 * that.  Both entries' events in one epoll_wait are merged into one (within
 * its first SHIM_EP_MERGE events).  What differs: the two may come in two
 * consecutive calls when maxevents cuts between them (one extra edge); a
 * send the shim does not see (sendfile, io_uring) that fills the send
 * buffer leaves EPOLLOUT in the cache until the next kernel-socket event.
 * What differs from the kernel in general:
 * EPOLLEXCLUSIVE is not allowed on an epoll fd, so such a registration
 * wakes every waiter ("one or more" in the kernel's words; its EINVAL
 * cases are kept); an unconnected socket without IP_RECVERR reports
 * EPOLLIN alone (the kernel adds EPOLLHUP after shutdown(SHUT_RDWR));
 * registrations made after a fork, in a set shared with the other process,
 * are not known to the other process (its epoll_wait drops their events);
 * the inner fds are close-on-exec, so a registration made before exec is
 * gone after it (a split one's kernel-fd entry stays in an epoll set that
 * is not close-on-exec, its events carrying the shim's tag as data). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shim/shim.h"

#define SHIM_POLL_STACK 256

/* The kernel socket of fd reported readiness: its next receive asks it. */
static void shim_kern_hint(int fd)
{
	struct shim_sock *s = shim_sock_get(fd);

	if (s) {
		__atomic_store_n(&s->kern_hint, true, __ATOMIC_RELAXED);
		shim_sock_put(s);
	}
}

int shim_poll(struct pollfd *f, nfds_t n, const struct timespec *t, const sigset_t *ss, bool is_ppoll, int ms)
{
	struct pollfd stack[SHIM_POLL_STACK], *big = stack;
	uint32_t owner_stack[SHIM_POLL_STACK], *owner = owner_stack;
	nfds_t extra = 0, total, i, j;
	int r, saved;

	for (i = 0; i < n; i++) {
		struct shim_sock *s;

		if (!(f[i].events & (POLLIN | POLLRDNORM)) || !shim_fd_maybe(f[i].fd))
			continue;
		s = shim_sock_get(f[i].fd);
		if (s) {
			extra += s->b.q_cnt;
			shim_sock_put(s);
		}
	}
	if (!extra)
		return is_ppoll ? REAL(ppoll)(f, n, t, ss) : REAL(poll)(f, n, ms);

	total = n + extra + XSKSHIM_QUEUE_MAX;   /* room if a socket grew meanwhile */
	if (total > SHIM_POLL_STACK) {
		big = malloc(total * sizeof(*big));
		owner = malloc(total * sizeof(*owner));
		if (!big || !owner) {
			free(big);
			free(owner);
			errno = ENOMEM;
			return -1;
		}
	}
	memcpy(big, f, n * sizeof(*f));
	j = n;
	for (i = 0; i < n; i++) {
		struct shim_sock *s;

		if (!(f[i].events & (POLLIN | POLLRDNORM)) || !shim_fd_maybe(f[i].fd))
			continue;
		s = shim_sock_get(f[i].fd);
		if (!s)
			continue;
		shim_rx_lock(s);
		for (uint32_t q = 0; q < s->b.q_cnt && j < total; q++) {
			big[j] = (struct pollfd){ .fd = s->b.xsk[q]->fd, .events = POLLIN };
			owner[j++] = (uint32_t)i;
		}
		shim_rx_unlock(s);
		shim_sock_put(s);
	}
	total = j;
	r = is_ppoll ? REAL(ppoll)(big, total, t, ss) : REAL(poll)(big, total, ms);
	saved = errno;
	if (r > 0) {
		r = 0;
		for (i = 0; i < n; i++)
			if (big[i].revents && shim_fd_maybe(f[i].fd))
				shim_kern_hint(f[i].fd);
		for (j = n; j < total; j++)
			if (big[j].revents & POLLIN)
				big[owner[j]].revents |= (short)(f[owner[j]].events & (POLLIN | POLLRDNORM));
		for (i = 0; i < n; i++) {
			f[i].revents = big[i].revents;
			r += f[i].revents != 0;
		}
	} else if (r == 0) {
		for (i = 0; i < n; i++)
			f[i].revents = 0;
		ctl_check_iface();   /* idle: a good moment to look */
	}
	if (big != stack) {
		free(big);
		free(owner);
	}
	errno = saved;
	return r;
}

#define SHIM_POLLIN_SET  (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR)
#define SHIM_POLLOUT_SET (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR)
#define SHIM_POLLEX_SET  (POLLPRI)

int shim_select(int n, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *t, const sigset_t *ss,
		struct timeval *tv_update)
{
	struct pollfd p[FD_SETSIZE];
	nfds_t cnt = 0;
	struct timespec start;
	int r, found = 0;

	if (n < 0 || n > FD_SETSIZE) {
		errno = EINVAL;
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (int fd = 0; fd < n; fd++) {
		short ev = 0;

		if (rd && FD_ISSET(fd, rd))
			ev |= POLLIN;
		if (wr && FD_ISSET(fd, wr))
			ev |= POLLOUT;
		if (ex && FD_ISSET(fd, ex))
			ev |= POLLPRI;
		if (ev)
			p[cnt++] = (struct pollfd){ .fd = fd, .events = ev };
	}
	r = shim_poll(p, cnt, t, ss, true, 0);
	if (r < 0)
		return r;
	for (nfds_t i = 0; i < cnt; i++)
		if (p[i].revents & POLLNVAL) {
			errno = EBADF;
			return -1;
		}
	if (rd)
		FD_ZERO(rd);
	if (wr)
		FD_ZERO(wr);
	if (ex)
		FD_ZERO(ex);
	for (nfds_t i = 0; i < cnt; i++) {
		short re = p[i].revents;

		if ((p[i].events & POLLIN) && (re & SHIM_POLLIN_SET)) {
			FD_SET(p[i].fd, rd);
			found++;
		}
		if ((p[i].events & POLLOUT) && (re & SHIM_POLLOUT_SET)) {
			FD_SET(p[i].fd, wr);
			found++;
		}
		if ((p[i].events & POLLPRI) && (re & SHIM_POLLEX_SET)) {
			FD_SET(p[i].fd, ex);
			found++;
		}
	}
	if (tv_update && t) {
		/* Linux select() reports the time left */
		struct timespec now;
		int64_t left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (t->tv_sec - (now.tv_sec - start.tv_sec)) * 1000000000LL + t->tv_nsec -
		       (now.tv_nsec - start.tv_nsec);
		if (left < 0)
			left = 0;
		tv_update->tv_sec = left / 1000000000;
		tv_update->tv_usec = (left % 1000000000) / 1000;
	}
	return found;
}

/* ---- epoll -------------------------------------------------------------- */

#define SHIM_EPREG_MAX   4096u          /* registrations of accelerated sockets */
#define SHIM_EPREG_MAGIC 0x58534b00ull  /* "XSK": top 32 bits of a tag */
#define SHIM_EPREG_IN    (EPOLLIN | EPOLLRDNORM)
#define SHIM_EPREG_FLAGS (EPOLLET | EPOLLONESHOT | EPOLLWAKEUP | EPOLLEXCLUSIVE)
/* the kernel's EPOLLEXCLUSIVE_OK_BITS */
#define SHIM_EPREG_EXCL_OK (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE)
#define SHIM_EPREG_KERNEL 0ull          /* inner data of the kernel fd (AF_XDP fds: 1 + queue slot) */
#define SHIM_EPREG_KTAG  0x8000u        /* in a tag's index field: the kernel fd's own entry */
/* kernel-socket bits a cached mask may say without a look (split
 * registrations): writable, and nothing else beyond input */
#define SHIM_EPREG_OUT   (EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND)
#define SHIM_EPREG_KOK   (1u << 28)     /* in kmask: the cached mask is set */
#define SHIM_EP_MERGE    64             /* events of a call merged by registration */

/* One registration of a tracked socket in an application epoll set.
 * Written under shim_g.lock; read lock-free by epoll_wait, which checks
 * `gen` (odd while live) before and after.  Entries are never freed, only
 * recycled, so a stale tag reads a live-or-free entry, never unmapped
 * memory. */
struct shim_epreg {
	uint32_t gen;              /* odd: live; the tag carries its low 16 bits */
	int      ep;               /* the application's epoll fd */
	int      fd;               /* the fd number it registered the socket under */
	int      ifd;              /* inner epoll fd, or -1: the fd itself is registered */
	uint32_t events;           /* as the application asked */
	uint64_t data;             /* as the application gave */
	struct shim_sock *s;
	uint32_t next;             /* next of the same socket + 1, 0: none */
	bool     split;            /* the kernel fd is an entry of its own in
				    * ep (tag | SHIM_EPREG_KTAG), the inner set
				    * holds the AF_XDP fds alone */
	uint64_t kmask;            /* split: the kernel socket's events beyond
				    * input as last seen | SHIM_EPREG_KOK (low
				    * 32 bits), rx->kstate_gen then (high 32);
				    * 0: unknown */
};

static struct shim_epreg shim_epregs[SHIM_EPREG_MAX];
static uint32_t shim_epreg_free = 0;    /* free list head + 1 (0: use shim_epreg_used) */
static uint32_t shim_epreg_used;        /* entries ever handed out */
/* epoll sets holding a tagged entry (bitmap by epfd): others are not scanned */
static uint8_t shim_ep_tagged[SHIM_FD_MAX / 8];

static inline bool shim_ep_is_tagged(int ep)
{
	return ep >= 0 && ep < SHIM_FD_MAX &&
	       (__atomic_load_n(&shim_ep_tagged[ep / 8], __ATOMIC_RELAXED) >> (ep % 8) & 1);
}

static inline uint64_t shim_epreg_tag(const struct shim_epreg *r)
{
	return SHIM_EPREG_MAGIC << 32 | (uint64_t)(r->gen & 0xffff) << 16 | (uint64_t)(r - shim_epregs);
}

/* Lock held. */
static struct shim_epreg *shim_epreg_alloc(struct shim_sock *s, int ep, int fd)
{
	struct shim_epreg *r;

	if (shim_epreg_free) {
		r = &shim_epregs[shim_epreg_free - 1];
		shim_epreg_free = r->next;
	} else if (shim_epreg_used < SHIM_EPREG_MAX) {
		r = &shim_epregs[shim_epreg_used++];
	} else {
		return NULL;
	}
	r->ep = ep;
	r->fd = fd;
	__atomic_store_n(&r->ifd, -1, __ATOMIC_RELAXED);
	__atomic_store_n(&r->split, false, __ATOMIC_RELAXED);
	__atomic_store_n(&r->kmask, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&r->s, s, __ATOMIC_RELAXED);
	r->next = s->epreg_head;
	s->epreg_head = (uint32_t)(r - shim_epregs) + 1;
	__atomic_store_n(&r->gen, r->gen + 1, __ATOMIC_RELEASE);   /* odd: live */
	return r;
}

/* Unlink r from its socket, close its inner set (which takes the outer
 * entry with it once no other process holds it) and recycle it.  Lock held. */
static void shim_epreg_free_one(struct shim_epreg *r)
{
	struct shim_sock *s = r->s;
	uint32_t *pp = &s->epreg_head, me = (uint32_t)(r - shim_epregs) + 1;

	while (*pp && *pp != me)
		pp = &shim_epregs[*pp - 1].next;
	if (*pp)
		*pp = r->next;
	__atomic_store_n(&r->gen, r->gen + 1, __ATOMIC_RELEASE);   /* even: free */
	if (r->ifd >= 0)
		close(r->ifd);   /* the shim's own fd (shim.h): forwarder, record dropped */
	__atomic_store_n(&r->ifd, -1, __ATOMIC_RELAXED);
	r->next = shim_epreg_free;
	shim_epreg_free = me;
}

static struct shim_epreg *shim_epreg_find(struct shim_sock *s, int ep, int fd)
{
	for (uint32_t i = s->epreg_head; i; i = shim_epregs[i - 1].next)
		if (shim_epregs[i - 1].ep == ep && shim_epregs[i - 1].fd == fd)
			return &shim_epregs[i - 1];
	return NULL;
}

/* The AF_XDP fds of r's socket in (add) or out of (!add) its inner set,
 * if `events` (the registration's) ask for input. */
static void shim_epreg_xsks(struct shim_epreg *r, uint32_t events, bool add)
{
	struct shim_sock *s = r->s;

	if (r->ifd < 0 || !(events & SHIM_EPREG_IN))
		return;
	for (uint32_t q = 0; q < s->b.q_cnt; q++) {
		struct epoll_event xe = { .events = EPOLLIN, .data.u64 = 1 + q };

		if (add)
			REAL(epoll_ctl)(r->ifd, EPOLL_CTL_ADD, s->b.xsk[q]->fd, &xe);
		else
			REAL(epoll_ctl)(r->ifd, EPOLL_CTL_DEL, s->b.xsk[q]->fd, NULL);
	}
}

/* The outer entry's event for r: the application's flags, our tag. */
static struct epoll_event shim_epreg_outer(const struct shim_epreg *r)
{
	return (struct epoll_event){
		.events = EPOLLIN | (r->events & (EPOLLET | EPOLLONESHOT | EPOLLWAKEUP)),
		.data.u64 = shim_epreg_tag(r),
	};
}

/* The kernel fd's events in the inner set: what was asked, level-triggered. */
static int shim_epreg_inner_kernel(struct shim_epreg *r, int op)
{
	struct epoll_event ke = { .events = r->events & ~(uint32_t)SHIM_EPREG_FLAGS, .data.u64 = SHIM_EPREG_KERNEL };

	return REAL(epoll_ctl)(r->ifd, op, r->fd, &ke);
}

/* Whether a registration with these events is split (struct shim_epreg):
 * edge-triggered for input, neither one-shot (one entry must disarm the
 * whole socket) nor exclusive.  Then a wake-up of the kernel socket and one
 * of a ring arrive as different events, so neither needs a look at the
 * other: the kernel socket's event carries its exact mask, a ring's event
 * adds the kernel socket's other bits from the cache. */
static bool shim_epreg_splits(uint32_t events)
{
	return (events & EPOLLET) && !(events & (EPOLLONESHOT | EPOLLEXCLUSIVE)) && (events & SHIM_EPREG_IN);
}

/* The kernel fd's own entry of a split registration in ep (op ADD, MOD). */
static int shim_epreg_kernel_entry(struct shim_epreg *r, int ep, int op)
{
	struct epoll_event ke = {
		.events = r->events & ~(uint32_t)EPOLLEXCLUSIVE,
		.data.u64 = shim_epreg_tag(r) | SHIM_EPREG_KTAG,
	};

	return REAL(epoll_ctl)(ep, op, r->fd, &ke);
}

/* Move r from the application fd registered directly to an inner set
 * (the socket became accelerated, or was registered while accelerated).
 * 0 or -errno; on failure r stays as it was.  Lock held. */
static int shim_epreg_to_inner(struct shim_epreg *r, bool fd_registered)
{
	struct epoll_event oe;
	int err;

	int ifd = epoll_create1(EPOLL_CLOEXEC);
	bool split = shim_epreg_splits(r->events);

	if (ifd < 0)
		return -errno;
	__atomic_store_n(&r->ifd, ifd, __ATOMIC_RELAXED);
	__atomic_store_n(&r->kmask, 0, __ATOMIC_RELAXED);
	if (!split && shim_epreg_inner_kernel(r, EPOLL_CTL_ADD))
		goto fail;
	shim_epreg_xsks(r, r->events, true);
	oe = shim_epreg_outer(r);
	if (REAL(epoll_ctl)(r->ep, EPOLL_CTL_ADD, r->ifd, &oe))
		goto fail;
	if (split) {
		/* the fd's own entry: the application's one changes its data
		 * to our tag */
		if (shim_epreg_kernel_entry(r, r->ep, fd_registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD)) {
			err = -errno;
			REAL(epoll_ctl)(r->ep, EPOLL_CTL_DEL, r->ifd, NULL);
			errno = -err;
			goto fail;
		}
	} else if (fd_registered) {
		REAL(epoll_ctl)(r->ep, EPOLL_CTL_DEL, r->fd, NULL);
	}
	__atomic_store_n(&r->split, split, __ATOMIC_RELEASE);
	if (r->ep < SHIM_FD_MAX)
		__atomic_or_fetch(&shim_ep_tagged[r->ep / 8], (uint8_t)(1u << (r->ep % 8)), __ATOMIC_RELAXED);
	return 0;
fail:
	err = -errno;
	close(ifd);
	__atomic_store_n(&r->ifd, -1, __ATOMIC_RELAXED);
	return err;
}

static int shim_ep_ret(int err)
{
	if (!err)
		return 0;
	errno = -err;
	return -1;
}

/* ADD of an accelerated socket for input: through an inner set. */
static int shim_ep_add_inner(struct shim_sock *s, int ep, int fd, const struct epoll_event *e)
{
	struct shim_epreg *r = shim_epreg_find(s, ep, fd);
	int err;

	if (r) {
		/* A registration we know of may be stale (its set was closed
		 * and the number reused): ask the kernel whether the entry is
		 * there, by adding it again. */
		struct epoll_event oe = shim_epreg_outer(r);
		int pfd = r->ifd >= 0 ? r->ifd : fd;

		if (REAL(epoll_ctl)(ep, EPOLL_CTL_ADD, pfd, r->ifd >= 0 ? &oe : (struct epoll_event *)e)) {
			if (errno == EEXIST)
				return shim_ep_ret(-EEXIST);
		} else {
			REAL(epoll_ctl)(ep, EPOLL_CTL_DEL, pfd, NULL);
		}
		shim_epreg_free_one(r);
	}
	r = shim_epreg_alloc(s, ep, fd);
	if (!r)
		return REAL(epoll_ctl)(ep, EPOLL_CTL_ADD, fd, (struct epoll_event *)e);   /* table full: plain */
	__atomic_store_n(&r->events, e->events, __ATOMIC_RELAXED);
	__atomic_store_n(&r->data, e->data.u64, __ATOMIC_RELAXED);
	err = shim_epreg_to_inner(r, false);
	if (err)
		shim_epreg_free_one(r);
	return shim_ep_ret(err);
}

/* MOD of a registration through an inner set. */
/* MOD of a registration through an inner set, asked through epoll fd ep
 * (r->ep, or another fd of the same epoll file: alias).  0 or -errno. */
static int shim_ep_mod_inner(struct shim_epreg *r, int ep, const struct epoll_event *e, bool alias)
{
	struct epoll_event oe;
	uint32_t old = r->events;
	uint64_t old_data = r->data;
	bool split;

	if (old & EPOLLEXCLUSIVE)
		return -EINVAL;
	__atomic_store_n(&r->events, e->events, __ATOMIC_RELAXED);
	__atomic_store_n(&r->data, e->data.u64, __ATOMIC_RELAXED);
	oe = shim_epreg_outer(r);
	if (REAL(epoll_ctl)(ep, EPOLL_CTL_MOD, r->ifd, &oe)) {
		int err = -errno;

		__atomic_store_n(&r->events, old, __ATOMIC_RELAXED);
		__atomic_store_n(&r->data, old_data, __ATOMIC_RELAXED);
		if (!alias && (err == -ENOENT || err == -EBADF))   /* the set went away */
			shim_epreg_free_one(r);
		return err;
	}
	r->ep = ep;   /* the number that works now (the one it was made under may be closed) */
	__atomic_store_n(&r->kmask, 0, __ATOMIC_RELAXED);
	split = shim_epreg_splits(e->events);
	if (r->split && split) {
		shim_epreg_kernel_entry(r, ep, EPOLL_CTL_MOD);
	} else if (r->split) {
		/* into the inner set: one entry again (one-shot, level) */
		REAL(epoll_ctl)(ep, EPOLL_CTL_DEL, r->fd, NULL);
		__atomic_store_n(&r->split, false, __ATOMIC_RELEASE);
		shim_epreg_inner_kernel(r, EPOLL_CTL_ADD);
	} else if (split && !shim_epreg_kernel_entry(r, ep, EPOLL_CTL_ADD)) {
		shim_epreg_inner_kernel(r, EPOLL_CTL_DEL);
		__atomic_store_n(&r->split, true, __ATOMIC_RELEASE);
	} else {
		shim_epreg_inner_kernel(r, EPOLL_CTL_MOD);   /* (a failed split stays one entry) */
	}
	if ((old ^ e->events) & SHIM_EPREG_IN) {
		shim_epreg_xsks(r, old, false);
		shim_epreg_xsks(r, e->events, true);
	}
	return 0;
}

/* MOD or DEL through another fd of the epoll file a registration was made
 * through (a dup: tokio's mio registers through Registry::try_clone and may
 * change it through either): its inner set is in `ep` exactly when ep is
 * that file, so the operation on it succeeds there and fails with ENOENT
 * anywhere else - no probing.  1 with *ret set (0 or -1/errno): done; 0:
 * no registration of fd behind ep. */
static int shim_ep_alias_op(struct shim_sock *s, int ep, int fd, int op, const struct epoll_event *e, int *ret)
{
	for (uint32_t i = s->epreg_head; i; i = shim_epregs[i - 1].next) {
		struct shim_epreg *r = &shim_epregs[i - 1];
		int err;

		if (r->fd != fd || r->ep == ep || r->ifd < 0 || (r->events & EPOLLEXCLUSIVE))
			continue;
		if (op == EPOLL_CTL_DEL) {
			if (REAL(epoll_ctl)(ep, EPOLL_CTL_DEL, r->ifd, NULL))
				continue;
			if (r->split)
				REAL(epoll_ctl)(ep, EPOLL_CTL_DEL, r->fd, NULL);
			shim_epreg_free_one(r);
			*ret = 0;
			return 1;
		}
		err = shim_ep_mod_inner(r, ep, e, true);
		if (err == -ENOENT)
			continue;
		*ret = shim_ep_ret(err);
		return 1;
	}
	return 0;
}

int shim_epoll_ctl(int ep, int op, int fd, struct epoll_event *e)
{
	struct shim_sock *s = shim_sock_get_any(fd);
	struct shim_epreg *r;
	int ret;

	if (!s)
		return REAL(epoll_ctl)(ep, op, fd, e);
	if (op != EPOLL_CTL_DEL && !e) {
		shim_sock_put(s);
		errno = EFAULT;
		return -1;
	}
	if (op != EPOLL_CTL_DEL && (e->events & EPOLLEXCLUSIVE) &&
	    (op == EPOLL_CTL_MOD || (e->events & ~(uint32_t)SHIM_EPREG_EXCL_OK))) {
		shim_sock_put(s);
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&shim_g.lock);
	r = shim_epreg_find(s, ep, fd);
	if (!r && op != EPOLL_CTL_ADD && shim_ep_alias_op(s, ep, fd, op, e, &ret)) {
		;   /* done through the epoll file's other fd */
	} else if (op == EPOLL_CTL_ADD && shim_sock_accel(s) && (e->events & SHIM_EPREG_IN)) {
		ret = shim_ep_add_inner(s, ep, fd, e);
	} else if (op == EPOLL_CTL_MOD && r && r->ifd >= 0) {
		ret = shim_ep_ret(shim_ep_mod_inner(r, ep, e, false));
	} else if (op == EPOLL_CTL_DEL && r && r->ifd >= 0) {
		ret = REAL(epoll_ctl)(ep, EPOLL_CTL_DEL, r->ifd, NULL);
		if (ret && errno == EBADF)
			ret = REAL(epoll_ctl)(ep, EPOLL_CTL_DEL, fd, NULL);   /* the kernel's own answer */
		else if (r->split)
			REAL(epoll_ctl)(ep, EPOLL_CTL_DEL, fd, NULL);
		shim_epreg_free_one(r);
	} else {
		/* the fd itself: a socket on the kernel path, or not for
		 * input; remembered so that acceleration can move it */
		ret = REAL(epoll_ctl)(ep, op, fd, e);
		if (!ret) {
			if (op == EPOLL_CTL_DEL) {
				if (r)
					shim_epreg_free_one(r);
			} else if (r || (r = shim_epreg_alloc(s, ep, fd))) {
				__atomic_store_n(&r->events, e->events, __ATOMIC_RELAXED);
				__atomic_store_n(&r->data, e->data.u64, __ATOMIC_RELAXED);
				/* an accelerated socket now registered for input */
				if (shim_sock_accel(s) && (e->events & SHIM_EPREG_IN))
					shim_epreg_to_inner(r, true);
			}
		}
	}
	pthread_mutex_unlock(&shim_g.lock);
	{
		int saved = errno;

		shim_sock_put(s);
		errno = saved;
	}
	return ret;
}

/* The socket's AF_XDP sockets are about to go (or be reused by another
 * socket): out of every inner set.  Lock held. */
void shim_ready_forget(struct shim_sock *s)
{
	for (uint32_t i = s->epreg_head; i; i = shim_epregs[i - 1].next)
		shim_epreg_xsks(&shim_epregs[i - 1], shim_epregs[i - 1].events, false);
}

/* The socket became accelerated: its registrations for input move to inner
 * sets holding its new AF_XDP fds.  Lock held. */
void shim_ready_accel(struct shim_sock *s)
{
	for (uint32_t i = s->epreg_head; i; i = shim_epregs[i - 1].next) {
		struct shim_epreg *r = &shim_epregs[i - 1];

		if (r->ifd >= 0)
			shim_epreg_xsks(r, r->events, true);
		else if (r->events & SHIM_EPREG_IN)
			shim_epreg_to_inner(r, true);   /* on failure: stays direct, kernel path readiness */
	}
}

/* The socket is gone (its last fd closed): so are its registrations.
 * Lock held. */
void shim_ready_sock_gone(struct shim_sock *s)
{
	while (s->epreg_head)
		shim_epreg_free_one(&shim_epregs[s->epreg_head - 1]);
}

/* The kernel socket's events beyond input for a split registration's ring
 * event: from the cache while it holds (it was set since the last thing
 * that can take a bit away without a wake-up, and says writable or
 * nothing: an error or hang-up is looked at every time, since reading the
 * error or SO_ERROR clears it unseen), else looked at with poll and cached.
 * Bits that appear always wake the kernel socket, whose own entry then
 * brings its exact mask. */
static uint32_t shim_epreg_kernel_bits(struct shim_epreg *r, struct shim_sock *s, int fd, uint32_t want)
{
	struct shim_rx *rx = __atomic_load_n(&s->rx, __ATOMIC_RELAXED);
	uint32_t gen = __atomic_load_n(&rx->kstate_gen, __ATOMIC_ACQUIRE);
	uint64_t km = __atomic_load_n(&r->kmask, __ATOMIC_RELAXED);
	struct pollfd p = { .fd = fd, .events = (short)(want & ~(uint32_t)SHIM_EPREG_FLAGS) };

	if ((km & SHIM_EPREG_KOK) && (uint32_t)(km >> 32) == gen && !(km & ~(uint64_t)(SHIM_EPREG_OUT | SHIM_EPREG_KOK) & 0xffffffffu))
		return (uint32_t)km & SHIM_EPREG_OUT;
	if (REAL(poll)(&p, 1, 0) < 0)
		return 0;
	__atomic_store_n(&r->kmask, (uint64_t)gen << 32 | SHIM_EPREG_KOK | ((uint16_t)p.revents & ~(uint32_t)SHIM_EPREG_IN),
			 __ATOMIC_RELAXED);
	if (p.revents & POLLIN)
		__atomic_store_n(&s->kern_hint, true, __ATOMIC_RELAXED);
	return (uint16_t)p.revents;
}

/* Whether s's AF_XDP rx rings hold a frame now (rx lock: the rings may be
 * going away with the socket's acceleration). */
static bool shim_epreg_rings_ready(struct shim_sock *s)
{
	bool ready;

	shim_rx_lock(s);
	ready = shim_sock_accel(s) && shim_rx_valid(s) && shim_xsk_pending(s);
	shim_rx_unlock(s);
	return ready;
}

/* A kernel-socket event of a split registration: its mask is exact; it is
 * cached for the ring events, and the rings' data added (their own event
 * may have been reported before: the kernel reports EPOLLIN with every
 * edge while the socket is readable). */
static uint32_t shim_epreg_kernel_event(struct shim_epreg *r, struct shim_sock *s, uint32_t kev, uint32_t want)
{
	struct shim_rx *rx = __atomic_load_n(&s->rx, __ATOMIC_RELAXED);
	uint32_t gen = __atomic_load_n(&rx->kstate_gen, __ATOMIC_ACQUIRE);

	__atomic_store_n(&r->kmask, (uint64_t)gen << 32 | SHIM_EPREG_KOK | (kev & ~(uint32_t)SHIM_EPREG_IN),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&s->kern_hint, (kev & EPOLLIN) != 0, __ATOMIC_RELAXED);
	if ((kev & SHIM_EPREG_IN) || !(want & SHIM_EPREG_IN))
		return kev;
	if (shim_epreg_rings_ready(s))
		kev |= SHIM_EPREG_IN;
	return kev;
}

/* Events of a tagged entry as the application's registration would have
 * reported them; 0 if none (the entry went away or became unready).  kev:
 * the events the kernel reported for the entry.  *merge: the registration's
 * index + 1 when it is split (its two entries' events of one call are one
 * event), else 0.  Reads r lock-free: gen is checked before and after, and
 * a change drops the event (the registration was deleted or its fd closed
 * meanwhile, which the kernel may also answer either way). */
static uint32_t shim_epreg_events(uint64_t tag, uint32_t kev, uint64_t *data, uint32_t *merge)
{
	uint32_t idx = (uint32_t)(tag & 0xffff) & ~SHIM_EPREG_KTAG, gen, want, ev = 0;
	bool ktag = tag & SHIM_EPREG_KTAG, split;
	struct shim_epreg *r;
	struct shim_sock *s;
	int ifd, fd;

	*merge = 0;
	if (idx >= SHIM_EPREG_MAX)
		return 0;
	r = &shim_epregs[idx];
	gen = __atomic_load_n(&r->gen, __ATOMIC_ACQUIRE);
	if (!(gen & 1) || (gen & 0xffff) != ((tag >> 16) & 0xffff))
		return 0;
	want = __atomic_load_n(&r->events, __ATOMIC_RELAXED);
	*data = __atomic_load_n(&r->data, __ATOMIC_RELAXED);
	s = __atomic_load_n(&r->s, __ATOMIC_RELAXED);
	ifd = __atomic_load_n(&r->ifd, __ATOMIC_RELAXED);
	fd = r->fd;
	split = __atomic_load_n(&r->split, __ATOMIC_ACQUIRE);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&r->gen, __ATOMIC_RELAXED) != gen)
		return 0;
	/* shim_sock memory is never freed: a store to a recycled one is a
	 * spare kernel read at worst */
	if (ktag || split) {
		*merge = idx + 1;
		if (ktag)
			ev = shim_epreg_kernel_event(r, s, kev, want);
		else
			ev = SHIM_EPREG_IN | shim_epreg_kernel_bits(r, s, fd, want);
		if (__atomic_load_n(&r->gen, __ATOMIC_RELAXED) != gen)
			return 0;   /* fd may have been closed and reused meanwhile */
		return ev & (want | EPOLLERR | EPOLLHUP);
	}
	if (!(want & ~(uint32_t)(SHIM_EPREG_IN | SHIM_EPREG_FLAGS)) &&
	    !__atomic_load_n(&s->connected, __ATOMIC_RELAXED) && !__atomic_load_n(&s->recverr, __ATOMIC_RELAXED)) {
		/* input only, and no error can be pending: readable is all.
		 * The kernel socket made it readable unless the rings hold
		 * frames; then the receive that follows takes those and
		 * leaves the kernel socket to a dry ring or its
		 * SHIM_KERNEL_EVERY turn, without a zero-byte peek at it
		 * per wake-up (knotd's epoll_wait + recvmmsg(10) loop made
		 * 0.67 such peeks per wake-up, nearly all EAGAIN).  A
		 * receive the rings give nothing asks the kernel anyway. */
		if (!shim_epreg_rings_ready(s))
			__atomic_store_n(&s->kern_hint, true, __ATOMIC_RELAXED);
		return want & SHIM_EPREG_IN;
	}
	{
		struct epoll_event in[1 + XSKSHIM_QUEUE_MAX];
		int n = REAL(epoll_wait)(ifd, in, 1 + XSKSHIM_QUEUE_MAX, 0);
		bool kin = false;

		for (int i = 0; i < n; i++) {
			if (in[i].data.u64 == SHIM_EPREG_KERNEL) {
				ev |= in[i].events;
				kin = in[i].events & EPOLLIN;
			} else {
				ev |= EPOLLIN | EPOLLRDNORM;
			}
		}
		__atomic_store_n(&s->kern_hint, kin, __ATOMIC_RELAXED);
	}
	return ev & (want | EPOLLERR | EPOLLHUP);
}

int shim_epoll_wait(int ep, struct epoll_event *e, int n, const struct timespec *t, const sigset_t *ss,
		    int ms, int which)
{
	int r, out;

	if (which == 0)
		r = REAL(epoll_wait)(ep, e, n, ms);
	else if (which == 1)
		r = REAL(epoll_pwait)(ep, e, n, ms, ss);
	else
		r = REAL(epoll_pwait2)(ep, e, n, t, ss);
	if (r < 0)
		return r;
	if (!shim_ep_is_tagged(ep)) {
		/* Registrations may have been made through another fd of the
		 * same epoll file - a dup, as tokio's mio registers through
		 * Registry::try_clone() (F_DUPFD_CLOEXEC) and waits on the
		 * original - so a set never tagged under this number still
		 * gets tags: learn the number from the first one seen.  Free
		 * while no socket was ever registered. */
		int i;

		if (!__atomic_load_n(&shim_epreg_used, __ATOMIC_RELAXED) || ep < 0 || ep >= SHIM_FD_MAX)
			return r;
		for (i = 0; i < r && (e[i].data.u64 >> 32) != SHIM_EPREG_MAGIC; i++)
			;
		if (i == r)
			return r;
		__atomic_or_fetch(&shim_ep_tagged[ep / 8], (uint8_t)(1u << (ep % 8)), __ATOMIC_RELAXED);
	}
	if (r == 0) {
		ctl_check_iface();   /* idle: a good moment to look */
		return 0;
	}
	{
		/* registration index + 1 of a split registration's event at
		 * each of the first SHIM_EP_MERGE places (0: none) */
		uint32_t at[SHIM_EP_MERGE];
		int saved = errno;

		for (int i = out = 0; i < r; i++) {
			uint64_t d = e[i].data.u64, data;
			uint32_t ev, merge;
			int j;

			if ((d >> 32) != SHIM_EPREG_MAGIC) {
				if (out < SHIM_EP_MERGE)
					at[out] = 0;
				e[out++] = e[i];
				continue;
			}
			ev = shim_epreg_events(d, e[i].events, &data, &merge);
			if (!ev)
				continue;
			for (j = 0; merge && j < out && j < SHIM_EP_MERGE && at[j] != merge; j++)
				;
			if (merge && j < out && j < SHIM_EP_MERGE) {
				e[j].events |= ev;   /* the other entry's event of this registration */
				continue;
			}
			if (out < SHIM_EP_MERGE)
				at[out] = merge;
			e[out].events = ev;
			e[out].data.u64 = data;
			out++;
		}
		errno = saved;
	}
	return out;
}
