/* i8254 PIT helpers: channel 0 as a periodic IRQ0 source and counter
 * latching. */
#ifndef GUEST_PIT_H
#define GUEST_PIT_H
#include <stdint.h>

#define PIT_CH0  0x40
#define PIT_CH2  0x42
#define PIT_CMD  0x43
#define PIT_HZ   1193182u

/* Channel 0, mode 2 (rate generator), lobyte/hibyte, binary. */
void pit_set_periodic(uint16_t divisor);
/* Channel 0, mode 0 with the maximum count: one late edge, then silence. */
void pit_stop(void);
/* Latches and reads channel 0's current count. */
uint16_t pit_read_ch0(void);

#endif
