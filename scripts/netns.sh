# shellcheck shell=bash
# netns.sh - sourceable bash fixture: two random-named network namespaces
# joined by one veth pair, for tests and the benchmark.
#
#   . scripts/netns.sh
#   netns_skip_unless_root            # SKIP line + exit 0 when we can't run
#   netns_setup [nqueues]             # installs `trap netns_cleanup EXIT`
#   in_gen udpgen ...; in_rcv streamrecv ...
#   netns_napi_thread "$NS_RCV" "$IF_RCV" 1   # vb's receive work on CPU1
#
# Topology (both veth ends live inside namespaces we create; addresses only
# from the benchmarking ranges 198.18.0.0/15 and 2001:2::/48):
#
#   $NS_GEN: va  02:00:00:00:00:0a  198.18.0.1/24  2001:2::1/64
#   $NS_RCV: vb  02:00:00:00:00:0b  198.18.0.2/24  2001:2::2/64
#
# Permanent neighbour entries both ways (v4 and v6), so no ARP/ND traffic is
# needed, and TX checksum offload off on va so that real UDP checksums go on
# the wire (a veth sender otherwise leaves them partial, see docs/platform.md).
#
# netns_setup installs `trap netns_cleanup EXIT` unless NETNS_NO_TRAP=1, in
# which case the caller chains netns_cleanup into its own trap.
# netns_cleanup is idempotent.

IF_GEN=va
IF_RCV=vb
ADDR_GEN=198.18.0.1
ADDR_RCV=198.18.0.2
ADDR6_GEN=2001:2::1
ADDR6_RCV=2001:2::2
MAC_GEN=02:00:00:00:00:0a
MAC_RCV=02:00:00:00:00:0b
export IF_GEN IF_RCV ADDR_GEN ADDR_RCV ADDR6_GEN ADDR6_RCV MAC_GEN MAC_RCV

netns_skip_unless_root()
{
	local why=
	if [ "$(id -u)" != 0 ]; then
		why="needs root"
	elif ! command -v ip >/dev/null 2>&1; then
		why="iproute2 (ip) not installed"
	else
		local probe="xskprobe-$$-$RANDOM"
		if ip netns add "$probe" 2>/dev/null; then
			ip netns del "$probe" 2>/dev/null
		else
			why="network namespaces unavailable"
		fi
	fi
	if [ -n "$why" ]; then
		echo "SKIP: ${NETNS_TEST_NAME:-$(basename "$0")}: $why"
		exit 0
	fi
}

in_gen() { ip netns exec "$NS_GEN" "$@"; }
in_rcv() { ip netns exec "$NS_RCV" "$@"; }

# udp_in_datagrams - the receive namespace's UdpInDatagrams counter.
udp_in_datagrams()
{
	netns_udp_counter InDatagrams
}

# netns_udp_counter NAME - one field of the rcv namespace's "Udp:" line in
# /proc/net/snmp (InDatagrams, NoPorts, InErrors, RcvbufErrors, ...).
netns_udp_counter()
{
	in_rcv awk -v want="$1" '
		$1 == "Udp:" && !hdr { for (i = 2; i <= NF; i++) col[$i] = i; hdr = 1; next }
		$1 == "Udp:" && hdr  { print (want in col) ? $col[want] : 0; exit }
	' /proc/net/snmp
}

# udp_in_all - UdpInDatagrams + Udp6InDatagrams of the receive namespace.
udp_in_all()
{
	echo $(($(udp_in_datagrams) + $(in_rcv awk '$1 == "Udp6InDatagrams" { print $2 }' /proc/net/snmp6)))
}

# netns_need_files NAME FILE... - a SKIP line for test NAME and exit 0 when
# any FILE is missing (not built yet).
netns_need_files()
{
	local name=$1 f
	shift
	for f in "$@"; do
		if [ ! -e "$f" ]; then
			echo "SKIP: $name: $f missing (run make)"
			exit 0
		fi
	done
}

# shim_stat_sum KEY FILE - the sum of the values after KEY in the shim's
# XSKSHIM_STATS=1 summary lines in FILE (0 if none).
shim_stat_sum()
{
	grep -o "$1 [0-9]*" "$2" | awk '{ s += $2 } END { print s + 0 }'
}

# wait_ready FILE [SECS] - wait (up to SECS, default 10) until FILE says
# 'ready' (a receiver's stderr after its bind); 1 if it never did.  Empty
# FILE in the caller before starting the receiver (`: >FILE`): the
# redirection `cmd 2>FILE &` truncates it in the child, which a loaded
# machine may run only after this has read the previous run's ready line.
wait_ready()
{
	for _ in $(seq $((${2:-10} * 10))); do
		grep -q 'ready' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# cpu_hog CPU SECS - a busy loop pinned to CPU for at most SECS, its pid in
# $HOG and in $PIDS (netns_test_init); cpu_hog_stop ends it.
cpu_hog()
{
	timeout "$2" taskset -c "$1" sh -c 'while :; do :; done' &
	HOG=$!
	PIDS+=("$HOG")
}

cpu_hog_stop()
{
	kill "$HOG" 2>/dev/null
	wait "$HOG" 2>/dev/null
}

# Threaded NAPI: a veth end's receive work (its NAPI poll: the XDP program,
# the copy into a page-pool page, GRO and the IP/UDP stack) runs by default
# in softirq on the CPU whose transmit scheduled it - the peer's sender.
# Between two hosts that work is the receiving host's.  netns_napi_thread
# puts it into a NAPI kernel thread pinned to the receiving side's CPU.
#
# netns_napi_thread NS IF CPU - GRO on IF (in namespace NS; a veth end has a
# NAPI only with GRO or an XDP program, and GRO keeps it across XDP attach
# and detach), then IF's NAPI threaded (/sys/class/net/IF/threaded) and its
# new kthread(s) "napi/IF-<id>" pinned to CPU.  Each is recorded as
# "pid:cpu:IF" in NAPI_THREADS.  Returns 1 and says why on stderr when no
# thread appeared (a kernel without threaded NAPI: the work stays with the
# sender) - the caller says loudly what placement it falls back to.  veth
# hands the peer's frames to this NAPI only when it may GRO them (the
# sending end without TSO features: va has none after netns_setup, vb
# needs `ethtool -K vb tso off`); others go to netif_rx on the sending CPU.
# napi_ticks over a run shows whether the thread did the work.
NAPI_THREADS=
netns_napi_thread()
{
	local ns=$1 ifc=$2 cpu=$3 before new= _
	ip netns exec "$ns" ethtool -K "$ifc" gro on >/dev/null 2>&1
	before=$(pgrep '^napi/' | sort)
	if ! ip netns exec "$ns" sh -c "echo 1 > /sys/class/net/$ifc/threaded" 2>/dev/null; then
		echo "netns.sh: $ifc: writing /sys/class/net/$ifc/threaded failed (no threaded NAPI here)" >&2
		return 1
	fi
	for _ in $(seq 20); do
		# new since the write and named for IF: another namespace's
		# interface of the same name changing at this moment is the
		# only way to take a wrong one, and napi_check sees it then
		new=$(comm -13 <(printf '%s\n' "$before") <(pgrep '^napi/' | sort) |
			while read -r p; do grep -qs "^napi/$ifc-" "/proc/$p/comm" && echo "$p"; done)
		[ -n "$new" ] && break
		sleep 0.05
	done
	if [ -z "$new" ]; then
		echo "netns.sh: $ifc: threaded is set but no napi/$ifc-* kthread appeared" >&2
		return 1
	fi
	for _ in $new; do NAPI_THREADS+=" $_:$cpu:$ifc"; done
	napi_pin
}

# napi_pin - (re)pin every thread of NAPI_THREADS to its CPU.
napi_pin()
{
	local t
	for t in $NAPI_THREADS; do
		taskset -pc "$(cut -d: -f2 <<<"$t")" "${t%%:*}" >/dev/null 2>&1
	done
}

# napi_move IF CPU - the NAPI threads of IF go to CPU from now on.
napi_move()
{
	local t out=
	for t in $NAPI_THREADS; do
		[ "${t##*:}" = "$1" ] && t="${t%%:*}:$2:$1"
		out+=" $t"
	done
	NAPI_THREADS=$out
	napi_pin
}

# napi_rt on|off - the NAPI threads of NAPI_THREADS at SCHED_FIFO 50 (on),
# so that their work preempts the task on their CPU as a NIC's interrupt
# and softirq would (a SCHED_OTHER thread waits for the task's time slice:
# milliseconds for a ping-pong whose tasks spin), or back to SCHED_OTHER.
# Only for light loads: a FIFO thread that always has work starves the
# CPU's other tasks.
napi_rt()
{
	local t
	for t in $NAPI_THREADS; do
		if [ "$1" = on ]; then
			chrt -f -p 50 "${t%%:*}" >/dev/null 2>&1
		else
			chrt -o -p 0 "${t%%:*}" >/dev/null 2>&1
		fi
	done
}

# napi_check - every thread of NAPI_THREADS still exists, is its
# interface's NAPI thread and is allowed on its CPU only; else one line per
# fault on stderr and 1.
napi_check()
{
	local t pid cpu ifc aff ok=0
	for t in $NAPI_THREADS; do
		IFS=: read -r pid cpu ifc <<<"$t"
		if ! grep -qs "^napi/$ifc-" "/proc/$pid/comm"; then
			echo "netns.sh: NAPI thread $pid of $ifc is gone" >&2; ok=1; continue
		fi
		aff=$(awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$pid/status")
		[ "$aff" = "$cpu" ] || { echo "netns.sh: NAPI thread $pid of $ifc is allowed on CPUs $aff, not $cpu" >&2; ok=1; }
	done
	return $ok
}

# napi_ticks [IF] - the CPU time (USER_HZ ticks) the NAPI threads (of IF,
# or all) have run: a delta over a run shows the work ran there.
napi_ticks()
{
	local t pid cpu ifc n=0
	for t in $NAPI_THREADS; do
		IFS=: read -r pid cpu ifc <<<"$t"
		[ -z "${1:-}" ] || [ "$ifc" = "$1" ] || continue
		n=$((n + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
	done
	echo "$n"
}

# netns_test_init - for a test that starts processes: a temp dir $TMP
# (/tmp/NETNS_TEST_NAME.XXXXXX), a list $PIDS of what it started, and an
# exit trap that kills exactly those pids, waits, removes the namespaces and
# the temp dir (NETNS_KEEP_TMP=1 keeps it).  Call before netns_setup.
netns_test_init()
{
	TMP=$(mktemp -d "/tmp/${NETNS_TEST_NAME:-netns}.XXXXXX")
	PIDS=()
	NETNS_NO_TRAP=1
	trap netns_test_cleanup EXIT
}

netns_test_cleanup()
{
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	netns_cleanup
	if [ "${NETNS_KEEP_TMP:-0}" = 1 ]; then
		echo "${NETNS_TEST_NAME:-netns}: kept $TMP"
	else
		rm -rf "$TMP"
	fi
}

netns_cleanup()
{
	local ns
	NAPI_THREADS=
	for ns in "$NS_RCV" "$NS_GEN"; do
		[ -n "$ns" ] || continue
		# drop any XDP program left attached through netlink first
		ip -n "$ns" link set dev "$IF_RCV" xdp off 2>/dev/null
		ip -n "$ns" link set dev "$IF_GEN" xdp off 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}

netns_setup()
{
	local nq=${1:-1}
	local suffix
	suffix="$$-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
	# NETNS_TAG (optional): a word in the names, to tell whose they are
	NS_GEN="xskgen-${NETNS_TAG:+$NETNS_TAG-}$suffix"
	NS_RCV="xskrcv-${NETNS_TAG:+$NETNS_TAG-}$suffix"
	export NS_GEN NS_RCV

	if [ "${NETNS_NO_TRAP:-0}" != 1 ]; then
		trap netns_cleanup EXIT
	fi

	ip netns add "$NS_GEN" || return 1
	ip netns add "$NS_RCV" || { netns_cleanup; return 1; }

	local ns
	for ns in "$NS_GEN" "$NS_RCV"; do
		ip -n "$ns" link set lo up
		# no duplicate address detection delays on the veth ends
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 >/dev/null 2>&1
	done

	ip -n "$NS_GEN" link add "$IF_GEN" address "$MAC_GEN" \
		numtxqueues "$nq" numrxqueues "$nq" type veth \
		peer name "$IF_RCV" netns "$NS_RCV" address "$MAC_RCV" \
		numtxqueues "$nq" numrxqueues "$nq" || { netns_cleanup; return 1; }

	ip -n "$NS_GEN" addr add "$ADDR_GEN/24" dev "$IF_GEN" &&
	ip -n "$NS_RCV" addr add "$ADDR_RCV/24" dev "$IF_RCV" &&
	ip -n "$NS_GEN" -6 addr add "$ADDR6_GEN/64" dev "$IF_GEN" nodad &&
	ip -n "$NS_RCV" -6 addr add "$ADDR6_RCV/64" dev "$IF_RCV" nodad &&
	ip -n "$NS_GEN" link set "$IF_GEN" up &&
	ip -n "$NS_RCV" link set "$IF_RCV" up &&
	ip -n "$NS_GEN" neigh replace "$ADDR_RCV" lladdr "$MAC_RCV" dev "$IF_GEN" nud permanent &&
	ip -n "$NS_RCV" neigh replace "$ADDR_GEN" lladdr "$MAC_GEN" dev "$IF_RCV" nud permanent &&
	ip -n "$NS_GEN" -6 neigh replace "$ADDR6_RCV" lladdr "$MAC_RCV" dev "$IF_GEN" nud permanent &&
	ip -n "$NS_RCV" -6 neigh replace "$ADDR6_GEN" lladdr "$MAC_GEN" dev "$IF_RCV" nud permanent ||
		{ netns_cleanup; return 1; }

	# real UDP checksums on the wire
	if command -v ethtool >/dev/null 2>&1; then
		in_gen ethtool -K "$IF_GEN" tx off >/dev/null 2>&1 ||
			echo "netns.sh: warning: ethtool -K $IF_GEN tx off failed" >&2
	else
		echo "netns.sh: warning: ethtool missing, UDP checksums stay partial" >&2
	fi
	return 0
}
