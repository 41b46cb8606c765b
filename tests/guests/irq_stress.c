/* irq_stress guest: a fast timer (~20 kHz) interrupting code that mixes
 * everything the translator treats specially (calls/returns, indirect
 * calls, port I/O callouts, pushf/popf, cli/sti, string instructions,
 * self-checking arithmetic). Interrupts must be invisible: results equal a
 * run with interrupts off, registers and the stack survive every one. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "idt.h"
#include "io.h"
#include "pic.h"
#include "pit.h"

GUEST_NAME("irq_stress");

#define IRQ0_VECTOR 0x20
#define DIVISOR 60              /* ~19.9 kHz */
#define ROUNDS 20000
#define MIN_TICKS 50

static volatile uint32_t ticks;
static volatile uint32_t bad;

static void irq0(struct int_frame *f)
{
	if (f->vector != IRQ0_VECTOR || (f->cs & 0xFFFF) != 0x08)
		bad = 1;
	ticks++;
	pic_eoi(0);
}

__attribute__((noinline)) static uint32_t step_a(uint32_t x) { return x * 2654435761u + 7; }
__attribute__((noinline)) static uint32_t step_b(uint32_t x) { return (x ^ (x >> 11)) + 0x9e37; }
__attribute__((noinline)) static uint32_t step_c(uint32_t x) { return (x << 5) - x + 3; }
static uint32_t (*const steps[3])(uint32_t) = { step_a, step_b, step_c };

static uint8_t src[64], dst[64];

/* One round: the work whose result must not depend on interrupts. */
__attribute__((noinline)) static uint32_t round_work(uint32_t h, uint32_t i)
{
	uint32_t flags, esp_before, esp_after;
	__asm__ volatile("movl %%esp, %0" : "=r"(esp_before));
	h = steps[i % 3](h);
	/* Port I/O callouts: the UART scratch register round trip. */
	outb(0x3FF, (uint8_t)h);
	h += inb(0x3FF);
	/* pushf/popf keep arithmetic flags; cli/sti around a critical piece. */
	__asm__ volatile("cli\n\taddl $1, %1\n\tpushfl\n\tpopl %0\n\tsti"
		: "=r"(flags), "+r"(h) : : "cc");
	h ^= flags & 0x8D5;     /* CF PF ZF SF OF: a function of h only */
	__asm__ volatile("pushfl\n\torl $0x200, (%%esp)\n\tpopfl" ::: "cc", "memory");
	/* String instructions, both directions. */
	for (unsigned k = 0; k < sizeof(src); k++)
		src[k] = (uint8_t)(h >> (k & 24));
	__asm__ volatile("cld\n\trep movsb" : : "S"(src), "D"(dst), "c"(sizeof(src)) : "memory");
	__asm__ volatile("std\n\trep movsb\n\tcld" : : "S"(src + 63), "D"(dst + 63), "c"(sizeof(src)) : "memory");
	for (unsigned k = 0; k < sizeof(dst); k += 4)
		h += *(uint32_t *)(dst + k);
	__asm__ volatile("movl %%esp, %0" : "=r"(esp_after));
	if (esp_before != esp_after)
		bad = 2;
	return h;
}

static uint32_t run(void)
{
	uint32_t h = 0x12345678;
	for (uint32_t i = 0; i < ROUNDS; i++)
		h = round_work(h, i);
	return h;
}

void guest_main(void)
{
	idt_init();
	pic_remap(0x20, 0x28);
	idt_set_handler(IRQ0_VECTOR, irq0, GATE_INTR);
	/* Reference with no interrupt source at all. */
	uint32_t quiet = run();
	pit_set_periodic(DIVISOR);
	pic_set_mask(0xFFFE);
	__asm__ volatile("sti");
	uint32_t noisy = run();
	uint32_t first = ticks;
	while (ticks - first < MIN_TICKS)   /* make sure interrupts did happen */
		noisy = run();
	__asm__ volatile("cli");
	check_eq("result with ~20 kHz interrupts", quiet, noisy);
	check_eq("interrupt frames and stack", 0, bad);
}
