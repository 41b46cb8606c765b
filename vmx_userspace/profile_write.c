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

static void fragment(FILE *f, const struct prof_arena *a, uint32_t id, uint32_t gen, bool last)
{
	const struct prof_rec *r = &a->recs[id];
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
		", \"%s\": %" PRIu32 "}%s\n",
		PK_EXECS, r->execs, PK_CHAINS_IN, r->chains_in, PK_CHAINS_OUT, r->chains_out, PK_CYCLES, r->cycles,
		PK_GENERATION, gen, last ? "" : ",");
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
	for (unsigned k = 0; k < PROF_NCLASSES; k++)
		o->nclass[k] += r->nclass[k];
}

static int format(FILE *f, const struct prof_arena *a, unsigned max_frags)
{
	uint32_t n = a->nrec > 0 ? a->nrec - 1 : 0;
	uint32_t *idx = malloc((n ? n : 1) * sizeof *idx), *gen = calloc(a->nrec ? a->nrec : 1, sizeof *gen);
	if (!idx || !gen) {
		free(idx);
		free(gen);
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
	fprintf(f, "},\n \"%s\": [\n", PK_FRAGMENTS);
	for (uint32_t i = 0; i < listed; i++)
		fragment(f, a, idx[i], gen[idx[i]], i + 1 == listed);
	fprintf(f, " ],\n \"%s\": {\"%s\": %" PRIu32 ", \"%s\": %" PRIu32 ", \"%s\": %" PRIu32 ", \"%s\": %" PRIu32
		", \"%s\": %" PRIu64 ", \"%s\": %" PRIu64 ", \"%s\": %" PRIu32 ", \"%s\": %" PRIu32 ", ",
		PK_OTHER, PK_NFRAG, other.nfrag, PK_INSNS, other.ninsn, PK_GUEST_LEN, other.glen, PK_TC_LEN, other.tc_len,
		PK_EXECS, other.execs, PK_CYCLES, other.cycles, PK_CHAINS_IN, other.chains_in, PK_CHAINS_OUT,
		other.chains_out);
	mix(f, other.nclass);
	fputs("}}\n", f);
	free(idx);
	free(gen);
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
