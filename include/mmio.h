/* Guest-physical ranges that belong to devices (MMIO): accesses to them
 * never reach RAM; the monitor decodes the instruction and calls the
 * device. Registered by devices, looked up by the monitor's guest memory
 * accessors. */
#ifndef MMIO_H
#define MMIO_H
#include <stdint.h>
#include "stats.h"

struct mmio_region {
	uint32_t base, len;
	/* size is 1, 2 or 4 and the access never crosses the region's end */
	uint32_t (*read)(void *opaque, uint32_t off, unsigned size);
	void (*write)(void *opaque, uint32_t off, unsigned size, uint32_t val);
	void *opaque;
	stat_counter *counter;   /* "mmu.mmio.<device>" */
};

#define MMIO_MAX 16
int mmio_register(const struct mmio_region *r);
/* Takes the region starting at `base` off the bus (a device that moves). */
void mmio_unregister(uint32_t base);
const struct mmio_region *mmio_find(uint32_t pa);
/* One access of 1..4 bytes at pa (split at region edges by the caller). */
uint32_t mmio_read(const struct mmio_region *r, uint32_t pa, unsigned size);
void mmio_write(const struct mmio_region *r, uint32_t pa, unsigned size, uint32_t val);

#endif
