/* Trap-and-emulate (-mode te, DESIGN §8): guest kernel code runs directly
 * too, deprivileged (host CPL 3), from its own pages. This file owns what
 * differs from directly executed user code: which kernel pages may run
 * natively, the instructions that trap and are emulated, and the
 * divergences the monitor can see.
 *
 * A deprivileged kernel on real hardware runs its segment loads and far
 * transfers against the monitor's shadow descriptor tables, and they work;
 * here a native segment load would index the host's GDT, so pages holding
 * them run translated, as the real thing would have them behave. Every
 * other instruction runs natively: the privileged ones fault and the
 * monitor performs them; the sensitive ones that do not fault (popf keeps
 * IF silently, pushf shows the host's IF and IOPL, sgdt/sidt/sldt/str/smsw
 * answer with the host's values under its UMIP emulation, a segment
 * register read shows the shadow selector with RPL 3, lar/lsl/verr/verw
 * see the host's descriptors, cpuid the host's CPU) do what hardware makes
 * them do, which is the point of the mode: x86 is not classically
 * virtualizable. The scan of each kernel page counts those it finds, per
 * kind; the lost interrupts a popf leaves behind are seen later, as a
 * kernel waiting with interrupts virtually off. Environment: the monitor,
 * in the world's trap handler or a callout. */
#include "vm.h"
#include "tunables.h"

enum te_div {
	TD_POPF, TD_PUSHF, TD_SGDT, TD_SIDT, TD_SLDT, TD_STR, TD_SMSW, TD_SREG_READ, TD_LAR_LSL, TD_VERR_VERW,
	TD_CPUID, TD_RDTSC, TD_IF_LOST, TD_COUNT
};

static struct { stat_counter ctr; const char *what; } div[TD_COUNT] = {
	[TD_POPF] = { { "vmm.te.divergence.popf", 0 }, "popf does not trap when deprivileged: IF (and IOPL) keep the host's values silently" },
	[TD_PUSHF] = { { "vmm.te.divergence.pushf", 0 }, "pushf shows the host's IF=1 and IOPL 0, not the virtual ones" },
	[TD_SGDT] = { { "vmm.te.divergence.sgdt", 0 }, "sgdt answers with the host's (UMIP-emulated) GDTR" },
	[TD_SIDT] = { { "vmm.te.divergence.sidt", 0 }, "sidt answers with the host's (UMIP-emulated) IDTR" },
	[TD_SLDT] = { { "vmm.te.divergence.sldt", 0 }, "sldt answers with the host's LDTR" },
	[TD_STR] = { { "vmm.te.divergence.str", 0 }, "str answers with the host's TR" },
	[TD_SMSW] = { { "vmm.te.divergence.smsw", 0 }, "smsw answers with the host's CR0 bits" },
	[TD_SREG_READ] = { { "vmm.te.divergence.segment_read", 0 }, "mov/push of a segment register shows the shadow selector, RPL 3 (a kernel reading its CPL from %cs sees 3)" },
	[TD_LAR_LSL] = { { "vmm.te.divergence.lar_lsl", 0 }, "lar/lsl read the host's descriptors" },
	[TD_VERR_VERW] = { { "vmm.te.divergence.verr_verw", 0 }, "verr/verw check the host's descriptors at CPL 3" },
	[TD_CPUID] = { { "vmm.te.divergence.cpuid", 0 }, "cpuid reports the host's CPU, not the virtual one" },
	[TD_RDTSC] = { { "vmm.te.divergence.rdtsc", 0 }, "rdtsc reads the host's TSC, not the virtual clock" },
	[TD_IF_LOST] = { { "vmm.te.divergence.interrupts_lost", 0 }, "the kernel kept interrupts virtually off while one was pending: a popf meant to turn them on did nothing" },
};

/* Privileged instructions that trapped in native kernel code, by kind. */
enum te_trap { TT_CLI_STI, TT_HLT, TT_IO, TT_CR, TT_DESC_TABLE, TT_INVLPG, TT_MSR, TT_INT, TT_OTHER, TT_COUNT };
static stat_counter traps[TT_COUNT] = {
	[TT_CLI_STI] = { "vmm.te.trap.cli_sti", 0 }, [TT_HLT] = { "vmm.te.trap.hlt", 0 },
	[TT_IO] = { "vmm.te.trap.io", 0 }, [TT_CR] = { "vmm.te.trap.mov_cr", 0 },
	[TT_DESC_TABLE] = { "vmm.te.trap.descriptor_tables", 0 }, [TT_INVLPG] = { "vmm.te.trap.invlpg", 0 },
	[TT_MSR] = { "vmm.te.trap.msr", 0 }, [TT_INT] = { "vmm.te.trap.int", 0 },
	[TT_OTHER] = { "vmm.te.trap.other", 0 },
};

/* Since when (guest ns) every timer exit found the virtual IF clear with
 * an interrupt pending; 0: not so at the last one. */
static uint64_t if_off_since;

void te_init(void)
{
	if_off_since = 0;
	for (unsigned i = 0; i < TD_COUNT; i++)
		stats_register(&div[i].ctr);
	for (unsigned i = 0; i < TT_COUNT; i++)
		stats_register(&traps[i]);
}

bool te_insn_allowed(const struct bt_insn *in)
{
	if (in->far)
		return false;
	switch (in->mnem) {
	case M_IRET: case M_MOV_SREG_LOAD: case M_POP_SREG: case M_LDS: case M_LES: case M_LFS: case M_LGS:
	case M_LSS: case M_SYSENTER: case M_SYSEXIT: case M_SYSCALL: case M_SYSRET:
		return false;
	default:
		return true;
	}
}

void te_note_insn(const struct bt_insn *in)
{
	int k;
	switch (in->mnem) {
	case M_POPF: k = TD_POPF; break;
	case M_PUSHF: k = TD_PUSHF; break;
	case M_SGDT: k = TD_SGDT; break;
	case M_SIDT: k = TD_SIDT; break;
	case M_SLDT: k = TD_SLDT; break;
	case M_STR: k = TD_STR; break;
	case M_SMSW: k = TD_SMSW; break;
	case M_MOV_SREG_STORE: case M_PUSH_SREG: k = TD_SREG_READ; break;
	case M_LAR: case M_LSL: k = TD_LAR_LSL; break;
	case M_VERR: case M_VERW: k = TD_VERR_VERW; break;
	case M_CPUID: k = TD_CPUID; break;
	case M_RDTSC: case M_RDTSCP: k = TD_RDTSC; break;
	default: return;
	}
	stat_inc(&div[k].ctr);
}

void te_count_trap(uint32_t eip)
{
	uint8_t code[16];
	struct bt_insn in;
	bool truncated;
	unsigned n = 0;
	while (n < sizeof(code) && glin_fetch(vm.seg[SEG_CS].base + eip + n, &code[n], 1))
		n++;
	struct bt_fpu_save fs;
	bt_decoder_enter(&fs);
	bool ok = bt_decode(code, n, &in, &truncated);
	bt_decoder_leave(&fs);
	int k = TT_OTHER;
	if (ok) {
		switch (in.mnem) {
		case M_CLI: case M_STI: k = TT_CLI_STI; break;
		case M_HLT: k = TT_HLT; break;
		case M_IN: case M_OUT: case M_INS: case M_OUTS: k = TT_IO; break;
		case M_MOV_CR: case M_CLTS: case M_LMSW: k = TT_CR; break;
		case M_LGDT: case M_LIDT: case M_LLDT: case M_LTR: k = TT_DESC_TABLE; break;
		case M_INVLPG: k = TT_INVLPG; break;
		case M_RDMSR: case M_WRMSR: k = TT_MSR; break;
		case M_INT: case M_INT3: case M_INTO: k = TT_INT; break;
		default: break;
		}
	}
	stat_inc(&traps[k]);
}

bool te_interrupts_stuck(void)
{
	if (vm.ma->vif || !board_intr_pending()) {
		if_off_since = 0;
		return false;
	}
	uint64_t now = vclock_now(&vm.clock);
	if (!if_off_since) {
		if_off_since = now;
		return false;
	}
	if (now - if_off_since < TUNE_TE_IF_LOST_NS)
		return false;
	stat_inc(&div[TD_IF_LOST].ctr);
	vmm_logf("vmx: te: interrupts stayed virtually off for %u ms with one pending while kernel code ran "
		 "natively: a popf meant to enable them did nothing (it does not trap when deprivileged); stopping",
		 (uint32_t)((now - if_off_since) / 1000000u));
	vmm_dump_state();
	vmm_stop(EXIT_INTERNAL);
	return true;
}

void te_exit_report(void)
{
	if (vm.cfg.exec_mode != VMM_MODE_TE)
		return;
	for (unsigned i = 0; i < TD_COUNT; i++)
		if (div[i].ctr.value)
			vmm_logf("vmx: te: warning: %u x %s", (uint32_t)div[i].ctr.value, div[i].what);
}
