/* The host side of the driver world: the monitor's address space (page
 * tables the module builds over the VM's monitor memory, guest RAM, the
 * cross page and the switch page), the cross page's GDT copy and IDT, and
 * the run loop around the world switch (switch.S): host interrupts the
 * monitor took are re-delivered here, signals and rescheduling are
 * honoured between switches, the monitor's timer is a host timer that
 * interrupts it (its expiry an alarm the monitor takes as the user-level
 * world's SIGALRM), and an idle guest's wait is a sleep here.
 * Environment: kernel, process context of the VM's opener; interrupts off
 * and the FPU held (kernel_fpu_begin) only around each switch. */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/highmem.h>
#include <linux/uaccess.h>
#include <linux/sched/signal.h>
#include <linux/vmalloc.h>
#include <linux/io.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <asm/fpu/api.h>
#include <asm/desc.h>
#include <asm/tlbflush.h>
#include <asm/tsc.h>
#include <asm/mem_encrypt.h>
#include "vmmon.h"
#include "xpage.h"

extern char vmmon_switch_page_start[], vmmon_switch_page_end[], vmmon_idt_stubs[];
void vmmon_switch_in(struct vmmon_xpage *xp);
void dw_to_host(struct vmmon_xpage *xp);
void vmmon_redeliver(unsigned int vector);

/* switch.S's offsets. */
static_assert(offsetof(struct vmmon_xpage, host_cr3) == 8);
static_assert(offsetof(struct vmmon_xpage, mon_rsp) == 16);
static_assert(offsetof(struct vmmon_xpage, entry) == 32);
static_assert(offsetof(struct vmmon_xpage, self) == 48);
static_assert(offsetof(struct vmmon_xpage, req) == 56);
static_assert(offsetof(struct vmmon_xpage, fault_vector) == 64);
static_assert(offsetof(struct vmmon_xpage, fault_cr2) == 88);
static_assert(offsetof(struct vmmon_xpage, host_gdtr) == 96);
static_assert(offsetof(struct vmmon_xpage, mon_gdtr) == 128);
static_assert(offsetof(struct vmmon_xpage, mon_idtr) == 144);
static_assert(offsetof(struct vmmon_xpage, host_ldtr) == 160);
static_assert(offsetof(struct vmmon_xpage, mon_ldtr) == 162);
static_assert(offsetof(struct vmmon_xpage, host_tr) == 164);
static_assert(offsetof(struct vmmon_xpage, mon_tr) == 166);
static_assert(offsetof(struct vmmon_xpage, host_ds) == 168);
static_assert(offsetof(struct vmmon_xpage, host_gs) == 174);
static_assert(offsetof(struct vmmon_xpage, host_fsbase) == 176);
static_assert(offsetof(struct vmmon_xpage, host_gsbase) == 184);
static_assert(offsetof(struct vmmon_xpage, guest_trap) == 192);
static_assert(offsetof(struct vmmon_xpage, mon_trap) == 200);
static_assert(offsetof(struct vmmon_xpage, alarm) == 208);
static_assert(sizeof(struct vmmon_xpage) <= DW_GDT_OFFSET);

#define PT_TABLE (_PAGE_PRESENT | _PAGE_RW)

static u64 *pt_new(struct vmmon_vm *vm)
{
	struct page *p;

	if (vm->npt == vm->pt_cap) {
		unsigned long cap = vm->pt_cap ? vm->pt_cap * 2 : 64;
		struct page **n = kvrealloc(vm->pt, vm->pt_cap * sizeof(*n), cap * sizeof(*n), GFP_KERNEL_ACCOUNT);
		if (!n)
			return NULL;
		vm->pt = n;
		vm->pt_cap = cap;
	}
	p = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
	if (!p)
		return NULL;
	vm->pt[vm->npt++] = p;
	atomic_long_inc(&vmmon_pages_held);
	return page_address(p);
}

/* One 4 KiB page at va -> pa in the monitor's tables, with the tables on
 * the way allocated as needed; never global, never user. */
static int as_map(struct vmmon_vm *vm, u64 va, phys_addr_t pa, u64 flags)
{
	u64 *t = vm->pt_root;
	int lvl;

	for (lvl = vm->levels; lvl > 1; lvl--) {
		unsigned int idx = (va >> (PAGE_SHIFT + 9 * (lvl - 1))) & 511;
		if (!(t[idx] & _PAGE_PRESENT)) {
			u64 *n = pt_new(vm);
			if (!n)
				return -ENOMEM;
			t[idx] = __sme_set(__pa(n)) | PT_TABLE;
		}
		t = __va(__sme_clr(t[idx] & PTE_PFN_MASK));
	}
	t[(va >> PAGE_SHIFT) & 511] = __sme_set(pa) | flags;
	return 0;
}

/* The page-directory entry for the 2 MiB at va (below 4 GiB) points at
 * table: the guest-linear tables. The tables above it carry the user bit
 * (an entry's access is the AND of its levels: the leaves decide). */
static int as_map_pt(struct vmmon_vm *vm, u64 va, u64 *table)
{
	u64 *t = vm->pt_root;
	int lvl;

	for (lvl = vm->levels; lvl > 2; lvl--) {
		unsigned int idx = (va >> (PAGE_SHIFT + 9 * (lvl - 1))) & 511;
		if (!(t[idx] & _PAGE_PRESENT)) {
			u64 *n = pt_new(vm);
			if (!n)
				return -ENOMEM;
			t[idx] = __sme_set(__pa(n)) | PT_TABLE;
		}
		t[idx] |= _PAGE_USER;
		t = __va(__sme_clr(t[idx] & PTE_PFN_MASK));
	}
	t[(va >> 21) & 511] = __sme_set(__pa(table)) | PT_TABLE | _PAGE_USER;
	return 0;
}

/* The low 4 GiB: 2048 page tables, also mapped as one linear array of
 * entries at DW_PTE_VA, where the monitor writes them (dworld/pt.c). All
 * empty but the monitor area at MON_BASE, which is the DW_AREA_PAGES of
 * monitor memory below the stack (xpage.h), when monitor memory has them.
 * The host-physical address of each guest RAM page at DW_RAMPFN_VA. */
static int as_build_guest(struct vmmon_vm *vm)
{
	u64 nx = _PAGE_NX & __supported_pte_mask;
	u64 *area_pt[DW_AREA_PAGES / 512];
	unsigned long i, per = PAGE_SIZE / sizeof(u64);
	int err = 0;

	for (i = 0; !err && i < DW_GUEST_PTS; i++) {
		u64 *t = pt_new(vm);
		if (!t)
			return -ENOMEM;
		err = as_map_pt(vm, (u64)i << 21, t);
		if (!err)
			err = as_map(vm, DW_PTE_VA + i * PAGE_SIZE, __pa(t), PT_TABLE | nx);
		if (i >= DW_GUEST_PTS - DW_AREA_PAGES / 512)
			area_pt[i - (DW_GUEST_PTS - DW_AREA_PAGES / 512)] = t;
	}
	if (!err && vm->mon_pages >= DW_AREA_FIRST_MIN) {
		unsigned long first = vm->mon_pages - DW_STACK_SIZE / PAGE_SIZE - DW_AREA_PAGES;
		/* User pages: translated code at CPL 3 runs and stores there. */
		for (i = 0; i < DW_AREA_PAGES; i++)
			area_pt[i / 512][i % 512] = __sme_set(page_to_phys(vm->mon[first + i])) | PT_TABLE | _PAGE_USER;
	}
	for (i = 0; !err && i * per < vm->ram_pages; i++) {
		u64 *t = pt_new(vm);
		unsigned long j;
		if (!t)
			return -ENOMEM;
		for (j = 0; j < per && i * per + j < vm->ram_pages; j++)
			t[j] = __sme_set(page_to_phys(vm->ram[i * per + j]));
		err = as_map(vm, DW_RAMPFN_VA + i * PAGE_SIZE, __pa(t), _PAGE_PRESENT | nx);
	}
	return err;
}

static int as_build(struct vmmon_vm *vm)
{
	u64 nx = _PAGE_NX & __supported_pte_mask;
	unsigned long i;
	char *sw;
	int err = 0;

	vm->levels = (__read_cr4() & X86_CR4_LA57) ? 5 : 4;
	vm->pt_root = pt_new(vm);
	if (!vm->pt_root)
		return -ENOMEM;
	/* The image's pages are writable and executable alike for now: the
	 * segments' protections are not applied yet. */
	for (i = 0; !err && i < vm->mon_pages; i++)
		err = as_map(vm, DW_IMAGE_VA + i * PAGE_SIZE, page_to_phys(vm->mon[i]), PT_TABLE);
	for (i = 0; !err && i < vm->ram_pages; i++)
		err = as_map(vm, DW_RAM_VA + i * PAGE_SIZE, page_to_phys(vm->ram[i]), PT_TABLE | nx);
	for (i = 0; !err && i < DW_XPAGE_PAGES; i++) {
		phys_addr_t pa = page_to_phys(vm->xpages + i);
		err = as_map(vm, (u64)vm->xp + i * PAGE_SIZE, pa, PT_TABLE | nx);
		if (!err)
			err = as_map(vm, DW_XPAGE_VA + i * PAGE_SIZE, pa, PT_TABLE | nx);
	}
	for (sw = vmmon_switch_page_start; !err && sw < vmmon_switch_page_end; sw += PAGE_SIZE)
		err = as_map(vm, (u64)sw, page_to_phys(vmalloc_to_page(sw)), _PAGE_PRESENT);
	return err ? err : as_build_guest(vm);
}

static void xpage_init(struct vmmon_vm *vm)
{
	struct vmmon_xpage *xp = vm->xp;
	u64 *idt = (u64 *)((char *)xp + PAGE_SIZE);
	struct desc_ptr idtr = { .size = PAGE_SIZE - 1, .address = (unsigned long)idt };
	unsigned int v;
	u64 ist1, rsp0;

	xp->magic = DW_XPAGE_MAGIC;
	xp->self = (u64)xp;
	xp->to_host = (u64)dw_to_host;
	xp->mon_cr3 = __sme_pa(vm->pt_root);
	xp->entry = DW_IMAGE_VA + vm->entry;
	xp->stack_top = DW_IMAGE_VA + ((u64)vm->mon_pages << PAGE_SHIFT);
	xp->mon_size = (u64)vm->mon_pages << PAGE_SHIFT;
	xp->ram_size = (u64)vm->ram_pages << PAGE_SHIFT;
	/* ns = tsc * 10^6 / tsc_khz, as a multiply and a shift. */
	xp->ns_mult = tsc_khz ? div_u64(1000000ull << 32, tsc_khz) : 1ull << 32;
	xp->ns_shift = 32;
	xp->deadline_ns = U64_MAX;
	for (v = 0; v < 256; v++) {
		u64 stub = (u64)vmmon_idt_stubs + 16 * v;
		/* The double fault on IST1: it comes when the stack is gone. */
		idt[2 * v] = (stub & 0xffff) | ((u64)__KERNEL_CS << 16) | (0x8eull << 40) |
			     ((u64)(v == 8) << 32) | (((stub >> 16) & 0xffff) << 48);
		idt[2 * v + 1] = stub >> 32;
	}
	memcpy(xp->mon_idtr, &idtr, sizeof(idtr));
	/* TSS: IST1 at offset 36; no I/O bitmap (its base past the limit). */
	ist1 = (u64)xp + DW_XPAGE_PAGES * PAGE_SIZE;
	memcpy(xp->tss + 36, &ist1, sizeof(ist1));
	rsp0 = (u64)xp + 3 * PAGE_SIZE;
	memcpy(xp->tss + 4, &rsp0, sizeof(rsp0));
	*(u16 *)(xp->tss + 102) = sizeof(xp->tss);
	xp->mon_tr = DW_GDT_TSS_OFFSET;
}

/* The LDT descriptor the monitor asked for (xp->ldt_base, ldt_limit),
 * when its table lies in the VM's monitor memory; else none (selector 0). */
static void mon_ldt_desc(struct vmmon_vm *vm, struct vmmon_xpage *xp, char *copy)
{
	u64 base = READ_ONCE(xp->ldt_base), lim = READ_ONCE(xp->ldt_limit);
	u64 end = DW_IMAGE_VA + ((u64)vm->mon_pages << PAGE_SHIFT);
	u64 *d = (u64 *)(copy + DW_GDT_LDT_OFFSET);

	if (!base || (base & 7) || lim > 0xffff || base < DW_IMAGE_VA || base >= end || lim >= end - base) {
		d[0] = d[1] = 0;
		xp->mon_ldtr = 0;
		return;
	}
	/* A 64-bit system descriptor: type 2 (LDT), present, DPL 0. */
	d[0] = (lim & 0xffff) | ((base & 0xffffff) << 16) | (0x82ull << 40) | (((base >> 24) & 0xff) << 56);
	d[1] = base >> 32;
	xp->mon_ldtr = DW_GDT_LDT_OFFSET;
}

/* The monitor's TSS descriptor, available (switch.S's ltr marks it busy
 * in the copy, rewritten at every entry). */
static void mon_tss_desc(struct vmmon_xpage *xp, char *copy)
{
	u64 base = (u64)xp->tss, lim = sizeof(xp->tss) - 1;
	u64 *d = (u64 *)(copy + DW_GDT_TSS_OFFSET);

	d[0] = lim | ((base & 0xffffff) << 16) | (0x89ull << 40) | (((base >> 24) & 0xff) << 56);
	d[1] = base >> 32;
}

/* The callout's call gate (64-bit, DPL 3, into the monitor at CPL 0) at
 * HOST_CS64 when dworld has named its entry inside monitor memory; else
 * the slot keeps the host's user code segment, which the monitor never
 * uses. */
static void mon_gate_desc(struct vmmon_vm *vm, struct vmmon_xpage *xp, char *copy)
{
	u64 off = READ_ONCE(xp->gate_entry);
	u64 end = DW_IMAGE_VA + ((u64)vm->mon_pages << PAGE_SHIFT);
	u64 *d = (u64 *)(copy + DW_GDT_GATE_OFFSET);

	if (off < DW_IMAGE_VA || off >= end)
		return;
	/* Present (0xec) unless guest code runs directly: dworld hides the
	 * gate then, and this copy, rewritten at every switch in (a host
	 * interrupt in that code), must not bring it back. */
	d[0] = (off & 0xffff) | ((u64)__KERNEL_CS << 16) | ((READ_ONCE(xp->gate_hidden) ? 0x6cull : 0xecull) << 40) |
	       (((off >> 16) & 0xffff) << 48);
	d[1] = off >> 32;
}

/* The host's descriptors of DPL 3 (the user code and data segments, flat
 * over 4 GiB; the TLS slots; the CPU-number segment): the monitor never
 * loads them, and guest code must not (0x2b would reach the monitor area
 * past every truncated shadow). Not present in the copy: a load faults
 * into the monitor, which performs it with the guest's own tables. The
 * switch loads the host's DS and ES only after its own GDT is back. */
static void hide_host_user_descs(char *copy, unsigned int size)
{
	static const unsigned int slots[] = { GDT_ENTRY_DEFAULT_USER32_CS, GDT_ENTRY_DEFAULT_USER_DS,
		GDT_ENTRY_TLS_MIN, GDT_ENTRY_TLS_MIN + 1, GDT_ENTRY_TLS_MAX, GDT_ENTRY_CPUNODE };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(slots); i++)
		if (slots[i] * 8 + 7 <= size)
			copy[slots[i] * 8 + 5] &= (char)~0x80;
}

/* The host GDT as this CPU has it now (the task may have moved since the
 * last run): CS and SS keep meaning the same in the monitor. The copy's
 * limit covers the monitor's LDT descriptor at its end; what lies between
 * stays zero (not present). */
static void gdt_copy(struct vmmon_vm *vm, struct vmmon_xpage *xp)
{
	struct desc_ptr g;
	char *copy = (char *)xp + DW_GDT_OFFSET;

	native_store_gdt(&g);
	g.size = min_t(unsigned int, g.size, DW_GDT_TSS_OFFSET - 1);
	memcpy(copy, (void *)g.address, g.size + 1);
	hide_host_user_descs(copy, g.size);
	mon_ldt_desc(vm, xp, copy);
	mon_tss_desc(xp, copy);
	mon_gate_desc(vm, xp, copy);
	g.address = (unsigned long)copy;
	g.size = DW_GDT_MAX - 1;
	memcpy(xp->mon_gdtr, &g, sizeof(g));
}

static enum hrtimer_restart timer_fired(struct hrtimer *t);

static int world_prepare(struct vmmon_vm *vm)
{
	int err;

	if (vm->xp)
		return 0;
	if (!vm->timer_ready) {
		hrtimer_init(&vm->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_PINNED_HARD);
		vm->timer.function = timer_fired;
		vm->timer_ready = true;
	}
	/* kmalloc's 512-byte objects are 512-aligned (fxsave wants 16). */
	vm->guest_fpu = kzalloc(512, GFP_KERNEL_ACCOUNT);
	if (!vm->guest_fpu)
		return -ENOMEM;
	/* The state after reset (FINIT, MXCSR's default), all registers 0. */
	*(u16 *)vm->guest_fpu = 0x037f;
	*(u32 *)(vm->guest_fpu + 24) = 0x1f80;
	vm->xpages = alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO, ilog2(DW_XPAGE_PAGES));
	if (!vm->xpages) {
		vmmon_world_destroy(vm);
		return -ENOMEM;
	}
	atomic_long_add(DW_XPAGE_PAGES, &vmmon_pages_held);
	vm->xp = page_address(vm->xpages);
	err = as_build(vm);
	if (err) {
		vmmon_world_destroy(vm);
		return err;
	}
	xpage_init(vm);
	vm->ctr.pt_pages = vm->npt;
	return 0;
}

void vmmon_world_destroy(struct vmmon_vm *vm)
{
	unsigned long i;

	if (vm->timer_ready)
		hrtimer_cancel(&vm->timer);
	kfree(vm->guest_fpu);
	vm->guest_fpu = NULL;
	for (i = 0; i < vm->npt; i++)
		__free_page(vm->pt[i]);
	atomic_long_sub(vm->npt, &vmmon_pages_held);
	kvfree(vm->pt);
	vm->pt = NULL;
	vm->npt = vm->pt_cap = 0;
	vm->pt_root = NULL;
	if (vm->xpages) {
		__free_pages(vm->xpages, ilog2(DW_XPAGE_PAGES));
		atomic_long_sub(DW_XPAGE_PAGES, &vmmon_pages_held);
	}
	vm->xpages = NULL;
	vm->xp = NULL;
	vm->mon_busy = vm->mon_dead = vm->answer_due = false;
}

/* The monitor's clock (dworld.c now_ns): the TSC scaled as xpage_init says. */
static u64 tsc_ns(const struct vmmon_xpage *xp)
{
	return (u64)(((unsigned __int128)rdtsc() * xp->ns_mult) >> xp->ns_shift);
}

/* Its expiry is an interrupt of this CPU, which sends the monitor or the
 * guest back here: the deadline is then looked at before the switch in. */
static enum hrtimer_restart timer_fired(struct hrtimer *t)
{
	struct vmmon_vm *vm = container_of(t, struct vmmon_vm, timer);

	vm->ctr.timer_fires++;
	return HRTIMER_NORESTART;
}

/* Before a switch in, interrupts off: the monitor's deadline, passed,
 * becomes the alarm it takes on its way back in (switch.S resume_irq on
 * an interrupted frame, dworld's to_host otherwise); else the host timer
 * is armed for it on this CPU (again when the task moved, or the timer
 * ran out early on the host's clock). */
static void timer_before_switch(struct vmmon_vm *vm)
{
	struct vmmon_xpage *xp = vm->xp;
	u64 dl = READ_ONCE(xp->deadline_ns), now;
	int cpu = smp_processor_id();

	if (dl == U64_MAX)
		return;
	now = tsc_ns(xp);
	if (dl <= now) {
		xp->deadline_ns = U64_MAX;
		xp->alarm = 1;
		vm->ctr.alarms++;
		if (xp->req == VMMON_REQ_IRQ)
			vm->ctr.alarm_irqs++;
		return;
	}
	if (dl == vm->timer_deadline && cpu == vm->timer_cpu && hrtimer_is_queued(&vm->timer))
		return;
	vm->timer_deadline = dl;
	vm->timer_cpu = cpu;
	hrtimer_start(&vm->timer, ns_to_ktime(ktime_get_ns() + (dl - now)), HRTIMER_MODE_ABS_PINNED_HARD);
}

/* One round trip into the monitor and back, interrupts off and the FPU
 * the kernel's, holding the guest's x87/SSE state (kernel_fpu_begin
 * resets its control words): a host interrupt the monitor took is handled
 * here before interrupts come back on. */
static void switch_once(struct vmmon_vm *vm)
{
	unsigned long flags;

	u64 t0;

	kernel_fpu_begin();
	local_irq_save(flags);
	asm volatile("fxrstor64 %0" :: "m"(*(u8 (*)[512])vm->guest_fpu));
	timer_before_switch(vm);
	gdt_copy(vm, vm->xp);
	t0 = ktime_get_mono_fast_ns();
	vmmon_switch_in(vm->xp);
	vm->ctr.monitor_ns += ktime_get_mono_fast_ns() - t0;
	asm volatile("fxsave64 %0" : "=m"(*(u8 (*)[512])vm->guest_fpu));
	if (vm->xp->req == VMMON_REQ_IRQ)
		vmmon_redeliver((unsigned int)vm->xp->fault_vector);
	local_irq_restore(flags);
	kernel_fpu_end();
}

/* VMMON_REQ_WAIT: the guest is idle until the monitor's wake-up time (at
 * most 100 ms on: the monitor looks again); a signal for the VMX ends the
 * sleep, and the run loop returns for it. */
static void world_wait(struct vmmon_vm *vm)
{
	u64 until = READ_ONCE(vm->xp->wait_ns), now = tsc_ns(vm->xp), t0;
	ktime_t kt;

	vm->ctr.waits++;
	if (until <= now)
		return;
	/* Its expiry would only wake this sleep early. */
	hrtimer_try_to_cancel(&vm->timer);
	t0 = ktime_get_ns();
	kt = ns_to_ktime(t0 + min_t(u64, until - now, NSEC_PER_SEC / 10));
	set_current_state(TASK_INTERRUPTIBLE);
	schedule_hrtimeout_range(&kt, 0, HRTIMER_MODE_ABS);
	vm->ctr.wait_ns += ktime_get_ns() - t0;
}

static int copy_data_out(struct vmmon_vm *vm, struct vmmon_run *r)
{
	u32 n = min3(vm->xp->len, r->data_len, (u32)sizeof(vm->xp->data));

	if (n && copy_to_user((void __user *)(uintptr_t)r->data_uaddr, vm->xp->data, n))
		return -EFAULT;
	r->data_len = n;
	return 0;
}

static int run_loop(struct vmmon_vm *vm, struct vmmon_run *r);

/* The host timer runs only inside the ioctl: between runs the VMX sleeps,
 * or handles its signals, with no alarm on the way. */
int vmmon_world_run(struct vmmon_vm *vm, struct vmmon_run *r)
{
	int err = run_loop(vm, r);

	if (vm->timer_ready)
		hrtimer_cancel(&vm->timer);
	return err;
}

static int run_loop(struct vmmon_vm *vm, struct vmmon_run *r)
{
	struct vmmon_xpage *xp;
	u64 n = 0;
	int err;

	if (r->reserved[0] || r->reserved[1] || r->exit_reason || r->req)
		return -EINVAL;
	if (!r->max_switches || r->max_switches > (1ull << 32) || r->cmd > VMMON_CMD_MAX ||
	    r->data_len > PAGE_SIZE || r->in_len > VMMON_DATA_MAX)
		return -EINVAL;
	if (!vm->created)
		return -ENODEV;
	if (!vm->loaded)
		return -ENOEXEC;
	if (vm->mon_dead)
		return -EIO;
	if (r->cmd && vm->mon_busy)
		return -EBUSY;
	if (!r->cmd && !vm->mon_busy)
		return -EINVAL;
	/* The VMX's FS and GS selectors come back at every switch out while
	 * the monitor's GDT copy is loaded, where the host's DPL-3
	 * descriptors are not present: a 64-bit VMX holds none (its TLS is a
	 * base, not a selector). */
	{
		unsigned short fs, gs;

		savesegment(fs, fs);
		savesegment(gs, gs);
		if ((fs | gs) & ~3)
			return -EINVAL;
	}
	err = world_prepare(vm);
	if (err)
		return err;
	xp = vm->xp;
	/* A command's arguments, or the answer to the request the monitor
	 * waits in (it reads them when it is entered again, below); a run
	 * resumed after a signal or a spent budget carries none. */
	if (r->cmd || vm->answer_due) {
		if (r->in_len && copy_from_user(xp->data, (const void __user *)(uintptr_t)r->data_uaddr, r->in_len))
			return -EFAULT;
		xp->len = r->in_len;
		memcpy(xp->arg, r->arg, sizeof(xp->arg));
		vm->answer_due = false;
	} else if (r->in_len) {
		return -EINVAL;
	}
	if (r->cmd) {
		xp->cmd = r->cmd;
		vm->mon_busy = true;
	}
	vm->ctr.runs++;
	for (;;) {
		if (signal_pending(current)) {
			r->exit_reason = VMMON_EXIT_SIGNAL;
			vm->ctr.exits_signal++;
			return -EINTR;
		}
		if (n == r->max_switches) {
			r->exit_reason = VMMON_EXIT_BUDGET;
			vm->ctr.exits_budget++;
			return 0;
		}
		if (need_resched()) {
			vm->ctr.exits_resched++;
			cond_resched();
		}
		switch_once(vm);
		n++;
		vm->ctr.switches++;
		if (xp->req == VMMON_REQ_IRQ) {
			vm->ctr.host_irqs++;
			continue;
		}
		if (xp->req == VMMON_REQ_WAIT) {
			world_wait(vm);
			continue;
		}
		r->exit_reason = VMMON_EXIT_MONITOR;
		r->req = xp->req;
		vm->ctr.exits_monitor++;
		switch (xp->req) {
		case VMMON_REQ_DONE:
			vm->mon_busy = false;
			r->ret = xp->ret;
			return 0;
		case VMMON_REQ_CONSOLE:
		case VMMON_REQ_LOG:
		case VMMON_REQ_CONSOLE_IN:
		case VMMON_REQ_DISK:
		case VMMON_REQ_WALL:
			memcpy(r->arg, xp->arg, sizeof(r->arg));
			vm->answer_due = true;
			return copy_data_out(vm, r);
		default:
			/* Its own exception, or a request it has no business
			 * making: the monitor is not entered again. */
			vm->mon_dead = true;
			vm->ctr.mon_faults++;
			r->arg[0] = xp->fault_vector;
			r->arg[1] = xp->fault_error;
			r->arg[2] = xp->fault_rip;
			r->arg[3] = xp->fault_cr2;
			return 0;
		}
	}
}

int vmmon_world_stats(struct vmmon_vm *vm, u64 uaddr, u32 room, u32 *len)
{
	u64 off, end, mon_bytes = (u64)vm->mon_pages << PAGE_SHIFT;
	u32 n;

	*len = 0;
	/* Nothing to read while the monitor is in a command or never ran. */
	if (!vm->xp || vm->mon_busy)
		return 0;
	off = READ_ONCE(vm->xp->stats_off);
	n = min(READ_ONCE(vm->xp->stats_len), room);
	if (!n || off >= mon_bytes || n > mon_bytes - off)
		return 0;
	end = off + n;
	while (off < end) {
		u64 in_page = off & (PAGE_SIZE - 1);
		u64 k = min(end - off, PAGE_SIZE - in_page);
		char *src = page_address(vm->mon[off >> PAGE_SHIFT]);
		if (copy_to_user((void __user *)(uintptr_t)(uaddr + *len), src + in_page, k))
			return -EFAULT;
		*len += k;
		off += k;
	}
	return 0;
}
