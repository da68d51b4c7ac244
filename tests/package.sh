#!/bin/bash
# tests/package.sh DEB - the Debian package's cycle (`make test-package`,
# run by .ci/run after `make test`): the file is named
# xskshim_<version>_<arch>.deb, lintian reports no errors, `dpkg -i`
# installs it with its dependencies already present (no apt), the installed
# files are where they belong (library in the multiarch directory, the
# launcher and xskshim-stat in /usr/bin, man pages, docs, the systemd
# example), a receiver started through the INSTALLED launcher in a netns
# (198.18.0.0/15) is accelerated and gets every datagram through AF_XDP
# (the installed xskshim-stat says so while it runs), and `dpkg --purge`
# leaves nothing behind: dpkg no longer knows the package and none of its
# files exists.  Needs root; on a machine where xskshim is already
# installed it refuses to touch it (SKIP).  Prints PASS:/FAIL:/SKIP: lines.
set -u
cd "$(dirname "$0")/.." || exit 1
. scripts/netns.sh

DEB=${1:-}
N=5000
fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

tmp=$(mktemp -d /tmp/t_package.XXXXXX) || exit 1
rpid= installed_by_us=0
cleanup()
{
	[ -n "$rpid" ] && kill -KILL "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
	[ -n "$rpid" ] && rm -f "/dev/shm/xskshim.$rpid"
	[ "$installed_by_us" = 1 ] && dpkg --purge xskshim >/dev/null 2>&1
	[ -n "${NS_RCV:-}" ] && netns_cleanup
	rm -rf "$tmp"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

[ -f "$DEB" ] || { fail "no package file '$DEB' (make deb)"; exit 1; }
version=$(dpkg-deb -f "$DEB" Version) arch=$(dpkg-deb -f "$DEB" Architecture)
check "file name is xskshim_<version>_<arch>.deb ($(basename "$DEB"))" \
	test "$(basename "$DEB")" = "xskshim_${version}_${arch}.deb"
check "the package depends on the runtime libraries (shlibs: $(dpkg-deb -f "$DEB" Depends))" \
	bash -c "dpkg-deb -f '$DEB' Depends | grep -q 'libc6'"

changes=$(ls "$(dirname "$DEB")"/deb/xskshim_"${version}"_*.changes 2>/dev/null | head -1)
lintian --fail-on error "${changes:-$DEB}" >"$tmp/lintian" 2>&1; rc=$?
check "lintian: no errors (rc $rc$(grep -m3 '^E:' "$tmp/lintian" | tr '\n' ' '))" test "$rc" = 0

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: install / use / purge: needs root"
	exit $((fails > 0))
fi
if dpkg-query -W -f='${Status}' xskshim 2>/dev/null | grep -q 'installed'; then
	echo "SKIP: install / use / purge: xskshim is already installed on this machine; not touching it"
	exit $((fails > 0))
fi

dpkg -i "$DEB" >"$tmp/install" 2>&1; rc=$?
[ "$rc" = 0 ] && installed_by_us=1
check "dpkg -i: exit 0 with the dependencies present (rc $rc$( [ $rc != 0 ] && tail -3 "$tmp/install"))" test "$rc" = 0
multi=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
lib=/usr/lib/$multi/libxskshim.so
for f in "$lib" /usr/bin/xskshim /usr/bin/xskshim-stat /usr/share/man/man1/xskshim.1.gz \
	/usr/share/man/man1/xskshim-stat.1.gz /usr/share/man/man7/xskshim.7.gz \
	/usr/share/doc/xskshim/README.md.gz /usr/share/doc/xskshim/copyright \
	/usr/share/doc/xskshim/examples/xskshim-override.conf; do
	[ -e "$f" ] || missing="${missing:-} $f"
done
check "installed files in place (library in /usr/lib/$multi, /usr/bin, man pages, docs, systemd example)${missing:+; missing:$missing}" \
	test -z "${missing:-}"
dpkg -L xskshim >"$tmp/files"
out=$(/usr/bin/xskshim -n -i vb -p 9000 -- prog 2>&1 | grep '^LD_PRELOAD=')
check "the installed launcher preloads the installed library ($out)" test "$out" = "LD_PRELOAD=$lib"
check "man xskshim finds the installed page" bash -c "MANWIDTH=80 man 1 xskshim 2>/dev/null | grep -q 'xskshim check'"

if NETNS_TEST_NAME="receiver through the installed launcher" netns_skip_unless_root >"$tmp/why" 2>&1; then
	NETNS_NO_TRAP=1
	netns_setup 1 || fail "netns_setup"
	# no --expect: it stops 2 s after the last datagram, time to read its counters
	ip netns exec "$NS_RCV" /usr/bin/xskshim -i "$IF_RCV" -p 9000 --stats -- "$PWD/build/tests/streamrecv" --port 9000 \
		--idle-ms 2000 --max-secs 30 >"$tmp/sr.out" 2>"$tmp/sr.err" &
	rpid=$!
	for _ in $(seq 100); do grep -qs ready "$tmp/sr.err" && break; sleep 0.1; done
	in_gen "$PWD/build/tests/udpgen" --dst "$ADDR_RCV" --port 9000 --count $N --rate 20000 \
		--duration-max 10 >/dev/null 2>&1
	v=
	for _ in $(seq 15); do
		in_rcv /usr/bin/xskshim-stat --json "$rpid" >"$tmp/stat.json" 2>&1
		v=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["sockets"][0]["accelerated"], d["sockets"][0]["counters"]["rx_xdp"])' "$tmp/stat.json" 2>&1)
		[ "$v" = "True $N" ] && break
		sleep 0.1
	done
	check "installed xskshim-stat: the receiver is accelerated, rx_xdp $N ($v)" test "$v" = "True $N"
	wait "$rpid"; rc=$?
	rpid=
	check "receiver through /usr/bin/xskshim: all $N received (rc $rc: $(cat "$tmp/sr.out"))" \
		bash -c "[ $rc = 0 ] && grep -q 'received=$N' '$tmp/sr.out'"
	check "its exit summary: accelerated with the installed library, rx_xdp $N" \
		bash -c "grep -q 'sock: accelerated' '$tmp/sr.err' && grep -q 'rx_xdp $N ' '$tmp/sr.err'"
else
	grep '^SKIP: ' "$tmp/why"
fi

dpkg --purge xskshim >"$tmp/purge" 2>&1; rc=$?
[ "$rc" = 0 ] && installed_by_us=0
check "dpkg --purge: exit 0 (rc $rc)" test "$rc" = 0
dpkg -L xskshim >/dev/null 2>&1
check "dpkg no longer knows the package (dpkg -L fails)" test $? != 0
left=
while read -r f; do
	[ -f "$f" ] || [ -L "$f" ] && left="$left $f"
	[ -d "$f" ] && case "$f" in */xskshim|*/xskshim/*) left="$left $f/";; esac
done <"$tmp/files"
check "no file of the package is left${left:+:$left}" test -z "$left"
exit $((fails > 0))
