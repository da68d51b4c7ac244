#!/bin/bash
# scripts/demo.sh - `make demo`: what xskshim does, in under two minutes.
#
# On a private netns/veth pair (scripts/netns.sh, 198.18.0.0/15) the live
# XDP frame generator (build/tests/xdpgen: BPF_PROG_TEST_RUN with live
# frames, as the benchmark uses) offers 64-byte UDP datagrams far faster
# than the kernel's UDP path takes them, to three receivers in turn, each
# pinned to CPU 1 with the generator on CPU 0:
#   plain  build/tests/streamrecv (poll + recvmmsg, like Agave's streamer)
#          on kernel sockets with a 32 MiB receive buffer;
#   shim   the same binary started through the launcher, build/xskshim;
#   raw    build/tests/rawrecv, a hand-written AF_XDP receiver (the ceiling).
# It prints a table (offered and received rates, share delivered; medians
# over DEMO_ROUNDS rounds), the ratios, and
# where every datagram went: delivered through AF_XDP or the kernel socket,
# or dropped - and where (veth ring, socket buffer, AF_XDP ring, validation).
#
# The receive path's kernel work (vb's NAPI: the XDP program and the copy
# into the UMEM, or GRO and the UDP stack for plain sockets) runs in a NAPI
# thread pinned to the receiver's CPU, as a NIC queue's interrupt work runs
# on the core that serves it (DEMO_NAPI=sender keeps the veth default: all
# of it on the generator's CPU, where a cheaper path only lets the generator
# offer more).  Kernels that refuse live-frame test runs make xdpgen send
# through an AF_XDP TX ring instead (slower; the demo says so).
#
# Self-check (exit status): the ratio line is printed and, for every run,
# sent == delivered + every counted drop.  DEMO_QUICK=1 (tests/t_demo.sh in
# make test) runs one short round; DEMO_SECS, DEMO_ROUNDS, DEMO_SIZE,
# DEMO_COUNT set the run length, rounds, payload size and frame cap;
# DEMO_KEEP=DIR keeps the logs.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
. scripts/netns.sh
NETNS_TEST_NAME=demo netns_skip_unless_root || exit 0

if [ "${DEMO_QUICK:-0}" = 1 ]; then
	SECS=${DEMO_SECS:-1}; COUNT=${DEMO_COUNT:-1000000}; ROUNDS=${DEMO_ROUNDS:-1}
else
	SECS=${DEMO_SECS:-4}; COUNT=${DEMO_COUNT:-20000000}; ROUNDS=${DEMO_ROUNDS:-3}
fi
SIZE=${DEMO_SIZE:-64}
PORT=9000
BIN=$ROOT/build/tests
for f in "$BIN/streamrecv" "$BIN/rawrecv" "$BIN/xdpgen" "$ROOT/build/xskshim" "$ROOT/build/libxskshim.so"; do
	[ -e "$f" ] || { echo "demo: $f is missing (make)"; exit 1; }
done
CPU_GEN=0 CPU_RCV=1
[ "$(nproc)" -ge 2 ] || CPU_RCV=0
T=$(mktemp -d /tmp/xsk-demo.XXXXXX)
PIDS=()
cleanup() { local p; for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; netns_cleanup; [ -n "${DEMO_KEEP:-}" ] && cp -r "$T" "$DEMO_KEEP"; rm -rf "$T"; }
NETNS_NO_TRAP=1
trap cleanup EXIT
trap 'exit 130' INT TERM
netns_setup 1 || exit 1
# IPv4 only: no IPv6 neighbour discovery or MLD frame may cross (or be
# dropped on) the veth pair while datagrams are being accounted
in_gen sysctl -qw "net.ipv6.conf.$IF_GEN.disable_ipv6=1" >/dev/null 2>&1
in_rcv sysctl -qw "net.ipv6.conf.$IF_RCV.disable_ipv6=1" >/dev/null 2>&1
in_rcv ethtool -K "$IF_RCV" gro on >/dev/null 2>&1   # NAPI on vb for the plain receiver (either placement)

# Where vb's receive work runs.  receiver: vb's NAPI in a kernel thread
# pinned to the receiver's CPU, as a NIC queue's interrupt work runs on the
# core that serves it - the generator's CPU then only sends, and the
# receiving core pays for the whole receive path.  sender: the veth default,
# all of it on the generator's CPU, whose offered rate then follows the
# receive path's cost per frame.  The default follows the generator's
# engine (a 64-frame probe): with live frames (several Mpps) a receiving
# core that also runs NAPI is in receive livelock for every receiver and
# the run measures the scheduler, so NAPI stays with the generator; the
# AF_XDP TX engine (a few hundred kpps, kernels that refuse live frames)
# leaves the generator's CPU no room for NAPI, so it goes to the receiver.
ENGINE=$(in_gen "$BIN/xdpgen" --iface "$IF_GEN" --dst-mac "$MAC_RCV" --src "$ADDR_GEN" --dst "$ADDR_RCV" \
	--port $PORT --size "$SIZE" --count 64 --flows 1 --duration-max 1 2>/dev/null | grep -o 'engine=[a-z]*' | cut -d= -f2)
case $ENGINE in live) NAPI=${DEMO_NAPI:-sender} ;; *) NAPI=${DEMO_NAPI:-receiver} ;; esac
echo "demo: generator engine ${ENGINE:-unknown}; vb's NAPI on the ${NAPI} CPU (DEMO_NAPI=receiver|sender)"
if [ "$NAPI" = receiver ] && ! netns_napi_thread "$NS_RCV" "$IF_RCV" "$CPU_RCV"; then
	echo "demo: no threaded NAPI for $IF_RCV here; its receive work stays on the generator's CPU"
	NAPI=sender
fi

# snap: the counters of the path outside the receivers: UDP InErrors and
# RcvbufErrors of the receiving namespace, vb rx_dropped, va tx_dropped and
# va's xdp_xmit_errors.  The veth ring's refusals are va's tx_dropped: it
# counts skb transmit drops (an AF_XDP TX ring in copy mode) and, since
# Linux 5.9, the XDP transmit errors into the peer's ring (live frames).
# vb's rx_dropped counts those XDP transmit errors too (as its own
# peer_tq_xdp_xmit_err), besides its own drops: they are taken out of it
# once, so no frame is counted twice on any kernel.
snap()
{
	echo "$(netns_udp_counter InErrors) $(netns_udp_counter RcvbufErrors)" \
	     "$(in_rcv cat "/sys/class/net/$IF_RCV/statistics/rx_dropped")" \
	     "$(in_gen cat "/sys/class/net/$IF_GEN/statistics/tx_dropped")" \
	     "$(in_gen ethtool -S "$IF_GEN" 2>/dev/null | awk '/xdp_xmit_errors/ { s += $2 } END { print s + 0 }')"
}
kv() { grep -o "\b$2=[^ ]*" "$1" 2>/dev/null | tail -1 | cut -d= -f2; }
sum_re() { grep -oE "$2" "$1" 2>/dev/null | awk '{ s += $NF } END { print s + 0 }'; }

# run TAG CMD...: one receiver, then the generator; leaves $T/TAG.{out,err,gen,snap}
run()
{
	local tag=$1 pid _ before after
	shift
	while in_rcv ip link show dev "$IF_RCV" | grep -q xdp; do sleep 0.05; done
	before=$(snap)
	napi_pin
	napi_check || echo "demo: $tag: vb's NAPI thread is not where it was put (above)"
	in_rcv taskset -c $CPU_RCV "$@" >"$T/$tag.out" 2>"$T/$tag.err" &
	pid=$!; PIDS+=("$pid")
	for _ in $(seq 200); do grep -qs 'ready' "$T/$tag.err" && break; sleep 0.05; done
	in_gen taskset -c $CPU_GEN "$BIN/xdpgen" --iface "$IF_GEN" --dst-mac "$MAC_RCV" --src "$ADDR_GEN" \
		--dst "$ADDR_RCV" --port $PORT --size "$SIZE" --count "$COUNT" --flows 8 \
		--duration-max "$SECS" >"$T/$tag.gen" 2>&1
	wait "$pid"
	after=$(snap)
	paste -d' ' <(tr ' ' '\n' <<<"$after") <(tr ' ' '\n' <<<"$before") | awk '{ printf "%d ", $1 - $2 }' >"$T/$tag.snap"
}

# account TAG: one line: sent = delivered (AF_XDP, kernel socket) + every
# drop, by place; ACC_OK=0 when they do not add up.  vb's rx_dropped
# includes the frames its XDP redirect could not put on an AF_XDP ring
# (the AF_XDP ring counters say why), so those are not counted twice.
ACC_OK=1
account()
{
	local tag=$1 sent recv rxx=0 rxk=0 inerr rcvbuf vbdrop xmit xmiterr xskd=0 val=0 total
	read -r inerr rcvbuf vbdrop xmit xmiterr <"$T/$tag.snap"
	vbdrop=$((vbdrop - xmiterr))   # vb's own drops (see snap)
	sent=$(kv "$T/$tag.gen" sent); recv=$(kv "$T/$tag.out" received)
	case $tag in
	plain*) rxk=$recv ;;
	shim*)
		rxx=$(sum_re "$T/$tag.err" 'rx_xdp [0-9]+'); rxk=$(sum_re "$T/$tag.err" 'rx_kernel [0-9]+')
		xskd=$(grep -oE 'rx_ring_full [0-9]+ rx_fill_ring_empty [0-9]+ rx_dropped [0-9]+' "$T/$tag.err" |
			awk '{ s += $2 + $6 } END { print s + 0 }')
		val=$(sum_re "$T/$tag.err" 'drop_[a-z_]+ [0-9]+')
		;;
	raw*)
		rxx=$recv
		xskd=$(grep -oE 'rx_dropped=[0-9]+ rx_ring_full=[0-9]+' "$T/$tag.err" | tr '=' ' ' |
			awk '{ s += $2 + $4 } END { print s + 0 }')
		;;
	esac
	total=$((rxx + rxk + xmit + vbdrop + inerr + val))
	[ "${sent:-0}" -gt 0 ] && [ "$total" = "$sent" ] || ACC_OK=0
	printf '  %-8s %9s sent = %9s via AF_XDP + %8s via the kernel socket + %8s dropped' \
		"$tag" "${sent:-?}" "$rxx" "$rxk" "$((xmit + vbdrop + inerr + val))"
	[ "$xmit" != 0 ] && printf ', %s by the veth ring' "$xmit"
	[ "$vbdrop" != 0 ] && printf ', %s on vb%s' "$vbdrop" "$([ "$xskd" != 0 ] && echo " (AF_XDP ring full or no free frame: $xskd)")"
	[ "$rcvbuf" != 0 ] && printf ', %s by a full socket buffer' "$rcvbuf"
	[ "$((inerr - rcvbuf))" != 0 ] && printf ', %s other UDP errors' "$((inerr - rcvbuf))"
	[ "$val" != 0 ] && printf ', %s failed validation' "$val"
	if [ "$total" = "${sent:-x}" ]; then echo "  - all accounted"; else echo "  - NOT accounted: $(( ${sent:-0} - total ))"; fi
}

# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print 0 }'; }

echo "xskshim demo: $NS_GEN (va $ADDR_GEN) -> $NS_RCV (vb $ADDR_RCV)"
echo "generator: build/tests/xdpgen, $SIZE B UDP payload, 8 flows, ${SECS} s per run, on CPU $CPU_GEN; receiver on CPU $CPU_RCV;"
echo "$ROUNDS round(s) of: plain sockets, the same binary under the shim, raw AF_XDP (the ceiling)"
echo "  plain: build/tests/streamrecv --port $PORT (poll + recvmmsg, like Agave's streamer)"
echo "  shim:  build/xskshim -i $IF_RCV -p $PORT --stats -- build/tests/streamrecv --port $PORT"
echo "  raw:   build/tests/rawrecv --iface $IF_RCV --port $PORT (libxdp AF_XDP, 1024 frames)"
echo
SR=("$BIN/streamrecv" --port $PORT --rcvbuf 33554432 --expect "$COUNT" --idle-ms 500 --max-secs 60)
for r in $(seq "$ROUNDS"); do
	run "plain-$r" "${SR[@]}"
	run "shim-$r" "$ROOT/build/xskshim" -i "$IF_RCV" -p $PORT --stats -- "${SR[@]}"
	run "raw-$r" "$BIN/rawrecv" --iface "$IF_RCV" --port $PORT --mode native --poll --frames 1024 \
		--expect "$COUNT" --idle-ms 500 --max-secs 60
	printf '  round %s: plain %s, shim %s, raw %s datagrams/s\n' "$r" "$(kv "$T/plain-$r.out" pps)" \
		"$(kv "$T/shim-$r.out" pps)" "$(kv "$T/raw-$r.out" pps)"
done
grep -m1 -o 'sock: accelerated.*' "$T/shim-1.err" | sed 's/^/  shim said: /'
grep -qs 'engine=afxdp' "$T/plain-1.gen" &&
	echo "  (this kernel refuses live-frame test runs: xdpgen sends through an AF_XDP TX ring instead)"
echo
printf '%-9s %14s %14s %10s\n' receiver "offered Mpps" "received Mpps" delivered
for t in plain shim raw; do
	printf '%-9s %14s %14s %10s\n' "$t" \
		"$(for r in $(seq "$ROUNDS"); do kv "$T/$t-$r.gen" pps; done | median | awk '{ printf "%.3f", $1 / 1e6 }')" \
		"$(for r in $(seq "$ROUNDS"); do kv "$T/$t-$r.out" pps; done | median | awk '{ printf "%.3f", $1 / 1e6 }')" \
		"$(for r in $(seq "$ROUNDS"); do awk -v s="$(kv "$T/$t-$r.gen" sent)" -v g="$(kv "$T/$t-$r.out" received)" \
			'BEGIN { if (s > 0) printf "%.1f\n", 100 * g / s }'; done | median)%"
done
pp=$(for r in $(seq "$ROUNDS"); do kv "$T/plain-$r.out" pps; done | median)
sp=$(for r in $(seq "$ROUNDS"); do kv "$T/shim-$r.out" pps; done | median)
rp=$(for r in $(seq "$ROUNDS"); do kv "$T/raw-$r.out" pps; done | median)
echo
awk -v p="${pp:-0}" -v s="${sp:-0}" -v r="${rp:-0}" 'BEGIN { if (p > 0 && s > 0)
	printf "shim/plain = %.2f   (raw AF_XDP/plain = %.2f, shim/raw = %.2f: medians of this run)\n", s / p, r / p, (r > 0 ? s / r : 0) }' |
	tee "$T/ratio"
if [ "$NAPI" = receiver ]; then
	echo "(vb's receive work ran on the receiver's CPU $CPU_RCV, in NAPI thread(s) $(echo $NAPI_THREADS | sed 's/:[^ ]*//g'))"
else
	echo "(vb's receive work ran on the generator's CPU: a cheaper path lets it offer more)"
fi
echo
echo "where every datagram went:"
for r in $(seq "$ROUNDS"); do for t in plain shim raw; do account "$t-$r"; done; done
echo
if [ -s "$T/ratio" ] && [ "$ACC_OK" = 1 ]; then
	echo "demo: OK - ratio measured, every datagram accounted for"
else
	echo "demo: FAILED - $([ -s "$T/ratio" ] || echo 'no ratio (a receiver got nothing); ')$([ "$ACC_OK" = 1 ] || echo 'some datagrams are not accounted for')"
	exit 1
fi
