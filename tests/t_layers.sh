#!/bin/bash
# t_layers.sh - the layers of the house point one way (docs/design.md,
# issue 12):
#
#   bpf/    the XDP program and the kernel/user ABI header
#    ^
#   ring/   AF_XDP core: UMEM, rings, frame validation; no interposition
#    ^
#   ctl/    control plane (program, interface facts, maps, slots, groups,
#           routes); never sees the interposer's socket
#    ^
#   shim/   the interposer: wrappers, fd table, per-socket ops, receive,
#           readiness, statistics writer
#    ^
#   tools/  read the statistics ABI header (shim/stats.h) and nothing else
#
# Two checks per folder, each fails on one edge against the arrows:
#   includes  every #include "dir/..." of a folder names the folder itself
#             or one below it (tools/: only shim/stats.h of the others), and
#             a folder's private internal.h is included only inside it;
#   calls     (nm -u on the built objects) ring/ and ctl/ objects reference
#             no shim_ symbol, ring/ objects no ctl_ symbol, and any libc
#             name the shim interposes only through the seam: the linker's
#             --wrap list (build/xskshim.wrap), which binds those calls
#             inside the library to libc, never to the shim's own wrappers.
# Then the checks are run against a copy of the tree with one violation
# planted each, and must fail: a check that cannot fail is no check.
set -u
cd "$(dirname "$0")/.." || exit 1
TMP=$(mktemp -d /tmp/t_layers.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0
pass() { echo "PASS: layers: $*"; }
fail() { echo "FAIL: layers: $*"; fails=$((fails + 1)); }

# allowed "dir/" prefixes of #include "..." per folder ("./": same folder,
# a bare file name; build/ generated headers such as xskshim.skel.h are bare)
declare -A ALLOW=(
	[bpf]="bpf/"
	[ring]="ring/ bpf/"
	[ctl]="ctl/ ring/ bpf/"
	[shim]="shim/ ctl/ ring/ bpf/"
	[tools]="tools/ shim/stats.h"
)

# check_includes ROOT -> prints one line per violation
check_includes()
{
	local root=$1 dir f inc ok a
	for dir in "${!ALLOW[@]}"; do
		[ -d "$root/$dir" ] || continue
		while IFS= read -r f; do
			while IFS= read -r inc; do
				[[ $inc == */* ]] || continue   # same folder or generated
				ok=0
				for a in ${ALLOW[$dir]}; do
					[[ $inc == "$a"* ]] && ok=1
				done
				[ "$ok" = 1 ] || echo "$dir: ${f#"$root"/} includes \"$inc\""
				# a folder's private header stays in its folder
				[[ $inc == */internal.h && $inc != "$dir/"* ]] &&
					echo "$dir: ${f#"$root"/} includes another folder's private \"$inc\""
			done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
		done < <(find "$root/$dir" -name '*.[ch]')
	done
}

# check_calls OBJDIR SEAMFILE EXPORTS -> prints one line per violation
check_calls()
{
	local objs=$1 seam=$2 exports=$3 dir o sym
	for dir in ring ctl; do
		for o in "$objs/$dir"/*.o; do
			[ -f "$o" ] || continue
			while read -r sym; do
				case $sym in
				shim_*) echo "$dir: ${o##*/} calls up into the interposer: $sym"; continue ;;
				ctl_*) [ "$dir" = ring ] && echo "$dir: ${o##*/} calls up into the control plane: $sym"; continue ;;
				esac
				if grep -qx "$sym" "$exports" && ! grep -qx -- "-Wl,--wrap=$sym" "$seam"; then
					echo "$dir: ${o##*/} calls the interposed $sym outside the --wrap seam (it would enter the shim's own wrapper)"
				fi
			done < <(nm -u "$o" | awk '{ print $NF }')
		done
	done
}

if [ ! -f build/xskshim.wrap ] || [ ! -f build/xskshim.map ] || ! ls build/ring/*.o >/dev/null 2>&1; then
	echo "FAIL: layers: build/xskshim.wrap, build/xskshim.map or build/ring/*.o missing (run make)"
	exit 1
fi
sed -n 's/^[[:space:]]*\([A-Za-z_0-9]*\);$/\1/p' build/xskshim.map | grep -v '^$' >"$TMP/exports"

# ---- the tree as it is -----------------------------------------------------
v=$(check_includes "$PWD")
if [ -z "$v" ]; then
	pass "includes: bpf <- ring <- ctl <- shim <- tools (only shim/stats.h), no edge against the arrows"
else
	fail "includes against the arrows:"
	sed 's/^/    /' <<<"$v"
fi
v=$(check_calls build build/xskshim.wrap "$TMP/exports")
if [ -z "$v" ]; then
	pass "calls: ring/ and ctl/ objects call nothing of the layers above, interposed libc names only through the --wrap seam ($(ls build/ring/*.o build/ctl/*.o 2>/dev/null | wc -l) objects)"
else
	fail "calls against the arrows:"
	sed 's/^/    /' <<<"$v"
fi
# per-socket ops: the generated wrappers test no state, they call the ops
if grep -A14 '^#define SHIM_WRAP_FD' shim/wrap.c | grep -q -- '->ops->\|->ops, '; then
	if grep -A14 '^#define SHIM_WRAP_FD' shim/wrap.c | grep -q 'shim_sock_accel\|state'; then
		fail "per-socket ops: the generated fd wrappers test the socket's state"
	else
		pass "per-socket ops: the generated fd wrappers dispatch through s->ops and test no state"
	fi
else
	fail "per-socket ops: the generated fd wrappers do not dispatch through s->ops"
fi

# shared counters: rx_kernel is added to by readers inside and outside the
# rx lock, so only through its one atomic helper (shim_ctr_kernel_add)
v=$(grep -nE 'st->rx_kernel[[:space:]]*(\+=|\+\+|=[^=])|st_->rx_kernel[[:space:]]*(\+=|=[^=])' shim/*.c)
if [ -z "$v" ]; then
	pass "counters: rx_kernel is only ever added to atomically (shim_ctr_kernel_add)"
else
	fail "counters: rx_kernel updated non-atomically: $v"
fi

# ---- planted violations: each check must catch its own -----------------------
mkdir -p "$TMP/tree"
cp -r bpf ring ctl shim tools "$TMP/tree/" 2>/dev/null
echo '#include "shim/shim.h"' >>"$TMP/tree/ring/frame.c"
echo '#include "ring/ring.h"' >>"$TMP/tree/tools/xskshim-stat/main.c"
[ -d "$TMP/tree/ctl" ] && echo '#include "ctl/internal.h"' >>"$TMP/tree/shim/ops.c"
v=$(check_includes "$TMP/tree")
if grep -q 'ring: ring/frame.c includes "shim/shim.h"' <<<"$v" && grep -q 'tools: .*includes "ring/ring.h"' <<<"$v" &&
   { [ ! -d ctl ] || grep -q 'shim: shim/ops.c includes another folder.s private "ctl/internal.h"' <<<"$v"; }; then
	pass "includes check catches a planted ring/ -> shim/, tools/ -> ring/ and shim/ -> ctl/internal.h include"
else
	fail "includes check missed a planted violation (got: ${v:-nothing})"
fi
mkdir -p "$TMP/obj/ring" "$TMP/obj/ctl"
printf 'void shim_sock_put(void *);\nvoid ring_planted(void) { shim_sock_put(0); }\n' >"$TMP/up.c"
printf 'int ctl_planted_up(void);\nint ring_planted2(void) { return ctl_planted_up(); }\n' >"$TMP/up2.c"
cc -c -o "$TMP/obj/ring/up.o" "$TMP/up.c" && cc -c -o "$TMP/obj/ring/up2.o" "$TMP/up2.c"
cp build/ring/xsk.o "$TMP/obj/ring/"
grep -vx -- '-Wl,--wrap=recvfrom' build/xskshim.wrap >"$TMP/seam"
v=$(check_calls "$TMP/obj" "$TMP/seam" "$TMP/exports")
if grep -q 'up.o calls up into the interposer: shim_sock_put' <<<"$v" &&
   grep -q 'up2.o calls up into the control plane: ctl_planted_up' <<<"$v" &&
   grep -q 'xsk.o calls the interposed recvfrom outside the --wrap seam' <<<"$v"; then
	pass "calls check catches a planted ring/ -> shim_ call, ring/ -> ctl_ call, and an interposed call (recvfrom) outside the seam"
else
	fail "calls check missed a planted violation (got: ${v:-nothing})"
fi
[ "$fails" = 0 ]
