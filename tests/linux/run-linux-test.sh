#!/usr/bin/env bash
# The Linux test: boots Debian's i386 kernel with the test initramfs
# (tests/linux/init-test, busybox, userprog) under vmx on each machine
# (-machine isapc and pc) and under qemu-system-i386 with the matching CPU
# (the local APIC only for pc); the section between the test's markers must
# be the same under both, hold every check's success line, and the vmx
# counters must show a real boot. On pc the guest must keep the TSC as its
# clocksource (the ACPI PM timer is the watchdog's reference).
# Usage: run-linux-test.sh VMX BZIMAGE INITRD
set -u
vmx=$1 kernel=$2 initrd=$3
here=$(cd "$(dirname "$0")" && pwd)
out=build/linux-results
mkdir -p "$out"
. "$here/../scripts/qemu-cpu.sh"
append="console=ttyS0 panic=-1"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS linux $1"; }
bad() { fail=$((fail + 1)); echo "FAIL linux $1: $2"; }
# The test's lines only: a kernel message printed before the test could
# lower the console log level still lands in between.
section() {
	tr -d '\r' <"$1" | sed -n '/^=== vmx-linux-test begin/,/^=== vmx-linux-test end/p' |
		grep -v '^\[ *[0-9]*\.[0-9]*\] '
}
counter() { sed -n "s/^ *\"$2\": \([0-9]*\).*/\1/p" "$1"; }

start=$(date +%s)
boot() {
	timeout 300 "$vmx" -kernel "$kernel" -initrd "$initrd" -append "$append" -machine "$1" \
		-stats "$out/$1.stats.json" </dev/null >"$out/$1.out" 2>"$out/$1.err"
}
for machine in isapc pc; do
	t0=$(date +%s)
	boot "$machine"
	st=$?
	# The kernel times its TSC against the PIT (on pc, where the PM timer
	# can stand in, the PM timer against the PIT) in loops that a busy
	# host can still upset (README, limits): one more boot, said aloud.
	upset='Unable to calibrate against PIT'
	[ "$machine" = pc ] && upset='PM-Timer running at invalid rate'
	if [ "$st" -eq 0 ] && grep -q "$upset" "$out/$machine.out"; then
		echo "note linux boot-$machine: '$upset' (a busy host); booting once more"
		boot "$machine"
		st=$?
	fi
	t1=$(date +%s)
	section "$out/$machine.out" >"$out/$machine.section"
	why=""
	[ "$st" -eq 0 ] || why="vmx exit status $st (expected 0: the guest powers off)"
	[ -z "$why" ] && ! grep -q '^=== vmx-linux-test end' "$out/$machine.section" && why="the test did not reach its end marker"
	[ -z "$why" ] && grep -q 'FAIL' "$out/$machine.section" && why="$(grep -m1 FAIL "$out/$machine.section")"
	for want in 'model name.*QEMU Virtual CPU' 'cpu MHz: sane' 'pipeline: SUM=200010000' \
		'processes: 1 4 9 16 25 36 49 64' 'files: 50' 'userprog: 9 passed, 0 failed' 'dmesg: clean'; do
		[ -z "$why" ] && ! grep -q "$want" "$out/$machine.section" && why="no line matching '$want'"
	done
	for c in bt.tu.translated mmu.fault.true mmu.cr3.switch vmm.irq.delivered vmm.callout.int; do
		v=$(counter "$out/$machine.stats.json" "$c")
		[ -z "$why" ] && [ "${v:-0}" -le 0 ] && why="counter $c is ${v:-missing}"
	done
	if [ -z "$why" ] && [ "$machine" = pc ]; then
		for want in 'ACPI: PM-Timer IO Port: 0x608' 'clocksource: acpi_pm: mask' \
			'ACPI: Using ACPI (MADT) for SMP configuration information' '^clocksource now: tsc\(-early\)\?$'; do
			[ -z "$why" ] && ! tr -d '\r' <"$out/pc.out" | grep -q "$want" && why="no kernel message matching '$want'"
		done
		[ -z "$why" ] && grep -q 'Marking TSC unstable' "$out/pc.out" && why="$(grep -m1 'Marking TSC unstable' "$out/pc.out")"
		# Twice upset: the kernel went without the PM timer, and so
		# without the TSC; the rest of the boot still counts.
		if [ -n "$why" ] && grep -q "$upset" "$out/pc.out"; then
			echo "note linux boot-pc: '$upset' again; not checking the clocksource ($why)"
			why=""
		fi
	fi
	cs=$(tr -d '\r' <"$out/$machine.out" | sed -n 's/^clocksource now: //p')
	if [ -z "$why" ]; then ok "boot-$machine ($((t1 - t0)) s, clocksource ${cs:-?})"; else bad "boot-$machine" "$why"; tail -20 "$out/$machine.out"; fi
done

# The reference runs after vmx's, not beside them: see the Makefile.
for machine in isapc pc; do
	cpu=$QEMU_CPU
	[ "$machine" = pc ] && cpu=${QEMU_CPU/,-apic/}
	timeout 300 qemu-system-i386 -nodefaults -display none -no-reboot -m 128 -cpu "$cpu" \
		-serial stdio -monitor none -kernel "$kernel" -initrd "$initrd" -append "$append" \
		</dev/null >"$out/qemu-$machine.out" 2>"$out/qemu-$machine.err"
	qs=$?
	section "$out/qemu-$machine.out" >"$out/qemu-$machine.section"
	if [ "$qs" -ne 0 ] || ! grep -q '^=== vmx-linux-test end' "$out/qemu-$machine.section"; then
		bad same-as-qemu-$machine "the QEMU reference run failed (status $qs)"
	elif ! cmp -s "$out/qemu-$machine.section" "$out/$machine.section"; then
		bad same-as-qemu-$machine "the test's output differs from QEMU's (-cpu $cpu)"
		diff "$out/qemu-$machine.section" "$out/$machine.section" | head -20
	else
		ok same-as-qemu-$machine
	fi
done
echo "linux: $pass passed, $fail failed ($(($(date +%s) - start)) s)"
[ "$fail" -eq 0 ]
