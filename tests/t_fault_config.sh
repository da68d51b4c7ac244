#!/bin/bash
# t_fault_config.sh - every XSKSHIM_* variable with garbage, empty,
# out-of-range and overflowing values (docs/operations.md, "Environment").
#
# Per case (table below: variable, value, errno expected from bind under
# XSKSHIM_REQUIRE=1, kind):
#   kind cfg:     exactly one "error: config:" line, naming XSKSHIM_<VAR>
#                 (plus at most one per-socket "NOT accelerated" line), and
#                 no other error line;
#   kind runtime: the value parses but cannot work (no such interface, no
#                 such queue): one "NOT accelerated" line naming the cause;
#   kind unknown: an unknown XSKSHIM_ variable: one warning, still accelerated.
# For cfg/runtime the receiver gets all N datagrams on the kernel path
# (UdpInDatagrams grows by N; rx_xdp 0 where a summary exists) and exits 0:
# never a crash.  Then the same with XSKSHIM_REQUIRE=1: bind fails and the
# errno (printed by fault_recv) is the documented one (README: EINVAL for a
# broken configuration; ENODEV for a missing interface).  The observed errno
# of every case is printed as a "# errno" line for the report.
T=t_fault_config
. "$(dirname "$0")/fault_lib.sh"
fl_setup

N=${FAULT_COUNT:-1000}
D=$FL_TMP
long16=abcdefghijklmnop                      # 16 characters
longports=$(printf '9000,%.0s' $(seq 1000))9000   # 5000+ characters

# VAR|VALUE|REQUIRE-errno|kind
CASES=(
	"PORTS|abc|EINVAL|cfg"
	"PORTS||EINVAL|cfg"
	"PORTS|0|EINVAL|cfg"
	"PORTS|70000|EINVAL|cfg"
	"PORTS|65536|EINVAL|cfg"
	"PORTS|99999999999999999999|EINVAL|cfg"
	"PORTS|9000-8000|EINVAL|cfg"
	"PORTS|9000,,9001|EINVAL|cfg"
	"PORTS|,9000|EINVAL|cfg"
	"PORTS|9000,|EINVAL|cfg"
	"PORTS|9000-|EINVAL|cfg"
	"PORTS|-9000|EINVAL|cfg"
	"PORTS|+9000|EINVAL|cfg"
	"PORTS|0x2328|EINVAL|cfg"
	"PORTS|9000 |EINVAL|cfg"
	"PORTS|$longports|EINVAL|cfg"
	"MODE|fast|EINVAL|cfg"
	"MODE||EINVAL|cfg"
	"MODE|NATIVE|EINVAL|cfg"
	"ZEROCOPY|maybe|EINVAL|cfg"
	"ZEROCOPY||EINVAL|cfg"
	"CSUM|sometimes|EINVAL|cfg"
	"CSUM||EINVAL|cfg"
	"QUEUES|64|EINVAL|cfg"
	"QUEUES|abc|EINVAL|cfg"
	"QUEUES||EINVAL|cfg"
	"QUEUES|0-64|EINVAL|cfg"
	"QUEUES|99999999999999999999|EINVAL|cfg"
	"FRAMES|1000|EINVAL|cfg"
	"FRAMES|0|EINVAL|cfg"
	"FRAMES|32|EINVAL|cfg"
	"FRAMES|2097152|EINVAL|cfg"
	"FRAMES|99999999999999999999|EINVAL|cfg"
	"FRAMES|4096x|EINVAL|cfg"
	"FRAMES||EINVAL|cfg"
	"RX_RING|100|EINVAL|cfg"
	"RX_RING|0|EINVAL|cfg"
	"RX_RING|131072|EINVAL|cfg"
	"BATCH|0|EINVAL|cfg"
	"BATCH|999|EINVAL|cfg"
	"BATCH|257|EINVAL|cfg"
	"BATCH|-1|EINVAL|cfg"
	"BATCH||EINVAL|cfg"
	"BUSY_POLL|-1|EINVAL|cfg"
	"BUSY_POLL|1000001|EINVAL|cfg"
	"BUSY_POLL|abc|EINVAL|cfg"
	"LOG|loud|EINVAL|cfg"
	"LOG||EINVAL|cfg"
	"LOG|DEBUG|EINVAL|cfg"
	"STATS|2|EINVAL|cfg"
	"STATS|yes|EINVAL|cfg"
	"STATS||EINVAL|cfg"
	"REQUIRE|yes|-|cfg"
	"REQUIRE|2|-|cfg"
	"REQUIRE||-|cfg"
	"LINGER_MS|-1|EINVAL|cfg"
	"LINGER_MS|3600001|EINVAL|cfg"
	"LINGER_MS|99999999999999999999|EINVAL|cfg"
	"LINGER_MS|abc|EINVAL|cfg"
	"IFACE|$long16|EINVAL|cfg"
	"IFACE|vb/x|EINVAL|cfg"
	"IFACE|nonexistent0|ENODEV|runtime"
	"QUEUES|5|EINVAL|runtime"
	"IFACE||EINVAL|cfg-gap-G6"
	"FOO|1|-|unknown"
)

summary_table=()

run_case()   # VAR VALUE ERRNO KIND
{
	local var=$1 val=$2 want_errno=$3 kind=$4 name tag envs=() u0 u1 errs nlines rx got
	name="XSKSHIM_$var=\"$(printf '%.24s' "$val")$([ ${#val} -gt 24 ] && echo ...)\""
	tag=$((++CASE_NO))
	envs=(XSKSHIM_IFACE=vb XSKSHIM_PORTS=9000 XSKSHIM_CSUM=verify XSKSHIM_STATS=1
	      "LD_PRELOAD=$SHIM_PRELOAD" "XSKSHIM_$var=$val")
	FL_OUT=$D/$tag.out FL_ERR=$D/$tag.err fl_bg_rcv R env "${envs[@]}" fault_recv --port 9000 \
		--expect "$N" --idle-ms 1000 --max-secs 10 --rcvbuf 16777216
	if ! wait_file "$D/$tag.err" 'fault_recv: ready' 5; then
		fail "$name: receiver did not start: $(head -3 "$D/$tag.err")"
		stop_pid "$R" 1
		return
	fi
	u0=$(udp_in_datagrams)
	in_gen udpgen --dst "$ADDR_RCV" --port 9000 --count "$N" --rate 50000 >/dev/null
	wait_exit "$R" 15
	u1=$(udp_in_datagrams)
	errs=$(grep -cE '^xskshim\[[0-9]+\]: error:' "$D/$tag.err")
	case $kind in
	cfg|cfg-gap-*)
		nlines=$(grep -cE "^xskshim\[[0-9]+\]: error: config: XSKSHIM_$var=" "$D/$tag.err")
		if [ "$nlines" = 1 ] && [ "$errs" = 1 ] && grep -q 'accepted:' "$D/$tag.err"; then
			pass "$name: exactly one error line naming XSKSHIM_$var and the accepted forms"
		elif [ "$kind" != cfg ]; then
			gap "${kind#cfg-gap-}" "$name: exactly one error line naming XSKSHIM_$var" \
				"no line at all: an empty XSKSHIM_IFACE silently disables the shim (and XSKSHIM_REQUIRE=1)"
		else
			fail "$name: exactly one error line naming XSKSHIM_$var -- $nlines such lines, $errs error lines: $(grep xskshim "$D/$tag.err" | head -2)"
		fi
		check "$([ "$(grep -c 'NOT accelerated' "$D/$tag.err")" -le 1 ] && ! grep 'accelerated: fd' "$D/$tag.err" | grep -vq 'NOT accelerated'; echo $?)" \
			"$name: not accelerated, at most one per-socket fallback line"
		;;
	runtime)
		check "$([ "$errs" = 0 ] && [ "$(grep -c 'NOT accelerated' "$D/$tag.err")" = 1 ] &&
			grep 'NOT accelerated' "$D/$tag.err" | grep -qE "XSKSHIM_$var"; echo $?)" \
			"$name: one fallback line naming XSKSHIM_$var ($(grep -o 'kernel path: .*' "$D/$tag.err" | head -1))"
		;;
	unknown)
		check "$([ "$(grep -c "warn: config: unknown variable XSKSHIM_$var" "$D/$tag.err")" = 1 ] &&
			grep 'accelerated: fd' "$D/$tag.err" | grep -vq 'NOT accelerated' && ! grep -q 'NOT accelerated' "$D/$tag.err"; echo $?)" \
			"$name: one warning naming it, still accelerated"
		;;
	esac
	got=$(kv "$D/$tag.out" received)
	if [ "$kind" = unknown ]; then
		check "$([ "$WRC" = 0 ] && [ "$got" = "$N" ]; echo $?)" "$name: all $N received ($got)"
	else
		rx=$(summary_sock_sum "$D/$tag.err" rx_xdp)
		check "$([ "$WRC" = 0 ] && [ "$got" = "$N" ] && [ $((u1 - u0)) -ge "$N" ] && [ "$rx" = 0 ]; echo $?)" \
			"$name: no crash (exit $WRC), all $N on the kernel path (received $got, UdpInDatagrams +$((u1 - u0)), rx_xdp $rx)"
	fi
	check "$(grep -qiE 'segmentation|sanitizer|abort|core dumped' "$D/$tag.err"; [ $? != 0 ]; echo $?)" \
		"$name: no crash or sanitizer report on stderr"

	[ "$want_errno" = - ] && { summary_table+=("$name: bind under REQUIRE=1 n/a"); return; }
	# the same under XSKSHIM_REQUIRE=1 (added last: it wins over REQUIRE in envs)
	in_rcv env "${envs[@]}" XSKSHIM_REQUIRE=1 fault_recv --port 9000 --bind-only >"$D/$tag.req.out" \
		2>"$D/$tag.req.err"
	local rc=$? e
	e=$(grep -oE 'errno=[A-Z0-9]+' "$D/$tag.req.out" | cut -d= -f2)
	summary_table+=("$name: bind under REQUIRE=1 -> ${e:-succeeded}")
	if [ "$kind" = cfg-gap-G6 ]; then
		if [ "$rc" = 3 ] && [ "$e" = "$want_errno" ]; then
			pass "$name + REQUIRE=1: bind fails with $want_errno"
		else
			gap G6 "$name + REQUIRE=1: bind fails with $want_errno" "bind succeeded (exit $rc): REQUIRE=1 is ignored"
		fi
		return
	fi
	check "$([ "$rc" = 3 ] && [ "$e" = "$want_errno" ]; echo $?)" \
		"$name + REQUIRE=1: bind fails with $want_errno (got ${e:-success, exit $rc})"
	check "$(grep -E 'error: sock: XSKSHIM_REQUIRE=1: bind' "$D/$tag.req.err" | grep -q "$(perl -MPOSIX -e "print POSIX::strerror(POSIX::$want_errno())" 2>/dev/null || echo "$want_errno")"; echo $?)" \
		"$name + REQUIRE=1: the stderr line states the errno ($(grep -oE 'fails with [^:]*' "$D/$tag.req.err" | head -1))"
}

CASE_NO=0
for c in "${CASES[@]}"; do
	IFS='|' read -r var val want kind <<<"$c"
	run_case "$var" "$val" "$want" "$kind"
done

# unset PORTS while IFACE is set: required
FL_OUT=$D/np.out FL_ERR=$D/np.err fl_bg_rcv R env XSKSHIM_IFACE=vb "LD_PRELOAD=$SHIM_PRELOAD" fault_recv \
	--port 9000 --bind-only
wait_exit "$R" 5
check "$([ "$WRC" = 0 ] && [ "$(grep -c 'error: config: XSKSHIM_PORTS' "$D/np.err")" = 1 ] &&
	grep -q 'required' "$D/np.err"; echo $?)" "XSKSHIM_PORTS unset with IFACE set: one error line saying PORTS is required"

# a value that carries a newline must not forge a second log line
FL_OUT=$D/nl.out FL_ERR=$D/nl.err fl_bg_rcv R env XSKSHIM_IFACE=vb XSKSHIM_PORTS=9000 \
	"XSKSHIM_LOG=x"$'\n'"xskshim[1]: warn: sock: accelerated: forged" "LD_PRELOAD=$SHIM_PRELOAD" fault_recv \
	--port 9000 --bind-only
wait_exit "$R" 5
if ! grep -q '^xskshim\[1\]: warn: sock: accelerated: forged' "$D/nl.err"; then
	pass "a value with an embedded newline stays on one log line"
else
	gap G7 "a value with an embedded newline stays on one log line" \
		"XSKSHIM_LOG=\$'x\\nxskshim[1]: ...' prints a forged second line (value printed with %.64s, unescaped)"
fi

echo "# errno of bind under XSKSHIM_REQUIRE=1, per case:"
printf '#   %s\n' "${summary_table[@]}"
fl_finish
