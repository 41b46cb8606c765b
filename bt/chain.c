/* Chaining: a block exit first jumps to its stub (a callout); once its
 * target is translated the exit's jmp is patched to go straight there, and
 * the exit is remembered on the target so invalidation can undo it. */
#include "bt_internal.h"
#include "profile.h"

void bt_patch_rel32(uint32_t at, uint32_t target)
{
	int32_t rel = (int32_t)(target - (at + 4));
	uint8_t *p = tc_ptr(at);
	p[0] = (uint8_t)rel; p[1] = (uint8_t)(rel >> 8);
	p[2] = (uint8_t)(rel >> 16); p[3] = (uint8_t)(rel >> 24);
}

/* Undo one exit's chain: its jump goes back to the stub and it leaves the
 * target's incoming list. */
static void unchain_one(uint32_t exit_idx);

/* Chains across linear pages that the change may have redirected go; the
 * others stay on the list. keep(exit) says which survive. */
static void unchain_volatile(bool (*keep)(const struct exit_rec *x, uint32_t arg), uint32_t arg,
			     enum bt_ibl_keep ibl_keep)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < bt.nvolatile; i++) {
		uint32_t e = bt.volatile_exits[i];
		if (!bt.exits[e].to)
			continue;
		if (keep && keep(&bt.exits[e], arg)) {
			bt.volatile_exits[n++] = e;
			continue;
		}
		if (bt.prof)
			bt_prof_unchained(&bt.exits[e], PROF_WHY_REMAP);
		unchain_one(e);
		stat_inc(&bts.unchain_remap);
	}
	bt.nvolatile = n;
	bt_ibl_reset_except(ibl_keep, arg);
}

/* -profile: the unchains that follow are this cause's, unless the
 * monitor named a more precise one. */
static struct bt_prof_ctx cause_begin(unsigned cause, uint32_t addr)
{
	struct bt_prof_ctx o = { 0, 0, 0, 0 };
	if (bt.prof)
		o = bt_prof_begin(cause, 0, addr, false);
	return o;
}

static void cause_end(struct bt_prof_ctx o)
{
	if (bt.prof)
		bt_prof_restore(o);
}

void bt_mapping_changed(void)
{
	struct bt_prof_ctx o = cause_begin(PROF_CAUSE_MAPPING, 0);
	unchain_volatile((bool (*)(const struct exit_rec *, uint32_t))0, 0, BT_IBL_KEEP_NONE);
	cause_end(o);
}

static bool keep_global(const struct exit_rec *x, uint32_t arg)
{
	(void)arg;
	return x->to_global;
}

void bt_mapping_changed_cr3(void)
{
	struct bt_prof_ctx o = cause_begin(PROF_CAUSE_CR3, 0);
	unchain_volatile(keep_global, 0, BT_IBL_KEEP_GLOBAL);
	cause_end(o);
}

/* A target block covers its first linear page and, if it crosses, the next. */
static bool keep_other_pages(const struct exit_rec *x, uint32_t page)
{
	const struct ccf *c = &bt.ccfs[x->to];
	uint32_t first = c->lin >> 12;
	return page != first && !(c->page[1] != NOPAGE && page == first + 1);
}

void bt_mapping_changed_page(uint32_t lin)
{
	struct bt_prof_ctx o = cause_begin(PROF_CAUSE_INVLPG, lin);
	unchain_volatile(keep_other_pages, lin >> 12, BT_IBL_KEEP_OTHER_PAGES);
	cause_end(o);
}

static void unchain_one(uint32_t exit_idx)
{
	struct exit_rec *x = &bt.exits[exit_idx];
	if (!x->to)
		return;
	uint32_t *pp = &bt.ccfs[x->to].in_head;
	while (*pp && *pp != exit_idx)
		pp = &bt.exits[*pp].in_next;
	if (*pp)
		*pp = x->in_next;
	bt_patch_rel32(x->patch, x->stub);
	x->to = 0;
	x->in_next = 0;
	stat_inc(&bts.chain_unpatched);
}

void bt_chain(uint32_t exit_idx, uint32_t to)
{
	struct exit_rec *x = &bt.exits[exit_idx];
	if (x->to || bt.ccfs[x->owner].dead || bt.ccfs[to].dead || bt.ccfs[x->owner].tf)
		return;
	bt_patch_rel32(x->patch, bt.ccfs[to].tc);
	x->to = to;
	x->in_next = bt.ccfs[to].in_head;
	bt.ccfs[to].in_head = exit_idx;
	stat_inc(&bts.chain_patched);
	if (bt.prof)
		bt_prof_chained(x->owner, to);
	/* Only a jump within the linear pages of its own block is sure to land
	 * on the same code after the guest remaps memory. */
	const struct ccf *o = &bt.ccfs[x->owner];
	uint32_t tp = bt.ccfs[to].lin >> 12, op = o->lin >> 12;
	if (tp != op && !(o->page[1] != NOPAGE && tp == op + 1)) {
		if (bt.nvolatile == bt.max_exit)
			bt_mapping_changed();
		const struct ccf *t = &bt.ccfs[to];
		x->to_global = bt.env.page_global && bt.env.page_global(bt.env.ctx, t->lin) &&
			       (t->page[1] == NOPAGE || bt.env.page_global(bt.env.ctx, t->lin + 0x1000));
		bt.volatile_exits[bt.nvolatile++] = exit_idx;
	}
}

void bt_unchain_incoming(uint32_t idx)
{
	for (uint32_t e = bt.ccfs[idx].in_head; e; e = bt.exits[e].in_next) {
		struct exit_rec *x = &bt.exits[e];
		if (x->to != idx)
			continue;
		if (bt.prof)
			bt_prof_unchained(x, PROF_WHY_TARGET_DEAD);
		bt_patch_rel32(x->patch, x->stub);
		x->to = 0;
		stat_inc(&bts.chain_unpatched);
	}
	bt.ccfs[idx].in_head = 0;
}

/* -profile: why this exit came to the monitor, known once its chain was
 * tried (the previous undoing of its chain, if any, says more). */
static void exit_why(const struct exit_rec *x, uint32_t tc, bool flushed)
{
	unsigned w = PROF_WHY_FIRST;
	bt.prof_exit_ev = 0;
	if (flushed)
		w = PROF_WHY_FLUSHED;
	else if (!tc)
		w = PROF_WHY_UNFETCHABLE;
	else if (bt.ccfs[x->owner].tf)
		w = PROF_WHY_SINGLE_STEP;
	else if (bt.ccfs[x->owner].dead)
		w = PROF_WHY_OWNER_DEAD;
	else if (!x->to)
		w = PROF_WHY_NOT_CHAINED;
	else if (x->unchain_why) {
		w = x->unchain_why;
		bt.prof_exit_ev = x->unchained_by;
	}
	bt.prof_exit_why = w;
}

uint32_t bt_exit_taken(uint32_t exit_idx, uint32_t *target_eip)
{
	stat_inc(&bts.exits);
	if (exit_idx == 0 || exit_idx >= bt.nexit) {
		bt.prof_exit_why = PROF_WHY_FLUSHED;
		return 0;
	}
	uint64_t epoch = bt.epoch;
	struct exit_rec *x = &bt.exits[exit_idx];
	uint32_t target = x->target_eip;
	*target_eip = target;
	if (bt_leaves_for_direct(target))
		return 0;
	uint32_t tc = bt_get(target);
	if (!tc || epoch != bt.epoch) {
		if (bt.prof)
			bt.prof_exit_why = tc ? PROF_WHY_FLUSHED : PROF_WHY_UNFETCHABLE;
		return tc;   /* flushed while translating: the exit is gone */
	}
	uint32_t to = bt_hash_find(bt.mode.cs_base + target, target);
	if (to)
		bt_chain(exit_idx, to);
	if (bt.prof)
		exit_why(x, tc, false);
	return tc;
}

static void patch32(uint32_t at, uint32_t v)
{
	uint8_t *p = tc_ptr(at);
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

/* The site predicts its first target (monomorphic sites are the common
 * case: a function returning to one caller, a jump table entry used from
 * one place); later misses go to the shared IBL, never back here. */
uint32_t bt_ic_learn(uint32_t exit_idx, uint32_t target)
{
	if (exit_idx == 0 || exit_idx >= bt.nexit)
		return 0;
	uint64_t epoch = bt.epoch;
	uint32_t tc = bt_ibl_miss(target);
	struct exit_rec *x = &bt.exits[exit_idx];
	if (!tc || epoch != bt.epoch || bt.ccfs[x->owner].dead || !x->ic_miss)
		return tc;
	/* An unlearned site predicts 0, and a jump to 0 may have chained its
	 * hit path: that chain would now serve the new prediction. */
	unchain_one(exit_idx);
	patch32(x->ic_neg, 0u - target);
	patch32(x->ic_pos, target);
	x->target_eip = target;
	bt_patch_rel32(x->ic_miss, bt.env.gate_ibl);
	uint32_t to = bt_hash_find(bt.mode.cs_base + target, target);
	if (to)
		bt_chain(exit_idx, to);
	stat_inc(&bts.ic_learned);
	return tc;
}
