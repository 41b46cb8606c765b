/* The fuzz harness's assembly half: enters a generated sequence with every
 * register and EFLAGS taken from fz_in, captures them into fz_out when the
 * sequence jumps to fz_done, and the function tables its indirect calls use. */
#include "harness.h"

	.text
	.globl fz_run
	.type fz_run, @function
/* void fz_run(void (*code)(void)) */
fz_run:
	pushal
	fninit
	ldmxcsr fz_mxcsr
	movl 36(%esp), %eax
	movl %eax, fz_target
	movl %esp, fz_host_esp
	movl fz_in+FZ_ESP, %esp
	pushl fz_in+FZ_EFL
	popfl
	movl fz_in+FZ_EAX, %eax
	movl fz_in+FZ_EBX, %ebx
	movl fz_in+FZ_ECX, %ecx
	movl fz_in+FZ_EDX, %edx
	movl fz_in+FZ_ESI, %esi
	movl fz_in+FZ_EDI, %edi
	movl fz_in+FZ_EBP, %ebp
	jmp *fz_target

	.globl fz_done
fz_done:
	/* The push lands below the entry ESP, inside the checksummed frame:
	 * put back what the sequence left there. */
	movl %eax, fz_out+FZ_EAX
	movl -4(%esp), %eax
	movl %eax, fz_slot
	pushfl
	popl fz_out+FZ_EFL
	movl fz_slot, %eax
	movl %eax, -4(%esp)
	movl %ebx, fz_out+FZ_EBX
	movl %ecx, fz_out+FZ_ECX
	movl %edx, fz_out+FZ_EDX
	movl %esi, fz_out+FZ_ESI
	movl %edi, fz_out+FZ_EDI
	movl %ebp, fz_out+FZ_EBP
	movl %esp, fz_out+FZ_ESP
	/* Sequences may reload any data segment (always flat 0x10). */
	movw $0x10, %ax
	movw %ax, %ss
	movl fz_host_esp, %esp
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	pushl $2
	popfl
	fninit
	popal
	ret
	.size fz_run, . - fz_run

/* Targets of the sequences' table calls. Each ends with a flag-defining
 * add/sub/cmp/neg, so callers know every arithmetic flag is defined. */
fz_f0:	leal 7(%eax,%ebx,2), %eax
	subl %ecx, %edx
	ret
fz_f1:	xorl $0x5a5a5a5a, %esi
	addl %esi, %edi
	ret
fz_f2:	negl %ebp
	cmpl %eax, %ebp
	ret
fz_f3:	bswap %eax
	addl $1, %eax
	ret
fz_f4:	rorl $3, %ebx
	adcl %ebx, %ecx
	ret
fz_f5:	pushl %eax
	movl %edx, %eax
	popl %edx
	subl $0x1000, %edx
	ret
fz_f6:	call fz_f1
	cmpl %esi, %edi
	ret
fz_f7:	incl %ecx
	addl %ecx, %ecx
	ret
fz_g0:	movl 4(%esp), %eax
	addl %eax, %ebx
	ret $4
fz_g1:	xorl 4(%esp), %ecx
	negl %ecx
	ret $4
fz_g2:	subl %edx, 4(%esp)
	addl 4(%esp), %esi
	ret $4
fz_g3:	call fz_f0
	ret $4

	.section .rodata
	.p2align 2
	.globl fz_fntab, fz_fntab_ret4
fz_fntab:
	.long fz_f0, fz_f1, fz_f2, fz_f3, fz_f4, fz_f5, fz_f6, fz_f7
fz_fntab_ret4:
	.long fz_g0, fz_g1, fz_g2, fz_g3
	.globl fz_fpucw, fz_mxcsr
	/* x87 control words: default, round down, up, to zero, double and
	 * single precision; MXCSR: the four rounding modes, FTZ+DAZ. */
	.p2align 2
fz_fpucw:
	.word 0x037f, 0x077f, 0x0b7f, 0x0f7f, 0x027f, 0x007f
	.p2align 2
fz_mxcsr:
	.long 0x1f80, 0x3f80, 0x5f80, 0x7f80, 0x9fc0

	.globl fz_scratch_data, fz_scratch_code, fz_done_ptr
	.set fz_scratch_data, FZ_SCRATCH_DATA
	.set fz_scratch_code, FZ_SCRATCH_CODE
	.section .rodata
	/* Copied sequences reach fz_done through this: a relative jump would
	 * not survive the copy. */
fz_done_ptr:	.long fz_done

	.data
	.p2align 2
fz_target:	.long 0
fz_host_esp:	.long 0
fz_slot:	.long 0

	.section .note.GNU-stack, "", @progbits
