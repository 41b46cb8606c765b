/* Per-vector interrupt entry stubs and the common save/dispatch/iret path.
 * Each stub is 16 bytes so its address is idt_stubs + 16 * vector; stubs for
 * vectors without a CPU error code push a zero to keep one frame layout. */

	.text
	.p2align 4
	.globl idt_stubs
idt_stubs:
	.set vec, 0
	.rept 256
	.p2align 4
	.if !((vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30))
	pushl $0
	.endif
	pushl $vec
	jmp idt_common
	.set vec, vec + 1
	.endr

	.p2align 4
idt_common:
	pushal
	pushl %ds
	pushl %es
	pushl %fs
	pushl %gs
	/* The interrupted code may have any data segments loaded (the
	 * segments and exceptions guests do); C needs the flat ones. */
	movl $0x10, %eax
	movw %ax, %ds
	movw %ax, %es
	cld
	pushl %esp
	call idt_dispatch
	addl $4, %esp
	popl %gs
	popl %fs
	popl %es
	popl %ds
	popal
	addl $8, %esp		/* vector and error code */
	iret

	.section .note.GNU-stack, "", @progbits
