/* Assembly half of the exceptions guest: enters an interrupt or fault with
 * every general register (EBP included) and EFLAGS set to known values and
 * records them after the handler's iret, which C cannot do reliably. */

	.text

/* void exc_roundtrip_int(void) / exc_roundtrip_ud2(void): fill EAX..EBP
 * with 0x11111111..0x77777777, EFLAGS with 0x8D7, then `int $0x42` or
 * `ud2` (the C handler skips it). Afterwards exc_regs_out holds EAX, EBX,
 * ECX, EDX, ESI, EDI, EBP, ESP minus ESP before, and EFLAGS. */
.macro ROUNDTRIP name, insn:vararg
	.globl \name
\name:
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, exc_esp_before
	pushl $0x8D7
	popfl
	movl $0x11111111, %eax
	movl $0x22222222, %ebx
	movl $0x33333333, %ecx
	movl $0x44444444, %edx
	movl $0x55555555, %esi
	movl $0x66666666, %edi
	movl $0x77777777, %ebp
	\insn
	pushfl			/* first: the stores below keep flags, subl does not */
	popl exc_regs_out + 32
	movl %eax, exc_regs_out
	movl %ebx, exc_regs_out + 4
	movl %ecx, exc_regs_out + 8
	movl %edx, exc_regs_out + 12
	movl %esi, exc_regs_out + 16
	movl %edi, exc_regs_out + 20
	movl %ebp, exc_regs_out + 24
	movl %esp, %eax
	subl exc_esp_before, %eax
	movl %eax, exc_regs_out + 28
	pushl $2
	popfl
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret
.endm

	ROUNDTRIP exc_roundtrip_int, int $0x42
	ROUNDTRIP exc_roundtrip_ud2, ud2

	.bss
	.p2align 2
exc_esp_before:
	.long 0
	.globl exc_regs_out
exc_regs_out:
	.skip 9 * 4

	.section .note.GNU-stack, "", @progbits
