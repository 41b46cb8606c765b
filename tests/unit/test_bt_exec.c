/* Unit tests that run what the translator emits: guest snippets are
 * translated by bt/ and executed on this CPU in 32-bit code through the
 * user-level world (vmx_userspace/uworld: its memory, LDT descriptors,
 * gate and signal handling, used through uworld.h and world_ops), with this
 * file as the monitor (vmm_callout, vmm_trap). The results the guest can
 * see are checked: registers, flags, memory, virtual IF and system flags.
 * Plain build only: a sanitizer cannot give the world the low 4 GiB.
 * Environment: host; the snippets run as translated code. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "bt.h"
#include "callout_kinds.h"
#include "mon_area.h"
#include "stats.h"
#include "world.h"
#include "uworld/uworld.h"
#include "vmx.h"
#include "perfmap.h"
#include "profile.h"

/* ---- guest snippets: 32-bit code assembled here, copied to CODE ---- */
#define CODE  0x10000u          /* where a snippet runs (linear = physical) */
#define DATA  0x20000u
#define DATA2 0x21000u
#define STACK 0x30000u          /* initial ESP */
#define UNMAPPED 0x500000u      /* past the guest RAM the test maps */
#define RAM   (4u << 20)
#define GUEST(name, text)                                                     \
	extern const uint8_t name##_start[], name##_end[];                    \
	__asm__(".pushsection .rodata.guest, \"a\"\n.code32\n"                \
		".globl " #name "_start, " #name "_end\n"                     \
		#name "_start:\n" text "\n" #name "_end:\n.code64\n.popsection")
/* A snippet's label as the guest address it has once copied to CODE. */
#define AT(name, label) "(" CODE_S " + " label " - " #name "_start)"
#define CODE_S "0x10000"

GUEST(g_arith, "mov $5, %eax; add $3, %eax; mov %eax, 0x20000; mov $1, %ebx; cmp $2, %ebx; hlt");
GUEST(g_pushf, "stc; pushf; pop %eax; hlt");
GUEST(g_popf, "push $0x00247ed5; popf; hlt");
GUEST(g_popf_if0, "push $0x00000002; popf; hlt");
GUEST(g_popf_nop, "push $0x00000202; popf; nop; g_popf_nop_after: hlt");
GUEST(g_sti_nop, "sti; nop; g_sti_nop_after: hlt");
GUEST(g_cli, "cli; hlt");
GUEST(g_movsb, "cld; rep movsb; hlt");
GUEST(g_stosl_down, "std; rep stosl; hlt");
GUEST(g_cmpsb, "cld; repe cmpsb; hlt");
GUEST(g_loop, "xor %eax, %eax; mov $1000, %ecx; 1: add $3, %eax; dec %ecx; jnz 1b; hlt");
GUEST(g_calls,
      "mov $" AT(g_calls, "g_calls_fn") ", %ebx; call *%ebx; mov %eax, %edx;"
      "call g_calls_fn2; g_calls_ret: hlt;"
      "g_calls_fn: mov $7, %eax; ret;"
      "g_calls_fn2: mov (%esp), %esi; ret");
GUEST(g_sreg, "mov %ds, %eax; push %es; pop %ebx; hlt");
GUEST(g_fault, "mov $1, %eax; g_fault_at: mov 0x500000, %ebx; hlt");
/* Accesses through the guest's %gs and %cs, which translated code cannot
 * use directly (they are the monitor's): the shadows are swapped in. */
GUEST(g_segov, "mov %gs:0x20000, %eax; mov %cs:0x20004, %ebx; addl $5, %gs:0x20008; hlt");
/* An indirect jump through a table in DATA with three targets in turn. */
GUEST(g_ibl,
      "xor %edx, %edx; mov $30, %ecx; xor %esi, %esi;"
      "g_ibl_loop: jmp *0x20000(,%esi,4);"
      "g_ibl_t0: add $1, %edx; jmp 2f;"
      "g_ibl_t1: add $10, %edx; jmp 2f;"
      "g_ibl_t2: add $100, %edx; jmp 2f;"
      "2: inc %esi; cmp $3, %esi; jne 1f; xor %esi, %esi; 1: dec %ecx; jnz g_ibl_loop; hlt");
/* Flags set before a fragment's end, used after the next one's counter. */
GUEST(g_prof,
      "stc; jmp 1f; 1: adc $0, %eax; mov $10, %ecx;"
      "g_prof_loop: cmp $5, %ecx; jmp g_prof_use; g_prof_use: adc $0, %edx; dec %ecx; jnz g_prof_loop; hlt");

/* ---- the test's monitor ---- */
/* The callout record after the far call (docs/profile-format.md, vmm/callouts.c). */
struct rec { uint16_t kind, aux; uint32_t arg; };
_Static_assert(sizeof(struct rec) == CO_REC_SIZE, "callout record");
static struct {
	struct uworld_info info;
	bool ready;
	struct sigaction handlers[6];   /* the world's, put back before each run (cmocka replaces them) */
	void *meta;
	void *prof;                     /* -profile's arena, when a test asks for it */
	bool profiling;
	/* what the run did */
	unsigned ncallouts, nexits, nirq_checks, nindirect;
	uint16_t last_kind;
	uint32_t last_arg, irq_check_arg;
	bool trapped;
	struct vmm_trap trap;
	struct bt_pc trap_pc;
	bool trap_pc_ok;
} fx;
static const int world_sigs[6] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS };

/* Exits chain, indirect branches learn and look up as in vmm/callouts.c;
 * an irq check is counted and continues; anything else (hlt ends every
 * snippet) leaves the world with the guest state in the monitor area. */
uint32_t vmm_callout(struct mon_area *ma, uint32_t site)
{
	const struct rec *r = (const struct rec *)(uintptr_t)site;
	fx.ncallouts++;
	fx.last_kind = r->kind;
	fx.last_arg = r->arg;
	uint32_t target = 0, tc;
	switch (r->kind) {
	case CO_EXIT:
		fx.nexits++;
		tc = bt_exit_taken(r->aux == 1 ? ma->s_tmp : r->arg, &target);
		return tc ? tc : bt_get(target);
	case CO_IBL_MISS:
		fx.nindirect++;
		tc = bt_ibl_miss(ma->s_target);
		return tc ? tc : bt_get(ma->s_target);
	case CO_IC_LEARN:
		fx.nindirect++;
		tc = bt_ic_learn(r->aux == 1 ? ma->s_tmp : r->arg, ma->s_target);
		return tc ? tc : bt_get(ma->s_target);
	case CO_IRQ_CHECK:
		fx.nirq_checks++;
		fx.irq_check_arg = r->arg;
		return site + CO_REC_SIZE;
	default:
		ma->exit_reason = 1;
		return 0;
	}
}

enum trap_action vmm_trap(struct vmm_trap *t)
{
	fx.trapped = true;
	fx.trap = *t;
	fx.trap_pc_ok = bt_pc_lookup(t->rip, &fx.trap_pc);
	mon_area()->exit_reason = 2;
	return TRAP_EXIT_WORLD;
}

/* What uworld.c calls on the VMX's other parts: nothing here uses them. */
int console_input_fd(void) { return -1; }
size_t console_read(uint8_t *b, size_t n, bool w, bool *q) { (void)b; (void)n; (void)w; *q = false; return 0; }
void console_write(const uint8_t *b, size_t n) { (void)b; (void)n; }
void console_restore_signal(void) {}
int disk_read(unsigned d, uint64_t lba, void *b, uint32_t n) { (void)d; (void)lba; (void)b; (void)n; return -1; }
int disk_write(unsigned d, uint64_t lba, const void *b, uint32_t n) { (void)d; (void)lba; (void)b; (void)n; return -1; }
int disk_flush(unsigned d) { (void)d; return -1; }
void perfmap_fragment(const struct world_fragment *f) { (void)f; }
void perfmap_flush(void) {}
void perfmap_flush_signal(void) {}
void stats_report_abandon_signal(void) {}
bool debugger_poll(void) { return false; }
enum vmm_dbg_resume debugger_stopped(const struct vmm_dbg_stop *why) { (void)why; abort(); }
_Noreturn void sandbox_stopped(int nr, uint32_t arch, const void *call_addr)
{
	(void)arch; (void)call_addr;
	fprintf(stderr, "test_bt_exec: system call %d refused\n", nr);
	abort();
}

static const uint8_t *code_ptr(void *ctx, uint32_t lin, uint32_t *avail, uint32_t *phys)
{
	(void)ctx;
	if (lin >= RAM)
		return NULL;
	*avail = 4096u - (lin & 4095u);
	*phys = lin;
	return fx.info.ram + lin;
}
static void trace_code_page(void *ctx, uint32_t ppn, bool on) { (void)ctx; (void)ppn; (void)on; }

static uint8_t *guest(uint32_t lin) { return fx.info.ram + lin; }
static uint32_t g32(uint32_t lin) { uint32_t v; memcpy(&v, guest(lin), 4); return v; }

/* The world once for the process (it reserves the low 4 GiB); guest RAM
 * mapped at the same linear addresses; one data descriptor, truncated
 * below the monitor area as the guest's shadows are. */
#define SEL_DATA LDT_SEL(LDT_SHADOW_FIRST)
#define SEL_GS4K LDT_SEL(LDT_SHADOW_FIRST + 1)   /* a guest %gs based at 4 KiB */
#define PROF_SIZE ((size_t)64 << 20)   /* what bt_prof_init needs and more */
static int world_up(void **state)
{
	(void)state;
	if (fx.ready)
		return 0;
	char err[256];
	if (uworld_init(RAM, &fx.info, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	for (unsigned i = 0; i < 6; i++)
		sigaction(world_sigs[i], NULL, &fx.handlers[i]);
	if (uworld_ops.map(0, RAM, 0, WP_RW) ||
	    uworld_ops.set_ldt(LDT_SHADOW_FIRST, 0, GUEST_LIN_LIMIT, WD_WRITABLE | WD_32 | WD_PRESENT) ||
	    uworld_ops.set_ldt(LDT_SHADOW_FIRST + 1, 0x1000, GUEST_LIN_LIMIT - 0x1000, WD_WRITABLE | WD_32 | WD_PRESENT))
		return -1;
	fx.meta = malloc((size_t)64 << 20);
	fx.prof = malloc(PROF_SIZE);
	fx.ready = fx.meta && fx.prof;
	return fx.ready ? 0 : -1;
}

/* A fresh translator, the snippet at CODE, and the guest's entry state:
 * flat ring 0, these registers, virtual IF and system flags as given. */
struct entry {
	uint32_t eax, ecx, edx, ebx, esi, edi, ebp;
	uint32_t eflags, vif, veflags, pending;
};
static void load(const uint8_t *start, const uint8_t *end, const struct entry *e)
{
	stats_reset_registry();
	memset(guest(0), 0, 0x40000);
	memcpy(guest(CODE), start, (size_t)(end - start));
	memset((void *)(uintptr_t)(MON_BASE + MON_OFF_IBLTAB), 0, MON_IBLTAB_ENTRIES * 8u);
	struct bt_env env = {
		.code_ptr = code_ptr, .trace_code_page = trace_code_page, .ctx = &fx,
		.ram_pages = RAM >> 12, .tc_base = MON_BASE + MON_OFF_TC, .tc_size = 1u << 20,
		.ibl_table = MON_BASE + MON_OFF_IBLTAB, .gate_callout = fx.info.gate_callout,
		.gate_ibl = fx.info.gate_ibl, .gate_ibl_miss = fx.info.gate_ibl_miss,
		.gate_exit_shared = fx.info.gate_exit_shared, .gate_learn_shared = fx.info.gate_learn_shared,
		.meta = fx.meta, .meta_size = (size_t)64 << 20,
		.prof = fx.profiling ? fx.prof : NULL, .prof_size = PROF_SIZE,
	};
	assert_int_equal(bt_init(&env), 0);
	struct bt_mode m = { .cs_base = 0, .cpl = 0 };
	bt_set_mode(&m);
	bt_flush();
	struct mon_area *ma = mon_area();
	ma->eax = e->eax; ma->ecx = e->ecx; ma->edx = e->edx; ma->ebx = e->ebx;
	ma->esi = e->esi; ma->edi = e->edi; ma->ebp = e->ebp;
	ma->esp = STACK; ma->ss = SEL_DATA;
	ma->eflags = e->eflags | 2;
	ma->vif = e->vif; ma->veflags = e->veflags | 2; ma->pending = e->pending;
	ma->monstk_esp = MON_BASE + MON_OFF_STACK_TOP; ma->monstk_ss = fx.info.sel_flat;
	ma->resume_cs = fx.info.sel_code32; ma->mongs_sel = fx.info.sel_mongs;
	ma->ds_sel = ma->es_sel = ma->fs_sel = ma->ggs_sel = ma->gcs_sel = SEL_DATA;
	/* The host's FS base stays: libc (cmocka) may run in a callout. */
	ma->guest_fsbase = ma->host_fsbase;
	ma->gsel_cs = 0x08; ma->gsel_ss = ma->gsel_ds = ma->gsel_es = 0x10; ma->gsel_fs = ma->gsel_gs = 0x10;
	ma->step = 0;
	ma->ibl_off = bt_ibl_offset();
	memset(&fx.ncallouts, 0, sizeof fx - offsetof(typeof(fx), ncallouts));
}

/* Runs from EIP `eip` until the monitor above leaves the world. */
static void run_at(uint32_t eip)
{
	for (unsigned i = 0; i < 6; i++)
		sigaction(world_sigs[i], &fx.handlers[i], NULL);
	struct mon_area *ma = mon_area();
	ma->resume_eip = bt_get(eip);
	assert_true(ma->resume_eip != 0);
	ma->exit_reason = 0;
	uworld_enter();
}
#define RUN(name, ...) do { struct entry e_ = { __VA_ARGS__ }; load(name##_start, name##_end, &e_); run_at(CODE); } while (0)
/* The guest EIP of a label in the snippet. */
#define EIP(name, label) (CODE + (uint32_t)(label - name##_start))
extern const uint8_t g_popf_nop_after[], g_sti_nop_after[], g_calls_ret[], g_fault_at[];
extern const uint8_t g_prof_loop[], g_prof_use[], g_ibl_t0[], g_ibl_t1[], g_ibl_t2[];

#define FL_CF 0x001u
#define FL_PF 0x004u
#define FL_AF 0x010u
#define FL_ZF 0x040u
#define FL_SF 0x080u
#define FL_IF 0x200u
#define FL_DF 0x400u
#define FL_OF 0x800u
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

static void stopped_at_hlt(void)
{
	assert_false(fx.trapped);
	assert_int_equal(fx.last_kind, CO_HLT);
}

/* ---- IDENT code ---- */
static void test_ident_arith_flags(void **state)
{
	(void)state;
	RUN(g_arith, .eax = 0);
	stopped_at_hlt();
	struct mon_area *ma = mon_area();
	assert_int_equal(ma->eax, 8);
	assert_int_equal(g32(DATA), 8);
	/* cmp 1 with 2: borrow and negative, not zero; 0xff has even parity; AF from the low nibble. */
	assert_int_equal(ma->eflags & FL_ARITH, FL_CF | FL_SF | FL_AF | FL_PF);
	assert_int_equal(fx.last_arg, g_arith_end - g_arith_start - 1 + CODE);   /* the hlt's EIP */
}

/* ---- inline pushf/popf/cli/sti on the virtual EFLAGS ---- */
static void test_pushf_shows_virtual_flags(void **state)
{
	(void)state;
	RUN(g_pushf, .vif = FL_IF, .veflags = 0x3000);   /* IOPL 3 */
	stopped_at_hlt();
	struct mon_area *ma = mon_area();
	/* CF from stc, IF and IOPL from the virtual state, bit 1; nothing of the host's. */
	assert_int_equal(ma->eax, 0x3000 | FL_IF | 2 | FL_CF);
	assert_int_equal(ma->esp, STACK);
	RUN(g_pushf, .vif = 0, .veflags = 0, .eflags = FL_ZF);
	assert_int_equal(mon_area()->eax, FL_ZF | 2 | FL_CF);
}

static void test_popf_sets_virtual_state(void **state)
{
	(void)state;
	RUN(g_popf, .vif = 0, .veflags = 0);
	stopped_at_hlt();
	struct mon_area *ma = mon_area();
	assert_int_equal(ma->vif, FL_IF);
	assert_int_equal(ma->veflags, 0x00247000 | 2);         /* IOPL, NT, AC, ID */
	assert_int_equal(ma->eflags & (FL_ARITH | FL_DF), FL_ARITH | FL_DF);
	assert_int_equal(ma->esp, STACK);
	/* A popf reads its slot and leaves it as it was (popf_stack_slot). */
	assert_int_equal(g32(STACK - 4), 0x00247ed5);
	RUN(g_popf_if0, .vif = FL_IF, .veflags = 0x3000, .eflags = FL_ARITH);
	ma = mon_area();
	assert_int_equal(ma->vif, 0);
	assert_int_equal(ma->veflags, 2);
	assert_int_equal(ma->eflags & FL_ARITH, 0);
}

static void test_popf_and_sti_check_pending_after_next(void **state)
{
	(void)state;
	/* popf that sets IF with an interrupt pending: the monitor is asked at the next instruction. */
	RUN(g_popf_nop, .vif = 0, .pending = 1);
	stopped_at_hlt();
	assert_int_equal(fx.nirq_checks, 1);
	assert_int_equal(fx.irq_check_arg, EIP(g_popf_nop, g_popf_nop_after) - 1);   /* the nop */
	assert_int_equal(mon_area()->vif, FL_IF);
	RUN(g_popf_nop, .vif = 0, .pending = 0);
	assert_int_equal(fx.nirq_checks, 0);
	/* sti: not before the instruction after it (its shadow), then at once. */
	RUN(g_sti_nop, .vif = 0, .pending = 1);
	stopped_at_hlt();
	assert_int_equal(fx.nirq_checks, 1);
	assert_int_equal(fx.irq_check_arg, EIP(g_sti_nop, g_sti_nop_after));
	assert_int_equal(mon_area()->vif, FL_IF);
	RUN(g_sti_nop, .vif = 0, .pending = 0);
	assert_int_equal(fx.nirq_checks, 0);
	assert_int_equal(mon_area()->vif, FL_IF);
}

static void test_cli_clears_virtual_if_only(void **state)
{
	(void)state;
	RUN(g_cli, .vif = FL_IF, .eflags = FL_CF | FL_ZF);
	stopped_at_hlt();
	struct mon_area *ma = mon_area();
	assert_int_equal(ma->vif, 0);
	assert_int_equal(ma->eflags & FL_ARITH, FL_CF | FL_ZF);
}

/* ---- string instructions ---- */
static void test_rep_movsb(void **state)
{
	(void)state;
	struct entry e = { .ecx = 37, .esi = DATA, .edi = DATA2 };
	load(g_movsb_start, g_movsb_end, &e);
	for (unsigned i = 0; i < 64; i++)
		guest(DATA)[i] = (uint8_t)(i * 7 + 1);
	run_at(CODE);
	stopped_at_hlt();
	struct mon_area *ma = mon_area();
	assert_int_equal(ma->ecx, 0);
	assert_int_equal(ma->esi, DATA + 37);
	assert_int_equal(ma->edi, DATA2 + 37);
	assert_memory_equal(guest(DATA2), guest(DATA), 37);
	assert_int_equal(guest(DATA2)[37], 0);
}

static void test_rep_stosl_backwards(void **state)
{
	(void)state;
	RUN(g_stosl_down, .eax = 0xdeadbeef, .ecx = 4, .edi = DATA + 12);
	stopped_at_hlt();
	struct mon_area *ma = mon_area();
	assert_int_equal(ma->ecx, 0);
	assert_int_equal(ma->edi, DATA - 4);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(g32(DATA + 4 * i), 0xdeadbeef);
	assert_int_equal(g32(DATA + 16), 0);
	assert_int_equal(g32(DATA - 4), 0);
	assert_true(ma->eflags & FL_DF);
}

static void test_repe_cmpsb_stops_at_difference(void **state)
{
	(void)state;
	struct entry e = { .ecx = 20, .esi = DATA, .edi = DATA2 };
	load(g_cmpsb_start, g_cmpsb_end, &e);
	memcpy(guest(DATA), "abcdefghijklmnopqrst", 20);
	memcpy(guest(DATA2), "abcdefghiXklmnopqrst", 20);
	run_at(CODE);
	stopped_at_hlt();
	struct mon_area *ma = mon_area();
	assert_int_equal(ma->ecx, 10);          /* 10 compared, the last one differs */
	assert_int_equal(ma->esi, DATA + 10);
	assert_int_equal(ma->edi, DATA2 + 10);
	assert_int_equal(ma->eflags & (FL_ZF | FL_CF), 0);   /* 'j' - 'X': not equal, no borrow */
}

/* ---- exits, chaining, calls and indirect branches ---- */
static void test_loop_runs_chained(void **state)
{
	(void)state;
	RUN(g_loop, .eax = 5);
	stopped_at_hlt();
	struct mon_area *ma = mon_area();
	assert_int_equal(ma->eax, 3000);
	assert_int_equal(ma->ecx, 0);
	/* Each exit reaches the monitor once, then jumps straight to its target:
	 * into the loop, back to it, out of it. */
	assert_int_equal(fx.nexits, 3);
	assert_int_equal(fx.ncallouts, 4);
}

static void test_calls_push_guest_return_addresses(void **state)
{
	(void)state;
	for (int pass = 0; pass < 2; pass++) {
		/* The second time, on code already translated, chained and predicted. */
		if (pass == 0) {
			RUN(g_calls, .eax = 0);
		} else {
			struct mon_area *ma = mon_area();
			ma->esp = STACK; ma->eax = ma->edx = ma->esi = 0;
			fx.ncallouts = fx.nexits = 0;
			fx.last_kind = 0;
			run_at(CODE);
			assert_int_equal(fx.ncallouts, 1);   /* the hlt alone */
		}
		stopped_at_hlt();
		struct mon_area *ma = mon_area();
		assert_int_equal(ma->edx, 7);
		assert_int_equal(ma->esi, EIP(g_calls, g_calls_ret));   /* the guest's return address, not a TC one */
		assert_int_equal(ma->esp, STACK);
	}
}

/* The inline cache predicts one target, the shared lookup (gate_ibl, run
 * here as 32-bit code) finds the others once the monitor has seen them. */
static void test_indirect_jumps_through_the_ibl(void **state)
{
	(void)state;
	struct entry e = { 0 };
	load(g_ibl_start, g_ibl_end, &e);
	uint32_t tab[3] = { EIP(g_ibl, g_ibl_t0), EIP(g_ibl, g_ibl_t1), EIP(g_ibl, g_ibl_t2) };
	memcpy(guest(DATA), tab, sizeof tab);
	run_at(CODE);
	stopped_at_hlt();
	assert_int_equal(mon_area()->edx, 1110);
	assert_int_equal(mon_area()->ecx, 0);
	assert_true(fx.nindirect >= 1 && fx.nindirect <= 3);   /* once per target at most */
	assert_true(fx.ncallouts < 20);
}

static void test_segment_register_reads_are_the_guests(void **state)
{
	(void)state;
	struct entry e = { 0 };
	load(g_sreg_start, g_sreg_end, &e);
	mon_area()->gsel_ds = 0x18;
	mon_area()->gsel_es = 0x23;
	run_at(CODE);
	stopped_at_hlt();
	assert_int_equal(mon_area()->eax & 0xffff, 0x18);
	assert_int_equal(mon_area()->ebx, 0x23);
	assert_int_equal(mon_area()->esp, STACK);
}

static void test_gs_and_cs_overrides_use_the_guests_segments(void **state)
{
	(void)state;
	struct entry e = { 0 };
	load(g_segov_start, g_segov_end, &e);
	mon_area()->ggs_sel = SEL_GS4K;
	uint32_t v[3] = { 0x11111111, 0x22222222, 10 };
	memcpy(guest(DATA + 0x1000), &v[0], 4);
	memcpy(guest(DATA + 4), &v[1], 4);
	memcpy(guest(DATA + 0x1008), &v[2], 4);
	run_at(CODE);
	stopped_at_hlt();   /* the monitor's %gs came back: the hlt's callout sequence needs it */
	struct mon_area *ma = mon_area();
	assert_int_equal(ma->eax, 0x11111111);
	assert_int_equal(ma->ebx, 0x22222222);
	assert_int_equal(g32(DATA + 0x1008), 15);
	assert_int_equal(g32(DATA + 8), 0);
}

/* ---- a fault in translated code maps back to its guest instruction ---- */
static void test_fault_maps_to_guest_instruction(void **state)
{
	(void)state;
	RUN(g_fault, .ebx = 0x1234);
	assert_true(fx.trapped);
	assert_int_equal(fx.trap.kind, TRAP_SEGV);
	assert_int_equal(fx.trap.where, TRAP_IN_TC);
	assert_int_equal(fx.trap.addr, UNMAPPED);
	assert_true(fx.trap_pc_ok);
	assert_int_equal(fx.trap_pc.eip, EIP(g_fault, g_fault_at));
	assert_true(fx.trap_pc.boundary);
	assert_int_equal(fx.trap.regs[0], 1);        /* eax: the instruction before ran */
	assert_int_equal(fx.trap.regs[3], 0x1234);   /* ebx: the faulting one did not */
}

/* ---- -profile's counter prologue ---- */
static uint64_t execs_at(uint32_t eip)
{
	const struct prof_arena *a = bt_prof_sync();
	assert_non_null(a);
	uint64_t n = 0;
	for (uint32_t i = 1; i < a->nrec; i++)
		if (a->recs[i].eip == eip)
			n += a->recs[i].execs;
	return n;
}

static void test_profile_counts_and_keeps_flags(void **state)
{
	(void)state;
	fx.profiling = true;
	RUN(g_prof, .eax = 0, .edx = 0);
	fx.profiling = false;
	stopped_at_hlt();
	struct mon_area *ma = mon_area();
	assert_int_equal(ma->eax, 1);     /* stc's CF, through a jump and the next fragment's counter */
	assert_int_equal(ma->edx, 4);     /* cmp's CF for ecx 4..1, likewise */
	assert_int_equal(execs_at(EIP(g_prof, g_prof_use)), 10);
	assert_int_equal(execs_at(EIP(g_prof, g_prof_loop)), 9);   /* entered by jnz; the first pass fell in */
	assert_int_equal(execs_at(CODE), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ident_arith_flags),
		cmocka_unit_test(test_pushf_shows_virtual_flags),
		cmocka_unit_test(test_popf_sets_virtual_state),
		cmocka_unit_test(test_popf_and_sti_check_pending_after_next),
		cmocka_unit_test(test_cli_clears_virtual_if_only),
		cmocka_unit_test(test_rep_movsb),
		cmocka_unit_test(test_rep_stosl_backwards),
		cmocka_unit_test(test_repe_cmpsb_stops_at_difference),
		cmocka_unit_test(test_loop_runs_chained),
		cmocka_unit_test(test_calls_push_guest_return_addresses),
		cmocka_unit_test(test_indirect_jumps_through_the_ibl),
		cmocka_unit_test(test_segment_register_reads_are_the_guests),
		cmocka_unit_test(test_gs_and_cs_overrides_use_the_guests_segments),
		cmocka_unit_test(test_fault_maps_to_guest_instruction),
		cmocka_unit_test(test_profile_counts_and_keeps_flags),
	};
	return cmocka_run_group_tests(tests, world_up, NULL);
}
