#!/bin/bash
# t_fuzz.sh - bounded libFuzzer run of build/fuzz_frame (ring_frame_parse and
# friends) for `make test`.  Works on a temporary copy of tests/corpus, so
# the committed seeds are never modified.  No privileges needed.
#
#   FUZZ_SECONDS=20 (default)  run time
#   XSKSHIM_BUILD=build        where fuzz_frame lives
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${XSKSHIM_BUILD:-$root/build}
fuzz=$build/fuzz_frame
secs=${FUZZ_SECONDS:-20}

if [ ! -x "$fuzz" ]; then
	# The usual reason: clang without its libFuzzer runtime, so
	# `make build/fuzz_frame` could not link.
	echo "SKIP: fuzz_frame: $fuzz not built (clang's libFuzzer runtime missing? try: make build/fuzz_frame)"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xskshim-fuzz.XXXXXX") || {
	echo "FAIL: fuzz_frame: cannot create a temporary directory"
	exit 1
}
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/corpus" "$tmp/artifacts"
cp "$root"/tests/corpus/* "$tmp/corpus/" 2>/dev/null

# -artifact_prefix keeps crash-* files out of the working directory;
# -print_final_stats gives a stat::number_of_executed_units line to parse.
# timeout is a safety net should the fuzzer itself hang.
(cd "$tmp" && timeout $((secs + 60)) "$fuzz" -max_total_time="$secs" -rss_limit_mb=1024 \
	-print_final_stats=1 -artifact_prefix="$tmp/artifacts/" "$tmp/corpus" \
	>"$tmp/log" 2>&1)
rc=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$tmp/log" | tail -n 1)
[ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$tmp/log" | tail -n 1)
crashes=$(ls "$tmp/artifacts" 2>/dev/null | wc -l)

if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ] && [ -n "$execs" ]; then
	echo "PASS: fuzz_frame ran $execs execs in ${secs}s without a crash"
	exit 0
fi

echo "---- fuzz_frame log (last 40 lines) ----"
tail -n 40 "$tmp/log"
if [ "$crashes" -gt 0 ]; then
	# keep the reproducer where a developer can find it
	mkdir -p "$build/fuzz-crashes"
	cp "$tmp"/artifacts/* "$build/fuzz-crashes/"
	echo "reproducers copied to $build/fuzz-crashes/ (run: $fuzz FILE)"
fi
echo "FAIL: fuzz_frame exited $rc after ${execs:-?} execs, $crashes crash artifact(s)"
exit 1
