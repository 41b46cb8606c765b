/* Debugger breakpoints in translated code: a short table of guest linear
 * addresses. Translation ends a block before one and starts the block at
 * one with a CO_DEBUG callout, so no guest byte is changed; setting or
 * clearing one drops the fragments whose guest bytes cover it.
 * Environment: monitor (freestanding), called from translation and from
 * the monitor's debugger interface. */
#include "bt_internal.h"

#define BT_MAX_BREAKS 64
static uint32_t breaks[BT_MAX_BREAKS];
static unsigned nbreaks;

bool bt_is_break(uint32_t lin)
{
	for (unsigned i = 0; i < nbreaks; i++)
		if (breaks[i] == lin)
			return true;
	return false;
}

/* Fragments built before the change translated `lin` the other way. */
static void drop_covering(uint32_t lin)
{
	for (uint32_t i = 1; i < bt.nccf; i++) {
		struct ccf *c = &bt.ccfs[i];
		if (!c->dead && lin - c->lin < c->glen && bt_kill_ccf(i))
			stat_inc(&bts.invalidate_break);
	}
}

int bt_break_set(uint32_t lin, bool on)
{
	unsigned i = 0;
	while (i < nbreaks && breaks[i] != lin)
		i++;
	if (on == (i < nbreaks))
		return 0;
	if (on) {
		if (nbreaks == BT_MAX_BREAKS)
			return -1;
		breaks[nbreaks++] = lin;
	} else {
		breaks[i] = breaks[--nbreaks];
	}
	drop_covering(lin);
	return 0;
}
