/* rmw_traced guest: read-modify-write instructions (add or adc sbb and sub
 * xor cmp test inc dec not neg xchg bts btr btc, 8/16/32 bits, register
 * and immediate forms) applied to a variable that shares its page with
 * code and to an ordinary one: results, flags and registers must agree.
 * Under a binary translator the first is a traced page, so its writes are
 * performed by the monitor, then by callouts once retranslated. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"

GUEST_NAME("rmw_traced");

/* In .text, next to the code that touches it. */
__attribute__((section(".text.rmw_var"), aligned(64))) uint32_t in_code[4];
static uint32_t plain[4];

#define FLAGS 0x8D5u

/* One instruction form, applied to *p with register value b, returning the
 * memory result, the flags and the register afterwards. */
#define FORM(name, insn, cons) \
	__attribute__((noinline)) static uint32_t name(uint32_t *p, uint32_t b, uint32_t cin, uint32_t *flags, uint32_t *breg) \
	{ \
		uint32_t f; \
		__asm__ volatile("pushl %[cin]\n\tpopfl\n\t" insn "\n\tpushfl\n\tpopl %[f]" \
				 : [f] "=&r"(f), [b] cons(b) : [p] "r"(p), [cin] "r"(cin) : "cc", "memory"); \
		*flags = f & FLAGS; \
		*breg = b; \
		return *p; \
	}

FORM(f_addl, "addl %[b], (%[p])", "+r")
FORM(f_orl, "orl %[b], (%[p])", "+r")
FORM(f_adcl, "adcl %[b], (%[p])", "+r")
FORM(f_sbbl, "sbbl %[b], (%[p])", "+r")
FORM(f_andl, "andl %[b], (%[p])", "+r")
FORM(f_subl, "subl %[b], (%[p])", "+r")
FORM(f_xorl, "xorl %[b], (%[p])", "+r")
FORM(f_cmpl, "cmpl %[b], (%[p])", "+r")
FORM(f_testl, "testl %[b], (%[p])", "+r")
FORM(f_addb, "addb %b[b], 1(%[p])", "+q")
FORM(f_subw, "subw %w[b], 2(%[p])", "+r")
FORM(f_xchgl, "xchgl %[b], (%[p])", "+r")
FORM(f_xchgb, "xchgb %h[b], 3(%[p])", "+Q")
FORM(f_incl, "incl (%[p])", "+r")
FORM(f_decw, "decw (%[p])", "+r")
FORM(f_incb, "incb 2(%[p])", "+r")
FORM(f_notl, "notl (%[p])", "+r")
FORM(f_negl, "negl (%[p])", "+r")
FORM(f_negb, "negb 1(%[p])", "+r")
FORM(f_addi, "addl $0x7fffffff, (%[p])", "+r")
FORM(f_andi8, "andl $-16, (%[p])", "+r")
FORM(f_subib, "subb $0x80, (%[p])", "+r")
FORM(f_orw, "orw $0x8001, 2(%[p])", "+r")
FORM(f_testi, "testl $0x80000001, (%[p])", "+r")
FORM(f_btsl, "btsl %[b], (%[p])", "+r")
FORM(f_btrl, "btrl %[b], (%[p])", "+r")
FORM(f_btcl, "btcl %[b], (%[p])", "+r")
FORM(f_btsi, "btsl $31, (%[p])", "+r")

typedef uint32_t (*form_fn)(uint32_t *, uint32_t, uint32_t, uint32_t *, uint32_t *);
static const struct { const char *name; form_fn fn; int bitop; } forms[] = {
	{ "addl", f_addl, 0 }, { "orl", f_orl, 0 }, { "adcl", f_adcl, 0 }, { "sbbl", f_sbbl, 0 },
	{ "andl", f_andl, 0 }, { "subl", f_subl, 0 }, { "xorl", f_xorl, 0 }, { "cmpl", f_cmpl, 0 },
	{ "testl", f_testl, 0 }, { "addb", f_addb, 0 }, { "subw", f_subw, 0 }, { "xchgl", f_xchgl, 0 },
	{ "xchgb", f_xchgb, 0 }, { "incl", f_incl, 0 }, { "decw", f_decw, 0 }, { "incb", f_incb, 0 },
	{ "notl", f_notl, 0 }, { "negl", f_negl, 0 }, { "negb", f_negb, 0 }, { "addl $imm", f_addi, 0 },
	{ "andl $imm8", f_andi8, 0 }, { "subb $imm", f_subib, 0 }, { "orw $imm", f_orw, 0 },
	{ "testl $imm", f_testi, 0 }, { "btsl", f_btsl, 1 }, { "btrl", f_btrl, 1 }, { "btcl", f_btcl, 1 },
	{ "btsl $imm", f_btsi, 0 },
};

static const uint32_t values[] = { 0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
				   0x80000000u, 0xffffffffu, 0x12345678, 0xedcba987u, 0x00ff00ffu };
#define NV (sizeof(values) / sizeof(values[0]))

void guest_main(void)
{
	uint32_t checked = 0;
	for (unsigned f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
		for (unsigned i = 0; i < NV; i++) {
			for (unsigned j = 0; j < NV; j++) {
				for (uint32_t cin = 0x2; cin <= 0x8d7; cin += 0x8d5) {   /* flags clear, then all set */
					uint32_t b = forms[f].bitop ? values[j] & 31 : values[j];
					uint32_t f1, f2, b1, b2;
					in_code[0] = plain[0] = values[i];
					uint32_t r1 = forms[f].fn(in_code, b, cin, &f1, &b1);
					uint32_t r2 = forms[f].fn(plain, b, cin, &f2, &b2);
					if (r1 != r2 || f1 != f2 || b1 != b2)
						fail("%s mem 0x%08x reg 0x%08x flags-in 0x%x: code page gives 0x%08x flags 0x%x reg 0x%08x, "
						     "plain page 0x%08x flags 0x%x reg 0x%08x", forms[f].name, values[i], b, cin,
						     r1, f1, b1, r2, f2, b2);
					checked++;
				}
			}
		}
	}
	check_eq("forms x values x values x flags checked", sizeof(forms) / sizeof(forms[0]) * NV * NV * 2, checked);
}
