/* The profile file's keys (docs/profile-format.md), one row each, shared by
 * its writer (vmx -profile, profile_write.c) and its readers (vmx-report):
 * neither spells a key itself. Also the writer's interface. */
#ifndef PROFILE_FILE_H
#define PROFILE_FILE_H
#include <stddef.h>
#include "profile.h"

/* Top level. */
#define PK_FORMAT       "format"
#define PK_PROLOGUE     "prologue_bytes"
#define PK_TC_BASE      "tc_base"
#define PK_MAX_FRAGS    "max_fragments"
#define PK_STATS        "stats"          /* {key: -stats counter name} */
#define PK_FRAGMENTS    "fragments"
#define PK_OTHER        "other"
/* Per fragment (and, where it makes sense, in "other"). */
#define PK_ID           "id"
#define PK_PC           "pc"
#define PK_CPL          "cpl"
#define PK_CS_BASE      "cs_base"
#define PK_STATE        "state"
#define PK_INSNS        "insns"
#define PK_GUEST_LEN    "guest_len"
#define PK_GUEST        "guest"          /* hex */
#define PK_TC           "tc"
#define PK_TC_LEN       "tc_len"
#define PK_TC_BYTES     "tc_bytes"       /* hex */
#define PK_MIX          "mix"            /* {class: count} */
#define PK_MAP          "map"            /* [[guest offset, TC offset, class], ...] */
#define PK_EXECS        "execs"
#define PK_CHAINS_IN    "chains_in"
#define PK_CHAINS_OUT   "chains_out"
#define PK_CYCLES       "cycles"
#define PK_GENERATION   "generation"
#define PK_NFRAG        "fragments"      /* in "other": how many it sums */
#define PK_KILLED_BY    "killed_by"      /* event id (0: none, or the log was full) */
#define PK_KILLED_CAUSE "killed_cause"   /* the cause's row name ("none": lived to the end) */
/* vmx-profile-2: per-exit accounting, invalidation causality, time, occupancy. */
#define PK_TIME         "time"           /* {"cycles": {bucket: n}, "entries": {...}, ...} */
#define PK_T_CYCLES     "cycles"
#define PK_T_ENTRIES    "entries"
#define PK_T_STAMPS     "stamps"
#define PK_T_STAMP_CYC  "stamp_cycles"
#define PK_T_TSC_HZ     "tsc_hz"
#define PK_T_WALL_NS    "wall_ns"
/* vmx-profile-3: per-PC time (timer samples; directly executed pages). */
#define PK_SAMPLES_F    "samples"        /* a fragment's (and "other"'s) timer samples */
#define PK_T_TC_SAMPLES "tc_samples"
#define PK_T_TC_UNATTR  "tc_unattributed"
#define PK_T_DIR_SAMPLES "direct_samples"
#define PK_T_CALIB_INSNS "calib_insns"
#define PK_T_CALIB_CYC  "calib_cycles"
#define PK_DPAGES       "direct_pages"   /* {"dropped": n, "columns": [...], "rows": [[...], ...]} */
#define PK_DP_DROPPED   "dropped"
/* A direct page row's columns, in order. */
#define PROF_DPAGE_COLUMNS(X) X("page") X("cpl") X("entries") X("cycles") X("samples")
#define PK_SITES        "sites"          /* [[column values], ...] */
#define PK_SITE_COLUMNS "site_columns"
/* A site row's columns, in order. */
#define PROF_SITE_COLUMNS(X) X("fragment") X("tc_offset") X("eip") X("kind") X("why") X("whys") X("taken") \
	X("cycles") X("chained")
#define PK_S_FRAG       "fragment"
#define PK_S_TCOFF      "tc_offset"
#define PK_S_EIP        "eip"
#define PK_S_KIND       "kind"
#define PK_S_WHY        "why"
#define PK_S_WHYS       "whys"
#define PK_S_TAKEN      "taken"
#define PK_S_CHAINED    "chained"
#define PK_S_DROPPED    "sites_dropped"
/* The kind column of sites[0], where the sites that found no room add up. */
#define PROF_DROPPED_SITES "dropped_sites"
#define PK_EVENTS       "events"
#define PK_E_CAUSE      "cause"
#define PK_E_EIP        "eip"
#define PK_E_ADDR       "addr"
#define PK_E_KILLED     "killed"
#define PK_E_UNCHAINED  "unchained"
#define PK_E_TSC        "tsc"
#define PK_E_RECHAIN    "rechain_cycles"
#define PK_E_RETRANS    "retranslate_cycles"
#define PK_CAUSES       "causes"         /* {cause: {events, killed, unchained, rechain_cycles, retranslate_cycles}} */
#define PK_SAMPLES      "samples"        /* {"period_ns": n, "columns": [...], "rows": [[...], ...]} */
#define PK_SM_PERIOD    "period_ns"
#define PK_SM_COLUMNS   "columns"
#define PK_SM_ROWS      "rows"
/* The sample columns, in their order in each row. */
#define PROF_SAMPLE_COLUMNS(X) X("t_ns") X("tc_bytes") X("live") X("fragments") X("flushes") \
	X("invalidations") X("unchains")

/* Writes the arena's records as the profile file `path` (outfile.h's way:
 * atomic replacement of a regular file), listing at most max_frags
 * fragments (the coldest of the rest summed into "other"). 0, or -1 with a
 * one-line message "vmx: -profile PATH: ..." in err. */
int profile_write(const char *path, const struct prof_arena *a, unsigned max_frags, char *err, size_t errlen);
/* The same into a file opened before (outfile_open): the sandbox lets the
 * run loop open no file, so vmx opens the profile's before entering it. */
struct outfile;
int profile_write_open(struct outfile *of, const struct prof_arena *a, unsigned max_frags,
		       char *err, size_t errlen);

#endif
