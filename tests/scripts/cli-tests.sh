#!/usr/bin/env bash
# Behaviour of the vmx command itself: one-line errors and exit status 2 on
# bad input, Ctrl-A x, the -stats outputs, and translator counters that add
# up. Usage: cli-tests.sh VMX GUEST_DIR
set -u
vmx=$1 g=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS cli $1"; }
bad() { fail=$((fail + 1)); echo "FAIL cli $1: $2"; }

# expect_error NAME STATUS MESSAGE-SUBSTRING ARGS...
expect_error() {
	local name=$1 want=$2 msg=$3; shift 3
	"$vmx" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	local st=$?
	if [ "$st" -ne "$want" ]; then bad "$name" "exit status $st, want $want"; return; fi
	if ! grep -q -- "$msg" "$tmp/err"; then bad "$name" "stderr lacks '$msg': $(head -c 200 "$tmp/err")"; return; fi
	if [ "$(wc -l <"$tmp/err")" -ne 1 ]; then bad "$name" "error is not one line"; return; fi
	ok "$name"
}

head -c 64 /dev/urandom >"$tmp/junk"
printf '\177ELF\002\001\001' >"$tmp/elf64"; head -c 100 /dev/zero >>"$tmp/elf64"
expect_error missing-file 2 "No such file" -kernel "$tmp/nope.elf"
expect_error not-elf 2 "not an ELF" -kernel "$tmp/junk"
expect_error elf64 2 "64-bit" -kernel /bin/true
expect_error no-kernel 2 "no kernel" -m 64
# An ELF32 executable without a multiboot header, built here.
printf '.globl _start\n_start: hlt\n' >"$tmp/nomb.s"
if gcc -m32 -c "$tmp/nomb.s" -o "$tmp/nomb.o" 2>/dev/null &&
   ld -m elf_i386 -Ttext=0x100000 -e _start -o "$tmp/nomb.elf" "$tmp/nomb.o" 2>/dev/null; then
	expect_error not-multiboot 2 "multiboot" -kernel "$tmp/nomb.elf"
else
	bad not-multiboot "could not build the test kernel"
fi
expect_error segment-outside-ram 2 "outside guest RAM" -kernel "$g/bench_mmu.elf" -m 2
expect_error mem-too-large 2 "maximum" -kernel "$g/hello.elf" -m 4096
expect_error mem-too-small 2 "minimum" -kernel "$g/hello.elf" -m 1
expect_error mem-not-number 2 "not a number" -kernel "$g/hello.elf" -m 12x
expect_error bad-option 2 "unknown option" -kernel "$g/hello.elf" -frobnicate
expect_error bad-mode 2 "bt" -kernel "$g/hello.elf" -mode te
expect_error bad-trace 2 "trace" -kernel "$g/hello.elf" -trace nonsense

# -help tells the truth about the options it lists.
"$vmx" -help >"$tmp/help" 2>&1
st=$?
if [ $st -eq 0 ] && grep -q -- "-kernel" "$tmp/help" && grep -q -- "-stats" "$tmp/help" && grep -q "Ctrl-A x" "$tmp/help"; then
	ok help
else
	bad help "status $st or missing options in the help text"
fi

# Ctrl-A x ends a guest that would otherwise run for minutes: status 0.
(printf '\001x'; sleep 5) | timeout 30 "$vmx" -kernel "$g/bench_loop.elf" -append iters=4000000000 >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st -eq 0 ] && ok ctrl-a-x || bad ctrl-a-x "exit status $st"

# Console input: bytes on stdin reach the guest's UART, as under QEMU.
here=$(cd "$(dirname "$0")" && pwd)
printf 'hello vmx\n' | timeout 30 "$vmx" -kernel "$g/echo.elf" >"$tmp/echo.vmx" 2>"$tmp/err"
st=$?
printf 'hello vmx\n' | timeout 60 "${QEMU:-qemu-system-i386}" -nodefaults -display none -no-reboot -m 128 \
	-serial stdio -monitor none -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$g/echo.elf" >"$tmp/echo.qemu" 2>/dev/null
qs=$?
if [ $st -eq 1 ] && grep -q "^got: hello vmx" "$tmp/echo.vmx" && [ $qs -eq $st ] && cmp -s "$tmp/echo.vmx" "$tmp/echo.qemu"; then
	ok console-input
else
	bad console-input "status $st (qemu $qs): $(tr '\n' '|' <"$tmp/echo.vmx") vs $(tr '\n' '|' <"$tmp/echo.qemu")"
fi

# Reset and power-off requests end the run as QEMU's do with -no-reboot.
for how in acpi bochs kbd cf9; do
	timeout 30 "$vmx" -kernel "$g/poweroff.elf" -append "$how" </dev/null >"$tmp/po.vmx" 2>/dev/null
	vs=$?
	"$here/qemu-guest.sh" "$g/poweroff.elf" -append "$how" >"$tmp/po.qemu" 2>/dev/null
	qs=$?
	if [ $vs -eq $qs ] && cmp -s "$tmp/po.vmx" "$tmp/po.qemu"; then ok "poweroff-$how"; else bad "poweroff-$how" "vmx $vs, qemu $qs"; fi
done

# A triple fault stops the VM: status 3, a one-line reason and a register dump.
"$vmx" -kernel "$g/triple_fault.elf" </dev/null >"$tmp/out" 2>"$tmp/err"
st=$?
if [ $st -eq 3 ] && grep -q "triple fault" "$tmp/err" && grep -q "eip 0x" "$tmp/err" && grep -q "idt limit" "$tmp/err"; then
	ok triple-fault
else
	bad triple-fault "status $st: $(head -2 "$tmp/err")"
fi

# -stats FILE.json: one flat object of integers whose translator counters add up.
"$vmx" -kernel "$g/jcc.elf" -stats "$tmp/s.json" </dev/null >/dev/null 2>&1
get() { grep "\"$1\"" "$tmp/s.json" | grep -o '[0-9]*' | tail -1; }
t=$(get bt.insn.translated); i=$(get bt.insn.ident); n=$(get bt.insn.inline); c=$(get bt.insn.callout)
if [ -n "$t" ] && [ "$t" -gt 0 ] && [ "$t" -eq $((i + n + c)) ]; then
	ok stats-add-up
else
	bad stats-add-up "translated=$t ident=$i inline=$n callout=$c"
fi
if head -1 "$tmp/s.json" | grep -q '^{' && tail -1 "$tmp/s.json" | grep -q '^}' &&
   ! grep -vE '^[{}]$|^  "[a-z0-9_.]+": [0-9]+,?$' "$tmp/s.json" | grep -q .; then
	ok stats-json-shape
else
	bad stats-json-shape "$(head -3 "$tmp/s.json")"
fi
for k in bt.tu.translated bt.chain.patched bt.lookup.miss bt.invalidate.smc bt.tc.flushes bt.tc.bytes \
	 vmm.callout.out vmm.trap.sigsegv dev.uart.io; do
	grep -q "\"$k\"" "$tmp/s.json" || { bad stats-names "missing $k"; k=; break; }
done
[ -n "$k" ] && ok stats-names
# A page-table entry written present (accessed and dirty) is mapped at once:
# the paging guest's access to it takes no hidden fault.
"$vmx" -kernel "$g/paging.elf" -stats "$tmp/p.json" </dev/null >/dev/null 2>&1
pf=$(grep '"mmu.fill.on_pte_write"' "$tmp/p.json" | grep -o '[0-9]*' | tail -1)
if [ -n "$pf" ] && [ "$pf" -ge 1 ]; then ok pte-write-prefill; else bad pte-write-prefill "mmu.fill.on_pte_write=$pf"; fi

# A fast guest timer (pit_fast: divisors 1..64) costs a bounded host timer
# rate: signals per second of run time stay below 1.5 / the minimum timer
# period whatever the guest programs, and the periods in between coalesce.
minp=$(sed -n 's/^#define TUNE_TIMER_MIN_PERIOD_NS *\([0-9]*\).*/\1/p' include/tunables.h)
s=$(date +%s%N)
timeout 30 "$vmx" -kernel "$g/pit_fast.elf" -stats "$tmp/t.json" </dev/null >"$tmp/out" 2>"$tmp/err"
st=$?
ns=$(($(date +%s%N) - s))
get() { grep "\"$1\"" "$tmp/t.json" 2>/dev/null | grep -o '[0-9]*' | tail -1; }
sig=$(get vmm.trap.sigalrm); coal=$(get dev.pit.ticks_coalesced); irqs=$(get vmm.irq.delivered)
if [ $st -eq 1 ] && [ -n "$minp" ] && [ -n "$sig" ] &&
   awk -v s="$sig" -v ns="$ns" -v p="$minp" 'BEGIN { exit !(s / (ns / 1e9) < 1.5 * 1e9 / p) }' &&
   [ "${coal:-0}" -gt 0 ] && [ "${irqs:-0}" -gt 0 ]; then
	ok timer-signals-bounded
else
	bad timer-signals-bounded "status $st, $sig signals in $((ns / 1000000)) ms (min period $minp ns), coalesced $coal, irqs $irqs"
fi

# -stats - prints the table on stderr, guest output stays on stdout.
"$vmx" -kernel "$g/hello.elf" -stats - </dev/null >"$tmp/out" 2>"$tmp/err"
if grep -q "^PASS hello" "$tmp/out" && grep -q "bt.insn.translated" "$tmp/err"; then ok stats-table; else bad stats-table "no table on stderr"; fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
