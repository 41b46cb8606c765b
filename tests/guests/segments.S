/* Far-transfer targets for the segments guest: code reached by lcall/lret
 * that records the CS it ran with. */

	.text
/* Far-called: stores CS, returns 0xFA2CA11 with a plain lret. */
	.globl seg_far_target
seg_far_target:
	movw %cs, seg_cs_inside
	movl $0xFA2CA11, %eax
	lret

/* Far-called with one stack argument: returns it plus one and pops it
 * with lret $4. */
	.globl seg_far_target_imm
seg_far_target_imm:
	movw %cs, seg_cs_inside
	movl 8(%esp), %eax	/* above the return EIP and CS */
	incl %eax
	lret $4

	.bss
	.p2align 2
	.globl seg_cs_inside
seg_cs_inside:
	.long 0

	.section .note.GNU-stack, "", @progbits
