/* The driver world's implementation of include/world.h, inside the monitor
 * image: page mappings are writes to the monitor's own page tables (pt.c),
 * time is the TSC scaled as the host says, and everything else is a
 * request to the VMX, carried across a world switch in the cross page
 * (xpage.h). The timer is a deadline the host side watches: once passed,
 * the monitor takes it as the user-level world takes SIGALRM, on the frame
 * of the host interrupt that found it (guest code: TRAP_IN_TC) or where the
 * monitor itself was (TRAP_IN_MONITOR); the idle guest's wait is a sleep
 * in the host. dw_main is the image's command loop: the host side switches in
 * with a command, the monitor answers with a request and switches out; a
 * request in the middle of a command returns here with the host's answer.
 * Environment: monitor (driver world): its own address space, stack and
 * descriptor tables, no host services but the switch; interrupts off
 * (gate.S clears the IF a call gate keeps; only _SPIN turns them on). */
#include <stdint.h>
#include <stdbool.h>
#include "world.h"
#include "stats.h"
#include "mon_area.h"
#include "xpage.h"
#include "pt.h"

static struct vmmon_xpage *xp;
/* CR4.SMAP: the monitor runs with EFLAGS.AC set (the monitor area is
 * made of user pages); gate.S tests it too. */
uint8_t dw_smap;

static void smap_open(void)
{
	if (dw_smap)
		__asm__ volatile("stac" ::: "cc");
}

/* gate.S (hidden: the image is linked whole, nothing goes through a GOT) */
#pragma GCC visibility push(hidden)
void dw_guest_trap_entry(void);
int dw_guest_trap(uint64_t *f, uint64_t cr2);
uint32_t dw_enter_guest(void);
void dw_gate_callout(void);
void dw_frame_entry(void);
void dw_monitor_frame(uint64_t *f);
extern const char dw_blob_start[], dw_blob_end[], dw_gate_ibl[], dw_gate_ibl_miss[],
	dw_gate_exit_shared[], dw_gate_learn_shared[], dw_blob_direct[];
/* gate.S's HIDE_MONITOR and SHOW_MONITOR: the cross page's gate_hidden
 * and the call gate's descriptor in the GDT copy. */
__attribute__((visibility("hidden"))) uint32_t *dw_gate_hidden;
__attribute__((visibility("hidden"))) uint8_t *dw_gate_desc;
#pragma GCC visibility pop
#define DW_STUB(sym) (MON_BASE + MON_OFF_STUBS + (uint32_t)((sym) - dw_blob_start))
static uint64_t timer_deadline;   /* arm_timer's last, also after the host took it */
/* Alarms taken on guest code's frame and where the monitor ran (its own
 * switch outs: console bytes, waits; or interrupted), each with the time
 * from its deadline to the monitor taking it (us, summed, and the most). */
static stat_counter alarm_tc = { "dworld.alarm.tc", 0 };
static stat_counter alarm_tc_late = { "dworld.alarm.tc_late_us", 0 };
static stat_counter alarm_tc_late_max = { "dworld.alarm.tc_late_us_max", 0 };
static stat_counter alarm_monitor = { "dworld.alarm.monitor", 0 };
static stat_counter alarm_monitor_late = { "dworld.alarm.monitor_late_us", 0 };
static stat_counter alarm_monitor_late_max = { "dworld.alarm.monitor_late_us_max", 0 };
static stat_counter waits = { "dworld.waits", 0 };
static bool inited;

/* Set by the linker script: where the heap starts after the image. */
extern char __dw_image_end[];

static uint64_t now_ns(void);

/* An alarm taken: how late after its deadline. */
static void alarm_count(stat_counter *n, stat_counter *sum, stat_counter *max)
{
	uint64_t now = now_ns();
	uint64_t late = now > timer_deadline ? (now - timer_deadline) / 1000 : 0;
	stat_inc(n);
	sum->value += late;
	if (late > max->value)
		max->value = late;
}

/* A host event where the monitor itself ran, as the user-level world's
 * signals inside the monitor: the alarm is a note for its next check, a
 * single step that followed guest code through the call gate ends there.
 * Answers whether to go on stepping. */
static bool monitor_trap(enum trap_kind k, uint32_t trapno, uint32_t rip)
{
	if (!inited)
		return false;
	if (k == TRAP_ALARM)
		alarm_count(&alarm_monitor, &alarm_monitor_late, &alarm_monitor_late_max);
	struct vmm_trap t = { .kind = k, .trapno = trapno, .rip = rip, .where = TRAP_IN_MONITOR };
	(void)vmm_trap(&t);
	return t.step;
}

/* A saved frame, in the order of the module's stubs (switch.S idt_common). */
enum { F_GS, F_FS, F_ES, F_DS, F_R15, F_RBP = 12, F_RDI, F_RSI, F_RDX, F_RCX, F_RBX, F_RAX,
       F_VEC, F_ERR, F_RIP, F_CS, F_RFLAGS, F_RSP, F_SS };

/* A debug trap's status bits stay in DR6 until written: the host's next
 * #DB would read this one's single step as its own. */
static void dr6_clear(void)
{
	__asm__ volatile("mov %0, %%dr6" :: "r"(0xffff0ff0ull));
}

/* gate.S dw_frame_entry at CPL 0: the host's alarm or a debug trap. */
void dw_monitor_frame(uint64_t *f)
{
	smap_open();
	bool alarm = f[F_VEC] == DW_VEC_ALARM;
	if (!alarm)
		dr6_clear();
	bool step = monitor_trap(alarm ? TRAP_ALARM : TRAP_TRAP, alarm ? 0xff : (uint32_t)f[F_VEC], (uint32_t)f[F_RIP]);
	f[F_RFLAGS] = step ? f[F_RFLAGS] | 0x100 : f[F_RFLAGS] & ~0x100ull;
}

/* The switch back to the host; returns when the host switches in again. */
static void to_host(uint32_t req)
{
	/* Interrupts are off (a host interrupt between this store and the
	 * switch would leave its own request, VMMON_REQ_IRQ, in its place). */
	xp->req = req;
	((void (*)(struct vmmon_xpage *))(uintptr_t)xp->to_host)(xp);
	smap_open();   /* the switch in comes with the host's flags */
	if (xp->alarm) {
		xp->alarm = 0;
		(void)monitor_trap(TRAP_ALARM, 0xff, 0);
	}
}

static void copy_bytes(uint8_t *d, const uint8_t *s, size_t n)
{
	while (n--)
		*d++ = *s++;
}

/* The monitor's LDT: descriptors in the hardware's format, written as the
 * monitor shadows the guest's segments. Not loaded yet (nothing enters
 * guest code in this world): the guest entry path will point an LDT
 * descriptor of the GDT copy at it. */
__attribute__((visibility("hidden"))) uint64_t dw_ldt[LDT_ENTRIES];   /* (gate.S hides the monitor's own slots) */
static uint32_t dw_ldt_limit[LDT_ENTRIES];   /* each slot's limit as asked, for verify_ldt */
static stat_counter ldt_verified = { "dworld.ldt.verified", 0 };
static stat_counter ldt_mismatch = { "dworld.ldt.mismatch", 0 };

static int w_set_ldt(unsigned slot, uint32_t base, uint32_t limit, unsigned flags)
{
	if (slot >= LDT_ENTRIES)
		return -1;
	dw_ldt_limit[slot] = limit;
	bool gran = limit > 0xfffff;
	uint32_t lim = gran ? limit >> 12 : limit;
	/* Type: code (execute, readable) or data (writable, expand-down);
	 * DPL 3 as the user-level world's modify_ldt gives. */
	uint64_t type = (flags & WD_CODE) ? 0x8 | ((flags & WD_READABLE) ? 0x2 : 0) :
		((flags & WD_WRITABLE) ? 0x2 : 0) | ((flags & WD_EXPDOWN) ? 0x4 : 0);
	uint64_t d = (lim & 0xffffu) | (uint64_t)(base & 0xffffffu) << 16 | (type | 0x10 | 0x60) << 40 |
		((flags & WD_PRESENT) ? 1ull << 47 : 0) | (uint64_t)((lim >> 16) & 0xf) << 48 |
		((flags & WD_32) ? 1ull << 54 : 0) | (gran ? 1ull << 55 : 0) | (uint64_t)(base >> 24) << 56;
	dw_ldt[slot] = d | 1ull << 40;   /* accessed: the CPU need not write it */
	return 0;
}

static uint64_t now_ns(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	unsigned __int128 t = ((uint64_t)hi << 32 | lo);
	return (uint64_t)((t * xp->ns_mult) >> xp->ns_shift);
}

/* None asked for: the console poll's period, as the user-level world. */
static void arm_timer(uint64_t deadline_ns)
{
	if (deadline_ns == UINT64_MAX)
		deadline_ns = now_ns() + 10000000ull;
	timer_deadline = deadline_ns;
	xp->deadline_ns = deadline_ns;
}

static void console_write(const uint8_t *buf, size_t n)
{
	while (n) {
		size_t k = n < sizeof(xp->data) ? n : sizeof(xp->data);
		copy_bytes(xp->data, buf, k);
		xp->len = (uint32_t)k;
		to_host(VMMON_REQ_CONSOLE);
		buf += k;
		n -= k;
	}
}

/* A host service: the request with its arguments, and the VMX's answer
 * in xp->arg (and xp->data, xp->len) when the switch in returns. */
static void ask_host(uint32_t req, uint64_t a0, uint64_t a1, uint64_t a2)
{
	xp->arg[0] = a0;
	xp->arg[1] = a1;
	xp->arg[2] = a2;
	xp->arg[3] = 0;
	to_host(req);
}

/* The console's input, as the VMX's terminal (or stdin) has it. */
static size_t console_read(uint8_t *buf, size_t n, bool waiting, bool *quit)
{
	if (n > sizeof(xp->data))
		n = sizeof(xp->data);
	xp->len = 0;
	ask_host(VMMON_REQ_CONSOLE_IN, n, waiting, 0);
	size_t got = xp->arg[0] <= n && xp->len >= xp->arg[0] ? (size_t)xp->arg[0] : 0;
	copy_bytes(buf, xp->data, got);
	*quit = xp->arg[1] != 0;
	return got;
}

/* The host sleeps (VMMON_REQ_WAIT) until the deadline or a signal for the
 * VMX; the monitor looks again either way. */
static void wait_until(uint64_t deadline_ns)
{
	if (deadline_ns <= now_ns())
		return;
	stat_inc(&waits);
	xp->wait_ns = deadline_ns;
	to_host(VMMON_REQ_WAIT);
}

static void log_line(const char *line)
{
	size_t n = 0;
	while (line[n] && n < sizeof(xp->data) - 1)
		n++;
	copy_bytes(xp->data, (const uint8_t *)line, n);
	xp->data[n] = 0;
	xp->len = (uint32_t)n;
	to_host(VMMON_REQ_LOG);
}

static uint64_t wall_seconds(void)
{
	xp->len = 0;
	ask_host(VMMON_REQ_WALL, 0, 0, 0);
	return xp->arg[0];
}

/* The VMX's drives (-drive), through the cross page's data: as many
 * sectors per request as it holds. */
#define DISK_CHUNK (sizeof(((struct vmmon_xpage *)0)->data) / 512)

static int disk_read(unsigned d, uint64_t lba, void *buf, uint32_t count)
{
	for (uint8_t *p = buf; count;) {
		uint32_t k = count < DISK_CHUNK ? count : (uint32_t)DISK_CHUNK;
		xp->len = 0;
		ask_host(VMMON_REQ_DISK, VMMON_DISK_READ | d << 8, lba, k);
		if (xp->arg[0] != 0 || xp->len != k * 512)
			return -1;
		copy_bytes(p, xp->data, k * 512);
		p += k * 512;
		lba += k;
		count -= k;
	}
	return 0;
}

static int disk_write(unsigned d, uint64_t lba, const void *buf, uint32_t count)
{
	for (const uint8_t *p = buf; count;) {
		uint32_t k = count < DISK_CHUNK ? count : (uint32_t)DISK_CHUNK;
		copy_bytes(xp->data, p, k * 512);
		xp->len = k * 512;
		ask_host(VMMON_REQ_DISK, VMMON_DISK_WRITE | d << 8, lba, k);
		if (xp->arg[0] != 0)
			return -1;
		p += k * 512;
		lba += k;
		count -= k;
	}
	return 0;
}

static int disk_flush(unsigned d)
{
	xp->len = 0;
	ask_host(VMMON_REQ_DISK, VMMON_DISK_FLUSH | d << 8, 0, 0);
	return xp->arg[0] != 0 ? -1 : 0;
}

static const struct world_ops dworld_ops = {
	.set_ldt = w_set_ldt, .map = dw_pt_map, .unmap = dw_pt_unmap, .protect = dw_pt_protect,
	.now_ns = now_ns, .arm_timer = arm_timer, .console_write = console_write,
	.console_read = console_read, .wait = wait_until, .log = log_line,
	.wall_seconds = wall_seconds, .disk_read = disk_read, .disk_write = disk_write,
	.disk_flush = disk_flush, .fragment_created = 0,
};

/* The monitor's memory after the image: its tables, then the translator's
 * arena up to the monitor area (DW_AREA_PAGES, mapped at MON_BASE by the
 * module), then the stack (the last DW_STACK_SIZE bytes). */

static int64_t init_monitor(void)
{
	uintptr_t heap = ((uintptr_t)__dw_image_end + 4095) & ~(uintptr_t)4095;
	uintptr_t stack = DW_IMAGE_VA + xp->mon_size - DW_STACK_SIZE - (uintptr_t)DW_AREA_PAGES * 4096;
	size_t mon_mem_size = vmm_mon_mem_size();
	uint64_t a = xp->arg[1];
	if (inited || xp->mon_size < (uint64_t)DW_AREA_FIRST_MIN * 4096 || heap + mon_mem_size + (4u << 20) > stack)
		return -1;   /* twice, or too little monitor memory for the tables and 4 MiB of metadata */
	if (xp->arg[0] < 4096 || xp->arg[0] > MON_TC_MAX || VMMON_INIT_MACHINE(a) > VMM_MACHINE_PC ||
	    VMMON_INIT_MODE(a) > VMM_MODE_TE || (a >> 32))
		return -1;
	/* The drives: their sizes (the VMX opened them), or none. */
	struct vmmon_init_data drives = { 0 };
	if (xp->len != 0 && xp->len != sizeof(drives))
		return -1;
	copy_bytes((uint8_t *)&drives, xp->data, xp->len);
	dw_pt.pte = (uint64_t *)(uintptr_t)DW_PTE_VA;
	dw_pt.ram_pa = (const uint64_t *)(uintptr_t)DW_RAMPFN_VA;
	dw_pt.ram_pages = (uint32_t)(xp->ram_size >> 12);
	dw_pt.user_limit = MON_BASE >> 12;
	struct vmm_config cfg = {
		.ram = (uint8_t *)(uintptr_t)DW_RAM_VA, .ram_size = (uint32_t)xp->ram_size,
		.mon_mem = (void *)heap, .mon_mem_size = mon_mem_size,
		.meta = (void *)(heap + mon_mem_size), .meta_size = stack - heap - mon_mem_size,
		.tc_size = (uint32_t)xp->arg[0], .machine = (enum vmm_machine)VMMON_INIT_MACHINE(a),
		.exec_mode = (enum vmm_exec_mode)VMMON_INIT_MODE(a), .testdev = VMMON_INIT_TESTDEV(a),
		.trace = VMMON_INIT_TRACE(a), .soft_limits = VMMON_INIT_SOFTLIM(a),
		.sel_code32 = LDT_SEL(LDT_MON_CODE32), .sel_flat = LDT_SEL(LDT_MON_FLAT),
		.sel_mongs = LDT_SEL(LDT_MON_GS),
		/* The far calls go through the call gate (their offset is not
		 * used); the 32-bit stubs are copied below. Directly executed
		 * code is entered by gate.S's dw_resume_direct when the answer
		 * is the marker gate_direct. */
		.gate_callout = DW_STUB(dw_blob_start), .gate_ibl = DW_STUB(dw_gate_ibl),
		.gate_ibl_miss = DW_STUB(dw_gate_ibl_miss), .gate_exit_shared = DW_STUB(dw_gate_exit_shared),
		.gate_learn_shared = DW_STUB(dw_gate_learn_shared), .gate_direct = DW_STUB(dw_blob_direct),
		.world = &dworld_ops,
	};
	for (unsigned i = 0; i < 4; i++) {
		cfg.disk_sectors[i] = drives.disk_sectors[i];
		cfg.disk_readonly[i] = drives.disk_readonly[i] != 0;
	}
	if (w_set_ldt(LDT_MON_CODE32, 0, 0xffffffffu, WD_CODE | WD_READABLE | WD_32 | WD_PRESENT) ||
	    w_set_ldt(LDT_MON_FLAT, 0, 0xffffffffu, WD_WRITABLE | WD_32 | WD_PRESENT) ||
	    w_set_ldt(LDT_MON_GS, MON_BASE, MON_SIZE - 1, WD_WRITABLE | WD_32 | WD_PRESENT))
		return -1;
	struct mon_area *ma = (struct mon_area *)(uintptr_t)MON_BASE;
	ma->self = MON_BASE;
	copy_bytes((uint8_t *)(uintptr_t)(MON_BASE + MON_OFF_STUBS), (const uint8_t *)dw_blob_start,
		   (size_t)(dw_blob_end - dw_blob_start));
	xp->gate_entry = (uintptr_t)dw_gate_callout;
	dw_gate_hidden = &xp->gate_hidden;
	dw_gate_desc = (uint8_t *)xp + DW_GDT_OFFSET + DW_GDT_GATE_OFFSET;
	xp->guest_trap = (uintptr_t)dw_guest_trap_entry;
	int r = vmm_init(&cfg);
	inited = r == 0;
	if (inited) {
		stats_register(&ldt_verified);
		stats_register(&ldt_mismatch);
		stats_register(&alarm_tc);
		stats_register(&alarm_tc_late);
		stats_register(&alarm_tc_late_max);
		stats_register(&alarm_monitor);
		stats_register(&alarm_monitor_late);
		stats_register(&alarm_monitor_late_max);
		stats_register(&waits);
		xp->mon_trap = (uintptr_t)dw_frame_entry;
	}
	return r;
}

/* vmm_reset with the boot loader's registers; a Linux command line (for
 * fw_cfg: the VMX's loader has put the boot protocol's copy in guest RAM)
 * comes as the command's data. */
static char cmdline[sizeof(((struct vmmon_xpage *)0)->data) + 1];

static int64_t reset_guest(void)
{
	if (!inited || (xp->arg[0] != VMM_BOOT_MULTIBOOT && xp->arg[0] != VMM_BOOT_LINUX) ||
	    (xp->arg[1] >> 32) || (xp->arg[3] >> 32) || xp->len > sizeof(xp->data))
		return -1;
	copy_bytes((uint8_t *)cmdline, xp->data, xp->len);
	cmdline[xp->len] = 0;
	struct vmm_boot b = { .proto = (enum vmm_boot_protocol)xp->arg[0], .eip = (uint32_t)xp->arg[1],
			      .eax = (uint32_t)xp->arg[2], .ebx = (uint32_t)(xp->arg[2] >> 32),
			      .esi = (uint32_t)xp->arg[3], .cmdline = xp->len ? cmdline : 0 };
	vmm_reset(&b);
	return 0;
}

/* The CPU's own reading of every descriptor written so far (the module
 * loads the LDT at each entry, xpage.h): lsl gives the limit asked for,
 * lar the type, DPL, present and size bits written. Guest code would run
 * on these; a mismatch is counted and named. */

static void verify_ldt(void)
{
	for (unsigned slot = 0; slot < LDT_ENTRIES; slot++) {
		uint64_t d = dw_ldt[slot];
		if (!(d & (1ull << 47)))
			continue;
		uint32_t sel = LDT_SEL(slot), lim = 0, ar = 0;
		uint8_t lim_ok, ar_ok;
		__asm__ volatile("lsl %2, %0; setz %1" : "=r"(lim), "=q"(lim_ok) : "r"(sel) : "cc");
		__asm__ volatile("lar %2, %0; setz %1" : "=r"(ar), "=q"(ar_ok) : "r"(sel) : "cc");
		uint32_t want_ar = (uint32_t)(d >> 32) & 0x00f0ff00u;
		if (lim_ok && ar_ok && lim == dw_ldt_limit[slot] && (ar & 0x00f0ff00u) == want_ar) {
			stat_inc(&ldt_verified);
			continue;
		}
		stat_inc(&ldt_mismatch);
		char line[96] = "dworld: LDT slot ";
		unsigned n = 17;
		for (unsigned v = slot, k = 10000; k; k /= 10)
			if (v >= k || k == 1 || n > 17)
				line[n++] = (char)('0' + v / k % 10);
		const char *tail = ": the CPU reads another limit or type than written";
		while (*tail)
			line[n++] = *tail++;
		line[n] = 0;
		log_line(line);
	}
}

/* The guest's run: devices polled and the first block translated as in
 * every world, the descriptors it would run on checked by the CPU;
 * entering it is what this world cannot do yet. */
static int64_t run_guest(void)
{
	int status = 4;
	if (!inited)
		return -1;
	bool entry = vmm_prepare_entry();
	verify_ldt();
	if (!ldt_mismatch.value)
		while (entry) {
			dw_enter_guest();
			if (vmm_stopped((int *)0))
				break;
			entry = vmm_prepare_entry();
		}
	else if (entry)
		vmm_world_cannot_enter();
	vmm_stopped(&status);
	vmm_exit_report();
	return status;
}

/* The counters as "name value" lines where the module finds them
 * (xpage.h's stats_off and stats_len). */
static char stats_text[VMMON_STATS_MAX];

static void publish_stats(void)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < stats_count(); i++) {
		const stat_counter *c = stats_at(i);
		char num[24];
		unsigned k = 0;
		uint64_t v = c->value;
		do {
			num[k++] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		uint32_t len = 0;
		while (c->name[len])
			len++;
		if (n + len + k + 2 > sizeof(stats_text))
			break;
		copy_bytes((uint8_t *)stats_text + n, (const uint8_t *)c->name, len);
		n += len;
		stats_text[n++] = ' ';
		while (k)
			stats_text[n++] = num[--k];
		stats_text[n++] = '\n';
	}
	xp->stats_off = (uintptr_t)stats_text - DW_IMAGE_VA;
	xp->stats_len = n;
}

/* An exception of guest code, or the host's alarm on its frame (gate.S's
 * dw_guest_trap_entry): the saved frame, in the order of the module's
 * stubs, given to vmm_trap as the user-level world gives it a host
 * signal's context. Returns the action;
 * for TRAP_RESUME the frame's TF follows t.step. */

int dw_guest_trap(uint64_t *f, uint64_t cr2)
{
	uint32_t v = (uint32_t)f[F_VEC];
	uint16_t cs = (uint16_t)f[F_CS];
	enum trap_kind k = v == DW_VEC_ALARM ? TRAP_ALARM :
			   v == 0 || v == 16 || v == 19 ? TRAP_FPE : v == 1 || v == 3 ? TRAP_TRAP :
			   v == 6 ? TRAP_ILL : v == 17 ? TRAP_BUS : TRAP_SEGV;
	if (k == TRAP_ALARM) {
		alarm_count(&alarm_tc, &alarm_tc_late, &alarm_tc_late_max);
		v = 0xff;   /* as the user-level world's SIGALRM */
	}
	if (v == 1)
		dr6_clear();
	struct vmm_trap t = {
		.kind = k, .trapno = v, .err = (uint32_t)f[F_ERR], .addr = v == 14 ? cr2 : 0,
		.rip = (uint32_t)f[F_RIP],
		.where = cs == LDT_SEL(LDT_MON_CODE32) ? TRAP_IN_TC :
			 (cs & 4) && (cs >> 3) >= LDT_SHADOW_FIRST ? TRAP_IN_DIRECT : TRAP_IN_MONITOR,
		.sregs = { (uint16_t)f[F_ES], cs, (uint16_t)f[F_SS], (uint16_t)f[F_DS], (uint16_t)f[F_FS],
			   (uint16_t)f[F_GS] },
		.regs = { (uint32_t)f[F_RAX], (uint32_t)f[F_RCX], (uint32_t)f[F_RDX], (uint32_t)f[F_RBX],
			  (uint32_t)f[F_RSP], (uint32_t)f[F_RBP], (uint32_t)f[F_RSI], (uint32_t)f[F_RDI] },
		.eflags = (uint32_t)f[F_RFLAGS],
	};
	enum trap_action a = vmm_trap(&t);
	if (a == TRAP_RESUME)
		f[F_RFLAGS] = t.step ? f[F_RFLAGS] | 0x100 : f[F_RFLAGS] & ~0x100ull;
	return (int)a;
}

/* A loop with interrupts on: host interrupts arriving in it go back to the
 * host and the loop goes on where it was (the test of that path). */
static uint64_t spin(uint64_t n)
{
	uint64_t i;
	__asm__ volatile("sti");
	for (i = 0; i < n; i++)
		__asm__ volatile("" ::: "memory");
	__asm__ volatile("cli");
	return i;
}

/* The data segments guest code will run on, loaded from the monitor's
 * LDT and left for the switch out to undo: GS's base is then MON_BASE. */
static int64_t seg_load(void)
{
	uint32_t flat = LDT_SEL(LDT_MON_FLAT), mongs = LDT_SEL(LDT_MON_GS), lo, hi;
	__asm__ volatile("mov %0, %%ds; mov %0, %%es; mov %0, %%fs; mov %1, %%gs" :: "r"(flat), "r"(mongs));
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xc0000101u));
	return (int64_t)((uint64_t)hi << 32 | lo);
}

/* Data both ways across the cross page (vmmon_test): the command's bytes
 * go back as a log request, the answer to a wall-clock request brings its
 * own. */
static int64_t echo(void)
{
	to_host(VMMON_REQ_LOG);   /* xp->len and xp->data: the command's */
	xp->len = 0;
	ask_host(VMMON_REQ_WALL, 0, 0, 0);
	return (int64_t)(xp->arg[0] + xp->len);
}

/* The image's entry, on the monitor's stack, from the first switch in. */
void dw_main(struct vmmon_xpage *x)
{
	xp = x;
	uintptr_t cr4;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	dw_smap = (cr4 >> 21) & 1;
	smap_open();
	/* Loaded by the module from the next entry on. */
	xp->ldt_base = (uintptr_t)dw_ldt;
	xp->ldt_limit = sizeof(dw_ldt) - 1;
	for (;;) {
		xp->entries++;
		switch (xp->cmd) {
		case VMMON_CMD_PING:
			xp->ret = (int64_t)xp->arg[0] + 1;
			break;
		case VMMON_CMD_INIT:
			xp->ret = init_monitor();
			break;
		case VMMON_CMD_SPIN:
			xp->ret = (int64_t)spin(xp->arg[0]);
			break;
		case VMMON_CMD_FAULT:
			__asm__ volatile("ud2");
			break;
		case VMMON_CMD_SEGLOAD:
			xp->ret = inited ? seg_load() : -1;
			break;
		case VMMON_CMD_STACKFAULT:
			/* No stack for the #UD's frame, nor for the #PF's: the
			 * double fault, on its own stack. */
			__asm__ volatile("mov %0, %%rsp; ud2" :: "i"(DW_IMAGE_VA - 0x10000) : "memory");
			break;
		case VMMON_CMD_LOG:
			log_line("dworld: a line from the monitor");
			xp->ret = (int64_t)xp->entries;
			break;
		case VMMON_CMD_ECHO:
			xp->ret = echo();
			break;
		case VMMON_CMD_RESET:
			xp->ret = reset_guest();
			break;
		case VMMON_CMD_RUN:
			xp->ret = run_guest();
			break;
		default:
			xp->ret = -1;
		}
		publish_stats();
		to_host(VMMON_REQ_DONE);
	}
}
