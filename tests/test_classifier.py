"""RNNSequenceClassifier: quality bars, input types, training behaviour and errors."""

import inspect
import pickle
import re
import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.estimator_checks import check_param_validation

from skrnn import CharTokenizer, RNNSequenceClassifier, WordTokenizer, _classifier
from skrnn._core.network import pooled_forward

# A negation-sentiment set written for these tests. The label is the polarity
# of the adjective, flipped by "not", so no bag of words separates it ("not
# bad" is positive, "not good" negative). Training holds each of the 64
# (negation, intensifier, adjective) patterns once, but four, with subjects
# balanced across labels; the test puts 16 patterns after new subjects and
# holds the four unseen ones.
NEGATION_TRAIN = [
    ("my day was not really nice", "neg"), ("this is not really sad", "pos"),
    ("this is not very awful", "pos"), ("this is very awful", "neg"),
    ("i am not very happy", "neg"), ("the food is very nice", "pos"),
    ("we are great", "pos"), ("the food is poor", "neg"),
    ("you are not really poor", "pos"), ("i am not so great", "neg"),
    ("i am not very great", "neg"), ("my day was really happy", "pos"),
    ("we are not good", "neg"), ("i am so sad", "neg"),
    ("the food is very happy", "pos"), ("you are not awful", "pos"),
    ("you are not really bad", "pos"), ("i am so awful", "neg"),
    ("you are not very nice", "neg"), ("we are not so good", "neg"),
    ("we are not really good", "neg"), ("we are not very sad", "pos"),
    ("the food is very great", "pos"), ("my day was so poor", "neg"),
    ("this is not happy", "neg"), ("i am not very poor", "pos"),
    ("this is really bad", "neg"), ("i am really nice", "pos"),
    ("this is not bad", "pos"), ("this is very bad", "neg"),
    ("this is so great", "pos"), ("my day was not sad", "pos"),
    ("you are really good", "pos"), ("we are not really awful", "pos"),
    ("we are nice", "pos"), ("you are bad", "neg"),
    ("i am not so awful", "pos"), ("my day was not very bad", "pos"),
    ("the food is happy", "pos"), ("the food is not very good", "neg"),
    ("you are not so bad", "pos"), ("i am really great", "pos"),
    ("the food is not really happy", "neg"), ("we are very good", "pos"),
    ("the food is not great", "neg"), ("my day was not so sad", "pos"),
    ("you are awful", "neg"), ("we are really awful", "neg"),
    ("my day was really sad", "neg"), ("my day was so bad", "neg"),
    ("we are sad", "neg"), ("i am so happy", "pos"),
    ("my day was so good", "pos"), ("this is not so nice", "neg"),
    ("my day was very poor", "neg"), ("the food is not so happy", "neg"),
    ("this is good", "pos"), ("the food is not poor", "pos"),
    ("you are really poor", "neg"), ("you are not nice", "neg"),
]
NEGATION_TEST = [
    ("you are not really sad", "pos"), ("my day was not nice", "neg"),
    ("this is not really awful", "pos"), ("i am so great", "pos"),
    ("this is really nice", "pos"), ("i am not so bad", "pos"),
    ("you are not very poor", "pos"), ("this is so good", "pos"),
    ("my day was not very sad", "pos"), ("the food is very awful", "neg"),
    ("the food is not very nice", "neg"), ("you are not very good", "neg"),
    ("my day was sad", "neg"), ("the food is not so nice", "neg"),
    ("we are not very happy", "neg"), ("i am very poor", "neg"),
    ("we are not really great", "neg"), ("we are very sad", "neg"),
    ("i am so nice", "pos"), ("the food is not so poor", "pos"),
]


def _split(pairs):
    texts, labels = zip(*pairs)
    return list(texts), np.array(labels)


def small(**params):
    """A quick classifier for tests that do not measure quality."""
    return RNNSequenceClassifier(**{"hidden_size": 16, "max_iter": 30, "random_state": 0, **params})


def trend_sequences(n, seed):
    """Ragged (n_steps_i, 2) sequences: class 1 rises, class 0 falls."""
    rng = np.random.default_rng(seed)
    X, y = [], rng.integers(0, 2, n)
    for label in y:
        steps = rng.integers(3, 15)
        slope = 1.0 if label else -1.0
        trend = slope * np.linspace(-1, 1, steps) + 0.2 * rng.standard_normal(steps)
        X.append(np.column_stack([trend, rng.standard_normal(steps)]))
    return X, y


def overlapping_blobs(seed=0):
    """Numeric (n, 3) sequences from two overlapping classes, 3 times more 0s than 1s."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(150, dtype=int), np.ones(50, dtype=int)]
    X = rng.standard_normal((200, 3)) + 0.7 * y[:, None]
    return X, y


# ---------------------------------------------------------------- quality bars


def test_classifier_negation_sentiment_default_parameters():
    X_train, y_train = _split(NEGATION_TRAIN)
    X_test, y_test = _split(NEGATION_TEST)
    clf = RNNSequenceClassifier(random_state=0).fit(X_train, y_train)
    assert clf.score(X_train, y_train) == 1.0
    assert clf.score(X_test, y_test) == 1.0


def test_negation_sentiment_defeats_bag_of_words():
    # The reason for the set: word counts alone are at or below chance.
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    X_train, y_train = _split(NEGATION_TRAIN)
    X_test, y_test = _split(NEGATION_TEST)
    bag = make_pipeline(CountVectorizer(), LogisticRegression()).fit(X_train, y_train)
    assert bag.score(X_test, y_test) <= 0.5


def test_classifier_digits_rows_as_steps():
    digits = load_digits()
    X = digits.images / 16.0  # (1797, 8, 8): 8 steps of 8 pixels
    X_train, X_test, y_train, y_test = train_test_split(
        X, digits.target, test_size=0.25, stratify=digits.target, random_state=0
    )
    clf = RNNSequenceClassifier(random_state=0).fit(X_train, y_train)
    assert clf.n_features_in_ == 8 and clf.n_inputs_ == 8
    assert clf.score(X_test, y_test) >= 0.95


def test_classifier_ragged_numeric_sequences():
    X_train, y_train = trend_sequences(150, seed=0)
    X_test, y_test = trend_sequences(60, seed=1)
    clf = small().fit(X_train, y_train)
    assert clf.input_type_ == "numeric" and clf.n_inputs_ == 2
    assert not hasattr(clf, "n_features_in_")
    assert clf.score(X_test, y_test) >= 0.9


def test_classifier_univariate_ragged_sequences():
    X_train, y_train = trend_sequences(150, seed=0)
    X_uni = [x[:, 0] for x in X_train]  # (n_steps_i,) each
    clf = small().fit(X_uni, y_train)
    assert clf.n_inputs_ == 1
    assert clf.score(X_uni, y_train) >= 0.9


# ------------------------------------------------------------------- weights


def test_classifier_class_weight_favours_weighted_class():
    X, y = overlapping_blobs()
    plain = small().fit(X, y).predict(X).mean()
    weighted = small(class_weight={0: 1, 1: 5}).fit(X, y).predict(X).mean()
    balanced = small(class_weight="balanced").fit(X, y).predict(X).mean()
    assert weighted > plain + 0.1
    assert balanced > plain + 0.1


def test_balanced_class_weight_counts_sample_weight():
    # n_samples / (n_classes * bincount(y)), counted with sample_weight (scikit-learn 1.6 cannot: computed here)
    y_codes, sample_weight = np.array([0, 0, 0, 1, 2, 2]), np.array([1.0, 1.0, 2.0, 0.5, 0.0, 0.0])
    per_class = _classifier._per_class_weights("balanced", np.array(["a", "b", "c"]), y_codes, sample_weight)
    # c weighs nothing: its sequences stay at weight 0 rather than 0 * inf = NaN
    np.testing.assert_allclose(per_class, [4.5 / (3 * 4.0), 4.5 / (3 * 0.5), 0.0])
    # and scikit-learn's, where its compute_class_weight takes sample_weight (1.7 and later)
    if "sample_weight" in inspect.signature(compute_class_weight).parameters:
        rng = np.random.default_rng(0)
        y, sample_weight = rng.integers(0, 4, 50), rng.random(50)
        expected = compute_class_weight("balanced", classes=np.arange(4), y=y, sample_weight=sample_weight)
        np.testing.assert_allclose(_classifier._per_class_weights("balanced", np.arange(4), y, sample_weight), expected)


def test_class_weight_dict_matches_labels_that_look_like_numbers():
    # scikit-learn's compute_class_weight turns the label "1" into 1, which never matched the key "1"
    X, y = overlapping_blobs()
    as_text = small(max_iter=3, class_weight={"0": 1, "1": 5}).fit(X, y.astype(str)).predict_proba(X)
    as_ints = small(max_iter=3, class_weight={0: 1, 1: 5}).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(as_text, as_ints)
    with pytest.raises(ValueError, match=r"class_weight has the key\(s\) \['0', '1'\], which are not classes of "
                                         r"y; the classes are \[0, 1\]"):
        small(class_weight={"0": 1, "1": 5}).fit(X, y)
    # a key of a class this y lacks (a CV fold's) is fine while every class has its own
    extra = small(max_iter=3, class_weight={0: 1, 1: 5, 2: 9}).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(extra, as_ints)


def test_classifier_sample_weight_favours_weighted_samples():
    X, y = overlapping_blobs()
    plain = small().fit(X, y).predict(X).mean()
    weighted = small().fit(X, y, sample_weight=np.where(y == 1, 5.0, 1.0)).predict(X).mean()
    assert weighted > plain + 0.1


def test_classifier_zero_weight_samples_are_ignored():
    X, y = overlapping_blobs()
    flipped = y.copy()
    flipped[:20] = 1 - flipped[:20]  # mislabelled rows, weighted out
    sample_weight = np.r_[np.zeros(20), np.ones(180)]
    reference = small().fit(X[20:], y[20:])
    ignored = small(shuffle=False, batch_size=256).fit(X, flipped, sample_weight=sample_weight)
    reference_full_batch = small(shuffle=False, batch_size=256).fit(X[20:], y[20:])
    np.testing.assert_allclose(ignored.predict_proba(X), reference_full_batch.predict_proba(X), atol=1e-5)
    assert reference.n_iter_ > 0


def test_classifier_scalar_sample_weight_weighs_every_sequence_alike():
    # as scikit-learn reads it; it failed in _check_sample_weight naming no argument
    X, y = overlapping_blobs()
    scalar = small(max_iter=2).fit(X, y, sample_weight=3.0).predict_proba(X)
    array = small(max_iter=2).fit(X, y, sample_weight=np.full(len(y), 3.0)).predict_proba(X)
    np.testing.assert_array_equal(scalar, array)
    with pytest.raises(ValueError, match="sample_weight contains NaN"):
        small().fit(X, y, sample_weight=np.nan)


def test_classifier_all_zero_sample_weight_raises():
    X, y = overlapping_blobs()
    with pytest.raises(ValueError, match="weight.*zero"):
        small().fit(X, y, sample_weight=np.zeros(len(y)))


def test_classifier_one_weighted_class_raises():
    X, y = overlapping_blobs()
    with pytest.raises(ValueError, match="one class"):
        small().fit(X, y, sample_weight=(y == 1).astype(float))


# ---------------------------------------------------------------- outputs


def test_classifier_string_labels_and_probabilities():
    X, y = _split(NEGATION_TRAIN)
    clf = small().fit(X, y)
    assert clf.classes_.tolist() == ["neg", "pos"]
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-6, atol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


def test_classifier_multiclass_numeric_labels():
    digits = load_digits()
    X, y = digits.images[:200] / 16.0, digits.target[:200] * 10
    clf = small().fit(X, y)
    assert clf.classes_.tolist() == list(range(0, 100, 10))
    assert set(clf.predict(X)) <= set(clf.classes_)


@pytest.mark.parametrize("bidirectional, width", [(False, 16), (True, 32)])
def test_classifier_transform_pooled_features(bidirectional, width):
    X, y = _split(NEGATION_TRAIN)
    clf = small(bidirectional=bidirectional, max_iter=3).fit(X, y)
    features = clf.transform(X + [""])
    assert features.shape == (len(X) + 1, width) and features.dtype == np.float32
    np.testing.assert_array_equal(features[-1], 0.0)  # no steps pool to zeros
    assert clf.get_feature_names_out().tolist()[:2] == ["rnnsequenceclassifier0", "rnnsequenceclassifier1"]


def test_classifier_empty_text_gets_a_prediction():
    X, y = _split(NEGATION_TRAIN)
    clf = small(max_iter=3).fit(X + [""], np.append(y, "neg"))
    assert clf.predict(["", "!!!"]).shape == (2,)


def test_classifier_empty_token_sequences_get_a_prediction():
    X, y = _split(NEGATION_TRAIN)
    clf = small(max_iter=3).fit(WordTokenizer().fit_transform(X), y)
    expected = clf.predict_proba(np.zeros((2, 0), dtype=int))
    # [[]] is a float64 array to NumPy: only empty sequences say nothing against token ids
    np.testing.assert_array_equal(clf.predict_proba([[], []]), expected)
    np.testing.assert_array_equal(clf.predict_proba([[], [5]])[0], expected[0])


def test_classifier_float32_batch_invariance():
    X, y = _split(NEGATION_TRAIN)
    clf = RNNSequenceClassifier(random_state=0, max_iter=5).fit(X, y)
    full = clf.predict_proba(X)
    rows = np.vstack([clf.predict_proba([x]) for x in X])
    np.testing.assert_allclose(rows, full, atol=1e-5)


# ------------------------------------------------------------ input types


def test_classifier_token_ids_pipeline_input():
    X, y = _split(NEGATION_TRAIN)
    ids = WordTokenizer().fit_transform(X)
    clf = small().fit(ids, y)
    assert clf.input_type_ == "tokens" and clf.n_inputs_ == ids.max() + 1
    assert not hasattr(clf, "n_features_in_")
    # wider rows and ids never seen at fit (read as the unknown id 1) are fine
    wider = np.hstack([ids, np.zeros((len(X), 3), dtype=ids.dtype)])
    wider[0, ids.shape[1]] = 10_000
    np.testing.assert_array_equal(clf.predict(wider[1:]), clf.predict(ids[1:]))
    assert clf.predict(wider[:1]).shape == (1,)


def test_classifier_pipeline_with_word_tokenizer_unseen_words():
    X, y = _split(NEGATION_TRAIN)
    pipe = make_pipeline(WordTokenizer(), small()).fit(X, y)
    assert pipe.predict(["we are not happy today", "zebra"]).shape == (2,)
    direct = small(tokenizer="word").fit(X, y)
    assert direct.predict(["we are not happy today", "zebra"]).shape == (2,)
    assert direct.tokenizer_.vocabulary_.keys() == pipe[0].vocabulary_.keys()


def test_classifier_tokenizer_instance_is_cloned():
    X, y = _split(NEGATION_TRAIN)
    tokenizer = CharTokenizer(lowercase=True)
    clf = small(tokenizer=tokenizer, max_iter=2).fit(X, y)
    assert not hasattr(tokenizer, "vocabulary_")
    assert isinstance(clf.tokenizer_, CharTokenizer) and clf.tokenizer_.lowercase
    assert clf.n_inputs_ == clf.tokenizer_.n_tokens_
    assert isinstance(small(tokenizer="char", max_iter=1).fit(X, y).tokenizer_, CharTokenizer)


def test_classifier_input_type_enforced_at_predict():
    X, y = _split(NEGATION_TRAIN)
    clf = small(max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="was fitted on text .* but X looks like numeric"):
        clf.predict(np.ones((2, 3)))
    numeric = small(max_iter=2).fit(np.ones((4, 3)) * [[0], [1], [0], [1]], [0, 1, 0, 1])
    with pytest.raises(ValueError, match="was fitted on numeric sequences .* but X looks like text"):
        numeric.predict(["some text"])
    assert numeric.predict(np.ones((2, 3), dtype=int)).shape == (2,)  # integers are numbers


def test_classifier_explicit_input_type():
    ids = np.array([[1, 2, 0], [2, 1, 1], [3, 0, 0], [1, 1, 2]])
    y = [0, 1, 0, 1]
    assert small(input_type="numeric", max_iter=1).fit(ids, y).input_type_ == "numeric"
    with pytest.raises(ValueError, match="input_type='tokens', but X looks like numeric"):
        small(input_type="tokens").fit(ids.astype(float), y)
    with pytest.raises(ValueError, match="input_type='text'"):
        small(input_type="text").fit(ids, y)


def test_classifier_object_array_numeric():
    X, y = overlapping_blobs()
    clf = small(max_iter=2).fit(X.astype(object), y)
    assert clf.input_type_ == "numeric"
    bad = X.astype(object)
    bad[0, 0] = {"a": 1}
    with pytest.raises(TypeError, match=r"X\[0, 0\] is dict .*numeric sequences hold numbers"):
        small().fit(bad, y)


def test_classifier_dataframe_feature_names_then_text_refit():
    pd = pytest.importorskip("pandas")
    X, y = overlapping_blobs()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    clf = small(max_iter=2).fit(frame, y)
    assert clf.feature_names_in_.tolist() == ["a", "b", "c"]
    texts, labels = _split(NEGATION_TRAIN)
    clf.fit(texts, labels)
    assert not hasattr(clf, "feature_names_in_") and not hasattr(clf, "n_features_in_")


def test_classifier_reads_nullable_integer_frames_as_token_ids():
    # check_array made pandas' Int64 columns float64, which token ids may not be
    pd = pytest.importorskip("pandas")
    ids = pd.DataFrame({"t0": [2, 3, 2, 3], "t1": [3, 2, 0, 3]})
    plain = small(max_iter=2).fit(ids, [0, 1, 0, 1])
    nullable = small(max_iter=2).fit(ids.astype("Int64"), [0, 1, 0, 1])
    assert nullable.input_type_ == "tokens"
    np.testing.assert_array_equal(nullable.predict_proba(ids.astype("UInt8")), plain.predict_proba(ids))
    with pytest.raises(ValueError, match="missing token id at row 0, column 't0'"):
        nullable.predict(ids.astype("Int64").mask(ids == 2))


def test_classifier_text_model_says_to_select_the_text_column():
    pd = pytest.importorskip("pandas")
    X, y = _split(NEGATION_TRAIN)
    clf = small(max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match=r"df\['text'\] \(not df\[\['text'\]\]\)"):  # not "looks like numeric"
        clf.predict(pd.DataFrame({"text": X}))


def test_classifier_max_len_truncates_steps():
    X, y = _split(NEGATION_TRAIN)
    clf = small(max_len=3, max_iter=3).fit(X, y)
    a, b = clf.predict_proba(["i am happy today", "i am happy tomorrow and so on"])
    np.testing.assert_array_equal(a, b)
    different = small(max_iter=3).fit(X, y).predict_proba(["i am not happy", "i am not sad"])
    assert not np.array_equal(*different)


# ----------------------------------------------------------------- training


def test_classifier_partial_fit_one_epoch_per_call():
    X, y = _split(NEGATION_TRAIN)
    clf = small()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    assert not hasattr(clf, "classes_")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # one epoch per call is the point, not a failure
        for _ in range(8):
            clf.partial_fit(X, y, classes=["neg", "pos"])
    assert clf.n_iter_ == 8 and clf.t_ == 8 * len(X) and len(clf.loss_curve_) == 8
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    with pytest.raises(ValueError, match="classes not in classes_"):
        clf.partial_fit(X[:2], ["neg", "maybe"])
    with pytest.raises(ValueError, match="not supported for partial_fit"):
        small(class_weight="balanced").partial_fit(X, y, classes=["neg", "pos"])
    # it holds nothing out: early_stopping=True is refused (as MLPClassifier's), and after a validated fit
    # there are no validation scores (they were [] and -inf, as if validation had run)
    validated = small(early_stopping=True, max_iter=2).fit(list(X) * 3, list(y) * 3)
    assert len(validated.validation_scores_) == 2
    with pytest.raises(ValueError, match=r"partial_fit does not support early_stopping=True.*set_params"):
        validated.partial_fit(X, y)
    assert len(validated.validation_scores_) == 2  # the refused call changed nothing
    validated.set_params(early_stopping=False).partial_fit(X, y)
    assert validated.validation_scores_ is None and validated.best_validation_score_ is None


def test_classifier_warm_start_continues():
    X, y = _split(NEGATION_TRAIN)
    clf = small(max_iter=5)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    first_curve = list(clf.loss_curve_)
    clf.set_params(warm_start=True)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    assert clf.loss_curve_[:5] == first_curve and len(clf.loss_curve_) == 10
    assert clf.loss_curve_[5] < first_curve[0]
    assert clf.t_ == 10 * len(X)
    changed = r"classes of the previous fit \(2 of them\); y lacks \['neg', 'pos'\] and y has others: \['a', 'b'\]\."
    with pytest.raises(ValueError, match=changed + " Set warm_start=False"):
        clf.fit(X[:4], ["a", "b", "a", "b"])
    # the message names what changed (it listed every architecture parameter, bidirectional too for the generator)
    with pytest.raises(ValueError, match=r"but hidden_size=\d+ -> 3, cell='gru' -> 'lstm'\. Set warm_start=False"):
        clf.set_params(hidden_size=3, cell="lstm").fit(X, y)


@pytest.mark.parametrize("resume", ["fit", "partial_fit"])
def test_classifier_resumed_training_refuses_a_changed_tokenizer(resume):
    # The weights belong to the first fit's vocabulary: a changed tokenizer would show in get_params, and be
    # cloned by a search, while the model goes on reading with the old one.
    X, y = _split(NEGATION_TRAIN)
    clf = small(max_iter=1, tokenizer=WordTokenizer(), warm_start=resume == "fit")

    def train():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if resume == "fit":
                clf.fit(X, y)
            else:
                clf.partial_fit(X, y, classes=np.unique(y))

    train()
    clf.set_params(tokenizer=WordTokenizer())  # an equal tokenizer: goes on
    train()
    first = "the first call to partial_fit" if resume == "partial_fit" else r"the previous fit \(warm_start=True\)"
    fix = "Fit a new model" if resume == "partial_fit" else "Set warm_start=False to start afresh"
    weights = {k: v.copy() for k, v in clf.weights_.items()}
    for change, message in [
        ({"tokenizer__max_tokens": 5}, "tokenizer max_tokens=None -> 5"),
        ({"tokenizer": "char"}, "tokenizer=WordTokenizer\\(\\) -> 'char'"),
    ]:
        clf.set_params(tokenizer=WordTokenizer()).set_params(**change)
        with pytest.raises(ValueError, match=f"tokenizer and vocabulary of {first}, but {message}. {fix}"):
            train()
    assert all(np.array_equal(v, clf.weights_[k]) for k, v in weights.items())


@pytest.mark.parametrize("resume", ["fit", "partial_fit"])
def test_classifier_changed_solver_resumes_the_weights_with_fresh_statistics(resume):
    X, y = _split(NEGATION_TRAIN)
    clf = small(max_iter=2, warm_start=True)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    steps = clf._optimizer_state["t"]  # Adam's steps over two epochs
    before = {k: v.copy() for k, v in clf.weights_.items()}
    clf.set_params(solver="sgd")  # its state is a momentum buffer, not Adam's moments
    if resume == "fit":
        with pytest.warns(ConvergenceWarning):
            clf.fit(X, y)
    else:
        clf.partial_fit(X, y)  # one epoch
    state = clf._optimizer_state
    assert set(state) == {"t", "b"}
    assert state["t"] == (steps if resume == "fit" else steps // 2)  # counted from zero
    assert len(clf.loss_curve_) == (4 if resume == "fit" else 3)
    assert any(not np.array_equal(before[k], clf.weights_[k]) for k in before)


def test_classifier_predicts_with_the_fitted_architecture():
    X, y = _split(NEGATION_TRAIN)
    clf = small(max_iter=2).fit(X, y)
    proba, features = clf.predict_proba(X), clf.transform(X)
    clf.set_params(pooling="mean", bidirectional=False, hidden_size=5, cell="lstm", num_layers=2)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    np.testing.assert_array_equal(clf.transform(X), features)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)  # the next fit takes the new architecture, and predicts with it
    assert clf.transform(X).shape == (len(X), 5)


def test_classifier_early_stopping_splits_only_weighted_sequences():
    # 4 of 40 sequences carry weight: a split of all 40 could leave either side with none
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 5)), np.repeat([0, 1], 20)
    sample_weight = np.zeros(40)
    sample_weight[[0, 1, 20, 21]] = 1.0
    for seed in range(8):
        clf = small(max_iter=2, early_stopping=True, validation_fraction=0.5, random_state=seed)
        with pytest.warns(ConvergenceWarning):
            clf.fit(X, y, sample_weight=sample_weight)
        assert np.isfinite(clf.loss_curve_).all() and np.isfinite(clf.validation_scores_).all()
    with pytest.raises(ValueError, match="of the 4 training sequences of non-zero sample_weight, stratified"):
        small(early_stopping=True, validation_fraction=0.1).fit(X, y, sample_weight=sample_weight)
    # the classes too few to split are named by their labels, not by their codes
    with pytest.raises(ValueError, match=r"\(the classes \['rare'\] have one sequence each\)"):
        small(early_stopping=True).fit(["a"] * 10 + ["b"], ["common"] * 10 + ["rare"])


def test_classifier_early_stopping_records_validation():
    X, y = _split(NEGATION_TRAIN)
    clf = small(early_stopping=True, validation_fraction=0.2, n_iter_no_change=3).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_ < 30
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None  # as MLPClassifier: the weights kept are not those of the smallest loss
    plain = small(max_iter=2, tol=10.0, n_iter_no_change=2).fit(X, y)
    assert plain.validation_scores_ is None and plain.best_validation_score_ is None
    assert plain.best_loss_ == min(plain.loss_curve_)


def test_classifier_verbose_says_why_it_stopped_and_which_weights_it_kept(capsys):
    X, y = _split(NEGATION_TRAIN)
    clf = small(verbose=1, early_stopping=True, validation_fraction=0.25, n_iter_no_change=3).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert clf.n_iter_ < 30 and lines[clf.n_iter_] == (
        "Validation score did not improve by more than tol=0.0001 for 3 consecutive epochs. Stopping."
    )
    best = int(np.argmax(clf.validation_scores_)) + 1
    assert best < clf.n_iter_ and lines[clf.n_iter_ + 1] == (
        f"Keeping the weights of epoch {best}, validation score {clf.best_validation_score_:.4f}."
    )
    small(verbose=1, tol=10.0, n_iter_no_change=2).fit(X, y)  # stops on the training loss
    assert capsys.readouterr().out.strip().splitlines()[-1] == (
        "Training loss did not improve by more than tol=10.0 for 2 consecutive epochs. Stopping."
    )


def test_classifier_warns_for_numeric_features_far_from_unit_scale():
    X, y = trend_sequences(40, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        small(max_iter=1).fit(X, y)  # unit scale: no warning
    shifted = [x + [0.0, 100.0] for x in X]  # raw units: an offset of 100 on feature 1
    with pytest.warns(UserWarning, match=r"Feature 1 of X's 2 has mean (99|100)\.\d+ and standard deviation \d\.\d+: "
                      "recurrent cells saturate on inputs far from unit scale"):
        small(max_iter=1).fit(shifted, y)
    with pytest.warns(UserWarning, match=r"The values of X have mean -?\d+\.\d+ and standard deviation 1\d\d\.\d+"):
        small(max_iter=1).fit([x[:, 0] * 200 for x in X], y)  # one feature per step, spread far
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        small(max_iter=1).fit([x * 20 for x in X], y)  # spread 20 times, centred: it trains, no warning


def test_classifier_warns_for_token_ids_stacked_beside_numeric_columns():
    # A ColumnTransformer of a tokenizer and a scaler makes one float array, read as one numeric
    # series per row: fit says so, and not that the ids should be standardized.
    pd = pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import StandardScaler

    X, y = _split(NEGATION_TRAIN)
    table = pd.DataFrame({"text": X, "length": [len(text) for text in X]})
    columns = ColumnTransformer([("text", CharTokenizer(max_len=30), "text"), ("length", StandardScaler(), ["length"])])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = make_pipeline(columns, small(max_iter=1)).fit(table, y)[-1]
    messages = [str(w.message) for w in caught if w.category is UserWarning]
    assert clf.input_type_ == "numeric"
    assert len(messages) == 1, messages
    assert re.match(r"X holds only whole numbers >= 0 in 30 of its 31 columns \(0, 1, 2, \.\.\.\) and fractions in "
                    r"1 \(30\), as a ColumnTransformer makes of a tokenizer's token ids", messages[0]), messages[0]
    assert "the text column's transformer" in messages[0]
    rng = np.random.default_rng(0)
    series = [
        rng.standard_normal((20, 12)),  # fractions in every step
        rng.poisson(3.0, (20, 12)).astype(float),  # counts: whole numbers in every step
        np.hstack([rng.standard_normal((20, 9)), np.zeros((20, 3))]),  # zero-padded at the end
    ]
    for X_numeric in series:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            warnings.simplefilter("ignore", ConvergenceWarning)
            small(max_iter=1).fit(X_numeric, np.arange(20) % 2)


def test_classifier_score_counts_a_class_missing_from_training_as_errors():
    X, y = _split(NEGATION_TRAIN)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = small(max_iter=2).fit(X, y)
    rare = np.array(y, dtype=object)
    rare[:3] = "rare"
    with pytest.warns(UserWarning, match=r"y holds labels that are not in classes_ .*\['rare'\].*count as wrong"):
        score = clf.score(X, rare)
    assert score == np.mean(clf.predict(X) == rare)
    with pytest.warns(UserWarning, match="not in classes_"):  # a test fold of only that class (LeaveOneOut)
        assert clf.score(X[:1], ["rare"]) == 0.0
    # in a search, the fold whose training part lacks the class gets a score, not NaN for every candidate
    rare = np.array(y, dtype=object)
    rare[0] = "rare"
    search = GridSearchCV(small(max_iter=2, hidden_size=4), {"learning_rate": [0.003, 0.03]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, rare)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_classifier_convergence_warning_at_max_iter():
    X, y = _split(NEGATION_TRAIN)
    with pytest.warns(ConvergenceWarning, match="maximum iterations \\(2\\)"):
        small(max_iter=2).fit(X, y)


def test_classifier_verbose_prints_one_line_per_epoch(capsys):
    X, y = _split(NEGATION_TRAIN)
    clf = small(max_iter=3, verbose=1, early_stopping=True, validation_fraction=0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    lines = [line for line in capsys.readouterr().out.strip().splitlines() if line.startswith("Epoch")]
    assert len(lines) == clf.n_iter_ == 3
    assert re.match(r"Epoch 1: loss \d+\.\d+, validation score \d\.\d+, \d+\.\d+ s, [\d,]+ sequences/s$", lines[0])


def test_classifier_fit_is_reproducible():
    X, y = _split(NEGATION_TRAIN)
    a = small(max_iter=5, dropout=0.0).fit(X, y)
    b = small(max_iter=5).fit(X, y)
    for key, value in a.weights_.items():
        np.testing.assert_array_equal(value, b.weights_[key])


@pytest.mark.parametrize(
    "params",
    [
        {"cell": "rnn"},
        {"cell": "lstm", "pooling": "last"},
        {"pooling": "mean", "num_layers": 2},
        {"embedding_dim": 8},
        {"dropout": 0.2, "num_layers": 2},
        {"bidirectional": True, "pooling": "last"},
        {"solver": "sgd", "learning_rate": 0.1},
        {"solver": "rmsprop"},
        {"solver": "adagrad", "learning_rate": 0.05},
        {"dtype": "float64"},
    ],
)
def test_classifier_architectures_and_solvers_learn(params):
    X = ["good", "great", "fine", "bad", "awful", "poor"] * 4
    y = [1, 1, 1, 0, 0, 0] * 4
    clf = small(**params).fit(X, y)
    assert clf.score(X, y) == 1.0


def test_classifier_grid_search_text_and_numeric():
    grid = {"hidden_size": [16, 32], "learning_rate": [1e-3, 1e-2]}
    X, y = _split(NEGATION_TRAIN)
    search = GridSearchCV(small(max_iter=3), grid, cv=3).fit(X, y)
    assert search.best_estimator_.input_type_ == "text"
    digits = load_digits()
    X_num, y_num = digits.images[:150] / 16.0, digits.target[:150]
    search = GridSearchCV(small(max_iter=3), grid, cv=3).fit(X_num, y_num)
    assert search.best_estimator_.n_features_in_ == 8
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


# ---------------------------------------------------------- errors and state


@pytest.mark.parametrize(
    "X, error, match",
    [
        ([], ValueError, "X holds 0 samples"),
        (np.zeros((0, 3)), ValueError, "X holds 0 samples"),
        (np.ones(4), ValueError, "Reshape your data"),
        (np.ones((4, 2, 2, 2)), ValueError, "got 4 dimension"),
        (np.array([[0.0, np.nan]] * 4), ValueError, "Input X contains NaN"),
        (np.array([[0.0, np.inf]] * 4), ValueError, "Input X contains infinity"),
        (["fine", 3, "ok", "no"], TypeError, r"X\[1\] is int, expected str"),
        (["fine", None, "ok", "no"], TypeError, r"X\[1\] is NoneType"),
        ("one string", TypeError, "got a single str"),
        (np.array([[1, -1]] * 4), ValueError, "negative token id -1"),
        (np.array([["a b"], ["c"], ["d"], ["e"]]), ValueError, "X must be one-dimensional"),
    ],
)
def test_classifier_fit_input_errors_name_argument(X, error, match):
    y = [0, 1, 0, 1][: len(X)] if len(X) else []
    with pytest.raises(error, match=match):
        small().fit(X, y)


def test_classifier_target_errors():
    X, _ = overlapping_blobs()
    with pytest.raises(ValueError, match="requires y to be passed"):
        small().fit(X, None)
    with pytest.raises(ValueError, match="one class"):
        small().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="Unknown label type"):
        small().fit(X, np.linspace(0, 1, len(X)))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        small().fit(X, np.arange(len(X) - 1) % 2)


def test_classifier_wrong_number_of_steps_at_predict():
    X, y = overlapping_blobs()
    clf = small(max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="X has 4 features, but RNNSequenceClassifier is expecting 3"):
        clf.predict(np.ones((2, 4)))
    with pytest.raises(ValueError, match="X has 2 features per step"):
        clf.predict(np.ones((2, 3, 2)))


def test_classifier_unfitted_raises():
    with pytest.raises(NotFittedError):
        RNNSequenceClassifier().predict(["text"])


@pytest.mark.parametrize(
    "X_bad, y_bad, sample_weight",
    [
        (np.array([[0.0, np.nan]] * 4), [0, 1, 0, 1], None),  # numeric after text
        (["a", "b", "c", "d"], [0, 0, 0, 0], None),
        (["a", "b", "c", "d"], [0, 1, 0, 1], np.zeros(4)),
        (["a", "b", "c"], [0, 1, 0, 1], None),
        (["a", "b", "c", "d"], [0, 1, np.nan, 1], None),
    ],
)
def test_classifier_failed_fit_leaves_estimator_unchanged(X_bad, y_bad, sample_weight):
    X, y = _split(NEGATION_TRAIN)
    clf = small(max_iter=3).fit(X, y)
    before = {k: v for k, v in vars(clf).items()}
    weights = {k: v.copy() for k, v in clf.weights_.items()}
    proba = clf.predict_proba(X)
    with pytest.raises((ValueError, TypeError)):
        clf.fit(X_bad, y_bad, sample_weight=sample_weight)
    assert vars(clf).keys() == before.keys()
    assert all(vars(clf)[k] is v for k, v in before.items())
    for key, value in weights.items():
        np.testing.assert_array_equal(clf.weights_[key], value)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


def test_classifier_failed_fit_keeps_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = overlapping_blobs()
    clf = small(max_iter=2).fit(pd.DataFrame(X, columns=["a", "b", "c"]), y)
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(np.full((4, 2), np.nan), [0, 1, 0, 1])
    assert clf.feature_names_in_.tolist() == ["a", "b", "c"] and clf.n_features_in_ == 3


def test_classifier_param_validation():
    check_param_validation("RNNSequenceClassifier", RNNSequenceClassifier())


def test_classifier_invalid_parameters_raise_at_fit():
    X, y = overlapping_blobs()
    with pytest.raises(ValueError, match="'pooling' parameter"):
        RNNSequenceClassifier(pooling="sum").fit(X, y)
    with pytest.raises(ValueError, match="'tokenizer' parameter"):
        RNNSequenceClassifier(tokenizer="bpe").fit(X, y)


# ------------------------------------------------------------ persistence


def test_classifier_pickle_and_clone():
    X, y = _split(NEGATION_TRAIN)
    clf = small(max_iter=3).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    fresh = clone(clf)
    assert not hasattr(fresh, "weights_") and fresh.get_params() == clf.get_params()


def test_classifier_skops_round_trip(tmp_path):
    sio = pytest.importorskip("skops.io")
    X, y = _split(NEGATION_TRAIN)
    clf = small(max_iter=3).fit(X, y)
    path = tmp_path / "clf.skops"
    sio.dump(clf, path)
    loaded = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_classifier_predicts_in_passes_sized_by_length(monkeypatch):
    # Long rows go in passes of few rows, short rows in passes of many, and a pass
    # reads time in chunks, so that its workspace stays bounded; the probabilities
    # are those of one pass.
    rng = np.random.default_rng(0)
    X = [rng.standard_normal((n, 2)) for n in [40, 3, 10, 40, 10, 3, 10, 40, 3, 10, 3, 10]]
    y = np.arange(len(X)) % 2
    clf = RNNSequenceClassifier(hidden_size=4, max_iter=2, random_state=0).fit(X, y)
    deep = clone(clf).set_params(num_layers=2).fit(X, y)
    whole, whole_deep = clf.predict_proba(X), deep.predict_proba(X)  # the defaults: one pass, one chunk
    passes = []

    def recording(params, spec, batch, lengths, max_steps):
        passes.append((*batch.shape[:2], min(max_steps, batch.shape[1])))
        return pooled_forward(params, spec, batch, lengths, max_steps)

    monkeypatch.setattr(_classifier, "pooled_forward", recording)
    monkeypatch.setattr(_classifier, "_PREDICT_WORK", 80 * 4)  # 80 rows x steps at hidden_size=4
    monkeypatch.setattr(_classifier, "_PREDICT_ROWS", (1, 4))
    np.testing.assert_allclose(clf.predict_proba(X), whole, rtol=1e-5)
    assert passes == [(2, 40, 40), (2, 40, 40), (4, 10, 10), (4, 3, 3)]  # (rows, steps, steps per chunk)
    passes.clear()  # at least 3 rows per pass: the longest in chunks of 26 steps
    monkeypatch.setattr(_classifier, "_PREDICT_ROWS", (3, 4))
    np.testing.assert_allclose(clf.predict_proba(X), whole, rtol=1e-5)
    assert passes == [(3, 40, 26), (4, 10, 10), (4, 10, 10), (1, 3, 3)]
    passes.clear()  # below the last layer, outputs (steps, rows, 2 directions x 4) are kept whole: bounded too
    monkeypatch.setattr(_classifier, "_PREDICT_MOST_WORK", 80 * 4)
    np.testing.assert_allclose(deep.predict_proba(X), whole_deep, rtol=1e-5)
    assert passes == [(1, 40, 40), (1, 40, 40), (1, 40, 40), (4, 10, 10), (4, 10, 10), (1, 3, 3)]


def test_classifier_predicts_a_long_sequence_in_bounded_memory(monkeypatch):
    # One sequence of 20,000 steps: the workspace of every step at once would be about
    # 20 MB (bidirectional GRU, hidden_size=16); read in chunks of 256 steps, the
    # input and the chunk's workspace are all that is held.
    rng = np.random.default_rng(0)
    X = [rng.standard_normal((n, 1)) for n in (30, 20, 30, 20)]
    clf = RNNSequenceClassifier(hidden_size=16, max_iter=1, random_state=0).fit(X, [0, 1, 0, 1])
    long = [rng.standard_normal((20_000, 1))]
    whole = clf.predict_proba(long)  # the defaults: chunks of 2**20 // 16 steps, one here
    monkeypatch.setattr(_classifier, "_PREDICT_WORK", 256 * 16)
    tracemalloc.start()
    try:
        chunked = clf.predict_proba(long)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(chunked, whole, rtol=1e-5)
    assert peak < 4 * 2**20, peak


def test_classifier_leaves_at_most_keep_bytes_pooled(monkeypatch):
    # The workspace pool is per thread and lives as long as the thread: a fit or a
    # prediction lets its free buffers go down to keep_bytes when it ends.
    from skrnn._core.recurrent import BUFFERS

    monkeypatch.setattr(BUFFERS, "keep_bytes", 2**20)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 100, 8)), np.arange(64) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = RNNSequenceClassifier(hidden_size=32, max_iter=1, random_state=0).fit(X, y)
    assert BUFFERS.nbytes <= 2**20  # without trimming: about 4 MB
    proba = clf.predict_proba(X)
    assert BUFFERS.nbytes <= 2**20 and np.isfinite(proba).all()


def test_classifier_keeps_a_frozen_tokenizer_fitted_beforehand():
    # partial_fit on a corpus's pieces, with the vocabulary of the whole corpus
    from sklearn.frozen import FrozenEstimator

    X, y = _split(NEGATION_TRAIN)
    words = WordTokenizer().fit(X)
    clf = small(tokenizer=FrozenEstimator(words))
    clf.partial_fit(X[:10], y[:10], classes=["neg", "pos"])
    assert clf.n_inputs_ == words.n_tokens_ and clf.tokenizer_.vocabulary_ == words.vocabulary_
    refitted = small().partial_fit(X[:10], y[:10], classes=["neg", "pos"])
    assert refitted.n_inputs_ < words.n_tokens_  # the first piece alone holds fewer words
    clf.partial_fit(X[10:], y[10:])
    np.testing.assert_array_equal(clf.transform(X).shape, (len(X), clf.hidden_size * 2))
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    fitted = small(tokenizer=FrozenEstimator(words), max_iter=2).fit(X[:10], y[:10])
    assert fitted.n_inputs_ == words.n_tokens_
