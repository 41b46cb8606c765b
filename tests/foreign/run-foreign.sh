#!/usr/bin/env bash
# run-foreign.sh - runs each foreign guest under vmx and qemu-system-i386 and
# compares serial output and exit status with each other and with
# tests/foreign/expected-status. A difference vmx keeps on purpose is in
# tests/foreign/known-differences (the guest, a sed script that turns
# QEMU's output into what vmx must print, and why): vmx must print exactly
# that. Usage: run-foreign.sh VMX ELF...
set -u
vmx=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
out=build/foreign/results
mkdir -p "$out"
pass=0 fail=0
. "$here/../scripts/qemu-cpu.sh"
for elf in "$@"; do
	name=$(basename "$elf" .elf)
	want=$(awk -v n="$name" '$1 == n { print $2 }' "$here/expected-status")
	timeout 120 "$vmx" -kernel "$elf" </dev/null >"$out/$name.vmx.out" 2>"$out/$name.vmx.err"
	vs=$?
	timeout 60 "${QEMU:-qemu-system-i386}" -nodefaults -display none -no-reboot -m 128 -cpu "$QEMU_CPU" \
		-serial stdio -monitor none -device isa-debug-exit,iobase=0xf4,iosize=4 \
		-kernel "$elf" </dev/null >"$out/$name.qemu.out" 2>"$out/$name.qemu.err"
	qs=$?
	why=""
	[ "$qs" = "$want" ] || why="qemu exit status $qs, expected $want"
	[ -z "$why" ] && [ "$vs" != "$qs" ] && why="exit status differs: vmx $vs, qemu $qs"
	known=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' "$here/known-differences")
	note=$(awk -F'\t' -v n="$name" '$1 == n { print $3 }' "$here/known-differences")
	sed -e "${known:-}" "$out/$name.qemu.out" >"$out/$name.expected"
	[ -z "$why" ] && ! cmp -s "$out/$name.vmx.out" "$out/$name.expected" &&
		why="serial output differs from qemu${known:+ (less the known difference: $note)}"
	[ -z "$why" ] && [ -n "$known" ] && cmp -s "$out/$name.qemu.out" "$out/$name.expected" &&
		why="the known difference ($note) is gone: QEMU now prints what vmx does; drop it"
	[ -z "$why" ] && [ -n "$known" ] && name="$name (known difference: $note)"
	if [ -z "$why" ]; then
		pass=$((pass + 1))
		echo "PASS foreign $name"
	else
		fail=$((fail + 1))
		echo "FAIL foreign $name: $why"
		diff "$out/$name.expected" "$out/$name.vmx.out" | head -20
		tail -5 "$out/$name.vmx.err"
	fi
done
echo "foreign: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
