/* What vmx-report's parts share: the hottest fragments and their side-by-
 * side listing (report.c), the study sections (study_report.c: time,
 * exits and callouts, invalidation causes, occupancy, instruction mix), and
 * the exporters (export.c: callgrind, drcov; html.c).
 * Environment: host tool (libc, jansson, Zydis). */
#ifndef REPORT_H
#define REPORT_H
#include "profile_read.h"
#include <Zydis/Zydis.h>
#include <jansson.h>
#include <stdio.h>

#define PROG "vmx-report"

#include "fragment_text.h"
uint64_t heat(const struct pf_frag *f);
/* The fragments by heat (execs x insns), hottest first; free() it. */
struct pf_frag **hottest(const struct pf_file *p);
static inline void show_fragment(FILE *out, const struct pf_file *p, const struct pf_frag *f, unsigned rank,
				 uint64_t total_heat)
{
	pf_show_fragment(out, p->prologue, f, rank, total_heat);
}

/* The study sections as one JSON object (what --json prints under
 * "study", what the text and the HTML page show); NULL for a
 * vmx-profile-1 file. `top` bounds the lists. */
json_t *study_json(const struct pf_file *p, unsigned top);
void study_text(FILE *out, json_t *study);

/* 0, or -1 with a one-line message in err. */
/* The files vmx-report writes, through vmx's outfile.c (a device or FIFO
 * written in place, a regular file replaced atomically): a stdio stream on
 * an open outfile, and its end (the file committed, or left as it was). */
struct outfile;
FILE *report_out_open(struct outfile *of, const char *opt, const char *path, char *err, size_t errlen);
int report_out_close(FILE *f, struct outfile *of, char *err, size_t errlen);
int write_callgrind(const struct pf_file *p, const char *path, char *err, size_t errlen);
int write_drcov(const struct pf_file *p, const char *path, char *err, size_t errlen);
int write_html(const struct pf_file *p, unsigned top, const char *path, char *err, size_t errlen);

#endif
