/* The user-level world's host side: guest RAM in a memfd mapped twice (at
 * linear 0 for the guest, high up for the monitor), the monitor area at the
 * top of the low 4 GiB, the LDT descriptors translated code runs on, the
 * signal handlers that turn host traps into monitor traps, syscall user
 * dispatch so guest int 0x80/sysenter never reach the host kernel, the
 * host services of include/world.h, and the handlers of the signals that
 * end vmx (the terminal's mode restored on the way out). A SIGSYS is a
 * guest system call (syscall user dispatch) or a host one the sandbox
 * refused (seccomp): si_code tells them apart. */
#define _GNU_SOURCE
#include "uworld.h"
#include "vmx.h"
#include "perfmap.h"
#include <asm/ldt.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_ON 1
#endif
#ifndef SYSCALL_DISPATCH_FILTER_BLOCK
#define SYSCALL_DISPATCH_FILTER_BLOCK 1
#endif
/* SIGSYS si_code values (asm-generic/siginfo.h; glibc's headers lack them). */
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

extern const uint8_t gate_blob_start[], gate_blob_end[];
extern const uint8_t gate_callout[], gate_resume[], gate_exit[], gate_ibl[], gate_ibl_miss[];
extern const uint8_t gate_exit_shared[], gate_learn_shared[], gate_direct[], gate_direct_end[];
extern int uworld_switch_in(void);

#define LOW_START 0x1000ul
#define STUB(sym) (MON_BASE + MON_OFF_STUBS + (uint32_t)((sym) - gate_blob_start))

static struct {
	int ram_fd;
	uint8_t *ram;
	uint32_t ram_size;
	timer_t timer;
	bool timer_ok;
	uint64_t host_fsbase;
	volatile uint8_t sud_selector;
	void *altstack;
} uw;

static inline uint64_t rdfsbase(void) { uint64_t v; __asm__ volatile("rdfsbase %0" : "=r"(v)); return v; }
static inline void wrfsbase(uint64_t v) { __asm__ volatile("wrfsbase %0" :: "r"(v)); }

static int set_ldt(unsigned slot, uint32_t base, uint32_t limit, unsigned flags)
{
	struct user_desc d;
	memset(&d, 0, sizeof(d));
	d.entry_number = slot;
	d.base_addr = base;
	if (limit > 0xfffff) {
		d.limit = limit >> 12;
		d.limit_in_pages = 1;
	} else {
		d.limit = limit;
	}
	d.seg_32bit = (flags & WD_32) ? 1 : 0;
	if (flags & WD_CODE) {
		d.contents = MODIFY_LDT_CONTENTS_CODE;
		d.read_exec_only = (flags & WD_READABLE) ? 0 : 1;
	} else {
		d.contents = (flags & WD_EXPDOWN) ? MODIFY_LDT_CONTENTS_STACK : MODIFY_LDT_CONTENTS_DATA;
		d.read_exec_only = (flags & WD_WRITABLE) ? 0 : 1;
	}
	d.seg_not_present = (flags & WD_PRESENT) ? 0 : 1;
	d.useable = 1;
	return syscall(SYS_modify_ldt, 1, &d, sizeof(d)) == 0 ? 0 : -1;
}

/* Guest pages are never executable by the host but where the monitor
 * says so (WP_X): translated code runs from the monitor area, and a
 * directly executed page must have been scanned first (DESIGN 3.1). */
static int host_prot(int prot)
{
	int base = prot & ~WP_X;
	int p = base == WP_RW ? PROT_READ | PROT_WRITE : base == WP_RO ? PROT_READ : PROT_NONE;
	return p && (prot & WP_X) ? p | PROT_EXEC : p;
}

static int protect(uint32_t lin, uint32_t len, int prot)
{
	if (lin < LOW_START) {
		if (lin + len <= LOW_START)
			return 0;
		len -= LOW_START - lin;
		lin = LOW_START;
	}
	return mprotect((void *)(uintptr_t)lin, len, host_prot(prot));
}

static int map_lin(uint32_t lin, uint32_t len, uint32_t pa, int prot)
{
	if (lin < LOW_START) {
		if (lin + len <= LOW_START)
			return 0;
		uint32_t skip = LOW_START - lin;
		lin += skip; pa += skip; len -= skip;
	}
	return mmap((void *)(uintptr_t)lin, len, host_prot(prot), MAP_SHARED | MAP_FIXED, uw.ram_fd, pa) == MAP_FAILED ? -1 : 0;
}

static int unmap_lin(uint32_t lin, uint32_t len)
{
	if (lin < LOW_START) {
		if (lin + len <= LOW_START)
			return 0;
		len -= LOW_START - lin;
		lin = LOW_START;
	}
	/* Back to the reservation: nothing the host could place there. */
	return mmap((void *)(uintptr_t)lin, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		    -1, 0) == MAP_FAILED ? -1 : 0;
}

static uint64_t host_clock(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The guest's time is the host's monotonic clock less the time the host
 * gave this thread's CPU to others while the guest was running (not while
 * it waited, halted): a vCPU preempted in the middle of a calibration loop
 * (Linux times the TSC against the PIT over 10-50 ms and gives up on any
 * outlier) sees no gap. A gap is checked against the thread's CPU time
 * only when it is long, so the usual read stays one vDSO call. */
#define STEAL_CHECK_NS 50000ull
#define STEAL_SLACK_NS 10000ull
static struct { uint64_t stolen, last_host, check_host, check_cpu, armed; bool waited, armed_in_trap; } gclock;

static uint64_t now_ns(void)
{
	uint64_t host = host_clock(CLOCK_MONOTONIC), gap = host - gclock.last_host;
	if (gap > STEAL_CHECK_NS) {
		uint64_t cpu = host_clock(CLOCK_THREAD_CPUTIME_ID);
		/* Only while the guest's interrupts are off: that is where
		 * kernels time one clock against another (with them on, the
		 * guest's timer interrupts should keep pace with the host's
		 * time). The baseline moves on either way. */
		if (!gclock.waited && gclock.last_host && !mon_area()->vif) {
			/* Up to the previous read no long gap was seen: take the
			 * thread as running all along, so what the gap lacks in
			 * CPU time went to others. */
			uint64_t before = gclock.check_cpu + (gclock.last_host - gclock.check_host);
			uint64_t ran = cpu > before ? cpu - before : 0;
			if (gap > ran + STEAL_SLACK_NS)
				gclock.stolen += gap - ran - STEAL_SLACK_NS;
		}
		gclock.check_host = host;
		gclock.check_cpu = cpu;
		gclock.waited = false;
	}
	gclock.last_host = host;
	return host - gclock.stolen;
}

/* A guest deadline on the host's clock. */
static uint64_t host_deadline(uint64_t guest_deadline)
{
	return guest_deadline == UINT64_MAX ? UINT64_MAX : guest_deadline + gclock.stolen;
}

static void arm_timer(uint64_t deadline)
{
	if (!uw.timer_ok)
		return;
	struct itimerspec its = { 0 };
	if (deadline == UINT64_MAX)
		deadline = now_ns() + 10000000ull;
	gclock.armed = deadline;
	gclock.armed_in_trap = true;
	deadline = host_deadline(deadline);
	if (deadline == 0)
		deadline = 1;
	its.it_value.tv_sec = (time_t)(deadline / 1000000000ull);
	its.it_value.tv_nsec = (long)(deadline % 1000000000ull);
	timer_settime(uw.timer, TIMER_ABSTIME, &its, NULL);
}

static void w_console_write(const uint8_t *b, size_t n) { console_write(b, n); }
static size_t w_console_read(uint8_t *b, size_t n, bool w, bool *quit) { return console_read(b, n, w, quit); }

static void wait_for(uint64_t deadline)
{
	uint64_t now = now_ns();
	if (deadline <= now)
		return;
	uint64_t d = deadline - now;
	if (d > 100000000ull)
		d = 100000000ull;     /* bounded: the caller re-evaluates */
	struct timespec ts = { (time_t)(d / 1000000000ull), (long)(d % 1000000000ull) };
	struct pollfd p = { .fd = console_input_fd(), .events = POLLIN };
	/* The time asleep is the guest's, also up to a timer signal that
	 * reads the clock in the middle of it. */
	gclock.waited = true;
	perfmap_flush();
	ppoll(&p, p.fd >= 0 ? 1 : 0, &ts, NULL);
	gclock.waited = true;
}

static void w_log(const char *line)
{
	fprintf(stderr, "%s\n", line);
}

static uint64_t wall_seconds(void) { return (uint64_t)time(NULL); }

/* Host calls made by the monitor run libc, which uses SSE registers the
 * guest owns and %fs for its thread data: keep the guest's FPU/SSE image
 * and FS base across them. */
#define HOSTCALL(expr) do { \
	uint8_t fx_[512] __attribute__((aligned(16))); \
	__asm__ volatile("fxsave64 %0" : "=m"(fx_)); \
	uint64_t fs_ = rdfsbase(); \
	wrfsbase(uw.host_fsbase); \
	expr; \
	wrfsbase(fs_); \
	__asm__ volatile("fxrstor64 %0" :: "m"(fx_)); \
} while (0)

static int g_set_ldt(unsigned s, uint32_t b, uint32_t l, unsigned f) { int r; HOSTCALL(r = set_ldt(s, b, l, f)); return r; }
static int g_protect(uint32_t lin, uint32_t len, int prot) { int r; HOSTCALL(r = protect(lin, len, prot)); return r; }
static int g_map(uint32_t lin, uint32_t len, uint32_t pa, int prot) { int r; HOSTCALL(r = map_lin(lin, len, pa, prot)); return r; }
static int g_unmap(uint32_t lin, uint32_t len) { int r; HOSTCALL(r = unmap_lin(lin, len)); return r; }
static void g_console_write(const uint8_t *b, size_t n) { HOSTCALL(w_console_write(b, n)); }
static size_t g_console_read(uint8_t *b, size_t n, bool w, bool *q) { size_t r; HOSTCALL(r = w_console_read(b, n, w, q)); return r; }
static void g_wait(uint64_t d) { HOSTCALL(wait_for(d)); }
static void g_log(const char *l) { HOSTCALL(w_log(l)); }
static void g_arm_timer(uint64_t d) { HOSTCALL(arm_timer(d)); }
static int g_disk_read(unsigned d, uint64_t lba, void *b, uint32_t n) { int r; HOSTCALL(r = disk_read(d, lba, b, n)); return r; }
static int g_disk_write(unsigned d, uint64_t lba, const void *b, uint32_t n) { int r; HOSTCALL(r = disk_write(d, lba, b, n)); return r; }
static int g_disk_flush(unsigned d) { int r; HOSTCALL(r = disk_flush(d)); return r; }
static void g_fragment_created(const struct world_fragment *f) { HOSTCALL(perfmap_fragment(f)); }
static bool g_debug_poll(void) { bool r; HOSTCALL(r = debugger_poll()); return r; }
static enum vmm_dbg_resume g_debug_stopped(const struct vmm_dbg_stop *w)
{
	enum vmm_dbg_resume r;
	HOSTCALL(r = debugger_stopped(w));
	return r;
}

const struct world_ops uworld_ops = {
	.set_ldt = g_set_ldt, .protect = g_protect, .map = g_map, .unmap = g_unmap, .now_ns = now_ns, .arm_timer = g_arm_timer,
	.console_write = g_console_write, .console_read = g_console_read, .wait = g_wait,
	.log = g_log, .wall_seconds = wall_seconds,
	.disk_read = g_disk_read, .disk_write = g_disk_write, .disk_flush = g_disk_flush,
	.fragment_created = g_fragment_created,
	.debug_poll = g_debug_poll, .debug_stopped = g_debug_stopped,
};

/* ---- signals ---- */

static enum trap_kind kind_of(int sig)
{
	switch (sig) {
	case SIGSEGV: return TRAP_SEGV;
	case SIGBUS: return TRAP_BUS;
	case SIGFPE: return TRAP_FPE;
	case SIGILL: return TRAP_ILL;
	case SIGTRAP: return TRAP_TRAP;
	case SIGSYS: return TRAP_SYS;
	default: return TRAP_ALARM;
	}
}

static inline void load_seg_regs(const struct mon_area *ma)
{
	__asm__ volatile("mov %0, %%ds" :: "r"((uint32_t)ma->ds_sel));
	__asm__ volatile("mov %0, %%es" :: "r"((uint32_t)ma->es_sel));
	__asm__ volatile("mov %0, %%fs" :: "r"((uint32_t)ma->fs_sel));
}

/* The time the monitor spends in a host trap is none of the guest's: the
 * guest's clock holds still meanwhile, as it does while the host runs
 * others, so the cost of a timer signal (tens of microseconds here) does
 * not show as an SMI in the middle of the guest's calibration loops. The
 * virtual clock keeps what the guest reads monotonic. */
static void arm_timer(uint64_t deadline);
static void hide_trap_time(bool hide, uint64_t since, uint64_t stolen_before)
{
	if (!hide)
		return;
	uint64_t host = host_clock(CLOCK_MONOTONIC);
	/* Preemption inside the trap may already be counted (a clock read in
	 * the handler saw the gap): hide the trap's time once. */
	if (gclock.stolen < stolen_before + (host - since))
		gclock.stolen = stolen_before + (host - since);
	gclock.last_host = host;
	/* A deadline set during the trap was converted with the old offset:
	 * the host timer would fire before guest time reaches it. */
	if (gclock.armed_in_trap)
		arm_timer(gclock.armed);
	gclock.armed_in_trap = false;
}

/* The signal frame's FPU area: the fxsave64 layout, followed by an XSAVE
 * header when bytes 464.. carry the kernel's magic. The components whose
 * XSTATE_BV bit is clear are in their initial state, whatever the legacy
 * bytes say, so the frame is loaded with xrstor; once stored back with
 * fxsave64, x87 and SSE are marked present so the resume restores them. */
#ifndef FP_XSTATE_MAGIC1
#define FP_XSTATE_MAGIC1 0x46505853u
#endif
static bool frame_is_xsave(const uint8_t *f) { uint32_t m; memcpy(&m, f + 464, 4); return m == FP_XSTATE_MAGIC1; }

static void frame_fpu_live(struct vmm_trap *t)
{
	uint8_t *f = t->fpu_frame;
	if (frame_is_xsave(f))
		__asm__ volatile("xrstor64 %0" :: "m"(*(uint8_t (*)[576])f), "a"(3), "d"(0));
	else
		__asm__ volatile("fxrstor64 %0" :: "m"(*(uint8_t (*)[512])f));
}

static void frame_fpu_keep(struct vmm_trap *t)
{
	uint8_t *f = t->fpu_frame;
	__asm__ volatile("fxsave64 %0" : "=m"(*(uint8_t (*)[512])f));
	if (frame_is_xsave(f)) {
		uint64_t bv;
		memcpy(&bv, f + 512, 8);
		bv |= 3;
		memcpy(f + 512, &bv, 8);
	}
}

/* Which code the CPU was running: the gate's way into direct execution
 * runs on the monitor's CS but belongs to no fragment; every LDT code
 * selector but the monitor's is a directly executed guest's. */
static enum trap_where where_of(uint16_t cs, greg_t rip)
{
	if (cs == LDT_SEL(LDT_MON_CODE32)) {
		uint64_t lo = STUB(gate_direct), hi = STUB(gate_direct_end);
		return (uint64_t)rip >= lo && (uint64_t)rip < hi ? TRAP_IN_MONITOR : TRAP_IN_TC;
	}
	if ((cs & 4) && (cs >> 3) >= LDT_SHADOW_FIRST)
		return TRAP_IN_DIRECT;
	return TRAP_IN_MONITOR;
}

static void on_signal(int sig, siginfo_t *si, void *ucv)
{
	uint64_t entered = host_clock(CLOCK_MONOTONIC), stolen_before = gclock.stolen;
	bool hide = !mon_area()->vif;
	gclock.armed_in_trap = false;
	uint64_t saved_fs = rdfsbase();
	wrfsbase(uw.host_fsbase);
	/* Host code (above 4 GiB) made a call outside the sandbox's list;
	 * guest calls come as SYS_USER_DISPATCH and are the monitor's. */
	if (sig == SIGSYS && si->si_code == SYS_SECCOMP)
		sandbox_stopped(si->si_syscall, si->si_arch, si->si_call_addr);
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	struct mon_area *ma = mon_area();
	uint16_t cs = (uint16_t)(g[REG_CSGSFS] & 0xffff);
	struct vmm_trap t = {
		.kind = kind_of(sig), .trapno = (uint32_t)g[REG_TRAPNO], .err = (uint32_t)g[REG_ERR],
		.addr = (uint64_t)(uintptr_t)si->si_addr, .rip = (uint32_t)g[REG_RIP],
	};
	t.where = where_of(cs, g[REG_RIP]);
	/* The data segment registers are the interrupted code's still (the
	 * signal frame keeps only CS and SS). */
	t.sregs[1] = cs;
	t.sregs[2] = (uint16_t)(g[REG_CSGSFS] >> 48);
	__asm__ volatile("mov %%es, %0" : "=r"(t.sregs[0]));
	__asm__ volatile("mov %%ds, %0" : "=r"(t.sregs[3]));
	__asm__ volatile("mov %%fs, %0" : "=r"(t.sregs[4]));
	__asm__ volatile("mov %%gs, %0" : "=r"(t.sregs[5]));
	if (uc->uc_mcontext.fpregs) {
		t.fpu_frame = uc->uc_mcontext.fpregs;
		t.fpu_live = frame_fpu_live;
		t.fpu_keep = frame_fpu_keep;
	}
	if (sig == SIGALRM)
		t.trapno = 0xff;
	static const int gr[8] = { REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI };
	for (int i = 0; i < 8; i++)
		t.regs[i] = (uint32_t)g[gr[i]];
	t.eflags = (uint32_t)g[REG_EFL];
	enum trap_action a = vmm_trap(&t);
	uint32_t mongs = LDT_SEL(LDT_MON_GS);
	if (a == TRAP_RESUME) {
		if (t.step)
			g[REG_EFL] |= 0x100;
		else
			g[REG_EFL] &= ~0x100;
		hide_trap_time(hide, entered, stolen_before);
		wrfsbase(saved_fs);
		return;
	}
	__asm__ volatile("mov %0, %%gs" :: "r"(mongs));
	if (a == TRAP_EXIT_WORLD) {
		g[REG_RIP] = STUB(gate_exit);
		g[REG_CSGSFS] = (g[REG_CSGSFS] & ~0xffff00000000ffffll) | HOST_CS64 | ((greg_t)HOST_DS << 48);
		g[REG_EFL] &= ~0x100;
		hide_trap_time(hide, entered, stolen_before);
		return;   /* host FS base stays: gate_exit returns to host code */
	}
	g[REG_RAX] = ma->eax; g[REG_RCX] = ma->ecx; g[REG_RDX] = ma->edx; g[REG_RBX] = ma->ebx;
	g[REG_RSP] = ma->esp; g[REG_RBP] = ma->ebp; g[REG_RSI] = ma->esi; g[REG_RDI] = ma->edi;
	g[REG_RIP] = ma->resume_eip;
	g[REG_EFL] = (g[REG_EFL] & ~0xcd5ll & ~0x100ll) | (ma->eflags & (0xcd5 | 0x100));
	g[REG_CSGSFS] = (g[REG_CSGSFS] & ~0xffff00000000ffffll) | LDT_SEL(LDT_MON_CODE32) |
			((greg_t)ma->ss << 48);
	hide_trap_time(hide, entered, stolen_before);
	if (ma->seg_dirty) {
		load_seg_regs(ma);
		ma->seg_dirty = 0;
		wrfsbase(ma->guest_fsbase);
	} else {
		wrfsbase(saved_fs);
	}
}

/* SIGTERM, SIGHUP, SIGINT (raw mode turns off ISIG, so these come from
 * kill, not the keyboard) and SIGQUIT end vmx: the terminal gets its mode
 * back, then the signal's default action ends the process, so the parent
 * sees it killed by that signal (a shell's status 128+N).
 *
 * Handled at once rather than blocked in guest code and taken at the next
 * monitor exit: a guest in a tight translated loop may not exit for a long
 * time, and blocking would need a sigprocmask per world switch. Running
 * at once, the handler may interrupt guest code, with the guest's FS base
 * loaded (DESIGN 3.1) and the guest's stack below: it runs on the
 * sigaltstack, and its first act is loading the host's FS base, as
 * libc reads %fs for errno, the thread pointer and glibc's own
 * stack-protector canaries (tcsetattr has one). It never returns into
 * the interrupted code, so the guest's base needs no saving. This file
 * is built without a stack protector, so nothing reads %fs before that. */
static void on_exit_signal(int sig)
{
	if (uw.host_fsbase)
		wrfsbase(uw.host_fsbase);
	console_restore_signal();
	stats_report_abandon_signal();
	perfmap_flush_signal();
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	raise(sig);
	_exit(128 + sig);   /* a default action that did not end the process */
}

static int install_exit_handlers(char *err, size_t errlen)
{
	static const int sigs[] = { SIGTERM, SIGHUP, SIGINT, SIGQUIT };
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_exit_signal;
	sa.sa_flags = SA_ONSTACK;
	/* Nothing else (the timer) runs in the middle of ending; but a
	 * sandbox trap must reach its handler: a blocked SIGSYS from seccomp
	 * kills the process unreported. */
	sigfillset(&sa.sa_mask);
	sigdelset(&sa.sa_mask, SIGSYS);
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		/* An ignored signal (nohup, a background job) stays ignored. */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		if (sigaction(sigs[i], &sa, NULL) != 0) {
			snprintf(err, errlen, "vmx: sigaction: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int install_handlers(char *err, size_t errlen)
{
	size_t sz = 256 * 1024;
	uw.altstack = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (uw.altstack == MAP_FAILED) {
		snprintf(err, errlen, "vmx: cannot allocate the signal stack: %s", strerror(errno));
		return -1;
	}
	stack_t ss = { .ss_sp = uw.altstack, .ss_size = sz, .ss_flags = 0 };
	if (sigaltstack(&ss, NULL) != 0) {
		snprintf(err, errlen, "vmx: sigaltstack: %s", strerror(errno));
		return -1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGALRM);
	int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGALRM };
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		/* A guest system call's SIGSYS is handled in the monitor, which
		 * may make a host call the sandbox refuses: that second SIGSYS
		 * must not find the first blocking it (see above). Guest code
		 * never runs inside the handler, so no guest SIGSYS nests. */
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK | (sigs[i] == SIGSYS ? SA_NODEFER : 0);
		if (sigaction(sigs[i], &sa, NULL) != 0) {
			snprintf(err, errlen, "vmx: sigaction: %s", strerror(errno));
			return -1;
		}
	}
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGALRM;
	if (timer_create(CLOCK_MONOTONIC, &sev, &uw.timer) != 0) {
		snprintf(err, errlen, "vmx: timer_create: %s", strerror(errno));
		return -1;
	}
	uw.timer_ok = true;
	return install_exit_handlers(err, errlen);
}

int uworld_init(uint32_t ram_size, struct uworld_info *info, char *err, size_t errlen)
{
	uw.ram_size = ram_size;
	void *low = mmap((void *)LOW_START, (1ul << 32) - LOW_START, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (low != (void *)LOW_START) {
		snprintf(err, errlen, "vmx: cannot reserve the low 4 GiB of the address space for the guest: %s",
			 low == MAP_FAILED ? strerror(errno) : "placed elsewhere");
		return -1;
	}
	uw.ram_fd = memfd_create("vmx-guest-ram", MFD_CLOEXEC);
	if (uw.ram_fd < 0 || ftruncate(uw.ram_fd, ram_size) != 0) {
		snprintf(err, errlen, "vmx: cannot create guest RAM (%u MiB): %s", ram_size >> 20, strerror(errno));
		return -1;
	}
	uw.ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, uw.ram_fd, 0);
	if (uw.ram == MAP_FAILED || (uintptr_t)uw.ram < (1ull << 32)) {
		snprintf(err, errlen, "vmx: cannot map guest RAM for the monitor: %s", strerror(errno));
		return -1;
	}
	if (mmap((void *)(uintptr_t)MON_BASE, MON_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
		snprintf(err, errlen, "vmx: cannot map the monitor area: %s", strerror(errno));
		return -1;
	}
	memcpy((void *)(uintptr_t)(MON_BASE + MON_OFF_STUBS), gate_blob_start,
	       (size_t)(gate_blob_end - gate_blob_start));
	if (set_ldt(LDT_MON_CODE32, 0, 0xffffffffu, WD_CODE | WD_READABLE | WD_32 | WD_PRESENT) ||
	    set_ldt(LDT_MON_FLAT, 0, 0xffffffffu, WD_WRITABLE | WD_32 | WD_PRESENT) ||
	    set_ldt(LDT_MON_GS, MON_BASE, MON_SIZE - 1, WD_WRITABLE | WD_32 | WD_PRESENT)) {
		snprintf(err, errlen, "vmx: modify_ldt failed (%s): this host kernel cannot run 32-bit code from user space",
			 strerror(errno));
		return -1;
	}
	uint32_t mongs = LDT_SEL(LDT_MON_GS);
	__asm__ volatile("mov %0, %%gs" :: "r"(mongs));
	uw.host_fsbase = rdfsbase();
	struct mon_area *ma = mon_area();
	ma->callout_fn = (uint64_t)(uintptr_t)vmm_callout;
	ma->self = MON_BASE;
	ma->host_fsbase = uw.host_fsbase;
	if (install_handlers(err, errlen))
		return -1;
	/* From here on a system call from below 4 GiB (guest code) is a SIGSYS. */
	uw.sud_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, 1ul << 32, (1ul << 47) - (1ul << 32),
		  &uw.sud_selector) != 0) {
		snprintf(err, errlen, "vmx: syscall user dispatch is unavailable: %s", strerror(errno));
		return -1;
	}
	info->ram = uw.ram;
	info->ram_size = ram_size;
	info->gate_callout = STUB(gate_callout);
	info->gate_ibl = STUB(gate_ibl);
	info->gate_ibl_miss = STUB(gate_ibl_miss);
	info->gate_exit_shared = STUB(gate_exit_shared);
	info->gate_learn_shared = STUB(gate_learn_shared);
	info->gate_direct = STUB(gate_direct);
	info->sel_code32 = LDT_SEL(LDT_MON_CODE32);
	info->sel_flat = LDT_SEL(LDT_MON_FLAT);
	info->sel_mongs = (uint16_t)mongs;
	return 0;
}

int uworld_enter(void)
{
	return uworld_switch_in();
}

void uworld_fini(void)
{
	if (uw.timer_ok) {
		timer_delete(uw.timer);
		uw.timer_ok = false;
	}
}
