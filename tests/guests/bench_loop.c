/* Benchmark guest (not a test): runs the compute loop of
 * tests/bench/bench_kernel.h for the iteration count given on the command
 * line as "iters=N" and prints the checksum; with "io" on the command line
 * it runs N port writes to an unclaimed port instead (one callout each). */
#include "boot.h"
#include "exit.h"
#include "serial.h"
#include "../bench/bench_kernel.h"

GUEST_NAME("bench_loop");

static uint32_t buf[BENCH_WORDS];

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

static uint32_t arg_iters(const char *s)
{
	for (; *s; s++) {
		if (s[0] == 'i' && s[1] == 't' && s[2] == 'e' && s[3] == 'r' && s[4] == 's' && s[5] == '=') {
			uint32_t v = 0;
			for (s += 6; *s >= '0' && *s <= '9'; s++)
				v = v * 10 + (uint32_t)(*s - '0');
			return v;
		}
	}
	return 1000000;
}

void guest_main(void)
{
	const char *cmdline = (const char *)boot_info->cmdline;
	uint32_t iters = arg_iters(cmdline);
	if (has_word(cmdline, " io")) {
		for (uint32_t i = 0; i < iters; i++)
			__asm__ volatile("outb %%al, $0xe0" : : "a"(i));
		kprintf("checksum %08x\n", iters);
		return;
	}
	kprintf("checksum %08x\n", bench_kernel(iters, buf));
}
