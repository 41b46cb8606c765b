#!/usr/bin/env bash
# make bench (not a test): the workloads of tests/linux/bench.c inside the
# Linux guest under vmx in each binary-translation mode, under QEMU TCG (same
# kernel, initramfs and -m) and natively; the boot to /init timed from the
# host; per mode one vmx boot per workload with -stats, whose counters less
# two boot-only boots' are what the workload crossed. Prints one Markdown
# table and the issue's goals. Usage: run-bench.sh VMX BZIMAGE INITRD BENCH
# (BENCH_MODES="bt bt-direct bt-all" by default: the modes to run;
# BENCH_REUSE=1 prints the table again from the previous run's logs).
set -u -o pipefail
vmx=$1 kernel=$2 initrd=$3 bench=$4
here=$(cd "$(dirname "$0")" && pwd)
out=build/bench/linux
mkdir -p "$out"
. "$here/../scripts/qemu-cpu.sh"
mem=256
# tsc=reliable (for QEMU too): vmx merges the PIT periods a busy host kept
# it from delivering into one interrupt (dev.pit.ticks_coalesced), so under
# load the jiffies behind the kernel's PIT-based clocksource watchdog fall
# behind the TSC and most boots dropped the TSC mid-boot; the flag turns
# that watchdog off. The kernel's PIT calibration of the TSC can still
# fail: boot() below.
append="console=ttyS0 panic=-1 tsc=reliable"
workloads="cpu syscall fork exec pagefault qsort"
modes=${BENCH_MODES:-bt bt-direct bt-all}
for m in $modes; do
	case $m in bt | bt-direct | bt-all) ;; *) echo "bench: BENCH_MODES: no mode $m (bt, bt-direct, bt-all)" >&2; exit 2 ;; esac
done
started=$(date +%s) load0=$(cut -d' ' -f1-3 /proc/loadavg)

# The workloads' code must have pages of its own (bench.c's
# bench_text_align): a glibc page holding cpuid beside the CPU loop or the
# comparator keeps them translated in every mode, and the table would not
# say what direct execution does with them.
bad=$(nm -n "$bench" | awk '
	function hex(h, i, n) { n = 0; h = tolower(h); for (i = 1; i <= length(h); i++) n = n * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1; return n }
	{ at[NR] = hex($1); name[NR] = $3 }
	$3 == "bench_text_end" { end = at[NR] }
	$3 == "run_cpu" || $3 == "cmp_int" || $3 == "run_syscall" || $3 == "run_fault" || $3 == "__x86.get_pc_thunk.si" {
		hot[$3] = at[NR] }
	END {
		if (!end || end % 4096) { print "no page-aligned bench_text_end"; exit }
		lo = end
		for (s in hot) { if (hot[s] >= end) { print s " after bench_text_end"; exit } if (hot[s] < lo) lo = hot[s] }
		lo -= lo % 4096
		for (i = 1; i <= NR; i++)
			if (at[i] >= lo && at[i] < end && name[i] !~ /^\.L/ &&
			    name[i] !~ /^(now_ms|cpu_ms|die|run_[a-z]+|reap|cmp_int|sort_prepare|bench_text_align|__x86\.get_pc_thunk\.[a-z]+)$/)
				printf "%s ", name[i]
	}')
if [ -n "$bad" ]; then
	echo "bench: $bench: the workloads' pages also hold other code ($bad); make bench links bench-end.c after bench.c" >&2
	exit 1
fi

# Each console line gets the host's wall clock and, for bench's lines, the
# CPU time the host has given process PID so far (ms, from the scheduler's
# nanosecond count of each of its threads; "-" otherwise): "WALL CPU LINE".
# Bash's own clock, so a stamp never waits for a fork.
stamp() {
	local pid=$1 l t f ns cpu
	while IFS= read -r l; do
		t=$EPOCHREALTIME l=${l%$'\r'}
		if [[ $l == bench:* ]]; then
			cpu=0
			for f in /proc/"$pid"/task/*/schedstat; do
				read -r ns _ 2>/dev/null <"$f" && cpu=$((cpu + ns))
			done
			printf '%s %d.%06d %s\n' "$t" $((cpu / 1000000)) $((cpu % 1000000)) "$l"
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
	(for _ in $(seq 1500); do sleep 0.2; kill -0 "$pid" 2>/dev/null || exit 0; done; kill "$pid") &
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
# One progress line a boot.
retries=0 nboot=0
nplan=$(($(wc -w <<<"$modes") * (2 + $(wc -w <<<"$workloads")) + 1))
boot() {
	local cs try t0
	nboot=$((nboot + 1))
	for try in 1 2 3; do
		t0=$EPOCHREALTIME
		boot_once "$@"
		cs=$(sed -n 's/.*clocksource: Switched to clocksource \([a-z_-]*\).*/\1/p' "$out/$1.log" | tail -1)
		printf 'bench: [%d/%d] %s: %.1f s, clocksource %s%s\n' $nboot $nplan "$1" \
			"$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')" "${cs:-unknown}" \
			"$([ "$cs" = tsc ] || [ $try -eq 3 ] || echo ", booting again")"
		[ "$cs" = tsc ] && return
		[ $try -lt 3 ] && retries=$((retries + 1))
	done
	echo "bench: $1: kept a boot without the tsc clocksource; its figures are not comparable" >&2
}
run_vmx() {
	local n=$1 mode=$2 w=$3
	boot "$n" "$w" "$vmx" -m $mem -kernel "$kernel" -initrd "$initrd" -mode "$mode" -stats "$out/$n.json"
}
run_qemu() {
	boot "$1" "$2" qemu-system-i386 -nodefaults -display none -no-reboot -m $mem -cpu "$QEMU_CPU" \
		-serial stdio -monitor none -kernel "$kernel" -initrd "$initrd"
}

# From a log: the boot to /init (host wall and the emulator's CPU, ms); per
# workload FIELD of its result line (guest ms, ops, in-process CPU ms) and
# the emulator's CPU time from its begin line to its result line.
boot_ms() { awk 'NR == 1 { s = $1 } $3 == "bench:" && $4 == "init" { printf "%.1f %.1f", ($1 - s) * 1e3, $2; exit }' "$1"; }
result() {
	awk -v w="$2" -v f="$3" '$3 == "bench:" && $4 == w && $6 == "ms" {
		print f == "ms" ? $5 : f == "ops" ? $7 : $9; exit }' "$1"
}
host_cpu_ms() { awk -v w="$2" '$4 == "begin" && $5 == w { b = $2 } $4 == w && $6 == "ms" { printf "%.1f\n", $2 - b; exit }' "$1"; }

# The counters of one -stats file, in this order: the crossings (hidden
# faults, fills, traced writes, CR3 switches, host signals, callouts), then
# direct execution's (native runs; its exits to the timer, int 0x80, hidden
# faults, true page faults, a page's first fetch, to translation; pages
# moved to the TC; execute grants). The JSON is one flat object; it is
# split at commas, so a file on one line or one counter a line both parse.
nvec=15
counters() {
	tr ',{}' '\n\n\n' <"$1" | sed -n 's/^[[:space:]]*"\([^"]*\)":[[:space:]]*\([0-9][0-9]*\).*/\1 \2/p' | awk '
		BEGIN { split("mmu.fault.hidden mmu.fill.calls mmu.trace.hit mmu.cr3.switch - - vmm.direct.entries " \
			"vmm.direct.exit.timer vmm.direct.exit.syscall vmm.direct.exit.hidden_fault vmm.direct.exit.page_fault " \
			"vmm.direct.exit.new_page vmm.direct.exit.to_translation vmm.adaptive.user_to_tc mmu.user.exec_grants", n)
			for (i in n) at[n[i]] = i }
		$1 in at { v[at[$1]] = $2 }
		$1 == "vmm.trap.sigsegv" || $1 == "vmm.trap.sigalrm" || $1 == "vmm.trap.sigtrap" { v[5] += $2 }
		$1 ~ /^vmm\.callout\./ { v[6] += $2 }
		END { for (i = 1; i <= 15; i++) printf "%s%d", (i > 1 ? " " : ""), v[i]; print "" }'
}

# ---- the runs (BENCH_REUSE=1: none, the table from the logs already in $out) ----
if [ "${BENCH_REUSE:-0}" = 1 ]; then
	echo "bench: modes $modes; the logs of $out again"
	. "$out/run.meta"
else
echo "bench: modes $modes; $nplan boots planned (load $load0)"
run_qemu qemu-all all
# Natively the best of three: the host is shared, and a run costs little.
for i in 1 2 3; do
	"$bench" all | stamp $$ >"$out/native-$i.log" || { echo "bench: the native run failed" >&2; exit 1; }
done
echo "bench: native: 3 runs"
for m in $modes; do
	run_vmx "vmx-$m-none1" "$m" none
	run_vmx "vmx-$m-none2" "$m" none
	for w in $workloads; do
		run_vmx "vmx-$m-$w" "$m" "$w"
	done
done
# What the footer says about the run, for BENCH_REUSE too.
printf 'load0="%s" load1="%s" retries=%d secs=%d when="%s"\n' "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)" $retries \
	$(($(date +%s) - started)) "$(date -u '+%Y-%m-%d %H:%M UTC')" >"$out/run.meta"
fi

# ---- the figures ----
declare -A T D Q N
best() { for i in 1 2 3; do result "$out/native-$i.log" "$1" "$2"; done | sort -g | head -1; }
median() { sort -g | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "-" }'; }
read -r Q[bootwall] Q[bootcpu] <<<"$(boot_ms "$out/qemu-all.log")"
for w in $workloads; do
	Q[$w]=$(host_cpu_ms "$out/qemu-all.log" "$w")
	N[$w]=$(best "$w" cpu)
done
: >"$out/times.txt"
for m in $modes; do
	# The baseline is the mean of the two boot-only runs, and a difference
	# no larger than theirs is noise: "~0".
	base=$(paste -d' ' <(counters "$out/vmx-$m-none1.json" | tr ' ' '\n') <(counters "$out/vmx-$m-none2.json" | tr ' ' '\n') |
		awk '{ printf "%s%d:%d", (NR > 1 ? " " : ""), ($1 + $2) / 2, ($1 > $2 ? $1 - $2 : $2 - $1) }')
	D[$m,boot]=$(tr ' ' '\n' <<<"$base" | cut -d: -f1 | tr '\n' ' ')
	# The boot to /init: the median of the mode's boots.
	T[$m,bootwall]=$(for w in none1 none2 $workloads; do boot_ms "$out/vmx-$m-$w.log" | cut -d' ' -f1; done | median)
	T[$m,bootcpu]=$(for w in none1 none2 $workloads; do boot_ms "$out/vmx-$m-$w.log" | cut -d' ' -f2; done | median)
	for w in $workloads; do
		T[$m,$w]=$(host_cpu_ms "$out/vmx-$m-$w.log" "$w")
		echo "$m $w guest-ms $(result "$out/vmx-$m-$w.log" "$w" ms) host-cpu-ms ${T[$m,$w]}" >>"$out/times.txt"
		# Workload boot less the boot-only ones: what the workload itself crossed.
		D[$m,$w]=$(paste -d' ' <(counters "$out/vmx-$m-$w.json" | tr ' ' '\n') <(tr ' ' '\n' <<<"$base" | tr ':' ' ') |
			awk '{ d = $1 - $2; printf "%s%s", (NR > 1 ? " " : ""), (d <= $3 && -d <= $3 ? "~0" : d) }')
	done
done
for w in $workloads; do echo "qemu $w guest-ms $(result "$out/qemu-all.log" "$w" ms) host-cpu-ms ${Q[$w]}"; done >>"$out/times.txt"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || a == "" || b == "-" || b == "" || b == 0) print "-"; else printf "%.2f\n", a / b }'; }
# 1234567 -> 1.23M, 45678 -> 45.7k: the direct-execution cells.
short() {
	awk -v n="$1" 'BEGIN { if (n == "~0" || n == "" || n == "-") print n; else if (n < 10000 && n > -10000) print n;
		else if (n < 1e6 && n > -1e6) printf "%.1fk\n", n / 1e3; else printf "%.2fM\n", n / 1e6 }'
}
# The exits of one counter vector that are not noise, by kind.
exits() {
	awk -v v="$1" 'BEGIN { split(v, f, " "); split("tmr sys hid pf np tr", k, " "); s = ""
		for (i = 1; i <= 6; i++) { n = f[7 + i]; if (n == "~0" || n <= 0) continue
			s = s (s == "" ? "" : " ") k[i] " " (n < 10000 ? n : n < 1e6 ? sprintf("%.1fk", n / 1e3) : sprintf("%.2fM", n / 1e6)) }
		print s == "" ? "~0" : s }'
}
field() { cut -d' ' -f"$2" <<<"$1"; }

cmode=$(set -- $modes; echo "$1")
dmodes=$(for m in $modes; do [ "$m" = bt-all ] || echo "$m"; done | tr '\n' ' ')
hdr="| workload | QEMU | native |"
sep="|---|---:|---:|"
for m in $modes; do hdr+=" $m | /QEMU | /native |"; sep+="---:|---:|---:|"; done
hdr+=" hidden | fills | traced | CR3 | signals | callouts |"
sep+="---:|---:|---:|---:|---:|---:|"
for m in $dmodes; do
	hdr+=" $m native runs | $m exits |"
	sep+="---:|---|"
	[ "$m" = bt ] && hdr+=" bt to TC |" && sep+="---:|"
	hdr+=" $m grants |"
	sep+="---:|"
done
echo
echo "$hdr"
echo "$sep"
for w in bootwall bootcpu $workloads; do
	case $w in bootwall) name="boot, wall" ;; bootcpu) name="boot" ;; *) name=$w ;; esac
	nat=${N[$w]:--}
	row="| $name | ${Q[$w]} | $nat |"
	for m in $modes; do row+=" ${T[$m,$w]} | $(ratio "${T[$m,$w]}" "${Q[$w]}") | $(ratio "${T[$m,$w]}" "$nat") |"; done
	k=$w
	[ "$w" = bootcpu ] && k=boot
	if [ "$w" = bootwall ]; then
		row+=" | | | | | |"
		for m in $dmodes; do row+=" | |"; [ "$m" = bt ] && row+=" |"; row+=" |"; done
	else
		v=${D[$cmode,$k]}
		for i in 1 2 3 4 5 6; do row+=" $(field "$v" $i) |"; done
		for m in $dmodes; do
			v=${D[$m,$k]}
			row+=" $(short "$(field "$v" 7)") | $(exits "$v") |"
			[ "$m" = bt ] && row+=" $(short "$(field "$v" 14)") |"
			row+=" $(short "$(field "$v" 15)") |"
		done
	fi
	echo "$row"
done
echo
cat <<EOF
CPU time in ms the host gave the emulator over each workload (the scheduler's per-thread count, read from /proc
as the workload's begin and result lines pass by; one boot per workload and mode under vmx, all workloads in one
boot under QEMU), natively the process and its children (getrusage, best of 3 runs); /QEMU and /native: the
mode's over theirs. On a shared host CPU time is the fair measure (the guest clocks of each run are in
$out/times.txt). boot: up to /init's first line, CPU (and host wall on the row above), vmx: the median of
the mode's $(( 2 + $(wc -w <<<"$workloads") )) boots. Crossings of -mode $cmode: one boot per workload less the mean of two
boot-only ones (boot: that mean; ~0: within the two's difference, which for callouts is often 10^5):
mmu.fault.hidden, mmu.fill.calls, mmu.trace.hit, mmu.cr3.switch, signals = vmm.trap.sigsegv + sigalrm +
sigtrap, callouts = every vmm.callout.*. Per direct mode the same way: native runs = vmm.direct.entries;
exits = vmm.direct.exit.* (tmr timer, sys int 0x80, hid hidden fault, pf page fault, np a page's first
fetch, tr to translation); to TC = vmm.adaptive.user_to_tc; grants = mmu.user.exec_grants. bt-all runs
nothing natively.
-m $mem, host load $load0 at the start, $load1 at the end; $retries boots again for the clocksource; $secs s; $when.
EOF

# The issue's goals, by CPU time.
goal() {
	awk -v a="$1" -v b="$2" -v lim="$3" 'BEGIN { if (a == "" || a == "-" || b == "" || b == "-" || b == 0) print "-"
		else printf "%.3f %s\n", a / b, (a / b < lim ? "met" : "not met") }'
}
echo
echo "Goals (issue 7), by CPU time:"
s=""
for m in $modes; do s+="${s:+; }$m $(goal "${T[$m,bootcpu]}" "${Q[bootcpu]}" 0.5)"; done
echo "- boot to /init under half of QEMU's (vmx/QEMU < 0.5): $s"
s=""
for m in $dmodes; do s+="${s:+; }$m $(goal "${T[$m,cpu]}" "${N[cpu]}" 1.05)"; done
echo "- the CPU-bound loop within 5% of native once user code runs directly (vmx/native < 1.05): ${s:-no direct mode run}"
for w in syscall qsort; do
	s=""
	for m in $modes; do s+="${s:+; }$m $(goal "${T[$m,$w]}" "${Q[$w]}" 1)"; done
	echo "- $w faster than QEMU (vmx/QEMU < 1): $s"
done
