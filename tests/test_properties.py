"""Property-based tests (hypothesis), numerical care and determinism of the estimators.

Each model is fitted once per module, tiny and in float64 unless the test is
about float32, so that equalities between batchings hold to rounding. The
tokenizer round trips live in test_tokenizers.py.
"""

import copy
import hashlib
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from skrnn import RNNCharGenerator, RNNSequenceClassifier
from skrnn._classifier import _predict
from skrnn._sequences import read_sequences

PROPERTY = settings(max_examples=25, deadline=None, derandomize=True)
VOCABULARY = 12  # token ids 1..11 at fit
NAMES = ["anna", "emma", "olivia", "ava", "mia", "luna", "sofia", "aria", "ella", "mila", "noah", "liam"]


def quietly(fit, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(*args, **kwargs)


def token_data(n=40, seed=0):
    """Ragged lists of ids in 1..11; the label says whether id 2 occurs."""
    rng = np.random.default_rng(seed)
    X = [rng.integers(1, VOCABULARY, rng.integers(1, 9)).tolist() for _ in range(n)]
    return X, [int(2 in row) for row in X]


def numeric_data(n=40, seed=0):
    """Ragged (n_steps_i, 2) float sequences; the label is the sign of the first feature's sum."""
    rng = np.random.default_rng(seed)
    X = [rng.standard_normal((rng.integers(1, 9), 2)) for _ in range(n)]
    return X, [int(row[:, 0].sum() > 0) for row in X]


@pytest.fixture(scope="module")
def tokens_model():
    # Bidirectional with mean pooling: the reverse direction and the pool are
    # where padding would leak in.
    clf = RNNSequenceClassifier(hidden_size=6, cell="gru", bidirectional=True, pooling="mean", embedding_dim=4,
                                max_iter=2, dtype="float64", random_state=0)
    return quietly(clf.fit, *token_data())


@pytest.fixture(scope="module")
def numeric_model():
    clf = RNNSequenceClassifier(hidden_size=6, cell="lstm", bidirectional=True, pooling="last", max_iter=2,
                                dtype="float64", random_state=0)
    return quietly(clf.fit, *numeric_data())


@pytest.fixture(scope="module")
def generator():
    # One name per document, so that the end of a document is a common prediction.
    return quietly(RNNCharGenerator(hidden_size=8, max_iter=2, dtype="float64", random_state=0).fit, NAMES)


# ------------------------------------------------------------------- strategies

ID_ROWS = st.lists(st.lists(st.integers(1, VOCABULARY + 3), max_size=10), min_size=1, max_size=8)
STEP_COUNTS = st.lists(st.integers(0, 10), min_size=1, max_size=8)
SEEDS = st.integers(0, 2**32 - 1)


def padded(rows, extra):
    """Rows of ids right-padded with 0 to the longest row plus ``extra`` columns."""
    ids = np.zeros((len(rows), max(map(len, rows)) + extra), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    return ids


def logits_with_garbage_in_padding(model, X, garbage):
    """Logits of ``X``, and of the same batch with its padded positions overwritten by ``garbage``."""
    batch, lengths = read_sequences(model, X)
    batch = np.asarray(batch)  # padded, whatever form X was read into
    spec = model._spec(model.input_type_, model.n_inputs_, len(model.classes_))
    clean = _predict(model.weights_, spec, batch, lengths)
    padding = np.arange(batch.shape[1]) >= lengths[:, None]  # (N, T)
    dirty = batch.copy()
    dirty[padding] = garbage(dirty[padding].shape)
    return clean, _predict(model.weights_, spec, dirty, lengths)


# -------------------------------------------------- padded positions never matter


@PROPERTY
@given(rows=ID_ROWS, extra=st.integers(0, 5), seed=SEEDS)
def test_properties_token_padding_never_matters(tokens_model, rows, extra, seed):
    reference = tokens_model.predict_proba(padded(rows, 0))
    np.testing.assert_allclose(tokens_model.predict_proba(padded(rows, extra)), reference, rtol=1e-9, atol=1e-12)
    for i, row in enumerate(rows):  # each sequence alone, without padding
        alone = tokens_model.predict_proba(np.array([row], dtype=np.int64).reshape(1, len(row)))
        np.testing.assert_allclose(alone[0], reference[i], rtol=1e-9, atol=1e-12)
    rng = np.random.default_rng(seed)
    clean, dirty = logits_with_garbage_in_padding(
        tokens_model, padded(rows, extra), lambda shape: rng.integers(1, tokens_model.n_inputs_, shape)
    )
    np.testing.assert_array_equal(dirty, clean)


@PROPERTY
@given(steps=STEP_COUNTS, seed=SEEDS)
def test_properties_numeric_padding_never_matters(numeric_model, steps, seed):
    rng = np.random.default_rng(seed)
    X = [rng.standard_normal((n, 2)) for n in steps]
    together = numeric_model.predict_proba(X)
    for i, row in enumerate(X):
        np.testing.assert_allclose(numeric_model.predict_proba([row])[0], together[i], rtol=1e-9, atol=1e-12)
    clean, dirty = logits_with_garbage_in_padding(numeric_model, X, lambda shape: 10 * rng.standard_normal(shape))
    np.testing.assert_array_equal(dirty, clean)


# --------------------------------------------------------- distributions


def assert_distributions(model, X):
    proba, log_proba = model.predict_proba(X), model.predict_log_proba(X)
    assert proba.shape == log_proba.shape == (len(X), len(model.classes_))
    assert np.isfinite(log_proba).all() and (log_proba <= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.exp(log_proba), proba, rtol=1e-12)


@PROPERTY
@given(rows=ID_ROWS, steps=STEP_COUNTS, seed=SEEDS)
def test_properties_classifier_rows_are_distributions(tokens_model, numeric_model, rows, steps, seed):
    rng = np.random.default_rng(seed)
    assert_distributions(tokens_model, padded(rows, 0))
    assert_distributions(numeric_model, [3 * rng.standard_normal((n, 2)) for n in steps])


PREFIXES = st.lists(st.text(st.sampled_from(sorted(set("".join(NAMES)))), max_size=12), min_size=1, max_size=6)


@PROPERTY
@given(prefixes=PREFIXES)
def test_properties_generator_rows_are_distributions(generator, prefixes):
    assert_distributions(generator, prefixes)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("scale", [1e4, 1e8])
def test_properties_extreme_logits_give_finite_log_probabilities(tokens_model, generator, dtype, scale):
    X, _ = token_data(n=30, seed=1)
    models = []
    for model, inputs in ((tokens_model, padded(X, 0)), (generator, ["", "an", "olivia", "mi"])):
        confident = copy.deepcopy(model)
        confident.weights_ = {name: value.astype(dtype) for name, value in model.weights_.items()}
        confident.weights_["W_hy"] *= scale  # a very confident output layer: logits of 1e4 and more
        confident.weights_["b_y"] *= scale
        assert_distributions(confident, inputs)
        models.append(confident)
    assert np.ptp(models[0].predict_log_proba(padded(X, 0))) > 100  # the logits are extreme indeed
    text = models[1].generate("a", n_chars=20, random_state=0)
    assert set(text) <= set(models[1].classes_[1:])
    assert np.isfinite(models[1].score(NAMES[:3]))


# --------------------------------------------------------------- generation


@PROPERTY
@given(
    prompt=st.text(st.sampled_from(sorted(set("".join(NAMES)))), max_size=5),
    n_chars=st.integers(0, 25),
    temperature=st.sampled_from([0.0, 0.5, 1.0, 2.0]),
    top_k=st.none() | st.integers(1, 6),
    seed=SEEDS,
)
def test_properties_generate_yields_vocabulary_and_stops_only_at_the_end(generator, prompt, n_chars, temperature,
                                                                         top_k, seed):
    text = generator.generate(prompt, n_chars=n_chars, temperature=temperature, top_k=top_k, random_state=seed)
    assert set(text) <= set(generator.classes_[1:])
    assert len(text) <= n_chars
    assert "".join(generator.iter_generate(prompt, n_chars, temperature, top_k, seed)) == text
    greedy = temperature == 0 or top_k == 1
    if greedy:  # each character is the most likely continuation
        for i, char in enumerate(text):
            assert generator.predict([prompt + text[:i]])[0] == char
    if len(text) < n_chars:  # it stopped early: the end of the document was drawn, so it was admissible
        end = generator.predict_proba([prompt + text])[0]
        rank = int((end > end[0]).sum())  # classes more likely than the end
        assert rank == 0 if greedy else rank < (top_k or len(end))


# -------------------------------------------------------------- determinism


def classifier_digest(dtype):
    """SHA-256 of the weights and predicted probabilities of a small seeded fit."""
    X, y = numeric_data(n=30, seed=2)
    clf = quietly(RNNSequenceClassifier(hidden_size=5, cell="gru", max_iter=3, dtype=dtype, random_state=0).fit,
                  X, y)
    digest = hashlib.sha256()
    for name in sorted(clf.weights_):
        digest.update(clf.weights_[name].tobytes())
    digest.update(clf.predict_proba(X).tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_properties_classifier_is_bit_identical_within_and_across_processes(dtype):
    first = classifier_digest(dtype)
    # Another architecture in between: buffers reused across fits must not leak into the next one.
    X, y = token_data(n=20, seed=3)
    quietly(RNNSequenceClassifier(hidden_size=7, cell="lstm", max_iter=1, random_state=1).fit, X, y)
    assert classifier_digest(dtype) == first
    code = (
        f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r});"
        f"from test_properties import classifier_digest; print(classifier_digest({dtype!r}))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert other.strip() == first


def test_properties_generator_float64_is_bit_identical_within_a_process():
    def fit():
        return quietly(RNNCharGenerator(hidden_size=8, max_iter=1, dtype="float64", random_state=0).fit, NAMES)

    first = fit()
    quietly(RNNCharGenerator(hidden_size=5, cell="gru", max_iter=1, random_state=1).fit, "abcabd")
    again = fit()
    for name, value in first.weights_.items():
        np.testing.assert_array_equal(again.weights_[name], value)
    assert again.generate("a", 30, random_state=4) == first.generate("a", 30, random_state=4)
    np.testing.assert_array_equal(again.predict_proba(NAMES), first.predict_proba(NAMES))
