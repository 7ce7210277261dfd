"""Model selection: grid, randomized and successive-halving searches over both estimators.

Each search runs with n_jobs=1 and n_jobs=2 and must give the same cross-validated
scores, to the bit: randomness comes only from random_state, so a fit in a loky
worker is the fit in this process.
"""

import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import GridSearchCV, HalvingGridSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline

from skrnn import RNNCharGenerator, RNNSequenceClassifier, WordTokenizer

# max_iter is far below convergence on purpose: a search needs fits, not good models.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TEXTS = ["good", "not good", "very good", "bad", "not bad", "very bad",
         "Good", "NOT good", "Very Good", "Bad", "Not Bad", "VERY bad"] * 3
LABELS = ["pos", "neg", "pos", "neg", "pos", "neg"] * 6
# Every word holds every character: RNNCharGenerator.score raises on characters
# unseen at fit, so each cross-validation fold must see the whole alphabet.
WORDS = ["".join(np.random.default_rng(i).permutation(list("abcde"))) * 2 for i in range(24)]
GRID = {"hidden_size": [4, 8], "learning_rate": [0.003, 0.03]}


def _numeric_data():
    """(36, 5, 2) sequences whose class is the sign of the first feature's sum."""
    X = np.random.default_rng(0).normal(size=(36, 5, 2))
    return X, (X[:, :, 0].sum(axis=1) > 0).astype(int)


def _tokens_data():
    """Right-padded word ids of TEXTS, as a WordTokenizer in a Pipeline would pass them."""
    return WordTokenizer().fit_transform(TEXTS), LABELS


# estimator, X, y: the classifier on each input kind, and the generator (no y).
CASES = {
    "classifier-text": lambda: (RNNSequenceClassifier(max_iter=3, random_state=0), TEXTS, LABELS),
    "classifier-tokens": lambda: (RNNSequenceClassifier(max_iter=3, random_state=0), *_tokens_data()),
    "classifier-numeric": lambda: (RNNSequenceClassifier(max_iter=3, random_state=0), *_numeric_data()),
    "generator": lambda: (RNNCharGenerator(max_iter=1, random_state=0), WORDS, None),
}

SEARCHES = {
    "grid": lambda est, n_jobs: GridSearchCV(est, GRID, cv=2, n_jobs=n_jobs),
    "randomized": lambda est, n_jobs: RandomizedSearchCV(
        est, {"hidden_size": [4, 8], "learning_rate": loguniform(1e-3, 1e-1)},
        n_iter=3, cv=2, n_jobs=n_jobs, random_state=0,
    ),
    "halving": lambda est, n_jobs: HalvingGridSearchCV(
        est, GRID, cv=2, factor=2, n_jobs=n_jobs, random_state=0,
    ),
}


def _fit_with_n_jobs(make_search, estimator, X, y):
    """The same search fitted with n_jobs=1 and n_jobs=2."""
    return [make_search(estimator, n_jobs).fit(X, y) for n_jobs in (1, 2)]


def _assert_same_search(sequential, parallel):
    np.testing.assert_array_equal(
        sequential.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )
    assert sequential.cv_results_["params"] == parallel.cv_results_["params"]
    assert sequential.best_params_ == parallel.best_params_


# The searches below are the ones with a separate scoring path per estimator; the
# other search/input combinations add time, not coverage.
@pytest.mark.parametrize(
    "search, case",
    [
        ("grid", "classifier-text"),
        ("grid", "classifier-numeric"),
        ("grid", "generator"),
        ("randomized", "classifier-tokens"),
        ("randomized", "generator"),
        ("halving", "classifier-text"),
        ("halving", "generator"),
    ],
)
def test_search_results_identical_across_n_jobs(search, case):
    estimator, X, y = CASES[case]()
    sequential, parallel = _fit_with_n_jobs(SEARCHES[search], estimator, X, y)
    _assert_same_search(sequential, parallel)
    assert np.all(np.isfinite(sequential.cv_results_["mean_test_score"]))
    assert set(sequential.best_params_) == {"hidden_size", "learning_rate"}


def test_search_best_estimator_identical_across_n_jobs():
    sequential, parallel = _fit_with_n_jobs(SEARCHES["grid"], *CASES["classifier-text"]())
    np.testing.assert_array_equal(
        sequential.best_estimator_.predict_proba(TEXTS), parallel.best_estimator_.predict_proba(TEXTS)
    )


def test_search_halving_uses_more_samples_for_fewer_candidates():
    sequential, parallel = _fit_with_n_jobs(SEARCHES["halving"], *CASES["classifier-text"]())
    assert sequential.n_resources_ == parallel.n_resources_
    assert sequential.n_candidates_ == parallel.n_candidates_
    assert sequential.n_resources_[0] < sequential.n_resources_[-1]
    assert sequential.n_candidates_[0] > sequential.n_candidates_[-1]


def test_search_nested_tokenizer_parameter_of_classifier():
    clf = RNNSequenceClassifier(tokenizer=WordTokenizer(), max_iter=3, random_state=0)
    grid = {"tokenizer__lowercase": [True, False], "hidden_size": [4, 8]}
    sequential, parallel = _fit_with_n_jobs(lambda est, n: GridSearchCV(est, grid, cv=2, n_jobs=n), clf, TEXTS, LABELS)
    _assert_same_search(sequential, parallel)
    best = sequential.best_estimator_
    # The nested parameter reached the tokenizer fitted inside the classifier.
    assert best.tokenizer_.lowercase == sequential.best_params_["tokenizer__lowercase"]
    vocabularies = {
        lowercase: set(clf.set_params(tokenizer__lowercase=lowercase).fit(TEXTS, LABELS).tokenizer_.vocabulary_)
        for lowercase in (True, False)
    }
    assert vocabularies[True] < vocabularies[False]


def test_search_nested_tokenizer_parameter_needs_a_tokenizer_instance():
    # with the default tokenizer="word", scikit-learn raised AttributeError: 'str' object has no attribute 'set_params'
    search = GridSearchCV(RNNSequenceClassifier(max_iter=1), {"tokenizer__min_frequency": [1, 2]}, cv=2)
    with pytest.raises(ValueError, match=r"tokenizer__min_frequency .* tokenizer='word' is a name\. Pass "
                                         r"tokenizer=WordTokenizer\(\)"):
        search.fit(TEXTS, LABELS)
    clf = RNNSequenceClassifier(tokenizer="char").set_params(tokenizer=WordTokenizer(), tokenizer__min_frequency=2)
    assert clf.tokenizer.min_frequency == 2


def test_search_nested_tokenizer_parameter_in_pipeline():
    pipe = make_pipeline(WordTokenizer(), RNNSequenceClassifier(max_iter=3, random_state=0))
    grid = {
        "wordtokenizer__max_tokens": [2, None],
        "rnnsequenceclassifier__hidden_size": [4],
        "rnnsequenceclassifier__learning_rate": [0.003, 0.03],
    }
    sequential, parallel = _fit_with_n_jobs(lambda est, n: GridSearchCV(est, grid, cv=2, n_jobs=n), pipe, TEXTS, LABELS)
    _assert_same_search(sequential, parallel)
    best = sequential.best_estimator_
    max_tokens = sequential.best_params_["wordtokenizer__max_tokens"]
    assert best.named_steps["wordtokenizer"].max_tokens == max_tokens
    n_tokens = best.named_steps["wordtokenizer"].n_tokens_
    assert best.named_steps["rnnsequenceclassifier"].n_inputs_ == n_tokens
    if max_tokens is not None:
        assert n_tokens == max_tokens + 2


def _weights(model):
    return {name: value.copy() for name, value in model.weights_.items()}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("to_numpy", [np.int8, np.uint64, np.float64], ids=["int8", "uint64", "float64"])
def test_search_numpy_scalar_parameters_train_as_python_numbers(to_numpy):
    # Searches hand NumPy scalars over (randint, arrays of values): np.int8 batch_size * 50 overflowed
    # and the fit ran no minibatch, unsigned ones raised OverflowError in the generator, np.float64
    # betas made float32 arithmetic float64.
    texts, labels = ["good", "not good", "bad", "not bad"] * 4, [1, 0, 0, 1] * 4
    ints = {"batch_size": 8, "hidden_size": 4, "max_len": 3}
    floats = {"beta_1": 0.9, "beta_2": 0.999, "momentum": 0.9, "alpha": 3e-4, "learning_rate": 0.01}
    chosen = ints if to_numpy is not np.float64 else floats
    numpy = {name: to_numpy(value) for name, value in chosen.items()}
    for make, X, y in [(RNNSequenceClassifier, texts, labels), (RNNCharGenerator, texts, None)]:
        own = {k: v for k, v in chosen.items() if k in make().get_params()}
        model = make(max_iter=1, random_state=0, **{k: numpy[k] for k in own}).fit(X, *([y] if y else []))
        reference = make(max_iter=1, random_state=0, **own).fit(X, *([y] if y else []))
        assert model.t_ == reference.t_ > 0
        for name, value in _weights(reference).items():
            np.testing.assert_array_equal(model.weights_[name], value, err_msg=f"{make.__name__} {name}")
    if to_numpy is not np.float64:
        tokenizer = WordTokenizer(max_len=to_numpy(3))
        np.testing.assert_array_equal(tokenizer.fit_transform(texts), WordTokenizer(max_len=3).fit_transform(texts))
