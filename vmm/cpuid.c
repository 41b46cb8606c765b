/* The virtual CPU's identity: the CPUID leaves of QEMU's qemu32 model
 * (GenuineIntel, family 6 model 6 stepping 3, "QEMU Virtual CPU version
 * 2.5+") less what the monitor does not implement: PAE, and the local
 * APIC on -machine isapc. The same on every host, so a reference run
 * under `qemu-system-i386 -cpu qemu32,-pae` (and `-apic` for isapc)
 * sees the same CPUID
 * (DESIGN §6 lists the leaves; the cpuid_model guest compares them).
 * Environment: monitor, host stack; a function of the leaf and of the APIC's enable bit. */
#include "vm.h"

#define CPUID_MAX_BASIC 4u
#define CPUID_MAX_EXT   0x80000004u

/* Leaf 1 EDX: fpu de pse tsc msr mce cx8 sep pge cmov pat fxsr mmx sse sse2
 * (qemu32's PPRO_FEATURES less pae and apic; apic is added for
 * -machine pc). */
#define CPUID1_EDX (X86_CPUID1_FPU | X86_CPUID1_DE | X86_CPUID1_PSE | X86_CPUID1_TSC | \
		    X86_CPUID1_MSR | X86_CPUID1_MCE | X86_CPUID1_CX8 | X86_CPUID1_SEP | X86_CPUID1_PGE | \
		    X86_CPUID1_CMOV | X86_CPUID1_PAT | X86_CPUID1_MMX | X86_CPUID1_FXSR | \
		    X86_CPUID1_SSE | X86_CPUID1_SSE2)
/* Leaf 1 ECX: sse3, and the hypervisor bit QEMU sets. */
#define CPUID1_ECX (X86_CPUID1_SSE3 | X86_CPUID1_HYPERVISOR)

/* Cache and TLB descriptors as qemu32 gives them (leaf 2), and its
 * deterministic cache parameters (leaf 4: L1d, L1i, L2, L3). */
static const uint32_t leaf2[4] = { 0x00000001u, 0, 0x0000004du, 0x002c307du };
static const uint32_t leaf4[5][4] = {
	{ 0x00000121u, 0x01c0003fu, 0x0000003fu, 0x00000001u },
	{ 0x00000122u, 0x01c0003fu, 0x0000003fu, 0x00000001u },
	{ 0x00000143u, 0x03c0003fu, 0x00000fffu, 0x00000001u },
	{ 0x00000163u, 0x03c0003fu, 0x00003fffu, 0x00000006u },
	{ 0, 0, 0, 0 },
};
/* "QEMU Virtual CPU version 2.5+", NUL padded, in leaves 0x80000002..4. */
static const uint32_t brand[3][4] = {
	{ 0x554d4551u, 0x72695620u, 0x6c617574u, 0x55504320u },
	{ 0x72657620u, 0x6e6f6973u, 0x352e3220u, 0x0000002bu },
	{ 0, 0, 0, 0 },
};

static void set4(uint32_t r[4], const uint32_t v[4])
{
	for (int i = 0; i < 4; i++)
		r[i] = v[i];
}

void guest_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	/* A leaf past either range answers as the top basic leaf does, as on
	 * Intel's CPUs (QEMU's model too, for its Intel vendor). The range
	 * 0x40000000 (hypervisor vendors) is such a leaf here: vmx is none
	 * of the hypervisors kernels know how to talk to. */
	if (leaf > CPUID_MAX_EXT || (leaf > CPUID_MAX_BASIC && leaf < 0x80000000u))
		leaf = CPUID_MAX_BASIC;
	r[0] = r[1] = r[2] = r[3] = 0;
	switch (leaf) {
	case 0:
	case 0x80000000u:
		r[0] = leaf ? CPUID_MAX_EXT : CPUID_MAX_BASIC;
		r[1] = 0x756e6547u; r[3] = 0x49656e69u; r[2] = 0x6c65746eu;   /* GenuineIntel */
		break;
	case 1:
		r[0] = CPU_SIGNATURE;
		r[1] = 8u << 8;              /* clflush line: 8 quadwords; APIC id 0 */
		r[2] = CPUID1_ECX;
		r[3] = CPUID1_EDX;
		/* The bit follows IA32_APIC_BASE's enable bit, as on hardware. */
		if (board_has_lapic() && lapic_enabled(&vm.lapic))
			r[3] |= X86_CPUID1_APIC;
		break;
	case 2: set4(r, leaf2); break;
	case 4: set4(r, leaf4[sub < 4 ? sub : 4]); break;
	case 0x80000001u: r[0] = CPU_SIGNATURE; break;
	case 0x80000002u: case 0x80000003u: case 0x80000004u:
		set4(r, brand[leaf - 0x80000002u]);
		break;
	default: break;                      /* leaf 3: no serial number */
	}
}
