#!/usr/bin/env bash
# The Adams & Agesen nanobenchmark table (make bench-nano; a benchmark, not
# a test: it asserts nothing about speed). Runs the bench_nano guest under
# vmx -mode bt, bt-direct, bt-all and te and under QEMU TCG, and the
# native_nano program on the host, and prints one table in ns with the
# paper's figures (ASPLOS 2006, cycles on a 3.8 GHz Pentium 4) beside it,
# then the issue's two goals (met / not met). A mode vmx refuses (status 2)
# or a run that fails gets n/a in its column and a note saying why. With
# DRIVER_LOG (the console of the check-driver host's bench boot, tests/
# driver/init's vmmontest=bench), two more columns: the guest under bt-all
# in the user-level world and in the driver world, inside that one QEMU
# x86-64 host, and their ratio (the figures there are TCG's; the ratio is
# the result).
# Usage: bench-nano.sh VMX BENCH_NANO_ELF NATIVE_NANO [DRIVER_LOG]
set -u
vmx=$1
elf=$2
native=$3
dlog=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=qemu-cpu.sh
. "$here/qemu-cpu.sh"
out=build/bench/nano
mkdir -p "$out"

modes=(bt bt-direct bt-all te)
cols=(bt bt-direct bt-all te qemu native)
declare -A val why

# Guest output lines "nano: OP CYCLES" into val[COL,OP] in ns.
parse() {
	local col=$1 ns_per_cycle=$2 tag op v
	while read -r tag op v _; do
		[ "$tag" = "nano:" ] || continue
		[ "$op" = tsc_khz ] && continue
		if [ "$v" = "n/a" ]; then
			val[$col,$op]="n/a"
		else
			val[$col,$op]=$(awk -v c="$v" -v s="$ns_per_cycle" 'BEGIN { printf "%.4f", c * s }')
		fi
	done
}

counter() { grep "\"$2\"" "$1" 2>/dev/null | grep -o '[0-9]*' | tail -1; }

echo "bench-nano: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')$(grep -qw hypervisor /proc/cpuinfo && echo ', itself virtualized')), load average $(cut -d' ' -f1-3 /proc/loadavg)"

# The host: its TSC rate (for QEMU's guest TSC and the native column) and
# the native figures.
nat=$("$native" 2>"$out/native.err")
khz=$(awk '$1 == "nano:" && $2 == "tsc_khz" { print $3 }' <<<"$nat")
if [ -z "$khz" ]; then
	echo "bench-nano: $native printed no TSC rate" >&2
	cat "$out/native.err" >&2
	exit 1
fi
host_ns=$(awk -v k="$khz" 'BEGIN { printf "%.9f", 1e6 / k }')
parse native "$host_ns" <<<"$nat"

declare -A info
for m in "${modes[@]}"; do
	rm -f "$out/$m.stats.json"
	o=$(timeout 300 "$vmx" -kernel "$elf" -mode "$m" -stats "$out/$m.stats.json" </dev/null 2>"$out/$m.err")
	st=$?
	printf '%s\n' "$o" >"$out/$m.out"
	if [ $st -eq 1 ] && grep -q '^PASS bench_nano' <<<"$o"; then
		parse "$m" 1 <<<"$o"	# the guest's TSC runs at 1 GHz: cycles are ns
		info[$m]=$(awk '$1 == "nano-info:" && $2 == "guest" { print $4 " " $5 }' <<<"$o")
	elif [ $st -eq 2 ]; then
		why[$m]="vmx refused it (status 2): $(head -1 "$out/$m.err")"
	else
		why[$m]="the run failed (vmx status $st): $(grep -m1 -E 'FAIL|vmx:' "$out/$m.out" "$out/$m.err" | cut -d: -f2-)"
	fi
done

o=$("$here/qemu-guest.sh" "$elf" 2>"$out/qemu.err")
st=$?
printf '%s\n' "$o" >"$out/qemu.out"
if [ $st -eq 1 ] && grep -q '^PASS bench_nano' <<<"$o"; then
	parse qemu "$host_ns" <<<"$o"	# TCG's guest TSC is the host's
	info[qemu]=$(awk '$1 == "nano-info:" && $2 == "guest" { print $4 " " $5 }' <<<"$o")
else
	why[qemu]="the run failed (QEMU status $st)"
fi

# The two worlds inside the check-driver host: "bench-nano-driver W: nano: OP CYCLES".
dcols=()
if [ -n "$dlog" ]; then
	for w in user vmmon; do
		if [ -f "$dlog" ] && tr -d '\r' <"$dlog" | grep -q "^bench-nano-driver $w: PASS bench_nano"; then
			parse "q-$w" 1 < <(tr -d '\r' <"$dlog" | sed -n "s/^bench-nano-driver $w: //p")
		else
			why[q-$w]="no PASS line from -world $w in $dlog"
		fi
	done
	dcols=(q-user q-vmmon)
fi

# key|label|paper native|software VMM|VT-x (cycles; - where the paper has none)
rows=(
	"syscall|system call, int \$0x80 (ring 3)|242|2308|246"
	"sysenter|system call, sysenter (ring 3)|-|-|-"
	"in|in \$0x61 (ring 0)|3209|216|15826"
	"out|out \$0x80 (ring 0)|-|-|-"
	"cr3|mov to %cr3, same value (ring 0)|-|-|-"
	"callret0|call/ret (ring 0)|11|51|11"
	"callret3|call/ret (ring 3)|-|-|-"
	"pgfault|page fault, guest maps it (ring 3)|1093|3927|11242"
	"divzero|divide by zero (ring 3)|889|3223|1014"
	"pte_same|PTE write, unchanged|1|391|12733"
	"pte_map|PTE write, not present -> present|-|-|-"
	"pte_unmap|PTE write, present -> not present + invlpg|-|-|-"
	"clisti|cli; sti (ring 0)|-|-|-"
	"pushfpopf|pushf; popf (ring 0)|-|-|-"
	"compute|user compute loop, per iteration|-|-|-"
)
# The native column's figures that are another thing than the guest's.
declare -A mark=([pgfault]="*" [divzero]="*" [sysenter]="+")

fmt() {
	local v=$1
	case "$v" in
	""|n/a) printf 'n/a' ;;
	*) awk -v v="$v" 'BEGIN { if (v < 10) printf "%.2f", v; else if (v < 100) printf "%.1f", v; else printf "%.0f", v }' ;;
	esac
}

echo
echo "Nanobenchmarks, ns per operation (median of 63 batches, timing overhead subtracted)"
dhead=() dsub=()
[ ${#dcols[@]} -gt 0 ] && dhead=("user" "vmmon" "vmmon/") dsub=("in one" "QEMU x86" "user")
printf '%-44s %9s %9s %9s %9s %9s %9s | %7s %7s %7s' "" "bt" "bt-direct" "bt-all" "te" "QEMU TCG" "native" \
	"A&A nat" "A&A BT" "A&A VTx"
[ ${#dcols[@]} -gt 0 ] && printf ' |%8s %9s %7s' "${dhead[@]}"
echo
printf '%-44s %9s %9s %9s %9s %9s %9s | %23s' "" "" "" "" "" "" "" "(cycles, 3.8 GHz P4)"
[ ${#dcols[@]} -gt 0 ] && printf ' |%8s %9s %7s' "${dsub[@]}"
echo
for r in "${rows[@]}"; do
	IFS='|' read -r key label pn ps pv <<<"$r"
	line=$(printf '%-44s' "$label")
	for c in "${cols[@]}"; do
		v=$(fmt "${val[$c,$key]:-}")
		[ "$c" = native ] && [ "$v" != n/a ] && v="$v${mark[$key]:-}"
		line+=$(printf ' %9s' "$v")
	done
	line+=$(printf ' | %7s %7s %7s' "$pn" "$ps" "$pv")
	if [ ${#dcols[@]} -gt 0 ]; then
		u=${val[q-user,$key]:-} k=${val[q-vmmon,$key]:-}
		line+=$(printf ' |%8s %9s' "$(fmt "$u")" "$(fmt "$k")")
		if [ -n "$u" ] && [ -n "$k" ] && [ "$u" != n/a ] && [ "$k" != n/a ]; then
			line+=$(awk -v u="$u" -v k="$k" 'BEGIN { if (u > 0) printf " %7.2f", k / u; else printf " %7s", "-" }')
		else
			line+=$(printf ' %7s' n/a)
		fi
	fi
	echo "$line"
done

echo
# The issue's goals: reported, never failed on.
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }'; }
n=${val[native,compute]:-}
verdict=met
detail=""
for m in bt bt-direct; do
	v=${val[$m,compute]:-}
	if [ -z "$v" ] || [ -z "$n" ]; then
		verdict="not measured"
		detail+=" $m n/a"
		continue
	fi
	detail+=" $m $(fmt "$v") ns ($(pct "$v" "$n"))"
	awk -v v="$v" -v n="$n" 'BEGIN { exit !(v <= n * 1.05) }' || verdict="not met"
done
echo "goal: user compute loop in bt and bt-direct within 5% of native ($(fmt "$n") ns):$detail: $verdict"
for op in syscall sysenter; do
	b=${val[bt,$op]:-}
	q=${val[qemu,$op]:-}
	if [ -z "$b" ] || [ -z "$q" ] || [ "$b" = n/a ] || [ "$q" = n/a ]; then
		verdict="not measured"
	elif awk -v b="$b" -v q="$q" 'BEGIN { exit !(b < q) }'; then
		verdict=met
	else
		verdict="not met"
	fi
	how='int $0x80'
	[ $op = sysenter ] && how=sysenter
	echo "goal: system call round trip ($how) in bt faster than QEMU TCG's: bt $(fmt "$b") ns, QEMU $(fmt "$q") ns: $verdict"
done

echo
echo "notes:"
echo "- vmx's guest TSC runs at 1 GHz (cycles = ns); QEMU TCG's guest TSC is the host's, measured at" \
	"$(awk -v k="$khz" 'BEGIN { printf "%.1f", k / 1000 }') MHz against CLOCK_MONOTONIC, as are the native cycles."
echo "  The guest's own PIT calibration said: $(for c in bt bt-direct bt-all te qemu; do [ -n "${info[$c]:-}" ] && printf '%s %s; ' "$c" "${info[$c]}"; done)"
echo "- Interrupts are on (IF=1) while timing, every PIC line masked. vmx hides host trap time from the"
echo "  guest clock only while the guest's IF=0, so these figures include the host's time; the cli;sti"
echo "  row spends half of its time at IF=0."
echo "- native: * is a host signal whose handler fixes things up (SIGSEGV + mprotect; SIGFPE skipping"
echo "  the divide), returning through rt_sigreturn via the vDSO, not a kernel-serviced fault; the"
echo "  kernel's own demand-zero fault takes $(fmt "${val[native,pgfault_demand]:-}") ns here. + is __kernel_vsyscall (sysenter on Intel)."
echo "  The native int \$0x80 row is getppid; ring-0 operations and PTE writes do not exist natively."
echo "- Paper columns: Adams & Agesen, ASPLOS 2006, cycles on a 3.8 GHz Pentium 4 (divide by 3.8 for ns):"
echo "  native, VMware's software VMM (BT), first-generation VT-x; their call/ret row is kernel mode."
for m in "${modes[@]}" qemu q-user q-vmmon; do
	[ -n "${why[$m]:-}" ] && echo "- $m: n/a: ${why[$m]}"
done
if [ ${#dcols[@]} -gt 0 ]; then
	echo "- user / vmmon: the guest under -mode bt-all in each world, both inside one boot of the check-driver"
	echo "  host (Debian's amd64 kernel in qemu-system-x86_64 -cpu max,la57=off,smap=off: the user-level world"
	echo "  does not run under QEMU's SMAP), so the host is software-emulated and only the ratio means much:"
	echo "  below 1, the driver world is faster (its traps and hidden faults are page-table writes and"
	echo "  world switches, not host signals and mmap). Console: $dlog"
fi
if [ -n "${info[te]:-}" ]; then
	echo "- te runs the ring-0 loops natively, deprivileged: what traps is emulated (vmm.te.trap.*), what does"
	echo "  not trap (pushf, popf) runs at native speed with the host's flags. What vmx said about it:"
	grep 'vmx: te: warning' "$out/te.err" | sed 's/^/    /'
	echo "  vmm.te.trap: $(grep -o '"vmm\.te\.trap\.[a-z_]*": [1-9][0-9]*' "$out/te.stats.json" | sed 's/"vmm\.te\.trap\.//; s/": /=/' | tr '\n' ' ')"
fi
for m in bt bt-direct bt-all te; do
	s=$out/$m.stats.json
	[ -f "$s" ] || continue
	echo "- $m counters: vmm.direct.entries $(counter "$s" vmm.direct.entries)," \
		"vmm.direct.exit.syscall $(counter "$s" vmm.direct.exit.syscall)," \
		"vmm.adaptive.user_to_tc $(counter "$s" vmm.adaptive.user_to_tc)," \
		"vmm.syscall.int80 $(counter "$s" vmm.syscall.int80)," \
		"vmm.syscall.sysenter $(counter "$s" vmm.syscall.sysenter)"
done
echo "- Outputs: $out/ (each run's serial output, stderr and -stats file)."
exit 0
