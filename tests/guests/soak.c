/* soak guest (make soak; not part of make check): runs until vmx is
 * stopped, each round exercising what a long run must not leak from: the
 * PIT at 100 Hz, paging with two address spaces switched back and forth and
 * a remapped window, and 4096 small functions written at run time (far more
 * code than -tc-size 64 holds), an eighth of them rewritten every round
 * while translated. One line per round on COM1 is the progress.
 * Environment: guest, ring 0, flat segments, paging on after start. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "idt.h"
#include "io.h"
#include "pic.h"
#include "pit.h"
#include "serial.h"

GUEST_NAME("soak");

#define P 0x001u
#define W 0x002u
#define PAGE 4096u
#define CR0_PG 0x80000000u

/* Two address spaces sharing an identity map of the low 16 MiB; at WIN
 * each maps its own frames, and one window page is remapped per round. */
static uint32_t pd1[1024] __attribute__((aligned(4096)));
static uint32_t pd2[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[4][1024] __attribute__((aligned(4096)));
static uint32_t pt_win1[1024] __attribute__((aligned(4096)));
static uint32_t pt_win2[1024] __attribute__((aligned(4096)));
#define WIN 0x40000000u
#define WIN_PAGES 16u
/* Frame sets: space 1 maps set 0 or 1 per page, space 2 set 2. */
static uint8_t frames[3][WIN_PAGES][PAGE] __attribute__((aligned(4096)));

static inline void write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline uint32_t read_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline void write_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void invlpg(uint32_t lin) { __asm__ volatile("invlpg (%0)" : : "r"(lin) : "memory"); }

static uint32_t tag(unsigned set, unsigned page) { return 0x50000000u | (set << 16) | page; }

static void paging_init(void)
{
	for (unsigned t = 0; t < 4; t++)
		for (unsigned i = 0; i < 1024; i++)
			pt_low[t][i] = ((t * 1024 + i) * PAGE) | P | W;
	for (unsigned s = 0; s < 3; s++)
		for (unsigned k = 0; k < WIN_PAGES; k++)
			*(volatile uint32_t *)frames[s][k] = tag(s, k);
	for (unsigned k = 0; k < WIN_PAGES; k++) {
		pt_win1[k] = (uint32_t)(uintptr_t)frames[0][k] | P | W;
		pt_win2[k] = (uint32_t)(uintptr_t)frames[2][k] | P | W;
	}
	for (unsigned t = 0; t < 4; t++)
		pd1[t] = pd2[t] = (uint32_t)(uintptr_t)pt_low[t] | P | W;
	pd1[WIN >> 22] = (uint32_t)(uintptr_t)pt_win1 | P | W;
	pd2[WIN >> 22] = (uint32_t)(uintptr_t)pt_win2 | P | W;
	write_cr3((uint32_t)(uintptr_t)pd1);
	write_cr0(read_cr0() | CR0_PG);
}

static unsigned win_set[WIN_PAGES];   /* which set space 1 maps at each page */
static uint32_t cr3_switches;

static void check_window(unsigned set_of_page, unsigned k, const char *space)
{
	uint32_t got = *(volatile uint32_t *)(uintptr_t)(WIN + k * PAGE);
	if (got != tag(set_of_page, k))
		fail("%s: window page %u reads 0x%08x, want 0x%08x", space, k, got, tag(set_of_page, k));
}

static void paging_round(uint32_t round)
{
	/* Space 1 (current) gets one window page remapped to the other set. */
	unsigned k = round % WIN_PAGES;
	win_set[k] ^= 1;
	pt_win1[k] = (uint32_t)(uintptr_t)frames[win_set[k]][k] | P | W;
	invlpg(WIN + k * PAGE);
	for (unsigned j = 0; j < 32; j++) {
		unsigned p = (k + j) % WIN_PAGES;
		check_window(win_set[p], p, "space 1");
		write_cr3((uint32_t)(uintptr_t)pd2);
		check_window(2, p, "space 2");
		write_cr3((uint32_t)(uintptr_t)pd1);
		cr3_switches += 2;
	}
}

/* ---- code written at run time ---- */
#define NFUNC 4096u
#define FSTRIDE 32u
static uint8_t code[NFUNC * FSTRIDE] __attribute__((aligned(4096)));
static uint32_t gen[NFUNC];
typedef uint32_t (*fn_t)(void);

static uint32_t mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	return x ^ (x >> 16);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* mov $a,%eax; add $b,%eax; rol $r,%eax; xor $c,%eax; ret */
static void write_fn(unsigned i, uint32_t g)
{
	uint8_t *p = code + i * FSTRIDE;
	uint32_t a = mix(i * 4 + 0 + g * 0x9e3779b9u), b = mix(i * 4 + 1 + g * 0x9e3779b9u);
	uint32_t c = mix(i * 4 + 2 + g * 0x9e3779b9u);
	p[0] = 0xB8; put32(p + 1, a);
	p[5] = 0x05; put32(p + 6, b);
	p[10] = 0xC1; p[11] = 0xC0; p[12] = (uint8_t)(1 + (a % 31));
	p[13] = 0x35; put32(p + 14, c);
	p[18] = 0xC3;
	for (unsigned o = 19; o < FSTRIDE; o++)
		p[o] = 0xCC;
	gen[i] = g;
}

static uint32_t model(unsigned i)
{
	uint32_t g = gen[i];
	uint32_t a = mix(i * 4 + 0 + g * 0x9e3779b9u), b = mix(i * 4 + 1 + g * 0x9e3779b9u);
	uint32_t c = mix(i * 4 + 2 + g * 0x9e3779b9u);
	unsigned r = 1 + (a % 31);
	uint32_t s = a + b;
	return ((s << r) | (s >> (32 - r))) ^ c;
}

static uint32_t code_round(uint32_t round)
{
	/* An eighth rewritten while translations of it exist. */
	unsigned part = round % 8;
	for (unsigned i = part; i < NFUNC; i += 8)
		write_fn(i, round + 1);
	uint32_t sum = 0;
	for (unsigned i = 0; i < NFUNC; i++) {
		uint32_t got = ((fn_t)(uintptr_t)(code + i * FSTRIDE))();
		if (got != model(i))
			fail("function %u (generation %u) returned 0x%08x, want 0x%08x", i, gen[i], got, model(i));
		sum += got;
	}
	return sum;
}

/* ---- the timer ---- */
static volatile uint32_t ticks;

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

void guest_main(void)
{
	idt_init();
	idt_set_handler(0x20, irq0, GATE_INTR);
	idt_set_handler(0x27, spurious_irq, GATE_INTR);
	idt_set_handler(0x2F, spurious_irq, GATE_INTR);
	pic_remap(0x20, 0x28);
	paging_init();
	for (unsigned i = 0; i < NFUNC; i++)
		write_fn(i, 0);
	pit_set_periodic((uint16_t)(PIT_HZ / 100));
	pic_set_mask(0xFFFE);
	sti();
	uint32_t last_ticks = 0, quiet_rounds = 0;
	for (uint32_t round = 0;; round++) {
		paging_round(round);
		uint32_t sum = code_round(round);
		uint32_t t = ticks;
		/* Rounds take tens of milliseconds: a timer that stops is a
		 * stall, not a fast round. */
		quiet_rounds = t == last_ticks ? quiet_rounds + 1 : 0;
		if (quiet_rounds > 100)
			fail("no timer interrupt in 100 rounds (ticks %u)", t);
		last_ticks = t;
		kprintf("soak round %u ticks %u cr3 %u sum %08x\n", round, t, cr3_switches, sum);
	}
}
