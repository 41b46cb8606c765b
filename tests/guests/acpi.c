/* acpi guest (-machine pc): the ACPI tables as a kernel finds them (the
 * RSDP by the scan of 0xE0000-0xFFFFF, checksums, the RSDT's FADT and
 * MADT), what the FADT says of the PM registers, the MADT's CPU, IOAPIC
 * and the overrides of IRQ 0 and the SCI, ACPI mode (SCI_EN, entered
 * through SMI_CMD when the FADT has one), the PM timer's rate against PIT
 * channel 2 (as Linux checks it) and its 24 bits, and TMR_STS. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "io.h"
#include "serial.h"

GUEST_NAME("acpi");

static uint8_t sum(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static int same4(const uint8_t *p, const char *s) { return p[0] == s[0] && p[1] == s[1] && p[2] == s[2] && p[3] == s[3]; }

static const uint8_t *find_rsdp(void)
{
	for (uint32_t a = 0xe0000; a < 0x100000; a += 16) {
		const uint8_t *p = (const uint8_t *)a;
		if (same4(p, "RSD ") && same4(p + 4, "PTR ") && sum(p, 20) == 0)
			return p;
	}
	return 0;
}

/* Ticks of the PM timer while PIT channel 2 counts 30 ms in mode 0, as
 * Linux's verify_pmtmr_rate does (interrupts off). */
static uint32_t pm_ticks_in_30ms(uint16_t tmr)
{
	const uint16_t latch = 35795;         /* 1193182 Hz * 30 ms */
	outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01));
	outb(0x43, 0xb0);
	outb(0x42, latch & 0xff);
	outb(0x42, latch >> 8);
	uint32_t a = inl(tmr);
	while (!(inb(0x61) & 0x20))
		;
	uint32_t b = inl(tmr);
	return (b - a) & 0xffffff;
}

void guest_main(void)
{
	const uint8_t *rsdp = find_rsdp();
	check_true("an RSDP in 0xE0000-0xFFFFF", rsdp != 0);
	const uint8_t *rsdt = (const uint8_t *)rd32(rsdp + 16);
	check_true("RSDT signature", same4(rsdt, "RSDT"));
	check_eq("RSDT checksum", 0, sum(rsdt, rd32(rsdt + 4)));
	const uint8_t *fadt = 0, *madt = 0;
	for (uint32_t i = 36; i + 4 <= rd32(rsdt + 4); i += 4) {
		const uint8_t *t = (const uint8_t *)rd32(rsdt + i);
		if (same4(t, "FACP"))
			fadt = t;
		if (same4(t, "APIC"))
			madt = t;
	}
	kprintf("rsdt: FACP %s, APIC %s\n", fadt ? "yes" : "no", madt ? "yes" : "no");
	check_true("the RSDT lists a FADT", fadt != 0);
	check_true("the RSDT lists a MADT", madt != 0);
	check_eq("FADT checksum", 0, sum(fadt, rd32(fadt + 4)));
	check_eq("MADT checksum", 0, sum(madt, rd32(madt + 4)));
	const uint8_t *dsdt = (const uint8_t *)rd32(fadt + 40);
	check_true("DSDT signature", same4(dsdt, "DSDT"));
	check_eq("DSDT checksum", 0, sum(dsdt, rd32(dsdt + 4)));
	const uint8_t *facs = (const uint8_t *)rd32(fadt + 36);
	check_true("FACS signature", same4(facs, "FACS"));
	check_eq("FACS 64-byte aligned", 0, (uint32_t)facs & 63);

	uint16_t sci = rd16(fadt + 46);
	uint32_t smi = rd32(fadt + 48);
	uint16_t evt = (uint16_t)rd32(fadt + 56), cnt = (uint16_t)rd32(fadt + 64), tmr = (uint16_t)rd32(fadt + 76);
	kprintf("fadt: sci %u, pm1a_evt 0x%x/%u, pm1a_cnt 0x%x/%u, pm_tmr 0x%x/%u\n", sci, evt, fadt[88], cnt,
		fadt[89], tmr, fadt[91]);

	uint32_t lapic = rd32(madt + 36), cpus = 0;
	kprintf("madt: local apic 0x%x, pc-at compatible %u\n", lapic, rd32(madt + 40) & 1);
	for (uint32_t i = 44; i + 2 <= rd32(madt + 4); i += madt[i + 1]) {
		const uint8_t *e = madt + i;
		if (e[0] == 0 && (rd32(e + 4) & 1))
			cpus++;
		if (e[0] == 1) {
			/* The ID is the firmware's choice (QEMU's MADT and
			 * SeaBIOS's MP table differ): it must be the one the
			 * IOAPIC's ID register holds. */
			volatile uint32_t *io = (volatile uint32_t *)rd32(e + 4);
			io[0] = 0;
			uint32_t id = (io[4] >> 24) & 0xf;
			kprintf("madt: ioapic at 0x%x, gsi base %u, id as its register %s\n", rd32(e + 4),
				rd32(e + 8), id == e[2] ? "yes" : "no");
		}
		if (e[0] == 2 && e[2] == 0 && (e[3] == 0 || e[3] == sci))
			kprintf("madt: irq %u -> gsi %u, flags 0x%x\n", e[3], rd32(e + 4), rd16(e + 8));
	}
	kprintf("madt: %u cpu(s) enabled\n", cpus);

	/* ACPI mode: the OS writes ACPI_ENABLE to SMI_CMD if there is one. */
	if (smi && !(inw(cnt) & 1)) {
		outb((uint16_t)smi, fadt[52]);
		for (int i = 0; i < 1000000 && !(inw(cnt) & 1); i++)
			;
	}
	kprintf("pm1a_cnt: sci_en %u\n", inw(cnt) & 1);

	/* The timer: 3.579545 MHz against the PIT within 1%, the median of
	 * five (a host that preempts the emulator between the PIT's end and
	 * the timer's read upsets one now and then, under QEMU too). */
	uint32_t expected = (uint32_t)(35795ull * 3579545u / 1193182u), d[5];
	for (int i = 0; i < 5; i++) {
		d[i] = pm_ticks_in_30ms(tmr);
		for (int j = i; j > 0 && d[j] < d[j - 1]; j--) {
			uint32_t t = d[j]; d[j] = d[j - 1]; d[j - 1] = t;
		}
	}
	int ok = d[2] >= expected * 99 / 100 && d[2] <= expected * 101 / 100;
	if (!ok)
		kprintf("pm timer: median %u ticks in 30 ms, expected %u\n", d[2], expected);
	kprintf("pm timer: rate %s\n", ok ? "within 1%" : "off");
	check_true("PM timer rate", ok);
	uint32_t hi = 0;
	for (int i = 0; i < 1000; i++)
		hi |= inl(tmr);
	kprintf("pm timer: bits above 23 read %u\n", hi >> 24);

	/* TMR_STS comes up when bit 23 changes (within 2.35 s) and clears
	 * when written 1. */
	outw(evt, 1);
	check_eq("TMR_STS cleared", 0, inw(evt) & 1);
	uint32_t start = inl(tmr) & 0x800000;
	while ((inl(tmr) & 0x800000) == start)
		;
	kprintf("pm1_sts: tmr_sts %u after bit 23 changed\n", inw(evt) & 1);
	outw(evt, 1);
	kprintf("pm1_sts: tmr_sts %u after it was cleared\n", inw(evt) & 1);
}
