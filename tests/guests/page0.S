/* page0 guest, the accesses to linear page 0 (the host cannot map it):
 * a stack at 0x1000 going down, and arithmetic, pushes, string moves and
 * read-modify-writes on the BIOS data area at 0x400. Results go to p0res[]. */
	.text
	.globl page0_ops
	.globl p0res, p0buf

page0_ops:
	pushal
	movl %esp, p0_saved
	movl $0x1000, %esp
	pushl $0x12345678               /* 0xffc */
	movl %esp, p0res+0
	call 1f                         /* return address at 0xff8 */
	jmp 2f
1:	movl (%esp), %eax
	movl %eax, p0res+4
	ret
2:	pushfl
	popfl
	movl %esp, p0res+8
	movl 0xffc, %eax                /* the first push, read through DS */
	movl %eax, p0res+12
	popl %eax
	movl %esp, p0res+16
	movl p0_saved, %esp

	xorl %eax, %eax
	addw 0x400, %ax                 /* COM1's port */
	movl %eax, p0res+20
	xorl %eax, %eax
	cmpw $0x3f8, 0x400
	sete %al
	movl %eax, p0res+24
	pushl 0x40e                     /* EBDA segment, equipment word */
	popl p0res+28
	movzwl 0x413, %eax              /* base memory in KiB */
	movl %eax, p0res+32
	movl $0x400, %esi
	movl $p0buf, %edi
	movl $2, %ecx
	cld
	rep movsb
	movl $0x413, %esi
	lodsw
	movw %ax, p0buf+2
	movl $0x1234, 0xff0
	incl 0xff0                      /* read-modify-write on page 0 */
	movl 0xff0, %eax
	movl %eax, p0res+36
	movl $0xff4, %edi
	movl $0x55aa, %eax
	stosl
	movl 0xff4, %eax
	movl %eax, p0res+40
	popal
	ret

	.data
	.balign 4
p0_saved: .long 0
p0res:	.fill 16, 4, 0
p0buf:	.fill 4, 1, 0
	.section .note.GNU-stack, "", @progbits
