/* Unit tests for the PC board's newer devices driven through the io bus as
 * a guest would: the i8042 keyboard controller with its keyboard and mouse
 * (Linux's probe sequence, interrupts through the PIC, the reset line) and
 * QEMU's fw_cfg. */
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

static struct {
	struct io_bus bus;
	stat_counter unclaimed;
	struct pic pic;
	struct i8042 kbc;
	struct fw_cfg fw;
	unsigned offs;
	const char *why;
} w;

static void off(const char *why)
{
	w.offs++;
	w.why = why;
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
	if (pic_attach(&w.pic, &w.bus) || i8042_attach(&w.kbc, &w.bus) || fw_cfg_attach(&w.fw, &w.bus))
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

#define T(f) cmocka_unit_test_setup(f, setup)

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
