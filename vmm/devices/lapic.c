/* The local APIC (see lapic.h): registers, IRR/ISR/TMR and the processor
 * priority, EOI, the LVT timer counting on guest time, LINT0/LINT1, the
 * error LVT and ICR self-IPIs (INIT and SIPI have no other CPU to reach).
 * Environment: monitor (freestanding), pure state; time through env.now. */
#include "lapic.h"
#include "mmio.h"
#include "tunables.h"

static const uint32_t lvt_writable[LVT_COUNT] = {
	[LVT_TIMER] = 0x300ff, [LVT_THERMAL] = 0x107ff, [LVT_PERF] = 0x107ff,
	[LVT_LINT0] = 0x1a7ff, [LVT_LINT1] = 0x1a7ff, [LVT_ERROR] = 0x100ff,
};

static void set_bit(uint32_t *v, uint8_t n) { v[n >> 5] |= 1u << (n & 31); }
static void clear_bit(uint32_t *v, uint8_t n) { v[n >> 5] &= ~(1u << (n & 31)); }
static bool test_bit(const uint32_t *v, uint8_t n) { return v[n >> 5] & (1u << (n & 31)); }

/* The highest set vector, -1 if none. */
static int highest(const uint32_t *v)
{
	for (int i = 7; i >= 0; i--)
		if (v[i])
			return i * 32 + 31 - __builtin_clz(v[i]);
	return -1;
}

static void changed(struct lapic *l)
{
	if (l->env.changed)
		l->env.changed(l->env.opaque);
}

static bool sw_enabled(const struct lapic *l)
{
	return (l->apic_base & LAPIC_BASE_ENABLE) && (l->svr & LAPIC_SVR_ENABLE);
}

/* SDM 10.8.3.1: the in-service class wins over a lower task priority. */
static uint8_t ppr(const struct lapic *l)
{
	int isrv = highest(l->isr);
	uint8_t isr_class = isrv < 0 ? 0 : (uint8_t)(isrv & 0xf0);
	return (l->tpr & 0xf0) >= isr_class ? l->tpr : isr_class;
}

static void error(struct lapic *l, uint32_t bits)
{
	l->esr_pending |= bits;
	uint32_t e = l->lvt[LVT_ERROR];
	/* An error LVT with an illegal vector would loop on itself. */
	if (!(e & LAPIC_LVT_MASKED) && (e & 0xff) >= 16)
		set_bit(l->irr, (uint8_t)e);
}

void lapic_accept(struct lapic *l, uint8_t vector, bool level)
{
	if (vector < 16) {
		error(l, LAPIC_ESR_RECV_ILLEGAL);
	} else {
		set_bit(l->irr, vector);
		if (level)
			set_bit(l->tmr, vector);
		else
			clear_bit(l->tmr, vector);
	}
	changed(l);
}

/* An LVT entry fires: its delivery mode decides what the CPU sees. */
static void lvt_fire(struct lapic *l, unsigned i)
{
	uint32_t v = l->lvt[i];
	if (v & LAPIC_LVT_MASKED)
		return;
	unsigned dm = i == LVT_TIMER || i == LVT_ERROR ? LAPIC_DM_FIXED : (v >> 8) & 7;
	if (dm == LAPIC_DM_NMI) {
		l->nmi_pending = true;
		changed(l);
	} else if (dm == LAPIC_DM_FIXED) {
		lapic_accept(l, (uint8_t)v, i >= LVT_LINT0 && i <= LVT_LINT1 && (v & (1u << 15)));
	}
}

void lapic_lint1(struct lapic *l)
{
	lvt_fire(l, LVT_LINT1);
}

/* ---- the timer ---- */

static uint64_t divisor(const struct lapic *l)
{
	unsigned v = (l->timer_dcr & 3) | ((l->timer_dcr >> 1) & 4);
	return (uint64_t)1 << ((v + 1) & 7);
}

static uint64_t tick_ns(const struct lapic *l)
{
	return divisor(l) * TUNE_LAPIC_BUS_CYCLE_NS;
}

static uint64_t period_ns(const struct lapic *l)
{
	return (uint64_t)l->timer_initial * tick_ns(l);
}

static bool periodic(const struct lapic *l)
{
	return l->lvt[LVT_TIMER] & LAPIC_LVT_PERIODIC;
}

static void timer_start(struct lapic *l, uint64_t now)
{
	l->timer_start = now;
	l->timer_next = l->timer_initial ? now + period_ns(l) : UINT64_MAX;
}

static uint32_t timer_current(const struct lapic *l, uint64_t now)
{
	if (!l->timer_initial || (!periodic(l) && l->timer_next == UINT64_MAX))
		return 0;
	uint64_t el = now - l->timer_start, p = period_ns(l);
	if (el >= p) {
		if (!periodic(l))
			return 0;
		el %= p;
	}
	return (uint32_t)(l->timer_initial - el / tick_ns(l));
}

void lapic_advance(struct lapic *l, uint64_t now)
{
	if (l->timer_next > now)
		return;
	uint64_t p = period_ns(l);
	if (periodic(l) && p) {
		l->timer_start += (now - l->timer_start) / p * p;
		l->timer_next = l->timer_start + p;
	} else {
		l->timer_next = UINT64_MAX;
	}
	if (!(l->lvt[LVT_TIMER] & LAPIC_LVT_MASKED))
		stat_inc(&l->timer_fires);
	lvt_fire(l, LVT_TIMER);
}

uint64_t lapic_next_deadline(const struct lapic *l)
{
	return l->timer_next;
}

/* ---- interrupts to the CPU ---- */

bool lapic_enabled(const struct lapic *l)
{
	return l->apic_base & LAPIC_BASE_ENABLE;
}

bool lapic_extint_open(const struct lapic *l)
{
	uint32_t v = l->lvt[LVT_LINT0];
	return !lapic_enabled(l) || (!(v & LAPIC_LVT_MASKED) && ((v >> 8) & 7) == LAPIC_DM_EXTINT);
}

bool lapic_intr_pending(const struct lapic *l)
{
	int v = highest(l->irr);
	return sw_enabled(l) && v >= 0 && (v & 0xf0) > (ppr(l) & 0xf0);
}

uint8_t lapic_ack(struct lapic *l)
{
	if (!lapic_intr_pending(l))
		return (uint8_t)l->svr;
	uint8_t v = (uint8_t)highest(l->irr);
	clear_bit(l->irr, v);
	set_bit(l->isr, v);
	return v;
}

bool lapic_take_nmi(struct lapic *l)
{
	bool n = l->nmi_pending;
	l->nmi_pending = false;
	return n;
}

static void eoi(struct lapic *l)
{
	int v = highest(l->isr);
	stat_inc(&l->eois);
	if (v < 0)
		return;
	clear_bit(l->isr, (uint8_t)v);
	if (test_bit(l->tmr, (uint8_t)v) && l->env.eoi_level)
		l->env.eoi_level(l->env.opaque, (uint8_t)v);
	changed(l);
}

bool lapic_match_dest(const struct lapic *l, uint8_t dest, bool logical)
{
	if (logical)            /* the flat model: one bit per CPU */
		return (dest & l->ldr) != 0;
	return dest == l->id || dest == 0xff;
}

/* ICR: fixed and NMI messages that include this CPU arrive here; INIT,
 * SIPI and everything for other CPUs have nobody to reach. */
static void send_ipi(struct lapic *l)
{
	uint32_t lo = l->icr_lo;
	unsigned dm = (lo >> 8) & 7, shorthand = (lo >> 18) & 3;
	bool self;
	stat_inc(&l->ipis);
	switch (shorthand) {
	case 1: case 2: self = true; break;
	case 3: self = false; break;
	default: self = lapic_match_dest(l, (uint8_t)(l->icr_hi >> 24), lo & (1u << 11)); break;
	}
	if (dm == LAPIC_DM_FIXED && (uint8_t)lo < 16) {
		error(l, LAPIC_ESR_SEND_ILLEGAL);
		changed(l);
		return;
	}
	if (!self)
		return;
	if (dm == LAPIC_DM_FIXED || dm == 1)
		lapic_accept(l, (uint8_t)lo, false);
	else if (dm == LAPIC_DM_NMI) {
		l->nmi_pending = true;
		changed(l);
	}
}

/* ---- registers ---- */

static uint64_t now(struct lapic *l)
{
	return l->env.now ? l->env.now(l->env.opaque) : 0;
}

uint32_t lapic_read(struct lapic *l, uint32_t off)
{
	unsigned r = off & 0xff0;
	switch (r) {
	case LAPIC_ID: return (uint32_t)l->id << 24;
	case LAPIC_VER: return LAPIC_VERSION;
	case LAPIC_TPR: return l->tpr;
	case LAPIC_PPR: return ppr(l);
	case LAPIC_LDR: return (uint32_t)l->ldr << 24;
	case LAPIC_DFR: return ((uint32_t)l->dfr << 28) | 0x0fffffffu;
	case LAPIC_SVR: return l->svr;
	case LAPIC_ESR: return l->esr;
	case LAPIC_ICR_LO: return l->icr_lo & ~(1u << 12);   /* sent at once: idle */
	case LAPIC_ICR_HI: return l->icr_hi;
	case LAPIC_TIMER_ICR: return l->timer_initial;
	case LAPIC_TIMER_CCR: return timer_current(l, now(l));
	case LAPIC_TIMER_DCR: return l->timer_dcr;
	default: break;
	}
	if (r >= LAPIC_ISR && r < LAPIC_ISR + 0x80)
		return l->isr[(r - LAPIC_ISR) >> 4];
	if (r >= LAPIC_TMR && r < LAPIC_TMR + 0x80)
		return l->tmr[(r - LAPIC_TMR) >> 4];
	if (r >= LAPIC_IRR && r < LAPIC_IRR + 0x80)
		return l->irr[(r - LAPIC_IRR) >> 4];
	if (r >= LAPIC_LVT_TIMER && r <= LAPIC_LVT_ERROR)
		return l->lvt[(r - LAPIC_LVT_TIMER) >> 4];
	return 0;   /* APR, RRD and reserved offsets */
}

static void write_lvt(struct lapic *l, unsigned i, uint32_t val)
{
	uint32_t old = l->lvt[i];
	/* A software-disabled APIC keeps every LVT masked (SDM 10.4.7.2). */
	if (!(l->svr & LAPIC_SVR_ENABLE))
		val |= LAPIC_LVT_MASKED;
	l->lvt[i] = val & lvt_writable[i];
	/* A running count goes on under the new mode. */
	if (i == LVT_TIMER && ((old ^ l->lvt[i]) & LAPIC_LVT_PERIODIC) && l->timer_next != UINT64_MAX) {
		uint64_t t = now(l), el = t - l->timer_start, p = period_ns(l);
		timer_start(l, t - (p ? el % p : 0));
	}
	changed(l);
}

void lapic_write(struct lapic *l, uint32_t off, uint32_t val)
{
	unsigned r = off & 0xff0;
	uint64_t t;
	switch (r) {
	case LAPIC_ID: l->id = (uint8_t)(val >> 24); return;
	case LAPIC_TPR: l->tpr = (uint8_t)val; changed(l); return;
	case LAPIC_EOI: eoi(l); return;
	case LAPIC_LDR: l->ldr = (uint8_t)(val >> 24); return;
	case LAPIC_DFR: l->dfr = (uint8_t)(val >> 28); return;
	case LAPIC_SVR:
		l->svr = val & 0x1ff;
		if (!(l->svr & LAPIC_SVR_ENABLE))
			for (unsigned i = 0; i < LVT_COUNT; i++)
				l->lvt[i] |= LAPIC_LVT_MASKED;
		changed(l);
		return;
	case LAPIC_ESR:
		/* A write makes the errors seen since the last one readable. */
		l->esr = l->esr_pending;
		l->esr_pending = 0;
		return;
	case LAPIC_ICR_LO: l->icr_lo = val & 0x000ccfffu; send_ipi(l); return;
	case LAPIC_ICR_HI: l->icr_hi = val & 0xff000000u; return;
	case LAPIC_TIMER_ICR:
		l->timer_initial = val;
		timer_start(l, now(l));
		changed(l);
		return;
	case LAPIC_TIMER_DCR:
			/* The count goes on from where it is, at the new rate. */
		t = now(l);
		if (l->timer_next != UINT64_MAX) {
			uint32_t cur = timer_current(l, t);
			l->timer_dcr = val & 0xb;
			timer_start(l, t - (uint64_t)(l->timer_initial - cur) * tick_ns(l));
		} else {
			l->timer_dcr = val & 0xb;
		}
		changed(l);
		return;
	case LAPIC_VER: case LAPIC_APR: case LAPIC_PPR: case LAPIC_RRD: case LAPIC_TIMER_CCR:
		return;
	default:
		break;
	}
	if (r >= LAPIC_LVT_TIMER && r <= LAPIC_LVT_ERROR) {
		write_lvt(l, (r - LAPIC_LVT_TIMER) >> 4, val);
		return;
	}
	if (r >= LAPIC_ISR && r < LAPIC_IRR + 0x80)
		return;     /* read-only */
	error(l, LAPIC_ESR_ILLEGAL_ADDRESS);
	changed(l);
}

/* ---- the page on the MMIO bus, and IA32_APIC_BASE ---- */

/* Registers are dwords; a narrower read takes its bytes of one, a
 * narrower write is dropped (as QEMU's). */
static uint32_t mmio_rd(void *opaque, uint32_t off, unsigned size)
{
	stat_inc(&((struct lapic *)opaque)->mmio);
	uint32_t v = lapic_read(opaque, off & ~3u) >> (8 * (off & 3));
	return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void mmio_wr(void *opaque, uint32_t off, unsigned size, uint32_t val)
{
	stat_inc(&((struct lapic *)opaque)->mmio);
	if (size == 4 && !(off & 3))
		lapic_write(opaque, off, val);
}

static int map(struct lapic *l)
{
	if (l->mapped_base) {
		mmio_unregister(l->mapped_base);
		l->mapped_base = 0;
	}
	if (!l->attached || !lapic_enabled(l))
		return 0;
	struct mmio_region r = { .base = l->apic_base & LAPIC_BASE_ADDR, .len = LAPIC_MMIO_LEN,
				 .read = mmio_rd, .write = mmio_wr, .opaque = l };
	if (mmio_register(&r))
		return -1;
	l->mapped_base = r.base;
	return 0;
}

static void reset_registers(struct lapic *l)
{
	l->id = 0; l->ldr = 0; l->dfr = 0xf; l->tpr = 0;
	l->svr = 0xff;
	l->esr = l->esr_pending = l->icr_lo = l->icr_hi = 0;
	for (unsigned i = 0; i < LVT_COUNT; i++)
		l->lvt[i] = LAPIC_LVT_MASKED;
	for (unsigned i = 0; i < 8; i++)
		l->irr[i] = l->isr[i] = l->tmr[i] = 0;
	l->timer_initial = l->timer_dcr = 0;
	l->timer_start = 0;
	l->timer_next = UINT64_MAX;
	l->nmi_pending = false;
}

void lapic_init(struct lapic *l, const struct lapic_env *env)
{
	*l = (struct lapic){ 0 };
	l->env = *env;
	l->mmio.name = "mmu.mmio.lapic";
	l->timer_fires.name = "dev.lapic.timer_fires";
	l->eois.name = "dev.lapic.eois";
	l->ipis.name = "dev.lapic.ipis";
	stats_register(&l->mmio);
	stats_register(&l->timer_fires);
	stats_register(&l->eois);
	stats_register(&l->ipis);
	lapic_reset(l);
}

void lapic_reset(struct lapic *l)
{
	reset_registers(l);
	l->apic_base = LAPIC_DEFAULT_BASE | LAPIC_BASE_BSP | LAPIC_BASE_ENABLE;
	map(l);
	changed(l);
}

int lapic_attach(struct lapic *l)
{
	l->attached = true;
	return map(l);
}

uint64_t lapic_get_base(const struct lapic *l)
{
	return l->apic_base;
}

bool lapic_set_base(struct lapic *l, uint64_t val)
{
	/* 32 physical address bits, no x2APIC (bit 10), BSP read-only. */
	if (val >> 32 || (val & 0x6ffu))
		return false;
	uint32_t v = ((uint32_t)val & ~LAPIC_BASE_BSP) | (l->apic_base & LAPIC_BASE_BSP);
	bool was = lapic_enabled(l);
	l->apic_base = v;
	/* Disabled, the APIC loses its state; enabled again, it starts from
	 * power-on (SDM 10.4.3). */
	if (was != lapic_enabled(l))
		reset_registers(l);
	int r = map(l);
	changed(l);
	return r == 0;
}
