#!/usr/bin/env bash
# make soak: the soak guest (tests/guests/soak.c) under vmx with a 64 KiB
# translation cache for MINUTES minutes, sampling vmx's RSS, open file
# descriptors and host mappings and the guest's progress (lines printed)
# every 10 s (every minute past 10 minutes). Fails if RSS, descriptors or
# mappings grow between the second sample and the last beyond a small
# tolerance, if progress stalls between two samples, or if the guest or vmx
# stop by themselves. Ends the run with Ctrl-A x, so the counters are
# written and show that the soak did what it claims (TC flushes, SMC
# invalidations, CR3 switches, timer interrupts).
# Usage: soak.sh VMX SOAK_ELF MINUTES
set -u
vmx=$1 elf=$2 minutes=${3:-2}
out=build/soak
mkdir -p "$out"
case "$minutes" in ''|*[!0-9]*|0) echo "soak: MINUTES must be a positive whole number" >&2; exit 2 ;; esac
interval=10
[ "$minutes" -gt 10 ] && interval=60
total=$((minutes * 60))
# Tolerances, second sample to last: the shadow MMU's mappings and the
# touched pages of guest RAM and TC metadata move a little with where in a
# round a sample falls; descriptors never should.
RSS_TOL_KB=2048 RSS_TOL_PCT=5 MAPS_TOL=32 FDS_TOL=0

# Console input is a FIFO this script holds open: never an end of file, and
# the way to send Ctrl-A x at the end.
fifo=$(mktemp -u)
mkfifo "$fifo"
exec 3<>"$fifo"
rm -f "$fifo" "$out/soak.stats.json"
"$vmx" -kernel "$elf" -tc-size 64 -console-eof off -stats "$out/soak.stats.json" \
	<&3 >"$out/soak.out" 2>"$out/soak.err" &
pid=$!
trap 'kill "$pid" 2>/dev/null' EXIT

rows=() fail=0
t0=$(date +%s)
for ((t = interval; t <= total; t += interval)); do
	d=$((t0 + t - $(date +%s)))
	[ $d -gt 0 ] && sleep $d
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "FAIL soak: vmx ended by itself after about $t s"; fail=1; break
	fi
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
	fds=$(ls "/proc/$pid/fd" | wc -l)
	maps=$(wc -l <"/proc/$pid/maps")
	lines=$(wc -l <"$out/soak.out")
	rows+=("$t $rss $fds $maps $lines")
done

printf '\001x' >&3
wait "$pid"
st=$?
trap - EXIT
exec 3>&-

echo "soak: $minutes min, -tc-size 64, one sample every $interval s"
printf '| %6s | %9s | %4s | %8s | %12s |\n' "time s" "VmRSS kB" "fds" "mappings" "guest lines"
printf '|%s|%s|%s|%s|%s|\n' "--------:" "----------:" "-----:" "---------:" "-------------:"
for r in "${rows[@]}"; do
	# shellcheck disable=SC2086
	printf '| %6s | %9s | %4s | %8s | %12s |\n' $r
done

if [ ${#rows[@]} -ge 3 ]; then
	read -r _ rss2 fds2 maps2 _ <<<"${rows[1]}"
	read -r _ rssN fdsN mapsN _ <<<"${rows[${#rows[@]} - 1]}"
	rss_tol=$((rss2 * RSS_TOL_PCT / 100)); [ $rss_tol -lt $RSS_TOL_KB ] && rss_tol=$RSS_TOL_KB
	[ $((rssN - rss2)) -gt $rss_tol ] && { echo "FAIL soak: RSS grew from $rss2 kB to $rssN kB (tolerance $rss_tol kB)"; fail=1; }
	[ $((fdsN - fds2)) -gt $FDS_TOL ] && { echo "FAIL soak: open descriptors grew from $fds2 to $fdsN"; fail=1; }
	[ $((mapsN - maps2)) -gt $MAPS_TOL ] && { echo "FAIL soak: mappings grew from $maps2 to $mapsN (tolerance $MAPS_TOL)"; fail=1; }
	prev=0
	for r in "${rows[@]}"; do
		read -r t _ _ _ lines <<<"$r"
		[ "$lines" -le "$prev" ] && { echo "FAIL soak: no guest progress in the $interval s before $t s ($lines lines)"; fail=1; }
		prev=$lines
	done
elif [ $fail -eq 0 ]; then
	echo "FAIL soak: fewer than 3 samples"; fail=1
fi
grep -q FAIL "$out/soak.out" && { echo "FAIL soak: the guest failed: $(grep -m1 FAIL "$out/soak.out")"; fail=1; }
[ "$st" -eq 0 ] || { echo "FAIL soak: vmx exit status $st after Ctrl-A x (want 0): $(tail -1 "$out/soak.err")"; fail=1; }
counter() { sed -n "s/^ *\"$1\": \([0-9]*\).*/\1/p" "$out/soak.stats.json" 2>/dev/null; }
summary=""
for c in bt.tc.flushes bt.invalidate.smc mmu.cr3.switch vmm.irq.delivered bt.tu.translated; do
	v=$(counter $c)
	summary="$summary $c=${v:-missing}"
	[ "${v:-0}" -gt 0 ] || { echo "FAIL soak: counter $c is ${v:-missing}"; fail=1; }
done
echo "soak: counters:$summary"
echo "soak: $(tail -1 "$out/soak.out" | tr -d '\r')"
if [ $fail -eq 0 ]; then echo "PASS soak: RSS, descriptors and mappings flat, the guest kept going"; fi
exit $fail
