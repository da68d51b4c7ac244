#!/bin/bash
# t_fault_stop.sh - the application stops reading: SIGSTOP the receiver while
# a burst of 100k datagrams arrives, then SIGCONT.  Run once on a plain
# kernel socket and once under the shim, same receiver, same SO_RCVBUF.
#
# Expected under the shim: the queue's fill budget runs out after the
# frames posted to the kernel, and the XDP program passes the rest of the
# burst to the kernel stack (counter pass_spill), where the application's
# own socket buffers what its SO_RCVBUF holds and drops the rest exactly as
# a plain socket would (UdpRcvbufErrors).  So:
#   - after SIGCONT the shim delivers at least as many of the burst as the
#     plain socket did (its AF_XDP frames plus the same kernel buffer);
#   - AF_XDP itself drops nothing (rx_ring_full, rx_fill_ring_empty and
#     rx_dropped 0): every loss is the kernel socket's, counted where the
#     kernel counts it;
#   - every datagram is accounted: redirect + pass_spill = sent (a little
#     veth loss allowed), rx_xdp + rx_kernel = delivered;
#   - memory stays bounded, delivery resumes through AF_XDP afterwards, and
#     frame accounting is intact at exit.
# Done for the poll and block styles.
T=t_fault_stop
. "$(dirname "$0")/fault_lib.sh"
fl_setup

BURST=${FAULT_BURST:-100000}
N=${FAULT_COUNT:-5000}
WARM=1000
D=$FL_TMP


# run_stop TAG ENV... : one stopped-reader run; sets AFTER (burst datagrams
# delivered after SIGCONT), LATER (of the later batch), RCVBUF_ERR (the
# namespace's UdpRcvbufErrors during the burst), STATE, RSS0/RSS_STOP/RSS1,
# TERM_OK, C2 (all delivered).
run_stop()
{
	local t=$1 style=$2 c0 c1 e0; shift 2
	fl_recv_start "$t" "$style" "$@" || return 1
	in_gen udpgen --dst "$ADDR_RCV" --port 9000 --count "$WARM" --rate 100000 >/dev/null
	c0=$(fl_settle "$D/$t.out")
	# (sequence numbers run on across the three sends: fault_recv counts
	# a datagram older than its flow's last one as reordered)
	RSS0=$(rss_kb "$R")
	e0=$(netns_udp_counter RcvbufErrors)

	kill -STOP "$R"
	in_gen udpgen --dst "$ADDR_RCV" --port 9000 --count "$BURST" --rate 300000 --seq-base "$WARM" >"$D/$t.gen"
	RSS_STOP=$(rss_kb "$R")
	STATE=$(awk '{print $3}' "/proc/$R/stat")
	kill -CONT "$R"
	c1=$(fl_settle "$D/$t.out")
	RSS1=$(rss_kb "$R")
	RCVBUF_ERR=$(($(netns_udp_counter RcvbufErrors) - e0))
	AFTER=$((c1 - c0))

	in_gen udpgen --dst "$ADDR_RCV" --port 9000 --count "$N" --rate 100000 --seq-base $((WARM + BURST)) >/dev/null
	C2=$(fl_settle "$D/$t.out")
	LATER=$((C2 - c1))
	stop_pid "$R" 5
	TERM_OK=$?
	REORDERED=$(kv "$D/$t.out" reordered)
	return 0
}

for style in poll block; do
	t=stop-$style
	run_stop "plain-$t" "$style" || continue
	p_after=$AFTER p_err=$RCVBUF_ERR
	echo "# plain $style: $p_after of $BURST delivered after SIGCONT, UdpRcvbufErrors +$p_err, reordered ${REORDERED:-?}"
	run_stop "$t" "$style" $(shim_env) || continue

	check "$([ "$STATE" = T ]; echo $?)" "$t: receiver was stopped during the burst (state $STATE)"
	check "$([ "$AFTER" -ge "$p_after" ] && [ "$AFTER" -lt "$BURST" ]; echo $?)" \
		"$t: after SIGCONT the shim delivers no fewer of the burst than a plain socket ($AFTER vs plain $p_after of $BURST; the rest overflowed both)"
	check "$([ $((RSS1 - RSS0)) -lt 8192 ]; echo $?)" \
		"$t: memory bounded: RSS ${RSS0} kB before, ${RSS_STOP} kB stopped, ${RSS1} kB after (< 8 MiB growth)"
	check "$([ "$LATER" = "$N" ]; echo $?)" "$t: delivery resumes: a later batch of $N arrives completely ($LATER)"
	check "$TERM_OK" "$t: SIGTERM ends the receiver"

	total=$((WARM + BURST + N))
	redirect=$(summary_xdp "$D/$t.err" redirect)
	spill=$(summary_xdp "$D/$t.err" pass_spill)
	rx_xdp=$(summary_sock_sum "$D/$t.err" rx_xdp)
	rx_kernel=$(summary_sock_sum "$D/$t.err" rx_kernel)
	reached=$((${redirect:-0} + ${spill:-0}))
	# (a few frames may be lost on the veth before XDP when the sender is
	# fast; allow 1% there - they are not the shim's drops)
	check "$([ "$reached" -le "$total" ] && [ "$reached" -ge $((total - total / 100)) ] &&
		[ $((rx_xdp + rx_kernel)) = "$C2" ]; echo $?)" \
		"$t: every datagram accounted: redirect ${redirect:-?} + pass_spill ${spill:-?} = $reached of $total sent; rx_xdp $rx_xdp + rx_kernel $rx_kernel = $C2 delivered"
	check "$([ "${spill:-0}" -gt 0 ] && [ "$rx_kernel" -gt 0 ]; echo $?)" \
		"$t: the overflow went to the application's kernel socket (pass_spill $spill, $rx_kernel of them read back through it)"
	qline=$(grep -m1 'summary: queue 0: AF_XDP' "$D/$t.err")
	check "$(echo "$qline" | grep -qE 'rx_ring_full 0 rx_fill_ring_empty 0 rx_dropped 0 '; echo $?)" \
		"$t: AF_XDP itself dropped nothing (${qline#*queue 0: })"
	lost=$((reached - C2))
	check "$([ "$lost" -le "$RCVBUF_ERR" ]; echo $?)" \
		"$t: every loss is the kernel socket buffer's, counted by the kernel: $lost not delivered, UdpRcvbufErrors +$RCVBUF_ERR (plain +$p_err)"
	check "$([ "${REORDERED:-x}" = 0 ]; echo $?)" \
		"$t: arrival order kept across the two paths (reordered=${REORDERED:-?}: the spilled datagrams came between the AF_XDP ones before and after them)"
	check_accounted "$D/$t.err" "$t"
done

# A reader that is present but slower than the sender, with a tiny fill
# budget (XSKSHIM_FILL_MIN=64): many short spill episodes interleave with
# AF_XDP delivery.  Each flow must still arrive in order, complete (an
# 8 MiB SO_RCVBUF holds every spill), and without duplicates.
t=overflow-order
M=${FAULT_ORDER_COUNT:-200000}
FL_OUT=$D/$t.out FL_ERR=$D/$t.err fl_bg_rcv R env $(shim_env) XSKSHIM_FILL_MIN=64 fault_recv --port 9000 --poll-ms 50 \
	--style poll --rcvbuf 8388608 --expect "$M" --idle-ms 0 --max-secs 60 --progress-ms 50
if wait_file "$D/$t.err" 'accelerated: fd' 5; then
	e0=$(netns_udp_counter RcvbufErrors)
	in_gen udpgen --dst "$ADDR_RCV" --port 9000 --count "$M" --flows 4 >"$D/$t.gen"
	fl_settle "$D/$t.out" >/dev/null
	stop_pid "$R" 5
	e1=$(netns_udp_counter RcvbufErrors)
	spill=$(summary_xdp "$D/$t.err" pass_spill)
	rx_kernel=$(summary_sock_sum "$D/$t.err" rx_kernel)
	unseen=$(summary_sock_sum "$D/$t.err" spill_unseen)
	check "$([ "${spill:-0}" -gt 0 ] && [ "$rx_kernel" -gt 0 ]; echo $?)" \
		"$t: the budget overflowed into the kernel socket many times (pass_spill ${spill:-?}, rx_kernel $rx_kernel, spill_unseen $unseen)"
	check "$([ "$(kv "$D/$t.out" reordered)" = 0 ] && [ "$(kv "$D/$t.out" dup)" = 0 ]; echo $?)" \
		"$t: 4 flows, every one in order across the paths, no duplicates ($(grep -o 'received=.*reordered=[0-9]*' "$D/$t.out" | tail -1))"
	check "$([ "$(kv "$D/$t.out" missing)" -le $((e1 - e0)) ]; echo $?)" \
		"$t: nothing lost that the kernel did not count (missing $(kv "$D/$t.out" missing), UdpRcvbufErrors +$((e1 - e0)))"
	check_accounted "$D/$t.err" "$t"
else
	fail "$t: not accelerated: $(head -2 "$D/$t.err")"
fi
fl_finish
