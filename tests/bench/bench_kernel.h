/* The compute loop the translator benchmark runs natively (a 32-bit host
 * process), translated (a vmx guest) and under QEMU TCG: arithmetic, loads
 * and stores, a data-dependent branch and a call/return per iteration. */
#ifndef BENCH_KERNEL_H
#define BENCH_KERNEL_H
#include <stdint.h>

#define BENCH_WORDS 1024u

__attribute__((noinline)) static uint32_t bench_mix(uint32_t x)
{
	x ^= x >> 13;
	x *= 0x5bd1e995u;
	x ^= x >> 15;
	return x;
}

static inline uint32_t bench_kernel(uint32_t iters, uint32_t *buf)
{
	uint32_t h = 2166136261u;
	for (uint32_t i = 0; i < iters; i++) {
		uint32_t j = i & (BENCH_WORDS - 1);
		buf[j] = bench_mix(buf[j] + i + h);
		h = (h ^ buf[(j * 7) & (BENCH_WORDS - 1)]) * 16777619u;
		if (h & 1)
			h += i;
		else
			h -= j;
	}
	return h;
}
#endif
