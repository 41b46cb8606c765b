/* The VMX's answer to the monitor's debug hooks: which of the gdb stub and
 * the live monitor asked for a stop, and which of them gets the stopped
 * guest (a breakpoint, step or watchpoint is gdb's; a command line is the
 * live monitor's). A stop neither wanted resumes the way the guest ran.
 * Environment: host code, from the world's debug hooks. */
#include "vmx.h"

static bool gdb_on, mon_on, gdb_asked, mon_asked;
static enum vmm_dbg_resume last = VMM_DBG_RUN_CONT;

void debugger_enable(bool gdb, bool monitor)
{
	gdb_on = gdb;
	mon_on = monitor;
}

bool debugger_poll(void)
{
	bool g = gdb_on && gdb_poll();
	bool m = mon_on && livemon_poll();
	gdb_asked |= g;
	mon_asked |= m;
	return g || m;
}

enum vmm_dbg_resume debugger_stopped(const struct vmm_dbg_stop *why)
{
	bool requested = why->reason == VMM_DBG_REQUEST;
	bool for_gdb = gdb_on && (!requested || gdb_asked);
	/* Without gdb, -S waits for the live monitor's cont. */
	bool for_mon = mon_on && (mon_asked || (why->reason == VMM_DBG_START && !gdb_on));
	bool gdb_asked_now = gdb_asked;
	gdb_asked = mon_asked = false;
	enum vmm_dbg_resume how = last;
	if (for_mon) {
		how = livemon_session(why, why->reason == VMM_DBG_START && !gdb_on);
		if (how == VMM_DBG_RUN_QUIT)
			return how;
	}
	if (for_gdb) {
		how = gdb_session(why, gdb_asked_now);
		last = how;
	}
	return how;
}
