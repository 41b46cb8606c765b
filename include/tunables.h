/* Every tunable of the monitor in one table: what it trades, and the value
 * in use. Components include this instead of keeping their own numbers. */
#ifndef TUNABLES_H
#define TUNABLES_H

/* ---- translator (bt/) ---- */
/* Guest instructions per translation unit: longer units chain less but
 * translate more code that may never run. */
#define TUNE_TU_MAX_INSNS        12u
/* Translation cache in KiB when -tc-size is not given (the monitor area
 * leaves room for at most MON_TC_MAX). */
#define TUNE_TC_DEFAULT_KB       3072u
/* IBL entries remembered for cheap resets (past this, a reset clears the
 * whole 512 KiB table). */
#define TUNE_IBL_USED_MAX        4096u
/* Instructions adaptive translation remembers as "translate as a callout". */
#define TUNE_ADAPT_SET           1024u
/* The lowest supervisor page for which user mode shares the kernel's
 * shadow, cut off by segment limits (below it, a kernel mapped low would
 * leave user mode almost no room: switch views instead). */
#define TUNE_SPLIT_MIN_FLOOR     0x40000000u
/* Traced-page write traps from one instruction before it is retranslated
 * as a callout (a trap costs tens of callouts). */
#define TUNE_ADAPT_THRESHOLD     8u
/* Writes in a row to plain RAM (untraced, mappable) by such a callout
 * before it runs natively again: a fill loop that once crossed code pages
 * (memtest86+ over its own old copy) is not a callout for the rest of RAM.
 * Going back and forth costs 8 traps per this many callouts. */
#define TUNE_ADAPT_REVERT        1024u

/* ---- direct execution (vmm/direct.c) ---- */
/* Times a scanned user page may be rewritten before it stays translated:
 * each rewrite costs a trap and a rescan, and a page that keeps changing
 * holds data next to its code. */
#define TUNE_DIRECT_REWRITES     4u
/* -mode bt (adaptive): a user page whose native runs leave for the
 * monitor TUNE_ADAPT_TRAPS times (faults it cannot complete, system
 * calls) within TUNE_ADAPT_WINDOW_NS of guest time runs translated, where
 * those exits are callouts, for TUNE_ADAPT_RETRY_NS before trying native
 * runs again. 50 traps of ~5 us in 10 ms: native runs lose at most ~2.5%
 * to traps before the page moves. */
#define TUNE_ADAPT_TRAPS         50u
#define TUNE_ADAPT_WINDOW_NS     10000000ull
#define TUNE_ADAPT_RETRY_NS      1000000000ull
/* -mode te: how long (guest ns) timer exits may find the virtual IF clear
 * with an interrupt pending, while kernel code runs natively, before the
 * monitor calls it the lost-interrupt divergence and stops the VM. */
#define TUNE_TE_IF_LOST_NS       2000000000ull

/* ---- shadow MMU (shadow_mmu/) ---- */
/* 4 KB pages a hidden fault maps in one host call when their entries are
 * already accessed (and dirty, to map them writable). */
#define TUNE_FILL_RUN_MAX        16u
/* Address spaces (and privilege views) whose shadows are kept across CR3
 * loads, the runs each may hold, and the page tables each may depend on. */
#define TUNE_AS_SLOTS            8u
#define TUNE_AS_RUNS             1024u
#define TUNE_AS_PTS              128u

/* ---- monitor (vmm/) ---- */
/* Host timer period when the PIT has nothing sooner: how often console
 * input is looked at (ns). */
#define TUNE_POLL_NS             10000000ull
/* Distinct shadow descriptors cached (the host LDT holds 8192). */
#define TUNE_SHADOW_DESCRIPTORS  4096u

/* ---- virtual clock (vmm/vclock.c) ---- */
/* Guest time between two runs of the device timers, i.e. the shortest host
 * timer period (ns). Each run costs a host signal (~3.5 us here) plus the
 * guest's interrupt handler; a guest timer programmed faster has its
 * missed periods coalesced into one interrupt per run, as an i8259 merges
 * edges into one IRR bit. Counter and TSC reads stay exact. */
#define TUNE_TIMER_MIN_PERIOD_NS 100000ull
/* The guest TSC's rate (Hz): one cycle per guest nanosecond, so a guest
 * calibrating it against any PIT channel measures 1000 MHz. Guest-visible:
 * changing it changes what guests calibrate. */
#define TUNE_TSC_HZ              1000000000ull
/* The local APIC timer's bus clock: ns per bus cycle before the divide
 * configuration (1: 1 GHz, as QEMU's). Guest-visible like the TSC's rate. */
#define TUNE_LAPIC_BUS_CYCLE_NS  1ull

#endif
