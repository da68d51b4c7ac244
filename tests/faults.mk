# tests/faults.mk - fault-test extras (tests/t_fault_*.sh, tests/t_hostile.sh
# run in `make test` like every tests/t_*.sh):
#   make soak           scripts/soak: >= 50 M datagrams at ~80% of the shim's
#                       sustainable rate, zero loss, flat RSS, intact frame
#                       accounting (minutes; NOT part of `make test`)
#   make test-sanitize  builds the shim with ASan+UBSan into $(SAN_B)/ (a
#                       separate build directory: the top Makefile's B and CC
#                       are overridden on a recursive make) and runs an e2e
#                       receive plus fault tests with it preloaded
#                       (tests/fault_sanitize.sh).
# Included by the top Makefile before `all:` is defined: keep `all` the
# default goal.
.DEFAULT_GOAL := all

SAN_B     ?= build/asan
SAN_FLAGS ?= -fsanitize=address,undefined -fno-omit-frame-pointer

.PHONY: soak test-sanitize
soak: all
	scripts/soak

test-sanitize: all
	$(MAKE) --no-print-directory B=$(SAN_B) CC="$(CC) $(SAN_FLAGS)" $(SAN_B)/libxskshim.so
	SAN_SHIM=$(CURDIR)/$(SAN_B)/libxskshim.so CC="$(CC)" tests/fault_sanitize.sh
