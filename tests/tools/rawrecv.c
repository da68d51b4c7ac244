/* rawrecv.c - the raw AF_XDP receive ceiling for the xskshim benchmark.
 *
 *   rawrecv --iface vb --port 9000 [--mode native|skb] [--spin|--poll] ...
 *
 * No interposition and no ring/ module: the plainest fast AF_XDP receiver
 * that uses OUR XDP program (build/xskshim.skel.h), so that the benchmark's
 * "raw" row differs from the shim only by the shim's own work.
 *   - loads xskshim_xdp and attaches it through a bpf_link (native:
 *     bpf_program__attach_xdp; skb: bpf_link_create + XDP_FLAGS_SKB_MODE),
 *     so it goes away with the process;
 *   - one UMEM (--frames frames of 4 KiB) and one AF_XDP socket per RX
 *     queue, libxdp xsk API, XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD, XDP_COPY,
 *     XDP_USE_NEED_WAKEUP; the fill ring is filled completely up front;
 *   - socket of queue q goes to xsks[0 * XSKSHIM_QUEUE_MAX + q]; `ports`
 *     gets wildcard IPv4 and IPv6 entries for --port with the one slot 0;
 *   - receive loop, batches of 64: --spin peeks every rx ring in a busy
 *     loop, --poll calls poll() on all sockets before each batch; each
 *     frame's Ethernet/IP/UDP headers are checked, the payload copied into
 *     an application buffer and verified against the udpgen pattern exactly
 *     as streamrecv does; the batch's frames go back to the fill ring in
 *     one reserve/submit, and the kernel is kicked only if the fill ring
 *     asks for a wakeup (never, in copy mode on veth).
 *   - --csum also verifies UDP checksums (a checksum of 0 over IPv4 means
 *     none); a bad one counts as bad.
 *
 * Summary line, as streamrecv's (a flow split here means it hit two
 * queues; per_thread is the single receive thread, per_queue follows):
 *   rawrecv: received=N bad=B dup=D missing=M secs=S pps=X
 *     first_to_last_secs=T flows=F flows_split=K per_thread=N
 *     cpu_ns_per_pkt=C per_queue=a,b,...
 * On stderr afterwards: the sockets' XDP_STATISTICS summed over queues and
 * the XDP program's counters, to show where losses happened.
 * Exit status as streamrecv's.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "bpf/xskshim_bpf.h"
#include "xskshim.skel.h"

#include "tests/tools/toolutil.h"

#define RR_BATCH         64
#define RR_FRAME_SZ      XSK_UMEM__DEFAULT_FRAME_SIZE
#define RR_APPBUF_SZ     2048
#define RR_HDR_SZ        12
#define RR_PAYLOAD_MAX   65536
#define RR_CPU_SAMPLE_NS 1000000ull

struct rr_queue {
	unsigned id;
	void *area;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	struct xsk_ring_cons rx;
	int fd;
	uint64_t received;
	uint8_t *ports_seen;     /* [65536] */
};

static struct {
	const char *ifname;
	unsigned port;
	bool native;
	bool poll;
	bool csum;
	unsigned frames;
	uint64_t expect;
	unsigned idle_ms;
	double max_secs;
} conf = {
	.ifname = NULL,
	.native = true,
	.frames = 4096,
	.idle_ms = 2000,
	.max_secs = 60,
};

static volatile sig_atomic_t stop;
static uint8_t pat_tab[256 + RR_PAYLOAD_MAX];
static uint8_t appbuf[RR_BATCH][RR_APPBUF_SZ];
static uint64_t *seq_bitmap;
static uint64_t n_bad, n_dup;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}




/* Ones'-complement sum of memory-order words, 32 bits at a time into a
 * 64-bit accumulator (2^32 = 2^16 = 1 mod 0xffff, so this folds to the same
 * value as summing 16-bit words). */
static uint64_t csum_add(uint64_t sum, const uint8_t *b, size_t len)
{
	uint32_t w;
	uint16_t h;

	for (; len >= 4; len -= 4, b += 4) {
		memcpy(&w, b, 4);
		sum += w;
	}
	if (len >= 2) {
		memcpy(&h, b, 2);
		sum += h;
		b += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = { b[0], 0 };

		memcpy(&h, last, 2);
		sum += h;
	}
	return sum;
}

static bool csum_ok(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* Parses one frame; on success returns the UDP payload and its length and
 * the source port.  Checks what the kernel would: lengths, protocol,
 * destination port, and (--csum) the UDP checksum. */
static const uint8_t *rr_parse(const uint8_t *f, uint32_t len, uint32_t *plen, uint16_t *sport)
{
	const uint8_t *l3 = f + 14, *udp, *addrs;
	uint16_t proto, ulen, dport;
	uint32_t l3len;
	uint64_t sum;
	size_t alen;
	bool check;

	if (len < 14)
		return NULL;
	proto = (uint16_t)(f[12] << 8 | f[13]);
	if (proto == 0x0800) {
		unsigned ihl;

		if (len < 14 + 20 || (l3[0] >> 4) != 4 || l3[9] != IPPROTO_UDP)
			return NULL;
		ihl = (l3[0] & 0xf) * 4u;
		l3len = (uint32_t)(l3[2] << 8 | l3[3]);
		if (ihl < 20 || l3len < ihl + 8 || 14 + l3len > len ||
		    ((l3[6] & 0x3f) | l3[7]))        /* MF or offset: fragment */
			return NULL;
		udp = l3 + ihl;
		l3len -= ihl;
		addrs = l3 + 12;
		alen = 8;
		check = conf.csum && (udp[6] | udp[7]);  /* 0: no checksum */
	} else if (proto == 0x86dd) {
		if (len < 14 + 40 + 8 || (l3[0] >> 4) != 6 || l3[6] != IPPROTO_UDP)
			return NULL;
		l3len = (uint32_t)(l3[4] << 8 | l3[5]);
		if (14 + 40 + l3len > len)
			return NULL;
		udp = l3 + 40;
		addrs = l3 + 8;
		alen = 32;
		check = conf.csum;
		if (check && !(udp[6] | udp[7]))
			return NULL;                     /* mandatory over IPv6 */
	} else {
		return NULL;
	}
	ulen = (uint16_t)(udp[4] << 8 | udp[5]);
	dport = (uint16_t)(udp[2] << 8 | udp[3]);
	if (ulen < 8 || ulen > l3len || dport != conf.port)
		return NULL;
	if (check) {
		/* pseudo header, words in memory order like the rest */
		sum = csum_add(0, addrs, alen) + htons(IPPROTO_UDP) + htons(ulen);
		if (!csum_ok(csum_add(sum, udp, ulen)))
			return NULL;
	}
	*sport = (uint16_t)(udp[0] << 8 | udp[1]);
	*plen = ulen - 8u;
	return udp + 8;
}

/* The udpgen pattern check, as in streamrecv.c. */
static void rr_check(const uint8_t *p, uint32_t len)
{
	uint64_t seq, bit;

	if (len < RR_HDR_SZ) {
		n_bad++;
		return;
	}
	seq = get_le(p, 8);
	if (memcmp(p + RR_HDR_SZ, pat_tab + ((seq * 31 + RR_HDR_SZ) & 0xff), len - RR_HDR_SZ)) {
		n_bad++;
		return;
	}
	if (!seq_bitmap)
		return;
	if (seq >= conf.expect) {
		n_bad++;
		return;
	}
	bit = 1ull << (seq & 63);
	if (seq_bitmap[seq >> 6] & bit)
		n_dup++;
	seq_bitmap[seq >> 6] |= bit;
}

/* Receives up to one batch from queue q; returns the count. */
static unsigned rr_rx_batch(struct rr_queue *q)
{
	uint32_t idx_rx = 0, idx_fill = 0, i;
	unsigned n = xsk_ring_cons__peek(&q->rx, RR_BATCH, &idx_rx);
	uint64_t addrs[RR_BATCH];

	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, idx_rx + i);
		const uint8_t *pay;
		uint32_t plen;
		uint16_t sport;

		addrs[i] = d->addr & ~(uint64_t)(RR_FRAME_SZ - 1);
		pay = rr_parse(xsk_umem__get_data(q->area, d->addr), d->len, &plen, &sport);
		if (!pay || plen > RR_APPBUF_SZ) {
			n_bad++;
			continue;
		}
		q->ports_seen[sport] = 1;
		memcpy(appbuf[i], pay, plen);
		rr_check(appbuf[i], plen);
	}
	xsk_ring_cons__release(&q->rx, n);

	/* The fill ring holds every frame, so n slots are always free. */
	while (xsk_ring_prod__reserve(&q->fill, n, &idx_fill) != n)
		;
	for (i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&q->fill, idx_fill + i) = addrs[i];
	xsk_ring_prod__submit(&q->fill, n);
	if (xsk_ring_prod__needs_wakeup(&q->fill))
		recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
	q->received += n;
	return n;
}

static int rr_queue_open(struct rr_queue *q, int xsks_fd)
{
	struct xsk_umem_config ucfg = {
		.fill_size = conf.frames,
		.comp_size = 64,
		.frame_size = RR_FRAME_SZ,
		.frame_headroom = 0,
	};
	struct xsk_socket_config scfg = {
		.rx_size = conf.frames,
		.tx_size = 0,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP,
	};
	size_t sz = (size_t)conf.frames * RR_FRAME_SZ;
	uint32_t idx = 0, i, key;
	int err;

	q->ports_seen = calloc(65536, 1);
	if (!q->ports_seen)
		return -ENOMEM;
	q->area = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q->area == MAP_FAILED) {
		q->area = NULL;
		return -errno;
	}
	err = xsk_umem__create(&q->umem, q->area, sz, &q->fill, &q->comp, &ucfg);
	if (err)
		return err;
	/* A previous owner's AF_XDP socket on this queue is released
	 * asynchronously after it exits; until then bind fails with EBUSY. */
	for (i = 0; ; i++) {
		struct timespec ts = { .tv_nsec = 10000000 };

		err = xsk_socket__create(&q->xsk, conf.ifname, q->id, q->umem, &q->rx,
					 NULL, &scfg);
		if (err != -EBUSY || i == 300)
			break;
		nanosleep(&ts, NULL);
	}
	if (i)
		fprintf(stderr, "rawrecv: queue %u busy for %u ms before bind\n", q->id, i * 10);
	if (err)
		return err;
	q->fd = xsk_socket__fd(q->xsk);
	if (xsk_ring_prod__reserve(&q->fill, conf.frames, &idx) != conf.frames)
		return -ENOSPC;
	for (i = 0; i < conf.frames; i++)
		*xsk_ring_prod__fill_addr(&q->fill, idx + i) = (uint64_t)i * RR_FRAME_SZ;
	xsk_ring_prod__submit(&q->fill, conf.frames);
	key = 0 * XSKSHIM_QUEUE_MAX + q->id;
	if (bpf_map_update_elem(xsks_fd, &key, &q->fd, BPF_ANY))
		return -errno;
	return 0;
}

static void rr_queue_close(struct rr_queue *q)
{
	if (q->xsk)
		xsk_socket__delete(q->xsk);
	if (q->umem)
		xsk_umem__delete(q->umem);
	if (q->area)
		munmap(q->area, (size_t)conf.frames * RR_FRAME_SZ);
	free(q->ports_seen);
}

/* RX queue count from /sys/class/net/IF/queues/rx-* (ip netns exec mounts
 * the namespace's own sysfs). */
static unsigned rr_rx_queues(const char *ifname)
{
	char path[128];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
	d = opendir(path);
	if (!d)
		return 1;
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, "rx-", 3);
	closedir(d);
	return n ? n : 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rawrecv --iface IF --port P [options]\n"
		"  --mode native|skb  XDP attach mode (default native)\n"
		"  --spin | --poll    busy-poll the rx rings (default) or poll() per batch\n"
		"  --frames N         UMEM frames per queue, power of two (default 4096)\n"
		"  --queues N         RX queues to serve (default: all)\n"
		"  --csum             verify UDP checksums\n"
		"  --expect N         datagrams expected (seq 0..N-1)\n"
		"  --idle-ms MS       stop after MS of silence after the first (default 2000)\n"
		"  --max-secs S       hard bound (default 60)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "port", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "spin", no_argument, NULL, 'S' },
		{ "poll", no_argument, NULL, 'P' },
		{ "frames", required_argument, NULL, 'f' },
		{ "queues", required_argument, NULL, 'q' },
		{ "csum", no_argument, NULL, 'C' },
		{ "expect", required_argument, NULL, 'e' },
		{ "idle-ms", required_argument, NULL, 'I' },
		{ "max-secs", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct rr_queue *qs = NULL;
	struct pollfd *pfds = NULL;
	struct xskshim *skel = NULL;
	struct bpf_link *link = NULL;
	unsigned nq = 0, i, flows = 0, split = 0;
	uint64_t received = 0, first = 0, last = 0, cpu_first = 0, cpu_last = 0, cpu_at = 0;
	uint64_t missing = 0, t0 = 0, t_end, k;
	int c, err, ifindex, link_fd = -1, rc = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': conf.ifname = optarg; break;
		case 'p': conf.port = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'm':
			if (!strcmp(optarg, "native"))
				conf.native = true;
			else if (!strcmp(optarg, "skb"))
				conf.native = false;
			else
				goto bad;
			break;
		case 'S': conf.poll = false; break;
		case 'P': conf.poll = true; break;
		case 'f': conf.frames = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'q': nq = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'C': conf.csum = true; break;
		case 'e': conf.expect = strtoull(optarg, NULL, 0); break;
		case 'I': conf.idle_ms = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'M': conf.max_secs = strtod(optarg, NULL); break;
		case 'h': usage(stdout); return 0;
		default: goto bad;
		}
	}
	if (!conf.ifname || !conf.port || conf.port > 65535 || conf.frames < RR_BATCH ||
	    (conf.frames & (conf.frames - 1)) || conf.max_secs <= 0)
		goto bad;
	ifindex = (int)if_nametoindex(conf.ifname);
	if (!ifindex) {
		fprintf(stderr, "rawrecv: no interface %s\n", conf.ifname);
		return 1;
	}
	if (!nq)
		nq = rr_rx_queues(conf.ifname);
	if (nq > XSKSHIM_QUEUE_MAX)
		nq = XSKSHIM_QUEUE_MAX;

	for (k = 0; k < sizeof(pat_tab); k++)
		pat_tab[k] = (uint8_t)k;
	if (conf.expect) {
		seq_bitmap = calloc((conf.expect + 63) / 64, sizeof(uint64_t));
		if (!seq_bitmap)
			return 1;
	}
	qs = calloc(nq, sizeof(*qs));
	pfds = calloc(nq, sizeof(*pfds));
	if (!qs || !pfds)
		return 1;

	skel = xskshim__open_and_load();
	if (!skel) {
		fprintf(stderr, "rawrecv: load XDP program: %s\n", strerror(errno));
		rc = 1;
		goto out;
	}
	for (i = 0; i < nq; i++) {
		qs[i].id = i;
		qs[i].fd = -1;
		err = rr_queue_open(&qs[i], bpf_map__fd(skel->maps.xsks));
		if (err) {
			fprintf(stderr, "rawrecv: AF_XDP socket on %s queue %u: %s\n",
				conf.ifname, i, strerror(-err));
			rc = 1;
			goto out;
		}
		pfds[i].fd = qs[i].fd;
		pfds[i].events = POLLIN;
	}
	{
		struct xskshim_port_key key = { .family = 4, .port = htons((uint16_t)conf.port) };
		struct xskshim_port_val val = { .slot_cnt = 1, .slots = { 0 } };
		int fd = bpf_map__fd(skel->maps.ports);

		if (bpf_map_update_elem(fd, &key, &val, BPF_ANY) ||
		    (key.family = 6, bpf_map_update_elem(fd, &key, &val, BPF_ANY))) {
			fprintf(stderr, "rawrecv: ports map: %s\n", strerror(errno));
			rc = 1;
			goto out;
		}
	}
	if (conf.native) {
		link = bpf_program__attach_xdp(skel->progs.xskshim_xdp, ifindex);
		err = link ? 0 : -errno;
	} else {
		LIBBPF_OPTS(bpf_link_create_opts, lopts, .flags = XDP_FLAGS_SKB_MODE);

		link_fd = bpf_link_create(bpf_program__fd(skel->progs.xskshim_xdp), ifindex,
					  BPF_XDP, &lopts);
		err = link_fd < 0 ? -errno : 0;
	}
	if (err) {
		fprintf(stderr, "rawrecv: attach %s mode to %s: %s\n",
			conf.native ? "native" : "skb", conf.ifname, strerror(-err));
		rc = 1;
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "rawrecv: ready iface=%s port=%u mode=%s queues=%u style=%s\n",
		conf.ifname, conf.port, conf.native ? "native" : "skb", nq,
		conf.poll ? "poll" : "spin");

	t0 = now_ns();
	while (!stop) {
		unsigned got = 0;
		uint64_t now;

		if (conf.poll) {
			int n = poll(pfds, nq, 100);

			if (n < 0 && errno != EINTR) {
				perror("rawrecv: poll");
				rc = 1;
				break;
			}
			for (i = 0; n > 0 && i < nq; i++)
				if (pfds[i].revents & POLLIN)
					got += rr_rx_batch(&qs[i]);
		} else {
			for (i = 0; i < nq; i++)
				got += rr_rx_batch(&qs[i]);
		}
		now = now_ns();
		if (got) {
			received += got;
			if (!first) {
				first = now;
				cpu_first = cpu_last = proc_cpu_ns();
				cpu_at = now;
			} else if (now - cpu_at >= RR_CPU_SAMPLE_NS) {
				cpu_last = proc_cpu_ns();
				cpu_at = now;
			}
			last = now;
			if (conf.expect && received >= conf.expect)
				break;
			continue;
		}
		if ((first && now - last > (uint64_t)conf.idle_ms * 1000000ull) ||
		    (double)(now - t0) / 1e9 > conf.max_secs)
			break;
	}
	t_end = now_ns();

	for (k = 0; k < 65536; k++) {
		unsigned seen = 0;

		for (i = 0; i < nq; i++)
			seen += qs[i].ports_seen[k];
		flows += seen > 0;
		split += seen > 1;
	}
	if (seq_bitmap) {
		uint64_t have = 0;

		for (k = 0; k < (conf.expect + 63) / 64; k++)
			have += (uint64_t)__builtin_popcountll(seq_bitmap[k]);
		missing = conf.expect - have;
	}
	{
		double secs = (double)(t_end - t0) / 1e9;
		double span = last > first ? (double)(last - first) / 1e9 : 0;
		uint64_t cpu = cpu_last > cpu_first ? cpu_last - cpu_first : proc_cpu_ns();

		printf("rawrecv: received=%llu bad=%llu dup=%llu missing=%llu secs=%.3f "
		       "pps=%.0f first_to_last_secs=%.6f flows=%u flows_split=%u "
		       "per_thread=%llu cpu_ns_per_pkt=%.1f per_queue=",
		       (unsigned long long)received, (unsigned long long)n_bad,
		       (unsigned long long)n_dup, (unsigned long long)missing, secs,
		       span > 0 ? (double)received / span : 0.0, span, flows, split,
		       (unsigned long long)received,
		       received ? (double)cpu / (double)received : 0.0);
		for (i = 0; i < nq; i++)
			printf("%s%llu", i ? "," : "", (unsigned long long)qs[i].received);
		printf("\n");
		fflush(stdout);
	}
	{
		struct xdp_statistics st, sum = { 0 };
		uint64_t ctr[XSKSHIM_CTR_CNT] = { 0 };
		static const char *const names[] = { XSKSHIM_CTR_NAMES };
		int ncpu = libbpf_num_possible_cpus();
		uint64_t *vals = ncpu > 0 ? calloc((size_t)ncpu, sizeof(uint64_t)) : NULL;
		uint32_t ci;

		for (i = 0; i < nq; i++) {
			socklen_t len = sizeof(st);

			if (getsockopt(qs[i].fd, SOL_XDP, XDP_STATISTICS, &st, &len))
				continue;
			sum.rx_dropped += st.rx_dropped;
			sum.rx_invalid_descs += st.rx_invalid_descs;
			sum.rx_ring_full += st.rx_ring_full;
			sum.rx_fill_ring_empty_descs += st.rx_fill_ring_empty_descs;
		}
		fprintf(stderr, "rawrecv: xsk rx_dropped=%llu rx_ring_full=%llu "
			"rx_fill_ring_empty=%llu rx_invalid=%llu prog:",
			(unsigned long long)sum.rx_dropped, (unsigned long long)sum.rx_ring_full,
			(unsigned long long)sum.rx_fill_ring_empty_descs,
			(unsigned long long)sum.rx_invalid_descs);
		for (ci = 0; vals && ci < XSKSHIM_CTR_CNT; ci++) {
			int j;

			if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.ctrs), &ci, vals))
				break;
			for (j = 0; j < ncpu; j++)
				ctr[ci] += vals[j];
			if (ctr[ci])
				fprintf(stderr, " %s=%llu", names[ci], (unsigned long long)ctr[ci]);
		}
		fprintf(stderr, "\n");
		free(vals);
	}
	if (conf.expect) {
		if (received != conf.expect || n_bad || n_dup || split)
			rc = 1;
	} else if (!received || n_bad || split) {
		rc = 1;
	}
out:
	if (link_fd >= 0)
		close(link_fd);
	bpf_link__destroy(link);
	for (i = 0; qs && i < nq; i++)
		rr_queue_close(&qs[i]);
	xskshim__destroy(skel);
	free(qs);
	free(pfds);
	free(seq_bitmap);
	return rc;
bad:
	usage(stderr);
	return 2;
}
