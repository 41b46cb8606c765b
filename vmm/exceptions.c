/* Exception and interrupt virtualization at guest ring 0: delivery through
 * the guest's IDT (interrupt and trap gates, error codes, the double-fault
 * and triple-fault escalation; task gates go to task.c) and iret, all on
 * the virtual EFLAGS. */
#include "vm.h"

/* Push a dword on the guest stack (SS:ESP), as the CPU does for a frame. */
static bool push32(uint32_t v, int *vec)
{
	uint32_t esp = vm.ma->esp - 4;
	if (!seg_write(SEG_SS, esp, &v, 4, vec))
		return false;
	vm.ma->esp = esp;
	return true;
}

/* The event being delivered is an interrupt request (for the task-switch
 * counters: an interrupt, not an exception). */
static bool delivering_irq;

/* One attempt: returns 0, or the vector of the fault that stopped it (with
 * *err) — the caller escalates. */
static int try_deliver(unsigned vec, bool has_err, uint32_t err, uint32_t ret_eip, bool soft, uint32_t *ferr)
{
	(void)soft;
	if (vec * 8 + 7 > vm.idt_limit) {
		*ferr = vec * 8 + 2;
		return EXC_GP;
	}
	uint32_t g[2];
	if (!glin_read_sys(vm.idt_base + vec * 8, g, 8)) {
		*ferr = vm.mem_fault_vec == EXC_PF ? vm.pf_err : vec * 8 + 2;
		return vm.mem_fault_vec;
	}
	unsigned type = (g[1] >> 8) & 0x1f;
	if (type == 0x05) {
		/* A task gate: int n checks its DPL, then it must be present. */
		*ferr = vec * 8 + 2;
		if (soft && ((g[1] >> 13) & 3) < (unsigned)vm.cpl)
			return EXC_GP;
		if (!(g[1] & 0x8000))
			return EXC_NP;
		return task_deliver(soft || delivering_irq, g[0], ret_eip, has_err, err, ferr);
	}
	if (type != 0x0e && type != 0x0f) {
		if (type == 0x06 || type == 0x07)
			vmm_fatal("16-bit interrupt gates are not supported, vector", vec);
		*ferr = vec * 8 + 2;
		return EXC_GP;
	}
	if (soft && ((g[1] >> 13) & 3) < (unsigned)vm.cpl) {
		*ferr = vec * 8 + 2;            /* int n through a gate user code may not use */
		return EXC_GP;
	}
	if (!(g[1] & 0x8000)) {
		*ferr = vec * 8 + 2;
		return EXC_NP;
	}
	uint16_t sel = (uint16_t)(g[0] >> 16);
	uint32_t off = (g[0] & 0xffff) | (g[1] & 0xffff0000u);
	uint32_t lo, hi;
	if ((sel & ~3u) == 0 || !desc_read(sel, &lo, &hi)) {
		*ferr = sel & ~3u;
		return EXC_GP;
	}
	struct segcache cs;
	seg_from_desc(&cs, sel, lo, hi);
	if (!cs.s || !(cs.type & 8)) {
		*ferr = sel & ~3u;
		return EXC_GP;
	}
	if (!cs.present) {
		*ferr = sel & ~3u;
		return EXC_NP;
	}
	if (cs.dpl != 0)
		vmm_fatal("interrupt handler outside ring 0 (not supported yet), vector", vec);
	uint32_t flags = guest_eflags();
	uint32_t esp0 = vm.ma->esp;
	struct segcache ss_before = vm.seg[SEG_SS];
	int cpl_before = vm.cpl;
	int fv;
	if (vm.cpl != 0) {
		/* From user mode: the handler's stack is SS0:ESP0 from the TSS,
		 * and the interrupted SS:ESP go on it first. */
		uint32_t t[2];
		int v; uint32_t e;
		if (!vm.tr.present || vm.tr.limit < 11 || !glin_read_sys(vm.tr.base + 4, t, 8)) {
			*ferr = vm.tr.sel & ~3u;
			return EXC_TS;
		}
		vm.cpl = 0;
		if (seg_load(SEG_SS, (uint16_t)t[1], &v, &e) != 0) {
			vm.cpl = cpl_before;
			*ferr = (t[1] & 0xffff) & ~3u;
			return EXC_TS;
		}
		vm.ma->esp = t[0];
		if (!push32(ss_before.sel, &fv) || !push32(esp0, &fv))
			goto undo;
	}
	if (!push32(flags, &fv) || !push32(vm.seg[SEG_CS].sel, &fv) || !push32(ret_eip, &fv) ||
	    (has_err && !push32(err, &fv)))
		goto undo;
	if (type == 0x0e)
		vm.ma->vif = 0;
	vm.ma->veflags &= ~(0x4000u | 0x10000u | 0x20000u | FL_TF);   /* NT, RF, VM, TF */
	vm.ma->eflags &= ~0x100u;                              /* TF */
	int v2; uint32_t e2;
	if (seg_load_cs(sel, &v2, &e2) != 0) {
		vm.ma->esp = esp0;
		*ferr = e2;
		return v2;
	}
	vm.eip = off;
	return 0;
undo:
	vm.ma->esp = esp0;
	vm.cpl = cpl_before;
	vm.seg[SEG_SS] = ss_before;
	seg_publish();
	*ferr = fv == EXC_PF ? vm.pf_err : 0;
	return fv;
}

static bool contributory(unsigned v) { return v == 0 || (v >= 10 && v <= 13); }

bool deliver(unsigned vec, bool has_err, uint32_t err, uint32_t ret_eip, bool soft)
{
	uint32_t ferr;
	if (vec == EXC_NM && !soft)
		stat_inc(&vs.fpu_switches);
	int f = try_deliver(vec, has_err, err, ret_eip, soft, &ferr);
	if (f == 0)
		return true;
	if (vm.stopped)          /* something the monitor does not implement */
		return false;
	/* A fault while delivering is reported at the instruction (vm.eip),
	 * even when the event was an int n that would have returned past it. */
	ret_eip = vm.eip;
	/* A fault while delivering: benign+anything is delivered serially;
	 * contributory/page-fault pairs become #DF; a fault delivering #DF shuts down. */
	if (vec == EXC_DF)
		goto shutdown;
	if ((contributory(vec) || vec == EXC_PF) && (contributory((unsigned)f) || f == EXC_PF)) {
		if (try_deliver(EXC_DF, true, 0, ret_eip, false, &ferr) == 0)
			return true;
		goto shutdown;
	}
	if (f == EXC_PF)
		vm.cr2 = vm.pf_lin;
	if (try_deliver((unsigned)f, f == EXC_GP || f == EXC_NP || f == EXC_SS || f == EXC_TS || f == EXC_PF, ferr, ret_eip, false, &ferr) == 0)
		return true;
	if (try_deliver(EXC_DF, true, 0, ret_eip, false, &ferr) == 0)
		return true;
shutdown:
	vmm_log("vmx: guest triple fault: shutting down");
	vmm_dump_state();
	vmm_stop(EXIT_TRIPLE);
	return false;
}

bool deliver_exception(unsigned vec, bool has_err, uint32_t err)
{
	stat_inc(&vs.exc_delivered);
	if (vm.cfg.trace & VMX_TRACE_TRAP)
		vmm_logf("vmx: exception %u at eip %08x", vec, vm.eip);
	if (vec == EXC_PF) {
		/* The access that failed left its error code and address. */
		has_err = true;
		err = vm.pf_err;
		vm.cr2 = vm.pf_lin;
	}
	return deliver(vec, has_err, err, vm.eip, false);
}

bool irq_deliverable(void)
{
	/* Stepping for a debugger holds interrupts back (as QEMU's gdb stub
	 * does), but not in hlt, which nothing else would end. */
	return vm.ma->vif && board_intr_pending() && (!vm.debugger.step || vm.debugger.halting);
}

bool deliver_irq(uint32_t ret_eip)
{
	/* The interrupt is taken at ret_eip: a fault while delivering it is
	 * reported there too. */
	vm.eip = ret_eip;
	uint8_t vec = board_intr_ack();
	stat_inc(&vs.irq_delivered);
	if (vm.cfg.trace & VMX_TRACE_IRQ)
		vmm_logf("vmx: irq %u vector %02x at eip %08x", vm.pic.acked_irq, vec, ret_eip);
	delivering_irq = true;
	bool ok = deliver(vec, false, 0, ret_eip, false);
	delivering_irq = false;
	vmm_update_pending();
	return ok;
}

/* iret at ring 0 to ring 0. Returns 0 (vm.eip = new EIP) or -1 when a fault
 * was delivered instead. */
int do_iret(bool op16, uint32_t next)
{
	if (op16)
		vmm_fatal_eip("16-bit iret is not supported, eip", vm.eip);
	if (vm.ma->veflags & X86_FL_NT)
		return task_return(next);      /* back to the task that called this one */
	uint32_t f[3];
	int vec;
	if (!seg_read(SEG_SS, vm.ma->esp, f, 12, &vec)) {
		deliver_exception((unsigned)vec, true, 0);
		return -1;
	}
	uint16_t sel = (uint16_t)f[1];
	uint32_t err;
	if (vm.cpl == 0 && (f[2] & X86_FL_VM)) {
		vmm_unsupported(UNSUP_V86, vm.eip);
		return -2;
	}
	if ((int)(sel & 3) > vm.cpl) {
		/* Back to user mode: SS:ESP come off the stack too, and data
		 * segments user code may not use are dropped. */
		uint32_t o[2];
		if (!seg_read(SEG_SS, vm.ma->esp + 12, o, 8, &vec)) {
			deliver_exception((unsigned)vec, true, 0);
			return -1;
		}
		int cpl_before = vm.cpl;
		struct segcache cs_before = vm.seg[SEG_CS], ss_before = vm.seg[SEG_SS];
		vm.cpl = sel & 3;
		if (seg_load_cs(sel, &vec, &err) != 0 || seg_load(SEG_SS, (uint16_t)o[1], &vec, &err) != 0) {
			vm.cpl = cpl_before;
			vm.seg[SEG_CS] = cs_before;
			vm.seg[SEG_SS] = ss_before;
			seg_publish();
			deliver_exception((unsigned)vec, true, err);
			return -1;
		}
		set_guest_eflags(f[2], true);
		vm.ma->esp = o[0];
		static const int data[4] = { SEG_DS, SEG_ES, SEG_FS, SEG_GS };
		for (int i = 0; i < 4; i++) {
			struct segcache *s = &vm.seg[data[i]];
			bool conforming = (s->type & 0xc) == 0xc;
			if (s->present && !conforming && s->dpl < vm.cpl)
				*s = (struct segcache){ .sel = 0 };
		}
		seg_publish();
		vm.eip = f[0];
		return 0;
	}
	if (seg_load_cs(sel, &vec, &err) != 0) {
		deliver_exception((unsigned)vec, true, err);
		return -1;
	}
	vm.ma->esp += 12;
	set_guest_eflags(f[2], true);
	vm.eip = f[0];
	return 0;
}
