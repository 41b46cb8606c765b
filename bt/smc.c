/* Self-modifying code: every guest-physical page holding translated bytes is
 * write-traced; a write to it invalidates the CCFs built from that page
 * (removing them from the hash and IBL table and unchaining jumps into
 * them). The page is released once no translation uses it. */
#include "bt_internal.h"

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

void bt_invalidate_ccf(uint32_t idx)
{
	struct ccf *c = &bt.ccfs[idx];
	if (c->dead)
		return;
	c->dead = 1;
	bt_hash_remove(idx);
	bt_ibl_drop(c->eip, c->tc);
	bt_unchain_incoming(idx);
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

static void invalidate_page(uint32_t pg)
{
	uint32_t i = bt.page_head[pg];
	bt.page_head[pg] = 0;
	while (i) {
		struct ccf *c = &bt.ccfs[i];
		uint32_t next = c->page[0] == pg ? c->page_next[0] : c->page_next[1];
		bt_invalidate_ccf(i);
		/* A CCF spanning two pages also sits on the other page's list;
		 * it stays there dead, and is skipped when that page goes. */
		i = next;
	}
	release_page(pg);
}

bool bt_page_traced(uint32_t ppn)
{
	return ppn < bt.env.ram_pages && bt.page_head[ppn] != 0;
}

bool bt_notify_write(uint32_t phys, uint32_t len)
{
	if (!len)
		return false;
	bool hit = false;
	uint32_t first = phys >> 12, last = (phys + len - 1) >> 12;
	for (uint32_t pg = first; pg <= last && pg < bt.env.ram_pages; pg++)
		if (bt.page_head[pg]) {
			invalidate_page(pg);
			hit = true;
		}
	return hit;
}
