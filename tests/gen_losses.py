#!/usr/bin/python3
"""tests/gen_losses.py - golden data for the losses suite, from PyTorch 1.13.

Run with Debian's python3-torch:  /usr/bin/python3 tests/gen_losses.py
Writes tests/golden/losses.bin, read by tests/test_losses.c (the suite needs no Python).

File format (little-endian): the magic b"TOGL0001", then records until the end:
  name      48 bytes, NUL-padded ASCII
  type      uint32: 0 float32, 1 int32, 2 float64
  count     uint32: number of elements
  data      count elements of that type
Cases are numbered per kernel; test_losses.c lists the same names.

References, all on CPU in float32, mean reduction, the loss backpropagated with
loss.backward() (grad_output 1):
  mse     torch.nn.MSELoss()
  bce     torch.nn.BCEWithLogitsLoss()
  ce      torch.nn.CrossEntropyLoss(ignore_index=..., label_smoothing=...)
  cgn     torch.nn.utils.clip_grad_norm_(params, max_norm)     (norm_type 2)
  cgv     torch.nn.utils.clip_grad_value_(params, clip_value)
  unscale GradScaler.unscale_'s kernel, _amp_foreach_non_finite_check_and_unscale_, is
          CUDA-only in the CPU build of 1.13, so its documented semantics are applied
          with CPU tensor ops: found_inf = any(!isfinite(g)); g = g * inv_scale (float32)
  l1l2    Keras' L1L2 penalty l1*sum|w| + l2*sum w^2 evaluated by torch (float32), and its
          gradient by autograd, added to an incoming gradient
"""
import os
import struct

import numpy as np
import torch

assert torch.__version__.startswith("1.13"), torch.__version__
torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "golden", "losses.bin")

records = []


def put(name, arr, kind=None):
    a = np.asarray(arr)
    if kind is None:
        kind = {np.dtype("float32"): 0, np.dtype("int32"): 1, np.dtype("float64"): 2}[a.dtype]
    a = a.astype({0: "<f4", 1: "<i4", 2: "<f8"}[kind]).ravel()
    assert len(name) < 48, name
    records.append(struct.pack("<48sII", name.encode(), kind, a.size) + a.tobytes())


def f32(t):
    return t.detach().cpu().numpy().astype(np.float32)


rng = np.random.default_rng(20260613)

# ---- MSELoss ----
for case, n in enumerate([1, 7, 33, 4099]):
    p = rng.normal(0, 2, n).astype(np.float32)
    t = rng.normal(0.5, 1, n).astype(np.float32)
    x = torch.tensor(p, requires_grad=True)
    loss = torch.nn.MSELoss()(x, torch.tensor(t))
    loss.backward()
    put(f"mse{case}.pred", p)
    put(f"mse{case}.target", t)
    put(f"mse{case}.loss", f32(loss).reshape(1))
    put(f"mse{case}.grad", f32(x.grad))

# ---- BCEWithLogitsLoss ----
for case, n in enumerate([1, 17, 4099]):
    x0 = np.concatenate([rng.normal(0, 3, n - n // 4), rng.uniform(-30, 30, n // 4)]).astype(np.float32)
    rng.shuffle(x0)
    hard = rng.integers(0, 2, n).astype(np.float32)
    soft = rng.uniform(0, 1, n).astype(np.float32)
    t = np.where(rng.uniform(0, 1, n) < 0.7, hard, soft).astype(np.float32)
    x = torch.tensor(x0, requires_grad=True)
    loss = torch.nn.BCEWithLogitsLoss()(x, torch.tensor(t))
    loss.backward()
    put(f"bce{case}.logits", x0)
    put(f"bce{case}.target", t)
    put(f"bce{case}.loss", f32(loss).reshape(1))
    put(f"bce{case}.grad", f32(x.grad))


# ---- CrossEntropyLoss ----
def ce_case(case, logits, labels, ignore_index, eps):
    x = torch.tensor(logits, requires_grad=True)
    loss = torch.nn.CrossEntropyLoss(ignore_index=ignore_index, label_smoothing=eps)(
        x, torch.tensor(labels.astype(np.int64)))
    loss.backward()
    b, c = logits.shape
    put(f"ce{case}.shape", np.array([b, c, ignore_index], dtype=np.int32))
    put(f"ce{case}.eps", np.array([eps], dtype=np.float64))
    put(f"ce{case}.logits", logits)
    put(f"ce{case}.labels", labels.astype(np.int32))
    put(f"ce{case}.loss", f32(loss).reshape(1))
    put(f"ce{case}.grad", f32(x.grad))


def labels_for(b, c, ignore_index, frac_ignored):
    lab = rng.integers(0, c, b).astype(np.int32)
    lab[rng.uniform(0, 1, b) < frac_ignored] = ignore_index
    return lab


ce = 0
for b, c, ign, eps, scale, frac in [
    (64, 100, -100, 0.0, 3.0, 0.1),   # plain, a few ignored
    (64, 100, -100, 0.1, 3.0, 0.1),   # label smoothing
    (16, 1000, 3, 0.2, 5.0, 0.0),     # ignore_index inside [0, C): rows labelled 3 are ignored
    (16, 1, -100, 0.1, 2.0, 0.0),     # a single class
    (7, 33, -1, 0.0, 1.0, 0.3),       # odd sizes
    (5, 300, -100, 0.3, 20.0, 0.2),   # wide logits
]:
    logits = rng.normal(0, scale, (b, c)).astype(np.float32)
    lab = labels_for(b, c, ign, frac)
    if c > 3 and ign == 3:
        lab[::4] = 3
    ce_case(ce, logits, lab, ign, eps)
    ce += 1

# extreme logits: +-1e4 in every row, large gaps
b, c = 8, 37
logits = rng.uniform(-1e4, 1e4, (b, c)).astype(np.float32)
logits[0, :] = 1e4
logits[1, 5] = -1e4
logits[2, :] = -1e4
logits[2, 7] = -9999.0
lab = rng.integers(0, c, b).astype(np.int32)
lab[3] = int(np.argmin(logits[3]))  # the least likely class: loss ~2e4
ce_case(ce, logits, lab, -100, 0.05)
ce += 1
# -inf logits that are not the label (finite loss without smoothing)
logits = rng.normal(0, 1, (5, 7)).astype(np.float32)
logits[:, 2] = -np.inf
lab = np.array([0, 1, 3, 4, 6], dtype=np.int32)
ce_case(ce, logits, lab, -100, 0.0)
ce += 1
# every row ignored: NaN loss, zero gradient
logits = rng.normal(0, 1, (4, 5)).astype(np.float32)
ce_case(ce, logits, np.full(4, -100, dtype=np.int32), -100, 0.1)
ce += 1
# a NaN row and a +Inf row that are counted, beside ordinary rows
logits = rng.normal(0, 1, (4, 6)).astype(np.float32)
logits[1, 3] = np.nan
logits[2, 0] = np.inf
ce_case(ce, logits, np.array([0, 1, 2, 3], dtype=np.int32), -100, 0.0)
ce += 1
put("ce.count", np.array([ce], dtype=np.int32))


# ---- clip_grad_norm_ ----
def cgn_case(case, grads, max_norm):
    params = []
    for g in grads:
        p = torch.zeros(len(g), requires_grad=True)
        p.grad = torch.tensor(g)
        params.append(p)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    put(f"cgn{case}.lens", np.array([len(g) for g in grads], dtype=np.int32))
    put(f"cgn{case}.max_norm", np.array([max_norm], dtype=np.float64))
    put(f"cgn{case}.in", np.concatenate(grads))
    put(f"cgn{case}.out", np.concatenate([f32(p.grad) for p in params]))
    put(f"cgn{case}.total", f32(total).reshape(1))


sizes = [3, 100, 4099, 17, 1]
base = [rng.normal(0, 1, s).astype(np.float32) for s in sizes]
cgn_case(0, [g.copy() for g in base], 1.0)      # clips (norm ~ 65)
cgn_case(1, [g.copy() for g in base], 1000.0)   # does not clip
cgn_case(2, [g.copy() * 1e-3 for g in base], 0.05)
bad = [g.copy() for g in base]
bad[2][10] = np.inf
cgn_case(3, bad, 1.0)                           # Inf norm: grads * 0 (Inf * 0 = NaN)
bad = [g.copy() for g in base]
bad[1][0] = np.nan
cgn_case(4, bad, 1.0)                           # NaN norm: every grad NaN
put("cgn.count", np.array([5], dtype=np.int32))

# ---- clip_grad_value_ ----
for case, clip in enumerate([1.5, 0.0, 0.01]):
    g = rng.normal(0, 2, 1003).astype(np.float32)
    g[:8] = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.5, -1.5, 1e-40]
    p = torch.zeros(len(g), requires_grad=True)
    p.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_value_([p], clip)
    put(f"cgv{case}.clip", np.array([clip], dtype=np.float64))
    put(f"cgv{case}.in", g)
    put(f"cgv{case}.out", f32(p.grad))

# ---- AMP unscale ----
for case, (scale, poison) in enumerate([(65536.0, None), (1024.0, np.inf), (3.0, np.nan), (0.125, -np.inf)]):
    g = (rng.normal(0, 1, 2051) * scale).astype(np.float32)
    if poison is not None:
        g[777] = poison
    inv = torch.full((1,), 1.0 / scale, dtype=torch.float32)
    gt = torch.tensor(g)
    found = float((~torch.isfinite(gt)).any())
    out = gt * inv
    put(f"unscale{case}.inv_scale", f32(inv))
    put(f"unscale{case}.in", g)
    put(f"unscale{case}.out", f32(out))
    put(f"unscale{case}.found", np.array([found], dtype=np.float32))

# ---- L1L2 (Keras convention, evaluated by torch) ----
for case, (l1, l2) in enumerate([(0.01, 0.0), (0.0, 0.02), (0.003, 0.005)]):
    w0 = rng.normal(0, 1, 1029).astype(np.float32)
    w0[:3] = [0.0, -0.0, 1e-30]
    g0 = rng.normal(0, 0.1, 1029).astype(np.float32)
    w = torch.tensor(w0, requires_grad=True)
    pen = torch.zeros((), dtype=torch.float32)
    if l1:
        pen = pen + l1 * w.abs().sum()
    if l2:
        pen = pen + l2 * (w * w).sum()
    pen.backward()
    put(f"l1l2_{case}.coef", np.array([l1, l2], dtype=np.float64))
    put(f"l1l2_{case}.w", w0)
    put(f"l1l2_{case}.grad_in", g0)
    put(f"l1l2_{case}.penalty", f32(pen).reshape(1))
    put(f"l1l2_{case}.grad_out", f32(torch.tensor(g0) + w.grad))

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "wb") as f:
    f.write(b"TOGL0001")
    for r in records:
        f.write(r)
print(f"wrote {OUT}: {len(records)} records, {os.path.getsize(OUT)} bytes")
