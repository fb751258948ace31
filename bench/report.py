#!/usr/bin/python3
"""bench/report.py - RESULTS.md and results.png from one benchmark run.

Reads BUILD/results.json (Google Benchmark, trainopt_bench), BUILD/torch.json
(torch_peer.py) and BUILD/dnnl.json (dnnl_peer) when present; writes a table
per kernel and the goals of the kernel issues checked as ratios measured in
this run, and draws GB/s against size for every kernel with gnuplot.
Standard library only.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys

# ---- what the kernels are -----------------------------------------------------------
KERNELS = {
    # name: (title, description)
    "stream": ("STREAM", "copy a[i] = b[i] (8 B/element) and triad a[i] = b[i] + q*c[i] (12 B/element), "
               "STREAM's byte counts (the write-allocate read of a[] not counted)"),
    "sgd": ("SGD with momentum", "torch.optim.SGD(lr=1e-2, momentum=0.9), step > 1; 20 B/element "
            "(param, grad, momentum_buf read; param, momentum_buf written)"),
    "adagrad": ("Adagrad", "torch.optim.Adagrad(lr=1e-2, eps=1e-10); 20 B/element (param, grad, state_sum / param, state_sum)"),
    "rmsprop": ("RMSprop", "torch.optim.RMSprop(lr=1e-2, alpha=0.99, eps=1e-8); 20 B/element"),
    "adam": ("Adam", "torch.optim.Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8); 28 B/element "
             "(param, grad, exp_avg, exp_avg_sq read; all but grad written)"),
    "adamw": ("AdamW", "torch.optim.AdamW(lr=1e-3, weight_decay=1e-2); 28 B/element"),
    "amsgrad": ("AMSGrad", "torch.optim.Adam(amsgrad=True); 36 B/element (max_exp_avg_sq too)"),
    "adamw_ex": ("AdamW, fused step", "trainopt_adamw_step_ex with grad_scale 1/1024, a found_inf flag and the "
                 "non-finite count: AMP's unscale, clipping's scale and the step in one pass; 28 B/element, as the "
                 "plain step (compare with the AdamW table)"),
    "batchnorm_fwd": ("Batch norm forward, training, NCHW", "F.batch_norm(training=True, momentum=0.1, eps=1e-5), "
                      "N=32, C=64, H*W = n/2048: batch statistics, normalization, running-statistics update; "
                      "12 B/element (x read twice, y written). oneDNN does not update running statistics"),
    "batchnorm_fwd_nhwc": ("Batch norm forward, training, NHWC (channels_last)", "as above, channels last"),
    "batchnorm_infer": ("Batch norm forward, inference, NCHW", "F.batch_norm(training=False); 8 B/element"),
    "batchnorm_infer_nhwc": ("Batch norm forward, inference, NHWC", "as above, channels last"),
    "batchnorm_bwd": ("Batch norm backward, NCHW", "aten.native_batch_norm_backward (dx, dgamma, dbeta from the "
                      "saved mean and invstd); 20 B/element (x and dy read twice, dx written)"),
    "batchnorm_bwd_nhwc": ("Batch norm backward, NHWC", "as above, channels last"),
    "dropout_fwd": ("Dropout forward", "F.dropout(p=0.5, training=True); trainopt writes y and the 1-bit mask "
                    "(8.125 B/element). PyTorch 1.13 on CPU draws a float bernoulli_ tensor and multiplies"),
    "rand_u32": ("Random words", "trainopt_rand_u32: Philox4x32-10 words written to memory, 4 B/element (the "
                 "generator alone; dropout uses 16 bits of a word per element)"),
    "rand_normal": ("Normal samples", "trainopt_rand_normal(0, 1): Box-Muller on pairs of words, 4 B/element"),
    "adamw_amp_fused": ("AdamW step with AMP unscale and clipping, fused", "trainopt_grad_norm (reads the scaled "
                        "gradients: unscaled norm, clip coefficient, found_inf) then trainopt_adamw_step_ex with the "
                        "one multiplier; loss scale 1024, clipping active; 32 B/element"),
    "adamw_amp_3pass": ("AdamW step with AMP unscale and clipping, three passes", "trainopt_grad_unscale, "
                        "trainopt_clip_grad_norm (norm pass, then every gradient scaled) and trainopt_adamw_step, as "
                        "PyTorch's GradScaler.unscale_ + clip_grad_norm_ + optimizer.step(); 48 B/element moved, but "
                        "rates are over the fused form's 32 B/element so the two tables compare directly"),
    "dropout_bwd": ("Dropout backward", "dx = dy * mask / (1-p) from the stored 1-bit mask (8.125 B/element); "
                    "PyTorch: dy * its float noise tensor"),
    "cross_entropy": ("Softmax cross-entropy with gradient", "F.cross_entropy (mean) and its gradient, rows x 1024 "
                      "classes; 8 B/element (logits read, gradient written). PyTorch: forward + backward via autograd"),
    "mse": ("MSE loss with gradient", "F.mse_loss (mean) and its gradient; 12 B/element"),
    "clip_norm": ("clip_grad_norm_, nothing to clip", "torch.nn.utils.clip_grad_norm_(4 tensors, max_norm=1e9): "
                  "the norm pass (4 B/element); PyTorch 1.13 multiplies by the clamped coefficient (1) anyway"),
    "clip_norm_active": ("clip_grad_norm_, clipping", "max_norm=1: the norm pass, then every gradient scaled "
                         "(12 B/element); gradients restored before each call with the timer stopped"),
    "clip_value": ("clip_grad_value_", "torch.nn.utils.clip_grad_value_(0.5), in place; 8 B/element"),
    "grad_unscale": ("Gradient unscale and non-finite check", "trainopt_grad_unscale (AMP's unscale_); PyTorch 1.13 "
                     "has no CPU kernel for it, its row is torch._foreach_mul_ then torch.isfinite(g).all(); "
                     "8 B/element"),
}
OPTIMIZERS = ["sgd", "adagrad", "rmsprop", "adam", "adamw", "amsgrad"]
BN = ["batchnorm_fwd", "batchnorm_fwd_nhwc", "batchnorm_infer", "batchnorm_infer_nhwc", "batchnorm_bwd",
      "batchnorm_bwd_nhwc"]
SQRT_DIV = ["adagrad", "rmsprop", "adam", "adamw", "amsgrad"]  # one sqrt and one division per element
BACKENDS = ["avx512", "avx2", "scalar"]
NAIVE = ["naive-O2", "naive-O3-native", "naive-O3-native-nomerrno", "naive-Ofast-native",
         "naive-O3-haswell", "naive-O3-haswell-nomerrno", "naive-Ofast-haswell"]
KEY_SIZES = [1 << 16, 1 << 24]


def human_n(n):
    for unit, div in (("M", 1 << 20), ("K", 1 << 10)):
        if n >= div and n % div == 0:
            return "%d%s" % (n // div, unit)
    return str(n)


def fmt(x, digits=3):
    if x is None:
        return "-"
    if x >= 100:
        return "%.0f" % x
    if x >= 10:
        return "%.1f" % x
    return ("%%.%dg" % digits) % x


class Row:
    """One implementation of one kernel at one size (a median over repetitions)."""

    def __init__(self, kernel, impl, n, ns, bytes_per_elem, cv=None, reps=1, threads=1, first=None):
        self.kernel, self.impl, self.n, self.ns = kernel, impl, n, ns
        self.bpe, self.cv, self.reps, self.threads, self.first = bytes_per_elem, cv, reps, threads, first

    @property
    def gbs(self):
        return self.bpe / self.ns if self.ns and self.bpe else None


def load_gbench(path):
    """Medians over repetitions of each benchmark, from the per-repetition entries."""
    with open(path) as f:
        d = json.load(f)
    runs = {}
    for b in d["benchmarks"]:
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        runs.setdefault(b["run_name"], []).append(b)
    rows = []
    for name, bs in runs.items():
        parts = name.split("/")
        kernel, impl, n = parts[0], parts[1], int(parts[2])
        threads = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else 1
        ns = [1e9 / b["items_per_second"] for b in bs if b.get("items_per_second")]
        if not ns:
            continue
        cv = statistics.pstdev(ns) / statistics.mean(ns) if len(ns) > 1 else None
        rows.append(Row(kernel, impl, n, statistics.median(ns), bs[0].get("bytes_per_elem"), cv, len(ns), threads))
    return d["context"], rows


def load_peer(path, bpe_of):
    """torch.json / dnnl.json rows: kernel, impl, n, ns_per_elem [, mode, first_ns_per_elem]."""
    if not os.path.exists(path):
        return None, []
    with open(path) as f:
        d = json.load(f)
    rows = []
    for r in d["results"]:
        impl = r["impl"] + ("/" + r["mode"] if r.get("mode") else "")
        rows.append(Row(r["kernel"], impl, r["n"], r["ns_per_elem"], bpe_of.get(r["kernel"]),
                        first=r.get("first_ns_per_elem")))
    return d.get("context", {}), rows


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True).stdout.strip()
    except OSError:
        return ""


def machine():
    cpu = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if ":" in line:
                k, v = line.split(":", 1)
                cpu.setdefault(k.strip(), v.strip())
    flags = cpu.get("flags", "").split()
    isa = [x for x in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl") if x in flags]
    mem = sh("awk '/MemTotal/ {printf \"%.0f GiB\", $2/1048576}' /proc/meminfo")
    virt = " (virtual machine)" if "hypervisor" in flags else ""
    return ("%s, family %s model %s, %d logical CPUs%s, %s, %s; Linux %s" % (
        cpu.get("model name", "?"), cpu.get("cpu family", "?"), cpu.get("model", "?"), os.cpu_count(), virt,
        "/".join(isa), mem, platform.release()))


def pkg_version(p):
    return sh("dpkg-query -W -f='${Version}' %s 2>/dev/null" % p) or "not installed"


# ---- the report ---------------------------------------------------------------------
class Report:
    def __init__(self, ctx, rows, torch_ctx, dnnl_ctx):
        self.ctx, self.torch_ctx, self.dnnl_ctx = ctx, torch_ctx, dnnl_ctx
        self.rows = {}   # (kernel, impl, n) -> Row, single-threaded
        self.mt = []     # the thread-scaling rows
        for r in rows:
            if r.kernel.endswith("_mt"):
                self.mt.append(r)
            else:
                self.rows[(r.kernel, r.impl, r.n)] = r
        self.lines = []
        self.shortfalls = []

    def get(self, kernel, impl, n):
        return self.rows.get((kernel, impl, n))

    def ns(self, kernel, impl, n):
        r = self.get(kernel, impl, n)
        return r.ns if r else None

    def impls(self, kernel):
        seen = []
        for (k, impl, n) in self.rows:
            if k == kernel and impl not in seen:
                seen.append(impl)
        order = BACKENDS + NAIVE + ["roofline", "copy", "triad"]

        def key(impl):
            if impl in order:
                return (order.index(impl), impl)
            if impl.startswith("onednn"):
                return (100, impl)
            if impl.startswith("torch"):
                mode = impl.split("/")[-1]
                return (200 + ["steady", "shipped"].index(mode) if mode in ("steady", "shipped") else 299, impl)
            return (50, impl)
        return sorted(seen, key=key)

    def sizes(self, kernel):
        return sorted({n for (k, impl, n) in self.rows if k == kernel})

    def label(self, impl):
        if impl in BACKENDS:
            return "**trainopt %s**" % impl
        if impl.startswith("naive-"):
            flags = self.ctx.get("flags_" + impl, impl[6:])
            return "naive loop `%s`%s" % (flags, " (inexact)" if "Ofast" in impl else "")
        if impl == "roofline":
            return "same-traffic kernel (roofline)"
        if impl in ("copy", "triad"):
            return "STREAM %s" % impl
        if impl.startswith("torch"):
            base, _, mode = impl.partition("/")
            kind = {"torch-single": "PyTorch (foreach=False)", "torch-foreach": "PyTorch (foreach=True)"}.get(
                base, "PyTorch " + base[len("torch-"):] if base.startswith("torch-") else "PyTorch %s" %
                self.torch_ctx.get("torch", ""))
            return "%s, %s" % (kind, {"steady": "steady state", "shipped": "as shipped"}.get(mode, mode))
        if impl.startswith("onednn"):
            return "oneDNN %s (%s)" % (self.dnnl_ctx.get("version", ""), impl.partition("-")[2])
        return impl

    def out(self, s=""):
        self.lines.append(s)

    # -- pieces ----------------------------------------------------------------------
    def header(self, reps, min_time):
        c = self.ctx
        end_load = open("/proc/loadavg").read().split()[:3]
        self.out("# trainopt benchmark results")
        self.out()
        self.out("Written by `make bench-report` (bench/report.py) from one run of `build/bench/trainopt_bench` "
                 "and the peer programs, all on the same machine. Re-run it on a quiet machine for figures "
                 "worth quoting.")
        self.out()
        self.out("- **Date**: %s" % c.get("date", "?"))
        self.out("- **Machine**: %s" % machine())
        self.out("- **Compiler**: gcc %s; Google Benchmark %s (Debian's build reports `library_build_type: %s`; "
                 "the timing loop itself is inlined into bench/shim.cc, compiled -O2)" % (
                     c.get("compiler", "?"), pkg_version("libbenchmark-dev"), c.get("library_build_type", "?")))
        peers = []
        if self.torch_ctx:
            peers.append("PyTorch %s (Debian python3-torch, %s intra-op thread)" % (
                self.torch_ctx.get("torch", "?"), self.torch_ctx.get("threads", "?")))
        else:
            peers.append("PyTorch: not measured (torch_peer.py did not run)")
        if self.dnnl_ctx:
            peers.append("oneDNN %s (Debian libdnnl-dev, C API, 1 thread)" % self.dnnl_ctx.get("version", "?"))
        else:
            peers.append("oneDNN: not measured")
        self.out("- **Peers**: " + "; ".join(peers))
        self.out("- **Load**: load average %s at the start of the run, %s when this report was written%s" % (
            " ".join(c.get("loadavg_at_start", "?").split()[:3]), " ".join(end_load),
            " - **the machine was shared with other jobs (compilers) while it ran: expect noise of several "
            "percent, more at 16M**" if float(c.get("loadavg_at_start", "0").split()[0]) > 0.5 else ""))
        self.out("- **Method**: each figure is the median of %s repetitions (Google Benchmark, at least %s s each, "
                 "repetitions randomly interleaved across benchmarks), taken as CPU time of the benchmark thread "
                 "(the 2-thread figures: wall time). ns/element = time per call / elements; GB/s = the bytes the "
                 "kernel must move (every array read once, every output written once) / time, so it compares "
                 "directly with STREAM and the roofline. PyTorch: median thread CPU time per call after the first "
                 "(the first call timed alone), see its rows." % (reps, min_time))
        self.out("- **Builds**: trainopt `%s` plus per backend: avx512 `%s`, avx2 `%s`, scalar `%s`. "
                 "Same-traffic kernels: `%s` (written with trainopt's vector layer). STREAM: `%s`. Each naive loop is the same math as trainopt's kernel (per-step "
                 "scalars once per call, one sqrt and one division per element), written as a user would, "
                 "compiled in its own translation unit with the flags its row names (and gcc's default language "
                 "mode, so FMA contraction is on as for any user). `make bench` first checks that every naive "
                 "loop computes what trainopt computes (bench/check.c)." % (
                     c.get("flags_trainopt"), c.get("flags_avx512"), c.get("flags_avx2"),
                     c.get("flags_scalar"), c.get("flags_roofline"), c.get("flags_stream")))
        self.out()

    def bandwidth(self):
        self.out("## Memory bandwidth and compute floors in this run")
        self.out()
        sizes = self.sizes("stream")
        if sizes:
            self.out("| STREAM (1 thread) | " + " | ".join(human_n(n) for n in sizes) + " |")
            self.out("|---|" + "---:|" * len(sizes))
            for impl in ("copy", "triad"):
                self.out("| %s GB/s | " % impl + " | ".join(
                    fmt(self.get("stream", impl, n).gbs if self.get("stream", impl, n) else None) for n in sizes)
                    + " |")
            self.out()
        mt = [r for r in self.mt if r.kernel == "stream_mt"]
        if mt:
            mt.sort(key=lambda r: (r.impl, r.threads))
            self.out("At 64M elements with OpenMP: " + ", ".join(
                "%s %d thread%s %s GB/s" % (r.impl, r.threads, "s" if r.threads > 1 else "", fmt(r.gbs))
                for r in mt) + ".")
            self.out()
        div = [(b, self.get("divider", b, 1 << 16)) for b in BACKENDS]
        div = [(b, r) for b, r in div if r]
        if div:
            self.out("The divider floor: one IEEE sqrt and one division per element, on registers, with each "
                     "backend's vectors (bench_optim.c `bm_divider`): " + ", ".join(
                         "%s %s ns/element" % (b, fmt(r.ns)) for b, r in div) + ". Adagrad, RMSprop and the Adam "
                     "family need exactly one of each per element, so in cache they cannot run faster than this; "
                     "the floor for a plain scalar loop is the scalar figure.")
            self.out()

    def goals(self):
        self.out("## Goals of the kernel issues, checked in this run")
        self.out()
        self.out("Ratios are speeds (time of the reference / time of trainopt): above 1 means trainopt is faster. "
                 "avx512 is compared with `-march=native` builds of the naive loop, avx2 with `-march=haswell` "
                 "builds (the same machine, the instruction set a user of that backend has).")
        self.out()
        self.out("The last column, where it applies, is the most the goal's ratio could be on this machine: the "
                 "reference's time over trainopt's compute floor (the divider floor for its vector width, or the "
                 "same-traffic kernel in cache, whichever is slower).")
        self.out()
        self.out("| goal | kernel | backend | measured | target | | bound |")
        self.out("|---|---|---|---:|---:|---|---:|")
        self.goals_optimizers()
        self.goals_families()
        self.out()

    def goal_row(self, what, k, b, ref, t, target, unit, bound="", why=""):
        """ref, t: Rows (reference, trainopt). A shortfall smaller than the ratio's
        uncertainty (about two standard errors of a ratio of medians: 1.1 x the
        root sum of squares of the two rows' coefficients of variation) is still
        reported as short, with that said."""
        if ref is None or t is None:
            return
        ratio = ref.ns / t.ns
        ok = ratio >= target
        spread = 1.1 * ((ref.cv or 0.0) ** 2 + (t.cv or 0.0) ** 2) ** 0.5
        shown = ("%.1f%%" % (100 * ratio)) if unit == "%" else ("%.2fx" % ratio)
        want = (">= %.0f%%" % (100 * target)) if unit == "%" else (">= %.3gx" % target)
        if ok:
            status = "ok"
        else:
            notes = [why] if why else []
            if ratio >= target * (1 - spread):
                notes.append("within this run's noise (+-%.0f%%)" % (100 * spread))
            status = "**short**" + (": " + "; ".join(notes) if notes else "")
        self.out("| %s | %s | %s | %s | %s | %s | %s |" % (what, k, b, shown, want, status, bound))
        if not ok:
            self.shortfalls.append((k, b, what, shown, want))

    def abs_goal_row(self, what, k, b, t, target_gbs):
        """An absolute goal: GB/s of trainopt's row t at least target_gbs."""
        if t is None or not t.gbs:
            return
        ok = t.gbs >= target_gbs
        self.out("| %s | %s | %s | %s GB/s | >= %g GB/s | %s | |" % (what, k, b, fmt(t.gbs), target_gbs,
                                                                    "ok" if ok else "**short**"))
        if not ok:
            self.shortfalls.append((k, b, what, fmt(t.gbs), ">= %g GB/s" % target_gbs))

    def goals_families(self):
        for k in BN:
            for n in self.sizes(k):
                t = self.get(k, "avx512", n)
                dnnl = [self.get(k, i, n) for i in self.impls(k) if i.startswith("onednn")]
                dnnl = [d for d in dnnl if d]
                if dnnl:
                    best = min(dnnl, key=lambda r: r.ns)
                    self.goal_row("%s: vs oneDNN's best format (%s)" % (human_n(n), best.impl[7:]), k, "avx512",
                                  best, t, 1.0, "x")
                self.goal_row("%s: vs PyTorch (steady state)" % human_n(n), k, "avx512",
                              self.get(k, "torch/steady", n), t, 2.0, "x")
        for k in ("dropout_fwd", "dropout_bwd"):
            big = 1 << 24
            self.goal_row("16M: speed vs same-traffic kernel", k, "avx512", self.get(k, "roofline", big),
                          self.get(k, "avx512", big), 0.80, "%")
            if k == "dropout_fwd":
                for n in (1 << 16, big):
                    self.goal_row("%s: vs PyTorch (steady state)" % human_n(n), k, "avx512",
                                  self.get(k, "torch/steady", n), self.get(k, "avx512", n), 40.0, "x")
        big = 1 << 24
        self.abs_goal_row("16M: the generator alone, random words", "rand_u32", "avx512",
                          self.get("rand_u32", "avx512", big), 4.0)
        self.goal_row("16M: fused step vs plain step (cost <= 1.1x)", "adamw_ex", "avx512", self.get("adamw", "avx512", big),
                      self.get("adamw_ex", "avx512", big), 1 / 1.1, "x")
        self.goal_row("16M: fused AMP+clip step vs three passes", "adamw_amp_fused", "avx512",
                      self.get("adamw_amp_3pass", "avx512", big), self.get("adamw_amp_fused", "avx512", big), 2.0, "x",
                      "1.5x", "the three passes move 48 B/element, the fused sequence 32 (its norm pass reads the "
                      "gradients once more): 1.5x is the traffic bound")
        for n in (1 << 16, 1 << 20):
            self.goal_row("%s (%d rows x 1024): vs PyTorch (steady state)" % (human_n(n), n // 1024), "cross_entropy",
                          "avx512", self.get("cross_entropy", "torch/steady", n), self.get("cross_entropy", "avx512", n),
                          2.0, "x")

    def goals_optimizers(self):
        big, small = 1 << 24, 1 << 16
        for k in OPTIMIZERS:
            for b, arch in (("avx512", "native"), ("avx2", "haswell")):
                t_big, t_small = self.get(k, b, big), self.get(k, b, small)
                checks = [
                    ("16M: speed vs same-traffic kernel", self.get(k, "roofline", big), t_big, 0.90, "%"),
                    ("64K: vs best auto-vectorized naive (`-O3 -march=%s -fno-math-errno`)" % arch,
                     self.get(k, "naive-O3-%s-nomerrno" % arch, small), t_small, 1.0, "x"),
                    ("64K: vs plain naive (`-O3 -march=%s`)" % arch, self.get(k, "naive-O3-%s" % arch, small),
                     t_small, 10.0, "x"),
                ]
                floor = None
                if k in SQRT_DIV and self.ns("divider", b, small):
                    floor = max(self.ns("divider", b, small), self.ns(k, "roofline", small) or 0)
                for what, ref, t, target, unit in checks:
                    bound = ("%.1fx" % (ref.ns / floor)) if floor and ref and unit == "x" else ""
                    why = "no sqrt, so the plain loop vectorizes" if k not in SQRT_DIV and "plain" in what else ""
                    if floor and ref and unit == "x" and ref.ns / floor < target:
                        why = ("the naive loop is at the divider floor too" if target == 1.0 else
                               "trainopt is at the divider floor, and the bound is below the target")
                    self.goal_row(what, k, b, ref, t, target, unit, bound, why)

    def kernel_section(self, k):
        title, desc = KERNELS.get(k, (k, ""))
        impls = self.impls(k)
        sizes = self.sizes(k)
        if not impls:
            return
        self.out("## %s" % title)
        self.out()
        if desc:
            self.out(desc + ".")
            self.out()
        self.out("ns/element (lower is better):")
        self.out()
        self.out("| implementation | " + " | ".join(human_n(n) for n in sizes) + " |")
        self.out("|---|" + "---:|" * len(sizes))
        for impl in impls:
            self.out("| %s | " % self.label(impl) + " | ".join(fmt(self.ns(k, impl, n)) for n in sizes) + " |")
        firsts = [impl for impl in impls if any(self.get(k, impl, n) and self.get(k, impl, n).first for n in sizes)]
        for impl in firsts:
            if impl.endswith("/shipped"):
                self.out("| %s, *first call* | " % self.label(impl).rsplit(",", 1)[0] + " | ".join(
                    fmt(self.get(k, impl, n).first if self.get(k, impl, n) else None) for n in sizes) + " |")
        self.out()
        ref = "avx512" if any(self.get(k, "avx512", n) for n in sizes) else (
            "avx2" if any(self.get(k, "avx2", n) for n in sizes) else None)
        keys = [n for n in KEY_SIZES if n in sizes] or sizes[:1] + sizes[-1:]
        cols = []
        for n in keys:
            cols += ["ns/el %s" % human_n(n), "GB/s %s" % human_n(n), "%% roofline %s" % human_n(n)]
            if ref:
                cols.append("%s is ... x faster %s" % (ref, human_n(n)))
        self.out("At %s: GB/s, share of the same-traffic kernel's speed, and how many times faster trainopt %s is "
                 "than each row:" % (" and ".join(human_n(n) for n in keys), ref or ""))
        self.out()
        self.out("| implementation | " + " | ".join(cols) + " |")
        self.out("|---|" + "---:|" * len(cols))
        for impl in impls:
            cells = []
            for n in keys:
                r = self.get(k, impl, n)
                roof = self.ns(k, "roofline", n)
                tref = self.ns(k, ref, n) if ref else None
                cells += [fmt(r.ns) if r else "-", fmt(r.gbs) if r else "-",
                          ("%.0f%%" % (100 * roof / r.ns)) if r and roof else "-"]
                if ref:
                    cells.append(("%.2f" % (r.ns / tref)) if r and tref else "-")
            self.out("| %s | " % self.label(impl) + " | ".join(cells) + " |")
        self.out()

    def threads(self):
        rows = list(self.mt)
        if not rows:
            return
        self.out("## Thread scaling: AdamW at 64M elements")
        self.out()
        self.out("Each thread calls `trainopt_adamw_step` on its own contiguous range (OpenMP in the benchmark, not "
                 "in the header). Wall time, median of the repetitions.")
        self.out()
        self.out("| implementation | threads | ns/element | GB/s | vs 1 thread | % of STREAM triad, same threads |")
        self.out("|---|---:|---:|---:|---:|---:|")
        rows.sort(key=lambda r: (r.kernel != "adamw_mt", r.impl, r.threads))
        for r in rows:
            base = [x for x in rows if x.kernel == r.kernel and x.impl == r.impl and x.threads == 1]
            triad = [x for x in rows if x.kernel == "stream_mt" and x.impl == "triad" and x.threads == r.threads]
            lab = ("trainopt " + r.impl) if r.impl in BACKENDS else (
                "same-traffic kernel" if r.impl == "roofline" else "STREAM " + r.impl)
            self.out("| %s | %d | %s | %s | %s | %s |" % (
                lab, r.threads, fmt(r.ns), fmt(r.gbs),
                ("%.2fx" % (base[0].ns / r.ns)) if base else "-",
                ("%.0f%%" % (100 * r.gbs / triad[0].gbs)) if triad and r.gbs else "-"))
        self.out()

    def noise(self):
        cvs = sorted((r.cv, r.kernel + "/" + r.impl + "/" + human_n(r.n)) for r in list(self.rows.values()) + self.mt
                     if r.cv is not None)
        if not cvs:
            return
        med = statistics.median(c for c, _ in cvs)
        worst = cvs[-3:][::-1]
        self.out("Spread: the coefficient of variation across repetitions is %.1f%% for the median benchmark; "
                 "the noisiest were %s." % (100 * med, ", ".join("%s (%.0f%%)" % (n, 100 * c) for c, n in worst)))
        self.out()


def plot(rep, kernels, build, png):
    gp = shutil.which("gnuplot")
    if not gp:
        print("report: gnuplot not found: no %s" % png, file=sys.stderr)
        return False
    styles = {
        "avx512": 'lw 2.5 lc rgb "#d62728" pt 7',
        "avx2": 'lw 2.5 lc rgb "#ff7f0e" pt 5',
        "scalar": 'lw 1.5 lc rgb "#bcbd22" pt 9',
        "naive-O3-native": 'lw 1.5 lc rgb "#1f77b4" dt 2 pt 4',
        "naive-O3-native-nomerrno": 'lw 1.5 lc rgb "#17becf" pt 6',
        "naive-Ofast-native": 'lw 1.5 lc rgb "#9467bd" dt 3 pt 8',
        "torch-single/steady": 'lw 1.5 lc rgb "#2ca02c" pt 10',
        "torch-single/shipped": 'lw 1.5 lc rgb "#2ca02c" dt 2 pt 11',
        "torch/steady": 'lw 1.5 lc rgb "#2ca02c" pt 10',
        "torch/shipped": 'lw 1.5 lc rgb "#2ca02c" dt 2 pt 11',
        "onednn-nchw": 'lw 1.5 lc rgb "#8c564b" pt 12',
        "onednn-nhwc": 'lw 1.5 lc rgb "#8c564b" pt 12',
        "onednn-nChw16c": 'lw 1.5 lc rgb "#e377c2" pt 13',
        "onednn-nChw8c": 'lw 1.5 lc rgb "#e377c2" dt 2 pt 13',
        "roofline": 'lw 3 lc rgb "black" dt 4 pt -1',
        "copy": 'lw 1.5 lc rgb "#7f7f7f" dt 3 pt 4',
        "triad": 'lw 2 lc rgb "#7f7f7f" pt 6',
    }
    titles = {"avx512": "trainopt avx512", "avx2": "trainopt avx2", "scalar": "trainopt scalar",
              "naive-O3-native": "naive -O3 -march=native", "naive-O3-native-nomerrno": "naive -O3 -march=native -fno-math-errno",
              "naive-Ofast-native": "naive -Ofast (inexact)", "torch-single/steady": "PyTorch steady",
              "torch-single/shipped": "PyTorch as shipped", "roofline": "roofline (same traffic)",
              "torch/steady": "PyTorch steady", "torch/shipped": "PyTorch as shipped",
              "onednn-nchw": "oneDNN nchw", "onednn-nhwc": "oneDNN nhwc", "onednn-nChw16c": "oneDNN nChw16c",
              "onednn-nChw8c": "oneDNN nChw8c",
              "copy": "STREAM copy", "triad": "STREAM triad"}
    panels = [k for k in kernels if rep.sizes(k)]
    cols = 3
    rows = (len(panels) + 1 + cols - 1) // cols  # one more cell for the shared legend
    d = os.path.join(build, "plot")
    os.makedirs(d, exist_ok=True)
    cmds = ['set terminal pngcairo size %d,%d font "DejaVu Sans,10"' % (560 * cols, 400 * rows + 40),
            'set output "%s"' % os.path.abspath(png),
            'set multiplot layout %d,%d title "trainopt: GB/s (bytes the kernel must move / time) against '
            'elements, log-log; %s"' % (rows, cols, rep.ctx.get("date", "")[:10]),
            "set logscale x 2", "set logscale y 10", "set format x '2^{%L}'", "set grid", "unset key",
            "set xlabel 'elements'", "set ylabel 'GB/s'", "set yrange [0.5:*]"]
    used = []
    for k in panels:
        # PyTorch: foreach=False (1.13's default for a single tensor) both ways; other peers' steady rows.
        impls = [i for i in rep.impls(k) if i in styles or i.startswith("onednn") or
                 (i.startswith("torch") and i.endswith("/steady") and not i.startswith("torch-foreach"))]
        plots = []
        for impl in impls:
            fn = os.path.join(d, "%s__%s.dat" % (k, impl.replace("/", "_")))
            points = [(n, rep.get(k, impl, n).gbs) for n in rep.sizes(k) if rep.get(k, impl, n)]
            points = [(n, g) for n, g in points if g]
            if not points:
                continue
            with open(fn, "w") as f:
                for n, g in points:
                    f.write("%d %g\n" % (n, g))
            plots.append("'%s' using 1:2 with linespoints %s notitle" % (fn, styles.get(impl, "lw 1.5")))
            if impl not in used:
                used.append(impl)
        # In cache the sqrt-and-divide optimizers cannot beat the divider floor: drawn flat.
        for b, style in (("avx512", 'lw 2 lc rgb "#d62728" dt 2'), ("avx2", 'lw 2 lc rgb "#ff7f0e" dt 2')):
            floor = rep.ns("divider", b, 1 << 16)
            bpe = next((r.bpe for n in rep.sizes(k) for r in [rep.get(k, b, n)] if r and r.bpe), None)
            if k in SQRT_DIV and floor and bpe:
                plots.append("%g with lines %s notitle" % (bpe / floor, style))
                if "floor-" + b not in used:
                    used.append("floor-" + b)
                    styles["floor-" + b] = style
                    titles["floor-" + b] = "divider floor, %s" % b
        cmds.append("set title '%s' noenhanced" % KERNELS.get(k, (k,))[0])
        cmds.append("plot " + ", ".join(plots))
    # The legend, once, in the next free cell: the same styles on invisible data.
    cmds += ["unset title", "unset border", "unset tics", "unset xlabel", "unset ylabel", "unset grid",
             "unset logscale", "set xrange [0:1]", "set yrange [0:1]",
             "set key center center vertical font ',11' spacing 1.3 samplen 4"]
    cmds.append("plot " + ", ".join("NaN with %s %s title '%s'" % (
        "lines" if i.startswith("floor-") else "linespoints", styles.get(i, "lw 1.5"), titles.get(i, i))
        for i in used))
    cmds.append("unset multiplot")
    script = os.path.join(d, "results.gp")
    with open(script, "w") as f:
        f.write("\n".join(cmds) + "\n")
    subprocess.run([gp, script], check=True)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="../build/bench")
    ap.add_argument("--out-md", default="RESULTS.md")
    ap.add_argument("--out-png", default="results.png")
    ap.add_argument("--min-time", default="0.1", help="the run's --benchmark_min_time, for the text")
    args = ap.parse_args()

    ctx, rows = load_gbench(os.path.join(args.build, "results.json"))
    bpe = {}
    for r in rows:
        if r.impl in BACKENDS and r.bpe:
            bpe[r.kernel] = r.bpe
    torch_ctx, trows = load_peer(os.path.join(args.build, "torch.json"), bpe)
    dnnl_ctx, drows = load_peer(os.path.join(args.build, "dnnl.json"), bpe)
    rep = Report(ctx, rows + trows + drows, torch_ctx or {}, dnnl_ctx or {})
    reps = max((r.reps for r in rows), default=1)
    rep.header(reps, args.min_time)
    rep.bandwidth()
    rep.goals()
    if rep.shortfalls:
        rep.out("Shortfalls are discussed under [Findings](#findings).")
        rep.out()
    # Kernels trainopt has in this build (a family's peers alone make no table).
    order = [k for k in KERNELS if k != "stream" and any(rep.get(k, b, n) for b in BACKENDS for n in rep.sizes(k))]
    missing = [k for k in KERNELS if k != "stream" and k not in order]
    if missing:
        rep.out("Not in this run (filtered out, or this CPU cannot run them): %s." % ", ".join(missing))
        rep.out()
    for k in order:
        rep.kernel_section(k)
    rep.threads()
    rep.noise()
    findings = os.path.join(os.path.dirname(os.path.abspath(__file__)), "FINDINGS.md")
    if os.path.exists(findings):
        rep.out(open(findings).read().rstrip())
        rep.out()
    with open(args.out_md, "w") as f:
        f.write("\n".join(rep.lines))
    print("report: wrote %s" % args.out_md)
    if plot(rep, ["stream"] + order, args.build, args.out_png):
        print("report: wrote %s" % args.out_png)


if __name__ == "__main__":
    main()
