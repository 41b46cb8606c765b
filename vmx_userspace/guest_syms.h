/* The guest kernel's symbols (guest_syms.c): loaded once from a multiboot
 * ELF, looked up by guest linear address for perf maps. */
#ifndef GUEST_SYMS_H
#define GUEST_SYMS_H
#include <stddef.h>
#include <stdint.h>

/* Reads the ELF's symbol tables; returns how many symbols it kept (0 for a
 * file without any, or not an ELF). */
size_t guest_syms_load(const char *path);
/* The nearest symbol at or below `addr` and *off = addr - its value; NULL
 * when there is none. */
const char *guest_sym_at(uint32_t addr, uint32_t *off);

#endif
