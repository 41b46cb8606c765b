/* The i8254 interval timer at 0x40-0x43 and the PC's port 0x61 (channel 2
 * gate, speaker enable, OUT2 and refresh status). Counters are not stepped:
 * their value and OUT level are derived from elapsed time whenever asked;
 * IRQ0 is raised only when the caller advances time with pit_advance. */
#include "devices.h"
#include <stddef.h>

#define NS_PER_S 1000000000ull

/* Port 0x61 bits. */
#define P61_GATE2 0x01
#define P61_WRITABLE 0x0f
#define P61_REFRESH 0x10
#define P61_OUT2 0x20

/* While a channel in mode 0, 2, 3 or 4 has its gate low it does not count;
 * start_ns then holds the time already counted rather than a start stamp,
 * so the count resumes where it stopped (modes 0/4) without another field. */
static bool gate_pauses(const struct pit_channel *c)
{
	return c->mode != 1 && c->mode != 5;
}

/* Whole input clocks in `ns`: exact floor(ns * PIT_HZ / 1e9) without 128-bit
 * division (no libgcc in the monitor), splitting ns into seconds and rest. */
static uint64_t ns_to_ticks(uint64_t ns)
{
	uint64_t sec = ns / NS_PER_S, rem = ns % NS_PER_S;
	return sec * PIT_HZ + rem * PIT_HZ / NS_PER_S;
}

/* The first nanosecond at which ns_to_ticks() reaches k; UINT64_MAX when that
 * lies beyond the clock's range. */
static uint64_t ticks_to_ns(uint64_t k)
{
	uint64_t sec = k / PIT_HZ, rem = k % PIT_HZ;
	if (sec > UINT64_MAX / NS_PER_S - 1)
		return UINT64_MAX;
	return sec * NS_PER_S + (rem * NS_PER_S + PIT_HZ - 1) / PIT_HZ;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint32_t reload_of(const struct pit_channel *c)
{
	return c->reload ? c->reload : 0x10000u;
}

static uint64_t elapsed_ticks(const struct pit_channel *c, uint64_t now)
{
	if (!c->gate && gate_pauses(c))
		return ns_to_ticks(c->start_ns);
	return now > c->start_ns ? ns_to_ticks(now - c->start_ns) : 0;
}

static uint16_t channel_count(const struct pit_channel *c, uint64_t now)
{
	uint32_t n = reload_of(c);
	if (!c->armed)
		return (uint16_t)n;
	uint64_t k = elapsed_ticks(c, now);
	uint64_t phase, half;

	switch (c->mode) {
	case 2:
		return (uint16_t)(n - k % n);
	case 3:
		/* The counter steps by two, running down once per half period. */
		phase = k % n;
		half = (n + 1) / 2;
		if (phase >= half)
			phase -= half;
		return (uint16_t)((n & ~1u) - 2 * phase);
	default:
		/* One-shot modes keep counting down through zero and wrap. */
		return (uint16_t)(n - k);
	}
}

static bool channel_out(const struct pit_channel *c, uint64_t now)
{
	if (!c->armed)
		return c->mode != 0;
	uint32_t n = reload_of(c);
	uint64_t k = elapsed_ticks(c, now);

	switch (c->mode) {
	case 0:
	case 1:
		return k >= n;
	case 2:
		return !c->gate || k % n != n - 1;
	case 3:
		return !c->gate || k % n < (n + 1) / 2;
	default: /* 4, 5: a one-clock low strobe at terminal count */
		return k != n;
	}
}

/* Channel 0's next rising OUT edge strictly after `now` (UINT64_MAX: none).
 * Gate 0 is tied high on a PC, so only counting state matters here. */
static uint64_t next_edge(const struct pit_channel *c, uint64_t now)
{
	if (!c->armed || !c->gate)
		return UINT64_MAX;
	uint32_t n = reload_of(c);
	uint64_t k = elapsed_ticks(c, now), at;

	switch (c->mode) {
	case 0:
	case 1:
		if (k >= n)
			return UINT64_MAX;
		at = n;
		break;
	case 4:
	case 5:
		if (k >= (uint64_t)n + 1)
			return UINT64_MAX;
		at = (uint64_t)n + 1;
		break;
	default: /* 2, 3: OUT rises as each period restarts */
		at = (k / n + 1) * n;
		break;
	}
	return add_sat(c->start_ns, ticks_to_ns(at));
}

static void update_deadline(struct pit *t)
{
	t->next_irq_ns = next_edge(&t->ch[0], t->now_ns);
}

/* A complete count was written: start counting from it now. Modes 1 and 5
 * wait for a rising gate edge instead. */
static void load_count(struct pit *t, struct pit_channel *c)
{
	c->null_count = 0;
	if (c->mode == 1 || c->mode == 5) {
		c->armed = 0;
		return;
	}
	c->armed = 1;
	c->start_ns = c->gate ? t->now_ns : 0;
}

static void set_gate(struct pit *t, struct pit_channel *c, bool gate)
{
	uint64_t now = t->now_ns;

	if (gate == !!c->gate)
		return;
	if (gate) {
		if (c->mode == 1 || c->mode == 5) {
			/* Trigger (or retrigger) the one-shot. */
			c->armed = 1;
			c->start_ns = now;
		} else if (c->mode == 2 || c->mode == 3) {
			/* Counting restarts from the full count. */
			c->start_ns = now;
		} else {
			/* Modes 0/4 resume with the time already counted. */
			c->start_ns = now > c->start_ns ? now - c->start_ns : 0;
		}
	} else if (gate_pauses(c)) {
		c->start_ns = now > c->start_ns ? now - c->start_ns : 0;
	}
	c->gate = gate;
}

static void latch_count(struct pit *t, struct pit_channel *c)
{
	if (c->latched)
		return;
	c->latch_value = channel_count(c, t->now_ns);
	c->latched = 1;
	c->latch_lsb_next = 1;
}

static void latch_status(struct pit *t, struct pit_channel *c)
{
	if (c->status_latched)
		return;
	c->status = (uint8_t)((channel_out(c, t->now_ns) ? 0x80 : 0) |
			      (c->null_count ? 0x40 : 0) | (c->rw_mode << 4) |
			      (c->mode << 1) | (c->bcd & 1));
	c->status_latched = 1;
}

static void write_control(struct pit *t, uint8_t val)
{
	unsigned sel = val >> 6;

	if (sel == 3) {
		/* Read-back: bit 5 clear latches counts, bit 4 clear latches
		 * status, bits 1-3 select channels 0-2. */
		for (unsigned i = 0; i < 3; i++) {
			if (!(val & (2u << i)))
				continue;
			if (!(val & 0x20))
				latch_count(t, &t->ch[i]);
			if (!(val & 0x10))
				latch_status(t, &t->ch[i]);
		}
		return;
	}
	struct pit_channel *c = &t->ch[sel];
	unsigned rw = (val >> 4) & 3;
	if (rw == 0) {
		latch_count(t, c);
		return;
	}
	unsigned mode = (val >> 1) & 7;
	if (mode >= 6)
		mode -= 4; /* 6 and 7 are aliases of 2 and 3 */
	c->rw_mode = (uint8_t)rw;
	c->mode = (uint8_t)mode;
	c->bcd = val & 1;
	c->write_lsb_next = 1;
	c->read_lsb_next = 1;
	c->latched = 0;
	c->status_latched = 0;
	c->null_count = 1;
	/* A control word stops the counter until a new count arrives. */
	c->armed = 0;
	if (sel == 0)
		update_deadline(t);
}

static void write_counter(struct pit *t, unsigned idx, uint8_t val)
{
	struct pit_channel *c = &t->ch[idx];

	switch (c->rw_mode) {
	case 1:
		c->reload = val;
		break;
	case 2:
		c->reload = (uint16_t)(val << 8);
		break;
	default:
		if (c->write_lsb_next) {
			c->write_latched_lsb = val;
			c->write_lsb_next = 0;
			/* Mode 0 stops counting once the first byte is in. */
			if (c->mode == 0 && c->armed) {
				c->start_ns = t->now_ns;
				c->armed = 0;
			}
			c->null_count = 1;
			return;
		}
		c->reload = (uint16_t)(c->write_latched_lsb | (val << 8));
		c->write_lsb_next = 1;
		break;
	}
	load_count(t, c);
	if (idx == 0)
		update_deadline(t);
}

static uint8_t read_counter(struct pit *t, unsigned idx)
{
	struct pit_channel *c = &t->ch[idx];
	uint16_t v;
	bool lsb;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->latched) {
		v = c->latch_value;
		if (c->rw_mode == 3 && c->latch_lsb_next) {
			c->latch_lsb_next = 0;
			return (uint8_t)v;
		}
		c->latched = 0;
		return c->rw_mode == 1 ? (uint8_t)v : (uint8_t)(v >> 8);
	}
	v = channel_count(c, t->now_ns);
	if (c->rw_mode == 1)
		lsb = true;
	else if (c->rw_mode == 2)
		lsb = false;
	else {
		lsb = c->read_lsb_next;
		c->read_lsb_next = !c->read_lsb_next;
	}
	return lsb ? (uint8_t)v : (uint8_t)(v >> 8);
}

static uint8_t pit_read_byte(struct pit *t, uint16_t port)
{
	switch (port) {
	case 0x40: case 0x41: case 0x42:
		return read_counter(t, port - 0x40u);
	case 0x61:
		/* The refresh bit flips on every read so loops waiting for it
		 * always make progress, whatever the caller's clock does. */
		t->port61 ^= P61_REFRESH;
		return (uint8_t)((t->port61 & (P61_WRITABLE | P61_REFRESH)) |
				 (channel_out(&t->ch[2], t->now_ns) ? P61_OUT2 : 0));
	default: /* 0x43: the control register cannot be read */
		return 0xff;
	}
}

static void pit_write_byte(struct pit *t, uint16_t port, uint8_t val)
{
	switch (port) {
	case 0x40: case 0x41: case 0x42:
		write_counter(t, port - 0x40u, val);
		break;
	case 0x43:
		write_control(t, val);
		break;
	case 0x61:
		t->port61 = (uint8_t)((t->port61 & ~P61_WRITABLE) | (val & P61_WRITABLE));
		set_gate(t, &t->ch[2], val & P61_GATE2);
		break;
	default:
		break;
	}
}

static uint32_t pit_io_read(void *opaque, uint16_t port, unsigned size)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < size && i < 4; i++)
		v |= (uint32_t)pit_read_byte(opaque, (uint16_t)(port + i)) << (8 * i);
	return v;
}

static void pit_io_write(void *opaque, uint16_t port, unsigned size, uint32_t val)
{
	for (unsigned i = 0; i < size && i < 4; i++)
		pit_write_byte(opaque, (uint16_t)(port + i), (uint8_t)(val >> (8 * i)));
}

void pit_init(struct pit *t, struct pic *pic, uint64_t now_ns)
{
	__builtin_memset(t->ch, 0, sizeof(t->ch));
	for (unsigned i = 0; i < 3; i++) {
		struct pit_channel *c = &t->ch[i];
		c->mode = 3;
		c->rw_mode = 3;
		c->write_lsb_next = 1;
		c->read_lsb_next = 1;
		/* Gates 0 and 1 are tied high; gate 2 follows port 0x61. */
		c->gate = i != 2;
	}
	t->pic = pic;
	t->port61 = 0;
	t->now_ns = now_ns;
	t->next_irq_ns = UINT64_MAX;
	t->io.name = "dev.pit.io";
	t->ticks.name = "dev.pit.ticks";
	t->ticks_coalesced.name = "dev.pit.ticks_coalesced";
	stats_register(&t->io);
	stats_register(&t->ticks);
	stats_register(&t->ticks_coalesced);
}

int pit_attach(struct pit *t, struct io_bus *bus)
{
	if (io_register(bus, "pit", 0x40, 4, pit_io_read, pit_io_write, t, &t->io) ||
	    io_register(bus, "pit", 0x61, 1, pit_io_read, pit_io_write, t, &t->io))
		return -1;
	return 0;
}

void pit_set_time(struct pit *t, uint64_t now_ns)
{
	if (now_ns > t->now_ns)
		t->now_ns = now_ns;
}

/* Rising edges of a periodic channel after the one at `due` up to `now`:
 * the periods that end without an interrupt of their own. One-shot modes
 * have a single edge. */
static uint64_t edges_merged(const struct pit_channel *c, uint64_t due, uint64_t now)
{
	if (c->mode != 2 && c->mode != 3)
		return 0;
	uint64_t k_due = elapsed_ticks(c, due), k_now = elapsed_ticks(c, now);
	return k_now > k_due ? (k_now - k_due) / reload_of(c) : 0;
}

void pit_advance(struct pit *t, uint64_t now_ns)
{
	pit_set_time(t, now_ns);
	if (t->next_irq_ns == UINT64_MAX || t->next_irq_ns > t->now_ns)
		return;
	if (t->pic)
		pic_pulse_irq(t->pic, 0);
	stat_inc(&t->ticks);
	/* Periods missed between calls collapse into this one edge. */
	stat_add(&t->ticks_coalesced, edges_merged(&t->ch[0], t->next_irq_ns, t->now_ns));
	update_deadline(t);
}

uint64_t pit_next_deadline(const struct pit *t)
{
	return t->next_irq_ns;
}
