/* The guest's seven 32-bit general registers (all but ESP, which each
 * gate moves with its stack) between the CPU and the monitor area at %gs,
 * as every world's gate saves them at a callout and loads them on the way
 * back into guest code. Included by uworld/gate.S and dworld/gate.S. */
.macro GUEST_GPRS_SAVE
	movl	%eax, %gs:MA_EAX
	movl	%ecx, %gs:MA_ECX
	movl	%edx, %gs:MA_EDX
	movl	%ebx, %gs:MA_EBX
	movl	%ebp, %gs:MA_EBP
	movl	%esi, %gs:MA_ESI
	movl	%edi, %gs:MA_EDI
.endm

.macro GUEST_GPRS_LOAD
	movl	%gs:MA_EAX, %eax
	movl	%gs:MA_ECX, %ecx
	movl	%gs:MA_EDX, %edx
	movl	%gs:MA_EBX, %ebx
	movl	%gs:MA_EBP, %ebp
	movl	%gs:MA_ESI, %esi
	movl	%gs:MA_EDI, %edi
.endm
