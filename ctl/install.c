/* install.c - the process-wide install (ctl.h): the program loaded and
 * attached through one bpf_link (it dies with the last process holding the
 * link fd), one UMEM per selected RX queue with its fill budget, the
 * address watch; uninstalled after XSKSHIM_LINGER_MS without a binding (a
 * port probe does not re-attach per probe), when the interface goes away,
 * and detached at exit.  A fork child closes its copies of every fd. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <linux/if_link.h>
#include <net/if.h>

#include "ctl/internal.h"

struct ctl_state C = { .link_fd = -1, .hold_fd = -1 };

static void ctl_prog_unload(void);

void ctl_uninstall(void)
{
	uint32_t i;

	if (C.link_fd >= 0)
		close(C.link_fd);
	C.link_fd = -1;
	if (C.hold_fd >= 0)
		close(C.hold_fd);
	C.hold_fd = -1;
	ctl_watch_stop();
	if (C.hooks.uninstalling)
		C.hooks.uninstalling();
	ctl_pool_flush();
	for (i = 0; i < C.q_cnt; i++) {
		ring_umem_budget(C.umem[C.q_ids[i]], NULL, 0);
		ring_umem_destroy(C.umem[C.q_ids[i]]);
		C.umem[C.q_ids[i]] = NULL;
	}
	C.q_cnt = 0;
	if (C.skel) {
		uint64_t c[XSKSHIM_CTR_CNT];

		/* keep the counters of this attachment for the totals */
		if (!ctl_ctrs_now(c))
			for (int k = 0; k < XSKSHIM_CTR_CNT; k++)
				C.ctrs_base[k] += c[k];
	}
	ctl_prog_unload();
	C.installed = false;
	C.hooks.changed();
	ctl_log(CTL_LOG_INFO, "xdp", "detached from %s", C.cfg.iface);
}

static int ctl_foreign(int ifindex, char *why, size_t why_sz)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_prog_info info = {0};
	uint32_t len = sizeof(info), id;
	int fd, err;

	err = bpf_xdp_query(ifindex, 0, &q);
	if (err) {
		snprintf(why, why_sz, "cannot query XDP state of %s: %s%s%s", C.cfg.iface,
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
		close(fd);
	}
	snprintf(why, why_sz, "%s XDP program id %u '%s' is already attached to %s; not replacing it",
		 strcmp(info.name, XSKSHIM_PROG_NAME) ? "a foreign" : "another xskshim process's", id,
		 info.name, C.cfg.iface);
	return -EBUSY;
}

static int ctl_attach(char *why, size_t why_sz)
{
	static const struct { enum ctl_mode m; uint32_t flag; const char *name; } try[] = {
		{ CTL_MODE_NATIVE, XDP_FLAGS_DRV_MODE, "native" },
		{ CTL_MODE_SKB, XDP_FLAGS_SKB_MODE, "skb" },
	};
	int prog_fd = bpf_program__fd(C.skel->progs.xskshim_xdp), fd = -1, err = -EINVAL;
	char first[160] = "";

	for (size_t i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_link_create_opts, o, .flags = try[i].flag);

		if (C.cfg.mode != CTL_MODE_AUTO && C.cfg.mode != try[i].m)
			continue;
		fd = bpf_link_create(prog_fd, C.ifindex, BPF_XDP, &o);
		if (fd >= 0) {
			C.link_fd = fd;
			C.mode = try[i].name;
			if (first[0])
				ctl_log(CTL_LOG_INFO, "xdp", "%s; using skb mode", first);
			return 0;
		}
		err = fd;
		snprintf(first, sizeof(first), "%s attach to %s failed: %s", try[i].name,
			 C.cfg.iface, strerror(-err));
	}
	const char *caps = ctl_caps_missing(true, true, false, false);
	snprintf(why, why_sz, "XDP %s%s%s", first, caps && err == -EPERM ? "; missing " : "",
		 caps && err == -EPERM ? caps : "");
	return err;
}

/* The loaded program and what is mapped of it go (the link is closed
 * before). */
static void ctl_prog_unload(void)
{
	if (C.spill)
		munmap(C.spill, C.spill_sz);
	C.spill = NULL;
	xskshim__destroy(C.skel);
	C.skel = NULL;
}

/* `spills` (xskshim_bpf.h), as large as ctl_prog_configure made it. */
static int ctl_spill_map(char *why, size_t why_sz)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *p;

	C.spill_sz = ((size_t)bpf_map__max_entries(C.skel->maps.spills) * sizeof(*C.spill) + (size_t)pg - 1) &
		     ~((size_t)pg - 1);
	p = mmap(NULL, C.spill_sz, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(C.skel->maps.spills), 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		snprintf(why, why_sz, "cannot map the XDP program's spill records: %s", strerror(-err));
		return err;
	}
	C.spill = p;
	return 0;
}

/* Open, configure and load the embedded program, fill its locals and
 * attach it.  On failure nothing is left behind. */
static int ctl_prog_load(char *why, size_t why_sz)
{
	int err;

	C.hooks.log_hold();
	C.skel = xskshim__open();
	if (!C.skel) {
		err = -errno;
		C.hooks.log_release(true);
		snprintf(why, why_sz, "cannot open the embedded XDP program: %s", strerror(-err));
		return err;
	}
	ctl_prog_configure();
	err = xskshim__load(C.skel);
	if (err) {
		const char *caps = ctl_caps_missing(true, true, false, false);

		/* a missing capability is the whole story; anything else (a
		 * verifier rejection) shows libbpf's log, held until now */
		C.hooks.log_release(!(err == -EPERM && caps));
		snprintf(why, why_sz, "XDP program load failed: %s%s%s%s", strerror(-err),
			 caps ? "; missing " : "", caps ? caps : "",
			 err == -EPERM && caps ? "" : " (libbpf's log above; XSKSHIM_LOG=debug for all of it)");
		goto out_skel;
	}
	C.hooks.log_release(true);
	/* libbpf reads /sys/devices/system/cpu/possible once and caches it:
	 * read it now, while /sys is visible.  A process that chroots later
	 * (in.tftpd -s in each forked child) reads the per-CPU counters at its
	 * exit and would otherwise print libbpf's "Failed to open cpu mask". */
	(void)libbpf_num_possible_cpus();
	err = ctl_spill_map(why, why_sz);
	if (err)
		goto out_skel;
	ctl_locals_refresh();
	err = ctl_attach(why, why_sz);
	if (err)
		goto out_skel;
	return 0;
out_skel:
	ctl_prog_unload();
	return err;
}

/* The UMEM of queue q: a queue whose previous owner just died stays busy
 * for a few ms while the kernel tears its socket down (a restart right
 * after kill -9 must still get it), and without CAP_IPC_LOCK a small
 * RLIMIT_MEMLOCK takes a smaller UMEM (unless XSKSHIM_FRAMES was given).
 * NULL with why set. */
static struct ring_umem *ctl_umem_create(uint32_t q, struct ring_umem_cfg *ucfg, char *why, size_t why_sz)
{
	struct ring_umem *u = ring_umem_create(C.cfg.iface, q, ucfg);
	const char *caps;
	int err;

	for (int i = 0; !u && errno == EBUSY && i < 100; i++) {
		struct timespec ts = { 0, 10 * 1000000L };

		nanosleep(&ts, NULL);
		u = ring_umem_create(C.cfg.iface, q, ucfg);
	}
	while (!u && (errno == ENOBUFS || errno == ENOMEM || errno == EPERM) && !C.cfg.frames_set &&
	       ucfg->frame_cnt > 1024) {
		ucfg->frame_cnt /= 2;
		if (ucfg->rx_sz > ucfg->frame_cnt)
			ucfg->rx_sz = ucfg->frame_cnt;
		ctl_log(CTL_LOG_INFO, "xdp", "UMEM too large for the locked-memory limit; trying %u frames",
			ucfg->frame_cnt);
		u = ring_umem_create(C.cfg.iface, q, ucfg);
	}
	if (u)
		return u;
	err = -errno;
	caps = ctl_caps_missing(false, false, true, true);
	if (err == -EBUSY)
		snprintf(why, why_sz, "AF_XDP on %s queue %u: queue busy (another process "
			 "has an AF_XDP socket on it)", C.cfg.iface, q);
	else if (err == -EOPNOTSUPP && C.cfg.zerocopy == CTL_ON)
		snprintf(why, why_sz, "AF_XDP on %s queue %u: XSKSHIM_ZEROCOPY=on but the "
			 "driver has no zero-copy support", C.cfg.iface, q);
	else
		snprintf(why, why_sz, "UMEM for %s queue %u (%u KiB) failed: %s%s%s%s",
			 C.cfg.iface, q, ucfg->frame_cnt * ucfg->frame_sz / 1024,
			 strerror(-err), caps ? "; missing " : "", caps ? caps : "",
			 err == -ENOBUFS || err == -ENOMEM || err == -EPERM
				 ? " (or raise RLIMIT_MEMLOCK / lower XSKSHIM_FRAMES)" : "");
	errno = -err;
	return NULL;
}

static void ctl_umems_destroy(void)
{
	for (uint32_t i = 0; i < C.q_cnt; i++) {
		ring_umem_budget(C.umem[C.q_ids[i]], NULL, 0);
		ring_umem_destroy(C.umem[C.q_ids[i]]);
		C.umem[C.q_ids[i]] = NULL;
	}
	C.q_cnt = 0;
}

/* One UMEM per selected RX queue, each with its fill budget (copy mode: a
 * budget keeps the kernel from ever finding the fill ring empty, struct
 * xskshim_budget; nothing has been redirected yet, so every frame posted so
 * far is still the kernel's to take). */
static int ctl_umems_create(char *why, size_t why_sz)
{
	uint32_t nq = C.spill_nq;   /* the interface's, at the load (ctl_prog_configure) */
	struct ring_umem_cfg ucfg = {
		.frame_cnt = C.cfg.frames, .frame_sz = 2048, .rx_sz = C.cfg.rx_sz,
		.zerocopy = C.cfg.zerocopy != CTL_OFF, .need_wakeup = true,
		.zerocopy_fallback = C.cfg.zerocopy == CTL_AUTO,
		.fill_min = C.cfg.fill_min, .tx_sz = C.cfg.tx_sz,
	};

	C.q_cnt = 0;
	for (uint32_t q = 0; q < nq; q++) {
		struct ring_umem *u;

		if (!C.cfg.queues_all && !(C.cfg.queue_mask >> q & 1))
			continue;
		u = ctl_umem_create(q, &ucfg, why, why_sz);
		if (!u) {
			int err = -errno;

			ctl_umems_destroy();
			return err;
		}
		C.umem[q] = u;
		C.q_ids[C.q_cnt++] = q;
		if (!u->cfg.zerocopy)
			ring_umem_budget(u, (uint64_t *)&C.skel->bss->budget[q].limit,
					 (int64_t)C.skel->bss->budget[q].used - CTL_BUDGET_MARGIN);
	}
	if (!C.q_cnt) {
		snprintf(why, why_sz, "XSKSHIM_QUEUES selects none of %s's %u rx queues", C.cfg.iface, nq);
		return -EINVAL;
	}
	return 0;
}

int ctl_prepare(char *why, size_t why_sz)
{
	int err;

	if (C.installed)
		return 0;
	C.ifindex = (int)if_nametoindex(C.cfg.iface);
	if (!C.ifindex) {
		snprintf(why, why_sz, "XSKSHIM_IFACE=%s: no such interface in this network namespace",
			 C.cfg.iface);
		return -ENODEV;
	}
	err = ctl_foreign(C.ifindex, why, why_sz);
	if (!err)
		err = ctl_prog_load(why, why_sz);
	if (err)
		return err;
	err = ctl_umems_create(why, why_sz);
	if (!err) {
		C.hold_fd = memfd_create("xskshim-holders", MFD_CLOEXEC);
		if (!C.gate)
			C.gate = ring_shm_alloc(sizeof(*C.gate));   /* kept for the process's life */
		if (C.hold_fd < 0 || !C.gate) {
			err = -errno;
			snprintf(why, why_sz, "memfd_create: %s", strerror(-err));
			if (C.hold_fd >= 0)
				close(C.hold_fd);
			C.hold_fd = -1;
			ctl_umems_destroy();
		}
	}
	if (err) {
		close(C.link_fd);
		C.link_fd = -1;
		ctl_prog_unload();
		return err;
	}
	if (C.cfg.csum == CTL_AUTO)
		C.csum = ctl_iface_partial_csum(C.cfg.iface) ? RING_CSUM_OFF : RING_CSUM_VERIFY;
	else
		C.csum = C.cfg.csum == CTL_ON ? RING_CSUM_VERIFY : RING_CSUM_OFF;
	C.installed = true;
	ctl_watch_start();
	if (C.hooks.installed)
		C.hooks.installed(C.ifindex);
	return 0;
}

/* One linger thread at a time: it sleeps until the (possibly extended)
 * deadline, then uninstalls if still idle.  Bind/close churn therefore
 * costs no thread per close. */
static void *ctl_linger_thread(void *p)
{
	(void)p;
	pthread_mutex_lock(C.lock);
	for (;;) {
		int64_t left = C.linger_deadline - ctl_now_ns();
		struct timespec ts;

		if (left <= 0 || C.forked || C.exiting)
			break;
		pthread_mutex_unlock(C.lock);
		ts.tv_sec = left / 1000000000;
		ts.tv_nsec = left % 1000000000;
		nanosleep(&ts, NULL);
		pthread_mutex_lock(C.lock);
	}
	if (C.installed && C.bind_cnt == 0 && !C.forked && !C.exiting)
		ctl_uninstall();
	C.linger_running = false;
	pthread_mutex_unlock(C.lock);
	return NULL;
}

void ctl_idle(void)
{
	pthread_attr_t at;
	pthread_t t;

	if (C.bind_cnt || !C.installed || C.pinned || C.forked)
		return;
	if (!C.cfg.linger_ms) {
		ctl_uninstall();
		return;
	}
	C.linger_deadline = ctl_now_ns() + (int64_t)C.cfg.linger_ms * 1000000;
	if (C.linger_running)
		return;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (!pthread_create(&t, &at, ctl_linger_thread, NULL))
		C.linger_running = true;   /* else: stays installed until exit; harmless */
	pthread_attr_destroy(&at);
}

void ctl_prepare_drop(const char *what)
{
	char why[160];
	uint32_t made = 0, have = 0;

	if (C.pinned)
		return;
	C.pinned = true;   /* one attempt: without the privileges there is no second */
	if (ctl_prepare(why, sizeof(why))) {
		ctl_log(CTL_LOG_WARN, "xdp", "the process is dropping privileges (%s) and the XDP install "
			 "could not be prepared before: %s; binds after the drop stay on the kernel path", what, why);
		return;
	}
	/* As many AF_XDP sockets as a bind takes from the pool, each with an
	 * rx ring deep enough for any socket (ctl_pool_get). */
	for (uint32_t i = 0; i < C.q_cnt; i++) {
		struct ring_umem *u = C.umem[C.q_ids[i]];

		while (C.pool_cnt[u->queue] < CTL_XSK_POOL) {
			struct ring_xsk *x = ring_xsk_create(u, u->frame_cnt);

			if (!x)
				break;
			C.pool[u->queue][C.pool_cnt[u->queue]++] = x;
			made++;
		}
		have += C.pool_cnt[u->queue];
	}
	ctl_log(CTL_LOG_WARN, "xdp", "install prepared because the process is dropping privileges (%s): "
		 "program attached to %s, UMEMs registered, %u AF_XDP socket(s) ready on %u queue(s) (%u new) "
		 "for binds after the drop; kept until exit", what, C.cfg.iface, have, C.q_cnt, made);
}

RING_FORK_TEXT void ctl_atexit(void)
{
	C.exiting = true;
	/* Detach first so nothing is redirected to sockets that are about to
	 * vanish; leave memory mapped, other threads may still be reading. */
	if (C.link_fd >= 0)
		close(C.link_fd);
	C.link_fd = -1;
}

/* In the child of a process with an install: keep every fd (the data
 * plane is the child's too), hold the inherited bindings (slot locks are not
 * inherited), and drop only what no binding of the child uses: the idle
 * AF_XDP sockets of the pool (the interposer forgets the owner's orphans
 * before, shim_orphans_atfork_child). */
RING_FORK_TEXT bool ctl_atfork_child(void)
{
	ctl_watch_atfork_child();
	if (C.linger_running)   /* (not written when unchanged: a page fault per fork) */
		C.linger_running = false;
	if (!C.installed && !C.tick_wanted)
		return false;   /* nothing inherited: the child is a process of its own */
	C.forked = true;
	if (C.tick_wanted)   /* (the interposer's orphans are the parent's) */
		C.tick_wanted = false;
	for (uint32_t q = 0; q < XSKSHIM_QUEUE_MAX; q++)
		while (C.pool_cnt[q])
			ring_xsk_forget(C.pool[q][--C.pool_cnt[q]]);
	/* slot locks are not inherited: take this process's own */
	for (struct ctl_bind *b = C.binds; b; b = b->next)
		ctl_slot_hold(b->slot, F_RDLCK);
	if (C.gate && C.gate->in_flight)
		__atomic_sub_fetch(&C.gate->in_flight, 1, __ATOMIC_RELEASE);
	return true;
}

void ctl_tick_want(bool want)
{
	__atomic_store_n(&C.tick_wanted, want, __ATOMIC_RELEASE);
}

void ctl_init(const struct ctl_cfg *cfg, pthread_mutex_t *lock, const struct ctl_hooks *hooks)
{
	C.cfg = *cfg;
	C.lock = lock;
	C.hooks = *hooks;
}

void ctl_log(enum ctl_log_lvl lvl, const char *subsys, const char *fmt, ...)
{
	va_list ap;

	if (!C.hooks.vlog)
		return;
	va_start(ap, fmt);
	C.hooks.vlog(lvl, subsys, fmt, ap);
	va_end(ap);
}
