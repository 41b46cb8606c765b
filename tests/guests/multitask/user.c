/* multitask guest: the user programs, run at ring 3 by kernel.c. fpu (twice):
 * %gs TLS as glibc uses it, x87 and SSE state kept live across many
 * preemptions with different rounding modes; mem: demand-paged heap, fork
 * with a copied address space, unmap, then a wild pointer; sel: the host's
 * selectors against this GDT, lar/lsl/verr/verw/sgdt/str from ring 3, what
 * popf may not change at CPL 3, a single step, probes that fault, then hlt.
 * Everything here lands in the utext, usys and urodata sections, the only
 * kernel-image pages mapped for ring 3. Code that loads or reads segment
 * registers, or pushf/popf, lives in usys, on pages of its own, so that
 * the rest (the compute loops, the demand paging, the probes that trap)
 * may run directly on the CPU under vmx. Nothing may call into the
 * kernel's text or use its data: no globals, no library calls, no jump
 * tables, and literals through S().
 * Environment: ring 3, interrupts on, preempted at any instruction. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel.h"

#pragma GCC optimize("no-tree-loop-distribute-patterns", "no-jump-tables")

#define UFN __attribute__((section("utext"), noinline))
#define USYS __attribute__((section("usys"), noinline))
#define UINL static inline __attribute__((always_inline))
/* A string literal that ring 3 can read. */
#define S(lit) ({ static const char s_[] __attribute__((section("urodata"))) = lit; s_; })

UINL uint32_t sys0(uint32_t n)
{
	uint32_t r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(n) : "memory");
	return r;
}

UINL uint32_t sys2(uint32_t n, uint32_t a, uint32_t b)
{
	uint32_t r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b) : "memory");
	return r;
}

UINL __attribute__((noreturn)) void sys_exit(int code)
{
	sys2(SYS_EXIT, (uint32_t)code, 0);
	__builtin_unreachable();
}

USYS static void set_fs(uint32_t sel) { __asm__ volatile("movw %w0, %%fs" : : "r"(sel) : "memory"); }
USYS static void set_gs(uint32_t sel) { __asm__ volatile("movw %w0, %%gs" : : "r"(sel) : "memory"); }

/* ---- formatted output through SYS_WRITE ---- */

struct ubuf { char b[160]; uint32_t n; };

UFN static void ub_putc(struct ubuf *u, char c)
{
	if (u->n < sizeof(u->b))
		u->b[u->n++] = c;
}

UFN static void ub_num(struct ubuf *u, uint32_t v, unsigned base, int width, int neg)
{
	char t[12];
	int n = 0;
	do {
		uint32_t d = v % base;
		t[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v);
	if (neg)
		ub_putc(u, '-');
	for (int i = n; i < width; i++)
		ub_putc(u, '0');
	while (n)
		ub_putc(u, t[--n]);
}

/* %s %c %d %u %x, with a zero-padded width for numbers. */
UFN static void uprintf(const char *fmt, ...)
{
	struct ubuf u;
	u.n = 0;
	va_list ap;
	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			ub_putc(&u, *fmt);
			continue;
		}
		int width = 0;
		fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		char c = *fmt;
		if (c == 's') {
			for (const char *s = va_arg(ap, const char *); *s; s++)
				ub_putc(&u, *s);
		} else if (c == 'c') {
			ub_putc(&u, (char)va_arg(ap, int));
		} else if (c == 'd') {
			int v = va_arg(ap, int);
			ub_num(&u, v < 0 ? (uint32_t)-v : (uint32_t)v, 10, width, v < 0);
		} else if (c == 'u') {
			ub_num(&u, va_arg(ap, uint32_t), 10, width, 0);
		} else if (c == 'x') {
			ub_num(&u, va_arg(ap, uint32_t), 16, width, 0);
		} else {
			ub_putc(&u, c);
		}
	}
	va_end(ap);
	sys2(SYS_WRITE, (uint32_t)u.b, u.n);
}

UFN static const char *yes(int c) { return c ? S("yes") : S("NO"); }

/* ---- probes that may fault ----
 * The kernel resumes a faulting probe at label 1 with EAX = vector,
 * EDX = error code (DR6.BS for #DB) and ECX = CR2 (#PF) or the EIP of the
 * frame; one that completes leaves EAX = -1. */
#define PROBE(vec, edx, ecx, body, ...)						\
	__asm__ volatile("movl %[sys_catch], %%eax\n\tmovl $1f, %%ebx\n\tint $0x80\n\t" \
			 "xorl %%ecx, %%ecx\n\txorl %%edx, %%edx\n\t"			\
			 body "\n\t"							\
			 "movl $-1, %%eax\n"						\
			 "1:\n"								\
			 : "=a"(vec), "=d"(edx), "=c"(ecx)				\
			 : [sys_catch] "i"(SYS_CATCH), ##__VA_ARGS__			\
			 : "ebx", "memory")

UFN static void report(const char *what, uint32_t vec, uint32_t edx, uint32_t ecx, int with_cr2)
{
	if (vec == 0xffffffffu)
		uprintf(S("%s: completed, read 0x%08x\n"), what, edx);
	else if (with_cr2)
		uprintf(S("%s: vector %u error 0x%04x cr2 0x%08x\n"), what, vec, edx, ecx);
	else
		uprintf(S("%s: vector %u error 0x%04x\n"), what, vec, edx);
	sys2(SYS_CATCH, 0, 0);
}

/* Loads sel into %fs and reads %fs:off. */
USYS static uint32_t probe_fs(uint32_t sel, uint32_t off)
{
	uint32_t vec, edx, ecx;
	PROBE(vec, edx, ecx, "movw %w[sel], %%fs\n\tmovl %%fs:(%[off]), %%edx", [sel] "S"(sel), [off] "D"(off));
	set_fs(UDATA);
	uprintf(S("mov 0x%02x to %%fs, read %%fs:0x%08x"), sel, off);
	report(S(""), vec, edx, ecx, 0);
	return vec;
}

/* Loads sel into %ss and back, reading the new %ss in between. */
USYS static uint32_t probe_ss(uint32_t sel)
{
	uint32_t vec, edx, ecx;
	PROBE(vec, edx, ecx, "movw %w[sel], %%ss\n\tmovw %%ss, %%dx\n\tmovw %w[ud], %%ss",
	      [sel] "S"(sel), [ud] "D"(UDATA));
	uprintf(S("mov 0x%02x to %%ss"), sel);
	report(S(""), vec, edx, ecx, 0);
	return vec;
}

/* Defined by the single-step probe in user_sel. */
extern const char user_step_next[];

/* ---- fpu: TLS, then x87 and SSE state across preemptions ---- */

USYS static int tls_check(uint32_t pid)
{
	uint32_t tcb = TLS_TCB(pid), self, m4, m8, pushed, gs;
	set_gs(TLS_SEL);
	__asm__ volatile("movl %%gs:0, %0" : "=r"(self));
	__asm__ volatile("movl %0, %%gs:-4" : : "r"(0xA000u | pid) : "memory");
	__asm__ volatile("movl $0, %%gs:-8" : : : "memory");
	__asm__ volatile("addl %0, %%gs:-8" : : "r"(pid * 3) : "memory", "cc");
	__asm__ volatile("pushl %%gs:-4\n\tpopl %0" : "=r"(pushed));
	__asm__ volatile("movw %%gs, %w0" : "=r"(gs));
	m4 = *(volatile uint32_t *)(tcb - 4);
	m8 = *(volatile uint32_t *)(tcb - 8);
	int ok = self == tcb && m4 == (0xA000u | pid) && m8 == pid * 3 && pushed == m4 && (gs & 0xffff) == TLS_SEL;
	uprintf(S("tls: %%gs 0x%02x, %%gs:0 is the TCB: %s, %%gs:-4 0x%x, %%gs:-8 %u, push %%gs:-4 0x%x\n"),
		gs & 0xffff, yes(self == tcb), m4, m8, pushed);
	return !ok;
}

struct fpu_io {
	uint64_t x87_init, x87_out;
	uint64_t keep_init, keep_out;		/* st(1): must survive untouched */
	uint32_t xmm0_init[4], ones[4], pat2[4], pat7[4];
	uint32_t xmm0_out[4], xmm2_out[4], xmm7_out[4];
	uint32_t halves[4];			/* 3.5, 2.5, -3.5, 0.75 as floats */
	int32_t cvt_out[4];
	uint32_t seven, two;
	int32_t div_out;
	uint32_t mxcsr, mxcsr_out;
	uint16_t fcw, fcw_out;
	uint32_t tcb, tls_bad, chunks, want;
};

#define FPU_CHUNK 20000u
#define FPU_PREEMPTS 20u

UFN static int fpu_run(uint32_t pid)
{
	struct fpu_io io;
	int trunc = !(pid & 1);			/* odd pids round to nearest, even ones toward zero */
	io.x87_init = pid * 1000000ull;
	io.keep_init = 0x123456789ABCDEF0ull + pid;
	for (int i = 0; i < 4; i++) {
		io.xmm0_init[i] = pid << (8 * i);
		io.ones[i] = 1;
		io.pat2[i] = 0x22220000u | (pid << 8) | (uint32_t)i;
		io.pat7[i] = 0x77770000u | (pid << 8) | (uint32_t)i;
	}
	io.halves[0] = 0x40600000u; io.halves[1] = 0x40200000u;
	io.halves[2] = 0xC0600000u; io.halves[3] = 0x3F400000u;
	io.seven = 7; io.two = 2;
	io.fcw = trunc ? 0x0F7F : 0x037F;
	io.mxcsr = trunc ? 0x7F80 : 0x1F80;
	io.tcb = TLS_TCB(pid);
	io.tls_bad = 0;
	io.want = FPU_PREEMPTS;
	__asm__ volatile(
		"fninit\n\t"
		"fldcw %c[fcw](%%edi)\n\t"
		"ldmxcsr %c[mxcsr](%%edi)\n\t"
		"fildll %c[keep](%%edi)\n\t"
		"fildll %c[x87](%%edi)\n\t"
		"movdqu %c[x0](%%edi), %%xmm0\n\t"
		"movdqu %c[ones](%%edi), %%xmm1\n\t"
		"movdqu %c[p2](%%edi), %%xmm2\n\t"
		"movdqu %c[p7](%%edi), %%xmm7\n\t"
		"xorl %%esi, %%esi\n"
		"1:\tmovl %[chunk], %%ecx\n"
		"2:\tfld1\n\t"
		"faddp\n\t"
		"paddd %%xmm1, %%xmm0\n\t"
		"decl %%ecx\n\t"
		"jnz 2b\n\t"
		"incl %%esi\n\t"
		/* The TLS base must be this process's after every switch. */
		"movl %%gs:0, %%eax\n\t"
		"cmpl %c[tcb](%%edi), %%eax\n\t"
		"je 3f\n\t"
		"incl %c[tlsbad](%%edi)\n"
		"3:\tmovl %[sys_pre], %%eax\n\t"
		"int $0x80\n\t"
		"cmpl %c[want](%%edi), %%eax\n\t"
		"jb 1b\n\t"
		"movl %%esi, %c[chunks](%%edi)\n\t"
		"fistpll %c[x87o](%%edi)\n\t"
		"fistpll %c[keepo](%%edi)\n\t"
		"movdqu %%xmm0, %c[x0o](%%edi)\n\t"
		"movdqu %%xmm2, %c[p2o](%%edi)\n\t"
		"movdqu %%xmm7, %c[p7o](%%edi)\n\t"
		"fnstcw %c[fcwo](%%edi)\n\t"
		"stmxcsr %c[mxo](%%edi)\n\t"
		/* Results that depend on the rounding control restored. */
		"fildl %c[seven](%%edi)\n\t"
		"fidivl %c[two](%%edi)\n\t"
		"fistpl %c[divo](%%edi)\n\t"
		"movdqu %c[halves](%%edi), %%xmm3\n\t"
		"cvtps2dq %%xmm3, %%xmm3\n\t"
		"movdqu %%xmm3, %c[cvto](%%edi)\n\t"
		:
		: "D"(&io), [chunk] "i"(FPU_CHUNK), [sys_pre] "i"(SYS_PREEMPTS),
		  [fcw] "i"(offsetof(struct fpu_io, fcw)), [mxcsr] "i"(offsetof(struct fpu_io, mxcsr)),
		  [keep] "i"(offsetof(struct fpu_io, keep_init)), [x87] "i"(offsetof(struct fpu_io, x87_init)),
		  [x0] "i"(offsetof(struct fpu_io, xmm0_init)), [ones] "i"(offsetof(struct fpu_io, ones)),
		  [p2] "i"(offsetof(struct fpu_io, pat2)), [p7] "i"(offsetof(struct fpu_io, pat7)),
		  [tcb] "i"(offsetof(struct fpu_io, tcb)), [tlsbad] "i"(offsetof(struct fpu_io, tls_bad)),
		  [want] "i"(offsetof(struct fpu_io, want)), [chunks] "i"(offsetof(struct fpu_io, chunks)),
		  [x87o] "i"(offsetof(struct fpu_io, x87_out)), [keepo] "i"(offsetof(struct fpu_io, keep_out)),
		  [x0o] "i"(offsetof(struct fpu_io, xmm0_out)), [p2o] "i"(offsetof(struct fpu_io, xmm2_out)),
		  [p7o] "i"(offsetof(struct fpu_io, xmm7_out)), [fcwo] "i"(offsetof(struct fpu_io, fcw_out)),
		  [mxo] "i"(offsetof(struct fpu_io, mxcsr_out)), [seven] "i"(offsetof(struct fpu_io, seven)),
		  [two] "i"(offsetof(struct fpu_io, two)), [divo] "i"(offsetof(struct fpu_io, div_out)),
		  [halves] "i"(offsetof(struct fpu_io, halves)), [cvto] "i"(offsetof(struct fpu_io, cvt_out))
		: "eax", "ecx", "esi", "memory", "cc");
	uint32_t n = io.chunks * FPU_CHUNK;
	int x87_ok = io.x87_out == io.x87_init + n && io.keep_out == io.keep_init;
	int sse_ok = 1;
	for (int i = 0; i < 4; i++)
		sse_ok &= io.xmm0_out[i] == io.xmm0_init[i] + n && io.xmm2_out[i] == io.pat2[i] &&
			  io.xmm7_out[i] == io.pat7[i];
	int ctl_ok = io.fcw_out == io.fcw && io.mxcsr_out == io.mxcsr;
	uprintf(S("fpu: preempted %u times or more; x87 st(0)/st(1) kept: %s, xmm0/xmm2/xmm7 kept: %s, "
		  "TLS base kept: %s\n"), FPU_PREEMPTS, yes(x87_ok), yes(sse_ok), yes(io.tls_bad == 0));
	uprintf(S("fpu: fcw 0x%04x mxcsr 0x%04x kept: %s, fidiv 7/2 -> %d, cvtps2dq 3.5 2.5 -3.5 0.75 -> %d %d %d %d\n"),
		io.fcw_out, io.mxcsr_out, yes(ctl_ok), io.div_out, io.cvt_out[0], io.cvt_out[1], io.cvt_out[2],
		io.cvt_out[3]);
	int round_ok = trunc ? io.div_out == 3 && io.cvt_out[0] == 3 && io.cvt_out[2] == -3 && io.cvt_out[3] == 0
			     : io.div_out == 4 && io.cvt_out[0] == 4 && io.cvt_out[2] == -4 && io.cvt_out[3] == 1;
	return !(x87_ok && sse_ok && ctl_ok && round_ok && io.tls_bad == 0 && io.cvt_out[1] == 2);
}

/* getpid through sysenter (the kernel's sysenter_stub, back by sysexit):
 * ESP in ECX, the return address in EDX. On a page of its own kind:
 * vmx runs pages holding sysenter translated. */
USYS static uint32_t sysenter_getpid(void)
{
	uint32_t r;
	__asm__ volatile("movl %%esp, %%ecx\n\tmovl $1f, %%edx\n\tsysenter\n1:"
			 : "=a"(r) : "a"(SYS_GETPID) : "ecx", "edx", "memory", "cc");
	return r;
}

UFN void user_fpu(void)
{
	uint32_t pid = sys0(SYS_GETPID);
	uint32_t pid2 = sysenter_getpid();
	uprintf(S("fpu: getpid through sysenter and sysexit: %s\n"), yes(pid2 == pid));
	int bad = tls_check(pid);
	bad |= fpu_run(pid) << 1;
	sys_exit(bad);
}

/* ---- mem: demand paging, fork, a wild pointer ---- */

#define HEAP_WORD(i) ((volatile uint32_t *)(HEAP_BASE + (i) * 4096u + (i) * 64u))

UFN void user_mem(void)
{
	uint32_t pid = sys0(SYS_GETPID);
	set_gs(TLS_SEL);
	int zero = 1, kept = 1;
	for (uint32_t i = 0; i < 8; i++) {
		zero &= *HEAP_WORD(i) == 0;		/* a read fault maps a zeroed page */
		*HEAP_WORD(i) = 0xC0DE0000u | i;
	}
	*HEAP_WORD(8) = 0xFEED;				/* a write fault */
	for (uint32_t i = 0; i < 8; i++)
		kept &= *HEAP_WORD(i) == (0xC0DE0000u | i);
	kept &= *HEAP_WORD(8) == 0xFEED;
	uprintf(S("mem: pid %u, 9 heap pages demand-paged, fresh pages zero: %s, values kept: %s\n"),
		pid, yes(zero), yes(kept));

	volatile uint32_t local = 0x1234;
	uint32_t child = sys0(SYS_FORK);
	if (child == 0) {
		uint32_t me = sys0(SYS_GETPID), self;
		int copied = local == 0x1234 && *HEAP_WORD(8) == 0xFEED;
		for (uint32_t i = 0; i < 8; i++)
			copied &= *HEAP_WORD(i) == (0xC0DE0000u | i);
		__asm__ volatile("movl %%gs:0, %0" : "=r"(self));
		*HEAP_WORD(0) = 0xCC;
		local = 0x99;
		*HEAP_WORD(9) = 0x5;			/* its own demand-paged page */
		uint32_t slept = sys2(SYS_SLEEP, 50, 0);
		uprintf(S("child: pid %u, fork returned 0, heap and stack copied: %s, TLS inherited: %s, slept 50 ticks: %s\n"),
			me, yes(copied), yes(self == TLS_TCB(pid)), yes(slept == 0));
		sys_exit(copied && self == TLS_TCB(pid) && local == 0x99 ? 0x11 : 0x1f);
	}
	uint32_t st = sys0(SYS_WAIT);
	uprintf(S("mem: fork -> child %u, wait -> pid %u exit 0x%02x, own copy untouched: %s\n"),
		child, st >> 8, st & 0xff, yes(*HEAP_WORD(0) == 0xC0DE0000u && local == 0x1234));
	/* A page given back (the kernel poisons its frame), touched again: a
	 * fault maps a new zeroed frame; a stale mapping would read poison. */
	uint32_t um = sys2(SYS_UNMAP, (uint32_t)HEAP_WORD(3) & ~0xfffu, 0);
	uint32_t again = *HEAP_WORD(3);
	*HEAP_WORD(3) = 0xABCD;
	uprintf(S("mem: unmap of heap page 3: %d, read after: 0x%x, rewritten: %s\n"), (int)um, again,
		yes(*HEAP_WORD(3) == 0xABCD && *HEAP_WORD(2) == 0xC0DE0002u));
	uprintf(S("mem: a write through a wild pointer at 0x0badc0de\n"));
	*(volatile uint32_t *)0x0BADC0DE = 1;
	uprintf(S("mem: survived the wild pointer\n"));
	sys_exit(1);
}

/* ---- sel: selectors and descriptor instructions from ring 3 ---- */

/* popf at CPL 3 with IOPL 0 leaves IF and IOPL alone, silently: the
 * timer must still get in. */
USYS static void popf_checks(void)
{
	uint32_t fl0, fl1, fl2;
	__asm__ volatile("pushfl\n\tpopl %0" : "=r"(fl0));
	__asm__ volatile("pushl %1\n\tpopfl\n\tpushfl\n\tpopl %0" : "=r"(fl1) : "r"(fl0 & ~0x200u) : "cc");
	__asm__ volatile("pushl %1\n\tpopfl\n\tpushfl\n\tpopl %0" : "=r"(fl2) : "r"(fl0 | 0x3000u) : "cc");
	uint32_t before = sys0(SYS_PREEMPTS), spins = 0;
	while (sys0(SYS_PREEMPTS) == before && spins < 4000)
		for (volatile uint32_t k = 0; k < 50000; k++)
			spins += k == 0;
	uprintf(S("popf at CPL 3: eflags IF %u IOPL %u; after popf without IF: IF %u; after popf with IOPL 3: "
		  "IOPL %u; the timer still preempts: %s\n"), (fl0 >> 9) & 1, (fl0 >> 12) & 3, (fl1 >> 9) & 1,
		(fl2 >> 12) & 3, yes(sys0(SYS_PREEMPTS) != before));
}

/* The probes whose instructions trap (run directly by vmx where the page
 * allows: every way out of direct execution, delivered as hardware does). */
void user_sel(void);

UFN static void user_traps(uint32_t gdt, uint32_t idt)
{
	uint32_t vec, edx, ecx;
	PROBE(vec, edx, ecx, "movl %%eax, (%[a])", [a] "S"(gdt + 8));
	uprintf(S("write to the GDT (cr2 is its address: %s)"), yes(ecx == gdt + 8));
	report(S(""), vec, edx, ecx, 0);
	PROBE(vec, edx, ecx, "movl (%[a]), %%edx", [a] "S"(idt + 0x400));
	uprintf(S("read of the IDT (cr2 is its address: %s)"), yes(ecx == idt + 0x400));
	report(S(""), vec, edx, ecx, 0);
	PROBE(vec, edx, ecx, "movl %%eax, (%[a])", [a] "S"((uint32_t)user_sel + 1));
	uprintf(S("write to its own code (cr2 is its address: %s)"), yes(ecx == (uint32_t)user_sel + 1));
	report(S(""), vec, edx, ecx, 0);
	PROBE(vec, edx, ecx, "int3");
	report(S("int3 through a DPL-3 gate"), vec, edx, ecx, 0);
	PROBE(vec, edx, ecx, "movl $0x7fffffff, %%eax\n\taddl $1, %%eax\n\tinto");
	report(S("into with OF set"), vec, edx, ecx, 0);
	PROBE(vec, edx, ecx, "ud2");
	report(S("ud2"), vec, edx, ecx, 0);
	PROBE(vec, edx, ecx, "divl %%ecx");
	report(S("divl by zero"), vec, edx, ecx, 0);
	PROBE(vec, edx, ecx, "int $0x81");
	report(S("int $0x81 through a DPL-0 gate"), vec, edx, ecx, 0);
	PROBE(vec, edx, ecx, "cli");
	report(S("cli at CPL 3"), vec, edx, ecx, 0);
	PROBE(vec, edx, ecx, "inb $0x80, %%al");
	report(S("inb at CPL 3 without IOPL"), vec, edx, ecx, 0);
}

/* esc (only with "escape" on the kernel's command line): loads 0x2b, the
 * host's flat data selector and an empty slot of this GDT, into %gs by an
 * instruction hidden inside another (reached by an indirect jump into
 * its middle), on a page that otherwise runs directly under vmx. On
 * hardware, under QEMU and translated the load raises #GP(0x28) and the
 * kernel kills the process; run natively in the user-level world it
 * would load the host's descriptor, and vmx must stop the VM saying so
 * rather than let it go on (tests/scripts/run-guests.sh). */
UFN void user_escape(void)
{
	uprintf(S("esc: mov 0x2b to %%gs, hidden inside another instruction\n"));
	/* The FPU once: the kernel's lazy switching then leaves CR0.TS
	 * clear for this process, which direct execution needs. */
	__asm__ volatile("fninit");
	uint32_t to;
	__asm__ volatile("movl $1f + 1, %0\n\t"
			 "movl %1, %%eax\n\t"
			 "jmp *%0\n"
			 "1:\t.byte 0xb8, 0x8e, 0xe8, 0x90, 0x90"	/* mov $imm32,%eax; inside: mov %eax,%gs */
			 : "=&r"(to) : "i"(0x2b) : "eax", "memory");
	uprintf(S("esc: the load went through\n"));
	sys_exit(1);
}

static const uint16_t sel_list[] __attribute__((section("urodata"))) = {
	KCODE, KDATA, UCODE, UDATA, SEL_EMPTY, TLS_SEL, TSS_SEL | 3, UDATA_HI, PERCPU_SEL | 3, SEL_BEYOND,
};

USYS void user_sel(void)
{
	uint32_t fs, cs, ss, ds;
	/* Before anything else: the kernel's DPL-0 %fs must not have survived
	 * the iret to ring 3 (a trap in between saves and restores the null). */
	__asm__ volatile("movw %%fs, %w0" : "=r"(fs));
	uint32_t pid = sys0(SYS_GETPID);
	__asm__ volatile("movw %%cs, %w0\n\tmovw %%ss, %w1\n\tmovw %%ds, %w2" : "=r"(cs), "=r"(ss), "=r"(ds));
	uprintf(S("sel: pid %u, cs 0x%02x ss 0x%02x ds 0x%02x (RPL %u), %%fs after the first iret 0x%02x\n"), pid,
		cs & 0xffff, ss & 0xffff, ds & 0xffff, cs & 3, fs & 0xffff);
	set_fs(UDATA);

	/* The host's selectors mean this GDT's slots 5, 6 and 15 here. */
	probe_fs(SEL_EMPTY, 0);
	probe_fs(TLS_SEL, 0);
	probe_fs(UDATA_HI, USER_DATA);
	probe_fs(KDATA, USER_DATA);
	probe_fs(TSS_SEL | 3, 0);
	probe_fs(PERCPU_SEL, 0);
	probe_fs(SEL_BEYOND, 0);
	probe_fs(0x34, 0);			/* TI=1: there is no LDT */
	probe_ss(UDATA_HI);
	probe_ss(SEL_EMPTY);
	probe_ss(TLS_SEL);
	probe_ss(UCODE);

	for (unsigned i = 0; i < sizeof(sel_list) / sizeof(sel_list[0]); i++) {
		uint32_t sel = sel_list[i], ar = 0, lim = 0;
		uint8_t zar, zlim, zr, zw;
		__asm__ volatile("larl %k2, %0\n\tsetz %1" : "+r"(ar), "=q"(zar) : "r"(sel) : "cc");
		__asm__ volatile("lsll %k2, %0\n\tsetz %1" : "+r"(lim), "=q"(zlim) : "r"(sel) : "cc");
		__asm__ volatile("verr %w2\n\tsetz %0\n\tverw %w2\n\tsetz %1" : "=q"(zr), "=q"(zw) : "r"(sel) : "cc");
		uprintf(S("ring 3: selector 0x%04x lar %s 0x%08x lsl %s 0x%08x verr %s verw %s\n"), sel,
			zar ? S("ok") : S("--"), zar ? ar : 0, zlim ? S("ok") : S("--"), zlim ? lim : 0,
			zr ? S("ok") : S("--"), zw ? S("ok") : S("--"));
	}

	struct __attribute__((packed)) { uint16_t limit; uint32_t base; } g, i;
	uint32_t tr = 0;
	__asm__ volatile("sgdt %0\n\tsidt %1\n\tstr %w2" : "=m"(g), "=m"(i), "+r"(tr));
	uprintf(S("ring 3: sgdt limit 0x%04x, sidt limit 0x%04x, same page: %s, str 0x%04x\n"),
		g.limit, i.limit, yes((g.base >> 12) == (i.base >> 12)), tr & 0xffff);

	user_traps(g.base, i.base);
	uint32_t vec, edx, ecx;
	/* The trap comes after the instruction that follows popf. */
	PROBE(vec, edx, ecx, "pushfl\n\torl $0x100, (%%esp)\n\tpopfl\n\tmovl $1, %%edx\n"
	      "user_step_next:\n\tnop\n\tnop");
	uprintf(S("single step (TF set by popf; trap after the next instruction: %s)"),
		yes(ecx == (uint32_t)user_step_next));
	report(S(""), vec, edx, ecx, 0);
	for (int n = 0; n < 3; n++)
		sys0(SYS_YIELD);
	popf_checks();
	uprintf(S("sel: now hlt at CPL 3\n"));
	__asm__ volatile("hlt");
	uprintf(S("sel: survived hlt\n"));
	sys_exit(1);
}
