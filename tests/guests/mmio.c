/* mmio guest: device memory decoded and emulated. The test device is
 * QEMU's pc-testdev window at 0xFF000000 (64 KiB that reads back what was
 * written, at any size); vmx provides the same with -device pc-testdev.
 * Covers 1/2/4-byte moves, movzx/movsx, rep movs/stos into and out of it,
 * and a read of the window's last dword. Also the BIOS area: ROM on a
 * PC (0xE0000-0xFFFFF keeps its bytes), RAM below it (0xC0000). */
#include <stdint.h>
#include "boot.h"
#include "exit.h"

GUEST_NAME("mmio");

#define IOMEM 0xFF000000u

/* repe cmpsb, repne scasb, cmpsl and scasw with device memory on either
 * side: where they stop, ECX, ESI, EDI and the flags. */
#define SF_FLAGS 0x8D5u
static void check_string_compares(void)
{
	static const char text[] = "device memory compare!";
	volatile uint8_t *b = (volatile uint8_t *)(IOMEM + 0x400);
	for (unsigned i = 0; i < sizeof(text); i++)
		b[i] = (uint8_t)text[i];
	static char mine[] = "device memory campare!";
	uint32_t s, d, c, f;
	__asm__ volatile("cld\n\trepe cmpsb\n\tpushfl\n\tpopl %3"
			 : "=S"(s), "=D"(d), "=c"(c), "=r"(f) : "0"(mine), "1"(IOMEM + 0x400), "2"(sizeof(text)) : "cc", "memory");
	check_eq("repe cmpsb stops after the difference: ESI", (uint32_t)mine + 16, s);
	check_eq("repe cmpsb: EDI", IOMEM + 0x400 + 16, d);
	check_eq("repe cmpsb: ECX", sizeof(text) - 16, c);
	check_eq("repe cmpsb: flags of 'a' - 'o'", 0x91, f & SF_FLAGS);
	__asm__ volatile("cld\n\trepne scasb\n\tpushfl\n\tpopl %2"
			 : "=D"(d), "=c"(c), "=r"(f) : "a"('!'), "0"(IOMEM + 0x400), "1"(100) : "cc", "memory");
	check_eq("repne scasb finds '!': EDI", IOMEM + 0x400 + sizeof(text) - 1, d);
	check_eq("repne scasb: ECX", 100 - (sizeof(text) - 1), c);
	check_eq("repne scasb: ZF", 0x44, f & SF_FLAGS);
	__asm__ volatile("std\n\tcmpsl\n\tpushfl\n\tpopl %3\n\tcld"
			 : "=S"(s), "=D"(d), "=c"(c), "=r"(f) : "0"(IOMEM + 0x404), "1"(mine + 4), "2"(7) : "cc", "memory");
	check_eq("cmpsl backwards: ESI", IOMEM + 0x400, s);
	check_eq("cmpsl: ECX untouched", 7, c);
	check_eq("cmpsl: equal", 0x44, f & SF_FLAGS);
	__asm__ volatile("scasw\n\tpushfl\n\tpopl %1" : "=D"(d), "=r"(f) : "a"(0x0100), "0"(IOMEM + 0x400) : "cc", "memory");
	check_eq("scasw: flags of 0x0100 - 0x6564", 0x95, f & SF_FLAGS);
	check_eq("scasw: EDI", IOMEM + 0x402, d);
}

void guest_main(void)
{
	volatile uint8_t *b = (volatile uint8_t *)IOMEM;
	volatile uint16_t *w = (volatile uint16_t *)IOMEM;
	volatile uint32_t *d = (volatile uint32_t *)IOMEM;
	d[0] = 0x11223344;
	check_eq("dword write, dword read", 0x11223344, d[0]);
	check_eq("byte read of a dword", 0x33, b[1]);
	check_eq("word read at +2", 0x1122, w[1]);
	b[5] = 0xAB;
	w[3] = 0xCDEF;
	check_eq("dword read of bytes and words", 0xCDEFAB00u | (d[1] & 0xFF), d[1]);
	int32_t sx;
	__asm__ volatile("movsbl (%1), %0" : "=r"(sx) : "r"(IOMEM + 5));
	check_eq("movsx of a device byte", 0xFFFFFFABu, (uint32_t)sx);
	uint32_t zx;
	__asm__ volatile("movzwl (%1), %0" : "=r"(zx) : "r"(IOMEM + 6));
	check_eq("movzx of a device word", 0xCDEF, zx);
	/* Strings: fill it, copy out of it, copy into it. */
	uint32_t src[16], dst[16];
	uint32_t rs, rd, rc;   /* rep string instructions consume ESI, EDI, ECX */
	for (unsigned i = 0; i < 16; i++)
		src[i] = 0x01010101u * i + 0x100;
	__asm__ volatile("cld\n\trep stosl" : "=D"(rd), "=c"(rc) : "0"(IOMEM + 0x100), "a"(0x5A5A5A5Au), "1"(16) : "memory");
	check_eq("rep stosl into device memory", 0x5A5A5A5A, d[0x100 / 4 + 15]);
	__asm__ volatile("cld\n\trep movsl" : "=S"(rs), "=D"(rd), "=c"(rc) : "0"(src), "1"(IOMEM + 0x200), "2"(16) : "memory");
	check_eq("rep movsl into device memory", src[3], d[0x200 / 4 + 3]);
	__asm__ volatile("cld\n\trep movsl" : "=S"(rs), "=D"(rd), "=c"(rc) : "0"(IOMEM + 0x200), "1"(dst), "2"(16) : "memory");
	for (unsigned i = 0; i < 16; i++)
		check_eq("rep movsl through device memory", src[i], dst[i]);
	__asm__ volatile("cld\n\trep movsb" : "=S"(rs), "=D"(rd), "=c"(rc) : "0"((uint8_t *)src + 1), "1"(IOMEM + 0x301), "2"(7) : "memory");
	check_eq("rep movsb, unaligned", ((uint32_t *)((uint8_t *)src + 1))[0], *(volatile uint32_t *)(IOMEM + 0x301));
	uint32_t v = 0;
	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(IOMEM + 0xFFFC));
	check_eq("last dword of the window", 0, v);

	check_string_compares();

	volatile uint32_t *rom_f = (volatile uint32_t *)0xF0010, *rom_e = (volatile uint32_t *)0xE0010;
	volatile uint32_t *ram_c = (volatile uint32_t *)0xC0010;
	uint32_t f0 = *rom_f, e0 = *rom_e;
	*rom_f = ~f0;
	*rom_e = ~e0;
	__asm__ volatile("incl (%0)" : : "r"(rom_f) : "memory");
	*ram_c = 0xC0C0C0C0u;
	check_eq("a write to ROM at 0xF0010 is dropped", f0, *rom_f);
	check_eq("a write to ROM at 0xE0010 is dropped", e0, *rom_e);
	check_eq("0xC0010 is RAM", 0xC0C0C0C0u, *ram_c);
}
