#!/usr/bin/env bash
# Differential fuzzing driver: builds fuzz guests from generated or corpus
# cases, runs each under qemu-system-i386 and under every vmx configuration,
# diffs the checksum lines, minimizes each new difference into the corpus
# and reports throughput. Usage (the Makefile sets the environment):
#   fuzz.sh check                  corpus + a fixed-seed random run (make check)
#   fuzz.sh run SECONDS [SEED]     random rounds until SECONDS have passed
#   fuzz.sh corpus                 the corpus only
#   fuzz.sh oracle CASE            exit 0 if CASE differs under some config
#   fuzz.sh show CASE              its output under each VM, and the guest
set -u

: "${VMX:=build/vmx}" "${FUZZ_GEN:=build/fuzz/gen}" "${FUZZ_MIN:=build/fuzz/minimize}"
: "${FUZZ_ASM:?set by the Makefile}" "${FUZZ_LD:?set by the Makefile}" "${FUZZ_OBJS:?set by the Makefile}"
: "${VMX_MODES:=bt}"		# every value vmx's -mode accepts
: "${FUZZ_SEED:=1}"
: "${FUZZ_NSEQ:=100}"		# sequences per guest
: "${FUZZ_NUNITS:=60}"		# units per sequence
: "${FUZZ_MAX_FINDS:=8}"	# minimizations per run (each takes a while)
here=$(cd "$(dirname "$0")" && pwd)
corpus=${FUZZ_CORPUS:-$here/corpus}
out=${FUZZ_OUT:-build/fuzz}
seeds=4				# FZ_SEEDS in harness.h
mkdir -p "$out"

# vmx configurations: each mode, and each mode with a cache small enough to
# be flushed many times per guest.
configs=()
for m in $VMX_MODES; do
	configs+=("$m:-mode $m" "$m-tc64:-mode $m -tc-size 64")
done

# build_guest BASE CASE...: BASE.elf; BASE.count holds the instruction count.
build_guest() {
	local base=$1
	shift
	"$FUZZ_GEN" asm "$base.S" "$@" >"$base.count" &&
		$FUZZ_ASM -c "$base.S" -o "$base.o" &&
		$FUZZ_LD -o "$base.elf" $FUZZ_OBJS "$base.o"
}

# run_guest BASE TIMEOUT: BASE.qemu.{out,st} and BASE.<config>.{out,st}.
# QEMU runs beside the vmx configurations (two cores).
run_guest() {
	local base=$1 t=$2 c name args
	(
		timeout "$t" "$here/../scripts/qemu-guest.sh" "$base.elf" >"$base.qemu.out" 2>"$base.qemu.err"
		echo $? >"$base.qemu.st"
	) &
	for c in "${configs[@]}"; do
		name=${c%%:*} args=${c#*:}
		# shellcheck disable=SC2086
		timeout "$t" "$VMX" -kernel "$base.elf" $args </dev/null >"$base.$name.out" 2>"$base.$name.err"
		echo $? >"$base.$name.st"
	done
	wait
}

# differs BASE CONFIG: true when the config's status or output differs.
differs() {
	[ "$(cat "$1.qemu.st")" != "$(cat "$1.$2.st")" ] || ! cmp -s "$1.qemu.out" "$1.$2.out"
}

# suspects BASE CONFIG: the sequences whose lines differ. When the runs
# diverge (a crash, a hang, a different line count) only the first one is
# a suspect: the rest did not run under one of the two.
suspects() {
	awk -v same="$( [ "$(cat "$1.qemu.st")" = "$(cat "$1.$2.st")" ] && echo 1 || echo 0)" '
		FNR == NR { q[FNR] = $0; nq = FNR; next }
		{ v[FNR] = $0; nv = FNR }
		END {
			n = nq > nv ? nq : nv
			if (nq != nv) same = 0
			for (i = 1; i <= n; i++) {
				if (q[i] == v[i]) continue
				split(q[i] != "" ? q[i] : v[i], f, " ")
				name = f[1]; sub(/\.[0-9]+$/, "", name)
				if (!(name in seen)) { seen[name] = 1; print name }
				if (!same) exit
			}
		}' "$1.qemu.out" "$1.$2.out"
}

show_diff() {
	local base=$1 name=$2
	echo "  $name: status qemu $(cat "$base.qemu.st"), vmx $(cat "$base.$name.st")"
	diff "$base.qemu.out" "$base.$name.out" | head -6 | sed 's/^/  /'
	grep -m3 -i 'vmx:\|FAIL' "$base.$name.err" "$base.$name.out" 2>/dev/null | sed 's/^/  /'
}

cmd_oracle() {
	local case=$1 base c rc=1
	base=$(mktemp -d "$out/oracle.XXXXXX")/g
	build_guest "$base" "$case" || { rm -rf "$(dirname "$base")"; return 2; }
	run_guest "$base" 20
	if [ "$(cat "$base.qemu.st")" = 124 ]; then
		# A hang under QEMU is the generator's fault, not a difference.
		rm -rf "$(dirname "$base")"
		return 1
	fi
	for c in "${configs[@]}"; do
		differs "$base" "${c%%:*}" && rc=0
	done
	rm -rf "$(dirname "$base")"
	return $rc
}

finds=0
# minimize_into_corpus CASEFILE CONFIG ROUNDINFO
minimize_into_corpus() {
	local src=$1 cfg=$2 info=$3 name dst
	name=$(basename "$src" .case)
	dst=$corpus/$name.case
	if [ "$finds" -ge "$FUZZ_MAX_FINDS" ]; then
		echo "fuzz: $name differs under $cfg (not minimized: FUZZ_MAX_FINDS=$FUZZ_MAX_FINDS reached)"
		return
	fi
	finds=$((finds + 1))
	mkdir -p "$corpus"
	if ! "$FUZZ_MIN" "$src" "$out/$name.min" "$here/fuzz.sh oracle"; then
		echo "fuzz: $name differs only inside its guest (not alone): kept whole"
		cp "$src" "$out/$name.min"
	fi
	{
		echo "# found by $info under vmx config $cfg; minimized by tests/fuzz/minimize.c"
		grep -v '^# vmx fuzz case' "$out/$name.min"
	} >"$dst"
	echo "fuzz: new corpus case $dst:"
	grep '^u ' "$dst" | sed 's/^/    /'
}

# random_round SEED: one guest of FUZZ_NSEQ fresh sequences.
insns=0 compared=0 rounds=0 bad=0
random_round() {
	local seed=$1 dir base c name s
	dir=$out/round-$seed
	rm -rf "$dir"
	mkdir -p "$dir"
	"$FUZZ_GEN" random "$seed" "$FUZZ_NSEQ" "$FUZZ_NUNITS" "$dir" >/dev/null || return 2
	base=$dir/guest
	build_guest "$base" "$dir"/*.case || { echo "fuzz: seed $seed: guest does not build"; bad=$((bad + 1)); return; }
	run_guest "$base" 120
	rounds=$((rounds + 1))
	insns=$((insns + $(cat "$base.count")))
	compared=$((compared + $(cat "$base.count") * seeds))
	if [ "$(cat "$base.qemu.st")" != 1 ]; then
		echo "fuzz: seed $seed: QEMU status $(cat "$base.qemu.st") (a generator bug): see $base.qemu.out"
		bad=$((bad + 1))
		return
	fi
	for c in "${configs[@]}"; do
		name=${c%%:*}
		differs "$base" "$name" || continue
		bad=$((bad + 1))
		echo "fuzz: seed $seed: vmx config $name differs from QEMU"
		show_diff "$base" "$name"
		for s in $(suspects "$base" "$name"); do
			[ -f "$dir/$s.case" ] && [ ! -f "$corpus/$s.case" ] &&
				minimize_into_corpus "$dir/$s.case" "$name" "fuzz.sh random round seed $seed"
		done
	done
	[ -n "${FUZZ_KEEP:-}" ] || rm -f "$base.o" "$base.S"
}

# The corpus: cases expected to pass share one guest; each expected
# failure runs alone and must still differ (else its mark is stale).
cmd_corpus() {
	local pass=() xfail=() f base c fails=0 n
	for f in "$corpus"/*.case; do
		[ -e "$f" ] || continue
		if grep -q '^expect fail' "$f"; then xfail+=("$f"); else pass+=("$f"); fi
	done
	if [ ${#pass[@]} -gt 0 ]; then
		base=$out/corpus
		build_guest "$base" "${pass[@]}" || { echo "FAIL fuzz corpus: does not build"; return 1; }
		run_guest "$base" 60
		for c in "${configs[@]}"; do
			if differs "$base" "${c%%:*}"; then
				fails=$((fails + 1))
				echo "FAIL fuzz corpus under ${c%%:*}:"
				show_diff "$base" "${c%%:*}"
			fi
		done
	fi
	for f in "${xfail[@]}"; do
		n=$(basename "$f" .case)
		if cmd_oracle "$f"; then
			echo "XFAIL fuzz corpus $n (open difference, see tests/fuzz/README.md)"
		else
			fails=$((fails + 1))
			echo "FAIL fuzz corpus $n: marked 'expect fail' but vmx now agrees with QEMU: drop the mark"
		fi
	done
	echo "fuzz corpus: ${#pass[@]} cases passing, ${#xfail[@]} expected failures, $fails failed"
	[ "$fails" -eq 0 ]
}

report() {
	local t=$1
	[ "$t" -gt 0 ] || t=1
	echo "fuzz: $rounds rounds, $insns instructions generated ($((insns / t))/s)," \
		"$compared instruction runs compared under QEMU and ${#configs[@]} vmx configs" \
		"($((compared / t))/s) in ${t} s; $bad rounds with differences"
}

# cmd_random SECONDS SEED [ROUNDS]: rounds SEED, SEED+1, ... until the time
# is up, or exactly ROUNDS of them (reproducible whatever the machine).
cmd_random() {
	local budget=$1 seed=$2 max=${3:-0} start now n=0
	start=$(date +%s)
	while :; do
		random_round "$seed"
		seed=$((seed + 1)) n=$((n + 1))
		now=$(date +%s)
		if [ "$max" -gt 0 ]; then
			[ "$n" -lt "$max" ] || break
		else
			[ $((now - start)) -lt "$budget" ] || break
		fi
	done
	report $(($(date +%s) - start))
}

# show CASE: the case's lines under QEMU and each vmx config, side by side.
cmd_show() {
	local base c
	base=$(mktemp -d "$out/show.XXXXXX")/g
	build_guest "$base" "$1" || return 2
	run_guest "$base" 20
	echo "qemu (status $(cat "$base.qemu.st")):"
	sed "s/^/  /" "$base.qemu.out"
	for c in "${configs[@]}"; do
		if differs "$base" "${c%%:*}"; then show_diff "$base" "${c%%:*}"; else echo "  ${c%%:*}: same"; fi
	done
	echo "guest: $base.elf"
}

case "${1:-}" in
show) cmd_show "$2" ;;
oracle) cmd_oracle "$2" ;;
corpus) cmd_corpus ;;
run)
	cmd_random "${2:-60}" "${3:-$(date +%s)}"
	[ "$bad" -eq 0 ]
	;;
check)
	start=$(date +%s)
	cmd_corpus
	crc=$?
	cmd_random 0 "$FUZZ_SEED" "${FUZZ_CHECK_ROUNDS:-2}"
	echo "fuzz-check: $(($(date +%s) - start)) s"
	[ "$crc" -eq 0 ] && [ "$bad" -eq 0 ]
	;;
*)
	sed -n '2,12p' "$0" >&2
	exit 2
	;;
esac
