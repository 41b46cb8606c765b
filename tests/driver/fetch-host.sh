#!/usr/bin/env bash
# Fetches the amd64 host that `make check-driver` boots in QEMU, from
# Debian's archive only: the kernel image whose ABI matches the installed
# linux-headers-amd64 (so the module built against those headers loads into
# it) and busybox-static:amd64, with `apt-get download`. Writes OUT/vmlinuz,
# OUT/busybox, OUT/kernel-version and OUT/headers (the headers' path).
# Usage: fetch-host.sh OUT
set -eu
out=${1:?usage: fetch-host.sh OUT}
say() { echo "fetch-host: $*" >&2; }
mkdir -p "$out"
# linux-headers-amd64 depends on linux-headers-<abi>-amd64 (= <version>).
dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null | tr ',' '\n' |
	sed -n 's/^ *\(linux-headers-[0-9][^ ]*-amd64\) *(= *\([^)]*\)).*/\1 \2/p' | head -n 1)
if [ -z "$dep" ]; then
	say "linux-headers-amd64 is not installed (as root: apt-get install linux-headers-amd64)"
	exit 1
fi
hpkg=${dep% *} hver=${dep#* }
abi=${hpkg#linux-headers-}
hdir=/usr/src/$hpkg
[ -f "$hdir/Makefile" ] || { say "$hdir is missing"; exit 1; }
if [ -s "$out/vmlinuz" ] && [ -s "$out/busybox" ] && [ "$(cat "$out/kernel-version" 2>/dev/null)" = "$abi $hver" ]; then
	exit 0
fi
kpkg=linux-image-$abi-unsigned
say "downloading $kpkg ($hver) and busybox-static:amd64 from Debian's archive"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt's sandbox user cannot write to a root-owned folder.
chmod 755 "$tmp"
(cd "$tmp" && apt-get download -qq "$kpkg=$hver" busybox-static:amd64 >/dev/null 2>"$tmp/err") ||
	{ cat "$tmp/err" >&2; say "apt-get download failed"; exit 1; }
mkdir -p "$tmp/k" "$tmp/b"
dpkg-deb --fsys-tarfile "$tmp"/linux-image-*.deb | tar -x -C "$tmp/k" --wildcards './boot/vmlinuz-*'
dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/b"
cp "$tmp"/k/boot/vmlinuz-"$abi" "$out/vmlinuz.tmp" && mv "$out/vmlinuz.tmp" "$out/vmlinuz"
cp "$tmp/b/bin/busybox" "$out/busybox.tmp" && mv "$out/busybox.tmp" "$out/busybox"
echo "$hdir" >"$out/headers"
echo "$abi $hver" >"$out/kernel-version"
say "kernel $abi ($hver), headers $hdir"
