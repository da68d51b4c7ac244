#!/bin/bash
# t_closefds.sh - a daemon that closes fds by number after it bound an
# accelerated socket (issue 11): tests/apps/closefds.c binds, forks twice
# (the launcher and the session leader exit), then closes every fd above
# its socket with closefrom(), with close_range(), or with a close() loop
# over 3..1023, and echoes REQ datagrams.  The shim's own fds (AF_XDP
# sockets, bpf fds, the holders' memfd with its POSIX locks, ...) are not
# the application's to close (shim/shim.h "The shim's own fds").  Per mode:
#   - every request answered (udpreq, 16 flows, no resends);
#   - through AF_XDP in the daemon: its summary's rx_xdp >= REQ, and
#     UdpInDatagrams of the receive namespace flat;
#   - loop: the close() calls that succeeded are those of a plain run of
#     the same program (the fds it inherited), none of the shim's;
#   - no process, /dev/shm/xskshim.<pid> entry or XDP program left.
T=t_closefds
. "$(dirname "$0")/fault_lib.sh"
fl_setup
D=$FL_TMP
REQ=${CLOSEFDS_COUNT:-400}
chmod 755 "$D"
if ! cc -O2 -Wall -o "$D/closefds" tests/apps/closefds.c 2>"$D/cc.log"; then
	fail "building tests/apps/closefds.c: $(head -3 "$D/cc.log")"
	fl_finish
fi

for mode in closefrom close_range loop; do
	port=9710
	PORTS=$port FL_ERR=$D/$mode.err fl_bg_rcv pid env $(PORTS=$port shim_env) \
		"$D/closefds" "$mode" "$port" "$REQ" "$D/$mode.ready"
	if ! wait_file "$D/$mode.ready" "^ready" 10; then
		fail "$mode: the daemon did not get ready: $(head -3 "$D/$mode.err")"
		continue
	fi
	before=$(udp_in_datagrams)
	out=$(in_gen udpreq --dst "$ADDR_RCV" --port "$port" --count "$REQ" --window 4 --flows 16 \
		--timeout-ms 3000 --mode echo)
	after=$(udp_in_datagrams)
	for _ in $(seq 100); do procs=$(ip netns pids "$NS_RCV" | tr '\n' ' '); [ -z "$procs" ] && break; sleep 0.1; done
	check "$([ "$out" = "udpreq: sent=$REQ answered=$REQ" ]; echo $?)" \
		"$mode: every one of $REQ requests answered by the daemon ($out)" \
		"$(grep -v summary "$D/$mode.err" | head -3 | tr '\n' ' ')"
	# the daemon's summary: the one process that read (rx_xdp > 0)
	xdp=$(grep -E "summary: fd [0-9]+ port $port " "$D/$mode.err" | grep -oE 'rx_xdp [0-9]+' |
		awk '{ s += $2 } END { print s + 0 }')
	check "$([ "$xdp" -ge "$REQ" ] && [ $((after - before)) -le $((REQ / 50)) ]; echo $?)" \
		"$mode: served through AF_XDP after the closes: rx_xdp $xdp, UdpInDatagrams +$((after - before))" \
		"$(grep -E 'summary: fd|warn|error' "$D/$mode.err" | head -4 | tr '\n' ' ')"
	if [ "$mode" = loop ]; then
		# the same closes in a plain run (COUNT 0: close, then exit)
		FL_ERR=$D/plain.err fl_bg_rcv ppid "$D/closefds" loop 9711 0 "$D/plain.ready"
		wait_exit "$ppid" 10
		plain=$(grep -h '^closefds: closed' "$D/plain.err" | sort | tr '\n' ' ')
		shim=$(grep -h '^closefds: closed' "$D/$mode.err" | sort | tr '\n' ' ')
		check "$([ "$plain" = "$shim" ] && grep -q '^ready' "$D/plain.ready"; echo $?)" \
			"loop: the close() calls that succeeded are a plain run's (${plain:-none}), none of the shim's fds" \
			"under the shim: ${shim:-none}"
	fi
	mine=$(for p in $(grep -oE '^xskshim\[[0-9]+\]' "$D/$mode.err" | grep -oE '[0-9]+' | sort -u); do
		ls "/dev/shm/xskshim.$p" 2>/dev/null; done)
	check "$([ -z "$procs" ] && [ -z "$mine" ] && [ -z "$(xdp_on_vb)" ]; echo $?)" \
		"$mode: no process, /dev/shm/xskshim.<pid> entry or XDP program left" \
		"processes: ${procs:-none}; shm: ${mine:-none}; prog: $(xdp_on_vb)"
done

fl_finish
