/* Benchmark guest for the shadow MMU (not a test): paging on, then one of
 * these, N times (command line "op=NAME iters=N"):
 *   hidden  invlpg a mapped page, then read it: one hidden fault each
 *   true    read a not-present page; the #PF handler skips the read: a
 *           guest page fault round trip each (N = 50000 is the fault storm)
 *   cr3     switch between two address spaces and touch a 200-page working
 *           set in each
 *   pte     rewrite a page-table entry of a mapped page (no invlpg): a
 *           write to a traced table (trapping at first, then retranslated)
 * and prints a checksum so every run's work is visible. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "idt.h"
#include "serial.h"

GUEST_NAME("bench_mmu");

#define P 1u
#define W 2u
#define PAGE 4096u
#define WS 200u
#define BASE 0x40000000u

static uint32_t pd[2][1024] __attribute__((aligned(4096)));
static uint32_t pt_low[4][1024] __attribute__((aligned(4096)));
static uint32_t pt_ws[2][1024] __attribute__((aligned(4096)));
static uint8_t frames[2][WS][PAGE] __attribute__((aligned(4096)));

static volatile uint32_t faults;
static void on_pf(struct int_frame *f)
{
	faults++;
	f->eip += 2;          /* the faulting "mov (%ecx),%eax" is 2 bytes */
}

static uint32_t arg(const char *s, const char *key, uint32_t dflt)
{
	for (; *s; s++) {
		const char *a = s, *k = key;
		while (*k && *a == *k) { a++; k++; }
		if (!*k) {
			uint32_t v = 0;
			while (*a >= '0' && *a <= '9')
				v = v * 10 + (uint32_t)(*a++ - '0');
			return v;
		}
	}
	return dflt;
}

static int is_op(const char *s, const char *op)
{
	for (; *s; s++) {
		if (s[0] == 'o' && s[1] == 'p' && s[2] == '=') {
			const char *a = s + 3, *b = op;
			while (*b && *a == *b) { a++; b++; }
			return !*b && (*a == 0 || *a == ' ');
		}
	}
	return 0;
}

void guest_main(void)
{
	const char *cmd = (const char *)boot_info->cmdline;
	uint32_t n = arg(cmd, "iters=", 1000);
	idt_init();
	idt_set_handler(14, on_pf, GATE_INTR);
	for (unsigned s = 0; s < 2; s++) {
		for (unsigned t = 0; t < 4; t++) {
			pd[s][t] = (uint32_t)pt_low[t] | P | W;
			for (unsigned i = 0; i < 1024; i++)
				pt_low[t][i] = ((t * 1024 + i) * PAGE) | P | W;
		}
		for (unsigned i = 0; i < WS; i++)
			pt_ws[s][i] = (uint32_t)frames[s][i] | P | W;
		pt_ws[s][WS] = 0;               /* not present: the true-fault page */
		pd[s][BASE >> 22] = (uint32_t)pt_ws[s] | P | W;
	}
	pt_low[0][0] = 0;
	__asm__ volatile("mov %0, %%cr3" : : "r"(pd[0]));
	uint32_t cr0;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | 0x80000000u));
	uint32_t sum = 0;
	if (is_op(cmd, "hidden")) {
		for (uint32_t i = 0; i < n; i++) {
			uint32_t lin = BASE + (i % WS) * PAGE;
			__asm__ volatile("invlpg (%0)" : : "r"(lin) : "memory");
			sum += *(volatile uint32_t *)lin;
		}
	} else if (is_op(cmd, "true")) {
		uint32_t v = 0;
		for (uint32_t i = 0; i < n; i++)
			__asm__ volatile("mov (%1), %0" : "+a"(v) : "c"(BASE + WS * PAGE) : "memory");
		sum = faults;
	} else if (is_op(cmd, "cr3")) {
		for (uint32_t i = 0; i < n; i++) {
			__asm__ volatile("mov %0, %%cr3" : : "r"(pd[i & 1]) : "memory");
			for (uint32_t p = 0; p < WS; p++)
				sum += *(volatile uint32_t *)(BASE + p * PAGE);
		}
	} else if (is_op(cmd, "pte")) {
		/* Touch the page first: the walk makes its table a traced page. */
		sum = *(volatile uint32_t *)(BASE + (WS - 1) * PAGE);
		volatile uint32_t *pte = &pt_ws[0][WS - 1];
		uint32_t v = *pte;
		for (uint32_t i = 0; i < n; i++)
			*pte = v ^ ((i & 1) << 9);      /* an available bit */
		sum = *pte;
	}
	kprintf("checksum %08x\n", sum);
}
