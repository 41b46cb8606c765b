/* Exception and interrupt virtualization at guest ring 0: delivery through
 * the guest's IDT (interrupt and trap gates, error codes, the double-fault
 * and triple-fault escalation) and iret, all on the virtual EFLAGS. */
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
	if (!glin_read(vm.idt_base + vec * 8, g, 8)) {
		*ferr = vm.mem_fault_vec == EXC_PF ? vm.pf_err : vec * 8 + 2;
		return vm.mem_fault_vec;
	}
	unsigned type = (g[1] >> 8) & 0x1f;
	if (type != 0x0e && type != 0x0f) {
		if (type == 0x05)
			vmm_fatal("task gates are not supported, vector", vec);
		if (type == 0x06 || type == 0x07)
			vmm_fatal("16-bit interrupt gates are not supported, vector", vec);
		*ferr = vec * 8 + 2;
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
	int fv;
	if (!push32(flags, &fv) || !push32(vm.seg[SEG_CS].sel, &fv) || !push32(ret_eip, &fv) ||
	    (has_err && !push32(err, &fv))) {
		vm.ma->esp = esp0;
		*ferr = fv == EXC_PF ? vm.pf_err : 0;
		return fv;
	}
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
}

static bool contributory(unsigned v) { return v == 0 || (v >= 10 && v <= 13); }

bool deliver(unsigned vec, bool has_err, uint32_t err, uint32_t ret_eip, bool soft)
{
	uint32_t ferr;
	int f = try_deliver(vec, has_err, err, ret_eip, soft, &ferr);
	if (f == 0)
		return true;
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
	if (vm.cfg.trace & VMX_TRACE_TRAP) {
		vmm_logx("vmx: exception vector", vec);
		vmm_logx("vmx:   at eip", vm.eip);
	}
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
	return vm.ma->vif && pic_intr_pending(&vm.pic);
}

bool deliver_irq(uint32_t ret_eip)
{
	uint8_t vec = pic_ack(&vm.pic);
	stat_inc(&vs.irq_delivered);
	if (vm.cfg.trace & VMX_TRACE_IRQ)
		vmm_logx("vmx: irq vector", vec);
	bool ok = deliver(vec, false, 0, ret_eip, false);
	vmm_update_pending();
	return ok;
}

/* iret at ring 0 to ring 0. Returns 0 (vm.eip = new EIP) or -1 when a fault
 * was delivered instead. */
int do_iret(bool op16)
{
	if (op16)
		vmm_fatal("16-bit iret is not supported", vm.eip);
	if (vm.ma->veflags & 0x4000)
		vmm_fatal("iret with NT set (task return) is not supported", vm.eip);
	uint32_t f[3];
	int vec;
	if (!seg_read(SEG_SS, vm.ma->esp, f, 12, &vec)) {
		deliver_exception((unsigned)vec, true, 0);
		return -1;
	}
	uint16_t sel = (uint16_t)f[1];
	if ((sel & 3) != 0)
		vmm_fatal("iret to user mode is not supported yet, selector", sel);
	uint32_t err;
	if (seg_load_cs(sel, &vec, &err) != 0) {
		deliver_exception((unsigned)vec, true, err);
		return -1;
	}
	vm.ma->esp += 12;
	set_guest_eflags(f[2], true);
	vm.eip = f[0];
	return 0;
}
