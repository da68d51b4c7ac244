/* xdp.c - the process-wide XDP install (program, bpf_link, one UMEM per
 * queue), XSKMAP slots and SO_REUSEPORT groups, and per-socket AF_XDP
 * sockets.  Everything here runs under shim_g.lock unless noted. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/net_tstamp.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/eventfd.h>
#include <signal.h>
#include <ifaddrs.h>
#include <net/if_arp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <uthash.h>

#include "shim/shim.h"
#include "xskshim.skel.h"

#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif

/* One SO_REUSEPORT group (or single socket) per ports-map key. */
struct shim_group {
	struct xskshim_port_key key;
	struct xskshim_port_val val;
	bool   reuseport;           /* its first member had SO_REUSEPORT */
	/* Sockets sharing the port through SO_REUSEADDR only: the kernel gives
	 * every datagram to the most recently bound one, so the map holds just
	 * that one and the others wait here, newest last. */
	uint32_t shared[XSKSHIM_GROUP_MAX];
	uint32_t shared_cnt;
	UT_hash_handle hh;
};

#define SHIM_XSK_POOL 8   /* idle AF_XDP sockets kept per queue */

static struct {
	bool     installed;
	int      ifindex;
	struct xskshim *skel;
	int      link_fd;
	const char *mode;           /* "native" or "skb" */
	bool     zerocopy;
	enum ring_csum_mode csum;
	uint32_t q_cnt;             /* queues with a UMEM */
	uint32_t q_ids[XSKSHIM_QUEUE_MAX];
	struct ring_umem *umem[XSKSHIM_QUEUE_MAX]; /* indexed by queue id */
	uint8_t  slots[XSKSHIM_SLOT_MAX / 8];
	struct shim_group *groups;
	int64_t  linger_deadline;   /* CLOCK_MONOTONIC ns; see shim_xdp_idle */
	uint64_t ctrs_base[XSKSHIM_CTR_CNT]; /* counters of earlier attachments */
	struct ring_xsk *pool[XSKSHIM_QUEUE_MAX][SHIM_XSK_POOL]; /* see shim_xsk_pool_put */
	uint32_t pool_cnt[XSKSHIM_QUEUE_MAX];
	struct xdp_statistics closed_xs[XSKSHIM_QUEUE_MAX]; /* of closed sockets */
	bool     linger_running;
	bool     pinned;            /* prepared for a privilege drop: kept until exit */
	char     desc[128];
	int      hold_fd;           /* memfd: POSIX read lock on byte `slot` per holder (shim.h "fork") */
	struct shim_sock *orphans;  /* closed by the owner, still held by another process */
	/* Forks under way (shared by every process of the install): between
	 * fork() returning in the parent and the child's handler taking its
	 * slot locks, the child holds the sockets without a lock to show it. */
	struct { uint32_t in_flight; int64_t last_ns; } *gate;
} X = { .link_fd = -1, .hold_fd = -1 };

static void shim_xdp_reap(void);

static int shim_xdp_ctrs_now(uint64_t out[XSKSHIM_CTR_CNT]);
static void shim_xsk_pool_flush(void);

/* ---- capabilities, for messages that name what is missing ------------- */

static uint64_t shim_cap_eff(void)
{
	char line[256];
	uint64_t v = ~0ull;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "CapEff:", 7))
			v = strtoull(line + 7, NULL, 16);
	fclose(f);
	return v;
}

/* Text naming the missing capabilities among those a step needs. */
static const char *shim_caps_missing(bool bpf, bool net_admin, bool net_raw, bool ipc_lock)
{
	static __thread char buf[128];
	uint64_t c = shim_cap_eff();
	size_t n = 0;

	buf[0] = 0;
#define CAPCHK(want, bit, name)                                                   \
	if ((want) && !(c & (1ull << (bit))))                                     \
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "," : "", name);
	CAPCHK(bpf && !(c & (1ull << 21)), 39, "CAP_BPF");
	CAPCHK(net_admin, 12, "CAP_NET_ADMIN");
	CAPCHK(net_raw, 13, "CAP_NET_RAW");
	CAPCHK(ipc_lock, 14, "CAP_IPC_LOCK");
#undef CAPCHK
	return n ? buf : NULL;
}

/* ---- interface facts --------------------------------------------------- */

static int shim_ethtool(const char *ifname, void *data)
{
	struct ifreq ifr = {0};
	int fd, err = 0;

	fd = REAL(socket)(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = data;
	if (REAL(ioctl)(fd, SIOCETHTOOL, &ifr))
		err = -errno;
	REAL(close)(fd);
	return err;
}

static uint32_t shim_rx_queue_cnt(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	char path[128];
	struct dirent *d;
	uint32_t n = 0;
	DIR *dir;

	if (!shim_ethtool(ifname, &ch) && ch.rx_count + ch.combined_count > 0)
		return ch.rx_count + ch.combined_count;
	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
	dir = opendir(path);
	if (dir) {
		while ((d = readdir(dir)))
			if (!strncmp(d->d_name, "rx-", 3))
				n++;
		closedir(dir);
	}
	return n ? n : 1;
}

/* veth and loopback hand us CHECKSUM_PARTIAL frames whose UDP checksum on
 * the "wire" is only the pseudo-header sum; see docs/platform.md. */
static bool shim_iface_partial_csum(const char *ifname)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };

	if (!strcmp(ifname, "lo"))
		return true;
	if (shim_ethtool(ifname, &di))
		return false;
	return !strcmp(di.driver, "veth") || !strcmp(di.driver, "loopback");
}

/* ---- what the kernel would deliver (see bpf/xskshim_bpf.h) -------------- */

/* Load-time checks: frames for another MAC (PACKET_OTHERHOST), tags of VLANs
 * the interface has no device for, and wildcard matches for non-local
 * destinations all go to the kernel, which drops them. */
static void shim_xdp_configure(void)
{
	struct ifreq ifr = {0};
	char line[256];
	uint32_t flags = XSKSHIM_CFG_CHECK_LOCAL | XSKSHIM_CFG_CHECK_VLAN;
	FILE *f;
	int fd;

	fd = REAL(socket)(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", shim_g.cfg.iface);
		if (!REAL(ioctl)(fd, SIOCGIFHWADDR, &ifr) && ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER) {
			memcpy((void *)X.skel->rodata->cfg_mac, ifr.ifr_hwaddr.sa_data, 6);
			flags |= XSKSHIM_CFG_CHECK_MAC;
		}
		REAL(close)(fd);
	}
	/* "eth0.100 | 100 | eth0": the VLAN devices on our interface */
	f = fopen("/proc/net/vlan/config", "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char dev[64], parent[64];
			unsigned int vid;

			if (sscanf(line, "%63s | %u | %63s", dev, &vid, parent) == 3 && vid < 4096 &&
			    !strcmp(parent, shim_g.cfg.iface))
				((volatile __u64 *)X.skel->rodata->cfg_vlan_ids)[vid / 64] |= 1ull << (vid % 64);
		}
		fclose(f);
	}
	X.skel->rodata->cfg_flags = flags;
}

/* Fill `locals` with the namespace's addresses (weak host model: every
 * interface's) and IPv4 broadcast addresses.  Called at install, on every
 * accelerated bind and by the address watch thread on every address change
 * (without the thread an address added in between is only slower - its
 * datagrams take the kernel path until the next bind - but a removed one
 * would still match).  Lock held (static buffers). */
#define SHIM_LOCALS_SCAN 1024

/* The XDP interface's own addresses (own[j] marks them among want[]) into
 * the program's .bss fast path.  The refresh calls it before removing stale
 * `locals` entries (so a removed address leaves the fast path first) and
 * again after adding new ones. */
static void shim_xdp_fast_locals(const struct xskshim_local_key *want, const __u32 *kind, const bool *own,
				 uint32_t n)
{
	volatile __u32 *f4 = X.skel->bss->fast_local4;
	volatile __u64 (*f6)[2] = X.skel->bss->fast_local6;
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

static int shim_local_key_cmp(const struct xskshim_local_key *a, const struct xskshim_local_key *b)
{
	return a->prefixlen != b->prefixlen || a->family != b->family || memcmp(a->addr, b->addr, 16);
}

static void shim_xdp_locals_refresh(void)
{
	static struct xskshim_local_key want[SHIM_LOCALS_SCAN];
	static __u32 kind[SHIM_LOCALS_SCAN];
	static bool own[SHIM_LOCALS_SCAN];
	struct xskshim_local_key k, next, stale[64];
	struct ifaddrs *ifa, *i;
	uint32_t n = 0, nstale = 0;
	int map;

	if (!X.skel || getifaddrs(&ifa))
		return;
	map = bpf_map__fd(X.skel->maps.locals);
	for (i = ifa; i && n + 2 <= SHIM_LOCALS_SCAN; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		memset(&want[n], 0, sizeof(want[n]));
		own[n] = own[n + 1] = !strcmp(i->ifa_name, shim_g.cfg.iface);
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
		for (j = 0; j < n && shim_local_key_cmp(&k, &want[j]); j++)
			;
		if (j == n)
			stale[nstale++] = k;
	}
	/* fast entries go first (on removal) and come last (on addition), so
	 * a fast hit is always also a `locals` hit */
	shim_xdp_fast_locals(want, kind, own, n);
	for (uint32_t j = 0; j < nstale; j++)
		bpf_map_delete_elem(map, &stale[j]);
	for (uint32_t j = 0; j < n; j++)
		bpf_map_update_elem(map, &want[j], &kind[j], BPF_ANY);
	shim_xdp_fast_locals(want, kind, own, n);
}

/* ---- address changes ----------------------------------------------------
 * While installed, a thread listens for RTM_NEWADDR/RTM_DELADDR (netlink
 * groups IPv4/IPv6 IFADDR) and refreshes `locals` under shim_g.lock, so a
 * removed address stops matching at once (the kernel drops datagrams to it)
 * and an added one is accelerated without waiting for the next bind.  The
 * thread owns its two fds (the netlink socket and an eventfd that stops it)
 * and closes them when it ends; uninstall only signals it, because it runs
 * with shim_g.lock held, which the thread itself takes. */
struct shim_watch {
	int nl_fd, stop_fd;
};
static struct shim_watch *shim_watch_cur;

static void *shim_watch_thread(void *p)
{
	struct shim_watch *w = p;
	struct pollfd pf[2] = { { .fd = w->nl_fd, .events = POLLIN }, { .fd = w->stop_fd, .events = POLLIN } };
	char buf[16384];

	shim_enter();
	for (;;) {
		bool changed = false;

		int pr = REAL(poll)(pf, 2, __atomic_load_n(&X.orphans, __ATOMIC_RELAXED) ? 200 : -1);

		if (pr < 0 && errno != EINTR)
			break;
		if (pf[1].revents)
			break;
		if (pr == 0) {   /* orphans waiting for their other holders to go */
			pthread_mutex_lock(&shim_g.lock);
			if (X.installed && shim_watch_cur == w)
				shim_xdp_reap();
			pthread_mutex_unlock(&shim_g.lock);
			continue;
		}
		for (;;) {   /* drain; an overflow (ENOBUFS) just means "changed" */
			ssize_t r = REAL(recv)(w->nl_fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (r > 0 || (r < 0 && errno == ENOBUFS))
				changed = true;
			else if (r < 0 && errno == EINTR)
				continue;
			else
				break;
		}
		if (!changed)
			continue;
		pthread_mutex_lock(&shim_g.lock);
		if (X.installed && shim_watch_cur == w) {
			shim_xdp_locals_refresh();
			shim_log(SHIM_LOG_DEBUG, "xdp", "addresses changed: local address list refreshed");
		}
		pthread_mutex_unlock(&shim_g.lock);
	}
	REAL(close)(w->nl_fd);
	REAL(close)(w->stop_fd);
	free(w);
	shim_leave();
	return NULL;
}

/* Lock held. */
static void shim_watch_start(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR };
	struct shim_watch *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	pthread_t t;

	if (!w)
		return;
	w->nl_fd = REAL(socket)(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	w->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (w->nl_fd < 0 || w->stop_fd < 0 || REAL(bind)(w->nl_fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto fail;
	/* the application's signals are not for this thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, NULL, shim_watch_thread, w)) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto fail;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_detach(t);
	shim_watch_cur = w;
	return;
fail:
	shim_log(SHIM_LOG_INFO, "xdp", "no address watch (%s): local addresses refresh at each bind only",
		 strerror(errno));
	if (w->nl_fd >= 0)
		REAL(close)(w->nl_fd);
	if (w->stop_fd >= 0)
		REAL(close)(w->stop_fd);
	free(w);
}

/* Lock held. */
static void shim_watch_stop(void)
{
	uint64_t one = 1;

	if (!shim_watch_cur)
		return;
	if (write(shim_watch_cur->stop_fd, &one, sizeof(one)) < 0)
		shim_log(SHIM_LOG_INFO, "xdp", "address watch stop: %s", strerror(errno));
	shim_watch_cur = NULL;
}

/* ---- install / uninstall ----------------------------------------------- */

static void shim_xdp_uninstall(void)
{
	uint32_t i;

	if (X.link_fd >= 0)
		REAL(close)(X.link_fd);
	X.link_fd = -1;
	if (X.hold_fd >= 0)
		REAL(close)(X.hold_fd);
	X.hold_fd = -1;
	shim_watch_stop();
	shim_send_uninstall();
	shim_xsk_pool_flush();
	for (i = 0; i < X.q_cnt; i++) {
		ring_umem_budget(X.umem[X.q_ids[i]], NULL, 0);
		ring_umem_destroy(X.umem[X.q_ids[i]]);
		X.umem[X.q_ids[i]] = NULL;
	}
	X.q_cnt = 0;
	if (X.skel) {
		uint64_t c[XSKSHIM_CTR_CNT];

		/* keep the counters of this attachment for the totals */
		if (!shim_xdp_ctrs_now(c))
			for (int k = 0; k < XSKSHIM_CTR_CNT; k++)
				X.ctrs_base[k] += c[k];
		xskshim__destroy(X.skel);
	}
	X.skel = NULL;
	X.installed = false;
	shim_stats_global_publish();
	shim_log(SHIM_LOG_INFO, "xdp", "detached from %s", shim_g.cfg.iface);
}

static int shim_xdp_foreign(int ifindex, char *why, size_t why_sz)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_prog_info info = {0};
	uint32_t len = sizeof(info), id;
	int fd, err;

	err = bpf_xdp_query(ifindex, 0, &q);
	if (err) {
		snprintf(why, why_sz, "cannot query XDP state of %s: %s%s%s", shim_g.cfg.iface,
			 strerror(-err), err == -EPERM ? "; missing " : "",
			 err == -EPERM ? "CAP_NET_ADMIN" : "");
		return err;
	}
	id = q.prog_id ? q.prog_id : q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id ? q.skb_prog_id : q.hw_prog_id;
	if (!id)
		return 0;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd >= 0) {
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			info.name[0] = 0;
		REAL(close)(fd);
	}
	snprintf(why, why_sz, "%s XDP program id %u '%s' is already attached to %s; not replacing it",
		 strcmp(info.name, XSKSHIM_PROG_NAME) ? "a foreign" : "another xskshim process's", id,
		 info.name, shim_g.cfg.iface);
	return -EBUSY;
}

static int shim_xdp_attach(char *why, size_t why_sz)
{
	static const struct { enum shim_mode m; uint32_t flag; const char *name; } try[] = {
		{ SHIM_MODE_NATIVE, XDP_FLAGS_DRV_MODE, "native" },
		{ SHIM_MODE_SKB, XDP_FLAGS_SKB_MODE, "skb" },
	};
	int prog_fd = bpf_program__fd(X.skel->progs.xskshim_xdp), fd = -1, err = -EINVAL;
	char first[160] = "";

	for (size_t i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_link_create_opts, o, .flags = try[i].flag);

		if (shim_g.cfg.mode != SHIM_MODE_AUTO && shim_g.cfg.mode != try[i].m)
			continue;
		fd = bpf_link_create(prog_fd, X.ifindex, BPF_XDP, &o);
		if (fd >= 0) {
			X.link_fd = fd;
			X.mode = try[i].name;
			if (first[0])
				shim_log(SHIM_LOG_INFO, "xdp", "%s; using skb mode", first);
			return 0;
		}
		err = fd;
		snprintf(first, sizeof(first), "%s attach to %s failed: %s", try[i].name,
			 shim_g.cfg.iface, strerror(-err));
	}
	const char *caps = shim_caps_missing(true, true, false, false);
	snprintf(why, why_sz, "XDP %s%s%s", first, caps && err == -EPERM ? "; missing " : "",
		 caps && err == -EPERM ? caps : "");
	return err;
}

int shim_xdp_prepare(char *why, size_t why_sz)
{
	struct ring_umem_cfg ucfg;
	uint32_t nq, q;
	int err;

	if (X.installed)
		return 0;
	if (!shim_g.cfg.active) {
		snprintf(why, why_sz, "%s", shim_g.cfg.why);
		return -EINVAL;
	}
	X.ifindex = (int)if_nametoindex(shim_g.cfg.iface);
	if (!X.ifindex) {
		snprintf(why, why_sz, "XSKSHIM_IFACE=%s: no such interface in this network namespace",
			 shim_g.cfg.iface);
		return -ENODEV;
	}
	err = shim_xdp_foreign(X.ifindex, why, why_sz);
	if (err)
		return err;

	shim_log_hold();
	X.skel = xskshim__open();
	if (!X.skel) {
		err = -errno;
		shim_log_release(true);
		snprintf(why, why_sz, "cannot open the embedded XDP program: %s", strerror(-err));
		return err;
	}
	shim_xdp_configure();
	err = xskshim__load(X.skel);
	if (err) {
		const char *caps = shim_caps_missing(true, true, false, false);

		/* a missing capability is the whole story; anything else (a
		 * verifier rejection) shows libbpf's log, held until now */
		shim_log_release(!(err == -EPERM && caps));
		snprintf(why, why_sz, "XDP program load failed: %s%s%s%s", strerror(-err),
			 caps ? "; missing " : "", caps ? caps : "",
			 err == -EPERM && caps ? "" : " (libbpf's log above; XSKSHIM_LOG=debug for all of it)");
		goto out_skel;
	}
	shim_log_release(true);
	/* libbpf reads /sys/devices/system/cpu/possible once and caches it:
	 * read it now, while /sys is visible.  A process that chroots later
	 * (in.tftpd -s in each forked child) reads the per-CPU counters at its
	 * exit and would otherwise print libbpf's "Failed to open cpu mask". */
	(void)libbpf_num_possible_cpus();
	shim_xdp_locals_refresh();
	err = shim_xdp_attach(why, why_sz);
	if (err)
		goto out_skel;

	nq = shim_rx_queue_cnt(shim_g.cfg.iface);
	if (nq > XSKSHIM_QUEUE_MAX)
		nq = XSKSHIM_QUEUE_MAX;
	ucfg = (struct ring_umem_cfg){
		.frame_cnt = shim_g.cfg.frames, .frame_sz = 2048, .rx_sz = shim_g.cfg.rx_sz,
		.zerocopy = shim_g.cfg.zerocopy != SHIM_OFF, .need_wakeup = true,
		.zerocopy_fallback = shim_g.cfg.zerocopy == SHIM_AUTO,
		.fill_min = shim_g.cfg.fill_min, .tx_sz = shim_send_tx_ring_sz(),
	};
	X.q_cnt = 0;
	for (q = 0; q < nq; q++) {
		struct ring_umem *u;

		if (!shim_g.cfg.queues_all && !(shim_g.cfg.queue_mask >> q & 1))
			continue;
		u = ring_umem_create(shim_g.cfg.iface, q, &ucfg);
		/* A queue whose previous owner just died stays busy for a few
		 * ms while the kernel tears its socket down: a restart right
		 * after kill -9 must still get it. */
		for (int i = 0; !u && errno == EBUSY && i < 100; i++) {
			struct timespec ts = { 0, 10 * 1000000L };

			nanosleep(&ts, NULL);
			u = ring_umem_create(shim_g.cfg.iface, q, &ucfg);
		}
		while (!u && (errno == ENOBUFS || errno == ENOMEM || errno == EPERM) &&
		       !shim_g.cfg.frames_set && ucfg.frame_cnt > 1024) {
			/* no CAP_IPC_LOCK and a small RLIMIT_MEMLOCK: try smaller */
			ucfg.frame_cnt /= 2;
			if (ucfg.rx_sz > ucfg.frame_cnt)
				ucfg.rx_sz = ucfg.frame_cnt;
			shim_log(SHIM_LOG_INFO, "xdp", "UMEM too large for the locked-memory limit; trying %u frames",
				 ucfg.frame_cnt);
			u = ring_umem_create(shim_g.cfg.iface, q, &ucfg);
		}
		if (!u) {
			struct rlimit rl = {0};
			const char *caps;

			err = -errno;
			getrlimit(RLIMIT_MEMLOCK, &rl);
			caps = shim_caps_missing(false, false, true, true);
			if (err == -EBUSY)
				snprintf(why, why_sz, "AF_XDP on %s queue %u: queue busy (another process "
					 "has an AF_XDP socket on it)", shim_g.cfg.iface, q);
			else if (err == -EOPNOTSUPP && shim_g.cfg.zerocopy == SHIM_ON)
				snprintf(why, why_sz, "AF_XDP on %s queue %u: XSKSHIM_ZEROCOPY=on but the "
					 "driver has no zero-copy support", shim_g.cfg.iface, q);
			else
				snprintf(why, why_sz, "UMEM for %s queue %u (%u KiB) failed: %s%s%s%s",
					 shim_g.cfg.iface, q, ucfg.frame_cnt * ucfg.frame_sz / 1024,
					 strerror(-err), caps ? "; missing " : "", caps ? caps : "",
					 err == -ENOBUFS || err == -ENOMEM || err == -EPERM
						 ? " (or raise RLIMIT_MEMLOCK / lower XSKSHIM_FRAMES)" : "");
			goto out_umem;
		}
		X.umem[q] = u;
		X.q_ids[X.q_cnt++] = q;
		/* Copy mode: a budget keeps the kernel from ever finding the
		 * fill ring empty (struct xskshim_budget).  Nothing has been
		 * redirected to this queue yet, so every frame posted so far
		 * is still the kernel's to take. */
		if (!u->cfg.zerocopy)
			ring_umem_budget(u, (uint64_t *)&X.skel->bss->budget[q].limit,
					 (int64_t)X.skel->bss->budget[q].used - SHIM_BUDGET_MARGIN);
	}
	if (!X.q_cnt) {
		err = -EINVAL;
		snprintf(why, why_sz, "XSKSHIM_QUEUES selects none of %s's %u rx queues",
			 shim_g.cfg.iface, nq);
		goto out_umem;
	}
	X.hold_fd = memfd_create("xskshim-holders", MFD_CLOEXEC);
	if (!X.gate)
		X.gate = ring_shm_alloc(sizeof(*X.gate));   /* kept for the process's life */
	if (X.hold_fd < 0 || !X.gate) {
		err = -errno;
		snprintf(why, why_sz, "memfd_create: %s", strerror(-err));
		goto out_umem;
	}
	if (shim_g.cfg.csum == SHIM_AUTO)
		X.csum = shim_iface_partial_csum(shim_g.cfg.iface) ? RING_CSUM_OFF : RING_CSUM_VERIFY;
	else
		X.csum = shim_g.cfg.csum == SHIM_ON ? RING_CSUM_VERIFY : RING_CSUM_OFF;
	X.installed = true;
	shim_watch_start();
	shim_send_install(X.ifindex);
	return 0;

out_umem:
	for (uint32_t i = 0; i < X.q_cnt; i++) {
		ring_umem_budget(X.umem[X.q_ids[i]], NULL, 0);
		ring_umem_destroy(X.umem[X.q_ids[i]]);
		X.umem[X.q_ids[i]] = NULL;
	}
	X.q_cnt = 0;
	REAL(close)(X.link_fd);
	X.link_fd = -1;
out_skel:
	xskshim__destroy(X.skel);
	X.skel = NULL;
	return err;
}

/* ---- slots and groups --------------------------------------------------- */

static int shim_slot_alloc(void)
{
	for (uint32_t i = 0; i < XSKSHIM_SLOT_MAX; i++)
		if (!(X.slots[i / 8] >> (i % 8) & 1)) {
			X.slots[i / 8] |= (uint8_t)(1u << (i % 8));
			return (int)i;
		}
	return -ENOSPC;
}

static void shim_slot_free(uint32_t slot)
{
	X.slots[slot / 8] &= (uint8_t)~(1u << (slot % 8));
}

/* This process's hold on a slot (shim.h "fork"): type F_RDLCK (holding),
 * F_WRLCK (only if no other process holds it: 0, or -EAGAIN), F_UNLCK. */
static int shim_slot_hold(uint32_t slot, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = slot, .l_len = 1 };

	if (X.hold_fd < 0)
		return -EBADF;
	if (REAL(fcntl)(X.hold_fd, F_SETLK, &fl))
		return errno == EACCES ? -EAGAIN : -errno;
	return 0;
}

static bool shim_slot_held_elsewhere(uint32_t slot)
{
	/* a fork child that has not yet taken its locks counts as a holder
	 * (a count left by a child killed that early ages out in 1 s) */
	if (X.gate && __atomic_load_n(&X.gate->in_flight, __ATOMIC_ACQUIRE) &&
	    shim_now_ns() - __atomic_load_n(&X.gate->last_ns, __ATOMIC_RELAXED) < 1000000000)
		return true;
	return shim_slot_hold(slot, F_WRLCK) == -EAGAIN;
}

void shim_xdp_atfork_prepare(void)
{
	if (!X.gate || (!X.installed && !X.orphans))
		return;
	__atomic_store_n(&X.gate->last_ns, shim_now_ns(), __ATOMIC_RELAXED);
	__atomic_add_fetch(&X.gate->in_flight, 1, __ATOMIC_RELEASE);
}

static int shim_group_add(const struct xskshim_port_key *k, uint32_t slot, bool reuseport)
{
	struct shim_group *g;
	int err;

	HASH_FIND(hh, X.groups, k, sizeof(*k), g);
	if (g && g->val.slot_cnt && !(reuseport && g->reuseport)) {
		/* shared through SO_REUSEADDR: the newest takes the port */
		if (g->val.slot_cnt != 1 || g->shared_cnt >= XSKSHIM_GROUP_MAX - 1)
			return -EADDRINUSE;
		if (!g->shared_cnt)
			g->shared[g->shared_cnt++] = g->val.slots[0];
		g->shared[g->shared_cnt++] = slot;
		g->val.slots[0] = slot;
		if (bpf_map_update_elem(bpf_map__fd(X.skel->maps.ports), &g->key, &g->val, BPF_ANY))
			return -errno;
		return 0;
	}
	if (!g) {
		g = calloc(1, sizeof(*g));
		if (!g)
			return -ENOMEM;
		g->key = *k;
		g->reuseport = reuseport;
		HASH_ADD(hh, X.groups, key, sizeof(g->key), g);
	}
	if (g->val.slot_cnt >= XSKSHIM_GROUP_MAX)
		return -ENOSPC;
	g->val.slots[g->val.slot_cnt++] = slot;
	err = bpf_map_update_elem(bpf_map__fd(X.skel->maps.ports), &g->key, &g->val, BPF_ANY);
	if (err) {
		g->val.slot_cnt--;
		return -errno;
	}
	return 0;
}

static void shim_group_del(const struct xskshim_port_key *k, uint32_t slot)
{
	struct shim_group *g;
	uint32_t i;

	HASH_FIND(hh, X.groups, k, sizeof(*k), g);
	if (!g)
		return;
	if (g->shared_cnt) {
		/* SO_REUSEADDR sharing: the newest remaining socket takes over */
		for (i = 0; i < g->shared_cnt && g->shared[i] != slot; i++)
			;
		if (i == g->shared_cnt)
			return;
		memmove(&g->shared[i], &g->shared[i + 1], (g->shared_cnt - i - 1) * sizeof(g->shared[0]));
		g->shared_cnt--;
		g->val.slots[0] = g->shared[g->shared_cnt - 1];
		if (g->shared_cnt == 1)
			g->shared_cnt = 0;   /* a lone socket again */
		bpf_map_update_elem(bpf_map__fd(X.skel->maps.ports), &g->key, &g->val, BPF_ANY);
		return;
	}
	for (i = 0; i < g->val.slot_cnt; i++)
		if (g->val.slots[i] == slot)
			break;
	if (i == g->val.slot_cnt)
		return;
	g->val.slots[i] = g->val.slots[--g->val.slot_cnt];
	if (g->val.slot_cnt) {
		bpf_map_update_elem(bpf_map__fd(X.skel->maps.ports), &g->key, &g->val, BPF_ANY);
	} else {
		bpf_map_delete_elem(bpf_map__fd(X.skel->maps.ports), &g->key);
		HASH_DEL(X.groups, g);
		free(g);
	}
}

/* The ports-map keys a bound socket needs (1 or 2). */
static int shim_sock_keys(struct shim_sock *s, int fd)
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

static void shim_xstats_add(struct xdp_statistics *to, const struct xdp_statistics *x)
{
	to->rx_dropped += x->rx_dropped;
	to->rx_invalid_descs += x->rx_invalid_descs;
	to->rx_ring_full += x->rx_ring_full;
	to->rx_fill_ring_empty_descs += x->rx_fill_ring_empty_descs;
}

/* AF_XDP sockets of closed application sockets are kept per queue and
 * handed to the next socket: close() of an AF_XDP socket waits for an RCU
 * grace period (7-20 ms measured), which made every probe bind that slow.
 * A pooled socket is out of the XSKMAP; it is drained when pooled and again
 * when reused, and readers also drop any frame whose destination port is not
 * their own, so nothing of one socket can reach another. */
static void shim_xsk_pool_put(struct ring_xsk *x, bool reusable)
{
	uint32_t q = x->queue;

	if (reusable && X.pool_cnt[q] < SHIM_XSK_POOL && !shim_g.exiting) {
		ring_xsk_drain(x);
		X.pool[q][X.pool_cnt[q]++] = x;
	} else {
		ring_xsk_destroy(x);
	}
}

static struct ring_xsk *shim_xsk_pool_get(uint32_t q, uint32_t rx_sz)
{
	for (uint32_t i = 0; i < X.pool_cnt[q]; i++) {
		struct ring_xsk *x = X.pool[q][i];

		if (x->rx.size < rx_sz)
			continue;
		X.pool[q][i] = X.pool[q][--X.pool_cnt[q]];
		ring_xsk_drain(x);
		ring_xsk_stats_reset(x);
		return x;
	}
	return NULL;
}

static void shim_xsk_pool_flush(void)
{
	for (uint32_t q = 0; q < XSKSHIM_QUEUE_MAX; q++)
		while (X.pool_cnt[q])
			ring_xsk_destroy(X.pool[q][--X.pool_cnt[q]]);
}

static void shim_sock_xsks_free(struct shim_sock *s)
{
	int map = X.skel ? bpf_map__fd(X.skel->maps.xsks) : -1;

	/* an AF_XDP socket still in an inner epoll set must not serve
	 * another application socket: out of every one (ready.c keeps them
	 * all, so the socket can be pooled) */
	shim_ready_forget(s);

	for (uint32_t i = 0; i < s->q_cnt; i++) {
		uint32_t idx = s->slot * XSKSHIM_QUEUE_MAX + s->xsk[i]->queue;
		struct xdp_statistics xs;

		if (!ring_xsk_stats(s->xsk[i], &xs))
			shim_xstats_add(&X.closed_xs[s->xsk[i]->queue], &xs);

		if (map >= 0)
			bpf_map_delete_elem(map, &idx);
		ring_xsk_tx_flush(s->xsk[i], 200);   /* what was sent leaves first */
		shim_xsk_pool_put(s->xsk[i], true);
		s->xsk[i] = NULL;
	}
	s->q_cnt = 0;
}

static void shim_xsk_busy_poll(int fd)
{
	int one = 1, us = (int)shim_g.cfg.busy_poll_us, budget = (int)shim_g.cfg.batch;

	if (!us)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof(us)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof(budget)))
		shim_log(SHIM_LOG_WARN, "xdp", "busy poll on AF_XDP socket: %s (needs CAP_NET_ADMIN for "
			 "SO_BUSY_POLL_BUDGET)", strerror(errno));
}

/* Zero-copy mode (no fill budget): keep as many frames posted to the kernel
 * as a socket with this SO_RCVBUF could queue (1 per KiB), so a reader that
 * stalls loses no more than the kernel socket would have - unless
 * XSKSHIM_FILL_MIN says otherwise.  Copy mode needs no deep fill ring: past
 * the budget, datagrams overflow into the kernel socket itself. */
static void shim_xdp_fill_for(int rcvbuf)
{
	if (shim_g.cfg.fill_min_set || rcvbuf <= 0 || !X.q_cnt || !X.umem[X.q_ids[0]]->cfg.zerocopy)
		return;
	for (uint32_t i = 0; i < X.q_cnt; i++)
		ring_umem_fill_min(X.umem[X.q_ids[i]], (uint32_t)rcvbuf / 1024);
}

void shim_xdp_rcvbuf(struct shim_sock *s, int fd)
{
	int rcvbuf = 0;
	socklen_t rl = sizeof(rcvbuf);

	(void)s;
	if (X.installed && !getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &rl))
		shim_xdp_fill_for(rcvbuf);
}

/* Ports whose SO_REUSEPORT group got the application's own
 * SO_ATTACH_REUSEPORT program (sock.c): never accelerated again in this
 * process, for no member can follow the application's choice. */
static uint8_t shim_rp_app_ports[65536 / 8];

void shim_xdp_rp_app_mark(uint16_t port)
{
	shim_rp_app_ports[port / 8] |= (uint8_t)(1u << (port % 8));
}

/* Does the configured interface make hardware receive timestamps
 * (ETHTOOL_GET_TS_INFO advertises SOF_TIMESTAMPING_RX_HARDWARE)?  veth and
 * lo advertise software stamps only.  Any thread, lock not needed. */
bool shim_iface_hw_rx_ts(void)
{
	struct ethtool_ts_info ti = { .cmd = ETHTOOL_GET_TS_INFO };

	if (!shim_g.cfg.iface[0] || shim_ethtool(shim_g.cfg.iface, &ti))
		return false;
	return (ti.so_timestamping & SOF_TIMESTAMPING_RX_HARDWARE) != 0;
}

/* SO_REUSEPORT affinity on the kernel path (bpf/xskshim.bpf.c,
 * xskshim_reuseport): before the socket joins its group in the ports map,
 * put its kernel socket into rp_socks at its slot and attach the program
 * to its SO_REUSEPORT group (attaching again for each member is harmless:
 * the group has one program, and it is this one).  Without it the kernel
 * would give a flow's spilled datagrams to the member of its own hash: the
 * socket still works, but such flows split - said once, loudly. */
static void shim_rp_join(struct shim_sock *s, int fd)
{
	static bool warned;
	int prog = bpf_program__fd(X.skel->progs.xskshim_reuseport);
	uint64_t v = (uint64_t)fd;
	const char *what = "REUSEPORT_SOCKARRAY update";

	if (!bpf_map_update_elem(bpf_map__fd(X.skel->maps.rp_socks), &s->slot, &v, BPF_ANY)) {
		what = "SO_ATTACH_REUSEPORT_EBPF";
		if (!REAL(setsockopt)(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &prog, sizeof(prog)))
			return;
	}
	shim_log(warned ? SHIM_LOG_INFO : SHIM_LOG_WARN, "xdp",
		 "fd %d udp port %u: %s: %s: datagrams that take the kernel path go to the member the kernel's "
		 "hash picks, so a flow may be split between two sockets of its SO_REUSEPORT group",
		 fd, s->port, what, strerror(errno));
	warned = true;
}

int shim_xdp_accel(struct shim_sock *s, int fd)
{
	int err, slot, map;
	uint32_t i, k, rx_sz;

	err = shim_sock_keys(s, fd);
	if (err) {
		snprintf(s->why, sizeof(s->why), "getsockname: %s", strerror(-err));
		return err;
	}
	if (!shim_cfg_port(&shim_g.cfg, s->port)) {
		snprintf(s->why, sizeof(s->why), "port %u is not in XSKSHIM_PORTS", s->port);
		return -ENOENT;
	}
	err = shim_xdp_prepare(s->why, sizeof(s->why));
	if (err)
		return err;
	if (X.orphans)
		shim_xdp_reap();
	slot = shim_slot_alloc();
	if (slot < 0) {
		snprintf(s->why, sizeof(s->why), "more than %u accelerated sockets", XSKSHIM_SLOT_MAX);
		return slot;
	}
	s->slot = (uint32_t)slot;
	shim_slot_hold(s->slot, F_RDLCK);
	/* the shared receive state: this process's page for this shim_sock,
	 * made once and reused; a new generation for each socket */
	if (s->rx == &s->rx_local || s->rx_pid != shim_g.pid) {
		struct shim_rx *rx = ring_shm_alloc(sizeof(*rx));

		if (!rx) {
			err = -errno;
			snprintf(s->why, sizeof(s->why), "shared receive state: %s", strerror(-err));
			shim_slot_hold(s->slot, F_UNLCK);
			shim_slot_free(s->slot);
			return err;
		}
		s->rx = rx;
		s->rx_pid = shim_g.pid;
	}
	s->rx_gen = s->rx->gen + 1;
	__atomic_store_n(&s->rx->gen, s->rx_gen, __ATOMIC_RELEASE);
	s->rx->why[0] = 0;
	s->rx->lock = 0;
	shim_xdp_locals_refresh();
	map = bpf_map__fd(X.skel->maps.xsks);
	/* Copy mode: every rx ring holds the whole UMEM, so only the fill
	 * budget decides when datagrams overflow to the kernel socket (whose
	 * SO_RCVBUF then buffers them); an rx ring cannot overflow first.
	 * Zero-copy mode has no budget: honour the application's SO_RCVBUF
	 * with an rx ring holding as many datagrams as the kernel would have
	 * queued (one per KiB, the truesize of a small datagram), at least
	 * XSKSHIM_RX_RING, and a fill ring as deep. */
	{
		int rcvbuf = 0;
		socklen_t rl = sizeof(rcvbuf);

		rx_sz = shim_g.cfg.rx_sz;
		if (!X.umem[X.q_ids[0]]->cfg.zerocopy)
			rx_sz = X.umem[X.q_ids[0]]->frame_cnt;
		else if (!getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &rl))
			while (rx_sz < (uint32_t)rcvbuf / 1024 && rx_sz < shim_g.cfg.frames)
				rx_sz <<= 1;
		if (rx_sz > X.umem[X.q_ids[0]]->frame_cnt)
			rx_sz = X.umem[X.q_ids[0]]->frame_cnt;
		s->rx_sz = rx_sz;
		shim_xdp_fill_for(rcvbuf);
	}
	for (i = 0; i < X.q_cnt; i++) {
		struct ring_umem *u = X.umem[X.q_ids[i]];
		struct ring_xsk *x = shim_xsk_pool_get(u->queue, rx_sz);

		if (!x)
			x = ring_xsk_create(u, rx_sz);
		uint32_t idx;

		if (!x) {
			err = -errno;
			snprintf(s->why, sizeof(s->why), "AF_XDP socket on %s queue %u: %s%s", shim_g.cfg.iface,
				 u->queue, strerror(-err),
				 X.pinned ? " (the process dropped its privileges; the AF_XDP sockets prepared "
					    "for later binds are all in use)" : "");
			goto out_xsks;
		}
		X.zerocopy = u->cfg.zerocopy;
		shim_xsk_busy_poll(x->fd);
		idx = s->slot * XSKSHIM_QUEUE_MAX + u->queue;
		{
			/* start in step with the program's count for this
			 * index, with no episode pending (one left by the
			 * slot's previous socket is not ours to deliver) */
			struct xskshim_spill *sp = &X.skel->bss->spill[idx];

			s->rx->xseq[s->q_cnt] = __atomic_load_n(&sp->seq, __ATOMIC_ACQUIRE);
			s->rx->ep_done[s->q_cnt] = 0;
			s->rx->ep_wait[s->q_cnt] = 0;
			s->rx->ep_met[s->q_cnt] = false;
			__atomic_store_n(&sp->tail, __atomic_load_n(&sp->head, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
		}
		s->xsk[s->q_cnt++] = x;
		if (bpf_map_update_elem(map, &idx, &x->fd, BPF_ANY)) {
			err = -errno;
			snprintf(s->why, sizeof(s->why), "XSKMAP update: %s", strerror(-err));
			goto out_xsks;
		}
	}
	{
		int rp = 0;
		socklen_t rpl = sizeof(rp);

		if (getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &rp, &rpl))
			rp = 0;
		s->reuseport = rp != 0;
		if (s->reuseport && (shim_rp_app_ports[s->port / 8] >> (s->port % 8) & 1)) {
			err = -EOPNOTSUPP;
			snprintf(s->why, sizeof(s->why), "the SO_REUSEPORT group has the application's own "
				 "SO_ATTACH_REUSEPORT program, which the XDP program cannot follow");
			goto out_xsks;
		}
	}
	if (s->reuseport)
		shim_rp_join(s, fd);
	for (k = 0; k < s->key_cnt; k++) {
		err = shim_group_add(&s->keys[k], s->slot, s->reuseport);
		if (err) {
			snprintf(s->why, sizeof(s->why), "%s",
				 err == -ENOSPC ? "SO_REUSEPORT group larger than 16 sockets"
				 : err == -EADDRINUSE ? "the port is shared by SO_REUSEPORT and SO_REUSEADDR sockets "
							"at once, which the fast path does not model"
				 : "ports map update failed");
			goto out_groups;
		}
	}
	snprintf(X.desc, sizeof(X.desc), "%s %s %s queues %u%s%u, csum %s", shim_g.cfg.iface, X.mode,
		 X.zerocopy ? "zero-copy" : "copy", X.q_ids[0], X.q_cnt > 1 ? "-" : "",
		 X.q_cnt > 1 ? X.q_ids[X.q_cnt - 1] : X.q_ids[0],
		 X.csum == RING_CSUM_VERIFY ? "verify" : "trusted");
	if (X.q_cnt == 1)
		snprintf(X.desc, sizeof(X.desc), "%s %s %s queue %u, csum %s", shim_g.cfg.iface, X.mode,
			 X.zerocopy ? "zero-copy" : "copy", X.q_ids[0],
			 X.csum == RING_CSUM_VERIFY ? "verify" : "trusted");
	s->why[0] = 0;
	__atomic_store_n(&s->rx->live, 1, __ATOMIC_RELEASE);
	return 0;

out_groups:
	while (k--)
		shim_group_del(&s->keys[k], s->slot);
out_xsks:
	shim_sock_xsks_free(s);
	shim_slot_hold(s->slot, F_UNLCK);
	shim_slot_free(s->slot);
	return err;
}

/* One linger thread at a time: it sleeps until the (possibly extended)
 * deadline, then uninstalls if still idle.  Bind/close churn therefore
 * costs no thread per close. */
static void *shim_linger_thread(void *p)
{
	(void)p;
	pthread_mutex_lock(&shim_g.lock);
	for (;;) {
		int64_t left = X.linger_deadline - shim_now_ns();
		struct timespec ts;

		if (left <= 0 || shim_g.forked || shim_g.exiting)
			break;
		pthread_mutex_unlock(&shim_g.lock);
		ts.tv_sec = left / 1000000000;
		ts.tv_nsec = left % 1000000000;
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&shim_g.lock);
	}
	if (X.installed && shim_g.accel_cnt == 0 && !shim_g.forked && !shim_g.exiting)
		shim_xdp_uninstall();
	X.linger_running = false;
	pthread_mutex_unlock(&shim_g.lock);
	return NULL;
}

void shim_xdp_connect(struct shim_sock *s, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct xskshim_conn_key ck = {0};
	const uint8_t *pa = s->peer.sin6_addr.s6_addr;
	bool v4 = IN6_IS_ADDR_V4MAPPED(&s->peer.sin6_addr);

	if (shim_g.forked) {   /* the groups are the owner's (shim.h "fork") */
		shim_sock_demote(s, "connect() in a fork child");
		return;
	}
	shim_xdp_disconnect(s);
	if (!X.skel || getsockname(fd, (struct sockaddr *)&ss, &len))
		return;
	ck.family = v4 ? 4 : 6;
	ck.sport = s->peer.sin6_port;
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
	if (bpf_map_update_elem(bpf_map__fd(X.skel->maps.conns), &ck, &s->slot, BPF_ANY))
		return;   /* map full: stays in its group; the peer filter still holds */
	s->conn_key = ck;
	s->conn_active = true;
	X.skel->bss->conn_cnt++;
	for (uint32_t k = 0; k < s->key_cnt; k++)
		shim_group_del(&s->keys[k], s->slot);
}

void shim_xdp_disconnect(struct shim_sock *s)
{
	if (!s->conn_active)
		return;
	if (shim_g.forked) {
		shim_sock_demote(s, "disconnect in a fork child");
		return;
	}
	s->conn_active = false;
	if (!X.skel)
		return;
	bpf_map_delete_elem(bpf_map__fd(X.skel->maps.conns), &s->conn_key);
	X.skel->bss->conn_cnt--;
	if (shim_sock_accel(s))
		for (uint32_t k = 0; k < s->key_cnt; k++)
			shim_group_add(&s->keys[k], s->slot, s->reuseport);
}

/* The socket's data plane ends for every process: readers of other
 * processes see live 0 (under the rx lock, held here), nothing is
 * redirected to its AF_XDP sockets any more (an empty XSKMAP entry hands
 * the packet to the kernel socket), and what its rings hold goes back to
 * the fill rings (the datagrams are dropped, as the kernel drops a closed
 * socket's queue).  Any process may do it; it is idempotent. */
static void shim_xdp_kill(struct shim_sock *s, const char *why)
{
	int map = X.skel ? bpf_map__fd(X.skel->maps.xsks) : -1;

	if (!shim_rx_valid(s))
		return;
	snprintf(s->rx->why, sizeof(s->rx->why), "%s", why);
	__atomic_store_n(&s->rx->live, 0, __ATOMIC_RELEASE);
	for (uint32_t i = 0; i < s->q_cnt; i++) {
		uint32_t idx = s->slot * XSKSHIM_QUEUE_MAX + s->xsk[i]->queue;

		if (map >= 0)
			bpf_map_delete_elem(map, &idx);
		ring_xsk_drain(s->xsk[i]);
	}
}

/* A fork child (not the owner) stops using s: the last holder kills it
 * (the owner closed it or is gone; a demotion always kills); the handles
 * are this process's either way.  Groups, slots and the pool are the
 * owner's: an owner that is gone leaves the slot in its group, where the
 * empty XSKMAP entry passes that slot's share to the kernel. */
static void shim_xdp_release_child(struct shim_sock *s, bool closing)
{
	bool ends = !shim_rx_valid(s) || !closing || !shim_slot_held_elsewhere(s->slot);

	/* (a conns entry stays: its slot's empty XSKMAP entries pass) */
	if (ends)
		shim_xdp_kill(s, closing ? "closed" : s->why);
	s->conn_active = false;
	/* Take the AF_XDP fds out of epoll sets only when the socket ends for
	 * everyone: the inner sets of registrations inherited at fork are the
	 * parent's too (closing our fd copies leaves them registered there). */
	if (ends)
		shim_ready_forget(s);
	for (uint32_t i = 0; i < s->q_cnt; i++) {
		ring_xsk_forget(s->xsk[i]);
		s->xsk[i] = NULL;
	}
	s->q_cnt = 0;
	shim_slot_hold(s->slot, F_UNLCK);
}

bool shim_xdp_orphan(struct shim_sock *s)
{
	if (shim_g.forked || X.hold_fd < 0 || !shim_slot_held_elsewhere(s->slot))
		return false;
	shim_slot_hold(s->slot, F_RDLCK);   /* (the probe may have upgraded it) */
	s->next = X.orphans;
	__atomic_store_n(&X.orphans, s, __ATOMIC_RELEASE);
	shim_log(SHIM_LOG_DEBUG, "xdp", "fd %d port %u closed here, still used by another process: kept",
		 s->fd_first, s->port);
	return true;
}

/* Orphans no other process holds any more: tear down and recycle.  Lock
 * held. */
static void shim_xdp_reap(void)
{
	struct shim_sock **pp = &X.orphans, *s;

	while ((s = *pp)) {
		if (shim_slot_held_elsewhere(s->slot)) {
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		shim_rx_lock(s);
		shim_sock_ops_set(s, &shim_ops_kernel);
		s->stale = false;
		shim_g.accel_cnt--;
		shim_xdp_release(s, true);
		shim_rx_unlock(s);
		shim_sock_recycle(s);
	}
}

void shim_xdp_release(struct shim_sock *s, bool closing)
{
	if (shim_g.forked) {
		shim_xdp_release_child(s, closing);
		return;
	}
	shim_xdp_kill(s, s->why);
	if (s->conn_active) {
		s->conn_active = false;
		if (X.skel) {
			bpf_map_delete_elem(bpf_map__fd(X.skel->maps.conns), &s->conn_key);
			X.skel->bss->conn_cnt--;
		}
	}
	for (uint32_t k = 0; k < s->key_cnt; k++)
		shim_group_del(&s->keys[k], s->slot);
	if (s->reuseport && X.skel)
		bpf_map_delete_elem(bpf_map__fd(X.skel->maps.rp_socks), &s->slot);
	shim_sock_xsks_free(s);
	shim_slot_hold(s->slot, F_UNLCK);
	shim_slot_free(s->slot);
	shim_xdp_idle();
}

void shim_xdp_idle(void)
{
	pthread_attr_t at;
	pthread_t t;

	if (shim_g.accel_cnt || !X.installed || X.pinned || shim_g.forked)
		return;
	if (!shim_g.cfg.linger_ms) {
		shim_xdp_uninstall();
		return;
	}
	X.linger_deadline = shim_now_ns() + (int64_t)shim_g.cfg.linger_ms * 1000000;
	if (X.linger_running)
		return;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (!pthread_create(&t, &at, shim_linger_thread, NULL))
		X.linger_running = true;   /* else: stays installed until exit; harmless */
	pthread_attr_destroy(&at);
}

void shim_xdp_prepare_drop(const char *what)
{
	char why[160];
	uint32_t made = 0, have = 0;

	if (X.pinned)
		return;
	X.pinned = true;   /* one attempt: without the privileges there is no second */
	if (shim_xdp_prepare(why, sizeof(why))) {
		shim_log(SHIM_LOG_WARN, "xdp", "the process is dropping privileges (%s) and the XDP install "
			 "could not be prepared before: %s; binds after the drop stay on the kernel path", what, why);
		return;
	}
	/* As many AF_XDP sockets as a bind takes from the pool, each with an
	 * rx ring deep enough for any socket (shim_xsk_pool_get). */
	for (uint32_t i = 0; i < X.q_cnt; i++) {
		struct ring_umem *u = X.umem[X.q_ids[i]];

		while (X.pool_cnt[u->queue] < SHIM_XSK_POOL) {
			struct ring_xsk *x = ring_xsk_create(u, u->frame_cnt);

			if (!x)
				break;
			X.pool[u->queue][X.pool_cnt[u->queue]++] = x;
			made++;
		}
		have += X.pool_cnt[u->queue];
	}
	shim_log(SHIM_LOG_WARN, "xdp", "install prepared because the process is dropping privileges (%s): "
		 "program attached to %s, UMEMs registered, %u AF_XDP socket(s) ready on %u queue(s) (%u new) "
		 "for binds after the drop; kept until exit", what, shim_g.cfg.iface, have, X.q_cnt, made);
}

void shim_xdp_atexit(void)
{
	shim_send_atexit();
	/* Detach first so nothing is redirected to sockets that are about to
	 * vanish; leave memory mapped, other threads may still be reading. */
	if (X.link_fd >= 0)
		REAL(close)(X.link_fd);
	X.link_fd = -1;
}

/* In the child of a process with an install: keep every fd (the data
 * plane is the child's too), hold the inherited sockets (slot locks are not
 * inherited), and drop only what no socket of the child uses: the idle
 * AF_XDP sockets of the pool and the owner's orphans (fds the child got
 * from this very fork, closed once, forgotten at once). */
void shim_xdp_atfork_child(void)
{
	struct shim_sock *s;

	shim_send_atfork_child();
	/* the watch thread stayed in the parent; its fds did not */
	if (shim_watch_cur) {
		REAL(close)(shim_watch_cur->nl_fd);
		REAL(close)(shim_watch_cur->stop_fd);
		shim_watch_cur = NULL;   /* (its memory belongs to the parent's thread) */
	}
	X.linger_running = false;
	if (!X.installed && !X.orphans)
		return;   /* nothing inherited: the child is a process of its own */
	shim_g.forked = true;
	for (uint32_t q = 0; q < XSKSHIM_QUEUE_MAX; q++) {
		while (X.pool_cnt[q])
			ring_xsk_forget(X.pool[q][--X.pool_cnt[q]]);
	}
	for (s = X.orphans; s; s = s->next) {
		for (uint32_t i = 0; i < s->q_cnt; i++)
			ring_xsk_forget(s->xsk[i]);
		s->q_cnt = 0;
	}
	X.orphans = NULL;   /* (their structs stay unused in the child) */
	for (s = shim_g.socks; s; s = s->next)
		if (shim_sock_accel(s))
			shim_slot_hold(s->slot, F_RDLCK);
	if (X.gate && X.gate->in_flight)
		__atomic_sub_fetch(&X.gate->in_flight, 1, __ATOMIC_RELEASE);
}

int shim_xdp_ctrs(uint64_t out[XSKSHIM_CTR_CNT])
{
	int err = shim_xdp_ctrs_now(out);
	bool any = !err;

	for (int k = 0; k < XSKSHIM_CTR_CNT; k++) {
		out[k] = (err ? 0 : out[k]) + X.ctrs_base[k];
		any |= X.ctrs_base[k] != 0;
	}
	return any ? 0 : -ENOENT;
}

/* The counters of the current attachment. */
static int shim_xdp_ctrs_now(uint64_t out[XSKSHIM_CTR_CNT])
{
	int ncpu = libbpf_num_possible_cpus(), fd;
	uint64_t *v;

	memset(out, 0, sizeof(uint64_t) * XSKSHIM_CTR_CNT);
	if (!X.skel || ncpu <= 0)
		return -ENOENT;
	fd = bpf_map__fd(X.skel->maps.ctrs);
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t k = 0; k < XSKSHIM_CTR_CNT; k++) {
		if (bpf_map_lookup_elem(fd, &k, v))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += v[c];
	}
	free(v);
	return 0;
}

struct xskshim_spill *shim_xdp_spill(const struct shim_sock *s, uint32_t qi)
{
	if (s->xsk[qi]->umem->cfg.zerocopy)
		return NULL;
	return &X.skel->bss->spill[s->slot * XSKSHIM_QUEUE_MAX + s->xsk[qi]->queue];
}

uint64_t shim_xdp_icmp_seq(void)
{
	return __atomic_load_n(&X.skel->bss->icmp_err_seq, __ATOMIC_ACQUIRE);
}

enum ring_csum_mode shim_xdp_csum_mode(void)
{
	return X.csum;
}

const char *shim_xdp_describe(void)
{
	return X.installed ? X.desc : "not installed";
}

int shim_xdp_queue_acct(uint32_t q, struct ring_umem_acct *a, uint32_t *fill_cnt, uint32_t *frame_cnt,
			uint32_t *rx_cnt, struct xdp_statistics *xs)
{
	struct shim_sock *s;

	if (q >= XSKSHIM_QUEUE_MAX || !X.umem[q])
		return -ENOENT;
	*xs = X.closed_xs[q];
	for (s = shim_g.socks; s; s = s->next)
		if (shim_sock_accel(s))
			for (uint32_t i = 0; i < s->q_cnt; i++) {
				struct xdp_statistics x;

				if (s->xsk[i]->queue == q && !ring_xsk_stats(s->xsk[i], &x))
					shim_xstats_add(xs, &x);
			}
	ring_umem_acct_get(X.umem[q], a);
	*fill_cnt = ring_umem_fill_cnt(X.umem[q]);
	*frame_cnt = X.umem[q]->frame_cnt;
	*rx_cnt = ring_cons_avail(&X.umem[q]->anchor->rx);
	for (s = shim_g.socks; s; s = s->next)
		if (shim_sock_accel(s))
			for (uint32_t i = 0; i < s->q_cnt; i++)
				if (s->xsk[i]->queue == q)
					*rx_cnt += ring_cons_avail(&s->xsk[i]->rx);
	return 0;
}

int shim_xdp_ifindex(void)
{
	return X.ifindex;
}

int shim_xdp_ids(uint32_t *prog_id, uint32_t *ctrs_map_id)
{
	struct bpf_prog_info pi = {0};
	struct bpf_map_info mi = {0};
	uint32_t pl = sizeof(pi), ml = sizeof(mi);

	*prog_id = *ctrs_map_id = 0;
	if (!X.skel)
		return -ENOENT;
	if (!bpf_obj_get_info_by_fd(bpf_program__fd(X.skel->progs.xskshim_xdp), &pi, &pl))
		*prog_id = pi.id;
	if (!bpf_obj_get_info_by_fd(bpf_map__fd(X.skel->maps.ctrs), &mi, &ml))
		*ctrs_map_id = mi.id;
	return 0;
}

uint32_t shim_xdp_queue_cnt(void)
{
	return X.installed ? X.q_cnt : 0;
}

/* Members of the SO_REUSEPORT group of s's first key (1 for a lone socket). */
uint32_t shim_xdp_group_size(const struct shim_sock *s)
{
	struct shim_group *g;

	if (!shim_sock_accel(s) || !s->key_cnt)
		return 0;
	HASH_FIND(hh, X.groups, &s->keys[0], sizeof(s->keys[0]), g);
	return g ? g->val.slot_cnt : 0;
}

void shim_xdp_check_iface(void)
{
	static int64_t next_check;
	int64_t now = shim_now_ns();
	unsigned int idx;
	char why[128];

	if (!__atomic_load_n(&X.installed, __ATOMIC_RELAXED) ||
	    now < __atomic_load_n(&next_check, __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&next_check, now + 100 * 1000000LL, __ATOMIC_RELAXED);
	idx = if_nametoindex(shim_g.cfg.iface);
	if (idx && (int)idx == X.ifindex)
		return;
	shim_enter();
	pthread_mutex_lock(&shim_g.lock);
	if (X.installed) {
		snprintf(why, sizeof(why), "interface %s (ifindex %d) was deleted%s", shim_g.cfg.iface, X.ifindex,
			 idx ? " and re-created" : "");
		shim_log(SHIM_LOG_WARN, "xdp", "%s: every socket moves to the kernel path", why);
		shim_sock_demote_all(why);
		if (X.installed)
			shim_xdp_uninstall();
	}
	pthread_mutex_unlock(&shim_g.lock);
	shim_leave();
}
