/* A self-checking static i386 Linux program for the guest kernel's user
 * space: processes, memory mappings, signals, FPU/SSE state across
 * preemption, pipes, clocks and %gs TLS. One "ok NAME" or "FAIL NAME: why"
 * line per check, then a count; exit 0 only if every check passed. Output
 * never depends on timing, so runs under vmx and natively compare equal. */
#define _GNU_SOURCE
#include <emmintrin.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;
static char *self_path;

static void ok(const char *name)
{
	printf("ok %s\n", name);
	passed++;
}

static void bad(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(const char *name, const char *fmt, ...)
{
	va_list ap;
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failed++;
}

/* The child's stdio buffer would otherwise be flushed twice. */
static pid_t fork_flushed(void)
{
	fflush(stdout);
	return fork();
}

/* Returns the exit status, or -1 (with a reason in why) for anything else. */
static int wait_exit(pid_t pid, char *why, size_t n)
{
	int st;
	pid_t r;
	while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (r != pid) {
		snprintf(why, n, "waitpid returned %d: %s", (int)r, strerror(errno));
		return -1;
	}
	if (WIFSIGNALED(st)) {
		snprintf(why, n, "child killed by signal %d", WTERMSIG(st));
		return -1;
	}
	if (!WIFEXITED(st)) {
		snprintf(why, n, "child status 0x%x", st);
		return -1;
	}
	return WEXITSTATUS(st);
}

static void check_fork_wait(void)
{
	char why[128];
	pid_t pid = fork_flushed();
	if (pid < 0) {
		bad("fork-wait", "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0)
		_exit(42);
	int st = wait_exit(pid, why, sizeof why);
	if (st == 42)
		ok("fork-wait");
	else if (st < 0)
		bad("fork-wait", "%s", why);
	else
		bad("fork-wait", "exit status %d, want 42", st);
}

static void check_fork_exec(void)
{
	char why[128];
	pid_t pid = fork_flushed();
	if (pid < 0) {
		bad("fork-exec", "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		char *argv[] = { self_path, "child-exec", NULL };
		char *envp[] = { "USERPROG=1", NULL };
		execve(self_path, argv, envp);
		_exit(127);
	}
	int st = wait_exit(pid, why, sizeof why);
	if (st == 7)
		ok("fork-exec");
	else if (st < 0)
		bad("fork-exec", "%s", why);
	else
		bad("fork-exec", "exit status %d, want 7 (127: execve of %s failed)", st, self_path);
}

/* Run by check_fork_exec in the new image: the argument and environment
 * arrived, and the status it exits with is the parent's check. */
static int child_exec(char **envp)
{
	int env_ok = envp[0] && !strcmp(envp[0], "USERPROG=1");
	printf("child-exec: running, environment %s\n", env_ok ? "passed" : "lost");
	return env_ok ? 7 : 8;
}

#define MAP_PAGES 64

static void check_mmap(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t len = (size_t)MAP_PAGES * (size_t)pg;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		bad("mmap-anon", "mmap: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < MAP_PAGES; i++)
		memset(p + i * (size_t)pg, (int)(i + 1), (size_t)pg);
	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(i / (size_t)pg + 1)) {
			bad("mmap-anon", "byte %zu reads 0x%02x, want 0x%02x", i, p[i],
			    (unsigned)(i / (size_t)pg + 1));
			munmap(p, len);
			return;
		}
	if (munmap(p, len) != 0) {
		bad("mmap-anon", "munmap: %s", strerror(errno));
		return;
	}
	/* Asking for the same place makes the kernel reuse those frames'
	 * virtual range: stale contents there would be a bug. */
	uint8_t *q = mmap(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q == MAP_FAILED) {
		bad("mmap-anon", "second mmap: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < len; i++)
		if (q[i] != 0) {
			bad("mmap-anon", "second mapping's byte %zu reads 0x%02x, want 0", i, q[i]);
			munmap(q, len);
			return;
		}
	munmap(q, len);
	ok("mmap-anon");
}

static sigjmp_buf segv_env;
static void *volatile segv_addr;
static volatile int segv_code;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	segv_addr = si->si_addr;
	segv_code = si->si_code;
	siglongjmp(segv_env, 1);
}

static void check_mprotect_segv(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct sigaction sa, old;
	volatile uint8_t *p = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		bad("mprotect-segv", "mmap: %s", strerror(errno));
		return;
	}
	p[123] = 0x5C;
	if (mprotect((void *)p, (size_t)pg, PROT_READ) != 0) {
		bad("mprotect-segv", "mprotect: %s", strerror(errno));
		return;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old);
	segv_addr = NULL;
	volatile int faulted = 0;
	if (sigsetjmp(segv_env, 1) == 0)
		p[123] = 0xA5;
	else
		faulted = 1;
	void *addr1 = segv_addr;
	int code1 = segv_code;
	sigaction(SIGSEGV, &old, NULL);
	/* The second fault proves siglongjmp restored the signal mask. */
	volatile int again = 0;
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(segv_env, 1) == 0)
		p[124] = 1;
	else
		again = 1;
	sigaction(SIGSEGV, &old, NULL);
	if (!faulted)
		bad("mprotect-segv", "the write to a read-only page did not fault");
	else if (addr1 != (void *)(p + 123))
		bad("mprotect-segv", "si_addr %p, want %p", addr1, (void *)(p + 123));
	else if (code1 != SEGV_ACCERR)
		bad("mprotect-segv", "si_code %d, want SEGV_ACCERR", code1);
	else if (!again || segv_addr != (void *)(p + 124))
		bad("mprotect-segv", "second fault %s (si_addr %p, want %p)",
		    again ? "at the wrong address" : "not delivered", segv_addr, (void *)(p + 124));
	else if (p[123] != 0x5C)
		bad("mprotect-segv", "the page reads 0x%02x after the faulting write, want 0x5c", p[123]);
	else
		ok("mprotect-segv");
	munmap((void *)p, (size_t)pg);
}

/* x87: long double is always the x87 unit on i386, whatever -mfpmath. The
 * partial sums of 1/k^2 live in st(0) for the whole loop, so a context
 * switch that lost FPU state shows up as a wrong sum. */
static volatile int series_terms = 20000;

static long double x87_series(void)
{
	long double s = 0;
	int n = series_terms;
	for (int k = n; k >= 1; k--)
		s += 1.0L / ((long double)k * k);
	return s;
}

/* SSE2 in xmm registers: two lanes of doubles summing k/2 and k/4 (exact),
 * four lanes of integers mixed by shifts, xors and adds, checked against
 * the same arithmetic done in general registers. */
struct sse_result { double d[2]; uint32_t u[4]; };

__attribute__((target("sse2"))) static void sse_work(struct sse_result *r)
{
	__m128d acc = _mm_setzero_pd(), step = _mm_set_pd(0.25, 0.5), k = _mm_setzero_pd();
	__m128i x = _mm_set_epi32(4, 3, 2, 1), c = _mm_set1_epi32(0x9E3779B9);
	int n = series_terms;
	for (int i = 1; i <= n; i++) {
		k = _mm_add_pd(k, _mm_set1_pd(1.0));
		acc = _mm_add_pd(acc, _mm_mul_pd(k, step));
		x = _mm_xor_si128(x, _mm_slli_epi32(x, 13));
		x = _mm_xor_si128(x, _mm_srli_epi32(x, 17));
		x = _mm_add_epi32(_mm_xor_si128(x, _mm_slli_epi32(x, 5)), c);
	}
	_mm_storeu_pd(r->d, acc);
	_mm_storeu_si128((__m128i *)r->u, x);
}

static void sse_expected(struct sse_result *r)
{
	double n = series_terms;
	uint32_t x[4] = { 1, 2, 3, 4 };
	r->d[0] = n * (n + 1) / 4;
	r->d[1] = n * (n + 1) / 8;
	for (int i = 1; i <= series_terms; i++)
		for (int l = 0; l < 4; l++) {
			x[l] ^= x[l] << 13;
			x[l] ^= x[l] >> 17;
			x[l] = (x[l] ^ x[l] << 5) + 0x9E3779B9u;
		}
	memcpy(r->u, x, sizeof x);
}

#define FPU_ROUNDS 200

/* Returns 0, or the round (1-based) whose result was wrong. */
static int fpu_rounds(void)
{
	long double n = series_terms;
	long double want = (long double)M_PI * M_PI / 6 - 1 / n + 1 / (2 * n * n);
	long double first = x87_series();
	struct sse_result exp, got;
	sse_expected(&exp);
	if (fabsl(first - want) > 1e-11L)
		return 1;
	for (int i = 1; i <= FPU_ROUNDS; i++) {
		if (x87_series() != first)
			return i;
		sse_work(&got);
		if (memcmp(&got, &exp, sizeof got) != 0)
			return i;
		sched_yield();
	}
	return 0;
}

static void check_fpu_two_processes(void)
{
	char why[128];
	pid_t pid = fork_flushed();
	if (pid < 0) {
		bad("fpu-sse-preempt", "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0)
		_exit(fpu_rounds() ? 1 : 0);
	int mine = fpu_rounds();
	int st = wait_exit(pid, why, sizeof why);
	if (mine)
		bad("fpu-sse-preempt", "the parent's x87 or SSE result was wrong in round %d", mine);
	else if (st < 0)
		bad("fpu-sse-preempt", "%s", why);
	else if (st)
		bad("fpu-sse-preempt", "the child's x87 or SSE results were wrong");
	else
		ok("fpu-sse-preempt");
}

/* The byte stream: a 32-bit LCG's top bytes; the checksum is FNV-1a. */
#define PIPE_BYTES (1u << 20)
static uint32_t lcg_next(uint32_t *s) { *s = *s * 1664525u + 1013904223u; return *s >> 24; }
static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void pipe_writer(int fd)
{
	static uint8_t buf[7001];   /* odd sizes: writes do not line up with pages */
	uint32_t s = 1;
	size_t left = PIPE_BYTES;
	while (left) {
		size_t n = left < sizeof buf ? left : sizeof buf;
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)lcg_next(&s);
		for (size_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				_exit(3);
			off += (size_t)w;
		}
		left -= n;
	}
	_exit(close(fd) == 0 ? 0 : 4);
}

static void check_pipe(void)
{
	static uint8_t buf[65536];
	char why[128];
	int fds[2];
	if (pipe(fds) != 0) {
		bad("pipe-1mib", "pipe: %s", strerror(errno));
		return;
	}
	pid_t pid = fork_flushed();
	if (pid < 0) {
		bad("pipe-1mib", "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		close(fds[0]);
		pipe_writer(fds[1]);
	}
	close(fds[1]);
	uint32_t h = 2166136261u, s = 1;
	size_t total = 0;
	for (;;) {
		ssize_t r = read(fds[0], buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		h = fnv(h, buf, (size_t)r);
		total += (size_t)r;
	}
	close(fds[0]);
	uint32_t want = 2166136261u;
	for (size_t i = 0; i < PIPE_BYTES; i++) {
		uint8_t b = (uint8_t)lcg_next(&s);
		want = fnv(want, &b, 1);
	}
	int st = wait_exit(pid, why, sizeof why);
	if (st != 0)
		bad("pipe-1mib", "writer: %s", st < 0 ? why : "a write failed");
	else if (total != PIPE_BYTES)
		bad("pipe-1mib", "read %zu bytes, want %u", total, PIPE_BYTES);
	else if (h != want)
		bad("pipe-1mib", "checksum 0x%08x, want 0x%08x", h, want);
	else
		ok("pipe-1mib");
}

static int64_t ns_of(const struct timespec *t) { return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec; }

static void check_clocks(void)
{
	struct timeval tv;
	struct timespec a, b, nap = { 0, 10 * 1000 * 1000 };
	if (gettimeofday(&tv, NULL) != 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		bad("gettimeofday", "returned usec %ld", (long)tv.tv_usec);
	else
		ok("gettimeofday");
	if (clock_gettime(CLOCK_MONOTONIC, &a) != 0) {
		bad("clock-monotonic", "clock_gettime: %s", strerror(errno));
		return;
	}
	int64_t prev = ns_of(&a);
	for (int i = 0; i < 1000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (b.tv_nsec < 0 || b.tv_nsec >= 1000000000 || ns_of(&b) < prev) {
			bad("clock-monotonic", "went back or out of range at read %d", i);
			return;
		}
		prev = ns_of(&b);
	}
	/* A sleep of 10 ms lasts at least that long on the monotonic clock
	 * (how much longer depends on the host, so it is not checked). */
	while (nanosleep(&nap, &nap) != 0 && errno == EINTR)
		;
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (ns_of(&b) - ns_of(&a) < 10 * 1000 * 1000)
		bad("clock-monotonic", "a 10 ms nanosleep took less than 10 ms");
	else
		ok("clock-monotonic");
}

/* .tdata and .tbss: glibc reaches them through %gs on i386, whose
 * descriptor comes from set_thread_area. */
static __thread int tls_init = 1234;
static __thread unsigned tls_zero[64];

static void check_tls(void)
{
	char why[128];
	unsigned short gs;
	void *tcb;
	__asm__ volatile("mov %%gs, %0" : "=r"(gs));
	__asm__ volatile("mov %%gs:0, %0" : "=r"(tcb));
	if (gs == 0) {
		bad("tls-gs", "%%gs is the null selector");
		return;
	}
	/* Variant II: the TCB's first word points to itself, the variables
	 * sit just below it. */
	if ((char *)&tls_init >= (char *)tcb || (char *)tcb - (char *)&tls_init > 65536) {
		bad("tls-gs", "&tls_init %p is not just below the TCB %p", (void *)&tls_init, tcb);
		return;
	}
	if (tls_init != 1234) {
		bad("tls-gs", "initialised __thread reads %d, want 1234", tls_init);
		return;
	}
	for (int i = 0; i < 64; i++)
		if (tls_zero[i]) {
			bad("tls-gs", "zero-initialised __thread [%d] reads %u", i, tls_zero[i]);
			return;
		}
	tls_init = 5678;
	for (int i = 0; i < 64; i++)
		tls_zero[i] = (unsigned)i * 3;
	pid_t pid = fork_flushed();
	if (pid == 0) {
		/* A copy of the parent's, then the child's own. */
		int good = tls_init == 5678 && tls_zero[63] == 189;
		tls_init = 1;
		_exit(good && tls_init == 1 ? 0 : 1);
	}
	int st = pid < 0 ? -1 : wait_exit(pid, why, sizeof why);
	int sum = 0;
	for (int i = 0; i < 64; i++)
		sum += (int)tls_zero[i];
	if (pid < 0)
		bad("tls-gs", "fork: %s", strerror(errno));
	else if (st != 0)
		bad("tls-gs", "the child's copy of the TLS block was wrong (%s)", st < 0 ? why : "status 1");
	else if (tls_init != 5678 || sum != 3 * 63 * 64 / 2)
		bad("tls-gs", "written __thread variables read back %d and sum %d", tls_init, sum);
	else
		ok("tls-gs");
}

int main(int argc, char **argv, char **envp)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "child-exec"))
		return child_exec(envp);
	/* /proc may not be mounted in an initramfs: then argv[0] is the path. */
	self_path = access("/proc/self/exe", X_OK) == 0 ? "/proc/self/exe" : argv[0];
	check_fork_wait();
	check_fork_exec();
	check_mmap();
	check_mprotect_segv();
	check_fpu_two_processes();
	check_pipe();
	check_clocks();
	check_tls();
	printf("userprog: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
