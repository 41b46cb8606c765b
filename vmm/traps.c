/* Host traps taken while guest code ran: faults inside translated code
 * (mapped back to the guest instruction and reflected as guest exceptions,
 * or absorbed when they are the monitor's business, like writes to traced
 * code pages), the periodic timer (interrupts delivered at an instruction
 * boundary, single-stepping to one if need be), and single-step traps. */
#include "vm.h"
#include "tunables.h"
#include "study.h"
#include "profile.h"

#define STEP_IRQ 1
#define STEP_SMC 2
#define STEP_READ 3     /* a read of a read-traced page runs natively, one host instruction */

/* The guest's registers become the interrupted ones: only when the trap is
 * at a point where they are precise (a boundary or a faulting instruction). */
void trap_take_regs(const struct vmm_trap *t)
{
	struct mon_area *ma = vm.ma;
	ma->eax = t->regs[0]; ma->ecx = t->regs[1]; ma->edx = t->regs[2]; ma->ebx = t->regs[3];
	ma->esp = t->regs[4]; ma->ebp = t->regs[5]; ma->esi = t->regs[6]; ma->edi = t->regs[7];
	ma->eflags = t->eflags;
}

static enum trap_action resume_at_eip(uint32_t eip)
{
	if (vm.debugger.stop_req) {
		/* A watched write just completed, or the VMX asked. */
		dbg_stop(eip, VMM_DBG_REQUEST);
		vm.ma->eflags &= ~FL_TF;
		vm.ma->step = 0;
		return TRAP_EXIT_WORLD;
	}
	uint32_t tc = enter_eip(eip);
	if (!tc)
		return TRAP_EXIT_WORLD;
	vm.ma->resume_eip = tc;
	vm.ma->eflags &= ~FL_TF;
	vm.ma->step = 0;
	return TRAP_RESUME_AT;
}

static enum trap_action resume_same(struct vmm_trap *t, bool step)
{
	t->step = step;
	return TRAP_RESUME;
}

static enum trap_action reflect(const struct vmm_trap *t, const struct bt_pc *pc, unsigned vec, bool has_err, uint32_t err)
{
	trap_take_regs(t);
	if (pc->ecx_in_scratch)
		vm.ma->ecx = vm.ma->s_ecx;
	vm.ma->eflags &= ~FL_TF;
	vm.eip = pc->eip;
	if (!deliver_exception(vec, has_err, err) || vm.stopped)
		return TRAP_EXIT_WORLD;
	if (irq_deliverable() && !deliver_irq(vm.eip))
		return TRAP_EXIT_WORLD;
	return resume_at_eip(vm.eip);
}

/* At a boundary in translated code, with an interrupt to take or a stop
 * the debugger asked for. */
static enum trap_action take_async(const struct vmm_trap *t, uint32_t eip)
{
	trap_take_regs(t);
	if (vm.debugger.stop_req)
		return resume_at_eip(eip);
	stat_inc(&vs.irq_async);
	if (!deliver_irq(eip))
		return TRAP_EXIT_WORLD;
	return resume_at_eip(vm.eip);
}

/* Traced-page writes per instruction: past a few, the instruction is
 * retranslated as a callout (a trap costs tens of callouts). */
#define ADAPT_THRESHOLD TUNE_ADAPT_THRESHOLD
static struct { uint32_t lin, count; } adapt[256];

static void adapt_count(uint32_t lin, uint32_t rip)
{
	uint32_t h = (lin ^ (lin >> 8)) & 255;
	if (adapt[h].lin != lin) {
		adapt[h].lin = lin;
		adapt[h].count = 0;
	}
	if (++adapt[h].count == ADAPT_THRESHOLD)
		bt_translate_as_callout(lin, rip);
}

/* A data access the hardware could not do (through a truncated segment,
 * to device memory, to a traced page): the monitor performs the
 * instruction and the guest goes on after it. Returns false when it is not
 * one the monitor performs (*act untouched); `ctr` counts the cases,
 * `adapt` feeds adaptive translation. */
static bool emulate_here(struct vmm_trap *t, const struct bt_pc *pc, stat_counter *ctr, bool adapt,
			 enum trap_action *act)
{
	trap_take_regs(t);
	/* An indirect call's push: the target is in %ecx, the guest's %ecx
	 * saved; the monitor performs the whole call again. */
	if (pc->ecx_in_scratch)
		vm.ma->ecx = vm.ma->s_ecx;
	vm.eip = pc->eip;
	vm.fpu_trap = t;
	int r = emulate_data_access(pc->eip, pc->boundary);
	vm.fpu_trap = (struct vmm_trap *)0;
	if (r == 0)
		return false;
	if (ctr)
		stat_inc(ctr);
	if (adapt)
		adapt_count(vm.seg[SEG_CS].base + pc->eip, t->rip);
	if (vm.stopped || (r == 1 && irq_deliverable() && !deliver_irq(vm.eip)))
		*act = TRAP_EXIT_WORLD;
	else
		*act = resume_at_eip(vm.eip);
	return true;
}

/* The data an instruction stepped natively over a read-traced page read:
 * its explicit memory operand, else the bytes from the faulting address
 * (an implicit operand of the operand size). */
static struct { uint32_t lin, len; } stepped;

/* An instruction the monitor does not perform reads a read-traced page (a
 * debugger's read or access watchpoint there): it runs natively, one host
 * instruction single-stepped, with the alias at `a` readable; the owners
 * then hear of the read. One that writes memory too cannot be let through
 * (a write the page's owners would not see): that stops the VM. */
static enum trap_action read_traced_step(struct vmm_trap *t, const struct bt_pc *pc, uint32_t a, bool write)
{
	struct bt_insn in;
	if (write || !emulate_decode(pc->eip, &in) || in.mem_is_dst || !mmu_reveal(a)) {
		trap_take_regs(t);
		vm.eip = pc->eip;
		vmm_unsupported_insn(UNSUP_READ_TRACED_WRITE, emulate_insn_name(pc->eip), pc->eip);
		return TRAP_EXIT_WORLD;
	}
	stat_inc(&vs.read_traced_stepped);
	stepped.lin = a;
	stepped.len = in.opsize / 8;
	if (in.has_mem && in.addrsize == 32 && in.mem_size) {
		uint32_t r[8];
		for (int i = 0; i < 8; i++)
			r[i] = t->regs[i];
		if (pc->ecx_in_scratch)
			r[1] = vm.ma->s_ecx;
		uint32_t off = (uint32_t)in.mem_disp;
		if (in.mem_base != 0xff)
			off += r[in.mem_base];
		if (in.mem_index != 0xff)
			off += r[in.mem_index] * (in.mem_scale ? in.mem_scale : 1);
		stepped.lin = vm.seg[emu_mseg(&in)].base + off;
		stepped.len = in.mem_size;
	}
	vm.ma->step = STEP_READ;
	return resume_same(t, true);
}

/* The stepped instruction's read, told to the owners page by page. */
static void read_traced_done(void)
{
	mmu_hide();
	uint32_t lin = stepped.lin, len = stepped.len;
	while (len) {
		uint32_t n = 0x1000 - (lin & 0xfff), pa, err;
		if (n > len)
			n = len;
		if (mmu_translate(lin, vm.cpl == 3 ? ACC_USER : 0, &pa, &err))
			mmu_phys_read(pa, n);
		lin += n; len -= n;
	}
}

static enum trap_action trap(struct vmm_trap *t)
{
	struct mon_area *ma = vm.ma;
	if ((unsigned)t->kind < TRAP_NKINDS)
		stat_inc(&vs.trap[t->kind]);
	/* The host timer fired: none is pending any more, whatever guest
	 * time says (the world's clock may have held guest time back). */
	if (t->kind == TRAP_ALARM)
		vm.timer_armed = 0;
	if (t->where == TRAP_IN_DIRECT)
		return direct_trap(t);
	if (t->where == TRAP_IN_MONITOR) {
		/* The monitor (or the gate) was running: never touch device state
		 * from here, leave a note for the monitor instead. */
		if (t->kind == TRAP_ALARM) {
			/* The next callout polls; a wake-up one period on covers a
			 * return into a loop that makes no callout. */
			vm.async_pending = true;
			vm.w->arm_timer(vm.w->now_ns() + TUNE_TIMER_MIN_PERIOD_NS);
			return TRAP_RESUME;
		}
		if (t->kind == TRAP_TRAP) {
			ma->step = 0;
			return TRAP_RESUME;
		}
		vmm_logx("vmx: host fault inside the monitor, trap", t->trapno);
		vmm_logx("vmx:   address", (uint32_t)t->addr);
		vmm_fatal("monitor fault at rip", t->rip);
		return TRAP_EXIT_WORLD;
	}
	if (vm.cfg.trace & VMX_TRACE_TRAP)
		vmm_logf("vmx: trap %s in translated code at tc %08x: vector %u, error %x, address %08x",
			 trap_kind_name(t->kind), t->rip, t->trapno, t->err, (uint32_t)t->addr);
	struct bt_pc pc;
	bool have = bt_pc_lookup(t->rip, &pc);
	enum trap_action act;
	if (ma->step == STEP_READ && t->kind != TRAP_TRAP && t->kind != TRAP_ALARM) {
		/* The stepped instruction faulted: the page is hidden again, and
		 * the instruction runs again from its start or not at all. */
		mmu_hide();
		ma->step = 0;
	}

	switch (t->kind) {
	case TRAP_ALARM:
		vmm_poll_devices();
		if (vm.stopped)
			return TRAP_EXIT_WORLD;
		if (ma->step == STEP_READ)
			return resume_same(t, true);      /* the step's trap comes next */
		if (!irq_deliverable() && !vm.debugger.stop_req)
			return resume_same(t, ma->step != 0);
		if (have && pc.boundary && !pc.irq_shadow && ma->step != STEP_SMC)
			return take_async(t, pc.eip);
		if (!ma->step)
			ma->step = STEP_IRQ;
		return resume_same(t, true);

	case TRAP_TRAP:
		if (!ma->step)
			break;
		if (ma->step == STEP_READ) {
			/* A watchpoint hit (or an interrupt) is taken at the next boundary. */
			read_traced_done();
			ma->step = (vm.debugger.stop_req || irq_deliverable()) ? STEP_IRQ : 0;
			if (!ma->step)
				return resume_same(t, false);
		}
		stat_inc(&vs.steps);
		if (!have || !pc.boundary)
			return resume_same(t, true);
		if (ma->step == STEP_SMC) {
			ma->step = 0;
			if (pc.dead) {
				trap_take_regs(t);
				return resume_at_eip(pc.eip);
			}
			return resume_same(t, false);
		}
		if (pc.irq_shadow)
			return resume_same(t, true);
		ma->step = 0;
		if (irq_deliverable() || vm.debugger.stop_req)
			return take_async(t, pc.eip);
		return resume_same(t, false);

	case TRAP_SEGV: case TRAP_BUS:
		if (!have)
			break;
		unsigned chk_seg;
		if (t->trapno == 5 && bt_limit_check_at(t->rip, &chk_seg)) {
			/* A software limit check failed (bt_env.soft_limits): it
			 * is the fault the CPU's own check would have raised, at
			 * the start of the instruction (the checks come first), so
			 * it is handled as the truncation's below. */
			t->regs[0] = ma->s_chk;
			t->trapno = chk_seg == SEG_SS ? 12 : 13;
			t->err = 0;
			pc.boundary = true;
			pc.ecx_in_scratch = false;
			stat_inc(&vs.soft_limit_traps);
		}
		if (t->trapno == 14) {
			uint32_t a = (uint32_t)t->addr, pa, err;
			bool write = t->err & 2;
			switch (mmu_host_fault(a, write, vm.cpl == 3, &err, &pa)) {
			case MMU_HIDDEN:
				if (vm.study)
					study_retag(PROF_TB_SHADOW_FILL);
				return resume_same(t, ma->step != 0);
			case MMU_TRUE:
				vm.pf_err = err;
				vm.pf_lin = a;
				return reflect(t, &pc, EXC_PF, true, err);
			case MMU_TRACED:
				/* A write to a traced page. The monitor performs moves and
				 * string writes itself, so the owners learn exactly which
				 * bytes changed (code next to data keeps its translations)
				 * and execution continues from a fresh lookup. */
				if (mmu_page_read_traced(pa >> 12)) {
					if (emulate_here(t, &pc, &vs.read_traced_emulated, true, &act))
						return act;
					return read_traced_step(t, &pc, a, write);
				}
				stat_inc(&vs.smc_write_faults);
				if (emulate_here(t, &pc, &vs.traced_emulated, true, &act))
					return act;
				/* Anything else: every translation of the page goes, the
				 * page is released and the write happens natively. If the
				 * running block was among them, step to the next
				 * instruction and continue from a fresh translation. */
				bool cause = vm.study && bt_prof_cause(PROF_CAUSE_PAGE_WRITE, pc.eip, pa);
				bool released = mmu_release_page(pa >> 12);
				if (cause)
					bt_prof_cause_end();
				if (!released) {
					vmm_fatal_eip("guest instruction writes ROM and cannot be emulated, eip", pc.eip);
					return TRAP_EXIT_WORLD;
				}
				mmu_host_fault(a, write, vm.cpl == 3, &err, &pa);   /* now writable */
				bt_pc_lookup(t->rip, &pc);
				if (pc.dead) {
					ma->step = STEP_SMC;
					return resume_same(t, true);
				}
				return resume_same(t, ma->step != 0);
			case MMU_OUTSIDE:
				/* Device memory (or nothing), or linear page 0, which the
				 * host cannot map (its stack, the BIOS data area): the
				 * monitor performs it. */
				if (emulate_here(t, &pc, a < 4096 ? &vs.page0_emulated : (stat_counter *)0, false, &act))
					return act;
				break;
			}
			if (a < 4096) {
				vmm_unsupported_insn(UNSUP_PAGE0, emulate_insn_name(pc.eip), pc.eip);
				return TRAP_EXIT_WORLD;
			}
			vmm_logx("vmx: guest access outside RAM and devices at linear", a);
			vmm_logx("vmx:   physical", pa);
			vmm_fatal_eip("by an instruction vmx does not emulate there, eip", pc.eip);
			return TRAP_EXIT_WORLD;
		}
		if (t->trapno == 17)
			return reflect(t, &pc, EXC_AC, true, 0);
		/* A truncated shadow segment (SS: #SS, trapno 12; the others
		 * #GP): the guest's own may allow it. One that keeps doing so
		 * (TLS at negative %gs offsets) becomes a callout, as for
		 * traced pages. */
		if (t->err == 0 && emulate_here(t, &pc, &vs.monitor_range, true, &act))
			return act;
		if (t->err == 0 && emulate_unsupported_in_monitor_range(pc.eip, t->trapno == 12))
			return TRAP_EXIT_WORLD;
		return reflect(t, &pc, t->trapno == 12 ? EXC_SS : EXC_GP, true, t->err);
	case TRAP_FPE:
		if (!have)
			break;
		return reflect(t, &pc, t->trapno == 16 ? EXC_MF : t->trapno == 19 ? EXC_XM : EXC_DE, false, 0);
	case TRAP_ILL:
		if (!have)
			break;
		return reflect(t, &pc, EXC_UD, false, 0);
	case TRAP_SYS:
		vmm_fatal("guest code made a host system call (int 0x80/sysenter outside translation), rip", t->rip);
		return TRAP_EXIT_WORLD;
	default:
		break;
	}
	vmm_logf("vmx: unexpected host trap %s in translated code", trap_kind_name(t->kind));
	vmm_logx("vmx:   trapno", t->trapno);
	vmm_fatal("at rip", t->rip);
	return TRAP_EXIT_WORLD;
}

enum trap_action vmm_trap(struct vmm_trap *t)
{
	if (vm.study)
		return study_trap(t, trap);
	return trap(t);
}
