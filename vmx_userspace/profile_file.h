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
