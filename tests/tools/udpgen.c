/* udpgen.c - sendmmsg(2) UDP traffic generator for xskshim tests and bench.
 *
 *   udpgen --dst 198.18.0.2 --port 9000 --flows 4 --size 64 --count 100000
 *
 * Sends --count datagrams of --size payload bytes to --dst (IPv4 or IPv6),
 * to --port or round robin over --ports A-B, from --flows sockets bound to
 * source ports sport-base .. sport-base+flows-1 (so the receiver sees stable
 * flows).  Batches of --batch messages go out with one sendmmsg() on one
 * flow's socket; consecutive batches rotate over the flows.  --rate paces
 * whole batches (0 = as fast as possible); --duration-max bounds the run.
 *
 * Payload ("udpgen pattern", verified byte for byte by streamrecv/rawrecv,
 * and produced identically by xdpgen):
 *   bytes 0..7   sequence number, little-endian u64, global over the run,
 *                starting at --seq-base (default 0)
 *   bytes 8..11  flow index (0..flows-1), little-endian u32
 *   byte  i>=12  (seq * 31 + i) & 0xff
 *
 * --no-drop sets IP_RECVERR (IPV6_RECVERR) on every flow socket, so a
 * datagram the sending host drops on its way out (a full veth ring or
 * backlog: ENOBUFS, which UDP otherwise hides and counts as SndbufErrors)
 * fails its sendmmsg and is sent again: backpressure instead of loss.  An
 * ICMP error the socket then reports on a send (ECONNREFUSED: a datagram
 * reached a port with no socket) is counted and the send retried.
 *
 * Prints one line:  udpgen: sent=N bytes=B secs=S pps=X
 * (with --no-drop also: resent=R refused=F)
 * Exit status 0 when all --count datagrams went out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/tools/toolutil.h"

#define UDPGEN_BATCH_MAX 1024
#define UDPGEN_SIZE_MAX  65507


/* pat_tab[k] = k & 0xff, long enough that the pattern of any payload is one
 * memcpy from offset (seq * 31 + 12) & 0xff. */
static uint8_t pat_tab[256 + UDPGEN_SIZE_MAX];

static void pattern_init(void)
{
	size_t k;

	for (k = 0; k < sizeof(pat_tab); k++)
		pat_tab[k] = (uint8_t)k;
}

static void pattern_fill(uint8_t *p, size_t len, uint64_t seq, uint32_t flow)
{
	uint8_t hdr[12];
	size_t i;

	for (i = 0; i < 8; i++)
		hdr[i] = (uint8_t)(seq >> (8 * i));
	for (i = 0; i < 4; i++)
		hdr[8 + i] = (uint8_t)(flow >> (8 * i));
	memcpy(p, hdr, len < sizeof(hdr) ? len : sizeof(hdr));
	if (len > sizeof(hdr))
		memcpy(p + sizeof(hdr), pat_tab + ((seq * 31 + sizeof(hdr)) & 0xff),
		       len - sizeof(hdr));
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: udpgen --dst ADDR (--port P | --ports A-B) [options]\n"
		"  --flows N          source flows (bound sockets), default 1\n"
		"  --sport-base P     first source port, default 20000\n"
		"  --size BYTES       payload bytes (>= 12 carries the header), default 64\n"
		"  --count N          datagrams to send, default 1000\n"
		"  --seq-base N       first sequence number, default 0\n"
		"  --batch N          messages per sendmmsg, default 64\n"
		"  --rate PPS         pace to PPS (0 = unpaced), default 0\n"
		"  --duration-max S   stop after S seconds whatever was sent, default 30\n"
		"  --no-drop          IP_RECVERR: send again what the local stack dropped (ENOBUFS)\n");
}

static int parse_ports(const char *s, unsigned *lo, unsigned *hi)
{
	char *end;
	unsigned long a, b;

	a = strtoul(s, &end, 10);
	b = a;
	if (*end == '-')
		b = strtoul(end + 1, &end, 10);
	if (*end || a == 0 || b < a || b > 65535)
		return -1;
	*lo = (unsigned)a;
	*hi = (unsigned)b;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dst", required_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'p' },
		{ "ports", required_argument, NULL, 'P' },
		{ "flows", required_argument, NULL, 'f' },
		{ "sport-base", required_argument, NULL, 'b' },
		{ "size", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{ "seq-base", required_argument, NULL, 'q' },
		{ "batch", required_argument, NULL, 'B' },
		{ "rate", required_argument, NULL, 'r' },
		{ "duration-max", required_argument, NULL, 'D' },
		{ "no-drop", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *dst = NULL;
	unsigned port_lo = 0, port_hi = 0, nports;
	unsigned flows = 1, sport_base = 20000, batch = 64;
	size_t size = 64;
	uint64_t count = 1000, rate = 0, sent = 0, seq_base = 0, resent = 0, refused = 0;
	int no_drop = 0;
	double dur_max = 30;
	struct sockaddr_storage dss;
	socklen_t dlen;
	int family, c, *fds, err = 0;
	unsigned i;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dst = optarg; break;
		case 'p':
		case 'P':
			if (parse_ports(optarg, &port_lo, &port_hi)) {
				fprintf(stderr, "udpgen: bad port(s) '%s'\n", optarg);
				return 2;
			}
			break;
		case 'f': flows = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'b': sport_base = (unsigned)strtoul(optarg, NULL, 0); break;
		case 's': size = strtoul(optarg, NULL, 0); break;
		case 'c': count = strtoull(optarg, NULL, 0); break;
		case 'q': seq_base = strtoull(optarg, NULL, 0); break;
		case 'B': batch = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'r': rate = strtoull(optarg, NULL, 0); break;
		case 'D': dur_max = strtod(optarg, NULL); break;
		case 'N': no_drop = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!dst || !port_lo || !flows || flows > 65535 || sport_base == 0 ||
	    sport_base + flows - 1 > 65535 || !batch || batch > UDPGEN_BATCH_MAX ||
	    size > UDPGEN_SIZE_MAX || dur_max <= 0) {
		usage(stderr);
		return 2;
	}
	nports = port_hi - port_lo + 1;

	memset(&dss, 0, sizeof(dss));
	if (inet_pton(AF_INET, dst, &((struct sockaddr_in *)&dss)->sin_addr) == 1) {
		family = AF_INET;
		dss.ss_family = AF_INET;
		dlen = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, dst, &((struct sockaddr_in6 *)&dss)->sin6_addr) == 1) {
		family = AF_INET6;
		dss.ss_family = AF_INET6;
		dlen = sizeof(struct sockaddr_in6);
	} else {
		fprintf(stderr, "udpgen: bad --dst '%s'\n", dst);
		return 2;
	}

	pattern_init();
	fds = calloc(flows, sizeof(*fds));
	if (!fds)
		return 1;
	for (i = 0; i < flows; i++) {
		struct sockaddr_storage src;
		int one = 1;

		fds[i] = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0) {
			perror("udpgen: socket");
			return 1;
		}
		setsockopt(fds[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (no_drop && setsockopt(fds[i], family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
					  family == AF_INET ? IP_RECVERR : IPV6_RECVERR, &one, sizeof(one))) {
			perror("udpgen: IP_RECVERR");
			return 1;
		}
		memset(&src, 0, sizeof(src));
		src.ss_family = (sa_family_t)family;
		if (family == AF_INET)
			((struct sockaddr_in *)&src)->sin_port = htons((uint16_t)(sport_base + i));
		else
			((struct sockaddr_in6 *)&src)->sin6_port = htons((uint16_t)(sport_base + i));
		if (bind(fds[i], (struct sockaddr *)&src, dlen)) {
			fprintf(stderr, "udpgen: bind source port %u: %s\n",
				sport_base + i, strerror(errno));
			return 1;
		}
	}

	/* One buffer, name and header per batch slot, rewritten per batch. */
	struct mmsghdr *msgs = calloc(batch, sizeof(*msgs));
	struct iovec *iov = calloc(batch, sizeof(*iov));
	struct sockaddr_storage *names = calloc(batch, sizeof(*names));
	uint8_t *bufs = malloc((size_t)batch * (size ? size : 1));

	if (!msgs || !iov || !names || !bufs)
		return 1;
	for (i = 0; i < batch; i++) {
		iov[i].iov_base = bufs + (size_t)i * size;
		iov[i].iov_len = size;
		names[i] = dss;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &names[i];
		msgs[i].msg_hdr.msg_namelen = dlen;
	}

	uint64_t t0 = now_ns(), tmax = t0 + (uint64_t)(dur_max * 1e9), t1;
	uint64_t nbatch = 0;

	while (sent < count) {
		unsigned n = count - sent < batch ? (unsigned)(count - sent) : batch;
		unsigned flow = (unsigned)(nbatch++ % flows);
		unsigned done = 0;

		tool_pace(t0, sent, rate);
		for (i = 0; i < n; i++) {
			uint64_t seq = seq_base + sent + i;
			uint16_t dport = (uint16_t)(port_lo + (sent + i) % nports);

			pattern_fill(iov[i].iov_base, size, seq, flow);
			if (family == AF_INET)
				((struct sockaddr_in *)&names[i])->sin_port = htons(dport);
			else
				((struct sockaddr_in6 *)&names[i])->sin6_port = htons(dport);
		}
		while (done < n) {
			int r = sendmmsg(fds[flow], msgs + done, n - done, 0);

			if (r < 0) {
				/* the message that failed was not sent: send it again */
				resent += errno == ENOBUFS;
				refused += errno == ECONNREFUSED;
				if ((errno == EINTR || errno == ENOBUFS || errno == EAGAIN ||
				     (no_drop && errno == ECONNREFUSED)) &&
				    now_ns() < tmax)
					continue;
				perror("udpgen: sendmmsg");
				err = 1;
				goto out;
			}
			done += (unsigned)r;
		}
		sent += n;
		if ((nbatch & 15) == 0 && now_ns() > tmax) {
			fprintf(stderr, "udpgen: --duration-max reached\n");
			break;
		}
	}
out:
	t1 = now_ns();
	{
		double secs = (double)(t1 - t0) / 1e9;

		printf("udpgen: sent=%llu bytes=%llu secs=%.3f pps=%.0f",
		       (unsigned long long)sent, (unsigned long long)(sent * size),
		       secs, secs > 0 ? (double)sent / secs : 0.0);
		if (no_drop)
			printf(" resent=%llu refused=%llu", (unsigned long long)resent,
			       (unsigned long long)refused);
		putchar('\n');
	}
	for (i = 0; i < flows; i++)
		close(fds[i]);
	free(fds);
	free(msgs);
	free(iov);
	free(names);
	free(bufs);
	return err || sent != count;
}
