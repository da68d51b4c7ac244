#!/bin/bash
# t_spillorder.sh - a flow's datagrams stay in order on one socket when the
# XDP program spills some of them to the kernel socket, with a spin reader
# (issue 13: the bench smoke's udpgen skb 64 B shim-spin cell, 100000 of
# 100000 delivered, 618 spilled, some of a flow out of order).
#
# The cause: a reader whose rings ran dry reads its kernel socket directly
# (outside a spill episode).  When the XDP program redirected frames to the
# ring and then began an episode while that read was under way - a spin
# reader is almost always there, and a CPU hog preempts it there - the read
# took the episode's datagrams before those frames.  The episode then
# waited in vain for the datagrams already taken (spill_unseen).
#
# Setup: one socket (tests/tools/streamrecv --spin: recvmmsg(64,
# MSG_DONTWAIT) in a loop), a CPU hog on its CPU, a 256-frame UMEM so the
# fill budget runs out whenever the hog has the CPU, udpgen paced at
# SO_RATE (100k/s) over 8 flows with per-flow sequence numbers, a 32 MiB
# receive buffer (the kernel socket drops nothing: order around the kernel
# socket's own drops is a documented limit, xskshim(7) FILL BUDGET).
# Two series per mode:
#   delayed  tests/apps/kreaddelay.c, preloaded after the shim, holds every
#            64th of the shim's kernel-socket reads 200 us before it enters
#            the kernel: the preemption at the wrong moment, made frequent
#            (the bare hog hits it in about 1 of 3 runs on a loaded VM);
#   hog      the hog alone.
# Per run: every datagram arrived once (received=COUNT, bad=0, dup=0),
# reordered=0, no spill_unseen, and the run did spill (pass_spill > 0)
# with some datagrams through AF_XDP (rx_xdp > 0); a run that did not spill
# is repeated (up to 4 tries, the rate doubled each time) and fails if none
# of them spilled.
# Before the fix: delayed skb runs reordered 776 and 1200 datagrams (with
# spill_unseen 994 and 1412); hog-only skb runs 32 and 64 in 2 of 3.
# Each run prints where missing datagrams went: the generator's sent count
# and resends, every drop counter on the path (path_counters: the sender's
# SndbufErrors and veth tx_dropped, the receiving veth's rx_dropped, the
# receive namespace's Udp InErrors, RcvbufErrors, NoPorts, the host's
# backlog drops), the XDP program's pass_no_port, and streamrecv's stop
# line (why it stopped, its longest absence, the missing sequence ranges).
# Losses seen under other work's load (issue 11) were the test's, not the
# shim's: the receiver's stderr was emptied by the background child, so
# wait_ready could read the previous run's ready line and the generator
# sent before the bind (missing_seq=0-8060, NoPorts+8061, pass_no_port
# 2602: the head of the run); and the sending veth dropped 7 (va
# tx_dropped+7, SndbufErrors+7, missing_seq=5183-5189) with its XDP ring
# full, before any XDP program ran, which udpgen --no-drop now sends again.
# Environment: SO_MODES="skb native", SO_RUNS=3 (delayed), SO_HOG_RUNS=2,
# SO_COUNT=100000, SO_RATE=100000, SO_FRAMES=256, SO_SHIM (the library).
# About 40 s.
cd "$(dirname "$0")/.." || exit 1
NETNS_TEST_NAME=t_spillorder
. scripts/netns.sh
netns_skip_unless_root

SHIM=${SO_SHIM:-$PWD/build/libxskshim.so}
UDPGEN=$PWD/build/tests/udpgen
STREAMRECV=$PWD/build/tests/streamrecv
netns_need_files t_spillorder "$SHIM" "$UDPGEN" "$STREAMRECV"
MODES=${SO_MODES:-"skb native"}
RUNS=${SO_RUNS:-3}
HOG_RUNS=${SO_HOG_RUNS:-2}
COUNT=${SO_COUNT:-100000}
RATE=${SO_RATE:-100000}
FRAMES=${SO_FRAMES:-256}
PORT=9270
NCPU=$(nproc)
RCPU=$((NCPU - 1))
GCPU=0
netns_test_init
fails=0
netns_setup || { echo "FAIL: t_spillorder: netns setup failed"; exit 1; }
if ! cc -O2 -shared -fPIC -o "$TMP/kreaddelay.so" tests/apps/kreaddelay.c -ldl 2>"$TMP/cc.log"; then
	echo "FAIL: t_spillorder: cannot build tests/apps/kreaddelay.c: $(head -1 "$TMP/cc.log")"
	exit 1
fi

# path_counters: "name=value" of every counter on the datagrams' path that
# can drop one; counters_delta OLD NEW: "name+delta" of each
path_counters()
{
	local f
	echo "gen-SndbufErrors=$(in_gen awk '$1 == "Udp:" && !h { for (i = 2; i <= NF; i++) c[$i] = i; h = 1; next }
		$1 == "Udp:" { print $c["SndbufErrors"]; exit }' /proc/net/snmp)"
	for f in tx_dropped tx_errors; do
		echo "$IF_GEN-$f=$(in_gen cat /sys/class/net/"$IF_GEN"/statistics/$f)"
	done
	for f in rx_dropped rx_errors; do
		echo "$IF_RCV-$f=$(in_rcv cat /sys/class/net/"$IF_RCV"/statistics/$f)"
	done
	for f in InErrors RcvbufErrors NoPorts; do
		echo "$f=$(netns_udp_counter $f)"
	done
	# the host's backlog drops (netif_rx, skb mode), all CPUs, all namespaces
	local d sum=0
	while read -r _ d _; do sum=$((sum + 16#$d)); done </proc/net/softnet_stat
	echo "softnet_dropped=$sum"
}

counters_delta()
{
	join -t= <(tr ' ' '\n' <<<"$1" | sort) <(tr ' ' '\n' <<<"$2" | sort) |
		awk -F= '{ printf "%s%s+%d", n++ ? " " : "", $1, $3 - $2 }'
}

# one_run MODE PRELOAD [RATE]: sets RUN_OK (1 good, 2 good but nothing
# spilled) and RUN_MSG
one_run()
{
	local mode=$1 preload=$2 out=$TMP/sr.out err=$TMP/sr.err spid line spill rx_xdp unseen c0
	c0=$(path_counters)
	# emptied here, not by the redirection in the background child: a
	# loaded machine ran that child after wait_ready had read the previous
	# run's ready line, and the generator sent before the bind (the first
	# 8061 datagrams to NoPorts, 2602 of them pass_no_port)
	: >"$out"
	: >"$err"
	: >"$TMP/g.out"
	ip netns exec "$NS_RCV" timeout -k 2 30 taskset -c $RCPU env XSKSHIM_IFACE="$IF_RCV" XSKSHIM_PORTS=$PORT \
		XSKSHIM_MODE="$mode" XSKSHIM_STATS=1 XSKSHIM_FRAMES="$FRAMES" LD_PRELOAD="$preload" \
		"$STREAMRECV" --port $PORT --spin --rcvbuf 33554432 --expect "$COUNT" --idle-ms 3000 \
		--max-secs 25 >"$out" 2>"$err" &
	spid=$!
	PIDS+=("$spid")
	if ! wait_ready "$err" 20; then
		kill "$spid" 2>/dev/null
		wait "$spid"
		RUN_OK=0
		RUN_MSG="receiver not ready in 20 s: $(head -3 "$err" | tr '\n' ' ')"
		return
	fi
	cpu_hog $RCPU 25
	# --no-drop: a datagram the generator's host drops on the way out (the
	# veth's 256-slot XDP ring full while its NAPI waits for the CPU, before
	# any XDP program: va tx_dropped, SndbufErrors) is sent again; it lost
	# 7 in one native run under load, a loss of the sending host, not ours
	in_gen timeout 25 taskset -c $GCPU "$UDPGEN" --dst "$ADDR_RCV" --port $PORT --flows 8 --count "$COUNT" \
		--rate "${3:-$RATE}" --duration-max 20 --no-drop >"$TMP/g.out" 2>&1
	wait "$spid"
	cpu_hog_stop
	line=$(grep '^streamrecv: received=' "$out")
	spill=$(shim_stat_sum pass_spill "$err")
	rx_xdp=$(shim_stat_sum rx_xdp "$err")
	unseen=$(shim_stat_sum spill_unseen "$err")
	RUN_MSG="$(grep -o 'delayed=[0-9]*' "$err" | sed 's/$/ /')$(grep -o 'received=[0-9]*\|bad=[0-9]*\|dup=[0-9]*\|missing=[0-9]*\|reordered=[0-9]*' <<<"$line" |
		tr '\n' ' ')rx_xdp=$rx_xdp pass_spill=$spill spill_unseen=$unseen"
	# where a missing datagram went: the sender never sent it, the sender's
	# stack or veth dropped it, the receiving veth or the kernel socket's
	# buffer dropped it, it reached the port after the socket closed
	# (NoPorts), or the receiver stopped before it came (stop=, max_gap_ms)
	RUN_MSG+=" gen: $(grep -o 'sent=[0-9]*\|secs=[0-9.]*\|resent=[0-9]*\|refused=[0-9]*' "$TMP/g.out" | tr '\n' ' ')"
	RUN_MSG+=" $(counters_delta "$c0" "$(path_counters)")"
	RUN_MSG+=" pass_no_port=$(shim_stat_sum pass_no_port "$err")"
	RUN_MSG+=" $(grep -o 'stop=.*' "$err" | head -1)"
	[ -z "$line" ] && RUN_MSG="no summary: $(tail -2 "$err" | tr '\n' ' ')"
	RUN_OK=0
	[[ "$line" == *" bad=0 dup=0 "* ]] && [[ "$line" == *"received=$COUNT "* ]] &&
		[[ "$line" == *" reordered=0 "* ]] && [ "$unseen" = 0 ] && [ "$rx_xdp" -gt 0 ] &&
		RUN_OK=1
	# a run in which the scheduler gave the reader the CPU back often enough
	# that the fill budget never ran out tested nothing: inconclusive, not a pass
	[ "$RUN_OK" = 1 ] && [ "${spill:-0}" = 0 ] && RUN_OK=2
	# a failed run's whole output stays for NETNS_KEEP_TMP=1
	[ "$RUN_OK" = 0 ] && cat "$out" "$err" "$TMP/g.out" >"$TMP/failed.$((++FAILED_RUNS))"
	return 0
}

# series LABEL MODE N PRELOAD
series()
{
	local label=$1 mode=$2 n=$3 ok=0 t0 i rate
	t0=$(date +%s)
	for i in $(seq "$n"); do
		# up to 4 tries for a run that spills, each at twice the rate
		# (EEVDF's short slices on 6.18 gave the reader back its CPU in
		# time: 4 delayed skb tries at 100k/s in a row spilled nothing
		# on a quiet VM; the 256 frames last 2.6 ms at 100k/s, 0.3 ms at
		# 800k/s)
		rate=$RATE
		for _ in 1 2 3 4; do
			one_run "$mode" "$4" "$rate"
			[ "$RUN_OK" = 2 ] || break
			echo "t_spillorder: $label run $i: nothing spilled at $rate/s, run again at $((rate * 2))/s: $RUN_MSG"
			rate=$((rate * 2))
		done
		if [ "$RUN_OK" = 1 ]; then
			ok=$((ok + 1))
		else
			echo "FAIL: t_spillorder: $label run $i of $n: spin reader, CPU hog, $FRAMES-frame UMEM: $RUN_MSG"
			fails=$((fails + 1))
		fi
		echo "t_spillorder: $label run $i: $RUN_MSG"
	done
	[ "$ok" = "$n" ] &&
		echo "PASS: t_spillorder: $label: $n of $n runs of a spin reader sharing its CPU with a hog, every run spilling: all $COUNT datagrams once, no flow reordered, no spilled datagram unseen ($(($(date +%s) - t0)) s)"
}

for mode in $MODES; do
	series "$mode, kernel reads delayed" "$mode" "$RUNS" "$SHIM:$TMP/kreaddelay.so"
	series "$mode, hog only" "$mode" "$HOG_RUNS" "$SHIM"
done
echo "t_spillorder: $fails failure(s)"
[ "$fails" = 0 ]
