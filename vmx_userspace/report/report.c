/* vmx-report: what a -profile file says about the translation cache. The
 * hottest fragments with their guest code and its translation side by side
 * (Zydis), totals, retranslated PCs, a comparison of two profiles, and the
 * same as JSON for scripts. Exit status 0, 2 on bad usage or input.
 * Environment: host tool (libc, jansson, Zydis). */
#include "profile_read.h"
#include "fragment_text.h"
#include "profile_file.h"
#include "callout_kinds.h"
#include "report.h"
#include <Zydis/Zydis.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char usage[] =
	"usage: vmx-report PROFILE.json [--stats STATS.json] [--top N] [--json]\n"
	"       vmx-report PROFILE.json [--top N] [--callgrind OUT] [--drcov OUT] [--html OUT.html]\n"
	"       vmx-report --diff A.json B.json [--top N] [--json]\n";

uint64_t heat(const struct pf_frag *f) { return f->execs * f->insns; }

static int by_heat(const void *x, const void *y)
{
	const struct pf_frag *a = *(const struct pf_frag *const *)x, *b = *(const struct pf_frag *const *)y;
	if (heat(a) != heat(b)) return heat(a) > heat(b) ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

struct pf_frag **hottest(const struct pf_file *p)
{
	struct pf_frag **v = malloc((p->n ? p->n : 1) * sizeof *v);
	if (!v)
		return NULL;
	for (size_t i = 0; i < p->n; i++)
		v[i] = &p->frags[i];
	qsort(v, p->n, sizeof *v, by_heat);
	return v;
}

/* ---- totals ---- */

struct totals {
	uint64_t frags, execs, insn_execs, tc_bytes, guest_bytes, cycles, insns;
	uint64_t mix[PROF_NCLASSES], states[3];
};

static struct totals totals_of(const struct pf_file *p)
{
	struct totals t = { 0 };
	for (size_t i = 0; i < p->n; i++) {
		const struct pf_frag *f = &p->frags[i];
		t.frags++;
		t.execs += f->execs;
		t.insn_execs += heat(f);
		t.tc_bytes += f->tc_len;
		t.guest_bytes += f->glen;
		t.cycles += f->cycles;
		t.insns += f->insns;
		for (unsigned k = 0; k < PROF_NCLASSES; k++)
			t.mix[k] += f->mix[k];
		if (f->state < 3)
			t.states[f->state]++;
	}
	const struct pf_other *o = &p->other;
	t.frags += o->nfrag;
	t.execs += o->execs;
	t.tc_bytes += o->tc_len;
	t.guest_bytes += o->glen;
	t.cycles += o->cycles;
	t.insns += o->insns;
	for (unsigned k = 0; k < PROF_NCLASSES; k++)
		t.mix[k] += o->mix[k];
	return t;
}

/* One entry per guest PC (and mode) translated more than once. */
struct retr { uint32_t pc, cpl, cs_base, gens; uint64_t execs, cycles; };

static int by_key(const void *x, const void *y)
{
	const struct pf_frag *a = *(const struct pf_frag *const *)x, *b = *(const struct pf_frag *const *)y;
	if (a->cs_base != b->cs_base) return a->cs_base < b->cs_base ? -1 : 1;
	if (a->pc != b->pc) return a->pc < b->pc ? -1 : 1;
	if (a->cpl != b->cpl) return a->cpl < b->cpl ? -1 : 1;
	return 0;
}

static int by_gens(const void *x, const void *y)
{
	const struct retr *a = x, *b = y;
	if (a->gens != b->gens) return a->gens > b->gens ? -1 : 1;
	if (a->cycles != b->cycles) return a->cycles > b->cycles ? -1 : 1;
	return a->pc < b->pc ? -1 : a->pc > b->pc;
}

static struct retr *retranslated(const struct pf_file *p, size_t *nout)
{
	struct pf_frag **v = hottest(p);
	struct retr *r = malloc((p->n ? p->n : 1) * sizeof *r);
	size_t n = 0;
	if (!v || !r) {
		free(v);
		free(r);
		*nout = 0;
		return NULL;
	}
	qsort(v, p->n, sizeof *v, by_key);
	for (size_t i = 0; i < p->n;) {
		size_t j = i;
		struct retr e = { v[i]->pc, v[i]->cpl, v[i]->cs_base, 0, 0, 0 };
		for (; j < p->n && by_key(&v[i], &v[j]) == 0; j++) {
			if (v[j]->generation > e.gens)
				e.gens = v[j]->generation;
			e.execs += v[j]->execs;
			e.cycles += v[j]->cycles;
		}
		if (e.gens > 1)
			r[n++] = e;
		i = j;
	}
	qsort(r, n, sizeof *r, by_gens);
	free(v);
	*nout = n;
	return r;
}

/* -stats values by the names the profile carries (the counters' own). */
static json_t *load_stats(const char *path)
{
	json_error_t je;
	json_t *s = json_load_file(path, 0, &je);
	if (!s) {
		if (je.line > 0)
			fprintf(stderr, PROG ": %s: %s (line %d, column %d, offset %d)\n", path, je.text, je.line, je.column,
				je.position);
		else
			fprintf(stderr, PROG ": %s: %s\n", path, je.text);
		return NULL;
	}
	if (!json_is_object(s)) {
		fprintf(stderr, PROG ": %s: not a JSON object of counters\n", path);
		json_decref(s);
		return NULL;
	}
	return s;
}

static uint64_t total_for(const struct totals *t, const char *key)
{
	if (!strcmp(key, "fragments")) return t->frags;
	if (!strcmp(key, "insns")) return t->insns;
	if (!strcmp(key, "tc_bytes")) return t->tc_bytes;
	if (!strcmp(key, "guest_bytes")) return t->guest_bytes;
	if (!strcmp(key, "cycles")) return t->cycles;
	return 0;
}

static void print_text(const struct pf_file *p, unsigned top, json_t *stats)
{
	struct totals t = totals_of(p);
	struct pf_frag **v = hottest(p);
	if (!v)
		return;
	unsigned k = top < p->n ? top : (unsigned)p->n;
	printf("%s: the %u hottest of %" PRIu64 " fragments (execution count x instructions)\n\n", p->path, k, t.frags);
	for (unsigned i = 0; i < k; i++)
		pf_show_fragment(stdout, p->prologue, v[i], i + 1, t.insn_execs);
	free(v);
	printf("totals\n");
	printf("  fragments            %" PRIu64 " (%" PRIu64 " live, %" PRIu64 " invalidated, %" PRIu64
	       " flushed; %u summed in \"other\")\n", t.frags, t.states[0], t.states[1], t.states[2], p->other.nfrag);
	printf("  executions           %" PRIu64 " of fragments, %" PRIu64 " of guest instructions in those listed\n",
	       t.execs, t.insn_execs);
	printf("  instructions         %" PRIu64 " translated: ident %" PRIu64 " inline %" PRIu64 " callout %" PRIu64 "\n",
	       t.insns, t.mix[0], t.mix[1], t.mix[2]);
	printf("  bytes                guest %" PRIu64 ", TC %" PRIu64 " (%u-byte counter in each)\n", t.guest_bytes,
	       t.tc_bytes, p->prologue);
	printf("  translation cycles   %" PRIu64 " (%.0f per instruction)\n", t.cycles,
	       t.insns ? (double)t.cycles / (double)t.insns : 0.0);
	size_t nr;
	struct retr *r = retranslated(p, &nr);
	printf("  retranslated PCs     %zu (generation > 1)\n", nr);
	for (size_t i = 0; i < nr && i < top; i++)
		printf("    pc %08" PRIx32 " cpl %u cs_base %08" PRIx32 ": %u generations, %" PRIu64 " execs, %" PRIu64
		       " cycles\n", r[i].pc, r[i].cpl, r[i].cs_base, r[i].gens, r[i].execs, r[i].cycles);
	free(r);
	json_t *st = study_json(p, top);
	study_text(stdout, st);
	json_decref(st);
	if (stats) {
		printf("against -stats\n");
		for (unsigned i = 0; i < p->nstats; i++) {
			json_t *sv = json_object_get(stats, p->stat_name[i]);
			printf("  %-12s profile %-12" PRIu64 " %s = ", p->stat_key[i], total_for(&t, p->stat_key[i]),
			       p->stat_name[i]);
			if (json_is_integer(sv))
				printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(sv));
			else
				printf("(absent)\n");
		}
	}
}

static json_t *frag_json(const struct pf_frag *f, bool with_code)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", PK_ID, (json_int_t)f->id,
			      PK_PC, (json_int_t)f->pc, PK_CPL, (json_int_t)f->cpl, PK_CS_BASE, (json_int_t)f->cs_base,
			      PK_STATE, pf_state_name(f->state), PK_INSNS, (json_int_t)f->insns, PK_EXECS,
			      (json_int_t)f->execs, "heat", (json_int_t)heat(f), PK_TC_LEN, (json_int_t)f->tc_len,
			      PK_CYCLES, (json_int_t)f->cycles, PK_GENERATION, (json_int_t)f->generation, PK_CHAINS_IN,
			      (json_int_t)f->chains_in);
	json_object_set_new(o, PK_CHAINS_OUT, json_integer(f->chains_out));
	json_t *mix = json_object();
	for (unsigned k = 0; k < PROF_NCLASSES; k++)
		json_object_set_new(mix, pf_class_name(k), json_integer(f->mix[k]));
	json_object_set_new(o, PK_MIX, mix);
	if (with_code) {
		json_t *code = json_array();
		char text[96];
		for (uint32_t i = 0; i < f->insns; i++) {
			uint32_t g0 = f->map[i].goff, g1 = i + 1 < f->insns ? f->map[i + 1].goff : f->glen;
			pf_disasm(&f->guest[g0], g1 - g0, f->pc + g0, text, sizeof text);
			json_array_append_new(code, json_pack("{s:I, s:s, s:s}", "pc", (json_int_t)(f->pc + g0), "insn", text,
							      "class", pf_class_name(f->map[i].cls)));
		}
		json_object_set_new(o, "code", code);
	}
	return o;
}

static void print_json(const struct pf_file *p, unsigned top)
{
	struct totals t = totals_of(p);
	struct pf_frag **v = hottest(p);
	json_t *root = json_object(), *hot = json_array();
	for (unsigned i = 0; v && i < top && i < p->n; i++)
		json_array_append_new(hot, frag_json(v[i], true));
	free(v);
	json_object_set_new(root, "profile", json_string(p->path));
	json_object_set_new(root, "top", hot);
	json_object_set_new(root, "totals",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I}}", "fragments",
				      (json_int_t)t.frags, "executions", (json_int_t)t.execs, "insn_executions",
				      (json_int_t)t.insn_execs, "instructions", (json_int_t)t.insns, "tc_bytes",
				      (json_int_t)t.tc_bytes, "guest_bytes", (json_int_t)t.guest_bytes, "cycles",
				      (json_int_t)t.cycles, PK_MIX, pf_class_name(0), (json_int_t)t.mix[0],
				      pf_class_name(1), (json_int_t)t.mix[1], pf_class_name(2), (json_int_t)t.mix[2]));
	size_t nr;
	struct retr *r = retranslated(p, &nr);
	json_t *ra = json_array();
	for (size_t i = 0; i < nr && i < top; i++)
		json_array_append_new(ra, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", PK_PC, (json_int_t)r[i].pc, PK_CPL,
						    (json_int_t)r[i].cpl, PK_CS_BASE, (json_int_t)r[i].cs_base,
						    "generations", (json_int_t)r[i].gens, PK_EXECS, (json_int_t)r[i].execs,
						    PK_CYCLES, (json_int_t)r[i].cycles));
	free(r);
	json_object_set_new(root, "retranslated", ra);
	json_object_set_new(root, "retranslated_pcs", json_integer((json_int_t)nr));
	json_t *st = study_json(p, top);
	if (st)
		json_object_set_new(root, "study", st);
	json_dumpf(root, stdout, JSON_INDENT(1));
	putchar('\n');
	json_decref(root);
}

/* ---- --diff: execution counts per guest PC and mode, A against B ---- */

struct dkey { uint32_t pc, cpl, cs_base, ninsn; uint64_t a, b; };

static int dkey_cmp(const void *x, const void *y)
{
	const struct dkey *a = x, *b = y;
	if (a->cs_base != b->cs_base) return a->cs_base < b->cs_base ? -1 : 1;
	if (a->pc != b->pc) return a->pc < b->pc ? -1 : 1;
	return a->cpl < b->cpl ? -1 : a->cpl > b->cpl;
}

static uint64_t dabs(const struct dkey *k) { return k->a > k->b ? k->a - k->b : k->b - k->a; }

static int by_delta(const void *x, const void *y)
{
	const struct dkey *a = x, *b = y;
	if (dabs(a) != dabs(b)) return dabs(a) > dabs(b) ? -1 : 1;
	return dkey_cmp(x, y);
}

static int diff(const struct pf_file *A, const struct pf_file *B, unsigned top, bool json)
{
	size_t n = 0, cap = A->n + B->n;
	struct dkey *v = malloc((cap ? cap : 1) * sizeof *v);
	if (!v)
		return 2;
	for (int side = 0; side < 2; side++) {
		const struct pf_file *p = side ? B : A;
		for (size_t i = 0; i < p->n; i++) {
			const struct pf_frag *f = &p->frags[i];
			v[n++] = (struct dkey){ f->pc, f->cpl, f->cs_base, f->insns, side ? 0 : f->execs, side ? f->execs : 0 };
		}
	}
	qsort(v, n, sizeof *v, dkey_cmp);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && !dkey_cmp(&v[m - 1], &v[i])) {
			v[m - 1].a += v[i].a;
			v[m - 1].b += v[i].b;
		} else {
			v[m++] = v[i];
		}
	}
	qsort(v, m, sizeof *v, by_delta);
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < m && i < top; i++)
			json_array_append_new(arr, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", PK_PC, (json_int_t)v[i].pc,
							     PK_CPL, (json_int_t)v[i].cpl, PK_CS_BASE,
							     (json_int_t)v[i].cs_base, "a", (json_int_t)v[i].a, "b",
							     (json_int_t)v[i].b, "delta", (json_int_t)v[i].b - (json_int_t)v[i].a));
		json_t *root = json_pack("{s:s, s:s, s:o}", "a", A->path, "b", B->path, "changed", arr);
		json_dumpf(root, stdout, JSON_INDENT(1));
		putchar('\n');
		json_decref(root);
	} else {
		printf("execution counts, %s -> %s: the %zu guest PCs that changed most\n", A->path, B->path,
		       m < top ? m : (size_t)top);
		printf("  %-8s %-3s %-8s  %14s %14s %15s\n", "pc", "cpl", "cs_base", "A", "B", "B-A");
		for (size_t i = 0; i < m && i < top; i++)
			printf("  %08" PRIx32 " %-3u %08" PRIx32 "  %14" PRIu64 " %14" PRIu64 " %+15" PRId64 "\n", v[i].pc,
			       v[i].cpl, v[i].cs_base, v[i].a, v[i].b, (int64_t)(v[i].b - v[i].a));
	}
	free(v);
	return 0;
}

static int bad_usage(const char *msg)
{
	fprintf(stderr, PROG ": %s\n%s", msg, usage);
	return 2;
}

int main(int argc, char **argv)
{
	const char *path = NULL, *stats_path = NULL, *da = NULL, *db = NULL;
	const char *cg = NULL, *drcov = NULL, *html = NULL;
	unsigned top = 10;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--top") || !strcmp(a, "--stats")) {
			if (i + 1 >= argc)
				return bad_usage("an option lacks its argument");
			if (a[2] == 's') {
				stats_path = argv[++i];
			} else {
				char *end;
				unsigned long v = strtoul(argv[++i], &end, 10);
				if (!*argv[i] || *end || v == 0 || v > 1000000)
					return bad_usage("--top wants a number from 1 to 1000000");
				top = (unsigned)v;
			}
		} else if (!strcmp(a, "--callgrind") || !strcmp(a, "--drcov") || !strcmp(a, "--html")) {
			if (i + 1 >= argc || !*argv[i + 1])
				return bad_usage("an option lacks its argument");
			*(a[2] == 'c' ? &cg : a[2] == 'd' ? &drcov : &html) = argv[++i];
		} else if (!strcmp(a, "--diff")) {
			if (i + 2 >= argc)
				return bad_usage("--diff wants two profiles");
			da = argv[++i];
			db = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			return bad_usage("unknown option");
		} else if (!path) {
			path = a;
		} else {
			return bad_usage("one profile at a time (or --diff A B)");
		}
	}
	if (da && (cg || drcov || html))
		return bad_usage("--callgrind, --drcov and --html take one profile, not --diff");
	if (!(da ? !path && !stats_path : !!path))
		return bad_usage(da ? "--diff takes no other profile or --stats" : "no profile given");
	pf_disasm_init();
	char err[512];
	struct pf_file p, q;
	if (da) {
		if (pf_load(PROG, da, &p, err, sizeof err) != 0 || (pf_load(PROG, db, &q, err, sizeof err) != 0 && (pf_free(&p), 1))) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
		int rc = diff(&p, &q, top, json);
		pf_free(&p);
		pf_free(&q);
		return rc;
	}
	if (pf_load(PROG, path, &p, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (cg || drcov || html) {
		/* Files only: nothing on standard output. */
		int rc = 0;
		if ((cg && write_callgrind(&p, cg, err, sizeof err) != 0) ||
		    (drcov && write_drcov(&p, drcov, err, sizeof err) != 0) ||
		    (html && write_html(&p, top, html, err, sizeof err) != 0)) {
			fprintf(stderr, "%s\n", err);
			rc = 2;
		}
		pf_free(&p);
		return rc;
	}
	json_t *stats = NULL;
	if (stats_path && !(stats = load_stats(stats_path))) {
		pf_free(&p);
		return 2;
	}
	if (json)
		print_json(&p, top);
	else
		print_text(&p, top, stats);
	json_decref(stats);
	pf_free(&p);
	return 0;
}
