/* What the emulator's files share (emulate.c and emulate_data.c): the
 * instruction context, fetched and decoded again from guest memory, and
 * the helpers that read and write its operands. Monitor-internal. */
#ifndef EMULATE_INTERNAL_H
#define EMULATE_INTERNAL_H
#include "vm.h"

#define FL_ZF 0x40u
#define FL_DF 0x400u
#define FL_OF 0x800u

struct ctx {
	struct bt_insn in;
	uint8_t code[16];
	uint8_t mod, regf, rm;
	uint32_t next;
};

/* The guest instruction at eip, fetched again and decoded. */
bool emu_fetch_insn(uint32_t eip, struct ctx *c, bool *trunc);
/* Delivers the guest exception `vec` (with `err` where it has one); false. */
bool emu_fault(int vec, uint32_t err);
/* The memory operand, `extra` bytes past its offset; a fault delivered on failure. */
bool emu_mem_read(const struct ctx *c, uint32_t extra, void *d, uint32_t len);
bool emu_mem_write(const struct ctx *c, uint32_t extra, const void *s, uint32_t len);
/* The r/m operand as 16 or 32 bits. */
bool emu_rm_read(const struct ctx *c, unsigned bits, uint32_t *v);
bool emu_rm_write(const struct ctx *c, unsigned bits, uint32_t v);
/* A register of 16 bits (the low half) or 32. */
void emu_reg_write(int r, unsigned bits, uint32_t v);
void emu_set_zf(bool z);
/* emulate_data.c: the data access of an instruction already fetched. */
int emu_data_access(struct ctx *cp, bool at_start);

static inline uint32_t ea(const struct ctx *c) { return emu_ea(&c->in); }
static inline int mseg(const struct ctx *c) { return emu_mseg(&c->in); }
#endif
