"""RNNCharGenerator: the small tasks, sampling, scoring, model selection, persistence."""

import copy
import pickle
import re
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks

from skrnn import RNNCharGenerator

NAMES = ["anna", "emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn",
         "abigail", "emily", "ella", "elizabeth", "camila", "luna", "sofia", "avery", "mila", "aria"]


@pytest.fixture(scope="module")
def hello():
    return RNNCharGenerator(random_state=0).fit("hello")


@pytest.fixture(scope="module")
def names_model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return RNNCharGenerator(hidden_size=32, max_iter=15, random_state=0).fit(NAMES)


@pytest.mark.parametrize(
    "corpus, prompt, expected",
    [("hello", "h", "ello"), ("help!", "h", "elp!"), ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "ABCDEFG", "HIJK")],
)
def test_generator_learns_the_small_tasks_with_defaults(corpus, prompt, expected):
    model = RNNCharGenerator(random_state=0).fit(corpus)
    assert model.generate(prompt, 4, temperature=0) == expected


def test_generator_predicts_next_character(hello):
    np.testing.assert_array_equal(hello.predict(["hell", "h", "he"]), ["o", "e", "l"])


def test_generator_predict_proba_rows_are_distributions(hello):
    proba = hello.predict_proba(["", "hel", "hello"])
    assert proba.shape == (3, len(hello.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-6)
    assert hello.classes_[proba[2].argmax()] == ""  # after "hello" the document ends


def test_generator_classes_hold_end_symbol_first(hello):
    assert hello.classes_[0] == ""
    assert list(hello.classes_[1:]) == ["e", "h", "l", "o"]
    assert hello.vocabulary_ == {"e": 1, "h": 2, "l": 3, "o": 4}


def test_generator_stops_at_end_of_document(hello):
    assert hello.generate("", 50, temperature=0) == "hello"
    assert hello.generate("hello", 50, temperature=0) == ""


def test_generator_prompt_primes_the_state(hello):
    assert hello.generate("hel", 2, temperature=0) == "lo"
    assert hello.generate("hell", 2, temperature=0) == "o"


def test_generator_short_documents_end_by_themselves(names_model):
    samples = [names_model.generate(n_chars=100, random_state=i) for i in range(20)]
    assert all(len(s) < 100 for s in samples)
    assert all(set(s) <= set(names_model.classes_[1:]) for s in samples)


def test_generator_higher_temperature_is_more_diverse(names_model):
    """More distinct samples, and samples the model itself finds less likely.

    "Less likely" is per sample (its whole log-probability, end included): per
    character, this model of 20 names rates its T=0.3 and T=1 samples within
    a few hundredths of a nat of each other in expectation, below the noise of
    40 samples. Per sample, at T=0.3 and T=1 it mostly reproduces one of its
    20 names (about ln 20 = 3.0 nats each), and T=1 is less likely only
    through the odd new name, which 40 samples may not hold (3.040 against
    3.040 nats); 400 give 3.040 against 3.296 +- 0.073.
    """
    distinct, surprise = [], []
    for t in (0.3, 1.0, 2.0):
        samples = [names_model.generate(n_chars=30, temperature=t, random_state=i) for i in range(400)]
        distinct.append(len(set(samples)))
        surprise.append(np.mean([-names_model.score([s]) * (len(s) + 1) for s in samples]))
    assert distinct[0] < distinct[2] and distinct[0] <= distinct[1] <= distinct[2]
    assert surprise[0] < surprise[1] < surprise[2]


def test_generator_greedy_is_deterministic_and_top_k_one_is_greedy(names_model):
    greedy = names_model.generate("a", 20, temperature=0, random_state=1)
    assert greedy == names_model.generate("a", 20, temperature=0, random_state=2)
    assert names_model.generate("a", 20, temperature=1.5, top_k=1, random_state=3) == greedy


def test_generator_top_k_restricts_choices(hello):
    for seed in range(20):
        text = hello.generate("", 1, temperature=5.0, top_k=1, random_state=seed)
        assert text == "h"


def test_generator_same_seed_same_text(names_model):
    a = names_model.generate("e", 30, random_state=7)
    assert a == names_model.generate("e", 30, random_state=7)


def test_generator_iter_generate_yields_characters(names_model):
    chars = list(names_model.iter_generate("e", 10, random_state=7))
    assert all(isinstance(c, str) and len(c) == 1 for c in chars)
    assert "".join(chars) == names_model.generate("e", 10, random_state=7)


def test_generator_score_is_mean_log_likelihood():
    hello = RNNCharGenerator(max_iter=2, dtype="float64", random_state=0).fit("hello")
    proba = hello.predict_proba(["", "h", "he", "hel", "hell", "hello"])
    targets = [hello.vocabulary_[c] for c in "hello"] + [0]
    expected = np.mean(np.log(proba[np.arange(6), targets]))
    assert hello.score(["hello"]) == pytest.approx(expected, rel=1e-9)
    assert hello.perplexity(["hello"]) == pytest.approx(np.exp(-expected), rel=1e-9)
    assert hello.score("hello") > hello.score(["hlleo"])


def test_generator_inference_leaves_at_most_keep_bytes_pooled(monkeypatch):
    # As the classifier's: score and predict_proba let the thread's free workspaces go
    # down to keep_bytes when they end (a 2-layer LSTM at H=256 kept 304 MiB per thread).
    from skrnn._core.recurrent import BUFFERS

    model = RNNCharGenerator(hidden_size=32, num_layers=2, cell="lstm", max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit("the quick brown fox jumps over the lazy dog. " * 10)
    monkeypatch.setattr(BUFFERS, "keep_bytes", 2**16)
    text = ["the lazy dog jumps over the quick brown fox. " * 40] * 8
    assert np.isfinite(model.score(text))
    assert BUFFERS.nbytes <= 2**16  # without trimming: about 3 MB
    assert np.isfinite(model.predict_proba(text)).all()
    assert BUFFERS.nbytes <= 2**16


def test_generator_long_document_scores_equal_in_any_chunking():
    text = "the quick brown fox jumps over the lazy dog. " * 20
    model = RNNCharGenerator(hidden_size=16, max_iter=2, seq_length=16, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(text)
    # the document is longer than one inference chunk: state must carry across chunks
    import skrnn._generator as gen

    whole = model.score(text)
    old = gen.INFERENCE_CHUNK
    try:
        gen.INFERENCE_CHUNK = 7
        assert model.score(text) == pytest.approx(whole, rel=1e-5)
    finally:
        gen.INFERENCE_CHUNK = old


def test_generator_long_prompt_runs_in_chunks_to_the_same_state(monkeypatch):
    # a prompt runs through in chunks of INFERENCE_CHUNK characters (in one piece, a prompt of a
    # million characters held 1.3 GB of caches); the state carried gives the same continuation
    import skrnn._generator as gen

    text = "the quick brown fox jumps over the lazy dog. " * 20
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = RNNCharGenerator(hidden_size=16, max_iter=2, random_state=0).fit(text)
    prompt = text[:300]
    whole = model.predict_proba([prompt])[0]  # the next character's distribution, scored in one piece
    calls = []
    forward = gen.forward
    monkeypatch.setattr(gen, "forward", lambda *args, **kwargs: calls.append(1) or forward(*args, **kwargs))
    monkeypatch.setattr(gen, "INFERENCE_CHUNK", 7)
    assert model.generate(prompt, n_chars=1, temperature=0) == model.classes_[np.argmax(whole)]
    assert len(calls) == -(-301 // 7)  # END, then the prompt, 7 steps at a time
    steps = list(model.iter_generate(prompt, n_chars=40, random_state=0))
    monkeypatch.setattr(gen, "INFERENCE_CHUNK", 10_000)
    assert list(model.iter_generate(prompt, n_chars=40, random_state=0)) == steps


def _log_prior(counts):
    log_p = np.log((np.asarray(counts) + 1) / (np.sum(counts) + len(counts)))
    return log_p - log_p.mean()


def _barely_trained(**kwargs):
    # learning_rate 1e-9: 50 Adam updates move a weight by at most about 5e-8
    return RNNCharGenerator(hidden_size=8, max_iter=1, learning_rate=1e-9, random_state=0, **kwargs)


def test_generator_output_bias_starts_at_the_characters_log_frequencies():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = _barely_trained().fit(["aaab", "ab"])
    # targets of [END]aaab[END] and [END]ab[END]: END 2, a 4, b 2; add-one smoothed, centred
    np.testing.assert_allclose(model.weights_["b_y"], _log_prior([2, 4, 2]), atol=1e-5)


def test_generator_warm_start_keeps_the_output_bias():
    model = _barely_trained(warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(["aaab", "ab"])
        model.fit(["abbb", "ab"])  # its own prior would be END 2, a 2, b 4
    np.testing.assert_allclose(model.weights_["b_y"], _log_prior([2, 4, 2]), atol=1e-5)


def test_generator_grid_search_selects_by_score():
    search = GridSearchCV(
        RNNCharGenerator(max_iter=3, random_state=0),
        {"hidden_size": [2, 32], "learning_rate": [1e-4, 1e-2]},
        cv=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(NAMES * 3)
    assert search.best_params_ == {"hidden_size": 32, "learning_rate": 1e-2}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_generator_score_leaves_out_unseen_characters_with_a_warning(names_model):
    with pytest.warns(UserWarning, match=r"X holds 3 of its 11 characters outside .*: 'x' \(2\), 'q' \(1\)\."):
        score = names_model.score(["xanna", "emxmqa"])
    assert score == names_model.score(["anna", "emma"])
    assert names_model.perplexity(["anna", "emma"]) == pytest.approx(np.exp(-score))
    with pytest.raises(ValueError, match=r"None of the 4 characters of X is in the model's vocabulary"):
        names_model.score(["日本語", "x"])  # left out, they would leave the score of empty documents


def test_generator_grid_search_scores_folds_with_unseen_characters():
    # the second fold's test part holds "q", "j", "x", "d", "w" and "k", which its training part lacks: when score
    # raised on them, that fold scored NaN for every candidate and the search picked one arbitrarily
    names = [*NAMES * 3, "quinn", "jax", "dwight", "kate"]
    search = GridSearchCV(
        RNNCharGenerator(max_iter=3, random_state=0), {"hidden_size": [2, 32], "learning_rate": [1e-4, 1e-2]}, cv=2
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(UserWarning, match="outside the model's vocabulary"):
            search.fit(names)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_params_ == {"hidden_size": 32, "learning_rate": 1e-2}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_generator_warns_when_model_selection_splits_a_str_into_characters():
    search = GridSearchCV(RNNCharGenerator(hidden_size=4, max_iter=1, random_state=0), {"hidden_size": [4]}, cv=2)
    with pytest.warns(UserWarning, match=r"20 documents of at most one character.*For running text, chunks of "
                      r"it.*text\.splitlines\(\) would make each line a document that ends"):
        search.fit("abab" * 10)


@pytest.mark.parametrize("X", ["abab" * 10, ["a", "b", "ab"], ["a"]], ids=["one-str", "one-longer", "one-doc"])
def test_generator_does_not_warn_about_real_documents(X):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        RNNCharGenerator(hidden_size=4, max_iter=1, random_state=0).fit(X)
    assert not [w for w in caught if "at most one character" in str(w.message)]


def test_generator_pickle_round_trip_generates_identical_text(names_model, tmp_path):
    restored = pickle.loads(pickle.dumps(names_model))
    assert restored.generate("a", 30, random_state=3) == names_model.generate("a", 30, random_state=3)
    joblib.dump(names_model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(["em"]), names_model.predict_proba(["em"]))


def test_generator_refit_is_deterministic():
    a = RNNCharGenerator(hidden_size=16, random_state=0).fit("abcabcabd")
    b = RNNCharGenerator(hidden_size=16, random_state=0).fit("abcabcabd")
    for k in a.weights_:
        np.testing.assert_array_equal(a.weights_[k], b.weights_[k])


def test_generator_float64_and_gated_cells_work():
    for cell in ("gru", "lstm"):
        model = RNNCharGenerator(hidden_size=16, cell=cell, dtype="float64", random_state=0).fit("hello")
        assert model.weights_["W_hy"].dtype == np.float64
        assert model.generate("h", 4, temperature=0) == "ello"


def test_generator_early_stopping_keeps_validation_scores():
    model = RNNCharGenerator(hidden_size=16, early_stopping=True, max_iter=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(NAMES)
    assert len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ == max(model.validation_scores_)


def test_generator_verbose_prints_epoch_lines(capsys):
    RNNCharGenerator(hidden_size=8, max_iter=2, verbose=1, random_state=0).fit("hello world")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Epoch 1: loss ")
    assert re.match(r"Epoch 1: loss [\d.]+, [\d.]+ s, [\d,]+ chars/s, sample '.*'$", out[0])


def test_generator_warns_when_max_iter_is_reached():
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        RNNCharGenerator(hidden_size=8, max_iter=1, random_state=0).fit("hello world")


def test_generator_lowercase_applies_to_prompt_and_scores():
    model = RNNCharGenerator(hidden_size=16, lowercase=True, random_state=0).fit("Hello")
    assert "H" not in model.vocabulary_
    assert model.generate("H", 4, temperature=0) == "ello"


def test_generator_warm_start_continues_training():
    model = RNNCharGenerator(hidden_size=16, max_iter=1, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(NAMES)
        first = model.score(NAMES)
        model.fit(NAMES)
    assert len(model.loss_curve_) == 2
    assert model.score(NAMES) > first


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"temperature": -1.0}, "temperature"),
        ({"top_k": 0}, "top_k"),
        ({"n_chars": -1}, "n_chars"),
        ({"prompt": 3}, "prompt"),
    ],
)
def test_generator_generate_rejects_bad_arguments(hello, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        hello.generate(**kwargs)


def test_generator_rejects_unknown_prompt_characters(hello):
    with pytest.raises(ValueError, match=r"prompt contains characters .*'z'"):
        hello.generate("hz")
    with pytest.raises(ValueError, match=r"X\[1\] contains characters"):
        hello.predict(["hello", "zz"])


def test_generator_predicts_with_the_fitted_architecture(hello):
    model = copy.deepcopy(hello)
    text, score = model.generate("h", 4, random_state=0), model.score(["hello"])
    model.set_params(hidden_size=7, cell="lstm", num_layers=2, embedding_dim=3)  # for the next fit only
    assert model.generate("h", 4, random_state=0) == text and model.score(["hello"]) == score
    del model._fitted_architecture  # as pickled by an older version: the parameters are the architecture
    model.set_params(**{name: getattr(hello, name) for name in model._ARCHITECTURE})
    assert model.generate("h", 4, random_state=0) == text


def test_generator_failed_refit_leaves_the_model_as_it_was(hello):
    model = copy.deepcopy(hello)
    with pytest.raises(MemoryError, match="don't fit in memory"):
        model.set_params(hidden_size=10**9).fit("xyz")  # a new alphabet, then weights too large
    assert list(model.classes_) == list(hello.classes_) and model.vocabulary_ == hello.vocabulary_
    assert model.set_params(hidden_size=hello.hidden_size).generate("h", 4, temperature=0) == "ello"


def test_generator_lone_surrogates_are_characters_like_any_other():
    """A str may hold lone surrogates (e.g. from surrogateescape decoding), as CharTokenizer accepts."""
    model = RNNCharGenerator(random_state=0).fit("h\ud800llo")
    assert list(model.classes_) == ["", "h", "l", "o", "\ud800"]
    assert model.generate("h", 4, temperature=0) == "\ud800llo"
    assert model.generate("h\ud800", 3, temperature=0) == "llo"
    assert np.isfinite(model.score(["h\ud800l"]))
    restored = pickle.loads(pickle.dumps(model))
    assert restored.generate("h", 4, random_state=0) == model.generate("h", 4, random_state=0)
    with pytest.raises(ValueError, match=r"prompt contains characters .*\\udcff"):
        model.generate("h\udcff")


@pytest.mark.parametrize(
    "X, error, match",
    [
        ("", ValueError, "no characters"),
        ([], ValueError, "at least 1"),
        (None, TypeError, "None"),
        (b"hello", TypeError, "bytes"),
        (["ok", 3], TypeError, r"X\[1\]"),
    ],
)
def test_generator_fit_rejects_bad_text(X, error, match):
    with pytest.raises(error, match=match):
        RNNCharGenerator().fit(X)


def test_generator_methods_need_fit():
    model = RNNCharGenerator()
    for call in (lambda: model.generate("a"), lambda: model.score("a"), lambda: model.predict(["a"])):
        with pytest.raises(NotFittedError):
            call()


def test_generator_clone_is_unfitted_with_same_params(hello):
    copy = clone(hello)
    assert copy.get_params() == hello.get_params()
    assert not hasattr(copy, "weights_")


def test_generator_param_validation():
    check_param_validation("RNNCharGenerator", RNNCharGenerator())


@pytest.mark.parametrize("param, value", [("hidden_size", 0), ("cell", "transformer"), ("learning_rate", 0.0),
                                          ("validation_fraction", 1.0), ("seq_length", 0), ("batch_size", 0)])
def test_generator_invalid_hyperparameters_name_the_parameter(param, value):
    with pytest.raises(InvalidParameterError, match=param):
        RNNCharGenerator(**{param: value}).fit("hello")


@parametrize_with_checks([RNNCharGenerator()])
def test_generator_sklearn_compatible(estimator, check):
    """Text only: scikit-learn runs its data-free checks (cloning) and skips the rest."""
    check(estimator)


def test_generator_learned_embedding():
    model = RNNCharGenerator(hidden_size=16, embedding_dim=4, random_state=0).fit("hello")
    assert model.weights_["embedding"].shape == (5, 4)
    assert model.generate("h", 4, temperature=0) == "ello"


def test_generator_warm_start_accepts_text_with_fewer_characters():
    model = RNNCharGenerator(hidden_size=8, max_iter=1, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(["abcabc"] * 10)
        classes = model.classes_.copy()
        model.fit(["abab"] * 10)  # the next chunk of a corpus lacks "c": its outputs still exist
    np.testing.assert_array_equal(model.classes_, classes)
    assert len(model.loss_curve_) == 2
    with pytest.raises(ValueError, match=r"X holds characters outside them: \['d', 'e'\]\. Remove them, or set warm"):
        model.fit(["abde"])
    assert len(model.loss_curve_) == 2


def test_generator_partial_fit_makes_one_pass_per_call_and_learns():
    model = RNNCharGenerator(hidden_size=16, learning_rate=0.01, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # one epoch per call is the point, not a failure
        model.partial_fit(NAMES)
    first = model.score(NAMES)
    for _ in range(9):
        model.partial_fit(NAMES)
    assert model.n_iter_ == len(model.loss_curve_) == 10
    assert model.t_ == 10 * sum(len(name) + 1 for name in NAMES)  # each name and its END, once per call
    assert model.score(NAMES) > first + 0.3
    assert model.validation_scores_ is None and model.best_validation_score_ is None
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        model.set_params(early_stopping=True).partial_fit(NAMES)  # it would hold no text out
    assert model.n_iter_ == 10


def test_generator_partial_fit_equals_one_epoch_of_fit_on_a_long_enough_text():
    # 300 characters in chunks of 4 on one lane make 75 updates: an epoch of fit is then one pass too
    text = ("".join(NAMES) * 3)[:300]
    params = dict(hidden_size=8, batch_size=1, seq_length=4, random_state=0, dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = RNNCharGenerator(max_iter=1, **params).fit(text)
    partial = RNNCharGenerator(**params).partial_fit(text)
    for name, weights in fitted.weights_.items():
        np.testing.assert_array_equal(partial.weights_[name], weights, err_msg=name)


def test_generator_partial_fit_classes_name_characters_of_later_pieces():
    model = RNNCharGenerator(hidden_size=8, random_state=0, lowercase=True)
    model.partial_fit("abab", classes="ABCD")
    model.partial_fit("cdcd", classes=["d", "c", "b", "a", ""])  # the same characters again: accepted
    assert list(model.classes_) == ["", "a", "b", "c", "d"]
    assert model.n_iter_ == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.set_params(warm_start=True).fit("dcba")  # fit continues from partial_fit's weights
    assert len(model.loss_curve_) == 2 + model.n_iter_


@pytest.mark.parametrize(
    "first, X, classes, error, match",
    [
        ("abc", "abz", None, ValueError, r"partial_fit continues with the characters .* \['z'\]\. .*classes="),
        ("abc", "ab", "abcd", ValueError, r"these are in one and not the other: \['d'\]"),
        (None, "abz", "ab", ValueError, r"X holds characters that classes lacks: \['z'\]"),
        (None, "", None, ValueError, "partial_fit needs text"),
        ("abc", ["", ""], None, ValueError, "partial_fit needs text"),  # END after END: all it would learn
        (None, "ab", ["ab"], ValueError, "single characters .* got 'ab'"),
        (None, "ab", [1], ValueError, "single characters .* got 1"),
        (None, "ab", 3, TypeError, "classes must be a str or an iterable of characters, got int"),
    ],
)
def test_generator_partial_fit_rejects_bad_input_and_keeps_the_model(first, X, classes, error, match):
    model = RNNCharGenerator(hidden_size=8, random_state=0)
    if first is not None:
        model.partial_fit(first)
        before = copy.deepcopy(model.__dict__)
    with pytest.raises(error, match=match):
        model.partial_fit(X, classes=classes)
    if first is not None:
        assert model.n_iter_ == before["n_iter_"]
        for name, weights in before["weights_"].items():
            np.testing.assert_array_equal(model.weights_[name], weights)
    else:
        assert not hasattr(model, "weights_")


def test_generator_lanes_of_short_documents_end_together():
    # Lanes were balanced by characters: those of many short names ran on alone for the last batches of
    # each epoch (31,000 names in 32 lanes: 8 batches of one name), full Adam steps on one name that
    # took the held-out score from -2.16 to -2.43 nats per character.
    from skrnn._generator import _segments, _ticks

    rng = np.random.default_rng(0)
    seqs = [np.r_[0, rng.integers(1, 27, size=n), 0] for n in rng.choice([3, 4, 5, 6, 12], size=2000)]
    lanes = _segments(seqs, 32, 64)
    active = [int((lengths > 0).sum()) for _, _, lengths, _, _ in _ticks(seqs, lanes, 64)]
    assert min(active[:-1]) == 32 and len(active) == -(-len(seqs) // 32)
