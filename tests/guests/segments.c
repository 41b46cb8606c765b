/* segments guest: lgdt/sgdt of a second GDT, CS reloads by ljmp/lcall/lret,
 * data/stack segment loads, non-zero and wrapping bases, lds..lss,
 * push/pop of segment registers, lar/lsl and verr/verw. */
#include <stdint.h>
#include "boot.h"
#include "desc.h"
#include "exit.h"

GUEST_NAME("segments");

enum {
	SEL_CODE = 0x08, SEL_DATA = 0x10, SEL_CODE2 = 0x18, SEL_WINDOW = 0x20,
	SEL_RO = 0x28, SEL_XONLY = 0x30, SEL_DATA3 = 0x38, SEL_TSS = 0x40,
	SEL_GATE = 0x48, SEL_NP = 0x50, SEL_DATA2 = 0x58, SEL_WRAP = 0x60,
	GDT_ENTRIES = 13,
};

/* The window segment's base; page aligned so offsets are easy to read. */
static uint8_t window[8192] __attribute__((aligned(4096)));
static uint8_t tss_area[0x68] __attribute__((aligned(16)));
static uint8_t alt_stack[4096] __attribute__((aligned(16)));
static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));

extern char seg_far_target[], seg_far_target_imm[];
extern uint16_t seg_cs_inside;
extern uint64_t boot_gdt[];

struct farptr {
	uint32_t off;
	uint16_t sel;
} __attribute__((packed));

static void build_gdt(void)
{
	gdt[SEL_CODE / 8] = seg_desc(0, 0xFFFFF, ACC_CODE_RX, FLG_G | FLG_D);
	gdt[SEL_DATA / 8] = seg_desc(0, 0xFFFFF, ACC_DATA_RW, FLG_G | FLG_D);
	gdt[SEL_CODE2 / 8] = seg_desc(0, 0xFFFFF, ACC_CODE_RX, FLG_G | FLG_D);
	gdt[SEL_WINDOW / 8] = seg_desc((uint32_t)window, 0xFFF, ACC_DATA_RW, FLG_D);
	gdt[SEL_RO / 8] = seg_desc(0, 0xFFFFF, ACC_DATA_RO, FLG_G | FLG_D);
	gdt[SEL_XONLY / 8] = seg_desc(0, 0xFFFFF, ACC_CODE_X, FLG_G | FLG_D);
	gdt[SEL_DATA3 / 8] = seg_desc(0, 0xFFFFF, ACC_DATA_RW3, FLG_G | FLG_D);
	gdt[SEL_TSS / 8] = seg_desc((uint32_t)tss_area, 0x67, ACC_TSS32, 0);
	/* Call gate to 0x08:0, never called; offset 0 keeps lar's view of its
	 * upper dword constant. */
	gdt[SEL_GATE / 8] = (uint64_t)SEL_CODE << 16 | (uint64_t)ACC_CALL_GATE << 40;
	gdt[SEL_NP / 8] = seg_desc(0, 0xFFFFF, ACC_DATA_NP, FLG_G | FLG_D);
	gdt[SEL_DATA2 / 8] = seg_desc(0, 0xFFFFF, ACC_DATA_RW, FLG_G | FLG_D);
	/* base + offset wraps past 4 GiB: fs:(x + 1 MiB) is linear x. */
	gdt[SEL_WRAP / 8] = seg_desc(0xFFF00000, 0xFFFFF, ACC_DATA_RW, FLG_G | FLG_D);
}

static void check_gdtr(void)
{
	struct dtr d;

	sgdt(&d);
	check_eq("sgdt at entry: base is the runtime's GDT", (uint32_t)boot_gdt, d.base);
	check_eq("sgdt at entry: limit", 3 * 8 - 1, d.limit);

	build_gdt();
	struct dtr n = { sizeof(gdt) - 1, (uint32_t)gdt };
	lgdt(&n);
	sgdt(&d);
	check_eq("sgdt after lgdt: base", (uint32_t)gdt, d.base);
	check_eq("sgdt after lgdt: limit", sizeof(gdt) - 1, d.limit);
	/* The cached CS/DS stay valid until reloaded. */
	check_eq("CS before reload", SEL_CODE, read_cs());
}

static void check_far_transfers(void)
{
	uint32_t r;
	struct farptr p;

	__asm__ volatile("ljmp $0x18, $1f\n1:" ::: "memory");
	check_eq("CS after ljmp $0x18", SEL_CODE2, read_cs());

	__asm__ volatile("lcall $0x08, $seg_far_target" : "=a"(r) : : "memory");
	check_eq("lcall direct: result", 0xFA2CA11, r);
	check_eq("lcall direct: CS inside", SEL_CODE, seg_cs_inside);
	check_eq("lcall direct: CS after lret", SEL_CODE2, read_cs());

	p.off = (uint32_t)seg_far_target;
	p.sel = SEL_CODE2;
	seg_cs_inside = 0;
	__asm__ volatile("lcall *%1" : "=a"(r) : "m"(p) : "memory");
	check_eq("lcall via memory: result", 0xFA2CA11, r);
	check_eq("lcall via memory: CS inside", SEL_CODE2, seg_cs_inside);

	uint32_t esp_before, esp_after;
	p.off = (uint32_t)seg_far_target_imm;
	p.sel = SEL_CODE;
	/* The pointer goes by register: an %esp-relative operand would be
	 * stale after the push. */
	__asm__ volatile("movl %%esp, %[b]\n\tpushl $41\n\tlcall *(%[p])\n\tmovl %%esp, %[a]"
		: "=a"(r), [b] "=&r"(esp_before), [a] "=&r"(esp_after) : [p] "r"(&p) : "memory");
	check_eq("lret $4: result", 42, r);
	check_eq("lret $4: pops the argument", esp_before, esp_after);
	check_eq("lret $4: CS inside", SEL_CODE, seg_cs_inside);

	/* ljmp through memory and a hand-made lret, each switching CS. */
	__asm__ volatile("movl $1f, (%0)\n\tmovw $0x08, 4(%0)\n\tljmp *(%0)\n1:"
		: : "r"(&p) : "memory");
	check_eq("CS after ljmp via memory", SEL_CODE, read_cs());
	__asm__ volatile("pushl $0x18\n\tpushl $1f\n\tlret\n1:" ::: "memory");
	check_eq("CS after push/push/lret", SEL_CODE2, read_cs());
	__asm__ volatile("pushl $0x08\n\tpushl $1f\n\tlret\n1:" ::: "memory");
	check_eq("CS back to 0x08", SEL_CODE, read_cs());
}

static void check_data_segments(void)
{
	uint32_t v;

	write_ds(SEL_DATA2);
	check_eq("DS readback", SEL_DATA2, read_ds());
	write_ds(SEL_DATA);
	write_es(SEL_DATA2);
	check_eq("ES readback", SEL_DATA2, read_es());
	write_es(SEL_DATA);
	write_gs(SEL_RO);
	check_eq("GS readback", SEL_RO, read_gs());

	/* SS: swap to another flat selector and run a call on it. */
	uint16_t ss;
	__asm__ volatile("movw $0x58, %%ax\n\tmovw %%ax, %%ss\n\tcall 1f\n\tjmp 2f\n"
		"1:\tret\n2:\tmovw %%ss, %0\n\tmovw $0x10, %%ax\n\tmovw %%ax, %%ss"
		: "=r"(ss) : : "eax", "memory");
	check_eq("SS readback", SEL_DATA2, ss);
	check_eq("SS restored", SEL_DATA, read_ss());

	/* Non-zero base: fs:off is window[off]. */
	for (int i = 0; i < 0x100; i++)
		window[i] = (uint8_t)i;
	write_fs(SEL_WINDOW);
	check_eq("FS readback", SEL_WINDOW, read_fs());
	__asm__ volatile("movl %%fs:0x20, %0" : "=r"(v) : : "memory");
	check_eq("read through FS base", 0x23222120, v);
	__asm__ volatile("movl $0x89ABCDEF, %%fs:0x10" ::: "memory");
	check_eq("write through FS base", 0x89ABCDEF, *(volatile uint32_t *)(window + 0x10));
	/* An offset held in a register with an index, still based. */
	uint32_t idx = 3;
	__asm__ volatile("movl %%fs:0x40(,%1,4), %0" : "=r"(v) : "r"(idx) : "memory");
	check_eq("FS base + index*4 + disp", 0x4F4E4D4C, v);

	/* String instructions: an override on the source, ES for the
	 * destination (never overridable). */
	uint32_t esi = 0x30;
	__asm__ volatile("lodsl %%fs:(%%esi), %%eax" : "=a"(v), "+S"(esi) : : "memory");
	check_eq("lodsd with FS override", 0x33323130, v);
	check_eq("lodsd with FS override: ESI", 0x34, esi);
	uint32_t edi = 0x80;
	__asm__ volatile("movw $0x20, %%dx\n\tmovw %%dx, %%es\n\tstosl\n\tmovw $0x10, %%dx\n\tmovw %%dx, %%es"
		: "+D"(edi) : "a"(0x5EB0DA7A) : "edx", "memory");
	check_eq("stosd through ES base", 0x5EB0DA7A, *(volatile uint32_t *)(window + 0x80));

	/* Wraparound: base 0xFFF00000 + (x + 0x100000) = x mod 2^32. */
	write_gs(SEL_WRAP);
	uint32_t off = (uint32_t)window + 0x100000 + 0x44;
	__asm__ volatile("movl %%gs:(%1), %0" : "=r"(v) : "r"(off) : "memory");
	check_eq("read through a base that wraps at 4 GiB", 0x47464544, v);
	__asm__ volatile("movl $0x0BADCAFE, %%gs:(%0)" : : "r"(off) : "memory");
	check_eq("write through a base that wraps at 4 GiB", 0x0BADCAFE,
		 *(volatile uint32_t *)(window + 0x44));
	write_fs(SEL_DATA);
	write_gs(SEL_DATA);
}

static void check_load_far_pointers(void)
{
	struct farptr p = { 0xCAFE0000, SEL_WINDOW };
	uint32_t off;
	uint16_t sel;

	__asm__ volatile("lfs %2, %0\n\tmovw %%fs, %1" : "=r"(off), "=r"(sel) : "m"(p) : "memory");
	check_eq("lfs offset", 0xCAFE0000, off);
	check_eq("lfs selector", SEL_WINDOW, sel);
	p.off = 0xCAFE0001;
	p.sel = SEL_RO;
	__asm__ volatile("lgs %2, %0\n\tmovw %%gs, %1" : "=r"(off), "=r"(sel) : "m"(p) : "memory");
	check_eq("lgs offset", 0xCAFE0001, off);
	check_eq("lgs selector", SEL_RO, sel);
	p.off = 0xCAFE0002;
	p.sel = SEL_DATA2;
	__asm__ volatile("les %2, %0\n\tmovw %%es, %1\n\tmovw $0x10, %w1\n\tmovw %w1, %%es\n\tmovw %%es, %w1\n\t"
		"les %2, %0\n\tmovw %%es, %1\n\tpushl $0x10\n\tpopl %%es"
		: "=r"(off), "=&r"(sel) : "m"(p) : "memory");
	check_eq("les offset", 0xCAFE0002, off);
	check_eq("les selector", SEL_DATA2, sel);
	p.off = 0xCAFE0003;
	__asm__ volatile("lds %2, %0\n\tmovw %%ds, %1\n\tpushl $0x10\n\tpopl %%ds"
		: "=r"(off), "=r"(sel) : "m"(p) : "memory");
	check_eq("lds offset", 0xCAFE0003, off);
	check_eq("lds selector", SEL_DATA2, sel);
	write_fs(SEL_DATA);
	write_gs(SEL_DATA);

	/* lss: switch to another stack with another selector, push on it,
	 * then switch back with a second lss. */
	static struct farptr new_stack, old_stack;
	uint32_t esp_on_new;
	new_stack.off = (uint32_t)(alt_stack + sizeof(alt_stack));
	new_stack.sel = SEL_DATA2;
	old_stack.sel = SEL_DATA;
	__asm__ volatile("movl %%esp, %[old]\n\t"
		"lss %[new], %%esp\n\t"
		"pushl $0x57ACC0DE\n\t"
		"movw %%ss, %[sel]\n\t"
		"movl %%esp, %[on]\n\t"
		"lss %[oldp], %%esp"
		: [sel] "=r"(sel), [on] "=r"(esp_on_new), [old] "=m"(old_stack.off)
		: [new] "m"(new_stack), [oldp] "m"(old_stack) : "memory");
	check_eq("lss selector", SEL_DATA2, sel);
	check_eq("lss stack pointer after one push", new_stack.off - 4, esp_on_new);
	check_eq("push on the lss stack", 0x57ACC0DE, *(uint32_t *)(alt_stack + sizeof(alt_stack) - 4));
	check_eq("SS after switching back", SEL_DATA, read_ss());
}

static void check_push_pop(void)
{
	uint32_t v, delta;
	uint16_t sel;

	write_fs(SEL_WINDOW);
	__asm__ volatile("pushl %%fs\n\tpopl %%gs\n\tmovw %%gs, %0" : "=r"(sel) : : "memory");
	check_eq("pushl fs / popl gs", SEL_WINDOW, sel);
	__asm__ volatile("pushl %%ds\n\tpopl %0" : "=r"(v) : : "memory");
	check_eq("pushl ds (low 16 bits)", SEL_DATA, v & 0xFFFF);
	__asm__ volatile("pushl %%cs\n\tpopl %0" : "=r"(v) : : "memory");
	check_eq("pushl cs (low 16 bits)", SEL_CODE, v & 0xFFFF);

	/* 16-bit pushes move ESP by two. */
	__asm__ volatile("movl %%esp, %1\n\tpushw %%fs\n\tsubl %%esp, %1\n\tpopw %%es\n\tmovw %%es, %0\n\t"
		"pushl $0x10\n\tpopl %%es"
		: "=r"(sel), "=&r"(delta) : : "memory");
	check_eq("pushw fs moves ESP by 2", 2, delta);
	check_eq("pushw fs / popw es", SEL_WINDOW, sel);

	/* A segment register stored to memory writes exactly 16 bits. */
	v = 0xFFFFFFFF;
	__asm__ volatile("movw %%fs, %0" : "+m"(v));
	check_eq("mov fs to memory writes 16 bits", 0xFFFF0000 | SEL_WINDOW, v);
	write_fs(SEL_DATA);
	write_gs(SEL_DATA);
}

static uint32_t do_lar(uint32_t sel, uint32_t *zf)
{
	uint32_t v = 0xDEADBEEF;
	uint8_t z;
	__asm__ volatile("larl %w[s], %[v]\n\tsetz %[z]" : [v] "+r"(v), [z] "=q"(z) : [s] "r"(sel) : "cc");
	*zf = z;
	return v;
}

static uint32_t do_lsl(uint32_t sel, uint32_t *zf)
{
	uint32_t v = 0xDEADBEEF;
	uint8_t z;
	__asm__ volatile("lsll %w[s], %[v]\n\tsetz %[z]" : [v] "+r"(v), [z] "=q"(z) : [s] "r"(sel) : "cc");
	*zf = z;
	return v;
}

static uint32_t do_verr(uint32_t sel)
{
	uint8_t z;
	__asm__ volatile("verr %w[s]\n\tsetz %[z]" : [z] "=q"(z) : [s] "r"(sel) : "cc");
	return z;
}

static uint32_t do_verw(uint32_t sel)
{
	uint8_t z;
	__asm__ volatile("verw %w[s]\n\tsetz %[z]" : [z] "=q"(z) : [s] "r"(sel) : "cc");
	return z;
}

static void check_lar_lsl(void)
{
	/* Bits 16..19 of lar's result are undefined, hence the mask. A
	 * failing lar/lsl leaves the destination alone (0xDEADBEEF). */
	static const struct {
		uint16_t sel;
		uint8_t lar_ok;
		uint32_t lar;
		uint8_t lsl_ok;
		uint32_t lsl;
	} cases[] = {
		{ SEL_CODE, 1, 0x00C09B00, 1, 0xFFFFFFFF },
		{ SEL_DATA, 1, 0x00C09300, 1, 0xFFFFFFFF },
		{ SEL_WINDOW, 1, 0x00409300, 1, 0x00000FFF },
		{ SEL_RO, 1, 0x00C09100, 1, 0xFFFFFFFF },
		{ SEL_XONLY, 1, 0x00C09900, 1, 0xFFFFFFFF },
		{ SEL_DATA3 | 3, 1, 0x00C0F300, 1, 0xFFFFFFFF },
		{ SEL_TSS, 1, 0x00008900, 1, 0x00000067 },
		{ SEL_GATE, 1, 0x00008C00, 0, 0 },	/* lsl has no limit for gates */
		{ SEL_NP, 1, 0x00C01300, 1, 0xFFFFFFFF },	/* neither checks P */
		{ 0x0000, 0, 0, 0, 0 },			/* null */
		{ SEL_DATA | 3, 0, 0, 0, 0 },		/* RPL 3 > DPL 0 */
		{ SEL_CODE | 3, 0, 0, 0, 0 },
		{ 0x0400, 0, 0, 0, 0 },			/* beyond the GDT limit */
		{ 0x000C, 0, 0, 0, 0 },			/* LDT selector, no LDT */
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t zf, v;
		uint16_t sel = cases[i].sel;

		v = do_lar(sel, &zf);
		if (zf != cases[i].lar_ok)
			fail("lar 0x%04x: expected ZF=%u, got ZF=%u", sel, cases[i].lar_ok, zf);
		if (zf)
			check_eq("lar access rights", cases[i].lar, v & 0x00F0FF00);
		else
			check_eq("failed lar leaves the destination", 0xDEADBEEF, v);

		v = do_lsl(sel, &zf);
		if (zf != cases[i].lsl_ok)
			fail("lsl 0x%04x: expected ZF=%u, got ZF=%u", sel, cases[i].lsl_ok, zf);
		if (zf)
			check_eq("lsl limit", cases[i].lsl, v);
		else
			check_eq("failed lsl leaves the destination", 0xDEADBEEF, v);
	}
}

static void check_verr_verw(void)
{
	static const struct {
		uint16_t sel;
		uint8_t r, w;
	} cases[] = {
		{ SEL_DATA, 1, 1 },
		{ SEL_WINDOW, 1, 1 },
		{ SEL_RO, 1, 0 },
		{ SEL_CODE, 1, 0 },	/* readable code */
		{ SEL_XONLY, 0, 0 },	/* execute-only code */
		{ SEL_DATA3 | 3, 1, 1 },
		{ SEL_DATA | 3, 0, 0 },	/* RPL 3 > DPL 0 */
		{ SEL_TSS, 0, 0 },	/* system descriptor */
		{ 0x0000, 0, 0 },
		{ 0x0400, 0, 0 },
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t r = do_verr(cases[i].sel), w = do_verw(cases[i].sel);
		if (r != cases[i].r)
			fail("verr 0x%04x: expected ZF=%u, got ZF=%u", cases[i].sel, cases[i].r, r);
		if (w != cases[i].w)
			fail("verw 0x%04x: expected ZF=%u, got ZF=%u", cases[i].sel, cases[i].w, w);
	}
}

void guest_main(void)
{
	check_gdtr();
	progress("lgdt");
	check_far_transfers();
	progress("far");
	check_data_segments();
	progress("data");
	check_load_far_pointers();
	progress("lxs");
	check_push_pop();
	progress("push_pop");
	check_lar_lsl();
	progress("lar_lsl");
	check_verr_verw();
	progress("verr_verw");
}
