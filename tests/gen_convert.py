#!/usr/bin/python3
"""tests/gen_convert.py - golden data for tests/test_convert.c from PyTorch 1.13.

Run with Debian's python3-torch: /usr/bin/python3 tests/gen_convert.py
Writes tests/golden/convert.bin, little-endian:
  b"TOCV", u32 n
  n u32     fp32 bit patterns: every float class (zeros, subnormals, normals, +-Inf,
            NaNs of several payloads and both signs), exact ties both ways for bf16
            and for fp16 (normal and subnormal), the fp16 overflow boundary around
            65520, then random patterns and random values in fp16's range
  n u16     torch.tensor(x).to(torch.bfloat16), as bits
  n u16     torch.tensor(x).half(), as bits
  65536 u32 every fp16 pattern h: torch.float16 tensor of h .float(), as bits
  65536 u32 every bf16 pattern h: .float(), as bits
  65536 u16 every bf16 pattern: .to(torch.float16)
  65536 u16 every fp16 pattern: .to(torch.bfloat16)
"""
import os
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "golden", "convert.bin")


def f32_bits(values):
    return np.array(values, dtype=np.float32).view(np.uint32)


def inputs():
    rng = np.random.default_rng(20261205)
    pats = [
        0x00000000, 0x80000000, 0x7F800000, 0xFF800000,  # zeros, infinities
        0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FA00000, 0x7FFFFFFF, 0xFFFFFFFF, 0x7FFFE000,  # NaNs
        0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, 0x00400000, 0x00008000, 0x00018000,  # fp32 subnormals
        0x00800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F7F8000, 0x7F7F7FFF, 0x7F7EFFFF,  # extremes, bf16 overflow
        0x3F800000, 0xBF800000, 0x3F808000, 0x3F818000, 0x3F808001, 0x3F817FFF,  # bf16 ties both ways
    ]
    # the fp16 overflow boundary: 65504 (max), the tie 65520, its neighbours, 65536
    pats += [int(u) for u in f32_bits([65504.0, 65505.0, 65519.0, 65520.0, 65536.0, -65520.0, 1e5, -1e5])]
    pats += [0x477FEFFF, 0x477FF001, 0xC77FEFFF, 0xC77FF001]
    # fp16 normal range ends, subnormal quantum 2^-24 and its ties
    q = 2.0 ** -24
    fp16_special = [2.0 ** -14, -(2.0 ** -14), 2.0 ** -14 * (1 - 2 ** -11), q, -q, q / 2, 3 * q / 2, 5 * q / 2,
                    q / 2 * 1.0000001, q / 4, 1023 * q, 1023.5 * q, 1022.5 * q, 6.1e-5, 2.0 ** -25 * 0.999]
    pats += [int(u) for u in f32_bits(fp16_special)]
    pats += [0x387FE000, 0x387FF000, 0x387FEFFF, 0x33000000, 0x33000001, 0xB3000000, 0x33800000, 0x33C00000]
    # fp16 normal ties: low 13 bits 0x1000, kept bit even and odd, and one ulp either side
    for m in rng.integers(0, 1 << 10, 24):
        e = int(rng.integers(113, 143))
        base = (e << 23) | (int(m) << 13)
        for low in (0x1000, 0x0FFF, 0x1001):
            pats += [base | low, (base | low) | 0x80000000]
    # fp16 subnormal ties (k + 1/2) * 2^-24, k even and odd
    for k in range(0, 1024, 37):
        pats += [int(u) for u in f32_bits([(k + 0.5) * q, -(k + 0.5) * q])]
    # bf16 ties with random kept bits
    for hi in rng.integers(0, 1 << 16, 48):
        for low in (0x8000, 0x7FFF, 0x8001):
            pats.append((int(hi) << 16) | low)
    pats += [int(u) for u in rng.integers(0, 1 << 32, 3000, dtype=np.uint64)]
    vals = rng.uniform(-1, 1, 3000) * np.exp2(rng.integers(-30, 18, 3000).astype(np.float64))
    pats += [int(u) for u in f32_bits(vals)]
    return np.array(pats, dtype=np.uint32)


def main():
    x = inputs()
    t = torch.from_numpy(x.view(np.float32).copy())
    bf = t.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    hf = t.half().view(torch.int16).numpy().view(np.uint16)
    allp = torch.from_numpy(np.arange(65536, dtype=np.uint16).view(np.int16).copy())
    f16 = allp.view(torch.float16)
    b16 = allp.view(torch.bfloat16)
    f16_f32 = f16.float().numpy().view(np.uint32)
    bf16_f32 = b16.float().numpy().view(np.uint32)
    bf16_f16 = b16.to(torch.float16).view(torch.int16).numpy().view(np.uint16)
    f16_bf16 = f16.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    with open(OUT, "wb") as f:
        f.write(b"TOCV" + struct.pack("<I", len(x)))
        for a in (x, bf, hf, f16_f32, bf16_f32, bf16_f16, f16_bf16):
            f.write(a.astype(a.dtype.newbyteorder("<")).tobytes())
    print("wrote %s: %d patterns" % (OUT, len(x)))


if __name__ == "__main__":
    main()
