/* ata guest: the primary IDE channel's master drive (a blank raw image the
 * runner makes per run) by PIO: IDENTIFY DEVICE's geometry, capacity and
 * capability words, WRITE SECTORS then READ SECTORS by LBA28 and by CHS,
 * SET MULTIPLE with WRITE/READ MULTIPLE, FLUSH CACHE, the errors for a
 * sector past the end and an unknown command, an absent slave, and INTRQ
 * on IRQ 14 gated by nIEN. Printed, and compared with QEMU. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "io.h"
#include "pic.h"
#include "serial.h"

GUEST_NAME("ata");

#define DATA 0x1f0
#define ERROR 0x1f1
#define NSECT 0x1f2
#define SECTOR 0x1f3
#define LCYL 0x1f4
#define HCYL 0x1f5
#define SELECT 0x1f6
#define STATUS 0x1f7
#define DEVCTL 0x3f6

static uint16_t buf[256 * 8], back[256 * 8];

static uint8_t wait_ready(void)
{
	for (int i = 0; i < 1000000; i++) {
		uint8_t s = inb(DEVCTL);
		if (!(s & 0x80))
			return inb(STATUS);
	}
	fail("the drive stays busy");
}

static void task(uint32_t lba, uint8_t count)
{
	outb(SELECT, (uint8_t)(0xe0 | (lba >> 24)));
	outb(NSECT, count);
	outb(SECTOR, (uint8_t)lba);
	outb(LCYL, (uint8_t)(lba >> 8));
	outb(HCYL, (uint8_t)(lba >> 16));
}

static void words_in(uint16_t *p, unsigned n) { for (unsigned i = 0; i < n; i++) p[i] = inw(DATA); }
static void words_out(const uint16_t *p, unsigned n) { for (unsigned i = 0; i < n; i++) outw(DATA, p[i]); }

/* A PIO data-in command moving `count` sectors in blocks of `block`. */
static void pio_in(uint8_t cmd, uint16_t *p, unsigned count, unsigned block)
{
	outb(STATUS, cmd);
	for (unsigned done = 0; done < count; done += block) {
		uint8_t s = wait_ready();
		if ((s & 0x89) != 0x08)
			fail("command %02x: status %02x error %02x before sector %u", cmd, s, inb(ERROR), done);
		words_in(p + done * 256, 256 * (count - done < block ? count - done : block));
	}
	check_eq("status after the data", 0x50, wait_ready());
}

static void pio_out(uint8_t cmd, const uint16_t *p, unsigned count, unsigned block)
{
	outb(STATUS, cmd);
	for (unsigned done = 0; done < count; done += block) {
		uint8_t s = wait_ready();
		if ((s & 0x89) != 0x08)
			fail("command %02x: status %02x error %02x before sector %u", cmd, s, inb(ERROR), done);
		words_out(p + done * 256, 256 * (count - done < block ? count - done : block));
	}
	check_eq("status after the data", 0x50, wait_ready());
}

static void fill(uint16_t *p, unsigned n, uint16_t seed)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint16_t)(seed + i * 0x9e37u);
}

static void same(const char *what, const uint16_t *a, const uint16_t *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (a[i] != b[i])
			fail("%s: word %u is %04x, wrote %04x", what, i, b[i], a[i]);
	kprintf("%s: %u sectors match\n", what, n / 256);
}

void guest_main(void)
{
	outb(DEVCTL, 0x02);          /* nIEN: polled */
	outb(SELECT, 0xa0);
	kprintf("status %02x\n", wait_ready() & 0xd9);

	outb(STATUS, 0xec);
	check_eq("IDENTIFY status", 0x58, wait_ready());
	words_in(buf, 256);
	check_eq("status after IDENTIFY data", 0x50, wait_ready());
	kprintf("identify: config %04x, CHS %u/%u/%u, current %u/%u/%u, capacity %u\n",
		buf[0], buf[1], buf[3], buf[6], buf[54], buf[55], buf[56], buf[57] | (uint32_t)buf[58] << 16);
	kprintf("identify: LBA %u, LBA28 sectors %u, max multiple %u, words 54-58 valid %u\n",
		(buf[49] >> 9) & 1, buf[60] | (uint32_t)buf[61] << 16, buf[47] & 0xff, buf[53] & 1);
	kprintf("identify: flush cache %u\n", (buf[83] >> 12) & 1);
	check_true("model string is printable", buf[27] >> 8 > ' ' && buf[27] >> 8 < 0x7f);

	fill(buf, 256 * 4, 0x1234);
	task(10, 4);
	pio_out(0x30, buf, 4, 1);
	task(10, 4);
	pio_in(0x20, back, 4, 1);
	same("WRITE/READ SECTORS, LBA 10", buf, back, 256 * 4);
	/* LBA 11 by CHS: cylinder 0, head 0, sector 12 (63 per track). */
	outb(SELECT, 0xa0);
	outb(NSECT, 1);
	outb(SECTOR, 12);
	outb(LCYL, 0);
	outb(HCYL, 0);
	pio_in(0x20, back, 1, 1);
	same("READ SECTORS by CHS 0/0/12", buf + 256, back, 256);
	/* LBA 1100 by CHS: 1100 = (1 * 16 + 1) * 63 + 29, sector 30. */
	fill(buf, 256, 0x4321);
	task(1100, 1);
	pio_out(0x30, buf, 1, 1);
	outb(SELECT, 0xa1);
	outb(NSECT, 1);
	outb(SECTOR, 30);
	outb(LCYL, 1);
	outb(HCYL, 0);
	pio_in(0x20, back, 1, 1);
	same("READ SECTORS by CHS 1/1/30", buf, back, 256);

	outb(SELECT, 0xe0);
	outb(NSECT, 4);
	outb(STATUS, 0xc6);
	kprintf("SET MULTIPLE 4: status %02x\n", wait_ready());
	fill(buf, 256 * 8, 0x5a5a);
	task(100, 8);
	pio_out(0xc5, buf, 8, 4);
	task(100, 8);
	pio_in(0xc4, back, 8, 4);
	same("WRITE/READ MULTIPLE, LBA 100", buf, back, 256 * 8);

	outb(STATUS, 0xe7);
	kprintf("FLUSH CACHE: status %02x\n", wait_ready());

	task(8192, 1);               /* the image has 8192 sectors */
	outb(STATUS, 0x20);
	uint8_t s = wait_ready();
	kprintf("read past the end: status %02x, error %02x\n", s, inb(ERROR));
	outb(STATUS, 0xff);
	s = wait_ready();
	kprintf("unknown command: status %02x, error %02x\n", s, inb(ERROR));

	outb(SELECT, 0xb0);
	kprintf("absent slave: status %02x\n", inb(STATUS));
	outb(SELECT, 0xa0);

	/* INTRQ: raised at the end of a command unless nIEN, dropped by a
	 * read of the status register. */
	pic_set_mask(0xffff);
	uint16_t before = pic_read_irr() & 0x4000;
	outb(STATUS, 0xe7);
	wait_ready();
	uint16_t masked = pic_read_irr() & 0x4000;
	outb(DEVCTL, 0x00);
	outb(STATUS, 0xe7);
	/* The flush completes when the host's sync does (QEMU's in a thread:
	 * under load, after more than a thousand port reads): the alternate
	 * status (DEVCTL's port, read) shows BSY without touching INTRQ. */
	for (long i = 0; i < 100000000L && (inb(DEVCTL) & 0x80); i++)
		;
	for (int i = 0; i < 1000 && !(pic_read_irr() & 0x4000); i++)
		inb(0x80);
	uint16_t raised = pic_read_irr() & 0x4000;
	inb(STATUS);
	kprintf("IRQ 14: before %u, with nIEN %u, without %u\n", before >> 14, masked >> 14, raised >> 14);
}
