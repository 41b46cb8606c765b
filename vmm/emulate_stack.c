/* The data-access emulator's stack instructions: push/pop (register,
 * immediate, memory), near call/ret, pushf/popf, enter/leave and pusha/popa
 * performed against the guest's real SS when the shadow SS cannot reach
 * (a stack in or wrapping into the monitor's top 4 MiB, or on linear page
 * 0, which the host cannot map). Faults are the guest's: #SS only where the
 * guest's own SS limit says so, #PF from its page tables.
 * Environment: monitor, host stack; guest registers in vm.ma. */
#include "vm.h"

static int raise(int vec)
{
	deliver_exception((unsigned)vec, vec == EXC_GP || vec == EXC_SS, 0);
	return -1;
}

/* The stack pointer as SS's B bit sizes it. */
static uint32_t sp_mask(void) { return vm.seg[SEG_SS].db ? 0xffffffffu : 0xffffu; }
static uint32_t sp_get(void) { return vm.ma->esp & sp_mask(); }
static void sp_set(uint32_t v) { vm.ma->esp = (vm.ma->esp & ~sp_mask()) | (v & sp_mask()); }

/* Reads or writes `bytes` at SS:sp, a fault delivered on failure. */
static bool ss_write(uint32_t sp, const void *v, unsigned bytes)
{
	int vec;
	if (!seg_write(SEG_SS, sp & sp_mask(), v, bytes, &vec))
		return raise(vec), false;
	return true;
}
static bool ss_read(uint32_t sp, void *v, unsigned bytes)
{
	int vec;
	if (!seg_read(SEG_SS, sp & sp_mask(), v, bytes, &vec))
		return raise(vec), false;
	return true;
}

static bool push(unsigned bytes, uint32_t v)
{
	uint32_t sp = sp_get() - bytes;
	if (!ss_write(sp, &v, bytes))
		return false;
	sp_set(sp);
	return true;
}

/* A 16-bit operand replaces only the low half of a register. */
static void reg_put(unsigned r, unsigned bytes, uint32_t v)
{
	ma_set_reg((int)r, bytes == 2 ? (ma_reg((int)r) & 0xffff0000u) | (v & 0xffff) : v);
}

/* A near branch outside CS's limit is #GP(0) before anything is pushed
 * or popped, as the CPU checks it. */
static bool cs_allows(uint32_t target) { return target <= vm.seg[SEG_CS].limit; }

/* pushf/popf as the callout path performs them (IOPL and IF rules). */
static int via_emulate_insn(uint32_t eip, uint32_t next)
{
	int r = emulate_insn(eip, 0);
	if (r == 0)
		vm.eip = next;
	return r == -2 ? (vm.stopped ? 1 : -1) : r == -1 ? -1 : 1;
}

static int enter(const struct bt_insn *in, const uint8_t *code, unsigned bytes, uint32_t next)
{
	uint32_t alloc = code[in->opcode_off + 1] | (uint32_t)code[in->opcode_off + 2] << 8;
	unsigned level = code[in->opcode_off + 3] & 31;
	uint32_t sp = sp_get(), bp = ma_reg(5), v;
	sp -= bytes;
	if (!ss_write(sp, &bp, bytes))
		return -1;
	uint32_t frame = sp;
	for (unsigned i = 1; i < level; i++) {
		bp -= bytes;
		if (!ss_read(bp & (vm.seg[SEG_SS].db ? 0xffffffffu : 0xffffu), &v, bytes))
			return -1;
		sp -= bytes;
		if (!ss_write(sp, &v, bytes))
			return -1;
	}
	if (level) {
		sp -= bytes;
		if (!ss_write(sp, &frame, bytes))
			return -1;
	}
	/* The CPU checks the whole frame, the allocation included. */
	int vec;
	uint8_t probe;
	if (alloc && !seg_read(SEG_SS, (sp - alloc) & sp_mask(), &probe, 1, &vec))
		return raise(vec);
	reg_put(5, bytes, frame);
	sp_set(sp - alloc);
	vm.eip = next;
	return 1;
}

int emulate_stack(const struct bt_insn *in, const uint8_t *code, uint32_t eip, uint32_t next, bool at_start)
{
	uint8_t op = code[in->opcode_off];
	uint8_t modrm = in->modrm_off != 0xff ? code[in->modrm_off] : 0;
	unsigned regf = (modrm >> 3) & 7, bytes = in->opsize / 8;
	bool mem = in->modrm_off != 0xff && (modrm >> 6) != 3;
	uint32_t v = 0, sp;
	int vec;

	if (op == 0x0f || in->nprefix > 4)
		return 0;
	if (mem && in->addrsize != 32)
		return 0;
	switch (op) {
	case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
		if (!push(bytes, ma_reg(op & 7)))      /* push %esp: the value before */
			return -1;
		break;
	case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
		if (!ss_read(sp_get(), &v, bytes))
			return -1;
		sp_set(sp_get() + bytes);
		reg_put(op & 7, bytes, v);                  /* pop %esp: the value read wins */
		break;
	case 0x68: case 0x6a:
		v = op == 0x6a ? (uint32_t)(int32_t)(int8_t)in->imm : in->imm;
		if (!push(bytes, v))
			return -1;
		break;
	case 0x60: {                                            /* pusha */
		uint32_t regs[8], sp0 = sp_get();
		for (unsigned i = 0; i < 8; i++)
			regs[7 - i] = i == 4 ? sp0 : ma_reg((int)i);
		uint8_t buf[32];
		for (unsigned i = 0; i < 8; i++)
			m_memcpy(buf + i * bytes, &regs[i], bytes);
		if (!ss_write(sp0 - 8 * bytes, buf, 8 * bytes))
			return -1;
		sp_set(sp0 - 8 * bytes);
		break;
	}
	case 0x61: {                                            /* popa: the saved ESP is skipped */
		uint8_t buf[32];
		if (!ss_read(sp_get(), buf, 8 * bytes))
			return -1;
		for (unsigned i = 0; i < 8; i++) {
			uint32_t r = 0;
			m_memcpy(&r, buf + i * bytes, bytes);
			if (7 - i != 4)
				reg_put(7 - i, bytes, r);
		}
		sp_set(sp_get() + 8 * bytes);
		break;
	}
	case 0x8f:                                              /* pop r/m */
		if (regf != 0)
			return 0;
		if (!ss_read(sp_get(), &v, bytes))
			return -1;
		sp = vm.ma->esp;
		sp_set(sp_get() + bytes);                   /* the address uses the new ESP */
		if (!mem) {
			reg_put(modrm & 7, bytes, v);
		} else if (!seg_write(emu_mseg(in), emu_ea(in), &v, bytes, &vec)) {
			vm.ma->esp = sp;
			return raise(vec);
		}
		break;
	case 0xe8:                                              /* call rel */
		if (bytes != 4)
			return 0;
		if (!cs_allows(next + (uint32_t)in->rel))
			return raise(EXC_GP);
		if (!push(4, next))
			return -1;
		vm.eip = next + (uint32_t)in->rel;
		return 1;
	case 0xff:
		if (regf != 2 && regf != 6)
			return 0;
		if (regf == 2 && bytes != 4)
			return 0;
		if (!mem)
			v = ma_reg(modrm & 7);
		else if (!seg_read(emu_mseg(in), emu_ea(in), &v, bytes, &vec))
			return raise(vec);
		if (regf == 6) {                            /* push r/m: the address before ESP moves */
			if (!push(bytes, v))
				return -1;
			break;
		}
		if (!cs_allows(v))
			return raise(EXC_GP);
		if (!push(4, next))
			return -1;
		vm.eip = v;
		return 1;
	case 0xc2: case 0xc3:                                   /* ret, ret imm16 */
		if (bytes != 4)
			return 0;
		if (!ss_read(sp_get(), &v, 4))
			return -1;
		if (!cs_allows(v))
			return raise(EXC_GP);
		sp_set(sp_get() + 4 + (op == 0xc2 ? (in->imm & 0xffff) : 0));
		vm.eip = v;
		return 1;
	case 0x9c: case 0x9d:
		/* Translated inline, pushf/popf are a sequence: past its first
		 * access the registers and ESP are the sequence's, not the
		 * guest's (a traced page written by its last store). */
		if (!at_start || !vm.seg[SEG_SS].db)
			return 0;
		return via_emulate_insn(eip, next);
	case 0xc8:
		return enter(in, code, bytes, next);
	case 0xc9: {                                            /* leave */
		uint32_t bp = ma_reg(5) & sp_mask();
		if (!ss_read(bp, &v, bytes))
			return -1;
		sp_set(bp + bytes);
		reg_put(5, bytes, v);
		break;
	}
	default:
		return 0;
	}
	vm.eip = next;
	return 1;
}
