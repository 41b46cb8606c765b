/* bench_nano guest: what the kernel (kernel.c), the ring-3 driver (user.c)
 * and the timed loops (loops.S) agree on: selectors, the two page-table
 * regions the benchmarks play with, the operations and where their batch
 * timings are kept. */
#ifndef BENCH_NANO_H
#define BENCH_NANO_H

/* The GDT layout SYSENTER/SYSEXIT assume: user CS = kernel CS + 16. */
#define KCODE  0x08
#define KDATA  0x10
#define UCODE  0x1B
#define UDATA  0x23
#define TSSSEL 0x28

#define PAGE 4096
/* Pages per batch of the page-fault and PTE benchmarks (one page table). */
#define NPAGES 256
/* The ring-3 page-fault region (not present at the start of each batch)
 * and the ring-0 PTE region, each with a page table of its own. */
#define PF_BASE  0x40000000
#define PTE_BASE 0x40400000

/* int $0x81 from ring 3 (untimed services); int $0x80 is the timed one. */
#define VEC_SYSCALL 0x80
#define VEC_SERVICE 0x81
#define SVC_UNMAP_PF 1		/* the page-fault region back to not present */
#define SVC_DONE     2		/* report and end */

/* Batches per operation: the first warms up and is not counted. Short
 * batches (well under a millisecond natively) and many of them: on a busy
 * host the median batch is then one nothing else ran in. */
#define NANO_RUNS 64
/* Loop iterations per batch (native_nano.c uses the same). */
#define N_COMPUTE  250000
#define N_CALLRET  25000	/* x4 call/ret */
#define N_SYSCALL  200
#define N_DIVZERO  200
#define N_PGFAULT  64
#define N_PORTIO   1000
#define N_CR3      200
#define N_FLAGS    10000	/* x4 cli;sti or pushf;popf */

#ifndef __ASSEMBLER__
#include <stdint.h>

enum nano_op {
	OP_EMPTY0, OP_EMPTY3,		/* the timing overhead of each ring */
	OP_SYSCALL, OP_SYSENTER, OP_IN, OP_OUT, OP_CR3, OP_CALLRET0, OP_CALLRET3, OP_PGFAULT, OP_DIVZERO,
	OP_PTE_SAME, OP_PTE_MAP, OP_PTE_UNMAP, OP_CLISTI, OP_PUSHFPOPF, OP_COMPUTE,
	OP_COUNT
};

/* Filled by both rings (every page is user-writable here). */
struct nano_results {
	uint32_t cyc[OP_COUNT][NANO_RUNS];	/* TSC cycles of each batch */
	uint32_t ops[OP_COUNT];			/* operations per batch */
	uint8_t ran[OP_COUNT];
};
extern struct nano_results nano_res;
extern uint32_t nano_sep;			/* CPUID reports SEP: sysenter is timed */

/* loops.S: each runs its operation n times (n > 0). */
void k_empty(uint32_t n);
void k_in_loop(uint32_t n);
void k_out_loop(uint32_t n);
void k_cr3_loop(uint32_t n);
void k_callret_loop(uint32_t n);	/* 4 call/ret per iteration */
void k_clisti_loop(uint32_t n);		/* 4 cli;sti per iteration */
void k_pushfpopf_loop(uint32_t n);	/* 4 pushf;popf per iteration */
void k_pte_map(uint32_t n);		/* n PTEs of the PTE region: 0 -> present */
void k_pte_same(uint32_t n);		/* n PTEs rewritten with their own value */
void k_pte_unmap(uint32_t n);		/* n PTEs: present -> 0, invlpg */
void k_pte_touch(uint32_t n);		/* reads each of the n pages */
uint64_t k_tsc(void);			/* rdtsc, on a page -mode te translates */
void k_syscall_stub(void);		/* the int $0x80 handler: iret */
void k_sysenter_entry(void);		/* sti; sysexit */
void u_empty(uint32_t n);
void u_syscall_loop(uint32_t n);
void u_sysenter_loop(uint32_t n);
void u_callret_loop(uint32_t n);	/* 4 call/ret per iteration */
void u_pgfault_loop(uint32_t n);	/* reads the first n pages of the fault region */
void u_divzero_loop(uint32_t n);
void u_compute_loop(uint32_t n);
uint64_t u_tsc(void);
void u_main(void);
#endif

#endif
