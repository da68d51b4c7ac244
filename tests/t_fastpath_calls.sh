#!/bin/bash
# t_fastpath_calls.sh - what an accelerated socket's fast path calls, counted
# (tests/count_calls.c defines the calls in the executable, so the preloaded
# shim's references bind there):
#   - a connected socket's receive asks SO_ERROR only when an ICMP error may
#     be pending, not once per call (N receives, no ICMP: at most 1);
#   - epoll_wait on a set holding an accelerated socket takes no process-wide
#     lock (N waits + receives: 0 pthread_mutex_lock calls);
#   - quinn's receiver (streamrecv --quic: IP_RECVERR, EPOLLIN|EPOLLOUT|
#     EPOLLRDHUP|EPOLLET, recvmmsg(32) until EAGAIN), datagrams one at a
#     time: one epoll_wait syscall per event, counted with strace (the
#     registration is split, ready.c: no look at an inner set per event;
#     it was two per event).
#   - epoll_wait + recvmmsg(8, MSG_DONTWAIT) (knotd's loop) on bursts of 4
#     that the rings hold: no zero-byte MSG_PEEK at the kernel socket per
#     wake-up (at most the first call's and one per SHIM_KERNEL_EVERY = 64
#     receives; the old hint set on every wake-up made one per call).
# COUNT datagrams (default 200) paced by udpgen in the gen namespace.
cd "$(dirname "$0")/.." || exit 1
NETNS_TEST_NAME=t_fastpath_calls
. scripts/netns.sh
netns_skip_unless_root
SHIM=${SHIM_SO:-$PWD/build/libxskshim.so}
GEN=build/tests/udpgen
if [ ! -f "$SHIM" ] || [ ! -x "$GEN" ]; then
	echo "SKIP: fastpath-calls: $SHIM or $GEN missing (run make)"
	exit 0
fi
TMP=$(mktemp -d /tmp/t_fpc.XXXXXX)
NETNS_NO_TRAP=1
trap 'netns_cleanup; rm -rf "$TMP"' EXIT
netns_setup || { echo "FAIL: fastpath-calls: netns setup failed"; exit 1; }
if ! cc -O1 -g -std=gnu11 -D_GNU_SOURCE -rdynamic -o "$TMP/count_calls" tests/count_calls.c -ldl -lpthread \
	>"$TMP/cc.log" 2>&1; then
	echo "FAIL: fastpath-calls: cannot build count_calls: $(head -1 "$TMP/cc.log")"
	exit 1
fi
N=${COUNT:-200}
fails=0

# run MODE PORT [count_calls args]: receiver under the shim, paced sender
run()
{
	local mode=$1 port=$2 rpid i
	shift 2
	in_rcv ${TRACE:+strace -f -qq -e trace=recvfrom -o "$TMP/$mode.strace"} env XSKSHIM_IFACE="$IF_RCV" \
		XSKSHIM_PORTS="$port" XSKSHIM_LOG=info LD_PRELOAD="$SHIM" timeout 60 "$TMP/count_calls" --mode "$mode" --port "$port" --count "$N" "$@" \
		>"$TMP/$mode.out" 2>"$TMP/$mode.err" &
	rpid=$!
	for i in $(seq 100); do
		grep -q ready "$TMP/$mode.out" 2>/dev/null && break
		sleep 0.05
	done
	in_gen "$GEN" --dst "$ADDR_RCV" --port "$port" --sport-base 40000 --flows 1 --size 64 --count "$N" \
		--batch "${BATCH:-1}" --rate 2000 >/dev/null 2>&1
	wait "$rpid"
}

run conn 9300 --peer "$ADDR_GEN" --peer-port 40000
line=$(grep 'calls=' "$TMP/conn.out")
k=$(sed -n 's/.*getsockopt_so_error=\([0-9]*\).*/\1/p' <<<"$line")
calls=$(sed -n 's/.*calls=\([0-9]*\).*/\1/p' <<<"$line")
if ! grep -q "received=$N " <<<"$line"; then
	echo "FAIL: fastpath-calls: connected receiver got fewer than $N: ${line:-none} $(tail -2 "$TMP/conn.err")"
	fails=$((fails + 1))
elif [ "$k" -le 1 ]; then
	echo "PASS: fastpath-calls: connected socket, $calls receives with no ICMP error: $k getsockopt(SO_ERROR)"
else
	echo "FAIL: fastpath-calls: connected socket, $calls receives with no ICMP error: $k getsockopt(SO_ERROR) (one per call)"
	fails=$((fails + 1))
fi

run epoll 9301
line=$(grep 'calls=' "$TMP/epoll.out")
m=$(sed -n 's/.*mutex_lock=\([0-9]*\).*/\1/p' <<<"$line")
if ! grep -q "received=$N " <<<"$line"; then
	echo "FAIL: fastpath-calls: epoll receiver got fewer than $N: ${line:-none} $(tail -2 "$TMP/epoll.err")"
	fails=$((fails + 1))
elif [ "$m" = 0 ]; then
	echo "PASS: fastpath-calls: $N epoll_wait + recv on an accelerated socket: no pthread_mutex_lock"
else
	echo "FAIL: fastpath-calls: $N epoll_wait + recv on an accelerated socket: $m pthread_mutex_lock calls (a process-wide lock on the fast path)"
	fails=$((fails + 1))
fi
# quinn's read pattern, under strace: epoll_wait syscalls per event
SR=build/tests/streamrecv
if ! command -v strace >/dev/null || [ ! -x "$SR" ]; then
	echo "SKIP: fastpath-calls: quic-style receiver: strace or $SR missing"
else
	in_rcv env XSKSHIM_IFACE="$IF_RCV" XSKSHIM_PORTS=9302 XSKSHIM_LOG=info LD_PRELOAD="$SHIM" \
		timeout 60 strace -f -qq -c -o "$TMP/quic.strace" -e trace=epoll_wait,epoll_pwait \
		"$SR" --port 9302 --quic --expect "$N" --idle-ms 2000 --max-secs 40 >"$TMP/quic.out" 2>"$TMP/quic.err" &
	rpid=$!
	for i in $(seq 200); do
		grep -q ': ready' "$TMP/quic.err" 2>/dev/null && break
		sleep 0.05
	done
	in_gen "$GEN" --dst "$ADDR_RCV" --port 9302 --flows 1 --size 64 --count "$N" --batch 1 --rate 200 \
		>/dev/null 2>&1
	wait "$rpid"
	ew=$(awk '$NF == "epoll_wait" || $NF == "epoll_pwait" { s += $4 } END { print s + 0 }' "$TMP/quic.strace")
	got=$(grep -o 'received=[0-9]*' "$TMP/quic.out" | cut -d= -f2)
	# at most one event per datagram (more than one per event when they
	# come close together); a few idle timeouts (1 s) come on top
	if [ "${got:-0}" != "$N" ] || ! grep -q 'accelerated: fd' "$TMP/quic.err"; then
		echo "FAIL: fastpath-calls: quic-style receiver got ${got:-none} of $N or was not accelerated: $(grep -m1 -E 'warn|error' "$TMP/quic.err")"
		fails=$((fails + 1))
	elif [ "$ew" -le $(( N + N / 10 + 5 )) ]; then
		echo "PASS: fastpath-calls: quic-style receiver, $N datagrams one at a time: $ew epoll_wait syscalls (at most one per event)"
	else
		echo "FAIL: fastpath-calls: quic-style receiver, $N datagrams one at a time: $ew epoll_wait syscalls (more than one per event: the shim looks at the registration's inner set)"
		fails=$((fails + 1))
	fi
fi
if command -v strace >/dev/null; then
BATCH=4 TRACE=1 run epollmm 9303
line=$(grep 'calls=' "$TMP/epollmm.out")
p=$(grep -c 'MSG_PEEK' "$TMP/epollmm.strace")
calls=$(sed -n 's/.*calls=\([0-9]*\).*/\1/p' <<<"$line")
if ! grep -q "received=$N " <<<"$line"; then
	echo "FAIL: fastpath-calls: epoll + recvmmsg receiver got fewer than $N: ${line:-none} $(tail -2 "$TMP/epollmm.err")"
	fails=$((fails + 1))
elif [ "$p" -le $((calls / 64 + 2)) ]; then
	echo "PASS: fastpath-calls: $calls epoll_wait + recvmmsg(8) on bursts of 4: $p zero-byte peeks at the kernel socket (<= $((calls / 64 + 2)))"
else
	echo "FAIL: fastpath-calls: $calls epoll_wait + recvmmsg(8) on bursts of 4: $p zero-byte peeks at the kernel socket (> $((calls / 64 + 2)): one per wake-up)"
	fails=$((fails + 1))
fi
else
	echo "SKIP: fastpath-calls: epoll + recvmmsg peeks: strace not installed"
fi
for m in conn epoll $([ -e "$TMP/epollmm.out" ] && echo epollmm); do
	# counts of 0 mean something only for an accelerated socket
	if grep -q 'accelerated: fd' "$TMP/$m.err"; then
		echo "PASS: fastpath-calls: the $m receiver's socket was accelerated"
	else
		echo "FAIL: fastpath-calls: the $m receiver's socket was not accelerated: $(grep -m1 -E 'warn|error' "$TMP/$m.err")"
		fails=$((fails + 1))
	fi
done
[ "$fails" = 0 ]
