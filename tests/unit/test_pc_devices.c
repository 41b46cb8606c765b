/* Unit tests for the PC board's newer devices driven through the io bus as
 * a guest would: the i8042 keyboard controller with its keyboard and mouse
 * (Linux's probe sequence, interrupts through the PIC, the reset line) and
 * QEMU's fw_cfg, the ATA disks and the local APIC (registers, its timer
 * against a clock the test sets, priorities and EOI, IPIs, the base MSR)
 * and the IOAPIC (redirection table, edge and level pins, remote IRR), and
 * the ACPI PM registers (the PM timer against a clock the test sets,
 * TMR_STS and the SCI, SCI_EN, SLP_EN). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>
#include "devices.h"
#include "io.h"
#include "stats.h"
#include "devices/i8042.h"
#include "devices/fw_cfg.h"
#include "devices/ata.h"
#include "devices/lapic.h"
#include "devices/ioapic.h"
#include "devices/acpi_pm.h"
#include "tunables.h"
#include "mmio.h"

static struct {
	struct io_bus bus;
	stat_counter unclaimed;
	struct pic pic;
	struct i8042 kbc;
	struct fw_cfg fw;
	struct ata ata;
	uint8_t disk[2][64 * 512];         /* drives 0 and 2: 64 sectors each */
	bool fail_io;
	unsigned flushes;
	unsigned offs;
	const char *why;
} w;

static void off(const char *why)
{
	w.offs++;
	w.why = why;
}

static int mem_read(void *opaque, unsigned drive, uint64_t lba, void *buf, uint32_t count)
{
	assert_ptr_equal(opaque, &w);
	if (w.fail_io)
		return -1;
	assert_true(lba + count <= 64);
	memcpy(buf, w.disk[drive / 2] + lba * 512, count * 512);
	return 0;
}

static int mem_write(void *opaque, unsigned drive, uint64_t lba, const void *buf, uint32_t count)
{
	(void)opaque;
	if (w.fail_io)
		return -1;
	assert_true(lba + count <= 64);
	memcpy(w.disk[drive / 2] + lba * 512, buf, count * 512);
	return 0;
}

static int mem_flush(void *opaque, unsigned drive)
{
	(void)opaque; (void)drive;
	w.flushes++;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	memset(&w, 0, sizeof(w));
	stats_reset_registry();
	io_bus_init(&w.bus, &w.unclaimed);
	pic_init(&w.pic);
	i8042_init(&w.kbc, &w.pic, off);
	fw_cfg_init(&w.fw, 128u << 20, 1);
	static const uint64_t sectors[ATA_DRIVES] = { 64, 0, 64, 0 };
	static const bool ro[ATA_DRIVES] = { false, false, true, false };
	struct ata_backing back = { mem_read, mem_write, mem_flush, &w };
	ata_init(&w.ata, &w.pic, &back, sectors, ro);
	if (pic_attach(&w.pic, &w.bus) || i8042_attach(&w.kbc, &w.bus) || fw_cfg_attach(&w.fw, &w.bus) ||
	    ata_attach(&w.ata, &w.bus))
		return -1;
	return 0;
}

static void outb(uint16_t port, uint8_t v) { io_out(&w.bus, port, 1, v); }
static uint8_t inb(uint16_t port) { return (uint8_t)io_in(&w.bus, port, 1); }

/* The next byte of output, which must be there, with its status bits. */
static void expect_byte(uint8_t status, uint8_t v)
{
	assert_int_equal(inb(0x64), status);
	assert_int_equal(inb(0x60), v);
}

static void expect_empty(void)
{
	assert_int_equal(inb(0x64) & 0x21, 0);
}

/* ------------------------------------------------------------------ i8042 */

static void test_i8042_power_on(void **state)
{
	(void)state;
	/* Nothing to read, not self-tested, nothing stuck in the input buffer. */
	assert_int_equal(inb(0x64), 0x18);
	outb(0x64, 0x20);
	expect_byte(0x19, 0x03);
	expect_empty();
}

/* What Linux's i8042 driver does: flush, self test, read and write the
 * command byte, test the aux port with loops; each answer without delay. */
static void test_i8042_linux_probe(void **state)
{
	(void)state;
	outb(0x64, 0xaa);
	expect_byte(0x1d, 0x55);
	assert_int_equal(inb(0x64), 0x1c);          /* system flag from now on */
	outb(0x64, 0x20);
	expect_byte(0x1d, 0x03);
	outb(0x64, 0x60);
	outb(0x60, 0x74);                           /* ports off, interrupts off */
	outb(0x64, 0x20);
	expect_byte(0x1d, 0x74);
	outb(0x64, 0xab);
	expect_byte(0x1d, 0x00);
	outb(0x64, 0xa9);
	expect_byte(0x1d, 0x00);
	outb(0x64, 0xd3);
	outb(0x60, 0x5a);
	expect_byte(0x3d, 0x5a);                    /* seen as the aux port's */
	outb(0x64, 0xa8);
	outb(0x64, 0x20);
	expect_byte(0x1d, 0x54);
	outb(0x64, 0xa7);
	outb(0x64, 0xae);
	outb(0x64, 0x20);
	expect_byte(0x1d, 0x64);
	outb(0x64, 0xad);
	outb(0x64, 0x20);
	expect_byte(0x1d, 0x74);
	outb(0x64, 0xd2);
	outb(0x60, 0xa5);
	expect_byte(0x1d, 0xa5);
	expect_empty();
	assert_int_equal(w.offs, 0);
}

static void test_i8042_keyboard(void **state)
{
	(void)state;
	outb(0x60, 0xff);
	expect_byte(0x19, 0xfa);
	expect_byte(0x19, 0xaa);
	outb(0x60, 0xf2);
	expect_byte(0x19, 0xfa);
	expect_byte(0x19, 0xab);
	expect_byte(0x19, 0x83);
	outb(0x64, 0x60);
	outb(0x60, 0x43);                           /* translation on */
	outb(0x60, 0xf2);
	expect_byte(0x19, 0xfa);
	expect_byte(0x19, 0xab);
	expect_byte(0x19, 0x41);
	outb(0x60, 0xee);
	expect_byte(0x19, 0xee);
	outb(0x60, 0xf0);
	expect_byte(0x19, 0xfa);
	outb(0x60, 0x00);
	expect_byte(0x19, 0xfa);
	expect_byte(0x19, 0x41);                    /* set 2, as translated */
	/* A byte written before the last answer was read replaces it. */
	outb(0x60, 0xed);
	outb(0x60, 0x07);
	expect_byte(0x19, 0xfa);
	expect_empty();
	outb(0x60, 0x12);
	expect_byte(0x19, 0xfe);
	/* Writing to the keyboard enables its port again. */
	outb(0x64, 0xad);
	outb(0x60, 0xf4);
	expect_byte(0x19, 0xfa);
	outb(0x64, 0x20);
	expect_byte(0x19, 0x43);
}

static void test_i8042_keyboard_port_disabled(void **state)
{
	(void)state;
	outb(0x60, 0xee);
	outb(0x64, 0xad);
	/* The byte already in the output buffer stays; nothing new arrives. */
	expect_byte(0x19, 0xee);
	outb(0x60, 0xee);                           /* ...but a write enables it again */
	expect_byte(0x19, 0xee);
	outb(0x64, 0xa7);
	outb(0x64, 0xd4);
	outb(0x60, 0xf2);
	expect_empty();
	outb(0x64, 0xa8);
	expect_byte(0x39, 0xfa);
	expect_byte(0x39, 0x00);
}

static void test_i8042_mouse(void **state)
{
	(void)state;
	outb(0x64, 0xd4); outb(0x60, 0xff);
	expect_byte(0x39, 0xfa);
	expect_byte(0x39, 0xaa);
	expect_byte(0x39, 0x00);
	outb(0x64, 0xd4); outb(0x60, 0xf3);
	outb(0x64, 0xd4); outb(0x60, 0x28);
	expect_byte(0x39, 0xfa);
	expect_byte(0x39, 0xfa);
	outb(0x64, 0xd4); outb(0x60, 0xf4);
	expect_byte(0x39, 0xfa);
	outb(0x64, 0xd4); outb(0x60, 0xe9);
	expect_byte(0x39, 0xfa);
	expect_byte(0x39, 0x20);
	expect_byte(0x39, 0x02);
	expect_byte(0x39, 0x28);
	outb(0x64, 0xd4); outb(0x60, 0xf6);
	expect_byte(0x39, 0xfa);
	outb(0x64, 0xd4); outb(0x60, 0xe9);
	expect_byte(0x39, 0xfa);
	expect_byte(0x39, 0x20);
	expect_byte(0x39, 0x02);
	expect_byte(0x39, 0x64);
	expect_empty();
}

/* Level lines, gated by the command byte; each byte read gives a new edge. */
static void test_i8042_interrupts(void **state)
{
	(void)state;
	outb(0x20, 0x11); outb(0x21, 0x08); outb(0x21, 0x04); outb(0x21, 0x01);
	outb(0xa0, 0x11); outb(0xa1, 0x70); outb(0xa1, 0x02); outb(0xa1, 0x01);
	outb(0x21, 0x00); outb(0xa1, 0x00);
	outb(0x60, 0xff);                           /* two bytes: FA AA */
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(pic_ack(&w.pic), 0x09);
	outb(0x20, 0x20);
	assert_false(pic_intr_pending(&w.pic));
	assert_int_equal(inb(0x60), 0xfa);
	assert_true(pic_intr_pending(&w.pic));      /* AA: a new edge */
	assert_int_equal(pic_ack(&w.pic), 0x09);
	outb(0x20, 0x20);
	assert_int_equal(inb(0x60), 0xaa);
	assert_false(pic_intr_pending(&w.pic));
	outb(0x64, 0xd3);
	outb(0x60, 0x01);
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(pic_ack(&w.pic), 0x74);    /* IRQ 12 on the slave */
	outb(0xa0, 0x20); outb(0x20, 0x20);
	assert_int_equal(inb(0x60), 0x01);
	/* Interrupts off in the command byte: the byte waits, no line. */
	outb(0x64, 0x60);
	outb(0x60, 0x00);
	outb(0x64, 0xd2);
	outb(0x60, 0x02);
	assert_false(pic_intr_pending(&w.pic));
	expect_byte(0x19, 0x02);
}

static void test_i8042_reset_line(void **state)
{
	(void)state;
	outb(0x64, 0xff);                           /* pulse nothing */
	assert_int_equal(w.offs, 0);
	outb(0x64, 0xd0);
	expect_byte(0x19, 0xcf);
	outb(0x64, 0xd1);
	outb(0x60, 0xcf);                           /* reset line kept high */
	assert_int_equal(w.offs, 0);
	outb(0x64, 0xfe);
	assert_int_equal(w.offs, 1);
	assert_string_equal(w.why, "the guest reset the machine through the keyboard controller");
	outb(0x64, 0xd1);
	outb(0x60, 0xce);
	assert_int_equal(w.offs, 2);
	assert_int_equal(stats_find("dev.i8042.io")->value, 9);
}

static void test_i8042_reset_state(void **state)
{
	(void)state;
	outb(0x64, 0xaa);
	outb(0x60, 0xff);
	outb(0x64, 0x60);
	i8042_reset(&w.kbc);
	assert_int_equal(inb(0x64), 0x18);
	outb(0x60, 0x61);                           /* a keyboard command, not the CTR */
	expect_byte(0x19, 0xfe);
	outb(0x64, 0x20);
	expect_byte(0x19, 0x03);
}

/* ----------------------------------------------------------------- fw_cfg */

static void fw_select(uint16_t key) { io_out(&w.bus, 0x510, 2, key); }

static uint64_t fw_le(unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)inb(0x511) << (8 * i);
	return v;
}

static void test_fw_cfg_items(void **state)
{
	(void)state;
	fw_select(0x0000);
	assert_int_equal(fw_le(4), 0x554d4551u);    /* "QEMU" */
	assert_int_equal(fw_le(2), 0);              /* past the end */
	fw_select(0x0001);
	assert_int_equal(fw_le(4), 1);
	fw_select(0x0003);
	assert_int_equal(fw_le(8), 128u << 20);
	fw_select(0x0005);
	assert_int_equal(fw_le(2), 1);
	fw_select(0x0019);
	assert_int_equal(fw_le(4), 0);
	fw_select(0x0014);
	assert_int_equal(fw_le(4), 0);              /* no command line item */
	fw_select(0x1234);
	assert_int_equal(fw_le(8), 0);
	assert_int_equal(stats_find("dev.fwcfg.reads")->value, 4 + 2 + 4 + 8 + 2 + 4 + 4 + 8);
}

static void test_fw_cfg_rewind_and_ignored_accesses(void **state)
{
	(void)state;
	fw_select(0x0000);
	assert_int_equal(inb(0x511), 'Q');
	outb(0x511, 0x99);
	assert_int_equal(inb(0x511), 'E');
	assert_int_equal(io_in(&w.bus, 0x511, 2), 0);
	assert_int_equal(inb(0x511), 'M');
	assert_int_equal(io_in(&w.bus, 0x510, 2), 0);
	fw_select(0x0000);
	assert_int_equal(inb(0x511), 'Q');
	/* No DMA interface: its register is not decoded. */
	assert_int_equal(io_in(&w.bus, 0x514, 4), 0xffffffffu);
}

static void test_fw_cfg_cmdline(void **state)
{
	(void)state;
	fw_cfg_set_cmdline(&w.fw, "console=ttyS0 quiet");
	fw_select(0x0014);
	assert_int_equal(fw_le(4), 20);
	fw_select(0x0015);
	char buf[21];
	for (int i = 0; i < 21; i++)
		buf[i] = (char)inb(0x511);
	assert_string_equal(buf, "console=ttyS0 quiet");
	assert_int_equal(buf[20], 0);
	static char lng[FW_CFG_CMDLINE_MAX + 10];
	memset(lng, 'a', sizeof(lng) - 1);
	fw_cfg_set_cmdline(&w.fw, lng);
	fw_select(0x0014);
	assert_int_equal(fw_le(4), FW_CFG_CMDLINE_MAX);
	fw_cfg_set_cmdline(&w.fw, NULL);
	fw_select(0x0014);
	assert_int_equal(fw_le(4), 0);
	fw_cfg_set_cmdline(&w.fw, "");
	fw_select(0x0014);
	assert_int_equal(fw_le(4), 1);
}

/* -------------------------------------------------------------------- ATA */

static uint16_t inw(uint16_t port) { return (uint16_t)io_in(&w.bus, port, 2); }
static void outw(uint16_t port, uint16_t v) { io_out(&w.bus, port, 2, v); }

static void ata_task(uint16_t base, uint32_t lba, uint8_t count)
{
	outb(base + 6, (uint8_t)(0xe0 | (lba >> 24)));
	outb(base + 2, count);
	outb(base + 3, (uint8_t)lba);
	outb(base + 4, (uint8_t)(lba >> 8));
	outb(base + 5, (uint8_t)(lba >> 16));
}

static void test_ata_reset_and_identify(void **state)
{
	(void)state;
	assert_int_equal(inb(0x1f7), 0x50);
	assert_int_equal(inb(0x1f2), 1);            /* ATA signature */
	assert_int_equal(inb(0x1f3), 1);
	assert_int_equal(inb(0x1f4), 0);
	outb(0x1f6, 0xb0);                          /* absent slave */
	assert_int_equal(inb(0x1f7), 0);
	outb(0x1f7, 0xec);
	assert_int_equal(inb(0x1f7), 0);            /* it ignores commands */
	outb(0x1f6, 0xa0);
	outb(0x1f7, 0xec);
	assert_int_equal(inb(0x3f6), 0x58);
	uint16_t id[256];
	for (int i = 0; i < 256; i++)
		id[i] = inw(0x1f0);
	assert_int_equal(inb(0x1f7), 0x50);
	assert_int_equal(id[0], 0x0040);
	assert_int_equal(id[1], 2);                 /* 64 sectors: QEMU's minimum of 2 cylinders */
	assert_int_equal(id[3], 16);
	assert_int_equal(id[6], 63);
	assert_int_equal(id[49] & 0x200, 0x200);
	assert_int_equal(id[60] | (uint32_t)id[61] << 16, 64);
	assert_int_equal(id[47], 0x8000 | ATA_MAX_MULTIPLE);
	assert_int_equal(id[27], 'V' << 8 | 'M');   /* "VMX HARDDISK", high byte first */
	assert_int_equal(id[28], 'X' << 8 | ' ');
	assert_int_equal(id[46], ' ' << 8 | ' ');
	assert_int_equal(id[83] & 0x1000, 0x1000);
	/* The secondary channel has its own task file. */
	assert_int_equal(inb(0x177), 0x50);
	/* An empty channel's ports are not decoded. */
	assert_int_equal(io_in(&w.bus, 0x1e8, 1), 0xff);
}

static void test_ata_read_write_lba_and_chs(void **state)
{
	(void)state;
	outb(0x3f6, 0x02);
	ata_task(0x1f0, 5, 2);
	outb(0x1f7, 0x30);
	assert_int_equal(inb(0x1f7), 0x58);         /* first block: DRQ, no interrupt */
	for (int i = 0; i < 512; i++)
		outw(0x1f0, (uint16_t)(i * 3));
	assert_int_equal(inb(0x1f7), 0x50);
	assert_int_equal(w.disk[0][5 * 512 + 2], 3);
	assert_int_equal(w.disk[0][6 * 512 + 510], (uint8_t)(511 * 3));
	assert_int_equal(inb(0x1f3), 6);            /* the last sector written */
	/* LBA 6 by CHS: cylinder 0, head 0, sector 7. */
	outb(0x1f6, 0xa0);
	outb(0x1f2, 1);
	outb(0x1f3, 7);
	outb(0x1f4, 0);
	outb(0x1f5, 0);
	outb(0x1f7, 0x20);
	assert_int_equal(inb(0x1f7), 0x58);
	assert_int_equal(inw(0x1f0), 256 * 3);
	for (int i = 1; i < 256; i++)
		inw(0x1f0);
	assert_int_equal(inb(0x1f7), 0x50);
	/* Sector count 0 means 256: past the end of a 64-sector disk. */
	ata_task(0x1f0, 0, 0);
	outb(0x1f7, 0x20);
	assert_int_equal(inb(0x1f7), 0x41);
	assert_int_equal(inb(0x1f1), 0x04);
	/* CHS sector 0 names nothing. */
	outb(0x1f6, 0xa0);
	outb(0x1f2, 1);
	outb(0x1f3, 0);
	outb(0x1f7, 0x20);
	assert_int_equal(inb(0x1f7), 0x41);
	assert_int_equal(stats_find("dev.ata.0.errors")->value, 2);
	assert_int_equal(stats_find("dev.ata.0.writes")->value, 2);
	assert_int_equal(stats_find("dev.ata.0.reads")->value, 1);
	assert_int_equal(stats_find("dev.ata.0.sectors")->value, 3);
}

static void test_ata_multiple(void **state)
{
	(void)state;
	outb(0x3f6, 0x02);
	ata_task(0x1f0, 0, 8);
	outb(0x1f7, 0xc5);                          /* no SET MULTIPLE yet */
	assert_int_equal(inb(0x1f7), 0x41);
	assert_int_equal(inb(0x1f1), 0x04);
	outb(0x1f2, 3);
	outb(0x1f7, 0xc6);                          /* not a power of two */
	assert_int_equal(inb(0x1f7), 0x41);
	outb(0x1f2, 4);
	outb(0x1f7, 0xc6);
	assert_int_equal(inb(0x1f7), 0x50);
	ata_task(0x1f0, 20, 6);                     /* blocks of 4 then 2 */
	outb(0x1f7, 0xc5);
	for (int blk = 0; blk < 2; blk++) {
		assert_int_equal(inb(0x1f7), 0x58);
		for (int i = 0; i < (blk ? 2 : 4) * 256; i++)
			outw(0x1f0, (uint16_t)(blk * 0x1000 + i));
	}
	assert_int_equal(inb(0x1f7), 0x50);
	assert_int_equal(stats_find("dev.ata.0.writes")->value, 2);
	ata_task(0x1f0, 20, 6);
	outb(0x1f7, 0xc4);
	assert_int_equal(inb(0x1f7), 0x58);
	for (int i = 0; i < 4 * 256; i++)
		assert_int_equal(inw(0x1f0), (uint16_t)i);
	assert_int_equal(inb(0x1f7), 0x58);
	for (int i = 0; i < 2 * 256; i++)
		assert_int_equal(inw(0x1f0), (uint16_t)(0x1000 + i));
	assert_int_equal(inb(0x1f7), 0x50);
	assert_int_equal(stats_find("dev.ata.0.reads")->value, 2);
	assert_int_equal(stats_find("dev.ata.0.sectors")->value, 12);
}

static void test_ata_flush_and_interrupts(void **state)
{
	(void)state;
	outb(0x20, 0x11); outb(0x21, 0x08); outb(0x21, 0x04); outb(0x21, 0x01);
	outb(0xa0, 0x11); outb(0xa1, 0x70); outb(0xa1, 0x02); outb(0xa1, 0x01);
	outb(0x21, 0x00); outb(0xa1, 0x00);
	outb(0x1f7, 0xe7);
	assert_int_equal(w.flushes, 1);             /* done by the time the command ends */
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(pic_ack(&w.pic), 0x76);    /* IRQ 14 */
	outb(0xa0, 0x20); outb(0x20, 0x20);
	assert_int_equal(inb(0x3f6), 0x50);         /* alternate status keeps INTRQ */
	assert_true(w.ata.ch[0].intrq);
	assert_int_equal(inb(0x1f7), 0x50);
	assert_false(w.ata.ch[0].intrq);
	/* nIEN keeps the line low; clearing it lets a pending INTRQ through. */
	outb(0x3f6, 0x02);
	outb(0x1f7, 0xe7);
	assert_false(pic_intr_pending(&w.pic));
	outb(0x3f6, 0x00);
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(pic_ack(&w.pic), 0x76);
	outb(0xa0, 0x20); outb(0x20, 0x20);
	inb(0x1f7);
	/* A read raises INTRQ for each block, a write after each block but
	 * the first DRQ. */
	ata_task(0x1f0, 0, 2);
	outb(0x1f7, 0x20);
	assert_true(w.ata.ch[0].intrq);
	inb(0x1f7);
	for (int i = 0; i < 256; i++)
		inw(0x1f0);
	assert_true(w.ata.ch[0].intrq);
	inb(0x1f7);
	for (int i = 0; i < 256; i++)
		inw(0x1f0);
	assert_false(w.ata.ch[0].intrq);            /* none after the last read block */
	assert_int_equal(stats_find("dev.ata.0.flushes")->value, 2);
	assert_int_equal(w.flushes, 2);
	/* The secondary channel uses IRQ 15. */
	assert_false(w.pic.chip[1].irr & 0x80);
	outb(0x177, 0xe7);
	assert_true(w.pic.chip[1].irr & 0x80);
}

static void test_ata_host_errors_and_readonly(void **state)
{
	(void)state;
	outb(0x3f6, 0x02);
	w.fail_io = true;
	ata_task(0x1f0, 3, 1);
	outb(0x1f7, 0x30);
	for (int i = 0; i < 256; i++)
		outw(0x1f0, 0xffff);
	assert_int_equal(inb(0x1f7), 0x41);
	assert_int_equal(inb(0x1f1), 0x44);         /* ABRT | UNC */
	assert_int_equal(inb(0x1f3), 3);            /* the failing sector */
	ata_task(0x1f0, 3, 1);
	outb(0x1f7, 0x20);
	assert_int_equal(inb(0x1f7), 0x41);
	assert_int_equal(inb(0x1f1), 0x44);
	assert_int_equal(stats_find("dev.ata.0.errors")->value, 2);
	w.fail_io = false;
	/* Drive 2 (secondary master) is read-only: writes abort, reads work. */
	outb(0x376, 0x02);
	ata_task(0x170, 0, 1);
	outb(0x177, 0x30);
	assert_int_equal(inb(0x177), 0x41);
	assert_int_equal(inb(0x171), 0x04);
	ata_task(0x170, 0, 1);
	outb(0x177, 0x20);
	assert_int_equal(inb(0x177), 0x58);
	assert_int_equal(stats_find("dev.ata.2.errors")->value, 1);
	/* Unknown commands abort; the task file is locked during a transfer. */
	outb(0x1f7, 0xff);
	assert_int_equal(inb(0x1f7), 0x41);
	ata_task(0x1f0, 0, 1);
	outb(0x1f7, 0x20);
	outb(0x1f2, 9);
	assert_int_equal(inb(0x1f2), 1);
}

static void test_ata_soft_reset(void **state)
{
	(void)state;
	outb(0x1f2, 4);
	outb(0x1f7, 0xc6);
	ata_task(0x1f0, 0, 1);
	outb(0x1f7, 0x20);
	assert_int_equal(inb(0x1f7), 0x58);
	outb(0x3f6, 0x04);                          /* SRST */
	outb(0x3f6, 0x00);
	assert_int_equal(inb(0x1f7), 0x50);
	assert_int_equal(inb(0x1f2), 1);
	assert_int_equal(inb(0x1f1), 1);
	assert_int_equal(inb(0x1f6), 0xa0);
	/* SET MULTIPLE survives a soft reset only until a hardware reset. */
	ata_reset(&w.ata);
	ata_task(0x1f0, 0, 1);
	outb(0x1f7, 0xc4);
	assert_int_equal(inb(0x1f7), 0x41);
}

/* ------------------------------------------------------------------ local APIC */

static struct {
	struct lapic l;
	uint64_t now;
	unsigned changes, level_eois;
	uint8_t last_level_eoi;
} a;

static uint64_t a_now(void *o) { (void)o; return a.now; }
static void a_changed(void *o) { (void)o; a.changes++; }
static void a_eoi_level(void *o, uint8_t v) { (void)o; a.level_eois++; a.last_level_eoi = v; }

static int lapic_setup(void **state)
{
	(void)state;
	memset(&a, 0, sizeof(a));
	stats_reset_registry();
	struct lapic_env env = { a_now, a_changed, a_eoi_level, &a };
	a.now = 1000000;
	lapic_init(&a.l, &env);
	return 0;
}

static uint32_t rd(uint32_t off) { return lapic_read(&a.l, off); }
static void wr(uint32_t off, uint32_t v) { lapic_write(&a.l, off, v); }
static bool irr_has(uint8_t v) { return rd(LAPIC_IRR + (v >> 5) * 0x10) & (1u << (v & 31)); }

static void test_lapic_reset_and_registers(void **state)
{
	(void)state;
	assert_int_equal(lapic_get_base(&a.l), 0xfee00900u);
	assert_int_equal(rd(LAPIC_VER), 0x00050014u);
	assert_int_equal(rd(LAPIC_ID), 0);
	assert_int_equal(rd(LAPIC_SVR), 0xff);
	assert_int_equal(rd(LAPIC_DFR), 0xffffffffu);
	for (uint32_t off = LAPIC_LVT_TIMER; off <= LAPIC_LVT_ERROR; off += 0x10)
		assert_int_equal(rd(off), LAPIC_LVT_MASKED);
	/* Software-disabled: LVTs stay masked whatever is written. */
	wr(LAPIC_LVT_LINT0, 0x700);
	assert_int_equal(rd(LAPIC_LVT_LINT0), 0x10700);
	wr(LAPIC_SVR, 0x1ff);
	assert_int_equal(rd(LAPIC_SVR), 0x1ff);
	wr(LAPIC_LVT_LINT0, 0xffffffffu);             /* delivery status, remote IRR: read-only */
	assert_int_equal(rd(LAPIC_LVT_LINT0), 0x1a7ff);
	wr(LAPIC_LVT_TIMER, 0xffffffffu);             /* no TSC-deadline mode */
	assert_int_equal(rd(LAPIC_LVT_TIMER), 0x300ff);
	wr(LAPIC_ID, 0x05123456);
	assert_int_equal(rd(LAPIC_ID), 0x05000000);
	wr(LAPIC_VER, 0);
	assert_int_equal(rd(LAPIC_VER), 0x00050014u);
	wr(LAPIC_LDR, 0x80ffffffu);
	assert_int_equal(rd(LAPIC_LDR), 0x80000000u);
	wr(LAPIC_DFR, 0x0fffffffu);                   /* cluster model */
	assert_int_equal(rd(LAPIC_DFR), 0x0fffffffu);
	wr(LAPIC_TPR, 0x1ab);
	assert_int_equal(rd(LAPIC_TPR), 0xab);
	assert_int_equal(rd(LAPIC_PPR), 0xab);
	wr(LAPIC_TIMER_DCR, 0xff);
	assert_int_equal(rd(LAPIC_TIMER_DCR), 0xb);
	/* Software-disabling masks every LVT again. */
	wr(LAPIC_SVR, 0xff);
	assert_int_equal(rd(LAPIC_LVT_LINT0) & LAPIC_LVT_MASKED, LAPIC_LVT_MASKED);
	/* An unknown register: ESR shows it after the next ESR write. */
	wr(0x2f0 + 0x100, 1);
	assert_int_equal(rd(LAPIC_ESR), 0);
	wr(LAPIC_ESR, 0);
	assert_int_equal(rd(LAPIC_ESR), LAPIC_ESR_ILLEGAL_ADDRESS);
	wr(LAPIC_ESR, 0);
	assert_int_equal(rd(LAPIC_ESR), 0);
}

static void test_lapic_timer_one_shot(void **state)
{
	(void)state;
	wr(LAPIC_SVR, 0x1ff);
	wr(LAPIC_LVT_TIMER, 0x40);
	wr(LAPIC_TIMER_DCR, 0x3);                     /* divide by 16 */
	wr(LAPIC_TIMER_ICR, 1000);
	uint64_t t0 = a.now;
	assert_int_equal(lapic_next_deadline(&a.l), t0 + 16000 * TUNE_LAPIC_BUS_CYCLE_NS);
	assert_int_equal(rd(LAPIC_TIMER_CCR), 1000);
	a.now = t0 + 1600;
	assert_int_equal(rd(LAPIC_TIMER_CCR), 900);
	a.now = t0 + 15999;
	lapic_advance(&a.l, a.now);
	assert_false(lapic_intr_pending(&a.l));
	assert_int_equal(rd(LAPIC_TIMER_CCR), 1);
	a.now = t0 + 16000;
	lapic_advance(&a.l, a.now);
	assert_true(irr_has(0x40));
	assert_int_equal(a.l.timer_fires.value, 1);
	assert_int_equal(rd(LAPIC_TIMER_CCR), 0);
	assert_int_equal(lapic_next_deadline(&a.l), UINT64_MAX);
	assert_int_equal(lapic_ack(&a.l), 0x40);
	wr(LAPIC_EOI, 0);
	a.now += 1000000;
	lapic_advance(&a.l, a.now);
	assert_int_equal(a.l.timer_fires.value, 1);
	assert_false(lapic_intr_pending(&a.l));
	assert_int_equal(rd(LAPIC_TIMER_ICR), 1000);
	/* A new initial count starts it again; a masked expiry raises nothing. */
	wr(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | 0x40);
	wr(LAPIC_TIMER_ICR, 10);
	a.now += 160;
	lapic_advance(&a.l, a.now);
	assert_false(irr_has(0x40));
	assert_int_equal(a.l.timer_fires.value, 1);
	assert_int_equal(rd(LAPIC_TIMER_CCR), 0);
}

static void test_lapic_timer_periodic(void **state)
{
	(void)state;
	wr(LAPIC_SVR, 0x1ff);
	wr(LAPIC_LVT_TIMER, LAPIC_LVT_PERIODIC | 0x41);
	wr(LAPIC_TIMER_DCR, 0x0);                     /* divide by 2 */
	wr(LAPIC_TIMER_ICR, 100);                     /* 200 ns periods */
	uint64_t t0 = a.now;
	assert_int_equal(lapic_next_deadline(&a.l), t0 + 200);
	a.now = t0 + 200;
	lapic_advance(&a.l, a.now);
	assert_int_equal(a.l.timer_fires.value, 1);
	assert_int_equal(lapic_ack(&a.l), 0x41);
	wr(LAPIC_EOI, 0);
	assert_int_equal(rd(LAPIC_TIMER_CCR), 100);   /* reloaded */
	/* Four periods at once: one interrupt, the count in phase. */
	a.now = t0 + 1000;
	lapic_advance(&a.l, a.now);
	assert_int_equal(a.l.timer_fires.value, 2);
	assert_int_equal(lapic_next_deadline(&a.l), t0 + 1200);
	a.now = t0 + 1100;
	assert_int_equal(rd(LAPIC_TIMER_CCR), 50);
	/* Ten periods, one advance each: ten interrupts (one in IRR). */
	for (int i = 1; i <= 10; i++) {
		a.now = t0 + 1000 + 200u * (unsigned)i;
		lapic_advance(&a.l, a.now);
	}
	assert_int_equal(a.l.timer_fires.value, 12);
	assert_int_equal(lapic_ack(&a.l), 0x41);
	assert_false(lapic_intr_pending(&a.l));
	wr(LAPIC_EOI, 0);
	/* A divider change keeps the current count and counts on at the new rate. */
	a.now += 100;                                 /* count 50 */
	wr(LAPIC_TIMER_DCR, 0xb);                     /* divide by 1 */
	assert_int_equal(rd(LAPIC_TIMER_CCR), 50);
	assert_int_equal(lapic_next_deadline(&a.l), a.now + 50);
	/* Masked, it counts on and raises nothing. */
	wr(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | LAPIC_LVT_PERIODIC | 0x41);
	a.now += 50;
	lapic_advance(&a.l, a.now);
	assert_false(irr_has(0x41));
	assert_int_equal(a.l.timer_fires.value, 12);
	assert_int_equal(lapic_next_deadline(&a.l), a.now + 100);
	/* Initial count 0 stops it. */
	wr(LAPIC_TIMER_ICR, 0);
	assert_int_equal(rd(LAPIC_TIMER_CCR), 0);
	assert_int_equal(lapic_next_deadline(&a.l), UINT64_MAX);
}

static void test_lapic_priority_and_eoi(void **state)
{
	(void)state;
	wr(LAPIC_SVR, 0x1ff);
	lapic_accept(&a.l, 0x30, false);
	lapic_accept(&a.l, 0x50, false);
	lapic_accept(&a.l, 0x41, false);
	assert_true(lapic_intr_pending(&a.l));
	assert_int_equal(lapic_ack(&a.l), 0x50);
	assert_int_equal(rd(LAPIC_PPR), 0x50);
	assert_int_equal(rd(LAPIC_ISR + 0x20), 1u << 16);
	/* 0x41 is of a lower class than the one in service. */
	assert_false(lapic_intr_pending(&a.l));
	assert_int_equal(lapic_ack(&a.l), 0xff);       /* spurious */
	lapic_accept(&a.l, 0x5f, false);               /* same class: waits too */
	assert_false(lapic_intr_pending(&a.l));
	lapic_accept(&a.l, 0x60, false);               /* higher class nests */
	assert_int_equal(lapic_ack(&a.l), 0x60);
	wr(LAPIC_EOI, 0);                              /* ends 0x60 */
	assert_int_equal(rd(LAPIC_PPR), 0x50);
	wr(LAPIC_EOI, 0);                              /* ends 0x50 */
	assert_int_equal(lapic_ack(&a.l), 0x5f);
	wr(LAPIC_EOI, 0);
	/* The task priority holds back classes at or below its own. */
	wr(LAPIC_TPR, 0x41);
	assert_false(lapic_intr_pending(&a.l));
	wr(LAPIC_TPR, 0x3f);
	assert_int_equal(lapic_ack(&a.l), 0x41);
	assert_int_equal(rd(LAPIC_PPR), 0x40);
	wr(LAPIC_EOI, 0);
	assert_false(lapic_intr_pending(&a.l));       /* 0x30 at TPR 0x3f */
	wr(LAPIC_TPR, 0);
	assert_int_equal(lapic_ack(&a.l), 0x30);
	wr(LAPIC_EOI, 0);
	assert_int_equal(a.l.eois.value, 5);
	assert_int_equal(a.level_eois, 0);
	/* A level-triggered vector is in TMR, and its EOI is passed on. */
	lapic_accept(&a.l, 0x38, true);
	assert_int_equal(rd(LAPIC_TMR + 0x10), 1u << 24);
	assert_int_equal(lapic_ack(&a.l), 0x38);
	wr(LAPIC_EOI, 0);
	assert_int_equal(a.level_eois, 1);
	assert_int_equal(a.last_level_eoi, 0x38);
	/* Nothing is delivered while software-disabled; IRR holds it. */
	wr(LAPIC_SVR, 0xff);
	lapic_accept(&a.l, 0x70, false);
	assert_false(lapic_intr_pending(&a.l));
	wr(LAPIC_SVR, 0x1ff);
	assert_int_equal(lapic_ack(&a.l), 0x70);
	/* Vectors 0..15 are illegal: an error, not an interrupt. */
	lapic_accept(&a.l, 0x0e, false);
	wr(LAPIC_ESR, 0);
	assert_int_equal(rd(LAPIC_ESR), LAPIC_ESR_RECV_ILLEGAL);
}

static void test_lapic_ipis_and_lints(void **state)
{
	(void)state;
	wr(LAPIC_SVR, 0x1ff);
	wr(LAPIC_ICR_HI, 0);
	wr(LAPIC_ICR_LO, (1u << 18) | 0x51);          /* self */
	assert_true(irr_has(0x51));
	wr(LAPIC_ICR_LO, (3u << 18) | 0x52);          /* all but self */
	assert_false(irr_has(0x52));
	wr(LAPIC_ICR_HI, 0x03000000);                 /* physical APIC 3: not us */
	wr(LAPIC_ICR_LO, 0x53);
	assert_false(irr_has(0x53));
	wr(LAPIC_ID, 0x03000000);
	wr(LAPIC_ICR_LO, 0x53);
	assert_true(irr_has(0x53));
	wr(LAPIC_LDR, 0x04000000);                    /* logical, flat */
	wr(LAPIC_ICR_HI, 0x0c000000);
	wr(LAPIC_ICR_LO, (1u << 11) | 0x54);
	assert_true(irr_has(0x54));
	assert_int_equal(rd(LAPIC_ICR_LO), (1u << 11) | 0x54);   /* idle */
	/* INIT and SIPI reach no other CPU and change nothing here. */
	wr(LAPIC_ICR_HI, 0x01000000);
	wr(LAPIC_ICR_LO, 0x4500);
	wr(LAPIC_ICR_LO, 0x4608);
	wr(LAPIC_ICR_LO, (2u << 18) | 0x4500);
	assert_false(a.l.nmi_pending);
	/* An illegal vector: send error, through the error LVT. */
	wr(LAPIC_LVT_ERROR, 0xfe);
	wr(LAPIC_ICR_LO, (1u << 18) | 0x05);
	assert_true(irr_has(0xfe));
	wr(LAPIC_ESR, 0);
	assert_int_equal(rd(LAPIC_ESR), LAPIC_ESR_SEND_ILLEGAL);
	assert_int_equal(a.l.ipis.value, 9);
	/* An NMI to self, and LINT1 as NMI. */
	wr(LAPIC_ICR_LO, (1u << 18) | (LAPIC_DM_NMI << 8));
	assert_true(lapic_take_nmi(&a.l));
	assert_false(lapic_take_nmi(&a.l));
	lapic_lint1(&a.l);
	assert_false(lapic_take_nmi(&a.l));           /* masked */
	wr(LAPIC_LVT_LINT1, LAPIC_DM_NMI << 8);
	lapic_lint1(&a.l);
	assert_true(lapic_take_nmi(&a.l));
	/* LINT0 lets the PIC through as an unmasked ExtINT, or when the APIC
	 * is globally disabled. */
	assert_false(lapic_extint_open(&a.l));
	wr(LAPIC_LVT_LINT0, LAPIC_DM_EXTINT << 8);
	assert_true(lapic_extint_open(&a.l));
	wr(LAPIC_LVT_LINT0, LAPIC_DM_FIXED << 8 | 0x60);
	assert_false(lapic_extint_open(&a.l));
	assert_true(lapic_set_base(&a.l, 0xfee00000u));
	assert_true(lapic_extint_open(&a.l));
}

static void test_lapic_base_msr(void **state)
{
	(void)state;
	assert_int_equal(lapic_attach(&a.l), 0);
	const struct mmio_region *r = mmio_find(0xfee00030u);
	assert_non_null(r);
	assert_int_equal(mmio_read(r, 0xfee00030u, 4), 0x00050014u);
	assert_int_equal(mmio_read(r, 0xfee00032u, 2), 0x0005u);
	assert_false(lapic_set_base(&a.l, 0xfee00d00u));        /* x2APIC */
	assert_false(lapic_set_base(&a.l, 0x1fee00900ull));     /* above 4 GiB */
	wr(LAPIC_SVR, 0x1ff);
	assert_true(lapic_set_base(&a.l, 0xfec10800u));          /* BSP stays */
	assert_int_equal(lapic_get_base(&a.l), 0xfec10900u);
	assert_null(mmio_find(0xfee00030u));
	r = mmio_find(0xfec10030u);
	assert_non_null(r);
	assert_int_equal(mmio_read(r, 0xfec100f0u, 4), 0x1ff);   /* moved, not reset */
	/* Disabled, it is gone from the bus, and comes back from power-on. */
	assert_true(lapic_set_base(&a.l, 0xfee00000u));
	assert_null(mmio_find(0xfec10030u));
	assert_null(mmio_find(0xfee00030u));
	assert_true(lapic_set_base(&a.l, 0xfee00800u));
	assert_int_equal(rd(LAPIC_SVR), 0xff);
	assert_non_null(mmio_find(0xfee00030u));
	assert_true(lapic_set_base(&a.l, 0xfee00000u));          /* leave the bus empty */
}

/* ------------------------------------------------------------------ IOAPIC */

static struct {
	struct ioapic io;
	struct ioapic_msg last;
	unsigned sent;
} o;

static void o_deliver(void *opaque, const struct ioapic_msg *m)
{
	(void)opaque;
	o.last = *m;
	o.sent++;
}

static int ioapic_setup(void **state)
{
	(void)state;
	memset(&o, 0, sizeof(o));
	stats_reset_registry();
	ioapic_init(&o.io, o_deliver, &o);
	return 0;
}

static uint32_t io_rd(uint32_t reg) { ioapic_write(&o.io, 0, reg); return ioapic_read(&o.io, 0x10); }
static void io_wr(uint32_t reg, uint32_t v) { ioapic_write(&o.io, 0, reg); ioapic_write(&o.io, 0x10, v); }

static void test_ioapic_registers(void **state)
{
	(void)state;
	assert_int_equal(io_rd(1), 0x00170020u);
	assert_int_equal(io_rd(0), 0);
	io_wr(0, 0x0f000000u | 0xffffff);
	assert_int_equal(io_rd(0), 0x0f000000u);
	io_wr(1, 0);
	assert_int_equal(io_rd(1), 0x00170020u);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		assert_int_equal(io_rd(0x10 + 2 * pin), IOAPIC_RTE_MASKED);
		assert_int_equal(io_rd(0x11 + 2 * pin), 0);
	}
	/* Delivery status and remote IRR are read-only. */
	io_wr(0x10 + 2 * 5, 0xffffffffu);
	assert_int_equal(io_rd(0x10 + 2 * 5), 0x1afffu);
	io_wr(0x11 + 2 * 5, 0xffffffffu);
	assert_int_equal(io_rd(0x11 + 2 * 5), 0xff000000u);
	assert_int_equal(ioapic_read(&o.io, 0), 0x11 + 2 * 5);
	assert_int_equal(io_rd(0x10 + 2 * IOAPIC_PINS), 0);    /* past the table */
	assert_int_equal(o.sent, 0);
}

static void test_ioapic_edge_and_mask(void **state)
{
	(void)state;
	io_wr(0x11 + 2 * 2, 0x01000000u);
	io_wr(0x10 + 2 * 2, IOAPIC_RTE_LOGICAL | 0x30);
	ioapic_set_irq(&o.io, 2, true);
	assert_int_equal(o.sent, 1);
	assert_int_equal(o.last.vector, 0x30);
	assert_int_equal(o.last.dest, 1);
	assert_true(o.last.logical);
	assert_false(o.last.level);
	ioapic_set_irq(&o.io, 2, true);                  /* no new edge */
	assert_int_equal(o.sent, 1);
	ioapic_set_irq(&o.io, 2, false);
	ioapic_set_irq(&o.io, 2, true);
	assert_int_equal(o.sent, 2);
	assert_int_equal(io_rd(0x10 + 2 * 2) & IOAPIC_RTE_REMOTE_IRR, 0);
	/* Masked, an edge is lost. */
	io_wr(0x10 + 2 * 2, IOAPIC_RTE_MASKED | 0x30);
	ioapic_set_irq(&o.io, 2, false);
	ioapic_set_irq(&o.io, 2, true);
	assert_int_equal(o.sent, 2);
	io_wr(0x10 + 2 * 2, 0x30);
	assert_int_equal(o.sent, 2);
	ioapic_set_irq(&o.io, 33, true);                 /* no such pin */
	assert_int_equal(o.sent, 2);
	assert_int_equal(o.io.irqs.value, 2);
}

static void test_ioapic_level_and_remote_irr(void **state)
{
	(void)state;
	io_wr(0x10 + 2 * 9, IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED | 0x49);
	ioapic_set_irq(&o.io, 9, true);
	assert_int_equal(o.sent, 0);
	io_wr(0x10 + 2 * 9, IOAPIC_RTE_LEVEL | 0x49);  /* unmasked while high: sends */
	assert_int_equal(o.sent, 1);
	assert_true(o.last.level);
	assert_int_equal(io_rd(0x10 + 2 * 9) & IOAPIC_RTE_REMOTE_IRR, IOAPIC_RTE_REMOTE_IRR);
	ioapic_set_irq(&o.io, 9, false);
	ioapic_set_irq(&o.io, 9, true);                  /* waits for the EOI */
	assert_int_equal(o.sent, 1);
	ioapic_eoi(&o.io, 0x48);                         /* another vector */
	assert_int_equal(o.sent, 1);
	ioapic_eoi(&o.io, 0x49);                         /* still high: again */
	assert_int_equal(o.sent, 2);
	ioapic_set_irq(&o.io, 9, false);
	ioapic_eoi(&o.io, 0x49);
	assert_int_equal(o.sent, 2);
	assert_int_equal(io_rd(0x10 + 2 * 9) & IOAPIC_RTE_REMOTE_IRR, 0);
	/* Through a local APIC: the vector in TMR, its EOI back here. */
	memset(&a, 0, sizeof(a));
	struct lapic_env env = { a_now, a_changed, a_eoi_level, &a };
	lapic_init(&a.l, &env);
	lapic_write(&a.l, LAPIC_SVR, 0x1ff);
	lapic_accept(&a.l, o.last.vector, o.last.level);
	assert_int_equal(lapic_ack(&a.l), 0x49);
	lapic_write(&a.l, LAPIC_EOI, 0);
	assert_int_equal(a.last_level_eoi, 0x49);
	assert_true(lapic_match_dest(&a.l, 0xff, false));
	assert_false(lapic_match_dest(&a.l, 1, true));
	lapic_write(&a.l, LAPIC_LDR, 0x01000000);
	assert_true(lapic_match_dest(&a.l, 1, true));
}

/* --------------------------------------------------------------- ACPI PM */

static struct {
	struct acpi_pm pm;
	uint64_t now, deadline;
	bool sci;
	unsigned sci_changes;
} ap;

static uint64_t ap_now(void *opaque) { (void)opaque; return ap.now; }
static void ap_deadline(void *opaque, uint64_t ns) { (void)opaque; ap.deadline = ns; }
static void ap_line(void *opaque, unsigned irq, bool level)
{
	(void)opaque;
	if (irq == ACPI_PM_SCI_IRQ && level != ap.sci) {
		ap.sci = level;
		ap.sci_changes++;
	}
}

static int acpi_setup(void **state)
{
	if (setup(state))
		return -1;
	memset(&ap, 0, sizeof(ap));
	ap.now = 5000;
	w.pic.listener = ap_line;
	acpi_pm_init(&ap.pm, &w.pic, off, ap_now, ap_deadline, &ap);
	if (acpi_pm_attach(&ap.pm, &w.bus))
		return -1;
	acpi_pm_reset(&ap.pm);
	return 0;
}

static void test_acpi_pm_timer(void **state)
{
	(void)state;
	assert_int_equal(acpi_pm_ticks(1000000000ull), ACPI_PM_TMR_HZ);
	assert_int_equal(acpi_pm_ticks(3000000000ull + 500000000ull), 3 * ACPI_PM_TMR_HZ + ACPI_PM_TMR_HZ / 2);
	assert_true(acpi_pm_ticks(acpi_pm_ns(123456789)) >= 123456789);
	assert_int_equal(acpi_pm_ticks(acpi_pm_ns(123456789) - 1), 123456788);
	ap.now = 1000000000ull;
	uint32_t a = io_in(&w.bus, 0x608, 4);
	assert_int_equal(a, ACPI_PM_TMR_HZ & 0xffffff);
	ap.now += 10000000ull;                 /* 10 ms: 35795 ticks */
	uint32_t b = io_in(&w.bus, 0x608, 4);
	assert_int_equal((b - a) & 0xffffff, 35795);
	/* 24 bits: it wraps after 2^24 ticks (4.69 s). */
	ap.now = acpi_pm_ns(1u << 24);
	assert_int_equal(io_in(&w.bus, 0x608, 4), 0);
	/* Byte reads see the same counter; writes change nothing. */
	io_out(&w.bus, 0x608, 4, 0x123456);
	ap.now = acpi_pm_ns(0x1abcdef);
	assert_int_equal(io_in(&w.bus, 0x608, 1) | io_in(&w.bus, 0x609, 1) << 8 | io_in(&w.bus, 0x60a, 1) << 16,
			 0xabcdef);
	assert_int_equal(io_in(&w.bus, 0x60b, 1), 0);
}

static void test_acpi_pm_status_and_sci(void **state)
{
	(void)state;
	/* Always in ACPI mode: SCI_EN reads 1. */
	assert_int_equal(io_in(&w.bus, 0x604, 2) & ACPI_PM1_SCI_EN, 1);
	assert_int_equal(ap.deadline, UINT64_MAX);
	/* Bit 23 of the timer changes: TMR_STS, no SCI while TMR_EN is clear. */
	ap.now = acpi_pm_ns(1u << 23);
	assert_int_equal(io_in(&w.bus, 0x600, 2) & ACPI_PM1_TMR_STS, ACPI_PM1_TMR_STS);
	assert_false(ap.sci);
	/* TMR_EN: the SCI comes up (level) until TMR_STS is cleared. */
	io_out(&w.bus, 0x602, 2, ACPI_PM1_TMR_EN);
	assert_true(ap.sci);
	io_out(&w.bus, 0x600, 2, ACPI_PM1_TMR_STS);       /* write 1 to clear */
	assert_false(ap.sci);
	assert_int_equal(io_in(&w.bus, 0x600, 2) & ACPI_PM1_TMR_STS, 0);
	assert_int_equal(io_in(&w.bus, 0x602, 2), ACPI_PM1_TMR_EN);
	/* The overflow timer is armed for the next change of bit 23. */
	assert_int_equal(ap.deadline, acpi_pm_ns(2u << 23));
	ap.now = ap.deadline;
	acpi_pm_advance(&ap.pm, ap.now);
	assert_true(ap.sci);
	assert_int_equal(ap.deadline, acpi_pm_ns(3u << 23));
	io_out(&w.bus, 0x602, 2, 0);
	assert_false(ap.sci);
	assert_int_equal(ap.deadline, UINT64_MAX);
	assert_int_equal(ap.sci_changes, 4);
}

static void test_acpi_pm_sleep(void **state)
{
	(void)state;
	io_out(&w.bus, 0x604, 2, 5u << 10);               /* SLP_TYP alone: nothing */
	assert_int_equal(w.offs, 0);
	assert_int_equal(io_in(&w.bus, 0x604, 2), (5u << 10) | ACPI_PM1_SCI_EN);
	io_out(&w.bus, 0x605, 1, ACPI_PM1_SLP_EN >> 8);   /* SLP_EN by its byte */
	assert_int_equal(w.offs, 1);
	assert_non_null(strstr(w.why, "ACPI"));
	assert_int_equal(io_in(&w.bus, 0x604, 2) & ACPI_PM1_SLP_EN, 0);   /* write-only */
}

#define T(f) cmocka_unit_test_setup(f, setup)
#define TI(f) cmocka_unit_test_setup(f, ioapic_setup)
#define TL(f) cmocka_unit_test_setup(f, lapic_setup)
#define TA(f) cmocka_unit_test_setup(f, acpi_setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_i8042_power_on),
		T(test_i8042_linux_probe),
		T(test_i8042_keyboard),
		T(test_i8042_keyboard_port_disabled),
		T(test_i8042_mouse),
		T(test_i8042_interrupts),
		T(test_i8042_reset_line),
		T(test_i8042_reset_state),
		T(test_fw_cfg_items),
		T(test_fw_cfg_rewind_and_ignored_accesses),
		T(test_fw_cfg_cmdline),
		T(test_ata_reset_and_identify),
		T(test_ata_read_write_lba_and_chs),
		T(test_ata_multiple),
		T(test_ata_flush_and_interrupts),
		T(test_ata_host_errors_and_readonly),
		T(test_ata_soft_reset),
		TL(test_lapic_reset_and_registers),
		TL(test_lapic_timer_one_shot),
		TL(test_lapic_timer_periodic),
		TL(test_lapic_priority_and_eoi),
		TL(test_lapic_ipis_and_lints),
		TL(test_lapic_base_msr),
		TI(test_ioapic_registers),
		TI(test_ioapic_edge_and_mask),
		TI(test_ioapic_level_and_remote_irr),
		TA(test_acpi_pm_timer),
		TA(test_acpi_pm_status_and_sci),
		TA(test_acpi_pm_sleep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
