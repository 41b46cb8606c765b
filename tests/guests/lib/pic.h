/* i8259 PIC pair helpers: remapping to protected-mode vectors, masks, EOI
 * and reading IRR/ISR through OCW3. */
#ifndef GUEST_PIC_H
#define GUEST_PIC_H
#include <stdint.h>

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xA0
#define PIC2_DATA 0xA1
#define PIC_EOI   0x20

/* Full ICW1..ICW4 init (edge triggered, cascade on IRQ2, 8086 mode) with
 * all 16 lines masked afterwards. */
void pic_remap(uint8_t master_base, uint8_t slave_base);
/* Bit n set masks IRQ n (0..15). */
void pic_set_mask(uint16_t mask);
uint16_t pic_get_mask(void);
/* Non-specific EOI to the right chip(s) for irq. */
void pic_eoi(unsigned irq);
/* IRR/ISR of both chips, slave in the high byte. */
uint16_t pic_read_irr(void);
uint16_t pic_read_isr(void);

#endif
