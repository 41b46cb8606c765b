/* portio guest: byte/word/dword in/out via immediate and DX ports on
 * registers that read back (PIC IMR, UART scratch/MCR, PIT status, port
 * 0x61), multi-byte accesses split across ports, and rep outs/ins. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"
#include "io.h"
#include "pic.h"
#include "serial.h"

GUEST_NAME("portio");

#define COM1_MCR (COM1_BASE + 4)
#define OCW3_READ_ISR 0x0B

/* Explicit encodings, so each form is exercised whatever the compiler
 * would pick. */
static void outb_imm21(uint8_t v) { __asm__ volatile("outb %0, $0x21" : : "a"(v)); }
static uint8_t inb_imm21(void) { uint8_t v; __asm__ volatile("inb $0x21, %0" : "=a"(v)); return v; }
static void outb_dx(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %%dx" : : "a"(v), "d"(port)); }
static uint8_t inb_dx(uint16_t port) { uint8_t v; __asm__ volatile("inb %%dx, %0" : "=a"(v) : "d"(port)); return v; }
static void outw_imm20(uint16_t v) { __asm__ volatile("outw %0, $0x20" : : "a"(v)); }
static uint16_t inw_imm20(void) { uint16_t v; __asm__ volatile("inw $0x20, %0" : "=a"(v)); return v; }
static void outw_dx(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %%dx" : : "a"(v), "d"(port)); }
static uint16_t inw_dx(uint16_t port) { uint16_t v; __asm__ volatile("inw %%dx, %0" : "=a"(v) : "d"(port)); return v; }
static uint32_t inl_dx(uint16_t port) { uint32_t v; __asm__ volatile("inl %%dx, %0" : "=a"(v) : "d"(port)); return v; }

static void check_bytes(void)
{
	static const uint8_t pat[] = { 0x00, 0xFF, 0xA5, 0x5A, 0x01, 0x80 };

	for (unsigned i = 0; i < sizeof(pat); i++) {
		outb_imm21(pat[i]);
		outb_dx(PIC2_DATA, (uint8_t)~pat[i]);
		check_eq("master IMR via inb $0x21", pat[i], inb_imm21());
		check_eq("master IMR via inb (%dx)", pat[i], inb_dx(PIC1_DATA));
		check_eq("slave IMR via inb (%dx)", (uint8_t)~pat[i], inb_dx(PIC2_DATA));
	}
	for (unsigned i = 0; i < sizeof(pat); i++) {
		outb_dx(COM1_SCR, pat[i]);
		check_eq("UART scratch readback", pat[i], inb_dx(COM1_SCR));
	}
}

static void check_words(void)
{
	/* Low byte to the command port (OCW3: next read returns ISR, which is
	 * empty after the init sequence), high byte to the mask register. */
	outw_imm20(0xC300 | OCW3_READ_ISR);
	check_eq("outw $0x20: IMR from the high byte", 0xC3, inb(PIC1_DATA));
	check_eq("inw $0x20: ISR low, IMR high", 0xC300, inw_imm20());

	outw_dx(PIC2_CMD, 0x3C00 | OCW3_READ_ISR);
	check_eq("outw (%dx) 0xA0: IMR from the high byte", 0x3C, inb(PIC2_DATA));
	check_eq("inw (%dx) 0xA0: ISR low, IMR high", 0x3C00, inw_dx(PIC2_CMD));

	/* 0x3FE is MSR (varies) then scratch. */
	outb_dx(COM1_SCR, 0x96);
	check_eq("inw (%dx) 0x3FE: scratch in the high byte", 0x96, inw_dx(COM1_BASE + 6) >> 8);
}

static void check_dwords(void)
{
	uint8_t mcr = inb_dx(COM1_MCR);

	/* 0x3FC..0x3FF: MCR, LSR, MSR, scratch. Only MCR and scratch are
	 * ours; LSR must at least show an empty transmitter. */
	serial_flush();
	outb_dx(COM1_MCR, 0x0B);
	outb_dx(COM1_SCR, 0xE7);
	uint32_t v = inl_dx(COM1_MCR);
	check_eq("inl (%dx) 0x3FC: MCR byte", 0x0B, v & 0xFF);
	check_eq("inl (%dx) 0x3FC: LSR THRE", LSR_THRE, (v >> 8) & LSR_THRE);
	check_eq("inl (%dx) 0x3FC: scratch byte", 0xE7, v >> 24);
	outb_dx(COM1_MCR, mcr);
	/* Dword output is the exit port write at the end of every guest. */
}

static void check_string_io(void)
{
	static const char line[] = "ok portio.outsb\n";	/* 16 bytes: one FIFO's worth */
	static uint8_t buf[80];
	const char *esi = line;
	uint8_t *edi;
	uint32_t ecx = sizeof(line) - 1;

	/* This progress line is written by rep outsb itself, so it must be
	 * exact for the output to match. */
	serial_flush();
	__asm__ volatile("rep outsb" : "+S"(esi), "+c"(ecx) : "d"(COM1_BASE) : "memory");
	check_eq("rep outsb: ECX", 0, ecx);
	check_eq("rep outsb: ESI advance", sizeof(line) - 1, (uint32_t)(esi - line));

	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = 0xEE;
	outb_dx(COM1_SCR, 0x3C);
	edi = buf + 8;
	ecx = 64;
	__asm__ volatile("rep insb" : "+D"(edi), "+c"(ecx) : "d"(COM1_SCR) : "memory");
	check_eq("rep insb: ECX", 0, ecx);
	check_eq("rep insb: EDI advance", 64, (uint32_t)(edi - (buf + 8)));
	for (unsigned i = 0; i < sizeof(buf); i++)
		check_eq("rep insb buffer", i >= 8 && i < 72 ? 0x3C : 0xEE, buf[i]);

	outb_dx(COM1_SCR, 0xC3);
	edi = buf + 7;
	ecx = 4;
	__asm__ volatile("std\n\trep insb\n\tcld" : "+D"(edi), "+c"(ecx) : "d"(COM1_SCR) : "memory");
	check_eq("std rep insb: EDI", (uint32_t)(buf + 3), (uint32_t)edi);
	for (unsigned i = 0; i < 12; i++)
		check_eq("std rep insb buffer", i >= 4 && i < 8 ? 0xC3 : i >= 8 ? 0x3C : 0xEE, buf[i]);

	/* Words from the slave PIC: ISR (empty) then IMR each time. */
	static uint16_t words[8];
	outb(PIC2_CMD, OCW3_READ_ISR);
	outb(PIC2_DATA, 0x81);
	uint16_t *wp = words;
	ecx = 8;
	__asm__ volatile("rep insw" : "+D"(wp), "+c"(ecx) : "d"(PIC2_CMD) : "memory");
	for (unsigned i = 0; i < 8; i++)
		check_eq("rep insw from 0xA0", 0x8100, words[i]);
	check_eq("rep insw: EDI advance", 16, (uint32_t)((uint8_t *)wp - (uint8_t *)words));

	/* Words to the slave PIC: each re-sends OCW3 and sets a new mask. */
	static const uint16_t out_words[3] = { 0x1100 | OCW3_READ_ISR, 0x2200 | OCW3_READ_ISR, 0x3300 | OCW3_READ_ISR };
	const uint16_t *sp = out_words;
	ecx = 3;
	__asm__ volatile("rep outsw" : "+S"(sp), "+c"(ecx) : "d"(PIC2_CMD) : "memory");
	check_eq("rep outsw to 0xA0: last mask wins", 0x33, inb(PIC2_DATA));
	check_eq("rep outsw: ESI advance", 6, (uint32_t)((const uint8_t *)sp - (const uint8_t *)out_words));
}

static void check_pit_and_61(void)
{
	/* Read-back command, status only, channel 2. Bits 7 (OUT) and 6 (null
	 * count) depend on timing; bits 5..0 echo the programmed mode. */
	outb(0x61, 0x00);			/* gate 2 low, speaker off */
	outb(0x43, 0xB6);			/* ch2, lo/hi byte, mode 3, binary */
	outb(0x42, 0x34);
	outb(0x42, 0x12);
	outb(0x43, 0xE8);
	check_eq("PIT ch2 status, mode 3", 0x36, inb(0x42) & 0x3F);
	outb(0x43, 0xB0);			/* ch2, lo/hi byte, mode 0 */
	outb(0x43, 0xE8);
	check_eq("PIT ch2 status, mode 0", 0x30, inb(0x42) & 0x3F);

	check_eq("port 0x61 gate/speaker bits after 0x00", 0x00, inb(0x61) & 0x03);
	outb(0x61, 0x01);
	check_eq("port 0x61 gate/speaker bits after 0x01", 0x01, inb(0x61) & 0x03);

	/* Mode 0 drives OUT low until the count expires; port 0x61 bit 5
	 * shows it. The full count (~55 ms) cannot have expired yet. */
	outb(0x42, 0xFF);
	outb(0x42, 0xFF);
	check_eq("ch2 OUT low right after a long mode-0 count", 0, inb(0x61) & 0x20);
	outb(0x43, 0xB0);
	outb(0x42, 100);			/* ~84 us */
	outb(0x42, 0);
	uint32_t i;
	for (i = 0; i < 10000000u; i++)
		if (inb(0x61) & 0x20)
			break;
	if (i == 10000000u)
		fail("ch2 OUT never went high after a 100-tick mode-0 count");
	outb(0x61, 0x00);
}

void guest_main(void)
{
	pic_remap(0x20, 0x28);
	check_bytes();
	progress("bytes");
	check_words();
	progress("words");
	check_dwords();
	progress("dwords");
	check_string_io();
	progress("string_io");
	check_pit_and_61();
	progress("pit_port61");
	pic_set_mask(0xFFFF);
}
