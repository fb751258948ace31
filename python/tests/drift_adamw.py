#!/usr/bin/python3
"""python/tests/drift_adamw.py - where trainopt.torch.AdamW's parameters differ from
torch.optim.AdamW's (1.13, single-tensor) after 100 steps, by operation. Not a test (run.py runs
test_*.py): the measurement README "Python" quotes. Run from the repo root after make python:

    /usr/bin/python3 python/tests/drift_adamw.py

It trains test_torch.py's MLP with torch.optim.AdamW (its defaults, the test's two groups, no
scheduler), steps trainopt.torch.AdamW on the same gradients, and replays them through float32
emulations of the AdamW step that differ from PyTorch's operation order in one place each:
  fused v     v = fma((1-b2)*g, g, b2*v)        PyTorch: b2*v, then addcmul_
  reciprocal  d = fma(sqrt(v), 1/sqrt(bc2), eps) PyTorch: sqrt(v) / sqrt(bc2), then + eps
  fused decay p = fma(p, 1-lr*wd, update)        PyTorch: p * (1-lr*wd), then addcdiv_
For each: the largest difference from torch's parameters, relative to each tensor's largest
magnitude (floored at its initial one, as the test), from trainopt's (0: the emulation is the
library, bit for bit), and the moments' difference from torch's. An fma is emulated in double
(the float product is exact there; the sum is rounded twice, which can differ from one rounding
only at a float tie: not seen in these runs)."""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
import trainopt.torch as tt  # noqa: E402
from test_torch import batch, mlp  # noqa: E402

f32 = np.float32


def fma(a, b, c):
    return (np.float64(a) * np.asarray(b, np.float64) + np.asarray(c, np.float64)).astype(f32)


def adamw(p, g, m, v, t, lr, wd, fused_v, reciprocal, fused_decay, b1=0.9, b2=0.999, eps=1e-8):
    bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
    m[:] = fma(g, f32(1 - b1), m * f32(b1))  # both: add_(g, alpha=1-b1) is an fma in ATen's vector kernel
    v[:] = fma(f32(1 - b2) * g, g, v * f32(b2)) if fused_v else v * f32(b2) + (f32(1 - b2) * g) * g
    if reciprocal:
        d = fma(np.sqrt(v), f32(1 / np.sqrt(bc2)), np.full_like(v, f32(eps)))
    else:
        d = np.sqrt(v) / f32(np.sqrt(bc2)) + f32(eps)
    update = (f32(-(lr / bc1)) * m) / d
    p[:] = fma(p, f32(1 - lr * wd), update) if fused_decay else p * f32(1 - lr * wd) + update


VARIANTS = {
    "PyTorch's order": (False, False, False),
    "fused v": (True, False, False),
    "fused v + reciprocal": (True, True, False),
    "fused v + fused decay": (True, False, True),
    "all three (trainopt 0.2.0)": (True, True, True),
}


def main():
    torch.manual_seed(0)
    model = mlp()
    twin = [p.detach().clone() for p in model.parameters()]
    initial = [p.abs().max().item() for p in twin]
    groups = lambda ps: [dict(params=ps[:2], lr=0.02, weight_decay=0.01), dict(params=ps[2:])]
    ref, ours = torch.optim.AdamW(groups(list(model.parameters()))), tt.AdamW(groups(twin))
    hp = [(g["lr"], g["weight_decay"]) for g in ref.param_groups]
    hp = [hp[0]] * 2 + [hp[1]] * (len(twin) - 2)
    emulated = {k: [(p.numpy().copy(), np.zeros(p.shape, f32), np.zeros(p.shape, f32)) for p in twin] for k in VARIANTS}
    for i in range(100):
        x, y = batch("mlp", i)
        ref.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        for p, q in zip(model.parameters(), twin):
            q.grad = p.grad.clone()
        ref.step()
        ours.step()
        for name, flags in VARIANTS.items():
            for (p, m, v), q, (lr, wd) in zip(emulated[name], twin, hp):
                adamw(p, q.grad.numpy(), m, v, i + 1, lr, wd, *flags)
    torch_p = [p.detach().numpy() for p in model.parameters()]
    torch_m = [ref.state[p]["exp_avg"].numpy() for p in model.parameters()]
    torch_v = [ref.state[p]["exp_avg_sq"].numpy() for p in model.parameters()]

    def rel(arrays, refs, floors):
        return max(float(np.abs(a - r).max()) / max(float(np.abs(r).max()), f, 1e-30)
                   for a, r, f in zip(arrays, refs, floors))

    def rel_state(arrays, refs):
        scale = max(float(np.abs(r).max()) for r in refs)
        return max(float(np.abs(a - r).max()) for a, r in zip(arrays, refs)) / scale

    mine = [p.numpy() for p in twin]
    print("trainopt.torch.AdamW (this library): params %.3g from torch; m %.3g, v %.3g" % (
        rel(mine, torch_p, initial), rel_state([ours.state[p]["exp_avg"].numpy() for p in twin], torch_m),
        rel_state([ours.state[p]["exp_avg_sq"].numpy() for p in twin], torch_v)))
    for name in VARIANTS:
        e = emulated[name]
        print("%-28s params %.3g from torch, %.3g from this library; m %.3g, v %.3g from torch" % (
            name, rel([a[0] for a in e], torch_p, initial), rel([a[0] for a in e], mine, initial),
            rel_state([a[1] for a in e], torch_m), rel_state([a[2] for a in e], torch_v)))


if __name__ == "__main__":
    main()
