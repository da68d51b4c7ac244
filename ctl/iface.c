/* iface.c - facts of the configured interface (ctl.h): RX queues, driver
 * (partial checksums on veth/lo), MAC and VLAN devices for the program's
 * load-time checks, hardware timestamps, and noticing that the interface
 * was deleted or replaced.  ethtool ioctls and netlink-free reads of /proc
 * and /sys; no capability. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/net_tstamp.h>
#include <linux/sockios.h>
#include <net/if_arp.h>

#include "ctl/internal.h"

int ctl_ethtool(const char *ifname, void *data)
{
	struct ifreq ifr = {0};
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = data;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		err = -errno;
	close(fd);
	return err;
}

uint32_t ctl_rx_queue_cnt(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	char path[128];
	struct dirent *d;
	uint32_t n = 0;
	DIR *dir;

	if (!ctl_ethtool(ifname, &ch) && ch.rx_count + ch.combined_count > 0)
		return ch.rx_count + ch.combined_count;
	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
	dir = opendir(path);
	if (dir) {
		while ((d = readdir(dir)))
			if (!strncmp(d->d_name, "rx-", 3))
				n++;
		closedir(dir);
	}
	return n ? n : 1;
}

/* veth and loopback hand us CHECKSUM_PARTIAL frames whose UDP checksum on
 * the "wire" is only the pseudo-header sum; see docs/platform.md. */
bool ctl_iface_partial_csum(const char *ifname)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };

	if (!strcmp(ifname, "lo"))
		return true;
	if (ctl_ethtool(ifname, &di))
		return false;
	return !strcmp(di.driver, "veth") || !strcmp(di.driver, "loopback");
}

/* Does the configured interface make hardware receive timestamps
 * (ETHTOOL_GET_TS_INFO advertises SOF_TIMESTAMPING_RX_HARDWARE)?  veth and
 * lo advertise software stamps only.  Any thread, lock not needed. */
bool ctl_iface_hw_rx_ts(void)
{
	struct ethtool_ts_info ti = { .cmd = ETHTOOL_GET_TS_INFO };

	if (!C.cfg.iface[0] || ctl_ethtool(C.cfg.iface, &ti))
		return false;
	return (ti.so_timestamping & SOF_TIMESTAMPING_RX_HARDWARE) != 0;
}

/* Load-time checks: frames for another MAC (PACKET_OTHERHOST), tags of VLANs
 * the interface has no device for, and wildcard matches for non-local
 * destinations all go to the kernel, which drops them. */
void ctl_prog_configure(void)
{
	struct ifreq ifr = {0};
	char line[256];
	uint32_t flags = XSKSHIM_CFG_CHECK_LOCAL | XSKSHIM_CFG_CHECK_VLAN;
	FILE *f;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", C.cfg.iface);
		if (!ioctl(fd, SIOCGIFHWADDR, &ifr) && ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER) {
			memcpy((void *)C.skel->rodata->cfg_mac, ifr.ifr_hwaddr.sa_data, 6);
			flags |= XSKSHIM_CFG_CHECK_MAC;
		}
		close(fd);
	}
	/* "eth0.100 | 100 | eth0": the VLAN devices on our interface */
	f = fopen("/proc/net/vlan/config", "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char dev[64], parent[64];
			unsigned int vid;

			if (sscanf(line, "%63s | %u | %63s", dev, &vid, parent) == 3 && vid < 4096 &&
			    !strcmp(parent, C.cfg.iface))
				((volatile __u64 *)C.skel->rodata->cfg_vlan_ids)[vid / 64] |= 1ull << (vid % 64);
		}
		fclose(f);
	}
	C.skel->rodata->cfg_flags = flags;
	/* spill records for the queues there are, not for XSKSHIM_QUEUE_MAX */
	C.spill_nq = ctl_rx_queue_cnt(C.cfg.iface);
	if (C.spill_nq > XSKSHIM_QUEUE_MAX)
		C.spill_nq = XSKSHIM_QUEUE_MAX;
	C.skel->rodata->cfg_spill_nq = C.spill_nq;
	bpf_map__set_max_entries(C.skel->maps.spills, XSKSHIM_SLOT_MAX * C.spill_nq);
}

void ctl_check_iface(void)
{
	static int64_t next_check;
	int64_t now = ctl_now_ns();
	unsigned int idx;
	char why[128];

	if (!__atomic_load_n(&C.installed, __ATOMIC_RELAXED) ||
	    now < __atomic_load_n(&next_check, __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&next_check, now + 100 * 1000000LL, __ATOMIC_RELAXED);
	idx = if_nametoindex(C.cfg.iface);
	if (idx && (int)idx == C.ifindex)
		return;
	pthread_mutex_lock(C.lock);
	if (C.installed) {
		snprintf(why, sizeof(why), "interface %s (ifindex %d) was deleted%s", C.cfg.iface, C.ifindex,
			 idx ? " and re-created" : "");
		ctl_log(CTL_LOG_WARN, "xdp", "%s: every socket moves to the kernel path", why);
		C.hooks.iface_gone(why);
		if (C.installed)
			ctl_uninstall();
	}
	pthread_mutex_unlock(C.lock);
}
