/* cpuid_model guest: prints every CPUID leaf of the virtual CPU raw (the
 * basic and extended ranges, leaf 4's subleaves, and leaves past the top),
 * so that the comparison with QEMU under the matching -cpu line checks the
 * model of DESIGN §6 bit for bit. The hypervisor range 0x40000000 is left
 * out: QEMU's TCG answers there with its own signature, vmx as an unknown
 * leaf. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "serial.h"

GUEST_NAME("cpuid_model");

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static void show(uint32_t leaf, uint32_t sub)
{
	uint32_t r[4];
	cpuid(leaf, sub, r);
	kprintf("cpuid %08x.%u: %08x %08x %08x %08x\n", leaf, sub, r[0], r[1], r[2], r[3]);
}

void guest_main(void)
{
	uint32_t r[4];
	cpuid(0, 0, r);
	uint32_t top = r[0] > 0x20 ? 0x20 : r[0];
	for (uint32_t l = 0; l <= top + 2; l++)
		show(l, 0);
	for (uint32_t s = 1; s < 5; s++)
		show(4, s);
	cpuid(0x80000000u, 0, r);
	uint32_t xtop = r[0] > 0x80000020u ? 0x80000020u : r[0];
	for (uint32_t l = 0x80000000u; l <= xtop + 2; l++)
		show(l, 0);
}
