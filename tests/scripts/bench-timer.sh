#!/usr/bin/env bash
# Timer benchmark (not a test; prints figures, asserts nothing about speed):
# the compute loop of bench_loop with IRQ0 at the firmware's 18.2 Hz, at PIT
# divisor 8 (149 kHz) and at divisor 1 (1.19 MHz), under vmx and QEMU TCG
# side by side in one run (best of 3, start-up subtracted). The ratio to
# 18.2 Hz is what a fast guest timer costs; the goal for vmx is below 2 at
# divisor 1. vmx's counters for the divisor-1 run say how: host timer
# signals per second, interrupts delivered, PIT periods coalesced.
# QEMU in real time can livelock at divisor 1 (its i8254 steps through every
# transition): a run that does not end within QEMU_TIMEOUT s counts as that.
# Usage: bench-timer.sh VMX   (env BENCH_ITERS, default 50000000)
set -u
vmx=$1
here=$(cd "$(dirname "$0")" && pwd)
N=${BENCH_ITERS:-50000000}
QT=${QEMU_TIMEOUT:-30}
elf=build/guests/bench_loop.elf
mkdir -p build/bench

# shellcheck source=bench-lib.sh
. "$here/bench-lib.sh"
run_vmx() { "$vmx" -kernel "$elf" -append "iters=$1 pit=$2"; }
run_qemu() { timeout "$QT" "${QEMU:-qemu-system-i386}" -nodefaults -display none -no-reboot -m 128 \
	-serial stdio -monitor none -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$elf" \
	-append "iters=$1 pit=$2" </dev/null; }
minp=$(sed -n 's/^#define TUNE_TIMER_MIN_PERIOD_NS *\([0-9]*\).*/\1/p' include/tunables.h)

echo "bench-timer: compute loop, $N iterations, IRQ0 at three PIT rates (best of 3, start-up subtracted)"
echo "bench-timer: vmx minimum host timer period ${minp} ns"
printf "bench-timer: %-6s %-22s %10s %10s\n" who rate "ms" "x 18.2 Hz"
declare -A base
for who in vmx qemu; do
	t0=$(best_ns "run_$who" 0 0)
	for spec in 0:18.2_Hz 8:149_kHz_divisor_8 1:1.19_MHz_divisor_1; do
		d=${spec%%:*} label=${spec#*:}
		t=$(best_ns "run_$who" "$N" "$d")
		ms=$(awk -v a="$t" -v b="$t0" 'BEGIN { printf "%.1f", (a - b) / 1e6 }')
		[ "$d" = 0 ] && base[$who]=$ms
		if [ "$who" = qemu ] && [ "$t" -ge $((QT * 1000000000)) ]; then
			printf "bench-timer: %-6s %-22s %10s %10s\n" "$who" "${label//_/ }" "> ${QT}000" "livelock"
			continue
		fi
		printf "bench-timer: %-6s %-22s %10s %10.2f\n" "$who" "${label//_/ }" "$ms" \
			"$(awk -v a="$ms" -v b="${base[$who]}" 'BEGIN { print (b > 0 ? a / b : 0) }')"
	done
done

s=$(date +%s%N)
"$vmx" -kernel "$elf" -append "iters=$N pit=1" -stats build/bench/timer-1.json </dev/null >/dev/null 2>&1
ns=$(($(date +%s%N) - s))
get() { grep "\"$1\"" build/bench/timer-1.json | grep -o '[0-9]*' | tail -1; }
awk -v ns="$ns" -v s="$(get vmm.trap.sigalrm)" -v i="$(get vmm.irq.delivered)" -v t="$(get dev.pit.ticks)" \
    -v c="$(get dev.pit.ticks_coalesced)" -v a="$(get vmm.clock.host_arms)" 'BEGIN {
	sec = ns / 1e9
	printf "bench-timer: vmx divisor 1, %.2f s: %d host timer signals (%.0f/s), %d host timer settings, %d IRQ0 edges, %d delivered (%.0f/s), %d periods coalesced\n",
		sec, s, s / sec, a, t, i, i / sec, c }'
