/* bt_decode over Zydis 4: decodes one instruction in 32-bit legacy mode and
 * reduces Zydis' full description to the few facts the translator and the
 * monitor's emulator use (struct bt_insn). */
#include "decode.h"
#include <Zydis/Zydis.h>

static ZydisDecoder decoder;
uint64_t bt_host_fsbase;
static bool ready;

void bt_decoder_init(void)
{
	if (ready)
		return;
	ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
	ready = true;
}

static uint8_t gpr_num(ZydisRegister r)
{
	switch (r) {
	case ZYDIS_REGISTER_EAX: case ZYDIS_REGISTER_AX: case ZYDIS_REGISTER_AL: return 0;
	case ZYDIS_REGISTER_ECX: case ZYDIS_REGISTER_CX: case ZYDIS_REGISTER_CL: return 1;
	case ZYDIS_REGISTER_EDX: case ZYDIS_REGISTER_DX: case ZYDIS_REGISTER_DL: return 2;
	case ZYDIS_REGISTER_EBX: case ZYDIS_REGISTER_BX: case ZYDIS_REGISTER_BL: return 3;
	case ZYDIS_REGISTER_ESP: case ZYDIS_REGISTER_SP: case ZYDIS_REGISTER_AH: return 4;
	case ZYDIS_REGISTER_EBP: case ZYDIS_REGISTER_BP: case ZYDIS_REGISTER_CH: return 5;
	case ZYDIS_REGISTER_ESI: case ZYDIS_REGISTER_SI: case ZYDIS_REGISTER_DH: return 6;
	case ZYDIS_REGISTER_EDI: case ZYDIS_REGISTER_DI: case ZYDIS_REGISTER_BH: return 7;
	default: return 0xff;
	}
}

static uint8_t seg_num(ZydisRegister r)
{
	switch (r) {
	case ZYDIS_REGISTER_ES: return SEG_ES;
	case ZYDIS_REGISTER_CS: return SEG_CS;
	case ZYDIS_REGISTER_SS: return SEG_SS;
	case ZYDIS_REGISTER_DS: return SEG_DS;
	case ZYDIS_REGISTER_FS: return SEG_FS;
	case ZYDIS_REGISTER_GS: return SEG_GS;
	default: return SEG_NONE;
	}
}

static uint8_t map_mnemonic(const ZydisDecodedInstruction *in)
{
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_JMP: return M_JMP;
	case ZYDIS_MNEMONIC_JB: case ZYDIS_MNEMONIC_JBE: case ZYDIS_MNEMONIC_JL:
	case ZYDIS_MNEMONIC_JLE: case ZYDIS_MNEMONIC_JNB: case ZYDIS_MNEMONIC_JNBE:
	case ZYDIS_MNEMONIC_JNL: case ZYDIS_MNEMONIC_JNLE: case ZYDIS_MNEMONIC_JNO:
	case ZYDIS_MNEMONIC_JNP: case ZYDIS_MNEMONIC_JNS: case ZYDIS_MNEMONIC_JNZ:
	case ZYDIS_MNEMONIC_JO: case ZYDIS_MNEMONIC_JP: case ZYDIS_MNEMONIC_JS:
	case ZYDIS_MNEMONIC_JZ: return M_JCC;
	case ZYDIS_MNEMONIC_JCXZ: case ZYDIS_MNEMONIC_JECXZ: return M_JECXZ;
	case ZYDIS_MNEMONIC_LOOP: return M_LOOP;
	case ZYDIS_MNEMONIC_LOOPE: return M_LOOPE;
	case ZYDIS_MNEMONIC_LOOPNE: return M_LOOPNE;
	case ZYDIS_MNEMONIC_CALL: return M_CALL;
	case ZYDIS_MNEMONIC_RET: return M_RET;
	case ZYDIS_MNEMONIC_CLI: return M_CLI;
	case ZYDIS_MNEMONIC_STI: return M_STI;
	case ZYDIS_MNEMONIC_PUSHF: case ZYDIS_MNEMONIC_PUSHFD: return M_PUSHF;
	case ZYDIS_MNEMONIC_POPF: case ZYDIS_MNEMONIC_POPFD: return M_POPF;
	case ZYDIS_MNEMONIC_IRET: case ZYDIS_MNEMONIC_IRETD: return M_IRET;
	case ZYDIS_MNEMONIC_INT: return M_INT;
	case ZYDIS_MNEMONIC_INT1: return M_INT1;
	case ZYDIS_MNEMONIC_INT3: return M_INT3;
	case ZYDIS_MNEMONIC_INTO: return M_INTO;
	case ZYDIS_MNEMONIC_HLT: return M_HLT;
	case ZYDIS_MNEMONIC_IN: return M_IN;
	case ZYDIS_MNEMONIC_OUT: return M_OUT;
	case ZYDIS_MNEMONIC_INSB: case ZYDIS_MNEMONIC_INSW: case ZYDIS_MNEMONIC_INSD: return M_INS;
	case ZYDIS_MNEMONIC_OUTSB: case ZYDIS_MNEMONIC_OUTSW: case ZYDIS_MNEMONIC_OUTSD: return M_OUTS;
	case ZYDIS_MNEMONIC_LGDT: return M_LGDT;
	case ZYDIS_MNEMONIC_LIDT: return M_LIDT;
	case ZYDIS_MNEMONIC_LLDT: return M_LLDT;
	case ZYDIS_MNEMONIC_LTR: return M_LTR;
	case ZYDIS_MNEMONIC_SGDT: return M_SGDT;
	case ZYDIS_MNEMONIC_SIDT: return M_SIDT;
	case ZYDIS_MNEMONIC_SLDT: return M_SLDT;
	case ZYDIS_MNEMONIC_STR: return M_STR;
	case ZYDIS_MNEMONIC_SMSW: return M_SMSW;
	case ZYDIS_MNEMONIC_LMSW: return M_LMSW;
	case ZYDIS_MNEMONIC_CLTS: return M_CLTS;
	case ZYDIS_MNEMONIC_INVD: return M_INVD;
	case ZYDIS_MNEMONIC_WBINVD: return M_WBINVD;
	case ZYDIS_MNEMONIC_INVLPG: return M_INVLPG;
	case ZYDIS_MNEMONIC_RDMSR: return M_RDMSR;
	case ZYDIS_MNEMONIC_WRMSR: return M_WRMSR;
	case ZYDIS_MNEMONIC_CPUID: return M_CPUID;
	case ZYDIS_MNEMONIC_RDTSC: return M_RDTSC;
	case ZYDIS_MNEMONIC_RDTSCP: return M_RDTSCP;
	case ZYDIS_MNEMONIC_RDPMC: return M_RDPMC;
	case ZYDIS_MNEMONIC_LAR: return M_LAR;
	case ZYDIS_MNEMONIC_LSL: return M_LSL;
	case ZYDIS_MNEMONIC_VERR: return M_VERR;
	case ZYDIS_MNEMONIC_VERW: return M_VERW;
	case ZYDIS_MNEMONIC_ARPL: return M_ARPL;
	case ZYDIS_MNEMONIC_SYSENTER: return M_SYSENTER;
	case ZYDIS_MNEMONIC_SYSEXIT: return M_SYSEXIT;
	case ZYDIS_MNEMONIC_SYSCALL: return M_SYSCALL;
	case ZYDIS_MNEMONIC_SYSRET: return M_SYSRET;
	case ZYDIS_MNEMONIC_LDS: return M_LDS;
	case ZYDIS_MNEMONIC_LES: return M_LES;
	case ZYDIS_MNEMONIC_LFS: return M_LFS;
	case ZYDIS_MNEMONIC_LGS: return M_LGS;
	case ZYDIS_MNEMONIC_LSS: return M_LSS;
	case ZYDIS_MNEMONIC_UD0: case ZYDIS_MNEMONIC_UD1: case ZYDIS_MNEMONIC_UD2: return M_UD;
	case ZYDIS_MNEMONIC_BOUND: return M_BOUND;
	case ZYDIS_MNEMONIC_RSM: return M_RSM;
	case ZYDIS_MNEMONIC_XGETBV: return M_XGETBV;
	case ZYDIS_MNEMONIC_SWAPGS: return M_SWAPGS;
	case ZYDIS_MNEMONIC_MONITOR: return M_MONITOR;
	case ZYDIS_MNEMONIC_MWAIT: return M_MWAIT;
	default: break;
	}
	if (in->attributes & ZYDIS_ATTRIB_IS_PRIVILEGED)
		return M_PRIV_OTHER;
	return M_OTHER;
}

/* What the virtual CPU implements (vmm/cpuid.c: qemu32 less PAE, APIC and
 * SEP, i.e. the Pentium Pro's instructions, MMX, FXSR, SSE, SSE2, SSE3):
 * anything of another ISA set is #UD there, as under QEMU's qemu32, and
 * must never reach the host CPU, which has far more (AVX, RDRAND, VMX...). */
static bool isa_on_virtual_cpu(const ZydisDecodedInstruction *in)
{
	switch (in->meta.isa_set) {
	case ZYDIS_ISA_SET_I86: case ZYDIS_ISA_SET_I186: case ZYDIS_ISA_SET_I286PROTECTED:
	case ZYDIS_ISA_SET_I286REAL: case ZYDIS_ISA_SET_I386: case ZYDIS_ISA_SET_I486:
	case ZYDIS_ISA_SET_I486REAL: case ZYDIS_ISA_SET_PENTIUMREAL: case ZYDIS_ISA_SET_PENTIUMMMX:
	case ZYDIS_ISA_SET_PPRO: case ZYDIS_ISA_SET_CMOV: case ZYDIS_ISA_SET_FCMOV:
	case ZYDIS_ISA_SET_X87: case ZYDIS_ISA_SET_LAHF: case ZYDIS_ISA_SET_RDPMC:
	case ZYDIS_ISA_SET_FXSAVE: case ZYDIS_ISA_SET_SSE: case ZYDIS_ISA_SET_SSEMXCSR:
	case ZYDIS_ISA_SET_SSE_PREFETCH: case ZYDIS_ISA_SET_SSE2: case ZYDIS_ISA_SET_SSE2MMX:
	case ZYDIS_ISA_SET_SSE3: case ZYDIS_ISA_SET_SSE3X87: case ZYDIS_ISA_SET_PAUSE:
	/* Hint space: a NOP on every CPU without the feature (endbr32 too). */
	case ZYDIS_ISA_SET_FAT_NOP: case ZYDIS_ISA_SET_PREFETCH_NOP: case ZYDIS_ISA_SET_CET:
		return true;
	default:
		/* syscall/sysret (set AMD) keep their own handling: #UD while
		 * EFER.SCE is clear, which it always is here. */
		return in->mnemonic == ZYDIS_MNEMONIC_SYSCALL || in->mnemonic == ZYDIS_MNEMONIC_SYSRET;
	}
}

bool bt_decode(const uint8_t *code, unsigned avail, struct bt_insn *o, bool *truncated)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	*o = (struct bt_insn){ .len = 1, .mnem = M_INVALID, .modrm_off = 0xff, .reg = 0xff,
			       .mem_seg = SEG_NONE, .seg_prefix_off = 0xff, .drop_prefix_off = 0xff,
			       .mem_base = 0xff, .mem_index = 0xff };
	if (truncated)
		*truncated = false;
	ZyanStatus st = ZydisDecoderDecodeFull(&decoder, code, avail, &in, ops);
	if (!ZYAN_SUCCESS(st)) {
		if (truncated && st == ZYDIS_STATUS_NO_MORE_DATA)
			*truncated = true;
		return false;
	}
	o->len = in.length;
	o->mnem = map_mnemonic(&in);
	o->zmnem = (uint16_t)in.mnemonic;
	o->opsize = in.operand_width == 16 ? 16 : 32;
	o->addrsize = in.address_width == 16 ? 16 : 32;
	o->nprefix = in.raw.prefix_count;
	o->opcode_off = in.raw.prefix_count;
	if (in.attributes & ZYDIS_ATTRIB_HAS_MODRM)
		o->modrm_off = in.raw.modrm.offset;
	o->far = in.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR;
	if (in.attributes & ZYDIS_ATTRIB_HAS_REP || in.attributes & ZYDIS_ATTRIB_HAS_REPE)
		o->rep = 1;
	if (in.attributes & ZYDIS_ATTRIB_HAS_REPNE)
		o->rep = 2;
	for (unsigned i = 0; i < in.raw.prefix_count; i++) {
		uint8_t b = in.raw.prefixes[i].value;
		if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65)
			o->seg_prefix_off = (uint8_t)i;
	}
	if (o->mnem == M_JCC)
		o->cc = (uint8_t)(in.opcode & 0x0f);
	switch (in.meta.isa_ext) {
	case ZYDIS_ISA_EXT_X87: o->fpu = FPU_X87; break;
	case ZYDIS_ISA_EXT_MMX: case ZYDIS_ISA_EXT_AMD3DNOW: o->fpu = FPU_MMX; break;
	case ZYDIS_ISA_EXT_SSE: case ZYDIS_ISA_EXT_SSE2: case ZYDIS_ISA_EXT_SSE3: case ZYDIS_ISA_EXT_SSE4:
	case ZYDIS_ISA_EXT_SSE4A: case ZYDIS_ISA_EXT_SSSE3: case ZYDIS_ISA_EXT_AVX: case ZYDIS_ISA_EXT_AVX2:
	case ZYDIS_ISA_EXT_AVXAES: case ZYDIS_ISA_EXT_AVX512EVEX: case ZYDIS_ISA_EXT_AVX512VEX:
		o->fpu = FPU_SSE;
		break;
	default: break;
	}
	switch (in.mnemonic) {
	/* Cache and ordering hints filed under SSE never fault on FPU state. */
	case ZYDIS_MNEMONIC_PREFETCHNTA: case ZYDIS_MNEMONIC_PREFETCHT0: case ZYDIS_MNEMONIC_PREFETCHT1:
	case ZYDIS_MNEMONIC_PREFETCHT2: case ZYDIS_MNEMONIC_SFENCE: case ZYDIS_MNEMONIC_LFENCE:
	case ZYDIS_MNEMONIC_MFENCE: case ZYDIS_MNEMONIC_CLFLUSH: case ZYDIS_MNEMONIC_MOVNTI:
	case ZYDIS_MNEMONIC_PAUSE:
		o->fpu = FPU_NONE;
		break;
	case ZYDIS_MNEMONIC_FXSAVE: case ZYDIS_MNEMONIC_FXRSTOR:
		o->fpu = FPU_X87;
		break;
	case ZYDIS_MNEMONIC_FWAIT:
		o->fpu = FPU_WAIT;
		break;
	default: break;
	}
	/* lzcnt and tzcnt are bsr and bsf with an ignored rep prefix on a CPU
	 * without them: the copy drops the prefix so the host computes bsr. */
	if (in.mnemonic == ZYDIS_MNEMONIC_LZCNT || in.mnemonic == ZYDIS_MNEMONIC_TZCNT) {
		for (unsigned i = 0; i < in.raw.prefix_count; i++)
			if (in.raw.prefixes[i].value == 0xf3)
				o->drop_prefix_off = (uint8_t)i;
		o->rep = 0;
	} else if (!isa_on_virtual_cpu(&in)) {
		o->mnem = M_UD;
		o->isa_not_reported = true;
		o->fpu = FPU_NONE;     /* #UD before any #NM: qemu32 has no such opcode */
		return true;
	}

	for (unsigned i = 0; i < in.operand_count; i++) {
		const ZydisDecodedOperand *op = &ops[i];
		if (op->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN && op->type != ZYDIS_OPERAND_TYPE_MEMORY)
			continue;
		switch (op->type) {
		case ZYDIS_OPERAND_TYPE_MEMORY:
			if (op->mem.type == ZYDIS_MEMOP_TYPE_AGEN) /* lea: no access */
				break;
			/* The stack accesses of push/pop/call are implicit SS: not a
			 * segment the instruction can override, so not recorded. */
			if (op->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN && op->mem.segment == ZYDIS_REGISTER_SS)
				break;
			if (op->visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT) {
				o->has_mem = true;
				if (op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE)
					o->mem_is_dst = true;
				o->mem_base = gpr_num(op->mem.base);
				o->mem_index = gpr_num(op->mem.index);
				o->mem_scale = op->mem.scale;
				o->mem_disp = (int32_t)op->mem.disp.value;
				o->mem_size = (uint16_t)(op->size / 8);
			}
			{
				uint8_t s = seg_num(op->mem.segment);
				/* Record the segment that needs care: CS or GS win. */
				if (o->mem_seg == SEG_NONE || s == SEG_CS || s == SEG_GS)
					o->mem_seg = s;
			}
			if (op->visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT &&
			    (o->mnem == M_JMP || o->mnem == M_CALL))
				o->target = T_MEM;
			break;
		case ZYDIS_OPERAND_TYPE_REGISTER: {
			ZydisRegisterClass cls = ZydisRegisterGetClass(op->reg.value);
			/* push/pop %es & co. encode the register in the opcode: implicit, not explicit. */
			if (cls == ZYDIS_REGCLASS_SEGMENT) {
				o->sreg = seg_num(op->reg.value);
				bool w = op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE;
				if (in.mnemonic == ZYDIS_MNEMONIC_MOV)
					o->mnem = w ? M_MOV_SREG_LOAD : M_MOV_SREG_STORE;
				else if (in.mnemonic == ZYDIS_MNEMONIC_PUSH)
					o->mnem = M_PUSH_SREG;
				else if (in.mnemonic == ZYDIS_MNEMONIC_POP)
					o->mnem = M_POP_SREG;
				if (w && o->sreg == SEG_SS)
					o->writes_sreg_ss = true;
			} else if (cls == ZYDIS_REGCLASS_CONTROL || cls == ZYDIS_REGCLASS_DEBUG) {
				o->crn = (uint8_t)(op->reg.value - (cls == ZYDIS_REGCLASS_CONTROL ? ZYDIS_REGISTER_CR0 : ZYDIS_REGISTER_DR0));
				o->mnem = cls == ZYDIS_REGCLASS_CONTROL ? M_MOV_CR : M_MOV_DR;
				o->mem_is_dst = op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE; /* crN is written */
			} else if (op->visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT && gpr_num(op->reg.value) != 0xff &&
				   (cls == ZYDIS_REGCLASS_GPR32 || cls == ZYDIS_REGCLASS_GPR16 || cls == ZYDIS_REGCLASS_GPR8)) {
				if (o->reg == 0xff)
					o->reg = gpr_num(op->reg.value);
				if (o->mnem == M_JMP || o->mnem == M_CALL)
					o->target = T_REG;
			}
			break;
		}
		case ZYDIS_OPERAND_TYPE_IMMEDIATE:
			if (op->imm.is_relative) {
				o->target = T_REL;
				o->rel = (int32_t)op->imm.value.s;
			} else if (op->visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT) {
				o->imm = (uint32_t)op->imm.value.u;
			}
			break;
		case ZYDIS_OPERAND_TYPE_POINTER:
			o->target = T_PTR;
			o->imm = op->ptr.offset;
			o->imm_sel = op->ptr.segment;
			break;
		default:
			break;
		}
	}
	/* mov crN/drN: the GPR operand is the only explicit register besides crN. */
	return true;
}

const char *bt_mnemonic_name(const struct bt_insn *in)
{
	const char *n = ZydisMnemonicGetString((ZydisMnemonic)in->zmnem);
	return n ? n : "?";
}
