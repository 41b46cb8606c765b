/* The shadow MMU's interface to the rest of the monitor: guest paging as the
 * hardware does it (2-level non-PAE tables, 4 KB and 4 MB pages, U/S, R/W,
 * CR0.WP, accessed/dirty bits written into the guest's own entries), the
 * shadow mappings that make guest-linear addresses work for translated
 * code (filled on demand, in runs), and the split of host faults into
 * hidden (the monitor's business) and true (the guest's #PF). */
#ifndef MMU_H
#define MMU_H
#include <stdint.h>
#include <stdbool.h>
#include "world.h"

/* Access kinds, also the #PF error code bits they produce. */
#define ACC_WRITE 0x02
#define ACC_USER  0x04
#define ACC_FETCH 0x10   /* not an error code bit without NX: used internally */

#define PF_P 0x01        /* protection violation (else not present) */
#define PF_W 0x02
#define PF_U 0x04

struct mmu_config {
	uint8_t *ram;
	uint32_t ram_size;
	const struct world_ops *w;
	void *mem;             /* mmu_mem_size() zeroed bytes, 64-byte aligned: the MMU's tables */
	size_t mem_size;
};

size_t mmu_mem_size(void);
/* -1 when the memory given is too small or misaligned. */
int mmu_init(const struct mmu_config *c);
/* Control registers as the guest loads them; each returns true when the
 * linear -> physical mapping may have changed (translations must recheck). */
bool mmu_set_cr0(uint32_t cr0);
bool mmu_set_cr3(uint32_t cr3);
bool mmu_set_cr4(uint32_t cr4);
bool mmu_invlpg(uint32_t lin);
/* The guest's privilege: user mode gets the shadow of its pages only, or,
 * when every supervisor page mapped lies above every user page (and
 * CR0.WP makes both modes see the same write rights), the same shadow
 * with user mode's segments cut at mmu_user_limit(). */
bool mmu_set_user(bool user);
/* The linear address user-mode data accesses must stay below, or 0 when
 * user mode has a shadow of its own (no limit beyond the monitor's). */
uint32_t mmu_user_limit(void);
/* Whether the guest maps linear page `lin` as global now (CR4.PGE on, G in
 * the entry): a CR3 load leaves it as it is. No A/D bits are touched. */
bool mmu_lin_global(uint32_t lin);
bool mmu_paging(void);
/* Direct execution: let guest code fetch from the user page mapped at
 * `lin`, or any page with `supervisor` (trap-and-emulate's kernel code);
 * false: nothing such is mapped there. mmu_drop_exec: from no alias of
 * guest-physical page ppn any more. New mappings start without it: a
 * directly executed fetch from them faults, and the monitor decides. */
bool mmu_grant_exec(uint32_t lin, bool supervisor);
void mmu_drop_exec(uint32_t ppn);

/* Linear -> physical for an access by the guest, as the page walk would
 * do it (A/D bits set). Returns true, or false with the #PF error code. */
bool mmu_translate(uint32_t lin, unsigned acc, uint32_t *pa, uint32_t *pf_err);
/* Host pointer to guest-physical memory, NULL outside RAM. */
void *mmu_phys_ptr(uint32_t pa, uint32_t len);

/* A host fault at guest-linear `lin` while guest code ran. */
enum mmu_fault_kind {
	MMU_HIDDEN,      /* shadow filled or upgraded: retry the instruction */
	MMU_TRUE,        /* the guest's #PF: *pf_err, CR2 = lin */
	MMU_TRACED,      /* a write to a traced page, or any access to a read-traced one: *pa says which */
	MMU_OUTSIDE,     /* no RAM there (paging off) or page 0 */
};
enum mmu_fault_kind mmu_host_fault(uint32_t lin, bool write, bool user, uint32_t *pf_err, uint32_t *pa);

/* Traces: owners of guest-physical pages that must see every write to
 * them, whatever linear alias it goes through. The shadow MMU itself is
 * owner 0 (page tables); others register: the translator (code), ROM
 * (writes discarded), ... A traced page is mapped read-only everywhere, so
 * guest writes fault and are performed by the monitor, which tells the
 * owners exactly what was written. */
typedef void (*mmu_trace_fn)(void *opaque, uint32_t pa, uint32_t len);
#define TRACE_OWNERS 8
/* Returns the owner number, or -1 when the table is full. `discard`: the
 * owner's pages never change (ROM): writes to them are dropped. Hits are
 * counted as mmu.trace.hit.<name>. */
int mmu_trace_owner(const char *name, mmu_trace_fn on_write, void *opaque, bool discard);
void mmu_trace(uint32_t ppn, int owner, bool on);
bool mmu_page_traced(uint32_t ppn);
/* Read traces: an owner registered here hears of every data read of its
 * pages too (on_read; writes as any owner's). Its pages are mapped not
 * present in the shadow, so every guest access to them faults and is
 * performed by the monitor, which reports the bytes it reads through
 * mmu_phys_read (instruction fetches are not reads). A debugger's read and
 * access watchpoints. */
int mmu_read_trace_owner(const char *name, mmu_trace_fn on_write, mmu_trace_fn on_read, void *opaque);
bool mmu_page_read_traced(uint32_t ppn);
void mmu_phys_read(uint32_t pa, uint32_t len);
/* An instruction the monitor cannot perform is to read a read-traced page
 * natively (single-stepped): the shadow of linear page `lin` becomes
 * readable (not writable) until mmu_hide. false: nothing to reveal there
 * (or a page is revealed already). */
bool mmu_reveal(uint32_t lin);
void mmu_hide(void);
/* Whether a write to guest-physical pa may change memory (not ROM). */
bool mmu_write_allowed(uint32_t pa);
/* The monitor wrote [pa, pa+len) on the guest's behalf: every owner of
 * those pages hears of it (page tables drop the shadows built from the
 * entries written). */
void mmu_phys_written(uint32_t pa, uint32_t len);
/* Just before such a write: lets the MMU see which entries change from not
 * present to present (those are mapped at once, saving the hidden fault). */
void mmu_before_write(uint32_t pa, uint32_t len);
/* An instruction the monitor does not perform is about to write page ppn
 * natively: each owner takes the whole page as written and lets go of it.
 * false when an owner forbids the write (ROM). */
bool mmu_release_page(uint32_t ppn);

#endif
