"""RNNCharGenerator: a character-level language model that generates and scores text."""

import warnings
from numbers import Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted

from ._base import SHARED_CONSTRAINTS, BaseRNN, Count, python_number
from ._core.losses import softmax_cross_entropy
from ._core.network import NetworkSpec, TokenStepper, forward
from ._core.recurrent import BUFFERS
from ._core.sampling import Sampler, log_softmax
from ._tokenizers import check_documents
from ._training import fit_epochs, report_batch, train_step, user_stacklevel

END = ""  # classes_[0]: ends every document, and is the first input of every document

# A five-character corpus makes one batch per pass: an epoch repeats passes
# until it has made this many updates, so tiny and huge corpora share defaults.
MIN_UPDATES_PER_EPOCH = 50

# Chunk length for scoring and prediction, where no gradient is kept.
INFERENCE_CHUNK = 256

# Arguments of generate and iter_generate, checked with "generate" as the
# name in messages (validate_params would name a private helper instead).
_GENERATE_CONSTRAINTS = {
    "prompt": [str],
    "n_chars": [Count(0)],
    "temperature": [Interval(Real, 0, None, closed="left")],
    "top_k": [None, Count(1)],
    "random_state": ["random_state"],
}


def _as_documents(X, name="X"):
    """A str is one document; anything else must be an iterable of str."""
    if isinstance(X, str):
        return [X]
    return check_documents(X, name=name)


def _code_points(text):
    """(len(text),) uint32 code points of ``text``.

    A lone surrogate (e.g. from ``surrogateescape`` decoding) is a str code
    point like any other, so it passes through as one, as in CharTokenizer.
    """
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def _segments(seqs, n_lanes, seq_length):
    """Cut streams into segments and deal them to lanes.

    seqs are id arrays ``[END, c1, ..., cn, END]``; a segment (s, a, b)
    covers inputs seqs[s][a:b] and targets seqs[s][a+1:b+1]. A stream longer
    than its share of the corpus (total steps / n_lanes) is cut, so that one
    long corpus fills every lane, as in char-rnn; each segment starts from a
    zero state. Returns a list of lanes, each a list of segments.
    """
    steps = [len(s) - 1 for s in seqs]
    share = max(seq_length, -(-sum(steps) // n_lanes))
    pieces = []
    for s, n in enumerate(steps):
        cuts = -(-n // share)
        bounds = np.linspace(0, n, cuts + 1).astype(int)
        pieces.extend((s, a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a)
    return _deal(pieces, n_lanes, seq_length)


def _deal(pieces, n_lanes, chunk):
    """Greedy: the next piece goes to the lane with the fewest batches so far.

    A lane reads one piece per batch, ``chunk`` steps of it at most, so its
    batches are ``ceil(steps / chunk)`` per piece. Balanced by steps instead,
    lanes of many short documents (names) ran on alone for the last batches of
    each epoch: 31,000 names in 32 lanes ended with 8 batches of one name
    each, full Adam steps on one name that took the held-out score from -2.16
    to -2.43 nats per character. Balanced by batches, all lanes end within one.
    """
    lanes = [[] for _ in range(min(n_lanes, len(pieces)))]
    loads = np.zeros(len(lanes), dtype=np.int64)
    for piece in pieces:
        lane = int(loads.argmin())
        lanes[lane].append(piece)
        loads[lane] += -(-(piece[2] - piece[1]) // chunk)
    return lanes


def _n_ticks(lanes, chunk):
    """Batches that ``_ticks`` makes from these lanes."""
    return max(sum(-(-(b - a) // chunk) for _, a, b in lane) for lane in lanes)


def _ticks(seqs, lanes, chunk):
    """Walk the lanes in lockstep, ``chunk`` steps at a time.

    Yields (X (N, T), targets (T, N), lengths (N,), starts (N,) bool, ends):
    ``starts`` marks rows beginning a segment (their state is reset), ``ends``
    lists (row, segment) pairs whose segment finishes in this tick. A lane with
    nothing left gets length 0, which costs nothing in the time loop.
    """
    N = len(lanes)
    where = [0] * N  # segment index within each lane
    offset = [0] * N  # steps of that segment already read
    while True:
        rows = []
        for lane in range(N):
            if where[lane] >= len(lanes[lane]):
                rows.append(None)
                continue
            s, a, b = lanes[lane][where[lane]]
            start = a + offset[lane]
            stop = min(start + chunk, b)
            rows.append((s, start, stop, offset[lane] == 0, stop == b, (s, a, b)))
            offset[lane] += stop - start
            if stop == b:
                where[lane] += 1
                offset[lane] = 0
        if all(r is None for r in rows):
            return
        T = max(r[2] - r[1] for r in rows if r is not None)
        X = np.zeros((N, T), dtype=np.int32)
        targets = np.zeros((T, N), dtype=np.int32)
        lengths = np.zeros(N, dtype=np.intp)
        starts = np.zeros(N, dtype=bool)
        ends = []
        for i, r in enumerate(rows):
            if r is None:
                continue
            s, start, stop, is_start, is_end, segment = r
            n = stop - start
            X[i, :n] = seqs[s][start:stop]
            targets[:n, i] = seqs[s][start + 1 : stop + 1]
            lengths[i] = n
            starts[i] = is_start
            if is_end:
                ends.append((i, segment))
        yield X, targets, lengths, starts, ends


def _describe_codes(codes):
    """The first characters of sorted code points, for messages."""
    return f"{[chr(c) for c in codes[:10]]!r}{' ...' if codes.size > 10 else ''}"


def _prior_bias(seqs, n_classes, dtype):
    """(n_classes,) output bias at which the untrained model predicts the
    training characters' frequencies: centred log-frequencies of the targets
    (``seq[1:]`` of each stream, END included), add-one smoothed.

    Starting ``b_y`` at zero leaves the frequencies to be learned, and Adam
    moves a weight by about ``learning_rate`` per update: over one pass of
    tinyshakespeare (491 updates at 0.002) ``b_y`` moved less than 0.1, while
    the log-frequencies span about 11 nats (END, once in a million
    characters, at the bottom). The network then keeps the frequencies in its
    state instead: an LSTM (forget-gate bias 1) did so in self-sustaining
    cells (|c| up to about 15) that a rare stretch of input flipped into a
    second stable state in which END and rare characters were the likeliest,
    and it never left that state (validation loss 5.90 instead of 2.16 for 6
    of 8 seeds). Starting from the prior, no seed of 8 fell into it (|c| at
    most about 5), and the validation loss after one pass was lower for all
    three cells.
    """
    counts = np.ones(n_classes)
    for seq in seqs:
        counts += np.bincount(seq[1:], minlength=n_classes)
    log_p = np.log(counts / counts.sum())
    return (log_p - log_p.mean()).astype(dtype)


def _reset_rows(states, starts):
    """Zero the carried state of rows that begin a new segment."""
    keep = (~starts)[:, None]
    return [tuple(s * keep for s in st) for st in states]


def _step_weights(lengths, T, dtype):
    """(T, N) weights: 1 at real steps, 0 at padding."""
    return (np.arange(T)[:, None] < lengths[None, :]).astype(dtype)


class RNNCharGenerator(BaseRNN):
    """Character-level recurrent language model.

    Learns the characters of a corpus, generates new text and scores held-out
    text. Each document becomes the stream ``[END] c1 ... cn [END]``, where
    ``END`` (shown as ``""`` in ``classes_``) is learned like any character:
    a model of short documents (one name per document) ends its samples by
    itself. A long corpus is cut into ``batch_size`` lanes read in chunks of
    ``seq_length`` characters with truncated backpropagation through time,
    carrying the hidden state from one chunk to the next, as char-rnn does;
    short documents are independent streams that each start from a zero state.
    The weights start at random and the output bias at the logarithm of the
    training characters' frequencies, so that training begins from the
    characters' prior rather than from a uniform guess.

    Parameters
    ----------
    hidden_size : int, default=128
        Units in each recurrent layer.
    cell : {"rnn", "gru", "lstm"}, default="rnn"
        Recurrent cell.
    num_layers : int, default=1
        Stacked recurrent layers.
    embedding_dim : int or None, default=None
        Size of a learned character embedding; None feeds each character
        straight into the first layer, as a one-hot input would.
    dropout : float, default=0.0
        Inverted-dropout rate between layers and before the output layer,
        applied only while training.
    seq_length : int, default=64
        Characters per chunk of truncated backpropagation through time.
    batch_size : int, default=32
        Parallel lanes (streams) per update.
    solver : {"adam", "sgd", "adagrad", "rmsprop"}, default="adam"
        Optimizer.
    learning_rate : float, default=0.002
        Step size of the optimizer. The default suits "adam" and "rmsprop"; "sgd" and
        "adagrad" need larger steps (see the user guide's "The solver").
    momentum : float, default=0.9
        Nesterov momentum, for ``solver="sgd"``.
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's moment decay rates.
    alpha : float, default=0.0
        L2 penalty on the weights (not the biases).
    clip_norm : float or None, default=5.0
        Clip the global gradient norm to this value, as char-rnn does.
    max_iter : int, default=20
        Maximum epochs. An epoch is one pass over the corpus, or as many passes
        as make at least 50 updates when the corpus is tiny.
    tol : float, default=1e-3
        Minimum improvement of the training loss (or of the validation score
        with ``early_stopping``) that counts as progress.
    n_iter_no_change : int, default=3
        Epochs without progress before training stops.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop when the validation
        log-likelihood stops improving, and keep the best weights.
    validation_fraction : float, default=0.1
        Held-out share for early stopping: whole documents when there are
        several, else the tail of the single document.
    lowercase : bool, default=False
        Lowercase all text (training, prompts, scored text).
    warm_start : bool, default=False
        Continue from the previous fit's weights, optimizer state and random
        stream. A changed ``solver`` starts with fresh solver statistics.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, lane order, dropout and the early-stopping
        split.
    verbose : int, default=0
        1 prints one line per epoch (losses in nats per character, time,
        characters per second and a short sample).
    dtype : {"float32", "float64"}, default="float32"
        Floating-point type of the weights and computations.

    Attributes
    ----------
    classes_ : ndarray of str, shape (n_classes,)
        The characters, ``classes_[0] == ""`` standing for end of document.
    vocabulary_ : dict
        Each character to its index in ``classes_`` (from 1: the end of
        document, index 0, is not a character of the text).
    weights_ : dict of ndarray
        Fitted weights by name (``layer0.W_xh``, ``layer0.W_hh``, ...,
        ``W_hy``, ``b_y``).
    loss_curve_ : list of float
        Mean training loss (nats per character) of each epoch.
    validation_scores_ : list of float or None
        Validation log-likelihood per character after each epoch, with
        ``early_stopping``.
    best_validation_score_ : float or None
        Validation score of the weights kept: the best epoch's, over warm
        fits too.
    best_loss_ : float or None
        Lowest training loss; None with ``early_stopping``, whose kept
        weights are those of ``best_validation_score_`` (as in
        :class:`~sklearn.neural_network.MLPClassifier`).
    n_iter_ : int
        Epochs run by the last fit, plus one for each call to
        :meth:`partial_fit` since.
    t_ : int
        Characters trained on since the last fresh fit, each document's end
        counted as one (it accumulates over fits under `warm_start` and
        calls to :meth:`partial_fit`).

    See Also
    --------
    RNNSequenceClassifier : Many-to-one model for labelled sequences.
    CharTokenizer : Characters to padded ids, for pipelines.

    Examples
    --------
    >>> from skrnn import RNNCharGenerator
    >>> model = RNNCharGenerator(hidden_size=32, random_state=0).fit("hello")
    >>> model.generate("h", n_chars=4, temperature=0)
    'ello'
    >>> model.predict(["hell"])
    array(['o'], dtype=object)
    """

    _parameter_constraints = {
        **SHARED_CONSTRAINTS,
        "seq_length": [Count(1)],
        "lowercase": ["boolean"],
    }

    def __init__(
        self,
        hidden_size=128,
        *,
        cell="rnn",
        num_layers=1,
        embedding_dim=None,
        dropout=0.0,
        seq_length=64,
        batch_size=32,
        solver="adam",
        learning_rate=0.002,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        alpha=0.0,
        clip_norm=5.0,
        max_iter=20,
        tol=1e-3,
        n_iter_no_change=3,
        early_stopping=False,
        validation_fraction=0.1,
        lowercase=False,
        warm_start=False,
        random_state=None,
        verbose=0,
        dtype="float32",
    ):
        self.hidden_size = hidden_size
        self.cell = cell
        self.num_layers = num_layers
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.seq_length = seq_length
        self.batch_size = batch_size
        self.solver = solver
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.alpha = alpha
        self.clip_norm = clip_norm
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.lowercase = lowercase
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.dtype = dtype

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.required = False
        return tags

    # -- text <-> ids -------------------------------------------------------

    def _documents(self, X, name="X"):
        docs = _as_documents(X, name)
        return [d.lower() for d in docs] if self.lowercase else docs

    def _encode(self, docs, name="X", vocabulary=None, skipped=None):
        """Documents -> id arrays over ``vocabulary`` (sorted code points; the fitted ones by default).

        Characters outside the vocabulary raise, or, given a dict
        ``skipped``, are left out and counted there by character.
        """
        vocabulary = self._codes if vocabulary is None else vocabulary
        encoded = []
        for i, doc in enumerate(docs):
            codes = _code_points(doc)
            ids = np.searchsorted(vocabulary, codes)
            known = (ids < len(vocabulary)) & (vocabulary[np.minimum(ids, len(vocabulary) - 1)] == codes)
            if not known.all():
                if skipped is None:
                    where = f"{name}[{i}]" if name != "prompt" else "prompt"
                    raise ValueError(
                        f"{where} contains characters the model was not trained on: "
                        f"{sorted({chr(c) for c in codes[~known]})!r}. Remove or replace them, or fit on text "
                        "that contains them."
                    )
                for c, n in zip(*np.unique(codes[~known], return_counts=True)):
                    skipped[chr(c)] = skipped.get(chr(c), 0) + int(n)
                ids = ids[known]
            encoded.append((ids + 1).astype(np.int32))
        return encoded

    @staticmethod
    def _stream(ids):
        """[END, c1, ..., cn, END]: inputs are [:-1], targets [1:]."""
        seq = np.zeros(len(ids) + 2, dtype=np.int32)
        seq[1:-1] = ids
        return seq

    def _spec(self, *, fitted=True, n_classes=None):
        n_classes = len(self.classes_) if n_classes is None else n_classes
        return NetworkSpec(
            n_inputs=n_classes, n_outputs=n_classes, input_kind="tokens", **self._architecture(fitted=fitted)
        )

    # -- fitting ------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the characters of ``X``.

        Parameters
        ----------
        X : str or iterable of str
            One document (a str) or several documents. Give model-selection
            tools a list of documents: they would split a str into characters.
        y : None
            Ignored.

        Returns
        -------
        self : RNNCharGenerator
            The fitted model.
        """
        return self._fit(X, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, classes=None):
        """Train for one pass over ``X``, continuing from the current weights.

        For a corpus read piece by piece (too large for memory, or arriving
        over time), or to train for a time budget: each call makes one pass
        over its text, with no minimum number of updates, and adds one epoch
        to ``loss_curve_``. Each call cuts its text into ``batch_size``
        lanes and has a fixed cost, so pieces of 50,000 characters or more
        train about as well as :meth:`fit` in the same time (on
        tinyshakespeare at ``hidden_size=128``, 10,000-character pieces
        scored 0.08 nats per character worse in 25 s). The first call fixes
        the characters. No text is held out, so ``early_stopping=True``
        raises a ValueError (as in
        :class:`~sklearn.neural_network.MLPClassifier`), and
        ``validation_scores_`` and ``best_validation_score_`` become None.

        Parameters
        ----------
        X : str or iterable of str
            One document or several, as for :meth:`fit`. For running text,
            pass its pieces in order: each call's text starts and ends as a
            document does.
        y : None
            Ignored.
        classes : str or iterable of str, default=None
            Every character that any call may pass, on the first call (e.g.
            ``string.printable``, or ``set(text)`` of the whole corpus); by
            default the characters of the first call's `X`. Later calls
            accept only these characters, and a `classes` given again must
            hold the same ones.

        Returns
        -------
        self : RNNCharGenerator
            The model.

        Examples
        --------
        >>> from skrnn import RNNCharGenerator
        >>> model = RNNCharGenerator(hidden_size=16, random_state=0)
        >>> for piece in ["hello world", "help the world", "hello help"]:
        ...     model = model.partial_fit(piece, classes=" dehloprtw")
        >>> model.n_iter_, len(model.classes_)
        (3, 11)
        """
        self._refuse_early_stopping()
        return self._fit(X, classes=classes, incremental=True)

    def _fit(self, X, *, classes=None, incremental):
        docs = self._documents(X)
        codes = np.unique(_code_points("".join(docs)))
        resume = self._resumes(incremental)
        if codes.size == 0:  # END after END is all it would learn
            method = "partial_fit" if incremental else "fit"
            raise ValueError(f"X contains no characters: {method} needs text, e.g. {method}('hello world').")
        declared = None if classes is None else self._declared_codes(classes)
        if resume:
            if declared is not None and not np.array_equal(declared, self._codes):
                raise ValueError(
                    "classes must hold the characters the model was first fit on (classes_); these are in one "
                    f"and not the other: {_describe_codes(np.setxor1d(declared, self._codes))}."
                )
            new = codes[~np.isin(codes, self._codes)]
            if new.size:
                if incremental:
                    first = "partial_fit continues with the characters the model was first fit on (classes_)"
                    advice = (
                        "Remove them, or start afresh naming every character in the first call to partial_fit, "
                        "e.g. clone(model).partial_fit(X, classes=string.printable)."
                    )
                else:
                    first = "warm_start=True continues with the characters of the previous fit"
                    advice = "Remove them, or set warm_start=False to start afresh on all of them."
                raise ValueError(f"{first}, and X holds characters outside them: {_describe_codes(new)}. {advice}")
            codes = self._codes  # text with fewer characters trains the same outputs
        elif declared is not None:
            new = codes[~np.isin(codes, declared)]
            if new.size:
                raise ValueError(f"X holds characters that classes lacks: {_describe_codes(new)}.")
            codes = declared
        # scikit-learn's model selection indexes a str like a list, so each fold
        # of one str arrives as one-character documents: fit cannot see the
        # str, only this symptom, which no real corpus of documents shows.
        if len(docs) > 1 and all(len(doc) <= 1 for doc in docs):
            warnings.warn(
                f"X holds {len(docs)} documents of at most one character each, so the model learns which "
                "characters occur but not which follow which. Model-selection tools (GridSearchCV, "
                "cross_val_score, ...) split a single str into its characters: pass a list of documents "
                "instead. For running text, chunks of it, e.g. [text[i:i + 10000] for i in range(0, len(text), "
                "10000)]: text.splitlines() would make each line a document that ends, without its line break.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        with self._continuing(incremental):
            self._train(docs, codes, incremental=incremental)
        return self

    def _declared_codes(self, classes):
        """Sorted code points of ``classes`` (a str, or single characters; ``END`` is implied)."""
        if not isinstance(classes, str):
            try:
                classes = list(classes)
            except TypeError:
                raise TypeError(
                    f"classes must be a str or an iterable of characters, got {type(classes).__name__}."
                ) from None
            bad = [c for c in classes if not isinstance(c, str) or len(c) > 1]
            if bad:
                raise ValueError(
                    f"classes must hold single characters (str of length 1), got {bad[0]!r}; a str such as "
                    "'abc' names its characters."
                )
            classes = "".join(classes)  # END ("") adds nothing: every model has it
        return np.unique(_code_points(classes.lower() if self.lowercase else classes))

    def _train(self, docs, codes, *, incremental):
        """Train on ``docs`` over the characters ``codes``, then set the fitted attributes."""
        rng = self._generator()
        validating = self.early_stopping and not incremental
        # Both may raise: before any fitted attribute changes.
        split_seed = self._split_seed(rng) if validating and len(docs) > 1 else None
        train, valid = self._split(docs, split_seed) if validating else (docs, None)
        spec = self._spec(fitted=False, n_classes=codes.size + 1)  # END, then the characters
        fresh = not self._is_warm()
        params, optimizer = self._start_training(spec, rng)
        # The fitted attributes change only once training has ended: a fit that raises (a second Ctrl-C, a
        # MemoryError) leaves the previous model whole.
        classes = np.array([END] + [chr(c) for c in codes], dtype=object)
        seqs = [self._stream(ids) for ids in self._encode(train, vocabulary=codes)]
        valid_seqs = [self._stream(ids) for ids in self._encode(valid, vocabulary=codes)] if valid else None
        if fresh:  # the output bias starts at the characters' frequencies (see _prior_bias)
            params["b_y"][...] = _prior_bias(seqs, len(classes), params["b_y"].dtype)
        counted = {"chars": 0}

        chars_per_pass = sum(len(s) - 1 for s in seqs)
        min_updates = 1 if incremental else MIN_UPDATES_PER_EPOCH  # partial_fit: one pass, however short
        batch_size, seq_length, alpha, clip_norm, dropout = map(
            python_number, (self.batch_size, self.seq_length, self.alpha, self.clip_norm, self.dropout)
        )

        def run_epoch(stop):
            total, n_chars, n_updates = 0.0, 0, 0
            epoch_chars = None
            while n_updates < min_updates and not stop.requested:
                order = rng.permutation(len(seqs))
                lanes = _segments([seqs[i] for i in order], batch_size, seq_length)
                if epoch_chars is None:
                    passes = -(-min_updates // _n_ticks(lanes, seq_length))
                    epoch_chars = passes * chars_per_pass
                shuffled = [seqs[i] for i in order]
                states = None
                for X_t, targets, lengths, starts, _ in _ticks(shuffled, lanes, seq_length):
                    weights = _step_weights(lengths, X_t.shape[1], params["W_hy"].dtype)
                    state0 = None if states is None else _reset_rows(states, starts)
                    loss, states = train_step(
                        params, spec, optimizer, X_t, lengths, targets, weights, state0,
                        alpha=alpha, clip_norm=clip_norm, dropout=dropout, rng=rng,
                    )
                    real = int(lengths.sum())
                    total += loss * real
                    n_chars += real
                    n_updates += 1
                    report_batch(n_chars, epoch_chars)
                    if stop.requested:
                        break
            counted["chars"] += n_chars
            return (total / n_chars if n_chars else np.nan), n_chars

        validation = None
        if valid_seqs is not None:
            def validation():
                return self._mean_log_likelihood(params, spec, valid_seqs)

        def describe(epoch):
            sample = "".join(self._continuation(params, spec, [], 40, 0.8, None, epoch, classes))
            return f", sample {sample!r}"

        history = fit_epochs(
            params, optimizer, run_epoch, validation, max_iter=1 if incremental else self.max_iter,
            tol=self.tol, n_iter_no_change=self.n_iter_no_change, verbose=self.verbose,
            name=type(self).__name__, describe_epoch=describe if self.verbose else None, unit="chars",
            describe_validation=lambda score: f", validation loss {-score:.4f}",  # nats per character, as the loss
            validation_name="validation loss",
            patience=self._patience(validating), warn_unconverged=not incremental,
        )
        self._codes = codes
        self.classes_ = classes
        self.vocabulary_ = {c: i for i, c in enumerate(classes) if i > 0}
        self._finish_training(params, optimizer, rng, history, counted["chars"], split_seed, validated=validating)

    def _split(self, docs, seed):
        """(training documents, validation documents) for early stopping; ``seed`` draws the held-out documents."""
        if len(docs) == 1:
            cut = int(round(len(docs[0]) * (1 - self.validation_fraction)))
            if cut < 1 or cut >= len(docs[0]):
                raise ValueError(
                    f"validation_fraction={self.validation_fraction} leaves no text to train on or to "
                    f"validate on in a document of {len(docs[0])} characters; use early_stopping=False."
                )
            return [docs[0][:cut]], [docs[0][cut:]]
        n_valid = int(round(len(docs) * self.validation_fraction))
        if n_valid < 1 or n_valid >= len(docs):
            raise ValueError(
                f"validation_fraction={self.validation_fraction} of {len(docs)} documents leaves no "
                "document to train on or to validate on; use early_stopping=False or more documents."
            )
        order = np.random.default_rng(seed).permutation(len(docs))
        return [docs[i] for i in order[n_valid:]], [docs[i] for i in order[:n_valid]]

    # -- inference ----------------------------------------------------------

    def _inference_lanes(self, seqs):
        pieces = sorted(((s, 0, len(seq) - 1) for s, seq in enumerate(seqs)), key=lambda p: -(p[2] - p[1]))
        return _deal(pieces, max(python_number(self.batch_size), 64), INFERENCE_CHUNK)

    def _mean_log_likelihood(self, params, spec, seqs):
        """Mean log-probability per predicted character, END included (nats)."""
        total, count = 0.0, 0
        states = None
        for X_t, targets, lengths, starts, _ in _ticks(seqs, self._inference_lanes(seqs), INFERENCE_CHUNK):
            state0 = None if states is None else _reset_rows(states, starts)
            logits, states, _ = forward(params, spec, X_t, lengths, state0)
            weights = _step_weights(lengths, X_t.shape[1], logits.dtype)
            loss, _ = softmax_cross_entropy(logits, targets, weights)
            real = int(lengths.sum())
            total += loss * real
            count += real
        return -total / count

    def score(self, X, y=None):
        """Mean log-likelihood per character of ``X``, in nats (higher is better).

        Each document is scored from the start, predicting each of its
        characters and its end, so that ``GridSearchCV`` can select models
        with no scorer argument.

        Characters the model was not trained on have no probability to score:
        they are left out of the text, with a warning that names them. Models
        fit on the same text leave out the same characters, so that the
        candidates of a model search stay comparable fold by fold, where a
        cross-validation fold's test part holds a character its training part
        lacks.

        Parameters
        ----------
        X : str or iterable of str
            Held-out text.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Mean natural log-probability per character (the end of each
            document counted as one), at most 0.
        """
        check_is_fitted(self)
        docs = self._documents(X)
        skipped = {}
        encoded = self._encode(docs, skipped=skipped)
        if skipped:
            n_skipped = sum(skipped.values())
            n_chars = sum(len(doc) for doc in docs)
            shown = ", ".join(f"{c!r} ({n})" for c, n in sorted(skipped.items(), key=lambda kv: -kv[1])[:10])
            more = f" and {len(skipped) - 10} more" if len(skipped) > 10 else ""
            counted = f"{n_chars} characters" + (" (lowercased)" if self.lowercase else "")
            if n_skipped == n_chars:  # what would be left is the score of empty documents
                raise ValueError(
                    f"None of the {counted} of X is in the model's vocabulary ({shown}{more}): there is nothing "
                    "to score. Score text in the language, or the alphabet, the model was fit on."
                )
            warnings.warn(
                f"X holds {n_skipped} of its {counted} outside the model's vocabulary, left out of the score: "
                f"{shown}{more}. The score is that of the text without them; fit on text that holds them to "
                "score them.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        seqs = [self._stream(ids) for ids in encoded]
        score = float(self._mean_log_likelihood(self.weights_, self._spec(), seqs))
        BUFFERS.trim()  # so that the workspaces of a long text do not stay with this thread
        return score

    def perplexity(self, X):
        """``exp(-score(X))``: the model's average branching factor on ``X``.

        Characters the model was not trained on are left out, as by :meth:`score`.

        Parameters
        ----------
        X : str or iterable of str
            Held-out text.

        Returns
        -------
        perplexity : float
            At least 1; lower is better.
        """
        return float(np.exp(-self.score(X)))

    def _last_logits(self, prefixes):
        """(n, n_classes) logits after reading ``[END] + prefix`` for each prefix."""
        seqs = [np.append(self._stream(ids)[:-1], 0) for ids in self._encode(prefixes)]
        out = np.zeros((len(seqs), len(self.classes_)), dtype=self.weights_["W_hy"].dtype)
        lanes = self._inference_lanes(seqs)
        spec = self._spec()
        states = None
        for X_t, _, lengths, starts, ends in _ticks(seqs, lanes, INFERENCE_CHUNK):
            state0 = None if states is None else _reset_rows(states, starts)
            logits, states, _ = forward(self.weights_, spec, X_t, lengths, state0)
            for row, (s, _, _) in ends:
                out[s] = logits[lengths[row] - 1, row]
        return out

    def predict_log_proba(self, X):
        """Log-probabilities of the next character after each prefix in ``X``.

        Parameters
        ----------
        X : str or iterable of str
            Prefixes (a str is one prefix); each is read from the start of a
            document.

        Returns
        -------
        log_proba : ndarray of shape (n_prefixes, n_classes)
            Columns follow ``classes_``; column 0 is the end of the document.
        """
        check_is_fitted(self)
        logits = self._last_logits(self._documents(X))
        BUFFERS.trim()
        return log_softmax(logits.astype(np.float64), axis=1)

    def predict_proba(self, X):
        """Distribution of the next character after each prefix in ``X``.

        Parameters
        ----------
        X : str or iterable of str
            Prefixes, as for :meth:`predict_log_proba`.

        Returns
        -------
        proba : ndarray of shape (n_prefixes, n_classes)
            Columns follow ``classes_``; column 0 is the end of the document.
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        """Most likely next character after each prefix.

        Parameters
        ----------
        X : str or iterable of str
            Prefixes, as for :meth:`predict_log_proba`.

        Returns
        -------
        chars : ndarray of shape (n_prefixes,)
            Characters from ``classes_``; ``""`` where the document ends.
        """
        best = self.predict_log_proba(X).argmax(axis=1)
        return self.classes_[best]

    # -- generation ---------------------------------------------------------

    def iter_generate(self, prompt="", n_chars=200, temperature=1.0, top_k=None, random_state=None):
        """Yield generated characters one at a time, for live output.

        Arguments are checked, and the prompt is read, before the first
        character is asked for.

        Parameters
        ----------
        prompt, n_chars, temperature, top_k, random_state
            As for :meth:`generate`.

        Yields
        ------
        char : str
            The next generated character; the iterator ends after `n_chars`
            characters or where the model ends the document.
        """
        validate_parameter_constraints(
            _GENERATE_CONSTRAINTS,
            {"prompt": prompt, "n_chars": n_chars, "temperature": temperature, "top_k": top_k,
             "random_state": random_state},
            caller_name="generate",
        )
        check_is_fitted(self)
        text = prompt.lower() if self.lowercase else prompt
        ids = self._encode([text], name="prompt")[0]
        return self._continuation(
            self.weights_, self._spec(), ids, n_chars, temperature, top_k, random_state, self.classes_
        )

    def _continuation(self, params, spec, ids, n_chars, temperature, top_k, random_state, classes):
        """The characters ``params`` generate after the prompt ``ids``, one at a time (a generator)."""
        rng = np.random.default_rng(check_random_state(random_state).randint(np.iinfo(np.int32).max))
        seq = np.concatenate([[0], ids]).astype(np.int32)  # (1 + len(prompt),)
        # In chunks, the state carried: in one piece, a prompt of a million
        # characters held 1.3 GB of forward caches.
        states = None
        for start in range(0, len(seq), INFERENCE_CHUNK):
            piece = seq[None, start : start + INFERENCE_CHUNK]
            logits, states, _ = forward(params, spec, piece, np.array([piece.shape[1]]), states)
        return self._sample(params, spec, logits[-1, 0], states, n_chars, temperature, top_k, rng, classes)

    def _sample(self, params, spec, logits, states, n_chars, temperature, top_k, rng, classes):
        if n_chars == 0:
            return
        # The per-character path: prepared once, then one lean step and one draw per character.
        dtype = params["W_hy"].dtype
        sample = Sampler(rng, len(classes), temperature, top_k, block=min(n_chars, 256), dtype=dtype).draw
        step = TokenStepper(params, spec, states).step
        for _ in range(n_chars):
            token = sample(logits)
            if token == 0:  # the model ended the document
                return
            yield classes[token]
            logits = step(token)

    def generate(self, prompt="", n_chars=200, temperature=1.0, top_k=None, random_state=None):
        """Generate text that continues ``prompt``.

        Parameters
        ----------
        prompt : str, default=""
            Text that primes the hidden state, read from the start of a
            document. Its characters must be in ``classes_``.
        n_chars : int, default=200
            Maximum characters to generate; fewer when the model ends the
            document.
        temperature : float, default=1.0
            Divides the logits before sampling: 0 takes the most likely
            character (greedy), values above 1 give more varied text, below 1
            more conservative text.
        top_k : int or None, default=None
            Sample only among the ``top_k`` most likely characters.
        random_state : int, RandomState instance or None, default=None
            Seed of the sampling; the same seed gives the same text.

        Returns
        -------
        text : str
            The generated text, without the prompt.
        """
        return "".join(self.iter_generate(prompt, n_chars, temperature, top_k, random_state))

