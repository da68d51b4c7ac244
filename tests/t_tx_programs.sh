#!/bin/bash
# t_tx_programs.sh - real, unmodified programs sending through AF_XDP
# (XSKSHIM_TX=on) in a netns pair; the other end runs plain:
#   knotd   answers kdig (IPv4 A, IPv6 AAAA, NXDOMAIN) - its answers leave
#           through the tx ring
#   socat   sends a file as 1 KiB datagrams from a configured source port to
#           a plain socat receiver; the received file must be identical
#   iperf   iperf 2 UDP client bound to a configured port, 2 s at 20 Mbit/s;
#           the plain server must report 0 lost
# Each also checks the shim's exit summary: the sends went out as tx_xdp,
# none through the kernel (the fixture's neighbours are permanent).
cd "$(dirname "$0")/.." || exit 1
. scripts/netns.sh
. scripts/knot.sh
NETNS_TEST_NAME=t_tx_programs netns_skip_unless_root
[ -f build/libxskshim.so ] || { echo "FAIL: build/libxskshim.so missing (run make)"; exit 1; }

SHIM=$PWD/build/libxskshim.so
T=$(mktemp -d /tmp/xsk-txp.XXXXXX)
PIDS=()
rc=0
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; netns_cleanup; rm -rf "$T"; }
NETNS_NO_TRAP=1
trap cleanup EXIT
KEEP=${KEEP:-}
netns_setup 1 || { echo "FAIL: netns setup"; exit 1; }
in_rcv ethtool -K vb tx off >/dev/null 2>&1
sleep 1

pass() { echo "PASS: t_tx_programs: $*"; }
fail() { echo "FAIL: t_tx_programs: $*"; rc=1; }
skip() { echo "SKIP: t_tx_programs: $*"; }
have() { command -v "$1" >/dev/null 2>&1; }
SHIMENV="XSKSHIM_IFACE=vb XSKSHIM_PORTS=5353,9200-9299 XSKSHIM_TX=on XSKSHIM_STATS=1 XSKSHIM_LINGER_MS=0 LD_PRELOAD=$SHIM"
ctr() { grep -o " $2 [0-9]*" "$1" | awk '{s += $2} END {print s + 0}'; }

wait_bound() {
	for _ in $(seq 50); do
		$1 ss -Hlnu "sport = :$2" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# check_tx LABEL FILE MIN: tx_xdp >= MIN and tx_kernel == 0 in FILE's summary
check_tx() {
	local x k
	x=$(ctr "$2" tx_xdp); k=$(ctr "$2" tx_kernel)
	if [ "$x" -ge "$3" ] && [ "$k" = 0 ]; then
		pass "$1: sent through the AF_XDP tx ring (tx_xdp $x >= $3, tx_kernel 0)"
	else
		fail "$1: tx_xdp $x (want >= $3), tx_kernel $k (want 0): $(grep -o 'tx_kernel_[a-z_]* [0-9]*' "$2" | sort -u | tr '\n' ' ')"
	fi
}

# ---- knotd ------------------------------------------------------------------
if have knotd && have kdig; then
	d=$T/knot
	knot_setup "$d" "[ $ADDR_RCV@5353, $ADDR6_RCV@5353 ]"
	# shellcheck disable=SC2086
	ip netns exec "$NS_RCV" timeout -k 5 60 env $SHIMENV knotd -c "$d/knot.conf" >"$T/knotd.out" 2>"$T/knotd.err" &
	KP=$!
	PIDS+=("$KP")
	if wait_bound in_rcv 5353; then
		for _ in $(seq 50); do grep -q 'loaded, serial' "$T/knotd.err" && break; sleep 0.1; done
		ok=0
		for i in $(seq 10); do
			a=$(in_gen timeout 5 kdig @"$ADDR_RCV" -p 5353 +notcp +short +retry=0 www.example. A 2>&1)
			[ "$a" = 198.18.1.80 ] && ok=$((ok + 1))
			a=$(in_gen timeout 5 kdig @"$ADDR6_RCV" -p 5353 +notcp +short +retry=0 www.example. AAAA 2>&1)
			[ "$a" = 2001:2::80 ] && ok=$((ok + 1))
		done
		st=$(in_gen timeout 5 kdig @"$ADDR_RCV" -p 5353 +notcp +retry=0 nosuch.example. A 2>&1 | grep -o 'status: [A-Z]*')
		kill -TERM "$KP" 2>/dev/null
		wait "$KP" 2>/dev/null
		if [ $ok = 20 ] && [ "$st" = "status: NXDOMAIN" ]; then
			pass "knotd: 20/20 kdig queries (IPv4 A, IPv6 AAAA) answered correctly, NXDOMAIN for a missing name"
		else
			fail "knotd: $ok/20 answers right, missing name: '$st'"
		fi
		check_tx "knotd answers" "$T/knotd.err" 21
		[ -n "$KEEP" ] && cp "$T/knotd.err" /tmp/knotd.err
	else
		fail "knotd did not bind: $(tail -3 "$T/knotd.err")"
	fi
else
	skip "knotd/kdig not installed"
fi

# ---- socat ------------------------------------------------------------------
if have socat; then
	head -c $((256 * 1024)) /dev/urandom >"$T/socat.data"
	in_gen timeout 20 socat -u UDP4-RECV:9000,reuseaddr,rcvbuf=8388608 "OPEN:$T/socat.got,creat,trunc" &
	SP=$!
	PIDS+=("$SP")
	wait_bound in_gen 9000 || fail "socat receiver did not bind"
	# shellcheck disable=SC2086
	in_rcv env $SHIMENV socat -u -b 1024 "OPEN:$T/socat.data" "UDP4-SENDTO:$ADDR_GEN:9000,sourceport=9210" \
		>"$T/socat.out" 2>"$T/socat.err"
	for _ in $(seq 50); do
		[ "$(stat -c %s "$T/socat.got" 2>/dev/null)" = $((256 * 1024)) ] && break
		sleep 0.1
	done
	kill "$SP" 2>/dev/null
	wait "$SP" 2>/dev/null
	if cmp -s "$T/socat.data" "$T/socat.got"; then
		pass "socat: a 256 KiB file sent as 1 KiB datagrams arrived identical"
	else
		fail "socat: received $(stat -c %s "$T/socat.got" 2>/dev/null || echo 0) of $((256 * 1024)) bytes ($(cmp "$T/socat.data" "$T/socat.got" 2>&1 | head -1))"
	fi
	check_tx "socat sender" "$T/socat.err" 256
else
	skip "socat not installed"
fi

# ---- iperf 2 client --------------------------------------------------------------
if have iperf; then
	in_gen timeout 30 iperf -s -u -p 9001 -B "$ADDR_GEN" -w 4M >"$T/iperf.srv" 2>&1 &
	IP=$!
	PIDS+=("$IP")
	wait_bound in_gen 9001 || fail "iperf server did not bind"
	# shellcheck disable=SC2086
	in_rcv env $SHIMENV timeout 20 iperf -c "$ADDR_GEN" -u -p 9001 -B "$ADDR_RCV:9220" -b 20M -t 2 -l 1200 \
		>"$T/iperf.cli" 2>"$T/iperf.err"
	sleep 0.5
	kill "$IP" 2>/dev/null
	wait "$IP" 2>/dev/null
	read -r lost total < <(grep -oE '[0-9]+/ *[0-9]+ +\(' "$T/iperf.srv" | tail -1 | tr '/(' '  ')
	if [ -n "$total" ] && [ "$total" -gt 1000 ] && [ "$lost" = 0 ]; then
		pass "iperf 2 client: the plain server received $total datagrams, 0 lost"
	else
		fail "iperf 2 client: server report lost/total '${lost:-?}/${total:-?}'"
		tail -3 "$T/iperf.srv" | sed 's/^/    /'
	fi
	check_tx "iperf client" "$T/iperf.err" 1000
else
	skip "iperf not installed"
fi
exit $rc
