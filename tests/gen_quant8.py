#!/usr/bin/python3
"""The 8-bit state maps, their decision thresholds, and golden data for trainopt's
blockwise quantization (issue 18).

Run with Debian's python3-torch: /usr/bin/python3 tests/gen_quant8.py
Writes
  src/quant8_maps.h        the two dynamic maps (also as byte planes) and their thresholds (C, generated)
  tests/golden/quant8.bin  quantize/dequantize cases (little-endian):
      header   b"TOQ8", uint32 version (1), uint32 case count
      per case uint32 map (0 signed, 1 unsigned), uint32 block, uint32 n,
               float32 x[n], uint8 codes[n], float32 absmax[ceil(n/block)],
               float32 dequantized[n]

The reference is bitsandbytes' algorithm, reimplemented here from its source
(github.com/bitsandbytes-foundation/bitsandbytes; bitsandbytes is not installed):

- the maps: create_dynamic_map(signed, max_exponent_bits=7, total_bits=8) in
  bitsandbytes/functional.py, written again below with the same torch float32 ops
  (torch.linspace, the means of neighbours, the power of ten times the means);
- the encoding: csrc/cpu_ops.cpp, quantize_cpu and lookup_code_index as of commit
  177494cb (2025-12-02; lookup_code_index is still in the file at 95f9af30): absmax
  = max |x| over the block (std::max, so a NaN is skipped); a block whose absmax is 0
  gets code 0 everywhere; otherwise v = x * (1.0f / absmax) in float32, clamped to
  [-1, 1]; right = std::lower_bound(code, v) (the first code >= v); the code is right
  when fabsf(code[right] - v) < fabsf(v - code[right - 1]), else right - 1 (a tie goes
  to the lower code); v below every code gives 0, above every code 255, and NaN
  (every comparison false) gives 0;
- the decoding: dequantizeBlockwise8bitCpu, code[c] * absmax in float32.

trainopt departs in one place, on purpose: a block holding a NaN stores absmax NaN
(bitsandbytes stores the largest finite |x| and so loses the NaN), so the NaN reaches
every element of its block on the way back, and no other block. Its codes are
bitsandbytes' codes. This reference does the same.

The thresholds: for j = 1..255, T[j] is the smallest float32 v whose code is >= j
under the rule above (the rule is monotone in v, checked below), so that the code
of v is the number of j with v >= T[j]. T[0] is -Inf (unused).

The encoder's tables (src/quant8.h, trainopt__q8_encode): v is clamped to [-1, 1]
([0, 1] for the unsigned map; NaN to the low end, whose code is NaN's 0), and |v|,
floored at 2^-floor_exp, falls in a bucket by its float bits shifted right by
23 - mantissa_bits (its exponent and top mantissa bits). Negative v count down from
the middle of the signed table, so the buckets follow v's order. Every bucket holds at
most one threshold, at or above the floor (checked below, over the exact float
interval of each bucket), so one entry per bucket says it all: the code of the
bucket's lowest v, and the position in the bucket (|v|'s bits below the shift, counted
down for negative v, where |v| <= |T| means v >= T) from which the code is one more.
The sizes are the smallest that work: 6 mantissa bits from 2^-22 (signed), 7 from
2^-23 (unsigned).
"""
import os
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
f32 = np.float32


def create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8):
    """bitsandbytes.functional.create_dynamic_map, the same float32 torch ops."""
    data = []
    non_sign_bits = total_bits - 1
    additional_items = 2 ** (non_sign_bits - max_exponent_bits) - 1
    for i in range(max_exponent_bits):
        items = int(2 ** (i + non_sign_bits - max_exponent_bits) + 1 if signed
                    else 2 ** (i + non_sign_bits - max_exponent_bits + 1) + 1)
        boundaries = torch.linspace(0.1, 1, items, dtype=torch.float32)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        data += ((10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
        if signed:
            data += (-(10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
    assert additional_items == 0  # the default 8-bit map has none
    data.append(0)
    data.append(1.0)
    assert len(data) == 2 ** total_bits
    data.sort()
    return np.array(torch.tensor(data, dtype=torch.float32).numpy(), dtype=f32)


def code_index(code, v):
    """lookup_code_index: the nearest code of one float32 v, ties to the lower code."""
    v = f32(v)
    if np.isnan(v):
        return 0
    v = min(max(v, f32(-1.0)), f32(1.0))
    right = int(np.searchsorted(code, v, side="left"))
    if right == 0:
        return 0
    if right == len(code):
        return len(code) - 1
    dist_left = abs(f32(v - code[right - 1]))
    dist_right = abs(f32(code[right] - v))
    return right if dist_right < dist_left else right - 1


def order_key(x):
    """float32 -> int with the same order (-0 just below +0)."""
    s = int(np.array(x, dtype=f32).view(np.int32))
    return s if s >= 0 else -(s & 0x7FFFFFFF) - 1


def from_key(k):
    s = k if k >= 0 else -(k + 1) | -0x80000000
    return np.array(s, dtype=np.int32).view(f32)[()]


def thresholds(code):
    t = [f32(-np.inf)]
    for j in range(1, 256):
        lo, hi = order_key(code[j - 1]), order_key(code[j])  # code(lo) = j-1, code(hi) = j
        assert code_index(code, code[j - 1]) == j - 1 and code_index(code, code[j]) == j
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if code_index(code, from_key(mid)) >= j:
                hi = mid
            else:
                lo = mid
        t.append(from_key(hi))
    t = np.array(t, dtype=f32)
    assert np.all(t[2:] > t[1:-1])
    return t


def f32_bits(x):
    return int(np.array(x, dtype=f32).view(np.uint32))


def f32_from_bits(b):
    return np.array(b, dtype=np.uint32).view(f32)[()]


def bucket_plan(code, t, signed, mantissa_bits, floor_exp):
    """The encoder's bucket table (the model of trainopt__q8_encode above), or None when a
    bucket holds two thresholds or one below the floor. A bucket is an interval of floats
    and the rule is monotone, so its codes are those between the codes of its two ends."""
    shift = 23 - mantissa_bits
    low = (1 << shift) - 1
    base = ((127 - floor_exp) << 23) >> shift
    side = (f32_bits(1.0) >> shift) - base + 1  # buckets per sign; 1.0 is in the last
    entries = []
    for negative in ((True, False) if signed else (False,)):
        for k in (range(side - 1, -1, -1) if negative else range(side)):
            lo = 0 if k == 0 else (base + k) << shift  # |v| of the bucket, below the floor in bucket 0
            hi = min(((base + k + 1) << shift) - 1, f32_bits(1.0))
            ends = (-f32_from_bits(hi), -f32_from_bits(lo)) if negative else (f32_from_bits(lo), f32_from_bits(hi))
            c_lo, c_hi = code_index(code, ends[0]), code_index(code, ends[1])
            if c_hi - c_lo > 1:
                return None
            at = low + 1  # the position in the bucket from which the code is c_lo + 1: none
            if c_hi > c_lo:
                tb = f32_bits(abs(t[c_lo + 1]))
                if tb >> shift != base + k:
                    return None  # below the floor (or in another bucket)
                at = low - (tb & low) if negative else tb & low  # negative: |v| <= |T|, counted from the top
            entries.append((1 << 29) | (c_lo << 21) | at)  # a normal float's bits (see write_maps)
    return {"shift": shift, "floor": (127 - floor_exp) << 23, "side": side, "entries": entries}


def encoder_tables(code, t, signed):
    """The smallest bucket table that works: fewest mantissa bits, then the highest floor."""
    for mantissa_bits in range(3, 9):
        for floor_exp in range(16, 30):
            plan = bucket_plan(code, t, signed, mantissa_bits, floor_exp)
            if plan is not None:
                return plan
    raise AssertionError("no bucket table")


# The AVX-512 encoder's fast path (trainopt__q8_encode_fast in src/quant8.h). The positive
# codes fall in regions: the zero code, the seven decades of create_dynamic_map (decade i:
# the means of an even grid of N = 2^i (signed) or 2^(i+1) items over [0.1, 1] * 10^(i-6))
# and the code 1.0. Within a decade the thresholds between its codes are close to the grid's
# inner boundaries, so (v - 0.1 s) * N / (0.9 s) has them near the integers: the code is
# the decade's first plus the floor of that (capped at its last: past s up to the next
# decade's first threshold). In fixed point, 2^FAST_FRACTION per code, the band added so
# that a v within FAST_BAND of a grid line reads as a fraction below 2 * FAST_BAND: such a
# lane (and NaN, |v| >= 2, a negative v in the unsigned map) goes to the exact encoder. The
# region of |v| is its octave's lower region, plus one at or above the octave's one
# boundary (the exact threshold of positive v; negative v break ties the other way, so the
# fixed-point code puts each region's upper end on a grid line, in the band: the decades do
# by themselves, the zero region is given the slope that does, and the code 1.0 needs none,
# as -1.0's code is that of the decade below it). An octave of [2^-31, 2) holds at most one
# boundary (checked); |v| below 2^-31 counts as 2^-31, in the zero region.
FAST_FRACTION = 16
FAST_BAND = 16
FAST_NO_BOUND = 0x7F000000  # above every |v| the fast path keeps


def fast_tables(t, signed):
    zero = 127 if signed else 0
    base, items, scale = [zero], [1], [0.0]
    for i in range(7):
        base.append(base[-1] + items[-1])
        items.append(2 ** i if signed else 2 ** (i + 1))
        scale.append(10.0 ** (i - 6))
    base.append(255)
    items.append(1)
    one = float(1 << FAST_FRACTION)
    slope, offset, top = [], [], []
    for r in range(9):
        if r == 0:  # the zero code: from the middle of its unit to the next at the first threshold
            slope.append(f32(0.5 * one / float(t[base[1]])))
            offset.append(f32((base[r] + 0.5) * one + FAST_BAND))
        elif r == 8:  # the code 1.0: the middle of its unit
            slope.append(f32(0.0))
            offset.append(f32((base[r] + 0.5) * one + FAST_BAND))
        else:
            slope.append(f32(items[r] / (0.9 * scale[r]) * one))
            offset.append(f32((base[r] - items[r] / 9.0) * one + FAST_BAND))
        top.append(base[r] + items[r] - 1)
    bound = [f32_bits(t[base[r]]) for r in range(9)]  # bound[r]: the smallest |v| of region r
    octave_bound, octave_region = [], []
    for o in range(32):
        lo, hi = 0 if o == 0 else (96 + o) << 23, ((97 + o) << 23) - 1
        inside = [r for r in range(1, 9) if lo < bound[r] <= hi]
        assert len(inside) <= 1, o
        octave_region.append(max(r for r in range(9) if r == 0 or bound[r] <= lo))
        octave_bound.append(bound[inside[0]] if inside else FAST_NO_BOUND)
    pad = 16 - 9
    return {"octave_bound": octave_bound, "octave_region": octave_region, "slope": slope + [f32(0.0)] * pad,
            "offset": offset + [f32(0.0)] * pad, "top": top + [0] * pad}


def encode_fast_like_c(fast, signed, v):
    """trainopt__q8_encode_fast, op for op, on one float32: the code, or None (the exact path)."""
    bits = f32_bits(v)
    mag = bits & 0x7FFFFFFF if signed else bits
    if mag >= 0x40000000:
        return None
    a = max(mag, 96 << 23)
    o = (a >> 23) & 31
    r = fast["octave_region"][o] + (a >= fast["octave_bound"][o])
    u = f32(f32(f32_from_bits(a)) * np.float64(fast["slope"][r]) + np.float64(fast["offset"][r]))  # one rounding (fma)
    q = int(u)
    if (q & ((1 << FAST_FRACTION) - 1)) < 2 * FAST_BAND:
        return None
    c = min(q >> FAST_FRACTION, fast["top"][r])
    if signed and bits >> 31:
        c = max(254 - c, 0)
    return c


def encode_like_c(plan, signed, v):
    """trainopt__q8_encode, op for op, on one float32 (for the checks below)."""
    v = f32(v)
    low_mask = (1 << plan["shift"]) - 1
    lowest = f32(-1.0) if signed else f32(0.0)
    x = v if v > lowest else lowest  # v_max: NaN gives the second operand
    x = x if x < f32(1.0) else f32(1.0)
    a = f32_bits(max(abs(x), f32_from_bits(plan["floor"])))
    k = (a >> plan["shift"]) - (plan["floor"] >> plan["shift"])
    pos = a & low_mask
    if signed:
        negative = -(f32_bits(x) >> 31) & 0xFFFFFFFF
        k = (k ^ negative) + plan["side"] & 0xFFFFFFFF
        pos ^= negative & low_mask
    e = plan["entries"][k]
    return (e >> 21 & 255) + (pos >= (e & 0x1FFFFF))


def quantize(code, block, x):
    n = len(x)
    codes = np.zeros(n, dtype=np.uint8)
    absmax = np.zeros((n + block - 1) // block, dtype=f32)
    for b in range(len(absmax)):
        xs = x[b * block:(b + 1) * block]
        finite_or_inf = xs[~np.isnan(xs)]
        m = f32(np.max(np.abs(finite_or_inf))) if len(finite_or_inf) else f32(0.0)
        absmax[b] = f32(np.nan) if np.isnan(xs).any() else m
        if m == 0:
            continue
        with np.errstate(all="ignore"):
            inv = f32(f32(1.0) / m)
            normed = (xs * inv).astype(f32)
        codes[b * block:b * block + len(xs)] = [code_index(code, v) for v in normed]
    return codes, absmax


def dequantize(code, block, codes, absmax):
    with np.errstate(all="ignore"):
        return np.array([f32(code[c] * absmax[i // block]) for i, c in enumerate(codes)], dtype=f32)


def hexf(x):
    """A float32 as a C float literal: decimal with 9 significant digits, which reads back to
    the same float (hexadecimal literals are not C++ before C++17, and the header is C++11)."""
    if not np.isfinite(x):
        return "-INFINITY" if x < 0 else "INFINITY"
    text = "%.9g" % float(np.float32(x))
    if not any(c in text for c in ".en"):
        text += ".0"
    return text + "f"


def write_maps(maps, thr, plans, fasts):
    lines = ["/* >>quant8-maps: GENERATED by tests/gen_quant8.py (bitsandbytes' create_dynamic_map and the",
             "   encoder's tables for its CPU rule, see src/quant8.h); do not edit. */"]
    for name, m, t, plan in (("signed", maps[0], thr[0], plans[0]), ("unsigned", maps[1], thr[1], plans[1])):
        lines.append("/* create_dynamic_map(signed=%s): the value of each code. */" % ("True" if name == "signed" else "False"))
        lines.append("static const float trainopt__q8_%s_map[256] = {" % name)
        for r in range(0, 256, 4):
            lines.append("    " + ", ".join(hexf(v) for v in m[r:r + 4]) + ",")
        lines.append("};")
        lines.append("/* The encoder's buckets of |v| (trainopt__q8_encode): float bits >> shift, minus floor >> shift")
        lines.append("   (floor: the bits of the smallest |v| told apart), %s. */"
                     % ("negative v counting down from side - 1, positive up from side" if name == "signed" else "side buckets"))
        lines.append("enum { trainopt__q8_%s_shift = %d, trainopt__q8_%s_floor = 0x%08x, trainopt__q8_%s_side = %d };"
                     % (name, plan["shift"], name, plan["floor"], name, plan["side"]))
        lines.append("/* Per bucket, as the bits of a float (so a gather reads it; bit 29 set keeps it a normal")
        lines.append("   number): bits 21..28 the code of the bucket's lowest v, bits 0..20 the position in the")
        lines.append("   bucket (|v|'s bits below the shift, counted down for negative v) from which the code is")
        lines.append("   one more: a bucket holds at most one threshold; 2^shift when it holds none. */")
        entries = plan["entries"]
        lines.append("static const float trainopt__q8_%s_buckets[%d] = {" % (name, len(entries)))
        for r in range(0, len(entries), 6):
            lines.append("    " + ", ".join(hexf(f32_from_bits(e)) for e in entries[r:r + 6]) + ",")
        lines.append("};")
    lines.append("/* The fast encoder's tables (AVX-512, trainopt__q8_encode_fast): |v| in fixed point with")
    lines.append("   `fraction` bits below the code; a lane within `band` of a grid line takes the exact path. */")
    lines.append("enum { trainopt__q8_fast_fraction = %d, trainopt__q8_fast_band = %d };" % (FAST_FRACTION, FAST_BAND))
    for name, fast in (("signed", fasts[0]), ("unsigned", fasts[1])):
        lines.append("/* %s map: per octave of |v| (index: its exponent's low 5 bits, from 2^-31), the bits of" % name)
        lines.append("   the smallest |v| of the next region if it starts there (0x%08x: none), and the region" % FAST_NO_BOUND)
        lines.append("   below; per region, slope and offset of the fixed-point code, and its last code. */")
        for key, ctype, fmt in (("octave_bound", "uint32_t", "0x%08xu"), ("octave_region", "uint32_t", "%d"),
                                ("slope", "float", None), ("offset", "float", None), ("top", "uint32_t", "%d")):
            vals = fast[key]
            lines.append("static const %s trainopt__q8_%s_%s[%d] = {" % (ctype, name, key, len(vals)))
            for r in range(0, len(vals), 8):
                lines.append("    " + ", ".join(hexf(v) if fmt is None else fmt % v for v in vals[r:r + 8]) + ",")
            lines.append("};")
    lines.append("/* The maps as four byte planes (the AVX-512 VBMI decode, trainopt__q8_dequantize_vbmi): byte j")
    lines.append("   (little-endian) of code c's float at [256 j + c], so one byte permute reads byte j of 64 codes. */")
    for name, m in (("signed", maps[0]), ("unsigned", maps[1])):
        planes = np.frombuffer(np.asarray(m, dtype="<f4").tobytes(), dtype=np.uint8).reshape(256, 4).T.reshape(-1)
        lines.append("static const uint8_t trainopt__q8_%s_planes[1024] = {" % name)
        for r in range(0, 1024, 16):
            lines.append("    " + ", ".join("0x%02x" % v for v in planes[r:r + 16]) + ",")
        lines.append("};")
    with open(os.path.join(HERE, "..", "src", "quant8_maps.h"), "w") as f:
        f.write("\n".join(lines) + "\n")


def lut_disagreement(code, rng):
    """How often bitsandbytes' current CPU path (65536-entry table, since 2026-03) picks
    another code than the nearest-code rule, on normal data per 256-block: for the manual."""
    mid = (f32(0.5) * (code[:-1] + code[1:])).astype(f32)
    vals = (f32(-1.0) + (f32(2.0) * np.arange(65536, dtype=f32)) / f32(65535)).astype(f32)
    lut = np.searchsorted(mid, vals, side="left")  # advance while midpoint < val
    x = rng.standard_normal(256 * 200).astype(f32)
    diff = total = 0
    for b in range(200):
        xs = x[b * 256:(b + 1) * 256]
        if code[0] >= 0:
            xs = np.abs(xs)
        inv = f32(f32(1.0) / f32(np.max(np.abs(xs))))
        normed = (xs * inv).astype(f32)
        idx = np.floor((np.clip(normed, -1, 1) + f32(1.0)) * f32(0.5) * f32(65535) + f32(0.5)).astype(np.int64)
        diff += sum(int(lut[i]) != code_index(code, v) for i, v in zip(idx, normed))
        total += len(xs)
    return diff / total


def main():
    maps = [create_dynamic_map(True), create_dynamic_map(False)]
    assert maps[0][127] == 0 and maps[0][255] == 1 and maps[1][0] == 0 and maps[1][255] == 1
    assert all(np.all(m[1:] > m[:-1]) for m in maps)
    thr = [thresholds(m) for m in maps]
    rng = np.random.default_rng(18)
    # the rule is the count of thresholds at or below v: spot checks near every threshold
    for m, t in zip(maps, thr):
        for j in range(1, 256):
            for k in range(-3, 4):
                v = from_key(order_key(t[j]) + k)
                assert code_index(m, v) == int(np.sum(v >= t[1:])), (j, k)
        for v in rng.uniform(-1.2, 1.2, 20000).astype(f32):
            assert code_index(m, v) == int(np.sum(v >= t[1:]))
    plans = [encoder_tables(maps[0], thr[0], True), encoder_tables(maps[1], thr[1], False)]
    # the encoder's model against the rule: near every threshold, every bucket's ends, specials
    # (tests/test_quant8.c then checks the C encoder on every float with |v| <= 1 and more)
    for signed, m, t, plan in ((True, maps[0], thr[0], plans[0]), (False, maps[1], thr[1], plans[1])):
        vals = [from_key(order_key(t[j]) + k) for j in range(1, 256) for k in range(-3, 4)]
        vals += [f32(v) for v in (0.0, -0.0, 1.0, -1.0, 1.5, -1.5, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 3e38)]
        vals += list(np.random.default_rng(1800).uniform(-1.2, 1.2, 20000).astype(f32))  # rng: the cases' own
        for k in range(plan["side"]):
            b = (plan["floor"] >> plan["shift"]) + k << plan["shift"]
            vals += [f32_from_bits(b), f32_from_bits(b - 1), -f32_from_bits(b), -f32_from_bits(b - 1)]
        for v in vals:
            assert encode_like_c(plan, signed, v) == code_index(m, v), (signed, v)
    fasts = [fast_tables(thr[0], True), fast_tables(thr[1], False)]
    for signed, m, t, fast in ((True, maps[0], thr[0], fasts[0]), (False, maps[1], thr[1], fasts[1])):
        vals = [from_key(order_key(t[j]) + k) for j in range(1, 256) for k in range(-3, 4)]
        vals += list(np.random.default_rng(1801).uniform(-1.0, 1.0, 20000).astype(f32))
        for v in vals:
            c = encode_fast_like_c(fast, signed, v)
            assert c is None or c == code_index(m, v), (signed, v, c)
    write_maps(maps, thr, plans, fasts)

    cases = []

    def add(mapi, block, x):
        x = np.asarray(x, dtype=f32)
        codes, absmax = quantize(maps[mapi], block, x)
        cases.append((mapi, block, x, codes, absmax, dequantize(maps[mapi], block, codes, absmax)))

    for mapi in (0, 1):
        sgn = (lambda a: a) if mapi == 0 else np.abs
        add(mapi, 256, sgn(rng.standard_normal(700)))                      # random, partial last block
        add(mapi, 64, sgn(rng.standard_normal(200) * 1e-3))
        add(mapi, 4096, sgn(rng.standard_normal(4096 + 37) * 3.0))
        add(mapi, 256, sgn(rng.standard_normal(256) * np.exp(rng.uniform(-20, 5, 256))))  # many scales
        add(mapi, 64, np.zeros(64))                                         # zero block
        add(mapi, 64, np.concatenate([[-0.0] * 32, [0.0] * 32]))
        big = sgn(rng.standard_normal(64)); big[5] = 1e30                   # one huge value
        add(mapi, 64, big)
        den = sgn(rng.standard_normal(64)) * f32(1e-40)                     # denormals, 1/absmax overflows
        den[3] = 0.0
        add(mapi, 64, den.astype(f32))
        add(mapi, 64, (sgn(rng.standard_normal(64)) * f32(2e-38)).astype(f32))
        nan = sgn(rng.standard_normal(128)); nan[7] = np.nan; nan[100] = np.nan  # NaN: its block only
        add(mapi, 64, nan)
        add(mapi, 64, np.full(64, np.nan))
        inf = sgn(rng.standard_normal(128)); inf[70] = np.inf; inf[9] = -np.inf if mapi == 0 else 3.0
        add(mapi, 64, inf)
        t = thr[mapi]                                                       # exact thresholds, +-1 ulp
        edge = [1.0] + [from_key(order_key(t[j]) + k) for j in range(1, 256) for k in (-1, 0, 1)]
        add(mapi, 1024, edge)
        m = maps[mapi]                                                      # exact midpoints between codes
        mids = [1.0] + [f32(0.5) * (m[j] + m[j + 1]) for j in range(255)] + list(m)
        add(mapi, 1024, mids)
        add(mapi, 64, sgn(rng.standard_normal(64)) * 7.5 - (0.0 if mapi == 0 else 0.0))
        if mapi == 0:
            add(mapi, 64, -np.abs(rng.standard_normal(64)))                 # all negative
        else:
            add(mapi, 64, -np.abs(rng.standard_normal(64)))                 # negative into the unsigned map
    out = [b"TOQ8", struct.pack("<II", 1, len(cases))]
    for mapi, block, x, codes, absmax, deq in cases:
        out.append(struct.pack("<III", mapi, block, len(x)))
        out += [x.astype("<f4").tobytes(), codes.tobytes(), absmax.astype("<f4").tobytes(), deq.astype("<f4").tobytes()]
    with open(os.path.join(HERE, "golden", "quant8.bin"), "wb") as f:
        f.write(b"".join(out))
    print("quant8: %d cases; maps and encoder tables in src/quant8_maps.h" % len(cases))
    for mapi, name in ((0, "signed"), (1, "unsigned")):
        print("bitsandbytes' 65536-entry table (its CPU path since 2026-03) differs from the nearest code "
              "on %.2f%% of normal data (%s map)" % (100 * lut_disagreement(maps[mapi], rng), name))


if __name__ == "__main__":
    main()
