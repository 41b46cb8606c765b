/* i8254 PIT helpers used by the interrupt-driven guests. */
#include "pit.h"
#include "io.h"

void pit_set_periodic(uint16_t divisor)
{
	outb(PIT_CMD, 0x34);
	outb(PIT_CH0, (uint8_t)divisor);
	outb(PIT_CH0, (uint8_t)(divisor >> 8));
}

void pit_stop(void)
{
	outb(PIT_CMD, 0x30);
	outb(PIT_CH0, 0xFF);
	outb(PIT_CH0, 0xFF);
}

uint16_t pit_read_ch0(void)
{
	outb(PIT_CMD, 0x00);	/* counter latch for channel 0 */
	uint8_t lo = inb(PIT_CH0);
	uint8_t hi = inb(PIT_CH0);
	return (uint16_t)(lo | (hi << 8));
}
