#!/bin/bash
# t_fault_foreign.sh - a foreign XDP program already on the interface
# (docs/design.md, "Crash safety": detected, never silently replaced; "Visible
# fallback").
#
# For each way a program can already sit on vb:
#   native  - xdppass (counting XDP_PASS) attached through netlink, driver mode
#   skb     - the same in generic (skb) mode
#   stale   - the shim's own object build/xskshim.bpf.o attached with
#             `ip link set dev vb xdp obj ...` (as an older version, or an
#             operator, could have left it): must be named as "another
#             xskshim process's XDP program" and not be replaced either
# a receiver under the shim must: say "NOT accelerated ... foreign XDP
# program id N" (N = the attached id) or, for stale, "another xskshim
# process's XDP program id N"; receive every datagram through the kernel
# (summary rx_kernel); leave the same program id attached; and the foreign
# program keeps working (its packet counter grows during and after the run).
# Then XSKSHIM_REQUIRE=1 with a foreign program: bind fails with EBUSY and
# the stderr line says so.  Dispatcher coexistence is a SKIP (docs/platform.md).
T=t_fault_foreign
. "$(dirname "$0")/fault_lib.sh"
fl_setup

N=${FAULT_COUNT:-5000}
D=$FL_TMP

foreign_count() { in_rcv xdppass count --iface vb | grep -oE 'count [0-9]+' | grep -oE '[0-9]+'; }

run_case()   # NAME
{
	local name=$1 id id_after c0 c1 c2 rx_kernel rx_xdp u0 u1 want
	case $name in
	native|skb)
		in_rcv xdppass attach --iface vb --mode "$name" >"$D/$name.attach" 2>&1 ||
			{ fail "$name: could not attach the foreign program: $(cat "$D/$name.attach")"; return; }
		want="a foreign XDP program id"
		;;
	stale)
		ip -n "$NS_RCV" link set dev vb xdp obj build/xskshim.bpf.o sec xdp 2>"$D/$name.attach" ||
			{ fail "$name: ip link set xdp obj build/xskshim.bpf.o: $(cat "$D/$name.attach")"; return; }
		want="another xskshim process's XDP program id"
		;;
	esac
	id=$(xdp_on_vb)
	c0=$(foreign_count)

	FL_OUT=$D/$name.out FL_ERR=$D/$name.err fl_bg_rcv R env $(shim_env) fault_recv --port 9000 \
		--expect "$N" --idle-ms 2000 --max-secs 20 --rcvbuf 16777216
	wait_file "$D/$name.err" 'ready' 5
	u0=$(udp_in_datagrams)
	in_gen udpgen --dst "$ADDR_RCV" --port 9000 --count "$N" --rate 100000 >/dev/null
	wait_exit "$R" 25
	u1=$(udp_in_datagrams)
	c1=$(foreign_count)
	local line
	line=$(grep 'NOT accelerated' "$D/$name.err" | head -1)
	check "$(grep -q "$want $id " <<<"$line"; echo $?)" \
		"$name: fallback is visible and names the program ($want $id)" "stderr: $(grep xskshim "$D/$name.err" | head -2)"
	check "$(grep -c 'NOT accelerated' "$D/$name.err" | grep -qx 1; echo $?)" \
		"$name: exactly one fallback line on stderr"
	rx_kernel=$(summary_sock_sum "$D/$name.err" rx_kernel)
	rx_xdp=$(summary_sock_sum "$D/$name.err" rx_xdp)
	check "$([ "$WRC" = 0 ] && [ "$(kv "$D/$name.out" missing)" = 0 ] && [ "$rx_xdp" = 0 ] &&
		[ $((u1 - u0)) -ge "$N" ]; echo $?)" \
		"$name: app gets all $N through the kernel (received $(kv "$D/$name.out" received), rx_xdp $rx_xdp, UdpInDatagrams +$((u1 - u0)))"
	kernel_path_counted "$D/$name.err" "$N" "$name"
	check "$(grep -q 'summary: .*kernel-path.*foreign\|summary: .*kernel-path.*xskshim process' "$D/$name.err"; echo $?)" \
		"$name: exit summary says why the socket stayed on the kernel path"
	id_after=$(xdp_on_vb)
	check "$([ -n "$id" ] && [ "$id_after" = "$id" ]; echo $?)" \
		"$name: the foreign program is still attached afterwards (id before $id, after ${id_after:-none})"
	if [ "$name" != stale ]; then
		check "$([ "${c1:-0}" -ge $((c0 + N)) ]; echo $?)" \
			"$name: the foreign program saw the traffic while the shim app ran (counter $c0 -> $c1)"
		in_gen udpgen --dst "$ADDR_RCV" --port 9001 --count 100 --rate 100000 >/dev/null
		c2=$(foreign_count)
		check "$([ "${c2:-0}" -ge $((c1 + 100)) ]; echo $?)" \
			"$name: the foreign program still works after the app exited (counter $c1 -> $c2)"
	fi
	in_rcv xdppass detach --iface vb
	ip -n "$NS_RCV" link set dev vb xdp off 2>/dev/null
	ip -n "$NS_RCV" link set dev vb xdpgeneric off 2>/dev/null
}

run_case native
run_case skb
run_case stale

# ---- XSKSHIM_REQUIRE=1 with a foreign program: bind fails with EBUSY -------
in_rcv xdppass attach --iface vb --mode native >/dev/null 2>&1
id=$(xdp_on_vb)
in_rcv env $(shim_env) XSKSHIM_REQUIRE=1 fault_recv --port 9000 --bind-only >"$D/req.out" 2>"$D/req.err"
rc=$?
check "$([ "$rc" = 3 ] && grep -q 'bind failed errno=EBUSY' "$D/req.out"; echo $?)" \
	"REQUIRE=1 + foreign program: bind fails with EBUSY ($(grep -o 'bind.*' "$D/req.out"))"
line=$(grep 'XSKSHIM_REQUIRE=1' "$D/req.err" | head -1)
check "$(grep -qE 'EBUSY|Device or resource busy' <<<"$line" && grep -q "foreign XDP program id $id" <<<"$line"; echo $?)" \
	"REQUIRE=1: the stderr line states the errno and the reason" "stderr: $(head -2 "$D/req.err")"
check "$([ "$(xdp_on_vb)" = "$id" ]; echo $?)" "REQUIRE=1: the foreign program is untouched (id $id)"
in_rcv xdppass detach --iface vb

# ---- dispatcher coexistence ---------------------------------------------
skip "libxdp dispatcher coexistence: the dispatcher never loads on this platform (docs/platform.md: \
'prog xdp_pass: BPF program load failed: Operation not permitted ... Falling back to loading single \
prog without dispatcher'), so only one XDP program per interface can be tested"
fl_finish
