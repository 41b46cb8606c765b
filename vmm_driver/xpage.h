/* The driver world's shared layout: where the module maps things in the
 * monitor's address space, and the cross page through which the host side
 * (vmm_driver/module.c, switch.S) and the monitor image (vmm_driver/dworld/)
 * talk across a world switch.
 * Environment: included by the kernel module and by the freestanding
 * monitor image (types from <linux/types.h> only). */
#ifndef VMMON_XPAGE_H
#define VMMON_XPAGE_H
#include <linux/types.h>

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
 *   the cross page and the switch code: at their host kernel addresses. */
#define DW_IMAGE_VA   0x0000004000000000ull
#define DW_PTE_VA     0x0000005000000000ull
#define DW_RAM_VA     0x0000006000000000ull
#define DW_RAMPFN_VA  0x0000007000000000ull
#define DW_STACK_SIZE (64u << 10)      /* the monitor's stack: the last pages of monitor memory */

/* Page-table entry bits the monitor writes at DW_PTE_VA. */
#define DW_PTE_P   0x001ull
#define DW_PTE_RW  0x002ull
#define DW_PTE_US  0x004ull
#define DW_PTE_NX  (1ull << 63)

/* Host -> monitor commands (xp.cmd). */
#define DW_CMD_PING  1   /* arg[0] -> arg[0] + 1: a round trip and nothing else */
#define DW_CMD_INIT  2   /* vmm_init with the sizes in arg[] (DW_ARG_*) */
/* Monitor -> host requests (xp.req). */
#define DW_REQ_DONE    1   /* the command finished: result in xp.ret */
#define DW_REQ_CONSOLE 2   /* write xp.len bytes of xp.data to the console */
#define DW_REQ_LOG     3   /* one diagnostics line in xp.data */
#define DW_REQ_FAULT   4   /* the monitor took exception xp.arg[0] at xp.arg[1] (cr2 arg[2]): stopped */

struct vmmon_xpage {
	/* Written by the host side before each entry. */
	__u64 magic;              /* DW_XPAGE_MAGIC */
	__u64 to_host;            /* the monitor calls this address to switch back */
	__u64 mon_size, ram_size; /* bytes */
	__u64 ns_mult, ns_shift;  /* ns = (tsc * ns_mult) >> ns_shift */
	__u32 cmd, req;
	__u64 arg[6];
	__s64 ret;
	__u32 len;
	__u32 entries;            /* monitor: commands handled */
	/* The switch's own save area (switch.S): host then monitor state. */
	__u64 host_rsp, host_cr3, host_cr4, host_cr0, host_efer, host_rflags;
	__u8 host_gdtr[10], host_idtr[10];
	__u16 host_ldtr, host_tr, host_ds, host_es, host_ss, host_fs, host_gs;
	__u64 host_fsbase, host_gsbase, host_kgsbase;
	__u64 mon_rsp, mon_cr3;
	__u8 mon_gdtr[10], mon_idtr[10];
	__u64 irq_vector;         /* a host interrupt the monitor took: re-delivered by the host */
	__u8 data[2048];
};
#define DW_XPAGE_MAGIC 0x65676170786d6d76ull   /* "vmmxpage" */

#endif
