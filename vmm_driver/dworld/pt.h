/* The driver world's guest-linear page tables, as the monitor edits them:
 * one 64-bit entry per 4 KiB page of the low 4 GiB, in a linear array the
 * module preallocates and maps (xpage.h, DW_PTE_VA), pointing at the
 * pinned guest RAM pages whose host-physical addresses it lists.
 * Environment: monitor (driver world), interrupts off; and the unit test. */
#ifndef DW_PT_H
#define DW_PT_H
#include <stdint.h>

/* A software bit: the entry holds a guest-physical page's address, even
 * while protect(WP_NONE) has it not present. */
#define DW_PTE_MAPPED (1ull << 9)

struct dw_pt {
	uint64_t *pte;            /* [1 << 20] */
	const uint64_t *ram_pa;   /* host-physical address of each guest RAM page */
	uint32_t ram_pages;
	uint32_t user_limit;      /* linear pages at or above it are the monitor's (MON_BASE) */
};
extern struct dw_pt dw_pt;

int dw_pt_map(uint32_t lin, uint32_t len, uint32_t pa, int prot);
int dw_pt_unmap(uint32_t lin, uint32_t len);
int dw_pt_protect(uint32_t lin, uint32_t len, int prot);
/* The TLB (cpu.c; the unit test counts the calls instead). */
void dw_tlb_flush_page(uint32_t lin);
void dw_tlb_flush_all(void);
#endif
