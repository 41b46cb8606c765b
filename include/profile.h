/* The translation profile (-profile): one record per compiled code fragment
 * ever made, kept in an arena the world hands over (it outlives flushes and
 * invalidations), and the rows the profile file's writer and readers share.
 * Environment: monitor (fills the arena) and host tools (read it, no libc here). */
#ifndef PROFILE_H
#define PROFILE_H
#include <stdint.h>

/* The file format (docs/profile-format.md); bump on incompatible changes. */
#define PROF_FORMAT "vmx-profile-1"
/* A file lists at most this many fragments: past it the coldest (execution
 * count x instruction count) are summed into one "other" record. */
#define PROF_FILE_MAX_FRAGMENTS 200000u

/* The execution counter every fragment starts with when profiling
 * (bt/profile.c): mov %eax,%gs:MA_S_PROF; mov %gs:slot,%eax;
 * lea 1(%eax),%eax; mov %eax,%gs:slot; mov %gs:MA_S_PROF,%eax. */
#define PROF_PROLOGUE_BYTES 27u

/* Instruction classes, in the order of the per-fragment mix: one row each
 * (index, file name). */
#define PROF_CLASSES(X) X(0, "ident") X(1, "inline") X(2, "callout")
#define PROF_NCLASSES 3

/* What happened to a fragment by the end of the run. */
#define PROF_STATES(X) X(0, "live") X(1, "invalidated") X(2, "flushed")
enum prof_state { PROF_LIVE = 0, PROF_INVALIDATED = 1, PROF_FLUSHED = 2 };

/* Per guest instruction of a fragment, in the byte pool. */
struct prof_insn {
	uint8_t goff;          /* offset of its bytes in the fragment's guest bytes */
	uint8_t cls;           /* PROF_CLASSES index */
	uint16_t tcoff;        /* offset of its translation from the fragment's TC start */
};

struct prof_rec {
	uint32_t eip, cs_base, tc;
	uint32_t glen, tc_len;
	uint32_t pool;         /* byte pool offset: ninsn prof_insn, glen guest bytes, tc_len TC bytes */
	uint32_t ninsn;
	uint8_t cpl, state, pad[2];
	uint32_t nclass[PROF_NCLASSES];
	uint32_t chains_in, chains_out;
	uint32_t nfrag;        /* fragments this record stands for (1, or the overflow aggregate's count) */
	uint64_t execs, cycles;
};

/* Counters of the -stats report that the profile's totals correspond to:
 * the monitor copies their names here from the counters themselves. */
#define PROF_STAT_KEYS(X) X(fragments) X(insns) X(tc_bytes) X(guest_bytes) X(cycles)
#define PROF_STAT_NAME_MAX 48

/* The arena's start. recs[0] is the aggregate of the fragments translated
 * after recs[] or the pool filled up; recs[1..nrec) are in creation order. */
struct prof_arena {
	uint32_t magic;
	uint32_t nrec, max_rec;
	uint32_t pool_used, pool_size;
	uint32_t prologue_bytes;
	uint32_t tc_base;
	uint32_t pad;
#define PROF_STAT_FIELD(k) char stat_##k[PROF_STAT_NAME_MAX];
	PROF_STAT_KEYS(PROF_STAT_FIELD)
#undef PROF_STAT_FIELD
	struct prof_rec *recs;
	uint8_t *pool;
};
#define PROF_MAGIC 0x666f7270u   /* "prof" */

static inline const struct prof_insn *prof_insns(const struct prof_arena *a, const struct prof_rec *r)
{ return (const struct prof_insn *)(a->pool + r->pool); }
static inline const uint8_t *prof_guest(const struct prof_arena *a, const struct prof_rec *r)
{ return a->pool + r->pool + r->ninsn * sizeof(struct prof_insn); }
static inline const uint8_t *prof_tc(const struct prof_arena *a, const struct prof_rec *r)
{ return prof_guest(a, r) + r->glen; }

#endif
