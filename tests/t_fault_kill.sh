#!/bin/bash
# t_fault_kill.sh - kill -9 of an application under the shim while traffic
# flows (docs/design.md, "Crash safety").
#
#  1. A receiver under the shim is accelerated (its XDP program is on vb).
#  2. udpgen sends a continuous paced stream; after 0.5 s the receiver gets
#     SIGKILL.
#  3. Within 1 s: no XDP program is left on vb, and a plain receiver (no
#     preload) started right after the kill receives the ongoing stream
#     (progress grows, UdpInDatagrams grows).
#  4. With the stream stopped, a bounded burst reaches a plain streamrecv
#     completely (every sequence number, UdpInDatagrams grew by as many).
#  5. Restarting the application under the shim works at once with no manual
#     cleanup: "accelerated" on stderr, every datagram arrives through AF_XDP
#     (summary rx_xdp), accounting intact; after it exits normally nothing
#     is attached and its program id is gone from the kernel.
#  6. Three more start / kill -9 cycles in quick succession: each start is
#     accelerated, each kill leaves nothing attached.
T=t_fault_kill
. "$(dirname "$0")/fault_lib.sh"
fl_setup

N=${FAULT_COUNT:-20000}
D=$FL_TMP

# ---- 1. accelerated receiver under load --------------------------------
FL_OUT=$D/a.out FL_ERR=$D/a.err fl_bg_rcv APP env $(shim_env) \
	fault_recv --port 9000 --idle-ms 0 --max-secs 60 --progress-ms 100
if ! wait_file "$D/a.err" 'accelerated: fd' 5; then
	fail "receiver under the shim accelerated before the kill: $(head -3 "$D/a.err")"
	fl_finish
fi
pass "receiver under the shim is accelerated"
prog=$(xdp_on_vb)
check "$([ -n "$prog" ]; echo $?)" "XDP program attached on vb while the shim app runs (id ${prog:-none})"

# continuous stream, ~50k pps, bounded at 20 s
FL_OUT=$D/flow.out FL_ERR=$D/flow.err fl_bg_gen FLOW \
	udpgen --dst "$ADDR_RCV" --port 9000 --count 1000000 --rate 50000 --duration-max 20
wait_file "$D/a.out" 'progress received=[1-9]' 3
sleep 0.5
before_kill=$(kv "$D/a.out" received)
check "$([ "${before_kill:-0}" -gt 0 ]; echo $?)" \
	"shim app receives the stream before the kill (received=${before_kill:-0})"

# ---- 2./3. kill -9, then within 1 s ------------------------------------
kill -KILL "$APP"
t_kill=$(date +%s%N)
wait "$APP" 2>/dev/null
FL_KILLED9+=("$APP")
# the plain receiver takes over the port right away
FL_OUT=$D/p.out FL_ERR=$D/p.err fl_bg_rcv PLAIN fault_recv --port 9000 --idle-ms 0 \
	--max-secs 30 --progress-ms 50 --rcvbuf 33554432
detached_ms=
while :; do
	now=$(date +%s%N)
	if [ -z "$(xdp_on_vb)" ]; then
		detached_ms=$(( (now - t_kill) / 1000000 ))
		break
	fi
	[ $((now - t_kill)) -gt 1000000000 ] && break
	sleep 0.02
done
check "$([ -n "$detached_ms" ]; echo $?)" \
	"no XDP program left on vb within 1 s of kill -9 (gone after ${detached_ms:-more than 1000} ms)" \
	"$(ip -n "$NS_RCV" link show dev vb | grep -o 'prog/xdp.*')"
wait_file "$D/p.err" 'ready' 2
u0=$(udp_in_datagrams)
p0=$(kv "$D/p.out" received)
# from here on, the next 0.5 s (i.e. before 1 s after the kill has passed)
while [ $(( $(date +%s%N) - t_kill )) -lt 1000000000 ]; do sleep 0.02; done
u1=$(udp_in_datagrams)
p1=$(kv "$D/p.out" received)
check "$([ $((u1 - u0)) -gt 0 ] && [ "${p1:-0}" -gt "${p0:-0}" ]; echo $?)" \
	"within 1 s of the kill the ongoing stream reaches a plain receiver (UdpInDatagrams +$((u1 - u0)), plain received ${p0:-0} -> ${p1:-0})"
stop_pid "$FLOW" 3
stop_pid "$PLAIN" 5

# ---- 4. bounded burst, plain streamrecv gets everything ------------------
FL_OUT=$D/p2.out FL_ERR=$D/p2.err fl_bg_rcv PLAIN streamrecv --port 9000 --expect "$N" \
	--idle-ms 2000 --max-secs 20 --rcvbuf 33554432
wait_file "$D/p2.err" ready 5
u0=$(udp_in_datagrams)
in_gen udpgen --dst "$ADDR_RCV" --port 9000 --count "$N" --rate 100000 >/dev/null
wait_exit "$PLAIN" 25; rc=$WRC
u1=$(udp_in_datagrams)
check "$([ "$rc" = 0 ] && [ "$(kv "$D/p2.out" missing)" = 0 ] && [ "$(kv "$D/p2.out" bad)" = 0 ]; echo $?)" \
	"plain streamrecv after the kill gets all $N datagrams ($(grep -oE 'received=[0-9]+ bad=[0-9]+ dup=[0-9]+ missing=[0-9]+' "$D/p2.out"))"
check "$([ $((u1 - u0)) -ge "$N" ]; echo $?)" "UdpInDatagrams grew by >= $N (+$((u1 - u0)))"

# ---- 5. restart under the shim: accelerated again ------------------------
t0=$(date +%s%N)
FL_OUT=$D/r.out FL_ERR=$D/r.err fl_bg_rcv APP2 env $(shim_env) fault_recv --port 9000 \
	--expect "$N" --idle-ms 2000 --max-secs 20
if wait_file "$D/r.err" 'accelerated: fd|NOT accelerated' 5 && grep -q 'accelerated: fd' "$D/r.err" &&
	! grep -q 'NOT accelerated' "$D/r.err"; then
	pass "restart under the shim is accelerated at once ($(( ($(date +%s%N) - t0) / 1000000 )) ms, no manual cleanup)"
else
	fail "restart under the shim accelerated: $(grep xskshim "$D/r.err" | head -3)"
fi
check "$(grep -qiE 'already attached|EEXIST|File exists' "$D/r.err"; [ $? != 0 ]; echo $?)" \
	"no 'program already attached' complaint on restart"
prog2=$(xdp_on_vb)
u0=$(udp_in_datagrams)
in_gen udpgen --dst "$ADDR_RCV" --port 9000 --count "$N" --rate 100000 >/dev/null
wait_exit "$APP2" 25; rc=$WRC
u1=$(udp_in_datagrams)
rx_xdp=$(summary_sock_sum "$D/r.err" rx_xdp)
check "$([ "$rc" = 0 ] && [ "$(kv "$D/r.out" missing)" = 0 ]; echo $?)" \
	"restarted app receives all $N ($(grep -o 'received=[0-9]* .*missing=[0-9]*' "$D/r.out"))"
check "$([ "$rx_xdp" -ge "$N" ] && [ $((u1 - u0)) -lt $((N / 10)) ]; echo $?)" \
	"restarted app is accelerated again: rx_xdp $rx_xdp of $N, UdpInDatagrams +$((u1 - u0))"
check_accounted "$D/r.err" "restarted app"
check "$([ -z "$(xdp_on_vb)" ]; echo $?)" "after a normal exit no XDP program is left on vb"
if [ -n "$prog2" ] && command -v bpftool >/dev/null; then
	check "$(prog_gone "$prog2"; echo $?)" \
		"the restarted app's XDP program (id $prog2) is gone from the kernel after exit"
fi
if [ -n "$prog" ] && command -v bpftool >/dev/null; then
	check "$(prog_gone "$prog"; echo $?)" \
		"the killed app's XDP program (id $prog) is gone from the kernel"
fi

# ---- 6. quick start / kill -9 cycles -------------------------------------
ok=0
for i in 1 2 3; do
	FL_OUT=$D/c$i.out FL_ERR=$D/c$i.err fl_bg_rcv C env $(shim_env) fault_recv --port 9000 \
		--idle-ms 0 --max-secs 20
	if wait_file "$D/c$i.err" 'accelerated: fd|NOT accelerated' 5 && grep -q 'accelerated: fd' "$D/c$i.err" &&
		! grep -q 'NOT accelerated' "$D/c$i.err" && [ -n "$(xdp_on_vb)" ]; then
		kill -KILL "$C"; wait "$C" 2>/dev/null; FL_KILLED9+=("$C")
		for _ in $(seq 50); do [ -z "$(xdp_on_vb)" ] && break; sleep 0.02; done
		[ -z "$(xdp_on_vb)" ] && ok=$((ok + 1))
	else
		kill -KILL "$C"; wait "$C" 2>/dev/null; FL_KILLED9+=("$C")
	fi
done
check "$([ "$ok" = 3 ]; echo $?)" "3 start/kill -9 cycles: accelerated each time, nothing attached after each kill ($ok/3)"
fl_finish
