/* txsend - a fixed table of send cases for the transmit differential test
 * (tests/t_tx.sh): run once plain and once under XSKSHIM_TX=on, capture
 * both on the peer (pktcap) and compare.  Every case uses its own socket
 * bound to SPORT_BASE + case number, so each case is one flow:
 *
 *   txsend DST4 DST6 SRC4 SRC6 PORT SPORT_BASE
 *
 * Prints "txsend: case N NAME: sent K datagrams" per case and exits 0 if
 * every send returned what the kernel returns for it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

static const char *dst4, *dst6, *src4, *src6;
static int port, sport_base, bad;
static uint8_t pay[4096];

static void nap(void)
{
	struct timespec t = { 0, 2000000 };

	nanosleep(&t, NULL);
}

static int sock_for(int c, int fam)
{
	int fd = socket(fam, SOCK_DGRAM, 0), one = 1;

	if (fd < 0) {
		perror("socket");
		exit(2);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fam == AF_INET) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(sport_base + c)) };
		if (bind(fd, (struct sockaddr *)&a, sizeof(a))) {
			perror("bind");
			exit(2);
		}
	} else {
		struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)(sport_base + c)) };
		if (bind(fd, (struct sockaddr *)&a, sizeof(a))) {
			perror("bind");
			exit(2);
		}
	}
	return fd;
}

static socklen_t dst_of(int fam, const char *addr, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (fam == AF_INET) {
		struct sockaddr_in *a = (void *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &a->sin_addr);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (void *)ss;

	a->sin6_family = AF_INET6;
	a->sin6_port = htons((uint16_t)port);
	if (!strchr(addr, ':')) {   /* v4-mapped */
		a->sin6_addr.s6_addr[10] = a->sin6_addr.s6_addr[11] = 0xff;
		inet_pton(AF_INET, addr, &a->sin6_addr.s6_addr[12]);
	} else {
		inet_pton(AF_INET6, addr, &a->sin6_addr);
	}
	return sizeof(*a);
}

static void expect(const char *what, ssize_t got, ssize_t want)
{
	if (got != want) {
		fprintf(stderr, "txsend: %s returned %zd (%s), wanted %zd\n", what, got, got < 0 ? strerror(errno) : "",
			want);
		bad = 1;
	}
}

static const size_t sizes[] = { 1, 100, 333, 1000, 1400 };
#define NSZ (sizeof(sizes) / sizeof(sizes[0]))

/* sendto of each size */
static void plain(int fd, int fam, const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t sl = dst_of(fam, addr, &ss);

	for (size_t i = 0; i < NSZ; i++) {
		expect("sendto", sendto(fd, pay + i, sizes[i], 0, (struct sockaddr *)&ss, sl), (ssize_t)sizes[i]);
		nap();
	}
}

/* sendmsg with one control message of (level, type, value as int or raw) */
static void with_cmsg(int fd, int fam, const char *addr, int lvl, int type, const void *val, size_t vlen,
		      size_t size)
{
	struct sockaddr_storage ss;
	union { char b[CMSG_SPACE(64)]; struct cmsghdr a; } cb;
	struct iovec iov = { pay, size };
	struct msghdr m = { .msg_name = &ss, .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	m.msg_namelen = dst_of(fam, addr, &ss);
	memset(&cb, 0, sizeof(cb));
	m.msg_control = cb.b;
	m.msg_controllen = CMSG_SPACE(vlen);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = lvl;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(vlen);
	memcpy(CMSG_DATA(c), val, vlen);
	expect("sendmsg+cmsg", sendmsg(fd, &m, 0), (ssize_t)size);
	nap();
}

int main(int argc, char **argv)
{
	int fd, v, c = 0;
	struct sockaddr_storage ss;
	socklen_t sl;

	if (argc != 7) {
		fprintf(stderr, "usage: txsend DST4 DST6 SRC4 SRC6 PORT SPORT_BASE\n");
		return 2;
	}
	dst4 = argv[1];
	dst6 = argv[2];
	src4 = argv[3];
	src6 = argv[4];
	port = atoi(argv[5]);
	sport_base = atoi(argv[6]);
	for (size_t i = 0; i < sizeof(pay); i++)
		pay[i] = (uint8_t)(i * 7 + 3);

#define CASE(name) printf("txsend: case %d %s\n", c, name)
	/* 0: IPv4 defaults */
	CASE("v4 defaults");
	plain(fd = sock_for(c++, AF_INET), AF_INET, dst4);
	/* 1: IP_TTL, IP_TOS with ECN bits */
	CASE("v4 IP_TTL 7, IP_TOS 0xb9");
	fd = sock_for(c++, AF_INET);
	v = 7;
	setsockopt(fd, IPPROTO_IP, IP_TTL, &v, sizeof(v));
	v = 0xb9;
	setsockopt(fd, IPPROTO_IP, IP_TOS, &v, sizeof(v));
	plain(fd, AF_INET, dst4);
	/* 2: no DF */
	CASE("v4 IP_PMTUDISC_DONT");
	fd = sock_for(c++, AF_INET);
	v = IP_PMTUDISC_DONT;
	setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
	plain(fd, AF_INET, dst4);
	/* 3: connected, send() and write() */
	CASE("v4 connected send/write");
	fd = sock_for(c++, AF_INET);
	sl = dst_of(AF_INET, dst4, &ss);
	expect("connect", connect(fd, (struct sockaddr *)&ss, sl), 0);
	for (size_t i = 0; i < NSZ; i++) {
		expect(i & 1 ? "write" : "send", i & 1 ? write(fd, pay, sizes[i]) : send(fd, pay, sizes[i], 0),
		       (ssize_t)sizes[i]);
		nap();
	}
	/* 4: cmsgs IP_TOS, IP_TTL */
	CASE("v4 cmsg IP_TOS 0x4b, IP_TTL 9");
	fd = sock_for(c++, AF_INET);
	v = 0x4b;
	with_cmsg(fd, AF_INET, dst4, IPPROTO_IP, IP_TOS, &v, sizeof(v), 200);
	v = 9;
	with_cmsg(fd, AF_INET, dst4, IPPROTO_IP, IP_TTL, &v, sizeof(v), 300);
	/* 5: IP_PKTINFO source */
	CASE("v4 cmsg IP_PKTINFO source");
	fd = sock_for(c++, AF_INET);
	{
		struct in_pktinfo pi = {0};

		inet_pton(AF_INET, src4, &pi.ipi_spec_dst);
		with_cmsg(fd, AF_INET, dst4, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi), 64);
	}
	/* 6: sendmmsg, odd iovec splits */
	CASE("v4 sendmmsg 8, iovecs split at odd offsets");
	fd = sock_for(c++, AF_INET);
	{
		struct mmsghdr mm[8];
		struct iovec iov[8][3];

		sl = dst_of(AF_INET, dst4, &ss);
		memset(mm, 0, sizeof(mm));
		for (int i = 0; i < 8; i++) {
			size_t a = (size_t)(i * 13 + 1), b = (size_t)(i * 7 + 3), t = (size_t)(i * 101 + 5);

			iov[i][0] = (struct iovec){ pay, a };
			iov[i][1] = (struct iovec){ pay + a, b };
			iov[i][2] = (struct iovec){ pay + a + b, t };
			mm[i].msg_hdr.msg_name = &ss;
			mm[i].msg_hdr.msg_namelen = sl;
			mm[i].msg_hdr.msg_iov = iov[i];
			mm[i].msg_hdr.msg_iovlen = 3;
		}
		expect("sendmmsg", sendmmsg(fd, mm, 8, 0), 8);
		for (int i = 0; i < 8; i++)
			expect("sendmmsg msg_len", mm[i].msg_len, (ssize_t)(iov[i][0].iov_len + iov[i][1].iov_len +
									     iov[i][2].iov_len));
		nap();
	}
	/* 7: UDP_SEGMENT */
	CASE("v4 UDP_SEGMENT 500 of 1700");
	fd = sock_for(c++, AF_INET);
	{
		uint16_t g = 500;

		with_cmsg(fd, AF_INET, dst4, IPPROTO_UDP, UDP_SEGMENT, &g, sizeof(g), 1700);
	}
	/* 8: SO_NO_CHECK */
	CASE("v4 SO_NO_CHECK");
	fd = sock_for(c++, AF_INET);
	v = 1;
	setsockopt(fd, SOL_SOCKET, SO_NO_CHECK, &v, sizeof(v));
	plain(fd, AF_INET, dst4);
	/* 9: IPv6 defaults */
	CASE("v6 defaults");
	plain(fd = sock_for(c++, AF_INET6), AF_INET6, dst6);
	/* 10: hop limit, traffic class */
	CASE("v6 IPV6_UNICAST_HOPS 5, IPV6_TCLASS 0xb9");
	fd = sock_for(c++, AF_INET6);
	v = 5;
	setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof(v));
	v = 0xb9;
	setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v));
	plain(fd, AF_INET6, dst6);
	/* 11: cmsgs */
	CASE("v6 cmsg IPV6_TCLASS 0x03, IPV6_HOPLIMIT 3, IPV6_PKTINFO source");
	fd = sock_for(c++, AF_INET6);
	v = 3;
	with_cmsg(fd, AF_INET6, dst6, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v), 120);
	with_cmsg(fd, AF_INET6, dst6, IPPROTO_IPV6, IPV6_HOPLIMIT, &v, sizeof(v), 121);
	{
		struct in6_pktinfo pi = {0};

		inet_pton(AF_INET6, src6, &pi.ipi6_addr);
		with_cmsg(fd, AF_INET6, dst6, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi), 122);
	}
	/* 12: connected IPv6 */
	CASE("v6 connected send");
	fd = sock_for(c++, AF_INET6);
	sl = dst_of(AF_INET6, dst6, &ss);
	expect("connect6", connect(fd, (struct sockaddr *)&ss, sl), 0);
	for (size_t i = 0; i < NSZ; i++) {
		expect("send6", send(fd, pay, sizes[i], 0), (ssize_t)sizes[i]);
		nap();
	}
	/* 13: dual-stack socket to a v4-mapped address */
	CASE("v6 socket to v4-mapped address");
	plain(fd = sock_for(c++, AF_INET6), AF_INET6, dst4);
	/* 14: IPv6 UDP_SEGMENT */
	CASE("v6 UDP_SEGMENT 600 of 1300");
	fd = sock_for(c++, AF_INET6);
	{
		uint16_t g = 600;

		with_cmsg(fd, AF_INET6, dst6, IPPROTO_UDP, UDP_SEGMENT, &g, sizeof(g), 1300);
	}
	/* 15: writev on a connected socket */
	CASE("v4 connected writev, 3 iovecs");
	fd = sock_for(c++, AF_INET);
	sl = dst_of(AF_INET, dst4, &ss);
	expect("connect", connect(fd, (struct sockaddr *)&ss, sl), 0);
	for (size_t i = 0; i < NSZ; i++) {
		struct iovec iov[3] = { { pay, sizes[i] / 3 }, { pay + sizes[i] / 3, 1 + (i & 1) },
					{ pay + sizes[i] / 3 + 1 + (i & 1), sizes[i] - sizes[i] / 3 - 1 - (i & 1) } };

		if (sizes[i] < 3)
			iov[1].iov_len = iov[2].iov_len = 0, iov[0].iov_len = sizes[i];
		expect("writev", writev(fd, iov, 3), (ssize_t)sizes[i]);
		nap();
	}
	/* 16: the raw syscall() forms of sendto, sendmsg, sendmmsg (quinn-udp
	 * 0.4-0.5.4 called syscall(SYS_sendmmsg) directly) */
	CASE("v4 syscall(SYS_sendto/SYS_sendmsg/SYS_sendmmsg)");
	fd = sock_for(c++, AF_INET);
	sl = dst_of(AF_INET, dst4, &ss);
	{
		struct iovec iov = { pay, 222 };
		struct msghdr m = { .msg_name = &ss, .msg_namelen = sl, .msg_iov = &iov, .msg_iovlen = 1 };
		struct mmsghdr mm[3];

		expect("syscall(SYS_sendto)", syscall(SYS_sendto, fd, pay, 111, 0, &ss, sl), 111);
		nap();
		expect("syscall(SYS_sendmsg)", syscall(SYS_sendmsg, fd, &m, 0), 222);
		nap();
		memset(mm, 0, sizeof(mm));
		for (int i = 0; i < 3; i++)
			mm[i].msg_hdr = m;
		expect("syscall(SYS_sendmmsg)", syscall(SYS_sendmmsg, fd, mm, 3, 0), 3);
		nap();
	}
	/* 17: connected, syscall(SYS_write) and syscall(SYS_writev) */
	CASE("v4 connected syscall(SYS_write/SYS_writev)");
	fd = sock_for(c++, AF_INET);
	sl = dst_of(AF_INET, dst4, &ss);
	expect("connect", connect(fd, (struct sockaddr *)&ss, sl), 0);
	{
		struct iovec iov[2] = { { pay, 17 }, { pay + 17, 300 } };

		expect("syscall(SYS_write)", syscall(SYS_write, fd, pay, 99), 99);
		nap();
		expect("syscall(SYS_writev)", syscall(SYS_writev, fd, iov, 2), 317);
		nap();
	}
	/* 18: a fork child sends on the socket its parent bound, then the
	 * parent again (the pre-fork server pattern) */
	CASE("v4 sendto from a fork child, then the parent");
	fd = sock_for(c++, AF_INET);
	sl = dst_of(AF_INET, dst4, &ss);
	expect("sendto before fork", sendto(fd, pay, 50, 0, (struct sockaddr *)&ss, sl), 50);
	nap();
	{
		int st = -1;
		pid_t pid;

		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			for (int i = 0; i < 3; i++) {
				expect("sendto in the child", sendto(fd, pay, 60 + (size_t)i, 0, (struct sockaddr *)&ss, sl),
				       60 + i);
				nap();
			}
			exit(bad);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "txsend: the fork child failed (status %d)\n", st);
			bad = 1;
		}
	}
	expect("sendto after the child", sendto(fd, pay, 70, 0, (struct sockaddr *)&ss, sl), 70);
	nap();
	printf("txsend: %d cases, %s\n", c, bad ? "some send returned the wrong value" : "all sends returned as expected");
	fflush(stdout);
	return bad;
}
