/* The driver world's shared layout: where the module maps things in the
 * monitor's address space, and the cross page through which the host side
 * (vmm_driver/module.c, switch.S) and the monitor image (vmm_driver/dworld/)
 * talk across a world switch.
 * Environment: included by the kernel module and by the freestanding
 * monitor image (types from <linux/types.h> only). */
#ifndef VMMON_XPAGE_H
#define VMMON_XPAGE_H
#include <linux/types.h>
#include "vmmon_ioctl.h"

/* The monitor's address space (4-level or 5-level, as the host's paging is;
 * none of it global, so a switch leaves no monitor entry in the TLB for the
 * host to hit):
 *   0 .. 4 GiB        guest-linear space for guest code; its page-table
 *                     entries are the linear array at DW_PTE_VA, written by
 *                     the monitor (a hidden fault is a page-table write);
 *                     MON_BASE.. holds the monitor area (mon_area.h)
 *   DW_IMAGE_VA       monitor memory: page i of VMMON_CREATE_VM's mon_size
 *                     at DW_IMAGE_VA + i * 4096 (image, heap, stack)
 *   DW_PTE_VA         the guest-linear PTE array (1 Mi entries)
 *   DW_RAM_VA         guest-physical RAM, the monitor's view (vmm_config.ram)
 *   DW_RAMPFN_VA      the host-physical address of each RAM page
 *   DW_XPAGE_VA       the cross page (below)
 *   the cross page and the switch code: at their host kernel addresses. */
#define DW_IMAGE_VA   0x0000004000000000ull
#define DW_PTE_VA     0x0000005000000000ull
#define DW_RAM_VA     0x0000006000000000ull
#define DW_RAMPFN_VA  0x0000007000000000ull
#define DW_STACK_SIZE (64u << 10)      /* the monitor's stack: the last pages of monitor memory */
/* The monitor area (include/mon_area.h: MON_BASE, MON_SIZE) in the monitor's
 * address space: the DW_AREA_PAGES pages of monitor memory just below the
 * stack, mapped by the module at 0xFFC00000 (when monitor memory holds at
 * least DW_AREA_FIRST_MIN pages; else left unmapped and INIT fails). */
#define DW_AREA_PAGES     1024u
#define DW_AREA_FIRST_MIN (DW_STACK_SIZE / 4096u + DW_AREA_PAGES + 1u)
#define DW_GUEST_PTS      2048u        /* page tables of the low 4 GiB (1 Mi entries) */

/* Page-table entry bits the monitor writes at DW_PTE_VA. */
#define DW_PTE_P   0x001ull
#define DW_PTE_RW  0x002ull
#define DW_PTE_US  0x004ull
#define DW_PTE_NX  (1ull << 63)

/* Commands and requests: vmmon_ioctl.h's VMMON_CMD_* and VMMON_REQ_*. */
#define DW_XPAGE_VA   0x0000007800000000ull   /* the cross page again, where the stubs find it */

/* The cross page: DW_XPAGE_PAGES pages, mapped in the monitor's address space both at
 * their host kernel address (so the GDTR and IDTR bases and the page's
 * own pointers hold in both worlds) and at DW_XPAGE_VA. The switch's fields
 * come first, at the offsets switch.S uses (XP_* there; checked in
 * world.c). Page 0 ends with the monitor's GDT (a copy of the host's),
 * page 1 is the monitor's IDT. */
struct vmmon_xpage {
	__u64 host_rsp;            /*   0 */
	__u64 host_cr3;            /*   8 */
	__u64 mon_rsp;             /*  16: 0 before the first entry */
	__u64 mon_cr3;             /*  24 */
	__u64 entry;               /*  32: the image's entry point */
	__u64 stack_top;           /*  40 */
	__u64 self;                /*  48: this page's host address, dw_main's argument */
	__u32 req, cmd;            /*  56, 60: VMMON_REQ_* (the stubs set IRQ and FAULT), VMMON_CMD_* */
	__u64 fault_vector, fault_error, fault_rip, fault_cr2;   /* 64 72 80 88 */
	__u8 host_gdtr[16];        /*  96: 10 bytes used */
	__u8 host_idtr[16];        /* 112 */
	__u8 mon_gdtr[16];         /* 128 */
	__u8 mon_idtr[16];         /* 144 */
	__u16 host_ldtr, mon_ldtr; /* 160, 162: LDTR on either side (mon_ldtr: the module's, below) */
	__u16 host_tr, mon_tr;     /* 164, 166: TR on either side (mon_tr: DW_GDT_TSS_OFFSET) */
	__u16 host_ds, host_es, host_fs, host_gs;  /* 168..174: the host's, back at every switch out */
	__u64 host_fsbase, host_gsbase;            /* 176, 184 */
	__u64 guest_trap;          /* 192: dworld's handler of exceptions from CPL 3 (0: they end the VM) */
	/* dworld's handler of the frames the host side hands it (0: none):
	 * a debug trap (vector 1) of the monitor itself, and the alarm. The
	 * monitor's timer: when the host finds its deadline passed it sets
	 * alarm, and the next resume from a host interrupt (resume_irq) jumps
	 * to mon_trap with the interrupted frame, its vector slot
	 * DW_VEC_ALARM, instead of returning to it; a resume from the
	 * monitor's own switch out leaves alarm for dworld (dworld.c to_host). */
	__u64 mon_trap;            /* 200 */
	__u32 alarm;               /* 208: 1: the deadline passed, not yet taken */
	__u32 reserved_alarm;
	/* Past the switch's fields: the host side and dworld only. */
	__u64 magic;               /* DW_XPAGE_MAGIC */
	__u64 to_host;             /* dworld calls this (switch.S dw_to_host) with the page in %rdi */
	__u64 mon_size, ram_size;  /* bytes */
	__u64 ns_mult, ns_shift;   /* ns = (tsc * ns_mult) >> ns_shift */
	/* The monitor's timer, in those ns: the host arms a host timer for
	 * it while the monitor or the guest runs; once passed it is the
	 * host's to clear (U64_MAX) as it sets alarm. */
	__u64 deadline_ns;
	__u64 wait_ns;             /* VMMON_REQ_WAIT: sleep in the host until then */
	__u64 arg[4];
	__s64 ret;
	__u32 len;                 /* bytes in data */
	__u32 entries;             /* commands the monitor has started */
	/* The monitor's counters as text ("name value\n" lines), written at
	 * the end of each command: stats_len bytes at stats_off in monitor
	 * memory (VMMON_GET_COUNTERS copies them out; the module checks both). */
	__u64 stats_off;
	__u32 stats_len, reserved_xp;
	/* The monitor's LDT (dworld's, in monitor memory): the module puts
	 * its descriptor in the GDT copy at DW_GDT_LDT_OFFSET and loads it at
	 * every entry when the range lies inside monitor memory (0: none). */
	__u64 gate_entry;          /* dworld's callout gate: the call gate at HOST_CS64 in the GDT copy (0: none) */
	__u64 ldt_base;            /* monitor address, 8-aligned */
	__u32 ldt_limit;           /* bytes - 1, below 65536 */
	__u32 gate_hidden;         /* dworld: guest code runs directly: the gate is written not present */
	__u8 data[1024];
	/* The monitor's 64-bit TSS: IST1 (the double fault's stack) is the
	 * top of the cross page's last two pages (DW_XPAGE_PAGES). */
	__u8 tss[104] __attribute__((aligned(16)));
};
#define DW_VEC_ALARM 256u     /* no CPU vector */
#define DW_XPAGE_PAGES 4u      /* page 0: these fields and the GDT copy; 1: the IDT; 2: RSP0's stack; 3: IST1's */
#define DW_GDT_GATE_OFFSET 48u /* HOST_CS64 (0x33) & ~7: the callout's call gate, 16 bytes (Linux leaves slot 7 empty) */
#define DW_XPAGE_MAGIC 0x65676170786d6d76ull   /* "vmmxpage" */
#define DW_GDT_OFFSET  2048u   /* the monitor's GDT inside page 0 */
#define DW_GDT_MAX     2048u
#define DW_GDT_LDT_OFFSET (DW_GDT_MAX - 16u)   /* the LDT's 16-byte descriptor; its selector too */
#define DW_GDT_TSS_OFFSET (DW_GDT_MAX - 32u)   /* the monitor's TSS descriptor; its selector too */

#endif
