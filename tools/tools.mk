# tools/tools.mk - the operator's tools: xskshim-stat (tools/xskshim-stat/,
# reads only the statistics ABI shim/stats.h), the xskshim launcher
# (tools/xskshim), their man pages, `make install` / `make uninstall`.
# Included by the top Makefile before its own rules.

# This fragment is read before `all:` is defined: keep `all` the default goal.
.DEFAULT_GOAL := all

STAT_SRC  := $(wildcard tools/xskshim-stat/*.c)
STAT_BIN  := $(B)/xskshim-stat
STAT_LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf)
MAN7      := shim/xskshim.7
EXTRA_ALL += $(STAT_BIN)

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
LIBDIR    ?= $(PREFIX)/lib
MAN7DIR   ?= $(PREFIX)/share/man/man7

# The tool sees the statistics ABI and its own header, nothing of shim/,
# ring/ or bpf/: -I. only, and the check below fails on any other include.
$(STAT_BIN): $(STAT_SRC) tools/xskshim-stat/stat.h shim/stats.h
	@mkdir -p $(@D)
	@bad=$$(grep -Hn '^#include "' $(STAT_SRC) tools/xskshim-stat/stat.h shim/stats.h | \
		grep -v '"shim/stats.h"\|"tools/xskshim-stat/stat.h"'); \
	 if [ -n "$$bad" ]; then echo "xskshim-stat may include only shim/stats.h: $$bad" >&2; exit 1; fi
	$(CC) $(filter-out -I$(B),$(CFLAGS)) -fPIE -pie -o $@ $(STAT_SRC) $(STAT_LIBS)

.PHONY: install uninstall
install: $(LIB) $(STAT_BIN) $(MAN7)
	install -D -m 0755 $(LIB) $(DESTDIR)$(LIBDIR)/libxskshim.so
	install -D -m 0755 $(STAT_BIN) $(DESTDIR)$(BINDIR)/xskshim-stat
	install -D -m 0644 $(MAN7) $(DESTDIR)$(MAN7DIR)/xskshim.7

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libxskshim.so $(DESTDIR)$(BINDIR)/xskshim-stat \
	      $(DESTDIR)$(MAN7DIR)/xskshim.7
