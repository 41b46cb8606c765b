/* How a test guest reports its verdict: PASS/FAIL lines on COM1 followed by
 * a write to the debug exit port 0xF4 (0 = pass, 2 = fail), then halt. */
#ifndef GUEST_EXIT_H
#define GUEST_EXIT_H
#include <stdint.h>

#define DEBUG_EXIT_PORT 0xF4

__attribute__((noreturn)) void pass(void);
__attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...);
__attribute__((noreturn)) void guest_exit(uint32_t code);

/* Prints "ok <guest>.<what>" so a hang or crash can be located. */
void progress(const char *what);

/* Fail with both values in hex unless they are equal. */
void check_eq(const char *what, uint32_t expected, uint32_t actual);
void check_eq64(const char *what, uint64_t expected, uint64_t actual);
/* Fail unless cond holds. */
void check_true(const char *what, int cond);

#endif
