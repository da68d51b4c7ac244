/* txicmp - what a send returns after an ICMP error came back for an earlier
 * datagram (tests/t_tx.sh, run plain and under XSKSHIM_TX=on):
 *
 *   txicmp --dst ADDR --port P --sport S [--recverr]
 *
 * Binds S; connects to ADDR:P, or with --recverr stays unconnected and sets
 * IP_RECVERR/IPV6_RECVERR.  Sends one datagram (P should be a closed port:
 * the peer answers ICMP port unreachable), waits 200 ms, sends a second and
 * a third (the kernel fails the second with ECONNREFUSED and sends the
 * third), and with --recverr reads the error queue.  Prints one line:
 *   txicmp: send1=ok send2=ECONNREFUSED send3=ok errqueue=ERRNO/ORIGIN/TYPE/CODE
 * (a failing send's errno name, errqueue "-" without --recverr or if empty).
 *
 * With --mmsg Q instead: one sendmmsg of three messages whose first draws
 * the error at once, through a path the kernel completes within the call -
 * unconnected (--recverr) to the loopback address's port P (closed: the
 * ICMP comes back over lo), connected to ADDR:P with an SO_MARK cmsg (a
 * cmsg the shim leaves to the kernel) - and whose other two go to ADDR:Q
 * (unconnected) or ADDR:P.  The kernel checks the socket's error before
 * each message, so the second fails and sendmmsg returns 1, the error
 * consumed; then one more send.  Prints
 *   txicmp: mmsg=N next=ok
 * Exit status 0 (the caller compares the plain and the shim line). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <sys/uio.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "toolutil.h"

static const char *send_one(int fd, const struct sockaddr *sa, socklen_t sl)
{
	char b[100] = "txicmp";

	if (sendto(fd, b, sizeof(b), 0, sa, sl) < 0)
		return strerrorname_np(errno);
	return "ok";
}

static void errqueue(int fd, char *out, size_t ol)
{
	char cb[512], data[256];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb, .msg_controllen = sizeof(cb) };

	snprintf(out, ol, "-");
	if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		struct sock_extended_err ee;

		if (!((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
		      (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)))
			continue;
		memcpy(&ee, CMSG_DATA(c), sizeof(ee));
		snprintf(out, ol, "%s/%u/%u/%u", strerrorname_np((int)ee.ee_errno), ee.ee_origin, ee.ee_type,
			 ee.ee_code);
	}
}

/* --mmsg: see the head comment */
static int mmsg_case(int fd, int fam, const struct sockaddr *to, socklen_t tl, int port, int mport)
{
	char b[100] = "txicmp-mmsg";
	struct iovec iov = { b, sizeof(b) };
	struct sockaddr_storage lo, far;
	union { char c[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } cb;
	struct mmsghdr v[3];
	int mark = 7, r;
	const char *next;

	memset(v, 0, sizeof(v));
	memset(&cb, 0, sizeof(cb));
	for (int i = 0; i < 3; i++) {
		v[i].msg_hdr.msg_iov = &iov;
		v[i].msg_hdr.msg_iovlen = 1;
	}
	if (to) {
		/* unconnected: the first to the loopback's closed port P, the
		 * others to the peer's port Q */
		tool_sockaddr(fam, fam == AF_INET ? "127.0.0.1" : "::1", port, &lo);
		memcpy(&far, to, tl);
		((struct sockaddr_in *)&far)->sin_port = htons((uint16_t)mport);   /* same offset in v6 */
		v[0].msg_hdr.msg_name = &lo;
		v[0].msg_hdr.msg_namelen = tl;
		for (int i = 1; i < 3; i++) {
			v[i].msg_hdr.msg_name = &far;
			v[i].msg_hdr.msg_namelen = tl;
		}
	} else {
		struct cmsghdr *c = &cb.a;

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SO_MARK;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &mark, sizeof(int));
		v[0].msg_hdr.msg_control = cb.c;
		v[0].msg_hdr.msg_controllen = sizeof(cb.c);
	}
	r = sendmmsg(fd, v, 3, 0);
	if (r < 0) {
		printf("txicmp: mmsg=%s\n", strerrorname_np(errno));
		return 0;
	}
	if (to) {
		next = send_one(fd, (struct sockaddr *)&far, tl);
	} else {
		struct timespec t = { 0, 200000000 };

		nanosleep(&t, NULL);   /* (connected: the port P draws another error) */
		next = "-";
	}
	printf("txicmp: mmsg=%d next=%s\n", r, next);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option o[] = {
		{ "dst", 1, NULL, 'd' }, { "port", 1, NULL, 'p' }, { "sport", 1, NULL, 's' },
		{ "recverr", 0, NULL, 'r' }, { "mmsg", 1, NULL, 'm' }, { NULL, 0, NULL, 0 },
	};
	int mport = 0;
	const char *dst = NULL, *r1, *r2, *r3;
	int port = 0, sport = 0, recverr = 0, c, fd, fam, one = 1;
	struct sockaddr_storage ss = {0}, bs = {0};
	const struct sockaddr *to = NULL;
	socklen_t sl, tl = 0;
	struct timespec t = { 0, 200000000 };
	char eq[64];

	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (c) {
		case 'd': dst = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 's': sport = atoi(optarg); break;
		case 'r': recverr = 1; break;
		case 'm': mport = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!dst || !port || !sport) {
		fprintf(stderr, "usage: txicmp --dst ADDR --port P --sport S [--recverr] [--mmsg Q]\n");
		return 2;
	}
	fam = tool_family(dst);
	sl = tool_sockaddr(fam, dst, port, &ss);
	tool_sockaddr(fam, NULL, sport, &bs);
	fd = socket(fam, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&bs, sl)) {
		perror("txicmp");
		return 2;
	}
	if (recverr) {
		if (setsockopt(fd, fam == AF_INET ? IPPROTO_IP : IPPROTO_IPV6, fam == AF_INET ? IP_RECVERR : IPV6_RECVERR,
			       &one, sizeof(one))) {
			perror("IP_RECVERR");
			return 2;
		}
		to = (struct sockaddr *)&ss;
		tl = sl;
	} else if (connect(fd, (struct sockaddr *)&ss, sl)) {
		perror("connect");
		return 2;
	}
	if (mport)
		return mmsg_case(fd, fam, to, tl, port, mport);
	r1 = send_one(fd, to, tl);
	nanosleep(&t, NULL);
	r2 = send_one(fd, to, tl);
	r3 = send_one(fd, to, tl);
	nanosleep(&t, NULL);
	if (recverr)
		errqueue(fd, eq, sizeof(eq));
	else
		snprintf(eq, sizeof(eq), "-");
	printf("txicmp: send1=%s send2=%s send3=%s errqueue=%s\n", r1, r2, r3, eq);
	return 0;
}
