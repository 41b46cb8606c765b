/* multitask guest: what the kernel (kernel.c, entry.S) and its user programs
 * (user.c) agree on: GDT selectors, system call numbers, the user part of
 * every address space and the trap frame. */
#ifndef MULTITASK_KERNEL_H
#define MULTITASK_KERNEL_H

/* GDT slots, laid out as Linux and glibc expect them where the host's own
 * selectors might leak through (0x2b, 0x33, 0x7b). */
#define KCODE      0x08		/* 1: flat code, DPL 0 */
#define KDATA      0x10		/* 2: flat data, DPL 0 */
#define UCODE      0x1B		/* 3: flat code, DPL 3 */
#define UDATA      0x23		/* 4: flat data, DPL 3 */
#define SEL_EMPTY  0x2B		/* 5: left all zero on purpose */
#define TLS_SEL    0x33		/* 6: per-process TLS block, DPL 3 */
#define TSS_SEL    0x38		/* 7: the one TSS */
#define UDATA_HI   0x7B		/* 15: flat data, DPL 3: the kernel's %ds/%es, as Linux's __USER_DS */
#define PERCPU_SEL 0xD8		/* 27: per-CPU data, DPL 0, in %fs in the kernel (Linux's __KERNEL_PERCPU) */
#define GDT_SLOTS  32
#define SEL_BEYOND 0x103	/* slot 32: past the GDT limit */

#define SYS_WRITE    1		/* (buf, len) -> len or -1 */
#define SYS_YIELD    2
#define SYS_GETPID   3
#define SYS_EXIT     4		/* (code) */
#define SYS_FORK     5		/* -> child pid in the parent, 0 in the child */
#define SYS_WAIT     6		/* -> (pid << 8) | exit code of a dead child, or -1 */
#define SYS_CATCH    7		/* (eip): the next fault resumes there, EAX=vector EDX=error ECX=CR2 */
#define SYS_PREEMPTS 8		/* -> how often the timer took the CPU away from the caller */
#define SYS_SLEEP    9		/* (ticks) -> 0 once at least that many timer ticks passed */
#define SYS_UNMAP    10		/* (va): frees the page mapped there (its frame is reused) */

/* The user part of an address space: one page table's worth at 1 GiB. */
#define USER_BASE    0x40000000u
#define USER_END     0x40400000u
#define USER_DATA    USER_BASE			/* a page the kernel fills in */
#define USER_TLS     (USER_BASE + 0x2000u)	/* the TLS page; TCBs inside */
#define HEAP_BASE    (USER_BASE + 0x100000u)	/* demand paged */
#define HEAP_PAGES   64u
#define USTACK_TOP   USER_END
#define USTACK_PAGES 2u

/* What the kernel leaves in the user data page. */
#define UDATA_MAGIC  0x5EED0000u		/* | pid */

/* A process's TCB (what %gs:0 points at) moves with the pid so that the
 * TLS descriptor's base really changes on a context switch. */
#define TLS_TCB(pid) (USER_TLS + 0x800u + 0x40u * (pid))

#ifndef __ASSEMBLER__
#include <stdint.h>

/* entry.S builds it: pushal below the data segments below the vector and
 * error code below what the CPU pushed (ESP/SS only from ring 3). */
struct trapframe {
	uint32_t edi, esi, ebp, esp_pushal, ebx, edx, ecx, eax;
	uint32_t gs, fs, es, ds;
	uint32_t vector, error;
	uint32_t eip, cs, eflags;
	uint32_t user_esp, user_ss;
};
#endif

#endif
