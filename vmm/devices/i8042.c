/* The i8042 keyboard controller as QEMU's PC has it: the command byte
 * (CTR), self and interface tests, port enable bits, loop-back writes, the
 * output port with its reset line, and the PS/2 keyboard and mouse behind
 * it, which answer commands as QEMU's do but never send input. Linux's
 * i8042 probe and atkbd's detection depend on these answers. */
#include "i8042.h"

#define ST_OBF      0x01
#define ST_SYS      0x04   /* set by a passed self test */
#define ST_CMD      0x08   /* QEMU reports it always set, as it does UNLOCKED */
#define ST_UNLOCKED 0x10
#define ST_AUXOBF   0x20

#define CTR_KBDINT  0x01
#define CTR_AUXINT  0x02
#define CTR_KBDDIS  0x10
#define CTR_AUXDIS  0x20
#define CTR_XLATE   0x40

#define ACK 0xfa
#define RESEND 0xfe

static void q_put(struct i8042_queue *q, uint8_t b, bool aux)
{
	if (q->count == I8042_QUEUE)
		return;   /* a device with a full buffer drops bytes, as hardware does */
	unsigned i = (q->head + q->count++) % I8042_QUEUE;
	q->b[i] = b;
	q->aux[i] = aux;
}

static bool q_get(struct i8042_queue *q, uint8_t *b, bool *aux)
{
	if (!q->count)
		return false;
	*b = q->b[q->head];
	*aux = q->aux[q->head];
	q->head = (q->head + 1) % I8042_QUEUE;
	q->count--;
	return true;
}

/* The interrupt lines follow the output buffer (level, as on the PC's
 * i8042); a read of 0x60 drops them first so the next byte gives a new
 * edge to the edge-triggered PIC. */
static void update(struct i8042 *k)
{
	if (!k->out_full) {
		bool aux = false;
		uint8_t b;
		bool from_kbd = false;
		if (q_get(&k->ctl, &b, &aux) ||
		    (!(k->ctr & CTR_KBDDIS) && (from_kbd = q_get(&k->kbd.q, &b, &aux))) ||
		    (!(k->ctr & CTR_AUXDIS) && q_get(&k->aux.q, &b, &aux))) {
			k->out = b;
			k->out_full = true;
			k->out_aux = aux;
			k->out_kbd = from_kbd;
		}
	}
	if (!k->pic)
		return;
	pic_set_irq(k->pic, 1, k->out_full && !k->out_aux && (k->ctr & CTR_KBDINT));
	pic_set_irq(k->pic, 12, k->out_full && k->out_aux && (k->ctr & CTR_AUXINT));
}

static void reply(struct i8042 *k, uint8_t b, bool aux)
{
	q_put(&k->ctl, b, aux);
}

/* Scan-code set numbers as they read through the controller's translation. */
static uint8_t translated(const struct i8042 *k, uint8_t v)
{
	static const uint8_t xlat[4] = { 0xff, 0x43, 0x41, 0x3f };
	return (k->ctr & CTR_XLATE) && v < 4 ? xlat[v] : v;
}

static void kbd_write(struct i8042 *k, uint8_t v)
{
	struct ps2_device *d = &k->kbd;
	struct i8042_queue *q = &d->q;
	/* The keyboard drops what the host has not read yet when it gets a
	 * byte (QEMU's does; measured: ED 00 written back to back read FA). */
	q->count = 0;
	if (k->out_full && k->out_kbd)
		k->out_full = false;
	if (d->pending) {
		uint8_t cmd = d->pending;
		d->pending = 0;
		q_put(q, ACK, false);
		if (cmd == 0xf0) {
			if (v == 0)
				q_put(q, translated(k, d->scancode_set), false);
			else if (v <= 3)
				d->scancode_set = v;
		}
		return;
	}
	switch (v) {
	case 0xee:                       /* echo */
		q_put(q, 0xee, false);
		break;
	case 0xed: case 0xf3: case 0xf0: /* LEDs, typematic rate, scan-code set: an argument follows */
		d->pending = v;
		q_put(q, ACK, false);
		break;
	case 0xf2:                       /* identify: an MF2 keyboard */
		q_put(q, ACK, false);
		q_put(q, 0xab, false);
		q_put(q, (k->ctr & CTR_XLATE) ? 0x41 : 0x83, false);
		break;
	case 0xf4:
		d->enabled = true;
		q_put(q, ACK, false);
		break;
	case 0xf5:
		d->enabled = false;
		d->scancode_set = 2;
		q_put(q, ACK, false);
		break;
	case 0xf6:
		d->scancode_set = 2;
		q_put(q, ACK, false);
		break;
	case 0xff:                       /* reset: self test passed */
		d->enabled = true;
		d->scancode_set = 2;
		q_put(q, ACK, false);
		q_put(q, 0xaa, false);
		break;
	default:
		q_put(q, RESEND, false);
		break;
	}
}

static void aux_write(struct i8042 *k, uint8_t v)
{
	struct ps2_device *d = &k->aux;
	struct i8042_queue *q = &d->q;
	if (d->pending) {
		if (d->pending == 0xf3)
			d->rate = v;
		else
			d->resolution = v;
		d->pending = 0;
		q_put(q, ACK, true);
		return;
	}
	switch (v) {
	case 0xe8: case 0xf3:            /* resolution, sample rate: an argument follows */
		d->pending = v;
		q_put(q, ACK, true);
		break;
	case 0xe9:                       /* status: flags, resolution, rate */
		q_put(q, ACK, true);
		q_put(q, d->enabled ? 0x20 : 0x00, true);
		q_put(q, d->resolution, true);
		q_put(q, d->rate, true);
		break;
	case 0xf2:                       /* identify: a plain PS/2 mouse */
		q_put(q, ACK, true);
		q_put(q, 0x00, true);
		break;
	case 0xf4: case 0xf5:
		d->enabled = v == 0xf4;
		q_put(q, ACK, true);
		break;
	case 0xe6: case 0xe7: case 0xea: case 0xf0: case 0xeb:
		q_put(q, ACK, true);
		break;
	case 0xf6:
		d->rate = 100;
		d->resolution = 2;
		q_put(q, ACK, true);
		break;
	case 0xff:
		d->enabled = false;
		d->rate = 100;
		d->resolution = 2;
		q_put(q, ACK, true);
		q_put(q, 0xaa, true);
		q_put(q, 0x00, true);
		break;
	default:
		q_put(q, RESEND, true);
		break;
	}
}

static void set_outport(struct i8042 *k, uint8_t v)
{
	k->outport = v;
	if (!(v & 1) && k->off)
		k->off("the guest reset the machine through the keyboard controller");
}

static void command(struct i8042 *k, uint8_t c)
{
	switch (c) {
	case 0x20:
		reply(k, k->ctr, false);
		break;
	case 0x60: case 0xd1: case 0xd2: case 0xd3: case 0xd4:
		k->pending = c;
		break;
	case 0xa7: k->ctr |= CTR_AUXDIS; break;
	case 0xa8: k->ctr &= (uint8_t)~CTR_AUXDIS; break;
	case 0xad: k->ctr |= CTR_KBDDIS; break;
	case 0xae: k->ctr &= (uint8_t)~CTR_KBDDIS; break;
	case 0xa9: case 0xab:            /* interface tests: no clock or data line stuck */
		reply(k, 0x00, false);
		break;
	case 0xaa:
		k->self_tested = true;
		reply(k, 0x55, false);
		break;
	case 0xc0:                       /* input port: keyboard not inhibited */
		reply(k, 0x80, false);
		break;
	case 0xd0:
		reply(k, k->outport, false);
		break;
	default:
		/* 0xF0-0xFF pulse the output port's low lines; bit 0 is reset. */
		if ((c & 0xf0) == 0xf0 && !(c & 1) && k->off)
			k->off("the guest reset the machine through the keyboard controller");
		break;
	}
}

static void data(struct i8042 *k, uint8_t v)
{
	uint8_t c = k->pending;
	k->pending = 0;
	switch (c) {
	case 0x60: k->ctr = v; break;
	case 0xd1: set_outport(k, v); break;
	case 0xd2: reply(k, v, false); break;
	case 0xd3: reply(k, v, true); break;
	case 0xd4: aux_write(k, v); break;
	default:
		/* A write to the keyboard enables its interface, as on the i8042. */
		k->ctr &= (uint8_t)~CTR_KBDDIS;
		kbd_write(k, v);
		break;
	}
}

static uint32_t i8042_read(void *opaque, uint16_t port, unsigned size)
{
	struct i8042 *k = opaque;
	(void)size;
	if (port == 0x64)
		return ST_CMD | ST_UNLOCKED | (k->self_tested ? ST_SYS : 0) |
		       (k->out_full ? ST_OBF : 0) | (k->out_full && k->out_aux ? ST_AUXOBF : 0);
	uint8_t v = k->out;   /* an empty buffer reads its last byte again */
	k->out_full = false;
	if (k->pic) {
		pic_set_irq(k->pic, 1, false);
		pic_set_irq(k->pic, 12, false);
	}
	update(k);
	return v;
}

static void i8042_write(void *opaque, uint16_t port, unsigned size, uint32_t val)
{
	struct i8042 *k = opaque;
	(void)size;
	if (port == 0x64)
		command(k, (uint8_t)val);
	else
		data(k, (uint8_t)val);
	update(k);
}

static void ps2_reset(struct ps2_device *d)
{
	*d = (struct ps2_device){ .scancode_set = 2, .rate = 100, .resolution = 2 };
}

void i8042_reset(struct i8042 *k)
{
	k->ctr = CTR_KBDINT | CTR_AUXINT;
	k->outport = 0xcf;
	k->self_tested = false;
	k->pending = 0;
	k->out = 0;
	k->out_full = k->out_aux = false;
	k->ctl = (struct i8042_queue){ 0 };
	ps2_reset(&k->kbd);
	ps2_reset(&k->aux);
	k->kbd.enabled = true;
	update(k);
}

void i8042_init(struct i8042 *k, struct pic *pic, void (*off)(const char *why))
{
	k->pic = pic;
	k->off = off;
	k->io = (stat_counter){ "dev.i8042.io", 0 };
	stats_register(&k->io);
	i8042_reset(k);
}

int i8042_attach(struct i8042 *k, struct io_bus *bus)
{
	if (io_register(bus, "i8042", 0x60, 1, i8042_read, i8042_write, k, &k->io))
		return -1;
	return io_register(bus, "i8042", 0x64, 1, i8042_read, i8042_write, k, &k->io);
}
