#!/usr/bin/python3
"""Golden data for trainopt's batch normalization, from PyTorch 1.13.

Run with Debian's python3-torch: /usr/bin/python3 tests/gen_batchnorm.py
Writes tests/golden/batchnorm.bin (little-endian):

  header   b"TOBN", uint32 version (1), uint32 case count
  per case uint32 kind (0 = training forward + backward, 1 = inference),
           uint32 layout (0 = NCHW, 1 = NHWC), uint32 N, C, S,
           uint32 flags (1 gamma, 2 beta, 4 running statistics, 8 fuse_relu,
                         16 computed in float64 and rounded),
           float64 eps, momentum,
           float32 arrays, big ones in the layout's memory order:
             kind 0: x, [gamma], [beta], [running_mean, running_var], dy,
                     y, save_mean, save_invstd, [running_mean, running_var after],
                     dx, dgamma, dbeta
             kind 1: x, [gamma], [beta], running_mean, running_var, y

Training cases use F.batch_norm(training=True) (and F.relu after it for
fuse_relu) with autograd for dx, dgamma, dbeta (gamma and beta absent: PyTorch
gets ones and zeros, which the C side passes as NULL); save_mean and save_invstd
come from torch.native_batch_norm. NHWC cases hand PyTorch a channels_last
tensor (4-d) or a permuted view (3-d). Cases with flag 16 put a large offset on
the data (mean 1e4 times the standard deviation): PyTorch's float32 kernels are
not accurate there (its channels-last statistics are off by orders of
magnitude), so those run in float64 and are rounded to float32; their
backward pass is the float64 one from the float32-rounded saved statistics.
"""
import os
import struct

import torch
import torch.nn.functional as F

F_GAMMA, F_BETA, F_RUNNING, F_RELU, F_DOUBLE = 1, 2, 4, 8, 16


def to_layout(t, nhwc):
    """A [N][C][...] tensor's values in NCHW or NHWC memory order, flattened."""
    if nhwc and t.dim() > 2:
        t = t.movedim(1, -1)
    return t.contiguous().reshape(-1)


def as_input(t, nhwc):
    """The tensor PyTorch sees: channels_last for 4-d NHWC, a permuted view for 3-d."""
    if not nhwc or t.dim() == 2:
        return t.contiguous()
    if t.dim() == 4:
        return t.contiguous(memory_format=torch.channels_last)
    return t.movedim(1, -1).contiguous().movedim(-1, 1)


def floats(t):
    t = t.detach().to(torch.float32).contiguous().reshape(-1)
    return struct.pack("<%df" % t.numel(), *t.tolist())


class Case:
    def __init__(self, kind, shape, nhwc, gamma=True, beta=True, running=True, relu=False, double=False,
                 eps=1e-5, momentum=0.1, offset=0.0, scale=1.0, seed=0):
        self.kind, self.shape, self.nhwc = kind, shape, nhwc
        self.gamma, self.beta, self.running, self.relu, self.double = gamma, beta, running, relu, double
        self.eps, self.momentum, self.offset, self.scale, self.seed = eps, momentum, offset, scale, seed

    def header(self):
        n, c = self.shape[0], self.shape[1]
        s = 1
        for d in self.shape[2:]:
            s *= d
        flags = (F_GAMMA * self.gamma) | (F_BETA * self.beta) | (F_RUNNING * self.running) | \
                (F_RELU * self.relu) | (F_DOUBLE * self.double)
        return struct.pack("<6I2d", self.kind, int(self.nhwc), n, c, s, flags, self.eps, self.momentum)

    def data(self):
        g = torch.Generator().manual_seed(self.seed)
        c = self.shape[1]
        x = (torch.randn(self.shape, generator=g) * self.scale + self.offset).float()
        # per-channel offsets so that channels differ
        view = [1, c] + [1] * (len(self.shape) - 2)
        x = (x + (torch.arange(c, dtype=torch.float32).reshape(view) * 0.25 - 0.5) * self.scale).float()
        gamma = (torch.rand(c, generator=g) * 1.5 + 0.25).float()
        beta = (torch.randn(c, generator=g) * 0.5).float()
        rm = (torch.randn(c, generator=g) * 0.2 + self.offset).float()
        rv = (torch.rand(c, generator=g) * 2.0 + 0.5).float() * self.scale * self.scale
        dy = torch.randn(self.shape, generator=g).float()
        return x, gamma, beta, rm, rv, dy

    def bytes(self):
        x, gamma, beta, rm, rv, dy = self.data()
        dt = torch.float64 if self.double else torch.float32
        c = self.shape[1]
        w = (gamma if self.gamma else torch.ones(c)).to(dt)
        b = (beta if self.beta else torch.zeros(c)).to(dt)
        out = [self.header(), floats(to_layout(x, self.nhwc))]
        if self.gamma:
            out.append(floats(gamma))
        if self.beta:
            out.append(floats(beta))
        if self.kind == 1:
            out += [floats(rm), floats(rv)]
            y = F.batch_norm(as_input(x.to(dt), self.nhwc), rm.to(dt), rv.to(dt), w, b, training=False,
                             momentum=self.momentum, eps=self.eps)
            if self.relu:
                y = F.relu(y)
            out.append(floats(to_layout(y, self.nhwc)))
            return b"".join(out)
        if self.running:
            out += [floats(rm), floats(rv)]
        out.append(floats(to_layout(dy, self.nhwc)))
        xi = as_input(x.to(dt), self.nhwc).requires_grad_(True)
        wi = w.clone().requires_grad_(True)
        bi = b.clone().requires_grad_(True)
        rmi, rvi = rm.to(dt).clone(), rv.to(dt).clone()
        y = F.batch_norm(xi, rmi if self.running else None, rvi if self.running else None, wi, bi, training=True,
                         momentum=self.momentum, eps=self.eps)
        if self.relu:
            y = F.relu(y)
        y.backward(as_input(dy.to(dt), self.nhwc))
        _, save_mean, save_invstd = torch.native_batch_norm(as_input(x.to(dt), self.nhwc), w, b, None, None, True,
                                                            self.momentum, self.eps)
        out += [floats(to_layout(y, self.nhwc)), floats(save_mean), floats(save_invstd)]
        if self.running:
            out += [floats(rmi), floats(rvi)]
        dx, dw, db = xi.grad, wi.grad, bi.grad
        if self.double:
            # The saved statistics a float32 API carries are rounded to float32, and
            # with |mean| >> std that rounding moves the gradient: the exact gradient
            # from those float32 statistics is the reference (no relu in these cases).
            dx, dw, db = torch.ops.aten.native_batch_norm_backward(
                as_input(dy.to(dt), self.nhwc), as_input(x.to(dt), self.nhwc), w, None, None,
                save_mean.float().to(dt), save_invstd.float().to(dt), True, self.eps, [True, True, True])
        out += [floats(to_layout(dx, self.nhwc)), floats(dw), floats(db)]
        return b"".join(out)


def cases():
    T, I = 0, 1
    cs = []
    for nhwc in (False, True):
        cs += [
            Case(T, (2, 3, 4, 5), nhwc, seed=1),
            Case(T, (4, 7, 3, 3), nhwc, gamma=False, beta=False, relu=True, seed=2),
            Case(T, (4, 7, 3, 3), nhwc, beta=False, running=False, seed=3),
            Case(T, (5, 3, 7), nhwc, momentum=0.3, seed=4),
            Case(T, (2, 16, 17, 1), nhwc, relu=True, seed=5),
            Case(T, (1, 3, 33, 33), nhwc, eps=1e-3, seed=6),              # S = 1089 > 1024: segments
            Case(T, (4, 8, 16, 16), nhwc, momentum=1.0, seed=7),          # 8192 values
            Case(T, (2, 72, 6, 6), nhwc, relu=True, seed=8),              # C > 64, N*S = 72: whole-row path
            Case(T, (3, 70, 1, 1), nhwc, seed=9),                         # C > 64, N*S = 3: tiled path
            Case(T, (4, 5, 10, 10), nhwc, double=True, offset=1e4, seed=10),  # mean 1e4 x std
            Case(I, (2, 3, 4, 5), nhwc, seed=11),
            Case(I, (1, 7, 3, 3), nhwc, gamma=False, seed=12),            # N = 1
            Case(I, (3, 72, 4, 4), nhwc, relu=True, seed=13),
            Case(I, (2, 5, 6, 6), nhwc, double=True, offset=1e4, seed=14),
        ]
    cs += [
        Case(T, (8, 17), False, momentum=0.3, seed=20),                   # BatchNorm1d on [N][C]
        Case(T, (48, 80), False, relu=True, seed=21),                     # C > 64: whole-row path
        Case(T, (2, 1), False, gamma=False, seed=22),                     # N*S = 2, C = 1
        Case(T, (50, 3), False, double=True, offset=1e4, seed=23),
        Case(I, (1, 130), False, seed=24),                                # N = 1
    ]
    return cs


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    cs = cases()
    blob = b"TOBN" + struct.pack("<2I", 1, len(cs)) + b"".join(c.bytes() for c in cs)
    os.makedirs(os.path.join(here, "golden"), exist_ok=True)
    path = os.path.join(here, "golden", "batchnorm.bin")
    with open(path, "wb") as f:
        f.write(blob)
    print("wrote %s: %d cases, %d bytes (torch %s)" % (path, len(cs), len(blob), torch.__version__))


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
