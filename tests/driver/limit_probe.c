/* Does this CPU check data-segment limits in 32-bit code? The monitor is
 * hidden from guest code by segment truncation (DESIGN §3.1), which only a
 * CPU that checks limits enforces; QEMU's software emulation, the
 * check-driver host's CPU, does not. A read past a 4 KiB limit through an
 * LDT selector: SIGSEGV where limits are checked.
 * Environment: a static i386 program (the host's IA-32 emulation). Prints
 * one line; exit status 0 checked, 1 not checked, 2 could not tell. */
#include <asm/ldt.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static sigjmp_buf back;
static char buf[3 * 4096] __attribute__((aligned(4096)));

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(back, 1);
}

int main(void)
{
	struct user_desc d = { .entry_number = 0, .base_addr = (unsigned)(unsigned long)buf, .limit = 0xfff,
			       .seg_32bit = 1, .useable = 1 };
	if (syscall(SYS_modify_ldt, 1, &d, sizeof(d)) != 0) {
		perror("limit_probe: modify_ldt");
		return 2;
	}
	signal(SIGSEGV, on_segv);
	volatile int faulted = 0;
	unsigned v = 0;
	if (sigsetjmp(back, 1) == 0)
		__asm__ volatile("mov %1, %%fs; movl %%fs:0x2000, %0" : "=r"(v) : "r"(7u) : "memory");
	else
		faulted = 1;
	__asm__ volatile("mov %0, %%fs" :: "r"(0u));
	(void)v;
	printf("limit_probe: data segment limits %s\n", faulted ? "checked" : "not checked");
	return faulted ? 0 : 1;
}
