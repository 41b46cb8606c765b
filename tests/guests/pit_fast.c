/* pit_fast guest: PIT channel 0 programmed at divisors 1, 2, 4, 8 (1.19 MHz
 * down to 149 kHz) and 64 in turn, IRQ0 unmasked, while a fixed loop of
 * work runs. At every divisor the loop must complete with the result it has
 * with interrupts off, interrupts must have arrived, and counter reads stay
 * in 1..divisor. Only timing-independent lines are printed (QEMU's match).
 * Environment: guest, ring 0, flat segments, paging off. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "idt.h"
#include "io.h"
#include "pic.h"
#include "pit.h"

GUEST_NAME("pit_fast");

#define IRQ0_VECTOR 0x20
/* About 10 ms of translated work per divisor: long enough for a tick at
 * any rate, short enough for make check. */
#define WORK_ITERS 1500000u
#define CHUNKS 16u

static volatile uint32_t ticks, bad_vector;

static void irq0(struct int_frame *f)
{
	if (f->vector != IRQ0_VECTOR)
		bad_vector = f->vector | 0x100;
	ticks++;
	pic_eoi(0);
}

static void spurious_irq(struct int_frame *f)
{
	(void)f;
}

__attribute__((noinline)) static uint32_t work(uint32_t h, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		h ^= h >> 13;
		h = h * 0x5bd1e995u + i;
	}
	return h;
}

/* The loop in chunks, reading the counter between them: mode 2 counts
 * divisor .. 1, so every read lies in that range whatever the rate. */
static uint32_t run(uint16_t divisor)
{
	uint32_t h = 0x2545f491u;
	for (uint32_t c = 0; c < CHUNKS; c++) {
		h = work(h, WORK_ITERS / CHUNKS);
		if (divisor) {
			uint16_t v = pit_read_ch0();
			if (v == 0 || v > divisor)
				fail("divisor %u: counter read 0x%04x outside 1..%u", divisor, v, divisor);
		}
	}
	return h;
}

static const struct { uint16_t divisor; const char *name; } rates[] = {
	{ 1, "divisor_1" }, { 2, "divisor_2" }, { 4, "divisor_4" },
	{ 8, "divisor_8" }, { 64, "divisor_64" },
};

void guest_main(void)
{
	idt_init();
	idt_set_handler(IRQ0_VECTOR, irq0, GATE_INTR);
	idt_set_handler(0x27, spurious_irq, GATE_INTR);
	idt_set_handler(0x2F, spurious_irq, GATE_INTR);
	pic_remap(0x20, 0x28);
	uint32_t quiet = run(0);

	for (unsigned r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
		ticks = 0;
		pit_set_periodic(rates[r].divisor);
		pic_set_mask(0xFFFE);
		sti();
		uint32_t noisy = run(rates[r].divisor);
		/* A loop this short can end before a loaded host's timer first
		 * fires: the interrupt must come, if not during it then soon
		 * after (a bounded wait: none at all still fails). */
		for (uint32_t i = 0; i < 50000000u && !ticks; i++)
			__asm__ volatile("pause");
		cli();
		pic_set_mask(0xFFFF);
		check_eq("work result with the timer running", quiet, noisy);
		check_eq("interrupt vector (| 0x100)", 0, bad_vector);
		if (ticks == 0)
			fail("divisor %u: no timer interrupt during the loop or after it", rates[r].divisor);
		progress(rates[r].name);
	}
	pit_stop();
}
