/* The /dev/vmmon interface shared by the module and its user-space callers
 * (the VMX, tests/driver/): ioctl numbers and argument layouts.
 * Environment: kernel and user space (types from <linux/types.h> only).
 * Every argument starts with its own size and has reserved fields that must
 * be zero, so the layout can grow without a new ioctl number. */
#ifndef VMMON_IOCTL_H
#define VMMON_IOCTL_H
#include <linux/types.h>
#include <linux/ioctl.h>

#define VMMON_API_VERSION 4

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

/* VMMON_RUN: switches into the monitor and stays there (coming back to
 * the host for each host interrupt, which is re-delivered there) until the
 * monitor makes a request of the VMX (VMMON_EXIT_MONITOR: req, and ret or
 * data), a signal is pending for the caller (VMMON_EXIT_SIGNAL, EINTR), or
 * max_switches switches have happened (VMMON_EXIT_BUDGET). A command starts
 * only when the monitor is idle (its last request was VMMON_REQ_DONE or
 * none): cmd 0 resumes the one in progress. After VMMON_REQ_FAULT the VM
 * is dead (EIO). */
struct vmmon_run {
	__u32 size;          /* sizeof(struct vmmon_run) */
	__u32 exit_reason;   /* out: VMMON_EXIT_*; 0 on entry */
	__u64 max_switches;  /* 1..2^32 */
	__u32 cmd;           /* in: VMMON_CMD_*, or 0 */
	__u32 req;           /* out: VMMON_REQ_* with VMMON_EXIT_MONITOR */
	__u64 arg[4];        /* in: the command's arguments, or (cmd 0) the answer to the
	                        request that returned last; out: the request's arguments;
	                        with VMMON_REQ_FAULT: vector, error code, RIP, CR2 */
	__s64 ret;           /* out: VMMON_REQ_DONE's result */
	__u64 data_uaddr;    /* a request's bytes go here ... */
	__u32 data_len;      /* ... in: room (0..4096); out: bytes written */
	__u32 in_len;        /* in: bytes at data_uaddr the monitor is given with the command
	                        or the answer (0..VMMON_DATA_MAX) */
	__u64 reserved[2];
};
#define VMMON_DATA_MAX 1024u   /* bytes a request or an answer carries (the cross page's) */
#define VMMON_EXIT_BUDGET  1
#define VMMON_EXIT_SIGNAL  2
#define VMMON_EXIT_MONITOR 3

/* Commands the monitor image (vmm_driver/dworld) takes. */
#define VMMON_CMD_PING  1   /* ret = arg[0] + 1: one round trip */
#define VMMON_CMD_INIT  2   /* vmm_init: arg[0] TC bytes, arg[1] VMMON_INIT_* fields,
                               data: struct vmmon_init_data (or none); ret 0 or -1 */
#define VMMON_CMD_SPIN  3   /* arg[0] iterations of a loop with interrupts on; ret = iterations */
#define VMMON_CMD_FAULT 4   /* executes ud2: the monitor's own exception */
#define VMMON_CMD_LOG   5   /* logs one line: a request in the middle of a command */
#define VMMON_CMD_RESET 6   /* vmm_reset: arg[0] protocol, arg[1] EIP, arg[2] EAX | EBX << 32, arg[3] ESI;
                               data: the Linux command line (fw_cfg's), in_len bytes */
#define VMMON_CMD_RUN   7   /* runs the guest until it stops; ret = its exit status */
#define VMMON_CMD_STACKFAULT 8 /* ud2 on an unmapped stack: a double fault, taken on IST1 */
#define VMMON_CMD_SEGLOAD 9  /* after INIT: loads DS/ES/FS/GS from its LDT and leaves them; ret = GS base */
#define VMMON_CMD_ECHO 10   /* logs its data (a LOG request), then asks for the wall clock: ret = the answer's
                               arg[0] + its data's length (the two directions of the cross page's data) */
#define VMMON_CMD_MAX  10
/* VMMON_CMD_INIT's arg[1]: the VMX's configuration (include/world.h's). */
#define VMMON_INIT_MACHINE(a)  ((a) & 0xf)          /* enum vmm_machine */
#define VMMON_INIT_MODE(a)     (((a) >> 4) & 0xf)   /* enum vmm_exec_mode */
#define VMMON_INIT_TESTDEV(a)  (((a) >> 8) & 1)
#define VMMON_INIT_SOFTLIM(a)  (((a) >> 9) & 1)      /* the CPU checks no segment limit: soft_limits */
#define VMMON_INIT_TRACE(a)    (((a) >> 16) & 0xffff) /* VMX_TRACE_* */
#define VMMON_INIT_ARG(machine, mode, testdev, trace) \
	((__u64)(machine) | (__u64)(mode) << 4 | (__u64)(testdev) << 8 | (__u64)(trace) << 16)
#define VMMON_INIT_ARG_SOFTLIM (1ull << 9)
/* Requests: VMMON_REQ_IRQ and VMMON_REQ_WAIT never leave the module
 * (WAIT: the guest is idle; the module sleeps, interruptibly, until the
 * monitor's wake-up time, and a signal ends the sleep early). */
#define VMMON_REQ_DONE    1
#define VMMON_REQ_CONSOLE 2
#define VMMON_REQ_LOG     3
#define VMMON_REQ_FAULT   4
#define VMMON_REQ_IRQ     5
/* Host services the monitor asks for in the middle of a command; the VMX
 * answers in arg[] (and data) of the next VMMON_RUN with cmd 0. */
#define VMMON_REQ_CONSOLE_IN 6  /* arg[0] room, arg[1] guest idle: answer data, arg[0] bytes, arg[1] quit */
#define VMMON_REQ_DISK    7     /* arg[0] VMMON_DISK_* | drive << 8, arg[1] LBA, arg[2] sectors
				   (write: data): answer arg[0] 0 or -1 (read: data) */
#define VMMON_REQ_WALL    8     /* answer arg[0]: the host's wall clock, seconds since 1970 */
#define VMMON_DISK_READ   0
#define VMMON_DISK_WRITE  1
#define VMMON_DISK_FLUSH  2
/* VMMON_CMD_INIT's data: the VMX's drives (include/world.h's vmm_config). */
struct vmmon_init_data {
	__u64 disk_sectors[4];
	__u8 disk_readonly[4];
	__u32 reserved;
};
#define VMMON_REQ_WAIT    9     /* the guest idles: the module sleeps until xp's deadline (never reaches the VMX) */

/* VMMON_GET_COUNTERS: what the VM's world did so far. */
struct vmmon_counters {
	__u32 size;          /* sizeof(struct vmmon_counters) */
	__u32 reserved0;
	__u64 runs;          /* VMMON_RUN calls that entered the run loop */
	__u64 switches;      /* world switches (round trips host -> monitor -> host) */
	__u64 exits_budget, exits_signal, exits_resched, exits_monitor;
	__u64 host_irqs;     /* host interrupts taken while in the monitor, re-delivered */
	__u64 ram_pages, mon_pages;
	__u64 pt_pages;      /* page-table pages of the monitor's address space */
	__u64 mon_faults;    /* exceptions the monitor itself took (the VM then dead) */
	/* The monitor's timer (xpage.h deadline_ns): */
	__u64 timer_fires;   /* the module's host timer for it expired */
	__u64 alarms;        /* deadlines found passed, given to the monitor */
	__u64 alarm_irqs;    /* ... of them found on the way back from a host interrupt */
	__u64 waits;         /* VMMON_REQ_WAIT sleeps (the guest idle) */
	__u64 wait_ns;       /* time slept in them */
	/* The monitor's own counters, as of the end of its last command:
	 * "name value\n" lines copied to stats_uaddr (0: not wanted). */
	__u64 stats_uaddr;
	__u32 stats_len;     /* in: room (0..VMMON_STATS_MAX); out: bytes written */
	__u32 reserved1;
	__u64 monitor_ns;    /* out (0 on entry): time in the monitor's world, switch in to switch out */
	__u64 reserved[1];
};
#define VMMON_STATS_MAX (64u << 10)

#define VMMON_MAGIC 0xB7
#define VMMON_VERSION        _IO(VMMON_MAGIC, 0)   /* returns VMMON_API_VERSION */
#define VMMON_CREATE_VM      _IOW(VMMON_MAGIC, 1, struct vmmon_create)
#define VMMON_LOAD_MONITOR   _IOW(VMMON_MAGIC, 2, struct vmmon_load)
#define VMMON_RUN            _IOWR(VMMON_MAGIC, 3, struct vmmon_run)
#define VMMON_GET_COUNTERS   _IOWR(VMMON_MAGIC, 4, struct vmmon_counters)
#define VMMON_DESTROY_VM     _IO(VMMON_MAGIC, 5)

#endif
