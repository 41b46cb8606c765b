/* The data-access emulator's wide accesses: fxsave/fxrstor, SSE moves
 * (movups/movaps/movdqu/movdqa, movss/movsd, movd/movq, movnt*) and x87
 * loads and stores of m16..m80, performed through the guest's segment and
 * memory when the shadow cannot reach (the monitor's top 4 MiB, page 0).
 * The guest's FPU state is live in the host FPU while the monitor runs, so
 * the host's own instruction does the arithmetic part on a host buffer and
 * seg_read/seg_write do the guest's part; an XMM register is read and
 * written through an fxsave image.
 * Environment: monitor, host stack, guest FPU live in the host FPU. */
#include "vm.h"

struct fx_image { uint8_t b[512]; } __attribute__((aligned(16)));

/* The legacy (no REX.W) layout: 32-bit FIP/FDP with selectors, as a
 * 32-bit guest's own fxsave writes it. */
static void fx_save(struct fx_image *f) { __asm__ volatile("fxsave %0" : "=m"(*f)); }
static void fx_restore(const struct fx_image *f) { __asm__ volatile("fxrstor %0" :: "m"(*f)); }

/* What a 32-bit fxsave stores: the x87/MXCSR header, ST0-7 and XMM0-7.
 * The rest (XMM8-15 of the host, reserved and software bytes) stays the
 * guest's, as QEMU leaves it. */
#define FX_GUEST_BYTES 288u
#define FX_XMM0 160u

static int raise(int vec)
{
	deliver_exception((unsigned)vec, vec == EXC_GP || vec == EXC_SS, 0);
	return -1;
}

static bool aligned16(int seg, uint32_t off) { return ((vm.seg[seg].base + off) & 15) == 0; }

/* SSE moves between an XMM register and memory: bytes, whether aligned,
 * whether a load zeroes the rest of the register, and direction. */
struct sse_move { unsigned bytes; bool align, zero_rest, store; };

static bool sse_form(const struct bt_insn *in, const uint8_t *code, struct sse_move *m)
{
	uint8_t o2 = code[in->opcode_off + 1];
	uint8_t pfx = 0;            /* the mandatory prefix: 66, F3 or F2 */
	for (unsigned i = 0; i < in->opcode_off; i++)
		if (code[i] == 0x66 || code[i] == 0xf3 || code[i] == 0xf2)
			pfx = code[i];
	*m = (struct sse_move){ 16, false, false, false };
	switch (o2) {
	case 0x10: case 0x11:       /* movups/movupd, movss, movsd */
		m->store = o2 == 0x11;
		if (pfx == 0xf3) { m->bytes = 4; m->zero_rest = true; }
		if (pfx == 0xf2) { m->bytes = 8; m->zero_rest = true; }
		return true;
	case 0x28: case 0x29:       /* movaps/movapd */
		m->store = o2 == 0x29;
		m->align = true;
		return pfx == 0 || pfx == 0x66;
	case 0x2b: case 0xe7:       /* movntps/movntpd, movntdq */
		m->store = m->align = true;
		return o2 == 0x2b ? (pfx == 0 || pfx == 0x66) : pfx == 0x66;
	case 0x6f: case 0x7f:       /* movdqa, movdqu (no prefix: MMX) */
		m->store = o2 == 0x7f;
		m->align = pfx == 0x66;
		return pfx == 0x66 || pfx == 0xf3;
	case 0x6e: case 0x7e:       /* movd (66), movq m64->xmm (F3 0F 7E) */
		if (pfx == 0xf3 && o2 == 0x7e) { m->bytes = 8; m->zero_rest = true; return true; }
		m->bytes = 4; m->zero_rest = true; m->store = o2 == 0x7e;
		return pfx == 0x66;
	case 0xd6:                  /* movq xmm->m64 */
		m->bytes = 8; m->store = true;
		return pfx == 0x66;
	default:
		return false;
	}
}

static int sse_move(const struct bt_insn *in, const uint8_t *code, unsigned xmm, uint32_t next)
{
	struct sse_move m;
	if (!sse_form(in, code, &m))
		return 0;
	int seg = emu_mseg(in), vec;
	uint32_t off = emu_ea(in);
	if (m.align && !aligned16(seg, off))
		return raise(EXC_GP);
	struct fx_image f;
	fx_save(&f);
	uint8_t *reg = f.b + FX_XMM0 + 16 * xmm;
	if (m.store) {
		if (!seg_write(seg, off, reg, m.bytes, &vec))
			return raise(vec);
	} else {
		uint8_t v[16] = { 0 };
		if (!seg_read(seg, off, v, m.bytes, &vec))
			return raise(vec);
		m_memcpy(reg, v, m.zero_rest ? 16 : m.bytes);
		fx_restore(&f);
	}
	vm.eip = next;
	return 1;
}

static int fxsave_rstor(const struct bt_insn *in, bool save, uint32_t next)
{
	int seg = emu_mseg(in), vec;
	uint32_t off = emu_ea(in);
	if (!aligned16(seg, off))
		return raise(EXC_GP);
	struct fx_image f;
	if (save) {
		fx_save(&f);
		if (!seg_write(seg, off, f.b, FX_GUEST_BYTES, &vec))
			return raise(vec);
	} else {
		struct fx_image cur;
		fx_save(&cur);
		if (!seg_read(seg, off, f.b, FX_GUEST_BYTES, &vec))
			return raise(vec);
		uint32_t mxcsr;
		m_memcpy(&mxcsr, f.b + 24, 4);
		if (mxcsr & ~0xffffu)            /* reserved MXCSR bits: #GP(0), nothing loaded */
			return raise(EXC_GP);
		/* The host's XMM8-15 are not the guest's to change. */
		m_memcpy(f.b + FX_GUEST_BYTES, cur.b + FX_GUEST_BYTES, 512 - FX_GUEST_BYTES);
		fx_restore(&f);
	}
	vm.eip = next;
	return 1;
}

/* x87 memory forms: the host instruction on a host buffer. A store that
 * pops is undone (fxsave image) when the guest's memory refuses it. */
enum x87_op { XL_F32, XL_F64, XL_F80, XL_I16, XL_I32, XL_I64, XL_CW,
	      XS_F32, XS_F64, XS_F80P, XS_I16, XS_I32, XS_I64P, XS_CW, XS_SW,
	      XS_F32P, XS_F64P, XS_I16P, XS_I32P };

static bool x87_form(uint8_t op, unsigned regf, enum x87_op *x, unsigned *bytes)
{
	static const struct { uint8_t op, regf, x, bytes; } t[] = {
		{ 0xd9, 0, XL_F32, 4 }, { 0xd9, 2, XS_F32, 4 }, { 0xd9, 3, XS_F32P, 4 },
		{ 0xd9, 5, XL_CW, 2 }, { 0xd9, 7, XS_CW, 2 },
		{ 0xdd, 0, XL_F64, 8 }, { 0xdd, 2, XS_F64, 8 }, { 0xdd, 3, XS_F64P, 8 }, { 0xdd, 7, XS_SW, 2 },
		{ 0xdb, 0, XL_I32, 4 }, { 0xdb, 2, XS_I32, 4 }, { 0xdb, 3, XS_I32P, 4 },
		{ 0xdb, 5, XL_F80, 10 }, { 0xdb, 7, XS_F80P, 10 },
		{ 0xdf, 0, XL_I16, 2 }, { 0xdf, 2, XS_I16, 2 }, { 0xdf, 3, XS_I16P, 2 },
		{ 0xdf, 5, XL_I64, 8 }, { 0xdf, 7, XS_I64P, 8 },
	};
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].op == op && t[i].regf == regf) {
			*x = (enum x87_op)t[i].x;
			*bytes = t[i].bytes;
			return true;
		}
	return false;
}

static void x87_run(enum x87_op x, uint8_t *b)
{
	switch (x) {
	case XL_F32: __asm__ volatile("flds %0" :: "m"(*(uint32_t *)b)); break;
	case XL_F64: __asm__ volatile("fldl %0" :: "m"(*(uint64_t *)b)); break;
	case XL_F80: __asm__ volatile("fldt %0" :: "m"(*(uint8_t (*)[10])b)); break;
	case XL_I16: __asm__ volatile("filds %0" :: "m"(*(uint16_t *)b)); break;
	case XL_I32: __asm__ volatile("fildl %0" :: "m"(*(uint32_t *)b)); break;
	case XL_I64: __asm__ volatile("fildll %0" :: "m"(*(uint64_t *)b)); break;
	case XL_CW: __asm__ volatile("fldcw %0" :: "m"(*(uint16_t *)b)); break;
	case XS_F32: __asm__ volatile("fsts %0" : "=m"(*(uint32_t *)b)); break;
	case XS_F32P: __asm__ volatile("fstps %0" : "=m"(*(uint32_t *)b)); break;
	case XS_F64: __asm__ volatile("fstl %0" : "=m"(*(uint64_t *)b)); break;
	case XS_F64P: __asm__ volatile("fstpl %0" : "=m"(*(uint64_t *)b)); break;
	case XS_F80P: __asm__ volatile("fstpt %0" : "=m"(*(uint8_t (*)[10])b)); break;
	case XS_I16: __asm__ volatile("fists %0" : "=m"(*(uint16_t *)b)); break;
	case XS_I16P: __asm__ volatile("fistps %0" : "=m"(*(uint16_t *)b)); break;
	case XS_I32: __asm__ volatile("fistl %0" : "=m"(*(uint32_t *)b)); break;
	case XS_I32P: __asm__ volatile("fistpl %0" : "=m"(*(uint32_t *)b)); break;
	case XS_I64P: __asm__ volatile("fistpll %0" : "=m"(*(uint64_t *)b)); break;
	case XS_CW: __asm__ volatile("fnstcw %0" : "=m"(*(uint16_t *)b)); break;
	case XS_SW: __asm__ volatile("fnstsw %0" : "=m"(*(uint16_t *)b)); break;
	}
}

static int x87_access(const struct bt_insn *in, uint8_t op, unsigned regf, uint32_t next)
{
	enum x87_op x;
	unsigned bytes;
	if (!x87_form(op, regf, &x, &bytes))
		return 0;
	int seg = emu_mseg(in), vec;
	uint32_t off = emu_ea(in);
	uint8_t b[16] __attribute__((aligned(16))) = { 0 };
	if (x < XS_F32) {
		if (!seg_read(seg, off, b, bytes, &vec))
			return raise(vec);
		x87_run(x, b);
	} else {
		struct fx_image before;
		fx_save(&before);
		x87_run(x, b);
		if (!seg_write(seg, off, b, bytes, &vec)) {
			fx_restore(&before);
			return raise(vec);
		}
	}
	vm.eip = next;
	return 1;
}

static int wide(const struct bt_insn *in, const uint8_t *code, uint32_t next)
{
	if (!in->has_mem || in->addrsize != 32 || in->modrm_off == 0xff)
		return 0;
	uint8_t op = code[in->opcode_off];
	unsigned regf = (code[in->modrm_off] >> 3) & 7;
	if (op == 0x0f && code[in->opcode_off + 1] == 0xae && regf <= 1)
		return fxsave_rstor(in, regf == 0, next);
	if (op == 0x0f && in->fpu == FPU_SSE)
		return sse_move(in, code, regf, next);
	if (op >= 0xd8 && op <= 0xdf)
		return x87_access(in, op, regf, next);
	return 0;
}

/* In a host trap the guest's FPU state is in the trap frame: made live for
 * the access, and kept there for the resume. */
int emulate_wide(const struct bt_insn *in, const uint8_t *code, uint32_t next)
{
	struct vmm_trap *t = vm.fpu_trap;
	if (t && t->fpu_live)
		t->fpu_live(t);
	int r = wide(in, code, next);
	if (t && t->fpu_keep && r != 0)
		t->fpu_keep(t);
	return r;
}
