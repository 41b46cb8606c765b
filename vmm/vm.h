/* The monitor's private view of the virtual machine: the virtual CPU's
 * state beyond what translated code touches (segment caches, descriptor
 * tables, control registers), the devices, and the helpers the monitor's
 * parts share. */
#ifndef VMM_VM_H
#define VMM_VM_H
#include <stdint.h>
#include <stdbool.h>
#include "world.h"
#include "mmu.h"
#include "devices.h"
#include "vclock.h"
#include "io.h"
#include "bt.h"
#include "stats.h"
#include "callout_kinds.h"
#include "x86.h"
#include "../bt/decode.h"
#include "devices/i8042.h"
#include "devices/fw_cfg.h"
#include "devices/ata.h"
#include "devices/lapic.h"
#include "devices/ioapic.h"
#include "devices/acpi_pm.h"


struct segcache {
	uint16_t sel;
	uint32_t base, limit;      /* limit: last valid offset, granularity applied */
	uint8_t type;              /* descriptor type nibble (bit 3 code, bit 1 W/R, bit 2 E/C) */
	uint8_t s, dpl, present, db;
	uint16_t shadow;           /* host LDT selector used for data accesses */
};

/* Vectors. */
enum { EXC_DE = 0, EXC_DB = 1, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5, EXC_UD = 6, EXC_NM = 7,
       EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12, EXC_GP = 13, EXC_PF = 14,
       EXC_MF = 16, EXC_AC = 17, EXC_XM = 19 };

/* The virtual CPU's signature (CPUID leaf 1 EAX: family 6, model 6,
 * stepping 3) and microcode revision, as QEMU's qemu32 (cpuid.c). */
#define CPU_SIGNATURE      0x00000663u
#define CPU_MICROCODE_REV  1u
void guest_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]);

/* Exit statuses. */
#define EXIT_QUIT      0
#define EXIT_TRIPLE    3
#define EXIT_INTERNAL  4

struct vm {
	struct vmm_config cfg;
	const struct world_ops *w;
	struct mon_area *ma;
	struct segcache seg[6];    /* indexed by enum bt_seg */
	uint32_t gdt_base, gdt_limit, idt_base, idt_limit;
	struct segcache ldtr, tr;
	uint32_t cr0, cr2, cr3, cr4;
	uint32_t eip;              /* guest EIP of the instruction being handled */
	/* The last failed guest memory access by the monitor: its vector (#PF
	 * or #GP), and for #PF the error code and linear address (CR2). */
	int mem_fault_vec;
	uint32_t pf_err, pf_lin;
	int cpl;
	bool stopped;
	bool idle;                 /* polling devices from hlt: the guest waits for an event */
	bool study;                /* -profile: time accounting, per-site costs, samples (vmm/study.h) */
	bool timer_deferred;       /* IF=0: a device timer is due before the host timer fires */
	int exit_status;
	bool async_pending;        /* a timer fired while the monitor was busy */
	struct vclock clock;       /* guest time, the TSC, the device timers */
	struct vclock_timer pit_timer;
	uint64_t timer_armed;      /* host ns the host timer is set for */
	struct io_bus io;
	struct pic pic;
	struct pit pit;
	struct uart uart;
	struct cmos cmos;
	struct debug_exit dbg;
	struct i8042 kbc;
	struct fw_cfg fwcfg;
	struct ata ata;
	struct lapic lapic;         /* -machine pc only */
	struct vclock_timer lapic_timer;
	struct ioapic ioapic;       /* -machine pc only */
	struct acpi_pm acpi;        /* -machine pc only */
	struct vclock_timer acpi_timer;
	uint16_t port80;
	/* The host trap being handled, whose frame holds the guest's FPU
	 * state (world.h); null in callouts, where that state is live. */
	struct vmm_trap *fpu_trap;
	/* debug.c: a stop the VMX asked for (or a watchpoint's) is due at the
	 * next instruction boundary; single-stepping for the debugger (one
	 * instruction per unit, interrupts held back but in hlt); a stop
	 * recorded, its session due at the next entry. */
	struct { bool stop_req, step, halting, stopped; } debugger;
	bool bt_single;            /* translate one instruction per unit (exec.c, -mode te) */
};
extern struct vm vm;

/* Named counters of the monitor itself. */
struct vmm_stats {
	stat_counter callout[CO_NKINDS];
	stat_counter trap[TRAP_NKINDS];
	stat_counter exc_delivered, irq_delivered, irq_async, halts, halt_sleeps, steps;
	stat_counter smc_write_faults, seg_loads, ldt_writes, emulated, monitor_range, traced_emulated,
		     page0_emulated, adapt_reverted, read_traced_emulated, read_traced_stepped,
		     soft_limit_traps;
	stat_counter host_arms;
	stat_counter fpu_switches;  /* #NM delivered: the guest's lazy FPU switches (CR0.TS) */
};
extern struct vmm_stats vs;

/* fragments.c: the translator's on_translate for this configuration (NULL:
 * nobody listens); resets the generation counts. */
typedef void (*bt_translate_fn)(void *ctx, const struct bt_fragment *f);
bt_translate_fn vmm_fragment_hook(const struct vmm_config *cfg);

/* debug.c: the debugger's hooks. dbg_stop records a stop at `eip` and
 * returns 0 (a callout's "leave the world"); dbg_breakpoint is CO_DEBUG's
 * handler (cont: the callout's continuation); dbg_poll asks the VMX;
 * dbg_session runs a recorded stop's session (false: the VM stopped). */
void dbg_init(void);
uint32_t dbg_stop(uint32_t eip, enum vmm_dbg_reason why);
uint32_t dbg_breakpoint(uint32_t eip, uint32_t cont);
void dbg_poll(void);
bool dbg_session(void);
bool dbg_is_break(uint32_t lin);

/* monitor.c */
void vmm_fatal(const char *what, uint32_t arg);
/* vmm_fatal for a guest EIP: adds CS:EIP and the linear address when CS
 * has a nonzero base. */
void vmm_fatal_eip(const char *what, uint32_t eip);
void vmm_stop(int status);
void vmm_log(const char *s);
void vmm_logx(const char *prefix, uint32_t v);
void vmm_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vmm_poll_devices(void);
/* board_pc.c: the PC's devices, attached to vm.io, and the state its
 * firmware leaves them (and the BIOS data area) in. */
int board_pc_init(const struct vmm_config *cfg);
void board_pc_reset(const struct vmm_boot *b);
/* The CPU's INTR (and NMI) as the machine wires it: the PIC alone on
 * isapc; on pc the local APIC, and the PIC through LINT0 when it lets
 * ExtINT through. The acknowledge returns the vector to take. */
bool board_intr_pending(void);
uint8_t board_intr_ack(void);
bool board_has_lapic(void);
/* mptable.c: the MP floating pointer and configuration table in the BIOS
 * area of `ram` (one CPU whose CPUID leaf 1 EDX is `cpuid_edx`, the ISA
 * bus, the IOAPIC with that ID). */
void mptable_write(uint8_t *ram, uint32_t ram_size, uint32_t cpuid_edx);
uint32_t mptable_ioapic_id(void);
/* acpi.c: the ACPI tables (RSDP, RSDT, FADT, FACS, DSDT, MADT) in the BIOS
 * area of `ram`, for the PM registers of devices/acpi_pm.h and the IOAPIC
 * with that ID. */
void acpi_tables_write(uint8_t *ram, uint32_t ram_size, uint32_t ioapic_id);
void vmm_update_pending(void);
/* The guest programmed a timer device: its deadline moves, and so may the
 * host timer. */
void vmm_timer_changed(void);
/* When the host timer next wakes the monitor (host ns): how long a halt
 * may sleep. */
uint64_t vmm_wake_deadline(void);
#define FL_TF 0x100u
uint32_t guest_eflags(void);
void vmm_sync_mode(void);
/* emulate.c: its counters registered. */
void emulate_init(void);
/* emulate.c: a single-step #DB is pending: DR6.BS. */
void emulate_note_single_step(void);
void set_guest_eflags(uint32_t f, bool cpl0);

/* Guest memory as ring-0 guest code sees it (through its page tables when
 * paging is on). false: vm.mem_fault_vec says why (#PF details in vm). */
bool glin_read(uint32_t lin, void *dst, uint32_t len);
/* The same read for an instruction fetch (the monitor decoding guest code):
 * not a data read for read traces. */
bool glin_fetch(uint32_t lin, void *dst, uint32_t len);
bool glin_write(uint32_t lin, const void *src, uint32_t len);
bool glin_read_sys(uint32_t lin, void *dst, uint32_t len);   /* implicit supervisor accesses */
bool glin_write_sys(uint32_t lin, const void *src, uint32_t len);
/* The translation of guest memory changed: translations recheck it. */
void vmm_mapping_changed(void);

/* alu.c: the arithmetic of an instruction done by the host CPU on
 * register copies, the guest's arithmetic flags in and out. */
enum alu_op { A_ADD, A_OR, A_ADC, A_SBB, A_AND, A_SUB, A_XOR, A_CMP, A_INC, A_DEC, A_NOT, A_NEG,
	      A_XCHG, A_BTS, A_BTR, A_BTC, A_TEST };
uint32_t emu_alu(enum alu_op op, unsigned size, uint32_t a, uint32_t b, uint32_t *flags);
/* emulate_cmp.c: data accesses that compare or exchange, for the data-access
 * emulator: cmps/scas (with rep prefixes), cmpxchg, xadd, cmpxchg8b. The
 * same results as emulate_data_access: 1 done (vm.eip = next), 0 not one
 * of those, -1 a guest fault was delivered. */
int emulate_string_compare(const struct bt_insn *in, const uint8_t *code, uint32_t next);
int emulate_exchange(const struct bt_insn *in, const uint8_t *code, int seg, uint32_t off, unsigned regf,
		     uint32_t next);

/* emulate_stack.c: push/pop, near call/ret, pushf/popf, enter/leave and
 * pusha/popa against the guest's SS; emulate_wide.c: fxsave/fxrstor, SSE
 * moves and x87 loads and stores through the guest's segment and memory
 * (the guest's FPU state is live in the host FPU). Results as
 * emulate_data_access. emu_ea/emu_mseg: the memory operand's offset and
 * segment (emulate.c). */
/* emulate.c: the guest instruction at eip decoded (false: not readable or
 * not an instruction). */
bool emulate_decode(uint32_t eip, struct bt_insn *in);
int emulate_stack(const struct bt_insn *in, const uint8_t *code, uint32_t eip, uint32_t next, bool at_start);
int emulate_wide(const struct bt_insn *in, const uint8_t *code, uint32_t next);
uint32_t emu_ea(const struct bt_insn *in);
int emu_mseg(const struct bt_insn *in);

/* unsupported.c: what the monitor does not implement stops the VM with
 * one line naming it and counts in vmm.unsupported.<kind>. */
enum unsupported {
	UNSUP_CALL_GATE, UNSUP_TASK_TSS16, UNSUP_V86,
	UNSUP_MONITOR_RANGE, UNSUP_PAGE0, UNSUP_DIRECT_SEGMENT, UNSUP_DIRECT_SYSCALL, UNSUP_WORLD_ENTRY,
	UNSUP_READ_TRACED_WRITE,
	UNSUP_COUNT
};
void unsupported_init(void);
void vmm_unsupported(enum unsupported k, uint32_t eip);
/* The same, the line starting with the instruction's mnemonic. */
void vmm_unsupported_insn(enum unsupported k, const char *insn, uint32_t eip);

/* far.c: jmp far / call far to sel:off (the next instruction at `next`),
 * through a code segment or a call gate. Same results as emulate_insn. */
int far_transfer(bool call, uint16_t sel, uint32_t off, uint32_t next, unsigned bits);

/* task.c: hardware task switches (32-bit TSS). task_far: jmp/call far
 * to the TSS or task gate `sel` (descriptor lo/hi), results as
 * emulate_insn. task_return: iret with NT set, the next instruction at
 * `next`, results as do_iret. task_deliver: an interrupt (or, with
 * interrupt false, an exception) through the IDT task gate whose low
 * dword is `glo`, results as exceptions.c's delivery attempt (0, or a
 * fault vector with *ferr; the VM may have stopped). */
enum task_how { TASK_JMP, TASK_CALL, TASK_IRET, TASK_INT, TASK_EXCEPTION, TASK_HOW_COUNT };
void task_init(void);
int task_far(bool call, uint16_t sel, uint32_t lo, uint32_t hi, uint32_t next);
int task_return(uint32_t next);
int task_deliver(bool interrupt, uint32_t glo, uint32_t ret_eip, bool has_err, uint32_t err, uint32_t *ferr);

/* segments.c */
void seg_init(void);
/* Loads a segment register from a selector with the checks of a data/stack
 * segment load; returns -1 and sets the vector and error code on a fault. */
int seg_load(int sreg, uint16_t sel, int *vec, uint32_t *err);
int seg_load_cs(uint16_t sel, int *vec, uint32_t *err);
bool desc_read(uint16_t sel, uint32_t *lo, uint32_t *hi);
void seg_from_desc(struct segcache *s, uint16_t sel, uint32_t lo, uint32_t hi);
void seg_set_flat(int sreg, uint16_t sel, bool code);
void seg_publish(void);
/* The host code descriptor directly executed guest code runs on: the
 * guest's CS (32-bit) cut below the monitor and, in a split, the kernel;
 * 0 when there is none. */
uint16_t seg_code_shadow(void);
/* Cut every shadow below `limit` (0: only below the monitor). */
void seg_set_user_limit(uint32_t limit);
/* Segment-relative accesses with limit checks; false on a fault (*vec set). */
bool seg_allows(int sreg, uint32_t off, uint32_t len, bool write);
bool seg_read(int sreg, uint32_t off, void *dst, uint32_t len, int *vec);
bool seg_write(int sreg, uint32_t off, const void *src, uint32_t len, int *vec);

/* exceptions.c */
/* Delivers a vector through the guest IDT with return address ret_eip; a
 * fault raised on the way is reported at vm.eip (the instruction).
 * Returns false when the VM shut down (triple fault). */
bool deliver(unsigned vec, bool has_err, uint32_t err, uint32_t ret_eip, bool soft);
bool deliver_exception(unsigned vec, bool has_err, uint32_t err);
bool irq_deliverable(void);
bool deliver_irq(uint32_t ret_eip);
/* `next`: the instruction after the iret (where a task it leaves resumes). */
int do_iret(bool op16, uint32_t next);
/* exec.c: the one decision of how the guest runs next. Returns the
 * address to resume at: the TC address of `eip`'s translation (raising
 * #PF for a fetch fault), or the world's gate into directly executed code
 * (then MA_DIRECT holds the target); 0 when the VM stopped. */
uint32_t enter_eip(uint32_t eip);
/* The same, translated whatever the mode would pick: for an instruction
 * directly executed code could not complete. */
uint32_t enter_translated(uint32_t eip);
/* The same for one instruction only: what follows it is decided afresh
 * (trap-and-emulate performs exactly the instruction that trapped). */
uint32_t enter_translated_one(uint32_t eip);
/* Whether user code at eip (in the current CS) is to run directly: the
 * translator's want_direct. */
bool exec_want_direct(uint32_t eip);

/* direct.c: directly executed guest user code. */
void direct_init(void);
/* Page verdict for the user code at linear `lin` (guest-physical pa): may
 * it run natively (scanning the page the first time)? */
bool direct_page_allows(uint32_t lin, uint32_t pa);
/* The gate's entry into directly executed code at eip (linear lin,
 * guest-physical pa). */
uint32_t direct_enter(uint32_t eip, uint32_t lin, uint32_t pa);
/* A host trap while directly executed code ran. */
enum trap_action direct_trap(struct vmm_trap *t);

/* te.c: trap-and-emulate's kernel pages, traps and divergences. */
void te_init(void);
/* Whether native kernel code may hold the instruction (segment loads and
 * far transfers may not); te_note_insn counts a non-trapping sensitive
 * one found on a page scanned for native kernel runs. */
bool te_insn_allowed(const struct bt_insn *in);
void te_note_insn(const struct bt_insn *in);
/* Native kernel code trapped at eip: counted by instruction kind. */
void te_count_trap(uint32_t eip);
/* At a timer exit from native kernel code: true when interrupts have stayed
 * virtually off with one pending for too long (the VM is stopped). */
bool te_interrupts_stuck(void);
/* One warning line per divergence kind seen (-mode te). */
void te_exit_report(void);

/* traps.c: the guest registers become the trap's (precise there). */
void trap_take_regs(const struct vmm_trap *t);

/* emulate.c: returns 0 continue with next insn, 1 control changed (vm.eip
 * holds the new EIP), -1 fault raised (delivered), -2 stop */
int emulate_insn(uint32_t eip, unsigned len_hint);
int emulate_string_io(uint32_t eip, bool in);
int emulate_data_access(uint32_t eip, bool at_start);
/* A host fault the data-access emulator did not take: if the guest's own
 * segment allows the instruction's access (its memory operand, or its
 * stack for a fault through SS) and it reaches the monitor's range, the
 * CPU would not fault, so the VM stops naming the instruction (returns
 * true); false: the fault is the guest's. */
bool emulate_unsupported_in_monitor_range(uint32_t eip, bool ss_fault);
const char *emulate_insn_name(uint32_t eip);

static inline uint32_t ma_reg(int r)
{
	switch (r) {
	case 0: return vm.ma->eax; case 1: return vm.ma->ecx; case 2: return vm.ma->edx;
	case 3: return vm.ma->ebx; case 4: return vm.ma->esp; case 5: return vm.ma->ebp;
	case 6: return vm.ma->esi; default: return vm.ma->edi;
	}
}
static inline void ma_set_reg(int r, uint32_t v)
{
	switch (r) {
	case 0: vm.ma->eax = v; break; case 1: vm.ma->ecx = v; break; case 2: vm.ma->edx = v; break;
	case 3: vm.ma->ebx = v; break; case 4: vm.ma->esp = v; break; case 5: vm.ma->ebp = v; break;
	case 6: vm.ma->esi = v; break; default: vm.ma->edi = v; break;
	}
}

static inline void *m_memcpy(void *d, const void *s, uint32_t n)
{ uint8_t *a = d; const uint8_t *b = s; while (n--) *a++ = *b++; return d; }
static inline void *m_memset(void *d, int c, uint32_t n)
{ uint8_t *a = d; while (n--) *a++ = (uint8_t)c; return d; }

#endif
