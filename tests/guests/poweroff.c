/* poweroff guest (vmx and QEMU exit alike): the ways a PC guest stops the
 * machine other than the debug-exit port, chosen on the command line:
 * "acpi" (PIIX4 PM1a control at 0x604: SLP_TYP|SLP_EN), "bochs" (0xB004),
 * "kbd" (i8042 pulse reset, 0xFE to 0x64), "cf9" (reset control, 0x06).
 * With QEMU's -no-reboot each ends the run with status 0. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "io.h"
#include "serial.h"

GUEST_NAME("poweroff");

static int has(const char *s, const char *w)
{
	for (; *s; s++) {
		const char *a = s, *b = w;
		while (*b && *a == *b) { a++; b++; }
		if (!*b)
			return 1;
	}
	return 0;
}

void guest_main(void)
{
	const char *cmd = (const char *)boot_info->cmdline;
	serial_puts("stopping the machine\n");
	if (has(cmd, "acpi"))
		outw(0x604, 0x2000);
	else if (has(cmd, "bochs"))
		outw(0xB004, 0x2000);
	else if (has(cmd, "kbd"))
		outb(0x64, 0xFE);
	else if (has(cmd, "cf9"))
		outb(0xCF9, 0x06);
	for (volatile uint32_t i = 0; i < 100000000; i++)
		;
	fail("the machine did not stop");
}
