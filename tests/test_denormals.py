"""Subnormal floats flushed to zero inside the core, and only there."""

import threading

import numpy as np
import pytest

from skrnn._core import denormals, network
from skrnn._core.denormals import flush_denormals
from skrnn._core.network import NetworkSpec, backward, forward, init_params
from skrnn._core.optimizers import Adam
from skrnn._training import train_step

needs_flushing = pytest.mark.skipif(not denormals.supported(), reason="flushing works on x86-64 Linux only")


def subnormal_survives():
    """Half the smallest normal float32 (a subnormal) computed in this thread: nonzero?"""
    smallest = np.full(4, np.finfo(np.float32).tiny, dtype=np.float32)
    return bool((smallest * np.float32(0.5)).any())


@needs_flushing
def test_flush_denormals_flushes_inside_and_restores_after():
    assert subnormal_survives()
    with flush_denormals():
        assert not subnormal_survives()
        # denormals-are-zero: a subnormal operand reads as zero
        assert np.float32(1e-39) * np.float32(1e30) == 0
    assert subnormal_survives()
    assert np.float32(1e-39) * np.float32(1e30) > 0


@needs_flushing
def test_flush_denormals_inner_blocks_leave_the_outer_one_flushing():
    with flush_denormals():
        with flush_denormals():
            assert not subnormal_survives()
        assert not subnormal_survives()
    assert subnormal_survives()


@needs_flushing
def test_flush_denormals_restores_when_the_block_raises():
    with pytest.raises(KeyError), flush_denormals():
        raise KeyError("boom")
    assert subnormal_survives()


@needs_flushing
def test_flush_denormals_keeps_a_thread_that_already_flushed_flushing():
    functions = denormals._usable()
    before = denormals._set_bits(functions, denormals.FLUSH_BITS)  # as a user's own setting would
    try:
        with flush_denormals():
            pass
        assert not subnormal_survives()
    finally:
        denormals._set_bits(functions, before)


@needs_flushing
def test_flush_denormals_changes_only_the_calling_thread():
    # The thread starts outside the block: a new thread inherits its creator's setting.
    seen, go = [], threading.Event()

    def check():
        go.wait()
        seen.append(subnormal_survives())

    other = threading.Thread(target=check)
    other.start()
    with flush_denormals():
        go.set()
        other.join()
        assert not subnormal_survives()
    assert seen == [True]


@needs_flushing
def test_flush_denormals_first_uses_in_two_threads_both_flush(monkeypatch):
    # The first use probes the C library (tens of ms); a thread whose first use came meanwhile read
    # "unsupported" and ran unflushed. Now it waits for the probe: thread b arrives while a probes.
    class RecordingLock:
        def __init__(self):
            self.lock, self.entries, self.second = threading.Lock(), 0, threading.Event()

        def __enter__(self):
            self.entries += 1
            if self.entries == 2:
                self.second.set()
            self.lock.acquire()

        def __exit__(self, *exc):
            self.lock.release()

    lock, probing, find = RecordingLock(), threading.Event(), denormals._fenv_functions

    def slow_find():
        probing.set()
        lock.second.wait(timeout=10)  # until b has arrived (at once where b waits for the probe)
        return find()

    monkeypatch.setattr(denormals, "_FENV", None)
    monkeypatch.setattr(denormals, "_PROBE_LOCK", lock, raising=False)
    monkeypatch.setattr(denormals, "_fenv_functions", slow_find)
    seen = []

    def first_use():
        with flush_denormals():
            seen.append(subnormal_survives())

    a = threading.Thread(target=denormals._usable)
    a.start()
    probing.wait(timeout=10)
    b = threading.Thread(target=first_use)
    b.start()
    a.join()
    b.join()
    assert seen == [False]


@needs_flushing
def test_flush_denormals_leaves_the_thread_as_it_was_when_fegetenv_fails(monkeypatch):
    fegetenv, fesetenv = denormals._usable()
    calls = []

    def failing_once(env):
        calls.append(env)
        return -1 if len(calls) == 1 else fegetenv(env)

    monkeypatch.setattr(denormals, "_FENV", (failing_once, fesetenv))
    with pytest.raises(OSError, match="fegetenv"), flush_denormals():
        pass
    assert denormals._STATE.depth == 0
    assert subnormal_survives()


def test_flush_denormals_does_nothing_where_unsupported(monkeypatch):
    monkeypatch.setattr(denormals, "_FENV", False)
    assert not denormals.supported()
    with flush_denormals():
        assert subnormal_survives()


def test_flush_denormals_does_nothing_when_disabled(monkeypatch):
    monkeypatch.setattr(denormals, "ENABLED", False)
    with flush_denormals():
        assert subnormal_survives()


def _record_flushing(monkeypatch, module, name, seen):
    original = getattr(module, name)

    def recording(*args, **kwargs):
        seen.append((name, subnormal_survives()))
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, recording)


@needs_flushing
def test_network_forward_and_backward_run_with_subnormals_flushed(monkeypatch):
    # A long backward pass shrinks gradients into subnormals, which x86 computes
    # on many times slower: the time loops must run with them flushed.
    seen = []
    for name in ("layer_forward", "layer_backward"):
        _record_flushing(monkeypatch, network, name, seen)
    spec = NetworkSpec(n_inputs=3, n_outputs=2, hidden_size=4, input_kind="dense", pooling="last")
    rng = np.random.default_rng(0)
    params = init_params(spec, rng)
    X = rng.standard_normal((2, 5, 3)).astype(np.float32)
    logits, _, cache = forward(params, spec, X, np.array([5, 3]))
    backward(params, np.ones_like(logits), cache)
    assert seen == [("layer_forward", False), ("layer_backward", False)]
    assert subnormal_survives()


@needs_flushing
def test_train_step_updates_with_subnormals_flushed(monkeypatch):
    # Adam's first moment decays towards subnormals wherever a gradient stays zero.
    spec = NetworkSpec(n_inputs=5, n_outputs=5, hidden_size=4)
    params = init_params(spec, np.random.default_rng(0))
    optimizer = Adam(params)
    seen = []
    _record_flushing(monkeypatch, optimizer, "step", seen)
    X = np.array([[1, 2, 3], [4, 0, 0]])
    train_step(params, spec, optimizer, X, np.array([3, 1]), np.ones((3, 2), dtype=np.int64))
    assert seen == [("step", False)]
    assert subnormal_survives()
