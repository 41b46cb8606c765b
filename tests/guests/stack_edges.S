/* stack_edges guest, the stack sequences: each runs with ESP = 0, so the
 * stack wraps to 0xFFFFFFFC, the top of the linear space, where vmx's
 * monitor lives and the host's shadow SS does not reach. Results (ESP
 * after each step, values seen) go to res[]. */
	.text
	.globl top_stack_ops, flat_stack_ops, user_top
	.globl res, var_a, var_b

/* Paging on, 0xFFFFF000 mapped to RAM: push/pop (reg, imm, mem), call/ret
 * (rel, reg, mem; ret imm16), pushf/popf, enter/leave (levels 0 and 2),
 * pusha/popa. */
top_stack_ops:
	pushal
	movl %esp, saved_esp
	movl $0, %esp
	pushl $0x11223344               /* FFFC */
	movl %esp, res+0
	pushl var_a                     /* FFF8: push m32 */
	movl %esp, res+4
	call 1f                         /* return address at FFF4 */
2:	movl %esp, res+12
	jmp 3f
1:	movl %esp, res+8
	movl (%esp), %eax
	movl %eax, res+16
	ret
3:	pushfl
	popl %eax
	movl %eax, res+20
	pushl $0x8d7                    /* OF SF ZF AF PF CF */
	popfl
	pushfl
	popl %eax
	movl %eax, res+24
	pushl $0x2
	popfl
	movl $0xbbbb0000, %ebp
	enter $8, $0
	movl %esp, res+28
	movl %ebp, res+32
	leave
	movl %esp, res+36
	movl %ebp, res+40
	movl $var_a+4, %ebp
	enter $4, $2
	movl %esp, res+44
	movl %ebp, res+48
	leave
	movl %esp, res+52
	movl $sub2, %ecx
	pushl $0x55                     /* FFF4: sub2's argument */
	call *%ecx
	movl %esp, res+60
	call *ptr_sub3
	movl %esp, res+64
	movl $0xa1, %eax
	movl $0xc1, %ecx
	movl $0xd1, %edx
	movl $0xb1, %ebx
	movl $0xe1, %ebp
	movl $0xf1, %esi
	movl $0x91, %edi
	pushal                          /* FFD8..FFF7 */
	movl $0, %eax
	movl $0, %esi
	popal
	movl %esp, res+68
	movl %eax, res+84
	movl %esi, res+88
	popl var_b                      /* pop m32: 0xaabbccdd */
	movl %esp, res+72
	popl %ebx                       /* 0x11223344 */
	movl %ebx, res+76
	movl %esp, res+80
	pushl $7
	popl %esp                       /* pop %esp: the value read */
	movl %esp, res+92
	movl saved_esp, %esp
	popal
	ret

sub2:	movl 4(%esp), %eax
	movl %eax, res+56
	ret $4
sub3:	ret

/* Paging off: the same wrap through the flat SS, where nothing is RAM
 * (QEMU's BIOS flash): only where ESP goes, never what is read back. */
flat_stack_ops:
	pushal
	movl %esp, saved_esp
	movl $0, %esp
	pushl %eax                      /* FFFC */
	movl %esp, res+0
	pushl $0x42                     /* FFF8 */
	movl %esp, res+4
	pushl var_a                     /* FFF4 */
	movl %esp, res+8
	popl var_b
	movl %esp, res+12
	popl %ebx
	popl %ebx
	movl %esp, res+16
	movl saved_esp, %esp
	popal
	ret

/* Ring 3 with ESP = 0 and 0xFFFFF000 not present: the push is a #PF (CR2
 * 0xFFFFFFFC, W|U) taken on the TSS stack; the handler maps the page and
 * the push is retried. */
user_top:
	movl $0, %esp
	pushl $0x77
	popl %ebx
	movl %esp, %ecx
	movl $0xDEAD, %eax
	int $0x80
4:	jmp 4b

	.data
	.balign 4
saved_esp: .long 0
var_a:	.long 0xaabbccdd
var_b:	.long 0
ptr_sub3: .long sub3
res:	.fill 32, 4, 0
	.section .note.GNU-stack,"",@progbits
