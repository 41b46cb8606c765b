/* The PC's physical memory map, as QEMU's firmware reports it to a kernel:
 * both boot loaders (multiboot's memory map, Linux's e820 table) hand the
 * same one over, so guests that print it see what they see under QEMU. */
#include "vmx.h"
#include <string.h>

#define MIB 0x100000ull

size_t pc_memory_map(uint64_t ram_size, struct pc_mem_range *map, size_t max)
{
	/* As QEMU's PC firmware describes the machine: the EBDA and BIOS ROM,
	 * the top 128 KiB of RAM (its ACPI tables) and the BIOS flash below
	 * 4 GiB are reserved, so guests that print their map see QEMU's. */
	const struct pc_mem_range pc[6] = {
		{ 0, 0x9FC00, 1 },
		{ 0x9FC00, 0x400, 2 },
		{ 0xF0000, 0x10000, 2 },
		{ MIB, ram_size - MIB - PC_RAM_TOP_RESERVED, 1 },
		{ ram_size - PC_RAM_TOP_RESERVED, PC_RAM_TOP_RESERVED, 2 },
		{ 0xFFFC0000u, 0x40000, 2 },
	};
	size_t n = max < 6 ? max : 6;
	memcpy(map, pc, n * sizeof *map);
	return n;
}
