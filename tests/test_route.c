/* test_route.c - unit test of the route/link/neighbour mirror's parser and
 * lookup (ctl/route.h), no privileges: rtnetlink messages are built here in
 * the kernel's wire format (libmnl) and fed to ctl_tables_apply, as the
 * mirror thread feeds what it receives. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "ctl/route.h"
#include "tests/unit.h"

#define IFF_LOWER_UP_ 0x10000   /* <linux/if.h>'s IFF_LOWER_UP (that header clashes with <net/if.h>) */

static char buf[4096];

enum { XIF = 5, OTHER = 7, VLAN = 8 };
static const uint8_t mac_x[6] = { 2, 0, 0, 0, 0, 0x0a }, mac_peer[6] = { 2, 0, 0, 0, 0, 0x0b },
		     mac_gw[6] = { 2, 0, 0, 0, 0, 0xfe };

static struct nlmsghdr *msg(uint16_t type)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	return nlh;
}

static void addr(int fam, const char *s, uint8_t *out)
{
	memset(out, 0, 16);
	if (inet_pton(fam, s, out) != 1) {
		fprintf(stderr, "bad address %s\n", s);
		exit(2);
	}
}

static int link_msg(struct ctl_tables *t, uint16_t type, int ifindex, uint32_t flags, uint32_t mtu, const char *kind,
		    int lower)
{
	struct nlmsghdr *nlh = msg(type);
	struct ifinfomsg *im = mnl_nlmsg_put_extra_header(nlh, sizeof(*im));

	im->ifi_index = ifindex;
	im->ifi_type = ARPHRD_ETHER;
	im->ifi_flags = flags;
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, ifindex == XIF ? mac_x : mac_gw);
	if (lower)
		mnl_attr_put_u32(nlh, IFLA_LINK, (uint32_t)lower);
	if (kind) {
		struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
		mnl_attr_nest_end(nlh, li);
	}
	return ctl_tables_apply(t, nlh, XIF);
}

struct rt {
	int fam;
	const char *dst;
	int len;
	int table, type, oif;
	const char *gw, *src;
	uint32_t prio, mtu;
	int multipath;
};

static int route_msg(struct ctl_tables *t, uint16_t type, const struct rt *r)
{
	struct nlmsghdr *nlh = msg(type);
	struct rtmsg *rm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rm));
	uint8_t a[16];
	uint32_t alen = r->fam == AF_INET ? 4 : 16;

	rm->rtm_family = (uint8_t)r->fam;
	rm->rtm_dst_len = (uint8_t)r->len;
	rm->rtm_table = (uint8_t)r->table;
	rm->rtm_type = (uint8_t)r->type;
	rm->rtm_protocol = RTPROT_STATIC;
	mnl_attr_put_u32(nlh, RTA_TABLE, (uint32_t)r->table);
	if (r->len) {
		addr(r->fam, r->dst, a);
		mnl_attr_put(nlh, RTA_DST, alen, a);
	}
	if (r->gw) {
		addr(r->fam, r->gw, a);
		mnl_attr_put(nlh, RTA_GATEWAY, alen, a);
	}
	if (r->src) {
		addr(r->fam, r->src, a);
		mnl_attr_put(nlh, RTA_PREFSRC, alen, a);
	}
	if (r->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)r->oif);
	mnl_attr_put_u32(nlh, RTA_PRIORITY, r->prio);
	if (r->mtu) {
		struct nlattr *mx = mnl_attr_nest_start(nlh, RTA_METRICS);
		mnl_attr_put_u32(nlh, RTAX_MTU, r->mtu);
		mnl_attr_nest_end(nlh, mx);
	}
	if (r->multipath) {
		/* RTA_MULTIPATH's payload is a sequence of struct rtnexthop */
		struct rtnexthop nh = { .rtnh_len = sizeof(nh), .rtnh_ifindex = XIF };
		mnl_attr_put(nlh, RTA_MULTIPATH, sizeof(nh), &nh);
	}
	return ctl_tables_apply(t, nlh, XIF);
}

static int neigh_msg(struct ctl_tables *t, uint16_t type, int fam, int ifindex, const char *dst, uint16_t state,
		     const uint8_t *ll)
{
	struct nlmsghdr *nlh = msg(type);
	struct ndmsg *nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	uint8_t a[16];

	nd->ndm_family = (uint8_t)fam;
	nd->ndm_ifindex = ifindex;
	nd->ndm_state = state;
	addr(fam, dst, a);
	mnl_attr_put(nlh, NDA_DST, fam == AF_INET ? 4 : 16, a);
	if (ll)
		mnl_attr_put(nlh, NDA_LLADDR, 6, ll);
	return ctl_tables_apply(t, nlh, XIF);
}

static int rule_msg(struct ctl_tables *t, uint16_t type, int fam, uint32_t prio, uint32_t table, uint32_t mark)
{
	struct nlmsghdr *nlh = msg(type);
	struct fib_rule_hdr *fh = mnl_nlmsg_put_extra_header(nlh, sizeof(*fh));

	fh->family = (uint8_t)fam;
	fh->action = FR_ACT_TO_TBL;
	fh->table = table < 256 ? (uint8_t)table : RT_TABLE_COMPAT;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, prio);
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, UINT32_MAX);   /* as the kernel dumps it */
	if (mark)
		mnl_attr_put_u32(nlh, FRA_FWMARK, mark);
	return ctl_tables_apply(t, nlh, XIF);
}

static enum ctl_why look(const struct ctl_tables *t, int fam, const char *dst, struct ctl_path *p)
{
	uint8_t a[16];

	addr(fam, dst, a);
	ctl_tables_lookup(t, fam, a, XIF, p);
	return p->why;
}

static const char *why_name(enum ctl_why w)
{
	static const char *const n[] = { CTL_WHY_NAMES };
	return w < CTL_WHY_CNT ? n[w] : "?";
}

#define EXPECT_WHY(t, fam, dst, want, what)                                                              \
	do {                                                                                             \
		struct ctl_path p_;                                                                      \
		enum ctl_why w_ = look(t, fam, dst, &p_);                                                \
		CHECK(w_ == (want), "%s: %s -> %s (got %s)", what, dst, why_name(want), why_name(w_));   \
	} while (0)

int main(void)
{
	struct ctl_tables t;
	struct ctl_path p;
	uint64_t g;
	uint8_t a[16];
	const uint32_t up = IFF_UP | IFF_RUNNING | IFF_LOWER_UP_ | IFF_BROADCAST | IFF_MULTICAST;

	ctl_tables_init(&t);
	link_msg(&t, RTM_NEWLINK, XIF, up, 1500, "veth", 0);
	link_msg(&t, RTM_NEWLINK, OTHER, up, 1500, "veth", 0);
	link_msg(&t, RTM_NEWLINK, VLAN, up, 1496, "vlan", XIF);
	route_msg(&t, RTM_NEWROUTE, &(struct rt){ AF_INET, "198.18.0.0", 24, RT_TABLE_MAIN, RTN_UNICAST, XIF, NULL,
						  "198.18.0.1", 0, 0, 0 });
	route_msg(&t, RTM_NEWROUTE, &(struct rt){ AF_INET, "198.18.0.1", 32, RT_TABLE_LOCAL, RTN_LOCAL, XIF, NULL,
						  "198.18.0.1", 0, 0, 0 });
	route_msg(&t, RTM_NEWROUTE, &(struct rt){ AF_INET, "198.18.0.255", 32, RT_TABLE_LOCAL, RTN_BROADCAST, XIF,
						  NULL, "198.18.0.1", 0, 0, 0 });
	route_msg(&t, RTM_NEWROUTE, &(struct rt){ AF_INET, "127.0.0.0", 8, RT_TABLE_LOCAL, RTN_LOCAL, 1, NULL,
						  "127.0.0.1", 0, 0, 0 });
	route_msg(&t, RTM_NEWROUTE, &(struct rt){ AF_INET, "10.0.0.0", 8, 100, RTN_UNICAST, XIF, NULL, NULL, 0, 0,
						  0 });
	CHECK(t.route_cnt == 4, "routes of tables other than main and local are not kept (%u kept)", t.route_cnt);

	EXPECT_WHY(&t, AF_INET, "198.18.0.2", CTL_WHY_NEIGH, "connected route without a neighbour entry");
	neigh_msg(&t, RTM_NEWNEIGH, AF_INET, XIF, "198.18.0.2", NUD_INCOMPLETE, NULL);
	EXPECT_WHY(&t, AF_INET, "198.18.0.2", CTL_WHY_NEIGH, "incomplete neighbour");
	neigh_msg(&t, RTM_NEWNEIGH, AF_INET, XIF, "198.18.0.2", NUD_REACHABLE, mac_peer);
	EXPECT_WHY(&t, AF_INET, "198.18.0.2", CTL_XDP, "resolved neighbour");
	look(&t, AF_INET, "198.18.0.2", &p);
	addr(AF_INET, "198.18.0.1", a);
	CHECK(!memcmp(p.dst_mac, mac_peer, 6) && !memcmp(p.src_mac, mac_x, 6) && p.mtu == 1500 && p.oif == XIF &&
		      p.has_prefsrc && !memcmp(p.prefsrc, a, 4),
	      "lookup gives the neighbour's and the interface's MAC, link MTU 1500 and the route's prefsrc");
	neigh_msg(&t, RTM_NEWNEIGH, AF_INET, XIF, "198.18.0.2", NUD_STALE, NULL);
	EXPECT_WHY(&t, AF_INET, "198.18.0.2", CTL_XDP, "a STALE update without lladdr keeps the known address");
	neigh_msg(&t, RTM_NEWNEIGH, AF_INET, OTHER, "198.18.0.3", NUD_REACHABLE, mac_peer);
	CHECK(t.neigh_cnt == 1, "neighbours of other interfaces are not kept");
	neigh_msg(&t, RTM_NEWNEIGH, AF_INET, XIF, "198.18.0.2", NUD_FAILED, NULL);
	EXPECT_WHY(&t, AF_INET, "198.18.0.2", CTL_WHY_NEIGH, "failed neighbour");
	neigh_msg(&t, RTM_NEWNEIGH, AF_INET, XIF, "198.18.0.2", NUD_PERMANENT, mac_peer);
	g = t.gen;
	neigh_msg(&t, RTM_DELNEIGH, AF_INET, XIF, "198.18.0.2", 0, NULL);
	EXPECT_WHY(&t, AF_INET, "198.18.0.2", CTL_WHY_NEIGH, "deleted neighbour");
	CHECK(t.gen > g, "a neighbour change moves the generation on");
	neigh_msg(&t, RTM_NEWNEIGH, AF_INET, XIF, "198.18.0.2", NUD_PERMANENT, mac_peer);

	EXPECT_WHY(&t, AF_INET, "198.18.0.1", CTL_WHY_LOCAL, "own address (local table)");
	EXPECT_WHY(&t, AF_INET, "127.0.0.1", CTL_WHY_LOCAL, "loopback");
	EXPECT_WHY(&t, AF_INET, "198.18.0.255", CTL_WHY_MCAST, "subnet broadcast (local table)");
	EXPECT_WHY(&t, AF_INET, "255.255.255.255", CTL_WHY_MCAST, "limited broadcast");
	EXPECT_WHY(&t, AF_INET, "224.0.0.251", CTL_WHY_MCAST, "multicast");
	EXPECT_WHY(&t, AF_INET, "198.19.0.9", CTL_WHY_NO_ROUTE, "no route");

	route_msg(&t, RTM_NEWROUTE, &(struct rt){ AF_INET, NULL, 0, RT_TABLE_MAIN, RTN_UNICAST, XIF, "198.18.0.254",
						  NULL, 0, 0, 0 });
	EXPECT_WHY(&t, AF_INET, "198.19.0.9", CTL_WHY_NEIGH, "default route, gateway unresolved");
	neigh_msg(&t, RTM_NEWNEIGH, AF_INET, XIF, "198.18.0.254", NUD_REACHABLE, mac_gw);
	look(&t, AF_INET, "198.19.0.9", &p);
	addr(AF_INET, "198.18.0.254", a);
	CHECK(p.why == CTL_XDP && !memcmp(p.dst_mac, mac_gw, 6) && !memcmp(p.nexthop, a, 4) && !p.has_prefsrc,
	      "default route: next hop is the gateway, its MAC, no prefsrc");
	{
		/* the mirror marks only neighbours that can expire for the
		 * NTF_USE refresh, which would turn a PERMANENT entry
		 * INCOMPLETE */
		static struct ctl_mirror m;
		int slot_perm = 0, slot_gw = -1;
		uint8_t d[16];

		pthread_mutex_init(&m.lock, NULL);
		m.t = t;   /* a view for the lookups just below; t stays the owner */
		m.synced = true;
		m.xdp_ifindex = XIF;
		addr(AF_INET, "198.18.0.2", d);
		ctl_mirror_lookup(&m, AF_INET, d, &p, &g, &slot_perm);
		ctl_mirror_lookup(&m, AF_INET, a, &p, &g, &slot_gw);
		CHECK(slot_perm == -1 && slot_gw >= 0,
		      "a PERMANENT neighbour gets no NTF_USE refresh slot, a REACHABLE one does (%d, %d)", slot_perm,
		      slot_gw);
	}
	route_msg(&t, RTM_NEWROUTE, &(struct rt){ AF_INET, "198.19.0.0", 16, RT_TABLE_MAIN, RTN_UNICAST, OTHER,
						  NULL, NULL, 0, 0, 0 });
	EXPECT_WHY(&t, AF_INET, "198.19.0.9", CTL_WHY_OTHER_IF, "longer prefix via another interface wins");
	route_msg(&t, RTM_NEWROUTE, &(struct rt){ AF_INET, "198.19.0.0", 16, RT_TABLE_MAIN, RTN_UNICAST, XIF,
						  "198.18.0.254", NULL, 10, 1400, 0 });
	route_msg(&t, RTM_NEWROUTE, &(struct rt){ AF_INET, "198.19.0.0", 16, RT_TABLE_MAIN, RTN_UNICAST, OTHER,
						  NULL, NULL, 0, 0, 0 });
	CHECK(t.route_cnt == 7, "a route with the same key is replaced, another metric is a second route (%u)",
	      t.route_cnt);
	route_msg(&t, RTM_DELROUTE, &(struct rt){ AF_INET, "198.19.0.0", 16, RT_TABLE_MAIN, RTN_UNICAST, OTHER, NULL,
						  NULL, 0, 0, 0 });
	look(&t, AF_INET, "198.19.0.9", &p);
	CHECK(p.why == CTL_XDP && p.mtu == 1400, "after deleting it the metric-10 route with MTU 1400 applies (%s, %u)",
	      why_name(p.why), p.mtu);
	route_msg(&t, RTM_NEWROUTE, &(struct rt){ AF_INET, "198.19.5.0", 24, RT_TABLE_MAIN, RTN_UNICAST, VLAN, NULL,
						  NULL, 0, 0, 0 });
	EXPECT_WHY(&t, AF_INET, "198.19.5.1", CTL_WHY_IFTYPE, "route via a VLAN device over the XDP interface");
	route_msg(&t, RTM_NEWROUTE, &(struct rt){ AF_INET, "198.19.6.0", 24, RT_TABLE_MAIN, RTN_BLACKHOLE, 0, NULL,
						  NULL, 0, 0, 0 });
	EXPECT_WHY(&t, AF_INET, "198.19.6.1", CTL_WHY_NO_ROUTE, "blackhole route (the kernel's error)");
	route_msg(&t, RTM_NEWROUTE, &(struct rt){ AF_INET, "198.19.7.0", 24, RT_TABLE_MAIN, RTN_UNICAST, XIF, NULL,
						  NULL, 0, 0, 1 });
	EXPECT_WHY(&t, AF_INET, "198.19.7.1", CTL_WHY_ROUTE, "multipath route is not modelled");

	rule_msg(&t, RTM_NEWRULE, AF_INET, 0, RT_TABLE_LOCAL, 0);
	rule_msg(&t, RTM_NEWRULE, AF_INET, 32766, RT_TABLE_MAIN, 0);
	rule_msg(&t, RTM_NEWRULE, AF_INET, 32767, RT_TABLE_DEFAULT, 0);
	EXPECT_WHY(&t, AF_INET, "198.18.0.2", CTL_XDP, "default policy rules");
	rule_msg(&t, RTM_NEWRULE, AF_INET, 1000, 100, 0x10);
	EXPECT_WHY(&t, AF_INET, "198.18.0.2", CTL_WHY_POLICY, "an fwmark rule sends everything to the kernel");
	rule_msg(&t, RTM_DELRULE, AF_INET, 1000, 100, 0x10);
	EXPECT_WHY(&t, AF_INET, "198.18.0.2", CTL_XDP, "rule deleted");

	link_msg(&t, RTM_NEWLINK, XIF, IFF_UP | IFF_RUNNING | IFF_BROADCAST, 1500, NULL, 0);
	EXPECT_WHY(&t, AF_INET, "198.18.0.2", CTL_WHY_LINK_DOWN, "no carrier (up, running, no IFF_LOWER_UP)");
	link_msg(&t, RTM_NEWLINK, XIF, IFF_UP | IFF_BROADCAST, 1500, NULL, 0);
	EXPECT_WHY(&t, AF_INET, "198.18.0.2", CTL_WHY_LINK_DOWN, "no carrier (up, not running)");
	link_msg(&t, RTM_NEWLINK, XIF, IFF_UP | IFF_LOWER_UP_ | IFF_BROADCAST, 1500, NULL, 0);
	EXPECT_WHY(&t, AF_INET, "198.18.0.2", CTL_XDP,
		   "carrier on, operstate not yet up (IFF_LOWER_UP without IFF_RUNNING, linkwatch's lag)");
	link_msg(&t, RTM_NEWLINK, XIF, up, 9000, NULL, 0);
	look(&t, AF_INET, "198.18.0.2", &p);
	CHECK(p.why == CTL_XDP && p.mtu == 9000 && !memcmp(p.src_mac, mac_x, 6),
	      "a link update without IFLA_LINKINFO/ADDRESS keeps them; new MTU %u", p.mtu);
	link_msg(&t, RTM_NEWLINK, XIF, IFF_BROADCAST, 1500, NULL, 0);
	EXPECT_WHY(&t, AF_INET, "198.18.0.2", CTL_WHY_NO_ROUTE, "admin down forgets the link's routes");
	CHECK(t.neigh_cnt == 0, "... and its neighbours");

	/* IPv6 */
	link_msg(&t, RTM_NEWLINK, XIF, up, 1500, "veth", 0);
	route_msg(&t, RTM_NEWROUTE, &(struct rt){ AF_INET6, "fd00:198:18::", 64, RT_TABLE_MAIN, RTN_UNICAST, XIF, NULL,
						  NULL, 256, 0, 0 });
	route_msg(&t, RTM_NEWROUTE, &(struct rt){ AF_INET6, "fd00:198:18::1", 128, RT_TABLE_LOCAL, RTN_LOCAL, XIF,
						  NULL, NULL, 0, 0, 0 });
	route_msg(&t, RTM_NEWROUTE, &(struct rt){ AF_INET6, "ff00::", 8, RT_TABLE_LOCAL, RTN_MULTICAST, XIF, NULL,
						  NULL, 256, 0, 0 });
	EXPECT_WHY(&t, AF_INET6, "fd00:198:18::2", CTL_WHY_NEIGH, "IPv6 without a neighbour");
	neigh_msg(&t, RTM_NEWNEIGH, AF_INET6, XIF, "fd00:198:18::2", NUD_REACHABLE, mac_peer);
	look(&t, AF_INET6, "fd00:198:18::2", &p);
	CHECK(p.why == CTL_XDP && !memcmp(p.dst_mac, mac_peer, 6) && !p.has_prefsrc, "IPv6 resolved neighbour");
	EXPECT_WHY(&t, AF_INET6, "fd00:198:18::1", CTL_WHY_LOCAL, "IPv6 own address");
	EXPECT_WHY(&t, AF_INET6, "::1", CTL_WHY_LOCAL, "IPv6 loopback");
	EXPECT_WHY(&t, AF_INET6, "ff02::1", CTL_WHY_MCAST, "IPv6 multicast");
	EXPECT_WHY(&t, AF_INET6, "fd00:198:19::2", CTL_WHY_NO_ROUTE, "IPv6 no route");
	rule_msg(&t, RTM_NEWRULE, AF_INET6, 100, 200, 0);
	EXPECT_WHY(&t, AF_INET6, "fd00:198:18::2", CTL_WHY_POLICY, "IPv6 extra rule");
	EXPECT_WHY(&t, AF_INET, "198.18.0.1", CTL_WHY_LOCAL, "an IPv6 rule leaves IPv4 alone");

	/* malformed input is refused, never read past its end */
	{
		struct nlmsghdr *nlh = msg(RTM_NEWROUTE);
		nlh->nlmsg_len = sizeof(*nlh) + 2;   /* shorter than struct rtmsg */
		CHECK(ctl_tables_apply(&t, nlh, XIF) == -EINVAL, "a truncated route message is refused");
		nlh = msg(RTM_NEWNEIGH);
		struct ndmsg *nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
		nd->ndm_family = AF_INET;
		nd->ndm_ifindex = XIF;
		CHECK(ctl_tables_apply(&t, nlh, XIF) == -EINVAL, "a neighbour message without NDA_DST is refused");
	}
	ctl_tables_free(&t);
	printf("%s\n", unit_fails ? "test_route: FAILED" : "test_route: all passed");
	return unit_fails ? 1 : 0;
}
