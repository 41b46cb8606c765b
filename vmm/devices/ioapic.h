/* The I/O APIC of -machine pc (82093AA-style, version 0x20 with 24 pins,
 * as QEMU's): the IOREGSEL/IOWIN window, the redirection table, edge and
 * level pins with masking and remote IRR. It hands each interrupt message
 * to the board, which passes it to the local APIC. */
#ifndef IOAPIC_H
#define IOAPIC_H
#include <stdint.h>
#include <stdbool.h>
#include "stats.h"

#define IOAPIC_BASE     0xFEC00000u
#define IOAPIC_MMIO_LEN 0x1000u
#define IOAPIC_PINS     24u
#define IOAPIC_VERSION  0x00170020u     /* version 0x20, max redirection entry 23 */

/* Redirection entry bits (low dword; the destination is bits 56-63). */
#define IOAPIC_RTE_DM_SHIFT   8
#define IOAPIC_RTE_LOGICAL    (1u << 11)
#define IOAPIC_RTE_REMOTE_IRR (1u << 14)
#define IOAPIC_RTE_LEVEL      (1u << 15)
#define IOAPIC_RTE_MASKED     (1u << 16)

struct ioapic_msg {
	uint8_t vector, delivery_mode, dest;
	bool logical, level;
};

struct ioapic {
	uint32_t regsel;
	uint8_t id;
	uint64_t rte[IOAPIC_PINS];
	uint32_t lines;                     /* pin levels as last set */
	void (*deliver)(void *opaque, const struct ioapic_msg *m);
	void *opaque;
	stat_counter mmio, irqs;
};

void ioapic_init(struct ioapic *io, void (*deliver)(void *opaque, const struct ioapic_msg *m), void *opaque);
/* Power-on: every pin masked, edge, vector 0. */
void ioapic_reset(struct ioapic *io);
int ioapic_attach(struct ioapic *io);
/* The 32-bit window registers at offset 0x00 (IOREGSEL) and 0x10 (IOWIN). */
uint32_t ioapic_read(struct ioapic *io, uint32_t off);
void ioapic_write(struct ioapic *io, uint32_t off, uint32_t val);
/* A pin's line: an edge pin sends on 0->1; a level pin sends while high
 * and its remote IRR is clear. Counted in dev.ioapic.irqs. */
void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level);
/* The local APIC's EOI of a level-triggered vector: remote IRR clears,
 * and a pin still high sends again. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

#endif
