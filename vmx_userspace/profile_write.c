/* The -profile file: the monitor's fragment records (include/profile.h) as
 * JSON, with each record's generation (its ordinal among the translations
 * of the same guest PC and mode) and the bound on the number listed.
 * Environment: vmx process (libc), after the guest stopped. */
#define _GNU_SOURCE
#include "profile_file.h"
#include "outfile.h"
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_NAME(i, s) s,
static const char *const class_names[] = { PROF_CLASSES(ROW_NAME) };
static const char *const state_names[] = { PROF_STATES(ROW_NAME) };

static const struct prof_rec *g_recs;   /* for the qsort comparators */

static int by_pc(const void *x, const void *y)
{
	const struct prof_rec *a = &g_recs[*(const uint32_t *)x], *b = &g_recs[*(const uint32_t *)y];
	if (a->cs_base != b->cs_base) return a->cs_base < b->cs_base ? -1 : 1;
	if (a->eip != b->eip) return a->eip < b->eip ? -1 : 1;
	if (a->cpl != b->cpl) return a->cpl < b->cpl ? -1 : 1;
	return *(const uint32_t *)x < *(const uint32_t *)y ? -1 : 1;   /* creation order */
}

static uint64_t heat(const struct prof_rec *r) { return r->execs * r->ninsn; }

static int by_heat(const void *x, const void *y)
{
	uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
	uint64_t a = heat(&g_recs[i]), b = heat(&g_recs[j]);
	if (a != b) return a > b ? -1 : 1;
	return i < j ? -1 : 1;
}

static int by_id(const void *x, const void *y)
{
	uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
	return i < j ? -1 : i > j;
}

static void hex(FILE *f, const uint8_t *p, uint32_t n)
{
	fputc('"', f);
	for (uint32_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fputc('"', f);
}

static void mix(FILE *f, const uint32_t *nclass)
{
	fprintf(f, "\"%s\": {", PK_MIX);
	for (unsigned k = 0; k < PROF_NCLASSES; k++)
		fprintf(f, "%s\"%s\": %" PRIu32, k ? ", " : "", class_names[k], nclass[k]);
	fputc('}', f);
}

static uint32_t cause_of(const struct prof_study *st, uint32_t code)
{
	if (code & PROF_EV_CAUSE)
		return code & ~PROF_EV_CAUSE;
	return code && code <= st->nevents && st->events ? st->events[code - 1].cause : PROF_CAUSE_NONE;
}

static void fragment(FILE *f, const struct prof_arena *a, uint32_t id, uint32_t gen, bool last)
{
	const struct prof_rec *r = &a->recs[id];
	uint32_t kb = r->killed_by & PROF_EV_CAUSE ? 0 : r->killed_by;
	fprintf(f, "    {\"%s\": %" PRIu32 ", \"%s\": %" PRIu32 ", \"%s\": %u, \"%s\": %" PRIu32 ", \"%s\": \"%s\",\n",
		PK_ID, id, PK_PC, r->eip, PK_CPL, r->cpl, PK_CS_BASE, r->cs_base, PK_STATE,
		state_names[r->state < 3 ? r->state : 0]);
	fprintf(f, "     \"%s\": %" PRIu32 ", \"%s\": %" PRIu32 ", \"%s\": ", PK_INSNS, r->ninsn, PK_GUEST_LEN, r->glen,
		PK_GUEST);
	hex(f, prof_guest(a, r), r->glen);
	fprintf(f, ",\n     \"%s\": %" PRIu32 ", \"%s\": %" PRIu32 ", \"%s\": ", PK_TC, r->tc, PK_TC_LEN, r->tc_len,
		PK_TC_BYTES);
	hex(f, prof_tc(a, r), r->tc_len);
	fputs(",\n     ", f);
	mix(f, r->nclass);
	fprintf(f, ", \"%s\": [", PK_MAP);
	const struct prof_insn *m = prof_insns(a, r);
	for (uint32_t i = 0; i < r->ninsn; i++)
		fprintf(f, "%s[%u, %u, \"%s\"]", i ? ", " : "", m[i].goff, m[i].tcoff,
			class_names[m[i].cls < PROF_NCLASSES ? m[i].cls : 0]);
	fprintf(f, "],\n     \"%s\": %" PRIu64 ", \"%s\": %" PRIu32 ", \"%s\": %" PRIu32 ", \"%s\": %" PRIu64
		", \"%s\": %" PRIu32 ", \"%s\": %" PRIu32 ", \"%s\": \"%s\", \"%s\": %" PRIu32 "}%s\n",
		PK_EXECS, r->execs, PK_CHAINS_IN, r->chains_in, PK_CHAINS_OUT, r->chains_out, PK_CYCLES, r->cycles,
		PK_GENERATION, gen, PK_KILLED_BY, kb, PK_KILLED_CAUSE, prof_cause_name(cause_of(&a->study, r->killed_by)),
		PK_SAMPLES_F, r->samples, last ? "" : ",");
}

static void add_into(struct prof_rec *o, const struct prof_rec *r)
{
	o->nfrag += r->nfrag;
	o->ninsn += r->ninsn;
	o->glen += r->glen;
	o->tc_len += r->tc_len;
	o->execs += r->execs;
	o->cycles += r->cycles;
	o->chains_in += r->chains_in;
	o->chains_out += r->chains_out;
	o->samples += r->samples;
	for (unsigned k = 0; k < PROF_NCLASSES; k++)
		o->nclass[k] += r->nclass[k];
}

static void study_time(FILE *f, const struct prof_study *st)
{
	fprintf(f, " \"%s\": {\"%s\": {", PK_TIME, PK_T_CYCLES);
	bool first = true;
	for (unsigned b = 0; b < PROF_NBUCKETS; b++)
		if (prof_bucket_name(b)) {
			fprintf(f, "%s\"%s\": %" PRIu64, first ? "" : ", ", prof_bucket_name(b), st->time_cycles[b]);
			first = false;
		}
	fprintf(f, "},\n  \"%s\": {", PK_T_ENTRIES);
	first = true;
	for (unsigned b = 0; b < PROF_NBUCKETS; b++)
		if (prof_bucket_name(b)) {
			fprintf(f, "%s\"%s\": %" PRIu64, first ? "" : ", ", prof_bucket_name(b), st->time_entries[b]);
			first = false;
		}
	uint64_t ns = st->ns_end > st->ns_start ? st->ns_end - st->ns_start : 0;
	uint64_t cyc = st->tsc_end > st->tsc_start ? st->tsc_end - st->tsc_start : 0;
	uint64_t hz = ns ? (uint64_t)((double)cyc * 1e9 / (double)ns) : 0;
	fprintf(f, "},\n  \"%s\": %" PRIu64 ", \"%s\": %" PRIu64 ", \"%s\": %" PRIu64 ", \"%s\": %" PRIu64 ",\n",
		PK_T_STAMPS, st->stamps, PK_T_STAMP_CYC, st->stamp_cycles, PK_T_TSC_HZ, hz, PK_T_WALL_NS, ns);
	fprintf(f, "  \"%s\": %" PRIu64 ", \"%s\": %" PRIu64 ", \"%s\": %" PRIu64 ", \"%s\": %" PRIu64
		", \"%s\": %" PRIu64 "},\n", PK_T_TC_SAMPLES, st->tc_samples, PK_T_TC_UNATTR, st->tc_unattributed,
		PK_T_DIR_SAMPLES, st->direct_samples, PK_T_CALIB_INSNS, st->calib_insns, PK_T_CALIB_CYC, st->calib_cycles);
}

static void study_dpages(FILE *f, const struct prof_study *st)
{
	fprintf(f, " \"%s\": {\"%s\": %" PRIu32 ", \"%s\": [", PK_DPAGES, PK_DP_DROPPED, st->ndpages_dropped,
		PK_SM_COLUMNS);
	bool first = true;
#define COLUMN(n) fprintf(f, "%s\"%s\"", first ? "" : ", ", n); first = false;
	PROF_DPAGE_COLUMNS(COLUMN)
#undef COLUMN
	fprintf(f, "], \"%s\": [", PK_SM_ROWS);
	first = true;
	for (uint32_t i = 0; st->dpages && i < PROF_MAX_DPAGES; i++) {
		const struct prof_dpage *d = &st->dpages[i];
		if (!d->used)
			continue;
		fprintf(f, "%s\n  [%" PRIu32 ", %u, %" PRIu64 ", %" PRIu64 ", %" PRIu64 "]", first ? "" : ",",
			d->page << 12, d->cpl, d->entries, d->cycles, d->samples);
		first = false;
	}
	fputs("]},\n", f);
}

static void study_sites(FILE *f, const struct prof_study *st)
{
	fprintf(f, " \"%s\": %" PRIu32 ",\n \"%s\": [", PK_S_DROPPED, st->nsites_dropped, PK_SITE_COLUMNS);
	bool first = true;
#define COLUMN(n) fprintf(f, "%s\"%s\"", first ? "" : ", ", n); first = false;
	PROF_SITE_COLUMNS(COLUMN)
#undef COLUMN
	fprintf(f, "],\n \"%s\": [", PK_SITES);
	first = true;
	for (uint32_t i = 0; st->sites && i < PROF_MAX_SITES; i++) {
		const struct prof_site *s = &st->sites[i];
		if (!s->used)
			continue;
		/* Slot 0 sums the sites that found no room (sites_dropped). */
		const char *kind = i == 0 ? PROF_DROPPED_SITES : co_kind_name(s->kind);
		fprintf(f, "%s\n  [%" PRIu32 ", %" PRIu32 ", %" PRIu32 ", \"%s\", \"%s\", [", first ? "" : ",", s->rec,
			s->tcoff, s->eip, kind ? kind : "?", prof_why_name(s->why));
		bool f1 = true;
		for (unsigned w = 0; w < PROF_NWHY; w++)
			if (s->whys & (1u << w)) {
				fprintf(f, "%s\"%s\"", f1 ? "" : ", ", prof_why_name(w));
				f1 = false;
			}
		fprintf(f, "], %" PRIu64 ", %" PRIu64 ", %" PRIu32 "]", s->taken, s->cycles, s->chained);
		first = false;
	}
	fputs("],\n", f);
}

static void study_events(FILE *f, const struct prof_study *st, const uint64_t *ev_retrans, const uint64_t *cause_retrans)
{
	fprintf(f, " \"%s\": [", PK_EVENTS);
	for (uint32_t i = 0; st->events && i < st->nevents; i++) {
		const struct prof_event *e = &st->events[i];
		fprintf(f, "%s\n  {\"%s\": %" PRIu32 ", \"%s\": \"%s\", \"%s\": %" PRIu32 ", \"%s\": %" PRIu32
			", \"%s\": %" PRIu32 ", \"%s\": %" PRIu32 ", \"%s\": %" PRIu64 ", \"%s\": %" PRIu64
			", \"%s\": %" PRIu64 "}", i ? "," : "", PK_ID, i + 1, PK_E_CAUSE, prof_cause_name(e->cause),
			PK_E_EIP, e->eip, PK_E_ADDR, e->addr, PK_E_KILLED, e->killed, PK_E_UNCHAINED, e->unchained,
			PK_E_TSC, e->tsc > st->tsc_start ? e->tsc - st->tsc_start : 0, PK_E_RECHAIN, e->rechain_cycles,
			PK_E_RETRANS, ev_retrans[i + 1]);
	}
	fprintf(f, "],\n \"%s\": {", PK_CAUSES);
	for (unsigned c = 0; c < PROF_NCAUSES; c++)
		fprintf(f, "%s\n  \"%s\": {\"%s\": %" PRIu64 ", \"%s\": %" PRIu64 ", \"%s\": %" PRIu64 ", \"%s\": %" PRIu64
			", \"%s\": %" PRIu64 "}", c ? "," : "", prof_cause_name(c), PK_EVENTS, st->cause_events[c],
			PK_E_KILLED, st->cause_killed[c], PK_E_UNCHAINED, st->cause_unchained[c], PK_E_RECHAIN,
			st->cause_rechain[c], PK_E_RETRANS, cause_retrans[c]);
	fputs("},\n", f);
}

static void study_samples(FILE *f, const struct prof_study *st)
{
	fprintf(f, " \"%s\": {\"%s\": %" PRIu32 ", \"%s\": [", PK_SAMPLES, PK_SM_PERIOD, st->sample_ns, PK_SM_COLUMNS);
	bool first = true;
#define COLUMN(n) fprintf(f, "%s\"%s\"", first ? "" : ", ", n); first = false;
	PROF_SAMPLE_COLUMNS(COLUMN)
#undef COLUMN
	fprintf(f, "], \"%s\": [", PK_SM_ROWS);
	for (uint32_t i = 0; st->samples && i < st->nsamples; i++) {
		const struct prof_sample *s = &st->samples[i];
		fprintf(f, "%s\n  [%" PRIu64 ", %" PRIu32 ", %" PRIu32 ", %" PRIu32 ", %" PRIu32 ", %" PRIu32 ", %" PRIu32 "]",
			i ? "," : "", s->t_ns, s->tc_bytes, s->live, s->fragments, s->flushes, s->invalidations, s->unchains);
	}
	fputs("]},\n", f);
}

static int format(FILE *f, const struct prof_arena *a, unsigned max_frags)
{
	uint32_t n = a->nrec > 0 ? a->nrec - 1 : 0;
	const struct prof_study *st = &a->study;
	uint32_t *idx = malloc((n ? n : 1) * sizeof *idx), *gen = calloc(a->nrec ? a->nrec : 1, sizeof *gen);
	uint64_t *ev_retrans = calloc(st->nevents + 1, sizeof *ev_retrans), cause_retrans[PROF_NCAUSES] = { 0 };
	if (!idx || !gen || !ev_retrans) {
		free(idx);
		free(gen);
		free(ev_retrans);
		return -1;
	}
	g_recs = a->recs;
	for (uint32_t i = 0; i < n; i++)
		idx[i] = i + 1;
	qsort(idx, n, sizeof *idx, by_pc);
	for (uint32_t i = 0; i < n; i++) {
		const struct prof_rec *r = &a->recs[idx[i]], *p = i ? &a->recs[idx[i - 1]] : NULL;
		bool same = p && p->eip == r->eip && p->cs_base == r->cs_base && p->cpl == r->cpl;
		gen[idx[i]] = same ? gen[idx[i - 1]] + 1 : 1;
		/* The retranslation that followed an invalidation or flush is what
		 * the next generation's translation cost. */
		if (same && p->killed_by) {
			cause_retrans[cause_of(st, p->killed_by)] += r->cycles;
			if (!(p->killed_by & PROF_EV_CAUSE) && p->killed_by <= st->nevents)
				ev_retrans[p->killed_by] += r->cycles;
		}
	}
	/* The hottest max_frags are listed, in creation order; the rest are summed. */
	struct prof_rec other = a->recs[0];
	uint32_t listed = n;
	if (n > max_frags) {
		qsort(idx, n, sizeof *idx, by_heat);
		for (uint32_t i = max_frags; i < n; i++)
			add_into(&other, &a->recs[idx[i]]);
		listed = max_frags;
	}
	qsort(idx, listed, sizeof *idx, by_id);

	fprintf(f, "{\"%s\": \"%s\", \"%s\": %" PRIu32 ", \"%s\": %" PRIu32 ", \"%s\": %u,\n", PK_FORMAT, PROF_FORMAT,
		PK_PROLOGUE, a->prologue_bytes, PK_TC_BASE, a->tc_base, PK_MAX_FRAGS, max_frags);
	const char *stat_names[] = {
#define NAME_OF(k) a->stat_##k,
		PROF_STAT_KEYS(NAME_OF)
#undef NAME_OF
	};
	const char *stat_keys[] = {
#define KEY_OF(k) #k,
		PROF_STAT_KEYS(KEY_OF)
#undef KEY_OF
	};
	fprintf(f, " \"%s\": {", PK_STATS);
	for (unsigned k = 0; k < sizeof stat_keys / sizeof stat_keys[0]; k++)
		fprintf(f, "%s\"%s\": \"%.*s\"", k ? ", " : "", stat_keys[k], PROF_STAT_NAME_MAX, stat_names[k]);
	fputs("},\n", f);
	study_time(f, st);
	study_sites(f, st);
	study_events(f, st, ev_retrans, cause_retrans);
	study_samples(f, st);
	study_dpages(f, st);
	fprintf(f, " \"%s\": [\n", PK_FRAGMENTS);
	for (uint32_t i = 0; i < listed; i++)
		fragment(f, a, idx[i], gen[idx[i]], i + 1 == listed);
	fprintf(f, " ],\n \"%s\": {\"%s\": %" PRIu32 ", \"%s\": %" PRIu32 ", \"%s\": %" PRIu32 ", \"%s\": %" PRIu32
		", \"%s\": %" PRIu64 ", \"%s\": %" PRIu64 ", \"%s\": %" PRIu32 ", \"%s\": %" PRIu32
		", \"%s\": %" PRIu32 ", ",
		PK_OTHER, PK_NFRAG, other.nfrag, PK_INSNS, other.ninsn, PK_GUEST_LEN, other.glen, PK_TC_LEN, other.tc_len,
		PK_EXECS, other.execs, PK_CYCLES, other.cycles, PK_CHAINS_IN, other.chains_in, PK_CHAINS_OUT,
		other.chains_out, PK_SAMPLES_F, other.samples);
	mix(f, other.nclass);
	fputs("}}\n", f);
	free(idx);
	free(gen);
	free(ev_retrans);
	return 0;
}

int profile_write(const char *path, const struct prof_arena *a, unsigned max_frags, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		snprintf(err, errlen, "vmx: -profile %s: out of memory", path);
		return -1;
	}
	int rc = format(f, a, max_frags);
	if (fclose(f) != 0 || rc != 0 || !buf) {
		free(buf);
		snprintf(err, errlen, "vmx: -profile %s: out of memory", path);
		return -1;
	}
	rc = outfile_write("-profile", path, buf, len, err, errlen);
	free(buf);
	return rc;
}

int profile_write_open(struct outfile *of, const struct prof_arena *a, unsigned max_frags,
		       char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		snprintf(err, errlen, "vmx: -profile %s: out of memory", of->path);
		outfile_abort(of);
		return -1;
	}
	int rc = format(f, a, max_frags);
	if (fclose(f) != 0 || rc != 0 || !buf) {
		free(buf);
		snprintf(err, errlen, "vmx: -profile %s: out of memory", of->path);
		outfile_abort(of);
		return -1;
	}
	rc = outfile_put(of, buf, len, err, errlen);
	free(buf);
	if (rc != 0) {
		outfile_abort(of);
		return -1;
	}
	return outfile_commit(of, err, errlen);
}
