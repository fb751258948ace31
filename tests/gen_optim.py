#!/usr/bin/python3
"""Golden optimizer trajectories from PyTorch 1.13 (Debian python3-torch), and from
float64 references written here where 1.13 lacks the optimizer or the option.

Writes tests/golden/optim.bin, read by tests/test_optim.c. Run from the repo root:
    /usr/bin/python3 tests/gen_optim.py

Format (little-endian): b"TOPTGLD2", u32 case count; then per case:
  char name[48]; u32 kind (0 sgd, 1 adagrad, 2 rmsprop, 3 adam, 4 adamw, 5 nadam,
  6 radam, 7 adamax, 8 adadelta, 9 lion); u32 source (0 PyTorch 1.13, 1 the float64
  reference below); f64 hp[8]; i32 flags[3]; u32 n, steps, nstates;
  f32 param0[n]; f32 grads[steps][n]; f32 after[steps][1 + nstates][n]
hp and flags per kind (unused entries 0):
  sgd      lr momentum dampening weight_decay -      -               | nesterov maximize
  adagrad  lr lr_decay weight_decay init_acc eps     -               | maximize -
  rmsprop  lr alpha eps weight_decay momentum        -               | centered maximize
  adam(w)  lr beta1 beta2 eps weight_decay           -               | amsgrad maximize
  nadam    lr beta1 beta2 eps weight_decay           momentum_decay  | decoupled maximize
  radam    lr beta1 beta2 eps weight_decay           -               | decoupled maximize
  adamax   lr beta1 beta2 eps weight_decay           -               | maximize -
  adadelta lr rho eps weight_decay -                 -               | maximize -
  lion     lr beta1 beta2 weight_decay -             -               | maximize -
States after param, in this order: sgd momentum_buffer; adagrad sum;
rmsprop square_avg [momentum_buffer] [grad_avg]; adam exp_avg exp_avg_sq [max_exp_avg_sq];
nadam, radam exp_avg exp_avg_sq; adamax exp_avg exp_inf; adadelta square_avg acc_delta;
lion exp_avg.

Where the data come from (source 0 is compared to 2e-6 of each array's largest
magnitude, source 1 to 1e-5 of it, as issue 16 asks):
  nadam    1.13's foreach=True path: its single-tensor path multiplies by mu once too
           often (pytorch#92699, fixed in 2.0). decoupled_weight_decay (2.x only):
           source 1, from PyTorch 2.x's torch/optim/nadam.py (_single_tensor_nadam).
  radam    1.13's single-tensor path (its foreach path drops eps); decoupled: source 1,
           from 2.x's torch/optim/radam.py.
  maximize for nadam and radam (2.x only; 2.x negates the gradient first): 1.13 run on
           the negated gradients, which is the same computation.
  lion     source 1, from optax.lion (optax/_src/alias.py: scale_by_lion, then
           add_decayed_weights, then scale_by_learning_rate):
           u = sign((1-b1) g + b1 m) + wd p;  p = p - lr u;  m = (1-b2) g + b2 m.
"""
import struct
import sys

import numpy as np
import torch

N = 67        # odd: four AVX-512 vectors and a tail of 3
STEPS = 40


def cases():
    c = []
    for name, hp, fl in [
        ("sgd_plain", (0.1, 0.0, 0.0, 0.0), (0, 0)),
        ("sgd_momentum", (0.05, 0.9, 0.0, 0.0), (0, 0)),
        ("sgd_momentum_dampening_wd", (0.05, 0.9, 0.3, 1e-2), (0, 0)),
        ("sgd_nesterov_wd", (0.05, 0.9, 0.0, 5e-3), (1, 0)),
        ("sgd_nesterov_maximize", (0.02, 0.8, 0.0, 0.0), (1, 1)),
    ]:
        c.append((name, 0, hp + (0.0,), fl))
    for name, hp, fl in [
        ("adagrad_default", (1e-2, 0.0, 0.0, 0.0, 1e-10), (0, 0)),
        ("adagrad_decay_wd_init", (0.1, 1e-2, 1e-2, 0.1, 1e-10), (0, 0)),
        ("adagrad_maximize_eps", (0.05, 0.0, 0.0, 0.0, 1e-3), (1, 0)),
    ]:
        c.append((name, 1, hp, fl))
    for name, hp, fl in [
        ("rmsprop_default", (1e-2, 0.99, 1e-8, 0.0, 0.0), (0, 0)),
        ("rmsprop_centered", (1e-2, 0.9, 1e-6, 0.0, 0.0), (1, 0)),
        ("rmsprop_momentum_wd", (1e-2, 0.95, 1e-8, 1e-2, 0.9), (0, 0)),
        ("rmsprop_centered_momentum_maximize", (5e-3, 0.99, 1e-8, 1e-3, 0.5), (1, 1)),
    ]:
        c.append((name, 2, hp, fl))
    for kind, base in ((3, "adam"), (4, "adamw")):
        wd_default = 0.0 if kind == 3 else 1e-2
        for name, hp, fl in [
            ("default", (1e-3, 0.9, 0.999, 1e-8, wd_default), (0, 0)),
            ("wd_amsgrad", (1e-2, 0.9, 0.999, 1e-8, 0.05), (1, 0)),
            ("betas_maximize", (3e-3, 0.8, 0.99, 1e-6, 1e-2), (0, 1)),
            ("lr_big_eps_amsgrad_maximize", (0.1, 0.5, 0.9, 1e-3, 0.0), (1, 1)),
        ]:
            c.append((base + "_" + name, kind, hp, fl))
    # Issue 16. Names ending in "maximize" get a NaN and an Inf in their gradients.
    for name, hp, fl in [
        ("nadam_default", (2e-3, 0.9, 0.999, 1e-8, 0.0, 4e-3), (0, 0)),
        ("nadam_wd_mdecay", (1e-2, 0.8, 0.99, 1e-6, 1e-2, 2e-2), (0, 0)),
        ("nadam_wd_maximize", (5e-3, 0.9, 0.999, 1e-8, 5e-2, 4e-3), (0, 1)),
        ("nadam_decoupled", (1e-2, 0.9, 0.999, 1e-8, 0.1, 4e-3), (1, 0)),
        ("nadam_decoupled_maximize", (3e-3, 0.85, 0.99, 1e-6, 1e-2, 1e-2), (1, 1)),
    ]:
        c.append((name, 5, hp, fl))
    for name, hp, fl in [
        ("radam_default", (1e-3, 0.9, 0.999, 1e-8, 0.0), (0, 0)),
        ("radam_early_rect_wd", (1e-2, 0.9, 0.9, 1e-8, 1e-2), (0, 0)),  # beta2 0.9: rho_t > 5 from step 6
        ("radam_wd_maximize", (5e-3, 0.8, 0.95, 1e-6, 5e-2), (0, 1)),
        ("radam_decoupled", (1e-2, 0.9, 0.9, 1e-8, 0.1), (1, 0)),
        ("radam_decoupled_maximize", (3e-3, 0.85, 0.95, 1e-6, 1e-2), (1, 1)),
    ]:
        c.append((name, 6, hp, fl))
    for name, hp, fl in [
        ("adamax_default", (2e-3, 0.9, 0.999, 1e-8, 0.0), (0, 0)),
        ("adamax_wd", (1e-2, 0.8, 0.99, 1e-3, 1e-2), (0, 0)),
        ("adamax_wd_maximize", (5e-3, 0.9, 0.9, 1e-8, 5e-2), (1, 0)),
    ]:
        c.append((name, 7, hp, fl))
    for name, hp, fl in [
        ("adadelta_default", (1.0, 0.9, 1e-6, 0.0), (0, 0)),
        ("adadelta_wd", (0.5, 0.95, 1e-4, 1e-2), (0, 0)),
        ("adadelta_wd_maximize", (2.0, 0.8, 1e-6, 5e-2), (1, 0)),
    ]:
        c.append((name, 8, hp, fl))
    for name, hp, fl in [
        ("lion_default_wd", (1e-4, 0.9, 0.99, 1e-3), (0, 0)),
        ("lion_no_wd", (3e-3, 0.9, 0.99, 0.0), (0, 0)),
        ("lion_betas_wd_maximize", (1e-3, 0.8, 0.95, 0.1), (1, 0)),
    ]:
        c.append((name, 9, hp, fl))
    return [(name, kind, tuple(hp) + (0.0,) * (8 - len(hp)), tuple(fl) + (0,) * (3 - len(fl)))
            for name, kind, hp, fl in c]


def make_optimizer(kind, hp, fl, p):
    if kind == 0:
        return torch.optim.SGD([p], lr=hp[0], momentum=hp[1], dampening=hp[2], weight_decay=hp[3],
                               nesterov=bool(fl[0]), maximize=bool(fl[1]), foreach=False)
    if kind == 1:
        return torch.optim.Adagrad([p], lr=hp[0], lr_decay=hp[1], weight_decay=hp[2],
                                   initial_accumulator_value=hp[3], eps=hp[4], maximize=bool(fl[0]), foreach=False)
    if kind == 2:
        return torch.optim.RMSprop([p], lr=hp[0], alpha=hp[1], eps=hp[2], weight_decay=hp[3], momentum=hp[4],
                                   centered=bool(fl[0]), maximize=bool(fl[1]), foreach=False)
    if kind in (3, 4):
        cls = torch.optim.Adam if kind == 3 else torch.optim.AdamW
        return cls([p], lr=hp[0], betas=(hp[1], hp[2]), eps=hp[3], weight_decay=hp[4], amsgrad=bool(fl[0]),
                   maximize=bool(fl[1]), foreach=False)
    if kind == 5:  # foreach: the single-tensor path has pytorch#92699
        return torch.optim.NAdam([p], lr=hp[0], betas=(hp[1], hp[2]), eps=hp[3], weight_decay=hp[4],
                                 momentum_decay=hp[5], foreach=True)
    if kind == 6:  # single-tensor: the foreach path drops eps
        return torch.optim.RAdam([p], lr=hp[0], betas=(hp[1], hp[2]), eps=hp[3], weight_decay=hp[4], foreach=False)
    if kind == 7:
        return torch.optim.Adamax([p], lr=hp[0], betas=(hp[1], hp[2]), eps=hp[3], weight_decay=hp[4],
                                  maximize=bool(fl[0]), foreach=False)
    return torch.optim.Adadelta([p], lr=hp[0], rho=hp[1], eps=hp[2], weight_decay=hp[3], maximize=bool(fl[0]),
                                foreach=False)


def state_tensors(kind, hp, fl, st, n):
    zero = torch.zeros(n)
    if kind == 0:
        return [st.get("momentum_buffer", zero)] if hp[1] != 0 else []
    if kind == 1:
        return [st["sum"]]
    if kind == 2:
        out = [st["square_avg"]]
        if hp[4] > 0:
            out.append(st["momentum_buffer"])
        if fl[0]:
            out.append(st["grad_avg"])
        return out
    if kind in (3, 4):
        out = [st["exp_avg"], st["exp_avg_sq"]]
        if fl[0]:
            out.append(st["max_exp_avg_sq"])
        return out
    if kind in (5, 6):
        return [st["exp_avg"], st["exp_avg_sq"]]
    if kind == 7:
        return [st["exp_avg"], st["exp_inf"]]
    return [st["square_avg"], st["acc_delta"]]


def uses_reference(kind, fl):
    """Source 1: options PyTorch 1.13 lacks (decoupled decay) and Lion."""
    return kind == 9 or (kind in (5, 6) and fl[0])


def reference_steps(kind, hp, fl, param0, grads):
    """float64 references of PyTorch 2.x's NAdam/RAdam (decoupled_weight_decay) and optax.lion."""
    p = param0.astype(np.float64)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    mu_product = 1.0
    after = []
    with np.errstate(invalid="ignore", over="ignore"):
        for s, g32 in enumerate(grads, start=1):
            g = g32.astype(np.float64)
            if kind == 9:  # optax.lion
                lr, b1, b2, wd = hp[:4]
                if fl[0]:
                    g = -g
                u = np.sign((1 - b1) * g + b1 * m) + wd * p
                p = p - lr * u
                m = (1 - b2) * g + b2 * m
                after.append([p, m])
                continue
            lr, b1, b2, eps, wd = hp[:5]
            if fl[1]:
                g = -g
            if wd != 0:
                if fl[0]:
                    p = p * (1 - lr * wd)
                else:
                    g = g + wd * p
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            bc1, bc2 = 1 - b1 ** s, 1 - b2 ** s
            if kind == 5:  # _single_tensor_nadam, 2.x
                mu = b1 * (1 - 0.5 * 0.96 ** (s * hp[5]))
                mu_next = b1 * (1 - 0.5 * 0.96 ** ((s + 1) * hp[5]))
                mu_product *= mu
                denom = np.sqrt(v / bc2) + eps
                p = p - lr * (1 - mu) / (1 - mu_product) * g / denom
                p = p - lr * mu_next / (1 - mu_product * mu_next) * m / denom
            else:  # _single_tensor_radam, 2.x
                rho_inf = 2 / (1 - b2) - 1
                rho_t = rho_inf - 2 * s * b2 ** s / bc2
                if rho_t > 5:
                    rect = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                    p = p - (m / bc1) * lr * (np.sqrt(bc2) / (np.sqrt(v) + eps)) * rect
                else:
                    p = p - (m / bc1) * lr
            after.append([p, m, v])
    return [[torch.from_numpy(a.astype(np.float32)) for a in arrays] for arrays in after]


def run_case(index, name, kind, hp, fl):
    g = torch.Generator().manual_seed(1000 + index)
    p = torch.nn.Parameter(torch.randn(N, generator=g))
    param0 = p.detach().clone()
    grads = torch.randn(STEPS, N, generator=g) * torch.linspace(0.01, 3.0, N)
    if name.endswith("maximize") or "nesterov_wd" in name:
        grads[7, 5] = float("nan")   # NaN and Inf propagate as data
        grads[11, 66] = float("inf")
    if kind == 9:
        grads[0, 3] = 0.0  # Lion: c = 0 at step 1 (m starts at 0): sign(0) = 0, only the decay moves p
    if uses_reference(kind, fl):
        return param0, grads, reference_steps(kind, hp, fl, param0.numpy(), grads.numpy())
    opt = make_optimizer(kind, hp, fl, p)
    # 1.13's NAdam and RAdam have no maximize; 2.x's negates the gradient first, which is this.
    negate = kind in (5, 6) and fl[1]
    after = []
    for s in range(STEPS):
        p.grad = -grads[s] if negate else grads[s].clone()
        opt.step()
        st = opt.state[p]
        after.append([p.detach().clone()] + [t.detach().clone() for t in state_tensors(kind, hp, fl, st, N)])
    return param0, grads, after


def main():
    out = bytearray(b"TOPTGLD2")
    all_cases = cases()
    out += struct.pack("<I", len(all_cases))
    for i, (name, kind, hp, fl) in enumerate(all_cases):
        param0, grads, after = run_case(i, name, kind, hp, fl)
        nstates = len(after[0]) - 1
        out += struct.pack("<48sII8d3i3I", name.encode(), kind, int(uses_reference(kind, fl)), *hp, *fl, N, STEPS,
                           nstates)
        out += param0.numpy().astype("<f4").tobytes()
        out += grads.numpy().astype("<f4").tobytes()
        for arrays in after:
            for a in arrays:
                out += a.numpy().astype("<f4").tobytes()
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/golden/optim.bin"
    with open(path, "wb") as f:
        f.write(out)
    print(f"wrote {path}: {len(all_cases)} cases, {len(out)} bytes (torch {torch.__version__})")


if __name__ == "__main__":
    main()
