#!/bin/bash
# t_fault_two.sh - two processes under the shim on the same interface,
# different ports.
#
# Only one XDP program fits on an interface here (docs/platform.md: no libxdp
# dispatcher), so the implemented behaviour is: the first process attaches
# and is accelerated; the second detects the first one's program, does not
# replace it, and says "NOT accelerated ... another xskshim process's XDP
# program id N" (N = the first one's program) - its sockets use the kernel
# path.  Asserted here, for both exit orders:
#   - both processes receive every datagram of their own port, concurrently;
#   - the first is accelerated (rx_xdp), the second is not (rx_xdp 0);
#   - whichever exits first, the other keeps receiving everything;
#   - when the first (the program owner) exits, its program goes away, and a
#     third process started then is accelerated;
#   - frame accounting of the accelerated one is intact.
T=t_fault_two
. "$(dirname "$0")/fault_lib.sh"
fl_setup

N=${FAULT_COUNT:-10000}
D=$FL_TMP

start()   # VAR TAG PORT
{
	FL_OUT=$D/$2.out FL_ERR=$D/$2.err fl_bg_rcv "$1" env $(PORTS=9000-9002 shim_env) fault_recv \
		--port "$3" --idle-ms 0 --max-secs 40 --progress-ms 100 --rcvbuf 16777216
	# the first start loads and attaches the XDP program: seconds on a loaded machine
	wait_file "$D/$2.err" 'accelerated: fd' 20
}
recvd() { kv "$D/$1.out" received; }
send()    # PORT SPORT_BASE  (background, pid in SEND_PIDS)
{
	ip netns exec "$NS_GEN" udpgen --dst "$ADDR_RCV" --port "$1" --sport-base "$2" --count "$N" \
		--rate 50000 >/dev/null 2>&1 &
	FL_PIDS+=($!)
	SEND_PIDS+=($!)
}
wait_sends() { local p; for p in "${SEND_PIDS[@]}"; do wait_exit "$p" 20; done; SEND_PIDS=(); sleep 0.3; }

for order in first-owner-exits-first second-exits-first; do
	o=${order%%-*}
	start A "$o.A" 9000
	idA=$(xdp_on_vb)
	start B "$o.B" 9001
	check "$(grep -qE 'accelerated: fd [0-9]+ udp port 9000' "$D/$o.A.err" && ! grep -q 'NOT accelerated' "$D/$o.A.err"; echo $?)" \
		"$order: the first process (port 9000) is accelerated" "$(grep -m3 'xskshim\|fault_recv' "$D/$o.A.err")"
	check "$(grep 'NOT accelerated' "$D/$o.B.err" | grep -q "another xskshim process's XDP program id $idA "; echo $?)" \
		"$order: the second process (port 9001) falls back visibly, naming the first one's program (id $idA)" \
		"$(grep xskshim "$D/$o.B.err" | head -2)"
	check "$([ "$(xdp_on_vb)" = "$idA" ]; echo $?)" "$order: the first process's program was not replaced"

	SEND_PIDS=()
	send 9000 20000; send 9001 21000
	wait_sends
	a1=$(recvd "$o.A"); b1=$(recvd "$o.B")
	check "$([ "$a1" = "$N" ] && [ "$b1" = "$N" ]; echo $?)" \
		"$order: concurrent traffic, both receive everything (port 9000: $a1/$N, port 9001: $b1/$N)"

	if [ "$order" = first-owner-exits-first ]; then
		stop_pid "$A"
		check "$([ -z "$(xdp_on_vb)" ]; echo $?)" "$order: after the owner exits no XDP program is left"
		SEND_PIDS=(); send 9001 21000; wait_sends
		b2=$(recvd "$o.B")
		check "$([ "$b2" = $((2 * N)) ]; echo $?)" \
			"$order: the second keeps receiving everything after the first exited ($b2/$((2 * N)))"
		# a third process can now take the interface
		start C "$o.C" 9002
		check "$(grep -qE 'accelerated: fd [0-9]+ udp port 9002' "$D/$o.C.err" && ! grep -q 'NOT accelerated' "$D/$o.C.err"; echo $?)" \
			"$order: a third process started after the owner exited is accelerated" \
			"$(grep -m3 'xskshim\|fault_recv' "$D/$o.C.err")"
		SEND_PIDS=(); send 9002 22000; send 9001 21000; wait_sends
		c1=$(recvd "$o.C"); b3=$(recvd "$o.B")
		check "$([ "$c1" = "$N" ] && [ "$b3" = $((3 * N)) ]; echo $?)" \
			"$order: third and second both receive everything (9002: $c1/$N, 9001: $b3/$((3 * N)))"
		stop_pid "$C"; stop_pid "$B"
		check_accounted "$D/$o.A.err" "$order: first process"
		check_accounted "$D/$o.C.err" "$order: third process"
	else
		stop_pid "$B"
		check "$([ "$(xdp_on_vb)" = "$idA" ]; echo $?)" \
			"$order: after the second exits, the first one's program is still attached"
		SEND_PIDS=(); send 9000 20000; wait_sends
		a2=$(recvd "$o.A")
		check "$([ "$a2" = $((2 * N)) ]; echo $?)" \
			"$order: the first keeps receiving everything after the second exited ($a2/$((2 * N)))"
		stop_pid "$A"
		check_accounted "$D/$o.A.err" "$order: first process"
	fi
	# the first one's datagrams came through AF_XDP, but for what the XDP
	# program spilled to its kernel socket past the fill budget when the
	# reader was off its CPU (delivered, not lost: counted as rx_kernel)
	rxA=$(summary_sock_sum "$D/$o.A.err" rx_xdp); rxB=$(summary_sock_sum "$D/$o.B.err" rx_xdp)
	rkA=$(summary_sock_sum "$D/$o.A.err" rx_kernel)
	check "$([ "$rxA" -ge $((N / 2)) ] && [ $((rxA + rkA)) -ge "$N" ] && [ "$rxB" = 0 ]; echo $?)" \
		"$order: exit summaries: first rx_xdp $rxA + rx_kernel $rkA (accelerated), second rx_xdp $rxB (kernel path)"
	check "$(grep -q "summary: fd .*port 9001 kernel-path.*another xskshim process" "$D/$o.B.err"; echo $?)" \
		"$order: the second's exit summary says why it stayed on the kernel path"
	check "$([ -z "$(xdp_on_vb)" ]; echo $?)" "$order: nothing attached after both exited"
done
fl_finish
