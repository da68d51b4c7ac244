#!/bin/bash
# t_matrix.sh - the compatibility matrix: real, unmodified Debian 12 UDP
# programs, each run twice in the rcv namespace of the netns pair
# (scripts/netns.sh) - plain, then under the shim - with the same bounded
# client workload from the gen namespace.  Per program, one line per check:
#
#   answered     every request answered, in both runs (the plain run is the spec)
#   accelerated  under the shim: a decision line "accelerated" for its port,
#                rx_xdp > 0 in the process that holds the socket (xskshim-stat
#                on the live process), and the rcv namespace's UdpInDatagrams
#                grew by no more than in the plain run less the requests
#                (spilled datagrams accounted as in t_programs)
#   stderr       no crash (the same exit status after SIGTERM as plain) and no
#                output line beyond the plain run's except the shim's own
#   cleanup      after SIGTERM no process left in the namespace within 5 s and
#                no /dev/shm/xskshim.PID of any process the program started
#   fds          the serving process's /proc/PID/fd has the same shape as
#                plain (kinds of fds counted; the shim's own AF_XDP sockets,
#                bpf objects and its shm/memfd regions left out)
#
# Rows (a missing package gives one SKIP line saying so):
#   unbound, pdns_server (bind backend), pdns_recursor (auth-zones), kresd
#   (knot-resolver: libuv, user() after binding), ntpd
#   (ntpsec, unpacked by scripts/deps.sh; setpriv --bounding-set -sys_time,
#   disable ntp, 5 client source addresses), rsyslogd (imudp), syslog-ng
#   (unpacked), turnserver (coturn, STUN binding), freeradius (radclient),
#   snmpd (snmpget), snmptrapd (snmpinform, acknowledged), openvpn
#   (point-to-point tunnel, pings through it), in.tftpd (tftp-hpa), xinetd (tftp as a
#   wait=yes service: in.tftpd exec'd on the socket, which moves to the kernel
#   path at the exec, saying so), collectd (network plugin on its multicast
#   group: not accelerated, saying so), dnsmasq --bind-dynamic (its
#   127.0.0.1 socket: not accelerated, saying so), gdnsd (2 UDP threads), kamailio
#   (SIP OPTIONS from forked workers), memcached -U, node dgram,
#   python asyncio, java DatagramChannel, perl IO::Socket::INET; node and
#   python again on the IPv6 address.
#
# Environment: MATRIX_ONLY="unbound node ..." runs a subset; MATRIX_KEEP=1
# keeps the temp dir; MATRIX_SHIM_ENV="XSKSHIM_MODE=skb ..." adds settings to
# the shim runs.
cd "$(dirname "$0")/.." || exit 1
NETNS_TEST_NAME=t_matrix
. scripts/netns.sh
. scripts/knot.sh
netns_skip_unless_root

SHIM=$PWD/build/libxskshim.so
STAT=$PWD/build/xskshim-stat
MC=$PWD/tests/tools/matrixclient.py
APPS=$PWD/tests/apps
XDEB=${XSKSHIM_XDEB:-/opt/xskshim-deps}
if [ ! -f "$SHIM" ] || [ ! -x "$STAT" ]; then
	echo "SKIP: t_matrix: build/libxskshim.so or xskshim-stat missing (run make)"
	exit 0
fi
for c in python3 jq ss; do
	if ! command -v "$c" >/dev/null 2>&1; then
		echo "SKIP: t_matrix: $c not installed"
		exit 0
	fi
done
PORTS=53,69,123,161,1162,1194,1812,3478,5060,5301-5320,9300-9320,11211,25826
NETNS_KEEP_TMP=${MATRIX_KEEP:-0}
netns_test_init
chmod 755 "$TMP" # daemons that switch user read their configuration here
fails=0
netns_setup || { echo "FAIL: t_matrix: netns setup failed"; exit 1; }
# more client source addresses in gen (ntpd limits the rate per address)
SRCS=$ADDR_GEN
for i in 11 12 13 14; do
	ip -n "$NS_GEN" addr add "198.18.0.$i/24" dev "$IF_GEN"
	ip -n "$NS_RCV" neigh replace "198.18.0.$i" lladdr "$MAC_GEN" dev "$IF_RCV" nud permanent
	SRCS="$SRCS,198.18.0.$i"
done

pass() { echo "PASS: t_matrix: $*"; }
fail() { echo "FAIL: t_matrix: $*"; fails=$((fails + 1)); }
skip() { echo "SKIP: t_matrix: $*"; }
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }
wanted() { [ -z "${MATRIX_ONLY:-}" ] || [[ " $MATRIX_ONLY " == *" $1 "* ]]; }
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }

# holder_pid PORT: the pid holding the UDP socket bound to PORT in rcv
holder_pid()
{
	in_rcv ss -Hlnup "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2
}

# wait_bound PORT SECS
wait_bound()
{
	local i
	for i in $(seq $(($2 * 10))); do
		[ -n "$(holder_pid "$1")" ] && return 0
		sleep 0.1
	done
	return 1
}

# fd_shape PID: one line per kind of fd with its count.  Sockets are told
# apart by the process's socket tables (an AF_XDP socket is in none of them:
# "socket:other"); the shim's copy of stderr (fd >= 512) is left out.
fd_shape()
{
	local pid=$1 f t ino udp tcp unx nl lport
	# UDP sockets on the served port are told apart from the others
	lport=$(printf '%04X' "${R_PORT:-0}")
	udp=" $(awk -v p="$lport" 'NR > 1 { split($2, a, ":"); print $10 (a[2] == p ? ":served" : "") }' \
		"/proc/$pid/net/udp" "/proc/$pid/net/udp6" 2>/dev/null | tr '\n' ' ') "
	tcp=" $(awk 'NR > 1 { print $10 }' "/proc/$pid/net/tcp" "/proc/$pid/net/tcp6" 2>/dev/null | tr '\n' ' ') "
	unx=" $(awk 'NR > 1 { print $7 }' "/proc/$pid/net/unix" 2>/dev/null | tr '\n' ' ') "
	nl=" $(awk 'NR > 1 { print $NF }' "/proc/$pid/net/netlink" 2>/dev/null | tr '\n' ' ') "
	for f in /proc/"$pid"/fd/*; do
		[ "${f##*/}" -ge 512 ] && continue
		t=$(readlink "$f" 2>/dev/null) || continue
		case $t in
		socket:*)
			ino=${t//[^0-9]/}
			if [[ "$udp" == *" $ino:served "* ]]; then t=socket:udp:$R_PORT
			elif [[ "$udp" == *" $ino "* ]]; then t=socket:udp
			elif [[ "$tcp" == *" $ino "* ]]; then t=socket:tcp
			elif [[ "$unx" == *" $ino "* ]]; then t=socket:unix
			elif [[ "$nl" == *" $ino "* ]]; then t=socket:netlink
			else t=socket:other
			fi ;;
		anon_inode:bpf*) t=anon_inode:bpf ;;
		/memfd:xskshim* | /dev/shm/xskshim.*) t=xskshim-region ;;
		pipe:*) t=pipe ;;
		"$TMP"/*.out | "$TMP"/*.err) t=stdio-file ;;
		*) t=${t//\[[0-9]*\]/} ;;
		esac
		echo "$t"
	done | sed "s|$TMP|TMP|g" | sort | uniq -c | awk '{ print $2, $1 }'
}

# fd_compare PLAIN SHIM: the application's fds are all there and nothing
# else of a kind the shim never opens.  The shim's own kinds (AF_XDP sockets,
# bpf objects, the address watcher's netlink socket and eventfd, one inner
# epoll per accelerated socket, its memfd/shm regions) may only add.  Prints the extras; status 1
# when a kind has fewer fds than plain or a non-shim kind has more.
SHIM_FD_KINDS=" socket:other anon_inode:bpf anon_inode:btf socket:netlink anon_inode:[eventfd] anon_inode:[eventpoll] xskshim-region "
fd_compare()
{
	local k n m bad=0 extra= kinds
	kinds=$(cut -d' ' -f1 "$1" "$2" | sort -u)
	for k in $kinds; do
		if [[ " ${R_FD_TRANSIENT:-} " == *" $k "* ]]; then
			extra="$extra (${k} not compared: the program opens and closes such fds by itself)"
			continue
		fi
		n=$(awk -v k="$k" '$1 == k { print $2 }' "$1"); n=${n:-0}
		m=$(awk -v k="$k" '$1 == k { print $2 }' "$2"); m=${m:-0}
		if [ "$m" -lt "$n" ]; then
			echo "MISSING $k: $m, plain $n;"; bad=1
		elif [ "$m" -gt "$n" ]; then
			if [[ "$SHIM_FD_KINDS" == *" $k "* ]]; then
				extra="$extra $k+$((m - n))"
			else
				echo "EXTRA $k: $m, plain $n;"; bad=1
			fi
		fi
	done
	echo "${extra:- none}"
	return $bad
}

# norm FILE: output lines with digits and the temp dir neutralised
norm()
{
	sed -e "s|$TMP|TMP|g" -e 's/[0-9a-f]\{8,\}/H/g' -e 's/[0-9]\+/N/g' "$@" 2>/dev/null | sort -u
}

# run_variant NAME plain|shim: one run of row NAME (R_* set by its row
# function).  Sets V_SENT V_ANS V_PID V_RC V_UDP V_LEFT V_SHM and the
# statistics ST_*; files $TMP/NAME.VARIANT.{out,err,fds,client}.
run_variant()
{
	local name=$1 v=$2 env=() b tpid main p j allp=() i rest
	V_SENT=0 V_ANS=0 V_PID= V_RC=x V_UDP=0 V_LEFT= V_SHM= V_BOUND=0 V_FD2=
	ST_ACCEL=0 ST_RX_XDP=0 ST_RX_KERNEL=0 ST_SPILL=0 ST_REDIRECT=0
	if [ "$v" = shim ]; then
		env=(XSKSHIM_IFACE="$IF_RCV" XSKSHIM_PORTS="$PORTS" XSKSHIM_STATS=1 LD_PRELOAD="$SHIM" ${MATRIX_SHIM_ENV:-})
	fi
	b=$(udp_in_all)
	ip netns exec "$NS_RCV" timeout -k 3 60 "${R_PRE[@]}" env "${R_ENV[@]}" "${env[@]}" "${R_CMD[@]}" \
		>"$TMP/$name.$v.out" 2>"$TMP/$name.$v.err" </dev/null &
	tpid=$!
	PIDS+=("$tpid")
	if wait_bound "$R_PORT" "${R_BIND_SECS:-10}"; then
		V_BOUND=1
		V_PID=$(holder_pid "$R_PORT")
		"$R_CLIENT" "$name.$v" >"$TMP/$name.$v.client" 2>&1
		read -r V_SENT V_ANS < <(tail -1 "$TMP/$name.$v.client")
		sleep 0.2
		fd_shape "$V_PID" >"$TMP/$name.$v.fds"
		V_FD2=$(readlink "/proc/$V_PID/fd/2" 2>/dev/null)
		if [ "$v" = shim ] && [ -n "${R_STAT_ALL:-}" ]; then
			: # counted from the exit summaries below
		elif [ "$v" = shim ] && j=$("$STAT" -j "$V_PID" 2>"$TMP/$name.stat.err"); then
			read -r ST_REDIRECT ST_SPILL ST_RX_XDP ST_RX_KERNEL ST_ACCEL < <(jq -r '[
				(.xdp_counters.redirect // 0), (.xdp_counters.pass_spill // 0),
				([.sockets[].counters.rx_xdp] | add // 0),
				([.sockets[].counters.rx_kernel] | add // 0),
				([.sockets[] | select(.accelerated)] | length)] | @tsv' <<<"$j")
		fi
	fi
	# every process in the namespace now is the program's
	for p in $(ip netns pids "$NS_RCV"); do allp+=("$p"); done
	main=$(pgrep -P "$tpid" | head -1)
	[ -n "$main" ] && kill -TERM "$main" 2>/dev/null
	for i in $(seq 50); do
		rest=$(ip netns pids "$NS_RCV" | grep -vx "$tpid" | tr '\n' ' ')
		[ -z "$rest" ] && break
		sleep 0.1
	done
	if [ -n "$rest" ]; then
		for p in $rest; do
			V_LEFT="$V_LEFT $p($(cat "/proc/$p/comm" 2>/dev/null))"
		done
		# ours: started by this run
		for p in $rest; do kill -KILL "$p" 2>/dev/null; done
	fi
	wait "$tpid" 2>/dev/null
	V_RC=$?
	V_UDP=$(($(udp_in_all) - b))
	if [ "$v" = shim ] && [ -n "${R_STAT_ALL:-}" ]; then
		# served by forked workers (which keep no live statistics region,
		# shim/stats.c): every process's exit summary for the port, summed;
		# the XDP program's counters are one set (the largest seen)
		read -r ST_RX_XDP ST_RX_KERNEL ST_ACCEL < <(grep -h "summary: fd [0-9]* port $R_PORT accelerated" \
			"$TMP/$name.shim.err" "$TMP/$name.shim.out" | awk '{ for (i = 1; i < NF; i++) {
				if ($i == "rx_xdp") x += $(i + 1); if ($i == "rx_kernel") k += $(i + 1) } n++ }
				END { print x + 0, k + 0, n + 0 }')
		read -r ST_REDIRECT ST_SPILL < <(grep -h "summary: xdp: redirect" "$TMP/$name.shim.err" "$TMP/$name.shim.out" |
			awk '{ for (i = 1; i < NF; i++) { if ($i == "redirect" && $(i + 1) > r) r = $(i + 1)
				if ($i == "pass_spill" && $(i + 1) > sp) sp = $(i + 1) } } END { print r + 0, sp + 0 }')
	fi
	for p in "${allp[@]}"; do
		if [ -e "/dev/shm/xskshim.$p" ]; then
			V_SHM="$V_SHM /dev/shm/xskshim.$p"
			[ "$v" = shim ] && rm -f "/dev/shm/xskshim.$p"
		fi
	done
}

# run_row NAME LABEL: both runs and the five checks
run_row()
{
	local name=$1 label=$2 P_SENT P_ANS P_RC P_UDP P_BOUND slack bound noise d dec
	run_variant "$name" plain
	P_SENT=$V_SENT P_ANS=$V_ANS P_RC=$V_RC P_UDP=$V_UDP P_BOUND=$V_BOUND
	if [ "$P_BOUND" != 1 ] || [ "$P_ANS" != "$P_SENT" ] || [ "$P_SENT" = 0 ]; then
		fail "$label: plain run (the spec) did not work: bound=$P_BOUND answered $P_ANS/$P_SENT: $(tail -q -n 3 "$TMP/$name.plain.err" "$TMP/$name.plain.client" | tr '\n' ' ' | head -c 400)"
		return
	fi
	run_variant "$name" shim
	# 1. answered
	if [ "$V_BOUND" = 1 ] && [ "$V_SENT" = "$P_SENT" ] && [ "$V_ANS" = "$V_SENT" ]; then
		pass "$label: answered: $V_ANS/$V_SENT requests answered under the shim, as plain ($P_ANS/$P_SENT)"
	else
		fail "$label: answered: under the shim bound=$V_BOUND answered $V_ANS/$V_SENT, plain $P_ANS/$P_SENT: $(grep -v '^xskshim\[' "$TMP/$name.shim.err" | tail -3 | tr '\n' ' ' | head -c 300)"
	fi
	# 2. accelerated
	slack=$((V_SENT / 100 + 1))
	bound=$((P_UDP - P_SENT + ST_SPILL + slack))
	[ "$bound" -lt $((ST_SPILL + slack)) ] && bound=$((ST_SPILL + slack))
	dec=$(grep -E "sock: accelerated: fd [0-9]* udp port $R_PORT " "$TMP/$name.shim.err" "$TMP/$name.shim.out" | head -1 | cut -c1-160)
	also=
	[ -n "${R_ALSO_LINE:-}" ] && ! grep -qE "$R_ALSO_LINE" "$TMP/$name.shim.err" "$TMP/$name.shim.out" && also="no line '$R_ALSO_LINE'"
	if [ -n "${R_KERNEL_EXPECT:-}" ]; then
		# a socket the fast path can never serve: it must say so at bind
		d=$(grep -h "NOT accelerated: fd [0-9]* udp port $R_PORT stays on the kernel path: .*$R_KERNEL_EXPECT" \
			"$TMP/$name.shim.err" "$TMP/$name.shim.out" | head -1 | cut -c1-220)
		dec=$(grep -h "sock: accelerated: fd [0-9]* udp port $R_PORT " "$TMP/$name.shim.err" "$TMP/$name.shim.out" | head -1 | cut -c1-160)
		if [ -n "$d" ] && [ -z "$dec" ] && [ "$ST_RX_XDP" = 0 ]; then
			pass "$label: kernel path, said so: '${d#*: sock: }'"
		else
			fail "$label: kernel path, said so: want a line 'NOT accelerated ... $R_KERNEL_EXPECT' and no other, got '${d:-none}' (accelerated line: '${dec:-none}', rx_xdp $ST_RX_XDP)"
		fi
	elif [ -n "${R_EXEC_DEMOTE:-}" ]; then
		# the program hands the socket to an exec'd image (inetd wait=yes):
		# it must leave AF_XDP then, saying so, with nothing lost
		d=$(grep -h "udp port $R_PORT moved to the kernel path: exec of .* keeps fd [0-9]* open" "$TMP/$name.shim.err" | head -1 | cut -c1-220)
		if [[ "$dec" == *" accelerated: fd"* ]] && [ -n "$d" ] && [[ "$d" != *" lost "* ]]; then
			pass "$label: kernel path at exec, said so: decision '${dec#*: sock: }', then '${d#*: sock: }'"
		else
			fail "$label: kernel path at exec: decision '${dec:-none}', exec line '${d:-none}'"
		fi
	elif [ "$ST_RX_XDP" -gt 0 ] && [ "$V_UDP" -le "$bound" ] && [ $((ST_SPILL * 20)) -le "$V_SENT" ] &&
		[[ "$dec" == *" accelerated: fd"* ]] && [ -z "$also" ]; then
		pass "$label: accelerated: decision line for port $R_PORT${R_ALSO_LINE:+ (and a line matching '$R_ALSO_LINE')}, pid $V_PID (${R_STAT_ALL:+holds the socket; counters from the exit summaries of all its processes}${R_STAT_ALL:-serving}) rx_xdp $ST_RX_XDP rx_kernel $ST_RX_KERNEL, XDP redirect $ST_REDIRECT spilled $ST_SPILL, UdpInDatagrams +$V_UDP (plain +$P_UDP for $P_SENT requests)"
	else
		fail "$label: accelerated: ${also:+$also; }decision '${dec:-none}' (the program's fd 2: ${V_FD2:-?}), pid $V_PID rx_xdp $ST_RX_XDP rx_kernel $ST_RX_KERNEL accelerated sockets $ST_ACCEL redirect $ST_REDIRECT spilled $ST_SPILL, UdpInDatagrams +$V_UDP (at most $bound; plain +$P_UDP) $(head -c 200 "$TMP/$name.stat.err" 2>/dev/null)"
	fi
	# 3. exit status and output noise
	cat "$TMP/$name.plain.out" "$TMP/$name.plain.err" | norm >"$TMP/$name.plain.norm"
	# the shim's own lines are expected, except warnings passed on from
	# libbpf/libxdp (nothing the operator asked about)
	cat "$TMP/$name.shim.out" "$TMP/$name.shim.err" | grep -v '^xskshim\[[0-9]*\]: ' | norm >"$TMP/$name.shim.norm"
	grep -h '^xskshim\[[0-9]*\]: warn: lib\(bpf\|xdp\): ' "$TMP/$name.shim.out" "$TMP/$name.shim.err" | norm >>"$TMP/$name.shim.norm"
	noise=$(comm -13 "$TMP/$name.plain.norm" "$TMP/$name.shim.norm" | grep -v "${R_NOISE_OK:-^\$^}")
	if [ "$V_RC" = "$P_RC" ] && [ -z "$noise" ]; then
		pass "$label: stderr: exit status $V_RC after SIGTERM as plain, no output beyond plain's but the shim's own lines (no libbpf/libxdp warning among them)"
	else
		fail "$label: stderr: exit status $V_RC (plain $P_RC); new output: $(head -3 <<<"$noise" | tr '\n' '|' | head -c 300)"
	fi
	# 4. nothing left
	if [ -z "$V_LEFT" ] && [ -z "$V_SHM" ]; then
		pass "$label: cleanup: after SIGTERM no process and no /dev/shm/xskshim.PID left"
	else
		fail "$label: cleanup: left after SIGTERM: processes${V_LEFT:- none}, shm${V_SHM:- none}"
	fi
	# 5. fd shape
	if [ -s "$TMP/$name.plain.fds" ] && d=$(fd_compare "$TMP/$name.plain.fds" "$TMP/$name.shim.fds"); then
		pass "$label: fds: pid $V_PID has every fd of the plain run ($(wc -l <"$TMP/$name.plain.fds") kinds), nothing extra but the shim's own: $d"
	else
		fail "$label: fds: differ from plain: $(tr '\n' ' ' <<<"$d" | head -c 300)"
	fi
}

# ---- clients: each prints "SENT ANSWERED" last --------------------------------
mc_client() # mode port count [arg...]: matrixclient.py from gen
{
	local mode=$1 port=$2 n=$3 out
	shift 3
	out=$(in_gen timeout 60 python3 "$MC" "$mode" "${R_DST:-$ADDR_RCV}" "$port" "$n" "$@" --ready 8)
	echo "$out"
	sed -n 's/.* sent=\([0-9]*\) answered=\([0-9]*\).*/\1 \2/p' <<<"$out"
}

# ---- rows ------------------------------------------------------------------------
ROW_DIR=
row_dir() { ROW_DIR=$TMP/$1; rm -rf "$ROW_DIR"; mkdir -p "$ROW_DIR"; chmod 755 "$ROW_DIR"; }

client_dns() { mc_client dns "$R_PORT" 200 www.example.; }

row_unbound()
{
	row_dir unbound
	cat >"$ROW_DIR/unbound.conf" <<-EOF
		server:
		    interface: $ADDR_RCV
		    port: 5301
		    do-tcp: no
		    do-ip6: no
		    chroot: ""
		    username: "unbound"
		    directory: "$ROW_DIR"
		    pidfile: ""
		    use-syslog: no
		    logfile: ""
		    verbosity: 0
		    access-control: 198.18.0.0/15 allow
		    module-config: "iterator"
		    local-zone: "example." static
		    local-data: "www.example. A 198.18.1.80"
		remote-control:
		    control-enable: no
	EOF
	R_PORT=5301 R_CLIENT=client_dns R_PRE=() R_ENV=()
	R_CMD=(unbound -d -p -c "$ROW_DIR/unbound.conf")
}

row_pdns()
{
	row_dir pdns
	knot_zone "$ROW_DIR/example.zone"
	echo "zone \"example\" { type master; file \"$ROW_DIR/example.zone\"; };" >"$ROW_DIR/named.conf"
	: >"$ROW_DIR/pdns.conf"
	chmod 644 "$ROW_DIR"/*
	R_PORT=5302 R_CLIENT=client_dns R_PRE=() R_ENV=()
	R_CMD=(pdns_server --config-dir="$ROW_DIR" --socket-dir="$ROW_DIR" --daemon=no --guardian=no
		--disable-syslog --launch=bind --bind-config="$ROW_DIR/named.conf" --local-address="$ADDR_RCV"
		--local-port=5302 --setuid=pdns --setgid=pdns --webserver=no --api=no --loglevel=4
		--security-poll-suffix=)
}

row_pdns_recursor()
{
	row_dir pdns_recursor
	knot_zone "$ROW_DIR/example.zone"
	: >"$ROW_DIR/recursor.conf"
	chmod 644 "$ROW_DIR"/*
	R_PORT=5303 R_CLIENT=client_dns R_PRE=() R_ENV=()
	R_CMD=(pdns_recursor --config-dir="$ROW_DIR" --socket-dir="$ROW_DIR" --daemon=no --disable-syslog
		--local-address="$ADDR_RCV" --local-port=5303 --allow-from=198.18.0.0/15
		--auth-zones=example="$ROW_DIR/example.zone" --setuid=pdns --setgid=pdns --threads=1 --loglevel=4
		--security-poll-suffix= --hint-file=no)
	# With no root hints the recursor's housekeeping logs this warning when
	# its first root refresh falls inside the run (about 0.5 s after start):
	# seen in 1 of 6 plain runs and 5 of 6 shim runs of this row, a timer
	# against how long the run lasts (under the shim the install at bind adds
	# to it), not a change in what the recursor does
	R_NOISE_OK='msg="Failed to update \. records" subsystem="housekeeping"'
}

row_kresd()
{
	row_dir kresd
	cat >"$ROW_DIR/kresd.conf" <<-EOF
		net.listen('$ADDR_RCV', 5306, { kind = 'dns' })
		cache.size = 4 * MB
		modules = { 'hints > iterate' }
		hints.set('www.example 198.18.1.80')
		user('knot-resolver', 'knot-resolver')
	EOF
	chmod 644 "$ROW_DIR/kresd.conf"
	chown knot-resolver "$ROW_DIR" 2>/dev/null
	R_PORT=5306 R_CLIENT=client_dns R_PRE=() R_ENV=()
	# its iterator primes the root servers (unreachable here) from
	# ephemeral-port sockets that come and go
	R_FD_TRANSIENT="socket:udp"
	R_CMD=(kresd -n -q -c "$ROW_DIR/kresd.conf" "$ROW_DIR")
}

client_ntp() { mc_client ntp 123 100 --src "$SRCS"; }
row_ntpd()
{
	row_dir ntpd
	cat >"$ROW_DIR/ntp.conf" <<-EOF
		disable ntp
		disable kernel
		restrict default kod nomodify noquery nopeer
		driftfile $ROW_DIR/ntp.drift
	EOF
	R_PORT=123 R_CLIENT=client_ntp R_ENV=()
	R_PRE=(setpriv --bounding-set -sys_time)
	R_CMD=("$NTPD" -n -c "$ROW_DIR/ntp.conf" -I "$IF_RCV" -p "$ROW_DIR/ntpd.pid")
}

# syslog: COUNT lines sent, then count them in the program's output file
client_syslog()
{
	local n=200 got i out tag=${1%.*} b
	b=$(grep -c "mx-$tag: " "$ROW_DIR/mx-$tag.log" 2>/dev/null)
	out=$(in_gen timeout 30 python3 "$MC" syslog "$ADDR_RCV" "$R_PORT" $n "$tag")
	echo "$out"
	for i in $(seq 30); do
		got=$(($(grep -c "mx-$tag: " "$ROW_DIR/mx-$tag.log" 2>/dev/null) - ${b:-0}))
		[ "$got" -ge $n ] && break
		sleep 0.1
	done
	echo "$n $got"
}
row_rsyslogd()
{
	row_dir rsyslogd
	# one log file per run: the variant is the client's argument
	cat >"$ROW_DIR/rsyslog.conf" <<-EOF
		global(workDirectory="$ROW_DIR")
		module(load="imudp")
		input(type="imudp" address="$ADDR_RCV" port="5304")
		template(name="mx" type="string" string="$ROW_DIR/%programname%.log")
		*.* action(type="omfile" dynaFile="mx")
	EOF
	R_PORT=5304 R_CLIENT=client_syslog R_PRE=() R_ENV=()
	R_CMD=(rsyslogd -n -f "$ROW_DIR/rsyslog.conf" -i "$ROW_DIR/rsyslogd.pid")
}
row_syslog_ng()
{
	local lib=$XDEB/syslog-ng-core/usr/lib/syslog-ng
	row_dir syslog_ng
	cat >"$ROW_DIR/syslog-ng.conf" <<-EOF
		@version: 3.38
		options { chain_hostnames(off); use_dns(no); };
		source s_net { network(transport("udp") ip("$ADDR_RCV") port(5305)); };
		destination d_file { file("$ROW_DIR/\${PROGRAM}.log"); };
		log { source(s_net); destination(d_file); };
	EOF
	R_PORT=5305 R_CLIENT=client_syslog R_PRE=() R_ENV=(LD_LIBRARY_PATH="$lib")
	# ivykis worker threads come and go with the load, each with its own
	# epoll and timerfd (seen plain against plain)
	R_FD_TRANSIENT="anon_inode:[timerfd] anon_inode:[eventpoll]"
	R_CMD=("$XDEB/syslog-ng-core/usr/sbin/syslog-ng" -F -f "$ROW_DIR/syslog-ng.conf" --no-caps
		--module-path="$lib/3.38" -R "$ROW_DIR/persist" -p "$ROW_DIR/pid" -c "$ROW_DIR/ctl")
}

client_stun()
{
	local out
	# coturn's own client once (its output names the mapped address), then the count
	out=$(in_gen timeout 10 turnutils_stunclient -p 3478 "$ADDR_RCV" 2>&1)
	grep -q "UDP reflexive addr: $ADDR_GEN" <<<"$out" || echo "turnutils_stunclient: $out" | tail -3
	mc_client stun 3478 200
	grep -q "UDP reflexive addr: $ADDR_GEN" <<<"$out" || echo "200 0"
}
row_turnserver()
{
	row_dir turnserver
	R_PORT=3478 R_CLIENT=client_stun R_PRE=() R_ENV=()
	R_CMD=(turnserver -n --stun-only --listening-ip="$ADDR_RCV" --listening-port=3478 --no-tcp --no-tls
		--no-dtls --no-cli --log-file=stdout --simple-log --pidfile="$ROW_DIR/turnserver.pid"
		--proc-user=turnserver --proc-group=turnserver)
}

client_radius()
{
	local out n=100
	out=$(printf 'User-Name = "mxuser"\nUser-Password = "mxpass"\n' |
		in_gen timeout 60 radclient -c $n -r 3 -t 2 "$ADDR_RCV:1812" auth testing123 2>&1)
	echo "$out" >"$TMP/radclient.$1"
	grep -v '^Received Access-Accept\|^Sent Access-Request' <<<"$out" | tail -3
	echo "$n $(grep -c 'Received Access-Accept' <<<"$out")"
}
row_freeradius()
{
	row_dir freeradius
	cp -a /etc/freeradius/3.0/. "$ROW_DIR/"
	cat >>"$ROW_DIR/clients.conf" <<-EOF
		client mxgen {
		    ipaddr = 198.18.0.0/15
		    secret = testing123
		}
	EOF
	printf 'mxuser Cleartext-Password := "mxpass"\n' >"$ROW_DIR/mods-config/files/authorize"
	# only the default virtual server (1812/1813 on all addresses)
	rm -f "$ROW_DIR/sites-enabled/inner-tunnel"
	chown -R freerad:freerad "$ROW_DIR"
	R_PORT=1812 R_CLIENT=client_radius R_PRE=() R_ENV=()
	R_CMD=(freeradius -f -l stdout -d "$ROW_DIR")
}

client_snmp()
{
	local i ok=0 n=60 a
	for i in $(seq $n); do
		a=$(in_gen timeout 5 snmpget -v2c -c mxpublic -r 0 -t 1 -Ovq "$ADDR_RCV:161" .1.3.6.1.2.1.1.6.0 2>&1)
		[ "$a" = '"mxroom"' ] || [ "$a" = mxroom ] && ok=$((ok + 1))
	done
	echo "last answer: $a"
	echo "$n $ok"
}
row_snmpd()
{
	row_dir snmpd
	cat >"$ROW_DIR/snmpd.conf" <<-EOF
		agentAddress udp:$ADDR_RCV:161
		rocommunity mxpublic 198.18.0.0/15
		sysLocation mxroom
	EOF
	chmod 644 "$ROW_DIR/snmpd.conf"
	R_PORT=161 R_CLIENT=client_snmp R_PRE=() R_ENV=(MIBS=)
	R_CMD=(snmpd -f -Lo -C -c "$ROW_DIR/snmpd.conf" -u Debian-snmp -g Debian-snmp -p "$ROW_DIR/pid" -I -smux)
}

client_inform()
{
	local i ok=0 n=40
	for i in $(seq $n); do
		in_gen timeout 5 snmpinform -v2c -c mxpublic -r 0 -t 1 "$ADDR_RCV:1162" '' .1.3.6.1.6.3.1.1.5.1 \
			.1.3.6.1.2.1.1.6.0 s "mx-inform-$i" >/dev/null 2>&1 && ok=$((ok + 1))
	done
	echo "$n $ok"
}
row_snmptrapd()
{
	row_dir snmptrapd
	printf 'authCommunity log mxpublic\n' >"$ROW_DIR/snmptrapd.conf"
	chmod 644 "$ROW_DIR/snmptrapd.conf"
	R_PORT=1162 R_CLIENT=client_inform R_PRE=() R_ENV=(MIBS=)
	R_CMD=(snmptrapd -f -Lo -C -c "$ROW_DIR/snmptrapd.conf" -p "$ROW_DIR/pid" "udp:$ADDR_RCV:1162")
}

# openvpn: a point-to-point tunnel (static key) between the namespaces; the
# gen side's openvpn runs plain, the rcv side's is the program under test;
# 100 pings through the tunnel, every one answered
OVPN_OPTS=(--dev-type tun --proto udp --disable-dco --cipher AES-256-CBC --auth SHA256 --verb 1)
client_openvpn()
{
	local n=100 out p i
	ip netns exec "$NS_GEN" timeout -k 2 60 openvpn --dev mxtun "${OVPN_OPTS[@]}" --remote "$ADDR_RCV" 1194 --nobind \
		--secret "$ROW_DIR/static.key" --ifconfig 198.19.0.1 198.19.0.2 >"$TMP/openvpn.gen.$1" 2>&1 &
	p=$!
	PIDS+=("$p")
	for i in $(seq 40); do
		in_gen ping -c 1 -W 1 198.19.0.2 >/dev/null 2>&1 && break
		sleep 0.2
	done
	out=$(in_gen ping -c $n -i 0.01 -W 1 198.19.0.2 2>&1)
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	tail -2 <<<"$out"
	echo "$n $(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")"
}
row_openvpn()
{
	row_dir openvpn
	openvpn --genkey secret "$ROW_DIR/static.key" >/dev/null 2>&1
	# no IPv6 on the tun devices: their router solicitations and MLD
	# reports cross the tunnel whenever the kernel's timers fire, and one
	# sent after the client is gone comes back as an ICMP port unreachable
	# that openvpn (IP_RECVERR) reports as "read UDPv4 [ECONNREFUSED]" -
	# in whichever run it falls, so the stderr comparison would flake
	in_gen sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	in_rcv sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	R_PORT=1194 R_CLIENT=client_openvpn R_PRE=() R_ENV=()
	R_CMD=(openvpn --dev mxtun "${OVPN_OPTS[@]}" --local "$ADDR_RCV" --lport 1194
		--secret "$ROW_DIR/static.key" --ifconfig 198.19.0.2 198.19.0.1)
}

client_tftp()
{
	local i ok=0 n=20
	for i in $(seq $n); do
		rm -f "$TMP/tftp.got"
		in_gen timeout 10 tftp -m binary "$ADDR_RCV" 69 -c get mx.bin "$TMP/tftp.got" 2>&1 | tail -1
		cmp -s "$TMP/tftp.got" "$ROW_DIR/srv/mx.bin" && ok=$((ok + 1))
	done
	echo "$n $ok"
}
row_tftpd()
{
	row_dir tftpd
	mkdir -p "$ROW_DIR/srv"
	head -c 20000 /dev/urandom >"$ROW_DIR/srv/mx.bin"
	chmod 755 "$ROW_DIR/srv"
	chmod 644 "$ROW_DIR/srv/mx.bin"
	R_PORT=69 R_CLIENT=client_tftp R_PRE=() R_ENV=()
	R_CMD=(in.tftpd -L -s -u tftp -a "$ADDR_RCV:69" "$ROW_DIR/srv")
}

# xinetd: tftp as a wait=yes datagram service - xinetd peeks at the request,
# forks, and in.tftpd exec'd on the socket (fds 0-2) reads it: a new image
# that cannot read AF_XDP, so the socket moves to the kernel path at the
# exec, the peeked request handed to its kernel socket (it was lost before)
row_xinetd()
{
	row_dir xinetd
	mkdir -p "$ROW_DIR/srv"
	head -c 20000 /dev/urandom >"$ROW_DIR/srv/mx.bin"
	chmod 755 "$ROW_DIR/srv"
	chmod 644 "$ROW_DIR/srv/mx.bin"
	cat >"$ROW_DIR/xinetd.conf" <<-EOF
		defaults
		{
		    instances = 50
		    cps = 1000 1
		    log_type = FILE $ROW_DIR/xinetd.log
		}
		service tftp
		{
		    type = UNLISTED
		    socket_type = dgram
		    protocol = udp
		    port = 69
		    bind = $ADDR_RCV
		    wait = yes
		    user = root
		    server = $(command -v in.tftpd)
		    server_args = -t 1 -s $ROW_DIR/srv
		}
	EOF
	R_PORT=69 R_CLIENT=client_tftp R_PRE=() R_ENV=() R_EXEC_DEMOTE=1
	R_CMD=(xinetd -dontfork -f "$ROW_DIR/xinetd.conf" -pidfile "$ROW_DIR/xinetd.pid")
}

# collectd: the network plugin listening on its default multicast group
# (Listen "239.192.74.66"): the socket is bound to the group address, so the
# fast path (unicast only) can never serve it - it must say so at bind,
# not claim "accelerated" and then take nothing through AF_XDP
client_collectd()
{
	local n=200 got i out tag=${1//./-} f
	out=$(R_DST=239.192.74.66 mc_client collectd 25826 $n "$tag")
	echo "$out"
	for i in $(seq 30); do
		# one file per series, a header line and the value row
		got=$(cat "$ROW_DIR/csv/mx-$tag/mx/"gauge-v* 2>/dev/null | grep -vc '^epoch')
		[ "$got" -ge $n ] && break
		sleep 0.1
	done
	echo "$n $got"
}
row_collectd()
{
	row_dir collectd
	cat >"$ROW_DIR/collectd.conf" <<-EOF
		Hostname "mxrcv"
		FQDNLookup false
		Interval 10
		BaseDir "$ROW_DIR"
		PIDFile "$ROW_DIR/collectd.pid"
		TypesDB "/usr/share/collectd/types.db"
		LoadPlugin logfile
		<Plugin logfile>
		  LogLevel info
		  File STDOUT
		</Plugin>
		LoadPlugin network
		LoadPlugin csv
		<Plugin network>
		  Listen "239.192.74.66" "25826"
		</Plugin>
		<Plugin csv>
		  DataDir "$ROW_DIR/csv"
		  StoreRates false
		</Plugin>
	EOF
	# multicast routes out of both ends of the pair
	in_gen ip route replace 224.0.0.0/4 dev "$IF_GEN"
	in_rcv ip route replace 224.0.0.0/4 dev "$IF_RCV"
	R_PORT=25826 R_CLIENT=client_collectd R_PRE=() R_ENV=() R_KERNEL_EXPECT="multicast group address 239.192.74.66"
	R_CMD=(collectd -f -C "$ROW_DIR/collectd.conf")
}

# gdnsd: two UDP threads, each its own SO_REUSEPORT socket on the port
row_gdnsd()
{
	row_dir gdnsd
	mkdir -p "$ROW_DIR/zones" "$ROW_DIR/run" "$ROW_DIR/state"
	knot_zone "$ROW_DIR/zones/example"
	cat >"$ROW_DIR/config" <<-EOF
		options => {
		  listen => [ $ADDR_RCV:5307 ]
		  udp_threads => 2
		  tcp_threads => 1
		  run_dir => $ROW_DIR/run
		  state_dir => $ROW_DIR/state
		}
	EOF
	R_PORT=5307 R_CLIENT=client_dns R_PRE=() R_ENV=()
	R_CMD=(gdnsd -c "$ROW_DIR" start)
}

# kamailio: SIP OPTIONS answered by the stateless reply module; the main
# process binds, "children=2" forked UDP workers read the inherited socket
client_sip() { mc_client sip 5060 200; }
row_kamailio()
{
	row_dir kamailio
	cat >"$ROW_DIR/kamailio.cfg" <<-EOF
		#!KAMAILIO
		debug=1
		log_stderror=yes
		fork=yes
		children=2
		listen=udp:$ADDR_RCV:5060
		disable_tcp=yes
		auto_aliases=no
		loadmodule "sl.so"
		request_route {
		  if (method=="OPTIONS") { sl_send_reply("200", "OK"); exit; }
		  sl_send_reply("404", "Not here");
		}
	EOF
	R_PORT=5060 R_CLIENT=client_sip R_PRE=() R_ENV=() R_STAT_ALL=1
	R_CMD=(kamailio -DD -E -f "$ROW_DIR/kamailio.cfg" -P "$ROW_DIR/kamailio.pid" -Y "$ROW_DIR")
}

# dnsmasq --bind-dynamic: one socket per local address, made as addresses
# come and go (netlink); it listens on the loopback addresses too, which
# nothing arriving on the interface can reach: those must say so rather
# than claim acceleration
row_dnsmasq()
{
	row_dir dnsmasq
	cat >"$ROW_DIR/dnsmasq.conf" <<-EOF
		no-resolv
		no-hosts
		bind-dynamic
		interface=$IF_RCV
		port=5309
		user=root
		address=/www.example/198.18.1.80
		log-facility=-
	EOF
	R_PORT=5309 R_CLIENT=client_dns R_PRE=() R_ENV=()
	# how many addresses it has bound when the fds are looked at depends
	# on when the IPv6 link-local one became usable (seen plain vs plain)
	R_FD_TRANSIENT="socket:tcp socket:udp:5309"
	R_ALSO_LINE="NOT accelerated: fd [0-9]+ udp port 5309 stays on the kernel path: bound to loopback address 127\.0\.0\.1"
	R_CMD=(dnsmasq -k -C "$ROW_DIR/dnsmasq.conf" -x "$ROW_DIR/dnsmasq.pid")
}

client_memcache() { mc_client memcache 11211 200; }
row_memcached()
{
	row_dir memcached
	R_PORT=11211 R_CLIENT=client_memcache R_PRE=() R_ENV=()
	R_CMD=(memcached -U 11211 -p 0 -l "$ADDR_RCV" -u memcache -t 2 -m 16)
}

client_echo() { mc_client echo "$R_PORT" 300 200; }
row_node() { R_PORT=9301 R_CLIENT=client_echo R_PRE=() R_ENV=(); R_CMD=(node "$APPS/echo_dgram.js" "$ADDR_RCV" 9301); }
row_python() { R_PORT=9302 R_CLIENT=client_echo R_PRE=() R_ENV=(); R_CMD=(python3 "$APPS/echo_asyncio.py" "$ADDR_RCV" 9302); }
row_java()
{
	row_dir java
	javac -d "$ROW_DIR" "$APPS/EchoChannel.java" || { fail "java: javac failed"; return 1; }
	R_PORT=9303 R_CLIENT=client_echo R_PRE=() R_ENV=() R_BIND_SECS=20
	R_CMD=(java -Xshare:auto -XX:TieredStopAtLevel=1 -cp "$ROW_DIR" EchoChannel "$ADDR_RCV" 9303)
}
row_node6() { R_PORT=9305 R_CLIENT=client_echo R_PRE=() R_ENV=() R_DST=$ADDR6_RCV; R_CMD=(node "$APPS/echo_dgram.js" "$ADDR6_RCV" 9305); }
row_python6() { R_PORT=9306 R_CLIENT=client_echo R_PRE=() R_ENV=() R_DST=$ADDR6_RCV; R_CMD=(python3 "$APPS/echo_asyncio.py" "$ADDR6_RCV" 9306); }
row_perl() { R_PORT=9304 R_CLIENT=client_echo R_PRE=() R_ENV=(); R_CMD=(perl "$APPS/echo_perl.pl" "$ADDR_RCV" 9304); }

# ---- minimal reproducers of what the rows found --------------------------------------
# chrootfork (tests/apps/chrootfork.c): in.tftpd -s's children chroot, then
# exit; the shim read the per-CPU XDP counters there for the summary and
# libbpf printed "Failed to open cpu mask file /sys/devices/system/cpu/possible".
t_chrootfork()
{
	local d=$TMP/chrootfork out
	mkdir -p "$d/root"
	if ! cc -O2 -Wall -o "$d/chrootfork" tests/apps/chrootfork.c 2>"$d/cc.log"; then
		fail "chrootfork: building tests/apps/chrootfork.c: $(head -3 "$d/cc.log")"
		return
	fi
	ip netns exec "$NS_RCV" timeout -k 2 20 env XSKSHIM_IFACE="$IF_RCV" XSKSHIM_PORTS="$PORTS" XSKSHIM_STATS=1 \
		LD_PRELOAD="$SHIM" "$d/chrootfork" 9310 "$d/root" >"$d/out" 2>"$d/err" &
	PIDS+=($!)
	local p=$!
	wait_bound 9310 5
	# the answer comes from another port (as tftpd's): fire and forget
	out=$(in_gen timeout 5 python3 "$MC" syslog "$ADDR_RCV" 9310 1 chrootfork)
	wait "$p"
	local rc=$?
	if [ "$rc" = 0 ] && grep -q 'chrootfork: child done' "$d/out" &&
		grep -q 'accelerated: fd [0-9]* udp port 9310' "$d/err" && ! grep -v '^xskshim\[[0-9]*\]: \(stats\|warn: sock\)' "$d/err" | grep -q .; then
		pass "chrootfork (in.tftpd -s shape): a child that chroots and exits prints only the shim's decision and summary lines"
	else
		fail "chrootfork (in.tftpd -s shape): exit $rc, client '$out', other stderr: $(grep -v '^xskshim\[[0-9]*\]: \(stats\|warn: sock\)' "$d/err" | head -3 | tr '\n' '|')"
	fi
}

# resethand (tests/apps/resethand.c): node's SIGTERM handler is one-shot
# (SA_RESETHAND) and re-raises; the process died with no summary and left
# /dev/shm/xskshim.PID.
t_resethand()
{
	local d=$TMP/resethand p rc out
	mkdir -p "$d"
	if ! cc -O2 -Wall -o "$d/resethand" tests/apps/resethand.c 2>"$d/cc.log"; then
		fail "resethand: building tests/apps/resethand.c: $(head -3 "$d/cc.log")"
		return
	fi
	ip netns exec "$NS_RCV" timeout -k 2 20 env XSKSHIM_IFACE="$IF_RCV" XSKSHIM_PORTS="$PORTS" XSKSHIM_STATS=1 \
		LD_PRELOAD="$SHIM" "$d/resethand" 9311 >"$d/out" 2>"$d/err" &
	PIDS+=($!)
	wait_bound 9311 5
	p=$(holder_pid 9311)
	out=$(in_gen timeout 10 python3 "$MC" syslog "$ADDR_RCV" 9311 20 resethand)
	sleep 0.3
	kill -TERM "$p" 2>/dev/null
	wait "${PIDS[-1]}"
	rc=$?
	if [ "$rc" = 143 ] && grep -q 'resethand: query ok' "$d/out" && grep -q 'resethand: handler' "$d/out" &&
		grep -q "port 9311 accelerated: rx_xdp 20 " "$d/err" && [ ! -e "/dev/shm/xskshim.$p" ]; then
		pass "resethand (node's one-shot SIGTERM handler): handler ran, the program reads its own action back, died by SIGTERM, summary (rx_xdp 20), /dev/shm/xskshim.$p removed"
	else
		fail "resethand (node's one-shot SIGTERM handler): status $rc (want 143), out '$(tr '\n' '|' <"$d/out")', summary '$(grep -o 'port 9311 .*' "$d/err" | head -1)', shm $(ls "/dev/shm/xskshim.$p" 2>/dev/null || echo gone), client '$out'"
		rm -f "/dev/shm/xskshim.$p"
	fi
}

# inetdexec (tests/apps/inetdexec.c): an inetd wait=yes datagram service -
# poll, peek, fork, the child execs a service on the socket as fds 0-2.  The
# exec'd image read nothing: the datagrams were on the daemon's AF_XDP rings.
t_inetdexec()
{
	local d=$TMP/inetdexec p rc out
	mkdir -p "$d"
	if ! cc -O2 -Wall -o "$d/inetdexec" tests/apps/inetdexec.c 2>"$d/cc.log"; then
		fail "inetdexec: building tests/apps/inetdexec.c: $(head -3 "$d/cc.log")"
		return
	fi
	ip netns exec "$NS_RCV" timeout -k 2 20 env XSKSHIM_IFACE="$IF_RCV" XSKSHIM_PORTS="$PORTS" \
		LD_PRELOAD="$SHIM" "$d/inetdexec" 9312 11 >"$d/out" 2>"$d/err" &
	PIDS+=($!)
	p=$!
	wait_bound 9312 5
	out=$(in_gen timeout 30 python3 "$MC" echo "$ADDR_RCV" 9312 10 64 --ready 2 | tail -1)
	wait "$p"
	rc=$?
	if [ "$rc" = 0 ] && [[ "$out" == *"sent=10 answered=10 "* ]] && grep -q 'inetdexec: 11 served' "$d/out" &&
		grep -q 'accelerated: fd [0-9]* udp port 9312' "$d/err" &&
		grep -q 'udp port 9312 moved to the kernel path: exec of .* keeps fd 0 open.*1 queued datagram(s) handed to its kernel socket$' "$d/err"; then
		pass "inetdexec (inetd wait=yes shape): 10 of 10 answered by services exec'd on the socket; it left AF_XDP at the first exec, the request the daemon peeked at handed to the kernel socket, one line saying so"
	else
		fail "inetdexec (inetd wait=yes shape): exit $rc, client '$out', out '$(tr '\n' '|' <"$d/out")', shim: $(grep -v 'summary' "$d/err" | head -3 | cut -c1-200 | tr '\n' '|')"
	fi
}

# bindtodev (tests/apps/bindtodev.c): sockets on one port bound to devices
# (SO_BINDTODEVICE, before and after bind()); one bound to another device
# than ours took the interface's datagrams the kernel never gives it.
t_bindtodev()
{
	local d=$TMP/bindtodev p rc out
	mkdir -p "$d"
	if ! cc -O2 -Wall -o "$d/bindtodev" tests/apps/bindtodev.c 2>"$d/cc.log"; then
		fail "bindtodev: building tests/apps/bindtodev.c: $(head -3 "$d/cc.log")"
		return
	fi
	ip netns exec "$NS_RCV" timeout -k 2 20 env XSKSHIM_IFACE="$IF_RCV" XSKSHIM_PORTS="$PORTS" XSKSHIM_STATS=1 \
		LD_PRELOAD="$SHIM" "$d/bindtodev" 9313 "$IF_RCV" 3 >"$d/out" 2>"$d/err" &
	PIDS+=($!)
	p=$!
	wait_bound 9313 5
	sleep 0.3
	out=$(in_gen timeout 10 python3 "$MC" syslog "$ADDR_RCV" 9313 50 bindtodev | tail -1)
	wait "$p"
	rc=$?
	if [ "$rc" = 0 ] && grep -q 'bindtodev: lo 0 late 0 iface 50$' "$d/out" &&
		grep -q 'NOT accelerated: fd [0-9]* udp port 9313 .*SO_BINDTODEVICE lo' "$d/err" &&
		grep -q 'udp port 9313 moved to the kernel path: .*SO_BINDTODEVICE lo' "$d/err" &&
		grep -q 'port 9313 accelerated[^:]*: rx_xdp 50 ' "$d/err"; then
		pass "bindtodev (SO_BINDTODEVICE per interface): the socket bound to $IF_RCV got all 50 through AF_XDP, the two bound to lo (before and after bind) none, each with its line"
	else
		fail "bindtodev (SO_BINDTODEVICE per interface): exit $rc, client '$out', out '$(tr '\n' '|' <"$d/out")', shim: $(grep -v 'summary: \(xdp\|queue\)' "$d/err" | cut -c1-160 | tr '\n' '|' | head -c 700)"
	fi
}

# ---- run ---------------------------------------------------------------------------
wanted chrootfork && t_chrootfork
wanted resethand && t_resethand
wanted inetdexec && t_inetdexec
wanted bindtodev && t_bindtodev
NTPD=$(command -v ntpd || echo "$XDEB/ntpsec/usr/sbin/ntpd")
# name  label-with-version  what-must-exist  package
ROWS=(
	"unbound|unbound $(pkgver unbound)|unbound|unbound"
	"pdns|pdns_server $(pkgver pdns-server) (bind backend)|pdns_server|pdns-server pdns-backend-bind"
	"pdns_recursor|pdns_recursor $(pkgver pdns-recursor)|pdns_recursor|pdns-recursor"
	"kresd|kresd $(pkgver knot-resolver) (knot-resolver, libuv, hints)|kresd|knot-resolver"
	"ntpd|ntpd (ntpsec 1.2.2)|$NTPD|ntpsec (unpacked by scripts/deps.sh)"
	"rsyslogd|rsyslogd $(pkgver rsyslog) imudp|rsyslogd|rsyslog"
	"syslog_ng|syslog-ng 3.38.1|$XDEB/syslog-ng-core/usr/sbin/syslog-ng|syslog-ng-core (unpacked by scripts/deps.sh)"
	"turnserver|turnserver $(pkgver coturn) (STUN)|turnserver|coturn"
	"freeradius|freeradius $(pkgver freeradius)|freeradius|freeradius freeradius-utils"
	"snmpd|snmpd $(pkgver snmpd)|snmpd|snmpd snmp"
	"snmptrapd|snmptrapd $(pkgver snmptrapd) (INFORMs)|snmptrapd|snmptrapd"
	"openvpn|openvpn $(pkgver openvpn) (point-to-point, static key)|openvpn|openvpn"
	"tftpd|in.tftpd $(pkgver tftpd-hpa)|in.tftpd|tftpd-hpa tftp-hpa"
	"xinetd|xinetd $(pkgver xinetd) tftp wait=yes (in.tftpd exec'd on the socket)|xinetd|xinetd tftpd-hpa tftp-hpa"
	"dnsmasq|dnsmasq $(pkgver dnsmasq-base) --bind-dynamic|dnsmasq|dnsmasq-base"
	"gdnsd|gdnsd $(pkgver gdnsd) (2 UDP threads, SO_REUSEPORT)|gdnsd|gdnsd"
	"kamailio|kamailio $(pkgver kamailio) (SIP OPTIONS, 2 forked UDP workers)|kamailio|kamailio"
	"collectd|collectd $(pkgver collectd-core) network plugin on its multicast group|collectd|collectd-core"
	"memcached|memcached $(pkgver memcached) -U|memcached|memcached"
	"node|node $(node --version 2>/dev/null) dgram|node|nodejs"
	"python|python3 $(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) asyncio|python3|python3"
	"java|java $(java -version 2>&1 | head -1 | grep -o '"[^"]*"' | tr -d '"') DatagramChannel|javac|openjdk-17-jdk-headless"
	"node6|node $(node --version 2>/dev/null) dgram udp6 [$ADDR6_RCV]|node|nodejs"
	"python6|python3 asyncio IPv6 [$ADDR6_RCV]|python3|python3"
	"perl|perl $(perl -e 'printf "%vd", $^V' 2>/dev/null) IO::Socket::INET|perl|perl"
)
for r in "${ROWS[@]}"; do
	IFS='|' read -r name label need pkg <<<"$r"
	wanted "$name" || continue
	if ! have "$need"; then
		skip "$label: $need not installed (package $pkg; scripts/deps.sh installs it)"
		continue
	fi
	R_BIND_SECS=10 R_NOISE_OK= R_FD_TRANSIENT= R_DST= R_EXEC_DEMOTE= R_KERNEL_EXPECT= R_STAT_ALL= R_ALSO_LINE=
	"row_$name" || continue
	run_row "$name" "$label"
done

echo "t_matrix: $fails failure(s)"
[ "$fails" = 0 ]
