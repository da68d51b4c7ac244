#!/bin/bash
# t_prom.sh - xskshim-stat --prometheus and --textfile.
#
# Without root: usage errors.  With root and network namespaces
# (scripts/netns.sh, 198.18.0.0/15):
#   - a receiver under the shim, its binary named with a double quote and a
#     backslash (label escaping), gets a known count from udpgen; a second
#     receiver on the same interface is not accelerated (reason label);
#   - `promtool check metrics` (Debian's prometheus package) accepts the live
#     scrape of each process and of all of them;
#   - the values: datagrams via AF_XDP == sent, via the kernel == 0, the XDP
#     program's redirects == sent, accelerated 1 and 0 with the reason, the
#     ring occupancy gauges present and within the UMEM, the comm label
#     unescapes to the real name;
#   - transmit: a python3 sender under XSKSHIM_TX=on sends 1000 datagrams:
#     sent af_xdp + kernel == 1000, bytes == 32 x af_xdp, af_xdp > 0;
#   - --textfile DIR writes DIR/xskshim.prom (valid, 0644, no temporary file
#     left) and a reader running beside a fast --watch rewrite never sees
#     a partial file; a missing DIR is an error.
set -u
cd "$(dirname "$0")/.." || exit 1
. scripts/netns.sh

STAT=$PWD/build/xskshim-stat
LIB=$PWD/build/libxskshim.so
SR=$PWD/build/tests/streamrecv
UG=$PWD/build/tests/udpgen
PORT=9000
N=20000
RATE=25000

fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
skip() { echo "SKIP: $*"; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

tmp=$(mktemp -d /tmp/t_prom.XXXXXX) || exit 1
pid1= pid2= pid3=
cleanup()
{
	local p
	for p in $pid1 $pid2 $pid3; do
		kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
		rm -f "/dev/shm/xskshim.$p"
	done
	[ -n "${NS_RCV:-}" ] && netns_cleanup
	rm -rf "$tmp"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

[ -x "$STAT" ] || { fail "$STAT is missing (run make)"; exit 1; }

"$STAT" --prometheus 2147483646 >/dev/null 2>"$tmp/nopid.err"; rc=$?
check "--prometheus PID without a region: exit 1 and a message" \
	bash -c "[ $rc = 1 ] && grep -q 'not running under xskshim' '$tmp/nopid.err'"
"$STAT" --textfile "$tmp/no/such/dir" >/dev/null 2>"$tmp/nodir.err"; rc=$?
check "--textfile into a missing directory: exit 1 and a message" \
	bash -c "[ $rc = 1 ] && grep -q 'textfile' '$tmp/nodir.err'"

why=$(NETNS_TEST_NAME="xskshim-stat --prometheus live checks" netns_skip_unless_root 2>&1; echo "__ok")
if [ "$why" != "__ok" ]; then
	printf '%s\n' "${why%__ok}" | grep '^SKIP: '
	exit $((fails > 0))
fi
if ! command -v promtool >/dev/null 2>&1; then
	fail "promtool is missing (Debian package prometheus; scripts/deps.sh installs it)"
	exit 1
fi
for f in "$LIB" "$SR" "$UG"; do
	[ -x "$f" ] || [ -f "$f" ] || { fail "$f is missing (run make)"; exit 1; }
done
NETNS_NO_TRAP=1
netns_setup 1 || { fail "netns_setup"; exit 1; }
wait_for() { local i; for i in $(seq 100); do "$@" && return 0; sleep 0.1; done; return 1; }

# a name with a double quote and a backslash: the comm label must escape both
name='sr"q\x'
cp "$SR" "$tmp/$name"
ip netns exec "$NS_RCV" env XSKSHIM_IFACE="$IF_RCV" XSKSHIM_PORTS=$PORT LD_PRELOAD="$LIB" \
	"$tmp/$name" --port $PORT --expect $((N + 1000)) --idle-ms 60000 --max-secs 60 \
	>"$tmp/sr1.out" 2>"$tmp/sr1.err" &
pid1=$!
if ! wait_for grep -qs 'ready' "$tmp/sr1.err" || ! wait_for test -e "/dev/shm/xskshim.$pid1"; then
	fail "receiver under the shim did not start (stderr: $(head -c 600 "$tmp/sr1.err"))"
	exit 1
fi
# the second one binds another port on the same interface: not accelerated
ip netns exec "$NS_RCV" env XSKSHIM_IFACE="$IF_RCV" XSKSHIM_PORTS=$((PORT + 1)) LD_PRELOAD="$LIB" \
	"$SR" --port $((PORT + 1)) --expect 1 --idle-ms 60000 --max-secs 60 >"$tmp/sr2.out" 2>"$tmp/sr2.err" &
pid2=$!
wait_for grep -qs 'ready' "$tmp/sr2.err" && wait_for test -e "/dev/shm/xskshim.$pid2" ||
	fail "second receiver did not start (stderr: $(head -c 600 "$tmp/sr2.err"))"

ip netns exec "$NS_GEN" "$UG" --dst "$ADDR_RCV" --port $PORT --count $N --rate $RATE \
	--duration-max 20 >"$tmp/ug.out" 2>&1
sent=$(grep -o 'sent=[0-9]*' "$tmp/ug.out" | cut -d= -f2)
check "udpgen sent $N datagrams (${sent:-none})" test "${sent:-0}" = "$N"

# prom_get FILE METRIC LABEL=VALUE... : the sample's value (label values
# unescaped), or nothing
prom_get()
{
	python3 - "$@" <<'EOF'
import re, sys
path, metric, want = sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
lab = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
unesc = lambda v: re.sub(r'\\(.)', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v)
for line in open(path):
    if line.startswith("#") or not line.startswith(metric + "{"):
        continue
    body, val = line.rsplit("} ", 1)
    labels = {k: unesc(v) for k, v in lab.findall(body[len(metric) + 1:])}
    if all(labels.get(k) == v for k, v in want.items()):
        print(val.strip())
        break
EOF
}

scrape() { ip netns exec "$NS_RCV" "$STAT" --prometheus "$@"; }
rx_reached() {
	scrape "$pid1" >"$tmp/p1.prom" 2>/dev/null &&
		[ "$(prom_get "$tmp/p1.prom" xskshim_socket_received_packets_total path=af_xdp)" = "$N" ]
}
wait_for rx_reached

scrape "$pid1" >"$tmp/p1.prom" 2>"$tmp/p1.err"; rc=$?
check "--prometheus PID exits 0 (rc $rc $(head -c 300 "$tmp/p1.err"))" test "$rc" = 0
out=$(promtool check metrics <"$tmp/p1.prom" 2>&1); rc=$?
check "promtool check metrics accepts the scrape of pid $pid1 (rc $rc${out:+: $(head -c 400 <<<"$out")})" \
	test "$rc" = 0
g() { prom_get "$tmp/p1.prom" "$@"; }
v=$(g xskshim_socket_received_packets_total "pid=$pid1" path=af_xdp port=$PORT)
check "received via af_xdp == sent (${v:-none} == $N)" test "${v:-}" = "$N"
v=$(g xskshim_socket_received_packets_total "pid=$pid1" path=kernel)
check "received via kernel == 0 (${v:-none})" test "${v:-}" = 0
v=$(g xskshim_xdp_packets_total "pid=$pid1" action=redirect)
check "XDP program redirects == sent (${v:-none} == $N)" test "${v:-}" = "$N"
v=$(g xskshim_socket_received_bytes_total "pid=$pid1")
check "bytes via af_xdp > 0 (${v:-none})" test "${v:-0}" -gt 0
v=$(g xskshim_socket_accelerated "pid=$pid1" port=$PORT reason=)
check "socket accelerated 1 with an empty reason (${v:-none})" test "${v:-}" = 1
v=$(g xskshim_socket_dropped_packets_total "pid=$pid1" reason=bad_csum)
check "bad_csum drops 0 (${v:-none})" test "${v:-}" = 0
v=$(g xskshim_process_info "pid=$pid1" "comm=$name")
check "comm label unescapes to the real name ($name): ${v:-no sample}" test "${v:-}" = 1
grep -qF 'comm="sr\"q\\x"' "$tmp/p1.prom"
check "comm label escaped as sr\\\"q\\\\x in the text" test $? = 0
v=$(g xskshim_xsk_rx_ring_entries "pid=$pid1" queue=0)
check "RX ring occupancy gauge present and 0 after the traffic (${v:-none})" test "${v:-}" = 0
v=$(g xskshim_fill_ring_entries "pid=$pid1")
frames=$(g xskshim_umem_frames "pid=$pid1")
check "fill ring occupancy present, 0 < ${v:-none} <= UMEM frames ${frames:-none}" \
	test "${v:-0}" -gt 0 -a "${v:-0}" -le "${frames:-0}"
check "no scrape errors as root" bash -c "! grep -q '^xskshim_scrape_error{' '$tmp/p1.prom'"

scrape "$pid2" >"$tmp/p2.prom" 2>&1
v=$(prom_get "$tmp/p2.prom" xskshim_socket_accelerated "pid=$pid2")
reason=$(python3 -c 'import re,sys; m=re.search(r"xskshim_socket_accelerated\{[^}]*reason=\"((?:[^\"\\]|\\.)*)\"", open(sys.argv[1]).read()); print(m.group(1) if m else "")' "$tmp/p2.prom")
check "second process: accelerated 0 with the reason as a label (${v:-none}: $reason)" \
	test "${v:-}" = 0 -a -n "$reason"
out=$(promtool check metrics <"$tmp/p2.prom" 2>&1)
check "promtool accepts the second process's scrape${out:+: $out}" test -z "$out"
scrape >"$tmp/all.prom" 2>&1
out=$(promtool check metrics <"$tmp/all.prom" 2>&1)
check "promtool accepts the scrape of every process${out:+: $(head -c 400 <<<"$out")}" test -z "$out"
check "the scrape of every process has both" \
	bash -c "grep -q 'pid=\"$pid1\"' '$tmp/all.prom' && grep -q 'pid=\"$pid2\"' '$tmp/all.prom'"

# ---- --textfile ------------------------------------------------------------
dir=$tmp/textfile
mkdir -p "$dir"
ip netns exec "$NS_RCV" "$STAT" --textfile "$dir" "$pid1"; rc=$?
check "--textfile DIR PID exits 0" test "$rc" = 0
out=$(promtool check metrics <"$dir/xskshim.prom" 2>&1); rc=$?
check "DIR/xskshim.prom passes promtool${out:+: $(head -c 300 <<<"$out")}" test "$rc" = 0
check "DIR/xskshim.prom has the count (af_xdp $N)" \
	test "$(prom_get "$dir/xskshim.prom" xskshim_socket_received_packets_total path=af_xdp)" = "$N"
check "DIR/xskshim.prom is mode 0644" test "$(stat -c %a "$dir/xskshim.prom")" = 644
# rewrite it 150 times, 50 ms apart, while reading it: every read is whole
# (7.5 s: a loaded machine managed only 8 reads in the 3 s of 60 rewrites)
ip netns exec "$NS_RCV" "$STAT" --textfile "$dir" --watch --interval 0.05 --count 150 &
wpid=$!
reads=0 partial=0
while kill -0 "$wpid" 2>/dev/null; do
	c=$(cat "$dir/xskshim.prom" 2>/dev/null)
	reads=$((reads + 1))
	[ "$(grep -c '^# TYPE ' <<<"$c")" = "$(grep -c '^# TYPE ' "$tmp/p1.prom")" ] || partial=$((partial + 1))
	sleep 0.02
done
wait "$wpid"; rc=$?
check "--textfile --watch --count 150 exits 0 (rc $rc)" test "$rc" = 0
check "$reads reads during the rewrites, none partial ($partial)" test "$partial" = 0 -a "$reads" -gt 10
left=$(find "$dir" -mindepth 1 ! -name xskshim.prom)
check "no temporary file left in DIR${left:+: $left}" test -z "$left"

# ---- transmit counters (XSKSHIM_TX=on) ----------------------------------------
# python3 (dynamically linked: its sendto goes through the shim) binds an
# accelerated port, waits for the shim's route mirror, sends 1000 datagrams
# of 32 B to the gen namespace, and stays up to be scraped; the receivers go
# first (one XDP program per interface: the first process would keep it)
for p in $pid1 $pid2; do kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null; rm -f "/dev/shm/xskshim.$p"; done
pid1= pid2= pid3=
xdp_gone() { ! ip -n "$NS_RCV" link show dev "$IF_RCV" | grep -q xdp; }
wait_for xdp_gone
ip netns exec "$NS_RCV" env XSKSHIM_IFACE="$IF_RCV" XSKSHIM_PORTS=$((PORT + 2)) XSKSHIM_TX=on LD_PRELOAD="$LIB" \
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
time.sleep(1)
for i in range(1000):
    s.sendto(b"x" * 32, (sys.argv[2], 9999))
print("sent", flush=True)
time.sleep(20)
' $((PORT + 2)) "$ADDR_GEN" >"$tmp/tx.out" 2>"$tmp/tx.err" &
pid3=$!
if wait_for grep -qs sent "$tmp/tx.out"; then
	scrape "$pid3" >"$tmp/tx.prom" 2>&1
	out=$(promtool check metrics <"$tmp/tx.prom" 2>&1)
	check "promtool accepts a scrape with transmit counters${out:+: $out}" test -z "$out"
	tx=$(prom_get "$tmp/tx.prom" xskshim_socket_sent_packets_total path=af_xdp)
	tk=$(prom_get "$tmp/tx.prom" xskshim_socket_sent_packets_total path=kernel)
	tb=$(prom_get "$tmp/tx.prom" xskshim_socket_sent_bytes_total path=af_xdp)
	check "sent: af_xdp ${tx:-none} + kernel ${tk:-none} == 1000, bytes ${tb:-none} == 32 x af_xdp" \
		test "$(( ${tx:-0} + ${tk:-0} ))" = 1000 -a "${tb:-x}" = "$(( ${tx:-0} * 32 ))"
	check "sent through AF_XDP (${tx:-none} > 0)" test "${tx:-0}" -gt 0
else
	fail "the transmit check's sender did not run: $(head -c 400 "$tmp/tx.err")"
fi
kill "$pid3" 2>/dev/null; wait "$pid3" 2>/dev/null; rm -f "/dev/shm/xskshim.$pid3"

exit $((fails > 0))
