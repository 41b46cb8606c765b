/* i8042 guest: the keyboard controller as Linux's i8042 driver and atkbd
 * probe it, each answer printed with the status byte it came with, so the
 * run is compared byte for byte with QEMU's: the command byte SeaBIOS
 * leaves, self and interface tests, port disable/enable bits in the command
 * byte, loop-back through both ports (IRQ 12 raised for the aux one), and
 * what the keyboard and the mouse answer to reset, identify and the rest. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "io.h"
#include "pic.h"
#include "serial.h"

GUEST_NAME("i8042");

#define SPINS 100000

static int output_full(void)
{
	for (int i = 0; i < SPINS; i++)
		if (inb(0x64) & 1)
			return 1;
	return 0;
}

static void input_empty(void)
{
	for (int i = 0; i < SPINS; i++)
		if (!(inb(0x64) & 2))
			return;
	fail("the input buffer never empties");
}

/* Every byte waiting, with the status read before it. */
static void drain(const char *what)
{
	kprintf("%s:", what);
	while (output_full()) {
		uint8_t st = inb(0x64);
		kprintf(" [%02x]%02x", st, inb(0x60));
	}
	kprintf(" status %02x\n", inb(0x64));
}

static void command(uint8_t c) { input_empty(); outb(0x64, c); }
static void data(uint8_t v) { input_empty(); outb(0x60, v); }
static void command_data(uint8_t c, uint8_t v) { command(c); data(v); }

void guest_main(void)
{
	kprintf("status at entry %02x\n", inb(0x64));
	drain("flush");
	command(0x20); drain("command byte");
	command(0xaa); drain("self test");
	command(0x20); drain("command byte after self test");
	command(0xab); drain("keyboard interface test");
	command(0xa9); drain("aux interface test");
	command(0xad); command(0x20); drain("keyboard disabled");
	command(0xae); command(0x20); drain("keyboard enabled");
	command(0xa7); command(0x20); drain("aux disabled");
	command(0xa8); command(0x20); drain("aux enabled");
	command_data(0x60, 0x47); command(0x20); drain("command byte 0x47");
	command_data(0x60, 0x00); command(0x20); drain("command byte 0x00");
	command_data(0xd3, 0x5a); drain("aux loop");
	command_data(0xd2, 0xa5); drain("keyboard loop");
	command(0xd0); drain("output port");

	data(0xff); drain("keyboard reset");
	data(0xf2); drain("keyboard id");
	command_data(0x60, 0x45); /* translation on, as Linux leaves it */
	data(0xf2); drain("keyboard id, translated");
	data(0xee); drain("keyboard echo");
	data(0xf5); drain("keyboard disable");
	data(0xed); data(0x00); drain("keyboard LEDs");
	data(0xf3); data(0x20); drain("keyboard typematic");
	data(0xf0); data(0x00); drain("keyboard scan-code set");
	data(0xf4); drain("keyboard enable");
	data(0x12); drain("keyboard unknown command");

	command_data(0xd4, 0xff); drain("mouse reset");
	command_data(0xd4, 0xf2); drain("mouse id");
	command_data(0xd4, 0xe9); drain("mouse status");
	command_data(0xd4, 0xf3); command_data(0xd4, 0x28); drain("mouse sample rate");
	command_data(0xd4, 0xe9); drain("mouse status after rate");
	command_data(0xd4, 0xf6); drain("mouse defaults");

	/* Linux's aux interrupt test: loop a byte with the aux interrupt on. */
	pic_set_mask(0xffff);
	uint16_t before = pic_read_irr() & 0x1000;
	command_data(0x60, 0x47);
	command_data(0xd3, 0xa5);
	output_full();
	kprintf("IRQ 12 before %u, after aux loop %u\n", before >> 12, (pic_read_irr() & 0x1000) >> 12);
	drain("aux loop with interrupts");
	command_data(0x60, 0x45);
}
