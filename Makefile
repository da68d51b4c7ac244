# xskshim - LD_PRELOAD kernel-bypass UDP receive over AF_XDP.
# `make` builds build/libxskshim.so; `make test` runs the suite (root, netns);
# `make demo` runs the netns demo; `make bench` the benchmark.

CC        ?= cc
CLANG     ?= clang
BPFTOOL   ?= bpftool
OBJCOPY   ?= objcopy
NM        ?= nm
PKGS      := libxdp libbpf libmnl
ARCH_INC  ?= -I/usr/include/$(shell $(CC) -dumpmachine)
B         := build

CFLAGS    ?= -O2 -g
CFLAGS    += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -fPIC \
             -I. -I$(B) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lxdp -lbpf -lmnl) -lelf -lz -ldl -lpthread
BPF_CFLAGS := -target bpf -O2 -g -Wall -Werror -I. $(ARCH_INC)

SHIM_SRC  := $(wildcard shim/*.c)
RING_SRC  := $(wildcard ring/*.c) $(wildcard ctl/*.c)
SHIM_OBJ  := $(SHIM_SRC:%.c=$(B)/%.o)
RING_OBJ  := $(RING_SRC:%.c=$(B)/%.o)
LIB       := $(B)/libxskshim.so

# test and tool programs: every tests/*.c except fuzz targets and every
# tests/tools/*.c become binaries in build/tests/ .  A tools/NAME.bpf.c beside a
# tools/NAME.c is compiled and its skeleton header made available.
TEST_SRC  := $(filter-out tests/fuzz_%.c,$(wildcard tests/*.c)) $(wildcard tests/tools/*.c)
TEST_SRC  := $(filter-out %.bpf.c,$(TEST_SRC))
TEST_BIN  := $(patsubst tests/%.c,$(B)/tests/%,$(patsubst tests/tools/%.c,tests/%.c,$(TEST_SRC)))
TOOL_BPF  := $(wildcard tests/tools/*.bpf.c)
TOOL_SKEL := $(TOOL_BPF:tests/tools/%.bpf.c=$(B)/%.skel.h)

PREFIX    ?= /usr/local
DESTDIR   ?=

# Module fragments (e.g. tools/tools.mk: xskshim-stat, launcher, man pages, install);
# they may add to EXTRA_ALL and define further targets.
EXTRA_ALL :=
include $(wildcard */*.mk)

.PHONY: all deps test test-unit demo bench fuzz clean install uninstall cross-arm64
all: $(LIB) $(TEST_BIN) $(EXTRA_ALL)

deps:
	scripts/deps.sh

$(B)/xskshim.bpf.o: bpf/xskshim.bpf.c bpf/xskshim_bpf.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(B)/%.bpf.o: tests/tools/%.bpf.c bpf/xskshim_bpf.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(B)/%.skel.h: $(B)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst .,_,$(*F)) > $@.tmp && mv $@.tmp $@

$(B)/shim/%.o: shim/%.c $(wildcard shim/*.h) $(wildcard ctl/*.h) ring/ring.h bpf/xskshim_bpf.h $(B)/xskshim.skel.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fvisibility=hidden -c $< -o $@

$(B)/ring/%.o: ring/%.c ring/ring.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fvisibility=hidden -c $< -o $@

# ctl/: the route/neighbour mirror (in libring.a too, for its unit test)
$(B)/ctl/%.o: ctl/%.c $(wildcard ctl/*.h) ring/ring.h bpf/xskshim_bpf.h $(B)/xskshim.skel.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fvisibility=hidden -c $< -o $@

# The version script exports exactly the names in shim/syms.h.
$(B)/xskshim.map: shim/xskshim.map.in shim/syms.h
	@mkdir -p $(@D)
	$(CC) -E -P -I. -DSHIM_SYMS_NAMES_ONLY -x c $< | tr ';' '\n' | sed 's/^ *//;/^$$/d;/[{:]$$/!s/$$/;/' > $@

# Symbol isolation (shim/syms.h): -Wl,--wrap=NAME for every interposed name,
# so references inside the .so bind to the hidden __wrap_NAME forwarders.
$(B)/xskshim.wrap: shim/xskshim.wrap.in shim/syms.h
	@mkdir -p $(@D)
	$(CC) -E -P -I. -DSHIM_SYMS_NAMES_ONLY -x c $< | tr ';' '\n' | sed 's/^ *//;/^$$/d' > $@

# libbpf and libxdp are linked in from Debian's static archives, hidden
# (--exclude-libs,ALL and the version script), so the application can neither
# see them nor replace them (dnsdist exports its own bpf_prog_load...), and the
# .so has no runtime dependency on libbpf.so/libxdp.so.  The archives are
# built -fPIE, not -fPIC; the only relocation a shared object cannot take is
# their PC-relative reference to libc's `stderr` (a copy relocation in an
# executable), so each archive's copy renames it to a hidden pointer of ours
# (xskshim_lib_stderr, log.c) that holds libc's stderr.  zlib comes from
# libz.a too; libelf cannot (libelf.a uses local-exec TLS, which a shared
# object cannot) and stays libelf.so.1.  libmnl (ctl/, the route mirror) has
# no static archive in Debian and stays libmnl.so.0 as well.
$(B)/lib%-shim.a:
	@mkdir -p $(@D)
	$(OBJCOPY) --redefine-sym stderr=xskshim_lib_stderr $(shell $(CC) -print-file-name=lib$*.a) $@
SHIM_LIBS := $(B)/libxdp-shim.a $(B)/libbpf-shim.a $(shell $(CC) -print-file-name=libz.a) \
	     -Wl,--no-as-needed -lmnl -lelf -Wl,--as-needed -ldl -lpthread

# ... and what the .so takes from those two shared libraries is bound to
# their own definitions, not to whatever the program exports under the same
# name (shim/deps.c): every undefined symbol of the shim's objects and
# archives that libelf.so.1 or libmnl.so.0 defines is --wrap'ed to a
# trampoline that jumps through dlsym(<that library's handle>, NAME).
DEP_SONAMES := libelf.so.1 libmnl.so.0
DEPS_OBJ    := $(B)/shim/deps.o
$(B)/xskshim-deps.h: $(filter-out $(DEPS_OBJ),$(SHIM_OBJ)) $(RING_OBJ) $(B)/libxdp-shim.a $(B)/libbpf-shim.a
	@mkdir -p $(@D)
	$(NM) -u --format=posix $^ 2>/dev/null | awk 'NF >= 2 && $$2 == "U" {print $$1}' | sort -u > $@.undef
	echo '#define SHIM_DEPS(D) \' > $@.tmp
	for so in $(DEP_SONAMES); do \
		$(NM) -D --defined-only "$$($(CC) -print-file-name=$$so)" | awk 'NF >= 3 && $$2 ~ /^[TtWi]$$/ {print $$3}' | \
			sed 's/@.*//' | sort -u | comm -12 - $@.undef | sed "s/.*/	D(\"$$so\", &) \\\\/" >> $@.tmp; \
	done
	echo >> $@.tmp
	sed -n 's/^	D("[^"]*", \([A-Za-z0-9_]*\)).*/-Wl,--wrap=\1/p' $@.tmp > $(B)/xskshim-deps.wrap
	mv $@.tmp $@
$(B)/xskshim-deps.wrap: $(B)/xskshim-deps.h
$(DEPS_OBJ): $(B)/xskshim-deps.h

$(LIB): $(SHIM_OBJ) $(RING_OBJ) $(B)/xskshim.map $(B)/xskshim.wrap $(B)/xskshim-deps.wrap $(B)/libxdp-shim.a \
	$(B)/libbpf-shim.a
	$(CC) -shared -o $@ $(SHIM_OBJ) $(RING_OBJ) -Wl,--version-script=$(B)/xskshim.map \
	      @$(B)/xskshim.wrap @$(B)/xskshim-deps.wrap -Wl,--exclude-libs,ALL -Wl,--as-needed \
	      -Wl,-z,now -Wl,-z,relro -Wl,-z,defs $(SHIM_LIBS)

$(B)/libring.a: $(RING_OBJ)
	$(AR) rcs $@ $^

$(B)/tests/%: tests/%.c $(B)/libring.a $(B)/xskshim.skel.h $(TOOL_SKEL) ring/ring.h bpf/xskshim_bpf.h $(wildcard ctl/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libring.a $(LDLIBS) -lm

$(B)/tests/%: tests/tools/%.c $(B)/libring.a $(B)/xskshim.skel.h $(TOOL_SKEL) ring/ring.h bpf/xskshim_bpf.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libring.a $(LDLIBS) -lm

# fuzz target (libFuzzer); a short bounded run is part of `make test`
$(B)/fuzz_frame: tests/fuzz_frame.c ring/frame.c ring/ring.h
	@mkdir -p $(@D)
	$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE -o $@ tests/fuzz_frame.c ring/frame.c

fuzz: $(B)/fuzz_frame
	mkdir -p $(B)/fuzz-corpus
	$(B)/fuzz_frame -max_total_time=$${FUZZ_SECONDS:-60} $(B)/fuzz-corpus tests/corpus

# test and demo first install whatever is missing (a no-op when all is there),
# then build, so each works as the first command on a fresh machine.
test:
	scripts/deps.sh
	$(MAKE) all $(B)/fuzz_frame
	tests/run.sh

test-unit: $(B)/tests/test_ring $(B)/tests/test_route
	$(B)/tests/test_ring && $(B)/tests/test_route

demo:
	scripts/deps.sh
	$(MAKE) all
	scripts/demo.sh

bench:
	scripts/deps.sh
	$(MAKE) all
	scripts/bench

# The library for 64-bit Arm, cross-compiled (scripts/deps.sh installs
# gcc-aarch64-linux-gnu and the arm64 libbpf/libxdp/libelf/zlib dev packages
# through dpkg multiarch) into build/arm64/.  The BPF program is the same
# little-endian object; its headers come from the host.
CROSS_ARM64 ?= aarch64-linux-gnu-
cross-arm64:
	$(MAKE) B=$(B)/arm64 CC=$(CROSS_ARM64)gcc AR=$(CROSS_ARM64)ar OBJCOPY=$(CROSS_ARM64)objcopy NM=$(CROSS_ARM64)nm \
		ARCH_INC=-I/usr/include/$(shell cc -dumpmachine) \
		PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig \
		$(B)/arm64/libxskshim.so

.SECONDARY:   # keep generated .bpf.o and skeletons between runs

clean:
	rm -rf $(B)

