/* route.c - the route/link/neighbour mirror (see route.h).  The first half
 * is pure (message parsing, lookup) and unit-tested without privileges; the
 * second half runs the netlink sockets and the thread. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/eventfd.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "ctl/route.h"

/* ---- tables ------------------------------------------------------------ */

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000   /* <linux/if.h>, which clashes with <net/if.h> */
#endif

/* A link AF_XDP can transmit on: administratively up with carrier, what
 * the kernel's own transmit asks (__dev_direct_xmit: running, carrier ok).
 * Not IFF_RUNNING: that is the RFC 2863 operstate, which linkwatch sets
 * after the carrier changes - for a veth whose iflink equals its ifindex
 * (both ends ifindex 2 in their namespaces) up to 1 s later, so a link
 * just set up reads "up, carrier, not running" meanwhile while the kernel
 * already sends on it. */
static bool ctl_link_usable(uint32_t flags)
{
	return (flags & (IFF_UP | IFF_LOWER_UP)) == (IFF_UP | IFF_LOWER_UP);
}

void ctl_tables_init(struct ctl_tables *t)
{
	memset(t, 0, sizeof(*t));
}

void ctl_tables_free(struct ctl_tables *t)
{
	free(t->routes);
	free(t->links);
	free(t->neighs);
	ctl_tables_init(t);
}

/* Grow *arr (elements of sz bytes) so one more fits.  0 or -ENOMEM. */
static int ctl_grow(void **arr, uint32_t cnt, uint32_t *cap, size_t sz)
{
	uint32_t ncap;
	void *p;

	if (cnt < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	p = realloc(*arr, (size_t)ncap * sz);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static uint32_t ctl_alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* attribute table callback: keep each known attribute of the message */
struct ctl_attrs {
	const struct nlattr *tb[64];
	uint16_t max;
};

static int ctl_attr_cb(const struct nlattr *a, void *data)
{
	struct ctl_attrs *at = data;
	uint16_t type = mnl_attr_get_type(a);

	if (type <= at->max && type < 64)
		at->tb[type] = a;
	return MNL_CB_OK;
}

/* An address attribute of the family's length, copied to out (16 bytes). */
static bool ctl_attr_addr(const struct nlattr *a, int family, uint8_t *out)
{
	uint32_t n = ctl_alen(family);

	if (!a || mnl_attr_get_payload_len(a) < n)
		return false;
	memcpy(out, mnl_attr_get_payload(a), n);
	return true;
}

static bool ctl_attr_u32(const struct nlattr *a, uint32_t *out)
{
	if (!a || mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return false;
	*out = mnl_attr_get_u32(a);
	return true;
}

static int ctl_metric_cb(const struct nlattr *a, void *data)
{
	struct ctl_route *r = data;

	if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return MNL_CB_OK;
	if (mnl_attr_get_type(a) == RTAX_MTU)
		r->mtu = mnl_attr_get_u32(a);
	else if (mnl_attr_get_type(a) == RTAX_HOPLIMIT)
		r->hoplimit = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static bool ctl_route_same(const struct ctl_route *a, const struct ctl_route *b)
{
	return a->family == b->family && a->table == b->table && a->type == b->type &&
	       a->dst_len == b->dst_len && a->tos == b->tos && a->priority == b->priority &&
	       !memcmp(a->dst, b->dst, 16);
}

static int ctl_route_msg(struct ctl_tables *t, const struct nlmsghdr *nlh)
{
	const struct rtmsg *rm = mnl_nlmsg_get_payload(nlh);
	struct ctl_attrs at = { .max = RTA_MAX };
	struct ctl_route r = {0};
	uint32_t table, i;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*rm))
		return -EINVAL;
	if (rm->rtm_family != AF_INET && rm->rtm_family != AF_INET6)
		return 0;
	if (rm->rtm_flags & RTM_F_CLONED)
		return 0;   /* IPv6 route cache entries, not routes */
	if (mnl_attr_parse(nlh, sizeof(*rm), ctl_attr_cb, &at) < 0)
		return -EINVAL;
	table = rm->rtm_table;
	ctl_attr_u32(at.tb[RTA_TABLE], &table);
	if (table != RT_TABLE_MAIN && table != RT_TABLE_LOCAL)
		return 0;
	r.family = rm->rtm_family;
	r.dst_len = rm->rtm_dst_len;
	if (r.dst_len > ctl_alen(r.family) * 8)
		return -EINVAL;
	r.table = (uint8_t)table;
	r.type = rm->rtm_type;
	r.tos = rm->rtm_tos;
	ctl_attr_addr(at.tb[RTA_DST], r.family, r.dst);
	r.has_gw = ctl_attr_addr(at.tb[RTA_GATEWAY], r.family, r.gw);
	r.has_prefsrc = ctl_attr_addr(at.tb[RTA_PREFSRC], r.family, r.prefsrc);
	ctl_attr_u32(at.tb[RTA_PRIORITY], &r.priority);
	ctl_attr_u32(at.tb[RTA_OIF], (uint32_t *)&r.oif);
	r.multipath = at.tb[RTA_MULTIPATH] != NULL;
	if (at.tb[RTA_VIA])
		r.multipath = 1;   /* a gateway of another family: not modelled */
	if (at.tb[RTA_METRICS])
		mnl_attr_parse_nested(at.tb[RTA_METRICS], ctl_metric_cb, &r);

	for (i = 0; i < t->route_cnt && !ctl_route_same(&t->routes[i], &r); i++)
		;
	if (nlh->nlmsg_type == RTM_DELROUTE) {
		if (i == t->route_cnt)
			return 0;
		t->routes[i] = t->routes[--t->route_cnt];
	} else if (i < t->route_cnt) {
		t->routes[i] = r;
	} else {
		if (ctl_grow((void **)&t->routes, t->route_cnt, &t->route_cap, sizeof(r)))
			return -ENOMEM;
		t->routes[t->route_cnt++] = r;
	}
	t->gen++;
	return 0;
}

static void ctl_link_forget(struct ctl_tables *t, int ifindex)
{
	uint32_t i;

	/* IPv4 drops the routes of a device going down without telling
	 * anyone; its neighbours go too */
	for (i = 0; i < t->route_cnt;)
		if (t->routes[i].oif == ifindex && t->routes[i].table == RT_TABLE_MAIN)
			t->routes[i] = t->routes[--t->route_cnt];
		else
			i++;
	for (i = 0; i < t->neigh_cnt;)
		if (t->neighs[i].ifindex == ifindex)
			t->neighs[i] = t->neighs[--t->neigh_cnt];
		else
			i++;
}

static int ctl_linkinfo_cb(const struct nlattr *a, void *data)
{
	struct ctl_link *l = data;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_STRING) >= 0) {
		size_t n = mnl_attr_get_payload_len(a);

		if (n >= sizeof(l->kind))
			n = sizeof(l->kind) - 1;
		memcpy(l->kind, mnl_attr_get_payload(a), n);
		l->kind[n] = 0;
	}
	return MNL_CB_OK;
}

static int ctl_link_msg(struct ctl_tables *t, const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *im = mnl_nlmsg_get_payload(nlh);
	struct ctl_attrs at = { .max = IFLA_MAX };
	struct ctl_link l = {0};
	uint32_t i, v;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*im))
		return -EINVAL;
	if (mnl_attr_parse(nlh, sizeof(*im), ctl_attr_cb, &at) < 0)
		return -EINVAL;
	l.ifindex = im->ifi_index;
	l.flags = im->ifi_flags;
	l.type = im->ifi_type;
	if (ctl_attr_u32(at.tb[IFLA_MTU], &v))
		l.mtu = v;
	if (ctl_attr_u32(at.tb[IFLA_LINK], &v))
		l.link = (int)v;
	if (ctl_attr_u32(at.tb[IFLA_MASTER], &v))
		l.master = (int)v;
	if (at.tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(at.tb[IFLA_ADDRESS]) <= sizeof(l.addr)) {
		l.addr_len = (uint8_t)mnl_attr_get_payload_len(at.tb[IFLA_ADDRESS]);
		memcpy(l.addr, mnl_attr_get_payload(at.tb[IFLA_ADDRESS]), l.addr_len);
	}
	if (at.tb[IFLA_LINKINFO])
		mnl_attr_parse_nested(at.tb[IFLA_LINKINFO], ctl_linkinfo_cb, &l);

	for (i = 0; i < t->link_cnt && t->links[i].ifindex != l.ifindex; i++)
		;
	if (nlh->nlmsg_type == RTM_DELLINK) {
		if (i < t->link_cnt)
			t->links[i] = t->links[--t->link_cnt];
		ctl_link_forget(t, l.ifindex);
	} else {
		/* a partial update (e.g. only flags) keeps what it omits */
		if (i < t->link_cnt) {
			if (!at.tb[IFLA_MTU])
				l.mtu = t->links[i].mtu;
			if (!at.tb[IFLA_ADDRESS]) {
				l.addr_len = t->links[i].addr_len;
				memcpy(l.addr, t->links[i].addr, sizeof(l.addr));
			}
			if (!at.tb[IFLA_LINKINFO])
				memcpy(l.kind, t->links[i].kind, sizeof(l.kind));
			t->links[i] = l;
		} else {
			if (ctl_grow((void **)&t->links, t->link_cnt, &t->link_cap, sizeof(l)))
				return -ENOMEM;
			t->links[t->link_cnt++] = l;
		}
		if (!(l.flags & IFF_UP))
			ctl_link_forget(t, l.ifindex);
	}
	t->gen++;
	return 0;
}

static int ctl_neigh_msg(struct ctl_tables *t, const struct nlmsghdr *nlh, int xdp_ifindex)
{
	const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
	struct ctl_attrs at = { .max = NDA_MAX };
	struct ctl_neigh n = {0};
	uint32_t i;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*nd))
		return -EINVAL;
	if ((nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6) || nd->ndm_ifindex != xdp_ifindex)
		return 0;
	if (mnl_attr_parse(nlh, sizeof(*nd), ctl_attr_cb, &at) < 0)
		return -EINVAL;
	n.family = nd->ndm_family;
	n.ifindex = nd->ndm_ifindex;
	n.state = nd->ndm_state;
	n.flags = nd->ndm_flags;
	if (!ctl_attr_addr(at.tb[NDA_DST], n.family, n.dst))
		return -EINVAL;
	if (at.tb[NDA_LLADDR] && mnl_attr_get_payload_len(at.tb[NDA_LLADDR]) == 6) {
		memcpy(n.lladdr, mnl_attr_get_payload(at.tb[NDA_LLADDR]), 6);
		n.has_lladdr = 1;
	}
	for (i = 0; i < t->neigh_cnt; i++)
		if (t->neighs[i].family == n.family && t->neighs[i].ifindex == n.ifindex &&
		    !memcmp(t->neighs[i].dst, n.dst, 16))
			break;
	if (nlh->nlmsg_type == RTM_DELNEIGH) {
		if (i == t->neigh_cnt)
			return 0;
		t->neighs[i] = t->neighs[--t->neigh_cnt];
	} else if (i < t->neigh_cnt) {
		/* a state change may omit the unchanged address */
		if (!n.has_lladdr && t->neighs[i].has_lladdr && (n.state & (NUD_PERMANENT | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY))) {
			memcpy(n.lladdr, t->neighs[i].lladdr, 6);
			n.has_lladdr = 1;
		}
		t->neighs[i] = n;
	} else {
		if (ctl_grow((void **)&t->neighs, t->neigh_cnt, &t->neigh_cap, sizeof(n)))
			return -ENOMEM;
		t->neighs[t->neigh_cnt++] = n;
	}
	t->gen++;
	return 0;
}

/* The kernel's default rules: "0: from all lookup local", "32766: from all
 * lookup main", "32767: from all lookup default" (IPv4 only). */
static bool ctl_rule_default(const struct fib_rule_hdr *fh, const struct ctl_attrs *at)
{
	uint32_t prio = 0, table = fh->table;

	if (fh->action != FR_ACT_TO_TBL || fh->src_len || fh->dst_len || fh->tos || (fh->flags & FIB_RULE_INVERT))
		return false;
	for (int k = 1; k <= FRA_MAX && k < 64; k++) {
		uint32_t v;

		if (!at->tb[k] || k == FRA_PRIORITY || k == FRA_TABLE || k == FRA_PROTOCOL || k == FRA_PAD)
			continue;
		/* dumps carry "no suppression" as -1 */
		if ((k == FRA_SUPPRESS_PREFIXLEN || k == FRA_SUPPRESS_IFGROUP) && ctl_attr_u32(at->tb[k], &v) &&
		    v == UINT32_MAX)
			continue;
		return false;
	}
	ctl_attr_u32(at->tb[FRA_PRIORITY], &prio);
	ctl_attr_u32(at->tb[FRA_TABLE], &table);
	return (prio == 0 && table == RT_TABLE_LOCAL) || (prio == 32766 && table == RT_TABLE_MAIN) ||
	       (prio == 32767 && table == RT_TABLE_DEFAULT);
}

static int ctl_rule_msg(struct ctl_tables *t, const struct nlmsghdr *nlh)
{
	const struct fib_rule_hdr *fh = mnl_nlmsg_get_payload(nlh);
	struct ctl_attrs at = { .max = FRA_MAX };
	uint32_t *cnt;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*fh))
		return -EINVAL;
	if (fh->family != AF_INET && fh->family != AF_INET6)
		return 0;
	if (mnl_attr_parse(nlh, sizeof(*fh), ctl_attr_cb, &at) < 0)
		return -EINVAL;
	if (ctl_rule_default(fh, &at))
		return 0;
	cnt = &t->rules_extra[fh->family == AF_INET6];
	if (nlh->nlmsg_type == RTM_NEWRULE)
		(*cnt)++;
	else if (*cnt)
		(*cnt)--;
	t->gen++;
	return 0;
}

int ctl_tables_apply(struct ctl_tables *t, const struct nlmsghdr *nlh, int xdp_ifindex)
{
	switch (nlh->nlmsg_type) {
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		return ctl_route_msg(t, nlh);
	case RTM_NEWLINK:
	case RTM_DELLINK:
		return ctl_link_msg(t, nlh);
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		return ctl_neigh_msg(t, nlh, xdp_ifindex);
	case RTM_NEWRULE:
	case RTM_DELRULE:
		return ctl_rule_msg(t, nlh);
	}
	return 0;
}

/* ---- lookup ------------------------------------------------------------ */

static bool ctl_prefix_match(const uint8_t *a, const uint8_t *pfx, uint32_t len)
{
	uint32_t bytes = len / 8, bits = len % 8;

	if (memcmp(a, pfx, bytes))
		return false;
	if (bits && ((a[bytes] ^ pfx[bytes]) & (uint8_t)(0xff << (8 - bits))))
		return false;
	return true;
}

/* Longest prefix, then lowest metric, among routes of one table whose TOS
 * selector is empty (a TOS route is reported as "route": not modelled). */
static const struct ctl_route *ctl_lpm(const struct ctl_tables *t, int family, uint8_t table, const uint8_t *dst,
				      bool *tos_route)
{
	const struct ctl_route *best = NULL;

	for (uint32_t i = 0; i < t->route_cnt; i++) {
		const struct ctl_route *r = &t->routes[i];

		if (r->family != family || r->table != table || !ctl_prefix_match(dst, r->dst, r->dst_len))
			continue;
		if (r->tos) {
			*tos_route = true;
			continue;
		}
		if (!best || r->dst_len > best->dst_len ||
		    (r->dst_len == best->dst_len && r->priority < best->priority))
			best = r;
	}
	return best;
}

const struct ctl_link *ctl_tables_link(const struct ctl_tables *t, int ifindex)
{
	for (uint32_t i = 0; i < t->link_cnt; i++)
		if (t->links[i].ifindex == ifindex)
			return &t->links[i];
	return NULL;
}

static bool ctl_is_mcast(int family, const uint8_t *a)
{
	if (family == AF_INET)
		return (a[0] & 0xf0) == 0xe0 || (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255);
	return a[0] == 0xff;
}

bool ctl_tables_is_local(const struct ctl_tables *t, int family, const uint8_t *addr)
{
	bool tos = false;
	const struct ctl_route *r = ctl_lpm(t, family, RT_TABLE_LOCAL, addr, &tos);

	return r && r->type == RTN_LOCAL;
}

void ctl_tables_lookup(const struct ctl_tables *t, int family, const uint8_t *dst, int xdp_ifindex,
		       struct ctl_path *out)
{
	const struct ctl_route *r;
	const struct ctl_link *l;
	bool tos = false;
	uint32_t n = ctl_alen(family);

	memset(out, 0, sizeof(*out));
	if (t->rules_extra[family == AF_INET6]) {
		out->why = CTL_WHY_POLICY;
		return;
	}
	r = ctl_lpm(t, family, RT_TABLE_LOCAL, dst, &tos);
	if (r) {
		out->why = r->type == RTN_BROADCAST || r->type == RTN_MULTICAST ? CTL_WHY_MCAST : CTL_WHY_LOCAL;
		return;
	}
	if (ctl_is_mcast(family, dst)) {
		out->why = CTL_WHY_MCAST;
		return;
	}
	if (family == AF_INET ? dst[0] == 127 : (!memcmp(dst, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16))) {
		out->why = CTL_WHY_LOCAL;
		return;
	}
	r = ctl_lpm(t, family, RT_TABLE_MAIN, dst, &tos);
	if (tos) {
		out->why = CTL_WHY_ROUTE;
		return;
	}
	if (!r) {
		out->why = CTL_WHY_NO_ROUTE;
		return;
	}
	switch (r->type) {
	case RTN_UNICAST:
		break;
	case RTN_LOCAL:
		out->why = CTL_WHY_LOCAL;
		return;
	case RTN_BROADCAST:
	case RTN_MULTICAST:
		out->why = CTL_WHY_MCAST;
		return;
	case RTN_UNREACHABLE:
	case RTN_BLACKHOLE:
	case RTN_PROHIBIT:
	case RTN_THROW:
		out->why = CTL_WHY_NO_ROUTE;
		return;
	default:
		out->why = CTL_WHY_ROUTE;
		return;
	}
	if (r->multipath) {
		out->why = CTL_WHY_ROUTE;
		return;
	}
	out->oif = r->oif;
	out->hoplimit = r->hoplimit;
	out->has_prefsrc = r->has_prefsrc;
	memcpy(out->prefsrc, r->prefsrc, 16);
	memcpy(out->nexthop, r->has_gw ? r->gw : dst, n);
	l = ctl_tables_link(t, r->oif);
	if (r->oif != xdp_ifindex) {
		/* a VLAN (or other upper) device over our interface is still
		 * "another interface", but say what it is */
		out->why = l && l->link == xdp_ifindex ? CTL_WHY_IFTYPE : CTL_WHY_OTHER_IF;
		return;
	}
	if (!l) {
		out->why = CTL_WHY_MIRROR;
		return;
	}
	if (l->type != ARPHRD_ETHER || l->addr_len != 6 || !strcmp(l->kind, "vlan") || !strcmp(l->kind, "bond") ||
	    !strcmp(l->kind, "team") || (l->flags & (IFF_SLAVE | IFF_MASTER))) {
		out->why = CTL_WHY_IFTYPE;
		return;
	}
	if (!ctl_link_usable(l->flags)) {
		out->why = CTL_WHY_LINK_DOWN;
		return;
	}
	out->mtu = r->mtu && r->mtu < l->mtu ? r->mtu : l->mtu;
	memcpy(out->src_mac, l->addr, 6);
	for (uint32_t i = 0; i < t->neigh_cnt; i++) {
		const struct ctl_neigh *ne = &t->neighs[i];

		if (ne->family != family || ne->ifindex != r->oif || memcmp(ne->dst, out->nexthop, n))
			continue;
		out->neigh_state = ne->state;
		if ((ne->state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)) &&
		    ne->has_lladdr) {
			memcpy(out->dst_mac, ne->lladdr, 6);
			out->why = CTL_XDP;
			return;
		}
		break;
	}
	out->why = CTL_WHY_NEIGH;
}

/* ---- the mirror: sockets and thread ------------------------------------ */

#define CTL_BUF_SZ (1u << 16)

struct ctl_dump_ctx {
	struct ctl_tables *t;
	int xdp_ifindex;
	int err;
};

static int ctl_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ctl_dump_ctx *c = data;
	int err = ctl_tables_apply(c->t, nlh, c->xdp_ifindex);

	if (err == -ENOMEM)
		c->err = err;
	return MNL_CB_OK;
}

/* One dump request (type, family) on the request socket, applied to t. */
static int ctl_dump_one(struct ctl_mirror *m, struct mnl_socket *nl, struct ctl_tables *t, uint16_t type,
			uint8_t family)
{
	char *buf = malloc(CTL_BUF_SZ);
	struct ctl_dump_ctx c = { t, m->xdp_ifindex, 0 };
	struct nlmsghdr *nlh;
	uint32_t seq = ++m->seq;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	/* rtgenmsg is the common first byte of every request header */
	if (type == RTM_GETLINK) {
		struct ifinfomsg *im = mnl_nlmsg_put_extra_header(nlh, sizeof(*im));
		im->ifi_family = family;
	} else if (type == RTM_GETNEIGH) {
		struct ndmsg *nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
		nd->ndm_family = family;
	} else if (type == RTM_GETRULE) {
		struct fib_rule_hdr *fh = mnl_nlmsg_put_extra_header(nlh, sizeof(*fh));
		fh->family = family;
	} else {
		struct rtmsg *rm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rm));
		rm->rtm_family = family;
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, CTL_BUF_SZ);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		r = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), ctl_dump_cb, &c);
		if (r <= MNL_CB_STOP) {
			r = r < 0 ? -errno : 0;
			break;
		}
	}
	if (!r && c.err)
		r = c.err;
out:
	free(buf);
	return r;
}

/* Fresh tables from full dumps. */
static int ctl_dump_all(struct ctl_mirror *m, struct mnl_socket *nl, struct ctl_tables *t)
{
	static const struct { uint16_t type; uint8_t family; } req[] = {
		{ RTM_GETLINK, AF_UNSPEC },  { RTM_GETROUTE, AF_INET }, { RTM_GETROUTE, AF_INET6 },
		{ RTM_GETNEIGH, AF_INET },   { RTM_GETNEIGH, AF_INET6 }, { RTM_GETRULE, AF_INET },
		{ RTM_GETRULE, AF_INET6 },
	};
	int err;

	ctl_tables_init(t);
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		err = ctl_dump_one(m, nl, t, req[i].type, req[i].family);
		/* no IPv6 in this kernel/namespace: nothing to mirror */
		if (err == -EAFNOSUPPORT || err == -EOPNOTSUPP)
			err = 0;
		if (err) {
			ctl_tables_free(t);
			return err;
		}
	}
	return 0;
}

static void ctl_publish(struct ctl_mirror *m)
{
	__atomic_store_n(&m->gen_pub, m->t.gen, __ATOMIC_RELEASE);
}

/* Replace the tables with a fresh dump; the generation moves on. */
static int ctl_resync(struct ctl_mirror *m, struct mnl_socket *nl)
{
	struct ctl_tables nt;
	int err = ctl_dump_all(m, nl, &nt);

	pthread_mutex_lock(&m->lock);
	if (!err) {
		nt.gen = m->t.gen + 1;
		ctl_tables_free(&m->t);
		m->t = nt;
		m->synced = true;
	} else {
		m->synced = false;
		m->t.gen++;
	}
	ctl_publish(m);
	pthread_mutex_unlock(&m->lock);
	return err;
}

/* Drop whatever the subscription socket queued so far (it is older than
 * the dump that follows). */
static void ctl_drain(int fd, char *buf)
{
	while (recv(fd, buf, CTL_BUF_SZ, MSG_DONTWAIT) > 0 || errno == ENOBUFS || errno == EINTR)
		;
}

struct ctl_ev_ctx {
	struct ctl_mirror *m;
	bool resync;
};

static int ctl_ev_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ctl_ev_ctx *c = data;

	if (ctl_tables_apply(&c->m->t, nlh, c->m->xdp_ifindex) == -ENOMEM)
		c->resync = true;
	/* a link of ours changing state: IPv4 forgets routes silently, so
	 * take the kernel's full view rather than guess */
	if ((nlh->nlmsg_type == RTM_NEWLINK || nlh->nlmsg_type == RTM_DELLINK) &&
	    mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct ifinfomsg)) {
		const struct ifinfomsg *im = mnl_nlmsg_get_payload(nlh);
		const struct ctl_link *l = ctl_tables_link(&c->m->t, im->ifi_index);

		if (nlh->nlmsg_type == RTM_DELLINK || !l || !ctl_link_usable(l->flags))
			c->resync = true;
	}
	return MNL_CB_OK;
}

/* Confirm every neighbour senders marked since the last round. */
static void ctl_neigh_refresh(struct ctl_mirror *m, struct mnl_socket *nl)
{
	char buf[256];

	for (int i = 0; i < CTL_NEIGH_USE_MAX; i++) {
		struct ctl_neigh_use *u = &m->use[i];
		struct nlmsghdr *nlh;
		struct ndmsg *nd;
		ssize_t n;

		if (!u->family || !__atomic_load_n(&u->used, __ATOMIC_RELAXED))
			continue;
		__atomic_store_n(&u->used, 0, __ATOMIC_RELAXED);
		if (m->use_denied)
			continue;
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_NEWNEIGH;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
		nlh->nlmsg_seq = ++m->seq;
		nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
		nd->ndm_family = u->family;
		nd->ndm_ifindex = m->xdp_ifindex;
		nd->ndm_flags = NTF_USE;
		mnl_attr_put(nlh, NDA_DST, ctl_alen(u->family), u->addr);
		if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
			continue;
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n > 0 && mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, mnl_socket_get_portid(nl), NULL, NULL) < 0 &&
		    errno == EPERM)
			m->use_denied = true;
		else
			__atomic_add_fetch(&m->neigh_confirms, 1, __ATOMIC_RELAXED);
	}
}

struct ctl_thread_arg {
	struct ctl_mirror *m;
	struct mnl_socket *ev, *req;
};

static void *ctl_thread(void *p)
{
	struct ctl_thread_arg *a = p;
	struct ctl_mirror *m = a->m;
	struct pollfd pf[2] = { { .fd = m->ev_fd, .events = POLLIN }, { .fd = m->stop_fd, .events = POLLIN } };
	char *buf = malloc(CTL_BUF_SZ);
	struct timespec last, now;

	clock_gettime(CLOCK_MONOTONIC, &last);
	while (buf) {
		struct ctl_ev_ctx c = { m, false };
		int r = poll(pf, 2, 1000);

		if (r < 0 && errno != EINTR)
			break;
		if (pf[1].revents)
			break;
		for (;;) {
			ssize_t n = recv(m->ev_fd, buf, CTL_BUF_SZ, MSG_DONTWAIT);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == ENOBUFS) {
				c.resync = true;   /* events were lost */
				__atomic_add_fetch(&m->overflows, 1, __ATOMIC_RELAXED);
				continue;
			}
			if (n <= 0)
				break;
			pthread_mutex_lock(&m->lock);
			mnl_cb_run(buf, (size_t)n, 0, 0, ctl_ev_cb, &c);
			ctl_publish(m);
			pthread_mutex_unlock(&m->lock);
		}
		if (c.resync) {
			ctl_drain(m->ev_fd, buf);
			ctl_resync(m, a->req);
			__atomic_add_fetch(&m->resyncs, 1, __ATOMIC_RELAXED);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - last.tv_sec >= 1) {
			ctl_neigh_refresh(m, a->req);
			last = now;
		}
	}
	free(buf);
	mnl_socket_close(a->ev);
	mnl_socket_close(a->req);
	close(m->stop_fd);
	free(a);
	return NULL;
}

int ctl_mirror_start(struct ctl_mirror *m, int xdp_ifindex)
{
	struct ctl_thread_arg *a = calloc(1, sizeof(*a));
	unsigned int groups = RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE |
			      (1u << (RTNLGRP_IPV4_RULE - 1)) | (1u << (RTNLGRP_IPV6_RULE - 1));
	int rcvbuf = 1 << 20, err;
	sigset_t all, old;
	char *buf = NULL;

	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->xdp_ifindex = xdp_ifindex;
	m->stop_fd = m->ev_fd = m->req_fd = -1;
	if (!a)
		return -ENOMEM;
	a->m = m;
	a->ev = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	a->req = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	m->stop_fd = eventfd(0, EFD_CLOEXEC);
	buf = malloc(CTL_BUF_SZ);
	if (!a->ev || !a->req || m->stop_fd < 0 || !buf) {
		err = errno ? -errno : -ENOMEM;
		goto fail;
	}
	mnl_socket_setsockopt(a->ev, NETLINK_NO_ENOBUFS, &(int){ 0 }, sizeof(int));
	setsockopt(mnl_socket_get_fd(a->ev), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (mnl_socket_bind(a->ev, groups, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_bind(a->req, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto fail;
	}
	m->ev_fd = mnl_socket_get_fd(a->ev);
	m->req_fd = mnl_socket_get_fd(a->req);
	ctl_drain(m->ev_fd, buf);
	err = ctl_resync(m, a->req);
	if (err)
		goto fail;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&m->thread, NULL, ctl_thread, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		goto fail;
	m->running = true;
	free(buf);
	return 0;
fail:
	free(buf);
	if (a->ev)
		mnl_socket_close(a->ev);
	if (a->req)
		mnl_socket_close(a->req);
	if (m->stop_fd >= 0)
		close(m->stop_fd);
	m->stop_fd = m->ev_fd = m->req_fd = -1;
	free(a);
	ctl_tables_free(&m->t);
	return err;
}

void ctl_mirror_stop(struct ctl_mirror *m)
{
	uint64_t one = 1;

	if (!m->running)
		return;
	if (write(m->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(m->thread, NULL);
	m->running = false;
	m->synced = false;
	ctl_tables_free(&m->t);
}

void ctl_mirror_forget(struct ctl_mirror *m)
{
	if (!m->running)
		return;
	close(m->ev_fd);
	close(m->req_fd);
	close(m->stop_fd);
	m->running = false;
	pthread_mutex_init(&m->lock, NULL);
}

static int ctl_use_slot(struct ctl_mirror *m, int family, const uint8_t *addr)
{
	uint32_t n = ctl_alen(family), h = 2166136261u;
	int free_slot = -1;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ addr[i]) * 16777619u;
	/* open addressing, 16 probes */
	for (uint32_t k = 0; k < 16; k++) {
		int i = (int)((h + k) % CTL_NEIGH_USE_MAX);
		struct ctl_neigh_use *u = &m->use[i];

		if (u->family == family && !memcmp(u->addr, addr, n))
			return i;
		if (!u->family && free_slot < 0)
			free_slot = i;
	}
	if (free_slot >= 0) {
		memcpy(m->use[free_slot].addr, addr, n);
		__atomic_store_n(&m->use[free_slot].family, (uint8_t)family, __ATOMIC_RELEASE);
	}
	return free_slot;
}

void ctl_mirror_lookup(struct ctl_mirror *m, int family, const uint8_t *dst, struct ctl_path *out, uint64_t *gen,
		       int *use_slot)
{
	pthread_mutex_lock(&m->lock);
	*gen = m->t.gen;
	*use_slot = -1;
	if (!m->synced) {
		memset(out, 0, sizeof(*out));
		out->why = CTL_WHY_MIRROR;
	} else {
		ctl_tables_lookup(&m->t, family, dst, m->xdp_ifindex, out);
		/* Static entries never expire, so they are not refreshed: an
		 * NTF_USE update of a PERMANENT entry strips the PERMANENT
		 * state (6.x __neigh_update with NEIGH_UPDATE_F_USE), and the
		 * entry went INCOMPLETE one second into a send run, sending
		 * every later datagram through the kernel to nowhere. */
		if (out->why == CTL_XDP && !(out->neigh_state & (NUD_PERMANENT | NUD_NOARP)))
			*use_slot = ctl_use_slot(m, family, out->nexthop);
	}
	pthread_mutex_unlock(&m->lock);
}

bool ctl_mirror_is_local(struct ctl_mirror *m, int family, const uint8_t *addr)
{
	bool r;

	pthread_mutex_lock(&m->lock);
	r = m->synced && ctl_tables_is_local(&m->t, family, addr);
	pthread_mutex_unlock(&m->lock);
	return r;
}
