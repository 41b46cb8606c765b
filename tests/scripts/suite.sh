#!/usr/bin/env bash
# Runs one test suite and prints how long it took, so `make check` shows
# where its time goes. Usage: suite.sh NAME COMMAND [ARG...]
name=$1; shift
start=$(date +%s.%N)
"$@"
st=$?
awk -v n="$name" -v a="$start" -v b="$(date +%s.%N)" -v s="$st" \
	'BEGIN { printf "suite %s: %.1f s%s\n", n, b - a, s == 0 ? "" : " (failed)" }'
exit $st
