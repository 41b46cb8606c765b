/* The fuzz guest's driver: for every generated sequence and each of
 * FZ_SEEDS data seeds, fills registers, EFLAGS and memory, runs the
 * sequence and prints one line of its registers, masked EFLAGS and a hash
 * of the scratch memory, for the fuzz driver to diff against QEMU. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "idt.h"
#include "serial.h"
#include "harness.h"

GUEST_NAME("fuzz");

struct fz_regs fz_in, fz_out;
#define fz_scratch_data ((uint8_t *)FZ_SCRATCH_DATA)
#define fz_scratch_code ((uint8_t *)FZ_SCRATCH_CODE)
#define fz_stack ((uint8_t *)FZ_STACK)
/* Where a deliberate fault resumes (set by the sequence just before it),
 * and what the handlers saw: count, vector, EIP, error code. */
uint32_t fz_resume;
static uint32_t fz_exc[4];

static uint32_t rng;

/* xorshift32: the sequence's data must be a function of its seed alone, so
 * a minimized case sees the same values as the run that found it. */
static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Registers lean towards values that reach edge cases: shift counts near
 * the operand widths, sign boundaries, zero. */
static uint32_t reg_value(void)
{
	static const uint32_t special[] = { 0, 1, 0xffffffffu, 0x80000000u, 0x7fffffffu,
		0x8000, 0x7fff, 0xffff, 0x80, 0x7f, 0xff, 8, 16, 31, 32, 33 };
	uint32_t r = next();

	switch (r & 7) {
	case 4: return special[(r >> 3) & 15];
	case 5: return (r >> 3) & 63;
	case 6: return (uint32_t)-(int32_t)((r >> 3) & 15);
	default: return next();
	}
}

static void fill(uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i += 4) {
		uint32_t v = next();
		/* Some small and some zero words, for the x87/SSE integer loads. */
		if ((v & 3) == 0)
			v = (v >> 2) & 0xff;
		else if ((v & 15) == 1)
			v = 0;
		p[i] = (uint8_t)v;
		p[i + 1] = (uint8_t)(v >> 8);
		p[i + 2] = (uint8_t)(v >> 16);
		p[i + 3] = (uint8_t)(v >> 24);
	}
}

static uint32_t hash(uint32_t h, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void on_exception(struct int_frame *f)
{
	fz_exc[0]++;
	fz_exc[1] = f->vector;
	fz_exc[2] = f->eip;
	fz_exc[3] = f->error_code;
	if (f->vector != 3 && f->vector != 4 && f->vector != 0x81) {
		if (!fz_resume)
			fail("fault 0x%x at eip 0x%08x without a resume address", f->vector, f->eip);
		f->eip = fz_resume;
		fz_resume = 0;
	}
}

static void setup_fpu(void)
{
	uint32_t cr0, cr4, mxcsr = 0x1f80;

	/* Native x87 and SSE: no emulation, no lazy switching, SSE enabled. */
	__asm__ volatile("movl %%cr0, %0" : "=r"(cr0));
	cr0 = (cr0 & ~(0x4u | 0x8u)) | 0x2u | 0x20u;
	__asm__ volatile("movl %0, %%cr0" : : "r"(cr0));
	__asm__ volatile("movl %%cr4, %0" : "=r"(cr4));
	cr4 |= 0x600;
	__asm__ volatile("movl %0, %%cr4" : : "r"(cr4));
	__asm__ volatile("fninit; ldmxcsr %0" : : "m"(mxcsr));
}

void guest_main(void)
{
	uint8_t *esp0 = fz_stack + FZ_STACK_BYTES / 2;

	idt_init();
	static const uint8_t vectors[] = { 0, 3, 4, 5, 6, 13, 0x81 };
	for (uint32_t v = 0; v < sizeof vectors; v++)
		idt_set_handler(vectors[v], on_exception, GATE_INTR);
	setup_fpu();
	for (uint32_t i = 0; i < fz_seq_count; i++) {
		const struct fz_seq *s = &fz_seq_table[i];
		if (s->size > FZ_SEQ_MAX)
			fail("sequence %s: %u bytes, more than FZ_SEQ_MAX", s->name, s->size);
		/* Writes over the previous sequence's translated code. */
		for (uint32_t b = 0; b < s->size; b++)
			((volatile uint8_t *)s->vma)[b] = s->code[b];
		for (uint32_t k = 0; k < FZ_SEEDS; k++) {
			rng = s->data_seed * 2654435761u + k * 0x9E3779B9u + 1;
			if (!rng)
				rng = 1;
			next();
			fill(fz_scratch_data, FZ_SCRATCH_BYTES);
			fill(fz_scratch_code, FZ_SCRATCH_BYTES);
			fill(esp0 - FZ_FRAME_BELOW, FZ_FRAME_BELOW + FZ_FRAME_ABOVE);
			fz_in.eax = reg_value();
			fz_in.ebx = reg_value();
			fz_in.ecx = reg_value();
			fz_in.edx = reg_value();
			fz_in.esi = reg_value();
			fz_in.edi = reg_value();
			fz_in.ebp = reg_value();
			fz_in.esp = (uint32_t)esp0;
			fz_in.eflags = 2 | (next() & 0x8d5);
			fz_resume = 0;
			for (int e = 0; e < 4; e++)
				fz_exc[e] = 0;
			fz_run((void (*)(void))s->vma);
			uint32_t h = hash(2166136261u, fz_scratch_data, FZ_SCRATCH_BYTES);
			h = hash(h, fz_scratch_code, FZ_SCRATCH_BYTES);
			h = hash(h, esp0 - FZ_FRAME_BELOW, FZ_FRAME_BELOW + FZ_FRAME_ABOVE);
			h = hash(h, (const uint8_t *)fz_exc, sizeof fz_exc);
			kprintf("%s.%u %08x %08x %08x %08x %08x %08x %08x %08x %08x %08x\n", s->name, k,
				fz_out.eax, fz_out.ebx, fz_out.ecx, fz_out.edx, fz_out.esi, fz_out.edi,
				fz_out.ebp, fz_out.esp, fz_out.eflags & s->flag_keep, h);
		}
	}
}
