/* The runtime's C side: guest_start (called from boot.S) and the verdict
 * functions that print PASS/FAIL and leave through the debug exit port. */
#include <stdarg.h>
#include "boot.h"
#include "exit.h"
#include "io.h"
#include "serial.h"

uint32_t boot_magic;
const struct multiboot_info *boot_info;

__attribute__((noreturn)) void guest_start(uint32_t magic, const struct multiboot_info *info);

void guest_start(uint32_t magic, const struct multiboot_info *info)
{
	boot_magic = magic;
	boot_info = info;
	serial_init();
	guest_main();
	pass();
}

void guest_exit(uint32_t code)
{
	cli();
	serial_flush();
	outl(DEBUG_EXIT_PORT, code);
	/* Only reached when nothing listens on the exit port. */
	for (;;)
		__asm__ volatile("cli; hlt");
}

void pass(void)
{
	kprintf("PASS %s\n", guest_name);
	guest_exit(0);
}

void fail(const char *fmt, ...)
{
	va_list ap;
	cli();
	kprintf("FAIL %s: ", guest_name);
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	serial_putc('\n');
	guest_exit(2);
}

void progress(const char *what)
{
	kprintf("ok %s.%s\n", guest_name, what);
}

void check_eq(const char *what, uint32_t expected, uint32_t actual)
{
	if (expected != actual)
		fail("%s: expected 0x%08x, got 0x%08x", what, expected, actual);
}

void check_eq64(const char *what, uint64_t expected, uint64_t actual)
{
	if (expected != actual)
		fail("%s: expected 0x%016llx, got 0x%016llx", what, expected, actual);
}

void check_true(const char *what, int cond)
{
	if (!cond)
		fail("%s: condition is false", what);
}
