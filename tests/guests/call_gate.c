/* call_gate guest: far calls and jumps through 32-bit call gates to the
 * same privilege level (the return frame, CS, the ignored offset) and the
 * gate checks: a selector RPL above the gate's DPL (#GP with the gate's
 * selector), a gate not present (#NP), a gate to a data segment (#GP with
 * its selector). */
#include <stdint.h>
#include "boot.h"
#include "desc.h"
#include "exit.h"
#include "idt.h"
#include "serial.h"

GUEST_NAME("call_gate");

enum { SEL_CODE = 0x08, SEL_DATA = 0x10, SEL_GATE = 0x18, SEL_GATE_NP = 0x20, SEL_GATE_DATA = 0x28,
       GDT_ENTRIES = 6 };
static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));

uint32_t gate_ret, gate_cs, gate_calls, jmp_back;
uint32_t exc_resume;
static struct int_frame last;
static uint32_t faults;

void gate_target(void);
void jmp_target(void);
__asm__(".globl gate_target\ngate_target:\n\tmovl (%esp), %eax\n\tmovl %eax, gate_ret\n"
	"\tmovl 4(%esp), %eax\n\tmovl %eax, gate_cs\n\tincl gate_calls\n\tlret\n"
	".globl jmp_target\njmp_target:\n\tincl gate_calls\n\tjmp *jmp_back\n");

static uint64_t call_gate(uint16_t sel, uint32_t off, uint8_t access)
{
	return (uint64_t)(off & 0xffff) | (uint64_t)sel << 16 | (uint64_t)access << 40 |
	       (uint64_t)(off >> 16) << 48;
}

static void record(struct int_frame *f)
{
	last = *f;
	faults++;
	f->eip = exc_resume;
}

static void expect_fault(const char *what, uint32_t before, uint32_t vec, uint32_t err)
{
	kprintf("%s: %u fault(s), vector %u, error code 0x%x\n", what, faults - before, last.vector,
		last.error_code);
	check_eq(what, before + 1, faults);
	check_eq(what, vec, last.vector);
	check_eq(what, err, last.error_code);
}

void guest_main(void)
{
	gdt[SEL_CODE / 8] = seg_desc(0, 0xFFFFF, ACC_CODE_RX, FLG_G | FLG_D);
	gdt[SEL_DATA / 8] = seg_desc(0, 0xFFFFF, ACC_DATA_RW, FLG_G | FLG_D);
	gdt[SEL_GATE / 8] = call_gate(SEL_CODE, (uint32_t)gate_target, ACC_CALL_GATE);
	gdt[SEL_GATE_NP / 8] = call_gate(SEL_CODE, (uint32_t)gate_target, ACC_CALL_GATE & 0x7f);
	gdt[SEL_GATE_DATA / 8] = call_gate(SEL_DATA, (uint32_t)gate_target, ACC_CALL_GATE);
	struct dtr d = { sizeof(gdt) - 1, (uint32_t)gdt };
	lgdt(&d);
	idt_init();
	idt_set_handler(11, record, GATE_INTR);
	idt_set_handler(13, record, GATE_INTR);

	/* The offset in the instruction is ignored: the gate's counts. */
	uint32_t ret_label;
	__asm__ volatile("movl $1f, %0\n\tlcall $0x18, $0x12345\n1:" : "=m"(ret_label) : : "eax", "memory");
	kprintf("lcall gate: calls %u, return 0x%x (label 0x%x), cs 0x%x\n", gate_calls, gate_ret,
		ret_label, gate_cs & 0xffff);
	check_eq("lcall through the gate ran the target", 1, gate_calls);
	check_eq("lcall gate return address", ret_label, gate_ret);
	check_eq("lcall gate pushed CS", SEL_CODE, gate_cs & 0xffff);
	check_eq("CS after the far return", SEL_CODE, read_cs());

	gdt[SEL_GATE / 8] = call_gate(SEL_CODE, (uint32_t)jmp_target, ACC_CALL_GATE);
	__asm__ volatile("movl $1f, jmp_back\n\tljmp $0x18, $0\n1:" : : : "memory");
	kprintf("ljmp gate: calls %u\n", gate_calls);
	check_eq("ljmp through the gate", 2, gate_calls);

	uint32_t b = faults;
	__asm__ volatile("movl $1f, exc_resume\n\tlcall $0x1b, $0\n1:" : : : "eax", "memory");
	expect_fault("gate DPL 0 below RPL 3", b, 13, SEL_GATE);
	b = faults;
	__asm__ volatile("movl $1f, exc_resume\n\tlcall $0x20, $0\n1:" : : : "eax", "memory");
	expect_fault("gate not present", b, 11, SEL_GATE_NP);
	b = faults;
	__asm__ volatile("movl $1f, exc_resume\n\tljmp $0x28, $0\n1:" : : : "eax", "memory");
	expect_fault("gate to a data segment", b, 13, SEL_DATA);
	check_eq("no extra calls", 2, gate_calls);
}
