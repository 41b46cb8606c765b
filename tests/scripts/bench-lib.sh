# Shared by the benchmark scripts (sourced, not run).
# best_ns CMD...: the best wall time of 3 runs of CMD, in nanoseconds
# (these machines are noisy: the minimum is the least disturbed run).
best_ns() {
	local best=0 s e t
	for _ in 1 2 3; do
		s=$(date +%s%N)
		"$@" >/dev/null 2>&1 </dev/null
		e=$(date +%s%N)
		t=$((e - s))
		if [ "$best" -eq 0 ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	echo "$best"
}
