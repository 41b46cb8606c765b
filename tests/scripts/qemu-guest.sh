#!/usr/bin/env bash
# Runs one multiboot test guest under qemu-system-i386: serial output on
# stdout, exit status from the isa-debug-exit port ((code << 1) | 1, so 1 is
# PASS and 5 is FAIL), 124 on timeout.
# Usage: tests/scripts/qemu-guest.sh ELF [-append STR]
set -u

usage() {
	echo "usage: $0 ELF [-append STR]" >&2
	exit 64
}

[ $# -ge 1 ] || usage
elf=$1
shift
extra=()
if [ $# -gt 0 ]; then
	[ $# -eq 2 ] && [ "$1" = "-append" ] || usage
	extra=(-append "$2")
fi
[ -r "$elf" ] || { echo "$0: cannot read $elf" >&2; exit 66; }

timeout 60 "${QEMU:-qemu-system-i386}" -nodefaults -display none -no-reboot -m 128 \
	-serial stdio -monitor none \
	-device isa-debug-exit,iobase=0xf4,iosize=4 \
	-kernel "$elf" "${extra[@]}" </dev/null
exit $?
