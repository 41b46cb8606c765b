#!/usr/bin/env bash
# Runs one multiboot test guest under qemu-system-i386: serial output on
# stdout, exit status from isa-debug-exit ((code << 1) | 1: 1 PASS, 5 FAIL).
# Usage: tests/scripts/qemu-guest.sh ELF [-append STR]   (124 on timeout)
# QEMU_EXTRA in the environment adds options (e.g. -device pc-testdev);
# QEMU_INITRD, when set, is passed as one -initrd argument (modules);
# QEMU_INPUT names a file the guest's serial port reads (default none).
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
[ -n "${QEMU_INITRD:-}" ] && extra+=(-initrd "$QEMU_INITRD")

# The virtual CPU of DESIGN §6: QEMU's qemu32 less what vmx does not implement.
. "$(dirname "$0")/qemu-cpu.sh"
# shellcheck disable=SC2086
timeout 60 "${QEMU:-qemu-system-i386}" -nodefaults -display none -no-reboot -m 128 -cpu "$QEMU_CPU" \
	-serial stdio -monitor none \
	-device isa-debug-exit,iobase=0xf4,iosize=4 ${QEMU_EXTRA:-} \
	-kernel "$elf" "${extra[@]}" <"${QEMU_INPUT:-/dev/null}"
exit $?
