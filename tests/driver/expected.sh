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
# echo reads OUTDIR/echo.in from its serial port; ata writes a blank
# 4 MiB drive (init makes the same one for vmx).
printf 'hello vmx\n' >"$out/echo.in"
img=$(mktemp -d)
trap 'rm -rf "$img"' EXIT
for elf in "$@"; do
	name=$(basename "$elf" .elf)
	cpu=$QEMU_CPU_ISAPC extra= input=/dev/null
	case $name in lapic|ioapic|fw_cfg|ata) cpu=$QEMU_CPU ;; esac
	case $name in
	ata) rm -f "$img/ata.img"; truncate -s 4M "$img/ata.img"; extra="-drive file=$img/ata.img,format=raw,index=0" ;;
	echo) input=$out/echo.in ;;
	esac
	QEMU_CPU=$cpu QEMU_EXTRA=$extra QEMU_INPUT=$input "$here/qemu-guest.sh" "$elf" >"$out/$name.out" 2>/dev/null
	echo $? >"$out/$name.st"
	# multitask's escape process (-append escape): NAME+APPEND.
	if [ "$name" = multitask ]; then
		QEMU_CPU=$cpu "$here/qemu-guest.sh" "$elf" -append escape >"$out/$name+escape.out" 2>/dev/null
		echo $? >"$out/$name+escape.st"
	fi
done
