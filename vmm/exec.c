/* The one place that decides how the guest runs next (DESIGN §8): from the
 * translation cache, or directly on the CPU. Every way execution starts or
 * continues after the monitor (the first entry, the end of a callout, a
 * trap handled, a block exit or indirect branch that leaves translated
 * code) comes through enter_eip; the engines themselves (bt/, direct.c)
 * never ask which mode runs. */
#include "vm.h"
#include "study.h"
#include "profile.h"

#define CR0_EM 0x4u
#define CR0_TS 0x8u
#define CR0_AM 0x40000u
#define CR4_OSFXSR 0x200u
#define FL_AC 0x40000u
#define FL_VM 0x20000u

/* Every data segment register has a host descriptor (or a null
 * selector); the code segment's is checked with the page. */
static bool segments_shadowed(void)
{
	for (int i = 0; i < 6; i++) {
		const struct segcache *s = &vm.seg[i];
		if (i != SEG_CS && !s->shadow && ((s->sel & ~3u) || i == SEG_SS))
			return false;
	}
	return true;
}

/* The guest state that lets user code run natively at all: protected mode
 * with paging at CPL 3, interrupts on (so the host's IF=1 is the truth),
 * IOPL below 3 (cli, sti, in, out and friends fault natively as they must),
 * no single-stepping, no alignment checks (the host does not give them),
 * and an FPU the host cannot make fault: CR0.TS and EM clear, SSE on. */
static bool cpu_state_allows(void)
{
	uint32_t vf = vm.ma->veflags;
	if (!mmu_paging() || (vf & (FL_TF | FL_VM)) || ((vf & FL_AC) && (vm.cr0 & CR0_AM)))
		return false;
	/* Trap-and-emulate runs the kernel natively too, whatever its IF:
	 * the timer's signals find it, and the monitor decides. */
	if (vm.cpl == 0 && vm.cfg.exec_mode == VMM_MODE_TE)
		return !(vm.cr0 & (CR0_TS | CR0_EM)) && (vm.cr4 & CR4_OSFXSR) && segments_shadowed();
	if (vm.cpl != 3 || !vm.ma->vif || ((vf >> 12) & 3) == 3)
		return false;
	if ((vm.cr0 & (CR0_TS | CR0_EM)) || !(vm.cr4 & CR4_OSFXSR))
		return false;
	return segments_shadowed();
}

static bool want_direct(uint32_t eip, uint32_t *lin, uint32_t *pa)
{
	enum vmm_exec_mode mode = vm.cfg.exec_mode;
	/* Under a debugger (-gdb, -monitor) every instruction is translated:
	 * its breakpoints, steps and watchpoints live in the translator. */
	/* On a CPU that checks no segment limit (soft_limits), only the
	 * translator's own checks keep guest code out of the monitor area:
	 * nothing runs natively. */
	if (mode == VMM_MODE_BT_ALL || vm.cfg.debug || vm.cfg.soft_limits || !cpu_state_allows())
		return false;
	uint32_t err;
	*lin = vm.seg[SEG_CS].base + eip;
	/* Not fetchable: the translator raises the guest's #PF. */
	if (!mmu_translate(*lin, vm.cpl == 3 ? ACC_USER : 0, pa, &err) || *pa >= vm.cfg.ram_size)
		return false;
	return direct_page_allows(*lin, *pa) && seg_code_shadow();
}

bool exec_want_direct(uint32_t eip)
{
	uint32_t lin, pa;
	return want_direct(eip, &lin, &pa);
}

uint32_t enter_translated(uint32_t eip)
{
	if (vm.study)
		study_running(PROF_TB_TC);
	vmm_sync_mode();
	for (int tries = 0; tries < 3; tries++) {
		uint32_t tc = bt_get(eip);
		if (tc)
			return tc;
		if (vm.mem_fault_vec != EXC_PF || !mmu_paging())
			break;
		vm.eip = eip;
		if (!deliver_exception(EXC_PF, true, 0) || vm.stopped)
			return 0;
		eip = vm.eip;
		vmm_sync_mode();
	}
	vmm_fatal_eip("guest jumped outside its memory, eip", eip);
	return 0;
}

uint32_t enter_translated_one(uint32_t eip)
{
	vm.bt_single = true;
	uint32_t tc = enter_translated(eip);
	vm.bt_single = false;
	vmm_sync_mode();
	return tc;
}

uint32_t enter_eip(uint32_t eip)
{
	vmm_sync_mode();
	uint32_t lin, pa;
	if (!want_direct(eip, &lin, &pa))
		return enter_translated(eip);
	/* Native code takes no interrupt before the host timer's next signal:
	 * one already pending is taken here, at the boundary. */
	if (vm.ma->vif && irq_deliverable()) {
		if (!deliver_irq(eip) || vm.stopped)
			return 0;
		return enter_translated(vm.eip);
	}
	if (vm.study)
		study_running(PROF_TB_DIRECT);
	return direct_enter(eip, lin, pa);
}
