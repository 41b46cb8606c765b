/* The gdb stub's target (not compared with QEMU: tests/scripts/gdb-tests.sh
 * drives gdb against it). Built with debug information: a function to
 * break in and step through, a variable to read, one to watch, and with
 * "spin" on its command line a loop that only gdb (Ctrl-C, then setting
 * spin_done) ends. */
#include "boot.h"
#include "exit.h"
#include "serial.h"

GUEST_NAME("gdb_target");

volatile unsigned watched;
volatile unsigned spin_done;
unsigned result;

__attribute__((noinline)) unsigned add_up(unsigned n)
{
	unsigned sum = 0;
	for (unsigned i = 1; i <= n; i++)
		sum += i;
	return sum;
}

__attribute__((noinline)) void touch_watched(void)
{
	watched = 7;
	watched = watched + 1;
}

static int has_word(const char *s, const char *w)
{
	for (; *s; s++) {
		const char *a = s, *b = w;
		while (*b && *a == *b)
			a++, b++;
		if (!*b)
			return 1;
	}
	return 0;
}

void guest_main(void)
{
	serial_puts("gdb_target: start\n");
	result = add_up(10);
	touch_watched();
	if (has_word((const char *)boot_info->cmdline, "spin"))
		while (!spin_done)
			;
	kprintf("gdb_target: result %u watched %u\n", result, watched);
	check_eq("result", 55, result);
}
