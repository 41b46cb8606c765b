/* multitask guest: the kernel's way in and out of every trap (stubs, the
 * common frame, trapret), the kernel-stack switch between processes, and
 * the page-aligned start of the user text and read-only data sections.
 * Environment: ring 0, interrupts off (every gate is an interrupt gate). */
#include "kernel.h"

/* The frame below the CPU's (or sysenter_stub's) part, as trap() reads
 * it. As Linux's SAVE_ALL: the flat user data segment (DPL 3) serves the
 * kernel's C code too, %fs gets the per-CPU segment, and the user's %gs
 * (its TLS) stays loaded. */
.macro TRAP_BODY
	pushl %ds
	pushl %es
	pushl %fs
	pushl %gs
	pushal
	movw $UDATA_HI, %ax
	movw %ax, %ds
	movw %ax, %es
	movw $PERCPU_SEL, %ax
	movw %ax, %fs
	cld
	pushl %esp
	call trap
	addl $4, %esp
.endm

/* Back to the vector and error code: the user's data selectors (DPL 3, or
 * null) are popped right before the return to ring 3. */
.macro RESTORE_SEGS
	popal
	popl %gs
	popl %fs
	popl %es
	popl %ds
.endm

	.text
/* One 16-byte stub per vector 0..47 (exceptions and the 16 PIC lines);
 * vectors without a CPU error code push a zero so there is one frame. */
	.p2align 4
	.globl trap_stubs
trap_stubs:
	.set vec, 0
	.rept 48
	.p2align 4
	.if !((vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17))
	pushl $0
	.endif
	pushl $vec
	jmp alltraps
	.set vec, vec + 1
	.endr

	.p2align 4
	.globl syscall_stub
syscall_stub:
	pushl $0
	pushl $0x80
	jmp alltraps

/* sysenter's way in (IA32_SYSENTER_EIP): CPL 0 on the process's kernel
 * stack (IA32_SYSENTER_ESP follows TSS.ESP0), interrupts off; the caller
 * left its ESP in ECX and where to go back in EDX. The frame int 0x80
 * would have made is built by hand (IF as ring 3 had it: on), so trap()
 * sees one kind of system call; the way out is sysexit (sti's shadow
 * covers it), EDX and ECX given back clobbered, as with Linux's vDSO. */
	.p2align 4
	.globl sysenter_stub
sysenter_stub:
	pushl $UDATA
	pushl %ecx
	pushfl
	orl $0x200, (%esp)
	pushl $UCODE
	pushl %edx
	pushl $0
	pushl $0x80
	TRAP_BODY
	RESTORE_SEGS
	movl 8(%esp), %edx		/* the frame's EIP */
	movl 20(%esp), %ecx		/* and ESP */
	addl $28, %esp
	sti
	sysexit

	.p2align 4
	.globl kernel_gate_stub
kernel_gate_stub:		/* vector 0x81: a DPL-0 gate user code may not use */
	pushl $0
	pushl $0x81
	jmp alltraps

alltraps:
	TRAP_BODY
	/* A new or forked process starts here too, on a frame built on its
	 * own kernel stack: the user's data selectors (DPL 3, or null) are
	 * popped right before the iret to ring 3. */
	.globl trapret
trapret:
	RESTORE_SEGS
	addl $8, %esp		/* vector and error code */
	iret

/* swtch(&old->kesp, new->kesp): saves the callee-saved registers on the
 * old kernel stack, parks its ESP, and resumes the new one where it called
 * swtch (or at trapret, for a process that never ran). */
	.globl swtch
swtch:
	movl 4(%esp), %eax
	movl 8(%esp), %edx
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, (%eax)
	movl %edx, %esp
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

/* The user text and constants get pages of their own: the kernel maps
 * those user-readable and keeps every other kernel page supervisor-only.
 * The output sections start page aligned (this piece's alignment); this
 * file is linked after user.c, so its piece, a page of filler, also makes
 * them end on a page boundary. */
	.section utext, "ax", @progbits
	.p2align 12, 0xcc
	.byte 0xcc
	.p2align 12, 0xcc
	.section usys, "ax", @progbits
	.p2align 12, 0xcc
	.byte 0xcc
	.p2align 12, 0xcc
	.section urodata, "a", @progbits
	.p2align 12
	.byte 0
	.p2align 12

	.section .note.GNU-stack, "", @progbits
