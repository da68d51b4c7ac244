#!/bin/bash
# t_demo.sh - `make demo`'s own self-check, short (DEMO_QUICK=1: one round
# of 1 s per receiver): scripts/demo.sh exits 0, prints the shim/plain
# ratio line, and accounts for every datagram of each run (plain, shim,
# raw AF_XDP): sent == delivered through AF_XDP or the kernel socket +
# every counted drop.
set -u
cd "$(dirname "$0")/.." || exit 1
. scripts/netns.sh
NETNS_TEST_NAME="make demo self-check" netns_skip_unless_root || exit 0
fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
out=$(DEMO_QUICK=1 timeout 120 bash scripts/demo.sh 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/  | /'
[ "$rc" = 0 ] && pass "scripts/demo.sh (quick) exits 0" || fail "scripts/demo.sh (quick) exits 0 (rc $rc)"
line=$(grep -m1 '^shim/plain = [0-9.]*' <<<"$out")
[ -n "$line" ] && pass "the ratio line is printed ($line)" || fail "the ratio line is printed"
n=$(grep -c ' - all accounted$' <<<"$out")
[ "$n" = 3 ] && pass "every datagram of the 3 runs accounted for" || fail "every datagram of the 3 runs accounted for ($n of 3)"
grep -q 'NOT accounted' <<<"$out" && fail "a run has unaccounted datagrams"
grep -q 'sock: accelerated' <<<"$out" && pass "the shim run was accelerated" || fail "the shim run was accelerated"
exit $((fails > 0))
