/* fault_recv.c - a small UDP receiver for the fault tests (tests/t_fault_*.sh,
 * tests/t_hostile.sh).  Runs unmodified on kernel sockets or under
 * LD_PRELOAD=libxskshim.so; it reports what a fault did to the receive calls.
 *
 *   fault_recv --port P [--bind ADDR] [--style poll|epoll|block|spin|recvfrom]
 *              [--expect N] [--idle-ms MS] [--max-secs S] [--poll-ms MS]
 *              [--rcvbuf BYTES] [--dump] [--progress-ms MS] [--bind-only]
 *              [--probe PORT]
 *
 * --bind defaults to "::" (dual stack: sees IPv4 and IPv6).  A failing
 * bind prints  "fault_recv: bind failed errno=NAME(N): text"  on stdout and
 * exits 3 (after closing the socket), so tests can read the errno.  After a
 * successful bind, "fault_recv: ready" goes to stderr; --bind-only exits 0
 * right there.  --probe PORT first does what Agave's port picker does: a
 * socket bound to [::]:PORT and closed right away, printing
 * "fault_recv: probe bind PORT ok" or "... failed errno=NAME(N)".
 *
 * Receive styles: poll = non-blocking, poll(POLLIN, --poll-ms) then
 * recvmmsg(64, MSG_DONTWAIT) until EAGAIN; epoll = the same with epoll_wait;
 * block = blocking recvmmsg(64, MSG_WAITFORONE) with SO_RCVTIMEO --poll-ms;
 * spin = recvmmsg(64, MSG_DONTWAIT) in a loop; recvfrom = blocking
 * recvfrom() one datagram at a time with SO_RCVTIMEO --poll-ms.
 *
 * Datagrams of >= 12 bytes are read as the udpgen pattern (seq LE u64 at 0);
 * with --expect N a bitmap over 0..N-1 counts duplicates and missing ones.
 * reordered counts datagrams whose seq is below the last one seen from the
 * same flow (bytes 8..11, flows 0..FR_FLOWS-1): the kernel never does that.
 * --dump prints one line per datagram on stdout:
 *   dgram len=L src=ADDR sport=P data=<first 40 bytes, non-printables as \xHH>
 * --progress-ms prints "progress received=N" on stdout (flushed) that often.
 *
 * It stops when --expect datagrams arrived, after --idle-ms (default 2000)
 * of silence following the first datagram (0: never), after --max-secs
 * (default 20), or on SIGTERM/SIGINT/SIGUSR1 (installed without SA_RESTART).
 * It then prints one summary line on stdout and returns from main (so
 * library destructors, e.g. the shim's XSKSHIM_STATS summary, run):
 *   fault_recv: received=N bytes=B dup=D missing=M eagain=E early_timeouts=T
 *     errors=K lasterr=NAME secs=S cpu_ms=C pps=P
 * (pps: received over the time from the first to the last datagram)
 * early_timeouts counts waits (poll/epoll returning 0, or a timed blocking
 * receive failing with EAGAIN) that returned in less than half the timeout:
 * a readiness call that does not really wait.
 *
 * Exit status: 0 if (with --expect) all arrived, or (without) the run ended
 * normally; 1 if datagrams are missing; 3 bind failed; 2 usage.
 */
#define FR_FLOWS 64
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define BUFSZ 65536

enum style { ST_POLL, ST_EPOLL, ST_BLOCK, ST_SPIN, ST_RECVFROM };

static volatile sig_atomic_t stop;
static void on_sig(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "?";
}

static void dump(const uint8_t *b, size_t len, const struct sockaddr_storage *ss)
{
	char addr[INET6_ADDRSTRLEN] = "?", data[200];
	unsigned port = 0;
	size_t i, n = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, addr, sizeof(addr));
		port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof(addr));
		port = ntohs(a->sin6_port);
	}
	for (i = 0; i < len && i < 40; i++) {
		if (b[i] >= 0x21 && b[i] < 0x7f && b[i] != '\\')
			data[n++] = (char)b[i];
		else
			n += (size_t)snprintf(data + n, sizeof(data) - n, "\\x%02x", b[i]);
	}
	data[n] = 0;
	printf("dgram len=%zu src=%s sport=%u data=%s\n", len, addr, port, data);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },   { "bind", required_argument, NULL, 'b' },
		{ "style", required_argument, NULL, 's' },  { "expect", required_argument, NULL, 'e' },
		{ "idle-ms", required_argument, NULL, 'i' }, { "max-secs", required_argument, NULL, 'm' },
		{ "poll-ms", required_argument, NULL, 'P' }, { "rcvbuf", required_argument, NULL, 'r' },
		{ "dump", no_argument, NULL, 'd' },          { "progress-ms", required_argument, NULL, 'g' },
		{ "bind-only", no_argument, NULL, 'o' },     { "help", no_argument, NULL, 'h' },
		{ "probe", required_argument, NULL, 'x' },
		{ 0 }
	};
	const char *bind_addr = "::";
	enum style style = ST_POLL;
	unsigned port = 0, idle_ms = 2000, poll_ms = 200, progress_ms = 0, probe = 0;
	double max_secs = 20;
	uint64_t expect = 0, received = 0, bytes = 0, dup = 0, eagain = 0, early = 0, errors = 0, distinct = 0;
	uint64_t reordered = 0, flow_last[FR_FLOWS] = {0};
	uint8_t flow_seen[FR_FLOWS] = {0};
	bool do_dump = false, bind_only = false;
	int rcvbuf = 0, lasterr = 0, c, fd, ep = -1;
	uint8_t *bitmap = NULL;
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	double t0, t_first = 0, t_last = 0, t_prog;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': port = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'b': bind_addr = optarg; break;
		case 's':
			if (!strcmp(optarg, "poll")) style = ST_POLL;
			else if (!strcmp(optarg, "epoll")) style = ST_EPOLL;
			else if (!strcmp(optarg, "block")) style = ST_BLOCK;
			else if (!strcmp(optarg, "spin")) style = ST_SPIN;
			else if (!strcmp(optarg, "recvfrom")) style = ST_RECVFROM;
			else { fprintf(stderr, "fault_recv: bad --style\n"); return 2; }
			break;
		case 'e': expect = strtoull(optarg, NULL, 0); break;
		case 'i': idle_ms = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'm': max_secs = strtod(optarg, NULL); break;
		case 'P': poll_ms = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'r': rcvbuf = atoi(optarg); break;
		case 'd': do_dump = true; break;
		case 'g': progress_ms = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'o': bind_only = true; break;
		case 'x': probe = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'h':
			printf("usage: fault_recv --port P [--bind ADDR] [--style poll|epoll|block|spin|recvfrom]\n"
			       "  [--expect N] [--idle-ms MS] [--max-secs S] [--poll-ms MS] [--rcvbuf B]\n"
			       "  [--dump] [--progress-ms MS] [--bind-only] [--probe PORT]\n");
			return 0;
		default: return 2;
		}
	}
	if (!port || !poll_ms) {
		fprintf(stderr, "fault_recv: --port required (and --poll-ms > 0)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	{
		struct sigaction sa = { .sa_handler = on_sig };   /* no SA_RESTART */
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGUSR1, &sa, NULL);
	}
	if (probe) {
		struct sockaddr_in6 pa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)probe) };
		int pfd = socket(AF_INET6, SOCK_DGRAM, 0), off = 0;

		setsockopt(pfd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
		if (bind(pfd, (struct sockaddr *)&pa, sizeof(pa)))
			printf("fault_recv: probe bind %u failed errno=%s(%d)\n", probe, errname(errno), errno);
		else
			printf("fault_recv: probe bind %u ok\n", probe);
		close(pfd);
	}
	if (strchr(bind_addr, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, bind_addr, &a->sin6_addr) != 1)
			return 2;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, bind_addr, &a->sin_addr) != 1)
			return 2;
		sl = sizeof(*a);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | (style == ST_POLL || style == ST_EPOLL || style == ST_SPIN
						  ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0) {
		printf("fault_recv: socket failed errno=%s(%d): %s\n", errname(errno), errno, strerror(errno));
		return 3;
	}
	if (ss.ss_family == AF_INET6) {
		int off = 0;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	}
	if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&ss, sl)) {
		int e = errno;
		printf("fault_recv: bind failed errno=%s(%d): %s\n", errname(e), e, strerror(e));
		close(fd);
		return 3;
	}
	fprintf(stderr, "fault_recv: ready port=%u bind=%s\n", port, bind_addr);
	printf("fault_recv: bind ok\n");
	if (bind_only) {
		close(fd);
		return 0;
	}
	if (style == ST_BLOCK || style == ST_RECVFROM) {
		struct timeval tv = { poll_ms / 1000, (long)(poll_ms % 1000) * 1000 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	if (style == ST_EPOLL) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
			return 2;
	}
	if (expect) {
		bitmap = calloc((size_t)(expect + 7) / 8, 1);
		if (!bitmap)
			return 2;
		/* touch every page now, so RSS samples of a long run stay flat
		 * (volatile: a memset after calloc would be optimised away) */
		for (size_t i = 0; i < (size_t)(expect + 7) / 8; i += 4096)
			((volatile uint8_t *)bitmap)[i] = 0;
	}

	static uint8_t bufs[BATCH][BUFSZ];
	static struct sockaddr_storage from[BATCH];
	struct mmsghdr v[BATCH];
	struct iovec iov[BATCH];

	t0 = t_prog = now_s();
	while (!stop) {
		double t = now_s();
		int n = 0, e = 0;

		if (t - t0 > max_secs)
			break;
		if (expect && distinct >= expect)
			break;
		if (idle_ms && t_first && (t - t_last) * 1000 > idle_ms)
			break;
		if (progress_ms && (t - t_prog) * 1000 >= progress_ms) {
			printf("progress received=%llu\n", (unsigned long long)received);
			t_prog = t;
		}
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], BUFSZ };
			memset(&v[i], 0, sizeof(v[i]));
			v[i].msg_hdr.msg_iov = &iov[i];
			v[i].msg_hdr.msg_iovlen = 1;
			v[i].msg_hdr.msg_name = &from[i];
			v[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		if (style == ST_POLL || style == ST_EPOLL) {
			int r;
			double w0 = now_s();
			if (style == ST_POLL) {
				struct pollfd p = { .fd = fd, .events = POLLIN };
				r = poll(&p, 1, (int)poll_ms);
			} else {
				struct epoll_event ev;
				r = epoll_wait(ep, &ev, 1, (int)poll_ms);
			}
			if (r < 0) {
				if (errno != EINTR) {
					errors++;
					lasterr = errno;
				}
				continue;
			}
			if (r == 0) {
				if ((now_s() - w0) * 1000 < poll_ms / 2.0)
					early++;
				continue;
			}
			n = recvmmsg(fd, v, BATCH, MSG_DONTWAIT, NULL);
			e = errno;
		} else if (style == ST_SPIN) {
			n = recvmmsg(fd, v, BATCH, MSG_DONTWAIT, NULL);
			e = errno;
		} else if (style == ST_BLOCK) {
			double w0 = now_s();
			n = recvmmsg(fd, v, BATCH, MSG_WAITFORONE, NULL);
			e = errno;
			if (n < 0 && (e == EAGAIN || e == EWOULDBLOCK) && (now_s() - w0) * 1000 < poll_ms / 2.0)
				early++;
		} else {
			double w0 = now_s();
			socklen_t fl = sizeof(from[0]);
			ssize_t r = recvfrom(fd, bufs[0], BUFSZ, 0, (struct sockaddr *)&from[0], &fl);
			e = errno;
			if (r >= 0) {
				v[0].msg_len = (unsigned)r;
				n = 1;
			} else {
				n = -1;
				if ((e == EAGAIN || e == EWOULDBLOCK) && (now_s() - w0) * 1000 < poll_ms / 2.0)
					early++;
			}
		}
		if (n < 0) {
			if (e == EAGAIN || e == EWOULDBLOCK)
				eagain++;
			else if (e != EINTR) {
				errors++;
				lasterr = e;
			}
			continue;
		}
		if (n > 0) {
			t_last = now_s();
			if (!t_first)
				t_first = t_last;
		}
		for (int i = 0; i < n; i++) {
			size_t len = v[i].msg_len;

			received++;
			bytes += len;
			if (do_dump)
				dump(bufs[i], len, &from[i]);
			if (bitmap && len >= 12) {
				uint64_t seq = 0;
				for (int k = 0; k < 8; k++)
					seq |= (uint64_t)bufs[i][k] << (8 * k);
				uint32_t flow = (uint32_t)bufs[i][8] | (uint32_t)bufs[i][9] << 8 |
						(uint32_t)bufs[i][10] << 16 | (uint32_t)bufs[i][11] << 24;

				/* within one flow the kernel keeps udpgen's order */
				if (flow < FR_FLOWS) {
					if (flow_seen[flow] && seq < flow_last[flow])
						reordered++;
					flow_seen[flow] = 1;
					flow_last[flow] = seq;
				}
				if (seq < expect) {
					uint8_t bit = (uint8_t)(1u << (seq & 7));
					if (bitmap[seq >> 3] & bit)
						dup++;
					else
						distinct++;
					bitmap[seq >> 3] |= bit;
				}
			}
		}
	}
	{
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		printf("fault_recv: received=%llu bytes=%llu dup=%llu missing=%llu reordered=%llu eagain=%llu "
		       "early_timeouts=%llu errors=%llu lasterr=%s secs=%.3f cpu_ms=%.0f pps=%.0f\n",
		       (unsigned long long)received, (unsigned long long)bytes, (unsigned long long)dup,
		       (unsigned long long)(expect ? expect - distinct : 0), (unsigned long long)reordered,
		       (unsigned long long)eagain,
		       (unsigned long long)early, (unsigned long long)errors, lasterr ? errname(lasterr) : "none",
		       now_s() - t0,
		       (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
			       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3,
		       t_last > t_first ? (double)received / (t_last - t_first) : 0.0);
	}
	if (ep >= 0)
		close(ep);
	close(fd);
	free(bitmap);
	return expect && distinct < expect ? 1 : 0;
}
