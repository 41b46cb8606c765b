/* -profile's accounting in the monitor: a stack of time buckets charged
 * from rdtsc at every transition (callout, host trap, monitor entry,
 * translation, VMX request, idle wait), the cost and reason of every exit
 * stub and callout site, the cause of stores into translated code, and
 * occupancy samples at a fixed guest-time period, and per-PC time: the
 * cycles of each directly executed page (from its entry to the next trap)
 * and the host timer's samples of where translated and direct code ran. Rows: include/profile.h
 * (time_buckets.def, exit_reasons.def). Only called when vm.study is set.
 * Environment: monitor (also from the world's signal handler through
 * vmm_trap); host only through vm.w. */
#include "vm.h"
#include "study.h"
#include "profile.h"

#define DEPTH 16u

static struct prof_study *st;
static uint8_t stack[DEPTH];
static unsigned depth, over;     /* over: pushes past DEPTH (counted, not stacked) */
static uint64_t last;            /* the latest stamp */
static const struct world_ops *host;
static struct world_ops wrapped;
static struct prof_dpage *dcur;  /* the page direct time goes to now */

static inline uint64_t tsc(void) { return __builtin_ia32_rdtsc(); }

static uint64_t charge(void)
{
	uint64_t now = tsc();
	if (!last) {
		last = now;
		st->tsc_start = now;
		st->ns_start = host->now_ns();
	}
	st->time_cycles[stack[depth - 1]] += now - last;
	if (stack[depth - 1] == PROF_TB_DIRECT && dcur)
		dcur->cycles += now - last;
	last = now;
	st->stamps++;
	return now;
}

void study_push(unsigned b)
{
	charge();
	st->time_entries[b]++;
	if (depth < DEPTH)
		stack[depth++] = (uint8_t)b;
	else
		over++;
}

void study_running(unsigned b)
{
	charge();
	if (stack[0] != b)
		st->time_entries[b]++;
	stack[0] = (uint8_t)b;
}

void study_pop(void)
{
	charge();
	if (over)
		over--;
	else if (depth > 1)
		depth--;
}

void study_retag(unsigned b)
{
	charge();
	st->time_entries[b]++;
	stack[depth - 1] = (uint8_t)b;
}

void study_move(unsigned b, uint64_t cycles)
{
	/* The current bucket is charged its whole span at its next stamp:
	 * taking the part now is the same in the sum. A host trap in the
	 * middle of the translation took part of that span into its own
	 * bucket: never take more than the current one holds (it would wrap). */
	unsigned top = stack[depth - 1];
	uint64_t holds = st->time_cycles[top] + (tsc() - last);
	if (cycles > holds)
		cycles = holds;
	st->time_cycles[b] += cycles;
	st->time_cycles[top] -= cycles;
}

/* ---- direct execution per page ---- */

static struct prof_dpage *dpage(uint32_t lin, unsigned cpl)
{
	uint32_t page = lin >> 12;
	uint32_t h = ((page * 0x9e3779b1u) ^ cpl) & (PROF_MAX_DPAGES - 1);
	for (unsigned n = 0; n < 32; n++, h = (h + 1) & (PROF_MAX_DPAGES - 1)) {
		struct prof_dpage *d = &st->dpages[h];
		if (h == 0)
			continue;        /* slot 0 is the overflow's */
		if (d->used && d->page == page && d->cpl == cpl)
			return d;
		if (!d->used) {
			*d = (struct prof_dpage){ .page = page, .cpl = (uint8_t)cpl, .used = 1 };
			return d;
		}
	}
	st->ndpages_dropped++;
	st->dpages[0].used = 1;
	return &st->dpages[0];
}

void study_direct_enter(uint32_t lin)
{
	dcur = dpage(lin, vm.cpl);
	dcur->entries++;
}

/* Directly executed code has no instruction counter here: its counts are
 * estimated from the host's cycles per instruction on this loop (8
 * register instructions per iteration, the loop's own two included), the
 * best of a few runs. */
static void calibrate(void)
{
	uint64_t best = ~0ull;
	for (unsigned run = 0; run < 8; run++) {
		uint64_t t0 = tsc();
		__asm__ volatile("mov $1000, %%ecx\n"
				 "1: add %%eax, %%edx\n"
				 "xor %%edx, %%esi\n"
				 "lea 1(%%esi), %%edi\n"
				 "mov %%edi, %%eax\n"
				 "add $3, %%esi\n"
				 "sub %%eax, %%edx\n"
				 "dec %%ecx\n"
				 "jnz 1b\n" ::: "eax", "ecx", "edx", "esi", "edi", "cc");
		uint64_t d = tsc() - t0;
		if (d < best)
			best = d;
	}
	st->calib_insns = 8000;
	st->calib_cycles = best;
}

/* ---- occupancy, every sample_ns of guest time ---- */

static void sample(bool force)
{
	uint64_t now = vclock_now(&vm.clock);
	if (now < st->next_sample && !force)
		return;
	if (st->nsamples == PROF_MAX_SAMPLES) {
		for (uint32_t i = 0; i < PROF_MAX_SAMPLES / 2; i++)
			st->samples[i] = st->samples[2 * i];
		st->nsamples = PROF_MAX_SAMPLES / 2;
		st->sample_ns *= 2;
	}
	struct prof_sample *s = &st->samples[st->nsamples++];
	*s = (struct prof_sample){ .t_ns = now };
	bt_prof_occupancy(s);
	st->next_sample = now - now % st->sample_ns + st->sample_ns;
}

/* ---- VMX requests and idling, through the world ---- */

static void w_console_write(const uint8_t *buf, size_t n)
{
	study_push(PROF_TB_CONSOLE);
	host->console_write(buf, n);
	study_pop();
}

static size_t w_console_read(uint8_t *buf, size_t n, bool waiting, bool *quit)
{
	study_push(PROF_TB_CONSOLE);
	size_t r = host->console_read(buf, n, waiting, quit);
	study_pop();
	return r;
}

static void w_wait(uint64_t deadline)
{
	sample(false);
	study_push(PROF_TB_IDLE);
	host->wait(deadline);
	study_pop();
}

static int w_disk_read(unsigned d, uint64_t lba, void *buf, uint32_t count)
{
	study_push(PROF_TB_DISK);
	int r = host->disk_read(d, lba, buf, count);
	study_pop();
	return r;
}

static int w_disk_write(unsigned d, uint64_t lba, const void *buf, uint32_t count)
{
	study_push(PROF_TB_DISK);
	int r = host->disk_write(d, lba, buf, count);
	study_pop();
	return r;
}

static int w_disk_flush(unsigned d)
{
	study_push(PROF_TB_DISK);
	int r = host->disk_flush(d);
	study_pop();
	return r;
}

void study_init(void)
{
	struct prof_arena *a = bt_prof_arena();
	if (!a)
		return;
	st = &a->study;
	depth = 1;
	stack[0] = PROF_TB_TC;
	over = 0;
	last = 0;
	/* One stamp's cost: what the accounting adds per transition. */
	uint64_t t0 = tsc();
	for (unsigned i = 0; i < 1000; i++)
		(void)tsc();
	st->stamp_cycles = (tsc() - t0) / 1001;
	calibrate();
	dcur = (struct prof_dpage *)0;
	host = vm.w;
	wrapped = *host;
	wrapped.console_write = w_console_write;
	wrapped.console_read = w_console_read;
	wrapped.wait = w_wait;
	if (host->disk_read) wrapped.disk_read = w_disk_read;
	if (host->disk_write) wrapped.disk_write = w_disk_write;
	if (host->disk_flush) wrapped.disk_flush = w_disk_flush;
	vm.w = &wrapped;
	vm.study = true;
}

void study_finish(void)
{
	if (!st || !last)
		return;
	sample(true);            /* the state at the end, whatever the period */
	st->tsc_end = charge();
	st->ns_end = host->now_ns();
}

/* ---- callouts and traps ---- */

static unsigned callout_why(unsigned kind, uint32_t ret, uint32_t site, uint64_t irq0, uint64_t exc0)
{
	if (kind == CO_EXIT)
		return bt_prof_exit_why();
	if (kind == CO_IBL_MISS)
		return PROF_WHY_INDIRECT;
	if (kind == CO_IC_LEARN)
		return PROF_WHY_IC_FIRST;
	if (!ret || vm.stopped)
		return PROF_WHY_STOPPED;
	if (vs.irq_delivered.value != irq0)
		return PROF_WHY_INTERRUPT;
	if (vs.exc_delivered.value != exc0)
		return PROF_WHY_EXCEPTION;
	if (ret == site + CO_REC_SIZE)
		return PROF_WHY_RETURNS;
	switch (kind) {
	case CO_IRET: case CO_INT: case CO_SEG_LOAD:
		return PROF_WHY_MODE_CHANGE;
	case CO_UD: case CO_FAULT:
		return PROF_WHY_EXCEPTION;
	case CO_IRQ_CHECK:
		return PROF_WHY_INTERRUPT;
	default:
		return PROF_WHY_PRIVILEGED;
	}
}

uint32_t study_callout(struct mon_area *ma, uint32_t site, uint32_t (*dispatch)(struct mon_area *, uint32_t))
{
	const uint16_t *r = (const uint16_t *)(uintptr_t)site;
	unsigned kind = r[0], aux = r[1];
	uint32_t arg = *(const uint32_t *)(uintptr_t)(site + 4);
	struct bt_site_key k;
	if (kind == CO_EXIT || kind == CO_IC_LEARN)
		bt_prof_exit_key(aux == 1 ? ma->s_tmp : arg, &k);
	else if (kind == CO_IBL_MISS)
		bt_prof_site_key(0, ma->s_target, &k);
	else
		bt_prof_site_key(site, arg, &k);
	uint64_t irq0 = vs.irq_delivered.value, exc0 = vs.exc_delivered.value;
	bt_prof_set_at(kind == CO_EXIT || kind == CO_IBL_MISS || kind == CO_IC_LEARN ? 0 : arg);
	unsigned b = kind < CO_NKINDS ? PROF_TB_CALLOUT + kind : PROF_TB_MONITOR;
	study_push(b);
	uint64_t t0 = last;
	uint32_t ret = dispatch(ma, site);
	uint64_t t1 = tsc();
	study_pop();
	bt_prof_site_add(&k, kind, callout_why(kind, ret, site, irq0, exc0), t1 - t0);
	return ret;
}

enum trap_action study_trap(struct vmm_trap *t, enum trap_action (*dispatch)(struct vmm_trap *))
{
	unsigned b = (unsigned)t->kind < TRAP_NKINDS ? PROF_TB_TRAP + (unsigned)t->kind : PROF_TB_MONITOR;
	/* The timer's signals sample where the CPU was, before the handling
	 * can flush the TC or remap the page. */
	if (t->kind == TRAP_ALARM && t->where == TRAP_IN_TC)
		bt_prof_tc_sample(t->rip);
	if (t->kind == TRAP_ALARM && t->where == TRAP_IN_DIRECT) {
		st->direct_samples++;
		dpage(vm.seg[SEG_CS].base + t->rip, vm.cpl)->samples++;
	}
	study_push(b);
	enum trap_action act = dispatch(t);
	study_pop();
	/* Native code goes on where it stopped: its time from here on is
	 * that page's (entering another page faults first). */
	if (t->where == TRAP_IN_DIRECT && act == TRAP_RESUME)
		dcur = dpage(vm.seg[SEG_CS].base + vm.eip, vm.cpl);
	/* Not when the monitor was interrupted: it may be inside the clock. */
	if (t->kind == TRAP_ALARM && t->where != TRAP_IN_MONITOR)
		sample(false);
	return act;
}

void study_code_written(uint32_t pa, uint32_t len)
{
	bool mine = bt_prof_cause(PROF_CAUSE_SMC_STORE, vm.eip, pa);
	bt_notify_write(pa, len);
	if (mine)
		bt_prof_cause_end();
}
