/* Unit tests for the driver world's map/unmap/protect (vmm_driver/dworld/
 * pt.c): the entries written for each protection, the pages' host-physical
 * addresses, protect keeping an entry's page while it is not present, the
 * range checks (alignment, RAM bounds, the monitor's area), WP_X against NX, and the TLB
 * flushes (one per page for short runs, one full flush for long ones). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>
#include "world.h"
#include "mon_area.h"
#include "xpage.h"
#include "dworld/pt.h"

#define RAM_PAGES 256u
static uint64_t ram_pa[RAM_PAGES];
static unsigned page_flushes, full_flushes;
static uint32_t last_flushed;

void dw_tlb_flush_page(uint32_t lin) { page_flushes++; last_flushed = lin; }
void dw_tlb_flush_all(void) { full_flushes++; }

static int setup(void **state)
{
	(void)state;
	dw_pt.pte = calloc(1u << 20, sizeof(uint64_t));
	for (unsigned i = 0; i < RAM_PAGES; i++)
		ram_pa[i] = 0x100000000ull + (uint64_t)(RAM_PAGES - i) * 0x3000;   /* scattered, above 4 GiB */
	dw_pt.ram_pa = ram_pa;
	dw_pt.ram_pages = RAM_PAGES;
	dw_pt.user_limit = MON_BASE >> 12;
	page_flushes = full_flushes = 0;
	return dw_pt.pte ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(dw_pt.pte);
	return 0;
}

static void test_map_entries(void **state)
{
	(void)state;
	assert_int_equal(dw_pt_map(0x400000, 0x2000, 0x5000, WP_RW), 0);
	assert_true(dw_pt.pte[0x400] == (ram_pa[5] | DW_PTE_MAPPED | DW_PTE_P | DW_PTE_RW | DW_PTE_US | DW_PTE_NX));
	assert_true(dw_pt.pte[0x401] == (ram_pa[6] | DW_PTE_MAPPED | DW_PTE_P | DW_PTE_RW | DW_PTE_US | DW_PTE_NX));
	assert_true(dw_pt.pte[0x402] == 0);
	assert_int_equal(page_flushes, 2);
	assert_int_equal(last_flushed, 0x401000);
	assert_int_equal(dw_pt_map(0x0, 0x1000, 0x0, WP_RO), 0);   /* page 0 too: no host rule here */
	assert_true(dw_pt.pte[0] == (ram_pa[0] | DW_PTE_MAPPED | DW_PTE_P | DW_PTE_US | DW_PTE_NX));
	assert_int_equal(dw_pt_map(0x1000, 0x1000, 0x1000, WP_NONE), 0);
	assert_true(dw_pt.pte[1] == (ram_pa[1] | DW_PTE_MAPPED));
	/* WP_X: directly executed code may fetch from it. */
	assert_int_equal(dw_pt_map(0x2000, 0x1000, 0x2000, WP_RO | WP_X), 0);
	assert_true(dw_pt.pte[2] == (ram_pa[2] | DW_PTE_MAPPED | DW_PTE_P | DW_PTE_US));
	assert_int_equal(dw_pt_protect(0x2000, 0x1000, WP_RW), 0);
	assert_true(dw_pt.pte[2] == (ram_pa[2] | DW_PTE_MAPPED | DW_PTE_P | DW_PTE_RW | DW_PTE_US | DW_PTE_NX));
}

static void test_protect_keeps_page(void **state)
{
	(void)state;
	assert_int_equal(dw_pt_map(0x10000, 0x1000, 0x3000, WP_RW), 0);
	assert_int_equal(dw_pt_protect(0x10000, 0x1000, WP_NONE), 0);
	assert_true(dw_pt.pte[0x10] == (ram_pa[3] | DW_PTE_MAPPED));
	assert_int_equal(dw_pt_protect(0x10000, 0x1000, WP_RO), 0);
	assert_true(dw_pt.pte[0x10] == (ram_pa[3] | DW_PTE_MAPPED | DW_PTE_P | DW_PTE_US | DW_PTE_NX));
	/* protect on a page never mapped leaves it unmapped. */
	assert_int_equal(dw_pt_protect(0x20000, 0x1000, WP_RW), 0);
	assert_true(dw_pt.pte[0x20] == 0);
	assert_int_equal(dw_pt_unmap(0x10000, 0x1000), 0);
	assert_true(dw_pt.pte[0x10] == 0);
}

static void test_range_checks(void **state)
{
	(void)state;
	assert_int_equal(dw_pt_map(0x400800, 0x1000, 0, WP_RW), -1);           /* unaligned linear */
	assert_int_equal(dw_pt_map(0x400000, 0x800, 0, WP_RW), -1);            /* partial page */
	assert_int_equal(dw_pt_map(0x400000, 0x1000, 0x10, WP_RW), -1);        /* unaligned physical */
	assert_int_equal(dw_pt_map(0x400000, 0x2000, (RAM_PAGES - 1) << 12, WP_RW), -1);  /* past RAM */
	assert_int_equal(dw_pt_map(MON_BASE, 0x1000, 0, WP_RW), -1);           /* the monitor's area */
	assert_int_equal(dw_pt_map(MON_BASE - 0x1000, 0x2000, 0, WP_RW), -1);
	assert_int_equal(dw_pt_unmap(MON_BASE, 0x1000), -1);
	assert_int_equal(dw_pt_protect(0xfffff000u, 0x1000, WP_RO), -1);
	assert_int_equal(dw_pt_map(0xfffff000u, 0xffffe000u, 0, WP_RW), -1);  /* wraps */
	for (uint32_t i = 0; i < (1u << 20); i++)
		assert_true(dw_pt.pte[i] == 0);
	assert_int_equal(page_flushes + full_flushes, 0);
}

static void test_long_run_flushes_all(void **state)
{
	(void)state;
	assert_int_equal(dw_pt_map(0, RAM_PAGES << 12, 0, WP_RW), 0);
	assert_int_equal(full_flushes, 1);
	assert_int_equal(page_flushes, 0);
	for (uint32_t i = 0; i < RAM_PAGES; i++)
		assert_true((dw_pt.pte[i] & 0x000ffffffffff000ull) == ram_pa[i]);
	assert_int_equal(dw_pt_unmap(0, RAM_PAGES << 12), 0);
	assert_int_equal(full_flushes, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_map_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protect_keeps_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_run_flushes_all, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
