/* Fuzz generator (host program): writes random but valid 32-bit ring-0
 * instruction sequences as case files, and turns case files into the GNU
 * assembler source of a fuzz guest (see tests/fuzz/README.md for the format).
 * The flag bookkeeping that keeps undefined EFLAGS bits out of the checksum
 * lives here too, because it must be redone whenever a case is minimized. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CF 0x001u
#define PF 0x004u
#define AF 0x010u
#define ZF 0x040u
#define SF 0x080u
#define OF 0x800u
#define ALL6 (CF | PF | AF | ZF | SF | OF)
#define LOGIC_D (CF | PF | ZF | SF | OF) /* and/or/xor/test: AF undefined */

#define SCRATCH_BYTES 1024
#define FRAME_BYTES 200 /* d(%esp) operands stay below this */
#define UNIT_TEXT 2048

/* ---- randomness: xorshift64*, seeded per run ---- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static unsigned below(unsigned n) { return n ? rnd() % n : 0; }
static int chance(unsigned pct) { return below(100) < pct; }
#define PICK(a) (a[below(sizeof(a) / sizeof(a[0]))])

/* ---- one unit: a group of instructions that stays valid alone ---- */

/* Flag effects relative to the state at the unit's entry: r = read before
 * being written in the unit, d = certainly defined at exit, u = possibly
 * undefined at exit; flags in neither keep their entry state. */
struct unit {
	char text[UNIT_TEXT];
	unsigned r, d, u;
	int ninsn;
	int has_target; /* ends with a branch to @N */
};

static struct unit U;

static void ins(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ins(const char *fmt, ...)
{
	size_t len = strlen(U.text);
	va_list ap;

	if (len)
		len += (size_t)snprintf(U.text + len, UNIT_TEXT - len, "; ");
	va_start(ap, fmt);
	vsnprintf(U.text + len, UNIT_TEXT - len, fmt, ap);
	va_end(ap);
	U.ninsn++;
}

/* A label or directive: part of the text, not counted as an instruction. */
static void lbl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void lbl(const char *fmt, ...)
{
	size_t len = strlen(U.text);
	va_list ap;

	if (len)
		len += (size_t)snprintf(U.text + len, UNIT_TEXT - len, "; ");
	va_start(ap, fmt);
	vsnprintf(U.text + len, UNIT_TEXT - len, fmt, ap);
	va_end(ap);
}

/* Applies one instruction's effect (reads, defines, leaves undefined). */
static void eff(unsigned r, unsigned d, unsigned u)
{
	if (r & U.u) {
		fprintf(stderr, "gen: internal error: unit reads undefined flags: %s\n", U.text);
		exit(1);
	}
	U.r |= r & ~U.d;
	U.d = (U.d | d) & ~u;
	U.u = (U.u | u) & ~d;
}

struct fstate { unsigned d, u; };
static struct fstate fsave(void) { return (struct fstate){ U.d, U.u }; }
/* Two paths join: defined only if defined on both, undefined if on either. */
static void fjoin(struct fstate other)
{
	U.d &= other.d;
	U.u |= other.u;
	U.d &= ~U.u;
}

/* ---- operands ---- */

static const char *const r32[] = { "eax", "ecx", "edx", "ebx", "ebp", "esi", "edi" };
static const char *const r16[] = { "ax", "cx", "dx", "bx", "bp", "si", "di" };
static const char *const r8[] = { "al", "cl", "dl", "bl", "ah", "ch", "dh", "bh" };
static const char *const segs[] = { "ds", "es", "fs", "gs", "ss" };

/* Operands of scratch-in-code cases stay in the half without code: writes
 * by instructions vmx does not emulate into a page of running code stop
 * the VM (an open bug, tests/fuzz/README.md; corpus case code_page_rmw). */
static unsigned scr_limit = SCRATCH_BYTES;

static char bufs[16][96];
static int bufi;
static char *sbuf(void) { bufi = (bufi + 1) % 16; return bufs[bufi]; }

static const char *reg(int size)
{
	return size == 1 ? PICK(r8) : size == 2 ? PICK(r16) : PICK(r32);
}
static char sfx(int size) { return size == 1 ? 'b' : size == 2 ? 'w' : 'l'; }

static uint32_t imm_value(int size)
{
	static const uint32_t special[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000,
		0xffff, 0x7fffffff, 0x80000000u, 0xffffffffu, 31, 32, 33, 63 };
	uint32_t v;

	switch (below(4)) {
	case 0: v = below(16); break;
	case 1: v = (uint32_t)(int32_t)(int8_t)rnd(); break;
	case 2: v = PICK(special); break;
	default: v = rnd(); break;
	}
	if (size == 1)
		v &= 0xff;
	else if (size == 2)
		v &= 0xffff;
	return v;
}

static const char *imm(int size)
{
	char *b = sbuf();
	snprintf(b, 96, "$0x%x", imm_value(size));
	return b;
}

static const char *segpfx(void)
{
	static const char *const p[] = { "", "", "", "%ds:", "%es:", "%fs:", "%gs:", "%ss:" };
	return PICK(p);
}

/* A memory operand that can never fault: the sequence's scratch area
 * (absolute, any segment override) or the frame above the entry ESP. */
static const char *mem(int size)
{
	char *b = sbuf();
	unsigned align = chance(60) ? (unsigned)size : 1;
	if (chance(75)) {
		unsigned off = below(scr_limit - 16) & ~(align - 1);
		snprintf(b, 96, "%sSCR+%u", segpfx(), off);
	} else {
		unsigned off = below(FRAME_BYTES) & ~(align - 1);
		snprintf(b, 96, "%s%u(%%esp)", chance(20) ? "%ss:" : "", off);
	}
	return b;
}

/* An absolute scratch address for operands that must be 16-byte aligned. */
static unsigned scr_off(unsigned align, unsigned room)
{
	return below(scr_limit - room) & ~(align - 1);
}

static const char *rm(int size, int mem_pct)
{
	if (chance((unsigned)mem_pct))
		return mem(size);
	char *b = sbuf();
	snprintf(b, 96, "%%%s", reg(size));
	return b;
}

static int rsize(void)
{
	static const int s[] = { 1, 2, 4, 4, 4 };
	return PICK(s);
}

/* ---- condition codes ---- */

struct cc { const char *n; unsigned r; };
static const struct cc ccs[] = {
	{ "o", OF }, { "no", OF }, { "b", CF }, { "ae", CF }, { "e", ZF }, { "ne", ZF },
	{ "be", CF | ZF }, { "a", CF | ZF }, { "s", SF }, { "ns", SF }, { "p", PF },
	{ "np", PF }, { "l", SF | OF }, { "ge", SF | OF }, { "le", ZF | SF | OF },
	{ "g", ZF | SF | OF },
};

/* ---- unit generators ---- */

static void u_alu2(void)
{
	static const char *const ops[] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp", "test" };
	const char *op = PICK(ops);
	int size = rsize();
	int lock = 0;
	const char *src, *dst;

	switch (below(5)) {
	case 0: src = rm(size, 0); dst = rm(size, 0); break;
	case 1: src = imm(size); dst = rm(size, 0); break;
	case 2: src = mem(size); dst = rm(size, 0); break;
	case 3: src = rm(size, 0); dst = mem(size); lock = strcmp(op, "cmp") && strcmp(op, "test") && chance(25); break;
	default: src = imm(size); dst = mem(size); lock = strcmp(op, "cmp") && strcmp(op, "test") && chance(25); break;
	}
	if (!strcmp(op, "test") && src[0] == '%' && dst[0] != '%') {
		const char *t = src; src = dst; dst = t;
	}
	if (!strcmp(op, "test") && src[0] != '%' && src[0] != '$') {
		const char *t = src; src = dst; dst = t;
	}
	ins("%s%s%c %s, %s", lock ? "lock " : "", op, sfx(size), src, dst);
	if (!strcmp(op, "adc") || !strcmp(op, "sbb"))
		eff(CF, ALL6, 0);
	else if (!strcmp(op, "and") || !strcmp(op, "or") || !strcmp(op, "xor") || !strcmp(op, "test"))
		eff(0, LOGIC_D, AF);
	else
		eff(0, ALL6, 0);
}

static void u_alu1(void)
{
	static const char *const ops[] = { "inc", "dec", "neg", "not" };
	const char *op = PICK(ops);
	int size = rsize();
	const char *d = rm(size, 35);
	int lock = d[0] != '%' && strcmp(op, "neg") && chance(30);

	ins("%s%s%c %s", lock ? "lock " : "", op, sfx(size), d);
	if (!strcmp(op, "neg"))
		eff(0, ALL6, 0);
	else if (strcmp(op, "not"))
		eff(0, PF | AF | ZF | SF | OF, 0);
}

/* Shift and rotate counts: immediates 0..255 (masked to 5 bits by the CPU)
 * or CL, whose value comes from the data seed. */
static void u_shift(void)
{
	static const char *const ops[] = { "shl", "shr", "sar", "sal", "rol", "ror", "rcl", "rcr" };
	const char *op = PICK(ops);
	int size = rsize();
	int bits = size * 8;
	const char *d = rm(size, 30);
	int rot = op[0] == 'r', thru = rot && op[1] == 'c';
	int use_cl = chance(40);
	unsigned count = 0, m;

	if (use_cl) {
		ins("%s%c %%cl, %s", op, sfx(size), d);
	} else {
		static const unsigned sp[] = { 0, 1, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 255 };
		count = chance(50) ? PICK(sp) : below(256);
		ins("%s%c $%u, %s", op, sfx(size), count, d);
	}
	m = count & 31;
	if (use_cl) {
		/* Any count: zero leaves everything, nonzero defines what it sets. */
		unsigned u = OF | (rot ? 0 : AF) | (!rot && bits < 32 ? CF : 0);
		eff(thru ? CF : 0, 0, u);
		return;
	}
	if (m == 0) {
		eff(thru ? CF : 0, 0, 0);
		return;
	}
	if (rot) {
		eff(thru ? CF : 0, CF | (m == 1 ? OF : 0), m == 1 ? 0 : OF);
		return;
	}
	{
		unsigned dd = PF | ZF | SF | CF, uu = AF;
		if ((int)m >= bits) {
			dd &= ~CF;
			uu |= CF;
		}
		if (m == 1)
			dd |= OF;
		else
			uu |= OF;
		eff(0, dd, uu);
	}
}

static void u_shld(void)
{
	const char *op = chance(50) ? "shld" : "shrd";
	const char *src = reg(4), *d = rm(4, 30);

	if (chance(40)) {
		ins("%sl %%cl, %%%s, %s", op, src, d);
		eff(0, 0, OF | AF);
	} else {
		unsigned c = chance(30) ? below(3) : below(256), m = c & 31;
		ins("%sl $%u, %%%s, %s", op, c, src, d);
		if (m)
			eff(0, CF | PF | ZF | SF | (m == 1 ? OF : 0), AF | (m == 1 ? 0 : OF));
	}
}

static void u_bt(void)
{
	static const char *const ops[] = { "bt", "bts", "btr", "btc" };
	const char *op = PICK(ops);
	int size = chance(25) ? 2 : 4;
	int lock = strcmp(op, "bt") && chance(25);

	switch (below(3)) {
	case 0:
		ins("%s%c %%%s, %%%s", op, sfx(size), reg(size), reg(size));
		break;
	case 1: {
		const char *d = rm(size, 50);
		ins("%s%s%c $%u, %s", lock && d[0] != '%' ? "lock " : "", op, sfx(size), below(256), d);
		break;
	}
	default: {
		/* A register bit offset reaches beyond the operand: bound it. */
		int ri = (int)below(7);
		ins("andl $0xff, %%%s", r32[ri]);
		eff(0, LOGIC_D, AF);
		ins("%s%s%c %%%s, SCR+%u", lock ? "lock " : "", op, sfx(size),
		    size == 2 ? r16[ri] : r32[ri], scr_off(4, 64));
		break;
	}
	}
	eff(0, CF, OF | SF | AF | PF);
}

static void u_bswap_xadd_cmpxchg(void)
{
	int size = rsize();

	switch (below(5)) {
	case 0:
		ins("bswap %%%s", reg(4));
		break;
	case 1: {
		const char *d = rm(size, 50);
		ins("%sxadd%c %%%s, %s", d[0] != '%' && chance(40) ? "lock " : "", sfx(size), reg(size), d);
		eff(0, ALL6, 0);
		break;
	}
	case 2: {
		const char *d = rm(size, 50);
		ins("%scmpxchg%c %%%s, %s", d[0] != '%' && chance(40) ? "lock " : "", sfx(size), reg(size), d);
		eff(0, ALL6, 0);
		break;
	}
	case 3: {
		/* Make a match likely sometimes: copy EDX:EAX into the operand. */
		unsigned off = scr_off(8, 16);
		if (chance(50)) {
			ins("movl %%eax, SCR+%u", off);
			ins("movl %%edx, SCR+%u", off + 4);
		}
		/* QEMU 7.2 builds the flags cmpxchg8b keeps from its lazy state
		 * without evaluating it first (README: known differences): a
		 * popf hands it evaluated flags. */
		ins("pushfl");
		ins("popfl");
		ins("movl $0, -4(%%esp)");
		ins("%scmpxchg8b %sSCR+%u", chance(40) ? "lock " : "", segpfx(), off);
		eff(0, ZF, 0);
		break;
	}
	default:
		if (chance(50))
			ins("xchg%c %%%s, %s", sfx(size), reg(size), mem(size));
		else
			ins("xchg%c %%%s, %%%s", sfx(size), reg(size), reg(size));
		break;
	}
}

static void u_setcc_cmov(void)
{
	const struct cc *c = &PICK(ccs);

	if (chance(50)) {
		ins("set%s %s", c->n, rm(1, 40));
	} else {
		int size = chance(30) ? 2 : 4;
		ins("cmov%s %s, %%%s", c->n, rm(size, 40), reg(size));
	}
	eff(c->r, 0, 0);
}

static void u_mul(void)
{
	int size = rsize();

	switch (below(4)) {
	case 0: ins("mul%c %s", sfx(size), rm(size, 40)); break;
	case 1: ins("imul%c %s", sfx(size), rm(size, 40)); break;
	case 2:
		if (size == 1)
			size = 4;
		ins("imul%c %s, %%%s", sfx(size), rm(size, 40), reg(size));
		break;
	default:
		if (size == 1)
			size = 2;
		ins("imul%c %s, %s, %%%s", sfx(size), imm(size), rm(size, 40), reg(size));
		break;
	}
	eff(0, CF | OF, PF | ZF | SF | AF);
}

/* Division guarded so that it never raises #DE: zero divisors are skipped
 * and the dividend's high half is made smaller than the divisor. */
static void u_div(void)
{
	static const int ri[] = { 0, 1, 3, 4, 5, 6 }; /* not EDX */
	static const int r8i[] = { 1, 2, 3, 5, 6, 7 }; /* not AH/AL... see below */
	int sign = chance(50);
	int size = rsize();
	struct fstate skip;

	if (size == 4) {
		const char *d = r32[PICK(ri)];
		ins("testl %%%s, %%%s", d, d);
		eff(0, LOGIC_D, AF);
		ins("jz {L}z");
		skip = fsave();
		if (sign) {
			if (!strcmp(d, "eax")) {
				ins("cltd");
			} else {
				ins("cltd");
				ins("cmpl $-1, %%%s", d);
				ins("jne {L}d");
				ins("cmpl $0x80000000, %%eax");
				ins("je {L}z");
				eff(0, ALL6, 0);
				skip.u |= AF;
				lbl("{L}d:");
			}
			ins("idivl %%%s", d);
		} else {
			ins("cmpl %%%s, %%edx", d);
			ins("jb {L}d");
			ins("xorl %%edx, %%edx");
			lbl("{L}d:");
			ins("divl %%%s", d);
		}
	} else if (size == 2) {
		const char *d = r16[PICK(ri)];
		ins("testw %%%s, %%%s", d, d);
		eff(0, LOGIC_D, AF);
		ins("jz {L}z");
		skip = fsave();
		if (sign) {
			ins("cwtd");
			if (strcmp(d, "ax")) {
				ins("cmpw $-1, %%%s", d);
				ins("jne {L}d");
				ins("cmpw $0x8000, %%ax");
				ins("je {L}z");
				skip.u |= AF;
				lbl("{L}d:");
			}
			ins("idivw %%%s", d);
		} else {
			ins("cmpw %%%s, %%dx", d);
			ins("jb {L}d");
			ins("xorw %%dx, %%dx");
			lbl("{L}d:");
			ins("divw %%%s", d);
		}
	} else {
		const char *d = r8[PICK(r8i)];
		ins("testb %%%s, %%%s", d, d);
		eff(0, LOGIC_D, AF);
		ins("jz {L}z");
		skip = fsave();
		if (sign) {
			ins("cbtw");
			ins("cmpb $-1, %%%s", d);
			ins("jne {L}d");
			ins("cmpb $0x80, %%al");
			ins("je {L}z");
			lbl("{L}d:");
			ins("idivb %%%s", d);
		} else {
			ins("cmpb %%%s, %%ah", d);
			ins("jb {L}d");
			ins("xorb %%ah, %%ah");
			lbl("{L}d:");
			ins("divb %%%s", d);
		}
	}
	eff(0, 0, ALL6);
	lbl("{L}z:");
	fjoin(skip);
}

static void u_bsf(void)
{
	const char *s = reg(4), *d = reg(4);
	struct fstate skip;

	ins("testl %%%s, %%%s", s, s);
	eff(0, LOGIC_D, AF);
	ins("jz {L}z");
	skip = fsave();
	ins("%s %%%s, %%%s", chance(50) ? "bsfl" : "bsrl", s, d);
	eff(0, ZF, CF | OF | SF | AF | PF);
	lbl("{L}z:");
	fjoin(skip);
}

static void u_mov(void)
{
	int size = rsize();

	switch (below(7)) {
	case 0: ins("mov%c %s, %%%s", sfx(size), rm(size, 40), reg(size)); break;
	case 1: ins("mov%c %%%s, %s", sfx(size), reg(size), mem(size)); break;
	case 2: ins("mov%c %s, %s", sfx(size), imm(size), rm(size, 40)); break;
	case 3: {
		static const char *const x[] = { "movzbl", "movsbl", "movzwl", "movswl", "movzbw", "movsbw" };
		const char *op = PICK(x);
		int ss = op[4] == 'b' ? 1 : 2;
		int ds = op[5] == 'l' ? 4 : 2;
		ins("%s %s, %%%s", op, rm(ss, 40), reg(ds));
		break;
	}
	case 4: {
		static const char *const sc[] = { "1", "2", "4", "8" };
		static const char *const b32[] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };
		char disp[32];
		snprintf(disp, sizeof disp, "%d", (int32_t)imm_value(4));
		int w = chance(20);
		if (chance(50))
			ins("lea%c %s(%%%s,%%%s,%s), %%%s", w ? 'w' : 'l', disp, PICK(b32), reg(4), PICK(sc), reg(w ? 2 : 4));
		else
			ins("lea%c %s(%%%s), %%%s", w ? 'w' : 'l', disp, PICK(b32), reg(w ? 2 : 4));
		break;
	}
	case 5: {
		static const char *const x[] = { "cwtl", "cltd", "cbtw", "cwtd" };
		ins("%s", PICK(x));
		break;
	}
	default: {
		static const char *const n[] = { "nop", "nopl 0(%eax)", "nopw 0(%eax,%eax,1)",
			".byte 0x66, 0x90", "pause", "nopl 0x12345678(%esi,%edi,4)" };
		ins("%s", PICK(n));
		break;
	}
	}
}

static void u_bcd(void)
{
	switch (below(6)) {
	case 0: ins("daa"); eff(AF | CF, CF | AF | SF | ZF | PF, OF); break;
	case 1: ins("das"); eff(AF | CF, CF | AF | SF | ZF | PF, OF); break;
	case 2: ins("aaa"); eff(AF, AF | CF, OF | SF | ZF | PF); break;
	case 3: ins("aas"); eff(AF, AF | CF, OF | SF | ZF | PF); break;
	case 4: ins("aam $%u", 1 + below(255)); eff(0, SF | ZF | PF, OF | AF | CF); break;
	default: ins("aad $%u", below(256)); eff(0, SF | ZF | PF, OF | AF | CF); break;
	}
}

static void u_flags(void)
{
	switch (below(9)) {
	case 0: ins("clc"); eff(0, CF, 0); break;
	case 1: ins("stc"); eff(0, CF, 0); break;
	case 2: ins("cmc"); eff(CF, CF, 0); break;
	case 3: ins("%s", chance(50) ? "cld" : "std"); break;
	case 4: ins("sahf"); eff(0, SF | ZF | AF | PF | CF, 0); break;
	case 5:
		/* The converter masks bits that are undefined at this point. */
		ins("lahf");
		ins("andb ${NOTU8}, %%ah");
		eff(0, LOGIC_D, AF);
		break;
	case 6: {
		const char *d = reg(4);
		ins("pushfl");
		ins("andl ${NOTU}, (%%esp)");
		ins("popl %%%s", d);
		eff(0, LOGIC_D, AF);
		break;
	}
	case 7:
		/* popf with data: arithmetic flags, DF, IOPL, NT, AC and ID may
		 * change; IF and TF stay clear (no IDT for interrupts or #DB). */
		ins("pushl %%%s", reg(4));
		ins("andl $0x247cd5, (%%esp)");
		ins("popfl");
		eff(0, ALL6, 0);
		break;
	default:
		ins("cli");
		break;
	}
}

static void u_string(void)
{
	static const char *const ops[] = { "movs", "stos", "lods", "cmps", "scas" };
	const char *op = PICK(ops);
	int size = rsize();
	int is_cmp = op[0] == 'c' || op[1] == 'c';
	const char *rep = "";
	const char *seg = chance(40) ? segpfx() : "";

	if (chance(80))
		rep = is_cmp ? (chance(50) ? "repe " : "repne ") : "rep ";
	/* Both pointers inside [SCR+128, SCR+512) whatever the direction. */
	ins("andl $0x7f, %%esi");
	ins("addl $SCR+320, %%esi");
	ins("andl $0x7f, %%edi");
	ins("addl $SCR+320, %%edi");
	ins("andl $0x%x, %%ecx", chance(20) ? 0 : 31u >> (size == 4 ? 1 : 0));
	eff(0, LOGIC_D, AF);
	ins("addl $0, %%ecx");
	eff(0, ALL6, 0);
	ins("%s", chance(50) ? "cld" : "std");
	if (!*seg || !strcmp(op, "stos") || !strcmp(op, "scas")) {
		ins("%s%s%c", rep, op, sfx(size));
	} else if (!strcmp(op, "movs")) {
		ins("%s%s%c %s(%%esi), %%es:(%%edi)", rep, op, sfx(size), seg);
	} else if (!strcmp(op, "lods")) {
		ins("%s%s%c %s(%%esi)", rep, op, sfx(size), seg);
	} else {
		ins("%s%s%c %%es:(%%edi), %s(%%esi)", rep, op, sfx(size), seg);
	}
	if (is_cmp)
		eff(0, ALL6, 0);
}

/* Pushes then pops of matching sizes, so ESP is back where it started. */
static void u_stack(void)
{
	int n = 1 + (int)below(4);
	int sizes[4];

	if (chance(10)) {
		ins("pushal");
		if (chance(50))
			ins("movl %%%s, %u(%%esp)", reg(4), 4 * below(8));
		ins("popal");
		return;
	}
	for (int i = 0; i < n; i++) {
		sizes[i] = chance(15) ? 2 : 4;
		char s = sfx(sizes[i]);
		switch (below(5)) {
		case 0: ins("push%c %s", s, imm(sizes[i])); break;
		case 1: ins("push%c %s", s, mem(sizes[i])); break;
		case 2:
			if (sizes[i] == 4) {
				ins("pushl %%esp");
				break;
			}
			/* fall through */
		default: ins("push%c %%%s", s, reg(sizes[i])); break;
		}
	}
	for (int i = n - 1; i >= 0; i--) {
		char s = sfx(sizes[i]);
		if (chance(30))
			ins("pop%c %s", s, mem(sizes[i]));
		else
			ins("pop%c %%%s", s, reg(sizes[i]));
	}
}

static void u_frame(void)
{
	static const char *const nb[] = { "eax", "ecx", "edx", "ebx", "esi", "edi" };
	unsigned size = 4 * (1 + below(8));
	int level = (int)below(2);
	int nbody = 1 + (int)below(3);

	ins("enter $%u, $%d", size, level);
	for (int i = 0; i < nbody; i++) {
		unsigned off = 4 * (1 + below(size / 4));
		switch (below(3)) {
		case 0: ins("movl %%%s, -%u(%%ebp)", reg(4), off); break;
		case 1: ins("addl -%u(%%ebp), %%%s", off, PICK(nb)); eff(0, ALL6, 0); break;
		default: ins("subl %%%s, %u(%%esp)", reg(4), 4 * below(size / 4)); eff(0, ALL6, 0); break;
		}
	}
	ins("leave");
}

static void u_x87(void)
{
	static const char *const bin[] = { "faddp", "fsubp", "fsubrp", "fmulp", "fdivp", "fdivrp" };
	static const char *const un[] = { "fsqrt", "fchs", "fabs", "frndint" };
	static const char *const ld[] = { "fildl", "filds", "fildll" };
	static const char *const st[] = { "fistpl", "fistps", "fistpll", "fstpl", "fstps", "fstpt" };

	switch (below(5)) {
	case 0:
		/* A double of any bits in and out (NaNs and denormals too). */
		ins("fldl %sSCR+%u", segpfx(), scr_off(8, 16));
		ins("fstpl SCR+%u", scr_off(4, 16));
		return;
	case 1: {
		ins("%s SCR+%u", PICK(ld), scr_off(4, 16));
		ins("%s SCR+%u", PICK(ld), scr_off(4, 16));
		ins("fcomip %%st(1), %%st");
		ins("fstp %%st(0)");
		/* fcomi clears OF, SF and AF; QEMU keeps them (README). */
		eff(0, ZF | PF | CF, OF | SF | AF);
		return;
	}
	default:
		break;
	}
	ins("%s %sSCR+%u", PICK(ld), segpfx(), scr_off(4, 16));
	switch (below(3)) {
	case 0: ins("%s", PICK(un)); break;
	case 1: {
		static const char *const k[] = { "fld1", "fldz", "fldpi", "fldl2e" };
		ins("%s", PICK(k));
		ins("%s", PICK(bin));
		break;
	}
	default:
		ins("%s SCR+%u", PICK(ld), scr_off(4, 16));
		ins("%s", PICK(bin));
		if (chance(30))
			ins("%s", PICK(un));
		break;
	}
	ins("%s %sSCR+%u", PICK(st), segpfx(), scr_off(4, 16));
}

static void u_sse(void)
{
	static const char *const iops[] = { "paddb", "paddw", "paddd", "paddq", "psubb", "psubw",
		"psubd", "psubq", "pand", "pandn", "por", "pxor", "pcmpeqb", "pcmpeqw", "pcmpeqd",
		"pcmpgtb", "pcmpgtw", "pcmpgtd", "pmullw", "pmulhw", "pmulhuw", "pmuludq", "pmaddwd",
		"punpcklbw", "punpckhbw", "punpckldq", "punpckhqdq", "packsswb", "packuswb", "packssdw",
		"pmaxub", "pminub", "pmaxsw", "pminsw", "pavgb", "pavgw", "psadbw", "paddusb",
		"psubusw", "paddsw", "psubsb", "unpcklps", "unpckhpd" };
	static const char *const shops[] = { "psllw", "psrlw", "psraw", "pslld", "psrld", "psrad",
		"psllq", "psrlq", "pslldq", "psrldq", "pshufd", "pshuflw", "pshufhw" };
	static const char *const fops[] = { "addps", "subps", "mulps", "divps", "minps", "maxps",
		"sqrtps", "andps", "xorps" };
	int a = (int)below(8), b = (int)below(8);

	ins("movdqu %sSCR+%u, %%xmm%d", segpfx(), scr_off(1, 32), a);
	switch (below(5)) {
	case 0:
	case 1:
		if (chance(50))
			ins("movdqa SCR+%u, %%xmm%d", scr_off(16, 32), b);
		else
			ins("movdqu %sSCR+%u, %%xmm%d", segpfx(), scr_off(1, 32), b);
		ins("%s %%xmm%d, %%xmm%d", PICK(iops), b, a);
		break;
	case 2: {
		const char *op = PICK(shops);
		if (op[1] == 's' && op[2] == 'h') {
			ins("%s $%u, %%xmm%d, %%xmm%d", op, below(256), a, b);
			a = b;
		} else
			ins("%s $%u, %%xmm%d", op, chance(70) ? below(20) : below(256), a);
		break;
	}
	case 3:
		/* Floats from integers, so the values are ordinary numbers. */
		ins("movdqu SCR+%u, %%xmm%d", scr_off(1, 32), b);
		ins("cvtdq2ps %%xmm%d, %%xmm%d", a, a);
		ins("cvtdq2ps %%xmm%d, %%xmm%d", b, b);
		ins("%s %%xmm%d, %%xmm%d", PICK(fops), b, a);
		if (chance(50))
			ins("cvtps2dq %%xmm%d, %%xmm%d", a, a);
		if (chance(30)) {
			ins("%s %%xmm%d, %%xmm%d", chance(50) ? "comiss" : "ucomiss", b, a);
			eff(0, ALL6, 0);
		}
		break;
	default: {
		const char *d = reg(4);
		switch (below(4)) {
		case 0: ins("movd %%xmm%d, %%%s", a, d); break;
		case 1: ins("pmovmskb %%xmm%d, %%%s", a, d); break;
		case 2: ins("pextrw $%u, %%xmm%d, %%%s", below(8), a, d); break;
		default: ins("movd %%%s, %%xmm%d", d, a); ins("pinsrw $%u, %%%s, %%xmm%d", below(8), reg(4), a); break;
		}
		break;
	}
	}
	ins("movdqu %%xmm%d, %sSCR+%u", a, segpfx(), scr_off(1, 32));
}

/* A forward branch to a later unit; the converter resolves @N to the first
 * unit at or after N that survived minimization. */
static void u_jcc(int id)
{
	int target = id + 1 + (int)below(8);
	const struct cc *c = &PICK(ccs);

	switch (below(6)) {
	case 0:
		ins("jmp @%d", target);
		break;
	case 1:
		ins("cmp%c %s, %%%s", 'l', chance(50) ? imm(4) : rm(4, 30), reg(4));
		eff(0, ALL6, 0);
		ins("j%s @%d", c->n, target);
		eff(c->r, 0, 0);
		break;
	case 2:
		ins("jecxz {L}s");
		ins("addl %%%s, %%%s", reg(4), reg(4));
		eff(0, ALL6, 0);
		lbl("{L}s:");
		U.d = 0;
		U.u &= 0;
		return;
	default:
		ins("j%s @%d", c->n, target);
		eff(c->r, 0, 0);
		break;
	}
	U.has_target = 1;
}

static void u_loop(void)
{
	static const char *const lp[] = { "loop", "loope", "loopne" };
	const char *op = PICK(lp);
	static const int nc[] = { 0, 2, 3, 4, 5, 6 }; /* not ECX (r32 order) */

	ins("pushl %%ecx");
	ins("movl $%u, %%ecx", 1 + below(12));
	lbl("{L}l:");
	int n = 1 + (int)below(3);
	for (int i = 0; i < n; i++) {
		static const char *const ops[] = { "add", "sub", "cmp", "adc", "sbb" };
		const char *o = PICK(ops);
		ins("%sl %s, %%%s", o, chance(50) ? imm(4) : "%eax", r32[PICK(nc)]);
		eff(o[1] == 'd' && o[2] == 'c' ? CF : o[0] == 's' && o[1] == 'b' ? CF : 0, ALL6, 0);
	}
	ins("%s {L}l", op);
	ins("popl %%ecx");
}

/* Calls: a local subroutine, indirect through a register, through the
 * harness's function tables (shared by every site, so the indirect-branch
 * caches see many targets), get-EIP, push/ret, and a jump table. */
static void u_call(void)
{
	const char *t = reg(4);

	switch (below(6)) {
	case 0:
		ins("call {L}f");
		ins("jmp {L}e");
		lbl("{L}f:");
		ins("addl %s, %%%s", imm(4), reg(4));
		ins("ret");
		lbl("{L}e:");
		eff(0, ALL6, 0);
		break;
	case 1:
		ins("movl %s, %%%s", imm(4), t);
		ins("andl $7, %%%s", t);
		ins("call *fz_fntab(,%%%s,4)", t);
		eff(0, ALL6, 0);
		break;
	case 2:
		ins("movl %s, %%%s", imm(4), t);
		ins("andl $3, %%%s", t);
		ins("pushl %%%s", reg(4));
		ins("call *fz_fntab_ret4(,%%%s,4)", t);
		eff(0, ALL6, 0);
		break;
	case 3:
		ins("call {L}g");
		lbl("{L}g:");
		ins("popl %%%s", t);
		break;
	case 4:
		switch (below(3)) {
		case 0:
			ins("pushl ${A}r");
			ins("ret");
			lbl("{L}r:");
			break;
		case 1:
			ins("movl ${A}r, %%%s", t);
			ins("jmp *%%%s", t);
			lbl("{L}r:");
			break;
		default:
			ins("movl ${A}r, %%%s", t);
			ins("call *%%%s", t);
			lbl("{L}r:");
			ins("addl $4, %%esp");
			eff(0, ALL6, 0);
			break;
		}
		break;
	default: {
		ins("andl $3, %%%s", t);
		ins("jmp *{L}t(,%%%s,4)", t); /* the table stays in .data */
		lbl(".pushsection .data; {L}t: .long {A}0, {A}1, {A}2, {A}3; .popsection");
		for (int i = 0; i < 4; i++) {
			lbl("{L}%d:", i);
			ins("addl %s, %%%s", imm(4), reg(4));
			ins("jmp {L}e");
		}
		lbl("{L}e:");
		eff(0, ALL6, 0);
		break;
	}
	}
}

/* Store an immediate into an instruction ahead, then run it (the monitor
 * must notice the write into translated code). */
static void u_smc(void)
{
	int target = (int)below(7);
	int src = (int)below(7);
	int n = (int)below(3);

	switch (below(3)) {
	case 0:
		ins("movl %%%s, {A}m+1", r32[src]);
		for (int i = 0; i < n; i++) {
			ins("addl %%%s, %%%s", reg(4), reg(4));
			eff(0, ALL6, 0);
		}
		/* mov $imm32, reg */
		lbl("{L}m: .byte 0x%x; .long 0x%x", 0xB8 + (unsigned[]){ 0, 1, 2, 3, 5, 6, 7 }[target], rnd());
		U.ninsn++;
		break;
	case 1:
		ins("movb %%%s, {A}m+2", r8[below(8)]);
		for (int i = 0; i < n; i++)
			ins("leal 1(%%%s), %%%s", reg(4), reg(4));
		/* add $imm8, reg */
		lbl("{L}m: .byte 0x83, 0x%x, 0x%x", 0xC0 + (unsigned[]){ 0, 1, 2, 3, 5, 6, 7 }[target], below(256));
		U.ninsn++;
		eff(0, ALL6, 0);
		break;
	default:
		ins("movl %s, %%%s", imm(4), r32[src]);
		ins("movl %%%s, {A}m+2", r32[src]);
		/* add $imm32, reg */
		lbl("{L}m: .byte 0x81, 0x%x; .long 0", 0xC0 + (unsigned[]){ 0, 1, 2, 3, 5, 6, 7 }[target]);
		U.ninsn++;
		eff(0, ALL6, 0);
		break;
	}
}

static void u_seg(void)
{
	const char *s = PICK(segs);
	int ri = (int)below(7);

	switch (below(7)) {
	case 0:
		ins("movw $0x10, %%%s", r16[ri]);
		ins("movw %%%s, %%%s", r16[ri], s);
		break;
	case 1:
		if (chance(50))
			ins("movw %%%s, %%%s", s, r16[ri]);
		else
			ins("movl %%%s, %%%s", s, r32[ri]);
		break;
	case 2:
		ins("movw %%%s, %s", s, mem(2));
		break;
	case 3:
		ins("pushl %%%s", s);
		ins("popl %%%s", PICK(segs));
		break;
	case 4: {
		/* A null selector in FS/GS reads back as 0; reload it flat. */
		const char *fg = chance(50) ? "fs" : "gs";
		ins("xorl %%%s, %%%s", r32[ri], r32[ri]);
		eff(0, LOGIC_D, AF);
		ins("movw %%%s, %%%s", r16[ri], fg);
		ins("movw %%%s, %%%s", fg, r16[(ri + 1) % 7]);
		ins("movw $0x10, %%%s", r16[ri]);
		ins("movw %%%s, %%%s", r16[ri], fg);
		break;
	}
	case 5: {
		static const char *const l[] = { "lds", "les", "lfs", "lgs" };
		unsigned off = scr_off(4, 16);
		ins("movl %%%s, SCR+%u", r32[ri], off);
		ins("movw $0x10, SCR+%u", off + 4);
		ins("%sl %sSCR+%u, %%%s", PICK(l), segpfx(), off, PICK(r32));
		break;
	}
	default: {
		unsigned off = scr_off(4, 16);
		ins("movl %%esp, SCR+%u", off);
		ins("movw $0x10, SCR+%u", off + 4);
		ins("lssl SCR+%u, %%esp", off);
		break;
	}
	}
}

/* Reads of system state the monitor virtualizes, plus a port write. */
static void u_sys(void)
{
	const char *d = reg(4);

	switch (below(12)) {
	case 8:
		/* Writes that change nothing must change nothing. */
		ins("movl %%cr0, %%%s", d);
		ins("movl %%%s, %%cr0", d);
		break;
	case 9: ins("movl %%cr3, %%%s", d); ins("movl %%%s, %%cr3", d); break;
	case 10: {
		const char *t = chance(50) ? "gdt" : "idt";
		unsigned off = scr_off(2, 16);
		ins("s%s SCR+%u", t, off);
		ins("l%s SCR+%u", t, off);
		break;
	}
	case 11: ins("%s", chance(50) ? "clts" : chance(50) ? "wbinvd" : "invlpg SCR"); break;
	case 0: ins("movl %%cr0, %%%s", d); break;
	case 1: ins("movl %%cr2, %%%s", d); break;
	case 2: ins("movl %%cr3, %%%s", d); break;
	case 3: ins("movl %%cr4, %%%s", d); break;
	case 4: ins("smsw %%%s", reg(2)); break;
	case 5: ins("%s SCR+%u", chance(50) ? "sgdt" : "sidt", scr_off(2, 16)); break;
	case 6: ins("%s %%%s", chance(50) ? "sldt" : "str", reg(2)); break;
	default: ins("outb %%al, $0x80"); break;
	}
}

/* An instruction that leaves translated code for the monitor: a port
 * write, a segment load, an emulated read, a trapping store next to code,
 * an interrupt through the guest's IDT. State held in registers the
 * instruction does not name (x87, SSE, flags) must survive it. */
static void disturb(void)
{
	switch (below(5)) {
	case 0: ins("outb %%al, $0x80"); break;
	case 1: ins("pushl %%eax"); ins("movw $0x10, %%ax"); ins("movw %%ax, %%%s", PICK(segs)); ins("popl %%eax"); break;
	case 2: ins("pushl %%eax"); ins("movl %%cr0, %%eax"); ins("popl %%eax"); break;
	case 3: ins("movl %%%s, fz_scratch_code+%u", reg(4), SCRATCH_BYTES / 2 + 4 * below(120)); break;
	default:
		/* The CPU pushes the flags where the checksum sees them. */
		ins("cmpl %%esi, %%edi");
		eff(0, ALL6, 0);
		ins("int $0x81");
		break;
	}
}

static void u_fpstate(void)
{
	switch (below(4)) {
	case 0:
		ins("fildl SCR+%u", scr_off(4, 16));
		ins("fildl SCR+%u", scr_off(4, 16));
		disturb();
		ins("fdivrp");
		ins("fistpl SCR+%u", scr_off(4, 16));
		break;
	case 1: {
		/* Rounding and precision control across the exit. */
		unsigned k = below(6);
		ins("fldcw fz_fpucw+%u", 2 * k);
		ins("fildl SCR+%u", scr_off(4, 16));
		ins("fildl SCR+%u", scr_off(4, 16));
		ins("%s", chance(50) ? "fdivp" : "fmulp");
		disturb();
		ins("%s", chance(50) ? "fsqrt" : "frndint");
		ins("%s SCR+%u", chance(50) ? "fistpl" : "fstpl", scr_off(4, 16));
		ins("fldcw fz_fpucw");
		break;
	}
	case 2: {
		int a = (int)below(8);
		ins("movdqu SCR+%u, %%xmm%d", scr_off(1, 32), a);
		disturb();
		ins("paddd SCR+%u, %%xmm%d", scr_off(16, 32), a);
		ins("movdqu %%xmm%d, SCR+%u", a, scr_off(1, 32));
		break;
	}
	default: {
		int a = (int)below(8), b = (a + 1) % 8;
		ins("ldmxcsr fz_mxcsr+%u", 4 * below(5));
		ins("cvtdq2ps SCR+%u, %%xmm%d", scr_off(16, 32), a);
		ins("cvtdq2ps SCR+%u, %%xmm%d", scr_off(16, 32), b);
		ins("divps %%xmm%d, %%xmm%d", b, a);
		disturb();
		ins("cvtps2dq %%xmm%d, %%xmm%d", a, a);
		ins("movdqu %%xmm%d, SCR+%u", a, scr_off(1, 32));
		ins("ldmxcsr fz_mxcsr");
		break;
	}
	}
}

/* Exceptions and software interrupts through the harness's handlers,
 * which log vector, EIP and error code (hashed) and resume faults at
 * fz_resume. The flags are defined first: the CPU pushes them. */
static void u_exc(void)
{
	ins("cmpl %%%s, %%%s", reg(4), reg(4));
	eff(0, ALL6, 0);
	switch (below(7)) {
	case 0: ins("int $0x81"); return;
	case 1: ins("int3"); return;
	case 2: ins("into"); return;
	default: break;
	}
	ins("movl ${A}r, fz_resume");
	switch (below(4)) {
	case 0:
		ins("ud2");
		break;
	case 1:
		ins("pushl %%ecx");
		ins("subl %%ecx, %%ecx");
		ins("divl %%ecx");
		lbl("{L}r:");
		ins("popl %%ecx");
		ins("movl $0, fz_resume");
		return;
	case 2:
		ins("boundl %%%s, SCR+%u", reg(4), scr_off(4, 16));
		break;
	default: {
		static const struct { unsigned sel; const char *seg; } bad[] = {
			{ 0x18, "ds" }, { 0x1b, "es" }, { 0x04, "fs" }, { 0x13, "ds" }, { 0x08, "ss" },
			{ 0x00, "ss" }, { 0x0b, "gs" }, { 0x10 | 3, "ss" },
		};
		int k = (int)below(sizeof bad / sizeof bad[0]);
		ins("pushl %%eax");
		ins("movl $0x%x, %%eax", bad[k].sel);
		ins("movw %%ax, %%%s", bad[k].seg);
		lbl("{L}r:");
		ins("popl %%eax");
		ins("movl $0, fz_resume");
		return;
	}
	}
	lbl("{L}r:");
	ins("movl $0, fz_resume");
}

/* Far transfers within ring 0 and iret, all callouts in vmx. NT is cleared
 * first so iret is never a task return. */
static void u_far(void)
{
	switch (below(6)) {
	case 0:
		ins("pushl %%cs");
		ins("pushl ${A}r");
		ins("lret");
		lbl("{L}r:");
		break;
	case 1:
		ins("lcall $0x08, ${A}f");
		ins("jmp {L}e");
		lbl("{L}f:");
		ins("addl %s, %%%s", imm(4), reg(4));
		ins("lret");
		lbl("{L}e:");
		eff(0, ALL6, 0);
		break;
	case 2:
		ins("ljmp $0x08, ${A}r");
		lbl("{L}r:");
		break;
	case 3:
		ins("pushl %%%s", reg(4));
		ins("pushl %%cs");
		ins("pushl ${A}r");
		ins("lret $4");
		lbl("{L}r:");
		break;
	case 4:
		ins("pushfl");
		ins("andl $0xffffbfff, (%%esp)");
		ins("popfl");
		ins("movl $0, -4(%%esp)");
		ins("pushfl");
		ins("pushl %%cs");
		ins("pushl ${A}r");
		ins("iretl");
		lbl("{L}r:");
		/* The pushed flags stay below ESP, where the checksum looks. */
		ins("movl $0, -4(%%esp)");
		break;
	default:
		/* iret loading new arithmetic flags, DF, IOPL, AC, ID. */
		ins("pushfl");
		ins("andl $0xffffbfff, (%%esp)");
		ins("popfl");
		ins("movl $0, -4(%%esp)");
		ins("pushl %%%s", reg(4));
		ins("andl $0x243cd5, (%%esp)");
		ins("pushl %%cs");
		ins("pushl ${A}r");
		ins("iretl");
		lbl("{L}r:");
		eff(0, ALL6, 0);
		break;
	}
}

struct kind { void (*gen)(void); unsigned weight; };
static void u_jcc_dummy(void) {}
static const struct kind kinds[] = {
	{ u_alu2, 30 }, { u_alu1, 6 }, { u_shift, 14 }, { u_shld, 4 }, { u_bt, 5 },
	{ u_bswap_xadd_cmpxchg, 6 }, { u_setcc_cmov, 8 }, { u_mul, 5 }, { u_div, 4 },
	{ u_bsf, 2 }, { u_mov, 10 }, { u_bcd, 2 }, { u_flags, 7 }, { u_string, 6 },
	{ u_stack, 6 }, { u_frame, 2 }, { u_x87, 4 }, { u_sse, 5 }, { u_jcc_dummy, 10 },
	{ u_loop, 2 }, { u_call, 5 }, { u_smc, 3 }, { u_seg, 4 }, { u_sys, 2 }, { u_fpstate, 3 }, { u_exc, 3 }, { u_far, 3 },
};

static void gen_unit(int id)
{
	unsigned total = 0, pick;

	memset(&U, 0, sizeof U);
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		total += kinds[i].weight;
	pick = below(total);
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (pick < kinds[i].weight) {
			if (kinds[i].gen == u_jcc_dummy)
				u_jcc(id);
			else
				kinds[i].gen();
			return;
		}
		pick -= kinds[i].weight;
	}
}

static int cmd_random(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: gen random SEED NSEQ NUNITS OUTDIR\n");
		return 2;
	}
	unsigned long long seed = strtoull(argv[2], NULL, 0);
	int nseq = atoi(argv[3]), nunits = atoi(argv[4]);
	long total = 0;

	for (int s = 0; s < nseq; s++) {
		char path[4096];
		FILE *f;
		rng_state = (seed * 0x9E3779B97F4A7C15ull) ^ ((unsigned long long)s * 0xD1B54A32D192ED03ull) ^ 1;
		for (int i = 0; i < 4; i++)
			rnd();
		snprintf(path, sizeof path, "%s/r%llu_%d.case", argv[5], seed, s);
		f = fopen(path, "w");
		if (!f) {
			fprintf(stderr, "gen: %s: %s\n", path, strerror(errno));
			return 1;
		}
		fprintf(f, "# vmx fuzz case (tests/fuzz/README.md): generated by gen random %llu, sequence %d\n", seed, s);
		fprintf(f, "name r%llu_%d\n", seed, s);
		fprintf(f, "dataseed 0x%08x\n", rnd());
		fprintf(f, "slot %d\n", s % 200);
		{
			/* Scratch in code pages stops vmx today (README: open bugs);
			 * FUZZ_CODE_SCRATCH=1 turns it back on. */
			int code = getenv("FUZZ_CODE_SCRATCH") && chance(20);
			scr_limit = code ? SCRATCH_BYTES / 2 : SCRATCH_BYTES;
			fprintf(f, "scratch %s\n", code ? "code" : "data");
		}
		for (int i = 0; i < nunits; i++) {
			gen_unit(i);
			total += U.ninsn;
			fprintf(f, "u %d %d %x %x %x %s\n", i, U.ninsn, U.r, U.d, U.u, U.text);
		}
		fclose(f);
	}
	printf("%ld\n", total);
	return 0;
}

/* ---- case files -> guest assembly ---- */

struct cunit { int id, ninsn; unsigned r, d, u; char *text; };
struct ccase {
	char name[64];
	uint32_t dataseed;
	int code_scratch;
	int slot; /* where it runs: FZ_SEQ_VMA + slot * FZ_SEQ_MAX */
	struct cunit *units;
	int n;
};

static int read_case(const char *path, struct ccase *c)
{
	FILE *f = fopen(path, "r");
	char line[UNIT_TEXT + 256];
	int cap = 0;

	if (!f) {
		fprintf(stderr, "gen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	memset(c, 0, sizeof *c);
	snprintf(c->name, sizeof c->name, "case");
	c->slot = -1;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "name ", 5)) {
			snprintf(c->name, sizeof c->name, "%.63s", line + 5);
		} else if (!strncmp(line, "dataseed ", 9)) {
			c->dataseed = (uint32_t)strtoul(line + 9, NULL, 0);
		} else if (!strncmp(line, "slot ", 5)) {
			c->slot = atoi(line + 5);
		} else if (!strncmp(line, "scratch ", 8)) {
			c->code_scratch = !strcmp(line + 8, "code");
		} else if (!strncmp(line, "u ", 2)) {
			struct cunit cu;
			int used = 0;
			if (sscanf(line, "u %d %d %x %x %x %n", &cu.id, &cu.ninsn, &cu.r, &cu.d, &cu.u, &used) < 5 || !used) {
				fprintf(stderr, "gen: %s: bad unit line: %s\n", path, line);
				fclose(f);
				return -1;
			}
			cu.text = strdup(line + used);
			if (c->n == cap) {
				cap = cap ? cap * 2 : 64;
				c->units = realloc(c->units, (size_t)cap * sizeof *c->units);
			}
			c->units[c->n++] = cu;
		}
	}
	fclose(f);
	return 0;
}

/* Writes one unit's text with its placeholders replaced. */
static void put_unit(FILE *o, int seq, const struct ccase *c, int k, unsigned undef,
		     const char *scr, unsigned *pending)
{
	const char *p = c->units[k].text;
	char prefix[64];

	snprintf(prefix, sizeof prefix, "fz%d_%d_", seq, c->units[k].id);
	fputc('\t', o);
	while (*p) {
		if (!strncmp(p, "{A}", 3)) {
			/* Where the label is once the sequence is copied to run. */
			const char *q = p + 3;
			while (isalnum((unsigned char)*q) || *q == '_')
				q++;
			fprintf(o, "(FZ_SEQ_VMA + %d * FZ_SEQ_MAX + (%s%.*s - fz_seq%d))", c->slot, prefix,
				(int)(q - p - 3), p + 3, seq);
			p = q;
		} else if (!strncmp(p, "{L}", 3)) {
			fputs(prefix, o);
			p += 3;
		} else if (!strncmp(p, "{NOTU}", 6)) {
			fprintf(o, "0x%x", ~undef);
			p += 6;
		} else if (!strncmp(p, "{NOTU8}", 7)) {
			fprintf(o, "0x%x", ~undef & 0xffu);
			p += 7;
		} else if (!strncmp(p, "SCR", 3)) {
			fputs(scr, o);
			p += 3;
		} else if (*p == '@' && isdigit((unsigned char)p[1])) {
			int want = (int)strtol(p + 1, (char **)&p, 10), j = k + 1;
			while (j < c->n && c->units[j].id < want)
				j++;
			if (j < c->n)
				fprintf(o, "fz%d_u%d", seq, c->units[j].id);
			else
				fprintf(o, "fz%d_end", seq);
			pending[j] |= 1; /* marks a join; the state is merged by the caller */
		} else {
			fputc(*p++, o);
		}
	}
	fputc('\n', o);
}

static int cmd_asm(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: gen asm OUT.S CASE...\n");
		return 2;
	}
	FILE *o = fopen(argv[2], "w");
	int ncase = argc - 3;
	long total = 0;
	struct ccase c;

	if (!o) {
		fprintf(stderr, "gen: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	fprintf(o, "/* Generated by tests/fuzz/gen.c from %d case file(s): do not edit. */\n", ncase);
	fprintf(o, "#include \"harness.h\"\n");
	fprintf(o, "\t.section .rodata\nfz_names:\n");
	for (int i = 0; i < ncase; i++) {
		if (read_case(argv[3 + i], &c))
			return 1;
		fprintf(o, "fz_name%d: .asciz \"%s\"\n", i, c.name);
	}
	/* The table is written after the code, once the final masks are known. */
	char *table = calloc((size_t)ncase, 160);
	/* Sequences are data here: the harness copies each to FZ_SEQ_VMA,
	 * so a case sees the same addresses in any guest. */
	fprintf(o, "\t.section .rodata\n");
	for (int i = 0; i < ncase; i++) {
		read_case(argv[3 + i], &c);
		if (c.slot < 0 || c.slot >= 200)
			c.slot = i % 200;
		unsigned undef = 0;
		unsigned *pend = calloc((size_t)c.n + 1, sizeof *pend);
		unsigned *pmask = calloc((size_t)c.n + 1, sizeof *pmask);
		const char *scr = c.code_scratch ? "fz_scratch_code" : "fz_scratch_data";

		fprintf(o, "\t.p2align 4\nfz_seq%d:\n", i);
		for (int k = 0; k < c.n; k++) {
			const struct cunit *u = &c.units[k];
			undef |= pmask[k];
			fprintf(o, "fz%d_u%d:\n", i, u->id);
			if (u->r & undef) {
				/* Something made these flags undefined: define them. */
				fprintf(o, "\tcmpl %%esi, %%edi\n");
				undef = 0;
				total++;
			}
			memset(pend, 0, ((size_t)c.n + 1) * sizeof *pend);
			put_unit(o, i, &c, k, undef, scr, pend);
			undef = (undef & ~u->d) | u->u;
			for (int j = 0; j <= c.n; j++)
				if (pend[j])
					pmask[j] |= undef;
			total += u->ninsn;
		}
		undef |= pmask[c.n];
		fprintf(o, "fz%d_end:\n\tjmp *fz_done_ptr\nfz_seq%d_end:\n", i, i);
		snprintf(table + 160 * i, 160, "\t.long fz_seq%d, fz_seq%d_end - fz_seq%d, FZ_SEQ_VMA + %d * FZ_SEQ_MAX, 0x%x, 0x%08x, fz_name%d\n",
			 i, i, i, c.slot, ~undef, c.dataseed, i);
		free(pend);
		free(pmask);
	}
	fprintf(o, "\t.section .rodata\n\t.p2align 2\n\t.globl fz_seq_table, fz_seq_count\n"
		   "fz_seq_count: .long %d\nfz_seq_table:\n", ncase);
	for (int i = 0; i < ncase; i++)
		fputs(table + 160 * i, o);
	fprintf(o, "\t.section .note.GNU-stack, \"\", @progbits\n");
	fclose(o);
	printf("%ld\n", total);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "random"))
		return cmd_random(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "asm"))
		return cmd_asm(argc, argv);
	fprintf(stderr, "usage: gen random SEED NSEQ NUNITS OUTDIR   (writes OUTDIR/r<SEED>_<k>.case)\n"
			"       gen asm OUT.S CASE...                (one guest sequence per case; prints the instruction count)\n");
	return 2;
}
