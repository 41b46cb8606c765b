/* wide_edges guest: wide accesses to the top page of the linear space (the
 * monitor's range under vmx), mapped to RAM with paging: fxsave/fxrstor,
 * movups/movaps/movdqu/movdqa loads and stores, movss/movsd/movd/movq, x87
 * fld/fst/fstp of m32/m64/m80, fild/fistp m64, fldcw/fnstcw, each checked
 * against the same instruction on ordinary RAM; a misaligned movaps there
 * is #GP(0) as anywhere. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "idt.h"
#include "serial.h"

GUEST_NAME("wide_edges");

#define P 1u
#define W 2u
#define PAGE 4096u
#define TOP 0xfffff000u

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt[4][1024] __attribute__((aligned(4096)));
static uint32_t pt_top[1024] __attribute__((aligned(4096)));
static uint8_t top_frame[4096] __attribute__((aligned(4096)));
static uint8_t ram_fx[512] __attribute__((aligned(16)));
static uint8_t buf[64] __attribute__((aligned(16)));

static volatile uint32_t gp_count, gp_err;
static void on_gp(struct int_frame *f)
{
	gp_count++;
	gp_err = f->error_code;
	f->eip += 3;                      /* movaps (%eax),%xmm0: 0f 28 00 */
}

static uint32_t sum(const volatile uint8_t *p, unsigned n)
{
	uint32_t s = 0;
	for (unsigned i = 0; i < n; i++)
		s = s * 31 + p[i];
	return s;
}

static volatile uint8_t *top(uint32_t off) { return top_frame + off; }

static void check_bytes(const char *what, const volatile uint8_t *a, const volatile uint8_t *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (a[i] != b[i])
			fail("%s: byte %u differs: %02x, expected %02x", what, i, a[i], b[i]);
}

static void sse_tests(void)
{
	static const uint8_t pat[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	for (unsigned i = 0; i < 16; i++)
		top_frame[0xf00 + i] = pat[i];
	__asm__ volatile("movups (%0), %%xmm1\n\tmovups %%xmm1, (%1)" : : "r"(TOP + 0xf00), "r"(buf) : "memory");
	check_bytes("movups load", buf, pat, 16);
	__asm__ volatile("movaps (%0), %%xmm2\n\tmovaps %%xmm2, (%1)" : : "r"(TOP + 0xf00), "r"(TOP + 0xf10) : "memory");
	check_bytes("movaps load/store", top(0xf10), pat, 16);
	__asm__ volatile("movdqu %%xmm2, (%0)\n\tmovdqu (%0), %%xmm3\n\tmovdqa %%xmm3, (%1)"
			 : : "r"(TOP + 0xf21), "r"(TOP + 0xf40) : "memory");
	check_bytes("movdqu store", top(0xf21), pat, 16);
	check_bytes("movdqu load, movdqa store", top(0xf40), pat, 16);
	__asm__ volatile("movdqa (%0), %%xmm4\n\tmovups %%xmm4, (%1)" : : "r"(TOP + 0xf40), "r"(buf + 16) : "memory");
	check_bytes("movdqa load", buf + 16, pat, 16);
	/* Scalars: a load zeroes the rest of the register. */
	for (unsigned i = 0; i < 8; i++)
		top_frame[0xff8 + i] = (uint8_t)(0x80 + i);
	__asm__ volatile("movss (%0), %%xmm5\n\tmovups %%xmm5, (%1)\n\tmovsd (%0), %%xmm6\n\tmovups %%xmm6, 16(%1)\n\t"
			 "movd (%0), %%xmm7\n\tmovups %%xmm7, 32(%1)\n\tmovq (%0), %%xmm0\n\tmovups %%xmm0, 48(%1)"
			 : : "r"(TOP + 0xffc - 4), "r"(buf) : "memory");
	kprintf("scalar loads: %08x %08x, %08x %08x, %08x %08x, %08x %08x %08x\n",
		((volatile uint32_t *)buf)[0], ((volatile uint32_t *)buf)[1], ((volatile uint32_t *)buf)[4],
		((volatile uint32_t *)buf)[6], ((volatile uint32_t *)buf)[8], ((volatile uint32_t *)buf)[9],
		((volatile uint32_t *)buf)[12], ((volatile uint32_t *)buf)[13], ((volatile uint32_t *)buf)[14]);
	__asm__ volatile("movss %%xmm1, (%0)\n\tmovsd %%xmm1, 4(%0)\n\tmovd %%xmm1, 12(%0)\n\tmovq %%xmm1, 16(%0)"
			 : : "r"(TOP + 0xe00) : "memory");
	kprintf("scalar stores: %08x %08x %08x %08x %08x %08x\n", ((volatile uint32_t *)top(0xe00))[0],
		((volatile uint32_t *)top(0xe00))[1], ((volatile uint32_t *)top(0xe00))[2],
		((volatile uint32_t *)top(0xe00))[3], ((volatile uint32_t *)top(0xe00))[4],
		((volatile uint32_t *)top(0xe00))[5]);
	__asm__ volatile("movaps (%0), %%xmm0" : : "a"(TOP + 0xf08) : "memory");
	check_eq("misaligned movaps: #GP", 1, gp_count);
	check_eq("its error code", 0, gp_err);
	progress("sse");
}

static void x87_tests(void)
{
	double d = 1.0 / 3.0;
	float f = 2.5f;
	uint64_t i64 = 0x123456789abcull;
	uint16_t cw = 0x27f, cw2 = 0;
	*(volatile double *)top(0xd00) = d;
	*(volatile float *)top(0xd08) = f;
	*(volatile uint64_t *)top(0xd10) = i64;
	*(volatile uint16_t *)top(0xd18) = cw;
	__asm__ volatile("fninit\n\t"
			 "fldl (%0)\n\tfstpt 0x20(%0)\n\t"      /* m64 -> m80 */
			 "fldt 0x20(%0)\n\tfstl 0x30(%0)\n\t"   /* m80 -> m64 (kept on the stack) */
			 "flds 8(%0)\n\tfsts 0x38(%0)\n\tfaddp\n\tfstps 0x3c(%0)\n\t"
			 "fildll 0x10(%0)\n\tfistpll 0x40(%0)\n\t"
			 "fldcw 0x18(%0)\n\tfnstcw 0x48(%0)\n\tfnstsw 0x4a(%0)"
			 : : "r"(TOP + 0xd00) : "memory");
	__asm__ volatile("fnstcw %0" : "=m"(cw2));
	kprintf("x87: m80 %08x %08x %04x, m64 %08x %08x, m32 %08x %08x, i64 %08x %08x, cw %04x sw %04x\n",
		*(volatile uint32_t *)top(0xd20), *(volatile uint32_t *)top(0xd24), *(volatile uint16_t *)top(0xd28),
		*(volatile uint32_t *)top(0xd30), *(volatile uint32_t *)top(0xd34),
		*(volatile uint32_t *)top(0xd38), *(volatile uint32_t *)top(0xd3c),
		*(volatile uint32_t *)top(0xd40), *(volatile uint32_t *)top(0xd44),
		*(volatile uint16_t *)top(0xd48), *(volatile uint16_t *)top(0xd4a));
	check_eq("m64 round trip through m80", *(volatile uint32_t *)top(0xd00), *(volatile uint32_t *)top(0xd30));
	check_eq("fistpll", 0x56789abc, *(volatile uint32_t *)top(0xd40));
	check_eq("fldcw/fnstcw", 0x27f, cw2);
	progress("x87");
}

static void fx_tests(void)
{
	/* Known state: x87 empty but ST0 = 1, XMM0..7 from a pattern. */
	for (unsigned i = 0; i < 64; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	__asm__ volatile("fninit\n\tfld1\n\tmovups (%0), %%xmm0\n\tmovups 16(%0), %%xmm7" : : "r"(buf) : "memory");
	__asm__ volatile("fxsave (%0)" : : "r"(TOP + 0x800) : "memory");
	__asm__ volatile("fxsave (%0)" : : "r"(ram_fx) : "memory");
	check_bytes("fxsave FCW/FSW/FTW", top(0x800), ram_fx, 5);
	check_bytes("fxsave MXCSR", top(0x818), ram_fx + 24, 4);
	check_bytes("fxsave ST0-7, XMM0-7", top(0x820), ram_fx + 32, 256);
	kprintf("fxsave: fcw %04x fsw %04x ftw %02x mxcsr %08x st/xmm %08x\n", *(volatile uint16_t *)top(0x800),
		*(volatile uint16_t *)top(0x802), *top(0x804), *(volatile uint32_t *)top(0x818), sum(top(0x820), 256));
	/* fxrstor from the top: XMM3 and FCW changed there. */
	for (unsigned i = 0; i < 16; i++)
		*top(0x800 + 160 + 3 * 16 + i) = (uint8_t)(0xf0 + i);
	*(volatile uint16_t *)top(0x800) = 0x37f;
	__asm__ volatile("fninit\n\tfxrstor (%0)\n\tmovups %%xmm3, (%1)" : : "r"(TOP + 0x800), "r"(buf) : "memory");
	uint16_t cw;
	__asm__ volatile("fnstcw %0" : "=m"(cw));
	check_eq("fxrstor: FCW", 0x37f, cw);
	for (unsigned i = 0; i < 16; i++)
		check_eq("fxrstor: XMM3", 0xf0 + i, buf[i]);
	progress("fxsave");
}

void guest_main(void)
{
	idt_init();
	idt_set_handler(13, on_gp, GATE_INTR);
	for (unsigned t = 0; t < 4; t++) {
		for (unsigned i = 0; i < 1024; i++)
			pt[t][i] = ((t * 1024 + i) * PAGE) | P | W;
		pd[t] = (uint32_t)pt[t] | P | W;
	}
	pt[0][0] = 0;
	pd[1023] = (uint32_t)pt_top | P | W;
	pt_top[1023] = (uint32_t)top_frame | P | W;
	__asm__ volatile("mov %0, %%cr3" : : "r"(pd));
	uint32_t cr0, cr4;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	cr0 = (cr0 & ~0xcu) | 0x80000022u;                    /* PG, NE, MP; EM and TS off */
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | 0x600u)); /* OSFXSR, OSXMMEXCPT */
	sse_tests();
	x87_tests();
	fx_tests();
}
