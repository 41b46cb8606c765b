/* vmx-report's exporters for other tools: --callgrind (the callgrind
 * format KCachegrind and QCachegrind read: one function per guest block,
 * costs per guest instruction) and --drcov (the drcov format coverage
 * tools read: executed guest blocks, the guest kernel and user code as two
 * modules). Every file vmx-report writes (these and --html) goes through
 * vmx's outfile.c: a regular file is replaced atomically, a device, FIFO
 * or /dev/stdout is written in place and never replaced.
 * Environment: host tool (libc). */
#include "report.h"
#include "outfile.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

FILE *report_out_open(struct outfile *of, const char *opt, const char *path, char *err, size_t errlen)
{
	if (outfile_open(of, opt, path, err, errlen) != 0)
		return NULL;
	int fd = dup(of->fd);
	FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		outfile_abort(of);
		snprintf(err, errlen, PROG ": %s %s: cannot write it", opt, path);
	}
	return f;
}

int report_out_close(FILE *f, struct outfile *of, char *err, size_t errlen)
{
	if (ferror(f) | (fclose(f) != 0)) {
		outfile_abort(of);
		snprintf(err, errlen, PROG ": %s %s: cannot write it", of->opt, of->path);
		return -1;
	}
	return outfile_commit(of, err, errlen);
}

/* ---- callgrind ---- */

/* Monitor cycles of the sites in a fragment, per instruction index: a
 * callout at the instruction whose EIP it names, an exit at the last. */
static uint64_t *site_cycles(const struct pf_file *p)
{
	uint64_t *v = calloc(p->n ? p->n * 256 : 1, sizeof *v);
	if (!v)
		return NULL;
	for (size_t i = 0; i < p->study.nsites; i++) {
		const struct pf_site *s = &p->study.sites[i];
		if (s->kind == CO_IBL_MISS)
			continue;
		size_t lo = 0, hi = p->n;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (p->frags[mid].id < s->frag) lo = mid + 1;
			else hi = mid;
		}
		if (lo >= p->n || p->frags[lo].id != s->frag)
			continue;
		const struct pf_frag *f = &p->frags[lo];
		uint32_t k = f->insns - 1;
		if (s->kind != CO_EXIT && s->kind != CO_IC_LEARN)
			for (uint32_t j = 0; j < f->insns; j++)
				if (f->pc + f->map[j].goff == s->eip)
					k = j;
		v[lo * 256 + k] += s->cycles;
	}
	return v;
}

int write_callgrind(const struct pf_file *p, const char *path, char *err, size_t errlen)
{
	struct outfile of;
	uint64_t *mon = site_cycles(p);
	if (!mon) {
		snprintf(err, errlen, PROG ": %s: out of memory", path);
		return -1;
	}
	FILE *f = report_out_open(&of, "--callgrind", path, err, errlen);
	if (!f) {
		free(mon);
		return -1;
	}
	uint64_t ir = 0, tr = 0, mc = 0;
	for (size_t i = 0; i < p->n; i++) {
		ir += heat(&p->frags[i]);
		tr += p->frags[i].cycles;
	}
	for (size_t i = 0; i < p->n * 256; i++)
		mc += mon[i];
	fprintf(f, "# callgrind format\nversion: 1\ncreator: vmx-report\ncmd: %s\npositions: instr\n", p->path);
	fprintf(f, "event: Ir : guest instructions executed\nevent: Translate : translation cycles\n"
		   "event: Monitor : monitor cycles of its exits and callouts\nevents: Ir Translate Monitor\n");
	fprintf(f, "summary: %" PRIu64 " %" PRIu64 " %" PRIu64 "\n\n", ir, tr, mc);
	for (size_t i = 0; i < p->n; i++) {
		const struct pf_frag *g = &p->frags[i];
		fprintf(f, "ob=guest-cpl%u\nfl=guest-cpl%u\nfn=guest_%08" PRIx32 "_cpl%u\n", g->cpl, g->cpl, g->pc, g->cpl);
		for (uint32_t k = 0; k < g->insns; k++)
			fprintf(f, "0x%" PRIx32 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", g->pc + g->map[k].goff, g->execs,
				k ? 0 : g->cycles, mon[i * 256 + k]);
	}
	free(mon);
	return report_out_close(f, &of, err, errlen);
}

/* ---- drcov ---- */

struct bb { uint32_t lin, len; unsigned mod; };

static int bb_cmp(const void *x, const void *y)
{
	const struct bb *a = x, *b = y;
	if (a->mod != b->mod) return a->mod < b->mod ? -1 : 1;
	if (a->lin != b->lin) return a->lin < b->lin ? -1 : 1;
	return a->len < b->len ? -1 : a->len > b->len;
}

int write_drcov(const struct pf_file *p, const char *path, char *err, size_t errlen)
{
	struct outfile of;
	struct bb *v = malloc((p->n ? p->n : 1) * sizeof *v);
	if (!v) {
		snprintf(err, errlen, PROG ": %s: out of memory", path);
		return -1;
	}
	size_t n = 0;
	/* Module 0: guest kernel code (CPL 0-2); module 1: user code (CPL 3). */
	uint64_t lo[2] = { UINT32_MAX, UINT32_MAX }, hi[2] = { 0, 0 };
	for (size_t i = 0; i < p->n; i++) {
		const struct pf_frag *f = &p->frags[i];
		if (!f->execs)
			continue;
		unsigned m = f->cpl == 3;
		uint32_t lin = f->cs_base + f->pc;
		v[n++] = (struct bb){ lin, f->glen, m };
		if (lin < lo[m]) lo[m] = lin;
		if ((uint64_t)lin + f->glen > hi[m]) hi[m] = (uint64_t)lin + f->glen;
	}
	qsort(v, n, sizeof *v, bb_cmp);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!m || bb_cmp(&v[m - 1], &v[i]))
			v[m++] = v[i];
	FILE *f = report_out_open(&of, "--drcov", path, err, errlen);
	if (!f) {
		free(v);
		return -1;
	}
	for (unsigned k = 0; k < 2; k++)
		if (lo[k] > hi[k])
			lo[k] = hi[k] = 0;
	fprintf(f, "DRCOV VERSION: 2\nDRCOV FLAVOR: drcov\nModule Table: version 2, count 2\n"
		   "Columns: id, base, end, entry, checksum, timestamp, path\n");
	fprintf(f, " 0, 0x%016" PRIx64 ", 0x%016" PRIx64 ", 0x0000000000000000, 0x00000000, 0x00000000, guest-kernel\n",
		lo[0], hi[0]);
	fprintf(f, " 1, 0x%016" PRIx64 ", 0x%016" PRIx64 ", 0x0000000000000000, 0x00000000, 0x00000000, guest-user\n",
		lo[1], hi[1]);
	fprintf(f, "BB Table: %zu bbs\n", m);
	for (size_t i = 0; i < m; i++) {
		/* bb_entry_t: u32 start (offset in its module), u16 size, u16 module id. */
		uint32_t start = v[i].lin - (uint32_t)lo[v[i].mod];
		uint8_t e[8] = { (uint8_t)start, (uint8_t)(start >> 8), (uint8_t)(start >> 16), (uint8_t)(start >> 24),
				 (uint8_t)v[i].len, (uint8_t)(v[i].len >> 8), (uint8_t)v[i].mod, 0 };
		fwrite(e, 1, sizeof e, f);
	}
	free(v);
	return report_out_close(f, &of, err, errlen);
}
