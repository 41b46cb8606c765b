/* The native column of make bench-nano: the bench_nano guest's operations
 * that a 32-bit Linux process can do, timed the same way (TSC cycles, the
 * median of 31 batches after one warm-up, less the median of empty
 * batches), and the host's TSC rate (rdtsc against CLOCK_MONOTONIC over
 * 200 ms) to turn cycles into ns. Prints "nano: <op> <cycles>" lines like
 * the guest, plus "nano: tsc_khz <rate>". The page fault here is a
 * SIGSEGV whose handler mprotects the page readable (pgfault), and, for
 * comparison, the kernel's own demand-zero fault (pgfault_demand).
 * Signal handlers return through a restorer of ours that makes the
 * rt_sigreturn call through the vDSO (sysenter) rather than libc's
 * int $0x80, which costs tens of microseconds on some hosts (the syscall
 * row shows what it costs here). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "../guests/bench_nano/nano.h"

#define RUNS NANO_RUNS

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double tsc_khz(void)
{
	double t0 = now_ns(), t;
	uint64_t c0 = rdtsc();
	while ((t = now_ns()) - t0 < 200e6)
		;
	return (double)(rdtsc() - c0) / (t - t0) * 1e6;
}

static uint8_t *region;
void *nano_vsyscall;

/* Entered with ESP at the frame's `sig` word (the handler returned past
 * pretcode); the kernel's rt_sigreturn takes the frame at its ESP - 4.
 * __kernel_vsyscall's call and three pushes land 16 bytes below the ESP
 * it hands the kernel, over sig, pinfo, puc and info's first word, which
 * sigreturn does not read. */
void nano_restorer(void);
__asm__(".text\n\t.globl nano_restorer\nnano_restorer:\n\t"
	"addl $16, %esp\n\tmovl $173, %eax\n\tcall *nano_vsyscall\n\tud2\n");

struct kernel_sigaction {
	void (*handler)(int, siginfo_t *, void *);
	unsigned long flags;
	void (*restorer)(void);
	uint32_t mask[2];
};
#define KSA_RESTORER 0x04000000ul

static void handle(int sig, void (*h)(int, siginfo_t *, void *))
{
	struct kernel_sigaction ksa = { h, SA_SIGINFO | SA_NODEFER, 0, { 0, 0 } };
	if (nano_vsyscall) {
		ksa.flags |= KSA_RESTORER;
		ksa.restorer = nano_restorer;
		if (syscall(SYS_rt_sigaction, sig, &ksa, NULL, 8) == 0)
			return;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sa.sa_sigaction = h;
	sigaction(sig, &sa, 0);
}

static __attribute__((noinline)) void loop_empty(uint32_t n) { __asm__ volatile("" : : "r"(n)); }

static __attribute__((noinline)) void loop_syscall(uint32_t n)
{
	/* getppid (64) through int $0x80: every register but EAX survives. */
	__asm__ volatile("1: movl $64, %%eax\n\tint $0x80\n\tdecl %0\n\tjnz 1b" : "+c"(n) : : "eax", "memory");
}

static __attribute__((noinline)) void loop_vsyscall(uint32_t n)
{
	__asm__ volatile("1: movl $64, %%eax\n\tcall *%1\n\tdecl %0\n\tjnz 1b"
			 : "+c"(n) : "S"(nano_vsyscall) : "eax", "memory");
}

static __attribute__((noinline)) void loop_callret(uint32_t n)
{
	__asm__ volatile("1: call 2f\n\tcall 2f\n\tcall 2f\n\tcall 2f\n\tdecl %0\n\tjnz 1b\n\tjmp 3f\n"
			 "2: ret\n3:" : "+c"(n) : : "memory");
}

/* divl %esi (2 bytes, F7 F6) with ESI = 0: the SIGFPE handler skips it. */
static __attribute__((noinline)) void loop_divzero(uint32_t n)
{
	__asm__ volatile("1: movl $1, %%eax\n\txorl %%edx, %%edx\n\tdivl %%esi\n\tdecl %0\n\tjnz 1b"
			 : "+c"(n) : "S"(0) : "eax", "edx", "memory");
}

static __attribute__((noinline)) void loop_touch(uint32_t n)
{
	volatile uint8_t *p = region;
	for (uint32_t i = 0; i < n; i++)
		(void)p[i * PAGE];
}

static __attribute__((noinline)) void loop_compute(uint32_t n)
{
	__asm__ volatile("movl $0x12345678, %%eax\n\tmovl $0x9e3779b9, %%edx\n"
			 "1: addl %%edx, %%eax\n\troll $5, %%eax\n\txorl %0, %%eax\n\tdecl %0\n\tjnz 1b"
			 : "+c"(n) : : "eax", "edx");
}

static void on_fpe(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	((ucontext_t *)ctx)->uc_mcontext.gregs[REG_EIP] += 2;
}

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	uintptr_t a = (uintptr_t)si->si_addr & ~(uintptr_t)(PAGE - 1);
	if (a < (uintptr_t)region || a >= (uintptr_t)region + NPAGES * PAGE)
		abort();
	mprotect((void *)a, PAGE, PROT_READ);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Median batch in cycles; `before` runs untimed ahead of each batch. */
static uint64_t batches(void (*loop)(uint32_t), uint32_t n, void (*before)(void))
{
	uint64_t c[RUNS];
	for (int b = 0; b < RUNS; b++) {
		if (before)
			before();
		uint64_t t0 = rdtsc();
		loop(n);
		c[b] = rdtsc() - t0;
	}
	qsort(c + 1, RUNS - 1, sizeof(c[0]), cmp_u64);
	return c[1 + (RUNS - 1) / 2];
}

static uint64_t overhead;

static void report(const char *op, void (*loop)(uint32_t), uint32_t n, uint32_t per, void (*before)(void))
{
	uint64_t m = batches(loop, n, before);
	double d = m > overhead ? (double)(m - overhead) : 0;
	printf("nano: %s %.3f\n", op, d / ((double)n * per));
}

static void protect_none(void) { mprotect(region, NPAGES * PAGE, PROT_NONE); }
static void drop_pages(void) { madvise(region, NPAGES * PAGE, MADV_DONTNEED); }

int main(void)
{
	printf("nano: tsc_khz %.0f\n", tsc_khz());
	overhead = batches(loop_empty, 1, 0);
	printf("nano-info: timing overhead %llu cycles\n", (unsigned long long)overhead);
	nano_vsyscall = (void *)getauxval(AT_SYSINFO);
	handle(SIGFPE, on_fpe);
	handle(SIGSEGV, on_segv);
	region = mmap(0, NPAGES * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		return 1;

	report("compute", loop_compute, N_COMPUTE, 1, 0);
	report("callret3", loop_callret, N_CALLRET, 4, 0);
	report("syscall", loop_syscall, N_SYSCALL, 1, 0);
	if (nano_vsyscall)
		report("sysenter", loop_vsyscall, N_SYSCALL, 1, 0);
	else
		printf("nano: sysenter n/a\n");
	report("divzero", loop_divzero, N_DIVZERO, 1, 0);
	report("pgfault", loop_touch, N_PGFAULT, 1, protect_none);
	mprotect(region, NPAGES * PAGE, PROT_READ);
	report("pgfault_demand", loop_touch, N_PGFAULT, 1, drop_pages);
	return 0;
}
