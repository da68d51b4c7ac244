#!/bin/bash
# t_programs.sh - real, unmodified programs receiving UDP under the shim in
# the netns pair (scripts/netns.sh), in XSKSHIM_MODE=skb and =native.
# Each program is checked for complete and correct delivery, and for bypass:
# the rcv namespace's UdpInDatagrams (+Udp6InDatagrams) stays (nearly) flat and the shim's
# statistics (xskshim-stat on the live process, else the XSKSHIM_STATS=1 exit
# summary) show the datagrams went through AF_XDP.
#
#   socat      UDP-RECV / UDP6-RECV into a file; the file must equal what the
#              sender (socat in the gen namespace) read and sent
#   iperf      iperf 2 UDP server; the server report must show 0 lost
#   sockperf   server in its default (recvfrom) mode and with an epoll set
#              holding a TCP listener too; ping-pong and throughput clients
#   knotd      one UDP worker answering kdig over IPv4 and IPv6
#   streamrecv Agave-style receiver (tests/tools/streamrecv.c), 4 threads in
#              one SO_REUSEPORT group, udpgen --flows 16
#
# A program that is not installed gives a SKIP line.  Every process runs
# under `timeout` and is killed by pid in the exit trap.
# Environment: PROG_MODES="skb native", PROG_ONLY="socat iperf ..." (subset).
cd "$(dirname "$0")/.." || exit 1
NETNS_TEST_NAME=t_programs
. scripts/netns.sh
. scripts/knot.sh
netns_skip_unless_root

SHIM=$PWD/build/libxskshim.so
STAT=$PWD/build/xskshim-stat
UDPGEN=$PWD/build/tests/udpgen
STREAMRECV=$PWD/build/tests/streamrecv
if [ ! -f "$SHIM" ]; then
	echo "SKIP: t_programs: build/libxskshim.so missing (run make)"
	exit 0
fi
MODES=${PROG_MODES:-"skb native"}
PORTS=5353,9200-9299
netns_test_init
fails=0
netns_setup || { echo "FAIL: t_programs: netns setup failed"; exit 1; }


pass() { echo "PASS: t_programs: $*"; }
fail() { echo "FAIL: t_programs: $*"; fails=$((fails + 1)); }
have() { command -v "$1" >/dev/null 2>&1; }
wanted() { [ -z "${PROG_ONLY:-}" ] || [[ " $PROG_ONLY " == *" $1 "* ]]; }
strip_ansi() { sed 's/\x1b\[[0-9;]*m//g' "$@"; }

# start_server NAME MODE CMD...: run CMD in the rcv namespace under the shim,
# output in $TMP/NAME.out/.err; sets SERVER_PID (the timeout process)
start_server()
{
	local name=$1 mode=$2
	shift 2
	# ip netns exec execs timeout, so $! is timeout's pid (a backgrounded
	# shell function would give a subshell's)
	ip netns exec "$NS_RCV" timeout -k 5 60 env XSKSHIM_IFACE="$IF_RCV" XSKSHIM_PORTS="$PORTS" XSKSHIM_MODE="$mode" \
		XSKSHIM_CSUM=verify XSKSHIM_STATS=1 LD_PRELOAD="$SHIM" "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err" &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
}

# stop_server: SIGTERM (forwarded by timeout), then wait
stop_server()
{
	kill -TERM "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
}

# wait_bound PROTO PORT: until a socket in the rcv namespace is bound there
wait_bound()
{
	local i
	for i in $(seq 50); do
		in_rcv ss -Hln"$1" "sport = :$2" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# pid_of COMM: the process with that name in the rcv namespace
pid_of()
{
	local p
	for p in $(ip netns pids "$NS_RCV"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$1" ] && echo "$p"
	done | tail -1
}

# live_stats COMM: ST_REDIRECT, ST_RX_XDP, ST_RX_KERNEL (sockets open now),
# ST_ACCEL/ST_SOCKS (accelerated / tracked sockets on configured ports)
live_stats()
{
	local pid j
	ST_REDIRECT=0 ST_RX_XDP=0 ST_RX_KERNEL=0 ST_ACCEL=0 ST_SOCKS=0 ST_SPILL=0 ST_SRC=none
	pid=$(pid_of "$1")
	[ -n "$pid" ] && [ -x "$STAT" ] && have jq || return 1
	j=$("$STAT" -j "$pid" 2>/dev/null) || return 1
	read -r ST_REDIRECT ST_SPILL ST_RX_XDP ST_RX_KERNEL ST_ACCEL ST_SOCKS < <(jq -r '[
		(.xdp_counters.redirect // 0),
		(.xdp_counters.pass_spill // 0),
		([.sockets[].counters.rx_xdp] | add // 0),
		([.sockets[].counters.rx_kernel] | add // 0),
		([.sockets[] | select(.accelerated)] | length),
		(.sockets | length)] | @tsv' <<<"$j")
	ST_SRC=xskshim-stat
}

# exit_stats FILE: the same from an XSKSHIM_STATS=1 exit summary
exit_stats()
{
	ST_REDIRECT=$(grep -o 'xdp: redirect [0-9]*' "$1" | awk '{ s += $3 } END { print s + 0 }')
	ST_SPILL=$(grep -o 'pass_spill [0-9]*' "$1" | awk '{ s += $2 } END { print s + 0 }')
	ST_RX_XDP=$(grep -o 'rx_xdp [0-9]*' "$1" | awk '{ s += $2 } END { print s + 0 }')
	ST_RX_KERNEL=$(grep -o 'rx_kernel [0-9]*' "$1" | awk '{ s += $2 } END { print s + 0 }')
	ST_ACCEL=$(grep -c ' accelerated' "$1")
	ST_SOCKS=$ST_ACCEL
	ST_SRC="exit summary"
}

# check_bypass LABEL SENT UDP_DELTA: redirect and rx_xdp cover SENT, and
# UdpInDatagrams grew by at most 1% of SENT
check_bypass()
{
	local label=$1 sent=$2 udp=$3
	if [ "$ST_SRC" = none ]; then
		fail "$label: bypass: no shim statistics (xskshim-stat/jq missing and no exit summary)"
	elif [ "$ST_ACCEL" -ge 1 ] && [ $((ST_REDIRECT + ST_SPILL)) -ge "$sent" ] &&
		[ $(((udp - ST_SPILL) * 100)) -le "$sent" ] && [ $((ST_SPILL * 20)) -le "$sent" ]; then
		# datagrams spilled past the fill budget (a loaded machine) take
		# the kernel path by design: counted, at most 5%
		pass "$label: bypass: $ST_ACCEL accelerated socket(s), XDP redirect $ST_REDIRECT + spilled $ST_SPILL >= $sent sent, rx_xdp $ST_RX_XDP rx_kernel $ST_RX_KERNEL (open sockets, $ST_SRC), UdpInDatagrams +$udp"
	else
		fail "$label: bypass: accelerated $ST_ACCEL/$ST_SOCKS, XDP redirect $ST_REDIRECT spilled $ST_SPILL for $sent sent, rx_xdp $ST_RX_XDP rx_kernel $ST_RX_KERNEL ($ST_SRC), UdpInDatagrams +$udp"
		grep -hE 'NOT accelerated|kernel path' "$TMP"/*.err 2>/dev/null | sort -u | head -3 | sed 's/^/    /'
	fi
}

# ---- socat -----------------------------------------------------------------
t_socat()
{
	local mode=$1 fam=$2 port=$3 kib=$4 label="$1: socat $2" dst recv send b udp n
	if [ "$fam" = ipv4 ]; then
		dst=$ADDR_RCV recv="UDP-RECV:$port,bind=$ADDR_RCV" send="UDP-SENDTO:$ADDR_RCV:$port"
	else
		dst=$ADDR6_RCV recv="UDP6-RECV:$port,bind=[$ADDR6_RCV]" send="UDP6-SENDTO:[$ADDR6_RCV]:$port"
	fi
	head -c $((kib * 1024)) /dev/urandom >"$TMP/socat.data"
	rm -rf "$TMP/socat.chunks" "$TMP/socat.got"
	mkdir "$TMP/socat.chunks"
	split -b 65536 "$TMP/socat.data" "$TMP/socat.chunks/c."
	b=$(udp_in_all)
	start_server socat "$mode" socat -u "$recv" "OPEN:$TMP/socat.got,creat,trunc"
	if ! wait_bound u "$port"; then
		fail "$label: socat receiver did not bind port $port: $(head -c 300 "$TMP/socat.err")"
		stop_server
		return
	fi
	# 1 KiB datagrams (socat -b 1024 reads and sends 1024 bytes per write),
	# 64 at a time, so neither a kernel nor an AF_XDP ring overflows
	for c in "$TMP/socat.chunks"/c.*; do
		in_gen timeout 10 socat -u -b 1024 "OPEN:$c" "$send" || fail "$label: sender socat failed"
		sleep 0.02
	done
	for _ in $(seq 50); do
		[ "$(stat -c %s "$TMP/socat.got" 2>/dev/null)" = $((kib * 1024)) ] && break
		sleep 0.1
	done
	sleep 0.2
	live_stats socat
	stop_server
	udp=$(($(udp_in_all) - b))
	[ "$ST_SRC" = none ] && exit_stats "$TMP/socat.err"
	n=$((kib))
	if cmp -s "$TMP/socat.data" "$TMP/socat.got"; then
		pass "$label: $kib KiB in $n datagrams of 1 KiB to $dst:$port received byte-exact"
	else
		fail "$label: received file differs: sent $((kib * 1024)) bytes, got $(stat -c %s "$TMP/socat.got" 2>/dev/null || echo 0) ($(cmp "$TMP/socat.data" "$TMP/socat.got" 2>&1 | head -1))"
	fi
	check_bypass "$label" "$n" "$udp"
}

# ---- iperf 2 -----------------------------------------------------------------
t_iperf()
{
	local mode=$1 port=$2 label="$1: iperf" b udp sent lost total
	b=$(udp_in_all)
	start_server iperf "$mode" iperf -s -u -p "$port" -B "$ADDR_RCV"
	if ! wait_bound u "$port"; then
		fail "$label: server did not bind: $(head -c 300 "$TMP/iperf.err")"
		stop_server
		return
	fi
	in_gen timeout 20 iperf -c "$ADDR_RCV" -u -p "$port" -b 20M -t 2 -l 1200 >"$TMP/iperf.client" 2>&1
	sleep 0.3
	live_stats iperf
	stop_server
	udp=$(($(udp_in_all) - b))
	[ "$ST_SRC" = none ] && exit_stats "$TMP/iperf.err"
	sent=$(sed -n 's/.*Sent \([0-9]*\) datagrams.*/\1/p' "$TMP/iperf.client" | tail -1)
	read -r lost total < <(grep -oE '[0-9]+/ *[0-9]+ +\(' "$TMP/iperf.out" | tail -1 | tr '/(' '  ')
	if [ -n "$sent" ] && [ -n "$total" ] && [ "$lost" = 0 ] && [ "$total" -ge $((sent - 1)) ] && [ "$total" -gt 0 ]; then
		pass "$label: server report $lost/$total lost, client sent $sent datagrams of 1200 bytes"
	else
		fail "$label: server report lost/total '${lost:-?}/${total:-?}', client sent '${sent:-?}', server saw $(grep -c 'connected with' "$TMP/iperf.out") session(s) for 1 client (see diff_sock case shared-port)"
		tail -n 3 "$TMP/iperf.out" | sed 's/^/    /'
	fi
	check_bypass "$label" "${total:-1}" "$udp"
}

# ---- sockperf ------------------------------------------------------------------
t_sockperf()
{
	local mode=$1 port=$2 variant=$3 label="$1: sockperf server ($3)" b udp pp_sent pp_valid tp_sent sent rb0 got rbe
	b=$(udp_in_all); rb0=$(netns_udp_counter RcvbufErrors)
	if [ "$variant" = recvfrom ]; then
		start_server sockperf "$mode" sockperf server -i "$ADDR_RCV" -p "$port"
	else
		printf 'T:%s:%s\nU:%s:%s\n' "$ADDR_RCV" $((port + 50)) "$ADDR_RCV" "$port" >"$TMP/sockperf.list"
		start_server sockperf "$mode" sockperf server -f "$TMP/sockperf.list" -F e
	fi
	if ! wait_bound u "$port"; then
		fail "$label: server did not bind: $(strip_ansi "$TMP/sockperf.err" | head -c 300)"
		stop_server
		return
	fi
	in_gen timeout 20 sockperf ping-pong -i "$ADDR_RCV" -p "$port" -t 2 --msg-size 64 >"$TMP/sockperf.pp" 2>&1
	in_gen timeout 20 sockperf throughput -i "$ADDR_RCV" -p "$port" -t 2 --msg-size 64 --mps 20000 \
		>"$TMP/sockperf.tp" 2>&1
	sleep 0.3
	live_stats sockperf
	stop_server
	udp=$(($(udp_in_all) - b))
	[ "$ST_SRC" = none ] && exit_stats "$TMP/sockperf.err"
	pp_sent=$(strip_ansi "$TMP/sockperf.pp" | sed -n 's/.*\[Total Run\].*SentMessages=\([0-9]*\);.*/\1/p')
	pp_valid=$(strip_ansi "$TMP/sockperf.pp" | grep -c '\[Valid Duration\].*SentMessages=\([0-9]*\); ReceivedMessages=\1$')
	tp_sent=$(strip_ansi "$TMP/sockperf.tp" | sed -n 's/.*Total of \([0-9]*\) messages sent.*/\1/p')
	if strip_ansi "$TMP/sockperf.pp" | grep -q 'dropped messages = 0; # duplicated messages = 0; # out-of-order messages = 0' &&
	   [ "$pp_valid" = 1 ] && [ -n "$pp_sent" ]; then
		pass "$label: ping-pong: $pp_sent messages, every one answered, 0 dropped/duplicated/out of order"
	else
		fail "$label: ping-pong: $(strip_ansi "$TMP/sockperf.pp" | grep -E 'Valid Duration|dropped' | tr '\n' ' ')"
	fi
	sent=$((${pp_sent:-0} + ${tp_sent:-0}))
	got=$((ST_RX_XDP + ST_RX_KERNEL)); rbe=$(($(netns_udp_counter RcvbufErrors) - rb0))
	if [ -n "$tp_sent" ] && [ "$got" -eq "$sent" ]; then
		pass "$label: throughput: server received all $sent datagrams (ping-pong $pp_sent + throughput $tp_sent)"
	elif [ -n "$tp_sent" ] && [ "$got" -lt "$sent" ] && [ $((sent - got)) -eq "$rbe" ]; then
		# a loaded machine kept sockperf off its CPU past the fill budget and
		# the spill overflowed the kernel socket's buffer: a plain socket
		# (that buffer alone) loses at least as many, and the kernel counts them
		pass "$label: throughput: server received $got of $sent; every one missing is the kernel socket buffer's, counted by the kernel (UdpRcvbufErrors +$rbe, rx_kernel $ST_RX_KERNEL after a spill: the reader was off its CPU)"
	else
		fail "$label: server received $got datagrams ($ST_SRC), clients sent $sent (ping-pong ${pp_sent:-?} + throughput ${tp_sent:-?}), UdpRcvbufErrors +$rbe"
	fi
	check_bypass "$label" "$sent" "$udp"
}

# ---- knotd + kdig ------------------------------------------------------------
t_knot()
{
	local mode=$1 port=5353 label="$1: knotd" d=$TMP/knot b udp ok=0 bad=0 i a q=0 st
	rm -rf "$d"
	knot_setup "$d" "[ $ADDR_RCV@$port, $ADDR6_RCV@$port ]"
	b=$(udp_in_all)
	start_server knotd "$mode" knotd -c "$d/knot.conf"
	if ! wait_bound u "$port"; then
		fail "$label: knotd did not bind: $(tail -3 "$TMP/knotd.err")"
		stop_server
		return
	fi
	for _ in $(seq 30); do
		grep -q 'loaded, serial' "$TMP/knotd.err" && break
		sleep 0.1
	done
	for i in $(seq 20); do
		if [ $((i % 2)) = 0 ]; then
			a=$(in_gen timeout 5 kdig @"$ADDR6_RCV" -p $port +notcp +short +retry=0 www.example. AAAA 2>&1)
			[ "$a" = 2001:2::80 ] && ok=$((ok + 1)) || bad=$((bad + 1))
		else
			a=$(in_gen timeout 5 kdig @"$ADDR_RCV" -p $port +notcp +short +retry=0 www.example. A 2>&1)
			[ "$a" = 198.18.1.80 ] && ok=$((ok + 1)) || bad=$((bad + 1))
		fi
		q=$((q + 1))
	done
	st=$(in_gen timeout 5 kdig @"$ADDR_RCV" -p $port +notcp +retry=0 nosuch.example. A 2>&1 | grep -o 'status: [A-Z]*')
	q=$((q + 1))
	sleep 0.2
	live_stats knotd
	stop_server
	udp=$(($(udp_in_all) - b))
	[ "$ST_SRC" = none ] && exit_stats "$TMP/knotd.err"
	if [ "$ok" = 20 ] && [ "$st" = "status: NXDOMAIN" ]; then
		pass "$label: 20/20 kdig queries (IPv4 A, IPv6 AAAA) answered correctly over UDP, NXDOMAIN for a missing name"
	else
		fail "$label: $ok/20 correct answers ($bad wrong, last answer '$a'), missing name: '$st'"
	fi
	if [ "$ST_SRC" = xskshim-stat ] && [ "$ST_RX_XDP" -lt "$q" ]; then
		fail "$label: knotd's sockets received $ST_RX_XDP datagrams through AF_XDP, $q queries were sent"
	fi
	check_bypass "$label" "$q" "$udp"
}

# ---- streamrecv (Agave style) -----------------------------------------------------
t_streamrecv()
{
	local mode=$1 port=$2 n=20000 label="$1: streamrecv --threads 4 (SO_REUSEPORT)" b udp line rb0 rbe miss
	b=$(udp_in_all); rb0=$(netns_udp_counter RcvbufErrors)
	start_server streamrecv "$mode" "$STREAMRECV" --port "$port" --threads 4 --expect $n --max-secs 20
	if ! wait_bound u "$port"; then
		fail "$label: did not bind: $(tail -3 "$TMP/streamrecv.err")"
		stop_server
		return
	fi
	sleep 0.2
	in_gen timeout 30 "$UDPGEN" --dst "$ADDR_RCV" --port "$port" --flows 16 --count $n --rate 200000 \
		>"$TMP/udpgen.out" 2>&1
	wait "$SERVER_PID"
	local rc=$?
	udp=$(($(udp_in_all) - b))
	exit_stats "$TMP/streamrecv.err"
	line=$(grep '^streamrecv: received=' "$TMP/streamrecv.out")
	rbe=$(($(netns_udp_counter RcvbufErrors) - rb0))
	miss=$(sed -n 's/.* missing=\([0-9]*\) .*/\1/p' <<<"$line")
	if [ "$rc" = 0 ] && [[ "$line" == *"received=$n bad=0 dup=0 missing=0"* ]] && [[ "$line" == *" flows_split=0 reordered=0 "* ]]; then
		pass "$label: all $n datagrams of 16 flows delivered and verified, flows_split=0, no flow reordered within a socket ($(grep -o 'per_thread=[0-9,]*' <<<"$line"))"
	elif [[ "$line" == *" bad=0 dup=0 "* ]] && [[ "$line" == *" flows_split=0 reordered=0 "* ]] &&
	     [ -n "$miss" ] && [ "$miss" -gt 0 ] && [ "$miss" -eq "$rbe" ]; then
		# a loaded machine kept the readers off their CPUs past the fill
		# budget and the spill overflowed the kernel sockets' buffers: plain
		# sockets (those buffers alone) lose at least as many, and the
		# kernel counts them (as t_sockperf's throughput check)
		pass "$label: $((n - miss)) of $n delivered and verified, flows_split=0, no flow reordered; every one missing is a kernel socket buffer's, counted by the kernel (UdpRcvbufErrors +$rbe after a spill: the readers were off their CPUs)"
	else
		fail "$label: exit $rc: ${line:-no summary} ($(cat "$TMP/udpgen.out")), UdpRcvbufErrors +$rbe"
	fi
	check_bypass "$label" "$n" "$udp"
}

# ---- run -------------------------------------------------------------------------
for mode in $MODES; do
	if wanted socat; then
		if have socat; then
			t_socat "$mode" ipv4 9210 1024
			t_socat "$mode" ipv6 9211 256
		else
			echo "SKIP: t_programs: $mode: socat not installed"
		fi
	fi
	if wanted iperf; then
		if have iperf; then
			t_iperf "$mode" 9220
		else
			echo "SKIP: t_programs: $mode: iperf (2) not installed"
		fi
	fi
	if wanted sockperf; then
		if have sockperf; then
			t_sockperf "$mode" 9230 recvfrom
			t_sockperf "$mode" 9231 "epoll with a TCP listener"
		else
			echo "SKIP: t_programs: $mode: sockperf not installed"
		fi
	fi
	if wanted knotd; then
		if have knotd && have kdig; then
			t_knot "$mode"
		else
			echo "SKIP: t_programs: $mode: knotd or kdig not installed (packages knot, knot-dnsutils)"
		fi
	fi
	if wanted streamrecv; then
		if [ -x "$STREAMRECV" ] && [ -x "$UDPGEN" ]; then
			t_streamrecv "$mode" 9240
		else
			echo "SKIP: t_programs: $mode: build/tests/streamrecv or udpgen missing (run make)"
		fi
	fi
done

echo "t_programs: $fails failure(s)"
[ "$fails" = 0 ]
