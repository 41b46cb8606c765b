/* The callout dispatcher: translated code's far calls into the monitor land
 * here with the record that follows them (kind, aux, arg). Each handler
 * works on the guest registers the gate saved in the monitor area and says
 * where translated code resumes: the continuation after the record (the
 * next instruction's translation), or the translation of a new guest EIP. */
#include "vm.h"
#include "study.h"

struct co_rec { uint16_t kind, aux; uint32_t arg; };

enum { R_CONT, R_JUMP, R_STOP };

/* Guest state is precise at `at`: if an interrupt can be taken, take it
 * there. Returns true with *tc the handler's translation (0: the VM
 * stopped), false when nothing was delivered. */
static bool take_irq(uint32_t at, uint32_t *tc)
{
	if (vm.debugger.stop_req) {
		*tc = dbg_stop(at, VMM_DBG_REQUEST);
		return true;
	}
	if (!irq_deliverable())
		return false;
	*tc = deliver_irq(at) ? enter_eip(vm.eip) : 0;
	return true;
}

static uint32_t do_halt(uint32_t next)
{
	stat_inc(&vs.halts);
	for (;;) {
		vm.idle = true;
		vmm_poll_devices();
		vm.idle = false;
		if (vm.stopped)
			return 0;
		uint32_t itc;
		vm.debugger.halting = true;
		bool taken = take_irq(next, &itc);
		vm.debugger.halting = false;
		if (taken)
			return itc;
		if (!vm.ma->vif) {
			vmm_log("vmx: guest halted with interrupts disabled; stopping the VM");
			vmm_stop(EXIT_QUIT);
			return 0;
		}
		stat_inc(&vs.halt_sleeps);
		vm.w->wait(vmm_wake_deadline());
	}
}

static void port_io(const struct co_rec *r)
{
	unsigned size = r->aux & 7;
	uint16_t port = (r->aux & 8) ? (uint16_t)vm.ma->edx : (uint16_t)(r->aux >> 8);
	/* Only the timer and the clock read time: the host clock is not free.
	 * Reads are exact; IRQ0 is the clock's business (vmm_poll_devices). */
	if ((port >= 0x40 && port <= 0x43) || port == 0x61 || port == 0x70 || port == 0x71) {
		uint64_t now = vclock_now(&vm.clock);
		pit_set_time(&vm.pit, now);
		cmos_advance(&vm.cmos, now);
	}
	/* A read of the PICs while the virtual IF is clear (the clock is not
	 * run by the host timer then: arm_host_timer) sees the requests the
	 * timers raised by now, as a polling guest would on hardware, not at
	 * the next console poll. */
	if (r->kind == CO_IN && vm.timer_deferred && (port == 0x20 || port == 0x21 || port == 0xa0 || port == 0xa1) &&
	    vclock_run(&vm.clock))
		vmm_update_pending();
	uint32_t mask = size == 1 ? 0xffu : size == 2 ? 0xffffu : 0xffffffffu;
	uint32_t v;
	if (r->kind == CO_IN) {
		v = io_in(&vm.io, port, size) & mask;
		vm.ma->eax = (vm.ma->eax & ~mask) | v;
	} else {
		v = vm.ma->eax & mask;
		io_out(&vm.io, port, size, v);
		if (port >= 0x40 && port <= 0x43)
			vmm_timer_changed();
		vmm_update_pending();    /* notices a debug-exit write at once */
	}
	if (vm.cfg.trace & VMX_TRACE_IO)
		vmm_logf("vmx: %s port %04x size %u value %0*x (%s)", r->kind == CO_IN ? "in" : "out",
			 port, size, (int)size * 2, v, io_owner(&vm.io, port));
}

/* Port I/O from user mode needs IOPL (the TSS I/O bitmap is not
 * consulted: no guest here grants ports that way). */
static bool io_allowed(void)
{
	if ((unsigned)vm.cpl <= ((vm.ma->veflags >> 12) & 3))
		return true;
	deliver_exception(EXC_GP, true, 0);
	return false;
}

/* The guest single-steps: the instruction just completed, its #DB (a trap)
 * is taken with the return address `next`. */
static uint32_t single_step_trap(uint32_t next)
{
	if (vm.debugger.step)
		return dbg_stop(next, VMM_DBG_STEP);   /* the debugger's step, not the guest's */
	vm.eip = next;
	emulate_note_single_step();
	if (!deliver(EXC_DB, false, 0, next, false) || vm.stopped)
		return 0;
	return enter_eip(vm.eip);
}

static void trace_callout(const struct co_rec *r)
{
	const char *name = co_kind_name(r->kind);
	if (name)
		vmm_logf("vmx: callout %s: aux %04x, arg %08x", name, r->aux, r->arg);
	else
		vmm_logf("vmx: callout of unknown kind %u: aux %04x, arg %08x", r->kind, r->aux, r->arg);
}

static uint32_t callout(struct mon_area *ma, uint32_t site)
{
	const struct co_rec *r = (const struct co_rec *)(uintptr_t)site;
	uint32_t cont = site + CO_REC_SIZE;
	uint64_t epoch = bt_flush_epoch(), killed = bt_invalidations();
	int res = R_CONT;
	bool end = false, irq_ok = true, emulated_fault = false;
	uint32_t next = 0;

	ma->step = 0;
	bool tf0 = (ma->veflags & FL_TF) || vm.debugger.step;
	if (r->kind < CO_NKINDS)
		stat_inc(&vs.callout[r->kind]);
	if (vm.async_pending) {
		vm.async_pending = false;
		vmm_poll_devices();
	}
	if (vm.cfg.trace & VMX_TRACE_CALLOUT)
		trace_callout(r);

	switch (r->kind) {
	case CO_EXIT: {
		uint32_t target = 0;
		uint32_t tc = bt_exit_taken(r->aux == 1 ? ma->s_tmp : r->arg, &target);
		if (tf0)
			return single_step_trap(target);
		if (!tc)
			return enter_eip(target);
		uint32_t itc;
		if (take_irq(target, &itc))
			return itc;
		return tc;
	}
	case CO_IBL_MISS: case CO_IC_LEARN: {
		/* An indirect branch completed: guest state is precise at its
		 * target, a point to take a pending interrupt at. */
		uint32_t target = ma->s_target;
		if (tf0)
			return single_step_trap(target);
		uint32_t itc;
		if (take_irq(target, &itc))
			return itc;
		uint32_t tc = r->kind == CO_IBL_MISS ? bt_ibl_miss(target)
						      : bt_ic_learn(r->aux == 1 ? ma->s_tmp : r->arg, target);
		return tc ? tc : enter_eip(target);
	}
	case CO_DEBUG:
		return dbg_breakpoint(r->arg, cont);
	case CO_IRQ_CHECK:
		if (vm.timer_deferred && vm.ma->vif)
			vmm_poll_devices();
		vmm_update_pending();
		uint32_t itc;
		if (take_irq(r->arg, &itc))
			return itc;
		return cont;
	case CO_IN: case CO_OUT:
		vm.eip = r->arg;
		next = r->arg + ((r->aux >> 4) & 15);
		if (!io_allowed()) {
			res = R_JUMP;
			break;
		}
		port_io(r);
		break;
	case CO_INS: case CO_OUTS: {
		vm.eip = r->arg;
		if (!io_allowed()) {
			res = R_JUMP;
			break;
		}
		next = r->arg + r->aux;
		int rc = emulate_string_io(r->arg, r->kind == CO_INS);
		if (rc == -1)
			res = R_JUMP;
		break;
	}
	case CO_SEG_LOAD: {
		unsigned sreg = r->aux & 7, reg = (r->aux >> 4) & 7;
		bool pop = r->aux & 8, op16 = r->aux & 0x80;
		vm.eip = r->arg;
		next = r->arg + ((r->aux >> 8) & 15);
		irq_ok = sreg != SEG_SS;       /* mov/pop ss: an interrupt shadow */
		uint32_t sel = 0, err;
		int vec;
		if (pop && !seg_read(SEG_SS, ma->esp, &sel, 2, &vec)) {
			deliver_exception((unsigned)vec, true, 0);
			res = R_JUMP;
			break;
		}
		if (!pop)
			sel = ma_reg((int)reg);
		if (seg_load((int)sreg, (uint16_t)sel, &vec, &err) != 0) {
			deliver_exception((unsigned)vec, true, err);
			res = R_JUMP;
			break;
		}
		if (pop)
			ma->esp += op16 ? 2 : 4;
		break;
	}
	case CO_HLT:
		if (vm.cpl > 0) {
			vm.eip = r->arg;
			deliver_exception(EXC_GP, true, 0);
			res = R_JUMP;
			break;
		}
		return do_halt(r->arg + r->aux);
	case CO_INT: {
		unsigned vec = r->aux & 0xff, len = (r->aux >> 8) & 15, k = (r->aux >> 12) & 3;
		if (k == 2 && !(ma->eflags & 0x800)) {
			vm.eip = r->arg + len;
			res = R_JUMP;            /* into with OF clear */
			break;
		}
		vm.eip = r->arg;
		if (!deliver(vec, false, 0, r->arg + len, true))
			return 0;
		res = R_JUMP;
		break;
	}
	case CO_IRET:
		vm.eip = r->arg;
		do_iret(r->aux & 0x100, r->arg + (r->aux & 0xff));
		res = R_JUMP;
		break;
	case CO_UD:
		vm.eip = r->arg;
		deliver_exception(EXC_UD, false, 0);
		res = R_JUMP;
		tf0 = false;                /* faults are not single-step traps */
		break;
	case CO_FAULT:
		vm.eip = r->arg;
		deliver_exception(r->aux, false, 0);
		res = R_JUMP;
		tf0 = false;
		break;
	case CO_EMULATE: {
		vm.eip = r->arg;
		next = r->arg + (r->aux & 0xff);
		end = r->aux & CO_END;
		irq_ok = false;           /* e.g. mov ss opens an interrupt shadow */
		int rc = emulate_insn(r->arg, r->aux & 0xff);
		emulated_fault = rc == -1;
		if (rc == 1 || rc == -1)
			res = R_JUMP;
		else if (rc == -2)
			res = R_STOP;
		break;
	}
	default:
		vmm_fatal("bad callout record kind", r->kind);
		return 0;
	}

	if (vm.stopped || res == R_STOP) {
		ma->exit_reason = 1;
		return 0;
	}
	if (vm.timer_deferred && ma->vif)
		vmm_poll_devices();        /* IF came back on: the timers' due */
	vmm_update_pending();
	/* Single-stepping: an instruction the monitor completed that ends its
	 * unit (emulated, iret, far transfers) takes its #DB here; one that
	 * continues in the unit reaches the unit's exit, which takes it. A
	 * fault the instruction raised instead is no single-step trap. */
	if (tf0 && !emulated_fault && (res == R_JUMP || end) &&
	    (r->kind == CO_EMULATE || r->kind == CO_IRET || r->kind == CO_INT))
		return single_step_trap(res == R_JUMP ? vm.eip : next);
	if (res == R_CONT) {
		uint32_t itc;
		if (irq_ok && take_irq(next, &itc))
			return itc;
		if (end || epoch != bt_flush_epoch())
			return enter_eip(next);
		/* A callout that wrote guest memory may have written this very
		 * block (self-modifying code): then it continues from a fresh
		 * translation of what follows. */
		if (killed != bt_invalidations()) {
			struct bt_pc pc;
			if (bt_pc_lookup(site, &pc) && pc.dead)
				return enter_eip(next);
		}
		return cont;
	}
	uint32_t itc;
	if (take_irq(vm.eip, &itc))
		return itc;
	if (vm.stopped)
		return 0;
	return enter_eip(vm.eip);
}

uint32_t vmm_callout(struct mon_area *ma, uint32_t site)
{
	if (vm.study)
		return study_callout(ma, site, callout);
	return callout(ma, site);
}
