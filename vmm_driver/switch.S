/* The world switch: from the host (the VMMON_RUN ioctl, interrupts off,
 * inside kernel_fpu_begin) into the monitor's address space and back.
 * Everything between the loads of CR3 runs from this page, which the
 * module maps at the same address in the monitor's page tables; the cross
 * page (xpage.h) holds both sides' saved state. The monitor keeps the
 * host's CR0, CR4 and EFER and a copy of the host's GDT (so CS and SS stay
 * valid selectors on both sides: the host's GDT itself is read-only and
 * the TSS descriptor in the copy is never loaded, so its busy bit does not
 * matter: the copy's is cleared before the host's TR is loaded back from
 * it), the monitor's own TSS (IST1 for the double fault), the LDT the monitor names (the host's LDTR back at the switch
 * out), the data segments and FS/GS bases (saved at the switch in, put
 * back at every switch out); it has its own IDT, whose 256 stubs below send any interrupt or
 * exception it takes back to the host: vectors from 32 up and the NMI are
 * the host's, which it re-delivers through its own IDT (vmmon_redeliver),
 * and the monitor resumes where it was (or takes its alarm there); the
 * other vectors below 32 are guest code's exceptions, given to dworld, or
 * the monitor's own faults, which end the VM.
 * Environment: kernel, interrupts off, both address spaces (see each
 * label). objtool does not check this file (Kbuild): its control flow
 * crosses address spaces. */

#define XP_HOST_RSP     0
#define XP_HOST_CR3     8
#define XP_MON_RSP      16
#define XP_MON_CR3      24
#define XP_ENTRY        32
#define XP_STACK_TOP    40
#define XP_SELF         48
#define XP_REQ          56
#define XP_FAULT_VECTOR 64
#define XP_FAULT_ERROR  72
#define XP_FAULT_RIP    80
#define XP_FAULT_CR2    88
#define XP_HOST_GDTR    96
#define XP_HOST_IDTR    112
#define XP_MON_GDTR     128
#define XP_MON_IDTR     144
#define XP_HOST_LDTR    160
#define XP_MON_LDTR     162
#define XP_HOST_TR      164
#define XP_MON_TR       166
#define XP_HOST_DS      168
#define XP_HOST_ES      170
#define XP_HOST_FS      172
#define XP_HOST_GS      174
#define XP_HOST_FSBASE  176
#define XP_HOST_GSBASE  184
#define XP_GUEST_TRAP   192
#define XP_MON_TRAP     200
#define XP_ALARM        208
#define MSR_FS_BASE     0xc0000100
#define MSR_GS_BASE     0xc0000101
#define DW_GDT_OFFSET   2048
#define DW_XPAGE_VA     0x0000007800000000
#define REQ_FAULT       4
#define REQ_IRQ         5
#define DW_VEC_ALARM    256

	.section .text.vmmon_switch, "ax"
	.balign 4096
	.globl vmmon_switch_page_start
vmmon_switch_page_start:

/* void vmmon_switch_in(struct vmmon_xpage *xp): host side, %rdi = the cross
 * page's host address. Returns when the monitor switches back. */
	.globl vmmon_switch_in
	.type vmmon_switch_in, @function
vmmon_switch_in:
	endbr64
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	pushfq
	mov %rsp, XP_HOST_RSP(%rdi)
	mov %cr3, %rax
	mov %rax, XP_HOST_CR3(%rdi)
	sgdt XP_HOST_GDTR(%rdi)
	sidt XP_HOST_IDTR(%rdi)
	/* The data segments and FS/GS bases, which the monitor may load
	 * (a selector load into FS or GS replaces the base: GS's is the
	 * kernel's per-CPU base); KERNEL_GS_BASE only swapgs changes. */
	mov %ds, XP_HOST_DS(%rdi)
	mov %es, XP_HOST_ES(%rdi)
	mov %fs, XP_HOST_FS(%rdi)
	mov %gs, XP_HOST_GS(%rdi)
	mov $MSR_FS_BASE, %ecx
	rdmsr
	mov %eax, XP_HOST_FSBASE(%rdi)
	mov %edx, XP_HOST_FSBASE+4(%rdi)
	mov $MSR_GS_BASE, %ecx
	rdmsr
	mov %eax, XP_HOST_GSBASE(%rdi)
	mov %edx, XP_HOST_GSBASE+4(%rdi)
	/* What the monitor side needs, in registers: after the CR3 load the
	 * host stack is gone. */
	mov XP_MON_RSP(%rdi), %rdx
	mov XP_MON_CR3(%rdi), %rcx
	mov XP_ENTRY(%rdi), %r8
	mov XP_STACK_TOP(%rdi), %r9
	mov XP_SELF(%rdi), %r10
	/* The tables' bases are the cross page's host addresses, mapped in
	 * both worlds: valid from here on either side of the CR3 load. */
	lgdt XP_MON_GDTR(%rdi)
	lidt XP_MON_IDTR(%rdi)
	/* The monitor's LDT (its descriptor is in the GDT copy; 0: none). */
	sldt XP_HOST_LDTR(%rdi)
	lldt XP_MON_LDTR(%rdi)
	/* The monitor's TSS (its IST1: the double fault's stack); the host's
	 * TR comes back at the switch out. */
	str XP_HOST_TR(%rdi)
	ltr XP_MON_TR(%rdi)
	/* Null data segments for the monitor: the host's (the VMX's 0x2b) are
	 * not present in the copy (world.c), and a stub that saves and reloads
	 * them across an interrupt would fault on one. */
	xor %eax, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %rcx, %cr3
	/* Monitor's address space from here. */
	test %rdx, %rdx
	jz 1f
	mov %rdx, %rsp
	ret                     /* to resume_call or resume_irq, pushed when it left */
1:	mov %r9, %rsp           /* the first entry: the image's entry, on its stack */
	mov %r10, %rdi
	cld
	xor %ebp, %ebp
	jmp *%r8
	.size vmmon_switch_in, . - vmmon_switch_in

/* void dw_to_host(struct vmmon_xpage *xp): the monitor's call to switch
 * out (dworld's to_host); returns when the host switches in again. */
	.globl dw_to_host
	.type dw_to_host, @function
dw_to_host:
	endbr64
	cli                     /* the monitor may run with interrupts on: none in the switch */
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	lea resume_call(%rip), %rax
	push %rax
	movabs $DW_XPAGE_VA, %rax
	mov %rsp, XP_MON_RSP(%rax)
	jmp exit_to_host
	.size dw_to_host, . - dw_to_host

resume_call:
	endbr64
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

/* The monitor's interrupt and exception stubs: 16 bytes each, vector n at
 * idt_stubs + 16 n; the CPU pushes an error code for 8, 10-14, 17, 21, 29
 * and 30, the others push 0 in its place. */
	.balign 16
	.globl vmmon_idt_stubs
vmmon_idt_stubs:
	vector = 0
	.rept 256
	.balign 16
	endbr64
	.if (vector == 8) || (vector >= 10 && vector <= 14) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
	.byte 0x66, 0x90        /* the slot of the push below */
	.else
	pushq $0
	.endif
	.byte 0x68              /* pushq $vector, imm32 */
	.long vector
	jmp idt_common
	vector = vector + 1
	.endr

/* Monitor's address space, on the monitor's stack (or the TSS's RSP0 one
 * when guest code was interrupted): vector, error code and the CPU's
 * frame. */
idt_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	/* The data segments too: the switch out puts the host's back, and
	 * guest code or the gate interrupted here runs on the monitor's. */
	mov %ds, %ecx
	push %rcx
	mov %es, %ecx
	push %rcx
	mov %fs, %ecx
	push %rcx
	mov %gs, %ecx
	push %rcx
	movabs $DW_XPAGE_VA, %rax
	mov 19*8(%rsp), %rbx            /* the vector */
	cmp $2, %rbx                    /* an NMI is the host's too */
	je 3f
	cmp $32, %rbx
	jb 5f
3:	movl $REQ_IRQ, XP_REQ(%rax)
	lea resume_irq(%rip), %rcx
	push %rcx
	mov %rsp, XP_MON_RSP(%rax)
	mov %rbx, XP_FAULT_VECTOR(%rax)
	jmp exit_to_host
	/* An exception of guest code (CPL 3) is the monitor's to handle,
	 * on this frame, when it has named its handler. */
5:	testb $3, 22*8(%rsp)
	jz 7f
	mov XP_GUEST_TRAP(%rax), %rcx
	test %rcx, %rcx
	jz 2f
	jmp *%rcx
	/* A debug trap of the monitor's own (the single step of guest code
	 * carried through the call gate, which keeps TF) is dworld's too. */
7:	cmp $1, %rbx
	jne 2f
	mov XP_MON_TRAP(%rax), %rcx
	test %rcx, %rcx
	jz 2f
	jmp *%rcx
2:	movl $REQ_FAULT, XP_REQ(%rax)
	mov %rbx, XP_FAULT_VECTOR(%rax)
	mov 20*8(%rsp), %rcx
	mov %rcx, XP_FAULT_ERROR(%rax)
	mov 21*8(%rsp), %rcx
	mov %rcx, XP_FAULT_RIP(%rax)
	mov %cr2, %rcx
	mov %rcx, XP_FAULT_CR2(%rax)
	lea resume_fault(%rip), %rcx
	push %rcx
	mov %rsp, XP_MON_RSP(%rax)
	jmp exit_to_host

/* Back from a host interrupt. When the host found the monitor's deadline
 * passed (xpage.h alarm) and dworld takes alarms, the interrupted frame
 * is dworld's (mon_trap, the frame at %rsp as idt_common left it, its
 * vector slot DW_VEC_ALARM). */
resume_irq:
	endbr64
	movabs $DW_XPAGE_VA, %rax
	cmpl $0, XP_ALARM(%rax)
	je 6f
	mov XP_MON_TRAP(%rax), %rcx
	test %rcx, %rcx
	jz 6f
	movl $0, XP_ALARM(%rax)
	movq $DW_VEC_ALARM, 19*8(%rsp)
	jmp *%rcx
6:	pop %rcx
	mov %ecx, %gs
	pop %rcx
	mov %ecx, %fs
	pop %rcx
	mov %ecx, %es
	pop %rcx
	mov %ecx, %ds
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp                   /* vector and error code */
	iretq

/* A monitor that faulted is never resumed (the module refuses): here only
 * as the resume address the switch pops. */
resume_fault:
	endbr64
	ud2

/* %rax = the cross page (monitor view), the monitor's state saved: back to
 * the host's tables, address space and stack, and return from
 * vmmon_switch_in. */
exit_to_host:
	/* The host's data segments, then their bases (the loads set them from
	 * the descriptors), while the monitor's IDT still takes any NMI. */
	mov %rax, %rsi
	xor %ecx, %ecx                  /* DS and ES: the host's once its GDT is back, below */
	mov %ecx, %ds
	mov %ecx, %es
	mov XP_HOST_FS(%rsi), %fs
	mov XP_HOST_GS(%rsi), %gs
	mov $MSR_FS_BASE, %ecx
	mov XP_HOST_FSBASE(%rsi), %eax
	mov XP_HOST_FSBASE+4(%rsi), %edx
	wrmsr
	mov $MSR_GS_BASE, %ecx
	mov XP_HOST_GSBASE(%rsi), %eax
	mov XP_HOST_GSBASE+4(%rsi), %edx
	wrmsr
	mov %rsi, %rax
	/* The host's TSS from the copy's descriptor (the same base and limit
	 * as the host's), its busy bit cleared first as ltr wants. */
	movzwl XP_HOST_TR(%rax), %ecx
	and $~7, %ecx
	jz 4f
	andb $~0x02, DW_GDT_OFFSET+5(%rax,%rcx)
	ltr XP_HOST_TR(%rax)
4:	lldt XP_HOST_LDTR(%rax)         /* from the copy, which holds the host's entries */
	lgdt XP_HOST_GDTR(%rax)
	lidt XP_HOST_IDTR(%rax)
	mov XP_HOST_RSP(%rax), %rdx
	mov XP_HOST_CR3(%rax), %rcx
	mov XP_SELF(%rax), %rsi         /* the cross page's host address */
	mov %rcx, %cr3
	/* Host's address space from here. */
	mov %rdx, %rsp
	mov XP_HOST_DS(%rsi), %ds       /* from the host's own GDT */
	mov XP_HOST_ES(%rsi), %es
	popfq
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

	.balign 4096
	.globl vmmon_switch_page_end
vmmon_switch_page_end:

/* void vmmon_redeliver(unsigned vector): host side, interrupts off: a host
 * interrupt the monitor took (and so acknowledged, without EOI) goes
 * through the host's own IDT entry for it, as if the CPU had delivered it
 * here; its handler sends the EOI. An indirect jump into the table of
 * `int $n` below. */
	.text
	.globl vmmon_redeliver
	.type vmmon_redeliver, @function
vmmon_redeliver:
	endbr64
	movzbl %dil, %eax
	lea redeliver_table(%rip), %rcx
	lea (%rcx,%rax,8), %rax
	jmp *%rax
	.size vmmon_redeliver, . - vmmon_redeliver
	.balign 8
redeliver_table:
	vector = 0
	.rept 256
	.balign 8
	endbr64
	int $vector
	ret
	vector = vector + 1
	.endr
	.section .note.GNU-stack, "", @progbits
