/* The module's own state for one VM (one open /dev/vmmon file) and the
 * functions memory.c gives module.c.
 * Environment: kernel, process context (the VMX's ioctls and its file's
 * release), never interrupt context. */
#ifndef VMMON_H
#define VMMON_H
#include <linux/types.h>
#include <linux/mutex.h>
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
};

int vmmon_mem_create(struct vmmon_vm *vm, const struct vmmon_create *c);
int vmmon_mem_load(struct vmmon_vm *vm, const struct vmmon_load *l);
void vmmon_mem_destroy(struct vmmon_vm *vm);
/* Pages and VMs the module holds now (sysfs: the leak checks read them). */
extern atomic_long_t vmmon_pages_held;
extern atomic_t vmmon_vms_live;
#endif
