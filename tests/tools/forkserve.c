/* forkserve.c - fork-heavy receivers for the fork tests (tests/t_fork.sh),
 * minimal forms of what nsd, nginx, socat and prefork servers do.
 *
 *   forkserve gens --port P
 *       Bind P, fork; the child opens a pipe and forks again; the grandchild
 *       checks that the pipe works and that every fd the program itself
 *       made is what it made.  Each generation prints its application fds as
 *       kinds ("fds gen N: pipe pipe udp:P ...", the shim's own fds - bpf
 *       objects, AF_XDP sockets, its memfd - left out), so a plain run and a
 *       preloaded one can be compared.  Exit 0 iff every check held.
 *
 *   forkserve prefork --port P --children N --expect C [--parent-close]
 *                     [--kill-one-after K] [--idle-ms T] [--max-secs S]
 *       Bind P, fork N children that all recvmmsg(16) the one socket and
 *       verify udpgen payloads; a bitmap over sequence numbers in memory
 *       shared by all of them catches duplicates.  --parent-close: the
 *       parent closes its socket after forking.  --kill-one-after K: the
 *       parent kills child 0 with SIGKILL once it has taken K datagrams.
 *       Children stop after T ms without data (once they got any) or when all
 *       C arrived.  Prints per child "child PID got N" and one line
 *       "prefork: expected C got G dup D killed_child_got K lost L".
 *
 *   forkserve daemon --port P --expect C [--forks LINGER_SECS]
 *       Bind P, daemon(3) (the launcher exits at once), serve like one
 *       prefork child, print "daemon: expected C got G dup D", then sleep.
 *
 *   forkserve spawn --port P --expect C
 *       Bind P; 20 posix_spawn(/bin/true) and 20 vfork children that
 *       close the socket and dup2 over its number before _exit; then serve
 *       C datagrams in this process: "spawn: ... got G dup D".
 *
 *   forkserve peekfork --port P --expect C
 *       socat UDP4-RECVFROM,fork's scheme: poll, MSG_PEEK the source, fork a
 *       child per datagram and wait (pipe) until it has read one; the child
 *       checks it read the peeked source's datagram and echoes it.  Prints
 *       "peekfork: children N, read another datagram than the parent
 *       peeked: M" and exits 0 iff M == 0.
 *
 *   forkserve killstorm --port P --children N --kills K --expect C [--echo]
 *                       [--idle-ms T] [--max-secs S]
 *       Bind P (the parent never reads), fork N children that recvmmsg(64)
 *       the socket and, with --echo, sendmmsg each batch back to its
 *       sources.  Storm: K times, after 1..30 ms, SIGKILL a random child
 *       (mid-receive or mid-send) and fork a new one; then every child is
 *       killed, "forkserve: storm done" goes to stderr, and N fresh
 *       children drain the socket until it is quiet for 300 ms and count
 *       udpgen datagrams with sequence numbers below C ("forkserve: verify
 *       ready" once quiet; others are the storm's stragglers, counted
 *       apart).  Prints "killstorm: kills K expected C got G dup D bad B
 *       stale X failed_children F" and exits 0 iff no verifier failed and
 *       none had to be killed after S seconds.
 *
 *   forkserve deadtx --port P --dst A [--expect C] [--max-secs S]
 *       Bind P and P+1 (two sockets on one queue: one UMEM).  A child
 *       sendmmsg()s 64 datagrams to A on P whose payload is an unreadable
 *       page: the shim takes the frames (and P's send lock), its copy of
 *       the payload faults, and the child's SIGSEGV handler reports and
 *       waits there - frames held, at a known point - to be killed (-9).
 *       Then a blocking sender on P+1 (a child, no SO_SNDTIMEO) sends C
 *       datagrams to A; nobody sends on P again (--same: the sender uses
 *       P itself, whose send lock it takes over).  Prints "deadtx: held
 *       yes|no sent N of C in T ms wedged 0|1" and exits 0 iff the dead
 *       child held the frames and the sender finished within S seconds.
 *
 *   forkserve forkcost --port P --forks N [--heap-mb M]
 *       Bind P, then time N fork + _exit + waitpid; prints the mean and the
 *       median of one.  --heap-mb: first write M MiB of private heap, the
 *       footprint of a daemon that holds zones or caches (its page tables
 *       are what a fork copies).
 *
 *   forkserve torture --port P --threads 4 --forks F --gens G [--max-secs S]
 *       Bind P; a reader thread receives while 4 threads fork F children in
 *       all; each child reads a few datagrams without blocking, forks again
 *       down to generation G (from whatever thread), and exits.  Prints
 *       "torture: forks N reaped N received R" and exits 0 iff every child
 *       exited 0 within the time bound.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/tools/toolutil.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif

static int udp_bound(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), big = 4 << 20;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- gens --------------------------------------------------------------- */

/* The kind of fd, or NULL for one of the shim's own. */
static const char *fd_kind(int fd, char *buf, size_t sz)
{
	char path[64], tgt[256];
	ssize_t n;
	struct stat st;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, tgt, sizeof(tgt) - 1);
	if (n < 0 || fstat(fd, &st))
		return "?";
	tgt[n] = 0;
	if (!strncmp(tgt, "anon_inode:bpf", 14) || !strcmp(tgt, "anon_inode:btf") ||
	    !strncmp(tgt, "/memfd:xskshim", 14))
		return NULL;
	if (S_ISFIFO(st.st_mode))
		return "pipe";
	if (S_ISSOCK(st.st_mode)) {
		int dom = 0, type = 0;
		socklen_t l = sizeof(dom);
		struct sockaddr_in a;

		getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l);
		l = sizeof(type);
		getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l);
		if (dom == AF_XDP)
			return NULL;
		if (dom == AF_NETLINK)
			return "netlink";
		l = sizeof(a);
		if (dom == AF_INET && type == SOCK_DGRAM && !getsockname(fd, (struct sockaddr *)&a, &l)) {
			snprintf(buf, sz, "udp:%u", ntohs(a.sin_port));
			return buf;
		}
		return "socket";
	}
	if (!strcmp(tgt, "anon_inode:[eventfd]"))
		return "eventfd";
	if (!strncmp(tgt, "/dev/", 5))
		return "dev";
	return "file";
}

static void fds_print(int gen)
{
	char line[1024], kb[32];
	size_t n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int dfd = d ? dirfd(d) : -1;
	int fds[256], cnt = 0;

	/* (fds from 512 up are the shim's: its close-on-exec copy of stderr) */
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) != dfd && atoi(e->d_name) < 512 && cnt < 256)
			fds[cnt++] = atoi(e->d_name);
	if (d)
		closedir(d);
	/* the kinds, sorted: fd numbers differ when the shim holds some */
	const char *kinds[256];
	static char kbufs[256][32];
	int kc = 0;

	for (int i = 0; i < cnt; i++) {
		const char *k = fd_kind(fds[i], kbufs[kc], sizeof(kbufs[kc]));

		if (k)
			kinds[kc++] = k;
	}
	for (int i = 0; i < kc; i++)
		for (int j = i + 1; j < kc; j++)
			if (strcmp(kinds[j], kinds[i]) < 0) {
				const char *t = kinds[i];
				kinds[i] = kinds[j];
				kinds[j] = t;
			}
	(void)kb;
	n = (size_t)snprintf(line, sizeof(line), "fds gen %d:", gen);
	for (int i = 0; i < kc && n < sizeof(line) - 40; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s", kinds[i]);
	printf("%s\n", line);
	fflush(stdout);
}

static int gens(uint16_t port)
{
	int s = udp_bound(port), st, pp[2];
	pid_t c, g;

	if (s < 0) {
		perror("bind");
		return 1;
	}
	fds_print(0);
	c = fork();
	if (c == 0) {
		if (pipe(pp)) {
			perror("pipe");
			_exit(1);
		}
		fds_print(1);
		g = fork();
		if (g == 0) {
			char b = 0;
			int ok = fcntl(pp[0], F_GETFD) >= 0 && fcntl(pp[1], F_GETFD) >= 0 &&
				 write(pp[1], "x", 1) == 1 && read(pp[0], &b, 1) == 1 && b == 'x' &&
				 dup2(pp[0], 0) == 0;
			int t = -1;
			socklen_t tl = sizeof(t);

			ok = ok && !getsockopt(s, SOL_SOCKET, SO_TYPE, &t, &tl) && t == SOCK_DGRAM;
			printf("gen 2: pipe fds %d %d %s, socket fd %d %s\n", pp[0], pp[1], ok ? "intact" : "BROKEN",
			       s, t == SOCK_DGRAM ? "intact" : "BROKEN");
			fds_print(2);
			/* one more generation after the fds moved around */
			if (fork() == 0) {
				fds_print(3);
				_exit(fcntl(pp[1], F_GETFD) >= 0 ? 0 : 1);
			}
			wait(&st);
			_exit(ok && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1);
		}
		waitpid(g, &st, 0);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
	}
	waitpid(c, &st, 0);
	printf("gens: %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ok" : "FAILED");
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

/* ---- prefork ------------------------------------------------------------ */

struct shared {
	uint64_t got[64];        /* per child, updated after each batch */
	uint64_t total;
	uint64_t dup;
	uint64_t bad;
	uint64_t bitmap[];       /* over sequence numbers */
};

static bool payload_seq(const uint8_t *p, size_t len, uint64_t *seq)
{
	if (len < 12)
		return false;
	*seq = get_le(p, 8);
	for (size_t i = 12; i < len; i++)
		if (p[i] != (uint8_t)(*seq * 31 + i))
			return false;
	return true;
}

static void child_serve(int s, int idx, struct shared *sh, uint64_t expect, int idle_ms, int max_secs)
{
	enum { B = 16 };
	static uint8_t buf[B][2048];
	struct mmsghdr mm[B];
	struct iovec iov[B];
	struct timeval tv = { 0, 100 * 1000 };
	uint64_t start = now_ns(), last = 0, mine = 0;

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		int r;

		for (int i = 0; i < B; i++) {
			iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
			memset(&mm[i], 0, sizeof(mm[i]));
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		r = recvmmsg(s, mm, B, MSG_WAITFORONE, NULL);
		for (int i = 0; i < r; i++) {
			uint64_t seq, bit;

			if (!payload_seq(buf[i], mm[i].msg_len, &seq) || seq >= expect) {
				__atomic_add_fetch(&sh->bad, 1, __ATOMIC_RELAXED);
				continue;
			}
			bit = 1ull << (seq & 63);
			if (__atomic_fetch_or(&sh->bitmap[seq >> 6], bit, __ATOMIC_RELAXED) & bit)
				__atomic_add_fetch(&sh->dup, 1, __ATOMIC_RELAXED);
		}
		if (r > 0) {
			mine += (uint64_t)r;
			__atomic_store_n(&sh->got[idx], mine, __ATOMIC_RELEASE);
			if (__atomic_add_fetch(&sh->total, (uint64_t)r, __ATOMIC_RELAXED) >= expect)
				break;
			last = now_ns();
		}
		if (__atomic_load_n(&sh->total, __ATOMIC_RELAXED) >= expect)
			break;
		if (last && now_ns() - last > (uint64_t)idle_ms * 1000000)
			break;
		if (now_ns() - start > (uint64_t)max_secs * 1000000000ull)
			break;
	}
	printf("child %d got %llu\n", (int)getpid(), (unsigned long long)mine);
	fflush(stdout);
}

static int prefork(uint16_t port, int children, uint64_t expect, bool parent_close, uint64_t kill_after,
		   int idle_ms, int max_secs)
{
	size_t sz = sizeof(struct shared) + (expect + 63) / 64 * 8;
	struct shared *sh = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int s = udp_bound(port), st, fails = 0;
	pid_t kids[64];
	uint64_t have = 0, killed_got = 0;

	if (s < 0 || sh == MAP_FAILED || children < 1 || children > 64) {
		perror("prefork setup");
		return 1;
	}
	fprintf(stderr, "forkserve: ready\n");
	for (int i = 0; i < children; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			child_serve(s, i, sh, expect, idle_ms, max_secs);
			exit(0);   /* (as servers do: atexit handlers and destructors run) */
		}
	}
	if (parent_close)
		close(s);
	if (kill_after) {
		uint64_t t0 = now_ns();

		while (__atomic_load_n(&sh->got[0], __ATOMIC_ACQUIRE) < kill_after &&
		       now_ns() - t0 < (uint64_t)max_secs * 1000000000ull)
			usleep(200);
		kill(kids[0], SIGKILL);
	}
	for (int i = 0; i < children; i++) {
		waitpid(kids[i], &st, 0);
		if (kill_after && i == 0)
			continue;
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			fails++;
	}
	if (kill_after)
		killed_got = __atomic_load_n(&sh->got[0], __ATOMIC_ACQUIRE);
	for (uint64_t k = 0; k < (expect + 63) / 64; k++)
		have += (uint64_t)__builtin_popcountll(sh->bitmap[k]);
	printf("prefork: expected %llu got %llu dup %llu bad %llu killed_child_got %llu lost %lld failed_children %d\n",
	       (unsigned long long)expect, (unsigned long long)have, (unsigned long long)sh->dup,
	       (unsigned long long)sh->bad, (unsigned long long)killed_got,
	       (long long)(expect - have), fails);
	return fails ? 1 : 0;
}

/* ---- torture ------------------------------------------------------------ */

static int t_sock;
static int t_gens, t_forks_left;
static uint64_t *t_received;   /* shared */

static void t_child(int gen)
{
	uint8_t b[2048];
	int st;

	for (int i = 0; i < 4; i++)
		if (recv(t_sock, b, sizeof(b), MSG_DONTWAIT) > 0)
			__atomic_add_fetch(t_received, 1, __ATOMIC_RELAXED);
	if (gen < t_gens) {
		pid_t c = fork();

		if (c == 0) {
			t_child(gen + 1);
			_exit(0);
		}
		if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
			_exit(1);
	}
}

static void *t_reader(void *p)
{
	uint8_t b[2048];
	struct timeval tv = { 0, 50 * 1000 };

	(void)p;
	setsockopt(t_sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (__atomic_load_n(&t_forks_left, __ATOMIC_RELAXED) > 0)
		if (recv(t_sock, b, sizeof(b), 0) > 0)
			__atomic_add_fetch(t_received, 1, __ATOMIC_RELAXED);
	return NULL;
}

static uint64_t t_forked, t_reaped, t_failed;

static void *t_forker(void *p)
{
	(void)p;
	while (__atomic_sub_fetch(&t_forks_left, 1, __ATOMIC_RELAXED) >= 0) {
		pid_t c = fork();
		int st;

		if (c == 0) {
			t_child(1);
			_exit(0);
		}
		if (c < 0) {
			__atomic_add_fetch(&t_failed, 1, __ATOMIC_RELAXED);
			continue;
		}
		__atomic_add_fetch(&t_forked, 1, __ATOMIC_RELAXED);
		if (waitpid(c, &st, 0) == c) {
			__atomic_add_fetch(&t_reaped, 1, __ATOMIC_RELAXED);
			if (!WIFEXITED(st) || WEXITSTATUS(st))
				__atomic_add_fetch(&t_failed, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

static int torture(uint16_t port, int threads, int forks, int gens_)
{
	pthread_t rd, th[16];
	uint64_t t0 = now_ns();

	t_sock = udp_bound(port);
	t_received = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t_sock < 0 || t_received == MAP_FAILED || threads < 1 || threads > 16) {
		perror("torture setup");
		return 1;
	}
	fprintf(stderr, "forkserve: ready\n");
	t_gens = gens_;
	t_forks_left = forks;
	pthread_create(&rd, NULL, t_reader, NULL);
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, t_forker, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	pthread_join(rd, NULL);
	printf("torture: forks %llu reaped %llu failed %llu received %llu secs %.1f\n",
	       (unsigned long long)t_forked, (unsigned long long)t_reaped, (unsigned long long)t_failed,
	       (unsigned long long)*t_received, (double)(now_ns() - t0) / 1e9);
	return t_failed || t_reaped != t_forked ? 1 : 0;
}

/* ---- daemon -------------------------------------------------------------- */

/* dnsmasq's way: bind, then daemon(3) (fork, setsid, fork; the launcher
 * exits at once); the grandchild serves, then lingers holding everything. */
static int daemonize(uint16_t port, uint64_t expect, int idle_ms, int max_secs, int linger_secs)
{
	size_t sz = sizeof(struct shared) + (expect + 63) / 64 * 8;
	struct shared *sh = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int s = udp_bound(port);
	uint64_t have = 0;

	if (s < 0 || sh == MAP_FAILED) {
		perror("daemon setup");
		return 1;
	}
	fflush(stdout);
	if (daemon(1, 1))
		return 1;
	printf("daemon pid %d\n", (int)getpid());
	fprintf(stderr, "forkserve: ready\n");
	child_serve(s, 0, sh, expect, idle_ms, max_secs);
	for (uint64_t k = 0; k < (expect + 63) / 64; k++)
		have += (uint64_t)__builtin_popcountll(sh->bitmap[k]);
	printf("daemon: expected %llu got %llu dup %llu\n", (unsigned long long)expect, (unsigned long long)have,
	       (unsigned long long)sh->dup);
	sleep((unsigned)linger_secs);
	return 0;
}

/* ---- spawn ----------------------------------------------------------------- */

/* Children that share our memory and run no fork handler: 20 posix_spawn of
 * /bin/true, and 20 vfork children that close the socket and dup2 another
 * fd over its number before _exit (what a shell does before exec); then
 * this process serves like a prefork child: the socket must still be ours,
 * accelerated. */
static int spawn(uint16_t port, uint64_t expect, int idle_ms, int max_secs)
{
	size_t sz = sizeof(struct shared) + (expect + 63) / 64 * 8;
	struct shared *sh = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int s = udp_bound(port), st, bad = 0;
	char *argv[] = { "true", NULL };
	uint64_t have = 0;

	if (s < 0 || sh == MAP_FAILED) {
		perror("spawn setup");
		return 1;
	}
	for (int i = 0; i < 20; i++) {
		pid_t c;

		if (posix_spawn(&c, "/bin/true", NULL, NULL, argv, environ) || waitpid(c, &st, 0) != c ||
		    !WIFEXITED(st) || WEXITSTATUS(st))
			bad++;
		c = vfork();
		if (c == 0) {
			close(s);
			dup2(1, s);
			_exit(0);
		}
		if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
			bad++;
	}
	fprintf(stderr, "forkserve: ready\n");
	child_serve(s, 0, sh, expect, idle_ms, max_secs);
	for (uint64_t k = 0; k < (expect + 63) / 64; k++)
		have += (uint64_t)__builtin_popcountll(sh->bitmap[k]);
	printf("spawn: 20 posix_spawn + 20 vfork (%d failed); then expected %llu got %llu dup %llu\n", bad,
	       (unsigned long long)expect, (unsigned long long)have, (unsigned long long)sh->dup);
	return bad ? 1 : 0;
}

/* ---- peekfork ------------------------------------------------------------- */

/* socat UDP4-RECVFROM,fork's scheme: the parent polls, peeks the source of
 * the next datagram (MSG_PEEK), forks a child per datagram and waits until
 * the child has read it (a pipe); the child reads one datagram, checks it
 * came from the peeked source, echoes it, exits.  Stops after C datagrams
 * or idle-ms without one. */
static int peekfork(uint16_t port, uint64_t expect, int idle_ms)
{
	int s = udp_bound(port), served = 0, mismatch = 0, st;
	uint64_t last = now_ns();

	if (s < 0) {
		perror("bind");
		return 1;
	}
	fprintf(stderr, "forkserve: ready\n");
	while ((uint64_t)served < expect) {
		struct pollfd p = { s, POLLIN, 0 };
		struct sockaddr_in pa = { 0 }, ca;
		socklen_t pl = sizeof(pa), cl = sizeof(ca);
		char b[1], buf[2048];
		int pp[2];
		pid_t c;

		if (poll(&p, 1, 100) <= 0) {
			if (now_ns() - last > (uint64_t)idle_ms * 1000000)
				break;
			continue;
		}
		if (recvfrom(s, b, 1, MSG_PEEK | MSG_TRUNC, (struct sockaddr *)&pa, &pl) < 0 || pipe(pp))
			break;
		c = fork();
		if (c == 0) {
			ssize_t k = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&ca, &cl);

			(void)!write(pp[1], "r", 1);
			if (k < 0)
				_exit(2);
			if (ca.sin_port != pa.sin_port || ca.sin_addr.s_addr != pa.sin_addr.s_addr) {
				fprintf(stderr, "forkserve: child %d: peeked %u, read %u\n", (int)getpid(),
					ntohs(pa.sin_port), ntohs(ca.sin_port));
				exit(3);
			}
			sendto(s, buf, (size_t)k, 0, (struct sockaddr *)&ca, cl);
			exit(0);
		}
		close(pp[1]);
		(void)!read(pp[0], b, 1);
		close(pp[0]);
		served++;
		last = now_ns();
		while (waitpid(-1, &st, WNOHANG) > 0)
			if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
				mismatch++;
	}
	while (waitpid(-1, &st, 0) > 0)
		if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
			mismatch++;
	printf("peekfork: children %d, read another datagram than the parent peeked: %d\n", served, mismatch);
	return mismatch ? 1 : 0;
}

/* ---- killstorm ------------------------------------------------------------ */

struct storm {
	uint64_t total;          /* verify phase: datagrams below expect */
	uint64_t dup, bad, stale;
	uint64_t storm_rx, storm_tx;
	uint32_t quiet;          /* verifiers that saw 300 ms without data */
	uint64_t bitmap[];
};

/* One batch of a storm child: up to 64 datagrams (a full send batch,
 * SHIM_TX_BATCH, taken ahead when echoed) with their sources; with echo,
 * sent back.  Returns what recvmmsg returned; *sent what went back. */
enum { STORM_B = 64 };
static uint8_t storm_buf[STORM_B][2048];
static unsigned int storm_len[STORM_B];

static int storm_batch(int s, bool echo, int *sent)
{
	static struct sockaddr_storage from[STORM_B];
	struct mmsghdr mm[STORM_B];
	struct iovec iov[STORM_B];
	int r;

	for (int i = 0; i < STORM_B; i++) {
		iov[i] = (struct iovec){ storm_buf[i], sizeof(storm_buf[i]) };
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = &from[i];
		mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
	}
	r = recvmmsg(s, mm, STORM_B, MSG_WAITFORONE, NULL);
	*sent = 0;
	if (r > 0 && echo) {
		for (int i = 0; i < r; i++)
			iov[i].iov_len = mm[i].msg_len;
		*sent = sendmmsg(s, mm, (unsigned int)r, 0);
	}
	if (r > 0)
		for (int i = 0; i < r; i++)
			storm_len[i] = mm[i].msg_len;
	return r;
}

/* Read (and echo) until killed: the storm phase. */
static void storm_child(int s, struct storm *sh, bool echo)
{
	struct timeval tv = { 0, 50 * 1000 };

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		int sent, r = storm_batch(s, echo, &sent);

		if (r > 0)
			__atomic_add_fetch(&sh->storm_rx, (uint64_t)r, __ATOMIC_RELAXED);
		if (sent > 0)
			__atomic_add_fetch(&sh->storm_tx, (uint64_t)sent, __ATOMIC_RELAXED);
	}
}

/* The verify phase: drain until quiet, then count what the test sends. */
static void verify_child(int s, struct storm *sh, uint64_t expect, bool echo, int idle_ms, int max_secs)
{
	struct timeval tv = { 0, 50 * 1000 };
	uint64_t start = now_ns(), last = now_ns(), mine = 0;
	bool quiet = false;

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		int sent, r = storm_batch(s, echo, &sent);

		for (int i = 0; i < r; i++) {
			uint64_t seq, bit;

			if (!payload_seq(storm_buf[i], storm_len[i], &seq)) {
				__atomic_add_fetch(&sh->bad, 1, __ATOMIC_RELAXED);
				continue;
			}
			if (seq >= expect || !quiet) {
				__atomic_add_fetch(&sh->stale, 1, __ATOMIC_RELAXED);
				continue;
			}
			bit = 1ull << (seq & 63);
			if (__atomic_fetch_or(&sh->bitmap[seq >> 6], bit, __ATOMIC_RELAXED) & bit)
				__atomic_add_fetch(&sh->dup, 1, __ATOMIC_RELAXED);
			else
				mine++;
		}
		if (r > 0)
			last = now_ns();
		if (!quiet && now_ns() - last > 300 * 1000000ull) {
			quiet = true;
			if (__atomic_add_fetch(&sh->quiet, 1, __ATOMIC_RELAXED) == 1)
				fprintf(stderr, "forkserve: verify ready\n");
		}
		if (quiet && mine) {
			__atomic_add_fetch(&sh->total, mine, __ATOMIC_RELAXED);
			mine = 0;
		}
		if (__atomic_load_n(&sh->total, __ATOMIC_RELAXED) >= expect)
			break;
		if (quiet && __atomic_load_n(&sh->total, __ATOMIC_RELAXED) &&
		    now_ns() - last > (uint64_t)idle_ms * 1000000)
			break;
		if (now_ns() - start > (uint64_t)max_secs * 1000000000ull)
			break;
	}
}

static int killstorm(uint16_t port, int children, int kills, uint64_t expect, bool echo, int idle_ms, int max_secs)
{
	size_t sz = sizeof(struct storm) + (expect + 63) / 64 * 8;
	struct storm *sh = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int s = udp_bound(port), st, fails = 0, killed_late = 0;
	pid_t kids[64];
	uint64_t have = 0, t0;

	if (s < 0 || sh == MAP_FAILED || children < 1 || children > 64) {
		perror("killstorm setup");
		return 1;
	}
	srand((unsigned int)getpid());
	fprintf(stderr, "forkserve: ready\n");
	for (int i = 0; i < children; i++)
		if ((kids[i] = fork()) == 0) {
			storm_child(s, sh, echo);
			_exit(0);
		}
	for (int k = 0; k < kills; k++) {
		int i = rand() % children;

		usleep(1000 + (useconds_t)(rand() % 29000));
		kill(kids[i], SIGKILL);
		waitpid(kids[i], &st, 0);
		if ((kids[i] = fork()) == 0) {
			storm_child(s, sh, echo);
			_exit(0);
		}
	}
	for (int i = 0; i < children; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], &st, 0);
	}
	fprintf(stderr, "forkserve: storm done: kills %d storm_rx %llu storm_tx %llu\n", kills + children,
		(unsigned long long)sh->storm_rx, (unsigned long long)sh->storm_tx);
	for (int i = 0; i < children; i++)
		if ((kids[i] = fork()) == 0) {
			verify_child(s, sh, expect, echo, idle_ms, max_secs);
			exit(0);   /* atexit handlers and destructors run */
		}
	t0 = now_ns();
	for (int i = 0; i < children; i++) {
		while (waitpid(kids[i], &st, WNOHANG) == 0) {
			if (now_ns() - t0 > (uint64_t)(max_secs + 5) * 1000000000ull) {
				kill(kids[i], SIGKILL);   /* wedged */
				killed_late++;
			}
			usleep(10000);
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			fails++;
	}
	for (uint64_t k = 0; k < (expect + 63) / 64; k++)
		have += (uint64_t)__builtin_popcountll(sh->bitmap[k]);
	printf("killstorm: kills %d expected %llu got %llu dup %llu bad %llu stale %llu failed_children %d "
	       "wedged %d\n", kills + children, (unsigned long long)expect, (unsigned long long)have,
	       (unsigned long long)sh->dup, (unsigned long long)sh->bad, (unsigned long long)sh->stale, fails,
	       killed_late);
	return fails || killed_late ? 1 : 0;
}

/* ---- deadtx ---------------------------------------------------------------- */

static int deadtx_pipe = -1;

/* The shim's copy of the payload faulted: its frames are taken and the
 * socket's send lock is held.  Say so and stay here until killed. */
static void deadtx_segv(int sig)
{
	(void)sig;
	if (write(deadtx_pipe, "S", 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

static int deadtx(uint16_t port, const char *dst, uint64_t count, int max_secs, bool same)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	int s1 = udp_bound(port), s2 = udp_bound((uint16_t)(port + 1)), pfd[2], st, held = 0, wedged = 0;
	uint64_t t0, ms;
	char c = 0;
	pid_t d, w;
	struct pollfd p;
	long sent;

	if (s1 < 0 || s2 < 0 || inet_pton(AF_INET, dst, &to.sin_addr) != 1 || pipe(pfd)) {
		perror("deadtx setup");
		return 1;
	}
	fprintf(stderr, "forkserve: ready\n");
	if ((d = fork()) == 0) {
		/* the payload: a page that faults when the shim copies it */
		uint8_t *bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct mmsghdr mm[64];
		struct iovec iov = { bad, 100 };
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = deadtx_segv;
		sigaction(SIGSEGV, &sa, NULL);
		close(pfd[0]);
		deadtx_pipe = pfd[1];
		memset(mm, 0, sizeof(mm));
		for (int i = 0; i < 64; i++) {
			mm[i].msg_hdr.msg_name = &to;
			mm[i].msg_hdr.msg_namelen = sizeof(to);
			mm[i].msg_hdr.msg_iov = &iov;
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		/* returns only if the shim did not copy it (the kernel's EFAULT) */
		sendmmsg(s1, mm, 64, 0);
		(void)!write(pfd[1], "R", 1);
		_exit(1);
	}
	close(pfd[1]);
	p = (struct pollfd){ .fd = pfd[0], .events = POLLIN };
	if (poll(&p, 1, 5000) == 1 && read(pfd[0], &c, 1) == 1 && c == 'S')
		held = 1;
	kill(d, SIGKILL);
	waitpid(d, &st, 0);
	fprintf(stderr, "forkserve: the child holding frames was killed (%s)\n",
		held ? "it faulted in the shim's copy" : c == 'R' ? "its send returned" : "no word from it");
	t0 = now_ns();
	if ((w = fork()) == 0) {
		static const uint8_t pay[64] = "deadtx";
		struct mmsghdr mm[16];
		struct iovec iov = { (void *)pay, sizeof(pay) };
		uint64_t done = 0;

		memset(mm, 0, sizeof(mm));
		for (int i = 0; i < 16; i++) {
			mm[i].msg_hdr.msg_name = &to;
			mm[i].msg_hdr.msg_namelen = sizeof(to);
			mm[i].msg_hdr.msg_iov = &iov;
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		while (done < count) {
			int r = sendmmsg(same ? s1 : s2, mm, count - done < 16 ? (unsigned int)(count - done) : 16, 0);

			if (r <= 0)
				_exit(1);
			done += (uint64_t)r;
		}
		_exit(0);
	}
	while (waitpid(w, &st, WNOHANG) == 0) {
		if (now_ns() - t0 > (uint64_t)max_secs * 1000000000ull) {
			kill(w, SIGKILL);
			waitpid(w, &st, 0);
			wedged = 1;
			break;
		}
		usleep(2000);
	}
	ms = (now_ns() - t0) / 1000000;
	sent = !wedged && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? (long)count : -1;
	printf("deadtx: held %s sent %ld of %llu in %llu ms wedged %d\n", held ? "yes" : "no", sent,
	       (unsigned long long)count, (unsigned long long)ms, wedged);
	close(s1);
	close(s2);
	return held && !wedged && sent == (long)count ? 0 : 1;
}

/* ---- forkcost ------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int forkcost(uint16_t port, int forks, int heap_mb)
{
	size_t heap = (size_t)(heap_mb > 0 ? heap_mb : 0) << 20;
	char *mem = heap ? malloc(heap) : NULL;
	int s = udp_bound(port), st;
	uint64_t t0, *each = calloc((size_t)forks, sizeof(*each));

	if (s < 0 || !each || forks < 1 || (heap && !mem)) {
		perror("forkcost");
		return 1;
	}
	for (size_t i = 0; i < heap; i += 4096)
		mem[i] = (char)i;
	t0 = now_ns();
	for (int i = 0; i < forks; i++) {
		uint64_t t = now_ns();
		pid_t c = fork();

		if (c == 0)
			_exit(0);
		if (c < 0 || waitpid(c, &st, 0) != c)
			return 1;
		each[i] = now_ns() - t;
	}
	t0 = now_ns() - t0;
	qsort(each, (size_t)forks, sizeof(*each), cmp_u64);
	printf("forkcost: %d forks, heap %d MiB, %.0f us each (fork + exit + wait), median %.0f us\n", forks,
	       heap_mb, (double)t0 / 1000.0 / forks, (double)each[forks / 2] / 1000.0);
	free(each);
	free(mem);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", 1, NULL, 'p' }, { "children", 1, NULL, 'c' }, { "expect", 1, NULL, 'e' },
		{ "parent-close", 0, NULL, 'C' }, { "kill-one-after", 1, NULL, 'k' },
		{ "idle-ms", 1, NULL, 'i' }, { "max-secs", 1, NULL, 'm' }, { "threads", 1, NULL, 't' },
		{ "forks", 1, NULL, 'f' }, { "gens", 1, NULL, 'g' }, { "kills", 1, NULL, 'K' },
		{ "echo", 0, NULL, 'E' }, { "heap-mb", 1, NULL, 'H' }, { "dst", 1, NULL, 'd' },
		{ "same", 0, NULL, 'S' }, { NULL, 0, NULL, 0 },
	};
	int port = 0, children = 4, idle_ms = 1000, max_secs = 30, threads = 4, forks = 1000, g = 4, kills = 200, heap_mb = 0, o;
	uint64_t expect = 1000, kill_after = 0;
	bool parent_close = false, echo = false, same = false;
	const char *mode = argc > 1 ? argv[1] : "", *dst = "198.18.0.1";

	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p': port = atoi(optarg); break;
		case 'c': children = atoi(optarg); break;
		case 'e': expect = strtoull(optarg, NULL, 0); break;
		case 'C': parent_close = true; break;
		case 'k': kill_after = strtoull(optarg, NULL, 0); break;
		case 'i': idle_ms = atoi(optarg); break;
		case 'm': max_secs = atoi(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'f': forks = atoi(optarg); break;
		case 'g': g = atoi(optarg); break;
		case 'K': kills = atoi(optarg); break;
		case 'E': echo = true; break;
		case 'H': heap_mb = atoi(optarg); break;
		case 'd': dst = optarg; break;
		case 'S': same = true; break;
		default: return 2;
		}
	}
	if (!port) {
		fprintf(stderr, "usage: forkserve gens|prefork|torture --port P [options] (see the source)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "gens"))
		return gens((uint16_t)port);
	if (!strcmp(mode, "prefork"))
		return prefork((uint16_t)port, children, expect, parent_close, kill_after, idle_ms, max_secs);
	if (!strcmp(mode, "daemon"))
		return daemonize((uint16_t)port, expect, idle_ms, max_secs, forks);
	if (!strcmp(mode, "spawn"))
		return spawn((uint16_t)port, expect, idle_ms, max_secs);
	if (!strcmp(mode, "peekfork"))
		return peekfork((uint16_t)port, expect, idle_ms);
	if (!strcmp(mode, "forkcost"))
		return forkcost((uint16_t)port, forks, heap_mb);
	if (!strcmp(mode, "killstorm"))
		return killstorm((uint16_t)port, children, kills, expect, echo, idle_ms, max_secs);
	if (!strcmp(mode, "deadtx"))
		return deadtx((uint16_t)port, dst, expect, max_secs, same);
	if (!strcmp(mode, "torture"))
		return torture((uint16_t)port, threads, forks, g);
	fprintf(stderr, "forkserve: unknown mode '%s'\n", mode);
	return 2;
}
