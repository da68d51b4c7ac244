#!/bin/bash
# t_cross_arm64.sh - the library builds for 64-bit Arm: `make cross-arm64`
# (aarch64-linux-gnu-gcc with Debian's arm64 libbpf/libxdp/libelf/zlib dev
# packages, installed by scripts/deps.sh through dpkg multiarch) into a
# scratch build directory, then checks the result with file and readelf: an
# AArch64 shared object that exports the interposed calls and needs only
# arm64 libraries.  Nothing is run (no arm64 machine here); this proves the
# code is portable (no x86-only builtins) and links against the arm64 ABI.
set -u
cd "$(dirname "$0")/.." || exit 1
CROSS=${CROSS_ARM64:-aarch64-linux-gnu-}
if ! command -v "${CROSS}gcc" >/dev/null 2>&1; then
	echo "SKIP: cross-arm64: ${CROSS}gcc not installed (scripts/deps.sh installs gcc-aarch64-linux-gnu)"
	exit 0
fi
if [ ! -f /usr/lib/aarch64-linux-gnu/pkgconfig/libxdp.pc ]; then
	echo "SKIP: cross-arm64: libxdp-dev:arm64 not installed (scripts/deps.sh adds the arm64 architecture)"
	exit 0
fi
TMP=$(mktemp -d /tmp/t_cross.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0
pass() { echo "PASS: cross-arm64: $*"; }
fail() { echo "FAIL: cross-arm64: $*"; fails=$((fails + 1)); }

lib=$TMP/arm64/libxskshim.so
if timeout 300 make -s cross-arm64 B="$TMP" >"$TMP/build.log" 2>&1 && [ -f "$lib" ]; then
	pass "make cross-arm64 built $(basename "$lib") from every library source"
else
	fail "make cross-arm64 failed:"
	grep -m5 -E 'error|Error' "$TMP/build.log" | sed 's/^/    /'
	exit 1
fi
desc=$(file -b "$lib")
if [[ $desc == *"ELF 64-bit LSB shared object, ARM aarch64"* ]]; then
	pass "file: $desc"
else
	fail "file says: $desc"
fi
mach=$(readelf -h "$lib" | sed -n 's/^ *Machine: *//p')
[ "$mach" = AArch64 ] && pass "readelf: machine $mach" || fail "readelf: machine '$mach' (want AArch64)"
# every object of the library was compiled for arm64, none left out
objs=$(find "$TMP/arm64" -name '*.o' ! -name '*.bpf.o' | wc -l)
srcs=$(ls shim/*.c ring/*.c ctl/*.c 2>/dev/null | xargs grep -L '^int main' | wc -l)
bad=$(find "$TMP/arm64" -name '*.o' ! -name '*.bpf.o' -exec file {} + | grep -vc 'ARM aarch64')
if [ "$objs" -ge "$srcs" ] && [ "$bad" = 0 ]; then
	pass "$objs objects, all AArch64 (for $srcs library sources)"
else
	fail "$objs objects for $srcs sources, $bad not AArch64"
fi
exports=$(readelf --dyn-syms -W "$lib" | awk '$5 == "GLOBAL" && $7 != "UND" { print $8 }' | sed 's/@.*//' | sort -u)
missing=
for s in recvmmsg recvmsg socket bind close poll epoll_wait; do
	grep -qx "$s" <<<"$exports" || missing="$missing $s"
done
[ -z "$missing" ] && pass "exports the interposed calls (recvmmsg, socket, poll, epoll_wait, ...)" ||
	fail "does not export:$missing"
needed=$(readelf -d "$lib" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | paste -sd' ')
if grep -q 'ld-linux-x86-64\|x86' <<<"$needed"; then
	fail "needs x86 libraries: $needed"
else
	pass "needs: $needed"
fi
[ "$fails" = 0 ]
