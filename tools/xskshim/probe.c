/* probe.c - facts about this host that decide whether the shim can
 * accelerate: read only, no output, nothing attached or created beyond a
 * query socket (design note in xskshim.h).
 *
 * Syscalls: ioctl(SIOCGIFFLAGS, SIOCETHTOOL) on a UDP socket, a generic
 * netlink request to the "netdev" family (NETDEV_CMD_DEV_GET: the
 * interface's XDP features, kernel 6.3+), an rtnetlink dump through
 * bpf_xdp_query, bpf(BPF_PROG_GET_FD_BY_ID) for a program's name (needs
 * CAP_SYS_ADMIN; skipped without), capget, getrlimit. */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/ethtool.h>
#include <linux/genetlink.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tools/xskshim/xskshim.h"

/* include/uapi/linux/netdev.h (6.3); Debian 12's headers predate it */
#define NETDEV_FAMILY_NAME         "netdev"
#define NETDEV_FAMILY_VERSION      1
#define NETDEV_CMD_DEV_GET         1
#define NETDEV_A_DEV_IFINDEX       1
#define NETDEV_A_DEV_XDP_FEATURES  3

static int ethtool_ioctl(int sock, const char *name, void *cmd)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = cmd;
	return ioctl(sock, SIOCETHTOOL, &ifr) ? -errno : 0;
}

/* RX queues the shim would bind: the channel counts, or /sys's rx-N. */
static int rx_queue_count(int sock, const char *name)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	char path[300];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	if (!ethtool_ioctl(sock, name, &ch) && ch.rx_count + ch.combined_count > 0)
		return (int)(ch.rx_count + ch.combined_count);
	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", name);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		n += !strncmp(d->d_name, "rx-", 3);
	closedir(dir);
	return n ? n : -1;
}

struct nl_req {
	struct nlmsghdr nh;
	struct genlmsghdr gh;
	char attrs[64];
};

static void nl_attr_put(struct nl_req *r, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy((char *)a + NLA_HDRLEN, data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/* One generic netlink request and its answer's attribute `want` into out
 * (up to sz bytes).  0, -ENOENT (no such family/attribute), -errno. */
static int genl_ask(int fd, uint16_t family, uint8_t cmd, uint8_t ver, uint16_t attr, const void *val,
		    uint16_t len, uint16_t want, void *out, size_t sz)
{
	struct nl_req req = { .nh = { .nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN), .nlmsg_type = family,
				      .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1 },
			      .gh = { .cmd = cmd, .version = ver } };
	char buf[8192];
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	ssize_t n;

	nl_attr_put(&req, attr, val, len);
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0)
		return -errno;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	if (!NLMSG_OK(nh, (size_t)n))
		return -EPROTO;
	if (nh->nlmsg_type == NLMSG_ERROR) {
		int e = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;

		return e ? e : -ENOENT;
	}
	for (struct nlattr *a = (struct nlattr *)((char *)NLMSG_DATA(nh) + GENL_HDRLEN);
	     (char *)a + NLA_HDRLEN <= buf + n && a->nla_len >= NLA_HDRLEN; a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
		if ((a->nla_type & NLA_TYPE_MASK) != want)
			continue;
		memcpy(out, (char *)a + NLA_HDRLEN, (size_t)(a->nla_len - NLA_HDRLEN) < sz ?
		       (size_t)(a->nla_len - NLA_HDRLEN) : sz);
		return 0;
	}
	return -ENOENT;
}

/* The interface's XDP features (NETDEV_XDP_ACT_*): 1 known, 0 the kernel
 * has no netdev family (before 6.3), or -errno. */
static int xdp_features(int ifindex, uint64_t *out)
{
	uint16_t family = 0;
	uint32_t idx = (uint32_t)ifindex;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC), r;

	*out = 0;
	if (fd < 0)
		return -errno;
	r = genl_ask(fd, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, CTRL_ATTR_FAMILY_NAME, NETDEV_FAMILY_NAME,
		     sizeof(NETDEV_FAMILY_NAME), CTRL_ATTR_FAMILY_ID, &family, sizeof(family));
	if (r == -ENOENT) {
		close(fd);
		return 0;
	}
	if (!r)
		r = genl_ask(fd, family, NETDEV_CMD_DEV_GET, NETDEV_FAMILY_VERSION, NETDEV_A_DEV_IFINDEX, &idx,
			     sizeof(idx), NETDEV_A_DEV_XDP_FEATURES, out, sizeof(*out));
	close(fd);
	return r ? r : 1;
}

/* The XDP program attached to ifindex, if any, and its name when this
 * process may open it. */
static void xdp_attached(int ifindex, struct probe_iface *p)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	int fd;

	if (bpf_xdp_query(ifindex, 0, &q))
		return;
	p->xdp_prog_id = q.prog_id;
	p->xdp_attach_mode = q.attach_mode;
	if (!q.prog_id)
		return;
	fd = bpf_prog_get_fd_by_id(q.prog_id);
	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		snprintf(p->xdp_prog_name, sizeof(p->xdp_prog_name), "%s", info.name);
	close(fd);
}

void probe_iface(const char *name, struct probe_iface *p)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;
	int sock;

	memset(p, 0, sizeof(*p));
	p->rx_queues = -1;
	p->ifindex = (int)if_nametoindex(name);
	if (!p->ifindex)
		return;
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock >= 0) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
		if (!ioctl(sock, SIOCGIFFLAGS, &ifr))
			p->up = ifr.ifr_flags & IFF_UP;
		if (!ethtool_ioctl(sock, name, &di))
			snprintf(p->driver, sizeof(p->driver), "%s", di.driver);
		p->rx_queues = rx_queue_count(sock, name);
		close(sock);
	}
	p->xdp_features_known = xdp_features(p->ifindex, &p->xdp_features);
	xdp_attached(p->ifindex, p);
}

bool probe_cap(int cap)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d))
		return false;
	return d[cap / 32].effective & (1u << (cap % 32));
}

int probe_memlock(uint64_t *soft)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		return -errno;
	*soft = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
	return 0;
}
