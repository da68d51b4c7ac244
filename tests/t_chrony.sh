#!/bin/bash
# t_chrony.sh - chrony serving NTP under the shim (issue 13).  chronyd runs
# in the rcv namespace in the foreground with -x (never steers a clock) under
# `setpriv --bounding-set -sys_time` (it could not even if it tried), serving
# its local clock (`local stratum 8`); tests/tools/ntpclient.py in the gen
# namespace sends NTP requests one at a time and checks every answer.
# chronyd sets SO_TIMESTAMPING 0x418 (RX_SOFTWARE|SOFTWARE|OPT_CMSG) on its
# server sockets, so its receive timestamps (T2) come from the shim's
# SCM_TIMESTAMPING.  Checks, for IPv4 and IPv6, plain and per mode:
#   - every request answered with a well-formed server reply whose
#     timestamps fall between the client's send and receive times;
#   - under the shim: the server sockets stayed accelerated (no "moved to
#     the kernel path" line), xskshim-stat on the live chronyd shows rx_xdp
#     covering the requests, and UdpInDatagrams (+Udp6InDatagrams) of the rcv namespace
#     grew by at most 2% of them;
#   - receive timestamps plausible: the median of T2 - T1 (server receive
#     stamp minus client send time; one clock) under the shim is within
#     1 ms of the plain run's.
# Skips, saying why, when chronyd, setpriv or python3 is missing.
cd "$(dirname "$0")/.." || exit 1
NETNS_TEST_NAME=t_chrony
. scripts/netns.sh
netns_skip_unless_root

SHIM=$PWD/build/libxskshim.so
NTPC=$PWD/tests/tools/ntpclient.py
STAT=$PWD/build/xskshim-stat
N=${CHRONY_REQUESTS:-200}
CHRONYD=$(command -v chronyd || echo /usr/sbin/chronyd)
if [ ! -f "$SHIM" ]; then
	echo "SKIP: t_chrony: build/libxskshim.so missing (run make)"
	exit 0
fi
for c in "$CHRONYD" setpriv python3; do
	if ! command -v "$c" >/dev/null; then
		echo "SKIP: t_chrony: $c not installed (scripts/deps.sh installs chrony)"
		exit 0
	fi
done

netns_test_init
fails=0
netns_setup || { echo "FAIL: t_chrony: netns setup failed"; exit 1; }
pass() { echo "PASS: t_chrony: $*"; }
fail() { echo "FAIL: t_chrony: $*"; fails=$((fails + 1)); }

cat >"$TMP/chrony.conf" <<EOF
# serve the local clock; never touch it (chronyd -x as well)
local stratum 8
allow all
cmdport 0
pidfile $TMP/chronyd.pid
driftfile $TMP/drift
EOF


# run PRELOAD(0|1) MODE ADDR: sets LINE, MEDIAN, UDP_DELTA, RX_XDP; $TMP/chronyd.err
run()
{
	local pre=$1 mode=$2 addr=$3 spid b
	local -a env=()
	[ "$pre" = 1 ] && env=(env XSKSHIM_IFACE="$IF_RCV" XSKSHIM_PORTS=123 XSKSHIM_MODE="$mode" XSKSHIM_STATS=1
		XSKSHIM_LOG=info LD_PRELOAD="$SHIM")
	rm -f "$TMP/chronyd.pid"
	b=$(udp_in_all)
	ip netns exec "$NS_RCV" timeout -k 2 60 setpriv --bounding-set -sys_time "${env[@]}" "$CHRONYD" -x -d -u root \
		-f "$TMP/chrony.conf" >"$TMP/chronyd.out" 2>"$TMP/chronyd.err" &
	spid=$!
	PIDS+=("$spid")
	for _ in $(seq 50); do
		in_rcv ss -Hlnu "sport = :123" 2>/dev/null | grep -q . && break
		sleep 0.1
	done
	sleep 0.3
	LINE=$(in_gen timeout 60 python3 "$NTPC" "$addr" "$N" 5 2>"$TMP/ntpc.err")
	UDP_DELTA=$(($(udp_in_all) - b))
	# chronyd closes stderr before it exits, so no exit summary: ask the
	# live process (xskshim-stat reads the shim's shared statistics)
	RX_XDP=0
	if [ "$pre" = 1 ]; then
		local pid
		pid=$(ip netns pids "$NS_RCV" | while read -r p; do
			[ "$(cat "/proc/$p/comm" 2>/dev/null)" = chronyd ] && echo "$p"; done | head -1)
		[ -n "$pid" ] && RX_XDP=$("$STAT" -j "$pid" 2>/dev/null |
			python3 -c 'import json,sys; print(sum(s["counters"]["rx_xdp"] for s in json.load(sys.stdin)["sockets"]))' \
			2>/dev/null || echo 0)
	fi
	kill -TERM "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	MEDIAN=$(sed -n 's/.*rx_delay_us_median=\([0-9.-]*\).*/\1/p' <<<"$LINE")
}

for fam in 4 6; do
	addr=$ADDR_RCV
	[ "$fam" = 6 ] && addr=$ADDR6_RCV
	run 0 - "$addr"
	if [[ "$LINE" == *"requests=$N answered=$N bad=0 "* ]]; then
		pass "plain IPv$fam: chronyd answered all $N NTP requests, timestamps in order ($LINE)"
	else
		fail "plain IPv$fam: ${LINE:-no result} $(head -3 "$TMP/ntpc.err" | tr '\n' ' ') chronyd: $(tail -3 "$TMP/chronyd.err" | tr '\n' ' ')"
		continue
	fi
	plain_median=$MEDIAN
	for mode in skb native; do
		run 1 "$mode" "$addr"
		label="$mode IPv$fam"
		if [[ "$LINE" == *"requests=$N answered=$N bad=0 "* ]]; then
			pass "$label: chronyd under the shim answered all $N NTP requests, timestamps in order"
		else
			fail "$label: ${LINE:-no result} $(head -3 "$TMP/ntpc.err" | tr '\n' ' ')"
		fi
		moved=$(grep -E 'NOT accelerated|moved to the kernel path' "$TMP/chronyd.err" | grep ' port 123 ' | head -2)
		if [ -z "$moved" ] && grep -q 'accelerated: fd .* udp port 123 ' "$TMP/chronyd.err"; then
			pass "$label: chronyd's NTP sockets accelerated and stayed so (SO_TIMESTAMPING 0x418 and the rest)"
		else
			fail "$label: chronyd's NTP socket not (or no longer) accelerated: ${moved:-no accelerated line}"
		fi
		if [ "$RX_XDP" -ge "$N" ] && [ $((UDP_DELTA * 50)) -le "$N" ]; then
			pass "$label: bypass: rx_xdp $RX_XDP for $N requests, UdpInDatagrams +$UDP_DELTA"
		else
			fail "$label: bypass: rx_xdp $RX_XDP for $N requests, UdpInDatagrams +$UDP_DELTA"
		fi
		if [ -n "$MEDIAN" ] && awk -v a="$MEDIAN" -v b="$plain_median" 'BEGIN { d = a - b; exit !(d < 1000 && d > -1000) }'; then
			pass "$label: receive timestamps: median T2-T1 ${MEDIAN} us under the shim vs ${plain_median} us plain (within 1 ms)"
		else
			fail "$label: receive timestamps: median T2-T1 ${MEDIAN:-?} us under the shim vs ${plain_median} us plain (more than 1 ms apart)"
		fi
	done
done
echo "t_chrony: $fails failure(s)"
[ "$fails" = 0 ]
