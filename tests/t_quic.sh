#!/bin/bash
# t_quic.sh - a real quinn (QUIC) echo server under the shim (issue 13).
# tests/quic/ (Rust, Debian's quinn 0.9 / quinn-udp 0.3 / rustls 0.20 /
# tokio) is built offline here with Debian's cargo against
# /usr/share/cargo/registry into build/quic/ (kept: later runs reuse it),
# with a self-signed certificate made by `openssl`.  The server runs in the
# rcv namespace under LD_PRELOAD, the client (plain) in the gen namespace.
# Per setup - bound to 198.18.0.2 (IPv4), and dual-stack [::] reached over
# IPv6 and over IPv4 - it checks:
#   - 500 round trips (one bidirectional stream of 1000 bytes each), every
#     echo identical;
#   - the server was accelerated: its exit summary shows rx_xdp of at least
#     one datagram per round trip, rx_kernel plus the growth of the rcv
#     namespace's UdpInDatagrams (+Udp6InDatagrams) at most 2% of that, and
#     no socket went to the
#     kernel path (quinn-udp's UDP_GRO, IP_RECVERR, IP_MTU_DISCOVER, ... are
#     all set: the log shows them);
#   - a plain (not preloaded) run of the same does the same 500 round trips,
#     so a failure is the shim's.
# Skips, saying why, when cargo, the quinn crates or openssl are missing.
cd "$(dirname "$0")/.." || exit 1
NETNS_TEST_NAME=t_quic
. scripts/netns.sh
netns_skip_unless_root

SHIM=$PWD/build/libxskshim.so
QB=$PWD/build/quic
BIN=$QB/target/release/quicecho
REG=/usr/share/cargo/registry
N=${QUIC_ROUND_TRIPS:-500}
PORT=9270
if [ ! -f "$SHIM" ]; then
	echo "SKIP: t_quic: build/libxskshim.so missing (run make)"
	exit 0
fi
for c in /usr/bin/cargo /usr/bin/rustc openssl; do
	if ! command -v "$c" >/dev/null; then
		echo "SKIP: t_quic: $c not installed (scripts/deps.sh installs cargo and openssl)"
		exit 0
	fi
done
for crate in quinn-0.9 tokio-1 rustls-0.20; do
	if ! ls -d "$REG/$crate".* >/dev/null 2>&1; then
		echo "SKIP: t_quic: crate $crate missing from $REG (librust-quinn-dev, librust-tokio-dev, librust-rustls-dev)"
		exit 0
	fi
done

netns_test_init
fails=0
pass() { echo "PASS: t_quic: $*"; }
fail() { echo "FAIL: t_quic: $*"; fails=$((fails + 1)); }

# ---- build (offline, cached) ------------------------------------------------
# Rebuilt when a source file is newer than the binary.  Debian's cargo and
# rustc by path: a rustup toolchain earlier in PATH is not what CI has.
if [ ! -x "$BIN" ] || [ -n "$(find tests/quic -newer "$BIN" -type f)" ]; then
	mkdir -p "$QB/home" "$QB/src"
	printf '[source.crates-io]\nreplace-with = "debian"\n[source.debian]\ndirectory = "%s"\n[net]\noffline = true\n' \
		"$REG" >"$QB/home/config.toml"
	rm -rf "$QB/src"
	cp -r tests/quic "$QB/src"
	t0=$(date +%s)
	if ! (cd "$QB/src" && CARGO_HOME="$QB/home" RUSTC=/usr/bin/rustc timeout 600 /usr/bin/cargo build --release \
		--target-dir "$QB/target" >"$QB/build.log" 2>&1); then
		fail "offline cargo build of tests/quic failed:"
		tail -15 "$QB/build.log" | sed 's/^/    /'
		exit 1
	fi
	echo "t_quic: built tests/quic offline in $(($(date +%s) - t0)) s ($(/usr/bin/rustc --version))"
fi

# ---- certificate -------------------------------------------------------------
cat >"$TMP/cert.cnf" <<'EOF'
[req]
distinguished_name = dn
x509_extensions = ee
prompt = no
[dn]
CN = localhost
[ee]
basicConstraints = critical, CA:FALSE
subjectAltName = DNS:localhost
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
EOF
if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -config "$TMP/cert.cnf" \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1 ||
	! openssl x509 -in "$TMP/cert.pem" -outform DER -out "$TMP/cert.der" ||
	! openssl pkcs8 -topk8 -nocrypt -in "$TMP/key.pem" -outform DER -out "$TMP/key.der"; then
	fail "openssl could not make the test certificate"
	exit 1
fi

netns_setup || { echo "FAIL: t_quic: netns setup failed"; exit 1; }


# run LABEL PRELOAD(0|1) MODE BIND CONNECT: sets RT_OK, RX_XDP, UDP_DELTA
run()
{
	local label=$1 pre=$2 mode=$3 bind=$4 conn=$5 spid b i
	local -a env=()
	[ "$pre" = 1 ] && env=(env XSKSHIM_IFACE="$IF_RCV" XSKSHIM_PORTS=$PORT XSKSHIM_MODE="$mode"
		XSKSHIM_STATS=1 XSKSHIM_LOG=info LD_PRELOAD="$SHIM")
	b=$(udp_in_all)
	ip netns exec "$NS_RCV" timeout -k 2 90 "${env[@]}" "$BIN" server "$bind" "$TMP/cert.der" "$TMP/key.der" 1 \
		>"$TMP/srv.out" 2>"$TMP/srv.err" &
	spid=$!
	PIDS+=("$spid")
	for i in $(seq 50); do
		grep -q listening "$TMP/srv.out" 2>/dev/null && break
		sleep 0.1
	done
	in_gen timeout 80 "$BIN" client "$conn" "$TMP/cert.der" "$N" 1000 >"$TMP/cli.out" 2>"$TMP/cli.err"
	wait "$spid"
	UDP_DELTA=$(($(udp_in_all) - b))
	RX_XDP=$(grep -o 'rx_xdp [0-9]*' "$TMP/srv.err" | awk '{ s += $2 } END { print s + 0 }')
	RX_KERNEL=$(grep -o 'rx_kernel [0-9]*' "$TMP/srv.err" | awk '{ s += $2 } END { print s + 0 }')
	RT_OK=0
	grep -q "^quicecho: round_trips=$N ok=$N\$" "$TMP/cli.out" && RT_OK=1
	RT_MSG="client: $(cat "$TMP/cli.out" "$TMP/cli.err" | tr '\n' ' ' | cut -c1-300)"
}

for setup in "ipv4 198.18.0.2:$PORT $ADDR_RCV:$PORT" "dual-stack-v6 [::]:$PORT [$ADDR6_RCV]:$PORT" \
	"dual-stack-v4 [::]:$PORT $ADDR_RCV:$PORT"; do
	read -r name bind conn <<<"$setup"
	run "$name" 0 - "$bind" "$conn"
	if [ "$RT_OK" = 1 ]; then
		pass "plain $name: $N QUIC round trips of 1000 bytes echoed intact (server bound $bind, UdpInDatagrams +$UDP_DELTA)"
	else
		fail "plain $name: $RT_MSG"
		continue
	fi
	plain_udp=$UDP_DELTA
	for mode in skb native; do
		run "$name" 1 "$mode" "$bind" "$conn"
		label="$mode $name (server bound $bind, client to $conn)"
		if [ "$RT_OK" = 1 ]; then
			pass "$label: $N QUIC round trips echoed intact under the shim"
		else
			fail "$label: $RT_MSG; server: $(grep -v '^xskshim.*stats' "$TMP/srv.err" | tail -3 | tr '\n' ' ')"
		fi
		moved=$(grep -E 'NOT accelerated|moved to the kernel path' "$TMP/srv.err" | head -2)
		if [ -z "$moved" ] && grep -q 'accelerated: fd' "$TMP/srv.err"; then
			pass "$label: quinn's socket accelerated and stayed so (quinn-udp's options set)"
		else
			fail "$label: the server socket was not (or no longer) accelerated: ${moved:-no 'accelerated' line}"
		fi
		# every round trip brings at least one datagram from the client
		# (QUIC's own acknowledgements vary the rest from run to run)
		if [ "$RX_XDP" -ge "$N" ] && [ $(((UDP_DELTA + RX_KERNEL) * 50)) -le "$RX_XDP" ]; then
			pass "$label: bypass: rx_xdp $RX_XDP (plain run: $plain_udp datagrams), rx_kernel $RX_KERNEL, UdpInDatagrams +$UDP_DELTA"
		else
			fail "$label: bypass: rx_xdp $RX_XDP vs $plain_udp datagrams in the plain run, rx_kernel $RX_KERNEL, UdpInDatagrams +$UDP_DELTA (expected rx_xdp >= $N and kernel-path datagrams <= 2% of it)"
		fi
	done
done
echo "t_quic: $fails failure(s)"
[ "$fails" = 0 ]
