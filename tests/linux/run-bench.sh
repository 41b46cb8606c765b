#!/usr/bin/env bash
# make bench (not a test): the workloads of tests/linux/bench.c inside the
# Linux guest under vmx and under QEMU TCG (same kernel, initramfs and -m),
# and natively; the boot to /init timed from the host; the monitor crossings
# of each workload from one vmx boot per workload less a boot-only one.
# Prints one Markdown table. Usage: run-bench.sh VMX BZIMAGE INITRD BENCH
set -u -o pipefail
vmx=$1 kernel=$2 initrd=$3 bench=$4
here=$(cd "$(dirname "$0")" && pwd)
out=build/bench/linux
mkdir -p "$out"
. "$here/../scripts/qemu-cpu.sh"
mem=256
append="console=ttyS0 panic=-1"
workloads="cpu syscall fork exec pagefault qsort"
tick_ms=$((1000 / $(getconf CLK_TCK)))
started=$(date +%s) load0=$(cut -d' ' -f1-3 /proc/loadavg)

# Each console line gets the host's wall clock and, for bench's lines, the
# CPU time the host has given process PID so far (ms; "-" otherwise):
# "WALL CPU LINE". Bash's own clock, so a stamp never waits for a fork.
stamp() {
	local pid=$1 l t f
	while IFS= read -r l; do
		t=$EPOCHREALTIME l=${l%$'\r'}
		if [[ $l == bench:* ]] && read -r -a f <"/proc/$pid/stat" 2>/dev/null; then
			printf '%s %s %s\n' "$t" "$(((f[13] + f[14]) * tick_ms))" "$l"
		else
			printf '%s - %s\n' "$t" "$l"
		fi
	done
}

# boot_once NAME WORKLOADS CMD...: the guest runs bench with WORKLOADS (a
# kernel parameter the kernel hands to /init's environment); NAME.log gets
# the start time, then the stamped console. The emulator writes into a FIFO
# so that the stamper knows its pid.
boot_once() {
	local name=$1 wl=$2 pid dog st
	shift 2
	local fifo=$out/$name.fifo log=$out/$name.log
	rm -f "$fifo" && mkfifo "$fifo"
	echo "$EPOCHREALTIME - start" >"$log"
	"$@" -append "$append vmxbench=$wl" </dev/null >"$fifo" 2>"$out/$name.err" &
	pid=$!
	(for _ in $(seq 900); do sleep 0.2; kill -0 "$pid" 2>/dev/null || exit 0; done; kill "$pid") &
	dog=$!
	stamp "$pid" <"$fifo" >>"$log"
	wait "$pid"
	st=$?
	wait "$dog"
	rm -f "$fifo"
	if [ $st -ne 0 ] || ! grep -q ' bench: status 0$' "$log"; then
		echo "bench: the $name boot failed (status $st); the end of $log:" >&2
		tail -15 "$log" >&2
		exit 1
	fi
}

# boot NAME WORKLOADS CMD...: boot_once until the guest kernel keeps the TSC
# as its clocksource (3 tries). On a loaded host its PIT calibration of the
# TSC sometimes fails; it then runs on the PIT, every clock read is port
# I/O, and neither the times nor the counters compare with other boots.
retries=0
boot() {
	local cs try
	for try in 1 2 3; do
		boot_once "$@"
		cs=$(sed -n 's/.*clocksource: Switched to clocksource \([a-z_-]*\).*/\1/p' "$out/$1.log" | tail -1)
		[ "$cs" = tsc ] && return
		echo "bench: $1 (try $try): the guest's clocksource is ${cs:-unknown}, not tsc" >&2
		[ $try -lt 3 ] && retries=$((retries + 1))
	done
	echo "bench: $1: kept a boot without the tsc clocksource; its figures are not comparable" >&2
}
run_vmx() { local n=$1 w=$2; shift 2; boot "$n" "$w" "$vmx" -m $mem -kernel "$kernel" -initrd "$initrd" -mode bt "$@"; }
run_qemu() {
	boot "$1" "$2" qemu-system-i386 -nodefaults -display none -no-reboot -m $mem -cpu "$QEMU_CPU" \
		-serial stdio -monitor none -kernel "$kernel" -initrd "$initrd"
}

# From a log: the boot to /init (host wall and the emulator's CPU, ms); per workload FIELD of its
# result line (guest ms, ops, in-process CPU ms) and the emulator's CPU
# time from its begin line to its result line.
boot_ms() { awk 'NR == 1 { s = $1 } $3 == "bench:" && $4 == "init" { printf "%.1f %s", ($1 - s) * 1e3, $2; exit }' "$1"; }
result() {
	awk -v w="$2" -v f="$3" '$3 == "bench:" && $4 == w && $6 == "ms" {
		print f == "ms" ? $5 : f == "ops" ? $7 : $9; exit }' "$1"
}
host_cpu_ms() { awk -v w="$2" '$4 == "begin" && $5 == w { b = $2 } $4 == w && $6 == "ms" { print $2 - b; exit }' "$1"; }

# The crossings of one -stats file: hidden faults, fills, traced writes, CR3
# switches, host signals, callouts. The JSON is one flat object; it is split
# at commas, so a file on one line or one counter a line both parse.
crossings() {
	tr ',{}' '\n\n\n' <"$1" | sed -n 's/^[[:space:]]*"\([^"]*\)":[[:space:]]*\([0-9][0-9]*\).*/\1 \2/p' | awk '
		$1 == "mmu.fault.hidden" { h = $2 } $1 == "mmu.fill.calls" { f = $2 }
		$1 == "mmu.trace.hit" { t = $2 } $1 == "mmu.cr3.switch" { c = $2 }
		$1 == "vmm.trap.sigsegv" || $1 == "vmm.trap.sigalrm" || $1 == "vmm.trap.sigtrap" { s += $2 }
		$1 ~ /^vmm\.callout\./ { co += $2 }
		END { print h + 0, f + 0, t + 0, c + 0, s + 0, co + 0 }'
}

echo "bench: vmx, all workloads in one boot"
run_vmx vmx-all all
echo "bench: QEMU TCG, all workloads in one boot"
run_qemu qemu-all all
# Natively the best of three: the host is shared, and a run costs little.
echo "bench: native, best of 3 runs"
for i in 1 2 3; do
	"$bench" all | stamp $$ >"$out/native-$i.log" || { echo "bench: the native run failed" >&2; exit 1; }
done
echo "bench: vmx, one boot per workload for its counters, and two boot-only ones"
run_vmx vmx-none1 none -stats "$out/vmx-none1.json"
run_vmx vmx-none2 none -stats "$out/vmx-none2.json"
for w in $workloads; do
	run_vmx "vmx-$w" "$w" -stats "$out/vmx-$w.json"
done

best() { for i in 1 2 3; do result "$out/native-$i.log" "$1" "$2"; done | sort -g | head -1; }
rows=$out/rows.txt
# The baseline is the mean of the two boot-only runs, and a difference no
# larger than theirs is noise: "~0".
base=$(paste -d' ' <(crossings "$out/vmx-none1.json" | tr ' ' '\n') <(crossings "$out/vmx-none2.json" | tr ' ' '\n') |
	awk '{ printf "%s%d:%d", (NR > 1 ? " " : ""), ($1 + $2) / 2, ($1 > $2 ? $1 - $2 : $2 - $1) }')
read -r vb vc <<<"$(boot_ms "$out/vmx-all.log")"
read -r qb qc <<<"$(boot_ms "$out/qemu-all.log")"
echo "boot $vb $qb - $vc $qc - $(tr ' ' '\n' <<<"$base" | cut -d: -f1 | tr '\n' ' ')" >"$rows"
for w in $workloads; do
	# Workload boot less the boot-only ones: what the workload itself crossed.
	delta=$(paste -d' ' <(crossings "$out/vmx-$w.json" | tr ' ' '\n') <(tr ' ' '\n' <<<"$base" | tr ':' ' ') |
		awk '{ d = $1 - $2; printf "%s%s", (NR > 1 ? " " : ""), (d <= $3 && -d <= $3 ? "~0" : d) }')
	echo "$w $(result "$out/vmx-all.log" "$w" ms) $(result "$out/qemu-all.log" "$w" ms) $(best "$w" ms)" \
		"$(host_cpu_ms "$out/vmx-all.log" "$w") $(host_cpu_ms "$out/qemu-all.log" "$w") $(best "$w" cpu) $delta" >>"$rows"
done

awk '
	function ratio(a, b) { return (a == "-" || b == "-" || b == 0) ? "-" : sprintf("%.2f", a / b) }
	function row(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q) {
		printf "| %-9s | %8s | %8s | %8s | %5s | %6s | %7s | %7s | %7s | %5s | %6s | %6s | %6s | %6s | %6s | %7s | %8s |\n",
			a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q }
	BEGIN {
		row("workload", "vmx ms", "QEMU ms", "native", "/QEMU", "/native", "vmx CPU", "QEMU CPU", "nat CPU",
			"/QEMU", "/native", "hidden", "fills", "traced", "CR3", "signals", "callouts")
		print "|-----------|---------:|---------:|---------:|------:|-------:|--------:|---------:|--------:|" \
			"------:|-------:|-------:|-------:|-------:|-------:|--------:|---------:|"
	}
	$1 == "boot" { row("boot", $2, $3, "-", ratio($2, $3), "-", $5, $6, "-", ratio($5, $6), "-", $8, $9, $10, $11, $12, $13); next }
	{ row($1, $2, $3, $4, ratio($2, $3), ratio($2, $4), $5, $6, sprintf("%.0f", $7), ratio($5, $6), ratio($5, $7),
		$8, $9, $10, $11, $12, $13) }
' "$rows"
echo
cat <<EOF
vmx ms, QEMU ms, native: the guest's CLOCK_MONOTONIC around the workload, all workloads in one boot (native:
best of 3 runs); /QEMU and /native: vmx's time over theirs. boot: host wall time from starting vmx or QEMU to
/init's first line. vmx CPU, QEMU CPU: the CPU time the host gave the emulator process over the workload
(/proc, ${tick_ms} ms ticks); nat CPU: the native process and its children (getrusage); then vmx's CPU over
theirs. vmx's guest clock leaves out time the host ran others; QEMU's and native's do not, so on a loaded
host the CPU ratios are the fair ones (boot: CPU time up to /init). Crossings: one vmx boot per workload
less the mean of two boot-only ones (boot: that mean; ~0: within the two's difference, which for callouts
is often 10^5 from one boot to the next): mmu.fault.hidden, mmu.fill.calls, mmu.trace.hit,
mmu.cr3.switch, signals = vmm.trap.sigsegv + sigalrm + sigtrap, callouts = every vmm.callout.*.
-m $mem, host load $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; $retries boots again for the clocksource; $(($(date +%s) - started)) s.
EOF
