/* Does the host CPU check segment limits in compatibility mode? Both
 * worlds hide the monitor from guest code by truncating its segments
 * (DESIGN §3.1), which only such a CPU enforces; software emulation (QEMU's
 * TCG, where check-driver runs) checks no data segment limit. Asked once
 * at start, in a child: a read past a 4 KiB limit from 32-bit code. */
#include "vmx.h"
#include <asm/ldt.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define USER32_CS 0x23   /* Linux x86-64's compatibility-mode code selector */
#define USER64_CS 0x33

/* The child's 32-bit code at `code` (below 4 GiB): loads %fs with LDT
 * entry 0 (base `data`, limit 0xfff), reads %fs:0x2000, and far-jumps
 * back to 64-bit code that exits with status 1 ("not checked"). A CPU that
 * checks the limit raises #GP there: SIGSEGV ends the child. */
static void child(uint8_t *code, uint8_t *data)
{
	struct user_desc d = { .entry_number = 0, .base_addr = (unsigned)(uintptr_t)data, .limit = 0xfff,
			       .seg_32bit = 1, .useable = 1 };
	/* The expected SIGSEGV: no handler, no core file. */
	signal(SIGSEGV, SIG_DFL);
	prctl(PR_SET_DUMPABLE, 0);
	if (syscall(SYS_modify_ldt, 1, &d, sizeof(d)) != 0)
		_exit(2);
	uint32_t ret64 = (uint32_t)(uintptr_t)code + 64;
	static const uint8_t c32[] = {
		0xb8, 0x07, 0x00, 0x00, 0x00,             /* mov $7,%eax (LDT 0, RPL 3) */
		0x8e, 0xe0,                               /* mov %eax,%fs */
		0x64, 0xa1, 0x00, 0x20, 0x00, 0x00,       /* mov %fs:0x2000,%eax */
		0xea,                                     /* ljmp $0x33,$ret64 */
	};
	static const uint8_t c64[] = {
		0xb8, 0xe7, 0x00, 0x00, 0x00,             /* mov $231,%eax (exit_group) */
		0xbf, 0x01, 0x00, 0x00, 0x00,             /* mov $1,%edi */
		0x0f, 0x05,                               /* syscall */
	};
	memcpy(code, c32, sizeof(c32));
	memcpy(code + sizeof(c32), &ret64, 4);
	code[sizeof(c32) + 4] = USER64_CS;
	code[sizeof(c32) + 5] = 0;
	memcpy(code + 64, c64, sizeof(c64));
	/* A far jump, m16:32: no stack access (QEMU's emulation with SMAP
	 * makes a far return's stack read a supervisor one, and the host
	 * kernel oopses on its fault). */
	struct __attribute__((packed)) { uint32_t off; uint16_t sel; } to32 = { (uint32_t)(uintptr_t)code, USER32_CS };
	__asm__ volatile("ljmpl *%0" :: "m"(to32) : "memory");
	_exit(2);
}

int vmx_cpu_checks_limits(void)
{
	uint8_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
			     -1, 0);
	uint8_t *data = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	int r = -1;
	if (code == MAP_FAILED || data == MAP_FAILED)
		goto out;
	pid_t pid = fork();
	if (pid == 0)
		child(code, data);
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		goto out;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV)
		r = 1;
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 1)
		r = 0;
out:
	if (code != MAP_FAILED)
		munmap(code, 4096);
	if (data != MAP_FAILED)
		munmap(data, 3 * 4096);
	return r;
}
