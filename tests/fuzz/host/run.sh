#!/usr/bin/env bash
# Runs each parser fuzzer (tests/fuzz/host, libFuzzer): first on its kept
# regression inputs (regress/NAME/, each once), then for SECONDS from the
# seeds in a fresh working corpus. A crash, a sanitizer report, a leak or
# an input slower than 10 s fails the run; the input is left in
# OUT/crash-NAME-* (minimize it, fix the parser, keep it in regress/NAME/).
# Usage: run.sh OUT SECONDS NAME...   (FUZZ_PROFILE for the stats fuzzer)
set -u
out=$1 secs=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
# ASan's default 256 MiB quarantine of freed memory would take each
# harness to about 500 MiB on a machine the test suites share; 16 MiB
# still catches a use after free of the last few thousand blocks.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=16}
fail=0
for name in "$@"; do
	bin=$out/fuzz_$name
	reg=$here/regress/$name
	if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then
		if "$bin" -close_fd_mask=1 "$reg"/* >"$out/$name.regress.log" 2>&1; then
			echo "PASS parsers $name-regress ($(ls "$reg" | wc -l) inputs)"
		else
			echo "FAIL parsers $name-regress: $(grep -m1 -E 'ERROR|runtime error|Running:' "$out/$name.regress.log")"
			fail=1
		fi
	fi
	work=$out/work/$name
	rm -rf "$work"
	mkdir -p "$work"
	cp "$out/seeds/$name"/* "$work"/
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -close_fd_mask=1 -print_final_stats=1 \
		-artifact_prefix="$out/crash-$name-" "$work" >"$out/$name.log" 2>&1
	st=$?
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$name.log" | grep -o '[0-9]*$')
	cov=$(grep -o 'cov: [0-9]*' "$out/$name.log" | tail -1 | grep -o '[0-9]*')
	if [ $st -eq 0 ]; then
		echo "PASS parsers $name (${runs:-?} inputs in $secs s, $(ls "$work" | wc -l) in the corpus, coverage ${cov:-?} edges)"
	else
		echo "FAIL parsers $name: status $st, $(grep -m1 -E 'ERROR|runtime error' "$out/$name.log"); input in $(ls "$out"/crash-"$name"-* 2>/dev/null | head -1); log $out/$name.log"
		fail=1
	fi
done
exit $fail
