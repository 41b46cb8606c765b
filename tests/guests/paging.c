/* paging guest: 2-level paging as the hardware does it. Identity map with 4
 * KB pages, then: a higher-half alias, #PF for not-present and write-protect
 * accesses (CR2 and error code), CR0.WP on and off, accessed/dirty bits read
 * back, INVLPG, a 4 MB page (CR4.PSE), a fault on instruction fetch, two
 * address spaces switched thousands of times, code written through one
 * alias and executed through another, and the top 4 MiB of the linear space
 * mapped (also through a segment whose base does not start a page). */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "idt.h"

GUEST_NAME("paging");

#define P 0x001u
#define W 0x002u
#define A 0x020u
#define D 0x040u
#define PS 0x080u
#define PAGE 4096u

/* Page directories and tables live in .bss, 4 KB aligned. */
static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pd2[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[4][1024] __attribute__((aligned(4096)));   /* 0..16 MiB */
static uint32_t pt_hi[1024] __attribute__((aligned(4096)));       /* 0xC0000000.. */
static uint32_t pt_test[1024] __attribute__((aligned(4096)));     /* 0x40000000.. (space 1) */
static uint32_t pt_test2[1024] __attribute__((aligned(4096)));    /* 0x40000000.. (space 2) */
static uint32_t pt_top[1024] __attribute__((aligned(4096)));      /* 0xFFC00000.. */
static uint8_t frames[8][PAGE] __attribute__((aligned(4096)));    /* test pages */

#define TEST_LIN 0x40000000u

static inline void write_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline uint32_t read_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline void write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline uint32_t read_cr2(void) { uint32_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline void write_cr4(uint32_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline uint32_t read_cr4(void) { uint32_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void invlpg(uint32_t lin) { __asm__ volatile("invlpg (%0)" : : "r"(lin) : "memory"); }

/* The #PF handler records the fault and, if asked, repairs it. */
static volatile uint32_t pf_count, pf_cr2, pf_err, pf_eip;
static volatile uint32_t *pf_fix_pte;    /* set P|W on this entry, then retry */
static volatile uint32_t pf_fix_value;

static void on_pf(struct int_frame *f)
{
	pf_count++;
	pf_cr2 = read_cr2();
	pf_err = f->error_code;
	pf_eip = f->eip;
	if (pf_fix_pte) {
		*pf_fix_pte = pf_fix_value;
		invlpg(pf_cr2);
		pf_fix_pte = 0;
	} else {
		fail("unexpected #PF at eip 0x%08x, cr2 0x%08x, error 0x%x", f->eip, pf_cr2, f->error_code);
	}
}

static uint32_t phys(const void *p) { return (uint32_t)p; }   /* identity-mapped image */

static void build_tables(void)
{
	for (unsigned t = 0; t < 4; t++) {
		for (unsigned i = 0; i < 1024; i++)
			pt_low[t][i] = ((t * 1024 + i) * PAGE) | P | W;
		pd[t] = phys(pt_low[t]) | P | W;
	}
	pt_low[0][0] = 0;                       /* page 0 not present, as usual */
	/* Higher half: 0xC0000000 + x -> x for the first 4 MiB. */
	for (unsigned i = 0; i < 1024; i++)
		pt_hi[i] = (i * PAGE) | P | W;
	pd[0xC0000000u >> 22] = phys(pt_hi) | P | W;
	pd[TEST_LIN >> 22] = phys(pt_test) | P | W;
	for (unsigned i = 0; i < 1024; i++)
		pd2[i] = pd[i];
	pd2[TEST_LIN >> 22] = phys(pt_test2) | P | W;
}

__attribute__((noinline)) static uint32_t where_am_i(uint32_t x)
{
	uint32_t eip;
	__asm__ volatile("call 1f\n1:\tpopl %0" : "=r"(eip));
	return (eip & 0xF0000000u) | (x * 3);
}

static void check_basic_and_alias(void)
{
	/* Code runs through the higher-half alias too (a kernel linked high). */
	uint32_t (*hi_fn)(uint32_t) = (uint32_t (*)(uint32_t))(0xC0000000u + (uint32_t)where_am_i);
	check_eq("code executed in the higher half", 0xC0000000u | 21, hi_fn(7));
	check_eq("the same code executed low", 21, where_am_i(7));
	static volatile uint32_t cell = 0x1234;
	volatile uint32_t *hi = (volatile uint32_t *)(0xC0000000u + phys((const void *)&cell));
	check_eq("read through the higher-half alias", 0x1234, *hi);
	*hi = 0xABCD;
	check_eq("write through the alias, read through identity", 0xABCD, cell);
	check_true("CR0.PG reads back", read_cr0() & 0x80000000u);
}

static void check_not_present(void)
{
	pt_test[0] = 0;                          /* TEST_LIN not present */
	invlpg(TEST_LIN);
	frames[0][0x10] = 0x5A;
	pf_fix_pte = &pt_test[0];
	pf_fix_value = phys(frames[0]) | P | W;
	uint32_t before = pf_count;
	uint8_t v = *(volatile uint8_t *)(TEST_LIN + 0x10);
	check_eq("#PF count for a not-present read", before + 1, pf_count);
	check_eq("CR2 of a not-present read", TEST_LIN + 0x10, pf_cr2);
	check_eq("error code of a not-present read", 0, pf_err);
	check_eq("value read after the handler mapped it", 0x5A, v);

	pt_test[1] = 0;
	invlpg(TEST_LIN + PAGE);
	pf_fix_pte = &pt_test[1];
	pf_fix_value = phys(frames[1]) | P | W;
	*(volatile uint32_t *)(TEST_LIN + PAGE + 8) = 0xFEED;
	check_eq("CR2 of a not-present write", TEST_LIN + PAGE + 8, pf_cr2);
	check_eq("error code of a not-present write", 2, pf_err);
	check_eq("value written after the handler mapped it", 0xFEED, *(uint32_t *)(frames[1] + 8));
}

static void check_write_protect(void)
{
	pt_test[2] = phys(frames[2]) | P;        /* read-only */
	invlpg(TEST_LIN + 2 * PAGE);
	/* WP=1: a supervisor write to a read-only page faults (P|W). */
	write_cr0(read_cr0() | 0x10000u);
	pf_fix_pte = &pt_test[2];
	pf_fix_value = phys(frames[2]) | P | W;
	*(volatile uint32_t *)(TEST_LIN + 2 * PAGE) = 0x600D;
	check_eq("CR2 of a write-protect fault", TEST_LIN + 2 * PAGE, pf_cr2);
	check_eq("error code of a write-protect fault", 3, pf_err);
	check_eq("write done after the fix", 0x600D, *(uint32_t *)frames[2]);
	/* WP=0: the supervisor writes through read-only pages. */
	pt_test[3] = phys(frames[3]) | P;
	invlpg(TEST_LIN + 3 * PAGE);
	write_cr0(read_cr0() & ~0x10000u);
	uint32_t before = pf_count;
	*(volatile uint32_t *)(TEST_LIN + 3 * PAGE) = 0x0D0D;
	check_eq("no fault with CR0.WP clear", before, pf_count);
	check_eq("write through a read-only page with WP clear", 0x0D0D, *(uint32_t *)frames[3]);
	write_cr0(read_cr0() | 0x10000u);
	check_true("CR0.WP reads back", read_cr0() & 0x10000u);
}

static void check_accessed_dirty(void)
{
	pt_test[4] = phys(frames[4]) | P | W;    /* A=0, D=0 */
	invlpg(TEST_LIN + 4 * PAGE);
	check_eq("fresh entry: no A/D", 0, pt_test[4] & (A | D));
	(void)*(volatile uint32_t *)(TEST_LIN + 4 * PAGE);
	check_eq("after a read: A set, D clear", A, pt_test[4] & (A | D));
	*(volatile uint32_t *)(TEST_LIN + 4 * PAGE + 4) = 1;
	check_eq("after a write: A and D set", A | D, pt_test[4] & (A | D));
	check_true("the directory entry is accessed", pd[TEST_LIN >> 22] & A);
	/* An entry made present already accessed and dirty (as kernels do for
	 * pages they fill themselves): usable at once, bits unchanged. */
	frames[6][0x40] = 0x77;
	pt_test[9] = phys(frames[6]) | P | W | A | D;
	check_eq("page mapped accessed+dirty by the guest", 0x77, *(volatile uint8_t *)(TEST_LIN + 9 * PAGE + 0x40));
	*(volatile uint8_t *)(TEST_LIN + 9 * PAGE + 0x41) = 0x78;
	check_eq("its entry keeps A and D", P | W | A | D, pt_test[9] & (P | W | A | D));
	/* Cleared by the guest and flushed: set again by the next access. */
	pt_test[4] &= ~(A | D);
	invlpg(TEST_LIN + 4 * PAGE);
	*(volatile uint32_t *)(TEST_LIN + 4 * PAGE) = 2;
	check_eq("A and D set again after clearing and invlpg", A | D, pt_test[4] & (A | D));
}

static void check_invlpg(void)
{
	frames[5][0] = 0x55;
	frames[6][0] = 0x66;
	pt_test[5] = phys(frames[5]) | P | W;
	invlpg(TEST_LIN + 5 * PAGE);
	check_eq("mapped to frame 5", 0x55, *(volatile uint8_t *)(TEST_LIN + 5 * PAGE));
	pt_test[5] = phys(frames[6]) | P | W;
	invlpg(TEST_LIN + 5 * PAGE);
	check_eq("after remap and invlpg: frame 6", 0x66, *(volatile uint8_t *)(TEST_LIN + 5 * PAGE));
	/* A CR3 reload flushes too. */
	pt_test[5] = phys(frames[5]) | P | W;
	write_cr3(phys(pd));
	check_eq("after remap and a CR3 reload: frame 5", 0x55, *(volatile uint8_t *)(TEST_LIN + 5 * PAGE));
}

static void check_large_page(void)
{
	write_cr4(read_cr4() | 0x10u);           /* PSE */
	/* 0x80000000 -> 4 MiB page at physical 4 MiB (inside RAM, unused). */
	pd[0x80000000u >> 22] = 0x00400000u | P | W | PS;
	write_cr3(phys(pd));
	volatile uint32_t *big = (volatile uint32_t *)(0x80000000u + 0x1234 * 4);
	*big = 0xB16B00B5;
	check_eq("through the 4 MB page, read at its physical address", 0xB16B00B5,
		 *(volatile uint32_t *)(0x00400000u + 0x1234 * 4));
	check_eq("4 MB page: A and D in the directory entry", A | D, pd[0x80000000u >> 22] & (A | D));
	/* Far end of the page. */
	*(volatile uint32_t *)(0x80000000u + 0x3FFFFC) = 7;
	check_eq("last dword of the 4 MB page", 7, *(volatile uint32_t *)(0x00400000u + 0x3FFFFC));
	pd[0x80000000u >> 22] = 0;
	invlpg(0x80000000u);
}

/* Code placed in a test frame and run from a linear address that is not
 * mapped at first: the fetch faults (error 0, CR2 = target). */
static void check_fetch_fault(void)
{
	static const uint8_t code[] = { 0xB8, 0x78, 0x56, 0x34, 0x12, 0xC3 };   /* mov $0x12345678,%eax; ret */
	for (unsigned i = 0; i < sizeof(code); i++)
		frames[7][0x100 + i] = code[i];
	pt_test[7] = 0;
	invlpg(TEST_LIN + 7 * PAGE);
	pf_fix_pte = &pt_test[7];
	pf_fix_value = phys(frames[7]) | P | W;
	uint32_t (*fn)(void) = (uint32_t (*)(void))(TEST_LIN + 7 * PAGE + 0x100);
	uint32_t r = fn();
	check_eq("CR2 of a fetch fault", TEST_LIN + 7 * PAGE + 0x100, pf_cr2);
	check_eq("error code of a fetch fault", 0, pf_err);
	check_eq("saved EIP of a fetch fault", TEST_LIN + 7 * PAGE + 0x100, pf_eip);
	check_eq("the code ran once mapped", 0x12345678, r);

	/* Rewrite it through another alias (identity) and run it again. */
	frames[7][0x101] = 0x21;
	frames[7][0x102] = 0x43;
	frames[7][0x103] = 0x65;
	frames[7][0x104] = 0x87;
	check_eq("code patched through another alias", 0x87654321, fn());
}

/* The top 4 MiB of the linear space is the guest's like any other. */
/* The same top through a flat data segment whose base does not start a
 * page (a TLS or per-CPU segment's): offset 0xFFC00000 - 0x123 of it is
 * linear 0xFFC00000, the byte written just before, read and written. */
#define ODD_BASE 0x123u
static uint64_t gdt_odd[4];

static void check_odd_base_top(void)
{
	struct __attribute__((packed)) { uint16_t limit; uint32_t base; } g;
	__asm__ volatile("sgdt %0" : "=m"(g));
	for (unsigned i = 0; i < 3; i++)
		gdt_odd[i] = ((volatile uint64_t *)g.base)[i];
	gdt_odd[3] = 0x00cf92000000ffffull | (uint64_t)ODD_BASE << 16;   /* data, 4 GiB, base 0x123 */
	g.limit = sizeof(gdt_odd) - 1;
	g.base = (uint32_t)gdt_odd;
	__asm__ volatile("lgdt %0" : : "m"(g));
	uint32_t off = 0xFFC00000u - ODD_BASE, v;
	__asm__ volatile("movw %w2, %%fs\n\tmovzbl %%fs:(%1), %0\n\tmovb $0x5A, %%fs:(%1)\n\tmovw %w3, %%fs"
			 : "=&r"(v) : "r"(off), "r"(0x18), "r"(0x10) : "memory");
	check_eq("byte at 0xFFC00000 through a base of 0x123", 0x42, v);
	check_eq("byte written there through that base", 0x5A, *(volatile uint8_t *)0xFFC00000u);
}

static void check_top_of_linear_space(void)
{
	pd[1023] = phys(pt_top) | P | W;
	pt_top[1023] = phys(frames[3]) | P | W;           /* 0xFFFFF000 */
	pt_top[0] = phys(frames[4]) | P | W;              /* 0xFFC00000 */
	write_cr3(phys(pd));
	volatile uint32_t *top = (volatile uint32_t *)0xFFFFF000u;
	volatile uint8_t *low = (volatile uint8_t *)0xFFC00000u;
	*top = 0x70B70B;
	top[1023] = 0xE7D;
	*low = 0x42;
	check_eq("write at 0xFFFFF000, read back", 0x70B70B, *top);
	check_eq("last dword of the linear space", 0xE7D, top[1023]);
	check_eq("byte at 0xFFC00000", 0x42, *low);
	check_odd_base_top();
	check_eq("seen through identity at the frame", 0x70B70B, *(uint32_t *)frames[3]);
	check_eq("frame at the top's last dword", 0xE7D, *(uint32_t *)(frames[3] + 4092));
	uint16_t w = *(volatile uint16_t *)0xFFFFF002u;
	check_eq("16-bit read at 0xFFFFF002", 0x0070, w);
	pd[1023] = 0;
	write_cr3(phys(pd));
}

static void check_address_spaces(void)
{
	/* Space 1 maps TEST_LIN+8 pages -> frame 0, space 2 -> frame 1. */
	pt_test[8] = phys(frames[0]) | P | W;
	pt_test2[8] = phys(frames[1]) | P | W;
	frames[0][0x800] = 0x11;
	frames[1][0x800] = 0x22;
	volatile uint8_t *x = (volatile uint8_t *)(TEST_LIN + 8 * PAGE + 0x800);
	uint32_t sum = 0;
	for (unsigned i = 0; i < 5000; i++) {
		write_cr3(phys(i & 1 ? pd2 : pd));
		sum += *x;
		*x = *x;                         /* dirty it, too */
	}
	write_cr3(phys(pd));
	check_eq("5000 CR3 switches, distinct contents", 2500 * 0x11 + 2500 * 0x22, sum);

	/* Edit the other space's tables while it is not current (a table
	 * entry, then a directory entry, the latter through the higher-half
	 * alias of the directory): switching to it must see the edits. */
	frames[2][0x800] = 0x33;
	pt_test2[8] = phys(frames[2]) | P | W;
	write_cr3(phys(pd2));
	check_eq("space 2 after its table entry changed while away", 0x33, *x);
	write_cr3(phys(pd));
	check_eq("space 1 unchanged", 0x11, *x);
	volatile uint32_t *pd2_alias = (volatile uint32_t *)(0xC0000000u + phys(pd2));
	pd2_alias[TEST_LIN >> 22] = phys(pt_test) | P | W;    /* space 2 now uses space 1's table */
	write_cr3(phys(pd2));
	check_eq("space 2 after its directory entry changed while away", 0x11, *x);
	pd2[TEST_LIN >> 22] = phys(pt_test2) | P | W;
	write_cr3(phys(pd));
}

void guest_main(void)
{
	idt_init();
	idt_set_handler(14, on_pf, GATE_INTR);
	build_tables();
	write_cr3(phys(pd));
	write_cr0(read_cr0() | 0x80000000u);
	progress("enable");
	check_basic_and_alias();
	progress("alias");
	check_not_present();
	progress("not_present");
	check_write_protect();
	progress("write_protect");
	check_accessed_dirty();
	progress("accessed_dirty");
	check_invlpg();
	progress("invlpg");
	check_large_page();
	progress("large_page");
	check_fetch_fault();
	progress("fetch_fault");
	check_address_spaces();
	progress("address_spaces");
	check_top_of_linear_space();
	progress("top_4mb");
}
