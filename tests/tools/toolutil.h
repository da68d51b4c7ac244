/* toolutil.h - small helpers shared by the test and benchmark tools
 * (udpgen, xdpgen, streamrecv, rawrecv, xdpdrop): clocks, CPU time, and
 * little-endian loads of the udpgen payload header.  Header-only; each tool
 * is one program. */
#ifndef XSKSHIM_TOOLUTIL_H
#define XSKSHIM_TOOLUTIL_H

#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* User + system CPU time of the whole process, in nanoseconds. */
static inline uint64_t proc_cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

/* n (<= 8) bytes at p as a little-endian number. */
static inline uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = (v << 8) | p[n];
	return v;
}

#endif /* XSKSHIM_TOOLUTIL_H */
