#!/bin/bash
# t_reuseport.sh - SO_REUSEPORT flow affinity and per-flow order under load
# (issue 13 item 3).  A 4-socket SO_REUSEPORT group (tests/tools/streamrecv,
# one thread per socket, poll + recvmmsg(64)) receives 64 flows from two
# udpgen senders (sendmmsg, 32 flows each, own source ports and sequence
# numbers) while a CPU hog shares the receiver's CPU, so the receiver falls
# behind, the fill budget runs out and datagrams spill to the kernel path.
# Per run it checks, plain and under the shim in each mode:
#   - flows_split=0: every flow's datagrams reached one socket, whichever
#     path (AF_XDP or the kernel socket after a spill) carried them;
#   - reordered=0: no flow's datagram came after a later one on its socket;
#   - bad=0 dup=0 (loss is allowed: the hog makes the kernel drop too);
#   - under the shim: the run did spill (pass_spill > 0) and most datagrams
#     still came through AF_XDP (rx_xdp), else the run proved nothing.
# RP_RUNS runs per mode (default 10) must all pass, then RP_HEAVY_RUNS (5)
# with heavy spilling (512 UMEM frames, a receive buffer the kernel socket
# does not overflow).  Each run is bounded (udpgen --duration-max,
# streamrecv --max-secs, timeout); the whole test takes about 80 s.
# Environment: RP_MODES="plain skb native", RP_RUNS=10, RP_HEAVY_RUNS=5,
# RP_COUNT=60000 (per sender).
cd "$(dirname "$0")/.." || exit 1
NETNS_TEST_NAME=t_reuseport
. scripts/netns.sh
netns_skip_unless_root

SHIM=$PWD/build/libxskshim.so
UDPGEN=$PWD/build/tests/udpgen
STREAMRECV=$PWD/build/tests/streamrecv
for f in "$SHIM" "$UDPGEN" "$STREAMRECV"; do
	if [ ! -e "$f" ]; then
		echo "SKIP: t_reuseport: $f missing (run make)"
		exit 0
	fi
done
MODES=${RP_MODES:-"plain skb native"}
RUNS=${RP_RUNS:-10}
COUNT=${RP_COUNT:-60000}
PORT=9260
NCPU=$(nproc)
RCPU=$((NCPU - 1))
netns_test_init
fails=0
netns_setup || { echo "FAIL: t_reuseport: netns setup failed"; exit 1; }
pass() { echo "PASS: t_reuseport: $*"; }
fail() { echo "FAIL: t_reuseport: $*"; fails=$((fails + 1)); }

# one_run MODE I: sets RUN_OK and RUN_MSG
one_run()
{
	local mode=$1 i=$2 out=$TMP/sr.out err=$TMP/sr.err spid hog line spill rx_xdp rx_kernel
	local -a pre=()
	[ "$mode" != plain ] && pre=(env XSKSHIM_IFACE="$IF_RCV" XSKSHIM_PORTS=$PORT XSKSHIM_MODE="$mode"
		XSKSHIM_STATS=1 $RP_ENV LD_PRELOAD="$SHIM")
	# the receiver and a hog share the last CPU
	ip netns exec "$NS_RCV" timeout -k 2 30 taskset -c $RCPU "${pre[@]}" "$STREAMRECV" --port $PORT \
		--threads 4 --idle-ms 500 --max-secs 20 $RP_RECV_ARGS >"$out" 2>"$err" &
	spid=$!
	PIDS+=("$spid")
	for _ in $(seq 50); do
		grep -q 'ready' "$err" 2>/dev/null && break
		sleep 0.1
	done
	timeout 20 taskset -c $RCPU sh -c 'while :; do :; done' &
	hog=$!
	PIDS+=("$hog")
	in_gen timeout 20 "$UDPGEN" --dst "$ADDR_RCV" --port $PORT --flows 32 --sport-base 30000 --seq-base 0 \
		--count "$COUNT" --duration-max 10 >"$TMP/g1.out" 2>&1 &
	local g1=$!
	in_gen timeout 20 "$UDPGEN" --dst "$ADDR_RCV" --port $PORT --flows 32 --sport-base 31000 \
		--seq-base 1000000000 --count "$COUNT" --duration-max 10 >"$TMP/g2.out" 2>&1
	wait "$g1"
	wait "$spid"
	kill "$hog" 2>/dev/null
	wait "$hog" 2>/dev/null
	line=$(grep '^streamrecv: received=' "$out")
	spill=$(grep -o 'pass_spill [0-9]*' "$err" | awk '{ s += $2 } END { print s + 0 }')
	rx_xdp=$(grep -o 'rx_xdp [0-9]*' "$err" | awk '{ s += $2 } END { print s + 0 }')
	rx_kernel=$(grep -o 'rx_kernel [0-9]*' "$err" | awk '{ s += $2 } END { print s + 0 }')
	RUN_MSG="$(sed 's/.*\(received=[0-9]*\).*\(flows=[0-9]*\) \(flows_split=[0-9]*\) \(reordered=[0-9]*\).*/\1 \2 \3 \4/' <<<"$line") bad/dup: $(grep -o 'bad=[0-9]* dup=[0-9]*' <<<"$line")"
	[ "$mode" != plain ] && RUN_MSG="$RUN_MSG rx_xdp=$rx_xdp rx_kernel=$rx_kernel pass_spill=$spill"
	RUN_OK=0
	if [[ "$line" == *" bad=0 dup=0 "* ]] && [[ "$line" == *" flows=64 flows_split=0 reordered=0 "* ]]; then
		RUN_OK=1
		if [ "$mode" != plain ] && { [ "$spill" = 0 ] || [ "$rx_xdp" -le "$rx_kernel" ]; }; then
			RUN_OK=2
		fi
	fi
	[ -z "$line" ] && RUN_MSG="no summary: $(tail -2 "$err" | tr '\n' ' ')"
}

# series LABEL MODE: RUNS runs; RP_ENV / RP_RECV_ARGS as set by the caller
series()
{
	local label=$1 mode=$2 ok=0 nospill=0 t0 i
	t0=$(date +%s)
	for i in $(seq "$RUNS"); do
		one_run "$mode" "$i"
		case $RUN_OK in
		1) ok=$((ok + 1)) ;;
		2) ok=$((ok + 1)); nospill=$((nospill + 1)) ;;
		*) fail "$label: run $i of $RUNS: $RUN_MSG"
		   grep -h 'summary: xdp:' "$TMP/sr.err" | head -2 | sed 's/^/    /' ;;
		esac
		[ "$i" = 1 ] && echo "t_reuseport: $label run 1: $RUN_MSG"
	done
	if [ "$ok" = "$RUNS" ]; then
		pass "$label: $RUNS of $RUNS runs: 64 flows over a 4-socket SO_REUSEPORT group with a CPU hog on the receiver's CPU: flows_split=0 reordered=0 bad=0 dup=0 ($(($(date +%s) - t0)) s; last: $RUN_MSG)"
	fi
	if [ "$mode" != plain ]; then
		# the hog's timing varies: most runs must have spilled
		if [ $((nospill * 2)) -le "$RUNS" ]; then
			pass "$label: $((RUNS - nospill)) of $RUNS runs spilled past the fill budget and still took most datagrams through AF_XDP"
		else
			fail "$label: only $((RUNS - nospill)) of $RUNS runs spilled past the fill budget (the load proved little)"
		fi
	fi
}

for mode in $MODES; do
	RP_ENV='' RP_RECV_ARGS=''
	series "$mode" "$mode"
done
# Heavy spilling: a small UMEM (512 frames) makes 5-20% of the datagrams
# take the kernel path; the receive buffer is large enough that the kernel
# socket drops none of them (see xskshim(7): order around datagrams the
# kernel socket itself drops during a spill is not guaranteed).
RUNS=${RP_HEAVY_RUNS:-5}
for mode in $MODES; do
	[ "$mode" = plain ] && continue
	RP_ENV=XSKSHIM_FRAMES=512 RP_RECV_ARGS="--rcvbuf 33554432"
	series "$mode, 512 frames" "$mode"
done
echo "t_reuseport: $fails failure(s)"
[ "$fails" = 0 ]
