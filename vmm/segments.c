/* Segment virtualization: the guest's segment registers live here as
 * descriptor caches; what the CPU really loads are shadow descriptors in the
 * host LDT with the guest's base and a limit truncated below the monitor
 * area. Shadows are cached by (base, limit, type) so a segment load costs a
 * host call only the first time a descriptor shape is seen. */
#include "vm.h"

#include "tunables.h"
#define SHADOW_HASH TUNE_SHADOW_DESCRIPTORS
struct shadow_ent { uint32_t base, limit; uint16_t flags, slot; };
static struct shadow_ent shadows[SHADOW_HASH];
static unsigned next_slot = LDT_SHADOW_FIRST;
/* The last linear byte a shadow may reach: below the monitor, and below
 * the kernel too while user mode shares its shadow (mmu_user_limit). */
static uint32_t seg_top = GUEST_LIN_LIMIT;

void seg_init(void)
{
	m_memset(shadows, 0, sizeof(shadows));
	next_slot = LDT_SHADOW_FIRST;
	seg_top = GUEST_LIN_LIMIT;
}

/* A limit cut off at seg_top, as a descriptor can hold it: past 1 MiB a
 * limit counts 4 KiB pages, and one that does not end a page would be
 * rounded up into the monitor's area by the worlds' set_ldt (by the base's
 * offset in its page: a TLS or per-CPU segment's). Rounded down instead;
 * the accesses in the cut-off bytes fault and are emulated as any beyond
 * the truncation. */
static uint32_t truncated_limit(uint32_t room)
{
	return room > 0xfffffu && (room & 0xfffu) != 0xfffu ? (room & ~0xfffu) - 1 : room;
}

static uint16_t shadow_for(uint32_t base, uint32_t limit, unsigned flags)
{
	uint32_t h = (base * 2654435761u ^ limit * 40503u ^ flags) & (SHADOW_HASH - 1);
	for (unsigned n = 0; n < SHADOW_HASH; n++, h = (h + 1) & (SHADOW_HASH - 1)) {
		struct shadow_ent *s = &shadows[h];
		if (s->slot && s->base == base && s->limit == limit && s->flags == flags)
			return (uint16_t)LDT_SEL(s->slot);
		if (!s->slot) {
			if (next_slot >= LDT_ENTRIES)
				vmm_fatal("out of shadow descriptor slots", next_slot);
			s->slot = (uint16_t)next_slot++;
			s->base = base; s->limit = limit; s->flags = (uint16_t)flags;
			if (vm.w->set_ldt(s->slot, base, limit, flags) != 0)
				vmm_fatal("host refused a shadow descriptor for base", base);
			stat_inc(&vs.ldt_writes);
			return (uint16_t)LDT_SEL(s->slot);
		}
	}
	vmm_fatal("shadow descriptor table full", 0);
	return 0;
}

/* The limit and flags of the host descriptor that gives translated code the
 * guest's view of `s` for data accesses, with every offset that would
 * reach the monitor cut off; false when there is none (no data access). */
static bool shadow_shape(const struct segcache *s, uint32_t *limit, unsigned *flags)
{
	if (!s->present || !s->s)
		return false;
	bool code = s->type & 8;
	if (code && !(s->type & 2))
		return false;                   /* execute-only: no data access at all */
	if (s->base > seg_top)
		return false;
	uint32_t room = seg_top - s->base;
	*limit = s->limit;
	*flags = WD_PRESENT | (s->db ? WD_32 : 0);
	if (!code && (s->type & 4)) {
		*flags |= WD_EXPDOWN;           /* cannot be truncated at the top: see DESIGN */
	} else if (*limit > room) {
		*limit = truncated_limit(room);
	}
	if (!code && (s->type & 2))
		*flags |= WD_WRITABLE;
	return true;
}

static uint16_t make_shadow(const struct segcache *s)
{
	uint32_t limit;
	unsigned flags;
	return shadow_shape(s, &limit, &flags) ? shadow_for(s->base, limit, flags) : 0;
}

uint16_t seg_code_shadow(void)
{
	const struct segcache *s = &vm.seg[SEG_CS];
	if (!s->present || !(s->type & 8) || !s->db || s->base > seg_top)
		return 0;
	uint32_t room = seg_top - s->base, limit = s->limit < room ? s->limit : truncated_limit(room);
	return shadow_for(s->base, limit, WD_CODE | WD_32 | WD_PRESENT | ((s->type & 2) ? WD_READABLE : 0));
}

void seg_from_desc(struct segcache *s, uint16_t sel, uint32_t lo, uint32_t hi)
{
	s->sel = sel;
	s->base = (lo >> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000u);
	uint32_t limit = (lo & 0xffff) | (hi & 0x000f0000u);
	if (hi & (1u << 23))
		limit = (limit << 12) | 0xfff;
	s->limit = limit;
	s->type = (uint8_t)((hi >> 8) & 0xf);
	s->s = (hi >> 12) & 1;
	s->dpl = (hi >> 13) & 3;
	s->present = (hi >> 15) & 1;
	s->db = (hi >> 22) & 1;
	s->shadow = make_shadow(s);
}

void seg_set_flat(int sreg, uint16_t sel, bool code)
{
	struct segcache *s = &vm.seg[sreg];
	*s = (struct segcache){ .sel = sel, .base = 0, .limit = 0xffffffffu, .type = code ? 0xb : 0x3,
				.s = 1, .dpl = 0, .present = 1, .db = 1 };
	s->shadow = make_shadow(s);
}

void seg_set_user_limit(uint32_t limit)
{
	uint32_t top = limit && limit - 1 < GUEST_LIN_LIMIT ? limit - 1 : GUEST_LIN_LIMIT;
	if (top == seg_top)
		return;
	seg_top = top;
	for (int i = 0; i < 6; i++)
		vm.seg[i].shadow = make_shadow(&vm.seg[i]);
	seg_publish();
}

/* The bound pair of software limit checks (mon_area.h): the offsets the
 * shadow of `s` allows but the last 15 (a check covers the 16 bytes from
 * the offset it checks: bt/translate.c), biased by 2^31. An expand-down
 * shadow, which the CPU cannot truncate, stops below the monitor here. */
static void soft_bounds(const struct segcache *s, int32_t b[2])
{
	uint32_t limit, lo = 1, hi = 0;
	unsigned flags;
	if (shadow_shape(s, &limit, &flags)) {
		uint32_t room = seg_top - s->base, top = s->db ? 0xffffffffu : 0xffffu;
		if (!(flags & WD_EXPDOWN))
			lo = 0, hi = limit;
		else if (limit < top)
			lo = limit + 1, hi = top < room ? top : room;
	}
	if (lo <= hi && hi - lo >= 15) {
		b[0] = (int32_t)(lo + 0x80000000u);
		b[1] = (int32_t)(hi - 15 + 0x80000000u);
	} else {
		b[0] = 0x7fffffff;              /* empty: every access traps */
		b[1] = -0x7fffffff - 1;
	}
}

void seg_publish(void)
{
	struct mon_area *ma = vm.ma;
	for (int i = 0; i < 6; i++)
		soft_bounds(&vm.seg[i], ma->bnd[i]);
	ma->ss = vm.seg[SEG_SS].shadow;
	ma->ds_sel = vm.seg[SEG_DS].shadow;
	ma->es_sel = vm.seg[SEG_ES].shadow;
	ma->fs_sel = vm.seg[SEG_FS].shadow;
	ma->ggs_sel = vm.seg[SEG_GS].shadow;
	ma->gcs_sel = vm.seg[SEG_CS].shadow;
	ma->gsel_cs = vm.seg[SEG_CS].sel;
	ma->gsel_ss = vm.seg[SEG_SS].sel;
	ma->gsel_ds = vm.seg[SEG_DS].sel;
	ma->gsel_es = vm.seg[SEG_ES].sel;
	ma->gsel_fs = vm.seg[SEG_FS].sel;
	ma->gsel_gs = vm.seg[SEG_GS].sel;
	ma->guest_fsbase = vm.seg[SEG_FS].shadow ? vm.seg[SEG_FS].base : 0;
	ma->seg_dirty = 1;
}

bool desc_read(uint16_t sel, uint32_t *lo, uint32_t *hi)
{
	uint32_t base, limit;
	if (sel & 4) {
		if (!vm.ldtr.present)
			return false;
		base = vm.ldtr.base; limit = vm.ldtr.limit;
	} else {
		base = vm.gdt_base; limit = vm.gdt_limit;
	}
	uint32_t off = sel & ~7u;
	if (off + 7 > limit)
		return false;
	uint32_t d[2];
	if (!glin_read_sys(base + off, d, 8))
		return false;
	*lo = d[0]; *hi = d[1];
	return true;
}

/* The CPU sets a descriptor's accessed bit when it loads it. */
static void set_accessed(uint16_t sel, uint32_t hi)
{
	if (hi & 0x100)
		return;
	uint32_t base = (sel & 4) ? vm.ldtr.base : vm.gdt_base;
	hi |= 0x100;
	glin_write_sys(base + (sel & ~7u) + 4, &hi, 4);
}

int seg_load(int sreg, uint16_t sel, int *vec, uint32_t *err)
{
	stat_inc(&vs.seg_loads);
	struct segcache *s = &vm.seg[sreg];
	if ((sel & ~3u) == 0) {
		if (sreg == SEG_SS) {
			*vec = EXC_GP; *err = 0;
			return -1;
		}
		*s = (struct segcache){ .sel = sel };
		seg_publish();
		return 0;
	}
	uint32_t lo, hi;
	if (!desc_read(sel, &lo, &hi)) {
		*vec = EXC_GP; *err = sel & ~3u;
		return -1;
	}
	struct segcache n;
	seg_from_desc(&n, sel, lo, hi);
	int rpl = sel & 3;
	bool code = n.type & 8;
	if (sreg == SEG_SS) {
		if (!n.s || code || !(n.type & 2) || rpl != vm.cpl || n.dpl != vm.cpl) {
			*vec = EXC_GP; *err = sel & ~3u;
			return -1;
		}
		if (!n.present) {
			*vec = EXC_SS; *err = sel & ~3u;
			return -1;
		}
	} else {
		bool conforming_code = code && (n.type & 4);
		if (!n.s || (code && !(n.type & 2)) ||
		    (!conforming_code && (n.dpl < vm.cpl || n.dpl < rpl))) {
			*vec = EXC_GP; *err = sel & ~3u;
			return -1;
		}
		if (!n.present) {
			*vec = EXC_NP; *err = sel & ~3u;
			return -1;
		}
	}
	set_accessed(sel, hi);
	*s = n;
	seg_publish();
	return 0;
}

int seg_load_cs(uint16_t sel, int *vec, uint32_t *err)
{
	stat_inc(&vs.seg_loads);
	uint32_t lo, hi;
	if ((sel & ~3u) == 0 || !desc_read(sel, &lo, &hi)) {
		*vec = EXC_GP; *err = sel & ~3u;
		return -1;
	}
	struct segcache n;
	seg_from_desc(&n, sel, lo, hi);
	if (!n.s || !(n.type & 8)) {
		*vec = EXC_GP; *err = sel & ~3u;
		return -1;
	}
	if (!n.present) {
		*vec = EXC_NP; *err = sel & ~3u;
		return -1;
	}
	/* The caller has set vm.cpl to the privilege the transfer lands at
	 * (the same one, or an outer one for iret): a non-conforming segment
	 * must have exactly that DPL, a conforming one at most that. */
	bool conforming = n.type & 4;
	if (conforming ? n.dpl > vm.cpl : (n.dpl != vm.cpl || (sel & 3) > vm.cpl)) {
		*vec = EXC_GP; *err = sel & ~3u;
		return -1;
	}
	if (!n.db)
		vmm_fatal("16-bit code segment is not supported, selector", sel);
	set_accessed(sel, hi);
	vm.seg[SEG_CS] = n;
	vm.seg[SEG_CS].sel = (uint16_t)((sel & ~3u) | (unsigned)vm.cpl);
	seg_publish();
	vmm_sync_mode();
	return 0;
}

static bool seg_check(int sreg, uint32_t off, uint32_t len, bool write, int *vec)
{
	const struct segcache *s = &vm.seg[sreg];
	*vec = sreg == SEG_SS ? EXC_SS : EXC_GP;
	if (!s->present)       /* also a null selector: its cache is not present */
		return false;
	bool code = s->type & 8;
	if (write && (code || !(s->type & 2)))
		return false;
	if (!write && code && !(s->type & 2))
		return false;
	uint32_t last = off + len - 1;
	if (last < off)
		return false;
	if (!code && (s->type & 4)) {
		uint32_t top = s->db ? 0xffffffffu : 0xffffu;
		if (off <= s->limit || last > top)
			return false;
	} else if (last > s->limit) {
		return false;
	}
	return true;
}

bool seg_allows(int sreg, uint32_t off, uint32_t len, bool write)
{
	int vec;
	return seg_check(sreg, off, len, write, &vec);
}

bool seg_read(int sreg, uint32_t off, void *dst, uint32_t len, int *vec)
{
	if (!seg_check(sreg, off, len, false, vec))
		return false;
	if (!glin_read(vm.seg[sreg].base + off, dst, len)) {
		*vec = vm.mem_fault_vec;
		return false;
	}
	return true;
}

bool seg_write(int sreg, uint32_t off, const void *src, uint32_t len, int *vec)
{
	if (!seg_check(sreg, off, len, true, vec))
		return false;
	if (!glin_write(vm.seg[sreg].base + off, src, len)) {
		*vec = vm.mem_fault_vec;
		return false;
	}
	return true;
}
