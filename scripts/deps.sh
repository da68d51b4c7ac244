#!/bin/bash
# scripts/deps.sh - install, from Debian's archive, every package the build,
# the demo, the tests and the benchmark need.  Only missing packages are
# installed; with everything present it is a quick no-op.  Needs root (or
# sudo) when something is missing.
set -u
PKGS=(
	make gcc clang llvm pkg-config bpftool libbpf-dev libxdp-dev uthash-dev libmnl-dev
	libelf-dev zlib1g-dev libclang-rt-14-dev
	iproute2 ethtool util-linux libcap2-bin procps
	socat iperf sockperf knot knot-dnsutils dnsdist bind9 unbound golang-go nginx libnginx-mod-stream nsd
	python3 python3-matplotlib man-db groff-base valgrind
	prometheus debhelper lintian fakeroot dpkg-dev
	cargo librust-quinn-dev librust-tokio-dev librust-rustls-dev librust-tokio-rustls+dangerous-configuration-dev
	openssl chrony
	pdns-server pdns-backend-bind pdns-recursor rsyslog coturn freeradius freeradius-utils snmpd snmp
	tftpd-hpa tftp-hpa xinetd collectd-core gdnsd kamailio dnsmasq-base memcached nodejs openjdk-17-jdk-headless jq knot-resolver snmptrapd openvpn iputils-ping
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross
	libbpf-dev:arm64 libxdp-dev:arm64 libelf-dev:arm64 zlib1g-dev:arm64 libmnl-dev:arm64 libmnl-dev:arm64
)
# the arm64 cross build (make cross-arm64, tests/t_cross_arm64.sh) takes the
# arm64 dev packages through dpkg multiarch
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	SUDO0=
	[ "$(id -u)" != 0 ] && SUDO0=sudo
	$SUDO0 dpkg --add-architecture arm64 || exit 1
fi
# Packages that conflict with installed ones (ntpsec with chrony, syslog-ng
# with rsyslog) are unpacked, not installed, into $XDEB/<package> for
# tests/t_matrix.sh; their libraries are installed as usual.
XDEB=${XSKSHIM_XDEB:-/opt/xskshim-deps}
UNPACK=(ntpsec syslog-ng-core)
PKGS+=(libbsd0 libcap2 libssl3 libivykis0 libnet1 libjson-c5 libglib2.0-0 libwrap0 libsystemd0)
deps_unpack()
{
	local p d
	for p in "${UNPACK[@]}"; do
		[ -d "$XDEB/$p/usr" ] && continue
		d=$(mktemp -d) || return 1
		chmod 755 "$d"
		(cd "$d" && apt-get download -q "$p" >/dev/null) &&
			$SUDO mkdir -p "$XDEB" && $SUDO dpkg -x "$d"/"$p"_*.deb "$XDEB/$p" ||
			echo "deps: could not unpack $p into $XDEB" >&2
		rm -rf "$d"
	done
}
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
SUDO=
[ "$(id -u)" != 0 ] && SUDO=sudo
if [ "${#missing[@]}" = 0 ]; then
	deps_unpack
	exit 0
fi
echo "deps: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q || exit 1
# knotd's and chrony's packages start services; we never need them running
echo exit 101 | $SUDO tee /usr/sbin/policy-rc.d >/dev/null 2>&1 && $SUDO chmod +x /usr/sbin/policy-rc.d
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
rc=$?
$SUDO rm -f /usr/sbin/policy-rc.d
deps_unpack
exit $rc
