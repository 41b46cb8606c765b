#!/usr/bin/env bash
# Installs the Debian packages given as arguments if any is missing (as
# root), or prints the command to run (otherwise).
set -eu
missing=()
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq "${missing[@]}" >&2
else
	echo "deps: missing Debian packages; run: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
