/* string guest: movs/stos/lods/cmps/scas in byte/word/dword sizes, with and
 * without rep/repe/repne, forwards (cld) and backwards (std), overlapping
 * copies with element-by-element semantics, and the final ESI/EDI/ECX. */
#include <stdint.h>
#include "boot.h"
#include "exit.h"

GUEST_NAME("string");

#define CF 0x001
#define ZF 0x040
#define SF 0x080
#define OF 0x800
#define DF 0x400

static uint8_t src[256], dst[256];
static uint8_t big_src[70000], big_dst[70000];

struct regs {
	uint32_t esi, edi, ecx, eax, flags;
};

static void reset(void)
{
	for (int i = 0; i < 256; i++) {
		src[i] = (uint8_t)(i * 7 + 1);
		dst[i] = 0xEE;
	}
}

/* Address arithmetic that may point before an object (backward ops). */
#define AT(p, off) ((uint32_t)(p) + (uint32_t)(off))

static void expect_regs_(const char *what, const struct regs *r, uint32_t esi,
			 uint32_t edi, uint32_t ecx)
{
	if (r->esi != esi)
		fail("%s: ESI off by %d bytes", what, (int32_t)(r->esi - esi));
	if (r->edi != edi)
		fail("%s: EDI off by %d bytes", what, (int32_t)(r->edi - edi));
	check_eq(what, ecx, r->ecx);
}
#define expect_regs(what, r, esi, edi, ecx) \
	expect_regs_((what), (r), (uint32_t)(esi), (uint32_t)(edi), (ecx))

static void expect_bytes(const char *what, const uint8_t *want, const uint8_t *got, int n)
{
	for (int i = 0; i < n; i++)
		if (want[i] != got[i])
			fail("%s: byte %d: expected 0x%02x, got 0x%02x", what, i, want[i], got[i]);
}

/* dst[0..n) must equal src[0..n) and dst[n..n+8) must be untouched. */
static void expect_copy(const char *what, int n)
{
	expect_bytes(what, src, dst, n);
	for (int i = n; i < n + 8; i++)
		if (dst[i] != 0xEE)
			fail("%s: wrote past the end at byte %d", what, i);
}

/* One string instruction with all its registers in and out. The prefix and
 * DF setting are part of the text; DF is always cleared again. */
#define STR(text, r) __asm__ volatile("pushl %[fl]\n\tpopfl\n\t" text "\n\tpushfl\n\tpopl %[fl]\n\tcld" \
	: "+S"((r).esi), "+D"((r).edi), "+c"((r).ecx), "+a"((r).eax), [fl] "+r"((r).flags) \
	: : "cc", "memory")

static struct regs regs(const void *esi, const void *edi, uint32_t ecx, uint32_t eax, uint32_t flags)
{
	struct regs r = { (uint32_t)esi, (uint32_t)edi, ecx, eax, flags | 0x002 };
	return r;
}

static void check_movs(void)
{
	struct regs r;

	reset();
	r = regs(src, dst, 37, 0, 0);
	STR("rep movsb", r);
	expect_copy("rep movsb", 37);
	expect_regs("rep movsb regs", &r, src + 37, dst + 37, 0);

	reset();
	r = regs(src, dst, 10, 0, 0);
	STR("rep movsw", r);
	expect_copy("rep movsw", 20);
	expect_regs("rep movsw regs", &r, src + 20, dst + 20, 0);

	reset();
	r = regs(src, dst, 9, 0, 0);
	STR("rep movsl", r);
	expect_copy("rep movsd", 36);
	expect_regs("rep movsd regs", &r, src + 36, dst + 36, 0);

	/* No prefix: one element, ECX untouched. */
	reset();
	r = regs(src, dst, 0x55, 0, 0);
	STR("movsb", r);
	expect_copy("movsb", 1);
	expect_regs("movsb regs", &r, src + 1, dst + 1, 0x55);
	r = regs(src + 1, dst + 1, 0x55, 0, 0);
	STR("movsw", r);
	r = regs(src + 3, dst + 3, 0x55, 0, 0);
	STR("movsl", r);
	expect_copy("movsb+movsw+movsd", 7);
	expect_regs("movsd regs", &r, src + 7, dst + 7, 0x55);

	/* Backwards: start at the last element, pointers end one element
	 * below the start of the buffers. */
	reset();
	r = regs(src + 36, dst + 36, 37, 0, DF);
	STR("std\n\trep movsb", r);
	expect_copy("std rep movsb", 37);
	expect_regs("std rep movsb regs", &r, AT(src, -1), AT(dst, -1), 0);

	reset();
	r = regs(src + 32, dst + 32, 9, 0, 0);
	STR("std\n\trep movsl", r);
	expect_copy("std rep movsd", 36);
	expect_regs("std rep movsd regs", &r, AT(src, -4), AT(dst, -4), 0);

	reset();
	r = regs(src + 18, dst + 18, 10, 0, 0);
	STR("std\n\trep movsw", r);
	expect_copy("std rep movsw", 20);
	expect_regs("std rep movsw regs", &r, AT(src, -2), AT(dst, -2), 0);

	/* ECX = 0: nothing moves, nothing changes. */
	reset();
	r = regs(src, dst, 0, 0, 0);
	STR("rep movsl", r);
	expect_copy("rep movsd ecx=0", 0);
	expect_regs("rep movsd ecx=0 regs", &r, src, dst, 0);
}

static void fill_letters(uint8_t *b, int n)
{
	for (int i = 0; i < n; i++)
		b[i] = (uint8_t)('@' + i);
}

static void check_overlap(void)
{
	static uint8_t buf[32];
	uint8_t want[32];
	struct regs r;

	/* Forward byte copy one ahead of its source re-reads what it just
	 * wrote: the first byte smears over the next ten (memmove would not). */
	fill_letters(buf, 32);
	fill_letters(want, 32);
	for (int i = 1; i <= 10; i++)
		want[i] = '@';
	r = regs(buf, buf + 1, 10, 0, 0);
	STR("rep movsb", r);
	expect_bytes("overlapping rep movsb +1", want, buf, 32);
	expect_regs("overlapping rep movsb +1 regs", &r, buf + 10, buf + 11, 0);

	/* Same with dwords one element ahead. */
	fill_letters(buf, 32);
	fill_letters(want, 32);
	for (int i = 4; i < 24; i++)
		want[i] = (uint8_t)('@' + (i & 3));
	r = regs(buf, buf + 4, 5, 0, 0);
	STR("rep movsl", r);
	expect_bytes("overlapping rep movsd +4", want, buf, 32);

	/* Dwords two bytes ahead: each element reads two bytes the previous
	 * one wrote. Worked out by hand, element by element. */
	static const char half[] = "@A@ABCBCFGFGJKJKNORS";
	fill_letters(buf, 32);
	fill_letters(want, 32);
	for (int i = 0; i < 20; i++)
		want[i] = (uint8_t)half[i];
	r = regs(buf, buf + 2, 4, 0, 0);
	STR("rep movsl", r);
	expect_bytes("overlapping rep movsd +2", want, buf, 32);
	expect_regs("overlapping rep movsd +2 regs", &r, buf + 16, buf + 18, 0);

	/* Backwards, destination above source: a correct memmove right. */
	fill_letters(buf, 32);
	fill_letters(want, 32);
	for (int i = 1; i <= 10; i++)
		want[i] = (uint8_t)('@' + i - 1);
	r = regs(buf + 9, buf + 10, 10, 0, 0);
	STR("std\n\trep movsb", r);
	expect_bytes("backward overlapping rep movsb", want, buf, 32);
	expect_regs("backward overlapping rep movsb regs", &r, AT(buf, -1), buf, 0);

	/* Backwards, destination below source: the last byte smears down. */
	fill_letters(buf, 32);
	fill_letters(want, 32);
	for (int i = 0; i <= 9; i++)
		want[i] = '@' + 10;
	r = regs(buf + 10, buf + 9, 10, 0, 0);
	STR("std\n\trep movsb", r);
	expect_bytes("backward smearing rep movsb", want, buf, 32);
	expect_regs("backward smearing rep movsb regs", &r, buf, AT(buf, -1), 0);
}

static void check_stos_lods(void)
{
	struct regs r;
	uint32_t w[8];

	reset();
	r = regs(0, dst, 7, 0xDEADBEEF, 0);
	STR("rep stosl", r);
	for (int i = 0; i < 7; i++)
		check_eq("rep stosd value", 0xDEADBEEF, ((uint32_t *)dst)[i]);
	check_eq("rep stosd stops", 0xEEEEEEEE, ((uint32_t *)dst)[7]);
	expect_regs("rep stosd regs", &r, 0, dst + 28, 0);
	check_eq("rep stosd keeps EAX", 0xDEADBEEF, r.eax);

	reset();
	r = regs(0, dst, 13, 0x12345678, 0);
	STR("rep stosb", r);
	for (int i = 0; i < 13; i++)
		check_eq("rep stosb value", 0x78, dst[i]);
	check_eq("rep stosb stops", 0xEE, dst[13]);
	expect_regs("rep stosb regs", &r, 0, dst + 13, 0);

	reset();
	r = regs(0, dst + 8, 5, 0xAAAA5555, 0);
	STR("std\n\trep stosw", r);
	for (int i = 0; i < 5; i++)
		check_eq("std rep stosw value", 0x5555, ((uint16_t *)dst)[i]);
	check_eq("std rep stosw stops", 0xEEEE, ((uint16_t *)dst)[5]);
	expect_regs("std rep stosw regs", &r, 0, AT(dst, -2), 0);

	r = regs(0, dst, 0x77, 0x0BADF00D, 0);
	STR("stosl", r);
	check_eq("stosd value", 0x0BADF00D, ((uint32_t *)dst)[0]);
	expect_regs("stosd regs", &r, 0, dst + 4, 0x77);

	for (int i = 0; i < 8; i++)
		w[i] = 0x01010101u * (uint32_t)(i + 1);
	r = regs(w, 0, 0x66, 0, 0);
	STR("lodsl", r);
	check_eq("lodsd value", 0x01010101, r.eax);
	expect_regs("lodsd regs", &r, w + 1, 0, 0x66);
	STR("lodsw", r);
	check_eq("lodsw value (upper EAX kept)", 0x01010202, r.eax);
	expect_regs("lodsw regs", &r, (uint8_t *)(w + 1) + 2, 0, 0x66);
	STR("lodsb", r);
	check_eq("lodsb value (upper EAX kept)", 0x01010202, r.eax);

	/* rep lods is legal: every element is loaded, the last one stays. */
	r = regs(w, 0, 5, 0xFFFFFFFF, 0);
	STR("rep lodsb", r);
	check_eq("rep lodsb value", 0xFFFFFF02, r.eax);
	expect_regs("rep lodsb regs", &r, (uint8_t *)w + 5, 0, 0);

	r = regs(w + 7, 0, 0x99, 0, 0);
	STR("std\n\tlodsl", r);
	check_eq("std lodsd value", 0x08080808, r.eax);
	expect_regs("std lodsd regs", &r, w + 6, 0, 0x99);
}

static void check_cmps_scas(void)
{
	static uint8_t a[16] = "abcdeXghijklmno";
	static uint8_t b[16] = "abcdezghijKLMNO";
	static const char text[] = "hello, world";
	static uint32_t d[8] = { 5, 5, 5, 9, 5, 5, 5, 5 };
	struct regs r;
	const uint32_t mask = CF | ZF | SF | OF;

	/* repe stops after the first difference: a[5]='X' - b[5]='z' < 0. */
	r = regs(a, b, 12, 0, 0);
	STR("repe cmpsb", r);
	expect_regs("repe cmpsb regs", &r, a + 6, b + 6, 6);
	check_eq("repe cmpsb flags ('X' - 'z')", CF | SF, r.flags & mask);

	r = regs(a, b, 5, 0, 0);
	STR("repe cmpsb", r);
	expect_regs("repe cmpsb all equal regs", &r, a + 5, b + 5, 0);
	check_eq("repe cmpsb all equal flags", ZF, r.flags & mask);

	/* repne stops after the first equal pair. */
	r = regs(a + 10, b + 10, 5, 0, 0);
	STR("repne cmpsb", r);
	expect_regs("repne cmpsb none equal regs", &r, a + 15, b + 15, 0);
	check_eq("repne cmpsb none equal flags ('o' - 'O')", 0, r.flags & mask);
	r = regs(a + 5, b + 5, 10, 0, 0);
	STR("repne cmpsb", r);
	expect_regs("repne cmpsb regs", &r, a + 7, b + 7, 8);
	check_eq("repne cmpsb flags", ZF, r.flags & mask);

	/* Backwards from the end: 'o' vs 'O' differ at once. */
	r = regs(a + 14, b + 14, 10, 0, 0);
	STR("std\n\trepe cmpsb", r);
	expect_regs("std repe cmpsb regs", &r, a + 13, b + 13, 9);
	check_eq("std repe cmpsb flags ('o' - 'O')", 0, r.flags & mask);

	static uint32_t d2[8] = { 5, 5, 5, 0x80000000, 5, 5, 5, 5 };
	r = regs(d, d2, 8, 0, 0);
	STR("repe cmpsl", r);
	expect_regs("repe cmpsd regs", &r, d + 4, d2 + 4, 4);
	/* 9 - 0x80000000 = 0x80000009: borrow, negative, signed overflow. */
	check_eq("repe cmpsd flags", CF | SF | OF, r.flags & mask);

	/* ECX = 0: no comparison, flags stay as they were. */
	r = regs(a, b, 0, 0, CF | OF);
	STR("repe cmpsb", r);
	expect_regs("repe cmpsb ecx=0 regs", &r, a, b, 0);
	check_eq("repe cmpsb ecx=0 keeps flags", CF | OF, r.flags & mask);

	/* strlen the classic way. */
	r = regs(0, text, 0xFFFFFFFF, 0, 0);
	STR("repne scasb", r);
	expect_regs("repne scasb regs", &r, 0, text + 13, 0xFFFFFFFF - 13);
	check_eq("repne scasb flags", ZF, r.flags & mask);
	check_eq("repne scasb length", 12, ~r.ecx - 1);

	r = regs(0, d, 8, 5, 0);
	STR("repe scasl", r);
	expect_regs("repe scasd regs", &r, 0, d + 4, 4);
	check_eq("repe scasd flags (5 - 9)", CF | SF, r.flags & mask);

	r = regs(0, text + 11, 12, 'o', 0);
	STR("std\n\trepne scasb", r);
	expect_regs("std repne scasb regs", &r, 0, text + 7, 8);

	r = regs(0, text, 0x42, 'h', 0);
	STR("scasb", r);
	expect_regs("scasb regs", &r, 0, text + 1, 0x42);
	check_eq("scasb flags", ZF, r.flags & mask);
	r = regs(a, b, 0x42, 0, 0);
	STR("cmpsw", r);
	expect_regs("cmpsw regs", &r, a + 2, b + 2, 0x42);
	check_eq("cmpsw flags", ZF, r.flags & mask);
}

static void check_big(void)
{
	struct regs r;

	/* Large enough to cross many 4 KiB pages on both sides. */
	for (uint32_t i = 0; i < sizeof(big_src); i++)
		big_src[i] = (uint8_t)(i ^ (i >> 8) ^ (i >> 16));
	r = regs(big_src, big_dst, sizeof(big_src) / 4, 0, 0);
	STR("rep movsl", r);
	expect_regs("big rep movsd regs", &r, big_src + sizeof(big_src), big_dst + sizeof(big_dst), 0);
	for (uint32_t i = 0; i < sizeof(big_src); i++)
		if (big_dst[i] != (uint8_t)(i ^ (i >> 8) ^ (i >> 16)))
			fail("big rep movsd: byte %u: expected 0x%02x, got 0x%02x",
			     i, (uint8_t)(i ^ (i >> 8) ^ (i >> 16)), big_dst[i]);

	r = regs(0, big_dst + 1, sizeof(big_dst) - 2, 0x5C, 0);
	STR("rep stosb", r);
	expect_regs("big rep stosb regs", &r, 0, big_dst + sizeof(big_dst) - 1, 0);
	check_eq("big rep stosb first byte kept", 0x00, big_dst[0]);
	for (uint32_t i = 1; i < sizeof(big_dst) - 1; i++)
		if (big_dst[i] != 0x5C)
			fail("big rep stosb: byte %u: got 0x%02x", i, big_dst[i]);
	check_eq("big rep stosb last byte kept",
		 (uint8_t)((sizeof(big_dst) - 1) ^ ((sizeof(big_dst) - 1) >> 8) ^ ((sizeof(big_dst) - 1) >> 16)),
		 big_dst[sizeof(big_dst) - 1]);
}

void guest_main(void)
{
	check_movs();
	progress("movs");
	check_overlap();
	progress("overlap");
	check_stos_lods();
	progress("stos_lods");
	check_cmps_scas();
	progress("cmps_scas");
	check_big();
	progress("big");
	check_eq("DF clear at the end", 0, ({ uint32_t f; __asm__ volatile("pushfl; popl %0" : "=r"(f)); f; }) & DF);
}
