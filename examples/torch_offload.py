#!/usr/bin/python3
"""examples/torch_offload.py - a PyTorch model trained on the CPU with trainopt.torch.AdamW in
place of torch.optim.AdamW: one import changes, nothing else.

    make python                                   # libtrainopt and the package's generated API
    /usr/bin/python3 examples/torch_offload.py [--steps 200] [--hidden 2048]

Two copies of the same model (Linear-BatchNorm-ReLU-Linear, Kaiming init from one seed) are
trained side by side on the same synthetic batches, with a warmup-cosine schedule from
torch.optim.lr_scheduler on each optimizer. It prints both loss curves and the time of each
optimizer step. The curves agree to float rounding: trainopt follows PyTorch 1.13's AdamW to
a few ulps per step, and training amplifies those ulps slowly (README.md, "Python").

PyTorch's step time includes faulting in its temporaries again on every step, as the default
allocator maps them fresh (bench/FINDINGS.md): on the development VM 67 ms against trainopt's
1.95 ms. With GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=1099511627776
in the environment PyTorch keeps them, and its step took 9.5 ms (4.9x trainopt's).
"""
import argparse
import os
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import trainopt.torch  # noqa: E402


def make_model(inputs, hidden, classes):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(inputs, hidden), torch.nn.BatchNorm1d(hidden), torch.nn.ReLU(),
                               torch.nn.Linear(hidden, classes))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--hidden", type=int, default=2048)
    ap.add_argument("--inputs", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(1)
    # 1.13's SequentialLR passes an epoch to its first scheduler and warns about it; not our concern here
    warnings.filterwarnings("ignore", message="The epoch parameter")

    # A fixed teacher makes the synthetic task learnable.
    g = torch.Generator().manual_seed(1)
    teacher = torch.randn(args.inputs, 10, generator=g)
    runs = {}
    for label, optimizer_class in (("torch.optim.AdamW", torch.optim.AdamW),
                                   ("trainopt.torch.AdamW", trainopt.torch.AdamW)):
        model = make_model(args.inputs, args.hidden, 10)
        opt = optimizer_class(model.parameters(), lr=1e-3, weight_decay=0.05)
        warmup = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=args.steps // 10)
        cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps - args.steps // 10)
        sched = torch.optim.lr_scheduler.SequentialLR(opt, [warmup, cosine], [args.steps // 10])
        data = torch.Generator().manual_seed(2)
        losses, step_times = [], []
        for _ in range(args.steps):
            x = torch.randn(args.batch, args.inputs, generator=data)
            y = (x @ teacher).argmax(dim=1)
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            t = time.perf_counter()
            opt.step()
            step_times.append(time.perf_counter() - t)
            sched.step()
            losses.append(loss.item())
        runs[label] = (losses, sorted(step_times)[len(step_times) // 2])

    params = sum(p.numel() for p in make_model(args.inputs, args.hidden, 10).parameters())
    print("model: Linear(%d, %d)-BatchNorm-ReLU-Linear(%d, 10), %d parameters, %d steps, 1 thread"
          % (args.inputs, args.hidden, args.hidden, params, args.steps))
    print("%6s  %18s  %20s" % ("step", "torch.optim.AdamW", "trainopt.torch.AdamW"))
    (torch_losses, torch_time), (ours_losses, ours_time) = runs.values()
    for step in range(0, args.steps, max(1, args.steps // 10)):
        print("%6d  %18.6f  %20.6f" % (step + 1, torch_losses[step], ours_losses[step]))
    print("%6d  %18.6f  %20.6f" % (args.steps, torch_losses[-1], ours_losses[-1]))
    print("optimizer step (median): torch.optim.AdamW %.3f ms, trainopt.torch.AdamW %.3f ms (%.1fx)"
          % (torch_time * 1e3, ours_time * 1e3, torch_time / ours_time))


if __name__ == "__main__":
    main()
