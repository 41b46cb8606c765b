/* The guest port I/O bus: a small table of claimed port ranges and the
 * dispatch of guest in/out to their handlers. Ports nobody claims float high
 * on a PC, so they read as all ones and swallow writes. */
#include "io.h"
#include <stddef.h>

static uint32_t size_mask(unsigned size)
{
	return size == 1 ? 0xffu : size == 2 ? 0xffffu : 0xffffffffu;
}

void io_bus_init(struct io_bus *bus, stat_counter *unclaimed)
{
	__builtin_memset(bus, 0, sizeof(*bus));
	bus->unclaimed = unclaimed;
}

int io_register(struct io_bus *bus, const char *name, uint16_t base, uint16_t count,
		io_read_fn rd, io_write_fn wr, void *opaque, stat_counter *counter)
{
	/* End computed in 32 bits so a range ending at 0xffff is expressible. */
	uint32_t end = (uint32_t)base + count;

	if (count == 0 || end > 0x10000u || bus->nranges >= IO_MAX_RANGES)
		return -1;
	for (unsigned i = 0; i < bus->nranges; i++) {
		const struct io_range *r = &bus->ranges[i];
		uint32_t rend = (uint32_t)r->base + r->count;
		if (base < rend && r->base < end)
			return -1;
	}
	struct io_range *r = &bus->ranges[bus->nranges++];
	r->name = name;
	r->base = base;
	r->count = count;
	r->read = rd;
	r->write = wr;
	r->opaque = opaque;
	r->counter = counter;
	return 0;
}

static struct io_range *find_range(const struct io_bus *bus, uint16_t port)
{
	for (unsigned i = 0; i < bus->nranges; i++) {
		struct io_range *r = (struct io_range *)&bus->ranges[i];
		/* Unsigned wrap makes ports below base look huge, so one compare. */
		if ((uint16_t)(port - r->base) < r->count)
			return r;
	}
	return NULL;
}

uint32_t io_in(struct io_bus *bus, uint16_t port, unsigned size)
{
	uint32_t mask = size_mask(size);
	struct io_range *r = find_range(bus, port);

	if (!r) {
		if (bus->unclaimed)
			stat_inc(bus->unclaimed);
		return mask;
	}
	if (r->counter)
		stat_inc(r->counter);
	if (!r->read)
		return mask;
	return r->read(r->opaque, port, size) & mask;
}

void io_out(struct io_bus *bus, uint16_t port, unsigned size, uint32_t val)
{
	struct io_range *r = find_range(bus, port);

	if (!r) {
		if (bus->unclaimed)
			stat_inc(bus->unclaimed);
		return;
	}
	if (r->counter)
		stat_inc(r->counter);
	if (r->write)
		r->write(r->opaque, port, size, val & size_mask(size));
}

const char *io_owner(const struct io_bus *bus, uint16_t port)
{
	const struct io_range *r = find_range(bus, port);
	return r && r->name ? r->name : "unassigned";
}
