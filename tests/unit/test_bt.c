/* Unit tests for the binary translator (bt/): the decoder's classification,
 * what a translation unit emits (IDENT copies, inline sequences, callouts,
 * exits), lookup, chaining, the PC map, SMC invalidation, TC flushes and the
 * IBL table. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>
#include "bt.h"
#include "bt_internal.h"
#include "bt_internal.h"
#include "decode.h"
#include "mon_area.h"
#include "callout_kinds.h"
#include "stats.h"

/* ------------------------------------------------------------------------
 * Fake environment: guest RAM in ordinary memory (code_ptr returns host
 * pointers, linear == physical as with paging off), the TC and the IBL
 * table below 4 GiB because the translator turns their 32-bit linear
 * addresses straight into pointers. Nothing emitted is ever executed.
 * ------------------------------------------------------------------------ */

#define RAM_PAGES      80u
#define RAM_SIZE       (RAM_PAGES << 12)
#define TC_MAP         (1u << 20)           /* mapped TC bytes; tc_size may be less */
#define TC_SLACK       8192u                /* past the mapping's end: overflow canary */
#define TC_DEFAULT     (256u << 10)
#define IBL_BYTES      (MON_IBLTAB_ENTRIES * 8u)
#define META_SIZE      ((size_t)64 << 20)
#define GATE_CALLOUT   0xffc01000u
#define GATE_IBL       0xffc03000u
#define GATE_IBL_MISS  0xffc01040u
#define GATE_EXIT      0xffc01080u          /* shared tail of exit stubs */
#define GATE_LEARN     0xffc010c0u          /* shared tail of inline-cache learning stubs */
#define FILL           0xcc                 /* int3: any stray fetch ends its TU */
#define CANARY         0xa5

static struct {
	uint8_t *ram;
	uint8_t *tc;
	uint8_t *ibl;
	void *meta;
	uint32_t tc_size;
	bool avail_to_ram_end;     /* code_ptr reports bytes to RAM's end, as vmm/monitor.c does */
	bool soft_limits;          /* bt_env.soft_limits for the next bt_start */
	bool traced[RAM_PAGES];    /* page state as last set through trace_code_page */
	unsigned trace_on, trace_off, bad_trace;
} fx;

static const uint8_t *fake_code_ptr(void *ctx, uint32_t lin, uint32_t *avail, uint32_t *phys)
{
	if (ctx != &fx || lin >= RAM_SIZE)
		return NULL;
	*avail = fx.avail_to_ram_end ? RAM_SIZE - lin : 4096u - (lin & 4095u);
	*phys = lin;
	return fx.ram + lin;
}

/* Counts calls; a call for a foreign ctx, a page out of range or one that
 * does not change the page's state is a protocol error (bad_trace). */
static void fake_trace(void *ctx, uint32_t ppn, bool on)
{
	if (ctx != &fx || ppn >= RAM_PAGES || fx.traced[ppn] == on) {
		fx.bad_trace++;
		return;
	}
	fx.traced[ppn] = on;
	if (on)
		fx.trace_on++;
	else
		fx.trace_off++;
}

static uint32_t lin32(const void *p) { return (uint32_t)(uintptr_t)p; }
static uint8_t *at(uint32_t tc) { return (uint8_t *)(uintptr_t)tc; }
static uint32_t rd32(uint32_t tc) { uint32_t v; memcpy(&v, at(tc), 4); return v; }
static uint16_t rd16(uint32_t tc) { uint16_t v; memcpy(&v, at(tc), 2); return v; }
/* Where the rel32 field at `rel_at` jumps to. */
static uint32_t rel_target(uint32_t rel_at) { return rel_at + 4 + rd32(rel_at); }

static struct bt_env make_env(uint32_t tc_size, unsigned max_tu)
{
	return (struct bt_env){
		.code_ptr = fake_code_ptr, .trace_code_page = fake_trace, .ctx = &fx,
		.ram_pages = RAM_PAGES, .tc_base = lin32(fx.tc), .tc_size = tc_size,
		.ibl_table = lin32(fx.ibl), .gate_callout = GATE_CALLOUT, .gate_ibl = GATE_IBL,
		.gate_ibl_miss = GATE_IBL_MISS, .gate_exit_shared = GATE_EXIT,
		.gate_learn_shared = GATE_LEARN, .meta = fx.meta, .meta_size = META_SIZE,
		.max_tu_insns = max_tu, .soft_limits = fx.soft_limits,
	};
}

static void zero_counters(void)
{
	for (unsigned i = 0; i < stats_count(); i++)
		stats_at(i)->value = 0;
}

/* (Re)initialise the translator on freshly cleared memory. The counters
 * are static objects that survive bt_init, so they are zeroed here. */
static void bt_start(uint32_t tc_size, unsigned max_tu)
{
	stats_reset_registry();
	memset(fx.tc, 0, TC_MAP);
	memset(fx.tc + tc_size, CANARY, TC_MAP + TC_SLACK - tc_size);
	memset(fx.ibl, 0, IBL_BYTES);
	memset(fx.traced, 0, sizeof(fx.traced));
	fx.trace_on = fx.trace_off = fx.bad_trace = 0;
	fx.tc_size = tc_size;
	struct bt_env env = make_env(tc_size, max_tu);
	assert_int_equal(bt_init(&env), 0);
	/* bt_init keeps the previous mode: go back to flat ring 0. */
	struct bt_mode m = { .cs_base = 0, .cpl = 0 };
	bt_set_mode(&m);
	zero_counters();
}

static int setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof(fx));
	fx.ram = malloc(RAM_SIZE);
	fx.meta = malloc(META_SIZE);
	void *tc = mmap(NULL, TC_MAP + TC_SLACK, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	void *ibl = mmap(NULL, IBL_BYTES, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (!fx.ram || !fx.meta || tc == MAP_FAILED || ibl == MAP_FAILED)
		return -1;
	fx.tc = tc;
	fx.ibl = ibl;
	memset(fx.ram, FILL, RAM_SIZE);
	bt_start(TC_DEFAULT, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	munmap(fx.tc, TC_MAP + TC_SLACK);
	munmap(fx.ibl, IBL_BYTES);
	free(fx.ram);
	free(fx.meta);
	memset(&fx, 0, sizeof(fx));
	return 0;
}

static int decoder_setup(void **state)
{
	(void)state;
	bt_decoder_init();
	return 0;
}

static void put(uint32_t lin, const uint8_t *b, size_t n)
{
	assert_true(lin + n <= RAM_SIZE);
	memcpy(fx.ram + lin, b, n);
}
#define PUT(lin, ...) do { static const uint8_t b_[] = { __VA_ARGS__ }; put((lin), b_, sizeof(b_)); } while (0)

/* A jmp rel32 at `eip` to `target`. */
static void put_jmp(uint32_t eip, uint32_t target)
{
	uint8_t b[5] = { 0xe9 };
	uint32_t rel = target - (eip + 5);
	memcpy(b + 1, &rel, 4);
	put(eip, b, 5);
}

static uint64_t ctr(const char *name)
{
	stat_counter *c = stats_find(name);
	assert_non_null(c);
	return c->value;
}

/* The CCF that starts at TC address `tc` (white box: bt_internal.h). */
static struct ccf *ccf_at(uint32_t tc)
{
	for (uint32_t i = 1; i < bt.nccf; i++)
		if (bt.ccfs[i].tc == tc)
			return &bt.ccfs[i];
	fail_msg("no CCF at tc %#x", tc);
	return NULL;
}

static const struct pcrec *pc_of(uint32_t tc, unsigned insn)
{
	struct ccf *c = ccf_at(tc);
	assert_true(insn < c->ninsn);
	return &bt.pcs[c->pc_first + insn];
}

/* The callout sequence as the design specifies it, built here byte by byte
 * (not with emit.h, which is what is under test). */
static void callout_bytes(uint8_t out[30], uint16_t kind, uint16_t aux, uint32_t arg)
{
	static const uint8_t head[15] = {
		0x65, 0x89, 0x25, MA_ESP, 0, 0, 0,            /* mov %esp,%gs:MA_ESP */
		0x65, 0x0f, 0xb2, 0x25, MA_MONSTK, 0, 0, 0,   /* lss %gs:MA_MONSTK,%esp */
	};
	uint32_t gate = GATE_CALLOUT;
	memcpy(out, head, 15);
	out[15] = 0x9a;                                        /* lcall $0x33,$gate */
	memcpy(out + 16, &gate, 4);
	out[20] = HOST_CS64; out[21] = 0;
	memcpy(out + 22, &kind, 2);
	memcpy(out + 24, &aux, 2);
	memcpy(out + 26, &arg, 4);
}

static void expect_callout(uint32_t tc, uint16_t kind, uint16_t aux, uint32_t arg)
{
	uint8_t want[30];
	callout_bytes(want, kind, aux, arg);
	assert_memory_equal(at(tc), want, 30);
}

/* First callout of `kind` within [from, from+len): its TC address or 0. */
static uint32_t find_callout(uint32_t from, uint32_t len, uint16_t kind)
{
	uint8_t want[30];
	callout_bytes(want, kind, 0, 0);
	for (uint32_t a = from; a + 30 <= from + len; a++)
		if (!memcmp(at(a), want, 24))
			return a;
	return 0;
}

/* A per-exit stub: `movl $x,%gs:S_TMP; jmp <shared tail>`, the shared
 * tail making the callout with the index taken from S_TMP. */
#define STUB_LEN 16
static void expect_stub(uint32_t stub, uint32_t x, uint32_t shared)
{
	uint8_t want[12] = { 0x65, 0xc7, 0x05, MA_S_TMP, 0, 0, 0 };
	memcpy(want + 7, &x, 4);
	want[11] = 0xe9;
	assert_memory_equal(at(stub), want, sizeof(want));
	assert_int_equal(rel_target(stub + 12), shared);
}

/* The exit whose jump's rel32 is at `rel_at` (chained or not). */
static uint32_t exit_by_patch(uint32_t rel_at)
{
	for (uint32_t x = 1; x < bt.nexit; x++)
		if (bt.exits[x].patch == rel_at)
			return x;
	fail_msg("no exit patches %#x", rel_at);
	return 0;
}

/* An unchained exit's index, read from the stub its rel32 points at. */
static uint32_t exit_of(uint32_t rel_at)
{
	uint32_t stub = rel_target(rel_at);
	uint32_t x = rd32(stub + 7);
	assert_true(x > 0 && x < bt.nexit);
	expect_stub(stub, x, GATE_EXIT);
	assert_int_equal(bt.exits[x].patch, rel_at);
	assert_int_equal(bt.exits[x].stub, stub);
	return x;
}

/* Every page the translator considers traced was write-protected through
 * trace_code_page, and every protected page is one it considers traced. */
static void check_trace_consistent(void)
{
	assert_int_equal(fx.bad_trace, 0);
	for (uint32_t p = 0; p < RAM_PAGES; p++)
		if (fx.traced[p] != bt_page_traced(p))
			fail_msg("page %u: protected=%d, translator says traced=%d", p, fx.traced[p], bt_page_traced(p));
}

/* Overflow is at most one TU: the canary just past tc_size tells. */
static bool canary_intact(void)
{
	for (uint32_t i = fx.tc_size; i < fx.tc_size + TC_SLACK; i++)
		if (fx.tc[i] != CANARY)
			return false;
	return true;
}

struct ibl_ent { uint32_t neg_eip, tc; };
static struct ibl_ent *ibl_entry(uint32_t eip) { return &((struct ibl_ent *)fx.ibl)[eip & 0x7fff]; }

/* ------------------------------------------------------------------------
 * 1. Decoder
 * ------------------------------------------------------------------------ */

static struct bt_insn dec_ok(const uint8_t *b, unsigned n)
{
	struct bt_insn in;
	bool tr = true;
	assert_true(bt_decode(b, n, &in, &tr));
	assert_false(tr);
	assert_int_equal(in.len, n);
	return in;
}
#define DEC(...) ({ static const uint8_t b_[] = { __VA_ARGS__ }; dec_ok(b_, sizeof(b_)); })

static void test_decode_plain(void **state)
{
	(void)state;
	struct bt_insn in = DEC(0x90);                          /* nop */
	assert_int_equal(in.mnem, M_OTHER);
	assert_int_equal(in.target, T_NONE);
	assert_int_equal(in.modrm_off, 0xff);
	assert_int_equal(in.mem_seg, SEG_NONE);
	assert_false(in.has_mem);

	in = DEC(0xb8, 0x78, 0x56, 0x34, 0x12);                 /* mov $0x12345678,%eax */
	assert_int_equal(in.mnem, M_OTHER);
	assert_int_equal(in.imm, 0x12345678);
	assert_int_equal(in.opsize, 32);

	in = DEC(0x01, 0xd9);                                   /* add %ebx,%ecx */
	assert_int_equal(in.mnem, M_OTHER);
	assert_int_equal(in.modrm_off, 1);
	assert_false(in.has_mem);

	in = DEC(0x01, 0x43, 0x04);                             /* add %eax,4(%ebx) */
	assert_int_equal(in.mnem, M_OTHER);
	assert_true(in.has_mem);
	assert_true(in.mem_is_dst);
	assert_int_equal(in.mem_base, 3);
	assert_int_equal(in.mem_index, 0xff);
	assert_int_equal(in.mem_disp, 4);
	assert_int_equal(in.mem_seg, SEG_DS);

	in = DEC(0x66, 0xb8, 0x34, 0x12);                       /* mov $0x1234,%ax */
	assert_int_equal(in.opsize, 16);
	assert_int_equal(in.nprefix, 1);
	assert_int_equal(in.opcode_off, 1);

	/* Only the first instruction of a longer buffer is decoded. */
	static const uint8_t two[] = { 0x90, 0xb8, 1, 2, 3, 4 };
	bool tr;
	assert_true(bt_decode(two, sizeof(two), &in, &tr));
	assert_int_equal(in.len, 1);
}

static void test_decode_jmp(void **state)
{
	(void)state;
	struct bt_insn in = DEC(0xeb, 0xfe);                    /* jmp . (rel8) */
	assert_int_equal(in.mnem, M_JMP);
	assert_int_equal(in.target, T_REL);
	assert_int_equal(in.rel, -2);
	assert_int_equal(in.far, 0);

	in = DEC(0xe9, 0x00, 0x01, 0x00, 0x00);                 /* jmp rel32 +0x100 */
	assert_int_equal(in.mnem, M_JMP);
	assert_int_equal(in.target, T_REL);
	assert_int_equal(in.rel, 0x100);

	in = DEC(0xe9, 0xfb, 0xff, 0xff, 0xff);                 /* jmp rel32 -5 */
	assert_int_equal(in.rel, -5);

	in = DEC(0xff, 0xe0);                                   /* jmp *%eax */
	assert_int_equal(in.mnem, M_JMP);
	assert_int_equal(in.target, T_REG);
	assert_int_equal(in.reg, 0);

	in = DEC(0xff, 0x25, 0x00, 0x20, 0x00, 0x00);           /* jmp *0x2000 */
	assert_int_equal(in.target, T_MEM);
	assert_int_equal(in.mem_disp, 0x2000);
}

static void test_decode_jcc_and_loops(void **state)
{
	(void)state;
	struct bt_insn in = DEC(0x74, 0x05);                    /* je +5 */
	assert_int_equal(in.mnem, M_JCC);
	assert_int_equal(in.cc, 4);
	assert_int_equal(in.target, T_REL);
	assert_int_equal(in.rel, 5);

	in = DEC(0x0f, 0x85, 0x10, 0x00, 0x00, 0x00);           /* jne rel32 +16 */
	assert_int_equal(in.mnem, M_JCC);
	assert_int_equal(in.cc, 5);
	assert_int_equal(in.rel, 16);

	in = DEC(0x7f, 0xf0);                                   /* jg -16 */
	assert_int_equal(in.cc, 0xf);
	assert_int_equal(in.rel, -16);

	in = DEC(0x70, 0x00);                                   /* jo */
	assert_int_equal(in.mnem, M_JCC);
	assert_int_equal(in.cc, 0);

	in = DEC(0xe2, 0xfe);                                   /* loop . */
	assert_int_equal(in.mnem, M_LOOP);
	assert_int_equal(in.rel, -2);
	assert_int_equal(DEC(0xe1, 0x00).mnem, M_LOOPE);
	assert_int_equal(DEC(0xe0, 0x00).mnem, M_LOOPNE);
	assert_int_equal(DEC(0xe3, 0x04).mnem, M_JECXZ);
}

static void test_decode_call_ret(void **state)
{
	(void)state;
	struct bt_insn in = DEC(0xe8, 0x10, 0x00, 0x00, 0x00);  /* call rel32 */
	assert_int_equal(in.mnem, M_CALL);
	assert_int_equal(in.target, T_REL);
	assert_int_equal(in.rel, 0x10);
	/* The implicit stack write is SS and not overridable: not recorded. */
	assert_int_equal(in.mem_seg, SEG_NONE);

	in = DEC(0xff, 0xd0);                                   /* call *%eax */
	assert_int_equal(in.mnem, M_CALL);
	assert_int_equal(in.target, T_REG);
	assert_int_equal(in.reg, 0);
	assert_int_equal(in.far, 0);

	in = DEC(0xff, 0x13);                                   /* call *(%ebx) */
	assert_int_equal(in.mnem, M_CALL);
	assert_int_equal(in.target, T_MEM);
	assert_true(in.has_mem);
	assert_int_equal(in.mem_base, 3);
	assert_int_equal(in.mem_seg, SEG_DS);
	assert_int_equal(in.modrm_off, 1);

	in = DEC(0xff, 0x18);                                   /* lcall *(%eax) */
	assert_int_equal(in.mnem, M_CALL);
	assert_int_equal(in.far, 1);

	in = DEC(0xc3);                                         /* ret */
	assert_int_equal(in.mnem, M_RET);
	assert_int_equal(in.imm, 0);
	assert_int_equal(in.far, 0);

	in = DEC(0xc2, 0x08, 0x00);                             /* ret $8 */
	assert_int_equal(in.mnem, M_RET);
	assert_int_equal(in.imm, 8);

	in = DEC(0xcb);                                         /* lret */
	assert_int_equal(in.mnem, M_RET);
	assert_int_equal(in.far, 1);
}

static void test_decode_far_pointer(void **state)
{
	(void)state;
	struct bt_insn in = DEC(0xea, 0x00, 0x10, 0x00, 0x00, 0x10, 0x00); /* ljmp $0x10,$0x1000 */
	assert_int_equal(in.mnem, M_JMP);
	assert_int_equal(in.far, 1);
	assert_int_equal(in.target, T_PTR);
	assert_int_equal(in.imm, 0x1000);
	assert_int_equal(in.imm_sel, 0x10);

	in = DEC(0x9a, 0x78, 0x56, 0x34, 0x12, 0x08, 0x00);     /* lcall $0x8,$0x12345678 */
	assert_int_equal(in.mnem, M_CALL);
	assert_int_equal(in.far, 1);
	assert_int_equal(in.target, T_PTR);
	assert_int_equal(in.imm, 0x12345678);
	assert_int_equal(in.imm_sel, 0x8);
}

static void test_decode_flags_and_interrupts(void **state)
{
	(void)state;
	assert_int_equal(DEC(0xfa).mnem, M_CLI);
	assert_int_equal(DEC(0xfb).mnem, M_STI);
	struct bt_insn in = DEC(0x9c);
	assert_int_equal(in.mnem, M_PUSHF);
	assert_int_equal(in.opsize, 32);
	in = DEC(0x66, 0x9c);
	assert_int_equal(in.mnem, M_PUSHF);
	assert_int_equal(in.opsize, 16);
	assert_int_equal(DEC(0x9d).mnem, M_POPF);
	assert_int_equal(DEC(0xcf).mnem, M_IRET);
	in = DEC(0x66, 0xcf);
	assert_int_equal(in.mnem, M_IRET);
	assert_int_equal(in.opsize, 16);

	in = DEC(0xcd, 0x80);                                   /* int $0x80 */
	assert_int_equal(in.mnem, M_INT);
	assert_int_equal(in.imm, 0x80);
	assert_int_equal(DEC(0xcc).mnem, M_INT3);
	assert_int_equal(DEC(0xce).mnem, M_INTO);
	assert_int_equal(DEC(0xf1).mnem, M_INT1);
	assert_int_equal(DEC(0xf4).mnem, M_HLT);
}

static void test_decode_port_io(void **state)
{
	(void)state;
	struct bt_insn in = DEC(0xe4, 0x60);                    /* in $0x60,%al */
	assert_int_equal(in.mnem, M_IN);
	assert_int_equal(in.imm, 0x60);
	in = DEC(0xe5, 0x71);                                   /* in $0x71,%eax */
	assert_int_equal(in.mnem, M_IN);
	assert_int_equal(in.imm, 0x71);
	in = DEC(0xec);                                         /* in (%dx),%al */
	assert_int_equal(in.mnem, M_IN);
	assert_int_equal(in.imm, 0);
	in = DEC(0xe6, 0x80);                                   /* out %al,$0x80 */
	assert_int_equal(in.mnem, M_OUT);
	assert_int_equal(in.imm, 0x80);
	assert_int_equal(DEC(0xee).mnem, M_OUT);                /* out %al,(%dx) */
	in = DEC(0x66, 0xef);                                   /* out %ax,(%dx) */
	assert_int_equal(in.mnem, M_OUT);
	assert_int_equal(in.opsize, 16);

	in = DEC(0x6c);                                         /* insb */
	assert_int_equal(in.mnem, M_INS);
	assert_int_equal(in.rep, 0);
	in = DEC(0x6f);                                         /* outsl */
	assert_int_equal(in.mnem, M_OUTS);
	in = DEC(0xf3, 0x6c);                                   /* rep insb */
	assert_int_equal(in.mnem, M_INS);
	assert_int_equal(in.rep, 1);
}

static void test_decode_system(void **state)
{
	(void)state;
	struct bt_insn in = DEC(0x0f, 0x01, 0x10);              /* lgdt (%eax) */
	assert_int_equal(in.mnem, M_LGDT);
	assert_true(in.has_mem);
	assert_int_equal(in.mem_base, 0);
	assert_int_equal(DEC(0x0f, 0x01, 0x18).mnem, M_LIDT);
	assert_int_equal(DEC(0x0f, 0x01, 0x38).mnem, M_INVLPG);
	assert_int_equal(DEC(0x0f, 0x00, 0xd8).mnem, M_LTR);
	assert_int_equal(DEC(0x0f, 0x01, 0xe0).mnem, M_SMSW);

	in = DEC(0x0f, 0x20, 0xc0);                             /* mov %cr0,%eax */
	assert_int_equal(in.mnem, M_MOV_CR);
	assert_int_equal(in.crn, 0);
	assert_int_equal(in.reg, 0);
	assert_false(in.mem_is_dst);                            /* the CR is read */
	in = DEC(0x0f, 0x22, 0xd8);                             /* mov %eax,%cr3 */
	assert_int_equal(in.mnem, M_MOV_CR);
	assert_int_equal(in.crn, 3);
	assert_int_equal(in.reg, 0);
	assert_true(in.mem_is_dst);                             /* the CR is written */
	in = DEC(0x0f, 0x22, 0xe3);                             /* mov %ebx,%cr4 */
	assert_int_equal(in.crn, 4);
	assert_int_equal(in.reg, 3);
	in = DEC(0x0f, 0x21, 0xf8);                             /* mov %dr7,%eax */
	assert_int_equal(in.mnem, M_MOV_DR);
	assert_int_equal(in.crn, 7);

	assert_int_equal(DEC(0x0f, 0xa2).mnem, M_CPUID);
	assert_int_equal(DEC(0x0f, 0x31).mnem, M_RDTSC);
	assert_int_equal(DEC(0x0f, 0x02, 0xc1).mnem, M_LAR);
	assert_int_equal(DEC(0x0f, 0x03, 0xc1).mnem, M_LSL);
	assert_int_equal(DEC(0x0f, 0x30).mnem, M_WRMSR);
	assert_int_equal(DEC(0x0f, 0x32).mnem, M_RDMSR);
	assert_int_equal(DEC(0x0f, 0x06).mnem, M_CLTS);
	assert_int_equal(DEC(0x0f, 0x09).mnem, M_WBINVD);
	assert_int_equal(DEC(0x0f, 0x0b).mnem, M_UD);           /* ud2 */
}

static void test_decode_sreg_moves(void **state)
{
	(void)state;
	struct bt_insn in = DEC(0x8e, 0xd8);                    /* mov %eax,%ds */
	assert_int_equal(in.mnem, M_MOV_SREG_LOAD);
	assert_int_equal(in.sreg, SEG_DS);
	assert_int_equal(in.reg, 0);
	assert_false(in.writes_sreg_ss);

	in = DEC(0x8e, 0xd0);                                   /* mov %eax,%ss: interrupt shadow */
	assert_int_equal(in.mnem, M_MOV_SREG_LOAD);
	assert_int_equal(in.sreg, SEG_SS);
	assert_true(in.writes_sreg_ss);

	in = DEC(0x8c, 0xd8);                                   /* mov %ds,%eax */
	assert_int_equal(in.mnem, M_MOV_SREG_STORE);
	assert_int_equal(in.sreg, SEG_DS);
	assert_int_equal(in.reg, 0);
	assert_int_equal(in.opsize, 32);
	assert_false(in.writes_sreg_ss);

	in = DEC(0x8c, 0xe3);                                   /* mov %fs,%ebx */
	assert_int_equal(in.mnem, M_MOV_SREG_STORE);
	assert_int_equal(in.sreg, SEG_FS);
	assert_int_equal(in.reg, 3);

	in = DEC(0x8c, 0x18);                                   /* mov %ds,(%eax) */
	assert_int_equal(in.mnem, M_MOV_SREG_STORE);
	assert_true(in.has_mem);
	assert_true(in.mem_is_dst);
}

/* Zydis 4 reports the segment register of push/pop sreg (06/07/0E/16/17/
 * 1E/1F, 0F A0/A1/A8/A9) as an IMPLICIT operand, not EXPLICIT: they must
 * still come out as M_PUSH_SREG/M_POP_SREG (a decoder that only looked at
 * explicit operands made them M_OTHER, copied as IDENT). */
static void test_decode_push_pop_sreg(void **state)
{
	(void)state;
	struct bt_insn in = DEC(0x1e);                          /* push %ds */
	assert_int_equal(in.mnem, M_PUSH_SREG);
	assert_int_equal(in.sreg, SEG_DS);
	in = DEC(0x0e);                                         /* push %cs */
	assert_int_equal(in.mnem, M_PUSH_SREG);
	assert_int_equal(in.sreg, SEG_CS);
	in = DEC(0x0f, 0xa0);                                   /* push %fs */
	assert_int_equal(in.mnem, M_PUSH_SREG);
	assert_int_equal(in.sreg, SEG_FS);
	in = DEC(0x1f);                                         /* pop %ds */
	assert_int_equal(in.mnem, M_POP_SREG);
	assert_int_equal(in.sreg, SEG_DS);
	assert_false(in.writes_sreg_ss);
	in = DEC(0x0f, 0xa9);                                   /* pop %gs */
	assert_int_equal(in.mnem, M_POP_SREG);
	assert_int_equal(in.sreg, SEG_GS);
	in = DEC(0x17);                                         /* pop %ss: interrupt shadow */
	assert_int_equal(in.mnem, M_POP_SREG);
	assert_int_equal(in.sreg, SEG_SS);
	assert_true(in.writes_sreg_ss);
}

static void test_decode_invalid(void **state)
{
	(void)state;
	static const uint8_t ffff[] = { 0xff, 0xff, 0x90, 0x90 }; /* FF /7 is undefined */
	static const uint8_t movcs[] = { 0x8e, 0xc8 };           /* mov %eax,%cs */
	static const uint8_t f04[] = { 0x0f, 0x04 };
	const uint8_t *bad[] = { ffff, movcs, f04 };
	unsigned n[] = { sizeof(ffff), sizeof(movcs), sizeof(f04) };
	for (unsigned i = 0; i < 3; i++) {
		struct bt_insn in;
		bool tr = true;
		assert_false(bt_decode(bad[i], n[i], &in, &tr));
		assert_int_equal(in.mnem, M_INVALID);
		assert_int_equal(in.len, 1);
		assert_false(tr);                               /* invalid, not short */
	}
}

static void test_decode_segment_overrides(void **state)
{
	(void)state;
	struct bt_insn in = DEC(0x65, 0x8b, 0x18);              /* mov %gs:(%eax),%ebx */
	assert_int_equal(in.mnem, M_OTHER);
	assert_int_equal(in.mem_seg, SEG_GS);
	assert_int_equal(in.seg_prefix_off, 0);
	assert_int_equal(in.nprefix, 1);
	assert_int_equal(in.opcode_off, 1);
	assert_int_equal(in.modrm_off, 2);
	assert_true(in.has_mem);
	assert_false(in.mem_is_dst);

	in = DEC(0x2e, 0x8b, 0x18);                             /* mov %cs:(%eax),%ebx */
	assert_int_equal(in.mem_seg, SEG_CS);
	assert_int_equal(in.seg_prefix_off, 0);

	in = DEC(0x66, 0x65, 0x8b, 0x18);                       /* mov %gs:(%eax),%bx */
	assert_int_equal(in.mem_seg, SEG_GS);
	assert_int_equal(in.seg_prefix_off, 1);

	in = DEC(0x64, 0x8b, 0x18);
	assert_int_equal(in.mem_seg, SEG_FS);
	in = DEC(0x8b, 0x18);                                   /* default DS, no prefix */
	assert_int_equal(in.mem_seg, SEG_DS);
	assert_int_equal(in.seg_prefix_off, 0xff);
	in = DEC(0x8b, 0x45, 0x08);                             /* 8(%ebp): SS */
	assert_int_equal(in.mem_seg, SEG_SS);

	in = DEC(0x65, 0x8d, 0x00);                             /* lea: no memory access */
	assert_int_equal(in.mem_seg, SEG_NONE);
	assert_false(in.has_mem);

	/* String instructions: the overridden source wins over ES:EDI. */
	in = DEC(0x2e, 0xa4);                                   /* movsb %cs:(%esi),%es:(%edi) */
	assert_int_equal(in.mem_seg, SEG_CS);
	in = DEC(0x65, 0xa4);
	assert_int_equal(in.mem_seg, SEG_GS);
}

static void test_decode_truncated(void **state)
{
	(void)state;
	static const uint8_t jmp[] = { 0xe9, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t lgdt[] = { 0x0f, 0x01, 0x15, 0, 0, 0, 0 };
	struct bt_insn in;
	bool tr = false;
	assert_false(bt_decode(jmp, 3, &in, &tr));
	assert_true(tr);
	assert_int_equal(in.mnem, M_INVALID);
	assert_int_equal(in.len, 1);
	tr = false;
	assert_false(bt_decode(lgdt, 2, &in, &tr));             /* no ModRM yet */
	assert_true(tr);
	tr = false;
	assert_false(bt_decode(lgdt, 6, &in, &tr));             /* disp32 cut short */
	assert_true(tr);
	/* The same bytes, complete: decoded, and truncated cleared. */
	tr = true;
	assert_true(bt_decode(jmp, 5, &in, &tr));
	assert_false(tr);
	/* truncated may be NULL (the emulator passes NULL). */
	assert_false(bt_decode(jmp, 3, &in, NULL));
}

/* ------------------------------------------------------------------------
 * 2. Translation units
 * ------------------------------------------------------------------------ */

static void test_translate_ident_block(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0x90,                                   /* nop */
		0xb8, 0x05, 0x00, 0x00, 0x00,           /* mov $5,%eax */
		0x01, 0xd9,                             /* add %ebx,%ecx */
		0x8b, 0x45, 0x08,                       /* mov 8(%ebp),%eax */
	};
	put(0x1000, code, sizeof(code));
	put_jmp(0x100b, 0x1800);

	uint32_t tc = bt_get(0x1000);
	assert_int_equal(tc, lin32(fx.tc));                     /* first CCF: TC start */
	assert_true(bt_in_tc(tc));
	assert_memory_equal(at(tc), code, sizeof(code));        /* IDENT: byte for byte */
	assert_int_equal(at(tc + 11)[0], 0xe9);
	/* The exit jumps to its stub, right behind it, until chained. */
	assert_int_equal(rel_target(tc + 12), tc + 16);
	uint32_t x = exit_of(tc + 12);
	expect_stub(tc + 16, x, GATE_EXIT);
	assert_int_equal(bt.exits[x].target_eip, 0x1800);

	struct ccf *c = ccf_at(tc);
	assert_int_equal(c->eip, 0x1000);
	assert_int_equal(c->ninsn, 5);
	assert_int_equal(c->nexits, 1);
	assert_int_equal(c->tc_len, 16 + STUB_LEN);
	assert_int_equal(bt.tc_used % 16, 0);                   /* next CCF aligned */

	assert_int_equal(ctr("bt.tu.translated"), 1);
	assert_int_equal(ctr("bt.insn.translated"), 5);
	assert_int_equal(ctr("bt.insn.ident"), 4);
	assert_int_equal(ctr("bt.insn.inline"), 1);             /* the jmp */
	assert_int_equal(ctr("bt.insn.callout"), 0);
	assert_int_equal(ctr("bt.insn.translated"),
			 ctr("bt.insn.ident") + ctr("bt.insn.inline") + ctr("bt.insn.callout"));
	assert_int_equal(ctr("bt.guest.bytes"), 16);
	assert_int_equal(ctr("bt.tc.bytes"), 16 + STUB_LEN);
	assert_int_equal(ctr("bt.lookup.miss"), 1);
	assert_int_equal(ctr("bt.pages.traced"), 1);
	assert_true(fx.traced[1]);
	assert_int_equal(fx.trace_on, 1);
	check_trace_consistent();
}

static struct { unsigned calls; uint32_t eip, tc, ninsn, tc_len, cpl, cs_base; void *ctx; } hook;
static void on_translate(void *ctx, const struct bt_fragment *f)
{
	hook.calls++;
	hook.ctx = ctx; hook.eip = f->eip; hook.tc = f->tc; hook.ninsn = f->ninsn; hook.tc_len = f->tc_len;
	hook.cpl = f->cpl; hook.cs_base = f->cs_base;
}

/* The tracing hook sees each translation once, with its final numbers. */
static void test_on_translate_hook(void **state)
{
	(void)state;
	memset(&hook, 0, sizeof(hook));
	stats_reset_registry();
	struct bt_env env = make_env(TC_DEFAULT, 0);
	env.on_translate = on_translate;
	assert_int_equal(bt_init(&env), 0);
	PUT(0x1000, 0x90, 0x90);
	put_jmp(0x1002, 0x1000);
	uint32_t tc = bt_get(0x1000);
	assert_int_equal(hook.calls, 1);
	assert_ptr_equal(hook.ctx, &fx);
	assert_int_equal(hook.eip, 0x1000);
	assert_int_equal(hook.tc, tc);
	assert_int_equal(hook.ninsn, 3);
	assert_int_equal(hook.tc_len, ccf_at(tc)->tc_len);
	assert_int_equal(hook.cpl, ccf_at(tc)->cpl);
	assert_int_equal(hook.cs_base, ccf_at(tc)->cs_base);
	bt_get(0x1000);                                         /* a hit translates nothing */
	assert_int_equal(hook.calls, 1);
	assert_int_equal(bt_get(RAM_SIZE), 0);                  /* nor does a failed fetch */
	assert_int_equal(hook.calls, 1);
}

static void test_tu_stops_at_max_insns(void **state)
{
	(void)state;
	memset(fx.ram + 0x2000, 0x90, 20);                      /* 20 nops, then int3 */
	uint32_t tc = bt_get(0x2000);
	struct ccf *c = ccf_at(tc);
	assert_int_equal(c->ninsn, 12);                         /* the default max_tu_insns */
	for (unsigned i = 0; i < 12; i++)
		assert_int_equal(at(tc)[i], 0x90);
	/* Falls through to the next instruction via an exit. */
	assert_int_equal(at(tc + 12)[0], 0xe9);
	uint32_t x = exit_of(tc + 13);
	assert_int_equal(bt.exits[x].target_eip, 0x200c);
	assert_int_equal(c->nexits, 1);
	assert_int_equal(ctr("bt.insn.translated"), 12);
	assert_int_equal(ctr("bt.insn.ident"), 12);
	assert_int_equal(ctr("bt.insn.inline"), 0);             /* a fallthrough is not an instruction */

	/* The rest: 8 nops and the int3 that ends it. */
	uint32_t target = 0;
	uint32_t tc2 = bt_exit_taken(x, &target);
	assert_int_equal(target, 0x200c);
	assert_int_equal(ccf_at(tc2)->ninsn, 9);
	assert_int_equal(ctr("bt.insn.translated"), 21);
	assert_int_equal(ctr("bt.insn.callout"), 1);
	assert_int_equal(ctr("bt.insn.translated"),
			 ctr("bt.insn.ident") + ctr("bt.insn.inline") + ctr("bt.insn.callout"));
}

static void test_tu_max_insns_tunable(void **state)
{
	(void)state;
	bt_start(TC_DEFAULT, 5);
	memset(fx.ram + 0x2000, 0x90, 20);
	uint32_t tc = bt_get(0x2000);
	assert_int_equal(ccf_at(tc)->ninsn, 5);
	assert_int_equal(bt.exits[exit_of(tc + 6)].target_eip, 0x2005);
}

/* ------------------------------------------------------------------------
 * 3. Inline sequences
 * ------------------------------------------------------------------------ */

static void test_inline_cli_sti(void **state)
{
	(void)state;
	PUT(0x1000, 0xfa);                                      /* cli */
	put_jmp(0x1001, 0x1000);
	uint32_t tc = bt_get(0x1000);
	static const uint8_t cli[] = { 0x65, 0xc7, 0x05, MA_VIF, 0, 0, 0, 0x00, 0x00, 0x00, 0x00 };
	assert_memory_equal(at(tc), cli, sizeof(cli));         /* movl $0,%gs:MA_VIF */
	assert_int_equal(at(tc + 11)[0], 0xe9);

	PUT(0x2000, 0xfb);                                      /* sti */
	put_jmp(0x2001, 0x2000);
	tc = bt_get(0x2000);
	static const uint8_t sti[] = { 0x65, 0xc7, 0x05, MA_VIF, 0, 0, 0, 0x00, 0x02, 0x00, 0x00 };
	assert_memory_equal(at(tc), sti, sizeof(sti));         /* movl $0x200,%gs:MA_VIF */
	assert_int_equal(ctr("bt.insn.inline"), 4);
	assert_int_equal(ctr("bt.insn.callout"), 0);
}

static void test_inline_pushf_popf(void **state)
{
	(void)state;
	PUT(0x1000, 0x9c);                                      /* pushf */
	put_jmp(0x1001, 0x1000);
	uint32_t tc = bt_get(0x1000);
	const struct pcrec *r = pc_of(tc, 0);
	static const uint8_t pushf_head[] = { 0x9c, 0x65, 0xa3, MA_S_EAX, 0, 0, 0 }; /* pushfl; save %eax */
	static const uint8_t eax_back[] = { 0x65, 0xa1, MA_S_EAX, 0, 0, 0 };          /* %eax restored */
	assert_memory_equal(at(tc), pushf_head, sizeof(pushf_head));
	assert_memory_equal(at(tc + r->tc_len - 6), eax_back, 6);
	assert_int_equal(at(tc + r->tc_len)[0], 0xe9);         /* then the jmp */
	assert_int_equal(find_callout(tc, r->tc_len, CO_EMULATE), 0);
	assert_int_equal(find_callout(tc, r->tc_len, CO_IRQ_CHECK), 0);

	PUT(0x2000, 0x9d);                                      /* popf */
	put_jmp(0x2001, 0x2000);
	tc = bt_get(0x2000);
	r = pc_of(tc, 0);
	/* A popf that would set TF goes to the monitor (single-stepping is a
	 * translation mode): testl $TF,(%esp); jz over the callout. */
	static const uint8_t popf_tf[] = { 0xf7, 0x04, 0x24, 0x00, 0x01, 0x00, 0x00, 0x74, CO_SEQ_LEN + CO_REC_SIZE };
	assert_memory_equal(at(tc), popf_tf, sizeof(popf_tf));
	expect_callout(tc + sizeof(popf_tf), CO_EMULATE, 1 | CO_END, 0x2000);
	static const uint8_t popf_head[] = { 0x65, 0xa3, MA_S_EAX, 0, 0, 0, 0x8b, 0x04, 0x24 };
	assert_memory_equal(at(tc + sizeof(popf_tf) + CO_SEQ_LEN + CO_REC_SIZE), popf_head, sizeof(popf_head));
	/* popf may set IF: it checks for pending interrupts, resuming after it. */
	uint32_t chk = find_callout(tc, r->tc_len, CO_IRQ_CHECK);
	assert_int_not_equal(chk, 0);
	expect_callout(chk, CO_IRQ_CHECK, 0, 0x2001);
	assert_int_equal(at(tc + r->tc_len)[0], 0xe9);
	assert_int_equal(ctr("bt.insn.inline"), 4);

	/* 16-bit forms are left to the emulator and end the TU. */
	PUT(0x3000, 0x66, 0x9c, 0x90);
	tc = bt_get(0x3000);
	expect_callout(tc, CO_EMULATE, 2 | CO_END, 0x3000);
	assert_int_equal(ccf_at(tc)->ninsn, 1);
}

/* Translation modes: a single-stepping guest gets one instruction per unit
 * whose exits never chain; CR0.TS/EM and CR4.OSFXSR turn FPU and SIMD
 * instructions into fault callouts; units of different modes coexist. */
static void test_modes_tf_and_fpu(void **state)
{
	(void)state;
	PUT(0x1000, 0x90, 0x90, 0x90);                          /* nop nop nop int3 */
	struct bt_mode tf = { .tf = 1 };
	bt_set_mode(&tf);
	uint32_t t1 = bt_get(0x1000);
	assert_int_equal(ccf_at(t1)->ninsn, 1);
	uint32_t target;
	bt_exit_taken(ccf_at(t1)->exit_first, &target);
	assert_int_equal(target, 0x1001);
	assert_int_equal(ctr("bt.chain.patched"), 0);          /* every step reaches the monitor */
	struct bt_mode plain = { 0 };
	bt_set_mode(&plain);
	uint32_t t0 = bt_get(0x1000);
	assert_int_not_equal(t0, t1);                           /* another unit for another mode */
	assert_int_equal(ccf_at(t0)->ninsn, 4);

	PUT(0x2000, 0xd9, 0xe8, 0x0f, 0x57, 0xc0, 0x0f, 0xae, 0xf8);   /* fld1; xorps; sfence */
	struct bt_mode ts = { .fpu = BT_FPU_TS };
	bt_set_mode(&ts);
	expect_callout(bt_get(0x2000), CO_FAULT, 7, 0x2000);   /* #NM */
	struct bt_mode nosse = { .fpu = BT_FPU_NOSSE };
	bt_set_mode(&nosse);
	uint32_t t2 = bt_get(0x2000);
	assert_int_equal(at(t2)[0], 0xd9);                      /* x87 runs */
	expect_callout(t2 + 2, CO_FAULT, 6, 0x2002);            /* SSE: #UD */
	PUT(0x3000, 0x0f, 0xae, 0xf8, 0x90);                    /* sfence never faults */
	assert_int_equal(at(bt_get(0x3000))[0], 0x0f);
	bt_set_mode(&plain);
}

/* Software limit checks (bt_env.soft_limits): a memory operand and a
 * push are each preceded by their checks against their segment's bound
 * pair, with the guest's %eax parked and restored around them; the state
 * after the checks is a boundary; a rep string is a callout. */
static void test_soft_limit_checks(void **state)
{
	(void)state;
	fx.soft_limits = true;
	bt_start(TC_DEFAULT, 64);
	fx.soft_limits = false;
	PUT(0x1000, 0x8b, 0x43, 0x10,       /* mov 0x10(%ebx),%eax */
	    0x51,                           /* push %ecx */
	    0xf3, 0xa4,                     /* rep movsb */
	    0x67, 0xf3, 0xa4);              /* rep movsb, 16-bit addresses */
	put_jmp(0x1009, 0x1000);
	uint32_t tc = bt_get(0x1000);
	const struct pcrec *r = pc_of(tc, 0);
	static const uint8_t mov_chk[] = {
		0x65, 0xa3, 0xc8, 0, 0, 0,                /* mov %eax,%gs:S_CHK */
		0x8d, 0x84, 0x23, 0x10, 0, 0, 0x80,       /* lea 2^31+0x10(%ebx),%eax */
		0x65, 0x62, 0x05, 0xe8, 0, 0, 0,          /* bound %eax,%gs:BND[DS] */
		0x65, 0xa1, 0xc8, 0, 0, 0,                /* mov %gs:S_CHK,%eax */
		0x8b, 0x43, 0x10,                         /* the instruction */
	};
	assert_memory_equal(at(r->tc), mov_chk, sizeof(mov_chk));
	assert_int_equal(r->chk, sizeof(mov_chk) - 3);
	unsigned seg = 99;
	assert_true(bt_limit_check_at(r->tc + 13, &seg));
	assert_int_equal(seg, SEG_DS);
	assert_false(bt_limit_check_at(r->tc + 6, &seg));
	struct bt_pc pc;
	assert_true(bt_pc_lookup(r->tc + 13, &pc));
	assert_false(pc.boundary);
	assert_true(bt_pc_lookup(r->tc + r->chk, &pc));
	assert_true(pc.boundary);
	assert_int_equal(pc.eip, 0x1000);
	/* push %ecx: SS at ESP-4, 4 bytes */
	const struct pcrec *p = pc_of(tc, 1);
	static const uint8_t push_chk[] = { 0x65, 0xa3, 0xc8, 0, 0, 0, 0x8d, 0x84, 0x24, 0xfc, 0xff, 0xff, 0x7f };
	assert_memory_equal(at(p->tc), push_chk, sizeof(push_chk));
	assert_true(bt_limit_check_at(p->tc + 13, &seg));
	assert_int_equal(seg, SEG_SS);
	assert_int_equal(at(p->tc + p->chk)[0], 0x51);
	/* rep movsb: performed by the monitor; its 16-bit-address form too */
	const struct pcrec *m = pc_of(tc, 2);
	assert_int_not_equal(find_callout(m->tc, m->tc_len, CO_EMULATE), 0);
	const struct pcrec *m16 = pc_of(tc, 3);
	assert_int_not_equal(find_callout(m16->tc, m16->tc_len, CO_EMULATE), 0);
	/* Without soft_limits nothing of this is emitted. */
	bt_start(TC_DEFAULT, 64);
	tc = bt_get(0x1000);
	assert_int_equal(at(pc_of(tc, 0)->tc)[0], 0x8b);
	assert_false(bt_limit_check_at(pc_of(tc, 0)->tc, &seg));
}

/* sti keeps interrupts off for one more instruction: that one is marked
 * irq_shadow in the PC map. */
static void test_sti_shadow_marks_next_insn(void **state)
{
	(void)state;
	PUT(0x1000, 0xfb, 0x90, 0x90, 0x90);
	put_jmp(0x1004, 0x1000);
	uint32_t tc = bt_get(0x1000);
	struct bt_pc pc;
	assert_true(bt_pc_lookup(tc, &pc));
	assert_false(pc.irq_shadow);
	assert_true(bt_pc_lookup(pc_of(tc, 1)->tc, &pc));
	assert_int_equal(pc.eip, 0x1001);
	assert_true(pc.irq_shadow);
	assert_true(bt_pc_lookup(pc_of(tc, 2)->tc, &pc));
	assert_false(pc.irq_shadow);
	/* and a pending-interrupt check follows somewhere in the TU */
	assert_int_not_equal(find_callout(tc, ccf_at(tc)->tc_len, CO_IRQ_CHECK), 0);
}

/* sti's pending-interrupt check belongs right after the *next*
 * instruction: for the idiom `sti; nop; cli` a check after cli (VIF 0
 * again) would lose the interrupt window. (An earlier bt_translate put it
 * one instruction late: this test caught that.) */
static void test_sti_irq_check_after_next_insn(void **state)
{
	(void)state;
	PUT(0x3000, 0xfb, 0x90, 0xfa);                          /* sti; nop; cli */
	put_jmp(0x3003, 0x3000);
	uint32_t tc = bt_get(0x3000);
	uint32_t nop_tc = pc_of(tc, 1)->tc, cli_tc = pc_of(tc, 2)->tc;
	uint32_t chk = find_callout(tc, ccf_at(tc)->tc_len, CO_IRQ_CHECK);
	assert_int_not_equal(chk, 0);
	/* after the nop, before the cli, resuming at the cli */
	assert_true(chk > nop_tc && chk < cli_tc);
	expect_callout(chk, CO_IRQ_CHECK, 0, 0x3002);
	assert_int_equal(chk + 30 + 7, cli_tc);                 /* then reload %ecx, then cli */
}

/* sti as the last instruction the limit allows: its shadow and check go
 * with the next instruction, which the TU takes one past the limit. */
static void test_sti_at_tu_limit(void **state)
{
	(void)state;
	memset(fx.ram + 0x1000, 0x90, 11);
	PUT(0x100b, 0xfb, 0x90, 0x90, 0x90);                    /* 12th: sti */
	uint32_t tc = bt_get(0x1000);
	struct ccf *c = ccf_at(tc);
	assert_int_equal(c->ninsn, 13);
	struct bt_pc pc;
	assert_true(bt_pc_lookup(pc_of(tc, 12)->tc, &pc));
	assert_int_equal(pc.eip, 0x100c);
	assert_true(pc.irq_shadow);
	uint32_t chk = find_callout(tc, c->tc_len, CO_IRQ_CHECK);
	assert_int_not_equal(chk, 0);
	expect_callout(chk, CO_IRQ_CHECK, 0, 0x100d);
	assert_int_equal(bt.exits[c->exit_first].target_eip, 0x100d);
}

static void test_inline_sreg_store(void **state)
{
	(void)state;
	PUT(0x1000, 0x8c, 0xd8,                                 /* mov %ds,%eax */
	    0x66, 0x8c, 0xdb,                                   /* mov %ds,%bx */
	    0x8c, 0xe1);                                        /* mov %fs,%ecx */
	put_jmp(0x1007, 0x1000);
	uint32_t tc = bt_get(0x1000);
	static const uint8_t want[] = {
		0x65, 0x8b, 0x05, MA_GSEL_DS, 0, 0, 0,           /* mov %gs:MA_GSEL_DS,%eax */
		0x66, 0x65, 0x8b, 0x1d, MA_GSEL_DS, 0, 0, 0,     /* mov %gs:MA_GSEL_DS,%bx */
		0x65, 0x8b, 0x0d, MA_GSEL_FS, 0, 0, 0,           /* mov %gs:MA_GSEL_FS,%ecx */
		0xe9,
	};
	assert_memory_equal(at(tc), want, sizeof(want));
	assert_int_equal(ctr("bt.insn.inline"), 4);

	/* To memory: emulated, and the TU goes on. */
	PUT(0x2000, 0x8c, 0x18, 0x90);                          /* mov %ds,(%eax); nop */
	tc = bt_get(0x2000);
	expect_callout(tc, CO_EMULATE, 2, 0x2000);
	assert_int_equal(at(tc + 30)[0], 0x90);
}

/* push %ds must push the guest-visible selector (not the monitor's real
 * one) and pop %ds must not load a guest selector into the real %ds; pop
 * %ss also opens an interrupt shadow. */
static void test_push_pop_sreg_translation(void **state)
{
	(void)state;
	PUT(0x1000, 0x1e, 0x1f, 0x0e, 0x17, 0x90);               /* push %ds; pop %ds; push %cs; pop %ss; nop */
	put_jmp(0x1005, 0x1000);
	uint32_t tc = bt_get(0x1000);
	static const uint8_t push_ds[] = { 0x65, 0xff, 0x35, MA_GSEL_DS, 0, 0, 0 }; /* push %gs:MA_GSEL_DS */
	static const uint8_t push_cs[] = { 0x65, 0xff, 0x35, MA_GSEL_CS, 0, 0, 0 };
	assert_memory_equal(at(tc), push_ds, sizeof(push_ds));
	/* Segment loads: their own callout, operands in the record (sreg |
	 * pop << 3 | reg << 4 | op16 << 7 | length << 8). */
	expect_callout(tc + 7, CO_SEG_LOAD, SEG_DS | 8 | 1 << 8, 0x1001);
	assert_memory_equal(at(tc + 37), push_cs, sizeof(push_cs));
	expect_callout(tc + 44, CO_SEG_LOAD, SEG_SS | 8 | 1 << 8, 0x1003);
	assert_int_equal(ctr("bt.insn.ident"), 1);              /* only the nop */
	struct bt_pc pc;
	assert_true(bt_pc_lookup(tc + 74, &pc));
	assert_int_equal(pc.eip, 0x1004);
	assert_true(pc.irq_shadow);
}

static void test_gs_cs_prefixed_ident(void **state)
{
	(void)state;
	PUT(0x1000, 0x65, 0x8b, 0x18,                           /* mov %gs:(%eax),%ebx */
	    0x2e, 0x8b, 0x18,                                   /* mov %cs:(%eax),%ebx */
	    0x64, 0x8b, 0x18);                                  /* mov %fs:(%eax),%ebx */
	put_jmp(0x1009, 0x1000);
	uint32_t tc = bt_get(0x1000);
	uint32_t mongs = MON_BASE + MA_MONGS_SEL;
	uint8_t want[] = {
		/* %gs: guest's GS swapped in around the unchanged instruction */
		0x65, 0x8e, 0x2d, MA_GGS_SEL, 0, 0, 0,
		0x65, 0x8b, 0x18,
		0x2e, 0x8e, 0x2d, 0, 0, 0, 0,
		/* %cs: the guest CS's data shadow goes into %gs, prefix becomes 65 */
		0x65, 0x8e, 0x2d, MA_GCS_SEL, 0, 0, 0,
		0x65, 0x8b, 0x18,
		0x2e, 0x8e, 0x2d, 0, 0, 0, 0,
		/* %fs needs nothing */
		0x64, 0x8b, 0x18,
		0xe9,
	};
	memcpy(want + 13, &mongs, 4);
	memcpy(want + 30, &mongs, 4);
	assert_memory_equal(at(tc), want, sizeof(want));
	assert_int_equal(ctr("bt.insn.ident"), 3);
	/* each instruction's PC record covers its whole sequence */
	assert_int_equal(pc_of(tc, 0)->tc_len, 17);
	assert_int_equal(pc_of(tc, 1)->tc_len, 17);
	assert_int_equal(pc_of(tc, 2)->tc_len, 3);
}

/* ------------------------------------------------------------------------
 * Control transfers
 * ------------------------------------------------------------------------ */

static void test_jcc_two_exits(void **state)
{
	(void)state;
	PUT(0x1000, 0x74, 0x10);                                /* je 0x1012 */
	uint32_t tc = bt_get(0x1000);
	assert_int_equal(at(tc)[0], 0x0f);
	assert_int_equal(at(tc)[1], 0x84);                      /* je rel32: same condition */
	assert_int_equal(at(tc + 6)[0], 0xe9);
	uint32_t taken = exit_of(tc + 2), fall = exit_of(tc + 7);
	assert_int_equal(bt.exits[taken].target_eip, 0x1012);
	assert_int_equal(bt.exits[fall].target_eip, 0x1002);
	assert_int_equal(ccf_at(tc)->nexits, 2);
	assert_int_equal(rel_target(tc + 2), tc + 11);          /* stubs follow the code */
	assert_int_equal(rel_target(tc + 7), tc + 11 + STUB_LEN);
	assert_int_equal(ccf_at(tc)->tc_len, 11 + 2 * STUB_LEN);
}

static void test_loop_two_exits(void **state)
{
	(void)state;
	PUT(0x1000, 0x90, 0xe2, 0xfd);                          /* nop; loop 0x1000 */
	uint32_t tc = bt_get(0x1000);
	static const uint8_t want[] = { 0x90, 0xe2, 0x02, 0xeb, 0x05, 0xe9 };
	assert_memory_equal(at(tc), want, sizeof(want));
	assert_int_equal(at(tc + 10)[0], 0xe9);
	assert_int_equal(bt.exits[exit_of(tc + 6)].target_eip, 0x1000);   /* loop taken */
	assert_int_equal(bt.exits[exit_of(tc + 11)].target_eip, 0x1003);  /* counted out */
}

static void test_call_rel_pushes_guest_return(void **state)
{
	(void)state;
	PUT(0x1000, 0xe8, 0xfb, 0x07, 0x00, 0x00);              /* call 0x1800 */
	uint32_t tc = bt_get(0x1000);
	static const uint8_t want[] = { 0x68, 0x05, 0x10, 0x00, 0x00, 0xe9 }; /* push $0x1005 */
	assert_memory_equal(at(tc), want, sizeof(want));
	assert_int_equal(bt.exits[exit_of(tc + 6)].target_eip, 0x1800);
	assert_int_equal(ctr("bt.insn.inline"), 1);
}

/* The inline-cache tail every indirect branch ends with (target in %ecx,
 * guest %ecx in S_ECX), checked against the layout translate.c documents:
 *     lea -pred(%ecx),%ecx; jecxz hit; lea pred(%ecx),%ecx; jmp miss
 *     hit: mov %gs:S_ECX,%ecx; jmp <exit>
 * Returns the exit's index; `tail` is where the tail starts. */
static uint32_t check_ic_tail(uint32_t tail, uint32_t pred)
{
	static const uint8_t lea[] = { 0x8d, 0x89 };             /* lea disp32(%ecx),%ecx */
	static const uint8_t ld_ecx[] = { 0x65, 0x8b, 0x0d, MA_S_ECX, 0, 0, 0 };
	assert_memory_equal(at(tail), lea, 2);
	assert_int_equal(rd32(tail + 2), 0u - pred);
	assert_int_equal(at(tail + 6)[0], 0xe3);                /* jecxz */
	uint32_t hit = tail + 8 + (int8_t)at(tail + 7)[0];
	assert_memory_equal(at(tail + 8), lea, 2);
	assert_int_equal(rd32(tail + 10), pred);
	assert_int_equal(at(tail + 14)[0], 0xe9);               /* jmp miss */
	assert_int_equal(hit, tail + 19);                       /* jecxz skips exactly the miss path */
	assert_memory_equal(at(hit), ld_ecx, sizeof(ld_ecx));
	assert_int_equal(at(hit + 7)[0], 0xe9);
	uint32_t x = exit_by_patch(hit + 8);
	assert_int_equal(bt.exits[x].ic_neg, tail + 2);
	assert_int_equal(bt.exits[x].ic_pos, tail + 10);
	assert_int_equal(bt.exits[x].ic_miss, tail + 15);
	return x;
}

/* Before a site has learned a target, its miss path goes to a learning
 * stub of the same shape, with its own shared tail. */
static void check_learning_stub(uint32_t x)
{
	uint32_t ls = rel_target(bt.exits[x].ic_miss);
	assert_int_equal(ls, bt.exits[x].stub + STUB_LEN);      /* right after the exit stub */
	expect_stub(ls, x, GATE_LEARN);
}

static void test_indirect_branches_inline_cache(void **state)
{
	(void)state;
	PUT(0x1000, 0xff, 0xe0);                                /* jmp *%eax */
	uint32_t tc = bt_get(0x1000);
	static const uint8_t jmp_eax[] = {
		0x65, 0x89, 0x0d, MA_S_ECX, 0, 0, 0,             /* guest %ecx aside */
		0x8b, 0xc8,                                     /* mov %eax,%ecx: the target */
	};
	assert_memory_equal(at(tc), jmp_eax, sizeof(jmp_eax));
	uint32_t x = check_ic_tail(tc + 9, 0);
	check_learning_stub(x);
	assert_int_equal(ccf_at(tc)->nexits, 1);
	assert_int_equal(ccf_at(tc)->ninsn, 1);
	assert_int_equal(bt.exits[x].target_eip, 0);            /* nothing predicted yet */

	PUT(0x2000, 0xff, 0x25, 0x00, 0x30, 0x00, 0x00);        /* jmp *0x3000 */
	tc = bt_get(0x2000);
	static const uint8_t jmp_mem[] = { 0x65, 0x89, 0x0d, MA_S_ECX, 0, 0, 0, 0x8b, 0x0d, 0x00, 0x30, 0x00, 0x00 };
	assert_memory_equal(at(tc), jmp_mem, sizeof(jmp_mem));
	check_learning_stub(check_ic_tail(tc + 13, 0));

	PUT(0x3000, 0xc3);                                      /* ret */
	tc = bt_get(0x3000);
	static const uint8_t ret[] = { 0x65, 0x89, 0x0d, MA_S_ECX, 0, 0, 0, 0x59 }; /* pop %ecx */
	assert_memory_equal(at(tc), ret, sizeof(ret));
	check_ic_tail(tc + 8, 0);

	PUT(0x4000, 0xc2, 0x08, 0x00);                          /* ret $8 */
	tc = bt_get(0x4000);
	static const uint8_t ret8[] = {
		0x65, 0x89, 0x0d, MA_S_ECX, 0, 0, 0, 0x59,
		0x8d, 0xa4, 0x24, 0x08, 0x00, 0x00, 0x00,       /* lea 8(%esp),%esp */
	};
	assert_memory_equal(at(tc), ret8, sizeof(ret8));
	check_ic_tail(tc + 15, 0);

	PUT(0x5000, 0xff, 0xd3);                                /* call *%ebx */
	tc = bt_get(0x5000);
	static const uint8_t call_ebx[] = {
		0x65, 0x89, 0x0d, MA_S_ECX, 0, 0, 0, 0x8b, 0xcb,
		0x68, 0x02, 0x50, 0x00, 0x00,                   /* push $0x5002 */
	};
	assert_memory_equal(at(tc), call_ebx, sizeof(call_ebx));
	check_ic_tail(tc + 14, 0);
	assert_int_equal(ctr("bt.insn.inline"), 5);

	/* Far and 16-bit forms go to the emulator and end the TU. */
	PUT(0x6000, 0xea, 0x00, 0x10, 0x00, 0x00, 0x10, 0x00);  /* ljmp $0x10,$0x1000 */
	tc = bt_get(0x6000);
	expect_callout(tc, CO_EMULATE, 7 | CO_END, 0x6000);
	assert_int_equal(ccf_at(tc)->tc_len, 30);
	PUT(0x7000, 0x66, 0xff, 0xe0);                          /* jmp *%ax */
	tc = bt_get(0x7000);
	expect_callout(tc, CO_EMULATE, 3 | CO_END, 0x7000);
	assert_int_equal(ctr("bt.insn.callout"), 2);
}

/* A site's first target is learned: predicted in both lea displacements,
 * the hit path chained to its CCF, later misses sent to the shared IBL. */
static void test_ic_learn(void **state)
{
	(void)state;
	PUT(0x1000, 0xff, 0xe0);                                /* jmp *%eax */
	PUT(0x3000, 0x90, 0x90);
	uint32_t tc = bt_get(0x1000);
	uint32_t x = check_ic_tail(tc + 9, 0);
	uint32_t exit_stub = rel_target(bt.exits[x].patch);

	uint32_t t3 = bt_ic_learn(x, 0x3000);
	assert_int_equal(t3, bt_get(0x3000));
	check_ic_tail(tc + 9, 0x3000);                          /* predicts 0x3000 now */
	assert_int_equal(rel_target(bt.exits[x].ic_miss), GATE_IBL);
	assert_int_equal(rel_target(bt.exits[x].patch), t3);    /* hit path chained */
	assert_int_equal(bt.exits[x].target_eip, 0x3000);
	assert_int_equal(ctr("bt.ic.learned"), 1);
	assert_int_equal(ctr("bt.chain.patched"), 1);
	assert_int_equal(ctr("bt.ibl.miss"), 1);                /* the target also went into the IBL */
	assert_int_equal(ibl_entry(0x3000)->tc, t3);

	/* The predicted target is rewritten: the hit path goes back to the
	 * exit stub, which retranslates and rechains; the prediction stays. */
	assert_true(bt_notify_write(0x3000, 1));
	assert_int_equal(rel_target(bt.exits[x].patch), exit_stub);
	uint32_t target = 0;
	uint32_t t3b = bt_exit_taken(x, &target);
	assert_int_equal(target, 0x3000);
	assert_int_equal(rel_target(bt.exits[x].patch), t3b);
	check_ic_tail(tc + 9, 0x3000);

	/* Not an inline-cache exit, index 0, unfetchable target: no patching. */
	put_jmp(0x2000, 0x3000);
	uint32_t d = bt_get(0x2000);
	uint32_t dx = exit_of(d + 1);
	uint32_t before = rd32(d + 1);
	assert_int_not_equal(bt_ic_learn(dx, 0x3000), 0);
	assert_int_equal(rd32(d + 1), before);
	assert_int_equal(bt.exits[dx].target_eip, 0x3000);
	assert_int_equal(bt_ic_learn(0, 0x3000), 0);
	PUT(0x5000, 0xff, 0xe0);
	uint32_t s5 = bt_get(0x5000);
	uint32_t x5 = check_ic_tail(s5 + 9, 0);
	assert_int_equal(bt_ic_learn(x5, RAM_SIZE + 0x10), 0);
	check_ic_tail(s5 + 9, 0);
	check_learning_stub(x5);
	assert_int_equal(ctr("bt.ic.learned"), 1);

	/* A dead site is not patched (a CPU may still be leaving it). */
	assert_true(bt_notify_write(0x5000, 1));
	assert_int_not_equal(bt_ic_learn(x5, 0x3000), 0);
	check_ic_tail(s5 + 9, 0);
	assert_int_equal(ctr("bt.ic.learned"), 1);
}

/* Regression: an unlearned site predicts 0, so a first jump to EIP 0 takes
 * the hit path and chains it to EIP 0's CCF. Learning a real target later
 * must undo that chain, or jumps to the new target would run EIP 0's code. */
static void test_ic_relearn_after_chain_to_eip0(void **state)
{
	(void)state;
	PUT(0x0000, 0x90, 0x90);                                /* code at EIP 0 (paging off: RAM) */
	PUT(0x1000, 0xff, 0xe0);                                /* jmp *%eax */
	PUT(0x3000, 0x90, 0x90);
	uint32_t tc = bt_get(0x1000);
	uint32_t x = check_ic_tail(tc + 9, 0);
	uint32_t target = 1;
	uint32_t t0 = bt_exit_taken(x, &target);                /* %eax was 0: hit path, exit stub */
	assert_int_equal(target, 0);
	assert_int_equal(rel_target(bt.exits[x].patch), t0);
	uint32_t t3 = bt_ic_learn(x, 0x3000);                   /* then %eax = 0x3000 missed */
	check_ic_tail(tc + 9, 0x3000);
	/* A hit now means %eax == 0x3000: it must land on 0x3000's code. */
	assert_int_equal(rel_target(bt.exits[x].patch), t3);
}

/* ------------------------------------------------------------------------
 * 4. Callouts
 * ------------------------------------------------------------------------ */

static void test_callout_port_io(void **state)
{
	(void)state;
	PUT(0x1000, 0xe6, 0x80,                                 /* out %al,$0x80 */
	    0xec,                                               /* in (%dx),%al */
	    0xed,                                               /* in (%dx),%eax */
	    0x66, 0xe5, 0x60);                                  /* in $0x60,%ax */
	put_jmp(0x1007, 0x1000);
	uint32_t tc = bt_get(0x1000);
	/* aux = size | 8 (port in DX) | length << 4 | imm port << 8, as
	 * vmm/callouts.c decodes it; arg = guest EIP of the instruction. */
	expect_callout(tc, CO_OUT, 1 | 2 << 4 | 0x80 << 8, 0x1000);
	expect_callout(tc + 30, CO_IN, 1 | 8 | 1 << 4, 0x1002);
	expect_callout(tc + 60, CO_IN, 4 | 8 | 1 << 4, 0x1003);
	expect_callout(tc + 90, CO_IN, 2 | 3 << 4 | 0x60 << 8, 0x1004);
	assert_int_equal(at(tc + 120)[0], 0xe9);                /* port I/O does not end the TU */
	assert_int_equal(ctr("bt.insn.callout"), 4);
	assert_int_equal(ctr("bt.insn.inline"), 1);
	/* Each callout is a precise boundary for its instruction. */
	struct bt_pc pc;
	assert_true(bt_pc_lookup(tc + 90, &pc));
	assert_int_equal(pc.eip, 0x1004);
	assert_true(pc.boundary);
}

static void test_callout_string_io_and_hlt(void **state)
{
	(void)state;
	PUT(0x1000, 0x6c,                                       /* insb */
	    0xf3, 0x6f,                                         /* rep outsl */
	    0xf4,                                               /* hlt */
	    0x90);
	put_jmp(0x1005, 0x1000);
	uint32_t tc = bt_get(0x1000);
	expect_callout(tc, CO_INS, 1, 0x1000);                  /* aux = length */
	expect_callout(tc + 30, CO_OUTS, 2, 0x1001);
	expect_callout(tc + 60, CO_HLT, 1, 0x1003);
	assert_int_equal(at(tc + 90)[0], 0x90);                 /* hlt does not end the TU */
	assert_int_equal(ccf_at(tc)->ninsn, 5);
}

static void test_callout_int_ends_tu(void **state)
{
	(void)state;
	PUT(0x1000, 0xcd, 0x21, 0x90);                          /* int $0x21; nop */
	uint32_t tc = bt_get(0x1000);
	/* aux: vector, length << 8, kind (0 int n, 1 int3, 2 into, 3 int1) << 12 */
	expect_callout(tc, CO_INT, 0x21 | 2 << 8, 0x1000);
	assert_int_equal(rd16(tc + 24) & 0xff, 0x21);
	struct ccf *c = ccf_at(tc);
	assert_int_equal(c->ninsn, 1);                          /* the nop is not in it */
	assert_int_equal(c->nexits, 0);
	assert_int_equal(c->tc_len, 30);

	PUT(0x2000, 0xcc);
	expect_callout(bt_get(0x2000), CO_INT, 3 | 1 << 8 | 1 << 12, 0x2000);
	PUT(0x3000, 0xce);
	expect_callout(bt_get(0x3000), CO_INT, 4 | 1 << 8 | 2 << 12, 0x3000);
	PUT(0x4000, 0xf1);
	expect_callout(bt_get(0x4000), CO_INT, 1 | 1 << 8 | 3 << 12, 0x4000);

	PUT(0x5000, 0xcf, 0x90);                                /* iret */
	tc = bt_get(0x5000);
	expect_callout(tc, CO_IRET, 1, 0x5000);
	assert_int_equal(ccf_at(tc)->ninsn, 1);
	assert_int_equal(ccf_at(tc)->tc_len, 30);
	PUT(0x6000, 0x66, 0xcf, 0x90);                          /* iretw */
	expect_callout(bt_get(0x6000), CO_IRET, 2 | 0x100, 0x6000);
	assert_int_equal(ctr("bt.insn.callout"), 6);
}

static void test_callout_emulate_and_ud(void **state)
{
	(void)state;
	PUT(0x1000, 0x0f, 0xa2,                                 /* cpuid */
	    0x0f, 0x01, 0x15, 0x00, 0x20, 0x00, 0x00,           /* lgdt 0x2000 */
	    0x0f, 0x22, 0xc0,                                   /* mov %eax,%cr0 */
	    0x90);
	uint32_t tc = bt_get(0x1000);
	expect_callout(tc, CO_EMULATE, 2, 0x1000);              /* continues */
	expect_callout(tc + 30, CO_EMULATE, 7, 0x1002);
	expect_callout(tc + 60, CO_EMULATE, 3 | CO_END, 0x1009); /* may switch modes: ends */
	assert_int_equal(ccf_at(tc)->ninsn, 3);
	assert_int_equal(ccf_at(tc)->nexits, 0);

	PUT(0x2000, 0x90, 0x0f, 0x0b, 0x90);                    /* nop; ud2 */
	tc = bt_get(0x2000);
	expect_callout(tc + 1, CO_UD, 2, 0x2001);
	assert_int_equal(ccf_at(tc)->ninsn, 2);
	assert_int_equal(ccf_at(tc)->tc_len, 31);

	PUT(0x3000, 0xff, 0xff);                                /* undefined */
	tc = bt_get(0x3000);
	expect_callout(tc, CO_UD, 1, 0x3000);

	/* mov %eax,%ss: a segment-load callout, and the next instruction is in
	 * its shadow; a load from memory is emulated whole. */
	PUT(0x4000, 0x8e, 0xd0, 0x90, 0x90);
	put_jmp(0x4004, 0x4000);
	tc = bt_get(0x4000);
	expect_callout(tc, CO_SEG_LOAD, SEG_SS | 0 << 4 | 2 << 8, 0x4000);
	PUT(0x5000, 0x8e, 0x1b, 0x90);                          /* mov (%ebx),%ds */
	expect_callout(bt_get(0x5000), CO_EMULATE, 2, 0x5000);
	PUT(0x5100, 0x8e, 0xdb, 0x90);                          /* mov %ebx,%ds */
	expect_callout(bt_get(0x5100), CO_SEG_LOAD, SEG_DS | 3 << 4 | 2 << 8, 0x5100);
	struct bt_pc pc;
	assert_true(bt_pc_lookup(tc + 30, &pc));
	assert_int_equal(pc.eip, 0x4002);
	assert_true(pc.irq_shadow);
	assert_true(bt_pc_lookup(tc + 31, &pc));
	assert_false(pc.irq_shadow);
}

/* With a 0x66 prefix a relative branch clears the upper half of EIP:
 * target = (next + rel) & 0xffff. (An earlier translator recorded next +
 * rel for jcc and the loops: this test caught that.) */
static void test_branch_opsize16_target(void **state)
{
	(void)state;
	PUT(0x10000, 0x66, 0x74, 0x05);                         /* jew +5 */
	uint32_t tc = bt_get(0x10000);
	struct ccf *c = ccf_at(tc);
	assert_int_equal(c->nexits, 2);
	assert_int_equal(bt.exits[c->exit_first].target_eip, 0x0008);
	assert_int_equal(bt.exits[c->exit_first + 1].target_eip, 0x10003); /* not taken: no wrap */

	PUT(0x20000, 0x66, 0xe2, 0xfd);                         /* loopw: to (0x20003 - 3) & 0xffff */
	tc = bt_get(0x20000);
	c = ccf_at(tc);
	assert_int_equal(bt.exits[c->exit_first].target_eip, 0x0000);
	/* the loop itself is emitted without 0x66 (it would truncate the TC jump) */
	static const uint8_t loop[] = { 0xe2, 0x02, 0xeb, 0x05, 0xe9 };
	assert_memory_equal(at(tc), loop, sizeof(loop));

	PUT(0x30000, 0x66, 0xe9, 0x10, 0x00);                   /* jmpw +0x10 */
	tc = bt_get(0x30000);
	c = ccf_at(tc);
	assert_int_equal(c->nexits, 1);
	assert_int_equal(bt.exits[c->exit_first].target_eip, 0x0014);
}

/* ------------------------------------------------------------------------
 * 5. Lookup
 * ------------------------------------------------------------------------ */

static void test_lookup_hash(void **state)
{
	(void)state;
	memset(fx.ram + 0x1000, 0x90, 8);
	uint32_t a = bt_get(0x1000);
	assert_int_not_equal(a, 0);
	assert_int_equal(ctr("bt.lookup.miss"), 1);
	assert_int_equal(ctr("bt.lookup.hit"), 0);
	assert_int_equal(bt_get(0x1000), a);
	assert_int_equal(ctr("bt.lookup.hit"), 1);
	assert_int_equal(ctr("bt.tu.translated"), 1);

	/* Another entry point into the same bytes is its own CCF. */
	uint32_t b = bt_get(0x1004);
	assert_int_not_equal(b, a);
	assert_int_equal(ccf_at(b)->eip, 0x1004);
	assert_int_equal(ctr("bt.lookup.miss"), 2);
	assert_int_equal(bt_get(0x1004), b);
	assert_int_equal(bt_get(0x1000), a);
	assert_int_equal(ctr("bt.lookup.hit"), 3);
	assert_int_equal(ctr("bt.tu.translated"), 2);

	/* The key includes CPL and CS base. */
	struct bt_mode user = { .cs_base = 0, .cpl = 3 };
	bt_set_mode(&user);
	uint32_t u = bt_get(0x1000);
	assert_int_not_equal(u, a);
	assert_int_equal(ccf_at(u)->cpl, 3);
	struct bt_mode flat = { .cs_base = 0, .cpl = 0 };
	bt_set_mode(&flat);
	assert_int_equal(bt_get(0x1000), a);

	/* With a CS base, EIP 0x1000 is fetched from linear 0x3000. */
	PUT(0x3000, 0xb8, 0x33, 0x33, 0x33, 0x33, 0xcc);
	struct bt_mode based = { .cs_base = 0x2000, .cpl = 0 };
	bt_set_mode(&based);
	uint32_t c = bt_get(0x1000);
	assert_int_not_equal(c, a);
	assert_int_equal(at(c)[0], 0xb8);
	assert_int_equal(ccf_at(c)->lin, 0x3000);
	assert_int_equal(ccf_at(c)->eip, 0x1000);
	assert_true(fx.traced[3]);

	/* Nothing to fetch: 0, and nothing translated. */
	uint64_t n = ctr("bt.tu.translated");
	bt_set_mode(&flat);
	assert_int_equal(bt_get(RAM_SIZE + 0x100), 0);
	assert_int_equal(ctr("bt.tu.translated"), n);
}

/* ------------------------------------------------------------------------
 * 6. Chaining
 * ------------------------------------------------------------------------ */

static void test_chain_and_unchain(void **state)
{
	(void)state;
	PUT(0x1000, 0x90);
	put_jmp(0x1001, 0x2000);
	PUT(0x2000, 0x90, 0x90);
	put_jmp(0x2002, 0x1000);

	uint32_t a = bt_get(0x1000);
	uint32_t rel = a + 2;
	uint32_t stub = rel_target(rel);
	uint32_t x = exit_of(rel);
	uint32_t target = 0;
	uint32_t b = bt_exit_taken(x, &target);
	assert_int_equal(target, 0x2000);
	assert_int_equal(b, bt_get(0x2000));
	assert_int_equal(rel_target(rel), b);                   /* chained straight to B */
	assert_int_equal(ctr("bt.chain.patched"), 1);
	assert_int_equal(ctr("bt.exits"), 1);
	assert_int_equal(bt.exits[x].to, (uint32_t)(ccf_at(b) - bt.ccfs));

	/* Taking it again (racing CPUs, a replayed callout): no second patch. */
	assert_int_equal(bt_exit_taken(x, &target), b);
	assert_int_equal(ctr("bt.chain.patched"), 1);

	/* B's page is written: B dies, A's jump goes back to its stub. */
	uint64_t miss = ctr("bt.lookup.miss");
	assert_true(bt_notify_write(0x2001, 1));
	assert_int_equal(rel_target(rel), stub);
	assert_int_equal(ctr("bt.chain.unpatched"), 1);
	assert_int_equal(ctr("bt.invalidate.smc"), 1);
	assert_true(ccf_at(b)->dead);
	assert_false(ccf_at(a)->dead);
	assert_int_equal(bt_get(0x1000), a);                    /* A is untouched */

	uint32_t b2 = bt_get(0x2000);                           /* retranslated */
	assert_int_not_equal(b2, b);
	assert_int_equal(ctr("bt.lookup.miss"), miss + 1);
	assert_int_equal(bt_exit_taken(x, &target), b2);
	assert_int_equal(rel_target(rel), b2);                  /* rechained to the new copy */
	assert_int_equal(ctr("bt.chain.patched"), 2);
	check_trace_consistent();
}

/* Which fake linear pages are global (for bt_env.page_global). */
static uint32_t global_page = 0xffffffffu;
static bool fake_page_global(void *ctx, uint32_t lin)
{
	(void)ctx;
	return (lin >> 12) == global_page;
}

static struct ibl_ent *ibl(void);

/* Pages 3 and 4 global. */
static bool fake_page_global_pair(void *ctx, uint32_t lin)
{
	(void)ctx;
	return (lin >> 12) == 3 || (lin >> 12) == 4;
}

/* Chains across pages: a CR3 load keeps those into global pages, an
 * INVLPG drops only those into its page, anything else drops them all. */
static void test_remap_keeps_what_it_can(void **state)
{
	(void)state;
	bt.env.page_global = fake_page_global;
	global_page = 0x3;
	PUT(0x1000, 0x90);
	put_jmp(0x1001, 0x3000);                                 /* into the global page */
	PUT(0x2000, 0x90);
	put_jmp(0x2001, 0x4000);                                 /* into an ordinary one */
	PUT(0x3000, 0x90, 0xf4);
	PUT(0x4000, 0x90, 0xf4);
	uint32_t a = bt_get(0x1000), b = bt_get(0x2000), t;
	uint32_t xa = exit_of(a + 2), xb = exit_of(b + 2);
	uint32_t sa = rel_target(a + 2), sb = rel_target(b + 2);
	uint32_t ta = bt_exit_taken(xa, &t), tb = bt_exit_taken(xb, &t);
	assert_int_equal(rel_target(a + 2), ta);
	assert_int_equal(rel_target(b + 2), tb);

	bt_mapping_changed_cr3();
	assert_int_equal(rel_target(a + 2), ta);                 /* kept */
	assert_int_equal(rel_target(b + 2), sb);                 /* dropped */
	assert_int_equal(ctr("bt.chain.unpatched_remap"), 1);

	bt_exit_taken(xb, &t);
	bt_mapping_changed_page(0x3abc);                         /* only the global page's chain */
	assert_int_equal(rel_target(a + 2), sa);
	assert_int_equal(rel_target(b + 2), tb);
	assert_int_equal(ctr("bt.chain.unpatched_remap"), 2);

	bt_exit_taken(xa, &t);
	bt_mapping_changed();
	assert_int_equal(rel_target(a + 2), sa);
	assert_int_equal(rel_target(b + 2), sb);
	assert_int_equal(ctr("bt.chain.unpatched_remap"), 4);

	/* The IBL table likewise: entries into global pages stay across a CR3
	 * load (the page after must be global too: a block may cross). */
	global_page = 0x3;
	uint32_t g = bt_ibl_miss(0x3000), o = bt_ibl_miss(0x4000);
	bt_mapping_changed_cr3();
	assert_int_equal(ibl()[0x4000].tc, GATE_IBL_MISS);
	assert_int_equal(ibl()[0x3000].tc, GATE_IBL_MISS);      /* page 4 is not global */
	bt.env.page_global = fake_page_global_pair;
	g = bt_ibl_miss(0x3000);
	o = bt_ibl_miss(0x4000);
	bt_mapping_changed_cr3();
	assert_int_equal(ibl()[0x3000].tc, g);
	assert_int_equal(ibl()[0x4000].tc, GATE_IBL_MISS);
	o = bt_ibl_miss(0x4000);
	uint32_t q = bt_ibl_miss(0x1000);
	/* INVLPG: the entries into that page go (and, as a block there may
	 * have crossed, into the page before), the rest stay. */
	bt_mapping_changed_page(0x4fff);
	assert_int_equal(ibl()[0x4000].tc, GATE_IBL_MISS);
	assert_int_equal(ibl()[0x3000].tc, GATE_IBL_MISS);
	assert_int_equal(ibl()[0x1000].tc, q);
	(void)o; (void)g;
	bt.env.page_global = 0;
}

static void test_chain_self_loop(void **state)
{
	(void)state;
	PUT(0x5000, 0x90, 0xeb, 0xfd);                          /* 1: nop; jmp 1b */
	uint32_t a = bt_get(0x5000);
	uint32_t stub = rel_target(a + 2);
	uint32_t x = exit_of(a + 2), target;
	assert_int_equal(bt_exit_taken(x, &target), a);
	assert_int_equal(target, 0x5000);
	assert_int_equal(rel_target(a + 2), a);
	assert_true(bt_notify_write(0x5000, 1));
	assert_int_equal(rel_target(a + 2), stub);
	assert_int_equal(ctr("bt.chain.unpatched"), 1);
}

static void test_chain_refused_for_dead_owner(void **state)
{
	(void)state;
	PUT(0x1000, 0x90);
	put_jmp(0x1001, 0x2000);
	PUT(0x2000, 0x90);
	uint32_t a = bt_get(0x1000);
	uint32_t stub = rel_target(a + 2);
	uint32_t x = exit_of(a + 2), target;
	assert_true(bt_notify_write(0x1000, 1));                /* A dies before its exit runs */
	uint32_t b = bt_exit_taken(x, &target);
	assert_int_not_equal(b, 0);                             /* the target still gets translated */
	assert_int_equal(rel_target(a + 2), stub);              /* but dead code is not patched */
	assert_int_equal(ctr("bt.chain.patched"), 0);
}

static void test_exit_taken_edge_cases(void **state)
{
	(void)state;
	uint32_t target = 0x1234;
	assert_int_equal(bt_exit_taken(0, &target), 0);         /* index 0 is "none" */
	assert_int_equal(bt_exit_taken(1, &target), 0);         /* none allocated yet */
	assert_int_equal(ctr("bt.chain.patched"), 0);

	put_jmp(0x1000, RAM_SIZE + 0x1000);                     /* to nowhere */
	uint32_t a = bt_get(0x1000);
	uint32_t stub = rel_target(a + 1);
	uint32_t x = exit_of(a + 1);
	assert_int_equal(bt_exit_taken(x, &target), 0);
	assert_int_equal(target, RAM_SIZE + 0x1000);
	assert_int_equal(rel_target(a + 1), stub);
	assert_int_equal(bt_exit_taken(x + 1, &target), 0);     /* past the last exit */
}

/* A translation that flushes the TC makes the exit being taken vanish; it
 * must not be patched (its bytes are gone), only the new address returned. */
static void test_exit_taken_across_flush(void **state)
{
	(void)state;
	for (uint32_t i = 0; i < 512; i++)
		PUT(0x4000 + i * 16, 0x90);                     /* nop; int3 blocks */
	PUT(0x1000, 0x90);
	put_jmp(0x1001, 0x2000);
	PUT(0x2000, 0x90);

	/* Dry run: how many filler blocks fit after A before a flush. */
	bt_start(8192, 0);
	bt_get(0x1000);
	uint64_t e0 = bt_flush_epoch();
	uint32_t fit = 0;
	while (bt_flush_epoch() == e0) {
		bt_get(0x4000 + fit * 16);
		fit++;
	}
	fit--;
	/* Now fill exactly that much: the next translation flushes. */
	bt_start(8192, 0);
	uint32_t a = bt_get(0x1000);
	for (uint32_t i = 0; i < fit; i++)
		bt_get(0x4000 + i * 16);
	uint32_t x = exit_of(a + 2), target;
	e0 = bt_flush_epoch();
	uint32_t b = bt_exit_taken(x, &target);
	assert_int_equal(bt_flush_epoch(), e0 + 1);
	assert_int_equal(target, 0x2000);
	assert_int_equal(b, lin32(fx.tc));                      /* first CCF after the flush */
	assert_int_equal(bt_get(0x2000), b);
	assert_int_equal(ctr("bt.chain.patched"), 0);
	assert_int_equal(ctr("bt.tc.flushes"), 1);
}

/* ------------------------------------------------------------------------
 * 7. PC map
 * ------------------------------------------------------------------------ */

static void test_pc_lookup_block(void **state)
{
	(void)state;
	PUT(0x1000, 0x90,                                       /* +0  nop          tc +0  (1)  */
	    0xb8, 0x05, 0x00, 0x00, 0x00,                       /* +1  mov $5,%eax  tc +1  (5)  */
	    0xfa,                                               /* +6  cli          tc +6  (11) */
	    0x01, 0xd9);                                        /* +7  add          tc +17 (2)  */
	put_jmp(0x1009, 0x3000);                                /* +9  jmp          tc +19 (5)  */
	uint32_t tc = bt_get(0x1000);
	static const uint32_t off[] = { 0, 1, 6, 17, 19 };
	static const uint32_t eip[] = { 0x1000, 0x1001, 0x1006, 0x1007, 0x1009 };
	struct bt_pc pc;
	for (unsigned i = 0; i < 5; i++) {
		/* stale values that each lookup must overwrite */
		pc = (struct bt_pc){ .eip = 0xdeadbeef, .dead = true, .irq_shadow = true, .ecx_in_scratch = true };
		assert_true(bt_pc_lookup(tc + off[i], &pc));
		assert_int_equal(pc.eip, eip[i]);
		assert_int_equal(pc.insn_tc, tc + off[i]);
		assert_true(pc.boundary);
		assert_false(pc.dead);
		assert_false(pc.irq_shadow);
		assert_false(pc.ecx_in_scratch);
	}
	assert_true(bt_pc_lookup(tc + 3, &pc));                 /* inside the mov */
	assert_int_equal(pc.eip, 0x1001);
	assert_int_equal(pc.insn_tc, tc + 1);
	assert_false(pc.boundary);
	assert_true(bt_pc_lookup(tc + 16, &pc));                /* last byte of the cli */
	assert_int_equal(pc.eip, 0x1006);
	assert_false(pc.boundary);
	assert_true(bt_pc_lookup(tc + 23, &pc));                /* last byte of the jmp */
	assert_int_equal(pc.eip, 0x1009);

	/* The exit stub is no guest instruction; neither is anything past the CCF. */
	assert_false(bt_pc_lookup(tc + 24, &pc));
	assert_false(bt_pc_lookup(tc + 24 + STUB_LEN - 1, &pc));
	assert_false(bt_pc_lookup(tc + 24 + STUB_LEN, &pc));    /* alignment padding */
	assert_false(bt_pc_lookup(tc - 1, &pc));
	assert_false(bt_in_tc(tc - 1));
	assert_false(bt_pc_lookup(tc + 4096, &pc));             /* TC not used yet */

	/* A second CCF: its addresses map to it, not to the first. */
	PUT(0x3000, 0x90, 0x90);
	uint32_t tc2 = bt_get(0x3000);
	assert_true(tc2 > tc);
	assert_true(bt_pc_lookup(tc2 + 1, &pc));
	assert_int_equal(pc.eip, 0x3001);
	assert_true(bt_pc_lookup(tc + 1, &pc));
	assert_int_equal(pc.eip, 0x1001);

	/* Invalidated: still mapped (a CPU may be inside it), but dead. */
	bt_notify_write(0x1000, 1);
	assert_true(bt_pc_lookup(tc + 1, &pc));
	assert_int_equal(pc.eip, 0x1001);
	assert_true(pc.dead);
	assert_true(bt_pc_lookup(tc2 + 1, &pc));
	assert_false(pc.dead);
}

static void test_pc_lookup_indirect_call_ecx(void **state)
{
	(void)state;
	PUT(0x1000, 0xff, 0x13);                                /* call *(%ebx) */
	uint32_t tc = bt_get(0x1000);
	static const uint8_t want[] = {
		0x65, 0x89, 0x0d, MA_S_ECX, 0, 0, 0,             /* +0  mov %ecx,%gs:S_ECX */
		0x8b, 0x0b,                                     /* +7  mov (%ebx),%ecx: may fault */
		0x68, 0x02, 0x10, 0x00, 0x00,                   /* +9  push $0x1002: may fault */
	};
	assert_memory_equal(at(tc), want, sizeof(want));
	check_ic_tail(tc + 14, 0);                              /* +14 .. +45 */
	uint32_t end = pc_of(tc, 0)->tc + pc_of(tc, 0)->tc_len;
	assert_int_equal(end, tc + 45);
	struct bt_pc pc;
	/* Until the load has run, %ecx is still the guest's. */
	for (uint32_t o = 0; o < 9; o++) {
		assert_true(bt_pc_lookup(tc + o, &pc));
		assert_int_equal(pc.eip, 0x1000);
		assert_false(pc.ecx_in_scratch);
		assert_int_equal(pc.boundary, o == 0);
	}
	/* After it, %ecx holds the target and the guest's is in S_ECX: a
	 * fault in the push must put it back before reflecting. */
	for (uint32_t o = 9; o < 45; o++) {
		assert_true(bt_pc_lookup(tc + o, &pc));
		assert_int_equal(pc.eip, 0x1000);
		assert_int_equal(pc.insn_tc, tc);
		assert_true(pc.ecx_in_scratch);
		assert_false(pc.boundary);
	}
	assert_false(bt_pc_lookup(tc + 45, &pc));               /* the exit stub */

	/* A plain instruction never reports ecx_in_scratch. */
	PUT(0x2000, 0x90);
	assert_true(bt_pc_lookup(bt_get(0x2000), &pc));
	assert_false(pc.ecx_in_scratch);
}

/* ------------------------------------------------------------------------
 * 8. Self-modifying code
 * ------------------------------------------------------------------------ */

static void test_smc_notify_write(void **state)
{
	(void)state;
	PUT(0x1000, 0x90, 0x90);
	PUT(0x1800, 0x90);
	uint32_t a = bt_get(0x1000), b = bt_get(0x1800);
	assert_true(fx.traced[1]);
	assert_true(bt_page_traced(1));
	assert_int_equal(fx.trace_on, 1);                       /* one page, protected once */
	assert_int_equal(ctr("bt.pages.traced"), 1);

	assert_false(bt_notify_write(0x5000, 4));               /* no translations there */
	assert_false(bt_notify_write(0x1000, 0));               /* empty write */
	assert_int_equal(fx.trace_off, 0);
	assert_false(ccf_at(a)->dead);

	/* Only the bytes a CCF was built from count: data next to code on the
	 * same page leaves the code's translations alone. a = 0x1000..0x1002
	 * (nop nop int3), b = 0x1800..0x1801 (nop int3). */
	assert_true(bt_notify_write(0x1ffc, 4));                /* the page, but no code */
	assert_false(ccf_at(a)->dead);
	assert_false(ccf_at(b)->dead);
	assert_true(fx.traced[1]);
	assert_true(bt_notify_write(0x1003, 1));                /* just past a */
	assert_false(ccf_at(a)->dead);
	assert_true(bt_notify_write(0x1002, 1));                /* a's last byte */
	assert_true(ccf_at(a)->dead);
	assert_false(ccf_at(b)->dead);
	assert_true(fx.traced[1]);                              /* b still lives there */
	assert_int_equal(fx.trace_off, 0);
	assert_true(bt_notify_write(0x17ff, 2));                /* overlaps b's first byte */
	assert_true(ccf_at(b)->dead);
	assert_false(fx.traced[1]);
	assert_int_equal(fx.trace_off, 1);
	assert_false(bt_page_traced(1));
	assert_int_equal(ctr("bt.invalidate.smc"), 2);
	assert_false(bt_notify_write(0x1000, 4));               /* nothing left to hit */
	assert_int_equal(fx.trace_off, 1);

	/* Retranslation protects the page again. */
	uint32_t a2 = bt_get(0x1000);
	assert_int_not_equal(a2, a);
	assert_true(fx.traced[1]);
	assert_false(bt_notify_write(RAM_SIZE + 0x1000, 16));   /* beyond RAM: ignored */
	check_trace_consistent();
}

static void test_smc_write_spanning_pages(void **state)
{
	(void)state;
	PUT(0x1000, 0x90);
	PUT(0x2000, 0x90);
	PUT(0x3000, 0x90);
	uint32_t a = bt_get(0x1000), b = bt_get(0x2000), c = bt_get(0x3000);
	assert_true(bt_notify_write(0x1ffe, 4));                /* 0x1ffe..0x2001: b's bytes */
	assert_false(ccf_at(a)->dead);                          /* a is 0x1000..0x1001 */
	assert_true(ccf_at(b)->dead);
	assert_false(ccf_at(c)->dead);
	assert_true(fx.traced[1]);
	assert_false(fx.traced[2]);
	assert_true(fx.traced[3]);
	assert_int_equal(bt_get(0x3000), c);
	assert_true(bt_notify_write(0x1001, 0x1000));           /* a's last byte .. 0x2000 */
	assert_true(ccf_at(a)->dead);
	assert_false(fx.traced[1]);
	/* A large write over all three. */
	bt_get(0x1000);
	assert_true(bt_notify_write(0x0800, 0x3000));
	assert_true(ccf_at(c)->dead);
	for (uint32_t p = 0; p < RAM_PAGES; p++)
		assert_false(fx.traced[p]);
	check_trace_consistent();
}

/* A CCF whose code spans a page boundary lives on both pages. */
static void check_ccf_across_pages(void)
{
	/* (a) instructions on both pages */
	memset(fx.ram + 0x1ffc, 0x90, 6);                       /* 4 nops on page 1, 2 on page 2 */
	uint32_t a = bt_get(0x1ffc);
	assert_true(fx.traced[1] && fx.traced[2]);
	assert_true(bt_notify_write(0x2005, 1));                /* page 2, past the code */
	assert_false(ccf_at(a)->dead);
	assert_true(bt_notify_write(0x2001, 1));                /* page 2, its last nop */
	assert_true(ccf_at(a)->dead);
	uint32_t a2 = bt_get(0x1ffc);
	assert_true(bt_notify_write(0x1ffd, 1));                /* page 1 only */
	assert_true(ccf_at(a2)->dead);

	/* (b) one instruction straddling the boundary, ending the TU: a jmp
	 * whose rel32 lies on the next page. Rewriting the displacement must
	 * invalidate the translation. */
	put_jmp(0x3ffe, 0x1000);                                /* bytes 0x3ffe..0x4002 */
	uint32_t j = bt_get(0x3ffe);
	assert_int_equal(ccf_at(j)->ninsn, 1);
	assert_true(fx.traced[3]);
	assert_true(fx.traced[4]);
	assert_true(bt_notify_write(0x4001, 1));
	assert_true(ccf_at(j)->dead);
	check_trace_consistent();
}

static void test_smc_ccf_across_pages(void **state)
{
	(void)state;
	fx.avail_to_ram_end = false;                            /* code_ptr: to the page end */
	check_ccf_across_pages();
}

/* The same with a code_ptr that reports bytes past the page end (bt.h
 * allows it; vmm/monitor.c's does it). (An earlier bt_translate then
 * booked a page-crossing instruction on its first page only, so writing
 * its tail did not invalidate it: this test caught that.) */
static void test_smc_insn_across_pages_long_avail(void **state)
{
	(void)state;
	fx.avail_to_ram_end = true;                             /* as vmm/monitor.c */
	check_ccf_across_pages();
}

/* ------------------------------------------------------------------------
 * 9. TC flush
 * ------------------------------------------------------------------------ */

static void test_tc_flush(void **state)
{
	(void)state;
	bt_start(8192, 0);
	for (uint32_t i = 0; i < 600; i++)
		PUT(0x1000 + i * 16, 0x90);                     /* nop; int3: 32 TC bytes each */
	uint64_t epoch0 = bt_flush_epoch();
	unsigned flushes = 0;
	for (uint32_t i = 0; i < 600; i++) {
		uint32_t eip = 0x1000 + i * 16;
		unsigned on_before = 0, off_before = fx.trace_off, on_calls = fx.trace_on;
		for (uint32_t p = 0; p < RAM_PAGES; p++)
			on_before += fx.traced[p];
		bool fresh_page = !fx.traced[eip >> 12];
		uint64_t e = bt_flush_epoch();
		uint32_t tc = bt_get(eip);
		assert_true(tc >= lin32(fx.tc) && tc + 32 <= lin32(fx.tc) + 8192);
		assert_int_equal(at(tc)[0], 0x90);
		if (bt_flush_epoch() != e) {
			flushes++;
			assert_int_equal(bt_flush_epoch(), e + 1);
			assert_int_equal(tc, lin32(fx.tc));     /* starts over */
			/* every protected page released, then only this one again */
			assert_int_equal(fx.trace_off - off_before, on_before);
			assert_int_equal(fx.trace_on - on_calls, 1);
			assert_int_equal(bt.ntraced, 1);
		} else {
			assert_int_equal(fx.trace_on - on_calls, fresh_page ? 1 : 0);
		}
		check_trace_consistent();
	}
	assert_true(flushes >= 2);
	assert_int_equal(ctr("bt.tc.flushes"), flushes);
	assert_int_equal(bt_flush_epoch(), epoch0 + flushes);
	assert_int_equal(ctr("bt.tu.translated"), 600);
	assert_true(canary_intact());

	/* The first block was flushed away: retranslated, and works. */
	uint64_t miss = ctr("bt.lookup.miss");
	uint32_t tc = bt_get(0x1000);
	assert_int_equal(ctr("bt.lookup.miss"), miss + 1);
	assert_int_equal(at(tc)[0], 0x90);
	expect_callout(tc + 1, CO_INT, 3 | 1 << 8 | 1 << 12, 0x1001);
	assert_int_equal(bt_get(0x1000), tc);

	/* An explicit flush: everything released, TC addresses stale. */
	uint64_t e = bt_flush_epoch(), nflush = ctr("bt.tc.flushes");
	bt_flush();
	assert_int_equal(bt_flush_epoch(), e + 1);
	assert_int_equal(ctr("bt.tc.flushes"), nflush + 1);
	for (uint32_t p = 0; p < RAM_PAGES; p++)
		assert_false(fx.traced[p]);
	struct bt_pc pc;
	assert_false(bt_in_tc(tc));
	assert_false(bt_pc_lookup(tc, &pc));
	check_trace_consistent();
}

/* The emitted bytes of each TU stay inside [tc_base, tc_base + tc_size).
 * The heaviest block there is: popfs (the longest inline translation, with
 * its own pending-interrupt check), ending in `sti; popf` so that the last
 * popf also gets sti's check and runs one past max_tu_insns. Fillers (int3
 * = 32 TC bytes, 3 x nop + int3 = 48) put it at every 16-byte offset. */
static void check_tc_never_overflows(unsigned max_tu)
{
	/* room for several worst-case reservations of the longest TU */
	const uint32_t tc_size = max_tu > 26 ? 65536 : 16384;
	const uint32_t nblocks = 32;                            /* more than fit in the TC */
	for (uint32_t k = 0; k < nblocks; k++) {
		uint32_t b = 0x8000 + k * 0x100;
		memset(fx.ram + b, 0x9d, max_tu - 1);           /* popf ... */
		fx.ram[b + max_tu - 1] = 0xfb;                  /* sti */
		fx.ram[b + max_tu] = 0x9d;                      /* popf */
	}
	PUT(0x20000, 0x90, 0x90, 0x90);
	bt_start(tc_size, max_tu);
	uint32_t tcb = lin32(fx.tc), block = 0;
	for (uint32_t f = 0; f == 0 || f <= block / 16 + 2; f++) {
		if (f == 1)
			continue;                               /* 16 is not reachable with 32s and 48s */
		bt_flush();
		uint32_t n48 = f & 1, n32 = (f - 3 * n48) / 2;
		if (n48)
			bt_get(0x20000);
		for (uint32_t i = 0; i < n32; i++)
			bt_get(0x30000 + i);                    /* RAM is int3 everywhere else */
		assert_int_equal(bt.tc_used, 16 * f);
		uint64_t e0 = bt_flush_epoch();
		for (uint32_t k = 0; k < nblocks && bt_flush_epoch() == e0; k++) {
			uint64_t e = bt_flush_epoch();
			uint32_t tc = bt_get(0x8000 + k * 0x100);
			struct ccf *c = ccf_at(tc);
			assert_int_equal(c->ninsn, max_tu + 1);
			if (c->tc_len > block)
				block = c->tc_len;
			if (tc + c->tc_len > tcb + tc_size || !canary_intact())
				fail_msg("max_tu_insns %u: a %u-byte TU at TC offset %u ends %u bytes past tc_size",
					 max_tu, c->tc_len, tc - tcb, tc + c->tc_len - (tcb + tc_size));
			if (bt_flush_epoch() != e)
				break;
		}
		assert_int_not_equal(bt_flush_epoch(), e0);     /* filled up to the end */
	}
}

static void test_tc_never_overflows(void **state)
{
	(void)state;
	check_tc_never_overflows(12);
}

/* Regression: the per-instruction bound bt_translate reserves once was too
 * small for popf after sti (177 bytes); with a large max_tu_insns a popf
 * block was written past tc_base + tc_size. */
static void test_tc_never_overflows_long_tu(void **state)
{
	(void)state;
	check_tc_never_overflows(64);
}

/* ------------------------------------------------------------------------
 * 10. IBL table
 * ------------------------------------------------------------------------ */

static struct ibl_ent *ibl(void) { return (struct ibl_ent *)fx.ibl; }

static void check_ibl_empty(void)
{
	for (uint32_t i = 0; i < MON_IBLTAB_ENTRIES; i++)
		if (ibl()[i].neg_eip != 0 || ibl()[i].tc != GATE_IBL_MISS)
			fail_msg("IBL entry %u = {%#x, %#x}", i, ibl()[i].neg_eip, ibl()[i].tc);
}

static void test_ibl_init(void **state)
{
	(void)state;
	memset(fx.ibl, 0x5a, IBL_BYTES);                       /* garbage from before */
	stats_reset_registry();
	struct bt_env env = make_env(TC_DEFAULT, 0);
	assert_int_equal(bt_init(&env), 0);
	check_ibl_empty();
}

static void test_ibl_miss_and_invalidate(void **state)
{
	(void)state;
	PUT(0x1234, 0x90);
	PUT(0x11234, 0x90);                                     /* same IBL slot, other page */
	PUT(0x2345, 0x90);
	uint32_t tc = bt_ibl_miss(0x1234);
	assert_int_not_equal(tc, 0);
	assert_int_equal(tc, bt_get(0x1234));
	assert_int_equal(ctr("bt.ibl.miss"), 1);
	assert_int_equal(ibl()[0x1234].neg_eip, 0u - 0x1234u);
	assert_int_equal(ibl()[0x1234].tc, tc);
	assert_int_equal(ibl()[0x1235].tc, GATE_IBL_MISS);

	/* The colliding EIP takes the slot over. */
	uint32_t tc2 = bt_ibl_miss(0x11234);
	assert_int_equal(ibl()[0x1234].neg_eip, 0u - 0x11234u);
	assert_int_equal(ibl()[0x1234].tc, tc2);
	/* Invalidating the old owner leaves the new owner's entry alone. */
	assert_true(bt_notify_write(0x1234, 1));
	assert_int_equal(ibl()[0x1234].tc, tc2);
	/* Invalidating the owner empties it. */
	assert_true(bt_notify_write(0x11234, 1));
	assert_int_equal(ibl()[0x1234].neg_eip, 0);
	assert_int_equal(ibl()[0x1234].tc, GATE_IBL_MISS);

	/* Unfetchable target: 0 and no entry. */
	assert_int_equal(bt_ibl_miss(RAM_SIZE + 0x42), 0);
	assert_int_equal(ibl()[(RAM_SIZE + 0x42) & 0x7fff].tc, GATE_IBL_MISS);
	assert_int_equal(ctr("bt.ibl.miss"), 3);
}

/* An instruction adaptive translation made a callout can be forgotten (the
 * guest rewrote it); entries that collided with it stay found. */
static void test_forget_callout(void **state)
{
	(void)state;
	uint32_t a = 0x1000, h = (a * 2654435761u) >> 22, b = a + 1;
	while (((b * 2654435761u) >> 22) != h)
		b++;
	bt_translate_as_callout(a, 0);
	bt_translate_as_callout(b, 0);
	assert_true(bt_is_callout(a));
	assert_true(bt_is_callout(b));
	bt_forget_callout(a);
	assert_false(bt_is_callout(a));
	assert_true(bt_is_callout(b));          /* past the forgotten slot */
	bt_translate_as_callout(a, 0);
	assert_true(bt_is_callout(a));
	bt_forget_callout(a);
	bt_forget_callout(b);
	assert_false(bt_is_callout(b));
}

static void test_ibl_reset_on_mode_change(void **state)
{
	(void)state;
	PUT(0x1234, 0x90);
	PUT(0x2345, 0x90);
	uint32_t t1 = bt_ibl_miss(0x1234), t2 = bt_ibl_miss(0x2345);
	/* The same mode again: nothing to drop. */
	struct bt_mode same = { .cs_base = 0, .cpl = 0 };
	bt_set_mode(&same);
	assert_int_equal(ibl()[0x1234].tc, t1);
	assert_int_equal(ibl()[0x2345].tc, t2);
	/* The table is keyed by EIP only: another CS base empties all of it. */
	struct bt_mode other = { .cs_base = 0x10000, .cpl = 0 };
	bt_set_mode(&other);
	check_ibl_empty();
	/* User mode has a half of its own: entering it keeps the kernel's
	 * entries, and coming back finds them. */
	bt_set_mode(&same);
	uint32_t k = bt_ibl_miss(0x1234);
	struct bt_mode user = { .cs_base = 0, .cpl = 3 };
	bt_set_mode(&user);
	assert_int_equal(bt_ibl_offset(), MON_IBL_HALF_BYTES);
	assert_int_equal(ibl()[0x1234].tc, k);
	uint32_t u = bt_ibl_miss(0x2345);
	assert_int_equal(ibl()[MON_IBLTAB_ENTRIES / 2 + 0x2345].tc, u);
	assert_int_equal(ibl()[0x2345].tc, GATE_IBL_MISS);
	bt_set_mode(&same);
	assert_int_equal(bt_ibl_offset(), 0);
	assert_int_equal(ibl()[0x1234].tc, k);
	assert_int_equal(ibl()[MON_IBLTAB_ENTRIES / 2 + 0x2345].tc, u);
	/* A block dropped while the other privilege runs leaves both halves. */
	assert_true(bt_notify_write(0x2345, 1));
	assert_int_equal(ibl()[MON_IBLTAB_ENTRIES / 2 + 0x2345].tc, GATE_IBL_MISS);
	/* A change within a half (ring 0 to ring 1) empties the table. */
	struct bt_mode ring1 = { .cs_base = 0, .cpl = 1 };
	bt_set_mode(&ring1);
	check_ibl_empty();
	/* A flush too. */
	bt_set_mode(&same);
	bt_ibl_miss(0x2345);
	bt_flush();
	check_ibl_empty();
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest decoder[] = {
		cmocka_unit_test(test_decode_plain),
		cmocka_unit_test(test_decode_jmp),
		cmocka_unit_test(test_decode_jcc_and_loops),
		cmocka_unit_test(test_decode_call_ret),
		cmocka_unit_test(test_decode_far_pointer),
		cmocka_unit_test(test_decode_flags_and_interrupts),
		cmocka_unit_test(test_decode_port_io),
		cmocka_unit_test(test_decode_system),
		cmocka_unit_test(test_decode_sreg_moves),
		cmocka_unit_test(test_decode_push_pop_sreg),
		cmocka_unit_test(test_decode_invalid),
		cmocka_unit_test(test_decode_segment_overrides),
		cmocka_unit_test(test_decode_truncated),
	};
	const struct CMUnitTest translator[] = {
		T(test_translate_ident_block),
		T(test_on_translate_hook),
		T(test_tu_stops_at_max_insns),
		T(test_tu_max_insns_tunable),
		T(test_inline_cli_sti),
		T(test_inline_pushf_popf),
		T(test_modes_tf_and_fpu),
		T(test_sti_shadow_marks_next_insn),
		T(test_soft_limit_checks),
		T(test_sti_irq_check_after_next_insn),
		T(test_sti_at_tu_limit),
		T(test_inline_sreg_store),
		T(test_push_pop_sreg_translation),
		T(test_gs_cs_prefixed_ident),
		T(test_jcc_two_exits),
		T(test_loop_two_exits),
		T(test_call_rel_pushes_guest_return),
		T(test_indirect_branches_inline_cache),
		T(test_ic_learn),
		T(test_callout_port_io),
		T(test_callout_string_io_and_hlt),
		T(test_callout_int_ends_tu),
		T(test_callout_emulate_and_ud),
		T(test_branch_opsize16_target),
		T(test_lookup_hash),
		T(test_chain_and_unchain),
		T(test_chain_self_loop),
		T(test_chain_refused_for_dead_owner),
		T(test_exit_taken_edge_cases),
		T(test_exit_taken_across_flush),
		T(test_pc_lookup_block),
		T(test_pc_lookup_indirect_call_ecx),
		T(test_smc_notify_write),
		T(test_smc_write_spanning_pages),
		T(test_smc_ccf_across_pages),
		T(test_smc_insn_across_pages_long_avail),
		T(test_tc_flush),
		T(test_tc_never_overflows),
		T(test_tc_never_overflows_long_tu),
		T(test_ic_relearn_after_chain_to_eip0),
		T(test_ibl_init),
		T(test_ibl_miss_and_invalidate),
		T(test_ibl_reset_on_mode_change),
		T(test_forget_callout),
		T(test_remap_keeps_what_it_can),
	};
	int failed = 0;
	failed += cmocka_run_group_tests_name("bt_decode", decoder, decoder_setup, NULL);
	failed += cmocka_run_group_tests_name("bt_translate", translator, NULL, NULL);
	return failed ? 1 : 0;
}
