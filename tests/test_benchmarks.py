"""The benchmarks run end to end (tiny sizes; with torch when it is installed)."""

import importlib.util
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from skrnn import RNNSequenceClassifier
from skrnn._core import denormals

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_script(name):
    path = BENCHMARKS / f"{name}.py"
    if not path.exists():
        pytest.skip("benchmarks/ is not part of this installation")
    if str(BENCHMARKS) not in sys.path:  # the scripts import _common, as when run from benchmarks/
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench_core():
    return load_script("bench_core")


def test_bench_core_prints_every_row(bench_core, capsys):
    status = bench_core.main(["--quick", "--threads", "1", "--cells", "rnn", "lstm", "--sizes", "8", "--repeats", "1"])
    out = capsys.readouterr().out
    assert status == 0  # no bar applies at H=8
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["rnn"], ["lstm"])]
    assert [row[:2] for row in rows] == [["rnn", "8"], ["lstm", "8"]] * 2  # training, then generation
    assert all(float(row[2]) > 0 for row in rows)  # skrnn tokens/s
    for row in rows[:2]:  # training rows: the median ratio lies within the per-round range
        if row[5] != "-":
            lo, hi = map(float, row[5].split("-"))
            assert lo - 0.01 <= float(row[4]) <= hi + 0.01


def test_paired_range_divides_round_by_round(bench_core):
    # seconds per call: round 0 torch 2x slower, round 1 1.5x; not min(torch) / max(ours)
    assert bench_core.paired_range([1.0, 2.0], [2.0, 3.0]) == "1.50-2.00"


def test_blas_floor_makes_the_steps_products(bench_core):
    floor = bench_core.BlasFloor("gru", 8)
    floor.step()
    h2d = floor.h[1:].reshape(-1, 8)
    np.testing.assert_allclose(floor.dW_hy, h2d.T @ floor.logits, rtol=1e-5)
    assert floor.logits.shape == (bench_core.T * bench_core.N, bench_core.V)
    assert floor.dW_hh.shape == (3, 8, 8)


def test_bare_rnn_step_computes_skrnns_loss_and_gradients(bench_core):
    # The "bare" column compares skrnn with this hand-written step: it must do the same work.
    from skrnn._core.losses import softmax_cross_entropy
    from skrnn._core.network import backward, forward

    bare, ours = bench_core.BareRNNStep(16), bench_core.SkrnnTrainer("rnn", 16)
    loss, grads = bare.gradients()
    logits, _, cache = forward(ours.params, ours.spec, ours.X, ours.lengths)
    expected_loss, dlogits = softmax_cross_entropy(logits, ours.Y_tm)
    expected = backward(ours.params, dlogits, cache)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    assert grads.keys() == expected.keys()
    for name, g in expected.items():
        np.testing.assert_allclose(grads[name], g, rtol=1e-3, atol=1e-6, err_msg=name)


def test_bench_long_sequences_compares_the_same_fit_flushed_and_not(capsys):
    bench = load_script("bench_long_sequences")
    args = ["--cells", "rnn", "--length", "30", "--series", "8", "--max-iter", "1", "--repeats", "1"]
    assert bench.main(args) == 0
    out = capsys.readouterr().out
    assert denormals.ENABLED  # the script turns flushing back on
    if not denormals.supported():
        assert "not supported" in out
        return
    rows = [line.split() for line in out.splitlines() if line.startswith("rnn")]
    assert len(rows) == 1
    assert float(rows[0][1]) > 0 and float(rows[0][2]) > 0  # both fit times
    assert rows[0][4] == "yes"  # flushing changed nothing but the time


def test_bench_text_classification_fits_a_fold_with_or_without_flushing():
    bench = load_script("bench_text_classification")
    texts = ["good film", "bad film", "great plot", "awful plot"] * 5
    y = np.array([1, 0, 1, 0] * 5)
    make = partial(RNNSequenceClassifier, hidden_size=4, max_iter=2, random_state=0)
    train, test = np.arange(16), np.arange(16, 20)
    flushed, _ = bench.fit_and_score(make, texts, y, train, test)
    ieee, _ = bench.fit_and_score(make, texts, y, train, test, flush=False)
    assert flushed == ieee
    assert denormals.ENABLED  # a worker's next fold flushes again
