/* pit_irq guest: PIC at 0x20/0x28, PIT channel 0 at ~1000 Hz on IRQ0:
 * nothing delivered while IF=0 or masked though IRR shows it, then ticks
 * while spinning and with sti;hlt, and what the handler sees. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "idt.h"
#include "io.h"
#include "pic.h"
#include "pit.h"

GUEST_NAME("pit_irq");

#define IRQ0_VECTOR 0x20
#define DIVISOR 1193		/* 1193182 Hz / 1193 = ~1000 Hz */
#define IF (1u << 9)

static volatile uint32_t ticks, spurious;
static volatile uint32_t bad_frame, isr_in_handler = 0xFFFF, isr_after_eoi = 0xFFFF;

static void irq0(struct int_frame *f)
{
	if (f->vector != IRQ0_VECTOR || (f->cs & 0xFFFF) != 0x08 || !(f->eflags & IF))
		bad_frame = f->vector | 0x100;
	if (ticks == 0) {
		isr_in_handler = pic_read_isr();
		pic_eoi(0);
		isr_after_eoi = pic_read_isr();
	} else {
		pic_eoi(0);
	}
	ticks++;
}

/* A real 8259 may raise IRQ7/IRQ15 spuriously; no EOI for those. */
static void spurious_irq(struct int_frame *f)
{
	(void)f;
	spurious++;
}

/* Waits for cond(), giving up after `periods` PIT periods (counted by
 * watching channel 0 reload) so a lost interrupt fails instead of hanging.
 * The PIT is sampled every `inner` polls; for ticks that is many, so the
 * time goes to a pure compute loop, which is what must get interrupted. */
static int irr0_set(void) { return pic_read_irr() & 1; }
static uint32_t tick_target;
static int ticks_reached(void) { return ticks >= tick_target; }

static void wait_until(int (*cond)(void), uint32_t inner, uint32_t periods, const char *what)
{
	uint16_t prev = pit_read_ch0();
	uint32_t reloads = 0;

	for (uint32_t outer = 0; outer < 100000000; outer++) {
		for (uint32_t i = 0; i < inner; i++)
			if (cond())
				return;
		uint16_t now = pit_read_ch0();
		if (now > prev && ++reloads > periods)
			break;
		prev = now;
	}
	fail("%s: gave up after %u PIT periods (ticks %u)", what, periods, ticks);
}

static void wait_for_irr0(const char *what)
{
	wait_until(irr0_set, 1, 20, what);
}

static void spin_until_ticks(uint32_t target, const char *what)
{
	tick_target = target;
	wait_until(ticks_reached, 10000, target - ticks + 2000, what);
}

static void check_counter(void)
{
	/* Mode 2 counts DIVISOR .. 1 and reloads: never 0, never above. */
	for (int i = 0; i < 100; i++) {
		uint16_t c = pit_read_ch0();
		if (c == 0 || c > DIVISOR)
			fail("PIT channel 0 latched count 0x%04x outside 1..0x%04x", c, DIVISOR);
	}
}

void guest_main(void)
{
	idt_init();
	idt_set_handler(IRQ0_VECTOR, irq0, GATE_INTR);
	idt_set_handler(0x27, spurious_irq, GATE_INTR);
	idt_set_handler(0x2F, spurious_irq, GATE_INTR);
	pic_remap(0x20, 0x28);
	pit_set_periodic(DIVISOR);
	check_counter();
	progress("counter");

	/* IF=0: the request is latched in IRR but not delivered. */
	cli();
	pic_set_mask(0xFFFE);
	wait_for_irr0("with IF=0");
	for (volatile uint32_t i = 0; i < 100000; i++)
		;
	check_eq("ticks delivered while IF=0", 0, ticks);
	/* Hardware takes it right after the instruction following sti; a
	 * translator may wait for a block boundary, so allow a short spin. */
	sti();
	spin_until_ticks(1, "pending IRQ0 after sti");
	cli();
	check_eq("bad interrupt frame (vector | 0x100)", 0, bad_frame);
	check_eq("ISR inside the handler before EOI", 0x0001, isr_in_handler);
	check_eq("ISR after EOI", 0x0000, isr_after_eoi);
	progress("if_blocks");

	/* Spinning with IF=1. */
	sti();
	spin_until_ticks(50, "spinning with sti");
	cli();
	progress("spin_50");

	/* sti;hlt: each hlt ends with an interrupt, and only IRQ0 can come. */
	uint32_t start = ticks, halts = 0;
	while (ticks < start + 50) {
		if (++halts > 10000)
			fail("sti;hlt: only %u ticks after 10000 halts", ticks - start);
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
	if (halts > ticks - start + 1)
		fail("sti;hlt woke up more often than interrupts arrived");
	progress("hlt_50");

	/* Masked in the PIC with IF=1: latched, not delivered; unmask and it
	 * comes. */
	pic_set_mask(0xFFFF);
	uint32_t before = ticks;
	sti();
	wait_for_irr0("while masked");
	for (volatile uint32_t i = 0; i < 100000; i++)
		;
	cli();
	check_eq("ticks delivered while masked", before, ticks);
	pic_set_mask(0xFFFE);
	sti();
	spin_until_ticks(before + 1, "after unmasking");
	cli();
	progress("mask_blocks");

	check_eq("bad interrupt frame (vector | 0x100)", 0, bad_frame);
	pic_set_mask(0xFFFF);
	pit_stop();
}
