/* Descriptor-table helpers for guests that build their own GDT entries:
 * descriptor encoding, lgdt/sgdt, and segment register readback. */
#ifndef GUEST_DESC_H
#define GUEST_DESC_H
#include <stdint.h>

/* Access byte values (P, DPL, S, type). The accessed bit is preset so the
 * CPU never writes the descriptor when a selector is loaded. */
#define ACC_CODE_RX    0x9B	/* ring 0 code, readable */
#define ACC_CODE_X     0x99	/* ring 0 code, execute-only */
#define ACC_DATA_RW    0x93	/* ring 0 data, writable */
#define ACC_DATA_RO    0x91	/* ring 0 data, read-only */
#define ACC_DATA_RW3   0xF3	/* ring 3 data, writable */
#define ACC_DATA_NP    0x13	/* ring 0 data, not present */
#define ACC_TSS32      0x89	/* available 32-bit TSS */
#define ACC_CALL_GATE  0x8C	/* 32-bit call gate */

/* Flags nibble: G (4 KiB granularity) and D/B (32-bit). */
#define FLG_G   0x8
#define FLG_D   0x4

static inline uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (uint64_t)(limit & 0xFFFF) |
	       ((uint64_t)(base & 0xFFFFFF) << 16) |
	       ((uint64_t)access << 40) |
	       ((uint64_t)((limit >> 16) & 0xF) << 48) |
	       ((uint64_t)(flags & 0xF) << 52) |
	       ((uint64_t)(base >> 24) << 56);
}

struct dtr {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

static inline void lgdt(const struct dtr *d) { __asm__ volatile("lgdt %0" : : "m"(*d) : "memory"); }
static inline void sgdt(struct dtr *d) { __asm__ volatile("sgdt %0" : "=m"(*d)); }
static inline void sidt(struct dtr *d) { __asm__ volatile("sidt %0" : "=m"(*d)); }

/* 16-bit reads: the upper half of a 32-bit destination is model specific. */
#define READ_SEG(name) \
static inline uint16_t read_##name(void) \
{ \
	uint16_t v; \
	__asm__ volatile("movw %%" #name ", %0" : "=r"(v)); \
	return v; \
}
READ_SEG(cs) READ_SEG(ds) READ_SEG(es) READ_SEG(fs) READ_SEG(gs) READ_SEG(ss)
#undef READ_SEG

#define WRITE_SEG(name) \
static inline void write_##name(uint16_t v) \
{ \
	__asm__ volatile("movw %0, %%" #name : : "r"(v) : "memory"); \
}
WRITE_SEG(ds) WRITE_SEG(es) WRITE_SEG(fs) WRITE_SEG(gs)
#undef WRITE_SEG

#endif
