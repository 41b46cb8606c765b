/* Far jumps and calls (jmp/call ptr16:32 and m16:32): straight to a code
 * segment, or through a 32-bit call gate to the same privilege level (the
 * SDM's CALL/JMP procedure for gates, with its checks and their error
 * codes). Task switches are task.c's; gates to inner levels stop the VM
 * by name.
 * Environment: monitor, host stack; guest state in vm and vm.ma. */
#include "vm.h"

#define DESC_P    0x8000u
#define DESC_S    0x1000u
#define TYPE_TSS16       0x1u
#define TYPE_CALL_GATE16 0x4u
#define TYPE_TASK_GATE   0x5u
#define TYPE_TSS32       0x9u
#define TYPE_CALL_GATE32 0xcu

static int raise(int vec, uint32_t err)
{
	deliver_exception((unsigned)vec, true, err);
	return -1;
}

/* The return frame of a far call: EIP, then CS, 32 bits each. */
static int push_frame(uint32_t next)
{
	uint32_t frame[2] = { next, vm.seg[SEG_CS].sel };
	int vec;
	if (!seg_write(SEG_SS, vm.ma->esp - 8, frame, 8, &vec))
		return raise(vec, 0);
	vm.ma->esp -= 8;
	return 0;
}

static int direct(bool call, uint16_t sel, uint32_t off, uint32_t next, unsigned bits)
{
	int vec; uint32_t err;
	uint32_t esp = vm.ma->esp;
	if (call) {
		if (bits != 32)
			vmm_fatal_eip("16-bit far call is not supported, eip", vm.eip);
		if (push_frame(next) != 0)
			return -1;
	}
	if (seg_load_cs(sel, &vec, &err) != 0) {
		vm.ma->esp = esp;
		return raise(vec, err);
	}
	vm.eip = off;
	return 1;
}

/* Through a call gate: the gate's DPL must admit CPL and the selector's
 * RPL; its code segment must be at CPL (or conforming below it). The
 * offset in the instruction is ignored. */
static int through_gate(bool call, uint16_t gsel, uint32_t glo, uint32_t ghi, uint32_t next)
{
	unsigned gdpl = (ghi >> 13) & 3;
	if (gdpl < (unsigned)vm.cpl || gdpl < (gsel & 3u))
		return raise(EXC_GP, gsel & ~3u);
	if (!(ghi & DESC_P))
		return raise(EXC_NP, gsel & ~3u);
	if (((ghi >> 8) & 0xf) == TYPE_CALL_GATE16) {
		vmm_unsupported(UNSUP_CALL_GATE, vm.eip);
		return -2;
	}
	uint16_t csel = (uint16_t)(glo >> 16);
	uint32_t off = (glo & 0xffffu) | (ghi & 0xffff0000u);
	uint32_t lo, hi;
	if ((csel & ~3u) == 0)
		return raise(EXC_GP, 0);
	if (!desc_read(csel, &lo, &hi))
		return raise(EXC_GP, csel & ~3u);
	struct segcache cs;
	seg_from_desc(&cs, csel, lo, hi);
	bool conforming = cs.type & 4;
	if (!cs.s || !(cs.type & 8) || cs.dpl > vm.cpl || (!call && !conforming && cs.dpl != vm.cpl))
		return raise(EXC_GP, csel & ~3u);
	if (!cs.present)
		return raise(EXC_NP, csel & ~3u);
	if (call && !conforming && cs.dpl < vm.cpl) {
		/* A stack switch through the TSS and copied parameters. */
		vmm_unsupported(UNSUP_CALL_GATE, vm.eip);
		return -2;
	}
	if (off > cs.limit)
		return raise(EXC_GP, 0);
	/* The target's RPL is replaced by CPL: the load sees RPL 0 at most. */
	return direct(call, (uint16_t)(csel & ~3u), off, next, 32);
}

int far_transfer(bool call, uint16_t sel, uint32_t off, uint32_t next, unsigned bits)
{
	uint32_t lo, hi;
	if ((sel & ~3u) && desc_read(sel, &lo, &hi) && !(hi & DESC_S)) {
		switch ((hi >> 8) & 0xf) {
		case TYPE_CALL_GATE32: case TYPE_CALL_GATE16:
			return through_gate(call, sel, lo, hi, next);
		case TYPE_TSS16: case TYPE_TSS32: case TYPE_TASK_GATE:
			return task_far(call, sel, lo, hi, next);
		default:
			break;        /* busy TSS, LDT, interrupt gates: #GP(sel) below */
		}
	}
	return direct(call, sel, off, next, bits);
}
