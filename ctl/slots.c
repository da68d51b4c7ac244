/* slots.c - XSKMAP slots (one per binding, XSKSHIM_QUEUE_MAX entries each),
 * who holds them across processes (a POSIX read lock per holder on byte
 * `slot` of a memfd, kernel-released at any death), and the program's ports
 * map: one group per (address, port) key, holding the slots of an
 * SO_REUSEPORT group (flow-hashed by the program) or, for SO_REUSEADDR
 * sharing, the newest socket alone (ctl.h).  Lock held. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/internal.h"

/* Ports whose SO_REUSEPORT group carries the application's own
 * SO_ATTACH_REUSEPORT program: sockets on them stay on the kernel path. */
static uint8_t ctl_rp_app_ports[65536 / 8];

bool ctl_rp_app_marked(uint16_t port)
{
	return ctl_rp_app_ports[port / 8] >> (port % 8) & 1;
}

int ctl_slot_alloc(void)
{
	for (uint32_t i = 0; i < XSKSHIM_SLOT_MAX; i++)
		if (!(C.slots[i / 8] >> (i % 8) & 1)) {
			C.slots[i / 8] |= (uint8_t)(1u << (i % 8));
			return (int)i;
		}
	return -ENOSPC;
}

void ctl_slot_free(uint32_t slot)
{
	C.slots[slot / 8] &= (uint8_t)~(1u << (slot % 8));
}

/* This process's hold on a slot (ctl.h "Threads and processes"): type F_RDLCK (holding),
 * F_WRLCK (only if no other process holds it: 0, or -EAGAIN), F_UNLCK. */
RING_FORK_TEXT int ctl_slot_hold(uint32_t slot, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = slot, .l_len = 1 };

	if (C.hold_fd < 0)
		return -EBADF;
	if (fcntl(C.hold_fd, F_SETLK, &fl))
		return errno == EACCES ? -EAGAIN : -errno;
	return 0;
}

bool ctl_slot_held_elsewhere(uint32_t slot)
{
	/* a fork child that has not yet taken its locks counts as a holder
	 * (a count left by a child killed that early ages out in 1 s) */
	if (C.gate && __atomic_load_n(&C.gate->in_flight, __ATOMIC_ACQUIRE) &&
	    ctl_now_ns() - __atomic_load_n(&C.gate->last_ns, __ATOMIC_RELAXED) < 1000000000)
		return true;
	return ctl_slot_hold(slot, F_WRLCK) == -EAGAIN;
}

void ctl_atfork_prepare(void)
{
	if (!C.gate || (!C.installed && !C.tick_wanted))
		return;
	__atomic_store_n(&C.gate->last_ns, ctl_now_ns(), __ATOMIC_RELAXED);
	__atomic_add_fetch(&C.gate->in_flight, 1, __ATOMIC_RELEASE);
}

int ctl_group_add(const struct xskshim_port_key *k, uint32_t slot, bool reuseport)
{
	struct ctl_group *g;
	int err;

	HASH_FIND(hh, C.groups, k, sizeof(*k), g);
	if (g && g->val.slot_cnt && !(reuseport && g->reuseport)) {
		/* shared through SO_REUSEADDR: the newest takes the port */
		if (g->val.slot_cnt != 1 || g->shared_cnt >= XSKSHIM_GROUP_MAX - 1)
			return -EADDRINUSE;
		if (!g->shared_cnt)
			g->shared[g->shared_cnt++] = g->val.slots[0];
		g->shared[g->shared_cnt++] = slot;
		g->val.slots[0] = slot;
		if (bpf_map_update_elem(bpf_map__fd(C.skel->maps.ports), &g->key, &g->val, BPF_ANY))
			return -errno;
		return 0;
	}
	if (!g) {
		g = calloc(1, sizeof(*g));
		if (!g)
			return -ENOMEM;
		g->key = *k;
		g->reuseport = reuseport;
		HASH_ADD(hh, C.groups, key, sizeof(g->key), g);
	}
	if (g->val.slot_cnt >= XSKSHIM_GROUP_MAX)
		return -ENOSPC;
	g->val.slots[g->val.slot_cnt++] = slot;
	err = bpf_map_update_elem(bpf_map__fd(C.skel->maps.ports), &g->key, &g->val, BPF_ANY);
	if (err) {
		g->val.slot_cnt--;
		return -errno;
	}
	return 0;
}

void ctl_group_del(const struct xskshim_port_key *k, uint32_t slot)
{
	struct ctl_group *g;
	uint32_t i;

	HASH_FIND(hh, C.groups, k, sizeof(*k), g);
	if (!g)
		return;
	if (g->shared_cnt) {
		/* SO_REUSEADDR sharing: the newest remaining socket takes over */
		for (i = 0; i < g->shared_cnt && g->shared[i] != slot; i++)
			;
		if (i == g->shared_cnt)
			return;
		memmove(&g->shared[i], &g->shared[i + 1], (g->shared_cnt - i - 1) * sizeof(g->shared[0]));
		g->shared_cnt--;
		g->val.slots[0] = g->shared[g->shared_cnt - 1];
		if (g->shared_cnt == 1)
			g->shared_cnt = 0;   /* a lone socket again */
		bpf_map_update_elem(bpf_map__fd(C.skel->maps.ports), &g->key, &g->val, BPF_ANY);
		return;
	}
	for (i = 0; i < g->val.slot_cnt; i++)
		if (g->val.slots[i] == slot)
			break;
	if (i == g->val.slot_cnt)
		return;
	g->val.slots[i] = g->val.slots[--g->val.slot_cnt];
	if (g->val.slot_cnt) {
		bpf_map_update_elem(bpf_map__fd(C.skel->maps.ports), &g->key, &g->val, BPF_ANY);
	} else {
		bpf_map_delete_elem(bpf_map__fd(C.skel->maps.ports), &g->key);
		HASH_DEL(C.groups, g);
		free(g);
	}
}

/* Members of the SO_REUSEPORT group of s's first key (1 for a lone socket). */
uint32_t ctl_bind_group_size(const struct ctl_bind *s)
{
	struct ctl_group *g;

	if (!s->open || !s->key_cnt)
		return 0;
	HASH_FIND(hh, C.groups, &s->keys[0], sizeof(s->keys[0]), g);
	return g ? g->val.slot_cnt : 0;
}

void ctl_rp_app_mark(uint16_t port)
{
	ctl_rp_app_ports[port / 8] |= (uint8_t)(1u << (port % 8));
}
