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
	/* Where the record being read is in the file, for the offset of a bad
	 * value (jansson keeps no positions): the top-level key, a key inside
	 * its value, an array index (-1: none); the bad member or column. */
	const char *buf;
	size_t len;
	const char *k1, *k2;
	long idx;
	const char *badkey;
	long badcol;
};

/* ---- a light scan of the (syntactically valid) text for offsets ---- */

static size_t sk_ws(const struct rd *r, size_t p)
{
	while (p < r->len && (r->buf[p] == ' ' || r->buf[p] == '\n' || r->buf[p] == '\t' || r->buf[p] == '\r'))
		p++;
	return p;
}

static size_t sk_string(const struct rd *r, size_t p)
{
	for (p++; p < r->len && r->buf[p] != '"'; p++)
		if (r->buf[p] == '\\')
			p++;
	return p + 1;
}

/* The offset just past the value at p. */
static size_t sk_value(const struct rd *r, size_t p)
{
	if (p >= r->len)
		return r->len;
	if (r->buf[p] == '"')
		return sk_string(r, p);
	if (r->buf[p] == '{' || r->buf[p] == '[') {
		unsigned depth = 0;
		for (; p < r->len; p++) {
			char c = r->buf[p];
			if (c == '"') {
				p = sk_string(r, p) - 1;
			} else if (c == '{' || c == '[') {
				depth++;
			} else if ((c == '}' || c == ']') && --depth == 0) {
				return p + 1;
			}
		}
		return r->len;
	}
	while (p < r->len && !strchr(",]} \n\t\r", r->buf[p]))
		p++;
	return p;
}

/* The offset of member key's value in the object at p, or SIZE_MAX. */
static size_t sk_key(const struct rd *r, size_t p, const char *key)
{
	p = sk_ws(r, p);
	if (p >= r->len || r->buf[p] != '{')
		return SIZE_MAX;
	size_t kl = strlen(key);
	for (p = sk_ws(r, p + 1); p < r->len && r->buf[p] == '"';) {
		size_t e = sk_string(r, p);
		bool match = e - p - 2 == kl && !memcmp(r->buf + p + 1, key, kl);
		p = sk_ws(r, e);
		if (p >= r->len || r->buf[p] != ':')
			return SIZE_MAX;
		p = sk_ws(r, p + 1);
		if (match)
			return p;
		p = sk_ws(r, sk_value(r, p));
		if (p >= r->len || r->buf[p] != ',')
			return SIZE_MAX;
		p = sk_ws(r, p + 1);
	}
	return SIZE_MAX;
}

/* The offset of element i of the array at p, or SIZE_MAX. */
static size_t sk_elem(const struct rd *r, size_t p, long i)
{
	p = sk_ws(r, p);
	if (p >= r->len || r->buf[p] != '[')
		return SIZE_MAX;
	for (p = sk_ws(r, p + 1); p < r->len && r->buf[p] != ']'; i--) {
		if (i == 0)
			return p;
		p = sk_ws(r, sk_value(r, p));
		if (p >= r->len || r->buf[p] != ',')
			return SIZE_MAX;
		p = sk_ws(r, p + 1);
	}
	return SIZE_MAX;
}

/* " (offset O, line L)" for the bad value, or its record, or nothing. */
static void locate(const struct rd *r, char *out, size_t n)
{
	out[0] = 0;
	if (!r->buf)
		return;
	size_t p = sk_ws(r, 0), q;
	if (r->k1 && (q = sk_key(r, p, r->k1)) != SIZE_MAX) {
		p = q;
		if (r->k2 && (q = sk_key(r, p, r->k2)) != SIZE_MAX)
			p = q;
		if (r->idx >= 0 && (q = sk_elem(r, p, r->idx)) != SIZE_MAX)
			p = q;
		else if (r->idx >= 0)
			return;
	} else if (r->k1) {
		return;
	}
	const char *what = r->k1 ? "record at " : "";
	if (r->badkey && (q = sk_key(r, p, r->badkey)) != SIZE_MAX) {
		p = q;
		what = "";
	} else if (r->badcol >= 0 && (q = sk_elem(r, p, r->badcol)) != SIZE_MAX) {
		p = q;
		what = "";
	}
	size_t line = 1;
	for (size_t i = 0; i < p && i < r->len; i++)
		line += r->buf[i] == '\n';
	snprintf(out, n, " (%soffset %zu, line %zu)", what, p, line);
}

/* The record being read from here on (k1 NULL: the top level). */
static void at(struct rd *r, const char *k1, const char *k2, long idx)
{
	r->k1 = k1;
	r->k2 = k2;
	r->idx = idx;
}

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
	char loc[64];
	locate(r, loc, sizeof loc);
	snprintf(r->err, r->errlen, "%s: %s: %s%s%s", r->prog, r->path, r->where, msg, loc);
}

static uint64_t get_uint(struct rd *r, json_t *o, const char *key, uint64_t max)
{
	json_t *v = json_object_get(o, key);
	if (!r->failed)
		r->badkey = key;
	if (!v) {
		failf(r, "\"%s\" missing", key);
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max) {
		failf(r, "\"%s\" is not an integer in 0..%llu", key, (unsigned long long)max);
		return 0;
	}
	if (!r->failed)
		r->badkey = NULL;
	return (uint64_t)json_integer_value(v);
}

static const char *get_str(struct rd *r, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v)) {
		r->badkey = r->failed ? r->badkey : key;
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
	r->badkey = key;
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
			r->badkey = key;
			failf(r, "\"%s\" is not hex at digit %u", key, 2 * i);
			return NULL;
		}
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	r->badkey = NULL;
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

/* The index of a row's name (a profile.h row table), or -1. */
static int row_index(const char *s, const char *(*name)(unsigned), unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (name(i) && !strcmp(s, name(i)))
			return (int)i;
	return -1;
}

/* Callout kinds by name; kind 0 names slot 0, the sites that found no room. */
static const char *kind_name(unsigned k) { return k == 0 ? PROF_DROPPED_SITES : co_kind_name(k); }

static json_t *get_obj(struct rd *r, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_object(v))
		failf(r, "\"%s\" %s", key, v ? "is not an object" : "missing");
	return v;
}

static json_t *get_arr(struct rd *r, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_array(v))
		failf(r, "\"%s\" %s", key, v ? "is not an array" : "missing");
	return v;
}

/* An array element as an unsigned integer, checked. */
static uint64_t elem_uint(struct rd *r, json_t *a, size_t i, uint64_t max, const char *what)
{
	json_t *v = json_array_get(a, i);
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max) {
		r->badcol = r->failed ? r->badcol : (long)i;
		failf(r, "%s: column %zu is not an integer in 0..%llu", what, i, (unsigned long long)max);
		return 0;
	}
	return (uint64_t)json_integer_value(v);
}

static int elem_row(struct rd *r, json_t *a, size_t i, const char *(*name)(unsigned), unsigned n, const char *what)
{
	json_t *v = json_array_get(a, i);
	int k = json_is_string(v) ? row_index(json_string_value(v), name, n) : -1;
	if (k < 0 && !r->failed)
		r->badcol = (long)i;
	if (k < 0)
		failf(r, "%s: column %zu is not a known name", what, i);
	return k < 0 ? 0 : k;
}

static void get_buckets(struct rd *r, json_t *o, uint64_t *v)
{
	const char *k;
	json_t *x;
	json_object_foreach(o, k, x) {
		int b = row_index(k, prof_bucket_name, PROF_NBUCKETS);
		if (b < 0 || !json_is_integer(x) || json_integer_value(x) < 0) {
			failf(r, "time bucket \"%s\" is unknown or not a count", k);
			return;
		}
		v[b] = (uint64_t)json_integer_value(x);
	}
}

static void get_study(struct rd *r, json_t *root, struct pf_study *s)
{
	json_t *t = json_object_get(root, PK_TIME);
	if (!t)
		return;                  /* vmx-profile-1 */
	s->present = true;
	snprintf(r->where, sizeof r->where, "\"%s\": ", PK_TIME);
	at(r, PK_TIME, NULL, -1);
	json_t *c = get_obj(r, t, PK_T_CYCLES), *e = r->failed ? NULL : get_obj(r, t, PK_T_ENTRIES);
	if (!r->failed) {
		get_buckets(r, c, s->time_cycles);
		get_buckets(r, e, s->time_entries);
		s->stamps = get_uint(r, t, PK_T_STAMPS, INT64_MAX);
		s->stamp_cycles = get_uint(r, t, PK_T_STAMP_CYC, INT64_MAX);
		s->tsc_hz = get_uint(r, t, PK_T_TSC_HZ, INT64_MAX);
		s->wall_ns = get_uint(r, t, PK_T_WALL_NS, INT64_MAX);
	}
	r->where[0] = 0;
	at(r, NULL, NULL, -1);
	json_t *sites = r->failed ? NULL : get_arr(r, root, PK_SITES);
	if (!r->failed) {
		s->sites_dropped = (uint32_t)get_uint(r, root, PK_S_DROPPED, UINT32_MAX);
		s->nsites = json_array_size(sites);
		s->sites = calloc(s->nsites ? s->nsites : 1, sizeof *s->sites);
		if (!s->sites)
			failf(r, "out of memory");
	}
	for (size_t i = 0; !r->failed && i < s->nsites; i++) {
		json_t *a = json_array_get(sites, i);
		snprintf(r->where, sizeof r->where, "site %zu: ", i);
		at(r, PK_SITES, NULL, (long)i);
		if (!json_is_array(a) || json_array_size(a) != 9) {
			failf(r, "not an array of 9 columns");
			break;
		}
		struct pf_site *p = &s->sites[i];
		p->frag = (uint32_t)elem_uint(r, a, 0, UINT32_MAX, "site");
		p->tcoff = (uint32_t)elem_uint(r, a, 1, UINT32_MAX, "site");
		p->eip = (uint32_t)elem_uint(r, a, 2, UINT32_MAX, "site");
		p->kind = (uint32_t)elem_row(r, a, 3, kind_name, CO_NKINDS, "site");
		p->why = (uint32_t)elem_row(r, a, 4, prof_why_name, PROF_NWHY, "site");
		json_t *w = json_array_get(a, 5);
		if (!json_is_array(w))
			failf(r, "site: column 5 is not an array");
		for (size_t j = 0; !r->failed && j < json_array_size(w); j++)
			p->whys |= 1u << elem_row(r, w, j, prof_why_name, PROF_NWHY, "site whys");
		p->taken = elem_uint(r, a, 6, INT64_MAX, "site");
		p->cycles = elem_uint(r, a, 7, INT64_MAX, "site");
		p->chained = (uint32_t)elem_uint(r, a, 8, UINT32_MAX, "site");
	}
	r->where[0] = 0;
	at(r, NULL, NULL, -1);
	json_t *ev = r->failed ? NULL : get_arr(r, root, PK_EVENTS);
	if (!r->failed) {
		s->nevents = json_array_size(ev);
		s->events = calloc(s->nevents ? s->nevents : 1, sizeof *s->events);
		if (!s->events)
			failf(r, "out of memory");
	}
	for (size_t i = 0; !r->failed && i < s->nevents; i++) {
		json_t *o = json_array_get(ev, i);
		snprintf(r->where, sizeof r->where, "event %zu: ", i);
		at(r, PK_EVENTS, NULL, (long)i);
		if (!json_is_object(o)) {
			failf(r, "not an object");
			break;
		}
		struct pf_event *p = &s->events[i];
		p->id = (uint32_t)get_uint(r, o, PK_ID, UINT32_MAX);
		int cause = row_index(get_str(r, o, PK_E_CAUSE), prof_cause_name, PROF_NCAUSES);
		if (cause < 0 && !r->failed) {
			r->badkey = PK_E_CAUSE;
			failf(r, "\"%s\" is not a known cause", PK_E_CAUSE);
		}
		p->cause = cause < 0 ? 0 : (uint32_t)cause;
		p->eip = (uint32_t)get_uint(r, o, PK_E_EIP, UINT32_MAX);
		p->addr = (uint32_t)get_uint(r, o, PK_E_ADDR, UINT32_MAX);
		p->killed = (uint32_t)get_uint(r, o, PK_E_KILLED, UINT32_MAX);
		p->unchained = (uint32_t)get_uint(r, o, PK_E_UNCHAINED, UINT32_MAX);
		p->tsc = get_uint(r, o, PK_E_TSC, INT64_MAX);
		p->rechain = get_uint(r, o, PK_E_RECHAIN, INT64_MAX);
		p->retrans = get_uint(r, o, PK_E_RETRANS, INT64_MAX);
	}
	r->where[0] = 0;
	at(r, NULL, NULL, -1);
	json_t *cs = r->failed ? NULL : get_obj(r, root, PK_CAUSES);
	const char *k;
	json_t *o;
	if (!r->failed)
		json_object_foreach(cs, k, o) {
			int cause = row_index(k, prof_cause_name, PROF_NCAUSES);
			snprintf(r->where, sizeof r->where, "cause %.20s: ", k);
			at(r, PK_CAUSES, k, -1);
			if (cause < 0 || !json_is_object(o)) {
				failf(r, "unknown, or not an object");
				break;
			}
			struct pf_cause *p = &s->causes[cause];
			p->events = get_uint(r, o, PK_EVENTS, INT64_MAX);
			p->killed = get_uint(r, o, PK_E_KILLED, INT64_MAX);
			p->unchained = get_uint(r, o, PK_E_UNCHAINED, INT64_MAX);
			p->rechain = get_uint(r, o, PK_E_RECHAIN, INT64_MAX);
			p->retrans = get_uint(r, o, PK_E_RETRANS, INT64_MAX);
			if (r->failed)
				break;
		}
	r->where[0] = 0;
	at(r, NULL, NULL, -1);
	json_t *sm = r->failed ? NULL : get_obj(r, root, PK_SAMPLES);
	json_t *rows = r->failed ? NULL : get_arr(r, sm, PK_SM_ROWS);
	if (!r->failed) {
		s->period_ns = (uint32_t)get_uint(r, sm, PK_SM_PERIOD, UINT32_MAX);
		s->nsamples = json_array_size(rows);
		s->samples = calloc(s->nsamples ? s->nsamples : 1, sizeof *s->samples);
		if (!s->samples)
			failf(r, "out of memory");
	}
	for (size_t i = 0; !r->failed && i < s->nsamples; i++) {
		json_t *a = json_array_get(rows, i);
		snprintf(r->where, sizeof r->where, "sample %zu: ", i);
		at(r, PK_SAMPLES, PK_SM_ROWS, (long)i);
		if (!json_is_array(a) || json_array_size(a) != 7) {
			failf(r, "not an array of 7 columns");
			break;
		}
		struct prof_sample *p = &s->samples[i];
		p->t_ns = elem_uint(r, a, 0, INT64_MAX, "sample");
		p->tc_bytes = (uint32_t)elem_uint(r, a, 1, UINT32_MAX, "sample");
		p->live = (uint32_t)elem_uint(r, a, 2, UINT32_MAX, "sample");
		p->fragments = (uint32_t)elem_uint(r, a, 3, UINT32_MAX, "sample");
		p->flushes = (uint32_t)elem_uint(r, a, 4, UINT32_MAX, "sample");
		p->invalidations = (uint32_t)elem_uint(r, a, 5, UINT32_MAX, "sample");
		p->unchains = (uint32_t)elem_uint(r, a, 6, UINT32_MAX, "sample");
	}
	r->where[0] = 0;
	at(r, NULL, NULL, -1);
	json_t *dp = r->failed ? NULL : json_object_get(root, PK_DPAGES);
	if (!dp)
		return;                  /* vmx-profile-2 */
	s->pcs = true;
	snprintf(r->where, sizeof r->where, "\"%s\": ", PK_TIME);
	at(r, PK_TIME, NULL, -1);
	s->tc_samples = get_uint(r, t, PK_T_TC_SAMPLES, INT64_MAX);
	s->tc_unattributed = get_uint(r, t, PK_T_TC_UNATTR, INT64_MAX);
	s->direct_samples = get_uint(r, t, PK_T_DIR_SAMPLES, INT64_MAX);
	s->calib_insns = get_uint(r, t, PK_T_CALIB_INSNS, INT64_MAX);
	s->calib_cycles = get_uint(r, t, PK_T_CALIB_CYC, INT64_MAX);
	snprintf(r->where, sizeof r->where, "\"%s\": ", PK_DPAGES);
	at(r, PK_DPAGES, NULL, -1);
	json_t *dr = r->failed ? NULL : (json_is_object(dp) ? get_arr(r, dp, PK_SM_ROWS) : NULL);
	if (!r->failed && !json_is_object(dp))
		failf(r, "not an object");
	if (!r->failed) {
		s->dpages_dropped = (uint32_t)get_uint(r, dp, PK_DP_DROPPED, UINT32_MAX);
		s->ndpages = json_array_size(dr);
		s->dpages = calloc(s->ndpages ? s->ndpages : 1, sizeof *s->dpages);
		if (!s->dpages)
			failf(r, "out of memory");
	}
	for (size_t i = 0; !r->failed && i < s->ndpages; i++) {
		json_t *a = json_array_get(dr, i);
		snprintf(r->where, sizeof r->where, "direct page %zu: ", i);
		at(r, PK_DPAGES, PK_SM_ROWS, (long)i);
		if (!json_is_array(a) || json_array_size(a) != 5) {
			failf(r, "not an array of 5 columns");
			break;
		}
		struct pf_dpage *p = &s->dpages[i];
		p->page = (uint32_t)elem_uint(r, a, 0, UINT32_MAX, "direct page");
		p->cpl = (uint32_t)elem_uint(r, a, 1, 3, "direct page");
		p->entries = elem_uint(r, a, 2, INT64_MAX, "direct page");
		p->cycles = elem_uint(r, a, 3, INT64_MAX, "direct page");
		p->samples = elem_uint(r, a, 4, INT64_MAX, "direct page");
	}
	r->where[0] = 0;
	at(r, NULL, NULL, -1);
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
	if (f->state == 99 && !r->failed) {
		r->badkey = PK_STATE;
		failf(r, "\"%s\" is not a known state", PK_STATE);
	}
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
	if (json_object_get(o, PK_SAMPLES_F))
		f->samples = (uint32_t)get_uint(r, o, PK_SAMPLES_F, UINT32_MAX);
	if (json_object_get(o, PK_KILLED_BY)) {
		f->killed_by = (uint32_t)get_uint(r, o, PK_KILLED_BY, UINT32_MAX);
		int c = row_index(get_str(r, o, PK_KILLED_CAUSE), prof_cause_name, PROF_NCAUSES);
		if (c < 0 && !r->failed) {
			r->badkey = PK_KILLED_CAUSE;
			failf(r, "\"%s\" is not a known cause", PK_KILLED_CAUSE);
		}
		f->killed_cause = c < 0 ? 0 : (uint32_t)c;
	}
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
	at(r, PK_OTHER, NULL, -1);
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
	if (json_object_get(o, PK_SAMPLES_F))
		x->samples = get_uint(r, o, PK_SAMPLES_F, INT64_MAX);
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
	r.idx = -1;
	r.badcol = -1;
	json_error_t je;
	/* Read whole, so that a bad value's offset can be found in the text. */
	char *text = NULL;
	size_t tlen = 0;
	FILE *fp = fopen(path, "rb");
	if (fp) {
		FILE *m = open_memstream(&text, &tlen);
		char chunk[65536];
		size_t got;
		while (m && (got = fread(chunk, 1, sizeof chunk, fp)) > 0)
			fwrite(chunk, 1, got, m);
		bool rerr = ferror(fp);
		fclose(fp);
		if (!m || fclose(m) != 0 || rerr) {
			free(text);
			snprintf(err, errlen, "%s: %s: cannot read it", prog, path);
			return -1;
		}
	}
	json_t *root = text ? json_loadb(text, tlen, JSON_REJECT_DUPLICATES, &je) : json_load_file(path, 0, &je);
	r.buf = text;
	r.len = tlen;
	if (!root) {
		free(text);
		if (je.line > 0)
			snprintf(err, errlen, "%s: %s: %s (line %d, column %d, offset %d)", prog, path, je.text, je.line,
				 je.column, je.position);
		else
			snprintf(err, errlen, "%s: %s: %s", prog, path, je.text);
		return -1;
	}
	if (!json_is_object(root))
		failf(&r, "not a JSON object");
	else if (strcmp(get_str(&r, root, PK_FORMAT), PROF_FORMAT) && strcmp(get_str(&r, root, PK_FORMAT), PROF_FORMAT_2) &&
		 strcmp(get_str(&r, root, PK_FORMAT), PROF_FORMAT_1) && !r.failed)
		failf(&r, "\"%s\" is not \"%s\" (or \"%s\", \"%s\")", PK_FORMAT, PROF_FORMAT, PROF_FORMAT_2,
		      PROF_FORMAT_1);
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
			at(&r, PK_FRAGMENTS, NULL, (long)i);
			get_frag(&r, json_array_get(fr, i), &out->frags[i]);
		}
		r.where[0] = 0;
		at(&r, NULL, NULL, -1);
	}
	if (!r.failed)
		get_other(&r, json_object_get(root, PK_OTHER), &out->other);
	if (!r.failed)
		get_study(&r, root, &out->study);
	json_decref(root);
	free(text);
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
	free(f->study.sites);
	free(f->study.events);
	free(f->study.samples);
	free(f->study.dpages);
	f->study = (struct pf_study){ 0 };
}
