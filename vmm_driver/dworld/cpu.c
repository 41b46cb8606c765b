/* The driver world's TLB maintenance for pt.c: the monitor runs at CPL 0 in
 * its own address space, so it flushes its own entries.
 * Environment: monitor (driver world), CPL 0, interrupts off. */
#include <stdint.h>
#include "pt.h"

void dw_tlb_flush_page(uint32_t lin)
{
	__asm__ volatile("invlpg (%0)" :: "r"((uintptr_t)lin) : "memory");
}

/* Its entries are not global: reloading CR3 drops them all. */
void dw_tlb_flush_all(void)
{
	uintptr_t cr3;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	__asm__ volatile("mov %0, %%cr3" :: "r"(cr3) : "memory");
}
