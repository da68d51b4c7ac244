#!/bin/bash
# t_killstorm.sh - kill -9 of forked workers at random moments, many times
# (issue 11: "only what that child held is lost, no one wedges"; ring.h
# "Dead holders").
#
# forkserve killstorm (tests/tools/forkserve.c): a parent binds the port
# (accelerated) and never reads; 4 forked children read it (and, in the
# echo run, with XSKSHIM_TX=on, send every batch back through AF_XDP) while
# udpgen floods it.  $KILLS times, at a random moment 1..30 ms apart, one
# child gets SIGKILL (inside a receive or a send, holding the socket's
# reader or sender lock, frames taken or not yet returned) and a new one
# is forked.  Then 4 fresh children read a bounded burst:
#  (a) every datagram of it arrives, once, through AF_XDP: UdpInDatagrams
#      in the receiver namespace flat (nothing spilled to the kernel path
#      for want of frames);
#  (b) the UMEM is whole again: the owner's exit summary counts every frame
#      free, on the fill ring or on an rx ring (held_by_readers 0,
#      tx_in_flight 0, idle + on_fill + on_rx_rings = frames);
#  (c) nobody wedges: the storm, the burst and every exit end in bounded
#      time (a verifier still running after its time bound is killed and
#      counted as wedged).
# Run twice: receive only, and receive + echo with XSKSHIM_TX=on.
#
# Then one kill at a known point (forkserve deadtx), on a UMEM of 256
# frames whose transmit share is 64: a child's sendmmsg of 64 datagrams on
# port P takes all 64 and holds them (its payload is an unreadable page: the
# shim's copy faults, and the child's SIGSEGV handler waits there) when it
# is killed; nobody sends on P again.  A blocking sender (no SO_SNDTIMEO)
# on port P+1, another socket of the same UMEM, must still send its 2000
# datagrams within 5 s, all through AF_XDP and all arriving, and the UMEM
# must be whole at the end: the waiter gives back frames a dead process
# holds under another socket's lock (send.c shim_tx_sweep), where it used
# to wait forever for frames only a take of that lock would return.  The
# same with the sender on port P itself (deadtx-same: it takes P's send
# lock over from the dead child, which gives the frames back).
# KILLSTORM_CASES picks cases (default "rx echo deadtx").
T=t_killstorm
. "$(dirname "$0")/fault_lib.sh"
fl_setup

D=$FL_TMP
PORT=9400
PORTS=$PORT
KILLS=${KILLSTORM_KILLS:-200}
N=${KILLSTORM_COUNT:-20000}

# stuck_report PID: where PID's children (the verifiers) are - state, wait
# channel, top of the kernel stack - and the stderr's last shim lines, for
# a failure that says "wedged?" to show where
stuck_report()
{
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do
		printf '[%s %s wchan=%s %s] ' "$c" "$(awk '{print $3}' "/proc/$c/stat" 2>/dev/null)" \
			"$(cat "/proc/$c/wchan" 2>/dev/null)" "$(head -3 "/proc/$c/stack" 2>/dev/null | awk '{print $2}' | tr '\n' ' ')"
	done
	# and, where gdb is there, the first one's user-space stack (this is how
	# the lock word 0x80000000 of ring_lock_slow's lost race was found)
	c=$(pgrep -P "$1" 2>/dev/null | head -1)
	if [ -n "$c" ] && command -v gdb >/dev/null; then
		printf '[gdb %s: %s] ' "$c" "$(timeout 30 gdb -p "$c" -batch -ex bt 2>/dev/null | grep -E '^#[0-9]' | head -8 |
			sed -E 's/^#([0-9]+) +(0x[0-9a-f]+ in )?([^ ]+) \((.*)\) at ([^ ]+)$/\3(\4) \5;/; s/^#([0-9]+) +(0x[0-9a-f]+ in )?([^ ]+).*/\3;/' | tr '\n' ' ')"
	fi
	grep xskshim "$D/$tag.err" 2>/dev/null | grep -v summary | tail -3 | tr '\n' ' '
}

# kill_tree PID: PID and its children (the verifiers: a wedged one would
# keep the XDP program attached, and the next case could not install)
kill_tree()
{
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do
		kill -KILL "$c" 2>/dev/null
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

storm()   # TAG EXTRA-ENV EXTRA-ARGS
{
	local tag=$1 env=$2 args=$3 t0 line u0 u1 q bad
	t0=$SECONDS
	FL_OUT=$D/$tag.out FL_ERR=$D/$tag.err fl_bg_rcv P env $(shim_env) $env forkserve killstorm --port $PORT \
		--children 4 --kills "$KILLS" --expect "$N" --idle-ms 1500 --max-secs 20 $args
	wait_file "$D/$tag.err" 'forkserve: ready' 5 || { fail "$tag: not ready: $(head -3 "$D/$tag.err")"; return 1; }
	check "$(grep -q 'accelerated: fd' "$D/$tag.err"; echo $?)" "$tag: the parent's socket is accelerated" \
		"$(head -3 "$D/$tag.err")"
	FL_OUT=$D/$tag.flood FL_ERR=$D/$tag.flood.err fl_bg_gen FLOOD udpgen --dst "$ADDR_RCV" --port $PORT \
		--count 100000000 --rate ${KILLSTORM_RATE:-0} --flows 4 --size ${KILLSTORM_SIZE:-512} --seq-base 1000000000 --duration-max 40
	if ! wait_file "$D/$tag.err" 'forkserve: storm done' 45; then
		fail "$tag: the storm of $KILLS kills did not end within 45 s (wedged?)"
		stop_pid "$FLOOD" 3; kill_tree "$P"; return 1
	fi
	stop_pid "$FLOOD" 3
	pass "$tag: $KILLS kill -9 of reading$([ -n "$args" ] && echo '/echoing') children at random moments and re-forks, in $((SECONDS - t0)) s ($(grep -o 'storm_rx.*' "$D/$tag.err"))"
	if ! wait_file "$D/$tag.err" 'forkserve: verify ready' 15; then
		fail "$tag: the fresh children never saw the socket quiet (wedged?) -- $(stuck_report "$P")"
		kill_tree "$P"; return 1
	fi
	u0=$(udp_in_datagrams)
	in_gen udpgen --dst "$ADDR_RCV" --port $PORT --count "$N" --rate 20000 --flows 4 --size 64 >/dev/null 2>&1
	if ! wait_exit "$P" 40; then
		fail "$tag: the verifiers did not finish within 40 s (wedged?)"
		kill_tree "$P"; return 1
	fi
	u1=$(udp_in_datagrams)
	line=$(grep '^killstorm:' "$D/$tag.out")
	check "$([ "$WRC" = 0 ] && grep -q " expected $N got $N dup 0 bad 0 .*failed_children 0 wedged 0" <<<"$line"; echo $?)" \
		"$tag: after the storm every one of $N datagrams is read, once, nobody wedged" "rc $WRC: $line"
	check "$([ $((u1 - u0)) = 0 ]; echo $?)" \
		"$tag: ... all through AF_XDP: UdpInDatagrams +$((u1 - u0)) in the receiver namespace" \
		"$(grep -E 'summary: fd .* port' "$D/$tag.err" | tail -4 | tr '\n' ' ')"
	# the owner (the parent, the last to exit) sees the whole UMEM
	q=$(grep -E "^xskshim\[$P\]: .*summary: queue [0-9]+: frames" "$D/$tag.err")
	bad=$(awk '{ for (i = 1; i < NF; i++) v[$i] = $(i + 1);
		if (v["held_by_readers"] != 0 || v["tx_in_flight"] != 0 || v["accounted"] != "yes" ||
		    v["idle"] + v["on_fill"] + v["on_rx_rings"] != v["frames"]) print }' <<<"$q")
	check "$([ -n "$q" ] && [ -z "$bad" ]; echo $?)" \
		"$tag: the UMEM is whole at the end: $(grep -oE 'frames [0-9]+ idle [0-9]+ on_fill [0-9]+ on_rx_rings [0-9]+ held_by_readers -?[0-9]+|tx_in_flight [0-9]+|reclaimed [0-9]+|takeovers [0-9]+' <<<"$q" | tr '\n' ' ')" \
		"${q:-no queue line from the parent $P}"
	# the same give-backs in the takers' own counters (xskshim-stat, Prometheus):
	# per process and socket, a part of the UMEM's count (which adds the fill lock's)
	local st sr ur
	st=$(grep -oE 'summary: fd [0-9]+ port .* lock_takeovers [0-9]+' "$D/$tag.err" | awk '{ s += $NF } END { print s + 0 }')
	sr=$(grep -E 'summary: fd [0-9]+ port ' "$D/$tag.err" | grep -oE ' reclaimed [0-9]+' | awk '{ s += $2 } END { print s + 0 }')
	ur=$(grep -oE 'reclaimed [0-9]+' <<<"$q" | awk '{ s += $2 } END { print s + 0 }')
	check "$([ "$sr" -le "$ur" ] && { [ "$sr" = 0 ] || [ "$st" -ge 1 ]; }; echo $?)" \
		"$tag: the takers' socket counters: lock_takeovers $st, reclaimed $sr (of the UMEM's $ur)"
}

deadtx()   # TAG [--same]
{
	local tag=$1 same=${2:-} line q bad got x p1=$((PORT + 10)) p2=$((PORT + 11))
	[ -n "$same" ] && p2=$p1
	in_rcv ip neigh replace "$ADDR_GEN" lladdr "$MAC_GEN" dev "$IF_RCV" nud permanent
	FL_OUT=$D/$tag.sink FL_ERR=/dev/null fl_bg_gen SINK udpdump --bind 0.0.0.0 --port 9 --count 2000 --max-secs 30
	sleep 0.2
	PORTS=$((PORT + 10))-$((PORT + 11))
	FL_OUT=$D/$tag.out FL_ERR=$D/$tag.err fl_bg_rcv P env $(shim_env) XSKSHIM_TX=on XSKSHIM_FRAMES=256 \
		forkserve deadtx --port $((PORT + 10)) --dst "$ADDR_GEN" --expect 2000 --max-secs 5 $same
	if ! wait_exit "$P" 30; then
		fail "$tag: forkserve deadtx did not end within 30 s -- $(stuck_report "$P")"
		kill_tree "$P"; return 1
	fi
	line=$(grep '^deadtx:' "$D/$tag.out")
	check "$(grep -q 'held yes' <<<"$line"; echo $?)" \
		"$tag: a child killed (-9) inside sendmmsg on port $p1 holding the UMEM's whole transmit share (64 frames, send lock held)" \
		"$line $(grep forkserve: "$D/$tag.err" | tr '\n' ' ')"
	check "$([ "$WRC" = 0 ] && grep -q 'sent 2000 of 2000 .* wedged 0' <<<"$line"; echo $?)" \
		"$tag: a blocking sender on port $p2 ($([ -n "$same" ] && echo 'the same socket: it takes the send lock over' ||
			echo "same UMEM, nobody sends on $p1 again")) is not wedged: ${line#deadtx: }" \
		"rc $WRC: $line $(grep xskshim "$D/$tag.err" | grep -v summary | tail -3 | tr '\n' ' ')"
	x=$(grep -E 'summary: fd [0-9]+ port '$p2 "$D/$tag.err" | grep -oE ' tx_xdp [0-9]+' | awk '{ s += $2 } END { print s + 0 }')
	for _ in $(seq 40); do
		got=$(grep -c 'port=9 ' "$D/$tag.sink" 2>/dev/null)
		[ "${got:-0}" -ge 2000 ] && break
		sleep 0.1
	done
	check "$([ "$x" = 2000 ] && [ "${got:-0}" = 2000 ]; echo $?)" \
		"$tag: ... all 2000 through AF_XDP (tx_xdp $x) and all arrived ($got)"
	q=$(grep -E "^xskshim\[$P\]: .*summary: queue [0-9]+: frames" "$D/$tag.err")
	bad=$(awk '{ for (i = 1; i < NF; i++) v[$i] = $(i + 1);
		if (v["held_by_readers"] != 0 || v["tx_in_flight"] != 0 || v["accounted"] != "yes" ||
		    v["idle"] + v["on_fill"] + v["on_rx_rings"] != v["frames"]) print }' <<<"$q")
	check "$([ -n "$q" ] && [ -z "$bad" ]; echo $?)" \
		"$tag: the UMEM is whole at the end (the dead child's 64 frames given back): $(grep -oE 'frames [0-9]+ idle [0-9]+|tx_in_flight [0-9]+|reclaimed [0-9]+' <<<"$q" | tr '\n' ' ')" \
		"${q:-no queue line from $P}"
	stop_pid "$SINK" 2
}

for c in ${KILLSTORM_CASES:-rx echo deadtx}; do
	case $c in
	rx) storm rx "" "" ;;
	echo) storm echo "XSKSHIM_TX=on" "--echo" ;;
	deadtx) deadtx deadtx; deadtx deadtx-same --same ;;
	esac
done
fl_finish
