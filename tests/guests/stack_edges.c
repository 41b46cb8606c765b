/* stack_edges guest: a stack that wraps from linear 0 to 0xFFFFFFFC, the
 * monitor's range under vmx, with a flat 4 GiB SS: push/pop, call/ret,
 * pushf/popf, enter/leave and pusha/popa with paging off (where the top is
 * BIOS flash), with paging on and the top page mapped to RAM (the bytes
 * land there), and from ring 3 with it not present (#PF, CR2 0xFFFFFFFC,
 * error W|U, then retried once mapped). The CPU raises no #SS for any. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "idt.h"
#include "serial.h"

GUEST_NAME("stack_edges");

#define P 1u
#define W 2u
#define U 4u
#define PAGE 4096u
#define KCODE 0x08
#define KDATA 0x10
#define UCODE 0x1B
#define UDATA 0x23
#define TSSSEL 0x28

extern void top_stack_ops(void), flat_stack_ops(void), user_top(void);
extern volatile uint32_t res[32], var_a, var_b;

static uint64_t gdt[6];
static uint32_t tss[26];
static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt[4][1024] __attribute__((aligned(4096)));
static uint32_t pt_top[1024] __attribute__((aligned(4096)));
static uint8_t top_frame[4096] __attribute__((aligned(4096)));
static uint8_t kernel_stack[8192] __attribute__((aligned(4096)));

static uint64_t desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (uint64_t)(limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) | ((uint64_t)access << 40) |
	       ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)(flags & 0xf) << 52) |
	       ((uint64_t)(base >> 24) << 56);
}

static void show(const char *what, unsigned n)
{
	kprintf("%s:", what);
	for (unsigned i = 0; i < n; i++)
		kprintf(" %08x", res[i]);
	kprintf("\n");
}

static void on_ss(struct int_frame *f)
{
	fail("#SS at eip 0x%08x, error %x: the flat SS allows the whole space", f->eip, f->error_code);
}

static volatile uint32_t pf_cr2, pf_err, pf_esp, npf;

static void on_pf(struct int_frame *f)
{
	__asm__ volatile("mov %%cr2, %0" : "=r"(pf_cr2));
	pf_err = f->error_code;
	pf_esp = (&f->eflags)[1];
	npf++;
	if (npf > 1 || (f->cs & 3) != 3)
		fail("#PF at eip 0x%08x cr2 0x%08x error %x", f->eip, pf_cr2, f->error_code);
	pt_top[1023] = (uint32_t)top_frame | P | W | U;
	__asm__ volatile("invlpg (%0)" : : "r"(pf_cr2) : "memory");
}

static void on_syscall(struct int_frame *f)
{
	check_eq("#PF count from ring 3", 1, npf);
	check_eq("CR2 of the ring-3 push", 0xfffffffcu, pf_cr2);
	check_eq("its error code (W|U, not present)", W | U, pf_err);
	check_eq("user ESP in the #PF frame (the push did not move it)", 0, pf_esp);
	check_eq("value popped after the retried push", 0x77, f->ebx);
	check_eq("user ESP after push/pop", 0, f->ecx);
	check_eq("the pushed value in the frame", 0x77, *(volatile uint32_t *)(top_frame + 0xffc));
	kprintf("ring 3: cr2 %08x error %x\n", pf_cr2, pf_err);
	pass();
}

void guest_main(void)
{
	idt_init();
	idt_set_handler(12, on_ss, GATE_INTR);

	/* 1. Paging off. */
	flat_stack_ops();
	show("paging off", 5);
	static const uint32_t flat[5] = { 0xfffffffc, 0xfffffff8, 0xfffffff4, 0xfffffff8, 0 };
	for (unsigned i = 0; i < 5; i++)
		check_eq("ESP (paging off)", flat[i], res[i]);
	progress("paging_off");

	/* 2. Paging on, the top page mapped to RAM. */
	for (unsigned t = 0; t < 4; t++) {
		for (unsigned i = 0; i < 1024; i++)
			pt[t][i] = ((t * 1024 + i) * PAGE) | P | W | U;
		pd[t] = (uint32_t)pt[t] | P | W | U;
	}
	pt[0][0] = 0;
	pd[1023] = (uint32_t)pt_top | P | W | U;
	pt_top[1023] = (uint32_t)top_frame | P | W;
	__asm__ volatile("mov %0, %%cr3" : : "r"(pd));
	uint32_t cr0;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | 0x80010000u));   /* PG, WP */
	var_b = 0;
	top_stack_ops();
	show("paging on", 24);
	check_eq("push imm", 0xfffffffc, res[0]);
	check_eq("push m32", 0xfffffff8, res[1]);
	check_eq("ESP in the called routine", 0xfffffff4, res[2]);
	check_eq("ESP after ret", 0xfffffff8, res[3]);
	check_eq("enter $8,$0: ESP", 0xffffffec, res[7]);
	check_eq("enter $8,$0: EBP", 0xfffffff4, res[8]);
	check_eq("leave: ESP", 0xfffffff8, res[9]);
	check_eq("leave: EBP", 0xbbbb0000, res[10]);
	check_eq("enter $4,$2: ESP", 0xffffffe8, res[11]);
	check_eq("enter $4,$2: EBP", 0xfffffff4, res[12]);
	check_eq("sub2's argument", 0x55, res[14]);
	check_eq("ret $4: ESP", 0xfffffff8, res[15]);
	check_eq("call *mem: ESP", 0xfffffff8, res[16]);
	check_eq("popa: ESP", 0xfffffff8, res[17]);
	check_eq("pop m32: ESP", 0xfffffffc, res[18]);
	check_eq("pop %ebx", 0x11223344, res[19]);
	check_eq("ESP back at 0", 0, res[20]);
	check_eq("popa: EAX", 0xa1, res[21]);
	check_eq("popa: ESI", 0xf1, res[22]);
	check_eq("pop %esp", 7, res[23]);
	check_eq("pop m32: the value", 0xaabbccdd, var_b);
	check_eq("popf then pushf: arithmetic flags", 0x8d7, res[6] & 0x8d7);
	kprintf("top of the stack (0xffffffc0..):");
	for (unsigned i = 0; i < 16; i++)
		kprintf(" %08x", ((volatile uint32_t *)(top_frame + 0xfc0))[i]);
	kprintf("\n");
	check_eq("the last push (of 7) in RAM", 7, *(volatile uint32_t *)(top_frame + 0xffc));
	progress("paging_on");

	/* 3. Ring 3, the top page not present. */
	gdt[1] = desc(0, 0xfffff, 0x9a, 0xc);
	gdt[2] = desc(0, 0xfffff, 0x92, 0xc);
	gdt[3] = desc(0, 0xfffff, 0xfa, 0xc);
	gdt[4] = desc(0, 0xfffff, 0xf2, 0xc);
	gdt[5] = desc((uint32_t)tss, sizeof(tss) - 1, 0x89, 0x0);
	struct __attribute__((packed)) { uint16_t limit; uint32_t base; } gdtr = { sizeof(gdt) - 1, (uint32_t)gdt };
	__asm__ volatile("lgdt %0\n\tljmp $0x08, $1f\n1:\tmovw $0x10, %%ax\n\tmovw %%ax, %%ds\n\tmovw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\tmovw %%ax, %%fs\n\tmovw %%ax, %%gs" : : "m"(gdtr) : "eax", "memory");
	tss[1] = (uint32_t)kernel_stack + sizeof(kernel_stack);
	tss[2] = KDATA;
	tss[25] = (uint32_t)sizeof(tss) << 16;
	__asm__ volatile("ltr %w0" : : "r"(TSSSEL));
	idt_set_handler(14, on_pf, GATE_INTR);
	idt_set_handler(0x80, on_syscall, GATE_INTR);
	idt_set_raw(0x80, idt_stub_addr(0x80), KCODE, 0xEE);
	pt_top[1023] = 0;
	__asm__ volatile("invlpg (%0)" : : "r"(0xfffff000u) : "memory");
	((volatile uint32_t *)top_frame)[1023] = 0;
	__asm__ volatile("movw %w0, %%ds\n\tmovw %w0, %%es\n\tmovw %w0, %%fs\n\tmovw %w0, %%gs"
			 : : "r"(UDATA) : "memory");
	__asm__ volatile("pushl %0\n\tpushl $0\n\tpushl $0x2\n\tpushl %1\n\tpushl %2\n\tiret"
			 : : "i"(UDATA), "i"(UCODE), "r"((uint32_t)user_top) : "memory");
	fail("iret to user mode returned");
}
