/* vmx-report's study sections, computed once as JSON (text, --json and the
 * HTML page all show this object): the time split, exit stubs and callout
 * sites ranked by total cost, the exits never chained and why, invalidation
 * causes ranked by what they cost, occupancy over time, and the executed
 * instruction mix by Zydis category (execution counts x instructions).
 * Environment: host tool (libc, jansson, Zydis). */
#include "report.h"
#include "profile_file.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static json_t *ju(uint64_t v) { return json_integer((json_int_t)v); }

/* ---- sort helpers over index arrays ---- */

static const uint64_t *g_key;
static int by_key_desc(const void *x, const void *y)
{
	size_t i = *(const size_t *)x, j = *(const size_t *)y;
	if (g_key[i] != g_key[j]) return g_key[i] > g_key[j] ? -1 : 1;
	return i < j ? -1 : i > j;
}

static size_t *order_desc(const uint64_t *key, size_t n)
{
	size_t *v = malloc((n ? n : 1) * sizeof *v);
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++)
		v[i] = i;
	g_key = key;
	qsort(v, n, sizeof *v, by_key_desc);
	return v;
}

static const struct pf_frag *frag_by_id(const struct pf_file *p, uint32_t id)
{
	/* Fragments are listed in creation (id) order. */
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (p->frags[mid].id < id) lo = mid + 1;
		else hi = mid;
	}
	return lo < p->n && p->frags[lo].id == id ? &p->frags[lo] : NULL;
}

/* ---- sections ---- */

static json_t *time_section(const struct pf_study *s)
{
	uint64_t total = 0;
	for (unsigned b = 0; b < PROF_NBUCKETS; b++)
		total += s->time_cycles[b];
	json_t *rows = json_array();
	size_t *o = order_desc(s->time_cycles, PROF_NBUCKETS);
	for (unsigned i = 0; o && i < PROF_NBUCKETS; i++) {
		unsigned b = (unsigned)o[i];
		/* Every row of time_buckets.def, and the callout/trap kinds that ran. */
		if (!prof_bucket_name(b) || (b >= PROF_TB_CALLOUT && !s->time_cycles[b]))
			continue;
		json_array_append_new(rows, json_pack("{s:s, s:o, s:o, s:f}", "bucket", prof_bucket_name(b), "cycles",
						      ju(s->time_cycles[b]), "entries", ju(s->time_entries[b]), "share",
						      total ? (double)s->time_cycles[b] / (double)total : 0.0));
	}
	free(o);
	uint64_t overhead = s->stamps * s->stamp_cycles;
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:f, s:o}", "total_cycles", ju(total), "tsc_hz", ju(s->tsc_hz),
			 "wall_ns", ju(s->wall_ns), "stamps", ju(s->stamps), "stamp_cycles", ju(s->stamp_cycles),
			 "overhead_cycles", ju(overhead), "overhead_share",
			 total ? (double)overhead / (double)total : 0.0, "buckets", rows);
}

static json_t *site_json(const struct pf_file *p, const struct pf_site *x)
{
	const struct pf_frag *f = x->kind == CO_IBL_MISS ? NULL : frag_by_id(p, x->frag);
	json_t *whys = json_array();
	for (unsigned w = 0; w < PROF_NWHY; w++)
		if (x->whys & (1u << w))
			json_array_append_new(whys, json_string(prof_why_name(w)));
	json_t *o = json_pack("{s:o, s:o, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "fragment", ju(x->frag),
			      "tc_offset", ju(x->tcoff), "eip", ju(x->eip), "kind", co_kind_name(x->kind),
			      "why", prof_why_name(x->why), "whys", whys, "taken", ju(x->taken), "cycles", ju(x->cycles),
			      "cycles_per", ju(x->taken ? x->cycles / x->taken : 0), "chained", ju(x->chained));
	if (f) {
		json_object_set_new(o, "fragment_pc", ju(f->pc));
		json_object_set_new(o, "cpl", ju(f->cpl));
	}
	return o;
}

static json_t *sites_section(const struct pf_file *p, unsigned top)
{
	const struct pf_study *s = &p->study;
	uint64_t *cyc = malloc((s->nsites ? s->nsites : 1) * sizeof *cyc);
	if (!cyc)
		return json_null();
	uint64_t kcyc[CO_NKINDS] = { 0 }, ktaken[CO_NKINDS] = { 0 }, ksites[CO_NKINDS] = { 0 };
	/* Exit stubs never chained, by the reason of their latest taking. */
	uint64_t wsites[PROF_NWHY] = { 0 }, wtaken[PROF_NWHY] = { 0 }, wcyc[PROF_NWHY] = { 0 };
	for (size_t i = 0; i < s->nsites; i++) {
		const struct pf_site *x = &s->sites[i];
		cyc[i] = x->cycles;
		kcyc[x->kind] += x->cycles;
		ktaken[x->kind] += x->taken;
		ksites[x->kind]++;
		if (x->kind == CO_EXIT && !x->chained) {
			wsites[x->why]++;
			wtaken[x->why] += x->taken;
			wcyc[x->why] += x->cycles;
		}
	}
	json_t *kinds = json_array();
	size_t *ko = order_desc(kcyc, CO_NKINDS);
	for (unsigned i = 0; ko && i < CO_NKINDS; i++)
		if (ksites[ko[i]])
			json_array_append_new(kinds, json_pack("{s:s, s:o, s:o, s:o}", "kind", co_kind_name((unsigned)ko[i]),
							       "sites", ju(ksites[ko[i]]), "taken", ju(ktaken[ko[i]]),
							       "cycles", ju(kcyc[ko[i]])));
	free(ko);
	json_t *top_sites = json_array(), *never = json_array(), *never_top = json_array();
	size_t *so = order_desc(cyc, s->nsites);
	for (size_t i = 0; so && i < s->nsites && i < top; i++)
		json_array_append_new(top_sites, site_json(p, &s->sites[so[i]]));
	for (size_t i = 0, k = 0; so && i < s->nsites && k < top; i++) {
		const struct pf_site *x = &s->sites[so[i]];
		if (x->kind == CO_EXIT && !x->chained) {
			json_array_append_new(never_top, site_json(p, x));
			k++;
		}
	}
	free(so);
	size_t *wo = order_desc(wcyc, PROF_NWHY);
	for (unsigned i = 0; wo && i < PROF_NWHY; i++)
		if (wsites[wo[i]])
			json_array_append_new(never, json_pack("{s:s, s:o, s:o, s:o}", "why", prof_why_name((unsigned)wo[i]),
							       "sites", ju(wsites[wo[i]]), "taken", ju(wtaken[wo[i]]),
							       "cycles", ju(wcyc[wo[i]])));
	free(wo);
	free(cyc);
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "sites", ju(s->nsites), "sites_dropped", ju(s->sites_dropped),
			 "by_kind", kinds, "top", top_sites, "never_chained", never, "never_chained_top", never_top);
}

static json_t *causes_section(const struct pf_file *p, unsigned top)
{
	const struct pf_study *s = &p->study;
	uint64_t cost[PROF_NCAUSES];
	for (unsigned c = 0; c < PROF_NCAUSES; c++)
		cost[c] = s->causes[c].retrans + s->causes[c].rechain;
	json_t *rows = json_array();
	size_t *o = order_desc(cost, PROF_NCAUSES);
	for (unsigned i = 0; o && i < PROF_NCAUSES; i++) {
		const struct pf_cause *c = &s->causes[o[i]];
		if (!c->events)
			continue;
		json_array_append_new(rows, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "cause",
						      prof_cause_name((unsigned)o[i]), "events", ju(c->events), "killed",
						      ju(c->killed), "unchained", ju(c->unchained), "retranslate_cycles",
						      ju(c->retrans), "rechain_cycles", ju(c->rechain), "cost", ju(cost[o[i]])));
	}
	free(o);
	uint64_t *ec = malloc((s->nevents ? s->nevents : 1) * sizeof *ec);
	json_t *evs = json_array();
	for (size_t i = 0; ec && i < s->nevents; i++)
		ec[i] = s->events[i].retrans + s->events[i].rechain;
	size_t *eo = ec ? order_desc(ec, s->nevents) : NULL;
	for (size_t i = 0; eo && i < s->nevents && i < top; i++) {
		const struct pf_event *e = &s->events[eo[i]];
		json_array_append_new(evs, json_pack("{s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id", ju(e->id),
						     "cause", prof_cause_name(e->cause), "eip", ju(e->eip), "addr",
						     ju(e->addr), "killed", ju(e->killed), "unchained", ju(e->unchained),
						     "retranslate_cycles", ju(e->retrans), "rechain_cycles", ju(e->rechain),
						     "tsc", ju(e->tsc)));
	}
	free(eo);
	free(ec);
	return json_pack("{s:o, s:o, s:o}", "events_logged", ju(s->nevents), "by_cause", rows, "top_events", evs);
}

static json_t *occupancy_section(const struct pf_study *s)
{
	json_t *t = json_array(), *b = json_array(), *l = json_array(), *fl = json_array(), *inv = json_array(),
	       *fr = json_array();
	for (size_t i = 0; i < s->nsamples; i++) {
		const struct prof_sample *x = &s->samples[i];
		json_array_append_new(t, ju(x->t_ns));
		json_array_append_new(b, ju(x->tc_bytes));
		json_array_append_new(l, ju(x->live));
		json_array_append_new(fl, ju(x->flushes));
		json_array_append_new(inv, ju(x->invalidations));
		json_array_append_new(fr, ju(x->fragments));
	}
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "period_ns", ju(s->period_ns), "samples",
			 ju(s->nsamples), "t_ns", t, "tc_bytes", b, "live", l, "fragments", fr, "flushes", fl,
			 "invalidations", inv);
}

/* Executed guest instructions by Zydis category (QEMU's howvec gives the
 * same by opcode class): each instruction of a fragment counts the
 * fragment's executions. An early exit from a fragment's middle still
 * counts its tail: an upper bound for instructions after a conditional
 * exit. */
static json_t *mix_section(const struct pf_file *p)
{
	ZydisDecoder dec;
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
	uint64_t cat[ZYDIS_CATEGORY_MAX_VALUE + 1] = { 0 }, total = 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct pf_frag *f = &p->frags[i];
		if (!f->execs)
			continue;
		for (uint32_t k = 0; k < f->insns; k++) {
			uint32_t g0 = f->map[k].goff, g1 = k + 1 < f->insns ? f->map[k + 1].goff : f->glen;
			ZydisDecodedInstruction in;
			unsigned c = ZYDIS_CATEGORY_INVALID;
			if (ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, (ZydisDecoderContext *)ZYAN_NULL, &f->guest[g0],
									g1 - g0, &in)))
				c = in.meta.category;
			cat[c <= ZYDIS_CATEGORY_MAX_VALUE ? c : 0] += f->execs;
			total += f->execs;
		}
	}
	json_t *rows = json_array();
	size_t *o = order_desc(cat, ZYDIS_CATEGORY_MAX_VALUE + 1);
	for (unsigned i = 0; o && i <= ZYDIS_CATEGORY_MAX_VALUE; i++) {
		if (!cat[o[i]])
			continue;
		const char *name = ZydisCategoryGetString((ZydisInstructionCategory)o[i]);
		json_array_append_new(rows, json_pack("{s:s, s:o, s:f}", "category", name ? name : "?", "executed",
						      ju(cat[o[i]]), "share", total ? (double)cat[o[i]] / (double)total : 0.0));
	}
	free(o);
	return json_pack("{s:o, s:o}", "executed", ju(total), "by_category", rows);
}

/* ---- per-PC time by execution mode (vmx-profile-3) ----
 * Translated code: instructions counted (executions x instructions, the
 * mix's upper bound), cycles estimated (the tc bucket shared out by the
 * host timer's samples in each fragment's TC bytes). Direct code: cycles
 * measured (each entry, or resumption, to the next trap goes to the page
 * entered), instructions estimated (cycles at the host's cycles per
 * instruction on the monitor's calibration loop). */

struct pg { uint32_t page, cpl; uint64_t tc_samples, tc_insns, d_cycles, d_entries, d_samples; double tc_cycles, total; };

static int pg_cmp(const void *x, const void *y)
{
	const struct pg *a = x, *b = y;
	if (a->page != b->page) return a->page < b->page ? -1 : 1;
	return a->cpl < b->cpl ? -1 : a->cpl > b->cpl;
}

static const double *g_dkey;
static int by_dkey_desc(const void *x, const void *y)
{
	size_t i = *(const size_t *)x, j = *(const size_t *)y;
	if (g_dkey[i] != g_dkey[j]) return g_dkey[i] > g_dkey[j] ? -1 : 1;
	return i < j ? -1 : i > j;
}

static json_t *jest(double v) { return json_real(v); }
static json_t *cpi(double cyc, double insns) { return insns > 0 ? json_real(cyc / insns) : json_null(); }

static json_t *modes_section(const struct pf_file *p, unsigned top)
{
	const struct pf_study *s = &p->study;
	double tc_cyc = (double)s->time_cycles[PROF_TB_TC], d_cyc = (double)s->time_cycles[PROF_TB_DIRECT];
	double per_sample = s->tc_samples ? tc_cyc / (double)s->tc_samples : 0.0;
	double calib = s->calib_insns ? (double)s->calib_cycles / (double)s->calib_insns : 0.0;
	uint64_t tc_insns = 0;
	for (size_t i = 0; i < p->n; i++)
		tc_insns += p->frags[i].execs * p->frags[i].insns;
	tc_insns += p->other.execs ? p->other.execs * (p->other.nfrag ? p->other.insns / p->other.nfrag : 0) : 0;
	double d_insns = calib > 0 ? d_cyc / calib : 0.0;
	json_t *modes = json_array();
	json_array_append_new(modes, json_pack("{s:s, s:o, s:b, s:o, s:b, s:o}", "mode", "tc", "cycles", ju((uint64_t)tc_cyc),
					       "cycles_estimated", 0, "instructions", ju(tc_insns), "instructions_estimated", 0,
					       "cpi", cpi(tc_cyc, (double)tc_insns)));
	json_array_append_new(modes, json_pack("{s:s, s:o, s:b, s:o, s:b, s:o}", "mode", "direct", "cycles",
					       ju((uint64_t)d_cyc), "cycles_estimated", 0, "instructions", jest(d_insns),
					       "instructions_estimated", 1, "cpi", cpi(d_cyc, d_insns)));

	/* Pages: the fragments' by linear page of their first instruction, and the direct pages. */
	size_t cap = p->n + s->ndpages, n = 0;
	struct pg *v = calloc(cap ? cap : 1, sizeof *v);
	if (!v)
		return json_null();
	for (size_t i = 0; i < p->n; i++) {
		const struct pf_frag *f = &p->frags[i];
		if (!f->samples && !f->execs)
			continue;
		v[n++] = (struct pg){ .page = (f->cs_base + f->pc) & ~0xfffu, .cpl = f->cpl, .tc_samples = f->samples,
				      .tc_insns = f->execs * f->insns };
	}
	for (size_t i = 0; i < s->ndpages; i++) {
		const struct pf_dpage *d = &s->dpages[i];
		v[n++] = (struct pg){ .page = d->page, .cpl = d->cpl, .d_cycles = d->cycles, .d_entries = d->entries,
				      .d_samples = d->samples };
	}
	qsort(v, n, sizeof *v, pg_cmp);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && v[m - 1].page == v[i].page && v[m - 1].cpl == v[i].cpl) {
			struct pg *o = &v[m - 1];
			o->tc_samples += v[i].tc_samples;
			o->tc_insns += v[i].tc_insns;
			o->d_cycles += v[i].d_cycles;
			o->d_entries += v[i].d_entries;
			o->d_samples += v[i].d_samples;
		} else {
			v[m++] = v[i];
		}
	}
	double *key = malloc((m ? m : 1) * sizeof *key);
	size_t *o = malloc((m ? m : 1) * sizeof *o);
	json_t *pages = json_array();
	for (size_t i = 0; key && o && i < m; i++) {
		v[i].tc_cycles = (double)v[i].tc_samples * per_sample;
		key[i] = v[i].tc_cycles + (double)v[i].d_cycles;
		o[i] = i;
	}
	if (key && o) {
		g_dkey = key;
		qsort(o, m, sizeof *o, by_dkey_desc);
	}
	for (size_t i = 0; key && o && i < m && i < top; i++) {
		const struct pg *x = &v[o[i]];
		double di = calib > 0 ? (double)x->d_cycles / calib : 0.0;
		json_array_append_new(pages, json_pack("{s:o, s:o, s:{s:o, s:o, s:o, s:o}, s:{s:o, s:o, s:o, s:o, s:o}}",
			"page", ju(x->page), "cpl", ju(x->cpl),
			"tc", "samples", ju(x->tc_samples), "cycles_est", jest(x->tc_cycles), "instructions", ju(x->tc_insns),
			"cpi_est", cpi(x->tc_cycles, (double)x->tc_insns),
			"direct", "cycles", ju(x->d_cycles), "entries", ju(x->d_entries), "samples", ju(x->d_samples),
			"instructions_est", jest(di), "cpi_est", cpi((double)x->d_cycles, di)));
	}
	free(key);
	free(o);
	free(v);

	/* Translated fragments by estimated cycles (samples), then by work. */
	uint64_t *fk = malloc((p->n ? p->n : 1) * sizeof *fk);
	json_t *frags = json_array();
	for (size_t i = 0; fk && i < p->n; i++)
		fk[i] = ((uint64_t)p->frags[i].samples << 40) + (p->frags[i].execs * p->frags[i].insns & ((1ull << 40) - 1));
	size_t *fo = fk ? order_desc(fk, p->n) : NULL;
	for (size_t i = 0; fo && i < p->n && i < top; i++) {
		const struct pf_frag *f = &p->frags[fo[i]];
		if (!f->samples)
			break;
		double c = (double)f->samples * per_sample;
		json_array_append_new(frags, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id", ju(f->id), "pc",
						       ju(f->pc), "cpl", ju(f->cpl), "samples", ju(f->samples), "cycles_est",
						       jest(c), "instructions", ju(f->execs * f->insns), "cpi_est",
						       cpi(c, (double)(f->execs * f->insns))));
	}
	free(fo);
	free(fk);
	return json_pack("{s:o, s:o, s:o, s:o, s:f, s:o, s:o, s:o}", "tc_samples", ju(s->tc_samples), "tc_unattributed",
			 ju(s->tc_unattributed), "direct_samples", ju(s->direct_samples), "direct_pages_dropped",
			 ju(s->dpages_dropped), "calibration_cpi", calib, "modes", modes, "pages", pages, "fragments", frags);
}

json_t *study_json(const struct pf_file *p, unsigned top)
{
	if (!p->study.present)
		return NULL;
	json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:o}", "time", time_section(&p->study), "exits", sites_section(p, top),
			      "invalidations", causes_section(p, top), "occupancy", occupancy_section(&p->study), "mix",
			      mix_section(p));
	if (p->study.pcs)
		json_object_set_new(o, "by_mode", modes_section(p, top));
	return o;
}

/* ---- text ---- */

static uint64_t gu(json_t *o, const char *k) { return (uint64_t)json_integer_value(json_object_get(o, k)); }
static const char *gs(json_t *o, const char *k) { const char *s = json_string_value(json_object_get(o, k)); return s ? s : "?"; }

static double mcyc(uint64_t c) { return (double)c / 1e6; }

void study_text(FILE *out, json_t *st)
{
	if (!st)
		return;
	json_t *t = json_object_get(st, "time"), *v;
	size_t i;
	uint64_t total = gu(t, "total_cycles"), hz = gu(t, "tsc_hz");
	fprintf(out, "\nwhere the time went: %.1f Mcycles", mcyc(total));
	if (hz)
		fprintf(out, " (%.3f s at %.2f GHz)", (double)total / (double)hz, (double)hz / 1e9);
	fprintf(out, "; measuring it took %" PRIu64 " stamps x %" PRIu64 " cycles = %.2f%%\n", gu(t, "stamps"),
		gu(t, "stamp_cycles"), 100.0 * json_real_value(json_object_get(t, "overhead_share")));
	json_array_foreach(json_object_get(t, "buckets"), i, v)
		fprintf(out, "  %-20s %14.3f Mcycles %6.2f%%  %12" PRIu64 " entries\n", gs(v, "bucket"), mcyc(gu(v, "cycles")),
			100.0 * json_real_value(json_object_get(v, "share")), gu(v, "entries"));

	json_t *e = json_object_get(st, "exits");
	fprintf(out, "\nexits and callouts by kind (%" PRIu64 " sites; monitor cycles from entering to leaving it)\n",
		gu(e, "sites"));
	json_array_foreach(json_object_get(e, "by_kind"), i, v)
		fprintf(out, "  %-10s %8" PRIu64 " sites %12" PRIu64 " taken %14.3f Mcycles  %8.0f per taking\n",
			gs(v, "kind"), gu(v, "sites"), gu(v, "taken"), mcyc(gu(v, "cycles")),
			gu(v, "taken") ? (double)gu(v, "cycles") / (double)gu(v, "taken") : 0.0);
	fprintf(out, "\nsites ranked by total cost\n  %-8s %-8s %-5s %-10s %-10s %-20s %10s %12s %8s\n", "frag pc", "site",
		"cpl", "kind", "eip", "why (latest)", "taken", "cycles", "per");
	json_array_foreach(json_object_get(e, "top"), i, v)
		fprintf(out, "  %08" PRIx64 " +%-7" PRIu64 " %-5s %-10s %08" PRIx64 "   %-20s %10" PRIu64 " %12" PRIu64 " %8" PRIu64 "\n",
			gu(v, "fragment_pc"), gu(v, "tc_offset"), json_object_get(v, "cpl") ? (gu(v, "cpl") ? "3" : "0") : "-",
			gs(v, "kind"), gu(v, "eip"), gs(v, "why"), gu(v, "taken"), gu(v, "cycles"), gu(v, "cycles_per"));
	fprintf(out, "\nexit stubs never chained, by why\n");
	json_array_foreach(json_object_get(e, "never_chained"), i, v)
		fprintf(out, "  %-20s %8" PRIu64 " sites %12" PRIu64 " taken %14.3f Mcycles\n", gs(v, "why"), gu(v, "sites"),
			gu(v, "taken"), mcyc(gu(v, "cycles")));
	json_array_foreach(json_object_get(e, "never_chained_top"), i, v)
		fprintf(out, "    exit of %08" PRIx64 " to %08" PRIx64 ": %s, taken %" PRIu64 ", %" PRIu64 " cycles\n",
			gu(v, "fragment_pc"), gu(v, "eip"), gs(v, "why"), gu(v, "taken"), gu(v, "cycles"));

	json_t *inv = json_object_get(st, "invalidations");
	fprintf(out, "\ninvalidation causes ranked by cost (retranslation of the next generation + exits re-taken)\n");
	fprintf(out, "  %-11s %8s %9s %10s %16s %14s %14s\n", "cause", "events", "killed", "unchained", "retranslate cyc",
		"rechain cyc", "cost");
	json_array_foreach(json_object_get(inv, "by_cause"), i, v)
		fprintf(out, "  %-11s %8" PRIu64 " %9" PRIu64 " %10" PRIu64 " %16" PRIu64 " %14" PRIu64 " %14" PRIu64 "\n",
			gs(v, "cause"), gu(v, "events"), gu(v, "killed"), gu(v, "unchained"), gu(v, "retranslate_cycles"),
			gu(v, "rechain_cycles"), gu(v, "cost"));
	fprintf(out, "  costliest events (%" PRIu64 " logged)\n", gu(inv, "events_logged"));
	json_array_foreach(json_object_get(inv, "top_events"), i, v)
		fprintf(out, "    #%-6" PRIu64 " %-10s eip %08" PRIx64 " addr %08" PRIx64 ": %" PRIu64 " killed, %" PRIu64
			" unchained, %" PRIu64 " + %" PRIu64 " cycles\n", gu(v, "id"), gs(v, "cause"), gu(v, "eip"),
			gu(v, "addr"), gu(v, "killed"), gu(v, "unchained"), gu(v, "retranslate_cycles"), gu(v, "rechain_cycles"));

	json_t *oc = json_object_get(st, "occupancy");
	size_t n = (size_t)gu(oc, "samples");
	fprintf(out, "\noccupancy: %zu samples, one per %.0f ms of guest time\n", n, (double)gu(oc, "period_ns") / 1e6);
	fprintf(out, "  %10s %10s %8s %10s %8s %13s\n", "guest ms", "TC bytes", "live", "fragments", "flushes", "invalidations");
	size_t step = n > 12 ? n / 12 : 1;
	for (size_t k = 0; k < n; k += step) {
		size_t j = k + step >= n ? n - 1 : k;
#define AT(key) (uint64_t)json_integer_value(json_array_get(json_object_get(oc, key), j))
		fprintf(out, "  %10.1f %10" PRIu64 " %8" PRIu64 " %10" PRIu64 " %8" PRIu64 " %13" PRIu64 "\n",
			(double)AT("t_ns") / 1e6, AT("tc_bytes"), AT("live"), AT("fragments"), AT("flushes"),
			AT("invalidations"));
#undef AT
		if (j == n - 1)
			break;
	}

	json_t *bm = json_object_get(st, "by_mode");
	if (bm) {
		fprintf(out, "\nhot code by execution mode: cycles per guest instruction\n"
			"  translated (tc): instructions counted (executions x instructions), cycles ESTIMATED from %" PRIu64
			" host timer samples (%" PRIu64 " outside fragments)\n"
			"  direct: cycles measured (each entry or resumption to the next trap goes to that page), instructions\n"
			"  ESTIMATED at the host's %.3f cycles per instruction on a calibration loop (no instruction counter on this host)\n",
			gu(bm, "tc_samples"), gu(bm, "tc_unattributed"), json_real_value(json_object_get(bm, "calibration_cpi")));
		fprintf(out, "  %-8s %16s %20s %10s\n", "mode", "Mcycles", "instructions", "CPI");
		json_array_foreach(json_object_get(bm, "modes"), i, v) {
			bool ie = json_is_true(json_object_get(v, "instructions_estimated"));
			json_t *ins = json_object_get(v, "instructions"), *c = json_object_get(v, "cpi");
			double insd = json_is_integer(ins) ? (double)json_integer_value(ins) : json_real_value(ins);
			fprintf(out, "  %-8s %16.3f %16.0f%s %8.2f%s\n", gs(v, "mode"), mcyc(gu(v, "cycles")), insd,
				ie ? " est" : "    ", json_is_real(c) ? json_real_value(c) : 0.0, ie ? " est" : "    ");
		}
		fprintf(out, "  hot pages (linear, by cycles; tc cycles and CPI estimated, direct instructions and CPI estimated)\n"
			"  %-8s %3s | %7s %12s %14s %8s | %12s %9s %7s %14s %8s\n", "page", "cpl", "tc smp",
			"Mcyc est", "instructions", "CPI est", "direct Mcyc", "entries", "smp", "insns est", "CPI est");
		json_array_foreach(json_object_get(bm, "pages"), i, v) {
			json_t *t = json_object_get(v, "tc"), *d = json_object_get(v, "direct");
			json_t *tcpi = json_object_get(t, "cpi_est"), *dcpi = json_object_get(d, "cpi_est");
			fprintf(out, "  %08" PRIx64 " %3" PRIu64 " | %7" PRIu64 " %12.3f %14" PRIu64, gu(v, "page"), gu(v, "cpl"),
				gu(t, "samples"), json_real_value(json_object_get(t, "cycles_est")) / 1e6, gu(t, "instructions"));
			if (json_is_real(tcpi)) fprintf(out, " %8.2f", json_real_value(tcpi)); else fprintf(out, " %8s", "-");
			fprintf(out, " | %12.3f %9" PRIu64 " %7" PRIu64 " %14.0f", mcyc(gu(d, "cycles")), gu(d, "entries"),
				gu(d, "samples"), json_real_value(json_object_get(d, "instructions_est")));
			if (json_is_real(dcpi)) fprintf(out, " %8.2f\n", json_real_value(dcpi)); else fprintf(out, " %8s\n", "-");
		}
		fprintf(out, "  hot translated fragments by samples\n  %-8s %-9s %3s %8s %12s %14s %8s\n", "id", "pc", "cpl",
			"samples", "Mcyc est", "instructions", "CPI est");
		json_array_foreach(json_object_get(bm, "fragments"), i, v) {
			json_t *c = json_object_get(v, "cpi_est");
			fprintf(out, "  %-8" PRIu64 " %08" PRIx64 "  %3" PRIu64 " %8" PRIu64 " %12.3f %14" PRIu64 " %8.2f\n",
				gu(v, "id"), gu(v, "pc"), gu(v, "cpl"), gu(v, "samples"),
				json_real_value(json_object_get(v, "cycles_est")) / 1e6, gu(v, "instructions"),
				json_is_real(c) ? json_real_value(c) : 0.0);
		}
	}

	json_t *mx = json_object_get(st, "mix");
	fprintf(out, "\ninstruction mix: %" PRIu64 " guest instructions executed, by category\n", gu(mx, "executed"));
	json_array_foreach(json_object_get(mx, "by_category"), i, v)
		fprintf(out, "  %-16s %14" PRIu64 " %6.2f%%\n", gs(v, "category"), gu(v, "executed"),
			100.0 * json_real_value(json_object_get(v, "share")));
}
