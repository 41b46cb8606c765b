/* The binary translator's interface to the monitor: guest EIP -> translated
 * code (TC) address, chaining of block exits, the indirect-branch table,
 * invalidation on writes to translated code, and the map from TC addresses
 * back to guest instructions. */
#ifndef BT_H
#define BT_H
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

struct bt_mode {
	uint32_t cs_base;
	uint8_t cpl;
	uint8_t tf;          /* guest single-stepping: one instruction per unit, a #DB after each */
	uint8_t fpu;         /* BT_FPU_* from CR0/CR4: FPU/SIMD instructions that must fault */
	/* One instruction per unit, and nothing else different: for an
	 * instruction the monitor performs on behalf of directly executed
	 * code that should go on natively right after it (-mode te). */
	uint8_t single;
};
#define BT_FPU_TS     0x1    /* CR0.TS */
#define BT_FPU_EM     0x2    /* CR0.EM */
#define BT_FPU_MP     0x4    /* CR0.MP (makes wait fault under TS) */
#define BT_FPU_NOSSE  0x8    /* CR4.OSFXSR clear */

/* A fragment just translated, as on_translate hears of it. */
struct bt_fragment {
	uint32_t eip, cs_base;       /* the guest code: EIP in CS, and CS's base */
	uint8_t cpl;
	uint32_t tc, tc_len;         /* its TC address and bytes, exit stubs included */
	unsigned ninsn;
	uint64_t cycles;             /* the translation's TSC cycles */
};

struct bt_env {
	/* Host pointer to the guest code byte at linear `lin`; *avail = bytes
	 * readable from there (at least to the end of its page); *phys = its
	 * guest-physical address. NULL when not fetchable. */
	const uint8_t *(*code_ptr)(void *ctx, uint32_t lin, uint32_t *avail, uint32_t *phys);
	/* Write-protect (on) or release (off) a guest-physical page that holds
	 * (or no longer holds) translated code. */
	void (*trace_code_page)(void *ctx, uint32_t ppn, bool on);
	/* Whether a CR3 load keeps the mapping of linear page `lin` (a global
	 * page): chains into it then survive address-space switches. */
	bool (*page_global)(void *ctx, uint32_t lin);
	void *ctx;
	uint32_t ram_pages;          /* guest-physical pages that may hold code */
	uint32_t tc_base, tc_size;   /* the translation cache (linear, in the monitor area) */
	uint32_t ibl_table;          /* linear address of the IBL table */
	uint32_t gate_callout, gate_ibl, gate_ibl_miss; /* linear addresses of the gate entry points */
	/* shared tails of exit stubs and inline-cache learning (index in S_TMP) */
	uint32_t gate_exit_shared, gate_learn_shared;
	void *meta; size_t meta_size;/* arena for translation metadata */
	void *prof; size_t prof_size;/* -profile: arena for fragment records (NULL: not profiling) */
	unsigned max_tu_insns;       /* tunable: instructions per translation unit */
	/* The host CPU checks no segment limit (software emulation): each
	 * guest memory access translated code makes is checked first against
	 * the monitor area's bound pairs (MA_BND), which the monitor keeps as
	 * the shadow descriptors would be; a failed check is a #BR the
	 * monitor takes as the CPU's #GP/#SS (bt_limit_check_at). */
	bool soft_limits;
	/* User-mode code at `eip` (in the current CS) is to run directly, not
	 * from the TC (may be NULL): block exits and indirect branches to it
	 * are neither translated nor chained, they leave to the monitor. */
	bool (*want_direct)(void *ctx, uint32_t eip);
	/* Called after each translation (may be NULL): -trace bt, perf maps. */
	void (*on_translate)(void *ctx, const struct bt_fragment *f);
};

/* Returns 0, or -1 when the arena is too small for the TC size. */
int bt_init(const struct bt_env *env);
/* Switch translation mode (CS base, CPL); drops the IBL table when it changes. */
void bt_set_mode(const struct bt_mode *m);
/* TC address of the translation of `eip` in the current mode, translating if
 * needed. 0 when the first instruction cannot be fetched. */
uint32_t bt_get(uint32_t eip);
/* A block exit ran for the first time: translate its target, chain it. */
uint32_t bt_exit_taken(uint32_t exit_idx, uint32_t *target_eip);
/* An inline-cache site saw its first target: predict it from now on. */
uint32_t bt_ic_learn(uint32_t exit_idx, uint32_t target);
/* The IBL table missed `target`: translate and enter it. */
uint32_t bt_ibl_miss(uint32_t target);
/* Guest linear -> physical mappings changed (CR3, INVLPG, paging on/off):
 * chains between different linear pages and the IBL table are dropped;
 * lookups check each CCF's physical pages against the current mapping. */
void bt_mapping_changed(void);
/* The byte offset of the current privilege's half of the IBL table (what
 * the monitor area's MA_IBL_OFF must hold while translated code runs). */
uint32_t bt_ibl_offset(void);
/* The same for a CR3 load that keeps global pages (CR4.PGE): chains into
 * global pages stay. */
void bt_mapping_changed_cr3(void);
/* The same for one linear page (INVLPG): only chains into it go. */
void bt_mapping_changed_page(uint32_t lin);
/* Monotonic: bumped by every CCF invalidation (a callout that wrote guest
 * memory checks whether its own block may have died). */
uint64_t bt_invalidations(void);
/* Monotonic: bumped by every flush (callers holding TC addresses recheck). */
uint64_t bt_flush_epoch(void);
void bt_flush(void);

/* Writes to guest-physical memory: invalidate what they hit. Returns true
 * when [phys, phys+len) touched a page with translations. */
bool bt_notify_write(uint32_t phys, uint32_t len);
bool bt_page_traced(uint32_t ppn);

/* What a TC address corresponds to. */
struct bt_pc {
	uint32_t eip;        /* guest EIP of the instruction containing the address */
	uint32_t insn_tc;    /* TC address where that instruction's translation starts */
	bool boundary;       /* the address is exactly insn_tc: guest state is precise */
	bool irq_shadow;     /* instruction follows sti / mov ss: no interrupt before it */
	bool ecx_in_scratch; /* guest ECX is in S_ECX at this address (fault rollback) */
	bool dead;           /* the block was invalidated */
};
bool bt_pc_lookup(uint32_t tc_addr, struct bt_pc *out);
/* Adaptive translation: the instruction at linear address `lin` keeps
 * writing traced pages; from now on it is translated as a callout (the
 * monitor performs its write), and the block holding `tc_addr` is dropped
 * so that happens at once. */
void bt_translate_as_callout(uint32_t lin, uint32_t tc_addr);
/* The instruction at lin is no longer one to translate as a callout (the
 * guest rewrote it into one the monitor does not perform): its next
 * translation copies it again. The caller drops the current one. */
void bt_forget_callout(uint32_t lin);
bool bt_in_tc(uint32_t addr);
/* Whether the instruction at TC address `tc` is a software limit check's
 * bound (bt_env.soft_limits); *seg = the guest segment it checks. The
 * guest's %eax is then in MA_S_CHK, and the state is the one at the start
 * of the guest instruction. */
bool bt_limit_check_at(uint32_t tc, unsigned *seg);
/* Debugger breakpoints at guest linear addresses (at most 64): a block
 * starting there begins with a CO_DEBUG callout, others end before it.
 * Fragments covering `lin` are dropped. 0, or -1 when the table is full. */
int bt_break_set(uint32_t lin, bool on);

/* For a live monitor (inspect.c). */
struct bt_tc_info {
	uint32_t tc_size, tc_used;   /* bytes */
	uint32_t made, live;         /* fragments since the last flush, and those not invalidated */
	uint64_t flushes;
	uint32_t pages_traced;
	bool profiling;              /* -profile: fragments carry execution counters */
};
void bt_tc_info(struct bt_tc_info *t);
struct bt_frag_info {
	uint32_t eip, cs_base, cpl, tc, tc_len, glen, ninsn;
	uint32_t prologue;           /* TC bytes of the -profile counter before the first instruction */
	uint64_t execs;              /* -profile only */
};
struct bt_frag_insn { uint32_t goff, tcoff; uint8_t cls; };   /* cls: profile.h's classes */
/* Live fragments, newest first: how many were written to out. */
unsigned bt_fragment_list(struct bt_frag_info *out, unsigned max);
/* The newest live fragment at guest EIP `eip` (any mode): its instruction
 * map (at most max entries) and TC bytes (at most tc_cap). Returns the
 * instructions mapped, 0 when no fragment is there. */
unsigned bt_fragment_detail(uint32_t eip, struct bt_frag_info *f, struct bt_frag_insn *map, unsigned max,
			    uint8_t *tc_bytes, uint32_t tc_cap);
/* -profile: the records (include/profile.h) with every live fragment's
 * execution counter added in so far; NULL when not profiling. */
struct prof_arena;
const struct prof_arena *bt_prof_sync(void);
/* -profile's per-site accounting, invalidation causes and occupancy
 * (include/profile.h's rows); the monitor calls these only when profiling. */
struct bt_site_key { uint32_t rec, tcoff, eip; };
/* The site of exit `exit_idx` (its stub), of a callout record at TC
 * address `site`, or, for IBL misses, of their target. */
void bt_prof_exit_key(uint32_t exit_idx, struct bt_site_key *k);
void bt_prof_site_key(uint32_t site, uint32_t eip, struct bt_site_key *k);
/* Why the latest bt_exit_taken went through the monitor (PROF_WHY_*). */
unsigned bt_prof_exit_why(void);
/* The guest EIP of the instruction the monitor performs now: events
 * without an EIP of their own (a CR3 load's unchaining) get it. */
void bt_prof_set_at(uint32_t eip);
void bt_prof_site_add(const struct bt_site_key *k, unsigned kind, unsigned why, uint64_t cycles);
/* What causes the invalidations and unchains from now until
 * bt_prof_cause_end (PROF_CAUSE_*): the storing instruction and address.
 * False (nothing set, nothing to end) when a cause is already set. */
bool bt_prof_cause(unsigned cause, uint32_t eip, uint32_t addr);
void bt_prof_cause_end(void);
struct prof_sample;
void bt_prof_occupancy(struct prof_sample *s);
/* The arena itself, for the monitor's time accounting and samples. */
struct prof_arena *bt_prof_arena(void);
/* A host timer signal found the CPU at tc_addr in the TC: one sample for
 * the fragment there (or for none: gates, IBL). */
void bt_prof_tc_sample(uint32_t tc_addr);

#endif
