/* The test device's memory window, as QEMU's pc-testdev has it: 64 KiB of
 * device memory at guest-physical 0xFF000000 that reads back what was
 * written, at any access size. It exists to prove MMIO emulation. */
#include "mmio.h"
#include "testdev.h"

static uint8_t window[TESTDEV_LEN];
static stat_counter testdev_io = { "mmu.mmio.testdev", 0 };

static uint32_t td_read(void *opaque, uint32_t off, unsigned size)
{
	(void)opaque;
	uint32_t v = 0;
	for (unsigned i = 0; i < size && off + i < TESTDEV_LEN; i++)
		v |= (uint32_t)window[off + i] << (8 * i);
	return v;
}

static void td_write(void *opaque, uint32_t off, unsigned size, uint32_t val)
{
	(void)opaque;
	for (unsigned i = 0; i < size && off + i < TESTDEV_LEN; i++)
		window[off + i] = (uint8_t)(val >> (8 * i));
}

int testdev_attach(void)
{
	struct mmio_region r = { .base = TESTDEV_BASE, .len = TESTDEV_LEN, .read = td_read,
				 .write = td_write, .counter = &testdev_io };
	return mmio_register(&r);
}
