#!/usr/bin/env python3
# Readers of vmx-report's exports written from the formats' descriptions,
# not from vmx-report's code: a drcov (version 2) parser and a callgrind
# format line checker, both cross-checked against the profile, and
# callgrind_annotate's per-function totals (Valgrind's own reader of the
# format KCachegrind reads) against the fragments.
# Usage: export_formats.py PROFILE.json DRCOV CALLGRIND [ANNOTATE_OUTPUT];
# prints nothing and exits 0, or one line saying what is wrong.
import json
import re
import struct
import sys


def fail(msg):
    sys.exit(msg)


def parse_drcov(data):
    """drcov version 2: text header lines, a module table (its version's
    columns named on a Columns line), then "BB Table: N bbs" and N binary
    entries of u32 start (offset from the module's base), u16 size, u16
    module id, little-endian."""
    pos = 0

    def line():
        nonlocal pos
        end = data.index(b"\n", pos)
        s = data[pos:end].decode("ascii")
        pos = end + 1
        return s

    if line() != "DRCOV VERSION: 2":
        fail("drcov: no 'DRCOV VERSION: 2' first")
    fl = line()
    if not fl.startswith("DRCOV FLAVOR: "):
        fail("drcov: no flavor line")
    m = re.fullmatch(r"Module Table: version (\d+), count (\d+)", line())
    if not m:
        fail("drcov: no module table line")
    mver, mcount = int(m.group(1)), int(m.group(2))
    cols = line()
    if not cols.startswith("Columns: "):
        fail("drcov: no Columns line")
    names = [c.strip() for c in cols[len("Columns: "):].split(",")]
    want = {2: ["id", "base", "end", "entry", "checksum", "timestamp", "path"]}
    if mver in want and names != want[mver]:
        fail("drcov: module table version %d with columns %s" % (mver, names))
    mods = {}
    for _ in range(mcount):
        f = [x.strip() for x in line().split(",", len(names) - 1)]
        if len(f) != len(names):
            fail("drcov: a module row has %d columns" % len(f))
        row = dict(zip(names, f))
        mods[int(row["id"])] = (int(row["base"], 16), int(row["end"], 16), row["path"])
    m = re.fullmatch(r"BB Table: (\d+) bbs", line())
    if not m:
        fail("drcov: no BB Table line")
    n = int(m.group(1))
    if len(data) - pos != 8 * n:
        fail("drcov: %d bytes of entries for %d bbs" % (len(data) - pos, n))
    bbs = []
    for i in range(n):
        start, size, mod = struct.unpack_from("<IHH", data, pos + 8 * i)
        if mod not in mods:
            fail("drcov: bb %d in module %d, not in the table" % (i, mod))
        base, end, _ = mods[mod]
        if base + start + size > end:
            fail("drcov: bb %d runs past its module's end" % i)
        bbs.append((mods[mod][2], base + start, size))
    return mods, bbs


def check_callgrind(text, events_want):
    """The callgrind format's lines: a header (version, creator, cmd,
    positions, event and events, summary or totals), then ob=/fl=/fn=
    specifications and cost lines (a position, then one number per
    event)."""
    lines = text.split("\n")
    if not lines[0].startswith("# callgrind format"):
        fail("callgrind: first line")
    events = None
    positions = ["line"]
    per_fn = {}
    fn = None
    total = None
    for no, l in enumerate(lines[1:], 2):
        if not l or l.startswith("#"):
            continue
        m = re.fullmatch(r"([a-z]+): (.*)", l)
        if m and fn is None:
            k, v = m.groups()
            if k == "events":
                events = v.split()
            elif k == "positions":
                positions = v.split()
            elif k in ("summary", "totals"):
                total = [int(x) for x in v.split()]
            elif k not in ("version", "creator", "cmd", "event", "pid", "part", "desc"):
                fail("callgrind: line %d: unknown header %s" % (no, k))
            continue
        if re.fullmatch(r"(ob|fl|fi|fe|fn)=.+", l):
            if l.startswith("fn="):
                fn = l[3:]
                per_fn.setdefault(fn, [0] * len(events))
            continue
        f = l.split()
        if events is None or fn is None or len(f) != len(positions) + len(events):
            fail("callgrind: line %d is not a cost line: %r" % (no, l))
        if not re.fullmatch(r"0x[0-9a-f]+|\d+|[+-]\d+|\*", f[0]):
            fail("callgrind: line %d: position %r" % (no, f[0]))
        for k, x in enumerate(f[len(positions):]):
            per_fn[fn][k] += int(x)
    if events != events_want:
        fail("callgrind: events %s" % events)
    if total is None or [sum(v[k] for v in per_fn.values()) for k in range(len(events))] != total:
        fail("callgrind: the summary is not the sum of the cost lines")
    return per_fn, total


def main():
    prof = json.load(open(sys.argv[1]))
    frags = [f for f in prof["fragments"]]
    executed = [f for f in frags if f["execs"]]

    mods, bbs = parse_drcov(open(sys.argv[2], "rb").read())
    want = {("guest-user" if f["cpl"] == 3 else "guest-kernel", f["cs_base"] + f["pc"], f["guest_len"])
            for f in executed}
    if set(bbs) != want or len(bbs) != len(want):
        fail("drcov: %d blocks read, %d executed fragments (%d differ)" % (len(bbs), len(want),
                                                                            len(set(bbs) ^ want)))

    per_fn, total = check_callgrind(open(sys.argv[3]).read(), ["Ir", "Translate", "Monitor"])
    ir = {}
    for f in frags:
        name = "guest_%08x_cpl%d" % (f["pc"], f["cpl"])
        ir[name] = ir.get(name, 0) + f["execs"] * f["insns"]
    got = {k: v[0] for k, v in per_fn.items()}
    if got != ir:
        bad = [k for k in ir if got.get(k) != ir[k]][:3]
        fail("callgrind: Ir per function differs from the fragments' for %s" % bad)

    if len(sys.argv) > 4:
        ann = open(sys.argv[4]).read()
        m = re.search(r"^([\d,]+) \(100\.0%\)\s+([\d,]+) \(100\.0%\)\s+([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", ann, re.M)
        if not m or [int(x.replace(",", "")) for x in m.groups()] != total:
            fail("callgrind_annotate: PROGRAM TOTALS are not the summary")
        rows = re.findall(r"^\s*([\d,]+) \([\d. ]+%\).*\S+:(guest_[0-9a-f]{8}_cpl\d) \[", ann, re.M)
        if not rows:
            fail("callgrind_annotate: no function rows")
        for v, name in rows:
            if int(v.replace(",", "")) != ir.get(name):
                fail("callgrind_annotate: %s has Ir %s, the fragments %s" % (name, v, ir.get(name)))
        top = max(ir.items(), key=lambda kv: kv[1])[0]
        if rows[0][1] != top and ir[rows[0][1]] != ir[top]:
            fail("callgrind_annotate: first function %s, the hottest is %s" % (rows[0][1], top))


main()
