/* The workloads of `make bench` (tests/linux/run-bench.sh): a static i386
 * program run inside the Linux guest under vmx and QEMU, and natively on the
 * host. Each workload is timed here with CLOCK_MONOTONIC and printed as one
 * "bench: NAME MS ms OPS ops CPU cpu-ms" line, so every run is measured the
 * same way. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Sizes chosen so that the slowest of vmx and QEMU spends about a second
 * or less on each workload: make bench boots the guest many times. */
#define CPU_ITERS      200000000u
#define SYSCALL_ITERS  200000
#define FORK_ITERS     500
#define EXEC_ITERS     200
#define FAULT_BYTES    (64u << 20)
#define SORT_INTS      (1u << 20)

static const char *self;

/* The workloads' code has pages of its own. vmx runs a user page natively
 * only if nothing on it needs translating, and the glibc code the linker
 * places around this file's (its CPU-feature detection uses cpuid) would
 * otherwise share pages with the CPU loop, the comparator and the PIC
 * thunk that glibc's own functions call too, and keep them translated.
 * This function's alignment, wherever the compiler puts it, starts the
 * file's code on a page; bench-end.c, linked right after this file,
 * starts a page after the thunk that ends it. Only the layout changes,
 * not the code measured; run-bench.sh checks it. */
__attribute__((aligned(4096), noinline, used)) void bench_text_align(void)
{
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* This process and its waited-for children: natively the CPU time the host
 * gave the workload, which a shared host does not inflate as it does the
 * wall clock. */
static double cpu_ms(void)
{
	struct rusage self_ru, kids;
	getrusage(RUSAGE_SELF, &self_ru);
	getrusage(RUSAGE_CHILDREN, &kids);
	double us = 0;
	for (int i = 0; i < 2; i++) {
		const struct rusage *r = i ? &kids : &self_ru;
		us += (r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1e6 + r->ru_utime.tv_usec + r->ru_stime.tv_usec;
	}
	return us / 1e3;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* The sum goes to a volatile: without it the compiler drops the loop. */
static volatile uint32_t sink;

static unsigned long run_cpu(void)
{
	uint32_t x = 1, sum = 0;
	for (uint32_t i = 0; i < CPU_ITERS; i++) {
		x = x * 1103515245u + 12345u;
		sum += (x >> 16) ^ i;
	}
	sink = sum;
	return CPU_ITERS;
}

/* syscall() rather than getppid(): some libcs cache pids. */
static unsigned long run_syscall(void)
{
	for (int i = 0; i < SYSCALL_ITERS; i++)
		syscall(SYS_getppid);
	return SYSCALL_ITERS;
}

static void reap(pid_t pid)
{
	int st;
	if (pid < 0)
		die("fork");
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench: child %d failed (status %#x)\n", (int)pid, st);
		exit(1);
	}
}

static unsigned long run_fork(void)
{
	for (int i = 0; i < FORK_ITERS; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		reap(pid);
	}
	return FORK_ITERS;
}

static unsigned long run_exec(void)
{
	for (int i = 0; i < EXEC_ITERS; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			execl(self, self, "exec-child", (char *)NULL);
			_exit(127);
		}
		reap(pid);
	}
	return EXEC_ITERS;
}

/* One write per page of a mapping no one has touched: every page is a
 * fresh anonymous fault (zeroed page, PTE written). */
static unsigned long run_fault(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, FAULT_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	for (uint32_t off = 0; off < FAULT_BYTES; off += page)
		p[off] = 1;
	munmap(p, FAULT_BYTES);
	return FAULT_BYTES / page;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Only qsort is timed by the caller's clock; the fill is cheap next to it. */
static int *sort_buf;

static void sort_prepare(void)
{
	uint32_t x = 12345;
	sort_buf = malloc(SORT_INTS * sizeof *sort_buf);
	if (!sort_buf)
		die("malloc");
	for (uint32_t i = 0; i < SORT_INTS; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		sort_buf[i] = (int)x;
	}
}

static unsigned long run_qsort(void)
{
	qsort(sort_buf, SORT_INTS, sizeof *sort_buf, cmp_int);
	for (uint32_t i = 1; i < SORT_INTS; i++)
		if (sort_buf[i - 1] > sort_buf[i]) {
			fprintf(stderr, "bench: qsort left %u out of order\n", i);
			exit(1);
		}
	free(sort_buf);
	return SORT_INTS;
}

static const struct workload {
	const char *name;
	void (*prepare)(void);
	unsigned long (*run)(void);
} workloads[] = {
	{ "cpu", NULL, run_cpu },
	{ "syscall", NULL, run_syscall },
	{ "fork", NULL, run_fork },
	{ "exec", NULL, run_exec },
	{ "pagefault", NULL, run_fault },
	{ "qsort", sort_prepare, run_qsort },
};
#define N_WORKLOADS (sizeof workloads / sizeof workloads[0])

static void run_one(const struct workload *w)
{
	if (w->prepare)
		w->prepare();
	/* The host timestamps this line and the result line: its wall clock
	 * against the guest clock. */
	printf("bench: begin %s\n", w->name);
	double c0 = cpu_ms(), t0 = now_ms();
	unsigned long ops = w->run();
	double t1 = now_ms(), c1 = cpu_ms();
	printf("bench: %s %.3f ms %lu ops %.3f cpu-ms\n", w->name, t1 - t0, ops, c1 - c0);
	fflush(stdout);
}

/* Usage: bench all | bench NAME... | bench none. "exec-child" is what the
 * exec workload runs: itself, with that argument, exiting at once. */
int main(int argc, char **argv)
{
	self = argv[0];
	if (argc == 2 && strcmp(argv[1], "exec-child") == 0)
		return 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int a = 1; a < argc; a++) {
		int found = 0;
		for (size_t i = 0; i < N_WORKLOADS; i++)
			if (strcmp(argv[a], "all") == 0 || strcmp(argv[a], workloads[i].name) == 0) {
				run_one(&workloads[i]);
				found = 1;
			}
		if (!found && strcmp(argv[a], "none") != 0) {
			fprintf(stderr, "bench: no workload %s\n", argv[a]);
			return 2;
		}
	}
	printf("bench: done\n");
	return 0;
}
