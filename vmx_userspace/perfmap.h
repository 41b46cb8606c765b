/* perf's view of the translation cache (perfmap.c): -perf-map's
 * /tmp/perf-PID.map and -jitdump's /tmp/jit-PID.dump, fed by the monitor's
 * fragment-created events. */
#ifndef PERFMAP_H
#define PERFMAP_H
#include <stdbool.h>
#include <stddef.h>
#include "world.h"

/* Creates /tmp/perf-PID.map and/or /tmp/jit-PID.dump (outfile.h's log
 * rules); 0, or -1 with a one-line message. `kernel`'s ELF symbols, if
 * any, name guest code. */
int perfmap_open(const char *kernel, bool perf_map, bool jitdump, char *err, size_t errlen);
/* A map line and a JIT_CODE_LOAD record for a fragment, as enabled. */
void perfmap_fragment(const struct world_fragment *f);
/* Writes out what waits in memory (the guest idles: nothing is measuring). */
void perfmap_flush(void);
/* The same from a signal handler ending vmx (async-signal-safe). */
void perfmap_flush_signal(void);
/* Closes both; -1 with a message if a write failed during the run. */
int perfmap_close(char *err, size_t errlen);

#endif
