/* The I/O APIC (see ioapic.h): its register window, the redirection table
 * and when a pin sends an interrupt message.
 * Environment: monitor (freestanding), pure state; no time of its own. */
#include "ioapic.h"
#include "mmio.h"

/* Bits the guest may write: vector, delivery and destination modes,
 * polarity, trigger, mask, destination. Delivery status and remote IRR
 * are the IOAPIC's. */
#define RTE_WRITABLE 0xff0000000001afffull

static void send(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->rte[pin];
	struct ioapic_msg m = {
		.vector = (uint8_t)e, .delivery_mode = (uint8_t)((e >> IOAPIC_RTE_DM_SHIFT) & 7),
		.dest = (uint8_t)(e >> 56), .logical = e & IOAPIC_RTE_LOGICAL, .level = e & IOAPIC_RTE_LEVEL,
	};
	if (m.level)
		io->rte[pin] |= IOAPIC_RTE_REMOTE_IRR;
	stat_inc(&io->irqs);
	io->deliver(io->opaque, &m);
}

/* A level pin that is high, unmasked and not waiting for its EOI sends. */
static void check_level(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->rte[pin];
	if ((e & IOAPIC_RTE_LEVEL) && (io->lines & (1u << pin)) &&
	    !(e & (IOAPIC_RTE_MASKED | IOAPIC_RTE_REMOTE_IRR)))
		send(io, pin);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level)
{
	if (pin >= IOAPIC_PINS)
		return;
	uint32_t bit = 1u << pin;
	bool rose = level && !(io->lines & bit);
	io->lines = level ? io->lines | bit : io->lines & ~bit;
	uint64_t e = io->rte[pin];
	if (e & IOAPIC_RTE_LEVEL)
		check_level(io, pin);
	else if (rose && !(e & IOAPIC_RTE_MASKED))
		send(io, pin);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		if ((io->rte[pin] & IOAPIC_RTE_REMOTE_IRR) && (uint8_t)io->rte[pin] == vector) {
			io->rte[pin] &= ~(uint64_t)IOAPIC_RTE_REMOTE_IRR;
			check_level(io, pin);
		}
}

uint32_t ioapic_read(struct ioapic *io, uint32_t off)
{
	if (off == 0)
		return io->regsel;
	if (off != 0x10)
		return 0;
	uint32_t r = io->regsel & 0xff;
	switch (r) {
	case 0: return (uint32_t)io->id << 24;
	case 1: return IOAPIC_VERSION;
	case 2: return (uint32_t)io->id << 24;   /* arbitration id */
	default: break;
	}
	if (r >= 0x10 && r < 0x10 + 2 * IOAPIC_PINS) {
		uint64_t e = io->rte[(r - 0x10) >> 1];
		return (r & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
	}
	return 0;
}

void ioapic_write(struct ioapic *io, uint32_t off, uint32_t val)
{
	if (off == 0) {
		io->regsel = val & 0xff;
		return;
	}
	if (off != 0x10)
		return;
	uint32_t r = io->regsel & 0xff;
	if (r == 0) {
		io->id = (uint8_t)((val >> 24) & 0xf);
		return;
	}
	if (r < 0x10 || r >= 0x10 + 2 * IOAPIC_PINS)
		return;
	unsigned pin = (r - 0x10) >> 1;
	uint64_t e = io->rte[pin];
	uint64_t v = (r & 1) ? ((uint64_t)val << 32) | (uint32_t)e : (e & 0xffffffff00000000ull) | val;
	io->rte[pin] = (v & RTE_WRITABLE) | (e & IOAPIC_RTE_REMOTE_IRR);
	/* An edge pin forgets a remote IRR it could not have had. */
	if (!(io->rte[pin] & IOAPIC_RTE_LEVEL))
		io->rte[pin] &= ~(uint64_t)IOAPIC_RTE_REMOTE_IRR;
	check_level(io, pin);
}

static uint32_t mmio_rd(void *opaque, uint32_t off, unsigned size)
{
	struct ioapic *io = opaque;
	stat_inc(&io->mmio);
	uint32_t v = ioapic_read(io, off & ~3u) >> (8 * (off & 3));
	return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void mmio_wr(void *opaque, uint32_t off, unsigned size, uint32_t val)
{
	struct ioapic *io = opaque;
	stat_inc(&io->mmio);
	if (size == 4 && !(off & 3))
		ioapic_write(io, off, val);
	else if (off == 0)
		ioapic_write(io, 0, val & 0xff);    /* byte writes of IOREGSEL */
}

void ioapic_init(struct ioapic *io, void (*deliver)(void *opaque, const struct ioapic_msg *m), void *opaque)
{
	*io = (struct ioapic){ 0 };
	io->deliver = deliver;
	io->opaque = opaque;
	io->mmio.name = "mmu.mmio.ioapic";
	io->irqs.name = "dev.ioapic.irqs";
	stats_register(&io->mmio);
	stats_register(&io->irqs);
	ioapic_reset(io);
}

void ioapic_reset(struct ioapic *io)
{
	io->regsel = 0;
	io->id = 0;
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		io->rte[i] = IOAPIC_RTE_MASKED;
}

int ioapic_attach(struct ioapic *io)
{
	struct mmio_region r = { .base = IOAPIC_BASE, .len = IOAPIC_MMIO_LEN, .read = mmio_rd,
				 .write = mmio_wr, .opaque = io };
	return mmio_register(&r);
}
