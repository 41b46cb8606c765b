/* The monitor image's entry point: the first switch in lands here on the
 * monitor's stack with the cross page in %rdi; dw_main never returns (the
 * monitor leaves only by switching out).
 * Environment: monitor (driver world), 64-bit, CPL 0, interrupts off. */
	.text
	.globl dw_start
	.type dw_start, @function
dw_start:
	xor %ebp, %ebp
	and $-16, %rsp
	call dw_main
1:	ud2
	jmp 1b
	.size dw_start, . - dw_start
	.section .note.GNU-stack, "", @progbits
