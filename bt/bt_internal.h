/* Shared state of the translator's parts: compiled code fragments (CCFs),
 * their exits and PC records, allocated from one arena and dropped together
 * with the TC on a flush. Indices, not pointers, link them (0 = none). */
#ifndef BT_INTERNAL_H
#define BT_INTERNAL_H
#include "bt.h"
#include "stats.h"
#include "decode.h"

#define NOPAGE 0xffffffffu

struct ccf {
	uint32_t eip, lin, cs_base;
	uint8_t cpl, dead, tf, fpu, single;
	uint16_t ninsn;
	uint32_t tc, tc_len;
	uint32_t glen;               /* guest bytes translated, from lin */
	uint32_t pc_first;           /* pcrecs[pc_first .. pc_first+ninsn) */
	uint32_t hash_next;
	uint32_t page[2];            /* guest-physical pages its bytes come from */
	uint32_t page_next[2];
	uint32_t in_head;            /* exits chained into this CCF */
	uint32_t exit_first;
	uint16_t nexits;
	uint32_t prof, prof_slot;    /* -profile: its record in the arena, its counter's TC address */
};

struct exit_rec {
	uint32_t target_eip;
	uint32_t patch;              /* TC address of the rel32 to patch */
	uint32_t stub;               /* TC address of the exit stub */
	uint32_t owner, to, in_next;
	/* Inline-cache exits of indirect branches: where the predicted target
	 * sits in the two lea displacements and the miss jump (0 otherwise). */
	uint32_t ic_neg, ic_pos, ic_miss;
	bool to_global;              /* the chained target's pages are global */
	uint8_t unchain_why;         /* -profile: PROF_WHY of the latest undoing of its chain (0: none) */
	uint32_t unchained_by;       /* -profile: the event (PROF_EV_* code) that undid it */
};

#define PC_NO_IRQ   0x01
#define PC_FIX_ECX  0x02         /* from tc + fix on, ECX lives in S_ECX */
#define PC_CLS_SHIFT 2           /* bits 2-3: IDENT, inline or callout (profile.h's class rows) */

struct pcrec {
	uint32_t tc, eip;
	uint16_t tc_len : 9;   /* < WORST_INSN_BYTES (translate.c) */
	uint16_t chk : 7;      /* bytes of software limit checks first: tc + chk is a boundary too */
	uint8_t flags, fix;
};

#include "tunables.h"
#define IBL_USED_MAX TUNE_IBL_USED_MAX
#define ADAPT_SET TUNE_ADAPT_SET
#define ADAPT_GONE 0xffffffffu    /* a forgotten entry: probing goes on past it */

struct bt_state {
	struct bt_env env;
	struct bt_mode mode;
	struct ccf *ccfs; uint32_t nccf, max_ccf;
	struct exit_rec *exits; uint32_t nexit, max_exit;
	struct pcrec *pcs; uint32_t npc, max_pc;
	uint32_t *hash; uint32_t hash_mask;
	uint32_t *page_head;         /* per guest-physical page: first CCF */
	uint32_t *traced; uint32_t ntraced, max_traced; /* pages currently write-protected */
	uint32_t *volatile_exits; uint32_t nvolatile;   /* chains across linear pages */
	uint32_t *ibl_used; uint32_t nibl_used_half[2]; /* IBL entries filled since the last reset, per half */
	uint8_t *ibl_global;         /* per IBL entry: its target's pages were global when it was set */
	uint32_t callout_lin[ADAPT_SET];                /* linear addresses translated as callouts */
	uint32_t tc_used;
	uint64_t epoch;
	struct prof_arena *prof;     /* -profile (NULL: none) */
	uint32_t prof_top;           /* counter slots fill the TC from here to its end */
	uint32_t ndead;              /* CCFs invalidated since the last flush */
	/* -profile: what invalidations and unchains happen for now (an event
	 * is opened on the first one), and the latest exit's reason. */
	struct { uint32_t cause, eip, addr, ev; } prof_cur;
	uint32_t prof_exit_why, prof_exit_ev;
	uint32_t prof_at;            /* the guest EIP the monitor works for (events without their own) */
};
extern struct bt_state bt;

struct bt_stats {
	stat_counter tu_translated, insn_translated, insn_ident, insn_inline, insn_callout;
	stat_counter guest_bytes, tc_bytes, tc_flushes, chain_patched, chain_unpatched;
	stat_counter lookup_hit, lookup_miss, ibl_miss, invalidate_smc, pages_traced;
	stat_counter tu_cycles, exits, ic_learned, unchain_remap, adaptive, invalidate_break;
	stat_counter tu_user;
};
extern struct bt_stats bts;

/* tc.c */
void bt_flush_all(void);
bool bt_room(uint32_t tc_bytes, uint32_t insns, uint32_t exits);
uint32_t bt_ccf_at(uint32_t tc_addr);
/* lookup.c */
uint32_t bt_hash_find(uint32_t lin, uint32_t eip);
/* Translated user code leaving for directly executed code at eip (the
 * monitor's want_direct): no translation, no chain, no IBL entry. */
bool bt_leaves_for_direct(uint32_t eip);
void bt_hash_insert(uint32_t idx);
void bt_hash_remove(uint32_t idx);
void bt_ibl_reset(void);
enum bt_ibl_keep { BT_IBL_KEEP_NONE, BT_IBL_KEEP_GLOBAL, BT_IBL_KEEP_OTHER_PAGES };
void bt_ibl_reset_except(enum bt_ibl_keep how, uint32_t page);
void bt_ibl_drop(uint32_t eip, uint32_t tc);
void bt_ibl_set(uint32_t eip, uint32_t tc);
/* chain.c */
void bt_chain(uint32_t exit_idx, uint32_t to);
void bt_unchain_incoming(uint32_t idx);
void bt_patch_rel32(uint32_t at, uint32_t target);
/* smc.c */
void bt_pages_add(uint32_t idx);
void bt_invalidate_ccf(uint32_t idx);
/* The same without counting it as self-modifying code; false if it was dead already. */
bool bt_kill_ccf(uint32_t idx);
/* breakpoints.c: whether translation stops at linear `lin` (a debugger's breakpoint). */
bool bt_is_break(uint32_t lin);
bool bt_is_callout(uint32_t lin);
/* translate.c */
uint32_t bt_translate(uint32_t eip);
/* profile.c (only when bt.prof is set) */
struct emitter;
int bt_prof_init(void *mem, size_t size);
void bt_prof_prologue(struct emitter *e, uint32_t *slot);
void bt_prof_record(uint32_t idx, uint64_t cycles);
void bt_prof_invalidated(uint32_t idx);
void bt_prof_chained(uint32_t from, uint32_t to);
void bt_prof_harvest(bool flushing);
uint32_t bt_prof_event(void);          /* the open event's code, opening it */
void bt_prof_unchained(struct exit_rec *x, unsigned why);
/* A cause for what follows; returns the one it replaces (bt_prof_restore).
 * `force`: replace an outer cause too (a flush is an event of its own). */
struct bt_prof_ctx { uint32_t cause, eip, addr, ev; };
struct bt_prof_ctx bt_prof_begin(unsigned cause, uint32_t eip, uint32_t addr, bool force);
void bt_prof_restore(struct bt_prof_ctx saved);

static inline uint8_t *tc_ptr(uint32_t lin) { return (uint8_t *)(uintptr_t)lin; }

#endif
