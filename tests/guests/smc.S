/* Code for the smc guest, in the writable .smc section: functions to be
 * patched, stores into the executing block, a page-straddling instruction
 * and copy templates. Patched immediates force 32-bit encodings. */

	.section .smc, "awx", @progbits

/* uint32_t smc_ret_imm(void): returns the imm32 at smc_ret_imm + 1. */
	.globl smc_ret_imm
smc_ret_imm:
	movl $0x7FFFFFFF, %eax
	ret

/* uint32_t smc_add5(uint32_t x): x + 5, or x - 5 once the ModRM byte at
 * smc_add5_modrm is changed from 0xC0 (add) to 0xE8 (sub). */
	.globl smc_add5, smc_add5_modrm
smc_add5:
	movl 4(%esp), %eax
	.byte 0x83		/* group 1, r/m32, imm8 */
smc_add5_modrm:
	.byte 0xC0, 0x05	/* /0 = add, %eax, $5 */
	ret

/* uint32_t smc_next_insn(uint32_t v): stores v into the immediate of the
 * very next instruction, which then must load v. */
	.globl smc_next_insn
smc_next_insn:
	movl 4(%esp), %edx
	movl %edx, 1f + 1
1:	movl $0x7FFFFFFF, %eax
	ret

/* uint32_t smc_few_ahead(uint32_t v): same, with unrelated straight-line
 * instructions between the store and its target. */
	.globl smc_few_ahead
smc_few_ahead:
	movl 4(%esp), %edx
	movl %edx, 1f + 1
	xorl %ecx, %ecx
	addl $3, %ecx
	leal 7(%ecx,%ecx,2), %ecx
	imull $5, %ecx, %ecx
	nop
	movl %ecx, %eax
1:	movl $0x7FFFFFFF, %eax
	ret

/* uint32_t smc_patch_ahead_loop(uint32_t n): each iteration writes its
 * counter into the addl below before executing it: sum of 1..n. */
	.globl smc_patch_ahead_loop
smc_patch_ahead_loop:
	pushl %ebx
	xorl %ebx, %ebx
	movl 8(%esp), %ecx
1:	movl %ecx, 2f + 2
2:	addl $0x7FFFFFFF, %ebx	/* 81 C3 imm32 */
	loop 1b
	movl %ebx, %eax
	popl %ebx
	ret

/* uint32_t smc_patch_behind_loop(uint32_t n): the addl is patched after it
 * ran, so iteration k adds the counter of iteration k-1 (0 for the first):
 * n + (n-1) + ... + 2. */
	.globl smc_patch_behind_loop
smc_patch_behind_loop:
	pushl %ebx
	movl $0, 1f + 2
	xorl %ebx, %ebx
	movl 8(%esp), %ecx
1:	addl $0x7FFFFFFF, %ebx
	movl %ecx, 1b + 2
	loop 1b
	movl %ebx, %eax
	popl %ebx
	ret

/* uint32_t smc_same_page_data(uint32_t n): increments a counter that
 * lives right next to this loop n times and returns it. */
	.globl smc_same_page_data
smc_same_page_data:
	movl $0, smc_counter
	movl 4(%esp), %ecx
1:	incl smc_counter
	loop 1b
	movl smc_counter, %eax
	ret
smc_counter:
	.long 0

/* Templates copied into a buffer and run there: 6 bytes each. */
	.globl smc_tmpl_a, smc_tmpl_b, smc_tmpl_end
smc_tmpl_a:
	movl $0xAAAA0001, %eax
	ret
smc_tmpl_b:
	movl $0xBBBB0002, %eax
	ret
smc_tmpl_end:

/* uint32_t smc_cross(void): a movl whose imm32 straddles a page boundary:
 * two immediate bytes on each side. */
	.balign 4096
	.fill 4096 - 3, 1, 0xCC
	.globl smc_cross
smc_cross:
	movl $0x44332211, %eax	/* B8 at page - 3, imm at page - 2 .. page + 1 */
	ret

	.section .note.GNU-stack, "", @progbits
