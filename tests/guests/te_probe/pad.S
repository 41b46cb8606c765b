/* The native probes' section starts page aligned (its first function's
 * alignment) and, with this filler linked after te_probe.c, ends on a
 * page boundary: nothing else shares its pages. */
	.section tenative, "ax", @progbits
	.p2align 12, 0xcc
	.byte 0xcc
	.p2align 12, 0xcc
	.section .note.GNU-stack, "", @progbits
