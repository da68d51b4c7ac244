#!/bin/bash
# t_fault_caps.sh - missing privileges (docs/design.md, "Visible fallback").
#
# The receiver runs under setpriv with capabilities removed from its
# inheritable and bounding sets (so root's exec gets none of them back), and
# for the memlock cases under prlimit --memlock (RLIMIT_MEMLOCK can be
# lowered without CAP_SYS_RESOURCE).  It binds UDP port 9000 (unprivileged).
# Each case: the stderr fallback line names what is missing, the program
# gets every datagram on the kernel path, and no XDP program stays on vb
# while it runs.  With only CAP_IPC_LOCK missing and the default UMEM size,
# the shim shrinks the UMEM to fit RLIMIT_MEMLOCK and stays accelerated.
T=t_fault_caps
. "$(dirname "$0")/fault_lib.sh"
fl_setup
command -v setpriv >/dev/null || { skip "privilege cases: setpriv (util-linux) not installed"; fl_finish; }
command -v prlimit >/dev/null || { skip "privilege cases: prlimit (util-linux) not installed"; fl_finish; }

N=${FAULT_COUNT:-5000}
D=$FL_TMP

# run_case NAME "CAPS to drop (setpriv list, or all)" MEMLOCK_BYTES(or -) EXTRA_ENV WANT_REGEX [accel]
run_case()
{
	local name=$1 caps=$2 ml=$3 extra=$4 want=$5 accel=${6:-} sp pre=() id_during line
	if [ "$caps" = all ]; then
		sp=(--inh-caps=-all --ambient-caps=-all --bounding-set=-all)
	else
		sp=(--inh-caps="$caps" --bounding-set="$caps")
	fi
	[ "$ml" != - ] && pre=(prlimit --memlock="$ml:$ml")
	# shellcheck disable=SC2086
	FL_OUT=$D/$name.out FL_ERR=$D/$name.err fl_bg_rcv R "${pre[@]}" setpriv "${sp[@]}" -- \
		env $(shim_env) $extra fault_recv --port 9000 --expect "$N" --idle-ms 2000 --max-secs 20 \
		--rcvbuf 16777216
	wait_file "$D/$name.err" 'ready' 5 || { fail "$name: receiver did not start: $(head -3 "$D/$name.err")"; return; }
	id_during=$(xdp_on_vb)
	in_gen udpgen --dst "$ADDR_RCV" --port 9000 --count "$N" --rate 100000 >/dev/null
	wait_exit "$R" 25
	check "$([ "$WRC" = 0 ] && [ "$(kv "$D/$name.out" missing)" = 0 ]; echo $?)" \
		"$name: the program receives all $N ($(grep -o 'received=[0-9]*' "$D/$name.out"))"
	if [ -n "$accel" ]; then
		check "$(grep -q 'accelerated: fd' "$D/$name.err" && ! grep -q 'NOT accelerated' "$D/$name.err"; echo $?)" \
			"$name: still accelerated" "$(grep xskshim "$D/$name.err" | head -2)"
		acc=$(accel_all "$D/$name.err" "$N")
		check $? "$name: through AF_XDP ($acc)"
		check "$(grep -qE "$want" "$D/$name.err"; echo $?)" "$name: $(grep -oE "$want" "$D/$name.err" | head -1)"
		check_accounted "$D/$name.err" "$name"
		return
	fi
	line=$(grep 'NOT accelerated' "$D/$name.err")
	check "$([ "$(grep -c 'NOT accelerated' "$D/$name.err")" = 1 ]; echo $?)" "$name: one fallback line on stderr"
	if grep -qE "$want" <<<"$line"; then
		pass "$name: the fallback line names what is missing ($(grep -oE "$want" <<<"$line" | head -1 | tr '\n' ' '))"
	elif [ -n "${GAP_ID:-}" ]; then
		gap "$GAP_ID" "$name: the fallback line names what is missing ($want)" "got: ${line#*kernel path: }"
	else
		fail "$name: the fallback line names what is missing ($want) -- got: ${line:-no fallback line}"
	fi
	check "$([ -z "$id_during" ] && [ -z "$(xdp_on_vb)" ]; echo $?)" \
		"$name: no XDP program left on vb while the fallen-back program runs (${id_during:-none})"
	# libbpf's own warnings (e.g. "Make sure your kernel supports BPF",
	# "try raising 'ulimit -l'") at the default log level
	local noise
	noise=$(grep -E '^xskshim\[[0-9]+\]: warn: (libbpf|libxdp):' "$D/$name.err" | wc -l)
	if [ "$noise" = 0 ]; then
		pass "$name: no library noise besides the fallback line"
	else
		gap G4 "$name: no library noise besides the fallback line" \
			"$noise libbpf warn lines precede it, e.g. '$(grep -m1 -E 'warn: libbpf' "$D/$name.err" | cut -c1-140)'"
	fi
}

run_case nocaps all - "" 'CAP_(BPF|NET_ADMIN|SYS_ADMIN)'
GAP_ID=G5 run_case no-net-admin -net_admin,-sys_admin - "" 'CAP_NET_ADMIN'
run_case no-net-raw -net_raw - "" 'CAP_NET_RAW'
run_case memlock-big-frames -ipc_lock 4194304 "XSKSHIM_FRAMES=65536" 'CAP_IPC_LOCK.*RLIMIT_MEMLOCK|RLIMIT_MEMLOCK.*CAP_IPC_LOCK'
run_case memlock-default-frames -ipc_lock 4194304 "" 'queue 0: frames [0-9]+' accel
f=$(grep -oE 'queue 0: frames [0-9]+' "$D/memlock-default-frames.err" | grep -oE '[0-9]+$')
check "$([ -n "$f" ] && [ "$f" -lt 16384 ]; echo $?)" \
	"memlock-default-frames: the UMEM was shrunk to fit RLIMIT_MEMLOCK (${f:-?} frames of 2 KiB under a 4 MiB limit)"
fl_finish
