"""The shared training loop: divergence, interruption, resumption, determinism."""

import copy
import os
import signal
import subprocess
import sys
import threading
import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

import skrnn._classifier as classifier_module
import skrnn._generator as generator_module
import skrnn._training as training_module
from skrnn import RNNCharGenerator, RNNSequenceClassifier
from skrnn._core.losses import softmax_cross_entropy
from skrnn._core.network import NetworkSpec, backward, forward, init_params
from skrnn._core.optimizers import Adam
from skrnn._core.recurrent import BUFFERS
from skrnn._training import train_step

TEXT = "the quick brown fox jumps over the lazy dog. " * 20


def _fit_quietly(model, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)


def test_training_divergence_stops_with_finite_weights_and_advice():
    model = RNNCharGenerator(hidden_size=16, solver="sgd", learning_rate=1e8, clip_norm=None, random_state=0)
    # in its first epoch: the warning must not speak of a finite epoch restored (a search would rank the
    # untrained model as any other)
    with pytest.warns(RuntimeWarning, match=r"diverged in epoch 1 .*no epoch finished, so the model keeps the "
                      r"weights it started from \(untrained.*smaller learning_rate.*clip_norm"):
        model.fit(TEXT)
    assert all(np.isfinite(w).all() for w in model.weights_.values())
    proba = model.predict_proba(["the qu"])
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(), 1, atol=1e-6)


def test_training_divergence_restores_the_last_good_epoch():
    calls = {"n": 0}
    original = generator_module.train_step

    def poisoned(params, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 60:  # in the second epoch (50 updates each)
            params["W_hy"][0, 0] = np.nan
        return original(params, *args, **kwargs)

    reference = _fit_quietly(RNNCharGenerator(hidden_size=8, max_iter=1, random_state=0), TEXT)
    generator_module.train_step = poisoned
    try:
        model = RNNCharGenerator(hidden_size=8, max_iter=3, tol=0, random_state=0)
        with pytest.warns(RuntimeWarning, match="diverged in epoch 2 .*the weights of the last finite epoch were restored"):
            model.fit(TEXT)
    finally:
        generator_module.train_step = original
    assert model.n_iter_ == 1
    for name, value in reference.weights_.items():
        np.testing.assert_array_equal(model.weights_[name], value)


def test_training_interrupt_stops_after_the_current_batch(capsys):
    calls = {"n": 0}
    original = generator_module.train_step

    def interrupting(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 70:
            signal.raise_signal(signal.SIGINT)  # as Ctrl-C would, mid-epoch
        return original(*args, **kwargs)

    generator_module.train_step = interrupting
    try:
        model = RNNCharGenerator(hidden_size=8, max_iter=10, tol=0, verbose=1, random_state=0)
        with pytest.warns(UserWarning, match="interrupted in epoch 2.*ready to use"):
            model.fit(TEXT)
    finally:
        generator_module.train_step = original
    assert calls["n"] == 70  # the batch that was running finished, and no other started
    epochs = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch")]
    assert epochs[0].startswith("Epoch 1: loss") and epochs[1].startswith("Epoch 2 (interrupted): loss")
    assert model.n_iter_ == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert len(model.generate("the", 5, random_state=0)) == 5


def test_training_second_interrupt_aborts_the_fit(capsys):
    # One Ctrl-C per fit was always absorbed: a model search or a loop of fits could not be stopped.
    model = _fit_quietly(RNNCharGenerator(hidden_size=8, max_iter=1, random_state=0), TEXT)
    before = {k: v.copy() for k, v in model.weights_.items()}
    classes = model.classes_.copy()
    calls = {"n": 0}
    original = generator_module.train_step

    def interrupting_twice(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 20:
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
        return original(*args, **kwargs)

    generator_module.train_step = interrupting_twice
    try:
        with pytest.raises(KeyboardInterrupt, match="aborted by a second Ctrl-C"):
            model.set_params(max_iter=3).fit(TEXT.upper())  # other characters: fit would change classes_
    finally:
        generator_module.train_step = original
    assert calls["n"] == 20  # the batch that was running finished
    assert "RNNCharGenerator: stopping after this minibatch (Ctrl-C again: fit raises" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert model.n_iter_ == 1  # the fit kept nothing: the previous one's model is intact
    np.testing.assert_array_equal(model.classes_, classes)
    for name, value in before.items():
        np.testing.assert_array_equal(model.weights_[name], value)


def test_training_warm_start_in_two_parts_equals_one_fit():
    settings = dict(hidden_size=16, tol=0, n_iter_no_change=100, random_state=0)
    whole = _fit_quietly(RNNCharGenerator(max_iter=10, **settings), TEXT)
    halves = RNNCharGenerator(max_iter=5, warm_start=True, **settings)
    _fit_quietly(halves, TEXT)
    _fit_quietly(halves, TEXT)
    assert halves.loss_curve_ == whole.loss_curve_
    for name, value in whole.weights_.items():
        np.testing.assert_array_equal(halves.weights_[name], value)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_is_bit_identical_across_processes(dtype):
    code = (
        "import warnings, hashlib; warnings.simplefilter('ignore');"
        "from skrnn import RNNCharGenerator;"
        f"m = RNNCharGenerator(hidden_size=16, max_iter=2, dtype={dtype!r}, random_state=0).fit({TEXT!r});"
        "h = hashlib.sha256();"
        "[h.update(m.weights_[k].tobytes()) for k in sorted(m.weights_)];"
        "print(h.hexdigest())"
    )
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
               for _ in range(2)}
    assert len(digests) == 1


def test_training_warnings_point_at_the_callers_line():
    with pytest.warns(Warning) as record:
        RNNCharGenerator(hidden_size=4, max_iter=1, random_state=0).fit("hello world")
    assert [w.filename for w in record] == [__file__]


def test_training_warnings_inside_a_search_point_at_the_callers_line():
    # under GridSearchCV a fit runs inside joblib's Parallel: warnings pointed at joblib/parallel.py
    search = GridSearchCV(RNNCharGenerator(hidden_size=4, max_iter=1, random_state=0), {"hidden_size": [4]}, cv=2)
    with pytest.warns(Warning) as record:
        search.fit(["anna", "bob", "clara", "dave"] * 3)
    assert {w.filename for w in record} == {__file__}


def test_training_warnings_in_a_worker_point_at_skrnn_not_the_thread_start():
    # In a worker (joblib's threads or processes) no caller is user code: the warning pointed at the
    # standard library's threading.py or multiprocessing/process.py; now at the estimator's own fit.
    model = RNNCharGenerator(hidden_size=4, max_iter=1, random_state=0)
    with pytest.warns(Warning) as record:
        worker = threading.Thread(target=model.fit, args=("hello world",))
        worker.start()
        worker.join()
    assert record and {os.path.dirname(w.filename) for w in record} == {os.path.dirname(generator_module.__file__)}


# ---------------------------------------------- the same faults, for the classifier

WORDS = ["good", "great", "fine", "bad", "awful", "poor"] * 5
POLARITY = [1, 1, 1, 0, 0, 0] * 5


def test_training_classifier_divergence_never_predicts_nan():
    clf = RNNSequenceClassifier(hidden_size=8, solver="sgd", learning_rate=1e8, clip_norm=None, max_iter=5,
                                random_state=0)
    with pytest.warns(RuntimeWarning, match=r"diverged.*smaller learning_rate.*clip_norm"):
        clf.fit(WORDS, POLARITY)
    assert all(np.isfinite(w).all() for w in clf.weights_.values())
    proba = clf.predict_proba(WORDS)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-6)


@pytest.mark.parametrize("early_stopping, kept", [(False, "weights of the last update"), (True, "best weights so far")])
def test_training_classifier_interrupt_keeps_a_usable_model(early_stopping, kept):
    calls = {"n": 0}
    original = classifier_module.train_step

    def interrupting(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:  # the first batch of epoch 3 (2 batches per epoch)
            signal.raise_signal(signal.SIGINT)
        return original(*args, **kwargs)

    classifier_module.train_step = interrupting
    try:
        clf = RNNSequenceClassifier(
            hidden_size=8, batch_size=16, max_iter=10, tol=0, early_stopping=early_stopping, random_state=0
        )
        with pytest.warns(UserWarning, match=f"interrupted in epoch 3.*keeps the {kept}.*ready to use"):
            clf.fit(WORDS, POLARITY)
    finally:
        classifier_module.train_step = original
    assert calls["n"] == 5
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    np.testing.assert_allclose(clf.predict_proba(WORDS).sum(axis=1), 1, atol=1e-6)


def test_training_classifier_warm_start_in_two_parts_equals_one_fit():
    settings = dict(hidden_size=8, batch_size=8, tol=0, n_iter_no_change=100, random_state=0)
    whole = _fit_quietly(RNNSequenceClassifier(max_iter=10, **settings), WORDS, POLARITY)
    halves = RNNSequenceClassifier(max_iter=5, warm_start=True, **settings)
    _fit_quietly(halves, WORDS, POLARITY)
    _fit_quietly(halves, WORDS, POLARITY)
    assert halves.loss_curve_ == whole.loss_curve_
    for name, value in whole.weights_.items():
        np.testing.assert_array_equal(halves.weights_[name], value)


@pytest.mark.parametrize(
    "make, X, y",
    [
        (lambda: RNNSequenceClassifier(hidden_size=4, batch_size=8), WORDS, POLARITY),
        (lambda: RNNCharGenerator(hidden_size=4), [TEXT[i : i + 9] for i in range(30)], None),  # all different
    ],
    ids=["classifier", "generator"],
)
def test_training_warm_start_keeps_the_early_stopping_split(monkeypatch, make, X, y):
    # The split's seed came from the resumed random stream, so each warm fit held out other rows and
    # validated on what the fits before it had trained on.
    splits = []
    model = make().set_params(max_iter=1, early_stopping=True, validation_fraction=0.2, warm_start=True,
                              random_state=0)
    split = type(model)._split
    monkeypatch.setattr(type(model), "_split", lambda self, *args: splits.append(split(self, *args)) or splits[-1])
    for _ in range(3):
        _fit_quietly(model, X, y)
    held_out = [sorted(map(str, validation)) for _, validation in splits]
    assert held_out[0] == held_out[1] == held_out[2]
    assert not set(map(str, splits[0][0])) & set(held_out[0])
    _fit_quietly(model.set_params(warm_start=False), X, y)  # a fresh fit draws again from random_state: the same
    assert sorted(map(str, splits[-1][1])) == held_out[0]


def test_training_step_updates_on_one_blas_thread_whatever_the_loop_uses():
    # The solvers' axpy calls run on scipy's OpenBLAS and the products on numpy's: with
    # several threads each, the two pools' spinning workers took the cores from each
    # other (a generator fit at H=256 ran 4-5x slower than on one thread).
    from threadpoolctl import threadpool_limits

    from skrnn._core.network import NetworkSpec, init_params
    from skrnn._core.optimizers import Adam
    from skrnn._core.recurrent import _blas_libraries, loop_threads
    from skrnn._training import train_step

    threads = lambda: [lib.get_num_threads() for lib in _blas_libraries()]  # noqa: E731
    seen = {}

    class Recording(Adam):
        def step(self, grads):
            seen["update"] = threads()
            super().step(grads)

    spec = NetworkSpec(n_inputs=5, n_outputs=5, hidden_size=256)
    params = init_params(spec, np.random.default_rng(0), np.float32)
    X = np.random.default_rng(1).integers(1, 5, size=(32, 3))
    with threadpool_limits(2):
        if loop_threads(32, 256) < 2:
            pytest.skip("this machine's BLAS runs on one thread")
        before = threads()
        train_step(params, spec, Recording(params), X, np.full(32, 3), X.T.copy())
        assert seen["update"] == [1] * len(before)
        assert threads() == before


def test_training_early_stopping_carries_on_across_warm_fits():
    # One epoch per fit (a time budget, as the demo trains): the best weights and the
    # no-improvement count carry on from fit to fit, as MLPClassifier's do, so that
    # best_validation_score_ is always the score of the weights the model holds.
    text = open(__file__).read()[:12_000]
    model = RNNCharGenerator(hidden_size=32, learning_rate=0.03, early_stopping=True, n_iter_no_change=50,
                             max_iter=1, warm_start=True, random_state=0)
    tail = text[int(round(len(text) * 0.9)):]  # the validation data: the text's last validation_fraction
    best, worse = -np.inf, 0
    for _ in range(8):
        _fit_quietly(model, text)
        assert model.best_validation_score_ >= best
        assert model.score([tail]) == pytest.approx(model.best_validation_score_, abs=1e-6)
        worse = 0 if model.best_validation_score_ > best else worse + 1
        assert model._no_improvement_count == worse
        best = model.best_validation_score_
    assert len(model.validation_scores_) == 8 and min(model.validation_scores_) < best  # some epoch was worse


def test_training_warm_fit_interrupted_while_scoring_its_start_keeps_the_model():
    # a warm fit with early stopping scores the weights it starts from before epoch 1: a Ctrl-C there
    # stops it as anywhere else (it escaped as KeyboardInterrupt), and the count carried on is kept
    text = open(__file__).read()[:6_000]
    model = RNNCharGenerator(hidden_size=16, learning_rate=0.05, early_stopping=True, n_iter_no_change=50,
                             max_iter=6, warm_start=True, random_state=0)
    _fit_quietly(model, text)
    count, best, weights = model._no_improvement_count, model.best_validation_score_, copy.deepcopy(model.weights_)
    assert count > 0  # a learning rate this high gets worse on validation within 6 epochs
    original = RNNCharGenerator._mean_log_likelihood

    def interrupting(self, *args):
        signal.raise_signal(signal.SIGINT)
        return original(self, *args)

    RNNCharGenerator._mean_log_likelihood = interrupting
    try:
        with pytest.warns(UserWarning, match="interrupted in epoch 1"):
            model.fit(text)
    finally:
        RNNCharGenerator._mean_log_likelihood = original
    assert (model._no_improvement_count, model.best_validation_score_) == (count, best)
    for name, value in weights.items():
        np.testing.assert_array_equal(model.weights_[name], value)


# -- minibatches with a few very long rows: run in length groups ------------------------------------


def _ragged_batch(rng, lengths, n_inputs=12):
    lengths = np.asarray(lengths)
    X = rng.integers(2, n_inputs, size=(len(lengths), int(lengths.max())))
    X[np.arange(X.shape[1])[None, :] >= lengths[:, None]] = 0
    return X, lengths


@pytest.mark.parametrize("lengths", [[5, 300, 7, 0, 9, 3, 6, 8], [40, 300, 290, 1, 2, 3], [300, 1, 1, 1, 1, 1, 1]])
def test_length_groups_cover_each_row_once_with_at_most_twice_the_padding(monkeypatch, lengths):
    monkeypatch.setattr(training_module, "GROUP_CELLS", 1)
    lengths = np.array(lengths)
    groups = training_module.length_groups(lengths, hidden_size=8)
    assert len(groups) > 1
    assert sorted(np.concatenate(groups).tolist()) == list(range(len(lengths)))
    for rows in groups:
        assert len(rows) == 1 or len(rows) * lengths[rows].max() <= 2 * lengths[rows].sum()


def test_length_groups_leave_small_or_evenly_long_batches_whole():
    ragged = np.array([3000] + [10] * 15)
    assert training_module.length_groups(ragged, hidden_size=8) is None  # 16 * 3000 * 8 cells: padding is cheap
    assert training_module.length_groups(ragged, hidden_size=64) is not None
    assert training_module.length_groups(np.full(16, 3000), hidden_size=64) is None  # no padding to save
    assert training_module.length_groups(ragged, hidden_size=64, weights=np.zeros(16)) is None


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_grouped_gradients_equal_the_whole_batch(monkeypatch, cell, bidirectional, pooling):
    monkeypatch.setattr(training_module, "GROUP_CELLS", 1)
    rng = np.random.default_rng(0)
    spec = NetworkSpec(n_inputs=12, n_outputs=3, hidden_size=6, cell=cell, pooling=pooling,
                       bidirectional=bidirectional, num_layers=2, embedding_dim=5)
    params = init_params(spec, np.random.default_rng(1), np.float64)
    X, lengths = _ragged_batch(rng, [5, 90, 7, 0, 9, 3, 6, 8])
    y, w = rng.integers(0, 3, len(lengths)), rng.random(len(lengths))
    logits, _, cache = forward(params, spec, X, lengths)
    loss, dlogits = softmax_cross_entropy(logits, y, w)
    whole = backward(params, dlogits, cache)
    groups = training_module.length_groups(lengths, spec.hidden_size, w)
    assert len(groups) > 1
    grouped_loss, grouped = training_module._grouped_gradients(params, spec, X, lengths, y, w, groups, 0.0, None)
    assert grouped_loss == pytest.approx(loss, rel=1e-12)
    assert grouped.keys() == whole.keys()
    for name in whole:
        np.testing.assert_allclose(grouped[name], whole[name], rtol=1e-10, atol=1e-14, err_msg=name)


def test_train_step_on_one_long_row_among_short_ones_needs_the_memory_of_its_steps_only(monkeypatch):
    # One row of 2,000 steps among 15 of 20: the whole batch's workspace spans 16 x 2,000 steps.
    monkeypatch.setattr(training_module, "GROUP_CELLS", 1)  # as for a larger batch or hidden size
    rng = np.random.default_rng(0)
    spec = NetworkSpec(n_inputs=12, n_outputs=2, hidden_size=16, cell="gru", pooling="max", bidirectional=True)
    X, lengths = _ragged_batch(rng, [2_000] + [20] * 15)
    y, w = rng.integers(0, 2, 16), np.ones(16)

    def step():
        params = init_params(spec, np.random.default_rng(1), np.float32)
        optimizer = Adam(params, learning_rate=1e-2)
        BUFFERS.clear()
        tracemalloc.start()
        loss, _ = train_step(params, spec, optimizer, X, lengths, y, w)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        BUFFERS.clear()
        return loss, params, peak

    loss, params, peak = step()
    monkeypatch.setattr(training_module, "GROUP_CELLS", np.inf)  # the batch run whole
    whole_loss, whole_params, whole_peak = step()
    assert loss == pytest.approx(whole_loss, rel=1e-6)
    for name in params:
        np.testing.assert_allclose(params[name], whole_params[name], rtol=1e-4, atol=1e-6, err_msg=name)
    assert peak < whole_peak / 4, (peak, whole_peak)
