#!/usr/bin/python3
"""fashion_mnist_torch.py - the PyTorch twin of examples/fashion_mnist.c.

The same model (784-512-256-10 MLP: bias-free Linear, BatchNorm1d, ReLU, Dropout
in each hidden layer), the same data order (splitmix64 + Fisher-Yates, reproduced
here bit for bit), the same initialization scheme (Kaiming normal, fan_in, ReLU
gain; gain 1 for the output layer), and the same hyperparameters (AdamW with a
per-step warmup-cosine learning rate, weight decay on the weights only, label
smoothing, gradient-norm clipping). The random numbers themselves differ
(initial weights, dropout masks), so the two runs agree in accuracy to within
seed-to-seed noise, not digit for digit.

    /usr/bin/python3 examples/fashion_mnist_torch.py [--small] [--threads N]
    make demo-compare        runs both and prints them side by side

Needs Debian's python3-torch (1.13) and python3-numpy.
"""
import argparse
import csv
import gzip
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

IN, H1, H2, OUT = 784, 512, 256, 10
MASK64 = (1 << 64) - 1


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--train", type=int, default=0, help="use the first N training images (0: all)")
    p.add_argument("--test", type=int, default=0, help="use the first N test images (0: all)")
    p.add_argument("--small", action="store_true", help="quick check: --train 4096 --test 1000 --epochs 2")
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--csv", default="fashion_mnist_torch_curve.csv")
    p.add_argument("--threads", type=int, default=int(os.environ.get("OPENBLAS_NUM_THREADS", "0") or 0),
                   help="intra-op threads (default: $OPENBLAS_NUM_THREADS, as the C program, else all cores)")
    p.add_argument("--compare", metavar="C_CSV", help="print this run beside the C program's curve")
    a = p.parse_args()
    if a.small:
        a.train, a.test, a.epochs = 4096, 1000, 2
    return a


# Hyperparameters that fashion_mnist.c fixes in its defaults.
END_LR, WEIGHT_DECAY, WARMUP_EPOCHS = 1e-5, 0.05, 1.0
DROPOUT, LABEL_SMOOTHING, CLIP_NORM = 0.2, 0.1, 1.0


def read_idx(path, magic, item_bytes):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    head = 16 if magic == 0x803 else 8
    if int.from_bytes(raw[0:4], "big") != magic:
        sys.exit(f"{path}: not an idx file of the expected kind")
    n = int.from_bytes(raw[4:8], "big")
    return np.frombuffer(raw, dtype=np.uint8, offset=head, count=n * item_bytes), n


def load(d, images, labels, limit):
    px, n = read_idx(os.path.join(d, images), 0x803, IN)
    lb, n2 = read_idx(os.path.join(d, labels), 0x801, 1)
    assert n == n2
    n = min(limit, n) if limit else n
    # The same float32 operations as the C loader, so the inputs are bit-identical.
    x = (px[: n * IN].astype(np.float32) / np.float32(255.0) - np.float32(0.2860)) / np.float32(0.3530)
    return torch.from_numpy(x.reshape(n, IN).copy()), torch.from_numpy(lb[:n].astype(np.int64))


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def shuffle(order, state):
    """Fisher-Yates exactly as shuffle() in fashion_mnist.c."""
    for i in range(len(order), 1, -1):
        state, r = splitmix64(state)
        j = r % i
        order[i - 1], order[j] = order[j], order[i - 1]
    return state


def warmup_cosine(peak, t, warmup, decay, init, end):
    """optax.warmup_cosine_decay_schedule, written as trainopt_lr_warmup_cosine computes it."""
    if t < warmup:
        return (init - peak) * (1.0 - t / warmup) + peak
    span = decay - warmup
    c = 0.5 * (1.0 + math.cos(math.pi * min(t - warmup, span) / span))
    alpha = end / peak if peak else 0.0
    return peak * ((1 - alpha) * c + alpha)


def make_model():
    m = nn.Sequential(
        nn.Linear(IN, H1, bias=False), nn.BatchNorm1d(H1), nn.ReLU(), nn.Dropout(DROPOUT),
        nn.Linear(H1, H2, bias=False), nn.BatchNorm1d(H2), nn.ReLU(), nn.Dropout(DROPOUT),
        nn.Linear(H2, OUT))
    nn.init.kaiming_normal_(m[0].weight, mode="fan_in", nonlinearity="relu")
    nn.init.kaiming_normal_(m[4].weight, mode="fan_in", nonlinearity="relu")
    nn.init.kaiming_normal_(m[8].weight, mode="fan_in", nonlinearity="linear")
    nn.init.zeros_(m[8].bias)
    return m


def evaluate(model, x, y, batch):
    model.eval()
    correct, loss_sum = 0, 0.0
    with torch.no_grad():
        for s in range(0, len(y), batch):
            z = model(x[s:s + batch])
            loss_sum += F.cross_entropy(z, y[s:s + batch], reduction="sum").item()
            correct += (z.argmax(1) == y[s:s + batch]).sum().item()
    model.train()
    return correct / len(y), loss_sum / len(y)


def compare(c_csv, rows):
    """Prints the C program's learning curve (its CSV) beside this run's."""
    with open(c_csv) as f:
        c = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]
    if not c:
        sys.exit(f"{c_csv}: no epochs")

    def totals(rs):  # over the whole run: images/s of wall time and per CPU second, s/epoch
        secs = sum(r["train_seconds"] for r in rs)
        images = sum(r["images_per_s"] * r["train_seconds"] for r in rs)
        cpu = sum(r.get("train_cpu_seconds", float("nan")) for r in rs)
        return images / secs, images / cpu, sum(r["seconds"] for r in rs) / len(rs)

    print("\n       |  trainopt + OpenBLAS (C)          |  PyTorch %-25s|" % torch.__version__)
    print(" epoch | train loss  test acc  seconds   | train loss  test acc  seconds   |")
    for i in range(max(len(c), len(rows))):
        left = "   %8.4f    %6.4f  %7.2f   " % (c[i]["train_loss"], c[i]["test_acc"], c[i]["seconds"]) \
            if i < len(c) else " " * 35
        right = "   %8.4f    %6.4f  %7.2f   " % (rows[i]["train_loss"], rows[i]["test_acc"], rows[i]["seconds"]) \
            if i < len(rows) else " " * 35
        print(" %5d |%s|%s|" % (i + 1, left, right))
    (c_ips, c_cpu, c_sec), (t_ips, t_cpu, t_sec) = totals(c), totals(rows)
    print(" final test accuracy:       C %.4f   PyTorch %.4f" % (c[-1]["test_acc"], rows[-1]["test_acc"]))
    print(" seconds per epoch:         C %.2f   PyTorch %.2f   (training and evaluation, wall clock)" % (c_sec, t_sec))
    print(" training images/s:         C %.0f   PyTorch %.0f   (%.2fx)" % (c_ips, t_ips, c_ips / t_ips))
    print(" training images/CPU-s:     C %.0f   PyTorch %.0f   (%.2fx; what a busy machine does not distort)" % (
        c_cpu, t_cpu, c_cpu / t_cpu))


def main():
    a = parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    else:
        torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(a.seed)
    xtr, ytr = load(a.data, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", a.train)
    xte, yte = load(a.data, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", a.test)
    n = len(ytr)
    steps_per_epoch = (n + a.batch - 1) // a.batch
    if n % a.batch == 1:
        steps_per_epoch -= 1  # as the C program: a one-row batch norm batch is an error
    total_steps = steps_per_epoch * a.epochs
    warmup_steps = min(int(WARMUP_EPOCHS * steps_per_epoch), total_steps // 10)

    model = make_model()
    decay = [p for p in model.parameters() if p.dim() == 2]      # Linear weights
    no_decay = [p for p in model.parameters() if p.dim() != 2]   # BN scale/shift, output bias
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                             {"params": no_decay, "weight_decay": 0.0}], lr=0.0)
    print("PyTorch %s, %d threads\nMLP %d-%d-%d-%d, %d parameters; %d train / %d test images; batch %d, %d epochs" % (
        torch.__version__, torch.get_num_threads(), IN, H1, H2, OUT, sum(p.numel() for p in model.parameters()),
        n, len(yte), a.batch, a.epochs))

    order, state, step, rows, train_seconds, lr, total_seen = list(range(n)), a.seed, 0, [], 0.0, 0.0, 0
    for epoch in range(1, a.epochs + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        state = shuffle(order, state)
        idx = torch.tensor(order, dtype=torch.int64)
        loss_sum, seen = 0.0, 0
        for k in range(steps_per_epoch):
            b = idx[k * a.batch:(k + 1) * a.batch]
            xb, yb = xtr[b], ytr[b]
            lr = warmup_cosine(a.lr, step, warmup_steps, total_steps, 0.0, END_LR)
            for g in opt.param_groups:
                g["lr"] = lr
            loss = F.cross_entropy(model(xb), yb, label_smoothing=LABEL_SMOOTHING)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
            opt.step()
            step += 1
            loss_sum += loss.item() * len(b)
            seen += len(b)
        t_train, cpu_train = time.perf_counter() - t0, time.process_time() - c0
        train_seconds += t_train
        acc, test_loss = evaluate(model, xte, yte, a.batch)
        seconds = time.perf_counter() - t0
        rows.append({"epoch": epoch, "lr": lr, "train_loss": loss_sum / seen, "test_loss": test_loss,
                     "test_acc": acc, "seconds": seconds, "train_seconds": t_train, "images_per_s": seen / t_train,
                     "train_cpu_seconds": cpu_train})
        total_seen += seen
        print("epoch %2d/%d  lr %.2e  train loss %.4f  test loss %.4f  test acc %.4f  %5.2f s" % (
            epoch, a.epochs, lr, loss_sum / seen, test_loss, acc, seconds), flush=True)
    with open(a.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["epoch", "lr", "train_loss", "test_loss", "test_acc", "seconds",
                                          "train_seconds", "images_per_s", "train_cpu_seconds"])
        w.writeheader()
        for r in rows:
            w.writerow({"epoch": r["epoch"], "lr": "%.6e" % r["lr"], "train_loss": "%.6f" % r["train_loss"],
                        "test_loss": "%.6f" % r["test_loss"], "test_acc": "%.4f" % r["test_acc"],
                        "seconds": "%.3f" % r["seconds"], "train_seconds": "%.3f" % r["train_seconds"],
                        "images_per_s": "%.0f" % r["images_per_s"],
                        "train_cpu_seconds": "%.3f" % r["train_cpu_seconds"]})
    summary = "final test accuracy %.4f  |  %.1f s training, %.0f images/s" % (
        rows[-1]["test_acc"], train_seconds, total_seen / train_seconds)
    print(summary + "  |  curve: " + a.csv)
    if a.compare:
        compare(a.compare, rows)


if __name__ == "__main__":
    main()
