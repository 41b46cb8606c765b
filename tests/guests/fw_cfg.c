/* fw_cfg guest: QEMU's firmware configuration interface through its
 * traditional ports, as a guest probes it: the signature, the interface id's
 * traditional-interface bit (QEMU also offers DMA, vmx does not), RAM size,
 * CPU count, the command line item (none for a multiboot boot), a file
 * directory that parses (QEMU's lists firmware files vmx does not have, so
 * only its shape is checked), and rewinding on reselect. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "io.h"
#include "serial.h"

GUEST_NAME("fw_cfg");

static void select(uint16_t key) { outw(0x510, key); }
static uint8_t byte(void) { return inb(0x511); }

static uint64_t read_le(unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)byte() << (8 * i);
	return v;
}

static uint32_t read_be32(void)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = v << 8 | byte();
	return v;
}

void guest_main(void)
{
	char sig[5];
	select(0x0000);
	for (int i = 0; i < 4; i++)
		sig[i] = (char)byte();
	sig[4] = 0;
	kprintf("signature: %s\n", sig);
	select(0x0001);
	kprintf("id: traditional interface %u\n", (unsigned)(read_le(4) & 1));
	select(0x0003);
	kprintf("RAM size: %llx\n", read_le(8));
	select(0x0005);
	kprintf("CPUs: %u\n", (unsigned)read_le(2));
	select(0x0014);
	uint32_t cmdline = (uint32_t)read_le(4);
	kprintf("command line size: %u\n", cmdline);

	select(0x0019);
	uint32_t files = read_be32();
	check_true("file directory count is plausible", files < 256);
	for (uint32_t f = 0; f < files; f++) {
		read_be32();                       /* size */
		uint16_t key = (uint16_t)(byte() << 8);
		key |= byte();
		byte(); byte();                    /* reserved */
		int terminated = 0;
		for (int i = 0; i < 56; i++)
			if (!byte())
				terminated = 1;
		check_true("file entry name terminated", terminated);
		check_true("file entry key in the file range", key >= 0x20 && key < 0x4000);
	}
	kprintf("file directory parses\n");

	select(0x0000);
	byte(); byte();
	select(0x0000);
	check_eq("reselecting rewinds", 'Q', byte());
	outb(0x511, 0x99);
	check_eq("data port writes change nothing", 'E', byte());
	select(0x7fff);
	check_eq("an unknown key reads zero", 0, (uint32_t)read_le(4));
}
