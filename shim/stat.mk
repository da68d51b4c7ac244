# shim/stat.mk - xskshim-stat (the statistics viewer), the xskshim(7) man
# page, and `make install` / `make uninstall`.  Included by the top Makefile
# before its own rules.

# This fragment is read before `all:` is defined: keep `all` the default goal.
.DEFAULT_GOAL := all

# xskshim-stat is a program of its own, never part of libxskshim.so.
SHIM_SRC  := $(filter-out shim/xskshim-stat.c,$(SHIM_SRC))
SHIM_OBJ  := $(filter-out $(B)/shim/xskshim-stat.o,$(SHIM_OBJ))

STAT_BIN  := $(B)/xskshim-stat
STAT_LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf)
MAN7      := shim/xskshim.7
EXTRA_ALL += $(STAT_BIN)

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
LIBDIR    ?= $(PREFIX)/lib
MAN7DIR   ?= $(PREFIX)/share/man/man7

$(STAT_BIN): shim/xskshim-stat.c shim/stats.h bpf/xskshim_bpf.h ring/ring.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIE -pie -o $@ $< $(STAT_LIBS)

.PHONY: install uninstall
install: $(LIB) $(STAT_BIN) $(MAN7)
	install -D -m 0755 $(LIB) $(DESTDIR)$(LIBDIR)/libxskshim.so
	install -D -m 0755 $(STAT_BIN) $(DESTDIR)$(BINDIR)/xskshim-stat
	install -D -m 0644 $(MAN7) $(DESTDIR)$(MAN7DIR)/xskshim.7

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libxskshim.so $(DESTDIR)$(BINDIR)/xskshim-stat \
	      $(DESTDIR)$(MAN7DIR)/xskshim.7
