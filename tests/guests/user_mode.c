/* user_mode guest: ring 3 under paging. A TSS and ring-3 segments, an iret
 * into user code that reads a user page, then faults: a supervisor page
 * (#PF error P|U), a read-only user page (P|W|U), a not-present page (W|U),
 * cli and a port write without IOPL (#GP 0), and int $0x80 through a
 * DPL-3 gate; the handlers check the frames (user CS/SS/ESP) and the last
 * int $0x80 ends the test from ring 0. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "idt.h"
#include "serial.h"

GUEST_NAME("user_mode");

#define P 1u
#define W 2u
#define U 4u
#define PAGE 4096u
#define KCODE 0x08
#define KDATA 0x10
#define UCODE 0x1B
#define UDATA 0x23
#define TSSSEL 0x28

static uint64_t gdt[6];
static uint32_t tss[26];
static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt[4][1024] __attribute__((aligned(4096)));
static uint8_t user_stack[4096] __attribute__((aligned(4096)));
static uint8_t kernel_stack[8192] __attribute__((aligned(4096)));
static uint8_t sup_page[4096] __attribute__((aligned(4096)));
static uint8_t ro_page[4096] __attribute__((aligned(4096)));
static uint8_t np_page[4096] __attribute__((aligned(4096)));
static uint8_t user_data[4096] __attribute__((aligned(4096)));

static uint64_t desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (uint64_t)(limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) | ((uint64_t)access << 40) |
	       ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)(flags & 0xf) << 52) |
	       ((uint64_t)(base >> 24) << 56);
}

static uint32_t pte_of(const void *p) { return (uint32_t)p >> 12; }

/* What the handlers saw, in order. */
static volatile uint32_t log_vec[8], log_err[8], log_cr2[8], log_cs[8], nlog;
static volatile uint32_t bad_frame;

/* Frame from ring 3: ... eip, cs, eflags, then the user esp and ss. */
static void record(struct int_frame *f, uint32_t cr2)
{
	uint32_t *user = &f->eflags + 1;
	if (user[1] != UDATA || user[0] < (uint32_t)user_stack || user[0] > (uint32_t)user_stack + sizeof(user_stack))
		bad_frame = 1;
	if (nlog < 8) {
		log_vec[nlog] = f->vector; log_err[nlog] = f->error_code;
		log_cr2[nlog] = cr2; log_cs[nlog] = f->cs & 0xffff;
		nlog++;
	}
}

static void on_pf(struct int_frame *f)
{
	uint32_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	record(f, cr2);
	f->eip += 2;                      /* every probe is a 2-byte mov */
}

static void on_gp(struct int_frame *f)
{
	record(f, 0);
	f->eip += 1;                      /* cli, outb %al,(%dx): 1 byte */
}

static void on_syscall(struct int_frame *f)
{
	if (f->eax != 0xDEAD) {
		record(f, f->eax);
		f->eax = f->eax * 2;         /* an answer for user mode */
		return;
	}
	/* The end: checked from ring 0, never returning to user mode. */
	check_eq("frames from user mode (CS/SS/ESP)", 0, bad_frame);
	if (nlog != 6) {
		for (unsigned i = 0; i < nlog && i < 8; i++)
			kprintf("event %u: vector %x error %x cr2 %x cs %x\n", i, log_vec[i], log_err[i], log_cr2[i], log_cs[i]);
		fail("%u events seen, 6 expected", nlog);
	}
	static const uint32_t vec[6] = { 14, 14, 14, 13, 13, 0x80 };
	static const uint32_t err[6] = { P | U, P | W | U, W | U, 0, 0, 0 };
	for (unsigned i = 0; i < 6; i++) {
		check_eq("vector", vec[i], log_vec[i]);
		check_eq("error code", err[i], log_err[i]);
		check_eq("user CS in the frame", UCODE, log_cs[i]);
	}
	check_eq("CR2 of the supervisor-page read", (uint32_t)sup_page + 8, log_cr2[0]);
	check_eq("CR2 of the read-only write", (uint32_t)ro_page + 4, log_cr2[1]);
	check_eq("CR2 of the not-present write", (uint32_t)np_page, log_cr2[2]);
	check_eq("int $0x80 argument", 21, log_cr2[5]);
	check_eq("user-mode results", 0x600D, *(volatile uint32_t *)user_data);
	pass();
}

/* Runs in ring 3 (its pages are user pages). */
__attribute__((noinline)) static void user_main(void)
{
	volatile uint32_t *ud = (volatile uint32_t *)user_data;
	uint32_t v = 0, r = 21;
	ud[1] = 0x1234;                                          /* a user page: fine */
	__asm__ volatile("movl (%1), %0" : "+a"(v) : "c"(sup_page + 8));          /* #PF P|U */
	__asm__ volatile("movl %0, (%1)" : : "a"(v), "c"(ro_page + 4) : "memory"); /* #PF P|W|U */
	__asm__ volatile("movl %0, (%1)" : : "a"(v), "c"(np_page) : "memory");     /* #PF W|U */
	__asm__ volatile("cli");                                                     /* #GP(0) */
	__asm__ volatile("outb %%al, (%%dx)" : : "a"(0), "d"(0x80));               /* #GP(0) */
	__asm__ volatile("int $0x80" : "+a"(r));
	if (r == 42 && ud[1] == 0x1234)
		ud[0] = 0x600D;
	__asm__ volatile("int $0x80" : : "a"(0xDEAD));
	for (;;)
		;
}

void guest_main(void)
{
	gdt[1] = desc(0, 0xfffff, 0x9a, 0xc);    /* kernel code */
	gdt[2] = desc(0, 0xfffff, 0x92, 0xc);    /* kernel data */
	gdt[3] = desc(0, 0xfffff, 0xfa, 0xc);    /* user code, DPL 3 */
	gdt[4] = desc(0, 0xfffff, 0xf2, 0xc);    /* user data, DPL 3 */
	gdt[5] = desc((uint32_t)tss, sizeof(tss) - 1, 0x89, 0x0);
	struct __attribute__((packed)) { uint16_t limit; uint32_t base; } gdtr = { sizeof(gdt) - 1, (uint32_t)gdt };
	__asm__ volatile("lgdt %0\n\tljmp $0x08, $1f\n1:\tmovw $0x10, %%ax\n\tmovw %%ax, %%ds\n\tmovw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\tmovw %%ax, %%fs\n\tmovw %%ax, %%gs" : : "m"(gdtr) : "eax", "memory");
	tss[1] = (uint32_t)kernel_stack + sizeof(kernel_stack);   /* ESP0 */
	tss[2] = KDATA;                                            /* SS0 */
	tss[25] = (uint32_t)sizeof(tss) << 16;                     /* no I/O bitmap: ports need IOPL */
	__asm__ volatile("ltr %w0" : : "r"(TSSSEL));

	idt_init();
	idt_set_handler(14, on_pf, GATE_INTR);
	idt_set_handler(13, on_gp, GATE_INTR);
	idt_set_handler(0x80, on_syscall, GATE_INTR);
	idt_set_raw(0x80, idt_stub_addr(0x80), KCODE, 0xEE);      /* DPL 3: user may int $0x80 */

	/* 16 MiB identity map, user-accessible but for the probes' pages. */
	for (unsigned t = 0; t < 4; t++) {
		for (unsigned i = 0; i < 1024; i++)
			pt[t][i] = ((t * 1024 + i) * PAGE) | P | W | U;
		pd[t] = (uint32_t)pt[t] | P | W | U;
	}
	pt[0][0] = 0;
	pt[0][pte_of(sup_page)] &= ~U;
	pt[0][pte_of(ro_page)] &= ~W;
	pt[0][pte_of(np_page)] &= ~P;
	__asm__ volatile("mov %0, %%cr3" : : "r"(pd));
	uint32_t cr0;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | 0x80010000u));   /* PG, WP */
	/* The kernel may touch the supervisor page. */
	*(volatile uint32_t *)(sup_page + 8) = 0x5u;
	progress("kernel");
	/* To ring 3 with user data segments (the CPU would null DPL-0 ones on
	 * the way out; QEMU's TCG does not check them, real CPUs and vmx do):
	 * SS, ESP, EFLAGS (IF off, IOPL 0), CS, EIP. */
	__asm__ volatile("movw %w0, %%ds\n\tmovw %w0, %%es\n\tmovw %w0, %%fs\n\tmovw %w0, %%gs"
			 : : "r"(UDATA) : "memory");
	__asm__ volatile("pushl %0\n\tpushl %1\n\tpushl $0x2\n\tpushl %2\n\tpushl %3\n\tiret"
			 : : "i"(UDATA), "r"((uint32_t)user_stack + sizeof(user_stack) - 16), "i"(UCODE),
			     "r"((uint32_t)user_main) : "memory");
	fail("iret to user mode returned");
}
