/* te_probe guest: the sensitive instructions that do not trap when a kernel
 * runs deprivileged (Popek and Goldberg's objection to x86): a kernel
 * reading its CPL from %cs, sgdt, smsw, pushf after cli, and last an
 * interrupt-enable through popf, waited for without bound. On hardware, in
 * QEMU and in every binary-translation mode each gives the architected
 * answer; vmx -mode te runs this code natively and shows each divergence
 * (the test script asserts which lines differ and how the run ends).
 * The probes live on pages of their own (section tenative, padded by
 * pad.S), free of segment loads and far transfers, so that -mode te runs
 * them natively; paging is on, as -mode te needs. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "idt.h"
#include "io.h"
#include "pic.h"
#include "pit.h"
#include "serial.h"

GUEST_NAME("te_probe");

#define IRQ0_VECTOR 0x20
#define IF (1u << 9)
#define NATIVE __attribute__((section("tenative"), noinline))

extern const char boot_gdt[];
static volatile uint32_t ticks;
static uint32_t pd[1024] __attribute__((aligned(4096)));

static void irq0(struct int_frame *f)
{
	(void)f;
	pic_eoi(0);
	ticks++;
}

struct dtr { uint16_t limit; uint32_t base; } __attribute__((packed));

NATIVE __attribute__((aligned(4096))) static uint32_t cs_rpl(void)
{
	uint32_t cs;
	__asm__ volatile("movl %%cs, %0" : "=r"(cs));
	return cs & 3;
}

NATIVE static void read_gdtr(struct dtr *d)
{
	__asm__ volatile("sgdt %0" : "=m"(*d));
}

NATIVE static uint32_t read_msw(void)
{
	uint32_t v = 0;
	__asm__ volatile("smsw %0" : "+r"(v));
	return v & 0xffff;
}

/* cli (traps; the monitor clears the virtual IF), then pushf. */
NATIVE static uint32_t flags_after_cli(void)
{
	uint32_t f;
	__asm__ volatile("cli\n\tpushfl\n\tpopl %0\n\tsti" : "=r"(f) : : "memory");
	return f;
}

/* Interrupts off, then back on through popf of a pushed IF=1, as a
 * kernel's irq-restore does; then wait for the timer. Deprivileged,
 * popf leaves IF alone and the wait never ends. */
NATIVE static uint32_t popf_enables_interrupts(void)
{
	__asm__ volatile("cli\n\tpushl $0x202\n\tpopfl" : : : "memory", "cc");
	uint32_t t0 = ticks;
	while (ticks == t0)
		__asm__ volatile("pause");
	return 1;
}

void guest_main(void)
{
	idt_init();
	pic_remap(0x20, 0x28);
	idt_set_handler(IRQ0_VECTOR, irq0, GATE_INTR);
	pit_set_periodic(11932);		/* ~100 Hz */
	pic_set_mask(0xfffe);

	/* The first 8 MiB identity-mapped with 4 MiB pages; SSE on. */
	pd[0] = 0x000083u;
	pd[1] = 0x400083u;
	uint32_t cr0, cr4;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | 0x10u | 0x200u));
	__asm__ volatile("mov %0, %%cr3" : : "r"(pd) : "memory");
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | 0x80000000u) : "memory");
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("sti");

	kprintf("te_probe: CPL read from %%cs: %u\n", cs_rpl());
	struct dtr g;
	read_gdtr(&g);
	kprintf("te_probe: sgdt gives the GDT lgdt loaded: %s\n", g.base == (uint32_t)boot_gdt ? "yes" : "no");
	kprintf("te_probe: smsw gives CR0's low word: %s\n", read_msw() == (cr0 & 0xffff) ? "yes" : "no");
	kprintf("te_probe: pushf after cli shows IF: %u\n", (flags_after_cli() & IF) ? 1 : 0);
	kprintf("te_probe: waiting for the timer after popf set IF\n");
	serial_flush();
	popf_enables_interrupts();
	kprintf("te_probe: popf enabled interrupts: yes\n");
	pit_stop();
}
