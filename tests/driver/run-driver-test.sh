#!/usr/bin/env bash
# Boots the check-driver host (Debian's amd64 kernel, software-emulated
# qemu-system-x86_64, two CPUs) once per host configuration, with the initramfs that
# holds vmmon.ko and the /dev/vmmon tests, and judges each boot from its
# serial console: the init's result line, the paging mode and PTI it asked
# for, and no Oops, BUG:, WARNING: or general protection fault.
# Usage: run-driver-test.sh VMLINUZ INITRD OUTDIR CONFIG... where CONFIG is
#   base[:SET]  -cpu max,la57=off        4-level paging
#   pti[:SET]   the same with pti=on     page-table isolation on
#   la57[:SET]  -cpu max                 5-level paging
#   bench:bench -cpu max,la57=off,smap=off  the nanobenchmark in both worlds
#   side:side   the same host: every guest in both worlds, side by side
# and SET is the test set of tests/driver/init (quick, full, one).
set -u
kernel=$1 initrd=$2 out=$3
shift 3
mkdir -p "$out"
status=0
for cfg in "$@"; do
	name=${cfg%%:*} set=${cfg#*:}
	[ "$set" = "$cfg" ] && set=quick
	case $name in
	base) cpu=max,la57=off extra= want="4-level paging, pti off" ;;
	pti)  cpu=max,la57=off extra=pti=on want="pti on" ;;
	la57) cpu=max extra= want="5-level paging" ;;
	# (the user-level world's far call to its 64-bit gate faults under
	# QEMU's emulation of SMAP: off, to run both worlds in one host)
	bench) cpu=max,la57=off,smap=off extra= want="4-level paging" ;;
	side)  cpu=max,la57=off,smap=off extra= want="4-level paging" ;;
	*) echo "run-driver-test: unknown configuration $name" >&2; exit 64 ;;
	esac
	log=$out/$name.log
	start=$(date +%s)
	# (the full set: 10 000 cycles and 400 000 ioctls take some 20 minutes
	# under software emulation)
	limit=900; [ "$set" = full ] && limit=2700
	timeout $limit qemu-system-x86_64 -cpu "$cpu" -smp 2 -m 512 -nographic -no-reboot -monitor none \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 loglevel=4 vmmontest=$set $extra" </dev/null >"$log" 2>&1
	qst=$?
	secs=$(( $(date +%s) - start ))
	tr -d '\r' <"$log" >"$log.txt" && mv "$log.txt" "$log"
	why=
	grep -q '^check-driver: RESULT pass' "$log" || why="no pass line"
	grep -q "^check-driver: host .*$want" "$log" || why="$why; not $want"
	if grep -qE 'Oops|BUG:|WARNING:|general protection' "$log"; then why="$why; kernel errors on the console"; fi
	[ $qst -eq 0 ] || why="$why; qemu status $qst"
	grep -E '^(check-driver|vmmon_[a-z]*):' "$log" | sed "s/^/  $name: /"
	grep -A6 -E '^--- .*last lines' "$log" | sed "s/^/  $name: /"
	if [ -z "$why" ]; then
		echo "check-driver $name ($set): pass, ${secs} s"
	else
		echo "check-driver $name ($set): FAIL (${why#; }), ${secs} s; log: $log"
		grep -E -B2 -A20 'Oops|BUG:|WARNING:|general protection|check failed|expected errno|FAIL' "$log" | head -60
		status=1
	fi
done
exit $status
