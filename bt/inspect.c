/* What a live monitor may ask of the translator: the cache's occupancy,
 * the fragments alive (newest first, with their execution counts under
 * -profile), and one fragment's guest-to-TC instruction map and bytes.
 * Environment: monitor (freestanding), with the guest stopped. */
#include "bt_internal.h"

static void info_of(uint32_t i, struct bt_frag_info *f)
{
	const struct ccf *c = &bt.ccfs[i];
	*f = (struct bt_frag_info){ .eip = c->eip, .cs_base = c->cs_base, .cpl = c->cpl, .tc = c->tc,
				    .tc_len = c->tc_len, .glen = c->glen, .ninsn = c->ninsn,
				    .execs = bt.prof && c->prof_slot ? *(volatile uint32_t *)tc_ptr(c->prof_slot) : 0,
				    .prologue = bt.prof && c->ninsn ? bt.pcs[c->pc_first].tc - c->tc : 0 };
}

void bt_tc_info(struct bt_tc_info *t)
{
	uint32_t live = 0;
	for (uint32_t i = 1; i < bt.nccf; i++)
		live += !bt.ccfs[i].dead;
	*t = (struct bt_tc_info){ .tc_size = bt.env.tc_size, .tc_used = bt.tc_used, .made = bt.nccf - 1,
				  .live = live, .flushes = bt.epoch, .pages_traced = bt.ntraced,
				  .profiling = bt.prof != 0 };
}

unsigned bt_fragment_list(struct bt_frag_info *out, unsigned max)
{
	unsigned n = 0;
	for (uint32_t i = bt.nccf; i-- > 1 && n < max;)
		if (!bt.ccfs[i].dead)
			info_of(i, &out[n++]);
	return n;
}

unsigned bt_fragment_detail(uint32_t eip, struct bt_frag_info *f, struct bt_frag_insn *map, unsigned max,
			    uint8_t *tc_bytes, uint32_t tc_cap)
{
	for (uint32_t i = bt.nccf; i-- > 1;) {
		const struct ccf *c = &bt.ccfs[i];
		if (c->dead || c->eip != eip)
			continue;
		info_of(i, f);
		unsigned n = c->ninsn < max ? c->ninsn : max;
		for (unsigned k = 0; k < n; k++) {
			const struct pcrec *r = &bt.pcs[c->pc_first + k];
			map[k] = (struct bt_frag_insn){ .goff = r->eip - c->eip, .tcoff = r->tc - c->tc,
							.cls = (uint8_t)((r->flags >> PC_CLS_SHIFT) & 3) };
		}
		uint32_t len = c->tc_len < tc_cap ? c->tc_len : tc_cap;
		const uint8_t *p = tc_ptr(c->tc);
		for (uint32_t k = 0; k < len; k++)
			tc_bytes[k] = p[k];
		return n ? n : 1;
	}
	return 0;
}
