#!/usr/bin/env bash
# Fetches the Linux guest from Debian's archive, never from anywhere else:
# the current non-PAE i386 kernel (the one linux-image-686:i386 depends on,
# unsigned) and busybox-static:i386, with `apt-get download`. Extracts the
# bzImage and busybox into OUT (default build/linux). Nothing is pinned: the
# versions are whatever the archive serves today, and a kernel that is
# already there is kept (delete OUT to fetch again).
# Usage: fetch-guest.sh [OUT]
set -eu
out=${1:-build/linux}
mkdir -p "$out"
if [ -s "$out/bzImage" ] && [ -s "$out/busybox" ]; then
	exit 0
fi
say() { echo "fetch-guest: $*" >&2; }

# i386 packages are visible only once dpkg knows the architecture.
if ! apt-cache policy linux-image-686:i386 2>/dev/null | grep -q 'Candidate: [0-9]'; then
	if [ "$(id -u)" != 0 ]; then
		say "the i386 packages are not visible; as root run: dpkg --add-architecture i386 && apt-get update"
		exit 1
	fi
	dpkg --print-foreign-architectures | grep -qx i386 || dpkg --add-architecture i386
	say "apt-get update (adding the i386 architecture's package lists)"
	apt-get update -qq
fi
# linux-image-686 -> linux-image-<abi>-686 (signed variant on some
# architectures); the unsigned package carries the same kernel.
kpkg=$(apt-cache depends linux-image-686:i386 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ { sub(":i386", "", $2); print $2; exit }')
[ -n "$kpkg" ] || { say "cannot resolve linux-image-686:i386 to a kernel package"; exit 1; }
case "$kpkg" in *-unsigned) ;; *) kpkg=$kpkg-unsigned ;; esac
say "downloading $kpkg:i386 and busybox-static:i386 from Debian's archive"
# apt's sandbox user cannot write to a root-owned folder: download in /tmp.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
(cd "$tmp" && apt-get download -qq "$kpkg:i386" busybox-static:i386 >/dev/null 2>"$tmp/err") ||
	{ cat "$tmp/err" >&2; say "apt-get download failed"; exit 1; }
mkdir -p "$tmp/k" "$tmp/b"
dpkg-deb -x "$tmp"/linux-image-*.deb "$tmp/k"
dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/b"
kimg=$(ls "$tmp"/k/boot/vmlinuz-* | head -n 1)
cp "$kimg" "$out/bzImage.tmp" && mv "$out/bzImage.tmp" "$out/bzImage"
basename "$kimg" | sed 's/^vmlinuz-//' >"$out/kernel-version"
cp "$tmp/b/bin/busybox" "$out/busybox.tmp" && mv "$out/busybox.tmp" "$out/busybox"
say "kernel $(cat "$out/kernel-version"), busybox $(dpkg-deb -f "$tmp"/busybox-static_*.deb Version)"
