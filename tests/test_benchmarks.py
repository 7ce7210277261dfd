"""The core benchmark runs end to end (tiny sizes; with torch when it is installed)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_core.py"


@pytest.fixture(scope="module")
def bench_core():
    if not BENCH.exists():
        pytest.skip("benchmarks/ is not part of this installation")
    spec = importlib.util.spec_from_file_location("bench_core", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_core_prints_every_row(bench_core, capsys):
    status = bench_core.main(["--quick", "--threads", "1", "--cells", "rnn", "lstm", "--sizes", "8", "--repeats", "1"])
    out = capsys.readouterr().out
    assert status == 0  # no bar applies at H=8
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["rnn"], ["lstm"])]
    assert [row[:2] for row in rows] == [["rnn", "8"], ["lstm", "8"]] * 2  # training, then generation
    assert all(float(row[2]) > 0 for row in rows)  # skrnn tokens/s


def test_blas_floor_makes_the_steps_products(bench_core):
    floor = bench_core.BlasFloor("gru", 8)
    floor.step()
    h2d = floor.h[1:].reshape(-1, 8)
    np.testing.assert_allclose(floor.dW_hy, h2d.T @ floor.logits, rtol=1e-5)
    assert floor.logits.shape == (bench_core.T * bench_core.N, bench_core.V)
    assert floor.dW_hh.shape == (3, 8, 8)
