/* The monitor's core: the virtual machine's state, its initialization and
 * reset to the multiboot entry state, guest memory access, device polling
 * and the virtual EFLAGS, plus the monitor's named counters. */
#include "vm.h"
#include "mmio.h"
#include "study.h"
#include "profile.h"
#include <stdarg.h>

struct vm vm;

#define C(n) { n, 0 }
struct vmm_stats vs = {
	.callout = {
#define CO_KIND(name, value, str) [CO_##name] = C("vmm.callout." str),
#include "callout_kinds.def"
#undef CO_KIND
	},
	.trap = {
#define TRAP_KIND(name, str) [TRAP_##name] = C("vmm.trap." str),
#include "trap_kinds.def"
#undef TRAP_KIND
	},
	.exc_delivered = C("vmm.exception.delivered"), .irq_delivered = C("vmm.irq.delivered"),
	.irq_async = C("vmm.irq.async"), .halts = C("vmm.hlt"), .halt_sleeps = C("vmm.hlt.sleeps"),
	.steps = C("vmm.singlestep"), .smc_write_faults = C("vmm.smc.write_faults"),
	.seg_loads = C("vmm.seg.loads"), .ldt_writes = C("vmm.seg.ldt_writes"),
	.emulated = C("vmm.emulated"), .monitor_range = C("mmu.monitor_range.emulated"),
	.traced_emulated = C("mmu.trace.write_emulated"), .page0_emulated = C("mmu.page0.emulated"),
	.adapt_reverted = C("vmm.adaptive.reverted"),
	.read_traced_emulated = C("mmu.trace.read_emulated"), .read_traced_stepped = C("mmu.trace.read_stepped"),
	.soft_limit_traps = C("vmm.soft_limits.traps"),
	.host_arms = C("vmm.clock.host_arms"), .fpu_switches = C("vmm.fpu.switches"),
};

#include "tunables.h"
#define POLL_NS TUNE_POLL_NS
#define BOOT_GDT_ADDR 0x9fc00u /* the EBDA: reserved in the memory map */

static char hexd(unsigned v) { return (char)(v < 10 ? '0' + v : 'a' + v - 10); }

void vmm_log(const char *s) { vm.w->log(s); }

/* printf for monitor diagnostics: %s %c %u %d %x %08x %0*x only. */
void vmm_logf(const char *fmt, ...)
{
	char buf[256];
	unsigned n = 0;
	va_list ap;
	va_start(ap, fmt);
	for (const char *f = fmt; *f && n < sizeof(buf) - 24; f++) {
		if (*f != '%') {
			buf[n++] = *f;
			continue;
		}
		f++;
		unsigned width = 0;
		bool zero = *f == '0';
		if (zero)
			f++;
		if (*f == '*') {
			width = (unsigned)va_arg(ap, int);
			f++;
		}
		while (*f >= '0' && *f <= '9')
			width = width * 10 + (unsigned)(*f++ - '0');
		char tmp[16];
		unsigned t = 0;
		if (*f == 's') {
			for (const char *a = va_arg(ap, const char *); *a && n < sizeof(buf) - 24; a++)
				buf[n++] = *a;
			continue;
		} else if (*f == 'c') {
			buf[n++] = (char)va_arg(ap, int);
			continue;
		} else if (*f == 'x' || *f == 'u' || *f == 'd') {
			uint32_t v = va_arg(ap, uint32_t);
			bool neg = *f == 'd' && (int32_t)v < 0;
			if (neg)
				v = 0u - v;
			unsigned base = *f == 'x' ? 16 : 10;
			do { tmp[t++] = hexd(v % base); v /= base; } while (v);
			if (neg)
				tmp[t++] = '-';
		} else {
			buf[n++] = '%';
			if (*f)
				buf[n++] = *f;
			continue;
		}
		while (t < width && t < sizeof(tmp))
			tmp[t++] = zero ? '0' : ' ';
		while (t)
			buf[n++] = tmp[--t];
	}
	va_end(ap);
	buf[n] = 0;
	vm.w->log(buf);
}

void vmm_logx(const char *prefix, uint32_t v)
{
	char buf[160];
	unsigned n = 0;
	while (*prefix && n < sizeof(buf) - 12)
		buf[n++] = *prefix++;
	buf[n++] = ' '; buf[n++] = '0'; buf[n++] = 'x';
	for (int i = 7; i >= 0; i--)
		buf[n++] = hexd((v >> (i * 4)) & 0xf);
	buf[n] = 0;
	vm.w->log(buf);
}

void vmm_stop(int status)
{
	if (!vm.stopped) {
		vm.stopped = true;
		vm.exit_status = status;
	}
	vm.ma->exit_reason = 1;
}

void vmm_fatal(const char *what, uint32_t arg)
{
	char buf[200] = "vmx: ";
	unsigned n = 5;
	while (*what && n < 150)
		buf[n++] = *what++;
	buf[n] = 0;
	vmm_logx(buf, arg);
	vmm_dump_state();
	vmm_stop(EXIT_INTERNAL);
}

/* Guest EIPs are offsets in CS: with a nonzero CS base, also say which
 * selector and where that is in the linear space. */
void vmm_fatal_eip(const char *what, uint32_t eip)
{
	const struct segcache *cs = &vm.seg[SEG_CS];
	if (cs->base)
		vmm_logf("vmx: %s 0x%08x (cs:eip 0x%04x:0x%08x, linear 0x%08x)", what, eip,
			 (uint32_t)cs->sel, eip, cs->base + eip);
	else
		vmm_logf("vmx: %s 0x%08x", what, eip);
	vmm_dump_state();
	vmm_stop(EXIT_INTERNAL);
}

bool vmm_stopped(int *st)
{
	if (vm.stopped && st)
		*st = vm.exit_status;
	return vm.stopped;
}

const struct prof_arena *vmm_profile(void)
{
	if (vm.study)
		study_finish();
	return bt_prof_sync();
}

void vmm_exit_report(void) { te_exit_report(); }

void vmm_dump_state(void)
{
	struct mon_area *ma = vm.ma;
	const struct segcache *cs = &vm.seg[SEG_CS];
	if (cs->base)
		vmm_logf("  eip 0x%08x (cs:eip 0x%04x:0x%08x, cs base 0x%08x, linear 0x%08x)", vm.eip,
			 (uint32_t)cs->sel, vm.eip, cs->base, cs->base + vm.eip);
	else
		vmm_logx("  eip", vm.eip);
	vmm_logx("  eax", ma->eax); vmm_logx("  ecx", ma->ecx); vmm_logx("  edx", ma->edx);
	vmm_logx("  ebx", ma->ebx); vmm_logx("  esp", ma->esp); vmm_logx("  ebp", ma->ebp);
	vmm_logx("  esi", ma->esi); vmm_logx("  edi", ma->edi);
	vmm_logx("  eflags", guest_eflags());
	vmm_logx("  cs", vm.seg[SEG_CS].sel); vmm_logx("  ss", vm.seg[SEG_SS].sel);
	vmm_logx("  ds", vm.seg[SEG_DS].sel);
	vmm_logx("  cr0", vm.cr0); vmm_logx("  cr2", vm.cr2); vmm_logx("  cr3", vm.cr3);
	vmm_logx("  gdt base", vm.gdt_base); vmm_logx("  gdt limit", vm.gdt_limit);
	vmm_logx("  idt base", vm.idt_base); vmm_logx("  idt limit", vm.idt_limit);
}

/* ---- guest memory ---- */

static stat_counter unassigned = { "mmu.mmio.unassigned", 0 };

/* One page's share of an access: its guest-physical address, or a fault. */
static bool lin_phys(uint32_t lin, bool write, bool user, uint32_t *pa)
{
	uint32_t err;
	if (!mmu_translate(lin, (write ? ACC_WRITE : 0) | (user ? ACC_USER : 0), pa, &err)) {
		vm.mem_fault_vec = EXC_PF;
		vm.pf_err = err;
		vm.pf_lin = lin;
		return false;
	}
	return true;
}

/* Bytes at guest-physical pa: RAM, device memory (in pieces of at most 4
 * bytes, never across the device's end), or nothing (reads zero as on
 * QEMU's PC, writes dropped, counted). Data reads of RAM are told to the
 * pages' read-trace owners; instruction fetches (`fetch`) are not. */
static void phys_access(uint32_t pa, uint8_t *buf, uint32_t len, bool write, bool fetch)
{
	uint8_t *p = mmu_phys_ptr(pa, len);
	if (p) {
		if (write) {
			/* ROM keeps its bytes; owners of traced pages hear of it. */
			mmu_before_write(pa, len);
			if (mmu_write_allowed(pa))
				m_memcpy(p, buf, len);
			mmu_phys_written(pa, len);
		} else {
			m_memcpy(buf, p, len);
			if (!fetch)
				mmu_phys_read(pa, len);
		}
		return;
	}
	while (len) {
		const struct mmio_region *r = mmio_find(pa);
		uint32_t n = len > 4 ? 4 : len;
		if (r && pa + n > r->base + r->len)
			n = r->base + r->len - pa;
		if (n == 3)
			n = 2;
		uint32_t v = 0;
		if (r && write) {
			for (uint32_t i = 0; i < n; i++)
				v |= (uint32_t)buf[i] << (8 * i);
			mmio_write(r, pa, n, v);
		} else if (r) {
			v = mmio_read(r, pa, n);
			for (uint32_t i = 0; i < n; i++)
				buf[i] = (uint8_t)(v >> (8 * i));
		} else {
			stat_inc(&unassigned);
			n = 1;
			if (!write)
				buf[0] = 0;
		}
		pa += n; buf += n; len -= n;
	}
}

/* Accesses are split at page boundaries; every page is checked before any
 * byte is written, as the CPU does for one instruction's access. */
static bool lin_access(uint32_t lin, uint8_t *buf, uint32_t len, bool write, bool user, bool fetch)
{
	uint32_t first = 0x1000 - (lin & 0xfff), pa0, pa1 = 0;
	if (first > len)
		first = len;
	if (len > 0x1000) {
		vm.mem_fault_vec = EXC_GP;
		return false;
	}
	if (!lin_phys(lin, write, user, &pa0))
		return false;
	if (first < len && !lin_phys(lin + first, write, user, &pa1))
		return false;
	phys_access(pa0, buf, first, write, fetch);
	if (first < len)
		phys_access(pa1, buf + first, len - first, write, fetch);
	return true;
}

bool glin_read(uint32_t lin, void *dst, uint32_t len)
{
	return lin_access(lin, dst, len, false, vm.cpl == 3, false);
}

bool glin_fetch(uint32_t lin, void *dst, uint32_t len)
{
	return lin_access(lin, dst, len, false, vm.cpl == 3, true);
}

bool glin_write(uint32_t lin, const void *src, uint32_t len)
{
	return lin_access(lin, (uint8_t *)(uintptr_t)src, len, true, vm.cpl == 3, false);
}

/* The CPU reads and writes the GDT, LDT, IDT and TSS as supervisor
 * accesses whatever the CPL (SDM 4.6.1, "implicit supervisor-mode
 * accesses"): kernels keep them in supervisor-only pages. */
bool glin_read_sys(uint32_t lin, void *dst, uint32_t len)
{
	return lin_access(lin, dst, len, false, false, false);
}

bool glin_write_sys(uint32_t lin, const void *src, uint32_t len)
{
	return lin_access(lin, (uint8_t *)(uintptr_t)src, len, true, false, false);
}

void vmm_mapping_changed(void)
{
	bt_mapping_changed();
}

/* ---- virtual EFLAGS ---- */
uint32_t guest_eflags(void)
{
	return (vm.ma->eflags & 0xcd5u) | vm.ma->veflags | vm.ma->vif | 2u;
}

void set_guest_eflags(uint32_t f, bool cpl0)
{
	(void)cpl0;
	vm.ma->eflags = (f & 0xcd5u) | 0x202u;
	vm.ma->vif = f & 0x200u;
	/* TF stays virtual: single-stepping is a translation mode. */
	vm.ma->veflags = (f & (0x00247000u | FL_TF)) | 2u;
}

/* The translation mode follows from the guest's state: CS base, CPL, TF,
 * and what CR0/CR4 say about FPU and SIMD instructions. */
void vmm_sync_mode(void)
{
	struct bt_mode m = {
		.cs_base = vm.seg[SEG_CS].base, .cpl = (uint8_t)vm.cpl,
		.tf = ((vm.ma->veflags & FL_TF) || vm.debugger.step) ? 1 : 0,
		.fpu = (uint8_t)(((vm.cr0 & 8) ? BT_FPU_TS : 0) | ((vm.cr0 & 4) ? BT_FPU_EM : 0) |
				 ((vm.cr0 & 2) ? BT_FPU_MP : 0) | ((vm.cr4 & 0x200) ? 0 : BT_FPU_NOSSE)),
		.single = vm.bt_single,
	};
	bt_set_mode(&m);
	vm.ma->ibl_off = bt_ibl_offset();
	/* User mode sees the shadow of user-accessible pages only, or the
	 * kernel's with its segments cut below the kernel. */
	if (mmu_set_user(vm.cpl == 3))
		bt_mapping_changed();
	seg_set_user_limit(mmu_user_limit());
}

/* ---- devices ---- */
static void debug_exit_check(void)
{
	if (vm.dbg.fired && !vm.stopped)
		vmm_stop((int)((vm.dbg.value << 1) | 1));
}

void vmm_update_pending(void)
{
	debug_exit_check();
	vm.ma->pending = (board_intr_pending() || vm.timer_deferred || vm.debugger.stop_req) ? 1 : 0;
}

/* The host timer: the clock's next run, or the console poll. Setting it is
 * a host call, so one already pending at least as early stays (waking
 * early costs one idle poll, and polling re-arms). */
static void arm_host_timer(void)
{
	uint64_t now = vm.w->now_ns();
	uint64_t dl = vclock_host_deadline(&vm.clock);
	/* With the virtual IF clear no device interrupt can be taken: the
	 * clock is looked at again when the guest sets IF (the pending flag
	 * sends sti/popf to the monitor), and the host timer only polls the
	 * console meanwhile. A host signal is microseconds the guest would
	 * see as an SMI, in the middle of its TSC calibration loops. */
	vm.timer_deferred = !vm.ma->vif && dl < now + POLL_NS;
	if (dl > now + POLL_NS || vm.timer_deferred)
		dl = now + POLL_NS;
	if (vm.timer_armed > now && vm.timer_armed <= dl)
		return;
	vm.timer_armed = dl;
	stat_inc(&vs.host_arms);
	vm.w->arm_timer(dl);
}

void vmm_timer_changed(void)
{
	vclock_timer_mod(&vm.pit_timer, pit_next_deadline(&vm.pit));
	if (board_has_lapic())
		vclock_timer_mod(&vm.lapic_timer, lapic_next_deadline(&vm.lapic));
	arm_host_timer();
}

uint64_t vmm_wake_deadline(void)
{
	return vm.timer_armed;
}

void vmm_poll_devices(void)
{
	vclock_run(&vm.clock);
	cmos_advance(&vm.cmos, vclock_now(&vm.clock));
	unsigned room = uart_rx_space(&vm.uart);
	if (room) {
		uint8_t buf[64];
		bool quit = false;
		size_t n = vm.w->console_read(buf, room < sizeof(buf) ? room : sizeof(buf),
					      vm.idle && uart_rx_waiting(&vm.uart), &quit);
		for (size_t i = 0; i < n; i++)
			uart_receive(&vm.uart, buf[i]);
		if (quit) {
			vmm_log("vmx: quit requested (Ctrl-A x)");
			vmm_stop(EXIT_QUIT);
		}
	}
	dbg_poll();
	arm_host_timer();
	vmm_update_pending();
}

/* ---- the translator's view of guest memory ---- */

/* Instruction fetch through the guest's page tables: to the end of the page
 * at most (the next one may be mapped elsewhere, or not at all). A fetch
 * fault is left in vm for the #PF the caller raises. */
static bool page_global(void *ctx, uint32_t lin)
{
	(void)ctx;
	return mmu_lin_global(lin);
}

static const uint8_t *code_ptr(void *ctx, uint32_t lin, uint32_t *avail, uint32_t *phys)
{
	(void)ctx;
	uint32_t pa, err;
	if (!mmu_translate(lin, ACC_FETCH | (vm.cpl == 3 ? ACC_USER : 0), &pa, &err)) {
		vm.mem_fault_vec = EXC_PF;
		vm.pf_err = err;
		vm.pf_lin = lin;
		return (const uint8_t *)0;
	}
	if (pa >= vm.cfg.ram_size) {
		vm.mem_fault_vec = EXC_GP;
		return (const uint8_t *)0;
	}
	*avail = mmu_paging() ? 0x1000 - (lin & 0xfff) : vm.cfg.ram_size - pa;
	*phys = pa;
	return vm.cfg.ram + pa;
}

static int code_owner;

static void trace_code_page(void *ctx, uint32_t ppn, bool on)
{
	(void)ctx;
	mmu_trace(ppn, code_owner, on);
}

/* The translator, as a trace owner: written code loses its translations. */
static void code_written(void *opaque, uint32_t pa, uint32_t len)
{
	(void)opaque;
	if (vm.study)
		study_code_written(pa, len);
	else
		bt_notify_write(pa, len);
}

static bool want_direct(void *ctx, uint32_t eip)
{
	(void)ctx;
	return exec_want_direct(eip);
}

/* The BIOS area is ROM on QEMU's PC (0xE0000-0xFFFFF): writes are dropped. */
#define ROM_START 0xE0000u
#define ROM_END   0x100000u

size_t vmm_mon_mem_size(void)
{
	return mmu_mem_size();
}

int vmm_init(const struct vmm_config *cfg)
{
	vm = (struct vm){ 0 };
	vm.cfg = *cfg;
	vm.w = cfg->world;
	vm.ma = mon_area();
	for (unsigned i = 0; i < CO_NKINDS; i++)
		if (vs.callout[i].name)   /* values no row has stay unnamed */
			stats_register(&vs.callout[i]);
	stat_counter *rest = &vs.trap[0];
	unsigned nrest = (unsigned)(sizeof(vs) - sizeof(vs.callout)) / sizeof(stat_counter);
	for (unsigned i = 0; i < nrest; i++)
		stats_register(&rest[i]);
	unsupported_init();
	task_init();

	struct mmu_config mc = { .ram = cfg->ram, .ram_size = cfg->ram_size, .w = vm.w,
				 .mem = cfg->mon_mem, .mem_size = cfg->mon_mem_size };
	if (mmu_init(&mc) != 0)
		return -1;
	code_owner = mmu_trace_owner("code", code_written, (void *)0, false);
	dbg_init();
	int rom_owner = mmu_trace_owner("rom", (mmu_trace_fn)0, (void *)0, true);
	for (uint32_t pa = ROM_START; pa < ROM_END && pa < cfg->ram_size; pa += 0x1000)
		mmu_trace(pa >> 12, rom_owner, true);

	if (board_pc_init(cfg) != 0)
		return -1;
	stats_register(&unassigned);

	struct bt_env env = {
		.code_ptr = code_ptr, .trace_code_page = trace_code_page, .page_global = page_global,
		.ctx = (void *)0,
		.ram_pages = cfg->ram_size >> 12,
		.tc_base = MON_BASE + MON_OFF_TC, .tc_size = cfg->tc_size,
		.ibl_table = MON_BASE + MON_OFF_IBLTAB,
		.gate_callout = cfg->gate_callout, .gate_ibl = cfg->gate_ibl, .gate_ibl_miss = cfg->gate_ibl_miss,
		.gate_exit_shared = cfg->gate_exit_shared, .gate_learn_shared = cfg->gate_learn_shared,
		.meta = cfg->meta, .meta_size = cfg->meta_size, .max_tu_insns = TUNE_TU_MAX_INSNS,
		.soft_limits = cfg->soft_limits,
		.prof = cfg->prof, .prof_size = cfg->prof_size,
		.on_translate = vmm_fragment_hook(cfg),
		.want_direct = cfg->exec_mode == VMM_MODE_BT_ALL || cfg->soft_limits ? (bool (*)(void *, uint32_t))0 :
			       want_direct,
	};
	if (bt_init(&env) != 0)
		return -1;
	if (cfg->prof)
		study_init();
	seg_init();
	direct_init();
	te_init();
	emulate_init();

	struct mon_area *ma = vm.ma;
	bt_host_fsbase = ma->host_fsbase;
	ma->monstk_esp = MON_BASE + MON_OFF_STACK_TOP;
	ma->monstk_ss = cfg->sel_flat;
	ma->resume_cs = cfg->sel_code32;
	ma->mongs_sel = cfg->sel_mongs;
	return 0;
}

void vmm_reset(const struct vmm_boot *b)
{
	struct mon_area *ma = vm.ma;
	ma->eax = b->eax; ma->ebx = b->ebx; ma->esi = b->esi;
	ma->ecx = ma->edx = ma->edi = ma->ebp = 0;
	ma->esp = 0x7c00;   /* undefined by multiboot; guests set their own */
	set_guest_eflags(0x2, true);
	vm.cr0 = 0x11;      /* PE | ET */
	mmu_set_cr0(vm.cr0);
	vm.cpl = 0;
	/* Neither protocol defines GDTR, but each loader leaves one its kernels
	 * come to rely on, and it sits in the reserved EBDA. QEMU's multiboot
	 * loader: flat code at 0x08 and data at 0x10 (16-bit ones at 0x18/0x20).
	 * The Linux 32-bit boot protocol: __BOOT_CS 0x10 and __BOOT_DS 0x18. */
	static const uint32_t mb_gdt[10] = {
		0, 0,
		0x0000ffffu, 0x00cf9a00u,          /* 0x08: 32-bit code, flat */
		0x0000ffffu, 0x00cf9200u,          /* 0x10: 32-bit data, flat */
		0x0000ffffu, 0x00009a00u,          /* 0x18: 16-bit code, 64 KiB */
		0x0000ffffu, 0x00009200u,          /* 0x20: 16-bit data, 64 KiB */
	};
	static const uint32_t linux_gdt[8] = {
		0, 0, 0, 0,
		0x0000ffffu, 0x00cf9a00u,          /* 0x10: __BOOT_CS */
		0x0000ffffu, 0x00cf9200u,          /* 0x18: __BOOT_DS */
	};
	bool lnx = b->proto == VMM_BOOT_LINUX;
	uint16_t cs = lnx ? 0x10 : 0x08, ds = lnx ? 0x18 : 0x10;
	if (lnx)
		glin_write(BOOT_GDT_ADDR, linux_gdt, sizeof(linux_gdt));
	else
		glin_write(BOOT_GDT_ADDR, mb_gdt, sizeof(mb_gdt));
	vm.gdt_base = BOOT_GDT_ADDR;
	vm.gdt_limit = (lnx ? sizeof(linux_gdt) : sizeof(mb_gdt)) - 1;
	vm.idt_base = 0; vm.idt_limit = 0x3ff;
	seg_set_flat(SEG_CS, cs, true);
	seg_set_flat(SEG_SS, ds, false);
	seg_set_flat(SEG_DS, ds, false);
	seg_set_flat(SEG_ES, ds, false);
	seg_set_flat(SEG_FS, ds, false);
	seg_set_flat(SEG_GS, ds, false);
	seg_publish();
	vmm_sync_mode();
	vm.eip = b->eip;

	board_pc_reset(b);
	if (vm.cfg.debug_wait)
		dbg_stop(b->eip, VMM_DBG_START);
}

bool vmm_prepare_entry(void)
{
	if (vm.stopped)
		return false;
	if (vm.study)
		study_push(PROF_TB_MONITOR);
	vmm_poll_devices();
	if (vm.debugger.stopped && !dbg_session())
		return false;
	uint32_t tc = enter_eip(vm.eip);
	if (vm.study)
		study_pop();
	if (!tc)
		return false;
	vm.ma->resume_eip = tc;
	return true;
}
