/* COM1 output for the test guests: the polled transmit path and the
 * printf subset used for PASS/FAIL and progress lines. */
#include "serial.h"
#include "io.h"

void serial_init(void)
{
	/* No UART interrupts: the guests that enable IRQs only want the PIT.
	 * 8N1 framing; the divisor is whatever the loader left, since the
	 * emulated line has no real baud rate. */
	outb(COM1_BASE + 1, 0x00);
	outb(COM1_BASE + 3, 0x03);
}

void serial_putc(char c)
{
	while (!(inb(COM1_LSR) & LSR_THRE))
		;
	outb(COM1_BASE, (uint8_t)c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

void serial_flush(void)
{
	/* Bounded so a broken LSR cannot keep the guest from exiting. */
	for (uint32_t i = 0; i < 10000000u; i++)
		if (inb(COM1_LSR) & LSR_TEMT)
			return;
}

static void put_num(uint64_t v, unsigned base, int width, char pad, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	int n = 0;

	/* Only base 10 and 16 are used; 64-bit division would need libgcc, so
	 * base 10 is limited to 32-bit values (callers never pass more). */
	if (base == 16) {
		do {
			buf[n++] = digits[v & 15];
			v >>= 4;
		} while (v);
	} else {
		uint32_t w = (uint32_t)v;
		do {
			buf[n++] = digits[w % 10];
			w /= 10;
		} while (w);
	}
	while (n < width--)
		serial_putc(pad);
	while (n)
		serial_putc(buf[--n]);
}

void serial_put_hex(uint32_t v)
{
	serial_puts("0x");
	put_num(v, 16, 8, '0', 0);
}

void kvprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			serial_putc(*fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0, longs = 0;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			longs++;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			serial_puts(s ? s : "(null)");
			break;
		}
		case 'c':
			serial_putc((char)va_arg(ap, int));
			break;
		case 'd': {
			int32_t v = va_arg(ap, int32_t);
			if (v < 0) {
				serial_putc('-');
				put_num((uint32_t)0 - (uint32_t)v, 10, width ? width - 1 : 0, pad, 0);
			} else {
				put_num((uint32_t)v, 10, width, pad, 0);
			}
			break;
		}
		case 'u':
			put_num(va_arg(ap, uint32_t), 10, width, pad, 0);
			break;
		case 'x':
		case 'X': {
			uint64_t v = longs >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t);
			put_num(v, 16, width, pad, *fmt == 'X');
			break;
		}
		case '%':
			serial_putc('%');
			break;
		case '\0':
			return;
		default:
			serial_putc('%');
			serial_putc(*fmt);
			break;
		}
	}
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}
