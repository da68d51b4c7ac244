#!/bin/bash
# t_fault_isolation.sh - the shim touches only its own process's traffic.
#
# vb gets a second address, 198.18.0.3.  Under the shim (XSKSHIM_PORTS=
# 9000-9002) one application socket is bound to 198.18.0.2:9000 only.  Plain
# receivers (no preload) in the same namespace:
#   A  198.18.0.3:9000   configured port, other address
#   B  0.0.0.0:9001      configured port, socket of another process
#   C  0.0.0.0:9003      port not configured at all
# Each of the four gets its own N datagrams, concurrently: the shim app
# through AF_XDP (rx_xdp N), A/B/C through the kernel, nothing lost, nothing
# crossed over (each receiver sees only its own stream).
# After the shim app exits: its XDP program and maps are gone from the kernel
# (bpftool, by id: nothing pinned, nothing left), nothing is attached to vb.
# While it runs: /dev/shm/xskshim.<pid> exists with mode 0644 (not writable
# by others).
# Part 2, a bind that fails: a plain receiver owns 0.0.0.0:9000; a process
# under the shim probes [::]:9000 (EADDRINUSE, as Agave's port picker would
# see) and then serves a port that is not configured.  The plain receiver
# gets all its traffic, and the shim process must not keep an XDP program on
# vb (after XSKSHIM_LINGER_MS, 300 here) - otherwise a third process under the
# shim could not accelerate.
T=t_fault_isolation
. "$(dirname "$0")/fault_lib.sh"
fl_setup

N=${FAULT_COUNT:-10000}
D=$FL_TMP
ip -n "$NS_RCV" addr add 198.18.0.3/24 dev vb
ip -n "$NS_GEN" neigh replace 198.18.0.3 lladdr "$MAC_RCV" dev va nud permanent

FL_OUT=$D/app.out FL_ERR=$D/app.err fl_bg_rcv APP env $(PORTS=9000-9002 shim_env) fault_recv --port 9000 \
	--bind 198.18.0.2 --expect "$N" --idle-ms 3000 --max-secs 30 --dump
FL_OUT=$D/A.out FL_ERR=$D/A.err fl_bg_rcv PA fault_recv --port 9000 --bind 198.18.0.3 --expect "$N" \
	--idle-ms 3000 --max-secs 30 --rcvbuf 16777216 --dump
FL_OUT=$D/B.out FL_ERR=$D/B.err fl_bg_rcv PB fault_recv --port 9001 --bind 0.0.0.0 --expect "$N" \
	--idle-ms 3000 --max-secs 30 --rcvbuf 16777216 --dump
FL_OUT=$D/C.out FL_ERR=$D/C.err fl_bg_rcv PC fault_recv --port 9003 --bind 0.0.0.0 --expect "$N" \
	--idle-ms 3000 --max-secs 30 --rcvbuf 16777216 --dump
for f in app A B C; do
	wait_file "$D/$f.err" 'fault_recv: ready' 5 || fail "receiver $f did not start: $(head -2 "$D/$f.err")"
done
check "$(grep 'accelerated: fd' "$D/app.err" | grep -vq NOT; echo $?)" "the shim app (198.18.0.2:9000) is accelerated"

# while it runs: the statistics region and the program's ids
shm=/dev/shm/xskshim.$APP
mode=$(stat -c '%a' "$shm" 2>/dev/null)
check "$([ "$mode" = 644 ]; echo $?)" "$shm has mode 0644 (got ${mode:-missing})"
check "$([ -n "$mode" ] && [ $((0$mode & 022)) = 0 ]; echo $?)" "$shm is not writable by group or others"
prog=$(xdp_on_vb)
maps=$(bpftool prog show id "$prog" 2>/dev/null | grep -oE 'map_ids [0-9,]+' | cut -d' ' -f2 | tr ',' ' ')
check "$([ -n "$prog" ] && [ -n "$maps" ]; echo $?)" "XDP program id ${prog:-?} with maps ${maps:-?} while the app runs"

rb0=$(netns_udp_counter RcvbufErrors)
drop0=$(in_rcv cat /sys/class/net/vb/statistics/rx_dropped)
txd0=$(in_gen cat /sys/class/net/va/statistics/tx_dropped)
senders=()
for dst in "198.18.0.2 9000 20000" "198.18.0.3 9000 21000" "198.18.0.2 9001 22000" "198.18.0.2 9003 23000"; do
	set -- $dst
	ip netns exec "$NS_GEN" udpgen --dst "$1" --port "$2" --sport-base "$3" --count "$N" --rate 25000 \
		>/dev/null 2>&1 &
	FL_PIDS+=($!); senders+=($!)
done
for p in "${senders[@]}"; do wait_exit "$p" 20; done
for p in "$APP" "$PA" "$PB" "$PC"; do wait_exit "$p" 20 || stop_pid "$p" 2; done

got() { kv "$D/$1.out" received; }
# where a plain receiver's missing datagrams went, for the messages below
lossinfo="UdpRcvbufErrors +$(($(netns_udp_counter RcvbufErrors) - rb0)), vb rx_dropped +$(($(in_rcv cat /sys/class/net/vb/statistics/rx_dropped) - drop0)), va tx_dropped +$(($(in_gen cat /sys/class/net/va/statistics/tx_dropped) - txd0))"
check "$([ "$(got app)" = "$N" ] && [ "$(kv "$D/app.out" missing)" = 0 ]; echo $?)" \
	"shim app 198.18.0.2:9000 got all $N ($(got app))"
# (--dump makes the app slow: what overflows its fill budget goes through
# its own kernel socket, counted as pass_spill, and nothing else may)
app_x=$(summary_sock_sum "$D/app.err" rx_xdp)
app_k=$(summary_sock_sum "$D/app.err" rx_kernel)
app_s=$(summary_xdp "$D/app.err" pass_spill)
check "$([ $((app_x + app_k)) = "$N" ] && [ "$app_k" = "${app_s:-0}" ]; echo $?)" \
	"shim app got them through AF_XDP (rx_xdp $app_x) and, past its fill budget, its own kernel socket (rx_kernel $app_k = pass_spill ${app_s:-?})"
check "$([ "$(got A)" = "$N" ] && [ "$(kv "$D/A.out" missing)" = 0 ]; echo $?)" \
	"plain receiver on the same port, other address (198.18.0.3:9000) got all $N ($(got A); $lossinfo)"
check "$([ "$(got B)" = "$N" ] && [ "$(kv "$D/B.out" missing)" = 0 ]; echo $?)" \
	"plain receiver on another configured port (0.0.0.0:9001) got all $N ($(got B); $lossinfo)"
check "$([ "$(got C)" = "$N" ] && [ "$(kv "$D/C.out" missing)" = 0 ]; echo $?)" \
	"plain receiver on a non-configured port (0.0.0.0:9003) got all $N ($(got C); $lossinfo)"
# no crossing: each receiver saw a single source port range (its own sender)
for r in "app 20000" "A 21000" "B 22000" "C 23000"; do
	set -- $r
	other=$(grep '^dgram' "$D/$1.out" | grep -vc "sport=$2 ")
	check "$([ "$other" = 0 ]; echo $?)" "receiver $1 saw only its own stream ($other foreign datagrams)"
done
check_accounted "$D/app.err" "shim app"

check "$([ -z "$(xdp_on_vb)" ]; echo $?)" "nothing attached to vb after the app exited"
check "$(prog_gone "$prog"; echo $?)" "the app's XDP program (id $prog) is gone from the kernel (nothing pinned)"
left=
for m in $maps; do bpf_obj_gone map "$m" || left="$left $m"; done
check "$([ -z "$left" ]; echo $?)" "the app's maps ($maps) are gone from the kernel${left:+ (left:$left)}"
check "$([ ! -e "$shm" ]; echo $?)" "$shm removed at exit"

# ---- part 2: a failed bind leaves nothing behind ---------------------------
FL_OUT=$D/p.out FL_ERR=$D/p.err fl_bg_rcv P fault_recv --port 9000 --bind 0.0.0.0 --expect "$N" --idle-ms 0 \
	--max-secs 30 --rcvbuf 16777216
wait_file "$D/p.err" 'fault_recv: ready' 5
FL_OUT=$D/s.out FL_ERR=$D/s.err fl_bg_rcv S env $(PORTS=9000-9002 shim_env) XSKSHIM_LINGER_MS=300 \
	fault_recv --probe 9000 --port 9003 --idle-ms 0 --max-secs 30
wait_file "$D/s.err" 'fault_recv: ready' 5
check "$(grep -q 'probe bind 9000 failed errno=EADDRINUSE' "$D/s.out"; echo $?)" \
	"failed bind: the shim process's bind of 9000 fails with EADDRINUSE like the kernel's ($(grep -o 'probe.*' "$D/s.out"))"
sleep 1
stale=$(xdp_on_vb)
if [ -z "$stale" ]; then
	pass "failed bind: no XDP program left on vb by the process whose bind failed"
else
	fail "failed bind: no XDP program left on vb by the process whose bind failed -- (B2, regression of a4b5bcf) program id $stale stays attached (with UMEM) for the process's lifetime: shim_on_bind installs before the real bind and nothing uninstalls after a failed bind"
fi
in_gen udpgen --dst "$ADDR_RCV" --port 9000 --count "$N" --rate 50000 >/dev/null
wait_exit "$P" 10 || stop_pid "$P" 2
check "$([ "$(kv "$D/p.out" received)" = "$N" ] && [ "$(kv "$D/p.out" missing)" = 0 ]; echo $?)" \
	"failed bind: the plain owner of 0.0.0.0:9000 still gets all $N ($(kv "$D/p.out" received))"
FL_OUT=$D/q.out FL_ERR=$D/q.err fl_bg_rcv Q env $(PORTS=9000-9002 shim_env) fault_recv --port 9001 --bind-only
wait_exit "$Q" 10
if grep 'accelerated: fd' "$D/q.err" | grep -vq NOT; then
	pass "failed bind: a third process under the shim can still accelerate on vb"
else
	fail "failed bind: a third process under the shim can still accelerate on vb -- $(grep -o 'kernel path: .*' "$D/q.err" | head -1)"
fi
stop_pid "$S" 2
fl_finish
