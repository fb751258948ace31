#!/usr/bin/python3
"""tests/gen_random.py - golden data for tests/test_random.c from PyTorch 1.13.

Run with Debian's python3-torch: /usr/bin/python3 tests/gen_random.py
Writes tests/golden/random_*.txt (PyTorch's double-precision formulas) and
tests/golden/random_*.bin (little-endian float32 / uint32 arrays).

The random draws cannot come from PyTorch (its CPU generator is mt19937), so
this script has its own Philox4x32-10 (checked against Random123's known-answer
vectors) and the element -> word mapping of the >>rng section of trainopt.h, written independently
of the C code; PyTorch's own operations then turn those draws into dropout,
uniform, normal and trunc_normal outputs, which the C kernels must reproduce:
  random_words.bin      u32 words of (seed, offset) = (0x0123456789abcdef, 1000003), n = 1000
  random_dropout.bin    x, then the keep mask as float (0/1), then
                        torch.ops.aten.native_dropout_backward(x, mask, 1/(1-p)) (= x*mask*scale)
  random_uniform.bin    torch's uniform_ transformation of our 24-bit uniforms
  random_normal.bin     torch's Box-Muller (normal_fill_16's formula) on our uniforms
  random_trunc.bin      tensor.uniform_ value, erfinv_, mul_, add_, clamp_ as trunc_normal_ does
"""
import math
import os
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "golden")
M32 = 0xFFFFFFFF


def philox4x32(ctr, key, rounds=10):
    """ctr: 4 uint64 numpy arrays (values < 2^32); key: 2 ints. Random123's philox4x32_R."""
    c0, c1, c2, c3 = [np.asarray(c, dtype=np.uint64) for c in ctr]
    k0, k1 = key[0] & M32, key[1] & M32
    for r in range(rounds):
        if r:
            k0 = (k0 + 0x9E3779B9) & M32
            k1 = (k1 + 0xBB67AE85) & M32
        p0 = c0 * np.uint64(0xD2511F53)
        p1 = c2 * np.uint64(0xCD9E8D57)
        hi0, lo0 = p0 >> np.uint64(32), p0 & np.uint64(M32)
        hi1, lo1 = p1 >> np.uint64(32), p1 & np.uint64(M32)
        c0, c1, c2, c3 = hi1 ^ c1 ^ np.uint64(k0), lo1, hi0 ^ c3 ^ np.uint64(k1), lo0
    return c0, c1, c2, c3


KAT = [  # Random123 kat_vectors: philox4x32 R ctr[4] key[2] -> out[4]
    (7, [0, 0, 0, 0], [0, 0], [0x5f6fb709, 0x0d893f64, 0x4f121f81, 0x4f730a48]),
    (7, [M32] * 4, [M32] * 2, [0x5207ddc2, 0x45165e59, 0x4d8ee751, 0x8c52f662]),
    (7, [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0],
     [0x4dfccaba, 0x190a87f0, 0xc47362ba, 0xb6b5242a]),
    (10, [0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]),
    (10, [M32] * 4, [M32] * 2, [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]),
    (10, [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0],
     [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]),
]


def check_kat():
    for rounds, ctr, key, want in KAT:
        got = [int(w[0]) for w in philox4x32([[c] for c in ctr], key, rounds)]
        assert got == want, (rounds, ctr, key, [hex(g) for g in got])


def words(seed, offset, n, stream=0, group=64):
    """Per element e = offset + i: the word the C mapping assigns (group 64), or, with
    group 128, the dropout word (before taking its 16-bit half)."""
    e = (np.uint64(offset) + np.arange(n, dtype=np.uint64))  # wraps mod 2^64
    shift = np.uint64(6 if group == 64 else 7)
    b = (e >> shift) * np.uint64(16) + (e & np.uint64(15))
    out = philox4x32([b & np.uint64(M32), b >> np.uint64(32), np.full(n, stream, np.uint64), np.zeros(n, np.uint64)],
                     [seed & M32, seed >> 32])
    w = ((e >> np.uint64(4)) & np.uint64(3)).astype(np.int64)
    return np.choose(w, out).astype(np.uint64), e


def dropout_draws(seed, offset, n):
    """The 32-bit draw of each element: 16 bits from stream 0, 16 bits from stream 1."""
    w0, e = words(seed, offset, n, 0, 128)
    w1, _ = words(seed, offset, n, 1, 128)
    high = ((e >> np.uint64(6)) & np.uint64(1)) == 1
    h0 = np.where(high, w0 >> np.uint64(16), w0 & np.uint64(0xFFFF))
    h1 = np.where(high, w1 >> np.uint64(16), w1 & np.uint64(0xFFFF))
    return (h0 << np.uint64(16)) | h1


def u24(w):
    return (w >> np.uint64(8)).astype(np.float64) * 2.0 ** -24


def f32(a):
    return np.asarray(a, dtype=np.float32)


def write_bin(name, *arrays):
    with open(os.path.join(OUT, name), "wb") as f:
        for a in arrays:
            f.write(np.ascontiguousarray(a).astype("<f4" if a.dtype.kind == "f" else "<u4").tobytes())


def gen_words():
    w, _ = words(0x0123456789ABCDEF, 1000003, 1000)
    write_bin("random_words.bin", w.astype(np.uint32))


def gen_dropout():
    # p, seed, offset, n per case; x ~ U(-4, 4) from numpy with a fixed seed.
    rng = np.random.default_rng(1234)
    cases = [(0.1, 7, 0, 1000), (0.5, 99, 131, 777), (0.9, 2**40 + 5, 2**32 - 300, 1500), (0.3, 12345, 5, 2048)]
    parts = []
    for p, seed, offset, n in cases:
        x = f32(rng.uniform(-4, 4, n))
        thr = min(int(math.floor(p * 2.0 ** 32 + 0.5)), M32)
        keep = dropout_draws(seed, offset, n) >= np.uint64(thr)
        xt = torch.from_numpy(x)
        y = torch.ops.aten.native_dropout_backward(xt, torch.from_numpy(keep), 1.0 / (1.0 - p)).numpy()
        parts += [x, keep.astype(np.float32), f32(y)]
    write_bin("random_dropout.bin", *parts)
    with open(os.path.join(OUT, "random_dropout.txt"), "w") as f:
        for p, seed, offset, n in cases:
            f.write("%r %d %d %d\n" % (p, seed, offset, n))


def gen_uniform():
    # torch's uniform_real: x * (to - from) + from in double (dist_acctype<float> on CPU), then float.
    cases = [(3, 0, 1000, -1.0, 1.0), (4, 77, 999, 0.0, 1.0), (5, 2**64 - 500, 1000, -0.3, 2.7)]
    parts = []
    for seed, offset, n, lo, hi in cases:
        w, _ = words(seed, offset, n)
        u = torch.from_numpy(u24(w))
        parts.append(f32((u * (hi - lo) + lo).float().numpy()))
    write_bin("random_uniform.bin", *parts)
    with open(os.path.join(OUT, "random_uniform.txt"), "w") as f:
        for c in cases:
            f.write("%d %d %d %r %r\n" % c)


def gen_normal():
    # normal_fill_16 (aten/src/ATen/native/cpu/DistributionTemplates.h): with float uniforms
    # u (the even word) and v (the odd word): u1 = 1 - u (float), radius = sqrt(-2 log u1) (float),
    # theta = 2 pi v (double), out = radius * cos/sin(theta) * std + mean.
    cases = [(11, 0, 1024, 0.0, 1.0), (12, 45, 1000, 1.5, 0.25)]
    parts = []
    for seed, offset, n, mean, std in cases:
        # our pairing: element e uses words of its block; the even word is the radius
        e = np.uint64(offset) + np.arange(n, dtype=np.uint64)
        wsel = (e >> np.uint64(4)) & np.uint64(3)
        b = (e >> np.uint64(6)) * np.uint64(16) + (e & np.uint64(15))
        out = philox4x32([b & np.uint64(M32), b >> np.uint64(32), np.zeros(n, np.uint64), np.zeros(n, np.uint64)],
                         [seed & M32, seed >> 32])
        upper = (wsel >> np.uint64(1)) == 1
        wr = np.where(upper, out[2], out[0])
        wa = np.where(upper, out[3], out[1])
        u1 = torch.from_numpy(f32(1.0 - u24(wr)))
        radius = torch.sqrt(-2 * torch.log(u1))
        theta = 2.0 * math.pi * torch.from_numpy(u24(wa))
        odd = torch.from_numpy((wsel & np.uint64(1)) == 1)
        z = radius.double() * torch.where(odd, torch.sin(theta), torch.cos(theta))
        parts.append(f32((z * std + mean).float().numpy()))
    write_bin("random_normal.bin", *parts)
    with open(os.path.join(OUT, "random_normal.txt"), "w") as f:
        for c in cases:
            f.write("%d %d %d %r %r\n" % c)


captured = []


def capture(name):
    orig = getattr(torch.Tensor, name)

    def hook(self, *args, **kwargs):
        captured.append((name, args, kwargs))
        return orig(self, *args, **kwargs)
    return orig, hook


def with_capture(names, fn):
    saved = {}
    for nm in names:
        orig, hook = capture(nm)
        saved[nm] = orig
        setattr(torch.Tensor, nm, hook)
    try:
        del captured[:]
        fn()
        return list(captured)
    finally:
        for nm, orig in saved.items():
            setattr(torch.Tensor, nm, orig)


def gen_trunc():
    # trunc_normal_'s op sequence on our uniforms; and the bounds PyTorch derives.
    cases = [(21, 0, 1000, 0.0, 1.0, -2.0, 2.0), (22, 3, 1000, 0.5, 0.02, 0.46, 0.6),
             (23, 64, 1000, -1.0, 3.0, -20.0, 5.0), (24, 1, 1000, 0.0, 1.0, -4.25, 3.5)]
    parts = []
    lines = []
    for seed, offset, n, mean, std, a, b in cases:
        cap = with_capture(["uniform_"], lambda: torch.nn.init.trunc_normal_(torch.empty(4), mean, std, a, b))
        frm, to = cap[0][1]
        w, _ = words(seed, offset, n)
        v = torch.from_numpy(f32((torch.from_numpy(u24(w)) * (to - frm) + frm).float().numpy()))
        t = v.clone()
        t.erfinv_()
        t.mul_(std * math.sqrt(2.))
        t.add_(mean)
        t.clamp_(min=a, max=b)
        parts.append(f32(t.numpy()))
        lines.append("%d %d %d %r %r %r %r %r %r\n" % (seed, offset, n, mean, std, a, b, frm, to))
    write_bin("random_trunc.bin", *parts)
    with open(os.path.join(OUT, "random_trunc.txt"), "w") as f:
        f.writelines(lines)


NL = {"linear": 0, "sigmoid": 1, "tanh": 2, "relu": 3, "leaky_relu": 4, "selu": 5}


def gen_init():
    lines = []
    # calculate_gain: "gain NL PARAM VALUE"
    for nl in NL:
        for param in ([0.01, 0.0, 0.2, -0.3, 1.0, 3.7, 1e-3, 0.1234567] if nl == "leaky_relu" else [0.0]):
            lines.append("gain %d %r %r\n" % (NL[nl], param, float(torch.nn.init.calculate_gain(nl, param))))
    # fans: "fans NDIM d0 d1 ... FAN_IN FAN_OUT"
    for shape in [(3, 5), (64, 32, 3, 3), (7, 11, 5), (16, 8, 2, 3, 4), (1, 1)]:
        fi, fo = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
        lines.append("fans %d %s %d %d\n" % (len(shape), " ".join(map(str, shape)), fi, fo))
    # bounds/deviations PyTorch passes to uniform_/normal_: "KIND FAN_IN FAN_OUT GAIN_OR_A MODE NL VALUE"
    shapes = [(3, 5), (64, 32, 3, 3), (1000, 1), (7, 11, 5)]
    for shape in shapes:
        fi, fo = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
        for gain in [1.0, 0.5, math.sqrt(2.0), 5.0 / 3.0]:
            cap = with_capture(["uniform_"], lambda: torch.nn.init.xavier_uniform_(torch.empty(shape), gain))
            lines.append("xavier_uniform %d %d %r 0 0 %r\n" % (fi, fo, gain, cap[0][1][1]))
            cap = with_capture(["normal_"], lambda: torch.nn.init.xavier_normal_(torch.empty(shape), gain))
            lines.append("xavier_normal %d %d %r 0 0 %r\n" % (fi, fo, gain, cap[0][1][1]))
        for a, mode, nl in [(0.0, "fan_in", "leaky_relu"), (0.2, "fan_out", "leaky_relu"), (0.0, "fan_in", "relu"),
                            (0.0, "fan_out", "tanh"), (0.0, "fan_in", "linear"), (0.0, "fan_in", "selu"),
                            (math.sqrt(5.0), "fan_in", "leaky_relu")]:
            m = 0 if mode == "fan_in" else 1
            cap = with_capture(["uniform_"], lambda: torch.nn.init.kaiming_uniform_(torch.empty(shape), a, mode, nl))
            lines.append("kaiming_uniform %d %d %r %d %d %r\n" % (fi, fo, a, m, NL[nl], cap[0][1][1]))
            cap = with_capture(["normal_"], lambda: torch.nn.init.kaiming_normal_(torch.empty(shape), a, mode, nl))
            lines.append("kaiming_normal %d %d %r %d %d %r\n" % (fi, fo, a, m, NL[nl], cap[0][1][1]))
    with open(os.path.join(OUT, "random_init.txt"), "w") as f:
        f.writelines(lines)


def main():
    assert torch.__version__.startswith("1.13"), torch.__version__
    os.makedirs(OUT, exist_ok=True)
    check_kat()
    gen_words()
    gen_dropout()
    gen_uniform()
    gen_normal()
    gen_trunc()
    gen_init()


if __name__ == "__main__":
    main()
