/* bench_nano guest: the timed loops, one operation each (cdecl, n in
 * 4(%esp), n > 0), and the two kernel entry points the system-call
 * benchmarks go through. The ring-3 loops each fill a page of the utext
 * section of their own: under -mode bt a page whose native runs keep
 * trapping moves to the translation cache, and that decision must not
 * spill over to another operation's loop; u_tsc (rdtsc) sits alone on the
 * last page, since a page holding it never runs directly. The ring-0
 * loops share the ktext section's pages, free of segment loads, far
 * transfers and iret, so that -mode te runs them natively too; the
 * ring-0 clock (k_tsc) stays on pages it translates.
 * Environment: k_* in ring 0, u_* in ring 3; interrupts on (nothing is
 * unmasked at the PIC). */
#include "nano.h"

#define ENTRY(name) .globl name; .type name, @function; name:

	.text
/* Under -mode te a kernel page without segment loads runs natively, and
 * there rdtsc reads the host's TSC: the reload keeps this one translated,
 * reading the virtual clock as in every other mode. */
ENTRY(k_tsc)
	movw %ds, %cx
	movw %cx, %ds
	rdtsc
	ret

/* A system call that does nothing: the round trip is the cost. */
	.p2align 4
ENTRY(k_syscall_stub)
	iret

/* SYSEXIT returns to EDX with ESP = ECX and leaves IF alone: the sti's
 * shadow covers it, as in Linux's exit path. */
	.p2align 4
ENTRY(k_sysenter_entry)
	sti
	sysexit

	.section ktext, "ax", @progbits
	.p2align 12, 0xcc
ENTRY(k_empty)
	ret

ENTRY(k_in_loop)
	movl 4(%esp), %ecx
1:	inb $0x61, %al
	decl %ecx
	jnz 1b
	ret

ENTRY(k_out_loop)
	movl 4(%esp), %ecx
	xorl %eax, %eax
1:	outb %al, $0x80
	decl %ecx
	jnz 1b
	ret

/* The same CR3 again: a full (non-global) TLB flush each time. */
ENTRY(k_cr3_loop)
	movl 4(%esp), %ecx
	movl %cr3, %eax
1:	movl %eax, %cr3
	decl %ecx
	jnz 1b
	ret

ENTRY(k_callret_loop)
	movl 4(%esp), %ecx
1:	call 2f
	call 2f
	call 2f
	call 2f
	decl %ecx
	jnz 1b
	ret
2:	ret

ENTRY(k_clisti_loop)
	movl 4(%esp), %ecx
1:	cli
	sti
	cli
	sti
	cli
	sti
	cli
	sti
	decl %ecx
	jnz 1b
	ret

ENTRY(k_pushfpopf_loop)
	movl 4(%esp), %ecx
1:	pushfl
	popfl
	pushfl
	popfl
	pushfl
	popfl
	pushfl
	popfl
	decl %ecx
	jnz 1b
	ret

/* The PTE region's table is pt_pte (kernel.c), its frames pte_frames. */
ENTRY(k_pte_map)
	movl 4(%esp), %ecx
	movl $pt_pte, %edx
	movl $pte_frames + 3, %eax	/* present, writable */
1:	movl %eax, (%edx)
	addl $4, %edx
	addl $PAGE, %eax
	decl %ecx
	jnz 1b
	ret

ENTRY(k_pte_same)
	movl 4(%esp), %ecx
	movl $pt_pte, %edx
1:	movl (%edx), %eax
	movl %eax, (%edx)
	addl $4, %edx
	decl %ecx
	jnz 1b
	ret

ENTRY(k_pte_unmap)
	movl 4(%esp), %ecx
	movl $pt_pte, %edx
	movl $PTE_BASE, %eax
1:	movl $0, (%edx)
	invlpg (%eax)
	addl $4, %edx
	addl $PAGE, %eax
	decl %ecx
	jnz 1b
	ret

ENTRY(k_pte_touch)
	movl 4(%esp), %ecx
	movl $PTE_BASE, %edx
1:	movl (%edx), %eax
	addl $PAGE, %edx
	decl %ecx
	jnz 1b
	ret
	.p2align 12, 0xcc

	.section utext, "ax", @progbits
	.p2align 12, 0xcc
ENTRY(u_empty)
	ret

	.p2align 12, 0xcc
ENTRY(u_syscall_loop)
	movl 4(%esp), %ecx
1:	int $VEC_SYSCALL
	decl %ecx
	jnz 1b
	ret

	.p2align 12, 0xcc
ENTRY(u_sysenter_loop)
	pushl %ebx
	movl 8(%esp), %ebx
1:	movl %esp, %ecx
	movl $2f, %edx
	sysenter
2:	decl %ebx
	jnz 1b
	popl %ebx
	ret

	.p2align 12, 0xcc
ENTRY(u_callret_loop)
	movl 4(%esp), %ecx
1:	call 2f
	call 2f
	call 2f
	call 2f
	decl %ecx
	jnz 1b
	ret
2:	ret

/* Each read faults: the kernel's #PF handler maps the page and the read
 * runs again. */
	.p2align 12, 0xcc
ENTRY(u_pgfault_loop)
	movl 4(%esp), %ecx
	movl $PF_BASE, %edx
1:	movl (%edx), %eax
	addl $PAGE, %edx
	decl %ecx
	jnz 1b
	ret

/* divl %ebx (2 bytes, F7 F3) with EBX = 0: the #DE handler skips it. */
	.p2align 12, 0xcc
ENTRY(u_divzero_loop)
	pushl %ebx
	movl 8(%esp), %ecx
	xorl %ebx, %ebx
1:	movl $1, %eax
	xorl %edx, %edx
	divl %ebx
	decl %ecx
	jnz 1b
	popl %ebx
	ret

/* A chain of three dependent ALU operations per iteration. */
	.p2align 12, 0xcc
ENTRY(u_compute_loop)
	movl 4(%esp), %ecx
	movl $0x12345678, %eax
	movl $0x9e3779b9, %edx
1:	addl %edx, %eax
	roll $5, %eax
	xorl %ecx, %eax
	decl %ecx
	jnz 1b
	ret

	.p2align 12, 0xcc
ENTRY(u_tsc)
	rdtsc
	ret
	/* The section ends on a page boundary: what follows is data. */
	.p2align 12, 0xcc

	.section .note.GNU-stack, "", @progbits
