/* The gdb stub's target (not compared with QEMU: tests/scripts/gdb-tests.sh
 * drives gdb against it). Built with debug information: a function to
 * break in and step through, a variable to read, one to watch, variables to
 * read- and access-watch (below), and with "spin" on its command line a loop
 * that only gdb (Ctrl-C, then setting spin_done) ends. */
#include "boot.h"
#include "exit.h"
#include "serial.h"

GUEST_NAME("gdb_target");

volatile unsigned watched;
volatile unsigned spin_done;
unsigned result;

__attribute__((noinline)) unsigned add_up(unsigned n)
{
	unsigned sum = 0;
	for (unsigned i = 1; i <= n; i++)
		sum += i;
	return sum;
}

__attribute__((noinline)) void touch_watched(void)
{
	watched = 7;
	watched = watched + 1;
}

/* For read and access watchpoints, on one page: a read of `neighbour` must
 * not stop a watchpoint on `rwatched`, which a move, a string instruction,
 * a push and an imul read, each followed by a label gdb finds the stop EIP
 * at; with "paging" on the command line, with paging on. */
struct watch_vars { unsigned neighbour, rwatched, awatched, copy; };
volatile struct watch_vars vars __attribute__((aligned(64))) = { 11, 22, 33, 0 };
unsigned sink;

/* Each read's instruction is followed by a global label: the stop after it. */
__attribute__((noinline)) void read_watched(void)
{
	unsigned v, w;
	__asm__ volatile("movl %1, %0" : "=r"(w) : "m"(vars.neighbour));
	__asm__ volatile("movl %1, %0\n.globl after_move\nafter_move:" : "=r"(v) : "m"(vars.rwatched));
	sink = v + w;
	/* lodsl reads DS:ESI. */
	const volatile unsigned *p = &vars.rwatched;
	__asm__ volatile("cld\nlodsl\n.globl after_lods\nafter_lods:" : "=a"(v), "+S"(p) : : "memory", "cc");
	sink += v;
	/* push of a memory operand, popped into a register. */
	__asm__ volatile("pushl %1\n.globl after_push\nafter_push:\npopl %0" : "=r"(v) : "m"(vars.rwatched) : "memory");
	sink += v;
	/* An instruction the monitor does not emulate: run natively, stepped. */
	v = 1;
	__asm__ volatile("imull %1, %0\n.globl after_imul\nafter_imul:" : "+r"(v) : "m"(vars.rwatched) : "cc");
	sink += v;
}

__attribute__((noinline)) void access_watched(void)
{
	__asm__ volatile("movl $44, %0\n.globl after_awrite\nafter_awrite:" : "=m"(vars.awatched));
	unsigned v;
	__asm__ volatile("movl %1, %0\n.globl after_aread\nafter_aread:" : "=r"(v) : "m"(vars.awatched));
	vars.copy = v;
}

/* "paging": the watchpoints are met with paging on (4 KB pages mapping the
 * first 4 MB 1:1, the kernel's image included). */
static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt[1024] __attribute__((aligned(4096)));

static void paging_on(void)
{
	for (uint32_t i = 0; i < 1024; i++)
		pt[i] = (i << 12) | 3;
	pd[0] = (uint32_t)pt | 3;
	__asm__ volatile("mov %0, %%cr3" : : "r"(pd) : "memory");
	uint32_t cr0;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | 0x80000000u) : "memory");
}

static int has_word(const char *s, const char *w)
{
	for (; *s; s++) {
		const char *a = s, *b = w;
		while (*b && *a == *b)
			a++, b++;
		if (!*b)
			return 1;
	}
	return 0;
}

void guest_main(void)
{
	serial_puts("gdb_target: start\n");
	result = add_up(10);
	touch_watched();
	if (has_word((const char *)boot_info->cmdline, "paging"))
		paging_on();
	read_watched();
	access_watched();
	if (has_word((const char *)boot_info->cmdline, "spin"))
		while (!spin_done)
			;
	kprintf("gdb_target: result %u watched %u\n", result, watched);
	kprintf("gdb_target: read %u copied %u\n", sink, vars.copy);
	check_eq("result", 55, result);
	check_eq("reads", 11 + 22 * 4, sink);
	check_eq("copy", 44, vars.copy);
}
