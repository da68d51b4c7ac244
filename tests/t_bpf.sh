#!/bin/bash
# t_bpf.sh - the XDP program under BPF_PROG_TEST_RUN: runs build/tests/test_bpf
# (see tests/test_bpf.c) and propagates its exit status.
#
# test_bpf creates a network namespace for its AF_XDP cases and removes it on
# exit and on signals; we pick the name and remove it in a trap as well, so
# that nothing is left behind even after a kill -9 of the test.
set -u
cd "$(dirname "$0")/.." || exit 1
bin=build/tests/test_bpf

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: XDP program tests (test_bpf): need root for BPF_PROG_TEST_RUN and network namespaces"
	exit 0
fi
if [ ! -x "$bin" ]; then
	echo "FAIL: XDP program tests: $bin is not built (make $bin)"
	exit 1
fi

ns="xsb-$$-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
pid=
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	return 0
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM HUP

XSKSHIM_TEST_NETNS="$ns" "$bin" &
pid=$!
wait "$pid"
rc=$?
pid=
exit "$rc"
