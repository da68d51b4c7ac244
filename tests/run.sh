#!/bin/bash
# tests/run.sh - the suite behind `make test`.
# Runs every unit test binary and every tests/t_*.sh, each bounded in time,
# echoes their output, and counts their "PASS:"/"FAIL:"/"SKIP:" lines (see
# tests/README.conventions).  A test that exits non-zero without printing a
# FAIL line counts as one failure.  The last line is "N passed, N failed".
# TESTS="t_e2e t_bpf" limits the run to those names.
cd "$(dirname "$0")/.." || exit 1
export PATH="$PWD/build/tests:$PATH"
TIMEOUT=${TEST_TIMEOUT:-600}
pass=0 fail=0 skip=0
failed_names=()

run_one()
{
	local name=$1; shift
	local out rc p f s
	echo "== $name"
	out=$(timeout -k 10 "$TIMEOUT" "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(grep -c '^PASS: ' <<<"$out")
	f=$(grep -c '^FAIL: ' <<<"$out")
	s=$(grep -c '^SKIP: ' <<<"$out")
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "FAIL: $name exited with status $rc$([ "$rc" = 124 ] && echo " (timed out after ${TIMEOUT}s)")"
		f=1
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	[ "$f" != 0 ] && failed_names+=("$name")
}

selected()
{
	[ -z "${TESTS:-}" ] && return 0
	local t
	for t in $TESTS; do [ "$t" = "$1" ] && return 0; done
	return 1
}

for bin in test_ring test_stats_abi test_route test_tx; do
	selected "$bin" && run_one "$bin" "build/tests/$bin"
done
for t in tests/t_*.sh; do
	name=$(basename "$t" .sh)
	selected "$name" && run_one "$name" bash "$t"
done

# processes the tests ended with a signal never ran the shim's destructor:
# drop their (stale, never live) statistics regions
[ -x build/xskshim-stat ] && build/xskshim-stat --clean >/dev/null 2>&1

echo
[ "${#failed_names[@]}" != 0 ] && echo "failed tests: ${failed_names[*]}"
echo "skipped checks: $skip"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
