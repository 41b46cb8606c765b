#!/usr/bin/env bash
# Fetches memtest86+ from Debian's archive with `apt-get download`, never
# from anywhere else, and extracts its 32-bit image (a Linux boot-protocol
# bzImage, /boot/memtest86+ia32.bin in Debian 12's package) into OUT
# (default build/memtest). Nothing is pinned; an image already there is
# kept (delete OUT to fetch again).
# Usage: fetch-memtest.sh [OUT]
set -eu
out=${1:-build/memtest}
mkdir -p "$out"
[ -s "$out/memtest86+ia32.bin" ] && exit 0
say() { echo "fetch-memtest: $*" >&2; }
say "downloading memtest86+ from Debian's archive"
# apt's sandbox user cannot write to a root-owned folder: download in /tmp.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
(cd "$tmp" && apt-get download -qq memtest86+ >/dev/null 2>"$tmp/err") ||
	{ cat "$tmp/err" >&2; say "apt-get download failed"; exit 1; }
dpkg-deb -x "$tmp"/memtest86+_*.deb "$tmp/x"
img=$(ls "$tmp"/x/boot/memtest86+ia32.bin "$tmp"/x/boot/mt86+x32 2>/dev/null | head -n 1)
[ -n "$img" ] || { say "the package has no 32-bit image (looked for boot/memtest86+ia32.bin, boot/mt86+x32)"; exit 1; }
cp "$img" "$out/memtest86+ia32.bin.tmp" && mv "$out/memtest86+ia32.bin.tmp" "$out/memtest86+ia32.bin"
dpkg-deb -f "$tmp"/memtest86+_*.deb Version >"$out/version"
say "memtest86+ $(cat "$out/version")"
