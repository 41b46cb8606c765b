#!/usr/bin/env bash
# Shadow MMU benchmark (not a test): per-operation cost of a hidden fault,
# a guest page fault round trip (the fault storm), a CR3 switch with a
# 200-page working set, and a page-table entry write, under vmx and under
# QEMU TCG in the same run (best of 3, start-up subtracted), with vmx's
# exact counters for the long run.
# Usage: bench-mmu.sh VMX
set -u
vmx=$1
here=$(cd "$(dirname "$0")" && pwd)
elf=build/guests/bench_mmu.elf
mkdir -p build/bench

# shellcheck source=bench-lib.sh
. "$here/bench-lib.sh"
run_vmx() { "$vmx" -kernel "$elf" -append "op=$1 iters=$2"; }
run_qemu() { "$here/qemu-guest.sh" "$elf" -append "op=$1 iters=$2"; }

printf "bench-mmu: %-8s %8s %12s %12s %9s\n" op iters "vmx ns/op" "qemu ns/op" "qemu/vmx"
for spec in hidden:20000 true:50000 cr3:500 pte:200000; do
	op=${spec%%:*} n=${spec##*:}
	v0=$(best_ns run_vmx "$op" 0); v1=$(best_ns run_vmx "$op" "$n")
	q0=$(best_ns run_qemu "$op" 0); q1=$(best_ns run_qemu "$op" "$n")
	awk -v op="$op" -v n="$n" -v v0="$v0" -v v1="$v1" -v q0="$q0" -v q1="$q1" 'BEGIN {
		v = (v1 - v0) / n; q = (q1 - q0) / n
		printf "bench-mmu: %-8s %8d %12.0f %12.0f %9.2f\n", op, n, v, q, (v > 0 ? q / v : 0) }'
	"$vmx" -kernel "$elf" -append "op=$op iters=$n" -stats "build/bench/mmu-$op.json" </dev/null >/dev/null 2>&1
	printf "           counters:"
	for k in mmu.fault.hidden mmu.fault.true mmu.fill.calls mmu.fill.pages mmu.cr3.switch mmu.cr3.cached_hit \
		 mmu.trace.hit.pagetable bt.adaptive.retranslated vmm.callout.emulate vmm.exception.delivered; do
		printf " %s=%s" "${k#mmu.}" "$(grep "\"$k\"" "build/bench/mmu-$op.json" | grep -o '[0-9]*' | tail -1)"
	done
	echo
done
echo "bench-mmu: a cr3 op switches address space and touches its 200-page working set (vmx maps cached shadows back, see mmu.cr3.cached_hit)"
