/* Unit tests for the virtual clock (vmm/vclock.c) on a fake host clock:
 * guest time and its monotonicity, the TSC's rate and strict increase,
 * timer runs spaced by the minimum period, and the PIT driven by the clock
 * as the monitor drives it: exact counter reads at arbitrary times, missed
 * periods coalesced into one IRQ0 edge, one pending IRR bit, and a TSC
 * calibration against channel 2 that measures the documented rate. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "vclock.h"
#include "devices.h"
#include "io.h"
#include "stats.h"
#include "tunables.h"

#define HOST0 5000000000ull /* host clock at power-on, ns */
#define MIN_PERIOD 100000ull

static uint64_t host_ns;
static uint64_t fake_now(void) { return host_ns; }

static struct {
	struct vclock clock;
	struct io_bus bus;
	stat_counter unclaimed;
	struct pic pic;
	struct pit pit;
	struct vclock_timer pit_timer;
	unsigned fired;
	uint64_t fired_at;
} w;

/* The monitor's glue (monitor.c), repeated: a run raises IRQ0 once. */
static void pit_fire(void *opaque, uint64_t now)
{
	assert_ptr_equal(opaque, &w.pit);
	pit_advance(&w.pit, now);
	vclock_timer_mod(&w.pit_timer, pit_next_deadline(&w.pit));
}

static int setup(void **state)
{
	(void)state;
	__builtin_memset(&w, 0, sizeof(w));
	stats_reset_registry();
	host_ns = HOST0;
	vclock_init(&w.clock, fake_now, MIN_PERIOD);
	io_bus_init(&w.bus, &w.unclaimed);
	pic_init(&w.pic);
	pit_init(&w.pit, &w.pic, vclock_now(&w.clock));
	if (pic_attach(&w.pic, &w.bus) || pit_attach(&w.pit, &w.bus) ||
	    vclock_timer_init(&w.clock, &w.pit_timer, pit_fire, &w.pit))
		return -1;
	/* ICW1..4: master at vector 0x30, only IRQ0 unmasked. */
	static const uint8_t init[][2] = { { 0x20, 0x11 }, { 0x21, 0x30 }, { 0x21, 0x04 },
					   { 0x21, 0x01 }, { 0x21, 0xfe } };
	for (unsigned i = 0; i < sizeof(init) / sizeof(init[0]); i++)
		io_out(&w.bus, init[i][0], 1, init[i][1]);
	return 0;
}

static void outb(uint16_t port, uint8_t v) { io_out(&w.bus, port, 1, v); }
static uint8_t inb(uint16_t port) { return (uint8_t)io_in(&w.bus, port, 1); }
static uint64_t stat(const char *name) { return stats_find(name)->value; }

/* A port access as the monitor makes it: the device sees the clock's time. */
static void sync(void) { pit_set_time(&w.pit, vclock_now(&w.clock)); }

static void program(unsigned ch, unsigned mode, uint16_t count)
{
	sync();
	outb(0x43, (uint8_t)((ch << 6) | 0x30 | (mode << 1)));
	outb((uint16_t)(0x40 + ch), (uint8_t)count);
	outb((uint16_t)(0x40 + ch), (uint8_t)(count >> 8));
	vclock_timer_mod(&w.pit_timer, pit_next_deadline(&w.pit));
}

static uint16_t latch_read(unsigned ch)
{
	sync();
	outb(0x43, (uint8_t)(ch << 6));
	uint8_t lo = inb((uint16_t)(0x40 + ch));
	uint8_t hi = inb((uint16_t)(0x40 + ch));
	return (uint16_t)(lo | hi << 8);
}

/* Input clocks in `ns`, computed apart from the device's own arithmetic. */
static uint64_t clocks(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * PIT_HZ / 1000000000u);
}

/* ------------------------------------------------------------ guest time */

static void test_guest_time_follows_host(void **state)
{
	(void)state;
	assert_int_equal(vclock_now(&w.clock), 0);
	host_ns = HOST0 + 123456789;
	assert_int_equal(vclock_now(&w.clock), 123456789);
	/* A host clock that steps back does not take guest time with it. */
	host_ns = HOST0 + 1000;
	assert_int_equal(vclock_now(&w.clock), 123456789);
	host_ns = HOST0 + 123456790;
	assert_int_equal(vclock_now(&w.clock), 123456790);
}

/* ------------------------------------------------------------------- TSC */

static void test_tsc_rate(void **state)
{
	(void)state;
	assert_int_equal(TUNE_TSC_HZ, 1000000000ull);
	uint64_t t0 = vclock_tsc(&w.clock);
	host_ns += 1000000000ull;               /* one second */
	uint64_t t1 = vclock_tsc(&w.clock);
	assert_int_equal(t1 - t0, TUNE_TSC_HZ);
	host_ns += 2500;                        /* 2.5 us */
	assert_int_equal(vclock_tsc(&w.clock) - t1, 2500 * TUNE_TSC_HZ / 1000000000ull);
	/* Far into the range: whole cycles, no overflow in the conversion. */
	assert_int_equal(vclock_cycles(18000000000000000000ull), 18000000000000000000ull);
	assert_int_equal(vclock_cycles(999999999), 999999999);
}

static void test_tsc_strictly_increasing(void **state)
{
	(void)state;
	host_ns += 777;
	uint64_t prev = vclock_tsc(&w.clock);
	/* The host clock does not move between these reads, or goes back. */
	for (int i = 0; i < 1000; i++) {
		if (i == 500)
			host_ns -= 100;
		uint64_t v = vclock_tsc(&w.clock);
		assert_true(v > prev);
		prev = v;
	}
	/* Once the host clock passes what was handed out, the rate is exact. */
	host_ns += 1000000;
	assert_int_equal(vclock_tsc(&w.clock), 777 - 100 + 1000000);
}

static void test_tsc_write(void **state)
{
	(void)state;
	host_ns += 5000;
	vclock_set_tsc(&w.clock, 42);
	assert_int_equal(vclock_tsc(&w.clock), 42);
	host_ns += 1000;
	assert_int_equal(vclock_tsc(&w.clock), 42 + 1000);
	/* Written backwards: counting restarts there and stays monotonic. */
	vclock_set_tsc(&w.clock, 7);
	assert_int_equal(vclock_tsc(&w.clock), 7);
	assert_int_equal(vclock_tsc(&w.clock), 8);
}

/* ---------------------------------------------------------------- timers */

static void count_fire(void *opaque, uint64_t now)
{
	(void)opaque;
	w.fired++;
	w.fired_at = now;
}

static void test_timer_runs_when_due(void **state)
{
	(void)state;
	struct vclock_timer t;
	assert_int_equal(vclock_timer_init(&w.clock, &t, count_fire, NULL), 0);
	assert_int_equal(vclock_host_deadline(&w.clock), UINT64_MAX);
	vclock_timer_mod(&t, 500000);
	assert_int_equal(vclock_host_deadline(&w.clock), HOST0 + 500000);
	host_ns = HOST0 + 499999;
	assert_false(vclock_run(&w.clock));
	host_ns = HOST0 + 500003;
	assert_true(vclock_run(&w.clock));
	assert_int_equal(w.fired, 1);
	assert_int_equal(w.fired_at, 500003);
	/* Fired timers are idle until re-armed. */
	assert_int_equal(t.deadline, UINT64_MAX);
	host_ns += 10000000;
	assert_false(vclock_run(&w.clock));
	assert_int_equal(w.fired, 1);
	assert_int_equal(stat("vmm.clock.timer_runs"), 1);
}

static void test_timer_min_period(void **state)
{
	(void)state;
	struct vclock_timer t;
	vclock_timer_init(&w.clock, &t, count_fire, NULL);
	vclock_timer_mod(&t, 1000);
	host_ns = HOST0 + 1000;
	assert_true(vclock_run(&w.clock));
	/* Due again 1 us later: the run waits for the minimum period, and the
	 * host deadline says so. */
	vclock_timer_mod(&t, 2000);
	assert_int_equal(vclock_host_deadline(&w.clock), HOST0 + 1000 + MIN_PERIOD);
	host_ns = HOST0 + 1000 + MIN_PERIOD - 1;
	assert_false(vclock_run(&w.clock));
	assert_int_equal(w.fired, 1);
	host_ns = HOST0 + 1000 + MIN_PERIOD;
	assert_true(vclock_run(&w.clock));
	assert_int_equal(w.fired, 2);
	/* After a quiet stretch a deadline is honoured exactly. */
	vclock_timer_mod(&t, 5000000);
	assert_int_equal(vclock_host_deadline(&w.clock), HOST0 + 5000000);
}

static void test_timer_table_full(void **state)
{
	(void)state;
	static struct vclock_timer t[VCLOCK_TIMERS];
	/* The PIT holds one slot already. */
	for (unsigned i = 0; i + 1 < VCLOCK_TIMERS; i++)
		assert_int_equal(vclock_timer_init(&w.clock, &t[i], count_fire, NULL), 0);
	assert_int_equal(vclock_timer_init(&w.clock, &t[VCLOCK_TIMERS - 1], count_fire, NULL), -1);
}

/* ------------------------------------------------------- the PIT on it */

static void test_pit_reads_exact_at_any_time(void **state)
{
	(void)state;
	program(0, 2, 1000);
	program(2, 3, 999);
	outb(0x61, 0x01);                       /* gate 2 high: start now */
	uint64_t start0 = 0, start2 = 0;
	/* A walk of uneven steps, none a multiple of the input clock. */
	uint64_t t = 0, step = 1;
	for (int i = 0; i < 2000; i++) {
		step = step * 6364136223846793005ull + 1442695040888963407ull;
		t += (step >> 40) % 3000000 + 1;
		host_ns = HOST0 + t;
		uint64_t k0 = clocks(t - start0);
		assert_int_equal(latch_read(0), 1000 - k0 % 1000);
		/* Mode 3, odd count: the counter steps by two, half-periods of
		 * (n+1)/2 and (n-1)/2 clocks, reloading n-1 each time. */
		uint64_t ph = clocks(t - start2) % 999;
		uint16_t want2 = (uint16_t)(ph < 500 ? 998 - 2 * ph : 998 - 2 * (ph - 500));
		assert_int_equal(latch_read(2), want2);
	}
	/* Reads do not raise IRQ0: that is the clock's run. */
	assert_int_equal(stat("dev.pit.ticks"), 0);
	assert_false(pic_intr_pending(&w.pic));
}

static void test_pit_fast_rate_coalesced(void **state)
{
	(void)state;
	program(0, 2, 1);                       /* 1.19 MHz */
	uint64_t runs = 0;
	/* The monitor's loop: run the clock when the host timer says, the
	 * guest takes each interrupt at once. */
	for (;;) {
		uint64_t dl = vclock_host_deadline(&w.clock);
		if (dl > HOST0 + 100000000ull)      /* 100 ms of guest time */
			break;
		host_ns = dl;
		assert_true(vclock_run(&w.clock));
		runs++;
		assert_true(pic_intr_pending(&w.pic));
		assert_int_equal(pic_ack(&w.pic), 0x30);
		outb(0x20, 0x20);
	}
	/* One run per minimum period, one edge per run, the rest coalesced. */
	assert_int_equal(runs, 100000000ull / MIN_PERIOD);
	assert_int_equal(stat("dev.pit.ticks"), runs);
	uint64_t periods = clocks(vclock_now(&w.clock));
	assert_int_equal(stat("dev.pit.ticks") + stat("dev.pit.ticks_coalesced"), periods);
	assert_int_equal(stat("dev.pic.irqs_coalesced"), 0);
}

static void test_pit_pending_irr_stays_one(void **state)
{
	(void)state;
	program(0, 2, 8);                       /* 149 kHz */
	/* IF=0 for 10 ms: the runs go on, IRQ0 stays one request. */
	for (int i = 1; i <= 100; i++) {
		host_ns = HOST0 + (uint64_t)i * MIN_PERIOD;
		vclock_run(&w.clock);
	}
	assert_int_equal(stat("dev.pit.ticks"), 100);
	assert_int_equal(stat("dev.pic.irqs_coalesced"), 99);
	assert_int_equal(pic_ack(&w.pic), 0x30);
	outb(0x20, 0x20);
	/* Nothing else queued behind it. */
	assert_false(pic_intr_pending(&w.pic));
	assert_int_equal(stat("dev.pic.acks"), 1);
}

static void test_tsc_calibrates_against_pit(void **state)
{
	(void)state;
	/* Linux's pit_calibrate_tsc: channel 2, mode 0, 50 ms (59659 clocks),
	 * polling OUT2 at port 0x61 with rdtsc around it. */
	sync();
	outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01));
	outb(0x43, 0xb0);
	outb(0x42, 59659 & 0xff);
	outb(0x42, 59659 >> 8);
	uint64_t t0 = vclock_tsc(&w.clock), t1 = t0;
	for (;;) {
		host_ns += 1234;                    /* one poll */
		sync();
		t1 = vclock_tsc(&w.clock);
		if (inb(0x61) & 0x20)
			break;
	}
	/* cycles per ms, as Linux computes its tsc_khz: within one poll */
	uint64_t khz = (t1 - t0) / 50;
	assert_true(khz >= TUNE_TSC_HZ / 1000 - 30 && khz <= TUNE_TSC_HZ / 1000 + 30);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_guest_time_follows_host),
		T(test_tsc_rate),
		T(test_tsc_strictly_increasing),
		T(test_tsc_write),
		T(test_timer_runs_when_due),
		T(test_timer_min_period),
		T(test_timer_table_full),
		T(test_pit_reads_exact_at_any_time),
		T(test_pit_fast_rate_coalesced),
		T(test_pit_pending_irr_stays_one),
		T(test_tsc_calibrates_against_pit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
