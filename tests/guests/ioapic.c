/* ioapic guest (-machine pc; QEMU -cpu qemu32,-pae): the firmware's
 * MP table (floating pointer, checksums, one enabled BSP, an ISA bus, the
 * IOAPIC and where ISA IRQ0 arrives), then the IOAPIC itself: version,
 * the redirection table as the firmware leaves it and read back, the PIT
 * through pin 2 to the local APIC with the PIC masked, and masking. Prints
 * what does not depend on timing or on which firmware built the table. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "idt.h"
#include "pit.h"
#include "serial.h"

GUEST_NAME("ioapic");

#define APIC_EOI (*(volatile uint32_t *)0xFEE000B0u)
#define APIC_SVR (*(volatile uint32_t *)0xFEE000F0u)
#define IOREGSEL (*(volatile uint32_t *)0xFEC00000u)
#define IOWIN    (*(volatile uint32_t *)0xFEC00010u)
#define MASKED (1u << 16)
#define V_TIMER 0x30

static uint32_t io_rd(uint32_t r) { IOREGSEL = r; return IOWIN; }
static void io_wr(uint32_t r, uint32_t v) { IOREGSEL = r; IOWIN = v; }

static uint8_t sum(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static const uint8_t *find_float(uint32_t from, uint32_t len)
{
	for (uint32_t a = from; a < from + len; a += 16) {
		const uint8_t *p = (const uint8_t *)a;
		if (p[0] == '_' && p[1] == 'M' && p[2] == 'P' && p[3] == '_' && sum(p, 16) == 0)
			return p;
	}
	return 0;
}

/* The table as a kernel reads it; returns the IOAPIC's pin for ISA IRQ0. */
static unsigned mp_table(void)
{
	uint16_t ebda;
	__asm__ volatile("movw 0x40e, %0" : "=r"(ebda));     /* the BDA's EBDA segment */
	const uint8_t *f = find_float((uint32_t)ebda << 4, 1024);
	if (!f)
		f = find_float(0x9fc00, 1024);
	if (!f)
		f = find_float(0xf0000, 0x10000);
	check_true("MP floating pointer", f != 0);
	check_eq("floating pointer length", 1, f[8]);
	check_eq("spec revision 1.4", 4, f[9]);
	check_eq("no default configuration", 0, f[11]);
	const uint8_t *t = (const uint8_t *)*(const uint32_t *)(f + 4);
	check_true("PCMP signature", t[0] == 'P' && t[1] == 'C' && t[2] == 'M' && t[3] == 'P');
	uint16_t len = *(const uint16_t *)(t + 4), n = *(const uint16_t *)(t + 34);
	check_eq("table checksum", 0, sum(t, len));
	check_eq("local APIC address", 0xFEE00000u, *(const uint32_t *)(t + 36));
	unsigned cpus = 0, ioapics = 0, isa = 0, pin0 = 99, isa_bus = 99;
	uint32_t ioapic_addr = 0;
	const uint8_t *e = t + 44;
	for (unsigned i = 0; i < n; i++) {
		switch (e[0]) {
		case 0:
			check_eq("the CPU is the enabled BSP", 3, e[3] & 3);
			cpus++;
			e += 20;
			break;
		case 1:
			if (e[2] == 'I' && e[3] == 'S' && e[4] == 'A') {
				isa++;
				isa_bus = e[1];
			}
			e += 8;
			break;
		case 2:
			ioapics++;
			ioapic_addr = *(const uint32_t *)(e + 4);
			e += 8;
			break;
		case 3:
			if (e[1] == 0 && e[4] == isa_bus && e[5] == 0)
				pin0 = e[7];
			e += 8;
			break;
		default:
			e += 8;
			break;
		}
	}
	kprintf("mp table: %u cpu, %u isa bus, %u ioapic at %08x, isa irq0 on pin %u\n", cpus, isa, ioapics,
		ioapic_addr, pin0);
	return pin0;
}

static volatile uint32_t ticks;

static void timer_irq(struct int_frame *f)
{
	(void)f;
	ticks++;
	APIC_EOI = 0;
}

static inline void open_window(void) { __asm__ volatile("sti; nop; cli" ::: "memory"); }
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt; cli" ::: "memory"); }

void guest_main(void)
{
	idt_init();
	idt_set_handler(V_TIMER, timer_irq, GATE_INTR);
	__asm__ volatile("outb %0, $0x21; outb %0, $0xa1" :: "a"((uint8_t)0xff));
	unsigned pin = mp_table();
	kprintf("ioapic version %08x\n", io_rd(1));
	unsigned masked = 0;
	for (unsigned p = 0; p < 24; p++)
		masked += (io_rd(0x10 + 2 * p) & MASKED) != 0;
	kprintf("pins masked by the firmware: %u of 24\n", masked);
	io_wr(0x11 + 2 * pin, 0);                       /* physical, APIC 0 */
	io_wr(0x10 + 2 * pin, MASKED | V_TIMER);
	check_eq("redirection entry read back", MASKED | V_TIMER, io_rd(0x10 + 2 * pin) & 0x1ffff);
	APIC_SVR = 0x1ff;
	pit_set_periodic(1193);                         /* ~1 kHz */
	open_window();
	check_eq("masked pin: nothing", 0, ticks);
	io_wr(0x10 + 2 * pin, V_TIMER);
	while (ticks < 5)
		sti_hlt();
	io_wr(0x10 + 2 * pin, MASKED | V_TIMER);
	open_window();
	uint32_t n = ticks;
	/* Three PIT periods: the counter reloads three times. */
	uint16_t prev = pit_read_ch0();
	for (unsigned reloads = 0; reloads < 3;) {
		uint16_t now = pit_read_ch0();
		reloads += now > prev;
		prev = now;
	}
	open_window();
	check_eq("masked again: no more", n, ticks);
	pit_stop();
	kprintf("pit through the ioapic: at least 5 interrupts, none masked\n");
}
