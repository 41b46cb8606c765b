/* i8259 PIC pair helpers used by the guests that take interrupts or poke
 * at the PIC registers. */
#include "pic.h"
#include "io.h"

void pic_remap(uint8_t master_base, uint8_t slave_base)
{
	outb(PIC1_CMD, 0x11);		/* ICW1: edge, cascade, ICW4 follows */
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, master_base);	/* ICW2 */
	outb(PIC2_DATA, slave_base);
	outb(PIC1_DATA, 0x04);		/* ICW3: slave on IRQ2 */
	outb(PIC2_DATA, 0x02);		/* ICW3: slave id 2 */
	outb(PIC1_DATA, 0x01);		/* ICW4: 8086 mode, normal EOI */
	outb(PIC2_DATA, 0x01);
	pic_set_mask(0xFFFF);
}

void pic_set_mask(uint16_t mask)
{
	outb(PIC1_DATA, (uint8_t)mask);
	outb(PIC2_DATA, (uint8_t)(mask >> 8));
}

uint16_t pic_get_mask(void)
{
	return (uint16_t)(inb(PIC1_DATA) | (inb(PIC2_DATA) << 8));
}

void pic_eoi(unsigned irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, PIC_EOI);
	outb(PIC1_CMD, PIC_EOI);
}

static uint16_t read_ocw3(uint8_t ocw3)
{
	outb(PIC1_CMD, ocw3);
	outb(PIC2_CMD, ocw3);
	return (uint16_t)(inb(PIC1_CMD) | (inb(PIC2_CMD) << 8));
}

uint16_t pic_read_irr(void) { return read_ocw3(0x0A); }
uint16_t pic_read_isr(void) { return read_ocw3(0x0B); }
