/* -profile's accounting in the monitor (vmm/study.c): where the guest's
 * time goes (a stack of time buckets, stamped with rdtsc at each
 * transition), what each exit stub and callout site cost, and occupancy
 * samples. Every hook is behind `if (vm.study)`: without -profile none runs.
 * Environment: monitor. */
#ifndef VMM_STUDY_H
#define VMM_STUDY_H
#include <stdint.h>
#include "world.h"

struct mon_area;
void study_init(void);
/* Time from now on goes to bucket b (PROF_TB_*) until the matching pop. */
void study_push(unsigned b);
void study_pop(void);
/* Where the guest runs once the monitor is left (the bottom of the stack):
 * PROF_TB_TC or PROF_TB_DIRECT (vmm/exec.c decides). */
void study_running(unsigned b);
/* The current bucket turns out to be b (a trap that was a shadow fill). */
void study_retag(unsigned b);
/* `cycles` measured inside the current bucket belong to b (translation). */
void study_move(unsigned b, uint64_t cycles);
/* vmm_callout and vmm_trap with the accounting around them. */
uint32_t study_callout(struct mon_area *ma, uint32_t site, uint32_t (*dispatch)(struct mon_area *, uint32_t));
enum trap_action study_trap(struct vmm_trap *t, enum trap_action (*dispatch)(struct vmm_trap *));
/* Native execution enters the page of linear address lin (vmm/direct.c):
 * the direct time from here to the next trap is that page's. */
void study_direct_enter(uint32_t lin);
/* A store into translated code at physical pa by the instruction at vm.eip. */
void study_code_written(uint32_t pa, uint32_t len);
/* Stops the clock: the profile is read after this. */
void study_finish(void);

#endif
