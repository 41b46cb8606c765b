#!/usr/bin/env bash
# The gdb stub against Debian's gdb in batch mode: breakpoints in
# translated code, source and instruction steps, reading variables and
# registers, write, read and access watchpoints, Ctrl-C into a loop that runs chained in the
# TC, a breakpoint set in code already translated, unmapped memory, the
# target description (target.xml), kill.
# Every run keeps the sandbox on. Usage: gdb-tests.sh VMX GDB_TARGET_ELF
set -u
vmx=$1 elf=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS gdb $1"; }
bad() { fail=$((fail + 1)); echo "FAIL gdb $1: $2"; }
if ! command -v gdb >/dev/null; then echo "FAIL gdb: gdb is not installed (apt-get install gdb)"; exit 1; fi

port() { echo $((20000 + (RANDOM % 20000))); }

# run_case NAME VMX_ARGS -- GDB_EX_COMMANDS...: vmx in the background, gdb
# against it; leaves $tmp/NAME.{gdb,out,err,st}.
run_case() {
	local name=$1; shift
	local va=()
	while [ "$1" != "--" ]; do va+=("$1"); shift; done
	shift
	local p; p=$(port)
	timeout 30 "$vmx" -kernel "$elf" -gdb tcp::$p "${va[@]}" </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err" &
	local vpid=$!
	local ex=(-ex "set pagination off" -ex "set remotetimeout 30" -ex "symbol-file $elf")
	# Until vmx listens (a probe connection would be taken for gdb's).
	local hexport; hexport=$(printf '%04X' "$p")
	for _ in $(seq 100); do
		grep -q "^ *[0-9]*: 0100007F:$hexport 00000000:0000 0A" /proc/net/tcp && break
		sleep 0.1
	done
	ex+=(-ex "target remote 127.0.0.1:$p")
	for c in "$@"; do ex+=(-ex "$c"); done
	# --foreground: the SIGINT below reaches gdb once (timeout would also
	# send it to its whole process group, and a second SIGINT while the
	# first is pending makes gdb give up on the target).
	timeout --foreground 25 gdb -batch -nx "${ex[@]}" >"$tmp/$name.gdb" 2>&1 &
	GDB_PID=$!
	if [ -n "${INTERRUPT_AFTER:-}" ]; then
		# Counted from gdb's connection (state 01, established), not its
		# start: on a busy host gdb may take seconds to get there.
		for _ in $(seq 200); do
			grep -q "^ *[0-9]*: 0100007F:$hexport 0100007F:[0-9A-F]* 01" /proc/net/tcp && break
			sleep 0.1
		done
		sleep "$INTERRUPT_AFTER"
		kill -INT $GDB_PID
	fi
	wait $GDB_PID
	wait $vpid
	echo $? >"$tmp/$name.st"
}

has() { grep -q -- "$2" "$tmp/$1.gdb"; }
expect() {   # expect CASE WHAT PATTERN
	if has "$1" "$3"; then ok "$1-$2"; else bad "$1-$2" "gdb output lacks '$3': $(tail -5 "$tmp/$1.gdb" | tr '\n' '|')"; fi
}
status() {   # status CASE WANT
	local st; st=$(cat "$tmp/$1.st")
	if [ "$st" = "$2" ]; then ok "$1-status"; else bad "$1-status" "vmx status $st, want $2: $(head -c 300 "$tmp/$1.err")"; fi
}

# 1. -S: stopped at the entry; break on a function, step by lines and
# instructions, read variables and registers, run to the end.
run_case break -S -- "info registers eip" "break add_up" "continue" "next" "next" "print n" "print sum" \
	"finish" "stepi" "info registers eip" "x/x 0xfffff000" "continue"
expect break entry 'eip .*0x10000c'
expect break hit 'Breakpoint 1, add_up (n=n@entry=10)'
expect break next '^20.*sum += i'
expect break print-arg '^\$1 = 10'
expect break print-local '^\$2 = 0'
expect break finish 'Value returned is \$3 = 55'
expect break unmapped 'Cannot access memory at address 0xfffff000'
expect break exited 'exited with code 01'
status break 1
grep -q '^PASS gdb_target' "$tmp/break.out" && ok break-guest-passed || bad break-guest-passed "$(tail -2 "$tmp/break.out")"

# 2. A write watchpoint stops after each write, with old and new values.
run_case watch -S -- "watch watched" "continue" "continue" "delete" "continue"
expect watch first 'New value = 7'
expect watch second 'Old value = 7'
expect watch second-new 'New value = 8'
expect watch exited 'exited with code 01'
status watch 1

# 2b. Read and access watchpoints stop after the accessing instruction, as
# x86 debug registers do (SDM vol. 3, 18.2.5: data breakpoints are traps),
# with EIP at the next instruction: the label after each read in
# gdb_target.c. A move, lodsl, a push of memory and an imul (which the
# monitor does not emulate: stepped natively) read vars.rwatched; a read of
# vars.neighbour on the same page comes first and must not stop. The same
# stops under qemu-system-i386 -s -S with these commands.
sym() { nm "$elf" | awk -v s="$1" '$3 == s { sub(/^0*/, "", $1); print $1 }'; }
pcs() { grep -o '^pc=[0-9a-f]*' "$tmp/$1.gdb" | tr '\n' ' '; }
expect_pcs() {   # expect_pcs CASE LABEL...
	local c=$1 want="" got; shift
	for l in "$@"; do want+="pc=$(sym "$l") "; done
	got=$(pcs "$c")
	if [ "$got" = "$want" ]; then ok "$c-stop-eips"; else bad "$c-stop-eips" "stops at '$got', want '$want'"; fi
}
showpc='printf "pc=%x\n", $pc'
run_case rwatch -S -stats "$tmp/rwatch.stats" -- "rwatch vars.rwatched" \
	"continue" "$showpc" "continue" "$showpc" "continue" "$showpc" "continue" "$showpc" "continue"
expect rwatch stop 'Hardware read watchpoint 1: vars.rwatched'
expect rwatch value '^Value = 22'
expect_pcs rwatch after_move after_lods after_push after_imul
expect rwatch exited 'exited with code 01'
status rwatch 1
grep -q '^gdb_target: read 99 copied 44$' "$tmp/rwatch.out" && grep -q '^PASS gdb_target' "$tmp/rwatch.out" &&
	ok rwatch-guest-output || bad rwatch-guest-output "$(tail -3 "$tmp/rwatch.out" | tr '\n' '|')"
counter() { sed -n "s/^ *\"$2\": \([0-9]*\).*/\1/p" "$tmp/$1.stats"; }
[ "$(counter rwatch vmm.debug.watch.read_hits)" = 4 ] && ok rwatch-hits ||
	bad rwatch-hits "vmm.debug.watch.read_hits $(counter rwatch vmm.debug.watch.read_hits), want 4"
[ "$(counter rwatch vmm.debug.watch.same_page)" -gt 0 ] && ok rwatch-same-page-silent ||
	bad rwatch-same-page-silent "vmm.debug.watch.same_page is $(counter rwatch vmm.debug.watch.same_page)"
[ "$(counter rwatch mmu.trace.read_stepped)" -gt 0 ] && ok rwatch-stepped ||
	bad rwatch-stepped "mmu.trace.read_stepped is $(counter rwatch mmu.trace.read_stepped) (the imul)"

# 2c. With paging on, -mode bt-all: a read and an access watchpoint; the
# access one stops after a write (old and new values) and after a read.
run_case awatch -S -append paging -mode bt-all -- "rwatch vars.rwatched" "awatch vars.awatched" \
	"continue" "$showpc" "continue" "$showpc" "continue" "$showpc" "continue" "$showpc" \
	"continue" "$showpc" "continue" "$showpc" "delete" "continue"
expect awatch stop 'Hardware access (read/write) watchpoint 2: vars.awatched'
expect awatch write-old 'Old value = 33'
expect awatch write-new 'New value = 44'
expect awatch read '^Value = 44'
expect_pcs awatch after_move after_lods after_push after_imul after_awrite after_aread
expect awatch exited 'exited with code 01'
status awatch 1

# 2d. A watchpoint the monitor cannot place (across a page boundary) is
# refused (E22), never set silently wrong.
run_case watchlen -S -- "rwatch *(int *)(((unsigned)&vars | 0xfff) - 1)" "continue" "kill"
expect watchlen refused 'Could not insert hardware watchpoint 1'

# 3. gdb connects to a running guest spinning in translated, chained code;
# Ctrl-C stops it; a breakpoint on the loop's own PC must hit (its
# fragments are retranslated); setting a variable ends the loop.
INTERRUPT_AFTER=4 run_case interrupt -append spin -- "continue" "tbreak *\$pc" "continue" \
	"print spin_done" "set var spin_done = 1" "continue"
expect interrupt sigint 'Program received signal SIGINT'
expect interrupt break-in-tc 'Temporary breakpoint 1, '
expect interrupt print '^\$1 = 0'
expect interrupt exited 'exited with code 01'
status interrupt 1

# 3b. gdb reads the target description (qXfer:features:read:target.xml):
# the i386 core feature, the registers by name, the x87 ones absent.
run_case tdesc -S -- "maint print c-tdesc" "info registers eflags" "info registers gs" "print \$st0" "kill"
expect tdesc core-feature 'tdesc_create_feature (result[^,]*, "org.gnu.gdb.i386.core"'
expect tdesc arch 'bfd_scan_arch ("i386")'
expect tdesc eflags-reg 'tdesc_create_reg (feature, "eflags", 9, 1, NULL, 32, "i386_eflags")'
expect tdesc eflags '^eflags  *0x[0-9a-f]*  *\['
expect tdesc gs '^gs  *0x'
status tdesc 0

# 4. kill ends vmx with status 0.
run_case kill -S -- "kill"
status kill 0

# ---- the live monitor ----
hello=$(dirname "$elf")/hello.elf
mexpect() {   # mexpect CASE WHAT PATTERN (in $tmp/CASE.mon)
	if grep -q -- "$3" "$tmp/$1.mon"; then ok "monitor-$1-$2"; else bad "monitor-$1-$2" "lacks '$3': $(head -c 300 "$tmp/$1.mon" | tr '\n' '|')"; fi
}
mstatus() {
	if [ "$2" = "$3" ]; then ok "monitor-$1-status"; else bad "monitor-$1-status" "vmx status $2, want $3"; fi
}
# 5. unix:PATH, the guest spinning: every command, a bad one, tc flush, quit.
sock=$tmp/mon.sock
timeout 20 "$vmx" -kernel "$elf" -append spin -monitor unix:$sock,server,nowait </dev/null >"$tmp/unix.out" 2>&1 &
vpid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
printf 'info registers\ninfo tc\ninfo fragments 3\nbogus cmd\ninfo mmu\ninfo counters vmm.debug\nstop\ninfo fragment %s\ntc flush\ninfo tc\nhelp\nquit\n' \
	"$(nm "$elf" | awk '$3 == "guest_main" { sub(/^0*/, "", $1); print $1 }')" |
	timeout 10 socat -t 5 - UNIX-CONNECT:"$sock" >"$tmp/unix.mon" 2>&1
wait $vpid; st=$?
mexpect unix banner "^vmx monitor - type 'help'"
mexpect unix registers 'EIP=0010[0-9a-f]* EFL='
mexpect unix tc 'tc: [0-9]* of [0-9]* bytes used'
mexpect unix fragments 'newest 3 live fragments'
mexpect unix bad-command "unknown command: 'bogus cmd' (try help)"
mexpect unix mmu 'paging off'
mexpect unix counters 'vmm.debug.stops'
mexpect unix stop '^(vmx) stopped'
mexpect unix fragment-side-by-side '^  ident .* | ffc'
mexpect unix flush 'tc flushed'
mexpect unix flushed-empty '0 fragments since the last flush, 0 live'
mexpect unix help 'info fragment PC'
mstatus unix "$st" 0
[ -e "$sock" ] && bad monitor-unix-socket-removed "$sock is left" || ok monitor-unix-socket-removed

# 6. -S holds the guest for the monitor's cont; it then runs to its end.
sock=$tmp/mon2.sock
timeout 20 "$vmx" -kernel "$hello" -S -monitor unix:$sock </dev/null >"$tmp/hold.out" 2>&1 &
vpid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
printf 'info registers\ncont\n' | timeout 10 socat -t 3 - UNIX-CONNECT:"$sock" >"$tmp/hold.mon" 2>&1
wait $vpid; st=$?
mexpect hold at-entry 'EIP=0010000c'
mstatus hold "$st" 1
grep -q '^PASS hello' "$tmp/hold.out" && ok monitor-hold-guest-passed || bad monitor-hold-guest-passed "$(tail -2 "$tmp/hold.out")"

# 7. stdio: Ctrl-A c switches the console's input to the monitor.
printf '\001cinfo tc\nquit\n' | timeout 20 "$vmx" -kernel "$elf" -append spin -monitor stdio >"$tmp/stdio.mon" 2>&1
st=$?
mexpect stdio banner "^vmx monitor"
mexpect stdio tc 'tc: [0-9]* of'
mstatus stdio "$st" 0

echo "gdb: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
