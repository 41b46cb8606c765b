/* The local APIC of the one virtual CPU (xAPIC, version 0x14 with six LVT
 * entries, as QEMU's): its registers, the interrupt priority logic, the
 * LVT timer, the LINT0/LINT1 inputs and self-IPIs. The board connects it
 * to the clock and to the CPU's INTR through `struct lapic_env`. */
#ifndef LAPIC_H
#define LAPIC_H
#include <stdint.h>
#include <stdbool.h>
#include "stats.h"

#define LAPIC_DEFAULT_BASE 0xFEE00000u
#define LAPIC_MMIO_LEN     0x1000u
#define LAPIC_VERSION      0x00050014u   /* version 0x14, max LVT entry 5 */

/* IA32_APIC_BASE (MSR 0x1B) bits. */
#define LAPIC_BASE_BSP     (1u << 8)
#define LAPIC_BASE_ENABLE  (1u << 11)
#define LAPIC_BASE_ADDR    0xFFFFF000u

/* Register offsets in the 4 KiB page. */
enum {
	LAPIC_ID = 0x020, LAPIC_VER = 0x030, LAPIC_TPR = 0x080, LAPIC_APR = 0x090, LAPIC_PPR = 0x0a0,
	LAPIC_EOI = 0x0b0, LAPIC_RRD = 0x0c0, LAPIC_LDR = 0x0d0, LAPIC_DFR = 0x0e0, LAPIC_SVR = 0x0f0,
	LAPIC_ISR = 0x100, LAPIC_TMR = 0x180, LAPIC_IRR = 0x200, LAPIC_ESR = 0x280,
	LAPIC_ICR_LO = 0x300, LAPIC_ICR_HI = 0x310,
	LAPIC_LVT_TIMER = 0x320, LAPIC_LVT_THERMAL = 0x330, LAPIC_LVT_PERF = 0x340,
	LAPIC_LVT_LINT0 = 0x350, LAPIC_LVT_LINT1 = 0x360, LAPIC_LVT_ERROR = 0x370,
	LAPIC_TIMER_ICR = 0x380, LAPIC_TIMER_CCR = 0x390, LAPIC_TIMER_DCR = 0x3e0,
};
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };

#define LAPIC_LVT_MASKED   (1u << 16)
#define LAPIC_LVT_PERIODIC (1u << 17)
#define LAPIC_SVR_ENABLE   (1u << 8)
#define LAPIC_DM_FIXED     0u
#define LAPIC_DM_NMI       4u
#define LAPIC_DM_INIT      5u
#define LAPIC_DM_SIPI      6u
#define LAPIC_DM_EXTINT    7u
/* ESR bits. */
#define LAPIC_ESR_SEND_ILLEGAL    (1u << 5)
#define LAPIC_ESR_RECV_ILLEGAL    (1u << 6)
#define LAPIC_ESR_ILLEGAL_ADDRESS (1u << 7)

struct lapic_env {
	uint64_t (*now)(void *opaque);      /* guest ns, for the timer registers */
	/* The timer's deadline or what the APIC asks of the CPU changed. */
	void (*changed)(void *opaque);
	/* EOI of a level-triggered vector (the IOAPIC's remote IRR). */
	void (*eoi_level)(void *opaque, uint8_t vector);
	void *opaque;
};

struct lapic {
	uint32_t apic_base;                 /* IA32_APIC_BASE as the guest sees it */
	uint8_t id, ldr, dfr;               /* ID, LDR and DFR's top bits */
	uint8_t tpr;
	uint32_t svr, esr, esr_pending, icr_lo, icr_hi;
	uint32_t lvt[LVT_COUNT];
	uint32_t irr[8], isr[8], tmr[8];    /* 256 bits each, vector v at word v/32 */
	uint32_t timer_initial, timer_dcr;
	uint64_t timer_start;               /* ns the current count started from initial */
	uint64_t timer_next;                /* ns of the next expiry; UINT64_MAX: none */
	bool nmi_pending;
	bool attached;                      /* its page is on the MMIO bus */
	uint32_t mapped_base;               /* where, when mapped */
	struct lapic_env env;
	stat_counter mmio, timer_fires, eois, ipis;
};

void lapic_init(struct lapic *l, const struct lapic_env *env);
/* Power-on state: enabled at 0xFEE00000 as the BSP, software-disabled,
 * every LVT masked. */
void lapic_reset(struct lapic *l);
/* Puts the register page on the MMIO bus at the APIC base, and keeps it
 * there as the base moves. */
int lapic_attach(struct lapic *l);

/* 32-bit register access at offset `off` of the page. */
uint32_t lapic_read(struct lapic *l, uint32_t off);
void lapic_write(struct lapic *l, uint32_t off, uint32_t val);
/* IA32_APIC_BASE: false for a value the CPU refuses (#GP). */
uint64_t lapic_get_base(const struct lapic *l);
bool lapic_set_base(struct lapic *l, uint64_t val);

/* Time moved on: a timer expiry that is due raises its interrupt once
 * (periods that ended meanwhile are coalesced into it). */
void lapic_advance(struct lapic *l, uint64_t now);
/* When the timer next expires (guest ns); UINT64_MAX when it does not. */
uint64_t lapic_next_deadline(const struct lapic *l);

/* An interrupt message for `vector` (edge, or level: kept in TMR). */
void lapic_accept(struct lapic *l, uint8_t vector, bool level);
/* A message's destination names this APIC (physical ID or broadcast, or
 * logical in the flat model). */
bool lapic_match_dest(const struct lapic *l, uint8_t dest, bool logical);
/* LINT1's edge (LINT0 is the PIC's INTR, see lapic_extint_open). */
void lapic_lint1(struct lapic *l);
/* The PIC's INTR reaches the CPU: the APIC is globally disabled, or LINT0
 * is an unmasked ExtINT (virtual wire). */
bool lapic_extint_open(const struct lapic *l);
/* A fixed interrupt above the processor priority waits. */
bool lapic_intr_pending(const struct lapic *l);
/* The CPU takes it: its vector moves from IRR to ISR (the spurious vector
 * if the priority rose in between). */
uint8_t lapic_ack(struct lapic *l);
/* An NMI waits (LINT1, or an NMI IPI to self); taking it clears it. */
bool lapic_take_nmi(struct lapic *l);
bool lapic_enabled(const struct lapic *l);   /* IA32_APIC_BASE enable bit */

#endif
