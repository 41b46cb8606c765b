/* The shadow MMU: walks the guest's 2-level page tables (4 KB and 4 MB
 * pages), sets accessed/dirty bits in them as the hardware does, and keeps
 * the host mappings of the low 4 GiB (the shadow) consistent with them:
 * filled on demand in runs, read-only until a page is dirty or while it is
 * traced, dropped on CR3 loads (but for global pages) and INVLPG, exactly
 * the freedom a TLB has. With paging off the shadow is RAM mapped 1:1. */
#include "mmu.h"
#include "mon_area.h"
#include "stats.h"

#define PTE_P   0x001u
#define PTE_W   0x002u
#define PTE_U   0x004u
#define PTE_A   0x020u
#define PTE_D   0x040u
#define PTE_PS  0x080u
#define PTE_G   0x100u
#define CR0_WP  0x00010000u
#define CR0_PG  0x80000000u
#define CR4_PSE 0x10u
#define CR4_PGE 0x80u

#define NPAGES  (1u << 20)            /* linear pages in 4 GiB */
#define MAXRAMPAGES ((3072u << 20) >> 12)
#include "tunables.h"
#define RUN_MAX TUNE_FILL_RUN_MAX

/* Per linear page: what the shadow maps there. */
#define LM_MAPPED 0x1u
#define LM_RW     0x2u
#define LM_LARGE  0x4u                /* filled from a 4 MB guest page */
#define LM_GLOBAL 0x8u
#define LM_LISTED 0x10u               /* in filled[] (mapped or not): listed once */
#define LM_USER   0x20u               /* a user page (U/S=1 in both levels) */
#define LM_EXEC   0x40u               /* directly executed guest code may fetch from it */
#define LM_PPN_SHIFT 12

static struct {
	struct mmu_config c;
	uint32_t cr0, cr3, cr4;
	bool pg;
	bool user;          /* the shadow is user mode's view: user pages only */
	/* User mode served by segment limits instead of a view of its own:
	 * every supervisor page of the shadow lies at or above sup_floor and
	 * every user page below it, so truncating user mode's segments there
	 * hides the kernel without unmapping it (kernels that keep user space
	 * below themselves, as Linux does, cross the boundary for free). */
	bool split;
	uint32_t sup_floor, user_top;   /* linear page numbers */
	unsigned nowners;
	uint8_t discard_mask;
	uint8_t read_mask;  /* owners that hear reads too: their pages are mapped not present */
	uint32_t revealed;  /* 1 + the linear page mmu_reveal left readable, 0: none */
	uint32_t nfilled;
	stat_counter hidden, truef, fill_calls, fill_pages, flushes, invlpg, cr3_switch, ad_set,
		     traced_writes, upgrades, pt_writes, pt_dropped, pt_traced, cr3_cached, cr3_cache_dropped,
		     rom_dropped, prefilled, split_entries, exec_grants, pt_unchanged;
} m = {
	.hidden = {"mmu.fault.hidden", 0}, .truef = {"mmu.fault.true", 0},
	.fill_calls = {"mmu.fill.calls", 0}, .fill_pages = {"mmu.fill.pages", 0},
	.flushes = {"mmu.flush", 0}, .invlpg = {"mmu.invlpg", 0},
	.cr3_switch = {"mmu.cr3.switch", 0}, .ad_set = {"mmu.ad.set", 0},
	.traced_writes = {"mmu.trace.hit", 0}, .upgrades = {"mmu.fault.dirty", 0},
	.pt_writes = {"mmu.trace.pt_entries_written", 0}, .pt_dropped = {"mmu.trace.shadow_dropped", 0},
	.rom_dropped = {"mmu.trace.writes_discarded", 0}, .prefilled = {"mmu.fill.on_pte_write", 0},
	.pt_traced = {"mmu.trace.pagetables", 0},
	.cr3_cached = {"mmu.cr3.cached_hit", 0}, .cr3_cache_dropped = {"mmu.cr3.cache_dropped", 0},
	.split_entries = {"mmu.user.split_entries", 0},
	.exec_grants = {"mmu.user.exec_grants", 0},
	.pt_unchanged = {"mmu.trace.pt_entries_unchanged", 0},
};
/* The tables below are carved by mmu_init from the zeroed memory the world
 * gives (mmu_mem_size bytes): the driver world's monitor cannot carry them
 * as 17 MiB of .bss. */
static uint32_t *lmap;                   /* [NPAGES] LM_* | ppn << 12 */
static uint32_t *filled;                 /* [NPAGES] linear pages with LM_MAPPED, for flushes */
/* Which owners trace a guest-physical page: bit n for owner n; owner 0 is
 * the MMU itself (a page directory or table the walk went through). */
#define TR_PT   0x1u
static uint8_t *traced;                  /* [MAXRAMPAGES] */
static struct trace_owner {
	mmu_trace_fn on_write, on_read;
	void *opaque;
	bool discard;
	char name[40];
	stat_counter hits;
} owners[TRACE_OWNERS];
/* The page-table pages the current address space's shadow was built from
 * (each once: pt_stamp says which switch epoch listed it), and how many
 * address spaces, current or cached, list each page: a page stays traced
 * while any does. */
/* Per page table: 1 + the directory entry a walk last found it under, so
 * a write to it usually needs one directory entry checked, not 1024. */
static uint16_t *pt_pde;                 /* [MAXRAMPAGES] */
static uint32_t *pt_pages;               /* [MAXRAMPAGES] */
static uint32_t npt_pages;
static uint32_t *pt_stamp;               /* [MAXRAMPAGES] */
static uint8_t *pt_refs;                 /* [MAXRAMPAGES] */
static uint32_t epoch = 1;

/* Shadows of address spaces switched away from, kept as runs and mapped
 * back at once when their CR3 returns. One stays valid only while none of
 * the page-table pages it was built from is written (they stay traced). */
#define AS_SLOTS TUNE_AS_SLOTS
#define AS_RUNS TUNE_AS_RUNS
#define AS_PTS TUNE_AS_PTS
struct as_run { uint32_t lpn, ppn; uint16_t n, flags; };
static struct as_slot {
	bool valid;
	uint32_t cr3, nruns, npts;
	uint64_t used;
	struct as_run runs[AS_RUNS];
	uint32_t pts[AS_PTS];
} *slots;                                /* [AS_SLOTS] */
static uint64_t as_clock;

static uint32_t ram_pages(void) { return m.c.ram_size >> 12; }

void *mmu_phys_ptr(uint32_t pa, uint32_t len)
{
	if (pa >= m.c.ram_size || len > m.c.ram_size - pa)
		return (void *)0;
	return m.c.ram + pa;
}

static void notify(uint32_t pa, uint32_t len, uint8_t skip);
static int paging_off_prot(uint32_t ppn);
static void reprotect_aliases(uint32_t ppn);
static void split_reset(void);
static void pt_written(uint32_t pa, uint32_t len);
static void count_hits(uint32_t ppn);

static uint32_t rd32(uint32_t pa)
{
	uint32_t *p = mmu_phys_ptr(pa, 4);
	return p ? *p : 0;       /* a table outside RAM reads as not present */
}

static void wr32(uint32_t pa, uint32_t v)
{
	uint32_t *p = mmu_phys_ptr(pa, 4);
	if (!p)
		return;
	*p = v;
	stat_inc(&m.ad_set);
	notify(pa, 4, TR_PT);    /* A/D bits: no mapping changed, but other owners care */
}

/* The tables' layout in the world's memory, each aligned to 64 bytes. */
#define MMU_TABLES(X) X(lmap, NPAGES) X(filled, NPAGES) X(traced, MAXRAMPAGES) \
	X(pt_pde, MAXRAMPAGES) X(pt_pages, MAXRAMPAGES) X(pt_stamp, MAXRAMPAGES) \
	X(pt_refs, MAXRAMPAGES) X(slots, AS_SLOTS)
#define MMU_TABLE_BYTES(t, n) + ((sizeof(*t) * (n) + 63) & ~(size_t)63)
size_t mmu_mem_size(void)
{
	return 0 MMU_TABLES(MMU_TABLE_BYTES);
}

int mmu_init(const struct mmu_config *c)
{
	if (c->mem_size < mmu_mem_size() || ((uintptr_t)c->mem & 63))
		return -1;
	uint8_t *p = c->mem;
#define MMU_TABLE_CARVE(t, n) t = (void *)p; p += (sizeof(*t) * (n) + 63) & ~(size_t)63;
	MMU_TABLES(MMU_TABLE_CARVE)
	m.c = *c;
	m.cr0 = 0x11; m.cr3 = 0; m.cr4 = 0; m.pg = false; m.nfilled = 0;
	m.user = false;
	m.discard_mask = 0;
	m.read_mask = 0;
	m.revealed = 0;
	for (uint32_t i = 0; i < NPAGES; i++)
		lmap[i] = 0;
	for (unsigned i = 0; i < AS_SLOTS; i++)
		slots[i].valid = false;
	for (uint32_t i = 0; i < MAXRAMPAGES; i++) {
		pt_refs[i] = 0;
		pt_stamp[i] = 0;
		pt_pde[i] = 0;
	}
	npt_pages = 0;
	epoch = 1;
	stat_counter *all = &m.hidden;
	for (unsigned i = 0; i < 20; i++)
		stats_register(&all[i]);
	m.split = false;
	split_reset();
	m.nowners = 0;
	mmu_trace_owner("pagetable", (mmu_trace_fn)0, (void *)0, false);
	for (uint32_t i = 0; i < ram_pages() && i < MAXRAMPAGES; i++)
		traced[i] = 0;
	/* Paging off: guest-linear is guest-physical. */
	m.c.w->map(0, m.c.ram_size, 0, WP_RW);
	return 0;
}

bool mmu_paging(void) { return m.pg; }

uint32_t mmu_user_limit(void) { return m.split ? m.sup_floor << 12 : 0; }

bool mmu_lin_global(uint32_t lin)
{
	if (!m.pg || !(m.cr4 & CR4_PGE))
		return false;
	uint32_t pde = rd32((m.cr3 & ~0xfffu) + ((lin >> 22) << 2));
	if (!(pde & PTE_P))
		return false;
	if ((pde & PTE_PS) && (m.cr4 & CR4_PSE))
		return pde & PTE_G;
	uint32_t pte = rd32((pde & ~0xfffu) + (((lin >> 12) & 0x3ffu) << 2));
	return (pte & PTE_P) && (pte & PTE_G);
}

static void pt_trace(uint32_t ppn);
static void flush(bool keep_global);

struct walk {
	uint32_t pa;
	uint32_t pte_pa;        /* the entry that maps the page (PDE for 4 MB pages) */
	bool writable, dirty, large, global, user;
};

/* The hardware's walk for one access. Sets A (and D on writes) when the
 * access is allowed, never when it faults. */
static bool walk(uint32_t lin, unsigned acc, struct walk *w, uint32_t *err)
{
	bool user = acc & ACC_USER, write = acc & ACC_WRITE;
	uint32_t pde_pa = (m.cr3 & ~0xfffu) + ((lin >> 22) << 2);
	uint32_t pde = rd32(pde_pa);
	*err = (acc & (ACC_WRITE | ACC_USER));
	/* Shadows are built from this directory from now on: trace it. */
	pt_trace(pde_pa >> 12);
	if (!(pde & PTE_P))
		return false;
	uint32_t eff_w, eff_u, pte, pte_pa;
	if ((pde & PTE_PS) && (m.cr4 & CR4_PSE)) {
		w->large = true;
		pte = pde; pte_pa = pde_pa;
		eff_w = pde & PTE_W; eff_u = pde & PTE_U;
		w->pa = (pde & 0xffc00000u) | (lin & 0x003fffffu);
	} else {
		w->large = false;
		pte_pa = (pde & ~0xfffu) + (((lin >> 12) & 0x3ffu) << 2);
		pt_trace(pte_pa >> 12);
		if ((pte_pa >> 12) < ram_pages())
			pt_pde[pte_pa >> 12] = (uint16_t)((lin >> 22) + 1);
		pte = rd32(pte_pa);
		if (!(pte & PTE_P))
			return false;
		eff_w = pde & pte & PTE_W; eff_u = pde & pte & PTE_U;
		w->pa = (pte & ~0xfffu) | (lin & 0xfffu);
	}
	*err |= PF_P;
	if (user && !eff_u)
		return false;
	bool can_write = eff_w || (!user && !(m.cr0 & CR0_WP));
	if (write && !can_write)
		return false;
	/* Accessed bits on the way down, dirty on the leaf for a write. */
	if (!w->large && !(pde & PTE_A))
		wr32(pde_pa, pde | PTE_A);
	uint32_t npte = pte | PTE_A | (write ? PTE_D : 0);
	if (npte != pte)
		wr32(pte_pa, npte);
	w->pte_pa = pte_pa;
	w->writable = can_write;
	w->dirty = npte & PTE_D;
	w->global = (npte & PTE_G) && (m.cr4 & CR4_PGE);
	w->user = eff_u;
	return true;
}

bool mmu_translate(uint32_t lin, unsigned acc, uint32_t *pa, uint32_t *pf_err)
{
	if (!m.pg) {
		*pa = lin;
		return true;
	}
	struct walk w;
	if (!walk(lin, acc & (ACC_WRITE | ACC_USER), &w, pf_err))
		return false;
	*pa = w.pa;
	return true;
}

bool mmu_page_traced(uint32_t ppn) { return ppn < ram_pages() && traced[ppn]; }
bool mmu_page_read_traced(uint32_t ppn) { return ppn < ram_pages() && (traced[ppn] & m.read_mask); }

/* The world's protection for the shadow entry of linear page lpn: none at
 * all for a read-traced page (every access faults), but the one alias an
 * instruction the monitor cannot perform reads through (mmu_reveal). */
static int prot_of(uint32_t lpn)
{
	uint32_t e = lmap[lpn];
	if (mmu_page_read_traced(e >> LM_PPN_SHIFT) && m.revealed != lpn + 1)
		return WP_NONE;
	return ((e & LM_RW) ? WP_RW : WP_RO) | ((e & LM_EXEC) ? WP_X : 0);
}

/* Make every present linear alias of ppn read-only in the shadow. */
static void protect_aliases(uint32_t ppn)
{
	for (uint32_t i = 0; i < m.nfilled; i++) {
		uint32_t lpn = filled[i];
		if ((lmap[lpn] & LM_MAPPED) && (lmap[lpn] >> LM_PPN_SHIFT) == ppn && (lmap[lpn] & LM_RW)) {
			lmap[lpn] &= ~LM_RW;
			m.c.w->protect(lpn << 12, 4096, prot_of(lpn));
		}
	}
}

bool mmu_grant_exec(uint32_t lin, bool supervisor)
{
	uint32_t lpn = lin >> 12;
	if (!m.pg || lin >= MON_BASE || !(lmap[lpn] & LM_MAPPED) || !(supervisor || (lmap[lpn] & LM_USER)))
		return false;
	if (!(lmap[lpn] & LM_EXEC)) {
		lmap[lpn] |= LM_EXEC;
		m.c.w->protect(lpn << 12, 4096, prot_of(lpn));
		stat_inc(&m.exec_grants);
	}
	return true;
}

void mmu_drop_exec(uint32_t ppn)
{
	/* Kept shadows would map it executable again when their CR3 comes
	 * back: their runs holding it lose the right (the neighbours get it
	 * back by a fault each). */
	for (unsigned i = 0; i < AS_SLOTS; i++)
		for (uint32_t k = 0; slots[i].valid && k < slots[i].nruns; k++) {
			struct as_run *r = &slots[i].runs[k];
			if ((r->flags & LM_EXEC) && ppn >= r->ppn && ppn - r->ppn < r->n)
				r->flags &= (uint16_t)~LM_EXEC;
		}
	for (uint32_t i = 0; i < m.nfilled; i++) {
		uint32_t lpn = filled[i];
		if ((lmap[lpn] & (LM_MAPPED | LM_EXEC)) == (LM_MAPPED | LM_EXEC) && (lmap[lpn] >> LM_PPN_SHIFT) == ppn) {
			lmap[lpn] &= ~LM_EXEC;
			m.c.w->protect(lpn << 12, 4096, prot_of(lpn));
		}
	}
}

static void pt_ref(uint32_t ppn)
{
	pt_refs[ppn]++;
	if (traced[ppn] & TR_PT)
		return;
	bool was = traced[ppn];
	traced[ppn] |= TR_PT;
	stat_inc(&m.pt_traced);
	if (!was)
		protect_aliases(ppn);
}

/* No address space uses the page as a table any more: writes to it are
 * plain writes again (its mappings stay read-only until a write upgrades
 * them, a hidden fault). */
static void pt_unref(uint32_t ppn)
{
	if (pt_refs[ppn] && --pt_refs[ppn] == 0)
		traced[ppn] &= (uint8_t)~TR_PT;
}

static void pt_trace(uint32_t ppn)
{
	if (!m.pg || ppn >= ram_pages() || pt_stamp[ppn] == epoch)
		return;
	pt_stamp[ppn] = epoch;
	pt_pages[npt_pages++] = ppn;
	pt_ref(ppn);
}

/* The current address space's list starts over. */
static void pt_untrace_all(void)
{
	for (uint32_t i = 0; i < npt_pages; i++)
		pt_unref(pt_pages[i]);
	npt_pages = 0;
	epoch++;
}

static void as_drop(struct as_slot *s)
{
	if (!s->valid)
		return;
	for (uint32_t i = 0; i < s->npts; i++)
		pt_unref(s->pts[i]);
	s->valid = false;
	stat_inc(&m.cr3_cache_dropped);
}

static void as_drop_all(void)
{
	for (unsigned i = 0; i < AS_SLOTS; i++)
		as_drop(&slots[i]);
}

/* Cached shadows built from page ppn are stale once it is written. */
static void as_drop_using(uint32_t ppn)
{
	for (unsigned i = 0; i < AS_SLOTS; i++)
		for (uint32_t k = 0; slots[i].valid && k < slots[i].npts; k++)
			if (slots[i].pts[k] == ppn)
				as_drop(&slots[i]);
}

/* A page table is about to be written natively: no way to know which
 * entries change, so every shadow built from it goes and the current list
 * starts over. */
static void pt_release(uint32_t ppn)
{
	if (ppn >= ram_pages() || !(traced[ppn] & TR_PT))
		return;
	as_drop_using(ppn);
	flush(false);
	pt_untrace_all();
}

static void unmap_range(uint32_t lpn, uint32_t n);

/* An entry with no shadow (it was not present, or not used yet) was
 * written present through a table the current address space uses: map it
 * now rather than take the hidden fault that would follow, but only if the
 * guest already marked it accessed (and dirty to map it writable), so the
 * A/D bits stay what the hardware would set. */
static void fill(uint32_t lin, const struct walk *w);

/* The entries a monitor write is about to change, as they were (a write
 * covers at most two entries of one table page: 8 bytes). */
static struct { uint32_t page, first, n, old[2]; } pre;

void mmu_before_write(uint32_t pa, uint32_t len)
{
	pre.n = 0;
	uint32_t ppn = pa >> 12;
	if (!m.pg || ppn >= ram_pages() || !(traced[ppn] & TR_PT) || len > 8)
		return;
	pre.page = pa & ~0xfffu;
	pre.first = (pa & 0xfffu) >> 2;
	for (uint32_t j = pre.first; j <= ((pa & 0xfffu) + len - 1) >> 2 && j < 1024 && pre.n < 2; j++)
		pre.old[pre.n++] = rd32(pre.page + j * 4);
}

static bool was_not_present(uint32_t page, uint32_t j)
{
	return pre.n && pre.page == page && j >= pre.first && j < pre.first + pre.n &&
	       !(pre.old[j - pre.first] & PTE_P);
}

static void prefill(uint32_t lin, uint32_t pde, uint32_t j)
{
	uint32_t pte = rd32((pde & ~0xfffu) + j * 4);
	if (!(pte & PTE_P) || !(pte & PTE_A) || !(pde & PTE_A) || (lmap[lin >> 12] & LM_MAPPED) || lin >= MON_BASE)
		return;
	struct walk w;
	uint32_t err;
	if (!walk(lin, (m.user || m.split) ? ACC_USER : 0, &w, &err) || (w.pa >> 12) >= ram_pages())
		return;
	stat_inc(&m.prefilled);
	fill(lin, &w);
}

/* Entries of a traced page table were written (within one page): the
 * shadows built from them go (the next access refills from the new entry). */
/* If directory entry i maps table page ppn, its entry j changed: the
 * shadow built from it goes (refilled by the next access if there is
 * one), or, for an entry that just became present, is made now. Returns
 * whether entry i maps that table. */
static bool table_entry_changed(uint32_t pd_pa, uint32_t i, uint32_t ppn, uint32_t j, bool became_present)
{
	uint32_t pde = rd32(pd_pa + i * 4);
	if (!(pde & PTE_P) || ((pde & PTE_PS) && (m.cr4 & CR4_PSE)) || (pde >> 12) != ppn)
		return false;
	if (lmap[(i << 10) | j] & LM_MAPPED) {
		unmap_range((i << 10) | j, 1);
		stat_inc(&m.pt_dropped);
	}
	if (became_present)
		prefill((i << 22) | (j << 12), pde, j);
	return true;
}

/* The entry holds what it held before the monitor's write (a kernel
 * rewriting a PTE with its own value): nothing the shadow holds changed. */
static bool entry_unchanged(uint32_t page, uint32_t j)
{
	return pre.n && pre.page == page && j >= pre.first && j < pre.first + pre.n &&
	       pre.old[j - pre.first] == rd32(page + j * 4);
}

static void pt_written(uint32_t pa, uint32_t len)
{
	if (!m.pg || !len)
		return;
	uint32_t ppn = pa >> 12;
	if (ppn >= ram_pages() || !(traced[ppn] & TR_PT))
		return;
	stat_inc(&m.pt_writes);
	uint32_t first = (pa & 0xfffu) >> 2, last = ((pa & 0xfffu) + len - 1) >> 2;
	if (last > 1023)
		last = 1023;
	bool changed = false;
	for (uint32_t j = first; j <= last && !changed; j++)
		changed = !entry_unchanged(pa & ~0xfffu, j);
	if (!changed) {
		stat_inc(&m.pt_unchanged);
		pre.n = 0;          /* that write's record is used up */
		return;
	}
	as_drop_using(ppn);
	uint32_t pd_pa = m.cr3 & ~0xfffu;
	for (uint32_t j = first; j <= last; j++) {
		if (ppn == pd_pa >> 12) {
			/* A directory entry: its whole 4 MB region. */
			for (uint32_t k = 0; k < 1024; k++)
				if (lmap[(j << 10) | k] & LM_MAPPED) {
					unmap_range((j << 10) | k, 1);
					stat_inc(&m.pt_dropped);
				}
		}
		/* A table entry: the directory entries using this table (the one
		 * the walk saw it under if that still holds, else all of them). */
		uint32_t hint = pt_pde[ppn] ? pt_pde[ppn] - 1u : 1024u;
		if (hint < 1024 && table_entry_changed(pd_pa, hint, ppn, j, was_not_present(pa & ~0xfffu, j)))
			continue;
		for (uint32_t i = 0; i < 1024; i++)
			table_entry_changed(pd_pa, i, ppn, j, false);
	}
	pre.n = 0;
}

/* ---- the shadow itself ---- */

static void unmap_range(uint32_t lpn, uint32_t n)
{
	m.c.w->unmap(lpn << 12, n << 12);
	for (uint32_t i = 0; i < n; i++)
		lmap[lpn + i] &= LM_LISTED;   /* stays listed: refills do not grow the list */
}

/* Maps n linear pages from lpn to guest-physical pages from ppn. Traced
 * pages inside the run are then made read-only one by one. */
static void map_run(uint32_t lpn, uint32_t ppn, uint32_t n, bool rw, uint32_t flags)
{
	m.c.w->map(lpn << 12, n << 12, ppn << 12, (rw ? WP_RW : WP_RO) | ((flags & LM_EXEC) ? WP_X : 0));
	if (flags & LM_USER) {
		if (lpn + n > m.user_top)
			m.user_top = lpn + n;
	} else if (lpn < m.sup_floor) {
		m.sup_floor = lpn;
	}
	stat_inc(&m.fill_calls);
	stat_add(&m.fill_pages, n);
	for (uint32_t i = 0; i < n; i++) {
		bool t = mmu_page_traced(ppn + i);
		bool listed = lmap[lpn + i] & LM_LISTED;
		lmap[lpn + i] = LM_MAPPED | LM_LISTED | (rw && !t ? LM_RW : 0) | flags | ((ppn + i) << LM_PPN_SHIFT);
		if (!listed)
			filled[m.nfilled++] = lpn + i;
		if ((rw && t) || mmu_page_read_traced(ppn + i))
			m.c.w->protect((lpn + i) << 12, 4096, prot_of(lpn + i));
	}
}

static bool fillable(uint32_t lpn) { return lpn > 0 && lpn < (MON_BASE >> 12) && !(lmap[lpn] & LM_MAPPED); }

/* Fill after a walk: the page itself, plus neighbours whose entries the
 * guest already marked accessed (and dirty, to map them writable), so the
 * A/D bits stay exactly what the hardware would have set. */
static void fill(uint32_t lin, const struct walk *w)
{
	uint32_t lpn = lin >> 12, ppn = w->pa >> 12;
	if (ppn >= ram_pages())
		return;
	bool rw = w->writable && w->dirty;
	uint32_t flags = (w->large ? LM_LARGE : 0) | (w->global ? LM_GLOBAL : 0) | (w->user ? LM_USER : 0);
	uint32_t n = 1;
	if (w->large) {
		/* The rest of the 4 MB page shares one entry, its A and D bits. */
		uint32_t end = (lpn | 0x3ffu) + 1;
		while (lpn + n < end && fillable(lpn + n) && ppn + n < ram_pages())
			n++;
	} else {
		uint32_t pte_pa = w->pte_pa;
		while (n < RUN_MAX && ((lpn + n) & 0x3ffu) != 0 && fillable(lpn + n)) {
			uint32_t pte = rd32(pte_pa + n * 4);
			uint32_t need = PTE_P | PTE_A | (rw ? PTE_D | PTE_W : 0);
			if ((pte & need) != need || (pte >> 12) != ppn + n || ppn + n >= ram_pages())
				break;
			if (!rw && (pte & PTE_W) && (pte & PTE_D) && w->writable)
				break;      /* would map a writable dirty page read-only: fine but keep runs uniform */
			if (((pte & PTE_G) && (m.cr4 & CR4_PGE)) != w->global)
				break;
			if (!(pte & PTE_U) == w->user)
				break;      /* runs are all user or all supervisor pages */
			n++;
		}
	}
	map_run(lpn, ppn, n, rw, flags);
}

/* Nothing mapped: no page constrains the boundary yet. */
static void split_reset(void)
{
	m.sup_floor = MON_BASE >> 12;
	m.user_top = 0;
}

static void flush(bool keep_global)
{
	if (!m.pg || m.nfilled == 0)
		return;
	stat_inc(&m.flushes);
	uint32_t kept = 0;
	if (!keep_global && m.nfilled > 256) {
		/* Many pages: one call over the whole range is cheaper. */
		m.c.w->unmap(0x1000, MON_BASE - 0x1000);
		for (uint32_t i = 0; i < m.nfilled; i++)
			lmap[filled[i]] = 0;
		m.nfilled = 0;
		split_reset();
		return;
	}
	for (uint32_t i = 0; i < m.nfilled; i++) {
		uint32_t lpn = filled[i];
		if (!(lmap[lpn] & LM_MAPPED)) {
			lmap[lpn] = 0;                 /* off the list */
			continue;
		}
		if (keep_global && (lmap[lpn] & LM_GLOBAL)) {
			filled[kept++] = lpn;
			continue;
		}
		uint32_t n = 1;
		while (i + n < m.nfilled && filled[i + n] == lpn + n && (lmap[lpn + n] & LM_MAPPED) &&
		       !(keep_global && (lmap[lpn + n] & LM_GLOBAL)))
			n++;
		unmap_range(lpn, n);
		for (uint32_t k = 0; k < n; k++)
			lmap[lpn + k] = 0;
		i += n - 1;
	}
	m.nfilled = kept;
	if (!kept)
		split_reset();
}

static void set_paging(bool on)
{
	if (on == m.pg)
		return;
	if (on) {
		m.c.w->unmap(0x1000, MON_BASE - 0x1000);
		m.pg = true;
		m.nfilled = 0;
	} else {
		flush(false);
		pt_untrace_all();
		as_drop_all();
		m.pg = false;
		m.c.w->map(0, m.c.ram_size, 0, WP_RW);
		for (uint32_t p = 1; p < ram_pages(); p++)
			if (traced[p])
				m.c.w->protect(p << 12, 4096, paging_off_prot(p));
	}
}

bool mmu_set_cr0(uint32_t cr0)
{
	uint32_t old = m.cr0;
	m.cr0 = cr0;
	if ((old ^ cr0) & CR0_PG) {
		set_paging(cr0 & CR0_PG);
		return true;
	}
	if ((old ^ cr0) & CR0_WP) {
		flush(false);
		as_drop_all();
		return true;
	}
	return false;
}

/* Which cached shadow: the address space and the privilege it serves
 * (bit 0 of CR3 is not an address bit). */
static uint32_t view_key(void) { return (m.cr3 & ~0xfffu) | (m.user ? 1u : 0u); }

/* Keep the shadow of the address space (or view) being left, as runs of
 * pages; global pages too when they are about to be dropped (a change of
 * view), not when they stay mapped (a CR3 load). */
static void as_save(bool with_globals)
{
	struct as_slot *s = &slots[0];
	uint32_t key = view_key();
	for (unsigned i = 0; i < AS_SLOTS; i++) {
		if (slots[i].valid && slots[i].cr3 == key) { s = &slots[i]; break; }
		if (!slots[i].valid || slots[i].used < s->used)
			s = &slots[i];
	}
	as_drop(s);
	if (npt_pages > AS_PTS) {
		pt_untrace_all();
		return;
	}
	s->nruns = 0;
	for (uint32_t i = 0; i < m.nfilled; i++) {
		uint32_t lpn = filled[i], e = lmap[lpn];
		if (!(e & LM_MAPPED) || ((e & LM_GLOBAL) && !with_globals))
			continue;
		uint16_t fl = (uint16_t)(e & (LM_RW | LM_LARGE | LM_GLOBAL | LM_USER | LM_EXEC));
		struct as_run *r = s->nruns ? &s->runs[s->nruns - 1] : (struct as_run *)0;
		if (r && r->lpn + r->n == lpn && r->ppn + r->n == (e >> LM_PPN_SHIFT) && r->flags == fl &&
		    r->n < 0xffff) {
			r->n++;
			continue;
		}
		if (s->nruns == AS_RUNS) {        /* too scattered to keep */
			pt_untrace_all();
			return;
		}
		s->runs[s->nruns++] = (struct as_run){ lpn, e >> LM_PPN_SHIFT, 1, fl };
	}
	/* The slot takes over the current list's references. */
	for (uint32_t i = 0; i < npt_pages; i++)
		s->pts[i] = pt_pages[i];
	s->npts = npt_pages;
	npt_pages = 0;
	epoch++;
	s->cr3 = key;
	s->used = ++as_clock;
	s->valid = true;
}

/* The address space coming back: its runs mapped at once, its tables the
 * current list again. */
static void as_restore(void)
{
	uint32_t key = view_key();
	for (unsigned i = 0; i < AS_SLOTS; i++) {
		struct as_slot *s = &slots[i];
		if (!s->valid || s->cr3 != key)
			continue;
		stat_inc(&m.cr3_cached);
		for (uint32_t k = 0; k < s->nruns; k++) {
			const struct as_run *r = &s->runs[k];
			bool clear = true;
			for (uint32_t j = 0; j < r->n && clear; j++)
				clear = !(lmap[r->lpn + j] & LM_MAPPED);
			if (clear) {
				map_run(r->lpn, r->ppn, r->n, r->flags & LM_RW, r->flags & (LM_LARGE | LM_GLOBAL | LM_USER | LM_EXEC));
				continue;
			}
			for (uint32_t j = 0; j < r->n; j++)    /* a global page got there meanwhile */
				if (!(lmap[r->lpn + j] & LM_MAPPED))
					map_run(r->lpn + j, r->ppn + j, 1, r->flags & LM_RW, r->flags & (LM_LARGE | LM_GLOBAL | LM_USER | LM_EXEC));
		}
		for (uint32_t k = 0; k < s->npts; k++) {
			pt_stamp[s->pts[k]] = epoch;
			pt_pages[npt_pages++] = s->pts[k];
		}
		s->valid = false;                 /* the references moved to the current list */
		return;
	}
}

bool mmu_set_cr3(uint32_t cr3)
{
	if (!m.pg) {
		m.cr3 = cr3;
		return false;
	}
	stat_inc(&m.cr3_switch);
	if (cr3 != m.cr3)
		as_save(false);
	flush(true);
	if (cr3 == m.cr3) {
		/* Reloading the same CR3 is a flush: its list starts over. */
		pt_untrace_all();
		return true;
	}
	m.cr3 = cr3;
	as_restore();
	return true;
}

/* Guest code changes privilege: kernel and user mode see different
 * shadows of the same address space (supervisor pages are not in the
 * user one), each kept across the switches like address spaces are —
 * unless the split above serves user mode with the kernel's own shadow. */
bool mmu_set_user(bool user)
{
	if (m.split) {
		m.split = user;
		return false;
	}
	if (user && !m.user && !m.split && m.pg && (m.cr0 & CR0_WP) && m.user_top <= m.sup_floor &&
	    m.sup_floor >= (TUNE_SPLIT_MIN_FLOOR >> 12)) {
		m.split = true;
		stat_inc(&m.split_entries);
		return false;
	}
	if (!m.pg || user == m.user) {
		m.user = user;
		return false;
	}
	as_save(true);
	flush(false);
	m.user = user;
	as_restore();
	return true;
}

bool mmu_set_cr4(uint32_t cr4)
{
	uint32_t old = m.cr4;
	m.cr4 = cr4;
	if ((old ^ cr4) & (CR4_PSE | CR4_PGE)) {
		flush(false);
		as_drop_all();
		return m.pg;
	}
	return false;
}

bool mmu_invlpg(uint32_t lin)
{
	stat_inc(&m.invlpg);
	if (!m.pg)
		return false;
	uint32_t lpn = lin >> 12;
	if (!(lmap[lpn] & LM_MAPPED))
		return true;
	if (lmap[lpn] & LM_LARGE) {
		uint32_t base = lpn & ~0x3ffu;
		for (uint32_t i = 0; i < 1024; i++)
			if ((lmap[base + i] & (LM_MAPPED | LM_LARGE)) == (LM_MAPPED | LM_LARGE))
				unmap_range(base + i, 1);
	} else {
		unmap_range(lpn, 1);
	}
	return true;
}

enum mmu_fault_kind mmu_host_fault(uint32_t lin, bool write, bool user, uint32_t *pf_err, uint32_t *pa)
{
	uint32_t lpn = lin >> 12;
	if (!m.pg) {
		*pa = lin;
		if (lin < 0x1000 || lin >= m.c.ram_size)
			return MMU_OUTSIDE;
		if ((write && mmu_page_traced(lpn)) || (mmu_page_read_traced(lpn) && m.revealed != lpn + 1)) {
			count_hits(lpn);
			return MMU_TRACED;
		}
		return MMU_OUTSIDE;
	}
	if (lin >= MON_BASE)
		return MMU_OUTSIDE;
	struct walk w;
	unsigned acc = (write ? ACC_WRITE : 0) | (user ? ACC_USER : 0);
	if (!walk(lin, acc, &w, pf_err)) {
		stat_inc(&m.truef);
		return MMU_TRUE;
	}
	*pa = w.pa;
	if (w.pa >= m.c.ram_size || lpn == 0)
		return MMU_OUTSIDE;
	uint32_t e = lmap[lpn];
	if ((e & LM_MAPPED) && (e >> LM_PPN_SHIFT) != (w.pa >> 12)) {
		/* Stale (the guest changed the entry and relies on a flush it
		 * has not done yet would not fault): refill from the walk. */
		unmap_range(lpn, 1);
		e = 0;
	}
	bool rtraced = mmu_page_read_traced(w.pa >> 12) && m.revealed != lpn + 1;
	if (!(e & LM_MAPPED)) {
		stat_inc(&m.hidden);
		fill(lin, &w);
		if (!(write && mmu_page_traced(w.pa >> 12)) && !rtraced)
			return MMU_HIDDEN;
		e = lmap[lpn];
	}
	if (rtraced) {
		/* Any access to a read-traced page: the monitor performs it. */
		count_hits(w.pa >> 12);
		return MMU_TRACED;
	}
	if (write && !(e & LM_RW)) {
		if (mmu_page_traced(w.pa >> 12)) {
			/* Counted per owner: one write can concern both. */
			count_hits(w.pa >> 12);
			return MMU_TRACED;
		}
		/* First write: D is now set in the guest's entry. */
		stat_inc(&m.upgrades);
		stat_inc(&m.hidden);
		lmap[lpn] |= LM_RW;
		m.c.w->protect(lpn << 12, 4096, prot_of(lpn));
		return MMU_HIDDEN;
	}
	/* Mapped as needed already: a fault from a stale host view. */
	stat_inc(&m.hidden);
	return MMU_HIDDEN;
}

int mmu_read_trace_owner(const char *name, mmu_trace_fn on_write, mmu_trace_fn on_read, void *opaque)
{
	int o = mmu_trace_owner(name, on_write, opaque, false);
	if (o > 0) {
		owners[o].on_read = on_read;
		m.read_mask |= (uint8_t)(1u << o);
	}
	return o;
}

int mmu_trace_owner(const char *name, mmu_trace_fn on_write, void *opaque, bool discard)
{
	if (m.nowners == TRACE_OWNERS)
		return -1;
	struct trace_owner *o = &owners[m.nowners];
	static const char prefix[] = "mmu.trace.hit.";
	unsigned n = 0;
	for (const char *p = prefix; *p; p++)
		o->name[n++] = *p;
	for (; *name && n < sizeof(o->name) - 1; name++)
		o->name[n++] = *name;
	o->name[n] = 0;
	o->hits = (stat_counter){ o->name, 0 };
	o->on_write = on_write;
	o->on_read = (mmu_trace_fn)0;
	o->opaque = opaque;
	o->discard = discard;
	stats_register(&o->hits);
	if (discard)
		m.discard_mask |= (uint8_t)(1u << m.nowners);
	return (int)m.nowners++;
}

static void count_hits(uint32_t ppn)
{
	stat_inc(&m.traced_writes);
	for (unsigned i = 0; i < m.nowners; i++)
		if (traced[ppn] & (1u << i))
			stat_inc(&owners[i].hits);
}

/* Paging off: the 1:1 shadow's protection of page ppn. */
static int paging_off_prot(uint32_t ppn)
{
	if (mmu_page_read_traced(ppn) && m.revealed != ppn + 1)
		return WP_NONE;
	return traced[ppn] ? WP_RO : WP_RW;
}

/* A read trace came or went: every alias of ppn gets the protection its
 * entry says (LM_RW is already clear while the page is traced). */
static void reprotect_aliases(uint32_t ppn)
{
	for (uint32_t i = 0; i < m.nfilled; i++) {
		uint32_t lpn = filled[i];
		if ((lmap[lpn] & LM_MAPPED) && (lmap[lpn] >> LM_PPN_SHIFT) == ppn)
			m.c.w->protect(lpn << 12, 4096, prot_of(lpn));
	}
}

void mmu_trace(uint32_t ppn, int owner, bool on)
{
	uint8_t bit = (uint8_t)(1u << owner);
	if (ppn >= ram_pages() || owner <= 0 || (unsigned)owner >= m.nowners || (bool)(traced[ppn] & bit) == on)
		return;
	bool was = traced[ppn], was_read = traced[ppn] & m.read_mask;
	if (on)
		traced[ppn] |= bit;
	else
		traced[ppn] &= (uint8_t)~bit;
	if (!m.pg) {
		if (ppn != 0)
			m.c.w->protect(ppn << 12, 4096, paging_off_prot(ppn));
		return;
	}
	/* Every linear alias of the page. Releasing leaves them read-only:
	 * the next write upgrades the one it goes through (hidden fault). */
	if (on && !was)
		protect_aliases(ppn);
	if (was_read != (bool)(traced[ppn] & m.read_mask))
		reprotect_aliases(ppn);
}

bool mmu_write_allowed(uint32_t pa)
{
	uint32_t ppn = pa >> 12;
	if (ppn < ram_pages() && (traced[ppn] & m.discard_mask)) {
		stat_inc(&m.rom_dropped);
		return false;
	}
	return true;
}

/* Tell the owners of the pages in [pa, pa+len) (but those in skip). */
static void notify(uint32_t pa, uint32_t len, uint8_t skip)
{
	while (len) {
		uint32_t ppn = pa >> 12, n = 0x1000 - (pa & 0xfff);
		if (n > len)
			n = len;
		uint8_t bits = ppn < ram_pages() ? (uint8_t)(traced[ppn] & ~skip) : 0;
		if (bits & TR_PT)
			pt_written(pa, n);
		for (unsigned i = 1; i < m.nowners; i++)
			if ((bits & (1u << i)) && owners[i].on_write)
				owners[i].on_write(owners[i].opaque, pa, n);
		pa += n; len -= n;
	}
}

void mmu_phys_written(uint32_t pa, uint32_t len) { notify(pa, len, 0); }

void mmu_phys_read(uint32_t pa, uint32_t len)
{
	while (len) {
		uint32_t ppn = pa >> 12, n = 0x1000 - (pa & 0xfff);
		if (n > len)
			n = len;
		uint8_t bits = ppn < ram_pages() ? (uint8_t)(traced[ppn] & m.read_mask) : 0;
		for (unsigned i = 1; bits && i < m.nowners; i++)
			if ((bits & (1u << i)) && owners[i].on_read)
				owners[i].on_read(owners[i].opaque, pa, n);
		pa += n; len -= n;
	}
}

bool mmu_reveal(uint32_t lin)
{
	uint32_t lpn = lin >> 12, pa, err;
	if (m.revealed || lin >= MON_BASE || !mmu_translate(lin, 0, &pa, &err) || !mmu_page_read_traced(pa >> 12))
		return false;
	m.revealed = lpn + 1;
	if (!m.pg)
		m.c.w->protect(lpn << 12, 4096, paging_off_prot(lpn));
	else if ((lmap[lpn] & LM_MAPPED) && (lmap[lpn] >> LM_PPN_SHIFT) == pa >> 12)
		m.c.w->protect(lpn << 12, 4096, prot_of(lpn));
	else
		return m.revealed = 0, false;
	return true;
}

void mmu_hide(void)
{
	uint32_t lpn = m.revealed - 1;
	if (!m.revealed)
		return;
	m.revealed = 0;
	if (!m.pg)
		m.c.w->protect(lpn << 12, 4096, paging_off_prot(lpn));
	else if (lmap[lpn] & LM_MAPPED)
		m.c.w->protect(lpn << 12, 4096, prot_of(lpn));
}

bool mmu_release_page(uint32_t ppn)
{
	if (ppn >= ram_pages())
		return true;
	if (traced[ppn] & m.discard_mask)
		return false;
	uint8_t bits = traced[ppn];
	for (unsigned i = 1; i < m.nowners; i++)
		if ((bits & (1u << i)) && owners[i].on_write)
			owners[i].on_write(owners[i].opaque, ppn << 12, 0x1000);
	pt_release(ppn);
	return true;
}
