/* The data-access emulator's compares and exchanges: cmps and scas (rep,
 * repe, repne) against device memory, ROM or the monitor's range, and
 * cmpxchg, xadd and cmpxchg8b (locked or not) there or on traced pages, so
 * a page-table owner hears the exact bytes. Flags come from the host CPU
 * (emu_alu) as for the other read-modify-write forms. The monitor is the
 * only writer while it runs, so no access is torn for this one vCPU.
 * Environment: monitor, host stack; guest registers in vm.ma. */
#include "vm.h"

static int raise(int vec)
{
	deliver_exception((unsigned)vec, vec == EXC_GP || vec == EXC_SS, 0);
	return -1;
}

/* Element by element with ESI, EDI and ECX exact after each, so a fault
 * in the middle leaves the instruction restartable as on the CPU. */
int emulate_string_compare(const struct bt_insn *in, const uint8_t *code, uint32_t next)
{
	uint8_t op = code[in->opcode_off];
	bool scas = op >= 0xae;
	unsigned size = (op & 1) ? in->opsize / 8u : 1u;
	int step = (vm.ma->eflags & X86_FL_DF) ? -(int)size : (int)size;
	int src = (int)bt_string_source_seg(in, code);
	uint32_t mask = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	uint32_t count = in->rep ? vm.ma->ecx : 1;
	int vec;
	while (count) {
		uint32_t a = 0, b = 0;
		if (scas)
			a = vm.ma->eax & mask;
		else if (!seg_read(src, vm.ma->esi, &a, size, &vec))
			return raise(vec);
		if (!seg_read(SEG_ES, vm.ma->edi, &b, size, &vec))
			return raise(vec);
		emu_alu(A_CMP, size, a, b, &vm.ma->eflags);
		if (!scas)
			vm.ma->esi += (uint32_t)step;
		vm.ma->edi += (uint32_t)step;
		count--;
		if (!in->rep)
			break;
		vm.ma->ecx = count;
		bool zf = vm.ma->eflags & X86_FL_ZF;
		if (in->rep == 1 ? !zf : zf)     /* repe stops on a difference, repne on a match */
			break;
	}
	vm.eip = next;
	return 1;
}

static uint32_t reg8(unsigned r) { return (ma_reg((int)(r & 3)) >> ((r & 4) ? 8 : 0)) & 0xff; }
static void set_reg8(unsigned r, uint32_t v)
{
	unsigned sh = (r & 4) ? 8 : 0;
	ma_set_reg((int)(r & 3), (ma_reg((int)(r & 3)) & ~(0xffu << sh)) | ((v & 0xff) << sh));
}
static uint32_t reg_n(unsigned r, unsigned size)
{
	return size == 1 ? reg8(r) : size == 2 ? ma_reg((int)r) & 0xffff : ma_reg((int)r);
}
static void set_reg_n(unsigned r, unsigned size, uint32_t v)
{
	if (size == 1)
		set_reg8(r, v);
	else if (size == 2)
		ma_set_reg((int)r, (ma_reg((int)r) & 0xffff0000u) | (v & 0xffff));
	else
		ma_set_reg((int)r, v);
}

int emulate_exchange(const struct bt_insn *in, const uint8_t *code, int seg, uint32_t off, unsigned regf,
		     uint32_t next)
{
	uint8_t op2 = code[in->opcode_off + 1];
	int vec;
	if (op2 == 0xc7) {                       /* cmpxchg8b m64 */
		uint32_t m[2];
		if (!seg_read(seg, off, m, 8, &vec))
			return raise(vec);
		bool eq = m[0] == vm.ma->eax && m[1] == vm.ma->edx;
		if (eq) {
			uint32_t n[2] = { vm.ma->ebx, vm.ma->ecx };
			if (!seg_write(seg, off, n, 8, &vec))
				return raise(vec);
			vm.ma->eflags |= X86_FL_ZF;
		} else {
			vm.ma->eax = m[0];
			vm.ma->edx = m[1];
			vm.ma->eflags &= ~X86_FL_ZF;
		}
		vm.eip = next;
		return 1;
	}
	unsigned size = (op2 & 1) ? in->opsize / 8u : 1u;
	uint32_t m = 0;
	if (!seg_read(seg, off, &m, size, &vec))
		return raise(vec);
	uint32_t src = reg_n(regf, size);
	if (op2 == 0xc0 || op2 == 0xc1) {        /* xadd: memory gets the sum, the register the old value */
		uint32_t sum = emu_alu(A_ADD, size, m, src, &vm.ma->eflags);
		if (!seg_write(seg, off, &sum, size, &vec))
			return raise(vec);
		set_reg_n(regf, size, m);
	} else {                                 /* cmpxchg: the accumulator against memory */
		uint32_t acc = reg_n(0, size);
		emu_alu(A_CMP, size, acc, m, &vm.ma->eflags);
		if (acc == m) {
			if (!seg_write(seg, off, &src, size, &vec))
				return raise(vec);
		} else {
			set_reg_n(0, size, m);
		}
	}
	vm.eip = next;
	return 1;
}
