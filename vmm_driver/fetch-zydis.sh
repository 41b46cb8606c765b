#!/usr/bin/env bash
# Fetches Zydis's Debian source package (the version libzydis-dev has) for
# the driver world's freestanding decoder build, with `apt-get source`
# through a private apt configuration under OUT: a deb-src line for the
# archive the system's sources already name, its own package lists and
# cache, so the system's apt setup is left as it was. Unpacks it to OUT/src.
# Usage: fetch-zydis.sh OUT
set -eu
out=$(realpath -m "${1:?usage: fetch-zydis.sh OUT}")
say() { echo "fetch-zydis: $*" >&2; }
ver=$(dpkg-query -W -f='${Version}' libzydis-dev 2>/dev/null) || { say "libzydis-dev is not installed"; exit 1; }
if [ -f "$out/src/include/Zydis/Zydis.h" ] && [ "$(cat "$out/version" 2>/dev/null)" = "$ver" ]; then
	exit 0
fi
# The archive and suite the system installs from: the first deb stanza of
# its deb822 sources, or the first `deb` line of sources.list.
uri= suite=
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	read -r uri suite < <(awk '/^Types:.*deb/ { t = 1 } /^URIs:/ && t && !u { u = $2 } /^Suites:/ && t && !s { s = $2 }
		END { print u, s }' "$f")
	[ -n "$uri" ] && break
done
if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
	read -r uri suite < <(awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++; if ($2 ~ /^\[/) i++; print $i, $(i + 1); exit }' /etc/apt/sources.list)
fi
[ -n "$uri" ] && [ -n "$suite" ] || { say "cannot find the system's Debian archive in its apt sources"; exit 1; }
rm -rf "$out" && mkdir -p "$out/apt/lists/partial" "$out/apt/cache/archives/partial" "$out/dl"
# apt's sandbox user must be able to write where it downloads.
chmod 755 "$out" "$out/dl"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" >"$out/apt/sources.list"
apt_opts=(-o Dir::Etc::SourceList="$out/apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
	-o Dir::State::Lists="$out/apt/lists" -o Dir::Cache="$out/apt/cache" -qq)
say "apt-get source zydis=$ver from $uri $suite (private package lists in $out/apt)"
apt-get "${apt_opts[@]}" update >"$out/apt/log" 2>&1 || { cat "$out/apt/log" >&2; exit 1; }
(cd "$out/dl" && apt-get "${apt_opts[@]}" source --download-only "zydis=$ver") >>"$out/apt/log" 2>&1 ||
	{ cat "$out/apt/log" >&2; say "apt-get source failed"; exit 1; }
dpkg-source -x "$out"/dl/zydis_*.dsc "$out/src.tmp" >>"$out/apt/log" 2>&1 || { cat "$out/apt/log" >&2; exit 1; }
mv "$out/src.tmp" "$out/src"
rm -rf "$out/apt/lists" "$out/apt/cache"
echo "$ver" >"$out/version"
say "Zydis $ver unpacked in $out/src"
