"""Gathering an epoch's shuffled mini-batches: ``np.take`` with ``mode="raise"`` vs ``"clip"``.

    python benchmarks/gather.py             # MNIST-shaped, 7 interleaved rounds

The training loop gathers each mini-batch with ``np.take(X, idx, axis=0,
out=buffer)``. With NumPy's default ``mode="raise"`` a given ``out`` is
buffered (the rows go to a temporary first, then are copied into ``out``);
with ``mode="clip"`` they are written straight into ``out``. The loop's
indices come from a permutation, so they are always in range and both modes
give the same batches. Each round times one epoch of gathers (60,000 x 784
float32, batches of 256, a fresh permutation, so the rows come from memory,
not from cache) in each mode, the modes taking turns in one process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def epoch_of_gathers(X, order, buffer, mode):
    batch = buffer.shape[0]
    started = time.perf_counter()
    for start in range(0, len(order) - batch + 1, batch):
        np.take(X, order[start:start + batch], axis=0, out=buffer, mode=mode)
    return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--rows", type=int, default=60000)
    args = parser.parse_args(argv)
    sys.path.insert(0, HERE)
    from bench import mnist_data

    X, _ = mnist_data(args.rows)
    rng = np.random.default_rng(0)
    buffer = np.empty((256, X.shape[1]), X.dtype)
    times = {"raise": [], "clip": []}
    for _ in range(args.rounds):
        order = rng.permutation(len(X))
        for mode in times:
            times[mode].append(epoch_of_gathers(X, order, buffer, mode))
    print(f"# one epoch of batch gathers, {X.shape[0]:,} x {X.shape[1]} {X.dtype}, "
          f"batch 256, {args.rounds} interleaved rounds\n")
    print("| np.take mode | min (s) | median (s) |\n|---|---|---|")
    for mode, values in times.items():
        print(f"| {mode} | {min(values):.4f} | {statistics.median(values):.4f} |")
    ratio = statistics.median(times["raise"]) / statistics.median(times["clip"])
    print(f"\nraise / clip (medians) = {ratio:.2f}x")


if __name__ == "__main__":
    main()
