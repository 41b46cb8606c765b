/* Named statistics counters: every component registers its counters here at
 * init; the VMX prints them at exit (JSON or a table). Freestanding: no
 * allocation, counters are static objects owned by their component. */
#ifndef STATS_H
#define STATS_H
#include <stdint.h>

typedef struct stat_counter {
	const char *name;   /* dotted, e.g. "bt.tu.translated" */
	uint64_t value;
} stat_counter;

#define STATS_MAX 512

/* Register a counter (idempotent for the same object). Returns 0, or -1 when
 * the registry is full. */
int stats_register(stat_counter *c);
/* Number of registered counters and indexed access, in registration order. */
unsigned stats_count(void);
stat_counter *stats_at(unsigned i);
/* Look a counter up by name (NULL when absent); meant for tests and reports. */
stat_counter *stats_find(const char *name);
/* Forget all registrations (unit tests). */
void stats_reset_registry(void);

static inline void stat_inc(stat_counter *c) { c->value++; }
static inline void stat_add(stat_counter *c, uint64_t n) { c->value += n; }

#endif
