#!/usr/bin/env bash
# Runs the Linux guest test's user program (tests/linux/userprog.c) natively
# on the host: every check must say ok before the program goes into a guest.
# Usage: run-userprog.sh USERPROG
set -u
prog=$1
out=$("$prog" 2>&1)
st=$?
if [ $st -eq 0 ] && ! grep -q '^FAIL' <<<"$out" && tail -1 <<<"$out" | grep -q '^userprog: [0-9]* passed, 0 failed$'; then
	echo "ok   $prog (native): $(tail -1 <<<"$out")"
else
	echo "FAIL $prog (native): exit status $st"
	echo "$out"
	exit 1
fi
