/* The emulator's data accesses: one instruction's access that the
 * hardware could not do itself (through a truncated segment, into device
 * memory, on linear page 0, a failed software limit check), performed by
 * the monitor against the guest's own segment and memory: moves, strings,
 * read-modify-writes; compares, stack and wide accesses in their own files.
 * Environment: monitor; guest registers in vm.ma. */
#include "vm.h"
#include "emulate_internal.h"

/* Decodes the read-modify-write forms: returns false if not one. */
static bool rmw_form(const struct ctx *c, enum alu_op *op, unsigned *size, uint32_t *b, bool *writes)
{
	const struct bt_insn *in = &c->in;
	uint8_t o = c->code[in->opcode_off], o2 = o == 0x0f ? c->code[in->opcode_off + 1] : 0;
	unsigned osz = in->opsize / 8;
	static const enum alu_op grp1[8] = { A_ADD, A_OR, A_ADC, A_SBB, A_AND, A_SUB, A_XOR, A_CMP };
	*writes = true;
	if (c->mod == 3)
		return false;
	if (o < 0x40 && (o & 7) <= 1) {                 /* op r/m, reg */
		*op = grp1[o >> 3];
		*size = (o & 1) ? osz : 1;
		*b = *size == 1 ? (ma_reg(c->regf & 3) >> ((c->regf & 4) ? 8 : 0)) & 0xff : ma_reg(c->regf);
	} else if (o == 0x80 || o == 0x81 || o == 0x83) {
		*op = grp1[c->regf];
		*size = o == 0x80 ? 1 : osz;
		*b = o == 0x83 ? (uint32_t)(int32_t)(int8_t)in->imm : in->imm;
	} else if ((o == 0xfe || o == 0xff) && c->regf <= 1) {
		*op = c->regf ? A_DEC : A_INC;
		*size = o == 0xfe ? 1 : osz;
		*b = 0;
	} else if ((o == 0xf6 || o == 0xf7) && (c->regf == 2 || c->regf == 3)) {
		*op = c->regf == 2 ? A_NOT : A_NEG;
		*size = o == 0xf6 ? 1 : osz;
		*b = 0;
	} else if ((o == 0xf6 || o == 0xf7) && c->regf == 0) {
		*op = A_TEST;
		*size = o == 0xf6 ? 1 : osz;
		*b = in->imm;
	} else if (o == 0x84 || o == 0x85) {
		*op = A_TEST;
		*size = o == 0x85 ? osz : 1;
		*b = *size == 1 ? (ma_reg(c->regf & 3) >> ((c->regf & 4) ? 8 : 0)) & 0xff : ma_reg(c->regf);
	} else if (o == 0x86 || o == 0x87) {
		*op = A_XCHG;
		*size = o == 0x87 ? osz : 1;
		*b = *size == 1 ? (ma_reg(c->regf & 3) >> ((c->regf & 4) ? 8 : 0)) & 0xff : ma_reg(c->regf);
	} else if (o2 == 0xab || o2 == 0xb3 || o2 == 0xbb || (o2 == 0xba && c->regf >= 5)) {
		/* bts/btr/btc: only the immediate form, or a register bit index
		 * inside the addressed word (no bit-string offset). */
		*op = (o2 == 0xab || (o2 == 0xba && c->regf == 5)) ? A_BTS :
		      (o2 == 0xb3 || (o2 == 0xba && c->regf == 6)) ? A_BTR : A_BTC;
		*size = osz;
		*b = o2 == 0xba ? in->imm : ma_reg(c->regf);
		if (o2 != 0xba && *b >= *size * 8)
			return false;
		*b &= *size * 8 - 1;
	} else {
		return false;
	}
	if (*op == A_CMP || *op == A_TEST)
		*writes = false;
	return true;
}

/* One instruction's data access that the hardware could not do itself:
 * through a shadow segment truncated below the monitor area (the guest's
 * own segment allows it), or into device memory (no host mapping there).
 * The access is performed against the guest's real segment and memory
 * (RAM or device) by the monitor: moves of 1/2/4 bytes, movzx/movsx,
 * movs/stos/lods with or without rep, read-modify-writes, compares and
 * exchanges (emulate_cmp.c), stack instructions (emulate_stack.c; at_start:
 * the fault is at the start of the instruction's translation) and wide
 * FPU/SSE accesses (emulate_wide.c).
 * Returns 1 when done (vm.eip = next instruction), 0 when the instruction
 * is not one of those (the caller decides), -1 when a guest fault was
 * delivered instead (vm.eip = handler). */
int emulate_data_access(uint32_t eip, bool at_start)
{
	struct ctx c;
	if (!emu_fetch_insn(eip, &c, NULL))
		return 0;
	return emu_data_access(&c, at_start);
}

/* The same, for an instruction already fetched and decoded. */
int emu_data_access(struct ctx *cp, bool at_start)
{
	struct ctx c = *cp;
	if (c.in.addrsize != 32)
		return 0;
	struct bt_insn *in = &c.in;
	uint8_t op = c.code[in->opcode_off];
	uint8_t op2 = op == 0x0f ? c.code[in->opcode_off + 1] : 0;
	unsigned osz = in->opsize / 8;
	int vec;
	uint32_t v = 0;

	/* String instructions: element by element, registers kept exact so a
	 * fault in the middle leaves a restartable state. */
	if ((op >= 0xa4 && op <= 0xa5) || (op >= 0xaa && op <= 0xad)) {
		unsigned size = (op & 1) ? osz : 1;
		int step = (vm.ma->eflags & FL_DF) ? -(int)size : (int)size;
		/* The source (DS:ESI) may be overridden; the destination is ES:EDI. */
		int src = (int)bt_string_source_seg(in, c.code);
		uint32_t count = in->rep ? vm.ma->ecx : 1;
		while (count) {
			if (op == 0xaa || op == 0xab) {
				v = vm.ma->eax;
			} else if (!seg_read(src, vm.ma->esi, &v, size, &vec)) {
				return emu_fault(vec, 0), -1;
			}
			if (op == 0xac || op == 0xad) {
				/* lodsb replaces AL only (reg_write's 8 bits would
				 * replace the whole register). */
				if (size == 1)
					vm.ma->eax = (vm.ma->eax & ~0xffu) | (v & 0xff);
				else
					emu_reg_write(0, size * 8, v);
			} else if (!seg_write(SEG_ES, vm.ma->edi, &v, size, &vec)) {
				return emu_fault(vec, 0), -1;
			}
			if (op != 0xaa && op != 0xab)
				vm.ma->esi += (uint32_t)step;
			if (op != 0xac && op != 0xad)
				vm.ma->edi += (uint32_t)step;
			count--;
			if (in->rep)
				vm.ma->ecx = count;
		}
		vm.eip = c.next;
		return 1;
	}
	if (op == 0xa6 || op == 0xa7 || op == 0xae || op == 0xaf)
		return emulate_string_compare(in, c.code, c.next);
	if (op2 == 0xb0 || op2 == 0xb1 || op2 == 0xc0 || op2 == 0xc1 || (op2 == 0xc7 && c.regf == 1))
		return c.mod == 3 ? 0 : emulate_exchange(in, c.code, mseg(&c), ea(&c), c.regf, c.next);
	int r = emulate_stack(in, c.code, c.next - in->len, c.next, at_start);
	if (r != 0)
		return r;
	if (in->fpu != FPU_NONE)
		return emulate_wide(in, c.code, c.next);
	if (!in->has_mem)
		return 0;

	unsigned size;
	bool read;
	if (op == 0x88 || op == 0x89 || op == 0xc6 || op == 0xc7 || op == 0xa2 || op == 0xa3) {
		read = false;
		size = (op & 1) ? osz : 1;
	} else if (op == 0x8a || op == 0x8b || op == 0xa0 || op == 0xa1) {
		read = true;
		size = (op & 1) ? osz : 1;
	} else if (op2 == 0xb6 || op2 == 0xb7 || op2 == 0xbe || op2 == 0xbf) {
		read = true;
		size = (op2 & 1) ? 2 : 1;
	} else if (op < 0x40 && (op & 7) >= 2 && (op & 7) <= 3) {
		/* op reg, r/m: the memory operand is only read (TLS reads at
		 * negative %gs offsets wrap past the truncated limit). */
		static const enum alu_op grp1[8] = { A_ADD, A_OR, A_ADC, A_SBB, A_AND, A_SUB, A_XOR, A_CMP };
		enum alu_op aop = grp1[op >> 3];
		unsigned rsize = (op & 1) ? osz : 1;
		if (!seg_read(mseg(&c), ea(&c), &v, rsize, &vec))
			return emu_fault(vec, 0), -1;
		unsigned sh = rsize == 1 && (c.regf & 4) ? 8 : 0;
		unsigned r = rsize == 1 ? c.regf & 3 : c.regf;
		uint32_t a = ma_reg(r) >> sh;
		uint32_t res = emu_alu(aop, rsize, a, v, &vm.ma->eflags);
		if (aop != A_CMP) {
			if (rsize == 1)
				ma_set_reg(r, (ma_reg(r) & ~(0xffu << sh)) | ((res & 0xff) << sh));
			else
				emu_reg_write(r, rsize * 8, res);
		}
		vm.eip = c.next;
		return 1;
	} else {
		/* Read-modify-write: arithmetic on a register copy. */
		enum alu_op aop;
		unsigned rsize;
		uint32_t b;
		bool writes;
		if (!rmw_form(&c, &aop, &rsize, &b, &writes))
			return 0;
		int rs = mseg(&c);
		uint32_t roff = ea(&c);
		if (!seg_read(rs, roff, &v, rsize, &vec))
			return emu_fault(vec, 0), -1;
		uint32_t old = v;
		uint32_t r = emu_alu(aop, rsize, v, b, &vm.ma->eflags);
		if (writes && !seg_write(rs, roff, &r, rsize, &vec))
			return emu_fault(vec, 0), -1;
		if (aop == A_XCHG) {          /* the register gets the old memory value */
			if (rsize == 1) {
				unsigned sh = (c.regf & 4) ? 8 : 0;
				ma_set_reg(c.regf & 3, (ma_reg(c.regf & 3) & ~(0xffu << sh)) | (old << sh));
			} else {
				emu_reg_write(c.regf, rsize * 8, old);
			}
		}
		vm.eip = c.next;
		return 1;
	}
	int sreg = mseg(&c);
	uint32_t off = (op >= 0xa0 && op <= 0xa3) ? (uint32_t)in->mem_disp : ea(&c);
	if (read) {
		if (!seg_read(sreg, off, &v, size, &vec))
			return emu_fault(vec, 0), -1;
		if (op2) {
			if (op2 == 0xbe) v = (uint32_t)(int32_t)(int8_t)v;
			if (op2 == 0xbf) v = (uint32_t)(int32_t)(int16_t)v;
			emu_reg_write(c.regf, osz * 8, v);
		} else if (size == 1) {
			unsigned r = (op == 0xa0) ? 0 : c.regf;     /* al, cl, dl, bl, ah, ch, dh, bh */
			unsigned shift = (r & 4) ? 8 : 0;
			ma_set_reg(r & 3, (ma_reg(r & 3) & ~(0xffu << shift)) | (v << shift));
		} else {
			emu_reg_write((op == 0xa1) ? 0 : c.regf, size * 8, v);
		}
	} else {
		if (op == 0xc6 || op == 0xc7) {
			v = in->imm;
		} else {
			unsigned r = (op == 0xa2 || op == 0xa3) ? 0 : c.regf;
			v = size == 1 ? (ma_reg(r & 3) >> ((r & 4) ? 8 : 0)) : ma_reg(r);
		}
		if (!seg_write(sreg, off, &v, size, &vec))
			return emu_fault(vec, 0), -1;
	}
	vm.eip = c.next;
	return 1;
}

/* Whether [seg:off, +16) reaches the monitor's top 4 MiB, or wraps into it,
 * while the guest's segment allows its first byte. */
static bool reaches_monitor(int seg, uint32_t off)
{
	uint32_t lin = vm.seg[seg].base + off;
	return seg_allows(seg, off, 1, false) && (lin >= MON_BASE - 16u || lin + 16u < lin);
}

bool emulate_unsupported_in_monitor_range(uint32_t eip, bool ss_fault)
{
	struct ctx c;
	if (!emu_fetch_insn(eip, &c, NULL))
		return false;
	bool mem = c.in.has_mem && c.in.addrsize == 32 && reaches_monitor(mseg(&c), ea(&c));
	bool stack = ss_fault && reaches_monitor(SEG_SS, vm.ma->esp - 16u);
	if (!mem && !stack)
		return false;
	vmm_unsupported_insn(UNSUP_MONITOR_RANGE, emulate_insn_name(eip), eip);
	return true;
}

