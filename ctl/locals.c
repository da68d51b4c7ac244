/* locals.c - which destinations are local (ctl.h).  The program's
 * `locals` map holds the namespace's addresses (weak host model: every
 * interface's) and IPv4 broadcast addresses, the XDP interface's own also in
 * its .bss fast path; refreshed at install, on every binding and by a
 * thread that follows RTM_NEWADDR/RTM_DELADDR, so a removed address stops
 * matching at once (the kernel drops datagrams to it) and an added one is
 * accelerated without waiting for the next bind.  The thread owns its two
 * fds (the netlink socket and an eventfd that stops it) and closes them
 * when it ends; uninstall only signals it, because uninstall runs with the
 * control-plane lock held, which the thread itself takes. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ifaddrs.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "ctl/internal.h"

#define CTL_LOCALS_SCAN 1024

struct ctl_watch {
	int nl_fd, stop_fd;
};

/* The XDP interface's own addresses (own[j] marks them among want[]) into
 * the program's .bss fast path.  The refresh calls it before removing stale
 * `locals` entries (so a removed address leaves the fast path first) and
 * again after adding new ones. */
static void ctl_fast_locals(const struct xskshim_local_key *want, const __u32 *kind, const bool *own,
				 uint32_t n)
{
	volatile __u32 *f4 = C.skel->bss->fast_local4;
	volatile __u64 (*f6)[2] = C.skel->bss->fast_local6;
	uint32_t n4 = 0, n6 = 0;

	for (uint32_t j = 0; j < n; j++) {
		if (!own[j] || kind[j] != XSKSHIM_LOCAL_ADDR)
			continue;
		if (want[j].family == 4 && n4 < XSKSHIM_FAST_LOCALS) {
			__u32 a4;

			memcpy(&a4, want[j].addr, 4);
			f4[n4++] = a4;
		} else if (want[j].family == 6 && n6 < XSKSHIM_FAST_LOCALS) {
			__u64 w[2];

			memcpy(w, want[j].addr, 16);
			f6[n6][0] = w[0];
			f6[n6][1] = w[1];
			n6++;
		}
	}
	while (n4 < XSKSHIM_FAST_LOCALS)
		f4[n4++] = 0;
	while (n6 < XSKSHIM_FAST_LOCALS) {
		f6[n6][0] = f6[n6][1] = 0;
		n6++;
	}
}

static int ctl_local_key_cmp(const struct xskshim_local_key *a, const struct xskshim_local_key *b)
{
	return a->prefixlen != b->prefixlen || a->family != b->family || memcmp(a->addr, b->addr, 16);
}

void ctl_locals_refresh(void)
{
	static struct xskshim_local_key want[CTL_LOCALS_SCAN];
	static __u32 kind[CTL_LOCALS_SCAN];
	static bool own[CTL_LOCALS_SCAN];
	struct xskshim_local_key k, next, stale[64];
	struct ifaddrs *ifa, *i;
	uint32_t n = 0, nstale = 0;
	int map;

	if (!C.skel || getifaddrs(&ifa))
		return;
	map = bpf_map__fd(C.skel->maps.locals);
	for (i = ifa; i && n + 2 <= CTL_LOCALS_SCAN; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		memset(&want[n], 0, sizeof(want[n]));
		own[n] = own[n + 1] = !strcmp(i->ifa_name, C.cfg.iface);
		if (i->ifa_addr->sa_family == AF_INET) {
			want[n].family = 4;
			want[n].prefixlen = XSKSHIM_LOCAL_PREFIXLEN(32);
			memcpy(want[n].addr, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
			kind[n++] = XSKSHIM_LOCAL_ADDR;
			/* (without a brd, glibc reports the address itself) */
			if ((i->ifa_flags & IFF_BROADCAST) && i->ifa_broadaddr &&
			    i->ifa_broadaddr->sa_family == AF_INET &&
			    ((struct sockaddr_in *)i->ifa_broadaddr)->sin_addr.s_addr !=
				    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr &&
			    ((struct sockaddr_in *)i->ifa_broadaddr)->sin_addr.s_addr != 0) {
				want[n] = want[n - 1];
				memcpy(want[n].addr, &((struct sockaddr_in *)i->ifa_broadaddr)->sin_addr, 4);
				kind[n++] = XSKSHIM_LOCAL_BCAST;
			}
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			want[n].family = 6;
			want[n].prefixlen = XSKSHIM_LOCAL_PREFIXLEN(128);
			memcpy(want[n].addr, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
			kind[n++] = XSKSHIM_LOCAL_ADDR;
		}
	}
	freeifaddrs(ifa);
	/* addresses that went away must stop matching */
	for (int err = bpf_map_get_next_key(map, NULL, &next); !err && nstale < 64;
	     err = bpf_map_get_next_key(map, &k, &next)) {
		uint32_t j;

		k = next;
		for (j = 0; j < n && ctl_local_key_cmp(&k, &want[j]); j++)
			;
		if (j == n)
			stale[nstale++] = k;
	}
	/* fast entries go first (on removal) and come last (on addition), so
	 * a fast hit is always also a `locals` hit */
	ctl_fast_locals(want, kind, own, n);
	for (uint32_t j = 0; j < nstale; j++)
		bpf_map_delete_elem(map, &stale[j]);
	for (uint32_t j = 0; j < n; j++)
		bpf_map_update_elem(map, &want[j], &kind[j], BPF_ANY);
	ctl_fast_locals(want, kind, own, n);
}

static void *ctl_watch_thread(void *p)
{
	struct ctl_watch *w = p;
	struct pollfd pf[2] = { { .fd = w->nl_fd, .events = POLLIN }, { .fd = w->stop_fd, .events = POLLIN } };
	char buf[16384];
	for (;;) {
		bool changed = false;

		int pr = poll(pf, 2, __atomic_load_n(&C.tick_wanted, __ATOMIC_RELAXED) ? 200 : -1);

		if (pr < 0 && errno != EINTR)
			break;
		if (pf[1].revents)
			break;
		if (pr == 0) {   /* orphans waiting for their other holders to go */
			pthread_mutex_lock(C.lock);
			if (C.installed && C.watch == w)
				C.hooks.tick();
			pthread_mutex_unlock(C.lock);
			continue;
		}
		for (;;) {   /* drain; an overflow (ENOBUFS) just means "changed" */
			ssize_t r = recv(w->nl_fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (r > 0 || (r < 0 && errno == ENOBUFS))
				changed = true;
			else if (r < 0 && errno == EINTR)
				continue;
			else
				break;
		}
		if (!changed)
			continue;
		pthread_mutex_lock(C.lock);
		if (C.installed && C.watch == w) {
			ctl_locals_refresh();
			ctl_log(CTL_LOG_DEBUG, "xdp", "addresses changed: local address list refreshed");
		}
		pthread_mutex_unlock(C.lock);
	}
	close(w->nl_fd);
	close(w->stop_fd);
	free(w);
	return NULL;
}

/* Lock held. */
void ctl_watch_start(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR };
	struct ctl_watch *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	pthread_t t;

	if (!w)
		return;
	w->nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	w->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (w->nl_fd < 0 || w->stop_fd < 0 || bind(w->nl_fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto fail;
	/* the application's signals are not for this thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, NULL, ctl_watch_thread, w)) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto fail;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_detach(t);
	C.watch = w;
	return;
fail:
	ctl_log(CTL_LOG_INFO, "xdp", "no address watch (%s): local addresses refresh at each bind only",
		 strerror(errno));
	if (w->nl_fd >= 0)
		close(w->nl_fd);
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	free(w);
}

/* Lock held. */
void ctl_watch_stop(void)
{
	uint64_t one = 1;

	if (!C.watch)
		return;
	if (write(C.watch->stop_fd, &one, sizeof(one)) < 0)
		ctl_log(CTL_LOG_INFO, "xdp", "address watch stop: %s", strerror(errno));
	C.watch = NULL;
}

/* fork child: the watch thread stayed in the parent; its fds did not. */
RING_FORK_TEXT void ctl_watch_atfork_child(void)
{
	if (C.watch) {
		close(C.watch->nl_fd);
		close(C.watch->stop_fd);
		C.watch = NULL;   /* (its memory belongs to the parent's thread) */
	}
}
