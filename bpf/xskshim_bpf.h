/* xskshim_bpf.h - the contract between the XDP program (bpf/xskshim.bpf.c)
 * and user space (shim/ and tests/).
 *
 * Design note
 * -----------
 * The XDP program matches UDP datagrams by (family, destination address,
 * destination port) in the `ports` hash map.  A match yields a socket group:
 * up to XSKSHIM_GROUP_MAX socket slots (an SO_REUSEPORT group has several,
 * an ordinary socket one).  The program picks one slot by a flow hash of the
 * source address and port, so each flow stays on one socket, and redirects
 * into the XSKMAP `xsks` at index  slot * XSKSHIM_QUEUE_MAX + rx_queue_index.
 * Each application socket therefore owns one AF_XDP socket per RX queue and
 * the kernel wakes exactly the socket the packet is for.
 *
 * bpf_redirect_map() is called with XDP_PASS as the fallback action: an empty
 * XSKMAP slot (a queue without an AF_XDP socket, a socket being torn down)
 * hands the packet to the kernel stack, never to a black hole.
 *
 * Lookup order: the exact bound address first, then the wildcard (all-zero
 * address) entry of the same family.  A dual-stack IPv6 socket bound to ::
 * installs both a family-6 and a family-4 wildcard entry.
 *
 * Everything the program does not fully understand - non-IP, non-UDP, IPv4
 * fragments, IPv6 extension headers, truncated headers, unknown ports -
 * returns XDP_PASS and bumps a per-CPU reason counter in `ctrs`.
 *
 * Ownership: user space creates and fills every map; the program only reads
 * `ports`/`xsks` and increments `ctrs`.  Map values are replaced whole with
 * bpf_map_update_elem(), which the kernel publishes atomically (RCU), so the
 * program never sees a half-written group.
 *
 * This header is included by both BPF and user-space code, so it only uses
 * linux/types.h.
 */
#ifndef XSKSHIM_BPF_H
#define XSKSHIM_BPF_H

#include <linux/types.h>

#define XSKSHIM_QUEUE_MAX   64u   /* RX queues per interface we can serve   */
#define XSKSHIM_SLOT_MAX    256u  /* accelerated sockets per process        */
#define XSKSHIM_GROUP_MAX   16u   /* sockets in one SO_REUSEPORT group      */
#define XSKSHIM_PORTS_MAX   1024u /* entries in the ports map               */
#define XSKSHIM_XSKMAP_SZ   (XSKSHIM_SLOT_MAX * XSKSHIM_QUEUE_MAX)
#define XSKSHIM_PROG_NAME   "xskshim_xdp"

/* Key of the ports map.  addr is all zero for a wildcard bind.  For family 4
 * only addr[0..3] is used (network order) and addr[4..15] must be zero. */
struct xskshim_port_key {
	__u8  family;   /* 4 or 6 */
	__u8  pad;
	__u16 port;     /* network byte order */
	__u8  addr[16];
};

struct xskshim_port_val {
	__u32 slot_cnt;                     /* 1..XSKSHIM_GROUP_MAX */
	__u32 slots[XSKSHIM_GROUP_MAX];     /* socket slot numbers   */
};

/* Per-CPU counters (BPF_MAP_TYPE_PERCPU_ARRAY, one __u64 per reason). */
enum xskshim_ctr {
	XSKSHIM_CTR_REDIRECT = 0,   /* handed to bpf_redirect_map and accepted */
	XSKSHIM_CTR_NO_XSK,         /* matched, but the XSKMAP slot was empty  */
	XSKSHIM_CTR_PASS_NOT_IP,    /* not IPv4/IPv6 (ARP, LLDP, ...)          */
	XSKSHIM_CTR_PASS_NOT_UDP,   /* IP, but not UDP                         */
	XSKSHIM_CTR_PASS_FRAG,      /* IPv4 fragment (first or later)          */
	XSKSHIM_CTR_PASS_IPV6_EXT,  /* IPv6 with extension headers             */
	XSKSHIM_CTR_PASS_TRUNC,     /* frame ends inside a header              */
	XSKSHIM_CTR_PASS_BAD_HDR,   /* IHL < 5, bad version, ...               */
	XSKSHIM_CTR_PASS_NO_PORT,   /* UDP to a port/address not in the map    */
	XSKSHIM_CTR_PASS_QUEUE,     /* rx queue index >= XSKSHIM_QUEUE_MAX     */
	XSKSHIM_CTR_CNT
};

#define XSKSHIM_CTR_NAMES                                                   \
	"redirect", "no_xsk", "pass_not_ip", "pass_not_udp", "pass_frag",   \
	"pass_ipv6_ext", "pass_trunc", "pass_bad_hdr", "pass_no_port",      \
	"pass_queue"

/* Flow hash used to pick a member of a socket group.  saddr_fold is the
 * XOR of the source address's 32-bit words (network order as loaded),
 * ports are in network byte order.  Shared so tests can predict it. */
static inline __u32 xskshim_flow_hash(__u32 saddr_fold, __u16 sport, __u16 dport)
{
	__u32 h = saddr_fold ^ (((__u32)sport << 16) | dport);
	h ^= h >> 16;
	h *= 0x7feb352dU;
	h ^= h >> 15;
	h *= 0x846ca68bU;
	h ^= h >> 16;
	return h;
}

#endif /* XSKSHIM_BPF_H */
