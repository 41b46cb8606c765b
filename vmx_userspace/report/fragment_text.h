/* One fragment's guest code and translation side by side (Zydis' AT&T
 * syntax), as vmx-report prints its hot fragments and the live monitor's
 * "info fragment PC". Environment: host code (libc, Zydis). */
#ifndef FRAGMENT_TEXT_H
#define FRAGMENT_TEXT_H
#include <stdint.h>
#include <stdio.h>
#include "profile_read.h"

void pf_disasm_init(void);
/* One 32-bit instruction at `addr` from b[0..len): its text; returns its
 * length (1 for bytes that decode to nothing). */
unsigned pf_disasm(const uint8_t *b, size_t len, uint32_t addr, char *out, size_t outlen);
/* prologue: TC bytes of -profile's counter before the first instruction (0: none). */
void pf_show_fragment(FILE *o, uint32_t prologue, const struct pf_frag *f, unsigned rank, uint64_t total_heat);

#endif
