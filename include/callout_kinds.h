/* Callout kinds: the tag in the 8-byte record that follows every far call
 * from translated code into the monitor. Shared by the translator (which
 * emits the records), the gate assembly and the monitor's handlers. */
#ifndef CALLOUT_KINDS_H
#define CALLOUT_KINDS_H

#define CO_EXIT        1   /* direct block exit: arg = exit index (chain on first use) */
#define CO_IBL_MISS    2   /* indirect branch not in the IBL table: target in S_TARGET */
#define CO_IRQ_CHECK   3   /* inline sti/popf saw MA_PENDING: deliver if possible */
#define CO_IN          4   /* in/out: aux = size (bits 0-2) | DX port (bit 3) | length (4-7) | imm port (8-15); arg = guest EIP */
#define CO_OUT         5
#define CO_INS         6   /* ins/outs (rep or not): emulated whole */
#define CO_OUTS        7
#define CO_HLT         8
#define CO_CLI_STI     9   /* unused: cli/sti are inline */
#define CO_EMULATE     10  /* any other sensitive instruction: re-decoded and emulated */
#define CO_INT         11  /* int n / int3 / into / int1: aux = vector | length << 8 | kind << 12 (0 int n, 1 int3, 2 into, 3 int1) */
#define CO_IRET        12
#define CO_UD          13  /* invalid or unsupported opcode: raise #UD */
#define CO_IC_LEARN    14  /* an indirect branch site's first target: arg = exit index, target in S_TARGET */
#define CO_FAULT       15  /* raise exception aux (no error code) at arg: FPU state says so */
#define CO_SEG_LOAD    16  /* pop %sreg / mov %reg,%sreg: aux = sreg | pop << 3 | reg << 4 | op16 << 7 | len << 8 */
#define CO_NKINDS      18

/* In CO_EMULATE's aux: the TU ends after this callout (no continuation). */
#define CO_END         0x8000

/* Record layout after the 7-byte far call: u16 kind, u16 aux, u32 arg. */
#define CO_REC_SIZE    8
/* Length of the callout sequence: mov %esp,%gs:MA_ESP (7) + lss (8) + lcall (7). */
#define CO_SEQ_LEN     22

#endif
