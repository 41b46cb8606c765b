/* Multiboot v1 header and entry point shared by all test guests: takes over
 * from the loader, installs the guest's own flat GDT, stack and EFLAGS, clears
 * .bss and hands the multiboot magic/info pointer to guest_start() in C. */

#include "boot.h"

#define MB_MAGIC	0x1BADB002
#define MB_FLAGS	0x00000003	/* page-align modules + memory info; no a.out kludge */

	.section .multiboot, "a"
	.p2align 2
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	/* The loader's GDT may live anywhere (QEMU puts it in low memory it
	 * owns), so switch to ours before touching anything else. EAX/EBX must
	 * survive until guest_start. */
	cli
	lgdt boot_gdt_desc
	ljmp $BOOT_CS, $1f
1:	movw $BOOT_DS, %cx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %fs
	movw %cx, %gs
	movw %cx, %ss
	movl $boot_stack_top, %esp
	pushl $2		/* EFLAGS: only the always-one bit; DF=0, IF=0 */
	popfl
	/* No LDT (QEMU leaves the reset-time LDTR, base 0 limit 0xFFFF, which
	 * would make LDT selectors hit the real-mode IVT), and an empty IDT so
	 * an early exception shuts down instead of using the loader's table. */
	xorl %ecx, %ecx
	lldt %cx
	lidt boot_null_idt

	/* Some loaders do not zero .bss; the stack lives there too, so do this
	 * before the first push that matters. */
	movl %eax, %esi
	movl %ebx, %edx
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	shrl $2, %ecx
	xorl %eax, %eax
	rep stosl

	pushl %edx		/* multiboot info pointer */
	pushl %esi		/* multiboot magic */
	call guest_start
	/* guest_start never returns; make sure we stop if it does. */
2:	cli
	hlt
	jmp 2b
	.size _start, . - _start

	.data
	.p2align 3
	.globl boot_gdt
boot_gdt:
	.quad 0				/* 0x00 null */
	.quad 0x00CF9B000000FFFF	/* 0x08 code: base 0, 4 GiB, ring 0, accessed */
	.quad 0x00CF93000000FFFF	/* 0x10 data: base 0, 4 GiB, ring 0, accessed */
boot_gdt_end:

	.p2align 2
	.word 0
boot_null_idt:
	.word 0
	.long 0

	.p2align 2
	.word 0
	.globl boot_gdt_desc
boot_gdt_desc:
	.word boot_gdt_end - boot_gdt - 1
	.long boot_gdt

	.bss
	.p2align 4
	.globl boot_stack_bottom
boot_stack_bottom:
	.skip BOOT_STACK_SIZE
	.globl boot_stack_top
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
