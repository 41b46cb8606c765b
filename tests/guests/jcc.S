/* Assembly half of the jcc guest: deep recursion, indirect jumps through a
 * register and through memory, ret imm16, push+ret and call+pop, written
 * in assembly so the exact control-transfer instructions are guaranteed. */

	.text

/* uint32_t jcc_recurse(uint32_t n): f(0) = 0x12345678,
 * f(k) = rol(f(k-1), 1) ^ k, computed on the way back up from depth n.
 * jcc_stack_span gets the bytes of stack used below the entry ESP. */
	.globl jcc_recurse
jcc_recurse:
	movl 4(%esp), %eax
	movl %esp, jcc_entry_esp
	call rec
	ret

rec:
	testl %eax, %eax
	jnz 1f
	movl jcc_entry_esp, %eax
	subl %esp, %eax
	movl %eax, jcc_stack_span
	movl $0x12345678, %eax
	ret
1:	pushl %eax
	decl %eax
	call rec
	popl %ecx
	roll $1, %eax
	xorl %ecx, %eax
	ret

/* uint32_t jcc_ijmp_reg(uint32_t i) / jcc_ijmp_mem(uint32_t i), i < 4:
 * jump to target i, which returns 0x1000 * (i + 1) + i. */
	.globl jcc_ijmp_reg
jcc_ijmp_reg:
	movl 4(%esp), %eax
	movl ijmp_table(,%eax,4), %edx
	jmp *%edx

	.globl jcc_ijmp_mem
jcc_ijmp_mem:
	movl 4(%esp), %eax
	jmp *ijmp_table(,%eax,4)

ijt0:	movl $0x1000, %eax
	ret
ijt1:	movl $0x2001, %eax
	ret
ijt2:	movl $0x3002, %eax
	ret
ijt3:	movl $0x4003, %eax
	ret

/* uint32_t jcc_ret_imm(uint32_t a, uint32_t b): calls a callee that pops
 * its two stack arguments with `ret $8`; returns a - b. jcc_ret_imm_delta
 * gets ESP after the call minus ESP before pushing the arguments (0). */
	.globl jcc_ret_imm
jcc_ret_imm:
	pushl %ebx
	movl %esp, %ebx
	pushl 12(%ebx)		/* b */
	pushl 8(%ebx)		/* a */
	call sub_ret8
	movl %esp, %edx
	subl %ebx, %edx
	movl %edx, jcc_ret_imm_delta
	movl %ebx, %esp
	popl %ebx
	ret

sub_ret8:
	movl 4(%esp), %eax
	subl 8(%esp), %eax
	ret $8

/* uint32_t jcc_push_ret(void): jumps with push+ret (no matching call) and
 * returns 0x600D when the jump landed. */
	.globl jcc_push_ret
jcc_push_ret:
	movl $0xBAD, %eax
	pushl $1f
	ret
	ud2
1:	movl $0x600D, %eax
	ret

/* uint32_t jcc_call_pop(void): call to the next instruction and pop it:
 * returns the popped return address minus the label address (0). */
	.globl jcc_call_pop
jcc_call_pop:
	call 1f
1:	popl %eax
	subl $1b, %eax
	ret

/* uint32_t jcc_call_reg(uint32_t i) / jcc_call_mem(uint32_t i): call target i
 * through a register / memory operand and add 1 afterwards. */
	.globl jcc_call_reg
jcc_call_reg:
	movl 4(%esp), %eax
	movl ijmp_table(,%eax,4), %edx
	call *%edx
	incl %eax
	ret

	.globl jcc_call_mem
jcc_call_mem:
	movl 4(%esp), %eax
	call *ijmp_table(,%eax,4)
	incl %eax
	ret

	.section .rodata
	.p2align 2
ijmp_table:
	.long ijt0, ijt1, ijt2, ijt3

	.bss
	.p2align 2
	.globl jcc_stack_span, jcc_ret_imm_delta
jcc_entry_esp:		.long 0
jcc_stack_span:		.long 0
jcc_ret_imm_delta:	.long 0

	.section .note.GNU-stack, "", @progbits
