/* The i8042 keyboard controller (ports 0x60/0x64, IRQ 1 and 12) with the
 * PS/2 keyboard and mouse QEMU's PC always has, neither ever sending input:
 * they only answer commands (see i8042.c). */
#ifndef I8042_H
#define I8042_H
#include <stdint.h>
#include <stdbool.h>
#include "devices.h"

#define I8042_QUEUE 16

/* Bytes waiting in a device (or in the controller) for the output buffer. */
struct i8042_queue {
	uint8_t b[I8042_QUEUE];
	uint8_t aux[I8042_QUEUE];      /* controller queue: byte shown as the aux port's */
	unsigned head, count;
};

struct ps2_device {
	struct i8042_queue q;
	uint8_t pending;               /* a command waiting for its argument byte; 0: none */
	uint8_t scancode_set;          /* keyboard */
	uint8_t rate, resolution;      /* mouse */
	bool enabled;
};

struct i8042 {
	struct pic *pic;
	void (*off)(const char *why);  /* pulse reset: ends the VM */
	uint8_t ctr;                   /* controller command byte */
	uint8_t outport;
	bool self_tested;              /* status bit 2 */
	uint8_t pending;               /* controller command waiting for a data byte */
	uint8_t out;                   /* the output buffer */
	bool out_full, out_aux;
	bool out_kbd;                  /* the output buffer holds a keyboard's byte */
	struct i8042_queue ctl;        /* controller replies */
	struct ps2_device kbd, aux;
	stat_counter io;
};

/* Power-on state (before any firmware ran). */
void i8042_init(struct i8042 *k, struct pic *pic, void (*off)(const char *why));
void i8042_reset(struct i8042 *k);
int i8042_attach(struct i8042 *k, struct io_bus *bus);

#endif
