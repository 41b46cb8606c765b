/* task_switch guest: hardware task switches between 32-bit TSSs under
 * paging. ljmp to a TSS (busy bits, CR3, LDTR, EFLAGS and registers from
 * the new TSS, CR0.TS), lcall to a TSS and through a task gate with iret
 * back along the link (NT), int n and IRQ0 through IDT task gates, a #DF
 * through a task gate (error code on the new task's stack, the faulting
 * EIP saved), and the checks: a busy TSS (#GP), a short TSS (#TS), a TSS
 * not present (#NP), RPL above the TSS's DPL (#GP), iret with NT to a TSS
 * that is not busy (#TS). */
#include <stdint.h>
#include "boot.h"
#include "desc.h"
#include "exit.h"
#include "idt.h"
#include "io.h"
#include "pic.h"
#include "pit.h"
#include "serial.h"

GUEST_NAME("task_switch");

enum { SEL_CODE = 0x08, SEL_DATA = 0x10, SEL_TSS_A = 0x18, SEL_TSS_B = 0x20, SEL_TSS_C = 0x28,
       SEL_TSS_DF = 0x30, SEL_GATE_B = 0x38, SEL_LDT = 0x40, SEL_TSS_SHORT = 0x48, SEL_TSS_NP = 0x50,
       GDT_ENTRIES = 11, SEL_LDT_DATA = 0x04 };

struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt, iomap;
};

static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
static uint64_t ldt[1] __attribute__((aligned(8)));
struct tss32 tss_a, tss_b, tss_c, tss_df, tss_short;
static uint32_t pd_a[1024] __attribute__((aligned(4096)));
static uint32_t pd_b[1024] __attribute__((aligned(4096)));
static uint8_t stack_b[4096] __attribute__((aligned(16)));
static uint8_t stack_c[4096] __attribute__((aligned(16)));
static uint8_t stack_df[4096] __attribute__((aligned(16)));
static uint32_t ldt_word = 0x1d71d7u;

#define MAPPED 0x40000000u      /* phys 4 MiB under pd_a, 8 MiB under pd_b */

/* What task B saw each time it ran, and how it leaves: ljmp back to A (0)
 * or iret (1). */
volatile uint32_t b_mode, b_rounds, b_flags, b_ebx, b_tr, b_ldtr, b_ldt_word, b_mapped, b_cr3, b_link;
volatile uint32_t c_count, c_link, c_flags;
volatile uint32_t df_err, df_eip, df_link, df_count, df_resume;
uint32_t exc_resume;
static struct int_frame last;
static uint32_t faults;

static uint32_t read_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static uint32_t read_cr3(void) { uint32_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static uint32_t read_flags(void) { uint32_t v; __asm__ volatile("pushfl\n\tpopl %0" : "=r"(v)); return v; }
static uint16_t str(void) { uint16_t v; __asm__ volatile("str %0" : "=r"(v)); return v; }
static uint16_t sldt(void) { uint16_t v; __asm__ volatile("sldt %0" : "=r"(v)); return v; }
static void clts(void) { __asm__ volatile("clts"); }
static unsigned type_of(uint16_t sel) { return (unsigned)(gdt[sel / 8] >> 40) & 0xf; }

void task_b_entry(void);
void task_c_entry(void);
void task_df_entry(void);
void task_b_main(void) __attribute__((noreturn));
void task_c_body(void);
void task_df_body(void);

/* B starts here with the flags and EBX of its TSS. */
__asm__(".globl task_b_entry\ntask_b_entry:\n\tpushfl\n\tpopl b_flags\n\tmovl %ebx, b_ebx\n"
	"\tcall task_b_main\n");
/* C and the double-fault task loop: each switch to them resumes after
 * their iret. The #DF's error code is on the double-fault task's stack. */
__asm__(".globl task_c_entry\ntask_c_entry:\n\tpushfl\n\tpopl c_flags\n\tcall task_c_body\n"
	"\tiret\n\tjmp task_c_entry\n");
__asm__(".globl task_df_entry\ntask_df_entry:\n\tpopl df_err\n\tcall task_df_body\n"
	"\tiret\n\tjmp task_df_entry\n");

void task_b_main(void)
{
	for (;;) {
		b_rounds++;
		b_tr = str();
		b_ldtr = sldt();
		__asm__ volatile("movl %%fs:0, %0" : "=r"(b_ldt_word));
		b_mapped = *(volatile uint32_t *)MAPPED;
		b_cr3 = read_cr3();
		b_link = tss_b.link & 0xffff;
		if (b_mode == 0)
			__asm__ volatile("ljmp $0x18, $0\n\tpushfl\n\tpopl b_flags" : : : "memory");
		else
			__asm__ volatile("iret\n\tpushfl\n\tpopl b_flags" : : : "memory");
	}
}

void task_c_body(void)
{
	c_count++;
	c_link = tss_c.link & 0xffff;
	pic_set_mask(0xffff);
	pic_eoi(0);
}

void task_df_body(void)
{
	df_count++;
	df_eip = tss_a.eip;
	df_link = tss_df.link & 0xffff;
	idt_set_raw(13, idt_stub_addr(13), SEL_CODE, GATE_INTR);
	tss_a.eip = df_resume;
}

static void task_init(struct tss32 *t, void (*entry)(void), uint8_t *stack, uint32_t size, uint32_t *pd)
{
	*t = (struct tss32){ .cr3 = (uint32_t)pd, .eip = (uint32_t)entry, .eflags = 0x2,
			     .esp = (uint32_t)stack + size, .es = SEL_DATA, .cs = SEL_CODE, .ss = SEL_DATA,
			     .ds = SEL_DATA, .fs = SEL_DATA, .gs = SEL_DATA, .iomap = 104u << 16 };
}

static uint64_t task_gate(uint16_t tss_sel) { return (uint64_t)tss_sel << 16 | (uint64_t)0x85 << 40; }

static void record(struct int_frame *f)
{
	last = *f;
	faults++;
	f->eip = exc_resume;
}

static void expect_fault(const char *what, uint32_t before, uint32_t vec, uint32_t err)
{
	kprintf("%s: %u fault(s), vector %u, error code 0x%x\n", what, faults - before, last.vector,
		last.error_code);
	check_eq(what, before + 1, faults);
	check_eq(what, vec, last.vector);
	check_eq(what, err, last.error_code);
}

static void show_b(const char *how)
{
	kprintf("%s: B rounds %u, flags 0x%x (NT %u), tr 0x%x, ldtr 0x%x, ldt word 0x%x, mapped 0x%x, "
		"cr3 %s, link 0x%x\n", how, b_rounds, b_flags & 0xcd5, (b_flags >> 14) & 1, b_tr, b_ldtr,
		b_ldt_word, b_mapped, b_cr3 == (uint32_t)pd_b ? "pd_b" : "other", b_link);
	kprintf("%s: after: A type 0x%x, B type 0x%x, A NT %u, TS %u, A mapped 0x%x\n", how,
		type_of(SEL_TSS_A), type_of(SEL_TSS_B), (read_flags() >> 14) & 1, (read_cr0() >> 3) & 1,
		*(volatile uint32_t *)MAPPED);
	check_eq("A's TSS stays busy", 0xb, type_of(SEL_TSS_A));
	check_eq("B's TSS is free again", 0x9, type_of(SEL_TSS_B));
	check_eq("task switch sets CR0.TS", 8, read_cr0() & 8);
	check_eq("A runs on its own CR3", (uint32_t)pd_a, read_cr3());
	check_eq("B ran on its CR3", (uint32_t)pd_b, b_cr3);
	check_eq("B's LDT word", ldt_word, b_ldt_word);
	check_eq("B's TR", SEL_TSS_B, b_tr);
	clts();
}

static void paging_on(void)
{
	for (uint32_t i = 0; i < 16; i++)
		pd_a[i] = pd_b[i] = (i << 22) | 0x83;         /* 4 MiB pages, identity */
	pd_a[MAPPED >> 22] = 0x00400000u | 0x83;
	pd_b[MAPPED >> 22] = 0x00800000u | 0x83;
	*(volatile uint32_t *)0x00400000u = 0xaaaa;
	*(volatile uint32_t *)0x00800000u = 0xbbbb;
	__asm__ volatile("mov %0, %%cr3\n\tmov %%cr4, %%eax\n\tor $0x10, %%eax\n\tmov %%eax, %%cr4\n\t"
			 "mov %%cr0, %%eax\n\tor $0x80000000, %%eax\n\tmov %%eax, %%cr0"
			 : : "r"(pd_a) : "eax", "memory");
}

void guest_main(void)
{
	gdt[SEL_CODE / 8] = seg_desc(0, 0xFFFFF, ACC_CODE_RX, FLG_G | FLG_D);
	gdt[SEL_DATA / 8] = seg_desc(0, 0xFFFFF, ACC_DATA_RW, FLG_G | FLG_D);
	gdt[SEL_TSS_A / 8] = seg_desc((uint32_t)&tss_a, sizeof(tss_a) - 1, ACC_TSS32, 0);
	gdt[SEL_TSS_B / 8] = seg_desc((uint32_t)&tss_b, sizeof(tss_b) - 1, ACC_TSS32, 0);
	gdt[SEL_TSS_C / 8] = seg_desc((uint32_t)&tss_c, sizeof(tss_c) - 1, ACC_TSS32, 0);
	gdt[SEL_TSS_DF / 8] = seg_desc((uint32_t)&tss_df, sizeof(tss_df) - 1, ACC_TSS32, 0);
	gdt[SEL_GATE_B / 8] = task_gate(SEL_TSS_B);
	gdt[SEL_LDT / 8] = seg_desc((uint32_t)ldt, sizeof(ldt) - 1, 0x82, 0);
	gdt[SEL_TSS_SHORT / 8] = seg_desc((uint32_t)&tss_short, 0x40, ACC_TSS32, 0);
	gdt[SEL_TSS_NP / 8] = seg_desc((uint32_t)&tss_short, sizeof(tss_short) - 1, ACC_TSS32 & 0x7f, 0);
	ldt[0] = seg_desc((uint32_t)&ldt_word, 3, ACC_DATA_RW, 0);
	struct dtr d = { sizeof(gdt) - 1, (uint32_t)gdt };
	lgdt(&d);
	idt_init();
	idt_set_handler(10, record, GATE_INTR);
	idt_set_handler(11, record, GATE_INTR);
	idt_set_handler(13, record, GATE_INTR);
	paging_on();

	tss_a.cr3 = (uint32_t)pd_a;      /* CR3 is not saved on a switch: A's own */
	tss_a.iomap = 104u << 16;
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS_A));
	task_init(&tss_b, task_b_entry, stack_b, sizeof(stack_b), pd_b);
	tss_b.eflags = 0x2 | 0x1 | 0x800;   /* CF and OF: the flags come from the TSS */
	tss_b.ebx = 0xb0b0b0b0u;
	tss_b.fs = SEL_LDT_DATA;
	tss_b.ldt = SEL_LDT;
	task_init(&tss_c, task_c_entry, stack_c, sizeof(stack_c), pd_a);
	task_init(&tss_df, task_df_entry, stack_df, sizeof(stack_df), pd_a);
	kprintf("start: A type 0x%x, B type 0x%x, tr 0x%x\n", type_of(SEL_TSS_A), type_of(SEL_TSS_B), str());
	check_eq("ltr marks A busy", 0xb, type_of(SEL_TSS_A));

	/* ljmp to B; B jumps back. */
	uint32_t esi = 0x51515151u, esi_after;
	b_mode = 0;
	__asm__ volatile("ljmp $0x20, $0" : "=S"(esi_after) : "S"(esi) : "memory");
	kprintf("ljmp: B ebx 0x%x, A esi kept %u\n", b_ebx, esi_after == esi);
	show_b("ljmp");
	check_eq("B's EBX from its TSS", 0xb0b0b0b0u, b_ebx);
	check_eq("B's flags from its TSS", 0x801, b_flags & 0x4cd5);
	check_eq("A's registers come back", esi, esi_after);
	check_eq("B's link untouched by jmp", 0, b_link);

	/* lcall to B: nested (NT, link); B's iret comes back. */
	b_mode = 1;
	__asm__ volatile("lcall $0x20, $0" : : : "memory");
	show_b("lcall");
	check_eq("B called: NT", 0x4000, b_flags & 0x4000);
	check_eq("B's link is A", SEL_TSS_A, b_link);
	check_eq("A's NT after the return", 0, read_flags() & 0x4000);
	kprintf("lcall: B's saved flags 0x%x\n", tss_b.eflags & 0x4cd5);
	check_eq("iret saves B's flags without NT", 0, tss_b.eflags & 0x4000);

	/* Through a task gate in the GDT. */
	tss_b.link = 0;
	__asm__ volatile("lcall $0x38, $0" : : : "memory");
	show_b("lcall gate");
	check_eq("through the gate: link", SEL_TSS_A, b_link);

	/* int n through an IDT task gate. */
	tss_b.link = 0;
	idt_set_raw(0x40, 0, SEL_TSS_B, 0x85);
	__asm__ volatile("int $0x40" : : : "memory");
	show_b("int 0x40");
	check_eq("int n task gate: link", SEL_TSS_A, b_link);
	check_eq("int n task gate: NT", 0x4000, b_flags & 0x4000);

	/* IRQ0 through an IDT task gate: C acknowledges and masks it. */
	pic_remap(0x20, 0x28);
	idt_set_raw(0x20, 0, SEL_TSS_C, 0x85);
	pit_set_periodic(11932);
	pic_set_mask(0xfffe);
	__asm__ volatile("sti\n\thlt\n\tcli" : : : "memory");
	kprintf("irq0: C ran %u time(s), link 0x%x, flags 0x%x, C type 0x%x, TS %u\n", c_count, c_link,
		c_flags & 0x4cd5, type_of(SEL_TSS_C), (read_cr0() >> 3) & 1);
	check_eq("IRQ0 ran task C once", 1, c_count);
	check_eq("IRQ0 task: link", SEL_TSS_A, c_link);
	check_eq("IRQ0 task: NT", 0x4000, c_flags & 0x4000);
	check_eq("C free after its iret", 0x9, type_of(SEL_TSS_C));
	clts();

	/* #GP while #GP's gate is not present: #NP, then #DF through a task
	 * gate to its own task, which resumes A past the fault. */
	idt_set_raw(8, 0, SEL_TSS_DF, 0x85);
	idt_set_raw(13, idt_stub_addr(13), SEL_CODE, GATE_INTR & 0x7f);
	uint32_t fault_at;
	__asm__ volatile("movl $1f, df_resume\n\tmovl $2f, %0\n\tmovw $0x1000, %%ax\n"
			 "2:\tmovw %%ax, %%ds\n1:" : "=m"(fault_at) : : "eax", "memory");
	kprintf("double fault: DF task ran %u time(s), error code 0x%x, at the fault %u, link 0x%x, "
		"DF type 0x%x\n", df_count, df_err, df_eip == fault_at, df_link, type_of(SEL_TSS_DF));
	check_eq("#DF task ran once", 1, df_count);
	check_eq("#DF error code", 0, df_err);
	check_eq("#DF saved the faulting EIP", fault_at, df_eip);
	check_eq("#DF task: link", SEL_TSS_A, df_link);
	check_eq("DF task free after its iret", 0x9, type_of(SEL_TSS_DF));
	clts();

	uint32_t b = faults;
	__asm__ volatile("movl $1f, exc_resume\n\tljmp $0x18, $0\n1:" : : : "memory");
	expect_fault("ljmp to the busy TSS", b, 13, SEL_TSS_A);
	b = faults;
	__asm__ volatile("movl $1f, exc_resume\n\tljmp $0x48, $0\n1:" : : : "memory");
	expect_fault("ljmp to a TSS below 104 bytes", b, 10, SEL_TSS_SHORT);
	b = faults;
	__asm__ volatile("movl $1f, exc_resume\n\tlcall $0x50, $0\n1:" : : : "memory");
	expect_fault("lcall to a TSS not present", b, 11, SEL_TSS_NP);
	b = faults;
	__asm__ volatile("movl $1f, exc_resume\n\tljmp $0x23, $0\n1:" : : : "memory");
	expect_fault("ljmp with RPL 3 to a DPL 0 TSS", b, 13, SEL_TSS_B);
	b = faults;
	tss_a.link = SEL_TSS_B;
	__asm__ volatile("movl $1f, exc_resume\n\tpushfl\n\torl $0x4000, (%%esp)\n\tpopfl\n\tiret\n"
			 "1:\tpushfl\n\tandl $~0x4000, (%%esp)\n\tpopfl" : : : "memory");
	expect_fault("iret with NT to a TSS not busy", b, 10, SEL_TSS_B);
	check_eq("no extra B rounds", 4, b_rounds);
	kprintf("end: A type 0x%x, B type 0x%x, TS %u\n", type_of(SEL_TSS_A), type_of(SEL_TSS_B),
		(read_cr0() >> 3) & 1);
}
