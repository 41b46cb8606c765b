/* Byte-level emitters for the code the translator writes into the TC: the
 * callout sequence, %gs-relative moves to and from the monitor area, jumps.
 * All encodings are for 32-bit code running with %gs = the monitor area. */
#ifndef BT_EMIT_H
#define BT_EMIT_H
#include <stdint.h>
#include "mon_area.h"
#include "callout_kinds.h"

struct emitter {
	uint8_t *p;        /* write pointer */
	uint32_t at;       /* linear TC address of *p */
};

static inline void e_u8(struct emitter *e, uint8_t b) { *e->p++ = b; e->at++; }
static inline void e_u16(struct emitter *e, uint16_t v) { e_u8(e, (uint8_t)v); e_u8(e, (uint8_t)(v >> 8)); }
static inline void e_u32(struct emitter *e, uint32_t v) { e_u16(e, (uint16_t)v); e_u16(e, (uint16_t)(v >> 16)); }
static inline void e_bytes(struct emitter *e, const uint8_t *b, unsigned n) { for (unsigned i = 0; i < n; i++) e_u8(e, b[i]); }

/* mov %reg32, %gs:off   (65 89 /r, disp32) */
static inline void e_store_gs(struct emitter *e, unsigned reg, uint32_t off)
{ e_u8(e, 0x65); e_u8(e, 0x89); e_u8(e, (uint8_t)(0x05 | reg << 3)); e_u32(e, off); }
/* mov %gs:off, %reg32   (65 8B /r, disp32) */
static inline void e_load_gs(struct emitter *e, unsigned reg, uint32_t off)
{ e_u8(e, 0x65); e_u8(e, 0x8b); e_u8(e, (uint8_t)(0x05 | reg << 3)); e_u32(e, off); }
/* movl $imm, %gs:off */
static inline void e_store_imm_gs(struct emitter *e, uint32_t off, uint32_t imm)
{ e_u8(e, 0x65); e_u8(e, 0xc7); e_u8(e, 0x05); e_u32(e, off); e_u32(e, imm); }

/* The far call into the monitor, followed by its record. The guest stack
 * is left alone: ESP is parked in the monitor area and the far call lands on
 * the monitor's own stack. */
static inline void e_callout(struct emitter *e, uint32_t gate, uint16_t kind, uint16_t aux, uint32_t arg)
{
	e_store_gs(e, 4, MA_ESP);                                   /* mov %esp,%gs:MA_ESP */
	e_u8(e, 0x65); e_u8(e, 0x0f); e_u8(e, 0xb2); e_u8(e, 0x25); e_u32(e, MA_MONSTK); /* lss */
	e_u8(e, 0x9a); e_u32(e, gate); e_u16(e, HOST_CS64);          /* lcall $0x33,$gate */
	e_u16(e, kind); e_u16(e, aux); e_u32(e, arg);
}

/* jmp rel32 to `target`; returns the TC address of the rel32 field. */
static inline uint32_t e_jmp(struct emitter *e, uint32_t target)
{
	e_u8(e, 0xe9);
	uint32_t at = e->at;
	e_u32(e, target - (at + 4));
	return at;
}
/* jcc rel32 (0F 80+cc). */
static inline uint32_t e_jcc(struct emitter *e, uint8_t cc, uint32_t target)
{
	e_u8(e, 0x0f); e_u8(e, (uint8_t)(0x80 | cc));
	uint32_t at = e->at;
	e_u32(e, target - (at + 4));
	return at;
}

#endif
