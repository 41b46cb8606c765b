/* The demo guest: greets, prints the multiboot command line it was given
 * and passes. Also checks the multiboot handoff (magic, cmdline flag). */
#include "boot.h"
#include "exit.h"
#include "serial.h"

GUEST_NAME("hello");

#define MBI_FLAG_CMDLINE (1u << 2)
#define CMDLINE_MAX 1024

void guest_main(void)
{
	serial_puts("Hello from the binary-translation test guest!\n");
	check_eq("multiboot magic in EAX", MULTIBOOT_BOOTLOADER_MAGIC, boot_magic);
	if (!(boot_info->flags & MBI_FLAG_CMDLINE))
		fail("multiboot info flags 0x%08x lack the cmdline bit", boot_info->flags);

	/* Non-printable bytes are escaped so the line stays one line. */
	const char *s = (const char *)boot_info->cmdline;
	serial_puts("cmdline: ");
	int n;
	for (n = 0; n < CMDLINE_MAX && s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		if (c >= 0x20 && c < 0x7F && c != '\\')
			serial_putc((char)c);
		else
			kprintf("\\x%02x", c);
	}
	serial_putc('\n');
	if (n == CMDLINE_MAX)
		fail("cmdline is not terminated within %u bytes", CMDLINE_MAX);
}
