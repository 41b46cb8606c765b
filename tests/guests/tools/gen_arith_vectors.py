#!/usr/bin/env python3
# Reference model for the arith guest: expected results and flags of each
# vector from the SDM's operation pseudo-code, written as arith_vectors.h:
#   python3 tests/guests/tools/gen_arith_vectors.py > tests/guests/arith_vectors.h

CF, PF, AF, ZF, SF, OF = 0x001, 0x004, 0x010, 0x040, 0x080, 0x800
ARITH = CF | PF | AF | ZF | SF | OF
ALL_SET = 0x002 | ARITH          # bit 1 always reads as one
NONE_SET = 0x002
M32 = 0xFFFFFFFF


def mask(w):
    return (1 << w) - 1


def msb(x, w):
    return (x >> (w - 1)) & 1


def sext(x, w):
    x &= mask(w)
    return x - (1 << w) if x >> (w - 1) else x


def parity(x):
    return PF if bin(x & 0xFF).count("1") % 2 == 0 else 0


def szp(r, w):
    r &= mask(w)
    return (ZF if r == 0 else 0) | (SF if msb(r, w) else 0) | parity(r)


def merge(full, part, w):
    """Writes the low w bits of a 32-bit register, keeping the rest."""
    return (full & ~mask(w) & M32) | (part & mask(w))


def add_flags(a, b, cin, w):
    r = a + b + cin
    f = szp(r, w)
    f |= CF if r >> w else 0
    f |= AF if (a ^ b ^ r) & 0x10 else 0
    f |= OF if msb(~(a ^ b) & (a ^ r), w) else 0
    return r & mask(w), f


def sub_flags(a, b, bin_, w):
    r = (a - b - bin_) & mask(w)
    f = szp(r, w)
    f |= CF if a < b + bin_ else 0
    f |= AF if (a ^ b ^ r) & 0x10 else 0
    f |= OF if msb((a ^ b) & (a ^ r), w) else 0
    return r, f


def logic_flags(r, w):
    return szp(r, w)             # CF = OF = 0, AF undefined


# Each op: fn(a, b, c, fin) -> (r1, r2, fout, fmask, check) where check bit 0
# means r1 is compared, bit 1 r2. fout only matters under fmask.
OPS = []


def op(name, group):
    def deco(fn):
        OPS.append((name, group, fn))
        return fn
    return deco


def cin(fin):
    return fin & CF


def alu(kind, w, imm=None):
    def fn(a, b, c, fin):
        x = a & mask(w)
        y = (imm if imm is not None else b) & mask(w)
        if kind == "add":
            r, f = add_flags(x, y, 0, w)
        elif kind == "adc":
            r, f = add_flags(x, y, cin(fin), w)
        elif kind == "sub" or kind == "cmp":
            r, f = sub_flags(x, y, 0, w)
        elif kind == "sbb":
            r, f = sub_flags(x, y, cin(fin), w)
        else:
            r = {"and": x & y, "or": x | y, "xor": x ^ y, "test": x & y}[kind]
            f = logic_flags(r, w)
            out = a if kind == "test" else merge(a, r, w)
            return out, 0, f, ARITH & ~AF, 1
        out = a if kind == "cmp" else merge(a, r, w)
        return out, 0, f, ARITH, 1
    return fn


for kind in ["add", "adc", "sub", "sbb", "and", "or", "xor", "cmp", "test"]:
    op(f"{kind}32", "alu")(alu(kind, 32))
for kind in ["add", "adc", "sub", "sbb", "and", "cmp"]:
    op(f"{kind}8", "alu")(alu(kind, 8))
for kind in ["add", "sbb", "or", "cmp"]:
    op(f"{kind}16", "alu")(alu(kind, 16))
op("add32_memdst", "alu")(alu("add", 32))
op("sub32_memsrc", "alu")(alu("sub", 32))
op("adc32_imm", "alu")(alu("adc", 32, 0x7FFFFFFF))
op("sub32_imm8", "alu")(alu("sub", 32, 0xFFFFFF80))   # $-128, sign-extended imm8
op("and32_imm", "alu")(alu("and", 32, 0xF0F0F0F0))
op("cmp8_imm", "alu")(alu("cmp", 8, 0x80))
op("lock_add32_mem", "alu")(alu("add", 32))


def incdec(delta, w):
    def fn(a, b, c, fin):
        x = a & mask(w)
        if delta > 0:
            r, f = add_flags(x, 1, 0, w)
        else:
            r, f = sub_flags(x, 1, 0, w)
        f = (f & ~CF) | (fin & CF)          # INC/DEC leave CF alone
        return merge(a, r, w), 0, f, ARITH, 1
    return fn


def neg(w):
    def fn(a, b, c, fin):
        x = a & mask(w)
        r, f = sub_flags(0, x, 0, w)
        return merge(a, r, w), 0, f, ARITH, 1   # CF = (x != 0) falls out of sub
    return fn


def not_(w):
    def fn(a, b, c, fin):
        return merge(a, ~a, w), 0, fin, ARITH, 1
    return fn


op("inc32", "alu")(incdec(1, 32))
op("dec32", "alu")(incdec(-1, 32))
op("neg32", "alu")(neg(32))
op("not32", "alu")(not_(32))
op("inc8", "alu")(incdec(1, 8))
op("dec16", "alu")(incdec(-1, 16))
op("neg8", "alu")(neg(8))
op("neg16", "alu")(neg(16))
op("inc32_mem", "alu")(incdec(1, 32))
op("neg32_mem", "alu")(neg(32))
op("lock_dec32_mem", "alu")(incdec(-1, 32))


def mul1(w, signed):
    def fn(a, b, c, fin):
        x, y = a & mask(w), b & mask(w)
        if signed:
            p = sext(x, w) * sext(y, w)
            over = p != sext(p, w)
        else:
            p = x * y
            over = (p >> w) != 0
        p &= mask(2 * w)
        f = (CF | OF) if over else 0
        lo, hi = p & mask(w), p >> w
        if w == 8:
            return merge(a, p, 16), c, f, CF | OF, 3      # AX = AL * r/m8
        return merge(a, lo, w), merge(c, hi, w), f, CF | OF, 3
    return fn


def imul_trunc(w, imm=None):
    def fn(a, b, c, fin):
        x = sext(a if imm is None else b, w)
        y = sext(b if imm is None else imm, w)
        p = x * y
        f = (CF | OF) if p != sext(p, w) else 0
        return merge(a, p, w), 0, f, CF | OF, 1
    return fn


op("mul8", "mul")(mul1(8, False))
op("mul16", "mul")(mul1(16, False))
op("mul32", "mul")(mul1(32, False))
op("imul8", "mul")(mul1(8, True))
op("imul16", "mul")(mul1(16, True))
op("imul32", "mul")(mul1(32, True))
op("imul32_rr", "mul")(imul_trunc(32))
op("imul16_rr", "mul")(imul_trunc(16))
op("imul32_rm", "mul")(imul_trunc(32))
op("imul32_rri8", "mul")(imul_trunc(32, 0xFFFFFFF9))   # $-7
op("imul32_rri32", "mul")(imul_trunc(32, 0x12345678))
op("imul16_rri", "mul")(imul_trunc(16, 0xFED4))         # $-300


def div(w, signed):
    """Dividend is c:a (AX alone for w=8), divisor b; None if it would fault."""
    def fn(a, b, c, fin):
        if w == 8:
            n = a & 0xFFFF
            nbits = 16
        else:
            n = ((c & mask(w)) << w) | (a & mask(w))
            nbits = 2 * w
        d = b & mask(w)
        if signed:
            n, d = sext(n, nbits), sext(d, w)
        if d == 0:
            return None
        q = abs(n) // abs(d)
        if (n < 0) != (d < 0):
            q = -q
        r = n - q * d                      # remainder takes the dividend's sign
        if signed:
            if not -(1 << (w - 1)) <= q < (1 << (w - 1)):
                return None
        elif q >> w:
            return None
        q &= mask(w)
        r &= mask(w)
        if w == 8:
            return merge(a, (r << 8) | q, 16), c, 0, 0, 3
        return merge(a, q, w), merge(c, r, w), 0, 0, 3
    return fn


op("div8", "div")(div(8, False))
op("div16", "div")(div(16, False))
op("div32", "div")(div(32, False))
op("idiv8", "div")(div(8, True))
op("idiv16", "div")(div(16, True))
op("idiv32", "div")(div(32, True))
op("div32_mem", "div")(div(32, False))


def shift(kind, w, count=None):
    """Shifts/rotates of the low w bits of a by count (b&0xFF when None)."""
    def fn(a, b, c, fin):
        x = a & mask(w)
        n = (b if count is None else count) & 0x1F
        if n == 0:
            return a, 0, fin, ARITH, 1
        cf = fin & CF
        fmask = ARITH
        if kind in ("shl", "shr", "sar"):
            if kind == "shl":
                r = (x << n) & mask(w)
                c_out = (x >> (w - n)) & 1 if n <= w else 0
                of = msb(r, w) ^ c_out
            elif kind == "shr":
                r = x >> n
                c_out = (x >> (n - 1)) & 1 if n <= w else 0
                of = msb(x, w)
            else:
                r = (sext(x, w) >> n) & mask(w)
                c_out = (sext(x, w) >> (n - 1)) & 1
                of = 0
            f = szp(r, w) | (CF if c_out else 0) | (OF if of else 0)
            fmask &= ~AF
            if n >= w:
                fmask &= ~CF                 # CF undefined when count >= width
            if n != 1:
                fmask &= ~OF
            return merge(a, r, w), 0, f, fmask, 1
        # Rotates only touch CF and OF.
        f = fin & ~(CF | OF)
        if kind in ("rol", "ror"):
            m = n % w
            r = ((x << m) | (x >> (w - m))) & mask(w) if kind == "rol" else \
                ((x >> m) | (x << (w - m))) & mask(w)
            if kind == "rol":
                c_out = r & 1
                of = msb(r, w) ^ c_out
            else:
                c_out = msb(r, w)
                of = msb(r, w) ^ ((r >> (w - 2)) & 1)
        else:
            m = n % (w + 1) if w < 32 else n
            if kind == "rcr":
                of = msb(x, w) ^ cf          # computed before rotating
            v = (cf << w) | x                # w+1 bit ring, CF on top
            for _ in range(m):
                if kind == "rcl":
                    v = ((v << 1) | (v >> w)) & mask(w + 1)
                else:
                    v = ((v >> 1) | ((v & 1) << w)) & mask(w + 1)
            r, c_out = v & mask(w), v >> w
            if kind == "rcl":
                of = msb(r, w) ^ c_out
        f |= (CF if c_out else 0) | (OF if of else 0)
        fmask = ARITH if n == 1 else ARITH & ~OF
        return merge(a, r, w), 0, f, fmask, 1
    return fn


for kind in ["shl", "shr", "sar", "rol", "ror", "rcl", "rcr"]:
    op(f"{kind}32_cl", "shift")(shift(kind, 32))
for kind in ["shl", "shr", "sar", "rol", "ror", "rcl", "rcr"]:
    op(f"{kind}32_1", "shift")(shift(kind, 32, 1))
for kind, n in [("shl", 7), ("shr", 31), ("sar", 5), ("rol", 8), ("ror", 12), ("rcl", 3), ("rcr", 30)]:
    op(f"{kind}32_i{n}", "shift")(shift(kind, 32, n))
for kind in ["shl", "shr", "sar", "rol", "ror", "rcl", "rcr"]:
    op(f"{kind}8_cl", "shift")(shift(kind, 8))
for kind in ["shl", "sar", "rol", "rcl", "rcr"]:
    op(f"{kind}16_cl", "shift")(shift(kind, 16))
op("shl32_mem_cl", "shift")(shift("shl", 32))
op("ror32_mem_1", "shift")(shift("ror", 32, 1))


def dshift(left, w, count=None):
    """SHLD/SHRD dest=a, src=b, count=c (or fixed)."""
    def fn(a, b, c, fin):
        n = (c if count is None else count) & 0x1F
        x, y = a & mask(w), b & mask(w)
        if n == 0:
            return a, 0, fin, ARITH, 1
        assert n <= w
        if left:
            r = ((x << n) | (y >> (w - n))) & mask(w)
            c_out = (x >> (w - n)) & 1
        else:
            r = ((x >> n) | (y << (w - n))) & mask(w)
            c_out = (x >> (n - 1)) & 1
        f = szp(r, w) | (CF if c_out else 0) | (OF if msb(r, w) ^ msb(x, w) else 0)
        fmask = ARITH & ~AF
        if n != 1:
            fmask &= ~OF
        return merge(a, r, w), 0, f, fmask, 1
    return fn


op("shld32_cl", "shift")(dshift(True, 32))
op("shrd32_cl", "shift")(dshift(False, 32))
op("shld32_i8", "shift")(dshift(True, 32, 8))
op("shrd32_i12", "shift")(dshift(False, 32, 12))
op("shld16_cl", "shift")(dshift(True, 16))
op("shrd16_cl", "shift")(dshift(False, 16))
op("shld32_mem_cl", "shift")(dshift(True, 32))


def bt_reg(kind, w=32, imm=None):
    def fn(a, b, c, fin):
        n = (b if imm is None else imm) % w
        x = a & mask(w)
        bit = (x >> n) & 1
        x = {"bt": x, "bts": x | (1 << n), "btr": x & ~(1 << n), "btc": x ^ (1 << n)}[kind]
        return merge(a, x, w), 0, CF if bit else 0, CF, 1
    return fn


def bt_buf(a):
    return [(a ^ (0x11111111 * i)) & M32 for i in range(4)]


def bt_mem(kind, imm=None):
    """Bit string at &buf[1] (buf[i] = a ^ 0x11111111*i), bit offset b (signed,
    register form) or imm (mod 32). r1 = the touched dword, r2 = sum of buf."""
    def fn(a, b, c, fin):
        buf = bt_buf(a)
        off = sext(b, 32) if imm is None else imm % 32
        word = 1 + (off >> 5)
        n = off & 31
        assert 0 <= word < 4
        bit = (buf[word] >> n) & 1
        if kind == "bts":
            buf[word] |= 1 << n
        elif kind == "btr":
            buf[word] &= ~(1 << n) & M32
        elif kind == "btc":
            buf[word] ^= 1 << n
        return buf[word], sum(buf) & M32, CF if bit else 0, CF, 3
    return fn


for kind in ["bt", "bts", "btr", "btc"]:
    op(f"{kind}32_r", "bit")(bt_reg(kind))
op("bt32_i31", "bit")(bt_reg("bt", imm=31))
op("bts32_i36", "bit")(bt_reg("bts", imm=36))
op("btr16_r", "bit")(bt_reg("btr", w=16))
for kind in ["bt", "bts", "btr", "btc"]:
    op(f"{kind}_mem", "bit")(bt_mem(kind))
op("btc_mem_i45", "bit")(bt_mem("btc", imm=45))
op("lock_bts_mem", "bit")(bt_mem("bts"))


def bsx(rev, w):
    def fn(a, b, c, fin):
        x = b & mask(w)
        if x == 0:
            return a, 0, ZF, ZF, 0            # destination undefined
        n = x.bit_length() - 1 if rev else (x & -x).bit_length() - 1
        return merge(a, n, w), 0, 0, ZF, 1
    return fn


op("bsf32", "bit")(bsx(False, 32))
op("bsr32", "bit")(bsx(True, 32))
op("bsf16", "bit")(bsx(False, 16))
op("bsr16", "bit")(bsx(True, 16))


def conditions(f):
    c, p, z, s, o = [(f & m) != 0 for m in (CF, PF, ZF, SF, OF)]
    return [o, not o, c, not c, z, not z, c or z, not (c or z),
            s, not s, p, not p, s != o, s == o, z or s != o, not z and s == o]


@op("setcc", "bit")
def setcc(a, b, c, fin):
    bits = 0
    for i, t in enumerate(conditions(fin)):
        bits |= int(t) << i
    return bits, 0, fin, ARITH, 1


@op("bswap", "bit")
def bswap(a, b, c, fin):
    return int.from_bytes(a.to_bytes(4, "little"), "big"), 0, fin, ARITH, 1


@op("lahf", "misc")
def lahf(a, b, c, fin):
    ah = (fin & (SF | ZF | AF | PF | CF)) | 0x02
    return merge(a, (a & 0xFF) | (ah << 8), 16), 0, fin, ARITH, 1


@op("sahf", "misc")
def sahf(a, b, c, fin):
    ah = (a >> 8) & 0xFF
    return a, 0, (fin & ~0xD5) | (ah & 0xD5), ARITH, 1


@op("cbw", "misc")
def cbw(a, b, c, fin):
    return merge(a, sext(a, 8), 16), 0, fin, ARITH, 1


@op("cwde", "misc")
def cwde(a, b, c, fin):
    return sext(a, 16) & M32, 0, fin, ARITH, 1


@op("cwd", "misc")
def cwd(a, b, c, fin):
    return a, merge(c, 0xFFFF if msb(a, 16) else 0, 16), fin, ARITH, 3


@op("cdq", "misc")
def cdq(a, b, c, fin):
    return a, M32 if msb(a, 32) else 0, fin, ARITH, 3


@op("movsx8_32", "misc")
def movsx8(a, b, c, fin):
    return sext(b, 8) & M32, 0, fin, ARITH, 1


@op("movsx16_32", "misc")
def movsx16(a, b, c, fin):
    return sext(b, 16) & M32, 0, fin, ARITH, 1


@op("movzx8_32", "misc")
def movzx8(a, b, c, fin):
    return b & 0xFF, 0, fin, ARITH, 1


@op("movzx16_32", "misc")
def movzx16(a, b, c, fin):
    return b & 0xFFFF, 0, fin, ARITH, 1


def xchg(a, b, c, fin):
    return b, a, fin, ARITH, 3


op("xchg_rr", "misc")(xchg)
op("xchg_rm", "misc")(xchg)


def xadd(a, b, c, fin):
    r, f = add_flags(a, b, 0, 32)
    return r, a, f, ARITH, 3


op("xadd_rr", "misc")(xadd)
op("lock_xadd_rm", "misc")(xadd)


def cmpxchg(a, b, c, fin):
    """dest a, source b, EAX c -> r1 = dest after, r2 = EAX after."""
    _, f = sub_flags(c, a, 0, 32)
    if a == c:
        return b, c, f, ARITH, 3
    return a, a, f, ARITH, 3


op("cmpxchg_rr", "misc")(cmpxchg)
op("lock_cmpxchg_rm", "misc")(cmpxchg)


@op("cmpxchg8_rr", "misc")
def cmpxchg8(a, b, c, fin):
    """Byte form: dest low byte of a, source low byte of b, AL from c."""
    x, y, al = a & 0xFF, b & 0xFF, c & 0xFF
    _, f = sub_flags(al, x, 0, 8)
    if x == al:
        return merge(a, y, 8), c, f, ARITH, 3
    return a, merge(c, x, 8), f, ARITH, 3


def bcd(kind):
    def fn(a, b, c, fin):
        al, ah = a & 0xFF, (a >> 8) & 0xFF
        cf, af = fin & CF, fin & AF
        f = 0
        if kind == "daa" or kind == "das":
            old_al, old_cf = al, cf
            fmask = CF | AF | SF | ZF | PF
            if (al & 0xF) > 9 or af:
                if kind == "daa":
                    f |= CF if old_cf or al + 6 > 0xFF else 0
                    al = (al + 6) & 0xFF
                else:
                    f |= CF if old_cf or al < 6 else 0
                    al = (al - 6) & 0xFF
                f |= AF
            if old_al > 0x99 or old_cf:
                al = (al + 0x60 if kind == "daa" else al - 0x60) & 0xFF
                f |= CF
            elif kind == "daa":
                f &= ~CF
            f |= szp(al, 8)
            return merge(a, al, 8), 0, f, fmask, 1
        if kind in ("aaa", "aas"):
            ax = a & 0xFFFF
            if (al & 0xF) > 9 or af:
                if kind == "aaa":
                    ax = (ax + 0x106) & 0xFFFF
                else:
                    ax = (ax - 6) & 0xFFFF
                    ax = (ax - 0x100) & 0xFFFF
                f = AF | CF
            ax &= 0xFF0F
            return merge(a, ax, 16), 0, f, AF | CF, 1
        if kind == "aam":
            ah, al = al // 10, al % 10
            return merge(a, (ah << 8) | al, 16), 0, szp(al, 8), SF | ZF | PF, 1
        if kind == "aad":
            al = (al + ah * 10) & 0xFF
            return merge(a, al, 16), 0, szp(al, 8), SF | ZF | PF, 1
        raise ValueError(kind)
    return fn


for kind in ["daa", "das", "aaa", "aas", "aam", "aad"]:
    op(kind, "bcd")(bcd(kind))

# ---------------------------------------------------------------- inputs

PAIRS32 = [(0, 0), (1, 1), (0x7FFFFFFF, 1), (0x80000000, 0x80000000),
           (0xFFFFFFFF, 1), (0x12345678, 0x9ABCDEF0), (0x80000000, 1),
           (0, 1), (0x0000000F, 0x00000001), (0xDEADBEEF, 0xDEADBEEF),
           (0x7FFFFFFF, 0xFFFFFFFF), (0x55AA55AA, 0xAA55AA55)]
PAIRS8 = [(0x11223300, 0x00), (0xAABBCC7F, 0x01), (0x12345680, 0x80),
          (0xFFFFFFFF, 0x01), (0x0000000F, 0x01), (0x87654321, 0xFFFFFFC0),
          (0x000000FE, 0x03)]
PAIRS16 = [(0x1234FFFF, 0x0001), (0xABCD7FFF, 0x0001), (0x00008000, 0xFFFF),
           (0x00000000, 0x00000000), (0x5A5A1234, 0x00004321), (0xFFFF00F0, 0x0F10)]
UNARY = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x0000000F, 0x12345678,
         0x000000FF, 0x0000FF80, 0x00008000, 0xFFFF0000, 0x000000F0]
FLAGS_IN = [NONE_SET, ALL_SET]
MULS = [(0, 0), (1, 1), (0xFFFFFFFF, 0xFFFFFFFF), (0x80000000, 2),
        (0x12345678, 0x9ABCDEF0), (0x0000FFFF, 0x00010001), (0x7FFFFFFF, 0x7FFFFFFF),
        (0xFFFFFF80, 0xFFFFFF80), (0x00000080, 0x000000FF), (0x00007FFF, 0x00000002),
        (0xFFFF8000, 0xFFFFFFFF), (0x11110010, 0x22220011), (0xFFFFFFF9, 0x00000003)]
DIVS = [  # (a = low dividend, c = high dividend, b = divisor)
    (100, 0, 7), (0xFFFFFFFF, 0, 0xFFFFFFFF), (0x00000000, 1, 2),
    (0x9ABCDEF0, 0x12345678, 0x87654321), (0xFFFFFF9C, 0xFFFFFFFF, 7),
    (0x00000064, 0, 0xFFFFFFF9), (0xFFFFFF9C, 0xFFFFFFFF, 0xFFFFFFF9),
    (0x80000000, 0xFFFFFFFF, 0xFFFFFFFF), (0x0000FFFF, 0x0000FFFE, 0x0000FFFF),
    (0x000000FF, 0, 0x10), (0x00007FFF, 0x7FFF, 0x8000), (0x0000FF81, 0x00FF, 0xFFFF),
    (0x12340564, 0, 0x0A), (0x0000FF9C, 0xFFFF, 0x07), (0x0000FF80, 0, 0xFF),
    (0x7FFFFFFF, 0, 1), (0x00000005, 0, 0xFFFFFFFE)]
SHIFT_VALS = [0x80000001, 0x12345678, 0xFFFFFFFF, 0x4000C083, 0]
SHIFT_COUNTS = {  # CL values: 0, 1, in range, width, beyond width, above the 5-bit mask
    32: [0, 1, 2, 7, 16, 31, 32, 33, 0xFF, 0x41],
    16: [0, 1, 7, 15, 16, 17, 18, 31, 0x20],
    8: [0, 1, 2, 7, 8, 9, 10, 16, 17, 31, 0x48],
}
DSHIFT = [(0x12345678, 0x9ABCDEF0), (0x80000000, 0xFFFFFFFF), (0x00000001, 0x80000000),
          (0xFFFF0000, 0x0000FFFF)]
BT_OFFS = [0, 1, 7, 31, 32, 33, 63, 95, 0xFFFFFFFF, 0xFFFFFFE0, 0xFFFFFFF9, 70]
BS_VALS = [1, 0x80000000, 0x00010000, 0x12345678, 0x00000100, 0xFFFFFFFF, 0,
           0x80008000, 0x00008001]
BCD_VALS = [0x00, 0x09, 0x0A, 0x0F, 0x10, 0x19, 0x99, 0x9A, 0xA0, 0xF9, 0xFA,
            0xFF, 0x05, 0x42, 0x66, 0x0106, 0x03, 0x01FF]
SAHF_VALS = [0x0000FF00, 0x00000000, 0x0000D500, 0x12342A00, 0x00004100]


def vectors_for(name, fn):
    out = []

    def add(a, b, c, fin):
        r = fn(a & M32, b & M32, c & M32, fin)
        if r is not None:
            out.append((a & M32, b & M32, c & M32, fin) + r)

    base = name.split("_")[0]
    if name.startswith(("setcc",)):
        for i in range(32):
            fin = NONE_SET
            for bit, m in enumerate((CF, PF, ZF, SF, OF)):
                if i >> bit & 1:
                    fin |= m
            add(0, 0, 0, fin)
    elif name in ("lahf",):
        for fin in (NONE_SET, ALL_SET, 0x002 | CF | ZF, 0x002 | SF | AF | PF):
            add(0xDEAD55AA, 0, 0, fin)
    elif name == "sahf":
        for a in SAHF_VALS:
            for fin in FLAGS_IN:
                add(a, 0, 0, fin)
    elif name in ("cbw", "cwde", "cwd", "cdq", "bswap"):
        for a in [0x1234567F, 0x00000080, 0xFFFF7FFF, 0x00008000, 0x80000000, 0x7FFFFFFF, 0x0102FF04]:
            add(a, 0, 0xCAFEBABE, ALL_SET)
    elif name.startswith(("movsx", "movzx")):
        for b in [0x1234567F, 0x00000080, 0xFFFF7FFF, 0x00008000, 0xFFFFFFFF]:
            add(0xDEADBEEF, b, 0, NONE_SET)
    elif name.startswith(("xchg", "xadd", "lock_xadd")):
        for a, b in PAIRS32[:8]:
            add(a, b, 0, NONE_SET)
    elif name.startswith(("cmpxchg_rr", "lock_cmpxchg")):
        for a, b in PAIRS32[:6]:
            add(a, b, a, NONE_SET)           # equal: store
            add(a, b, a ^ 0x80000001, NONE_SET)  # different: load
    elif name == "cmpxchg8_rr":
        for a, b in PAIRS8[:5]:
            add(a, b, 0xFFFFFF00 | (a & 0xFF), NONE_SET)
            add(a, b, 0x00000000 | ((a + 0x81) & 0xFF), NONE_SET)
    elif base in ("daa", "das", "aaa", "aas", "aam", "aad"):
        for v in BCD_VALS:
            fins = [NONE_SET] if base in ("aam", "aad") else \
                [NONE_SET, 0x002 | AF, 0x002 | CF, 0x002 | AF | CF]
            for fin in fins:
                add(0x12340000 | v, 0, 0, fin)
    elif name.startswith(("bsf", "bsr")):
        for b in BS_VALS:
            add(0xCAFEF00D, b, 0, NONE_SET)
    elif name.startswith(("bt", "lock_bts")):
        w = 16 if "16" in name else 32
        for a in [0x80000001, 0x5A5AA5A5]:
            offs = BT_OFFS if "mem" in name else [0, 1, 7, 15, 16, 31, 32, 33, 63, 0xFFFFFFFF]
            for b in offs:
                if "mem" not in name and w == 16:
                    b &= 0xFF
                add(a, b, 0, ALL_SET)
    elif name.startswith(("shld", "shrd")):
        w = 16 if "16" in name else 32
        for a, b in DSHIFT:
            for c in ([0, 1, 4, 8, 15, 31, 36] if w == 32 else [0, 1, 4, 8, 15, 16, 33]):
                add(a, b, c, ALL_SET if c % 2 else NONE_SET)
    elif any(name.startswith(k) for k in ("shl", "shr", "sar", "rol", "ror", "rcl", "rcr")):
        fixed = not name.endswith("_cl")
        w = 8 if "8_" in name else 16 if "16_" in name else 32
        counts = [0] if fixed else SHIFT_COUNTS[w]
        for i, a in enumerate(SHIFT_VALS):
            for j, b in enumerate(counts):
                # Alternate the incoming flags; count 0 must keep either set.
                fins = FLAGS_IN if b & 0x1F == 0 or fixed else [FLAGS_IN[(i + j) % 2]]
                for fin in fins:
                    add(a, b, 0, fin)
    elif base in ("mul8", "mul16", "mul32", "imul8", "imul16", "imul32") or name.startswith("imul"):
        for a, b in MULS:
            add(a, b, 0xA5A5A5A5, ALL_SET)
    elif "div" in name:
        for a, c, b in DIVS:
            add(a, b, c, NONE_SET)
    elif name.startswith(("inc", "dec", "neg", "not", "lock_dec")):
        for a in UNARY:
            for fin in FLAGS_IN:
                add(a, 0, 0, fin)
    else:
        w = 8 if "8" in name.split("_")[0] else 16 if "16" in name.split("_")[0] else 32
        pairs = {8: PAIRS8, 16: PAIRS16, 32: PAIRS32}[w]
        fins = FLAGS_IN if name.startswith(("adc", "sbb", "cmp", "test")) else [NONE_SET]
        for a, b in pairs:
            for fin in fins:
                add(a, b, 0, fin)
        if "imm" in name:
            for a in UNARY[:8]:
                add(a, 0, 0, ALL_SET)
    assert out, name
    return out


def main():
    print("/* Generated by tests/guests/tools/gen_arith_vectors.py from its reference")
    print(" * model of the SDM operation pseudo-code; do not edit by hand. */")
    print("#ifndef ARITH_VECTORS_H\n#define ARITH_VECTORS_H\n")
    print("enum arith_op {")
    for name, group, _ in OPS:
        print(f"\tOP_{name.upper()},")
    print("\tOP_COUNT\n};\n")
    print("static const char *const arith_op_names[OP_COUNT] = {")
    for name, group, _ in OPS:
        print(f'\t[OP_{name.upper()}] = "{name}",')
    print("};\n")
    print("static const char *const arith_op_groups[OP_COUNT] = {")
    for name, group, _ in OPS:
        print(f'\t[OP_{name.upper()}] = "{group}",')
    print("};\n")
    print("static const struct arith_vec arith_vecs[] = {")
    total = 0
    for name, group, fn in OPS:
        for a, b, c, fin, r1, r2, fout, fmask, check in vectors_for(name, fn):
            print(f"\t{{ OP_{name.upper()}, {check}, 0x{a:08x}, 0x{b:08x}, 0x{c:08x}, "
                  f"0x{fin:03x}, 0x{r1:08x}, 0x{r2:08x}, 0x{fout & fmask:03x}, 0x{fmask:03x} }},")
            total += 1
    print("};\n")
    print("#endif")
    import sys
    print(f"{len(OPS)} ops, {total} vectors", file=sys.stderr)


if __name__ == "__main__":
    main()
