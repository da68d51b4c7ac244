# tools/tools.mk - the operator's tools: xskshim-stat (tools/xskshim-stat/,
# reads only the statistics ABI shim/stats.h), the xskshim launcher
# (tools/xskshim/), their man pages, `make install` / `make uninstall`.
# Included by the top Makefile before its own rules.

# This fragment is read before `all:` is defined: keep `all` the default goal.
.DEFAULT_GOAL := all

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
LIBDIR    ?= $(PREFIX)/lib
MAN1DIR   ?= $(PREFIX)/share/man/man1
MAN7DIR   ?= $(PREFIX)/share/man/man7

STAT_SRC  := $(wildcard tools/xskshim-stat/*.c)
STAT_BIN  := $(B)/xskshim-stat
STAT_LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf)
MAN7      := shim/xskshim.7
MAN1      := tools/xskshim/xskshim.1 tools/xskshim-stat/xskshim-stat.1

# The launcher is in C, not shell: `check` needs bpf_xdp_query, generic
# netlink and ethtool ioctls.  It preloads $(LIBDIR)/libxskshim.so, or
# build/libxskshim.so when it runs from the tree; launch_cfg.h carries the
# directory and is rewritten (and the launcher rebuilt) when LIBDIR changes.
LAUNCH_SRC := $(wildcard tools/xskshim/*.c)
LAUNCH_BIN := $(B)/xskshim
LAUNCH_CFG := $(B)/tools/launch_cfg.h
XSKSHIM_VERSION ?= $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog 2>/dev/null)

EXTRA_ALL += $(STAT_BIN) $(LAUNCH_BIN)

# The tool sees the statistics ABI and its own header, nothing of shim/,
# ring/ or bpf/: the check below fails on any other project include.
$(STAT_BIN): $(STAT_SRC) tools/xskshim-stat/stat.h shim/stats.h
	@mkdir -p $(@D)
	@bad=$$(grep -Hn '^#include "' $(STAT_SRC) tools/xskshim-stat/stat.h shim/stats.h | \
		grep -v '"shim/stats.h"\|"tools/xskshim-stat/stat.h"'); \
	 if [ -n "$$bad" ]; then echo "xskshim-stat may include only shim/stats.h: $$bad" >&2; exit 1; fi
	$(CC) $(CPPFLAGS) $(filter-out -I$(B),$(CFLAGS)) -fPIE -pie $(LDFLAGS) -o $@ $(STAT_SRC) $(STAT_LIBS)

.PHONY: FORCE
$(LAUNCH_CFG): FORCE
	@mkdir -p $(@D)
	@printf '#define XSKSHIM_LIBDIR "%s"\n#define XSKSHIM_VERSION "%s"\n' '$(LIBDIR)' \
		'$(or $(XSKSHIM_VERSION),0)' >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(LAUNCH_BIN): $(LAUNCH_SRC) tools/xskshim/xskshim.h $(LAUNCH_CFG)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(filter-out -I$(B),$(CFLAGS)) -fPIE -pie $(LDFLAGS) -include $(LAUNCH_CFG) -o $@ $(LAUNCH_SRC) $(STAT_LIBS)

# What an installation needs (the package builds only these).
.PHONY: programs
programs: $(LIB) $(STAT_BIN) $(LAUNCH_BIN)

.PHONY: install uninstall
install: $(LIB) $(STAT_BIN) $(LAUNCH_BIN) $(MAN7) $(MAN1)
	install -D -m 0644 $(LIB) $(DESTDIR)$(LIBDIR)/libxskshim.so
	install -D -m 0755 $(STAT_BIN) $(DESTDIR)$(BINDIR)/xskshim-stat
	install -D -m 0755 $(LAUNCH_BIN) $(DESTDIR)$(BINDIR)/xskshim
	install -D -m 0644 $(MAN7) $(DESTDIR)$(MAN7DIR)/xskshim.7
	install -D -m 0644 -t $(DESTDIR)$(MAN1DIR) $(MAN1)

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libxskshim.so $(DESTDIR)$(BINDIR)/xskshim-stat $(DESTDIR)$(BINDIR)/xskshim \
	      $(DESTDIR)$(MAN7DIR)/xskshim.7 $(DESTDIR)$(MAN1DIR)/xskshim.1 $(DESTDIR)$(MAN1DIR)/xskshim-stat.1

# ---- the Debian package -------------------------------------------------------
# `make deb` builds build/xskshim_<version>_<arch>.deb with debhelper from a
# copy of the tree in build/deb/src (dpkg-buildpackage writes its results to
# the parent directory, and its clean step must not touch this tree);
# `make test-package` builds it, runs lintian and the install / use / purge
# cycle of tests/package.sh (root, network namespaces).
DEB_VERSION := $(shell dpkg-parsechangelog -S Version 2>/dev/null)
DEB_ARCH    := $(shell dpkg-architecture -qDEB_HOST_ARCH 2>/dev/null)
DEB         := $(B)/xskshim_$(DEB_VERSION)_$(DEB_ARCH).deb

.PHONY: deb test-package
deb:
	scripts/deps.sh
	rm -rf $(B)/deb && mkdir -p $(B)/deb/src
	tar -C . --exclude=./build --exclude='./build-*' --exclude=./.git --exclude=./results -cf - . | \
		tar -C $(B)/deb/src -xf -
	cd $(B)/deb/src && dpkg-buildpackage -b -us -uc >../build.log 2>&1 || \
		{ tail -30 ../build.log; exit 1; }
	cp $(B)/deb/xskshim_$(DEB_VERSION)_$(DEB_ARCH).deb $(DEB)
	@echo "deb: $(DEB)"

test-package:
	$(MAKE) deb
	tests/package.sh $(DEB)
