/* The ACPI tables of -machine pc (ACPI 1.0, as a PIIX4 PC's firmware
 * leaves them), in the BIOS area beside the MP table: the RSDP (found by
 * the usual scan of 0xE0000-0xFFFFF), an RSDT naming the FADT and the
 * MADT, the FADT with the PM registers of devices/acpi_pm.h (no SMI
 * command port: always in ACPI mode), a FACS, a DSDT whose only object is
 * \_S5 (soft off, SLP_TYP 0), and a MADT with the one CPU, the IOAPIC,
 * IRQ0 on pin 2 and the SCI level-triggered, as QEMU's.
 * Environment: monitor (freestanding); writes guest RAM the board gives. */
#include "vm.h"
#include "devices/acpi_pm.h"

#define RSDP_ADDR 0xF1000u
#define RSDT_ADDR 0xF1020u
#define FACS_ADDR 0xF1080u                 /* 64-byte aligned */
#define FADT_ADDR 0xF10C0u
#define DSDT_ADDR 0xF1140u
#define MADT_ADDR 0xF1180u
#define ACPI_END  0xF1200u

static uint8_t sum(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;
	for (uint32_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return (uint8_t)-s;
}

static void put16(uint8_t *p, uint16_t v) { m_memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { m_memcpy(p, &v, 4); }

/* The 36-byte header every table but the RSDP and FACS starts with; the
 * checksum is filled in by finish(). */
static void header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	m_memset(t, 0, len);
	m_memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	m_memcpy(t + 10, "VMX   ", 6);
	m_memcpy(t + 16, "VMXPC   ", 8);
	put32(t + 24, 1);                    /* OEM revision */
	m_memcpy(t + 28, "VMX ", 4);
	put32(t + 32, 1);
}

static void finish(uint8_t *t, uint32_t len) { t[9] = sum(t, len); }

static void fadt(uint8_t *t)
{
	const uint32_t len = 116;            /* ACPI 1.0 */
	header(t, "FACP", len, 1);
	put32(t + 36, FACS_ADDR);
	put32(t + 40, DSDT_ADDR);
	put16(t + 46, ACPI_PM_SCI_IRQ);
	/* SMI_CMD (48) 0: no mode switch, always ACPI. */
	put32(t + 56, ACPI_PM_BASE);         /* PM1a_EVT_BLK */
	put32(t + 64, ACPI_PM_BASE + 4);     /* PM1a_CNT_BLK */
	put32(t + 76, ACPI_PM_BASE + 8);     /* PM_TMR_BLK */
	t[88] = 4;                           /* PM1_EVT_LEN */
	t[89] = 2;                           /* PM1_CNT_LEN */
	t[91] = 4;                           /* PM_TMR_LEN */
	put16(t + 96, 0xfff);                /* no C2 */
	put16(t + 98, 0xfff);                /* no C3 */
	/* WBINVD, C1 supported, power and sleep buttons not fixed features;
	 * TMR_VAL_EXT clear: the timer has 24 bits. */
	put32(t + 112, (1u << 0) | (1u << 2) | (1u << 4) | (1u << 5));
	finish(t, len);
}

static void dsdt(uint8_t *t)
{
	/* Name (_S5, Package (4) { 0, 0, 0, 0 }) */
	static const uint8_t aml[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00 };
	uint32_t len = 36 + sizeof(aml);
	header(t, "DSDT", len, 1);
	m_memcpy(t + 36, aml, sizeof(aml));
	finish(t, len);
}

static void madt(uint8_t *t, uint32_t ioapic_id)
{
	uint8_t e[64];
	uint32_t n = 0;
	/* The CPU: ACPI id 0, APIC id 0, enabled. */
	e[n++] = 0; e[n++] = 8; e[n++] = 0; e[n++] = 0; put32(e + n, 1); n += 4;
	/* The IOAPIC, its pins from GSI 0. */
	e[n++] = 1; e[n++] = 12; e[n++] = (uint8_t)ioapic_id; e[n++] = 0;
	put32(e + n, IOAPIC_BASE); n += 4; put32(e + n, 0); n += 4;
	/* ISA IRQ0 on GSI 2 (bus-conforming), the SCI (IRQ 9) active high, level. */
	e[n++] = 2; e[n++] = 10; e[n++] = 0; e[n++] = 0; put32(e + n, 2); n += 4; put16(e + n, 0); n += 2;
	e[n++] = 2; e[n++] = 10; e[n++] = 0; e[n++] = ACPI_PM_SCI_IRQ; put32(e + n, ACPI_PM_SCI_IRQ); n += 4;
	put16(e + n, 0x000d); n += 2;
	/* NMI on LINT1 of every CPU. */
	e[n++] = 4; e[n++] = 6; e[n++] = 0xff; put16(e + n, 0); n += 2; e[n++] = 1;
	uint32_t len = 44 + n;
	header(t, "APIC", len, 1);
	put32(t + 36, LAPIC_DEFAULT_BASE);
	put32(t + 40, 1);                    /* PCAT_COMPAT: the i8259 pair is there */
	m_memcpy(t + 44, e, n);
	finish(t, len);
}

void acpi_tables_write(uint8_t *ram, uint32_t ram_size, uint32_t ioapic_id)
{
	if (ram_size < ACPI_END)
		return;
	uint8_t *facs = ram + FACS_ADDR;
	m_memset(facs, 0, 64);
	m_memcpy(facs, "FACS", 4);
	put32(facs + 4, 64);
	fadt(ram + FADT_ADDR);
	dsdt(ram + DSDT_ADDR);
	madt(ram + MADT_ADDR, ioapic_id);
	uint8_t *rsdt = ram + RSDT_ADDR;
	header(rsdt, "RSDT", 44, 1);
	put32(rsdt + 36, FADT_ADDR);
	put32(rsdt + 40, MADT_ADDR);
	finish(rsdt, 44);
	uint8_t *rsdp = ram + RSDP_ADDR;
	m_memset(rsdp, 0, 20);
	m_memcpy(rsdp, "RSD PTR ", 8);
	m_memcpy(rsdp + 9, "VMX   ", 6);
	put32(rsdp + 16, RSDT_ADDR);         /* revision 0: ACPI 1.0 */
	rsdp[8] = sum(rsdp, 20);
}
