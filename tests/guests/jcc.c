/* jcc guest: all 16 conditions taken and not taken (short and near forms,
 * flags from popf and from real arithmetic), loop/loope/loopne/jecxz, deep
 * recursion, a switch jump table, indirect calls and jumps, ret imm16. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"

GUEST_NAME("jcc");

#define CF 0x001
#define PF 0x004
#define ZF 0x040
#define SF 0x080
#define OF 0x800

static const char *const cc_names[16] = {
	"o", "no", "b", "ae", "e", "ne", "be", "a",
	"s", "ns", "p", "np", "l", "ge", "le", "g",
};

/* ---- conditions with flags loaded by popf ---- */

/* Returns 1 when the jump is taken. The near variants put 200 bytes of int3
 * between the jcc and its target so the assembler must use the 0F 8x rel32
 * encoding. */
#define JCC_FUNCS(cc) \
static uint32_t jcc_short_##cc(uint32_t f) \
{ \
	uint32_t t; \
	__asm__ volatile("pushl %[f]\n\tpopfl\n\tmovl $0, %[t]\n\t" \
		"j" #cc " 1f\n\tjmp 2f\n1:\tmovl $1, %[t]\n2:" \
		: [t] "=&r"(t) : [f] "r"(f) : "cc"); \
	return t; \
} \
static uint32_t jcc_near_##cc(uint32_t f) \
{ \
	uint32_t t; \
	__asm__ volatile("pushl %[f]\n\tpopfl\n\tmovl $0, %[t]\n\t" \
		"j" #cc " 1f\n\tjmp 2f\n\t.fill 200, 1, 0xCC\n1:\tmovl $1, %[t]\n2:" \
		: [t] "=&r"(t) : [f] "r"(f) : "cc"); \
	return t; \
}

JCC_FUNCS(o) JCC_FUNCS(no) JCC_FUNCS(b) JCC_FUNCS(ae)
JCC_FUNCS(e) JCC_FUNCS(ne) JCC_FUNCS(be) JCC_FUNCS(a)
JCC_FUNCS(s) JCC_FUNCS(ns) JCC_FUNCS(p) JCC_FUNCS(np)
JCC_FUNCS(l) JCC_FUNCS(ge) JCC_FUNCS(le) JCC_FUNCS(g)

typedef uint32_t (*jcc_fn)(uint32_t);
#define BOTH(cc) { jcc_short_##cc, jcc_near_##cc }
static jcc_fn const jcc_fns[16][2] = {
	BOTH(o), BOTH(no), BOTH(b), BOTH(ae), BOTH(e), BOTH(ne), BOTH(be), BOTH(a),
	BOTH(s), BOTH(ns), BOTH(p), BOTH(np), BOTH(l), BOTH(ge), BOTH(le), BOTH(g),
};

/* Flag state i has CF, PF, ZF, SF, OF from bits 0..4 of i. Bit n of entry
 * i: condition n holds (SDM Jcc table, order as cc_names). */
static const uint16_t popf_expect[32] = {
	0xaaaa, 0xaa66, 0xa6aa, 0xa666, 0x6a5a, 0x6a56, 0x665a, 0x6656,
	0x59aa, 0x5966, 0x55aa, 0x5566, 0x595a, 0x5956, 0x555a, 0x5556,
	0x5aa9, 0x5a65, 0x56a9, 0x5665, 0x5a59, 0x5a55, 0x5659, 0x5655,
	0xa9a9, 0xa965, 0xa5a9, 0xa565, 0x6959, 0x6955, 0x6559, 0x6555,
};

static void check_popf_conditions(void)
{
	static const uint32_t bits[5] = { CF, PF, ZF, SF, OF };

	for (int i = 0; i < 32; i++) {
		uint32_t f = 0x002;
		for (int b = 0; b < 5; b++)
			if (i >> b & 1)
				f |= bits[b];
		for (int cc = 0; cc < 16; cc++) {
			for (int form = 0; form < 2; form++) {
				uint32_t want = popf_expect[i] >> cc & 1;
				uint32_t got = jcc_fns[cc][form](f);
				if (got != want)
					fail("j%s (%s) with flags 0x%03x: expected %s, got %s",
					     cc_names[cc], form ? "near" : "short", f,
					     want ? "taken" : "not taken", got ? "taken" : "not taken");
			}
		}
	}
}

/* ---- conditions straight after flag-producing arithmetic ---- */

/* Each jcc stores 1 into its own byte of p[] when taken; stores do not touch
 * EFLAGS, so all 16 jumps see the flags of the one instruction before. */
#define J1(cc, n) "j" #cc " 1f\n\tjmp 2f\n1:\tmovb $1, " #n "(%[p])\n2:\n\t"
#define EVAL16 \
	J1(o, 0) J1(no, 1) J1(b, 2) J1(ae, 3) J1(e, 4) J1(ne, 5) J1(be, 6) J1(a, 7) \
	J1(s, 8) J1(ns, 9) J1(p, 10) J1(np, 11) J1(l, 12) J1(ge, 13) J1(le, 14) J1(g, 15)

enum { A_CMP, A_ADD, A_SUB, A_ADC1, A_TEST, A_AND, A_INC_CF1, A_DEC_CF0,
	A_NEG, A_SHL1, A_SAR1, A_COUNT };
static const char *const arith_names[A_COUNT] = {
	"cmp", "add", "sub", "adc (CF=1)", "test", "and", "inc (CF=1)",
	"dec (CF=0)", "neg", "shl 1", "sar 1",
};

static uint32_t eval_after(int op, uint32_t a, uint32_t b)
{
	uint8_t t[16] = { 0 };
	uint8_t *p = t;

#define ARITH(text) __asm__ volatile(text "\n\t" EVAL16 \
	: "+r"(a) : [b] "r"(b), [p] "r"(p) : "cc", "memory")
	switch (op) {
	case A_CMP: ARITH("cmpl %[b], %0"); break;
	case A_ADD: ARITH("addl %[b], %0"); break;
	case A_SUB: ARITH("subl %[b], %0"); break;
	case A_ADC1: ARITH("stc\n\tadcl %[b], %0"); break;
	case A_TEST: ARITH("testl %[b], %0"); break;
	case A_AND: ARITH("andl %[b], %0"); break;
	case A_INC_CF1: ARITH("stc\n\tincl %0"); break;
	case A_DEC_CF0: ARITH("clc\n\tdecl %0"); break;
	case A_NEG: ARITH("negl %0"); break;
	case A_SHL1: ARITH("shll %0"); break;
	case A_SAR1: ARITH("sarl %0"); break;
	}
#undef ARITH
	uint32_t m = 0;
	for (int i = 0; i < 16; i++)
		m |= (uint32_t)t[i] << i;
	return m;
}

static const uint32_t vals[5] = { 0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF };

/* Expected condition masks; binary ops index [a][b] over vals, unary [a].
 * Computed from the SDM flag definitions by the reference model. */
static const uint16_t binary_expect[6][25] = {
	[A_CMP] = { 0x665a, 0x5566, 0x5966, 0xa565, 0xaa66, 0xaaaa, 0x665a, 0x5966, 0xa965,
		0xaa66, 0xa6aa, 0xaaaa, 0x665a, 0xa565, 0xa565, 0x55aa, 0x56a9, 0x5aa9, 0x665a,
		0x5966, 0x55aa, 0x59aa, 0x55aa, 0xa6aa, 0x665a },
	[A_ADD] = { 0x665a, 0xaaaa, 0xa6aa, 0x55aa, 0x55aa, 0xaaaa, 0xaaaa, 0xa5a9, 0x59aa,
		0x6656, 0xa6aa, 0xa5a9, 0xa9a9, 0x55aa, 0xaa66, 0x55aa, 0x59aa, 0x55aa, 0x5655,
		0x5665, 0x55aa, 0x6656, 0xaa66, 0x5665, 0x5966 },
	[A_SUB] = { 0x665a, 0x5566, 0x5966, 0xa565, 0xaa66, 0xaaaa, 0x665a, 0x5966, 0xa965,
		0xaa66, 0xa6aa, 0xaaaa, 0x665a, 0xa565, 0xa565, 0x55aa, 0x56a9, 0x5aa9, 0x665a,
		0x5966, 0x55aa, 0x59aa, 0x55aa, 0xa6aa, 0x665a },
	[A_ADC1] = { 0xaaaa, 0xaaaa, 0xa5a9, 0x59aa, 0x6656, 0xaaaa, 0xa6aa, 0xa9a9, 0x59aa,
		0xaa66, 0xa5a9, 0xa9a9, 0xa5a9, 0x6656, 0xa666, 0x59aa, 0x59aa, 0x6656, 0x5a65,
		0x5566, 0x6656, 0xaa66, 0xa666, 0x5566, 0x5566 },
	[A_TEST] = { 0x665a, 0x665a, 0x665a, 0x665a, 0x665a, 0x665a, 0xaaaa, 0xaaaa, 0x665a,
		0xaaaa, 0x665a, 0xaaaa, 0xa6aa, 0x665a, 0xa6aa, 0x665a, 0x665a, 0x665a, 0x55aa,
		0x55aa, 0x665a, 0xaaaa, 0xa6aa, 0x55aa, 0x55aa },
	[A_AND] = { 0x665a, 0x665a, 0x665a, 0x665a, 0x665a, 0x665a, 0xaaaa, 0xaaaa, 0x665a,
		0xaaaa, 0x665a, 0xaaaa, 0xa6aa, 0x665a, 0xa6aa, 0x665a, 0x665a, 0x665a, 0x55aa,
		0x55aa, 0x665a, 0xaaaa, 0xa6aa, 0x55aa, 0x55aa },
};
static const uint16_t unary_expect[A_COUNT][5] = {
	[A_INC_CF1] = { 0xaa66, 0xaa66, 0xa565, 0x5966, 0x6656 },
	[A_DEC_CF0] = { 0x55aa, 0x665a, 0xaaaa, 0x56a9, 0x59aa },
	[A_NEG] = { 0x665a, 0x5566, 0x5966, 0xa565, 0xaa66 },
	[A_SHL1] = { 0x665a, 0xaaaa, 0xa9a9, 0x5655, 0x5966 },
	[A_SAR1] = { 0x665a, 0x6656, 0xa666, 0x55aa, 0x5566 },
};

static void check_arith_conditions(void)
{
	for (int op = 0; op < A_COUNT; op++) {
		int unary = op >= A_INC_CF1;
		for (int i = 0; i < 5; i++) {
			for (int j = 0; j < (unary ? 1 : 5); j++) {
				uint32_t want = unary ? unary_expect[op][i] : binary_expect[op][i * 5 + j];
				uint32_t got = eval_after(op, vals[i], vals[j]);
				if (got != want)
					fail("conditions after %s a=0x%08x b=0x%08x: expected mask 0x%04x, got 0x%04x",
					     arith_names[op], vals[i], unary ? 0 : vals[j], want, got);
			}
		}
	}
}

/* ---- loop family ---- */

static void check_loops(void)
{
	uint32_t sum, ecx;
	uint8_t zf;

	__asm__ volatile("movl $100, %%ecx\n\txorl %%eax, %%eax\n"
		"1:\taddl %%ecx, %%eax\n\tloop 1b"
		: "=a"(sum), "=c"(ecx) : : "cc");
	check_eq("loop sum 1..100", 5050, sum);
	check_eq("loop final ECX", 0, ecx);

	/* loop must not touch flags: CF set before stays set. */
	__asm__ volatile("movl $3, %%ecx\n\tstc\n1:\tloop 1b\n\tsetc %0"
		: "=q"(zf), "=&c"(ecx) : : "cc");
	check_eq("loop preserves CF", 1, zf);

	static const uint8_t run7[10] = { 7, 7, 7, 3, 7, 7, 7, 7, 7, 7 };
	static const uint8_t find7[10] = { 1, 2, 3, 7, 5, 6, 7, 8, 9, 0 };
	static const uint8_t all7[10] = { 7, 7, 7, 7, 7, 7, 7, 7, 7, 7 };
	const uint8_t *p;

	/* lea advances the pointer without disturbing the ZF loope/ne test. */
	p = run7;
	__asm__ volatile("movl $10, %%ecx\n1:\tcmpb $7, (%[p])\n\tlea 1(%[p]), %[p]\n\t"
		"loope 1b\n\tsetz %[z]"
		: [p] "+r"(p), "=&c"(ecx), [z] "=q"(zf) : : "cc", "memory");
	check_eq("loope stop: ECX", 6, ecx);
	check_eq("loope stop: pointer advance", 4, (uint32_t)(p - run7));
	check_eq("loope stop: ZF", 0, zf);

	p = all7;
	__asm__ volatile("movl $10, %%ecx\n1:\tcmpb $7, (%[p])\n\tlea 1(%[p]), %[p]\n\t"
		"loope 1b\n\tsetz %[z]"
		: [p] "+r"(p), "=&c"(ecx), [z] "=q"(zf) : : "cc", "memory");
	check_eq("loope exhaust: ECX", 0, ecx);
	check_eq("loope exhaust: pointer advance", 10, (uint32_t)(p - all7));
	check_eq("loope exhaust: ZF", 1, zf);

	p = find7;
	__asm__ volatile("movl $10, %%ecx\n1:\tcmpb $7, (%[p])\n\tlea 1(%[p]), %[p]\n\t"
		"loopne 1b\n\tsetz %[z]"
		: [p] "+r"(p), "=&c"(ecx), [z] "=q"(zf) : : "cc", "memory");
	check_eq("loopne stop: ECX", 6, ecx);
	check_eq("loopne stop: pointer advance", 4, (uint32_t)(p - find7));
	check_eq("loopne stop: ZF", 1, zf);

	/* ECX becomes 0 on the last iteration while ZF=1: loopne falls through
	 * because of ECX, not because of a match. */
	p = find7 + 4;
	__asm__ volatile("movl $3, %%ecx\n1:\tcmpb $7, (%[p])\n\tlea 1(%[p]), %[p]\n\t"
		"loopne 1b\n\tsetz %[z]"
		: [p] "+r"(p), "=&c"(ecx), [z] "=q"(zf) : : "cc", "memory");
	check_eq("loopne last-match: ECX", 0, ecx);
	check_eq("loopne last-match: ZF", 1, zf);

	uint32_t taken;
	for (uint32_t c = 0; c < 3; c++) {
		__asm__ volatile("movl $0, %[t]\n\tjecxz 1f\n\tjmp 2f\n1:\tmovl $1, %[t]\n2:"
			: [t] "=&r"(taken) : "c"(c * 0x10000) : "cc");
		check_eq("jecxz taken iff ECX == 0", c == 0, taken);
	}
}

/* ---- recursion, indirect transfers ---- */

uint32_t jcc_recurse(uint32_t n);
uint32_t jcc_ijmp_reg(uint32_t i);
uint32_t jcc_ijmp_mem(uint32_t i);
uint32_t jcc_call_reg(uint32_t i);
uint32_t jcc_call_mem(uint32_t i);
uint32_t jcc_ret_imm(uint32_t a, uint32_t b);
uint32_t jcc_push_ret(void);
uint32_t jcc_call_pop(void);
extern uint32_t jcc_stack_span, jcc_ret_imm_delta;

#define DEPTH 20000

static void check_recursion(void)
{
	/* f(k) = rol(f(k-1), 1) ^ k from f(0) = 0x12345678, k = 1..20000. */
	check_eq("recursion depth 20000 checksum", 0x03c5f656, jcc_recurse(DEPTH));
	/* Each level pushes a return address and one saved register. */
	check_eq("recursion stack bytes", 4 + 8 * DEPTH, jcc_stack_span);
	/* Again, so returns go through already-translated code. */
	check_eq("recursion checksum, second run", 0x03c5f656, jcc_recurse(DEPTH));
	check_eq("recursion depth 1", 0x2468ACF1, jcc_recurse(1));
}

/* Enough dense cases, each different work, that GCC emits a jump table
 * (jmp *table(,%reg,4)) rather than a compare chain or a value table. */
__attribute__((noinline)) static uint32_t dispatch(uint32_t sel, uint32_t x)
{
	switch (sel) {
	case 0: return x * 3 + 1;
	case 1: return x ^ 0xA5A5A5A5;
	case 2: return (x << 3) | (x >> 29);
	case 3: return x - 0x1234;
	case 4: return ~x;
	case 5: return x * x;
	case 6: return x >> 5;
	case 7: return x + (x >> 16);
	case 8: return x & 0x00FF00FF;
	case 9: return x | 0x80000001;
	case 10: return x * 0x9E3779B1u;
	case 11: return (x >> 7) ^ (x << 11);
	case 12: return 0 - x;
	case 13: return x + 0x7777;
	case 14: return x ^ (x >> 1);
	case 15: return (x & 0xFFFF) * 65599;
	case 16: return x / 3;
	case 17: return x % 1000;
	case 18: return (x << 16) | (x >> 16);
	case 19: return x + sel;
	default: return 0xDEAD0000 | sel;
	}
}

typedef uint32_t (*step_fn)(uint32_t);
#define STEP(n, expr) __attribute__((noinline)) static uint32_t step##n(uint32_t x) { return expr; }
STEP(0, x + 1) STEP(1, x * 5) STEP(2, x ^ 0xFFFF) STEP(3, x - 77)
STEP(4, x << 1) STEP(5, x >> 1) STEP(6, x * 0x10001) STEP(7, x + 0x01000000)
STEP(8, x ^ 0x5A5A5A5A) STEP(9, x * 9 + 2) STEP(10, (x << 4) | (x >> 28)) STEP(11, x - (x >> 3))
STEP(12, x + 12345) STEP(13, ~x) STEP(14, x * 3) STEP(15, x ^ (x << 7))
static step_fn const steps[16] = {
	step0, step1, step2, step3, step4, step5, step6, step7,
	step8, step9, step10, step11, step12, step13, step14, step15,
};

static void check_indirect(void)
{
	/* The switch: selectors 0..21 (two fall to default), x = sel * 0x01010101 + 5;
	 * expected sum of all results computed by hand-transcribed model. */
	uint32_t sum = 0;
	for (uint32_t sel = 0; sel < 22; sel++) {
		/* Keep the selector opaque so GCC cannot specialise the switch. */
		uint32_t s = sel;
		__asm__ volatile("" : "+r"(s));
		sum = sum * 31 + dispatch(s, sel * 0x01010101u + 5);
	}
	check_eq("switch jump table checksum", 0xe83b8b96, sum);

	/* Function pointer table: 200 calls in a scrambled order. */
	uint32_t acc = 1;
	for (uint32_t j = 0; j < 200; j++) {
		uint32_t idx = (j * 7 + 3) & 15;
		__asm__ volatile("" : "+r"(idx));
		acc = steps[idx](acc);
	}
	check_eq("function pointer table checksum", 0xee4b0542, acc);

	for (uint32_t i = 0; i < 4; i++) {
		uint32_t want = 0x1000 * (i + 1) + i;
		check_eq("jmp *reg target", want, jcc_ijmp_reg(i));
		check_eq("jmp *mem target", want, jcc_ijmp_mem(i));
		check_eq("call *reg target", want + 1, jcc_call_reg(i));
		check_eq("call *mem target", want + 1, jcc_call_mem(i));
	}
	/* Reverse order so a cached last target is wrong every time. */
	for (uint32_t i = 4; i-- > 0;) {
		check_eq("jmp *reg target (reverse)", 0x1000 * (i + 1) + i, jcc_ijmp_reg(i));
		check_eq("jmp *mem target (reverse)", 0x1000 * (i + 1) + i, jcc_ijmp_mem(i));
	}

	check_eq("ret $8 result", 0x11111111, jcc_ret_imm(0x99999999, 0x88888888));
	check_eq("ret $8 pops the arguments", 0, jcc_ret_imm_delta);
	check_eq("push+ret lands on the pushed address", 0x600D, jcc_push_ret());
	check_eq("call+pop yields the return address", 0, jcc_call_pop());
}

void guest_main(void)
{
	check_popf_conditions();
	progress("jcc_popf");
	check_arith_conditions();
	progress("jcc_arith");
	check_loops();
	progress("loop");
	check_recursion();
	progress("recursion");
	check_indirect();
	progress("indirect");
}
