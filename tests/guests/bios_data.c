/* bios_data guest: the BIOS data area fields a PC BIOS fills and kernels
 * read (Linux: the EBDA segment and base memory size, to reserve the
 * EBDA), as SeaBIOS leaves them under QEMU and vmx writes them at reset:
 * COM1's port, the EBDA segment, the equipment word, base memory in KiB. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "serial.h"

GUEST_NAME("bios_data");

/* Through asm: GCC treats a dereference of a small constant address as a
 * null-pointer access. */
static uint16_t peek16(uint32_t addr)
{
	uint16_t v;
	__asm__ volatile("movw (%1), %0" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

void guest_main(void)
{
	kprintf("COM1 port (0x400): %04x\n", peek16(0x400));
	kprintf("EBDA segment (0x40e): %04x\n", peek16(0x40e));
	kprintf("equipment word (0x410): %04x\n", peek16(0x410));
	kprintf("base memory KiB (0x413): %u\n", peek16(0x413));
	check_eq("base memory ends at the EBDA", (uint32_t)peek16(0x40e) << 4, (uint32_t)peek16(0x413) << 10);
}
