/* The world interface: everything the monitor needs from its host, and the
 * monitor entry points a world calls. The user-level world (vmx_userspace/
 * uworld) implements it with host syscalls; the driver world will implement
 * it in the kernel. The monitor calls nothing else outside itself. */
#ifndef WORLD_H
#define WORLD_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include "mon_area.h"
#include "vmm_debug.h"

/* -trace bits: what the monitor reports on stderr as it runs. */
#define VMX_TRACE_BT      (1u << 0)   /* "bt": each translation */
#define VMX_TRACE_CALLOUT (1u << 1)   /* "callout": each callout into the monitor */
#define VMX_TRACE_TRAP    (1u << 2)   /* "trap": host signals and guest exceptions */
#define VMX_TRACE_IRQ     (1u << 3)   /* "irq": interrupts delivered */
#define VMX_TRACE_IO      (1u << 4)   /* "io": port accesses */
#define VMX_TRACE_DIRECT  (1u << 5)   /* "direct": page scans, adaptive moves */

/* Descriptor flags for set_ldt. */
#define WD_CODE      0x01   /* code segment (else data) */
#define WD_WRITABLE  0x02   /* data: writable */
#define WD_READABLE  0x04   /* code: readable */
#define WD_32        0x08   /* default operand size 32 */
#define WD_PRESENT   0x10
#define WD_EXPDOWN   0x20

/* Page protections for map() and protect(); WP_X may be or-ed in: the
 * page may also be fetched from by directly executed guest code. */
#define WP_NONE 0
#define WP_RO   1
#define WP_RW   2
#define WP_X    4

/* A compiled code fragment the monitor just made (vmm_config.fragment_events). */
struct world_fragment {
	uint32_t tc, tc_len;       /* its TC bytes (linear address in the monitor area), exit stubs included */
	uint32_t eip, cs_base;     /* the guest code it translates: EIP in CS, CS's base */
	uint8_t cpl;
	/* 1 for the first translation of this EIP, CPL and CS base in the run,
	 * 2 for the next, ... as -profile counts them; 0 past the monitor's
	 * table of them. */
	uint32_t generation;
};

struct world_ops {
	/* LDT slot <- descriptor; limit in bytes (last valid offset). */
	int (*set_ldt)(unsigned slot, uint32_t base, uint32_t limit, unsigned flags);
	/* Guest linear pages [lin, lin+len) as the guest's code sees them:
	 * map guest-physical [pa, pa+len) there, drop them, or change access. */
	int (*map)(uint32_t lin, uint32_t len, uint32_t pa, int prot);
	int (*unmap)(uint32_t lin, uint32_t len);
	int (*protect)(uint32_t lin, uint32_t len, int prot);
	uint64_t (*now_ns)(void);
	/* Wake the monitor (an async trap) at or after `deadline_ns`. */
	void (*arm_timer)(uint64_t deadline_ns);
	void (*console_write)(const uint8_t *buf, size_t n);
	/* `waiting`: the guest is idle (halted), reads the console with
	 * interrupts and has consumed everything so far, so an end-of-file
	 * character sent at the end of host input reaches a reader rather
	 * than a FIFO the kernel is about to reset. */
	size_t (*console_read)(uint8_t *buf, size_t n, bool waiting, bool *quit);
	/* Sleep until the deadline, console input or a signal. */
	void (*wait)(uint64_t deadline_ns);
	/* One line of diagnostics (no newline needed). */
	void (*log)(const char *line);
	uint64_t (*wall_seconds)(void);
	/* The ATA drives' images (drive = QEMU's -drive index 0..3), whole
	 * 512-byte sectors; each returns 0, or -1 when the host failed. A flush
	 * returns once the data is on stable storage (fdatasync). */
	int (*disk_read)(unsigned drive, uint64_t lba, void *buf, uint32_t count);
	int (*disk_write)(unsigned drive, uint64_t lba, const void *buf, uint32_t count);
	int (*disk_flush)(unsigned drive);
	/* Called at the end of each translation when fragment_events is set
	 * (may be NULL): the monitor itself does no host I/O. */
	void (*fragment_created)(const struct world_fragment *f);
	/* The debugger (-gdb, -monitor; asked only when vmm_config.debug is
	 * set). debug_poll: whether the VMX wants the guest stopped, asked
	 * where the monitor polls its devices. debug_stopped: the guest is
	 * stopped at an instruction boundary (include/vmm_debug.h says why and
	 * what may be done meanwhile); returns how it goes on. */
	bool (*debug_poll)(void);
	enum vmm_dbg_resume (*debug_stopped)(const struct vmm_dbg_stop *why);
};

/* -mode: how guest code runs (DESIGN §8). bt: kernel translated, user code
 * direct where its pages allow and it does not keep trapping; bt-direct:
 * user code direct wherever allowed; bt-all: everything translated; te:
 * trap-and-emulate, kernel code direct too (deprivileged). */
enum vmm_exec_mode { VMM_MODE_BT = 0, VMM_MODE_BT_DIRECT, VMM_MODE_BT_ALL, VMM_MODE_TE };

/* -machine: isapc has no APIC; pc adds the local APIC (DESIGN §6). */
enum vmm_machine { VMM_MACHINE_ISAPC = 0, VMM_MACHINE_PC };

struct vmm_config {
	uint8_t *ram;              /* guest-physical memory, host view */
	uint32_t ram_size;
	void *meta;                /* arena for the translator's metadata */
	size_t meta_size;
	void *mon_mem;             /* zeroed, 64-byte aligned: the monitor's tables (vmm_mon_mem_size bytes) */
	size_t mon_mem_size;
	void *prof;                /* -profile: arena for fragment records (include/profile.h); NULL: off */
	size_t prof_size;
	uint32_t tc_size;          /* bytes of translation cache, <= MON_TC_MAX */
	unsigned trace;            /* VMX_TRACE_* bits */
	bool fragment_events;      /* tell the world of every fragment made (world_ops.fragment_created) */
	bool testdev;              /* the pc-testdev memory window at 0xFF000000 */
	bool debug;                /* a debugger is attached: world_ops.debug_* are called */
	bool debug_wait;           /* -S: stop before the first instruction */
	enum vmm_machine machine;  /* -machine isapc|pc */
	uint64_t disk_sectors[4];  /* ATA drive at -drive index i: its size; 0: none */
	bool disk_readonly[4];
	uint32_t gate_callout, gate_ibl, gate_ibl_miss; /* linear addresses in the monitor area */
	uint32_t gate_exit_shared, gate_learn_shared;
	/* 32-bit code on sel_code32 that leaves for directly executed guest
	 * code: loads %gs from MA_GGS_SEL, far-jumps to MA_DIRECT. */
	uint32_t gate_direct;
	uint16_t sel_code32, sel_flat, sel_mongs;
	enum vmm_exec_mode exec_mode;
	/* The host CPU checks no segment limit in compatibility mode
	 * (software emulation): translated code checks them itself
	 * (bt_env.soft_limits), and no guest code runs directly, which only
	 * those limits contain. */
	bool soft_limits;
	const struct world_ops *world;
};

/* The bytes of vmm_config.mon_mem the monitor needs. */
size_t vmm_mon_mem_size(void);
int vmm_init(const struct vmm_config *cfg);
/* The entry state a boot loader leaves: flat segments (selectors as the
 * protocol's loader sets them), paging and interrupts off, these registers. */
enum vmm_boot_protocol { VMM_BOOT_MULTIBOOT, VMM_BOOT_LINUX };
struct vmm_boot {
	enum vmm_boot_protocol proto;
	uint32_t eip, eax, ebx, esi;
	const char *cmdline;    /* Linux: the command line (fw_cfg gives it too); copied */
};
void vmm_reset(const struct vmm_boot *b);
/* Prepares MA_RESUME for entering the guest; false when the VM has stopped. */
bool vmm_prepare_entry(void);
/* A world that cannot enter the guest code vmm_prepare_entry prepared
 * stops the VM through this (status 4, one line naming it). */
void vmm_world_cannot_enter(void);
/* The gate calls this for every callout: returns the TC address to resume
 * at, or 0 to leave the world. */
uint32_t vmm_callout(struct mon_area *ma, uint32_t site);

/* A host trap or async event, as the world saw it. The guest registers are
 * in the monitor area (the world copies them in and back out). */
enum trap_kind {
#define TRAP_KIND(name, str) TRAP_##name,
#include "trap_kinds.def"
#undef TRAP_KIND
	TRAP_NKINDS
};
/* The row's name of a trap kind ("sigsegv", ...). */
static inline const char *trap_kind_name(enum trap_kind k)
{
	static const char *const names[TRAP_NKINDS] = {
#define TRAP_KIND(name, str) [TRAP_##name] = str,
#include "trap_kinds.def"
#undef TRAP_KIND
	};
	return (unsigned)k < TRAP_NKINDS ? names[k] : "unknown";
}
struct vmm_trap {
	enum trap_kind kind;
	uint32_t trapno, err;   /* hardware vector and error code */
	uint64_t addr;          /* faulting address (page faults) */
	uint32_t rip;           /* where the CPU was (32-bit code) */
	/* Where the CPU was: the monitor (or the world's own code), 32-bit
	 * code on the monitor's CS (translated code and the gate's 32-bit
	 * stubs), or directly executed guest code (any other LDT selector). */
	enum trap_where { TRAP_IN_MONITOR = 0, TRAP_IN_TC, TRAP_IN_DIRECT } where;
	/* The selectors the CPU held (enum bt_seg order: es cs ss ds fs gs). */
	uint16_t sregs[6];
	/* The interrupted registers (eax ecx edx ebx esp ebp esi edi). They are
	 * the guest's only at instruction boundaries and faults: in the middle
	 * of a callout sequence ESP is already the monitor's. */
	uint32_t regs[8], eflags;
	bool step;              /* out: with TRAP_RESUME, single-step (set TF) */
	/* While a trap is handled the guest's FPU/SSE state sits in the
	 * world's trap frame, not in the FPU: fpu_live loads it into the host
	 * FPU (for an emulated fxsave, SSE or x87 access), fpu_keep stores the
	 * live state back into the frame, which the resume restores. Null
	 * where the state is live all along. */
	void (*fpu_live)(struct vmm_trap *t);
	void (*fpu_keep)(struct vmm_trap *t);
	void *fpu_frame;
};
enum trap_action { TRAP_RESUME = 0, TRAP_RESUME_AT, TRAP_EXIT_WORLD };
/* Returns the action: TRAP_RESUME continues the interrupted context as it
 * was (TF per t->step); TRAP_RESUME_AT continues at MA_RESUME with the guest
 * registers, SS and flags from the monitor area; TRAP_EXIT_WORLD leaves. */
enum trap_action vmm_trap(struct vmm_trap *t);

bool vmm_stopped(int *exit_status);
/* -profile: the arena given in vmm_config, laid out as include/profile.h
 * says, with the execution counts up to now added in; NULL when off. */
struct prof_arena;
const struct prof_arena *vmm_profile(void);
/* The register dump printed on fatal stops. */
void vmm_dump_state(void);
/* At the end of a run: the monitor's closing diagnostics (-mode te's
 * divergence warnings), through world_ops.log. */
void vmm_exit_report(void);

#endif
