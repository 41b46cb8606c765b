#!/usr/bin/env bash
# Seeds for the parser fuzzers, from real inputs: test guests (stripped,
# and cut short), a multiboot image loaded by its header's addresses, the Linux guest's bzImage header with a little of its
# kernel (when build/linux has it) and a small header written here, option
# lists as README gives them, and a profile and -stats file of a vmx run.
# Usage: seeds.sh OUT VMX GUEST_DIR [BZIMAGE]
set -eu
out=$1 vmx=$2 g=$3 bz=${4:-}
rm -rf "$out"
mkdir -p "$out"/{elf,bzimage,options,profile,stats}

for n in hello mb_low mb_modules jcc; do
	[ -f "$g/$n.elf" ] || continue
	strip -o "$out/elf/$n.elf" "$g/$n.elf"
	head -c 300 "$out/elf/$n.elf" >"$out/elf/$n.cut300"
done

# A flat image loaded by the multiboot header's address fields (flag 16,
# the "a.out kludge"): header at 0 giving load 1 MiB, the file's end, a
# page of bss, entry just after the header; then hlt.
perl -e '
	my $flags = 0x00010003;
	print pack("V*", 0x1badb002, $flags, (-(0x1badb002 + $flags)) & 0xffffffff,
		   0x100000, 0x100000, 0, 0x102000, 0x100020), "\xf4" x 480;' >"$out/elf/aout-kludge"

# A bzImage header: one setup sector, boot flag, "HdrS", protocol 2.15,
# LOADED_HIGH, code32_start 1 MiB, relocatable, 2 MiB alignment, a command
# line of up to 2047 bytes, pref_address 16 MiB, init_size 1 MiB; then a
# sector of "kernel".
perl -e '
	my $h = "\0" x 1024;
	sub put { my ($off, $fmt, $v) = @_; my $b = pack($fmt, $v); substr($h, $off, length $b) = $b }
	put(0x1f1, "C", 1); put(0x1fe, "v", 0xaa55); put(0x200, "C", 0xeb); put(0x201, "C", 0x6a);
	substr($h, 0x202, 4) = "HdrS"; put(0x206, "v", 0x020f); put(0x211, "C", 1);
	put(0x214, "V", 0x100000); put(0x22c, "V", 0x37ffffff); put(0x230, "V", 0x200000); put(0x234, "C", 1);
	put(0x238, "V", 2047); put(0x258, "V", 0x1000000); put(0x25c, "V", 0); put(0x260, "V", 0x100000);
	print $h, "\xf4" x 512;' >"$out/bzimage/synthetic"
if [ -n "$bz" ] && [ -f "$bz" ]; then
	# The real header and setup code, then 8 KiB of the kernel; syssize
	# (0x1f4) cleared so the cut image still loads.
	setup=$(od -An -tu1 -j$((0x1f1)) -N1 "$bz" | tr -d ' ')
	[ "$setup" -eq 0 ] && setup=4
	head -c $(((setup + 1) * 512 + 8192)) "$bz" >"$out/bzimage/debian"
	printf '\0\0\0\0' | dd of="$out/bzimage/debian" bs=1 seek=$((0x1f4)) conv=notrunc status=none
fi

args() { local f=$1; shift; printf '%s\0' "$@" | head -c -1 >"$out/options/$f"; }
args kernel -kernel hello.elf
args linux -kernel bzImage -initrd initrd.cpio.gz -append "console=ttyS0 panic=-1" -m 256
args stats -kernel k.elf -stats - -profile p.json -perf-map -jitdump -trace bt,callout,trap,irq,io
args tc -kernel k.elf -tc-size 64K -mode bt -machine pc -sandbox off -console-eof 4
args drive -kernel k.elf -drive file=disk.img,format=raw,if=ide,index=1 -device pc-testdev
args help -help

"$vmx" -kernel "$g/hello.elf" -profile "$out/profile/hello.json" -stats "$out/stats/hello.json" </dev/null >/dev/null 2>&1 || true
"$vmx" -kernel "$g/mb_low.elf" -tc-size 64 -profile "$out/profile/mb_low.json" -stats "$out/stats/mb_low.json" </dev/null >/dev/null 2>&1 || true
[ -s "$out/profile/hello.json" ] && [ -s "$out/stats/hello.json" ] || { echo "seeds.sh: vmx wrote no profile" >&2; exit 1; }
