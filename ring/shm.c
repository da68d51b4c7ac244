/* shm.c - memory shared across fork and the robust lock word that guards it
 * (design in ring.h: "Process safety"). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ring/ring.h"

__thread uint64_t ring_lock_me __attribute__((tls_model("initial-exec")));

static size_t ring_shm_round(size_t sz)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (sz + pg - 1) & ~(pg - 1);
}

void *ring_shm_alloc(size_t sz)
{
	void *p = mmap(NULL, ring_shm_round(sz), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void ring_shm_free(void *p, size_t sz)
{
	if (p)
		munmap(p, ring_shm_round(sz));
}

/* In a fork child the only thread is the one that forked, and its cached
 * id names the parent's thread. */
RING_FORK_TEXT static void ring_lock_atfork_child(void)
{
	ring_lock_me = 0;
}

static void ring_lock_once(void)
{
	pthread_atfork(NULL, NULL, ring_lock_atfork_child);
}

uint64_t ring_lock_self_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, ring_lock_once);
	ring_lock_me = (uint64_t)(uint32_t)getpid() << 32 | (uint32_t)syscall(SYS_gettid);
	return ring_lock_me;
}

static int64_t ring_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

bool ring_lock_holder_dead(uint64_t v)
{
	int pid = (int)(v >> 32), tid = (int)(uint32_t)(v & ~RING_LOCK_WAITING), saved = errno;
	bool dead = false;

	if (syscall(SYS_tgkill, pid, tid, 0) && errno == ESRCH) {
		dead = true;
	} else if (tid == pid) {
		/* A thread-group leader killed and not yet reaped is a zombie
		 * that tgkill still finds; its parent may be the very waiter
		 * (it reaps only after this call returns). */
		char path[48], buf[512];
		ssize_t n;
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n > 0) {
				char *p;

				buf[n] = 0;
				p = strrchr(buf, ')');
				dead = p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
			}
		}
	}
	errno = saved;
	return dead;
}

/* The futex word: the tid half of the lock word (the half that holds
 * RING_LOCK_WAITING).  Shared across processes: no FUTEX_PRIVATE_FLAG. */
static uint32_t *ring_lock_futex(uint64_t *l)
{
	return (uint32_t *)l + (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__);
}

void ring_lock_wake(uint64_t *l)
{
	int saved = errno;

	syscall(SYS_futex, ring_lock_futex(l), FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	errno = saved;
}

/* Sleep while the word is still cur | RING_LOCK_WAITING, at most until
 * next_check (the holder check must come round even if nobody wakes us). */
static void ring_lock_sleep(uint64_t *l, uint64_t cur, int64_t next_check)
{
	int64_t left = next_check - ring_now_ns();
	struct timespec ts;
	int saved = errno;

	if (left <= 0)
		return;
	ts.tv_sec = left / 1000000000;
	ts.tv_nsec = left % 1000000000;
	syscall(SYS_futex, ring_lock_futex(l), FUTEX_WAIT, (uint32_t)(cur | RING_LOCK_WAITING), &ts, NULL, 0);
	errno = saved;
}

uint64_t ring_lock_slow(uint64_t *l, uint64_t me)
{
	int64_t next_check = 0;
	uint32_t spins = 0;

	for (;;) {
		uint64_t cur = __atomic_load_n(l, __ATOMIC_RELAXED);

		if (!cur) {
			if (__atomic_compare_exchange_n(l, &cur, me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				return 0;
			continue;
		}
		if (++spins < RING_LOCK_SPINS) {
			ring_cpu_relax();
			continue;
		}
		/* Held for long: the holder may be descheduled (sleep until
		 * it drops the lock) or dead (check it now and then). */
		if (!next_check) {
			next_check = ring_now_ns() + RING_LOCK_CHECK_NS;
		} else if (ring_now_ns() >= next_check) {
			next_check = ring_now_ns() + RING_LOCK_CHECK_NS;
			if (ring_lock_holder_dead(cur)) {
				if (__atomic_compare_exchange_n(l, &cur, me, false, __ATOMIC_ACQUIRE,
								__ATOMIC_RELAXED)) {
					/* the dead holder's sleepers wait for a
					 * drop that would not wake them: wake
					 * them now */
					if (cur & RING_LOCK_WAITING)
						ring_lock_wake(l);
					return cur & ~(uint64_t)RING_LOCK_WAITING;
				}
				/* Another waiter took it over first.  cur now
				 * holds the word as it is - 0 if that one has
				 * already dropped it: look again from the top.
				 * (Going on set RING_LOCK_WAITING on a free
				 * word, 0x80000000, a holder nobody is and no
				 * check finds dead: every taker slept on it
				 * for good, t_killstorm's wedge.) */
				continue;
			}
		}
		if (!(cur & RING_LOCK_WAITING) &&
		    !__atomic_compare_exchange_n(l, &cur, cur | RING_LOCK_WAITING, false, __ATOMIC_RELAXED,
						 __ATOMIC_RELAXED))
			continue;   /* dropped or changed hands meanwhile: look again */
		ring_lock_sleep(l, cur, next_check);
	}
}
