#!/usr/bin/python3
"""bench/torch_peer.py - PyTorch 1.13 CPU on the kernels trainopt benchmarks.

Run with Debian's /usr/bin/python3 (python3-torch). One intra-op thread. Every
kernel is measured in two processes:

  shipped  PyTorch as a user gets it: the default allocator (glibc malloc).
           Temporaries of more than 32 MiB are mmap'ed fresh on every call and
           unmapped afterwards, so each step faults their pages in again (about
           10 us per 4 KiB page on this VM): large-tensor figures are dominated
           by page faults, and that is what a training loop pays.
  steady   the same code with malloc told never to mmap and never to trim
           (GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=...),
           so temporaries reuse memory already faulted in: PyTorch's own
           kernels, what a caching allocator would give.

For each, the first call (the optimizer creating its state, or the first
forward) is timed on its own, and the steady figure is the median over many
calls after it. Times are the CPU time of the calling thread (page faults
included), as the C benchmarks report CPU time; wall time is kept too.

Output: JSON {"context": {...}, "results": [{kernel, impl, mode, n,
ns_per_elem, wall_ns_per_elem, first_ns_per_elem, calls}, ...]}.
The configurations are those of bench/bench.h.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

SIZES = [1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22, 1 << 24]
STEP_TIME = 0.25   # seconds of repeated calls per measurement (after the first)
MIN_CALLS, MAX_CALLS = 5, 2000
STEADY_ENV = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=1099511627776"

# bench.h's configurations.
OPTIMIZERS = {
    "sgd": ("SGD", dict(lr=1e-2, momentum=0.9)),
    "adagrad": ("Adagrad", dict(lr=1e-2, eps=1e-10)),
    "rmsprop": ("RMSprop", dict(lr=1e-2, alpha=0.99, eps=1e-8)),
    "adam": ("Adam", dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8)),
    "adamw": ("AdamW", dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)),
    "amsgrad": ("Adam", dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, amsgrad=True)),
    # issue 16 (bench.h's TOB_NADAM_*, ...; Lion: torch has none, see make_lion)
    "nadam": ("NAdam", dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, momentum_decay=4e-3)),
    "radam": ("RAdam", dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8)),
    "adamax": ("Adamax", dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8)),
    "adadelta": ("Adadelta", dict(lr=1.0, rho=0.9, eps=1e-6)),
    "lion": (None, dict(lr=1e-4, betas=(0.9, 0.99), weight_decay=1e-3)),
}
# Batch norm: N = 32, C = 64, spatial = n / (N*C), NCHW and channels_last (bench.h).
BN_C, BN_N = 64, 32
BN_SIZES = [1 << 16, 1 << 20, 1 << 24]
DROPOUT_P = 0.5
# Cross-entropy: rows x 1024 classes, n = rows * classes (bench_losses.c).
CE_CLASSES = 1024
CE_SIZES = [1 << 16, 1 << 20, 1 << 24]
# Layer/RMS norm: rows of norm_cols(n); group norm: N = 8, C = 64, 32 groups (bench.h).
NORM_SIZES = [1 << 16, 1 << 20, 1 << 22, 1 << 24]
# Layer norm also at [16384][4096] (issue 17's out-of-cache shape): 64M elements.
LN_SIZES = NORM_SIZES + [1 << 26]
GN_N, GN_C, GN_GROUPS = 8, 64, 32


def clock():
    return time.thread_time_ns(), time.perf_counter_ns()


def measure(first, again, n, prep=None):
    """first(): the first call; again(): one more call; prep(): untimed work
    before each call (restoring inputs). Returns per-element ns."""
    if prep:
        prep()
    c0, w0 = clock()
    first()
    c1, w1 = clock()
    first_ns = (c1 - c0) / n
    again()  # one untimed call: anything lazy is done
    cpu, wall = [], []
    start = time.perf_counter()
    while len(cpu) < MAX_CALLS and (len(cpu) < MIN_CALLS or time.perf_counter() - start < STEP_TIME):
        if prep:
            prep()
        c0, w0 = clock()
        again()
        c1, w1 = clock()
        cpu.append((c1 - c0) / n)
        wall.append((w1 - w0) / n)
    return dict(ns_per_elem=statistics.median(cpu), wall_ns_per_elem=statistics.median(wall),
                first_ns_per_elem=first_ns, calls=len(cpu))


def grad_like(torch, n, gen):
    """+-[0.01, 1), as bench/pool.c fills gradients."""
    mag = 0.01 + 0.99 * torch.rand(n, generator=gen)
    sign = torch.randint(0, 2, (n,), generator=gen).float() * 2 - 1
    return mag * sign


def make_lion(torch, params, lr, betas, weight_decay):
    """Lion as a torch user writes it without a library (the paper's Algorithm 2 in
    torch ops, the torch-style form: decay first, then the signed step)."""
    class Lion(torch.optim.Optimizer):
        def __init__(self):
            super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

        @torch.no_grad()
        def step(self):
            for group in self.param_groups:
                b1, b2 = group["betas"]
                for p in group["params"]:
                    st = self.state[p]
                    if not st:
                        st["exp_avg"] = torch.zeros_like(p)
                    m = st["exp_avg"]
                    update = m.mul(b1).add_(p.grad, alpha=1 - b1).sign_()
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    p.add_(update, alpha=-group["lr"])
                    m.mul_(b2).add_(p.grad, alpha=1 - b2)
    return Lion()


def bench_optimizers(torch, sizes, kernels):
    gen = torch.Generator().manual_seed(1)
    has_foreach = "foreach" in torch.optim.Adam.__init__.__code__.co_varnames
    out = []
    for kernel, (cls, kw) in OPTIMIZERS.items():
        if kernels and kernel not in kernels:
            continue
        for foreach in ([False, True] if has_foreach and cls else [None]):
            impl = "torch" if foreach is None else ("torch-foreach" if foreach else "torch-single")
            for n in sizes:
                p = torch.nn.Parameter(1e-3 + torch.rand(n, generator=gen))
                p.grad = grad_like(torch, n, gen)
                args = dict(kw)
                if foreach is not None:
                    args["foreach"] = foreach
                opt = getattr(torch.optim, cls)([p], **args) if cls else make_lion(torch, [p], **args)
                r = measure(opt.step, opt.step, n)
                r.update(kernel=kernel, impl=impl, n=n)
                out.append(r)
                del opt, p
    return out


def bn_dims(n):
    """N=32, C=64, H x W = 4x8, 16x32, 64x128 (as dnnl_peer.c)."""
    hw = n // (BN_N * BN_C)
    h = 1
    while (2 * h) * (2 * h) <= hw:
        h *= 2
    return (BN_N, BN_C, h, hw // h)


def bench_batchnorm(torch, kernels):
    F = torch.nn.functional
    gen = torch.Generator().manual_seed(2)
    out = []
    for n in BN_SIZES:
        shape = bn_dims(n)
        for suffix, fmt in (("", torch.contiguous_format), ("_nhwc", torch.channels_last)):
            x = (1e-3 + torch.rand(shape, generator=gen)).contiguous(memory_format=fmt)
            gamma, beta = 1 + 0.01 * torch.rand(BN_C, generator=gen), 0.1 * torch.rand(BN_C, generator=gen)
            rm, rv = torch.full((BN_C,), 0.5), torch.full((BN_C,), 0.1)
            dy = grad_like(torch, n, gen).reshape(shape).contiguous(memory_format=fmt)
            mean = x.mean(dim=(0, 2, 3))
            invstd = 1.0 / torch.sqrt(x.var(dim=(0, 2, 3), unbiased=False) + 1e-5)

            def fwd():
                return F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=0.1, eps=1e-5)

            def infer():
                return F.batch_norm(x, rm, rv, gamma, beta, training=False, eps=1e-5)

            def bwd():
                # The backward kernel alone, as trainopt_batchnorm_backward is: the
                # forward's saved statistics are its inputs.
                return torch.ops.aten.native_batch_norm_backward(
                    dy, x, gamma, rm, rv, mean, invstd, True, 1e-5, [True, True, True])
            for kernel, fn in (("batchnorm_fwd", fwd), ("batchnorm_infer", infer), ("batchnorm_bwd", bwd)):
                if kernels and kernel + suffix not in kernels:
                    continue
                r = measure(fn, fn, n)
                r.update(kernel=kernel + suffix, impl="torch", n=n)
                out.append(r)
    return out


def norm_cols(n):
    """bench.h's TOB_NORM_COLS: rows of 1024, of 4096 at 16M elements."""
    return 4096 if n >= 1 << 24 else 1024


def bench_norms(torch, kernels):
    """F.layer_norm and F.group_norm forward, and their backward kernels alone
    (aten.native_layer_norm_backward, aten.native_group_norm_backward from the
    forward's saved statistics, as trainopt's backward passes are). RMS norm is not
    in PyTorch 1.13: the peer is torch.nn.RMSNorm's formula (PyTorch 2.4) in
    tensor ops, x * rsqrt(x.pow(2).mean(-1) + eps) * weight, with autograd for
    the backward (forward included in that row's time: 1.13 has no RMS backward
    kernel to call alone)."""
    F = torch.nn.functional
    gen = torch.Generator().manual_seed(5)
    out = []

    def want(k):
        return not kernels or k in kernels
    for n in LN_SIZES:
        if n not in NORM_SIZES and not any(want(k) for k in ("layernorm_fwd", "layernorm_bwd")):
            continue
        cols = norm_cols(n)
        rows = n // cols
        x = (1e-3 + torch.rand(rows, cols, generator=gen))
        dy = grad_like(torch, n, gen).reshape(rows, cols)
        w = 1 + 0.01 * torch.rand(cols, generator=gen)
        b = 0.1 * torch.rand(cols, generator=gen)
        _, mean, rstd = torch.native_layer_norm(x, (cols,), w, b, 1e-5)
        runs = [("layernorm_fwd", lambda: F.layer_norm(x, (cols,), w, b, 1e-5)),
                ("layernorm_bwd", lambda: torch.ops.aten.native_layer_norm_backward(
                    dy, x, (cols,), mean, rstd, w, b, [True, True, True]))]
        wr = w.clone().requires_grad_(True)

        def rms_fwd():
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w

        def rms_bwd():
            xr = x.detach().requires_grad_(True)
            y = xr * torch.rsqrt(xr.pow(2).mean(-1, keepdim=True) + 1e-5) * wr
            return torch.autograd.grad(y, (xr, wr), dy)
        runs += [("rmsnorm_fwd", rms_fwd), ("rmsnorm_bwd", rms_bwd)]
        if n in NORM_SIZES:
            spatial = n // (GN_N * GN_C)
            xg = x.reshape(GN_N, GN_C, spatial)
            dyg = dy.reshape(GN_N, GN_C, spatial)
            wg, bg = w[:GN_C].contiguous(), b[:GN_C].contiguous()
            _, gmean, grstd = torch.native_group_norm(xg, wg, bg, GN_N, GN_C, spatial, GN_GROUPS, 1e-5)
            runs += [("groupnorm_fwd", lambda: F.group_norm(xg, GN_GROUPS, wg, bg, 1e-5)),
                     ("groupnorm_bwd", lambda: torch.ops.aten.native_group_norm_backward(
                         dyg, xg, gmean, grstd, wg, GN_N, GN_C, spatial, GN_GROUPS, [True, True, True]))]
        for kernel, fn in runs:
            if not want(kernel) or (n not in NORM_SIZES and not kernel.startswith("layernorm")):
                continue
            r = measure(fn, fn, n)
            r.update(kernel=kernel, impl="torch", n=n)
            out.append(r)
    return out


def bench_dropout(torch, sizes, kernels):
    """F.dropout in training on CPU (1.13): noise = bernoulli_(1-p) / (1-p) as a
    float tensor, y = x * noise; its backward is dy * noise."""
    F = torch.nn.functional
    gen = torch.Generator().manual_seed(3)
    out = []
    for n in sizes:
        x = grad_like(torch, n, gen)
        if not kernels or "dropout_fwd" in kernels:
            def fwd():
                return F.dropout(x, p=DROPOUT_P, training=True)
            r = measure(fwd, fwd, n)
            r.update(kernel="dropout_fwd", impl="torch", n=n)
            out.append(r)
        if not kernels or "dropout_bwd" in kernels:
            noise = torch.empty(n).bernoulli_(1 - DROPOUT_P).div_(1 - DROPOUT_P)

            def bwd():
                return x * noise
            r = measure(bwd, bwd, n)
            r.update(kernel="dropout_bwd", impl="torch", n=n)
            out.append(r)
    return out


def bench_losses(torch, sizes, kernels):
    F = torch.nn.functional
    gen = torch.Generator().manual_seed(4)
    out = []

    def want(k):
        return not kernels or k in kernels
    for n in CE_SIZES:
        rows = n // CE_CLASSES
        logits = grad_like(torch, n, gen).reshape(rows, CE_CLASSES)
        labels = torch.randint(0, CE_CLASSES, (rows,), generator=gen)
        if want("cross_entropy"):
            # Loss and gradient, as trainopt_softmax_cross_entropy computes both.
            def ce():
                lg = logits.detach().requires_grad_(True)
                F.cross_entropy(lg, labels).backward()
                return lg.grad
            r = measure(ce, ce, n)
            r.update(kernel="cross_entropy", impl="torch", n=n)
            out.append(r)
    for n in sizes:
        a, b = 1e-3 + torch.rand(n, generator=gen), 1e-3 + torch.rand(n, generator=gen)
        g = grad_like(torch, n, gen)
        if want("mse"):
            def mse():
                p = a.detach().requires_grad_(True)
                F.mse_loss(p, b).backward()
                return p.grad
            r = measure(mse, mse, n)
            r.update(kernel="mse", impl="torch", n=n)
            out.append(r)
        params = [torch.nn.Parameter(torch.empty(n // 4)) for _ in range(4)]
        for t, p in enumerate(params):
            p.grad = g[t * (n // 4):(t + 1) * (n // 4)].clone()
        if want("clip_norm"):
            def idle():
                return torch.nn.utils.clip_grad_norm_(params, 1e9)
            r = measure(idle, idle, n)
            r.update(kernel="clip_norm", impl="torch", n=n)
            out.append(r)
        if want("clip_norm_active") and n >= 1 << 20:
            def restore():
                for t, p in enumerate(params):
                    p.grad.copy_(g[t * (n // 4):(t + 1) * (n // 4)])

            def active():
                return torch.nn.utils.clip_grad_norm_(params, 1.0)
            r = measure(active, active, n, prep=restore)
            r.update(kernel="clip_norm_active", impl="torch", n=n)
            out.append(r)
        if want("clip_value"):
            def value():
                return torch.nn.utils.clip_grad_value_(params, 0.5)
            r = measure(value, value, n)
            r.update(kernel="clip_value", impl="torch", n=n)
            out.append(r)
        if want("grad_unscale"):
            # PyTorch 1.13 has no CPU kernel for _amp_foreach_non_finite_check_and_unscale_
            # (GradScaler is CUDA-only): what a CPU user writes instead.
            grads = [p.grad for p in params]

            def unscale():
                torch._foreach_mul_(grads, 1.0)
                return not all(bool(torch.isfinite(x).all()) for x in grads)
            r = measure(unscale, unscale, n)
            r.update(kernel="grad_unscale", impl="torch", n=n)
            out.append(r)
    return out


def child(args):
    import torch
    torch.set_num_threads(1)
    kernels = set(args.kernels.split(",")) if args.kernels else set()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else SIZES
    results = bench_optimizers(torch, sizes, kernels)
    results += bench_batchnorm(torch, kernels)
    results += bench_dropout(torch, sizes, kernels)
    results += bench_losses(torch, sizes, kernels)
    results += bench_norms(torch, kernels)
    for r in results:
        r["mode"] = args.mode
    json.dump(dict(torch=torch.__version__, threads=torch.get_num_threads(), results=results), sys.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--kernels", default="", help="comma-separated kernel names (default: all)")
    ap.add_argument("--sizes", default="", help="comma-separated element counts for elementwise kernels")
    ap.add_argument("--modes", default="shipped,steady")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--mode", default="shipped")
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    results, info = [], {}
    for mode in args.modes.split(","):
        env = dict(os.environ)
        env.pop("GLIBC_TUNABLES", None)
        if mode == "steady":
            env["GLIBC_TUNABLES"] = STEADY_ENV
        cmd = [sys.executable, os.path.abspath(__file__), "--child", "--mode", mode, "--out", "-",
               "--kernels", args.kernels, "--sizes", args.sizes]
        print("torch_peer: %s mode ..." % mode, file=sys.stderr, flush=True)
        t0 = time.time()
        r = json.loads(subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE).stdout)
        print("torch_peer: %s mode took %.0f s" % (mode, time.time() - t0), file=sys.stderr)
        results += r["results"]
        info = dict(torch=r["torch"], threads=r["threads"])
    ctx = dict(info, date=datetime.datetime.now().isoformat(timespec="seconds"), python=platform.python_version(),
               loadavg=open("/proc/loadavg").read().strip(), steady_env="GLIBC_TUNABLES=" + STEADY_ENV,
               timing="median thread CPU time per call after the first; first call timed alone")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(dict(context=ctx, results=results), f, indent=1)


if __name__ == "__main__":
    main()
