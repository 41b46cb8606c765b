/* The monitor area: the top 4 MiB of the guest's linear space, hidden from
 * the guest by segment truncation. Holds the state translated code reaches
 * through %gs (guest registers at a callout, virtual IF, scratch slots, far
 * pointers for the gate), the gate stubs, the indirect-branch table and the
 * translation cache. Offsets are shared by C, the gate assembly and the
 * translator's emitters, so they are plain numbers checked against the struct. */
#ifndef MON_AREA_H
#define MON_AREA_H

#define MON_BASE        0xFFC00000u
#define MON_SIZE        0x00400000u
#define GUEST_LIN_LIMIT (MON_BASE - 1u)    /* last linear byte a guest segment may reach */

/* Layout inside the monitor area (offsets from MON_BASE). */
#define MON_OFF_AREA    0x000000u   /* struct mon_area, %gs base */
#define MON_OFF_STUBS   0x001000u   /* gate stubs: 64-bit code, copied at start */
#define MON_OFF_STACK   0x002000u   /* landing stack for far calls (grows down from 0x3000) */
#define MON_OFF_STACK_TOP 0x002ff0u
#define MON_OFF_IBL     0x003000u   /* the shared indirect-branch routine (32-bit code) */
#define MON_OFF_IBLTAB  0x010000u   /* IBL hash: 65536 x {-eip, tc}, a half per privilege */
#define MON_IBLTAB_ENTRIES 65536u
#define MON_IBL_HALF_BYTES 0x40000u /* user mode's half starts here */
#define MON_OFF_TC      0x090000u   /* translation cache to the end */
#define MON_TC_MAX      (MON_SIZE - MON_OFF_TC)

/* Host selectors (Linux x86-64 GDT). */
#define HOST_CS64   0x33
#define HOST_DS     0x2b

/* LDT slots (selector = slot << 3 | 4 (TI) | 3 (RPL)). */
#define LDT_SEL(slot)     (((slot) << 3) | 7)
#define LDT_MON_CODE32    0     /* flat 4 GiB 32-bit code, readable: runs the TC */
#define LDT_MON_FLAT      1     /* flat 4 GiB data: the landing stack's SS */
#define LDT_MON_GS        2     /* base MON_BASE: %gs in translated code */
#define LDT_SHADOW_FIRST  8     /* shadows of guest descriptors from here */
#define LDT_ENTRIES       8192

/* struct mon_area field offsets (see the struct below). */
#define MA_EAX      0x00
#define MA_ECX      0x04
#define MA_EDX      0x08
#define MA_EBX      0x0c
#define MA_ESP      0x10   /* guest ESP, followed by SS: an m16:32 for lss */
#define MA_SS       0x14
#define MA_EBP      0x18
#define MA_ESI      0x1c
#define MA_EDI      0x20
#define MA_EFLAGS   0x24   /* real (arithmetic) flags at the callout */
#define MA_VIF      0x28   /* virtual IF: 0 or 0x200 */
#define MA_PENDING  0x2c   /* nonzero: an interrupt may be deliverable; inline sti/popf check it */
#define MA_S_ECX    0x30   /* scratch slots for inline sequences and the IBL */
#define MA_S_EDX    0x34
#define MA_S_EAX    0x38
#define MA_S_TARGET 0x3c
#define MA_S_JMP    0x40
#define MA_S_TMP    0x44
#define MA_MONSTK   0x48   /* m16:32: landing ESP, SS */
#define MA_MONSTK_SS 0x4c
#define MA_RESUME   0x50   /* m16:32: TC EIP and code selector the gate resumes at */
#define MA_RESUME_CS 0x54
#define MA_DS_SEL   0x58   /* shadow selectors the gate loads when MA_SEG_DIRTY */
#define MA_ES_SEL   0x5a
#define MA_FS_SEL   0x5c
#define MA_GGS_SEL  0x5e   /* shadow of the guest's GS (swapped in around GS-prefixed insns) */
#define MA_GCS_SEL  0x60   /* data shadow of the guest's CS (for CS-prefixed accesses) */
#define MA_MONGS_SEL 0x62  /* the monitor's own GS selector (reloaded after a swap) */
#define MA_SEG_DIRTY 0x64
#define MA_EXIT     0x68   /* why the world was left (set by C) */
#define MA_HOST_RSP 0x70
#define MA_CALLOUT_FN 0x78
#define MA_SELF     0x80
#define MA_HOST_FSBASE 0x88
#define MA_GUEST_FSBASE 0x90
#define MA_VEFLAGS  0x98   /* virtual system flags except IF: IOPL, NT, AC, ID, bit 1 */
#define MA_GSEL_CS  0x9c   /* guest-visible selectors, zero-extended (mov/push sreg) */
#define MA_GSEL_SS  0xa0
#define MA_GSEL_DS  0xa4
#define MA_GSEL_ES  0xa8
#define MA_GSEL_FS  0xac
#define MA_GSEL_GS  0xb0
#define MA_STEP     0xb4   /* nonzero while single-stepping TC (SMC, interrupt window) */
#define MA_S_PROF   0xb8   /* scratch of the profiling prologue (include/profile.h): %eax while it counts */
#define MA_IBL_OFF  0xbc   /* byte offset of the current privilege's half of the IBL table */
#define MA_DIRECT   0xc0   /* m16:32: guest EIP and code shadow gate_direct jumps to */
#define MA_DIRECT_CS 0xc4
#define MA_S_CHK    0xc8   /* %eax while a software limit check runs (bt_env.soft_limits) */
#define MA_BND      0xd0   /* per guest segment (enum bt_seg order): a bound pair, see struct */

#ifndef __ASSEMBLER__
#include <stdint.h>
#include <stddef.h>

struct mon_area {
	uint32_t eax, ecx, edx, ebx, esp;
	uint16_t ss, ss_pad;
	uint32_t ebp, esi, edi;
	uint32_t eflags;
	uint32_t vif;
	uint32_t pending;
	uint32_t s_ecx, s_edx, s_eax, s_target, s_jmp, s_tmp;
	uint32_t monstk_esp; uint16_t monstk_ss, monstk_pad;
	uint32_t resume_eip; uint16_t resume_cs, resume_pad;
	uint16_t ds_sel, es_sel, fs_sel, ggs_sel, gcs_sel, mongs_sel;
	uint32_t seg_dirty;
	uint32_t exit_reason, exit_pad;
	uint64_t host_rsp;
	uint64_t callout_fn;
	uint64_t self;
	uint64_t host_fsbase;
	uint64_t guest_fsbase;
	uint32_t veflags;
	uint32_t gsel_cs, gsel_ss, gsel_ds, gsel_es, gsel_fs, gsel_gs;
	uint32_t step;
	uint32_t s_prof;
	uint32_t ibl_off;
	uint32_t direct_eip; uint16_t direct_cs, direct_pad;
	/* Software segment-limit checks, for a host CPU that checks no limit
	 * in compatibility mode (software emulation): translated code biases
	 * each offset it is about to use by 2^31 and checks it with bound
	 * against its segment's pair, the offsets the CPU would allow (the
	 * guest's limit, truncated below the monitor) biased the same way.
	 * An empty pair (lo > hi) makes every access trap. */
	uint32_t s_chk, chk_pad;
	int32_t bnd[6][2];
};

#define MA_CHECK(f, off) _Static_assert(offsetof(struct mon_area, f) == off, #f)
MA_CHECK(eax, MA_EAX); MA_CHECK(ecx, MA_ECX); MA_CHECK(esp, MA_ESP); MA_CHECK(ss, MA_SS);
MA_CHECK(ebp, MA_EBP); MA_CHECK(edi, MA_EDI); MA_CHECK(eflags, MA_EFLAGS); MA_CHECK(vif, MA_VIF);
MA_CHECK(pending, MA_PENDING); MA_CHECK(s_ecx, MA_S_ECX); MA_CHECK(s_tmp, MA_S_TMP);
MA_CHECK(monstk_esp, MA_MONSTK); MA_CHECK(monstk_ss, MA_MONSTK_SS); MA_CHECK(resume_eip, MA_RESUME);
MA_CHECK(resume_cs, MA_RESUME_CS); MA_CHECK(ds_sel, MA_DS_SEL); MA_CHECK(mongs_sel, MA_MONGS_SEL);
MA_CHECK(seg_dirty, MA_SEG_DIRTY); MA_CHECK(exit_reason, MA_EXIT); MA_CHECK(host_rsp, MA_HOST_RSP);
MA_CHECK(callout_fn, MA_CALLOUT_FN); MA_CHECK(self, MA_SELF); MA_CHECK(host_fsbase, MA_HOST_FSBASE);
MA_CHECK(guest_fsbase, MA_GUEST_FSBASE); MA_CHECK(veflags, MA_VEFLAGS); MA_CHECK(gsel_cs, MA_GSEL_CS);
MA_CHECK(gsel_gs, MA_GSEL_GS); MA_CHECK(step, MA_STEP); MA_CHECK(s_prof, MA_S_PROF); MA_CHECK(ibl_off, MA_IBL_OFF);
MA_CHECK(direct_eip, MA_DIRECT); MA_CHECK(direct_cs, MA_DIRECT_CS); MA_CHECK(s_chk, MA_S_CHK); MA_CHECK(bnd, MA_BND);

static inline struct mon_area *mon_area(void) { return (struct mon_area *)(uintptr_t)MON_BASE; }
#endif
#endif
