/* bench_nano guest (a benchmark, not a test; make bench-nano): the
 * operations of Adams & Agesen's nanobenchmark table, each timed with
 * rdtsc as the median of NANO_RUNS - 1 batches less the median of empty
 * batches, printed as "nano: <op> <cycles per operation>". This file is
 * the kernel: a GDT with DPL-3 segments and the layout SYSENTER needs, a
 * TSS, paging with every page user-accessible, the handlers the ring-3
 * operations go through (int $0x80 is a bare iret, #PF maps the faulting
 * page, #DE skips the divide), the ring-0 timings, then the iret into
 * the ring-3 driver (user.c), whose last service call reports.
 * Environment: ring 0; interrupts on while timing (every PIC line masked),
 * off in the handlers. */
#include <stdint.h>
#include "boot.h"
#include "desc.h"
#include "exit.h"
#include "idt.h"
#include "io.h"
#include "pic.h"
#include "serial.h"
#include "nano.h"

GUEST_NAME("bench_nano");

#define P 1u
#define W 2u
#define U 4u

static uint64_t gdt[6];
static uint32_t tss[26];
static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[4][1024] __attribute__((aligned(4096)));
static uint32_t pt_pf[1024] __attribute__((aligned(4096)));
uint32_t pt_pte[1024] __attribute__((aligned(4096)));
static uint8_t pf_frames[NPAGES][PAGE] __attribute__((aligned(4096)));
uint8_t pte_frames[NPAGES][PAGE] __attribute__((aligned(4096)));
static uint8_t kstack[16384] __attribute__((aligned(4096)));
static uint8_t ustack[16384] __attribute__((aligned(4096)));

struct nano_results nano_res __attribute__((aligned(4096)));
uint32_t nano_sep;
static uint32_t guest_tsc_khz;

static const char *const op_names[OP_COUNT] = {
	[OP_EMPTY0] = "overhead0", [OP_EMPTY3] = "overhead3",
	[OP_SYSCALL] = "syscall", [OP_SYSENTER] = "sysenter", [OP_IN] = "in", [OP_OUT] = "out",
	[OP_CR3] = "cr3", [OP_CALLRET0] = "callret0", [OP_CALLRET3] = "callret3", [OP_PGFAULT] = "pgfault",
	[OP_DIVZERO] = "divzero", [OP_PTE_SAME] = "pte_same", [OP_PTE_MAP] = "pte_map",
	[OP_PTE_UNMAP] = "pte_unmap", [OP_CLISTI] = "clisti", [OP_PUSHFPOPF] = "pushfpopf",
	[OP_COMPUTE] = "compute",
};

static uint32_t tsc_lo(void)
{
	return (uint32_t)k_tsc();
}

static void invlpg(uint32_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* ---- handlers ---- */

static void on_pf(struct int_frame *f)
{
	uint32_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	uint32_t i = (cr2 - PF_BASE) / PAGE;
	if ((f->cs & 3) != 3 || cr2 < PF_BASE || i >= NPAGES || (pt_pf[i] & P))
		fail("unexpected #PF at eip 0x%08x cr2 0x%08x error 0x%x", f->eip, cr2, f->error_code);
	pt_pf[i] = (uint32_t)pf_frames[i] | P | W | U;
	invlpg(cr2);
}

static void on_de(struct int_frame *f)
{
	if ((f->cs & 3) != 3)
		fail("#DE in the kernel at eip 0x%08x", f->eip);
	f->eip += 2;
}

static void report(void);

static void on_service(struct int_frame *f)
{
	switch (f->eax) {
	case SVC_UNMAP_PF:
		for (uint32_t i = 0; i < NPAGES; i++) {
			if (pt_pf[i] & P) {
				pt_pf[i] = 0;
				invlpg(PF_BASE + i * PAGE);
			}
		}
		break;
	case SVC_DONE:
		report();
		pass();
	default:
		fail("unknown service %u", f->eax);
	}
}

static void on_irq(struct int_frame *f)
{
	pic_eoi(f->vector - 0x20);
}

/* ---- set-up ---- */

static void tables_init(void)
{
	gdt[1] = seg_desc(0, 0xFFFFF, ACC_CODE_RX, FLG_G | FLG_D);
	gdt[2] = seg_desc(0, 0xFFFFF, ACC_DATA_RW, FLG_G | FLG_D);
	gdt[3] = seg_desc(0, 0xFFFFF, 0xFB, FLG_G | FLG_D);		/* user code, accessed */
	gdt[4] = seg_desc(0, 0xFFFFF, ACC_DATA_RW3, FLG_G | FLG_D);
	gdt[5] = seg_desc((uint32_t)tss, sizeof(tss) - 1, ACC_TSS32, 0);
	struct dtr g = { sizeof(gdt) - 1, (uint32_t)gdt };
	lgdt(&g);
	__asm__ volatile("ljmp %0, $1f\n1:\n\tmovw %w1, %%ss\n\tmovw %w1, %%ds\n\tmovw %w1, %%es\n\t"
			 "movw %w1, %%fs\n\tmovw %w1, %%gs" : : "i"(KCODE), "r"(KDATA) : "memory");
	tss[1] = (uint32_t)kstack + sizeof(kstack);	/* ESP0 */
	tss[2] = KDATA;					/* SS0 */
	tss[25] = (uint32_t)sizeof(tss) << 16;		/* no I/O bitmap */
	__asm__ volatile("ltr %w0" : : "r"(TSSSEL));

	idt_init();
	idt_set_handler(0, on_de, GATE_INTR);
	idt_set_handler(14, on_pf, GATE_INTR);
	idt_set_handler(VEC_SERVICE, on_service, GATE_INTR);
	idt_set_raw(VEC_SERVICE, idt_stub_addr(VEC_SERVICE), KCODE, 0xEE);	/* DPL 3 */
	idt_set_raw(VEC_SYSCALL, (uint32_t)k_syscall_stub, KCODE, 0xEE);
	for (unsigned v = 0x20; v < 0x30; v++)
		idt_set_handler((uint8_t)v, on_irq, GATE_INTR);
	pic_remap(0x20, 0x28);
	pic_set_mask(0xFFFF);
}

static void paging_init(void)
{
	for (unsigned t = 0; t < 4; t++) {
		for (unsigned i = 0; i < 1024; i++)
			pt_low[t][i] = ((t * 1024 + i) * PAGE) | P | W | U;
		pd[t] = (uint32_t)pt_low[t] | P | W | U;
	}
	pd[PF_BASE >> 22] = (uint32_t)pt_pf | P | W | U;
	pd[PTE_BASE >> 22] = (uint32_t)pt_pte | P | W;
	__asm__ volatile("mov %0, %%cr3" : : "r"(pd) : "memory");
	uint32_t cr0, cr4;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	cr0 &= ~(1u << 2) & ~(1u << 3);			/* EM, TS */
	cr0 |= (1u << 1) | (1u << 5) | (1u << 16) | (1u << 31);	/* MP, NE, WP, PG */
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 |= (1u << 9) | (1u << 10);			/* OSFXSR, OSXMMEXCPT: user code may run directly */
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
	__asm__ volatile("fninit");
}

static void sysenter_init(void)
{
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1));
	uint32_t family = (a >> 8) & 0xF, model = (a >> 4) & 0xF, stepping = a & 0xF;
	/* The Pentium Pro reports SEP without having it (SDM, SYSENTER). */
	nano_sep = (d & (1u << 11)) && !(family == 6 && model < 3 && stepping < 3);
	if (!nano_sep)
		return;
	const uint32_t msr[3][2] = {
		{ 0x174, KCODE }, { 0x175, (uint32_t)kstack + sizeof(kstack) }, { 0x176, (uint32_t)k_sysenter_entry },
	};
	for (int i = 0; i < 3; i++)
		__asm__ volatile("wrmsr" : : "c"(msr[i][0]), "a"(msr[i][1]), "d"(0));
}

/* The guest's own idea of its TSC rate, as Linux finds it: 50 ms of PIT
 * channel 2 (gate through port 0x61, mode 0), interrupts off. */
static void calibrate_tsc(void)
{
	const uint32_t count = 59659;			/* 50 ms at 1.193182 MHz */
	outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01));
	outb(0x43, 0xB0);
	outb(0x42, count & 0xFF);
	outb(0x42, count >> 8);
	uint32_t t0 = tsc_lo();
	uint32_t polls = 0;
	while (!(inb(0x61) & 0x20))
		if (++polls > 100000000u)
			fail("PIT channel 2 never counted down");
	guest_tsc_khz = (tsc_lo() - t0) / 50;
}

/* ---- ring-0 timings ---- */

static void k_time(enum nano_op op, void (*loop)(uint32_t), uint32_t n, uint32_t per)
{
	nano_res.ops[op] = n * per;
	for (int b = 0; b < NANO_RUNS; b++) {
		uint32_t t0 = tsc_lo();
		loop(n);
		nano_res.cyc[op][b] = tsc_lo() - t0;
	}
	nano_res.ran[op] = 1;
}

/* Each batch maps the region's pages, touches them (untimed: the
 * entries are then in use when rewritten), rewrites them unchanged and
 * unmaps them. */
static void k_time_pte(void)
{
	for (int b = 0; b < NANO_RUNS; b++) {
		uint32_t t0 = tsc_lo();
		k_pte_map(NPAGES);
		uint32_t t1 = tsc_lo();
		k_pte_touch(NPAGES);
		uint32_t t2 = tsc_lo();
		k_pte_same(NPAGES);
		uint32_t t3 = tsc_lo();
		k_pte_unmap(NPAGES);
		uint32_t t4 = tsc_lo();
		nano_res.cyc[OP_PTE_MAP][b] = t1 - t0;
		nano_res.cyc[OP_PTE_SAME][b] = t3 - t2;
		nano_res.cyc[OP_PTE_UNMAP][b] = t4 - t3;
	}
	for (int op = OP_PTE_SAME; op <= OP_PTE_UNMAP; op++) {
		nano_res.ops[op] = NPAGES;
		nano_res.ran[op] = 1;
	}
}

/* ---- the report ---- */

static uint32_t median(const uint32_t *cyc)
{
	uint32_t v[NANO_RUNS - 1];
	unsigned n = NANO_RUNS - 1;
	for (unsigned i = 0; i < n; i++) {
		uint32_t x = cyc[i + 1];	/* batch 0 warmed up */
		unsigned j = i;
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	return v[n / 2];
}

static void report(void)
{
	kprintf("nano-info: guest TSC %u.%03u MHz by PIT channel 2; SEP %s; %u batches per operation, "
		"medians, overhead subtracted\n", guest_tsc_khz / 1000, guest_tsc_khz % 1000,
		nano_sep ? "yes" : "no", NANO_RUNS - 1);
	uint32_t base0 = median(nano_res.cyc[OP_EMPTY0]), base3 = median(nano_res.cyc[OP_EMPTY3]);
	kprintf("nano-info: timing overhead %u cycles in ring 0, %u in ring 3\n", base0, base3);
	for (int op = OP_SYSCALL; op < OP_COUNT; op++) {
		if (!nano_res.ran[op]) {
			kprintf("nano: %s n/a\n", op_names[op]);
			continue;
		}
		int ring3 = op == OP_SYSCALL || op == OP_SYSENTER || op == OP_CALLRET3 || op == OP_PGFAULT ||
			    op == OP_DIVZERO || op == OP_COMPUTE;
		/* PTE batches have no call of their own to subtract. */
		int pte = op == OP_PTE_SAME || op == OP_PTE_MAP || op == OP_PTE_UNMAP;
		uint32_t m = median(nano_res.cyc[op]), base = pte ? 0 : ring3 ? base3 : base0;
		uint32_t d = m > base ? m - base : 0, n = nano_res.ops[op];
		/* (n is at most a few hundred thousand: no overflow) */
		uint32_t whole = d / n, frac = (d % n) * 1000 / n;
		kprintf("nano: %s %u.%03u\n", op_names[op], whole, frac);
	}
}

/* ---- the way into ring 3 ---- */

static __attribute__((noreturn)) void enter_ring3(void)
{
	__asm__ volatile("movw %w0, %%ds\n\tmovw %w0, %%es\n\tmovw %w0, %%fs\n\tmovw %w0, %%gs\n\t"
			 "pushl %0\n\tpushl %1\n\tpushl $0x202\n\tpushl %2\n\tpushl %3\n\tiret"
			 : : "r"((uint32_t)UDATA), "r"((uint32_t)ustack + sizeof(ustack)), "i"(UCODE), "r"(u_main)
			 : "memory");
	__builtin_unreachable();
}

void guest_main(void)
{
	tables_init();
	paging_init();
	sysenter_init();
	calibrate_tsc();
	sti();
	k_time(OP_EMPTY0, k_empty, 1, 1);
	k_time(OP_IN, k_in_loop, N_PORTIO, 1);
	k_time(OP_OUT, k_out_loop, N_PORTIO, 1);
	k_time(OP_CR3, k_cr3_loop, N_CR3, 1);
	k_time(OP_CALLRET0, k_callret_loop, N_CALLRET, 4);
	k_time(OP_CLISTI, k_clisti_loop, N_FLAGS, 4);
	k_time(OP_PUSHFPOPF, k_pushfpopf_loop, N_FLAGS, 4);
	k_time_pte();
	enter_ring3();
}
