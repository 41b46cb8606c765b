/* The virtual clock behind include/vclock.h: guest time from the host's
 * monotonic clock, the TSC derived from it, and the timer table whose runs
 * are spaced by a minimum period (the host timer signal is the expensive
 * part: ~3.5 us here, so a 1.19 MHz guest timer cannot have one per tick).
 * Environment: monitor (freestanding); host time only through c->host_now. */
#include "vclock.h"
#include "tunables.h"

#define NS_PER_S 1000000000ull

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* floor(ns * TSC_HZ / 1e9) without 128-bit division (no libgcc in the
 * monitor): seconds and the rest, each product below 2^64 for any rate
 * under 18 GHz. */
uint64_t vclock_cycles(uint64_t ns)
{
	uint64_t sec = ns / NS_PER_S, rem = ns % NS_PER_S;
	return sec * TUNE_TSC_HZ + rem * TUNE_TSC_HZ / NS_PER_S;
}

void vclock_init(struct vclock *c, uint64_t (*host_now)(void), uint64_t min_period_ns)
{
	*c = (struct vclock){ 0 };
	c->host_now = host_now;
	c->host_base = host_now();
	c->min_period = min_period_ns;
	c->tsc_last = UINT64_MAX;           /* the first read may be 0 */
	c->runs.name = "vmm.clock.timer_runs";
	stats_register(&c->runs);
}

uint64_t vclock_now(struct vclock *c)
{
	uint64_t h = c->host_now();
	uint64_t g = h > c->host_base ? h - c->host_base : 0;
	/* The driver world's clock source may not promise monotonic reads
	 * across CPUs; guest time must. */
	if (g > c->now)
		c->now = g;
	return c->now;
}

uint64_t vclock_tsc(struct vclock *c)
{
	uint64_t v = vclock_cycles(vclock_now(c)) + c->tsc_offset;
	/* Two reads within one host nanosecond still differ, as on hardware
	 * (guests time loops by rdtsc differences and divide by them). */
	if ((int64_t)(v - c->tsc_last) <= 0)
		v = c->tsc_last + 1;
	c->tsc_last = v;
	return v;
}

void vclock_set_tsc(struct vclock *c, uint64_t v)
{
	c->tsc_offset = v - vclock_cycles(vclock_now(c));
	c->tsc_last = v - 1;
}

int vclock_timer_init(struct vclock *c, struct vclock_timer *t,
		      void (*fire)(void *opaque, uint64_t now), void *opaque)
{
	if (c->ntimers == VCLOCK_TIMERS)
		return -1;
	t->deadline = UINT64_MAX;
	t->fire = fire;
	t->opaque = opaque;
	c->timer[c->ntimers++] = t;
	return 0;
}

bool vclock_run(struct vclock *c)
{
	uint64_t now = vclock_now(c);
	bool fired = false;

	if (now < c->next_run)
		return false;
	for (unsigned i = 0; i < c->ntimers; i++) {
		struct vclock_timer *t = c->timer[i];
		if (t->deadline > now)
			continue;
		t->deadline = UINT64_MAX;
		t->fire(t->opaque, now);
		fired = true;
	}
	if (fired) {
		c->next_run = add_sat(now, c->min_period);
		stat_inc(&c->runs);
	}
	return fired;
}

uint64_t vclock_host_deadline(const struct vclock *c)
{
	uint64_t dl = UINT64_MAX;
	for (unsigned i = 0; i < c->ntimers; i++)
		if (c->timer[i]->deadline < dl)
			dl = c->timer[i]->deadline;
	if (dl == UINT64_MAX)
		return UINT64_MAX;
	if (dl < c->next_run)
		dl = c->next_run;
	return add_sat(dl, c->host_base);
}
