/* The user-level world: the VMX process's low 4 GiB become the guest's
 * linear space, translated code runs in 32-bit compatibility mode on LDT
 * descriptors, traps arrive as signals. Implements include/world.h. */
#ifndef UWORLD_H
#define UWORLD_H
#include <stddef.h>
#include <stdint.h>
#include "world.h"

struct uworld_info {
	uint8_t *ram;          /* host view of guest RAM (above 4 GiB) */
	uint32_t ram_size;
	uint32_t gate_callout, gate_ibl, gate_ibl_miss, gate_exit_shared, gate_learn_shared, gate_direct;
	uint16_t sel_code32, sel_flat, sel_mongs;
};

/* Sets up memory, descriptors, signals and timers. On failure writes a
 * one-line message to err and returns -1. */
int uworld_init(uint32_t ram_size, struct uworld_info *info, char *err, size_t errlen);
extern const struct world_ops uworld_ops;
/* Runs translated code from MA_RESUME until the monitor leaves the world. */
int uworld_enter(void);
/* Stop timers and restore what the world changed in the process. */
void uworld_fini(void);

#endif
