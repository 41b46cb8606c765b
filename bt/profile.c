/* The translator's side of -profile: each fragment's execution counter (a
 * prologue that leaves flags alone), and one record per fragment in the
 * world's profile arena, kept when the fragment dies or the TC is flushed.
 * Environment: monitor; the prologue runs as translated code. */
#include "bt_internal.h"
#include "emit.h"
#include "profile.h"

/* Counter slots are 32-bit words carved downwards from the TC's end, away
 * from the code growing upwards: a store into a cache line that holds code
 * being run costs a pipeline flush on every execution. A flush (or the end
 * of the run) adds them into the records' 64-bit counts, so a slot wraps
 * only when one fragment runs 2^32 times between two flushes. */
#define SLOT_BYTES 4u

static uint32_t align4(uint32_t v) { return (v + 3) & ~3u; }

int bt_prof_init(void *mem, size_t size)
{
	size_t head = (sizeof(struct prof_arena) + 15) & ~(size_t)15;
	size_t tables = PROF_MAX_SITES * sizeof(struct prof_site) + PROF_MAX_EVENTS * sizeof(struct prof_event) +
			PROF_MAX_SAMPLES * sizeof(struct prof_sample) + PROF_MAX_DPAGES * sizeof(struct prof_dpage);
	if (!mem || size < head + tables + (1u << 20))
		return -1;
	struct prof_arena *a = mem;
	uint8_t *t = (uint8_t *)mem + head;
	mem = t + tables;
	size -= tables;
	/* A quarter of the rest for records, the rest for their bytes. */
	size_t recs = (size - head) / 4 / sizeof(struct prof_rec);
	if (recs > 0xffffffu)
		recs = 0xffffffu;
	size_t pool = size - head - recs * sizeof(struct prof_rec);
	*a = (struct prof_arena){ .magic = PROF_MAGIC, .nrec = 1, .max_rec = (uint32_t)recs,
				  .pool_size = pool > 0xfffffff0u ? 0xfffffff0u : (uint32_t)pool,
				  .prologue_bytes = PROF_PROLOGUE_BYTES, .tc_base = bt.env.tc_base };
	a->study.sites = (struct prof_site *)t;
	a->study.events = (struct prof_event *)(a->study.sites + PROF_MAX_SITES);
	a->study.samples = (struct prof_sample *)(a->study.events + PROF_MAX_EVENTS);
	a->study.dpages = (struct prof_dpage *)(a->study.samples + PROF_MAX_SAMPLES);
	a->study.sample_ns = PROF_SAMPLE_NS;
	a->recs = (struct prof_rec *)((uint8_t *)mem + head);
	a->pool = (uint8_t *)(a->recs + recs);
	a->recs[0] = (struct prof_rec){ .state = PROF_FLUSHED };
	/* The names come from the counters themselves: readers never spell them. */
	const char *names[] = { bts.tu_translated.name, bts.insn_translated.name, bts.tc_bytes.name,
				bts.guest_bytes.name, bts.tu_cycles.name };
	char *dst[] = { a->stat_fragments, a->stat_insns, a->stat_tc_bytes, a->stat_guest_bytes, a->stat_cycles };
	for (unsigned k = 0; k < sizeof names / sizeof names[0]; k++) {
		unsigned i = 0;
		for (; names[k][i] && i + 1 < PROF_STAT_NAME_MAX; i++)
			dst[k][i] = names[k][i];
		dst[k][i] = 0;
	}
	bt.prof = a;
	return 0;
}

/* The execution counter, first thing in a fragment. Only mov and lea:
 * neither touches EFLAGS, so the guest's flags (live across fragment
 * boundaries) need no save and restore, and %eax is parked in its own
 * scratch slot (every entry path arrives with the other slots in use or
 * dead, never this one). A host signal inside it finds no instruction
 * boundary and steps to the first guest instruction, after the count. */
void bt_prof_prologue(struct emitter *e, uint32_t *slot)
{
	bt.prof_top -= SLOT_BYTES;
	uint32_t s = bt.env.tc_base + bt.prof_top;
	*(volatile uint32_t *)tc_ptr(s) = 0;
	uint32_t off = s - MON_BASE;           /* %gs is based at MON_BASE */
	e_u8(e, 0x65); e_u8(e, 0xa3); e_u32(e, MA_S_PROF);   /* mov %eax,%gs:S_PROF */
	e_u8(e, 0x65); e_u8(e, 0xa1); e_u32(e, off);         /* mov %gs:slot,%eax */
	e_u8(e, 0x8d); e_u8(e, 0x40); e_u8(e, 0x01);         /* lea 1(%eax),%eax */
	e_u8(e, 0x65); e_u8(e, 0xa3); e_u32(e, off);         /* mov %eax,%gs:slot */
	e_u8(e, 0x65); e_u8(e, 0xa1); e_u32(e, MA_S_PROF);   /* mov %gs:S_PROF,%eax */
	*slot = s;
}
_Static_assert(PROF_PROLOGUE_BYTES == 6 + 6 + 3 + 6 + 6, "prologue length");

/* Guest bytes again, as the unit read them: across a page end if need be. */
static void copy_guest(uint8_t *dst, uint32_t lin, uint32_t len)
{
	uint32_t n = 0;
	while (n < len) {
		uint32_t avail, phys;
		const uint8_t *p = bt.env.code_ptr(bt.env.ctx, lin + n, &avail, &phys);
		if (!p || !avail) {
			for (; n < len; n++)
				dst[n] = 0;
			return;
		}
		for (uint32_t i = 0; i < avail && n < len; i++)
			dst[n++] = p[i];
	}
}

void bt_prof_record(uint32_t idx, uint64_t cycles)
{
	struct prof_arena *a = bt.prof;
	struct ccf *c = &bt.ccfs[idx];
	uint32_t need = align4(c->ninsn * (uint32_t)sizeof(struct prof_insn) + c->glen + c->tc_len);
	struct prof_rec *r;
	if (a->nrec < a->max_rec && a->pool_used <= a->pool_size - need) {
		c->prof = a->nrec++;
		r = &a->recs[c->prof];
		*r = (struct prof_rec){ .eip = c->eip, .cs_base = c->cs_base, .tc = c->tc, .glen = c->glen,
					.tc_len = c->tc_len, .pool = a->pool_used, .ninsn = c->ninsn,
					.cpl = c->cpl, .state = PROF_LIVE, .nfrag = 1 };
		a->pool_used += need;
		struct prof_insn *m = (struct prof_insn *)(a->pool + r->pool);
		for (uint32_t i = 0; i < c->ninsn; i++) {
			const struct pcrec *p = &bt.pcs[c->pc_first + i];
			m[i] = (struct prof_insn){ .goff = (uint8_t)(p->eip - c->eip),
						   .cls = (uint8_t)((p->flags >> PC_CLS_SHIFT) & 3),
						   .tcoff = (uint16_t)(p->tc - c->tc) };
		}
		copy_guest((uint8_t *)prof_guest(a, r), c->lin, c->glen);
		uint8_t *t = (uint8_t *)prof_tc(a, r);
		const uint8_t *src = tc_ptr(c->tc);
		for (uint32_t i = 0; i < c->tc_len; i++)
			t[i] = src[i];
	} else {
		/* Out of room: the fragment still counts, in the aggregate. */
		c->prof = 0;
		r = &a->recs[0];
		r->nfrag++;
		r->ninsn += c->ninsn;
		r->glen += c->glen;
		r->tc_len += c->tc_len;
	}
	for (uint32_t i = 0; i < c->ninsn; i++)
		r->nclass[(bt.pcs[c->pc_first + i].flags >> PC_CLS_SHIFT) & 3]++;
	r->cycles += cycles;
}

/* ---- invalidation causes ---- */

static struct prof_event *event_of(uint32_t code)
{
	struct prof_study *st = &bt.prof->study;
	return code && !(code & PROF_EV_CAUSE) && code <= st->nevents ? &st->events[code - 1] : (struct prof_event *)0;
}

static uint32_t cause_of(uint32_t code)
{
	if (code & PROF_EV_CAUSE)
		return code & ~PROF_EV_CAUSE;
	const struct prof_event *e = event_of(code);
	return e ? e->cause : PROF_CAUSE_NONE;
}

uint32_t bt_prof_event(void)
{
	struct prof_study *st = &bt.prof->study;
	if (bt.prof_cur.ev)
		return bt.prof_cur.ev;
	uint32_t cause = bt.prof_cur.cause < PROF_NCAUSES ? bt.prof_cur.cause : PROF_CAUSE_NONE;
	st->cause_events[cause]++;
	if (st->nevents < PROF_MAX_EVENTS) {
		st->events[st->nevents] = (struct prof_event){ .cause = cause,
							       .eip = bt.prof_cur.eip ? bt.prof_cur.eip : bt.prof_at,
							       .addr = bt.prof_cur.addr,
							       .tsc = __builtin_ia32_rdtsc() };
		bt.prof_cur.ev = ++st->nevents;
	} else {
		bt.prof_cur.ev = PROF_EV_CAUSE | cause;
	}
	return bt.prof_cur.ev;
}

static void kill_counted(uint32_t ev)
{
	bt.prof->study.cause_killed[cause_of(ev)]++;
	struct prof_event *e = event_of(ev);
	if (e)
		e->killed++;
}

void bt_prof_unchained(struct exit_rec *x, unsigned why)
{
	uint32_t ev = bt_prof_event();
	x->unchain_why = (uint8_t)why;
	x->unchained_by = ev;
	bt.prof->study.cause_unchained[cause_of(ev)]++;
	struct prof_event *e = event_of(ev);
	if (e)
		e->unchained++;
}

struct bt_prof_ctx bt_prof_begin(unsigned cause, uint32_t eip, uint32_t addr, bool force)
{
	struct bt_prof_ctx old = { bt.prof_cur.cause, bt.prof_cur.eip, bt.prof_cur.addr, bt.prof_cur.ev };
	if (force || bt.prof_cur.cause == PROF_CAUSE_NONE) {
		bt.prof_cur.cause = cause;
		bt.prof_cur.eip = eip;
		bt.prof_cur.addr = addr;
		bt.prof_cur.ev = 0;
	}
	return old;
}

void bt_prof_restore(struct bt_prof_ctx o)
{
	bt.prof_cur.cause = o.cause;
	bt.prof_cur.eip = o.eip;
	bt.prof_cur.addr = o.addr;
	bt.prof_cur.ev = o.ev;
}

bool bt_prof_cause(unsigned cause, uint32_t eip, uint32_t addr)
{
	if (!bt.prof || bt.prof_cur.cause != PROF_CAUSE_NONE)
		return false;
	bt_prof_begin(cause, eip, addr, true);
	return true;
}

void bt_prof_cause_end(void)
{
	bt.prof_cur.cause = PROF_CAUSE_NONE;
	bt.prof_cur.ev = 0;
}

/* ---- exit stubs and callout sites ---- */

void bt_prof_exit_key(uint32_t exit_idx, struct bt_site_key *k)
{
	*k = (struct bt_site_key){ 0, 0, 0 };
	if (!bt.prof || exit_idx == 0 || exit_idx >= bt.nexit)
		return;
	const struct exit_rec *x = &bt.exits[exit_idx];
	const struct ccf *c = &bt.ccfs[x->owner];
	*k = (struct bt_site_key){ c->prof, x->stub - c->tc, x->target_eip };
}

void bt_prof_site_key(uint32_t site, uint32_t eip, struct bt_site_key *k)
{
	*k = (struct bt_site_key){ 0, eip, eip };
	uint32_t idx = bt.prof ? bt_ccf_at(site) : 0;
	if (idx)
		*k = (struct bt_site_key){ bt.ccfs[idx].prof, site - bt.ccfs[idx].tc, eip };
}

unsigned bt_prof_exit_why(void) { return bt.prof_exit_why; }
void bt_prof_set_at(uint32_t eip) { bt.prof_at = eip; }

void bt_prof_site_add(const struct bt_site_key *k, unsigned kind, unsigned why, uint64_t cycles)
{
	if (!bt.prof)
		return;
	struct prof_study *st = &bt.prof->study;
	uint32_t h = ((k->rec * 0x9e3779b1u) ^ (k->tcoff * 0x85ebca6bu) ^ kind) & (PROF_MAX_SITES - 1);
	struct prof_site *s = (struct prof_site *)0;
	for (uint32_t n = 0; n < PROF_SITE_PROBES; n++, h = (h + 1) & (PROF_MAX_SITES - 1)) {
		if (h == 0)
			continue;              /* slot 0: the sum of sites that found no room */
		struct prof_site *c = &st->sites[h];
		if (!c->used) {
			*c = (struct prof_site){ .rec = k->rec, .tcoff = k->tcoff, .eip = k->eip, .kind = (uint16_t)kind,
						 .used = 1 };
			s = c;
			break;
		}
		if (c->rec == k->rec && c->tcoff == k->tcoff && c->kind == kind) {
			s = c;
			break;
		}
	}
	if (!s) {
		s = &st->sites[0];
		s->used = 1;
		st->nsites_dropped++;
	}
	s->taken++;
	s->cycles += cycles;
	s->why = (uint8_t)why;
	s->whys |= 1u << why;
	if (kind == CO_EXIT && why == PROF_WHY_FIRST)
		s->chained++;
	/* The cost of re-taking an exit whose chain an event undid is that
	 * event's. */
	if (kind == CO_EXIT && (why == PROF_WHY_REMAP || why == PROF_WHY_TARGET_DEAD) && bt.prof_exit_ev) {
		st->cause_rechain[cause_of(bt.prof_exit_ev)] += cycles;
		struct prof_event *e = event_of(bt.prof_exit_ev);
		if (e)
			e->rechain_cycles += cycles;
	}
}

/* ---- occupancy ---- */

void bt_prof_occupancy(struct prof_sample *s)
{
	s->tc_bytes = bt.tc_used + (bt.env.tc_size - bt.prof_top);
	s->live = bt.nccf - 1 - bt.ndead;
	s->fragments = (uint32_t)bts.tu_translated.value;
	s->flushes = (uint32_t)bts.tc_flushes.value;
	s->invalidations = (uint32_t)bts.invalidate_smc.value;
	s->unchains = (uint32_t)bts.chain_unpatched.value;
}

struct prof_arena *bt_prof_arena(void) { return bt.prof; }

void bt_prof_tc_sample(uint32_t tc_addr)
{
	struct prof_study *st = &bt.prof->study;
	uint32_t idx = bt_ccf_at(tc_addr);
	st->tc_samples++;
	if (idx && bt.ccfs[idx].prof)
		bt.prof->recs[bt.ccfs[idx].prof].samples++;
	else
		st->tc_unattributed++;
}

void bt_prof_invalidated(uint32_t idx)
{
	uint32_t p = bt.ccfs[idx].prof, ev = bt_prof_event();
	if (p) {
		bt.prof->recs[p].state = PROF_INVALIDATED;
		bt.prof->recs[p].killed_by = ev;
	}
	kill_counted(ev);
}

void bt_prof_chained(uint32_t from, uint32_t to)
{
	bt.prof->recs[bt.ccfs[from].prof].chains_out++;
	bt.prof->recs[bt.ccfs[to].prof].chains_in++;
}

/* Counter slots into the records (and zeroed, so a second harvest adds
 * nothing twice). `flushing`: the slots and fragments go away after this. */
void bt_prof_harvest(bool flushing)
{
	struct prof_arena *a = bt.prof;
	uint32_t ev = 0;
	for (uint32_t i = 1; i < bt.nccf; i++) {
		struct ccf *c = &bt.ccfs[i];
		volatile uint32_t *s = (volatile uint32_t *)tc_ptr(c->prof_slot);
		struct prof_rec *r = &a->recs[c->prof];
		r->execs += *s;
		*s = 0;
		if (flushing && !c->dead) {
			if (!ev)
				ev = bt_prof_event();
			kill_counted(ev);
		}
		if (flushing && c->prof && r->state == PROF_LIVE) {
			r->state = PROF_FLUSHED;
			r->killed_by = ev;
		}
	}
	if (flushing)
		bt.prof_top = bt.env.tc_size;
}

const struct prof_arena *bt_prof_sync(void)
{
	if (!bt.prof)
		return (const struct prof_arena *)0;
	bt_prof_harvest(false);
	return bt.prof;
}
