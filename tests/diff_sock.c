/* diff_sock.c - socket-API differential test for xskshim.
 *
 * One program, run twice in the receive namespace: on plain kernel sockets,
 * and under LD_PRELOAD=libxskshim.so with XSKSHIM_PORTS covering its ports.
 * It does not know (and never checks) which; tests/t_diff.sh diffs the two
 * transcripts, which must be identical.
 *
 *   in gen ns:  diff_sock --serve /tmp/dir/ctl       (the sender, never preloaded)
 *   in rcv ns:  diff_sock --ctl /tmp/dir/ctl [--port-base 9100] [--cases a,b]
 *
 * The receiver drives the sender over an AF_UNIX SOCK_SEQPACKET socket (a
 * path, so it crosses network namespaces): "send COUNT datagrams from
 * SRC:SPORT.. to DST:DPORT.., SIZE bytes, TOS, tag", and the sender answers
 * once every datagram went out (or, with a delay, at once and sends later).
 * Over a veth pair the datagram is delivered in the sender's softirq before
 * sendmsg returns, and the receiver sleeps SETTLE_US more on top, so each
 * receive call below finds exactly what was sent.
 *
 * Each case prints canonical transcript lines on stdout: the call, return
 * value, errno name, msg_flags, msg_namelen, the raw source address bytes,
 * a hash over the whole receive buffer (so bytes written past the datagram
 * show too), control messages (type/len/contents, timestamps only as
 * "plausible"), revents and readiness sets.  Nothing timing dependent:
 * blocking calls are classified as "immediate" or "waited".  Diagnostics
 * (timings) go to stderr.
 *
 * Payload of datagram number SEQ of a send command with tag TAG:
 *   bytes 0..3 TAG (LE u32), 4..7 SEQ (LE u32), byte i>=8 (TAG*7+SEQ*13+i)&0xff
 * (shorter datagrams carry the prefix of that).
 *
 * Cases marked "known" show a difference from the kernel that the shim
 * cannot (or does not yet) remove; they only run when named with --cases
 * or with --known.  Exit status 0 unless the harness itself failed.
 */
#undef _FORTIFY_SOURCE
#include <arpa/inet.h>
#include <linux/filter.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* the fortified entry points distro-built programs call */
extern ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
extern ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
			      struct sockaddr *addr, socklen_t *addrlen);
extern ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);

#define SETTLE_US 20000
#define BUF_MAX   4096

/* ---- sender protocol ------------------------------------------------- */

enum { OP_SEND = 1, OP_SYNC, OP_QUIT };

struct cmd {
	uint32_t op;
	uint32_t family;     /* 4 or 6 */
	uint32_t sport;      /* first source port */
	uint32_t flows;      /* source ports sport .. sport+flows-1 */
	uint32_t dport;      /* first destination port */
	uint32_t nports;     /* destination ports dport .. dport+nports-1 */
	uint32_t count;      /* datagrams: i -> flow i%flows, port (i/flows)%nports */
	uint32_t size;       /* payload of datagram i: size + i*step */
	uint32_t step;
	int32_t  tos;        /* IP_TOS / IPV6_TCLASS, 0: not set */
	uint32_t tag;
	uint32_t delay_ms;   /* answer at once, then wait this long, then send */
	uint32_t rate;       /* datagrams per second, 0: as fast as possible */
	uint32_t seq0;       /* first sequence number */
};

struct reply {
	int32_t rc;          /* datagrams sent */
	int32_t err;         /* errno of the first failure */
};

static const char *src4 = "198.18.0.1", *dst4 = "198.18.0.2";
static const char *src6 = "2001:2::1", *dst6 = "2001:2::2";

static void payload_fill(uint8_t *p, size_t len, uint32_t tag, uint32_t seq)
{
	uint8_t hdr[8];

	memcpy(hdr, &tag, 4);
	memcpy(hdr + 4, &seq, 4);
	for (size_t i = 0; i < len; i++)
		p[i] = i < 8 ? hdr[i] : (uint8_t)(tag * 7 + seq * 13 + i);
}

static bool payload_check(const uint8_t *p, size_t len, uint32_t *tag, uint32_t *seq)
{
	if (len < 8)
		return false;
	memcpy(tag, p, 4);
	memcpy(seq, p + 4, 4);
	for (size_t i = 8; i < len; i++)
		if (p[i] != (uint8_t)(*tag * 7 + *seq * 13 + i))
			return false;
	return true;
}

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
	struct timespec t = { ns / 1000000000, ns % 1000000000 };

	while (nanosleep(&t, &t) && errno == EINTR)
		;
}

static int sock_addr(int family, const char *ip, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == 4) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, ip, &a->sin_addr);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &a->sin6_addr);
	return sizeof(*a);
}

static struct reply serve_send(const struct cmd *c)
{
	struct reply rep = {0, 0};
	int socks[64], one = 1;
	uint32_t flows = c->flows ? c->flows : 1, nports = c->nports ? c->nports : 1;
	static uint8_t buf[65536];
	int64_t t0 = now_ns();

	if (flows > 64)
		flows = 64;
	for (uint32_t f = 0; f < flows; f++) {
		struct sockaddr_storage ss;
		int al = sock_addr(c->family, c->family == 4 ? src4 : src6, (uint16_t)(c->sport + f), &ss);

		socks[f] = socket(c->family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM, 0);
		setsockopt(socks[f], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(socks[f], (struct sockaddr *)&ss, (socklen_t)al) && !rep.err)
			rep.err = errno;
		if (c->tos > 0) {
			int tos = c->tos;
			if (c->family == 4)
				setsockopt(socks[f], IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
			else
				setsockopt(socks[f], IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
		}
	}
	for (uint32_t i = 0; i < c->count; i++) {
		struct sockaddr_storage ss;
		uint32_t f = i % flows, p = (i / flows) % nports, sz = c->size + i * c->step;
		int al = sock_addr(c->family, c->family == 4 ? dst4 : dst6, (uint16_t)(c->dport + p), &ss);

		if (sz > sizeof(buf))
			sz = sizeof(buf);
		payload_fill(buf, sz, c->tag, c->seq0 + i);
		if (sendto(socks[f], buf, sz, 0, (struct sockaddr *)&ss, (socklen_t)al) == (ssize_t)sz)
			rep.rc++;
		else if (!rep.err)
			rep.err = errno;
		if (c->rate && (i + 1) % 16 == 0) {
			int64_t due = t0 + (int64_t)(i + 1) * 1000000000 / c->rate, now = now_ns();
			if (due > now)
				sleep_ns(due - now);
		}
	}
	for (uint32_t f = 0; f < flows; f++)
		close(socks[f]);
	return rep;
}

static int serve(const char *path, int max_secs)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int ls = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	unlink(path);
	if (ls < 0 || bind(ls, (struct sockaddr *)&un, sizeof(un)) || listen(ls, 4)) {
		perror("diff_sock --serve");
		return 1;
	}
	alarm((unsigned)max_secs);   /* hard bound: SIGALRM kills us */
	for (;;) {
		int c = accept(ls, NULL, NULL);
		struct cmd cmd;

		if (c < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		while (read(c, &cmd, sizeof(cmd)) == (ssize_t)sizeof(cmd)) {
			struct reply rep = {0, 0};

			if (cmd.op == OP_QUIT) {
				close(c);
				close(ls);
				unlink(path);
				return 0;
			}
			if (cmd.op == OP_SEND && cmd.delay_ms) {
				if (write(c, &rep, sizeof(rep)) != sizeof(rep))
					break;
				sleep_ns((int64_t)cmd.delay_ms * 1000000);
				serve_send(&cmd);
				continue;
			}
			if (cmd.op == OP_SEND)
				rep = serve_send(&cmd);
			if (write(c, &rep, sizeof(rep)) != sizeof(rep))
				break;
		}
		close(c);
	}
}

/* ---- receiver side: transcript helpers ------------------------------- */

static int ctl_fd = -1;
static uint16_t port_base = 9100;
static int harness_err;

#define P(n) ((uint16_t)(port_base + (n)))

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void harness_fail(const char *what)
{
	fprintf(stderr, "diff_sock: harness: %s: %s\n", what, strerror(errno));
	out("HARNESS-ERROR %s", what);
	harness_err = 1;
}

/* send through the sender in the gen namespace; waits for its answer and
 * then SETTLE_US (not for delayed sends) */
static struct reply gen(struct cmd c)
{
	struct reply rep = { -1, 0 };

	c.op = OP_SEND;
	if (!c.family)
		c.family = 4;
	if (!c.flows)
		c.flows = 1;
	if (!c.nports)
		c.nports = 1;
	if (!c.sport)
		c.sport = 20000;
	if (write(ctl_fd, &c, sizeof(c)) != sizeof(c) || read(ctl_fd, &rep, sizeof(rep)) != sizeof(rep)) {
		harness_fail("sender channel");
		return rep;
	}
	if (!c.delay_ms) {
		if (rep.rc != (int)c.count) {
			errno = rep.err;
			harness_fail("sender could not send everything");
		}
		usleep(SETTLE_US);
	}
	return rep;
}

/* wait until the sender finished everything queued (delayed sends) */
static void gen_sync(void)
{
	struct cmd c = { .op = OP_SYNC };
	struct reply rep;

	if (write(ctl_fd, &c, sizeof(c)) != sizeof(c) || read(ctl_fd, &rep, sizeof(rep)) != sizeof(rep))
		harness_fail("sender sync");
	usleep(SETTLE_US);
}

#define SEND(...) gen((struct cmd){ __VA_ARGS__ })

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

static uint32_t fnv(const void *p, size_t n, uint32_t h)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}
#define FNV0 2166136261u

static const char *flagstr(int f, char *b, size_t bl)
{
	static const struct { int f; const char *n; } t[] = {
		{ MSG_TRUNC, "TRUNC" }, { MSG_CTRUNC, "CTRUNC" }, { MSG_OOB, "OOB" },
		{ MSG_ERRQUEUE, "ERRQUEUE" }, { MSG_EOR, "EOR" }, { MSG_CMSG_CLOEXEC, "CLOEXEC" },
	};
	size_t n = 0;

	b[0] = 0;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (f & t[i].f) {
			n += (size_t)snprintf(b + n, bl - n, "%s%s", n ? "|" : "", t[i].n);
			f &= ~t[i].f;
		}
	if (f)
		n += (size_t)snprintf(b + n, bl - n, "%s0x%x", n ? "|" : "", (unsigned)f);
	if (!n)
		snprintf(b, bl, "0");
	return b;
}

static void hex(const void *p, size_t n, char *b, size_t bl)
{
	const uint8_t *q = p;
	size_t o = 0;

	b[0] = 0;
	for (size_t i = 0; i < n && o + 3 < bl; i++)
		o += (size_t)snprintf(b + o, bl - o, "%02x", q[i]);
}

static const char *addrstr(const void *sa, socklen_t len, char *b, size_t bl)
{
	const struct sockaddr *a = sa;
	char ip[INET6_ADDRSTRLEN];

	if (len >= sizeof(struct sockaddr_in) && a->sa_family == AF_INET) {
		const struct sockaddr_in *i = sa;
		inet_ntop(AF_INET, &i->sin_addr, ip, sizeof(ip));
		snprintf(b, bl, "%s:%u", ip, ntohs(i->sin_port));
	} else if (len >= sizeof(struct sockaddr_in6) && a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *i = sa;
		inet_ntop(AF_INET6, &i->sin6_addr, ip, sizeof(ip));
		snprintf(b, bl, "[%s]:%u", ip, ntohs(i->sin6_port));
	} else {
		snprintf(b, bl, "-");
	}
	return b;
}

/* control messages, walked by hand so a truncated one shows too */
static void cmsgstr(const struct msghdr *m, size_t ctl_sz, char *b, size_t bl)
{
	const uint8_t *base = m->msg_control;
	size_t len = m->msg_controllen, off = 0, o = 0, tail_dirty = 0;

	b[0] = 0;
	if (!base) {
		snprintf(b, bl, "ctl=none controllen=%zu", len);
		return;
	}
	o += (size_t)snprintf(b + o, bl - o, "controllen=%zu [", len);
	while (off + sizeof(struct cmsghdr) <= len && o < bl - 1) {
		struct cmsghdr c;
		const uint8_t *d = base + off + CMSG_LEN(0);
		size_t dl;
		char h[160];

		memcpy(&c, base + off, sizeof(c));
		if (c.cmsg_len < sizeof(struct cmsghdr)) {
			o += (size_t)snprintf(b + o, bl - o, " bad_len=%zu", (size_t)c.cmsg_len);
			break;
		}
		dl = (c.cmsg_len < len - off ? c.cmsg_len : len - off) - CMSG_LEN(0);
		if ((c.cmsg_level == SOL_SOCKET && (c.cmsg_type == SO_TIMESTAMP || c.cmsg_type == SO_TIMESTAMPNS)) &&
		    dl == 16) {
			struct timespec now;
			int64_t sec, sub;
			memcpy(&sec, d, 8);
			memcpy(&sub, d + 8, 8);
			clock_gettime(CLOCK_REALTIME, &now);
			bool ok = sec > now.tv_sec - 5 && sec <= now.tv_sec &&
				  sub >= 0 && sub < (c.cmsg_type == SO_TIMESTAMP ? 1000000 : 1000000000);
			snprintf(h, sizeof(h), "%s", ok ? "plausible" : "IMPLAUSIBLE");
		} else if (c.cmsg_level == SOL_SOCKET && c.cmsg_type == SO_TIMESTAMPING && dl == 48) {
			/* struct scm_timestamping: ts[0] software, ts[1] legacy,
			 * ts[2] hardware */
			struct timespec ts[3], now;
			memcpy(ts, d, sizeof(ts));
			clock_gettime(CLOCK_REALTIME, &now);
			bool ok = ts[0].tv_sec > now.tv_sec - 5 && ts[0].tv_sec <= now.tv_sec &&
				  ts[0].tv_nsec >= 0 && ts[0].tv_nsec < 1000000000;
			snprintf(h, sizeof(h), "ts0=%s ts1=%s ts2=%s", ok ? "plausible" : "IMPLAUSIBLE",
				 ts[1].tv_sec || ts[1].tv_nsec ? "set" : "0", ts[2].tv_sec || ts[2].tv_nsec ? "set" : "0");
		} else if (c.cmsg_level == IPPROTO_IP && c.cmsg_type == IP_PKTINFO && dl == sizeof(struct in_pktinfo)) {
			struct in_pktinfo pi;
			char a1[32], a2[32], ifn[IF_NAMESIZE] = "?";
			memcpy(&pi, d, sizeof(pi));
			inet_ntop(AF_INET, &pi.ipi_spec_dst, a1, sizeof(a1));
			inet_ntop(AF_INET, &pi.ipi_addr, a2, sizeof(a2));
			if_indextoname((unsigned)pi.ipi_ifindex, ifn);
			snprintf(h, sizeof(h), "if=%s spec_dst=%s addr=%s", ifn, a1, a2);
		} else if (c.cmsg_level == IPPROTO_IPV6 && c.cmsg_type == IPV6_PKTINFO &&
			   dl == sizeof(struct in6_pktinfo)) {
			struct in6_pktinfo pi;
			char a[64], ifn[IF_NAMESIZE] = "?";
			memcpy(&pi, d, sizeof(pi));
			inet_ntop(AF_INET6, &pi.ipi6_addr, a, sizeof(a));
			if_indextoname(pi.ipi6_ifindex, ifn);
			snprintf(h, sizeof(h), "if=%s addr=%s", ifn, a);
		} else {
			hex(d, dl, h, sizeof(h));
		}
		o += (size_t)snprintf(b + o, bl - o, " %d/%d/len%zu:%s", c.cmsg_level, c.cmsg_type,
				      (size_t)c.cmsg_len, h);
		off += CMSG_ALIGN(c.cmsg_len);
	}
	for (size_t i = len; i < ctl_sz; i++)
		tail_dirty += base[i] != 0xcc;
	snprintf(b + o, bl - o, " ]%s", tail_dirty ? " TAIL-WRITTEN" : "");
}

/* One receive buffer set, prefilled so any byte written shows in the hash. */
struct rbuf {
	uint8_t data[BUF_MAX];
	size_t data_sz;
	union { struct sockaddr_storage ss; uint8_t raw[sizeof(struct sockaddr_storage)]; } name;
	uint8_t ctl[512];
	size_t ctl_sz;
	struct iovec iov;
	struct msghdr m;
};

static void rbuf_init(struct rbuf *r, size_t data_sz, socklen_t name_sz, size_t ctl_sz)
{
	memset(r->data, 0x55, sizeof(r->data));
	memset(&r->name, 0xaa, sizeof(r->name));
	memset(r->ctl, 0xcc, sizeof(r->ctl));
	r->data_sz = data_sz;
	r->ctl_sz = ctl_sz;
	r->iov = (struct iovec){ r->data, data_sz };
	memset(&r->m, 0, sizeof(r->m));
	r->m.msg_iov = &r->iov;
	r->m.msg_iovlen = 1;
	r->m.msg_name = name_sz ? &r->name : NULL;
	r->m.msg_namelen = name_sz;
	r->m.msg_control = ctl_sz ? r->ctl : NULL;
	r->m.msg_controllen = ctl_sz;
	r->m.msg_flags = 0x7fff0000;   /* recvmsg must overwrite it */
}

/* "ret=.. errno=.. flags=.. namelen=.. name=HEX(addr) data=HASH ctl" */
static void msgstr(const struct rbuf *r, const struct msghdr *m, char *b, size_t bl)
{
	char fl[64], nh[160], as[80], cs[768];
	size_t nl = m->msg_namelen;

	if (nl > sizeof(r->name))
		nl = sizeof(r->name);
	if (m->msg_name)
		hex(&r->name, nl, nh, sizeof(nh));
	else
		snprintf(nh, sizeof(nh), "null");
	cmsgstr(m, r->ctl_sz, cs, sizeof(cs));
	snprintf(b, bl, "flags=%s namelen=%u from=%s name=%s data=%08x %s", flagstr(m->msg_flags, fl, sizeof(fl)),
		 (unsigned)m->msg_namelen, m->msg_name ? addrstr(&r->name, m->msg_namelen, as, sizeof(as)) : "-",
		 nh, fnv(r->data, sizeof(r->data), FNV0), cs);
}

static const char *waited(int64_t t0)
{
	int64_t d = now_ns() - t0;
	return d < 50000000 ? "immediate" : d < 10000000000LL ? "waited" : "waited-LONG";
}

static struct rbuf rb;

/* The "syscall" case runs the same helpers through syscall(SYS_...), as
 * quinn-udp 0.4 to 0.5.4 did: the transcript must be the libc calls'. */
static bool via_sys;

static ssize_t t_recvmsg(const char *label, int fd, int flags, size_t data_sz, socklen_t name_sz, size_t ctl_sz)
{
	char b[1200];
	int64_t t0 = now_ns();
	ssize_t r;
	int e;

	rbuf_init(&rb, data_sz, name_sz, ctl_sz);
	errno = 0;
	r = via_sys ? syscall(SYS_recvmsg, fd, &rb.m, flags) : recvmsg(fd, &rb.m, flags);
	e = errno;
	if (r < 0) {
		out("%s: recvmsg ret=-1 errno=%s %s", label, ename(e), waited(t0));
		return r;
	}
	msgstr(&rb, &rb.m, b, sizeof(b));
	out("%s: recvmsg ret=%zd %s %s", label, r, b, waited(t0));
	return r;
}

static int t_recvmmsg(const char *label, int fd, unsigned vlen, int flags, struct timespec *tmo, size_t data_sz)
{
	static struct rbuf v[16];
	struct mmsghdr mm[16];
	struct timespec orig = tmo ? *tmo : (struct timespec){0, 0};
	int64_t t0 = now_ns();
	int r, e;
	char b[1200];

	if (vlen > 16)
		vlen = 16;
	for (unsigned i = 0; i < 16; i++) {
		rbuf_init(&v[i], data_sz, sizeof(struct sockaddr_storage), 0);
		mm[i].msg_hdr = v[i].m;
		mm[i].msg_hdr.msg_iov = &v[i].iov;
		mm[i].msg_len = 0xdeadbeef;
	}
	errno = 0;
	r = via_sys ? (int)syscall(SYS_recvmmsg, fd, mm, vlen, flags, tmo) : recvmmsg(fd, mm, vlen, flags, tmo);
	e = errno;
	if (r < 0) {
		out("%s: recvmmsg ret=-1 errno=%s %s", label, ename(e), waited(t0));
		return r;
	}
	if (tmo) {
		bool ok = tmo->tv_sec >= 0 && tmo->tv_nsec >= 0 && tmo->tv_nsec < 1000000000 &&
			  (tmo->tv_sec < orig.tv_sec || (tmo->tv_sec == orig.tv_sec && tmo->tv_nsec <= orig.tv_nsec));
		bool zero = !tmo->tv_sec && !tmo->tv_nsec;
		out("%s: recvmmsg ret=%d timeout_after=%s %s", label, r,
		    !ok ? "BAD" : zero ? "zero" : "decreased-or-same", waited(t0));
	} else {
		out("%s: recvmmsg ret=%d %s", label, r, waited(t0));
	}
	for (int i = 0; i < r; i++) {
		msgstr(&v[i], &mm[i].msg_hdr, b, sizeof(b));
		out("%s:   [%d] len=%u %s", label, i, mm[i].msg_len, b);
	}
	/* entries past the return value stay untouched */
	for (unsigned i = (unsigned)r; i < vlen; i++)
		if (mm[i].msg_len != 0xdeadbeef)
			out("%s:   [%u] WRITTEN len=%u", label, i, mm[i].msg_len);
	return r;
}

/* recvfrom-style: ret, errno, addr, hash */
static void t_report(const char *label, const char *call, ssize_t r, int e, const void *a, socklen_t al,
		     int64_t t0)
{
	char as[80], nh[160];

	if (r < 0) {
		out("%s: %s ret=-1 errno=%s %s", label, call, ename(e), waited(t0));
		return;
	}
	if (a) {
		hex(a, al < sizeof(struct sockaddr_storage) ? al : sizeof(struct sockaddr_storage), nh, sizeof(nh));
		out("%s: %s ret=%zd addrlen=%u from=%s name=%s data=%08x %s", label, call, r, (unsigned)al,
		    addrstr(a, al, as, sizeof(as)), nh, fnv(rb.data, sizeof(rb.data), FNV0), waited(t0));
	} else {
		out("%s: %s ret=%zd data=%08x %s", label, call, r, fnv(rb.data, sizeof(rb.data), FNV0), waited(t0));
	}
}

static ssize_t t_recv(const char *label, int fd, size_t len, int flags)
{
	int64_t t0 = now_ns();
	ssize_t r;

	rbuf_init(&rb, len, 0, 0);
	errno = 0;
	/* (no SYS_recv on x86-64: libc's recv is recvfrom without an address) */
	r = via_sys ? syscall(SYS_recvfrom, fd, rb.data, len, flags, NULL, NULL) : recv(fd, rb.data, len, flags);
	t_report(label, "recv", r, errno, NULL, 0, t0);
	return r;
}

static ssize_t t_recvfrom(const char *label, int fd, size_t len, int flags, socklen_t alen)
{
	int64_t t0 = now_ns();
	socklen_t al = alen;
	ssize_t r;
	int e;

	rbuf_init(&rb, len, 0, 0);
	errno = 0;
	r = via_sys ? syscall(SYS_recvfrom, fd, rb.data, len, flags, alen ? (struct sockaddr *)&rb.name : NULL,
			      alen ? &al : NULL)
		    : recvfrom(fd, rb.data, len, flags, alen ? (struct sockaddr *)&rb.name : NULL, alen ? &al : NULL);
	e = errno;
	t_report(label, "recvfrom", r, e, alen ? &rb.name : NULL, al, t0);
	return r;
}

static ssize_t t_read(const char *label, int fd, size_t len)
{
	int64_t t0 = now_ns();
	ssize_t r;

	rbuf_init(&rb, len, 0, 0);
	errno = 0;
	r = via_sys ? syscall(SYS_read, fd, rb.data, len) : read(fd, rb.data, len);
	t_report(label, "read", r, errno, NULL, 0, t0);
	return r;
}

static void t_fionread(const char *label, int fd)
{
	int v = -7, r;

	errno = 0;
	r = ioctl(fd, FIONREAD, &v);
	out("%s: ioctl(FIONREAD) ret=%d errno=%s value=%d", label, r, r ? ename(errno) : "0", v);
}

/* drain silently, reporting only how many datagrams and their hash */
static void t_drain(const char *label, int fd)
{
	uint8_t b[BUF_MAX];
	uint32_t h = FNV0;
	int n = 0;
	ssize_t r;

	while ((r = recv(fd, b, sizeof(b), MSG_DONTWAIT)) >= 0) {
		h = fnv(b, (size_t)r, h);
		n++;
	}
	out("%s: drained %d hash=%08x errno=%s", label, n, h, ename(errno));
}

/* the same, order-independent (datagrams on different paths or queues are
 * not ordered with each other) */
static void t_drain_set(const char *label, int fd)
{
	uint8_t b[BUF_MAX];
	uint32_t h = 0;
	int n = 0;
	ssize_t r;

	while ((r = recv(fd, b, sizeof(b), MSG_DONTWAIT)) >= 0) {
		h += fnv(b, (size_t)r, FNV0);
		n++;
	}
	out("%s: drained %d sethash=%08x errno=%s", label, n, h, ename(errno));
}

static int udp_socket(int family, int type_flags)
{
	int d = family == 4 ? AF_INET : AF_INET6;
	int fd = via_sys ? (int)syscall(SYS_socket, d, SOCK_DGRAM | type_flags, 0) : socket(d, SOCK_DGRAM | type_flags, 0);

	if (fd < 0)
		harness_fail("socket");
	return fd;
}

static int bind_port(int fd, int family, const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	int al;

	if (!ip)
		ip = family == 4 ? "0.0.0.0" : "::";
	al = sock_addr(family, ip, port, &ss);
	if (via_sys)
		return (int)syscall(SYS_bind, fd, (struct sockaddr *)&ss, (socklen_t)al);
	return bind(fd, (struct sockaddr *)&ss, (socklen_t)al);
}

/* socket + options + bind, reporting the bind result */
static int t_sock(const char *label, int family, int type_flags, const char *ip, uint16_t port, int v6only,
		  bool reuseport)
{
	int fd = udp_socket(family, type_flags), one = 1, r;

	if (fd < 0)
		return fd;
	if (family == 6 && v6only >= 0)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	errno = 0;
	r = bind_port(fd, family, ip, port);
	if (label)
		out("%s: bind(%s port %u) ret=%d errno=%s", label, ip ? ip : family == 4 ? "0.0.0.0" : "::",
		    (unsigned)(port - port_base), r, r ? ename(errno) : "0");
	return fd;
}

static void set_rcvtimeo(int fd, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		harness_fail("SO_RCVTIMEO");
}

static void setopt(const char *label, int fd, int lvl, int opt, const char *name, int val)
{
	int r;

	errno = 0;
	r = setsockopt(fd, lvl, opt, &val, sizeof(val));
	out("%s: setsockopt(%s, %d) ret=%d errno=%s", label, name, val, r, r ? ename(errno) : "0");
}

/* ---- cases ------------------------------------------------------------- */

static void c_recvmmsg(void)
{
	const char *L = "recvmmsg";
	int fd = t_sock(L, 4, 0, NULL, P(0), -1, false);
	struct timespec t;

	SEND(.dport = P(0), .count = 5, .size = 20, .step = 7, .tag = 1);
	t_recvmmsg("recvmmsg/dontwait-vlen8-5avail", fd, 8, MSG_DONTWAIT, NULL, 512);
	t_recvmmsg("recvmmsg/dontwait-empty", fd, 4, MSG_DONTWAIT, NULL, 512);

	SEND(.dport = P(0), .count = 3, .size = 64, .tag = 2);
	t_recvmmsg("recvmmsg/waitforone-vlen8-3avail", fd, 8, MSG_WAITFORONE, NULL, 512);

	SEND(.dport = P(0), .count = 6, .size = 33, .step = 1, .tag = 3);
	t = (struct timespec){ 5, 0 };
	t_recvmmsg("recvmmsg/blocking-vlen4-6avail-timeout5s", fd, 4, 0, &t, 512);
	t_recvmmsg("recvmmsg/dontwait-rest", fd, 8, MSG_DONTWAIT, NULL, 512);

	SEND(.dport = P(0), .count = 3, .size = 40, .tag = 4);
	t = (struct timespec){ 0, 0 };
	t_recvmmsg("recvmmsg/blocking-vlen4-3avail-timeout0", fd, 4, 0, &t, 512);
	t_recvmmsg("recvmmsg/dontwait-rest", fd, 8, MSG_DONTWAIT, NULL, 512);

	SEND(.dport = P(0), .count = 2, .size = 40, .tag = 5);
	t = (struct timespec){ 0, 1000000000 };
	t_recvmmsg("recvmmsg/timeout-nsec-1e9", fd, 4, MSG_DONTWAIT, &t, 512);
	t = (struct timespec){ -1, 0 };
	t_recvmmsg("recvmmsg/timeout-negative", fd, 4, MSG_DONTWAIT, &t, 512);
	t_recvmmsg("recvmmsg/vlen0", fd, 0, MSG_DONTWAIT, NULL, 512);
	t_recvmmsg("recvmmsg/peek-vlen3", fd, 3, MSG_PEEK | MSG_DONTWAIT, NULL, 512);
	t_recvmmsg("recvmmsg/dontwait-rest", fd, 8, MSG_DONTWAIT, NULL, 512);

	/* blocking, fewer than vlen available, SO_RCVTIMEO ends the wait */
	SEND(.dport = P(0), .count = 2, .size = 50, .tag = 6);
	set_rcvtimeo(fd, 150);
	t_recvmmsg("recvmmsg/blocking-vlen4-2avail-rcvtimeo", fd, 4, 0, NULL, 512);
	t_recvmmsg("recvmmsg/blocking-empty-rcvtimeo", fd, 4, 0, NULL, 512);
	t_recvmmsg("recvmmsg/waitforone-empty-rcvtimeo", fd, 4, MSG_WAITFORONE, NULL, 512);
	set_rcvtimeo(fd, 0);

	/* blocking until a datagram comes */
	SEND(.dport = P(0), .count = 1, .size = 70, .tag = 7, .delay_ms = 200);
	t_recvmmsg("recvmmsg/waitforone-blocks-for-1", fd, 8, MSG_WAITFORONE, NULL, 512);
	gen_sync();

	/* the timeout expires while blocked: the kernel checks it after each
	 * datagram, so it returns one more datagram, not all that arrived */
	SEND(.dport = P(0), .count = 1, .size = 30, .tag = 8);
	SEND(.dport = P(0), .count = 3, .size = 30, .tag = 9, .delay_ms = 300);
	t = (struct timespec){ 0, 100000000 };
	t_recvmmsg("recvmmsg/timeout-expires-while-blocked", fd, 8, 0, &t, 512);
	gen_sync();
	t_recvmmsg("recvmmsg/dontwait-rest", fd, 8, MSG_DONTWAIT, NULL, 512);

	/* large vlen with many datagrams */
	SEND(.dport = P(0), .count = 40, .size = 16, .step = 3, .tag = 10);
	t_recvmmsg("recvmmsg/dontwait-vlen16-40avail", fd, 16, MSG_DONTWAIT, NULL, 512);
	t_recvmmsg("recvmmsg/dontwait-vlen16-24avail", fd, 16, MSG_DONTWAIT, NULL, 512);
	t_recvmmsg("recvmmsg/dontwait-vlen16-8avail", fd, 16, MSG_DONTWAIT, NULL, 512);
	close(fd);
}

static void c_addr(void)
{
	const char *L = "addr";
	int a4 = t_sock(L, 4, 0, NULL, P(1), -1, false);
	int a6 = t_sock(L, 6, 0, NULL, P(2), 1, false);
	int ds = t_sock(L, 6, 0, NULL, P(3), 0, false);
	int sp4 = t_sock(L, 4, 0, dst4, P(4), -1, false);
	int lo4 = t_sock(L, 4, 0, "127.0.0.1", P(5), -1, false);
	int sp6 = t_sock(L, 6, 0, dst6, P(6), 1, false);

	SEND(.dport = P(1), .sport = 20001, .count = 1, .size = 25, .tag = 20);
	t_recvmsg("addr/v4-full", a4, 0, 512, sizeof(struct sockaddr_storage), 0);
	SEND(.dport = P(1), .sport = 20001, .count = 1, .size = 25, .tag = 21);
	t_recvmsg("addr/v4-namelen8", a4, 0, 512, 8, 0);
	SEND(.dport = P(1), .sport = 20001, .count = 1, .size = 25, .tag = 22);
	rbuf_init(&rb, 512, 0, 0);
	rb.m.msg_namelen = 100;   /* msg_name NULL: namelen is left alone */
	{
		ssize_t r = recvmsg(a4, &rb.m, 0);
		out("addr/v4-name-null-namelen100: recvmsg ret=%zd namelen=%u data=%08x", r,
		    (unsigned)rb.m.msg_namelen, fnv(rb.data, sizeof(rb.data), FNV0));
	}
	SEND(.dport = P(1), .sport = 20002, .count = 1, .size = 25, .tag = 23);
	rbuf_init(&rb, 512, 0, 0);
	rb.m.msg_name = &rb.name;
	rb.m.msg_namelen = 0;     /* name buffer, but zero length */
	{
		ssize_t r = recvmsg(a4, &rb.m, 0);
		char nh[64];
		hex(&rb.name, 8, nh, sizeof(nh));
		out("addr/v4-namelen0: recvmsg ret=%zd namelen=%u name8=%s", r, (unsigned)rb.m.msg_namelen, nh);
	}
	SEND(.dport = P(1), .sport = 20003, .count = 1, .size = 25, .tag = 24);
	t_recvfrom("addr/v4-recvfrom", a4, 512, 0, sizeof(struct sockaddr_storage));
	SEND(.dport = P(1), .sport = 20003, .count = 1, .size = 25, .tag = 25);
	t_recvfrom("addr/v4-recvfrom-addrlen4", a4, 512, 0, 4);
	SEND(.dport = P(1), .sport = 20003, .count = 1, .size = 25, .tag = 26);
	t_recvfrom("addr/v4-recvfrom-noaddr", a4, 512, 0, 0);

	SEND(.family = 6, .dport = P(2), .sport = 20004, .count = 1, .size = 31, .tag = 27);
	t_recvmsg("addr/v6only-v6", a6, 0, 512, sizeof(struct sockaddr_storage), 0);
	SEND(.family = 6, .dport = P(2), .sport = 20004, .count = 1, .size = 31, .tag = 28);
	t_recvmsg("addr/v6only-v6-namelen16", a6, 0, 512, 16, 0);
	SEND(.family = 4, .dport = P(2), .sport = 20004, .count = 1, .size = 31, .tag = 29);
	t_recvmsg("addr/v6only-v4-not-delivered", a6, MSG_DONTWAIT, 512, sizeof(struct sockaddr_storage), 0);

	SEND(.family = 4, .dport = P(3), .sport = 20005, .count = 1, .size = 32, .tag = 30);
	t_recvmsg("addr/dualstack-v4mapped", ds, 0, 512, sizeof(struct sockaddr_storage), 0);
	SEND(.family = 6, .dport = P(3), .sport = 20005, .count = 1, .size = 32, .tag = 31);
	t_recvmsg("addr/dualstack-v6", ds, 0, 512, sizeof(struct sockaddr_storage), 0);
	SEND(.family = 4, .dport = P(3), .sport = 20006, .count = 1, .size = 32, .tag = 32);
	t_recvfrom("addr/dualstack-v4mapped-recvfrom", ds, 512, 0, sizeof(struct sockaddr_storage));

	SEND(.family = 4, .dport = P(4), .sport = 20007, .count = 1, .size = 33, .tag = 33);
	t_recvmsg("addr/bound-specific-v4", sp4, 0, 512, sizeof(struct sockaddr_storage), 0);
	SEND(.family = 4, .dport = P(5), .sport = 20007, .count = 1, .size = 33, .tag = 34);
	t_recvmsg("addr/bound-loopback-gets-nothing", lo4, MSG_DONTWAIT, 512, sizeof(struct sockaddr_storage), 0);
	SEND(.family = 6, .dport = P(6), .sport = 20008, .count = 1, .size = 33, .tag = 35);
	t_recvmsg("addr/bound-specific-v6", sp6, 0, 512, sizeof(struct sockaddr_storage), 0);

	close(a4);
	close(a6);
	close(ds);
	close(sp4);
	close(lo4);
	close(sp6);
}

static void c_trunc(void)
{
	int fd = t_sock("trunc", 4, 0, NULL, P(7), -1, false);

	SEND(.dport = P(7), .count = 1, .size = 100, .tag = 40);
	t_recvmsg("trunc/recvmsg-buf10", fd, 0, 10, sizeof(struct sockaddr_storage), 0);
	SEND(.dport = P(7), .count = 1, .size = 100, .tag = 41);
	t_recvmsg("trunc/recvmsg-buf10-MSG_TRUNC", fd, MSG_TRUNC, 10, sizeof(struct sockaddr_storage), 0);
	SEND(.dport = P(7), .count = 1, .size = 100, .tag = 42);
	t_recv("trunc/recv-buf10-MSG_TRUNC", fd, 10, MSG_TRUNC);
	SEND(.dport = P(7), .count = 1, .size = 100, .tag = 43);
	t_recvmmsg("trunc/recvmmsg-buf10", fd, 4, MSG_DONTWAIT, NULL, 10);
	SEND(.dport = P(7), .count = 2, .size = 100, .tag = 44);
	t_recvmmsg("trunc/recvmmsg-buf10-MSG_TRUNC", fd, 4, MSG_DONTWAIT | MSG_TRUNC, NULL, 10);
	SEND(.dport = P(7), .count = 1, .size = 100, .tag = 45);
	t_recvmsg("trunc/recvmsg-buf100-MSG_TRUNC", fd, MSG_TRUNC, 100, sizeof(struct sockaddr_storage), 0);
	SEND(.dport = P(7), .count = 1, .size = 100, .tag = 46);
	t_recv("trunc/recv-len0-consumes", fd, 0, 0);
	t_recv("trunc/after-len0", fd, 512, MSG_DONTWAIT);
	SEND(.dport = P(7), .count = 1, .size = 100, .tag = 47);
	t_recv("trunc/recv-len0-PEEK|TRUNC-size-probe", fd, 0, MSG_PEEK | MSG_TRUNC);
	t_recv("trunc/recv-after-probe", fd, 512, 0);
	SEND(.dport = P(7), .count = 1, .size = 1400, .tag = 48);
	t_recvmsg("trunc/recvmsg-1400-buf1000", fd, 0, 1000, sizeof(struct sockaddr_storage), 0);
	close(fd);
}

static void c_peek(void)
{
	int fd = t_sock("peek", 4, 0, NULL, P(8), -1, false);

	SEND(.dport = P(8), .count = 2, .size = 30, .step = 10, .tag = 50);
	t_recvmsg("peek/peek-full", fd, MSG_PEEK, 512, sizeof(struct sockaddr_storage), 0);
	t_recvmsg("peek/peek-buf10", fd, MSG_PEEK, 10, sizeof(struct sockaddr_storage), 0);
	t_fionread("peek/fionread", fd);
	t_recvfrom("peek/recvfrom-peek", fd, 512, MSG_PEEK, sizeof(struct sockaddr_storage));
	t_recvmsg("peek/read-1st", fd, 0, 512, sizeof(struct sockaddr_storage), 0);
	t_recv("peek/peek-2nd", fd, 512, MSG_PEEK | MSG_DONTWAIT);
	t_recv("peek/read-2nd", fd, 512, 0);
	t_recv("peek/peek-empty", fd, 512, MSG_PEEK | MSG_DONTWAIT);
	t_recv("peek/empty", fd, 512, MSG_DONTWAIT);
	close(fd);
}

static void c_readcalls(void)
{
	int fd = t_sock("read", 4, 0, NULL, P(9), -1, false);
	char b1[5], b2[7], b3[100];
	struct iovec iov[3] = { { b1, sizeof(b1) }, { b2, sizeof(b2) }, { b3, sizeof(b3) } };
	ssize_t r;
	int64_t t0;
	socklen_t al;

	SEND(.dport = P(9), .count = 1, .size = 60, .tag = 60);
	t_read("read/read0-keeps", fd, 0);
	t_read("read/read", fd, 512);
	SEND(.dport = P(9), .count = 1, .size = 60, .tag = 61);
	memset(b1, 0x55, sizeof(b1));
	memset(b2, 0x55, sizeof(b2));
	memset(b3, 0x55, sizeof(b3));
	errno = 0;
	r = readv(fd, iov, 0);
	out("read/readv-cnt0: ret=%zd errno=%s", r, r < 0 ? ename(errno) : "0");
	iov[0].iov_len = 0;
	r = readv(fd, iov, 1);
	out("read/readv-len0: ret=%zd errno=%s", r, r < 0 ? ename(errno) : "0");
	iov[0].iov_len = sizeof(b1);
	r = readv(fd, iov, 3);
	out("read/readv-3iov: ret=%zd h=%08x", r, fnv(b3, sizeof(b3), fnv(b2, sizeof(b2), fnv(b1, sizeof(b1), FNV0))));
	SEND(.dport = P(9), .count = 1, .size = 60, .tag = 62);
	memset(b1, 0x55, sizeof(b1));
	memset(b2, 0x55, sizeof(b2));
	r = readv(fd, iov, 2);
	out("read/readv-2iov-short: ret=%zd h=%08x", r, fnv(b2, sizeof(b2), fnv(b1, sizeof(b1), FNV0)));
	SEND(.dport = P(9), .count = 1, .size = 60, .tag = 63);
	t_recv("read/recv", fd, 512, 0);
	SEND(.dport = P(9), .count = 1, .size = 60, .tag = 64);
	t_recvfrom("read/recvfrom", fd, 512, 0, sizeof(struct sockaddr_storage));

	SEND(.dport = P(9), .count = 3, .size = 60, .tag = 65);
	rbuf_init(&rb, 512, 0, 0);
	t0 = now_ns();
	r = __recv_chk(fd, rb.data, 512, sizeof(rb.data), 0);
	t_report("read/__recv_chk", "__recv_chk", r, errno, NULL, 0, t0);
	rbuf_init(&rb, 512, 0, 0);
	al = sizeof(rb.name);
	r = __recvfrom_chk(fd, rb.data, 512, sizeof(rb.data), 0, (struct sockaddr *)&rb.name, &al);
	t_report("read/__recvfrom_chk", "__recvfrom_chk", r, errno, &rb.name, al, t0);
	rbuf_init(&rb, 512, 0, 0);
	r = __read_chk(fd, rb.data, 512, sizeof(rb.data));
	t_report("read/__read_chk", "__read_chk", r, errno, NULL, 0, t0);

	/* flags the fast path passes to the kernel */
	SEND(.dport = P(9), .count = 1, .size = 60, .tag = 66);
	t_recv("read/MSG_ERRQUEUE", fd, 512, MSG_ERRQUEUE | MSG_DONTWAIT);
	t_recv("read/MSG_OOB", fd, 512, MSG_OOB | MSG_DONTWAIT);
	SEND(.dport = P(9), .count = 1, .size = 60, .tag = 67);
	t_recv("read/MSG_WAITALL", fd, 512, MSG_WAITALL);
	t_recv("read/empty", fd, 512, MSG_DONTWAIT);
	close(fd);
}

static void c_zerolen(void)
{
	int fd = t_sock("zerolen", 4, 0, NULL, P(10), -1, false);
	struct pollfd p = { fd, POLLIN, 0 };

	SEND(.dport = P(10), .count = 2, .size = 0, .tag = 70);
	p.revents = 0;
	out("zerolen/poll: ret=%d revents=0x%x", poll(&p, 1, 0), p.revents);
	t_fionread("zerolen/fionread", fd);
	t_recvmsg("zerolen/recvmsg", fd, 0, 512, sizeof(struct sockaddr_storage), 0);
	t_read("zerolen/read", fd, 512);
	t_recv("zerolen/empty", fd, 512, MSG_DONTWAIT);
	SEND(.dport = P(10), .count = 3, .size = 0, .tag = 71);
	t_recvmmsg("zerolen/recvmmsg", fd, 8, MSG_DONTWAIT, NULL, 512);
	SEND(.dport = P(10), .count = 1, .size = 0, .tag = 72);
	t_recv("zerolen/recv-PEEK|TRUNC", fd, 0, MSG_PEEK | MSG_TRUNC);
	t_recv("zerolen/recv", fd, 16, 0);
	close(fd);
}

static void c_nonblock(void)
{
	int fd = t_sock("nonblock", 4, 0, NULL, P(11), -1, false), fl, on, d;

	set_rcvtimeo(fd, 150);
	fl = fcntl(fd, F_GETFL);
	out("nonblock/initial O_NONBLOCK=%d", !!(fl & O_NONBLOCK));
	t_recv("nonblock/blocking-rcvtimeo", fd, 512, 0);
	out("nonblock/fcntl-set ret=%d", fcntl(fd, F_SETFL, fl | O_NONBLOCK));
	out("nonblock/F_GETFL O_NONBLOCK=%d", !!(fcntl(fd, F_GETFL) & O_NONBLOCK));
	t_recv("nonblock/fcntl-nonblock", fd, 512, 0);
	t_recvmmsg("nonblock/fcntl-nonblock-recvmmsg", fd, 4, 0, NULL, 512);
	t_read("nonblock/fcntl-nonblock-read", fd, 512);
	SEND(.dport = P(11), .count = 1, .size = 20, .tag = 80);
	t_recv("nonblock/fcntl-nonblock-data", fd, 512, 0);
	out("nonblock/fcntl-clear ret=%d", fcntl(fd, F_SETFL, fl & ~O_NONBLOCK));
	t_recv("nonblock/cleared-blocks", fd, 512, 0);
	on = 1;
	out("nonblock/FIONBIO-1 ret=%d", ioctl(fd, FIONBIO, &on));
	out("nonblock/F_GETFL O_NONBLOCK=%d", !!(fcntl(fd, F_GETFL) & O_NONBLOCK));
	t_recv("nonblock/FIONBIO-nonblock", fd, 512, 0);
	on = 0;
	out("nonblock/FIONBIO-0 ret=%d", ioctl(fd, FIONBIO, &on));
	t_recvmsg("nonblock/FIONBIO-cleared-blocks", fd, 0, 512, 0, 0);
	/* the flag belongs to the open file description: set through a dup */
	d = dup(fd);
	out("nonblock/dup-fcntl-set ret=%d", fcntl(d, F_SETFL, O_NONBLOCK));
	t_recv("nonblock/orig-after-dup-set", fd, 512, 0);
	fcntl(d, F_SETFL, 0);
	close(d);
	t_recv("nonblock/orig-after-dup-clear", fd, 512, 0);
	close(fd);

	fd = t_sock("nonblock", 4, SOCK_NONBLOCK, NULL, P(11), -1, false);
	out("nonblock/SOCK_NONBLOCK F_GETFL O_NONBLOCK=%d", !!(fcntl(fd, F_GETFL) & O_NONBLOCK));
	t_recv("nonblock/SOCK_NONBLOCK-empty", fd, 512, 0);
	t_recvmmsg("nonblock/SOCK_NONBLOCK-recvmmsg-empty", fd, 4, MSG_WAITFORONE, NULL, 512);
	SEND(.dport = P(11), .count = 2, .size = 20, .tag = 81);
	t_recvmmsg("nonblock/SOCK_NONBLOCK-recvmmsg-vlen4", fd, 4, 0, NULL, 512);
	out("nonblock/fcntl-clear ret=%d", fcntl(fd, F_SETFL, 0));
	set_rcvtimeo(fd, 150);
	t_recv("nonblock/SOCK_NONBLOCK-cleared-blocks", fd, 512, 0);
	close(fd);

	fd = t_sock("nonblock", 4, SOCK_NONBLOCK | SOCK_CLOEXEC, NULL, P(11), -1, false);
	out("nonblock/SOCK_CLOEXEC FD_CLOEXEC=%d", !!(fcntl(fd, F_GETFD) & FD_CLOEXEC));
	t_read("nonblock/nonblock-read-empty", fd, 512);
	close(fd);
}

static void c_rcvtimeo(void)
{
	int fd = t_sock("rcvtimeo", 4, 0, NULL, P(12), -1, false);
	struct timeval tv;
	socklen_t l = sizeof(tv);

	set_rcvtimeo(fd, 150);
	getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &l);
	out("rcvtimeo/getsockopt %ld.%06ld len=%u", (long)tv.tv_sec, (long)tv.tv_usec, (unsigned)l);
	t_recv("rcvtimeo/recv", fd, 512, 0);
	t_recvmsg("rcvtimeo/recvmsg", fd, 0, 512, sizeof(struct sockaddr_storage), 0);
	t_recvfrom("rcvtimeo/recvfrom", fd, 512, 0, sizeof(struct sockaddr_storage));
	t_read("rcvtimeo/read", fd, 512);
	t_recvmmsg("rcvtimeo/recvmmsg", fd, 4, 0, NULL, 512);
	t_recv("rcvtimeo/recv-DONTWAIT", fd, 512, MSG_DONTWAIT);
	SEND(.dport = P(12), .count = 1, .size = 20, .tag = 90, .delay_ms = 60);
	t_recv("rcvtimeo/data-before-expiry", fd, 512, 0);
	gen_sync();
	close(fd);
}

static volatile sig_atomic_t sig_hits;
static void on_sig(int s)
{
	(void)s;
	sig_hits++;
}

static void arm_timer(long ms)
{
	struct itimerval it = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

static void handler(int sig, int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void c_eintr(void)
{
	int fd = t_sock("eintr", 4, 0, NULL, P(13), -1, false);

	/* no SA_RESTART: the wait ends with EINTR (the datagram that comes
	 * 1 s later is only the safety net) */
	handler(SIGALRM, 0);
	sig_hits = 0;
	SEND(.dport = P(13), .count = 1, .size = 20, .tag = 100, .delay_ms = 1000);
	arm_timer(100);
	t_recv("eintr/no-SA_RESTART-recv", fd, 512, 0);
	out("eintr/handler ran %d", (int)sig_hits);
	gen_sync();
	t_drain("eintr/safety-net", fd);

	sig_hits = 0;
	SEND(.dport = P(13), .count = 1, .size = 20, .tag = 101, .delay_ms = 1000);
	arm_timer(100);
	t_recvmmsg("eintr/no-SA_RESTART-recvmmsg", fd, 4, MSG_WAITFORONE, NULL, 512);
	out("eintr/handler ran %d", (int)sig_hits);
	gen_sync();
	t_drain("eintr/safety-net", fd);

	/* SA_RESTART: the receive restarts and returns the datagram */
	handler(SIGALRM, SA_RESTART);
	sig_hits = 0;
	SEND(.dport = P(13), .count = 1, .size = 20, .tag = 102, .delay_ms = 400);
	arm_timer(100);
	t_recv("eintr/SA_RESTART-restarts", fd, 512, 0);
	out("eintr/handler ran %d", (int)sig_hits);
	gen_sync();

	/* SA_RESTART but SO_RCVTIMEO set: the kernel gives EINTR */
	set_rcvtimeo(fd, 2000);
	sig_hits = 0;
	SEND(.dport = P(13), .count = 1, .size = 20, .tag = 103, .delay_ms = 1000);
	arm_timer(100);
	t_recv("eintr/SA_RESTART-with-rcvtimeo", fd, 512, 0);
	out("eintr/handler ran %d", (int)sig_hits);
	gen_sync();
	t_drain("eintr/safety-net", fd);
	set_rcvtimeo(fd, 0);

	/* SIG_IGN'ed signal never interrupts */
	signal(SIGALRM, SIG_IGN);
	SEND(.dport = P(13), .count = 1, .size = 20, .tag = 104, .delay_ms = 300);
	arm_timer(100);
	t_recv("eintr/ignored-signal", fd, 512, 0);
	gen_sync();
	signal(SIGALRM, SIG_DFL);

	/* the highest real-time signal is a signal too: its handler without
	 * SA_RESTART makes the interrupted wait EINTR */
	handler(SIGRTMAX, 0);
	sig_hits = 0;
	SEND(.dport = P(13), .count = 1, .size = 20, .tag = 105, .delay_ms = 1000);
	{
		struct sigevent se = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMAX };
		struct itimerspec its = { .it_value = { 0, 100 * 1000000L } };
		timer_t tm;

		if (timer_create(CLOCK_MONOTONIC, &se, &tm) == 0) {
			timer_settime(tm, 0, &its, NULL);
			t_recv("eintr/SIGRTMAX-no-SA_RESTART", fd, 512, 0);
			timer_delete(tm);
		} else {
			out("eintr/SIGRTMAX timer_create failed");
		}
	}
	out("eintr/handler ran %d", (int)sig_hits);
	gen_sync();
	t_drain("eintr/safety-net", fd);
	signal(SIGRTMAX, SIG_DFL);
	close(fd);
}

/* Known difference: the shim cannot tell which signal interrupted its wait,
 * so one handler without SA_RESTART anywhere makes every interruption EINTR. */
static void c_eintr_mixed(void)
{
	int fd = t_sock("eintr-mixed", 4, 0, NULL, P(13), -1, false);

	handler(SIGALRM, SA_RESTART);
	handler(SIGUSR2, 0);      /* installed, never raised */
	sig_hits = 0;
	SEND(.dport = P(13), .count = 1, .size = 20, .tag = 105, .delay_ms = 400);
	arm_timer(100);
	t_recv("eintr-mixed/SA_RESTART-signal-other-handler-without", fd, 512, 0);
	out("eintr-mixed/handler ran %d", (int)sig_hits);
	gen_sync();
	t_drain("eintr-mixed/rest", fd);
	signal(SIGALRM, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	close(fd);
}

static void c_fionread(void)
{
	int fd = t_sock("fionread", 4, 0, NULL, P(14), -1, false);

	t_fionread("fionread/empty", fd);
	SEND(.dport = P(14), .count = 2, .size = 100, .step = 50, .tag = 110);
	t_fionread("fionread/100-then-150", fd);
	t_recv("fionread/recv", fd, 512, 0);
	t_fionread("fionread/150", fd);
	t_recv("fionread/recv", fd, 512, 0);
	t_fionread("fionread/empty-again", fd);
	close(fd);
}

static void c_cmsg_v4(void)
{
	const char *L = "cmsg4";
	int fd = t_sock(L, 4, 0, NULL, P(15), -1, false);

	setopt(L, fd, IPPROTO_IP, IP_PKTINFO, "IP_PKTINFO", 1);
	setopt(L, fd, SOL_SOCKET, SO_TIMESTAMP, "SO_TIMESTAMP", 1);
	setopt(L, fd, IPPROTO_IP, IP_RECVTOS, "IP_RECVTOS", 1);
	SEND(.dport = P(15), .count = 1, .size = 40, .tos = 0x28, .tag = 120);
	t_recvmsg("cmsg4/pktinfo-ts-tos", fd, 0, 512, sizeof(struct sockaddr_storage), 256);
	SEND(.dport = P(15), .count = 1, .size = 40, .tag = 121);
	t_recvmsg("cmsg4/pktinfo-ts-tos0", fd, 0, 512, sizeof(struct sockaddr_storage), 256);
	setopt(L, fd, SOL_SOCKET, SO_TIMESTAMPNS, "SO_TIMESTAMPNS", 1);
	SEND(.dport = P(15), .count = 2, .size = 40, .tos = 0xb8, .tag = 122);
	t_recvmsg("cmsg4/tsns", fd, 0, 512, sizeof(struct sockaddr_storage), 256);
	{
		/* recvmmsg: every entry has its own control buffer */
		static uint8_t ctl[2][256];
		struct mmsghdr mm[2];
		static uint8_t d[2][64];
		struct iovec iov[2] = { { d[0], 64 }, { d[1], 64 } };
		char b[800];
		memset(mm, 0, sizeof(mm));
		memset(ctl, 0xcc, sizeof(ctl));
		for (int i = 0; i < 2; i++) {
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_control = ctl[i];
			mm[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
		}
		int r = recvmmsg(fd, mm, 2, MSG_DONTWAIT, NULL);
		out("cmsg4/recvmmsg ret=%d", r);
		for (int i = 0; i < r; i++) {
			rb.ctl_sz = sizeof(ctl[i]);
			cmsgstr(&mm[i].msg_hdr, sizeof(ctl[i]), b, sizeof(b));
			out("cmsg4/recvmmsg [%d] len=%u %s", i, mm[i].msg_len, b);
		}
	}
	/* control buffer too small: MSG_CTRUNC, and what the kernel writes */
	SEND(.dport = P(15), .count = 1, .size = 40, .tos = 0x28, .tag = 123);
	t_recvmsg("cmsg4/ctl-fits-ts-and-part-of-pktinfo", fd, 0, 512, 0,
		  CMSG_SPACE(sizeof(struct timespec)) + sizeof(struct cmsghdr) + 4);
	SEND(.dport = P(15), .count = 1, .size = 40, .tos = 0x28, .tag = 124);
	t_recvmsg("cmsg4/ctl-fits-ts-only", fd, 0, 512, 0, CMSG_SPACE(sizeof(struct timespec)));
	SEND(.dport = P(15), .count = 1, .size = 40, .tos = 0x28, .tag = 125);
	t_recvmsg("cmsg4/ctl-8-bytes", fd, 0, 512, 0, 8);
	SEND(.dport = P(15), .count = 1, .size = 40, .tos = 0x28, .tag = 126);
	t_recvmsg("cmsg4/ctl-null", fd, 0, 512, 0, 0);
	SEND(.dport = P(15), .count = 1, .size = 40, .tos = 0x28, .tag = 127);
	t_recvfrom("cmsg4/recvfrom-ignores-cmsg", fd, 512, 0, sizeof(struct sockaddr_storage));
	setopt(L, fd, IPPROTO_IP, IP_PKTINFO, "IP_PKTINFO", 0);
	setopt(L, fd, IPPROTO_IP, IP_RECVTOS, "IP_RECVTOS", 0);
	setopt(L, fd, SOL_SOCKET, SO_TIMESTAMPNS, "SO_TIMESTAMPNS", 0);
	setopt(L, fd, SOL_SOCKET, SO_TIMESTAMP, "SO_TIMESTAMP", 0);
	SEND(.dport = P(15), .count = 1, .size = 40, .tos = 0x28, .tag = 128);
	t_recvmsg("cmsg4/all-off", fd, 0, 512, 0, 256);
	close(fd);
}

/* Known difference (sock.c keeps SO_TIMESTAMP and SO_TIMESTAMPNS as two
 * independent bits; the kernel has one switch plus an NS flag). */
static void c_cmsg_tsorder(void)
{
	const char *L = "cmsg-ts";
	int fd = t_sock(L, 4, 0, NULL, P(15), -1, false);

	setopt(L, fd, SOL_SOCKET, SO_TIMESTAMPNS, "SO_TIMESTAMPNS", 1);
	setopt(L, fd, SOL_SOCKET, SO_TIMESTAMP, "SO_TIMESTAMP", 1);
	SEND(.dport = P(15), .count = 1, .size = 40, .tag = 129);
	t_recvmsg("cmsg-ts/NS-then-TIMESTAMP", fd, 0, 512, 0, 256);
	setopt(L, fd, SOL_SOCKET, SO_TIMESTAMPNS, "SO_TIMESTAMPNS", 1);
	setopt(L, fd, SOL_SOCKET, SO_TIMESTAMP, "SO_TIMESTAMP", 0);
	SEND(.dport = P(15), .count = 1, .size = 40, .tag = 130);
	t_recvmsg("cmsg-ts/NS-then-TIMESTAMP-off", fd, 0, 512, 0, 256);
	close(fd);
}

static void c_cmsg_v6(void)
{
	const char *L = "cmsg6";
	int fd = t_sock(L, 6, 0, NULL, P(16), 0, false);

	setopt(L, fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, "IPV6_RECVPKTINFO", 1);
	setopt(L, fd, IPPROTO_IPV6, IPV6_RECVTCLASS, "IPV6_RECVTCLASS", 1);
	setopt(L, fd, SOL_SOCKET, SO_TIMESTAMPNS, "SO_TIMESTAMPNS", 1);
	SEND(.family = 6, .dport = P(16), .count = 1, .size = 40, .tos = 0x28, .tag = 140);
	t_recvmsg("cmsg6/v6-pktinfo-tclass-tsns", fd, 0, 512, sizeof(struct sockaddr_storage), 256);
	SEND(.family = 4, .dport = P(16), .count = 1, .size = 40, .tos = 0x28, .tag = 141);
	t_recvmsg("cmsg6/v4mapped-pktinfo-tclass-tsns", fd, 0, 512, sizeof(struct sockaddr_storage), 256);
	/* IPv4 options on a dual-stack socket apply to its IPv4 datagrams */
	setopt(L, fd, IPPROTO_IP, IP_PKTINFO, "IP_PKTINFO", 1);
	setopt(L, fd, IPPROTO_IP, IP_RECVTOS, "IP_RECVTOS", 1);
	SEND(.family = 4, .dport = P(16), .count = 1, .size = 40, .tos = 0x28, .tag = 142);
	t_recvmsg("cmsg6/v4mapped-with-ip-options", fd, 0, 512, sizeof(struct sockaddr_storage), 256);
	SEND(.family = 6, .dport = P(16), .count = 1, .size = 40, .tos = 0x28, .tag = 143);
	t_recvmsg("cmsg6/v6-with-ip-options", fd, 0, 512, sizeof(struct sockaddr_storage), 256);
	close(fd);

	fd = t_sock(L, 6, 0, NULL, P(17), 1, false);
	setopt(L, fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, "IPV6_RECVPKTINFO", 1);
	setopt(L, fd, SOL_SOCKET, SO_TIMESTAMP, "SO_TIMESTAMP", 1);
	SEND(.family = 6, .dport = P(17), .count = 1, .size = 40, .tag = 144);
	t_recvmsg("cmsg6/v6only-pktinfo-ts", fd, 0, 512, sizeof(struct sockaddr_storage), 256);
	close(fd);
}

static void c_cmsg_unsup(void)
{
	const char *L = "cmsg-unsup";
	int fd = t_sock(L, 4, 0, NULL, P(18), -1, false);

	set_rcvtimeo(fd, 500);
	setopt(L, fd, IPPROTO_IP, IP_RECVTTL, "IP_RECVTTL", 1);
	setopt(L, fd, IPPROTO_IP, IP_PKTINFO, "IP_PKTINFO", 1);
	SEND(.dport = P(18), .count = 2, .size = 40, .tag = 151);
	t_recvmsg("cmsg-unsup/ttl-pktinfo-1", fd, 0, 512, sizeof(struct sockaddr_storage), 256);
	t_recvmsg("cmsg-unsup/ttl-pktinfo-2", fd, 0, 512, sizeof(struct sockaddr_storage), 256);
	t_recvmsg("cmsg-unsup/empty", fd, MSG_DONTWAIT, 512, sizeof(struct sockaddr_storage), 256);
	setopt(L, fd, IPPROTO_IP, IP_RECVTTL, "IP_RECVTTL", 0);
	SEND(.dport = P(18), .count = 1, .size = 40, .tag = 152);
	t_recvmsg("cmsg-unsup/ttl-off-again", fd, 0, 512, sizeof(struct sockaddr_storage), 256);
	close(fd);
	/* set before bind */
	fd = udp_socket(4, 0);
	set_rcvtimeo(fd, 500);
	setopt(L, fd, IPPROTO_IP, IP_RECVTTL, "IP_RECVTTL", 1);
	out("cmsg-unsup/bind ret=%d", bind_port(fd, 4, NULL, P(18)));
	SEND(.dport = P(18), .count = 1, .size = 40, .tag = 153);
	t_recvmsg("cmsg-unsup/ttl-before-bind", fd, 0, 512, sizeof(struct sockaddr_storage), 256);
	close(fd);
	/* IPv6: IPV6_RECVHOPLIMIT */
	fd = t_sock(L, 6, 0, NULL, P(18), 0, false);
	set_rcvtimeo(fd, 500);
	setopt(L, fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, "IPV6_RECVHOPLIMIT", 1);
	SEND(.family = 6, .dport = P(18), .count = 1, .size = 40, .tag = 154);
	t_recvmsg("cmsg-unsup/hoplimit", fd, 0, 512, sizeof(struct sockaddr_storage), 256);
	close(fd);
}

/* Known difference: datagrams already received when an option moves the
 * socket to the kernel path */
static void c_cmsg_unsup_pending(void)
{
	const char *L = "cmsg-unsup-pending";
	int fd = t_sock(L, 4, 0, NULL, P(18), -1, false);

	set_rcvtimeo(fd, 500);
	SEND(.dport = P(18), .count = 2, .size = 40, .tag = 150);   /* before the option */
	setopt(L, fd, IPPROTO_IP, IP_RECVTTL, "IP_RECVTTL", 1);
	t_recvmsg("cmsg-unsup-pending/1", fd, 0, 512, sizeof(struct sockaddr_storage), 256);
	t_recvmsg("cmsg-unsup-pending/2", fd, 0, 512, sizeof(struct sockaddr_storage), 256);
	close(fd);
}

static void c_sockinfo(void)
{
	const char *L = "sockinfo";
	int fd = t_sock(L, 4, 0, NULL, P(19), -1, false), fd6 = t_sock(L, 6, 0, NULL, P(19), 0, false), v, r, x;
	struct sockaddr_storage ss;
	socklen_t l;
	char as[80];
	static const struct { int opt; const char *n; } opts[] = {
		{ SO_RCVBUF, "SO_RCVBUF" }, { SO_ERROR, "SO_ERROR" }, { SO_TYPE, "SO_TYPE" },
		{ SO_DOMAIN, "SO_DOMAIN" }, { SO_PROTOCOL, "SO_PROTOCOL" }, { SO_REUSEPORT, "SO_REUSEPORT" },
		{ SO_REUSEADDR, "SO_REUSEADDR" }, { SO_RCVLOWAT, "SO_RCVLOWAT" }, { SO_SNDBUF, "SO_SNDBUF" },
		{ SO_TIMESTAMP, "SO_TIMESTAMP" }, { SO_BUSY_POLL, "SO_BUSY_POLL" },
	};

	for (int s = 0; s < 2; s++) {
		int f = s ? fd6 : fd;
		l = sizeof(ss);
		memset(&ss, 0xaa, sizeof(ss));
		r = getsockname(f, (struct sockaddr *)&ss, &l);
		out("sockinfo/getsockname[%d] ret=%d len=%u %s", s, r, (unsigned)l, addrstr(&ss, l, as, sizeof(as)));
		for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
			v = -1;
			l = sizeof(v);
			errno = 0;
			r = getsockopt(f, SOL_SOCKET, opts[i].opt, &v, &l);
			out("sockinfo/getsockopt[%d](%s) ret=%d errno=%s val=%d len=%u", s, opts[i].n, r,
			    r ? ename(errno) : "0", v, (unsigned)l);
		}
		l = sizeof(ss);
		errno = 0;
		r = getpeername(f, (struct sockaddr *)&ss, &l);
		out("sockinfo/getpeername[%d] ret=%d errno=%s", s, r, r ? ename(errno) : "0");
	}
	l = sizeof(v);
	getsockopt(fd6, IPPROTO_IPV6, IPV6_V6ONLY, &v, &l);
	out("sockinfo/v6only=%d", v);
	/* bind errors pass through */
	x = udp_socket(4, 0);
	errno = 0;
	r = bind_port(x, 4, NULL, P(19));
	out("sockinfo/bind-in-use ret=%d errno=%s", r, r ? ename(errno) : "0");
	close(x);
	errno = 0;
	r = bind_port(fd, 4, NULL, P(20));
	out("sockinfo/bind-twice ret=%d errno=%s", r, r ? ename(errno) : "0");
	x = udp_socket(6, 0);
	errno = 0;
	r = bind_port(x, 4, NULL, P(20));
	out("sockinfo/bind-wrong-family ret=%d errno=%s", r, r ? ename(errno) : "0");
	close(x);
	/* sending passes through: a datagram to ourselves over the veth */
	{
		struct sockaddr_storage d;
		int dl = sock_addr(4, dst4, P(19), &d);
		x = t_sock(L, 4, 0, NULL, P(21), -1, false);
		r = (int)sendto(x, "loop-self", 9, 0, (struct sockaddr *)&d, (socklen_t)dl);
		out("sockinfo/sendto-self ret=%d", r);
		usleep(SETTLE_US);
		t_recvfrom("sockinfo/recv-from-self", fd, 512, MSG_DONTWAIT, sizeof(struct sockaddr_storage));
		close(x);
	}
	close(fd);
	close(fd6);
}

static void c_connected(void)
{
	const char *L = "connected";
	int fd = t_sock(L, 4, 0, NULL, P(22), -1, false), r;
	struct sockaddr_storage ss;
	struct sockaddr un = { .sa_family = AF_UNSPEC };
	socklen_t l;
	char as[80];
	int al = sock_addr(4, src4, 20030, &ss);

	r = connect(fd, (struct sockaddr *)&ss, (socklen_t)al);
	out("connected/connect ret=%d", r);
	l = sizeof(ss);
	getpeername(fd, (struct sockaddr *)&ss, &l);
	out("connected/getpeername %s", addrstr(&ss, l, as, sizeof(as)));
	SEND(.dport = P(22), .sport = 20031, .count = 2, .size = 20, .tag = 160);
	SEND(.dport = P(22), .sport = 20030, .count = 1, .size = 21, .tag = 161);
	SEND(.dport = P(22), .sport = 20031, .count = 1, .size = 22, .tag = 162);
	t_recvmsg("connected/from-peer", fd, MSG_DONTWAIT, 512, sizeof(struct sockaddr_storage), 0);
	t_recvmsg("connected/others-filtered", fd, MSG_DONTWAIT, 512, sizeof(struct sockaddr_storage), 0);
	SEND(.dport = P(22), .sport = 20030, .count = 3, .size = 21, .tag = 163);
	t_recvmmsg("connected/recvmmsg-peer", fd, 8, MSG_DONTWAIT, NULL, 512);
	r = connect(fd, &un, sizeof(un));
	out("connected/disconnect ret=%d", r);
	SEND(.dport = P(22), .sport = 20031, .count = 1, .size = 23, .tag = 164);
	t_recvmsg("connected/after-disconnect", fd, MSG_DONTWAIT, 512, sizeof(struct sockaddr_storage), 0);
	close(fd);

	/* v6 socket connected to a v4-mapped peer */
	fd = t_sock(L, 6, 0, NULL, P(22), 0, false);
	al = sock_addr(6, "::ffff:198.18.0.1", 20032, &ss);
	out("connected/connect6-mapped ret=%d", connect(fd, (struct sockaddr *)&ss, (socklen_t)al));
	SEND(.dport = P(22), .sport = 20033, .count = 1, .size = 24, .tag = 165);
	SEND(.dport = P(22), .sport = 20032, .count = 1, .size = 25, .tag = 166);
	t_recvmsg("connected/v6-mapped-peer", fd, MSG_DONTWAIT, 512, sizeof(struct sockaddr_storage), 0);
	t_recvmsg("connected/v6-mapped-empty", fd, MSG_DONTWAIT, 512, sizeof(struct sockaddr_storage), 0);
	close(fd);

	/* an ICMP error reaches the connected socket: reported once */
	fd = t_sock(L, 4, 0, NULL, P(22), -1, false);
	al = sock_addr(4, src4, 20034, &ss);
	connect(fd, (struct sockaddr *)&ss, (socklen_t)al);
	r = (int)send(fd, "x", 1, 0);
	usleep(SETTLE_US);
	out("connected/send-to-closed-port ret=%d", r);
	t_recv("connected/icmp-error", fd, 512, MSG_DONTWAIT);
	t_recv("connected/icmp-error-once", fd, 512, MSG_DONTWAIT);
	send(fd, "x", 1, 0);
	usleep(SETTLE_US);
	{
		struct pollfd p = { fd, POLLIN, 0 };
		out("connected/poll-error ret=%d revents=0x%x", poll(&p, 1, 0), p.revents);
		int v = -1;
		socklen_t vl = sizeof(v);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &vl);
		out("connected/SO_ERROR=%s", v ? ename(v) : "0");
	}
	t_recv("connected/error-cleared", fd, 512, MSG_DONTWAIT);
	close(fd);
}

/* A pending socket error (ICMP on a connected socket) is reported before
 * queued data, and only once. */
static void c_connected_errfirst(void)
{
	int fd = t_sock("conn-err", 4, 0, NULL, P(22), -1, false), r;
	struct sockaddr_storage ss;
	int al = sock_addr(4, src4, 20035, &ss);

	connect(fd, (struct sockaddr *)&ss, (socklen_t)al);
	r = (int)send(fd, "x", 1, 0);
	usleep(SETTLE_US);
	out("conn-err/send-to-closed-port ret=%d", r);
	SEND(.dport = P(22), .sport = 20035, .count = 1, .size = 26, .tag = 167);
	t_recv("conn-err/error-then-data-1", fd, 512, MSG_DONTWAIT);
	t_recv("conn-err/error-then-data-2", fd, 512, MSG_DONTWAIT);
	t_recv("conn-err/error-then-data-3", fd, 512, MSG_DONTWAIT);
	close(fd);
}

/* readiness of two sockets A, B on different ports */
static void ready_poll(const char *label, int a, int b, int which)
{
	struct pollfd p[2] = { { a, POLLIN, 0 }, { b, POLLIN | POLLOUT, 0 } };
	struct timespec ts = { 0, 0 };
	int r = 0;
	fd_set rd, wr;
	struct timeval tv = { 0, 0 };
	int n = (a > b ? a : b) + 1;

	switch (which) {
	case 0:
		r = poll(p, 2, 0);
		out("%s: poll ret=%d A=0x%x B=0x%x", label, r, p[0].revents, p[1].revents);
		break;
	case 1:
		r = ppoll(p, 2, &ts, NULL);
		out("%s: ppoll ret=%d A=0x%x B=0x%x", label, r, p[0].revents, p[1].revents);
		break;
	case 2:
	case 3:
		FD_ZERO(&rd);
		FD_ZERO(&wr);
		FD_SET(a, &rd);
		FD_SET(b, &rd);
		FD_SET(b, &wr);
		r = which == 2 ? select(n, &rd, &wr, NULL, &tv) : pselect(n, &rd, &wr, NULL, &ts, NULL);
		out("%s: %s ret=%d rdA=%d rdB=%d wrB=%d", label, which == 2 ? "select" : "pselect", r,
		    FD_ISSET(a, &rd), FD_ISSET(b, &rd), FD_ISSET(b, &wr));
		break;
	}
}

static void c_poll(void)
{
	static const char *names[] = { "poll", "ppoll", "select", "pselect" };
	int a = t_sock("poll", 4, 0, NULL, P(23), -1, false), b = t_sock("poll", 4, 0, NULL, P(24), -1, false);
	char l[64];

	for (int w = 0; w < 4; w++) {
		snprintf(l, sizeof(l), "poll/%s/empty", names[w]);
		ready_poll(l, a, b, w);
		SEND(.dport = P(23), .count = 1, .size = 20, .tag = (uint32_t)(170 + w));
		snprintf(l, sizeof(l), "poll/%s/A-only", names[w]);
		ready_poll(l, a, b, w);
		SEND(.dport = P(24), .count = 2, .size = 20, .tag = (uint32_t)(180 + w));
		snprintf(l, sizeof(l), "poll/%s/both", names[w]);
		ready_poll(l, a, b, w);
		t_drain("poll/drainA", a);
		snprintf(l, sizeof(l), "poll/%s/B-still", names[w]);
		ready_poll(l, a, b, w);
		t_recv("poll/recvB-1", b, 512, 0);
		snprintf(l, sizeof(l), "poll/%s/B-one-left", names[w]);
		ready_poll(l, a, b, w);
		t_recv("poll/recvB-2", b, 512, 0);
		snprintf(l, sizeof(l), "poll/%s/none", names[w]);
		ready_poll(l, a, b, w);
	}
	/* blocking poll woken by a datagram for A only */
	{
		struct pollfd p[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };
		int64_t t0 = now_ns();
		int r;
		SEND(.dport = P(23), .count = 1, .size = 20, .tag = 190, .delay_ms = 150);
		r = poll(p, 2, 3000);
		out("poll/blocking-wakes ret=%d A=0x%x B=0x%x %s", r, p[0].revents, p[1].revents, waited(t0));
		gen_sync();
		t_drain("poll/drainA", a);
		t0 = now_ns();
		r = poll(p, 2, 150);
		out("poll/blocking-timeout ret=%d A=0x%x B=0x%x %s", r, p[0].revents, p[1].revents, waited(t0));
	}
	/* datagram on the kernel path (IPv4 fragments) counts as readable */
	SEND(.dport = P(23), .count = 1, .size = 3000, .tag = 191);
	ready_poll("poll/fragmented-dgram", a, b, 0);
	t_recv("poll/recv-fragmented", a, BUF_MAX, 0);
	ready_poll("poll/after-fragmented", a, b, 0);
	/* negative fd, bad fd */
	{
		struct pollfd p[2] = { { -1, POLLIN, 7 }, { a, POLLIN, 0 } };
		int r = poll(p, 2, 0);
		out("poll/negative-fd ret=%d revents=0x%x,0x%x", r, p[0].revents, p[1].revents);
	}
	close(a);
	close(b);

	/* two sockets of one SO_REUSEPORT group: a flow wakes exactly one */
	{
		int r1 = t_sock("poll/rp", 4, 0, NULL, P(25), -1, true), r2 = t_sock("poll/rp", 4, 0, NULL, P(25), -1, true);
		struct pollfd p[2] = { { r1, POLLIN, 0 }, { r2, POLLIN, 0 } };
		for (int k = 0; k < 4; k++) {
			int r, rd, which, got, other;
			char lab[64];
			SEND(.dport = P(25), .sport = (uint32_t)(20100 + k), .count = 2, .size = 20, .tag = (uint32_t)(192 + k));
			r = poll(p, 2, 0);
			rd = !!(p[0].revents & POLLIN) + !!(p[1].revents & POLLIN);
			which = (p[0].revents & POLLIN) ? 0 : 1;
			snprintf(lab, sizeof(lab), "poll/rp-flow%d", k);
			got = 0;
			while (recv(p[which].fd, rb.data, 512, MSG_DONTWAIT) >= 0)
				got++;
			other = (int)recv(p[!which].fd, rb.data, 512, MSG_DONTWAIT);
			out("%s: poll ret=%d readable_sockets=%d reader_got=%d other_recv=%d", lab, r, rd, got, other);
			r = poll(p, 2, 0);
			out("%s: after-drain poll ret=%d", lab, r);
		}
		close(r1);
		close(r2);
	}
}

static const char *evstr(const struct epoll_event *e, int n, char *b, size_t bl)
{
	/* canonical: sorted by data, "id:events" */
	uint64_t ids[16];
	uint32_t evs[16];
	size_t o = 0;

	for (int i = 0; i < n && i < 16; i++) {
		ids[i] = e[i].data.u64;
		evs[i] = e[i].events;
	}
	for (int i = 1; i < n && i < 16; i++)
		for (int j = i; j > 0 && ids[j] < ids[j - 1]; j--) {
			uint64_t t = ids[j];
			uint32_t u = evs[j];
			ids[j] = ids[j - 1];
			evs[j] = evs[j - 1];
			ids[j - 1] = t;
			evs[j - 1] = u;
		}
	b[0] = 0;
	for (int i = 0; i < n && i < 16; i++)
		o += (size_t)snprintf(b + o, bl - o, " %llu:0x%x", (unsigned long long)ids[i], evs[i]);
	return b;
}

static void ep_wait(const char *label, int ep, int which)
{
	struct epoll_event e[16];
	struct timespec ts = { 0, 0 };
	char b[256];
	int r;

	memset(e, 0, sizeof(e));
	r = which == 0 ? epoll_wait(ep, e, 16, 0) : which == 1 ? epoll_pwait(ep, e, 16, 0, NULL)
							       : epoll_pwait2(ep, e, 16, &ts, NULL);
	out("%s: %s ret=%d%s", label, which == 0 ? "epoll_wait" : which == 1 ? "epoll_pwait" : "epoll_pwait2", r,
	    r > 0 ? evstr(e, r, b, sizeof(b)) : "");
}

static int ep_ctl(int ep, int op, int fd, uint32_t events, uint64_t id)
{
	struct epoll_event e = { .events = events, .data.u64 = id };
	int r;

	errno = 0;
	r = epoll_ctl(ep, op, fd, &e);
	out("epoll/ctl op=%d id=%llu events=0x%x ret=%d errno=%s", op, (unsigned long long)id, events, r,
	    r ? ename(errno) : "0");
	return r;
}

static void c_epoll(void)
{
	int a = t_sock("epoll", 4, 0, NULL, P(26), -1, false), b = t_sock("epoll", 4, 0, NULL, P(27), -1, false);
	int ep = epoll_create1(EPOLL_CLOEXEC);

	/* level-triggered */
	ep_ctl(ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
	ep_ctl(ep, EPOLL_CTL_ADD, b, EPOLLIN, 2);
	ep_ctl(ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);   /* EEXIST */
	ep_wait("epoll/lt-empty", ep, 0);
	SEND(.dport = P(26), .count = 2, .size = 20, .tag = 200);
	ep_wait("epoll/lt-A", ep, 0);
	ep_wait("epoll/lt-A-again", ep, 1);
	t_recv("epoll/lt-recvA-1", a, 512, 0);
	ep_wait("epoll/lt-A-one-left", ep, 2);
	SEND(.dport = P(27), .count = 1, .size = 20, .tag = 201);
	ep_wait("epoll/lt-both", ep, 0);
	t_drain("epoll/lt-drainA", a);
	ep_wait("epoll/lt-B-still", ep, 0);
	t_drain("epoll/lt-drainB", b);
	ep_wait("epoll/lt-none", ep, 0);

	/* edge-triggered */
	ep_ctl(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLET, 1);
	ep_ctl(ep, EPOLL_CTL_MOD, b, EPOLLIN | EPOLLET, 2);
	ep_wait("epoll/et-empty", ep, 0);
	SEND(.dport = P(26), .count = 1, .size = 20, .tag = 202);
	ep_wait("epoll/et-A", ep, 0);
	ep_wait("epoll/et-A-no-new-edge", ep, 0);
	SEND(.dport = P(26), .count = 1, .size = 20, .tag = 203);
	ep_wait("epoll/et-A-new-edge", ep, 1);
	t_recv("epoll/et-recvA-1", a, 512, 0);
	ep_wait("epoll/et-after-partial-read", ep, 0);
	SEND(.dport = P(27), .count = 1, .size = 20, .tag = 204);
	ep_wait("epoll/et-B", ep, 2);
	t_drain("epoll/et-drainA", a);
	t_drain("epoll/et-drainB", b);
	ep_wait("epoll/et-none", ep, 0);

	/* one-shot */
	ep_ctl(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLONESHOT, 1);
	SEND(.dport = P(26), .count = 1, .size = 20, .tag = 205);
	ep_wait("epoll/oneshot-A", ep, 0);
	ep_wait("epoll/oneshot-disarmed", ep, 0);
	SEND(.dport = P(26), .count = 1, .size = 20, .tag = 206);
	ep_wait("epoll/oneshot-disarmed-new-data", ep, 0);
	ep_ctl(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLONESHOT, 1);
	ep_wait("epoll/oneshot-rearmed", ep, 0);
	t_drain("epoll/oneshot-drainA", a);
	ep_ctl(ep, EPOLL_CTL_MOD, a, EPOLLIN, 1);
	ep_wait("epoll/oneshot-back-to-lt-empty", ep, 0);

	/* blocking wait */
	{
		struct epoll_event e[4];
		int64_t t0 = now_ns();
		char bb[128];
		SEND(.dport = P(27), .count = 1, .size = 20, .tag = 207, .delay_ms = 150);
		int r = epoll_wait(ep, e, 4, 3000);
		out("epoll/blocking-wakes ret=%d%s %s", r, r > 0 ? evstr(e, r, bb, sizeof(bb)) : "", waited(t0));
		gen_sync();
		t_drain("epoll/drainB", b);
	}

	/* removal */
	ep_ctl(ep, EPOLL_CTL_DEL, b, 0, 2);
	SEND(.dport = P(27), .count = 1, .size = 20, .tag = 208);
	ep_wait("epoll/deleted-B-silent", ep, 0);
	t_drain("epoll/drainB", b);
	ep_ctl(ep, EPOLL_CTL_DEL, b, 0, 2);   /* ENOENT */

	/* close without EPOLL_CTL_DEL: no stale event */
	{
		int c = t_sock("epoll", 4, 0, NULL, P(28), -1, false);
		ep_ctl(ep, EPOLL_CTL_ADD, c, EPOLLIN, 3);
		SEND(.dport = P(28), .count = 1, .size = 20, .tag = 209);
		ep_wait("epoll/C-ready", ep, 0);
		close(c);
		ep_wait("epoll/C-closed-no-stale", ep, 0);
		SEND(.dport = P(28), .count = 1, .size = 20, .tag = 210);
		ep_wait("epoll/C-closed-port-traffic", ep, 0);
		/* same fd number reused by a new socket on another port */
		c = t_sock("epoll", 4, 0, NULL, P(29), -1, false);
		SEND(.dport = P(29), .count = 1, .size = 20, .tag = 211);
		ep_wait("epoll/fd-reused-not-registered", ep, 0);
		t_drain("epoll/drain-reused", c);
		close(c);
	}
	/* closing one of two fds of a registered socket keeps the registration */
	{
		int c = t_sock("epoll", 4, 0, NULL, P(28), -1, false), c2 = dup(c);
		ep_ctl(ep, EPOLL_CTL_ADD, c, EPOLLIN, 4);
		close(c);
		SEND(.dport = P(28), .count = 1, .size = 20, .tag = 212);
		ep_wait("epoll/dup-closed-orig-still-reports", ep, 0);
		ep_ctl(ep, EPOLL_CTL_DEL, c2, 0, 4);   /* ENOENT: registered under the closed fd */
		t_drain("epoll/drain-dup", c2);
		ep_wait("epoll/dup-drained", ep, 0);
		close(c2);
		ep_wait("epoll/dup-all-closed", ep, 0);
	}
	/* same socket in two epoll sets */
	{
		int ep2 = epoll_create1(0);
		ep_ctl(ep2, EPOLL_CTL_ADD, a, EPOLLIN, 11);
		SEND(.dport = P(26), .count = 1, .size = 20, .tag = 213);
		ep_wait("epoll/set1", ep, 0);
		ep_wait("epoll/set2", ep2, 0);
		close(ep2);
		t_drain("epoll/drainA", a);
	}
	/* data on the kernel path (fragments) is an event too */
	SEND(.dport = P(26), .count = 1, .size = 3000, .tag = 214);
	ep_wait("epoll/fragmented", ep, 0);
	t_drain("epoll/drainA-fragmented", a);
	ep_wait("epoll/fragmented-drained", ep, 0);
	close(ep);
	close(a);
	close(b);
}

/* Two sockets registered with the same data (0, or one pointer, as
 * programs that look the fd up elsewhere do): two events, one per socket */
static void c_epoll_samedata(void)
{
	int a = t_sock("epoll-samedata", 4, 0, NULL, P(70), -1, false);
	int b = t_sock("epoll-samedata", 4, 0, NULL, P(71), -1, false);
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ep_ctl(ep, EPOLL_CTL_ADD, a, EPOLLIN, 0);
	ep_ctl(ep, EPOLL_CTL_ADD, b, EPOLLIN, 0);
	SEND(.dport = P(70), .count = 1, .size = 20, .tag = 230);
	SEND(.dport = P(71), .count = 1, .size = 20, .tag = 231);
	ep_wait("epoll-samedata/both-ready-data-0", ep, 0);
	t_drain("epoll-samedata/drainA", a);
	ep_wait("epoll-samedata/B-still", ep, 0);
	t_drain("epoll-samedata/drainB", b);
	ep_ctl(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLET, 0x7f00deadbeef);
	ep_ctl(ep, EPOLL_CTL_MOD, b, EPOLLIN | EPOLLET, 0x7f00deadbeef);
	SEND(.dport = P(70), .count = 1, .size = 20, .tag = 232);
	SEND(.dport = P(71), .count = 1, .size = 20, .tag = 233);
	ep_wait("epoll-samedata/et-both-one-pointer", ep, 0);
	t_drain("epoll-samedata/drainA", a);
	t_drain("epoll-samedata/drainB", b);
	close(ep);
	close(a);
	close(b);
}

/* Input and output interest on one registration (mio/tokio register
 * EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET): EPOLLOUT comes from the
 * kernel socket, EPOLLIN from either path, in one event */
static void c_epoll_inout(void)
{
	int a = t_sock("epoll-inout", 4, 0, NULL, P(70), -1, false);
	int ep = epoll_create1(EPOLL_CLOEXEC), ep2 = epoll_create1(EPOLL_CLOEXEC);

	ep_ctl(ep, EPOLL_CTL_ADD, a, EPOLLIN | EPOLLOUT, 5);
	ep_wait("epoll-inout/lt-writable-only", ep, 0);
	SEND(.dport = P(70), .count = 1, .size = 20, .tag = 236);
	ep_wait("epoll-inout/lt-readable-and-writable", ep, 0);
	ep_wait("epoll-inout/lt-again", ep, 1);
	t_drain("epoll-inout/drain", a);
	ep_wait("epoll-inout/lt-drained", ep, 2);
	ep_ctl(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, 6);
	ep_wait("epoll-inout/et-first-edge", ep, 0);
	ep_wait("epoll-inout/et-no-new-edge", ep, 0);
	SEND(.dport = P(70), .count = 1, .size = 20, .tag = 237);
	ep_wait("epoll-inout/et-data-edge", ep, 0);
	ep_wait("epoll-inout/et-no-new-edge-2", ep, 0);
	/* the same socket in a second set, output only, then input only */
	ep_ctl(ep2, EPOLL_CTL_ADD, a, EPOLLOUT, 7);
	ep_wait("epoll-inout/set2-out-only", ep2, 0);
	ep_ctl(ep2, EPOLL_CTL_MOD, a, EPOLLIN, 8);
	ep_wait("epoll-inout/set2-now-in", ep2, 0);
	ep_ctl(ep, EPOLL_CTL_DEL, a, 0, 6);
	ep_wait("epoll-inout/set1-deleted", ep, 0);
	ep_ctl(ep, EPOLL_CTL_MOD, a, EPOLLIN, 6);   /* ENOENT */
	ep_ctl(ep2, EPOLL_CTL_ADD, a, EPOLLIN, 8);  /* EEXIST */
	ep_ctl(ep2, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLEXCLUSIVE, 8);   /* EINVAL */
	t_drain("epoll-inout/drain", a);
	ep_wait("epoll-inout/set2-drained", ep2, 0);
	close(ep);
	close(ep2);
	close(a);
}

/* quinn/tokio's registration (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) on
 * an IP_RECVERR socket: every edge carries the socket's whole mask, from
 * whichever path woke it - data on a ring with the kernel socket's
 * EPOLLOUT, an ICMP error (EPOLLERR) with the unread data's EPOLLIN, data
 * while the error queue is full (EPOLLERR still), data after the error
 * was read (EPOLLERR gone), shutdown (EPOLLRDHUP). */
static void t_errqueue(const char *label, int fd);
static void c_epoll_errmask(void)
{
	const char *L = "epoll-errmask";
	int a = t_sock(L, 4, 0, NULL, P(60), -1, false), r;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct sockaddr_storage ss;
	int al = sock_addr(4, src4, 20080, &ss);

	setopt(L, a, IPPROTO_IP, IP_RECVERR, "IP_RECVERR", 1);
	ep_ctl(ep, EPOLL_CTL_ADD, a, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, 9);
	ep_wait("epoll-errmask/first-edge", ep, 0);
	ep_wait("epoll-errmask/no-new-edge", ep, 0);
	SEND(.dport = P(60), .count = 1, .size = 20, .tag = 600);
	ep_wait("epoll-errmask/data-edge", ep, 0);
	r = (int)sendto(a, "x", 1, 0, (struct sockaddr *)&ss, (socklen_t)al);
	usleep(SETTLE_US);
	out("epoll-errmask/sendto-closed-port ret=%d", r);
	ep_wait("epoll-errmask/error-edge-data-unread", ep, 0);
	ep_wait("epoll-errmask/no-new-edge-2", ep, 0);
	SEND(.dport = P(60), .count = 1, .size = 21, .tag = 601);
	ep_wait("epoll-errmask/data-edge-error-pending", ep, 0);
	t_recv("epoll-errmask/error-reported", a, 512, MSG_DONTWAIT);
	SEND(.dport = P(60), .count = 1, .size = 22, .tag = 602);
	ep_wait("epoll-errmask/data-edge-errqueue-full", ep, 0);
	t_errqueue("epoll-errmask/errqueue", a);
	SEND(.dport = P(60), .count = 1, .size = 23, .tag = 603);
	ep_wait("epoll-errmask/data-edge-error-gone", ep, 0);
	t_drain("epoll-errmask/drain", a);
	ep_wait("epoll-errmask/drained", ep, 0);
	/* a ring's wake-up and the kernel socket's before one wait: one event */
	SEND(.dport = P(60), .count = 1, .size = 26, .tag = 606);
	r = (int)sendto(a, "y", 1, 0, (struct sockaddr *)&ss, (socklen_t)al);
	usleep(SETTLE_US);
	out("epoll-errmask/sendto-closed-port-2 ret=%d", r);
	ep_wait("epoll-errmask/data-and-error-one-event", ep, 0);
	t_recv("epoll-errmask/error-reported-2", a, 512, MSG_DONTWAIT);
	t_errqueue("epoll-errmask/errqueue-2", a);
	t_drain("epoll-errmask/drain-1", a);
	/* shutdown wakes the kernel socket while a ring holds data already
	 * reported */
	SEND(.dport = P(60), .count = 1, .size = 24, .tag = 604);
	ep_wait("epoll-errmask/data-edge-2", ep, 0);
	shutdown(a, SHUT_RD);
	ep_wait("epoll-errmask/shutdown-edge", ep, 0);
	SEND(.dport = P(60), .count = 1, .size = 25, .tag = 605);
	ep_wait("epoll-errmask/data-edge-after-shutdown", ep, 0);
	t_drain("epoll-errmask/drain-2", a);
	/* level-triggered again: one entry, the whole mask every call */
	ep_ctl(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 9);
	ep_wait("epoll-errmask/lt", ep, 0);
	ep_ctl(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLOUT | EPOLLET, 9);
	ep_wait("epoll-errmask/et-again", ep, 0);
	ep_ctl(ep, EPOLL_CTL_DEL, a, 0, 9);
	ep_wait("epoll-errmask/deleted", ep, 0);
	close(ep);
	close(a);
}

/* A one-shot registration outlives its fd number (a dup keeps the socket
 * open); the number is then reused by another socket registered in the
 * same set: A firing must leave the other socket's registration alone */
static void c_epoll_oneshot_reuse(void)
{
	int a = t_sock("epoll-os-reuse", 4, 0, NULL, P(70), -1, false), a2, u;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ep_ctl(ep, EPOLL_CTL_ADD, a, EPOLLIN | EPOLLONESHOT, 1);
	a2 = dup(a);
	close(a);
	u = t_sock("epoll-os-reuse", 4, 0, NULL, P(72), -1, false);
	if (u != a)
		u = dup2(u, a) == a ? (close(u), a) : u;
	out("epoll-os-reuse/fd-number-reused %d", u == a);
	ep_ctl(ep, EPOLL_CTL_ADD, u, EPOLLIN, 2);
	SEND(.dport = P(70), .count = 1, .size = 20, .tag = 234);
	ep_wait("epoll-os-reuse/A-fires-once", ep, 0);
	/* a fragmented datagram: it reaches U through its kernel socket */
	SEND(.dport = P(72), .count = 1, .size = 3000, .tag = 235);
	ep_wait("epoll-os-reuse/U-still-reports", ep, 0);
	ep_wait("epoll-os-reuse/U-level", ep, 0);
	t_drain("epoll-os-reuse/drainU", u);
	t_drain("epoll-os-reuse/drainA", a2);
	ep_wait("epoll-os-reuse/none", ep, 0);
	close(ep);
	close(a2);
	close(u);
}

/* One-shot with datagrams on both paths: one event until re-armed */
static void c_epoll_oneshot_mixed(void)
{
	int a = t_sock("epoll-mixed", 4, 0, NULL, P(26), -1, false);
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ep_ctl(ep, EPOLL_CTL_ADD, a, EPOLLIN | EPOLLONESHOT, 1);
	SEND(.dport = P(26), .count = 1, .size = 20, .tag = 215);
	ep_wait("epoll-mixed/oneshot-first", ep, 0);
	SEND(.dport = P(26), .count = 1, .size = 3000, .tag = 216);
	ep_wait("epoll-mixed/oneshot-disarmed-kernel-path-dgram", ep, 0);
	t_drain_set("epoll-mixed/drain", a);
	ep_ctl(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLET, 1);
	SEND(.dport = P(26), .count = 1, .size = 3000, .tag = 217);
	ep_wait("epoll-mixed/et-kernel-path", ep, 0);
	SEND(.dport = P(26), .count = 1, .size = 20, .tag = 218);
	ep_wait("epoll-mixed/et-fast-path-after", ep, 0);
	t_drain_set("epoll-mixed/drain", a);
	close(ep);
	close(a);
}

static void c_dup(void)
{
	int fd = t_sock("dup", 4, 0, NULL, P(30), -1, false), nul = open("/dev/null", O_RDONLY), d, r;
	struct pollfd p;

	d = dup(fd);
	SEND(.dport = P(30), .count = 1, .size = 20, .tag = 220);
	t_recvfrom("dup/dup-reads", d, 512, 0, sizeof(struct sockaddr_storage));
	close(fd);
	SEND(.dport = P(30), .count = 1, .size = 20, .tag = 221);
	p = (struct pollfd){ d, POLLIN, 0 };
	out("dup/after-close-orig poll ret=%d revents=0x%x", poll(&p, 1, 0), p.revents);
	t_recvfrom("dup/after-close-orig", d, 512, 0, sizeof(struct sockaddr_storage));

	r = dup2(d, nul);
	out("dup/dup2-over-devnull ret=%s", r == nul ? "newfd" : "other");
	SEND(.dport = P(30), .count = 2, .size = 20, .tag = 222);
	t_recv("dup/dup2-reads", nul, 512, 0);
	t_recv("dup/orig-reads", d, 512, 0);
	close(d);
	SEND(.dport = P(30), .count = 1, .size = 20, .tag = 223);
	t_recv("dup/dup2-after-close-orig", nul, 512, 0);

	fd = nul;
	d = dup3(fd, 100, O_CLOEXEC);
	out("dup/dup3 ret=%d cloexec=%d", d, !!(fcntl(d, F_GETFD) & FD_CLOEXEC));
	close(fd);
	SEND(.dport = P(30), .count = 1, .size = 20, .tag = 224);
	t_recvmsg("dup/dup3-reads", d, 0, 512, sizeof(struct sockaddr_storage), 0);
	fd = fcntl(d, F_DUPFD, 200);
	out("dup/F_DUPFD ret>=200 %d", fd >= 200);
	close(d);
	SEND(.dport = P(30), .count = 1, .size = 20, .tag = 225);
	t_recvmmsg("dup/F_DUPFD-reads", fd, 4, MSG_DONTWAIT, NULL, 512);
	d = fcntl(fd, F_DUPFD_CLOEXEC, 300);
	out("dup/F_DUPFD_CLOEXEC ret>=300 %d cloexec=%d", d >= 300, !!(fcntl(d, F_GETFD) & FD_CLOEXEC));
	close(fd);
	SEND(.dport = P(30), .count = 1, .size = 20, .tag = 226);
	t_read("dup/F_DUPFD_CLOEXEC-reads", d, 512);
	out("dup/dup2-same-fd ret=%s", dup2(d, d) == d ? "same" : "other");
	SEND(.dport = P(30), .count = 1, .size = 20, .tag = 227);
	t_read("dup/dup2-same-reads", d, 512);

	/* dup2 over another accelerated socket closes that one */
	{
		int b = t_sock("dup", 4, 0, NULL, P(31), -1, false), b2;
		SEND(.dport = P(31), .count = 1, .size = 20, .tag = 228);
		r = dup2(d, b);
		out("dup/dup2-over-socket ret=%s", r == b ? "newfd" : "other");
		SEND(.dport = P(30), .count = 1, .size = 20, .tag = 229);
		t_recvfrom("dup/replaced-fd-reads-new-socket", b, 512, MSG_DONTWAIT, sizeof(struct sockaddr_storage));
		t_recv("dup/replaced-fd-empty", b, 512, MSG_DONTWAIT);
		b2 = t_sock("dup", 4, 0, NULL, P(31), -1, false);   /* the port is free again */
		SEND(.dport = P(31), .count = 1, .size = 20, .tag = 230);
		t_recvfrom("dup/rebound-port", b2, 512, MSG_DONTWAIT, sizeof(struct sockaddr_storage));
		close(b2);
		close(b);
	}
	close(d);
}

struct flowmap {
	int sock_of_flow[64];   /* -1 none, -2 split */
	int total, bad, split;
	uint32_t seen[64];
};

static void flow_drain(struct flowmap *fm, int *fds, int nfd, uint16_t sport0, uint32_t tag)
{
	uint8_t b[2048];
	struct sockaddr_in a;

	for (int s = 0; s < nfd; s++) {
		if (fds[s] < 0)
			continue;
		for (;;) {
			socklen_t al = sizeof(a);
			ssize_t r = recvfrom(fds[s], b, sizeof(b), MSG_DONTWAIT, (struct sockaddr *)&a, &al);
			uint32_t t, q;
			int f;
			if (r < 0)
				break;
			f = ntohs(a.sin_port) - sport0;
			if (f < 0 || f >= 64 || !payload_check(b, (size_t)r, &t, &q) || t != tag) {
				fm->bad++;
				continue;
			}
			fm->total++;
			fm->seen[f]++;
			if (fm->sock_of_flow[f] == -1)
				fm->sock_of_flow[f] = s;
			else if (fm->sock_of_flow[f] != s)
				fm->split++;
		}
	}
}

static void c_reuseport(void)
{
	int fds[4];
	struct flowmap fm;
	int used[4], nused;

	for (int i = 0; i < 4; i++)
		fds[i] = t_sock("reuseport", 4, 0, NULL, P(32), -1, true);
	for (int phase = 0; phase < 2; phase++) {
		memset(&fm, 0, sizeof(fm));
		for (int f = 0; f < 64; f++)
			fm.sock_of_flow[f] = -1;
		SEND(.dport = P(32), .sport = 21000, .flows = 16, .count = 128, .size = 48, .tag = (uint32_t)(240 + phase),
		     .rate = 50000);
		flow_drain(&fm, fds, 4, 21000, (uint32_t)(240 + phase));
		memset(used, 0, sizeof(used));
		nused = 0;
		for (int f = 0; f < 16; f++)
			if (fm.sock_of_flow[f] >= 0 && !used[fm.sock_of_flow[f]]++)
				nused++;
		int per_flow_ok = 1;
		for (int f = 0; f < 16; f++)
			per_flow_ok &= fm.seen[f] == 8;
		out("reuseport/phase%d: members=%d total=%d bad=%d split=%d every_flow_8=%d spread=%s", phase,
		    4 - phase, fm.total, fm.bad, fm.split, per_flow_ok, nused >= 2 ? "yes" : "NO");
		if (phase == 0) {
			/* close one member that had flows: the rest lose nothing */
			int victim = fm.sock_of_flow[0];
			close(fds[victim]);
			fds[victim] = -1;
			out("reuseport/closed one member that had flows");
		}
	}
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);

	/* IPv6 group of 2 receiving v4 and v6 flows */
	{
		int g[2];
		for (int i = 0; i < 2; i++)
			g[i] = t_sock("reuseport6", 6, 0, NULL, P(33), 0, true);
		for (int fam = 4; fam <= 6; fam += 2) {
			int total = 0, consistent = 1, sock_of[8];
			for (int f = 0; f < 8; f++)
				sock_of[f] = -1;
			SEND(.family = (uint32_t)fam, .dport = P(33), .sport = 21100, .flows = 8, .count = 32, .size = 48,
			     .tag = (uint32_t)(250 + fam));
			for (int s = 0; s < 2; s++) {
				struct sockaddr_in6 a;
				socklen_t al = sizeof(a);
				while (recvfrom(g[s], rb.data, 512, MSG_DONTWAIT, (struct sockaddr *)&a, &al) >= 0) {
					int f = ntohs(a.sin6_port) - 21100;
					total++;
					if (f >= 0 && f < 8) {
						if (sock_of[f] == -1)
							sock_of[f] = s;
						else if (sock_of[f] != s)
							consistent = 0;
					}
					al = sizeof(a);
				}
			}
			out("reuseport6/v%d: total=%d consistent=%d", fam, total, consistent);
		}
		close(g[0]);
		close(g[1]);
	}
}

static void c_churn(void)
{
	int ok = 0, fail = 0, fd;
	int64_t t0 = now_ns();

	for (int i = 0; i < 1000; i++) {
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s < 0) {
			fail++;
			continue;
		}
		if (bind_port(s, 4, NULL, P(34)))
			fail++;
		else
			ok++;
		close(s);
	}
	fprintf(stderr, "diff_sock: churn_ms=%lld\n", (long long)((now_ns() - t0) / 1000000));
	out("churn/1000-bind-close ok=%d fail=%d", ok, fail);
	fd = t_sock("churn", 4, 0, NULL, P(34), -1, false);
	SEND(.dport = P(34), .count = 3, .size = 20, .tag = 260);
	t_recvmmsg("churn/after", fd, 8, MSG_DONTWAIT, NULL, 512);
	close(fd);
}

/* A burst while the application is not reading: the kernel queues up to
 * SO_RCVBUF (set here with SO_RCVBUFFORCE, after bind and before bind). */
static void c_burst(void)
{
	int big = 8 << 20;

	for (int before = 0; before < 2; before++) {
		int fd = udp_socket(4, 0), n = 0;
		uint32_t h = FNV0;
		ssize_t r;

		if (before)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
		out("burst/bind ret=%d", bind_port(fd, 4, NULL, P(39)));
		if (!before)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
		SEND(.dport = P(39), .count = 3000, .size = 64, .tag = (uint32_t)(310 + before), .rate = 100000);
		while ((r = recv(fd, rb.data, 512, MSG_DONTWAIT)) >= 0) {
			h = fnv(rb.data, (size_t)r, h);
			n++;
		}
		out("burst/rcvbuf-set-%s-bind: 3000 sent while not reading, received %d hash=%08x",
		    before ? "before" : "after", n, h);
		close(fd);
	}
}

/* ---- threads -------------------------------------------------------- */

#define THR_MAX_SEQ 8192
static uint8_t thr_seen[THR_MAX_SEQ];
static int thr_bad, thr_stop;

struct thr_arg {
	int fd;
	uint32_t tag;
	int got;
};

static void *thr_main(void *p)
{
	struct thr_arg *a = p;
	struct mmsghdr mm[16];
	static __thread uint8_t bufs[16][256];
	struct iovec iov[16];

	for (;;) {
		for (int i = 0; i < 16; i++) {
			iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
			memset(&mm[i], 0, sizeof(mm[i]));
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		int r = recvmmsg(a->fd, mm, 16, MSG_WAITFORONE, NULL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if ((errno == EAGAIN || errno == EWOULDBLOCK) && !__atomic_load_n(&thr_stop, __ATOMIC_ACQUIRE))
				continue;
			break;
		}
		for (int i = 0; i < r; i++) {
			uint32_t t, q;
			if (!payload_check(bufs[i], mm[i].msg_len, &t, &q) || t != a->tag || q >= THR_MAX_SEQ) {
				__atomic_add_fetch(&thr_bad, 1, __ATOMIC_RELAXED);
				continue;
			}
			__atomic_add_fetch(&thr_seen[q], 1, __ATOMIC_RELAXED);
			a->got++;
		}
	}
	return NULL;
}

static void thr_run(const char *label, int *fds, int nfd, uint32_t tag, uint32_t count, uint32_t nports)
{
	pthread_t th[4];
	struct thr_arg args[4];
	int once = 0, dup_ = 0, missing = 0, active = 0;

	memset(thr_seen, 0, sizeof(thr_seen));
	thr_bad = 0;
	__atomic_store_n(&thr_stop, 0, __ATOMIC_RELEASE);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thr_arg){ .fd = fds[i % nfd], .tag = tag };
		pthread_create(&th[i], NULL, thr_main, &args[i]);
	}
	usleep(50000);
	SEND(.dport = P(35), .nports = nports, .count = count, .size = 64, .tag = tag, .rate = 100000);
	usleep(200000);
	__atomic_store_n(&thr_stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		active += args[i].got > 0;
	}
	for (uint32_t q = 0; q < count; q++) {
		once += thr_seen[q] == 1;
		dup_ += thr_seen[q] > 1;
		missing += thr_seen[q] == 0;
	}
	out("%s: count=%u exactly_once=%d dup=%d missing=%d bad=%d%s", label, count, once, dup_, missing, thr_bad,
	    nfd > 1 ? (active == 4 ? " all_threads_got_data" : " SOME-THREAD-IDLE") : "");
}

/* socket with an 8 MiB receive buffer set before bind (see c_burst for
 * setting it after), SO_RCVTIMEO 100 ms */
static int thr_sock(uint16_t port)
{
	int fd = udp_socket(4, 0), big = 8 << 20;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	out("threads: bind(port %u) ret=%d", (unsigned)(port - port_base), bind_port(fd, 4, NULL, port));
	set_rcvtimeo(fd, 100);
	return fd;
}

static void c_threads(void)
{
	int fds[4];

	fds[0] = thr_sock(P(35));
	thr_run("threads/4-threads-one-socket", fds, 1, 270, 4000, 1);
	close(fds[0]);
	for (int i = 0; i < 4; i++)
		fds[i] = thr_sock(P(35 + i));
	thr_run("threads/4-threads-4-sockets", fds, 4, 271, 4000, 4);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
}

/* ---- fork / exec ----------------------------------------------------- */

static const char *self_exe;

static int exec_child(uint16_t port, int n)
{
	int fd = udp_socket(4, 0);

	set_rcvtimeo(fd, 2000);
	printf("exec-child: bind ret=%d\n", bind_port(fd, 4, NULL, port));
	fflush(stdout);
	/* tell the parent we are bound: one byte on fd 3 */
	if (write(3, "r", 1) != 1)
		return 1;
	for (int i = 0; i < n; i++) {
		char b[600];
		struct rbuf *r = &rb;
		rbuf_init(r, 512, sizeof(struct sockaddr_storage), 0);
		ssize_t k = recvmsg(fd, &r->m, 0);
		msgstr(r, &r->m, b, sizeof(b));
		printf("exec-child: recvmsg ret=%zd %s\n", k, k >= 0 ? b : ename(errno));
	}
	fflush(stdout);
	close(fd);
	return 0;
}

static void c_fork(void)
{
	int a = t_sock("fork", 4, 0, NULL, P(40), -1, false), pp[2], st;
	pid_t pid;
	char c;

	SEND(.dport = P(40), .count = 2, .size = 20, .tag = 280);   /* pending across the fork */
	if (pipe(pp))
		harness_fail("pipe");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* child: its own socket on another configured port, the kernel path */
		int fd = udp_socket(4, 0), r = bind_port(fd, 4, NULL, P(41)), n = 0;
		char line[256];
		struct sockaddr_storage ss;
		socklen_t l = sizeof(ss);
		char as[80];

		set_rcvtimeo(fd, 2000);
		getsockname(a, (struct sockaddr *)&ss, &l);
		n = snprintf(line, sizeof(line), "bind=%d parent-sock=%s", r, addrstr(&ss, l, as, sizeof(as)));
		if (write(pp[1], "r", 1) != 1)
			_exit(2);
		for (int i = 0; i < 3; i++) {
			uint8_t b[512];
			uint32_t t, q;
			ssize_t k = recv(fd, b, sizeof(b), 0);
			n += snprintf(line + n, sizeof(line) - (size_t)n, " [%zd %s]", k,
				      k >= 0 && payload_check(b, (size_t)k, &t, &q) ? "ok" : "bad");
		}
		close(fd);
		if (write(pp[1], line, (size_t)n) != n)
			_exit(2);
		_exit(0);
	}
	if (read(pp[0], &c, 1) != 1)
		harness_fail("fork child");
	SEND(.dport = P(41), .count = 3, .size = 30, .tag = 281);
	SEND(.dport = P(40), .count = 3, .size = 20, .tag = 282);
	{
		char line[256];
		ssize_t k = read(pp[0], line, sizeof(line) - 1);
		line[k > 0 ? k : 0] = 0;
		waitpid(pid, &st, 0);
		out("fork/child: %s exit=%d", line, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	close(pp[0]);
	close(pp[1]);
	t_recvmmsg("fork/parent-gets-all", a, 16, MSG_DONTWAIT, NULL, 512);
	SEND(.dport = P(40), .count = 4, .size = 20, .tag = 283);
	t_recvmmsg("fork/parent-after-child-exit", a, 16, MSG_DONTWAIT, NULL, 512);

	/* fork + exec: the new image starts afresh from the environment */
	if (pipe(pp))
		harness_fail("pipe");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char port[16];
		snprintf(port, sizeof(port), "%u", (unsigned)P(42));
		dup2(pp[1], 3);
		execl(self_exe, self_exe, "--exec-child", port, "2", (char *)NULL);
		_exit(127);
	}
	close(pp[1]);
	if (read(pp[0], &c, 1) != 1)
		harness_fail("exec child");
	SEND(.dport = P(42), .count = 2, .size = 30, .tag = 284);
	SEND(.dport = P(40), .count = 2, .size = 20, .tag = 285);
	waitpid(pid, &st, 0);
	out("fork/exec-child exit=%d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	close(pp[0]);
	t_recvmmsg("fork/parent-during-exec-child", a, 16, MSG_DONTWAIT, NULL, 512);
	close(a);
}

/* count datagrams on fd by source port: "n@port,..." sorted by port */
static void by_sport(int fd, char *b, size_t bl)
{
	int cnt[64] = {0}, other = 0;
	size_t o = 0;
	struct sockaddr_storage a;

	for (;;) {
		socklen_t al = sizeof(a);
		if (recvfrom(fd, rb.data, 512, MSG_DONTWAIT, (struct sockaddr *)&a, &al) < 0)
			break;
		int p = ntohs(((struct sockaddr_in *)&a)->sin_port) - 20050;
		if (p >= 0 && p < 64)
			cnt[p]++;
		else
			other++;
	}
	b[0] = 0;
	for (int i = 0; i < 64; i++)
		if (cnt[i])
			o += (size_t)snprintf(b + o, bl - o, "%s%d@%d", o ? "," : "", cnt[i], 20050 + i);
	if (other)
		snprintf(b + o, bl - o, " other=%d", other);
	if (!b[0])
		snprintf(b, bl, "none");
}

/* Known difference: sockets sharing a port.  The shim puts every socket
 * bound to one (address, port) into one flow-hashed group; the kernel
 * prefers a connected socket for its 4-tuple, and without SO_REUSEPORT
 * does not spread flows. */
static void c_shared_port(void)
{
	const char *L = "shared-port";
	int one = 1, a, b, r1, r2;
	struct sockaddr_storage ss;
	int al;
	char x[256], y[256];

	/* iperf 2's UDP server: the listener connects to the client it just
	 * heard from and a new SO_REUSEADDR listener binds the same port */
	a = udp_socket(4, 0);
	setsockopt(a, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	out("%s/listener bind ret=%d", L, bind_port(a, 4, NULL, P(45)));
	SEND(.dport = P(45), .sport = 20050, .count = 1, .size = 20, .tag = 300);
	t_recvfrom("shared-port/first-datagram", a, 512, 0, sizeof(struct sockaddr_storage));
	al = sock_addr(4, src4, 20050, &ss);
	out("%s/connect ret=%d", L, connect(a, (struct sockaddr *)&ss, (socklen_t)al));
	b = udp_socket(4, 0);
	setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	out("%s/new-listener bind ret=%d", L, bind_port(b, 4, NULL, P(45)));
	SEND(.dport = P(45), .sport = 20050, .count = 10, .size = 20, .tag = 301);
	SEND(.dport = P(45), .sport = 20051, .flows = 8, .count = 16, .size = 20, .tag = 302);
	by_sport(a, x, sizeof(x));
	by_sport(b, y, sizeof(y));
	out("%s/reuseaddr: connected=[%s] listener=[%s]", L, x, y);
	close(a);
	close(b);

	/* SO_REUSEPORT group with one connected member (per-connection
	 * sockets of QUIC servers) */
	r1 = t_sock(L, 4, 0, NULL, P(46), -1, true);
	r2 = t_sock(L, 4, 0, NULL, P(46), -1, true);
	al = sock_addr(4, src4, 20050, &ss);
	out("%s/connect-member ret=%d", L, connect(r1, (struct sockaddr *)&ss, (socklen_t)al));
	SEND(.dport = P(46), .sport = 20050, .count = 10, .size = 20, .tag = 303);
	SEND(.dport = P(46), .sport = 20051, .flows = 8, .count = 16, .size = 20, .tag = 304);
	by_sport(r1, x, sizeof(x));
	by_sport(r2, y, sizeof(y));
	out("%s/reuseport: connected=[%s] unconnected=[%s]", L, x, y);
	close(r1);
	close(r2);

	/* two SO_REUSEADDR sockets, nobody connected */
	a = udp_socket(4, 0);
	b = udp_socket(4, 0);
	setsockopt(a, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	out("%s/reuseaddr-pair bind ret=%d,%d", L, bind_port(a, 4, NULL, P(47)), bind_port(b, 4, NULL, P(47)));
	SEND(.dport = P(47), .sport = 20051, .flows = 8, .count = 16, .size = 20, .tag = 305);
	by_sport(a, x, sizeof(x));
	by_sport(b, y, sizeof(y));
	out("%s/reuseaddr-pair: first=[%s] second=[%s]", L, x, y);
	close(a);
	close(b);
}

/* A fork child reads (and polls) the parent's socket: datagrams already on
 * the AF_XDP rings are readable there, as on the kernel socket (the data
 * plane is shared across fork). */
static void c_fork_child_reads(void)
{
	int a = t_sock("fork-reads", 4, 0, NULL, P(40), -1, false), st;
	pid_t pid;

	SEND(.dport = P(40), .count = 2, .size = 20, .tag = 286);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct pollfd p = { a, POLLIN, 0 };
		int r = poll(&p, 1, 0);
		ssize_t k = recv(a, rb.data, 512, MSG_DONTWAIT);
		printf("fork-reads/child: poll=%d revents=0x%x recv=%zd\n", r, p.revents, k);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	t_drain("fork-reads/parent", a);
	close(a);
}

/* Known difference: datagrams on the two paths are not ordered with each
 * other (the fast path is read first). */
static void c_order(void)
{
	int a = t_sock("order", 4, 0, NULL, P(43), -1, false);

	SEND(.dport = P(43), .count = 1, .size = 3000, .tag = 290);   /* fragments: kernel path */
	SEND(.dport = P(43), .count = 1, .size = 30, .tag = 291);
	t_recvmmsg("order/kernel-then-fast", a, 4, MSG_DONTWAIT, NULL, BUF_MAX);
	t_recvmmsg("order/rest", a, 4, MSG_DONTWAIT, NULL, BUF_MAX);
	/* one batch over both paths without a readiness call in between:
	 * the shim may leave the kernel's datagram for the next call */
	t_recv("order/empty", a, BUF_MAX, MSG_DONTWAIT);
	SEND(.dport = P(43), .count = 1, .size = 30, .tag = 296);
	SEND(.dport = P(43), .count = 1, .size = 2000, .tag = 297);
	t_recvmmsg("order/both-paths-one-batch", a, 4, MSG_DONTWAIT, NULL, BUF_MAX);
	t_recvmmsg("order/rest", a, 4, MSG_DONTWAIT, NULL, BUF_MAX);
	close(a);
}

/* Both paths drained, whatever the order. */
static void c_bothpaths(void)
{
	int a = t_sock("bothpaths", 4, 0, NULL, P(43), -1, false);
	struct mmsghdr mm[8];
	static uint8_t b[8][BUF_MAX];
	struct iovec iov[8];
	uint32_t sizes[8];
	int r, n;

	SEND(.dport = P(43), .count = 2, .size = 3000, .step = 100, .tag = 292);
	SEND(.dport = P(43), .count = 3, .size = 30, .tag = 293);
	SEND(.family = 6, .dport = P(43), .count = 0, .size = 30, .tag = 294);
	for (int i = 0; i < 8; i++) {
		iov[i] = (struct iovec){ b[i], BUF_MAX };
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	n = 0;
	while (n < 8 && (r = recvmmsg(a, mm + n, (unsigned)(8 - n), MSG_DONTWAIT, NULL)) > 0)
		n += r;
	for (int i = 0; i < n; i++)
		sizes[i] = mm[i].msg_len;
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && sizes[j] < sizes[j - 1]; j--) {
			uint32_t t = sizes[j];
			sizes[j] = sizes[j - 1];
			sizes[j - 1] = t;
		}
	{
		char s[128];
		size_t o = 0;
		s[0] = 0;
		for (int i = 0; i < n; i++)
			o += (size_t)snprintf(s + o, sizeof(s) - o, " %u", sizes[i]);
		out("bothpaths/received %d sizes(sorted):%s", n, s);
	}
	/* a kernel-path datagram right after a receive found both paths
	 * empty, with no readiness call in between (a spinning receiver) */
	t_recv("bothpaths/empty", a, BUF_MAX, MSG_DONTWAIT);
	SEND(.dport = P(43), .count = 1, .size = 2000, .tag = 295);
	t_recv("bothpaths/kernel-path-no-poll", a, BUF_MAX, MSG_DONTWAIT);
	t_recv("bothpaths/empty-again", a, BUF_MAX, MSG_DONTWAIT);
	close(a);
}

static void c_shutdown(void)
{
	int fd = t_sock("shutdown", 4, 0, NULL, P(44), -1, false), r;

	set_rcvtimeo(fd, 1000);   /* bound, in case shutdown does not wake us */
	SEND(.dport = P(44), .count = 1, .size = 20, .tag = 300);
	errno = 0;
	r = shutdown(fd, SHUT_RD);
	out("shutdown/SHUT_RD ret=%d errno=%s", r, r ? ename(errno) : "0");
	t_recv("shutdown/queued-data-first", fd, 512, 0);
	t_recv("shutdown/then-0", fd, 512, 0);
	t_recv("shutdown/DONTWAIT", fd, 512, MSG_DONTWAIT);
	t_recvmmsg("shutdown/recvmmsg-vlen3", fd, 3, 0, NULL, 512);
	t_recvmmsg("shutdown/recvmmsg-waitforone", fd, 3, MSG_WAITFORONE, NULL, 512);
	{
		struct pollfd p = { fd, POLLIN | POLLRDHUP, 0 };
		out("shutdown/poll ret=%d revents=0x%x", poll(&p, 1, 0), p.revents);
	}
	close(fd);
}

static void *shut_thr(void *p)
{
	int fd = *(int *)p;
	usleep(150000);
	shutdown(fd, SHUT_RDWR);
	return NULL;
}

/* Each receive, readiness and bookkeeping call through syscall(SYS_...)
 * (issue 13 item 2): served as the libc call.  The second socket is made
 * and bound with SYS_socket/SYS_bind (t_sock under via_sys; t_diff.sh
 * checks it was accelerated).  Unserved, the reads find the kernel socket
 * empty, poll and epoll miss the AF_XDP rings, a SYS_dup* copy reads the
 * kernel socket, and after SYS_close a pipe that reuses the number is read
 * as the dead socket. */
static void c_syscall(void)
{
	struct epoll_event ev = { .events = EPOLLIN }, evs[4];
	struct pollfd pf;
	struct timespec ts0 = { 0, 0 };
	char b1[5], b2[100];
	struct iovec iov[2] = { { b1, sizeof(b1) }, { b2, sizeof(b2) } };
	int fd, ep, d1, d2, d3, pp[2], r;
	ssize_t n;

	fd = t_sock("syscall", 4, 0, NULL, P(77), -1, false);
	via_sys = true;
	SEND(.dport = P(77), .count = 7, .size = 60, .step = 3, .tag = 177);
	t_recvmmsg("syscall/recvmmsg", fd, 2, MSG_DONTWAIT, NULL, 512);
	t_recvmsg("syscall/recvmsg", fd, MSG_DONTWAIT, 512, sizeof(struct sockaddr_storage), 64);
	t_recvfrom("syscall/recvfrom", fd, 512, MSG_DONTWAIT, sizeof(struct sockaddr_storage));
	t_recv("syscall/recvfrom-noaddr", fd, 512, MSG_DONTWAIT);
	t_read("syscall/read", fd, 512);
	memset(b1, 0x55, sizeof(b1));
	memset(b2, 0x55, sizeof(b2));
	n = syscall(SYS_readv, fd, iov, 2);
	out("syscall/readv: ret=%zd h=%08x", n, fnv(b2, sizeof(b2), fnv(b1, sizeof(b1), FNV0)));
	t_recv("syscall/empty", fd, 512, MSG_DONTWAIT);

	/* readiness with data only where the shim puts it */
	SEND(.dport = P(77), .count = 1, .size = 60, .tag = 178);
	pf = (struct pollfd){ fd, POLLIN, 0 };
	r = (int)syscall(SYS_poll, &pf, 1, 1000);
	out("syscall/poll: ret=%d revents=0x%x", r, pf.revents);
	pf.revents = 0;
	r = (int)syscall(SYS_ppoll, &pf, 1, &ts0, NULL, 8);
	out("syscall/ppoll: ret=%d revents=0x%x", r, pf.revents);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.u64 = 0x5eed;
	r = (int)syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, fd, &ev);
	out("syscall/epoll_ctl: ret=%d", r);
	memset(evs, 0, sizeof(evs));
	r = (int)syscall(SYS_epoll_wait, ep, evs, 4, 1000);
	out("syscall/epoll_wait: ret=%d ev=0x%x data=%llx", r, evs[0].events, (unsigned long long)evs[0].data.u64);
	memset(evs, 0, sizeof(evs));
	r = (int)syscall(SYS_epoll_pwait, ep, evs, 4, 0, NULL, 8);
	out("syscall/epoll_pwait: ret=%d ev=0x%x data=%llx", r, evs[0].events, (unsigned long long)evs[0].data.u64);
	t_recv("syscall/after-readiness", fd, 512, MSG_DONTWAIT);
	r = (int)syscall(SYS_epoll_wait, ep, evs, 4, 0);
	out("syscall/epoll_wait-drained: ret=%d", r);
	r = (int)syscall(SYS_epoll_ctl, ep, EPOLL_CTL_DEL, fd, NULL);
	out("syscall/epoll_ctl-del: ret=%d", r);
	close(ep);

	/* copies made behind libc's back are read through libc */
	d1 = (int)syscall(SYS_dup, fd);
	d2 = (int)syscall(SYS_dup2, fd, 200);
	d3 = (int)syscall(SYS_dup3, fd, 201, O_CLOEXEC);
	out("syscall/dups: ok=%d", d1 >= 0 && d2 == 200 && d3 == 201);
	via_sys = false;
	SEND(.dport = P(77), .count = 3, .size = 60, .tag = 179);
	t_recv("syscall/recv-on-dup", d1, 512, MSG_DONTWAIT);
	t_recv("syscall/recv-on-dup2", d2, 512, MSG_DONTWAIT);
	t_recv("syscall/recv-on-dup3", d3, 512, MSG_DONTWAIT);

	/* sends behind libc's back (to the sender's discard port) */
	{
		struct sockaddr_storage dst;
		socklen_t dl = (socklen_t)sock_addr(4, src4, 9, &dst);
		struct iovec siov = { "abcd", 4 };
		struct msghdr sm = { .msg_name = &dst, .msg_namelen = dl, .msg_iov = &siov, .msg_iovlen = 1 };
		struct mmsghdr smm[2] = { { sm, 0 }, { sm, 0 } };

		n = syscall(SYS_sendto, fd, "abc", 3, 0, (struct sockaddr *)&dst, dl);
		out("syscall/sendto: ret=%zd", n);
		n = syscall(SYS_sendmsg, fd, &sm, 0);
		out("syscall/sendmsg: ret=%zd", n);
		r = (int)syscall(SYS_sendmmsg, fd, smm, 2, 0);
		out("syscall/sendmmsg: ret=%d len=%u,%u", r, smm[0].msg_len, smm[1].msg_len);
		errno = 0;
		n = syscall(SYS_write, fd, "x", 1);
		out("syscall/write-unconnected: ret=%zd errno=%s", n, n < 0 ? ename(errno) : "0");
	}

	/* closed behind libc's back, with a datagram still queued: the number
	 * now belongs to a pipe */
	SEND(.dport = P(77), .count = 1, .size = 60, .tag = 180);
	r = (int)syscall(SYS_close, d1) | (int)syscall(SYS_close, d2) | (int)syscall(SYS_close, d3);
	r |= (int)syscall(SYS_close, fd);
	out("syscall/close: ret=%d", r);
	if (pipe(pp))
		harness_fail("pipe");
	fprintf(stderr, "diff_sock: syscall: pipe %s the closed socket's number\n", pp[0] == fd ? "reuses" : "does not reuse");
	if (write(pp[1], "x", 1) != 1)
		harness_fail("pipe write");
	t_read("syscall/read-pipe-on-reused-number", pp[0], 512);
	close(pp[0]);
	close(pp[1]);

	/* a socket made and bound behind libc's back, read through libc */
	via_sys = true;
	fd = t_sock("syscall/sys-socket", 4, 0, NULL, P(78), -1, false);
	via_sys = false;
	SEND(.dport = P(78), .count = 2, .size = 60, .tag = 181);
	t_recvmmsg("syscall/sys-socket-recvmmsg", fd, 4, MSG_DONTWAIT, NULL, 512);
	close(fd);

	/* numbers the shim does not serve pass through, errno intact */
	errno = 0;
	out("syscall/getpid: same=%d", syscall(SYS_getpid) == getpid());
	errno = 0;
	n = syscall(-1);
	out("syscall/invalid: ret=%zd errno=%s", n, ename(errno));
	errno = 0;
	n = syscall(SYS_close, -1);
	out("syscall/close-bad: ret=%zd errno=%s", n, ename(errno));
	errno = 0;
	n = syscall(SYS_ppoll, &pf, 1, &ts0, NULL, 4);
	out("syscall/ppoll-bad-sigsetsize: ret=%zd errno=%s", n, ename(errno));
}

static void c_shutdown_wakes(void)
{
	int fd = t_sock("shutdown-wakes", 4, 0, NULL, P(44), -1, false);
	pthread_t th;

	set_rcvtimeo(fd, 2000);
	pthread_create(&th, NULL, shut_thr, &fd);
	t_recv("shutdown-wakes/blocked-recv", fd, 512, 0);
	pthread_join(th, NULL);
	close(fd);
}

/* One-shot with datagrams on several RX queues (several AF_XDP sockets
 * behind one application socket; a difference shows on a multi-queue
 * fixture only) */
static void c_epoll_oneshot_queues(void)
{
	int a = t_sock("epoll-queues", 4, 0, NULL, P(26), -1, false);
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ep_ctl(ep, EPOLL_CTL_ADD, a, EPOLLIN | EPOLLONESHOT, 1);
	SEND(.dport = P(26), .sport = 20200, .count = 1, .size = 20, .tag = 219);
	ep_wait("epoll-queues/oneshot-first", ep, 0);
	SEND(.dport = P(26), .sport = 20201, .flows = 16, .count = 16, .size = 20, .tag = 220);
	ep_wait("epoll-queues/oneshot-disarmed-16-flows", ep, 0);
	t_drain_set("epoll-queues/drain", a);
	close(ep);
	close(a);
}

/* The application's own SO_REUSEPORT program (classic BPF returning 0:
 * always the group's first socket) decides on both paths: under the shim
 * the whole group moves to the kernel path (a log line t_diff.sh expects),
 * so every datagram reaches the first socket, as plain. */
static void c_reuseport_app(void)
{
	int fds[3], r, per[3] = { 0, 0, 0 };
	struct sock_filter code[] = { { BPF_RET | BPF_K, 0, 0, 0 } };
	struct sock_fprog prog = { 1, code };
	uint8_t b[512];

	for (int i = 0; i < 3; i++)
		fds[i] = t_sock("reuseport-app", 4, 0, NULL, P(56), -1, true);
	errno = 0;
	r = setsockopt(fds[1], SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog));
	out("reuseport-app: SO_ATTACH_REUSEPORT_CBPF ret=%d errno=%s", r, r ? ename(errno) : "0");
	SEND(.dport = P(56), .sport = 21100, .flows = 16, .count = 64, .size = 48, .tag = 560);
	for (int i = 0; i < 3; i++)
		while (recv(fds[i], b, sizeof(b), MSG_DONTWAIT) >= 0)
			per[i]++;
	out("reuseport-app: per socket %d,%d,%d", per[0], per[1], per[2]);
	/* a member joining later stays with the application's program too */
	close(fds[2]);
	fds[2] = (t_sock("reuseport-app", 4, 0, NULL, P(56), -1, true));
	SEND(.dport = P(56), .sport = 21100, .flows = 16, .count = 64, .size = 48, .tag = 561);
	memset(per, 0, sizeof(per));
	for (int i = 0; i < 3; i++)
		while (recv(fds[i], b, sizeof(b), MSG_DONTWAIT) >= 0)
			per[i]++;
	out("reuseport-app: after a rejoin, per socket %d,%d,%d", per[0], per[1], per[2]);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}

/* Registered through a dup of the epoll fd, waited on the original (and
 * the other way round): tokio's mio registers through Registry::try_clone
 * (F_DUPFD_CLOEXEC) and waits on the fd it created. */
static void c_epoll_dup(void)
{
	const char *L = "epoll-dup";
	int fd = t_sock(L, 4, 0, NULL, P(57), -1, false), fd2 = t_sock(L, 4, 0, NULL, P(58), -1, false);
	int ep = epoll_create1(EPOLL_CLOEXEC), ep2 = fcntl(ep, F_DUPFD_CLOEXEC, 0);

	ep_ctl(ep2, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, 42);
	SEND(.dport = P(57), .count = 2, .size = 40, .tag = 570);
	ep_wait("epoll-dup/wait-on-original", ep, 0);
	ep_wait("epoll-dup/again-edge-consumed", ep, 0);
	t_drain(L, fd);
	SEND(.dport = P(57), .count = 1, .size = 40, .tag = 571);
	ep_wait("epoll-dup/wait-on-dup", ep2, 1);
	t_drain(L, fd);
	/* registered on the original, waited on the dup */
	ep_ctl(ep, EPOLL_CTL_ADD, fd2, EPOLLIN, 43);
	SEND(.dport = P(58), .count = 1, .size = 40, .tag = 572);
	ep_wait("epoll-dup/original-registration-on-dup", ep2, 2);
	t_drain(L, fd2);
	ep_wait("epoll-dup/drained", ep, 0);
	/* changed and deleted through the other fd of the same epoll file */
	ep_ctl(ep, EPOLL_CTL_MOD, fd, EPOLLIN | EPOLLONESHOT, 44);
	SEND(.dport = P(57), .count = 1, .size = 40, .tag = 573);
	ep_wait("epoll-dup/modified-through-original", ep2, 0);
	ep_wait("epoll-dup/oneshot-disarmed", ep, 0);
	t_drain(L, fd);
	ep_ctl(ep2, EPOLL_CTL_DEL, fd2, 0, 43);
	ep_ctl(ep, EPOLL_CTL_DEL, fd, 0, 44);
	SEND(.dport = P(57), .count = 1, .size = 40, .tag = 574);
	SEND(.dport = P(58), .count = 1, .size = 40, .tag = 575);
	ep_wait("epoll-dup/deleted-through-the-other", ep, 0);
	t_drain(L, fd);
	t_drain(L, fd2);
	close(ep2);
	close(ep);
	close(fd);
	close(fd2);
}

/* ---- QUIC-style socket options (issue 13) ------------------------------ */

#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

static int gro_msgs, gro_dgrams, gro_bad;

/* One non-blocking recvmsg on a UDP_GRO socket, printed as the datagrams it
 * carries: a coalesced message (UDP_GRO cmsg, segment size S) is cut into
 * S-byte segments, each printed as a message of its own with the other
 * control messages.  The transcript is then the same whether the kernel or
 * the shim coalesced or neither did, and each segment must be one whole
 * datagram of the payload pattern, in sequence.  What coalescing happened
 * goes to stderr (t_diff.sh checks it): messages, datagrams, bad ones
 * (a segment that is not a whole datagram, a UDP_GRO cmsg of the wrong
 * size, a truncated coalesced message). */
static int t_gro_recv(const char *label, int fd, size_t data_sz)
{
	static uint8_t rest[256];
	struct msghdr m2;
	char cs[768], as[80], fl[64];
	const uint8_t *base;
	size_t off = 0, ro = 0, seg;
	int64_t t0 = now_ns();
	ssize_t r;
	int gso = 0;

	rbuf_init(&rb, data_sz, sizeof(struct sockaddr_storage), 256);
	errno = 0;
	r = recvmsg(fd, &rb.m, MSG_DONTWAIT);
	if (r < 0) {
		out("%s: recvmsg ret=-1 errno=%s %s", label, ename(errno), waited(t0));
		return -1;
	}
	memset(rest, 0xcc, sizeof(rest));
	base = rb.m.msg_control;
	while (base && off + sizeof(struct cmsghdr) <= rb.m.msg_controllen) {
		struct cmsghdr c;

		memcpy(&c, base + off, sizeof(c));
		if (c.cmsg_len < sizeof(c) || off + c.cmsg_len > rb.m.msg_controllen)
			break;
		if (c.cmsg_level == SOL_UDP && c.cmsg_type == UDP_GRO) {
			if (c.cmsg_len != CMSG_LEN(sizeof(int)))
				gro_bad++;
			memcpy(&gso, base + off + CMSG_LEN(0), sizeof(gso));
		} else if (ro + CMSG_ALIGN(c.cmsg_len) <= sizeof(rest)) {
			memcpy(rest + ro, base + off, c.cmsg_len);
			ro += CMSG_ALIGN(c.cmsg_len);
		}
		off += CMSG_ALIGN(c.cmsg_len);
	}
	m2 = rb.m;
	m2.msg_control = rest;
	m2.msg_controllen = ro;
	cmsgstr(&m2, sizeof(rest), cs, sizeof(cs));
	gro_msgs++;
	if (gso < 0 || (gso && (rb.m.msg_flags & MSG_TRUNC)))
		gro_bad++;
	seg = gso > 0 ? (size_t)gso : (size_t)r;
	for (off = 0; off < (size_t)r || (!r && !off); off += seg ? seg : 1) {
		size_t len = (size_t)r - off < seg ? (size_t)r - off : seg;
		uint32_t tag = 0, sq = 0;
		bool ok = payload_check(rb.data + off, len, &tag, &sq);

		gro_dgrams++;
		if (!ok && len >= 8)
			gro_bad++;
		out("%s: datagram len=%zu tag=%u seq=%u %s flags=%s from=%s %s", label, len, tag, sq,
		    ok ? "ok" : "bad", flagstr(rb.m.msg_flags, fl, sizeof(fl)),
		    addrstr(&rb.name, rb.m.msg_namelen, as, sizeof(as)), cs);
		if (!r)
			break;
	}
	return (int)r;
}

static void gro_drain(const char *label, int fd, size_t data_sz)
{
	while (t_gro_recv(label, fd, data_sz) >= 0)
		;
}

/* UDP_GRO: runs of one flow (a shorter datagram ends a run), another flow,
 * another TOS, a small buffer (at most what fits is coalesced), IPv6. */
static void c_gro(void)
{
	const char *L = "gro";
	int fd = t_sock(L, 4, 0, NULL, P(50), -1, false);

	setopt(L, fd, SOL_UDP, UDP_GRO, "UDP_GRO", 1);
	setopt(L, fd, IPPROTO_IP, IP_PKTINFO, "IP_PKTINFO", 1);
	/* each flow drained before the next is sent: on a multi-queue device
	 * two flows may sit on two queues, which are not ordered with each
	 * other (per-flow order is all the kernel promises there too) */
	SEND(.dport = P(50), .sport = 20050, .count = 6, .size = 300, .tag = 500);
	SEND(.dport = P(50), .sport = 20050, .count = 1, .size = 120, .tag = 501);
	SEND(.dport = P(50), .sport = 20050, .count = 3, .size = 300, .tag = 502);
	gro_drain("gro/runs", fd, BUF_MAX);
	SEND(.dport = P(50), .sport = 20051, .count = 2, .size = 300, .tag = 503);
	gro_drain("gro/other-flow", fd, BUF_MAX);
	SEND(.dport = P(50), .sport = 20050, .count = 2, .size = 300, .tos = 0x28, .tag = 504);
	SEND(.dport = P(50), .sport = 20050, .count = 2, .size = 0, .tag = 505);
	gro_drain("gro/tos-and-empty", fd, BUF_MAX);
	/* a buffer for two and a half segments */
	SEND(.dport = P(50), .sport = 20052, .count = 5, .size = 200, .tag = 506);
	gro_drain("gro/small-buffer", fd, 500);
	/* up to the 64-segment limit: 70 datagrams of 50 bytes */
	SEND(.dport = P(50), .sport = 20053, .count = 70, .size = 50, .tag = 507);
	gro_drain("gro/70x50", fd, BUF_MAX);
	setopt(L, fd, SOL_UDP, UDP_GRO, "UDP_GRO", 0);
	SEND(.dport = P(50), .sport = 20050, .count = 3, .size = 300, .tag = 508);
	gro_drain("gro/off-again", fd, BUF_MAX);
	close(fd);

	fd = t_sock(L, 6, 0, NULL, P(50), 0, false);
	setopt(L, fd, SOL_UDP, UDP_GRO, "UDP_GRO", 1);
	setopt(L, fd, IPPROTO_IPV6, IPV6_RECVTCLASS, "IPV6_RECVTCLASS", 1);
	SEND(.family = 6, .dport = P(50), .sport = 20054, .count = 4, .size = 400, .tag = 509);
	SEND(.family = 4, .dport = P(50), .sport = 20054, .count = 3, .size = 400, .tag = 510);
	gro_drain("gro/v6", fd, BUF_MAX);
	close(fd);
	fprintf(stderr, "diff_sock: gro msgs=%d datagrams=%d bad=%d\n", gro_msgs, gro_dgrams, gro_bad);
}

/* the extended error an MSG_ERRQUEUE read returns */
static void t_errqueue(const char *label, int fd)
{
	uint8_t ctl[512];
	char fl[64], as[80];
	struct sockaddr_storage from;
	uint8_t d[64];
	struct iovec iov = { d, sizeof(d) };
	struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	ssize_t r;

	errno = 0;
	r = recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT);
	if (r < 0) {
		out("%s: recvmsg(MSG_ERRQUEUE) ret=-1 errno=%s", label, ename(errno));
		return;
	}
	out("%s: recvmsg(MSG_ERRQUEUE) ret=%zd flags=%s from=%s", label, r, flagstr(m.msg_flags, fl, sizeof(fl)),
	    addrstr(&from, m.msg_namelen, as, sizeof(as)));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		struct { uint32_t ee_errno; uint8_t origin, type, code, pad; uint32_t info, data; } ee;

		if (c->cmsg_len < CMSG_LEN(sizeof(ee))) {
			out("%s:   cmsg %d/%d len %zu", label, c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
			continue;
		}
		memcpy(&ee, CMSG_DATA(c), sizeof(ee));
		out("%s:   cmsg %d/%d errno=%s origin=%u type=%u code=%u info=%u offender=%s", label, c->cmsg_level,
		    c->cmsg_type, ename((int)ee.ee_errno), ee.origin, ee.type, ee.code, ee.info,
		    addrstr(CMSG_DATA(c) + sizeof(ee), (socklen_t)(c->cmsg_len - CMSG_LEN(sizeof(ee))), as,
			    sizeof(as)));
	}
}

static void recverr_one(const char *L, int family, uint16_t port, uint16_t closed, uint32_t tag)
{
	int fd = t_sock(L, family, 0, NULL, port, family == 6 ? 1 : -1, false), r;
	struct sockaddr_storage ss;
	char lb[96];
	int al = sock_addr(family, family == 4 ? src4 : src6, closed, &ss);

	if (family == 4)
		setopt(L, fd, IPPROTO_IP, IP_RECVERR, "IP_RECVERR", 1);
	else
		setopt(L, fd, IPPROTO_IPV6, IPV6_RECVERR, "IPV6_RECVERR", 1);
	setopt(L, fd, SOL_SOCKET, SO_SELECT_ERR_QUEUE, "SO_SELECT_ERR_QUEUE", 1);
	/* unconnected: the ICMP port unreachable sets sk_err too */
	r = (int)sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, (socklen_t)al);
	usleep(SETTLE_US);
	out("%s: sendto-closed-port ret=%d", L, r);
	SEND(.family = family, .dport = port, .sport = 20060, .count = 2, .size = 30, .tag = tag);
	{
		struct pollfd p = { fd, POLLIN | POLLPRI, 0 };
		int pr = poll(&p, 1, 0);
		out("%s: poll ret=%d revents=0x%x", L, pr, p.revents);
	}
	snprintf(lb, sizeof(lb), "%s/error-before-data", L);
	t_recvmsg(lb, fd, MSG_DONTWAIT, 512, sizeof(struct sockaddr_storage), 0);
	snprintf(lb, sizeof(lb), "%s/data-1", L);
	t_recvmsg(lb, fd, MSG_DONTWAIT, 512, sizeof(struct sockaddr_storage), 0);
	snprintf(lb, sizeof(lb), "%s/errqueue", L);
	t_errqueue(lb, fd);
	snprintf(lb, sizeof(lb), "%s/errqueue-empty", L);
	t_errqueue(lb, fd);
	snprintf(lb, sizeof(lb), "%s/data-2", L);
	t_recvmmsg(lb, fd, 4, MSG_DONTWAIT, NULL, 512);
	/* error arriving while a blocking receive waits: reported, then data */
	r = (int)sendto(fd, "y", 1, 0, (struct sockaddr *)&ss, (socklen_t)al);
	usleep(SETTLE_US);
	SEND(.family = family, .dport = port, .sport = 20060, .count = 1, .size = 31, .tag = tag + 1);
	set_rcvtimeo(fd, 500);
	snprintf(lb, sizeof(lb), "%s/blocking-error", L);
	t_recvmsg(lb, fd, 0, 512, sizeof(struct sockaddr_storage), 0);
	snprintf(lb, sizeof(lb), "%s/blocking-data", L);
	t_recvmsg(lb, fd, 0, 512, sizeof(struct sockaddr_storage), 0);
	snprintf(lb, sizeof(lb), "%s/errqueue-2", L);
	t_errqueue(lb, fd);
	close(fd);
}

/* IP_RECVERR / IPV6_RECVERR: a pending ICMP error is reported before the
 * queued data and once; the error queue stays the kernel socket's; poll
 * says POLLERR (POLLPRI with SO_SELECT_ERR_QUEUE). */
static void c_recverr(void)
{
	recverr_one("recverr4", 4, P(51), 20061, 520);
	recverr_one("recverr6", 6, P(51), 20062, 522);
}

/* What quinn-udp sets (issue 13), then its read: recvmmsg with TOS, PKTINFO,
 * timestamps and GRO; plus the pass-through options. */
static void c_quicopts(void)
{
	const char *L = "quicopts";
	int fd4 = t_sock(L, 4, 0, NULL, P(52), -1, false), fd6 = t_sock(L, 6, 0, NULL, P(53), 0, false);

	static const struct { bool v6; int lvl, opt; const char *name; int val; } opts[] = {
#define O(v6, lvl, opt, val) { v6, lvl, opt, #opt, val }
		O(0, IPPROTO_IP, IP_RECVTOS, 1), O(0, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE),
		O(0, IPPROTO_IP, IP_PKTINFO, 1), O(0, SOL_UDP, UDP_GRO, 1), O(0, SOL_SOCKET, SO_TIMESTAMPNS, 1),
		O(0, IPPROTO_IP, IP_RECVERR, 1), O(0, SOL_UDP, UDP_SEGMENT, 1200), O(0, SOL_UDP, UDP_SEGMENT, 0),
		O(1, IPPROTO_IP, IP_RECVTOS, 1), O(1, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_PROBE),
		O(1, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1), O(1, IPPROTO_IPV6, IPV6_RECVTCLASS, 1),
		O(1, IPPROTO_IPV6, IPV6_DONTFRAG, 1), O(1, SOL_UDP, UDP_GRO, 1), O(1, SOL_SOCKET, SO_TIMESTAMPNS, 1),
		O(1, IPPROTO_IPV6, IPV6_RECVERR, 1), O(1, SOL_UDP, UDP_SEGMENT, 1200), O(1, SOL_UDP, UDP_SEGMENT, 0),
#undef O
	};

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		setopt(L, opts[i].v6 ? fd6 : fd4, opts[i].lvl, opts[i].opt, opts[i].name, opts[i].val);
	SEND(.dport = P(52), .sport = 20070, .count = 3, .size = 1200, .tos = 0x02, .tag = 530);
	gro_drain("quicopts/v4", fd4, BUF_MAX);
	SEND(.dport = P(52), .sport = 20071, .count = 1, .size = 900, .tag = 531);
	gro_drain("quicopts/v4", fd4, BUF_MAX);
	SEND(.family = 6, .dport = P(53), .sport = 20072, .count = 3, .size = 1200, .tos = 0x01, .tag = 532);
	gro_drain("quicopts/v6", fd6, BUF_MAX);
	SEND(.family = 4, .dport = P(53), .sport = 20073, .count = 2, .size = 1000, .tos = 0x02, .tag = 533);
	gro_drain("quicopts/v6", fd6, BUF_MAX);
	close(fd4);
	close(fd6);
}

static void tstamping_one(const char *L, int fd, uint16_t port, int flags, const char *what, uint32_t tag)
{
	char lb[96];
	int r;

	errno = 0;
	r = setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags));
	out("%s: setsockopt(SO_TIMESTAMPING, 0x%x %s) ret=%d errno=%s", L, flags, what, r, r ? ename(errno) : "0");
	SEND(.dport = port, .count = 1, .size = 40, .tos = 0x28, .tag = tag);
	snprintf(lb, sizeof(lb), "%s/%s", L, what);
	t_recvmsg(lb, fd, MSG_DONTWAIT, 512, sizeof(struct sockaddr_storage), 256);
}

/* SO_TIMESTAMPING receive stamps (chrony sets 0x418), alone and with
 * SO_TIMESTAMPNS, SO_RXQ_OVFL (no drops: no cmsg), IP_RECVORIGDSTADDR and
 * IPV6_RECVORIGDSTADDR, in the kernel's cmsg order. */
static void c_tstamping(void)
{
	const char *L = "tstamping";
	int fd = t_sock(L, 4, 0, NULL, P(54), -1, false), keep = udp_socket(4, 0), one = 1;

	/* The kernel stamps a received skb only while its global netstamp
	 * switch is on, and turning it on is deferred to a work item: a
	 * datagram right after SO_TIMESTAMPING enables it for the first time
	 * may come without SCM_TIMESTAMPING (the shim always stamps).  A
	 * second socket keeps the switch on for the whole case. */
	setsockopt(keep, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	usleep(SETTLE_US);

	tstamping_one(L, fd, P(54), 0x418, "chrony-rx-sw|sw|opt-cmsg", 540);
	tstamping_one(L, fd, P(54), 0x18, "rx-sw|sw", 541);
	tstamping_one(L, fd, P(54), 0x8, "rx-sw-only", 542);
	tstamping_one(L, fd, P(54), 0x10 | (1 << 17), "sw|opt-rx-filter", 543);
	tstamping_one(L, fd, P(54), 0x44, "rx-hw|raw-hw", 544);
	tstamping_one(L, fd, P(54), 0x5c, "rx-hw|raw-hw|rx-sw|sw", 545);
	tstamping_one(L, fd, P(54), 0x18 | 0x80 | 0x800, "rx-sw|sw|opt-id|opt-tsonly", 546);
	setopt(L, fd, SOL_SOCKET, SO_TIMESTAMPNS, "SO_TIMESTAMPNS", 1);
	setopt(L, fd, SOL_SOCKET, SO_RXQ_OVFL, "SO_RXQ_OVFL", 1);
	setopt(L, fd, IPPROTO_IP, IP_RECVORIGDSTADDR, "IP_RECVORIGDSTADDR", 1);
	setopt(L, fd, IPPROTO_IP, IP_PKTINFO, "IP_PKTINFO", 1);
	setopt(L, fd, IPPROTO_IP, IP_RECVTOS, "IP_RECVTOS", 1);
	tstamping_one(L, fd, P(54), 0x18, "with-tsns-ovfl-origdst-pktinfo-tos", 547);
	tstamping_one(L, fd, P(54), 0, "off-with-the-rest", 548);
	close(fd);
	close(keep);

	fd = t_sock(L, 6, 0, NULL, P(55), 0, false);
	setopt(L, fd, IPPROTO_IPV6, IPV6_RECVORIGDSTADDR, "IPV6_RECVORIGDSTADDR", 1);
	setopt(L, fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, "IPV6_RECVPKTINFO", 1);
	setopt(L, fd, IPPROTO_IPV6, IPV6_RECVTCLASS, "IPV6_RECVTCLASS", 1);
	setopt(L, fd, IPPROTO_IP, IP_RECVORIGDSTADDR, "IP_RECVORIGDSTADDR", 1);
	SEND(.family = 6, .dport = P(55), .count = 1, .size = 40, .tos = 0x28, .tag = 549);
	t_recvmsg("tstamping/v6-origdst", fd, MSG_DONTWAIT, 512, sizeof(struct sockaddr_storage), 256);
	SEND(.family = 4, .dport = P(55), .count = 1, .size = 40, .tos = 0x28, .tag = 550);
	t_recvmsg("tstamping/v4mapped-origdst", fd, MSG_DONTWAIT, 512, sizeof(struct sockaddr_storage), 256);
	close(fd);
}

/* ---- driver ------------------------------------------------------------ */

static const struct { const char *name; void (*fn)(void); bool known; } cases[] = {
	{ "recvmmsg", c_recvmmsg, false },
	{ "addr", c_addr, false },
	{ "trunc", c_trunc, false },
	{ "peek", c_peek, false },
	{ "read", c_readcalls, false },
	{ "zerolen", c_zerolen, false },
	{ "nonblock", c_nonblock, false },
	{ "rcvtimeo", c_rcvtimeo, false },
	{ "eintr", c_eintr, false },
	{ "fionread", c_fionread, false },
	{ "cmsg4", c_cmsg_v4, false },
	{ "cmsg6", c_cmsg_v6, false },
	{ "cmsg-unsup", c_cmsg_unsup, false },
	{ "sockinfo", c_sockinfo, false },
	{ "connected", c_connected, false },
	{ "conn-errfirst", c_connected_errfirst, false },
	{ "poll", c_poll, false },
	{ "epoll", c_epoll, false },
	{ "epoll-oneshot-mixed", c_epoll_oneshot_mixed, false },
	{ "epoll-oneshot-queues", c_epoll_oneshot_queues, false },
	{ "epoll-samedata", c_epoll_samedata, false },
	{ "epoll-inout", c_epoll_inout, false },
	{ "epoll-errmask", c_epoll_errmask, false },
	{ "epoll-oneshot-reuse", c_epoll_oneshot_reuse, false },
	{ "dup", c_dup, false },
	{ "reuseport", c_reuseport, false },
	{ "churn", c_churn, false },
	{ "burst", c_burst, false },
	{ "threads", c_threads, false },
	{ "fork", c_fork, false },
	{ "bothpaths", c_bothpaths, false },
	{ "shutdown", c_shutdown, false },
	{ "shutdown-wakes", c_shutdown_wakes, false },
	{ "gro", c_gro, false },
	{ "recverr", c_recverr, false },
	{ "quicopts", c_quicopts, false },
	{ "tstamping", c_tstamping, false },
	{ "reuseport-app", c_reuseport_app, false },
	{ "epoll-dup", c_epoll_dup, false },
	{ "syscall", c_syscall, false },
	/* known differences */
	{ "eintr-mixed", c_eintr_mixed, true },
	{ "cmsg-tsorder", c_cmsg_tsorder, true },
	{ "cmsg-unsup-pending", c_cmsg_unsup_pending, true },
	{ "fork-child-reads", c_fork_child_reads, false },
	{ "order", c_order, true },
	{ "shared-port", c_shared_port, true },
};

static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == n && !strncmp(p, name, n))
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

static void usage(void)
{
	fprintf(stderr, "usage: diff_sock --serve PATH [--max-secs S]\n"
			"       diff_sock --ctl PATH [--port-base P] [--cases a,b,..] [--skip a,b] [--known] [--list]\n"
			"  Run the sender (--serve) in the sending namespace and the receiver (--ctl)\n"
			"  in the receiving one; see the comment at the top of tests/diff_sock.c.\n");
}

int main(int argc, char **argv)
{
	const char *serve_path = NULL, *ctl_path = NULL, *only = NULL, *skip = NULL;
	bool known = false, list = false;
	int max_secs = 600;
	static const struct option lo[] = {
		{ "serve", required_argument, 0, 's' }, { "ctl", required_argument, 0, 'c' },
		{ "port-base", required_argument, 0, 'p' }, { "cases", required_argument, 0, 'C' },
		{ "skip", required_argument, 0, 'S' }, { "known", no_argument, 0, 'k' },
		{ "list", no_argument, 0, 'l' }, { "max-secs", required_argument, 0, 'm' },
		{ "exec-child", required_argument, 0, 'x' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
	};
	int o;

	self_exe = "/proc/self/exe";
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 's': serve_path = optarg; break;
		case 'c': ctl_path = optarg; break;
		case 'p': port_base = (uint16_t)atoi(optarg); break;
		case 'C': only = optarg; break;
		case 'S': skip = optarg; break;
		case 'k': known = true; break;
		case 'l': list = true; break;
		case 'm': max_secs = atoi(optarg); break;
		case 'x':
			return exec_child((uint16_t)atoi(optarg), optind < argc ? atoi(argv[optind]) : 1);
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (list) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			printf("%s%s\n", cases[i].name, cases[i].known ? " (known difference)" : "");
		return 0;
	}
	if (serve_path)
		return serve(serve_path, max_secs);
	if (!ctl_path) {
		usage();
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	{
		struct sockaddr_un un = { .sun_family = AF_UNIX };
		snprintf(un.sun_path, sizeof(un.sun_path), "%s", ctl_path);
		ctl_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		for (int i = 0; i < 100; i++) {
			if (!connect(ctl_fd, (struct sockaddr *)&un, sizeof(un)))
				break;
			if (i == 99) {
				perror("diff_sock: connect to sender");
				return 2;
			}
			usleep(50000);
		}
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t t0;

		if (only ? !in_list(only, cases[i].name) : (cases[i].known && !known))
			continue;
		if (skip && in_list(skip, cases[i].name))
			continue;
		out("== %s", cases[i].name);
		t0 = now_ns();
		cases[i].fn();
		fprintf(stderr, "diff_sock: case %s took %lld ms\n", cases[i].name,
			(long long)((now_ns() - t0) / 1000000));
	}
	{
		struct cmd q = { .op = OP_QUIT };
		if (write(ctl_fd, &q, sizeof(q)) != sizeof(q))
			harness_err = 1;
	}
	close(ctl_fd);
	return harness_err ? 1 : 0;
}
