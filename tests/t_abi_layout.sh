#!/bin/bash
# t_abi_layout.sh - the statistics ABI (shim/stats.h) states the layout of
# its version and the compiler holds every includer to it: a copy of the
# header with one counter appended must fail to compile (a layout change
# without a version bump), a copy with the version bumped but no layout
# stated must fail too, and the header as it is must compile.  Before the
# check existed, a change of a count the layout depends on (the drop
# reasons, RING_FRAME_ERR_CNT) moved every later field silently.
set -u
cd "$(dirname "$0")/.." || exit 1
TMP=$(mktemp -d /tmp/t_abi.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0
pass() { echo "PASS: abi-layout: $*"; }
fail() { echo "FAIL: abi-layout: $*"; fails=$((fails + 1)); }

# compile_with HEADER-DIR: a reader including only the statistics header
compile_with()
{
	printf '#include "shim/stats.h"\nint main(void) { return (int)sizeof(struct xskshim_stats_hdr) & 0; }\n' \
		>"$TMP/reader.c"
	cc -std=gnu11 -D_GNU_SOURCE -I"$1" -I. -fsyntax-only "$TMP/reader.c" >"$TMP/cc.log" 2>&1
}

mkdir -p "$TMP/same/shim" "$TMP/grown/shim" "$TMP/bumped/shim"
cp shim/stats.h "$TMP/same/shim/"
if compile_with "$TMP/same"; then
	pass "the header as it is compiles (its stated layout is the real one)"
else
	fail "the header as it is does not compile: $(grep -m1 error "$TMP/cc.log")"
fi

# one counter more at the end of the per-socket counters
sed '/^struct xskshim_stats_ctr {/,/^};/ s/^};/\tuint64_t added_counter;\n};/' shim/stats.h >"$TMP/grown/shim/stats.h"
if ! grep -q added_counter "$TMP/grown/shim/stats.h"; then
	fail "could not make the grown copy of the header (test broken)"
elif compile_with "$TMP/grown"; then
	fail "a counter added without a version bump still compiles: the layout is not checked"
elif grep -q 'statistics ABI' "$TMP/cc.log"; then
	pass "a counter added without a version bump fails the build ($(grep -m1 -o 'statistics ABI[^"]*' "$TMP/cc.log"))"
else
	fail "the grown copy fails for another reason: $(grep -m1 error "$TMP/cc.log")"
fi

# the version bumped, the layout not stated
sed 's/^#define XSKSHIM_STATS_VERSION .*/#define XSKSHIM_STATS_VERSION 99u/' shim/stats.h >"$TMP/bumped/shim/stats.h"
if compile_with "$TMP/bumped"; then
	fail "a new version with no layout stated still compiles"
elif grep -q 'statistics ABI' "$TMP/cc.log"; then
	pass "a version bump without its layout stated fails the build"
else
	fail "the bumped copy fails for another reason: $(grep -m1 error "$TMP/cc.log")"
fi
[ "$fails" = 0 ]
