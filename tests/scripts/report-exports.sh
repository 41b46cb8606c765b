#!/usr/bin/env bash
# vmx-report's exports, checked against the same profile's --json: the
# callgrind file's totals and one function per listed fragment, the drcov
# file's block table, both files read back by independent parsers
# (export_formats.py) and callgrind_annotate, and the --html page opened in Debian's headless
# chromium: no script or console errors, and each chart holding the run's
# figures. Without chromium the page check says SKIP loudly (CI installs it).
# Usage: report-exports.sh VMX-REPORT PROFILE.json TMPDIR; prints PASS/FAIL/SKIP lines, status 1 on a failure.
set -u
report=$1 prof=$2 tmp=$3
fail=0
ok() { echo "PASS cli $1"; }
bad() { fail=1; echo "FAIL cli $1: $2"; }

"$report" "$prof" --top 5 --json >"$tmp/rep.json" || bad report-json "status $?"

# --callgrind: Ir summed over the cost lines is the guest instructions
# executed in the listed fragments, and the summary line says the same.
if "$report" "$prof" --callgrind "$tmp/cg.out" 2>"$tmp/cg.err"; then
	want=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["totals"]["insn_executions"])' "$tmp/rep.json")
	sum=$(awk '/^0x/ { s += $2 } END { print s + 0 }' "$tmp/cg.out")
	summ=$(awk '/^summary:/ { print $2 }' "$tmp/cg.out")
	if [ "$sum" = "$want" ] && [ "$summ" = "$want" ] && head -1 "$tmp/cg.out" | grep -q '^# callgrind format'; then
		if command -v callgrind_annotate >/dev/null && ! callgrind_annotate "$tmp/cg.out" >"$tmp/cga" 2>&1; then
			bad report-callgrind "callgrind_annotate rejects it: $(head -c 200 "$tmp/cga")"
		else
			ok report-callgrind
		fi
	else
		bad report-callgrind "Ir sum $sum, summary $summ, want $want"
	fi
else
	bad report-callgrind "status $?: $(cat "$tmp/cg.err")"
fi

# --drcov: the header, two modules, and one 8-byte entry per executed block.
if "$report" "$prof" --drcov "$tmp/cov.drcov" 2>"$tmp/cov.err"; then
	n=$(sed -n 's/^BB Table: \([0-9]*\) bbs$/\1/p' "$tmp/cov.drcov")
	hdr=$(grep -a -c '^DRCOV VERSION: 2$\|^Module Table: version 2, count 2$\|guest-kernel$' "$tmp/cov.drcov")
	hlen=$(grep -a -b '^BB Table:' "$tmp/cov.drcov" | cut -d: -f1)
	hl=$(grep -a '^BB Table:' "$tmp/cov.drcov" | wc -c)
	size=$(stat -c %s "$tmp/cov.drcov")
	want=$(python3 - "$prof" <<'PY'
import json,sys
d=json.load(open(sys.argv[1]))
print(len({(f["cpl"]==3, f["cs_base"]+f["pc"], f["guest_len"]) for f in d["fragments"] if f["execs"]}))
PY
)
	if [ -n "$n" ] && [ "$n" = "$want" ] && [ "$hdr" -eq 3 ] && [ $((hlen + hl + 8 * n)) -eq "$size" ]; then
		ok report-drcov
	else
		bad report-drcov "$n blocks (want $want), header lines $hdr, size $size"
	fi
else
	bad report-drcov "status $?: $(cat "$tmp/cov.err")"
fi

# Both files read by parsers written from the formats' descriptions
# (tests/scripts/export_formats.py): drcov's header, module table and
# entries give back exactly the executed fragments; the callgrind file's
# every line is of the format, its Ir per function is the fragments', and
# callgrind_annotate (Valgrind's reader of what KCachegrind reads) shows
# the same totals and per-function figures.
if [ -s "$tmp/cov.drcov" ] && [ -s "$tmp/cg.out" ]; then
	ann=()
	if command -v callgrind_annotate >/dev/null && callgrind_annotate "$tmp/cg.out" >"$tmp/cga.txt" 2>&1; then
		ann=("$tmp/cga.txt")
	fi
	if why=$(python3 "$(dirname "$0")/export_formats.py" "$prof" "$tmp/cov.drcov" "$tmp/cg.out" "${ann[@]}" 2>&1); then
		ok report-export-readers
	else
		bad report-export-readers "$why"
	fi
else
	bad report-export-readers "no drcov or callgrind file"
fi

# --html in headless chromium.
if ! "$report" "$prof" --top 5 --html "$tmp/page.html" 2>"$tmp/html.err"; then
	bad report-html "status $?: $(cat "$tmp/html.err")"
elif grep -q 'src="http\|href="http\|<link' "$tmp/page.html"; then
	bad report-html "the page refers to the network"
elif ! command -v chromium >/dev/null; then
	echo "SKIP cli report-html-chromium: chromium is not installed (apt-get install chromium): THE PAGE WAS NOT CHECKED"
else
	rm -rf "$tmp/chromium"
	timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$tmp/chromium" --enable-logging=stderr --v=0 \
		--dump-dom "file://$tmp/page.html" >"$tmp/dom.html" 2>"$tmp/chromium.err"
	st=$?
	why=$(python3 - "$tmp/dom.html" "$tmp/rep.json" "$tmp/chromium.err" <<'PY'
import html, json, re, sys
dom = open(sys.argv[1]).read()
rep = json.load(open(sys.argv[2]))
log = open(sys.argv[3], errors="replace").read()
m = re.search(r'<pre id="errors">(.*?)</pre>', dom, re.S)
if not m: sys.exit("no errors element in the DOM (the page did not load?)")
if m.group(1).strip(): sys.exit("script error: " + html.unescape(m.group(1))[:200])
cons = [l for l in log.splitlines() if "CONSOLE" in l]
if cons: sys.exit("console: " + cons[0][:200])
m = re.search(r'<pre id="chart-data"[^>]*>(.*?)</pre>', dom, re.S)
if not m or not m.group(1): sys.exit("the charts wrote nothing")
held = json.loads(html.unescape(m.group(1)))
st = rep["study"]
def data(c, i=0): return held[c]["datasets"][i]["data"]
checks = [
  ("hot", data("hot"), [f["heat"] for f in rep["top"]]),
  ("time", data("time"), [b["cycles"] for b in st["time"]["buckets"] if b["cycles"] > 0]),
  ("callouts", data("callouts"), [k["cycles"] for k in st["exits"]["by_kind"]]),
  ("causes", data("causes"), [c["retranslate_cycles"] for c in st["invalidations"]["by_cause"]]),
  ("occupancy", data("occupancy"), st["occupancy"]["tc_bytes"]),
]
for name, got, want in checks:
  if got != want: sys.exit("chart %s holds %s, the profile says %s" % (name, str(got)[:80], str(want)[:80]))
if not want or not data("hot") or not data("time"): sys.exit("empty charts")
PY
)
	if [ $st -eq 0 ] && [ -z "$why" ]; then ok report-html-chromium; else bad report-html-chromium "status $st: $why"; fi
fi
exit $fail
