#!/usr/bin/env bash
# Runs every test guest under vmx and under qemu-system-i386 and compares:
# each must print its PASS line, exit with status 1 (debug-exit value 0),
# and produce the same serial output and status under both.
# Usage: run-guests.sh VMX ELF...
set -u
vmx=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
out=build/guest-results
mkdir -p "$out"
pass=0 fail=0

# A blank 4 MiB raw image per run and per side for the ata guest, which
# writes it (so the two runs never see each other's data).
img=$(mktemp -d)
trap 'rm -rf "$img"' EXIT
blank_image() { rm -f "$img/$1.img"; truncate -s 4M "$img/$1.img"; echo "$img/$1.img"; }

# Two small modules for mb_modules, the same files for both runs: a text
# one whose string has arguments (",," is a comma, as QEMU reads it) and a
# binary one that is not a whole number of pages.
printf 'first module: text\n' >"$out/mb_modules.mod1"
seq 1 1500 >"$out/mb_modules.mod2"
# The -initrd list per guest: one argument, spaces included (so not in
# vmx_args/qemu_args, whose words are split).
initrd_arg() {
	case "$1" in
	mb_modules) echo "$out/mb_modules.mod1 arg1 x=a,,b,$out/mb_modules.mod2" ;;
	*) echo "" ;;
	esac
}

# The guests that need the APICs or ACPI run on vmx's default machine, pc;
# the others were written for the PC without an APIC and run on isapc, with
# QEMU's CPU less its APIC to match.
on_pc() { case "$1" in lapic|ioapic|acpi|fw_cfg|ata|pc_board) return 0 ;; *) return 1 ;; esac; }
. "$here/qemu-cpu.sh"
# Extra vmx options per guest (the guest must behave the same anyway).
vmx_args() {
	on_pc "$1" || printf '%s ' "-machine isapc"
	case "$1" in
	tc_pressure) echo "-tc-size 128" ;;
	mmio) echo "-device pc-testdev" ;;
	ata|pc_board) echo "-drive file=$(blank_image vmx),format=raw,index=0" ;;
	*) echo "" ;;
	esac
}
# Extra QEMU options: the same devices. pit_fast runs QEMU on its
# instruction counter: in real time QEMU's i8254 steps through every output
# transition and, at divisor 1, livelocks in about one run in five here
# (over 30 s instead of 0.2 s); counted time keeps it deterministic.
qemu_args() {
	case "$1" in
	mmio) echo "-device pc-testdev" ;;
	pit_fast) echo "-icount shift=0" ;;
	# acpi times the PM timer against the PIT: on counted time QEMU's
	# host preempted between the two reads does not upset it.
	acpi) echo "-icount shift=4" ;;
	ata|pc_board) echo "-drive file=$(blank_image qemu),format=raw,index=0" ;;
	*) echo "" ;;
	esac
}

# A counter from a -stats file (empty when missing).
counter() { sed -n "s/^ *\"$2\": \([0-9]*\).*/\1/p" "$1"; }
# One more run of the guest, as TAG: vmx with ARGS, its output in
# $out/$name.TAG.*; sets why when its status or output is not QEMU's.
run_again() {
	local tag=$1; shift
	timeout 120 "$vmx" -kernel "$elf" "$@" -stats "$out/$name.$tag.stats.json" \
		</dev/null >"$out/$name.$tag.out" 2>"$out/$name.$tag.err"
	local st=$?
	why=""
	[ "$st" -eq "$qs" ] || why="vmx exit status $st, qemu $qs"
	[ -z "$why" ] && ! cmp -s "$out/$name.$tag.out" "$out/$name.qemu.out" && why="serial output differs from qemu"
}
# Counts and prints the verdict of run TAG (LABEL in the lines) from why.
verdict() {
	local tag=$1 label=$2
	if [ -z "$why" ]; then
		pass=$((pass + 1))
		echo "PASS guest $name $label"
	else
		fail=$((fail + 1))
		echo "FAIL guest $name ${label%% (*}: $why"
		tail -15 "$out/$name.$tag.err"
		diff "$out/$name.qemu.out" "$out/$name.$tag.out" | head -10
	fi
}

for elf in "$@"; do
	name=$(basename "$elf" .elf)
	initrd=$(initrd_arg "$name")
	# shellcheck disable=SC2046
	timeout 120 "$vmx" -kernel "$elf" $(vmx_args "$name") ${initrd:+-initrd "$initrd"} -stats "$out/$name.stats.json" \
		</dev/null >"$out/$name.vmx.out" 2>"$out/$name.vmx.err"
	vs=$?
	# mmio checks 0xC0000-0xDFFFF as RAM, which QEMU's firmware leaves
	# writable only when the CPU reports an APIC; it never reads CPUID.
	cpu=$QEMU_CPU_ISAPC; [ "$name" = mmio ] && cpu=qemu32
	on_pc "$name" && cpu=$QEMU_CPU
	QEMU_CPU=$cpu QEMU_EXTRA=$(qemu_args "$name") QEMU_INITRD=$initrd "$here/qemu-guest.sh" "$elf" >"$out/$name.qemu.out" 2>"$out/$name.qemu.err"
	qs=$?
	why=""
	[ "$vs" -eq 1 ] || why="vmx exit status $vs"
	[ -z "$why" ] && ! grep -q "^PASS $name" "$out/$name.vmx.out" && why="no PASS line under vmx"
	[ -z "$why" ] && [ "$qs" -ne "$vs" ] && why="exit status differs: vmx $vs, qemu $qs"
	[ -z "$why" ] && ! cmp -s "$out/$name.vmx.out" "$out/$name.qemu.out" && why="serial output differs from qemu"
	if [ -z "$why" ]; then
		pass=$((pass + 1))
		echo "PASS guest $name"
	else
		fail=$((fail + 1))
		echo "FAIL guest $name: $why"
		echo "--- vmx output (tail) ---"; tail -5 "$out/$name.vmx.out"
		echo "--- vmx stderr (tail) ---"; tail -15 "$out/$name.vmx.err"
		diff "$out/$name.qemu.out" "$out/$name.vmx.out" | head -10
	fi
	# Guests with ring-3 code run once more in each other binary-
	# translation mode: the same output as QEMU's, and the counters that
	# say the mode did what it claims (user code direct in bt-direct,
	# never in bt-all).
	# te_probe under -mode te: each non-trapping sensitive instruction
	# misbehaves as deprivileged hardware makes it, and the lost
	# interrupt ends the run (status 4) with the monitor saying why.
	if [ "$name" = te_probe ]; then
		timeout 60 "$vmx" -kernel "$elf" -mode te -stats "$out/$name.te.stats.json" \
			</dev/null >"$out/$name.te.out" 2>"$out/$name.te.err"
		ts=$?
		why=""
		[ "$ts" -eq 4 ] || why="vmx -mode te exit status $ts (expected 4: the lost interrupt stops it)"
		for want in 'CPL read from %cs: 3' 'sgdt gives the GDT lgdt loaded: no' \
			'smsw gives CR0.s low word: no' 'pushf after cli shows IF: 1'; do
			[ -z "$why" ] && ! grep -q "$want" "$out/$name.te.out" && why="no line matching '$want' under te"
		done
		[ -z "$why" ] && grep -q 'popf enabled interrupts' "$out/$name.te.out" && why="popf enabled interrupts under te"
		[ -z "$why" ] && ! grep -q 'vmx: te: interrupts stayed virtually off' "$out/$name.te.err" && why="no lost-interrupt message"
		for c in popf pushf sgdt smsw segment_read interrupts_lost; do
			v=$(sed -n "s/^ *\"vmm.te.divergence.$c\": \([0-9]*\).*/\1/p" "$out/$name.te.stats.json")
			[ -z "$why" ] && [ "${v:-0}" -le 0 ] && why="vmm.te.divergence.$c is ${v:-missing}"
			[ -z "$why" ] && ! grep -q "vmx: te: warning: .*" "$out/$name.te.err" && why="no divergence warnings"
		done
		if [ -z "$why" ]; then
			pass=$((pass + 1))
			echo "PASS guest $name -mode te fails where it must"
		else
			fail=$((fail + 1))
			echo "FAIL guest $name -mode te: $why"
			cat "$out/$name.te.out"; tail -15 "$out/$name.te.err"
		fi
	fi
	# multitask's escape process hides a load of the host's 0x2b into %gs
	# inside another instruction: translated (bt-all) it faults as under
	# QEMU; run directly (bt-direct) the page scan cannot see it, and
	# the segment check at the next exit must stop the VM naming it.
	if [ "$name" = multitask ]; then
		"$here/qemu-guest.sh" "$elf" -append escape >"$out/$name.esc.qemu.out" 2>"$out/$name.esc.qemu.err"
		eq=$?
		timeout 120 "$vmx" -kernel "$elf" -append escape -mode bt-all </dev/null >"$out/$name.esc.bt-all.out" 2>"$out/$name.esc.bt-all.err"
		ea=$?
		timeout 120 "$vmx" -kernel "$elf" -append escape -mode bt-direct -stats "$out/$name.esc.stats.json" \
			</dev/null >"$out/$name.esc.bt-direct.out" 2>"$out/$name.esc.bt-direct.err"
		ed=$?
		why=""
		[ "$eq" -eq 1 ] && grep -q "^PASS $name" "$out/$name.esc.qemu.out" || why="the QEMU run with the escape process failed ($eq)"
		[ -z "$why" ] && { [ "$ea" -ne "$eq" ] || ! cmp -s "$out/$name.esc.bt-all.out" "$out/$name.esc.qemu.out"; } &&
			why="bt-all with the escape process differs from QEMU (status $ea)"
		[ -z "$why" ] && [ "$ed" -ne 4 ] && why="bt-direct with the escape process: status $ed, expected 4"
		[ -z "$why" ] && ! grep -q 'changed gs to host selector 002b' "$out/$name.esc.bt-direct.err" && why="no message naming the escape"
		e=$(sed -n 's/^ *"vmm.unsupported.direct_segment_load": \([0-9]*\).*/\1/p' "$out/$name.esc.stats.json")
		[ -z "$why" ] && [ "${e:-0}" -ne 1 ] && why="vmm.unsupported.direct_segment_load is ${e:-missing}"
		if [ -z "$why" ]; then
			pass=$((pass + 1))
			echo "PASS guest $name escape: faults translated as under QEMU, stops the VM when run directly"
		else
			fail=$((fail + 1))
			echo "FAIL guest $name escape: $why"
			tail -5 "$out/$name.esc.bt-direct.err"
		fi
	fi
	# Once more with the translator's own segment-limit checks (-limits
	# soft, what a CPU that checks none gets): the same output as QEMU's,
	# nothing run directly, and the guests that reach the monitor's range
	# through their segments caught by the checks (vmm.soft_limits.traps).
	# multitask's escape process is then contained even under bt-direct.
	if [ "$name" != te_probe ]; then
		# shellcheck disable=SC2046
		run_again soft -limits soft $(vmx_args "$name") ${initrd:+-initrd "$initrd"}
		d=$(counter "$out/$name.soft.stats.json" vmm.direct.entries)
		tr=$(counter "$out/$name.soft.stats.json" vmm.soft_limits.traps)
		[ -z "$why" ] && [ "${d:-1}" -ne 0 ] && why="vmm.direct.entries is ${d:-missing} under -limits soft"
		case "$name" in segments|stack_edges|wide_edges|paging)
			[ -z "$why" ] && [ "${tr:-0}" -le 0 ] && why="no software limit check trapped (vmm.soft_limits.traps ${tr:-missing})" ;;
		esac
		[ -z "$why" ] && ! grep -q '^vmx: -limits soft: translated code checks segment limits itself' "$out/$name.soft.err" &&
			why="no line saying -limits soft is on"
		if [ "$name" = multitask ] && [ -z "$why" ]; then
			timeout 120 "$vmx" -kernel "$elf" -append escape -limits soft -mode bt-direct \
				</dev/null >"$out/$name.esc.soft.out" 2>"$out/$name.esc.soft.err"
			es=$?
			{ [ "$es" -ne "$eq" ] || ! cmp -s "$out/$name.esc.soft.out" "$out/$name.esc.qemu.out"; } &&
				why="the escape process under -limits soft -mode bt-direct: status $es, output not QEMU's"
		fi
		verdict soft "-limits soft (checks trapped ${tr:-0})"
	fi
	case "$name" in multitask|user_mode|te_probe) ;; *) continue ;; esac
	modes="bt-direct bt-all"
	# A kernel that enables interrupts with sti only runs under te too.
	[ "$name" = multitask ] && modes="$modes te"
	for mode in $modes; do
		run_again "$mode" -mode "$mode"
		d=$(counter "$out/$name.$mode.stats.json" vmm.direct.entries)
		s80=$(counter "$out/$name.$mode.stats.json" vmm.direct.exit.syscall)
		if [ -z "$why" ] && [ "$mode" = bt-direct ] && [ "$name" = multitask ] && { [ "${d:-0}" -le 0 ] || [ "${s80:-0}" -le 0 ]; }; then
			why="user code did not run directly (vmm.direct.entries ${d:-missing}, vmm.direct.exit.syscall ${s80:-missing})"
		fi
		[ -z "$why" ] && [ "$mode" = bt-all ] && [ "${d:-1}" -ne 0 ] && why="vmm.direct.entries is ${d:-missing} in bt-all"
		verdict "$mode" "-mode $mode (direct entries ${d:-0})"
	done
done
echo "guests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
