/* The exit-time statistics report: every registered counter (include/stats.h)
 * sorted by name, either as a flat JSON object written to a file the way
 * outfile.h writes anything, or as an aligned table on stderr. The file is
 * opened before the run (the sandbox allows no opening), written at exit. */
#define _GNU_SOURCE
#include "vmx.h"
#include "outfile.h"
#include "stats.h"
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The file stats_report_prepare opened, and its temporary's name in
 * memory a signal handler may read (of->tmp is freed at commit). */
static struct outfile prepared = { .fd = -1 };
static const char *prepared_path;
static char abandon_tmp[PATH_MAX + 64];
static volatile sig_atomic_t abandon_armed;

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int by_name(const void *a, const void *b)
{
	const stat_counter *x = *(const stat_counter *const *)a;
	const stat_counter *y = *(const stat_counter *const *)b;
	int d = strcmp(x->name, y->name);
	/* Keep duplicates in a stable order: qsort itself is not stable. */
	if (d)
		return d;
	return x < y ? -1 : x > y;
}

/* A snapshot of the registry, sorted bytewise by name so the output does not
 * depend on registration order or locale. Duplicated names are kept (each
 * printed) rather than merged, so a double registration stays visible. */
static stat_counter **sorted_counters(unsigned *n)
{
	unsigned total = stats_count(), k = 0;
	stat_counter **v = malloc((total ? total : 1) * sizeof *v);
	if (!v)
		return NULL;
	for (unsigned i = 0; i < total; i++) {
		stat_counter *c = stats_at(i);
		if (c && c->name)
			v[k++] = c;
	}
	qsort(v, k, sizeof *v, by_name);
	*n = k;
	return v;
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void write_json(FILE *f, stat_counter **v, unsigned n)
{
	fputs("{\n", f);
	for (unsigned i = 0; i < n; i++) {
		fputs("  ", f);
		json_string(f, v[i]->name);
		fprintf(f, ": %" PRIu64 "%s\n", v[i]->value, i + 1 < n ? "," : "");
	}
	fputs("}\n", f);
}

static void write_table(FILE *f, stat_counter **v, unsigned n)
{
	static const char hname[] = "counter", hval[] = "value";
	int wname = (int)strlen(hname), wval = (int)strlen(hval);
	char num[24];
	for (unsigned i = 0; i < n; i++) {
		int l = (int)strlen(v[i]->name);
		int d = snprintf(num, sizeof num, "%" PRIu64, v[i]->value);
		if (l > wname)
			wname = l;
		if (d > wval)
			wval = d;
	}
	fprintf(f, "%-*s  %*s\n", wname, hname, wval, hval);
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%-*s  %*" PRIu64 "\n", wname, v[i]->name, wval, v[i]->value);
}

static int report_json(const char *path, stat_counter **v, unsigned n, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	/* Built in memory first: the file is then written in one go, and an
	 * allocation failure leaves the old report in place. */
	if (!f)
		return fail(err, errlen, "vmx: -stats %s: out of memory", path);
	write_json(f, v, n);
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return fail(err, errlen, "vmx: -stats %s: out of memory", path);
	}
	if (prepared_path && !strcmp(prepared_path, path)) {
		rc = outfile_put(&prepared, buf, len, err, errlen);
		if (rc == 0)
			rc = outfile_commit(&prepared, err, errlen);
		else
			outfile_abort(&prepared);
		/* After the rename: a signal in between unlinks a name that
		 * no longer exists. */
		abandon_armed = 0;
		prepared_path = NULL;
	} else {
		rc = outfile_write("-stats", path, buf, len, err, errlen);
	}
	free(buf);
	return rc;
}

int stats_report_prepare(const char *path, char *err, size_t errlen)
{
	if (!path || !strcmp(path, "-"))
		return 0;
	if (outfile_open(&prepared, "-stats", path, err, errlen) < 0)
		return -1;
	prepared_path = path;
	if (prepared.atomic && strlen(prepared.tmp) < sizeof abandon_tmp) {
		strcpy(abandon_tmp, prepared.tmp);
		abandon_armed = 1;
	}
	return 0;
}

void stats_report_abandon_signal(void)
{
	if (abandon_armed)
		unlink(abandon_tmp);
	abandon_armed = 0;
}

int stats_report(const char *path, char *err, size_t errlen)
{
	stat_counter **v;
	unsigned n = 0;
	int rc = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!path)
		return 0;
	v = sorted_counters(&n);
	if (!v) {
		if (prepared_path && !strcmp(prepared_path, path)) {
			outfile_abort(&prepared);
			abandon_armed = 0;
			prepared_path = NULL;
		}
		return fail(err, errlen, "vmx: -stats %s: out of memory", path);
	}
	if (!strcmp(path, "-")) {
		write_table(stderr, v, n);
		fflush(stderr);
	} else {
		rc = report_json(path, v, n, err, errlen);
	}
	free(v);
	return rc;
}
