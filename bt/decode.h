/* The translator's decoder interface: one x86-32 instruction in, a compact
 * summary out. Zydis 4 stays behind this header so another decoder (e.g. a
 * freestanding one for the driver world) can replace it. */
#ifndef BT_DECODE_H
#define BT_DECODE_H
#include <stdint.h>
#include <stdbool.h>

/* The mnemonics the translator and the monitor's emulator care about;
 * everything else is M_OTHER (copied as is when nothing else forbids it). */
enum bt_mnem {
	M_OTHER = 0, M_INVALID,
	M_JMP, M_JCC, M_CALL, M_RET, M_LOOP, M_LOOPE, M_LOOPNE, M_JECXZ,
	M_CLI, M_STI, M_PUSHF, M_POPF, M_IRET, M_INT, M_INT1, M_INT3, M_INTO, M_HLT,
	M_IN, M_OUT, M_INS, M_OUTS,
	M_LGDT, M_LIDT, M_LLDT, M_LTR, M_SGDT, M_SIDT, M_SLDT, M_STR, M_SMSW, M_LMSW,
	M_MOV_CR, M_MOV_DR, M_CLTS, M_INVD, M_WBINVD, M_INVLPG, M_RDMSR, M_WRMSR,
	M_CPUID, M_RDTSC, M_RDTSCP, M_RDPMC, M_LAR, M_LSL, M_VERR, M_VERW, M_ARPL,
	M_SYSENTER, M_SYSEXIT, M_SYSCALL, M_SYSRET, M_LDS, M_LES, M_LFS, M_LGS, M_LSS,
	M_UD, M_BOUND, M_RSM, M_MOV_SREG_LOAD, M_MOV_SREG_STORE, M_PUSH_SREG, M_POP_SREG,
	M_XGETBV, M_SWAPGS, M_MONITOR, M_MWAIT, M_PRIV_OTHER,
	M_COUNT
};

/* Floating-point and SIMD instructions, for #NM/#UD by CR0.TS/EM/MP and
 * CR4.OSFXSR. */
#define FPU_NONE 0
#define FPU_X87  1     /* x87, fxsave/fxrstor */
#define FPU_MMX  2
#define FPU_SSE  3     /* SSE..SSE4, AVX */
#define FPU_WAIT 4     /* wait/fwait: #NM only with TS and MP */

enum bt_seg { SEG_ES = 0, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_NONE = 7 };

/* Where a branch goes. */
enum bt_target { T_NONE = 0, T_REL, T_REG, T_MEM, T_PTR };

struct bt_insn {
	uint8_t len;
	uint8_t mnem;          /* enum bt_mnem */
	uint8_t opsize;        /* 16 or 32 */
	uint8_t addrsize;      /* 16 or 32 */
	uint8_t opcode_off;    /* first opcode byte, after the prefixes */
	uint8_t modrm_off;     /* 0xff: none */
	uint8_t nprefix;
	uint8_t cc;            /* M_JCC: condition code 0..15 (the low nibble of 0x7x) */
	uint8_t target;        /* enum bt_target */
	uint8_t far;           /* far branch/return */
	uint8_t sreg;          /* segment register operand of sreg moves (enum bt_seg) */
	uint8_t reg;           /* register operand number 0..7 (mov from sreg / mov crN gpr), 0xff none */
	uint8_t crn;           /* control/debug register number */
	uint8_t mem_seg;       /* segment of the memory operand(s) after overrides, SEG_NONE if none */
	uint8_t seg_prefix_off;/* offset of the (last) segment-override prefix, 0xff none */
	uint8_t rep;           /* 1 rep/repe, 2 repne */
	uint8_t drop_prefix_off;/* a prefix the virtual CPU ignores and the host would not (lzcnt's F3), 0xff none */
	bool has_mem;          /* explicit memory operand */
	bool mem_is_dst;       /* explicit memory operand is written */
	bool writes_sreg_ss;   /* mov ss / pop ss: opens an interrupt shadow */
	bool isa_not_reported; /* M_UD for an instruction of a feature the virtual CPU lacks (the host may have it) */
	uint8_t fpu;           /* FPU_* below: what CR0.TS/EM and CR4.OSFXSR say about it */
	int32_t rel;           /* T_REL: displacement from the next instruction */
	uint32_t imm;          /* int n vector, in/out port, ret imm16, far ptr offset */
	uint16_t imm_sel;      /* T_PTR far selector */
	/* memory operand for the emulator */
	uint8_t mem_base, mem_index, mem_scale; /* registers 0..7, 0xff none */
	int32_t mem_disp;
	uint16_t mem_size;      /* bytes the explicit memory operand covers (has_mem) */
	uint16_t zmnem;         /* the decoder's own mnemonic, for messages */
};

void bt_decoder_init(void);

/* The decoder library may use SSE (through libc): the guest owns those
 * registers, so callers bracket a run of decodes with these. */
/* It is also compiled with the stack protector, which reads %fs:0x28: the
 * host's FS base (bt_host_fsbase, 0 when already current) goes in too. */
extern uint64_t bt_host_fsbase;
struct bt_fpu_save { uint8_t area[512] __attribute__((aligned(16))); uint64_t fsbase; };
static inline void bt_decoder_enter(struct bt_fpu_save *s)
{
	__asm__ volatile("fxsave64 %0" : "=m"(s->area));
	if (bt_host_fsbase) {
		__asm__ volatile("rdfsbase %0" : "=r"(s->fsbase));
		__asm__ volatile("wrfsbase %0" :: "r"(bt_host_fsbase));
	}
}
static inline void bt_decoder_leave(struct bt_fpu_save *s)
{
	if (bt_host_fsbase)
		__asm__ volatile("wrfsbase %0" :: "r"(s->fsbase));
	__asm__ volatile("fxrstor64 %0" :: "m"(s->area));
}
/* Decodes at most `avail` bytes. Returns false (and sets mnem = M_INVALID,
 * len = 1) if the bytes are not a valid 32-bit instruction; `truncated` says
 * the instruction needs more bytes than given. */
bool bt_decode(const uint8_t *code, unsigned avail, struct bt_insn *out, bool *truncated);
/* The instruction's mnemonic as text (a table lookup: no FPU, no libc). */
const char *bt_mnemonic_name(const struct bt_insn *in);

/* movs, cmps, stos, lods, scas (by their first opcode byte). */
static inline bool bt_is_string_op(uint8_t op)
{
	return (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf);
}
/* The segment a string instruction's source (DS:ESI) is read through. */
static inline unsigned bt_string_source_seg(const struct bt_insn *in, const uint8_t *code)
{
	if (in->seg_prefix_off == 0xff)
		return SEG_DS;
	switch (code[in->seg_prefix_off]) {
	case 0x26: return SEG_ES;
	case 0x2e: return SEG_CS;
	case 0x36: return SEG_SS;
	case 0x64: return SEG_FS;
	case 0x65: return SEG_GS;
	default: return SEG_DS;
	}
}

#endif
