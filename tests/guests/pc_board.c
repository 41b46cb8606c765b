/* pc_board guest (-machine pc; QEMU -cpu qemu32,-pae): the PC a kernel
 * written for QEMU expects, used together as such a kernel uses it: fw_cfg
 * says how many CPUs and how much RAM, the MP table says on which IOAPIC
 * pin ISA IRQ 14 arrives, the local APIC's timer (one-shot, then periodic)
 * paces the work, and the primary ATA disk's interrupt comes through the
 * IOAPIC to the local APIC while the guest writes, reads back and flushes
 * sectors. Prints what does not depend on timing; compared with QEMU. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "idt.h"
#include "io.h"
#include "serial.h"

GUEST_NAME("pc_board");

#define APIC_REG(off) (*(volatile uint32_t *)(0xFEE00000u + (off)))
#define EOI 0xb0
#define SVR 0xf0
#define LVT_TIMER 0x320
#define TIMER_ICR 0x380
#define TIMER_DCR 0x3e0
#define PERIODIC (1u << 17)
#define MASKED (1u << 16)
#define IOREGSEL (*(volatile uint32_t *)0xFEC00000u)
#define IOWIN (*(volatile uint32_t *)0xFEC00010u)
#define V_TIMER 0x40
#define V_DISK 0x50

#define ATA_DATA 0x1f0
#define ATA_ERROR 0x1f1
#define ATA_NSECT 0x1f2
#define ATA_SECTOR 0x1f3
#define ATA_LCYL 0x1f4
#define ATA_HCYL 0x1f5
#define ATA_SELECT 0x1f6
#define ATA_CMD 0x1f7
#define ATA_DEVCTL 0x3f6

static volatile uint32_t timer_ticks, disk_irqs;
static uint16_t sector[256], back[256];

static void timer_irq(struct int_frame *f) { (void)f; timer_ticks++; APIC_REG(EOI) = 0; }
static void disk_irq(struct int_frame *f)
{
	(void)f;
	(void)inb(ATA_CMD);             /* reading the status acknowledges INTRQ */
	disk_irqs++;
	APIC_REG(EOI) = 0;
}

static void io_wr(uint32_t r, uint32_t v) { IOREGSEL = r; IOWIN = v; }

static uint64_t fwcfg(uint16_t key, unsigned n)
{
	outw(0x510, key);
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)inb(0x511) << (8 * i);
	return v;
}

static uint8_t sum(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* The IOAPIC pin of ISA IRQ `irq` from the MP table's interrupt entries
 * (an ISA IRQ with no entry of its own is wired to the same pin). */
static unsigned mp_pin(unsigned irq)
{
	const uint8_t *f = 0;
	uint16_t ebda;
	__asm__ volatile("movw 0x40e, %0" : "=r"(ebda));
	static const uint32_t from[3] = { 0, 0x9fc00, 0xf0000 }, len[3] = { 1024, 1024, 0x10000 };
	for (int k = 0; k < 3 && !f; k++) {
		uint32_t a0 = k == 0 ? (uint32_t)ebda << 4 : from[k];
		for (uint32_t a = a0; a < a0 + len[k] && !f; a += 16) {
			const uint8_t *p = (const uint8_t *)a;
			if (p[0] == '_' && p[1] == 'M' && p[2] == 'P' && p[3] == '_' && sum(p, 16) == 0)
				f = p;
		}
	}
	if (!f)
		fail("no MP floating pointer");
	const uint8_t *t = (const uint8_t *)*(const uint32_t *)(f + 4);
	uint16_t n = *(const uint16_t *)(t + 34);
	unsigned isa_bus = 99, pin = irq;
	const uint8_t *e = t + 44;
	for (unsigned i = 0; i < n; i++) {
		if (e[0] == 1 && e[2] == 'I' && e[3] == 'S' && e[4] == 'A')
			isa_bus = e[1];
		if (e[0] == 3 && e[1] == 0 && e[4] == isa_bus && e[5] == irq)
			pin = e[7];
		e += e[0] == 0 ? 20 : 8;
	}
	return pin;
}

static uint8_t ata_wait(void)
{
	for (int i = 0; i < 1000000; i++) {
		uint8_t s = inb(ATA_DEVCTL);
		if (!(s & 0x80))
			return s;
	}
	fail("the disk stays busy");
}

/* A command whose completion (or data request) raises INTRQ: waited for
 * with sti;hlt until the IOAPIC has delivered it. */
static void ata_cmd_wait_irq(uint8_t cmd)
{
	uint32_t before = disk_irqs;
	outb(ATA_CMD, cmd);
	while (disk_irqs == before)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
}

static void ata_task(uint32_t lba)
{
	outb(ATA_SELECT, (uint8_t)(0xe0 | (lba >> 24)));
	outb(ATA_NSECT, 1);
	outb(ATA_SECTOR, (uint8_t)lba);
	outb(ATA_LCYL, (uint8_t)(lba >> 8));
	outb(ATA_HCYL, (uint8_t)(lba >> 16));
}

void guest_main(void)
{
	idt_init();
	idt_set_handler(V_TIMER, timer_irq, GATE_INTR);
	idt_set_handler(V_DISK, disk_irq, GATE_INTR);
	outb(0x21, 0xff);               /* the PIC pair masked: the APICs deliver */
	outb(0xa1, 0xff);

	char sig[5];
	outw(0x510, 0);
	for (int i = 0; i < 4; i++)
		sig[i] = (char)inb(0x511);
	sig[4] = 0;
	kprintf("fw_cfg: signature %s, %u CPU, %u MiB of RAM\n", sig, (unsigned)fwcfg(0x0005, 2),
		(unsigned)(fwcfg(0x0003, 8) >> 20));

	unsigned pin = mp_pin(14);
	kprintf("mp table: ISA IRQ 14 on IOAPIC pin %u\n", pin);

	APIC_REG(SVR) = 0x1ff;
	APIC_REG(TIMER_DCR) = 0xb;              /* divide by 1 */
	APIC_REG(LVT_TIMER) = V_TIMER;          /* one-shot */
	APIC_REG(TIMER_ICR) = 1000000;
	while (timer_ticks == 0)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	kprintf("lapic timer: the one-shot fired\n");

	io_wr(0x11 + 2 * pin, 0);               /* to APIC 0, physical */
	io_wr(0x10 + 2 * pin, V_DISK);          /* edge, active high, fixed */
	outb(ATA_DEVCTL, 0);                    /* nIEN clear: INTRQ on */
	outb(ATA_SELECT, 0xa0);
	ata_wait();
	ata_cmd_wait_irq(0xec);                 /* IDENTIFY DEVICE */
	for (int i = 0; i < 256; i++)
		back[i] = inw(ATA_DATA);
	uint32_t sectors = back[60] | ((uint32_t)back[61] << 16);
	kprintf("ata: IDENTIFY through IRQ %u: LBA28 capacity %u sectors\n", 14, sectors);

	/* Periodic timer ticks while the disk works: the two interrupt paths
	 * (local timer, IOAPIC pin) interleave. */
	APIC_REG(LVT_TIMER) = V_TIMER | PERIODIC;
	APIC_REG(TIMER_ICR) = 200000;
	for (uint32_t lba = 1; lba <= 8; lba++) {
		for (int i = 0; i < 256; i++)
			sector[i] = (uint16_t)(lba * 0x101u + (uint32_t)i * 7u);
		ata_task(lba);
		outb(ATA_CMD, 0x30);            /* WRITE SECTORS: data first, INTRQ at the end */
		if ((ata_wait() & 0x89) != 0x08)
			fail("write of sector %u: status %02x", lba, inb(ATA_CMD));
		uint32_t before = disk_irqs;
		for (int i = 0; i < 256; i++)
			outw(ATA_DATA, sector[i]);
		while (disk_irqs == before)
			__asm__ volatile("sti; hlt; cli" ::: "memory");
		ata_task(lba);
		ata_cmd_wait_irq(0x20);         /* READ SECTORS */
		for (int i = 0; i < 256; i++)
			back[i] = inw(ATA_DATA);
		for (int i = 0; i < 256; i++)
			if (back[i] != sector[i])
				fail("sector %u word %d: wrote %04x, read %04x", lba, i, sector[i], back[i]);
	}
	ata_cmd_wait_irq(0xe7);                 /* FLUSH CACHE */
	APIC_REG(LVT_TIMER) = MASKED;
	kprintf("ata: 8 sectors written, read back equal and flushed, each command's interrupt through the IOAPIC\n");
	kprintf("lapic timer: periodic ticks kept coming meanwhile: %s\n", timer_ticks > 1 ? "yes" : "no");
	check_eq("the disk's status at the end", 0x50, inb(ATA_CMD) & 0xd9);
}
