#!/bin/bash
# t_privdrop.sh - privilege drops (issue 11): a program that drops its
# capabilities or switches user before binding is accelerated; one that drops
# after binding keeps its sockets and its later binds are accelerated while
# the sockets prepared for them last, visibly not beyond.
#
#   capdrop (tests/apps/capdrop.c around fault_recv): drops CAP_BPF,
#     CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW, CAP_IPC_LOCK with capset(2),
#     with syscall(SYS_capset), or switches to nobody with setuid, before its
#     socket exists: every datagram delivered, rx_xdp counts them all,
#     UdpInDatagrams flat, one line saying the install was prepared because
#     of the drop.  --when after --later 9: one socket bound before the drop,
#     9 binds after it: 8 accelerated (the pool), the 9th NOT accelerated
#     with the reason.
#   plain children: a preloaded shell script's children (sh, ip, true) that
#     drop nothing never install (no XDP program appears).
#   named (bind9): named -g -4 -u bind, a tiny authoritative zone: every
#     kdig query answered, its port accelerated, rx_xdp counts the queries.
#   unbound: username "unbound" (binds, then drops): every query answered,
#     accelerated.
T=t_privdrop
. "$(dirname "$0")/fault_lib.sh"
fl_setup
D=$FL_TMP
N=${PRIV_COUNT:-3000}
chmod 755 "$D"

if ! cc -O2 -D_GNU_SOURCE -I. -Dmain=fault_recv_main -c -o "$D/fr.o" tests/fault_recv.c 2>"$D/cc.log" ||
   ! cc -O2 -D_GNU_SOURCE -I. -o "$D/capdrop" tests/apps/capdrop.c "$D/fr.o" 2>>"$D/cc.log"; then
	fail "building tests/apps/capdrop.c: $(head -3 "$D/cc.log")"
	fl_finish
fi

# drop_case NAME CAPDROP_ARGS... : receive $N on port 9000 after the drop
drop_case()
{
	local t=$1 rx
	shift
	# shellcheck disable=SC2046
	fl_recv_count "$t" "$N" env $(shim_env) "$D/capdrop" "$@" -- fault_recv --port 9000 --bind 0.0.0.0 \
		--expect "$N" --idle-ms 2000 --max-secs 20 --rcvbuf 16777216 || return 1
	rx=$(grep 'summary: fd .* port 9000 ' "$D/$t.err" | grep -oE 'rx_xdp [0-9]+' | awk '{s += $2} END {print s + 0}')
	check "$(grep -qE 'accelerated: fd [0-9]+ udp port 9000 ' "$D/$t.err" && ! grep -qE 'NOT accelerated: fd [0-9]+ udp port 9000 ' "$D/$t.err"; echo $?)" \
		"$t: port 9000 accelerated after the drop" "$(grep -E 'xskshim' "$D/$t.err" | head -3)"
	# (a few may spill past the fill budget on a loaded machine, by design)
	check "$([ "$rx" -ge $((N * 9 / 10)) ] && [ "$UDP" -le $((N / 10)) ]; echo $?)" \
		"$t: through AF_XDP (rx_xdp $rx of $N, UdpInDatagrams +$UDP)"
	check "$([ "$(grep -c 'install prepared because the process is dropping privileges' "$D/$t.err")" = 1 ]; echo $?)" \
		"$t: one line says the install was prepared for the drop ($(grep -oE 'dropping privileges \([a-zA-Z_]+\)' "$D/$t.err" | head -1))"
	check "$([ ! -e "/dev/shm/xskshim.$R" ]; echo $?)" "$t: no /dev/shm/xskshim.$R left after exit" \
		"$(ls -l "/dev/shm/xskshim.$R" 2>&1)"
}

drop_case capset --via capset --when before
drop_case syscall-capset --via syscall --when before
drop_case setuid --via setuid --when before

# after: one socket bound before the drop (port 9008 or 9009), then 7 binds
# after it plus fault_recv's: the 8 the pool holds per queue
export PORTS=9000-9010
t=after-later
drop_case "$t" --via capset --when after --later 7
ok=$(grep -cE '(^|[^T] )accelerated: fd [0-9]+ udp port 900[0-8] ' "$D/$t.err")
check "$([ "$ok" = 9 ]; echo $?)" \
	"$t: the socket bound before the drop and the 8 bound after it are accelerated, each with its own decision line ($ok)" \
	"$(grep 'sock:' "$D/$t.err" | head -4)"
# one more than the pool: the last bind stays on the kernel path, visibly
t=after-beyond
# shellcheck disable=SC2046
in_rcv env $(shim_env) "$D/capdrop" --via capset --when after --later 8 -- fault_recv --port 9000 --bind 0.0.0.0 \
	--bind-only >"$D/$t.out" 2>"$D/$t.err"
ok=$(grep -cE '(^|[^T] )accelerated: fd [0-9]+ udp port 90(0[1-9]) ' "$D/$t.err")
bad=$(grep -E 'NOT accelerated: fd [0-9]+ udp port 9000 ' "$D/$t.err")
check "$([ "$ok" = 9 ] && grep -q 'prepared for later binds are all in use' <<<"$bad"; echo $?)" \
	"$t: 9 accelerated, the 10th bind (one past the pool) says why it stays on the kernel path: ${bad#*kernel path: }" \
	"$(grep 'sock:' "$D/$t.err" | head -12)"
# a user switch after the first bind: the statistics region made as root must
# still be removed at exit (freeradius left it: unlink EPERM)
drop_case setuid-after --via setuid --when after --later 0
unset PORTS

# ---- children that drop nothing do nothing ---------------------------------------
id0=$(xdp_on_vb)
# shellcheck disable=SC2046
in_rcv env $(shim_env) sh -c 'ip link show dev vb >/dev/null; true; ls / >/dev/null' 2>"$D/sh.err"
check "$([ -z "$id0" ] && [ -z "$(xdp_on_vb)" ] && ! grep -q 'prepared' "$D/sh.err"; echo $?)" \
	"a preloaded shell script and its children (sh, ip, ls) install nothing"

# ---- named -------------------------------------------------------------------------
Q=${PRIV_QUERIES:-200}
live_rx()     # PID : rx_xdp of every socket of the live process (xskshim-stat)
{
	build/xskshim-stat --json "$1" 2>/dev/null |
		grep -oE '"rx_xdp": *[0-9]+' | grep -oE '[0-9]+$' | awk '{s += $1} END {print s + 0}'
}
if command -v named >/dev/null && id bind >/dev/null 2>&1; then
	fl_named_conf 5300 bind
	# shellcheck disable=SC2046
	FL_OUT=$D/named.out FL_ERR=$D/named.err fl_bg_rcv R env $(PORTS=5300 shim_env) \
		named -g -4 -n 1 -u bind -c "$D/named.conf"
	wait_file "$D/named.err" 'running$|exiting|failed' 15
	a=$(fl_kdig_count 5300 named "$Q")
	rx=$(live_rx "$R")
	check "$([ "$a" = "$Q" ]; echo $?)" "named -u bind: $a of $Q queries answered" "$(grep -v '^198' "$D/named.kdig" | head -2)"
	check "$(grep -qE 'accelerated: fd [0-9]+ udp port 5300 ' "$D/named.err" && ! grep -q 'NOT accelerated' "$D/named.err"; echo $?)" \
		"named -u bind: its port 5300 accelerated although it dropped its capabilities before binding" \
		"$(grep -E 'xskshim' "$D/named.err" | head -3)"
	check "$(grep -q 'install prepared because the process is dropping privileges (capset)' "$D/named.err"; echo $?)" \
		"named -u bind: the install was prepared at its capset"
	check "$([ "$rx" -ge "$Q" ]; echo $?)" "named -u bind: queries read through AF_XDP (rx_xdp $rx)"
	stop_pid "$R"
else
	skip "named: bind9 not installed (package bind9)"
fi

# ---- unbound -----------------------------------------------------------------------
if command -v unbound >/dev/null && id unbound >/dev/null 2>&1; then
	cat >"$D/unbound.conf" <<EOF
server:
	interface: $ADDR_RCV@5301
	port: 5301
	do-ip6: no
	do-tcp: no
	do-daemonize: no
	chroot: ""
	username: "unbound"
	directory: "$D"
	pidfile: ""
	use-syslog: no
	logfile: ""
	num-threads: 1
	access-control: 198.18.0.0/15 allow
	local-zone: "example." static
	local-data: "www.example. A 198.18.0.42"
remote-control:
	control-enable: no
EOF
	chmod 644 "$D/unbound.conf"
	# shellcheck disable=SC2046
	FL_OUT=$D/unbound.out FL_ERR=$D/unbound.err fl_bg_rcv R env $(PORTS=5301 shim_env) \
		unbound -d -c "$D/unbound.conf"
	wait_file "$D/unbound.err" 'start of service|error|fatal' 15
	a=$(fl_kdig_count 5301 unbound "$Q")
	rx=$(live_rx "$R")
	check "$([ "$a" = "$Q" ]; echo $?)" "unbound (username, drops after binding): $a of $Q queries answered" \
		"$(grep -v '^198' "$D/unbound.kdig" | head -2)"
	check "$(grep -qE 'accelerated: fd [0-9]+ udp port 5301 ' "$D/unbound.err" && ! grep -qE 'NOT accelerated: fd [0-9]+ udp port 5301' "$D/unbound.err"; echo $?)" \
		"unbound: its port 5301 accelerated" "$(grep -E 'xskshim' "$D/unbound.err" | head -3)"
	check "$([ "$rx" -ge "$Q" ]; echo $?)" "unbound: queries read through AF_XDP after its user switch (rx_xdp $rx)"
	stop_pid "$R"
else
	skip "unbound: not installed (package unbound)"
fi
fl_finish
