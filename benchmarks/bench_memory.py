"""Peak memory of training, next to what backpropagation through time must keep.

For one training step (forward, loss, backward, Adam update) on tinyshakespeare
batches at N=32, T=64 the script measures the peak of NumPy allocations with
tracemalloc and compares it with

* the activations BPTT has to keep: each layer's per-step cache (the hidden
  states, plus the gates of a GRU or LSTM) and the (T*N, V) softmax, and
* the parameters with the optimizer's state (Adam: two moments and a scratch
  buffer per parameter).

Bar: peak <= 3 x activations + parameters + optimizer state. The core keeps
its work arrays in a pool between steps (``skrnn._core.recurrent.BUFFERS``);
the pool is emptied before the traced step, so its arrays count in the peak.
Then it fits the same model repeatedly in one process and reports the traced
memory still held after each fit (pool included), which must not grow.

    python benchmarks/bench_memory.py [--hidden-size 256] [--cells rnn gru lstm]
"""

import argparse
import gc
import sys
import tracemalloc
import warnings

import numpy as np
from _common import data_file, pinned_threads

from skrnn import RNNCharGenerator
from skrnn._core.network import NetworkSpec, init_params
from skrnn._core.recurrent import BUFFERS
from skrnn._generator import _segments, _step_weights, _ticks
from skrnn._training import make_optimizer, train_step

CACHE_WIDTH = {"rnn": 1, "gru": 5, "lstm": 7}  # (T, N, H) arrays per layer in cells.allocate


def activation_bytes(cell, T, N, H, V, itemsize):
    """What BPTT keeps for one batch: per-step cell caches and the softmax."""
    return (CACHE_WIDTH[cell] * T * N * H + T * N * V) * itemsize


def one_step_peak(cell, text, H, N, T):
    vocab = {c: i + 1 for i, c in enumerate(sorted(set(text)))}
    V = len(vocab) + 1
    seq = np.array([0] + [vocab[c] for c in text] + [0], dtype=np.int32)
    lanes = _segments([seq], N, T)
    X, targets, lengths, _, _ = next(_ticks([seq], lanes, T))
    spec = NetworkSpec(n_inputs=V, n_outputs=V, hidden_size=H, cell=cell)
    params = init_params(spec, np.random.default_rng(0))
    optimizer = make_optimizer("adam", params, learning_rate=1e-3)
    weights = _step_weights(lengths, X.shape[1], np.float32)
    train_step(params, spec, optimizer, X, lengths, targets, weights, clip_norm=5.0)  # allocate optimizer state
    BUFFERS.clear()  # the core reuses work arrays across steps: count them in this step's peak
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    train_step(params, spec, optimizer, X, lengths, targets, weights, clip_norm=5.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    param_bytes = sum(v.nbytes for v in params.values())
    return peak - base, activation_bytes(cell, X.shape[1], N, H, V, 4), param_bytes, 3 * param_bytes


def repeated_fits(text, H, n_fits):
    """Traced memory held after each of ``n_fits`` fits of the same estimator."""
    held = []
    model = RNNCharGenerator(hidden_size=H, max_iter=1, random_state=0)
    tracemalloc.start()
    for _ in range(n_fits):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(text)
        gc.collect()
        held.append(tracemalloc.get_traced_memory()[0])
    tracemalloc.stop()
    return held


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--cells", nargs="+", default=["rnn", "gru", "lstm"])
    parser.add_argument("--fits", type=int, default=5)
    args = parser.parse_args(argv)
    path = data_file("tinyshakespeare.txt")
    if path is None:
        print("bench_memory: tinyshakespeare.txt not found (set SKRNN_DATA); skipping.")
        return 0
    text = path.read_text(encoding="utf-8")
    H, N, T = args.hidden_size, 32, 64
    failed = False
    mb = 2.0**20
    print(f"One training step, H={H}, N={N}, T={T}, float32 (tracemalloc peak above the resting state)")
    print(f"{'cell':<5} {'peak MB':>8} {'activ. MB':>9} {'params MB':>9} {'optim MB':>8} {'bound MB':>8}  bar")
    with pinned_threads(1):
        for cell in args.cells:
            peak, activ, par, opt = one_step_peak(cell, text, H, N, T)
            bound = 3 * activ + par + opt
            ok = peak <= bound
            failed |= not ok
            print(f"{cell:<5} {peak / mb:8.2f} {activ / mb:9.2f} {par / mb:9.2f} {opt / mb:8.2f} {bound / mb:8.2f}"
                  f"  {'PASS' if ok else 'FAIL'} (peak = {peak / activ:.2f} x activations)")
        held = repeated_fits(text[:100_000], 64, args.fits)
    growth = held[-1] - held[1]
    print(f"\nMemory held after each of {args.fits} fits (100k characters, H=64): "
          + ", ".join(f"{h / mb:.2f}" for h in held) + " MB")
    ok = growth <= 0.05 * held[1] + 1 * mb
    failed |= not ok
    print(f"growth from fit 2 to fit {args.fits}: {growth / mb:+.3f} MB  {'PASS' if ok else 'FAIL'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
