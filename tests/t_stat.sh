#!/bin/bash
# t_stat.sh - xskshim-stat, the xskshim(7) man page, make install/uninstall.
#
# Without root: the man page renders without warnings; `make install` and
# `make uninstall` with DESTDIR/PREFIX put and remove the three files.
# With root and network namespaces (scripts/netns.sh fixture, 198.18.0.0/15):
#   - streamrecv runs under the shim in the rcv namespace, udpgen sends a
#     known count from the gen namespace at a pace the receiver keeps up
#     with; while the receiver is alive, `xskshim-stat PID --json` must show
#     the socket accelerated, rx via AF_XDP == sent, rx via kernel == 0, the
#     XDP program's redirect counter == sent, XDP_STATISTICS for the queue;
#     the JSON must validate; list mode, text mode and watch mode show it;
#     an unprivileged reader degrades with notes instead of failing;
#   - a second shim process on the same interface is listed with the reason
#     it is not accelerated; after kill -9 its region is STALE (never live),
#     `--clean` refuses a live pid and removes the stale region;
#   - the first receiver, stopped with SIGTERM, removes its region.
set -u
cd "$(dirname "$0")/.." || exit 1
. scripts/netns.sh

STAT=build/xskshim-stat
LIB=$PWD/build/libxskshim.so
SR=build/tests/streamrecv
UG=build/tests/udpgen
PORT=9000
PORT2=9001
N=20000            # datagrams sent
RATE=25000         # pps: well within what the receiver takes, so nothing is lost

fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
skip() { echo "SKIP: $*"; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

tmp=$(mktemp -d /tmp/t_stat.XXXXXX) || exit 1
pid1= pid2=
cleanup()
{
	local p
	for p in $pid1 $pid2; do
		kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	# only the regions of the processes this test started
	for p in $pid1 $pid2; do
		rm -f "/dev/shm/xskshim.$p"
	done
	[ -n "${NS_RCV:-}" ] && netns_cleanup
	rm -rf "$tmp"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# jq-like field access: json_get EXPR < doc   (d is the document)
json_get() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

for f in "$STAT" "$LIB" shim/xskshim.7; do
	[ -e "$f" ] || { fail "$f is missing (run make)"; exit 1; }
done

# ---- man page -------------------------------------------------------------
if command -v man >/dev/null 2>&1; then
	out=$(MANWIDTH=80 man -l shim/xskshim.7 2>&1 >/dev/null)
	check "man -l shim/xskshim.7 renders without warnings${out:+: $out}" test -z "$out"
	if MANWIDTH=80 man -l shim/xskshim.7 2>/dev/null | grep -q 'XSKSHIM_LINGER_MS'; then
		pass "man page lists the environment"
	else
		fail "man page lists the environment"
	fi
else
	skip "man -l shim/xskshim.7: man is not installed"
fi
if command -v groff >/dev/null 2>&1; then
	out=$(groff -man -Tutf8 -ww shim/xskshim.7 2>&1 >/dev/null)
	check "groff -man -ww: no warnings${out:+: $out}" test -z "$out"
else
	skip "groff -ww check: groff is not installed"
fi
# every variable config.c accepts is documented
missing=
for v in $(sed -n '/known_vars\[\] = {/,/};/p' shim/config.c | grep -o '"[A-Z_]*"' | tr -d '"'); do
	grep -q "XSKSHIM_$v" shim/xskshim.7 || missing="$missing XSKSHIM_$v"
done
check "man page documents every XSKSHIM_* variable of shim/config.c${missing:+ (missing:$missing)}" \
	test -z "$missing"

# ---- make install / uninstall --------------------------------------------
dest=$tmp/dest
if make -s --no-print-directory install DESTDIR="$dest" PREFIX=/usr >"$tmp/install.log" 2>&1; then
	ok=1
	for f in usr/lib/libxskshim.so usr/bin/xskshim-stat usr/share/man/man7/xskshim.7; do
		[ -f "$dest/$f" ] || { ok=0; echo "missing after install: $f"; }
	done
	[ -x "$dest/usr/bin/xskshim-stat" ] || ok=0
	cmp -s "$dest/usr/share/man/man7/xskshim.7" shim/xskshim.7 || ok=0
	check "make install DESTDIR PREFIX=/usr installs lib, xskshim-stat, man7 page" test "$ok" = 1
	check "installed xskshim-stat runs (--help)" \
		bash -c "'$dest/usr/bin/xskshim-stat' --help | grep -q usage"
else
	fail "make install DESTDIR PREFIX=/usr: $(tail -3 "$tmp/install.log")"
fi
if make -s --no-print-directory uninstall DESTDIR="$dest" PREFIX=/usr >"$tmp/uninstall.log" 2>&1; then
	left=$(find "$dest" -type f 2>/dev/null)
	check "make uninstall removes them${left:+ (left: $left)}" test -z "$left"
else
	fail "make uninstall: $(tail -3 "$tmp/uninstall.log")"
fi

# ---- usage errors ---------------------------------------------------------
"$STAT" --bogus >/dev/null 2>&1; rc=$?
check "unknown option: exit status 2" test "$rc" = 2
"$STAT" 2147483646 >/dev/null 2>"$tmp/nopid.err"; rc=$?
check "a pid without a region: exit status 1 and a message" \
	bash -c "[ $rc = 1 ] && grep -q 'not running under xskshim' '$tmp/nopid.err'"

# ---- live process (root, netns) -------------------------------------------
why=$(NETNS_TEST_NAME="xskshim-stat live checks" netns_skip_unless_root 2>&1; echo "__ok")
if [ "${why##*__ok}" != "" ] || [ "$why" != "__ok" ]; then
	printf '%s\n' "${why%__ok}" | grep '^SKIP: '
	exit $((fails > 0))
fi
for f in "$SR" "$UG"; do
	[ -x "$f" ] || { fail "$f is missing (run make)"; exit 1; }
done
if ! command -v python3 >/dev/null 2>&1; then
	skip "xskshim-stat live checks: python3 missing (needed to check the JSON)"
	exit $((fails > 0))
fi
NETNS_NO_TRAP=1
netns_setup 1 || { fail "netns_setup"; exit 1; }

# wait_for COND_CMD... : up to 10 s
wait_for() { local i; for i in $(seq 100); do "$@" && return 0; sleep 0.1; done; return 1; }

# ip netns exec execs the command: $! is the receiver's own pid
ip netns exec "$NS_RCV" env XSKSHIM_IFACE="$IF_RCV" XSKSHIM_PORTS=$PORT LD_PRELOAD="$LIB" \
	"$SR" --port $PORT --expect $((N + 1000)) --idle-ms 60000 --max-secs 60 \
	>"$tmp/sr1.out" 2>"$tmp/sr1.err" &
pid1=$!
if ! wait_for grep -qs 'streamrecv: ready' "$tmp/sr1.err" || ! wait_for test -e "/dev/shm/xskshim.$pid1"; then
	fail "receiver under the shim did not start (stderr: $(head -c 600 "$tmp/sr1.err"))"
	exit 1
fi
check "receiver pid $pid1 is streamrecv itself" \
	test "$(cat /proc/$pid1/comm 2>/dev/null)" = streamrecv

ip netns exec "$NS_GEN" "$UG" --dst "$ADDR_RCV" --port $PORT --count $N --rate $RATE \
	--duration-max 20 >"$tmp/ug.out" 2>&1
sent=$(grep -o 'sent=[0-9]*' "$tmp/ug.out" | cut -d= -f2)
check "udpgen sent $N datagrams (${sent:-none})" test "${sent:-0}" = "$N"

rx_now() { ip netns exec "$NS_RCV" "$STAT" --json "$pid1" 2>/dev/null | json_get 'd["sockets"][0]["counters"]["rx_xdp"]' 2>/dev/null; }
rx_reached() { [ "$(rx_now)" = "$N" ]; }
wait_for rx_reached

ip netns exec "$NS_RCV" "$STAT" --json "$pid1" >"$tmp/one.json" 2>"$tmp/one.err"
rc=$?
check "xskshim-stat --json PID exits 0 (rc $rc $(head -c 300 "$tmp/one.err"))" test "$rc" = 0
check "xskshim-stat --json PID is valid JSON (python3 -m json.tool)" \
	bash -c "python3 -m json.tool <'$tmp/one.json' >/dev/null"
j() { json_get "$1" <"$tmp/one.json" 2>&1; }
check "state live" test "$(j 'd["state"]')" = live
check "comm streamrecv" test "$(j 'd["comm"]')" = streamrecv
check "one socket, port $PORT" test "$(j 'len(d["sockets"]), d["sockets"][0]["port"]')" = "(1, $PORT)"
check "socket listed accelerated" test "$(j 'd["sockets"][0]["accelerated"]')" = True
v=$(j 'd["sockets"][0]["counters"]["rx_xdp"]')
check "rx via AF_XDP == sent ($v == $N)" test "$v" = "$N"
v=$(j 'd["sockets"][0]["counters"]["rx_kernel"]')
check "rx via kernel == 0 ($v)" test "$v" = 0
v=$(j 'd["sockets"][0]["counters"]["drop_total"]')
check "no validation drops ($v)" test "$v" = 0
v=$(j 'd["xdp_counters"]["redirect"]')
check "XDP program redirect counter == sent ($v == $N)" test "$v" = "$N"
v=$(j 'd["xdp_counters_error"]')
check "XDP counters read (error: $v)" test "$v" = None
v=$(j '[q["xdp_statistics"] is not None for q in d["sockets"][0]["queues"]], d["xdp_statistics_error"]')
check "XDP_STATISTICS read for every queue ($v)" test "$v" = "([True], None)"
v=$(j 'd["sockets"][0]["queues"][0]["xdp_statistics"]["rx_ring_full"]')
check "no rx_ring_full at this rate ($v)" test "$v" = 0

# text mode
ip netns exec "$NS_RCV" "$STAT" "$pid1" >"$tmp/one.txt" 2>&1
rc=$?
check "xskshim-stat PID (text) exits 0" test "$rc" = 0
check "text: header says live" grep -q "^streamrecv (pid $pid1)  live" "$tmp/one.txt"
check "text: socket row shows port $PORT accelerated" \
	grep -Eq "^ +[0-9]+ +$PORT +ipv4 +yes " "$tmp/one.txt"
check "text: XDP_STATISTICS and XDP program counter sections" \
	bash -c "grep -q '^AF_XDP SOCKETS' '$tmp/one.txt' && grep -Eq '^  redirect +$N ' '$tmp/one.txt'"
# aligned: in the SOCKETS table the right-aligned FD and PORT columns end
# where their headers end
v=$(python3 -c '
import sys
lines = open(sys.argv[1]).read().split("\n")
i = lines.index("SOCKETS")
hdr, row = lines[i + 1], lines[i + 2]
print(hdr.index("PORT") + 4 == row.index(" " + sys.argv[2] + " ") + 1 + len(sys.argv[2]),
      hdr.index("FD") + 2 == len(row) - len(row.lstrip()) + len(row.split()[0]))' "$tmp/one.txt" "$PORT" 2>&1)
check "text: columns aligned ($v)" test "$v" = "True True"

# list mode
ip netns exec "$NS_RCV" "$STAT" >"$tmp/list.txt" 2>&1
check "list mode shows pid $pid1 live" grep -Eq "^ *$pid1 +streamrecv +live " "$tmp/list.txt"
ip netns exec "$NS_RCV" "$STAT" --json >"$tmp/list.json" 2>&1
check "list --json is valid JSON" bash -c "python3 -m json.tool <'$tmp/list.json' >/dev/null"
v=$(json_get "[(p['state'], p['rx_xdp']) for p in d['processes'] if p['pid'] == $pid1]" <"$tmp/list.json" 2>&1)
check "list --json: pid $pid1 live with rx_xdp $N ($v)" test "$v" = "[('live', $N)]"

# watch mode: 2 refreshes, one JSON document per line, rates on the second
ip netns exec "$NS_RCV" "$STAT" -w -i 0.2 -c 2 --json "$pid1" >"$tmp/watch.json" 2>&1
v=$(python3 -c '
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
print(len(docs), "rates" in docs[1]["sockets"][0], "interval_s" in docs[1])' "$tmp/watch.json" 2>&1)
check "watch --json: 2 documents, rates on the second ($v)" test "$v" = "2 True True"
ip netns exec "$NS_RCV" "$STAT" -w -i 0.2 -c 2 "$pid1" >"$tmp/watch.txt" 2>&1
check "watch text: rates shown" grep -q 'RATE' "$tmp/watch.txt"

# an unprivileged reader degrades gracefully
if command -v setpriv >/dev/null 2>&1; then
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$STAT" --json "$pid1" >"$tmp/nobody.json" 2>"$tmp/nobody.err"
	rc=$?
	v=$(json_get '(d["sockets"][0]["counters"]["rx_xdp"], d["xdp_counters"], d["xdp_statistics_error"] is not None, d["xdp_counters_error"] is not None)' <"$tmp/nobody.json" 2>&1)
	check "unprivileged: exit 0, counters shown, XDP stats skipped with a reason (rc $rc: $v)" \
		test "$rc:$v" = "0:($N, None, True, True)"
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$STAT" "$pid1" >"$tmp/nobody.txt" 2>&1
	check "unprivileged text: says what is not available" \
		bash -c "grep -q 'not available: pidfd_getfd' '$tmp/nobody.txt' && grep -q 'not available: cannot open BPF map' '$tmp/nobody.txt'"
else
	skip "unprivileged reader: setpriv missing"
fi

# ---- a second process: not accelerated (interface taken), then kill -9 ----
ip netns exec "$NS_RCV" env XSKSHIM_IFACE="$IF_RCV" XSKSHIM_PORTS=$PORT2 LD_PRELOAD="$LIB" \
	"$SR" --port $PORT2 --idle-ms 60000 --max-secs 60 >"$tmp/sr2.out" 2>"$tmp/sr2.err" &
pid2=$!
if wait_for grep -qs 'streamrecv: ready' "$tmp/sr2.err" && wait_for test -e "/dev/shm/xskshim.$pid2"; then
	ip netns exec "$NS_RCV" "$STAT" --json "$pid2" >"$tmp/two.json" 2>&1
	v=$(json_get '(d["state"], d["sockets"][0]["accelerated"], "already attached" in d["sockets"][0]["reason"])' <"$tmp/two.json" 2>&1)
	check "second process: live, not accelerated, reason given ($v)" test "$v" = "('live', False, True)"
	ip netns exec "$NS_RCV" "$STAT" "$pid2" >"$tmp/two.txt" 2>&1
	check "second process text: ACCELERATED no with the reason" \
		grep -Eq "^ +[0-9]+ +$PORT2 +ipv4 +no +- +- +.*already attached" "$tmp/two.txt"

	{ kill -KILL "$pid2"; sleep 0.1; } 2>/dev/null
	wait_for bash -c "grep -q '^State:.*Z' /proc/$pid2/status 2>/dev/null || ! test -d /proc/$pid2"
	"$STAT" --json "$pid2" >"$tmp/zombie.json" 2>&1
	rc=$?
	check "killed, not yet reaped: STALE (rc $rc, $(json_get 'd["state"]' <"$tmp/zombie.json" 2>&1))" \
		test "$rc:$(json_get 'd["state"]' <"$tmp/zombie.json" 2>&1)" = "3:stale"
	{ wait "$pid2"; } 2>/dev/null
	check "region of the killed process is left behind" test -e "/dev/shm/xskshim.$pid2"
	"$STAT" --json "$pid2" >"$tmp/stale.json" 2>&1
	rc=$?
	v=$(json_get '(d["state"], d["xdp_counters"], d["xdp_statistics_error"])' <"$tmp/stale.json" 2>&1)
	check "killed and reaped: --json says stale, queries nothing, exit 3 (rc $rc: $v)" \
		test "$rc:$v" = "3:('stale', None, 'process not live')"
	"$STAT" "$pid2" >"$tmp/stale.txt" 2>&1
	check "text: STALE, never live" \
		bash -c "grep -q 'STALE' '$tmp/stale.txt' && ! grep -qw 'live' '$tmp/stale.txt'"
	"$STAT" >"$tmp/list2.txt" 2>&1
	check "list: killed pid $pid2 STALE, pid $pid1 still live" \
		bash -c "grep -Eq '^ *$pid2 +streamrecv +STALE ' '$tmp/list2.txt' && grep -Eq '^ *$pid1 +streamrecv +live ' '$tmp/list2.txt'"
	"$STAT" --clean "$pid1" >"$tmp/clean1.out" 2>&1
	rc=$?
	check "--clean refuses a live pid and keeps its region (rc $rc)" \
		bash -c "[ $rc != 0 ] && test -e /dev/shm/xskshim.$pid1"
	"$STAT" --clean "$pid2" >"$tmp/clean2.out" 2>&1
	rc=$?
	check "--clean removes the stale region (rc $rc: $(cat "$tmp/clean2.out"))" \
		bash -c "[ $rc = 0 ] && ! test -e /dev/shm/xskshim.$pid2"
	pid2=
else
	fail "second receiver did not start (stderr: $(head -c 600 "$tmp/sr2.err"))"
fi

# ---- the first receiver stops cleanly and removes its region ---------------
kill -TERM "$pid1"
wait "$pid1" 2>/dev/null
got=$(grep -o 'received=[0-9]*' "$tmp/sr1.out" | cut -d= -f2)
check "receiver got all $N datagrams (${got:-none})" test "${got:-0}" = "$N"
check "region removed at exit" test ! -e "/dev/shm/xskshim.$pid1"
"$STAT" "$pid1" >/dev/null 2>&1
rc=$?
check "xskshim-stat on the exited pid: exit 1" test "$rc" = 1
pid1=

exit $((fails > 0))
