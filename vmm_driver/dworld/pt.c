/* The driver world's map/unmap/protect (world.h) as page-table writes: no
 * host call, no switch; a changed entry is flushed from this CPU's TLB (one
 * invlpg per page for short runs, a CR3 reload for long ones).
 * Environment: monitor (driver world), interrupts off; and the unit test. */
#include <stdbool.h>
#include "world.h"
#include "xpage.h"
#include "pt.h"

struct dw_pt dw_pt;

/* Past this many pages a full flush is cheaper than invlpg each. */
#define FLUSH_ALL_PAGES 32u

/* Guest pages are never executable unless WP_X says directly executed
 * code may fetch from them (translated code runs from the monitor area). */
static uint64_t prot_bits(int prot)
{
	int access = prot & (WP_RO | WP_RW);
	uint64_t e = access == WP_RW ? DW_PTE_P | DW_PTE_RW | DW_PTE_US :
		     access == WP_RO ? DW_PTE_P | DW_PTE_US : 0;
	return e && !(prot & WP_X) ? e | DW_PTE_NX : e;
}

/* The range must be whole pages below the monitor's area. */
static bool range_ok(uint32_t lin, uint32_t len)
{
	uint64_t end = (uint64_t)lin + len;
	return !(lin & 0xfff) && !(len & 0xfff) && end <= (uint64_t)dw_pt.user_limit << 12;
}

static void flush(uint32_t lin, uint32_t pages)
{
	if (pages > FLUSH_ALL_PAGES) {
		dw_tlb_flush_all();
		return;
	}
	for (uint32_t i = 0; i < pages; i++)
		dw_tlb_flush_page(lin + (i << 12));
}

int dw_pt_map(uint32_t lin, uint32_t len, uint32_t pa, int prot)
{
	if (!range_ok(lin, len) || (pa & 0xfff) || (uint64_t)pa + len > (uint64_t)dw_pt.ram_pages << 12)
		return -1;
	uint32_t first = lin >> 12, n = len >> 12, ppn = pa >> 12;
	for (uint32_t i = 0; i < n; i++)
		dw_pt.pte[first + i] = dw_pt.ram_pa[ppn + i] | DW_PTE_MAPPED | prot_bits(prot);
	flush(lin, n);
	return 0;
}

int dw_pt_unmap(uint32_t lin, uint32_t len)
{
	if (!range_ok(lin, len))
		return -1;
	uint32_t first = lin >> 12, n = len >> 12;
	for (uint32_t i = 0; i < n; i++)
		dw_pt.pte[first + i] = 0;
	flush(lin, n);
	return 0;
}

int dw_pt_protect(uint32_t lin, uint32_t len, int prot)
{
	if (!range_ok(lin, len))
		return -1;
	uint32_t first = lin >> 12, n = len >> 12;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t e = dw_pt.pte[first + i];
		if (e & DW_PTE_MAPPED)
			dw_pt.pte[first + i] = (e & ~(DW_PTE_P | DW_PTE_RW | DW_PTE_US | DW_PTE_NX)) | prot_bits(prot);
	}
	flush(lin, n);
	return 0;
}
