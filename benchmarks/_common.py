"""Helpers shared by the benchmark scripts: data folder, thread pinning, timing.

No torch here: the scripts that compare with it import it themselves, and the
others (and their joblib workers) don't pay for loading it.
"""

import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from threadpoolctl import threadpool_limits

# benchmarks/ -> the checkout -> its parent, which holds shared/data.
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def data_dir():
    """The benchmark data folder: ``$SKRNN_DATA`` if set, else ``../shared/data``."""
    return Path(os.environ.get("SKRNN_DATA", DEFAULT_DATA))


def data_file(name):
    """Path of ``name`` in the data folder, or None when it is missing."""
    path = data_dir() / name
    return path if path.is_file() else None


@contextmanager
def pinned_threads(n_threads):
    """Limit NumPy's BLAS and, where the script imported torch, its intra-op pool to ``n_threads``."""
    torch = sys.modules.get("torch")
    previous = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(n_threads)
    try:
        with threadpool_limits(limits=n_threads, user_api="blas"):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(previous)


def median_seconds(fns, repeats):
    """Median wall time of each zero-argument callable, runs interleaved A, B, A, B.

    Interleaving makes load from other processes hit every candidate alike.
    Returns a list of seconds in the order of ``fns``.
    """
    times = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]
