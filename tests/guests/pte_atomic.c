/* pte_atomic guest: locked cmpxchg8b, cmpxchg and xadd on the entries of a
 * live page table (one the current CR3 uses, its mappings already
 * touched), written through a linear address that very table maps (as a
 * kernel writes its page tables through its own direct map), then
 * accesses through the changed mappings; also a cmpxchg8b that fails
 * (EDX:EAX get the entries, ZF clear). A binary translator traces that
 * page: the monitor performs these writes itself. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "idt.h"

GUEST_NAME("pte_atomic");

#define P 0x001u
#define W 0x002u
#define PAGE 4096u
#define TEST_LIN 0x40000000u

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[4][1024] __attribute__((aligned(4096)));
static uint32_t pt_test[1024] __attribute__((aligned(4096)));
static uint32_t frames[3][1024] __attribute__((aligned(4096)));

static volatile uint32_t *lin(unsigned page) { return (volatile uint32_t *)(TEST_LIN + page * PAGE); }
static void invlpg(uint32_t a) { __asm__ volatile("invlpg (%0)" : : "r"(a) : "memory"); }

static uint32_t cmpxchg8b(volatile uint32_t *m, uint32_t *lo, uint32_t *hi, uint32_t nlo, uint32_t nhi)
{
	uint8_t z;
	__asm__ volatile("lock cmpxchg8b %[m]\n\tsetz %[z]" : [m] "+m"(*(volatile uint64_t *)m), [z] "=q"(z),
			 "+a"(*lo), "+d"(*hi) : "b"(nlo), "c"(nhi) : "cc", "memory");
	return z;
}

void guest_main(void)
{
	for (unsigned t = 0; t < 4; t++) {
		for (unsigned i = 0; i < 1024; i++)
			pt_low[t][i] = ((t * 1024 + i) * PAGE) | P | W;
		pd[t] = (uint32_t)pt_low[t] | P | W;
	}
	pd[TEST_LIN >> 22] = (uint32_t)pt_test | P | W;
	for (unsigned f = 0; f < 3; f++)
		frames[f][0] = 0xF00D0000u + f;
	pt_test[0] = (uint32_t)frames[0] | P | W;
	pt_test[1] = (uint32_t)frames[1] | P | W;
	pt_test[2] = (uint32_t)pt_test | P | W;      /* the table, through itself */
	volatile uint32_t *pt = lin(2);
	__asm__ volatile("mov %0, %%cr3\n\tmov %%cr0, %%eax\n\tor $0x80000000, %%eax\n\tmov %%eax, %%cr0"
			 : : "r"(pd) : "eax", "memory");
	check_eq("page 0 before", 0xF00D0000u, *lin(0));
	check_eq("page 1 before", 0xF00D0001u, *lin(1));

	/* Swap the two entries in one locked 8-byte exchange. */
	uint32_t lo = pt_test[0], hi = pt_test[1];
	uint32_t ok = cmpxchg8b(pt, &lo, &hi, (uint32_t)frames[1] | P | W, (uint32_t)frames[0] | P | W);
	check_eq("cmpxchg8b on the live page table: ZF", 1, ok);
	invlpg(TEST_LIN);
	invlpg(TEST_LIN + PAGE);
	check_eq("page 0 after cmpxchg8b", 0xF00D0001u, *lin(0));
	check_eq("page 1 after cmpxchg8b", 0xF00D0000u, *lin(1));

	/* A failing one: the entries come back in EDX:EAX (A set by the
	 * reads above: accessed, not dirty), memory unchanged. */
	lo = 0; hi = 0;
	ok = cmpxchg8b(pt, &lo, &hi, 0, 0);
	check_eq("failed cmpxchg8b: ZF", 0, ok);
	check_eq("failed cmpxchg8b: EAX", (uint32_t)frames[1] | P | W | 0x20, lo & ~0x18u);
	check_eq("failed cmpxchg8b: EDX", (uint32_t)frames[0] | P | W | 0x20, hi & ~0x18u);

	/* lock cmpxchg: page 0 to the third frame. */
	uint32_t old = pt_test[0];
	uint32_t seen = old;
	__asm__ volatile("lock cmpxchgl %2, %1" : "+a"(seen), "+m"(pt[0]) : "r"((uint32_t)frames[2] | P | W) : "cc", "memory");
	check_eq("lock cmpxchg: EAX keeps the old entry", old, seen);
	invlpg(TEST_LIN);
	check_eq("page 0 after lock cmpxchg", 0xF00D0002u, *lin(0));

	/* lock xadd: one page back (frames[2] - 4096 is frames[1]). */
	uint32_t add = (uint32_t)-PAGE;
	uint32_t before = pt_test[0];
	__asm__ volatile("lock xaddl %0, %1" : "+r"(add), "+m"(pt[0]) : : "cc", "memory");
	check_eq("lock xadd: the register gets the old entry", before, add);
	invlpg(TEST_LIN);
	check_eq("page 0 after lock xadd", 0xF00D0001u, *lin(0));
}
