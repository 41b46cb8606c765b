/* The translation profile (-profile): one record per compiled code fragment
 * ever made, kept in an arena the world hands over (it outlives flushes and
 * invalidations), and the rows the profile file's writer and readers share.
 * Environment: monitor (fills the arena) and host tools (read it, no libc here). */
#ifndef PROFILE_H
#define PROFILE_H
#include <stdint.h>
#include "callout_kinds.h"

/* The file format (docs/profile-format.md); bump on incompatible changes. */
#define PROF_FORMAT "vmx-profile-3"
/* Those before (2: no per-PC time; 1: no study sections): readers still take them. */
#define PROF_FORMAT_2 "vmx-profile-2"
#define PROF_FORMAT_1 "vmx-profile-1"
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
	uint32_t killed_by;    /* PROF_EV_* code of what invalidated or flushed it (0: lived to the end) */
	uint32_t samples;      /* host timer signals that found the CPU in its TC code */
	uint32_t pad2;
	uint64_t execs, cycles;
};

/* ---- per-exit accounting, invalidation causality, time, occupancy ---- */

enum prof_why {
#define EXIT_WHY(n, s, d) PROF_WHY_##n,
#include "exit_reasons.def"
#undef EXIT_WHY
	PROF_NWHY
};
enum prof_cause {
#define INVAL_CAUSE(n, s, d) PROF_CAUSE_##n,
#include "inval_causes.def"
#undef INVAL_CAUSE
	PROF_NCAUSES
};
/* Time buckets: the rows of time_buckets.def, then one per callout kind,
 * then one per host trap kind (trap_kinds.def). */
enum prof_bucket {
#define TIME_BUCKET(n, s, d) PROF_TB_##n,
#include "time_buckets.def"
#undef TIME_BUCKET
	PROF_TB_CALLOUT,
	PROF_TB_TRAP = PROF_TB_CALLOUT + CO_NKINDS,
#define TRAP_KIND(n, s) PROF_TB_TRAP_##n,
	PROF_TB_TRAP_ = PROF_TB_TRAP - 1,
#include "trap_kinds.def"
#undef TRAP_KIND
	PROF_NBUCKETS
};

/* An exit stub or callout site (or, for IBL misses, a target: their sites
 * share the monitor's tail): how often the monitor was entered through it,
 * the cycles from entering vmm_callout to leaving it, and why. */
struct prof_site {
	uint32_t rec;          /* the fragment's record (0: aggregate, or an IBL target) */
	uint32_t tcoff;        /* the stub's or callout record's offset in the fragment (IBL: the target EIP) */
	uint32_t eip;          /* exits: target EIP; callouts: the instruction's EIP */
	uint16_t kind;         /* callout kind (CO_EXIT for exit stubs) */
	uint8_t why, used;     /* PROF_WHY of the latest taking */
	uint32_t whys;         /* bit per PROF_WHY seen */
	uint32_t chained;      /* exits: times this taking chained it */
	uint64_t taken, cycles;
};
#define PROF_MAX_SITES 262144u  /* a power of two; slot 0 sums the sites that find no room */
#define PROF_SITE_PROBES 32u     /* slots looked at per site before it goes to slot 0 */

/* Something that invalidated fragments or undid chains. Codes in
 * killed_by: an event's index + 1 when it is in the log, else
 * PROF_EV_CAUSE | cause (the log was full: the cause's totals only). */
struct prof_event {
	uint32_t cause, eip, addr;    /* SMC: the storing instruction's EIP and the physical address */
	uint32_t killed, unchained;   /* fragments invalidated or flushed, chains undone */
	uint32_t pad;
	uint64_t tsc;                 /* when (TSC) */
	uint64_t rechain_cycles;      /* monitor cycles of exits taken again because of it */
};
#define PROF_MAX_EVENTS 65536u
#define PROF_EV_CAUSE 0x80000000u

/* One occupancy sample, every sample_ns of guest time. */
struct prof_sample {
	uint64_t t_ns;                /* guest time */
	uint32_t tc_bytes, live;      /* TC bytes in use, fragments live */
	uint32_t fragments, flushes, invalidations, unchains;   /* totals so far */
};
#define PROF_MAX_SAMPLES 4096u   /* when full, every other is dropped and the period doubles */
#define PROF_SAMPLE_NS 10000000u /* the first period: 10 ms of guest time */

/* A guest page that ran directly (keyed by linear page and CPL): its
 * entries, the TSC cycles from each entry (or resumption on it) to the
 * next trap, and the host timer signals that found the CPU on it. */
struct prof_dpage {
	uint32_t page;                /* linear address >> 12 */
	uint8_t cpl, used;
	uint16_t pad;
	uint64_t entries, cycles, samples;
};
#define PROF_MAX_DPAGES 8192u    /* a power of two; slot 0 sums the pages that find no room */

struct prof_study {
	/* Per cause: events that did something, fragments killed, chains undone,
	 * monitor cycles of the exits re-taken (retranslation is summed by the
	 * writer from the records' killed_by and the next generation's cycles). */
	uint64_t cause_events[PROF_NCAUSES], cause_killed[PROF_NCAUSES];
	uint64_t cause_unchained[PROF_NCAUSES], cause_rechain[PROF_NCAUSES];
	uint64_t time_cycles[PROF_NBUCKETS], time_entries[PROF_NBUCKETS];
	uint64_t stamps;              /* rdtsc stamps taken for the time accounting */
	uint64_t stamp_cycles;        /* one stamp's cost, measured at start */
	uint64_t tsc_start, tsc_end, ns_start, ns_end;   /* host clock against the TSC */
	uint32_t nsites_dropped;
	uint32_t nevents, nsamples;
	uint32_t sample_ns;           /* the period now */
	uint64_t next_sample;
	struct prof_site *sites;      /* PROF_MAX_SITES */
	struct prof_event *events;    /* PROF_MAX_EVENTS */
	struct prof_sample *samples;  /* PROF_MAX_SAMPLES */
	/* Per-PC time: host timer signals in translated code (in a fragment's
	 * bytes, or elsewhere: gates, IBL), in direct code, and the native
	 * calibration loop that directly executed instruction counts are
	 * estimated from (no instruction counter on this host). */
	uint64_t tc_samples, tc_unattributed, direct_samples;
	uint64_t calib_insns, calib_cycles;
	uint32_t ndpages_dropped, pad3;
	struct prof_dpage *dpages;    /* PROF_MAX_DPAGES */
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
	struct prof_study study;
};
#define PROF_MAGIC 0x666f7270u   /* "prof" */

/* The rows' names: a time bucket ("tc", "callout.exit", "trap.sigsegv";
 * NULL for a callout value no row has), an exit reason, a cause. */
static inline const char *prof_bucket_name(unsigned b)
{
	static const char *const fixed[] = {
#define TIME_BUCKET(n, s, d) s,
#include "time_buckets.def"
#undef TIME_BUCKET
	};
	static const char *const co[CO_NKINDS] = {
#define CO_KIND(n, v, s) [v] = "callout." s,
#include "callout_kinds.def"
#undef CO_KIND
	};
	static const char *const tr[] = {
#define TRAP_KIND(n, s) "trap." s,
#include "trap_kinds.def"
#undef TRAP_KIND
	};
	if (b < PROF_TB_CALLOUT)
		return fixed[b];
	if (b < PROF_TB_TRAP)
		return co[b - PROF_TB_CALLOUT];
	return b < PROF_NBUCKETS ? tr[b - PROF_TB_TRAP] : (const char *)0;
}
static inline const char *prof_why_name(unsigned w)
{
	static const char *const names[] = {
#define EXIT_WHY(n, s, d) s,
#include "exit_reasons.def"
#undef EXIT_WHY
	};
	return w < PROF_NWHY ? names[w] : "?";
}
static inline const char *prof_cause_name(unsigned c)
{
	static const char *const names[] = {
#define INVAL_CAUSE(n, s, d) s,
#include "inval_causes.def"
#undef INVAL_CAUSE
	};
	return c < PROF_NCAUSES ? names[c] : "?";
}

static inline const struct prof_insn *prof_insns(const struct prof_arena *a, const struct prof_rec *r)
{ return (const struct prof_insn *)(a->pool + r->pool); }
static inline const uint8_t *prof_guest(const struct prof_arena *a, const struct prof_rec *r)
{ return a->pool + r->pool + r->ninsn * sizeof(struct prof_insn); }
static inline const uint8_t *prof_tc(const struct prof_arena *a, const struct prof_rec *r)
{ return prof_guest(a, r) + r->glen; }

#endif
