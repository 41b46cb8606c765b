/* Loads a profile file with jansson and checks every field the report uses
 * (types, ranges, hex lengths, map offsets inside the fragment), so that a
 * malformed file is an error message rather than a wild read later.
 * Environment: host tools, libc and jansson. */
#include "profile_read.h"
#include "profile_file.h"
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


struct rd {
	const char *prog, *path;
	char *err;
	size_t errlen;
	bool failed;
	char where[48];          /* "fragment 12: " or "" */
};

static void failf(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(struct rd *r, const char *fmt, ...)
{
	if (r->failed)
		return;
	r->failed = true;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(r->err, r->errlen, "%s: %s: %s%s", r->prog, r->path, r->where, msg);
}

static uint64_t get_uint(struct rd *r, json_t *o, const char *key, uint64_t max)
{
	json_t *v = json_object_get(o, key);
	if (!v) {
		failf(r, "\"%s\" missing", key);
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max) {
		failf(r, "\"%s\" is not an integer in 0..%llu", key, (unsigned long long)max);
		return 0;
	}
	return (uint64_t)json_integer_value(v);
}

static const char *get_str(struct rd *r, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v)) {
		failf(r, "\"%s\" %s", key, v ? "is not a string" : "missing");
		return "";
	}
	return json_string_value(v);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static uint8_t *get_hex(struct rd *r, json_t *o, const char *key, uint32_t len)
{
	const char *s = get_str(r, o, key);
	if (r->failed)
		return NULL;
	if (strlen(s) != (size_t)len * 2) {
		failf(r, "\"%s\" has %zu hex digits, want %u", key, strlen(s), len * 2);
		return NULL;
	}
	uint8_t *b = malloc(len ? len : 1);
	if (!b) {
		failf(r, "out of memory");
		return NULL;
	}
	for (uint32_t i = 0; i < len; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(b);
			failf(r, "\"%s\" is not hex at digit %u", key, 2 * i);
			return NULL;
		}
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	return b;
}

static int class_index(const char *s)
{
	for (unsigned k = 0; k < PROF_NCLASSES; k++)
		if (!strcmp(s, pf_class_name(k)))
			return (int)k;
	return -1;
}

static void get_mix(struct rd *r, json_t *o, uint32_t *mix)
{
	json_t *m = json_object_get(o, PK_MIX);
	if (!json_is_object(m)) {
		failf(r, "\"%s\" %s", PK_MIX, m ? "is not an object" : "missing");
		return;
	}
	for (unsigned k = 0; k < PROF_NCLASSES; k++)
		mix[k] = (uint32_t)get_uint(r, m, pf_class_name(k), UINT32_MAX);
}

static void get_map(struct rd *r, json_t *o, struct pf_frag *f)
{
	json_t *m = json_object_get(o, PK_MAP);
	if (!json_is_array(m) || json_array_size(m) != f->insns) {
		failf(r, "\"%s\" is not an array of %u entries", PK_MAP, f->insns);
		return;
	}
	f->map = calloc(f->insns ? f->insns : 1, sizeof *f->map);
	if (!f->map) {
		failf(r, "out of memory");
		return;
	}
	for (uint32_t i = 0; i < f->insns; i++) {
		json_t *e = json_array_get(m, i);
		json_t *g = json_array_get(e, 0), *t = json_array_get(e, 1), *c = json_array_get(e, 2);
		int cls = json_is_string(c) ? class_index(json_string_value(c)) : -1;
		if (!json_is_array(e) || json_array_size(e) != 3 || !json_is_integer(g) || !json_is_integer(t) || cls < 0) {
			failf(r, "\"%s\" entry %u is not [guest offset, TC offset, class]", PK_MAP, i);
			return;
		}
		json_int_t gv = json_integer_value(g), tv = json_integer_value(t);
		/* Offsets must grow and stay inside the bytes: the report slices by them. */
		json_int_t gmin = i ? f->map[i - 1].goff + 1 : 0, tmin = i ? f->map[i - 1].tcoff : 0;
		if (gv < gmin || gv >= (json_int_t)f->glen || tv < tmin || tv > (json_int_t)f->tc_len || gv > 255 ||
		    tv > 65535) {
			failf(r, "\"%s\" entry %u has offsets outside the fragment", PK_MAP, i);
			return;
		}
		f->map[i] = (struct prof_insn){ .goff = (uint8_t)gv, .tcoff = (uint16_t)tv, .cls = (uint8_t)cls };
	}
}

static void get_frag(struct rd *r, json_t *o, struct pf_frag *f)
{
	if (!json_is_object(o)) {
		failf(r, "not an object");
		return;
	}
	f->id = (uint32_t)get_uint(r, o, PK_ID, UINT32_MAX);
	f->pc = (uint32_t)get_uint(r, o, PK_PC, UINT32_MAX);
	f->cpl = (uint32_t)get_uint(r, o, PK_CPL, 3);
	f->cs_base = (uint32_t)get_uint(r, o, PK_CS_BASE, UINT32_MAX);
	const char *st = get_str(r, o, PK_STATE);
	f->state = 99;
	for (unsigned k = 0; strcmp(pf_state_name(k), "?"); k++)
		if (!strcmp(st, pf_state_name(k)))
			f->state = k;
	if (f->state == 99)
		failf(r, "\"%s\" is not a known state", PK_STATE);
	f->insns = (uint32_t)get_uint(r, o, PK_INSNS, 255);
	f->glen = (uint32_t)get_uint(r, o, PK_GUEST_LEN, 255);
	f->tc = (uint32_t)get_uint(r, o, PK_TC, UINT32_MAX);
	f->tc_len = (uint32_t)get_uint(r, o, PK_TC_LEN, 65535);
	get_mix(r, o, f->mix);
	f->execs = get_uint(r, o, PK_EXECS, INT64_MAX);
	f->cycles = get_uint(r, o, PK_CYCLES, INT64_MAX);
	f->chains_in = (uint32_t)get_uint(r, o, PK_CHAINS_IN, UINT32_MAX);
	f->chains_out = (uint32_t)get_uint(r, o, PK_CHAINS_OUT, UINT32_MAX);
	f->generation = (uint32_t)get_uint(r, o, PK_GENERATION, UINT32_MAX);
	if (r->failed)
		return;
	if (f->insns == 0 || f->insns > f->glen) {
		failf(r, "\"%s\" does not fit \"%s\"", PK_INSNS, PK_GUEST_LEN);
		return;
	}
	if (f->mix[0] + f->mix[1] + f->mix[2] != f->insns) {
		failf(r, "\"%s\" does not add up to \"%s\"", PK_MIX, PK_INSNS);
		return;
	}
	f->guest = get_hex(r, o, PK_GUEST, f->glen);
	f->tcb = get_hex(r, o, PK_TC_BYTES, f->tc_len);
	if (!r->failed)
		get_map(r, o, f);
}

static void get_other(struct rd *r, json_t *o, struct pf_other *x)
{
	snprintf(r->where, sizeof r->where, "\"%s\": ", PK_OTHER);
	if (!json_is_object(o)) {
		failf(r, "%s", o ? "not an object" : "missing");
		return;
	}
	x->nfrag = (uint32_t)get_uint(r, o, PK_NFRAG, UINT32_MAX);
	x->insns = (uint32_t)get_uint(r, o, PK_INSNS, UINT32_MAX);
	x->glen = (uint32_t)get_uint(r, o, PK_GUEST_LEN, UINT32_MAX);
	x->tc_len = (uint32_t)get_uint(r, o, PK_TC_LEN, UINT32_MAX);
	x->execs = get_uint(r, o, PK_EXECS, INT64_MAX);
	x->cycles = get_uint(r, o, PK_CYCLES, INT64_MAX);
	x->chains_in = (uint32_t)get_uint(r, o, PK_CHAINS_IN, UINT32_MAX);
	x->chains_out = (uint32_t)get_uint(r, o, PK_CHAINS_OUT, UINT32_MAX);
	get_mix(r, o, x->mix);
}

static void get_stats(struct rd *r, json_t *o, struct pf_file *f)
{
	json_t *s = json_object_get(o, PK_STATS);
	if (!json_is_object(s)) {
		failf(r, "\"%s\" %s", PK_STATS, s ? "is not an object" : "missing");
		return;
	}
	const char *k;
	json_t *v;
	json_object_foreach(s, k, v) {
		if (f->nstats == PF_NSTATS || !json_is_string(v) || strlen(k) >= PROF_STAT_NAME_MAX ||
		    strlen(json_string_value(v)) >= PROF_STAT_NAME_MAX) {
			failf(r, "\"%s\" is not a short map of names", PK_STATS);
			return;
		}
		strcpy(f->stat_key[f->nstats], k);
		strcpy(f->stat_name[f->nstats], json_string_value(v));
		f->nstats++;
	}
}

int pf_load(const char *prog, const char *path, struct pf_file *out, char *err, size_t errlen)
{
	struct rd r = { .prog = prog, .path = path, .err = err, .errlen = errlen };
	*out = (struct pf_file){ .path = path };
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (je.line > 0)
			snprintf(err, errlen, "%s: %s: %s (line %d, column %d, offset %d)", prog, path, je.text, je.line,
				 je.column, je.position);
		else
			snprintf(err, errlen, "%s: %s: %s", prog, path, je.text);
		return -1;
	}
	if (!json_is_object(root))
		failf(&r, "not a JSON object");
	else if (strcmp(get_str(&r, root, PK_FORMAT), PROF_FORMAT) && !r.failed)
		failf(&r, "\"%s\" is not \"%s\"", PK_FORMAT, PROF_FORMAT);
	if (!r.failed) {
		out->prologue = (uint32_t)get_uint(&r, root, PK_PROLOGUE, 255);
		out->tc_base = (uint32_t)get_uint(&r, root, PK_TC_BASE, UINT32_MAX);
		out->max_frags = (uint32_t)get_uint(&r, root, PK_MAX_FRAGS, UINT32_MAX);
		get_stats(&r, root, out);
	}
	json_t *fr = r.failed ? NULL : json_object_get(root, PK_FRAGMENTS);
	if (!r.failed && !json_is_array(fr))
		failf(&r, "\"%s\" %s", PK_FRAGMENTS, fr ? "is not an array" : "missing");
	if (!r.failed) {
		out->n = json_array_size(fr);
		out->frags = calloc(out->n ? out->n : 1, sizeof *out->frags);
		if (!out->frags)
			failf(&r, "out of memory");
		for (size_t i = 0; i < out->n && !r.failed; i++) {
			snprintf(r.where, sizeof r.where, "fragment %zu: ", i);
			get_frag(&r, json_array_get(fr, i), &out->frags[i]);
		}
		r.where[0] = 0;
	}
	if (!r.failed)
		get_other(&r, json_object_get(root, PK_OTHER), &out->other);
	json_decref(root);
	if (r.failed) {
		pf_free(out);
		return -1;
	}
	return 0;
}

void pf_free(struct pf_file *f)
{
	for (size_t i = 0; i < f->n && f->frags; i++) {
		free(f->frags[i].guest);
		free(f->frags[i].tcb);
		free(f->frags[i].map);
	}
	free(f->frags);
	f->frags = NULL;
	f->n = 0;
}
