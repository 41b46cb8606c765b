/* The ACPI PM1 event and control registers and the PM timer of -machine
 * pc (acpi_pm.h). The registers are byte-addressed: a wider access is its
 * bytes in turn, as the PIIX4 decodes them.
 * Environment: monitor (freestanding); time through the `now` callback. */
#include "acpi_pm.h"

#define NS_PER_S 1000000000ull
#define TMR_MASK 0xffffffu
#define STS_BITS 0x8731u     /* TMR, BM, GBL, PWRBTN, SLPBTN, RTC, WAK */
#define EN_BITS  0x0721u     /* TMR, GBL, PWRBTN, SLPBTN, RTC */
#define CNT_BITS 0x1c06u     /* BM_RLD, GBL_RLS, SLP_TYP (SCI_EN reads 1) */

uint64_t acpi_pm_ticks(uint64_t ns)
{
	return ns / NS_PER_S * ACPI_PM_TMR_HZ + ns % NS_PER_S * ACPI_PM_TMR_HZ / NS_PER_S;
}

uint64_t acpi_pm_ns(uint64_t t)
{
	return t / ACPI_PM_TMR_HZ * NS_PER_S + (t % ACPI_PM_TMR_HZ * NS_PER_S + ACPI_PM_TMR_HZ - 1) / ACPI_PM_TMR_HZ;
}

/* TMR_STS catches up with the timer; the SCI follows status and enables,
 * and the overflow timer runs while TMR_EN is set. */
static void update(struct acpi_pm *a, uint64_t now)
{
	uint64_t t = acpi_pm_ticks(now);
	if ((t >> 23) != (a->seen >> 23))
		a->sts |= ACPI_PM1_TMR_STS;
	a->seen = t;
	bool sci = (a->sts & a->en & EN_BITS) != 0;
	if (sci != a->sci) {
		a->sci = sci;
		if (sci)
			stat_inc(&a->sci_edges);
		pic_set_irq(a->pic, ACPI_PM_SCI_IRQ, sci);
	}
	if (a->deadline)
		a->deadline(a->opaque, (a->en & ACPI_PM1_TMR_EN) ? acpi_pm_ns(((t >> 23) + 1) << 23) : UINT64_MAX);
}

void acpi_pm_advance(struct acpi_pm *a, uint64_t now)
{
	update(a, now);
}

void acpi_pm_init(struct acpi_pm *a, struct pic *pic, void (*off)(const char *why),
		  uint64_t (*now)(void *), void (*deadline)(void *, uint64_t), void *opaque)
{
	*a = (struct acpi_pm){ .pic = pic, .off = off, .now = now, .deadline = deadline, .opaque = opaque,
			       .io = { "dev.acpi_pm.io", 0 }, .sci_edges = { "dev.acpi_pm.sci", 0 } };
}

void acpi_pm_reset(struct acpi_pm *a)
{
	a->sts = a->en = a->cnt = 0;
	a->seen = acpi_pm_ticks(a->now(a->opaque));
	a->sci = false;
	pic_set_irq(a->pic, ACPI_PM_SCI_IRQ, false);
	if (a->deadline)
		a->deadline(a->opaque, UINT64_MAX);
}

static uint8_t read_byte(struct acpi_pm *a, unsigned off, uint64_t t)
{
	switch (off) {
	case 0: case 1: return (uint8_t)(a->sts >> (8 * off));
	case 2: case 3: return (uint8_t)(a->en >> (8 * (off - 2)));
	case 4: return (uint8_t)(a->cnt | ACPI_PM1_SCI_EN);
	case 5: return (uint8_t)(a->cnt >> 8);
	case 8: case 9: case 10: return (uint8_t)((t & TMR_MASK) >> (8 * (off - 8)));
	default: return 0;
	}
}

static uint32_t pm_read(void *opaque, uint16_t port, unsigned size)
{
	struct acpi_pm *a = opaque;
	uint64_t now = a->now(a->opaque);
	update(a, now);
	uint64_t t = acpi_pm_ticks(now);
	uint32_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)read_byte(a, port - ACPI_PM_BASE + i, t) << (8 * i);
	return v;
}

static void pm_write(void *opaque, uint16_t port, unsigned size, uint32_t val)
{
	struct acpi_pm *a = opaque;
	uint64_t now = a->now(a->opaque);
	update(a, now);
	for (unsigned i = 0; i < size; i++) {
		unsigned off = port - ACPI_PM_BASE + i;
		uint16_t b = (uint16_t)((val >> (8 * i)) & 0xff);
		uint16_t lo = (off & 1) ? (uint16_t)(b << 8) : b;
		uint16_t mask = (off & 1) ? 0xff00u : 0x00ffu;
		switch (off) {
		case 0: case 1:
			a->sts &= (uint16_t)~(lo & STS_BITS);           /* write 1 to clear */
			break;
		case 2: case 3:
			a->en = (uint16_t)((a->en & ~mask) | (lo & EN_BITS));
			break;
		case 4: case 5:
			a->cnt = (uint16_t)((a->cnt & ~mask) | (lo & CNT_BITS));
			if ((lo & ACPI_PM1_SLP_EN) && a->off)
				a->off("the guest powered the machine off (ACPI)");
			break;
		default:
			break;                                         /* the timer is read-only */
		}
	}
	update(a, now);
}

int acpi_pm_attach(struct acpi_pm *a, struct io_bus *bus)
{
	stats_register(&a->io);
	stats_register(&a->sci_edges);
	return io_register(bus, "acpi_pm", ACPI_PM_BASE, ACPI_PM_LEN, pm_read, pm_write, a, &a->io);
}
