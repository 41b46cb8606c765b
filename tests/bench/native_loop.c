/* The benchmark's native reference: the same compute loop as the
 * bench_loop guest, as a 32-bit Linux process. Usage: native_loop ITERS */
#include <stdio.h>
#include <stdlib.h>
#include "bench_kernel.h"

static uint32_t buf[BENCH_WORDS];

int main(int argc, char **argv)
{
	uint32_t iters = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1000000;
	printf("checksum %08x\n", bench_kernel(iters, buf));
	return 0;
}
