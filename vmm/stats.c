/* The counter registry behind include/stats.h: a fixed table of pointers to
 * counters owned by their components, in registration order. */
#include "stats.h"
#include <stddef.h>

static stat_counter *registry[STATS_MAX];
static unsigned nregistered;

static int same_name(const char *a, const char *b)
{
	while (*a && *a == *b) { a++; b++; }
	return *a == *b;
}

int stats_register(stat_counter *c)
{
	for (unsigned i = 0; i < nregistered; i++)
		if (registry[i] == c)
			return 0;
	if (nregistered == STATS_MAX)
		return -1;
	registry[nregistered++] = c;
	return 0;
}

unsigned stats_count(void) { return nregistered; }
stat_counter *stats_at(unsigned i) { return i < nregistered ? registry[i] : NULL; }

stat_counter *stats_find(const char *name)
{
	for (unsigned i = 0; i < nregistered; i++)
		if (same_name(registry[i]->name, name))
			return registry[i];
	return NULL;
}

void stats_reset_registry(void) { nregistered = 0; }
