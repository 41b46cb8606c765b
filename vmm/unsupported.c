/* Guest behaviour the monitor does not implement: each kind stops the VM
 * (status 4) with one line naming it and the guest EIP, and counts in
 * vmm.unsupported.<kind>, so a guest never meets a silent stand-in fault.
 * Environment: monitor, host stack; reached from emulation and delivery. */
#include "vm.h"

static struct { stat_counter ctr; const char *what; } kinds[UNSUP_COUNT] = {
	[UNSUP_CALL_GATE] = { { "vmm.unsupported.call_gate", 0 },
		"call gates are not supported (a 16-bit gate, or one to an inner privilege level), eip" },
	[UNSUP_TASK_TSS16] = { { "vmm.unsupported.task_tss16", 0 },
		"hardware task switch to or from a 16-bit TSS is not supported, eip" },
	[UNSUP_V86] = { { "vmm.unsupported.v86", 0 },
		"virtual-8086 mode (iret to EFLAGS.VM=1) is not supported, eip" },
	[UNSUP_MONITOR_RANGE] = { { "vmm.unsupported.monitor_range", 0 },
		"reaches the monitor's linear range (0xffc00000..) through the guest's own segment, "
		"and vmx does not perform this instruction there, eip" },
	[UNSUP_DIRECT_SEGMENT] = { { "vmm.unsupported.direct_segment_load", 0 },
		"directly executed guest code loaded a segment register or far-jumped natively (the host's "
		"descriptors); -mode bt-all runs user code translated, eip" },
	[UNSUP_DIRECT_SYSCALL] = { { "vmm.unsupported.direct_syscall_insn", 0 },
		"directly executed guest code ran syscall/sysenter natively (ECX/EDX already lost to the host CPU, "
		"so no #UD can be delivered); -mode bt-all runs user code translated, eip" },
	[UNSUP_WORLD_ENTRY] = { { "vmm.unsupported.world_entry", 0 },
		"this world cannot enter guest code yet (the driver world, -world vmmon, initializes the "
		"monitor and translates the first block only; -world user runs guests), eip" },
	[UNSUP_PAGE0] = { { "vmm.unsupported.page0", 0 },
		"accesses linear page 0 (the host cannot map it), and vmx does not perform this instruction there, eip" },
	[UNSUP_READ_TRACED_WRITE] = { { "vmm.unsupported.read_watched_write", 0 },
		"accesses a page under a read or access watchpoint and writes memory, and vmx does not perform "
		"this instruction there (delete the watchpoint), eip" },
};

void unsupported_init(void)
{
	for (unsigned i = 0; i < UNSUP_COUNT; i++)
		stats_register(&kinds[i].ctr);
}

void vmm_unsupported(enum unsupported k, uint32_t eip)
{
	stat_inc(&kinds[k].ctr);
	vmm_fatal_eip(kinds[k].what, eip);
}

void vmm_unsupported_insn(enum unsupported k, const char *insn, uint32_t eip)
{
	char line[256];
	uint32_t n = 0;
	for (const char *p = insn; *p && n < 64; p++)
		line[n++] = *p;
	line[n++] = ' ';
	for (const char *p = kinds[k].what; *p && n < sizeof(line) - 1; p++)
		line[n++] = *p;
	line[n] = 0;
	stat_inc(&kinds[k].ctr);
	vmm_fatal_eip(line, eip);
}

void vmm_world_cannot_enter(void)
{
	vmm_unsupported(UNSUP_WORLD_ENTRY, vm.eip);
}
