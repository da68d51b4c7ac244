#!/bin/bash
# t_launcher.sh - the xskshim launcher (build/xskshim) and `xskshim check`.
#
# Without root: --help, the man pages xskshim(1) and xskshim-stat(1) render
# without warnings, `--` handling (the program's own options are never
# read, its exit status is returned), the environment and LD_PRELOAD it
# sets (an existing LD_PRELOAD kept after the library), usage errors,
# 126/127 for programs that cannot run.
# With root and network namespaces (scripts/netns.sh, 198.18.0.0/15):
#   - check on a good setup (veth in a netns): exit 0, native mode, veth,
#     one RX queue, no XDP program;
#   - check on bad ones: a missing interface, a foreign XDP program
#     (tests/tools/xdppass), zero-copy forced on veth, no capabilities
#     (setpriv to nobody): exit 1 and the reason;
#   - a program with file capabilities started by a non-root user gets a
#     warning (the loader would ignore LD_PRELOAD), root gets none;
#   - a receiver started through the launcher is accelerated: every
#     datagram through AF_XDP (its XSKSHIM_STATS=1 summary).
set -u
cd "$(dirname "$0")/.." || exit 1
. scripts/netns.sh

X=$PWD/build/xskshim
LIB=$PWD/build/libxskshim.so
SR=$PWD/build/tests/streamrecv
UG=$PWD/build/tests/udpgen
XP=$PWD/build/tests/xdppass
N=5000

fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

tmp=$(mktemp -d /tmp/t_launcher.XXXXXX) || exit 1
rpid=
cleanup()
{
	[ -n "$rpid" ] && kill -KILL "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
	[ -n "$rpid" ] && rm -f "/dev/shm/xskshim.$rpid"
	[ -n "${NS_RCV:-}" ] && { ip -n "$NS_RCV" link set dev "$IF_RCV" xdp off 2>/dev/null; netns_cleanup; }
	rm -rf "$tmp"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

[ -x "$X" ] || { fail "$X is missing (run make)"; exit 1; }

# ---- help and man pages ------------------------------------------------------
"$X" --help >"$tmp/help" 2>&1; rc=$?
check "--help: exit 0, usage with -- and check" \
	bash -c "[ $rc = 0 ] && grep -q 'usage: xskshim \[options\] \[--\] PROGRAM' '$tmp/help' && grep -q 'xskshim check' '$tmp/help'"
"$X" check --help >/dev/null 2>&1
check "check --help: exit 0" test $? = 0
for m in tools/xskshim/xskshim.1 tools/xskshim-stat/xskshim-stat.1; do
	out=$(groff -man -Tutf8 -ww "$m" 2>&1 >/dev/null; MANWIDTH=80 man -l "$m" 2>&1 >/dev/null)
	check "man page $m renders without warnings${out:+: $out}" test -z "$out"
done
groff -man -Tascii -rLL=250n tools/xskshim/xskshim.1 2>/dev/null | col -b >"$tmp/man1.txt"
missing=
for o in $(grep -oE -- '--[a-z-]+' "$tmp/help" | sort -u); do
	grep -q -- "$o" "$tmp/man1.txt" || missing="$missing $o"
done
check "xskshim(1) documents every option of --help${missing:+ (missing:$missing)}" test -z "$missing"

# ---- -- handling, environment, exit status -----------------------------------
out=$(env -u LD_PRELOAD "$X" -i lo -p 9000-9001 --stats -e XSKSHIM_CSUM=verify -- \
	sh -c 'echo "$XSKSHIM_IFACE|$XSKSHIM_PORTS|$XSKSHIM_STATS|$XSKSHIM_CSUM|$LD_PRELOAD"; exit 7')
rc=$?
check "environment set and the program's exit status returned (rc $rc: $out)" \
	test "$rc|$out" = "7|lo|9000-9001|1|verify|$LIB"
out=$("$X" -i lo -p 9 -- printf '%s\n' -i --stats -- x | tr '\n' ' ')
check "after --, the program's options are its own ($out)" test "$out" = "-i --stats -- x "
out=$("$X" -p 9 -i lo printenv XSKSHIM_PORTS 2>&1)
check "without --, options stop at the program ($out)" test "$out" = 9
out=$("$X" -i lo -p 9 -- sh -c 'echo "$1|$2"' sh '--mode' 'a b' 2>&1)
check "arguments with spaces and dashes pass unchanged ($out)" test "$out" = "--mode|a b"
out=$(LD_PRELOAD=/lib/other.so "$X" -i lo -p 9 -- printenv LD_PRELOAD 2>/dev/null)
check "an existing LD_PRELOAD is kept after the library ($out)" test "$out" = "$LIB /lib/other.so"
out=$("$X" -n -i lo -p 9 -- myprog --x 2>&1)
check "--dry-run prints the settings and the command" \
	bash -c "grep -qx 'XSKSHIM_PORTS=9' <<<'$out' && grep -qx 'exec myprog --x' <<<'$out'"
"$X" -i lo -p 9 -- /nonexistent/prog >/dev/null 2>"$tmp/e"; rc=$?
check "a missing program: exit 127 and a message (rc $rc)" bash -c "[ $rc = 127 ] && grep -q 'cannot run' '$tmp/e'"
touch "$tmp/noexec"
"$X" -i lo -p 9 -- "$tmp/noexec" >/dev/null 2>"$tmp/e"; rc=$?
check "a program that cannot be executed: exit 126 (rc $rc)" test "$rc" = 126
"$X" -i lo -p 9 >/dev/null 2>"$tmp/e"; rc=$?
check "no program: exit 2 and a message (rc $rc)" bash -c "[ $rc = 2 ] && grep -q 'no program' '$tmp/e'"
"$X" --mode turbo -- true 2>"$tmp/e"; rc=$?
check "a bad --mode: exit 2 naming the accepted values (rc $rc)" \
	bash -c "[ $rc = 2 ] && grep -q 'auto, native or skb' '$tmp/e'"
"$X" -i lo -p 0,70000 -- true 2>"$tmp/e"; rc=$?
check "bad --ports: exit 2 (rc $rc: $(cat "$tmp/e"))" test "$rc" = 2
"$X" -e FOO=1 -- true 2>"$tmp/e"; rc=$?
check "--env outside XSKSHIM_: exit 2 (rc $rc)" test "$rc" = 2
"$X" --bogus -- true 2>/dev/null; rc=$?
check "an unknown option: exit 2 (rc $rc)" test "$rc" = 2
"$X" check -i lo 2>"$tmp/e"; rc=$?
check "check without -p: exit 2 (rc $rc)" test "$rc" = 2
"$X" -L /nonexistent/lib.so -i lo -p 9 -- true 2>"$tmp/e"; rc=$?
check "a missing library: exit 127 naming it (rc $rc)" \
	bash -c "[ $rc = 127 ] && grep -q '/nonexistent/lib.so' '$tmp/e'"

# ---- check, and a receiver through the launcher (root, netns) --------------------
why=$(NETNS_TEST_NAME="xskshim check" netns_skip_unless_root 2>&1; echo "__ok")
if [ "$why" != "__ok" ]; then
	printf '%s\n' "${why%__ok}" | grep '^SKIP: '
	exit $((fails > 0))
fi
NETNS_NO_TRAP=1
netns_setup 1 || { fail "netns_setup"; exit 1; }

in_rcv "$X" check -i "$IF_RCV" -p 9000 >"$tmp/good" 2>&1; rc=$?
check "check, veth in a netns: exit 0 (rc $rc)" test "$rc" = 0
check "check, veth: verdict accelerated in native mode" grep -q '^verdict: would be accelerated (native mode' "$tmp/good"
check "check, veth: driver veth, one RX queue, no XDP program" \
	bash -c "grep -q 'driver: veth' '$tmp/good' && grep -q 'RX queues: 1;' '$tmp/good' && grep -q '^ok    no XDP program attached' '$tmp/good'"
check "check, veth: no FAIL line" bash -c "! grep -q '^FAIL' '$tmp/good'"

in_rcv "$X" check -i nosuch0 -p 9000 >"$tmp/bad1" 2>&1; rc=$?
check "check, missing interface: exit 1, says so (rc $rc)" \
	bash -c "[ $rc = 1 ] && grep -q '^FAIL  no interface nosuch0' '$tmp/bad1' && grep -q '^verdict: NOT accelerated' '$tmp/bad1'"

in_rcv "$X" check -i "$IF_RCV" -p 9000 --zerocopy on >"$tmp/bad2" 2>&1; rc=$?
check "check, zero-copy forced on veth: exit 1, says the driver has none (rc $rc)" \
	bash -c "[ $rc = 1 ] && grep -q '^FAIL  zero-copy forced on' '$tmp/bad2'"

in_rcv setpriv --reuid 65534 --regid 65534 --clear-groups "$X" check -i "$IF_RCV" -p 9000 >"$tmp/bad3" 2>&1; rc=$?
check "check without capabilities: exit 1, names CAP_BPF CAP_NET_ADMIN CAP_NET_RAW (rc $rc)" \
	bash -c "[ $rc = 1 ] && grep -q '^FAIL  capabilities missing: CAP_BPF CAP_NET_ADMIN CAP_NET_RAW' '$tmp/bad3'"

if [ -x "$XP" ] && in_rcv "$XP" attach --iface "$IF_RCV" --mode native >"$tmp/xp" 2>&1; then
	id=$(grep -oE 'id [0-9]+' "$tmp/xp" | grep -oE '[0-9]+')
	in_rcv "$X" check -i "$IF_RCV" -p 9000 >"$tmp/bad4" 2>&1; rc=$?
	check "check, foreign XDP program: exit 1, names id $id and its name (rc $rc)" \
		bash -c "[ $rc = 1 ] && grep -q \"^FAIL  a foreign XDP program id $id 'fault_xdppass'\" '$tmp/bad4'"
	in_rcv "$XP" detach --iface "$IF_RCV" >/dev/null 2>&1
	in_rcv "$X" check -i "$IF_RCV" -p 9000 >/dev/null 2>&1
	check "check after the detach: exit 0 again" test $? = 0
else
	fail "xdppass attach failed: $(cat "$tmp/xp" 2>/dev/null)"
fi

# a program with file capabilities, started by a non-root user: the loader
# would ignore LD_PRELOAD (secure-execution mode) - the launcher says so
if command -v setcap >/dev/null 2>&1 && cp /bin/true "$tmp/captrue" && chmod 755 "$tmp" "$tmp/captrue" &&
	setcap cap_net_raw+ep "$tmp/captrue" 2>/dev/null; then
	setpriv --reuid 65534 --regid 65534 --clear-groups "$X" -i lo -p 9 -- "$tmp/captrue" 2>"$tmp/w1"; rc=$?
	check "a setcap program run by nobody: a warning that LD_PRELOAD would be ignored, its exit status (rc $rc)" \
		bash -c "[ $rc = 0 ] && grep -q 'has file capabilities: the dynamic loader ignores LD_PRELOAD' '$tmp/w1'"
	"$X" -i lo -p 9 -- "$tmp/captrue" 2>"$tmp/w2"
	check "the same program run by root: no warning (root keeps LD_PRELOAD)" test ! -s "$tmp/w2"
else
	echo "SKIP: setcap warning: setcap unavailable or refused"
fi

# a receiver through the launcher, from the tree (build/libxskshim.so)
in_rcv "$X" -i "$IF_RCV" -p 9000 --stats -- "$SR" --port 9000 --expect $N --idle-ms 5000 --max-secs 20 \
	>"$tmp/sr.out" 2>"$tmp/sr.err" &
rpid=$!
for _ in $(seq 100); do grep -qs ready "$tmp/sr.err" && break; sleep 0.1; done
in_gen "$UG" --dst "$ADDR_RCV" --port 9000 --count $N --rate 20000 --duration-max 10 >/dev/null 2>&1
wait "$rpid"; rc=$?
rpid=
check "receiver through the launcher: exit 0, all $N received (rc $rc: $(cat "$tmp/sr.out"))" \
	bash -c "[ $rc = 0 ] && grep -q 'received=$N' '$tmp/sr.out'"
check "receiver through the launcher: accelerated, rx_xdp $N (its exit summary)" \
	bash -c "grep -q 'sock: accelerated' '$tmp/sr.err' && grep -q 'rx_xdp $N ' '$tmp/sr.err'"

exit $((fails > 0))
