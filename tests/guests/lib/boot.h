/* Constants shared between the boot code (assembly) and the C runtime:
 * the boot GDT selectors and the stack size every guest gets. */
#ifndef GUEST_BOOT_H
#define GUEST_BOOT_H

#define BOOT_CS 0x08
#define BOOT_DS 0x10
/* Big enough for the 20000-deep recursion in the jcc guest. */
#define BOOT_STACK_SIZE (512 * 1024)

#ifndef __ASSEMBLER__
#include <stdint.h>

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u

struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	/* The remaining fields are not used by the guests. */
};

/* What the loader passed in EAX and EBX, saved by the runtime. */
extern uint32_t boot_magic;
extern const struct multiboot_info *boot_info;

/* Each guest provides these. The runtime prints PASS when guest_main returns. */
extern const char guest_name[];
void guest_main(void);

/* Defines the guest's name as used in the PASS/FAIL lines. */
#define GUEST_NAME(n) const char guest_name[] = n
#endif

#endif
