/* The arithmetic of read-modify-write instructions, done by the host CPU
 * on register copies with the guest's arithmetic flags loaded and then
 * captured: exact flags for every operation without reimplementing them.
 * The host's own flags come back afterwards: in the driver world the
 * monitor runs with EFLAGS.AC set (SMAP, dworld.c), and its next store to
 * the monitor area would fault without it. */
#include "vm.h"

/* The flags are pushed below the red zone (the user-level world's monitor
 * is built with one, and this leaf function may keep data there). */
#define ALU_ASM(op) \
	"lea -128(%%rsp), %%rsp\n\tpushfq\n\tpushq %[f]\n\tpopfq\n\t" op \
	"\n\tpushfq\n\tpopq %[f]\n\tpopfq\n\tlea 128(%%rsp), %%rsp"
#define ALU2(insn, sfx, reg_a, reg_b) \
	__asm__ volatile(ALU_ASM(insn sfx " %" reg_b "[b], %" reg_a "[a]") \
			 : [a] "+r"(a), [f] "+r"(f) : [b] "r"(b) : "cc")
#define ALU1(insn, sfx, reg_a) \
	__asm__ volatile(ALU_ASM(insn sfx " %" reg_a "[a]") : [a] "+r"(a), [f] "+r"(f) : : "cc")
#define ALU_SIZES2(insn) \
	do { if (size == 1) ALU2(insn, "b", "b", "b"); else if (size == 2) ALU2(insn, "w", "w", "w"); \
	     else ALU2(insn, "l", "k", "k"); } while (0)
#define ALU_SIZES1(insn) \
	do { if (size == 1) ALU1(insn, "b", "b"); else if (size == 2) ALU1(insn, "w", "w"); \
	     else ALU1(insn, "l", "k"); } while (0)
#define ALU_BT(insn) \
	do { if (size == 2) ALU2(insn, "w", "w", "w"); else ALU2(insn, "l", "k", "k"); } while (0)

uint32_t emu_alu(enum alu_op op, unsigned size, uint32_t a, uint32_t b, uint32_t *flags)
{
	uint64_t f = (*flags & 0x8d5u) | 0x2u;
	switch (op) {
	case A_ADD: ALU_SIZES2("add"); break;
	case A_OR:  ALU_SIZES2("or"); break;
	case A_ADC: ALU_SIZES2("adc"); break;
	case A_SBB: ALU_SIZES2("sbb"); break;
	case A_AND: case A_TEST: ALU_SIZES2("and"); break;
	case A_SUB: case A_CMP: ALU_SIZES2("sub"); break;
	case A_XOR: ALU_SIZES2("xor"); break;
	case A_INC: ALU_SIZES1("inc"); break;
	case A_DEC: ALU_SIZES1("dec"); break;
	case A_NOT: ALU_SIZES1("not"); break;
	case A_NEG: ALU_SIZES1("neg"); break;
	case A_BTS: ALU_BT("bts"); break;
	case A_BTR: ALU_BT("btr"); break;
	case A_BTC: ALU_BT("btc"); break;
	case A_XCHG: a = b; break;
	}
	*flags = (*flags & ~0x8d5u) | ((uint32_t)f & 0x8d5u);
	return a;
}

