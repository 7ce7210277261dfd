"""RNNSequenceClassifier: a sequence in, a label out."""

import warnings
from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import HasMethods, InvalidParameterError, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_is_fitted,
    column_or_1d,
)

from ._base import SHARED_CONSTRAINTS, BaseRNN, Count, python_number
from ._core.network import POOLINGS, NetworkSpec, pooled_forward
from ._core.recurrent import BUFFERS
from ._sequences import (
    INPUT_TYPES,
    TOKENIZERS,
    as_dtype,
    check_some_steps,
    fit_sequences,
    read_sequences,
    set_input_state,
    warn_far_from_unit_scale,
    warn_token_ids_among_numbers,
)
from ._training import fit_epochs, train_step, user_stacklevel

# Work per forward pass at predict time, in rows x steps x hidden units, and
# the fewest and most rows per pass: a pass reads time in chunks of about that
# much work, so its (T, N, H) workspaces stay near a few times 2**20 floats, and
# a step's blocks small enough for the cache. _PREDICT_MOST_WORK bounds a pass
# of a network with more than one layer, whose lower layers' outputs are kept
# whole. predict_proba (BiGRU, H=64, one thread; tracemalloc peak), whole passes
# before, chunks now: 1,024 series of 1,000 steps 73 -> 35 MB (2.6 -> 1.7 s);
# 200 texts of 5,000 words 281 -> 57 MB (4.4 -> 2.2 s); one text of 40,000
# words 125 -> 14 MB; 2,000 texts of 20 words 19 -> 4 MB. (Earlier, passes of
# 512 rows: 1,024 series of 1,000 steps peaked at 3.2 GB.)
_PREDICT_WORK = 2**20
_PREDICT_ROWS = (32, 512)
_PREDICT_MOST_WORK = 2**22
# Minibatches per pool of rows sorted by length while training.
_POOL_BATCHES = 50


class RNNSequenceClassifier(ClassNamePrefixFeaturesOutMixin, ClassifierMixin, TransformerMixin, BaseRNN):
    """Recurrent neural network classifier: one label per sequence.

    A recurrent network reads each sequence step by step; its per-step outputs
    are pooled into one vector that a softmax layer turns into class
    probabilities. It is trained by minibatch gradient descent with
    backpropagation through time, with the parameters and fitted attributes of
    :class:`~sklearn.neural_network.MLPClassifier` wherever they mean the same.

    Parameters
    ----------
    hidden_size : int, default=64
        Number of units of each recurrent layer (per direction).
    cell : {"rnn", "gru", "lstm"}, default="gru"
        Recurrent cell: Elman (tanh) RNN, gated recurrent unit or long
        short-term memory.
    num_layers : int, default=1
        Number of stacked recurrent layers.
    embedding_dim : int or None, default=64
        For text and token ids: size of a learned embedding of each token
        before the first layer. None feeds the token id directly to the first
        layer (its weights then act as the embedding, as for a one-hot input).
        Ignored for numeric input. The default of 64 generalises better on
        small text sets than None and trains faster on large vocabularies
        (the solver updates a (vocabulary, 64) table instead of a
        (vocabulary, gates * hidden_size) one).
    bidirectional : bool, default=True
        Also run each layer over the sequence in reverse and concatenate the
        two directions' outputs. On by default: on the benchmarks' sentence
        sets it raised accuracy on two (imdb 0.750 -> 0.766, amazon 0.812 ->
        0.820) and left the third unchanged (see the README), for about 1.7x
        the fit time; turn it off for speed.
    dropout : float, default=0.0
        Dropout rate on the inputs of layers after the first and on the pooled
        representation, during training only.
    pooling : {"last", "mean", "max"}, default="max"
        How the per-step outputs of the last layer become one vector per
        sequence: the output at the last real step, or the mean or maximum
        over the real steps. Padding never enters the pool.
    solver : {"adam", "sgd", "adagrad", "rmsprop"}, default="adam"
        The solver for weight optimization; "sgd" uses Nesterov momentum.
    learning_rate : float, default=0.005
        Step size of the solver. The default suits "adam" and "rmsprop"; "sgd" and
        "adagrad" need larger steps (see the user guide's "The solver").
    momentum : float, default=0.9
        Momentum for ``solver="sgd"``.
    beta_1 : float, default=0.9
        Decay rate of the first-moment estimate for ``solver="adam"``.
    beta_2 : float, default=0.999
        Decay rate of the second-moment estimate for ``solver="adam"``.
    alpha : float, default=3e-4
        Strength of the L2 penalty ``0.5 * alpha * ||W||^2`` added to the loss
        of every minibatch (biases are not penalised).
    batch_size : int, default=16
        Sequences per minibatch (the last one may be smaller). 16 rather
        than 32: on the yelp sentences it scored about 0.02 higher, on imdb
        and amazon the same within the spread over seeds (see
        ``benchmarks/results/text_classification.txt``).
    max_iter : int, default=200
        Maximum number of epochs (passes over the training data).
    tol : float, default=1e-4
        Tolerance for the optimization: training stops when the training loss
        (or, with `early_stopping`, the validation accuracy) has not improved
        by at least `tol` for `n_iter_no_change` consecutive epochs.
    n_iter_no_change : int, default=10
        Number of epochs without an improvement of at least `tol` before
        training stops.
    early_stopping : bool, default=False
        Hold out a stratified `validation_fraction` of the training data,
        stop when its accuracy stops improving and keep the weights of the
        best epoch. The accuracy is weighted as the loss is, by
        `sample_weight` and `class_weight` (with "balanced", it is the
        balanced accuracy).
    validation_fraction : float, default=0.1
        Fraction of the training data held out with `early_stopping`.
    clip_norm : float or None, default=5.0
        Rescale each minibatch's gradients so that their global L2 norm is at
        most this value; None disables clipping.
    max_len : int, default=None
        Keep only the first `max_len` steps of every sequence, at fit and at
        predict; None keeps all. It bounds the time and memory that very
        long sequences take.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, ``{label: weight}``, keyed by
        the labels themselves (a class without a key weighs 1). "balanced"
        uses ``n_samples / (n_classes * np.bincount(y))`` (computed with
        `sample_weight` when given). None gives every class weight 1.
    shuffle : bool, default=True
        Shuffle the training data before each epoch.
    warm_start : bool, default=False
        Continue from the previous fit's weights, optimizer state, tokenizer
        and classes instead of starting afresh. A changed ``solver`` starts
        with fresh solver statistics.
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialization, shuffling, dropout and the
        `early_stopping` split. Pass an int for reproducible results.
    verbose : int, default=0
        Print one line per epoch: training loss, validation score (with
        `early_stopping`), seconds and sequences per second.
    input_type : {"auto", "text", "tokens", "numeric"}, default="auto"
        What `X` holds (see Notes). "auto" decides from the data at fit: str
        items -> "text", a 2-D integer dtype -> "tokens", a floating dtype or
        3-D integers -> "numeric". The type chosen at fit is required again
        at predict.
    tokenizer : {"word", "char"} or tokenizer instance, default="word"
        How text input becomes token ids: :class:`~skrnn.WordTokenizer`,
        :class:`~skrnn.CharTokenizer` or an instance of either (or any
        transformer with their API: ids >= 2 for tokens, 1 for unknown ones,
        0 for padding, and once fitted ``n_tokens_``, above every id),
        which is cloned and fitted. Used only for text input. To clean the
        texts first, give ``WordTokenizer`` an ``analyzer`` or put a step
        before the classifier. To keep a tokenizer fitted beforehand (on a
        whole corpus, say, before :meth:`partial_fit` on its pieces), pass
        it as ``sklearn.frozen.FrozenEstimator(tokenizer)``.
    dtype : {"float32", "float64"}, default="float32"
        Floating-point type of the weights and computations.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    weights_ : dict of str to ndarray
        The fitted weights by name: ``layer{l}.W_xh``, ``layer{l}.W_hh``,
        ``layer{l}.b`` (and the GRU's ``layer{l}.b_hn``, the bias inside its
        reset product; plus ``layer{l}_reverse.*`` when bidirectional and
        ``embedding`` with `embedding_dim`), ``W_hy`` and ``b_y``.
    input_type_ : {"text", "tokens", "numeric"}
        The input type seen at fit.
    n_inputs_ : int
        Vocabulary size for text and token ids (including padding 0 and
        unknown 1; for token ids, the largest id in the steps read, the
        first `max_len`, plus one), else the number of features per step.
    tokenizer_ : WordTokenizer or CharTokenizer
        The fitted tokenizer. Only for text input.
    n_features_in_ : int
        Number of steps of a padded numeric array seen at fit. Only for such
        arrays: text, token ids and lists of sequences have no fixed number
        of steps.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns of a DataFrame of numbers seen at fit (integer
        columns are token ids, which have no features). Only for DataFrames
        whose column names are all strings.
    n_iter_ : int
        Number of epochs run by the last call to ``fit`` (counted over all
        calls to ``partial_fit``).
    loss_curve_ : list of float
        Mean training loss of each epoch.
    best_loss_ : float or None
        Smallest value of `loss_curve_`; None with `early_stopping`, whose
        kept weights are those of `best_validation_score_` (as in
        :class:`~sklearn.neural_network.MLPClassifier`).
    validation_scores_ : list of float or None
        Validation accuracy of each epoch with `early_stopping`, else None
        (and None after :meth:`partial_fit`, which holds out nothing).
    best_validation_score_ : float or None
        Validation accuracy of the weights kept with `early_stopping` (the
        best epoch's, over warm fits too), else None.
    t_ : int
        Number of training sequences seen by the solver.

    See Also
    --------
    skrnn.WordTokenizer : Text to padded word ids, for use in a Pipeline.
    skrnn.CharTokenizer : Text to padded character ids.
    sklearn.neural_network.MLPClassifier : Feed-forward network classifier
        with the same training parameters.

    Notes
    -----
    ``X`` may be any of:

    - An iterable of str (list, 1-D array, pandas Series): raw text, read by
      `tokenizer`. An empty string is a sequence of no steps; it still gets a
      prediction (from the bias alone).
    - A 2-D integer array (n_samples, n_steps) of token ids, such as the
      output of :class:`~skrnn.WordTokenizer` in a Pipeline, or a list of
      integer sequences of different lengths. 0 is padding, at the end of the
      rows; each row ends at its last non-zero id. Ids not seen at fit (at or
      above ``n_inputs_``) are read as 1, the tokenizers' unknown token.
      Negative ids raise a ValueError.
    - A 2-D float array (n_samples, n_steps): univariate numeric sequences;
      or a 3-D float or integer array (n_samples, n_steps, n_features):
      multivariate ones. All rows have every step, and predict requires the
      same number of steps (``n_features_in_``) as fit.
    - A list of numeric arrays, each (n_steps_i,) or (n_steps_i, n_features),
      of any lengths. Variable length goes through text, token ids or such a
      list.

    Numeric input is used as given: like :class:`~sklearn.neural_network.MLPClassifier`,
    the network trains best on features of mean 0 and variance 1 (or scaled
    to [0, 1]); scale them first.

    The loss is the cross-entropy of each minibatch, weighted by
    `sample_weight` times the `class_weight` of each sequence's class and
    normalised by the minibatch's total weight. Training stops as for
    MLPClassifier (a ``ConvergenceWarning`` when `max_iter` epochs were not
    enough); a diverging run stops with a warning and the last finite
    weights, and Ctrl-C stops after the current minibatch with a usable
    model.

    Examples
    --------
    >>> from skrnn import RNNSequenceClassifier
    >>> X = ["good", "not good", "very good", "bad", "not bad", "very bad"] * 4
    >>> y = ["pos", "neg", "pos", "neg", "pos", "neg"] * 4
    >>> clf = RNNSequenceClassifier(hidden_size=16, random_state=0).fit(X, y)
    >>> clf.predict(["not bad", "very good", "not good"]).tolist()
    ['pos', 'pos', 'neg']
    >>> clf.predict_proba(["bad"]).shape
    (1, 2)
    >>> clf.transform(["good"]).shape  # both directions' 16 units
    (1, 32)

    Numeric sequences: 8 steps of 8 pixels per digit image.

    >>> from sklearn.datasets import load_digits
    >>> digits = load_digits()
    >>> X = digits.images[:300] / 16.0  # (300, 8, 8)
    >>> clf = RNNSequenceClassifier(hidden_size=32, max_iter=30, random_state=0)
    >>> clf.fit(X, digits.target[:300]).score(X, digits.target[:300]) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **SHARED_CONSTRAINTS,
        "bidirectional": ["boolean"],
        "pooling": [StrOptions(set(POOLINGS))],
        "max_len": [None, Count(1)],
        "class_weight": [None, StrOptions({"balanced"}), dict],
        "shuffle": ["boolean"],
        "input_type": [StrOptions({"auto", *INPUT_TYPES})],
        "tokenizer": [StrOptions(set(TOKENIZERS)), HasMethods(["fit", "transform"])],
    }

    def __init__(
        self,
        hidden_size=64,
        *,
        cell="gru",
        num_layers=1,
        embedding_dim=64,
        bidirectional=True,
        dropout=0.0,
        pooling="max",
        solver="adam",
        learning_rate=0.005,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        alpha=3e-4,
        batch_size=16,
        max_iter=200,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        clip_norm=5.0,
        max_len=None,
        class_weight=None,
        shuffle=True,
        warm_start=False,
        random_state=None,
        verbose=0,
        input_type="auto",
        tokenizer="word",
        dtype="float32",
    ):
        self.hidden_size = hidden_size
        self.cell = cell
        self.num_layers = num_layers
        self.embedding_dim = embedding_dim
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.pooling = pooling
        self.solver = solver
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.clip_norm = clip_norm
        self.max_len = max_len
        self.class_weight = class_weight
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.input_type = input_type
        self.tokenizer = tokenizer
        self.dtype = dtype

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to sequences `X` and labels `y`.

        Parameters
        ----------
        X : iterable of str, array-like of shape (n_samples, n_steps) or \
                (n_samples, n_steps, n_features), or list of arrays
            Training sequences; see the Notes of the class for the input types.
        y : array-like of shape (n_samples,)
            Target labels (two or more classes; str or numbers).
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Non-negative weight of each sequence in the loss; a float weighs
            every sequence alike. None gives every sequence weight 1.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _validate_params(self):
        tokenizer = self.tokenizer
        if callable(tokenizer) and not isinstance(tokenizer, type) and not hasattr(tokenizer, "transform"):
            # CountVectorizer's habit: a function from text to tokens. Here it is the analyzer of a WordTokenizer.
            raise InvalidParameterError(
                f"The 'tokenizer' parameter of {type(self).__name__} must be 'word', 'char' or a tokenizer "
                f"instance (fit and transform), got the function {tokenizer!r}. To split texts with a function, "
                "pass tokenizer=WordTokenizer(analyzer=that_function)."
            )
        super()._validate_params()

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch over `X`, continuing from the current weights.

        The first call fixes the classes, the input type and, for text, the
        tokenizer's vocabulary (words first seen later are unknown words;
        a tokenizer fitted beforehand and passed as
        ``FrozenEstimator(tokenizer)`` keeps its own).
        No data is held out, so `early_stopping=True` raises a ValueError
        (as in :class:`~sklearn.neural_network.MLPClassifier`), and
        `validation_scores_` and `best_validation_score_` become None.

        Parameters
        ----------
        X : iterable of str, array-like or list of arrays
            Training sequences, as for :meth:`fit`.
        y : array-like of shape (n_samples,)
            Target labels, all of them in `classes`.
        classes : array-like of shape (n_classes,), default=None
            Every label that any call may pass. Required on the first call,
            ignored (if equal) on later ones.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Non-negative weight of each sequence in the loss.

        Returns
        -------
        self : object
            The classifier.
        """
        self._refuse_early_stopping()
        return self._fit(X, y, sample_weight, classes=classes, incremental=True)

    def _fit(self, X, y, sample_weight, *, classes=None, incremental):
        # Everything is validated before the estimator changes: a failing
        # call leaves a fitted estimator as it was.
        resume = self._resumes(incremental)
        if resume:
            if self.input_type_ == "text":
                self._check_same_tokenizer(incremental)
            batch, lengths = read_sequences(self, X, max_len=python_number(self.max_len))
            input_state = {key: getattr(self, key) for key in ("input_type_", "n_inputs_")}
        else:
            batch, lengths, input_state = fit_sequences(
                self, X, input_type=self.input_type, tokenizer=self.tokenizer, max_len=python_number(self.max_len)
            )
        if not incremental:
            check_some_steps(lengths, input_state["input_type_"])
        y = self._check_y(y)
        _check_same_length(batch, y)
        classes_ = self._check_classes(y, classes, resume=resume, incremental=incremental)
        y_codes = np.searchsorted(classes_, y)
        weights = self._sample_weights(batch, y, y_codes, classes_, sample_weight, incremental=incremental)
        if input_state["input_type_"] == "numeric":
            batch = as_dtype(batch, self.dtype)
            if not resume and not warn_token_ids_among_numbers(batch):  # its advice is wrong for ids
                warn_far_from_unit_scale(batch)
        spec = self._spec(input_state["input_type_"], input_state["n_inputs_"], len(classes_), fitted=False)

        with self._continuing(incremental):
            rng = self._generator()
            params, optimizer = self._start_training(spec, rng)
            validating = self.early_stopping and not incremental
            split_seed = self._split_seed(rng) if validating else None
            train, validation = self._split(weights, y_codes, classes_, split_seed)
            seen = [0]
            batch_size, alpha, clip_norm, dropout = map(
                python_number, (self.batch_size, self.alpha, self.clip_norm, self.dropout)
            )

            def run_epoch(stop):
                total_loss = total_weight = 0.0
                n_seen = 0
                for rows in _minibatches(train, lengths, batch_size, rng if self.shuffle else None):
                    if stop.requested:
                        break
                    steps = max(int(lengths[rows].max()), 1)  # trim the batch's padding
                    loss, _ = train_step(
                        params, spec, optimizer, batch[rows, :steps], lengths[rows], y_codes[rows],
                        weights[rows], alpha=alpha, clip_norm=clip_norm, dropout=dropout, rng=rng,
                    )
                    batch_weight = float(weights[rows].sum())
                    total_loss += loss * batch_weight
                    total_weight += batch_weight
                    n_seen += rows.size
                seen[0] += n_seen
                return (total_loss / total_weight if total_weight else np.nan), n_seen

            def validation_score():
                logits = _predict(params, spec, batch[validation], lengths[validation])
                correct = logits.argmax(axis=1) == y_codes[validation]
                return float(np.average(correct, weights=weights[validation]))

            history = fit_epochs(
                params, optimizer, run_epoch, validation_score if validation is not None else None,
                max_iter=1 if incremental else self.max_iter, tol=self.tol,
                n_iter_no_change=self.n_iter_no_change, verbose=self.verbose, name=type(self).__name__,
                unit="sequences", patience=self._patience(validating), warn_unconverged=not incremental,
            )
            if not resume:
                set_input_state(self, input_state)
            self.classes_ = classes_
            self._finish_training(params, optimizer, rng, history, seen[0], split_seed, validated=validating)
        return self

    def set_params(self, **params):
        """Set parameters, ``tokenizer__<name>`` ones of a tokenizer instance too.

        Parameters
        ----------
        **params : dict
            Estimator parameters; ``tokenizer__<name>`` needs ``tokenizer``
            to be a tokenizer instance, not "word" or "char".

        Returns
        -------
        self : RNNSequenceClassifier
        """
        nested = sorted(key for key in params if key.startswith("tokenizer__"))
        tokenizer = params.get("tokenizer", self.tokenizer)
        if nested and isinstance(tokenizer, str):  # scikit-learn would fail on str.set_params
            name = {"word": "WordTokenizer", "char": "CharTokenizer"}.get(tokenizer, "WordTokenizer")
            raise ValueError(
                f"{nested[0]} sets a parameter of a tokenizer instance, but tokenizer={tokenizer!r} is a name. "
                f"Pass tokenizer={name}() to tune its parameters, e.g. a grid {{'tokenizer': [{name}()], "
                f"'{nested[0]}': [...]}}."
            )
        return super().set_params(**params)

    def _check_y(self, y):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        _check_no_missing_labels(y)
        if isinstance(y, (list, tuple)) or getattr(y, "dtype", None) == object:
            # NumPy turns [1, "a"] into ["1", "a"], and an object array of both cannot be sorted
            is_str = {isinstance(label, str) for label in np.ravel(np.asarray(y, dtype=object))}
            if len(is_str) > 1:
                raise ValueError("y mixes str labels with labels of other types; give every label the same type.")
        y = column_or_1d(y, warn=True)
        if y.size == 0:  # check_array's message for this doesn't say which argument
            raise ValueError("y holds 0 labels; at least 1 is required.")
        check_array(y, ensure_2d=False, dtype=None, input_name="y")  # NaN, inf
        check_classification_targets(y)
        return y

    def _check_same_tokenizer(self, incremental):
        """Raise when ``tokenizer`` no longer describes ``tokenizer_``: a resumed fit keeps the vocabulary
        its weights were trained on, so a changed tokenizer would be saved in the parameters yet unused."""
        now = TOKENIZERS[self.tokenizer]() if isinstance(self.tokenizer, str) else self.tokenizer
        fitted = self.tokenizer_
        if type(now) is type(fitted):
            before, after = fitted.get_params(deep=False), now.get_params(deep=False)
            changed = [
                f"{key}={before[key]!r} -> {after[key]!r}" for key in after if _differs(after[key], before.get(key))
            ]
            if not changed:
                return
            what = f"tokenizer {', '.join(changed)}"
        else:
            what = f"tokenizer={fitted!r} -> {self.tokenizer!r}"
        where = "the first call to partial_fit" if incremental else "the previous fit (warm_start=True)"
        fix = "Fit a new model" if incremental else "Set warm_start=False to start afresh"
        raise ValueError(f"Training goes on with the tokenizer and vocabulary of {where}, but {what}. {fix}.")

    def _check_classes(self, y, classes, *, resume, incremental):
        if classes is not None:
            _check_no_missing_labels(classes, name="classes")
        seen = np.unique(y)
        if resume:
            classes_ = self.classes_
            if incremental and classes is not None and not np.array_equal(np.unique(classes), classes_):
                raise ValueError(
                    f"classes={classes!r} is not the same as on the first call to partial_fit ({classes_!r})."
                )
            if not incremental and not np.array_equal(seen, classes_):
                missing, new = np.setdiff1d(classes_, seen), np.setdiff1d(seen, classes_)
                differences = [f"{name} {_first(labels)}" for name, labels in
                               (("y lacks", missing), ("y has others:", new)) if labels.size]
                raise ValueError(
                    "warm_start=True needs y to hold the classes of the previous fit "
                    f"({classes_.size} of them); {' and '.join(differences)}. Set warm_start=False to start afresh."
                )
        elif incremental:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            classes_ = np.unique(column_or_1d(classes))
            if classes_.size < 2:
                raise ValueError(f"classes must hold at least two classes, got {classes_!r}.")
        else:
            classes_ = seen
            if classes_.size < 2:
                raise ValueError(
                    f"y holds one class only ({classes_.tolist()[0]!r}); a classifier needs samples of at least two "
                    "classes."
                )
        unknown = np.setdiff1d(seen, classes_)
        if unknown.size:
            raise ValueError(f"y has classes not in classes_ {classes_}: {unknown}.")
        return classes_

    def _sample_weights(self, batch, y, y_codes, classes_, sample_weight, *, incremental):
        """Per-sequence loss weights: sample_weight times the class weight."""
        if sample_weight is not None:
            try:
                sample_weight = np.asarray(sample_weight, dtype=np.float64)
            except (TypeError, ValueError) as exc:  # NumPy's message doesn't say which argument
                raise TypeError(f"sample_weight must hold numbers: {exc}.") from None
            if sample_weight.ndim == 0:  # one number for every sequence, as scikit-learn reads it
                sample_weight = np.full(len(y_codes), sample_weight)  # an array: checked for NaN below
        weights = _check_sample_weight(sample_weight, batch, dtype=np.float64, ensure_non_negative=True)
        if weights.size and not weights.any():  # scikit-learn >= 1.7 says so itself, 1.6 does not
            raise ValueError("sample_weight is zero for every sequence; at least one weight must be positive.")
        if self.class_weight is not None:
            if incremental and self.class_weight == "balanced":
                raise ValueError(
                    "class_weight='balanced' is not supported for partial_fit: a minibatch does not show the "
                    "class frequencies. Compute them once with sklearn.utils.class_weight.compute_class_weight("
                    "'balanced', classes=classes, y=y_sample) and pass the resulting dict as class_weight."
                )
            weights = weights * _per_class_weights(self.class_weight, classes_, y_codes, weights)[y_codes]
        if not incremental and np.unique(y_codes[weights > 0]).size < 2:
            raise ValueError(
                "Only one class has a non-zero sample_weight (times class_weight); a classifier needs "
                "weight on at least two classes."
            )
        return weights

    def _split(self, weights, y_codes, classes, seed):
        """(train rows, validation rows or None): a stratified split for early stopping, None seed for none.

        Only rows of non-zero weight are split: a row of weight 0 neither
        trains nor counts in the score, and a side that drew only such rows
        would score 0 / 0 or train on nothing.
        """
        if seed is None:
            return np.arange(len(y_codes)), None
        rows = np.flatnonzero(weights > 0)
        try:
            train, validation = train_test_split(
                # stratified by the labels, not their codes, so that a message names them (the same split)
                rows, test_size=self.validation_fraction, stratify=classes[y_codes[rows]], random_state=seed
            )
        except ValueError as exc:  # train_test_split's message names neither parameter
            weighted = " of non-zero sample_weight" if rows.size < len(y_codes) else ""
            counts = np.bincount(y_codes[rows], minlength=len(classes))
            too_few = classes[counts == 1].tolist()  # scikit-learn < 1.7 does not name them
            reason = f"the classes {too_few!r} have one sequence each" if too_few else str(exc)
            raise ValueError(
                f"early_stopping=True holds out validation_fraction={self.validation_fraction} of the "
                f"{rows.size} training sequences{weighted}, stratified by class, which these data do not allow "
                f"({reason}). Use more sequences per class, another validation_fraction, or early_stopping=False."
            ) from None
        return np.sort(train), np.sort(validation)

    _ARCHITECTURE = (*BaseRNN._ARCHITECTURE, "pooling", "bidirectional")

    def _spec(self, input_type, n_inputs, n_classes, *, fitted=True):
        return NetworkSpec(
            n_inputs=n_inputs, n_outputs=n_classes, input_kind="dense" if input_type == "numeric" else "tokens",
            **self._architecture(fitted=fitted),
        )

    def _forward(self, X, *, pooled=False):
        check_is_fitted(self)
        batch, lengths = read_sequences(self, X, max_len=python_number(self.max_len))
        if self.input_type_ == "numeric":
            batch = as_dtype(batch, self.weights_["W_hy"].dtype)
        spec = self._spec(self.input_type_, self.n_inputs_, len(self.classes_))
        out = _predict(self.weights_, spec, batch, lengths, pooled=pooled)
        BUFFERS.trim()  # so that a large prediction does not stay in memory
        return out

    def predict_log_proba(self, X):
        """Log of the class probabilities of each sequence.

        Parameters
        ----------
        X : iterable of str, array-like or list of arrays
            Sequences of the input type seen at fit.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns in the order of `classes_`.
        """
        logits = self._forward(X).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def predict_proba(self, X):
        """Class probabilities of each sequence.

        Parameters
        ----------
        X : iterable of str, array-like or list of arrays
            Sequences of the input type seen at fit.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of `classes_`; rows sum to 1.
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        """Most probable class of each sequence.

        Parameters
        ----------
        X : iterable of str, array-like or list of arrays
            Sequences of the input type seen at fit.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels, from `classes_`.
        """
        logits = self._forward(X)
        return self.classes_[logits.argmax(axis=1)]

    def transform(self, X):
        """Pooled representation of each sequence: the input of the softmax layer.

        Parameters
        ----------
        X : iterable of str, array-like or list of arrays
            Sequences of the input type seen at fit.

        Returns
        -------
        features : ndarray of shape (n_samples, hidden_size * n_directions)
            One vector per sequence (zeros for a sequence without steps).
        """
        return self._forward(X, pooled=True)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of :meth:`predict` on `X` against the labels `y`.

        Parameters
        ----------
        X : iterable of str, array-like or list of arrays
            Sequences of the input type seen at fit.
        y : array-like of shape (n_samples,)
            True labels. A label not in `classes_` counts as a wrong
            prediction, with a warning; str labels for a classifier fitted
            on numbers, or numbers for one fitted on str, raise.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence in the mean.

        Returns
        -------
        score : float
            Weighted fraction of sequences whose label is predicted.
        """
        check_is_fitted(self)
        y = self._check_y(y)
        # str labels against numbers ("1" against 1) are a mismatch that an
        # accuracy of 0 would hide.
        if y.size and isinstance(y[0], str) != isinstance(self.classes_[0], str):
            raise ValueError(
                f"y holds {'str' if isinstance(y[0], str) else 'numeric'} labels such as {y[:1].tolist()[0]!r}, "
                f"but the classifier was fitted on classes_ {self.classes_}. Score with labels of the type it was "
                "fitted on."
            )
        predicted = self.predict(X)
        _check_same_length(predicted, y)
        # Any other label the model never saw can only be predicted wrong, as
        # accuracy counts it: in a search, a class too rare for every training
        # fold must not make the fold's score NaN for every candidate (the
        # search would then rank them all first).
        unseen = np.setdiff1d(y, self.classes_)
        if unseen.size:
            warnings.warn(
                f"y holds labels that are not in classes_ {self.classes_}: {unseen} (a class missing from the "
                "training data); they count as wrong predictions.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        return float(accuracy_score(y, predicted, sample_weight=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.string = True
        # transform returns the weights' dtype (float32 by default), whatever the input's
        tags.transformer_tags.preserves_dtype = []
        return tags

    @property
    def _n_features_out(self):
        """Width of transform's output, for get_feature_names_out."""
        return self.weights_["W_hy"].shape[0]


def _check_no_missing_labels(y, name="y"):
    """Raise naming the first missing label (None, NaN, pandas.NA, NaT) of `y`, before anything compares labels.

    pandas.NA has no truth value, so sorting or comparing labels that hold it fails with a TypeError far from
    its cause, and a NaN among str labels reads as a label of another type. Float arrays are left to
    check_array, whose "Input y contains NaN." scikit-learn's own estimator checks expect.
    """
    dtype = getattr(y, "dtype", None)
    if getattr(dtype, "kind", None) == "f":
        return
    shape = getattr(y, "shape", ())
    if callable(getattr(y, "isna", None)) and shape[1:] in ((), (1,)):  # pandas: Series, Index, arrays, a column
        if len(shape) == 2:
            y = y.iloc[:, 0]
        labels = np.asarray(y, dtype=object)  # keeps pandas.NA as itself
        missing = np.flatnonzero(np.asarray(y.isna()))
    elif getattr(dtype, "kind", None) in ("M", "m"):
        labels = np.ravel(y)
        missing = np.flatnonzero(np.isnat(labels))
    elif isinstance(y, (list, tuple)) or dtype == object:
        labels = np.ravel(np.asarray(y, dtype=object))
        kinds = set(map(type, labels))
        if kinds <= {str, int}:  # the usual labels, none of them missing
            return
        if dtype is None and all(issubclass(kind, (int, float, np.number)) for kind in kinds):
            return  # a list of numbers becomes a float array: check_array's case
        missing = [i for i, label in enumerate(labels) if _is_missing(label)]
    else:
        return
    if len(missing):
        raise ValueError(
            f"{name} holds missing labels: the one at position {missing[0]} is {labels[missing[0]]}; "
            + ("every sequence needs a label. Drop the unlabelled sequences." if name == "y" else "name each class.")
        )


def _is_missing(label):
    if label is None:
        return True
    try:
        return bool(label != label)  # NaN and NaT differ from themselves
    except (TypeError, ValueError):  # pandas.NA has no truth value; an array label has no single one
        return type(label).__name__ == "NAType"


def _check_same_length(batch, y):
    if len(batch) != len(y):
        raise ValueError(
            f"X and y have inconsistent numbers of samples: X holds {len(batch)} sequences and y "
            f"{len(y)} labels. Pass one label per sequence."
        )


def _minibatches(rows, lengths, batch_size, rng=None):
    """Row indices of each minibatch of one epoch; in order when ``rng`` is None.

    Shuffled rows are sorted by length within pools of ``_POOL_BATCHES``
    minibatches, so that each minibatch holds sequences of similar lengths
    and little padding (the time loop runs to the longest one); the
    minibatches then come in random order.
    """
    if rng is None:
        return [rows[start : start + batch_size] for start in range(0, rows.size, batch_size)]
    rows = rng.permutation(rows)
    batches = []
    for start in range(0, rows.size, batch_size * _POOL_BATCHES):
        pool = rows[start : start + batch_size * _POOL_BATCHES]
        pool = pool[np.argsort(-lengths[pool], kind="stable")]
        batches += [pool[i : i + batch_size] for i in range(0, pool.size, batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _differs(a, b):
    """``a != b`` for parameter values, arrays included (compared whole)."""
    try:
        return bool(a != b)
    except ValueError:  # an array's comparison is elementwise
        return not np.array_equal(a, b)


def _first(labels, n=10):
    """The first ``n`` labels as a list, for messages: a table's wrong column can hold thousands."""
    return f"{labels[:n].tolist()!r}{f' and {labels.size - n} more' if labels.size > n else ''}"


def _predict(params, spec, batch, lengths, *, pooled=False):
    """Logits (N, C), or the pooled representations, in passes of similar lengths.

    Rows are visited by decreasing length so that each pass is trimmed to its
    own longest sequence and holds about ``_PREDICT_WORK`` rows x steps x
    hidden units (within ``_PREDICT_ROWS``); a pass reads time in chunks of
    that much work (``pooled_forward``), so a very long sequence costs memory
    for its input and, below the last layer, its outputs, not for the
    workspace of every step. The results come back in the input's order.
    """
    order = np.argsort(-lengths, kind="stable")
    fewest, most = _PREDICT_ROWS
    H = spec.hidden_size
    out = None
    start = 0
    while start < order.size:
        steps = max(int(lengths[order[start]]), 1)  # this pass's longest row: rows come longest first
        n_rows = min(most, max(fewest, _PREDICT_WORK // (steps * H)))
        if spec.num_layers > 1:  # the outputs of a layer below the last are kept whole, (steps, rows, Hd)
            n_rows = min(n_rows, max(1, _PREDICT_MOST_WORK // (steps * H * len(spec.directions))))
        rows = order[start : start + n_rows]
        start += rows.size
        chunk = max(1, _PREDICT_WORK // (rows.size * H))
        logits, rep = pooled_forward(params, spec, batch[rows, :steps], lengths[rows], chunk)
        part = rep if pooled else logits
        if out is None:
            out = np.empty((order.size, part.shape[1]), dtype=part.dtype)
        out[rows] = part
        del logits, rep, part  # back to the pool before the next pass asks for its workspace
    return out


def _per_class_weights(class_weight, classes, y_codes, sample_weight):
    """(n_classes,) weight of each class, from a ``{label: weight}`` dict (checked here) or "balanced".

    scikit-learn's ``compute_class_weight`` gives the same, but 1.6 takes no
    ``sample_weight``, and its dict path converts labels with ``int()``, so that
    the labels "0" and "1" never match their own keys.
    """
    if isinstance(class_weight, str):  # "balanced": n_samples / (n_classes * np.bincount(y)), weighted
        counts = np.bincount(y_codes, weights=sample_weight, minlength=len(classes))
        # a class whose sequences all weigh 0 keeps them at 0 (not 0 * inf)
        return np.divide(counts.sum(), len(classes) * counts, out=np.zeros(len(classes)), where=counts > 0)
    for label, value in class_weight.items():
        # a negative weight would train away from the class, NaN or inf would end as diverged
        if not isinstance(value, Real) or not 0 <= value < np.inf:
            raise ValueError(f"class_weight[{label!r}] is {value!r}; class weights are finite numbers >= 0.")
    labels = classes.tolist()  # Python scalars: 1 == 1.0 == np.int64(1) as dict keys
    per_class = np.array([class_weight.get(label, 1.0) for label in labels], dtype=np.float64)
    known = set(labels)
    unknown = [key for key in class_weight if key not in known]
    # As in scikit-learn, extra keys are fine while every class has one (a CV fold may lack a class);
    # otherwise they are a mismatch, e.g. {0: 1, 1: 5} for the labels "0" and "1".
    if unknown and len(class_weight) - len(unknown) < len(labels):
        raise ValueError(
            f"class_weight has the key(s) {unknown!r}, which are not classes of y; the classes are {labels!r}."
        )
    return per_class
