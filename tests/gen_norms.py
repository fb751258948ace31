#!/usr/bin/python3
"""Golden data for trainopt's layer, RMS and group normalization.

Run with Debian's python3-torch: /usr/bin/python3 tests/gen_norms.py
Writes tests/golden/norms.bin (little-endian):

  header   b"TONM", uint32 version (1), uint32 case count
  per case uint32 kind (0 = layer norm, 1 = RMS norm, 2 = group norm),
           uint32 a, b, c, d (layer/RMS norm: rows, cols, 0, 0;
                              group norm: N, C, spatial, groups),
           uint32 flags (1 weight, 2 bias, 4 group norm given as NHWC (spatial 1),
                         16 computed in float64 and rounded),
           float64 eps,
           float32 arrays: x, [weight], [bias], dy, y, [mean] (not RMS norm), rstd,
                           dx, [dweight], [dbias]

Layer norm: F.layer_norm over the last dimension with autograd for dx, dweight,
dbias; mean and rstd from torch.native_layer_norm. Group norm: F.group_norm with
autograd; mean and rstd from torch.native_group_norm. RMS norm is not in PyTorch
1.13: its reference is torch.nn.RMSNorm's definition in PyTorch 2.4
(torch/nn/modules/normalization.py, F.rms_norm),
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight,
written here in float64 with autograd in float64, rounded to float32. (RMSNorm's
eps=None default is torch.finfo(x.dtype).eps; trainopt always takes the config's
eps, so the cases say which eps they use.)
Cases with flag 16 run in float64 from the float32 inputs and are rounded to
float32: every RMS norm case, the cases with one column (where PyTorch float32
gives xhat = its mean's rounding error times rstd, about 1e-5, for an exact 0),
and the ill-conditioned cases, whose rows have a mean 1e4 times their standard
deviation (PyTorch's float32 kernels lose digits there, about 4e-4 relative in dx).
"""
import os
import struct

import torch
import torch.nn.functional as F

F_WEIGHT, F_BIAS, F_NHWC, F_DOUBLE = 1, 2, 4, 16
LN, RMS, GN = 0, 1, 2


def floats(t):
    t = t.detach().to(torch.float32).contiguous().reshape(-1)
    return struct.pack("<%df" % t.numel(), *t.tolist())


def rms_norm(x, weight, eps):
    """torch.nn.RMSNorm (PyTorch 2.4) over the last dimension."""
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return y * weight if weight is not None else y


def case(kind, shape, weight=True, bias=True, eps=1e-5, double=False, nhwc=False, groups=1, seed=0,
         offset=0.0, f64=False):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g) * 1.5 + 0.25
    if double:
        x = (torch.randn(shape, generator=g) + 1e4).float()  # mean 1e4 times the std
    x = (x + offset).float()
    width = shape[1] if kind == GN else shape[-1]
    w = (torch.rand(width, generator=g) + 0.5).float() if weight else None
    b = (torch.randn(width, generator=g) * 0.5).float() if (bias and kind != RMS) else None
    dy = torch.randn(shape, generator=g).float()
    # One column: PyTorch float32's xhat is its mean's rounding times rstd (about 1e-5)
    # where the exact answer is 0, so those cases run in float64 too.
    f64 = f64 or double or kind == RMS or width == 1
    dt = torch.float64 if f64 else torch.float32
    xd = x.to(dt).requires_grad_(True)
    wd = w.to(dt).requires_grad_(True) if w is not None else None
    bd = b.to(dt).requires_grad_(True) if b is not None else None
    if kind == LN:
        y = F.layer_norm(xd, (width,), wd, bd, eps)
        _, mean, rstd = torch.native_layer_norm(xd.detach(), (width,), None, None, eps)
    elif kind == RMS:
        y = rms_norm(xd, wd, eps)
        mean = None
        rstd = torch.rsqrt(xd.detach().pow(2).mean(-1) + eps)
    else:
        n, c = shape[0], shape[1]
        spatial = 1
        for d in shape[2:]:
            spatial *= d
        y = F.group_norm(xd, groups, wd, bd, eps)
        _, mean, rstd = torch.native_group_norm(xd.detach(), None, None, n, c, spatial, groups, eps)
    y.backward(dy.to(dt))
    if kind == GN:
        a = [shape[0], shape[1], (x.numel() // (shape[0] * shape[1])), groups]
    else:
        a = [x.numel() // width, width, 0, 0]
    flags = (F_WEIGHT if w is not None else 0) | (F_BIAS if b is not None else 0) | \
            (F_NHWC if nhwc else 0) | (F_DOUBLE if f64 else 0)
    out = struct.pack("<6Id", kind, *a, flags, eps)
    out += floats(x)
    if w is not None:
        out += floats(w)
    if b is not None:
        out += floats(b)
    out += floats(dy) + floats(y)
    if mean is not None:
        out += floats(mean)
    out += floats(rstd) + floats(xd.grad)
    if w is not None:
        out += floats(wd.grad)
    if b is not None:
        out += floats(bd.grad)
    return out


def cases():
    out = []
    seed = 0
    for kind in (LN, RMS):
        for shape, w, b, eps in (((5, 1), True, True, 1e-5), ((3, 7), True, True, 1e-5),
                                 ((4, 33), True, False, 1e-3), ((2, 1000), False, True, 1e-5),
                                 ((1, 4096), True, True, 1e-5), ((1, 33), False, False, 1e-5),
                                 ((34, 300), True, True, 1e-5), ((17, 70), True, True, 1e-6),
                                 ((2, 3, 65), True, True, 1e-5), ((33, 1), True, True, 1e-5)):
            seed += 1
            out.append(case(kind, shape, w, b, eps, seed=seed))
        seed += 1
        out.append(case(kind, (18, 500), True, True, 1e-5, double=True, seed=seed))
        seed += 1
        out.append(case(kind, (2, 4096), True, False, 1e-5, double=True, seed=seed))
    # RMSNorm with PyTorch 2.4's default eps (finfo(float32).eps), passed explicitly
    out.append(case(RMS, (6, 64), True, False, float(torch.finfo(torch.float32).eps), seed=99))
    for shape, groups, w, b, nhwc in (((2, 6, 10), 3, True, True, False), ((3, 4, 5, 5), 2, True, True, False),
                                      ((4, 8), 4, True, True, True), ((1, 32, 7, 7), 8, True, True, False),
                                      ((2, 8, 300), 1, False, False, False), ((2, 520, 2), 1, True, True, False),
                                      ((3, 12, 33), 12, True, False, False), ((1, 4, 1100), 2, True, True, False)):
        seed += 1
        out.append(case(GN, shape, w, b, 1e-5, nhwc=nhwc, groups=groups, seed=seed))
    seed += 1
    out.append(case(GN, (2, 8, 250), True, True, 1e-5, double=True, groups=2, seed=seed))
    return out


def main():
    data = cases()
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "norms.bin")
    with open(path, "wb") as f:
        f.write(b"TONM" + struct.pack("<2I", 1, len(data)))
        for d in data:
            f.write(d)
    print("%s: %d cases, %d bytes" % (path, len(data), os.path.getsize(path)))


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
