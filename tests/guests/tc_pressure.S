/* Generated code for tc_pressure: TC_COUNT distinct two-block functions
 * (constants derived from the index, see tc_pressure.c's model) plus a
 * table of their addresses. */

#include "tc_pressure.h"

/* Remainder without the % operator, which .altmacro would misread. */
#define MOD(a, b) ((a) - ((a) / (b)) * (b))

.macro TC_FN i
	.balign 16
tc_fn_\i:
	xorl $((\i * TC_A_MUL + TC_A_ADD) & 0xFFFFFFFF), %eax
	roll $(MOD(\i, 31) + 1), %eax
	addl $((\i * TC_B_MUL) & 0xFFFFFFFF), %eax
	testl $(1 << MOD(\i, 32)), %eax
	jz 1f
	imull $((\i * 2 + 1) | 0x10001), %eax, %eax
1:	subl $((\i * TC_D_MUL) & 0xFFFFFFFF), %eax
	movl %eax, %edx
	shrl $(MOD(\i, 13) + 3), %edx
	xorl %edx, %eax
	ret
.endm

.macro TC_ENTRY i
	.long tc_fn_\i
.endm

	.text
	.altmacro
	.globl tc_code_start
tc_code_start:
	.set i, 0
	.rept TC_COUNT
	TC_FN %i
	.set i, i + 1
	.endr
	.globl tc_code_end
tc_code_end:

	.section .rodata
	.p2align 2
	.globl tc_table
tc_table:
	.set i, 0
	.rept TC_COUNT
	TC_ENTRY %i
	.set i, i + 1
	.endr
	.noaltmacro

	.section .note.GNU-stack, "", @progbits
