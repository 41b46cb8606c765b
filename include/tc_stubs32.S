/* The 32-bit stubs translated code jumps to in either world: the shared
 * indirect-branch lookup (flag-free: lea + jecxz, so guest flags survive
 * without a save), its miss, and the shared tails of block exits and
 * inline-cache learning. Each world's gate defines CALLOUT (how translated
 * code reaches its monitor) and instantiates them with its label prefix:
 * TC_STUBS32 for uworld's gate_*, TC_STUBS32 dw_ for dworld's dw_gate_*. */
.macro TC_STUBS32 p
	/* Entered by jmp with the target EIP in %ecx and the guest's %ecx in
	 * S_ECX. Table entries are {-eip, tc}: lea gives zero exactly on a hit. */
\p\()gate_ibl:
	movl	%ecx, %gs:MA_S_TARGET
	movl	%edx, %gs:MA_S_EDX
	/* The entry's byte offset: 8 * (EIP mod 32768) in the half of the
	 * table of the current privilege (kernel and user code keep their
	 * entries across system calls), all with flag-free moves and leas. */
	movzwl	%cx, %edx
	leal	(%edx,%edx,1), %edx
	movzwl	%dx, %edx
	movl	%gs:MA_IBL_OFF, %ecx
	leal	(%ecx,%edx,4), %edx
	movl	%edx, %gs:MA_S_JMP
	movl	%gs:MON_OFF_IBLTAB(%edx), %edx
	movl	%gs:MA_S_TARGET, %ecx
	leal	(%ecx,%edx,1), %ecx
	jecxz	2f
	movl	%gs:MA_S_EDX, %edx
	movl	%gs:MA_S_ECX, %ecx
	jmp	\p\()gate_ibl_miss
2:	movl	%gs:MA_S_JMP, %edx
	movl	%gs:MON_OFF_IBLTAB+4(%edx), %edx
	movl	%edx, %gs:MA_S_JMP
	movl	%gs:MA_S_EDX, %edx
	movl	%gs:MA_S_ECX, %ecx
	jmp	*%gs:MA_S_JMP
	/* Also the tc of empty table entries: guest registers intact, target in S_TARGET. */
\p\()gate_ibl_miss:
	CALLOUT	CO_IBL_MISS, 0
	/* Block exits and inline-cache learning share their callout: each
	 * site only stores its exit index in S_TMP and jumps here (aux = 1
	 * tells the monitor to take the index from S_TMP). */
\p\()gate_exit_shared:
	CALLOUT	CO_EXIT, 1
\p\()gate_learn_shared:
	movl	%ecx, %gs:MA_S_TARGET
	movl	%gs:MA_S_ECX, %ecx
	CALLOUT	CO_IC_LEARN, 1
.endm
