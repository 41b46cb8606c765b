/* Unit tests for the emulated PC devices under vmm/devices driven through the
 * io bus as a guest would: PIC, PIT with port 0x61, UART, CMOS/RTC and the
 * debug exit port. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "devices.h"
#include "io.h"
#include "stats.h"

#define T0 1000000000ull /* monitor clock at power-on, ns */
#define BOOT_UNIX 1700000000ull /* 2023-11-14 22:13:20 UTC, a Tuesday */
#define MEM_KB (128u * 1024u)

static struct {
	struct io_bus bus;
	stat_counter unclaimed;
	struct pic pic;
	struct pit pit;
	struct uart uart;
	struct cmos cmos;
	struct debug_exit dbg;
	uint8_t txbuf[1024];
	unsigned ntx;
} w;

static void tx_sink(void *opaque, uint8_t byte)
{
	assert_ptr_equal(opaque, &w);
	if (w.ntx < sizeof(w.txbuf))
		w.txbuf[w.ntx++] = byte;
}

static int setup(void **state)
{
	(void)state;
	__builtin_memset(&w, 0, sizeof(w));
	stats_reset_registry();
	io_bus_init(&w.bus, &w.unclaimed);
	pic_init(&w.pic);
	pit_init(&w.pit, &w.pic, T0);
	uart_init(&w.uart, 0x3f8, 4, &w.pic, tx_sink, &w);
	cmos_init(&w.cmos, BOOT_UNIX, T0, MEM_KB);
	debug_exit_init(&w.dbg, 0xf4);
	if (pic_attach(&w.pic, &w.bus) || pit_attach(&w.pit, &w.bus) ||
	    uart_attach(&w.uart, &w.bus) || cmos_attach(&w.cmos, &w.bus) ||
	    debug_exit_attach(&w.dbg, &w.bus))
		return -1;
	return 0;
}

static void outb(uint16_t port, uint8_t v) { io_out(&w.bus, port, 1, v); }
static uint8_t inb(uint16_t port) { return (uint8_t)io_in(&w.bus, port, 1); }

/* Two byte reads of one port, low byte first (a plain `a | b << 8` leaves the
 * order of the two reads to the compiler). */
static uint16_t inb_pair(uint16_t port)
{
	uint8_t lo = inb(port);
	uint8_t hi = inb(port);
	return (uint16_t)(lo | hi << 8);
}

/* What Linux's init_8259A does: master at 0x30, slave at 0x38 on IR2. */
static void pic_program(uint8_t icw4)
{
	outb(0x20, 0x11);
	outb(0x21, 0x30);
	outb(0x21, 0x04);
	outb(0x21, icw4);
	outb(0xa0, 0x11);
	outb(0xa1, 0x38);
	outb(0xa1, 0x02);
	outb(0xa1, icw4);
	outb(0x21, 0x00);
	outb(0xa1, 0x00);
}

static uint8_t read_isr(uint16_t cmd)
{
	outb(cmd, 0x0b);
	uint8_t v = inb(cmd);
	outb(cmd, 0x0a);
	return v;
}

static uint8_t read_irr(uint16_t cmd)
{
	outb(cmd, 0x0a);
	return inb(cmd);
}

/* ------------------------------------------------------------------ PIC */

static void test_pic_reset_state(void **state)
{
	(void)state;
	assert_int_equal(inb(0x21), 0x00);
	assert_int_equal(inb(0xa1), 0x00);
	assert_false(pic_intr_pending(&w.pic));
	/* Nothing requested: the master's IR7 spurious vector, base still 0. */
	assert_int_equal(pic_ack(&w.pic), 7);
	assert_int_equal(read_isr(0x20), 0);
}

static void test_pic_init_and_vector(void **state)
{
	(void)state;
	pic_program(0x01);
	assert_int_equal(inb(0x21), 0x00);
	outb(0x21, 0xa5);
	assert_int_equal(inb(0x21), 0xa5);
	outb(0x21, 0x00);

	pic_pulse_irq(&w.pic, 1);
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(read_irr(0x20), 0x02);
	assert_int_equal(pic_ack(&w.pic), 0x31);
	assert_int_equal(read_isr(0x20), 0x02);
	assert_int_equal(read_irr(0x20), 0x00);
	assert_false(pic_intr_pending(&w.pic));
	outb(0x20, 0x20);
	assert_int_equal(read_isr(0x20), 0x00);
	assert_int_equal(stats_find("dev.pic.acks")->value, 1);
	assert_int_equal(stats_find("dev.pic.irqs")->value, 1);
	assert_true(stats_find("dev.pic.io")->value > 10);
}

static void test_pic_priority_and_nesting(void **state)
{
	(void)state;
	pic_program(0x01);
	pic_pulse_irq(&w.pic, 5);
	pic_pulse_irq(&w.pic, 3);
	assert_int_equal(pic_ack(&w.pic), 0x33);
	/* IRQ5 is lower priority than the IRQ3 in service. */
	assert_false(pic_intr_pending(&w.pic));
	pic_pulse_irq(&w.pic, 1);
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(pic_ack(&w.pic), 0x31);
	assert_int_equal(read_isr(0x20), 0x0a);
	/* Non-specific EOI ends the highest-priority one, IRQ1. */
	outb(0x20, 0x20);
	assert_int_equal(read_isr(0x20), 0x08);
	assert_false(pic_intr_pending(&w.pic));
	outb(0x20, 0x20);
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(pic_ack(&w.pic), 0x35);
}

static void test_pic_masking(void **state)
{
	(void)state;
	pic_program(0x01);
	outb(0x21, 0x02);
	pic_pulse_irq(&w.pic, 1);
	assert_false(pic_intr_pending(&w.pic));
	assert_int_equal(read_irr(0x20), 0x02);
	outb(0x21, 0x00);
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(pic_ack(&w.pic), 0x31);
}

static void test_pic_specific_eoi(void **state)
{
	(void)state;
	pic_program(0x01);
	pic_pulse_irq(&w.pic, 6);
	assert_int_equal(pic_ack(&w.pic), 0x36);
	pic_pulse_irq(&w.pic, 2 + 1);
	assert_int_equal(pic_ack(&w.pic), 0x33);
	assert_int_equal(read_isr(0x20), 0x48);
	outb(0x20, 0x66); /* specific EOI for IRQ6, not the highest */
	assert_int_equal(read_isr(0x20), 0x08);
	outb(0x20, 0x63);
	assert_int_equal(read_isr(0x20), 0x00);
}

static void test_pic_cascade(void **state)
{
	(void)state;
	pic_program(0x01);
	pic_pulse_irq(&w.pic, 12);
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(read_irr(0xa0), 0x10);
	assert_int_equal(pic_ack(&w.pic), 0x3c);
	assert_int_equal(read_isr(0x20), 0x04);
	assert_int_equal(read_isr(0xa0), 0x10);
	/* A higher slave request waits: master IR2 is in service. */
	pic_pulse_irq(&w.pic, 9);
	assert_false(pic_intr_pending(&w.pic));
	/* A master request above IR2 still nests. */
	pic_pulse_irq(&w.pic, 0);
	assert_int_equal(pic_ack(&w.pic), 0x30);
	outb(0x20, 0x20);
	/* EOI to slave then master, as Linux does: IRQ9 comes through. */
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(pic_ack(&w.pic), 0x39);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	assert_false(pic_intr_pending(&w.pic));
	assert_int_equal(read_isr(0xa0), 0);
	assert_int_equal(read_isr(0x20), 0);
}

static void test_pic_cascade_priority_vs_master(void **state)
{
	(void)state;
	pic_program(0x01);
	pic_pulse_irq(&w.pic, 14);
	pic_pulse_irq(&w.pic, 3);
	/* Slave lines sit at master IR2's priority: above IRQ3. */
	assert_int_equal(pic_ack(&w.pic), 0x3e);
	/* Masking IR2 on the master hides the whole slave. */
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	outb(0x21, 0x04);
	pic_pulse_irq(&w.pic, 15);
	assert_int_equal(pic_ack(&w.pic), 0x33);
}

static void test_pic_spurious(void **state)
{
	(void)state;
	pic_program(0x01);
	assert_int_equal(pic_ack(&w.pic), 0x37);
	assert_int_equal(read_isr(0x20), 0);
	/* The slave's request vanishes after the master latched IR2: the
	 * slave answers with its IR7 vector and sets no ISR bit. */
	pic_pulse_irq(&w.pic, 10);
	outb(0xa1, 0x04);
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(pic_ack(&w.pic), 0x3f);
	assert_int_equal(read_isr(0xa0), 0);
	assert_int_equal(read_isr(0x20), 0x04);
}

static void test_pic_elcr_level(void **state)
{
	(void)state;
	pic_program(0x01);
	/* Chipset wiring keeps IRQ0-2 and IRQ8/13 edge-only. */
	outb(0x4d0, 0xff);
	assert_int_equal(inb(0x4d0), 0xf8);
	outb(0x4d1, 0xff);
	assert_int_equal(inb(0x4d1), 0xde);
	outb(0x4d0, 0x20); /* IRQ5 level */
	outb(0x4d1, 0x00);

	pic_set_irq(&w.pic, 5, true);
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(pic_ack(&w.pic), 0x35);
	/* Still asserted: the request survives the acknowledge... */
	assert_int_equal(read_irr(0x20), 0x20);
	assert_false(pic_intr_pending(&w.pic));
	outb(0x20, 0x20);
	/* ...and is delivered again after EOI. */
	assert_true(pic_intr_pending(&w.pic));
	pic_set_irq(&w.pic, 5, false);
	assert_int_equal(read_irr(0x20), 0x00);
	assert_false(pic_intr_pending(&w.pic));

	/* An edge line keeps its latched request after the line drops. */
	pic_set_irq(&w.pic, 4, true);
	pic_set_irq(&w.pic, 4, false);
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(pic_ack(&w.pic), 0x34);
	/* ...and holding it high gives a single request. */
	outb(0x20, 0x20);
	pic_set_irq(&w.pic, 4, true);
	assert_int_equal(pic_ack(&w.pic), 0x34);
	outb(0x20, 0x20);
	pic_set_irq(&w.pic, 4, true);
	assert_false(pic_intr_pending(&w.pic));
}

static void test_pic_level_on_slave(void **state)
{
	(void)state;
	pic_program(0x01);
	outb(0x4d1, 0x08); /* IRQ11 level */
	pic_set_irq(&w.pic, 11, true);
	assert_int_equal(pic_ack(&w.pic), 0x3b);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(pic_ack(&w.pic), 0x3b);
	pic_set_irq(&w.pic, 11, false);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	assert_false(pic_intr_pending(&w.pic));
}

static void test_pic_auto_eoi(void **state)
{
	(void)state;
	pic_program(0x03);
	pic_pulse_irq(&w.pic, 3);
	pic_pulse_irq(&w.pic, 4);
	assert_int_equal(pic_ack(&w.pic), 0x33);
	assert_int_equal(read_isr(0x20), 0);
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(pic_ack(&w.pic), 0x34);
	/* Two slave requests back to back under auto-EOI both get through. */
	pic_pulse_irq(&w.pic, 9);
	pic_pulse_irq(&w.pic, 10);
	assert_int_equal(pic_ack(&w.pic), 0x39);
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(pic_ack(&w.pic), 0x3a);
	assert_false(pic_intr_pending(&w.pic));
}

static void test_pic_poll(void **state)
{
	(void)state;
	pic_program(0x01);
	outb(0x20, 0x0c);
	assert_int_equal(inb(0x20), 0x00);
	pic_pulse_irq(&w.pic, 6);
	outb(0x20, 0x0c);
	assert_int_equal(inb(0x20), 0x86);
	assert_int_equal(read_isr(0x20), 0x40);
	assert_int_equal(read_irr(0x20), 0x00);
}

static void test_pic_special_mask_mode(void **state)
{
	(void)state;
	pic_program(0x01);
	pic_pulse_irq(&w.pic, 1);
	assert_int_equal(pic_ack(&w.pic), 0x31);
	pic_pulse_irq(&w.pic, 4);
	assert_false(pic_intr_pending(&w.pic));
	outb(0x21, 0x02);
	assert_false(pic_intr_pending(&w.pic));
	outb(0x20, 0x68); /* set special mask mode */
	assert_true(pic_intr_pending(&w.pic));
	outb(0x20, 0x48); /* reset special mask mode */
	assert_false(pic_intr_pending(&w.pic));
}

static void test_pic_rotation(void **state)
{
	(void)state;
	pic_program(0x01);
	outb(0x20, 0xc4); /* IRQ4 lowest, so IRQ5 highest */
	pic_pulse_irq(&w.pic, 3);
	pic_pulse_irq(&w.pic, 6);
	assert_int_equal(pic_ack(&w.pic), 0x36);
	outb(0x20, 0xa0); /* rotate on non-specific EOI: IRQ6 becomes lowest */
	assert_int_equal(read_isr(0x20), 0);
	pic_pulse_irq(&w.pic, 6);
	assert_int_equal(pic_ack(&w.pic), 0x33);
}

/* ------------------------------------------------------------------ PIT */

static uint16_t pit_latch_read(unsigned ch)
{
	outb(0x43, (uint8_t)(ch << 6));
	uint8_t lo = inb((uint16_t)(0x40 + ch));
	uint8_t hi = inb((uint16_t)(0x40 + ch));
	return (uint16_t)(lo | hi << 8);
}

static void pit_program(unsigned ch, unsigned mode, uint16_t count)
{
	outb(0x43, (uint8_t)(ch << 6 | 0x30 | mode << 1));
	outb((uint16_t)(0x40 + ch), (uint8_t)count);
	outb((uint16_t)(0x40 + ch), (uint8_t)(count >> 8));
}

static void test_pit_counter_read(void **state)
{
	(void)state;
	pit_program(0, 2, 1193);
	assert_int_equal(pit_latch_read(0), 1193);
	pit_advance(&w.pit, T0 + 500000); /* 596 input clocks */
	assert_int_equal(pit_latch_read(0), 1193 - 596);
	/* A latched value holds while time moves on. */
	outb(0x43, 0x00);
	pit_advance(&w.pit, T0 + 700000);
	uint8_t lo = inb(0x40);
	pit_advance(&w.pit, T0 + 800000);
	uint8_t hi = inb(0x40);
	assert_int_equal(lo | hi << 8, 597);
	/* Unlatched lsb/msb reads see the live count: 954 clocks at 800us. */
	assert_int_equal(inb_pair(0x40), 1193 - 954);
	/* Rate generator wraps back to the full count. */
	pit_advance(&w.pit, T0 + 1500000); /* 1789 clocks: 596 into period 2 */
	assert_int_equal(pit_latch_read(0), 1193 - 596);
}

static void test_pit_lsb_msb_only_modes(void **state)
{
	(void)state;
	outb(0x43, 0x54); /* channel 1, lsb only, mode 2 */
	outb(0x41, 200);
	pit_advance(&w.pit, T0 + 41905); /* 50 clocks */
	assert_int_equal(inb(0x41), 150);
	outb(0x43, 0x64); /* channel 1, msb only, mode 2 */
	outb(0x41, 0x10);
	pit_advance(&w.pit, T0 + 41905 + 840); /* +1 clock: 0x0fff */
	assert_int_equal(inb(0x41), 0x0f);
	outb(0x43, 0x40);
	assert_int_equal(inb(0x41), 0x0f);
}

static void test_pit_readback(void **state)
{
	(void)state;
	pit_program(0, 2, 1000);
	pit_advance(&w.pit, T0 + 83810); /* 100 clocks */
	outb(0x43, 0xc2); /* read-back: count and status of channel 0 */
	pit_advance(&w.pit, T0 + 200000);
	/* Status first: OUT high, rw lsb/msb, mode 2, binary. */
	assert_int_equal(inb(0x40), 0xb4);
	assert_int_equal(inb_pair(0x40), 900);
	/* Status only, channel 2 (never programmed, mode 3 after reset). */
	outb(0x43, 0xe8);
	assert_int_equal(inb(0x42) & 0x3f, 0x36);
}

static void test_pit_irq0_deadline_and_coalescing(void **state)
{
	(void)state;
	pic_program(0x01);
	assert_int_equal(pit_next_deadline(&w.pit), UINT64_MAX);
	pit_program(0, 2, 1193);
	assert_int_equal(pit_next_deadline(&w.pit), T0 + 999848);
	pit_advance(&w.pit, T0 + 999847);
	assert_false(pic_intr_pending(&w.pic));
	assert_int_equal(stats_find("dev.pit.ticks")->value, 0);
	pit_advance(&w.pit, T0 + 999848);
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(stats_find("dev.pit.ticks")->value, 1);
	assert_int_equal(pit_next_deadline(&w.pit), T0 + 1999695);
	assert_int_equal(pic_ack(&w.pic), 0x30);
	outb(0x20, 0x20);

	/* Nine periods ended: one edge, eight coalesced into it, deadline
	 * moves past now. */
	pit_advance(&w.pit, T0 + 10500000);
	assert_int_equal(stats_find("dev.pit.ticks")->value, 2);
	assert_int_equal(stats_find("dev.pit.ticks_coalesced")->value, 8);
	assert_int_equal(pit_next_deadline(&w.pit), T0 + 10998323);
	assert_int_equal(pic_ack(&w.pic), 0x30);
	outb(0x20, 0x20);
	assert_false(pic_intr_pending(&w.pic));
	pit_advance(&w.pit, T0 + 10600000);
	assert_false(pic_intr_pending(&w.pic));
	assert_int_equal(stats_find("dev.pit.ticks")->value, 2);
	/* Reprogramming with a control word stops the timer. */
	outb(0x43, 0x34);
	assert_int_equal(pit_next_deadline(&w.pit), UINT64_MAX);
}

static void test_pit_mode0_terminal_count(void **state)
{
	(void)state;
	pic_program(0x01);
	pit_program(0, 0, 100);
	outb(0x43, 0xe2); /* status of channel 0 */
	assert_int_equal(inb(0x40) & 0x80, 0x00); /* OUT low while counting */
	assert_int_equal(pit_next_deadline(&w.pit), T0 + 83810);
	pit_advance(&w.pit, T0 + 83809);
	assert_false(pic_intr_pending(&w.pic));
	pit_advance(&w.pit, T0 + 83810);
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(pit_next_deadline(&w.pit), UINT64_MAX);
	outb(0x43, 0xe2);
	assert_int_equal(inb(0x40) & 0x80, 0x80);
	/* One-shot: no second interrupt, the count wraps through zero. */
	assert_int_equal(pic_ack(&w.pic), 0x30);
	outb(0x20, 0x20);
	pit_advance(&w.pit, T0 + 1000000000ull);
	assert_false(pic_intr_pending(&w.pic));
	assert_int_equal(stats_find("dev.pit.ticks")->value, 1);
}

static void test_pit_port61_out2(void **state)
{
	(void)state;
	/* The sequence of Linux's PIT TSC calibration. */
	outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01));
	outb(0x43, 0xb0);
	outb(0x42, 1000 & 0xff);
	outb(0x42, 1000 >> 8);
	assert_int_equal(inb(0x61) & 0x20, 0);
	pit_advance(&w.pit, T0 + 838000); /* 999 clocks */
	assert_int_equal(inb(0x61) & 0x20, 0);
	pit_advance(&w.pit, T0 + 839000); /* 1001 clocks */
	assert_int_equal(inb(0x61) & 0x20, 0x20);
	assert_int_equal(inb(0x61) & 0x03, 0x01);
	/* Channel 2 never interrupts. */
	assert_int_equal(pit_next_deadline(&w.pit), UINT64_MAX);
}

static void test_pit_gate2_pauses_mode0(void **state)
{
	(void)state;
	outb(0x61, 0x00);
	pit_program(2, 0, 1000);
	pit_advance(&w.pit, T0 + 5000000);
	assert_int_equal(pit_latch_read(2), 1000);
	assert_int_equal(inb(0x61) & 0x20, 0);
	outb(0x61, 0x01);
	pit_advance(&w.pit, T0 + 5000000 + 419091); /* 500 clocks */
	assert_int_equal(pit_latch_read(2), 500);
	outb(0x61, 0x00);
	pit_advance(&w.pit, T0 + 9000000);
	assert_int_equal(pit_latch_read(2), 500);
	outb(0x61, 0x01);
	pit_advance(&w.pit, T0 + 9000000 + 419091);
	assert_int_equal(pit_latch_read(2), 0);
	assert_int_equal(inb(0x61) & 0x20, 0x20);
}

static void test_pit_port61_refresh_toggles(void **state)
{
	(void)state;
	uint8_t a = inb(0x61), b = inb(0x61), c = inb(0x61);
	assert_int_not_equal(a & 0x10, b & 0x10);
	assert_int_equal(a & 0x10, c & 0x10);
	outb(0x61, 0x03);
	assert_int_equal(inb(0x61) & 0x0f, 0x03);
}

static void test_pit_large_times(void **state)
{
	(void)state;
	/* Far into the clock's range the arithmetic must not overflow. */
	uint64_t t = 18000000000000000000ull;
	pit_advance(&w.pit, t);
	pit_program(0, 2, 0); /* 65536 */
	assert_int_equal(pit_next_deadline(&w.pit), t + 54925402);
	pit_advance(&w.pit, t + 54925402 * 3 + 5);
	assert_int_equal(stats_find("dev.pit.ticks")->value, 1);
	assert_true(pit_next_deadline(&w.pit) > t + 54925402 * 3 + 5);
}

/* ----------------------------------------------------------------- UART */

static void test_uart_tx(void **state)
{
	(void)state;
	outb(0x3fb, 0x03);
	outb(0x3f8, 'h');
	outb(0x3f8, 'i');
	assert_int_equal(w.ntx, 2);
	assert_memory_equal(w.txbuf, "hi", 2);
	assert_int_equal(inb(0x3fd) & 0x61, 0x60);
	assert_int_equal(stats_find("dev.uart.tx_bytes")->value, 2);
	assert_int_equal(stats_find("dev.uart.io")->value, 4);
}

static void test_uart_dlab_and_scratch(void **state)
{
	(void)state;
	outb(0x3f9, 0x05);
	outb(0x3fb, 0x83);
	outb(0x3f8, 0x01);
	outb(0x3f9, 0x02);
	assert_int_equal(w.ntx, 0);
	assert_int_equal(inb(0x3f8), 0x01);
	assert_int_equal(inb(0x3f9), 0x02);
	outb(0x3fb, 0x03);
	assert_int_equal(inb(0x3f9), 0x05);
	assert_int_equal(inb(0x3fb), 0x03);
	outb(0x3ff, 0xa5);
	assert_int_equal(inb(0x3ff), 0xa5);
	/* IER keeps only its four defined bits (Linux's probe checks). */
	outb(0x3f9, 0xff);
	assert_int_equal(inb(0x3f9), 0x0f);
}

static void test_uart_rx_fifo(void **state)
{
	(void)state;
	assert_int_equal(inb(0x3fd) & 0x01, 0);
	assert_int_equal(uart_rx_space(&w.uart), UART_RX_FIFO);
	assert_true(uart_receive(&w.uart, 'x'));
	assert_true(uart_receive(&w.uart, 'y'));
	assert_int_equal(uart_rx_space(&w.uart), UART_RX_FIFO - 2);
	assert_int_equal(inb(0x3fd) & 0x01, 0x01);
	assert_int_equal(inb(0x3f8), 'x');
	assert_int_equal(inb(0x3fd) & 0x01, 0x01);
	assert_int_equal(inb(0x3f8), 'y');
	assert_int_equal(inb(0x3fd) & 0x01, 0);
	for (unsigned i = 0; i < UART_RX_FIFO; i++)
		assert_true(uart_receive(&w.uart, (uint8_t)i));
	assert_false(uart_receive(&w.uart, 0xee));
	assert_int_equal(uart_rx_space(&w.uart), 0);
	assert_int_equal(stats_find("dev.uart.rx_bytes")->value, 2 + UART_RX_FIFO);
	/* Wrapped ring keeps order. */
	for (unsigned i = 0; i < UART_RX_FIFO; i++)
		assert_int_equal(inb(0x3f8), (uint8_t)i);
	/* FCR bit 1 empties the FIFO. */
	assert_true(uart_receive(&w.uart, 'z'));
	outb(0x3fa, 0x03);
	assert_int_equal(inb(0x3fd) & 0x01, 0);
}

static void test_uart_iir_priorities(void **state)
{
	(void)state;
	assert_int_equal(inb(0x3fa), 0x01);
	outb(0x3fa, 0x01); /* FIFOs on: IIR bits 6-7 set */
	assert_int_equal(inb(0x3fa), 0xc1);
	outb(0x3f9, 0x07); /* RLS, THRE, RDA */
	uart_receive(&w.uart, 'a');
	assert_int_equal(inb(0x3fa), 0xc4); /* RDA beats THRE */
	assert_int_equal(inb(0x3f8), 'a');
	assert_int_equal(inb(0x3fa), 0xc2);
	/* Reading IIR while it reports THRE acknowledges it. */
	assert_int_equal(inb(0x3fa), 0xc1);
	/* Writing THR arms THRE again once the byte has gone. */
	outb(0x3f8, '!');
	assert_int_equal(inb(0x3fa), 0xc2);
	assert_int_equal(inb(0x3fa), 0xc1);

	/* An overrun (loopback into a full FIFO) gives RLS, above RDA. */
	outb(0x3fc, 0x10);
	for (unsigned i = 0; i <= UART_RX_FIFO; i++)
		outb(0x3f8, (uint8_t)i);
	assert_int_equal(inb(0x3fa), 0xc6);
	assert_int_equal(inb(0x3fd) & 0x03, 0x03); /* OE and DR; read clears OE */
	assert_int_equal(inb(0x3fd) & 0x02, 0);
	assert_int_equal(inb(0x3fa), 0xc4);
}

static void test_uart_ier_thre_pending(void **state)
{
	(void)state;
	/* Linux's serial8250_do_startup THRE test. */
	outb(0x3f9, 0x00);
	assert_int_equal(inb(0x3fa) & 0x0f, 0x01);
	outb(0x3f9, 0x02);
	assert_int_equal(inb(0x3fa) & 0x0f, 0x02);
	outb(0x3f9, 0x00);
	outb(0x3f9, 0x02);
	assert_int_equal(inb(0x3fa) & 0x0f, 0x02);
	assert_int_equal(inb(0x3fa) & 0x0f, 0x01);
	/* Re-writing the same enable does not re-arm it. */
	outb(0x3f9, 0x02);
	assert_int_equal(inb(0x3fa) & 0x0f, 0x01);
}

static void test_uart_loopback(void **state)
{
	(void)state;
	assert_int_equal(inb(0x3fe) & 0xf0, 0xb0);
	/* Linux's autoconfig check: loop + RTS + OUT2 reads back CTS + DCD. */
	outb(0x3fc, 0x1a);
	assert_int_equal(inb(0x3fe) & 0xf0, 0x90);
	outb(0x3fc, 0x15); /* loop + DTR + OUT1 -> DSR + RI */
	assert_int_equal(inb(0x3fe) & 0xf0, 0x60);
	assert_false(uart_receive(&w.uart, 'q')); /* the line is disconnected */
	outb(0x3f8, 0x5a);
	assert_int_equal(w.ntx, 0);
	assert_int_equal(inb(0x3fd) & 0x01, 0x01);
	assert_int_equal(inb(0x3f8), 0x5a);
	outb(0x3fc, 0x00);
	assert_int_equal(inb(0x3fe) & 0xf0, 0xb0);
	outb(0x3f8, 0x5b);
	assert_int_equal(w.ntx, 1);
	assert_int_equal(w.txbuf[0], 0x5b);
}

static void test_uart_modem_status_deltas(void **state)
{
	(void)state;
	outb(0x3fc, 0x10);
	uint8_t msr = inb(0x3fe);
	/* CTS, DSR and DCD all dropped on entering loopback. */
	assert_int_equal(msr & 0x0f, 0x0b);
	assert_int_equal(inb(0x3fe) & 0x0f, 0);
	outb(0x3f9, 0x08);
	outb(0x3fc, 0x12);
	assert_int_equal(inb(0x3fa) & 0x0f, 0x00); /* modem status interrupt */
	inb(0x3fe);
	assert_int_equal(inb(0x3fa) & 0x0f, 0x01);
}

static void test_uart_out2_gates_irq(void **state)
{
	(void)state;
	pic_program(0x01);
	outb(0x3f9, 0x01);
	uart_receive(&w.uart, 'k');
	assert_int_equal(inb(0x3fa) & 0x0f, 0x04);
	/* Without OUT2 the PC's IRQ buffer stays off. */
	assert_false(pic_intr_pending(&w.pic));
	assert_int_equal(w.pic.chip[0].last_level & 0x10, 0);
	outb(0x3fc, 0x0b);
	assert_int_equal(w.pic.chip[0].last_level & 0x10, 0x10);
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(pic_ack(&w.pic), 0x34);
	assert_int_equal(inb(0x3f8), 'k');
	assert_int_equal(w.pic.chip[0].last_level & 0x10, 0);
	outb(0x20, 0x20);
	assert_false(pic_intr_pending(&w.pic));
	/* A new byte is a new edge. */
	uart_receive(&w.uart, 'l');
	assert_true(pic_intr_pending(&w.pic));
	assert_int_equal(pic_ack(&w.pic), 0x34);
	outb(0x20, 0x20);
	/* Loopback takes the line away too. */
	outb(0x3fc, 0x1b);
	assert_int_equal(w.pic.chip[0].last_level & 0x10, 0);
}

static void test_uart_thre_irq_edges(void **state)
{
	(void)state;
	pic_program(0x01);
	outb(0x3fc, 0x0b);
	outb(0x3f9, 0x02);
	assert_int_equal(pic_ack(&w.pic), 0x34);
	/* The driver's handler: IIR read drops the line, THR write raises it. */
	assert_int_equal(inb(0x3fa) & 0x0f, 0x02);
	assert_int_equal(w.pic.chip[0].last_level & 0x10, 0);
	outb(0x3f8, 'a');
	assert_int_equal(w.pic.chip[0].last_level & 0x10, 0x10);
	outb(0x20, 0x20);
	assert_true(pic_intr_pending(&w.pic));
	/* Disabling THRE interrupts lowers the line. */
	outb(0x3f9, 0x00);
	assert_int_equal(w.pic.chip[0].last_level & 0x10, 0);
}

/* ----------------------------------------------------------------- CMOS */

static uint8_t cmos_read(uint8_t idx)
{
	outb(0x70, idx);
	return inb(0x71);
}

static void cmos_write(uint8_t idx, uint8_t v)
{
	outb(0x70, idx);
	outb(0x71, v);
}

static void test_cmos_status_registers(void **state)
{
	(void)state;
	assert_int_equal(cmos_read(0x0a) & 0x80, 0);
	assert_int_equal(cmos_read(0x0b), 0x02);
	assert_int_equal(cmos_read(0x0c), 0x00);
	assert_int_equal(cmos_read(0x0d), 0x80);
	/* Bit 7 of the index is the NMI mask, not part of the index. */
	assert_int_equal(cmos_read(0x8d), 0x80);
	assert_int_equal(inb(0x70), 0xff);
	cmos_write(0x0d, 0x00);
	assert_int_equal(cmos_read(0x0d), 0x80);
}

static void test_cmos_bcd_time(void **state)
{
	(void)state;
	assert_int_equal(cmos_read(0x00), 0x20);
	assert_int_equal(cmos_read(0x02), 0x13);
	assert_int_equal(cmos_read(0x04), 0x22);
	cmos_advance(&w.cmos, T0 + 3661500000000ull); /* +3661.5 s */
	assert_int_equal(cmos_read(0x00), 0x21);
	assert_int_equal(cmos_read(0x02), 0x14);
	assert_int_equal(cmos_read(0x04), 0x23);
	assert_int_equal(cmos_read(0x06), 0x03); /* Tuesday, Sunday = 1 */
	assert_int_equal(cmos_read(0x07), 0x14);
	assert_int_equal(cmos_read(0x08), 0x11);
	assert_int_equal(cmos_read(0x09), 0x23);
	assert_int_equal(cmos_read(0x32), 0x20);
	/* Past midnight: the date rolls over. */
	cmos_advance(&w.cmos, T0 + 7200ull * 1000000000ull);
	assert_int_equal(cmos_read(0x04), 0x00);
	assert_int_equal(cmos_read(0x02), 0x13);
	assert_int_equal(cmos_read(0x07), 0x15);
	assert_int_equal(cmos_read(0x06), 0x04);
}

static void test_cmos_binary_and_12h(void **state)
{
	(void)state;
	cmos_write(0x0b, 0x06);
	assert_int_equal(cmos_read(0x04), 22);
	assert_int_equal(cmos_read(0x02), 13);
	assert_int_equal(cmos_read(0x09), 23);
	assert_int_equal(cmos_read(0x32), 20);
	cmos_write(0x0b, 0x00); /* BCD, 12-hour */
	assert_int_equal(cmos_read(0x04), 0x80 | 0x10);
}

static void test_cmos_leap_day(void **state)
{
	(void)state;
	cmos_init(&w.cmos, 951782400ull, T0, MEM_KB); /* 2000-02-29 00:00:00 */
	assert_int_equal(cmos_read(0x07), 0x29);
	assert_int_equal(cmos_read(0x08), 0x02);
	assert_int_equal(cmos_read(0x09), 0x00);
	assert_int_equal(cmos_read(0x32), 0x20);
	assert_int_equal(cmos_read(0x06), 0x03);
	cmos_advance(&w.cmos, T0 + 86400ull * 1000000000ull);
	assert_int_equal(cmos_read(0x07), 0x01);
	assert_int_equal(cmos_read(0x08), 0x03);
}

static void test_cmos_set_time(void **state)
{
	(void)state;
	cmos_write(0x0b, 0x82);
	cmos_write(0x04, 0x05);
	cmos_write(0x02, 0x30);
	cmos_write(0x00, 0x00);
	/* Frozen while SET is on. */
	cmos_advance(&w.cmos, T0 + 5000000000ull);
	assert_int_equal(cmos_read(0x04), 0x05);
	cmos_write(0x0b, 0x02);
	cmos_advance(&w.cmos, T0 + 65000000000ull);
	assert_int_equal(cmos_read(0x04), 0x05);
	assert_int_equal(cmos_read(0x02), 0x31);
	assert_int_equal(cmos_read(0x00), 0x00);
	assert_int_equal(cmos_read(0x07), 0x14);
	/* A single register written with SET off takes effect at once. */
	cmos_write(0x02, 0x45);
	assert_int_equal(cmos_read(0x02), 0x45);
	assert_int_equal(cmos_read(0x04), 0x05);
}

static void test_cmos_memory_sizes(void **state)
{
	(void)state;
	assert_int_equal(cmos_read(0x15) | cmos_read(0x16) << 8, 640);
	/* 127 MiB above 1 MiB does not fit: capped. */
	assert_int_equal(cmos_read(0x17) | cmos_read(0x18) << 8, 0xffff);
	assert_int_equal(cmos_read(0x30) | cmos_read(0x31) << 8, 0xffff);
	assert_int_equal(cmos_read(0x34) | cmos_read(0x35) << 8, (MEM_KB - 16384) / 64);
	cmos_init(&w.cmos, BOOT_UNIX, T0, 8192);
	assert_int_equal(cmos_read(0x17) | cmos_read(0x18) << 8, 7168);
	assert_int_equal(cmos_read(0x30) | cmos_read(0x31) << 8, 7168);
	assert_int_equal(cmos_read(0x34) | cmos_read(0x35) << 8, 0);
	/* Plain CMOS RAM is read/write. */
	cmos_write(0x50, 0x77);
	assert_int_equal(cmos_read(0x50), 0x77);
	assert_int_equal(stats_find("dev.cmos.io")->value > 0, 1);
}

/* ----------------------------------------------------------- debug exit */

static void test_debug_exit(void **state)
{
	(void)state;
	assert_false(w.dbg.fired);
	assert_int_equal(io_in(&w.bus, 0xf4, 1), 0xff);
	assert_int_equal(io_in(&w.bus, 0xf4, 2), 0xffff);
	assert_int_equal(io_in(&w.bus, 0xf7, 4), 0xffffffffu);
	assert_false(w.dbg.fired);
	io_out(&w.bus, 0xf4, 1, 0x1234);
	assert_true(w.dbg.fired);
	assert_int_equal(w.dbg.value, 0x34);
	io_out(&w.bus, 0xf6, 2, 0xabcdef01);
	assert_int_equal(w.dbg.value, 0xef01);
	io_out(&w.bus, 0xf7, 4, 0xabcdef01);
	assert_int_equal(w.dbg.value, 0xabcdef01);
	/* The device masks by itself too, whoever calls its handler. */
	const struct io_range *r = NULL;
	for (unsigned i = 0; i < w.bus.nranges; i++)
		if (w.bus.ranges[i].base == 0xf4)
			r = &w.bus.ranges[i];
	assert_non_null(r);
	assert_int_equal(r->count, 4);
	r->write(r->opaque, 0xf5, 1, 0x1234);
	assert_int_equal(w.dbg.value, 0x34);
	r->write(r->opaque, 0xf4, 2, 0x123456);
	assert_int_equal(w.dbg.value, 0x3456);
	r->write(r->opaque, 0xf4, 4, 0xabcdef01);
	/* Next door is not ours. */
	io_out(&w.bus, 0xf8, 1, 0x99);
	assert_int_equal(w.dbg.value, 0xabcdef01);
	assert_int_equal(stats_find("dev.debugexit.io")->value, 6);
}

static void test_stats_names(void **state)
{
	(void)state;
	static const char *const names[] = {
		"dev.pic.io", "dev.pic.irqs", "dev.pic.irqs_coalesced", "dev.pic.acks", "dev.pit.io",
		"dev.pit.ticks", "dev.pit.ticks_coalesced",
		"dev.uart.io", "dev.uart.tx_bytes", "dev.uart.rx_bytes", "dev.cmos.io",
		"dev.debugexit.io",
	};
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_non_null(stats_find(names[i]));
	assert_ptr_equal(stats_find("dev.pit.io"), &w.pit.io);
	inb(0x40);
	inb(0x61);
	assert_int_equal(w.pit.io.value, 2);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_pic_reset_state),
		T(test_pic_init_and_vector),
		T(test_pic_priority_and_nesting),
		T(test_pic_masking),
		T(test_pic_specific_eoi),
		T(test_pic_cascade),
		T(test_pic_cascade_priority_vs_master),
		T(test_pic_spurious),
		T(test_pic_elcr_level),
		T(test_pic_level_on_slave),
		T(test_pic_auto_eoi),
		T(test_pic_poll),
		T(test_pic_special_mask_mode),
		T(test_pic_rotation),
		T(test_pit_counter_read),
		T(test_pit_lsb_msb_only_modes),
		T(test_pit_readback),
		T(test_pit_irq0_deadline_and_coalescing),
		T(test_pit_mode0_terminal_count),
		T(test_pit_port61_out2),
		T(test_pit_gate2_pauses_mode0),
		T(test_pit_port61_refresh_toggles),
		T(test_pit_large_times),
		T(test_uart_tx),
		T(test_uart_dlab_and_scratch),
		T(test_uart_rx_fifo),
		T(test_uart_iir_priorities),
		T(test_uart_ier_thre_pending),
		T(test_uart_loopback),
		T(test_uart_modem_status_deltas),
		T(test_uart_out2_gates_irq),
		T(test_uart_thre_irq_edges),
		T(test_cmos_status_registers),
		T(test_cmos_bcd_time),
		T(test_cmos_binary_and_12h),
		T(test_cmos_leap_day),
		T(test_cmos_set_time),
		T(test_cmos_memory_sizes),
		T(test_debug_exit),
		T(test_stats_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
