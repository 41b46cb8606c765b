#!/usr/bin/env bash
# Boots Debian's memtest86+ (its 32-bit image, a Linux boot-protocol
# bzImage) under vmx and under qemu-system-i386 with 8 MB of RAM and the
# serial console, and watches the screen it draws there. Each must reach
# the bit-fade test (every test before it done) with "Errors: 0" on every
# status line, within the time limit; the screen's header (CPU, caches,
# memory) must be the same under both but for the clock (vmx's TSC runs
# at 1 GHz, QEMU's at the host's). With --pass, vmx alone runs the whole
# first pass, bit fade included (2:42 of guest time), until "Pass: 1".
# Usage: run-memtest-test.sh [--pass] VMX IMAGE
set -u
full=0
[ "${1:-}" = --pass ] && { full=1; shift; }
vmx=$1 img=$2
out=build/memtest-results
mkdir -p "$out"
append="console=ttyS0 nosmp nopause nobench nosm"
limit=$([ $full = 1 ] && echo 900 || echo 90)
if [ $full = 1 ]; then want='Pass: *1 '; else want='#10 *\[Bit fade test'; fi
fail=0

# run NAME CMD...: starts the emulator with standard input from a FIFO and
# its serial output in $out/NAME.out, waits until the screen shows $want
# (or an error count, or the time limit), then ends it: vmx by Ctrl-A x,
# which writes its -stats, QEMU by SIGTERM to its pid. Sets `secs` and
# `reached`.
run() {
	local name=$1; shift
	local fifo=$out/$name.in
	rm -f "$fifo" "$out/$name.out"
	mkfifo "$fifo"
	"$@" <"$fifo" >"$out/$name.out" 2>"$out/$name.err" &
	local pid=$!
	exec 3>"$fifo"
	local start=$SECONDS
	reached=0
	while kill -0 $pid 2>/dev/null && [ $((SECONDS - start)) -lt $limit ]; do
		if grep -aq "$want" "$out/$name.out"; then reached=1; break; fi
		grep -aqE 'Errors: *[1-9]' "$out/$name.out" && break
		sleep 0.5
	done
	secs=$((SECONDS - start))
	if [ "$name" = vmx ]; then printf '\001x' >&3; else kill $pid 2>/dev/null; fi
	exec 3>&-
	local n=0
	while kill -0 $pid 2>/dev/null && [ $n -lt 20 ]; do sleep 0.5; n=$((n + 1)); done
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	rm -f "$fifo"
}

# The screen's header: the lines from the title to the memory size, the
# escape sequences taken out, the clock line left out.
header() {
	head -c 4000 "$1" | sed 's/\x1b\[[0-9;?]*[A-Za-z]/\n/g' | tr -d '\r' |
		sed -n '/Memtest86+ v/,/^Memory/p' | grep -v '^CLK/Temp' | sed 's/ *$//'
}

check() {
	local name=$1 f=$out/$1.out
	local why=""
	[ $reached = 1 ] || why="did not reach '$want' in ${secs}s"
	grep -aqE 'Errors: *[1-9]' "$f" && why="memtest86+ found errors: $(grep -aoE 'Errors: *[0-9]+' "$f" | sort -u | tr '\n' ' ')"
	grep -aqE 'Errors: *0' "$f" || [ -n "$why" ] || why="no status line"
	if [ -n "$why" ]; then
		echo "FAIL memtest $name: $why"
		sed 's/\x1b\[[0-9;?]*[A-Za-z]/\n/g' "$f" | grep -a '\S' | tail -12
		tail -5 "$out/$name.err"
		fail=1
	else
		echo "PASS memtest $name: reached '$want' in ${secs}s, Errors: 0"
	fi
}

run vmx "$vmx" -kernel "$img" -m 8 -append "$append" -console-eof off -stats "$out/vmx.stats.json"
check vmx
if [ $full = 0 ]; then
	. "$(dirname "$0")/../scripts/qemu-cpu.sh"
	run qemu "${QEMU:-qemu-system-i386}" -nodefaults -display none -no-reboot -m 8 -cpu "$QEMU_CPU" \
		-serial stdio -monitor none -kernel "$img" -append "$append"
	check qemu
	header "$out/vmx.out" >"$out/vmx.header"
	header "$out/qemu.out" >"$out/qemu.header"
	if [ -s "$out/vmx.header" ] && cmp -s "$out/vmx.header" "$out/qemu.header"; then
		echo "PASS memtest header: the same as QEMU's ($(grep -c . "$out/vmx.header") lines)"
	else
		echo "FAIL memtest header differs from QEMU's"
		diff "$out/qemu.header" "$out/vmx.header" | head -10
		fail=1
	fi
fi
[ $fail = 0 ]
