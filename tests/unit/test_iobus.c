/* Unit tests for the port I/O bus (vmm/iobus.c): dispatch by port and size,
 * counters, unclaimed ports and rejected registrations. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "io.h"
#include "stats.h"

struct fake {
	uint16_t last_port;
	unsigned last_size;
	uint32_t last_val;
	unsigned reads, writes;
	uint32_t read_value;
};

static uint32_t fake_read(void *opaque, uint16_t port, unsigned size)
{
	struct fake *f = opaque;
	f->reads++;
	f->last_port = port;
	f->last_size = size;
	return f->read_value;
}

static void fake_write(void *opaque, uint16_t port, unsigned size, uint32_t val)
{
	struct fake *f = opaque;
	f->writes++;
	f->last_port = port;
	f->last_size = size;
	f->last_val = val;
}

static void test_unclaimed_reads_all_ones(void **state)
{
	(void)state;
	struct io_bus bus;
	stat_counter unclaimed = { "io.unclaimed", 0 };
	io_bus_init(&bus, &unclaimed);
	assert_int_equal(io_in(&bus, 0x80, 1), 0xff);
	assert_int_equal(io_in(&bus, 0x80, 2), 0xffff);
	assert_int_equal(io_in(&bus, 0x80, 4), 0xffffffffu);
	io_out(&bus, 0x80, 1, 0x12);
	assert_int_equal(unclaimed.value, 4);
}

static void test_unclaimed_counter_may_be_null(void **state)
{
	(void)state;
	struct io_bus bus;
	io_bus_init(&bus, NULL);
	assert_int_equal(io_in(&bus, 0x1234, 2), 0xffff);
	io_out(&bus, 0x1234, 4, 0);
}

static void test_dispatch_and_counter(void **state)
{
	(void)state;
	struct io_bus bus;
	struct fake a = { .read_value = 0x11223344 }, b = { .read_value = 0xaabbccdd };
	stat_counter ca = { "a", 0 }, cb = { "b", 0 }, un = { "u", 0 };
	io_bus_init(&bus, &un);
	assert_int_equal(io_register(&bus, "fake", 0x3f8, 8, fake_read, fake_write, &a, &ca), 0);
	assert_int_equal(io_register(&bus, "fake", 0x60, 1, fake_read, fake_write, &b, &cb), 0);

	assert_int_equal(io_in(&bus, 0x3fd, 1), 0x44);
	assert_int_equal(a.last_port, 0x3fd);
	assert_int_equal(a.last_size, 1);
	assert_int_equal(io_in(&bus, 0x3f8, 2), 0x3344);
	assert_int_equal(io_in(&bus, 0x3f8, 4), 0x11223344);
	assert_int_equal(a.last_size, 4);
	io_out(&bus, 0x3ff, 1, 0x5a);
	assert_int_equal(a.writes, 1);
	assert_int_equal(a.last_port, 0x3ff);
	assert_int_equal(a.last_val, 0x5a);
	assert_int_equal(ca.value, 4);

	assert_int_equal(io_in(&bus, 0x60, 1), 0xdd);
	assert_int_equal(b.reads, 1);
	assert_int_equal(cb.value, 1);
	/* Just past the ranges is nobody's. */
	assert_int_equal(io_in(&bus, 0x400, 1), 0xff);
	assert_int_equal(io_in(&bus, 0x3f7, 1), 0xff);
	assert_int_equal(io_in(&bus, 0x61, 1), 0xff);
	assert_int_equal(a.reads, 3);
	assert_int_equal(un.value, 3);
}

static void test_write_value_masked_to_size(void **state)
{
	(void)state;
	struct io_bus bus;
	struct fake a = { 0 };
	io_bus_init(&bus, NULL);
	assert_int_equal(io_register(&bus, "fake", 0x100, 4, fake_read, fake_write, &a, NULL), 0);
	io_out(&bus, 0x100, 1, 0x12345678);
	assert_int_equal(a.last_val, 0x78);
	io_out(&bus, 0x100, 2, 0x12345678);
	assert_int_equal(a.last_val, 0x5678);
	io_out(&bus, 0x100, 4, 0x12345678);
	assert_int_equal(a.last_val, 0x12345678);
}

static void test_access_starting_in_range_gets_full_size(void **state)
{
	(void)state;
	struct io_bus bus;
	struct fake a = { .read_value = 0xcafef00d };
	io_bus_init(&bus, NULL);
	assert_int_equal(io_register(&bus, "fake", 0x200, 2, fake_read, fake_write, &a, NULL), 0);
	/* A dword access at the last port still goes to the range's handler. */
	assert_int_equal(io_in(&bus, 0x201, 4), 0xcafef00d);
	assert_int_equal(a.last_port, 0x201);
	assert_int_equal(a.last_size, 4);
	io_out(&bus, 0x201, 4, 0xdeadbeef);
	assert_int_equal(a.last_val, 0xdeadbeef);
	assert_int_equal(a.last_size, 4);
}

static void test_null_handlers(void **state)
{
	(void)state;
	struct io_bus bus;
	stat_counter c = { "c", 0 };
	io_bus_init(&bus, NULL);
	assert_int_equal(io_register(&bus, "fake", 0x300, 1, NULL, NULL, NULL, &c), 0);
	assert_int_equal(io_in(&bus, 0x300, 2), 0xffff);
	io_out(&bus, 0x300, 1, 1);
	assert_int_equal(c.value, 2);
}

/* Traces name the device that claimed a port. */
static void test_owner_named(void **state)
{
	(void)state;
	struct io_bus bus;
	io_bus_init(&bus, NULL);
	assert_int_equal(io_register(&bus, "uart", 0x3f8, 8, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(io_register(&bus, "pic", 0x20, 2, NULL, NULL, NULL, NULL), 0);
	assert_string_equal(io_owner(&bus, 0x3ff), "uart");
	assert_string_equal(io_owner(&bus, 0x21), "pic");
	assert_string_equal(io_owner(&bus, 0x22), "unassigned");
}

static void test_overlap_rejected(void **state)
{
	(void)state;
	struct io_bus bus;
	struct fake a = { .read_value = 1 }, b = { .read_value = 2 };
	io_bus_init(&bus, NULL);
	assert_int_equal(io_register(&bus, "fake", 0x40, 4, fake_read, fake_write, &a, NULL), 0);
	assert_int_equal(io_register(&bus, "fake", 0x43, 1, fake_read, fake_write, &b, NULL), -1);
	assert_int_equal(io_register(&bus, "fake", 0x3c, 5, fake_read, fake_write, &b, NULL), -1);
	assert_int_equal(io_register(&bus, "fake", 0x41, 1, fake_read, fake_write, &b, NULL), -1);
	assert_int_equal(io_register(&bus, "fake", 0x30, 0x20, fake_read, fake_write, &b, NULL), -1);
	/* Adjacent ranges on either side are fine. */
	assert_int_equal(io_register(&bus, "fake", 0x3c, 4, fake_read, fake_write, &b, NULL), 0);
	assert_int_equal(io_register(&bus, "fake", 0x44, 1, fake_read, fake_write, &b, NULL), 0);
	assert_int_equal(bus.nranges, 3);
	/* The rejected registrations did not steal ports. */
	assert_int_equal(io_in(&bus, 0x43, 1), 1);
	assert_int_equal(io_in(&bus, 0x3f, 1), 2);
}

static void test_bad_ranges_rejected(void **state)
{
	(void)state;
	struct io_bus bus;
	struct fake a = { 0 };
	io_bus_init(&bus, NULL);
	assert_int_equal(io_register(&bus, "fake", 0x10, 0, fake_read, fake_write, &a, NULL), -1);
	assert_int_equal(io_register(&bus, "fake", 0xfffe, 3, fake_read, fake_write, &a, NULL), -1);
	assert_int_equal(io_register(&bus, "fake", 0xfffe, 2, fake_read, fake_write, &a, NULL), 0);
	a.read_value = 0x77;
	assert_int_equal(io_in(&bus, 0xffff, 1), 0x77);
}

static void test_table_full(void **state)
{
	(void)state;
	struct io_bus bus;
	struct fake a = { 0 };
	io_bus_init(&bus, NULL);
	for (unsigned i = 0; i < IO_MAX_RANGES; i++)
		assert_int_equal(io_register(&bus, "fake", (uint16_t)(0x1000 + 2 * i), 2, fake_read,
					     fake_write, &a, NULL), 0);
	assert_int_equal(io_register(&bus, "fake", 0x8000, 1, fake_read, fake_write, &a, NULL), -1);
	a.read_value = 0x5;
	assert_int_equal(io_in(&bus, 0x1000 + 2 * (IO_MAX_RANGES - 1) + 1, 1), 0x5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unclaimed_reads_all_ones),
		cmocka_unit_test(test_unclaimed_counter_may_be_null),
		cmocka_unit_test(test_dispatch_and_counter),
		cmocka_unit_test(test_write_value_masked_to_size),
		cmocka_unit_test(test_access_starting_in_range_gets_full_size),
		cmocka_unit_test(test_null_handlers),
		cmocka_unit_test(test_owner_named),
		cmocka_unit_test(test_overlap_rejected),
		cmocka_unit_test(test_bad_ranges_rejected),
		cmocka_unit_test(test_table_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
