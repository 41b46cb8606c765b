/* bench_nano guest: the ring-3 driver. It times the ring-3 operations in
 * batches (the loops of loops.S between two reads of the TSC through
 * u_tsc, whose page runs translated), keeps every batch's cycles in
 * nano_res and asks the kernel to report. Its own page holds none of the
 * instructions that keep a page from running directly.
 * Environment: ring 3, interrupts on, flat user segments. */
#include <stdint.h>
#include "nano.h"

#define UTEXT __attribute__((section("utext"), noinline))

static UTEXT void u_service(uint32_t what)
{
	__asm__ volatile("int %1" : : "a"(what), "i"(VEC_SERVICE) : "memory");
}

/* n loops of `per` operations each, NANO_RUNS times; the page-fault
 * region is unmapped before each batch, outside the timed part. */
static UTEXT void u_time(enum nano_op op, void (*loop)(uint32_t), uint32_t n, uint32_t per)
{
	nano_res.ops[op] = n * per;
	for (int b = 0; b < NANO_RUNS; b++) {
		if (op == OP_PGFAULT)
			u_service(SVC_UNMAP_PF);
		uint32_t t0 = (uint32_t)u_tsc();
		loop(n);
		uint32_t t1 = (uint32_t)u_tsc();
		nano_res.cyc[op][b] = t1 - t0;
	}
	nano_res.ran[op] = 1;
}

__attribute__((section("utext"), aligned(4096), noinline, used)) void u_main(void)
{
	u_time(OP_EMPTY3, u_empty, 1, 1);
	u_time(OP_COMPUTE, u_compute_loop, N_COMPUTE, 1);
	u_time(OP_CALLRET3, u_callret_loop, N_CALLRET, 4);
	u_time(OP_SYSCALL, u_syscall_loop, N_SYSCALL, 1);
	if (nano_sep)
		u_time(OP_SYSENTER, u_sysenter_loop, N_SYSCALL, 1);
	u_time(OP_DIVZERO, u_divzero_loop, N_DIVZERO, 1);
	u_time(OP_PGFAULT, u_pgfault_loop, N_PGFAULT, 1);
	u_service(SVC_DONE);
	for (;;)
		;
}
