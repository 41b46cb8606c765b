#!/usr/bin/env bash
# Exit 0 when clang can build a libFuzzer harness with ASan and UBSan here
# (Debian: clang, libclang-rt-14-dev); otherwise say what is missing.
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$t/p.c"
if ! command -v "${CLANG:-clang}" >/dev/null; then
	echo "no clang"
	exit 1
fi
"${CLANG:-clang}" -fsanitize=fuzzer,address,undefined -o "$t/p" "$t/p.c" 2>"$t/err" || { head -1 "$t/err"; exit 1; }
