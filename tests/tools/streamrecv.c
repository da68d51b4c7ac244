/* streamrecv.c - a UDP receiver written like Agave's (Solana) streamer, for
 * xskshim tests and the benchmark.  Runs unmodified on kernel sockets or
 * under LD_PRELOAD=libxskshim.so.
 *
 *   streamrecv --port 9000 [--bind ADDR] [--threads N] [--expect N] ...
 *
 * --threads N opens N sockets in one SO_REUSEPORT group (the option set before
 * bind on each), one receive thread per socket.  Receive styles:
 *   default     non-blocking socket; loop { poll(POLLIN, 1000 ms); then
 *               recvmmsg(64, MSG_WAITFORONE, timeout 1 s) until EAGAIN }
 *               - what streamer/src/recvmmsg.rs + packet.rs::recv_from do
 *   --spin      non-blocking socket, busy loop on recvmmsg(64, MSG_DONTWAIT)
 *   --epoll     non-blocking socket in an edge-triggered epoll set (as
 *               quinn/tokio register it); loop { epoll_wait(1, 1000 ms);
 *               then recvmmsg(64, MSG_WAITFORONE, timeout 1 s) until EAGAIN }
 *   --quic      what quinn-udp does (issue 13): after bind IP_RECVTOS,
 *               IP_MTU_DISCOVER=PROBE, IP_PKTINFO, SO_TIMESTAMPNS, IP_RECVERR
 *               (IPv6: the IPV6_ ones too), a UDP_SEGMENT probe set and
 *               cleared; the socket in an edge-triggered epoll set with
 *               EPOLLIN|EPOLLOUT|EPOLLRDHUP (as mio registers it); loop {
 *               epoll_wait; then recvmmsg(32, 0) until EAGAIN }, every
 *               message's control messages parsed as quinn-udp does;
 *               --gro adds UDP_GRO and 64 KiB buffers: a coalesced message
 *               (UDP_GRO cmsg, segment size S) is cut into S-byte datagrams,
 *               each verified
 *   --blocking  blocking socket, recvmmsg(64, MSG_WAITFORONE)
 *               (SO_RCVTIMEO bounds each wait so the stop checks run)
 * --prefork N (poll or spin style) opens one socket and forks N children
 * that all read it, as prefork servers do (nginx workers, nsd
 * server-count); the counters, the sequence bitmap and the stop state live
 * in memory shared by them, the parent only waits and sums.  A flow is
 * then split between readers by design: flows_split is printed but does not
 * fail the run; per_thread lists each child's count, and cpu_ns_per_pkt
 * sums every child's CPU.
 * --rcvbuf BYTES sets SO_RCVBUFFORCE (falls back to SO_RCVBUF).
 *
 * Every datagram is checked against the udpgen pattern (see udpgen.c): all
 * payload bytes are read and compared; too short, truncated (MSG_TRUNC),
 * out-of-range sequence numbers, wrong source family or port 0 count as bad.
 * With --expect N a shared bitmap over sequence numbers 0..N-1 (atomic
 * fetch-or) finds duplicates and missing datagrams.  Per thread a table of
 * source ports seen shows whether any flow was split across sockets.
 *
 * Stops when --expect datagrams arrived, after --idle-ms (default 2000) of
 * silence following the first datagram (silence the reader was there to
 * see: a receive call after the idle time came back empty), after
 * --max-secs (default 60), or on SIGINT/SIGTERM (still printing the
 * summary); after SIGUSR1, once 300 ms pass without a datagram.
 * After the summary, one stderr line says why it stopped, the reader's
 * longest absence between two checks, and which sequence numbers are
 * missing (sr_print_stop).
 * Prints "streamrecv: ready ..." on stderr once every socket is bound, then
 * one summary line on stdout:
 *   streamrecv: received=N bad=B dup=D missing=M secs=S pps=X
 *     first_to_last_secs=T flows=F flows_split=K reordered=R per_thread=a,b,...
 * (reordered: datagrams of a flow - source port - that came after a later
 * one of the same flow on the same socket)
 *     cpu_ns_per_pkt=C messages=M
 * (messages: receive entries filled; fewer than received with --gro)
 * secs is the whole receive phase; pps is received / first_to_last_secs.
 * cpu_ns_per_pkt is the process's user+system CPU time (getrusage) over the
 * active window - sampled at the first datagram and then at most once per
 * millisecond while datagrams arrive - divided by received; so the idle
 * spinning before the first and after the last datagram is not counted.
 *
 * Exit status 0 iff (with --expect) received == expect and bad, dup and
 * flows_split and reordered are 0; without --expect iff something arrived and
 * bad, flows_split and reordered are 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/tools/toolutil.h"

#define SR_BATCH        64          /* NUM_RCVMMSGS in Agave */
#define SR_THREADS_MAX  64
#define SR_PAYLOAD_MAX  65536
#define SR_HDR_SZ       12
#define SR_CPU_SAMPLE_NS 1000000ull

enum sr_style { SR_POLL, SR_SPIN, SR_BLOCKING, SR_EPOLL, SR_QUIC };
#define SR_QUIC_BATCH   32          /* quinn-udp's BATCH_SIZE */
#define SR_CTL_SZ       88          /* quinn-udp's CMSG_LEN */
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

struct sr_conf {
	unsigned port;
	const char *bind_addr;
	unsigned threads;
	enum sr_style style;
	int rcvbuf;
	size_t bufsize;
	uint64_t expect;
	unsigned idle_ms;
	double max_secs;
	int poll_ms;
	bool gro;                       /* --gro (with --quic) */
	unsigned batch;                 /* messages per recvmmsg */
	unsigned prefork;               /* --prefork: children reading one socket */
};

struct sr_thread {
	pthread_t th;
	unsigned idx;
	int fd;
	int ep;                         /* --epoll: the thread's epoll set */
	int family;
	int err;
	uint64_t received, bad, dup;
	uint64_t first_ns, last_ns;     /* CLOCK_MONOTONIC, 0 = none yet */
	uint64_t cpu_first, cpu_last;   /* process CPU ns at samples */
	uint64_t cpu_sample_at;         /* monotonic time of last sample */
	uint64_t nmsgs;                 /* messages (a GRO one holds several) */
	uint64_t counted;               /* received already added to g->total */
	uint64_t check_ns;              /* the last sr_should_stop, 0 = none yet */
	uint64_t quiet_ns;              /* a receive (or wait) last came back empty */
	unsigned ecn_seen;
	uint8_t ctl[SR_BATCH][SR_CTL_SZ]; /* --quic: control buffers */
	uint8_t *ports_seen;            /* [65536] source ports seen */
	uint64_t *flow_next;            /* [65536] per source port: highest seq + 1 */
	uint64_t reordered;             /* a flow's datagram after a later one */
	uint8_t *bufs;
	struct mmsghdr msgs[SR_BATCH];
	struct iovec iov[SR_BATCH];
	struct sockaddr_storage names[SR_BATCH];
};

static struct sr_conf conf = {
	.bind_addr = "0.0.0.0",
	.threads = 1,
	.style = SR_POLL,
	.bufsize = 2048,
	.idle_ms = 2000,
	.max_secs = 60,
	.poll_ms = 1000,
};

/* Shared between threads (and --prefork children: MAP_SHARED): only
 * touched with __atomic builtins, except g_start_ns and the seq_bitmap
 * pointer, written before the threads start. */
struct sr_glob {
	uint64_t total;             /* datagrams received, all threads */
	uint64_t last_ns;           /* most recent non-empty batch, 0 = none */
	uint64_t max_gap_ns;        /* longest time between two stop checks */
	int stop;                   /* 0 or the first enum sr_stop reason */
	int drain;                  /* SIGUSR1 seen */
};

/* Why the run ended (the first reason set wins; printed on stderr). */
enum sr_stop { SR_STOP_SIGNAL = 1, SR_STOP_EXPECT, SR_STOP_IDLE, SR_STOP_MAX_SECS, SR_STOP_ERROR };
static const char *const sr_stop_names[] = { "none", "signal", "expect", "idle", "max-secs", "error" };
static struct sr_glob *g;
static uint64_t *seq_bitmap;        /* expect bits, fetch-or per datagram */
static uint64_t g_start_ns;

static void sr_stop(enum sr_stop why)
{
	int none = 0;

	__atomic_compare_exchange_n(&g->stop, &none, (int)why, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* pat_tab[k] = k & 0xff: the pattern of seq from byte 12 on is
 * pat_tab + ((seq * 31 + 12) & 0xff). */
static uint8_t pat_tab[256 + SR_PAYLOAD_MAX];

/* SIGINT/SIGTERM end the run with a summary (threads notice within one
 * poll timeout).  A lock-free atomic store is async-signal-safe. */
static void on_signal(int sig)
{
	(void)sig;
	sr_stop(SR_STOP_SIGNAL);
}

/* SIGUSR1: the senders are done - stop after SR_DRAIN_IDLE_MS of silence
 * (what is still on its way through the stack arrives first), however
 * long --idle-ms is. */
#define SR_DRAIN_IDLE_MS 300
static void on_drain(int sig)
{
	(void)sig;
	__atomic_store_n(&g->drain, 1, __ATOMIC_RELAXED);
}




/* Checks one datagram; returns true if it is good.  Sets *dup. */
static bool sr_check(struct sr_thread *t, const uint8_t *p, size_t len, int flags,
		     const struct sockaddr_storage *from, bool *dup)
{
	uint16_t sport;
	uint64_t seq;

	*dup = false;
	if (from->ss_family != t->family)
		return false;
	if (from->ss_family == AF_INET)
		sport = ntohs(((const struct sockaddr_in *)from)->sin_port);
	else
		sport = ntohs(((const struct sockaddr_in6 *)from)->sin6_port);
	if (sport == 0)
		return false;
	t->ports_seen[sport] = 1;
	if ((flags & MSG_TRUNC) || len < SR_HDR_SZ)
		return false;
	seq = get_le(p, 8);
	/* per flow (source port) on this socket, sequence numbers only grow
	 * (udpgen numbers globally, so with several senders give each its
	 * own --sport-base and --seq-base) */
	if (seq + 1 < t->flow_next[sport])
		t->reordered++;
	else
		t->flow_next[sport] = seq + 1;
	if (memcmp(p + SR_HDR_SZ, pat_tab + ((seq * 31 + SR_HDR_SZ) & 0xff), len - SR_HDR_SZ))
		return false;
	if (seq_bitmap) {
		uint64_t bit;

		if (seq >= conf.expect)
			return false;
		bit = 1ull << (seq & 63);
		if (__atomic_fetch_or(&seq_bitmap[seq >> 6], bit, __ATOMIC_RELAXED) & bit)
			*dup = true;
	}
	return true;
}

static void sr_reset_msgs(struct sr_thread *t)
{
	unsigned i;

	for (i = 0; i < conf.batch; i++) {
		t->msgs[i].msg_hdr.msg_namelen = sizeof(t->names[i]);
		t->msgs[i].msg_hdr.msg_flags = 0;
		t->msgs[i].msg_len = 0;
		if (conf.style == SR_QUIC) {
			t->msgs[i].msg_hdr.msg_control = t->ctl[i];
			t->msgs[i].msg_hdr.msg_controllen = SR_CTL_SZ;
		}
	}
}

static void sr_account(struct sr_thread *t, unsigned n)
{
	uint64_t now = now_ns(), total;
	unsigned i;

	for (i = 0; i < n; i++) {
		struct msghdr *h = &t->msgs[i].msg_hdr;
		size_t len = t->msgs[i].msg_len, stride = len, off = 0;
		bool dup;

		if (conf.style == SR_QUIC) {
			/* quinn-udp's decode_recv: ECN from TOS, the
			 * destination from PKTINFO, the GRO stride */
			for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
				if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
					int v;

					memcpy(&v, CMSG_DATA(c), sizeof(v));
					if (v > 0)
						stride = (size_t)v;
				} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) {
					t->ecn_seen |= *CMSG_DATA(c) & 3;
				}
			}
		}
		do {   /* each datagram of the message */
			size_t l = len - off < stride ? len - off : stride;

			if (!sr_check(t, (uint8_t *)t->iov[i].iov_base + off, l, h->msg_flags, &t->names[i], &dup))
				t->bad++;
			else if (dup)
				t->dup++;
			t->received++;
			off += stride;
		} while (off < len);
	}
	t->nmsgs += n;
	if (!t->first_ns) {
		t->first_ns = now;
		t->cpu_first = proc_cpu_ns();
		t->cpu_last = t->cpu_first;
		t->cpu_sample_at = now;
	} else if (now - t->cpu_sample_at >= SR_CPU_SAMPLE_NS) {
		t->cpu_last = proc_cpu_ns();
		t->cpu_sample_at = now;
	}
	t->last_ns = now;
	__atomic_store_n(&g->last_ns, now, __ATOMIC_RELAXED);
	total = __atomic_add_fetch(&g->total, t->received - t->counted, __ATOMIC_RELAXED);
	t->counted = t->received;
	if (conf.expect && total >= conf.expect)
		sr_stop(SR_STOP_EXPECT);
}

/* Returns true when the run should end (sets the shared stop flag). */
static bool sr_should_stop(struct sr_thread *t)
{
	uint64_t now, last, gap, max;

	if (__atomic_load_n(&g->stop, __ATOMIC_RELAXED))
		return true;
	now = now_ns();
	/* the reader's own longest absence (off its CPU, or in one receive
	 * call or wait) */
	gap = t->check_ns && now > t->check_ns ? now - t->check_ns : 0;
	t->check_ns = now;
	max = __atomic_load_n(&g->max_gap_ns, __ATOMIC_RELAXED);
	while (gap > max && !__atomic_compare_exchange_n(&g->max_gap_ns, &max, gap, false,
							 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	/* Another thread may have stored a later time, so check last <
	 * quiet_ns before subtracting.  0 = nothing arrived yet.  Silence is
	 * measured up to the moment a receive or wait last came back empty,
	 * not up to now: measured up to now, a reader kept off its CPU past
	 * the idle time stopped without reading what had queued meanwhile. */
	last = __atomic_load_n(&g->last_ns, __ATOMIC_RELAXED);
	if ((last && t->quiet_ns > last &&
	     t->quiet_ns - last > (uint64_t)(__atomic_load_n(&g->drain, __ATOMIC_RELAXED) ? SR_DRAIN_IDLE_MS : conf.idle_ms) *
				  1000000ull)) {
		sr_stop(SR_STOP_IDLE);
		return true;
	}
	if ((double)(now - g_start_ns) / 1e9 > conf.max_secs) {
		sr_stop(SR_STOP_MAX_SECS);
		return true;
	}
	return false;
}

/* recvmmsg wrapper; returns count, 0 for "nothing now", -1 on hard error. */
static int sr_recv(struct sr_thread *t, int flags, struct timespec *tmo)
{
	int n;

	sr_reset_msgs(t);
	n = recvmmsg(t->fd, t->msgs, conf.batch, flags, tmo);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			/* a non-blocking call saw the socket empty right after
			 * the stop check (no clock read in the spin loop); a
			 * wait, when it ended */
			t->quiet_ns = flags & MSG_DONTWAIT ? t->check_ns : now_ns();
			return 0;
		}
		t->err = errno;
		return -1;
	}
	if (n > 0)
		sr_account(t, (unsigned)n);
	return n;
}

static void *sr_thread_main(void *arg)
{
	struct sr_thread *t = arg;

	while (!sr_should_stop(t)) {
		struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
		struct timespec tmo = { .tv_sec = 1 };
		int n;

		switch (conf.style) {
		case SR_POLL:
			n = poll(&pfd, 1, conf.poll_ms);
			if (n < 0 && errno != EINTR) {
				t->err = errno;
				goto out;
			}
			if (n <= 0) {
				t->quiet_ns = now_ns();
				continue;
			}
			/* drain: recvmmsg until EAGAIN, like the streamer */
			do {
				n = sr_recv(t, MSG_WAITFORONE, &tmo);
				if (n < 0)
					goto out;
			} while (n > 0 && !__atomic_load_n(&g->stop, __ATOMIC_RELAXED));
			break;
		case SR_EPOLL:
		case SR_QUIC: {
			struct epoll_event ev;
			bool quic = conf.style == SR_QUIC;

			n = epoll_wait(t->ep, &ev, 1, conf.poll_ms);
			if (n < 0 && errno != EINTR) {
				t->err = errno;
				goto out;
			}
			if (n <= 0 || ev.data.ptr != t || !(ev.events & EPOLLIN)) {
				t->quiet_ns = now_ns();
				continue;
			}
			do {   /* edge-triggered: drain until EAGAIN */
				n = quic ? sr_recv(t, 0, NULL) : sr_recv(t, MSG_WAITFORONE, &tmo);
				if (n < 0)
					goto out;
			} while (n > 0 && !__atomic_load_n(&g->stop, __ATOMIC_RELAXED));
			break;
		}
		case SR_SPIN:
			if (sr_recv(t, MSG_DONTWAIT, NULL) < 0)
				goto out;
			break;
		case SR_BLOCKING:
			if (sr_recv(t, MSG_WAITFORONE, NULL) < 0)
				goto out;
			break;
		}
	}
out:
	if (t->err) {
		fprintf(stderr, "streamrecv: thread %u: %s\n", t->idx, strerror(t->err));
		sr_stop(SR_STOP_ERROR);
	}
	return NULL;
}

/* quinn-udp's socket setup after bind (issue 13 lists it). */
static int sr_quic_opts(int fd, int family)
{
	static const struct { int v6, lvl, opt, val; } o[] = {
		{ 0, IPPROTO_IP, IP_RECVTOS, 1 }, { 0, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE },
		{ 0, IPPROTO_IP, IP_PKTINFO, 1 }, { 1, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_PROBE },
		{ 1, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1 }, { 1, IPPROTO_IPV6, IPV6_RECVTCLASS, 1 },
		{ 1, IPPROTO_IPV6, IPV6_DONTFRAG, 1 }, { 0, SOL_SOCKET, SO_TIMESTAMPNS, 1 },
		{ 0, IPPROTO_IP, IP_RECVERR, 1 }, { 1, IPPROTO_IPV6, IPV6_RECVERR, 1 },
		{ 0, IPPROTO_UDP, UDP_SEGMENT, 1200 }, { 0, IPPROTO_UDP, UDP_SEGMENT, 0 },
	};
	int one = 1;

	for (size_t i = 0; i < sizeof(o) / sizeof(o[0]); i++)
		if ((!o[i].v6 || family == AF_INET6) &&
		    setsockopt(fd, o[i].lvl, o[i].opt, &o[i].val, sizeof(o[i].val)))
			return -1;
	if (conf.gro && setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)))
		return -1;
	return 0;
}

static int sr_socket_open(struct sr_thread *t)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	int one = 1, fd, type = SOCK_DGRAM | SOCK_CLOEXEC;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, conf.bind_addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)conf.port);
		slen = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, conf.bind_addr,
			     &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)conf.port);
		slen = sizeof(struct sockaddr_in6);
	} else {
		fprintf(stderr, "streamrecv: bad --bind '%s'\n", conf.bind_addr);
		return -EINVAL;
	}
	t->family = ss.ss_family;
	if (conf.style != SR_BLOCKING)
		type |= SOCK_NONBLOCK;
	fd = socket(ss.ss_family, type, IPPROTO_UDP);
	if (fd < 0)
		goto err;
	if (conf.threads > 1 &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))
		goto err_close;
	if (conf.rcvbuf &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &conf.rcvbuf, sizeof(conf.rcvbuf)) &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &conf.rcvbuf, sizeof(conf.rcvbuf)))
		goto err_close;
	if (conf.style == SR_BLOCKING) {
		struct timeval tv = {
			.tv_sec = conf.idle_ms / 2000,
			.tv_usec = (conf.idle_ms / 2 % 1000) * 1000,
		};

		if (!tv.tv_sec && !tv.tv_usec)
			tv.tv_usec = 1000;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
			goto err_close;
	}
	if (bind(fd, (struct sockaddr *)&ss, slen))
		goto err_close;
	t->fd = fd;
	t->ep = -1;
	if (conf.style == SR_QUIC && sr_quic_opts(fd, ss.ss_family))
		goto err_close;
	if (conf.style == SR_EPOLL || conf.style == SR_QUIC) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.ptr = t };

		if (conf.style == SR_QUIC)
			ev.events |= EPOLLOUT | EPOLLRDHUP;

		t->ep = epoll_create1(EPOLL_CLOEXEC);
		if (t->ep < 0 || epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &ev))
			goto err_close;
	}
	return 0;
err_close:
	{
		int e = errno;

		close(fd);
		errno = e;
	}
err:
	fprintf(stderr, "streamrecv: socket %u: %s\n", t->idx, strerror(errno));
	return -errno;
}

/* Zeroed memory the --prefork children share with the parent (private
 * calloc otherwise).  Never freed: the process exits. */
static void *sr_zalloc(size_t n)
{
	void *p;

	if (!conf.prefork)
		return calloc(1, n);
	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* One stderr line: why the run stopped, the reader's longest absence
 * between two stop checks, the time from the last datagram to the end, and
 * (with --expect) the first missing sequence ranges:
 *   streamrecv: stop=idle max_gap_ms=M last_to_end_ms=L missing_seq=a-b,c,...
 * Whole-batch holes (udpgen sends batches of 64 of one flow) point at the
 * sender's path; a stop before the sender finished points at the bound. */
static void sr_print_stop(uint64_t end_ns)
{
	uint64_t last = __atomic_load_n(&g->last_ns, __ATOMIC_RELAXED), k, lo = 0;
	unsigned ranges = 0;
	bool in = false;
	int why = __atomic_load_n(&g->stop, __ATOMIC_RELAXED);

	fprintf(stderr, "streamrecv: stop=%s max_gap_ms=%.1f last_to_end_ms=%.1f",
		sr_stop_names[why >= 0 && why <= SR_STOP_ERROR ? why : 0],
		(double)__atomic_load_n(&g->max_gap_ns, __ATOMIC_RELAXED) / 1e6,
		last && end_ns > last ? (double)(end_ns - last) / 1e6 : 0.0);
	if (seq_bitmap) {
		fprintf(stderr, " missing_seq=");
		for (k = 0; k <= conf.expect; k++) {
			bool miss = k < conf.expect && !(seq_bitmap[k / 64] >> (k % 64) & 1);

			if (miss && !in) {
				lo = k;
				in = true;
			} else if (!miss && in) {
				in = false;
				if (ranges < 16)
					fprintf(stderr, "%s%llu-%llu", ranges ? "," : "", (unsigned long long)lo,
						(unsigned long long)k - 1);
				ranges++;
			}
		}
		if (ranges > 16)
			fprintf(stderr, ",...(%u ranges)", ranges);
		else if (!ranges)
			fprintf(stderr, "none");
	}
	fputc('\n', stderr);
}

/* --prefork: child i runs reader i on the one socket; the parent waits for
 * them all.  Returns the number started. */
static unsigned sr_prefork_run(struct sr_thread *th, unsigned n)
{
	unsigned i, started = 0, reaped = 0;

	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("streamrecv: fork");
			sr_stop(SR_STOP_ERROR);
			break;
		}
		if (!pid) {
			sr_thread_main(&th[i]);
			_exit(th[i].err ? 1 : 0);
		}
		started++;
	}
	while (reaped < started)
		if (wait(NULL) >= 0)
			reaped++;
		else if (errno != EINTR)
			break;
	return started;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: streamrecv --port P [options]\n"
		"  --bind ADDR      address to bind (default 0.0.0.0; :: for IPv6)\n"
		"  --threads N      sockets in one SO_REUSEPORT group, one thread each\n"
		"  --prefork N      one socket read by N forked children (poll or spin)\n"
		"  --spin           busy loop on recvmmsg(MSG_DONTWAIT) instead of poll\n"
		"  --blocking       blocking socket, recvmmsg(MSG_WAITFORONE)\n"
		"  --quic           quinn-udp's setup and read: options, epoll(ET), recvmmsg(32) to EAGAIN\n"
		"  --gro            with --quic: UDP_GRO, 64 KiB buffers, coalesced messages cut\n"
		"  --poll-ms MS     poll timeout (default 1000, as the streamer)\n"
		"  --rcvbuf BYTES   SO_RCVBUFFORCE\n"
		"  --bufsize BYTES  receive buffer per message (default 2048)\n"
		"  --expect N       datagrams expected (seq 0..N-1); stop when all arrived\n"
		"  --idle-ms MS     stop after MS of silence after the first datagram\n"
		"  --max-secs S     hard bound on the run (default 60)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "threads", required_argument, NULL, 't' },
		{ "prefork", required_argument, NULL, 'F' },
		{ "spin", no_argument, NULL, 'S' },
		{ "epoll", no_argument, NULL, 'E' },
		{ "blocking", no_argument, NULL, 'B' },
		{ "quic", no_argument, NULL, 'Q' },
		{ "gro", no_argument, NULL, 'G' },
		{ "poll-ms", required_argument, NULL, 'P' },
		{ "rcvbuf", required_argument, NULL, 'r' },
		{ "bufsize", required_argument, NULL, 'z' },
		{ "expect", required_argument, NULL, 'e' },
		{ "idle-ms", required_argument, NULL, 'i' },
		{ "max-secs", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct sr_thread *th;
	uint64_t received = 0, bad = 0, dup = 0, missing = 0, first = 0, last = 0, reordered = 0, msgs = 0;
	uint64_t cpu_first = UINT64_MAX, cpu_last = 0, cpu, end_ns, k, child_cpu = 0;
	unsigned flows = 0, split = 0, i, started = 0, nth;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': conf.port = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'b': conf.bind_addr = optarg; break;
		case 't': conf.threads = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'F': conf.prefork = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'S': conf.style = SR_SPIN; break;
		case 'E': conf.style = SR_EPOLL; break;
		case 'Q': conf.style = SR_QUIC; break;
		case 'G': conf.gro = true; break;
		case 'B': conf.style = SR_BLOCKING; break;
		case 'P': conf.poll_ms = atoi(optarg); break;
		case 'r': conf.rcvbuf = atoi(optarg); break;
		case 'z': conf.bufsize = strtoul(optarg, NULL, 0); break;
		case 'e': conf.expect = strtoull(optarg, NULL, 0); break;
		case 'i': conf.idle_ms = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'm': conf.max_secs = strtod(optarg, NULL); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	conf.batch = conf.style == SR_QUIC ? SR_QUIC_BATCH : SR_BATCH;
	if (conf.gro && conf.bufsize == 2048)
		conf.bufsize = SR_PAYLOAD_MAX;   /* quinn-udp: 64 KiB per GRO message */
	if (!conf.port || conf.port > 65535 || !conf.threads || (conf.gro && conf.style != SR_QUIC) ||
	    conf.threads > SR_THREADS_MAX || conf.bufsize < 1 ||
	    conf.bufsize > SR_PAYLOAD_MAX || conf.max_secs <= 0 || conf.poll_ms < 0 ||
	    (conf.prefork && (conf.threads != 1 || conf.prefork > SR_THREADS_MAX ||
			      (conf.style != SR_POLL && conf.style != SR_SPIN)))) {
		usage(stderr);
		return 2;
	}
	nth = conf.prefork ? conf.prefork : conf.threads;
	g = mmap(NULL, sizeof(*g), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g == MAP_FAILED) {
		perror("streamrecv: mmap");
		return 1;
	}

	for (k = 0; k < sizeof(pat_tab); k++)
		pat_tab[k] = (uint8_t)k;
	if (conf.expect) {
		seq_bitmap = sr_zalloc((conf.expect + 63) / 64 * sizeof(uint64_t));
		if (!seq_bitmap) {
			perror("streamrecv: bitmap");
			return 1;
		}
	}
	th = sr_zalloc(nth * sizeof(*th));
	if (!th)
		return 1;
	for (i = 0; i < nth; i++) {
		struct sr_thread *t = &th[i];
		unsigned j;

		t->idx = i;
		t->fd = -1;
		t->ports_seen = sr_zalloc(65536);
		t->flow_next = sr_zalloc(65536 * sizeof(*t->flow_next));
		t->bufs = malloc(SR_BATCH * conf.bufsize);
		if (!t->ports_seen || !t->flow_next || !t->bufs)
			return 1;
		for (j = 0; j < SR_BATCH; j++) {
			t->iov[j].iov_base = t->bufs + j * conf.bufsize;
			t->iov[j].iov_len = conf.bufsize;
			t->msgs[j].msg_hdr.msg_iov = &t->iov[j];
			t->msgs[j].msg_hdr.msg_iovlen = 1;
			t->msgs[j].msg_hdr.msg_name = &t->names[j];
		}
		if (i && conf.prefork) {   /* the children read the one socket */
			t->fd = th[0].fd;
			t->ep = -1;
			t->family = th[0].family;
		} else if (sr_socket_open(t)) {
			rc = 1;
			goto out;
		}
	}
	fprintf(stderr, "streamrecv: ready port=%u threads=%u prefork=%u style=%s\n", conf.port,
		conf.threads, conf.prefork, conf.style == SR_POLL ? "poll" :
		conf.style == SR_SPIN ? "spin" : conf.style == SR_EPOLL ? "epoll" :
		conf.style == SR_QUIC ? (conf.gro ? "quic+gro" : "quic") : "blocking");

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_drain);
	g_start_ns = now_ns();
	for (i = 0; i < (conf.prefork ? 0 : conf.threads); i++) {
		int e = pthread_create(&th[i].th, NULL, sr_thread_main, &th[i]);

		if (e) {
			fprintf(stderr, "streamrecv: pthread_create: %s\n", strerror(e));
			sr_stop(SR_STOP_ERROR);
			rc = 1;
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(th[i].th, NULL);
	if (conf.prefork)
		sr_prefork_run(th, nth);
	end_ns = now_ns();

	for (i = 0; i < nth; i++) {
		struct sr_thread *t = &th[i];

		received += t->received;
		bad += t->bad;
		dup += t->dup;
		reordered += t->reordered;
		msgs += t->nmsgs;
		if (t->err)
			rc = 1;
		if (t->first_ns) {
			if (!first || t->first_ns < first)
				first = t->first_ns;
			if (t->last_ns > last)
				last = t->last_ns;
			if (t->cpu_first < cpu_first)
				cpu_first = t->cpu_first;
			if (t->cpu_last > cpu_last)
				cpu_last = t->cpu_last;
			child_cpu += t->cpu_last - t->cpu_first;   /* --prefork: each its own process */
		}
	}
	for (k = 0; k < 65536; k++) {
		unsigned seen = 0;

		for (i = 0; i < nth; i++)
			seen += th[i].ports_seen[k];
		flows += seen > 0;
		split += seen > 1;
	}
	if (seq_bitmap) {
		uint64_t have = 0;

		for (k = 0; k < (conf.expect + 63) / 64; k++)
			have += (uint64_t)__builtin_popcountll(seq_bitmap[k]);
		missing = conf.expect - have;
	}
	cpu = cpu_last > cpu_first && cpu_first != UINT64_MAX ? cpu_last - cpu_first : 0;
	if (conf.prefork)
		cpu = child_cpu;
	if (!cpu)
		cpu = conf.prefork ? children_cpu_ns() : proc_cpu_ns();   /* too short to sample: whole run */

	{
		double secs = (double)(end_ns - g_start_ns) / 1e9;
		double span = last > first ? (double)(last - first) / 1e9 : 0;

		printf("streamrecv: received=%llu bad=%llu dup=%llu missing=%llu secs=%.3f "
		       "pps=%.0f first_to_last_secs=%.6f flows=%u flows_split=%u reordered=%llu per_thread=",
		       (unsigned long long)received, (unsigned long long)bad,
		       (unsigned long long)dup, (unsigned long long)missing, secs,
		       span > 0 ? (double)received / span : 0.0, span, flows, split, (unsigned long long)reordered);
		for (i = 0; i < nth; i++)
			printf("%s%llu", i ? "," : "", (unsigned long long)th[i].received);
		printf(" cpu_ns_per_pkt=%.1f messages=%llu\n", received ? (double)cpu / (double)received : 0.0,
		       (unsigned long long)msgs);
		fflush(stdout);
	}
	sr_print_stop(end_ns);
	if (conf.expect) {
		if (received != conf.expect || bad || dup || (split && !conf.prefork) || reordered)
			rc = 1;
	} else if (!received || bad || (split && !conf.prefork) || reordered) {
		rc = 1;
	}
out:
	if (conf.prefork) {   /* shared mappings: the exit unmaps them */
		if (th[0].fd >= 0)
			close(th[0].fd);
		return rc;
	}
	for (i = 0; i < conf.threads; i++) {
		if (th[i].fd >= 0)
			close(th[i].fd);
		free(th[i].ports_seen);
		free(th[i].flow_next);
		free(th[i].bufs);
	}
	free(th);
	free(seq_bitmap);
	return rc;
}
