/* flags_if guest: cli/sti/pushf/popf at CPL0: IF readback, popf writing
 * IF/IOPL/NT/AC/ID with reserved bits fixed, pushfw/popfw, and IF inside
 * interrupt versus trap gates (all PIC lines masked, so sti is safe). */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "idt.h"
#include "io.h"
#include "pic.h"

GUEST_NAME("flags_if");

#define IF (1u << 9)

static uint32_t popf_pushf(uint32_t v)
{
	uint32_t r;
	__asm__ volatile("pushfl\n\t"		/* keep the caller's flags */
		"pushl %1\n\tpopfl\n\tpushfl\n\tpopl %0\n\t"
		"popfl"
		: "=r"(r) : "r"(v) : "cc", "memory");
	return r;
}

static void check_cli_sti(void)
{
	uint32_t f;

	cli();
	check_eq("IF after cli", 0, read_eflags() & IF);
	sti();
	check_eq("IF after sti", IF, read_eflags() & IF);
	cli();
	check_eq("IF after cli again", 0, read_eflags() & IF);

	/* cli/sti touch nothing but IF. */
	__asm__ volatile("pushl $0x00000CD7\n\tpopfl\n\tsti\n\tpushfl\n\tpopl %0\n\tcli"
		: "=r"(f) : : "cc", "memory");
	check_eq("sti keeps the other flags", 0x00000ED7, f);
	__asm__ volatile("pushl $0x00000ED7\n\tpopfl\n\tcli\n\tpushfl\n\tpopl %0\n\tpushl $2\n\tpopfl"
		: "=r"(f) : : "cc", "memory");
	check_eq("cli keeps the other flags", 0x00000CD7, f);
}

static void check_popf(void)
{
	static const struct {
		const char *what;
		uint32_t in, out;
	} cases[] = {
		{ "popf IF=1", 0x00000202, 0x00000202 },
		{ "popf IF=0", 0x00000002, 0x00000002 },
		{ "popf all arithmetic flags and DF", 0x00000CD7, 0x00000CD7 },
		{ "popf bit 1 reads as one", 0x00000000, 0x00000002 },
		{ "popf IOPL=1", 0x00001002, 0x00001002 },
		{ "popf IOPL=2", 0x00002002, 0x00002002 },
		{ "popf IOPL=3", 0x00003002, 0x00003002 },
		{ "popf NT", 0x00004002, 0x00004002 },
		{ "popf AC", 0x00040002, 0x00040002 },
		{ "popf ID", 0x00200002, 0x00200002 },
		/* bits 3, 5, 15 and 22..31 are fixed at zero */
		{ "popf reserved bits", 0xFFC08028, 0x00000002 },
		/* RF is cleared; VM, VIF and VIP are unaffected (and were 0) */
		{ "popf RF/VM/VIF/VIP", 0x001B0002, 0x00000002 },
		/* everything but TF, IF and NT at once */
		{ "popf all writable bits", 0xFFFFBCFF, 0x00243CD7 },
		{ "popf IF with arithmetic flags", 0x00000AC3, 0x00000AC3 },
		{ "popf back to clean", 0x00000002, 0x00000002 },
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_eq(cases[i].what, cases[i].out, popf_pushf(cases[i].in));

	/* Flags made by arithmetic survive a pushf / flip IF / popf round trip. */
	uint32_t before, after;
	__asm__ volatile("movl $0x7FFFFFFF, %%eax\n\taddl $1, %%eax\n\t"	/* OF SF AF PF */
		"pushfl\n\tpopl %0\n\t"
		"pushl %0\n\torl $0x200, (%%esp)\n\tpopfl\n\t"
		"pushfl\n\tpopl %1\n\t"
		"pushl $2\n\tpopfl"
		: "=&r"(before), "=&r"(after) : : "eax", "cc", "memory");
	check_eq("flags from addl 0x7FFFFFFF+1", 0x00000894, before & 0x8D5);
	check_eq("popf setting IF keeps arithmetic flags", before | IF, after);
}

static void check_popfw(void)
{
	uint32_t f, esp_delta;
	uint16_t w;

	/* popfw replaces only the low 16 bits: AC (bit 18) must survive. */
	__asm__ volatile("pushl $0x00040002\n\tpopfl\n\t"
		"pushw $0x0CD7\n\tpopfw\n\t"
		"pushfl\n\tpopl %0\n\t"
		"pushl $2\n\tpopfl"
		: "=r"(f) : : "cc", "memory");
	check_eq("popfw keeps the upper half", 0x00040CD7, f);

	__asm__ volatile("pushl $0x00240AD3\n\tpopfl\n\t"
		"movl %%esp, %1\n\t"
		"pushfw\n\t"
		"subl %%esp, %1\n\t"
		"popw %0\n\t"
		"pushl $2\n\tpopfl"
		: "=r"(w), "=&r"(esp_delta) : : "cc", "memory");
	check_eq("pushfw pushes two bytes", 2, esp_delta);
	check_eq("pushfw value", 0x0AD3, w);
}

static volatile uint32_t seen_inside, seen_frame;

static void record_if(struct int_frame *f)
{
	seen_inside = read_eflags();
	seen_frame = f->eflags;
}

static void check_gates(void)
{
	idt_set_handler(0x40, record_if, GATE_INTR);
	idt_set_handler(0x41, record_if, GATE_TRAP);

	sti();
	__asm__ volatile("int $0x40" ::: "memory");
	uint32_t after = read_eflags();
	cli();
	check_eq("interrupt gate clears IF inside", 0, seen_inside & IF);
	check_eq("interrupt gate saves IF=1", IF, seen_frame & IF);
	check_eq("iret restores IF=1", IF, after & IF);

	sti();
	__asm__ volatile("int $0x41" ::: "memory");
	after = read_eflags();
	cli();
	check_eq("trap gate keeps IF inside", IF, seen_inside & IF);
	check_eq("trap gate saves IF=1", IF, seen_frame & IF);
	check_eq("iret after trap gate: IF=1", IF, after & IF);

	__asm__ volatile("int $0x41" ::: "memory");
	check_eq("trap gate with IF=0 stays 0 inside", 0, seen_inside & IF);
	check_eq("IF=0 after iret", 0, read_eflags() & IF);

	/* iret restores the arithmetic flags and IOPL too. */
	uint32_t f;
	__asm__ volatile("pushl $0x00003AD3\n\tpopfl\n\tint $0x40\n\tpushfl\n\tpopl %0\n\tpushl $2\n\tpopfl"
		: "=r"(f) : : "cc", "memory");
	check_eq("flags saved by the gate", 0x00003AD3, seen_frame);
	check_eq("flags restored by iret", 0x00003AD3, f);
}

void guest_main(void)
{
	idt_init();
	pic_remap(0x20, 0x28);	/* every line masked: sti delivers nothing */

	check_cli_sti();
	progress("cli_sti");
	check_popf();
	progress("popf");
	check_popfw();
	progress("popfw");
	check_gates();
	progress("gates");
}
