/* Entry of the mb_low guest: the shared runtime's boot.S less its 512 KiB
 * stack (a 512-byte one keeps the image inside 0x8000-0x9000); hands the
 * multiboot magic and information to guest_start (lib/exit.c). */

#include "boot.h"

#define MB_MAGIC	0x1BADB002
#define MB_FLAGS	0x00000003

	.section .multiboot, "a"
	.p2align 2
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	/* The loader's GDT is in memory the guest does not own. */
	cli
	lgdt low_gdt_desc
	ljmp $BOOT_CS, $1f
1:	movw $BOOT_DS, %cx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %fs
	movw %cx, %gs
	movw %cx, %ss
	movl $low_stack_top, %esp
	pushl $2
	popfl
	movl %eax, %esi
	movl %ebx, %edx
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	shrl $2, %ecx
	xorl %eax, %eax
	rep stosl
	pushl %edx
	pushl %esi
	call guest_start
2:	cli
	hlt
	jmp 2b
	.size _start, . - _start

	.data
	.p2align 3
low_gdt:
	.quad 0
	.quad 0x00CF9B000000FFFF	/* 0x08 flat code */
	.quad 0x00CF93000000FFFF	/* 0x10 flat data */
low_gdt_end:
	.p2align 2
	.word 0
low_gdt_desc:
	.word low_gdt_end - low_gdt - 1
	.long low_gdt

	.bss
	.p2align 4
	.skip 512
low_stack_top:

	.section .note.GNU-stack, "", @progbits
