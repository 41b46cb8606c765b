/* Architectural constants of 32-bit x86 (Intel SDM vol. 3), named once for
 * the monitor, the translator, the shadow MMU and the worlds: EFLAGS, CR0 and
 * CR4 bits, exception vectors, CPUID feature bits. Values only, no code. */
#ifndef X86_H
#define X86_H

/* EFLAGS */
#define X86_FL_CF   0x00000001u
#define X86_FL_PF   0x00000004u
#define X86_FL_AF   0x00000010u
#define X86_FL_ZF   0x00000040u
#define X86_FL_SF   0x00000080u
#define X86_FL_TF   0x00000100u
#define X86_FL_IF   0x00000200u
#define X86_FL_DF   0x00000400u
#define X86_FL_OF   0x00000800u
#define X86_FL_IOPL 0x00003000u
#define X86_FL_NT   0x00004000u
#define X86_FL_RF   0x00010000u
#define X86_FL_VM   0x00020000u
#define X86_FL_AC   0x00040000u
#define X86_FL_ID   0x00200000u

/* CR0 */
#define X86_CR0_PE  0x00000001u
#define X86_CR0_MP  0x00000002u
#define X86_CR0_EM  0x00000004u
#define X86_CR0_TS  0x00000008u
#define X86_CR0_ET  0x00000010u
#define X86_CR0_NE  0x00000020u
#define X86_CR0_WP  0x00010000u
#define X86_CR0_AM  0x00040000u
#define X86_CR0_PG  0x80000000u

/* CR4 */
#define X86_CR4_VME    0x00000001u
#define X86_CR4_PVI    0x00000002u
#define X86_CR4_TSD    0x00000004u
#define X86_CR4_DE     0x00000008u
#define X86_CR4_PSE    0x00000010u
#define X86_CR4_PAE    0x00000020u
#define X86_CR4_MCE    0x00000040u
#define X86_CR4_PGE    0x00000080u
#define X86_CR4_PCE    0x00000100u
#define X86_CR4_OSFXSR 0x00000200u
#define X86_CR4_OSXMMEXCPT 0x00000400u

/* CPUID leaf 1, EDX */
#define X86_CPUID1_FPU  (1u << 0)
#define X86_CPUID1_VME  (1u << 1)
#define X86_CPUID1_DE   (1u << 2)
#define X86_CPUID1_PSE  (1u << 3)
#define X86_CPUID1_TSC  (1u << 4)
#define X86_CPUID1_MSR  (1u << 5)
#define X86_CPUID1_PAE  (1u << 6)
#define X86_CPUID1_MCE  (1u << 7)
#define X86_CPUID1_CX8  (1u << 8)
#define X86_CPUID1_APIC (1u << 9)
#define X86_CPUID1_SEP  (1u << 11)
#define X86_CPUID1_MTRR (1u << 12)
#define X86_CPUID1_PGE  (1u << 13)
#define X86_CPUID1_MCA  (1u << 14)
#define X86_CPUID1_CMOV (1u << 15)
#define X86_CPUID1_PAT  (1u << 16)
#define X86_CPUID1_PSE36 (1u << 17)
#define X86_CPUID1_CLFSH (1u << 19)
#define X86_CPUID1_MMX  (1u << 23)
#define X86_CPUID1_FXSR (1u << 24)
#define X86_CPUID1_SSE  (1u << 25)
#define X86_CPUID1_SSE2 (1u << 26)
/* CPUID leaf 1, ECX */
#define X86_CPUID1_SSE3 (1u << 0)
#define X86_CPUID1_HYPERVISOR (1u << 31)

#endif
