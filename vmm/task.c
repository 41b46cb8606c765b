/* Hardware task switches (Intel SDM vol. 3, "Task Management"): far jmp and
 * call to a TSS descriptor or a task gate, iret with EFLAGS.NT back along
 * the previous-task link, and interrupts and exceptions through task gates.
 * The busy bits, the link, NT, CR0.TS, and CR3, LDTR, EFLAGS, EIP, the
 * general registers and the segments loaded from the new 32-bit TSS. A
 * 16-bit TSS stops the VM by name.
 * Environment: monitor, host stack; guest state in vm and vm.ma. */
#include "vm.h"

/* 32-bit TSS fields (byte offsets). */
enum { TSS_LINK = 0x00, TSS_CR3 = 0x1c, TSS_EIP = 0x20, TSS_EFLAGS = 0x24, TSS_EAX = 0x28,
       TSS_ES = 0x48, TSS_LDT = 0x60, TSS32_MIN_LIMIT = 0x67 };
/* System descriptor types (bits 8..11 of the high dword, S clear). */
enum { T_TSS16 = 0x1, T_TSS16_BUSY = 0x3, T_TASK_GATE = 0x5, T_TSS32 = 0x9, T_TSS32_BUSY = 0xb };
#define DESC_S    0x1000u
#define DESC_P    0x8000u
#define DESC_BUSY 0x200u

static stat_counter ctr[TASK_HOW_COUNT] = {
	[TASK_JMP] = { "vmm.task_switch.jmp", 0 },
	[TASK_CALL] = { "vmm.task_switch.call", 0 },
	[TASK_IRET] = { "vmm.task_switch.iret", 0 },
	[TASK_INT] = { "vmm.task_switch.int", 0 },
	[TASK_EXCEPTION] = { "vmm.task_switch.exception", 0 },
};

void task_init(void)
{
	for (unsigned i = 0; i < TASK_HOW_COUNT; i++)
		stats_register(&ctr[i]);
}

static unsigned desc_type(uint32_t hi) { return (hi >> 8) & 0xf; }

static bool set_busy(uint16_t sel, bool busy)
{
	uint32_t at = vm.gdt_base + (sel & ~7u) + 4, hi;
	if (!glin_read_sys(at, &hi, 4))
		return false;
	hi = busy ? hi | DESC_BUSY : hi & ~DESC_BUSY;
	return glin_write_sys(at, &hi, 4);
}

/* A guest memory access of the switch failed: the fault to report. */
static int mem_fault(uint32_t *ferr, uint16_t sel)
{
	*ferr = vm.mem_fault_vec == EXC_PF ? vm.pf_err : (sel & ~3u);
	return vm.mem_fault_vec;
}

static void load_cr3(uint32_t v)
{
	vm.cr3 = v;
	if (mmu_set_cr3(v)) {
		if (vm.cr4 & X86_CR4_PGE)
			bt_mapping_changed_cr3();
		else
			vmm_mapping_changed();
	}
}

/* The faults of loading the new task's state happen in the new task
 * (after the commit point): a load the CPU refuses is #TS with the
 * selector, a segment that is not present #NP (#SS for SS). */
static bool load_new_segments(const uint32_t *sel, uint16_t ldt)
{
	int vec; uint32_t err;
	if ((ldt & ~3u) != 0) {
		uint32_t lo, hi;
		if ((ldt & 4) || !desc_read(ldt, &lo, &hi) || (hi & DESC_S) || desc_type(hi) != 2 ||
		    !(hi & DESC_P)) {
			deliver_exception(EXC_TS, true, ldt & ~3u);
			return false;
		}
		seg_from_desc(&vm.ldtr, ldt, lo, hi);
	}
	if (seg_load_cs((uint16_t)sel[SEG_CS], &vec, &err) != 0)
		goto fault;
	static const int order[5] = { SEG_SS, SEG_ES, SEG_DS, SEG_FS, SEG_GS };
	for (int i = 0; i < 5; i++) {
		if (seg_load(order[i], (uint16_t)sel[order[i]], &vec, &err) != 0)
			goto fault;
	}
	return true;
fault:
	/* What a plain load reports as #GP (a null SS or CS included) is
	 * #TS here. */
	deliver_exception(vec == EXC_GP ? EXC_TS : (unsigned)vec, true, err);
	return false;
}

/* SWITCH-TASKS to the TSS `sel` (descriptor lo/hi, in the GDT), the old
 * task resuming at `ret_eip`. Returns 0 when the new task runs (vm.eip; a
 * fault loading its state was delivered in it), the vector of a fault that
 * stopped the switch before it took place (*ferr its error code), or -1
 * when the VM stopped. */
static int switch_to(enum task_how how, uint16_t sel, uint32_t lo, uint32_t hi, uint32_t ret_eip,
		     bool has_err, uint32_t err, uint32_t *ferr)
{
	sel &= ~3u;
	unsigned type = desc_type(hi);
	if (type == T_TSS16 || type == T_TSS16_BUSY) {
		vmm_unsupported(UNSUP_TASK_TSS16, vm.eip);
		return -1;
	}
	if (!(hi & DESC_P)) {
		*ferr = sel;
		return EXC_NP;
	}
	struct segcache tss;
	seg_from_desc(&tss, sel, lo, hi);
	if (tss.limit < TSS32_MIN_LIMIT) {
		*ferr = sel;
		return EXC_TS;
	}
	/* The current task: a TR never loaded is the reset one (base 0,
	 * limit 0xffff, a busy 32-bit TSS), as on hardware. */
	struct segcache old = vm.tr;
	if (!old.present)
		old = (struct segcache){ .sel = 0, .base = 0, .limit = 0xffff, .type = T_TSS32_BUSY, .present = 1 };
	if (old.type == T_TSS16 || old.type == T_TSS16_BUSY) {
		vmm_unsupported(UNSUP_TASK_TSS16, vm.eip);
		return -1;
	}
	uint32_t n[26];
	if (!glin_read_sys(tss.base, n, sizeof(n)))
		return mem_fault(ferr, sel);
	if (n[TSS_EFLAGS / 4] & X86_FL_VM) {
		vmm_unsupported(UNSUP_V86, vm.eip);
		return -1;
	}

	/* The old task's state: EIP, EFLAGS (NT clear when it ends by
	 * iret), the general registers and the selectors. */
	uint32_t o[18];
	o[0] = ret_eip;
	o[1] = guest_eflags() & (how == TASK_IRET ? ~X86_FL_NT : ~0u);
	for (int r = 0; r < 8; r++)
		o[2 + r] = ma_reg(r);
	for (int s = 0; s < 6; s++)
		o[10 + s] = vm.seg[s].sel;
	if (!glin_write_sys(old.base + TSS_EIP, o, 16 * 4))
		return mem_fault(ferr, old.sel);
	bool nest = how == TASK_CALL || how == TASK_INT || how == TASK_EXCEPTION;
	if (nest) {
		uint16_t link = old.sel;
		if (!glin_write_sys(tss.base + TSS_LINK, &link, 2))
			return mem_fault(ferr, sel);
	}
	if ((how == TASK_JMP || how == TASK_IRET) && old.sel && !set_busy(old.sel, false))
		return mem_fault(ferr, old.sel);
	if (how != TASK_IRET && !set_busy(sel, true))
		return mem_fault(ferr, sel);

	/* Committed: the new task's state. */
	stat_inc(&ctr[how]);
	vm.tr = tss;
	vm.tr.type |= 2;                 /* busy */
	vm.cr0 |= X86_CR0_TS;
	mmu_set_cr0(vm.cr0);
	if (vm.cr0 & X86_CR0_PG)
		load_cr3(n[TSS_CR3 / 4]);
	set_guest_eflags(n[TSS_EFLAGS / 4] | (nest ? X86_FL_NT : 0), true);
	for (int r = 0; r < 8; r++)
		ma_set_reg(r, n[TSS_EAX / 4 + r]);
	vm.eip = n[TSS_EIP / 4];
	uint32_t segsel[6];
	for (int s = 0; s < 6; s++) {
		segsel[s] = n[TSS_ES / 4 + s] & 0xffff;
		/* Selectors first, descriptors after (a fault below leaves
		 * the new task's selectors, unusable until loaded). */
		vm.seg[s] = (struct segcache){ .sel = (uint16_t)segsel[s] };
	}
	uint16_t ldt = (uint16_t)n[TSS_LDT / 4];
	vm.ldtr = (struct segcache){ .sel = ldt };
	vm.cpl = (int)(segsel[SEG_CS] & 3);
	seg_publish();
	bool loaded = load_new_segments(segsel, ldt);
	vmm_sync_mode();
	if (!loaded)
		return vm.stopped ? -1 : 0;
	if (has_err) {
		/* The error code goes on the new task's stack. */
		int vec;
		if (!seg_write(SEG_SS, vm.ma->esp - 4, &err, 4, &vec)) {
			deliver_exception((unsigned)vec, true, 0);
			return vm.stopped ? -1 : 0;
		}
		vm.ma->esp -= 4;
	}
	if (vm.eip > vm.seg[SEG_CS].limit)
		deliver_exception(EXC_GP, true, 0);
	return vm.stopped ? -1 : 0;
}

/* The TSS a task gate names: in the GDT, a 32-bit or 16-bit TSS that is
 * not busy, else #GP with its selector. */
static int through_gate(enum task_how how, uint32_t glo, uint32_t ret_eip, bool has_err, uint32_t err,
			uint32_t *ferr)
{
	uint16_t sel = (uint16_t)(glo >> 16);
	uint32_t lo, hi;
	*ferr = sel & ~3u;
	if ((sel & 4) || (sel & ~3u) == 0 || !desc_read(sel, &lo, &hi) || (hi & DESC_S) ||
	    (desc_type(hi) != T_TSS32 && desc_type(hi) != T_TSS16))
		return EXC_GP;
	return switch_to(how, sel, lo, hi, ret_eip, has_err, err, ferr);
}

int task_far(bool call, uint16_t sel, uint32_t lo, uint32_t hi, uint32_t next)
{
	enum task_how how = call ? TASK_CALL : TASK_JMP;
	unsigned dpl = (hi >> 13) & 3;
	uint32_t ferr;
	int r;
	/* The DPL of the TSS, or of the gate, admits CPL and the RPL. */
	if (dpl < (unsigned)vm.cpl || dpl < (sel & 3u)) {
		ferr = sel & ~3u;
		r = EXC_GP;
	} else if (desc_type(hi) == T_TASK_GATE) {
		if (!(hi & DESC_P)) {
			ferr = sel & ~3u;
			r = EXC_NP;
		} else {
			r = through_gate(how, lo, next, false, 0, &ferr);
		}
	} else if (sel & 4) {
		ferr = sel & ~3u;         /* a TSS descriptor belongs in the GDT */
		r = EXC_GP;
	} else {
		r = switch_to(how, sel, lo, hi, next, false, 0, &ferr);
	}
	if (r == -1)
		return -2;
	if (r > 0) {
		deliver_exception((unsigned)r, true, ferr);
		return vm.stopped ? -2 : -1;
	}
	return vm.stopped ? -2 : 1;
}

int task_return(uint32_t next)
{
	struct segcache cur = vm.tr;
	if (!cur.present)
		cur = (struct segcache){ .base = 0, .limit = 0xffff, .type = T_TSS32_BUSY, .present = 1 };
	if (cur.type == T_TSS16 || cur.type == T_TSS16_BUSY) {
		vmm_unsupported(UNSUP_TASK_TSS16, vm.eip);
		return -2;
	}
	uint16_t link;
	uint32_t ferr, lo, hi;
	int r;
	if (!glin_read_sys(cur.base + TSS_LINK, &link, 2)) {
		r = mem_fault(&ferr, cur.sel);
	} else if ((link & 4) || (link & ~3u) == 0 || !desc_read(link, &lo, &hi) || (hi & DESC_S) ||
		   (desc_type(hi) != T_TSS32_BUSY && desc_type(hi) != T_TSS16_BUSY)) {
		/* The task to go back to must be a busy TSS in the GDT. */
		ferr = link & ~3u;
		r = EXC_TS;
	} else {
		r = switch_to(TASK_IRET, link, lo, hi, next, false, 0, &ferr);
	}
	if (r == -1)
		return -2;
	if (r > 0) {
		deliver_exception((unsigned)r, true, ferr);
		return vm.stopped ? -2 : -1;
	}
	return vm.stopped ? -2 : 0;
}

int task_deliver(bool interrupt, uint32_t glo, uint32_t ret_eip, bool has_err, uint32_t err, uint32_t *ferr)
{
	int r = through_gate(interrupt ? TASK_INT : TASK_EXCEPTION, glo, ret_eip, has_err, err, ferr);
	return r == -1 ? EXC_DF : r;
}
