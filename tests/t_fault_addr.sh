#!/bin/bash
# t_fault_addr.sh - interface addresses change while a wildcard-bound socket
# is accelerated.  The XDP program decides "is this destination ours?" from
# the `locals` map; the shim's address watch (netlink RTM_NEWADDR /
# RTM_DELADDR) must keep that map equal to the kernel's view:
#   - datagrams to an address removed after bind are dropped, as the kernel
#     drops them (forwarding off: not local), never delivered;
#   - an address added after bind is accelerated without another bind
#     (its datagrams come through AF_XDP, not the kernel path).
# The plain run first shows what the kernel does.
T=t_fault_addr
. "$(dirname "$0")/fault_lib.sh"
fl_setup

N=${FAULT_COUNT:-1000}
EXTRA=198.18.0.99
D=$FL_TMP

# wait_local ADDR yes|no : until ADDR is (or is no longer) on vb
wait_addr() { for _ in $(seq 40); do in_rcv ip -4 addr show dev vb | grep -q " $1/" && [ "$2" = yes ] && return 0
	in_rcv ip -4 addr show dev vb | grep -q " $1/" || { [ "$2" = no ] && return 0; }; sleep 0.05; done; return 1; }

# run TAG ENV... : $EXTRA is on vb when the receiver binds; then removed,
# then added again.  Sets PRESENT, REMOVED, READDED (datagrams delivered of
# the N sent to $EXTRA in each phase).
run()
{
	local t=$1 c0 c1 c2 c3; shift
	in_rcv ip addr add "$EXTRA/32" dev vb
	wait_addr "$EXTRA" yes
	# 8 MiB: a burst is held whole by the kernel socket (plain, or the
	# shim's spill) when the reader is off its CPU on a loaded machine
	FL_RCVBUF=8388608 fl_recv_start "$t" poll "$@" || return 1
	in_gen udpgen --dst "$ADDR_RCV" --port 9000 --count "$N" --rate 100000 >/dev/null
	c0=$(fl_settle "$D/$t.out")
	in_gen udpgen --dst "$EXTRA" --port 9000 --count "$N" --rate 100000 >/dev/null
	c1=$(fl_settle "$D/$t.out")
	in_rcv ip addr del "$EXTRA/32" dev vb
	wait_addr "$EXTRA" no
	sleep 0.3   # the watch thread's refresh
	# the generator keeps a permanent neighbour entry for $EXTRA: the
	# frames still reach vb, whose kernel no longer considers them local
	in_gen udpgen --dst "$EXTRA" --port 9000 --count "$N" --rate 100000 >/dev/null
	c2=$(fl_settle "$D/$t.out")
	in_rcv ip addr add "$EXTRA/32" dev vb
	wait_addr "$EXTRA" yes
	sleep 0.3
	in_gen udpgen --dst "$EXTRA" --port 9000 --count "$N" --rate 100000 >/dev/null
	c3=$(fl_settle "$D/$t.out")
	stop_pid "$R" 5
	in_rcv ip addr del "$EXTRA/32" dev vb
	PRESENT=$((c1 - c0)) REMOVED=$((c2 - c1)) READDED=$((c3 - c2))
}

in_gen ip neigh replace "$EXTRA" lladdr "$(in_rcv cat /sys/class/net/vb/address)" dev va nud permanent

run plain || fl_finish
check "$([ "$PRESENT" = "$N" ] && [ "$REMOVED" = 0 ] && [ "$READDED" = "$N" ]; echo $?)" \
	"plain kernel socket, datagrams to $EXTRA: $PRESENT of $N while it was ours, $REMOVED after it was removed (the kernel drops them), $READDED after it was added again"
p_removed=$REMOVED

run shim $(shim_env) || fl_finish
check "$([ "$PRESENT" = "$N" ] && [ "$READDED" = "$N" ]; echo $?)" \
	"shim: all $N to $EXTRA while it was ours ($PRESENT), all $N after it was added again ($READDED)"
check "$([ "$REMOVED" = "$p_removed" ]; echo $?)" \
	"shim: after the address was removed its datagrams are dropped as by the kernel ($REMOVED delivered, plain $p_removed)"
acc=$(accel_all "$D/shim.err" $((3 * N)))
check $? "shim: the re-added address was accelerated without another bind ($acc)"
nl=$(summary_xdp "$D/shim.err" pass_not_local)
check "$([ "${nl:-0}" -ge $((N * 99 / 100)) ]; echo $?)" \
	"shim: the XDP program passed the removed address's datagrams to the kernel as not local (pass_not_local ${nl:-?})"
fl_finish
