/* exceptions guest: its own IDT taking #DE #UD #GP #NP #SS #BR #BP #OF and
 * software interrupts; checks vector, error code, saved EIP/CS/EFLAGS
 * against labels, fault restart, nesting and register preservation. */
#include <stdint.h>
#include "boot.h"
#include "desc.h"
#include "exit.h"
#include "idt.h"
#include "io.h"

GUEST_NAME("exceptions");

enum { SEL_CODE = 0x08, SEL_DATA = 0x10, SEL_RO = 0x18, SEL_WINDOW = 0x20,
       SEL_NP = 0x28, SEL_XONLY = 0x30, GDT_ENTRIES = 7 };

static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
static uint8_t window[4096] __attribute__((aligned(4096)));
static uint32_t scratch;

/* What the last exception looked like, and how the handler resumes:
 * exc_resume (if set) replaces the saved EIP, else exc_skip is added. */
static struct int_frame last;
static uint32_t hits;
uint32_t exc_resume, exc_skip;
static uint32_t fix_ecx;	/* #DE handler: new divisor instead of skipping */
static uint32_t set_eax;	/* software interrupt handlers: value for EAX */

static void record(struct int_frame *f)
{
	last = *f;
	hits++;
	if (fix_ecx) {
		f->ecx = fix_ecx;	/* retry the same instruction */
		fix_ecx = 0;
	} else if (exc_resume) {
		f->eip = exc_resume;
	} else {
		f->eip += exc_skip;
	}
	exc_resume = 0;
	exc_skip = 0;
	if (set_eax) {
		f->eax = set_eax;
		set_eax = 0;
	}
}

static void nested_outer(struct int_frame *f)
{
	uint32_t inner_hits = hits;
	record(f);
	__asm__ volatile("int $0x44" ::: "memory");
	if (hits != inner_hits + 2)
		fail("nested int $0x44 inside the 0x43 handler did not run");
}

/* Check one recorded exception. */
static void expect(const char *what, uint32_t hits_before, uint32_t vector,
		   uint32_t error_code, uint32_t eip)
{
	if (hits != hits_before + 1)
		fail("%s: expected exactly one exception, got %u", what, hits - hits_before);
	if (last.vector != vector)
		fail("%s: expected vector 0x%02x, got 0x%02x", what, vector, last.vector);
	if (last.error_code != error_code)
		fail("%s: expected error code 0x%08x, got 0x%08x", what, error_code, last.error_code);
	if (last.eip != eip)
		fail("%s: expected saved EIP 0x%08x, got 0x%08x", what, eip, last.eip);
	if ((last.cs & 0xFFFF) != SEL_CODE)
		fail("%s: expected saved CS 0x%04x, got 0x%04x", what, SEL_CODE, last.cs & 0xFFFF);
}

/* Prefix for an asm statement whose label 1 is the instruction expected to
 * fault and label 2 the one after it: records both addresses and makes the
 * handler resume at 2. */
uint32_t exc_at, exc_after;
#define FAULT_PRE "movl $1f, exc_at\n\tmovl $2f, exc_after\n\tmovl $2f, exc_resume\n"

static void setup(void)
{
	gdt[SEL_CODE / 8] = seg_desc(0, 0xFFFFF, ACC_CODE_RX, FLG_G | FLG_D);
	gdt[SEL_DATA / 8] = seg_desc(0, 0xFFFFF, ACC_DATA_RW, FLG_G | FLG_D);
	gdt[SEL_RO / 8] = seg_desc(0, 0xFFFFF, ACC_DATA_RO, FLG_G | FLG_D);
	gdt[SEL_WINDOW / 8] = seg_desc((uint32_t)window, 0xFFF, ACC_DATA_RW, FLG_D);
	gdt[SEL_NP / 8] = seg_desc(0, 0xFFFFF, ACC_DATA_NP, FLG_G | FLG_D);
	gdt[SEL_XONLY / 8] = seg_desc(0, 0xFFFFF, ACC_CODE_X, FLG_G | FLG_D);
	struct dtr d = { sizeof(gdt) - 1, (uint32_t)gdt };
	lgdt(&d);
	__asm__ volatile("ljmp $0x08, $1f\n1:\tmovw $0x10, %%ax\n\tmovw %%ax, %%ds\n\t"
		"movw %%ax, %%es\n\tmovw %%ax, %%fs\n\tmovw %%ax, %%gs\n\tmovw %%ax, %%ss"
		: : : "eax", "memory");

	idt_init();
	static const uint8_t vecs[] = { 0, 3, 4, 5, 6, 11, 12, 13, 0x40, 0x42, 0x44 };
	for (unsigned i = 0; i < sizeof(vecs); i++)
		idt_set_handler(vecs[i], record, GATE_INTR);
	idt_set_handler(0x81, record, GATE_TRAP);
	idt_set_handler(0x43, nested_outer, GATE_INTR);
	/* Present bit clear: int $0x50 must raise #NP instead. */
	idt_set_raw(0x50, idt_stub_addr(0x50), SEL_CODE, GATE_INTR & 0x7F);
}

static void check_divide(void)
{
	uint32_t h, eax, edx;

	/* This handler advances the saved EIP by the instruction length. */
	h = hits;
	exc_skip = 2;	/* divl %ecx is F7 F1 */
	eax = 1234;
	edx = 0;
	__asm__ volatile("movl $1f, exc_at\n\tmovl $2f, exc_after\n1:\tdivl %%ecx\n2:"
		: "+a"(eax), "+d"(edx) : "c"(0) : "cc", "memory");
	expect("#DE divl by zero", h, 0, 0, exc_at);
	check_eq("#DE: divl is two bytes", exc_at + 2, exc_after);
	check_eq("#DE leaves EAX alone", 1234, eax);
	check_eq("#DE leaves EDX alone", 0, edx);

	/* Quotient overflow is #DE too. */
	h = hits;
	eax = 0x80000000;
	edx = 0xFFFFFFFF;
	__asm__ volatile(FAULT_PRE "1:\tidivl %%ecx\n2:"
		: "+a"(eax), "+d"(edx) : "c"(-1) : "cc", "memory");
	expect("#DE idivl 0x80000000 by -1", h, 0, 0, exc_at);

	/* A handler that fixes the divisor instead of skipping: the divl is
	 * restarted and completes. */
	uint32_t divisor = 0;
	h = hits;
	fix_ecx = 10;
	eax = 1234;
	edx = 0;
	__asm__ volatile("movl $1f, exc_at\n1:\tdivl %%ecx"
		: "+a"(eax), "+d"(edx), "+c"(divisor) : : "cc", "memory");
	expect("#DE restarted", h, 0, 0, exc_at);
	check_eq("restarted divl quotient", 123, eax);
	check_eq("restarted divl remainder", 4, edx);
	check_eq("restarted divl: ECX from the handler", 10, divisor);
}

static void check_invalid_opcode(void)
{
	uint32_t h;

	h = hits;
	__asm__ volatile(FAULT_PRE "1:\tud2\n2:" ::: "memory");
	expect("#UD ud2", h, 6, 0, exc_at);

	/* lock needs a memory destination (the assembler refuses it, hence .byte). */
	h = hits;
	__asm__ volatile(FAULT_PRE "1:\t.byte 0xF0\n\taddl %%eax, %%ebx\n2:" ::: "ebx", "cc", "memory");
	expect("#UD lock with a register operand", h, 6, 0, exc_at);
}

static void check_general_protection(void)
{
	uint32_t h;

	/* Selector beyond the GDT limit: the error code is the selector with
	 * the RPL bits cleared. */
	h = hits;
	__asm__ volatile(FAULT_PRE "1:\tmovw %w0, %%ds\n2:" : : "r"(0x1233) : "memory");
	expect("#GP mov ds, 0x1233 (beyond GDT)", h, 13, 0x1230, exc_at);
	check_eq("DS unchanged after the failed load", SEL_DATA, read_ds());

	/* An LDT selector with no LDT loaded. */
	h = hits;
	__asm__ volatile(FAULT_PRE "1:\tmovw %w0, %%fs\n2:" : : "r"(0x000C) : "memory");
	expect("#GP mov fs, 0x000C (no LDT)", h, 13, 0x000C, exc_at);

	/* Execute-only code cannot go into a data segment register. */
	h = hits;
	__asm__ volatile(FAULT_PRE "1:\tmovw %w0, %%es\n2:" : : "r"(SEL_XONLY) : "memory");
	expect("#GP mov es, execute-only code", h, 13, SEL_XONLY, exc_at);
}

/* Checks made on every data access rather than on segment loads: QEMU's
 * TCG does not implement them (writes through read-only segments, accesses
 * past a limit and through a null selector just happen), so they are off by
 * default, keeping QEMU the reference; build
 * with -DEXC_ACCESS_CHECKS=1 to run them on an implementation that does. */
#ifndef EXC_ACCESS_CHECKS
#define EXC_ACCESS_CHECKS 0
#endif

static void check_access_rights(void)
{
	uint32_t h, v;

	h = hits;
	scratch = 0x5AFE5AFE;
	__asm__ volatile("movw %w[s], %%es\n\t" FAULT_PRE
		"1:\tmovl %[v], %%es:(%[p])\n2:\tmovw %w[d], %%es"
		: : [s] "r"(SEL_RO), [d] "r"(SEL_DATA), [v] "r"(0xBADBAD), [p] "r"(&scratch)
		: "memory");
	expect("#GP write through a read-only segment", h, 13, 0, exc_at);
	check_eq("read-only segment: memory unchanged", 0x5AFE5AFE, scratch);
	check_eq("ES restored", SEL_DATA, read_es());

	for (int i = 0; i < 4096; i++)
		window[i] = (uint8_t)(i * 3);
	__asm__ volatile("movw %w1, %%fs\n\tmovzbl %%fs:0xFFF, %0" : "=r"(v) : "r"(SEL_WINDOW) : "memory");
	check_eq("last byte inside the limit", (uint8_t)(0xFFF * 3), v);

	h = hits;
	__asm__ volatile(FAULT_PRE "1:\tmovb %%fs:0x1000, %%al\n2:" ::: "eax", "memory");
	expect("#GP read one past the limit", h, 13, 0, exc_at);

	/* A dword that starts inside but ends outside the limit. */
	h = hits;
	__asm__ volatile(FAULT_PRE "1:\tmovl %%eax, %%fs:0xFFE\n2:" : : "a"(0xFFFFFFFF) : "memory");
	expect("#GP dword straddling the limit", h, 13, 0, exc_at);
	check_eq("straddling write changed nothing", (uint8_t)(0xFFE * 3), window[0xFFE]);

	/* A null selector loads fine but cannot be used. */
	h = hits;
	__asm__ volatile("movw %w0, %%fs\n\t" FAULT_PRE "1:\tmovl %%fs:0, %%eax\n2:"
		: : "r"(0) : "eax", "memory");
	expect("#GP access through a null FS", h, 13, 0, exc_at);
	write_fs(SEL_DATA);
}

static void check_segment_loads(void)
{
	uint32_t h;

	/* Not present: #NP for data registers, #SS for SS. */
	h = hits;
	__asm__ volatile(FAULT_PRE "1:\tmovw %w0, %%gs\n2:" : : "r"(SEL_NP) : "memory");
	expect("#NP mov gs, not-present segment", h, 11, SEL_NP, exc_at);
	h = hits;
	__asm__ volatile(FAULT_PRE "1:\tmovw %w0, %%ss\n2:" : : "r"(SEL_NP) : "memory");
	expect("#SS mov ss, not-present segment", h, 12, SEL_NP, exc_at);
	/* A read-only segment cannot be a stack. */
	h = hits;
	__asm__ volatile(FAULT_PRE "1:\tmovw %w0, %%ss\n2:" : : "r"(SEL_RO) : "memory");
	expect("#GP mov ss, read-only segment", h, 13, SEL_RO, exc_at);
	check_eq("SS unchanged", SEL_DATA, read_ss());
}

/* Prefix for traps: records both labels, resumes nowhere special (a trap's
 * saved EIP already points after the instruction). */
#define TRAP_PRE "movl $1f, exc_at\n\tmovl $2f, exc_after\n"

static void check_traps(void)
{
	uint32_t h, f, eax;

	h = hits;
	__asm__ volatile(TRAP_PRE "1:\tint3\n2:" ::: "memory");
	expect("#BP int3", h, 3, 0, exc_after);
	check_eq("int3 is one byte", exc_at + 1, exc_after);

	h = hits;
	__asm__ volatile(TRAP_PRE "1:\t.byte 0xCD, 0x03\n2:" ::: "memory");
	/* (gas would assemble "int $3" as int3, hence the bytes) */
	expect("#BP int $3 (CD 03)", h, 3, 0, exc_after);
	check_eq("int $3 is two bytes", exc_at + 2, exc_after);

	/* into: nothing with OF=0, vector 4 with OF=1. */
	h = hits;
	__asm__ volatile("pushl $0x002\n\tpopfl\n\tinto" ::: "cc", "memory");
	check_eq("into with OF=0 does not trap", h, hits);
	__asm__ volatile("pushl $0x802\n\tpopfl\n\t" TRAP_PRE "1:\tinto\n2:\tpushfl\n\tpopl %0\n\t"
		"pushl $2\n\tpopfl"
		: "=r"(f) : : "cc", "memory");
	expect("#OF into with OF=1", h, 4, 0, exc_after);
	check_eq("#OF saved EFLAGS", 0x802, last.eflags);
	check_eq("EFLAGS after into", 0x802, f);

	/* bound: inside the bounds nothing, outside #BR (a fault). */
	static const int32_t bounds[2] = { 10, 20 };
	h = hits;
	__asm__ volatile("boundl %0, %1" : : "r"(15), "m"(bounds) : "memory");
	check_eq("bound inside the range does not fault", h, hits);
	__asm__ volatile(FAULT_PRE "1:\tboundl %0, %1\n2:" : : "r"(25), "m"(bounds) : "memory");
	expect("#BR bound above the range", h, 5, 0, exc_at);
	h = hits;
	__asm__ volatile(FAULT_PRE "1:\tboundl %0, %1\n2:" : : "r"(-1), "m"(bounds) : "memory");
	expect("#BR bound below the range", h, 5, 0, exc_at);

	/* Software interrupts: the handler's EAX write is what iret returns. */
	h = hits;
	set_eax = 0x1234ABCD;
	__asm__ volatile(TRAP_PRE "1:\tint $0x40\n2:" : "=a"(eax) : "a"(0) : "memory");
	expect("int $0x40 (interrupt gate)", h, 0x40, 0, exc_after);
	check_eq("int $0x40: EAX set by the handler", 0x1234ABCD, eax);
	h = hits;
	set_eax = 0x81818181;
	__asm__ volatile(TRAP_PRE "1:\tint $0x81\n2:" : "=a"(eax) : "a"(0) : "memory");
	expect("int $0x81 (trap gate)", h, 0x81, 0, exc_after);
	check_eq("int $0x81: EAX set by the handler", 0x81818181, eax);

	/* Not-present gate: #NP with error code vector*8+2 (the IDT bit), a
	 * fault, so the saved EIP is the int instruction. */
	h = hits;
	__asm__ volatile(FAULT_PRE "1:\tint $0x50\n2:" ::: "memory");
	expect("#NP int $0x50 through a not-present gate", h, 11, 0x50 * 8 + 2, exc_at);

	/* Nesting: 0x43's handler raises 0x44. */
	h = hits;
	__asm__ volatile("int $0x43" ::: "memory");
	check_eq("nested interrupts: two handlers ran", h + 2, hits);
	check_eq("nested interrupts: inner vector last", 0x44, last.vector);
}

extern uint32_t exc_regs_out[9];
void exc_roundtrip_int(void);
void exc_roundtrip_ud2(void);

static void check_preservation(void)
{
	static const char *const names[7] = { "EAX", "EBX", "ECX", "EDX", "ESI", "EDI", "EBP" };
	uint32_t h;

	for (int pass = 0; pass < 2; pass++) {
		h = hits;
		if (pass == 0) {
			exc_roundtrip_int();
		} else {
			exc_skip = 2;
			exc_roundtrip_ud2();
		}
		check_eq(pass ? "ud2 round trip: one exception" : "int round trip: one exception", h + 1, hits);
		for (int r = 0; r < 7; r++) {
			uint32_t want = 0x11111111u * (uint32_t)(r + 1);
			if (exc_regs_out[r] != want)
				fail("%s round trip: %s expected 0x%08x, got 0x%08x",
				     pass ? "ud2" : "int", names[r], want, exc_regs_out[r]);
			/* The handler saw them too (pushal order is reversed). */
			const uint32_t *saved = &last.edi;
			static const int pushal_index[7] = { 7, 4, 6, 5, 1, 0, 2 };
			if (saved[pushal_index[r]] != want)
				fail("%s: frame %s expected 0x%08x, got 0x%08x",
				     pass ? "ud2" : "int", names[r], want, saved[pushal_index[r]]);
		}
		check_eq("ESP preserved across the exception", 0, exc_regs_out[7]);
		check_eq("EFLAGS preserved across the exception", 0x8D7, exc_regs_out[8]);
		check_eq("EFLAGS in the frame", 0x8D7, last.eflags);
	}
}

void guest_main(void)
{
	setup();
	check_divide();
	progress("divide");
	check_invalid_opcode();
	progress("invalid_opcode");
	check_general_protection();
	progress("general_protection");
	check_segment_loads();
	progress("segment_loads");
	if (EXC_ACCESS_CHECKS) {
		check_access_rights();
		progress("access_rights");
	}
	check_traps();
	progress("traps");
	check_preservation();
	progress("preservation");
}
