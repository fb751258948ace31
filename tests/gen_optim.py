#!/usr/bin/python3
"""Golden optimizer trajectories from PyTorch 1.13 (Debian python3-torch).

Writes tests/golden/optim.bin, read by tests/test_optim.c. Run from the repo root:
    /usr/bin/python3 tests/gen_optim.py

Format (little-endian): b"TOPTGLD1", u32 case count; then per case:
  char name[48]; u32 kind (0 sgd, 1 adagrad, 2 rmsprop, 3 adam, 4 adamw);
  f64 hp[5]; i32 flags[2]; u32 n, steps, nstates;
  f32 param0[n]; f32 grads[steps][n]; f32 after[steps][1 + nstates][n]
hp and flags per kind:
  sgd      lr momentum dampening weight_decay -      | nesterov maximize
  adagrad  lr lr_decay weight_decay init_acc eps     | maximize -
  rmsprop  lr alpha eps weight_decay momentum        | centered maximize
  adam(w)  lr beta1 beta2 eps weight_decay           | amsgrad maximize
States after param, in this order: sgd momentum_buffer; adagrad sum;
rmsprop square_avg [momentum_buffer] [grad_avg]; adam exp_avg exp_avg_sq [max_exp_avg_sq].
"""
import struct
import sys

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
    return c


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
    cls = torch.optim.Adam if kind == 3 else torch.optim.AdamW
    return cls([p], lr=hp[0], betas=(hp[1], hp[2]), eps=hp[3], weight_decay=hp[4], amsgrad=bool(fl[0]),
               maximize=bool(fl[1]), foreach=False)


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
    out = [st["exp_avg"], st["exp_avg_sq"]]
    if fl[0]:
        out.append(st["max_exp_avg_sq"])
    return out


def run_case(index, name, kind, hp, fl):
    g = torch.Generator().manual_seed(1000 + index)
    p = torch.nn.Parameter(torch.randn(N, generator=g))
    param0 = p.detach().clone()
    grads = torch.randn(STEPS, N, generator=g) * torch.linspace(0.01, 3.0, N)
    if name.endswith("maximize") or "nesterov_wd" in name:
        grads[7, 5] = float("nan")   # NaN and Inf propagate as data
        grads[11, 66] = float("inf")
    opt = make_optimizer(kind, hp, fl, p)
    after = []
    for s in range(STEPS):
        p.grad = grads[s].clone()
        opt.step()
        st = opt.state[p]
        after.append([p.detach().clone()] + [t.detach().clone() for t in state_tensors(kind, hp, fl, st, N)])
    return param0, grads, after


def main():
    out = bytearray(b"TOPTGLD1")
    all_cases = cases()
    out += struct.pack("<I", len(all_cases))
    for i, (name, kind, hp, fl) in enumerate(all_cases):
        param0, grads, after = run_case(i, name, kind, hp, fl)
        nstates = len(after[0]) - 1
        out += struct.pack("<48sI5d2i3I", name.encode(), kind, *hp, *fl, N, STEPS, nstates)
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
