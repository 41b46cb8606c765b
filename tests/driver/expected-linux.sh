#!/usr/bin/env bash
# QEMU's output of the Linux test (tests/linux: Debian's i386 kernel and
# the test initramfs) on the pc machine with the CPU vmx gives, for the
# check-driver host's run of the same under -world vmmon: the section
# between the test's markers, kernel messages left out, in OUT.
# Usage: expected-linux.sh BZIMAGE INITRD OUT
set -u
kernel=$1 initrd=$2 out=$3
. "$(dirname "$0")/../scripts/qemu-cpu.sh"
timeout 300 qemu-system-i386 -nodefaults -display none -no-reboot -m 128 -cpu "$QEMU_CPU" \
	-serial stdio -monitor none -kernel "$kernel" -initrd "$initrd" -append "console=ttyS0 panic=-1" \
	</dev/null 2>/dev/null | tr -d '\r' | sed -n '/^=== vmx-linux-test begin/,/^=== vmx-linux-test end/p' |
	grep -v '^\[ *[0-9]*\.[0-9]*\] ' >"$out.tmp"
grep -q '^=== vmx-linux-test end' "$out.tmp" || { echo "expected-linux: QEMU's run did not reach the test's end" >&2; exit 1; }
mv "$out.tmp" "$out"
