#!/usr/bin/env bash
# t_bench_smoke.sh - smoke test of the benchmark: `BENCH_QUICK=1 scripts/bench`
# (seconds long, no performance thresholds) must produce table.md and
# plot.png in its run directory and results/latest/, and end with the
# `bench: shim/plain=... (mode=native size=1228)` line; table.md must carry
# the targets block (including the shim-busypoll and shim-deep-poll rows)
# and, with build/libxskshim.so built, xskshim-stat.txt a live capture and
# forkcost.txt a figure for each fork-cost variant, minimal and with a
# daemon-sized heap (no threshold).
# The run writes into a temporary BENCH_OUT, so it leaves results/ alone.
# SKIP when not root.
set -u
cd "$(dirname "$0")/.." || exit 1

NETNS_TEST_NAME=t_bench_smoke
. scripts/netns.sh
netns_skip_unless_root

for t in udpgen streamrecv rawrecv xdpgen xdpdrop; do
	if [ ! -x "build/tests/$t" ]; then
		echo "SKIP: bench smoke: build/tests/$t not built (make first)"
		exit 0
	fi
done

fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

out=$(mktemp -d /tmp/xskshim-bench-smoke.XXXXXX)
trap 'rm -rf "$out"' EXIT
log=$out/bench.log

BENCH_QUICK=1 BENCH_OUT="$out" timeout 300 scripts/bench > "$log" 2>&1
rc=$?
if [ $rc -eq 0 ]; then
	pass "bench exits 0"
else
	fail "bench exits 0 (rc=$rc)"
	tail -20 "$log"
fi

run=$(find "$out" -maxdepth 1 -name 'bench-*' -type d | head -1)
# transmit rows (scripts/bench-tx): a send-rate cell for each sender, filled
if [ -n "$run" ] && grep -qE '^\| (64|1228) B \| [0-9]+ \| [0-9]+ \| [0-9]+ \| [0-9]+ \| [0-9.]+ \| [0-9.]+ \|$' "$run/tx-table.md" 2>/dev/null &&
   awk -F, '$1 == "shim-tx" && $8 > 0 && $9 == 0' "$run/tx.csv" | grep -q . &&
   awk -F, '$1 == "raw-tx" && $6 > 0' "$run/tx.csv" | grep -q .; then
	pass "transmit rows: tx-table.md has plain/shim TX/raw AF_XDP TX (sums computed and from a table) send rates, the shim cell sent through the tx ring, the raw one arrived"
else
	fail "transmit rows in tx-table.md/tx.csv: $(head -12 "$run/tx-table.md" 2>/dev/null | tail -3)"
fi
if [ -n "$run" ] && [ -s "$run/table.md" ] && grep -q '^| ' "$run/table.md"; then
	pass "table.md written with a table"
else
	fail "table.md written with a table"
fi
if [ -n "$run" ] && [ -s "$run/plot.png" ] &&
   [ "$(head -c 8 "$run/plot.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
	pass "plot.png written (PNG)"
else
	fail "plot.png written (PNG)"
fi
if [ -s "$out/latest/table.md" ] && [ -s "$out/latest/plot.png" ]; then
	pass "copied to latest/"
else
	fail "copied to latest/"
fi
if [ -n "$run" ] && grep -q '^\*\*Targets\*\*' "$run/table.md" &&
   grep -q '^| shim-busypoll/raw-spin, 1228 B | ' "$run/table.md" &&
   grep -q '^| shim-deep-poll/raw-poll, 1228 B ' "$run/table.md" &&
   grep -q 'shim, blocking + BUSY_POLL' "$run/table.md"; then
	pass "table.md has the targets block and the shim-busypoll/shim-deep-poll rows"
else
	fail "table.md has the targets block and the shim-busypoll/shim-deep-poll rows"
fi
if [ ! -e build/libxskshim.so ]; then
	echo "SKIP: xskshim-stat capture (no build/libxskshim.so)"
elif [ -n "$run" ] && grep -q '^COUNTERS' "$run/xskshim-stat.txt" 2>/dev/null; then
	pass "xskshim-stat.txt captured from the receiving process"
else
	fail "xskshim-stat.txt captured from the receiving process"
	[ -n "$run" ] && head -5 "$run/xskshim-stat.txt" 2>/dev/null
fi
# what a fork costs: information only, so only that every variant has a figure
if [ ! -e build/libxskshim.so ]; then
	echo "SKIP: fork cost (no build/libxskshim.so)"
elif [ -n "$run" ] && [ "$(grep -cE '^(plain|shim-noinst|shim-accel)(-heap)? +[0-9]+ us' "$run/forkcost.txt" 2>/dev/null)" = 6 ]; then
	pass "forkcost.txt: a median fork + _exit + waitpid for plain, shim with nothing installed, shim accelerated, each also with a daemon-sized heap ($(grep -v '^#' "$run/forkcost.txt" | awk '{printf "%s %s us; ", $1, $2}'))"
else
	fail "forkcost.txt: a median for plain, shim-noinst and shim-accel, each also -heap -- $(cat "$run/forkcost.txt" 2>/dev/null | tr '\n' ' ')"
fi
last=$(tail -1 "$log")
if echo "$last" | grep -Eq '^bench: shim/plain=([0-9]+\.[0-9]{2}|n/a) shim/raw=([0-9]+\.[0-9]{2}|n/a) raw/drop=([0-9]+\.[0-9]{2}|n/a) \(mode=native size=1228\)$'; then
	pass "final line: $last"
else
	fail "final line has the bench: format (got: $last)"
fi
# the prefork row (issue 11): 2 forked children on one socket, plain and
# shim, each delivered datagrams, and the targets block compares them
pf=$([ -n "$run" ] && awk -F, 'NR > 1 && $4 ~ /-prefork$/ && $7 > 0 { print $4 }' "$run/results.csv" | sort -u | tr '\n' ' ')
if [ "$pf" = "plain-prefork shim-prefork " ] && grep -q '^| prefork: 2 children / 1 process, shim' "$run/table.md"; then
	pass "prefork rows: plain-prefork and shim-prefork delivered, compared in the targets block"
else
	fail "prefork rows: plain-prefork and shim-prefork delivered, compared in the targets block (rows with data: ${pf:-none})"
fi
# results.csv: status is column 18; xsk_drop and spill (20, 21) say where
# the shim's and raw's datagrams went
if [ -n "$run" ] && [ -s "$run/results.csv" ] && ! awk -F, 'NR > 1 && $18 == "fail"' "$run/results.csv" | grep -q .; then
	pass "no cell failed"
	awk -F, 'NR > 1 && $18 == "reordered" { print "  (note: cell " $1 " " $2 " " $3 " " $4 " delivered everything with a flow reordered)" }' "$run/results.csv"
else
	fail "no cell failed"
	[ -n "$run" ] && awk -F, 'NR > 1 && $18 == "fail"' "$run/results.csv"
fi
bad=$([ -n "$run" ] && awk -F, 'NR > 1 && $18 != "n/a" &&
	(($4 ~ /^shim-/ && ($20 !~ /^[0-9]+$/ || $21 !~ /^[0-9]+$/)) || ($4 ~ /^raw-/ && $20 !~ /^[0-9]+$/))' "$run/results.csv")
if [ -n "$run" ] && [ -z "$bad" ] && grep -q 'AF_XDP drops | spill' "$run/table.md"; then
	pass "loss location: every shim row has its AF_XDP drops and spill count, every raw row its AF_XDP drops"
else
	fail "loss location columns filled (rows without: ${bad:-table.md has no AF_XDP drops/spill columns})"
fi

# BENCH_BASE_ENV: base-poll rows (the same build here, with other settings)
# in the same rounds, the setting reaching only them: XSKSHIM_FILL_MIN=4096
# keeps the base receiver's fill target at 4096 or more at exit
if [ ! -e build/libxskshim.so ]; then
	echo "SKIP: base rows (no build/libxskshim.so)"
else
	bout=$out/base
	BENCH_QUICK=1 BENCH_OUT="$bout" BENCH_BASE_ENV="XSKSHIM_FILL_MIN=4096" BENCH_SIZES=64 \
		BENCH_MODES=native BENCH_RECEIVERS="shim-poll base-poll" BENCH_STAT=0 BENCH_FORK=0 BENCH_LAT_SECS=0 \
		BENCH_UDPGEN_COUNT=1 BENCH_TX=0 timeout 120 scripts/bench > "$bout.log" 2>&1
	brun=$(find "$bout" -maxdepth 1 -name 'bench-*' -type d 2>/dev/null | head -1)
	brow=$([ -n "$brun" ] && awk -F, '$1 == "xdpgen" && $4 == "base-poll" && ($18 == "ok" || $18 == "loss")' "$brun/results.csv")
	bft=$([ -n "$brun" ] && grep -ho 'fill_target [0-9]*' "$brun"/logs/xdpgen-native-64-base-poll-r1.err 2>/dev/null |
		awk '{ print $2; exit }')
	if [ -n "$brow" ] && [ "${bft:-0}" -ge 4096 ] && grep -q 'base shim (BENCH_BASE_LIB/ENV), poll' "$brun/table.md" &&
	   grep -q '^base=.*XSKSHIM_FILL_MIN=4096' "$brun/meta.env"; then
		pass "BENCH_BASE_ENV: a base-poll row delivered, with XSKSHIM_FILL_MIN=4096 in effect (fill_target $bft at exit), in table.md and meta.env"
	else
		fail "BENCH_BASE_ENV base-poll row (row: ${brow:-none}; fill_target ${bft:-none})"
		tail -5 "$bout.log"
	fi
fi
exit $((fails > 0))
