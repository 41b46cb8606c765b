/* The virtual clock: the guest's one time base. Guest nanoseconds (the
 * host's monotonic clock since power-on, never going back), the TSC that
 * counts them, and the timers of the timer devices (the PIT today, a local
 * APIC timer later), whose runs it spaces out so that the host timer fires
 * at a rate the host can bear whatever rate the guest programs.
 * Environment: monitor (freestanding); host time only through the function
 * given to vclock_init. */
#ifndef VCLOCK_H
#define VCLOCK_H
#include <stdint.h>
#include <stdbool.h>
#include "stats.h"

/* Timers one clock drives: PIT channel 0, and room for the LAPIC's. */
#define VCLOCK_TIMERS 4

struct vclock_timer {
	uint64_t deadline;      /* guest ns; UINT64_MAX: nothing due */
	void (*fire)(void *opaque, uint64_t now);
	void *opaque;
};

struct vclock {
	uint64_t (*host_now)(void);
	uint64_t host_base;     /* host ns at guest time 0 */
	uint64_t now;           /* the latest guest ns handed out */
	uint64_t tsc_offset;    /* guest TSC minus cycles(now), set by a TSC write */
	uint64_t tsc_last;      /* the latest TSC value handed out */
	uint64_t min_period;    /* guest ns between two runs that fire timers */
	uint64_t next_run;      /* timers do not fire again before this */
	struct vclock_timer *timer[VCLOCK_TIMERS];
	unsigned ntimers;
	stat_counter runs;
};

/* Guest time 0 is now; timers fire at most once per `min_period_ns`. */
void vclock_init(struct vclock *c, uint64_t (*host_now)(void), uint64_t min_period_ns);
/* Guest nanoseconds since vclock_init: exact, never smaller than before. */
uint64_t vclock_now(struct vclock *c);
/* The guest's time stamp counter at TUNE_TSC_HZ: strictly increasing
 * between reads, as the hardware's is. */
uint64_t vclock_tsc(struct vclock *c);
/* A write to the TSC (MSR 0x10): counting goes on from `v`. */
void vclock_set_tsc(struct vclock *c, uint64_t v);
/* Whole TSC cycles in `ns` guest nanoseconds. */
uint64_t vclock_cycles(uint64_t ns);

/* Adds a timer (idle until vclock_timer_mod); -1 when the table is full.
 * `fire` runs from vclock_run with the timer idle again: it re-arms itself
 * by calling vclock_timer_mod. */
int vclock_timer_init(struct vclock *c, struct vclock_timer *t,
		      void (*fire)(void *opaque, uint64_t now), void *opaque);
static inline void vclock_timer_mod(struct vclock_timer *t, uint64_t deadline) { t->deadline = deadline; }
/* Fires the timers that are due, unless timers fired less than the minimum
 * period ago (then they wait; the device folds what it missed into one
 * event). True when any fired. */
bool vclock_run(struct vclock *c);
/* The host time (ns, the host_now clock) at which vclock_run next has work;
 * UINT64_MAX when no timer is armed. */
uint64_t vclock_host_deadline(const struct vclock *c);

#endif
