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

# Extra vmx options per guest (the guest must behave the same anyway).
vmx_args() {
	case "$1" in
	tc_pressure) echo "-tc-size 128" ;;
	mmio) echo "-device pc-testdev" ;;
	lapic|ioapic) echo "-machine pc" ;;
	ata) echo "-drive file=$(blank_image vmx),format=raw,index=0" ;;
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
	ata) echo "-drive file=$(blank_image qemu),format=raw,index=0" ;;
	*) echo "" ;;
	esac
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
	# lapic and ioapic run on -machine pc: the CPU keeps its APIC.
	cpu=""; [ "$name" = mmio ] && cpu=qemu32
	case "$name" in lapic|ioapic) cpu=qemu32,-pae,-sep ;; esac
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
	case "$name" in multitask|user_mode) ;; *) continue ;; esac
	for mode in bt-direct bt-all; do
		timeout 120 "$vmx" -kernel "$elf" -mode "$mode" -stats "$out/$name.$mode.stats.json" \
			</dev/null >"$out/$name.$mode.out" 2>"$out/$name.$mode.err"
		ms=$?
		why=""
		[ "$ms" -eq "$qs" ] || why="vmx exit status $ms, qemu $qs"
		[ -z "$why" ] && ! cmp -s "$out/$name.$mode.out" "$out/$name.qemu.out" && why="serial output differs from qemu"
		d=$(sed -n 's/^ *"vmm.direct.entries": \([0-9]*\).*/\1/p' "$out/$name.$mode.stats.json")
		s80=$(sed -n 's/^ *"vmm.direct.exit.syscall": \([0-9]*\).*/\1/p' "$out/$name.$mode.stats.json")
		if [ -z "$why" ] && [ "$mode" = bt-direct ] && [ "$name" = multitask ] && { [ "${d:-0}" -le 0 ] || [ "${s80:-0}" -le 0 ]; }; then
			why="user code did not run directly (vmm.direct.entries ${d:-missing}, vmm.direct.exit.syscall ${s80:-missing})"
		fi
		[ -z "$why" ] && [ "$mode" = bt-all ] && [ "${d:-1}" -ne 0 ] && why="vmm.direct.entries is ${d:-missing} in bt-all"
		if [ -z "$why" ]; then
			pass=$((pass + 1))
			echo "PASS guest $name -mode $mode (direct entries ${d:-0})"
		else
			fail=$((fail + 1))
			echo "FAIL guest $name -mode $mode: $why"
			tail -15 "$out/$name.$mode.err"
			diff "$out/$name.qemu.out" "$out/$name.$mode.out" | head -10
		fi
	done
done
echo "guests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
