/* The i8259A interrupt controller pair of a PC: master at 0x20/0x21, slave at
 * 0xA0/0xA1 cascaded into master IR2, and the PIIX-style edge/level control
 * registers at 0x4D0/0x4D1. Owns request latching, priority and acknowledge. */
#include "devices.h"
#include <stddef.h>

#define MASTER 0
#define SLAVE 1
#define CASCADE_IRQ 2

/* Lines that the chipset wires edge-only: timer, keyboard, cascade, RTC, FPU. */
#define ELCR_MASK_MASTER 0xf8
#define ELCR_MASK_SLAVE 0xde

/* Priority position (0 = highest) of the best set bit in `bits`, 8 if none.
 * priority_add names the IR level that currently has the highest priority. */
static unsigned best_priority(const struct pic_chip *c, uint8_t bits)
{
	if (!bits)
		return 8;
	unsigned pos = 0;
	while (!(bits & (1u << ((pos + c->priority_add) & 7))))
		pos++;
	return pos;
}

/* The IR level the chip would present on INT now, or -1. */
static int deliverable(const struct pic_chip *c, bool is_master)
{
	uint8_t req = c->irr & ~c->imr;
	unsigned want = best_priority(c, req);
	if (want == 8)
		return -1;

	uint8_t blocking = c->isr;
	/* Special mask mode lets a handler that masked its own level take
	 * interrupts of any other unmasked level, so masked in-service
	 * levels stop blocking. */
	if (c->special_mask)
		blocking &= ~c->imr;
	/* Special fully nested mode: the master must let further requests from
	 * the slave through while an earlier slave interrupt is in service. */
	if (is_master && c->sfnm)
		blocking &= ~(1u << CASCADE_IRQ);
	if (want < best_priority(c, blocking))
		return (int)((want + c->priority_add) & 7);
	return -1;
}

/* An input line of one chip; returns true on a new request latched by a
 * rising edge, so the caller can count raised interrupts. */
static bool chip_line(struct pic_chip *c, unsigned n, bool level)
{
	uint8_t bit = (uint8_t)(1u << n);
	bool rose = level && !(c->last_level & bit);

	if (c->elcr & bit) {
		/* Level mode: the request follows the line. */
		if (level)
			c->irr |= bit;
		else
			c->irr &= (uint8_t)~bit;
	} else if (rose) {
		c->irr |= bit;
	}
	if (level)
		c->last_level |= bit;
	else
		c->last_level &= (uint8_t)~bit;
	return rose;
}

/* The slave's INT output drives master IR2; re-evaluate it after anything
 * that can change what the slave would deliver. */
static void update_cascade(struct pic *p)
{
	bool out = deliverable(&p->chip[SLAVE], false) >= 0;
	chip_line(&p->chip[MASTER], CASCADE_IRQ, out);
}

/* The INTA cycle on one chip for level n. */
static void chip_ack(struct pic_chip *c, unsigned n)
{
	uint8_t bit = (uint8_t)(1u << n);

	if (c->auto_eoi) {
		if (c->rotate_on_aeoi)
			c->priority_add = (uint8_t)((n + 1) & 7);
	} else {
		c->isr |= bit;
	}
	/* A level-triggered request stays while its line is high. */
	if (!(c->elcr & bit))
		c->irr &= (uint8_t)~bit;
}

void pic_init(struct pic *p)
{
	__builtin_memset(p->chip, 0, sizeof(p->chip));
	p->listener = (void (*)(void *, unsigned, bool))0;
	p->chip[MASTER].elcr_mask = ELCR_MASK_MASTER;
	p->chip[SLAVE].elcr_mask = ELCR_MASK_SLAVE;
	p->io.name = "dev.pic.io";
	p->irqs_raised.name = "dev.pic.irqs";
	p->irqs_coalesced.name = "dev.pic.irqs_coalesced";
	p->acks.name = "dev.pic.acks";
	stats_register(&p->io);
	stats_register(&p->irqs_raised);
	stats_register(&p->irqs_coalesced);
	stats_register(&p->acks);
}

void pic_set_irq(struct pic *p, unsigned irq, bool level)
{
	if (irq > 15)
		return;
	if (p->listener)
		p->listener(p->listener_opaque, irq, level);
	struct pic_chip *c = &p->chip[irq >> 3];
	bool pending = c->irr & (1u << (irq & 7));
	if (chip_line(c, irq & 7, level)) {
		stat_inc(&p->irqs_raised);
		if (pending && !(c->elcr & (1u << (irq & 7))))
			stat_inc(&p->irqs_coalesced);
	}
	if (irq >= 8)
		update_cascade(p);
}

bool pic_intr_pending(const struct pic *p)
{
	return deliverable(&p->chip[MASTER], true) >= 0;
}

uint8_t pic_ack(struct pic *p)
{
	struct pic_chip *m = &p->chip[MASTER], *s = &p->chip[SLAVE];
	int n = deliverable(m, true);
	uint8_t vec;

	stat_inc(&p->acks);
	p->acked_irq = 7;
	if (n < 0)
		return (uint8_t)(m->vector_base + 7);
	chip_ack(m, (unsigned)n);
	p->acked_irq = (uint8_t)n;
	if (n != CASCADE_IRQ || m->single)
		return (uint8_t)(m->vector_base + n);

	int sn = deliverable(s, false);
	if (sn < 0) {
		vec = (uint8_t)(s->vector_base + 7);
		p->acked_irq = 15;
	} else {
		chip_ack(s, (unsigned)sn);
		vec = (uint8_t)(s->vector_base + sn);
		p->acked_irq = (uint8_t)(8 + sn);
	}
	/* The slave drops INT during INTA; if it still has something to
	 * deliver afterwards that is a fresh edge on the master's IR2. */
	chip_line(m, CASCADE_IRQ, false);
	update_cascade(p);
	return vec;
}

/* OCW3 poll: the read acts as an acknowledge and reports the level. */
static uint8_t chip_poll(struct pic *p, unsigned which)
{
	struct pic_chip *c = &p->chip[which];
	int n = deliverable(c, which == MASTER);

	if (n < 0)
		return 0;
	chip_ack(c, (unsigned)n);
	if (which == SLAVE) {
		chip_line(&p->chip[MASTER], CASCADE_IRQ, false);
		update_cascade(p);
	}
	return (uint8_t)(0x80 | n);
}

static void chip_icw1(struct pic_chip *c, uint8_t val)
{
	/* Initialisation clears the mask, the nesting state and every ICW4
	 * feature; edge requests need a new rising edge afterwards, while a
	 * level-triggered line that is still high requests again at once. */
	c->irr = c->last_level & c->elcr;
	c->isr = 0;
	c->imr = 0;
	c->priority_add = 0;
	c->special_mask = 0;
	c->read_isr = 0;
	c->poll = 0;
	c->auto_eoi = 0;
	c->rotate_on_aeoi = 0;
	c->sfnm = 0;
	c->icw4_needed = val & 1;
	c->single = (val >> 1) & 1;
	c->icw_step = 2;
}

static void chip_ocw2(struct pic_chip *c, uint8_t val)
{
	unsigned level = val & 7;
	unsigned top;

	switch (val >> 5) {
	case 0: /* clear rotate in auto-EOI */
		c->rotate_on_aeoi = 0;
		break;
	case 4: /* set rotate in auto-EOI */
		c->rotate_on_aeoi = 1;
		break;
	case 1: /* non-specific EOI */
	case 5: /* rotate on non-specific EOI */
		top = best_priority(c, c->isr);
		if (top == 8)
			break;
		level = (top + c->priority_add) & 7;
		c->isr &= (uint8_t)~(1u << level);
		if (val >> 5 == 5)
			c->priority_add = (uint8_t)((level + 1) & 7);
		break;
	case 3: /* specific EOI */
		c->isr &= (uint8_t)~(1u << level);
		break;
	case 7: /* rotate on specific EOI */
		c->isr &= (uint8_t)~(1u << level);
		c->priority_add = (uint8_t)((level + 1) & 7);
		break;
	case 6: /* set priority: `level` becomes the lowest */
		c->priority_add = (uint8_t)((level + 1) & 7);
		break;
	default: /* 2: no operation */
		break;
	}
}

static uint8_t pic_read_byte(struct pic *p, uint16_t port)
{
	unsigned which;

	switch (port) {
	case 0x4d0:
	case 0x4d1:
		return p->chip[port & 1].elcr;
	case 0x20: case 0x21: which = MASTER; break;
	case 0xa0: case 0xa1: which = SLAVE; break;
	default: return 0xff;
	}
	struct pic_chip *c = &p->chip[which];
	if (c->poll) {
		c->poll = 0;
		return chip_poll(p, which);
	}
	if (port & 1)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}

static void pic_write_byte(struct pic *p, uint16_t port, uint8_t val)
{
	unsigned which;

	switch (port) {
	case 0x4d0:
	case 0x4d1: {
		struct pic_chip *c = &p->chip[port & 1];
		c->elcr = val & c->elcr_mask;
		/* Lines switched to level mode request exactly while high. */
		c->irr = (uint8_t)((c->irr & ~c->elcr) | (c->last_level & c->elcr));
		update_cascade(p);
		return;
	}
	case 0x20: case 0x21: which = MASTER; break;
	case 0xa0: case 0xa1: which = SLAVE; break;
	default: return;
	}
	struct pic_chip *c = &p->chip[which];
	if (!(port & 1)) {
		if (val & 0x10)
			chip_icw1(c, val);
		else if (val & 0x08) {
			if (val & 0x04)
				c->poll = 1;
			if (val & 0x02)
				c->read_isr = val & 1;
			if (val & 0x40)
				c->special_mask = (val >> 5) & 1;
		} else {
			chip_ocw2(c, val);
		}
	} else {
		switch (c->icw_step) {
		case 2:
			c->vector_base = val & 0xf8;
			c->icw_step = c->single ? (c->icw4_needed ? 4 : 0) : 3;
			break;
		case 3:
			/* Cascade wiring is fixed on a PC: IR2 to the slave. */
			c->icw_step = c->icw4_needed ? 4 : 0;
			break;
		case 4:
			c->auto_eoi = (val >> 1) & 1;
			c->sfnm = (val >> 4) & 1;
			c->icw_step = 0;
			break;
		default:
			c->imr = val;
			break;
		}
	}
	update_cascade(p);
}

/* Wider accesses are taken as byte accesses to consecutive ports, as the
 * ISA bus would split them. */
static uint32_t pic_io_read(void *opaque, uint16_t port, unsigned size)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < size && i < 4; i++)
		v |= (uint32_t)pic_read_byte(opaque, (uint16_t)(port + i)) << (8 * i);
	return v;
}

static void pic_io_write(void *opaque, uint16_t port, unsigned size, uint32_t val)
{
	for (unsigned i = 0; i < size && i < 4; i++)
		pic_write_byte(opaque, (uint16_t)(port + i), (uint8_t)(val >> (8 * i)));
}

int pic_attach(struct pic *p, struct io_bus *bus)
{
	if (io_register(bus, "pic", 0x20, 2, pic_io_read, pic_io_write, p, &p->io) ||
	    io_register(bus, "pic", 0xa0, 2, pic_io_read, pic_io_write, p, &p->io) ||
	    io_register(bus, "pic", 0x4d0, 2, pic_io_read, pic_io_write, p, &p->io))
		return -1;
	return 0;
}
