#!/usr/bin/python3
"""bench/torch_optim.py - the optimizer phase of a training step: trainopt.torch.AdamW against
torch.optim.AdamW, foreach=True and single-tensor (foreach=False), PyTorch 1.13 on the CPU.

    flock /work/bench.lock taskset -c 1 /usr/bin/python3 bench/torch_optim.py [--repeats 7] [--only NAME]
    flock /work/bench.lock taskset -c 0,1 /usr/bin/python3 bench/torch_optim.py --threads 2 --only stack100M \
        --optimizers foreach=True,trainopt.torch.AdamW

Workloads (parameter lists; gradients are fixed random tensors, only step() is timed):
  resnet18   ResNet-18's 62 parameter tensors (11.7M parameters: convolutions, batch-norm
             weights and biases, the classifier), a realistic mix of large and tiny tensors;
  16M        one tensor of 16M parameters (out of cache: memory traffic);
  small200   200 small tensors (64 to 4096 elements): the per-call overhead;
  stack100M  24 Linear(2048, 2048) layers with biases (100.7M parameters);
  model200   bench/multi.c's model: 200 tensors of 1K to 1M elements, log-spaced in a
             shuffled order (30.6M parameters), issue 19's "real layer mix".
Each optimizer's state is created by a first step, then each figure is the median over
--repeats runs of the time per step: wall clock, the calling thread's CPU time (which leaves out
the time another process had the core: on a shared machine the steadier figure) and the
process's (every thread's: the work done, whatever the threads), on --threads
intra-op threads (torch.set_num_threads(N), default 1; trainopt.torch follows it with a
trainopt_pool of N threads, its default threads=None; with N > 1 the CPU time is the calling
thread's alone, so compare the wall figures). Ratios are within
one run, against trainopt.torch.AdamW (one trainopt_adamw_step_multi call per group); the
per-tensor row is the same class with multi_tensor = False. Prints a Markdown table.
"""
import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import trainopt  # noqa: E402
import trainopt.torch as tt  # noqa: E402


def resnet18_shapes():
    shapes = [(64, 3, 7, 7), (64,), (64,)]
    inplanes = 64
    for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        for block in range(2):
            cin = inplanes if block == 0 else planes
            shapes += [(planes, cin, 3, 3), (planes,), (planes,), (planes, planes, 3, 3), (planes,), (planes,)]
            if block == 0 and (stride != 1 or cin != planes):
                shapes += [(planes, cin, 1, 1), (planes,), (planes,)]
        inplanes = planes
    return shapes + [(1000, 512), (1000,)]


WORKLOADS = {
    "resnet18": resnet18_shapes,
    "16M": lambda: [(16 * 1024 * 1024,)],
    "small200": lambda: [((64, 256, 1024, 4096)[i % 4],) for i in range(200)],
    "stack100M": lambda: [s for _ in range(24) for s in ((2048, 2048), (2048,))],
    "model200": lambda: [(int(1024.0 * 1024.0 ** (((i * 37) % 200) / 199)) + i % 5,) for i in range(200)],
}

OPTIMIZERS = {
    "torch.optim.AdamW(foreach=True)": lambda ps: torch.optim.AdamW(ps, foreach=True),
    "torch.optim.AdamW (single-tensor)": lambda ps: torch.optim.AdamW(ps, foreach=False),
    "trainopt.torch.AdamW": lambda ps: tt.AdamW(ps),
    # the path before the multi-tensor call: one trainopt_adamw_step per tensor, every check every step
    "trainopt.torch.AdamW, per-tensor calls": lambda ps: PerTensorAdamW(ps),
}


class PerTensorAdamW(tt.AdamW):
    multi_tensor = False


def measure(shapes, make, repeats, steps):
    g = torch.Generator().manual_seed(0)
    params = [torch.randn(s, generator=g) for s in shapes]
    for p in params:
        p.grad = torch.randn(p.shape, generator=g) * 1e-3
    opt = make(params)
    opt.step()  # creates the state
    walls, cpus, procs = [], [], []
    for _ in range(repeats):
        w, c, pc = time.perf_counter(), time.thread_time(), time.process_time()
        for _ in range(steps):
            opt.step()
        walls.append((time.perf_counter() - w) / steps)
        cpus.append((time.thread_time() - c) / steps)
        procs.append((time.process_time() - pc) / steps)
    return statistics.median(walls), statistics.median(cpus), statistics.median(procs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--only", default=None, help="comma-separated workloads")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads; trainopt.torch follows it")
    ap.add_argument("--optimizers", default=None, help="comma-separated parts of the optimizers' labels to run")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    names = args.only.split(",") if args.only else list(WORKLOADS)
    optimizers = {label: make for label, make in OPTIMIZERS.items()
                  if label == "trainopt.torch.AdamW" or not args.optimizers
                  or any(part in label for part in args.optimizers.split(","))}
    print("PyTorch %s, trainopt %s (%s backend), %s, %d thread(s), median of %d; load: %s" % (
        torch.__version__, trainopt.__version__, trainopt.backend(), trainopt.library_path, args.threads,
        args.repeats, open("/proc/loadavg").read().split()[:3]))
    print()
    print("| workload | parameters | tensors | optimizer | ms/step (wall) | ms/step (CPU) | ms/step (CPU, all threads) "
          "| trainopt speedup (wall) | trainopt speedup (CPU) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in names:
        shapes = WORKLOADS[name]()
        numel = sum(torch.Size(s).numel() for s in shapes)
        steps = max(1, min(50, int(2e7 / numel)))  # about 20M elements per timed run
        results = {label: measure(shapes, make, args.repeats, steps) for label, make in optimizers.items()}
        ours_wall, ours_cpu, _ = results["trainopt.torch.AdamW"]
        for label, (wall, cpu, proc) in results.items():
            mine = label == "trainopt.torch.AdamW"
            print("| %s | %.1fM | %d | %s | %.3f | %.3f | %.3f | %s | %s |" % (
                name, numel / 1e6, len(shapes), label, wall * 1e3, cpu * 1e3, proc * 1e3,
                "" if mine else "%.2fx" % (wall / ours_wall), "" if mine else "%.2fx" % (cpu / ours_cpu)))
        sys.stdout.flush()
    print()
    print("load at the end: %s" % open("/proc/loadavg").read().split()[:3])


if __name__ == "__main__":
    main()
