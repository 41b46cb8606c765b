/* tc_pressure guest: calls 6144 generated functions (~288 KiB, see
 * tc_pressure.S) from a table in four passes and orders, checking each
 * result against a C model and the final checksum against a constant. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "tc_pressure.h"

GUEST_NAME("tc_pressure");

typedef uint32_t (*tc_fn)(void);
extern const uint32_t tc_table[TC_COUNT];
extern char tc_code_start[], tc_code_end[];

#define PASSES 4
#define PERMUTE_STEP 5003	/* prime, so coprime with TC_COUNT */
#define SEED 0x600DF00D
/* From tools/tc_pressure_expect.py, a separate model of the same thing. */
#define EXPECTED 0x6426d0fa

/* The generated functions take and return EAX and clobber EDX only. */
static uint32_t call_fn(uint32_t i, uint32_t x)
{
	__asm__ volatile("call *%[f]" : "+a"(x) : [f] "r"(tc_table[i]) : "edx", "ecx", "cc", "memory");
	return x;
}

static uint32_t rol(uint32_t x, uint32_t n) { return (x << n) | (x >> (32 - n)); }

static uint32_t model(uint32_t i, uint32_t x)
{
	x ^= i * TC_A_MUL + TC_A_ADD;
	x = rol(x, i % 31 + 1);
	x += i * TC_B_MUL;
	if (x & (1u << (i % 32)))
		x *= (i * 2 + 1) | 0x10001;
	x -= i * TC_D_MUL;
	x ^= x >> (i % 13 + 3);
	return x;
}

static uint32_t order(int pass, uint32_t k)
{
	switch (pass) {
	case 1: return TC_COUNT - 1 - k;
	case 2: return (k * PERMUTE_STEP) % TC_COUNT;
	default: return k;
	}
}

void guest_main(void)
{
	uint32_t code_size = (uint32_t)(tc_code_end - tc_code_start);
	if (code_size < 200 * 1024 || code_size > 400 * 1024)
		fail("generated code is 0x%x bytes, outside 200..400 KiB", code_size);

	uint32_t acc = SEED, ref = SEED;
	for (int pass = 0; pass < PASSES; pass++) {
		for (uint32_t k = 0; k < TC_COUNT; k++) {
			uint32_t i = order(pass, k);
			uint32_t before = acc;
			acc = call_fn(i, acc);
			ref = model(i, ref);
			if (acc != ref)
				fail("pass %d, function %u with input 0x%08x: expected 0x%08x, got 0x%08x",
				     pass, i, before, ref, acc);
		}
		progress(pass == 0 ? "pass0" : pass == 1 ? "pass1" : pass == 2 ? "pass2" : "pass3");
	}
	check_eq("final checksum", EXPECTED, acc);
}
