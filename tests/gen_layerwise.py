#!/usr/bin/python3
"""Golden trajectories for LAMB, LARS, Adafactor and schedule-free AdamW (issue 16).

None of them is in PyTorch 1.13, so each reference below is float64 numpy written
from the cited source; the C tests compare the float32 kernels with it (1e-5 of each
array's largest magnitude). Writes tests/golden/layerwise.bin, read by
tests/test_layerwise.c. Run from the repo root:
    /usr/bin/python3 tests/gen_layerwise.py

Sources:
  LAMB  optax/_src/alias.py lamb = chain(scale_by_adam(b1, b2, eps, eps_root),
        add_decayed_weights(weight_decay), scale_by_trust_ratio(), scale_by_learning_rate(lr))
  LARS  optax/_src/alias.py lars = chain(add_decayed_weights(weight_decay),
        scale_by_trust_ratio(trust_coefficient, eps), scale_by_learning_rate(lr),
        trace(decay=momentum, nesterov))
        optax/_src/transform.py scale_by_trust_ratio: trust = coef * ||p|| / (||u|| + eps),
        1 where ||p|| == 0 or ||u|| == 0 (numerics.safe_norm with min_norm 0 is the norm)
  AF    torch/optim/_adafactor.py (PyTorch 2.5) _single_tensor_adafactor: row/col factors
        of a 2-D parameter (lerp toward the row and column means of g^2 with weight
        step^beta2_decay), var = R C^T / max(mean(R), eps1); a vector's variance lerps
        toward g^2; u = g / sqrt(max(var, eps1^2)); alpha = max(eps2, RMS(p)) * min(lr,
        1/sqrt(step)); p *= 1 - lr*wd; p -= alpha / max(1, RMS(u)/d) * u
  SF    facebookresearch/schedule_free, schedulefree/adamw_schedulefree_reference.py
        (AdamWScheduleFreeReference.step: explicit x, y, z sequences; the C kernel uses
        AdamWScheduleFree's y/z form, the same math)

Format (little-endian): b"TOLWGLD1", u32 case count; then per case:
  char name[48]; u32 kind (0 lamb, 1 lars, 2 sfadamw, 3 adafactor);
  f64 hp[8]; i32 flags[2]; u32 ntensors; u32 lens[ntensors]; u32 steps, nstates;
  f32 param0[total]; f32 grads[steps][total]; f32 after[steps][1 + nstates][total]
  (total = sum of lens; tensors concatenated in order)
hp and flags per kind:
  lamb     lr beta1 beta2 eps eps_root weight_decay - -                  | - -
  lars     lr weight_decay trust_coefficient eps momentum - - -          | nesterov -
  sfadamw  lr beta1 beta2 eps weight_decay r weight_lr_power -           | warmup_steps -
  adafactor lr beta2_decay eps1 eps2 d weight_decay - -                  | maximize rows
States after param: lamb exp_avg exp_avg_sq; lars trace (none without momentum); sfadamw z exp_avg_sq x
(x: the evaluation parameters, AdamWScheduleFree.eval()); adafactor, with two tensors
(the first [rows][lens[0]/rows], factored; the second a vector): row_var[rows]
col_var[cols] variance[lens[1]] (not `total` long).
"""
import math
import struct

import numpy as np

STEPS = 40
LENS = [67, 259, 5]  # odd lengths, one longer than a 256-element block, one tiny


def norm(x):
    return math.sqrt(float(np.dot(x, x)))


def trust_ratio(p, u, coef, eps):
    pn, un = norm(p), norm(u)
    if pn == 0.0 or un == 0.0:
        return 1.0
    return coef * pn / (un + eps)


def lamb_run(hp, flags, params, grads):
    lr, b1, b2, eps, eps_root, wd = hp[:6]
    ms = [np.zeros_like(p) for p in params]
    vs = [np.zeros_like(p) for p in params]
    out = []
    for t in range(1, STEPS + 1):
        for i, p in enumerate(params):
            g = grads[t - 1][i]
            ms[i] = b1 * ms[i] + (1 - b1) * g
            vs[i] = b2 * vs[i] + (1 - b2) * g * g
            m_hat = ms[i] / (1 - b1 ** t)
            v_hat = vs[i] / (1 - b2 ** t)
            u = m_hat / (np.sqrt(v_hat + eps_root) + eps) + wd * p
            params[i] = p - lr * trust_ratio(p, u, 1.0, 0.0) * u
        out.append([list(params), list(ms), list(vs)])
    return out


def lars_run(hp, flags, params, grads):
    lr, wd, coef, eps, momentum = hp[:5]
    nesterov = flags[0]
    traces = [np.zeros_like(p) for p in params]
    out = []
    for t in range(1, STEPS + 1):
        for i, p in enumerate(params):
            u = grads[t - 1][i] + wd * p
            d = -lr * (u * trust_ratio(p, u, coef, eps))
            traces[i] = d + momentum * traces[i]
            params[i] = p + (d + momentum * traces[i] if nesterov else traces[i])
        # without momentum the trace is d itself; the C kernel then takes no buffers
        out.append([list(params), list(traces)] if momentum != 0 else [list(params)])
    return out


def sfadamw_run(hp, flags, params, grads):
    lr0, beta1, beta2, eps, decay, r, power = hp[:7]
    warmup = flags[0]
    z = [p.copy() for p in params]
    x = [p.copy() for p in params]
    v = [np.zeros_like(p) for p in params]
    lr_max, weight_sum = -1.0, 0.0
    out = []
    for k in range(STEPS):
        sched = (k + 1) / warmup if k < warmup else 1.0
        lr = lr0 * sched * math.sqrt(1 - beta2 ** (k + 1))
        lr_max = max(lr, lr_max)
        weight = ((k + 1) ** r) * (lr_max ** power)
        weight_sum += weight
        ckp1 = weight / weight_sum if weight_sum != 0 else 0.0
        for i in range(len(params)):
            y = params[i]
            g = grads[k][i]
            if decay != 0:
                z[i] = z[i] - lr * decay * y
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            z[i] = z[i] - lr * g / (np.sqrt(v[i]) + eps)
            x[i] = (1 - ckp1) * x[i] + ckp1 * z[i]
            params[i] = beta1 * x[i] + (1 - beta1) * z[i]
        out.append([list(params), list(z), list(v), list(x)])
    return out


def lerp(a, b, w):
    return a + w * (b - a)


def adafactor_run(hp, flags, params, grads):
    lr, beta2_decay, eps1, eps2, d, wd = hp[:6]
    maximize, rows = flags
    cols = len(params[0]) // rows
    row_var, col_var, variance = np.zeros(rows), np.zeros(cols), np.zeros(len(params[1]))
    out = []
    for t in range(1, STEPS + 1):
        one_minus_beta2 = t ** beta2_decay
        rho = min(lr, 1 / t ** 0.5)
        for i, p in enumerate(params):
            g = -grads[t - 1][i] if maximize else grads[t - 1][i]
            alpha = max(eps2, norm(p) / len(p) ** 0.5) * rho
            if wd != 0:
                p = p * (1 - lr * wd)
            if i == 0:
                g2 = (g * g).reshape(rows, cols)
                row_var = lerp(row_var, g2.mean(axis=1), one_minus_beta2)
                col_var = lerp(col_var, g2.mean(axis=0), one_minus_beta2)
                var = (np.outer(row_var, col_var) / max(row_var.mean(), eps1)).reshape(-1)
            else:
                variance = lerp(variance, g * g, one_minus_beta2)
                var = variance
            u = g / np.sqrt(np.maximum(var, eps1 * eps1))
            denom = max(1.0, norm(u) / (len(u) ** 0.5 * d))
            params[i] = p - alpha / denom * u
        out.append([list(params), [row_var.copy()], [col_var.copy()], [variance.copy()]])
    return out


def cases():
    return [
        ("lamb_default", 0, (1e-2, 0.9, 0.999, 1e-6, 0.0, 1e-4), (0, 0)),
        ("lamb_betas_eps_root_wd", 0, (3e-3, 0.8, 0.99, 1e-4, 1e-8, 0.05), (0, 0)),
        ("lamb_no_wd_eps0", 0, (1e-2, 0.9, 0.999, 0.0, 0.0, 0.0), (0, 0)),
        ("lars_default_momentum", 1, (0.5, 0.0, 0.001, 0.0, 0.9), (0, 0)),
        ("lars_wd_eps_nesterov", 1, (0.2, 1e-3, 0.01, 1e-6, 0.8), (1, 0)),
        ("lars_no_momentum_wd", 1, (0.1, 5e-2, 0.02, 0.0, 0.0), (0, 0)),
        ("sfadamw_default", 2, (2.5e-3, 0.9, 0.999, 1e-8, 0.0, 0.0, 2.0), (0, 0)),
        ("sfadamw_warmup_wd", 2, (1e-2, 0.9, 0.999, 1e-8, 0.01, 0.0, 2.0), (10, 0)),
        ("sfadamw_r_power_betas", 2, (5e-3, 0.8, 0.99, 1e-6, 0.1, 1.0, 1.0), (5, 0)),
        ("adafactor_default_13x37", 3, (1e-2, -0.8, 2.0 ** -23, 1e-3, 1.0, 0.0), (0, 13)),
        ("adafactor_wd_maximize_260x3", 3, (3e-2, -0.5, 1e-6, 1e-2, 1.0, 0.1), (1, 260)),
        ("adafactor_clip_d2_1x70", 3, (0.5, -0.8, 1e-30, 1e-3, 2.0, 0.0), (0, 1)),
    ]


RUNS = {0: lamb_run, 1: lars_run, 2: sfadamw_run, 3: adafactor_run}
AF_SHAPES = {13: 13 * 37, 260: 260 * 3, 1: 70}  # rows -> elements of the factored tensor


def f32(a):
    return np.asarray(a, dtype=np.float64).astype(np.float32)


def main():
    rng = np.random.default_rng(20261205)
    blob = bytearray(b"TOLWGLD1")
    cs = cases()
    blob += struct.pack("<I", len(cs))
    for name, kind, hp, flags in cs:
        # float32 inputs; the reference computes in float64 from exactly these values
        lens = [AF_SHAPES[flags[1]], 67] if kind == 3 else LENS
        params = [f32(rng.normal(0.0, 0.5, n)).astype(np.float64) for n in lens]
        if kind == 0 and name.endswith("eps0"):
            params[2][:] = 0.0  # a zero tensor: its trust ratio is 1
        grads = []
        for t in range(STEPS):
            gs = [f32(rng.normal(0.0, 1.0, n) * (1 + 0.1 * np.sin(t + np.arange(n)))).astype(np.float64) for n in lens]
            grads.append(gs)
        param0 = np.concatenate(params)
        out = RUNS[kind](hp, flags, [p.copy() for p in params], grads)
        hp8 = tuple(hp) + (0.0,) * (8 - len(hp))
        blob += name.encode().ljust(48, b"\0")
        blob += struct.pack("<I", kind)
        blob += struct.pack("<8d", *hp8)
        blob += struct.pack("<2i", *flags)
        blob += struct.pack("<I", len(lens))
        blob += struct.pack("<%dI" % len(lens), *lens)
        blob += struct.pack("<II", STEPS, len(out[0]) - 1)
        blob += f32(param0).tobytes()
        for gs in grads:
            blob += f32(np.concatenate(gs)).tobytes()
        for arrays in out:
            for tensors in arrays:
                blob += f32(np.concatenate(tensors)).tobytes()
    with open("tests/golden/layerwise.bin", "wb") as f:
        f.write(bytes(blob))
    print("wrote tests/golden/layerwise.bin: %d cases, %d bytes" % (len(cs), len(blob)))


if __name__ == "__main__":
    main()
