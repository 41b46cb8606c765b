/* multitask guest: a small preemptive kernel set up the way Linux and xv6
 * set themselves up (own GDT with TLS slot, TSS whose ESP0 follows the
 * running process, IDT, paging with supervisor-only kernel pages), running
 * the user programs of user.c in separate address spaces: round-robin from
 * the PIT, int $0x80 system calls, demand paging, fork, fatal faults, FPU and
 * SSE state switched lazily (CR0.TS, #NM, fxsave/fxrstor). As in Linux, the
 * tables are reached through the kernel's alias at 0xC0000000 and the kernel
 * runs with the user data segment in %ds/%es and a per-CPU segment in %fs.
 * Output is buffered per process and printed in pid order at the end, so it
 * does not depend on scheduling.
 * Environment: ring 0 with interrupts off; user code runs with IF=1. */
#include <stddef.h>
#include <stdint.h>
#include "boot.h"
#include "desc.h"
#include "exit.h"
#include "io.h"
#include "pic.h"
#include "pit.h"
#include "serial.h"
#include "kernel.h"

GUEST_NAME("multitask");

#define PAGE    4096u
#define PTE_P   1u
#define PTE_W   2u
#define PTE_U   4u
#define IRQ_BASE 0x20
#define VEC_SYSCALL 0x80
#define VEC_KERNEL_ONLY 0x81
#define MAXPROC 8
#define KSTACK_SIZE 8192u
#define OUTBUF 2048u
#define POOL_PAGES 192u
/* Where every address space sees the kernel a second time, supervisor-only. */
#define KERNEL_ALIAS 0xC0000000u
#define HI(p) ((uint32_t)(p) + KERNEL_ALIAS)
/* 1 kHz: many preemptions inside the FPU loops, few host timer signals. */
#define PIT_DIVISOR 1193

/* The descriptor tables and the TSS share one page no user mapping reaches. */
struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap;
};
struct gate { uint32_t lo, hi; };
static struct {
	uint64_t gdt[GDT_SLOTS];
	struct gate idt[256];
	struct tss32 tss;
} sys_tables __attribute__((aligned(4096)));
#define gdt sys_tables.gdt
#define idt sys_tables.idt
#define tss sys_tables.tss

enum pstate { P_FREE, P_RUNNABLE, P_WAITING, P_SLEEPING, P_ZOMBIE };

struct proc {
	uint8_t fx[512] __attribute__((aligned(16)));	/* fxsave image while not running */
	enum pstate state;
	uint32_t pid, parent;
	const char *name;
	uint32_t *pd, *upt;		/* page directory; page table of the user GiB */
	uint32_t kesp;			/* parked kernel ESP (swtch) */
	uint8_t *kstack;
	struct trapframe *tf;		/* the frame of its latest entry from ring 3 */
	uint32_t tls_base;
	uint32_t catch_eip;
	uint32_t preempts, heap_pages;
	uint32_t wake_tick;
	int exit_code;
	int killed;
	uint32_t kill_vec, kill_err, kill_cr2, kill_eip;
	uint32_t reaped;
	char out[OUTBUF];
	uint32_t outlen, out_lost;
};

static struct proc procs[MAXPROC] __attribute__((aligned(16)));
static uint8_t kstacks[MAXPROC][KSTACK_SIZE] __attribute__((aligned(4096)));
static uint8_t pool[POOL_PAGES][PAGE] __attribute__((aligned(4096)));
static uint32_t kpt[1024] __attribute__((aligned(4096)));	/* 0-4 MiB, shared by every space */
static uint32_t boot_pd[1024] __attribute__((aligned(4096)));
static uint8_t fx_init[512] __attribute__((aligned(16)));
static uint32_t pool_used, nprocs, ticks;
/* Frames given back by SYS_UNMAP, poisoned, handed out once the pool is
 * used up: a stale translation of an unmapped page would show the poison. */
static uint8_t *free_pages[16];
static uint32_t nfree;
static uint32_t boot_kesp;
/* Counters that do not depend on timing, or are reported only as yes/no. */
static uint32_t frames_from_user, bad_user_frames, kernel_irqs, fpu_moves;
/* Whose registers the FPU holds; CR0.TS is set whenever that is not the
 * running process. */
static struct proc *fpu_owner;

/* This CPU's data, reached through %fs as Linux's this_cpu_read() does. */
static struct percpu {
	struct proc *current;
	struct percpu *self;
} cpu0;

static struct proc *this_cpu_current(void)
{
	struct proc *p;
	__asm__ volatile("movl %%fs:%c1, %0" : "=r"(p) : "i"(offsetof(struct percpu, current)));
	return p;
}

static void set_current(struct proc *p)
{
	__asm__ volatile("movl %0, %%fs:%c1" : : "r"(p), "i"(offsetof(struct percpu, current)) : "memory");
}
#define current (this_cpu_current())

extern char trap_stubs[], syscall_stub[], kernel_gate_stub[], trapret[], sysenter_stub[];
extern char __start_utext[], __stop_utext[], __start_usys[], __stop_usys[], __start_urodata[], __stop_urodata[];
extern char __image_end[];
void swtch(uint32_t *old_kesp, uint32_t new_kesp);
static int escape;
void trap(struct trapframe *f);

/* The user programs (user.c). */
void user_fpu(void);
void user_mem(void);
void user_sel(void);
void user_escape(void);

static uint32_t read_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static uint32_t read_cr2(void) { uint32_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static uint32_t read_cr4(void) { uint32_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static void write_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static void write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static void write_cr4(uint32_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static void wrmsr(uint32_t msr, uint32_t lo) { __asm__ volatile("wrmsr" : : "c"(msr), "a"(lo), "d"(0)); }
static void fxsave(uint8_t *area) { __asm__ volatile("fxsave %0" : "=m"(*(uint8_t (*)[512])area)); }
static void fxrstor(const uint8_t *area) { __asm__ volatile("fxrstor %0" : : "m"(*(const uint8_t (*)[512])area)); }

static void *page_alloc(void)
{
	uint8_t *p;
	if (pool_used < POOL_PAGES)
		p = pool[pool_used++];
	else if (nfree)
		p = free_pages[--nfree];
	else
		fail("out of physical pages");
	for (uint32_t i = 0; i < PAGE; i++)
		p[i] = 0;
	return p;
}

/* ---- output buffered per process ---- */

static void out_putc(struct proc *p, char c)
{
	if (p->outlen < OUTBUF)
		p->out[p->outlen++] = c;
	else
		p->out_lost++;
}

/* ---- descriptor tables ---- */

static void set_gate(unsigned vec, void *handler, unsigned dpl)
{
	uint32_t off = (uint32_t)handler;
	idt[vec].lo = (off & 0xffff) | ((uint32_t)KCODE << 16);
	idt[vec].hi = (off & 0xffff0000u) | 0x8E00u | (dpl << 13);	/* P, 32-bit interrupt gate */
}

static void tables_init(void)
{
	gdt[1] = seg_desc(0, 0xFFFFF, ACC_CODE_RX, FLG_G | FLG_D);
	gdt[2] = seg_desc(0, 0xFFFFF, ACC_DATA_RW, FLG_G | FLG_D);
	gdt[3] = seg_desc(0, 0xFFFFF, 0xFB, FLG_G | FLG_D);		/* user code, accessed */
	gdt[4] = seg_desc(0, 0xFFFFF, ACC_DATA_RW3, FLG_G | FLG_D);
	/* gdt[5] stays zero: 0x2b must fault here, whatever it is on the host. */
	gdt[6] = seg_desc(TLS_TCB(0), 0xFFFFF, ACC_DATA_RW3, FLG_G | FLG_D);
	gdt[7] = seg_desc(HI(&tss), sizeof(tss) - 1, ACC_TSS32, 0);
	gdt[UDATA_HI >> 3] = seg_desc(0, 0xFFFFF, ACC_DATA_RW3, FLG_G | FLG_D);
	cpu0.self = &cpu0;
	gdt[PERCPU_SEL >> 3] = seg_desc((uint32_t)&cpu0, 0xFFFFF, ACC_DATA_RW, FLG_G | FLG_D);
	struct dtr g = { sizeof(gdt) - 1, HI(gdt) };
	lgdt(&g);
	__asm__ volatile("ljmp %0, $1f\n1:\n\t"
			 "movw %w1, %%ss\n\tmovw %w2, %%ds\n\tmovw %w2, %%es\n\t"
			 "movw %w3, %%fs\n\tmovw %w4, %%gs"
			 : : "i"(KCODE), "r"(KDATA), "r"(UDATA_HI), "r"(PERCPU_SEL), "r"(0) : "memory");

	tss.ss0 = KDATA;
	tss.esp0 = (uint32_t)kstacks[0] + KSTACK_SIZE;
	/* sysenter (CPUID reports SEP): into the kernel's code segment, on
	 * the kernel stack TSS.ESP0 names. */
	uint32_t id[4];
	__asm__ volatile("cpuid" : "=a"(id[0]), "=b"(id[1]), "=c"(id[2]), "=d"(id[3]) : "a"(1), "c"(0));
	if (!(id[3] & (1u << 11)))
		fail("the CPU does not report SEP (sysenter)");
	wrmsr(0x174, KCODE);
	wrmsr(0x175, tss.esp0);
	wrmsr(0x176, (uint32_t)sysenter_stub);
	tss.iomap = sizeof(tss);		/* no I/O bitmap: ring 3 gets no ports */
	__asm__ volatile("ltr %w0" : : "r"(TSS_SEL));

	for (unsigned v = 0; v < 48; v++)
		set_gate(v, trap_stubs + 16 * v, 0);
	set_gate(3, trap_stubs + 16 * 3, 3);	/* int3 and into from ring 3, as Linux allows */
	set_gate(4, trap_stubs + 16 * 4, 3);
	set_gate(VEC_SYSCALL, syscall_stub, 3);
	set_gate(VEC_KERNEL_ONLY, kernel_gate_stub, 0);
	struct dtr i = { sizeof(idt) - 1, HI(idt) };
	__asm__ volatile("lidt %0" : : "m"(i) : "memory");
}

/* ---- paging ---- */

static int in_range(uint32_t a, const char *lo, const char *hi)
{
	return a >= (uint32_t)lo && a < (uint32_t)hi;
}

static int in_user_image(uint32_t a)
{
	return in_range(a, __start_utext, __stop_utext) || in_range(a, __start_usys, __stop_usys) ||
	       in_range(a, __start_urodata, __stop_urodata);
}

static void paging_init(void)
{
	if ((uint32_t)__image_end > 0x400000u)
		fail("the image ends at 0x%08x, beyond the 4 MiB the kernel maps", (uint32_t)__image_end);
	if (((uint32_t)__start_utext | (uint32_t)__stop_utext | (uint32_t)__start_usys | (uint32_t)__stop_usys |
	     (uint32_t)__start_urodata | (uint32_t)__stop_urodata) & (PAGE - 1))
		fail("the user sections do not fill whole pages");
	for (uint32_t i = 1; i < 1024; i++) {
		uint32_t a = i * PAGE;
		/* The user programs' text and constants: readable, not writable,
		 * from ring 3; every other kernel page is supervisor-only. */
		kpt[i] = a | PTE_P | (in_user_image(a) ? PTE_U : PTE_W);
	}
	boot_pd[0] = (uint32_t)kpt | PTE_P | PTE_W | PTE_U;
	boot_pd[KERNEL_ALIAS >> 22] = (uint32_t)kpt | PTE_P | PTE_W;
	write_cr3((uint32_t)boot_pd);
	uint32_t cr0 = read_cr0();
	cr0 &= ~(1u << 2) & ~(1u << 3);		/* EM, TS: the FPU is there */
	cr0 |= (1u << 1) | (1u << 5) | (1u << 16) | (1u << 31);	/* MP, NE, WP, PG */
	write_cr0(cr0);
	write_cr4(read_cr4() | (1u << 9) | (1u << 10));	/* OSFXSR, OSXMMEXCPT */
	__asm__ volatile("fninit\n\tfxsave %0" : "=m"(fx_init));
}

static uint32_t *new_space(struct proc *p)
{
	uint32_t *pd = page_alloc();
	p->upt = page_alloc();
	pd[0] = (uint32_t)kpt | PTE_P | PTE_W | PTE_U;
	pd[USER_BASE >> 22] = (uint32_t)p->upt | PTE_P | PTE_W | PTE_U;
	pd[KERNEL_ALIAS >> 22] = (uint32_t)kpt | PTE_P | PTE_W;
	return pd;
}

static uint32_t *upte(struct proc *p, uint32_t va)
{
	return &p->upt[(va >> 12) & 1023];
}

static uint8_t *map_new(struct proc *p, uint32_t va)
{
	uint8_t *pg = page_alloc();
	*upte(p, va) = (uint32_t)pg | PTE_P | PTE_W | PTE_U;
	return pg;
}

/* The kernel's own view of a present user page (identity mapped pool). */
static uint8_t *user_page(struct proc *p, uint32_t va)
{
	if (va < USER_BASE || va >= USER_END)
		return 0;
	uint32_t e = *upte(p, va);
	return (e & PTE_P) ? (uint8_t *)(e & ~(PAGE - 1)) : 0;
}

/* ---- processes ---- */

static struct proc *proc_alloc(const char *name)
{
	if (nprocs >= MAXPROC)
		fail("too many processes");
	struct proc *p = &procs[nprocs];
	p->pid = ++nprocs;
	p->name = name;
	p->kstack = kstacks[p->pid - 1];
	return p;
}

/* The frame trapret pops: the user's registers, then the segments, then
 * the iret frame to ring 3; below it what swtch pops to get there. */
static void build_kstack(struct proc *p, const struct trapframe *tf)
{
	uint32_t *sp = (uint32_t *)(p->kstack + KSTACK_SIZE);
	struct trapframe *f = (struct trapframe *)((uint8_t *)sp - sizeof(*f));
	*f = *tf;
	p->tf = f;
	sp = (uint32_t *)f;
	*--sp = (uint32_t)trapret;
	for (int i = 0; i < 4; i++)	/* ebp, ebx, esi, edi */
		*--sp = 0;
	p->kesp = (uint32_t)sp;
}

static void spawn(const char *name, void (*entry)(void), uint32_t fs)
{
	struct proc *p = proc_alloc(name);
	p->pd = new_space(p);
	uint32_t *ud = (uint32_t *)map_new(p, USER_DATA);
	ud[0] = UDATA_MAGIC | p->pid;
	uint8_t *tls = map_new(p, USER_TLS);
	p->tls_base = TLS_TCB(p->pid);
	/* The TCB points at itself, as glibc's does (%gs:0). */
	*(uint32_t *)(tls + (p->tls_base & (PAGE - 1))) = p->tls_base;
	for (uint32_t i = 1; i <= USTACK_PAGES; i++)
		map_new(p, USTACK_TOP - i * PAGE);
	for (unsigned i = 0; i < sizeof(p->fx); i++)
		p->fx[i] = fx_init[i];
	struct trapframe tf = {
		.ds = UDATA, .es = UDATA, .fs = fs, .gs = 0,
		.eip = (uint32_t)entry, .cs = UCODE, .eflags = 0x202,
		.user_esp = USTACK_TOP - 16, .user_ss = UDATA,
	};
	build_kstack(p, &tf);
	p->state = P_RUNNABLE;
}

static int fork_current(void)
{
	struct proc *c = proc_alloc(current->name);
	c->parent = current->pid;
	c->pd = new_space(c);
	for (uint32_t i = 0; i < 1024; i++) {
		uint32_t e = current->upt[i];
		if (!(e & PTE_P))
			continue;
		const uint8_t *src = (const uint8_t *)(e & ~(PAGE - 1));
		uint8_t *dst = map_new(c, USER_BASE + i * PAGE);
		for (uint32_t b = 0; b < PAGE; b++)
			dst[b] = src[b];
	}
	c->heap_pages = 0;
	c->tls_base = current->tls_base;
	/* The parent's FPU state may be live in the registers (TS clear). */
	if (fpu_owner == current)
		fxsave(c->fx);
	else
		for (unsigned i = 0; i < sizeof(c->fx); i++)
			c->fx[i] = current->fx[i];
	struct trapframe tf = *current->tf;
	tf.eax = 0;
	build_kstack(c, &tf);
	c->state = P_RUNNABLE;
	return (int)c->pid;
}

static void finish(void);

static void switch_to(struct proc *next)
{
	struct proc *prev = current;
	if (next == prev)
		return;
	tss.esp0 = (uint32_t)next->kstack + KSTACK_SIZE;
	wrmsr(0x175, tss.esp0);			/* IA32_SYSENTER_ESP follows */
	/* Like Linux's TLS slots: the descriptor is rewritten, and trapret's
	 * pop %gs reloads it for the incoming process. */
	gdt[TLS_SEL >> 3] = seg_desc(next->tls_base, 0xFFFFF, ACC_DATA_RW3, FLG_G | FLG_D);
	/* The FPU moves only when the next one touches it (#NM). */
	if (next == fpu_owner)
		__asm__ volatile("clts");
	else
		write_cr0(read_cr0() | (1u << 3));
	write_cr3((uint32_t)next->pd);
	set_current(next);
	swtch(prev ? &prev->kesp : &boot_kesp, next->kesp);
}

/* Waits for the next interrupt with interrupts on, as an idle loop does:
 * the timer then interrupts ring 0 (a frame without ESP/SS). */
static void idle(void)
{
	__asm__ volatile("sti\n\thlt\n\tcli" ::: "memory");
}

/* Round robin in pid order, starting after the current process; idle
 * while everyone left sleeps. */
static void schedule(void)
{
	for (;;) {
		uint32_t start = current ? current->pid : 0;
		int sleepers = 0;
		for (uint32_t n = 1; n <= nprocs; n++) {
			struct proc *p = &procs[(start + n - 1) % nprocs];
			if (p->state == P_RUNNABLE) {
				switch_to(p);
				return;
			}
			sleepers += p->state == P_SLEEPING;
		}
		if (!sleepers)
			break;
		idle();
	}
	for (uint32_t i = 0; i < nprocs; i++)
		if (procs[i].state == P_WAITING)
			fail("every live process waits");
	finish();
}

static void timer_tick(void)
{
	ticks++;
	for (uint32_t i = 0; i < nprocs; i++)
		if (procs[i].state == P_SLEEPING && (int32_t)(ticks - procs[i].wake_tick) >= 0)
			procs[i].state = P_RUNNABLE;
}

static void wake_parent(struct proc *p)
{
	if (p->parent && procs[p->parent - 1].state == P_WAITING)
		procs[p->parent - 1].state = P_RUNNABLE;
}

static __attribute__((noreturn)) void exit_current(int code)
{
	current->exit_code = code;
	current->state = P_ZOMBIE;
	if (fpu_owner == current)
		fpu_owner = 0;
	wake_parent(current);
	schedule();
	fail("a dead process was scheduled");
}

static const char *vector_name(uint32_t v)
{
	switch (v) {
	case 0: return "#DE";
	case 1: return "#DB";
	case 3: return "#BP";
	case 4: return "#OF";
	case 6: return "#UD";
	case 7: return "#NM";
	case 10: return "#TS";
	case 11: return "#NP";
	case 12: return "#SS";
	case 13: return "#GP";
	case 14: return "#PF";
	default: return "#??";
	}
}

static __attribute__((noreturn)) void kill_current(struct trapframe *f, uint32_t cr2)
{
	struct proc *p = current;
	p->killed = 1;
	p->kill_vec = f->vector;
	p->kill_err = f->error;
	p->kill_cr2 = cr2;
	p->kill_eip = f->eip;
	exit_current(-1);
}

/* ---- system calls ---- */

static int sys_write(uint32_t buf, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++) {
		uint32_t a = buf + i;
		const uint8_t *pg = user_page(current, a);
		char c;
		if (pg)
			c = (char)pg[a & (PAGE - 1)];
		else if (a >= (uint32_t)__start_urodata && a < (uint32_t)__stop_urodata)
			c = *(const char *)a;
		else
			return -1;
		out_putc(current, c);
	}
	return (int)len;
}

static int sys_wait(void)
{
	for (;;) {
		int children = 0;
		for (uint32_t i = 0; i < nprocs; i++) {
			struct proc *c = &procs[i];
			if (c->parent != current->pid)
				continue;
			children++;
			if (c->state == P_ZOMBIE && !c->reaped) {
				c->reaped = 1;
				return (int)(c->pid << 8) | (c->exit_code & 0xff);
			}
		}
		if (!children)
			return -1;
		current->state = P_WAITING;
		schedule();
	}
}

static int sys_sleep(uint32_t n)
{
	uint32_t start = ticks;
	current->wake_tick = ticks + n;
	current->state = P_SLEEPING;
	schedule();
	return ticks - start >= n ? 0 : -1;
}

static int sys_unmap(uint32_t va)
{
	uint8_t *pg = user_page(current, va);
	if (!pg || nfree >= sizeof(free_pages) / sizeof(free_pages[0]))
		return -1;
	*upte(current, va) = 0;
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
	for (uint32_t i = 0; i < PAGE; i++)
		pg[i] = 0xDE;
	free_pages[nfree++] = pg;
	return 0;
}

static void syscall(struct trapframe *f)
{
	uint32_t r;
	switch (f->eax) {
	case SYS_WRITE: r = (uint32_t)sys_write(f->ebx, f->ecx); break;
	case SYS_YIELD: schedule(); r = 0; break;
	case SYS_GETPID: r = current->pid; break;
	case SYS_EXIT: exit_current((int)f->ebx);
	case SYS_FORK: r = (uint32_t)fork_current(); break;
	case SYS_WAIT: r = (uint32_t)sys_wait(); break;
	case SYS_CATCH: current->catch_eip = f->ebx; r = 0; break;
	case SYS_PREEMPTS: r = current->preempts; break;
	case SYS_SLEEP: r = (uint32_t)sys_sleep(f->ebx); break;
	case SYS_UNMAP: r = (uint32_t)sys_unmap(f->ebx); break;
	default: r = (uint32_t)-1; break;
	}
	f->eax = r;
}

/* ---- traps ---- */

/* Device not available: the running process wants the FPU back. */
static void fpu_take(void)
{
	__asm__ volatile("clts");
	if (fpu_owner == current)
		return;
	if (fpu_owner)
		fxsave(fpu_owner->fx);
	fxrstor(current->fx);
	fpu_owner = current;
	fpu_moves++;
}

static void user_fault(struct trapframe *f)
{
	uint32_t cr2 = f->vector == 14 ? read_cr2() : 0;
	if (f->vector == 14 && !(f->error & 1) && cr2 >= HEAP_BASE && cr2 < HEAP_BASE + HEAP_PAGES * PAGE) {
		/* Demand paging: a fresh zeroed page, and the access again. */
		map_new(current, cr2 & ~(PAGE - 1));
		current->heap_pages++;
		return;
	}
	if (current->catch_eip) {
		/* A probe the process asked for: it learns what happened. */
		f->ecx = f->vector == 14 ? cr2 : f->eip;
		if (f->vector == 1) {
			/* A single-step trap: as a debugger would, report DR6's
			 * BS bit, clear DR6 and stop stepping. */
			uint32_t dr6;
			__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
			__asm__ volatile("mov %0, %%dr6" : : "r"(0u));
			f->error = dr6 & 0x4000u;
			f->eflags &= ~0x100u;
		}
		f->eip = current->catch_eip;
		f->eax = f->vector;
		f->edx = f->error;
		current->catch_eip = 0;
		return;
	}
	kill_current(f, cr2);
}

void trap(struct trapframe *f)
{
	int from_user = (f->cs & 3) == 3;
	if (from_user) {
		/* The CPU gives the selectors of ring 3 with their RPL. */
		frames_from_user++;
		if (f->cs != UCODE || (f->user_ss & 3) != 3 || (uint32_t)(f + 1) != tss.esp0 ||
		    tss.esp0 != (uint32_t)current->kstack + KSTACK_SIZE)
			bad_user_frames++;
		current->tf = f;
	}
	if (f->vector >= IRQ_BASE && f->vector < IRQ_BASE + 16) {
		pic_eoi(f->vector - IRQ_BASE);
		if (f->vector == IRQ_BASE)
			timer_tick();
		if (!from_user) {
			/* Only the idle loop runs with interrupts on in ring 0. */
			kernel_irqs++;
			return;
		}
		if (f->vector == IRQ_BASE) {
			current->preempts++;
			schedule();
		}
		return;
	}
	if (!from_user)
		fail("kernel trap: vector 0x%x error 0x%x eip 0x%08x cr2 0x%08x",
		     f->vector, f->error, f->eip, read_cr2());
	if (f->vector == VEC_SYSCALL)
		syscall(f);
	else if (f->vector == 7)
		fpu_take();
	else
		user_fault(f);
}

/* ---- checks from ring 0 ---- */

static void lar_lsl(uint16_t sel, uint32_t *ar, uint32_t *lim, int ok[4])
{
	uint8_t z1, z2, z3, z4;
	uint32_t a = 0, l = 0;
	__asm__ volatile("larl %k2, %0\n\tsetz %1" : "+r"(a), "=q"(z1) : "r"((uint32_t)sel) : "cc");
	__asm__ volatile("lsll %k2, %0\n\tsetz %1" : "+r"(l), "=q"(z2) : "r"((uint32_t)sel) : "cc");
	__asm__ volatile("verr %w2\n\tsetz %0\n\tverw %w2\n\tsetz %1" : "=q"(z3), "=q"(z4) : "r"(sel) : "cc");
	*ar = a; *lim = l; ok[0] = z1; ok[1] = z2; ok[2] = z3; ok[3] = z4;
}

static const uint16_t probe_sels[] = { KCODE, KDATA, UCODE, UDATA, SEL_EMPTY, TLS_SEL, TSS_SEL, UDATA_HI,
					PERCPU_SEL, SEL_BEYOND };

static void ring0_checks(void)
{
	struct dtr g;
	sgdt(&g);
	kprintf("ring 0: sgdt limit 0x%04x, base is the kernel's GDT: %s\n", g.limit,
		g.base == HI(gdt) ? "yes" : "no");
	check_eq("sgdt limit", sizeof(gdt) - 1, g.limit);
	check_eq("sgdt base", HI(gdt), g.base);
	uint32_t self;
	__asm__ volatile("movl %%fs:%c1, %0" : "=r"(self) : "i"(offsetof(struct percpu, self)));
	kprintf("ring 0: %%ds 0x%02x %%es 0x%02x %%fs 0x%02x, %%fs:self is the per-CPU area: %s\n", read_ds(),
		read_es(), read_fs(), self == (uint32_t)&cpu0 ? "yes" : "no");
	check_eq("per-CPU self pointer", (uint32_t)&cpu0, self);
	uint16_t tr;
	__asm__ volatile("str %0" : "=r"(tr));
	kprintf("ring 0: str 0x%04x\n", tr);
	for (unsigned i = 0; i < sizeof(probe_sels) / sizeof(probe_sels[0]); i++) {
		uint32_t ar, lim;
		int ok[4];
		lar_lsl(probe_sels[i], &ar, &lim, ok);
		kprintf("ring 0: selector 0x%04x lar %s 0x%08x lsl %s 0x%08x verr %s verw %s\n", probe_sels[i],
			ok[0] ? "ok" : "--", ok[0] ? ar : 0, ok[1] ? "ok" : "--", ok[1] ? lim : 0,
			ok[2] ? "ok" : "--", ok[3] ? "ok" : "--");
	}
	int sys_user = in_user_image((uint32_t)&sys_tables) ||
		       in_user_image((uint32_t)&sys_tables + sizeof(sys_tables) - 1);
	kprintf("ring 0: GDT, IDT and TSS in supervisor-only pages: %s\n", sys_user ? "no" : "yes");
	check_true("descriptor tables outside the user image", !sys_user);
}

/* ---- the end ---- */

static void print_proc(const struct proc *p)
{
	/* Every line the process wrote, prefixed with its pid. */
	int bol = 1;
	for (uint32_t i = 0; i < p->outlen; i++) {
		if (bol)
			kprintf("pid %u: ", p->pid);
		serial_putc(p->out[i]);
		bol = p->out[i] == '\n';
	}
	if (!bol)
		serial_putc('\n');
	if (p->out_lost)
		kprintf("pid %u: %u bytes of output lost\n", p->pid, p->out_lost);
	if (p->killed) {
		kprintf("pid %u: killed by %s (vector %u) error 0x%04x", p->pid,
			vector_name(p->kill_vec), p->kill_vec, p->kill_err);
		if (p->kill_vec == 14)
			kprintf(" cr2 0x%08x", p->kill_cr2);
		kprintf("\n");
	} else {
		kprintf("pid %u: exit %d\n", p->pid, p->exit_code);
	}
}

struct expect { const char *name; int code; uint32_t vec, err, cr2; };

static void finish(void)
{
	/* Ten ticks in the idle loop: that many interrupts of ring 0. */
	uint32_t irqs = kernel_irqs, until = ticks + 10;
	while ((int32_t)(ticks - until) < 0)
		idle();
	int idle_ok = kernel_irqs - irqs >= 10;
	pit_stop();
	pic_set_mask(0xFFFF);
	uint32_t heap = 0;
	for (uint32_t i = 0; i < nprocs; i++) {
		print_proc(&procs[i]);
		heap += procs[i].heap_pages;
	}
	kprintf("kernel: %u processes, %u heap pages faulted in\n", nprocs, heap);
	kprintf("kernel: 10 ticks idle in sti;hlt took 10 interrupts of ring 0 or more: %s\n", idle_ok ? "yes" : "no");
	kprintf("kernel: frames from ring 3 with RPL 3 at the top of the process's ESP0 stack: %s\n",
		frames_from_user && !bad_user_frames ? "all" : "NOT ALL");
	kprintf("kernel: FPU state moved on #NM at least twice: %s\n", fpu_moves >= 2 ? "yes" : "no");
	/* What each process must have ended with (killed when code < 0). */
	static const struct expect base[] = {
		{ "fpu", 0, 0, 0, 0 },
		{ "fpu", 0, 0, 0, 0 },
		{ "mem", -1, 14, 6, 0x0BADC0DE },
		{ "sel", -1, 13, 0, 0 },
		{ "esc", -1, 13, 0x28, 0 },
		{ "mem", 0x11, 0, 0, 0 },
	};
	/* Without the escape process, its row is not there. */
	struct expect want[sizeof(base) / sizeof(base[0])];
	uint32_t nwant = 0;
	for (uint32_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		if (escape || base[i].vec != 13 || base[i].err != 0x28)
			want[nwant++] = base[i];
	int bad = 0;
	if (nprocs != nwant)
		bad = 1;
	for (uint32_t i = 0; i < nprocs && !bad; i++) {
		const struct proc *p = &procs[i];
		const struct expect *w = &want[i];
		if (w->code >= 0)
			bad |= p->killed || p->exit_code != w->code;
		else
			bad |= !p->killed || p->kill_vec != w->vec || p->kill_err != w->err ||
			       (w->vec == 14 && p->kill_cr2 != w->cr2);
		if (bad)
			kprintf("kernel: pid %u did not end as expected\n", p->pid);
	}
	if (bad || !frames_from_user || bad_user_frames || !idle_ok || fpu_moves < 2)
		fail("see the report above");
	pass();
}

/* "escape" as a word of the command line (after the kernel's path). */
static int escape_requested(void)
{
	if (!boot_info || !(boot_info->flags & 4) || !boot_info->cmdline)
		return 0;
	static const char w[] = "escape";
	for (const char *c = (const char *)boot_info->cmdline; *c; c++) {
		if (c != (const char *)boot_info->cmdline && c[-1] != ' ')
			continue;
		unsigned i = 0;
		while (w[i] && c[i] == w[i])
			i++;
		if (!w[i] && (c[i] == 0 || c[i] == ' '))
			return 1;
	}
	return 0;
}

void guest_main(void)
{
	escape = escape_requested();
	paging_init();
	tables_init();
	ring0_checks();
	spawn("fpu", user_fpu, UDATA);
	spawn("fpu", user_fpu, UDATA);
	spawn("mem", user_mem, UDATA);
	/* Its first iret to ring 3 must null a DPL-0 %fs. */
	spawn("sel", user_sel, PERCPU_SEL);
	if (escape)
		spawn("esc", user_escape, UDATA);
	pic_remap(IRQ_BASE, IRQ_BASE + 8);
	pic_set_mask(0xFFFE);			/* the PIT only */
	pit_set_periodic(PIT_DIVISOR);
	kprintf("kernel: %u processes, entering ring 3\n", nprocs);
	schedule();
	fail("the boot context was resumed");
}
