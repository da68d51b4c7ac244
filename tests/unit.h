/* unit.h - the check line of the small unit tests (test_route, test_tx):
 * CHECK(cond, fmt, ...) prints one "PASS: "/"FAIL: " line saying what was
 * checked (tests/README.conventions) and counts failures in unit_fails. */
#ifndef XSKSHIM_TESTS_UNIT_H
#define XSKSHIM_TESTS_UNIT_H

#include <stdbool.h>
#include <stdio.h>

static int unit_fails;

#define CHECK(cond, ...)                                          \
	do {                                                      \
		bool ok_ = (cond);                                \
		printf("%s", ok_ ? "PASS: " : "FAIL: ");          \
		printf(__VA_ARGS__);                              \
		printf("\n");                                     \
		unit_fails += !ok_;                               \
	} while (0)

#endif /* XSKSHIM_TESTS_UNIT_H */
