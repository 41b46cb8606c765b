/* smc guest: self-modifying code: rewritten immediates and opcodes, stores
 * just ahead of and behind the executing instruction, an instruction
 * straddling a page, and code copied into a data buffer. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"

GUEST_NAME("smc");

uint32_t smc_ret_imm(void);
uint32_t smc_add5(uint32_t x);
uint32_t smc_next_insn(uint32_t v);
uint32_t smc_few_ahead(uint32_t v);
uint32_t smc_patch_ahead_loop(uint32_t n);
uint32_t smc_patch_behind_loop(uint32_t n);
uint32_t smc_same_page_data(uint32_t n);
uint32_t smc_cross(void);
extern uint8_t smc_add5_modrm[], smc_tmpl_a[], smc_tmpl_b[], smc_tmpl_end[];

/* Code bytes are written through volatile pointers so every store really
 * happens, in program order, between the calls. */
static void poke32(void *p, uint32_t v) { *(volatile uint32_t *)p = v; }
static void poke16(void *p, uint16_t v) { *(volatile uint16_t *)p = v; }
static void poke8(void *p, uint8_t v) { *(volatile uint8_t *)p = v; }

static void check_patch_imm(void)
{
	uint8_t *code = (uint8_t *)smc_ret_imm;

	check_eq("unpatched immediate", 0x7FFFFFFF, smc_ret_imm());
	for (uint32_t v = 0; v < 1000; v++) {
		uint32_t want = v * 0x01000193u ^ 0x5A5A0000u;
		poke32(code + 1, want);
		uint32_t got = smc_ret_imm();
		if (got != want)
			fail("patched immediate, round %u: expected 0x%08x, got 0x%08x", v, want, got);
		/* Again without a write in between: the new code must stick. */
		if (smc_ret_imm() != want)
			fail("patched immediate, round %u, second call", v);
	}
}

static void check_patch_opcode(void)
{
	uint32_t x = 1000;

	for (int i = 0; i < 100; i++) {
		int sub = i % 3 == 1;
		poke8(smc_add5_modrm, sub ? 0xE8 : 0xC0);
		x = smc_add5(x);
	}
	/* 100 rounds, every third (i = 1, 4, ..., 97: 33 of them) subtracting. */
	check_eq("add/sub opcode flips", 1000 + 67 * 5 - 33 * 5, x);
	poke8(smc_add5_modrm, 0xC0);
}

static void check_same_block(void)
{
	for (uint32_t v = 0; v < 1000; v++) {
		uint32_t want = ~v * 2654435761u;
		uint32_t got = smc_next_insn(want);
		if (got != want)
			fail("store into the next instruction, round %u: expected 0x%08x, got 0x%08x",
			     v, want, got);
		got = smc_few_ahead(want ^ 0xFFFF);
		if (got != (want ^ 0xFFFF))
			fail("store a few instructions ahead, round %u: expected 0x%08x, got 0x%08x",
			     v, want ^ 0xFFFF, got);
	}
	check_eq("patch-ahead loop, n=1000", 1000 * 1001 / 2, smc_patch_ahead_loop(1000));
	check_eq("patch-ahead loop, n=7", 28, smc_patch_ahead_loop(7));
	check_eq("patch-behind loop, n=1000", 1000 * 1001 / 2 - 1, smc_patch_behind_loop(1000));
	check_eq("patch-behind loop, n=5", 14, smc_patch_behind_loop(5));
	check_eq("data on the code's page", 100000, smc_same_page_data(100000));
}

static void check_cross_page(void)
{
	uint8_t *insn = (uint8_t *)smc_cross;

	/* GCC assumes functions are aligned; hide where this one really is. */
	__asm__("" : "+r"(insn));
	if (((uint32_t)insn & 0xFFF) != 0xFFD)
		fail("smc_cross is misplaced (page offset 0x%03x)", (uint32_t)insn & 0xFFF);
	check_eq("straddling immediate, unpatched", 0x44332211, smc_cross());
	/* Only the bytes on the second page. */
	poke16(insn + 3, 0xBEEF);
	check_eq("straddling immediate, second page patched", 0xBEEF2211, smc_cross());
	/* Only the bytes on the first page. */
	poke16(insn + 1, 0xCAFE);
	check_eq("straddling immediate, first page patched", 0xBEEFCAFE, smc_cross());
	for (uint32_t v = 1; v <= 200; v++) {
		poke8(insn + 4, (uint8_t)v);
		uint32_t want = (v << 24) | 0x00EFCAFE;
		if (smc_cross() != want)
			fail("straddling immediate, top byte round %u: expected 0x%08x", v, want);
	}
}

static uint8_t jit[64] __attribute__((aligned(16)));

static void check_copied_code(void)
{
	const uint32_t len = (uint32_t)(smc_tmpl_b - smc_tmpl_a);
	uint32_t (*fn)(void) = (uint32_t (*)(void))(void *)jit;

	check_eq("template length", 6, len);
	check_eq("templates are contiguous", 2 * len, (uint32_t)(smc_tmpl_end - smc_tmpl_a));
	for (int i = 0; i < 200; i++) {
		const uint8_t *src = i & 1 ? smc_tmpl_b : smc_tmpl_a;
		if (i & 2) {
			/* Copy the code with a string instruction. */
			const uint8_t *s = src;
			uint8_t *d = jit;
			uint32_t n = len;
			__asm__ volatile("rep movsb" : "+S"(s), "+D"(d), "+c"(n) : : "memory");
		} else {
			for (uint32_t b = 0; b < len; b++)
				poke8(jit + b, src[b]);
		}
		uint32_t want = i & 1 ? 0xBBBB0002 : 0xAAAA0001;
		uint32_t got = fn();
		if (got != want)
			fail("code copied into a buffer, round %d: expected 0x%08x, got 0x%08x", i, want, got);
	}
}

void guest_main(void)
{
	check_patch_imm();
	progress("patch_imm");
	check_patch_opcode();
	progress("patch_opcode");
	check_same_block();
	progress("same_block");
	check_cross_page();
	progress("cross_page");
	check_copied_code();
	progress("copied_code");
}
