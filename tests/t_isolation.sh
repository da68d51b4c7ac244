#!/bin/bash
# t_isolation.sh - symbol isolation (issue 11): nothing the application
# exports can replace a function the shim's internals call, nothing of the
# internals leaks, and the shim's own calls never enter its wrappers.
#
#   static    the .so exports exactly the names of shim/syms.h; it needs
#             neither libbpf.so nor libxdp.so; it has no dynamic relocation
#             against an interposed name (every internal reference was bound
#             at link time to __wrap_NAME) and no bpf_/xsk_ symbol at all
#   callcount an interposer preloaded before the shim counts the calls to
#             socket/bind/close/setsockopt/fcntl/recvfrom/poll... that come
#             from inside libxskshim.so/libbpf/libxdp: 0, while the receiver
#             is accelerated and receives everything
#   bpfexport a receiver that exports bpf_prog_load, bpf_map_create,
#             bpf_create_map, bpf_object__open... and elf_begin, elf_memory,
#             mnl_socket_open... (each fails with E2BIG, as dnsdist's would
#             for libbpf) is accelerated: all datagrams
#             through AF_XDP (rx_xdp), UdpInDatagrams flat, its bpf_* never
#             called
#   dnsdist   Debian's dnsdist 1.7.3 (exports bpf_prog_load, bpf_create_map)
#             with a spoofing rule answers every kdig query from the other
#             namespace, accelerated (its live counters, xskshim-stat)
T=t_isolation
. "$(dirname "$0")/fault_lib.sh"
fl_setup
D=$FL_TMP
N=${ISO_COUNT:-3000}
NAMES=$(sed -n 's/^\([A-Za-z_0-9]*\);$/\1/p' build/xskshim.map | sort)

# ---- static -----------------------------------------------------------------
exp=$(nm -D --defined-only "$SHIM" | awk '$2 ~ /^[TWiV]$/ {print $3}' | sed 's/@.*//' | sort)
check "$([ -n "$NAMES" ] && [ "$exp" = "$NAMES" ]; echo $?)" \
	"static: the .so exports exactly the $(wc -l <<<"$NAMES") interposed names of shim/syms.h" \
	"extra: $(comm -13 <(echo "$NAMES") <(echo "$exp") | head -5 | tr '\n' ' ')"
needed=$(readelf -d "$SHIM" | grep NEEDED | grep -oE '\[[^]]*\]' | tr -d '[]' | tr '\n' ' ')
check "$(! grep -qE 'libbpf|libxdp' <<<"$needed"; echo $?)" \
	"static: no runtime dependency on libbpf.so/libxdp.so (NEEDED: $needed)"
rel=$(readelf -rW "$SHIM" | awk 'NF >= 5 {print $5}' | sed 's/@.*//' | sort -u | comm -12 - <(echo "$NAMES") | tr '\n' ' ')
check "$([ -z "$rel" ]; echo $?)" \
	"static: no dynamic relocation against an interposed name (internal calls bound to __wrap_NAME at link time)" \
	"relocations against: $rel"
deprel=$(readelf -rW "$SHIM" | awk 'NF >= 5 {print $5}' | grep -E '^(g?elf|elf64|mnl)_' | sort -u | tr '\n' ' ')
check "$([ -z "$deprel" ]; echo $?)" \
	"static: no dynamic relocation against a libelf/libmnl function (bound through the library's own handle, shim/deps.c)" \
	"relocations against: $deprel"
leak=$(nm -D "$SHIM" | grep -cE ' (bpf_|btf_|btf__|libbpf_|xsk_|xdp_|libxdp_)')
check "$([ "$leak" = 0 ]; echo $?)" "static: no bpf_/btf_/libbpf_/xsk_/libxdp_ symbol in the dynamic symbol table ($leak)"
# libgcc's CPU model runs dozens of CPUID instructions in a constructor of
# every process that loads the library (each a trap to the hypervisor on a
# VM); ring/tx.c reads what the dynamic loader found instead
cpumodel=$(nm "$SHIM" 2>/dev/null | grep -cE ' (__cpu_indicator_init|__cpu_model|get_available_features)')
check "$([ "$cpumodel" = 0 ]; echo $?)" \
	"static: libgcc's CPU model (__cpu_indicator_init and its CPUID constructor) is not linked in ($cpumodel symbols)"

# ---- helpers ----------------------------------------------------------------
if ! cc -O2 -shared -fPIC -o "$D/callcount.so" tests/apps/callcount.c -ldl 2>"$D/cc1.log" ||
   ! cc -O2 -D_GNU_SOURCE -I. -rdynamic -o "$D/bpfexport_recv" tests/fault_recv.c tests/apps/bpfexport.c \
	2>"$D/cc2.log"; then
	fail "building the test programs: $(cat "$D"/cc*.log | head -3)"
	fl_finish
fi

# run_recv TAG PRELOAD BIN : receive $N on port 9000 under the shim (with
# LD_PRELOAD=PRELOAD), sets UDP (UdpInDatagrams delta)
run_recv()
{
	local t=$1 pre=$2 bin=$3
	# shellcheck disable=SC2046
	fl_recv_count "$t" "$N" env $(shim_env) LD_PRELOAD="$pre" "$bin" --port 9000 \
		--expect "$N" --idle-ms 2000 --max-secs 20 --rcvbuf 16777216 || return 1
	check "$(grep -q 'accelerated: fd' "$D/$t.err" && ! grep -q 'NOT accelerated' "$D/$t.err"; echo $?)" \
		"$t: accelerated" "$(grep -E 'xskshim|Error' "$D/$t.err" | head -3)"
	# (a loaded machine may spill a few past the fill budget to the kernel
	# socket, by design; not accelerated means rx_xdp 0, UdpInDatagrams +N)
	check "$([ "$(summary_sock_sum "$D/$t.err" rx_xdp)" -ge $((N * 9 / 10)) ] && [ "$UDP" -le $((N / 10)) ]; echo $?)" \
		"$t: through AF_XDP (rx_xdp $(summary_sock_sum "$D/$t.err" rx_xdp) of $N, UdpInDatagrams +$UDP)"
}

# ---- callcount ----------------------------------------------------------------
run_recv callcount "$D/callcount.so:$SHIM_PRELOAD" fault_recv
line=$(grep 'callcount: internal=' "$D/callcount.err")
check "$([ -n "$line" ] && [ "$(grep -oE 'internal=[0-9]+' <<<"$line")" = internal=0 ]; echo $?)" \
	"callcount: no call from the shim's internals (shim, ring, libbpf, libxdp) reached an interposer in the global scope (${line:-no report})"

# ---- bpfexport ----------------------------------------------------------------
run_recv bpfexport "$SHIM_PRELOAD" "$D/bpfexport_recv"
line=$(grep 'bpfexport: calls=' "$D/bpfexport.err")
check "$([ "$line" = 'bpfexport: calls=0' ]; echo $?)" \
	"bpfexport: the program's own bpf_prog_load/bpf_map_create/bpf_create_map/... were never called by the shim (${line:-no report})"

# ---- dnsdist --------------------------------------------------------------------
if ! command -v dnsdist >/dev/null || ! command -v kdig >/dev/null; then
	skip "dnsdist: dnsdist or kdig not installed (packages dnsdist, knot-dnsutils)"
	fl_finish
fi
Q=${ISO_QUERIES:-200}
cat >"$D/dnsdist.conf" <<EOF
setLocal("$ADDR_RCV:5300")
setACL({"198.18.0.0/15"})
addAction(AllRule(), SpoofAction("198.18.0.99"))
EOF
# shellcheck disable=SC2046
FL_OUT=$D/dnsdist.out FL_ERR=$D/dnsdist.err fl_bg_rcv R env $(PORTS=5300 shim_env) \
	dnsdist --supervised --disable-syslog -C "$D/dnsdist.conf"
wait_file "$D/dnsdist.err" 'accelerated: fd|NOT accelerated|Error|Fatal' 10
sleep 0.5
if ! kill -0 "$R" 2>/dev/null; then
	fail "dnsdist: runs under the shim -- it exited: $(grep -vE '^$' "$D/dnsdist.err" "$D/dnsdist.out" | head -4)"
	fl_finish
fi
pass "dnsdist: starts under the shim (exports its own bpf_prog_load/bpf_create_map)"
u0=$(udp_in_datagrams "$NS_RCV")
names=()
for i in $(seq "$Q"); do names+=("q$i.example."); done
in_gen timeout 60 kdig @"$ADDR_RCV" -p 5300 +notcp +retry=0 +timeout=2 +short "${names[@]}" A >"$D/kdig.out" 2>&1
UDP=$(( $(udp_in_datagrams "$NS_RCV") - u0 ))
a=$(grep -c '^198\.18\.0\.99$' "$D/kdig.out")
check "$([ "$a" = "$Q" ]; echo $?)" "dnsdist: $a of $Q queries answered with the spoofed address" "$(grep -v 198.18.0.99 "$D/kdig.out" | head -2)"
check "$(grep -q 'accelerated: fd' "$D/dnsdist.err" && ! grep -q 'NOT accelerated' "$D/dnsdist.err"; echo $?)" \
	"dnsdist: its port 5300 socket accelerated ($(grep -oE 'accelerated: fd [0-9]+ udp port [0-9]+' "$D/dnsdist.err" | head -1))" \
	"$(grep -E 'xskshim|Error' "$D/dnsdist.err" | head -3)"
st=$(build/xskshim-stat --json "$R" 2>&1)
rx=$(grep -oE '"rx_xdp": *[0-9]+' <<<"$st" | grep -oE '[0-9]+$' | awk '{s += $1} END {print s + 0}')
check "$([ "$rx" -ge "$Q" ] && [ "$UDP" -le $((Q / 20)) ]; echo $?)" \
	"dnsdist: queries served through AF_XDP (rx_xdp $rx, UdpInDatagrams +$UDP)" "$(head -c 600 <<<"$st")"
stop_pid "$R"

# ---- an exec wrapper takes what libc takes ----------------------------------------
# fexecve with a NULL argv (Linux accepts one): the wrapper must not read it
cat >"$D/fexecnull.c" <<'EOF'
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
int main(void)
{
	int fd = open("/bin/true", O_RDONLY | O_CLOEXEC), st = 0;
	char *env[] = { NULL };
	pid_t p = fork();

	if (!p) {
		fexecve(fd, NULL, env);
		_exit(99);
	}
	waitpid(p, &st, 0);
	printf("%s %d\n", WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	return 0;
}
EOF
if cc -O2 -o "$D/fexecnull" "$D/fexecnull.c" 2>"$D/cc3.log"; then
	fx_plain=$("$D/fexecnull")
	# shellcheck disable=SC2046
	fx_shim=$(env $(shim_env) "$D/fexecnull" 2>/dev/null)
	check "$([ -n "$fx_plain" ] && [ "$fx_plain" = "$fx_shim" ]; echo $?)" \
		"exec wrappers: fexecve with a NULL argv ends as it does plain (child: $fx_shim)" "plain: $fx_plain"
else
	fail "building fexecnull: $(head -3 "$D/cc3.log")"
fi
fl_finish
