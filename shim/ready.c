/* ready.c - readiness for accelerated sockets.  An accelerated socket is
 * readable when its kernel socket or any of its AF_XDP sockets is, so every
 * readiness call is answered by the kernel itself over an expanded set:
 *   poll/ppoll   the application's pollfds plus each socket's AF_XDP fds,
 *                whose POLLIN is folded back into the owner's revents;
 *   select       converted to the same expanded ppoll;
 *   epoll        the AF_XDP fds are registered beside the application fd,
 *                with the same events and the same data, and epoll_wait
 *                merges the duplicate events this can produce.
 * Sockets that are not accelerated cost one table load per fd. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shim/shim.h"

#define SHIM_POLL_STACK 256

/* epoll sets holding an AF_XDP shadow registration (bitmap by epfd). */
static uint8_t shim_ep_shadow[SHIM_FD_MAX / 8];

static bool shim_ep_has_shadow(int ep)
{
	return ep >= 0 && ep < SHIM_FD_MAX &&
	       (__atomic_load_n(&shim_ep_shadow[ep / 8], __ATOMIC_RELAXED) >> (ep % 8) & 1);
}

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
			extra += s->q_cnt;
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
		for (uint32_t q = 0; q < s->q_cnt && j < total; q++) {
			big[j] = (struct pollfd){ .fd = s->xsk[q]->fd, .events = POLLIN };
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
		shim_xdp_check_iface();   /* idle: a good moment to look */
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

/* Apply op for the socket's AF_XDP fds on one epoll set. */
static void shim_ep_apply(struct shim_sock *s, int ep, int op, const struct epoll_event *ev)
{
	struct epoll_event xe;

	if (op != EPOLL_CTL_DEL && !(ev->events & EPOLLIN))
		op = EPOLL_CTL_DEL;
	if (op != EPOLL_CTL_DEL) {
		xe.events = ev->events & (EPOLLIN | EPOLLRDNORM | EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE |
					  EPOLLWAKEUP);
		xe.data = ev->data;
	}
	for (uint32_t q = 0; q < s->q_cnt; q++) {
		int fd = s->xsk[q]->fd;

		if (op == EPOLL_CTL_DEL) {
			REAL(epoll_ctl)(ep, EPOLL_CTL_DEL, fd, NULL);
		} else if (REAL(epoll_ctl)(ep, op, fd, &xe) && errno == (op == EPOLL_CTL_ADD ? EEXIST : ENOENT)) {
			REAL(epoll_ctl)(ep, op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &xe);
		}
	}
	if (op != EPOLL_CTL_DEL && ep >= 0 && ep < SHIM_FD_MAX)
		__atomic_or_fetch(&shim_ep_shadow[ep / 8], (uint8_t)(1u << (ep % 8)), __ATOMIC_RELAXED);
}

/* EPOLLONESHOT.  The kernel disarms only the registration that fired, but
 * an accelerated socket is several registrations (its own fd, one AF_XDP fd
 * per queue): the others would still report the socket once each.  So when
 * a one-shot event of an accelerated socket is returned, the shim disarms
 * the rest (EPOLL_CTL_MOD to EPOLLONESHOT alone); the application's re-arming
 * EPOLL_CTL_MOD re-arms all of them (shim_ep_apply).  The application fd of
 * each one-shot registration is remembered here, under shim_g.lock. */
#define SHIM_EP_ONESHOT_MAX 1024
static struct { int ep, fd; const struct shim_sock *s; } shim_ep_os[SHIM_EP_ONESHOT_MAX];
static uint32_t shim_ep_os_cnt;
static uint8_t shim_ep_oneshot[SHIM_FD_MAX / 8];   /* epoll sets with one-shot shadows */

static void shim_ep_os_note(int ep, int fd, const struct shim_sock *s, bool keep)
{
	uint32_t i;

	for (i = 0; i < shim_ep_os_cnt; i++)
		if (shim_ep_os[i].ep == ep && shim_ep_os[i].s == s)
			break;
	if (!keep) {
		if (i < shim_ep_os_cnt)
			shim_ep_os[i] = shim_ep_os[--shim_ep_os_cnt];
		return;
	}
	if (i == shim_ep_os_cnt) {
		if (shim_ep_os_cnt == SHIM_EP_ONESHOT_MAX)
			return;   /* then only the AF_XDP registrations are disarmed */
		shim_ep_os_cnt++;
	}
	shim_ep_os[i].ep = ep;
	shim_ep_os[i].fd = fd;
	shim_ep_os[i].s = s;
	if (ep >= 0 && ep < SHIM_FD_MAX)
		__atomic_or_fetch(&shim_ep_oneshot[ep / 8], (uint8_t)(1u << (ep % 8)), __ATOMIC_RELAXED);
}

/* One-shot events were returned from ep: disarm the sibling registrations
 * of every accelerated socket they belong to (matched by data, as the
 * events carry nothing else). */
static void shim_ep_oneshot_fired(int ep, const struct epoll_event *e, int r)
{
	struct shim_sock *s;

	pthread_mutex_lock(&shim_g.lock);
	for (s = shim_g.socks; s; s = s->next) {
		if (s->state != SHIM_SOCK_ACCEL)
			continue;
		for (uint32_t k = 0; k < s->ep_cnt; k++) {
			struct epoll_event off = { .events = EPOLLONESHOT, .data = s->ep[k].ev.data };
			int i;

			if (s->ep[k].epfd != ep || !(s->ep[k].ev.events & EPOLLONESHOT))
				continue;
			for (i = 0; i < r; i++)
				if (e[i].data.u64 == s->ep[k].ev.data.u64)
					break;
			if (i == r)
				continue;
			for (uint32_t q = 0; q < s->q_cnt; q++)
				REAL(epoll_ctl)(ep, EPOLL_CTL_MOD, s->xsk[q]->fd, &off);
			for (uint32_t j = 0; j < shim_ep_os_cnt; j++)
				if (shim_ep_os[j].ep == ep && shim_ep_os[j].s == s)
					REAL(epoll_ctl)(ep, EPOLL_CTL_MOD, shim_ep_os[j].fd, &off);
		}
	}
	pthread_mutex_unlock(&shim_g.lock);
}

int shim_epoll_ctl(int ep, int op, int fd, struct epoll_event *e)
{
	struct shim_sock *s = shim_sock_get_any(fd);
	int r = REAL(epoll_ctl)(ep, op, fd, e), saved = errno;
	uint32_t i;

	if (!s)
		return r;
	if (r == 0) {
		pthread_mutex_lock(&shim_g.lock);
		for (i = 0; i < s->ep_cnt; i++)
			if (s->ep[i].epfd == ep)
				break;
		if (op == EPOLL_CTL_DEL) {
			if (i < s->ep_cnt)
				s->ep[i] = s->ep[--s->ep_cnt];
		} else if (e) {
			if (i == s->ep_cnt && s->ep_cnt < SHIM_EP_MAX)
				s->ep_cnt++;
			else if (i == s->ep_cnt)
				s->ep_overflow = true;   /* its AF_XDP sockets are not reused */
			if (i < s->ep_cnt) {
				s->ep[i].epfd = ep;
				s->ep[i].ev = *e;
			}
		}
		if (s->state == SHIM_SOCK_ACCEL)
			shim_ep_apply(s, ep, op, e);
		shim_ep_os_note(ep, fd, s, op != EPOLL_CTL_DEL && e && (e->events & EPOLLONESHOT));
		pthread_mutex_unlock(&shim_g.lock);
	}
	shim_sock_put(s);
	errno = saved;
	return r;
}

void shim_ready_forget(struct shim_sock *s)
{
	for (uint32_t i = 0; i < s->ep_cnt; i++)
		shim_ep_apply(s, s->ep[i].epfd, EPOLL_CTL_DEL, &s->ep[i].ev);
}

void shim_ready_accel(struct shim_sock *s)
{
	for (uint32_t i = 0; i < s->ep_cnt; i++)
		shim_ep_apply(s, s->ep[i].epfd, EPOLL_CTL_ADD, &s->ep[i].ev);
}

static void shim_ep_hint_all(void)
{
	struct shim_sock *s;

	pthread_mutex_lock(&shim_g.lock);
	for (s = shim_g.socks; s; s = s->next)
		__atomic_store_n(&s->kern_hint, true, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&shim_g.lock);
}

/* Merge events that carry the same data: the kernel socket and an AF_XDP
 * socket of one application socket both reported it. */
static int shim_ep_merge(struct epoll_event *e, int r)
{
	int out = 0;

	for (int i = 0; i < r; i++) {
		int k;

		for (k = 0; k < out; k++)
			if (e[k].data.u64 == e[i].data.u64)
				break;
		if (k < out)
			e[k].events |= e[i].events;
		else
			e[out++] = e[i];
	}
	return out;
}

int shim_epoll_wait(int ep, struct epoll_event *e, int n, const struct timespec *t, const sigset_t *ss,
		    int ms, int which)
{
	int r;

	if (which == 0)
		r = REAL(epoll_wait)(ep, e, n, ms);
	else if (which == 1)
		r = REAL(epoll_pwait)(ep, e, n, ms, ss);
	else
		r = REAL(epoll_pwait2)(ep, e, n, t, ss);
	if (r == 0 && shim_ep_has_shadow(ep))
		shim_xdp_check_iface();
	if (r > 0 && shim_ep_has_shadow(ep)) {
		/* epoll cannot tell us which fd fired: let every accelerated
		 * socket's next receive ask its kernel socket once */
		shim_ep_hint_all();
		if (r > 1)
			r = shim_ep_merge(e, r);
		if (ep < SHIM_FD_MAX && (__atomic_load_n(&shim_ep_oneshot[ep / 8], __ATOMIC_RELAXED) >> (ep % 8) & 1)) {
			int saved = errno;

			shim_ep_oneshot_fired(ep, e, r);
			errno = saved;
		}
	}
	return r;
}
