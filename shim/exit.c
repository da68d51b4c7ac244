/* exit.c - saying it, however the process ends, and when the shim cannot see.
 *
 * Design note
 * -----------
 * The end of a process: the exit summary (XSKSHIM_STATS=1), the removal of
 * /dev/shm/xskshim.PID and the detach happen in shim_exit_report, from
 * whichever of these ends the process first:
 *   - exit(3) or a return from main: the library destructor;
 *   - _exit(2)/_Exit(2) called by the program (pdns_recursor ends that way
 *     on SIGTERM): their wrappers, before the real call - but not in a vfork
 *     child, which shares our memory (its pid is not shim_g.pid);
 *   - a terminating signal whose action the program left at the default
 *     (SIGTERM, SIGINT, SIGHUP): a handler of ours, installed at start only
 *     for those, reports, restores the default action and raises the signal
 *     again, so the process ends exactly as it would have, by that signal.
 * The handler is invisible to the program: the sigaction and signal
 * wrappers report SIG_DFL where ours is installed, and a program installing
 * its own action simply replaces ours (setting SIG_DFL reinstalls ours).  It
 * has SA_RESTART, so it changes no restart decision (recv.c
 * shim_restartable).  A one-shot handler of the program (SA_RESETHAND:
 * node resets the terminal, then raise()s the signal again with the action
 * the kernel reset to SIG_DFL on delivery) would end the process with no
 * report; so the shim installs it without SA_RESETHAND behind a trampoline
 * that does the reset itself, to our invisible default, before calling the
 * program's handler: the re-raised signal then reaches our handler.  The
 * program reads its own action back from sigaction/signal.  In a signal handler the report only takes shim_g.lock
 * if it is free (the interrupted thread may hold it): otherwise it says the
 * summary was skipped.  A signal that kills without running anything
 * (SIGKILL, or a default action the program restored itself later) leaves
 * /dev/shm/xskshim.PID for `xskshim-stat --clean`.
 *
 * Programs the shim cannot see: a Go program makes its socket syscalls
 * itself (runtime, no libc).  At start, if /proc/self/exe has a
 * .go.buildinfo section, one line says so.  At a normal exit, a UDP socket
 * of this process bound to a configured port that the shim never saw bound
 * (raw syscalls, static code) gets one line naming it (/proc/net/udp{,6}
 * inodes against /proc/self/fd); not when a fork child ends with _exit
 * (a worker, a failed exec: what it holds is its parent's).
 *
 * Threads: the report runs once (an atomic flag), in whichever thread ends
 * the process.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/shim.h"

static const int shim_exit_sigs[] = { SIGTERM, SIGINT, SIGHUP };
#define SHIM_EXIT_SIG_CNT (sizeof(shim_exit_sigs) / sizeof(shim_exit_sigs[0]))

static bool shim_exit_sig(int sig)
{
	for (size_t i = 0; i < SHIM_EXIT_SIG_CNT; i++)
		if (shim_exit_sigs[i] == sig)
			return true;
	return false;
}

/* ---- unseen sockets ------------------------------------------------------ */

/* One line per UDP socket of ours bound to a configured port that the shim
 * did not see bound.  Not from a signal handler (stdio, opendir).  The
 * process's own fds come first: only when one of them is a socket the shim
 * does not know as bound is the UDP table read, because reading
 * /proc/net/udp{,6} walks every slot of the kernel's hash table, and that
 * walk was the largest part of what the shim added to the exit of a
 * short-lived process (a shell's children inherit LD_PRELOAD).  At most
 * SHIM_UNSEEN_MAX such sockets are looked up; a process with more gets
 * its first ones checked. */
#define SHIM_UNSEEN_MAX 1024

static unsigned long shim_unseen_ino[SHIM_UNSEEN_MAX];
static int shim_unseen_fd[SHIM_UNSEEN_MAX];

/* shim_fd_walk's step: fd, if it is a socket the shim does not know as
 * bound, into the table above (*arg counts them). */
static void shim_unseen_fd_note(int fd, void *arg)
{
	uint32_t *n = arg;
	char path[64], link[64];
	struct shim_sock *s;
	unsigned long ino;
	ssize_t l;

	if (*n >= SHIM_UNSEEN_MAX)
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	l = readlink(path, link, sizeof(link) - 1);
	if (l <= 0)
		return;
	link[l] = 0;
	if (sscanf(link, "socket:[%lu]", &ino) != 1)
		return;
	s = shim_sock_get_any(fd);
	if (!s || !s->port) {
		shim_unseen_fd[*n] = fd;
		shim_unseen_ino[(*n)++] = ino;
	}
	if (s)
		shim_sock_put(s);
}

static void shim_exit_unseen(void)
{
	static const char *const tabs[] = { "/proc/net/udp", "/proc/net/udp6" };
	uint32_t n = 0;
	char line[512];

	shim_fd_walk(shim_unseen_fd_note, &n);
	for (size_t t = 0; t < 2 && n; t++) {
		FILE *f = fopen(tabs[t], "re");

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char *c = strchr(line, ':'), *p;
			unsigned long ino;
			unsigned int port;

			/* "sl: local_address:port rem st tx:rx tr:when retr uid timeout inode" */
			if (!c || !(c = strchr(c + 1, ':')) || sscanf(c + 1, "%x", &port) != 1 || !port ||
			    !shim_cfg_port(&shim_g.cfg, (uint16_t)port))
				continue;
			p = c + 1;
			for (int k = 0; k < 8 && p; k++)   /* to the 9th field after local_address */
				p = strchr(p + strspn(p, " "), ' ');
			if (!p || sscanf(p, "%lu", &ino) != 1 || !ino)
				continue;
			for (uint32_t i = 0; i < n; i++)
				if (shim_unseen_ino[i] == ino)
					shim_log(SHIM_LOG_WARN, "sock", "fd %d is a UDP socket bound to configured port "
						 "%u that the shim never saw bound (raw syscalls or static code, not libc): "
						 "it was on the kernel path all along", shim_unseen_fd[i], port);
		}
		fclose(f);
	}
}

/* ---- the report ------------------------------------------------------------ */

RING_FORK_TEXT void shim_exit_report(enum shim_end how)
{
	bool in_signal = how == SHIM_END_SIGNAL, locked;

	if (__atomic_exchange_n(&shim_g.exit_done, 1, __ATOMIC_ACQ_REL) || !shim_g.inited)
		return;
	shim_enter();
	/* Not in a fork child that ends with _exit (the usual end of a
	 * worker or of a failed exec): its sockets are its parent's, and
	 * the scan (two /proc files, stdio, malloc) was most of what a
	 * fork + _exit cost under the shim. */
	if (shim_g.cfg.active && !shim_g.forked &&
	    (how == SHIM_END_EXIT || (how == SHIM_END_CALL && !shim_g.child)))
		shim_exit_unseen();
	/* under the lock: the linger thread may be uninstalling right now */
	locked = in_signal ? !pthread_mutex_trylock(&shim_g.lock) : !pthread_mutex_lock(&shim_g.lock);
	shim_g.exiting = true;
	if (!locked) {
		if (shim_g.cfg.stats)
			shim_log_always("summary", "---- xskshim summary skipped: the signal came while the "
					"shim was busy ----");
		shim_leave();
		return;
	}
	if (shim_g.cfg.stats)
		shim_stats_exit();
	shim_send_atexit();
	ctl_atexit();
	shim_stats_fini();
	pthread_mutex_unlock(&shim_g.lock);
	shim_leave();
}

static void shim_exit_on_signal(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	int saved = errno;

	shim_exit_report(SHIM_END_SIGNAL);
	sigemptyset(&dfl.sa_mask);
	REAL(sigaction)(sig, &dfl, NULL);
	/* delivered again, with the default action, when this handler returns */
	raise(sig);
	errno = saved;
}

static void shim_exit_hook(int sig)
{
	struct sigaction sa = { .sa_handler = shim_exit_on_signal, .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	REAL(sigaction)(sig, &sa, NULL);
}

static bool shim_exit_is_ours(const struct sigaction *sa)
{
	return !(sa->sa_flags & SA_SIGINFO) && sa->sa_handler == shim_exit_on_signal;
}

/* the program's one-shot (SA_RESETHAND) actions behind shim_exit_oneshot */
static struct sigaction shim_exit_app[SHIM_EXIT_SIG_CNT];

static size_t shim_exit_sig_idx(int sig)
{
	size_t i = 0;

	while (i < SHIM_EXIT_SIG_CNT - 1 && shim_exit_sigs[i] != sig)
		i++;
	return i;
}

static void shim_exit_oneshot(int sig, siginfo_t *si, void *uc)
{
	struct sigaction a = shim_exit_app[shim_exit_sig_idx(sig)];

	/* what SA_RESETHAND does on delivery, with our default for SIG_DFL */
	shim_exit_hook(sig);
	if (a.sa_flags & SA_SIGINFO)
		a.sa_sigaction(sig, si, uc);
	else if (a.sa_handler != SIG_DFL && a.sa_handler != SIG_IGN)
		a.sa_handler(sig);
}

static bool shim_exit_is_oneshot(const struct sigaction *sa)
{
	return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == shim_exit_oneshot;
}

static bool shim_exit_wants_oneshot(const struct sigaction *act)
{
	return act && (act->sa_flags & SA_RESETHAND) &&
	       ((act->sa_flags & SA_SIGINFO) || (act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN));
}

/* ---- Go ------------------------------------------------------------------ */

static bool shim_exe_is_go(void)
{
	Elf64_Ehdr eh;
	Elf64_Shdr sh, strs;
	char name[16];
	bool go = false;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(sh) || eh.e_shstrndx >= eh.e_shnum ||
	    pread(fd, &strs, sizeof(strs), (off_t)(eh.e_shoff + (uint64_t)eh.e_shstrndx * sizeof(sh))) != sizeof(strs))
		goto out;
	for (unsigned int i = 0; i < eh.e_shnum && !go; i++) {
		if (pread(fd, &sh, sizeof(sh), (off_t)(eh.e_shoff + (uint64_t)i * sizeof(sh))) != sizeof(sh) ||
		    pread(fd, name, sizeof(name), (off_t)(strs.sh_offset + sh.sh_name)) != sizeof(name))
			continue;
		go = !strncmp(name, ".go.buildinfo", sizeof(name));
	}
out:
	close(fd);
	return go;
}

/* ---- start ---------------------------------------------------------------- */

void shim_exit_init(void)
{
	/* resolved now, not by a dlsym in every fork child's _exit (it wrote
	 * pages the child then had to copy) */
	(void)REAL(_exit);
	(void)REAL(_Exit);
	if (!shim_g.cfg.iface_given)
		return;
	if (shim_g.cfg.active && shim_exe_is_go())
		shim_log(SHIM_LOG_WARN, "sock", "this is a Go program: Go makes its socket calls itself, not "
			 "through libc, so the shim never sees its sockets; they stay on the kernel path");
	for (size_t i = 0; i < SHIM_EXIT_SIG_CNT; i++) {
		struct sigaction cur;

		if (!REAL(sigaction)(shim_exit_sigs[i], NULL, &cur) && !(cur.sa_flags & SA_SIGINFO) &&
		    cur.sa_handler == SIG_DFL)
			shim_exit_hook(shim_exit_sigs[i]);
	}
}

/* ---- the program's view: wrappers -------------------------------------------- */

static int shim_exit_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction cur, app;
	bool ours, oneshot;
	int r;

	if (shim_guard || !shim_exit_sig(sig) || REAL(sigaction)(sig, NULL, &cur))
		return REAL(sigaction)(sig, act, old);
	ours = shim_exit_is_ours(&cur);
	oneshot = shim_exit_is_oneshot(&cur);
	app = shim_exit_app[shim_exit_sig_idx(sig)];
	if (act && !(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_DFL && shim_g.cfg.iface_given &&
	    !__atomic_load_n(&shim_g.exit_done, __ATOMIC_ACQUIRE)) {
		/* the default again: ours stays (or comes back) in its place */
		if (old)
			*old = cur;
		if (!ours)
			shim_exit_hook(sig);
		r = 0;
	} else if (shim_exit_wants_oneshot(act) && shim_g.cfg.iface_given &&
		   !__atomic_load_n(&shim_g.exit_done, __ATOMIC_ACQUIRE)) {
		struct sigaction tramp = *act;

		tramp.sa_sigaction = shim_exit_oneshot;
		tramp.sa_flags = (act->sa_flags & ~SA_RESETHAND) | SA_SIGINFO;
		shim_exit_app[shim_exit_sig_idx(sig)] = *act;
		r = REAL(sigaction)(sig, &tramp, old);
	} else {
		r = REAL(sigaction)(sig, act, old);
	}
	if (!r && ours && old) {
		memset(old, 0, sizeof(*old));
		old->sa_handler = SIG_DFL;
	} else if (!r && oneshot && old) {
		*old = app;
	}
	return r;
}

SHIM_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return shim_exit_sigaction(sig, act, old);
}

/* glibc's signal(): BSD semantics (SA_RESTART, the signal blocked in its
 * handler) */
SHIM_EXPORT sighandler_t signal(int sig, sighandler_t h)
{
	struct sigaction act = { .sa_handler = h, .sa_flags = SA_RESTART }, old;

	if (shim_guard || !shim_exit_sig(sig))
		return REAL(signal)(sig, h);
	if (h == SIG_ERR) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, sig);
	if (shim_exit_sigaction(sig, &act, &old))
		return SIG_ERR;
	return old.sa_handler;
}

/* Not in a vfork child: it shares our memory and its pid is not ours. */
#define SHIM_EXIT_WRAP(name)                                          \
	SHIM_EXPORT RING_FORK_TEXT void name(int st)                  \
	{                                                             \
		if (!shim_guard && getpid() == shim_g.pid)            \
			shim_exit_report(SHIM_END_CALL);              \
		REAL(name)(st);                                       \
		__builtin_unreachable();                              \
	}
SHIM_EXIT_WRAP(_exit)
SHIM_EXIT_WRAP(_Exit)
