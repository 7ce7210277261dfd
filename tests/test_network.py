"""Finite-difference gradient checks and padding invariance of the whole network."""

import numpy as np
import pytest

from skrnn._core.losses import softmax_cross_entropy
from skrnn._core.network import NetworkSpec, backward, forward, init_params, scatter_rows, zero_state

V, D, H, C, T, N = 6, 3, 4, 3, 5, 4


def _batch(spec, rng, lengths):
    if spec.input_kind == "tokens":
        X = rng.integers(1, spec.n_inputs, size=(N, T))
    else:
        X = rng.standard_normal((N, T, spec.n_inputs))
    real = np.arange(T)[None, :] < lengths[:, None]
    if spec.input_kind == "tokens":
        X = np.where(real, X, 0)
    else:
        X = np.where(real[:, :, None], X, 0.0)
    if spec.pooling:
        y = rng.integers(0, spec.n_outputs, size=N)
        w = rng.uniform(0.5, 2.0, size=N)
    else:
        y = rng.integers(0, spec.n_outputs, size=(T, N))
        w = real.T * rng.uniform(0.5, 2.0, size=N)[None, :]
    return X, y, w


def _loss(params, spec, X, lengths, y, w, state0):
    logits, _, cache = forward(params, spec, X, lengths, state0)
    loss, dlogits = softmax_cross_entropy(logits, y, w)
    return loss, dlogits, cache


def _max_relative_error(params, spec, X, lengths, y, w, state0, eps=1e-6):
    """Max over parameters of ||analytic - numeric|| / (||analytic|| + ||numeric||)."""
    _, dlogits, cache = _loss(params, spec, X, lengths, y, w, state0)
    grads = backward(params, dlogits, cache)
    assert set(grads) == set(params)
    worst = {}
    for name, value in params.items():
        numeric = np.zeros_like(value)
        it = np.nditer(value, flags=["multi_index"])
        for _ in it:
            i = it.multi_index
            old = value[i]
            value[i] = old + eps
            plus = _loss(params, spec, X, lengths, y, w, state0)[0]
            value[i] = old - eps
            minus = _loss(params, spec, X, lengths, y, w, state0)[0]
            value[i] = old
            numeric[i] = (plus - minus) / (2 * eps)
        analytic = grads[name]
        assert analytic.shape == value.shape, name
        denom = np.linalg.norm(analytic) + np.linalg.norm(numeric)
        worst[name] = np.linalg.norm(analytic - numeric) / denom if denom > 0 else 0.0
    return worst


CONFIGS = {
    "tokens-last": dict(input_kind="tokens", pooling="last"),
    "tokens-mean": dict(input_kind="tokens", pooling="mean"),
    "tokens-max": dict(input_kind="tokens", pooling="max"),
    "tokens-many": dict(input_kind="tokens", pooling=None),
    "tokens-embedding": dict(input_kind="tokens", pooling="last", embedding_dim=3),
    "dense-last": dict(input_kind="dense", pooling="last"),
    "dense-many": dict(input_kind="dense", pooling=None),
    "two-layers": dict(input_kind="tokens", pooling="mean", num_layers=2),
    "two-layers-many": dict(input_kind="dense", pooling=None, num_layers=2),
}


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_network_grad_matches_finite_differences(cell, config):
    kwargs = CONFIGS[config]
    n_inputs = V if kwargs["input_kind"] == "tokens" else D
    n_outputs = V if kwargs["pooling"] is None else C
    spec = NetworkSpec(n_inputs=n_inputs, n_outputs=n_outputs, hidden_size=H, cell=cell, **kwargs)
    rng = np.random.default_rng(0)
    params = init_params(spec, rng, np.float64)
    for v in params.values():  # non-zero biases exercise every bias path
        v += rng.normal(scale=0.1, size=v.shape)
    lengths = np.array([3, 5, 0, 2])  # ragged, unsorted, one empty sequence
    X, y, w = _batch(spec, rng, lengths)
    worst = _max_relative_error(params, spec, X, lengths, y, w, None)
    assert max(worst.values()) <= 1e-6, worst


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_network_grad_bidirectional(cell, pooling):
    spec = NetworkSpec(n_inputs=V, n_outputs=C, hidden_size=H, cell=cell, pooling=pooling,
                       bidirectional=True, num_layers=2)
    rng = np.random.default_rng(1)
    params = init_params(spec, rng, np.float64)
    lengths = np.array([2, 5, 1, 4])
    X, y, w = _batch(spec, rng, lengths)
    worst = _max_relative_error(params, spec, X, lengths, y, w, None)
    assert max(worst.values()) <= 1e-6, worst


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_network_grad_with_carried_state(cell):
    """Truncated BPTT: a non-zero state from the previous chunk enters the loss."""
    spec = NetworkSpec(n_inputs=V, n_outputs=V, hidden_size=H, cell=cell, num_layers=2)
    rng = np.random.default_rng(2)
    params = init_params(spec, rng, np.float64)
    lengths = np.full(N, T)
    X, y, w = _batch(spec, rng, lengths)
    state0 = [tuple(rng.standard_normal((N, H)) * 0.5 for _ in st) for st in zero_state(spec, N, np.float64)]
    worst = _max_relative_error(params, spec, X, lengths, y, w, state0)
    assert max(worst.values()) <= 1e-6, worst


def test_network_carried_state_equals_one_long_pass():
    """Two chunks with the state carried across give the outputs of one pass."""
    spec = NetworkSpec(n_inputs=V, n_outputs=V, hidden_size=H, cell="lstm", num_layers=2)
    rng = np.random.default_rng(3)
    params = init_params(spec, rng, np.float64)
    X = rng.integers(1, V, size=(N, 2 * T))
    full, _, _ = forward(params, spec, X, np.full(N, 2 * T))
    first, states, _ = forward(params, spec, X[:, :T], np.full(N, T))
    second, _, _ = forward(params, spec, X[:, T:], np.full(N, T), states)
    np.testing.assert_allclose(np.concatenate([first, second]), full, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("pooling", ["last", "mean", "max", None])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_network_padding_never_matters(cell, pooling, bidirectional):
    """Values at padded positions change neither the loss nor any gradient."""
    if pooling is None and bidirectional:
        pytest.skip("per-step outputs of a bidirectional layer are not a language model")
    n_outputs = V if pooling is None else C
    spec = NetworkSpec(n_inputs=D, n_outputs=n_outputs, hidden_size=H, cell=cell, pooling=pooling,
                       input_kind="dense", num_layers=2, bidirectional=bidirectional)
    rng = np.random.default_rng(4)
    params = init_params(spec, rng, np.float64)
    lengths = np.array([3, 5, 0, 2])
    X, y, w = _batch(spec, rng, lengths)
    padded = np.arange(T)[None, :] >= lengths[:, None]
    X_noisy = X.copy()
    X_noisy[padded] = rng.standard_normal((padded.sum(), D)) * 100
    if pooling is None:  # targets at padded steps are ignored too
        y_noisy = np.where(padded.T, (y + 1) % n_outputs, y)
    else:
        y_noisy = y
    results = []
    for inputs, targets in ((X, y), (X_noisy, y_noisy)):
        loss, dlogits, cache = _loss(params, spec, inputs, lengths, targets, w, None)
        results.append((loss, backward(params, dlogits, cache)))
    assert results[0][0] == results[1][0]
    for name in params:
        np.testing.assert_array_equal(results[0][1][name], results[1][1][name], err_msg=name)


def test_network_row_order_does_not_matter():
    spec = NetworkSpec(n_inputs=V, n_outputs=C, hidden_size=H, pooling="last")
    rng = np.random.default_rng(5)
    params = init_params(spec, rng, np.float64)
    lengths = np.array([3, 5, 1, 2])
    X, _, _ = _batch(spec, rng, lengths)
    perm = np.array([2, 0, 3, 1])
    logits, _, _ = forward(params, spec, X, lengths)
    logits_perm, _, _ = forward(params, spec, X[perm], lengths[perm])
    np.testing.assert_allclose(logits_perm, logits[perm], rtol=1e-12)


def test_network_float32_by_default():
    spec = NetworkSpec(n_inputs=V, n_outputs=C, hidden_size=H, pooling="mean")
    params = init_params(spec, np.random.default_rng(0))
    assert all(v.dtype == np.float32 for v in params.values())
    X = np.ones((2, 3), dtype=np.int64)
    logits, _, cache = forward(params, spec, X, np.array([3, 2]))
    assert logits.dtype == np.float32
    _, dlogits = softmax_cross_entropy(logits, np.array([0, 1]))
    assert all(g.dtype == np.float32 for g in backward(params, dlogits, cache).values())


def test_scatter_rows_sums_rows_by_id():
    ids = np.array([2, 0, 2, 1])
    values = np.arange(8.0).reshape(4, 2)
    expected = np.zeros((4, 2))
    np.add.at(expected, ids, values)
    np.testing.assert_array_equal(scatter_rows(ids, values, 4), expected)
