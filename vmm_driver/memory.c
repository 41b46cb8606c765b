/* A VM's memory: the guest RAM the VMX hands over, pinned for as long as
 * the VM lives and charged to the opener's locked-memory limit, and the
 * monitor's own pages, into which the monitor image is copied.
 * Environment: kernel, process context of the opener (create, load) or of
 * whoever drops the file's last reference (destroy: possibly a process
 * exiting after a kill, whose mm is already gone: hence mm is mmgrab'd). */
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/highmem.h>
#include <linux/uaccess.h>
#include "vmmon.h"

atomic_long_t vmmon_pages_held = ATOMIC_LONG_INIT(0);
atomic_t vmmon_vms_live = ATOMIC_INIT(0);

static bool page_multiple(u64 v)
{
	return (v & (PAGE_SIZE - 1)) == 0;
}

static void free_mon(struct vmmon_vm *vm)
{
	unsigned long i;

	if (!vm->mon)
		return;
	for (i = 0; i < vm->mon_pages; i++)
		if (vm->mon[i]) {
			__free_page(vm->mon[i]);
			atomic_long_dec(&vmmon_pages_held);
		}
	kvfree(vm->mon);
	vm->mon = NULL;
	vm->mon_pages = 0;
}

/* pin_user_pages_fast may pin fewer pages than asked: keep going until all
 * are pinned or it fails; on failure the ones pinned so far are counted in
 * vm->ram_pages so that destroy releases them. */
static int pin_ram(struct vmmon_vm *vm, u64 uaddr, unsigned long npages)
{
	while (vm->ram_pages < npages) {
		unsigned long left = npages - vm->ram_pages;
		int chunk = left > 512 ? 512 : (int)left;
		int got = pin_user_pages_fast(uaddr + (vm->ram_pages << PAGE_SHIFT), chunk,
					      FOLL_WRITE | FOLL_LONGTERM, vm->ram + vm->ram_pages);
		if (got <= 0)
			return got < 0 ? got : -EFAULT;
		vm->ram_pages += got;
		atomic_long_add(got, &vmmon_pages_held);
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

int vmmon_mem_create(struct vmmon_vm *vm, const struct vmmon_create *c)
{
	unsigned long npages = c->ram_size >> PAGE_SHIFT, mpages = c->mon_size >> PAGE_SHIFT, i;
	int err;

	if (c->flags || c->reserved[0] || c->reserved[1] || c->reserved[2] || c->reserved[3])
		return -EINVAL;
	if (!c->ram_size || c->ram_size > VMMON_RAM_MAX || !page_multiple(c->ram_size) ||
	    !c->mon_size || c->mon_size > VMMON_MON_MAX || !page_multiple(c->mon_size) ||
	    !page_multiple(c->ram_uaddr))
		return -EINVAL;
	if (c->ram_uaddr + c->ram_size < c->ram_uaddr ||
	    !access_ok((void __user *)(uintptr_t)c->ram_uaddr, c->ram_size))
		return -EFAULT;

	vm->ram = kvcalloc(npages, sizeof(*vm->ram), GFP_KERNEL_ACCOUNT);
	vm->mon = kvcalloc(mpages, sizeof(*vm->mon), GFP_KERNEL_ACCOUNT);
	if (!vm->ram || !vm->mon) {
		err = -ENOMEM;
		goto fail;
	}
	vm->mon_pages = mpages;
	/* RETRY_MAYFAIL: a VMX asking for too much gets ENOMEM, rather than
	 * the OOM killer choosing a victim on the host. */
	for (i = 0; i < mpages; i++) {
		vm->mon[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
		if (!vm->mon[i]) {
			err = -ENOMEM;
			goto fail;
		}
		atomic_long_inc(&vmmon_pages_held);
	}
	err = account_locked_vm(vm->mm, npages, true);
	if (err)
		goto fail;
	vm->ram_charged = npages;
	err = pin_ram(vm, c->ram_uaddr, npages);
	if (err)
		goto fail;
	vm->created = true;
	vm->ctr.ram_pages = npages;
	vm->ctr.mon_pages = mpages;
	atomic_inc(&vmmon_vms_live);
	return 0;
fail:
	vmmon_mem_destroy(vm);
	return err;
}

/* The checks the whole image must pass before anything is copied, so a bad
 * image leaves the monitor memory as it was. */
static int check_segments(const struct vmmon_vm *vm, const struct vmmon_load *l,
			  const struct vmmon_segment *s)
{
	u64 mon_size = (u64)vm->mon_pages << PAGE_SHIFT;
	bool entry_ok = false;
	unsigned i, j;

	for (i = 0; i < l->nsegs; i++) {
		if (s[i].reserved || (s[i].prot & ~(VMMON_PROT_R | VMMON_PROT_W | VMMON_PROT_X)))
			return -EINVAL;
		if (!s[i].memsz || s[i].filesz > s[i].memsz || !page_multiple(s[i].mon_offset) ||
		    s[i].mon_offset >= mon_size || s[i].memsz > mon_size - s[i].mon_offset)
			return -EINVAL;
		if (s[i].filesz && (s[i].src_uaddr + s[i].filesz < s[i].src_uaddr ||
				    !access_ok((void __user *)(uintptr_t)s[i].src_uaddr, s[i].filesz)))
			return -EFAULT;
		for (j = 0; j < i; j++)
			if (s[i].mon_offset < s[j].mon_offset + s[j].memsz &&
			    s[j].mon_offset < s[i].mon_offset + s[i].memsz)
				return -EINVAL;
		if ((s[i].prot & VMMON_PROT_X) && l->entry >= s[i].mon_offset &&
		    l->entry < s[i].mon_offset + s[i].memsz)
			entry_ok = true;
	}
	return entry_ok ? 0 : -EINVAL;
}

/* Copies one segment page by page: monitor pages are not contiguous in the
 * kernel's view, and a user fault midway leaves a partly written image that
 * the caller marks as not loaded. */
static int copy_segment(struct vmmon_vm *vm, const struct vmmon_segment *s)
{
	u64 off = 0;

	while (off < s->memsz) {
		u64 at = s->mon_offset + off;
		size_t in_page = PAGE_SIZE - (at & (PAGE_SIZE - 1));
		size_t n = min_t(u64, in_page, s->memsz - off);
		size_t from_user = off < s->filesz ? min_t(u64, n, s->filesz - off) : 0;
		char *dst = kmap_local_page(vm->mon[at >> PAGE_SHIFT]) + (at & (PAGE_SIZE - 1));
		unsigned long left = 0;

		if (from_user)
			left = copy_from_user(dst, (const void __user *)(uintptr_t)(s->src_uaddr + off),
					      from_user);
		memset(dst + from_user, 0, n - from_user);
		kunmap_local(dst);
		if (left)
			return -EFAULT;
		off += n;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

int vmmon_mem_load(struct vmmon_vm *vm, const struct vmmon_load *l)
{
	struct vmmon_segment *s;
	unsigned i;
	int err;

	if (l->reserved[0] || l->reserved[1] || l->reserved[2] || l->reserved[3])
		return -EINVAL;
	if (!l->nsegs || l->nsegs > VMMON_SEGS_MAX)
		return -EINVAL;
	s = memdup_user((const void __user *)(uintptr_t)l->segs_uaddr, l->nsegs * sizeof(*s));
	if (IS_ERR(s))
		return PTR_ERR(s);
	err = check_segments(vm, l, s);
	/* A new image starts from its entry point again. */
	vmmon_world_destroy(vm);
	vm->loaded = false;
	for (i = 0; !err && i < l->nsegs; i++)
		err = copy_segment(vm, &s[i]);
	kfree(s);
	if (err)
		return err;
	vm->entry = l->entry;
	vm->loaded = true;
	return 0;
}

void vmmon_mem_destroy(struct vmmon_vm *vm)
{
	vmmon_world_destroy(vm);
	if (vm->ram) {
		unpin_user_pages(vm->ram, vm->ram_pages);
		atomic_long_sub(vm->ram_pages, &vmmon_pages_held);
		kvfree(vm->ram);
		vm->ram = NULL;
	}
	if (vm->ram_charged) {
		account_locked_vm(vm->mm, vm->ram_charged, false);
		vm->ram_charged = 0;
	}
	vm->ram_pages = 0;
	free_mon(vm);
	if (vm->created)
		atomic_dec(&vmmon_vms_live);
	vm->created = vm->loaded = false;
	memset(&vm->ctr, 0, sizeof(vm->ctr));
}
