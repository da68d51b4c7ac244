#!/bin/bash
# t_inherit.sh - UDP sockets a program is started with, already bound to a
# configured port (sock.c "inherited sockets"): systemd socket activation
# (systemd-socket-activate --datagram: LISTEN_FDS, fd 3) and a launcher that
# binds and execs the program (what inetd-style servers, self-re-executing
# daemons and wrapper scripts do).  The program never calls bind; before,
# it ran on the kernel path and only a line at exit said so.
#   - socat -u FD:3 under the shim, started by systemd-socket-activate: the
#     datagram that triggers the start comes through the kernel, every later
#     one through AF_XDP (its summary: rx_xdp, UdpInDatagrams +1), none lost,
#     one decision line for fd 3;
#   - a python3 receiver reading fd 3, exec'd by a launcher that bound it:
#     the same, and the same byte count as a plain run;
#   - a launcher that itself runs under the shim: what reached its rings
#     before its exec is handed to the kernel socket, the exec'd program
#     adopts the socket, nothing is lost;
#   - a process that inherits the socket and never reads it (sleep) installs
#     nothing: no XDP program on the interface, no decision line; its
#     summary names the socket and why it stayed on the kernel path.
# The other launchers run without the shim, as systemd or inetd do.
set -u
cd "$(dirname "$0")/.." || exit 1
NETNS_TEST_NAME=t_inherit
. scripts/netns.sh
netns_skip_unless_root

LIB=$PWD/build/libxskshim.so
UG=$PWD/build/tests/udpgen
N=500
SIZE=64
fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
skip() { echo "SKIP: $*"; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

[ -e "$LIB" ] && [ -x "$UG" ] || { fail "build first (make): $LIB or $UG missing"; exit 1; }
netns_test_init
netns_setup || { fail "netns setup"; exit 1; }
# Debian's python3 (a version manager's shim script would add processes)
PY=$(command -v /usr/bin/python3 || command -v python3)
SHIM_ENV=(XSKSHIM_IFACE="$IF_RCV" XSKSHIM_PORTS=9000 XSKSHIM_STATS=1 LD_PRELOAD="$LIB")

# the python3 launcher: bind ADDR:PORT, make it fd 3, exec the rest
cat >"$TMP/launch.py" <<'EOF'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((sys.argv[1], int(sys.argv[2])))
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)   # (dup2 onto itself keeps close-on-exec)
os.execvp(sys.argv[3], sys.argv[3:])
EOF
# the python3 receiver: fd 3, until N datagrams or 5 s; prints "got COUNT BYTES"
cat >"$TMP/recv3.py" <<'EOF'
import socket, sys
s = socket.socket(fileno=3)
s.settimeout(5)
n = b = 0
try:
    while n < int(sys.argv[1]):
        d, _ = s.recvfrom(65536)
        if not n:
            print("first", flush=True)
        n += 1
        b += len(d)
except socket.timeout:
    pass
print("got", n, b, flush=True)
EOF

udp_in() { in_rcv nstat -az UdpInDatagrams | awk '/UdpInDatagrams/ {print $2}'; }
xdp_on_vb() { in_rcv ip link show dev "$IF_RCV" | grep -q ' xdp'; }
# wait_line FILE REGEX: until a line matches, up to 10 s
wait_line() { for _ in $(seq 100); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
# port_free: until nothing is bound to 9000 in the receive namespace
port_free() { for _ in $(seq 50); do [ -z "$(in_rcv ss -Hlun sport = :9000)" ] && return 0; sleep 0.1; done; return 1; }
# send_two FILE REGEX: one datagram (it may be what starts the program), then
# once FILE says the program has read it (so a receive call was made, and
# under the shim the socket adopted), N more
send_two()
{
	in_gen "$UG" --dst "$ADDR_RCV" --port 9000 --count 1 --size $SIZE >/dev/null
	wait_line "$1" "$2" || echo "t_inherit: no '$2' in $1 after 10 s"
	in_gen "$UG" --dst "$ADDR_RCV" --port 9000 --count $N --size $SIZE --rate 20000 >/dev/null
}
summary_rx() { sed -n "s/.*fd 3 port 9000 accelerated[^:]*: rx_xdp \([0-9]*\) rx_kernel \([0-9]*\).*/\1 \2/p" "$1" | tail -1; }

# ---- systemd socket activation ------------------------------------------------
if command -v systemd-socket-activate >/dev/null; then
	u0=$(udp_in)
	in_rcv systemd-socket-activate --datagram -l "$ADDR_RCV:9000" env "${SHIM_ENV[@]}" \
		socat -u FD:3 "OPEN:$TMP/sa.out,creat,trunc" 2>"$TMP/sa.err" &
	pid=$!; PIDS+=("$pid")
	wait_line "$TMP/sa.err" "Listening on"
	send_two "$TMP/sa.err" "accelerated: fd 3 "
	sleep 0.5
	u1=$(udp_in)
	kill -TERM "$pid" 2>/dev/null; pkill -TERM -f "OPEN:$TMP/sa.out" 2>/dev/null; wait "$pid" 2>/dev/null
	port_free || echo "t_inherit: port 9000 still bound after socat: $(in_rcv ss -Hlunp sport = :9000)"
	bytes=$(stat -c %s "$TMP/sa.out" 2>/dev/null || echo 0)
	read -r xdp kern <<<"$(summary_rx "$TMP/sa.err")"
	check "socket activation: socat got all $((N + 1)) datagrams ($bytes of $(((N + 1) * SIZE)) bytes)" \
		test "$bytes" = $(((N + 1) * SIZE))
	check "socket activation: the datagrams after the start came through AF_XDP (rx_xdp ${xdp:-none} of $N, rx_kernel ${kern:-none}, UdpInDatagrams +$((u1 - u0)))" \
		test "${xdp:-0}" = $N -a "$((u1 - u0))" -le 1
	check "socket activation: one decision line for fd 3 ($(grep -c 'accelerated: fd 3 ' "$TMP/sa.err"))" \
		test "$(grep -c 'accelerated: fd 3 udp port 9000' "$TMP/sa.err")" = 1
	grep -q "never saw bound" "$TMP/sa.err" &&
		fail "socket activation: the exit line still says the shim never saw the socket bound"
else
	skip "socket activation: systemd-socket-activate not installed"
fi

# ---- a launcher binds and execs the program -----------------------------------
run_py()   # TAG [ENV...]: python launcher + receiver; sets GOT (count bytes), DU
{
	local tag=$1; shift
	local u0 u1 pid
	u0=$(udp_in)
	in_rcv "$PY" "$TMP/launch.py" "$ADDR_RCV" 9000 env "$@" "$PY" "$TMP/recv3.py" $((N + 1)) \
		>"$TMP/$tag.out" 2>"$TMP/$tag.err" &
	pid=$!; PIDS+=("$pid")
	for _ in $(seq 50); do [ -n "$(in_rcv ss -Hlun sport = :9000)" ] && break; sleep 0.1; done
	send_two "$TMP/$tag.out" "^first"
	wait "$pid"
	u1=$(udp_in)
	port_free
	GOT=$(sed -n 's/^got //p' "$TMP/$tag.out")
	[ -n "$GOT" ] || echo "t_inherit: $tag: no count from the receiver: $(head -c 300 "$TMP/$tag.err")"
	DU=$((u1 - u0))
}
run_py plain
plain_got=$GOT plain_du=$DU
run_py shim "${SHIM_ENV[@]}"
read -r xdp kern <<<"$(summary_rx "$TMP/shim.err")"
check "exec'd by a launcher: python got what it gets plain (shim: ${GOT:-nothing}, plain: ${plain_got:-nothing}; want $((N + 1)) $(((N + 1) * SIZE)))" \
	test "$GOT" = "$plain_got" -a "$GOT" = "$((N + 1)) $(((N + 1) * SIZE))"
check "exec'd by a launcher: through AF_XDP (rx_xdp ${xdp:-none}, rx_kernel ${kern:-none}, UdpInDatagrams +$DU; plain +$plain_du)" \
	test "$((${xdp:-0} + ${kern:-0}))" = $((N + 1)) -a "${xdp:-0}" -ge $((N - 1)) -a "$DU" -le 2

# ---- the launcher itself under the shim ------------------------------------------
# It binds (accelerated), N datagrams reach its rings while it waits, then
# it execs the receiver: the exec hands them to the kernel socket (wrap.c,
# exec wrappers) and the new image adopts the socket at its first receive.
cat >"$TMP/launch_wait.py" <<'EOF'
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((sys.argv[1], int(sys.argv[2])))
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
print("bound", flush=True)
while not os.path.exists(sys.argv[3]):
    time.sleep(0.05)
os.execvp(sys.argv[4], sys.argv[4:])
EOF
port_free
u0=$(udp_in)
in_rcv env "${SHIM_ENV[@]}" "$PY" "$TMP/launch_wait.py" "$ADDR_RCV" 9000 "$TMP/go" "$PY" "$TMP/recv3.py" $((2 * N)) \
	>"$TMP/lw.out" 2>"$TMP/lw.err" &
pid=$!; PIDS+=("$pid")
wait_line "$TMP/lw.out" "^bound"
in_gen "$UG" --dst "$ADDR_RCV" --port 9000 --count $N --size $SIZE --rate 20000 >/dev/null
touch "$TMP/go"
wait_line "$TMP/lw.err" "handed to its kernel socket" && wait_line "$TMP/lw.out" "^first"
sleep 0.2
in_gen "$UG" --dst "$ADDR_RCV" --port 9000 --count $N --size $SIZE --rate 20000 >/dev/null
wait "$pid"
u1=$(udp_in)
GOT=$(sed -n 's/^got //p' "$TMP/lw.out")
read -r xdp kern <<<"$(summary_rx "$TMP/lw.err")"
check "launcher under the shim: all $((2 * N)) datagrams reach the exec'd program (got ${GOT:-nothing}; $(grep -o '[0-9]* queued datagram(s) handed to its kernel socket' "$TMP/lw.err"); its rx_xdp ${xdp:-none} rx_kernel ${kern:-none})" \
	test "$GOT" = "$((2 * N)) $((2 * N * SIZE))" -a "${xdp:-0}" -ge $((N - 1))
port_free

# ---- passed on, never read: nothing installed ------------------------------------
in_rcv "$PY" "$TMP/launch.py" "$ADDR_RCV" 9000 env "${SHIM_ENV[@]}" sleep 1 2>"$TMP/sleep.err" &
pid=$!; PIDS+=("$pid")
sleep 0.5
in_gen "$UG" --dst "$ADDR_RCV" --port 9000 --count 10 --size $SIZE >/dev/null
if xdp_on_vb; then att=yes; else att=no; fi
wait "$pid"
check "never read: no XDP program attached while it ran ($att), no decision line, the summary says why ($(grep -o 'kernel-path.*' "$TMP/sleep.err"))" \
	test "$att" = no -a "$(grep -c 'accelerated' "$TMP/sleep.err")" = 0 -a \
	"$(grep -c 'fd 3 port 9000 kernel-path: .*(inherited bound to port 9000, not read in this process)' "$TMP/sleep.err")" = 1

echo "t_inherit: $fails failed"
exit $((fails > 0))
