/* Benchmark guest (not a test): runs the compute loop of
 * tests/bench/bench_kernel.h for the iteration count given on the command
 * line as "iters=N" and prints the checksum. */
#include "boot.h"
#include "exit.h"
#include "serial.h"
#include "../bench/bench_kernel.h"

GUEST_NAME("bench_loop");

static uint32_t buf[BENCH_WORDS];

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
	uint32_t iters = arg_iters((const char *)boot_info->cmdline);
	kprintf("checksum %08x\n", bench_kernel(iters, buf));
}
