# shellcheck shell=bash
# fault_lib.sh - shared helpers of the fault tests (tests/t_fault_*.sh,
# tests/t_hostile.sh, scripts/soak).  Source it after setting T (test name):
#
#   T=t_fault_kill; . "$(dirname "$0")/fault_lib.sh"
#   fl_setup [nqueues]        # root/netns check (SKIP + exit 0), fixture, trap
#   fl_bg_rcv VAR cmd ...     # start cmd inside $NS_RCV in the background;
#                             # VAR receives its pid (the real process: ip
#                             # netns exec execs the command)
#   pass "what"; fail "what"; skip "what: why"; check COND "what" ["detail"]
#   gap ID "what" "detail"    # a known shim gap: SKIP (FAIL with FAULT_STRICT=1)
#   fl_finish                 # exit status: 0 iff no FAIL
#
# Everything a test starts is killed by pid in the trap; the namespaces go
# with netns_cleanup; files live in $FL_TMP (removed on exit, kept with
# FAULT_KEEP=1).  Stale statistics regions /dev/shm/xskshim.<pid> of
# processes we killed with -9 are removed too.
#
# Conventions (tests/README.conventions): one PASS/FAIL/SKIP line per check.

set -u
FL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$FL_ROOT" || exit 1
export PATH="$FL_ROOT/build/tests:$PATH"
SHIM=${SHIM:-$FL_ROOT/build/libxskshim.so}
# LD_PRELOAD value for shim runs; test-sanitize puts the ASan runtime first
# ("libasan.so:build/asan/libxskshim.so": colon-separated, no spaces, since
# shim_env is word-split).
SHIM_PRELOAD=${SHIM_PRELOAD:-$SHIM}
NETNS_TEST_NAME=${T:-$(basename "$0" .sh)}
. "$FL_ROOT/scripts/netns.sh"

FL_FAILS=0
FL_PIDS=()
FL_TMP=
FL_KILLED9=()

pass() { echo "PASS: $T: $1"; }
fail() { echo "FAIL: $T: $1"; FL_FAILS=$((FL_FAILS + 1)); }
skip() { echo "SKIP: $T: $1"; }
# check COND_STATUS "what" ["detail shown on failure"]
check()
{
	if [ "$1" = 0 ]; then
		pass "$2"
	else
		fail "$2${3:+ -- $3}"
	fi
}
# A check that fails because of a known, reported shim gap.
gap()
{
	if [ "${FAULT_STRICT:-0}" = 1 ]; then
		fail "$2 -- known shim gap $1: $3"
	else
		echo "SKIP: $T: $2 -- KNOWN SHIM GAP $1 (reported; FAULT_STRICT=1 makes this FAIL): $3"
	fi
}

fl_cleanup()
{
	local p
	for p in "${FL_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${FL_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	for p in "${FL_KILLED9[@]}"; do
		rm -f "/dev/shm/xskshim.$p"
	done
	netns_cleanup
	if [ -n "$FL_TMP" ] && [ "${FAULT_KEEP:-0}" != 1 ]; then
		rm -rf "$FL_TMP"
	elif [ -n "$FL_TMP" ]; then
		echo "# $T: files kept in $FL_TMP"
	fi
	return 0
}

fl_setup()
{
	netns_skip_unless_root
	if [ ! -x "$FL_ROOT/build/tests/fault_recv" ] || [ ! -f "$SHIM" ]; then
		echo "FAIL: $T: not built (run make)"
		exit 1
	fi
	FL_TMP=$(mktemp -d "/tmp/xskfault.$T.XXXXXX")
	NETNS_NO_TRAP=1
	trap fl_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	netns_setup "${1:-1}" || { echo "FAIL: $T: netns_setup failed"; exit 1; }
}

fl_finish()
{
	fl_sanitizer_check
	[ "$FL_FAILS" = 0 ]
	exit $?
}

# Any AddressSanitizer/UBSan/LeakSanitizer report in the files of this test
# (receivers' stderr) is a failure; under test-sanitize (libasan in
# SHIM_PRELOAD) a clean run is a PASS line of its own.
fl_sanitizer_check()
{
	local hits
	[ -n "$FL_TMP" ] || return 0
	hits=$(grep -lE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Undefined|Leak)' \
		"$FL_TMP"/* 2>/dev/null | head -5)
	if [ -n "$hits" ]; then
		fail "sanitizer report(s) in: $(basename -a $hits | tr '\n' ' ') -- $(grep -hE 'ERROR: |runtime error:' $hits | head -2)"
		FAULT_KEEP=1
	elif [[ "$SHIM_PRELOAD" == *asan* ]]; then
		pass "no AddressSanitizer/UBSan/LeakSanitizer report from any process under the sanitized shim"
	fi
}

# fl_bg_rcv VAR cmd... : run in $NS_RCV, in the background; stdout/stderr
# as redirected by the caller through FL_OUT / FL_ERR (files).
fl_bg_rcv()
{
	local var=$1; shift
	ip netns exec "$NS_RCV" "$@" >"${FL_OUT:-/dev/null}" 2>"${FL_ERR:-/dev/null}" &
	FL_PIDS+=($!)
	printf -v "$var" '%s' "$!"
}
fl_bg_gen()
{
	local var=$1; shift
	ip netns exec "$NS_GEN" "$@" >"${FL_OUT:-/dev/null}" 2>"${FL_ERR:-/dev/null}" &
	FL_PIDS+=($!)
	printf -v "$var" '%s' "$!"
}

# shim_env [VAR=VAL ...] : the environment of a shim run, for `env`.
shim_env()
{
	echo "XSKSHIM_IFACE=vb XSKSHIM_PORTS=${PORTS:-9000} XSKSHIM_CSUM=verify XSKSHIM_STATS=1 LD_PRELOAD=$SHIM_PRELOAD"
}

# wait_file FILE REGEX SECS : until a line matches (0) or time runs out (1).
wait_file()
{
	local end=$((SECONDS + $3)) i=0
	while :; do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		[ $((i++ % 10)) = 0 ] && [ "$SECONDS" -gt "$end" ] && return 1
		sleep 0.05
	done
}

# wait_exit PID SECS : reap PID within SECS.  Sets WRC to its exit status
# and returns 0, or sets WRC=timeout and returns 1 (still running).  Not in
# a $(...) subshell: only this shell can reap its children.
wait_exit()
{
	local end=$(( $(date +%s%N) + $2 * 1000000000 ))
	WRC=timeout
	while kill -0 "$1" 2>/dev/null; do
		# a zombie child still answers kill -0; ask /proc
		[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && break
		[ "$(date +%s%N)" -gt "$end" ] && return 1
		sleep 0.05
	done
	wait "$1" 2>/dev/null
	WRC=$?
	return 0
}

# stop_pid PID [SECS] : SIGTERM, then SIGKILL if still alive after SECS (5).
stop_pid()
{
	kill -TERM "$1" 2>/dev/null
	if ! wait_exit "$1" "${2:-5}"; then
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 1
	fi
	return 0
}

# kv FILE KEY : value of "KEY=value" in the last line of FILE holding it.
kv()
{
	grep -oE "(^| )$2=[^ ]*" "$1" 2>/dev/null | tail -1 | sed "s/^ *$2=//"
}

# fl_settle FILE : until the "received=" count fault_recv prints to FILE
# (--progress-ms) stops moving (bounded: 10 s), then print it.  Run
# fault_recv with a --poll-ms below the 0.2 s sampling, or an idle receiver
# may print its last count late.
fl_settle()
{
	local a=-1 b
	for _ in $(seq 50); do
		b=$(kv "$1" received); [ "$a" = "$b" ] && break; a=$b; sleep 0.2
	done
	echo "${b:-0}"
}

# fl_recv_start TAG STYLE [ENV...] : start fault_recv on port 9000 in
# $NS_RCV (progress every 50 ms, $D/TAG.out and $D/TAG.err), under env ENV
# (a shim run: wait for its "accelerated" line, else FAIL and return 1) or
# plain (wait for it to be ready); its pid goes to R.
fl_recv_start()
{
	local t=$1 style=$2; shift 2
	FL_OUT=$D/$t.out FL_ERR=$D/$t.err fl_bg_rcv R env "$@" fault_recv --port 9000 --style "$style" \
		--poll-ms 50 --idle-ms 0 --max-secs 60 --progress-ms 50 ${FL_RCVBUF:+--rcvbuf "$FL_RCVBUF"}
	if [ $# -gt 0 ]; then
		wait_file "$D/$t.err" 'accelerated: fd' 5 && return 0
		fail "$t: not accelerated: $(head -2 "$D/$t.err")"
		return 1
	fi
	wait_file "$D/$t.err" 'fault_recv: ready' 5 || sleep 0.5
}

# summary_field FILE NAME : from the shim's exit summary, e.g. rx_xdp.
# Sums over every socket line; for XDP counters the "xdp:" line.
summary_sock_sum()
{
	grep 'summary: fd ' "$1" 2>/dev/null |
		grep -oE " $2 [0-9]+" | awk '{s += $2} END {print s + 0}'
}
summary_xdp()
{
	grep 'summary: xdp:' "$1" 2>/dev/null | grep -oE " $2 [0-9]+" | awk '{print $2; exit}'
}

# accel_all FILE N: 0 when the exit summary shows all N datagrams received
# on the accelerated path - through AF_XDP but for those the XDP program
# spilled past the fill budget to the kernel socket while the reader was
# off its CPU (rx_kernel = pass_spill; delivered, not lost) - and the bulk
# (at least half) through AF_XDP.  Prints the figures for the check's line.
accel_all()
{
	local x k sp
	x=$(summary_sock_sum "$1" rx_xdp); k=$(summary_sock_sum "$1" rx_kernel); sp=$(summary_xdp "$1" pass_spill)
	echo "rx_xdp $x + rx_kernel $k of $2, pass_spill ${sp:-?}"
	[ $((x + k)) = "$2" ] && [ "$k" = "${sp:-x}" ] && [ "$x" -ge $(($2 / 2)) ]
}

# check_accounted FILE "label" : the exit summary has at least one queue
# line, all say "accounted yes" with held_by_readers 0 (no reader runs at
# exit, so a frame still "held" has leaked: before commit fd899f8,
# ring_umem_fill() dropped returns it could not post when the fill ring
# looked full - tests/t_fault_frames.sh caught it).
check_accounted()
{
	local q bad
	q=$(grep -c 'summary: queue [0-9]*:' "$1" 2>/dev/null)
	bad=$(grep 'summary: queue [0-9]*: frames' "$1" 2>/dev/null | grep -v 'held_by_readers 0 .*accounted yes')
	if [ "${q:-0}" -gt 0 ] && [ -z "$bad" ]; then
		pass "$2: frame accounting intact (accounted yes, held_by_readers 0 on $q queue(s))"
	else
		fail "$2: frame accounting (queue lines: ${q:-0}) ${bad:-no queue line in the summary}"
	fi
}

# xdp_on_vb : prints the XDP program id attached to vb in $NS_RCV (empty if none)
xdp_on_vb()
{
	ip -d -n "$NS_RCV" link show dev vb 2>/dev/null | grep -oE 'prog/xdp[a-z]* id [0-9]+' |
		grep -oE '[0-9]+$' | head -1
}

# rss_kb PID
rss_kb()
{
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null
}

# bpftool shows no program called xskshim_xdp
no_xskshim_prog()
{
	! bpftool prog show 2>/dev/null | grep -q 'name xskshim_xdp'
}

# prog_gone ID : the BPF program ID no longer exists (waits up to 2 s, the
# kernel frees programs after an RCU grace period).
prog_gone()
{
	bpf_obj_gone prog "$1"
}
# bpf_obj_gone prog|map ID
bpf_obj_gone()
{
	local i
	for i in $(seq 40); do
		bpftool "$1" show id "$2" >/dev/null 2>&1 || return 0
		sleep 0.05
	done
	return 1
}

# kernel_path_counted ERRFILE N LABEL : the exit summary's rx_kernel of a
# socket that fell back counts what it received through the kernel.
# Known gap G1: receive calls on a kernel-path socket pass straight through
# (shim/wrap.c SHIM_WRAP_FD) and are never counted, so the summary says
# "rx_kernel 0" for a socket that received everything.
kernel_path_counted()
{
	local rk
	rk=$(summary_sock_sum "$1" rx_kernel)
	if [ "$rk" -ge "$2" ]; then
		pass "$3: exit summary counts the kernel-path datagrams (rx_kernel $rk)"
	else
		gap G1 "$3: exit summary counts the kernel-path datagrams" \
			"rx_kernel $rk for a fallen-back socket that received $2 (kernel-path receives are not counted)"
	fi
}

# fl_recv_count TAG N CMD... : start CMD in $NS_RCV ($D/TAG.out, $D/TAG.err;
# a fault_recv that prints "fault_recv: ready" and its summary line), send
# it N datagrams on port 9000 and wait for it to exit; one check that every
# datagram arrived.  Sets R (its pid), WRC and UDP (the UdpInDatagrams delta
# of the rcv namespace).  Returns 1 if it did not start.
fl_recv_count()
{
	local t=$1 n=$2 u0
	shift 2
	FL_OUT=$D/$t.out FL_ERR=$D/$t.err fl_bg_rcv R "$@"
	if ! wait_file "$D/$t.err" 'fault_recv: ready' 5; then
		fail "$t: receiver did not start: $(head -3 "$D/$t.err")"
		return 1
	fi
	u0=$(udp_in_datagrams "$NS_RCV")
	in_gen udpgen --dst "$ADDR_RCV" --port 9000 --count "$n" --rate 50000 >/dev/null
	wait_exit "$R" 25
	UDP=$(( $(udp_in_datagrams "$NS_RCV") - u0 ))
	check "$([ "$WRC" = 0 ] && [ "$(kv "$D/$t.out" missing)" = 0 ]; echo $?)" \
		"$t: every datagram delivered ($(grep -o 'received=[0-9]*' "$D/$t.out"))" \
		"$(grep -E 'xskshim|capdrop' "$D/$t.err" | head -3)"
}

# fl_named_conf PORT [OWNER] : $D/named.conf for bind9's named, authoritative
# for "example." (www.example. A 198.18.0.42), listening on $ADDR_RCV:PORT
# only; its working directory $D/named (owned by OWNER: named wants it
# writable by the user it switches to).
fl_named_conf()
{
	install -d ${2:+-o "$2"} "$D/named"
	cat >"$D/example.zone" <<EOF
\$TTL 300
@ IN SOA ns.example. admin.example. 1 3600 600 86400 300
@ IN NS ns.example.
ns IN A $ADDR_RCV
www IN A 198.18.0.42
EOF
	cat >"$D/named.conf" <<EOF
options {
	directory "$D/named";
	listen-on port $1 { $ADDR_RCV; };
	listen-on-v6 { none; };
	pid-file none;
	recursion no;
	dnssec-validation no;
};
zone "example." { type primary; file "$D/example.zone"; };
EOF
	chmod 644 "$D/example.zone" "$D/named.conf"
}

# fl_kdig_count PORT LABEL N : N queries for www.example. A from $NS_GEN in
# one kdig; prints how many were answered 198.18.0.42 ($D/LABEL.kdig).
fl_kdig_count()
{
	local names=() i
	for i in $(seq "$3"); do names+=("www.example."); done
	in_gen timeout 90 kdig @"$ADDR_RCV" -p "$1" +notcp +retry=1 +timeout=2 +short "${names[@]}" A \
		>"$D/$2.kdig" 2>&1
	grep -c '^198\.18\.0\.42$' "$D/$2.kdig"
}
