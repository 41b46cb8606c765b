/* The ACPI power-management registers of -machine pc, at the ports QEMU's
 * PIIX4 puts them (the FADT names them): the PM1a event block at 0x600
 * (PM1_STS, PM1_EN), the PM1a control block at 0x604 (SCI_EN reads 1: the
 * machine is always in ACPI mode; SLP_EN powers off) and the 24-bit PM
 * timer at 0x608, 3.579545 MHz on the virtual clock. TMR_STS is set at
 * every change of the timer's bit 23; with TMR_EN it raises the SCI (IRQ
 * 9), level, until cleared. Pure state: time is passed in. */
#ifndef ACPI_PM_H
#define ACPI_PM_H
#include <stdint.h>
#include <stdbool.h>
#include "devices.h"

#define ACPI_PM_BASE     0x600u
#define ACPI_PM_LEN      12u
#define ACPI_PM_TMR_HZ   3579545u
#define ACPI_PM_SCI_IRQ  9u

#define ACPI_PM1_TMR_STS 0x0001u
#define ACPI_PM1_TMR_EN  0x0001u
#define ACPI_PM1_SCI_EN  0x0001u
#define ACPI_PM1_SLP_EN  0x2000u

struct acpi_pm {
	uint16_t sts, en, cnt;
	uint64_t seen;                 /* timer ticks when TMR_STS was last brought up to date */
	struct pic *pic;
	void (*off)(const char *why);
	/* A new deadline for the overflow timer (UINT64_MAX: none). */
	void (*deadline)(void *opaque, uint64_t ns);
	uint64_t (*now)(void *opaque);
	void *opaque;
	bool sci;
	stat_counter io, sci_edges;
};

void acpi_pm_init(struct acpi_pm *a, struct pic *pic, void (*off)(const char *why),
		  uint64_t (*now)(void *), void (*deadline)(void *, uint64_t), void *opaque);
void acpi_pm_reset(struct acpi_pm *a);
int acpi_pm_attach(struct acpi_pm *a, struct io_bus *bus);
/* The timer's ticks at guest time `ns` (the register holds the low 24
 * bits), and the guest time of tick `t` (rounded up). */
uint64_t acpi_pm_ticks(uint64_t ns);
uint64_t acpi_pm_ns(uint64_t t);
/* The overflow timer fired (at guest time `now`). */
void acpi_pm_advance(struct acpi_pm *a, uint64_t now);

#endif
