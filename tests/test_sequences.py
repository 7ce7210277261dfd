"""The input boundary: input types, padding, lengths and error messages."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.base import BaseEstimator

from skrnn._sequences import (
    Ragged,
    check_ragged,
    check_token_ids,
    fit_sequences,
    infer_input_type,
    read_sequences,
    resolve_input_type,
    set_input_state,
    token_lengths,
    truncate,
)


class Holder(BaseEstimator):
    """The smallest estimator that validate_data accepts."""


class RecordingTokenizer(BaseEstimator):
    """A tokenizer of someone else's: WordTokenizer's ids, recording the width of each transform."""

    def fit(self, X, y=None):
        from skrnn import WordTokenizer

        self.inner_ = WordTokenizer().fit(X)
        self.n_tokens_ = self.inner_.n_tokens_
        self.widths = []
        return self

    def transform(self, X):
        ids = self.inner_.transform(X)
        self.widths.append(ids.shape[1])
        return ids


@pytest.mark.parametrize(
    "X, expected",
    [
        (["a b", "c"], "text"),
        (("a b", "c"), "text"),
        (np.array(["a b", "c"]), "text"),
        (np.array(["a b", "c"], dtype=object), "text"),
        (pd.Series(["a b", "c"]), "text"),
        (["a b", None], "text"),  # the text reader names the bad item
        (np.array([[1, 2], [3, 0]]), "tokens"),
        (np.array([[1, 2], [3, 0]], dtype=np.uint8), "tokens"),
        ([[1, 2], [3]], "tokens"),
        ([[1, 2], [], [3]], "tokens"),  # an empty list is float64 to NumPy: it must not decide
        ([[1.5, 2.0], [], [3.0]], "numeric"),
        (pd.DataFrame({"a": [1, 2], "b": [3, 4]}), "tokens"),
        (np.array([[1.0, 2.0]]), "numeric"),
        (np.zeros((2, 3, 4)), "numeric"),
        ([[1.0, 2.0], [3.0, 4.0]], "numeric"),
        ([np.zeros((3, 2)), np.zeros((5, 2))], "numeric"),
        ([np.zeros(3), np.zeros(5)], "numeric"),
        (np.array([[True, False]]), "numeric"),
        (sparse.csr_matrix(np.eye(2)), "numeric"),
        (pd.DataFrame({"a": [1.0, 2.0]}), "numeric"),
    ],
)
def test_infer_input_type_from_data(X, expected):
    assert infer_input_type(X) == expected


@pytest.mark.parametrize("X", ["one text", b"bytes", None])
def test_infer_input_type_refuses_single_document(X):
    with pytest.raises(TypeError, match="X must be an iterable of str"):
        infer_input_type(X)


def test_infer_input_type_refuses_non_iterable():
    with pytest.raises(TypeError, match="X must be an iterable"):
        infer_input_type(3.0)


def test_resolve_input_type_explicit_mismatch_names_parameter():
    with pytest.raises(ValueError, match=r"input_type='text'.*X looks like token ids"):
        resolve_input_type(np.array([[1, 2]]), "text")


def test_resolve_input_type_integers_are_numeric_on_request():
    assert resolve_input_type(np.array([[1, 2]]), "numeric") == "numeric"
    assert resolve_input_type(np.array([[1, 2]]), "auto") == "tokens"


def test_token_lengths_end_at_last_non_zero():
    ids = np.array([[3, 4, 0, 0], [0, 0, 0, 0], [5, 0, 6, 0], [1, 2, 3, 4]])
    np.testing.assert_array_equal(token_lengths(ids), [2, 0, 3, 4])


def test_token_lengths_no_steps():
    assert token_lengths(np.zeros((3, 0), dtype=int)).tolist() == [0, 0, 0]


def test_check_token_ids_pads_ragged_lists():
    ids, lengths = check_token_ids([[4, 5, 6], [7], []])
    np.testing.assert_array_equal(ids, [[4, 5, 6], [7, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(lengths, [3, 1, 0])


@pytest.mark.parametrize("X, rows", [
    (np.array([[0, 1, 2], [2, 0, 1], [1, 2, 0], [0, 0, 0]]), "2 row(s), the first at row 0"),  # codes from 0
    ([[2, 3], [0, 0, 4], [5, 0]], "1 row(s), the first at row 1"),  # Keras pads at the start
])
def test_check_token_ids_warns_of_padding_inside_a_sequence(X, rows):
    with pytest.warns(UserWarning, match="holds the padding id 0 inside a sequence") as caught:
        _, lengths = check_token_ids(X, max_len=1)  # the whole row counts, also beyond the cut
    assert rows in str(caught[0].message) and "need 2 added" in str(caught[0].message)
    assert lengths.tolist() == [1, 1, 1, 0][: len(lengths)]


def test_check_token_ids_right_padding_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_token_ids(np.array([[3, 4, 0], [5, 0, 0], [0, 0, 0]]))
        check_token_ids([[3, 4, 0], [], [5]])


@pytest.mark.parametrize(
    "X, error, match",
    [
        (np.array([[1, -2]]), ValueError, "X holds the negative token id -2"),
        ([[1, 2], [-1]], ValueError, "negative token id -1"),
        (np.array([[1.5, 2.0]]), TypeError, "X has dtype float64, but token ids are integers"),
        ([[1, 2], [1.5]], TypeError, r"X\[1\] has dtype float64"),
        (np.array([1, 2]), ValueError, "Reshape your data"),
        (np.zeros((2, 2, 2), dtype=int), ValueError, "X must be a 2-D array of token ids .* got 3 dimension"),
        (np.zeros((0, 3), dtype=int), ValueError, "0 sample"),
    ],
)
def test_check_token_ids_errors_name_argument(X, error, match):
    with pytest.raises(error, match=match):
        check_token_ids(X)


def test_check_ragged_pads_and_counts_steps():
    batch, lengths = check_ragged([np.ones(3), np.full(1, 2.0)])
    assert batch.shape == (2, 3, 1)
    np.testing.assert_array_equal(np.asarray(batch)[:, :, 0], [[1, 1, 1], [2, 0, 0]])
    np.testing.assert_array_equal(lengths, [3, 1])


@pytest.mark.parametrize(
    "X, match",
    [
        ([np.ones((2, 2)), np.ones((3, 3))], "different numbers of features per step: \\[2, 3\\]"),
        ([np.ones(2), np.array([1.0, np.nan])], r"X\[1\] holds nan at step 1"),
        ([np.ones(2), np.ones((2, 2, 2))], r"X\[1\]"),
        ([np.ones(3), None, np.ones(3)], r"X\[1\] has 0 dimension\(s\)"),
        ([], "0 samples"),
    ],
)
def test_check_ragged_errors_name_item(X, match):
    with pytest.raises(ValueError, match=match):
        check_ragged(X)


def test_fit_sequences_numeric_returns_state_without_touching_estimator():
    est = Holder()
    est.n_features_in_ = 99
    X = pd.DataFrame({"a": [0.1, 0.2], "b": [0.3, 0.4]})
    batch, lengths, state = fit_sequences(est, X, input_type="auto", tokenizer="word")
    assert batch.shape == (2, 2, 1) and lengths.tolist() == [2, 2]
    assert est.n_features_in_ == 99 and not hasattr(est, "feature_names_in_")
    assert state["n_features_in_"] == 2 and state["n_inputs_"] == 1
    assert state["feature_names_in_"].tolist() == ["a", "b"]


def test_fit_sequences_failure_restores_attributes():
    est = Holder()
    est.n_features_in_, est.feature_names_in_ = 5, np.array(["x"], dtype=object)
    with pytest.raises(ValueError, match="NaN"):
        fit_sequences(est, np.array([[np.nan, 1.0]]), input_type="auto", tokenizer="word")
    assert est.n_features_in_ == 5 and est.feature_names_in_.tolist() == ["x"]


def test_fit_sequences_text_fits_a_clone_of_the_tokenizer():
    from skrnn import CharTokenizer

    tokenizer = CharTokenizer()
    ids, lengths, state = fit_sequences(Holder(), ["ab", ""], input_type="auto", tokenizer=tokenizer)
    assert not hasattr(tokenizer, "vocabulary_")
    assert state["tokenizer_"] is not tokenizer and state["n_inputs_"] == 4
    assert lengths.tolist() == [2, 0] and ids.shape == (2, 2)


def test_fit_sequences_tokens_vocabulary_has_unknown_row():
    _, _, state = fit_sequences(Holder(), np.array([[0, 0], [1, 0]]), input_type="auto", tokenizer="word")
    assert state["n_inputs_"] == 2
    _, _, state = fit_sequences(Holder(), np.array([[7, 0]]), input_type="auto", tokenizer="word")
    assert state["n_inputs_"] == 8


def test_fit_sequences_warns_of_ids_far_sparser_than_their_table():
    sparse_ids = [[2, 3, 4], [5, 2**20]]
    with pytest.warns(UserWarning, match=r"largest token id is 1048576, .* but only 5 distinct ids occur"):
        _, _, state = fit_sequences(Holder(), sparse_ids, input_type="auto", tokenizer="word")
    assert state["n_inputs_"] == 2**20 + 1
    dense = np.arange(2, 2**17).reshape(-1, 2)  # a large vocabulary, every id used
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_sequences(Holder(), dense, input_type="auto", tokenizer="word")


def test_fit_sequences_consumes_generators_once():
    ids, lengths, state = fit_sequences(Holder(), (t for t in ["a b", "b"]), input_type="auto", tokenizer="word")
    assert state["input_type_"] == "text" and lengths.tolist() == [2, 1]


def test_set_input_state_drops_stale_attributes():
    est = Holder()
    est.n_features_in_, est.tokenizer_ = 3, object()
    set_input_state(est, {"input_type_": "tokens", "n_inputs_": 5})
    assert est.input_type_ == "tokens" and est.n_inputs_ == 5
    assert not hasattr(est, "n_features_in_") and not hasattr(est, "tokenizer_")


def test_read_sequences_maps_unseen_ids_to_unknown():
    est = Holder()
    set_input_state(est, fit_sequences(est, np.array([[2, 3, 0]]), input_type="auto", tokenizer="word")[2])
    ids, lengths = read_sequences(est, np.array([[3, 9, 4, 0]]))
    assert ids.tolist() == [[3, 1, 1, 0]] and lengths.tolist() == [3]


def test_read_sequences_input_type_mismatch():
    est = Holder()
    set_input_state(est, fit_sequences(est, ["a b"], input_type="auto", tokenizer="word")[2])
    with pytest.raises(ValueError, match="fitted on text .* but X looks like numeric sequences"):
        read_sequences(est, np.ones((1, 2)))


def test_read_sequences_wrong_features_per_step():
    est = Holder()
    set_input_state(est, fit_sequences(est, np.ones((2, 3, 4)), input_type="auto", tokenizer="word")[2])
    with pytest.raises(ValueError, match="X has 5 features per step, but Holder is expecting 4"):
        read_sequences(est, [np.ones((2, 5)), np.ones((1, 5))])
    with pytest.raises(ValueError, match="X has 2 features, but Holder is expecting 3 features"):
        read_sequences(est, np.ones((2, 2, 4)))


def test_read_sequences_one_unwrapped_sequence_gets_a_hint():
    est = Holder()
    set_input_state(est, fit_sequences(est, [np.ones((3, 2)), np.ones((5, 2))], tokenizer="word")[2])
    with pytest.raises(ValueError, match=r"one sequence of shape \(n_steps, n_features\) = \(9, 2\), wrap it"):
        read_sequences(est, np.ones((9, 2)))


def test_read_sequences_numeric_accepts_integers():
    est = Holder()
    set_input_state(est, fit_sequences(est, np.ones((2, 3)), input_type="auto", tokenizer="word")[2])
    batch, _ = read_sequences(est, np.ones((1, 3), dtype=int))
    assert batch.dtype.kind == "f" and batch.shape == (1, 3, 1)


def test_truncate_keeps_first_steps():
    batch, lengths = truncate(np.arange(8).reshape(2, 4), np.array([4, 1]), 2)
    assert batch.tolist() == [[0, 1], [4, 5]] and lengths.tolist() == [2, 1]
    same, _ = truncate(batch, lengths, None)
    assert same is batch


LONG = 500  # steps of the one long sequence among short ones


@pytest.mark.parametrize("X", [
    ["a b c d"] * 5 + [" ".join(["w"] * LONG)],  # text
    [np.array([2, 3, 4, 5])] * 4 + [np.array([0, 0, 0, 7]), np.full(LONG, 2)],  # token ids, ragged
    np.r_[np.full((5, LONG), 0), np.full((1, LONG), 2)].astype(np.int64) + np.eye(6, LONG, dtype=np.int64),  # padded
    [np.ones(4)] * 5 + [np.ones(LONG)],  # numeric, ragged
    [np.ones((LONG, 2))] * 6,  # numeric, equal lengths
    np.ones((6, LONG, 2)),  # numeric array
], ids=["text", "token list", "token array", "numeric list", "numeric equal list", "numeric array"])
@pytest.mark.filterwarnings("ignore:X holds the padding id 0 inside")  # rows of 0s before a real id, on purpose
def test_max_len_reads_only_the_steps_kept(X, monkeypatch):
    # One long sequence padded every row to its length before max_len cut it (50,000 SMS and one
    # 5,000-word text: 3 GB for predict_proba); now the batch is max_len wide from the start.
    widths = []
    monkeypatch.setattr("skrnn._sequences.TOKENIZE_CHUNK", 2)
    est = Holder()
    set_input_state(est, fit_sequences(est, X, tokenizer="word")[2])
    full, full_lengths = read_sequences(est, X)
    batch, lengths = read_sequences(est, X, max_len=3)
    assert batch.shape[1] == 3 and full.shape[1] == LONG
    expected, expected_lengths = truncate(full, full_lengths, 3)
    np.testing.assert_array_equal(batch, expected)
    np.testing.assert_array_equal(lengths, expected_lengths)
    fitted, fitted_lengths, _ = fit_sequences(Holder(), X, tokenizer="word", max_len=3)
    np.testing.assert_array_equal(fitted, expected)
    np.testing.assert_array_equal(fitted_lengths, expected_lengths)
    if isinstance(X[0], str):  # another tokenizer's text goes through in chunks: only the long one's is that wide
        est = Holder()
        set_input_state(est, fit_sequences(est, X, tokenizer=RecordingTokenizer())[2])
        est.tokenizer_.widths = widths
        batch, _ = read_sequences(est, X, max_len=3)
        assert sorted(widths) == [4, 4, LONG]
        np.testing.assert_array_equal(batch, expected)


def test_token_id_lists_refuse_ids_beyond_intp():
    # concatenated with int64 rows, uint64 ones went through float64 and wrapped to a negative index
    with pytest.raises(ValueError, match="beyond the largest id"):
        check_token_ids([np.array([2**63 + 5], dtype=np.uint64), np.array([3, 4])])


def test_max_len_still_refuses_negative_ids_beyond_it():
    with pytest.raises(ValueError, match="negative token id -1"):
        check_token_ids([np.array([2, 3, -1])], max_len=2)
    with pytest.raises(ValueError, match="negative token id -1"):
        check_token_ids(np.array([[2, 3, -1]]), max_len=2)


@pytest.mark.parametrize("features", [(), (2,)])
def test_ragged_reads_as_the_padded_batch(features):
    rng = np.random.default_rng(0)
    lengths = np.array([3, 0, 5, 1, 5])
    ragged = Ragged(rng.normal(size=(lengths.sum(), *features)), lengths)
    dense = np.asarray(ragged)
    assert dense.shape == ragged.shape == (5, 5, *features) and len(ragged) == 5
    assert (dense[np.arange(5) >= lengths[:, None]] == 0).all()  # padded with 0
    for rows in (np.array([4, 0, 2]), np.array([1]), np.arange(5)[::-1], slice(1, 4)):
        for steps in (slice(None), slice(None, 2), slice(None, 7)):
            np.testing.assert_array_equal(ragged[rows, steps], dense[rows, steps])
        subset = ragged[rows]
        assert isinstance(subset, Ragged)
        np.testing.assert_array_equal(np.asarray(subset), dense[rows][:, : subset.shape[1]])
    np.testing.assert_array_equal(ragged[[-1, 0], :3], dense[[-1, 0], :3])
    np.testing.assert_array_equal(ragged[lengths > 2, :3], dense[lengths > 2, :3])
    assert ragged[[], :3].shape == (0, 3, *features)
    for unsupported in [(slice(None), slice(1, 3)), (slice(None), slice(None, None, 2)), 0, (slice(None), 1)]:
        with pytest.raises(IndexError, match="Ragged"):  # rather than the wrong steps
            ragged[unsupported]


@pytest.mark.parametrize("X", [
    ["a b"] * 50 + [" ".join(["w"] * LONG)],  # text
    [np.array([2, 3])] * 50 + [np.full(LONG, 2)],  # token ids
    [np.ones(2)] * 50 + [np.ones(LONG)],  # numeric
], ids=["text", "token list", "numeric list"])
def test_sequences_of_different_lengths_are_stored_without_padding(X):
    # One long sequence padded every other to its length: 50,000 SMS and one 5,000-word text took 3 GB
    est = Holder()
    set_input_state(est, fit_sequences(est, X, tokenizer="word")[2])
    batch, lengths = read_sequences(est, X)
    assert isinstance(batch, Ragged) and batch.shape[:2] == (51, LONG)
    assert len(batch.values) == lengths.sum() == 50 * 2 + LONG
    assert batch[np.arange(50), :2].shape[:2] == (50, 2)  # a minibatch is only as wide as its longest
