/* arith guest: integer ALU instructions (add..bswap, shifts, mul/div, bit
 * ops, setcc, BCD) checked result-and-flags against vectors from a reference
 * model (tools/gen_arith_vectors.py), plus cmpxchg8b checked by hand. */
#include <stddef.h>
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "serial.h"

GUEST_NAME("arith");

struct arith_vec {
	uint8_t op, check;	/* check: bit 0 compares r1, bit 1 r2 */
	uint32_t a, b, c;
	uint16_t fin;
	uint32_t r1, r2;
	uint16_t fout, fmask;	/* fout is already masked to the defined flags */
};

#include "arith_vectors.h"

/* EFLAGS go in with popfl right before the instruction and come out with
 * pushfl right after it, so the compiler cannot disturb them. */
#define PRE "pushl %[fin]\n\tpopfl\n\t"
#define POST "\n\tpushfl\n\tpopl %[fo]"

/* reg,reg forms in three widths */
#define RR32(insn) __asm__ volatile(PRE insn " %[b], %[a]" POST \
	: [a] "+r"(a), [fo] "=r"(fo) : [b] "r"(b), [fin] "r"(fin) : "cc")
#define RR16(insn) __asm__ volatile(PRE insn " %w[b], %w[a]" POST \
	: [a] "+r"(a), [fo] "=r"(fo) : [b] "r"(b), [fin] "r"(fin) : "cc")
#define RR8(insn) __asm__ volatile(PRE insn " %b[b], %b[a]" POST \
	: [a] "+q"(a), [fo] "=r"(fo) : [b] "q"(b), [fin] "r"(fin) : "cc")
/* single register operand, written as the full text of the instruction */
#define R1(text) __asm__ volatile(PRE text POST \
	: [a] "+r"(a), [fo] "=r"(fo) : [fin] "r"(fin) : "cc")
#define Q1(text) __asm__ volatile(PRE text POST \
	: [a] "+q"(a), [fo] "=r"(fo) : [fin] "r"(fin) : "cc")
/* shifts by CL */
#define SCL(text) __asm__ volatile(PRE text POST \
	: [a] "+q"(a), [fo] "=r"(fo) : "c"(b), [fin] "r"(fin) : "cc")
/* memory destination: m starts as a and is the result */
#define MEM1(text) do { m = a; \
	__asm__ volatile(PRE text POST \
		: [m] "+m"(m), [fo] "=r"(fo) : [b] "r"(b), [c] "c"(c), [fin] "r"(fin) : "cc"); \
	a = m; } while (0)
/* EAX/EDX forms: mul, div, cbw... with b as the r/m operand */
#define AD(text) __asm__ volatile(PRE text POST \
	: "+a"(a), "+d"(c), [fo] "=r"(fo) : [b] "q"(b), [fin] "r"(fin) : "cc")

struct result {
	uint32_t r1, r2, flags;
};

/* r1 is the destination (a); r2 is c (EDX for the EAX/EDX forms) unless an
 * op stores its second result elsewhere. */
static struct result run(const struct arith_vec *v)
{
	uint32_t a = v->a, b = v->b, c = v->c, fin = v->fin, fo = 0, m;
	uint32_t buf[4];
	uint8_t cc[16];
	struct result res;
	int r2_set = 0;

	switch (v->op) {
	case OP_ADD32: RR32("addl"); break;
	case OP_ADC32: RR32("adcl"); break;
	case OP_SUB32: RR32("subl"); break;
	case OP_SBB32: RR32("sbbl"); break;
	case OP_AND32: RR32("andl"); break;
	case OP_OR32: RR32("orl"); break;
	case OP_XOR32: RR32("xorl"); break;
	case OP_CMP32: RR32("cmpl"); break;
	case OP_TEST32: RR32("testl"); break;
	case OP_ADD8: RR8("addb"); break;
	case OP_ADC8: RR8("adcb"); break;
	case OP_SUB8: RR8("subb"); break;
	case OP_SBB8: RR8("sbbb"); break;
	case OP_AND8: RR8("andb"); break;
	case OP_CMP8: RR8("cmpb"); break;
	case OP_ADD16: RR16("addw"); break;
	case OP_SBB16: RR16("sbbw"); break;
	case OP_OR16: RR16("orw"); break;
	case OP_CMP16: RR16("cmpw"); break;
	case OP_ADD32_MEMDST: MEM1("addl %[b], %[m]"); break;
	case OP_SUB32_MEMSRC:
		m = b;
		__asm__ volatile(PRE "subl %[m], %[a]" POST
			: [a] "+r"(a), [fo] "=r"(fo) : [m] "m"(m), [fin] "r"(fin) : "cc");
		break;
	case OP_ADC32_IMM: R1("adcl $0x7FFFFFFF, %[a]"); break;
	case OP_SUB32_IMM8: R1("subl $-128, %[a]"); break;
	case OP_AND32_IMM: R1("andl $0xF0F0F0F0, %[a]"); break;
	case OP_CMP8_IMM: Q1("cmpb $0x80, %b[a]"); break;
	case OP_LOCK_ADD32_MEM: MEM1("lock addl %[b], %[m]"); break;
	case OP_INC32: R1("incl %[a]"); break;
	case OP_DEC32: R1("decl %[a]"); break;
	case OP_NEG32: R1("negl %[a]"); break;
	case OP_NOT32: R1("notl %[a]"); break;
	case OP_INC8: Q1("incb %b[a]"); break;
	case OP_DEC16: R1("decw %w[a]"); break;
	case OP_NEG8: Q1("negb %b[a]"); break;
	case OP_NEG16: R1("negw %w[a]"); break;
	case OP_INC32_MEM: MEM1("incl %[m]"); break;
	case OP_NEG32_MEM: MEM1("negl %[m]"); break;
	case OP_LOCK_DEC32_MEM: MEM1("lock decl %[m]"); break;

	case OP_MUL8: AD("mulb %b[b]"); break;
	case OP_MUL16: AD("mulw %w[b]"); break;
	case OP_MUL32: AD("mull %[b]"); break;
	case OP_IMUL8: AD("imulb %b[b]"); break;
	case OP_IMUL16: AD("imulw %w[b]"); break;
	case OP_IMUL32: AD("imull %[b]"); break;
	case OP_IMUL32_RR: RR32("imull"); break;
	case OP_IMUL16_RR: RR16("imulw"); break;
	case OP_IMUL32_RM:
		m = b;
		__asm__ volatile(PRE "imull %[m], %[a]" POST
			: [a] "+r"(a), [fo] "=r"(fo) : [m] "m"(m), [fin] "r"(fin) : "cc");
		break;
	case OP_IMUL32_RRI8: RR32("imull $-7,"); break;
	case OP_IMUL32_RRI32: RR32("imull $0x12345678,"); break;
	case OP_IMUL16_RRI: RR16("imulw $-300,"); break;
	case OP_DIV8: AD("divb %b[b]"); break;
	case OP_DIV16: AD("divw %w[b]"); break;
	case OP_DIV32: AD("divl %[b]"); break;
	case OP_IDIV8: AD("idivb %b[b]"); break;
	case OP_IDIV16: AD("idivw %w[b]"); break;
	case OP_IDIV32: AD("idivl %[b]"); break;
	case OP_DIV32_MEM:
		m = b;
		__asm__ volatile(PRE "divl %[m]" POST
			: "+a"(a), "+d"(c), [fo] "=r"(fo) : [m] "m"(m), [fin] "r"(fin) : "cc");
		break;

	case OP_SHL32_CL: SCL("shll %%cl, %[a]"); break;
	case OP_SHR32_CL: SCL("shrl %%cl, %[a]"); break;
	case OP_SAR32_CL: SCL("sarl %%cl, %[a]"); break;
	case OP_ROL32_CL: SCL("roll %%cl, %[a]"); break;
	case OP_ROR32_CL: SCL("rorl %%cl, %[a]"); break;
	case OP_RCL32_CL: SCL("rcll %%cl, %[a]"); break;
	case OP_RCR32_CL: SCL("rcrl %%cl, %[a]"); break;
	/* The one-operand spelling assembles to the D1 (shift-by-one) opcode. */
	case OP_SHL32_1: R1("shll %[a]"); break;
	case OP_SHR32_1: R1("shrl %[a]"); break;
	case OP_SAR32_1: R1("sarl %[a]"); break;
	case OP_ROL32_1: R1("roll %[a]"); break;
	case OP_ROR32_1: R1("rorl %[a]"); break;
	case OP_RCL32_1: R1("rcll %[a]"); break;
	case OP_RCR32_1: R1("rcrl %[a]"); break;
	case OP_SHL32_I7: R1("shll $7, %[a]"); break;
	case OP_SHR32_I31: R1("shrl $31, %[a]"); break;
	case OP_SAR32_I5: R1("sarl $5, %[a]"); break;
	case OP_ROL32_I8: R1("roll $8, %[a]"); break;
	case OP_ROR32_I12: R1("rorl $12, %[a]"); break;
	case OP_RCL32_I3: R1("rcll $3, %[a]"); break;
	case OP_RCR32_I30: R1("rcrl $30, %[a]"); break;
	case OP_SHL8_CL: SCL("shlb %%cl, %b[a]"); break;
	case OP_SHR8_CL: SCL("shrb %%cl, %b[a]"); break;
	case OP_SAR8_CL: SCL("sarb %%cl, %b[a]"); break;
	case OP_ROL8_CL: SCL("rolb %%cl, %b[a]"); break;
	case OP_ROR8_CL: SCL("rorb %%cl, %b[a]"); break;
	case OP_RCL8_CL: SCL("rclb %%cl, %b[a]"); break;
	case OP_RCR8_CL: SCL("rcrb %%cl, %b[a]"); break;
	case OP_SHL16_CL: SCL("shlw %%cl, %w[a]"); break;
	case OP_SAR16_CL: SCL("sarw %%cl, %w[a]"); break;
	case OP_ROL16_CL: SCL("rolw %%cl, %w[a]"); break;
	case OP_RCL16_CL: SCL("rclw %%cl, %w[a]"); break;
	case OP_RCR16_CL: SCL("rcrw %%cl, %w[a]"); break;
	case OP_SHL32_MEM_CL: c = b; MEM1("shll %%cl, %[m]"); break;
	case OP_ROR32_MEM_1: MEM1("rorl %[m]"); break;
	case OP_SHLD32_CL:
		__asm__ volatile(PRE "shldl %%cl, %[b], %[a]" POST
			: [a] "+r"(a), [fo] "=r"(fo) : [b] "r"(b), "c"(c), [fin] "r"(fin) : "cc");
		break;
	case OP_SHRD32_CL:
		__asm__ volatile(PRE "shrdl %%cl, %[b], %[a]" POST
			: [a] "+r"(a), [fo] "=r"(fo) : [b] "r"(b), "c"(c), [fin] "r"(fin) : "cc");
		break;
	case OP_SHLD32_I8: RR32("shldl $8,"); break;
	case OP_SHRD32_I12: RR32("shrdl $12,"); break;
	case OP_SHLD16_CL:
		__asm__ volatile(PRE "shldw %%cl, %w[b], %w[a]" POST
			: [a] "+r"(a), [fo] "=r"(fo) : [b] "r"(b), "c"(c), [fin] "r"(fin) : "cc");
		break;
	case OP_SHRD16_CL:
		__asm__ volatile(PRE "shrdw %%cl, %w[b], %w[a]" POST
			: [a] "+r"(a), [fo] "=r"(fo) : [b] "r"(b), "c"(c), [fin] "r"(fin) : "cc");
		break;
	case OP_SHLD32_MEM_CL: MEM1("shldl %%cl, %[b], %[m]"); break;

	case OP_BT32_R: RR32("btl"); break;
	case OP_BTS32_R: RR32("btsl"); break;
	case OP_BTR32_R: RR32("btrl"); break;
	case OP_BTC32_R: RR32("btcl"); break;
	case OP_BT32_I31: R1("btl $31, %[a]"); break;
	case OP_BTS32_I36: R1("btsl $36, %[a]"); break;
	case OP_BTR16_R: RR16("btrw"); break;
	case OP_BT_MEM:
	case OP_BTS_MEM:
	case OP_BTR_MEM:
	case OP_BTC_MEM:
	case OP_BTC_MEM_I45:
	case OP_LOCK_BTS_MEM: {
		/* The bit string starts at buf[1] so negative offsets stay inside
		 * buf; r1 is the dword the offset selects, r2 sums all four. */
		int32_t off = v->op == OP_BTC_MEM_I45 ? 45 % 32 : (int32_t)b;
		for (int i = 0; i < 4; i++)
			buf[i] = a ^ (0x11111111u * (uint32_t)i);
		uint32_t *p = &buf[1];
		switch (v->op) {
#define BTM(text) __asm__ volatile(PRE text POST \
	: [fo] "=r"(fo) : [b] "r"(b), [p] "r"(p), [fin] "r"(fin) : "cc", "memory")
		case OP_BT_MEM: BTM("btl %[b], (%[p])"); break;
		case OP_BTS_MEM: BTM("btsl %[b], (%[p])"); break;
		case OP_BTR_MEM: BTM("btrl %[b], (%[p])"); break;
		case OP_BTC_MEM: BTM("btcl %[b], (%[p])"); break;
		case OP_BTC_MEM_I45: BTM("btcl $45, (%[p])"); break;
		case OP_LOCK_BTS_MEM: BTM("lock btsl %[b], (%[p])"); break;
#undef BTM
		}
		res.r1 = buf[1 + (off >> 5)];
		res.r2 = buf[0] + buf[1] + buf[2] + buf[3];
		res.flags = fo;
		return res;
	}
	case OP_BSF32: RR32("bsfl"); break;
	case OP_BSR32: RR32("bsrl"); break;
	case OP_BSF16: RR16("bsfw"); break;
	case OP_BSR16: RR16("bsrw"); break;
	case OP_SETCC:
		__asm__ volatile(PRE
			"seto 0(%[p])\n\tsetno 1(%[p])\n\tsetb 2(%[p])\n\tsetae 3(%[p])\n\t"
			"sete 4(%[p])\n\tsetne 5(%[p])\n\tsetbe 6(%[p])\n\tseta 7(%[p])\n\t"
			"sets 8(%[p])\n\tsetns 9(%[p])\n\tsetp 10(%[p])\n\tsetnp 11(%[p])\n\t"
			"setl 12(%[p])\n\tsetge 13(%[p])\n\tsetle 14(%[p])\n\tsetg 15(%[p])"
			POST : [fo] "=r"(fo) : [p] "r"(cc), [fin] "r"(fin) : "cc", "memory");
		a = 0;
		for (int i = 0; i < 16; i++) {
			if (cc[i] > 1)
				fail("setcc #%d wrote 0x%02x", i, cc[i]);
			a |= (uint32_t)cc[i] << i;
		}
		break;
	case OP_BSWAP: R1("bswap %[a]"); break;

	case OP_LAHF: AD("lahf"); break;
	case OP_SAHF: AD("sahf"); break;
	case OP_CBW: AD("cbtw"); break;
	case OP_CWDE: AD("cwtl"); break;
	case OP_CWD: AD("cwtd"); break;
	case OP_CDQ: AD("cltd"); break;
	case OP_MOVSX8_32: RR32("movsbl %b[b], %[a] #"); break;
	case OP_MOVSX16_32: RR32("movswl %w[b], %[a] #"); break;
	case OP_MOVZX8_32: RR32("movzbl %b[b], %[a] #"); break;
	case OP_MOVZX16_32: RR32("movzwl %w[b], %[a] #"); break;
	case OP_XCHG_RR:
		__asm__ volatile(PRE "xchgl %[b], %[a]" POST
			: [a] "+r"(a), [b] "+r"(b), [fo] "=r"(fo) : [fin] "r"(fin) : "cc");
		res.r2 = b;
		r2_set = 1;
		break;
	case OP_XCHG_RM:
		m = b;
		__asm__ volatile(PRE "xchgl %[a], %[m]" POST
			: [a] "+r"(a), [m] "+m"(m), [fo] "=r"(fo) : [fin] "r"(fin) : "cc");
		res.r2 = m;
		r2_set = 1;
		break;
	case OP_XADD_RR:
		__asm__ volatile(PRE "xaddl %[b], %[a]" POST
			: [a] "+r"(a), [b] "+r"(b), [fo] "=r"(fo) : [fin] "r"(fin) : "cc");
		res.r2 = b;
		r2_set = 1;
		break;
	case OP_LOCK_XADD_RM:
		m = a;
		__asm__ volatile(PRE "lock xaddl %[b], %[m]" POST
			: [m] "+m"(m), [b] "+r"(b), [fo] "=r"(fo) : [fin] "r"(fin) : "cc");
		a = m;
		res.r2 = b;
		r2_set = 1;
		break;
	case OP_CMPXCHG_RR:
		__asm__ volatile(PRE "cmpxchgl %[b], %[a]" POST
			: [a] "+r"(a), "+a"(c), [fo] "=r"(fo) : [b] "r"(b), [fin] "r"(fin) : "cc");
		break;
	case OP_LOCK_CMPXCHG_RM:
		m = a;
		__asm__ volatile(PRE "lock cmpxchgl %[b], %[m]" POST
			: [m] "+m"(m), "+a"(c), [fo] "=r"(fo) : [b] "r"(b), [fin] "r"(fin) : "cc");
		a = m;
		break;
	case OP_CMPXCHG8_RR:
		__asm__ volatile(PRE "cmpxchgb %b[b], %b[a]" POST
			: [a] "+q"(a), "+a"(c), [fo] "=r"(fo) : [b] "q"(b), [fin] "r"(fin) : "cc");
		break;

	case OP_DAA: AD("daa"); break;
	case OP_DAS: AD("das"); break;
	case OP_AAA: AD("aaa"); break;
	case OP_AAS: AD("aas"); break;
	case OP_AAM: AD("aam"); break;
	case OP_AAD: AD("aad"); break;
	default:
		fail("no implementation for op %u", v->op);
	}
	res.r1 = a;
	if (!r2_set)
		res.r2 = c;
	res.flags = fo;
	return res;
}

/* cmpxchg8b needs five registers and a 64-bit operand, so it is checked by
 * hand rather than through the table. */
static void check_cmpxchg8b(void)
{
	uint64_t mem, edx_eax;
	uint32_t zf;

	mem = 0x1122334455667788ull;
	edx_eax = 0x1122334455667788ull;
	__asm__ volatile("lock cmpxchg8b %[m]\n\tsetz %b[z]\n\tmovzbl %b[z], %[z]"
		: [m] "+m"(mem), "+A"(edx_eax), [z] "=q"(zf)
		: "b"(0xCAFEBABEu), "c"(0xDEADBEEFu) : "cc");
	check_eq("cmpxchg8b equal: ZF", 1, zf);
	check_eq64("cmpxchg8b equal: memory", 0xDEADBEEFCAFEBABEull, mem);
	check_eq64("cmpxchg8b equal: EDX:EAX", 0x1122334455667788ull, edx_eax);

	mem = 0x8000000000000001ull;
	edx_eax = 0x8000000000000000ull;
	__asm__ volatile("cmpxchg8b %[m]\n\tsetz %b[z]\n\tmovzbl %b[z], %[z]"
		: [m] "+m"(mem), "+A"(edx_eax), [z] "=q"(zf)
		: "b"(0x01234567u), "c"(0x89ABCDEFu) : "cc");
	check_eq("cmpxchg8b differ: ZF", 0, zf);
	check_eq64("cmpxchg8b differ: memory", 0x8000000000000001ull, mem);
	check_eq64("cmpxchg8b differ: EDX:EAX", 0x8000000000000001ull, edx_eax);

	/* Only the high halves differ: a 32-bit compare would wrongly match. */
	mem = 0x0000000100000000ull;
	edx_eax = 0x0000000000000000ull;
	__asm__ volatile("cmpxchg8b %[m]\n\tsetz %b[z]\n\tmovzbl %b[z], %[z]"
		: [m] "+m"(mem), "+A"(edx_eax), [z] "=q"(zf)
		: "b"(0xFFFFFFFFu), "c"(0xFFFFFFFFu) : "cc");
	check_eq("cmpxchg8b high differ: ZF", 0, zf);
	check_eq64("cmpxchg8b high differ: EDX:EAX", 0x0000000100000000ull, edx_eax);
}

void guest_main(void)
{
	const unsigned n = sizeof(arith_vecs) / sizeof(arith_vecs[0]);
	unsigned idx_in_op = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct arith_vec *v = &arith_vecs[i];
		if (i > 0 && arith_vecs[i - 1].op != v->op)
			idx_in_op = 0;
		struct result r = run(v);
		const char *what = NULL;
		uint32_t want = 0, got = 0;

		if ((v->check & 1) && r.r1 != v->r1) {
			what = "result";
			want = v->r1;
			got = r.r1;
		} else if ((v->check & 2) && r.r2 != v->r2) {
			what = "second result";
			want = v->r2;
			got = r.r2;
		} else if ((r.flags & v->fmask) != v->fout) {
			what = "flags";
			want = v->fout;
			got = r.flags & v->fmask;
		}
		if (what)
			fail("%s #%u (a=0x%08x b=0x%08x c=0x%08x flags=0x%03x): %s: expected 0x%08x, got 0x%08x",
			     arith_op_names[v->op], idx_in_op, v->a, v->b, v->c, v->fin,
			     what, want, got);
		idx_in_op++;
		/* Groups are contiguous in the table: report each as it ends. */
		if (i + 1 == n || arith_op_groups[arith_vecs[i + 1].op] != arith_op_groups[v->op])
			progress(arith_op_groups[v->op]);
	}
	check_cmpxchg8b();
	progress("cmpxchg8b");
}
