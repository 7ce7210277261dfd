"""The input boundary: text, token ids or numbers -> (padded batch, lengths).

Every sequence estimator reads its ``X`` here, once, and gets back what the
core runs on:

==========  ========================================  ===========================
input_type  accepted ``X``                            batch
==========  ========================================  ===========================
"text"      iterable of str                           (N, T) ids from a tokenizer
"tokens"    (N, T) integer array right-padded with    (N, T) ids
            0, or a list of integer sequences
"numeric"   (N, T) or (N, T, D) array, or a list of   (N, T, D) floats
            (T_i,) or (T_i, D) arrays
==========  ========================================  ===========================

Text and lists come back as a ``Ragged`` batch, which keeps the sequences
back to back and pads only the rows asked for (``batch[rows, :steps]``): one
long sequence among many short ones would otherwise pad every row to its
length. Arrays, padded by the caller, come back as arrays.

``lengths`` (N,) counts each row's real steps: the index of the last non-zero
id plus one for token ids, each array's length for a list of numeric
sequences (equal lengths or not), and every step of a padded numeric array,
whose number of steps is therefore fixed (it is ``n_features_in_``, checked
at predict as scikit-learn does).

``fit_sequences`` returns the fitted input state (``input_type_``,
``n_inputs_``, ``tokenizer_``, ``n_features_in_``, ``feature_names_in_``) as a
dict instead of setting it, so that a fit failing later leaves the estimator
as it was; ``set_input_state`` commits it and ``read_sequences`` reads new
``X`` with it. Errors name the argument, what was received and what to do.
"""

import warnings
from collections.abc import Iterator
from numbers import Real

import numpy as np
from scipy import sparse
from sklearn.base import clone
from sklearn.utils.validation import check_array, validate_data

from ._tokenizers import PAD_ID, UNK_ID, CharTokenizer, WordTokenizer, _BaseTokenizer, check_documents
from ._training import user_stacklevel

INPUT_TYPES = ("text", "tokens", "numeric")
TOKENIZERS = {"word": WordTokenizer, "char": CharTokenizer}
INPUT_ATTRIBUTES = ("input_type_", "n_inputs_", "tokenizer_", "n_features_in_", "feature_names_in_")
_ARRAY_ATTRIBUTES = ("n_features_in_", "feature_names_in_")

_DESCRIPTIONS = {
    "text": "text (an iterable of str)",
    "tokens": "token ids (an integer array or a list of integer sequences)",
    "numeric": "numeric sequences (a float array or a list of float arrays)",
}
_TOKEN_HINT = (
    "token ids are integers >= 0 with 0 as padding, e.g. the output of "
    "WordTokenizer().fit_transform(texts)"
)


def _kind(dtype):
    return getattr(dtype, "kind", "O")  # pandas extension dtypes without a kind: treat as object


def _ids_or_numbers(kind, ndim):
    """Integers are token ids, but only in (N, T): token ids have no feature axis,
    so an integer (N, T, D) array (pixels, counts) holds numeric sequences."""
    return "tokens" if kind in "iu" and ndim <= 2 else "numeric"


def infer_input_type(X, *, name="X"):
    """The input type that ``X`` holds: "text", "tokens" or "numeric".

    Items that are str (or bytes, which the text reader refuses with a hint)
    -> "text"; an integer dtype (an array, or lists of integers) -> "tokens";
    anything else -> "numeric", whose validation then says what is wrong
    (NaN, sparse, strings in a 2-D array, ...).
    """
    if isinstance(X, (str, bytes, bytearray)) or X is None:
        check_documents(X, name=name)  # raises its message for these
    if sparse.issparse(X):
        return "numeric"
    if hasattr(X, "columns"):  # DataFrame
        kinds = {_kind(dtype) for dtype in X.dtypes}
        return "tokens" if kinds and kinds <= set("iu") else "numeric"
    if hasattr(X, "__array__") and not hasattr(X, "dtype"):  # array-likes that only convert
        X = np.asarray(X)
    dtype = getattr(X, "dtype", None)
    if dtype is not None and (getattr(X, "ndim", 1) != 1 or _kind(dtype) != "O"):
        kind = _kind(dtype)
        if kind in "US" or (kind == "O" and getattr(X, "size", 0) and isinstance(np.ravel(X)[0], str)):
            return "text"  # a 2-D array of str is refused by the text reader with a hint
        if kind in "mM":
            raise TypeError(
                f"{name} has dtype {dtype}; convert dates and durations to numbers first, e.g. "
                f"({name} - {name}.min()) / np.timedelta64(1, 's') for seconds."
            )
        return _ids_or_numbers(kind, getattr(X, "ndim", 1))
    # Lists, tuples and 1-D object arrays: look at the items.
    try:
        items = list(X)
    except TypeError:
        raise TypeError(
            f"{name} must be an iterable of str, an array of token ids or numeric sequences, "
            f"got {type(X).__name__}."
        ) from None
    if not items:
        raise ValueError(f"{name} holds 0 samples; at least 1 is required.")
    if any(isinstance(item, (str, bytes, bytearray)) for item in items):
        return "text"
    try:
        dense = np.asarray(items)
    except ValueError:  # sequences of different lengths
        dense = None
    if dense is not None and dense.dtype != object:
        return _ids_or_numbers(dense.dtype.kind, dense.ndim)
    try:
        arrays = [np.asarray(item) for item in items]
    except ValueError:
        return "numeric"
    # An empty sequence is float64 to NumPy whatever its neighbours hold: it says nothing.
    kinds = {a.dtype.kind for a in arrays if a.size}
    return _ids_or_numbers("i" if kinds and kinds <= set("iu") else "f", 1 + max(a.ndim for a in arrays))


def resolve_input_type(X, input_type, *, name="X"):
    """The input type for fit: inferred for "auto", else checked against the data."""
    found = infer_input_type(X, name=name)
    if input_type in ("auto", found) or (input_type == "numeric" and found == "tokens"):
        return found if input_type == "auto" else input_type
    raise ValueError(
        f"input_type={input_type!r}, but {name} looks like {_DESCRIPTIONS[found]}. Pass "
        f"{_DESCRIPTIONS[input_type]}, or set input_type='auto'."
    )


def _is_list(X):
    """A list, tuple or 1-D object array (NumPy's, or a pandas Series of arrays)."""
    return isinstance(X, (list, tuple)) or (getattr(X, "ndim", None) == 1 and getattr(X, "dtype", None) == object)


def _is_ragged(X):
    """A list (or 1-D object array) of sequences that NumPy cannot stack."""
    if not _is_list(X):
        return False
    try:
        stacked = np.asarray(X)
    except ValueError:
        return True
    return stacked.dtype == object and stacked.ndim == 1 and any(np.ndim(item) > 0 for item in stacked)


def _is_sequence_list(X):
    """A list (or 1-D object array) of numeric sequences, of equal lengths or not.

    Read one by one whatever their lengths: had equal lengths made it a
    padded array, its number of steps would have to match fit's, and whether
    a batch was accepted would depend on its lengths happening to agree.
    """
    return _is_list(X) and any(np.ndim(item) > 0 for item in X)


def _check_ndim(X, name):
    ndim, shape, wrap = getattr(X, "ndim", None), getattr(X, "shape", None), f"{name}.reshape(1, -1)"
    if ndim is None and isinstance(X, (list, tuple)):  # numbers only: lists of sequences are read elsewhere
        ndim, shape, wrap = 1, (len(X),), f"[{name}]"
    if ndim is not None and ndim not in (2, 3) and not sparse.issparse(X):
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_steps) or 3-D (n_samples, n_steps, n_features), got "
            f"{ndim} dimension(s) with shape {shape}. Reshape your data, e.g. {wrap} for "
            "one sequence; for text pass an iterable of str."
        )


def _check_numbers(X, name):
    """Raise naming the first item of ``X`` that is not a number; return if there is none.

    Called once check_array has failed: NumPy's message for such an item
    ("could not convert string to float: 'a'") names neither the argument
    nor the position, and a None would be reported as a NaN.
    """
    if _kind(getattr(X, "dtype", None)) in "biufc":
        return
    try:
        values = np.asarray(X, dtype=object)
    except ValueError:  # ragged: check_ragged reads those item by item
        return
    for index, item in np.ndenumerate(values):
        if isinstance(item, (Real, np.bool_)):
            continue
        where = f"{name}[{', '.join(map(str, index))}]"
        if item is None:
            raise ValueError(
                f"{where} is None, but numeric sequences cannot have missing values; fill or drop them first."
            ) from None
        hint = ""
        if isinstance(item, str):
            hint = (
                " For text, pass an iterable of str with one document per sample, e.g. df['text'] "
                "rather than df[['text']] (in a ColumnTransformer, the column 'text' rather than ['text'])."
            )
        elif np.ndim(item) > 0 and getattr(values, "ndim", 0) == 2:  # a table whose cells hold sequences
            hint = (
                " For sequences stored one per cell, pass that one column, e.g. df['ids'] "
                "rather than df[['ids']]."
            )
        raise TypeError(
            f"{where} is {type(item).__name__} {item!r}, but numeric sequences hold numbers.{hint}"
        ) from None


def _positions(lengths):
    """Each step's position within its sequence, for sequences of ``lengths`` stored back to back."""
    return np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)


class Ragged:
    """Sequences of different lengths stored back to back: a padded batch without its padding.

    values   (total steps, ...) every sequence's steps, one sequence after the other
    lengths  (N,) steps of each sequence

    Read as the estimators read a padded (N, T, ...) batch, of which it has
    ``shape``, ``dtype`` and ``len``: ``batch[rows, :steps]`` is the padded
    array of those rows, ``steps`` wide; ``batch[rows]`` a Ragged of them.
    ``rows`` is a slice, or an array or list of row numbers or booleans; no
    other indexing is supported (it raises).
    A padded array of every row is as wide as the longest sequence, so a few
    long ones among many short multiply its size; a minibatch's is only as
    wide as its own longest.
    """

    def __init__(self, values, lengths):
        self.values = values
        self.lengths = np.asarray(lengths, dtype=np.intp)
        self.starts = np.cumsum(self.lengths) - self.lengths
        self.shape = (len(self.lengths), int(self.lengths.max(initial=0))) + values.shape[1:]
        self.dtype = values.dtype
        self.ndim = len(self.shape)

    def __len__(self):
        return len(self.lengths)

    def _steps(self, rows, width):
        """Indices into ``values`` of the first ``width`` steps of ``rows``, row after row."""
        kept = np.minimum(self.lengths[rows], width)
        return np.repeat(self.starts[rows], kept) + _positions(kept), kept

    def _rows(self, rows):
        """Row numbers (intp) of ``rows``; each call of a minibatch, so never O(N) for a few rows."""
        if isinstance(rows, slice):
            return np.arange(*rows.indices(len(self)))
        rows = np.asarray(rows)
        if rows.ndim == 1 and rows.size == 0:
            return np.zeros(0, dtype=np.intp)
        if rows.dtype == bool:
            return np.flatnonzero(rows)
        if rows.ndim != 1 or rows.dtype.kind not in "iu":
            raise IndexError(f"Ragged rows are a slice or a 1-D array of row numbers or booleans, got {rows!r}")
        return np.where(rows < 0, rows + len(self), rows).astype(np.intp, copy=False)

    def __getitem__(self, key):
        rows, steps = key if isinstance(key, tuple) else (key, None)
        if steps is not None and (not isinstance(steps, slice) or steps.start not in (None, 0)
                                  or steps.step not in (None, 1)):
            raise IndexError(f"Ragged steps are a slice from the first step, ':n', got {steps!r}")
        rows = self._rows(rows)
        if steps is None:
            index, kept = self._steps(rows, self.shape[1])
            return Ragged(self.values[index], kept)
        width = len(range(*steps.indices(self.shape[1])))
        index, kept = self._steps(rows, width)
        out = np.zeros((len(rows), width) + self.values.shape[1:], dtype=self.dtype)
        out[np.arange(width) < kept[:, None]] = self.values[index]
        return out

    def __array__(self, dtype=None, copy=None):
        out = self[:, :]
        return out if dtype is None else out.astype(dtype, copy=False)

    def with_values(self, values):
        """The same sequences with other values (one per step, as ``values``)."""
        return Ragged(values, self.lengths)


def token_lengths(ids):
    """(N, T) right-padded ids -> (N,) intp lengths: the index of the last non-zero id plus one."""
    if ids.shape[1] == 0:
        return np.zeros(ids.shape[0], dtype=np.intp)
    real = ids != PAD_ID
    last = ids.shape[1] - np.argmax(real[:, ::-1], axis=1)  # (N,), T when the last id is real
    return np.where(real.any(axis=1), last, 0).astype(np.intp)


def _plain_integer_frame(X, name):
    """A DataFrame of pandas' nullable integers (Int64, UInt8, ...) as a NumPy integer array.

    check_array reads those as float64, which token ids cannot be; a missing
    value has no id to stand for.
    """
    dtypes = list(getattr(X, "dtypes", ()))
    nullable = any(hasattr(dtype, "numpy_dtype") for dtype in dtypes)
    if not hasattr(X, "columns") or not nullable or not all(_kind(d) in "iu" for d in dtypes):
        return X
    if X.isna().to_numpy().any():
        row, column = np.argwhere(X.isna().to_numpy())[0]
        raise ValueError(
            f"{name} holds a missing token id at row {row}, column {X.columns[column]!r}; {_TOKEN_HINT}. "
            "Fill missing ids with 0 (padding) first."
        )
    return X.to_numpy(dtype=np.result_type(*(getattr(dtype, "numpy_dtype", dtype) for dtype in dtypes)))


def _values(batch):
    """The steps' values of a batch, padded (an array) or not (a Ragged)."""
    return batch.values if isinstance(batch, Ragged) else batch


def _width(lengths, max_len):
    """Steps of the padded batch: the longest sequence, at most ``max_len``."""
    longest = int(lengths.max(initial=0))
    return longest if max_len is None else min(longest, max_len)


def _too_large_id(ids, name):
    # intp would wrap such an id to < 0. Compared as Python ints: NumPy 1.x compares uint64 with int64 as float64.
    if ids.dtype.kind == "u" and ids.size and int(ids.max()) > np.iinfo(np.intp).max:
        raise ValueError(
            f"{name} holds the token id {int(ids.max())}, beyond the largest id {np.iinfo(np.intp).max}."
        )


def _negative_id(ids, name, fitting):
    if ids.size and ids.min() < 0:
        hint = " For numbers (readings, measurements) set input_type='numeric'." if fitting else ""
        raise ValueError(f"{name} holds the negative token id {int(ids.min())}; {_TOKEN_HINT}.{hint}")


def _padding_inside(inside, name):
    """Warn when a row holds the padding id 0 before its last real id.

    inside (N,) bool marks those rows. Such 0s are read as steps of one shared
    token, and a row's trailing 0s as padding: codes counted from 0
    (OrdinalEncoder, LabelEncoder) lose their last 0s, and left-padded rows
    (Keras' default) run through their padding. A warning, not an error:
    scikit-learn's common checks pass small integer arrays full of 0s.
    """
    inside = np.flatnonzero(inside)
    if inside.size:
        warnings.warn(
            f"{name} holds the padding id 0 inside a sequence ({inside.size} row(s), the first at row {inside[0]}): "
            "it is read as a token of its own there, while 0s at the end of a row are padding. Codes counted "
            "from 0 (OrdinalEncoder, LabelEncoder) need 2 added (1 stands for unknown ids); rows padded at the "
            "start need their padding at the end instead.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


def check_token_ids(X, *, name="X", max_len=None, fitting=False):
    """Validate token ids -> (ids, lengths).

    X        (N, T) integer array right-padded with 0, or a list of 1-D integer
             sequences of any lengths
    max_len  keep the first ``max_len`` steps (None: all), cut before any copy
    fitting  for fit: an error may then advise input_type='numeric'
    Returns ids, (N, T) intp for an array and a Ragged of intp for a list, and
    lengths (N,) intp. Raises ValueError for negative ids (anywhere), wrong
    dimensions or no samples; TypeError for non-integers.
    """
    if _is_ragged(X):
        rows = [np.asarray(row) for row in X]
        # A row ends at its last non-zero id (trailing zeros are padding), cut to the width kept
        full = np.zeros(len(rows), dtype=np.intp)
        inside = np.zeros(len(rows), dtype=bool)
        for i, row in enumerate(rows):
            if row.ndim != 1:
                raise ValueError(f"{name}[{i}] has {row.ndim} dimension(s); each sequence of token ids must be 1-D.")
            if row.size and row.dtype.kind not in "iu":
                raise TypeError(f"{name}[{i}] has dtype {row.dtype}, but {_TOKEN_HINT}.")
            _too_large_id(row, name)
            _negative_id(row, name, fitting)
            real = np.flatnonzero(row)
            if real.size:
                full[i] = real[-1] + 1
                inside[i] = real.size != full[i]
        _padding_inside(inside, name)
        lengths = np.minimum(full, _width(full, max_len))
        # intp row by row: uint64 rows concatenated with int64 ones would go through float64
        values = np.concatenate([row[:n].astype(np.intp, copy=False) for row, n in zip(rows, lengths)]
                                + [np.zeros(0, np.intp)])
        ids = Ragged(values, lengths)
    else:
        X = _plain_integer_frame(X, name)
        ids = check_array(
            X, dtype=None, ensure_2d=False, allow_nd=True, ensure_min_samples=0, ensure_min_features=0, input_name=name
        )
        if ids.ndim != 2:
            raise ValueError(
                f"{name} must be a 2-D array of token ids (n_samples, n_steps), got {ids.ndim} dimension(s) "
                f"with shape {ids.shape}. Reshape your data, e.g. {name}.reshape(1, -1) for one sequence."
            )
        if ids.size == 0:  # [[]] is float64 to NumPy: empty sequences of any dtype
            ids = ids.astype(np.intp)
        if ids.dtype.kind not in "iu":
            raise TypeError(
                f"{name} has dtype {ids.dtype}, but {_TOKEN_HINT}; for numbers set input_type='numeric'."
            )
        _too_large_id(ids, name)
        _negative_id(ids, name, fitting)
        lengths = token_lengths(ids)
        _padding_inside(np.count_nonzero(ids, axis=1) != lengths, name)
        ids = ids[:, :max_len].astype(np.intp, copy=False)  # the copy, if any, only of the steps kept
        lengths = np.minimum(lengths, ids.shape[1])
    if len(ids) == 0:
        raise ValueError(f"{name} holds 0 samples; at least 1 is required.")
    return ids, lengths


def check_ragged(X, *, name="X", max_len=None):
    """Validate a list of numeric sequences of different lengths -> (batch, lengths).

    Each item is (T_i,) (one feature per step) or (T_i, D). Returns batch, a
    float64 Ragged of (N, max T_i, D) (an array when all lengths agree), and
    lengths (N,) intp, each cut to ``max_len`` (None: no limit).
    """
    try:  # equal lengths: one conversion and one check, not one per sequence (10x faster)
        stacked = np.asarray(X)
    except (TypeError, ValueError):
        stacked = None
    # Finite numbers only: None, str, NaN and the like are read row by row, whose errors say where.
    numbers = stacked is not None and stacked.dtype.kind in "biuf"
    if numbers and stacked.ndim in (2, 3) and stacked.shape[1] and stacked.shape[-1]:
        stacked = stacked.astype(np.float64, copy=False)
        if np.isfinite(stacked).all():
            batch = (stacked[:, :, None] if stacked.ndim == 2 else stacked)[:, :max_len]
            return batch, np.full(len(batch), batch.shape[1], dtype=np.intp)
    rows = []
    for i, item in enumerate(X):
        if np.ndim(item) not in (1, 2):
            raise ValueError(
                f"{name}[{i}] has {np.ndim(item)} dimension(s); each sequence must be (n_steps,) or "
                "(n_steps, n_features)."
            )
        try:
            row = check_array(item, ensure_2d=False, dtype=np.float64, ensure_min_samples=0, input_name=f"{name}[{i}]")
        except (TypeError, ValueError):
            _check_numbers(item, f"{name}[{i}]")
            _check_finite_steps(item, f"{name}[{i}]")
            raise
        row = row[:, None] if row.ndim == 1 else row
        if row.shape[1] == 0:
            raise ValueError(
                f"{name}[{i}] has shape {row.shape}; each sequence must be (n_steps,) or (n_steps, n_features) "
                "with n_features >= 1."
            )
        rows.append(row)
    if not rows:
        raise ValueError(f"{name} holds 0 samples; at least 1 is required.")
    widths = sorted({row.shape[1] for row in rows})
    if len(widths) > 1:
        raise ValueError(f"The sequences in {name} have different numbers of features per step: {widths}.")
    lengths = np.array([len(row) for row in rows], dtype=np.intp)
    lengths = np.minimum(lengths, _width(lengths, max_len))
    return Ragged(np.concatenate([row[:n] for row, n in zip(rows, lengths)]), lengths), lengths


def _check_finite_steps(sequence, name):
    """Raise naming the first step of one sequence that holds NaN or infinity; return if none does.

    Called once check_array has failed, whose "Input X[5] contains NaN." says
    neither where nor why a list has no use for NaN.
    """
    try:
        values = np.asarray(sequence, dtype=np.float64)
    except (TypeError, ValueError):
        return
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        step = int(bad[0][0])
        raise ValueError(
            f"{name} holds {values[tuple(bad[0])]} at step {step}, but numeric sequences hold finite numbers: "
            "fill or drop missing readings first. A list of sequences needs no padding: each keeps its own "
            "length."
        ) from None


def _check_numeric_array(estimator, X, *, reset, name):
    """``validate_data`` for a padded numeric array -> ((N, T, D) floats, lengths)."""
    _check_ndim(X, name)
    shape = getattr(X, "shape", (1,))
    if shape[0] == 0:
        raise ValueError(f"{name} holds 0 samples; at least 1 is required.")
    expected = getattr(estimator, "n_features_in_", None)
    if not reset and expected is not None and len(shape) > 1 and shape[1] != expected:
        # scikit-learn's words (its common checks look for them), then what "features" are here
        raise ValueError(
            f"{name} has {shape[1]} features, but {type(estimator).__name__} is expecting {expected} features "
            f"as input: the steps of a padded numeric array, fixed at fit. Pass {expected} steps, or a list "
            "of sequences, which may have any lengths."
        )
    try:
        X = validate_data(estimator, X, reset=reset, allow_nd=True, dtype=[np.float64, np.float32])
    except (TypeError, ValueError) as exc:
        _check_numbers(X, name)
        if "contains NaN" in str(exc):  # scikit-learn's advice (an imputer, HistGradientBoosting) misleads here
            raise ValueError(
                f"Input {name} contains NaN. For sequences of different lengths (tslearn and sktime pad them "
                "with NaN), pass a list of (n_steps_i,) or (n_steps_i, n_features) arrays; fill or drop "
                "missing values otherwise."
            ) from None
        raise
    _check_ndim(X, name)
    if X.ndim == 2:
        X = X[:, :, None]  # (N, T) -> (N, T, 1): one feature per step
    if X.shape[2] == 0:
        raise ValueError(f"{name} has 0 features per step (shape {X.shape}); at least 1 is required.")
    return X, np.full(X.shape[0], X.shape[1], dtype=np.intp)


# Documents per tokenizer call: each call pads its output to its own longest document.
TOKENIZE_CHUNK = 1024


def _tokenize(tokenizer, docs, max_len, *, fit=False):
    """``tokenizer.transform(docs)``, its first ``max_len`` columns, as a Ragged of intp ids.

    ``fit=True`` fits the tokenizer first. skrnn's tokenizers without a
    ``max_len`` of their own give their ids unpadded, from one tokenization
    (fit then transform tokenized the training text twice). Other tokenizers
    go through in chunks of documents, so that one long document pads only
    its chunk (one 5,000-word text among 50,000 SMS took predict_proba to
    3.2 GB when the tokenizer padded all of them at once).
    """
    if isinstance(tokenizer, _BaseTokenizer) and tokenizer.max_len is None:
        if fit:
            tokenizer._validate_params()  # as fit does
        flat, lengths = tokenizer._flat_ids(docs, fit=fit)
        if max_len is not None:
            flat, lengths = flat[_positions(lengths) < max_len], np.minimum(lengths, max_len)
        return Ragged(flat.astype(np.intp), lengths)
    if fit:
        tokenizer.fit(docs, None)  # y positional, as Pipeline passes it: FrozenEstimator.fit requires it
        if not hasattr(tokenizer, "n_tokens_"):  # the vocabulary size sizes the embedding
            raise TypeError(
                f"tokenizer={tokenizer!r} must turn texts into token ids and, once fitted, give the size of its "
                "vocabulary as n_tokens_, as WordTokenizer and CharTokenizer do."
            )
    values, lengths = [], []
    for i in range(0, len(docs), TOKENIZE_CHUNK):
        ids = tokenizer.transform(docs[i : i + TOKENIZE_CHUNK])[:, :max_len]
        n = token_lengths(ids)
        values.append(ids[np.arange(ids.shape[1]) < n[:, None]])  # row after row, without the padding
        lengths.append(n)
    return Ragged(np.concatenate(values).astype(np.intp, copy=False), np.concatenate(lengths))


def _read(estimator, X, kind, *, reset, tokenizer, name, max_len):
    if kind == "text":
        _check_ndim_text(X, name)
        ids = _tokenize(tokenizer, check_documents(X, name=name), max_len)
        return ids, ids.lengths
    if kind == "tokens":
        return check_token_ids(X, name=name, max_len=max_len, fitting=reset)
    if _is_sequence_list(X):
        return check_ragged(X, name=name, max_len=max_len)
    return truncate(*_check_numeric_array(estimator, X, reset=reset, name=name), max_len)


def _check_ndim_text(X, name):
    if getattr(X, "ndim", 1) != 1:
        check_documents(X, name=name)  # raises its message about dimensions


def fit_sequences(estimator, X, *, input_type="auto", tokenizer="word", max_len=None, name="X"):
    """Read ``X`` for fit -> (batch, lengths, state), leaving ``estimator`` untouched.

    input_type  "auto", "text", "tokens" or "numeric"
    tokenizer   "word", "char" or a tokenizer instance (cloned, then fitted)
    max_len     keep the first ``max_len`` steps of every sequence (None: all)
    ``state`` holds the fitted input attributes, to be set with
    ``set_input_state`` once the whole fit has succeeded. ``n_inputs_`` is
    the vocabulary size (text: the tokenizer's; tokens: the largest id in the
    steps kept plus one, and at least 2 so that the unknown id 1 has a row)
    or the features per step.
    """
    X = materialize(X)
    kind = resolve_input_type(X, input_type, name=name)
    state = {"input_type_": kind}
    if kind == "text":
        _check_ndim_text(X, name)
        docs = check_documents(X, name=name)
        if isinstance(tokenizer, type):  # passes the parameter check (it has the methods); clone would fail
            raise TypeError(
                f"tokenizer={tokenizer.__name__} is a class; pass an instance, e.g. tokenizer={tokenizer.__name__}()."
            )
        fitted = clone(TOKENIZERS[tokenizer]() if isinstance(tokenizer, str) else tokenizer)
        ids = _tokenize(fitted, docs, max_len, fit=True)
        state.update(tokenizer_=fitted, n_inputs_=int(fitted.n_tokens_))
        return ids, ids.lengths, state
    # validate_data sets (or deletes) n_features_in_ and feature_names_in_ on
    # the estimator: collect what it sets, then put the old values back.
    saved = {key: vars(estimator)[key] for key in _ARRAY_ATTRIBUTES if key in vars(estimator)}
    try:
        batch, lengths = _read(estimator, X, kind, reset=True, tokenizer=None, name=name, max_len=max_len)
        state.update({key: vars(estimator)[key] for key in _ARRAY_ATTRIBUTES if key in vars(estimator)})
    finally:
        for key in _ARRAY_ATTRIBUTES:
            vars(estimator).pop(key, None)
        vars(estimator).update(saved)
    if kind == "tokens":
        state["n_inputs_"] = max(int(_values(batch).max(initial=0)) + 1, UNK_ID + 1)
        _warn_sparse_ids(_values(batch), state["n_inputs_"], name)
    else:
        state["n_inputs_"] = int(batch.shape[2])
    return batch, lengths, state


# Token ids size the first layer at (largest id + 1) rows, every one of them
# updated by each step of Adam: one sequence ending in the id 10**6 among 200
# short ones took a fit from 0.1 s to 28 s and its pickle to 768 MB.
SPARSE_IDS_FROM = 2**16


def _warn_sparse_ids(values, n_inputs, name):
    """Warn when the ids are far sparser than the table they size."""
    if n_inputs < SPARSE_IDS_FROM:
        return
    n_distinct = np.unique(values).size
    if 10 * n_distinct < n_inputs:
        warnings.warn(
            f"{name}'s largest token id is {n_inputs - 1}, so the model holds a row of weights (and of optimizer "
            f"state) for each of {n_inputs} ids, but only {n_distinct} distinct ids occur: time and memory grow "
            "with the largest id. Renumber the ids densely from 2 (0 pads, 1 stands for unknown ids).",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


_NO_STEPS = {
    "text": "every document is empty once tokenized",
    "tokens": "every sequence is empty or all padding (id 0)",
    "numeric": "every sequence is empty",
}


def check_some_steps(lengths, input_type, name="X"):
    """A fit needs at least one real step: with none, the model would learn the class prior only.

    (A batch of ``partial_fit`` may have none: it is one batch of a stream.)
    """
    if not lengths.any():
        raise ValueError(f"{name} holds no steps to learn from: {_NO_STEPS[input_type]}.")


# Where a feature's values sit far enough from unit scale for training to
# suffer: the cells' pre-activations land on tanh's flat tails. Offsets hurt
# far sooner than spread. Measured on 3 classes of noisy sine waves
# (hidden_size=16, 15 epochs; 1.0 accuracy as they are): an offset of 3 gave
# 0.99, of 5 0.60, of 10 and more chance (0.36); a spread times 30 still 0.98,
# times 100 0.81, times 1000 chance. A probe's 3-channel signals in raw units
# near 1000 also trained to chance, 1.0 once standardized.
OFFSET_LIMIT = 4.0  # |mean|
SPREAD_LIMIT = 50.0  # standard deviation


def warn_far_from_unit_scale(batch, name="X"):
    """Warn when a feature of a numeric batch (array or Ragged) is far from unit scale."""
    values = _values(batch)
    flat = values.reshape(-1, values.shape[-1])
    if len(flat) > 2**17:  # a scale needs no more than a strided sample
        flat = flat[:: len(flat) // 2**17]
    if not flat.size:
        return
    with np.errstate(over="ignore", invalid="ignore"):  # values near the float64 limit: inf, which warns too
        mean = np.mean(flat, axis=0, dtype=np.float64)
        std = np.std(flat, axis=0, dtype=np.float64)
    far = (np.abs(mean) > OFFSET_LIMIT) | ~(std <= SPREAD_LIMIT)
    if far.any():
        feature = int(np.argmax(far))
        which = f"The values of {name} have" if len(mean) == 1 else f"Feature {feature} of {name}'s {len(mean)} has"
        warnings.warn(
            f"{which} mean {mean[feature]:.4g} and standard deviation {std[feature]:.4g}: recurrent cells "
            "saturate on inputs far from unit scale and may learn little. Standardize each feature with the "
            "training data's statistics (the user guide's StepScaler does it inside a pipeline).",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


def warn_token_ids_among_numbers(batch, name="X"):
    """Warn when a padded numeric batch of one feature per step holds token ids beside numbers.

    That is what a ColumnTransformer makes of a tokenizer's ids stacked beside
    numeric columns: one float array, which reads as one numeric series per
    row. A real series holds whole numbers in all of its steps or in none of
    them, so steps where every row holds a whole number >= 0 and some reach 2
    (ids: 0 pads, 1 is the unknown token) beside steps holding fractions tell
    them apart. Returns whether it warned.
    """
    if isinstance(batch, Ragged) or batch.ndim != 3 or batch.shape[2] != 1 or len(batch) < 2:
        return False
    steps = batch[:: max(1, len(batch) // 2**14), :, 0]  # (rows, T): a sample of rows is enough
    whole = np.all((steps >= 0) & (steps == np.floor(steps)), axis=0)  # (T,)
    ids = np.flatnonzero(whole & (steps.max(axis=0, initial=0) >= 2))
    fractions = np.flatnonzero(~whole)
    if len(ids) < 2 or not len(fractions):
        return False
    warnings.warn(
        f"{name} holds only whole numbers >= 0 in {whole.sum()} of its {steps.shape[1]} columns "
        f"({_some(np.flatnonzero(whole))}) and fractions in {len(fractions)} ({_some(fractions)}), as a "
        "ColumnTransformer makes of a tokenizer's token ids stacked beside numeric columns. A 2-D float array "
        "is read as one numeric series per row, so ids would be read as numbers and the other columns as more "
        "steps. The classifier reads text or token ids on their own: to use other columns too, make it the text "
        "column's transformer in the ColumnTransformer and put a final estimator after it (the user guide's "
        "'Text beside other columns').",
        UserWarning,
        stacklevel=user_stacklevel(),
    )
    return True


def _some(indices, n=3):
    """'0, 1, 2, ...' for messages."""
    return ", ".join(map(str, indices[:n].tolist())) + (", ..." if len(indices) > n else "")


def set_input_state(estimator, state):
    """Set the fitted input attributes returned by ``fit_sequences``; drop stale ones."""
    for key in INPUT_ATTRIBUTES:
        if key in state:
            setattr(estimator, key, state[key])
        elif key in vars(estimator):
            delattr(estimator, key)


def materialize(X):
    """``X`` readable twice: a one-shot iterator (generator, map, ...) becomes a list."""
    return list(X) if isinstance(X, Iterator) else X


def read_sequences(estimator, X, *, max_len=None, name="X"):
    """Read ``X`` with the fitted input state of ``estimator`` -> (batch, lengths).

    Only the first ``max_len`` steps of each sequence are kept (None: all).

    The input type must be the one seen at fit (integers are accepted as
    numbers). Token ids at or above ``n_inputs_``, never seen at fit, are
    read as the unknown id 1, as the tokenizers read unseen words.
    """
    X = materialize(X)
    fitted = estimator.input_type_
    found = infer_input_type(X, name=name)
    if fitted == "tokens" and _kind(getattr(X, "dtype", None)) in "iu":
        found = "tokens"  # integers of the wrong shape: the token reader says what shape it needs
    elif fitted == "tokens" and _is_list(X) and len(X) and all(np.size(item) == 0 for item in X):
        found = "tokens"  # only empty sequences ([[]] is float64 to NumPy): no evidence against ids
    if found != fitted and not (fitted == "numeric" and found == "tokens"):
        if fitted == "text" and hasattr(X, "columns") and any(_kind(d) in "OUS" for d in X.dtypes):
            check_documents(X, name=name)  # df[["text"]]: raises its message, select the text column
        hint = ""
        if fitted == "tokens" and found == "numeric":
            hint = " Integers in (n_samples, n_steps) are read as token ids unless fit had input_type='numeric'."
        raise ValueError(
            f"{type(estimator).__name__} was fitted on {_DESCRIPTIONS[fitted]}, but {name} looks like "
            f"{_DESCRIPTIONS[found]}. Pass the same kind of input as at fit.{hint}"
        )
    tokenizer = getattr(estimator, "tokenizer_", None)
    batch, lengths = _read(estimator, X, fitted, reset=False, tokenizer=tokenizer, name=name, max_len=max_len)
    if fitted == "tokens":
        known = np.where(_values(batch) < estimator.n_inputs_, _values(batch), UNK_ID)
        batch = batch.with_values(known) if isinstance(batch, Ragged) else known
    elif fitted == "numeric" and batch.shape[2] != estimator.n_inputs_:
        hint = ""
        if getattr(X, "ndim", None) == 2 and X.shape[1] == estimator.n_inputs_:  # one sequence, unwrapped
            hint = (
                f" A 2-D array holds one univariate sequence per row; to pass one sequence of shape (n_steps, "
                f"n_features) = {X.shape}, wrap it: [{name}] or {name}[None]."
            )
        elif _is_list(X) and batch.shape[2] == 1:
            hint = (
                f" Each 1-D item of a list is a sequence of one feature per step; write one step of "
                f"{estimator.n_inputs_} features as an array of shape (1, {estimator.n_inputs_})."
            )
        raise ValueError(
            f"{name} has {batch.shape[2]} features per step, but {type(estimator).__name__} is expecting "
            f"{estimator.n_inputs_} features per step as input.{hint}"
        )
    return batch, lengths


def as_dtype(batch, dtype, *, name="X"):
    """A numeric batch in the network's dtype, refusing numbers beyond its range.

    Cast, they would become inf, and inf - inf inside the network NaN: a
    fit would end as diverged, a prediction in NaN probabilities.
    """
    if isinstance(batch, Ragged):
        return batch.with_values(as_dtype(batch.values, dtype, name=name))
    dtype = np.dtype(dtype)
    if batch.dtype.itemsize > dtype.itemsize and batch.size:
        limit = float(np.finfo(dtype).max)
        largest = max(-float(batch.min()), float(batch.max()))
        if largest > limit:
            raise ValueError(
                f"{name} holds a value of magnitude {largest:.4g}, beyond the range of {dtype} (at most "
                f"{limit:.4g}) that the network computes in. Rescale the values, or set dtype='float64'."
            )
    return batch.astype(dtype, copy=False)


def truncate(batch, lengths, max_len):
    """Keep the first ``max_len`` steps of every sequence; None keeps all."""
    if max_len is None or batch.shape[1] <= max_len:
        return batch, lengths
    return batch[:, :max_len], np.minimum(lengths, max_len)
