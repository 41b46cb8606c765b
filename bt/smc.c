/* Self-modifying code: every guest-physical page holding translated bytes is
 * write-traced; a write to it invalidates the CCFs built from that page
 * (removing them from the hash and IBL table and unchaining jumps into
 * them). The page is released once no translation uses it. */
#include "bt_internal.h"
#include "profile.h"

void bt_pages_add(uint32_t idx)
{
	struct ccf *c = &bt.ccfs[idx];
	for (int k = 0; k < 2; k++) {
		uint32_t pg = c->page[k];
		if (pg == NOPAGE)
			continue;
		if (!bt.page_head[pg]) {
			bt.env.trace_code_page(bt.env.ctx, pg, true);
			bt.traced[bt.ntraced++] = pg;
			stat_inc(&bts.pages_traced);
		}
		c->page_next[k] = bt.page_head[pg];
		bt.page_head[pg] = idx;
	}
}

bool bt_kill_ccf(uint32_t idx)
{
	struct ccf *c = &bt.ccfs[idx];
	if (c->dead)
		return false;
	c->dead = 1;
	bt.ndead++;
	bt_hash_remove(idx);
	bt_ibl_drop(c->eip, c->tc);
	bt_unchain_incoming(idx);
	if (bt.prof)
		bt_prof_invalidated(idx);
	return true;
}

void bt_invalidate_ccf(uint32_t idx)
{
	if (bt_kill_ccf(idx))
		stat_inc(&bts.invalidate_smc);
}

static void release_page(uint32_t pg)
{
	for (uint32_t i = 0; i < bt.ntraced; i++)
		if (bt.traced[i] == pg) {
			bt.traced[i] = bt.traced[--bt.ntraced];
			break;
		}
	bt.env.trace_code_page(bt.env.ctx, pg, false);
}

/* The part of page pg (offsets [*lo, *hi)) that CCF c was built from. */
static void ccf_span_in_page(const struct ccf *c, uint32_t pg, uint32_t *lo, uint32_t *hi)
{
	uint32_t start = c->lin & 0xfffu, end = start + c->glen;
	if (c->page[0] == pg) {
		*lo = start;
		*hi = end > 0x1000 ? 0x1000 : end;
	} else {
		*lo = 0;
		*hi = end - 0x1000;
	}
}

/* A write to [lo, hi) of page pg: the CCFs built from those bytes die (a
 * write elsewhere on the page, e.g. data next to code, leaves them alone);
 * dead ones leave the page's list, and the page is released once empty. */
static void invalidate_range(uint32_t pg, uint32_t lo, uint32_t hi)
{
	uint32_t *pp = &bt.page_head[pg];
	while (*pp) {
		uint32_t i = *pp;
		struct ccf *c = &bt.ccfs[i];
		int k = c->page[0] == pg ? 0 : 1;
		uint32_t clo, chi;
		ccf_span_in_page(c, pg, &clo, &chi);
		if (!c->dead && clo < hi && lo < chi)
			bt_invalidate_ccf(i);
		if (c->dead)
			*pp = c->page_next[k];     /* unlink */
		else
			pp = &c->page_next[k];
	}
	if (!bt.page_head[pg])
		release_page(pg);
}

static uint32_t adapt_slot(uint32_t lin)
{
	uint32_t h = (lin * 2654435761u) >> 22;
	for (uint32_t n = 0; n < ADAPT_SET; n++, h = (h + 1) & (ADAPT_SET - 1))
		if (bt.callout_lin[h] == lin || bt.callout_lin[h] == 0)
			return h;
	return ADAPT_SET;
}

bool bt_is_callout(uint32_t lin)
{
	uint32_t h = adapt_slot(lin);
	return lin && h < ADAPT_SET && bt.callout_lin[h] == lin;
}

void bt_translate_as_callout(uint32_t lin, uint32_t tc_addr)
{
	uint32_t h = adapt_slot(lin);
	if (!lin || h == ADAPT_SET || bt.callout_lin[h] == lin)
		return;
	bt.callout_lin[h] = lin;
	stat_inc(&bts.adaptive);
	/* Drop the block holding the instruction now. */
	uint32_t idx = bt_ccf_at(tc_addr);
	if (idx && bt.prof) {
		struct bt_prof_ctx o = bt_prof_begin(PROF_CAUSE_ADAPTIVE, bt.ccfs[idx].eip, lin, true);
		bt_invalidate_ccf(idx);
		bt_prof_restore(o);
	} else if (idx) {
		bt_invalidate_ccf(idx);
	}
}

void bt_forget_callout(uint32_t lin)
{
	uint32_t h = adapt_slot(lin);
	if (lin && h < ADAPT_SET && bt.callout_lin[h] == lin)
		bt.callout_lin[h] = ADAPT_GONE;     /* keeps later entries reachable */
}

bool bt_page_traced(uint32_t ppn)
{
	return ppn < bt.env.ram_pages && bt.page_head[ppn] != 0;
}

bool bt_notify_write(uint32_t phys, uint32_t len)
{
	if (!len)
		return false;
	struct bt_prof_ctx o;
	if (bt.prof)
		o = bt_prof_begin(PROF_CAUSE_SMC_STORE, 0, phys, false);
	bool hit = false;
	uint32_t first = phys >> 12, last = (phys + len - 1) >> 12;
	for (uint32_t pg = first; pg <= last && pg < bt.env.ram_pages; pg++)
		if (bt.page_head[pg]) {
			uint32_t lo = pg == first ? (phys & 0xfffu) : 0;
			uint32_t hi = pg == last ? ((phys + len - 1) & 0xfffu) + 1 : 0x1000;
			invalidate_range(pg, lo, hi);
			hit = true;
		}
	if (bt.prof)
		bt_prof_restore(o);
	return hit;
}
