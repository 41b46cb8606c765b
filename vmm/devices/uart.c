/* A 16550A serial port (COM1 style): register file with the DLAB divisor
 * latch, an RX FIFO fed by the host, immediate transmit through a callback,
 * interrupt identification and the PC's OUT2-gated IRQ line to the PIC. */
#include "devices.h"
#include <stddef.h>

#define REG_RBR_THR 0
#define REG_IER 1
#define REG_IIR_FCR 2
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define REG_MSR 6
#define REG_SCR 7

#define IER_RDA 0x01
#define IER_THRE 0x02
#define IER_RLS 0x04
#define IER_MS 0x08

#define IIR_NONE 0x01
#define IIR_MS 0x00
#define IIR_THRE 0x02
#define IIR_RDA 0x04
#define IIR_RLS 0x06
#define IIR_FIFO 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_STORED 0xc9 /* enable, DMA mode and trigger level persist */

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_ERRORS 0x1e
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
#define MSR_DELTAS 0x0f

/* Outside loopback the line looks like a terminal that is present and
 * ready, so guests that honour flow control keep sending. */
#define MSR_EXTERNAL (MSR_DCD | MSR_DSR | MSR_CTS)

static uint8_t compute_iir(const struct uart *u)
{
	if ((u->ier & IER_RLS) && (u->lsr & LSR_ERRORS))
		return IIR_RLS;
	if ((u->ier & IER_RDA) && u->rx_count)
		return IIR_RDA;
	if ((u->ier & IER_THRE) && u->thr_ipending)
		return IIR_THRE;
	if ((u->ier & IER_MS) && (u->msr & MSR_DELTAS))
		return IIR_MS;
	return IIR_NONE;
}

static void update_irq(struct uart *u)
{
	u->iir = compute_iir(u);
	/* On PCs OUT2 enables the board's IRQ driver; loopback forces the
	 * modem outputs inactive, which takes the line away as well. */
	bool level = u->iir != IIR_NONE && (u->mcr & (MCR_OUT2 | MCR_LOOP)) == MCR_OUT2;
	if (u->pic)
		pic_set_irq(u->pic, u->irq, level);
}

/* New modem status lines, with the delta bits a real chip would latch. */
static void set_msr_lines(struct uart *u, uint8_t lines)
{
	uint8_t old = u->msr, d = u->msr & MSR_DELTAS;

	if ((old ^ lines) & MSR_CTS)
		d |= MSR_DCTS;
	if ((old ^ lines) & MSR_DSR)
		d |= MSR_DDSR;
	if ((old & MSR_RI) && !(lines & MSR_RI))
		d |= MSR_TERI;
	if ((old ^ lines) & MSR_DCD)
		d |= MSR_DDCD;
	u->msr = (uint8_t)((lines & 0xf0) | d);
}

static uint8_t modem_inputs(const struct uart *u)
{
	if (!(u->mcr & MCR_LOOP))
		return MSR_EXTERNAL;
	/* Loopback wires DTR->DSR, RTS->CTS, OUT1->RI and OUT2->DCD. */
	uint8_t m = 0;
	if (u->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (u->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (u->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (u->mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

static bool rx_push(struct uart *u, uint8_t byte)
{
	if (u->rx_count == UART_RX_FIFO)
		return false;
	u->rx[(u->rx_head + u->rx_count) % UART_RX_FIFO] = byte;
	u->rx_count++;
	return true;
}

static void transmit(struct uart *u, uint8_t byte)
{
	if (u->mcr & MCR_LOOP) {
		if (!rx_push(u, byte))
			u->lsr |= LSR_OE;
	} else {
		stat_inc(&u->tx_bytes);
		if (u->tx)
			u->tx(u->tx_opaque, byte);
	}
	/* Transmission is instantaneous: THR is empty again right away. */
	u->thr_ipending = true;
}

static uint8_t uart_read_byte(struct uart *u, unsigned reg)
{
	uint8_t v;

	switch (reg) {
	case REG_RBR_THR:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		if (!u->rx_count)
			return 0;
		v = u->rx[u->rx_head];
		u->rx_head = (u->rx_head + 1) % UART_RX_FIFO;
		u->rx_count--;
		break;
	case REG_IER:
		return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case REG_IIR_FCR:
		v = compute_iir(u);
		/* Reading the identification of a THRE interrupt is what
		 * acknowledges it. */
		if (v == IIR_THRE)
			u->thr_ipending = false;
		if (u->fcr & FCR_ENABLE)
			v |= IIR_FIFO;
		break;
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR:
		v = (uint8_t)(u->lsr | LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0));
		u->lsr &= (uint8_t)~LSR_ERRORS;
		break;
	case REG_MSR:
		v = u->msr;
		u->msr &= (uint8_t)~MSR_DELTAS;
		break;
	default:
		return u->scr;
	}
	update_irq(u);
	return v;
}

static void uart_write_byte(struct uart *u, unsigned reg, uint8_t val)
{
	switch (reg) {
	case REG_RBR_THR:
		if (u->lcr & LCR_DLAB) {
			u->dll = val;
			return;
		}
		transmit(u, val);
		break;
	case REG_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = val;
			return;
		}
		/* Enabling THRE with the holding register empty raises the
		 * interrupt at once; Linux's 8250 driver probes for this. */
		if ((val & IER_THRE) && !(u->ier & IER_THRE))
			u->thr_ipending = true;
		else if (!(val & IER_THRE))
			u->thr_ipending = false;
		u->ier = val & 0x0f;
		break;
	case REG_IIR_FCR:
		if ((val ^ u->fcr) & FCR_ENABLE)
			val |= FCR_CLEAR_RX; /* toggling FIFO mode resets the FIFOs */
		if (val & FCR_CLEAR_RX) {
			u->rx_head = 0;
			u->rx_count = 0;
		}
		u->fcr = val & FCR_STORED;
		break;
	case REG_LCR:
		u->lcr = val;
		return;
	case REG_MCR:
		u->mcr = val & 0x1f;
		set_msr_lines(u, modem_inputs(u));
		break;
	case REG_LSR:
	case REG_MSR:
		return; /* status registers: writes are for factory test only */
	default:
		u->scr = val;
		return;
	}
	update_irq(u);
}

static uint32_t uart_io_read(void *opaque, uint16_t port, unsigned size)
{
	struct uart *u = opaque;
	uint32_t v = 0;
	for (unsigned i = 0; i < size && i < 4; i++) {
		unsigned reg = (uint16_t)(port + i - u->base);
		v |= (uint32_t)(reg < 8 ? uart_read_byte(u, reg) : 0xff) << (8 * i);
	}
	return v;
}

static void uart_io_write(void *opaque, uint16_t port, unsigned size, uint32_t val)
{
	struct uart *u = opaque;
	for (unsigned i = 0; i < size && i < 4; i++) {
		unsigned reg = (uint16_t)(port + i - u->base);
		if (reg < 8)
			uart_write_byte(u, reg, (uint8_t)(val >> (8 * i)));
	}
}

void uart_init(struct uart *u, uint16_t base, unsigned irq, struct pic *pic,
	       void (*tx)(void *opaque, uint8_t byte), void *opaque)
{
	__builtin_memset(u, 0, sizeof(*u));
	u->base = base;
	u->irq = irq;
	u->pic = pic;
	u->tx = tx;
	u->tx_opaque = opaque;
	u->iir = IIR_NONE;
	u->msr = MSR_EXTERNAL;
	u->dll = 0x0c; /* 9600 baud, a common firmware default */
	u->io.name = "dev.uart.io";
	u->tx_bytes.name = "dev.uart.tx_bytes";
	u->rx_bytes.name = "dev.uart.rx_bytes";
	stats_register(&u->io);
	stats_register(&u->tx_bytes);
	stats_register(&u->rx_bytes);
}

int uart_attach(struct uart *u, struct io_bus *bus)
{
	return io_register(bus, "uart", u->base, 8, uart_io_read, uart_io_write, u, &u->io);
}

bool uart_receive(struct uart *u, uint8_t byte)
{
	/* In loopback the receiver hears only our own transmitter. */
	if ((u->mcr & MCR_LOOP) || !rx_push(u, byte))
		return false;
	stat_inc(&u->rx_bytes);
	update_irq(u);
	return true;
}

bool uart_rx_waiting(const struct uart *u)
{
	return (u->ier & IER_RDA) && u->rx_count == 0 && !(u->mcr & MCR_LOOP);
}

unsigned uart_rx_space(const struct uart *u)
{
	if (u->mcr & MCR_LOOP)
		return 0;
	return UART_RX_FIFO - u->rx_count;
}
