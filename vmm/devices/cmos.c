/* The MC146818-style CMOS/RTC at 0x70/0x71: 128 bytes of CMOS RAM holding the
 * firmware's memory-size bytes, and a clock that runs from the wall-clock
 * time given at power-on plus elapsed caller time. No RTC interrupts. */
#include "devices.h"
#include <stddef.h>

#define NS_PER_S 1000000000ull

#define R_SEC 0x00
#define R_MIN 0x02
#define R_HOUR 0x04
#define R_WDAY 0x06
#define R_MDAY 0x07
#define R_MON 0x08
#define R_YEAR 0x09
#define R_A 0x0a
#define R_B 0x0b
#define R_C 0x0c
#define R_D 0x0d
#define R_CENTURY 0x32

#define B_SET 0x80
#define B_BINARY 0x04
#define B_24H 0x02
#define D_VRT 0x80

#define CSUM_FIRST 0x10
#define CSUM_LAST 0x2d
#define CSUM_HI 0x2e

struct date {
	unsigned sec, min, hour, wday, mday, mon;
	uint64_t year;
};

static bool is_leap(uint64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(uint64_t y, unsigned m)
{
	static const uint8_t len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return len[m - 1] + (m == 2 && is_leap(y));
}

static void unix_to_date(uint64_t t, struct date *d)
{
	uint64_t days = t / 86400, rem = t % 86400;

	d->sec = (unsigned)(rem % 60);
	d->min = (unsigned)(rem / 60 % 60);
	d->hour = (unsigned)(rem / 3600);
	d->wday = (unsigned)((days + 4) % 7) + 1; /* 1970-01-01 was a Thursday; Sunday is 1 */
	/* The Gregorian calendar repeats every 400 years (146097 days). */
	d->year = 1970 + 400 * (days / 146097);
	days %= 146097;
	for (;;) {
		unsigned ylen = is_leap(d->year) ? 366 : 365;
		if (days < ylen)
			break;
		days -= ylen;
		d->year++;
	}
	d->mon = 1;
	while (days >= month_days(d->year, d->mon)) {
		days -= month_days(d->year, d->mon);
		d->mon++;
	}
	d->mday = (unsigned)days + 1;
}

static uint64_t leaps_before(uint64_t y)
{
	return (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400;
}

static uint64_t date_to_unix(const struct date *d)
{
	uint64_t days = 365 * (d->year - 1970) + leaps_before(d->year) - leaps_before(1970);
	for (unsigned m = 1; m < d->mon; m++)
		days += month_days(d->year, m);
	days += d->mday - 1;
	return days * 86400 + d->hour * 3600u + d->min * 60u + d->sec;
}

static uint8_t encode(const struct cmos *c, unsigned v)
{
	if (c->ram[R_B] & B_BINARY)
		return (uint8_t)v;
	return (uint8_t)((v / 10 % 10) << 4 | v % 10);
}

static unsigned decode(const struct cmos *c, uint8_t v)
{
	if (c->ram[R_B] & B_BINARY)
		return v;
	return (v >> 4) * 10u + (v & 15u);
}

static uint64_t current_unix(const struct cmos *c)
{
	uint64_t ns = c->now_ns > c->boot_ns ? c->now_ns - c->boot_ns : 0;
	return c->boot_unix + ns / NS_PER_S;
}

/* Put the running clock into the time registers. */
static void refresh_time(struct cmos *c)
{
	struct date d;
	unix_to_date(current_unix(c), &d);

	c->ram[R_SEC] = encode(c, d.sec);
	c->ram[R_MIN] = encode(c, d.min);
	if (c->ram[R_B] & B_24H) {
		c->ram[R_HOUR] = encode(c, d.hour);
	} else {
		unsigned h = d.hour % 12;
		c->ram[R_HOUR] = (uint8_t)(encode(c, h ? h : 12) | (d.hour >= 12 ? 0x80 : 0));
	}
	c->ram[R_WDAY] = encode(c, d.wday);
	c->ram[R_MDAY] = encode(c, d.mday);
	c->ram[R_MON] = encode(c, d.mon);
	c->ram[R_YEAR] = encode(c, (unsigned)(d.year % 100));
	c->ram[R_CENTURY] = encode(c, (unsigned)(d.year / 100 % 100));
}

/* The guest set the clock: restart it from the time registers. Nonsense
 * dates leave the clock as it was. */
static void commit_time(struct cmos *c)
{
	struct date d;
	uint8_t h = c->ram[R_HOUR];

	d.sec = decode(c, c->ram[R_SEC]);
	d.min = decode(c, c->ram[R_MIN]);
	if (c->ram[R_B] & B_24H)
		d.hour = decode(c, h);
	else
		d.hour = decode(c, h & 0x7f) % 12 + ((h & 0x80) ? 12 : 0);
	d.mday = decode(c, c->ram[R_MDAY]);
	d.mon = decode(c, c->ram[R_MON]);
	unsigned yy = decode(c, c->ram[R_YEAR]), century = decode(c, c->ram[R_CENTURY]);
	if (century < 19 || century > 99)
		century = yy < 70 ? 20 : 19;
	d.year = century * 100u + yy;
	if (d.sec > 59 || d.min > 59 || d.hour > 23 || yy > 99 || d.year < 1970 ||
	    d.mon < 1 || d.mon > 12 || d.mday < 1 || d.mday > month_days(d.year, d.mon))
		return;
	c->boot_unix = date_to_unix(&d);
	c->boot_ns = c->now_ns;
}

static bool is_clock_reg(uint8_t idx)
{
	return idx == R_SEC || idx == R_MIN || idx == R_HOUR || (idx >= R_WDAY && idx <= R_YEAR) ||
	       idx == R_CENTURY;
}

static void update_checksum(struct cmos *c)
{
	unsigned sum = 0;
	for (unsigned i = CSUM_FIRST; i <= CSUM_LAST; i++)
		sum += c->ram[i];
	c->ram[CSUM_HI] = (uint8_t)(sum >> 8);
	c->ram[CSUM_HI + 1] = (uint8_t)sum;
}

static uint8_t cmos_read_data(struct cmos *c)
{
	uint8_t idx = c->index, v;

	/* While SET is on the registers hold what the guest wrote. */
	if (is_clock_reg(idx) && !(c->ram[R_B] & B_SET))
		refresh_time(c);
	v = c->ram[idx];
	if (idx == R_C)
		c->ram[R_C] = 0; /* interrupt flags clear on read */
	return v;
}

static void cmos_write_data(struct cmos *c, uint8_t val)
{
	uint8_t idx = c->index;

	switch (idx) {
	case R_A:
		c->ram[R_A] = val & 0x7f; /* UIP is read-only */
		break;
	case R_B: {
		uint8_t old = c->ram[R_B];
		if ((val & B_SET) && !(old & B_SET))
			refresh_time(c); /* freeze the registers at the current time */
		c->ram[R_B] = val;
		if (!(val & B_SET) && (old & B_SET))
			commit_time(c);
		break;
	}
	case R_C:
	case R_D:
		break; /* read-only */
	default:
		if (is_clock_reg(idx) && !(c->ram[R_B] & B_SET)) {
			refresh_time(c);
			c->ram[idx] = val;
			commit_time(c);
		} else {
			c->ram[idx] = val;
		}
		break;
	}
}

static uint32_t cmos_io_read(void *opaque, uint16_t port, unsigned size)
{
	struct cmos *c = opaque;
	uint32_t v = 0;
	for (unsigned i = 0; i < size && i < 4; i++) {
		uint16_t p = (uint16_t)(port + i);
		/* The index register is write-only. */
		uint8_t b = p == 0x71 ? cmos_read_data(c) : 0xff;
		v |= (uint32_t)b << (8 * i);
	}
	return v;
}

static void cmos_io_write(void *opaque, uint16_t port, unsigned size, uint32_t val)
{
	struct cmos *c = opaque;
	for (unsigned i = 0; i < size && i < 4; i++) {
		uint16_t p = (uint16_t)(port + i);
		uint8_t b = (uint8_t)(val >> (8 * i));
		if (p == 0x70)
			c->index = b & 0x7f; /* bit 7 is the NMI mask: nothing to gate here */
		else if (p == 0x71)
			cmos_write_data(c, b);
	}
}

static void put16(struct cmos *c, unsigned idx, uint32_t v)
{
	if (v > 0xffff)
		v = 0xffff;
	c->ram[idx] = (uint8_t)v;
	c->ram[idx + 1] = (uint8_t)(v >> 8);
}

void cmos_init(struct cmos *c, uint64_t unix_seconds, uint64_t now_ns, uint32_t mem_kb)
{
	__builtin_memset(c->ram, 0, sizeof(c->ram));
	c->index = 0;
	c->boot_unix = unix_seconds;
	c->boot_ns = now_ns;
	c->now_ns = now_ns;

	c->ram[R_A] = 0x26; /* 32.768 kHz time base, 1024 Hz rate, UIP clear */
	c->ram[R_B] = B_24H;
	c->ram[R_D] = D_VRT;
	c->ram[0x14] = 0x02; /* equipment: FPU present, no floppy, VGA */
	put16(c, 0x15, mem_kb < 640 ? mem_kb : 640);
	uint32_t ext = mem_kb > 1024 ? mem_kb - 1024 : 0;
	put16(c, 0x17, ext);
	put16(c, 0x30, ext);
	put16(c, 0x34, mem_kb > 16384 ? (mem_kb - 16384) / 64 : 0);
	update_checksum(c);
	refresh_time(c);

	c->io.name = "dev.cmos.io";
	stats_register(&c->io);
}

int cmos_attach(struct cmos *c, struct io_bus *bus)
{
	return io_register(bus, "cmos", 0x70, 2, cmos_io_read, cmos_io_write, c, &c->io);
}

void cmos_advance(struct cmos *c, uint64_t now_ns)
{
	if (now_ns > c->now_ns)
		c->now_ns = now_ns;
}
