/* The names of profile.h's instruction classes and fragment states, for
 * the readers of profiles and the live monitor. Environment: host code. */
#include "profile_read.h"

#define ROW_NAME(i, s) s,
static const char *const class_names[] = { PROF_CLASSES(ROW_NAME) };
static const char *const state_names[] = { PROF_STATES(ROW_NAME) };

const char *pf_class_name(unsigned c) { return c < PROF_NCLASSES ? class_names[c] : "?"; }
const char *pf_state_name(unsigned s) { return s < sizeof state_names / sizeof *state_names ? state_names[s] : "?"; }
