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
	void (*code)(void);
	uint32_t flag_keep;
	uint32_t data_seed;
	const char *name;
};

extern const uint32_t fz_seq_count;
extern const struct fz_seq fz_seq_table[];
extern struct fz_regs fz_in, fz_out;
extern uint8_t fz_scratch_code[FZ_SCRATCH_BYTES];
extern uint8_t fz_stack[FZ_STACK_BYTES];

/* Runs code with fz_in loaded; fz_out has what it left. */
void fz_run(void (*code)(void));
#endif

#endif
