/* Reading a profile file (docs/profile-format.md) into memory, checked
 * enough that nothing downstream can index out of bounds: malformed or
 * truncated input is one error line naming the file and the offset.
 * Environment: host tools (vmx-report, unit tests), libc and jansson. */
#ifndef PROFILE_READ_H
#define PROFILE_READ_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "profile.h"

struct pf_frag {
	uint32_t id, pc, cs_base, tc, generation;
	uint32_t cpl, state, insns, glen, tc_len;
	uint32_t mix[PROF_NCLASSES];
	uint32_t chains_in, chains_out;
	uint64_t execs, cycles;
	uint32_t samples;             /* host timer signals in its TC code (vmx-profile-3) */
	uint32_t killed_by, killed_cause;   /* event id (0: none) and PROF_CAUSE_* */
	uint8_t *guest, *tcb;         /* glen and tc_len bytes */
	struct prof_insn *map;        /* insns entries, offsets checked against the lengths */
};

struct pf_other {
	uint32_t nfrag, insns, glen, tc_len, chains_in, chains_out;
	uint32_t mix[PROF_NCLASSES];
	uint64_t execs, cycles, samples;
};

/* vmx-profile-2's study sections (all zero in a vmx-profile-1 file). */
struct pf_site {
	uint32_t frag, tcoff, eip, kind, why, whys, chained;   /* kind: CO_*, why: PROF_WHY_*, whys: bits */
	uint64_t taken, cycles;
};
struct pf_event {
	uint32_t id, cause, eip, addr, killed, unchained;
	uint64_t tsc, rechain, retrans;
};
struct pf_cause { uint64_t events, killed, unchained, rechain, retrans; };
struct pf_dpage { uint32_t page, cpl; uint64_t entries, cycles, samples; };
struct pf_study {
	bool present;
	uint64_t time_cycles[PROF_NBUCKETS], time_entries[PROF_NBUCKETS];
	uint64_t stamps, stamp_cycles, tsc_hz, wall_ns;
	struct pf_site *sites;
	size_t nsites;
	uint32_t sites_dropped;
	struct pf_event *events;
	size_t nevents;
	struct pf_cause causes[PROF_NCAUSES];
	uint32_t period_ns;
	struct prof_sample *samples;
	size_t nsamples;
	/* vmx-profile-3's per-PC time (pcs false before it). */
	bool pcs;
	uint64_t tc_samples, tc_unattributed, direct_samples, calib_insns, calib_cycles;
	struct pf_dpage *dpages;
	size_t ndpages;
	uint32_t dpages_dropped;
};

#define PF_NSTATS 8
struct pf_file {
	const char *path;
	uint32_t prologue, tc_base, max_frags;
	char stat_key[PF_NSTATS][PROF_STAT_NAME_MAX], stat_name[PF_NSTATS][PROF_STAT_NAME_MAX];
	unsigned nstats;
	struct pf_frag *frags;
	size_t n;
	struct pf_other other;
	struct pf_study study;
};

/* 0, or -1 with "PROG: PATH: reason[ (line L, column C, offset O)]" in err. */
int pf_load(const char *prog, const char *path, struct pf_file *out, char *err, size_t errlen);
void pf_free(struct pf_file *f);
/* Names of the class and state indices (the rows of include/profile.h). */
const char *pf_class_name(unsigned cls);
const char *pf_state_name(unsigned st);

#endif
