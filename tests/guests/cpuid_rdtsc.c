/* cpuid_rdtsc guest: CPUID leaf 0 (max leaf, printable vendor, never
 * printed) and leaf 1 (i686-class family with TSC, CX8 and CMOV), and RDTSC
 * strictly increasing; nothing model- or speed-dependent is printed. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"

GUEST_NAME("cpuid_rdtsc");

#define FEAT_TSC  (1u << 4)
#define FEAT_CX8  (1u << 8)
#define FEAT_CMOV (1u << 15)

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static struct cpuid_regs cpuid(uint32_t leaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(0));
	return r;
}

static uint64_t rdtsc(void)
{
	uint64_t t;
	__asm__ volatile("rdtsc" : "=A"(t));
	return t;
}

static void check_cpuid(void)
{
	struct cpuid_regs r = cpuid(0);

	if (r.eax < 1)
		fail("cpuid leaf 0: max basic leaf 0x%x < 1", r.eax);
	/* The vendor is EBX, EDX, ECX in that order; only its shape is ours
	 * to check. */
	uint32_t words[3] = { r.ebx, r.edx, r.ecx };
	for (int w = 0; w < 3; w++)
		for (int b = 0; b < 4; b++) {
			uint8_t c = (uint8_t)(words[w] >> (8 * b));
			if (c < 0x20 || c > 0x7E)
				fail("cpuid vendor byte %d is not printable ASCII (0x%02x)", w * 4 + b, c);
		}

	r = cpuid(1);
	uint32_t family = (r.eax >> 8) & 0xF;
	if (family == 0xF)
		family += (r.eax >> 20) & 0xFF;
	if (family < 6)
		fail("cpuid leaf 1: family %u is older than i686", family);
	check_eq("cpuid leaf 1 EDX: TSC", FEAT_TSC, r.edx & FEAT_TSC);
	check_eq("cpuid leaf 1 EDX: CX8 (cmpxchg8b)", FEAT_CX8, r.edx & FEAT_CX8);
	check_eq("cpuid leaf 1 EDX: CMOV (used by -march=i686 code)", FEAT_CMOV, r.edx & FEAT_CMOV);

	/* Same answers when asked again. */
	struct cpuid_regs again = cpuid(1);
	check_eq("cpuid leaf 1 EAX is stable", r.eax, again.eax);
	check_eq("cpuid leaf 1 EDX is stable", r.edx, again.edx);
}

static void check_rdtsc(void)
{
	uint64_t prev = rdtsc();
	volatile uint32_t sink = 0;

	if (prev == 0)
		fail("rdtsc returned 0");
	for (int i = 0; i < 1000; i++) {
		for (uint32_t j = 0; j < 100; j++)
			sink += j ^ (uint32_t)i;
		uint64_t now = rdtsc();
		if (now <= prev)
			fail("rdtsc did not increase at read %d", i);
		prev = now;
	}
	(void)sink;
}

void guest_main(void)
{
	check_cpuid();
	progress("cpuid");
	check_rdtsc();
	progress("rdtsc");
}
