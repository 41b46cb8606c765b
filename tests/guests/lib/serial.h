/* COM1 output for the test guests: polled 16550 transmit and a small
 * printf subset (%s %c %d %u %x %llx with optional 0-padding and width). */
#ifndef GUEST_SERIAL_H
#define GUEST_SERIAL_H
#include <stdarg.h>
#include <stdint.h>

#define COM1_BASE 0x3F8
#define COM1_LSR  (COM1_BASE + 5)
#define COM1_SCR  (COM1_BASE + 7)
#define LSR_THRE  0x20
#define LSR_TEMT  0x40

void serial_init(void);
void serial_putc(char c);
void serial_puts(const char *s);
void serial_put_hex(uint32_t v);
/* Waits (bounded) until the transmitter has sent everything. */
void serial_flush(void);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);

#endif
