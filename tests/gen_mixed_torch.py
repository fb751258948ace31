#!/usr/bin/python3
"""tests/gen_mixed_torch.py - PyTorch 1.13 trajectories with bf16 and fp16 tensors, for
tests/test_mixed.c.

PyTorch runs an optimizer on a bf16/fp16 tensor one tensor operation at a time, each
rounded to the tensor's dtype, with its hyperparameters converted to that dtype too.
trainopt's _mp steps do the whole step in fp32 and round once. The two agree bit for bit
where PyTorch makes no intermediate rounding, and only there: plain SGD (with or
without maximize) whose learning rate is a power of two, so that lr * g is exact and
the step is one rounding of p - lr * g in both. Those are the cases here. Momentum has
no twin (PyTorch's update reads the momentum buffer rounded to bf16, trainopt's the
fp32 one), nor weight decay (g + wd * p rounded to bf16 first), nor Adam and the others
(exp_avg.mul_(beta1), sqrt, ... each rounded).

Run with Debian's python3-torch: /usr/bin/python3 tests/gen_mixed_torch.py
Writes tests/golden/mixed_torch.bin, little-endian:
  b"TOMT", u32 cases, u32 n, u32 steps
  per case: u32 dtype (1 bf16, 2 fp16), u32 maximize, u32 lr_log2 (lr = 2^-lr_log2),
            u32 seed, n u16 params after step 1, n u16 params after the last step
The initial parameters and every step's gradients are bit patterns drawn from the
64-bit LCG below, which the C test repeats (to_mt_pattern in test_mixed.c); one
gradient is NaN and one +Inf at step 7.
"""
import os
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "golden", "mixed_torch.bin")
N, STEPS = 1031, 40  # two 512-element blocks of the _mp driver and a tail
MASK = (1 << 64) - 1


class Patterns:
    """16-bit patterns of normal numbers with a random sign, mantissa and exponent in
    [lo, lo + 8): the same sequence as the C test's to_mt_pattern."""

    def __init__(self, seed):
        self.x = seed

    def next(self, dtype, lo):
        self.x = (self.x * 6364136223846793005 + 1442695040888963407) & MASK
        r = self.x >> 33
        if dtype == 1:  # bf16: 1 + 8 + 7 bits
            return ((r & 1) << 15) | ((lo + ((r >> 1) & 7)) << 7) | ((r >> 4) & 0x7F)
        return ((r & 1) << 15) | ((lo + ((r >> 1) & 7)) << 10) | ((r >> 4) & 0x3FF)  # fp16: 1 + 5 + 10


def as_tensor(bits, dtype):
    t = torch.from_numpy(np.array(bits, dtype=np.uint16).view(np.int16))
    return t.view(torch.bfloat16 if dtype == 1 else torch.float16)


def as_bits(t):
    return t.detach().view(torch.int16).numpy().view(np.uint16)


def trajectory(dtype, maximize, lr_log2, seed):
    gen = Patterns(seed)
    p_lo, g_lo = (124, 118) if dtype == 1 else (12, 8)  # params ~ 2^-3..2^4, grads ~ 2^-9..2^-2 (bf16)
    p = as_tensor([gen.next(dtype, p_lo) for _ in range(N)], dtype).requires_grad_()
    opt = torch.optim.SGD([p], lr=2.0 ** -lr_log2, maximize=bool(maximize), foreach=False)
    nan, inf = (0x7FC0, 0x7F80) if dtype == 1 else (0x7E00, 0x7C00)
    after_first = None
    for step in range(1, STEPS + 1):
        g = [gen.next(dtype, g_lo) for _ in range(N)]
        if step == 7:
            g[5], g[6] = nan, inf
        p.grad = as_tensor(g, dtype)
        opt.step()
        if step == 1:
            after_first = as_bits(p).copy()
    return after_first, as_bits(p)


CASES = [  # dtype, maximize, lr_log2, seed
    (1, 0, 6, 11),
    (1, 1, 3, 12),
    (2, 0, 7, 13),
    (2, 1, 4, 14),
]


def main():
    torch.set_num_threads(1)
    with open(OUT, "wb") as f:
        f.write(b"TOMT" + struct.pack("<3I", len(CASES), N, STEPS))
        for case in CASES:
            f.write(struct.pack("<4I", *case))
            for arr in trajectory(*case):
                f.write(np.asarray(arr, dtype="<u2").tobytes())
    print(f"{OUT}: {len(CASES)} cases, {N} elements, {STEPS} steps")


if __name__ == "__main__":
    main()
