#!/usr/bin/env bash
# Behaviour of the vmx command itself: one-line errors and exit status 2 on
# bad input, Ctrl-A x, the -stats outputs and what they leave of the path,
# the terminal restored when a signal ends vmx, the sandbox stopping a
# forbidden system call, and translator counters that agree with objdump
# and QEMU (count-check.sh). Usage: cli-tests.sh VMX GUEST_DIR
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
	if ! grep -q '^vmx: ' "$tmp/err"; then bad "$name" "error does not start with 'vmx: '"; return; fi
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
expect_error segment-outside-ram 2 "outside guest RAM.*; try -m 4 or more" -kernel "$g/bench_mmu.elf" -m 2
# A segment no -m can reach (above 3 GiB): no -m is suggested.
printf '.globl _start\n.align 4\n.long 0x1BADB002, 0, -0x1BADB002\n_start: hlt\n' >"$tmp/high.s"
if gcc -m32 -c "$tmp/high.s" -o "$tmp/high.o" 2>/dev/null &&
   ld -m elf_i386 -Ttext=0xD0000000 -e _start -o "$tmp/high.elf" "$tmp/high.o" 2>/dev/null; then
	expect_error segment-above-max-ram 2 "outside guest RAM.*above the most RAM vmx gives a guest (-m 3072" -kernel "$tmp/high.elf"
	grep -q "try" "$tmp/err" && bad segment-above-max-ram-no-suggestion "$(cat "$tmp/err")"
else
	bad segment-above-max-ram "could not build the test kernel"
fi
# A cut-off copy of a good kernel is called truncated, not headerless.
for n in 40 100 4200; do
	head -c $n "$g/hello.elf" >"$tmp/cut.elf"
	expect_error "truncated-kernel-$n" 2 "cut.elf: file is truncated ($n bytes)" -kernel "$tmp/cut.elf"
done
# -tc-size takes K and M suffixes.
expect_error tc-size-bad-suffix 2 "'1G' is not a number of kilobytes" -kernel "$g/hello.elf" -tc-size 1G
for sz in 64K 1M 3m; do
	"$vmx" -kernel "$g/hello.elf" -tc-size $sz </dev/null >"$tmp/out" 2>"$tmp/err"
	st=$?
	if [ $st -eq 1 ] && grep -q "^PASS hello" "$tmp/out"; then ok "tc-size-$sz"; else bad "tc-size-$sz" "status $st: $(head -c 200 "$tmp/err")"; fi
done
expect_error mem-too-large 2 "maximum" -kernel "$g/hello.elf" -m 4096
expect_error mem-too-small 2 "minimum" -kernel "$g/hello.elf" -m 1
expect_error mem-not-number 2 "not a number" -kernel "$g/hello.elf" -m 12x
expect_error bad-option 2 "unknown option" -kernel "$g/hello.elf" -frobnicate
expect_error bad-mode 2 "valid modes: bt, bt-direct, bt-all" -kernel "$g/hello.elf" -mode hw
expect_error bad-trace 2 "trace" -kernel "$g/hello.elf" -trace nonsense
expect_error bad-limits 2 "valid values: auto, soft, cpu" -kernel "$g/hello.elf" -limits hw
# This machine's CPU checks segment limits: -limits auto (the default)
# leaves them to it and says nothing.
"$vmx" -kernel "$g/hello.elf" -machine isapc -stats "$tmp/lim.json" </dev/null >/dev/null 2>"$tmp/lim.err"
if ! grep -q 'segment limits' "$tmp/lim.err" && grep -q '"vmm.soft_limits.traps": 0' "$tmp/lim.json"; then
	ok limits-auto-on-this-cpu
else
	bad limits-auto-on-this-cpu "$(head -2 "$tmp/lim.err")"
fi
"$vmx" -help | grep -q -- "-limits auto|soft|cpu" && ok limits-in-help || bad limits-in-help "-help lacks -limits"

# Linux bzImages, built here: a protocol 2.15 header (4 setup sectors,
# loaded high, relocatable, init_size 3 MiB at 1 MiB) and a 4 KiB kernel.
put() { printf "$3" | dd of="$1" bs=1 seek=$(($2)) conv=notrunc status=none; }
mkbz() {
	head -c $((5 * 512 + 4096)) /dev/zero >"$1"
	put "$1" 0x1f1 '\004'
	put "$1" 0x1f4 '\000\001\000\000'          # syssize: 4096 bytes
	put "$1" 0x1fe '\125\252'                    # boot flag
	put "$1" 0x201 '\146HdrS\017\002'            # header to 0x268, version 2.15
	put "$1" 0x211 '\001'                        # LOADED_HIGH
	put "$1" 0x214 '\000\000\020\000'          # code32_start
	put "$1" 0x22c '\377\377\377\177'          # initrd_addr_max
	put "$1" 0x230 '\000\000\020\000\001'      # kernel_alignment, relocatable
	put "$1" 0x238 '\377\007'                    # cmdline_size
	put "$1" 0x258 '\000\000\020\000'          # pref_address
	put "$1" 0x260 '\000\000\060\000'          # init_size
}
mkbz "$tmp/bz"
# The kernel checks ESI = boot_params and type_of_loader, then writes 5
# (all good: status 11) or 6 (status 13) to the debug-exit port.
put "$tmp/bz" $((5 * 512)) '\201\376\000\000\001\000\165\016\200\276\020\002\000\000\377\165\005\260\005\346\364\364\260\006\346\364\364'
timeout 30 "$vmx" -kernel "$tmp/bz" -append "console=ttyS0" </dev/null >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st -eq 11 ] && ok bz-entry || bad bz-entry "exit status $st, want 11: $(head -c 200 "$tmp/err")"
head -c 2048 "$tmp/bz" >"$tmp/bz-short"
expect_error bz-truncated 2 "truncated" -kernel "$tmp/bz-short"
mkbz "$tmp/bz-magic"; put "$tmp/bz-magic" 0x202 'HdrX'
expect_error bz-wrong-magic 2 "HdrS" -kernel "$tmp/bz-magic"
mkbz "$tmp/bz-old"; put "$tmp/bz-old" 0x206 '\005\002'
expect_error bz-old-protocol 2 "too old" -kernel "$tmp/bz-old"
expect_error bz-initrd-missing 2 "No such file" -kernel "$tmp/bz" -initrd "$tmp/nope.img"
truncate -s 9M "$tmp/big.img"
expect_error bz-initrd-too-large 2 "does not fit" -kernel "$tmp/bz" -initrd "$tmp/big.img" -m 8

# Multiboot modules (-initrd "FILE ARGS,FILE"): a missing file, modules
# past the usable RAM (the top 128 KiB are reserved), an item without a
# file name; each one line and status 2.
printf 'mod\n' >"$tmp/mod.txt"
expect_error mb-module-missing 2 "nope.mod: cannot open module: No such file" \
	-kernel "$g/mb_modules.elf" -initrd "$tmp/mod.txt arg,$tmp/nope.mod x"
truncate -s 2M "$tmp/mod2m.bin"
expect_error mb-modules-too-large 2 "module 2 (2097152 bytes) does not fit in guest RAM.*try -m 6 or more" \
	-kernel "$g/mb_modules.elf" -initrd "$tmp/mod2m.bin,$tmp/mod2m.bin" -m 4
expect_error mb-module-no-file 2 "no file name" -kernel "$g/mb_modules.elf" -initrd " $tmp/mod.txt"
# A kernel at 0x8000 (where the information used to be fixed) boots and
# sees its information outside its image; QEMU gives it none to compare.
"$vmx" -kernel "$g/mb_low.elf" -append mbi-required </dev/null >"$tmp/out" 2>"$tmp/err"
st=$?
if [ $st -eq 1 ] && grep -q "^mbi outside the image: mem_lower 639" "$tmp/out" &&
   [ "$(grep -c '^mmap ' "$tmp/out")" -eq 6 ] && grep -q "^PASS mb_low" "$tmp/out"; then
	ok mb-low-kernel-info
else
	bad mb-low-kernel-info "status $st: $(head -c 300 "$tmp/out") $(head -c 200 "$tmp/err")"
fi

# -help tells the truth about the options it lists.
"$vmx" -help >"$tmp/help" 2>&1
st=$?
if [ $st -eq 0 ] && grep -q -- "-kernel" "$tmp/help" && grep -q -- "-stats" "$tmp/help" && grep -q "Ctrl-A x" "$tmp/help" &&
   grep -q -- "-tc-size 2M" "$tmp/help" && grep -q "128 + N" "$tmp/help" &&
   grep -q -- '-initrd "FILE ARGS,FILE ARGS' "$tmp/help"; then
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
. "$here/qemu-cpu.sh"
printf 'hello vmx\n' | timeout 60 "${QEMU:-qemu-system-i386}" -nodefaults -display none -no-reboot -m 128 -cpu "$QEMU_CPU" \
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
# On -machine isapc the PM1a control register is the legacy glue's.
timeout 30 "$vmx" -machine isapc -kernel "$g/poweroff.elf" -append acpi </dev/null >"$tmp/po.vmx" 2>"$tmp/po.err"
vs=$?
if [ $vs -eq 0 ] && grep -q "powered the machine off (ACPI)" "$tmp/po.err"; then ok poweroff-acpi-isapc; else bad poweroff-acpi-isapc "vmx $vs: $(head -1 "$tmp/po.err")"; fi

# A triple fault stops the VM: status 3, a one-line reason and a register dump.
"$vmx" -kernel "$g/triple_fault.elf" </dev/null >"$tmp/out" 2>"$tmp/err"
st=$?
if [ $st -eq 3 ] && grep -q "triple fault" "$tmp/err" && grep -q "eip 0x" "$tmp/err" && grep -q "idt limit" "$tmp/err"; then
	ok triple-fault
else
	bad triple-fault "status $st: $(head -2 "$tmp/err")"
fi

# With a nonzero CS base, the stop message and the register dump give
# CS:EIP and the linear address, not a bare offset (code segment 0x18 has
# base 0x100000): an instruction vmx does not perform there (an MMX store
# to linear page 0, status 4), a triple fault (status 3).
for how in page0:4 ud2:3; do
	name=cs-base-${how%:*} want=${how#*:}
	insn=ud2; [ "${how%:*}" = page0 ] && insn='movq %mm0, 0x10'
	{
		printf '.globl _start\n.align 4\n.long 0x1BADB002, 0, -0x1BADB002\n'
		printf '_start: lgdt gdtr\nljmp $0x18, $(1f - 0x100000)\n1: %s\n.align 8\n' "$insn"
		printf 'gdt: .quad 0, 0x00cf9a000000ffff, 0x00cf92000000ffff, 0x00cf9a100000ffff\n'
		printf 'gdtr: .word 31\n.long gdt\n'
	} >"$tmp/csbase.s"
	if ! gcc -m32 -c "$tmp/csbase.s" -o "$tmp/csbase.o" 2>/dev/null ||
	   ! ld -m elf_i386 -Ttext=0x100000 -e _start -o "$tmp/csbase.elf" "$tmp/csbase.o" 2>/dev/null; then
		bad $name "could not build the test kernel"; continue
	fi
	"$vmx" -kernel "$tmp/csbase.elf" </dev/null >"$tmp/out" 2>"$tmp/err"
	st=$?
	line=$(grep -m1 '^  eip ' "$tmp/err")
	eip=$(echo "$line" | sed -n 's/.*(cs:eip 0x0018:0x\([0-9a-f]*\),.*/\1/p')
	lin=$(echo "$line" | sed -n 's/.*linear 0x\([0-9a-f]*\)).*/\1/p')
	if [ $st -ne $want ]; then bad $name "status $st, want $want: $(head -1 "$tmp/err")"
	elif [ -z "$eip" ] || [ -z "$lin" ] || [ $((0x$lin)) -ne $((0x$eip + 0x100000)) ]; then bad $name "dump: $line"
	elif [ $want -eq 4 ] && ! head -1 "$tmp/err" | grep -qF "there, eip 0x$eip (cs:eip 0x0018:0x$eip, linear 0x$lin)"; then
		bad $name "stop message: $(head -1 "$tmp/err")"
	else ok $name; fi
done

# What vmx does not implement stops the VM: status 4, a first line naming
# it with the guest EIP, and a count in vmm.unsupported.<kind>. GDT: 0x18
# an available 16-bit TSS, 0x20 a 16-bit call gate, 0x28 a task gate to
# 0x18; the IDT's vector 0 is a task gate to 0x18.
# expect_stop NAME MESSAGE COUNTER ASM...
expect_stop() {
	local name=$1 msg=$2 ctr=$3; shift 3
	{
		printf '.globl _start\n.align 4\n.long 0x1BADB002, 0, -0x1BADB002\n_start: lgdt gdtr\nlidt idtr\n'
		printf '%s\n' "$@"
		printf 'hlt\n.align 8\ngdt: .quad 0, 0x00cf9a000000ffff, 0x00cf92000000ffff\n'
		printf '.quad 0x0000810000000067, 0x0000840000080000, 0x0000850000180000\n'
		printf 'gdtr: .word 47\n.long gdt\n.align 8\nidt: .quad 0x0000850000180000\nidtr: .word 7\n.long idt\n'
	} >"$tmp/stop.s"
	if ! gcc -m32 -c "$tmp/stop.s" -o "$tmp/stop.o" 2>/dev/null ||
	   ! ld -m elf_i386 -Ttext=0x100000 -e _start -o "$tmp/stop.elf" "$tmp/stop.o" 2>/dev/null; then
		bad "$name" "could not build the test kernel"; return
	fi
	"$vmx" -kernel "$tmp/stop.elf" -stats "$tmp/stop.json" </dev/null >"$tmp/out" 2>"$tmp/err"
	local st=$? n
	n=$(grep "\"vmm.unsupported.$ctr\"" "$tmp/stop.json" 2>/dev/null | grep -o '[0-9]*' | tail -1)
	if [ $st -ne 4 ]; then bad "$name" "status $st, want 4: $(head -1 "$tmp/err")"
	elif ! head -1 "$tmp/err" | grep -q "^vmx: .*$msg.*eip 0x001000"; then bad "$name" "first line: $(head -1 "$tmp/err")"
	elif [ "$n" != 1 ]; then bad "$name" "vmm.unsupported.$ctr is '$n', want 1"
	else ok "$name"; fi
}
expect_stop stop-ljmp-tss16 "hardware task switch to or from a 16-bit TSS" task_tss16 'ljmp $0x18, $0'
expect_stop stop-lcall-task-gate-tss16 "hardware task switch to or from a 16-bit TSS" task_tss16 'lcall $0x28, $0'
expect_stop stop-call-gate-16 "call gates are not supported" call_gate 'lcall $0x20, $0'
expect_stop stop-idt-task-gate-tss16 "hardware task switch to or from a 16-bit TSS" task_tss16 'int $0'
expect_stop stop-iret-nt-tss16 "hardware task switch to or from a 16-bit TSS" task_tss16 \
	'movw $0x18, %ax' 'ltr %ax' 'pushfl' 'orl $0x4000, (%esp)' 'popfl' 'iret'
expect_stop stop-iret-v86 "virtual-8086 mode" v86 'pushl $0x20002' 'pushl $8' 'pushl $0' 'iret'
# An access the monitor does not perform where the host cannot reach (the
# top 4 MiB through a flat segment, linear page 0): a stop naming the
# instruction, never a #GP or #SS the CPU would not raise.
expect_stop stop-mmx-monitor-range "movq reaches the monitor's linear range" monitor_range 'movq %mm0, 0xfffffe00'
expect_stop stop-mmx-page0 "movq accesses linear page 0" page0 'movq %mm0, 0x100'

# -trace says what happened in words: a guest built here writes COM1, reads
# an unclaimed port, takes IRQ0 in hlt (the i8259 set up at vector 0x20) and
# divides by zero; its #DE handler exits through port 0xF4 (status 0x43).
{
	printf '.globl _start\n.align 4\n.long 0x1BADB002, 0, -0x1BADB002\n_start:\n'
	printf 'mov $0x41, %%al\nmov $0x3f8, %%dx\ncom1: outb %%al, %%dx\ninb $0xe0, %%al\n'
	printf 'mov $irq0, %%eax\nmov %%ax, idt+0x100\nshr $16, %%eax\nmov %%ax, idt+0x106\n'
	printf 'mov $de, %%eax\nmov %%ax, idt\nshr $16, %%eax\nmov %%ax, idt+6\nlidt idtr\n'
	printf 'mov $0x11, %%al\nout %%al, $0x20\nmov $0x20, %%al\nout %%al, $0x21\nmov $4, %%al\nout %%al, $0x21\n'
	printf 'mov $1, %%al\nout %%al, $0x21\nmov $0xfe, %%al\nout %%al, $0x21\nsti\nhalt: hlt\nwoke: cli\njmp .\n'
	printf 'irq0: xor %%ecx, %%ecx\ndivide: div %%ecx\njmp .\n'
	printf 'de: mov $0x21, %%eax\noutl %%eax, $0xf4\njmp .\n'
	printf '.align 8\nidt: .word 0, 8, 0x8e00, 0\n.fill 31, 8, 0\n.word 0, 8, 0x8e00, 0\n'
	printf 'idtr: .word 0x107\n.long idt\n'
} >"$tmp/trace.s"
if gcc -m32 -c "$tmp/trace.s" -o "$tmp/trace.o" 2>/dev/null &&
   ld -m elf_i386 -Ttext=0x100000 -e _start -o "$tmp/trace.elf" "$tmp/trace.o" 2>/dev/null; then
	"$vmx" -kernel "$tmp/trace.elf" -trace io,irq,trap,callout </dev/null >/dev/null 2>"$tmp/err"
	st=$?
	addr() { printf '%08x' "0x$(nm "$tmp/trace.elf" | awk -v s="$1" '$3 == s { print $1 }')"; }
	missing=
	for line in "vmx: callout out: aux 0019, arg $(addr com1)" "vmx: out port 03f8 size 1 value 41 (uart)" \
		    "vmx: in port 00e0 size 1 value ff (unassigned)" \
		    "vmx: out port 0021 size 1 value fe (pic)" \
		    "vmx: callout hlt: aux 0001, arg $(addr halt)" "vmx: irq 0 vector 20 at eip $(addr woke)" \
		    "vmx: exception 0 at eip $(addr divide)" \
		    "vmx: out port 00f4 size 4 value 00000021 (debug_exit)"; do
		grep -qxF -- "$line" "$tmp/err" || missing="$missing [$line]"
	done
	grep -qx "vmx: trap sigfpe in translated code at tc [0-9a-f]\{8\}: vector 0, error 0, address [0-9a-f]\{8\}" "$tmp/err" ||
		missing="$missing [trap sigfpe]"
	grep -q "kind 0x" "$tmp/err" && missing="$missing [a kind by number]"
	if [ $st -eq 67 ] && [ -z "$missing" ]; then ok trace-names
	else bad trace-names "status $st, missing:$missing; $(grep -c . "$tmp/err") lines"; fi
else
	bad trace-names "could not build the test kernel"
fi

# -stats FILE.json: one flat object of integers.
"$vmx" -kernel "$g/jcc.elf" -stats "$tmp/s.json" </dev/null >/dev/null 2>&1
# The translator's counters against counts taken without it
# (count-check.sh): every fragment of the profile decoded again by objdump,
# each instruction's class one its mnemonic allows, and the executions at
# each address equal to QEMU's, one instruction per block. jcc has loops to
# themselves, string rep-prefixed instructions; jcc with a small cache has
# its counts carried across a flush.
cc=$(dirname "$0")/count-check.sh
for run in jcc string jcc-tc64; do
	gname=${run%-tc64} args=
	[ "$run" != "$gname" ] && args="-tc-size 64"
	# shellcheck disable=SC2086
	"$vmx" -kernel "$g/$gname.elf" $args -stats "$tmp/cs-$run.json" -profile "$tmp/cp-$run.json" </dev/null >/dev/null 2>&1
	if [ ! -s "$tmp/cq-$gname" ] && ! "$cc" qemu "$g/$gname.elf" "$tmp/cq-$gname" 2>"$tmp/err"; then
		bad "stats-count-independent-$run" "$(cat "$tmp/err")"
	elif "$cc" check "$tmp/cp-$run.json" "$tmp/cs-$run.json" "$tmp/cq-$gname" >"$tmp/out" 2>&1; then
		ok "stats-count-independent-$run"; sed "s/^/     $run /" "$tmp/out"
	else
		bad "stats-count-independent-$run" "$(head -5 "$tmp/out")"
	fi
done
grep -q '"bt.tc.flushes": [1-9]' "$tmp/cs-jcc-tc64.json" || bad stats-count-independent-jcc-tc64 "no flush with -tc-size 64"
# The check fails when one count is wrong. Each edit keeps what the old
# check (translated = ident + inline + callout) looked at consistent.
p=$tmp/cp-jcc.json s=$tmp/cs-jcc.json q=$tmp/cq-jcc
skew() { # NAME WHAT-MUST-BE-SAID PROFILE STATS
	if "$cc" check "$3" "$4" "$q" >"$tmp/out" 2>&1; then bad "count-check-catches-$1" "passed"
	elif grep -q -- "$2" "$tmp/out"; then ok "count-check-catches-$1"
	else bad "count-check-catches-$1" "$(head -2 "$tmp/out")"; fi
}
jq '."bt.insn.ident" += 1 | ."bt.insn.inline" -= 1' "$s" >"$tmp/k1.json"
skew stats-class "bt.insn.ident is" "$p" "$tmp/k1.json"
jq '."bt.insn.translated" += 1 | ."bt.insn.ident" += 1' "$s" >"$tmp/k2.json"
skew stats-total "bt.insn.translated is" "$p" "$tmp/k2.json"
jq '(.fragments[] | select(.execs > 100) | .execs) |= . + 1' "$p" >"$tmp/k3.json"
skew execs "under QEMU" "$tmp/k3.json" "$s"
jq '(.fragments[] | select(.insns > 2) | .map[1][0]) |= . + 1' "$p" >"$tmp/k4.json"
skew boundary "no instruction starts" "$tmp/k4.json" "$s"
# A branch (the first fragment that ends in an inline instruction) said to be copied as is.
jq '([.fragments[].map[-1][2]] | index("inline")) as $i | .fragments[$i].map[-1][2] = "ident" | .fragments[$i].mix.ident += 1 | .fragments[$i].mix.inline -= 1' "$p" >"$tmp/k5.json"
jq '."bt.insn.ident" += 1 | ."bt.insn.inline" -= 1' "$s" >"$tmp/k5s.json"
skew class "translated ident" "$tmp/k5.json" "$tmp/k5s.json"
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

# Each task switch the task_switch guest makes is counted by how it came
# about: 2 ljmp (to B, back), 2 lcall (to B, through a gate), 5 iret (B three
# times, C, the double-fault task), 2 int (int $0x40, IRQ0), 1 exception (#DF).
"$vmx" -kernel "$g/task_switch.elf" -stats "$tmp/ts.json" </dev/null >/dev/null 2>&1
ts=""
for k in jmp call iret int exception; do
	ts="$ts $k=$(grep "\"vmm.task_switch.$k\"" "$tmp/ts.json" 2>/dev/null | grep -o '[0-9]*' | tail -1)"
done
if [ "$ts" = " jmp=2 call=2 iret=5 int=2 exception=1" ]; then ok task-switch-counters; else bad task-switch-counters "$ts"; fi

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

# -stats writes what the path names without destroying it: a device stays
# a device, a FIFO and /dev/stdout get the report, a symlink stays a link.
json_ok() { head -1 "$1" | grep -q '^{' && grep -q '"bt.insn.translated"' "$1"; }
# Private nodes first: a vmx that replaced them (as root the old rename
# did) is not let near the real /dev/null and /dev/stdout.
devsafe=1
if mknod "$tmp/null" c 1 3 2>/dev/null; then
	"$vmx" -kernel "$g/hello.elf" -stats "$tmp/null" </dev/null >"$tmp/out" 2>"$tmp/err"
	st=$?
	if [ $st -eq 1 ] && [ -c "$tmp/null" ] && [ ! -s "$tmp/err" ]; then ok stats-private-null; else bad stats-private-null "status $st, $(ls -l "$tmp/null")"; devsafe=0; fi
fi
# /dev/stdout on a pipe: guest output, then the report (a private link to
# /proc/self/fd/1 first).
ln -s /proc/self/fd/1 "$tmp/stdout"
for p in "$tmp/stdout" /dev/stdout; do
	if [ $devsafe -eq 0 ]; then bad "stats-stdout-pipe $p" "not run: the private checks failed"; continue; fi
	"$vmx" -kernel "$g/hello.elf" -stats "$p" </dev/null 2>"$tmp/err" | cat >"$tmp/so.out"
	st=${PIPESTATUS[0]}
	if [ $st -eq 1 ] && [ -L "$p" ] && grep -q "^PASS hello" "$tmp/so.out" && grep -q '"bt.insn.translated"' "$tmp/so.out"; then
		ok "stats-stdout-pipe $p"
	else
		bad "stats-stdout-pipe $p" "status $st: $(head -c 200 "$tmp/err")"
		devsafe=0
	fi
done
if [ $devsafe -eq 1 ]; then
	"$vmx" -kernel "$g/hello.elf" -stats /dev/null </dev/null >"$tmp/out" 2>"$tmp/err"
	st=$?
	if [ $st -eq 1 ] && [ -c /dev/null ] && [ ! -s "$tmp/err" ]; then ok stats-dev-null; else bad stats-dev-null "status $st, $(ls -l /dev/null)"; fi
	# /dev/stdout redirected to a file: the report follows the guest's output.
	"$vmx" -kernel "$g/hello.elf" -stats /dev/stdout </dev/null >"$tmp/so.txt" 2>"$tmp/err"
	st=$?
	if [ $st -eq 1 ] && head -1 "$tmp/so.txt" | grep -q "^Hello" && grep -q '"bt.insn.translated"' "$tmp/so.txt"; then
		ok stats-stdout-file
	else
		bad stats-stdout-file "status $st: $(head -3 "$tmp/so.txt" | tr '\n' '|')"
	fi
else
	bad stats-dev-null "not run: the private checks failed"
fi
mkfifo "$tmp/fifo"
timeout 20 cat "$tmp/fifo" >"$tmp/fifo.out" &
catpid=$!
timeout 30 "$vmx" -kernel "$g/hello.elf" -stats "$tmp/fifo" </dev/null >"$tmp/out" 2>"$tmp/err"
st=$?
wait $catpid
if [ $st -eq 1 ] && [ -p "$tmp/fifo" ] && json_ok "$tmp/fifo.out"; then ok stats-fifo; else bad stats-fifo "status $st, $(ls -l "$tmp/fifo")"; fi
echo old >"$tmp/target.json"
ln -s target.json "$tmp/link.json"
"$vmx" -kernel "$g/hello.elf" -stats "$tmp/link.json" </dev/null >/dev/null 2>"$tmp/err"
st=$?
if [ $st -eq 1 ] && [ -L "$tmp/link.json" ] && [ "$(readlink "$tmp/link.json")" = target.json ] && json_ok "$tmp/target.json"; then
	ok stats-symlink
else
	bad stats-symlink "status $st, $(ls -l "$tmp/link.json")"
fi
# What cannot be written is refused before the guest runs: status 2, one
# line on stderr, no guest output.
mkdir "$tmp/dir"
expect_error stats-directory 2 "vmx: -stats $tmp/dir: is a directory" -kernel "$g/hello.elf" -stats "$tmp/dir"
[ -s "$tmp/out" ] && bad stats-directory-no-output "guest output: $(head -c 100 "$tmp/out")"
expect_error stats-missing-dir 2 "vmx: -stats $tmp/nodir/s.json: .*No such file or directory" -kernel "$g/hello.elf" -stats "$tmp/nodir/s.json"
[ -s "$tmp/out" ] && bad stats-missing-dir-no-output "guest output: $(head -c 100 "$tmp/out")"

# SIGTERM, SIGHUP, SIGINT and SIGQUIT sent from outside give the terminal
# its mode back and end vmx by that signal (status 128+N). Run in a pty
# (script): compare stty -g before and after, inside it.
# signal_ends NAME SIG ARGS...
signal_ends() {
	local name=$1 sig=$2; shift 2
	local d=$tmp/sig.$name tty pid i
	mkdir -p "$d"
	local inner="tty >$d/tty; stty -g >$d/before; ulimit -c 0; sh -c 'echo \$\$ >$d/pid; exec $vmx $*'; echo \$? >$d/st; stty -g >$d/after"
	timeout 30 script -qec "$inner" /dev/null </dev/null >"$d/out" 2>&1 &
	local spid=$!
	# Raw mode on means vmx is running the guest.
	for i in $(seq 100); do
		[ -s "$d/pid" ] && [ -s "$d/tty" ] && [ -s "$d/before" ] &&
			[ "$(stty -F "$(cat "$d/tty")" -g 2>/dev/null)" != "$(cat "$d/before")" ] && break
		sleep 0.1
	done
	sleep 0.3
	kill -"$sig" "$(cat "$d/pid" 2>/dev/null)" 2>/dev/null
	wait $spid
	local want=$((128 + $(kill -l "$sig"))) st
	st=$(cat "$d/st" 2>/dev/null)
	if [ "$i" -eq 100 ]; then bad "$name" "vmx never switched the terminal to raw mode"
	elif [ "$st" != "$want" ]; then bad "$name" "status $st, want $want"
	elif ! cmp -s "$d/before" "$d/after"; then bad "$name" "terminal left as $(cat "$d/after")"
	else ok "$name"; fi
}
if command -v script >/dev/null; then
	# In translated guest code (the guest's FS base is loaded) ...
	for sig in TERM HUP INT QUIT; do
		signal_ends "sig$sig-guest-code" $sig -kernel "$g/bench_loop.elf" -append iters=4000000000
	done
	# ... and waiting for input in the monitor.
	signal_ends sigTERM-waiting TERM -kernel "$g/echo.elf"
else
	bad signals "script (util-linux) is not installed"
fi

# The sandbox: a system call outside its list (the test hook makes one
# socket call in the run loop) stops vmx with one line naming it and status
# 4, and leaves no -stats file or temporary behind; -sandbox off lets the
# same call through and the guest passes.
sandbox_line='^vmx: the sandbox stopped system call socket (41) at 0x[0-9a-f]\+$'
VMX_TEST_SANDBOX_VIOLATION=1 "$vmx" -kernel "$g/hello.elf" -stats "$tmp/sbx.json" </dev/null >"$tmp/out" 2>"$tmp/err"
st=$?
if [ $st -eq 4 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "$sandbox_line" "$tmp/err" &&
   [ -z "$(ls "$tmp" | grep '^sbx\.json')" ]; then
	ok sandbox-stops-forbidden-call
else
	bad sandbox-stops-forbidden-call "status $st, stderr '$(head -c 200 "$tmp/err")', files: $(ls "$tmp" | grep '^sbx' | tr '\n' ' ')"
fi
VMX_TEST_SANDBOX_VIOLATION=1 "$vmx" -kernel "$g/hello.elf" -sandbox off -stats "$tmp/sbx.json" </dev/null >"$tmp/out" 2>"$tmp/err"
st=$?
if [ $st -eq 1 ] && grep -q "^PASS hello" "$tmp/out" && ! grep -q sandbox "$tmp/err" && json_ok "$tmp/sbx.json"; then
	ok sandbox-off-lets-it-run
else
	bad sandbox-off-lets-it-run "status $st: $(head -c 200 "$tmp/err")"
fi
expect_error sandbox-bad-value 2 "-sandbox: 'maybe' is neither on nor off" -kernel "$g/hello.elf" -sandbox maybe
# On a terminal the report comes after the terminal got its mode back.
if command -v script >/dev/null; then
	d=$tmp/sbx.tty; mkdir -p "$d"
	timeout 30 script -qec "stty -g >$d/before; VMX_TEST_SANDBOX_VIOLATION=1 $vmx -kernel $g/bench_loop.elf -append iters=4000000000 2>$d/err; echo \$? >$d/st; stty -g >$d/after" /dev/null </dev/null >"$d/out" 2>&1
	st=$(cat "$d/st" 2>/dev/null)
	if [ "$st" = 4 ] && cmp -s "$d/before" "$d/after" && grep -q "$sandbox_line" "$d/err"; then
		ok sandbox-stop-restores-terminal
	else
		bad sandbox-stop-restores-terminal "status $st, terminal $(cat "$d/after" 2>/dev/null), stderr '$(head -c 200 "$d/err" 2>/dev/null)'"
	fi
fi

# ATA disk images: refused at start with one line and status 2 when missing,
# unreadable, read-only (without readonly=on) or not a regular file.
truncate -s 4M "$tmp/disk.img"
expect_error drive-missing 2 "nope.img: No such file" -kernel "$g/hello.elf" -drive file="$tmp/nope.img",format=raw
expect_error drive-directory 2 "Is a directory" -kernel "$g/hello.elf" -hda "$tmp"
cp "$tmp/disk.img" "$tmp/ro.img"; chmod 444 "$tmp/ro.img"
expect_error drive-read-only 2 "read-only (readonly=on" -kernel "$g/hello.elf" -hda "$tmp/ro.img"
"$vmx" -kernel "$g/hello.elf" -drive file="$tmp/ro.img",format=raw,index=1,readonly=on </dev/null >"$tmp/out" 2>"$tmp/err"
st=$?
if [ $st -eq 1 ] && grep -q "^PASS hello" "$tmp/out"; then ok drive-readonly-on; else bad drive-readonly-on "status $st: $(head -c 200 "$tmp/err")"; fi
cp "$tmp/disk.img" "$tmp/noread.img"; chmod 000 "$tmp/noread.img"
expect_error drive-unreadable 2 "not readable" -kernel "$g/hello.elf" -hdb "$tmp/noread.img"
expect_error drive-bad-format 2 "only raw images" -kernel "$g/hello.elf" -drive file="$tmp/disk.img",format=qcow2
# Each FLUSH CACHE the ata guest sends (three) is one fdatasync of the image
# before the command completes, plus one at exit; its writes reach the file.
"$vmx" -kernel "$g/ata.elf" -drive file="$tmp/disk.img",format=raw,index=0 -stats "$tmp/ata.json" \
	</dev/null >"$tmp/out" 2>"$tmp/err"
st=$?
flushes=$(grep '"dev.ata.0.flushes"' "$tmp/ata.json" | grep -o '[0-9]*' | tail -1)
if [ $st -eq 1 ] && [ "$flushes" = 3 ]; then ok ata-flush-counter; else bad ata-flush-counter "status $st, dev.ata.0.flushes=$flushes"; fi
# Sector 10's first word, as the guest wrote it (0x1234).
w=$(od -An -tx2 -j $((10 * 512)) -N 2 "$tmp/disk.img" | tr -d ' ')
if [ "$w" = 1234 ]; then ok ata-writes-reach-image; else bad ata-writes-reach-image "sector 10 starts with $w"; fi
if command -v strace >/dev/null 2>&1; then
	truncate -s 0 "$tmp/disk.img"; truncate -s 4M "$tmp/disk.img"
	# --seccomp-bpf: only fdatasync stops vmx. Stopped at every system
	# call, vmx sees its guest's time stolen (interrupts off) and the host
	# timer's alarms come faster than ptrace lets it take them: up to
	# 150 s of alarms for a 20 ms run.
	strace -f --seccomp-bpf -e trace=fdatasync -o "$tmp/strace" "$vmx" -kernel "$g/ata.elf" \
		-drive file="$tmp/disk.img",format=raw,index=0 </dev/null >"$tmp/out" 2>"$tmp/err"
	st=$?
	n=$(grep -c 'fdatasync(.*= 0' "$tmp/strace")
	if [ $st -eq 1 ] && [ "$n" = 4 ]; then ok ata-flush-fdatasync
	else bad ata-flush-fdatasync "status $st, $n fdatasync calls (want 3 flushes + 1 at exit)"; fi
else
	echo "SKIP cli ata-flush-fdatasync: strace is not installed"
fi

# -profile and vmx-report. bench_loop's loop body is one fragment: it runs
# exactly once per iteration. The counters exist only with -profile: the TC
# grows by the prologue (its size from the profile itself) per fragment and
# by nothing else, and the profile's totals are the -stats counters it names.
report=$(dirname "$vmx")/vmx-report
expect_error profile-directory 2 "-profile $tmp: " -kernel "$g/hello.elf" -profile "$tmp"
"$vmx" -kernel "$g/bench_loop.elf" -append iters=1000 -stats "$tmp/np.json" </dev/null >/dev/null 2>&1
"$vmx" -kernel "$g/bench_loop.elf" -append iters=1000 -profile "$tmp/prof.json" -stats "$tmp/ps.json" \
	</dev/null >/dev/null 2>&1
st=$?
sget() { grep "\"$2\"" "$1" | grep -o '[0-9]*' | tail -1; }
hot=$("$report" "$tmp/prof.json" --top 1 --json | grep -m1 '"execs"' | grep -o '[0-9]*')
# The sites that found no room in the table add up in slot 0, written with
# the kind dropped_sites (a Linux boot has them): the reader takes it.
sed 's/"sites": \[/"sites": [\n  [0, 0, 0, "dropped_sites", "not_translated", ["not_translated"], 1, 10, 0],/' \
	"$tmp/prof.json" >"$tmp/prof-dropped.json"
if "$report" "$tmp/prof-dropped.json" --top 1 >/dev/null 2>"$tmp/err"; then ok report-dropped-sites
else bad report-dropped-sites "$(head -c 200 "$tmp/err")"; fi
if [ $st -eq 1 ] && [ "$hot" = 1000 ]; then ok profile-hot-loop; else bad profile-hot-loop "status $st, hottest execs $hot (want 1000)"; fi
pro=$(grep -o '"prologue_bytes": [0-9]*' "$tmp/prof.json" | grep -o '[0-9]*$')
tu0=$(sget "$tmp/np.json" bt.tu.translated) tu1=$(sget "$tmp/ps.json" bt.tu.translated)
b0=$(sget "$tmp/np.json" bt.tc.bytes) b1=$(sget "$tmp/ps.json" bt.tc.bytes)
if [ -n "$pro" ] && [ "$pro" -gt 0 ] && [ "$tu0" = "$tu1" ] && [ $((b1 - b0)) -eq $((pro * tu1)) ]; then
	ok profile-prologue-only-with-profile
else
	bad profile-prologue-only-with-profile "tc bytes $b0 -> $b1, fragments $tu0 / $tu1, prologue $pro"
fi
"$report" "$tmp/prof.json" --stats "$tmp/ps.json" >"$tmp/rep" 2>"$tmp/err"
st=$?
# Every "KEY profile N NAME = M" line must have N = M.
mism=$(awk '/ profile [0-9]+ .* = / { if ($3 != $NF) print }' "$tmp/rep")
rows=$(grep -c ' profile [0-9]* .* = [0-9]*$' "$tmp/rep")
if [ $st -eq 0 ] && [ -z "$mism" ] && [ "$rows" -ge 4 ]; then ok profile-totals-match-stats
else bad profile-totals-match-stats "status $st, $rows rows, mismatches: $mism"; fi
# The hottest fragment is the loop body: its FNV multiply, copied as is.
if [ $st -eq 0 ] && sed -n '/^#1 /,/^$/p' "$tmp/rep" | grep -q '^  ident .*imul \$0x1000193, .*| .*imul \$0x1000193'; then
	ok report-shows-loop
else
	bad report-shows-loop "$(sed -n '/^#1 /,/^$/p' "$tmp/rep" | head -20)"
fi
head -c $(($(wc -c <"$tmp/prof.json") / 2)) "$tmp/prof.json" >"$tmp/cut.json"
"$report" "$tmp/cut.json" >"$tmp/out" 2>"$tmp/err"
st=$?
if [ $st -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "^vmx-report: $tmp/cut.json: .*offset" "$tmp/err" &&
   [ ! -s "$tmp/out" ]; then
	ok report-truncated
else
	bad report-truncated "status $st: $(head -c 200 "$tmp/err")"
fi
printf '{"format": "vmx-profile-1", "fragments": 3}' >"$tmp/bad.json"
"$report" "$tmp/bad.json" >"$tmp/out" 2>"$tmp/err"
st=$?
if [ $st -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]; then ok report-malformed; else bad report-malformed "status $st: $(head -c 200 "$tmp/err")"; fi
# A bad value (not a syntax error) is named with its offset: the error's
# offset must point at the value planted, in a fragment, a site row, an
# event and a sample row.
why=$(python3 - "$report" "$tmp/prof.json" "$tmp" 2>&1 <<'PY'
import re, subprocess, sys
rep, src, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
t = open(src).read()
def plant(name, start_pat, pat, bad):
    s = t.index(start_pat)
    m = re.compile(pat).search(t, s)
    if not m: return "%s: no %s" % (name, pat)
    u = t[:m.start(1)] + bad + t[m.end(1):]
    f = "%s/bad-%s.json" % (tmp, name)
    open(f, "w").write(u)
    r = subprocess.run([rep, f], capture_output=True, text=True)
    e = r.stderr.strip()
    o = re.search(r"offset (\d+), line (\d+)\)$", e)
    if r.returncode != 2 or "\n" in e or not e.startswith("vmx-report: " + f + ": ") or not o:
        return "%s: status %d: %s" % (name, r.returncode, e[:200])
    off = int(o.group(1))
    if not u.startswith(bad, off) or u.count("\n", 0, off) + 1 != int(o.group(2)):
        return "%s: offset %d holds %r, not %r" % (name, off, u[off:off + 20], bad)
    return ""
for args in (("fragment", '"fragments": [', r'"execs": (\d+)', '-1'),
             ("site", '"sites": [', r'\[\d+, \d+, \d+, ("\w+")', '"nokind"'),
             ("sample", '"rows": [', r'\[\d+, (\d+), \d+', '"x"'),
             ("fragment-state", '"fragments": [', r'"state": ("\w+")', '"gone"')):
    w = plant(*args)
    if w: sys.exit(w)
PY
) || why=${why:-the checker failed}
if [ -z "$why" ]; then ok report-bad-value-offset; else bad report-bad-value-offset "$why"; fi
# Twice the iterations: the loop's fragments change most, by 1000 each.
# The study sections (vmx-profile-2): the time buckets add up to the run's
# TSC span, every exit stub taken is a site, the loop's exits are chained
# (taken once each), and the exports agree with --json.
"$report" "$tmp/prof.json" --json >"$tmp/rj" 2>"$tmp/err"
why=$(python3 - "$tmp/prof.json" "$tmp/rj" "$tmp/ps.json" 2>&1 <<'PY'
import json, sys
p = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2])); s = json.load(open(sys.argv[3]))
t = p["time"]; tot = sum(t["cycles"].values())
if p["format"] != "vmx-profile-3": sys.exit("format " + p["format"])
if not t["tsc_hz"] or abs(tot - t["tsc_hz"] * t["wall_ns"] / 1e9) > 0.02 * tot: sys.exit("buckets %d against %d Hz x %d ns" % (tot, t["tsc_hz"], t["wall_ns"]))
ex = [x for x in p["sites"] if x[3] == "exit"]
if sum(x[6] for x in ex) != s["vmm.callout.exit"]: sys.exit("exit sites taken %d, vmm.callout.exit %d" % (sum(x[6] for x in ex), s["vmm.callout.exit"]))
if sum(x[6] for x in p["sites"]) != sum(v for k, v in s.items() if k.startswith("vmm.callout.")): sys.exit("sites against callouts")
if t["entries"]["callout.exit"] != s["vmm.callout.exit"]: sys.exit("callout.exit entries")
if max(x[6] for x in ex) > 2: sys.exit("an exit of the loop went to the monitor %d times" % max(x[6] for x in ex))
if not p["samples"]["rows"] or p["samples"]["rows"][-1][3] != s["bt.tu.translated"]: sys.exit("last sample")
if r["study"]["mix"]["executed"] != r["totals"]["insn_executions"]: sys.exit("mix total")
PY
) || why=${why:-the checker failed}
if [ -z "$why" ]; then ok profile-study; else bad profile-study "$why"; fi
tests/scripts/report-exports.sh "$report" "$tmp/prof.json" "$tmp" | while read -r l; do echo "$l"; done >"$tmp/exp"
cat "$tmp/exp"
pass=$((pass + $(grep -c '^PASS' "$tmp/exp"))); fail=$((fail + $(grep -c '^FAIL' "$tmp/exp")))
# A self-modifying guest: its invalidations are events with the storing
# instruction's EIP, and their retranslation is costed.
"$vmx" -kernel "$g/smc.elf" -profile "$tmp/smc.json" </dev/null >/dev/null 2>&1
why=$(python3 - "$tmp/smc.json" 2>&1 <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
smc = [e for e in p["events"] if e["cause"] == "smc_store"]
if not smc: sys.exit("no smc_store event")
if not all(e["eip"] and e["killed"] >= 1 for e in smc): sys.exit("an smc event without EIP or kill: %s" % smc[0])
c = p["causes"]["smc_store"]
if c["killed"] != sum(e["killed"] for e in smc) or not c["retranslate_cycles"]: sys.exit("cause totals %s" % c)
killed = [f for f in p["fragments"] if f["killed_cause"] == "smc_store"]
if len(killed) != c["killed"]: sys.exit("%d fragments killed by smc_store, cause says %d" % (len(killed), c["killed"]))
PY
) || why=${why:-the checker failed}
if [ -z "$why" ]; then ok profile-smc-causes; else bad profile-smc-causes "$why"; fi
# Per-PC time by mode (vmx-profile-3): user code run directly (bt-direct)
# has its page's cycles measured, adding up to the direct bucket exactly;
# the timer's samples in translated code are the fragments' plus those
# outside any; the report labels the estimated figures.
"$vmx" -kernel "$g/multitask.elf" -mode bt-direct -profile "$tmp/mt.json" </dev/null >/dev/null 2>&1
"$report" "$tmp/mt.json" --top 5 >"$tmp/mt.txt" 2>&1
"$report" "$tmp/mt.json" --top 5 --json >"$tmp/mt.rj" 2>&1
why=$(python3 - "$tmp/mt.json" "$tmp/mt.rj" "$tmp/mt.txt" 2>&1 <<'PY'
import json, sys
p = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))["study"]["by_mode"]; txt = open(sys.argv[3]).read()
t = p["time"]; rows = p["direct_pages"]["rows"]
if not rows or not t["cycles"]["direct"]: sys.exit("no direct page (direct %d cycles)" % t["cycles"]["direct"])
if sum(x[3] for x in rows) != t["cycles"]["direct"]: sys.exit("direct pages %d cycles, bucket %d" % (sum(x[3] for x in rows), t["cycles"]["direct"]))
if any(x[1] != 3 for x in rows): sys.exit("a kernel page ran directly under bt-direct")
if sum(f["samples"] for f in p["fragments"]) + p["other"]["samples"] + t["tc_unattributed"] != t["tc_samples"]: sys.exit("tc samples")
m = {x["mode"]: x for x in r["modes"]}
if not m["direct"]["instructions_estimated"] or m["tc"]["instructions_estimated"]: sys.exit("estimate labels")
if not (0.05 < r["calibration_cpi"] < 20): sys.exit("calibration CPI %f" % r["calibration_cpi"])
if r["pages"][0]["direct"]["cycles"] == 0 and r["pages"][0]["tc"]["samples"] == 0: sys.exit("hottest page has no time")
if "ESTIMATED" not in txt or " est" not in txt: sys.exit("text does not label the estimates")
PY
) || why=${why:-the checker failed}
if [ -z "$why" ]; then ok profile-modes-per-pc; else bad profile-modes-per-pc "$why"; fi
"$vmx" -kernel "$g/bench_loop.elf" -append iters=2000 -profile "$tmp/prof2.json" </dev/null >/dev/null 2>&1
d=$("$report" --diff "$tmp/prof.json" "$tmp/prof2.json" --top 1 | tail -1 | awk '{ print $NF }')
if [ "$d" = "+1000" ]; then ok report-diff; else bad report-diff "top change $d (want +1000)"; fi
# vmx-report's exports write a device in place, as vmx's -stats does (they
# once replaced it with a regular file: as root, /dev/null itself). A
# private node, never the real /dev/null.
if mknod "$tmp/rnull" c 1 3 2>/dev/null; then
	"$report" "$tmp/prof.json" --callgrind "$tmp/rnull" --drcov "$tmp/rnull" --html "$tmp/rnull" >/dev/null 2>"$tmp/err"
	st=$?
	if [ $st -eq 0 ] && [ -c "$tmp/rnull" ]; then ok report-exports-keep-devices
	else bad report-exports-keep-devices "status $st, $(ls -l "$tmp/rnull"), $(head -c 200 "$tmp/err")"; fi
fi

# -perf-map: /tmp/perf-PID.map of the vmx process lists every fragment the
# same run's -profile lists, at the same TC address and size, named by its
# guest PC, CPL and generation (smc retranslates code it rewrites: g2 and
# up), and by the guest ELF's symbol.
# profile_as_map PROFILE: "START SIZE guest_PC_cplN_gG" per fragment.
profile_as_map() {
	awk '/"id": / { match($0, /"pc": [0-9]+/); pc = substr($0, RSTART + 6, RLENGTH - 6)
			match($0, /"cpl": [0-9]+/); cpl = substr($0, RSTART + 7, RLENGTH - 7) }
	     /"tc": [0-9]+, "tc_len": / { match($0, /"tc": [0-9]+/); tc = substr($0, RSTART + 6, RLENGTH - 6)
			match($0, /"tc_len": [0-9]+/); len = substr($0, RSTART + 10, RLENGTH - 10) }
	     /"generation": / { match($0, /"generation": [0-9]+/); print tc, len, pc, cpl, substr($0, RSTART + 14, RLENGTH - 14) }' "$1" |
	while read -r tc len pc cpl gen; do printf '%x %x guest_%08x_cpl%u_g%u\n' "$tc" "$len" "$pc" "$cpl" "$gen"; done
}
perf_map_matches() {
	local name=$1 elf=$2; shift 2
	"$vmx" -kernel "$elf" "$@" -perf-map -profile "$tmp/pm.json" </dev/null >/dev/null 2>"$tmp/err" &
	local pid=$! st
	wait $pid
	st=$?
	local map=/tmp/perf-$pid.map
	if [ ! -s "$map" ]; then bad "$name" "status $st, no $map: $(head -c 200 "$tmp/err")"; return; fi
	sed 's/\[.*\]$//' "$map" | sort >"$tmp/map.got"
	mv "$map" "$tmp/map.raw"
	profile_as_map "$tmp/pm.json" | sort >"$tmp/map.want"
	local n missing start
	n=$(wc -l <"$tmp/map.want")
	missing=$(comm -13 "$tmp/map.got" "$tmp/map.want" | head -3)
	start=$(printf '%08x' "0x$(nm "$elf" | awk '$3 == "_start" { print $1 }')")
	if [ "$n" -lt 10 ] || [ -n "$missing" ] || [ "$(wc -l <"$tmp/map.raw")" -ne "$n" ]; then
		bad "$name" "status $st, $n fragments, $(wc -l <"$tmp/map.raw") map lines, missing: $missing"
	elif ! grep -q "^[0-9a-f]* [0-9a-f]* guest_${start}_cpl0_g1\[_start\]$" "$tmp/map.raw"; then
		bad "$name" "no line names _start: $(head -2 "$tmp/map.raw")"
	elif [ -n "${want_gen:-}" ] && ! grep -q "_g$want_gen\[" "$tmp/map.raw"; then
		bad "$name" "no generation $want_gen"
	else ok "$name"; fi
}
perf_map_matches perf-map-is-profile "$g/bench_loop.elf" -append iters=1000
want_gen=2 perf_map_matches perf-map-generations "$g/smc.elf"

# jit_walk DUMP: "header MAGIC-OK VERSION SIZE MACH PID", then "ID VMA LEN CODE INDEX"
# per record, and "trailing" when the last record does not end the file.
jit_walk() {
	od -An -v -tu1 -w1 "$1" | awk '
		{ b[n++] = $1 + 0 }
		function u32(o) { return b[o] + 256 * (b[o + 1] + 256 * (b[o + 2] + 256 * b[o + 3])) }
		END {
			printf "header %d %d %d %d %.0f\n", u32(0) == 1248416836, u32(4), u32(8), u32(12), u32(20)
			for (o = u32(8); o + 56 <= n; o += sz) {
				sz = u32(o + 4); len = u32(o + 40); hex = ""
				for (i = o + sz - len; i < o + sz; i++) hex = hex sprintf("%02x", b[i])
				printf "%d %.0f %d %s %.0f\n", u32(o), u32(o + 24), len, hex, u32(o + 48)
			}
			if (o != n) print "trailing"
		}'
}
# -jitdump: /tmp/jit-PID.dump starts with perf's header ("JiTD", version 1)
# and holds one JIT_CODE_LOAD record per fragment of the same run's
# -profile, at its TC address, with its bytes as emitted, each with its own
# code index.
"$vmx" -kernel "$g/bench_loop.elf" -append iters=1000 -jitdump -profile "$tmp/jd.json" </dev/null >/dev/null 2>&1 &
pid=$!
wait $pid
st=$?
if [ -s "/tmp/jit-$pid.dump" ]; then
	mv "/tmp/jit-$pid.dump" "$tmp/jit.dump"
	jit_walk "$tmp/jit.dump" >"$tmp/jit.txt"
	awk '/"tc": [0-9]+, "tc_len": / { match($0, /"tc": [0-9]+/); tc = substr($0, RSTART + 6, RLENGTH - 6)
			match($0, /"tc_len": [0-9]+/); len = substr($0, RSTART + 10, RLENGTH - 10)
			match($0, /"tc_bytes": "[0-9a-f]*"/); print 0, tc, len, substr($0, RSTART + 13, RLENGTH - 14) }' \
		"$tmp/jd.json" | sort >"$tmp/jit.want"
	grep -v '^header' "$tmp/jit.txt" | awk '{ print $1, $2, $3, $4 }' | sort >"$tmp/jit.got"
	nrec=$(grep -vc '^header' "$tmp/jit.txt") nfrag=$(wc -l <"$tmp/jit.want")
	idx=$(grep -v '^header' "$tmp/jit.txt" | awk '{ print $5 }' | sort -u | wc -l)
	if [ $st -eq 1 ] && [ "$(head -1 "$tmp/jit.txt")" = "header 1 1 40 3 $pid" ] && [ "$nfrag" -ge 10 ] &&
	   [ "$nrec" -eq "$nfrag" ] && [ "$idx" -eq "$nrec" ] && cmp -s "$tmp/jit.got" "$tmp/jit.want"; then
		ok jitdump-is-profile
	else
		bad jitdump-is-profile "status $st, $(head -1 "$tmp/jit.txt"), $nrec records, $nfrag fragments, $idx indexes"
	fi
else
	bad jitdump-is-profile "status $st, no /tmp/jit-$pid.dump"
fi
rm -f "/tmp/perf-$pid.map"

# A signal that ends vmx leaves both files whole: the records still in
# memory are written out (a compute loop never idles, where they would be).
"$vmx" -kernel "$g/bench_loop.elf" -append iters=2000000000 -perf-map -jitdump </dev/null >/dev/null 2>&1 &
pid=$!
sleep 2
kill -TERM $pid
wait $pid
st=$?
if [ -f "/tmp/perf-$pid.map" ] && [ -f "/tmp/jit-$pid.dump" ]; then
	mv "/tmp/perf-$pid.map" "$tmp/sig.map"
	mv "/tmp/jit-$pid.dump" "$tmp/sig.dump"
	lines=$(wc -l <"$tmp/sig.map")
	badl=$(grep -cv '^[0-9a-f]* [0-9a-f]* guest_[0-9a-f]\{8\}_cpl[0-3]_g[1-9][0-9]*\(\[.*\]\)\{0,1\}$' "$tmp/sig.map")
	recs=$(jit_walk "$tmp/sig.dump" | grep -vc '^header\|^trailing')
	if [ $st -eq 143 ] && [ "$lines" -ge 10 ] && [ "$badl" -eq 0 ] && [ "$recs" -eq "$lines" ] &&
	   ! jit_walk "$tmp/sig.dump" | grep -q '^trailing'; then
		ok perf-files-whole-after-sigterm
	else
		bad perf-files-whole-after-sigterm "status $st, $lines lines ($badl malformed), $recs records"
	fi
else
	bad perf-files-whole-after-sigterm "status $st, no /tmp/perf-$pid.map or /tmp/jit-$pid.dump"
fi

# -world: this host has no /dev/vmmon (make check-driver runs -world vmmon
# inside a host that has it). vmmon without the device is one line and
# status 2; auto falls back to user; the world is named only with -world.
expect_error world-unknown 2 "unknown world 'kvm'; valid worlds: user, vmmon, auto" -kernel "$g/hello.elf" -world kvm
if [ ! -e /dev/vmmon ]; then
	expect_error world-vmmon-no-device 2 "^vmx: -world vmmon: cannot open /dev/vmmon" -kernel "$g/hello.elf" -world vmmon
	"$vmx" -kernel "$g/hello.elf" -world auto </dev/null >"$tmp/out" 2>"$tmp/err"
	st=$?
	if [ $st -eq 1 ] && grep -q "^PASS hello" "$tmp/out" && [ "$(cat "$tmp/err")" = "vmx: world user" ]; then
		ok world-auto-falls-back-to-user
	else bad world-auto-falls-back-to-user "status $st: $(head -c 200 "$tmp/err")"; fi
fi
"$vmx" -kernel "$g/hello.elf" -world user -stats - </dev/null >"$tmp/out" 2>"$tmp/err"
st=$?
if [ $st -eq 1 ] && grep -q "^PASS hello" "$tmp/out" && [ "$(head -1 "$tmp/err")" = "vmx: world user" ] &&
   ! grep -q "^vmmon\." "$tmp/err"; then ok world-user-named
else bad world-user-named "status $st: $(head -c 200 "$tmp/err")"; fi
"$vmx" -kernel "$g/hello.elf" </dev/null >"$tmp/out" 2>"$tmp/err"
if [ ! -s "$tmp/err" ]; then ok world-default-silent; else bad world-default-silent "$(head -c 200 "$tmp/err")"; fi
"$vmx" -help | grep -q -- "-world WORLD" && ok world-in-help || bad world-in-help "-help lacks -world"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
