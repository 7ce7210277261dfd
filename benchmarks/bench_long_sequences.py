"""Fitting on long sequences, with subnormal floats flushed to zero and without.

Backpropagation through a long sequence shrinks gradients step after step
until they fall below float32's smallest normal number (1.2e-38); an x86
processor computes on such subnormals many times slower. skrnn's core flushes
them to zero while it trains (``skrnn._core.denormals``, x86-64 Linux). This
script fits the same classifier twice per measurement, flushing on and off,
interleaved, and prints the median fit times, their ratio, whether the two
fits agree (their loss curves), and how many of the backward pass's
pre-activation gradients are subnormal when nothing is flushed.

The task is generated here: series of ``--length`` steps with 3 features of
standard normal noise, labelled by the sign of the mean of feature 0 over the
first 10 steps, so that the label must be carried across the whole series;
``pooling="last"``, one direction. One BLAS thread.

    python benchmarks/bench_long_sequences.py                  # T=1000, rnn and gru
    python benchmarks/bench_long_sequences.py --length 300 --cells rnn lstm
"""

import argparse
import statistics
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from skrnn import RNNSequenceClassifier
from skrnn._core import denormals, network


def make_series(n_series, length, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_series, length, 3)).astype(np.float32)
    y = (X[:, :10, 0].mean(axis=1) > 0).astype(int)
    return X, y


def fit(cell, X, y, max_iter, flush):
    """(seconds, loss curve) of one fit, flushing subnormals or not."""
    model = RNNSequenceClassifier(
        cell=cell, bidirectional=False, pooling="last", max_iter=max_iter, random_state=0
    )
    with denormals.enabled(flush), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter is kept short on purpose
        start = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - start, np.array(model.loss_curve_)


def subnormal_fraction(cell, X, y):
    """Share of subnormal values in every layer's pre-activation gradients, one epoch, no flushing."""
    tiny = np.finfo(np.float32).tiny
    counts = [0, 0]
    original = network.layer_backward

    def counting(*args):
        dx, dhw = original(*args)
        magnitude = np.abs(dhw)
        counts[0] += int(np.count_nonzero((magnitude > 0) & (magnitude < tiny)))
        counts[1] += magnitude.size
        return dx, dhw

    network.layer_backward = counting
    try:
        fit(cell, X, y, 1, flush=False)
    finally:
        network.layer_backward = original
    return counts[0] / max(counts[1], 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", nargs="+", default=["rnn", "gru"], choices=["rnn", "gru", "lstm"])
    parser.add_argument("--length", type=int, default=1000, help="steps per series")
    parser.add_argument("--series", type=int, default=256, help="number of series")
    parser.add_argument("--max-iter", type=int, default=3, help="epochs per fit")
    parser.add_argument("--repeats", type=int, default=3, help="fits per setting, median taken")
    args = parser.parse_args(argv)

    if not denormals.supported():
        print("Flushing subnormals is not supported on this platform: nothing to compare.")
        return 0
    X, y = make_series(args.series, args.length)
    print(f"{args.series} series x {args.length} steps x 3 features, pooling='last', "
          f"{args.max_iter} epochs, 1 BLAS thread, median of {args.repeats}")
    print(f"{'cell':5} {'flushed s':>10} {'IEEE s':>8} {'speed-up':>9} {'same fit':>9} {'subnormal':>10}")
    with threadpool_limits(limits=1, user_api="blas"):
        for cell in args.cells:
            warm = np.concatenate([np.flatnonzero(y == label)[:4] for label in (0, 1)])  # both classes
            fit(cell, X[warm], y[warm], 1, flush=True)  # warm-up: imports, first allocations
            times = {True: [], False: []}
            curves = {}
            for _ in range(args.repeats):
                for flush in (True, False):
                    seconds, curves[flush] = fit(cell, X, y, args.max_iter, flush)
                    times[flush].append(seconds)
            flushed, ieee = statistics.median(times[True]), statistics.median(times[False])
            same = np.allclose(curves[True], curves[False], rtol=1e-5, atol=0)
            fraction = subnormal_fraction(cell, X, y)
            print(f"{cell:5} {flushed:10.3f} {ieee:8.3f} {ieee / flushed:8.2f}x {'yes' if same else 'NO':>9} "
                  f"{100 * fraction:9.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
