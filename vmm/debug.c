/* The debugger's side of the monitor (include/vmm_debug.h): stops at
 * breakpoints (CO_DEBUG callouts the translator puts where they are), after
 * single steps (translation's one-instruction mode, without the guest's
 * #DB), after accesses to watched memory (trace owners of the shadow MMU:
 * a write trace for write watchpoints, a read trace for read and access
 * ones), and where the VMX asks (debug_poll at device polls); the session
 * at the next world entry, where the VMX reads and changes the stopped guest.
 * Environment: monitor (freestanding), host only through vm.w. */
#include "vm.h"

#define MAX_POINTS 64
#define MAX_WATCH 8

static struct {
	struct vmm_dbg_stop why;
	/* Resuming at a breakpoint: its callout lets the instruction run once. */
	bool skip;
	uint32_t skip_lin;
	bool watch_hit, writing;
	enum vmm_dbg_reason watch_reason;
	uint32_t watch_addr;
	/* Pages with write watchpoints only are write-traced; a page with a
	 * read or access watchpoint is read-traced (which hears writes too). */
	int watch_owner, rwatch_owner;
	struct { uint32_t lin; uint8_t type; } bp[MAX_POINTS];
	unsigned nbp;
	struct { uint32_t lin, pa, len; uint8_t type; } watch[MAX_WATCH];
	unsigned nwatch;
} dbg;

static stat_counter stops = { "vmm.debug.stops", 0 };
/* Accesses that stopped the guest, by watchpoint kind, and accesses to a
 * watched page that no watchpoint of theirs covers (they go on silently). */
static stat_counter hit_write = { "vmm.debug.watch.write_hits", 0 };
static stat_counter hit_read = { "vmm.debug.watch.read_hits", 0 };
static stat_counter hit_access = { "vmm.debug.watch.access_hits", 0 };
static stat_counter same_page = { "vmm.debug.watch.same_page", 0 };

/* The guest (or the monitor for it) read or wrote [pa, pa+len) of a
 * watched page: the first watchpoint of a kind that access concerns and
 * whose bytes it overlaps stops the guest after the instruction. */
static void watch_access(uint32_t pa, uint32_t len, bool write)
{
	if (dbg.writing)
		return;
	for (unsigned i = 0; i < dbg.nwatch; i++) {
		uint8_t ty = dbg.watch[i].type;
		bool kind = ty == VMM_DBG_AWATCH || (ty == VMM_DBG_WWATCH) == write;
		if (!kind || pa >= dbg.watch[i].pa + dbg.watch[i].len || dbg.watch[i].pa >= pa + len)
			continue;
		if (!dbg.watch_hit) {
			dbg.watch_hit = true;
			dbg.watch_addr = dbg.watch[i].lin;
			dbg.watch_reason = ty == VMM_DBG_WWATCH ? VMM_DBG_WATCH :
					   ty == VMM_DBG_RWATCH ? VMM_DBG_READ_WATCH : VMM_DBG_ACCESS_WATCH;
			stat_inc(ty == VMM_DBG_WWATCH ? &hit_write : ty == VMM_DBG_RWATCH ? &hit_read : &hit_access);
		}
		vm.debugger.stop_req = true;
		return;
	}
	stat_inc(&same_page);
}

static void watch_written(void *opaque, uint32_t pa, uint32_t len)
{
	(void)opaque;
	watch_access(pa, len, true);
}

static void watch_read(void *opaque, uint32_t pa, uint32_t len)
{
	(void)opaque;
	watch_access(pa, len, false);
}

void dbg_init(void)
{
	dbg = (__typeof__(dbg)){ 0 };
	stats_register(&stops);
	stats_register(&hit_write);
	stats_register(&hit_read);
	stats_register(&hit_access);
	stats_register(&same_page);
	if (vm.cfg.debug) {
		dbg.watch_owner = mmu_trace_owner("watch", watch_written, (void *)0, false);
		dbg.rwatch_owner = mmu_read_trace_owner("rwatch", watch_written, watch_read, (void *)0);
	}
}

uint32_t dbg_stop(uint32_t eip, enum vmm_dbg_reason why)
{
	if (why == VMM_DBG_REQUEST && dbg.watch_hit)
		why = dbg.watch_reason;
	dbg.why = (struct vmm_dbg_stop){ .reason = why, .eip = eip, .addr = dbg.watch_addr };
	dbg.watch_hit = false;
	vm.debugger.stop_req = false;
	vm.debugger.stopped = true;
	vm.eip = eip;
	vm.ma->exit_reason = 1;
	stat_inc(&stops);
	return 0;
}

uint32_t dbg_breakpoint(uint32_t eip, uint32_t cont)
{
	uint32_t lin = vm.seg[SEG_CS].base + eip;
	if (dbg.skip && dbg.skip_lin == lin) {
		dbg.skip = false;
		return cont;
	}
	for (unsigned i = 0; i < dbg.nbp; i++)
		if (dbg.bp[i].lin == lin)
			return dbg_stop(eip, dbg.bp[i].type == VMM_DBG_HW ? VMM_DBG_HWBREAK : VMM_DBG_BREAK);
	return cont;
}

void dbg_poll(void)
{
	if (vm.cfg.debug && vm.w->debug_poll && vm.w->debug_poll())
		vm.debugger.stop_req = true;
}

bool dbg_session(void)
{
	if (!vm.debugger.stopped)
		return true;
	vm.debugger.stopped = false;
	enum vmm_dbg_resume how = vm.w->debug_stopped ? vm.w->debug_stopped(&dbg.why) : VMM_DBG_RUN_CONT;
	if (how == VMM_DBG_RUN_QUIT) {
		vmm_log("vmx: quit requested by the debugger");
		vmm_stop(EXIT_QUIT);
		return false;
	}
	vm.debugger.step = how == VMM_DBG_RUN_STEP;
	uint32_t lin = vm.seg[SEG_CS].base + vm.eip;
	dbg.skip = dbg_is_break(lin);
	dbg.skip_lin = lin;
	vmm_update_pending();
	return true;
}

/* ---- what the VMX may do meanwhile ---- */

void vmm_dbg_get_regs(uint32_t r[VMM_DBG_NREGS])
{
	for (int i = 0; i < 8; i++)
		r[i] = ma_reg(i);
	r[8] = vm.eip;
	r[9] = guest_eflags();
	static const int order[6] = { SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS };
	for (int i = 0; i < 6; i++)
		r[10 + i] = vm.seg[order[i]].sel;
}

int vmm_dbg_set_reg(unsigned n, uint32_t v)
{
	if (n < 8)
		ma_set_reg((int)n, v);
	else if (n == 8)
		vm.eip = v;
	else if (n == 9)
		set_guest_eflags(v, vm.cpl == 0);
	else if (n < VMM_DBG_NREGS) {
		uint32_t r[VMM_DBG_NREGS];
		vmm_dbg_get_regs(r);
		return r[n] == v ? 0 : -1;
	} else
		return -1;
	return 0;
}

/* The guest-physical page under linear `lin`, RAM only (a debugger's read
 * has no business with device registers). */
static bool dbg_phys(uint32_t lin, uint32_t *pa)
{
	uint32_t err;
	return mmu_translate(lin, 0, pa, &err) && *pa < vm.cfg.ram_size;
}

static bool dbg_access(uint32_t lin, uint8_t *buf, uint32_t len, bool write)
{
	while (len) {
		uint32_t n = 0x1000 - (lin & 0xfff), pa;
		if (n > len)
			n = len;
		if (!dbg_phys(lin, &pa) || pa + n > vm.cfg.ram_size)
			return false;
		if (write) {
			mmu_before_write(pa, n);
			if (mmu_write_allowed(pa))
				m_memcpy(vm.cfg.ram + pa, buf, n);
			dbg.writing = true;
			mmu_phys_written(pa, n);
			dbg.writing = false;
		} else {
			m_memcpy(buf, vm.cfg.ram + pa, n);
		}
		lin += n; buf += n; len -= n;
	}
	return true;
}

bool vmm_dbg_read(uint32_t lin, void *buf, uint32_t len) { return dbg_access(lin, buf, len, false); }
bool vmm_dbg_write(uint32_t lin, const void *buf, uint32_t len)
{
	return dbg_access(lin, (uint8_t *)(uintptr_t)buf, len, true);
}

bool dbg_is_break(uint32_t lin)
{
	for (unsigned i = 0; i < dbg.nbp; i++)
		if (dbg.bp[i].lin == lin)
			return true;
	return false;
}

/* The page's traces as its watchpoints want them (read first: the page is
 * never left untraced between the two). */
static void watch_page(uint32_t pa)
{
	bool w = false, r = false;
	for (unsigned i = 0; i < dbg.nwatch; i++)
		if (dbg.watch[i].pa >> 12 == pa >> 12) {
			if (dbg.watch[i].type == VMM_DBG_WWATCH)
				w = true;
			else
				r = true;
		}
	mmu_trace(pa >> 12, dbg.rwatch_owner, r);
	mmu_trace(pa >> 12, dbg.watch_owner, w && !r);
}

static bool is_watch(enum vmm_dbg_point type)
{
	return type == VMM_DBG_WWATCH || type == VMM_DBG_RWATCH || type == VMM_DBG_AWATCH;
}

int vmm_dbg_insert(enum vmm_dbg_point type, uint32_t addr, uint32_t len)
{
	if (type == VMM_DBG_SW || type == VMM_DBG_HW) {
		for (unsigned i = 0; i < dbg.nbp; i++)
			if (dbg.bp[i].lin == addr) {
				dbg.bp[i].type = (uint8_t)type;
				return 0;
			}
		if (dbg.nbp == MAX_POINTS || bt_break_set(addr, true) != 0)
			return -1;
		dbg.bp[dbg.nbp].lin = addr;
		dbg.bp[dbg.nbp++].type = (uint8_t)type;
		return 0;
	}
	if (!is_watch(type))
		return -2;
	uint32_t pa;
	if (dbg.watch_owner <= 0 || dbg.rwatch_owner <= 0 || dbg.nwatch == MAX_WATCH || !len ||
	    len > 0x1000 - (addr & 0xfff) || !dbg_phys(addr, &pa))
		return -1;
	for (unsigned i = 0; i < dbg.nwatch; i++)
		if (dbg.watch[i].lin == addr && dbg.watch[i].len == len && dbg.watch[i].type == type)
			return 0;    /* inserted again: one watchpoint still */
	dbg.watch[dbg.nwatch++] = (__typeof__(dbg.watch[0])){ .lin = addr, .pa = pa, .len = len, .type = (uint8_t)type };
	watch_page(pa);
	return 0;
}

int vmm_dbg_remove(enum vmm_dbg_point type, uint32_t addr, uint32_t len)
{
	if (type == VMM_DBG_SW || type == VMM_DBG_HW) {
		for (unsigned i = 0; i < dbg.nbp; i++)
			if (dbg.bp[i].lin == addr) {
				dbg.bp[i] = dbg.bp[--dbg.nbp];
				bt_break_set(addr, false);
				return 0;
			}
		return 0;
	}
	if (!is_watch(type))
		return -2;
	for (unsigned i = 0; i < dbg.nwatch; i++)
		if (dbg.watch[i].lin == addr && dbg.watch[i].len == len && dbg.watch[i].type == type) {
			uint32_t pa = dbg.watch[i].pa;
			dbg.watch[i] = dbg.watch[--dbg.nwatch];
			watch_page(pa);
			break;
		}
	return 0;
}

void vmm_dbg_remove_all(void)
{
	while (dbg.nbp)
		vmm_dbg_remove((enum vmm_dbg_point)dbg.bp[0].type, dbg.bp[0].lin, 1);
	while (dbg.nwatch)
		vmm_dbg_remove((enum vmm_dbg_point)dbg.watch[0].type, dbg.watch[0].lin, dbg.watch[0].len);
	dbg.skip = false;
}

void vmm_dbg_get_sysregs(struct vmm_dbg_sysregs *s)
{
	*s = (struct vmm_dbg_sysregs){ .cr0 = vm.cr0, .cr2 = vm.cr2, .cr3 = vm.cr3, .cr4 = vm.cr4,
				       .gdt_base = vm.gdt_base, .gdt_limit = vm.gdt_limit, .idt_base = vm.idt_base,
				       .idt_limit = vm.idt_limit, .cpl = (uint32_t)vm.cpl };
}

void vmm_dbg_flush_tc(void) { bt_flush(); }
