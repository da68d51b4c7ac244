#!/bin/bash
# t_tx.sh - transmit through AF_XDP (XSKSHIM_TX=on, issue 14) in a netns pair.
#
# 1. Differential: tests/tools/txsend sends a table of cases (IPv4/IPv6,
#    TTL/hop limit, TOS/traffic class with ECN, DF policies, connected
#    send/write, cmsgs IP_TOS/IP_TTL/IP_PKTINFO/IPV6_TCLASS/IPV6_HOPLIMIT/
#    IPV6_PKTINFO, sendmmsg with odd iovec splits, UDP_SEGMENT, SO_NO_CHECK,
#    a v4-mapped destination, writev, the syscall(SYS_sendto/sendmsg/
#    sendmmsg/write/writev) forms, a fork child sending on its parent's
#    socket) once plain and once under the shim; the peer
#    captures with AF_PACKET (tests/tools/pktcap) and every header field,
#    checksum verdict and payload hash must be identical - and the shim run
#    must really have sent them through the tx ring (its summary).
#    An ICMP port unreachable for a datagram sent through AF_XDP fails the
#    next send with ECONNREFUSED as plain (connected v4/v6, IP_RECVERR);
#    one drawn by a sendmmsg's first message fails its second, as plain.
# 2. Kernel-path reasons, each counted by reason in the summary: a neighbour
#    missing at first (then resolved: the rest goes through AF_XDP), a local
#    destination, multicast, a route via another interface (and a socket
#    SO_BINDTODEVICE'd to it: on the kernel path altogether, with a line),
#    a policy rule, IP options, MSG_MORE, over the MTU (fragmented by the
#    kernel; with DF EMSGSIZE as plain), a route change mid-stream, link down
#    and up, an MTU change, an overflow of the route mirror's subscription.
# 3. Two queues: the differential table on a 2-queue veth pair; the shim
#    spreads flows over both TX rings as plain spreads them over both
#    queues (the peer's per-queue XDP counters), order kept per flow.
cd "$(dirname "$0")/.." || exit 1
. scripts/netns.sh
NETNS_TEST_NAME=t_tx netns_skip_unless_root
[ -f build/libxskshim.so ] || { echo "FAIL: build/libxskshim.so missing (run make)"; exit 1; }

SHIM=$PWD/build/libxskshim.so
export PATH=$PWD/build/tests:$PATH
T=$(mktemp -d /tmp/xsk-tx.XXXXXX)
PIDS=()
rc=0
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; netns_cleanup; rm -rf "$T"; }
NETNS_NO_TRAP=1
trap cleanup EXIT
netns_setup 1 || { echo "FAIL: netns setup"; exit 1; }

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; rc=1; }
SHIMENV="XSKSHIM_IFACE=vb XSKSHIM_PORTS=21000-21999 XSKSHIM_TX=on XSKSHIM_STATS=1 XSKSHIM_LINGER_MS=0 LD_PRELOAD=$SHIM"

# A second pair for "another interface": vc (rcv, 198.19.0.1) - vd (gen, 198.19.0.2)
ip -n "$NS_RCV" link add vc address 02:00:00:00:00:0c type veth peer name vd netns "$NS_GEN" address 02:00:00:00:00:0d
in_rcv ip addr add 198.19.0.1/24 dev vc
in_gen ip addr add 198.19.0.2/24 dev vd
in_rcv ip link set vc up
in_gen ip link set vd up
in_rcv ip neigh replace 198.19.0.2 lladdr 02:00:00:00:00:0d dev vc nud permanent
# real checksums from the sender side too (the fixture does va); the
# feature change bounces vb's carrier, so let it settle
in_rcv ethtool -K vb tx off >/dev/null 2>&1
in_rcv ethtool -K vc tx off >/dev/null 2>&1
sleep 1
# a sink on the peer, so no ICMP port unreachable comes back
in_gen udpdump --bind :: --port 9000 --count 1000000 --max-secs 200 >/dev/null 2>&1 &
PIDS+=($!)

# ctr FILE NAME: sum of "NAME N" over the summary's socket lines
ctr() { grep -o " $2 [0-9]*" "$1" | awk '{s += $2} END {print s + 0}'; }

# capture IFACE COUNT SECS OUT: pktcap in the gen namespace, in the background
capture() {
	in_gen pktcap "$1" 9000 "$2" "$3" >"$4" 2>"$4.err" &
	CAP=$!
	PIDS+=("$CAP")
	for _ in $(seq 50); do grep -q ready "$4.err" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}

# ---- 1. differential ---------------------------------------------------------
N=83
# txsend_run PREFIX plain|shim SPORT_BASE: the table, captured on va into
# $T/PREFIX{plain,shim}.cap (its output in .out)
txsend_run() {
	local out=$T/$1$2
	capture va $N 10 "$out.cap" || fail "pktcap not ready"
	if [ "$2" = plain ]; then
		in_rcv txsend 198.18.0.1 2001:2::1 198.18.0.2 2001:2::2 9000 "$3" >"$out.out" 2>&1
	else
		# shellcheck disable=SC2086
		in_rcv env $SHIMENV txsend 198.18.0.1 2001:2::1 198.18.0.2 2001:2::2 9000 "$3" >"$out.out" 2>&1
	fi
	wait "$CAP"
	grep -q "all sends returned as expected" "$out.out" ||
		fail "$1$2 txsend: $(grep -v summary "$out.out" | tail -3)"
}
for mode in plain shim; do
	txsend_run "" $mode 21000
done
np=$(grep -c . "$T/plain.cap")
bad=$(grep -c 'csum=BAD' "$T/plain.cap")
if [ "$np" = $N ] && [ "$bad" = 0 ] && grep -q '^v6 ' "$T/plain.cap" && grep -q 'udpcsum=zero' "$T/plain.cap"; then
	pass "plain run: $N frames captured on the peer, v4 and v6, all checksums valid"
else
	fail "plain run: $np frames, $bad bad checksums (the comparison below would mean nothing)"
fi
# one flow per case; order within a flow is kept by a stable sort
sort -s -k2,2 "$T/plain.cap" >"$T/plain.sorted"
sort -s -k2,2 "$T/shim.cap" >"$T/shim.sorted"
if cmp -s "$T/plain.sorted" "$T/shim.sorted"; then
	pass "XSKSHIM_TX=on: all $N frames identical to plain on the wire (addresses, ports, TTL/hop limit, TOS/tclass+ECN, DF, IP ID policy, flow label policy, checksums, lengths, payload)"
else
	fail "frames differ from plain:"
	diff "$T/plain.sorted" "$T/shim.sorted" | head -20
fi
x=$(ctr "$T/shim.out" tx_xdp); k=$(ctr "$T/shim.out" tx_kernel)
if [ "$x" = $N ] && [ "$k" = 0 ]; then
	pass "the shim run sent all $N through the AF_XDP tx ring (tx_xdp $x, tx_kernel $k)"
else
	fail "the shim run: tx_xdp $x tx_kernel $k (wanted $N and 0)"
fi
# txsend's case 18: the fork child's own summary (another pid) for that port
fl=$(grep " port 21018 accelerated:.* tx_xdp 3 tx_kernel 0 " "$T/shim.out" | grep -o '^xskshim\[[0-9]*\]')
pl=$(grep " port 21018 accelerated:.* tx_xdp 2 tx_kernel 0 " "$T/shim.out" | grep -o '^xskshim\[[0-9]*\]')
if [ -n "$fl" ] && [ -n "$pl" ] && [ "$fl" != "$pl" ]; then
	pass "a fork child sent its 3 datagrams through AF_XDP on its parent's socket ($fl: tx_xdp 3; parent $pl: tx_xdp 2)"
else
	fail "fork child: child '$fl' parent '$pl' ($(grep ' port 21018 accelerated' "$T/shim.out"))"
fi
if grep -q 'accounted yes' "$T/shim.out" && ! grep -q 'accounted NO' "$T/shim.out"; then
	pass "UMEM frames accounted at exit (free + fill + rx + held + tx in flight = all)"
else
	fail "frame accounting: $(grep 'summary: queue.*frames' "$T/shim.out")"
fi

# ---- 1b. ICMP errors on send ----------------------------------------------------
# A datagram to a closed port on the peer draws ICMP port unreachable; the
# kernel fails the socket's next send with ECONNREFUSED (connected, or
# IP_RECVERR: then the error queue has it too).  Under TX the first
# datagram left through AF_XDP, and the next send must fail the same way.
in_gen sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
icmp_case() {   # NAME SPORT TXICMP-ARGS...
	local name=$1 sport=$2 p s x; shift 2
	p=$(in_rcv txicmp --port 9001 --sport $((sport + 50)) "$@" 2>&1 | grep '^txicmp:')
	# shellcheck disable=SC2086
	in_rcv env $SHIMENV txicmp --port 9001 --sport "$sport" "$@" >"$T/icmp$sport.out" 2>&1
	s=$(grep '^txicmp:' "$T/icmp$sport.out"); x=$(ctr "$T/icmp$sport.out" tx_xdp)
	if [ "$p" = "$s" ] && [[ "$p" = *"send2=ECONNREFUSED send3=ok"* ]] && [ "$x" -ge 1 ]; then
		pass "ICMP port unreachable, $name: '$s' as plain (tx_xdp $x: the datagrams that drew it left through AF_XDP)"
	else
		fail "ICMP, $name: plain '$p', shim '$s' (tx_xdp $x)"
	fi
}
icmp_case "connected IPv4, next send" 21401 --dst 198.18.0.1
icmp_case "IP_RECVERR unconnected IPv4, next sendto and the error queue" 21402 --dst 198.18.0.1 --recverr
icmp_case "connected IPv6, next send" 21403 --dst 2001:2::1
# ... and within one sendmmsg: the kernel looks at the socket's error
# before each message, so an error the first message drew at once (over lo
# from the loopback's closed port, or over the veth with an SO_MARK cmsg
# the shim leaves to the kernel) fails the second: sendmmsg returns 1
mmsg_case() {   # NAME SPORT TXICMP-ARGS...
	local name=$1 sport=$2 p s; shift 2
	p=$(in_rcv txicmp --port 9001 --sport $((sport + 50)) --mmsg 9000 "$@" 2>&1 | grep '^txicmp:')
	# shellcheck disable=SC2086
	s=$(in_rcv env $SHIMENV txicmp --port 9001 --sport "$sport" --mmsg 9000 "$@" 2>&1 | grep '^txicmp:')
	if [ "$p" = "$s" ] && [[ "$p" = *"mmsg=1 "* ]]; then
		pass "ICMP error drawn by a sendmmsg's first message, $name: '$s' as plain (the second failed, the error consumed)"
	else
		fail "ICMP within sendmmsg, $name: plain '$p', shim '$s'"
	fi
}
mmsg_case "IP_RECVERR unconnected IPv4 (first to 127.0.0.1)" 21404 --dst 198.18.0.1 --recverr
mmsg_case "IP_RECVERR unconnected IPv6 (first to ::1)" 21405 --dst 2001:2::1 --recverr
mmsg_case "connected IPv4 (first with SO_MARK)" 21406 --dst 198.18.0.1
mmsg_case "connected IPv6 (first with SO_MARK)" 21407 --dst 2001:2::1
in_gen sysctl -qw net.ipv4.icmp_ratelimit=1000 net.ipv6.icmp.ratelimit=1000

# ---- 2. kernel-path reasons ---------------------------------------------------
# reason_case NAME WHY MIN_KERNEL MIN_XDP [SETUP-CMD] -- TXONE-ARGS...
# runs txone under the shim and checks tx_kernel_WHY >= MIN_KERNEL and
# tx_xdp >= MIN_XDP (and tx_xdp <= MIN_XDP when MIN_XDP is 0).
SPORT=21100
# wait_bound FILE: until the background txone bound its socket (bounded)
wait_bound() { for _ in $(seq 100); do grep -q 'txone: bound' "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
run_shim_txone() {
	local out=$1; shift
	SPORT=$((SPORT + 1))
	# shellcheck disable=SC2086
	in_rcv env $SHIMENV txone --port 9000 --sport $SPORT "$@" >"$out" 2>&1
}
check_reason() {
	local name=$1 out=$2 why=$3 kmin=$4 xmin=$5 kw x
	kw=$(ctr "$out" "tx_kernel_$why"); x=$(ctr "$out" tx_xdp)
	if [ "$kw" -ge "$kmin" ] && { [ "$xmin" = 0 ] && [ "$x" = 0 ] || [ "$xmin" != 0 ] && [ "$x" -ge "$xmin" ]; }; then
		pass "$name: tx_kernel_$why $kw (>= $kmin), tx_xdp $x ($([ "$xmin" = 0 ] && echo "none" || echo ">= $xmin")); $(grep -o 'txone: ok.*' "$out")"
	else
		fail "$name: tx_kernel_$why $kw (want >= $kmin), tx_xdp $x (want $([ "$xmin" = 0 ] && echo 0 || echo ">= $xmin")); $(grep -o 'txone: ok.*' "$out"; grep -o 'accelerated.*' "$out" | head -2)"
	fi
}

# neighbour missing at first: the kernel sends (and resolves), then AF_XDP
in_rcv ip neigh del 198.18.0.1 dev vb
capture va 30 10 "$T/neigh.cap"
run_shim_txone "$T/neigh.out" --dst 198.18.0.1 --count 30 --gap-ms 20
wait "$CAP"
check_reason "neighbour missing at first" "$T/neigh.out" neigh 1 20
got=$(grep -c . "$T/neigh.cap")
[ "$got" = 30 ] && pass "neighbour case: all 30 datagrams reached the peer" ||
	fail "neighbour case: $got of 30 reached the peer"
in_rcv ip neigh replace 198.18.0.1 lladdr "$MAC_GEN" dev vb nud permanent

run_shim_txone "$T/local.out" --dst 198.18.0.2 --count 10
check_reason "local destination" "$T/local.out" local 10 0
in_rcv ip route add 224.0.0.0/4 dev vb
run_shim_txone "$T/mcast.out" --dst 224.0.0.9 --count 10
check_reason "multicast destination" "$T/mcast.out" mcast 10 0
in_rcv txone --port 9000 --sport 21097 --dst 198.18.0.255 --count 5 >"$T/bcast.plain" 2>&1
run_shim_txone "$T/bcast.out" --dst 198.18.0.255 --count 5
p=$(grep -o 'txone: ok.*' "$T/bcast.plain"); s=$(grep -o 'txone: ok.*' "$T/bcast.out")
[ "$p" = "$s" ] && [ "$p" = "txone: ok=0 err=5 errno=EACCES" ] &&
	pass "subnet broadcast without SO_BROADCAST: $s, as plain (through the kernel)" ||
	fail "subnet broadcast: plain '$p', shim '$s'"

capture vd 10 10 "$T/other.cap"
run_shim_txone "$T/other.out" --dst 198.19.0.2 --count 10
wait "$CAP"
check_reason "route via another interface" "$T/other.out" other_if 10 0
got=$(grep -c . "$T/other.cap")
[ "$got" = 10 ] && pass "other interface: all 10 left through vc (captured on its peer)" ||
	fail "other interface: $got of 10 captured on vd"

# bound to another device, the socket can receive nothing from vb: it is
# on the kernel path altogether, with a line (sock.c), and sends as plain
capture vd 5 10 "$T/btd.cap"
run_shim_txone "$T/btd.out" --dst 198.19.0.2 --count 5 --bindtodev vc
wait "$CAP"
got=$(grep -c . "$T/btd.cap")
if grep -q 'udp port [0-9]* \(stays on\|moved to\) the kernel path: setsockopt SO_BINDTODEVICE vc needs the kernel path' "$T/btd.out" &&
	[ "$(ctr "$T/btd.out" tx_xdp)" = 0 ] && grep -q 'txone: ok=5 err=0' "$T/btd.out" && [ "$got" = 5 ]; then
	pass "SO_BINDTODEVICE to another device: the socket stays on the kernel path, saying so; all 5 left through vc (captured on its peer), tx_xdp 0"
else
	fail "SO_BINDTODEVICE to another device: $(grep -o 'txone: ok.*' "$T/btd.out"), $got of 5 captured on vd, tx_xdp $(ctr "$T/btd.out" tx_xdp); $(grep -o 'accelerated.*' "$T/btd.out" | head -2)"
fi

in_rcv ip rule add fwmark 5 table 10 pref 100
sleep 0.2
run_shim_txone "$T/policy.out" --dst 198.18.0.1 --count 10
check_reason "policy rule beyond the defaults" "$T/policy.out" policy 10 0
in_rcv ip rule del fwmark 5 table 10 pref 100

run_shim_txone "$T/opts.out" --dst 198.18.0.1 --count 10 --ipopts
check_reason "IP options on the socket" "$T/opts.out" ip_options 10 0
run_shim_txone "$T/more.out" --dst 198.18.0.1 --count 5 --size 100 --more
check_reason "MSG_MORE (corking in the kernel)" "$T/more.out" cmsg 10 0

run_shim_txone "$T/big.out" --dst 198.18.0.1 --count 5 --size 3000
check_reason "over the MTU without DF (the kernel fragments)" "$T/big.out" mtu 5 0
in_rcv txone --port 9000 --sport 21098 --dst 198.18.0.1 --count 3 --size 3000 --df do >"$T/bigdf.plain" 2>&1
run_shim_txone "$T/bigdf.out" --dst 198.18.0.1 --count 3 --size 3000 --df do
p=$(grep -o 'txone: ok.*' "$T/bigdf.plain"); s=$(grep -o 'txone: ok.*' "$T/bigdf.out")
[ "$p" = "$s" ] && [ "$p" = "txone: ok=0 err=3 errno=EMSGSIZE" ] &&
	pass "over the MTU with IP_PMTUDISC_DO: $s, as plain" || fail "DF over MTU: plain '$p', shim '$s'"

# route change mid-stream: 198.18.0.1/32 moves to vc after ~0.4 s
capture va 60 10 "$T/rc.cap"
run_shim_txone "$T/rc.out" --dst 198.18.0.1 --count 60 --gap-ms 15 &
RP=$!
wait_bound "$T/rc.out"
sleep 0.3
in_rcv ip route add 198.18.0.1/32 dev vc
wait $RP
kill "$CAP" 2>/dev/null; wait "$CAP" 2>/dev/null
check_reason "route change mid-stream (to another interface)" "$T/rc.out" other_if 5 5
in_rcv ip route del 198.18.0.1/32 dev vc

# the mirror's subscription overflows: the sender is stopped (SIGSTOP, its
# mirror thread with it) while 8000 routes are added and 198.18.0.1 moves to
# vc, more notifications than its 1 MiB receive buffer holds, so the move's
# own notification is lost; after SIGCONT the mirror must see ENOBUFS,
# dump again (counted), and the sends after it take the new route
OVF_ROUTES=8000
for i in $(seq 0 $((OVF_ROUTES - 1))); do
	echo "route add 198.19.$((64 + i / 256)).$((i % 256))/32 dev vb"
done >"$T/ovf.batch"
echo "route add 198.18.0.1/32 dev vc" >>"$T/ovf.batch"
capture vd 200 15 "$T/ovf.cap"
run_shim_txone "$T/ovf.out" --dst 198.18.0.1 --count 120 --gap-ms 15 &
RP=$!
wait_bound "$T/ovf.out"
TP=$(sed -n 's/^txone: bound pid //p' "$T/ovf.out")
sleep 0.3
kill -STOP "$TP"
in_rcv ip -batch "$T/ovf.batch"
kill -CONT "$TP"
wait $RP
kill "$CAP" 2>/dev/null; wait "$CAP" 2>/dev/null
ovf=$(grep -o 'resyncs [0-9]* (overflows [0-9]*)' "$T/ovf.out")
o=$(sed -n 's/.*overflows \([0-9]*\).*/\1/p' <<<"$ovf")
x=$(ctr "$T/ovf.out" tx_xdp); k=$(ctr "$T/ovf.out" tx_kernel_other_if); got=$(grep -c . "$T/ovf.cap")
if [ "${o:-0}" -ge 1 ] && [ "$x" -ge 5 ] && [ "$k" -ge 30 ] && [ "$got" -ge 1 ] && grep -q 'txone: ok=120 err=0' "$T/ovf.out"; then
	pass "mirror overflow ($OVF_ROUTES routes added while the sender was stopped): $ovf; before: tx_xdp $x through vb, after: tx_kernel_other_if $k (the new route via vc, $got captured behind it)"
else
	fail "mirror overflow: '$ovf', tx_xdp $x, tx_kernel_other_if $k, captured on vd $got; $(grep -o 'txone: ok.*' "$T/ovf.out")"
fi
in_rcv ip route del 198.18.0.1/32 dev vc
in_rcv ip route flush root 198.19.64.0/18 dev vb

# link down and up: the peer end goes down for 1.5 s.  The kernel reports
# vb's carrier change through linkwatch, and for this veth (ifindex 2 and
# iflink 2: vb@if2, so not an 'urgent' event) up to 1 s late after any other
# linkwatch run on the host (the delay is global); a shorter flap can be
# over before it is reported at all - the kernel's own path keeps sending
# into the veth meanwhile too.  (0.3 s missed the flap in 1 of 4 runs.)
run_shim_txone "$T/link.out" --dst 198.18.0.1 --count 150 --gap-ms 20 &
RP=$!
wait_bound "$T/link.out"
sleep 0.2
in_gen ip link set va down
sleep 1.5
in_gen ip link set va up
wait $RP
# carrier back before the next case (veth reports it at once, the mirror
# follows the notification)
for _ in $(seq 50); do in_rcv ip link show vb | grep -q LOWER_UP && break; sleep 0.05; done
sleep 0.5
check_reason "link down then up" "$T/link.out" link_down 1 10
x=$(grep -o 'txone: ok=[0-9]*' "$T/link.out")
[ "$x" = "txone: ok=150" ] && pass "link down/up: every send returned success (as the kernel: no carrier drops silently)" ||
	fail "link down/up: $x of 150"

# several threads on one socket: every datagram leaves once, through the ring
capture va 4000 20 "$T/thr.cap"
run_shim_txone "$T/thr.out" --dst 198.18.0.1 --count 1000 --size 200 --threads 4
wait "$CAP"
x=$(ctr "$T/thr.out" tx_xdp)
got=$(sort -u "$T/thr.cap" | grep -c .)
if [ "$x" = 4000 ] && [ "$got" = 4000 ] && grep -q 'txone: ok=4000 err=0' "$T/thr.out"; then
	pass "4 threads x 1000 sendto on one socket: all 4000 through the tx ring, 4000 distinct datagrams on the wire"
else
	fail "threads: tx_xdp $x, $got distinct datagrams captured of 4000; $(grep -o 'txone: ok.*' "$T/thr.out")"
fi

# two processes x two threads on one socket (a fork after bind): one tx ring
# producer at a time across processes, every datagram leaves once
capture va 4000 20 "$T/procs.cap"
run_shim_txone "$T/procs.out" --dst 198.18.0.1 --count 1000 --size 200 --threads 2 --procs 2
wait "$CAP"
x=$(ctr "$T/procs.out" tx_xdp); k=$(ctr "$T/procs.out" tx_kernel)
got=$(sort -u "$T/procs.cap" | grep -c .)
nok=$(grep -c 'txone: ok=2000 err=0' "$T/procs.out")
np=$(grep -o '^xskshim\[[0-9]*\]: stats: summary: fd .* tx_xdp [1-9]' "$T/procs.out" | grep -o '^xskshim\[[0-9]*\]' | sort -u | wc -l)
if [ "$x" = 4000 ] && [ "$k" = 0 ] && [ "$got" = 4000 ] && [ "$nok" = 2 ] && [ "$np" = 2 ] &&
	grep -q 'accounted yes' "$T/procs.out" && ! grep -q 'accounted NO' "$T/procs.out"; then
	pass "parent and fork child x 2 threads x 1000 sendto on one socket: all 4000 through the tx ring from both processes, 4000 distinct datagrams on the wire, frames accounted"
else
	fail "processes: tx_xdp $x tx_kernel $k, $got distinct of 4000, $nok processes ok, $np processes sent through AF_XDP; $(grep -o 'accounted [a-zA-Z]*' "$T/procs.out" | tr '\n' ' ')"
fi

# a fork child killed (SIGKILL) while it sends flat out on the socket it
# shares with its parent, which sends only after that: alone on the lock,
# the child most likely dies holding it (tried up to 3 times until it did);
# the parent takes it over (the holder check, every 1 ms), drops what the
# child had reserved on the TX ring, and sends through AF_XDP.  The child
# must still be sending when the kill comes: 100000 took under 0.25 s on a
# quiet 6.18 VM (the child had exited in all 3 tries), so it sends 1000000
# and the kill comes 50 ms after it started
KILL_N=1000000
for try in 1 2 3; do
	run_shim_txone "$T/kill.out" --dst 198.18.0.1 --count $KILL_N --size 64 --threads 1 --procs 2 --parent-waits &
	RP=$!
	for _ in $(seq 100); do grep -q 'txone: child pid' "$T/kill.out" 2>/dev/null && break; sleep 0.05; done
	CP=$(sed -n 's/^txone: child pid //p' "$T/kill.out")
	sleep 0.05
	[ -n "$CP" ] && kill -9 "$CP"
	wait $RP
	tk=$(grep -c 'send lock taken over from a dead process' "$T/kill.out")
	[ "$tk" -ge 1 ] && break
done
x=$(ctr "$T/kill.out" tx_xdp); k=$(ctr "$T/kill.out" tx_kernel)
# the takeovers and the frames given back, as logged, in the taker's counters too
gb=$(grep -oE '[0-9]+ frames it held given back' "$T/kill.out" | awk '{ s += $1 } END { print s + 0 }')
if [ "$tk" -ge 1 ] && [ "$(ctr "$T/kill.out" lock_takeovers)" = "$tk" ] && [ "$(ctr "$T/kill.out" reclaimed)" = "$gb" ]; then
	pass "the parent's socket counters say it: lock_takeovers $tk, reclaimed $gb (as logged)"
else
	fail "takeover counters: logged $tk takeovers giving back $gb frames; summary lock_takeovers $(ctr "$T/kill.out" lock_takeovers) reclaimed $(ctr "$T/kill.out" reclaimed)"
fi
if [ -n "$CP" ] && [ "$tk" -ge 1 ] && grep -q "txone: ok=$KILL_N err=0" "$T/kill.out" && [ "$x" = $KILL_N ] && [ "$k" = 0 ]; then
	pass "a fork child killed holding the send lock (try $try): the parent took it over and sent all $KILL_N through AF_XDP (tx_xdp $x)"
else
	fail "killed child (try $try): child pid '${CP:-?}', takeovers $tk, the parent's tx_xdp $x tx_kernel $k; $(grep -o 'txone: ok.*' "$T/kill.out")"
fi

# a UMEM of 64 frames (transmit may hold 16): blocking senders wait for
# completions, nothing is lost, frames are all accounted at exit
capture va 5000 20 "$T/small.cap"
# shellcheck disable=SC2086
in_rcv env $SHIMENV XSKSHIM_FRAMES=64 XSKSHIM_LINGER_MS=5000 udpgen --dst 198.18.0.1 --port 9000 --sport-base 21200 --flows 2 \
	--size 100 --count 5000 --batch 64 >"$T/small.out" 2>&1
wait "$CAP"
x=$(ctr "$T/small.out" tx_xdp); f=$(ctr "$T/small.out" tx_full); got=$(grep -c . "$T/small.cap")
if [ "$x" = 5000 ] && [ "$got" = 5000 ] && [ "$f" -gt 0 ] && grep -q 'accounted yes' "$T/small.out"; then
	pass "64-frame UMEM, sendmmsg(64) x 5000: all sent through the ring and received; the sender found the ring/frames full $f times and waited; frames accounted"
else
	fail "small UMEM: tx_xdp $x, tx_full $f, captured $got of 5000; $(grep -o 'accounted [a-zA-Z]*' "$T/small.out")"
fi

# MTU change mid-stream: 1200-byte datagrams, vb's MTU drops to 1000
in_rcv ip link set vb mtu 1500
run_shim_txone "$T/mtu.out" --dst 198.18.0.1 --count 60 --size 1200 --gap-ms 15 &
RP=$!
wait_bound "$T/mtu.out"
sleep 0.3
in_rcv ip link set vb mtu 1000
wait $RP
check_reason "MTU lowered mid-stream below the datagram" "$T/mtu.out" mtu 5 5
in_rcv ip link set vb mtu 1500

# ---- 3. two queues -------------------------------------------------------------
# A 2-queue veth pair.  The kernel picks a TX queue per flow (skb_tx_hash:
# veth has no XPS); an AF_XDP socket transmits on its own queue, and the
# shim picks the socket's AF_XDP socket by a hash of the flow.  With an XDP
# program on the peer, veth hands each TX queue's packets to the peer's RX
# queue of the same number (its NAPI), so the peer's per-queue counters
# show where frames went.  The differential table again: identical frames
# in the same order per flow, both queues used by the shim as by plain.
cleanup_pids() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; PIDS=(); }
cleanup_pids
netns_cleanup
if netns_setup 2; then
	# a link just set up: carrier on, but its operstate (IFF_RUNNING)
	# still "down" until linkwatch runs, up to 1 s later for this veth
	# (see "link down and up").  The kernel transmits on it meanwhile, and
	# so does the shim: it looks at IFF_UP and the carrier (IFF_LOWER_UP),
	# not IFF_RUNNING (the build before sent every datagram of this window
	# through the kernel as tx_kernel_link_down).  Conclusive only when the
	# operstate was still down after the sends; said so otherwise.
	op0=$(in_rcv cat /sys/class/net/vb/operstate)
	run_shim_txone "$T/fresh.out" --dst 198.18.0.1 --count 20
	op1=$(in_rcv cat /sys/class/net/vb/operstate)
	kw=$(ctr "$T/fresh.out" tx_kernel_link_down); x=$(ctr "$T/fresh.out" tx_xdp)
	if [ "$op1" != down ]; then
		echo "NOTE: link just set up: inconclusive, vb's operstate was $op0 before and $op1 after the sends (tx_xdp $x, tx_kernel_link_down $kw)"
	elif [ "$x" = 20 ] && [ "$kw" = 0 ]; then
		pass "link just set up (carrier on, operstate still down): tx_xdp $x of 20, tx_kernel_link_down $kw"
	else
		fail "link just set up (carrier on, operstate still down): tx_xdp $x of 20, tx_kernel_link_down $kw; $(grep -o 'txone: ok.*' "$T/fresh.out")"
	fi
	in_rcv ethtool -K vb tx off >/dev/null 2>&1
	in_gen xdppass attach --iface va --mode native >"$T/mq.xdp" 2>&1 || fail "2 queues: xdppass on va: $(cat "$T/mq.xdp")"
	sleep 1
	in_gen udpdump --bind :: --port 9000 --count 1000000 --max-secs 100 >/dev/null 2>&1 &
	PIDS+=($!)
	rxq() { in_gen ethtool -S va | awk -v q="rx_queue_$1_xdp_packets:" '$1 == q {print $2}'; }
	for mode in plain shim; do
		q0=$(rxq 0); q1=$(rxq 1)
		txsend_run mq- $mode 21500
		eval "d0_$mode=$(( $(rxq 0) - q0 )) d1_$mode=$(( $(rxq 1) - q1 ))"
	done
	sort -s -k2,2 "$T/mq-plain.cap" >"$T/mq-plain.sorted"
	sort -s -k2,2 "$T/mq-shim.cap" >"$T/mq-shim.sorted"
	np=$(grep -c . "$T/mq-plain.cap")
	if [ "$np" = $N ] && cmp -s "$T/mq-plain.sorted" "$T/mq-shim.sorted"; then
		pass "2 queues: all $N frames identical to plain, in the same order within each flow"
	else
		fail "2 queues: $np plain frames; differences:"
		diff "$T/mq-plain.sorted" "$T/mq-shim.sorted" | head -10
	fi
	x=$(ctr "$T/mq-shim.out" tx_xdp); k=$(ctr "$T/mq-shim.out" tx_kernel)
	c0=$(sed -n 's/.*queue 0: frames.* tx_completed \([0-9]*\).*/\1/p' "$T/mq-shim.out" | tail -1)
	c1=$(sed -n 's/.*queue 1: frames.* tx_completed \([0-9]*\).*/\1/p' "$T/mq-shim.out" | tail -1)
	# shellcheck disable=SC2154
	if [ "$x" = $N ] && [ "$k" = 0 ] && [ "${c0:-0}" -gt 0 ] && [ "${c1:-0}" -gt 0 ] &&
		[ "$d0_shim" -gt 0 ] && [ "$d1_shim" -gt 0 ] && [ "$d0_plain" -gt 0 ] && [ "$d1_plain" -gt 0 ]; then
		pass "2 queues: the shim sent all $N through AF_XDP on both queues (tx_completed $c0 + $c1 by the parent; the peer's RX queues got $d0_shim + $d1_shim, plain $d0_plain + $d1_plain)"
	else
		fail "2 queues: tx_xdp $x tx_kernel $k, the parent's tx_completed per queue '${c0:-}' '${c1:-}', the peer's RX queues shim $d0_shim + $d1_shim, plain $d0_plain + $d1_plain"
	fi
	in_gen xdppass detach --iface va >/dev/null 2>&1
else
	fail "2-queue netns setup failed"
fi

exit $rc
