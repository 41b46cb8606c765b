/* The debugger interface between the VMX (its gdb stub and live monitor,
 * vmx_userspace/) and the monitor: why the guest stopped, how it goes on,
 * and what a debugger may read and change while it is stopped. Every call
 * here is made from world_ops.debug_stopped, with the guest stopped at an
 * instruction boundary (vm.eip is the next instruction to run). */
#ifndef VMM_DEBUG_H
#define VMM_DEBUG_H
#include <stdint.h>
#include <stdbool.h>

enum vmm_dbg_reason {
	VMM_DBG_START,       /* before the first instruction (-S) */
	VMM_DBG_REQUEST,     /* the VMX asked (debug_poll): Ctrl-C from gdb, a monitor command */
	VMM_DBG_BREAK,       /* a software breakpoint (Z0) at the stop EIP */
	VMM_DBG_HWBREAK,     /* a hardware breakpoint (Z1) at the stop EIP */
	VMM_DBG_STEP,        /* one instruction was executed (a resume with VMM_DBG_RUN_STEP) */
	VMM_DBG_WATCH,       /* a guest write hit a write watchpoint (Z2); addr: the watchpoint's */
	VMM_DBG_READ_WATCH,  /* a guest read hit a read watchpoint (Z3); addr: the watchpoint's */
	VMM_DBG_ACCESS_WATCH,/* a guest read or write hit an access watchpoint (Z4); addr: the watchpoint's */
};
struct vmm_dbg_stop {
	enum vmm_dbg_reason reason;
	uint32_t eip;        /* EIP of the next instruction */
	uint32_t addr;       /* the watch reasons: the watched address */
};
/* What debug_stopped returns. */
enum vmm_dbg_resume { VMM_DBG_RUN_CONT, VMM_DBG_RUN_STEP, VMM_DBG_RUN_QUIT };

/* Registers in gdb's i386 order: eax ecx edx ebx esp ebp esi edi eip
 * eflags cs ss ds es fs gs. */
#define VMM_DBG_NREGS 16
void vmm_dbg_get_regs(uint32_t r[VMM_DBG_NREGS]);
/* 0, or -1 for a register that cannot take the value (segment registers
 * take only the selector they hold). */
int vmm_dbg_set_reg(unsigned n, uint32_t v);
/* Guest linear memory as a supervisor access sees it (through the guest's
 * page tables when paging is on): false when a page is not mapped, or is
 * not guest RAM. Writes drop translations of the bytes they change. */
bool vmm_dbg_read(uint32_t lin, void *buf, uint32_t len);
bool vmm_dbg_write(uint32_t lin, const void *buf, uint32_t len);

/* Breakpoints and watchpoints, gdb's Z types. 0, -1 when the table is full,
 * the address is not mapped or the length is 0 or crosses a page, -2 for a
 * type the monitor does not support. Software and hardware breakpoints
 * (linear addresses) both stop before the instruction runs; write (Z2),
 * read (Z3) and access (Z4) watchpoints, any length within one page, stop
 * after the instruction whose data access (a write, a read, either)
 * overlaps the watched bytes. Instruction fetches are not reads. */
enum vmm_dbg_point { VMM_DBG_SW = 0, VMM_DBG_HW = 1, VMM_DBG_WWATCH = 2, VMM_DBG_RWATCH = 3, VMM_DBG_AWATCH = 4 };
int vmm_dbg_insert(enum vmm_dbg_point type, uint32_t addr, uint32_t len);
int vmm_dbg_remove(enum vmm_dbg_point type, uint32_t addr, uint32_t len);
void vmm_dbg_remove_all(void);

/* For the live monitor. */
struct vmm_dbg_sysregs { uint32_t cr0, cr2, cr3, cr4, gdt_base, gdt_limit, idt_base, idt_limit, cpl; };
void vmm_dbg_get_sysregs(struct vmm_dbg_sysregs *s);
/* Drops every translation (tc flush). */
void vmm_dbg_flush_tc(void);

#endif
