/* firmware_state guest: what a multiboot kernel finds on a PC before it
 * programs anything (QEMU's firmware leaves it; vmx sets up the same): the
 * PIC masks, the UART's modem control, and the BIOS timer tick (PIT 18.2 Hz)
 * arriving on vector 0x08 as soon as interrupts are enabled. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "idt.h"
#include "io.h"

GUEST_NAME("firmware_state");

volatile uint32_t ticks;

/* Vector 8 is also #DF, which pushes an error code: the common stubs
 * assume one there, an IRQ brings none. So a plain stub of its own. */
void bios_tick(void);
__asm__(".globl bios_tick\nbios_tick:\n\tpushl %eax\n\tincl ticks\n\tmovb $0x20, %al\n"
	"\toutb %al, $0x20\n\tpopl %eax\n\tiret\n");

void guest_main(void)
{
	check_eq("master PIC mask", 0xB8, inb(0x21));
	check_eq("slave PIC mask", 0x8E, inb(0xA1));
	check_eq("UART modem control (OUT2)", 0x08, inb(0x3FC));
	idt_init();
	idt_set_raw(0x08, (uint32_t)bios_tick, 0x08, GATE_INTR);   /* IRQ0 at the BIOS's vector base */
	__asm__ volatile("sti");
	for (uint32_t spins = 0; ticks < 3; spins++) {
		__asm__ volatile("hlt");
		if (spins > 1000)
			fail("no BIOS timer tick (ticks %u)", ticks);
	}
	__asm__ volatile("cli");
	check_true("the BIOS timer ticks", ticks >= 3);
}
