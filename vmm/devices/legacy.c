/* What is left of the PC's legacy glue that boot code pokes at: the i8042
 * status and data ports (no keyboard: input buffer always empty, so "wait
 * until bit 1 clears" loops end) and the fast A20 gate at 0x92 (A20 is
 * always on; the reset bit is ignored). */
#include "devices.h"

static uint8_t port92 = 0x02;
static stat_counter legacy_io = { "dev.legacy.io", 0 };

static uint32_t legacy_read(void *opaque, uint16_t port, unsigned size)
{
	(void)opaque; (void)size;
	switch (port) {
	case 0x64: return 0x1c;        /* system flag, command last, unlocked; buffers empty */
	case 0x92: return port92;
	default: return 0;             /* 0x60: no data */
	}
}

static void legacy_write(void *opaque, uint16_t port, unsigned size, uint32_t val)
{
	(void)opaque; (void)size;
	if (port == 0x92)
		port92 = (uint8_t)((val & ~1u) | 0x02);
}

int legacy_attach(struct io_bus *bus)
{
	stats_register(&legacy_io);
	if (io_register(bus, 0x60, 1, legacy_read, legacy_write, 0, &legacy_io) ||
	    io_register(bus, 0x64, 1, legacy_read, legacy_write, 0, &legacy_io))
		return -1;
	return io_register(bus, 0x92, 1, legacy_read, legacy_write, 0, &legacy_io);
}
