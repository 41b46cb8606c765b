/* QEMU's isa-debug-exit device: a guest write to its ports asks the monitor
 * to stop the VM with status (value << 1) | 1. The monitor polls `fired`
 * after port writes; this file only records the request. */
#include "devices.h"
#include <stddef.h>

static uint32_t debug_exit_read(void *opaque, uint16_t port, unsigned size)
{
	(void)opaque;
	(void)port;
	(void)size;
	return 0xffffffffu; /* nothing readable: the bus masks to the size */
}

static void debug_exit_write(void *opaque, uint16_t port, unsigned size, uint32_t val)
{
	struct debug_exit *d = opaque;
	(void)port;
	d->fired = true;
	d->value = size == 1 ? (val & 0xff) : size == 2 ? (val & 0xffff) : val;
}

void debug_exit_init(struct debug_exit *d, uint16_t base)
{
	d->base = base;
	d->fired = false;
	d->value = 0;
	d->io.name = "dev.debugexit.io";
	d->io.value = 0;
	stats_register(&d->io);
}

int debug_exit_attach(struct debug_exit *d, struct io_bus *bus)
{
	return io_register(bus, "debug_exit", d->base, 4, debug_exit_read, debug_exit_write, d, &d->io);
}
