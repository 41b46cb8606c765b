/* Translation cache and metadata allocation: a bump allocator over the TC
 * and over arrays carved from the arena; when any of them runs out the whole
 * cache is flushed (counted), as blocks are cheap to retranslate. */
#include "bt_internal.h"
#include "mon_area.h"
#include "profile.h"

struct bt_state bt;
struct bt_stats bts = {
	.tu_translated = {"bt.tu.translated", 0}, .insn_translated = {"bt.insn.translated", 0},
	.insn_ident = {"bt.insn.ident", 0}, .insn_inline = {"bt.insn.inline", 0},
	.insn_callout = {"bt.insn.callout", 0}, .guest_bytes = {"bt.guest.bytes", 0},
	.tc_bytes = {"bt.tc.bytes", 0}, .tc_flushes = {"bt.tc.flushes", 0},
	.chain_patched = {"bt.chain.patched", 0}, .chain_unpatched = {"bt.chain.unpatched", 0},
	.lookup_hit = {"bt.lookup.hit", 0}, .lookup_miss = {"bt.lookup.miss", 0},
	.ibl_miss = {"bt.ibl.miss", 0}, .invalidate_smc = {"bt.invalidate.smc", 0},
	.pages_traced = {"bt.pages.traced", 0}, .tu_cycles = {"bt.translate.cycles", 0},
	.exits = {"bt.exits", 0}, .ic_learned = {"bt.ic.learned", 0},
	.unchain_remap = {"bt.chain.unpatched_remap", 0}, .adaptive = {"bt.adaptive.retranslated", 0},
	.invalidate_break = {"bt.invalidate.breakpoint", 0},
	/* Named for the execution modes it measures (user code translated
	 * instead of run directly): DESIGN §8, -mode. */
	.tu_user = {"vmm.user.translated_blocks", 0},
};

static void *carve(uint8_t **p, size_t *left, size_t bytes)
{
	bytes = (bytes + 15) & ~(size_t)15;
	if (bytes > *left)
		return NULL;
	void *r = *p;
	*p += bytes;
	*left -= bytes;
	return r;
}

int bt_init(const struct bt_env *env)
{
	bt_decoder_init();
	bt.env = *env;
	if (!bt.env.max_tu_insns)
		bt.env.max_tu_insns = TUNE_TU_MAX_INSNS;
	uint8_t *p = env->meta;
	size_t left = env->meta_size;
	bt.max_ccf = env->tc_size / 24 + 16;
	bt.max_exit = bt.max_ccf * 2;
	bt.max_pc = env->tc_size / 3 + 64;
	bt.hash_mask = 65535;
	bt.max_traced = env->ram_pages;
	bt.ccfs = carve(&p, &left, sizeof(struct ccf) * bt.max_ccf);
	bt.exits = carve(&p, &left, sizeof(struct exit_rec) * bt.max_exit);
	bt.pcs = carve(&p, &left, sizeof(struct pcrec) * bt.max_pc);
	bt.hash = carve(&p, &left, sizeof(uint32_t) * (bt.hash_mask + 1));
	bt.page_head = carve(&p, &left, sizeof(uint32_t) * env->ram_pages);
	bt.traced = carve(&p, &left, sizeof(uint32_t) * env->ram_pages);
	bt.volatile_exits = carve(&p, &left, sizeof(uint32_t) * bt.max_exit);
	bt.ibl_used = carve(&p, &left, sizeof(uint32_t) * IBL_USED_MAX * 2);
	bt.ibl_global = carve(&p, &left, MON_IBLTAB_ENTRIES);
	if (!bt.ccfs || !bt.exits || !bt.pcs || !bt.hash || !bt.page_head || !bt.traced || !bt.volatile_exits ||
	    !bt.ibl_used || !bt.ibl_global)
		return -1;
	stat_counter *all = &bts.tu_translated;
	for (unsigned i = 0; i < sizeof(bts) / sizeof(stat_counter); i++)
		stats_register(&all[i]);
	for (uint32_t i = 0; i < env->ram_pages; i++)
		bt.page_head[i] = 0;
	bt.ntraced = 0;
	/* No fragments yet: a second bt_init (the unit tests do it) must not
	 * harvest the previous ones' counters into this arena at its flush. */
	bt.nccf = 0;
	bt.prof = NULL;
	bt.prof_top = env->tc_size;
	if (env->prof && bt_prof_init(env->prof, env->prof_size) != 0)
		return -1;
	bt.nibl_used_half[0] = bt.nibl_used_half[1] = IBL_USED_MAX + 1;   /* garbage: clear it all */
	bt.nccf = 1;
	bt.prof_cur.cause = PROF_CAUSE_NONE;
	bt.prof_cur.ev = 0;
	bt_flush_all();
	bts.tc_flushes.value = 0;   /* the initial reset is not a flush */
	return 0;
}

static void flush_all(void)
{
	if (bt.prof)
		bt_prof_harvest(true);
	for (uint32_t i = 0; i < bt.ntraced; i++) {
		bt.page_head[bt.traced[i]] = 0;
		bt.env.trace_code_page(bt.env.ctx, bt.traced[i], false);
	}
	bt.ntraced = 0;
	bt.nccf = 1;      /* index 0 means "none" */
	bt.nexit = 1;
	bt.nvolatile = 0;
	bt.npc = 0;
	bt.tc_used = 0;
	for (uint32_t i = 0; i <= bt.hash_mask; i++)
		bt.hash[i] = 0;
	bt_ibl_reset();
	bt.epoch++;
	bt.ndead = 0;
	stat_inc(&bts.tc_flushes);
}

static void flush_for(unsigned cause)
{
	if (!bt.prof) {
		flush_all();
		return;
	}
	struct bt_prof_ctx o = bt_prof_begin(cause, 0, 0, true);
	flush_all();
	bt_prof_restore(o);
}

void bt_flush_all(void) { flush_for(PROF_CAUSE_TC_FULL); }
void bt_flush(void) { flush_for(PROF_CAUSE_FLUSH); }
uint64_t bt_flush_epoch(void) { return bt.epoch; }
uint64_t bt_invalidations(void) { return bts.invalidate_smc.value; }

bool bt_room(uint32_t tc_bytes, uint32_t insns, uint32_t exits)
{
	/* With -profile one more counter slot comes off the TC's end. */
	return bt.tc_used + tc_bytes + (bt.prof ? 4 : 0) <= bt.prof_top && bt.nccf + 1 < bt.max_ccf &&
	       bt.npc + insns <= bt.max_pc && bt.nexit + exits < bt.max_exit;
}

bool bt_in_tc(uint32_t addr)
{
	return addr >= bt.env.tc_base && addr < bt.env.tc_base + bt.tc_used;
}

bool bt_limit_check_at(uint32_t tc, unsigned *seg)
{
	if (!bt.env.soft_limits || !bt_in_tc(tc) || tc + 7 > bt.env.tc_base + bt.tc_used)
		return false;
	const uint8_t *p = tc_ptr(tc);
	uint32_t disp = (uint32_t)p[3] | (uint32_t)p[4] << 8 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 24;
	/* bound %eax,%gs:MA_BND+8*seg (65 62 05 disp32): no other code in
	 * the TC is one (a guest's own bound is emulated). */
	if (p[0] != 0x65 || p[1] != 0x62 || p[2] != 0x05 || disp < MA_BND || disp >= MA_BND + 48 || (disp - MA_BND) % 8)
		return false;
	*seg = (disp - MA_BND) / 8;
	return true;
}

/* CCFs are laid out in the TC in allocation order, so a binary search over
 * their start addresses finds the one holding an address (0: none). */
uint32_t bt_ccf_at(uint32_t a)
{
	if (!bt_in_tc(a))
		return 0;
	uint32_t lo = 1, hi = bt.nccf - 1;
	while (lo < hi) {
		uint32_t mid = (lo + hi + 1) / 2;
		if (bt.ccfs[mid].tc <= a)
			lo = mid;
		else
			hi = mid - 1;
	}
	const struct ccf *c = &bt.ccfs[lo];
	return a >= c->tc && a < c->tc + c->tc_len ? lo : 0;
}

bool bt_pc_lookup(uint32_t a, struct bt_pc *out)
{
	uint32_t idx = bt_ccf_at(a);
	if (!idx)
		return false;
	const struct ccf *c = &bt.ccfs[idx];
	const struct pcrec *best = NULL;
	for (uint32_t i = 0; i < c->ninsn; i++) {
		const struct pcrec *r = &bt.pcs[c->pc_first + i];
		if (a >= r->tc && a < r->tc + r->tc_len) { best = r; break; }
	}
	if (!best)
		return false;   /* an exit stub: not an instruction */
	out->eip = best->eip;
	out->insn_tc = best->tc;
	/* After the limit checks the guest's state is the one before them. */
	out->boundary = a == best->tc || (best->chk && a == best->tc + best->chk);
	out->irq_shadow = best->flags & PC_NO_IRQ;
	out->ecx_in_scratch = (best->flags & PC_FIX_ECX) && a >= best->tc + best->fix;
	out->dead = c->dead;
	return true;
}
