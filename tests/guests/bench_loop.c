/* Benchmark guest (not a test): runs the compute loop of
 * tests/bench/bench_kernel.h for the iteration count given on the command
 * line as "iters=N" and prints the checksum; with "io" on the command line
 * it runs N port writes to an unclaimed port instead (one callout each);
 * with "pit=D" the loop runs with IRQ0 at PIT divisor D (0: 65536, 18.2 Hz).
 * Environment: guest, ring 0, flat segments, paging off. */
#include "boot.h"
#include "exit.h"
#include "idt.h"
#include "io.h"
#include "pic.h"
#include "pit.h"
#include "serial.h"
#include "../bench/bench_kernel.h"

GUEST_NAME("bench_loop");

static uint32_t buf[BENCH_WORDS];
static volatile uint32_t ticks;
#define NO_PIT 0xFFFFFFFFu     /* no pit= on the command line */

static void irq0(struct int_frame *f)
{
	(void)f;
	ticks++;
	pic_eoi(0);
}

static void spurious_irq(struct int_frame *f)
{
	(void)f;
}

static int has_word(const char *s, const char *w)
{
	for (; *s; s++) {
		const char *a = s, *b = w;
		while (*b && *a == *b) { a++; b++; }
		if (!*b && (*a == 0 || *a == ' ') && (s == w || s[-1] == ' ' || 1))
			return 1;
	}
	return 0;
}

/* The number after `key` (e.g. "iters="), or `dflt` when absent. */
static uint32_t arg_num(const char *s, const char *key, uint32_t dflt)
{
	for (; *s; s++) {
		const char *a = s, *k = key;
		while (*k && *a == *k) { a++; k++; }
		if (*k)
			continue;
		uint32_t v = 0;
		for (; *a >= '0' && *a <= '9'; a++)
			v = v * 10 + (uint32_t)(*a - '0');
		return v;
	}
	return dflt;
}

void guest_main(void)
{
	const char *cmdline = (const char *)boot_info->cmdline;
	uint32_t iters = arg_num(cmdline, "iters=", 1000000);
	uint32_t pit = arg_num(cmdline, "pit=", NO_PIT);
	if (pit != NO_PIT) {
		idt_init();
		idt_set_handler(0x20, irq0, GATE_INTR);
		idt_set_handler(0x27, spurious_irq, GATE_INTR);
		idt_set_handler(0x2F, spurious_irq, GATE_INTR);
		pic_remap(0x20, 0x28);
		pit_set_periodic((uint16_t)pit);
		pic_set_mask(0xFFFE);
		sti();
		uint32_t h = bench_kernel(iters, buf);
		cli();
		pic_set_mask(0xFFFF);
		pit_stop();
		kprintf("checksum %08x\n", h);
		return;
	}
	if (has_word(cmdline, " io")) {
		for (uint32_t i = 0; i < iters; i++)
			__asm__ volatile("outb %%al, $0xe0" : : "a"(i));
		kprintf("checksum %08x\n", iters);
		return;
	}
	kprintf("checksum %08x\n", bench_kernel(iters, buf));
}
