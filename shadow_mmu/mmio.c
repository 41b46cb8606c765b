/* The MMIO region table: which guest-physical ranges are device memory,
 * and the dispatch of decoded accesses to their devices (counted per
 * device as mmu.mmio.<device>). */
#include "mmio.h"

static struct mmio_region regions[MMIO_MAX];
static unsigned nregions;

int mmio_register(const struct mmio_region *r)
{
	if (nregions == MMIO_MAX || r->len == 0)
		return -1;
	for (unsigned i = 0; i < nregions; i++)
		if ((uint64_t)r->base < (uint64_t)regions[i].base + regions[i].len &&
		    (uint64_t)regions[i].base < (uint64_t)r->base + r->len)
			return -1;
	regions[nregions++] = *r;
	if (r->counter)
		stats_register(r->counter);
	return 0;
}

void mmio_unregister(uint32_t base)
{
	for (unsigned i = 0; i < nregions; i++)
		if (regions[i].base == base) {
			regions[i] = regions[--nregions];
			return;
		}
}

const struct mmio_region *mmio_find(uint32_t pa)
{
	for (unsigned i = 0; i < nregions; i++)
		if (pa - regions[i].base < regions[i].len)
			return &regions[i];
	return (const struct mmio_region *)0;
}

uint32_t mmio_read(const struct mmio_region *r, uint32_t pa, unsigned size)
{
	if (r->counter)
		stat_inc(r->counter);
	return r->read(r->opaque, pa - r->base, size);
}

void mmio_write(const struct mmio_region *r, uint32_t pa, unsigned size, uint32_t val)
{
	if (r->counter)
		stat_inc(r->counter);
	r->write(r->opaque, pa - r->base, size, val);
}
