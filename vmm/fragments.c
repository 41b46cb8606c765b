/* What the monitor says about each fragment it translates: the -trace bt
 * line, and the fragment-created event the world hears of (for perf maps),
 * numbered by generation as the profile numbers them.
 * Environment: monitor, host only through vm.w. */
#include "vm.h"
#include "study.h"
#include "profile.h"

/* Translations seen per (EIP, CPL, CS base), open addressing. A run of
 * Linux makes some 10^5 of them; past 7/8 full a new key gets generation 0
 * ("not counted") rather than a long probe. */
#define GEN_BITS 18u
#define GEN_SLOTS (1u << GEN_BITS)
static struct gen_slot { uint32_t eip, cs_base, count; uint8_t cpl, used; } gens[GEN_SLOTS];
static uint32_t gens_used;

static uint32_t next_generation(const struct bt_fragment *f)
{
	uint32_t h = (f->eip * 0x9e3779b1u) ^ (f->cs_base * 0x85ebca6bu) ^ f->cpl;
	for (uint32_t i = h >> (32 - GEN_BITS);; i = (i + 1) & (GEN_SLOTS - 1)) {
		struct gen_slot *s = &gens[i];
		if (!s->used) {
			if (gens_used >= GEN_SLOTS / 8 * 7)
				return 0;
			gens_used++;
			*s = (struct gen_slot){ .eip = f->eip, .cs_base = f->cs_base, .cpl = f->cpl, .used = 1 };
		}
		if (s->eip == f->eip && s->cs_base == f->cs_base && s->cpl == f->cpl)
			return ++s->count;
	}
}

static void translated(void *ctx, const struct bt_fragment *f)
{
	(void)ctx;
	if (vm.study)
		study_move(PROF_TB_TRANSLATE, f->cycles);
	if (vm.cfg.trace & VMX_TRACE_BT)
		vmm_logf("vmx: bt: eip %08x -> tc %08x: %u instructions, %u bytes", f->eip, f->tc, f->ninsn,
			 f->tc_len);
	if (vm.cfg.fragment_events && vm.w->fragment_created) {
		struct world_fragment wf = { .tc = f->tc, .tc_len = f->tc_len, .eip = f->eip,
					     .cs_base = f->cs_base, .cpl = f->cpl,
					     .generation = next_generation(f) };
		vm.w->fragment_created(&wf);
	}
}

bt_translate_fn vmm_fragment_hook(const struct vmm_config *cfg)
{
	gens_used = 0;
	__builtin_memset(gens, 0, sizeof gens);
	bool events = cfg->fragment_events && cfg->world->fragment_created;
	return (cfg->trace & VMX_TRACE_BT) || events || cfg->prof ? translated : (bt_translate_fn)0;
}
