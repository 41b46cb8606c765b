/* The /dev/vmmon interface shared by the module and its user-space callers
 * (the VMX, tests/driver/): ioctl numbers and argument layouts.
 * Environment: kernel and user space (types from <linux/types.h> only).
 * Every argument starts with its own size and has reserved fields that must
 * be zero, so the layout can grow without a new ioctl number. */
#ifndef VMMON_IOCTL_H
#define VMMON_IOCTL_H
#include <linux/types.h>
#include <linux/ioctl.h>

#define VMMON_API_VERSION 1

/* Limits the module enforces (EINVAL past them). */
#define VMMON_RAM_MAX      (3584ull << 20)  /* guest RAM: below the 4 GiB monitor area */
#define VMMON_MON_MAX      (64ull << 20)    /* monitor memory (image, heap, TC, stacks) */
#define VMMON_SEGS_MAX     16               /* loadable segments in one monitor image */

/* VMMON_CREATE_VM: pins the caller's guest RAM (page-aligned, writable,
 * ram_size bytes at ram_uaddr) and allocates mon_size bytes of monitor
 * memory. One VM per open file (EEXIST for a second). */
struct vmmon_create {
	__u32 size;          /* sizeof(struct vmmon_create) */
	__u32 flags;         /* none defined yet: must be 0 */
	__u64 ram_uaddr;
	__u64 ram_size;      /* multiple of 4096, 4096..VMMON_RAM_MAX */
	__u64 mon_size;      /* multiple of 4096, 4096..VMMON_MON_MAX */
	__u64 reserved[4];
};

/* One piece of a monitor image: filesz bytes from src_uaddr copied to
 * mon_offset in monitor memory, zero-filled up to memsz. */
struct vmmon_segment {
	__u64 src_uaddr;
	__u64 filesz;
	__u64 mon_offset;    /* multiple of 4096 */
	__u64 memsz;         /* >= filesz; the segment ends inside mon_size */
	__u32 prot;          /* VMMON_PROT_* */
	__u32 reserved;
};
#define VMMON_PROT_R 1u
#define VMMON_PROT_W 2u
#define VMMON_PROT_X 4u

/* VMMON_LOAD_MONITOR: before the first run; segments must not overlap. */
struct vmmon_load {
	__u32 size;          /* sizeof(struct vmmon_load) */
	__u32 nsegs;         /* 1..VMMON_SEGS_MAX */
	__u64 segs_uaddr;    /* array of nsegs struct vmmon_segment */
	__u64 entry;         /* offset of the monitor's entry point, inside an X segment */
	__u64 reserved[4];
};

/* VMMON_RUN: runs the VM until the monitor needs the VMX, a signal is
 * pending, or max_switches world switches have happened. */
struct vmmon_run {
	__u32 size;          /* sizeof(struct vmmon_run) */
	__u32 exit_reason;   /* out: VMMON_EXIT_* */
	__u64 max_switches;  /* 1..2^32 */
	__u64 reserved[4];
};
#define VMMON_EXIT_BUDGET  1   /* max_switches reached */
#define VMMON_EXIT_SIGNAL  2   /* a signal is pending for the caller (the ioctl returns -EINTR) */
#define VMMON_EXIT_MONITOR 3   /* the monitor asked for the VMX */

/* VMMON_GET_COUNTERS: what the VM's world did so far. */
struct vmmon_counters {
	__u32 size;          /* sizeof(struct vmmon_counters) */
	__u32 reserved0;
	__u64 runs;          /* VMMON_RUN calls that entered the run loop */
	__u64 switches;      /* world switches (round trips) */
	__u64 exits_budget, exits_signal, exits_resched, exits_monitor;
	__u64 host_irqs;     /* host interrupts taken while in the monitor, re-delivered */
	__u64 ram_pages, mon_pages;
	__u64 reserved[4];
};

#define VMMON_MAGIC 0xB7
#define VMMON_VERSION        _IO(VMMON_MAGIC, 0)   /* returns VMMON_API_VERSION */
#define VMMON_CREATE_VM      _IOW(VMMON_MAGIC, 1, struct vmmon_create)
#define VMMON_LOAD_MONITOR   _IOW(VMMON_MAGIC, 2, struct vmmon_load)
#define VMMON_RUN            _IOWR(VMMON_MAGIC, 3, struct vmmon_run)
#define VMMON_GET_COUNTERS   _IOWR(VMMON_MAGIC, 4, struct vmmon_counters)
#define VMMON_DESTROY_VM     _IO(VMMON_MAGIC, 5)

#endif
