/* isa_ud guest: instructions of ISA extensions qemu32 does not have (VMX,
 * SVM, XSAVE, RDRAND, RDSEED, RDPID, AVX, MONITOR, SSSE3 and later, ...)
 * must raise #UD, those it has must run, and lzcnt is bsr: each is tried
 * in turn with a #UD handler and the outcome printed, for the comparison
 * with QEMU and against the expected outcome. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "idt.h"
#include "serial.h"

GUEST_NAME("isa_ud");

static volatile uint32_t ud_hits;
uint32_t ud_resume;
static uint8_t area[4096] __attribute__((aligned(64)));

static void on_ud(struct int_frame *f)
{
	ud_hits++;
	f->eip = ud_resume;
}

/* Runs the bytes with EAX = area, ECX = EDX = 0 (what xgetbv, monitor and
 * mwait read) and reports whether they raised #UD. */
#define TRY(name, want_ud, bytes) do { \
	uint32_t before = ud_hits; \
	__asm__ volatile("movl $2f, ud_resume\n\tmovl %0, %%eax\n\txorl %%ecx, %%ecx\n\txorl %%edx, %%edx\n\t" \
			 ".byte " bytes "\n2:" : : "i"(area) : "eax", "ebx", "ecx", "edx", "cc", "memory"); \
	int ud = ud_hits != before; \
	kprintf("%s: %s\n", name, ud ? "#UD" : "ran"); \
	if (ud != (want_ud)) \
		fail("%s: %s, expected %s", name, ud ? "#UD" : "ran", (want_ud) ? "#UD" : "to run"); \
} while (0)

void guest_main(void)
{
	idt_init();
	idt_set_handler(6, on_ud, GATE_INTR);
	/* SSE on (CR4.OSFXSR, OSXMMEXCPT), so what is missing is the ISA only. */
	__asm__ volatile("movl %%cr4, %%eax\n\torl $0x600, %%eax\n\tmovl %%eax, %%cr4" ::: "eax");

	TRY("vmcall", 1, "0x0f,0x01,0xc1");
	TRY("vmmcall", 1, "0x0f,0x01,0xd9");
	TRY("vmlaunch", 1, "0x0f,0x01,0xc2");
	TRY("vmresume", 1, "0x0f,0x01,0xc3");
	TRY("vmxoff", 1, "0x0f,0x01,0xc4");
	TRY("vmxon", 1, "0xf3,0x0f,0xc7,0x30");
	TRY("vmrun", 1, "0x0f,0x01,0xd8");
	TRY("xgetbv", 1, "0x0f,0x01,0xd0");
	TRY("xsetbv", 1, "0x0f,0x01,0xd1");
	TRY("xsave", 1, "0x0f,0xae,0x20");
	TRY("rdrand", 1, "0x0f,0xc7,0xf0");
	TRY("rdseed", 1, "0x0f,0xc7,0xf8");
	TRY("rdpid", 1, "0xf3,0x0f,0xc7,0xf8");
	TRY("rdtscp", 1, "0x0f,0x01,0xf9");
	TRY("vzeroupper", 1, "0xc5,0xf8,0x77");
	TRY("vmovaps ymm", 1, "0xc5,0xfc,0x28,0xc1");
	TRY("andn (vex)", 1, "0xc4,0xe2,0x70,0xf2,0xc1");
	TRY("monitor", 1, "0x0f,0x01,0xc8");
	TRY("mwait", 1, "0x0f,0x01,0xc9");
	TRY("clflush", 1, "0x0f,0xae,0x38");
	TRY("popcnt", 1, "0xf3,0x0f,0xb8,0xc1");
	TRY("movbe", 1, "0x0f,0x38,0xf0,0x00");
	TRY("pshufb xmm (ssse3)", 1, "0x66,0x0f,0x38,0x00,0xc1");
	TRY("pshufb mm (ssse3)", 1, "0x0f,0x38,0x00,0xc1");
	TRY("pmulld (sse4.1)", 1, "0x66,0x0f,0x38,0x40,0xc1");
	TRY("aesenc", 1, "0x66,0x0f,0x38,0xdc,0xc1");
	TRY("adcx", 1, "0x66,0x0f,0x38,0xf6,0xc1");
	TRY("femms (3dnow)", 1, "0x0f,0x0e");
	TRY("clac", 1, "0x0f,0x01,0xca");
	/* What qemu32 has. */
	TRY("cpuid", 0, "0x0f,0xa2");
	TRY("haddps (sse3)", 0, "0xf2,0x0f,0x7c,0xc1");
	TRY("fisttp (sse3)", 0, "0xdf,0x08");
	TRY("movdqa (sse2)", 0, "0x66,0x0f,0x6f,0xc1");
	TRY("mfence", 0, "0x0f,0xae,0xf0");
	TRY("cmpxchg8b", 0, "0x0f,0xc7,0x08");
	TRY("cmovo", 0, "0x0f,0x40,0xc1");
	TRY("prefetchw (hint)", 0, "0x0f,0x0d,0x08");
	TRY("nopl (hint)", 0, "0x0f,0x1f,0x00");
	TRY("emms", 0, "0x0f,0x77");

	/* lzcnt and tzcnt without LZCNT/BMI1 are bsr and bsf: 0x00f0 gives 7
	 * and 4 (lzcnt would say 24). */
	uint32_t lz = 0, tz = 0;
	__asm__ volatile(".byte 0xf3,0x0f,0xbd,0xc1" : "=a"(lz) : "c"(0xf0u) : "cc");
	__asm__ volatile(".byte 0xf3,0x0f,0xbc,0xc1" : "=a"(tz) : "c"(0xf0u) : "cc");
	kprintf("lzcnt 0xf0: %u, tzcnt 0xf0: %u\n", lz, tz);
	check_eq("lzcnt is bsr", 7, lz);
	check_eq("tzcnt is bsf", 4, tz);
}
