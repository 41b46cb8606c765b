/* Emulation of the sensitive instructions translated code hands to the
 * monitor (CO_EMULATE and string I/O): descriptor-table and control-register
 * access, segment loads, far transfers, MSRs, CPUID, TSC, lar/lsl/verr/verw
 * (data accesses the hardware could not do: emulate_data.c).
 * The instruction is decoded again from guest memory: callouts of this kind
 * are rare enough that a second decode costs less than storing operands. */
#include "vm.h"
#include "emulate_internal.h"
#include "tunables.h"


static uint32_t dr[8];

void emulate_note_single_step(void) { dr[6] |= 0x4000u; }
static uint32_t sysenter_cs, sysenter_esp, sysenter_eip;

static bool guarded_decode(const uint8_t *code, struct bt_insn *in, bool *trunc)
{
	struct bt_fpu_save fpu;
	bt_decoder_enter(&fpu);
	bool ok = bt_decode(code, 15, in, trunc);
	bt_decoder_leave(&fpu);
	return ok;
}

bool emu_fault(int vec, uint32_t err)
{
	bool has = vec == EXC_GP || vec == EXC_NP || vec == EXC_SS || vec == EXC_TS || vec == EXC_DF || vec == EXC_AC;
	deliver_exception((unsigned)vec, has, err);
	return false;
}


/* Decoded instructions by linear address: emulated instructions repeat
 * (a page-table store, a segment load in a loop), and a decode costs far
 * more than comparing the bytes, which also keeps the cache right under
 * self-modifying code. */
#define DECODE_CACHE 256u
static struct { uint32_t lin; bool valid; uint8_t code[16]; struct bt_insn in; } dcache[DECODE_CACHE];
static stat_counter decode_hits = { "vmm.emulate.decode_cached", 0 };

/* The guest instruction at eip, fetched again (as far as it is readable)
 * and decoded, with its ModRM fields split out. */
bool emu_fetch_insn(uint32_t eip, struct ctx *c, bool *trunc)
{
	m_memset(c, 0, sizeof(*c));
	uint32_t lin = vm.seg[SEG_CS].base + eip;
	if (!glin_fetch(lin, c->code, 15)) {
		unsigned n = 0;
		while (n < 15 && glin_fetch(lin + n, c->code + n, 1))
			n++;
	}
	unsigned slot = (lin ^ (lin >> 8)) & (DECODE_CACHE - 1);
	bool hit = dcache[slot].valid && dcache[slot].lin == lin;
	for (unsigned i = 0; hit && i < 15; i++)
		hit = dcache[slot].code[i] == c->code[i];
	if (hit) {
		stat_inc(&decode_hits);
		c->in = dcache[slot].in;
	} else {
		if (!guarded_decode(c->code, &c->in, trunc))
			return false;
		dcache[slot].lin = lin;
		dcache[slot].valid = true;
		m_memcpy(dcache[slot].code, c->code, 16);
		dcache[slot].in = c->in;
	}
	if (c->in.modrm_off != 0xff) {
		uint8_t m = c->code[c->in.modrm_off];
		c->mod = m >> 6; c->regf = (m >> 3) & 7; c->rm = m & 7;
	}
	c->next = eip + c->in.len;
	return true;
}


uint32_t emu_ea(const struct bt_insn *in)
{
	uint32_t a = (uint32_t)in->mem_disp;
	if (in->mem_base != 0xff)
		a += ma_reg(in->mem_base);
	if (in->mem_index != 0xff)
		a += ma_reg(in->mem_index) * (in->mem_scale ? in->mem_scale : 1);
	return a;
}
int emu_mseg(const struct bt_insn *in) { return in->mem_seg == SEG_NONE ? SEG_DS : in->mem_seg; }

bool emu_mem_read(const struct ctx *c, uint32_t extra, void *d, uint32_t len)
{
	int vec;
	if (!seg_read(mseg(c), ea(c) + extra, d, len, &vec))
		return emu_fault(vec, 0);
	return true;
}
bool emu_mem_write(const struct ctx *c, uint32_t extra, const void *s, uint32_t len)
{
	int vec;
	if (!seg_write(mseg(c), ea(c) + extra, s, len, &vec))
		return emu_fault(vec, 0);
	return true;
}

/* The r/m operand as 16 or 32 bits. */
bool emu_rm_read(const struct ctx *c, unsigned bits, uint32_t *v)
{
	if (c->mod == 3) {
		*v = ma_reg(c->rm);
		if (bits == 16)
			*v &= 0xffff;
		return true;
	}
	*v = 0;
	return emu_mem_read(c, 0, v, bits / 8);
}
bool emu_rm_write(const struct ctx *c, unsigned bits, uint32_t v)
{
	if (c->mod == 3) {
		if (bits == 16)
			v = (ma_reg(c->rm) & 0xffff0000u) | (v & 0xffff);
		ma_set_reg(c->rm, v);
		return true;
	}
	return emu_mem_write(c, 0, &v, bits / 8);
}
void emu_reg_write(int r, unsigned bits, uint32_t v)
{
	if (bits == 16)
		v = (ma_reg(r) & 0xffff0000u) | (v & 0xffff);
	ma_set_reg(r, v);
}

void emu_set_zf(bool z)
{
	if (z) vm.ma->eflags |= FL_ZF; else vm.ma->eflags &= ~FL_ZF;
}

static bool push(unsigned bytes, uint32_t v)
{
	int vec;
	if (!seg_write(SEG_SS, vm.ma->esp - bytes, &v, bytes, &vec))
		return emu_fault(vec, 0);
	vm.ma->esp -= bytes;
	return true;
}

static bool rdmsr(uint32_t idx, uint64_t *v)
{
	switch (idx) {
	case 0x10: *v = vclock_tsc(&vm.clock); return true;
	case 0x1b: if (!board_has_lapic()) return false; *v = lapic_get_base(&vm.lapic); return true;
	case 0x174: *v = sysenter_cs; return true;
	case 0x175: *v = sysenter_esp; return true;
	case 0x176: *v = sysenter_eip; return true;
	case 0x1a0: *v = 1; return true;                        /* fast strings */
	case 0x8b: *v = (uint64_t)CPU_MICROCODE_REV << 32; return true;  /* IA32_BIOS_SIGN_ID */
	case 0x17: case 0xfe: case 0x2ff: case 0x277: case 0x179: case 0x17a: *v = 0; return true;
	default:
		if (idx >= 0x200 && idx < 0x210) { *v = 0; return true; }
		return false;
	}
}
static bool wrmsr(uint32_t idx, uint64_t v)
{
	switch (idx) {
	case 0x10: vclock_set_tsc(&vm.clock, v); return true;
	case 0x1b: return board_has_lapic() && lapic_set_base(&vm.lapic, v);   /* IA32_APIC_BASE */
	case 0x174: sysenter_cs = (uint32_t)v; return true;
	case 0x175: sysenter_esp = (uint32_t)v; return true;
	case 0x176: sysenter_eip = (uint32_t)v; return true;
	case 0x1a0: case 0x8b: case 0x2ff: case 0x277: case 0x179: case 0x17a: return true;
	default:
		return idx >= 0x200 && idx < 0x210;
	}
}

static stat_counter sysenters = { "vmm.syscall.sysenter", 0 };

void emulate_init(void)
{
	stats_register(&decode_hits);
	stats_register(&sysenters);
}

/* sysenter/sysexit (SDM vol. 2B): flat segments made from IA32_SYSENTER_CS
 * with no descriptor read, CPL 0 (sysenter, IF and VM cleared) or CPL 3
 * (sysexit, EIP from EDX and ESP from ECX). As QEMU does, they work
 * whether or not CPUID reports SEP. */
static bool fast_system_call(bool enter)
{
	uint16_t cs = (uint16_t)(sysenter_cs & 0xfffcu);
	if (!(vm.cr0 & 1) || !cs || (!enter && vm.cpl != 0)) {
		emu_fault(EXC_GP, 0);
		return false;
	}
	if (enter) {
		stat_inc(&sysenters);
		vm.cpl = 0;
		seg_set_flat(SEG_CS, cs, true);
		seg_set_flat(SEG_SS, (uint16_t)(cs + 8), false);
		vm.ma->vif = 0;
		vm.ma->veflags &= ~(X86_FL_VM | 0x10000u);     /* VM, RF */
		vm.ma->esp = sysenter_esp;
		vm.eip = sysenter_eip;
	} else {
		vm.cpl = 3;
		seg_set_flat(SEG_CS, (uint16_t)((cs + 16) | 3), true);
		seg_set_flat(SEG_SS, (uint16_t)((cs + 24) | 3), false);
		vm.seg[SEG_CS].dpl = vm.seg[SEG_SS].dpl = 3;
		vm.ma->esp = vm.ma->ecx;
		vm.eip = vm.ma->edx;
	}
	seg_publish();
	vmm_sync_mode();
	return true;
}

/* lar/lsl/verr/verw: descriptor visibility at CPL0 (RPL from the selector). */
static bool desc_visible(uint16_t sel, uint32_t *lo, uint32_t *hi)
{
	if ((sel & ~3u) == 0 || !desc_read(sel, lo, hi))
		return false;
	unsigned type = (*hi >> 8) & 0x1f;
	unsigned dpl = (*hi >> 13) & 3;
	bool conforming = (type & 0x1c) == 0x1c;
	if (!conforming && (dpl < (unsigned)vm.cpl || dpl < (sel & 3u)))
		return false;
	return true;
}

int emulate_string_io(uint32_t eip, bool in_dir)
{
	struct ctx c;
	if (!emu_fetch_insn(eip, &c, NULL))
		vmm_fatal_eip("cannot decode the string I/O instruction again at", eip);
	unsigned size = (c.code[c.in.opcode_off] & 1) ? c.in.opsize / 8 : 1;
	if (c.in.addrsize != 32)
		vmm_fatal_eip("16-bit addressing in string I/O is not supported, eip", eip);
	uint16_t port = (uint16_t)vm.ma->edx;
	int step = (vm.ma->eflags & FL_DF) ? -(int)size : (int)size;
	uint32_t count = c.in.rep ? vm.ma->ecx : 1;
	int seg = in_dir ? SEG_ES : (c.in.mem_seg == SEG_NONE ? SEG_DS : c.in.mem_seg);
	while (count) {
		int vec;
		if (in_dir) {
			uint32_t v = io_in(&vm.io, port, size);
			if (!seg_write(seg, vm.ma->edi, &v, size, &vec))
				return emu_fault(vec, 0), -1;
			vm.ma->edi += (uint32_t)step;
		} else {
			uint32_t v = 0;
			if (!seg_read(seg, vm.ma->esi, &v, size, &vec))
				return emu_fault(vec, 0), -1;
			io_out(&vm.io, port, size, v);
			vm.ma->esi += (uint32_t)step;
		}
		count--;
		if (c.in.rep)
			vm.ma->ecx = count;
		if (vm.stopped)
			return -2;
	}
	return 0;
}

/* Adaptive translation undone: an instruction made a callout because its
 * writes hit traced pages, whose accesses now keep landing on plain RAM
 * (untraced, writable, mapped for the host, below the monitor), runs
 * natively again. */
static struct { uint32_t lin, plain; } unadapt[256];

/* Whether the access seg:off would now run natively: no wrap around 4 GiB
 * through the segment's base (glibc's TLS at negative %gs offsets needs
 * the callout for the truncated segment, whatever memory it reaches), and
 * plain, untraced, writable RAM below the monitor (and below the kernel in
 * a user/kernel split). */
static bool plain_ram(int seg, uint32_t off, uint32_t len)
{
	uint64_t end = (uint64_t)vm.seg[seg].base + off + (len ? len : 1);
	uint32_t lin = vm.seg[seg].base + off, last = (uint32_t)(end - 1);
	if (lin < 0x1000 || end > GUEST_LIN_LIMIT + 1ull)
		return false;
	if (vm.cpl == 3 && mmu_user_limit() && last >= mmu_user_limit())
		return false;
	for (uint32_t a = lin;; a = (a | 0xfffu) + 1) {
		uint32_t pa, err;
		if (!mmu_translate(a, vm.cpl == 3 ? ACC_USER : 0, &pa, &err) || !mmu_phys_ptr(pa, 1) ||
		    mmu_page_traced(pa >> 12) || !mmu_write_allowed(pa))
			return false;
		if ((a | 0xfffu) >= last)
			return true;
	}
}

static bool adapt_back(uint32_t insn_lin, int seg, uint32_t off, uint32_t len)
{
	uint32_t h = (insn_lin ^ (insn_lin >> 8)) & 255;
	if (unadapt[h].lin != insn_lin) {
		unadapt[h].lin = insn_lin;
		unadapt[h].plain = 0;
	}
	if (!plain_ram(seg, off, len)) {
		unadapt[h].plain = 0;
		return false;
	}
	if (++unadapt[h].plain < TUNE_ADAPT_REVERT)
		return false;
	unadapt[h].plain = 0;
	bt_forget_callout(insn_lin);
	stat_inc(&vs.adapt_reverted);
	return true;
}

int emulate_insn(uint32_t eip, unsigned len_hint)
{
	(void)len_hint;
	stat_inc(&vs.emulated);
	struct ctx c;
	if (!emu_fetch_insn(eip, &c, NULL)) {
		emu_fault(EXC_UD, 0);
		return -1;
	}
	struct bt_insn *in = &c.in;
	if (in->has_mem && in->addrsize != 32)
		vmm_fatal_eip("16-bit addressing in an emulated instruction is not supported, eip", eip);
	if (vm.cpl > 0) {
		/* What user mode may not do. */
		unsigned iopl = (vm.ma->veflags >> 12) & 3;
		switch (in->mnem) {
		case M_LGDT: case M_LIDT: case M_LLDT: case M_LTR: case M_LMSW: case M_MOV_CR: case M_MOV_DR:
		case M_CLTS: case M_INVD: case M_WBINVD: case M_INVLPG: case M_RDMSR: case M_WRMSR:
		case M_HLT: case M_PRIV_OTHER:
			return emu_fault(EXC_GP, 0), -1;
		case M_RDPMC:
			if (!(vm.cr4 & 0x100))
				return emu_fault(EXC_GP, 0), -1;
			break;
		case M_RDTSC: case M_RDTSCP:
			if (vm.cr4 & 0x4)
				return emu_fault(EXC_GP, 0), -1;
			break;
		case M_CLI: case M_STI:
			if ((unsigned)vm.cpl > iopl)
				return emu_fault(EXC_GP, 0), -1;
			vm.ma->vif = in->mnem == M_STI ? 0x200 : 0;
			return 0;
		default:
			break;
		}
	}
	unsigned bits = in->opsize;
	int vec; uint32_t err;
	uint32_t v;

	switch (in->mnem) {
	case M_LGDT: case M_LIDT: {
		uint16_t lim; uint32_t base;
		if (!emu_mem_read(&c, 0, &lim, 2) || !emu_mem_read(&c, 2, &base, 4))
			return -1;
		if (bits == 16)
			base &= 0x00ffffffu;
		if (in->mnem == M_LGDT) { vm.gdt_base = base; vm.gdt_limit = lim; }
		else { vm.idt_base = base; vm.idt_limit = lim; }
		return 0;
	}
	case M_SGDT: case M_SIDT: {
		uint16_t lim = (uint16_t)(in->mnem == M_SGDT ? vm.gdt_limit : vm.idt_limit);
		uint32_t base = in->mnem == M_SGDT ? vm.gdt_base : vm.idt_base;
		if (!emu_mem_write(&c, 0, &lim, 2) || !emu_mem_write(&c, 2, &base, 4))
			return -1;
		return 0;
	}
	case M_SLDT: case M_STR:
		v = in->mnem == M_SLDT ? vm.ldtr.sel : vm.tr.sel;
		return emu_rm_write(&c, c.mod == 3 ? bits : 16, v) ? 0 : -1;
	case M_SMSW:
		return emu_rm_write(&c, c.mod == 3 ? bits : 16, c.mod == 3 ? vm.cr0 : (vm.cr0 & 0xffff)) ? 0 : -1;
	case M_LMSW:
		if (!emu_rm_read(&c, 16, &v))
			return -1;
		vm.cr0 = (vm.cr0 & ~0xeu) | (v & 0xf) | (vm.cr0 & 1);
		mmu_set_cr0(vm.cr0);
		return 0;
	case M_LLDT: case M_LTR: {
		if (!emu_rm_read(&c, 16, &v))
			return -1;
		uint16_t sel = (uint16_t)v;
		struct segcache *s = in->mnem == M_LLDT ? &vm.ldtr : &vm.tr;
		if ((sel & ~3u) == 0) {
			if (in->mnem == M_LTR)
				return emu_fault(EXC_GP, 0), -1;
			*s = (struct segcache){ .sel = sel };
			return 0;
		}
		uint32_t lo, hi;
		if ((sel & 4) || !desc_read(sel, &lo, &hi))
			return emu_fault(EXC_GP, sel & ~3u), -1;
		unsigned type = (hi >> 8) & 0x1f;
		if (in->mnem == M_LLDT ? type != 0x02 : (type != 0x09 && type != 0x01))
			return emu_fault(EXC_GP, sel & ~3u), -1;
		if (!(hi & 0x8000))
			return emu_fault(EXC_NP, sel & ~3u), -1;
		seg_from_desc(s, sel, lo, hi);
		if (in->mnem == M_LTR) {     /* mark the TSS busy, as the CPU does */
			hi |= 0x200;
			glin_write_sys(vm.gdt_base + (sel & ~7u) + 4, &hi, 4);
		}
		return 0;
	}
	case M_MOV_CR: {
		bool to_cr = c.code[in->opcode_off + 1] == 0x22;
		if (in->crn != 0 && in->crn != 2 && in->crn != 3 && in->crn != 4)
			return emu_fault(EXC_UD, 0), -1;
		if (!to_cr) {
			uint32_t val = in->crn == 0 ? vm.cr0 : in->crn == 2 ? vm.cr2 : in->crn == 3 ? vm.cr3 : vm.cr4;
			ma_set_reg(c.rm, val);
			return 0;
		}
		v = ma_reg(c.rm);
		switch (in->crn) {
		case 0:
			if (!(v & 1))
				vmm_fatal("guest left protected mode (real mode is not supported), cr0", v);
			if ((v & 0x80000000u) && !(v & 1))
				return emu_fault(EXC_GP, 0), -1;
			vm.cr0 = v | 0x10;
			if (mmu_set_cr0(vm.cr0))
				vmm_mapping_changed();
			break;
		case 2: vm.cr2 = v; break;
		case 3:
			vm.cr3 = v;
			if (mmu_set_cr3(v)) {
				if (vm.cr4 & X86_CR4_PGE)
					bt_mapping_changed_cr3();   /* global pages stay put */
				else
					vmm_mapping_changed();
			}
			break;
		case 4:
			if (v & ~0x000000ffu & ~0x600u)   /* up to PGE/PCE, OSFXSR, OSXMMEXCPT */
				return emu_fault(EXC_GP, 0), -1;
			if (v & 0x20)
				vmm_fatal("guest enabled PAE, which is not supported, cr4", v);
			vm.cr4 = v;
			if (mmu_set_cr4(v))
				vmm_mapping_changed();
			break;
		}
		return 0;
	}
	case M_MOV_DR: {
		bool to_dr = c.code[in->opcode_off + 1] == 0x23;
		unsigned n = in->crn & 7;
		if (to_dr) dr[n] = ma_reg(c.rm);
		else ma_set_reg(c.rm, n == 6 ? (dr[6] | 0xffff0ff0u) : n == 7 ? (dr[7] | 0x400) : dr[n]);
		return 0;
	}
	case M_CLTS:
		vm.cr0 &= ~8u;
		mmu_set_cr0(vm.cr0);
		/* CR0.TS is part of the translation mode, and the translator does
		 * not end the unit at clts: what follows it there was translated
		 * to raise #NM. Continue from a translation for TS clear. */
		vm.eip = c.next;
		return 1;
	case M_INVD: case M_WBINVD: return 0;
	case M_INVLPG:
		if (mmu_invlpg(vm.seg[mseg(&c)].base + ea(&c)))
			bt_mapping_changed_page(vm.seg[mseg(&c)].base + ea(&c));
		return 0;
	case M_RDMSR: case M_WRMSR: {
		uint64_t val = ((uint64_t)vm.ma->edx << 32) | vm.ma->eax;
		bool ok = in->mnem == M_RDMSR ? rdmsr(vm.ma->ecx, &val) : wrmsr(vm.ma->ecx, val);
		if (!ok)
			return emu_fault(EXC_GP, 0), -1;
		if (in->mnem == M_RDMSR) { vm.ma->eax = (uint32_t)val; vm.ma->edx = (uint32_t)(val >> 32); }
		return 0;
	}
	case M_CPUID: {
		uint32_t r[4];
		guest_cpuid(vm.ma->eax, vm.ma->ecx, r);
		vm.ma->eax = r[0]; vm.ma->ebx = r[1]; vm.ma->ecx = r[2]; vm.ma->edx = r[3];
		return 0;
	}
	case M_RDTSC: case M_RDTSCP: {
		uint64_t t = vclock_tsc(&vm.clock);
		vm.ma->eax = (uint32_t)t; vm.ma->edx = (uint32_t)(t >> 32);
		if (in->mnem == M_RDTSCP) vm.ma->ecx = 0;
		return 0;
	}
	case M_LAR: case M_LSL: {
		if (!emu_rm_read(&c, 16, &v))
			return -1;
		uint32_t lo, hi;
		bool ok = desc_visible((uint16_t)v, &lo, &hi);
		unsigned type = (hi >> 8) & 0x1f;
		if (ok && !(type & 0x10)) {     /* system descriptors: only some are valid */
			static const uint8_t lar_ok[16] = {0,1,1,1,1,1,0,0,0,1,0,1,1,0,0,0};
			static const uint8_t lsl_ok[16] = {0,1,1,1,0,0,0,0,0,1,0,1,0,0,0,0};
			ok = in->mnem == M_LAR ? lar_ok[type & 0xf] : lsl_ok[type & 0xf];
		}
		emu_set_zf(ok);
		if (ok) {
			uint32_t r;
			if (in->mnem == M_LAR) {
				r = hi & 0x00f0ff00u;
			} else {
				r = (lo & 0xffff) | (hi & 0x000f0000u);
				if (hi & (1u << 23))
					r = (r << 12) | 0xfff;
			}
			emu_reg_write(c.regf, bits, r);
		}
		return 0;
	}
	case M_VERR: case M_VERW: {
		if (!emu_rm_read(&c, 16, &v))
			return -1;
		uint32_t lo, hi;
		bool ok = desc_visible((uint16_t)v, &lo, &hi) && (hi & 0x1000);
		unsigned type = (hi >> 8) & 0xf;
		if (ok) {
			if (in->mnem == M_VERR)
				ok = !(type & 8) || (type & 2);
			else
				ok = !(type & 8) && (type & 2);
		}
		emu_set_zf(ok);
		return 0;
	}
	case M_ARPL: {
		uint32_t dst;
		if (!emu_rm_read(&c, 16, &dst))
			return -1;
		uint32_t src = ma_reg(c.regf) & 0xffff;
		if ((dst & 3) < (src & 3)) {
			dst = (dst & ~3u) | (src & 3);
			emu_set_zf(true);
			return emu_rm_write(&c, 16, dst) ? 0 : -1;
		}
		emu_set_zf(false);
		return 0;
	}
	case M_MOV_SREG_LOAD: case M_POP_SREG: {
		if (in->sreg == SEG_CS)
			return emu_fault(EXC_UD, 0), -1;
		uint32_t sel = 0;
		if (in->mnem == M_POP_SREG) {
			if (!seg_read(SEG_SS, vm.ma->esp, &sel, 2, &vec))
				return emu_fault(vec, 0), -1;
		} else if (!emu_rm_read(&c, 16, &sel)) {
			return -1;
		}
		if (seg_load(in->sreg, (uint16_t)sel, &vec, &err) != 0)
			return emu_fault(vec, err), -1;
		if (in->mnem == M_POP_SREG)
			vm.ma->esp += bits / 8;
		return 0;
	}
	case M_MOV_SREG_STORE:
		return emu_rm_write(&c, c.mod == 3 ? bits : 16, vm.seg[in->sreg].sel) ? 0 : -1;
	case M_LDS: case M_LES: case M_LFS: case M_LGS: case M_LSS: {
		uint32_t off = 0; uint16_t sel;
		if (!emu_mem_read(&c, 0, &off, bits / 8) || !emu_mem_read(&c, bits / 8, &sel, 2))
			return -1;
		int s = in->mnem == M_LDS ? SEG_DS : in->mnem == M_LES ? SEG_ES : in->mnem == M_LFS ? SEG_FS :
			in->mnem == M_LGS ? SEG_GS : SEG_SS;
		if (seg_load(s, sel, &vec, &err) != 0)
			return emu_fault(vec, err), -1;
		emu_reg_write(c.regf, bits, off);
		return 0;
	}
	case M_JMP: case M_CALL: {
		if (!in->far)
			break;
		uint32_t off = 0; uint16_t sel;
		if (in->target == T_PTR) {
			off = in->imm; sel = in->imm_sel;
		} else if (!emu_mem_read(&c, 0, &off, bits / 8) || !emu_mem_read(&c, bits / 8, &sel, 2)) {
			return -1;
		}
		if (bits == 16)
			off &= 0xffff;
		return far_transfer(in->mnem == M_CALL, sel, off, c.next, bits);
	}
	case M_RET: {
		if (!in->far || bits != 32)
			break;
		uint32_t frame[2];
		if (!seg_read(SEG_SS, vm.ma->esp, frame, 8, &vec))
			return emu_fault(vec, 0), -1;
		if ((frame[1] & 3) != 0)
			vmm_fatal("far return to user mode is not supported yet, selector", frame[1]);
		if (seg_load_cs((uint16_t)frame[1], &vec, &err) != 0)
			return emu_fault(vec, err), -1;
		vm.ma->esp += 8 + (in->imm & 0xffff);
		vm.eip = frame[0];
		return 1;
	}
	case M_PUSHF:
		return push(bits / 8, guest_eflags() & (bits == 16 ? 0xffffu : 0x00fcffffu)) ? 0 : -1;
	case M_POPF: {
		uint32_t f = 0;
		if (!seg_read(SEG_SS, vm.ma->esp, &f, bits / 8, &vec))
			return emu_fault(vec, 0), -1;
		vm.ma->esp += bits / 8;
		uint32_t cur = guest_eflags();
		if (bits == 16)
			f = (cur & 0xffff0000u) | (f & 0xffff);
		/* Outside ring 0 IOPL never changes, and IF only within IOPL:
		 * silently, the very behaviour that makes x86 hard to virtualize. */
		if (vm.cpl > 0)
			f = (f & ~0x3000u) | (cur & 0x3000u);
		if ((unsigned)vm.cpl > ((cur >> 12) & 3))
			f = (f & ~0x200u) | (cur & 0x200u);
		set_guest_eflags(f, true);
		return 0;
	}
	case M_INT1:
		vm.eip = c.next;
		deliver(EXC_DB, false, 0, c.next, true);
		return 1;
	case M_BOUND: {
		int32_t lo, hi;
		if (!emu_mem_read(&c, 0, &lo, 4) || !emu_mem_read(&c, 4, &hi, 4))
			return -1;
		int32_t idx = (int32_t)ma_reg(c.regf);
		if (idx < lo || idx > hi)
			return emu_fault(EXC_BR, 0), -1;
		return 0;
	}
	case M_SYSCALL: case M_SYSRET: case M_XGETBV: case M_MONITOR: case M_MWAIT: case M_RDPMC:
		return emu_fault(EXC_UD, 0), -1;
	case M_SYSENTER: case M_SYSEXIT:
		return fast_system_call(in->mnem == M_SYSENTER) ? 1 : -1;
	default:
		break;
	}
	if (in->mnem == M_OTHER) {
		/* Translated as a callout by adaptive translation: its write. */
		uint8_t op = c.code[in->opcode_off];
		bool string = bt_is_string_op(op);
		int seg = in->has_mem && !string ? emu_mseg(in) : -1;
		uint32_t off = seg >= 0 ? emu_ea(in) : 0;
		int r = emu_data_access(&c, true);
		if (r == 1) {
			if (seg >= 0 && adapt_back(vm.seg[SEG_CS].base + eip, seg, off, in->opsize / 8)) {
				/* Its callout translation goes: what follows runs
				 * from a fresh, native one. */
				uint32_t pa, err;
				if (mmu_translate(vm.seg[SEG_CS].base + eip, ACC_FETCH | (vm.cpl == 3 ? ACC_USER : 0), &pa, &err))
					bt_notify_write(pa, c.in.len);
				vm.eip = c.next;
				return 1;
			}
			return 0;
		}
		if (r == -1)
			return -1;
		/* The bytes there are now an instruction the monitor does not
		 * perform (the guest rewrote them): run it natively again, from
		 * a fresh translation. */
		uint32_t lin = vm.seg[SEG_CS].base + eip, pa, err;
		bt_forget_callout(lin);
		if (mmu_translate(lin, ACC_FETCH | (vm.cpl == 3 ? ACC_USER : 0), &pa, &err)) {
			bt_notify_write(pa, c.in.len);
			vm.eip = eip;
			return 1;
		}
	}
	vmm_logx("vmx: unsupported instruction, first bytes", (uint32_t)c.code[0] | (uint32_t)c.code[1] << 8 |
		 (uint32_t)c.code[2] << 16 | (uint32_t)c.code[3] << 24);
	vmm_fatal_eip("unsupported instruction at eip", eip);
	return -2;
}


bool emulate_decode(uint32_t eip, struct bt_insn *in)
{
	struct ctx c;
	if (!emu_fetch_insn(eip, &c, NULL))
		return false;
	*in = c.in;
	return true;
}

/* The instruction's mnemonic, for messages. */
const char *emulate_insn_name(uint32_t eip)
{
	struct ctx c;
	if (!emu_fetch_insn(eip, &c, NULL))
		return "an undecodable instruction";
	struct bt_fpu_save fpu;
	bt_decoder_enter(&fpu);
	const char *name = bt_mnemonic_name(&c.in);
	bt_decoder_leave(&fpu);
	return name;
}
