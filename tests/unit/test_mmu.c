/* Unit tests for the shadow MMU (shadow_mmu/mmu.c) and the MMIO region table
 * (shadow_mmu/mmio.c): guest page walks, #PF error codes, A/D bits, shadow
 * filling through a fake world, traces, page-table tracing, CR3 caching. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>
#include "mmu.h"
#include "mmio.h"
#include "mon_area.h"
#include "stats.h"

#define RAM_SIZE (16u << 20)
#define P  0x001u
#define W  0x002u
#define U  0x004u
#define A  0x020u
#define D  0x040u
#define PS 0x080u
#define G  0x100u
#define CR0_BASE 0x11u          /* PE | ET, what mmu_init starts with */
#define CR0_WP   0x00010000u
#define CR0_PG   0x80000000u
#define CR4_PSE  0x10u
#define CR4_PGE  0x80u

/* Guest-physical layout of the tables the tests build. */
#define PD_A 0x10000u
#define PT_A 0x11000u
#define PT0  0x12000u
#define PT_2 0x13000u
#define PT_3 0x14000u
#define PD_B 0x20000u
#define PT_B 0x21000u
/* Linear pages in the 4 MB region 1 and data frames from 1 MiB. */
#define L(i) (0x400000u + (uint32_t)(i) * 0x1000u)
#define F(i) (0x100000u + (uint32_t)(i) * 0x1000u)

static uint8_t *ram;

/* ---- the fake world: a log of map/unmap/protect and a model of the host
 * view per linear page (what a real world would have mapped) ---- */
enum { OP_MAP = 1, OP_UNMAP, OP_PROTECT };
struct call { int op; uint32_t lin, len, pa; int prot; };
#define LOG_MAX 8192
static struct call calls[LOG_MAX];
static unsigned ncalls;             /* total, may exceed LOG_MAX */
static uint8_t hprot[1u << 20];     /* WP_NONE (unmapped), WP_RO, WP_RW */
static uint32_t hppn[1u << 20];
static unsigned protect_unmapped;   /* protect() of a page the host has not mapped */

static void log_call(int op, uint32_t lin, uint32_t len, uint32_t pa, int prot)
{
	if (ncalls < LOG_MAX)
		calls[ncalls] = (struct call){ op, lin, len, pa, prot };
	ncalls++;
}

static int f_map(uint32_t lin, uint32_t len, uint32_t pa, int prot)
{
	log_call(OP_MAP, lin, len, pa, prot);
	for (uint64_t o = 0; o < len; o += 0x1000) {
		hprot[(lin + o) >> 12] = (uint8_t)prot;
		hppn[(lin + o) >> 12] = (uint32_t)((pa + o) >> 12);
	}
	return 0;
}

static int f_unmap(uint32_t lin, uint32_t len)
{
	log_call(OP_UNMAP, lin, len, 0, 0);
	for (uint64_t o = 0; o < len; o += 0x1000)
		hprot[(lin + o) >> 12] = WP_NONE;
	return 0;
}

static int f_protect(uint32_t lin, uint32_t len, int prot)
{
	log_call(OP_PROTECT, lin, len, 0, prot);
	for (uint64_t o = 0; o < len; o += 0x1000) {
		if (hprot[(lin + o) >> 12] == WP_NONE)
			protect_unmapped++;
		else
			hprot[(lin + o) >> 12] = (uint8_t)prot;
	}
	return 0;
}

/* mmu.c only calls map/unmap/protect: the rest stay NULL so a call crashes. */
static const struct world_ops fake_world = { .map = f_map, .unmap = f_unmap, .protect = f_protect };
static struct mmu_config cfg;

static const struct call *call_at(unsigned i)
{
	assert_true(i < ncalls && i < LOG_MAX);
	return &calls[i];
}

/* Macros, so a failure names the test's line. */
#define assert_call(i, op_, lin_, len_, pa_, prot_) do {                    \
	const struct call *c_ = call_at(i);                                  \
	assert_int_equal(c_->op, (op_));                                     \
	assert_int_equal(c_->lin, (lin_));                                   \
	assert_int_equal(c_->len, (len_));                                   \
	if ((op_) == OP_MAP)                                                 \
		assert_int_equal(c_->pa, (pa_));                             \
	if ((op_) != OP_UNMAP)                                               \
		assert_int_equal(c_->prot, (prot_));                         \
} while (0)

/* Host view of one linear page: WP_NONE or the protection, and the frame. */
#define assert_host(lin_, prot_, pa_) do {                                  \
	assert_int_equal(hprot[(lin_) >> 12], (prot_));                      \
	if ((prot_) != WP_NONE)                                              \
		assert_int_equal(hppn[(lin_) >> 12], (uint32_t)(pa_) >> 12); \
} while (0)

static uint64_t ctr(const char *name)
{
	stat_counter *c = stats_find(name);
	assert_non_null(c);
	return c->value;
}

/* ---- guest page tables in RAM ---- */
static uint32_t *ent(uint32_t pa) { return (uint32_t *)(void *)(ram + pa); }
static uint32_t *pde(uint32_t pd, uint32_t lin) { return ent(pd + (lin >> 22) * 4); }
static uint32_t *pte(uint32_t pt, uint32_t lin) { return ent(pt + ((lin >> 12) & 0x3ffu) * 4); }

/* Region 1 of directory pd through table pt; PDE A left clear on purpose. */
static void build_as(uint32_t pd, uint32_t pt) { *pde(pd, L(0)) = pt | P | W | U; }

static void paging_on(uint32_t cr3, uint32_t extra_cr0)
{
	mmu_set_cr3(cr3);
	assert_true(mmu_set_cr0(CR0_BASE | CR0_PG | extra_cr0));
}

static void reinit(void)
{
	ncalls = 0;
	stats_reset_registry();
	mmu_init(&cfg);
}

static int setup(void **state)
{
	(void)state;
	ram = aligned_alloc(4096, RAM_SIZE);
	if (!ram)
		return -1;
	memset(ram, 0, RAM_SIZE);
	memset(hprot, 0, sizeof hprot);
	protect_unmapped = 0;
	/* Zeroed once, like the .bss it replaces: what mmu_init must clear
	 * itself stays from test to test. */
	static void *mmu_mem;
	if (!mmu_mem) {
		mmu_mem = aligned_alloc(64, mmu_mem_size());
		if (!mmu_mem)
			return -1;
		memset(mmu_mem, 0, mmu_mem_size());
	}
	cfg = (struct mmu_config){ .ram = ram, .ram_size = RAM_SIZE, .w = &fake_world,
				   .mem = mmu_mem, .mem_size = mmu_mem_size() };
	reinit();
	return 0;
}

/* mmu.c keeps static state that mmu_init does not reset (lmap, cached
 * address spaces, page-table references, the user view): leave it clean
 * for the next test, also after a failed assertion. INVLPG first clears
 * shadow entries a test may have orphaned (see the re-init tests). */
static int teardown(void **state)
{
	(void)state;
	if (mmu_paging())
		for (uint32_t i = 0; i < 64; i++)
			mmu_invlpg(L(i));
	mmu_set_user(false);
	mmu_set_cr4(0);
	mmu_set_cr0(CR0_BASE);
	free(ram);
	ram = NULL;
	return 0;
}

/* A trace owner's callback log. */
struct wlog { unsigned n; uint32_t pa[8], len[8]; };
static void on_write(void *opaque, uint32_t pa, uint32_t len)
{
	struct wlog *l = opaque;
	if (l->n < 8) { l->pa[l->n] = pa; l->len[l->n] = len; }
	l->n++;
}

/* ---- 1, 2: paging off and on ---- */

static void test_paging_off_identity_and_traces(void **state)
{
	(void)state;
	assert_int_equal(ncalls, 1);
	assert_call(0, OP_MAP, 0, RAM_SIZE, 0, WP_RW);
	assert_false(mmu_paging());
	uint32_t pa = 0, err = 0xdead;
	assert_true(mmu_translate(0x123456, ACC_WRITE | ACC_USER, &pa, &err));
	assert_int_equal(pa, 0x123456);
	assert_ptr_equal(mmu_phys_ptr(0x1000, 4), ram + 0x1000);
	assert_null(mmu_phys_ptr(RAM_SIZE - 2, 4));
	assert_null(mmu_phys_ptr(RAM_SIZE, 1));

	struct wlog wl = { 0 };
	int o = mmu_trace_owner("code", on_write, &wl, false);
	assert_int_equal(o, 1);                 /* owner 0 is the page-table tracer */
	unsigned c0 = ncalls;
	mmu_trace(0x30, o, true);
	assert_true(mmu_page_traced(0x30));
	assert_int_equal(ncalls, c0 + 1);
	assert_call(c0, OP_PROTECT, 0x30000, 4096, 0, WP_RO);
	assert_host(0x30000, WP_RO, 0x30000);

	uint64_t hits = ctr("mmu.trace.hit.code");
	assert_int_equal(mmu_host_fault(0x30010, true, false, &err, &pa), MMU_TRACED);
	assert_int_equal(pa, 0x30010);
	assert_int_equal(ctr("mmu.trace.hit.code"), hits + 1);
	/* Reads, untraced pages, page 0 and beyond RAM are not the MMU's. */
	assert_int_equal(mmu_host_fault(0x30010, false, false, &err, &pa), MMU_OUTSIDE);
	assert_int_equal(mmu_host_fault(0x31000, true, false, &err, &pa), MMU_OUTSIDE);
	assert_int_equal(mmu_host_fault(0x10, true, false, &err, &pa), MMU_OUTSIDE);
	assert_int_equal(mmu_host_fault(RAM_SIZE, true, false, &err, &pa), MMU_OUTSIDE);
	assert_int_equal(ctr("mmu.trace.hit.code"), hits + 1);

	c0 = ncalls;
	mmu_trace(0x30, o, false);
	assert_false(mmu_page_traced(0x30));
	assert_int_equal(ncalls, c0 + 1);
	assert_call(c0, OP_PROTECT, 0x30000, 4096, 0, WP_RW);
	mmu_trace(0x30, o, false);              /* no change: no host call */
	assert_int_equal(ncalls, c0 + 1);
	assert_int_equal(wl.n, 0);
}

static void test_paging_on_unmaps_low_range(void **state)
{
	(void)state;
	build_as(PD_A, PT_A);
	unsigned c0 = ncalls;
	assert_false(mmu_set_cr3(PD_A));        /* paging off: nothing to redo */
	assert_int_equal(ncalls, c0);
	assert_true(mmu_set_cr0(CR0_BASE | CR0_PG));
	assert_true(mmu_paging());
	assert_int_equal(ncalls, c0 + 1);
	assert_call(c0, OP_UNMAP, 0x1000, MON_BASE - 0x1000, 0, 0);
	assert_host(0x1000, WP_NONE, 0);
	assert_host(L(0), WP_NONE, 0);
	assert_false(mmu_set_cr0(CR0_BASE | CR0_PG));
	assert_int_equal(ncalls, c0 + 1);
}

/* ---- 3: the walk ---- */

static void test_translate_4k_sets_a_and_d(void **state)
{
	(void)state;
	build_as(PD_A, PT_A);
	*pte(PT_A, L(0)) = F(0) | P | W | U;
	paging_on(PD_A, 0);
	uint32_t pa = 0, err = 0;
	assert_true(mmu_translate(L(0) + 0x123, 0, &pa, &err));
	assert_int_equal(pa, F(0) + 0x123);
	assert_true(*pde(PD_A, L(0)) & A);
	assert_true(*pte(PT_A, L(0)) & A);
	assert_false(*pte(PT_A, L(0)) & D);
	assert_false(*pde(PD_A, L(0)) & D);     /* D only on the leaf */
	assert_true(mmu_translate(L(0) + 4, ACC_WRITE | ACC_USER, &pa, &err));
	assert_int_equal(pa, F(0) + 4);
	assert_true(*pte(PT_A, L(0)) & D);
}

static void test_translate_4m_needs_pse(void **state)
{
	(void)state;
	*pde(PD_A, 0x800000) = 0x400000u | P | W | U | PS;
	paging_on(PD_A, 0);
	uint32_t pa = 0, err = 0xff;
	/* PSE off: PS is ignored, the entry names a (zeroed) page table. */
	assert_false(mmu_translate(0x812345, 0, &pa, &err));
	assert_int_equal(err, 0);
	assert_true(mmu_set_cr4(CR4_PSE));
	assert_true(mmu_translate(0x812345, 0, &pa, &err));
	assert_int_equal(pa, 0x412345);
	assert_true(*pde(PD_A, 0x800000) & A);
	assert_false(*pde(PD_A, 0x800000) & D);
	assert_true(mmu_translate(0xbffffc, ACC_WRITE, &pa, &err));
	assert_int_equal(pa, 0x7ffffc);
	assert_true(*pde(PD_A, 0x800000) & D);
}

static void test_translate_not_present_codes(void **state)
{
	(void)state;
	paging_on(PD_A, 0);
	static const unsigned accs[] = { 0, ACC_WRITE, ACC_USER, ACC_WRITE | ACC_USER };
	uint32_t pa, err;
	for (unsigned i = 0; i < 4; i++) {        /* directory entry not present */
		err = 0xff;
		assert_false(mmu_translate(L(0), accs[i], &pa, &err));
		assert_int_equal(err, accs[i]);
	}
	build_as(PD_A, PT_A);
	for (unsigned i = 0; i < 4; i++) {        /* table entry not present */
		err = 0xff;
		assert_false(mmu_translate(L(0), accs[i], &pa, &err));
		assert_int_equal(err, accs[i]);
	}
	assert_false(*pde(PD_A, L(0)) & A);    /* no A on a failed walk */
	/* ACC_FETCH is not an error code bit. */
	assert_false(mmu_translate(L(0), ACC_FETCH | ACC_USER, &pa, &err));
	assert_int_equal(err, PF_U);
}

static void test_translate_protection(void **state)
{
	(void)state;
	build_as(PD_A, PT_A);
	*pte(PT_A, L(0)) = F(0) | P;            /* supervisor, read-only */
	*pte(PT_A, L(1)) = F(1) | P | U;        /* user, read-only */
	paging_on(PD_A, CR0_WP);
	uint32_t pa, err;
	/* The first access faults: neither the PDE nor the PTE gets A. */
	assert_false(mmu_translate(L(1), ACC_WRITE | ACC_USER, &pa, &err));
	assert_int_equal(err, PF_P | PF_W | PF_U);
	assert_false(*pde(PD_A, L(1)) & A);
	assert_false(*pte(PT_A, L(1)) & (A | D));

	assert_false(mmu_translate(L(0), ACC_USER, &pa, &err));
	assert_int_equal(err, PF_P | PF_U);
	assert_false(mmu_translate(L(0), ACC_WRITE | ACC_USER, &pa, &err));
	assert_int_equal(err, PF_P | PF_W | PF_U);
	assert_false(mmu_translate(L(0), ACC_WRITE, &pa, &err));
	assert_int_equal(err, PF_P | PF_W);
	assert_false(*pte(PT_A, L(0)) & A);
	assert_true(mmu_translate(L(0), 0, &pa, &err));
	assert_int_equal(pa, F(0));
	assert_false(*pte(PT_A, L(0)) & D);

	/* CR0.WP off: supervisor writes go through read-only pages (and set D);
	 * user writes still fault. */
	assert_true(mmu_set_cr0(CR0_BASE | CR0_PG));
	assert_true(mmu_translate(L(0), ACC_WRITE, &pa, &err));
	assert_true(*pte(PT_A, L(0)) & D);
	assert_true(mmu_translate(L(1), ACC_WRITE, &pa, &err));
	assert_false(mmu_translate(L(1), ACC_WRITE | ACC_USER, &pa, &err));
	assert_int_equal(err, PF_P | PF_W | PF_U);
	assert_true(mmu_set_cr0(CR0_BASE | CR0_PG | CR0_WP));
	assert_false(mmu_translate(L(0), ACC_WRITE, &pa, &err));
	assert_int_equal(err, PF_P | PF_W);

	/* U/S and R/W are the AND of directory and table entries. */
	*pde(PD_A, 0x800000) = PT_2 | P | W;              /* supervisor directory entry */
	*pte(PT_2, 0x800000) = F(2) | P | W | U;
	assert_false(mmu_translate(0x800000, ACC_USER, &pa, &err));
	assert_int_equal(err, PF_P | PF_U);
	assert_true(mmu_translate(0x800000, ACC_WRITE, &pa, &err));
	*pde(PD_A, 0xc00000) = PT_3 | P | U;              /* read-only directory entry */
	*pte(PT_3, 0xc00000) = F(3) | P | W | U;
	assert_true(mmu_translate(0xc00000, ACC_USER, &pa, &err));
	assert_int_equal(pa, F(3));
	assert_false(mmu_translate(0xc00000, ACC_WRITE | ACC_USER, &pa, &err));
	assert_int_equal(err, PF_P | PF_W | PF_U);
	assert_false(mmu_translate(0xc00000, ACC_WRITE, &pa, &err));
	assert_int_equal(err, PF_P | PF_W);
	assert_false(*pte(PT_3, 0xc00000) & D);
	assert_true(mmu_translate(L(1), ACC_USER, &pa, &err));
	assert_int_equal(pa, F(1));
}

/* ---- 4: host faults ---- */

static void test_host_fault_fills_runs(void **state)
{
	(void)state;
	build_as(PD_A, PT_A);
	*pte(PT_A, L(0)) = F(0) | P | W | U;        /* the faulting page: A clear */
	*pte(PT_A, L(1)) = F(1) | P | W | U | A;    /* accessed, next frame: in the run */
	*pte(PT_A, L(2)) = F(2) | P | W | U | A;
	*pte(PT_A, L(3)) = F(3) | P | W | U;        /* not accessed: the run stops */
	*pte(PT_A, L(4)) = F(4) | P | W | U | A;
	paging_on(PD_A, CR0_WP);
	uint64_t hidden = ctr("mmu.fault.hidden"), pages = ctr("mmu.fill.pages");
	unsigned c0 = ncalls;
	uint32_t pa = 0, err = 0;
	assert_int_equal(mmu_host_fault(L(0) + 8, false, false, &err, &pa), MMU_HIDDEN);
	assert_int_equal(pa, F(0) + 8);
	assert_int_equal(ncalls, c0 + 1);
	assert_call(c0, OP_MAP, L(0), 3 * 4096, F(0), WP_RO);   /* not dirty: read-only */
	assert_host(L(2), WP_RO, F(2));
	assert_host(L(3), WP_NONE, 0);
	assert_true(*pte(PT_A, L(0)) & A);
	assert_false(*pte(PT_A, L(0)) & D);
	assert_int_equal(ctr("mmu.fault.hidden"), hidden + 1);
	assert_int_equal(ctr("mmu.fill.pages"), pages + 3);

	/* The first write: D set, that page alone upgraded. */
	uint64_t dirty = ctr("mmu.fault.dirty");
	c0 = ncalls;
	assert_int_equal(mmu_host_fault(L(0), true, false, &err, &pa), MMU_HIDDEN);
	assert_int_equal(ncalls, c0 + 1);
	assert_call(c0, OP_PROTECT, L(0), 4096, 0, WP_RW);
	assert_true(*pte(PT_A, L(0)) & D);
	assert_host(L(0), WP_RW, F(0));
	assert_host(L(1), WP_RO, F(1));
	assert_false(*pte(PT_A, L(1)) & D);
	assert_int_equal(ctr("mmu.fault.dirty"), dirty + 1);

	/* A frame out of sequence ends the run. */
	*pte(PT_A, L(8)) = F(8) | P | W | U;
	*pte(PT_A, L(9)) = F(20) | P | W | U | A;
	c0 = ncalls;
	assert_int_equal(mmu_host_fault(L(8), false, false, &err, &pa), MMU_HIDDEN);
	assert_int_equal(ncalls, c0 + 1);
	assert_call(c0, OP_MAP, L(8), 4096, F(8), WP_RO);

	/* A write: the run is writable, of dirty writable neighbours only. */
	*pte(PT_A, L(12)) = F(12) | P | W | U;
	*pte(PT_A, L(13)) = F(13) | P | W | U | A | D;
	*pte(PT_A, L(14)) = F(14) | P | W | U | A;
	c0 = ncalls;
	assert_int_equal(mmu_host_fault(L(12), true, false, &err, &pa), MMU_HIDDEN);
	assert_int_equal(ncalls, c0 + 1);
	assert_call(c0, OP_MAP, L(12), 2 * 4096, F(12), WP_RW);
	assert_true(*pte(PT_A, L(12)) & D);

	/* Runs are bounded (16 pages). */
	for (uint32_t i = 32; i < 64; i++)
		*pte(PT_A, L(i)) = F(i) | P | W | U | A;
	c0 = ncalls;
	assert_int_equal(mmu_host_fault(L(32), false, false, &err, &pa), MMU_HIDDEN);
	assert_int_equal(ncalls, c0 + 1);
	assert_call(c0, OP_MAP, L(32), 16 * 4096, F(32), WP_RO);
	assert_host(L(48), WP_NONE, 0);
	assert_int_equal(protect_unmapped, 0);
}

static void test_host_fault_true_and_outside(void **state)
{
	(void)state;
	build_as(PD_A, PT_A);
	*pte(PT_A, L(0)) = F(0) | P;                      /* supervisor read-only */
	*pte(PT_A, L(2)) = 0x2000000u | P | W | U;        /* beyond RAM */
	*pde(PD_A, 0) = PT0 | P | W | U;
	*ent(PT0) = 0x5000u | P | W | U;                  /* linear page 0 */
	paging_on(PD_A, CR0_WP);
	uint64_t truef = ctr("mmu.fault.true");
	unsigned c0 = ncalls;
	uint32_t pa, err = 0;
	assert_int_equal(mmu_host_fault(L(0), false, true, &err, &pa), MMU_TRUE);
	assert_int_equal(err, PF_P | PF_U);
	assert_int_equal(mmu_host_fault(L(0), true, false, &err, &pa), MMU_TRUE);
	assert_int_equal(err, PF_P | PF_W);
	assert_int_equal(mmu_host_fault(L(1), true, true, &err, &pa), MMU_TRUE);
	assert_int_equal(err, PF_W | PF_U);
	assert_int_equal(ctr("mmu.fault.true"), truef + 3);
	assert_false(*pte(PT_A, L(0)) & A);

	assert_int_equal(mmu_host_fault(L(2) + 0x44, false, false, &err, &pa), MMU_OUTSIDE);
	assert_int_equal(pa, 0x2000044u);
	pa = 0;
	assert_int_equal(mmu_host_fault(0x10, false, false, &err, &pa), MMU_OUTSIDE);
	assert_int_equal(pa, 0x5010);
	assert_int_equal(mmu_host_fault(MON_BASE + 0x10, false, false, &err, &pa), MMU_OUTSIDE);
	/* Nothing mapped for any of them. (Linear page 0 keeps the paging-off
	 * mapping: set_paging unmaps from 4 KB; the world never maps page 0.) */
	assert_int_equal(ncalls, c0);
}

/* ---- 5: traces ---- */

static void test_trace_owner_ids(void **state)
{
	(void)state;
	char name[8] = "own0";
	for (int i = 1; i < TRACE_OWNERS; i++) {
		name[3] = (char)('0' + i);
		assert_int_equal(mmu_trace_owner(name, on_write, NULL, false), i);
	}
	assert_int_equal(mmu_trace_owner("full", on_write, NULL, false), -1);
	assert_non_null(stats_find("mmu.trace.hit.own7"));
	assert_non_null(stats_find("mmu.trace.hit.pagetable"));
	assert_null(stats_find("mmu.trace.hit.full"));
}

static void test_trace_aliases_and_notify(void **state)
{
	(void)state;
	const uint32_t fx = 0x150000;
	build_as(PD_A, PT_A);
	*pte(PT_A, L(0)) = fx | P | W | U | A | D;
	*pte(PT_A, L(1)) = fx | P | W | U | A | D;        /* a second alias */
	*pte(PT_A, L(2)) = fx | P | W | U | A | D;
	*pte(PT_A, L(3)) = fx | P | W | U;
	paging_on(PD_A, CR0_WP);
	uint32_t pa, err;
	assert_int_equal(mmu_host_fault(L(0), true, false, &err, &pa), MMU_HIDDEN);
	assert_int_equal(mmu_host_fault(L(1), true, false, &err, &pa), MMU_HIDDEN);
	assert_host(L(0), WP_RW, fx);
	assert_host(L(1), WP_RW, fx);

	struct wlog wl = { 0 };
	int o = mmu_trace_owner("code", on_write, &wl, false);
	assert_true(o > 0);
	unsigned c0 = ncalls;
	mmu_trace(fx >> 12, o, true);
	assert_int_equal(ncalls, c0 + 2);
	assert_host(L(0), WP_RO, fx);
	assert_host(L(1), WP_RO, fx);

	uint64_t hits = ctr("mmu.trace.hit.code"), all = ctr("mmu.trace.hit");
	pa = 0;
	assert_int_equal(mmu_host_fault(L(1) + 0x20, true, false, &err, &pa), MMU_TRACED);
	assert_int_equal(pa, fx + 0x20);
	assert_int_equal(ctr("mmu.trace.hit.code"), hits + 1);
	assert_int_equal(ctr("mmu.trace.hit"), all + 1);
	/* A new alias is mapped, but read-only. */
	assert_int_equal(mmu_host_fault(L(2), true, false, &err, &pa), MMU_TRACED);
	assert_host(L(2), WP_RO, fx);
	assert_int_equal(mmu_host_fault(L(3), false, false, &err, &pa), MMU_HIDDEN);
	assert_host(L(3), WP_RO, fx);

	mmu_phys_written(fx + 0x20, 4);
	assert_int_equal(wl.n, 1);
	assert_int_equal(wl.pa[0], fx + 0x20);
	assert_int_equal(wl.len[0], 4);
	/* Split at the page edge, each page to its owners only. */
	mmu_phys_written(fx + 0xffe, 4);
	assert_int_equal(wl.n, 2);
	assert_int_equal(wl.pa[1], fx + 0xffe);
	assert_int_equal(wl.len[1], 2);
	mmu_trace((fx >> 12) + 1, o, true);
	mmu_phys_written(fx + 0xffe, 4);
	assert_int_equal(wl.n, 4);
	assert_int_equal(wl.pa[3], fx + 0x1000);
	assert_int_equal(wl.len[3], 2);
	mmu_phys_written(0x170000, 4);              /* untraced page */
	assert_int_equal(wl.n, 4);

	assert_true(mmu_write_allowed(fx));
	assert_true(mmu_release_page(fx >> 12));
	assert_int_equal(wl.n, 5);
	assert_int_equal(wl.pa[4], fx);
	assert_int_equal(wl.len[4], 0x1000);
	assert_int_equal(protect_unmapped, 0);
}

/* ---- 6: page-table tracing ---- */

static void test_pagetable_writes_drop_shadows(void **state)
{
	(void)state;
	build_as(PD_A, PT_A);
	*pte(PT_A, L(1)) = F(1) | P | W | U;
	*pte(PT_A, L(2)) = F(2) | P | W | U;
	*pte(PT_A, L(7)) = PT_A | P | W | U | A | D;      /* the table itself */
	paging_on(PD_A, CR0_WP);
	uint32_t pa, err;
	assert_int_equal(mmu_host_fault(L(1), false, false, &err, &pa), MMU_HIDDEN);
	assert_int_equal(mmu_host_fault(L(2), false, false, &err, &pa), MMU_HIDDEN);
	assert_true(mmu_page_traced(PT_A >> 12));
	assert_true(mmu_page_traced(PD_A >> 12));
	assert_false(mmu_page_traced(F(1) >> 12));

	uint64_t dropped = ctr("mmu.trace.shadow_dropped"), written = ctr("mmu.trace.pt_entries_written");
	unsigned c0 = ncalls;
	*pte(PT_A, L(1)) = F(5) | P | W | U;
	mmu_phys_written(PT_A + 1 * 4, 4);
	assert_int_equal(ncalls, c0 + 1);
	assert_call(c0, OP_UNMAP, L(1), 4096, 0, 0);
	assert_host(L(2), WP_RO, F(2));
	assert_int_equal(ctr("mmu.trace.shadow_dropped"), dropped + 1);
	assert_int_equal(ctr("mmu.trace.pt_entries_written"), written + 1);
	c0 = ncalls;
	assert_int_equal(mmu_host_fault(L(1), false, false, &err, &pa), MMU_HIDDEN);
	assert_call(c0, OP_MAP, L(1), 4096, F(5), WP_RO);

	/* An entry no shadow came from: nothing to drop. */
	c0 = ncalls;
	mmu_phys_written(PT_A + 0x800, 4);
	assert_int_equal(ncalls, c0);
	assert_int_equal(ctr("mmu.trace.shadow_dropped"), dropped + 1);

	/* The page table seen through the shadow is read-only: writes trap. */
	uint64_t pthits = ctr("mmu.trace.hit.pagetable");
	assert_int_equal(mmu_host_fault(L(7) + 8, true, false, &err, &pa), MMU_TRACED);
	assert_int_equal(pa, PT_A + 8);
	assert_host(L(7), WP_RO, PT_A);
	assert_int_equal(ctr("mmu.trace.hit.pagetable"), pthits + 1);

	/* A directory entry: its whole 4 MB region goes. */
	*pde(PD_A, 0x800000) = PT_2 | P | W | U;
	*pte(PT_2, 0x800000) = F(9) | P | W | U;
	assert_int_equal(mmu_host_fault(0x800000, false, false, &err, &pa), MMU_HIDDEN);
	dropped = ctr("mmu.trace.shadow_dropped");
	mmu_phys_written(PD_A + 1 * 4, 4);
	assert_host(L(1), WP_NONE, 0);
	assert_host(L(2), WP_NONE, 0);
	assert_host(L(7), WP_NONE, 0);
	assert_host(0x800000, WP_RO, F(9));
	assert_int_equal(ctr("mmu.trace.shadow_dropped"), dropped + 3);
}

/* ---- 7: CR3 switches ---- */

static void test_cr3_cache(void **state)
{
	(void)state;
	build_as(PD_A, PT_A);
	*pte(PT_A, L(0)) = F(0) | P | W | U;
	*pte(PT_A, L(1)) = F(1) | P | W | U | A;
	build_as(PD_B, PT_B);
	*pte(PT_B, L(0)) = F(8) | P | W | U;
	paging_on(PD_A, CR0_WP);
	uint32_t pa, err;
	assert_int_equal(mmu_host_fault(L(0), false, false, &err, &pa), MMU_HIDDEN);
	assert_int_equal(mmu_host_fault(L(0), true, false, &err, &pa), MMU_HIDDEN);   /* L0 RW, L1 RO */
	uint64_t sw = ctr("mmu.cr3.switch");
	assert_true(mmu_set_cr3(PD_B));
	assert_int_equal(ctr("mmu.cr3.switch"), sw + 1);
	assert_host(L(0), WP_NONE, 0);
	assert_host(L(1), WP_NONE, 0);
	assert_int_equal(mmu_host_fault(L(0), false, false, &err, &pa), MMU_HIDDEN);
	assert_host(L(0), WP_RO, F(8));

	uint64_t hit = ctr("mmu.cr3.cached_hit"), hidden = ctr("mmu.fault.hidden");
	unsigned c0 = ncalls;
	assert_true(mmu_set_cr3(PD_A));
	assert_int_equal(ctr("mmu.cr3.cached_hit"), hit + 1);
	assert_int_equal(ctr("mmu.fault.hidden"), hidden);
	assert_host(L(0), WP_RW, F(0));
	assert_host(L(1), WP_RO, F(1));
	unsigned maps = 0;
	for (unsigned i = c0; i < ncalls; i++)
		if (call_at(i)->op == OP_MAP) {
			maps++;
			assert_true(call_at(i)->lin == L(0) || call_at(i)->lin == L(1));
		}
	assert_int_equal(maps, 2);               /* two runs: RW L0, RO L1 */

	/* A's tables stay traced while B runs; writing one drops A's cache. */
	assert_true(mmu_set_cr3(PD_B));
	assert_int_equal(ctr("mmu.cr3.cached_hit"), hit + 2);
	assert_host(L(0), WP_RO, F(8));
	assert_true(mmu_page_traced(PT_A >> 12));
	uint64_t cdrop = ctr("mmu.cr3.cache_dropped");
	*pte(PT_A, L(0)) = F(9) | P | W | U;
	mmu_phys_written(PT_A, 4);
	assert_int_equal(ctr("mmu.cr3.cache_dropped"), cdrop + 1);
	assert_host(L(0), WP_RO, F(8));           /* B's shadow is not A's business */
	c0 = ncalls;
	assert_true(mmu_set_cr3(PD_A));
	assert_int_equal(ctr("mmu.cr3.cached_hit"), hit + 2);
	for (unsigned i = c0; i < ncalls; i++)
		assert_int_not_equal(call_at(i)->op, OP_MAP);
	assert_host(L(0), WP_NONE, 0);
	assert_host(L(1), WP_NONE, 0);
	c0 = ncalls;
	assert_int_equal(mmu_host_fault(L(0), false, false, &err, &pa), MMU_HIDDEN);
	assert_call(c0, OP_MAP, L(0), 4096, F(9), WP_RO);   /* F(1) no longer follows */
}

static void test_global_pages_survive_cr3(void **state)
{
	(void)state;
	build_as(PD_A, PT_A);
	*pte(PT_A, L(0)) = F(0) | P | W | U | G;
	*pte(PT_A, L(1)) = F(1) | P | W | U | A;          /* not global */
	build_as(PD_B, PT_B);
	paging_on(PD_A, CR0_WP);
	assert_true(mmu_set_cr4(CR4_PGE));
	uint32_t pa, err;
	unsigned c0 = ncalls;
	assert_int_equal(mmu_host_fault(L(0), false, false, &err, &pa), MMU_HIDDEN);
	assert_call(c0, OP_MAP, L(0), 4096, F(0), WP_RO);  /* G differs: not one run */
	assert_int_equal(mmu_host_fault(L(1), false, false, &err, &pa), MMU_HIDDEN);
	assert_true(mmu_set_cr3(PD_B));
	assert_host(L(0), WP_RO, F(0));
	assert_host(L(1), WP_NONE, 0);
	assert_true(mmu_set_cr3(PD_B));              /* a reload flushes but globals */
	assert_host(L(0), WP_RO, F(0));

	/* Without CR4.PGE the G bit means nothing. */
	assert_true(mmu_set_cr4(0));
	assert_host(L(0), WP_NONE, 0);
	assert_true(mmu_set_cr3(PD_A));
	assert_int_equal(mmu_host_fault(L(0), false, false, &err, &pa), MMU_HIDDEN);
	assert_host(L(0), WP_RO, F(0));
	assert_true(mmu_set_cr3(PD_B));
	assert_host(L(0), WP_NONE, 0);
}

/* ---- 8: INVLPG ---- */

static void test_invlpg(void **state)
{
	(void)state;
	build_as(PD_A, PT_A);
	*pte(PT_A, L(0)) = F(0) | P | W | U;
	*pte(PT_A, L(1)) = F(1) | P | W | U | A;
	*pte(PT_A, L(2)) = F(2) | P | W | U | A;
	*pde(PD_A, 0x800000) = 0x400000u | P | W | U | PS | A;
	paging_on(PD_A, CR0_WP);
	assert_true(mmu_set_cr4(CR4_PSE));
	uint32_t pa, err;
	assert_int_equal(mmu_host_fault(L(0), false, false, &err, &pa), MMU_HIDDEN);
	uint64_t inv = ctr("mmu.invlpg");
	unsigned c0 = ncalls;
	assert_true(mmu_invlpg(L(1)));
	assert_int_equal(ncalls, c0 + 1);
	assert_call(c0, OP_UNMAP, L(1), 4096, 0, 0);
	assert_host(L(0), WP_RO, F(0));
	assert_host(L(2), WP_RO, F(2));
	assert_int_equal(ctr("mmu.invlpg"), inv + 1);
	c0 = ncalls;
	assert_true(mmu_invlpg(L(1)));               /* not mapped: nothing to do */
	assert_int_equal(ncalls, c0);

	/* A 4 MB page: the rest of it is filled at once, INVLPG drops all of it. */
	c0 = ncalls;
	assert_int_equal(mmu_host_fault(0x900000, false, false, &err, &pa), MMU_HIDDEN);
	assert_int_equal(pa, 0x500000);
	assert_int_equal(ncalls, c0 + 1);
	assert_call(c0, OP_MAP, 0x900000, 0x300000, 0x500000, WP_RO);
	assert_int_equal(mmu_host_fault(0x800000, false, false, &err, &pa), MMU_HIDDEN);
	assert_call(c0 + 1, OP_MAP, 0x800000, 0x100000, 0x400000, WP_RO);
	assert_true(mmu_invlpg(0xa01000));
	for (uint32_t lin = 0x800000; lin < 0xc00000; lin += 0x1000)
		assert_int_equal(hprot[lin >> 12], WP_NONE);
	assert_host(L(0), WP_RO, F(0));
}

/* ---- 9: the user view ---- */

static void test_user_view(void **state)
{
	(void)state;
	build_as(PD_A, PT_A);
	*pte(PT_A, L(0)) = F(0) | P | W | U;
	/* Supervisor; not the next frame, so no run joins the two (that case
	 * is the next test's). */
	*pte(PT_A, L(1)) = F(5) | P | W;
	paging_on(PD_A, CR0_WP);
	uint32_t pa, err;
	assert_int_equal(mmu_host_fault(L(0), false, false, &err, &pa), MMU_HIDDEN);
	assert_int_equal(mmu_host_fault(L(1), false, false, &err, &pa), MMU_HIDDEN);
	assert_true(mmu_set_user(true));
	assert_host(L(0), WP_NONE, 0);
	assert_host(L(1), WP_NONE, 0);
	assert_int_equal(mmu_host_fault(L(0), false, true, &err, &pa), MMU_HIDDEN);
	assert_host(L(0), WP_RO, F(0));
	assert_int_equal(mmu_host_fault(L(1), false, true, &err, &pa), MMU_TRUE);
	assert_int_equal(err, PF_P | PF_U);
	assert_host(L(1), WP_NONE, 0);

	uint64_t hit = ctr("mmu.cr3.cached_hit");
	assert_true(mmu_set_user(false));
	assert_int_equal(ctr("mmu.cr3.cached_hit"), hit + 1);
	assert_host(L(0), WP_RO, F(0));
	assert_host(L(1), WP_RO, F(5));
	assert_false(mmu_set_user(false));
	assert_true(mmu_set_user(true));
	assert_int_equal(ctr("mmu.cr3.cached_hit"), hit + 2);
	assert_host(L(0), WP_RO, F(0));
	assert_host(L(1), WP_NONE, 0);
}

/* Regression (fixed): fill() (shadow_mmu/mmu.c, its 4 KB neighbour loop) extends a run over neighbours with
 * P, A and the next frame but never checks their U bit (struct walk does not
 * even record the privilege), so in the user view a supervisor page next to
 * a user page is mapped and user code reads it without a fault. */
static void test_user_view_run_skips_supervisor_pages(void **state)
{
	(void)state;
	build_as(PD_A, PT_A);
	*pte(PT_A, L(0)) = F(0) | P | W | U;
	*pte(PT_A, L(1)) = F(1) | P | W | A;              /* supervisor, accessed, next frame */
	paging_on(PD_A, CR0_WP);
	mmu_set_user(true);         /* a view of its own or the split: both skip it */
	uint32_t pa, err;
	assert_false(mmu_translate(L(1), ACC_USER, &pa, &err));
	assert_int_equal(err, PF_P | PF_U);
	unsigned c0 = ncalls;
	assert_int_equal(mmu_host_fault(L(0), false, true, &err, &pa), MMU_HIDDEN);
	assert_host(L(1), WP_NONE, 0);
	assert_call(c0, OP_MAP, L(0), 4096, F(0), WP_RO);
}

/* A kernel above its user space (Linux at 0xC0000000): user mode keeps the
 * kernel's shadow, nothing is unmapped or mapped, and its segments are to
 * end at the lowest supervisor page. */
#define KLIN 0xC0000000u
static void test_user_split_keeps_kernel_shadow(void **state)
{
	(void)state;
	build_as(PD_A, PT_A);
	*pte(PT_A, L(0)) = F(0) | P | W | U;
	*pde(PD_A, KLIN) = PT_B | P | W;
	*pte(PT_B, KLIN + 0x3000) = F(7) | P | W;     /* supervisor */
	paging_on(PD_A, CR0_WP);
	uint32_t pa, err;
	assert_int_equal(mmu_host_fault(L(0), false, false, &err, &pa), MMU_HIDDEN);
	assert_int_equal(mmu_host_fault(KLIN + 0x3000, false, false, &err, &pa), MMU_HIDDEN);
	unsigned c0 = ncalls;
	uint64_t split = ctr("mmu.user.split_entries");
	assert_false(mmu_set_user(true));
	assert_int_equal(ncalls, c0);
	assert_int_equal(mmu_user_limit(), KLIN + 0x3000);
	assert_int_equal(ctr("mmu.user.split_entries"), split + 1);
	assert_host(KLIN + 0x3000, WP_RO, F(7));
	/* User mode still gets only what its walk allows. */
	*pte(PT_A, L(2)) = F(9) | P | W;                /* supervisor, below the kernel */
	assert_int_equal(mmu_host_fault(L(2), false, true, &err, &pa), MMU_TRUE);
	assert_int_equal(err, PF_P | PF_U);
	assert_false(mmu_set_user(true));              /* again: no change */
	assert_false(mmu_set_user(false));
	assert_int_equal(mmu_user_limit(), 0);
	assert_int_equal(ncalls, c0);
}

/* Without CR0.WP the kernel may write pages user mode may only read: the
 * views differ, so user mode gets its own. */
static void test_user_split_needs_wp(void **state)
{
	(void)state;
	build_as(PD_A, PT_A);
	*pte(PT_A, L(0)) = F(0) | P | W | U;
	paging_on(PD_A, 0);
	uint32_t pa, err;
	assert_int_equal(mmu_host_fault(L(0), false, false, &err, &pa), MMU_HIDDEN);
	assert_true(mmu_set_user(true));
	assert_int_equal(mmu_user_limit(), 0);
}

/* A supervisor page below a user page: no boundary separates them. */
static void test_user_split_refused_when_kernel_is_low(void **state)
{
	(void)state;
	build_as(PD_A, PT_A);
	*pte(PT_A, L(0)) = F(0) | P | W;                /* supervisor */
	*pde(PD_A, KLIN) = PT_B | P | W | U;
	*pte(PT_B, KLIN) = F(3) | P | W | U;            /* user, above it */
	paging_on(PD_A, CR0_WP);
	uint32_t pa, err;
	assert_int_equal(mmu_host_fault(L(0), false, false, &err, &pa), MMU_HIDDEN);
	assert_int_equal(mmu_host_fault(KLIN, false, false, &err, &pa), MMU_HIDDEN);
	assert_true(mmu_set_user(true));
	assert_int_equal(mmu_user_limit(), 0);
	assert_host(L(0), WP_NONE, 0);
}

/* Regression (a slowdown, fixed): mmu_set_user (shadow_mmu/mmu.c) flushes global pages with
 * flush(false) but as_save (its "e & LM_GLOBAL" skip) leaves them out of the cached view,
 * so every return to kernel mode re-faults all global kernel pages one by
 * one instead of restoring them with the rest of the kernel view. */
static void test_user_switch_restores_global_kernel_pages(void **state)
{
	(void)state;
	build_as(PD_A, PT_A);
	*pte(PT_A, L(0)) = F(0) | P | W | G;              /* a global kernel page */
	paging_on(PD_A, CR0_WP);
	assert_true(mmu_set_cr4(CR4_PGE));
	uint32_t pa, err;
	assert_int_equal(mmu_host_fault(L(0), false, false, &err, &pa), MMU_HIDDEN);
	assert_true(mmu_set_user(true));
	assert_host(L(0), WP_NONE, 0);                    /* not the user's */
	assert_true(mmu_set_user(false));
	assert_host(L(0), WP_RO, F(0));
}

/* ---- the shadow's bookkeeping ---- */

/* Regression (fixed): map_run (shadow_mmu/mmu.c, "filled[m.nfilled++]") appends to filled[] on every fill, but
 * unmap_range (used by INVLPG, page-table writes and stale
 * refills) never removes the entry; only a flush resets m.nfilled. A guest
 * that keeps INVLPG-ing and touching pages without a CR3 load grows
 * m.nfilled without bound and, after 2^20 fills, writes past the end of
 * filled[NPAGES] (a static buffer overflow; see the opt-in test below). Seen
 * here: one mapped page, yet the next full flush takes the "many pages"
 * path and unmaps all of 4 KB..MON_BASE. */
static void test_filled_list_does_not_grow_on_refill(void **state)
{
	(void)state;
	build_as(PD_A, PT_A);
	*pte(PT_A, L(0)) = F(0) | P | W | U;
	paging_on(PD_A, CR0_WP);
	uint32_t pa, err;
	for (unsigned i = 0; i < 300; i++) {
		assert_int_equal(mmu_host_fault(L(0), false, false, &err, &pa), MMU_HIDDEN);
		assert_true(mmu_invlpg(L(0)));
	}
	assert_int_equal(mmu_host_fault(L(0), false, false, &err, &pa), MMU_HIDDEN);
	unsigned c0 = ncalls;
	assert_true(mmu_set_cr0(CR0_BASE | CR0_PG));      /* WP change: full flush */
	assert_int_equal(ncalls, c0 + 1);
	assert_call(c0, OP_UNMAP, L(0), 4096, 0, 0);
}

/* Opt-in (MMU_TEST_OVERFLOW=1, slow): drive filled[] past its end. Under
 * ASan this aborts with a global-buffer-overflow in map_run. */
static void test_filled_overflow(void **state)
{
	(void)state;
	if (!getenv("MMU_TEST_OVERFLOW"))
		skip();
	build_as(PD_A, PT_A);
	*pte(PT_A, L(0)) = F(0) | P | W | U;
	paging_on(PD_A, CR0_WP);
	uint32_t pa, err;
	for (uint32_t i = 0; i < (1u << 20) + 16; i++) {
		mmu_host_fault(L(0), false, false, &err, &pa);
		mmu_invlpg(L(0));
	}
	assert_true(mmu_paging());
}

/* ---- 10: MMIO ---- */

struct mfake { uint32_t off, val; unsigned size, reads, writes; };
static uint32_t m_read(void *opaque, uint32_t off, unsigned size)
{
	struct mfake *f = opaque;
	f->reads++; f->off = off; f->size = size;
	return 0xa5000000u | off;
}
static void m_write(void *opaque, uint32_t off, unsigned size, uint32_t val)
{
	struct mfake *f = opaque;
	f->writes++; f->off = off; f->size = size; f->val = val;
}

/* The region table is static and never reset: these tests use ranges no
 * other test registers. */
static struct mfake mf;
static stat_counter mcount = { "mmu.mmio.fake", 0 };

static void test_mmio(void **state)
{
	(void)state;
	struct mmio_region a = { 0xe0000000u, 0x1000, m_read, m_write, &mf, &mcount };
	assert_int_equal(mmio_register(&a), 0);
	assert_ptr_equal(stats_find("mmu.mmio.fake"), &mcount);
	struct mmio_region bad = a;
	bad.base = 0xe0000800u;
	assert_int_equal(mmio_register(&bad), -1);
	bad.base = 0xdffff000u; bad.len = 0x3000;          /* covers a */
	assert_int_equal(mmio_register(&bad), -1);
	bad.base = 0xdffff000u; bad.len = 0x1001;          /* one byte into a */
	assert_int_equal(mmio_register(&bad), -1);
	bad.base = 0xe1000000u; bad.len = 0;
	assert_int_equal(mmio_register(&bad), -1);
	struct mmio_region b = { 0xe0001000u, 0x100, m_read, m_write, &mf, NULL };
	assert_int_equal(mmio_register(&b), 0);             /* adjacent is fine */

	const struct mmio_region *r = mmio_find(0xe0000fffu);
	assert_non_null(r);
	assert_int_equal(r->base, 0xe0000000u);
	r = mmio_find(0xe0001000u);
	assert_non_null(r);
	assert_int_equal(r->base, 0xe0001000u);
	assert_null(mmio_find(0xe0001100u));
	assert_null(mmio_find(0xdfffffffu));

	r = mmio_find(0xe0000010u);
	uint64_t before = mcount.value;
	assert_int_equal(mmio_read(r, 0xe0000012u, 2), 0xa5000012u);
	assert_int_equal(mf.off, 0x12);
	assert_int_equal(mf.size, 2);
	assert_int_equal(mcount.value, before + 1);
	mmio_write(r, 0xe0000ffcu, 4, 0xdeadbeefu);
	assert_int_equal(mf.writes, 1);
	assert_int_equal(mf.off, 0xffc);
	assert_int_equal(mf.size, 4);
	assert_int_equal(mf.val, 0xdeadbeefu);
	assert_int_equal(mcount.value, before + 2);
	r = mmio_find(0xe0001004u);
	mmio_write(r, 0xe0001004u, 1, 7);                   /* no counter: still dispatched */
	assert_int_equal(mf.off, 4);
	assert_int_equal(mf.writes, 2);
	assert_int_equal(mcount.value, before + 2);
}

/* Regression (fixed): mmio_register's overlap test (shadow_mmu/mmio.c:14) computes
 * base + len in 32 bits; for a region ending at 4 GiB it wraps to 0, so
 * nothing overlapping that region is ever rejected. */
static void test_mmio_overlap_at_top(void **state)
{
	(void)state;
	struct mmio_region top = { 0xffff0000u, 0x10000, m_read, m_write, &mf, NULL };
	assert_int_equal(mmio_register(&top), 0);
	struct mmio_region inside = { 0xffff8000u, 0x1000, m_read, m_write, &mf, NULL };
	assert_int_equal(mmio_register(&inside), -1);
}

/* ---- ROM-like owners (last: see the discard_mask finding) ---- */

static void test_discard_owner(void **state)
{
	(void)state;
	int rom = mmu_trace_owner("rom", NULL, NULL, true);
	struct wlog wl = { 0 };
	int code = mmu_trace_owner("code", on_write, &wl, false);
	assert_true(rom > 0 && code > rom);
	mmu_trace(0x60, rom, true);
	mmu_trace(0x61, code, true);
	uint64_t disc = ctr("mmu.trace.writes_discarded");
	assert_false(mmu_write_allowed(0x60123));
	assert_int_equal(ctr("mmu.trace.writes_discarded"), disc + 1);
	assert_true(mmu_write_allowed(0x61000));
	assert_true(mmu_write_allowed(0x62000));
	assert_false(mmu_release_page(0x60));
	assert_true(mmu_release_page(0x61));
	assert_int_equal(wl.n, 1);
	assert_int_equal(wl.pa[0], 0x61000);
	assert_int_equal(wl.len[0], 0x1000);
	/* Both owners on one page: the ROM wins, nobody is told. */
	mmu_trace(0x61, rom, true);
	assert_false(mmu_release_page(0x61));
	assert_int_equal(wl.n, 1);
}

/* ---- state that survives mmu_init (mmu_init runs once per VM today,
 * vmm/monitor.c:388, so these bite only on a re-initialisation) ---- */

/* Regression (fixed): mmu_init (shadow_mmu/mmu.c) resets m.nowners but not m.discard_mask, so an
 * owner registered after a re-init at the slot of a former discard owner is
 * treated as ROM: its pages can never be written. */
static void test_reinit_forgets_discard_owners(void **state)
{
	(void)state;
	assert_int_equal(mmu_trace_owner("rom", NULL, NULL, true), 1);
	reinit();
	struct wlog wl = { 0 };
	assert_int_equal(mmu_trace_owner("code", on_write, &wl, false), 1);
	mmu_trace(0x70, 1, true);
	assert_true(mmu_write_allowed(0x70000));
	assert_true(mmu_release_page(0x70));
}

/* Regression (fixed): mmu_init does not clear lmap[] (nor filled[], slots[], pt_refs[],
 * npt_pages, m.user). A page the shadow had mapped before a re-init stays
 * LM_MAPPED; set_paging(on) then zeroes m.nfilled so no flush ever clears
 * it, and every host fault on it is answered MMU_HIDDEN ("stale host view",
 * the end of mmu_host_fault) without mapping anything: the guest faults forever. */
static void test_reinit_forgets_shadow(void **state)
{
	(void)state;
	build_as(PD_A, PT_A);
	*pte(PT_A, L(0)) = F(0) | P | W | U;
	paging_on(PD_A, CR0_WP);
	uint32_t pa, err;
	assert_int_equal(mmu_host_fault(L(0), false, false, &err, &pa), MMU_HIDDEN);
	reinit();
	paging_on(PD_A, CR0_WP);
	unsigned c0 = ncalls;
	assert_int_equal(mmu_host_fault(L(0), false, false, &err, &pa), MMU_HIDDEN);
	assert_true(ncalls > c0);
	assert_call(c0, OP_MAP, L(0), 4096, F(0), WP_RO);
}

/* Regression (fixed): the same for the address-space cache: a slot saved before mmu_init
 * is restored afterwards, mapping frames the new tables never named. */
static void test_reinit_forgets_cached_address_spaces(void **state)
{
	(void)state;
	build_as(PD_A, PT_A);
	*pte(PT_A, L(0)) = F(0) | P | W | U;
	build_as(PD_B, PT_B);
	paging_on(PD_A, CR0_WP);
	uint32_t pa, err;
	assert_int_equal(mmu_host_fault(L(0), false, false, &err, &pa), MMU_HIDDEN);
	assert_true(mmu_set_cr3(PD_B));          /* A's shadow goes to the cache */
	memset(ram, 0, RAM_SIZE);                /* a new VM: no tables at all */
	reinit();
	build_as(PD_B, PT_B);
	paging_on(PD_B, CR0_WP);
	uint64_t hit = ctr("mmu.cr3.cached_hit");
	assert_true(mmu_set_cr3(PD_A));
	assert_host(L(0), WP_NONE, 0);
	assert_int_equal(ctr("mmu.cr3.cached_hit"), hit);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_paging_off_identity_and_traces),
		T(test_paging_on_unmaps_low_range),
		T(test_translate_4k_sets_a_and_d),
		T(test_translate_4m_needs_pse),
		T(test_translate_not_present_codes),
		T(test_translate_protection),
		T(test_host_fault_fills_runs),
		T(test_host_fault_true_and_outside),
		T(test_trace_owner_ids),
		T(test_trace_aliases_and_notify),
		T(test_pagetable_writes_drop_shadows),
		T(test_cr3_cache),
		T(test_global_pages_survive_cr3),
		T(test_invlpg),
		T(test_user_view),
		T(test_user_view_run_skips_supervisor_pages),
		T(test_user_split_keeps_kernel_shadow),
		T(test_user_split_needs_wp),
		T(test_user_split_refused_when_kernel_is_low),
		T(test_user_switch_restores_global_kernel_pages),
		T(test_filled_list_does_not_grow_on_refill),
		T(test_filled_overflow),
		T(test_mmio),
		T(test_mmio_overlap_at_top),
		T(test_discard_owner),
		T(test_reinit_forgets_discard_owners),
		T(test_reinit_forgets_shadow),
		T(test_reinit_forgets_cached_address_spaces),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
