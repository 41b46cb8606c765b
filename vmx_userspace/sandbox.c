/* The VMX's confinement: once start-up is over (files open, guest loaded,
 * world set up), a seccomp filter built with libseccomp allows only the
 * system calls the run loop and the exit path make; any other one traps
 * (SIGSYS, si_code SYS_SECCOMP) and sandbox_stopped ends vmx with status 4.
 * Environment: host code; sandbox_stopped in uworld's SIGSYS handler. */
#define _GNU_SOURCE
#include "vmx.h"
#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

/* Where each call comes from (the list was taken with strace -f over every
 * test guest, the CLI tests, the fuzzer's check and the Linux test, from
 * the end of start-up on, then checked against the code; README "The
 * sandbox"). Calls with a condition are in `guarded` below. */
static const int allowed[] = {
	/* The world: guest mappings, the host timer, guest time. Time is
	 * a vDSO read normally; on a host whose clock the vDSO cannot read
	 * (this software-virtualized one) it is the system call. */
	SCMP_SYS(munmap), SCMP_SYS(timer_settime), SCMP_SYS(timer_delete),
	SCMP_SYS(clock_gettime), SCMP_SYS(rt_sigreturn), SCMP_SYS(restart_syscall),
	/* The console: guest output, polled input, idling until a deadline. */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(poll), SCMP_SYS(ppoll),
	/* Disks: sectors, FLUSH CACHE, the sync and close at exit. */
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(fdatasync), SCMP_SYS(close),
	/* malloc (the -stats report and the profile are built in memory at
	 * exit), and glibc's qsort, which asks sysinfo how much memory there is
	 * before it sorts a large array (the profile's fragments). */
	SCMP_SYS(brk), SCMP_SYS(mremap), SCMP_SYS(sysinfo),
	/* The -stats file was opened before the filter (stats_report_prepare):
	 * the exit path writes it and renames the temporary into place, or
	 * removes it. */
	SCMP_SYS(rename), SCMP_SYS(unlink),
	/* A signal that ends vmx: its default action is restored and raised. */
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(exit_group), SCMP_SYS(exit),
};

/* Names for the report, looked up now: the handler cannot allocate
 * (libseccomp's lookup returns a strdup, and the trap may have come from
 * inside malloc). Kept for the process's life. */
#define NAMES 512
static const char *names_native[NAMES], *names_i386[NAMES];
static uint32_t arch_native;

static void resolve_names(void)
{
	arch_native = seccomp_arch_native();
	for (int nr = 0; nr < NAMES; nr++) {
		names_native[nr] = seccomp_syscall_resolve_num_arch(arch_native, nr);
		names_i386[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86, nr);
	}
}

static int add(scmp_filter_ctx ctx, int nr, unsigned n, const struct scmp_arg_cmp *cmp)
{
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, cmp);
}

/* Calls allowed only with some arguments. */
static int add_guarded(scmp_filter_ctx ctx, bool guest_exec)
{
	/* The world maps guest pages readable, writable or not at all; the
	 * only executable memory (the monitor area with the TC) is mapped
	 * at start-up, so no new code can appear above 4 GiB. Guest pages
	 * (below 4 GiB) may become executable where the modes that run
	 * guest code directly have scanned them. */
	struct scmp_arg_cmp noexec = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	struct scmp_arg_cmp low = SCMP_A0(SCMP_CMP_LT, (scmp_datum_t)1 << 32);
	if (guest_exec && (add(ctx, SCMP_SYS(mprotect), 1, &low) || add(ctx, SCMP_SYS(mmap), 1, &low)))
		return -1;
	/* The LDT descriptors of segment shadowing: writes only (func 1). */
	struct scmp_arg_cmp ldt_write = SCMP_A0(SCMP_CMP_EQ, 1);
	/* The terminal's mode back at exit (TCSADRAIN) or on a signal
	 * (TCSANOW), on stdin; nothing else of the terminal. glibc reads
	 * the mode back after a TCSANOW (a pty ignores some flags silently). */
	struct scmp_arg_cmp tty_fd = SCMP_A0(SCMP_CMP_EQ, STDIN_FILENO);
	struct scmp_arg_cmp tcsets = SCMP_A1(SCMP_CMP_EQ, TCSETS);
	struct scmp_arg_cmp tcsetsw = SCMP_A1(SCMP_CMP_EQ, TCSETSW);
	struct scmp_arg_cmp tcgets = SCMP_A1(SCMP_CMP_EQ, TCGETS);
	/* raise() on this very process. */
	struct scmp_arg_cmp self = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid());
	if (add(ctx, SCMP_SYS(mmap), 1, &noexec) || add(ctx, SCMP_SYS(mprotect), 1, &noexec) ||
	    add(ctx, SCMP_SYS(modify_ldt), 1, &ldt_write) ||
	    add(ctx, SCMP_SYS(ioctl), 2, (struct scmp_arg_cmp[]){ tty_fd, tcsets }) ||
	    add(ctx, SCMP_SYS(ioctl), 2, (struct scmp_arg_cmp[]){ tty_fd, tcsetsw }) ||
	    add(ctx, SCMP_SYS(ioctl), 2, (struct scmp_arg_cmp[]){ tty_fd, tcgets }) ||
	    add(ctx, SCMP_SYS(tgkill), 1, &self))
		return -1;
	return 0;
}

/* The debugger's sockets: connections on its listening sockets (-gdb,
 * -monitor unix:), the gdb connection's TCP_NODELAY; data moves with read
 * and write, already allowed. */
static int add_accept(scmp_filter_ctx ctx, const int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct scmp_arg_cmp fd = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fds[i]);
		int rc = add(ctx, SCMP_SYS(accept4), 1, &fd);
		if (rc)
			return rc;
	}
	if (!n)
		return 0;
	struct scmp_arg_cmp tcp = SCMP_A1(SCMP_CMP_EQ, IPPROTO_TCP), nodelay = SCMP_A2(SCMP_CMP_EQ, TCP_NODELAY);
	return add(ctx, SCMP_SYS(setsockopt), 2, (struct scmp_arg_cmp[]){ tcp, nodelay });
}

int sandbox_enter(bool guest_exec, const int *accept_fds, unsigned naccept, char *err, size_t errlen)
{
	resolve_names();
	/* A call the list lacks traps rather than kills, so it is named;
	 * so does a call through another ABI (int 0x80 from 64-bit code). */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int rc = -EINVAL;
	const char *what = "seccomp_init";
	if (!ctx)
		goto fail;
	what = "the allow-list";
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP)) != 0)
		goto fail;
	for (unsigned i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
		if ((rc = add(ctx, allowed[i], 0, NULL)) != 0)
			goto fail;
	if ((rc = add_guarded(ctx, guest_exec)) != 0 || (rc = add_accept(ctx, accept_fds, naccept)) != 0)
		goto fail;
	/* Every host timer signal makes three of these, every hidden fault
	 * the mmap: the filter tests them first. */
	static const int hot[] = { SCMP_SYS(rt_sigreturn), SCMP_SYS(clock_gettime), SCMP_SYS(timer_settime),
				   SCMP_SYS(mmap), SCMP_SYS(write), SCMP_SYS(mprotect) };
	for (unsigned i = 0; i < sizeof hot / sizeof hot[0]; i++)
		if ((rc = seccomp_syscall_priority(ctx, hot[i], (uint8_t)(255 - i))) != 0)
			goto fail;
	/* Sets no_new_privs first, which an unprivileged filter needs. */
	what = "seccomp_load";
	if ((rc = seccomp_load(ctx)) != 0)
		goto fail;
	seccomp_release(ctx);
	return 0;
fail:
	if (ctx)
		seccomp_release(ctx);
	snprintf(err, errlen, "vmx: cannot set up the sandbox (%s: %s); -sandbox off runs without it",
		 what, strerror(rc < 0 ? -rc : EINVAL));
	return -1;
}

void sandbox_test_violation(void)
{
	/* A local socket: outside the allow-list, and no traffic if allowed. */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd >= 0)
		close(fd);
}

/* ---- the report, async-signal-safe: no stdio, no allocation ---- */

static size_t put_str(char *b, size_t at, size_t cap, const char *s)
{
	while (*s && at + 1 < cap)
		b[at++] = *s++;
	return at;
}

static size_t put_num(char *b, size_t at, size_t cap, uint64_t v, unsigned base, unsigned min_digits)
{
	char d[24];
	unsigned n = 0;
	do {
		d[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v && n < sizeof d);
	while (n < min_digits && n < sizeof d)
		d[n++] = '0';
	while (n && at + 1 < cap)
		b[at++] = d[--n];
	return at;
}

void sandbox_stopped(int nr, uint32_t arch, const void *call_addr)
{
	/* A refused call on the way out (a list missing one of the calls
	 * below) would come back here: end at once instead of recursing. */
	static volatile sig_atomic_t stopping;
	if (stopping)
		_exit(4);
	stopping = 1;
	const char *name = NULL;
	if (nr >= 0 && nr < NAMES)
		name = arch == arch_native ? names_native[nr] : arch == SCMP_ARCH_X86 ? names_i386[nr] : NULL;
	char line[160];
	size_t n = put_str(line, 0, sizeof line, "vmx: the sandbox stopped system call ");
	n = put_str(line, n, sizeof line, name ? name : "(unknown)");
	if (arch != arch_native)
		n = put_str(line, n, sizeof line, arch == SCMP_ARCH_X86 ? " [i386]" : " [foreign ABI]");
	n = put_str(line, n, sizeof line, " (");
	n = put_num(line, n, sizeof line, (uint32_t)nr, 10, 1);
	n = put_str(line, n, sizeof line, ") at 0x");
	n = put_num(line, n, sizeof line, (uint64_t)(uintptr_t)call_addr, 16, 1);
	line[n++] = '\n';
	/* Every call from here on is on the list. */
	console_restore_signal();
	(void)!write(STDERR_FILENO, line, n);
	stats_report_abandon_signal();
	_exit(4);
}
