/* The guests' IDT table, the per-vector handler table and the dispatcher
 * called by idt_stubs.S. */
#include "idt.h"
#include "exit.h"

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t zero;
	uint8_t type_attr;
	uint16_t offset_hi;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(8)));
static int_handler handlers[256];

extern char idt_stubs[];

void idt_dispatch(struct int_frame *f);

static void unexpected(struct int_frame *f)
{
	fail("unexpected vector 0x%02x, error code 0x%x, eip 0x%08x",
	     f->vector, f->error_code, f->eip);
}

void idt_dispatch(struct int_frame *f)
{
	handlers[f->vector & 0xFF](f);
}

uint32_t idt_stub_addr(uint8_t vector)
{
	return (uint32_t)idt_stubs + 16u * vector;
}

void idt_set_raw(uint8_t vector, uint32_t offset, uint16_t selector, uint8_t type_attr)
{
	struct idt_gate *g = &idt[vector];
	g->offset_lo = (uint16_t)offset;
	g->selector = selector;
	g->zero = 0;
	g->type_attr = type_attr;
	g->offset_hi = (uint16_t)(offset >> 16);
}

void idt_set_handler(uint8_t vector, int_handler h, uint8_t type)
{
	handlers[vector] = h ? h : unexpected;
	idt_set_raw(vector, idt_stub_addr(vector), 0x08, type);
}

void idt_init(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) desc = { sizeof(idt) - 1, (uint32_t)idt };

	for (int v = 0; v < 256; v++)
		idt_set_handler((uint8_t)v, unexpected, GATE_INTR);
	__asm__ volatile("lidt %0" : : "m"(desc) : "memory");
}
