"""Bad input: every public estimator and method gives a clear error, and a failed fit loses nothing.

One matrix (``MATRIX``) crosses the kinds of bad input of issue 8 with every
public method that reads them. Each case names the exception type and a
message that names the argument and what was expected. Inputs that look bad
but have a documented meaning (empty strings, sequences longer than
``max_len``, token ids beyond the vocabulary, a str given to the generator,
one sample) are checked for that meaning by the tests after the matrix; the
last test checks that a fit failing on bad input changes nothing.
"""

import copy
import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.utils._param_validation import InvalidParameterError

from skrnn import CharTokenizer, RNNCharGenerator, RNNSequenceClassifier, WordTokenizer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TEXTS = ["good movie", "bad movie", "not good", "not bad", "great fun", "awful plot"]
LABELS = [1, 0, 0, 1, 1, 0]
NUMERIC = np.random.default_rng(0).standard_normal((6, 3))  # 6 sequences of 3 steps, 1 feature each
TOKENS = np.array([[2, 3, 0], [4, 5, 6], [2, 0, 0], [7, 1, 0], [3, 3, 3], [5, 0, 0]])
DOCUMENTS = ["hello", "world"]


class PaddingTokenizer(BaseEstimator):
    """A tokenizer other than skrnn's that turns every document into padding."""

    def fit(self, X, y=None):
        self.n_tokens_ = 3
        return self

    def transform(self, X):
        return np.zeros((len(X), 2), dtype=int)

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)


def classifier(**params):
    return RNNSequenceClassifier(**{"hidden_size": 4, "max_iter": 1, "random_state": 0, **params})


def generator(**params):
    return RNNCharGenerator(**{"hidden_size": 4, "max_iter": 1, "random_state": 0, **params})


@pytest.fixture(scope="module")
def models():
    """Factories of fresh estimators, fitted ones (as copies) under the fitted names."""
    fitted = {
        "text_clf": classifier().fit(TEXTS, LABELS),
        "numeric_clf": classifier().fit(NUMERIC, LABELS),
        "numeric3_clf": classifier().fit(NUMERIC[:, :, None].repeat(3, axis=2), LABELS),
        "tokens_clf": classifier().fit(TOKENS, LABELS),
        "str_clf": classifier().fit(TEXTS, ["pos", "neg", "neg", "pos", "pos", "neg"]),
        "gen": generator().fit(DOCUMENTS),
        "char_tok": CharTokenizer().fit(TEXTS),
        "word_tok": WordTokenizer().fit(TEXTS),
    }
    factories = {key: (lambda est=est: copy.deepcopy(est)) for key, est in fitted.items()}
    factories.update(
        clf=classifier, new_gen=generator, new_char_tok=CharTokenizer, new_word_tok=WordTokenizer,
    )
    return factories


# ---------------------------------------------------------------- the matrix

CLASSIFIER_READS = ("predict", "predict_proba", "predict_log_proba", "transform", "score")
GENERATOR_READS = ("score", "perplexity", "predict", "predict_proba", "predict_log_proba")


def case(who, method, args, error, match, label, kwargs=None, params=None):
    """``models[who]()``, with ``set_params(**params)``, then ``.method(*args, **kwargs)`` raises."""
    return pytest.param(who, params or {}, method, args, kwargs or {}, error, match, id=f"{who}.{method}-{label}")


def classifier_fits(X, error, match, label):
    """fit and partial_fit of a fresh classifier on ``X`` with valid labels."""
    return [
        case("clf", "fit", (X, [0, 1]), error, match, label),
        case("clf", "partial_fit", (X, [0, 1]), error, match, label, {"classes": [0, 1]}),
    ]


def classifier_reads(who, X, error, match, label):
    """Every method of a fitted classifier that reads ``X``."""
    return [case(who, m, (X, [0]) if m == "score" else (X,), error, match, label) for m in CLASSIFIER_READS]


def text_readers(X, error, match, label, *, generator_too=True, transform_too=True):
    """Every method that reads text documents: classifier, tokenizers and (optionally) generator."""
    cases = classifier_fits(X, error, match, label) + classifier_reads("text_clf", X, error, match, label)
    for tok in ("char_tok", "word_tok"):
        cases += [case(f"new_{tok}", m, (X,), error, match, label) for m in ("fit", "fit_transform")]
        if transform_too:
            cases.append(case(tok, "transform", (X,), error, match, label))
    if generator_too:
        cases.append(case("new_gen", "fit", (X,), error, match, label))
        cases += [case("gen", m, (X,), error, match, label) for m in GENERATOR_READS]
    return cases


def _one_column(cells):
    """An (n, 1) object array whose cells hold ``cells``, e.g. sequences (what NumPy makes of df[["ids"]])."""
    column = np.empty((len(cells), 1), dtype=object)
    for i, cell in enumerate(cells):
        column[i, 0] = cell
    return column


def numeric_readers(X, error, match, label):
    return classifier_fits(X, error, match, label) + classifier_reads("numeric_clf", X, error, match, label)


def bad_parameters(who, parameters):
    """fit with each (parameter, value) set; the message names the parameter and its valid range."""
    name = "RNNSequenceClassifier" if who == "clf" else "RNNCharGenerator"
    args = (TEXTS, LABELS) if who == "clf" else (DOCUMENTS,)
    return [
        case(who, "fit", args, InvalidParameterError, rf"The '{param}' parameter of {name} must be .* Got ",
             f"{param}={value!r}", params={param: value})
        for param, value in parameters
    ]


HYPERPARAMETERS = [
    ("hidden_size", 0), ("hidden_size", -3), ("cell", "transformer"), ("solver", "lbfgs"),
    ("learning_rate", 0.0), ("learning_rate", -0.1), ("validation_fraction", 0.0),
    ("validation_fraction", 1.0), ("validation_fraction", 1.5), ("batch_size", 0),
    # a flag where a count belongs: Python counts True as an int (hidden_size=True failed inside NumPy)
    ("hidden_size", True), ("num_layers", True), ("embedding_dim", True), ("max_iter", True),
]

EMPTY = r"X holds 0 (samples|documents)"
NOT_FITTED = r"This \w+ instance is not fitted yet\. Call 'fit'"

MATRIX = [
    # -- empty X
    *text_readers([], ValueError, EMPTY, "empty-list", transform_too=False),  # transform([]) has 0 rows
    *numeric_readers(np.zeros((0, 3)), ValueError, EMPTY, "empty-array"),
    *classifier_reads("tokens_clf", np.zeros((0, 3), dtype=int), ValueError, EMPTY, "empty-ids"),
    # -- one sample, one class
    case("clf", "fit", (["good"], ["pos"]), ValueError, r"y holds one class only \('pos'\)", "one-sample"),
    case("clf", "fit", (TEXTS, [1] * 6), ValueError, r"y holds one class only .*at least two classes", "one-class"),
    case("clf", "partial_fit", (TEXTS, [1] * 6), ValueError, "classes must hold at least two classes",
         "one-class", {"classes": [1]}),
    # -- len(X) != len(y), and other bad targets
    case("clf", "fit", (TEXTS, LABELS[:5]), ValueError, "X holds 6 sequences and y 5 labels", "len-mismatch"),
    case("clf", "partial_fit", (TEXTS, LABELS[:5]), ValueError, "X holds 6 sequences and y 5 labels",
         "len-mismatch", {"classes": [0, 1]}),
    case("text_clf", "score", (TEXTS, LABELS[:5]), ValueError, "X holds 6 sequences and y 5 labels", "len-mismatch"),
    case("clf", "fit", (TEXTS, LABELS), ValueError, r"sample_weight.shape == \(2,\), expected \(6,\)",
         "sample-weight-len", {"sample_weight": [1.0, 2.0]}),
    case("clf", "fit", (TEXTS, LABELS), TypeError, r"sample_weight must hold numbers: could not convert string",
         "sample-weight-str", {"sample_weight": ["a"] * 6}),
    # -- class weights that are not finite numbers >= 0 (a negative one trains away from its class)
    *[case("clf", "fit", (TEXTS, LABELS), ValueError, rf"class_weight\[0\] is {shown}; class weights are finite "
           "numbers >= 0", f"class-weight-{label}", params={"class_weight": {0: value, 1: 1.0}})
      for value, shown, label in [(-1.0, r"-1\.0", "negative"), (np.nan, "nan", "nan"), (np.inf, "inf", "inf"),
                                  ("a", "'a'", "str")]],
    case("clf", "fit", (TEXTS, None), ValueError, "requires y to be passed", "y-None"),
    case("clf", "fit", (TEXTS, LABELS), TypeError, r"tokenizer=CountVectorizer\(\) must turn texts into token ids "
         r"and, once fitted, give the size of its vocabulary as n_tokens_", "tokenizer-without-n_tokens_",
         params={"tokenizer": CountVectorizer()}),
    case("clf", "fit", (TEXTS, []), ValueError, "y holds 0 labels", "y-empty"),
    case("clf", "fit", (TEXTS, [0, 1, None, 1, 0, 1]), ValueError,
         r"y holds missing labels: the one at position 2 is None; every sequence needs a label",
         "y-missing-label"),
    case("clf", "fit", (TEXTS, [0, 1, np.nan, 1, 0, 1]), ValueError, "Input y contains NaN", "y-nan"),
    # -- missing labels among str labels: a NaN used to read as "a label of another type"
    *[case("clf", "fit", (TEXTS, labels), ValueError,
           rf"y holds missing labels: the one at position 2 is {shown}; every sequence",
           name)
      for labels, shown, name in [
          (["a", "b", np.nan, "b", "a", "b"], "nan", "y-str-nan-list"),
          (np.array(["a", "b", np.nan, "b", "a", "b"], dtype=object), "nan", "y-str-nan-object"),
          (np.array(["a", "b", None, "b", "a", "b"], dtype=object), "None", "y-str-None-object"),
          (np.array([0, 1, np.nan, 1, 0, 1], dtype=object), "nan", "y-nan-object"),
          (np.array(["2020", "2021", "NaT", "2021", "2020", "2021"], dtype="datetime64[D]"), "NaT", "y-NaT")]],
    case("text_clf", "score", (TEXTS, np.array([0, 1, None, 1, 0, 1], dtype=object)), ValueError,
         r"y holds missing labels: the one at position 2 is None", "y-missing-label"),
    *[case("clf", "fit", (TEXTS, labels), ValueError, "y mixes str labels with labels of other types", name)
      for labels, name in [([1, "a", 1, "a", 1, "a"], "y-mixed-list"),
                           (np.array([1, "a", 1, "a", 1, "a"], dtype=object), "y-mixed-object")]],
    case("clf", "fit", (TEXTS, np.linspace(0, 1, 6)), ValueError, "Unknown label type", "y-continuous"),
    # -- unseen labels at score
    case("text_clf", "score", (TEXTS[:2], ["a", "b"]), ValueError, r"y holds str labels such as 'a', but the "
         r"classifier was fitted on classes_ \[0 1\]\. Score with labels of the type", "str-labels-for-int-classes"),
    case("str_clf", "score", (TEXTS[:2], [0, 1]), ValueError, r"y holds numeric labels such as 0, but the "
         r"classifier was fitted on classes_ \['neg' 'pos'\]", "int-labels-for-str-classes"),
    case("tokens_clf", "partial_fit", (TOKENS, [0, 1, 2, 1, 0, 1]), ValueError, r"y has classes not in classes_",
         "unseen-label"),
    # -- None, NaN and inf in numeric sequences
    *numeric_readers(np.array([[0.0, np.nan, 1.0]] * 2), ValueError,
                     r"Input X contains NaN\. For sequences of different lengths .*pass a list", "nan"),
    *numeric_readers(np.array([[0.0, np.inf, 1.0]] * 2), ValueError, "Input X contains infinity", "inf"),
    # -- numbers the network's float32 cannot hold (they would come out as NaN probabilities)
    *numeric_readers(np.full((2, 3), 1e300), ValueError, r"X holds a value of magnitude 1e\+300, beyond the range of "
                     r"float32 .*set dtype='float64'", "beyond-float32"),
    *numeric_readers([np.full(3, -1e300), np.ones(2)], ValueError, r"X holds a value of magnitude 1e\+300",
                     "beyond-float32-ragged"),
    # -- a list of sequences with one that is not a sequence: the error names it, not its neighbours
    *numeric_readers([np.ones(3), None], ValueError, r"X\[1\] has 0 dimension\(s\); each sequence must be",
                     "None-sequence"),
    # -- dates, which NumPy would silently turn into days since 1970
    *numeric_readers(np.array([["2020-01-01"] * 3] * 2, dtype="datetime64[D]"), TypeError,
                     r"X has dtype datetime64\[D\]; convert dates and durations to numbers first", "datetime"),
    *numeric_readers([[0.0, None, 1.0]] * 2, ValueError, r"X\[0\]\[1\] is None, but numeric sequences cannot have "
                     "missing values", "None"),
    *numeric_readers([np.ones(3), np.array([1.0, np.nan])], ValueError,
                     r"X\[1\] holds nan at step 1, but numeric sequences hold finite numbers.*needs no padding",
                     "ragged-nan"),
    *numeric_readers([np.ones(3), np.array([-np.inf])], ValueError, r"X\[1\] holds -inf at step 0", "ragged-inf"),
    *numeric_readers([np.ones((2, 2)), np.array([[1.0, 2.0], [3.0, np.nan], [np.nan, 1.0]])], ValueError,
                     r"X\[1\] holds nan at step 1", "ragged-nan-2d"),
    *numeric_readers([[1.0, 2.0, 3.0], [4.0, None]], ValueError, r"X\[1\]\[1\] is None", "ragged-None"),
    case("clf", "fit", (NUMERIC, LABELS), ValueError, "Input sample_weight contains NaN", "sample-weight-nan",
         {"sample_weight": [1.0, np.nan, 1.0, 1.0, 1.0, 1.0]}),
    # -- non-str items in text, naming the index
    *text_readers(["fine", 3, "ok"], TypeError, r"X\[1\] is int, expected str", "int-item"),
    *text_readers(["fine", "ok", None], TypeError, r"X\[2\] is NoneType, expected str.*fill them with ''",
                  "None-item"),
    *text_readers(["fine", float("nan")], TypeError, r"X\[1\] is float, expected str", "nan-item"),
    # -- a single str where an iterable of documents is expected (the generator reads it as one document)
    *text_readers("good movie", TypeError, r"X must be an iterable of str documents, got a single str; wrap it",
                  "single-str", generator_too=False),
    # -- bytes
    *text_readers(b"good movie", TypeError, r"X must be an iterable of str documents, got bytes; decode it",
                  "bytes"),
    *text_readers(["good", b"movie"], TypeError, r"X\[1\] is bytes, expected str\. Decode it", "bytes-item"),
    *text_readers([b"good", b"movie"], TypeError, r"X\[0\] is bytes, expected str\. Decode it", "all-bytes-items"),
    case("gen", "generate", (b"he",), InvalidParameterError, r"The 'prompt' parameter of generate must be an "
         "instance of 'str'", "bytes-prompt"),
    # -- 1-D, 4-D and object arrays
    *numeric_readers(np.ones(3), ValueError, r"X must be 2-D .* got 1 dimension\(s\) with shape \(3,\)\. Reshape "
                     r"your data, e\.g\. X\.reshape\(1, -1\) for one sequence", "1d"),
    # a list of numbers: scikit-learn's advice, reshape(-1, 1), would make one-step sequences of it
    *numeric_readers([0.1, 0.2, 0.3], ValueError, r"X must be 2-D .* got 1 dimension\(s\) with shape \(3,\)\. "
                     r"Reshape your data, e\.g\. \[X\] for one sequence", "1d-list"),
    *numeric_readers(np.ones((2, 3, 1, 1)), ValueError, r"X must be 2-D .* got 4 dimension\(s\)", "4d"),
    *classifier_reads("tokens_clf", np.array([2, 3]), ValueError, r"X must be a 2-D array of token ids", "1d-ids"),
    *classifier_reads("tokens_clf", np.ones((2, 3, 1, 1), dtype=int), ValueError,
                      r"X must be a 2-D array of token ids .*got 4 dimension", "4d-ids"),
    *classifier_reads("tokens_clf", np.ones((2, 3, 2), dtype=int), ValueError,
                      r"X must be a 2-D array of token ids .*got 3 dimension", "3d-ids"),
    *numeric_readers(np.array([[1.0, "a", 2.0]] * 2, dtype=object), TypeError,
                     r"X\[0, 1\] is str 'a', but numeric sequences hold numbers\. For text, pass an iterable of str",
                     "object-with-str"),
    *numeric_readers(np.array([[1.0, {}, 2.0]] * 2, dtype=object), TypeError,
                     r"X\[0, 1\] is dict \{\}, but numeric sequences hold numbers", "object-with-dict"),
    *classifier_fits(_one_column([[2, 3], [4]]), TypeError,  # as df[["ids"]] reads
                     r"X\[0, 0\] is list \[2, 3\], .*pass that one column, e\.g\. df\['ids'\]", "frame-of-lists"),
    *numeric_readers(np.array([object(), object()]), ValueError, r"X must be 2-D .* got 1 dimension", "object-1d"),
    *numeric_readers([["good", "movie"], ["bad"]], TypeError, r"X\[0\]\[0\] is str 'good'.*one document per sample",
                     "pretokenized-text"),
    *text_readers(np.array([["good movie"], ["bad movie"]], dtype=object), ValueError,
                  r"X must be one-dimensional .*got 2 dimensions with shape \(2, 1\)", "2d-text"),
    case("char_tok", "inverse_transform", (np.array([2, 3]),), ValueError, r"X must be a 2-D array of token ids",
         "1d-ids"),
    case("char_tok", "inverse_transform", (np.ones((1, 2, 2), dtype=int),), ValueError,
         r"X must be a 2-D array of token ids .*got 3 dimensions", "3d-ids"),
    # -- negative token ids (ids beyond the vocabulary are defined: see below)
    *classifier_fits(np.array([[2, -1], [3, 4]]), ValueError, r"X holds the negative token id -1; token ids are "
                     r"integers >= 0.*For numbers \(readings, measurements\) set input_type='numeric'", "negative-id"),
    # at predict, input_type='numeric' would not help: no such advice
    *classifier_reads("tokens_clf", np.array([[2, -5]]), ValueError, r"X holds the negative token id -5; token ids "
                      r"are integers >= 0 with 0 as padding, e\.g\. the output of WordTokenizer\(\)\.fit_transform"
                      r"\(texts\)\.$", "negative-id"),
    *classifier_reads("tokens_clf", [[2, 3], [-5]], ValueError, "X holds the negative token id -5",
                      "negative-id-ragged"),
    # -- ids that don't fit: past the platform's integers (not wrapped around to negative), or past memory
    *classifier_reads("tokens_clf", np.array([[2**63 + 5, 1]], dtype=np.uint64), ValueError,
                      "X holds the token id 9223372036854775813, beyond the largest id", "id-beyond-intp"),
    case("clf", "fit", (np.array([[10**15, 1], [2, 3]]), [0, 1]), MemoryError,
         r"weights for 1,000,000,000,000,001 inputs .* don't fit in memory\. .*renumber sparse ids", "huge-id"),
    case("char_tok", "inverse_transform", ([[2, 99]],), ValueError, r"X holds token id 99, outside \[0, n_tokens_",
         "id-beyond-vocabulary"),
    # -- the wrong number of features at predict
    *classifier_reads("numeric_clf", np.ones((2, 4)), ValueError,
                      "X has 4 features, but RNNSequenceClassifier is expecting 3 features as input: the steps of "
                      "a padded numeric array, fixed at fit. Pass 3 steps, or a list of sequences", "wrong-steps"),
    *classifier_reads("numeric_clf", np.ones((2, 3, 2)), ValueError,
                      "X has 2 features per step, but RNNSequenceClassifier is expecting 1 features per step",
                      "wrong-features-per-step"),
    # one step of 3 features written as a 1-D item, which is 3 steps of one feature
    *classifier_reads("numeric3_clf", [np.ones(3)], ValueError,
                      r"X has 1 features per step, .* expecting 3 features per step as input\. Each 1-D item of a "
                      r"list is a sequence of one feature per step; write one step of 3 features as an array of "
                      r"shape \(1, 3\)", "1d-item"),
    # -- an input type at predict different from the one at fit
    *classifier_reads("text_clf", NUMERIC, ValueError, r"fitted on text .*but X looks like numeric sequences",
                      "numeric-after-text"),
    *classifier_reads("text_clf", TOKENS, ValueError, r"fitted on text .*but X looks like token ids",
                      "ids-after-text"),
    *classifier_reads("numeric_clf", TEXTS, ValueError, r"fitted on numeric sequences .*but X looks like text",
                      "text-after-numeric"),
    *classifier_reads("tokens_clf", NUMERIC, ValueError, r"fitted on token ids .*but X looks like numeric.* "
                      r"Integers in \(n_samples, n_steps\) are read as token ids unless fit had "
                      r"input_type='numeric'", "numeric-after-ids"),
    case("text_clf", "partial_fit", (NUMERIC, LABELS), ValueError, r"fitted on text .*but X looks like numeric",
         "numeric-after-text"),
    case("clf", "fit", (TEXTS, LABELS), ValueError, r"input_type='numeric', but X looks like text",
         "explicit-input-type", params={"input_type": "numeric"}),
    # -- nothing to learn from: a model of the class prior only, trained without a word (partial_fit, one
    # batch of a stream, may have none)
    case("clf", "fit", (np.zeros((2, 0, 3)), [0, 1]), ValueError,
         "X holds no steps to learn from: every sequence is empty", "no-steps"),
    case("clf", "fit", ([np.zeros((0, 3))] * 2, [0, 1]), ValueError,
         "X holds no steps to learn from: every sequence is empty", "no-steps-list"),
    case("clf", "fit", (np.zeros((2, 3), dtype=int), [0, 1]), ValueError,
         r"X holds no steps to learn from: every sequence is empty or all padding \(id 0\)", "all-padding"),
    case("tokens_clf", "fit", (np.zeros((2, 3), dtype=int), [0, 1]), ValueError,
         r"X holds no steps to learn from: every sequence is empty or all padding", "all-padding-warm",
         params={"warm_start": True}),
    *classifier_fits(["", "  "], ValueError, r"X contains no tokens \(every document is empty", "no-words"),
    case("clf", "fit", (["", "  "], [0, 1]), ValueError, "X holds no steps to learn from: every document is empty "
         "once tokenized", "no-words-other-tokenizer", params={"tokenizer": PaddingTokenizer()}),
    case("clf", "fit", (TEXTS, LABELS), TypeError, r"tokenizer=WordTokenizer is a class; pass an instance, e\.g\. "
         r"tokenizer=WordTokenizer\(\)", "tokenizer-class", params={"tokenizer": WordTokenizer}),
    *[case("clf", method, (TEXTS, LABELS), InvalidParameterError, r"got the function .*pass "
           r"tokenizer=WordTokenizer\(analyzer=that_function\)", "tokenizer-function", params={"tokenizer": str.split})
      for method in ("fit", "partial_fit")],
    # -- invalid hyperparameters
    *bad_parameters("clf", HYPERPARAMETERS),
    *bad_parameters("new_gen", [*HYPERPARAMETERS, ("seq_length", 0), ("seq_length", -1), ("seq_length", True)]),
    # -- generate's arguments
    *[case("gen", method, ("h",), InvalidParameterError, rf"The '{arg}' parameter of generate must be",
           f"{arg}={value}", {arg: value})
      for method in ("generate", "iter_generate")
      for arg, value in [("temperature", -1.0), ("temperature", float("nan")), ("top_k", 0), ("top_k", 1.5),
                         ("top_k", True), ("n_chars", -1), ("n_chars", True)]],
    *[case("gen", method, ("hez",), ValueError, r"prompt contains characters the model was not trained on: \['z'\]",
           "prompt-out-of-vocabulary") for method in ("generate", "iter_generate")],
    *[case("gen", m, (["hello", "hez"],), ValueError, r"X\[1\] contains characters the model was not trained on",
           "out-of-vocabulary") for m in GENERATOR_READS if m not in ("score", "perplexity")],
    # -- methods before fit
    *[case("clf", m, (TEXTS, LABELS) if m == "score" else (TEXTS,), NotFittedError, NOT_FITTED, "before-fit")
      for m in CLASSIFIER_READS],
    case("clf", "get_feature_names_out", (), NotFittedError, NOT_FITTED, "before-fit"),
    *[case("new_gen", m, (["hello"],), NotFittedError, NOT_FITTED, "before-fit") for m in GENERATOR_READS],
    *[case("new_gen", m, ("h",), NotFittedError, NOT_FITTED, "before-fit") for m in ("generate", "iter_generate")],
    *[case(f"new_{tok}", method, args, NotFittedError, NOT_FITTED, "before-fit")
      for tok in ("char_tok", "word_tok")
      for method, args in [("transform", (TEXTS,)), ("inverse_transform", ([[2, 3]],)), ("get_feature_names_out", ())]],
]


@pytest.mark.parametrize("who, params, method, args, kwargs, error, match", MATRIX)
def test_bad_input_raises_naming_the_argument(models, who, params, method, args, kwargs, error, match):
    estimator = models[who]().set_params(**params)
    with pytest.raises(error, match=match):
        getattr(estimator, method)(*args, **kwargs)


# ---------------------------------------------------- inputs with a defined result


def softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


def test_bad_input_empty_sequences_get_the_bias_only_prediction(models):
    """Empty strings, all-padding id rows and zero-width batches: the documented prediction from the bias."""
    bias_only = softmax(models["text_clf"]().weights_["b_y"])
    text_clf = models["text_clf"]()
    for X in ([""], ["", ""], ["", "good movie"], ["good movie", ""]):
        proba = text_clf.predict_proba(X)
        np.testing.assert_allclose(proba[X.index("")], bias_only, rtol=1e-6)
        assert np.isfinite(text_clf.predict_log_proba(X)).all()
        np.testing.assert_array_equal(text_clf.transform(X)[X.index("")], 0.0)
    assert text_clf.predict([""])[0] == text_clf.classes_[bias_only.argmax()]
    tokens_clf = models["tokens_clf"]()
    bias_only = softmax(tokens_clf.weights_["b_y"])
    for X in (np.zeros((1, 3), dtype=int), np.zeros((2, 0), dtype=int), [[0], [0, 0]]):
        np.testing.assert_allclose(tokens_clf.predict_proba(X), [bias_only] * len(X), rtol=1e-6)


@pytest.mark.parametrize("X, y", [(["", *TEXTS, ""], [0, *LABELS, 1]), (["", "", "good", "bad"], [0, 0, 1, 1])])
def test_bad_input_fit_with_empty_strings_works(X, y):
    clf = classifier().fit(X, y)
    np.testing.assert_allclose(clf.predict_proba([""])[0], softmax(clf.weights_["b_y"]), rtol=1e-6)


def test_bad_input_empty_documents_for_generator_and_tokenizers(models):
    gen = models["gen"]()
    start = gen.predict_log_proba([""])[0]  # the distribution of a document's first character
    assert np.isfinite(start).all()
    np.testing.assert_allclose(gen.score([""]), start[0], rtol=1e-6)  # an empty document: END first
    np.testing.assert_allclose(gen.predict_proba(["", "he"])[0], np.exp(start), rtol=1e-6)
    for tok in ("char_tok", "word_tok"):
        assert models[tok]().transform([]).shape == (0, 0)
        np.testing.assert_array_equal(models[tok]().transform(["", ""]), np.zeros((2, 0)))


@pytest.mark.parametrize(
    "X, long, truncated",
    [
        pytest.param(TEXTS, ["good movie bad plot"], ["good movie"], id="text"),
        pytest.param(TOKENS, [[2, 3, 4, 5]], [[2, 3]], id="ids"),
        pytest.param(TOKENS, np.array([[2, 3, 4], [5, 6, 0]]), np.array([[2, 3, 0], [5, 6, 0]]), id="padded-ids"),
        pytest.param(NUMERIC, NUMERIC, np.c_[NUMERIC[:, :2], np.zeros(6)], id="numeric"),
        pytest.param([row[: 1 + i % 3] for i, row in enumerate(NUMERIC)], [np.arange(5.0), np.ones(1)],
                     [np.arange(2.0), np.ones(1)], id="ragged-numeric"),
    ],
)
def test_bad_input_sequences_longer_than_max_len_are_truncated(X, long, truncated):
    clf = classifier(max_len=2).fit(X, LABELS)
    np.testing.assert_array_equal(clf.predict_proba(long), clf.predict_proba(truncated))


def test_bad_input_ids_beyond_the_vocabulary_read_as_unknown(models):
    clf = models["tokens_clf"]()
    assert clf.n_inputs_ == 8
    unseen, unknown = [[2, 8, 3], [300, 0, 0]], [[2, 1, 3], [1, 0, 0]]
    np.testing.assert_array_equal(clf.predict_proba(unseen), clf.predict_proba(unknown))


def test_bad_input_integers_are_numbers_for_a_numeric_model(models):
    clf = models["numeric_clf"]()
    ints = np.array([[1, 0, 2], [0, 0, 1]])
    np.testing.assert_array_equal(clf.predict_proba(ints), clf.predict_proba(ints.astype(float)))


def test_bad_input_a_batch_without_steps_trains_the_output_bias():
    # as at predict, sequences without steps pool to zeros: only the output bias can learn from them
    clf = classifier(solver="sgd", momentum=0.0, alpha=0.0).partial_fit(TEXTS, LABELS, classes=[0, 1])
    before = {name: value.copy() for name, value in clf.weights_.items()}  # plain gradient steps from here
    clf.partial_fit(["", " "], [1, 1])
    assert clf.weights_["b_y"][1] > before["b_y"][1]
    np.testing.assert_array_equal(clf.weights_["W_hy"], before["W_hy"])
    # a fit whose every sequence is empty has nothing but the prior to learn, and raises (matrix: no-steps)
    numeric = classifier(solver="sgd", momentum=0.0, alpha=0.0).partial_fit([np.ones(2)], [0], classes=[0, 1])
    b_y = numeric.weights_["b_y"].copy()
    numeric.partial_fit([np.array([]), np.array([])], [0, 0])
    assert numeric.weights_["b_y"][0] > b_y[0]


def test_bad_input_a_pandas_series_of_sequences_is_a_list_of_them():
    pd = pytest.importorskip("pandas")
    series = [np.arange(n, dtype=float) for n in (3, 5, 2, 4, 3, 5)]
    clf = classifier().fit(pd.Series(series), LABELS)
    np.testing.assert_array_equal(clf.predict_proba(pd.Series(series)), clf.predict_proba(series))
    assert classifier().fit(pd.Series([[2, 3], [4], [5, 6, 7], [2], [3], [4, 4]]), LABELS).input_type_ == "tokens"


@pytest.mark.parametrize(
    "values, dtype, shown",
    [(["a", "b", None, "b", "a", "b"], "string", "<NA>"),  # used to raise "boolean value of NA is ambiguous"
     (["a", "b", None, "b", "a", "b"], "category", "nan"),
     (["a", "b", None, "b", "a", "b"], object, "(None|nan)"),
     ([0, 1, None, 1, 0, 1], "Int64", "<NA>"),
     ([True, False, None, False, True, False], "boolean", "<NA>"),
     (["2020", "2021", None, "2021", "2020", "2021"], "datetime64[ns]", "NaT")],
)
def test_bad_input_pandas_labels_with_missing_values(models, values, dtype, shown):
    pd = pytest.importorskip("pandas")
    y = pd.Series(values, dtype=dtype)
    match = rf"y holds missing labels: the one at position 2 is {shown}; every sequence needs a label"
    with pytest.raises(ValueError, match=match):
        classifier().fit(TEXTS, y)
    with pytest.raises(ValueError, match=match):
        classifier().partial_fit(TEXTS, y, classes=pd.Series(values, dtype=dtype).dropna().unique())
    with pytest.raises(ValueError, match=match):
        models["text_clf"]().score(TEXTS, y)
    with pytest.raises(ValueError, match=match):  # a one-column DataFrame
        classifier().fit(TEXTS, y.to_frame())


@pytest.mark.parametrize("dtype", ["string", "category", "Int64"])
def test_bad_input_pandas_extension_arrays_as_labels(dtype):
    # df["label"].values is a pandas ExtensionArray (a StringArray for str columns in pandas 3), which has isna()
    # but no .array: the missing-label check failed with an AttributeError on every such y
    pd = pytest.importorskip("pandas")
    values = ["a", "b", "a", "b", "a", "b"] if dtype != "Int64" else [0, 1, 0, 1, 0, 1]
    y = pd.array(values, dtype=dtype)
    clf = classifier().fit(TEXTS, y)
    assert clf.classes_.tolist() == sorted(set(values))
    assert 0 <= clf.score(TEXTS, y) <= 1
    with pytest.raises(ValueError, match="y holds missing labels: the one at position 2 is (<NA>|nan)"):
        classifier().fit(TEXTS, pd.array([*values[:2], None, *values[3:]], dtype=dtype))
    with pytest.raises(ValueError, match="classes holds missing labels: the one at position 2 is (<NA>|nan)"):
        classifier().partial_fit(TEXTS, y, classes=pd.array([*values[:2], None], dtype=dtype))


def test_bad_input_integer_arrays_with_a_feature_axis_are_numbers():
    # (N, T, D) integers (pixels, counts) have a feature axis that token ids don't have
    images = np.random.default_rng(0).integers(0, 16, size=(6, 4, 3))
    clf = classifier().fit(images, LABELS)
    assert clf.input_type_ == "numeric" and clf.n_inputs_ == 3
    np.testing.assert_array_equal(clf.predict_proba(images), clf.predict_proba(images.astype(float)))


def test_bad_input_a_list_of_sequences_may_have_any_lengths(models):
    # equal lengths, other than the 3 steps seen at fit, are no different from unequal ones
    clf = models["numeric_clf"]()
    alone = [clf.predict_proba([seq])[0] for seq in (np.ones(4), np.arange(4.0), np.ones(0))]
    np.testing.assert_allclose(clf.predict_proba([np.ones(4), np.arange(4.0)]), alone[:2], rtol=1e-6)
    np.testing.assert_allclose(clf.predict_proba([np.ones(4), np.arange(4.0), np.ones(0)]), alone, rtol=1e-6)


def test_bad_input_generator_reads_a_str_as_one_document(models):
    gen = models["gen"]()
    np.testing.assert_array_equal(gen.predict_proba("hel"), gen.predict_proba(["hel"]))
    assert gen.score("hello") == gen.score(["hello"])
    one, listed = generator().fit("hello"), generator().fit(["hello"])
    for name, value in one.weights_.items():
        np.testing.assert_array_equal(listed.weights_[name], value)


def test_bad_input_one_sample_fits_where_it_can():
    assert generator().fit(["hi"]).classes_.tolist() == ["", "h", "i"]
    assert CharTokenizer().fit(["hi"]).n_tokens_ == 4
    assert WordTokenizer().fit(["hi"]).n_tokens_ == 3
    clf = classifier().partial_fit(["good"], [1], classes=[0, 1])
    assert clf.predict(["good"])[0] in (0, 1)


# ------------------------------------------------- a failed fit loses nothing


def snapshot(estimator):
    """Every attribute, pickled: equal snapshots mean bit-identical weights and state."""
    return {key: pickle.dumps(value) for key, value in vars(estimator).items()}


def outputs(estimator):
    if isinstance(estimator, RNNSequenceClassifier):
        X = {"text": TEXTS, "numeric": NUMERIC, "tokens": TOKENS}[estimator.input_type_]
        return estimator.predict_proba(X)
    if isinstance(estimator, RNNCharGenerator):
        return estimator.predict_proba(["", "he", "wor"])
    return estimator.transform(TEXTS)


def failed_fit(who, method, args, error, label, params=None, kwargs=None):
    return pytest.param(who, params or {}, method, args, kwargs or {}, error, id=f"{who}.{method}-{label}")


FAILED_FITS = [
    failed_fit("text_clf", "fit", (np.array([[0.0, np.nan]] * 6), LABELS), ValueError, "nan"),
    failed_fit("text_clf", "fit", (TEXTS, [1] * 6), ValueError, "one-class"),
    failed_fit("text_clf", "fit", (TEXTS[:5], LABELS), ValueError, "len-mismatch"),
    failed_fit("text_clf", "fit", (["ok", 3, "ok", "no", "a", "b"], LABELS), TypeError, "int-item"),
    failed_fit("text_clf", "fit", (TEXTS, LABELS), ValueError, "early-stopping-split", {"early_stopping": True}),
    failed_fit("text_clf", "fit", (TEXTS, LABELS), InvalidParameterError, "hidden_size=0", {"hidden_size": 0}),
    failed_fit("text_clf", "fit", (TEXTS, [0, 1, 2, 0, 1, 2]), ValueError, "warm-start-new-classes",
               {"warm_start": True}),
    failed_fit("text_clf", "partial_fit", (NUMERIC, LABELS), ValueError, "numeric-after-text"),
    failed_fit("numeric_clf", "fit", (["good", None, "bad", "ok", "a", "b"], LABELS), TypeError, "None-item"),
    failed_fit("numeric_clf", "fit", (np.array([[1.0, "a"]] * 6, dtype=object), LABELS), TypeError, "str-item"),
    failed_fit("numeric_clf", "fit", (np.ones((6, 2, 1, 1)), LABELS), ValueError, "4d"),
    failed_fit("numeric_clf", "fit", (np.ones((6, 4)), LABELS), ValueError, "sample-weight-nan",
               kwargs={"sample_weight": [np.nan] * 6}),
    failed_fit("numeric_clf", "fit", (TOKENS, [1] * 6), ValueError, "ids-one-class"),
    failed_fit("numeric_clf", "partial_fit", (np.ones((6, 4)), LABELS), ValueError, "wrong-steps"),
    failed_fit("tokens_clf", "fit", (np.array([[2, -1]] * 6), LABELS), ValueError, "negative-id"),
    failed_fit("gen", "fit", (b"hello",), TypeError, "bytes"),
    failed_fit("gen", "fit", ([],), ValueError, "empty"),
    failed_fit("gen", "fit", (["", ""],), ValueError, "no-characters"),
    failed_fit("gen", "fit", ("hi",), ValueError, "early-stopping-split", {"early_stopping": True}),
    failed_fit("gen", "fit", ("abc",), ValueError, "warm-start-new-characters", {"warm_start": True}),
    failed_fit("gen", "fit", (DOCUMENTS,), InvalidParameterError, "seq_length=0", {"seq_length": 0}),
    *[failed_fit(tok, "fit", args, error, label)
      for tok in ("char_tok", "word_tok")
      for args, error, label in [(([],), ValueError, "empty"), ((["", ""],), ValueError, "no-tokens"),
                                 ((["a", 1],), TypeError, "int-item"), (("text",), TypeError, "single-str")]],
    failed_fit("word_tok", "fit", (TEXTS,), ValueError, "empty-vocabulary", {"min_frequency": 100}),
]


@pytest.mark.parametrize("who, params, method, args, kwargs, error", FAILED_FITS)
def test_bad_input_failed_fit_leaves_the_fitted_estimator_as_it_was(models, who, params, method, args, kwargs,
                                                                    error):
    estimator = models[who]()
    predicted, original = outputs(estimator), estimator.get_params()
    before = snapshot(estimator.set_params(**params))
    with pytest.raises(error):
        getattr(estimator, method)(*args, **kwargs)
    assert snapshot(estimator) == before
    np.testing.assert_array_equal(outputs(estimator.set_params(**original)), predicted)
