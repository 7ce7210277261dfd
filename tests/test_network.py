"""Finite-difference gradient checks and padding invariance of the whole network."""

import os
import sys

import numpy as np
import pytest

from skrnn._core.losses import softmax_cross_entropy
from skrnn._core.network import (
    NetworkSpec,
    TokenStepper,
    backward,
    forward,
    init_params,
    pooled_forward,
    scatter_rows,
    zero_state,
)

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
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("inputs", ["tokens", "embedding", "dense"])
def test_network_pooled_forward_in_chunks_equals_forward(cell, pooling, bidirectional, inputs):
    """Prediction's forward, which reads time in chunks with the state carried, gives
    forward's logits and pooled representations whatever the chunk length."""
    spec = NetworkSpec(n_inputs=D if inputs == "dense" else V, n_outputs=C, hidden_size=H, cell=cell,
                       input_kind="dense" if inputs == "dense" else "tokens", num_layers=2,
                       embedding_dim=3 if inputs == "embedding" else None, pooling=pooling,
                       bidirectional=bidirectional)
    rng = np.random.default_rng(6)
    params = init_params(spec, rng, np.float64)
    lengths = np.array([2, 5, 0, 3])  # unsorted, one empty
    X, _, _ = _batch(spec, rng, lengths)
    logits, _, cache = forward(params, spec, X, lengths)
    rep = cache["rep"][np.argsort(cache["order"])]
    for max_steps in (1, 2, 3, T):
        chunked_logits, chunked_rep = pooled_forward(params, spec, X, lengths, max_steps)
        np.testing.assert_allclose(chunked_logits, logits, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(chunked_rep, rep, rtol=1e-12, atol=1e-14)
    assert np.all(chunked_rep[2] == 0)  # a sequence with no steps pools to zeros


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


@pytest.mark.parametrize("bidirectional", [False, True])
def test_network_max_pooling_reads_only_real_steps(bidirectional):
    """A row's max-pooled vector is its maximum over its own steps, as when it runs alone:
    the zeros at padded steps never win over negative outputs."""
    spec = NetworkSpec(n_inputs=D, n_outputs=C, hidden_size=H, input_kind="dense", pooling="max",
                       bidirectional=bidirectional)
    rng = np.random.default_rng(7)
    params = init_params(spec, rng, np.float64)
    lengths = np.array([5, 3, 2, 1])
    X, _, _ = _batch(spec, rng, lengths)
    _, _, cache = forward(params, spec, X, lengths)
    for i, length in enumerate(lengths):
        _, _, alone = forward(params, spec, X[i : i + 1, :length], lengths[i : i + 1])
        np.testing.assert_allclose(cache["rep"][i], alone["rep"][0], rtol=1e-12)
    assert (cache["rep"][lengths < T] < 0).any()  # the case that padding would get wrong


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


def test_network_grad_large_vocabulary():
    """A vocabulary larger than T*N reads W_xh column blocks instead of a (W_xh + b) table."""
    for cell in ("rnn", "gru", "lstm"):
        spec = NetworkSpec(n_inputs=T * N + 3, n_outputs=C, hidden_size=H, cell=cell, pooling="last")
        rng = np.random.default_rng(6)
        params = init_params(spec, rng, np.float64)
        for v in params.values():
            v += rng.normal(scale=0.1, size=v.shape)
        lengths = np.array([3, 5, 0, 2])
        X, y, w = _batch(spec, rng, lengths)
        worst = _max_relative_error(params, spec, X, lengths, y, w, None)
        assert max(worst.values()) <= 1e-6, (cell, worst)


def test_network_rejects_token_ids_out_of_range():
    spec = NetworkSpec(n_inputs=V, n_outputs=C, hidden_size=H, pooling="last")
    params = init_params(spec, np.random.default_rng(0))
    with pytest.raises(IndexError, match="token ids"):
        forward(params, spec, np.array([[1, V]]), np.array([2]))


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_network_cache_survives_interleaved_forwards(cell):
    """Workspaces are pooled, yet a held cache or logits array never changes."""
    spec = NetworkSpec(n_inputs=V, n_outputs=V, hidden_size=64, cell=cell)  # big enough to be pooled
    rng = np.random.default_rng(7)
    params = init_params(spec, rng, np.float64)
    X1, X2 = rng.integers(0, V, size=(2, 32, 16))
    lengths = np.full(32, 16)
    y = rng.integers(0, V, size=(16, 32))
    logits1, _, cache1 = forward(params, spec, X1, lengths)
    kept = logits1.copy()
    _, dlogits1 = softmax_cross_entropy(logits1, y)
    expected = {k: g.copy() for k, g in backward(params, dlogits1, forward(params, spec, X1, lengths)[2]).items()}
    for _ in range(3):  # other forwards and backwards, same shapes, while cache1 is alive
        logits2, _, cache2 = forward(params, spec, X2, lengths)
        backward(params, softmax_cross_entropy(logits2, y)[1], cache2)
    np.testing.assert_array_equal(logits1, kept)
    grads = backward(params, dlogits1, cache1)
    for name in params:
        np.testing.assert_array_equal(grads[name], expected[name], err_msg=name)


@pytest.mark.parametrize("borrowed", [0, 1, 2])
def test_buffer_pool_reuses_only_unreferenced_arrays(monkeypatch, borrowed):
    # ``borrowed``: references the interpreter does not count (CPython 3.14 loads local variables
    # as borrowed references), simulated here; the pool measures what a free buffer reads.
    from skrnn._core import recurrent
    from skrnn._core.recurrent import BufferPool

    def refcount(buf):
        return sys.getrefcount(buf) - borrowed

    monkeypatch.setattr(recurrent, "_refcount", refcount)
    monkeypatch.setattr(recurrent, "_FREE_REFCOUNT", recurrent._free_refcount())

    def address(a):
        return a.__array_interface__["data"][0]

    pool = BufferPool()
    a = pool.take((256, 256), np.float32)
    b = pool.take((256, 256), np.float32)
    assert not np.shares_memory(a, b)  # a is still referenced
    view = a[:10]
    freed = address(a)
    del a
    c = pool.take((256, 256), np.float32)
    assert not np.shares_memory(c, view)  # a view keeps its base busy
    del view
    d = pool.take((128, 255), np.float64)  # fits in the freed buffer: reused, any dtype
    assert d.shape == (128, 255) and d.dtype == np.float64
    assert address(d) == freed
    assert pool.nbytes == 3 * (256 * 256 * 4 + pool.line)  # a power of two is its own size class


def test_buffer_pool_reuses_a_buffer_for_a_slightly_larger_request():
    # Prediction's passes vary in size from one to the next: exact fits made ~100 buffers.
    from skrnn._core.recurrent import BufferPool, _size_class

    sizes = np.random.default_rng(0).integers(1, 2**30, size=1000)
    classes = np.array([_size_class(int(n)) for n in sizes])
    assert np.all(classes >= sizes) and np.all(classes <= sizes * 1.125)
    pool = BufferPool()
    a = pool.take((256, 260), np.float32)
    freed = a.__array_interface__["data"][0]
    del a
    b = pool.take((256, 280), np.float32)  # 8% larger, in the same size class
    assert b.__array_interface__["data"][0] == freed
    assert len(pool.buffers) == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_buffer_pool_places_arrays_at_the_offset_asked(dtype):
    # malloc aligns to 16 bytes only: where a copy of the weights began was chance, and it moved
    # the per-step products by up to 1.3x (recurrent.per_step_weights_offset).
    from skrnn._core.recurrent import BufferPool

    def offset(a):
        return a.__array_interface__["data"][0] % pool.line

    pool = BufferPool()
    first = [pool.take((64, 300 + k), dtype, 32) for k in range(4)]  # four new buffers
    assert [offset(a) for a in first] == [32] * 4
    first[1][...] = 1.0  # the whole array lies inside its buffer
    assert pool.nbytes == sum(b.nbytes for b in pool.buffers)
    del first
    again = [pool.take((64, 300), dtype, shift) for shift in (0, 8, 32, 56)]  # the same buffers again
    assert [offset(a) for a in again] == [0, 8, 32, 56] and len(pool.buffers) == 4
    assert offset(pool.take((64, 300), dtype)) == 0  # a new buffer: line-aligned unless asked


def test_per_step_weights_offset_moves_only_weights_beyond_l2():
    from skrnn._core.recurrent import per_step_weights_offset

    assert per_step_weights_offset(3 * 128 * 128 * 4) == 0  # GRU H=128: stays in L2, line-aligned
    assert per_step_weights_offset(512 * 512 * 4) == 0  # RNN H=512: 1 MiB
    assert per_step_weights_offset(3 * 512 * 512 * 4) == 32  # GRU H=512: half a line in


def test_buffer_pool_drops_idle_buffers():
    from skrnn._core.recurrent import BufferPool

    pool = BufferPool()
    pool.take((64, 1024), np.float32)  # freed at once, then never asked for again
    for _ in range(pool.max_idle + 1):
        pool.take((256, 256), np.float32)
    pool.take((512, 512), np.float32)  # a new buffer: idle ones go first
    assert pool.nbytes == (256 * 256 + 512 * 512) * 4 + 2 * pool.line


def test_buffer_pool_trim_keeps_busy_buffers_and_frees_the_rest():
    from skrnn._core.recurrent import BufferPool

    pool = BufferPool()
    busy = pool.take((2**16,), np.float32)  # 256 KiB, still referenced
    pool.take((2**18,), np.float32)  # 1 MiB, freed at once
    pool.take((2**20,), np.float32)  # 4 MiB, freed at once
    pool.keep_bytes = 2**18 + 2**22 + 2 * pool.line
    pool.trim()  # free buffers go, oldest first, down to keep_bytes; a busy one stays
    assert [b.nbytes - pool.line for b in pool.buffers] == [2**18, 2**22] and pool.nbytes == pool.keep_bytes
    assert np.shares_memory(busy, pool.buffers[0])


def language_model(cell, num_layers, embedding_dim, seed, dtype=np.float64):
    """(spec, params, tokens, logits, states): a token model with perturbed
    weights, 2T tokens, and forward's logits and final states on them."""
    spec = NetworkSpec(n_inputs=V, n_outputs=V, hidden_size=H, cell=cell, num_layers=num_layers,
                       embedding_dim=embedding_dim)
    rng = np.random.default_rng(seed)
    params = init_params(spec, rng, dtype)
    for v in params.values():
        v += rng.normal(scale=0.3, size=v.shape)
    tokens = rng.integers(0, V, size=2 * T)
    logits, states, _ = forward(params, spec, tokens[None], np.array([2 * T]))
    return spec, params, tokens, logits, states


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("num_layers, embedding_dim", [(1, None), (2, None), (2, 3)])
def test_token_stepper_equals_forward(cell, num_layers, embedding_dim):
    """The lean generation path (fused [W_hh | W_next] products, inference gate
    layout) gives forward's logits and states, and leaves the given state alone."""
    spec, params, tokens, logits, states = language_model(cell, num_layers, embedding_dim, seed=9)
    _, prompt_state, _ = forward(params, spec, tokens[None, :T], np.array([T]))
    kept = [tuple(s.copy() for s in st) for st in prompt_state]
    stepper = TokenStepper(params, spec, prompt_state)
    np.testing.assert_allclose(stepper.logits, logits[T - 1, 0], rtol=1e-10, atol=1e-12)
    for t in range(T, 2 * T):
        step = stepper.step(int(tokens[t]))
        assert step.shape == (V,)
        np.testing.assert_allclose(step, logits[t, 0], rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(stepper.state(), states):
        for a, b in zip(ours, theirs):
            assert a.shape == (1, H)
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    for a, b in zip(prompt_state, kept):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    fresh = TokenStepper(params, spec)  # state=None: zeros
    np.testing.assert_allclose(fresh.step(int(tokens[0])), logits[0, 0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_token_stepper_float32_equals_forward(cell):
    """In float32 (what generate runs), each step's logits and the state carried
    match forward's to float32 rounding. That rounding grows along the 2T steps
    (at most 1.6e-6 on these models over 30 seeds, the tanh RNN's largest), hence atol."""
    spec, params, tokens, logits, states = language_model(cell, 2, None, seed=0, dtype=np.float32)
    assert logits.dtype == np.float32
    stepper = TokenStepper(params, spec)
    for t in range(2 * T):
        out = stepper.step(int(tokens[t]))
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, logits[t, 0], rtol=1e-5, atol=1e-5)
    for ours, theirs in zip(stepper.state(), states):
        for a, b in zip(ours, theirs):
            assert a.dtype == np.float32
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs", [dict(bidirectional=True, pooling="last"), dict(input_kind="dense")],
                         ids=["bidirectional", "dense"])
def test_token_stepper_rejects_other_models(kwargs):
    spec = NetworkSpec(n_inputs=V, n_outputs=V, hidden_size=H, cell="gru", **kwargs)
    params = init_params(spec, np.random.default_rng(0), np.float32)
    with pytest.raises(ValueError, match="unidirectional"):
        TokenStepper(params, spec)


def test_blas_limit_caps_every_thread_until_the_last_block_ends():
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    from skrnn._core.recurrent import _blas_libraries, blas_limit

    libs = _blas_libraries()
    threads = lambda: [lib.get_num_threads() for lib in libs]  # noqa: E731
    with threadpool_limits(2):  # the caps below must show, whatever this machine's count
        before = threads()
        with blas_limit(1):  # the main thread sets a cap first (threadpoolctl then favours it)
            pass
        entered, leave = threading.Event(), threading.Event()

        def worker():
            with blas_limit(1):
                inside = threads()
                entered.set()
                leave.wait(timeout=60)
            return inside

        with ThreadPoolExecutor(1) as pool:
            seen = pool.submit(worker)
            entered.wait(timeout=60)
            try:
                with blas_limit(1):  # a block that ends while the worker's is still open
                    pass
                during = threads()
            finally:
                leave.set()
            inside = seen.result()
        assert all(n == 1 for n in inside)  # a worker thread's cap applies
        assert all(n == 1 for n in during)  # and holds until its block ends
        assert threads() == before


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
@pytest.mark.filterwarnings("ignore:.*fork:DeprecationWarning")  # Python 3.12+ warns of fork with threads
def test_blas_limit_cap_of_another_thread_is_lifted_in_a_forked_child():
    # A child forked while another thread is inside a block has no such thread: its cap held the
    # child's BLAS at one thread for good.
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    from skrnn._core import recurrent
    from skrnn._core.recurrent import _blas_libraries, blas_limit

    libs = _blas_libraries()
    with threadpool_limits(2):
        before = [lib.get_num_threads() for lib in libs]
        entered, leave = threading.Event(), threading.Event()

        def worker():
            with blas_limit(1):
                entered.set()
                leave.wait(timeout=60)

        with ThreadPoolExecutor(1) as pool:
            done = pool.submit(worker)
            entered.wait(timeout=60)
            try:
                read, write = os.pipe()
                pid = os.fork()
                if pid == 0:  # the child: report, then leave at once (no pytest teardown here)
                    state = (recurrent._OPEN, [lib.get_num_threads() for lib in libs])
                    os.write(write, repr(state).encode())
                    os._exit(0)
                os.close(write)
                with os.fdopen(read) as pipe:
                    child = pipe.read()
                os.waitpid(pid, 0)
            finally:
                leave.set()
            done.result()
    assert child == repr(([], before))


class _PerThreadBlas:
    """A BLAS whose thread count is per thread, as MKL's and OpenMP builds' are."""

    def __init__(self):
        import threading

        self.local = threading.local()

    def get_num_threads(self):
        return getattr(self.local, "n", 8)

    def set_num_threads(self, n):
        self.local.n = n


def test_blas_limit_caps_per_thread_libraries_in_each_thread(monkeypatch):
    import threading

    from skrnn._core import recurrent

    lib = _PerThreadBlas()
    monkeypatch.setattr(recurrent, "_BLAS_LIBRARIES", [lib])
    seen, entered, leave = {}, threading.Event(), threading.Event()

    def worker():
        with recurrent.blas_limit(1):
            seen["worker inside"] = lib.get_num_threads()
            entered.set()
            leave.wait(timeout=60)
        seen["worker after"] = lib.get_num_threads()

    thread = threading.Thread(target=worker)
    with recurrent.blas_limit(1):
        thread.start()
        entered.wait(timeout=60)
        seen["main inside"] = lib.get_num_threads()
    leave.set()
    thread.join(timeout=60)
    seen["main after"] = lib.get_num_threads()
    assert seen == {"worker inside": 1, "main inside": 1, "worker after": 8, "main after": 8}


def test_blas_limit_nests_and_restores():
    from skrnn._core.recurrent import _blas_libraries, blas_limit

    libs = _blas_libraries()
    threads = lambda: [lib.get_num_threads() for lib in libs]  # noqa: E731
    before = threads()
    with blas_limit(1):
        assert all(n == 1 for n in threads())
        with blas_limit(2):  # looser than the block it is in: the outer cap holds
            assert all(n == 1 for n in threads())
        assert all(n == 1 for n in threads())
    assert threads() == before
    with blas_limit(2):
        with blas_limit(1):  # tighter: applies, and the outer cap comes back after it
            assert all(n == 1 for n in threads())
        assert threads() == [min(n, 2) for n in before]
    assert threads() == before


def test_loop_threads_one_below_h256_however_many_rows():
    # prediction's batches are large: below H=256 a second thread gained 0.15 vs 0.18 s on an idle
    # machine and lost 2-10x with another process on the second core
    from threadpoolctl import threadpool_limits

    from skrnn._core.recurrent import _blas_libraries, loop_threads

    with threadpool_limits(2):
        assert loop_threads(4096, 128) == 1
        assert loop_threads(16, 256) == 1  # a small product
        allowed = min(lib.get_num_threads() for lib in _blas_libraries())
        assert loop_threads(32, 256) == allowed
