#!/bin/bash
# fault_sanitize.sh - `make test-sanitize` (tests/faults.mk): the shim built
# with -fsanitize=address,undefined ($SAN_SHIM, default build/asan/
# libxskshim.so) preloaded after the ASan runtime:
#   LD_PRELOAD=$(cc -print-file-name=libasan.so):build/asan/libxskshim.so
# 1. e2e receive: streamrecv (poll style, blocking style, 4-socket
#    SO_REUSEPORT group) and fault_recv (epoll, IPv6) receive every datagram
#    through AF_XDP, in native and skb mode;
# 2. the fault tests (tests/t_fault_*.sh, tests/t_hostile.sh) with the
#    sanitized shim.
# Any ASan/UBSan/LSan report on a receiver's stderr is a FAIL (fault_lib.sh
# fl_sanitizer_check).  The last line is "N passed, N failed", as run.sh.
cd "$(dirname "$0")/.." || exit 1
SAN_SHIM=${SAN_SHIM:-$PWD/build/asan/libxskshim.so}
ASAN_RT=$(${CC:-cc} -print-file-name=libasan.so)
if [ ! -f "$SAN_SHIM" ]; then
	echo "FAIL: test-sanitize: $SAN_SHIM not built (make test-sanitize builds it)"
	exit 1
fi
if [ ! -e "$ASAN_RT" ]; then
	echo "SKIP: test-sanitize: the compiler has no ASan runtime ($ASAN_RT)"
	exit 0
fi
export SHIM_PRELOAD="$ASAN_RT:$SAN_SHIM"
# detect_leaks: the shim's own allocations must all be freed or reachable at
# exit; the host programs are not instrumented, so only the shim is checked.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:print_summary=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
TIMEOUT=${TEST_TIMEOUT:-900}
pass=0 fail=0 skip=0

tally()
{
	local out=$1 rc=$2 name=$3 f
	printf '%s\n' "$out"
	f=$(grep -c '^FAIL: ' <<<"$out")
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "FAIL: $name exited with status $rc"
		f=1
	fi
	pass=$((pass + $(grep -c '^PASS: ' <<<"$out"))); fail=$((fail + f))
	skip=$((skip + $(grep -c '^SKIP: ' <<<"$out")))
}

# ---- 1. e2e receive under the sanitized shim ------------------------------
e2e()
{
	T=t_sanitize_e2e
	. tests/fault_lib.sh
	fl_setup
	local N=20000 D=$FL_TMP mode t
	for mode in native skb; do
		for t in "poll streamrecv --port 9000" "block streamrecv --port 9000 --blocking" \
			 "reuseport streamrecv --port 9000 --threads 4" \
			 "epoll6 fault_recv --port 9000 --style epoll --bind ::"; do
			set -- $t
			local tag=$mode-$1 dst=$ADDR_RCV flows=1
			shift
			[ "$tag" != "${tag%reuseport}" ] && flows=16
			[ "$tag" != "${tag%epoll6}" ] && dst=$ADDR6_RCV
			FL_OUT=$D/$tag.out FL_ERR=$D/$tag.err fl_bg_rcv R env $(shim_env) XSKSHIM_MODE=$mode \
				"$@" --expect "$N" --idle-ms 3000 --max-secs 30
			wait_file "$D/$tag.err" 'ready' 10 || { fail "$tag: receiver did not start: $(head -3 "$D/$tag.err")"; continue; }
			in_gen udpgen --dst "$dst" --port 9000 --flows "$flows" --count "$N" --rate 100000 >/dev/null
			wait_exit "$R" 40 || stop_pid "$R" 2
			local rx
			rx=$(summary_sock_sum "$D/$tag.err" rx_xdp)
			check "$([ "$WRC" = 0 ] && [ "$rx" = "$N" ]; echo $?)" \
				"$tag: all $N through AF_XDP under ASan+UBSan (exit $WRC, rx_xdp $rx; $(grep -oE 'received=[0-9]+ bad=[0-9]+|received=[0-9]+' "$D/$tag.out" | head -1))"
			check_accounted "$D/$tag.err" "$tag"
		done
	done
	fl_finish
}
echo "== t_sanitize_e2e"
out=$( (e2e) 2>&1 ); tally "$out" $? t_sanitize_e2e

# ---- 2. the fault tests ----------------------------------------------------
for t in tests/t_fault_*.sh tests/t_hostile.sh; do
	name=$(basename "$t" .sh)
	[ -n "${TESTS:-}" ] && ! grep -qw "$name" <<<"$TESTS" && continue
	echo "== $name (sanitized shim)"
	out=$(timeout -k 10 "$TIMEOUT" bash "$t" 2>&1); tally "$out" $? "$name"
done
echo
echo "skipped checks: $skip"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
