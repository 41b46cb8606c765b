#!/usr/bin/env bash
# Builds a reproducible initramfs (newc cpio, gzip -n; every file owned by
# root with mtime 0, in sorted order) holding busybox, an /init from
# tests/linux/, and any extra files. The same inputs give the same bytes.
# Usage: mkinitramfs.sh OUT.cpio.gz BUSYBOX INIT [SRC:DEST ...]
set -eu
[ $# -ge 3 ] || { echo "usage: $0 OUT.cpio.gz BUSYBOX INIT [SRC:DEST ...]" >&2; exit 64; }
outf=$1 busybox=$2 init=$3
shift 3
command -v cpio >/dev/null || { echo "mkinitramfs: cpio is missing (Debian package cpio)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/sbin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/etc" "$root/root"
install -m 755 "$busybox" "$root/bin/busybox"
install -m 755 "$init" "$root/init"
for f in "$@"; do
	mkdir -p "$root/$(dirname "${f#*:}")"
	install -m 755 "${f%%:*}" "$root/${f#*:}"
done
# The kernel needs /dev/console before devtmpfs is mounted, for init's
# standard streams.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) |
	gzip -9 -n >"$outf.tmp"
mv "$outf.tmp" "$outf"
