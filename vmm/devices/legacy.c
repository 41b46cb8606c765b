/* What is left of the PC's legacy glue that boot code pokes at (the
 * keyboard controller is i8042.c): the fast A20 gate at 0x92 (A20 always
 * on), the reset control register 0xCF9 and the ACPI PM1a control register
 * at 0x604 (SLP_EN powers off), as on QEMU's PC. Resets and power-off end
 * the VM, as QEMU does with -no-reboot. */
#include "devices.h"

static uint8_t port92 = 0x02;
static stat_counter legacy_io = { "dev.legacy.io", 0 };
static void (*machine_off)(const char *why);

static uint32_t legacy_read(void *opaque, uint16_t port, unsigned size)
{
	(void)opaque; (void)size;
	return port == 0x92 ? port92 : 0;
}

static void legacy_write(void *opaque, uint16_t port, unsigned size, uint32_t val)
{
	(void)opaque; (void)size;
	switch (port) {
	case 0x92:
		port92 = (uint8_t)((val & ~1u) | 0x02);
		break;
	case 0xcf9:
		if ((val & 0x04) && machine_off)
			machine_off("the guest reset the machine through port 0xcf9");
		break;
	case 0x604: case 0x605:
		if (((port == 0x604 ? val : val << 8) & 0x2000) && machine_off)
			machine_off("the guest powered the machine off (ACPI)");
		break;
	default:
		break;
	}
}

int legacy_attach(struct io_bus *bus, void (*off)(const char *why), bool pm1_cnt)
{
	machine_off = off;
	stats_register(&legacy_io);
	if (io_register(bus, "legacy", 0xcf9, 1, legacy_read, legacy_write, 0, &legacy_io) ||
	    (pm1_cnt && io_register(bus, "legacy", 0x604, 2, legacy_read, legacy_write, 0, &legacy_io)))
		return -1;
	return io_register(bus, "legacy", 0x92, 1, legacy_read, legacy_write, 0, &legacy_io);
}
