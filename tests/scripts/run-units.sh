#!/usr/bin/env bash
# Runs cmocka unit test binaries; prints each one's result and a closing
# "N passed, N failed" line; exits non-zero if any failed.
set -u
pass=0 fail=0
for t in "$@"; do
	if out=$("$t" 2>&1); then
		pass=$((pass + 1))
		echo "ok   $t: $(echo "$out" | grep -E '^\[  PASSED  \]' | tail -1)"
	else
		fail=$((fail + 1))
		echo "FAIL $t"
		echo "$out" | tail -30
	fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
