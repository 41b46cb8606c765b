/* The module's own state for one VM (one open /dev/vmmon file) and the
 * functions memory.c gives module.c.
 * Environment: kernel, process context (the VMX's ioctls and its file's
 * release), never interrupt context. */
#ifndef VMMON_H
#define VMMON_H
#include <linux/types.h>
#include <linux/mutex.h>
#include <linux/hrtimer.h>
#include "vmmon_ioctl.h"

struct mm_struct;
struct page;

struct vmmon_vm {
	struct mutex lock;            /* one ioctl at a time per VM */
	struct mm_struct *mm;         /* the opener's: only it drives the VM (mmgrab'd) */
	bool created, loaded;
	struct page **ram;            /* pinned guest RAM, ram_pages of them */
	unsigned long ram_pages;
	unsigned long ram_charged;    /* pages charged to mm's locked_vm */
	struct page **mon;            /* monitor memory, mon_pages of them */
	unsigned long mon_pages;
	u64 entry;
	struct vmmon_counters ctr;
	/* The world (world.c), made at the first run. */
	struct page *xpages;          /* the cross page: two pages */
	struct vmmon_xpage *xp;
	u64 *pt_root;                 /* the monitor's top-level table */
	int levels;                   /* 4 or 5, as the host pages */
	struct page **pt;             /* every page-table page, for freeing */
	unsigned long npt, pt_cap;
	bool mon_busy;                /* a command is in progress in the monitor */
	bool answer_due;              /* it waits in a request for the VMX's answer */
	bool mon_dead;                /* the monitor faulted: never entered again */
	/* The host timer for the monitor's deadline (xpage.h deadline_ns):
	 * armed, pinned to the CPU about to switch in, only inside VMMON_RUN. */
	struct hrtimer timer;
	bool timer_ready;             /* hrtimer_init done */
	u64 timer_deadline;           /* the deadline it was last armed for */
	int timer_cpu;
	/* The guest's x87/SSE state (fxsave64 image, 512 bytes) between two
	 * switches: the host's FPU is the VMX's or another task's meanwhile. */
	u8 *guest_fpu;
};

int vmmon_mem_create(struct vmmon_vm *vm, const struct vmmon_create *c);
int vmmon_mem_load(struct vmmon_vm *vm, const struct vmmon_load *l);
void vmmon_mem_destroy(struct vmmon_vm *vm);
struct vmmon_xpage;
int vmmon_world_run(struct vmmon_vm *vm, struct vmmon_run *r);
void vmmon_world_destroy(struct vmmon_vm *vm);
/* Copies the monitor's counter text (xpage.h: stats_off, stats_len) to
 * user memory, at most room bytes; *len: bytes copied (0 when none). */
int vmmon_world_stats(struct vmmon_vm *vm, u64 uaddr, u32 room, u32 *len);
/* Pages and VMs the module holds now (sysfs: the leak checks read them). */
extern atomic_long_t vmmon_pages_held;
extern atomic_t vmmon_vms_live;
#endif
