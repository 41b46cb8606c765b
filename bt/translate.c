/* Building a translation unit: decode guest instructions from one entry
 * point (at most max_tu_insns, or up to a control transfer), classify each
 * as IDENT (copied), inline (a short sequence on virtual state) or callout
 * (a far call into the monitor), emit the CCF with its exits and stubs, and
 * record the PC map that takes faults back to guest instructions. */
#include "bt_internal.h"
#include "emit.h"

#define MAX_EXITS 3
/* Longest sequence one guest instruction can become: popf (73 bytes) with
 * its pending-interrupt check (60) and, right after sti, a second check;
 * with software limit checks, a memory operand's (at most 39 bytes) and a
 * stack access's (26) before. */
#define WORST_INSN_BYTES 290
_Static_assert(WORST_INSN_BYTES < 512, "struct pcrec's tc_len has 9 bits");
#define STUB_BYTES 32   /* exit stub (movl $idx,%gs:S_TMP; jmp shared) + learning stub */

struct pending_exit { uint32_t patch, target, ic_neg, ic_pos, ic_miss; };

struct tu {
	struct emitter e;
	struct ccf *c;
	uint32_t cidx;
	struct pending_exit ex[MAX_EXITS];
	unsigned nex;
};

static void add_exit(struct tu *t, uint32_t patch, uint32_t target)
{
	t->ex[t->nex] = (struct pending_exit){ .patch = patch, .target = target };
	t->nex++;
}

/* The indirect-branch tail, with the target in %ecx and the guest's %ecx in
 * S_ECX: an inline cache compared without touching flags,
 *     lea -pred(%ecx),%ecx; jecxz hit; lea pred(%ecx),%ecx; jmp miss
 *     hit: mov S_ECX,%ecx; jmp <pred's CCF, a chainable exit>
 * where miss first goes to a learning callout, then to the shared IBL. */
static void emit_indirect_tail(struct tu *t)
{
	struct emitter *e = &t->e;
	if (bt.mode.tf) {
		/* Single-stepping: every target goes through the monitor. */
		e_store_gs(e, 1, MA_S_TARGET);
		e_load_gs(e, 1, MA_S_ECX);
		e_jmp(e, bt.env.gate_ibl_miss);
		return;
	}
	struct pending_exit *x = &t->ex[t->nex++];
	*x = (struct pending_exit){ 0 };
	e_u8(e, 0x8d); e_u8(e, 0x89); x->ic_neg = e->at; e_u32(e, 0);
	e_u8(e, 0xe3); e_u8(e, 6 + 5);
	e_u8(e, 0x8d); e_u8(e, 0x89); x->ic_pos = e->at; e_u32(e, 0);
	x->ic_miss = e_jmp(e, 0) ;
	e_load_gs(e, 1, MA_S_ECX);
	x->patch = e_jmp(e, 0);
	x->target = 0;
}

/* A copied instruction. Memory operands through %cs or %gs cannot use the
 * real registers (%cs is the monitor's code segment, %gs its data), so the
 * guest's shadow is swapped into %gs around the instruction. */
static void emit_ident(struct tu *t, const uint8_t *code, const struct bt_insn *in)
{
	struct emitter *e = &t->e;
	if (in->mem_seg == SEG_GS || in->mem_seg == SEG_CS) {
		/* mov %gs:MA_GGS_SEL (or MA_GCS_SEL), %gs */
		e_u8(e, 0x65); e_u8(e, 0x8e); e_u8(e, 0x2d);
		e_u32(e, in->mem_seg == SEG_GS ? MA_GGS_SEL : MA_GCS_SEL);
		for (unsigned i = 0; i < in->len; i++)
			if (i != in->drop_prefix_off)
				e_u8(e, (i == in->seg_prefix_off && in->mem_seg == SEG_CS) ? 0x65 : code[i]);
		/* mov %cs:MON_BASE+MA_MONGS_SEL, %gs: %cs is flat in translated code */
		e_u8(e, 0x2e); e_u8(e, 0x8e); e_u8(e, 0x2d); e_u32(e, MON_BASE + MA_MONGS_SEL);
		return;
	}
	for (unsigned i = 0; i < in->len; i++)
		if (i != in->drop_prefix_off)
			e_u8(e, code[i]);
}

/* The instruction's bytes with its opcode and ModRM.reg rewritten (same
 * length): FF /4 (jmp r/m32) and FF /2 (call r/m32) become 8B /1, a load of
 * the target into %ecx through the same addressing and segment. */
static void emit_load_target_ecx(struct tu *t, const uint8_t *code, const struct bt_insn *in)
{
	uint8_t buf[16];
	for (unsigned i = 0; i < in->len; i++)
		buf[i] = code[i];
	buf[in->opcode_off] = 0x8b;
	buf[in->modrm_off] = (uint8_t)((buf[in->modrm_off] & 0xc7) | (1 << 3));
	struct bt_insn copy = *in;
	emit_ident(t, buf, &copy);
}

/* Software segment-limit checks (bt.env.soft_limits; mon_area.h has the
 * bound pairs). The offset the instruction is about to use, biased by
 * 2^31 in the same lea (bound compares signed), goes into %eax:
 *     lea 2^31+disp(base,index,scale),%eax; bound %eax,%gs:MA_BND+8*seg
 * Each pair stops 15 bytes short of the segment's last offset, so for an
 * access of up to 16 bytes its first byte's check covers its last (one
 * in those 15 bytes traps and is performed by the monitor) and no offset
 * that passes is near enough to 4 GiB to wrap; a longer one checks its
 * last byte too. Neither instruction touches the flags. The checks come
 * first in the instruction's translation, so a #BR leaves the guest's
 * state as at its start but for %eax, parked in MA_S_CHK. */
#define BIAS 0x80000000u
static void emit_bounds(struct emitter *e, unsigned seg, unsigned size)
{
	e_u8(e, 0x65); e_u8(e, 0x62); e_u8(e, 0x05); e_u32(e, MA_BND + 8 * seg);
	if (size > 16) {
		e_u8(e, 0x8d); e_u8(e, 0x80); e_u32(e, size - 1);     /* lea size-1(%eax),%eax */
		e_u8(e, 0x65); e_u8(e, 0x62); e_u8(e, 0x05); e_u32(e, MA_BND + 8 * seg);
	}
}

/* lea disp32(base,index,scale),%eax: a register-relative offset. */
static void emit_lea_eax(struct emitter *e, uint8_t base, uint8_t index, uint8_t scale, uint32_t disp)
{
	uint8_t ss = scale == 8 ? 3 : scale == 4 ? 2 : scale == 2 ? 1 : 0;
	e_u8(e, 0x8d);
	if (base == 0xff) {
		e_u8(e, 0x04);                                        /* mod 00, SIB, no base */
		e_u8(e, (uint8_t)(ss << 6 | (index == 0xff ? 4 : index) << 3 | 5));
	} else {
		e_u8(e, 0x84);                                        /* mod 10, SIB, disp32 */
		e_u8(e, (uint8_t)(ss << 6 | (index == 0xff ? 4 : index) << 3 | base));
	}
	e_u32(e, disp);
}

/* Checks `size` bytes at disp(base,index,scale) in guest segment `seg`. */
static void emit_check_at(struct emitter *e, unsigned seg, uint8_t base, uint8_t index, uint8_t scale,
			  uint32_t disp, unsigned size)
{
	e_u8(e, 0x65); e_u8(e, 0xa3); e_u32(e, MA_S_CHK);               /* mov %eax,%gs:S_CHK */
	emit_lea_eax(e, base, index, scale, disp + BIAS);
	emit_bounds(e, seg, size);
	e_u8(e, 0x65); e_u8(e, 0xa1); e_u32(e, MA_S_CHK);               /* mov %gs:S_CHK,%eax */
}

/* The explicit memory operand, its address computed as the instruction
 * does (16-bit addressing: its own ModRM bytes, under 0x67). */
static void emit_check_mem(struct emitter *e, const uint8_t *code, const struct bt_insn *in)
{
	unsigned size = in->mem_size ? in->mem_size : 1;
	if (in->addrsize == 32) {
		emit_check_at(e, in->mem_seg, in->mem_base, in->mem_index, in->mem_scale, (uint32_t)in->mem_disp, size);
		return;
	}
	e_u8(e, 0x65); e_u8(e, 0xa3); e_u32(e, MA_S_CHK);
	e_u8(e, 0x67);
	if (in->modrm_off == 0xff) {
		e_u8(e, 0x8d); e_u8(e, 0x06); e_u16(e, (uint16_t)in->mem_disp);   /* moffs16 */
	} else {
		uint8_t m = code[in->modrm_off], mod = m >> 6, rm = m & 7;
		unsigned n = mod == 1 ? 1 : mod == 2 || (mod == 0 && rm == 6) ? 2 : 0;
		e_u8(e, 0x8d); e_u8(e, (uint8_t)(m & 0xc7));
		for (unsigned i = 0; i < n; i++)
			e_u8(e, code[in->modrm_off + 1 + i]);
	}
	e_u8(e, 0x8d); e_u8(e, 0x80); e_u32(e, BIAS);                  /* lea 2^31(%eax),%eax */
	emit_bounds(e, in->mem_seg, size);
	e_u8(e, 0x65); e_u8(e, 0xa1); e_u32(e, MA_S_CHK);
}

/* A string instruction without rep: its one element at ESI and/or EDI.
 * Under rep the span is the monitor's to perform (a callout): checked
 * inline (ECX held to a span, both ends of it) it made the driver world's
 * monitor jump to address 0 early in Linux's boot on the check-driver
 * host, every time, and never under the user-level world; not understood
 * yet. 16-bit addressing: the monitor too. */
static bool emit_string_checks(struct emitter *e, const uint8_t *code, const struct bt_insn *in, uint8_t op)
{
	if (in->addrsize != 32 || in->rep)
		return false;
	unsigned z = (op & 1) ? in->opsize / 8 : 1;
	bool src = op <= 0xa7 || op == 0xac || op == 0xad;
	bool dst = op != 0xac && op != 0xad;
	unsigned sseg = bt_string_source_seg(in, code);
	e_u8(e, 0x65); e_u8(e, 0xa3); e_u32(e, MA_S_CHK);
	if (src) {
		emit_lea_eax(e, 6, 0xff, 1, BIAS);                    /* %esi */
		emit_bounds(e, sseg, z);
	}
	if (dst) {
		emit_lea_eax(e, 7, 0xff, 1, BIAS);                    /* %edi */
		emit_bounds(e, SEG_ES, z);
	}
	e_u8(e, 0x65); e_u8(e, 0xa1); e_u32(e, MA_S_CHK);
	return true;
}

#define R_ESP 4
#define R_EBP 5
#define R_EBX 3
#define R_ESI 6
#define R_EDI 7

/* Emits the checks of every guest memory access the translation of `in`
 * makes natively. False: the instruction's accesses are not checked this
 * way (strings, enter with nesting): the monitor performs it. */
static bool emit_limit_checks(struct tu *t, const uint8_t *code, const struct bt_insn *in)
{
	struct emitter *e = &t->e;
	uint8_t op = code[in->opcode_off];
	uint8_t op2 = op == 0x0f ? code[in->opcode_off + 1] : 0;
	uint8_t regf = in->modrm_off != 0xff ? (code[in->modrm_off] >> 3) & 7 : 0;
	unsigned osz = in->opsize / 8;
	switch (in->mnem) {
	case M_OTHER: case M_JMP: case M_CALL: case M_RET: case M_PUSHF: case M_POPF: case M_PUSH_SREG:
		break;
	default:
		return true;        /* a callout: the monitor makes the accesses */
	}
	if (in->far)
		return true;
	if (op == 0x0f && op2 == 0xf7)
		return false;       /* maskmov: DS:EDI */
	if (bt_is_string_op(op))
		return emit_string_checks(e, code, in, op);
	if (op == 0xc8 && (code[in->opcode_off + 3] & 0x1f) != 0)
		return false;       /* enter with nesting */
	/* Prefetches and hint nops name memory they never access (no fault). */
	if (op == 0x0f && (op2 == 0x0d || (op2 >= 0x18 && op2 <= 0x1f)))
		return true;
	if (in->has_mem && in->mem_seg != SEG_NONE) {
		if (op == 0x8f && in->mem_base == R_ESP && in->addrsize == 32) {
			/* pop to memory addresses it with ESP already incremented */
			struct bt_insn a = *in;
			a.mem_disp += (int32_t)osz;
			emit_check_mem(e, code, &a);
		} else {
			emit_check_mem(e, code, in);
		}
	}
	if (op == 0xd7) {                                             /* xlat: the whole table */
		unsigned seg = in->mem_seg != SEG_NONE ? in->mem_seg : SEG_DS;
		emit_check_at(e, seg, R_EBX, 0xff, 1, 0, 256);
	}
	/* The implicit stack accesses (SS:ESP, 32-bit stack). */
	int32_t at = 0;
	unsigned size = 0;
	if ((op >= 0x50 && op <= 0x57) || op == 0x68 || op == 0x6a || (op == 0xff && regf == 6) ||
	    in->mnem == M_PUSH_SREG || in->mnem == M_PUSHF || op == 0xc8) {
		at = -(int32_t)osz; size = osz;
	} else if ((op >= 0x58 && op <= 0x5f) || op == 0x8f || in->mnem == M_POPF) {
		at = 0; size = osz;
	} else if (op == 0x60) {
		at = -(int32_t)(8 * osz); size = 8 * osz;
	} else if (op == 0x61) {
		at = 0; size = 8 * osz;
	} else if (in->mnem == M_CALL) {
		at = -4; size = 4;
	} else if (in->mnem == M_RET) {
		at = 0; size = 4;
	} else if (op == 0xc9) {
		emit_check_at(e, SEG_SS, R_EBP, 0xff, 1, 0, osz);
	}
	if (size)
		emit_check_at(e, SEG_SS, R_ESP, 0xff, 1, (uint32_t)at, size);
	return true;
}

/* Flag-free check of MA_PENDING: a callout only when something is pending. */
static void emit_irq_check(struct tu *t, uint32_t resume_eip)
{
	struct emitter *e = &t->e;
	e_store_gs(e, 1, MA_S_ECX);
	e_load_gs(e, 1, MA_PENDING);
	e_u8(e, 0xe3); e_u8(e, 7 + CO_SEQ_LEN + CO_REC_SIZE);  /* jecxz over the callout */
	e_load_gs(e, 1, MA_S_ECX);
	e_callout(e, bt.env.gate_callout, CO_IRQ_CHECK, 0, resume_eip);
	e_load_gs(e, 1, MA_S_ECX);
}

static void emit_pushf(struct tu *t)
{
	struct emitter *e = &t->e;
	e_u8(e, 0x9c);                                          /* pushfl: real flags */
	e_u8(e, 0x65); e_u8(e, 0xa3); e_u32(e, MA_S_EAX);       /* mov %eax,%gs:S_EAX */
	e_u8(e, 0x8b); e_u8(e, 0x04); e_u8(e, 0x24);            /* mov (%esp),%eax */
	e_u8(e, 0x25); e_u32(e, 0x00000cd5);                    /* and $arith|DF,%eax */
	e_u8(e, 0x65); e_u8(e, 0x0b); e_u8(e, 0x05); e_u32(e, MA_VEFLAGS); /* or virtual system bits */
	e_u8(e, 0x65); e_u8(e, 0x0b); e_u8(e, 0x05); e_u32(e, MA_VIF);     /* or virtual IF */
	e_u8(e, 0x9d);                                          /* popfl: real flags back */
	e_u8(e, 0x89); e_u8(e, 0x44); e_u8(e, 0x24); e_u8(e, 0xfc); /* mov %eax,-4(%esp) */
	e_u8(e, 0x8d); e_u8(e, 0x64); e_u8(e, 0x24); e_u8(e, 0xfc); /* lea -4(%esp),%esp */
	e_u8(e, 0x65); e_u8(e, 0xa1); e_u32(e, MA_S_EAX);       /* mov %gs:S_EAX,%eax */
}

static void emit_popf(struct tu *t, uint32_t eip, uint8_t len, uint32_t next_eip)
{
	struct emitter *e = &t->e;
	/* A popf that sets TF starts single-stepping: the monitor does it. */
	e_u8(e, 0xf7); e_u8(e, 0x04); e_u8(e, 0x24); e_u32(e, 0x100);   /* testl $TF,(%esp) */
	e_u8(e, 0x74); e_u8(e, CO_SEQ_LEN + CO_REC_SIZE);              /* jz fast */
	e_callout(e, bt.env.gate_callout, CO_EMULATE, (uint16_t)(len | CO_END), eip);
	e_u8(e, 0x65); e_u8(e, 0xa3); e_u32(e, MA_S_EAX);
	e_u8(e, 0x8b); e_u8(e, 0x04); e_u8(e, 0x24);            /* mov (%esp),%eax: may fault, precise */
	e_u8(e, 0x25); e_u32(e, 0x200);                         /* IF */
	e_u8(e, 0x65); e_u8(e, 0xa3); e_u32(e, MA_VIF);
	e_u8(e, 0x8b); e_u8(e, 0x04); e_u8(e, 0x24);
	e_u8(e, 0x25); e_u32(e, 0x00247000);                    /* IOPL | NT | AC | ID */
	e_u8(e, 0x0d); e_u32(e, 0x2);
	e_u8(e, 0x65); e_u8(e, 0xa3); e_u32(e, MA_VEFLAGS);
	e_u8(e, 0x8b); e_u8(e, 0x04); e_u8(e, 0x24);
	/* The host popfl takes the masked value from the guest's slot; a real
	 * popf only reads it, so the guest's value goes back afterwards. */
	e_u8(e, 0x65); e_u8(e, 0xa3); e_u32(e, MA_S_TMP);       /* mov %eax,%gs:S_TMP */
	e_u8(e, 0x25); e_u32(e, 0x00000cd5);                    /* only arith|DF reach real flags */
	e_u8(e, 0x89); e_u8(e, 0x04); e_u8(e, 0x24);
	e_u8(e, 0x9d);                                          /* popfl */
	e_u8(e, 0x65); e_u8(e, 0xa1); e_u32(e, MA_S_TMP);       /* mov %gs:S_TMP,%eax */
	e_u8(e, 0x89); e_u8(e, 0x44); e_u8(e, 0x24); e_u8(e, 0xfc); /* mov %eax,-4(%esp) */
	e_u8(e, 0x65); e_u8(e, 0xa1); e_u32(e, MA_S_EAX);
	emit_irq_check(t, next_eip);
}

static uint32_t gsel_off(uint8_t seg)
{
	switch (seg) {
	case SEG_CS: return MA_GSEL_CS;
	case SEG_SS: return MA_GSEL_SS;
	case SEG_DS: return MA_GSEL_DS;
	case SEG_ES: return MA_GSEL_ES;
	case SEG_FS: return MA_GSEL_FS;
	default: return MA_GSEL_GS;
	}
}

enum cls { C_IDENT, C_INLINE, C_CALLOUT };

/* What to emit for one instruction. Returns its class and whether the TU ends. */
static enum cls emit_insn(struct tu *t, const uint8_t *code, const struct bt_insn *in,
			  uint32_t eip, bool *end, uint8_t *next_flags)
{
	struct emitter *e = &t->e;
	uint32_t next = eip + in->len;
	uint32_t gate = bt.env.gate_callout;
	bool op16 = in->opsize == 16;
	/* A relative branch with a 16-bit operand size truncates EIP. */
	uint32_t rel_target = next + (uint32_t)in->rel;
	if (op16)
		rel_target &= 0xffff;
	*end = false;

	if (in->fpu && bt.mode.fpu) {
		/* What CR0.TS/EM/MP and CR4.OSFXSR make of FPU and SIMD code. */
		uint8_t m = bt.mode.fpu;
		int vec = -1;
		if (in->fpu == FPU_WAIT)
			vec = (m & BT_FPU_TS) && (m & BT_FPU_MP) ? 7 : -1;
		else if (in->fpu == FPU_X87)
			vec = (m & (BT_FPU_TS | BT_FPU_EM)) ? 7 : -1;
		else if ((m & BT_FPU_EM) || (in->fpu == FPU_SSE && (m & BT_FPU_NOSSE)))
			vec = 6;
		else if (m & BT_FPU_TS)
			vec = 7;
		if (vec >= 0) {
			e_callout(e, gate, CO_FAULT, (uint16_t)vec, eip);
			*end = true;
			return C_CALLOUT;
		}
	}

	bool adapted = in->mnem == M_OTHER && (in->has_mem || bt_is_string_op(code[in->opcode_off])) &&
		       bt_is_callout(bt.mode.cs_base + eip);
	if (bt.env.soft_limits && !adapted) {
		uint32_t at0 = e->at;
		if (!emit_limit_checks(t, code, in)) {
			e_callout(e, gate, CO_EMULATE, in->len, eip);
			return C_CALLOUT;
		}
		struct pcrec *r = &bt.pcs[bt.npc];
		if (e->at - at0 && r->tc == at0)
			r->chk = (e->at - at0) & 0x7f;    /* at most 65 bytes of checks */
	}

	switch (in->mnem) {
	case M_JMP:
		if (in->far || (op16 && in->target != T_REL))
			break;
		if (in->target == T_REL) {
			add_exit(t, e_jmp(e, 0), rel_target);
		} else {
			e_store_gs(e, 1, MA_S_ECX);
			emit_load_target_ecx(t, code, in);
			emit_indirect_tail(t);
		}
		*end = true;
		return C_INLINE;
	case M_JCC:
		add_exit(t, e_jcc(e, in->cc, 0), rel_target);
		add_exit(t, e_jmp(e, 0), next);
		*end = true;
		return C_INLINE;
	case M_LOOP: case M_LOOPE: case M_LOOPNE: case M_JECXZ:
		/* loopcc +2 -> taken jmp; jmp short +5 -> fallthrough jmp. The
		 * address-size prefix (CX vs ECX) stays, an operand-size one
		 * would truncate the TC address. */
		for (unsigned i = 0; i < in->opcode_off; i++)
			if (code[i] != 0x66)
				e_u8(e, code[i]);
		e_u8(e, code[in->opcode_off]); e_u8(e, 2);
		e_u8(e, 0xeb); e_u8(e, 5);
		add_exit(t, e_jmp(e, 0), rel_target);
		add_exit(t, e_jmp(e, 0), next);
		*end = true;
		return C_INLINE;
	case M_CALL:
		if (in->far || op16)
			break;
		if (in->target == T_REL) {
			e_u8(e, 0x68); e_u32(e, next);                   /* push $return (guest EIP) */
			add_exit(t, e_jmp(e, 0), next + (uint32_t)in->rel);
		} else {
			uint32_t start = bt.pcs[bt.npc].tc;
			e_store_gs(e, 1, MA_S_ECX);
			emit_load_target_ecx(t, code, in);
			bt.pcs[bt.npc].flags |= PC_FIX_ECX;
			bt.pcs[bt.npc].fix = (uint8_t)(e->at - start);
			e_u8(e, 0x68); e_u32(e, next);
			emit_indirect_tail(t);
		}
		*end = true;
		return C_INLINE;
	case M_RET:
		if (in->far || op16)
			break;
		e_store_gs(e, 1, MA_S_ECX);
		e_u8(e, 0x59);                                           /* pop %ecx */
		if (in->imm) {                                           /* lea imm(%esp),%esp */
			e_u8(e, 0x8d); e_u8(e, 0xa4); e_u8(e, 0x24); e_u32(e, in->imm);
		}
		emit_indirect_tail(t);
		*end = true;
		return C_INLINE;
	case M_CLI:
		if (bt.mode.cpl)
			break;                   /* IOPL decides: the monitor */
		e_store_imm_gs(e, MA_VIF, 0);
		return C_INLINE;
	case M_STI:
		if (bt.mode.cpl)
			break;
		e_store_imm_gs(e, MA_VIF, 0x200);
		*next_flags = PC_NO_IRQ | 0x80;     /* 0x80: emit the pending check after the next insn */
		return C_INLINE;
	case M_PUSHF:
		if (op16 || bt.mode.tf || bt.mode.cpl)
			break;
		emit_pushf(t);
		return C_INLINE;
	case M_POPF:
		if (op16 || bt.mode.tf || bt.mode.cpl)
			break;
		emit_popf(t, eip, in->len, next);
		return C_INLINE;
	case M_MOV_SREG_STORE:
		if (in->modrm_off == 0xff || (code[in->modrm_off] & 0xc0) != 0xc0 || in->reg == 0xff)
			break;                                           /* to memory: emulated */
		if (op16)
			e_u8(e, 0x66);
		e_load_gs(e, in->reg, gsel_off(in->sreg));
		return C_INLINE;
	case M_POP_SREG: case M_MOV_SREG_LOAD: {
		/* Segment loads are frequent (interrupt stubs reload DS/ES...):
		 * the record says which register from where, no decoding again. */
		bool pop = in->mnem == M_POP_SREG;
		bool reg_src = !pop && in->modrm_off != 0xff && (code[in->modrm_off] & 0xc0) == 0xc0;
		if (in->sreg == SEG_CS || (!pop && !reg_src))
			break;
		uint8_t r = pop ? 0 : (uint8_t)(code[in->modrm_off] & 7);
		e_callout(e, gate, CO_SEG_LOAD, (uint16_t)(in->sreg | (pop ? 8 : 0) | r << 4 | (op16 ? 0x80 : 0) |
							    in->len << 8), eip);
		if (in->writes_sreg_ss)
			*next_flags = PC_NO_IRQ;
		return C_CALLOUT;
	}
	case M_PUSH_SREG:
		if (op16)
			e_u8(e, 0x66);
		e_u8(e, 0x65); e_u8(e, 0xff); e_u8(e, 0x35); e_u32(e, gsel_off(in->sreg)); /* push %gs:sel */
		return C_INLINE;
	case M_IN: case M_OUT: {
		uint16_t size = in->opsize == 16 ? 2 : 4;
		if (code[in->opcode_off] == 0xe4 || code[in->opcode_off] == 0xe6 ||
		    code[in->opcode_off] == 0xec || code[in->opcode_off] == 0xee)
			size = 1;
		bool dx = code[in->opcode_off] >= 0xec;
		uint16_t aux = (uint16_t)(size | (dx ? 8 : 0) | (in->len << 4) | ((dx ? 0 : in->imm & 0xff) << 8));
		e_callout(e, gate, in->mnem == M_IN ? CO_IN : CO_OUT, aux, eip);
		return C_CALLOUT;
	}
	case M_INS: case M_OUTS:
		e_callout(e, gate, in->mnem == M_INS ? CO_INS : CO_OUTS, in->len, eip);
		return C_CALLOUT;
	case M_HLT:
		e_callout(e, gate, CO_HLT, in->len, eip);
		return C_CALLOUT;
	case M_INT: case M_INT3: case M_INTO: case M_INT1: {
		uint16_t k = in->mnem == M_INT ? 0 : in->mnem == M_INT3 ? 1 : in->mnem == M_INTO ? 2 : 3;
		uint16_t vec = in->mnem == M_INT ? (uint16_t)(in->imm & 0xff) : in->mnem == M_INT3 ? 3 : in->mnem == M_INTO ? 4 : 1;
		e_callout(e, gate, CO_INT, (uint16_t)(vec | in->len << 8 | k << 12), eip);
		*end = true;
		return C_CALLOUT;
	}
	case M_IRET:
		e_callout(e, gate, CO_IRET, (uint16_t)(in->len | (op16 ? 0x100 : 0)), eip);
		*end = true;
		return C_CALLOUT;
	case M_UD: case M_INVALID: case M_RSM: case M_SWAPGS:
		e_callout(e, gate, CO_UD, in->len, eip);
		*end = true;
		return C_CALLOUT;
	case M_OTHER:
		/* Adaptive: an access that kept trapping (a write to traced
		 * pages, a read past a truncated segment's limit) is done by
		 * the monitor, without the trap. */
		if (adapted) {
			e_callout(e, gate, CO_EMULATE, in->len, eip);
			return C_CALLOUT;
		}
		emit_ident(t, code, in);
		return C_IDENT;
	default:
		break;
	}
	/* Everything else that is sensitive: emulated by the monitor. Those
	 * that may change control flow or the translation mode end the TU;
	 * CO_END in the record tells the monitor there is no continuation. */
	switch (in->mnem) {
	case M_JMP: case M_CALL: case M_RET: case M_SYSENTER: case M_SYSEXIT: case M_SYSCALL:
	case M_SYSRET: case M_MOV_CR: case M_LMSW: case M_PUSHF: case M_POPF: case M_INT1:
	case M_PRIV_OTHER: case M_INVLPG:
		*end = true;
		break;
	default:
		break;
	}
	e_callout(e, gate, CO_EMULATE, (uint16_t)(in->len | (*end ? CO_END : 0)), eip);
	if (in->writes_sreg_ss)
		*next_flags = PC_NO_IRQ;
	return C_CALLOUT;
}

/* Up to 15 bytes of guest code at `lin`, across a page end if need be. */
static const uint8_t *fetch(uint32_t lin, uint8_t *buf, unsigned *avail, uint32_t *phys, uint32_t *phys_last)
{
	uint32_t a;
	const uint8_t *p = bt.env.code_ptr(bt.env.ctx, lin, &a, phys);
	*phys_last = *phys;
	if (!p)
		return NULL;
	if (a >= 15) {
		*avail = 15;
		return p;
	}
	unsigned n = 0;
	for (; n < a; n++)
		buf[n] = p[n];
	uint32_t a2, ph2;
	const uint8_t *q = bt.env.code_ptr(bt.env.ctx, lin + a, &a2, &ph2);
	if (q) {
		for (unsigned i = 0; i < a2 && n < 15; i++)
			buf[n++] = q[i];
		*phys_last = ph2;
	}
	*avail = n;
	return buf;
}

uint32_t bt_translate(uint32_t eip)
{
	/* Single-stepping guests get one instruction per unit: each one ends
	 * at an exit the monitor sees (exits do not chain in this mode). */
	unsigned maxn = bt.mode.tf || bt.mode.single ? 1 : bt.env.max_tu_insns;
	uint32_t worst = (maxn + 1) * WORST_INSN_BYTES + MAX_EXITS * STUB_BYTES + 16;
	if (!bt_room(worst, maxn + 1, MAX_EXITS))
		bt_flush_all();
	uint64_t t0 = __builtin_ia32_rdtsc();
	struct bt_fpu_save fpu;
	bt_decoder_enter(&fpu);

	struct tu t = { 0 };
	t.cidx = bt.nccf;
	t.c = &bt.ccfs[t.cidx];
	struct ccf *c = t.c;
	*c = (struct ccf){ .eip = eip, .lin = bt.mode.cs_base + eip, .cs_base = bt.mode.cs_base,
			   .cpl = bt.mode.cpl, .tf = bt.mode.tf, .fpu = bt.mode.fpu, .single = bt.mode.single,
			   .tc = bt.env.tc_base + bt.tc_used,
			   .pc_first = bt.npc, .page = { NOPAGE, NOPAGE } };
	t.e.at = c->tc;
	t.e.p = tc_ptr(c->tc);
	if (bt.prof)
		bt_prof_prologue(&t.e, &c->prof_slot);

	uint32_t cur = eip;
	uint8_t next_flags = 0;
	bool ended = false;
	uint32_t guest_bytes = 0;
	/* One instruction past the limit when the last one was sti: its
	 * interrupt shadow and the pending check belong to the next one. */
	for (unsigned n = 0; (n < maxn || ((next_flags & 0x80) && !bt.mode.tf && !bt.mode.single)) && !ended; n++) {
		uint8_t buf[16];
		unsigned avail;
		uint32_t phys, phys_last;
		const uint8_t *code = fetch(bt.mode.cs_base + cur, buf, &avail, &phys, &phys_last);
		if (!code)
			break;
		struct bt_insn in;
		bool truncated;
		bt_decode(code, avail, &in, &truncated);
		uint32_t last_byte_phys = phys;
		uint32_t lin_here = bt.mode.cs_base + cur;
		bool at_break = bt_is_break(lin_here);
		if (at_break && n > 0)
			break;    /* the breakpoint's own block starts there */
		if (((lin_here & 0xfff) + in.len) > 0x1000) {
			/* Crosses into the next linear page: whatever physical page
			 * that is (contiguous or not), it is traced too. */
			uint32_t a2, ph2;
			if (bt.env.code_ptr(bt.env.ctx, lin_here + in.len - 1, &a2, &ph2))
				last_byte_phys = ph2;
			else
				last_byte_phys = phys_last;
		}
		/* Keep a CCF on at most two pages. */
		uint32_t p0 = phys >> 12, p1 = last_byte_phys >> 12;
		if (c->page[0] == NOPAGE) {
			c->page[0] = p0;
		}
		bool fits = (p0 == c->page[0] || p0 == c->page[1] || c->page[1] == NOPAGE) &&
			    (p1 == c->page[0] || p1 == c->page[1] || c->page[1] == NOPAGE || p1 == p0);
		if (!fits && n > 0)
			break;
		if (p0 != c->page[0] && c->page[1] == NOPAGE) c->page[1] = p0;
		if (p1 != c->page[0] && c->page[1] == NOPAGE) c->page[1] = p1;

		struct pcrec *r = &bt.pcs[bt.npc];
		*r = (struct pcrec){ .tc = t.e.at, .eip = cur, .flags = (uint8_t)(next_flags & 0x7f) };
		bool do_check = next_flags & 0x80;
		next_flags = 0;
		if (at_break)
			e_callout(&t.e, bt.env.gate_callout, CO_DEBUG, 0, cur);
		enum cls k = emit_insn(&t, code, &in, cur, &ended, &next_flags);
		cur += in.len;
		guest_bytes += in.len;
		if (do_check && !ended)
			emit_irq_check(&t, cur);
		r->tc_len = (t.e.at - r->tc) & 0x1ff;
		r->flags |= (uint8_t)(k << PC_CLS_SHIFT);   /* for -profile's instruction mix */
		bt.npc++;
		c->ninsn++;
		stat_inc(&bts.insn_translated);
		stat_inc(k == C_IDENT ? &bts.insn_ident : k == C_INLINE ? &bts.insn_inline : &bts.insn_callout);
	}
	bt_decoder_leave(&fpu);
	if (c->ninsn == 0) {
		bt.npc = c->pc_first;
		return 0;
	}
	if (!ended)
		add_exit(&t, e_jmp(&t.e, 0), cur);
	/* Exit stubs, and the exits' jumps pointed at them until chained. */
	c->exit_first = bt.nexit;
	for (unsigned i = 0; i < t.nex; i++) {
		uint32_t xi = bt.nexit++;
		struct exit_rec *x = &bt.exits[xi];
		*x = (struct exit_rec){ .target_eip = t.ex[i].target, .patch = t.ex[i].patch,
					.stub = t.e.at, .owner = t.cidx, .ic_neg = t.ex[i].ic_neg,
					.ic_pos = t.ex[i].ic_pos, .ic_miss = t.ex[i].ic_miss };
		e_store_imm_gs(&t.e, MA_S_TMP, xi);
		e_jmp(&t.e, bt.env.gate_exit_shared);
		bt_patch_rel32(x->patch, x->stub);
		if (x->ic_miss) {
			bt_patch_rel32(x->ic_miss, t.e.at);
			e_store_imm_gs(&t.e, MA_S_TMP, xi);
			e_jmp(&t.e, bt.env.gate_learn_shared);
		}
	}
	c->nexits = (uint16_t)t.nex;
	c->glen = guest_bytes;
	c->tc_len = t.e.at - c->tc;
	bt.tc_used += c->tc_len;
	bt.tc_used = (bt.tc_used + 15) & ~15u;   /* next CCF 16-byte aligned */
	bt.nccf++;
	bt_hash_insert(t.cidx);
	bt_pages_add(t.cidx);
	stat_inc(&bts.tu_translated);
	if (bt.mode.cpl == 3)
		stat_inc(&bts.tu_user);
	stat_add(&bts.tc_bytes, c->tc_len);
	stat_add(&bts.guest_bytes, guest_bytes);
	uint64_t cycles = __builtin_ia32_rdtsc() - t0;
	stat_add(&bts.tu_cycles, cycles);
	if (bt.prof)
		bt_prof_record(t.cidx, cycles);
	if (bt.env.on_translate) {
		struct bt_fragment f = { .eip = eip, .cs_base = c->cs_base, .cpl = c->cpl,
					 .tc = c->tc, .tc_len = c->tc_len, .ninsn = c->ninsn, .cycles = cycles };
		bt.env.on_translate(bt.env.ctx, &f);
	}
	return c->tc;
}
