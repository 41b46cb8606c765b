/* The driver world's gate between the monitor (64-bit, CPL 0) and
 * translated guest code (compatibility mode, CPL 3, on the LDT's
 * descriptors):
 *  - dw_enter_guest (64-bit, monitor image): saves the monitor's
 *    callee-saved registers and stack in the monitor area and enters the
 *    TC at MA_RESUME by iretq, with the guest's registers, its SS:ESP and
 *    data segments, the monitor's %gs (base MON_BASE) and interrupts off.
 *  - dw_gate_callout (64-bit, monitor image): translated code's
 *      mov %esp,%gs:MA_ESP; lss %gs:MA_MONSTK,%esp; lcall $HOST_CS64,$x
 *    arrives here through the call gate the module puts at HOST_CS64 in
 *    the GDT copy, on the TSS's RSP0 stack, the record's address as the
 *    return RIP. The guest registers go to the monitor area, vmm_callout
 *    runs on the monitor's stack and answers the TC address to go on at
 *    (resumed by iretq) or 0 (dw_enter_guest returns MA_EXIT).
 *  - dw_frame_entry (64-bit): the host's alarm on an interrupted frame,
 *    and the monitor's own debug traps.
 *  - dw_blob_* (32-bit, copied to MON_OFF_STUBS like the user-level
 *    world's): the shared indirect-branch lookup and the shared exit and
 *    learning callouts, the same code as uworld/gate.S's (the call gate
 *    has the selector those far calls name).
 * SMAP: the monitor area's pages are user pages (CPL 3 code runs and
 * stores there), so the monitor runs with EFLAGS.AC set where the CPU
 * has SMAP (dworld.c).
 * Environment: monitor (driver world). */
#include "mon_area.h"
#include "callout_kinds.h"
#include "tc_stubs32.S"
#include "gate_gprs.S"

#define STUB(sym) (MON_BASE + MON_OFF_STUBS + ((sym) - dw_blob_start))

/* Guest code that runs directly (at CPL 3 as translated code does) must
 * not reach the monitor: while it runs, the monitor's own descriptors in
 * the LDT (the flat code and data the TC runs on, the monitor area's %gs)
 * and the callout's gate in the GDT copy are not present, so a load of
 * one, or a far call through the gate, faults into the monitor, which
 * performs it with the guest's own tables. Every way in from guest code
 * shows them again first. %rcx is clobbered. */
.macro MONITOR_DESCS op, bits, hidden
	\op	$\bits, dw_ldt+8*LDT_MON_CODE32+5(%rip)
	\op	$\bits, dw_ldt+8*LDT_MON_FLAT+5(%rip)
	\op	$\bits, dw_ldt+8*LDT_MON_GS+5(%rip)
	movq	dw_gate_hidden(%rip), %rcx
	movl	$\hidden, (%rcx)
	movq	dw_gate_desc(%rip), %rcx
	\op	$\bits, 5(%rcx)
.endm
#define HIDE_MONITOR MONITOR_DESCS andb, 0x7f, 1
#define SHOW_MONITOR MONITOR_DESCS orb, 0x80, 0

	.text
	.code64
	.globl dw_enter_guest, dw_gate_callout
	.hidden dw_enter_guest, dw_gate_callout
	.type dw_enter_guest, @function
/* uint32_t dw_enter_guest(void) */
dw_enter_guest:
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp			/* vmm_callout is called with the ABI's alignment */
	movl	$LDT_SEL(LDT_MON_GS), %eax
	movw	%ax, %gs
	movq	%rsp, %gs:MA_HOST_RSP
	jmp	dw_resume

dw_gate_callout:
	pushfq					/* the guest's flags, before the test below */
	/* A call gate leaves IF as guest code had it (on): the monitor runs
	 * with host interrupts off, as on every other way in. (On, an
	 * interrupt between a request's xp->req and the switch out replaced
	 * the request with VMMON_REQ_IRQ: a console byte was lost.) */
	cli
	testb	$1, dw_smap(%rip)
	jz	1f
	stac
1:	GUEST_GPRS_SAVE
	popq	%rax
	movl	%eax, %gs:MA_EFLAGS
	movl	(%rsp), %esi			/* the record after the far call */
	movq	%gs:MA_HOST_RSP, %rsp
	cld
	movq	%gs:MA_SELF, %rdi
	call	vmm_callout
	/* A request to the VMX on the way (console bytes) switched out, and
	 * the switch out puts the host's GS and its base back. */
	movl	$LDT_SEL(LDT_MON_GS), %ecx
	movw	%cx, %gs
	testl	%eax, %eax
	jz	dw_gate_exit
	movl	%eax, %gs:MA_RESUME
dw_resume:
	movw	%gs:MA_DS_SEL, %ds
	movw	%gs:MA_ES_SEL, %es
	movw	%gs:MA_FS_SEL, %fs
	movl	$0, %gs:MA_SEG_DIRTY
	/* The iretq frame: SS:ESP, EFLAGS (IF on: host interrupts reach
	 * the host from guest code too, through the module's stubs, which
	 * keep the data segments), CS:EIP. */
	movzwl	%gs:MA_SS, %eax
	pushq	%rax
	movl	%gs:MA_ESP, %eax
	pushq	%rax
	movl	%gs:MA_EFLAGS, %eax
	andl	$0xdd5, %eax			/* the arithmetic flags and DF: AC, IOPL, TF off */
	orl	$0x202, %eax
	pushq	%rax
	cmpl	$STUB(dw_blob_direct), %gs:MA_RESUME
	je	dw_resume_direct
	movzwl	%gs:MA_RESUME_CS, %eax
	pushq	%rax
	movl	%gs:MA_RESUME, %eax
	pushq	%rax
	GUEST_GPRS_LOAD
	iretq

/* Directly executed guest code (direct.c's direct_enter answers the
 * marker dw_blob_direct): its code shadow and EIP, the monitor's own
 * descriptors hidden, and the guest's %gs loaded last, from %r11 (the
 * upper registers are out of 32-bit code's reach). */
dw_resume_direct:
	movzwl	%gs:MA_DIRECT_CS, %eax
	pushq	%rax
	movl	%gs:MA_DIRECT, %eax
	pushq	%rax
	HIDE_MONITOR
	movzwl	%gs:MA_GGS_SEL, %r11d
	GUEST_GPRS_LOAD
	movw	%r11w, %gs
	iretq

dw_gate_exit:
	movq	%gs:MA_HOST_RSP, %rsp
	movl	%gs:MA_EXIT, %eax
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	ret
	.size dw_enter_guest, . - dw_enter_guest

/* An exception of guest code: the module's stub jumps here with the saved
 * frame at %rsp (xpage.h's order: gs fs es ds r15..rax, vector, error,
 * the CPU's frame), interrupts off. dw_guest_trap (dworld.c) gives it
 * to vmm_trap on the monitor's stack and answers the action. */
	.globl dw_guest_trap_entry
	.hidden dw_guest_trap_entry
dw_guest_trap_entry:
	testb	$1, dw_smap(%rip)
	jz	1f
	stac
1:	SHOW_MONITOR				/* (before the load of LDT_MON_GS) */
	movq	%cr2, %rsi
	movl	$LDT_SEL(LDT_MON_GS), %eax
	movw	%ax, %gs
	movq	%rsp, %rdi
	movq	%rsp, dw_trap_frame(%rip)
	movq	%gs:MA_HOST_RSP, %rsp
	call	dw_guest_trap
	movl	$LDT_SEL(LDT_MON_GS), %ecx	/* a request on the way: the host's GS came back */
	movw	%cx, %gs
	cmpl	$1, %eax			/* TRAP_RESUME_AT */
	je	dw_resume
	cmpl	$2, %eax			/* TRAP_EXIT_WORLD */
	je	dw_gate_exit
	movq	dw_trap_frame(%rip), %rsp	/* TRAP_RESUME: the frame as it was */
	cmpw	$LDT_SEL(LDT_MON_CODE32), 22*8(%rsp)
	je	1f				/* translated code */
	HIDE_MONITOR				/* directly executed code */
1:
dw_frame_resume:
	popq	%rcx
	movw	%cx, %gs
	popq	%rcx
	movw	%cx, %fs
	popq	%rcx
	movw	%cx, %es
	popq	%rcx
	movw	%cx, %ds
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp
	iretq

/* A frame the host side hands over (xpage.h mon_trap), as the module's
 * stubs left it: the host's alarm (switch.S resume_irq, vector slot
 * DW_VEC_ALARM) or a debug trap of the monitor's own. Guest code was
 * interrupted (CPL 3, only the alarm): handled as its exceptions are. The
 * monitor or this gate was (CPL 0): dw_monitor_frame on the interrupted
 * stack (the monitor is built without a red zone), and the frame resumed
 * with the TF it answers. */
	.globl dw_frame_entry
	.hidden dw_frame_entry
dw_frame_entry:
	testb	$3, 22*8(%rsp)
	jnz	dw_guest_trap_entry
	movq	%rsp, %rbx
	movq	%rsp, %rdi
	andq	$-16, %rsp
	cld
	call	dw_monitor_frame
	movq	%rbx, %rsp
	jmp	dw_frame_resume

	.bss
	.p2align 3
dw_trap_frame:
	.quad	0
	.text

/* The 32-bit stubs, as uworld/gate.S has them. */
.macro CALLOUT kind, aux
	movl	%esp, %gs:MA_ESP
	lssl	%gs:MA_MONSTK, %esp
	lcall	$HOST_CS64, $0
	.short	\kind, \aux
	.long	0
.endm

	.section .rodata.dwgate, "a"
	.p2align 12
	.globl dw_blob_start, dw_blob_end, dw_gate_ibl, dw_gate_ibl_miss, dw_gate_exit_shared, dw_gate_learn_shared, dw_blob_direct
	.hidden dw_blob_start, dw_blob_end, dw_gate_ibl, dw_gate_ibl_miss, dw_gate_exit_shared, dw_gate_learn_shared, dw_blob_direct
dw_blob_start:
	.code32
	TC_STUBS32 dw_
	/* The marker direct_enter answers (vm_config.gate_direct): dw_resume
	 * enters directly executed code itself, from 64-bit code, so this
	 * never runs; were it reached, it faults. */
dw_blob_direct:
	ud2
dw_blob_end:
	.code64
	.section .note.GNU-stack, "", @progbits
