/* echo guest (console input check, driven by cli-tests with piped stdin):
 * reads COM1 by polling LSR.DR until a newline and prints the line back,
 * then passes. Bounded, so a missing byte fails instead of hanging. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "io.h"
#include "serial.h"

GUEST_NAME("echo");

#define LSR_DR 0x01
#define WAIT_LIMIT 400000000u

void guest_main(void)
{
	char line[80];
	unsigned n = 0;
	serial_puts("type a line:\n");
	for (;;) {
		uint32_t spins = 0;
		while (!(inb(COM1_LSR) & LSR_DR))
			if (++spins == WAIT_LIMIT)
				fail("no input after %u polls (got %u bytes)", WAIT_LIMIT, n);
		char c = (char)inb(COM1_BASE);
		if (c == '\n' || c == '\r' || n == sizeof(line) - 1)
			break;
		line[n++] = c;
	}
	line[n] = 0;
	kprintf("got: %s\n", line);
}
