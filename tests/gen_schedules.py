#!/usr/bin/python3
"""Writes tests/golden/schedules.txt: learning rates from PyTorch 1.13's
torch.optim.lr_scheduler, stepped the way a training loop steps them, plus
Keras and optax schedules computed from their documented formulas.

Run with Debian's python3-torch:  /usr/bin/python3 tests/gen_schedules.py

What is recorded. For a PyTorch scheduler the value at t is get_last_lr()[0]
after t calls to scheduler.step() (the constructor's own step is t = 0), with
optimizer.step() before each scheduler.step(): the lr the optimizer uses for
its step t. In PyTorch 1.13 get_last_lr() returns the group lr the last step()
set, so it is that lr. Momentum records hold the group's momentum (or Adam's
beta1) after the same steps. ReduceLROnPlateau records, per epoch, the metric
and the lr after step(metric).

Record forms, and the tolerance tests/test_schedules.c applies:
  recursive  what scheduler.step() computes (the chainable get_lr() form)  1e-9 relative
  closed     PyTorch's _get_closed_form_lr() at the same last_epoch, or the
             scheduler's get_lr() where that already is a closed form
             (CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR)           1e-12 relative
  formula    Keras / optax documented formulas, in double                  1e-12 relative
  plateau    ReduceLROnPlateau, bit for bit (the same IEEE operations)

File format (text; numbers are Python repr, which C's strtod reads back exactly):
  lr|momentum FORM NAME N SPEC      SPEC (rest of line) is trainopt_schedule_parse_join text
  then N values, six per line
  plateau NAME N MODE THRESHOLD_MODE FACTOR PATIENCE THRESHOLD COOLDOWN MIN_LR EPS LR0
  then N lines "metric lr"
"""
import math
import os
import random
import sys
import warnings

import torch
from torch.optim import lr_scheduler as S

warnings.filterwarnings("ignore")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "schedules.txt")
STEPS = 320  # values per record (t = 0 .. STEPS-1) unless a record says otherwise

records = []


def fmt(x):
    return repr(float(x))


def optimizer(lr, kind="sgd"):
    p = torch.nn.Parameter(torch.zeros(1))
    if kind == "adam":
        return torch.optim.Adam([p], lr=lr)
    return torch.optim.SGD([p], lr=lr, momentum=0.9)


def run(make, n, lr=0.1, opt="sgd", closed=False, momentum=False):
    """Steps a scheduler n-1 times; returns the lr (and closed-form and momentum) per t."""
    o = optimizer(lr, opt)
    s = make(o)
    lrs, cls, moms = [], [], []
    for t in range(n):
        if t > 0:
            o.step()
            s.step()
        lrs.append(s.get_last_lr()[0])
        if closed:
            cls.append(s._get_closed_form_lr()[0])
        if momentum:
            g = o.param_groups[0]
            moms.append(g["betas"][0] if opt == "adam" else g["momentum"])
    return lrs, cls, moms


def value_text(v):
    """A Python argument as trainopt_schedule_parse text."""
    if isinstance(v, bool):
        return "1" if v else "0"
    return repr(v) if isinstance(v, float) else str(v)


def add(kind, form, name, spec, values):
    records.append((kind, form, name, spec, list(values)))


def torch_closed_and_recursive(name, spec, make, lr, n=STEPS):
    rec, cl, _ = run(make, n, lr, closed=True)
    add("lr", "recursive", name, spec, rec)
    add("lr", "closed", name, spec, cl)


# ---- StepLR, MultiStepLR, ExponentialLR, ConstantLR, LinearLR, PolynomialLR, CosineAnnealingLR
for name, lr, step, gamma in [("step_a", 0.1, 30, 0.1), ("step_b", 0.05, 7, 0.5), ("step_c", 1.0, 1, 0.97),
                              ("step_d", 0.3, 1000, 0.1)]:
    torch_closed_and_recursive(name, f"step:lr={lr},step_size={step},gamma={gamma}",
                               lambda o, step=step, gamma=gamma: S.StepLR(o, step, gamma), lr)

for name, lr, ms, gamma in [("multistep_a", 0.1, [30, 80, 250], 0.1), ("multistep_b", 0.02, [0, 5, 5, 100], 0.5),
                            ("multistep_c", 0.5, [200, 50], 0.3)]:
    spec = "multistep:lr=%r,milestones=[%s],gamma=%r" % (lr, ",".join(map(str, ms)), gamma)
    torch_closed_and_recursive(name, spec, lambda o, ms=ms, gamma=gamma: S.MultiStepLR(o, ms, gamma), lr)

for name, lr, gamma in [("exponential_a", 0.1, 0.95), ("exponential_b", 1.0, math.exp(-0.01)),
                        ("exponential_c", 0.01, 1.0), ("exponential_d", 1e-4, 1.02)]:
    torch_closed_and_recursive(name, f"exponential:lr={lr!r},gamma={gamma!r}",
                               lambda o, gamma=gamma: S.ExponentialLR(o, gamma), lr)

for name, lr, factor, total in [("constant_a", 0.1, 1.0 / 3, 5), ("constant_b", 0.05, 0.5, 100),
                                ("constant_c", 0.2, 0.05, 30)]:
    torch_closed_and_recursive(name, f"constant:lr={lr!r},factor={factor!r},total_iters={total}",
                               lambda o, f=factor, n=total: S.ConstantLR(o, f, n), lr)


def closed_only(name, spec, make, lr, n=STEPS):
    """Where PyTorch's recursive form fails, its closed form alone, at last_epoch = t."""
    s = make(optimizer(lr))
    values = []
    for t in range(n):
        s.last_epoch = t
        values.append(s._get_closed_form_lr()[0])
    add("lr", "closed", name, spec, values)


# total_iters = 0: PyTorch's recursive form stays at factor forever (its t = 0 branch
# applies the factor and nothing undoes it); factor = 0: it divides by zero at
# total_iters. The closed form, the contract, handles both.
closed_only("constant_zero_iters", "constant:lr=0.1,factor=0.25,total_iters=0", lambda o: S.ConstantLR(o, 0.25, 0), 0.1)
closed_only("constant_zero_factor", "constant:lr=0.2,factor=0,total_iters=30", lambda o: S.ConstantLR(o, 0.0, 30), 0.2)

for name, lr, sf, ef, total in [("linear_a", 0.1, 1.0 / 3, 1.0, 5), ("linear_b", 0.5, 1.0, 0.01, 200),
                                ("linear_c", 0.1, 0.25, 0.75, 1)]:
    torch_closed_and_recursive(name, f"linear:lr={lr!r},start_factor={sf!r},end_factor={ef!r},total_iters={total}",
                               lambda o, sf=sf, ef=ef, n=total: S.LinearLR(o, sf, ef, n), lr)
# start_factor = 0: PyTorch's recursive form divides by zero at t = 1.
closed_only("linear_zero_start", "linear:lr=0.1,start_factor=0,end_factor=1,total_iters=10",
            lambda o: S.LinearLR(o, 0.0, 1.0, 10), 0.1)

for name, lr, total, power in [("polynomial_a", 0.1, 5, 1.0), ("polynomial_b", 0.1, 250, 2.0),
                               ("polynomial_c", 0.3, 100, 0.5), ("polynomial_d", 1.0, 1, 3.0)]:
    torch_closed_and_recursive(name, f"polynomial:lr={lr!r},total_iters={total},power={power!r}",
                               lambda o, n=total, p=power: S.PolynomialLR(o, n, p), lr)

for name, lr, tmax, eta in [("cosine_a", 0.1, 100, 0.0), ("cosine_b", 0.1, 300, 0.001), ("cosine_c", 0.1, 1, 0.01),
                            ("cosine_d", 1.0, 7, 0.0)]:
    torch_closed_and_recursive(name, f"cosine:lr={lr!r},t_max={tmax},eta_min={eta!r}",
                               lambda o, tmax=tmax, eta=eta: S.CosineAnnealingLR(o, tmax, eta), lr)

# ---- CosineAnnealingWarmRestarts: step() computes the closed form from integer T_cur, T_i
for name, lr, t0, tm, eta in [("restarts_a", 0.1, 10, 1, 0.0), ("restarts_b", 0.1, 5, 2, 0.001),
                              ("restarts_c", 0.5, 1, 3, 0.0), ("restarts_d", 0.1, 1, 1, 0.0)]:
    rec, _, _ = run(lambda o, t0=t0, tm=tm, eta=eta: S.CosineAnnealingWarmRestarts(o, t0, tm, eta), STEPS, lr)
    add("lr", "closed", name, f"cosine_restarts:lr={lr!r},t_0={t0},t_mult={tm},eta_min={eta!r}", rec)

# ---- OneCycleLR (lr, and the momentum or Adam beta1 it cycles); t = 0 .. total_steps
for name, mx, total, kw, opt in [
        ("onecycle_a", 0.1, 300, {}, "sgd"),
        ("onecycle_b", 0.5, 400, dict(anneal_strategy="linear", three_phase=True, pct_start=0.25, div_factor=10.0,
                                      final_div_factor=100.0), "sgd"),
        ("onecycle_c", 0.01, 350, dict(three_phase=True), "adam"),
        ("onecycle_d", 1.0, 320, dict(anneal_strategy="linear", pct_start=0.5, base_momentum=0.8,
                                      max_momentum=0.99), "sgd"),
        ("onecycle_e", 0.1, 1, {}, "sgd")]:
    rec, _, mom = run(lambda o, mx=mx, total=total, kw=kw: S.OneCycleLR(o, mx, total_steps=total, **kw),
                      total + 1, 0.1, opt, momentum=True)
    spec = f"onecycle:lr={mx!r},total_steps={total}" + "".join(",%s=%s" % (k, value_text(v)) for k, v in kw.items())
    add("lr", "closed", name, spec, rec)
    add("momentum", "closed", name, spec, mom)

# ---- CyclicLR (lr and momentum)
for name, base, mx, up, down, mode, gamma in [
        ("cyclic_a", 0.001, 0.1, 20, None, "triangular", 1.0),
        ("cyclic_b", 0.01, 0.2, 15, 35, "triangular2", 1.0),
        ("cyclic_c", 0.001, 0.05, 25, 10, "exp_range", 0.995),
        ("cyclic_d", 0.1, 1.0, 7, 0, "triangular", 1.0)]:
    rec, _, mom = run(lambda o, base=base, mx=mx, up=up, down=down, mode=mode, gamma=gamma: S.CyclicLR(
        o, base, mx, step_size_up=up, step_size_down=down, mode=mode, gamma=gamma), STEPS, base, momentum=True)
    spec = f"cyclic:lr={base!r},max_lr={mx!r},step_size_up={up},mode={mode},gamma={gamma!r}"
    if down is not None:
        spec += f",step_size_down={down}"
    add("lr", "closed", name, spec, rec)
    add("momentum", "closed", name, spec, mom)


# ---- SequentialLR (joined at milestones); compared with the recursive tolerance
def seq(parts, milestones):
    return lambda o: S.SequentialLR(o, [p(o) for p in parts], milestones)


for name, lr, parts, ms, spec in [
        ("sequential_a", 0.1, [lambda o: S.LinearLR(o, 0.1, 1.0, 5), lambda o: S.CosineAnnealingLR(o, 95)], [5],
         "linear:lr=0.1,start_factor=0.1,end_factor=1,total_iters=5 @5 cosine:lr=0.1,t_max=95"),
        ("sequential_b", 1.0, [lambda o: S.ConstantLR(o, 0.1, 2), lambda o: S.ExponentialLR(o, 0.9)], [2],
         "constant:lr=1,factor=0.1,total_iters=2 @2 exponential:lr=1,gamma=0.9"),
        ("sequential_c", 0.2, [lambda o: S.LinearLR(o, 0.01, 1.0, 10), lambda o: S.StepLR(o, 50, 0.5),
                               lambda o: S.ExponentialLR(o, 0.99)], [10, 200],
         "linear:lr=0.2,start_factor=0.01,end_factor=1,total_iters=10 @10 step:lr=0.2,step_size=50,gamma=0.5 "
         "@200 exponential:lr=0.2,gamma=0.99")]:
    rec, _, _ = run(seq(parts, ms), STEPS, lr)
    add("lr", "recursive", name, spec, rec)


# ---- ChainedScheduler([LinearLR warmup, X]): X multiplied by the warmup factor
def chained(parts):
    return lambda o: S.ChainedScheduler([p(o) for p in parts])


for name, lr, parts, spec in [
        ("chained_a", 0.1, [lambda o: S.LinearLR(o, 0.1, 1.0, 10), lambda o: S.ExponentialLR(o, 0.98)],
         "exponential:lr=0.1,gamma=0.98,warmup_iters=10,warmup_start_factor=0.1"),
        ("chained_b", 0.3, [lambda o: S.LinearLR(o, 0.01, 1.0, 20), lambda o: S.CosineAnnealingLR(o, 300)],
         "cosine:lr=0.3,t_max=300,warmup_iters=20,warmup_start_factor=0.01"),
        ("chained_c", 0.1, [lambda o: S.LinearLR(o, 1.0 / 3, 1.0, 5), lambda o: S.StepLR(o, 3, 0.5)],
         "step:lr=0.1,step_size=3,gamma=0.5,warmup_iters=5")]:
    rec, _, _ = run(chained(parts), STEPS, lr)
    add("lr", "recursive", name, spec, rec)


# ---- Keras InverseTimeDecay and PolynomialDecay, from their documented formulas:
# https://keras.io/api/optimizers/learning_rate_schedules/inverse_time_decay/
#   initial_learning_rate / (1 + decay_rate * step / decay_step)   (floor(step / decay_step) if staircase)
# https://keras.io/api/optimizers/learning_rate_schedules/polynomial_decay/
#   step = min(step, decay_steps)
#   (initial_learning_rate - end_learning_rate) * (1 - step / decay_steps) ^ (power) + end_learning_rate
def keras_inverse_time(lr, rate, steps, staircase, t):
    p = math.floor(t / steps) if staircase else t / steps
    return lr / (1 + rate * p)


def keras_polynomial(lr, steps, end, power, t):
    t = min(t, steps)
    return (lr - end) * (1 - t / steps) ** power + end


for name, lr, rate, steps, stair in [("inverse_time_a", 0.1, 0.5, 1, False), ("inverse_time_b", 0.1, 0.1, 10, True),
                                     ("inverse_time_c", 0.05, 2.0, 7, False)]:
    add("lr", "formula", name, f"inverse_time:lr={lr!r},decay_rate={rate!r},decay_steps={steps},staircase={int(stair)}",
        [keras_inverse_time(lr, rate, steps, stair, t) for t in range(STEPS)])
for name, lr, steps, end, power in [("keras_polynomial_a", 0.1, 200, 1e-4, 1.0),
                                    ("keras_polynomial_b", 0.1, 50, 0.001, 2.0)]:
    add("lr", "formula", name, f"polynomial:lr={lr!r},total_iters={steps},end_lr={end!r},power={power!r}",
        [keras_polynomial(lr, steps, end, power, t) for t in range(STEPS)])


# ---- optax warmup_cosine_decay_schedule, from optax/schedules/_schedule.py:
#   linear_schedule(init, peak, warmup): (init - peak) * (1 - min(t, warmup) / warmup) + peak
#   cosine_decay_schedule(peak, decay - warmup, alpha = end / peak (0 if peak == 0)):
#       c = 0.5 * (1 + cos(pi * min(t, D) / D));  peak * ((1 - alpha) * c + alpha)
#   join_schedules([linear, cosine], [warmup]): the cosine sees t - warmup from t = warmup on
def optax_warmup_cosine(init, peak, warmup, decay, end, t):
    if t < warmup:
        count = min(max(t, 0), warmup)
        return (init - peak) * (1 - count / warmup) + peak
    d = decay - warmup
    count = min(float(t - warmup), float(d))
    c = 0.5 * (1 + math.cos(math.pi * count / d))
    alpha = 0.0 if peak == 0.0 else end / peak
    return peak * ((1 - alpha) * c + alpha)


for name, init, peak, warmup, decay, end in [("warmup_cosine_a", 0.0, 0.1, 10, 300, 0.0),
                                             ("warmup_cosine_b", 0.001, 1.0, 0, 200, 0.01),
                                             ("warmup_cosine_c", 0.0, 0.5, 50, 51, 1e-4),
                                             ("warmup_cosine_d", 0.01, 0.0, 5, 100, 0.0)]:
    add("lr", "formula", name,
        f"warmup_cosine:lr={peak!r},warmup_steps={warmup},decay_steps={decay},init_lr={init!r},end_lr={end!r}",
        [optax_warmup_cosine(init, peak, warmup, decay, end, t) for t in range(STEPS)])

# ---- ReduceLROnPlateau
plateaus = []


def plateau(name, metrics, lr0, mode="min", threshold_mode="rel", factor=0.1, patience=10, threshold=1e-4,
            cooldown=0, min_lr=0.0, eps=1e-8):
    o = optimizer(lr0)
    s = S.ReduceLROnPlateau(o, mode=mode, factor=factor, patience=patience, threshold=threshold,
                            threshold_mode=threshold_mode, cooldown=cooldown, min_lr=min_lr, eps=eps)
    rows = []
    for m in metrics:
        o.step()
        s.step(m)
        rows.append((m, o.param_groups[0]["lr"]))
    plateaus.append((name, mode, threshold_mode, factor, patience, threshold, cooldown, min_lr, eps, lr0, rows))


rng = random.Random(1913)


def loss_curve(n, floor=0.2, noise=0.02):
    """A decaying loss with noise and long flat stretches."""
    out, level = [], 2.0
    for t in range(n):
        if t % 60 < 35:
            level = floor + (level - floor) * 0.97
        out.append(level + rng.uniform(-noise, noise))
    return out


plateau("plateau_defaults", loss_curve(STEPS), 0.1)
plateau("plateau_max_abs", [min(0.99, 0.5 + 0.001 * t + rng.uniform(-0.02, 0.02)) for t in range(STEPS)], 1.0,
        mode="max", threshold_mode="abs", factor=0.5, patience=3, threshold=0.01, cooldown=2, min_lr=1e-3)
plateau("plateau_patience0", [1.0] * STEPS, 0.1, factor=0.7, patience=0)
nan_metrics = loss_curve(STEPS)
for t in range(3, STEPS, 7):
    nan_metrics[t] = float("nan")
for t in range(5, STEPS, 31):
    nan_metrics[t] = float("inf")
plateau("plateau_nan", nan_metrics, 0.1, factor=0.5, patience=2, cooldown=1)
plateau("plateau_eps", loss_curve(STEPS, noise=0.0), 1e-2, factor=0.5, patience=1, eps=1e-3)
plateau("plateau_max_rel_negative", [-2.0 + 0.01 * t + rng.uniform(-0.05, 0.05) for t in range(STEPS)], 0.1,
        mode="max", threshold=0.1, factor=0.9, patience=4, cooldown=3, min_lr=0.01)
plateau("plateau_min_abs", loss_curve(STEPS, noise=0.05), 0.3, threshold_mode="abs", threshold=0.01, patience=5,
        factor=0.3, min_lr=1e-4)

# ---- write
lines = ["# tests/golden/schedules.txt - written by tests/gen_schedules.py with torch %s; do not edit."
         % torch.__version__]
for kind, form, name, spec, values in records:
    lines.append("%s %s %s %d %s" % (kind, form, name, len(values), spec))
    for i in range(0, len(values), 6):
        lines.append(" ".join(fmt(v) for v in values[i:i + 6]))
for name, mode, tmode, factor, patience, threshold, cooldown, min_lr, eps, lr0, rows in plateaus:
    lines.append("plateau %s %d %s %s %s %d %s %d %s %s %s" % (name, len(rows), mode, tmode, fmt(factor), patience,
                                                               fmt(threshold), cooldown, fmt(min_lr), fmt(eps),
                                                               fmt(lr0)))
    for m, lr in rows:
        lines.append("%s %s" % (fmt(m), fmt(lr)))
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    f.write("\n".join(lines) + "\n")
print("wrote %s: %d records, %d plateau runs" % (OUT, len(records), len(plateaus)), file=sys.stderr)
