#!/usr/bin/env bash
# Checks vmx's translator counters against counts taken without it: the
# guest bytes of every fragment in a -profile file decoded again by
# binutils' objdump (not the translator's Zydis), and, for a guest run under
# qemu-system-i386 one instruction per block, the instructions QEMU executed
# at each address. Used by cli-tests.sh (check stats-count-independent).
# The execution counts compare for guests whose fragments, once entered,
# run to their end: a fragment left in its middle (a write to its own code,
# an exception, an interrupt taken at a callout) counted its instructions
# after that point too (docs/profile-format.md: an execution is an entry).
# Usage:
#   count-check.sh qemu ELF OUT        per-address execution counts under QEMU -> OUT
#   count-check.sh check PROFILE STATS [OUT]
#                                      0 when everything agrees, 1 with one line per disagreement
set -u
here=$(cd "$(dirname "$0")" && pwd)

# Instructions the translator must never copy as they are (IDENT): control
# transfers, and what is sensitive or privileged at CPL 0 (SDM vol. 3 §2.8
# and the instructions that read or write state the monitor virtualizes).
# objdump's AT&T names, without size suffixes or prefixes.
NEVER_IDENT=' jmp ljmp call lcall ret lret iret iretw iretl jo jno jb jae je jne jbe ja js jns jp jnp jl jge jle jg jecxz jcxz loop loope loopne cli sti pushf pushfl pushfw popf popfl popfw int int3 into int1 icebp hlt in out ins insb insw insl outs outsb outsw outsl lgdt lidt lldt ltr sgdt sidt sldt str smsw lmsw clts invd wbinvd invlpg rdmsr wrmsr cpuid rdtsc rdtscp rdpmc lar lsl verr verw arpl sysenter sysexit syscall sysret lds les lfs lgs lss ud2 ud0 ud1 bound rsm swapgs monitor mwait xgetbv '
# Instructions that are copied as they are when they name no memory and no
# segment, control or debug register: nothing about them is sensitive and
# the monitor has no reason to see them (x87 and SIMD are left out, CR0.TS
# and EM can make them fault).
ALWAYS_IDENT=' add adc sub sbb and or xor cmp test mov movl movb movw movzbl movzwl movsbl movswl movzbw movsbw lea inc dec neg not shl shr sal sar rol ror rcl rcr shld shrd xchg xadd bswap bt bts btr btc bsf bsr imul mul div idiv cwtl cltd cbtw cwtd nop sete setne seta setae setb setbe setg setge setl setle sets setns seto setno setp setnp cmove cmovne cmova cmovae cmovb cmovbe cmovg cmovge cmovl cmovle cmovs cmovns cmovo cmovno cmovp cmovnp clc stc cmc cld std lahf sahf daa das aaa aas push pop '

cmd_qemu() {
	local elf=$1 out=$2 lo hi fifo
	# The guest's loaded range: only its own instructions count (QEMU also
	# runs its firmware and the multiboot option ROM).
	read -r lo hi < <(readelf -lW "$elf" | perl -ane 'if ($F[0] eq "LOAD") { my ($a, $e) = (hex $F[2], hex($F[2]) + hex $F[5]); $lo = $a if !defined $lo || $a < $lo; $hi = $e if $e > $hi } END { printf "%#x %#x\n", $lo, $hi - 1 }')
	fifo=$(mktemp -u)
	mkfifo "$fifo"
	# One line per block executed, one instruction per block: "Q address
	# blocks runs", runs counting repeats of one address in a row once (a
	# rep-prefixed instruction is one block per iteration; a loop to itself
	# is one per execution: the checker knows which is which). A block
	# QEMU stopped before it ran (an exit request, found at its start after
	# it was logged) is "Stopped execution of TB chain before HOST [PC]"
	# and did not run. The last address is where the guest stopped.
	(perl -ne '$n{$1}-- if m{^Stopped execution of TB chain before \S+ \[([0-9a-f]+)\]};
		next unless m{^Trace [^[]*\[[0-9a-f]+/([0-9a-f]+)/}; $n{$1}++; $r{$1}++ unless defined $last && $1 eq $last; $last = $1;
		END { print "Q ", hex($_), " $n{$_} $r{$_}\n" for sort keys %n; print "L ", hex($last), "\n" if defined $last }' <"$fifo" >"$out") &
	local reader=$!
	QEMU_EXTRA="-singlestep -d exec,nochain -dfilter $lo..$hi -D $fifo" "$here/qemu-guest.sh" "$elf" >/dev/null 2>&1
	local st=$?
	wait "$reader"
	rm -f "$fifo"
	[ -s "$out" ] || { echo "count-check: no QEMU trace for $elf (status $st)" >&2; return 2; }
	return 0
}

cmd_check() {
	local prof=$1 stats=$2 qpcs=${3:-} tmp
	tmp=$(mktemp -d)
	# Fragments: id, linear start, execs, insns, guest_len, mix, hex bytes;
	# and one line per map entry.
	jq -r '.fragments[] | "F \(.id) \(.cs_base + .pc) \(.execs) \(.insns) \(.guest_len) \(.mix.ident) \(.mix.inline) \(.mix.callout)"' "$prof" >"$tmp/frags" || return 2
	jq -r '.fragments[] | .id as $i | .map[] | "M \($i) \(.[0]) \(.[2])"' "$prof" >"$tmp/map"
	jq -r '.other | "O \(.fragments) \(.insns) \(.guest_len) \(.execs) \(.mix.ident) \(.mix.inline) \(.mix.callout)"' "$prof" >"$tmp/other"
	# Each fragment's bytes are followed by 15 nops: an instruction objdump
	# decodes longer than the translator did ends in them, and the next
	# fragment is decoded from its own start.
	jq -r '.fragments[] | .guest + "909090909090909090909090909090"' "$prof" | perl -ne 'chomp; print pack("H*", $_)' >"$tmp/guest.bin"
	jq -r 'to_entries[] | "S \(.key) \(.value)"' "$stats" >"$tmp/stats" || return 2
	# The independent decoder: every fragment's bytes end on an instruction
	# boundary, so the fragments laid end to end decode as one stream.
	objdump -D -b binary -m i386 --insn-width=16 -w "$tmp/guest.bin" |
		perl -ne 'print "D ", hex($1), " $2\n" if /^\s*([0-9a-f]+):\t[^\t]*\t\s*(\S.*?)\s*$/' >"$tmp/dis"
	[ -s "$tmp/dis" ] || [ ! -s "$tmp/guest.bin" ] || { echo "count-check: objdump decoded nothing"; return 2; }
	: >"$tmp/q"
	[ -n "$qpcs" ] && cp "$qpcs" "$tmp/q"
	perl "$here/count-check.pl" "$tmp" "$NEVER_IDENT" "$ALWAYS_IDENT"
	local st=$?
	rm -rf "$tmp"
	return $st
}

case "${1:-}" in
qemu) shift; cmd_qemu "$@" ;;
check) shift; cmd_check "$@" ;;
*) sed -n '2,15p' "$0" >&2; exit 2 ;;
esac
