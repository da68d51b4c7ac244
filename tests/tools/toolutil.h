/* toolutil.h - small helpers shared by the test and benchmark tools
 * (udpgen, dnsgen, xdpgen, streamrecv, rawrecv, xdpdrop, txone, txicmp):
 * clocks, CPU time, pacing, little-endian loads of the udpgen payload
 * header, and socket addresses from text.  Header-only; each tool is one program. */
#ifndef XSKSHIM_TOOLUTIL_H
#define XSKSHIM_TOOLUTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

/* ss = addr:port of family fam (addr NULL: the wildcard); returns its
 * length.  The family of a text address: AF_INET6 if it has a colon. */
static inline int tool_family(const char *addr)
{
	return strchr(addr, ':') ? AF_INET6 : AF_INET;
}

static inline socklen_t tool_sockaddr(int fam, const char *addr, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (fam == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (addr)
			inet_pton(AF_INET, addr, &a->sin_addr);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

	a->sin6_family = AF_INET6;
	a->sin6_port = htons((uint16_t)port);
	if (addr)
		inet_pton(AF_INET6, addr, &a->sin6_addr);
	return sizeof(*a);
}

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Pacing at rate per second from t0 (now_ns() at the start): sleeps until
 * the n-th item is due (t0 + n / rate), when that is more than 20 us ahead;
 * a sender that fell behind is not held back (it catches up in bursts).
 * rate 0: unpaced, returns at once. */
static inline void tool_pace(uint64_t t0, uint64_t n, uint64_t rate)
{
	uint64_t due, now;

	if (!rate)
		return;
	due = t0 + (uint64_t)((double)n * 1e9 / (double)rate);
	now = now_ns();
	if (due > now + 20000) {
		struct timespec ts = {
			.tv_sec = (time_t)((due - now) / 1000000000ull),
			.tv_nsec = (long)((due - now) % 1000000000ull),
		};

		nanosleep(&ts, NULL);
	}
}

/* User + system CPU time, in nanoseconds, of RUSAGE_SELF (the whole
 * process) or RUSAGE_CHILDREN (its children that were waited for). */
static inline uint64_t rusage_cpu_ns(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru))
		return 0;
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

static inline uint64_t proc_cpu_ns(void) { return rusage_cpu_ns(RUSAGE_SELF); }
static inline uint64_t children_cpu_ns(void) { return rusage_cpu_ns(RUSAGE_CHILDREN); }

/* n (<= 8) bytes at p as a little-endian number. */
static inline uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = (v << 8) | p[n];
	return v;
}

#endif /* XSKSHIM_TOOLUTIL_H */
