/* c_o0_start.S - entry for the c_o0 foreign guest: a multiboot header using
 * the a.out kludge (explicit load/bss/entry addresses, flag bit 16), a stack,
 * bss clearing, then c_main(magic, info); exits through port 0xF4 if it returns. */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010003	/* align, meminfo, addresses valid */

	.section .mbhdr, "a"
	.align 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long mb_header		/* header_addr */
	.long __load_start	/* load_addr */
	.long __load_end	/* load_end_addr */
	.long __bss_end		/* bss_end_addr */
	.long entry		/* entry_addr */

	.text
	.globl entry
entry:
	movl $stack_top, %esp
	movl %eax, %esi		/* magic and info survive the bss clear in esi/ebx */
	movl $__bss_begin, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	cld
	rep stosb
	xorl %ebp, %ebp
	pushl %esi
	pushl %ebx
	call c_main		/* c_main(info, magic) */
	addl $8, %esp
	movl $0x7F, %eax	/* returned: should not happen */
	movw $0xF4, %dx
	outl %eax, %dx
1:	cli
	hlt
	jmp 1b

	.section .bss
	.align 16
	.space 32768
stack_top:

	.section .note.GNU-stack, "", @progbits
