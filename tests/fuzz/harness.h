/* Layout shared by the fuzz harness's C and assembly halves and by the
 * sequences gen.c writes: the register block, the sequence table entry and
 * the sizes of the memory the checksum covers. */
#ifndef FUZZ_HARNESS_H
#define FUZZ_HARNESS_H

#define FZ_SCRATCH_BYTES 1024	/* gen.c's SCRATCH_BYTES */
#define FZ_FRAME_BELOW 256	/* bytes below the entry ESP in the checksum */
#define FZ_FRAME_ABOVE 256	/* bytes above it (the d(%esp) operands) */
#define FZ_STACK_BYTES 8192
#define FZ_SEEDS 4		/* runs per sequence, each from its own data */

/* Fixed addresses in guest RAM (outside the image), so that a case computes
 * the same values whichever guest it is part of: the sequence runs copied
 * to FZ_SEQ_VMA; the code scratch just below it straddles a page boundary
 * (half in a page without code, half in the sequence's first page). */
#define FZ_SCRATCH_DATA 0x5E0000
#define FZ_STACK 0x5E2000
#define FZ_SCRATCH_CODE (0x600000 - FZ_SCRATCH_BYTES / 2)
#define FZ_SEQ_VMA (FZ_SCRATCH_CODE + FZ_SCRATCH_BYTES)
#define FZ_SEQ_MAX 0x10000	/* bytes per slot; a case names its slot */

/* Offsets into struct fz_regs, for the assembly. */
#define FZ_EAX 0
#define FZ_EBX 4
#define FZ_ECX 8
#define FZ_EDX 12
#define FZ_ESI 16
#define FZ_EDI 20
#define FZ_EBP 24
#define FZ_ESP 28
#define FZ_EFL 32

#ifndef __ASSEMBLER__
#include <stdint.h>

struct fz_regs {
	uint32_t eax, ebx, ecx, edx, esi, edi, ebp, esp, eflags;
};

/* One row per sequence, written by `gen asm`. flag_keep clears the EFLAGS
 * bits some path through the sequence leaves undefined. */
struct fz_seq {
	const uint8_t *code;
	uint32_t size;
	uint32_t vma;	/* where it is copied and run */
	uint32_t flag_keep;
	uint32_t data_seed;
	const char *name;
};

extern const uint32_t fz_seq_count;
extern const struct fz_seq fz_seq_table[];
extern struct fz_regs fz_in, fz_out;
extern uint32_t fz_resume;

/* Runs code with fz_in loaded; fz_out has what it left. */
void fz_run(void (*code)(void));
#endif

#endif
