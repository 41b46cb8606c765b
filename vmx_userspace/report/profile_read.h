/* Reading a profile file (docs/profile-format.md) into memory, checked
 * enough that nothing downstream can index out of bounds: malformed or
 * truncated input is one error line naming the file.
 * Environment: host tools (vmx-report, unit tests), libc and jansson. */
#ifndef PROFILE_READ_H
#define PROFILE_READ_H
#include <stddef.h>
#include <stdint.h>
#include "profile.h"

struct pf_frag {
	uint32_t id, pc, cs_base, tc, generation;
	uint32_t cpl, state, insns, glen, tc_len;
	uint32_t mix[PROF_NCLASSES];
	uint32_t chains_in, chains_out;
	uint64_t execs, cycles;
	uint8_t *guest, *tcb;         /* glen and tc_len bytes */
	struct prof_insn *map;        /* insns entries, offsets checked against the lengths */
};

struct pf_other {
	uint32_t nfrag, insns, glen, tc_len, chains_in, chains_out;
	uint32_t mix[PROF_NCLASSES];
	uint64_t execs, cycles;
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
};

/* 0, or -1 with "PROG: PATH: reason[ (line L, column C, offset O)]" in err. */
int pf_load(const char *prog, const char *path, struct pf_file *out, char *err, size_t errlen);
void pf_free(struct pf_file *f);
/* Names of the class and state indices (the rows of include/profile.h). */
const char *pf_class_name(unsigned cls);
const char *pf_state_name(unsigned st);

#endif
