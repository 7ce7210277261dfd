"""Character and word tokenizers: raw text -> right-padded integer ids.

Both tokenizers share one pipeline, written once in :class:`_BaseTokenizer`:

1. ``_split``: documents -> a stream of tokens plus the length of each document
   in tokens (characters: one ``uint32`` array of code points for all documents;
   words: one list of str per document).
2. ``_count``: the stream -> distinct tokens in code-point order and their counts.
   The base class orders them by descending count; the stable sort keeps the
   code-point order among equal counts, which is the documented tie-break.
3. ``_lookup``: the stream -> token ids, unknown tokens -> 1.
4. ``_pad``: flat ids + lengths -> an ``(n_samples, L)`` int32 array.

Id 0 is padding and id 1 the unknown token, so an embedding table of
``n_tokens_`` rows covers every id that ``transform`` can emit.
"""

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Set
from functools import lru_cache
from itertools import chain, repeat

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import Count, VersionStampMixin, python_number

PAD_ID = 0
UNK_ID = 1


@lru_cache(maxsize=16)
def _compiled(pattern):
    return re.compile(pattern)


@lru_cache(maxsize=1)
def default_token_pattern():
    r"""Runs of word characters with their combining marks, or any other non-space character with its modifiers.

    ``\w`` alone leaves out combining marks (Unicode categories Mn, Mc, Me):
    Devanagari's vowel signs, Tamil's, a decomposed accent. Words in those
    scripts came out letter by letter. Python's ``re`` has no ``\p{M}``, so
    the marks are listed once: those of planes 0-1 and the variation
    selectors of plane 14, where all of Unicode's marks lie (about 40 ms).
    Marks are looked for only after a word and only at a non-ASCII character:
    checked at every character, the long class made splitting 2x slower.
    """
    marks, start, previous = [], None, None
    for code in (*range(0x20000), *range(0xE0100, 0xE01F0)):
        if unicodedata.category(chr(code))[0] == "M":
            if start is None or code != previous + 1:
                if start is not None:
                    marks.append((start, previous))
                start = code
            previous = code
    marks.append((start, previous))
    ranges = "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in marks)
    # Zero-width (non-)joiners join what they stand between: letters inside
    # words (Persian, Indic scripts), emoji (family: man, ZWJ, woman, ZWJ,
    # girl); alone, one is no token. Skin tones and the tags of subdivision
    # flags modify the symbol before them, and a flag is a pair of regional
    # indicators.
    joiners = "\\u200c\\u200d"
    modifiers = "\\U0001f3fb-\\U0001f3ff\\U000e0020-\\U000e007f"
    flags = "\\U0001f1e6-\\U0001f1ff"
    word = f"\\w+(?:(?=[^\\x00-\\x7f])(?:[{ranges}]|[{joiners}](?=\\w))+\\w*)*"
    emoji_joined = "\\u200d(?=[^\\x00-\\x7f])[^\\w\\s]"
    symbol = f"[^\\w\\s{joiners}](?:(?=[^\\x00-\\x7f])(?:[{ranges}{modifiers}]|{emoji_joined}))*"
    return f"{word}|[{flags}]{{2}}|{symbol}"


def check_documents(X, *, name="X", ensure_min_samples=1):
    """Validate an iterable of text documents and return it as a list of str.

    Parameters
    ----------
    X : iterable of str
        A list, tuple, 1-D NumPy array (str or object dtype), pandas Series or
        any other iterable (a generator is consumed) of documents.
    name : str, default="X"
        Name of the argument, used in error messages.
    ensure_min_samples : int, default=1
        Raise ``ValueError`` when ``X`` holds fewer documents; 0 allows an empty
        ``X``.

    Returns
    -------
    docs : list of str
        The documents, in order.

    Raises
    ------
    TypeError
        ``X`` is a single str, bytes, None, a mapping, a set or not iterable, or
        an item is not a str (the message gives its index and type).
    ValueError
        ``X`` is not one-dimensional or holds too few documents.

    Examples
    --------
    >>> from skrnn._tokenizers import check_documents
    >>> check_documents(("a cat", "a dog"))
    ['a cat', 'a dog']
    >>> check_documents("a cat")
    Traceback (most recent call last):
        ...
    TypeError: X must be an iterable of str documents, got a single str; wrap it in a list: [X].
    """
    if isinstance(X, str):
        raise TypeError(
            f"{name} must be an iterable of str documents, got a single str; "
            f"wrap it in a list: [{name}]."
        )
    if isinstance(X, (bytes, bytearray)):
        raise TypeError(
            f"{name} must be an iterable of str documents, got {type(X).__name__}; "
            f"decode it and wrap it in a list: [{name}.decode('utf-8')]."
        )
    if X is None:
        raise TypeError(
            f"{name} must be an iterable of str documents, got None; pass e.g. "
            "['first text', 'second text']."
        )
    # Iterating a mapping yields its keys and a set has no order: both are
    # almost always a mistake when documents must line up with targets.
    if isinstance(X, (Mapping, Set)):
        raise TypeError(
            f"{name} must be an ordered iterable of str documents, got "
            f"{type(X).__name__}; pass a list, e.g. list({name}.values())."
        )
    ndim = getattr(X, "ndim", 1)
    if ndim != 1:
        shape = getattr(X, "shape", None)
        raise ValueError(
            f"{name} must be one-dimensional (one str document per sample), got "
            f"{ndim} dimensions with shape {shape}. Select the text column, e.g. "
            f"{name}[:, 0] for an array or df['text'] (not df[['text']]) for a "
            "DataFrame; in a ColumnTransformer, name the column 'text' rather than ['text']."
        )
    if not isinstance(X, Iterable):
        raise TypeError(
            f"{name} must be an iterable of str documents, got "
            f"{type(X).__name__}; pass e.g. ['first text', 'second text']."
        )

    docs = X.tolist() if isinstance(X, np.ndarray) else list(X)
    if len(docs) < ensure_min_samples:
        raise ValueError(
            f"{name} holds {len(docs)} documents but at least {ensure_min_samples} "
            f"is required; pass a non-empty list of str, e.g. ['some text']."
        )
    # One C-level pass over the types; the per-item loop only runs to name the
    # offender (or to accept str subclasses such as numpy.str_).
    if not set(map(type, docs)) <= {str}:
        for i, doc in enumerate(docs):
            if not isinstance(doc, str):
                raise TypeError(_bad_item_message(name, i, doc))
    return docs


def _bad_item_message(name, i, item):
    kind = type(item).__name__
    message = f"{name}[{i}] is {kind}, expected str."
    if isinstance(item, (bytes, bytearray)):
        return f"{message} Decode it first, e.g. x.decode('utf-8')."
    if item is None or (isinstance(item, float) and item != item) or kind == "NAType":
        return (
            f"{message} Missing documents are not allowed; fill them with '' "
            "(e.g. X.fillna('') for a pandas Series) or drop them."
        )
    return f"{message} Convert the items to str first, e.g. [str(x) for x in X]."


def _pad(flat_ids, lengths, max_len, truncation):
    """Lay flat ids out as right-padded rows.

    ``flat_ids`` (N,) holds the ids of all documents back to back and ``lengths``
    (n_samples,) sums to N. Rows longer than ``max_len`` lose their beginning
    (``truncation="pre"``) or their end (``"post"``). Returns (n_samples, L) int32.
    """
    lengths = np.asarray(lengths, dtype=np.intp)
    if max_len is None:
        width = int(lengths.max()) if lengths.size else 0
    else:
        width = max_len
    kept = np.minimum(lengths, width)
    out = np.zeros((lengths.size, width), dtype=np.int32)
    # Row-major order of the True cells equals the order of the kept ids.
    cells = np.arange(width) < kept[:, None]
    if kept.sum() == flat_ids.size:
        out[cells] = flat_ids
        return out
    ends = np.cumsum(lengths)
    first = ends - lengths if truncation == "post" else ends - kept
    kept_starts = np.cumsum(kept) - kept
    take = np.arange(kept.sum()) + np.repeat(first - kept_starts, kept)
    out[cells] = flat_ids[take]
    return out


class _BaseTokenizer(VersionStampMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Shared fit/transform/inverse_transform of the character and word tokenizers.

    Subclasses define ``_split``, ``_count``, ``_index`` and ``_lookup`` and the
    class attributes ``_separator`` (joins tokens in ``inverse_transform``) and
    ``_special_tokens`` (the strings shown for ids 0 and 1 in ``tokens_``).
    """

    # auto_wrap_output_keys=None (here and on each subclass, which would
    # otherwise switch it back on) keeps the ids an int32 ndarray: without
    # max_len the width changes from call to call, so there are no stable
    # column names for set_output(transform="pandas") to use.

    _parameter_constraints: dict = {
        "lowercase": ["boolean"],
        "max_tokens": [Count(1), None],
        "min_frequency": [Count(1)],
        "max_len": [Count(1), None],
        "truncation": [StrOptions({"pre", "post"})],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the vocabulary of the documents in `X`.

        Parameters
        ----------
        X : iterable of str
            Training documents.
        y : None
            Ignored; present for Pipeline compatibility.

        Returns
        -------
        self : object
            The fitted tokenizer.
        """
        docs = check_documents(X, name="X")
        stream, _ = self._split(docs)
        self._build_vocabulary(stream)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Learn the vocabulary and return the padded ids of `X` in one pass.

        Equal to ``fit(X).transform(X)``, but tokenizes `X` only once.

        Parameters
        ----------
        X : iterable of str
            Training documents.
        y : None
            Ignored; present for Pipeline compatibility.

        Returns
        -------
        ids : ndarray of shape (n_samples, L), dtype=int32
            Token ids, right-padded with 0; see :meth:`transform`.
        """
        docs = check_documents(X, name="X")
        return _pad(*self._flat_ids(docs, fit=True), python_number(self.max_len), self.truncation)

    def transform(self, X):
        """Map each document to a right-padded row of token ids.

        Parameters
        ----------
        X : iterable of str
            Documents; may be empty.

        Returns
        -------
        ids : ndarray of shape (n_samples, L), dtype=int32
            ``L`` is `max_len` when set, else the longest document of this call
            in tokens. Rows are right-padded with 0; tokens unseen at fit are 1.
        """
        check_is_fitted(self)
        docs = check_documents(X, name="X", ensure_min_samples=0)
        return _pad(*self._flat_ids(docs), python_number(self.max_len), self.truncation)

    def _flat_ids(self, docs, *, fit=False):
        """(int32 ids of all tokens back to back, (n_docs,) tokens per document): what
        ``transform`` lays out in padded rows, for a reader that keeps sequences
        unpadded. ``fit=True`` learns the vocabulary first, from one tokenization."""
        stream, lengths = self._split(docs)
        if fit:
            self._build_vocabulary(stream)
        return self._lookup(stream), np.asarray(lengths, dtype=np.intp)

    def inverse_transform(self, X):
        """Map rows of token ids back to text.

        Parameters
        ----------
        X : array-like of shape (n_samples, L), integer dtype
            Token ids, as returned by :meth:`transform`.

        Returns
        -------
        texts : list of str
            One str per row: its tokens joined by the tokenizer's separator.
            Padding (id 0) is dropped and id 1 becomes the unknown placeholder
            ``tokens_[1]``.
        """
        check_is_fitted(self)
        ids = self._check_ids(X)
        tokens = self.tokens_.tolist()
        join = self._separator.join
        return [join([tokens[i] for i in row if i != PAD_ID]) for row in ids.tolist()]

    def get_feature_names_out(self, input_features=None):
        """Name the output positions ``<classname>0`` ... ``<classname>{max_len-1}``.

        Parameters
        ----------
        input_features : None
            Ignored; text input has no feature names.

        Returns
        -------
        feature_names_out : ndarray of str objects of shape (max_len,)
            One name per output column.
        """
        check_is_fitted(self)
        if self.max_len is None:
            raise ValueError(
                f"{type(self).__name__} has no fixed output width when max_len=None "
                "(each transform pads to its longest document); set max_len, e.g. "
                f"{type(self).__name__}(max_len=100), to get feature names."
            )
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(self.max_len)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []
        tags.requires_fit = True
        return tags

    def _build_vocabulary(self, stream):
        tokens, counts = self._count(stream)
        if not tokens:
            raise ValueError(
                f"X contains no tokens (every document is empty{self._no_token_hint()}); "
                "fit needs at least one non-empty document."
            )
        order = np.argsort(-counts, kind="stable")
        order = order[counts[order] >= self.min_frequency][: self.max_tokens]
        if order.size == 0:
            raise ValueError(
                f"The vocabulary is empty after applying min_frequency="
                f"{self.min_frequency} and max_tokens={self.max_tokens}: the most "
                f"frequent token occurs {int(counts.max())} times. Lower "
                "min_frequency or fit on more text."
            )
        kept = [tokens[i] for i in order.tolist()]
        kept_counts = counts[order]
        self.vocabulary_ = dict(zip(kept, range(UNK_ID + 1, UNK_ID + 1 + len(kept))))
        self.tokens_ = np.asarray([*self._special_tokens, *kept], dtype=object)
        self.token_counts_ = np.concatenate(
            [[0, counts.sum() - kept_counts.sum()], kept_counts]
        ).astype(np.int64)
        self.n_tokens_ = len(self.tokens_)
        self._index(kept)

    def _index(self, kept):
        """Build any lookup structure beyond vocabulary_; the word tokenizer needs none."""

    def _check_ids(self, X):
        try:
            ids = np.asarray(X)
        except ValueError as exc:  # ragged nested lists
            raise ValueError(
                "X must be a 2-D array of token ids of shape (n_samples, L), like "
                f"the output of transform; got ragged rows ({exc})."
            ) from None
        if ids.ndim != 2:
            raise ValueError(
                "X must be a 2-D array of token ids of shape (n_samples, L), got "
                f"{ids.ndim} dimensions; for one sequence use X.reshape(1, -1)."
            )
        if ids.dtype.kind not in "iu":
            raise TypeError(
                f"X must hold integer token ids, got dtype {ids.dtype}; convert "
                "whole-number floats with X.astype(int)."
            )
        if ids.size and (ids.min() < 0 or ids.max() >= self.n_tokens_):
            bad = ids[(ids < 0) | (ids >= self.n_tokens_)][0]
            raise ValueError(
                f"X holds token id {bad}, outside [0, n_tokens_ - 1] = "
                f"[0, {self.n_tokens_ - 1}] of this fitted vocabulary."
            )
        return ids

    def _no_token_hint(self):
        return ""


class CharTokenizer(_BaseTokenizer, auto_wrap_output_keys=None):
    """Split text into Unicode code points and map them to integer ids.

    Each character (Unicode code point) is one token, so combining marks and
    the parts of multi-code-point emoji are tokens of their own and
    ``inverse_transform`` rebuilds in-vocabulary text exactly.

    Id 0 is padding, id 1 the unknown token, and the learned characters take
    ids 2, 3, ... in order of descending frequency in the training text; ties
    are broken by code point (Python str order), so the vocabulary does not
    depend on the order of the documents.

    Parameters
    ----------
    lowercase : bool, default=False
        Lowercase each document before splitting it. Off by default: at the
        character level case carries information, and ``inverse_transform``
        only reproduces the text exactly without it.
    max_tokens : int, default=None
        Keep at most this many characters, the most frequent ones; the others
        become the unknown id 1. ``n_tokens_`` is then at most
        ``max_tokens + 2``. None keeps all.
    min_frequency : int, default=1
        Drop characters seen fewer times than this in the training text; they
        become the unknown id 1. Applied before `max_tokens`.
    max_len : int, default=None
        Width of the output of :meth:`transform`. Longer documents are
        truncated as `truncation` says, shorter ones right-padded with 0. None
        pads each call to its longest document.
    truncation : {"pre", "post"}, default="post"
        Which end of a document longer than `max_len` to drop: "post" keeps the
        first `max_len` characters, "pre" keeps the last `max_len` (like Keras
        ``pad_sequences``).

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Map from each learned character to its id (2 and up), in id order.
    tokens_ : ndarray of str objects of shape (`n_tokens_`,)
        ``tokens_[i]`` is the character with id ``i``; ``tokens_[0]`` is ``""``
        (padding) and ``tokens_[1]`` is ``"\\ufffd"`` (REPLACEMENT CHARACTER),
        the placeholder ``inverse_transform`` writes for the unknown id.
    token_counts_ : ndarray of int64 of shape (`n_tokens_`,)
        ``token_counts_[i]`` is how often the token with id ``i`` occurs in the
        training text; ``token_counts_[1]`` counts the training characters left
        out of the vocabulary by `min_frequency` and `max_tokens`, and
        ``token_counts_[0]`` is 0.
    n_tokens_ : int
        Size of the vocabulary including padding and unknown: every id that
        :meth:`transform` returns is below it.

    See Also
    --------
    WordTokenizer : Split text into words and punctuation marks instead.
    sklearn.feature_extraction.text.CountVectorizer : Bag of n-grams counts,
        with ``analyzer="char"`` for characters.

    Examples
    --------
    >>> from skrnn import CharTokenizer
    >>> tok = CharTokenizer(max_len=6).fit(["hello", "help"])
    >>> tok.vocabulary_
    {'l': 2, 'e': 3, 'h': 4, 'o': 5, 'p': 6}
    >>> ids = tok.transform(["hello", "hold!"])
    >>> ids
    array([[4, 3, 2, 2, 5, 0],
           [4, 5, 2, 1, 1, 0]], dtype=int32)
    >>> tok.inverse_transform(ids)
    ['hello', 'hol\\ufffd\\ufffd']
    """

    _special_tokens = ("", "\ufffd")
    _separator = ""

    def __init__(
        self,
        *,
        lowercase=False,
        max_tokens=None,
        min_frequency=1,
        max_len=None,
        truncation="post",
    ):
        self.lowercase = lowercase
        self.max_tokens = max_tokens
        self.min_frequency = min_frequency
        self.max_len = max_len
        self.truncation = truncation

    def _split(self, docs):
        if self.lowercase:
            docs = [doc.lower() for doc in docs]
        # len() of a str counts code points, the same unit as UTF-32; lone
        # surrogates (e.g. from surrogateescape decoding) pass through as
        # code points too, so any Python str round-trips.
        lengths = list(map(len, docs))
        text = "".join(docs).encode("utf-32-le", "surrogatepass")
        return np.frombuffer(text, dtype="<u4"), lengths

    def _count(self, codes):
        values, counts = np.unique(codes, return_counts=True)
        return list(map(chr, values.tolist())), counts

    def _index(self, kept):
        codes = np.fromiter(map(ord, kept), dtype=np.uint32, count=len(kept))
        order = np.argsort(codes)
        self._sorted_codes = codes[order]
        self._sorted_ids = (order + UNK_ID + 1).astype(np.int32)

    def _lookup(self, codes):
        # Binary search over the (small) sorted vocabulary: O(N log V) with no
        # table sized by the largest code point.
        pos = np.searchsorted(self._sorted_codes, codes)
        np.minimum(pos, self._sorted_codes.size - 1, out=pos)
        found = self._sorted_codes[pos] == codes
        return np.where(found, self._sorted_ids[pos], np.int32(UNK_ID))


class WordTokenizer(_BaseTokenizer, auto_wrap_output_keys=None):
    r"""Split text into words and punctuation marks and map them to integer ids.

    Tokens are the non-overlapping, non-empty matches of `token_pattern`
    (found with :func:`re.findall`) in each document (normalized to Unicode's
    NFC form first when `token_pattern` is None), or whatever a callable
    `analyzer` returns.

    Id 0 is padding, id 1 the unknown token, and the learned tokens take ids
    2, 3, ... in order of descending frequency in the training text; ties are
    broken by Python str order (code points), so the vocabulary does not depend
    on the order of the documents.

    Parameters
    ----------
    lowercase : bool, default=True
        Lowercase each document before matching `token_pattern`. Ignored when
        `analyzer` is a callable.
    max_tokens : int, default=None
        Keep at most this many tokens, the most frequent ones; the others
        become the unknown id 1. ``n_tokens_`` is then at most
        ``max_tokens + 2``. None keeps all.
    min_frequency : int, default=1
        Drop tokens seen fewer times than this in the training text; they
        become the unknown id 1. Applied before `max_tokens`.
    max_len : int, default=None
        Width of the output of :meth:`transform`. Longer documents are
        truncated as `truncation` says, shorter ones right-padded with 0. None
        pads each call to its longest document.
    truncation : {"pre", "post"}, default="post"
        Which end of a document longer than `max_len` to drop: "post" keeps the
        first `max_len` tokens, "pre" keeps the last `max_len` (like Keras
        ``pad_sequences``).
    token_pattern : str, default=None
        Regular expression whose matches are the tokens. None keeps runs of
        word characters (letters, digits, underscore, in any script) with
        their combining marks and zero-width joiners (Devanagari's vowel
        signs, a decomposed accent, Persian's non-joiner), which ``r"\w+"``
        would split off, and makes every other non-space character, such as
        each punctuation mark, a token of its own: "not good!" and "not good"
        differ. An emoji keeps its skin tone and the emoji joined to it, and a
        flag is one token. Unlike CountVectorizer's default,
        one-letter words such as "a" and "I" are kept. Text without spaces
        between words (Chinese, Japanese) is one token per run: use
        :class:`CharTokenizer` for it. The pattern must have no capturing
        groups (write ``(?:...)``). Empty matches (``r"\d*"`` matches the
        empty string at each non-digit) are skipped: they are never tokens.
        Ignored when `analyzer` is a callable.
    analyzer : callable, default=None
        If given, ``analyzer(doc)`` receives each raw document and returns its
        tokens as an iterable of str; `lowercase` and `token_pattern` are then
        ignored. Use a module-level function, not a lambda, to keep the
        tokenizer picklable.

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Map from each learned token to its id (2 and up), in id order.
    tokens_ : ndarray of str objects of shape (`n_tokens_`,)
        ``tokens_[i]`` is the token with id ``i``; ``tokens_[0]`` is
        ``"<pad>"`` and ``tokens_[1]`` is ``"<unk>"``, the placeholder
        ``inverse_transform`` writes for the unknown id.
    token_counts_ : ndarray of int64 of shape (`n_tokens_`,)
        ``token_counts_[i]`` is how often the token with id ``i`` occurs in the
        training text; ``token_counts_[1]`` counts the training tokens left out
        of the vocabulary by `min_frequency` and `max_tokens`, and
        ``token_counts_[0]`` is 0.
    n_tokens_ : int
        Size of the vocabulary including padding and unknown: every id that
        :meth:`transform` returns is below it.

    See Also
    --------
    CharTokenizer : Split text into characters instead.
    sklearn.feature_extraction.text.CountVectorizer : Bag of words counts with
        the same ``token_pattern`` and ``lowercase`` options.

    Examples
    --------
    >>> from skrnn import WordTokenizer
    >>> tok = WordTokenizer(max_len=5).fit(["Not good!", "good, not bad"])
    >>> tok.vocabulary_
    {'good': 2, 'not': 3, '!': 4, ',': 5, 'bad': 6}
    >>> ids = tok.transform(["not good", "Really not good!"])
    >>> ids
    array([[3, 2, 0, 0, 0],
           [1, 3, 2, 4, 0]], dtype=int32)
    >>> tok.inverse_transform(ids)
    ['not good', '<unk> not good !']
    """

    _parameter_constraints: dict = {
        **_BaseTokenizer._parameter_constraints,
        "token_pattern": [str, None],
        "analyzer": [callable, None],
    }
    _special_tokens = ("<pad>", "<unk>")
    _separator = " "

    def __init__(
        self,
        *,
        lowercase=True,
        max_tokens=None,
        min_frequency=1,
        max_len=None,
        truncation="post",
        token_pattern=None,
        analyzer=None,
    ):
        self.lowercase = lowercase
        self.max_tokens = max_tokens
        self.min_frequency = min_frequency
        self.max_len = max_len
        self.truncation = truncation
        self.token_pattern = token_pattern
        self.analyzer = analyzer

    def _split(self, docs):
        # The stream stays a list of per-document token lists: counting and
        # lookup iterate it through chain() without building a flat copy.
        if self.analyzer is not None:
            per_doc = [self._analyze(doc, i) for i, doc in enumerate(docs)]
            self._check_analyzer_output(per_doc)
        else:
            texts = docs
            if self.token_pattern is None:
                # NFC: an accent typed as its own code point (macOS file names, PDFs)
                # reads as the precomposed letter, so both spellings are one token.
                # Only with the default pattern: a tokenizer pickled with an explicit
                # one keeps giving the ids it gave.
                texts = (unicodedata.normalize("NFC", doc) for doc in docs)
            texts = map(str.lower, texts) if self.lowercase else texts
            per_doc = list(map(self._compile_pattern().findall, texts))
            if self.token_pattern is not None:
                # A pattern such as r"\d*" also matches the empty string at each
                # non-digit; kept, '' would become a vocabulary entry and its ids
                # would stand for no text. The default pattern never matches ''.
                per_doc = [[token for token in tokens if token] for tokens in per_doc]
        return per_doc, list(map(len, per_doc))

    def _count(self, per_doc):
        counts = Counter(chain.from_iterable(per_doc))
        tokens = sorted(counts)
        return tokens, np.fromiter(map(counts.__getitem__, tokens), dtype=np.int64)

    def _lookup(self, per_doc):
        tokens = chain.from_iterable(per_doc)
        ids = map(self.vocabulary_.get, tokens, repeat(UNK_ID))
        return np.fromiter(ids, dtype=np.int32, count=sum(map(len, per_doc)))

    def _compile_pattern(self):
        # Compiled per call from a cache of our own, which keeps compiled objects out of the pickled
        # state; re's cache is shared by the whole program, and a service with many patterns evicted
        # the default one (3 ms to compile again: a one-text predict took 4 ms instead of 0.8).
        if self.token_pattern is None:
            return _compiled(default_token_pattern())
        try:
            pattern = _compiled(self.token_pattern)
        except re.error as exc:
            raise ValueError(
                f"token_pattern={self.token_pattern!r} is not a valid regular "
                f"expression: {exc}."
            ) from None
        if pattern.groups:
            raise ValueError(
                f"token_pattern={self.token_pattern!r} has capturing groups, so "
                "re.findall would return the groups instead of the tokens; make "
                "them non-capturing with (?:...)."
            )
        return pattern

    def _analyze(self, doc, i):
        tokens = self.analyzer(doc)
        try:
            tokens = iter(tokens)
        except TypeError:  # "'NoneType' object is not iterable" named neither the analyzer nor the document
            forgot = " (does it end without a return?)" if tokens is None else ""
            raise TypeError(
                f"analyzer returned {type(tokens).__name__} for X[{i}]{forgot}; it must return an iterable of str."
            ) from None
        return list(tokens)  # an error inside a generator analyzer is the analyzer's, with its traceback

    def _check_analyzer_output(self, per_doc):
        for i, tokens in enumerate(per_doc):
            if set(map(type, tokens)) <= {str}:
                continue
            for bad in tokens:
                if isinstance(bad, str):
                    continue
                raise TypeError(
                    f"analyzer returned a {type(bad).__name__} token ({bad!r}) for "
                    f"X[{i}]; it must return an iterable of str."
                )

    def _no_token_hint(self):
        if self.analyzer is not None:
            return " or the analyzer returned no tokens"
        if self.token_pattern is None:
            return " or has no word or symbol, only white space"
        return f" or has no non-empty match for token_pattern={self.token_pattern!r}"
