/* lapic guest (-machine pc; QEMU -cpu qemu32,-pae): the local APIC as
 * the firmware leaves it (CPUID, IA32_APIC_BASE, ID, version, LVTs), then
 * enabled: register read-back, the LVT timer one-shot and periodic with
 * its interrupts counted, self-IPIs taken by priority, TPR holding them
 * back, nesting by class and EOI, and the APIC disabled through its MSR
 * (CPUID follows). Prints only what does not depend on
 * timing, so the output is the same under vmx and QEMU. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "idt.h"
#include "serial.h"

GUEST_NAME("lapic");

#define APIC 0xFEE00000u
#define REG(off) (*(volatile uint32_t *)(APIC + (off)))
#define ID 0x20
#define VER 0x30
#define TPR 0x80
#define PPR 0xa0
#define EOI 0xb0
#define LDR 0xd0
#define DFR 0xe0
#define SVR 0xf0
#define ISR 0x100
#define IRR 0x200
#define ESR 0x280
#define ICR_LO 0x300
#define ICR_HI 0x310
#define LVT_TIMER 0x320
#define LVT_LINT0 0x350
#define LVT_LINT1 0x360
#define LVT_ERROR 0x370
#define TIMER_ICR 0x380
#define TIMER_CCR 0x390
#define TIMER_DCR 0x3e0
#define MASKED (1u << 16)
#define PERIODIC (1u << 17)
#define SELF (1u << 18)

#define V_ONESHOT 0x40
#define V_PERIODIC 0x41
#define V_SPURIOUS 0xff

static volatile uint32_t oneshots, periodics, spurious;
static volatile uint8_t order[16];
static volatile unsigned norder;
static volatile uint32_t isr_seen, ppr_seen;

static void record(uint8_t v)
{
	if (norder < sizeof(order))
		order[norder++] = v;
}

static void oneshot_irq(struct int_frame *f)
{
	(void)f;
	oneshots++;
	REG(EOI) = 0;
}

static void periodic_irq(struct int_frame *f)
{
	(void)f;
	periodics++;
	REG(EOI) = 0;
}

static void spurious_irq(struct int_frame *f)
{
	(void)f;
	spurious++;          /* no EOI for the spurious vector */
}

/* Self-IPIs taken with interrupts off in the handler: the order is the
 * priority order. */
static void ipi_irq(struct int_frame *f)
{
	uint8_t v = (uint8_t)f->vector;
	if (v == 0x65) {
		isr_seen = REG(ISR + 0x30);     /* vectors 0x60..0x7f */
		ppr_seen = REG(PPR);
	}
	record(v);
	REG(EOI) = 0;
}

static void self_ipi(uint8_t v)
{
	REG(ICR_HI) = 0;
	REG(ICR_LO) = SELF | v;
}

/* 0x50 runs with interrupts on (trap gate): an IPI of a higher class
 * nests at once, one of its own class waits for its EOI. */
static void nest_irq(struct int_frame *f)
{
	record((uint8_t)f->vector);
	if (f->vector == 0x50) {
		self_ipi(0x90);
		self_ipi(0x52);
		record(0x01);                   /* marks where 0x50 EOIs */
	}
	REG(EOI) = 0;
}

static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
/* Takes what is pending: sti's one-instruction shadow ends at the nop. */
static inline void open_window(void) { __asm__ volatile("sti; nop; cli" ::: "memory"); }
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt; cli" ::: "memory"); }

static uint64_t rdmsr(uint32_t idx)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(idx));
	return ((uint64_t)hi << 32) | lo;
}

static void firmware_state(void)
{
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	kprintf("cpuid 1 edx.apic %u, apic id in ebx %u\n", (d >> 9) & 1, b >> 24);
	kprintf("IA32_APIC_BASE %llx\n", (unsigned long long)rdmsr(0x1b));
	kprintf("id %08x version %08x tpr %x ppr %x\n", REG(ID), REG(VER), REG(TPR), REG(PPR));
	kprintf("ldr %08x dfr %08x svr %08x\n", REG(LDR), REG(DFR), REG(SVR));
	kprintf("lvt timer %08x lint0 %08x lint1 %08x error %08x\n", REG(LVT_TIMER), REG(LVT_LINT0),
		REG(LVT_LINT1), REG(LVT_ERROR));
	kprintf("timer initial %x current %x divide %x\n", REG(TIMER_ICR), REG(TIMER_CCR), REG(TIMER_DCR));
}

static void registers(void)
{
	REG(SVR) = 0x100 | V_SPURIOUS;
	check_eq("svr enabled", 0x1ff, REG(SVR));
	REG(TPR) = 0x2f;
	check_eq("tpr read back", 0x2f, REG(TPR));
	check_eq("ppr follows tpr", 0x2f, REG(PPR));
	REG(TPR) = 0;
	REG(LDR) = 0x01000000;
	check_eq("ldr", 0x01000000, REG(LDR));
	REG(DFR) = 0xffffffff;
	check_eq("dfr flat", 0xffffffff, REG(DFR));
	REG(ID) = 0;
	check_eq("version read-only", 0x00050014, (REG(VER) = 0, REG(VER)));
	REG(TIMER_DCR) = 0xb;
	check_eq("divide by 1", 0xb, REG(TIMER_DCR));
	REG(TIMER_DCR) = 0xff;
	check_eq("divide keeps bits 0,1,3", 0xb, REG(TIMER_DCR));
	REG(LVT_TIMER) = MASKED | PERIODIC | 0xef;
	check_eq("lvt timer read back", 0x300ef, REG(LVT_TIMER));
	REG(LVT_ERROR) = MASKED | 0xfe;
	REG(ESR) = 0;
	check_eq("esr clear", 0, REG(ESR));
	kprintf("registers read back\n");
}

static void oneshot(void)
{
	REG(TIMER_DCR) = 0x3;                  /* divide by 16 */
	REG(LVT_TIMER) = V_ONESHOT;
	REG(TIMER_ICR) = 100000;               /* 1.6 ms on a 1 GHz bus */
	uint32_t c = REG(TIMER_CCR);
	check_true("one-shot counts down from its initial count", c <= 100000);
	while (!oneshots)
		sti_hlt();
	check_eq("one-shot current count at the end", 0, REG(TIMER_CCR));
	check_eq("one-shot initial count kept", 100000, REG(TIMER_ICR));
	/* As long again: a one-shot timer does not fire twice. */
	REG(LVT_TIMER) = MASKED | V_PERIODIC;
	REG(TIMER_DCR) = 0x3;
	REG(TIMER_ICR) = 100000;
	while (REG(TIMER_CCR))
		;
	check_eq("one-shot fired once", 1, oneshots);
	kprintf("one-shot: %u interrupt, current count 0 after it\n", oneshots);
}

static void periodic(void)
{
	REG(TIMER_DCR) = 0xb;                  /* divide by 1 */
	REG(LVT_TIMER) = PERIODIC | V_PERIODIC;
	REG(TIMER_ICR) = 1000000;              /* 1 ms */
	while (periodics < 5)
		sti_hlt();
	check_true("periodic count reloads", REG(TIMER_CCR) != 0);
	REG(LVT_TIMER) = MASKED | PERIODIC | V_PERIODIC;
	open_window();                         /* one raised before the mask */
	uint32_t n = periodics;
	/* Two periods masked: it counts on, but interrupts nothing. */
	for (int i = 0; i < 2; i++) {
		while (REG(TIMER_CCR) < 500000)
			;
		while (REG(TIMER_CCR) >= 500000)
			;
	}
	open_window();
	check_eq("a masked timer raises nothing", n, periodics);
	REG(TIMER_ICR) = 0;
	check_eq("initial count 0 stops it", 0, REG(TIMER_CCR));
	kprintf("periodic: at least 5 interrupts, none masked, stopped by count 0\n");
}

static void ipis(void)
{
	cli();
	self_ipi(0x50);
	self_ipi(0x65);
	self_ipi(0x58);
	kprintf("irr after self-IPIs: %08x %08x\n", REG(IRR + 0x20), REG(IRR + 0x30));
	open_window();
	kprintf("taken:");
	for (unsigned i = 0; i < norder; i++)
		kprintf(" %x", order[i]);
	kprintf("\nin 0x65's handler: isr[0x60..0x7f] %08x ppr %x\n", isr_seen, ppr_seen);
	check_eq("isr empty after EOIs", 0, REG(ISR + 0x20) | REG(ISR + 0x30));

	norder = 0;
	REG(TPR) = 0x70;
	self_ipi(0x65);
	open_window();
	check_eq("TPR 0x70 holds 0x65 back", 0, norder);
	check_eq("0x65 waits in IRR", 1u << 5, REG(IRR + 0x30));
	REG(TPR) = 0x60;
	open_window();
	check_eq("TPR 0x60 still holds it", 0, norder);
	REG(TPR) = 0;
	open_window();
	check_eq("TPR 0: taken", 1, norder);
	kprintf("tpr: 0x65 held by 0x70 and 0x60, taken at 0\n");

	norder = 0;
	idt_set_handler(0x50, nest_irq, GATE_TRAP);
	idt_set_handler(0x52, nest_irq, GATE_TRAP);
	idt_set_handler(0x90, nest_irq, GATE_TRAP);
	self_ipi(0x50);
	open_window();
	kprintf("nesting:");
	for (unsigned i = 0; i < norder; i++)
		kprintf(" %x", order[i]);
	kprintf("\n");

	/* INIT and SIPI for an APIC that does not exist reach nobody. */
	REG(ICR_HI) = 1u << 24;
	REG(ICR_LO) = 0x4500;
	REG(ICR_LO) = 0x4608;
	check_eq("icr idle", 0, REG(ICR_LO) & (1u << 12));
}

/* Software-disabled, the APIC delivers nothing (the SDM also sets every
 * LVT mask, which QEMU 7.2 does not show: not printed). */
static void disable(void)
{
	REG(SVR) = V_SPURIOUS;
	uint32_t n = periodics;
	REG(LVT_TIMER) = PERIODIC | V_PERIODIC;
	REG(TIMER_DCR) = 0xb;
	REG(TIMER_ICR) = 100000;
	for (int i = 0; i < 3; i++) {
		while (REG(TIMER_CCR) < 50000)
			;
		while (REG(TIMER_CCR) >= 50000)
			;
		open_window();
	}
	REG(TIMER_ICR) = 0;
	check_eq("software-disabled: no timer interrupt", n, periodics);
	check_eq("spurious interrupts", 0, spurious);
	kprintf("software-disabled: svr %x, timer interrupts nothing\n", REG(SVR));
}

/* Globally disabled through IA32_APIC_BASE: CPUID's APIC bit goes with it
 * (the BSP bit stays). Last: QEMU cannot enable it again. */
static void global_disable(void)
{
	__asm__ volatile("wrmsr" :: "c"(0x1b), "a"(0xFEE00000u), "d"(0));
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	kprintf("globally disabled: IA32_APIC_BASE %llx, cpuid 1 edx.apic %u\n",
		(unsigned long long)rdmsr(0x1b), (d >> 9) & 1);
}

void guest_main(void)
{
	idt_init();
	idt_set_handler(V_ONESHOT, oneshot_irq, GATE_INTR);
	idt_set_handler(V_PERIODIC, periodic_irq, GATE_INTR);
	idt_set_handler(V_SPURIOUS, spurious_irq, GATE_INTR);
	idt_set_handler(0x50, ipi_irq, GATE_INTR);
	idt_set_handler(0x58, ipi_irq, GATE_INTR);
	idt_set_handler(0x60, ipi_irq, GATE_INTR);
	idt_set_handler(0x65, ipi_irq, GATE_INTR);
	/* The PIC stays masked: only the APIC interrupts here. */
	__asm__ volatile("outb %0, $0x21; outb %0, $0xa1" :: "a"((uint8_t)0xff));
	firmware_state();
	registers();
	oneshot();
	periodic();
	ipis();
	disable();
	global_disable();
}
