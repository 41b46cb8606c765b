/* Guest PC -> CCF: a chained hash over (linear address, CS base, CPL) for
 * the monitor, and the IBL table in the monitor area that translated code
 * probes inline for indirect branches (keyed by EIP in the current mode). */
#include "bt_internal.h"
#include "mon_area.h"

static inline uint32_t hkey(uint32_t lin) { return (lin ^ (lin >> 16)) & bt.hash_mask; }

/* The CCF was built from the pages its linear addresses map to now. */
static bool pages_match(const struct ccf *c)
{
	uint32_t avail, phys;
	if (!bt.env.code_ptr(bt.env.ctx, c->lin, &avail, &phys) || (phys >> 12) != c->page[0])
		return false;
	if (c->page[1] == NOPAGE)
		return true;
	return bt.env.code_ptr(bt.env.ctx, (c->lin & ~0xfffu) + 0x1000, &avail, &phys) &&
	       (phys >> 12) == c->page[1];
}

uint32_t bt_hash_find(uint32_t lin, uint32_t eip)
{
	for (uint32_t i = bt.hash[hkey(lin)]; i; i = bt.ccfs[i].hash_next) {
		const struct ccf *c = &bt.ccfs[i];
		if (c->lin == lin && c->eip == eip && c->cs_base == bt.mode.cs_base && c->cpl == bt.mode.cpl &&
		    c->tf == bt.mode.tf && c->fpu == bt.mode.fpu && c->single == bt.mode.single && pages_match(c))
			return i;
	}
	return 0;
}

void bt_hash_insert(uint32_t idx)
{
	uint32_t h = hkey(bt.ccfs[idx].lin);
	bt.ccfs[idx].hash_next = bt.hash[h];
	bt.hash[h] = idx;
}

void bt_hash_remove(uint32_t idx)
{
	uint32_t *pp = &bt.hash[hkey(bt.ccfs[idx].lin)];
	while (*pp && *pp != idx)
		pp = &bt.ccfs[*pp].hash_next;
	if (*pp)
		*pp = bt.ccfs[idx].hash_next;
}

struct ibl_entry { uint32_t neg_eip, tc; };
/* The table has a half per privilege (user mode, the rest): a system call
 * and its return switch halves instead of emptying the table. */
static inline unsigned ibl_half(void) { return bt.mode.cpl == 3; }
static inline struct ibl_entry *ibl_tab_half(unsigned h)
{
	return (struct ibl_entry *)(uintptr_t)(bt.env.ibl_table + h * MON_IBL_HALF_BYTES);
}
static inline struct ibl_entry *ibl_tab(void) { return ibl_tab_half(ibl_half()); }
#define IBL_MASK 0x7fffu

/* An empty entry {0, miss}: it can only "hit" for target 0, and then lands
 * on the miss path anyway. */
void bt_ibl_reset(void)
{
	bt_ibl_reset_except(BT_IBL_KEEP_NONE, 0);
}

/* A remap leaves some entries right: those into global pages across a CR3
 * load, those into other pages across an INVLPG. */
static bool ibl_keep(unsigned h, uint32_t idx, const struct ibl_entry *e, enum bt_ibl_keep how,
		     uint32_t page)
{
	if (how == BT_IBL_KEEP_GLOBAL)
		return bt.ibl_global[h * (IBL_MASK + 1) + idx];
	if (how == BT_IBL_KEEP_OTHER_PAGES) {
		uint32_t p = (bt.mode.cs_base - e->neg_eip) >> 12;   /* the target's first page */
		return p != page && p + 1 != page;
	}
	return false;
}

void bt_ibl_reset_except(enum bt_ibl_keep how, uint32_t page)
{
	for (unsigned h = 0; h < 2; h++) {
		struct ibl_entry *t = ibl_tab_half(h);
		uint32_t *used = bt.ibl_used + h * IBL_USED_MAX;
		if (bt.nibl_used_half[h] <= IBL_USED_MAX) {
			/* Remappings are frequent (every CR3 load): clear what was used. */
			uint32_t kept = 0;
			for (uint32_t i = 0; i < bt.nibl_used_half[h]; i++) {
				struct ibl_entry *e = &t[used[i]];
				if (e->tc != bt.env.gate_ibl_miss && ibl_keep(h, used[i], e, how, page)) {
					used[kept++] = used[i];
					continue;
				}
				e->neg_eip = 0;
				e->tc = bt.env.gate_ibl_miss;
			}
			bt.nibl_used_half[h] = kept;
			continue;
		} else {
			for (uint32_t i = 0; i <= IBL_MASK; i++) {
				t[i].neg_eip = 0;
				t[i].tc = bt.env.gate_ibl_miss;
			}
		}
		bt.nibl_used_half[h] = 0;
	}
}

uint32_t bt_ibl_offset(void)
{
	return ibl_half() * MON_IBL_HALF_BYTES;
}

void bt_ibl_set(uint32_t eip, uint32_t tc)
{
	struct ibl_entry *e = &ibl_tab()[eip & IBL_MASK];
	unsigned h = ibl_half();
	uint32_t lin = bt.mode.cs_base + eip;
	/* Global if the target's page and the next (a block may cross) are. */
	bool global = bt.env.page_global && bt.env.page_global(bt.env.ctx, lin) &&
		      bt.env.page_global(bt.env.ctx, lin + 0x1000);
	if (e->tc == bt.env.gate_ibl_miss) {
		if (bt.nibl_used_half[h] < IBL_USED_MAX)
			bt.ibl_used[h * IBL_USED_MAX + bt.nibl_used_half[h]] = eip & IBL_MASK;
		bt.nibl_used_half[h]++;
	}
	bt.ibl_global[h * (IBL_MASK + 1) + (eip & IBL_MASK)] = global;
	e->neg_eip = 0u - eip;
	e->tc = tc;
}

void bt_ibl_drop(uint32_t eip, uint32_t tc)
{
	/* The block may be the other privilege's (a kernel loading a user
	 * program writes its code): look in both halves. */
	for (unsigned h = 0; h < 2; h++) {
		struct ibl_entry *e = &ibl_tab_half(h)[eip & IBL_MASK];
		if (e->tc == tc) {
			e->neg_eip = 0;
			e->tc = bt.env.gate_ibl_miss;
		}
	}
}

void bt_set_mode(const struct bt_mode *m)
{
	bool same_code = m->cs_base == bt.mode.cs_base && m->tf == bt.mode.tf && m->fpu == bt.mode.fpu;
	bool same_half = (m->cpl == 3) == (bt.mode.cpl == 3);
	/* Single-instruction units find only their own kind in the hash and
	 * never enter the IBL table: switching them costs nothing. */
	bt.mode.single = m->single;
	if (same_code && m->cpl == bt.mode.cpl)
		return;
	bt.mode = *m;
	/* Between user mode and the rest, the other half of the table is
	 * still good (any other change empties both): a system call and its
	 * return keep the entries of each side. */
	if (!same_code || same_half)
		bt_ibl_reset();
}

uint32_t bt_get(uint32_t eip)
{
	uint32_t lin = bt.mode.cs_base + eip;
	uint32_t i = bt_hash_find(lin, eip);
	if (i) {
		stat_inc(&bts.lookup_hit);
		return bt.ccfs[i].tc;
	}
	stat_inc(&bts.lookup_miss);
	return bt_translate(eip);
}

bool bt_leaves_for_direct(uint32_t eip)
{
	return bt.env.want_direct && bt.env.want_direct(bt.env.ctx, eip);
}

uint32_t bt_ibl_miss(uint32_t target)
{
	stat_inc(&bts.ibl_miss);
	if (bt_leaves_for_direct(target))
		return 0;
	uint32_t tc = bt_get(target);
	if (tc)
		bt_ibl_set(target, tc);
	return tc;
}
