/* The guest's port I/O space: devices register handlers for port ranges and
 * the monitor dispatches guest in/out to them. Unclaimed ports read as all
 * ones and ignore writes, as on a PC with nothing decoding the address. */
#ifndef IO_H
#define IO_H
#include <stdint.h>
#include "stats.h"

typedef uint32_t (*io_read_fn)(void *opaque, uint16_t port, unsigned size);
typedef void (*io_write_fn)(void *opaque, uint16_t port, unsigned size, uint32_t val);

#define IO_MAX_RANGES 64

struct io_range {
	const char *name;      /* the device that claimed the range, for traces */
	uint16_t base, count;
	io_read_fn read;
	io_write_fn write;
	void *opaque;
	stat_counter *counter; /* bumped per access; may be NULL */
};

struct io_bus {
	struct io_range ranges[IO_MAX_RANGES];
	unsigned nranges;
	stat_counter *unclaimed; /* may be NULL */
};

void io_bus_init(struct io_bus *bus, stat_counter *unclaimed);
/* Returns 0, or -1 when the table is full or the range overlaps another.
 * `name` (static) names the device in traces. */
int io_register(struct io_bus *bus, const char *name, uint16_t base, uint16_t count,
		io_read_fn rd, io_write_fn wr, void *opaque, stat_counter *counter);
/* size is 1, 2 or 4; the value read is masked to size. */
uint32_t io_in(struct io_bus *bus, uint16_t port, unsigned size);
void io_out(struct io_bus *bus, uint16_t port, unsigned size, uint32_t val);
/* The name of the device claiming `port`, or "unassigned". */
const char *io_owner(const struct io_bus *bus, uint16_t port);

#endif
