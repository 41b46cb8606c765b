#!/usr/bin/env bash
# The reference outputs of the test guests check-driver runs under vmx
# -world vmmon: each guest once under qemu-system-i386 (tests/scripts/
# qemu-guest.sh, the CPU run-guests.sh gives it), its serial output in
# OUTDIR/NAME.out and its exit status in OUTDIR/NAME.st, with the guest
# named by the same relative path vmx is given in the check-driver host
# (the multiboot command line holds it).
# Usage: expected.sh OUTDIR GUEST.elf...
set -u
out=$1; shift
here=$(cd "$(dirname "$0")/../scripts" && pwd)
. "$here/qemu-cpu.sh"
mkdir -p "$out"
for elf in "$@"; do
	name=$(basename "$elf" .elf)
	cpu=$QEMU_CPU_ISAPC
	case $name in lapic|ioapic|fw_cfg) cpu=$QEMU_CPU ;; esac
	QEMU_CPU=$cpu "$here/qemu-guest.sh" "$elf" >"$out/$name.out" 2>/dev/null
	echo $? >"$out/$name.st"
done
