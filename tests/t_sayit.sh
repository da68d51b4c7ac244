#!/bin/bash
# t_sayit.sh - "say it, always" (issue 11): the exit summary however the
# program ends, a notice when the shim cannot see the program's sockets,
# counters that add up on the kernel path.
#
#   term       tests/apps/termrecv.c leaves SIGTERM at its default and is
#              killed by it: it still dies by SIGTERM (status 143), its
#              XSKSHIM_STATS=1 summary is printed (rx_xdp = what it received),
#              no /dev/shm/xskshim.PID is left
#   int, hup   the same for SIGINT (started with env --default-signal=INT:
#              bash ignores it in background jobs) and SIGHUP
#   _exit      a SIGTERM handler calling _exit(0) (pdns_recursor): summary
#   stderr-closed  the program closed fd 2 (chronyd does before it exits):
#              the summary still reaches the original stderr
#   stderr-null    the program pointed fd 2 at /dev/null before binding
#              (freeradius): decision line and summary still reach it
#   transparent the program sees SIG_DFL for SIGTERM/SIGINT/SIGHUP through
#              sigaction and signal(), as in a plain run
#   raw-bind   a port bound with the raw syscall instruction: one line at exit
#              names it
#   go         a Go UDP echo server built here (golang-go): one line says the
#              shim cannot see a Go program, it works (echoes) and exits cleanly
#   inuse      a configured bind that fails with EADDRINUSE: the summary's
#              header names the install (it was empty)
#   named      bind9's named on the kernel path (every capability removed
#              before exec): its summary counts the queries it read in
#              rx_kernel (libuv reads with syscall(SYS_recvmmsg))
T=t_sayit
. "$(dirname "$0")/fault_lib.sh"
fl_setup
D=$FL_TMP
chmod 755 "$D"
if ! cc -O2 -o "$D/termrecv" tests/apps/termrecv.c 2>"$D/cc.log"; then
	fail "building tests/apps/termrecv.c: $(head -3 "$D/cc.log")"
	fl_finish
fi

# end_case NAME SIG STATUS [env args] [termrecv args] : 100 datagrams, then kill -SIG
end_case()
{
	local t=$1 sig=$2 want=$3 pre=$4 extra=$5 rx
	# shellcheck disable=SC2046,SC2086
	FL_OUT=$D/$t.out FL_ERR=$D/$t.err fl_bg_rcv R env $pre $(shim_env) "$D/termrecv" 9000 $extra
	if ! wait_file "$D/$t.out" 'termrecv: ready' 5; then
		fail "$t: receiver did not start: $(head -3 "$D/$t.err")"
		return 1
	fi
	in_gen udpgen --dst "$ADDR_RCV" --port 9000 --count 100 --rate 10000 >/dev/null
	wait_file "$D/$t.out" 'received=100' 5
	kill "-$sig" "$R"
	wait_exit "$R" 5
	rx=$(summary_sock_sum "$D/$t.err" rx_xdp)
	check "$([ "$WRC" = "$want" ]; echo $?)" "$t: ends as it would plain (exit status $WRC, want $want)"
	check "$(grep -q 'summary: ---- xskshim summary' "$D/$t.err" && [ "$rx" = 100 ]; echo $?)" \
		"$t: the exit summary is printed, rx_xdp $rx of 100" "$(grep xskshim "$D/$t.err" | head -3)"
	check "$([ ! -e "/dev/shm/xskshim.$R" ]; echo $?)" "$t: no /dev/shm/xskshim.$R left"
}
end_case term TERM 143 "" ""
end_case int INT 130 "--default-signal=INT" ""
end_case hup HUP 129 "" ""
end_case _exit TERM 0 "" --exit-handler
end_case stderr-closed TERM 143 "" --close-stderr
end_case stderr-null TERM 143 "" --null-stderr
check "$(grep -qE 'accelerated: fd [0-9]+ udp port 9000 ' "$D/stderr-null.err"; echo $?)" \
	"stderr-null: the decision line reaches the stderr the program started with although it pointed fd 2 at /dev/null"

# what the program sees, plain and preloaded
seen_plain=$(in_rcv timeout 2 env --default-signal=INT "$D/termrecv" 9001 --raw-bind 2>&1 | grep 'SIG\|old=')
# shellcheck disable=SC2046
seen_shim=$(in_rcv timeout 2 env --default-signal=INT $(PORTS=9001 shim_env) "$D/termrecv" 9001 --raw-bind 2>"$D/raw.err"; grep 'SIG\|old=' "$D/raw.err")
check "$([ -n "$seen_plain" ] && [ "$seen_plain" = "$seen_shim" ]; echo $?)" \
	"transparent: sigaction/signal() dispositions as in a plain run ($(tr '\n' ' ' <<<"$seen_shim"))" "plain: $seen_plain"
if [ "$(uname -m)" = x86_64 ]; then
	check "$(grep -qE 'fd [0-9]+ is a UDP socket bound to configured port 9001 that the shim never saw bound' "$D/raw.err"; echo $?)" \
		"raw-bind: at exit, one line names the port bound behind libc's back" "$(grep xskshim "$D/raw.err" | head -3)"
else
	skip "raw-bind: the raw syscall instruction is written for x86-64"
fi
# ...and a process with no socket the shim does not know does not read the
# UDP table at exit (the read walks the kernel's whole hash table: it was
# most of what the shim added to a short-lived child of a shell)
if command -v strace >/dev/null; then
	# shellcheck disable=SC2046
	in_rcv env $(PORTS=9001 shim_env) strace -f -qq -e trace=openat -o "$D/true.strace" /bin/true 2>/dev/null
	# shellcheck disable=SC2046
	in_rcv timeout 2 env --default-signal=INT $(PORTS=9001 shim_env) strace -f -qq -e trace=openat \
		-o "$D/raw.strace" "$D/termrecv" 9001 --raw-bind >/dev/null 2>&1
	check "$(! grep -q 'proc/net/udp' "$D/true.strace" && grep -q 'proc/self/fd' "$D/true.strace" &&
		grep -q 'proc/net/udp' "$D/raw.strace"; echo $?)" \
		"exit scan: /bin/true (no socket) looks at its fds and skips /proc/net/udp; the raw-bind program reads it" \
		"true: $(grep -c 'proc/net/udp' "$D/true.strace") udp opens; raw-bind: $(grep -c 'proc/net/udp' "$D/raw.strace")"
else
	skip "exit scan: strace not installed"
fi

# a configured bind that fails (EADDRINUSE: mosh-server and iperf3 probe ports
# this way): the install was prepared before the bind, no binding chose the
# mode, and the summary's header was empty ("xskshim summary:  ----")
PY3=$(command -v /usr/bin/python3 || command -v python3)
in_rcv timeout 5 "$PY3" -c 'import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 9003)); time.sleep(3)' &
fl_pid=$!
for _ in $(seq 30); do in_rcv ss -Hlun 'sport = :9003' | grep -q . && break; sleep 0.1; done
# shellcheck disable=SC2046
in_rcv env $(PORTS=9003 shim_env) "$PY3" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(("0.0.0.0", 9003))
except OSError as e:
    print("bind failed:", e.errno)
' >"$D/inuse.out" 2>"$D/inuse.err"
kill "$fl_pid" 2>/dev/null
wait "$fl_pid" 2>/dev/null
hdr=$(grep -o 'xskshim summary:.*' "$D/inuse.err" | head -1)
check "$(grep -q 'bind failed: 98' "$D/inuse.out" && [ -n "$hdr" ] && ! grep -q 'xskshim summary:  ----' "$D/inuse.err"; echo $?)" \
	"bind fails (EADDRINUSE): the error as plain, the summary's header says what is installed ('$hdr')" \
	"$(cat "$D/inuse.out") $(head -2 "$D/inuse.err")"

# ---- Go -------------------------------------------------------------------------
if command -v go >/dev/null; then
	mkdir -p "$D/go"   # (not beside the logs: the binary holds "runtime error:" strings)
	cat >"$D/go/goecho.go" <<'EOF'
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	c, err := net.ListenPacket("udp4", ":"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "goecho: ready")
	buf := make([]byte, 2048)
	for {
		n, a, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		c.WriteTo(buf[:n], a)
	}
}
EOF
	if ! (cd "$D/go" && GOCACHE=$D/go/cache GOPATH=$D/go/path GO111MODULE=off GOFLAGS= timeout 120 go build -o goecho goecho.go) \
		>"$D/go.log" 2>&1; then
		fail "go: building the echo server: $(head -3 "$D/go.log")"
	elif ! file "$D/go/goecho" | grep -q 'dynamically linked'; then
		skip "go: this Go build is static (no dynamic loader, so no LD_PRELOAD library can load at all)"
	else
		# shellcheck disable=SC2046
		FL_OUT=$D/go.out FL_ERR=$D/go.err fl_bg_rcv R env $(shim_env) "$D/go/goecho" 9000
		wait_file "$D/go.err" 'goecho: ready' 10
		ok=0
		for i in $(seq 20); do
			r=$(echo "ping$i" | in_gen timeout 2 socat -t 1 - UDP4:"$ADDR_RCV":9000 2>/dev/null)
			[ "$r" = "ping$i" ] && ok=$((ok + 1))
		done
		check "$([ "$(grep -c 'this is a Go program' "$D/go.err")" = 1 ]; echo $?)" \
			"go: one line says the shim cannot see a Go program's sockets" "$(head -3 "$D/go.err")"
		check "$([ "$ok" = 20 ]; echo $?)" "go: the echo server works under the shim ($ok of 20 echoed)"
		stop_pid "$R"
		check "$([ "$WRC" = 143 ] || [ "$WRC" = 2 ] || [ "$WRC" = 0 ]; echo $?)" \
			"go: ends normally on SIGTERM, no crash (status $WRC)" "$(grep -iE 'panic|fatal|signal' "$D/go.err" | head -3)"
	fi
else
	skip "go: golang-go not installed"
fi

# ---- named on the kernel path -----------------------------------------------------
if command -v named >/dev/null && command -v kdig >/dev/null && command -v setpriv >/dev/null; then
	Q=100
	fl_named_conf 5300
	# shellcheck disable=SC2046
	FL_OUT=$D/named.out FL_ERR=$D/named.err fl_bg_rcv R setpriv --inh-caps=-all --ambient-caps=-all \
		--bounding-set=-all -- env $(PORTS=5300 shim_env) named -g -4 -n 1 -c "$D/named.conf"
	wait_file "$D/named.err" 'running$|exiting|failed' 15
	a=$(fl_kdig_count 5300 named "$Q")
	stop_pid "$R" 10
	rk=$(summary_sock_sum "$D/named.err" rx_kernel)
	check "$([ "$a" = "$Q" ] && grep -q 'NOT accelerated: fd [0-9]* udp port 5300' "$D/named.err"; echo $?)" \
		"named (no capabilities): on the kernel path, visibly, and $a of $Q queries answered" \
		"$(grep xskshim "$D/named.err" | head -3)"
	check "$([ "$rk" -ge "$Q" ]; echo $?)" \
		"named: its exit summary counts the queries it read on the kernel path (rx_kernel $rk)" \
		"$(grep 'summary' "$D/named.err" | head -4)"
else
	skip "named: bind9, kdig or setpriv not installed"
fi
fl_finish
