#!/usr/bin/python3
"""char_lm_torch.py - the PyTorch twin of examples/char_lm.c.

The same data (the lowercase words of /usr/share/dict/words, one in ten held out for
validation by the FNV-1a hash of the word, windows of K characters with '.' at a word's
start and end), the same data order (splitmix64 + Fisher-Yates, reproduced here bit for
bit), the same model (Embedding -> Linear -> LayerNorm or RMSNorm -> tanh -> Dropout ->
Linear), the same initialization scheme (PyTorch's defaults, which char_lm.c reproduces
with trainopt's generator) and the same hyperparameters (AdamW with a per-step
warmup-cosine learning rate, weight decay on the two dense weights only, gradient-norm
clipping). The random numbers themselves differ (initial weights, dropout masks,
samples), so the two agree in validation loss to within seed-to-seed noise, not digit
for digit.

    /usr/bin/python3 examples/char_lm_torch.py [--small] [--rmsnorm] [--threads N]
    make demo-lm-compare     runs both, prints the two final validation losses, fails beyond 2%

Needs Debian's python3-torch (1.13) and wamerican.
"""
import argparse
import math
import os
import re
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

V = 27  # '.' is 0, 'a'..'z' are 1..26
MASK64 = (1 << 64) - 1


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--context", type=int, default=5)
    p.add_argument("--embed", type=int, default=16)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--rmsnorm", action="store_true", help="RMSNorm instead of LayerNorm")
    p.add_argument("--samples", type=int, default=12)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--words", default="/usr/share/dict/words")
    p.add_argument("--small", action="store_true", help="quick check: --epochs 1 --hidden 64")
    p.add_argument("--threads", type=int, default=int(os.environ.get("OPENBLAS_NUM_THREADS", "0") or 0),
                   help="intra-op threads (default: $OPENBLAS_NUM_THREADS, as the C program, else all cores)")
    p.add_argument("--compare", metavar="C_OUTPUT",
                   help="char_lm.c's output: print both final validation losses, exit status 1 if they differ by > 2%%")
    a = p.parse_args()
    if a.small:
        a.epochs, a.hidden = 1, 64
    return a


# Hyperparameters that char_lm.c fixes in its defaults.
END_LR, WEIGHT_DECAY, WARMUP_FRAC, CLIP_NORM = 3e-5, 0.01, 0.05, 1.0


def fnv1a(word):
    h = 2166136261
    for ch in word.encode():
        h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
    return h


def read_words(path):
    """The words of lowercase ASCII letters only, in file order, as read_words() in char_lm.c."""
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        return [w for w in (line.rstrip("\n") for line in f) if re.fullmatch(r"[a-z]{1,64}", w)]


def make_windows(words, k, validation):
    ctx, nxt = [], []
    for w in words:
        if (fnv1a(w) % 10 == 0) != validation:
            continue
        c = [0] * k
        for ch in w + ".":
            n = 0 if ch == "." else ord(ch) - ord("a") + 1
            ctx.append(c)
            nxt.append(n)
            c = c[1:] + [n]
    return torch.tensor(ctx, dtype=torch.int64), torch.tensor(nxt, dtype=torch.int64)


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def shuffle(order, state):
    """Fisher-Yates exactly as shuffle() in char_lm.c."""
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


class RMSNorm(nn.Module):
    """y = x / sqrt(mean(x^2) + eps) * weight (torch 1.13 has no nn.RMSNorm)."""

    def __init__(self, n, eps=1e-5):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.ones(n))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class CharLM(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.emb = nn.Embedding(V, a.embed)  # N(0, 1)
        self.fc1 = nn.Linear(a.context * a.embed, a.hidden)  # kaiming_uniform(a=sqrt(5)), bias U(+-1/sqrt(fan_in))
        self.norm = RMSNorm(a.hidden) if a.rmsnorm else nn.LayerNorm(a.hidden)
        self.drop = nn.Dropout(a.dropout)
        self.fc2 = nn.Linear(a.hidden, V)

    def forward(self, ctx):
        x = self.emb(ctx).flatten(1)
        return self.fc2(self.drop(torch.tanh(self.norm(self.fc1(x)))))


def evaluate(model, ctx, nxt, batch):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for s in range(0, len(nxt), batch):
            total += F.cross_entropy(model(ctx[s:s + batch]), nxt[s:s + batch], reduction="sum").item()
    model.train()
    return total / len(nxt)


def sample(model, k, n, gen):
    words = []
    model.eval()
    with torch.no_grad():
        for _ in range(n):
            c, w = [0] * k, ""
            while len(w) < 64:
                p = F.softmax(model(torch.tensor([c])), dim=1)
                nxt = torch.multinomial(p[0], 1, generator=gen).item()
                if nxt == 0:
                    break
                w += chr(ord("a") + nxt - 1)
                c = c[1:] + [nxt]
            words.append(w)
    return words


def main():
    a = parse_args()
    torch.set_num_threads(a.threads if a.threads > 0 else (os.cpu_count() or 1))
    torch.manual_seed(a.seed)
    t_start = time.perf_counter()
    words = read_words(a.words)
    xtr, ytr = make_windows(words, a.context, False)
    xva, yva = make_windows(words, a.context, True)
    n = len(ytr)
    steps_per_epoch = (n + a.batch - 1) // a.batch
    total_steps = steps_per_epoch * a.epochs
    warmup_steps = int(WARMUP_FRAC * total_steps)

    model = CharLM(a)
    decay = [model.fc1.weight, model.fc2.weight]
    no_decay = [p for name, p in model.named_parameters() if name not in ("fc1.weight", "fc2.weight")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                             {"params": no_decay, "weight_decay": 0.0}], lr=0.0)
    print("PyTorch %s, %d threads\n%d words from %s: %d train / %d validation windows of %d characters" % (
        torch.__version__, torch.get_num_threads(), len(words), a.words, n, len(yva), a.context))
    print("Embedding(%d, %d) x %d -> Linear(%d, %d) -> %s -> tanh -> Dropout(%g) -> Linear(%d, %d): %d parameters" % (
        V, a.embed, a.context, a.context * a.embed, a.hidden, "RMSNorm" if a.rmsnorm else "LayerNorm", a.dropout,
        a.hidden, V, sum(p.numel() for p in model.parameters())))
    first_val = evaluate(model, xva, yva, a.batch)
    print("epoch  0/%d  validation loss %.4f" % (a.epochs, first_val), flush=True)

    order, state, step, lr, val = list(range(n)), a.seed, 0, 0.0, first_val
    for epoch in range(1, a.epochs + 1):
        t0 = time.perf_counter()
        state = shuffle(order, state)
        idx = torch.tensor(order, dtype=torch.int64)
        loss_sum = 0.0
        for s in range(steps_per_epoch):
            b = idx[s * a.batch:(s + 1) * a.batch]
            lr = warmup_cosine(a.lr, step, warmup_steps, total_steps, 0.0, END_LR)
            for g in opt.param_groups:
                g["lr"] = lr
            loss = F.cross_entropy(model(xtr[b]), ytr[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
            opt.step()
            step += 1
            loss_sum += loss.item() * len(b)
        val = evaluate(model, xva, yva, a.batch)
        print("epoch %2d/%d  lr %.2e  train loss %.4f  validation loss %.4f  %5.2f s" % (
            epoch, a.epochs, lr, loss_sum / n, val, time.perf_counter() - t0), flush=True)

    gen = torch.Generator().manual_seed(a.seed + 2)
    known = set(words)
    print("samples (seed %d): %s\n(* in the word list)" % (
        a.seed, " ".join(w + ("*" if w in known else "") for w in sample(model, a.context, a.samples, gen))))
    print("final validation loss %.4f  (%.4f before training)  |  %.1f s" % (val, first_val,
                                                                            time.perf_counter() - t_start))
    if a.compare:
        with open(a.compare) as f:
            m = re.findall(r"^final validation loss ([0-9.]+)", f.read(), re.M)
        if not m:
            sys.exit(f"{a.compare}: no final validation loss")
        c = float(m[-1])
        diff = abs(c - val) / val
        print("final validation loss:  C (trainopt + OpenBLAS) %.4f   PyTorch %.4f   difference %.2f%%" % (
            c, val, 100.0 * diff))
        if diff > 0.02:
            sys.exit("char_lm_torch: the two final validation losses differ by more than 2%")
    if not val < first_val - 0.5:
        sys.exit("char_lm_torch: the validation loss went from %.4f to %.4f: it did not fall by 0.5" % (first_val, val))


if __name__ == "__main__":
    main()
