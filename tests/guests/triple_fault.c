/* triple_fault guest (vmx-only check: QEMU's -no-reboot exits 0 on a
 * shutdown): an empty IDT, then int3 -> #GP -> #DF -> shutdown. vmx must
 * stop with a register dump and exit status 3. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "serial.h"

GUEST_NAME("triple_fault");

void guest_main(void)
{
	static const struct __attribute__((packed)) { uint16_t limit; uint32_t base; } empty = { 0, 0 };
	serial_puts("loading an empty IDT and raising #BP\n");
	__asm__ volatile("lidt %0\n\tint3" : : "m"(empty));
	fail("int3 with an empty IDT returned");
}
