#!/bin/bash
# t_diff.sh - the differential socket-API test: tests/diff_sock.c runs in the
# receive namespace once on plain kernel sockets and once under
# LD_PRELOAD=libxskshim.so (XSKSHIM_MODE=skb and =native), driving its own
# sender (diff_sock --serve) in the gen namespace.  Checks, per mode:
#   - the transcript of every case is identical to the plain run's;
#   - UDP_GRO (case gro): under the shim fewer messages than datagrams,
#     every segment whole (the transcripts are compared cut at the segment size);
#   - bypass: the XSKSHIM_STATS=1 summary shows rx_xdp > 0 and XDP redirects
#     > 0, UdpInDatagrams of the rcv namespace grew by at most 1/20 of the
#     plain run's growth (a few cases legitimately use the kernel path:
#     IP fragments, IP_RECVTTL, the fork/exec children), and no socket fell
#     back to the kernel path for any other reason;
#   - bind churn: 1000 probe bind+close cycles take < CHURN_MAX_MS (5000) and
#     do not re-attach the XDP program (no "detached" log line, one prog id
#     seen by `ip link` sampling during the run, no fallback);
#   - TSan: the threaded cases under a TSan-instrumented diff_sock and shim
#     (both built here by hand into a temp dir) report no data race, and
#     give the plain transcript.
# Cases diff_sock marks as known differences are run too: those that are shim
# bugs outside the test's reach FAIL (naming the bug), documented rules and
# design limitations give SKIP lines (DIFF_STRICT=1 makes them FAIL).  The
# suite then runs once more on a 2-queue fixture (DIFF_MQ=0 skips that).
#
# Environment: DIFF_MODES="skb native", DIFF_CASES=a,b (default all; only
# those, no churn/known/TSan/multi-queue parts unless named),
# DIFF_STRICT=0|1, CHURN_MAX_MS=5000, DIFF_TSAN=1 (0 skips the TSan part),
# DIFF_KEEP=1 keeps the temp dir with all transcripts.
cd "$(dirname "$0")/.." || exit 1
NETNS_TEST_NAME=t_diff
. scripts/netns.sh
netns_skip_unless_root

DIFF=build/tests/diff_sock
SHIM=build/libxskshim.so
if [ ! -x "$DIFF" ] || [ ! -f "$SHIM" ]; then
	echo "SKIP: t_diff: $DIFF or $SHIM missing (run make)"
	exit 0
fi
PORTS=9100-9199
PORT_BASE=9100
MODES=${DIFF_MODES:-"skb native"}
CHURN_MAX_MS=${CHURN_MAX_MS:-5000}
TMP=$(mktemp -d /tmp/t_diff.XXXXXX)
PIDS=()
fails=0

cleanup()
{
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	netns_cleanup
	if [ "${DIFF_KEEP:-0}" = 1 ]; then
		echo "t_diff: transcripts kept in $TMP"
	else
		rm -rf "$TMP"
	fi
}
NETNS_NO_TRAP=1
trap cleanup EXIT
netns_setup || { echo "FAIL: t_diff: netns setup failed"; exit 1; }
# The cases that provoke ICMP errors (connected, recverr, epoll-errmask) do
# so from one peer within a second, in the plain run and again in each
# preloaded one: the gen namespace's per-peer ICMP rate limit (1 s for
# IPv4, 100 ms for IPv6, bursts of 6) dropped some of them in later runs,
# and those cases then differed with no shim involved (seen with main's
# build, 2026-12-07).  No rate limit there.
diff_icmp_unlimited() { ip netns exec "$NS_GEN" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 >/dev/null; }
diff_icmp_unlimited

pass() { echo "PASS: t_diff: $*"; }
fail() { echo "FAIL: t_diff: $*"; fails=$((fails + 1)); }

# run_diff NAME PRELOAD(0|1) MODE BIN [diff_sock args...]
#   -> $TMP/NAME.out (transcript) .err (stderr) .udp (UdpInDatagrams delta)
# Extra environment for the receiver in $RUN_ENV, and another shim in
# $SHIM_SO (absolute path) - preloaded runs only.
run_diff()
{
	local name=$1 pre=$2 mode=$3 bin=$4 ctl b a rc spid
	shift 4
	ctl=$TMP/ctl.$name
	# ip netns exec execs timeout: $! is its pid (not a subshell's)
	ip netns exec "$NS_GEN" timeout -k 5 400 "$DIFF" --serve "$ctl" --max-secs 400 &
	spid=$!
	PIDS+=("$spid")
	b=$(udp_in_datagrams)
	if [ "$pre" = 1 ]; then
		# shellcheck disable=SC2086
		in_rcv timeout -k 5 300 env XSKSHIM_IFACE="$IF_RCV" XSKSHIM_PORTS=$PORTS XSKSHIM_MODE="$mode" \
			XSKSHIM_CSUM=verify XSKSHIM_STATS=1 XSKSHIM_LOG=info $RUN_ENV LD_PRELOAD="${SHIM_SO:-$PWD/$SHIM}" \
			"$bin" --ctl "$ctl" --port-base $PORT_BASE "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
	else
		in_rcv timeout -k 5 300 "$bin" --ctl "$ctl" --port-base $PORT_BASE "$@" \
			>"$TMP/$name.out" 2>"$TMP/$name.err"
	fi
	rc=$?
	a=$(udp_in_datagrams)
	echo $((a - b)) >"$TMP/$name.udp"
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	return $rc
}

# split NAME: one file per "== case" section in $TMP/NAME.d/
split_cases()
{
	mkdir -p "$TMP/$1.d"
	awk -v d="$TMP/$1.d" '/^== /{ f = d "/" $2 } f { print > f }' "$TMP/$1.out"
}

# compare REF NAME LABEL: one PASS/FAIL per case of REF
compare_cases()
{
	local ref=$1 name=$2 label=$3 f c
	for f in "$TMP/$ref.d"/*; do
		c=$(basename "$f")
		if [ ! -f "$TMP/$name.d/$c" ]; then
			fail "$label: case $c: missing from the preloaded transcript (crashed or hung?)"
		elif cmp -s "$f" "$TMP/$name.d/$c"; then
			pass "$label: case $c identical to plain sockets"
		else
			fail "$label: case $c differs from plain sockets:"
			diff "$f" "$TMP/$name.d/$c" | head -20 | sed 's/^/    /'
		fi
	done
}

case_args=()
[ -n "${DIFF_CASES:-}" ] && case_args=(--cases "$DIFF_CASES")

# ---- plain reference -----------------------------------------------------
run_diff plain 0 - "$DIFF" "${case_args[@]}"
rc=$?
if [ "$rc" != 0 ]; then
	fail "plain run failed (exit status $rc); stderr:"
	tail -5 "$TMP/plain.err" | sed 's/^/    /'
	exit 1
fi
if grep -q HARNESS-ERROR "$TMP/plain.out"; then
	fail "plain run: harness error: $(grep -m1 HARNESS-ERROR "$TMP/plain.out")"
fi
split_cases plain
plain_udp=$(cat "$TMP/plain.udp")
echo "t_diff: plain run: UdpInDatagrams +$plain_udp, $(ls "$TMP/plain.d" | wc -l) cases"

# ---- preloaded, per mode ---------------------------------------------------
# Fallbacks the transcript itself asks for; any other is a failure.
# (a fork child that binds a configured port: the control-plane rule of shim.h)
expected_fallback='bound to loopback address|IP_RECVTTL|IPV6_RECVHOPLIMIT|XDP program id [0-9]+ .* is already attached|SO_ATTACH_REUSEPORT|bound in fork child [0-9]+ of the process that set up XDP'

for mode in $MODES; do
	name=shim-$mode
	RUN_ENV=
	if ! run_diff "$name" 1 "$mode" "$DIFF" "${case_args[@]}"; then
		fail "$mode: preloaded run exited with an error; stderr tail:"
		grep -v '^diff_sock: case' "$TMP/$name.err" | tail -5 | sed 's/^/    /'
	fi
	split_cases "$name"
	compare_cases plain "$name" "$mode"

	# bypass
	rx_xdp=$(grep -o 'rx_xdp [0-9]*' "$TMP/$name.err" | awk '{ s += $2 } END { print s + 0 }')
	redirect=$(grep -o 'xdp: redirect [0-9]*' "$TMP/$name.err" | awk '{ s += $3 } END { print s + 0 }')
	shim_udp=$(cat "$TMP/$name.udp")
	if [ "$rx_xdp" -gt 0 ] && [ "$redirect" -gt 0 ]; then
		pass "$mode: bypass: stats show rx_xdp $rx_xdp (listed sockets), XDP redirect $redirect"
	else
		fail "$mode: bypass: stats show rx_xdp $rx_xdp, XDP redirect $redirect (expected both > 0)"
	fi
	# datagrams the XDP program spilled to the kernel socket because the
	# fill budget was spent (a burst while not reading, c_burst) take the
	# kernel path by design and are counted; nothing else may
	spill=$(grep -o 'pass_spill [0-9]*' "$TMP/$name.err" | awk '{ s += $2 } END { print s + 0 }')
	if [ $(((shim_udp - spill) * 20)) -le "$plain_udp" ]; then
		pass "$mode: bypass: UdpInDatagrams +$shim_udp preloaded (of which $spill spilled past the fill budget) vs +$plain_udp plain"
	else
		fail "$mode: bypass: UdpInDatagrams +$shim_udp preloaded (of which $spill spilled past the fill budget) vs +$plain_udp plain (more than 1/20 took the kernel path otherwise)"
	fi
	# UDP_GRO (case gro): the shim coalesced same-flow runs into fewer
	# messages, every segment a whole datagram (the transcript, cut at
	# the UDP_GRO segment size, is compared above)
	gl=$(grep -m1 '^diff_sock: gro msgs=' "$TMP/$name.err")
	if [ -n "$gl" ]; then
		read -r gm gd gb < <(sed 's/.*msgs=\([0-9]*\) datagrams=\([0-9]*\) bad=\([0-9]*\).*/\1 \2 \3/' <<<"$gl")
		if [ "$gb" = 0 ] && [ "$gm" -lt "$gd" ]; then
			pass "$mode: UDP_GRO: $gd datagrams came as $gm coalesced messages, each segment whole and in order"
		else
			fail "$mode: UDP_GRO: $gd datagrams came as $gm messages with $gb bad segment(s) (expected fewer messages, 0 bad)"
		fi
	fi
	unexpected=$(grep -E 'NOT accelerated|moved to the kernel path' "$TMP/$name.err" | grep -Ev "$expected_fallback")
	if [ -z "$unexpected" ]; then
		pass "$mode: no socket fell back to the kernel path except those the test asks for"
	else
		fail "$mode: $(wc -l <<<"$unexpected") unexpected fallback(s) to the kernel path, e.g.:"
		sort <<<"$unexpected" | sed 's/^xskshim\[[0-9]*\]: //' | uniq -c | head -5 | sed 's/^/    /'
	fi
	# the syscall case makes and binds its socket with syscall(SYS_socket)
	# and syscall(SYS_bind): the same as through libc, so accelerated
	if [ -s "$TMP/$name.d/syscall" ]; then
		sp=$((PORT_BASE + 78))
		if grep -qE "accelerated: fd [0-9]+ udp port $sp via" "$TMP/$name.err"; then
			pass "$mode: syscall: a socket made and bound through syscall(SYS_socket/SYS_bind) is accelerated"
		else
			fail "$mode: syscall: a socket made and bound through syscall(SYS_socket/SYS_bind) is accelerated -- no decision line for port $sp"
		fi
	fi
done

# ---- bind churn ------------------------------------------------------------
churn_modes=$MODES
[ -n "${DIFF_CASES:-}" ] && [[ ",$DIFF_CASES," != *,churn,* ]] && churn_modes=
for mode in $churn_modes; do
	name=churn-$mode
	ids=$TMP/$name.ids
	: >"$ids"
	( while :; do
		ip -n "$NS_RCV" link show dev "$IF_RCV" 2>/dev/null | grep -oE 'prog/xdp[a-z]* id [0-9]+' >>"$ids"
		sleep 0.1
	done ) &
	sampler=$!
	PIDS+=("$sampler")
	RUN_ENV=
	run_diff "$name" 1 "$mode" "$DIFF" --cases churn
	kill "$sampler" 2>/dev/null
	wait "$sampler" 2>/dev/null
	ms=$(sed -n 's/^diff_sock: churn_ms=//p' "$TMP/$name.err")
	ok=$(grep -c '^churn/1000-bind-close ok=1000 fail=0' "$TMP/$name.out")
	if [ "$ok" = 1 ] && [ -n "$ms" ] && [ "$ms" -lt "$CHURN_MAX_MS" ]; then
		pass "$mode: 1000 probe bind+close cycles took ${ms} ms (< $CHURN_MAX_MS)"
	else
		fail "$mode: 1000 probe bind+close cycles took ${ms:-?} ms (limit $CHURN_MAX_MS; plain $(sed -n 's/^diff_sock: churn_ms=//p' "$TMP/plain.err") ms)"
	fi
	detached=$(grep -c 'detached from' "$TMP/$name.err")
	nids=$(sort -u "$ids" | wc -l)
	if [ "$detached" = 0 ] && [ "$nids" -le 1 ]; then
		pass "$mode: churn: XDP program attached once (prog ids seen: $nids, detaches: 0)"
	else
		fail "$mode: churn: XDP program re-attached during probing ($detached detach(es) logged, $nids distinct prog ids seen by ip link)"
	fi
	busy=$(grep -cE 'NOT accelerated' "$TMP/$name.err")
	if [ "$busy" = 0 ]; then
		pass "$mode: churn: every probe socket was accelerated"
	else
		fail "$mode: churn: $busy probe socket(s) fell back: $(grep -m1 -oE 'NOT accelerated.*' "$TMP/$name.err")"
	fi
done

# ---- known differences -----------------------------------------------------
# bug: a shim defect outside diff_sock's reach (FAIL); limit: a documented
# rule or a limitation of the design (SKIP, or FAIL with DIFF_STRICT=1).
declare -A known_kind=(
	[cmsg-tsorder]=bug [cmsg-unsup-pending]=bug [shared-port]=bug [eintr-mixed]=limit [order]=limit
)
declare -A known_why=(
	[eintr-mixed]="the shim cannot tell which signal interrupted its wait: once any handler without SA_RESTART is installed, an SA_RESTART signal also gives EINTR"
	[cmsg-tsorder]="sock.c keeps SO_TIMESTAMP/SO_TIMESTAMPNS as independent bits (kernel: SO_TIMESTAMP clears the NS flag, turning either off clears both)"
	[cmsg-unsup-pending]="datagrams already on the AF_XDP rings are dropped when a kernel-only option (IP_RECVTTL) moves the socket to the kernel path"
	[shared-port]="all sockets on one (address, port) form one flow-hashed group: a connected socket does not get its 4-tuple (its flow goes to a sibling, other flows hashed to it are dropped), SO_REUSEADDR sockets get flows spread"
	[order]="datagrams on the two paths are not ordered with each other, and one batch may leave the kernel path's datagram for the next call"
)

# known_report LABEL REF NAME
known_report()
{
	local label=$1 ref=$2 name=$3 f c first
	for f in "$TMP/$ref.d"/*; do
		c=$(basename "$f")
		if [ -f "$TMP/$name.d/$c" ] && cmp -s "$f" "$TMP/$name.d/$c"; then
			pass "$label: known-difference case $c is now identical (remove it from the known list)"
			continue
		fi
		first=$(diff "$f" "$TMP/$name.d/$c" 2>&1 | grep -m1 '^>' | cut -c3-200)
		if [ "${known_kind[$c]}" = bug ]; then
			fail "$label: known shim bug, case $c: ${known_why[$c]:-?}; preloaded: $first"
		elif [ "${DIFF_STRICT:-0}" = 1 ]; then
			fail "$label: known difference $c: ${known_why[$c]:-?}; preloaded: $first"
		else
			echo "SKIP: t_diff: $label: known difference $c: ${known_why[$c]:-?}; preloaded: $first"
		fi
	done
}

if [ -z "${DIFF_CASES:-}" ]; then
	known=$("$DIFF" --list | sed -n 's/ (known difference)$//p' | paste -sd, -)
	run_diff known-plain 0 - "$DIFF" --cases "$known"
	split_cases known-plain
	mode=${MODES##* }
	RUN_ENV=
	run_diff known-shim 1 "$mode" "$DIFF" --cases "$known"
	split_cases known-shim
	known_report "$mode" known-plain known-shim
fi

# ---- TSan ------------------------------------------------------------------
tsan_build()
{
	local o=$TMP/tsan f
	mkdir -p "$o"
	cc -O1 -g -fsanitize=thread -std=gnu11 -D_GNU_SOURCE -o "$o/diff_sock" tests/diff_sock.c -lpthread \
		>"$o/build.log" 2>&1 || return 1
	[ -f build/xskshim.skel.h ] && [ -f build/xskshim.map ] || return 1
	for f in shim/*.c ring/*.c ctl/*.c; do
		grep -q '^int main' "$f" && continue
		cc -O1 -g -fsanitize=thread -std=gnu11 -D_GNU_SOURCE -fPIC -fvisibility=hidden -I. -Ibuild \
			$(pkg-config --cflags libxdp libbpf 2>/dev/null) -c "$f" -o "$o/$(tr / _ <<<"$f").o" \
			>>"$o/build.log" 2>&1 || return 1
	done
	# linked as the Makefile links build/libxskshim.so (symbol isolation)
	[ -f build/xskshim.wrap ] && [ -f build/xskshim-deps.wrap ] && [ -f build/libbpf-shim.a ] &&
		[ -f build/libxdp-shim.a ] || return 1
	cc -shared -fsanitize=thread -o "$o/libxskshim.so" "$o"/*.o -Wl,--version-script=build/xskshim.map \
		@build/xskshim.wrap @build/xskshim-deps.wrap -Wl,--exclude-libs,ALL build/libxdp-shim.a \
		build/libbpf-shim.a "$(cc -print-file-name=libz.a)" -Wl,--no-as-needed -lmnl -lelf -Wl,--as-needed \
		-ldl -lpthread >>"$o/build.log" 2>&1
}

if [ "${DIFF_TSAN:-1}" = 1 ] && [ -z "${DIFF_CASES:-}" ]; then
	if ! tsan_build; then
		echo "SKIP: t_diff: TSan: build with -fsanitize=thread failed ($(tail -1 "$TMP/tsan/build.log"))"
	elif ! TSAN_OPTIONS=exitcode=0 "$TMP/tsan/diff_sock" --list >/dev/null 2>&1; then
		echo "SKIP: t_diff: TSan: instrumented binary does not start here"
	else
		mode=${MODES##* }
		for linger in 600000 default; do
			RUN_ENV="TSAN_OPTIONS=halt_on_error=0:exitcode=0"
			[ "$linger" != default ] && RUN_ENV="$RUN_ENV XSKSHIM_LINGER_MS=$linger"
			SHIM_SO=$TMP/tsan/libxskshim.so
			run_diff "tsan-$linger" 1 "$mode" "$TMP/tsan/diff_sock" --cases threads,recvmmsg,shutdown-wakes,epoll,epoll-oneshot-mixed
			SHIM_SO=
			split_cases "tsan-$linger"
			races=$(grep -c 'WARNING: ThreadSanitizer' "$TMP/tsan-$linger.err")
			what="threads, recvmmsg, shutdown-wakes, epoll under TSan ($mode, instrumented diff_sock + shim"
			[ "$linger" = default ] && what="$what, default XSKSHIM_LINGER_MS incl. exit)" ||
				what="$what, linger longer than the run)"
			same=1
			for c in threads recvmmsg shutdown-wakes epoll epoll-oneshot-mixed; do
				cmp -s "$TMP/plain.d/$c" "$TMP/tsan-$linger.d/$c" || same=0
			done
			if [ "$races" = 0 ] && [ "$same" = 1 ]; then
				pass "$what: no data race, transcript identical"
			else
				fail "$what: $races race report(s), transcript identical: $same"
				awk '/WARNING: ThreadSanitizer/{w=1; s=""; n=0; next}
				     w && /#[0-2] / && n < 3 { sub(/\(.*$/, ""); s = s " <- " $2 " " $3; n++ }
				     w && /^$/ && s != "" { print s; w = 0 }' "$TMP/tsan-$linger.err" |
					sort | uniq -c | sort -rn | head -4 | sed 's/^/    /'
			fi
		done
		RUN_ENV=
	fi
fi

# ---- multi-queue fixture ---------------------------------------------------
# Two RX queues: each socket has one AF_XDP socket per queue.
if [ "${DIFF_MQ:-1}" = 1 ] && [ -z "${DIFF_CASES:-}" ]; then
	netns_cleanup
	if netns_setup 2; then
		diff_icmp_unlimited
		mode=${MODES##* }
		RUN_ENV=
		run_diff mq-plain 0 - "$DIFF" --skip churn
		split_cases mq-plain
		run_diff mq-shim 1 "$mode" "$DIFF" --skip churn
		split_cases mq-shim
		compare_cases mq-plain mq-shim "$mode, 2 queues"
		qs=$(grep -oE 'queue [0-9]+: frames' "$TMP/mq-shim.err" | sort -u | wc -l)
		if [ "$qs" = 2 ]; then
			pass "$mode, 2 queues: the shim set up AF_XDP on both queues"
		else
			fail "$mode, 2 queues: the exit summary lists $qs queue(s)"
		fi
	else
		fail "2-queue netns setup failed"
	fi
fi

echo "t_diff: $fails failure(s)"
[ "$fails" = 0 ]
