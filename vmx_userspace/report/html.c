/* vmx-report --html: one self-contained page (no network: Chart.js from
 * Debian's libjs-chart.js is inlined) with charts of TC occupancy over
 * time, the time breakdown, the hottest fragments, the callout mix and the
 * invalidation causes, and the hot-fragment table with the guest code and
 * its translation side by side. The page copies what each chart holds
 * into <pre id="chart-data"> and any script error into <pre id="errors">,
 * so that a headless browser's DOM dump shows both (tests/scripts).
 * Environment: host tool (libc, jansson). */
#include "report.h"
#include "outfile.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define CHARTJS "/usr/share/javascript/chart.js/chart.min.js"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n + 65536 > cap) {
			char *b = realloc(buf, cap = cap * 2 + 65536);
			if (!b) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = b;
		}
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

static void esc(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		default: fputc(s[i], f);
		}
	}
}

static const char script[] =
"const D = JSON.parse(document.getElementById('data').textContent);\n"
"const held = {};\n"
"function chart(id, cfg) {\n"
"  cfg.options = Object.assign({animation: false, responsive: false, plugins: {legend: {display: cfg.legend || false}}}, cfg.options || {});\n"
"  const c = new Chart(document.getElementById(id), cfg);\n"
"  held[id] = {labels: c.data.labels, datasets: c.data.datasets.map(d => ({label: d.label, data: d.data}))};\n"
"}\n"
"try {\n"
"  const s = D.study, oc = s.occupancy;\n"
"  chart('occupancy', {type: 'line', legend: true, data: {labels: oc.t_ns.map(t => (t / 1e6).toFixed(0)),\n"
"    datasets: [{label: 'TC bytes', data: oc.tc_bytes, yAxisID: 'y', borderColor: '#36c', pointRadius: 0},\n"
"               {label: 'live fragments', data: oc.live, yAxisID: 'y1', borderColor: '#c63', pointRadius: 0},\n"
"               {label: 'invalidations', data: oc.invalidations, yAxisID: 'y1', borderColor: '#393', pointRadius: 0},\n"
"               {label: 'flushes', data: oc.flushes, yAxisID: 'y2', borderColor: '#999', pointRadius: 0, stepped: true}]},\n"
"    options: {scales: {x: {title: {display: true, text: 'guest ms'}}, y: {position: 'left'}, y1: {position: 'right'},\n"
"              y2: {display: false}}}});\n"
"  const tb = s.time.buckets.filter(b => b.cycles > 0);\n"
"  chart('time', {type: 'bar', data: {labels: tb.map(b => b.bucket), datasets: [{label: 'cycles', data: tb.map(b => b.cycles), backgroundColor: '#36c'}]},\n"
"    options: {indexAxis: 'y', scales: {y: {ticks: {autoSkip: false}}}}});\n"
"  chart('hot', {type: 'bar', data: {labels: D.top.map(f => f.pc.toString(16).padStart(8, '0')),\n"
"    datasets: [{label: 'guest instructions executed', data: D.top.map(f => f.heat), backgroundColor: '#c63'}]}});\n"
"  chart('callouts', {type: 'bar', data: {labels: s.exits.by_kind.map(k => k.kind),\n"
"    datasets: [{label: 'monitor cycles', data: s.exits.by_kind.map(k => k.cycles), backgroundColor: '#393'}]}});\n"
"  const ca = s.invalidations.by_cause;\n"
"  chart('causes', {type: 'bar', legend: true, data: {labels: ca.map(c => c.cause),\n"
"    datasets: [{label: 'retranslation cycles', data: ca.map(c => c.retranslate_cycles), backgroundColor: '#c33'},\n"
"               {label: 're-chaining cycles', data: ca.map(c => c.rechain_cycles), backgroundColor: '#fa3'}]},\n"
"    options: {scales: {x: {stacked: true}, y: {stacked: true}}}});\n"
"} catch (e) { document.getElementById('errors').textContent += String(e) + '\\n'; }\n"
"document.getElementById('chart-data').textContent = JSON.stringify(held);\n";

int write_html(const struct pf_file *p, unsigned top, const char *path, char *err, size_t errlen)
{
	size_t jlen;
	char *js = slurp(CHARTJS, &jlen);
	if (!js) {
		snprintf(err, errlen, PROG ": --html needs Chart.js at %s (Debian's libjs-chart.js)", CHARTJS);
		return -1;
	}
	if (strstr(js, "</script")) {
		free(js);
		snprintf(err, errlen, PROG ": %s cannot be inlined (it holds </script)", CHARTJS);
		return -1;
	}
	json_t *study = study_json(p, top);
	if (!study) {
		free(js);
		snprintf(err, errlen, PROG ": %s: a vmx-profile-1 file has no time, exits or occupancy for --html", p->path);
		return -1;
	}
	struct pf_frag **v = hottest(p);
	size_t k = top < p->n ? top : p->n;
	uint64_t total = 0;
	json_t *hot = json_array();
	for (size_t i = 0; i < p->n; i++)
		total += heat(&p->frags[i]);
	for (size_t i = 0; v && i < k; i++)
		json_array_append_new(hot, json_pack("{s:I, s:I, s:I, s:I, s:I}", "pc", (json_int_t)v[i]->pc, "cpl",
						     (json_int_t)v[i]->cpl, "execs", (json_int_t)v[i]->execs, "insns",
						     (json_int_t)v[i]->insns, "heat", (json_int_t)heat(v[i])));
	json_t *data = json_pack("{s:s, s:o, s:O}", "profile", p->path, "top", hot, "study", study);
	char *dj = json_dumps(data, JSON_COMPACT | JSON_ESCAPE_SLASH);
	json_decref(data);
	struct outfile of;
	FILE *f = dj && v ? report_out_open(&of, "--html", path, err, errlen) : NULL;
	if (!f) {
		if (!dj || !v)
			snprintf(err, errlen, PROG ": --html %s: out of memory", path);
		free(js);
		free(dj);
		free(v);
		json_decref(study);
		return -1;
	}
	fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>vmx-report: ", f);
	esc(f, p->path, strlen(p->path));
	fputs("</title>\n<style>body{font-family:sans-serif;margin:1em 2em}h2{margin-top:1.5em}"
	      "pre{font-size:12px;background:#f6f6f6;padding:.5em}.grid{display:flex;flex-wrap:wrap;gap:1em}"
	      ".grid div{border:1px solid #ddd;padding:.5em}#errors{color:#c00}</style>\n</head><body>\n<h1>vmx-report: ",
	      f);
	esc(f, p->path, strlen(p->path));
	fprintf(f, "</h1>\n<p>%zu fragments listed, %" PRIu64 " guest instructions executed in them.</p>\n", p->n, total);
	fputs("<pre id=\"errors\"></pre>\n<div class=\"grid\">\n"
	      "<div><h3>TC occupancy over guest time</h3><canvas id=\"occupancy\" width=\"520\" height=\"300\"></canvas></div>\n"
	      "<div><h3>Where the time went (TSC cycles)</h3><canvas id=\"time\" width=\"520\" height=\"300\"></canvas></div>\n"
	      "<div><h3>Hot fragments</h3><canvas id=\"hot\" width=\"520\" height=\"300\"></canvas></div>\n"
	      "<div><h3>Exits and callouts by kind</h3><canvas id=\"callouts\" width=\"520\" height=\"300\"></canvas></div>\n"
	      "<div><h3>Invalidation causes by cost</h3><canvas id=\"causes\" width=\"520\" height=\"300\"></canvas></div>\n"
	      "</div>\n<h2>Hot fragments: guest code and its translation</h2>\n", f);
	for (size_t i = 0; i < k; i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		if (!m)
			break;
		show_fragment(m, p, v[i], (unsigned)i + 1, total);
		fclose(m);
		char *nl = memchr(buf, '\n', len);
		size_t hl = nl ? (size_t)(nl - buf) : len;
		fprintf(f, "<details%s><summary><code>", i < 3 ? " open" : "");
		esc(f, buf, hl);
		fputs("</code></summary><pre>", f);
		esc(f, buf + hl, len - hl);
		fputs("</pre></details>\n", f);
		free(buf);
	}
	char *text = NULL;
	size_t tlen = 0;
	FILE *m = open_memstream(&text, &tlen);
	if (m) {
		study_text(m, study);
		fclose(m);
		fputs("<h2>The study in text</h2>\n<pre>", f);
		esc(f, text, tlen);
		fputs("</pre>\n", f);
		free(text);
	}
	fputs("<pre id=\"chart-data\" style=\"display:none\"></pre>\n<script type=\"application/json\" id=\"data\">", f);
	fputs(dj, f);
	fputs("</script>\n<script>\n", f);
	fwrite(js, 1, jlen, f);
	fputs("\n</script>\n<script>\n", f);
	fputs(script, f);
	fputs("</script>\n</body></html>\n", f);
	json_decref(study);
	free(js);
	free(dj);
	free(v);
	return report_out_close(f, &of, err, errlen);
}
