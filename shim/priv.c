/* priv.c - privilege drops.
 *
 * Design note
 * -----------
 * The install (program load and attach, UMEM registration, AF_XDP sockets)
 * needs CAP_BPF (or CAP_SYS_ADMIN), CAP_NET_ADMIN, CAP_NET_RAW, and
 * CAP_IPC_LOCK for a UMEM larger than RLIMIT_MEMLOCK.  Daemons drop them:
 * bind9's named calls capset (libcap) before it creates any listener, then
 * setuid; unbound, nsd and knotd bind first and switch user after.  What a
 * process can still do afterwards needs no capability: update BPF maps and
 * bind AF_XDP sockets through fds it already holds.
 *
 * So the wrappers of capset, setuid, seteuid, setreuid and setresuid (and
 * syscall() with those numbers, as libcap may call it) ask here, before the
 * real call and while the caller is still privileged, whether the call takes
 * away an effective capability the install needs.  If it does, and the
 * process has an active configuration, ctl_prepare_drop installs now
 * (if no bind did yet) and pre-creates SHIM_XSK_POOL AF_XDP sockets per
 * queue, so that later binds of configured ports are accelerated without
 * privilege, up to that many at once; beyond them a bind says visibly why it
 * stays on the kernel path.  The install then stays until exit: it could
 * not be made again.
 *
 * Which process does the work: only one that has a configuration
 * (XSKSHIM_IFACE and ports) and is dropping privileges the install needs -
 * a shell, `ip` or any child that keeps its privileges or never had them
 * does nothing here.  A program that drops privileges and then execs (su,
 * setpriv) pays one install that its exec discards (every fd of ours is
 * close-on-exec).  A fork child does nothing (it uses the parent's data
 * plane, or the kernel path).
 *
 * A uid switch also hands the statistics region /dev/shm/xskshim.PID to the
 * new uid, so the process can still remove it at exit.
 *
 * prctl is not interposed: PR_CAPBSET_DROP, PR_SET_KEEPCAPS and the secure
 * bits change what an exec or a later uid change keeps, never the effective
 * set of the caller, which is what the install needs now.
 *
 * Threads: capset changes the calling thread only, glibc's setuid every
 * thread; either way the preparation runs in the calling thread, before the
 * change, under shim_g.lock.  capget (the current thread's sets) is a plain
 * syscall.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/shim.h"

#define SHIM_CAP_BIT(c) (1ull << (c))
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/* The calling thread's effective set, or 0 if it cannot be read. */
static uint64_t shim_priv_eff_now(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };

	if (syscall(SYS_capget, &h, d))
		return 0;
	return d[0].effective | (uint64_t)d[1].effective << 32;
}

/* Whether going from effective set `now` to `next` loses something the
 * install needs that `now` has. */
static bool shim_priv_loses(uint64_t now, uint64_t next)
{
	const uint64_t need = SHIM_CAP_BIT(CAP_NET_ADMIN) | SHIM_CAP_BIT(CAP_NET_RAW) | SHIM_CAP_BIT(CAP_IPC_LOCK);
	const uint64_t bpf = SHIM_CAP_BIT(CAP_BPF) | SHIM_CAP_BIT(CAP_SYS_ADMIN);

	return (now & need & ~next) || ((now & bpf) && !(next & bpf));
}

static void shim_priv_prepare(const char *what)
{
	if (!shim_g.cfg.active || shim_g.forked)
		return;
	shim_init();
	shim_enter();
	pthread_mutex_lock(&shim_g.lock);
	if (!shim_g.exiting)
		ctl_prepare_drop(what);
	pthread_mutex_unlock(&shim_g.lock);
	shim_leave();
}

void shim_priv_capset(cap_user_header_t h, const cap_user_data_t d)
{
	uint64_t next;
	int saved = errno;

	if (!h || !d || (h->pid && h->pid != (int)syscall(SYS_gettid)))
		return;   /* another thread's sets: the kernel refuses that */
	next = d[0].effective;
	if (h->version != _LINUX_CAPABILITY_VERSION_1)
		next |= (uint64_t)d[1].effective << 32;
	if (shim_priv_loses(shim_priv_eff_now(), next))
		shim_priv_prepare("capset");
	errno = saved;
}

void shim_priv_euid(const char *what, uid_t new_euid)
{
	int saved = errno;

	if (new_euid == (uid_t)-1 || new_euid == geteuid())
		return;
	/* root to non-root clears the effective set */
	if (new_euid != 0 && geteuid() == 0 && shim_priv_loses(shim_priv_eff_now(), 0))
		shim_priv_prepare(what);
	/* the statistics region must stay removable by the process */
	shim_enter();
	pthread_mutex_lock(&shim_g.lock);
	shim_stats_owner(new_euid);
	pthread_mutex_unlock(&shim_g.lock);
	shim_leave();
	errno = saved;
}
