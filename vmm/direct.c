/* Direct execution of guest user code (DESIGN §3.1, §8): which guest pages
 * may run natively, the way in, and every way out (the host traps that
 * directly executed code takes).
 *
 * A page runs natively only once scanned. In the user-level world a
 * segment load by native code indexes the host's GDT (0x23, 0x2b, 0x33 and
 * 0x7b load silently there), and cpuid, sgdt and friends, lar/lsl, pushf
 * and reads of segment registers answer with host values, so a page
 * holding any of those runs translated. The scan decodes the page the way
 * a disassembler does (a sweep from its first byte, resynchronizing as
 * x86 code does, and one from the entry being taken), and the page is
 * then traced: a write to it (the guest loading other code there) sends
 * it back to unscanned. What the scan cannot see (a jump into the middle
 * of an instruction it decoded) is caught at the next exit: the segment
 * registers are checked against the shadows the monitor loaded, and a
 * difference stops the VM naming it.
 *
 * Every exit is delivered to the guest as the hardware would: an
 * instruction the native run could not complete (a privileged or
 * IOPL-sensitive one, a fault, int n, an access cut off by the monitor's
 * truncation) runs again translated, whose semantics are exact; only
 * what is frequent and simple is handled here (hidden and true page
 * faults, int 0x80, the timer). Environment: the monitor, inside the
 * world's trap handler; the guest's FPU state is in the trap frame. */
#include "vm.h"
#include "study.h"
#include "tunables.h"

#define MAXRAMPAGES ((3072u << 20) >> 12)

/* Per guest-physical page: what the scan said. */
enum page_state {
	PS_UNKNOWN = 0, PS_OK,
	PS_REFUSED_SEGMENT, PS_REFUSED_FAR, PS_REFUSED_SYSSTATE, PS_REFUSED_FLAGS, PS_REFUSED_SYSCALL,
	PS_REFUSED_WRITTEN,
	PS_ADAPT_TC,        /* scanned fine, but it kept trapping: translated for a while (-mode bt) */
	PS_COUNT
};
static uint8_t state[MAXRAMPAGES];
/* -mode te: the same for kernel code (te.c says what a kernel page may hold). */
static uint8_t kstate[MAXRAMPAGES];
/* -mode bt: the pages whose native runs keep trapping, with the guest time
 * their window of counting started (or, once translated, when they may
 * try native runs again). A small table: a collision only forgets a
 * count. */
#define ADAPT_SLOTS 256u
static struct adapt { uint32_t ppn1; uint32_t traps; uint64_t since; } adapt[ADAPT_SLOTS];
static uint8_t rewrites[MAXRAMPAGES];
static int owner = -1;

static struct {
	stat_counter entries, scanned, refused[PS_COUNT], rewritten, host_isa, to_tc, to_direct;
	stat_counter exit_timer, exit_irq, exit_syscall, exit_hidden, exit_pf, exit_fetch, exit_translated,
		     int80, segment_escape;
} ds = {
	.entries = { "vmm.direct.entries", 0 }, .scanned = { "vmm.direct.pages_scanned", 0 },
	.refused = {
		[PS_REFUSED_SEGMENT] = { "vmm.direct.pages_refused.segment", 0 },
		[PS_REFUSED_FAR] = { "vmm.direct.pages_refused.far_transfer", 0 },
		[PS_REFUSED_SYSSTATE] = { "vmm.direct.pages_refused.system_state", 0 },
		[PS_REFUSED_FLAGS] = { "vmm.direct.pages_refused.flags", 0 },
		[PS_REFUSED_SYSCALL] = { "vmm.direct.pages_refused.syscall_insn", 0 },
		[PS_REFUSED_WRITTEN] = { "vmm.direct.pages_refused.rewritten", 0 },
	},
	.rewritten = { "vmm.direct.pages_rewritten", 0 },
	.host_isa = { "vmm.direct.pages_with_unreported_isa", 0 },
	.to_tc = { "vmm.adaptive.user_to_tc", 0 }, .to_direct = { "vmm.adaptive.user_to_direct", 0 },
	.exit_timer = { "vmm.direct.exit.timer", 0 }, .exit_irq = { "vmm.direct.exit.interrupt", 0 },
	.exit_syscall = { "vmm.direct.exit.syscall", 0 }, .exit_hidden = { "vmm.direct.exit.hidden_fault", 0 },
	.exit_pf = { "vmm.direct.exit.page_fault", 0 }, .exit_fetch = { "vmm.direct.exit.new_page", 0 },
	.exit_translated = { "vmm.direct.exit.to_translation", 0 },
	.int80 = { "vmm.syscall.int80", 0 }, .segment_escape = { "vmm.direct.segment_escapes", 0 },
};

/* What one instruction does to a page's verdict (PS_OK: harmless). */
static enum page_state classify(const struct bt_insn *in)
{
	if (in->far)
		return PS_REFUSED_FAR;
	switch (in->mnem) {
	case M_IRET:
		return PS_REFUSED_FAR;
	case M_MOV_SREG_LOAD: case M_POP_SREG: case M_LDS: case M_LES: case M_LFS: case M_LGS: case M_LSS:
	case M_MOV_SREG_STORE: case M_PUSH_SREG:
		return PS_REFUSED_SEGMENT;
	case M_SGDT: case M_SIDT: case M_SLDT: case M_STR: case M_SMSW: case M_LAR: case M_LSL:
	case M_VERR: case M_VERW: case M_CPUID: case M_RDTSC: case M_RDTSCP: case M_RDPMC: case M_XGETBV:
	case M_INT1:
		return PS_REFUSED_SYSSTATE;
	case M_PUSHF: case M_POPF:
		return PS_REFUSED_FLAGS;
	case M_SYSENTER: case M_SYSEXIT: case M_SYSCALL: case M_SYSRET:
		return PS_REFUSED_SYSCALL;
	default:
		return PS_OK;
	}
}

/* Decodes from `off` to the end of the page (instructions may run into
 * the next page's bytes, which `buf` holds too). Marks the boundaries it
 * saw; returns the first refusal, or PS_OK. */
struct verdict {
	enum page_state v; unsigned off; struct bt_insn in; bool host_isa;
	/* Direct branch targets inside the page, swept too (a jump into the
	 * middle of an instruction the sweep decoded is seen that way). */
	uint16_t todo[64]; unsigned ntodo;
};

static void sweep(const uint8_t *buf, unsigned off, uint8_t *seen, struct verdict *r, bool kernel)
{
	while (off < 4096) {
		struct bt_insn in;
		bool truncated;
		if (seen[off >> 3] & (1u << (off & 7)))
			return;                 /* joined a sweep already made */
		seen[off >> 3] |= (uint8_t)(1u << (off & 7));
		if (!bt_decode(buf + off, 4096 + 16 - off, &in, &truncated)) {
			off++;                  /* data or padding: the CPU would #UD */
			continue;
		}
		enum page_state v = classify(&in);
		if (kernel) {
			v = te_insn_allowed(&in) ? PS_OK : v == PS_OK ? PS_REFUSED_SEGMENT : v;
			if (v == PS_OK)
				te_note_insn(&in);
		}
		if (v != PS_OK) {
			r->v = v;
			r->off = off;
			r->in = in;
			return;
		}
		/* Run natively, such an instruction works where the virtual
		 * CPU would raise #UD (README, limits): counted, not refused,
		 * as libraries hold code for every CPU and pick by CPUID. */
		r->host_isa |= in.isa_not_reported;
		if (in.target == T_REL && r->ntodo < sizeof(r->todo) / sizeof(r->todo[0])) {
			uint32_t to = off + in.len + (uint32_t)in.rel;
			if (to < 4096 && !(seen[to >> 3] & (1u << (to & 7))))
				r->todo[r->ntodo++] = (uint16_t)to;
		}
		off += in.len;
	}
}

static const char *state_name(enum page_state v)
{
	const char *n = ds.refused[v].name;
	if (!n)
		return "ok";
	for (const char *p = n; *p; p++)
		if (*p == '.')
			n = p + 1;
	return n;
}

/* Where the first instruction starting in the page at `lin` begins: the
 * previous page decoded from its start (x86 decoding resynchronizes within
 * a few instructions, as a disassembler's linear sweep relies on) runs
 * into this page, and its last instruction ends there. 0 when the previous
 * page is not user code's. */
static unsigned first_boundary(uint32_t lin)
{
	uint32_t prev = (lin & ~0xfffu) - 0x1000, pa, err;
	if (prev >= lin || !mmu_translate(prev, vm.cpl == 3 ? ACC_USER : 0, &pa, &err) || pa + 0x1000 > vm.cfg.ram_size)
		return 0;
	const uint8_t *p = vm.cfg.ram + (pa & ~0xfffu);
	unsigned off = 0;
	while (off < 4096 - 15) {
		struct bt_insn in;
		bool truncated;
		off += bt_decode(p + off, 4096 - off, &in, &truncated) ? in.len : 1;
	}
	/* The last few instructions may need this page's bytes: decode them
	 * from a copy that holds both. */
	uint8_t tail[32];
	uint32_t npa;
	if (!mmu_translate(lin & ~0xfffu, vm.cpl == 3 ? ACC_USER : 0, &npa, &err) || npa + 16 > vm.cfg.ram_size)
		return 0;
	m_memcpy(tail, p + 4096 - 16, 16);
	m_memcpy(tail + 16, vm.cfg.ram + (npa & ~0xfffu), 16);
	off -= 4096 - 16;
	while (off < 16) {
		struct bt_insn in;
		bool truncated;
		off += bt_decode(tail + off, 32 - off, &in, &truncated) ? in.len : 1;
	}
	return off - 16;
}

static enum page_state scan(uint32_t lin, uint32_t pa, bool kernel)
{
	uint8_t buf[4096 + 16], seen[512];
	m_memcpy(buf, vm.cfg.ram + (pa & ~0xfffu), 4096);
	/* The last instruction may end in the next linear page. */
	uint32_t npa, err;
	uint32_t next = (lin & ~0xfffu) + 0x1000;
	if (next < MON_BASE && mmu_translate(next, vm.cpl == 3 ? ACC_USER : 0, &npa, &err) && npa + 16 <= vm.cfg.ram_size)
		m_memcpy(buf + 4096, vm.cfg.ram + npa, 16);
	else
		m_memset(buf + 4096, 0, 16);
	m_memset(seen, 0, sizeof(seen));
	struct bt_fpu_save fs;
	struct verdict r = { .v = PS_OK, .ntodo = 0 };
	bt_decoder_enter(&fs);
	sweep(buf, first_boundary(lin), seen, &r, kernel);
	if (r.v == PS_OK)
		sweep(buf, lin & 0xfff, seen, &r, kernel);
	for (unsigned i = 0; i < r.ntodo && r.v == PS_OK; i++)
		sweep(buf, r.todo[i], seen, &r, kernel);
	bt_decoder_leave(&fs);
	stat_inc(&ds.scanned);
	if (r.v != PS_OK)
		stat_inc(&ds.refused[r.v]);
	else if (r.host_isa)
		stat_inc(&ds.host_isa);
	if (vm.cfg.trace & VMX_TRACE_DIRECT) {
		if (r.v == PS_OK)
			vmm_logf("vmx: direct: %s page %08x (physical %08x) scanned: runs directly%s",
				 kernel ? "kernel" : "user", lin & ~0xfffu, pa & ~0xfffu,
				 r.host_isa ? " (holds instructions the virtual CPU lacks)" : "");
		else
			vmm_logf("vmx: direct: %s page %08x (physical %08x) runs translated: %s (%s at %08x)",
				 kernel ? "kernel" : "user", lin & ~0xfffu, pa & ~0xfffu, state_name(r.v),
				 bt_mnemonic_name(&r.in),
				 (lin & ~0xfffu) + r.off);
	}
	return r.v;
}

/* The page's contents changed: scanned again at its next native entry,
 * unless it keeps being written (code and data sharing a page). */
static void page_written(void *opaque, uint32_t pa, uint32_t len)
{
	(void)opaque;
	for (uint32_t ppn = pa >> 12; ppn <= (pa + len - 1) >> 12 && ppn < MAXRAMPAGES; ppn++) {
		if (kstate[ppn] != PS_UNKNOWN) {
			kstate[ppn] = PS_UNKNOWN;
			mmu_drop_exec(ppn);
			mmu_trace(ppn, owner, false);
		}
		if (state[ppn] == PS_UNKNOWN || state[ppn] == PS_REFUSED_WRITTEN)
			continue;
		stat_inc(&ds.rewritten);
		mmu_drop_exec(ppn);
		mmu_trace(ppn, owner, false);
		if (++rewrites[ppn] >= TUNE_DIRECT_REWRITES) {
			state[ppn] = PS_REFUSED_WRITTEN;
			stat_inc(&ds.refused[PS_REFUSED_WRITTEN]);
		} else {
			state[ppn] = PS_UNKNOWN;
		}
	}
}

void direct_init(void)
{
	for (uint32_t i = 0; i < MAXRAMPAGES; i++)
		state[i] = kstate[i] = rewrites[i] = 0;
	for (unsigned i = 0; i < ADAPT_SLOTS; i++)
		adapt[i] = (struct adapt){ 0, 0, 0 };
	owner = mmu_trace_owner("direct", page_written, (void *)0, false);
	stat_counter *all = &ds.entries;
	for (unsigned i = 0; i < sizeof(ds) / sizeof(stat_counter); i++)
		if (all[i].name)
			stats_register(&all[i]);
}

static struct adapt *adapt_slot(uint32_t ppn)
{
	struct adapt *a = &adapt[(ppn ^ (ppn >> 8)) & (ADAPT_SLOTS - 1)];
	if (a->ppn1 != ppn + 1)
		*a = (struct adapt){ ppn + 1, 0, vclock_now(&vm.clock) };
	return a;
}

/* A translated page's time is up: native runs again (its own traps will
 * tell whether it still needs translating). */
static bool adapt_retry(uint32_t lin, uint32_t ppn)
{
	struct adapt *a = adapt_slot(ppn);
	if (vclock_now(&vm.clock) - a->since < TUNE_ADAPT_RETRY_NS)
		return false;
	state[ppn] = PS_OK;
	*a = (struct adapt){ ppn + 1, 0, vclock_now(&vm.clock) };
	stat_inc(&ds.to_direct);
	if (vm.cfg.trace & VMX_TRACE_DIRECT)
		vmm_logf("vmx: direct: page %08x (physical %08x) tries direct execution again", lin & ~0xfffu,
			 ppn << 12);
	return true;
}

/* A native run starts on the page: every run ends in an exit, so entries
 * counted per page measure its exits whatever they are (faults it cannot
 * complete, system calls, calls into translated pages, which trap while
 * the returns come back through the monitor). Past a rate, the page runs
 * translated, where the same exits are callouts (DESIGN §3.1: a trap
 * costs tens of callouts). Timer ticks stay far below the rate. */
static void adapt_count(uint32_t lin, uint32_t ppn)
{
	if (vm.cfg.exec_mode != VMM_MODE_BT || ppn >= MAXRAMPAGES || state[ppn] != PS_OK)
		return;
	struct adapt *a = adapt_slot(ppn);
	uint64_t now = vclock_now(&vm.clock);
	if (now - a->since > TUNE_ADAPT_WINDOW_NS) {
		a->since = now;
		a->traps = 0;
	}
	if (++a->traps < TUNE_ADAPT_TRAPS)
		return;
	state[ppn] = PS_ADAPT_TC;
	a->since = now;
	mmu_drop_exec(ppn);
	stat_inc(&ds.to_tc);
	if (vm.cfg.trace & VMX_TRACE_DIRECT)
		vmm_logf("vmx: direct: page %08x (physical %08x) runs translated for a while: %u native runs in %u us",
			 lin & ~0xfffu, ppn << 12, a->traps, (uint32_t)(TUNE_ADAPT_WINDOW_NS / 1000));
}

bool direct_page_allows(uint32_t lin, uint32_t pa)
{
	uint32_t ppn = pa >> 12;
	if (ppn >= MAXRAMPAGES || owner < 0)
		return false;
	if (vm.cpl == 0) {
		if (kstate[ppn] == PS_UNKNOWN) {
			kstate[ppn] = (uint8_t)scan(lin, pa, true);
			mmu_trace(ppn, owner, true);
		}
		return kstate[ppn] == PS_OK;
	}
	if (state[ppn] == PS_ADAPT_TC)
		return adapt_retry(lin, ppn);
	if (state[ppn] == PS_UNKNOWN) {
		state[ppn] = (uint8_t)scan(lin, pa, false);
		if (state[ppn] != PS_REFUSED_WRITTEN)
			mmu_trace(ppn, owner, true);
	}
	return state[ppn] == PS_OK;
}

uint32_t direct_enter(uint32_t eip, uint32_t lin, uint32_t pa)
{
	struct mon_area *ma = vm.ma;
	stat_inc(&ds.entries);
	if (vm.study)
		study_direct_enter(lin);
	adapt_count(lin, pa >> 12);
	ma->direct_eip = eip;
	ma->direct_cs = seg_code_shadow();
	ma->step = 0;
	return vm.cfg.gate_direct;
}

/* ---- the ways out ---- */

static enum trap_action resume_at(uint32_t tc)
{
	if (!tc || vm.stopped)
		return TRAP_EXIT_WORLD;
	vm.ma->resume_eip = tc;
	vm.ma->eflags &= ~FL_TF;
	vm.ma->step = 0;
	return TRAP_RESUME_AT;
}

/* The instruction at eip could not complete natively: the translator
 * performs it exactly, and its block's exit comes back here. */
static enum trap_action run_translated(uint32_t eip)
{
	stat_inc(&ds.exit_translated);
	vm.eip = eip;
	/* Trap-and-emulate: the monitor performs that one instruction; the
	 * next runs natively again (its own divergences included). */
	if (vm.cpl == 0) {
		te_count_trap(eip);
		return resume_at(enter_translated_one(eip));
	}
	return resume_at(enter_translated(eip));
}

static bool code_byte(uint32_t eip, uint8_t *b)
{
	return glin_fetch(vm.seg[SEG_CS].base + eip, b, 1);
}

/* Native segment registers that are not the shadows the monitor loaded:
 * an instruction the scan missed loaded one. */
static bool segments_intact(const struct vmm_trap *t)
{
	const struct mon_area *ma = vm.ma;
	const uint16_t want[6] = { ma->es_sel, ma->direct_cs, ma->ss, ma->ds_sel, ma->fs_sel, ma->ggs_sel };
	for (int i = 0; i < 6; i++) {
		/* A null selector may read back with any RPL. */
		if (t->sregs[i] == want[i] || ((t->sregs[i] & ~3u) == 0 && (want[i] & ~3u) == 0))
			continue;
		static const char names[6][3] = { "es", "cs", "ss", "ds", "fs", "gs" };
		stat_inc(&ds.segment_escape);
		vmm_logf("vmx: directly executed guest code changed %s to host selector %04x (monitor's %04x) "
			 "with an instruction the page scan did not see", names[i], t->sregs[i], want[i]);
		return false;
	}
	return true;
}

static enum trap_action page_fault(struct vmm_trap *t)
{
	uint32_t lin = (uint32_t)t->addr, pa = 0, err = 0;
	bool write = t->err & 2, fetch = t->err & 0x10;
	enum mmu_fault_kind k = mmu_host_fault(lin, write, vm.cpl == 3, &err, &pa);
	if (k == MMU_TRUE) {
		stat_inc(&ds.exit_pf);
		vm.pf_err = err;
		vm.pf_lin = lin;
		if (!deliver_exception(EXC_PF, true, err) || vm.stopped)
			return TRAP_EXIT_WORLD;
		return resume_at(enter_eip(vm.eip));
	}
	if (fetch && k == MMU_HIDDEN) {
		/* Code on a page not fetched from natively yet. */
		stat_inc(&ds.exit_fetch);
		/* (An instruction running into the next page asks for that
		 * page's verdict here, not its own page's.) */
		if (direct_page_allows(lin, pa) && mmu_grant_exec(lin, vm.cpl == 0))
			return TRAP_RESUME;
		return run_translated(t->rip);
	}
	if (k == MMU_HIDDEN) {
		stat_inc(&ds.exit_hidden);
		return TRAP_RESUME;
	}
	/* Traced pages, device memory, page 0: the translated path performs
	 * the access (emulating it, releasing the page, adapting). */
	return run_translated(t->rip);
}

/* int 0x80 reaches the monitor as a host system call caught by syscall
 * user dispatch, RIP past the instruction. */
static enum trap_action syscall_exit(struct vmm_trap *t)
{
	uint8_t op[2];
	uint32_t at = t->rip - 2;
	if (!code_byte(at, &op[0]) || !code_byte(at + 1, &op[1]))
		return run_translated(at);
	if (op[0] != 0xcd || op[1] != 0x80) {
		/* syscall or sysenter ran natively (the scan keeps them out, so
		 * it was hidden from it): the host CPU has already clobbered
		 * ECX (and EDX), which the virtual CPU's #UD would have kept. */
		vmm_unsupported(UNSUP_DIRECT_SYSCALL, at);
		return TRAP_EXIT_WORLD;
	}
	stat_inc(&ds.exit_syscall);
	stat_inc(&ds.int80);
	vm.eip = at;
	if (!deliver(0x80, false, 0, t->rip, true) || vm.stopped)
		return TRAP_EXIT_WORLD;
	return resume_at(enter_eip(vm.eip));
}

enum trap_action direct_trap(struct vmm_trap *t)
{
	if (vm.cfg.trace & VMX_TRACE_TRAP)
		vmm_logf("vmx: trap %s in direct code at eip %08x: vector %u, error %x, address %08x",
			 trap_kind_name(t->kind), t->rip, t->trapno, t->err, (uint32_t)t->addr);
	trap_take_regs(t);
	vm.eip = t->rip;
	if (!segments_intact(t)) {
		vmm_unsupported(UNSUP_DIRECT_SEGMENT, t->rip);
		return TRAP_EXIT_WORLD;
	}
	switch (t->kind) {
	case TRAP_ALARM:
		stat_inc(&ds.exit_timer);
		vmm_poll_devices();
		if (vm.stopped || (vm.cpl == 0 && te_interrupts_stuck()))
			return TRAP_EXIT_WORLD;
		if (!irq_deliverable())
			return TRAP_RESUME;
		stat_inc(&ds.exit_irq);
		stat_inc(&vs.irq_async);
		if (!deliver_irq(t->rip))
			return TRAP_EXIT_WORLD;
		return resume_at(enter_eip(vm.eip));
	case TRAP_SYS:
		return syscall_exit(t);
	case TRAP_TRAP: {
		/* int3 (CC) or int 3 (CD 03): RIP is past it; no TF here. */
		uint8_t b = 0;
		if (t->trapno != 3)
			return TRAP_RESUME;
		return run_translated(code_byte(t->rip - 1, &b) && b == 0xcc ? t->rip - 1 : t->rip - 2);
	}
	case TRAP_SEGV: case TRAP_BUS:
		if (t->trapno == 14)
			return page_fault(t);
		if (t->trapno == 4)           /* into: a trap, RIP past it */
			return run_translated(t->rip - 1);
		return run_translated(t->rip);
	default:
		/* #DE, #UD, #MF, #XM and the like are faults: RIP is the
		 * instruction, which raises them again translated. */
		return run_translated(t->rip);
	}
}
