/* The Intel MP table of -machine pc (MP spec 1.4): the floating pointer
 * and the configuration table the firmware leaves in the BIOS area, naming
 * one CPU, the ISA bus, the IOAPIC and how the ISA interrupts reach it
 * (IRQ0 on pin 2, as on QEMU's PC), so kernels find the APICs.
 * Environment: monitor (freestanding); writes guest RAM the board gives. */
#include "vm.h"
#include "devices/ioapic.h"

#define MP_FLOAT_ADDR 0xF0000u            /* BIOS area: scanned by every kernel */
#define MP_TABLE_ADDR (MP_FLOAT_ADDR + 16)
#define MP_IOAPIC_ID  1u                  /* not the CPU's 0 */

struct mpt {
	uint8_t *p;
	uint32_t len;
	uint16_t entries;
};

static void put(struct mpt *t, const void *src, uint32_t n)
{
	m_memcpy(t->p + t->len, src, n);
	t->len += n;
}
static void put8(struct mpt *t, uint8_t v) { put(t, &v, 1); }
static void put16(struct mpt *t, uint16_t v) { put(t, &v, 2); }
static void put32(struct mpt *t, uint32_t v) { put(t, &v, 4); }

static uint8_t checksum(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;
	for (uint32_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return (uint8_t)-s;
}

/* Interrupt entries (type 3 I/O, type 4 local): conforming polarity and
 * trigger, as the ISA bus's are. */
static void intsrc(struct mpt *t, uint8_t type, uint8_t kind, uint8_t bus_irq, uint8_t dest, uint8_t pin)
{
	put8(t, type); put8(t, kind); put16(t, 0); put8(t, 0); put8(t, bus_irq); put8(t, dest); put8(t, pin);
	t->entries++;
}

uint32_t mptable_ioapic_id(void)
{
	return MP_IOAPIC_ID;
}

void mptable_write(uint8_t *ram, uint32_t ram_size, uint32_t cpuid_edx)
{
	if (ram_size < MP_FLOAT_ADDR + 0x1000)
		return;
	struct mpt t = { ram + MP_TABLE_ADDR, 0, 0 };
	static const char oem[8] = { 'V', 'M', 'X', ' ', ' ', ' ', ' ', ' ' };
	static const char product[12] = { 'V', 'M', 'X', ' ', 'P', 'C', ' ', ' ', ' ', ' ', ' ', ' ' };
	static const char isa[6] = { 'I', 'S', 'A', ' ', ' ', ' ' };
	put(&t, "PCMP", 4); put16(&t, 0); put8(&t, 4); put8(&t, 0);
	put(&t, oem, 8); put(&t, product, 12);
	put32(&t, 0); put16(&t, 0); put16(&t, 0);
	put32(&t, LAPIC_DEFAULT_BASE); put16(&t, 0); put8(&t, 0); put8(&t, 0);
	/* The CPU: enabled, the bootstrap processor. */
	put8(&t, 0); put8(&t, 0); put8(&t, (uint8_t)LAPIC_VERSION); put8(&t, 3);
	put32(&t, CPU_SIGNATURE); put32(&t, cpuid_edx); put32(&t, 0); put32(&t, 0);
	t.entries++;
	put8(&t, 1); put8(&t, 0); put(&t, isa, 6);
	t.entries++;
	put8(&t, 2); put8(&t, MP_IOAPIC_ID); put8(&t, (uint8_t)IOAPIC_VERSION); put8(&t, 1);
	put32(&t, IOAPIC_BASE);
	t.entries++;
	/* ISA IRQs on the pins of their numbers, IRQ0 on pin 2 (where the
	 * cascade would be), IRQ2 absent. */
	for (uint8_t irq = 0; irq < 16; irq++)
		if (irq != 2)
			intsrc(&t, 3, 0, irq, MP_IOAPIC_ID, irq == 0 ? 2 : irq);
	/* LINT0 takes the PIC's ExtINT, LINT1 the NMI, on every CPU. */
	intsrc(&t, 4, 3, 0, 0xff, 0);
	intsrc(&t, 4, 1, 0, 0xff, 1);
	m_memcpy(t.p + 4, &(uint16_t){ (uint16_t)t.len }, 2);
	m_memcpy(t.p + 34, &t.entries, 2);
	t.p[7] = checksum(t.p, t.len);

	uint8_t *f = ram + MP_FLOAT_ADDR;
	for (unsigned i = 0; i < 16; i++)
		f[i] = 0;
	m_memcpy(f, "_MP_", 4);
	uint32_t table = MP_TABLE_ADDR;
	m_memcpy(f + 4, &table, 4);
	f[8] = 1;            /* length in 16-byte units */
	f[9] = 4;            /* spec 1.4 */
	f[10] = checksum(f, 16);
}
