/* c_os_exc.c - foreign multiboot guest, C at -Os (entry and 256 IDT stubs as top-level asm):
 * raises #DE #DB #BP #OF #BR #UD #NM #DF #NP #SS #GP #MF on purpose, records vector/error/EIP,
 * fixes up and prints a line each. Polled COM1; exit 0x30 (status 97) pass, 0x31.. failure. */
#include <stdint.h>

/* ------------------------------------------------------------ entry, stubs */

__asm__(
	".section .mboot, \"a\"\n"
	".align 4\n"
	".long 0x1BADB002, 0x00000002, -(0x1BADB002 + 0x00000002)\n"
	".text\n"
	".globl start\n"
	"start:\n"
	"	cli\n"
	"	movl $kstack_top, %esp\n"
	"	pushl %ebx\n"
	"	pushl %eax\n"
	"	call kmain\n"
	"0:	hlt\n"
	"	jmp 0b\n"

	/* 256 stubs, 16 bytes apart; a dummy error code where the CPU has none */
	".align 16\n"
	".globl stubs\n"
	"stubs:\n"
	".set vec, 0\n"
	".rept 256\n"
	".align 16\n"
	".if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17)\n"
	"	pushl $vec\n"
	".else\n"
	"	pushl $0\n"
	"	pushl $vec\n"
	".endif\n"
	"	jmp isr_common\n"
	".set vec, vec + 1\n"
	".endr\n"

	/* Records the event in recs[], then: resume_eip (one shot) replaces the
	 * saved EIP; hook (if set) runs as C with a flat stack; iret.
	 * Stack after the two pushes: ds, eax, vec, err, eip, cs, eflags. */
	"isr_common:\n"
	"	pushl %eax\n"
	"	pushl %ds\n"
	"	movl $0x10, %eax\n"
	"	movw %ax, %ds\n"
	"	cmpl $10000, nevents\n"
	"	jae runaway\n"
	"	incl nevents\n"
	"	pushl %ebx\n"
	"	movl nrecs, %ebx\n"
	"	cmpl $32, %ebx\n"
	"	jae 2f\n"
	"	incl nrecs\n"
	"	shll $4, %ebx\n"
	"	addl $recs, %ebx\n"
	"	movl 12(%esp), %eax\n"
	"	movl %eax, 0(%ebx)\n"       /* vector */
	"	movl 16(%esp), %eax\n"
	"	movl %eax, 4(%ebx)\n"       /* error code */
	"	movl 20(%esp), %eax\n"
	"	movl %eax, 8(%ebx)\n"       /* eip */
	"	movl 24(%esp), %eax\n"
	"	movl %eax, 12(%ebx)\n"      /* cs */
	"2:	popl %ebx\n"
	"	movl resume_eip, %eax\n"
	"	testl %eax, %eax\n"
	"	jz 3f\n"
	"	movl %eax, 16(%esp)\n"
	"	movl $0, resume_eip\n"
	"3:	cmpl $0, hook\n"
	"	je 4f\n"
	"	movw %ss, %ax\n"
	"	cmpw $0x10, %ax\n"
	"	jne 4f\n"                   /* C only on the flat stack */
	"	pushal\n"
	"	pushl %es\n"
	"	movl $0x10, %eax\n"
	"	movw %ax, %es\n"
	"	cld\n"
	"	call *hook\n"
	"	popl %es\n"
	"	popal\n"
	"4:	popl %ds\n"
	"	popl %eax\n"
	"	addl $8, %esp\n"
	"	iret\n"

	"runaway:\n"
	"	movw $0xF4, %dx\n"
	"	movl $0x3F, %eax\n"
	"	outl %eax, %dx\n"
	"	hlt\n");

/* ------------------------------------------------------------ basics */

struct rec {
	uint32_t vec, err, eip, cs;
};
struct rec recs[32];
volatile uint32_t nrecs, nevents;
volatile uint32_t resume_eip;
void (*volatile hook)(void);
uint32_t fault_at, next_at; /* set by each test's asm: the insn and the one after */

uint8_t kstack[16384] __attribute__((aligned(16)));
extern uint8_t kstack_top[];
__asm__(".globl kstack_top\n.set kstack_top, kstack + 16384\n");
extern char stubs[];
uint8_t small_stack[4096] __attribute__((aligned(4096)));
uint8_t small_data[256] __attribute__((aligned(256)));

static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0,%1" ::"a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p)
{
	uint8_t v;
	__asm__ volatile("inb %1,%0" : "=a"(v) : "Nd"(p));
	return v;
}

static void putc_(char c)
{
	while (!(inb(0x3FD) & 0x20))
		;
	outb(0x3F8, c);
}

static void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}

static void puthex(uint32_t v, int digits)
{
	while (digits--)
		putc_("0123456789abcdef"[(v >> (digits * 4)) & 15]);
}

static void putdec(uint32_t v)
{
	char b[12];
	int i = 0;
	do
		b[i++] = (char)('0' + v % 10);
	while (v /= 10);
	while (i)
		putc_(b[--i]);
}

static __attribute__((noreturn)) void leave(uint32_t code)
{
	while (!(inb(0x3FD) & 0x40))
		;
	__asm__ volatile("outl %0, %w1" ::"a"(code), "d"(0xF4));
	for (;;)
		__asm__ volatile("hlt");
}

/* ------------------------------------------------------------ descriptors */

static uint64_t gdt[16] __attribute__((aligned(8)));
static uint64_t idt[256] __attribute__((aligned(8)));
static struct __attribute__((packed)) {
	uint16_t limit;
	uint32_t base;
} gdtr, idtr;

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_RODATA 0x18
#define SEL_NP_DATA 0x20
#define SEL_SMALLSTACK 0x28
#define SEL_XONLY 0x30
#define SEL_DPL3DATA 0x38
#define SEL_NP_STACK 0x40
#define SEL_SMALLDATA 0x48
#define SEL_EXPDOWN 0x50

static uint64_t seg(uint32_t base, uint32_t limit, uint32_t access, uint32_t flags)
{
	uint64_t d = (limit & 0xFFFF) | ((uint64_t)(base & 0xFFFFFF) << 16);
	d |= (uint64_t)(access & 0xFF) << 40;
	d |= (uint64_t)((limit >> 16) & 0xF) << 48;
	d |= (uint64_t)(flags & 0xF) << 52;
	d |= (uint64_t)(base >> 24) << 56;
	return d;
}

static void lidt_limit(uint16_t limit)
{
	idtr.limit = limit;
	idtr.base = (uint32_t)idt;
	__asm__ volatile("lidt %0" ::"m"(idtr));
}

static void setup_tables(void)
{
	gdt[0] = 0;
	gdt[SEL_CODE / 8] = seg(0, 0xFFFFF, 0x9A, 0xC);
	gdt[SEL_DATA / 8] = seg(0, 0xFFFFF, 0x92, 0xC);
	gdt[SEL_RODATA / 8] = seg(0, 0xFFFFF, 0x90, 0xC);
	gdt[SEL_NP_DATA / 8] = seg(0, 0xFFFFF, 0x12, 0xC);
	gdt[SEL_SMALLSTACK / 8] = seg((uint32_t)small_stack, 0xFFF, 0x92, 0x4);
	gdt[SEL_XONLY / 8] = seg(0, 0xFFFFF, 0x98, 0xC);
	gdt[SEL_DPL3DATA / 8] = seg(0, 0xFFFFF, 0xF2, 0xC);
	gdt[SEL_NP_STACK / 8] = seg(0, 0xFFFFF, 0x12, 0xC);
	gdt[SEL_SMALLDATA / 8] = seg((uint32_t)small_data, 0xFF, 0x92, 0x4);
	/* expand-down: valid offsets 0xFFFFF000..0xFFFFFFFF land on small_stack */
	gdt[SEL_EXPDOWN / 8] = seg((uint32_t)small_stack + 0x1000, 0xFFFFE, 0x96, 0xC);
	gdtr.limit = 11 * 8 - 1;
	gdtr.base = (uint32_t)gdt;
	__asm__ volatile("lgdt %0\n\t"
			 "ljmp $0x08, $1f\n"
			 "1:\tmovw $0x10, %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%fs\n\t"
			 "movw %%ax, %%gs\n\t"
			 "movw %%ax, %%ss\n\t" ::"m"(gdtr)
			 : "eax", "memory");
	for (int i = 0; i < 256; i++) {
		uint32_t h = (uint32_t)stubs + 16 * i;
		uint32_t type = i < 32 ? 0x8F : 0x8E; /* trap gates for exceptions */
		idt[i] = (h & 0xFFFF) | ((uint64_t)SEL_CODE << 16) | ((uint64_t)type << 40) |
			 ((uint64_t)(h >> 16) << 48);
	}
	lidt_limit(sizeof idt - 1);
}

/* ------------------------------------------------------------ test harness */

static int failures;

static const char *const names[] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#09", "#TS",
	"#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM",
};

/* Runs fn (an asm block that sets fault_at/next_at around its instruction),
 * then prints every recorded event and compares the first with the
 * expectation. where: 0 = EIP at the instruction, 1 = after it. */
static void run(const char *what, void (*fn)(void), uint32_t vec, uint32_t err, int where)
{
	nrecs = 0;
	fault_at = next_at = 0;
	fn();
	hook = 0;
	resume_eip = 0;
	puts_(what);
	puts_(":");
	if (nrecs == 0)
		puts_(" no exception");
	for (uint32_t i = 0; i < nrecs; i++) {
		struct rec *r = &recs[i];
		puts_(" ");
		puts_(r->vec < 20 ? names[r->vec] : "#??");
		puts_(" vec ");
		putdec(r->vec);
		puts_(" err ");
		puthex(r->err, 4);
		puts_(r->eip == fault_at ? " eip=insn" : r->eip == next_at ? " eip=next" : " eip=other");
	}
	int ok = nrecs == 1 && recs[0].vec == vec && recs[0].err == err &&
		 recs[0].eip == (where ? next_at : fault_at);
	if (vec == 0xFF)
		ok = nrecs == 0;
	puts_(ok ? "  ok\n" : "  MISMATCH\n");
	if (!ok)
		failures++;
}

/* FAULT: the handler resumes after the instruction. TRAP: no fix-up. */
#define MARK "movl $0f, fault_at\n\tmovl $1f, next_at\n\t"
#define FAULT(name, setup, insn, after, ...)                                              \
	static void name(void)                                                             \
	{                                                                                  \
		__asm__ volatile(MARK "movl $1f, resume_eip\n\t" setup "\n0:\t" insn "\n1:\t" \
				 after ::: "memory", "cc", ##__VA_ARGS__);                 \
	}
#define TRAP(name, setup, insn, after, ...)                                                \
	static void name(void)                                                              \
	{                                                                                   \
		__asm__ volatile(MARK setup "\n0:\t" insn "\n1:\t" after ::: "memory", "cc", \
				 ##__VA_ARGS__);                                            \
	}

FAULT(t_div0, "xorl %%ecx, %%ecx\n\tmovl $1, %%eax\n\txorl %%edx, %%edx", "divl %%ecx", "",
      "eax", "ecx", "edx")
FAULT(t_div_ovf, "movl $1, %%edx\n\txorl %%eax, %%eax\n\tmovl $1, %%ecx", "divl %%ecx", "",
      "eax", "ecx", "edx")
FAULT(t_idiv_ovf, "movl $0x80000000, %%eax\n\tcltd\n\tmovl $-1, %%ecx", "idivl %%ecx", "",
      "eax", "ecx", "edx")
FAULT(t_divb_ovf, "movw $0x1000, %%ax\n\tmovb $0x10, %%cl", "divb %%cl", "", "eax", "ecx")
FAULT(t_idiv_mem, "movl $0x80000000, %%eax\n\tcltd\n\tpushl $-1", "idivl (%%esp)",
      "addl $4, %%esp", "eax", "edx")
TRAP(t_div_ok, "movl $100, %%eax\n\txorl %%edx, %%edx\n\tmovl $7, %%ecx", "divl %%ecx", "",
     "eax", "ecx", "edx")

FAULT(t_ud2, "", "ud2", "")
FAULT(t_ud_lea, "", ".byte 0x8d, 0xc0", "")          /* lea eax, eax */
FAULT(t_ud_lock, "", ".byte 0xf0, 0x90", "")         /* lock nop */
FAULT(t_ud_movcs, "", ".byte 0x8e, 0xc8", "")        /* mov cs, ax */
FAULT(t_ud_cr1, "", ".byte 0x0f, 0x20, 0xc8", "", "eax") /* mov eax, cr1 */
FAULT(t_ud_0f04, "", ".byte 0x0f, 0x04", "")         /* undefined 0F 04 */
FAULT(t_ud_sse, "", "xorps %%xmm0, %%xmm0", "")       /* CR4.OSFXSR is 0 */

TRAP(t_int3, "", "int3", "")
TRAP(t_int_3, "", "int $3", "")
TRAP(t_into, "movl $0x7fffffff, %%eax\n\taddl $1, %%eax", "into", "", "eax")
TRAP(t_into_no, "xorl %%eax, %%eax\n\taddl $1, %%eax", "into", "", "eax")
TRAP(t_int4, "", "int $4", "")
TRAP(t_int_high, "", "int $0xC3", "")
FAULT(t_bound, "movl $50, %%eax\n\tpushl $20\n\tpushl $10", "boundl %%eax, (%%esp)",
      "addl $8, %%esp", "eax")

FAULT(t_gp_limit, "movw $0x1000, %%ax", "movw %%ax, %%ds", "", "eax")
FAULT(t_gp_xonly, "movw $0x30, %%ax", "movw %%ax, %%ds", "", "eax")
FAULT(t_gp_ss_null, "xorl %%eax, %%eax", "movw %%ax, %%ss", "", "eax")
FAULT(t_gp_ss_dpl3, "movw $0x3b, %%ax", "movw %%ax, %%ss", "", "eax")
FAULT(t_gp_ss_rpl, "movw $0x13, %%ax", "movw %%ax, %%ss", "", "eax")
FAULT(t_gp_ss_ro, "movw $0x18, %%ax", "movw %%ax, %%ss", "", "eax")
FAULT(t_gp_ljmp_data, "", "ljmp $0x10, $1f", "")
FAULT(t_np_ds, "movw $0x20, %%ax", "movw %%ax, %%es", "movw $0x10, %%ax\n\tmovw %%ax, %%es",
      "eax")
FAULT(t_ss_np, "movw $0x40, %%ax", "movw %%ax, %%ss", "", "eax")
TRAP(t_ds_dpl3_ok, "movw $0x3b, %%ax", "movw %%ax, %%fs", "movw $0x10, %%ax\n\tmovw %%ax, %%fs",
     "eax")
TRAP(t_ds_null_ok, "xorl %%eax, %%eax", "movw %%ax, %%gs", "movw $0x10, %%ax\n\tmovw %%ax, %%gs",
     "eax")
/* #NP restart: the handler marks the descriptor present and retries */
static void np_fix(void) { gdt[SEL_NP_DATA / 8] |= 1ull << 47; }
TRAP(t_np_retry, "movw $0x20, %%ax", "movw %%ax, %%es", "movw $0x10, %%ax\n\tmovw %%ax, %%es", "eax")
static void np_retry(void)
{
	hook = np_fix;
	t_np_retry();
	gdt[SEL_NP_DATA / 8] &= ~(1ull << 47);
}

/* #NM: CR0.TS set; the handler clears it and the x87 insn is retried */
static void clts_fix(void) { __asm__ volatile("clts"); }
TRAP(t_nm_ts, "movl %%cr0, %%eax\n\torl $8, %%eax\n\tmovl %%eax, %%cr0", "fninit", "", "eax")
static void nm_ts(void)
{
	hook = clts_fix;
	t_nm_ts();
}
static void em_fix(void)
{
	uint32_t cr0;
	__asm__ volatile("movl %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("movl %0, %%cr0" ::"r"(cr0 & ~4u));
}
TRAP(t_nm_em, "movl %%cr0, %%eax\n\torl $4, %%eax\n\tmovl %%eax, %%cr0", "fld1",
     "fstp %%st(0)", "eax")
static void nm_em(void)
{
	hook = em_fix;
	t_nm_em();
}

/* #MF: CR0.NE, zero-divide unmasked; the fault is at the next fwait */
static void mf_fix(void) { __asm__ volatile("fnclex"); }
TRAP(t_mf, "movl %%cr0, %%eax\n\torl $0x20, %%eax\n\tmovl %%eax, %%cr0\n\t"
	   "fninit\n\tpushl $0x037b\n\tfldcw (%%esp)\n\taddl $4, %%esp\n\t"
	   "fldz\n\tfld1\n\tfdiv %%st(1), %%st",
     "fwait", "fstp %%st(0)\n\tfstp %%st(0)\n\tfninit", "eax")
static void mf(void)
{
	hook = mf_fix;
	t_mf();
}

/* gate not present: #NP with the IDT error code (vector*8+2) */
static void gate_fix(void) { idt[6] |= 1ull << 47; }
FAULT(t_gate_np, "", "ud2", "")
static void gate_np(void)
{
	idt[6] &= ~(1ull << 47);
	hook = gate_fix;
	t_gate_np();
}

/* int n beyond the IDT limit: #GP(n*8+2) */
static void idt_fix(void) { lidt_limit(sizeof idt - 1); }
FAULT(t_int_beyond, "", "int $0x40", "")
static void int_beyond(void)
{
	lidt_limit(14 * 8 - 1);
	hook = idt_fix;
	t_int_beyond();
}

/* #UD whose gate is not present -> #NP(0x32) whose gate is not present
 * either -> #DF(0) through vector 8 */
static void gates_fix(void) { idt[6] |= 1ull << 47; idt[11] |= 1ull << 47; }
FAULT(t_df, "", "ud2", "")
static void df(void)
{
	idt[6] &= ~(1ull << 47);
	idt[11] &= ~(1ull << 47);
	hook = gates_fix;
	t_df();
}
/* #GP beyond the limit while delivering #GP: #DF */
FAULT(t_df2, "movw $0x1000, %%ax", "movw %%ax, %%ds", "", "eax")
static void df2(void)
{
	lidt_limit(9 * 8 - 1);
	hook = idt_fix;
	t_df2();
}

/* single-step: TF set by popf traps after each following instruction,
 * including the popf that clears it: 11 traps */
static uint32_t ss_eips[16], ss_n;
static void ss_rec(void)
{
	if (ss_n < 16)
		ss_eips[ss_n++] = recs[nrecs - 1].eip;
}
extern char ss_base[];
static void single_step(void)
{
	ss_n = 0;
	nrecs = 0;
	hook = ss_rec;
	__asm__ volatile("pushfl\n\t"
			 "orl $0x100, (%%esp)\n\t"
			 "popfl\n"
			 "ss_base:\n\t"
			 "nop\n\t"
			 "movl $3, %%ecx\n"
			 "2:\tdecl %%ecx\n\t"
			 "jnz 2b\n\t"
			 "pushfl\n\t"
			 "andl $~0x100, (%%esp)\n\t"
			 "popfl\n\t"
			 "nop\n" ::: "ecx", "memory", "cc");
	hook = 0;
	puts_("single-step TF: ");
	putdec(ss_n);
	puts_(" traps at");
	for (uint32_t i = 0; i < ss_n; i++) {
		puts_(" +");
		putdec(ss_eips[i] - (uint32_t)ss_base);
	}
	int ok = ss_n == 11;
	for (uint32_t i = 0; i < nrecs; i++)
		ok &= recs[i].vec == 1;
	puts_(ok ? "  ok\n" : "  MISMATCH\n");
	if (!ok)
		failures++;
}

#ifdef PROBES
/* segment limit / rights checks on data accesses: real CPUs fault, QEMU's
 * TCG does not check them, so these are only probes (-DPROBES) */
uint32_t saved_esp;
FAULT(t_ro_write, "movw $0x18, %%ax\n\tmovw %%ax, %%es", "movl $1, %%es:small_data",
      "movw $0x10, %%ax\n\tmovw %%ax, %%es", "eax")
FAULT(t_limit_ds, "movw $0x48, %%ax\n\tmovw %%ax, %%es", "movl $1, %%es:0x100",
      "movw $0x10, %%ax\n\tmovw %%ax, %%es", "eax")
FAULT(t_limit_ss, "movl %%esp, saved_esp\n\tmovw $0x28, %%ax\n\tmovw %%ax, %%ss\n\tmovl $0x800, %%esp",
      "movl 0x1000(%%esp), %%eax", "movw $0x10, %%ax\n\tmovw %%ax, %%ss\n\tmovl saved_esp, %%esp", "eax")
FAULT(t_expdown_fault, "movl %%esp, saved_esp\n\tmovw $0x50, %%ax\n\tmovw %%ax, %%ss\n\tmovl $0xFFFFFF00, %%esp",
      "movl -0x1000(%%esp), %%eax", "movw $0x10, %%ax\n\tmovw %%ax, %%ss\n\tmovl saved_esp, %%esp", "eax")
#endif
/* expand-down stack: pushes at offsets 0xFFFFFxxx land on small_stack */
uint32_t saved_esp2;
TRAP(t_expdown_ok, "movl %%esp, saved_esp2\n\tmovw $0x50, %%ax\n\tmovw %%ax, %%ss\n\txorl %%esp, %%esp",
     "pushl $0x5151a5a5", "pushl $0x600dcafe\n\tpopl %%eax\n\tmovw $0x10, %%ax\n\tmovw %%ax, %%ss\n\tmovl saved_esp2, %%esp", "eax")
static void expdown_ok(void)
{
	nrecs = 0;
	t_expdown_ok();
	uint32_t *top = (uint32_t *)(small_stack + 0x1000);
	int ok = top[-1] == 0x5151a5a5 && top[-2] == 0x600dcafe && nrecs == 0;
	puts_("expand-down ss at esp 0: ");
	puts_(ok ? "pushes land below base+4G  ok\n" : "wrong  MISMATCH\n");
	failures += !ok;
}

void kmain(uint32_t magic, uint32_t mbi)
{
	(void)mbi;
	outb(0x3F9, 0);
	outb(0x3FB, 0x80);
	outb(0x3F8, 2);
	outb(0x3F9, 0);
	outb(0x3FB, 3);
	outb(0x3FA, 0);
	puts_("c_os_exc: -Os exception guest\n");
	if (magic != 0x2BADB002) {
		puts_("bad magic\n");
		leave(0x31);
	}
	setup_tables();

	run("div by zero", t_div0, 0, 0, 0);
	run("div quotient overflow", t_div_ovf, 0, 0, 0);
	run("idiv INT_MIN/-1", t_idiv_ovf, 0, 0, 0);
	run("divb overflow", t_divb_ovf, 0, 0, 0);
	run("idiv mem INT_MIN/-1", t_idiv_mem, 0, 0, 0);
	run("div fine", t_div_ok, 0xFF, 0, 0);
	run("ud2", t_ud2, 6, 0, 0);
	run("lea reg,reg", t_ud_lea, 6, 0, 0);
	run("lock nop", t_ud_lock, 6, 0, 0);
	run("mov cs,ax", t_ud_movcs, 6, 0, 0);
	run("mov eax,cr1", t_ud_cr1, 6, 0, 0);
	run("opcode 0f 04", t_ud_0f04, 6, 0, 0);
	run("sse without osfxsr", t_ud_sse, 6, 0, 0);
	run("int3", t_int3, 3, 0, 1);
	run("int $3", t_int_3, 3, 0, 1);
	run("into OF=1", t_into, 4, 0, 1);
	run("into OF=0", t_into_no, 0xFF, 0, 0);
	run("int $4", t_int4, 4, 0, 1);
	run("int $0xc3", t_int_high, 0xC3, 0, 1);
	run("bound", t_bound, 5, 0, 0);
	run("ds beyond gdt limit", t_gp_limit, 13, 0x1000, 0);
	run("ds execute-only code", t_gp_xonly, 13, 0x30, 0);
	run("ss null", t_gp_ss_null, 13, 0, 0);
	run("ss dpl3 data", t_gp_ss_dpl3, 13, 0x38, 0);
	run("ss rpl3", t_gp_ss_rpl, 13, 0x10, 0);
	run("ss read-only data", t_gp_ss_ro, 13, 0x18, 0);
	run("ljmp to data seg", t_gp_ljmp_data, 13, 0x10, 0);
	run("es not present", t_np_ds, 11, 0x20, 0);
	run("ss not present", t_ss_np, 12, 0x40, 0);
	run("fs dpl3 data (fine)", t_ds_dpl3_ok, 0xFF, 0, 0);
	run("gs null (fine)", t_ds_null_ok, 0xFF, 0, 0);
	run("es not present, retried", np_retry, 11, 0x20, 0);
	run("cr0.ts x87, retried", nm_ts, 7, 0, 0);
	run("cr0.em x87, retried", nm_em, 7, 0, 0);
	run("x87 zero-divide at fwait", mf, 16, 0, 0);
	run("idt gate not present", gate_np, 11, 6 * 8 + 2, 0);
	run("int beyond idt limit", int_beyond, 13, 0x40 * 8 + 2, 0);
	run("ud2, #UD and #NP gates not present", df, 8, 0, 0);
	run("#GP, gate beyond limit", df2, 8, 0, 0);
	single_step();
	expdown_ok();
#ifdef PROBES
	run("probe: write via read-only es", t_ro_write, 13, 0, 0);
	run("probe: es limit 0xff, offset 0x100", t_limit_ds, 13, 0, 0);
	run("probe: ss limit 0xfff, offset 0x1800", t_limit_ss, 12, 0, 0);
	run("probe: expand-down ss below limit", t_expdown_fault, 12, 0, 0);
#endif

	if (failures) {
		puts_("c_os_exc: FAIL ");
		putdec((uint32_t)failures);
		puts_("\n");
		leave(0x32);
	}
	puts_("c_os_exc: PASS\n");
	leave(0x30);
}
