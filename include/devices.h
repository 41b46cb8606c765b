/* The monitor's PC devices (pure state, freestanding): i8259 PIC pair, i8254
 * PIT (with the port 0x61 gate/speaker bits), 16550 UART, CMOS/RTC and the
 * debug exit port. Time comes in as nanoseconds from the caller; host-side
 * effects (console bytes, VM exit) go out through callbacks. */
#ifndef DEVICES_H
#define DEVICES_H
#include <stdint.h>
#include <stdbool.h>
#include "io.h"
#include "stats.h"

/* ---- i8259 PIC pair (master 0x20/0x21, slave 0xA0/0xA1, ELCR 0x4D0/0x4D1) ---- */
struct pic_chip {
	uint8_t irr, isr, imr;
	uint8_t icw_step;       /* 0: ready; 2..4: expecting ICW2..ICW4 */
	uint8_t icw4_needed, single, auto_eoi, rotate_on_aeoi, special_mask, sfnm;
	uint8_t vector_base;
	uint8_t read_isr;       /* OCW3: next read of the command port returns ISR */
	uint8_t poll;
	uint8_t last_level;     /* input lines as last seen (edge detection) */
	uint8_t priority_add;   /* lowest-priority rotation */
	uint8_t elcr, elcr_mask;
};
struct pic {
	struct pic_chip chip[2];
	/* The ISA interrupt lines enter here; another controller on the same
	 * lines (the IOAPIC of -machine pc) hears every change. */
	void (*listener)(void *opaque, unsigned irq, bool level);
	void *listener_opaque;
	stat_counter io, irqs_raised, irqs_coalesced, acks;
	uint8_t acked_irq;   /* the line pic_ack took last (a spurious ack: 7 or 15), for traces */
};
void pic_init(struct pic *p);
int pic_attach(struct pic *p, struct io_bus *bus);
/* Input line changes (irq 0..15). Edge-triggered lines latch on a 0->1 edge;
 * an edge while the line's request is still in IRR adds nothing (counted in
 * irqs_coalesced), as on the chip. */
void pic_set_irq(struct pic *p, unsigned irq, bool level);
static inline void pic_pulse_irq(struct pic *p, unsigned irq) { pic_set_irq(p, irq, 1); pic_set_irq(p, irq, 0); }
/* True when the master would assert INTR to the CPU. */
bool pic_intr_pending(const struct pic *p);
/* The CPU's interrupt acknowledge: returns the vector to deliver (spurious
 * IRQ7/IRQ15 vectors when nothing is left) and updates IRR/ISR. */
uint8_t pic_ack(struct pic *p);

/* ---- i8254 PIT, 1.193182 MHz; channel 0 -> IRQ0, channel 2 gated by port 0x61 ---- */
#define PIT_HZ 1193182u
struct pit_channel {
	uint16_t reload;        /* 0 means 65536 */
	uint8_t mode, rw_mode, bcd;
	uint8_t write_lsb_next, read_lsb_next, write_latched_lsb;
	uint8_t latched, latch_lsb_next;
	uint16_t latch_value;
	uint8_t status_latched, status;
	uint8_t gate, armed;
	uint8_t null_count;
	uint64_t start_ns;      /* when counting started with `reload` */
};
struct pit {
	struct pit_channel ch[3];
	struct pic *pic;
	uint8_t port61;         /* bits 0 (gate2) and 1 (speaker) as written */
	uint64_t now_ns;        /* the latest time the caller gave */
	uint64_t next_irq_ns;   /* channel 0's next output edge; UINT64_MAX if none */
	stat_counter io, ticks, ticks_coalesced;
};
void pit_init(struct pit *t, struct pic *pic, uint64_t now_ns);
int pit_attach(struct pit *t, struct io_bus *bus);
/* The time port accesses see (call before them, so reads are exact); it
 * raises nothing, so a guest polling the counter does not pace IRQ0. */
void pit_set_time(struct pit *t, uint64_t now_ns);
/* Advance time and raise IRQ0 (edge) if channel 0's output rose since the
 * last call: at most once per call, counted in `ticks`; the periods that
 * ended meanwhile are coalesced into it, counted in `ticks_coalesced`. */
void pit_advance(struct pit *t, uint64_t now_ns);
/* When the next IRQ0 edge is due (ns, same clock); UINT64_MAX when none. */
uint64_t pit_next_deadline(const struct pit *t);

/* ---- 16550A UART (COM1 0x3F8, IRQ4) ---- */
#define UART_RX_FIFO 256
struct uart {
	uint16_t base;
	unsigned irq;
	struct pic *pic;
	uint8_t ier, iir, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	uint8_t rx[UART_RX_FIFO];
	unsigned rx_head, rx_count;
	bool thr_ipending;      /* THRE interrupt pending until IIR read / THR write */
	void (*tx)(void *opaque, uint8_t byte);
	void *tx_opaque;
	stat_counter io, tx_bytes, rx_bytes;
};
void uart_init(struct uart *u, uint16_t base, unsigned irq, struct pic *pic,
	       void (*tx)(void *opaque, uint8_t byte), void *opaque);
int uart_attach(struct uart *u, struct io_bus *bus);
/* Host input: returns false when the FIFO is full (byte not taken). */
bool uart_receive(struct uart *u, uint8_t byte);
/* Room for host input. */
unsigned uart_rx_space(const struct uart *u);
/* The guest reads with the receive interrupt on and has taken every byte. */
bool uart_rx_waiting(const struct uart *u);

/* ---- CMOS/RTC (0x70/0x71): fixed date, periodic flags not generated ---- */
struct cmos {
	uint8_t index;
	uint8_t ram[128];
	uint64_t boot_unix;     /* wall clock at power-on, seconds */
	uint64_t now_ns, boot_ns;
	stat_counter io;
};
void cmos_init(struct cmos *c, uint64_t unix_seconds, uint64_t now_ns, uint32_t mem_kb);
int cmos_attach(struct cmos *c, struct io_bus *bus);
/* The caller's current time (same clock as now_ns above); call before port
 * accesses so the clock registers read current. */
void cmos_advance(struct cmos *c, uint64_t now_ns);

/* ---- legacy glue: fast A20 (0x92), reset control (0xCF9), ACPI PM1a control (0x604): resets and power-off call
 * `off` with a one-line reason ---- */
/* pm1_cnt: also the ACPI PM1a control register at 0x604 (a machine
 * without the ACPI PM device of acpi_pm.h). */
int legacy_attach(struct io_bus *bus, void (*off)(const char *why), bool pm1_cnt);

/* ---- debug exit: QEMU's isa-debug-exit,iobase=0xf4,iosize=4 ---- */
struct debug_exit {
	uint16_t base;
	bool fired;
	uint32_t value;         /* exit status = (value << 1) | 1 */
	stat_counter io;
};
void debug_exit_init(struct debug_exit *d, uint16_t base);
int debug_exit_attach(struct debug_exit *d, struct io_bus *bus);

#endif
