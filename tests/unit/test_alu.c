/* Unit tests for the monitor's host-computed arithmetic (vmm/alu.c): the
 * results and arithmetic flags of a few operations at each size, the
 * guest's other flags left as they were, and the host's own flags kept
 * across the call (the driver world's EFLAGS.AC; ID stands in for it here,
 * as AC would turn on alignment checks in a user process). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <setjmp.h>
#include <cmocka.h>
#include "vm.h"

#define CF 0x001u
#define ZF 0x040u
#define SF 0x080u
#define OF 0x800u
#define ID (1ull << 21)

static uint64_t host_flags(void)
{
	uint64_t f;
	__asm__ volatile("pushfq; popq %0" : "=r"(f));
	return f;
}

static void set_host_flags(uint64_t f)
{
	__asm__ volatile("pushq %0; popfq" : : "r"(f) : "cc");
}

static void test_results_and_flags(void **state)
{
	(void)state;
	uint32_t fl = 0x202u;   /* IF and bit 1: the guest's, not the arithmetic's */
	assert_int_equal(emu_alu(A_ADD, 4, 0x7fffffffu, 1, &fl), 0x80000000u);
	assert_int_equal(fl & (CF | ZF | SF | OF), SF | OF);
	assert_int_equal(fl & 0x202u, 0x202u);
	assert_int_equal(emu_alu(A_SUB, 1, 0x10, 0x10, &fl), 0);
	assert_int_equal(fl & (CF | ZF | SF | OF), ZF);
	assert_int_equal(emu_alu(A_ADD, 2, 0xffff, 1, &fl), 0);
	assert_int_equal(fl & (CF | ZF), CF | ZF);
	fl |= CF;
	assert_int_equal(emu_alu(A_ADC, 4, 1, 1, &fl), 3);
	assert_int_equal(emu_alu(A_BTS, 4, 0, 5, &fl), 0x20);
	assert_int_equal(fl & CF, 0);
	assert_int_equal(emu_alu(A_XCHG, 4, 1, 7, &fl), 7);
}

/* Before: the guest's flags were loaded with popfq and left in the host's
 * EFLAGS, clearing every system flag the host had set. */
static void test_host_flags_kept(void **state)
{
	(void)state;
	uint64_t before = host_flags();
	set_host_flags(before | ID);
	uint32_t fl = CF;
	uint32_t r = emu_alu(A_SBB, 4, 5, 1, &fl);
	uint64_t after = host_flags();
	set_host_flags(before);
	assert_int_equal(r, 3);
	assert_true(after & ID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_results_and_flags),
		cmocka_unit_test(test_host_flags_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
