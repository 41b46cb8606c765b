/* The user-level world's switch code.
 *
 * gate_blob_* is copied into the monitor area below 4 GiB (far pointers from
 * 32-bit code carry 32-bit offsets, so whatever translated code calls must
 * live there). It holds:
 *  - gate_callout (64-bit): translated code reaches it by
 *      mov %esp,%gs:MA_ESP; lss %gs:MA_MONSTK,%esp; lcall $0x33,$gate_callout
 *    so the guest stack is never touched. It saves the guest registers in the
 *    monitor area, switches to the host stack and calls the
 *    monitor with the address of the record that follows the far call (the
 *    guest's FS base stays: monitor code never uses %fs; what does, host
 *    calls and the decoder, switches it itself). The
 *    monitor answers with the TC address to resume at, or 0 to leave the world.
 *  - gate_resume: reloads guest state from the monitor area and far-jumps
 *    back into 32-bit code (lss then ljmp: flags are restored before either).
 *  - gate_exit: unwinds to uworld_switch_in's caller.
 *  - gate_direct (32-bit): the way into directly executed guest code. The
 *    gate_resume above has loaded every guest register but %gs and CS; %gs
 *    must stay the monitor's until the last moment, and then nothing the
 *    guest's segments reach can hold the jump's target: CS (the monitor's
 *    flat code segment) reads the monitor area by its linear address.
 *  - ibl (32-bit): the shared indirect-branch lookup. Flag-free (lea + jecxz),
 *    so guest flags survive without a save.
 * uworld_switch_in (in the VMX's own text) saves host callee-saved registers and
 * jumps to gate_resume.
 */
#include "mon_area.h"
#include "callout_kinds.h"
#include "tc_stubs32.S"
#include "gate_gprs.S"

#define STUB(sym) (MON_BASE + MON_OFF_STUBS + ((sym) - gate_blob_start))

/* The callout sequence of translated code (bt/emit.h e_callout): park ESP,
 * land on the monitor's stack, far call the gate, then the record. */
.macro CALLOUT kind, aux
	movl	%esp, %gs:MA_ESP
	lssl	%gs:MA_MONSTK, %esp
	lcall	$HOST_CS64, $STUB(gate_callout)
	.short	\kind, \aux
	.long	0
.endm

	.section .rodata.gate, "a"
	.p2align 12
	.globl gate_blob_start, gate_blob_end
	.globl gate_callout, gate_resume, gate_exit, gate_ibl, gate_ibl_miss
	.globl gate_exit_shared, gate_learn_shared, gate_direct, gate_direct_end
gate_blob_start:

	.code64
gate_callout:
	movl	%esp, %esp
	GUEST_GPRS_SAVE
	pushfq
	popq	%rax
	movl	%eax, %gs:MA_EFLAGS
	movl	(%rsp), %esi			/* the record after the far call */
	movq	%gs:MA_HOST_RSP, %rsp
	cld
	movq	%gs:MA_SELF, %rdi
	call	*%gs:MA_CALLOUT_FN
	testl	%eax, %eax
	jz	gate_exit
	movl	%eax, %gs:MA_RESUME
gate_resume:
	cmpl	$0, %gs:MA_SEG_DIRTY
	je	1f
	movw	%gs:MA_DS_SEL, %ds
	movw	%gs:MA_ES_SEL, %es
	movw	%gs:MA_FS_SEL, %fs
	movl	$0, %gs:MA_SEG_DIRTY
	movq	%gs:MA_GUEST_FSBASE, %rax
	wrfsbase %rax
1:	movl	%gs:MA_EFLAGS, %eax
	pushq	%rax
	popfq
	GUEST_GPRS_LOAD
	lssl	%gs:MA_ESP, %esp
	ljmpl	*%gs:MA_RESUME

gate_exit:
	movq	%gs:MA_HOST_RSP, %rsp
	movq	%gs:MA_HOST_FSBASE, %rax
	wrfsbase %rax
	movl	%gs:MA_EXIT, %eax
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	ret

	.code32
	/* Segment loads and far jumps leave the flags alone: the guest's, set
	 * by gate_resume's popfq, are what guest code starts with. A host
	 * signal between these two instructions finds the CPU on the monitor's
	 * CS outside any fragment: the world treats it as the monitor's. */
gate_direct:
	movw	%cs:(MON_BASE + MA_GGS_SEL), %gs
	ljmpl	*%cs:(MON_BASE + MA_DIRECT)
gate_direct_end:

	TC_STUBS32
gate_blob_end:

	.text
	.code64
	.globl uworld_switch_in
	.type uworld_switch_in, @function
/* int uworld_switch_in(void): resume translated code at MA_RESUME; returns MA_EXIT. */
uworld_switch_in:
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp
	movq	%rsp, %gs:MA_HOST_RSP
	rdfsbase %rax
	movq	%rax, %gs:MA_HOST_FSBASE
	movl	$1, %gs:MA_SEG_DIRTY		/* guest selectors and FS base back */
	movl	$STUB(gate_resume), %eax
	jmp	*%rax
	.size uworld_switch_in, .-uworld_switch_in
	.section .note.GNU-stack, "", @progbits
