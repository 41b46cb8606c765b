#!/usr/bin/env bash
# Translator benchmark (not a test; prints figures, asserts nothing about
# speed). Side by side in one run on this machine:
#  1. the compute loop of tests/bench/bench_kernel.h natively (32-bit host
#     process), translated by vmx, and under QEMU TCG: ns per iteration from
#     the difference between a long and an empty run (start-up cancels out),
#     best of 3, and the ratios;
#  2. the translator's own cost: cycles per guest instruction translated and
#     code expansion, from vmx's exact counters on the tc_pressure guest.
# Usage: bench-bt.sh VMX   (env BENCH_ITERS, default 20000000)
set -u
vmx=$1
here=$(cd "$(dirname "$0")" && pwd)
N=${BENCH_ITERS:-20000000}
elf=build/guests/bench_loop.elf
native=build/bench/native_loop

# shellcheck source=bench-lib.sh
. "$here/bench-lib.sh"
checksum() { "$@" 2>/dev/null </dev/null | grep -o 'checksum [0-9a-f]*'; }

run_native() { "$native" "$1"; }
run_vmx() { "$vmx" -kernel "$elf" -append "iters=$1"; }
run_qemu() { "$here/qemu-guest.sh" "$elf" -append "iters=$1"; }

echo "bench-bt: compute loop, $N iterations (best of 3, start-up subtracted)"
c_native=$(checksum run_native "$N"); c_vmx=$(checksum run_vmx "$N"); c_qemu=$(checksum run_qemu "$N")
if [ "$c_native" != "$c_vmx" ] || [ "$c_native" != "$c_qemu" ]; then
	echo "bench-bt: checksums differ: native '$c_native' vmx '$c_vmx' qemu '$c_qemu'" >&2
	exit 1
fi
declare -A per
for who in native vmx qemu; do
	t0=$(best_ns "run_$who" 0)
	t1=$(best_ns "run_$who" "$N")
	per[$who]=$(awk -v a="$t1" -v b="$t0" -v n="$N" 'BEGIN { printf "%.3f", (a - b) / n }')
	printf "  %-7s %8s ns/iteration   (run %6.3f s, start-up %6.3f s)\n" "$who" "${per[$who]}" \
		"$(awk -v t="$t1" 'BEGIN{print t/1e9}')" "$(awk -v t="$t0" 'BEGIN{print t/1e9}')"
done
awk -v n="${per[native]}" -v v="${per[vmx]}" -v q="${per[qemu]}" 'BEGIN {
	printf "  ratios: vmx/native %.2f   qemu/native %.2f   qemu/vmx %.2f\n", v / n, q / n, q / v }'

# The callout path: one `outb` to an unclaimed port per iteration (vmx: a
# far call into the monitor and back; QEMU: a helper call from TCG code).
NIO=$((N / 10))
run_vmx_io() { "$vmx" -kernel "$elf" -append "iters=$1 io"; }
run_qemu_io() { "$here/qemu-guest.sh" "$elf" -append "iters=$1 io"; }
echo "bench-bt: port I/O callout, $NIO outb instructions"
declare -A io
for who in vmx qemu; do
	t0=$(best_ns "run_${who}_io" 0)
	t1=$(best_ns "run_${who}_io" "$NIO")
	io[$who]=$(awk -v a="$t1" -v b="$t0" -v n="$NIO" 'BEGIN { printf "%.1f", (a - b) / n }')
	printf "  %-7s %8s ns per outb\n" "$who" "${io[$who]}"
done
awk -v v="${io[vmx]}" -v q="${io[qemu]}" 'BEGIN { printf "  ratio: qemu/vmx %.2f\n", q / v }'

stats=build/bench/tc_pressure.stats.json
"$vmx" -kernel build/guests/tc_pressure.elf -stats "$stats" </dev/null >/dev/null 2>&1
get() { grep "\"$1\"" "$stats" | grep -o '[0-9]*' | tail -1; }
cyc=$(get bt.translate.cycles); ins=$(get bt.insn.translated); tus=$(get bt.tu.translated)
gb=$(get bt.guest.bytes); tb=$(get bt.tc.bytes); fl=$(get bt.tc.flushes)
echo "bench-bt: translation cost (tc_pressure guest, exact counters)"
awk -v c="$cyc" -v i="$ins" -v t="$tus" -v g="$gb" -v b="$tb" -v f="$fl" 'BEGIN {
	printf "  %d TUs, %d guest instructions, %d guest bytes -> %d TC bytes (x%.2f), %d flushes\n", t, i, g, b, b / g, f
	printf "  %.0f TSC cycles per guest instruction translated (%.0f per TU)\n", c / i, c / t }'
