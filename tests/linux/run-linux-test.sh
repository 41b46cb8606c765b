#!/usr/bin/env bash
# The Linux test: boots Debian's i386 kernel with the test initramfs
# (tests/linux/init-test, busybox, userprog) under vmx in each binary-
# translation mode (bt, bt-direct, bt-all) on the default machine, pc, once
# more on -machine isapc, and under qemu-system-i386 with the matching CPU
# (with the local APIC, and without it for isapc); the section between the
# test's markers must be the same under both, hold every check's success
# line, and the vmx counters must show a real boot. On pc the guest must
# also find the ACPI tables and keep the TSC as its clocksource (the ACPI
# PM timer is the watchdog's reference).
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
# boot NAME VMX-OPTION...: $out/NAME.{out,err,stats.json}
boot() {
	local name=$1; shift
	timeout 300 "$vmx" -kernel "$kernel" -initrd "$initrd" -append "$append" "$@" \
		-stats "$out/$name.stats.json" </dev/null >"$out/$name.out" 2>"$out/$name.err"
}
for mode in bt bt-direct bt-all isapc; do
	t0=$(date +%s)
	if [ "$mode" = isapc ]; then opts="-machine isapc"; else opts="-mode $mode"; fi
	# shellcheck disable=SC2086
	boot "$mode" $opts
	st=$?
	# The kernel times its TSC against the PIT (on pc, where the PM timer
	# stands in for that, the PM timer against the PIT) in loops that a
	# busy host can still upset (README, limits): one more boot, said aloud.
	upset='PM-Timer running at invalid rate'
	[ "$mode" = isapc ] && upset='Unable to calibrate against PIT'
	if [ "$st" -eq 0 ] && grep -q "$upset" "$out/$mode.out"; then
		echo "note linux boot-$mode: '$upset' (a busy host); booting once more"
		# shellcheck disable=SC2086
		boot "$mode" $opts
		st=$?
	fi
	t1=$(date +%s)
	section "$out/$mode.out" >"$out/$mode.section"
	why=""
	[ "$st" -eq 0 ] || why="vmx exit status $st (expected 0: the guest powers off)"
	[ -z "$why" ] && ! grep -q '^=== vmx-linux-test end' "$out/$mode.section" && why="the test did not reach its end marker"
	[ -z "$why" ] && grep -q 'FAIL' "$out/$mode.section" && why="$(grep -m1 FAIL "$out/$mode.section")"
	for want in 'model name.*QEMU Virtual CPU' 'cpu MHz: sane' 'pipeline: SUM=200010000' \
		'processes: 1 4 9 16 25 36 49 64' 'files: 50' 'userprog: 9 passed, 0 failed' 'dmesg: clean'; do
		[ -z "$why" ] && ! grep -q "$want" "$out/$mode.section" && why="no line matching '$want'"
	done
	# What each mode must have done: user code direct (its system calls
	# arriving as host traps) in bt-direct, some of it moved to the TC by
	# the adaptive policy in bt, none of it direct in bt-all.
	case $mode in
	bt|isapc) need="vmm.direct.entries vmm.adaptive.user_to_tc vmm.syscall.int80" none="" ;;
	bt-direct) need="vmm.direct.entries vmm.syscall.int80 mmu.user.exec_grants" none="vmm.adaptive.user_to_tc" ;;
	bt-all) need="vmm.callout.int" none="vmm.direct.entries vmm.direct.pages_scanned mmu.user.exec_grants" ;;
	esac
	for c in bt.tu.translated mmu.fault.true mmu.cr3.switch vmm.irq.delivered $need; do
		v=$(counter "$out/$mode.stats.json" "$c")
		[ -z "$why" ] && [ "${v:-0}" -le 0 ] && why="counter $c is ${v:-missing}"
	done
	for c in $none; do
		v=$(counter "$out/$mode.stats.json" "$c")
		[ -z "$why" ] && [ "${v:-1}" -ne 0 ] && why="counter $c is ${v:-missing} (expected 0 in $mode)"
	done
	# glibc's TLS accesses at negative %gs offsets trap past the truncated
	# segment until adaptive translation makes each site a callout: a few
	# hundred traps a boot, not one per access (a regression once made it
	# 880 000).
	v=$(counter "$out/$mode.stats.json" mmu.monitor_range.emulated)
	[ -z "$why" ] && [ "$mode" = bt-all ] && [ "${v:-0}" -gt 20000 ] &&
		why="mmu.monitor_range.emulated is $v: TLS sites are not becoming callouts"
	if [ -z "$why" ] && [ "$mode" != isapc ]; then
		for want in 'ACPI: PM-Timer IO Port: 0x608' 'clocksource: acpi_pm: mask' \
			'ACPI: Using ACPI (MADT) for SMP configuration information' '^clocksource now: tsc\(-early\)\?$'; do
			[ -z "$why" ] && ! tr -d '\r' <"$out/$mode.out" | grep -q "$want" && why="no kernel message matching '$want'"
		done
		[ -z "$why" ] && grep -q 'Marking TSC unstable' "$out/$mode.out" && why="$(grep -m1 'Marking TSC unstable' "$out/$mode.out")"
		# Twice upset: the kernel went without the PM timer, and so
		# without the TSC; the rest of the boot still counts.
		if [ -n "$why" ] && grep -q "$upset" "$out/$mode.out"; then
			echo "note linux boot-$mode: '$upset' again; not checking the clocksource ($why)"
			why=""
		fi
	fi
	cs=$(tr -d '\r' <"$out/$mode.out" | sed -n 's/^clocksource now: //p')
	if [ -z "$why" ]; then ok "boot-$mode ($((t1 - t0)) s, clocksource ${cs:-?})"; else bad "boot-$mode" "$why"; tail -20 "$out/$mode.out"; fi
done

# -mode te must fail, and for the reason theory gives: Linux reads its
# interrupt state with pushf (irqs_disabled) and restores it with popf,
# neither of which traps when the kernel runs deprivileged.
t0=$(date +%s)
boot te -mode te
st=$?
section "$out/te.out" >"$out/te.section"
why=""
grep -q '^=== vmx-linux-test end' "$out/te.section" && why="the test reached its end under te"
for c in vmm.te.divergence.pushf vmm.te.divergence.popf vmm.te.trap.cli_sti; do
	v=$(counter "$out/te.stats.json" "$c")
	[ -z "$why" ] && [ "${v:-0}" -le 0 ] && why="counter $c is ${v:-missing}"
done
[ -z "$why" ] && ! grep -q 'vmx: te: warning: .* x pushf' "$out/te.err" && why="no pushf divergence warning"
[ -z "$why" ] && ! grep -qE 'kernel BUG|Kernel panic|interrupts stayed virtually off' "$out/te.out" "$out/te.err" &&
	why="neither a kernel BUG/panic nor the lost-interrupt stop"
if [ -z "$why" ]; then
	ok "te-fails-as-expected (status $st, $(grep -m1 -oE 'kernel BUG at [^ ]*|Kernel panic[^\r]*' "$out/te.out" | head -1), $(($(date +%s) - t0)) s)"
else
	bad te-fails-as-expected "$why"; tail -20 "$out/te.out"
fi

# The reference runs after vmx's, not beside them: see the Makefile.
timeout 300 qemu-system-i386 -nodefaults -display none -no-reboot -m 128 -cpu "$QEMU_CPU_ISAPC" \
	-serial stdio -monitor none -kernel "$kernel" -initrd "$initrd" -append "$append" \
	</dev/null >"$out/qemu-isapc.out" 2>"$out/qemu-isapc.err"
qs=$?
section "$out/qemu-isapc.out" >"$out/qemu-isapc.section"
if [ "$qs" -ne 0 ] || ! grep -q '^=== vmx-linux-test end' "$out/qemu-isapc.section"; then
	bad same-as-qemu-isapc "the QEMU reference run without the APIC failed (status $qs)"
elif ! cmp -s "$out/qemu-isapc.section" "$out/isapc.section"; then
	bad same-as-qemu-isapc "the test's output on -machine isapc differs from QEMU's (-cpu $QEMU_CPU_ISAPC)"
	diff "$out/qemu-isapc.section" "$out/isapc.section" | head -20
else
	ok same-as-qemu-isapc
fi
timeout 300 qemu-system-i386 -nodefaults -display none -no-reboot -m 128 -cpu "$QEMU_CPU" \
	-serial stdio -monitor none -kernel "$kernel" -initrd "$initrd" -append "$append" \
	</dev/null >"$out/qemu.out" 2>"$out/qemu.err"
qs=$?
section "$out/qemu.out" >"$out/qemu.section"
if [ "$qs" -ne 0 ] || ! grep -q '^=== vmx-linux-test end' "$out/qemu.section"; then
	bad same-as-qemu "the QEMU reference run failed (status $qs)"
else
	for mode in bt bt-direct bt-all; do
		if ! cmp -s "$out/qemu.section" "$out/$mode.section"; then
			bad "same-as-qemu-$mode" "the test's output differs from QEMU's"
			diff "$out/qemu.section" "$out/$mode.section" | head -20
		else
			ok "same-as-qemu-$mode"
		fi
	done
fi
echo "linux: $pass passed, $fail failed ($(($(date +%s) - start)) s)"
[ "$fail" -eq 0 ]
