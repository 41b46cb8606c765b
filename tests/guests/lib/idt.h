/* The guests' own IDT: 256 gates pointing at a common asm stub that saves
 * all registers and calls a per-vector C handler with the frame below.
 * Handlers may edit the frame (e.g. advance eip past a faulting insn). */
#ifndef GUEST_IDT_H
#define GUEST_IDT_H
#include <stdint.h>

/* Layout must match idt_stubs.S: segment pushes, pushal, vector, error
 * code, then what the CPU pushed (same privilege level: no ESP/SS). */
struct int_frame {
	uint32_t gs, fs, es, ds;
	uint32_t edi, esi, ebp, esp_at_pushal, ebx, edx, ecx, eax;
	uint32_t vector, error_code;
	uint32_t eip, cs, eflags;
};

typedef void (*int_handler)(struct int_frame *f);

#define GATE_INTR 0x8E	/* present, DPL0, 32-bit interrupt gate (clears IF) */
#define GATE_TRAP 0x8F	/* present, DPL0, 32-bit trap gate (keeps IF) */

/* Builds and loads the IDT; every vector starts with a handler that fails
 * the test with the vector, error code and EIP. */
void idt_init(void);
/* Points vector at the common stub with the given gate type and handler. */
void idt_set_handler(uint8_t vector, int_handler h, uint8_t type);
/* Raw access for tests that need odd gates (e.g. not present). */
void idt_set_raw(uint8_t vector, uint32_t offset, uint16_t selector, uint8_t type_attr);
/* Address of the common stub for a vector. */
uint32_t idt_stub_addr(uint8_t vector);

#endif
