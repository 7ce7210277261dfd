"""The one base estimator: shared parameters, validation and fit glue."""

import warnings
from contextlib import contextmanager
from functools import lru_cache
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from . import __version__
from ._core.cells import CELLS
from ._core.network import init_params
from ._core.optimizers import SOLVERS
from ._core.recurrent import BUFFERS
from ._training import make_optimizer


class Count(Interval):
    """``Interval(Integral, left, None)`` that refuses bools.

    Python counts ``True`` as an Integral, so a plain ``Interval`` took
    ``hidden_size=True`` (which then failed inside NumPy's random generator)
    and ``top_k=True`` (silently greedy sampling, top_k=1). A flag where a
    count belongs is a mistake: it gets the same error as any other bad value.
    """

    def __init__(self, left):
        super().__init__(Integral, left, None, closed="left")

    def is_satisfied_by(self, val):
        return not isinstance(val, bool) and super().is_satisfied_by(val)


# Parameters shared by every recurrent estimator; subclasses add their own.
SHARED_CONSTRAINTS = {
    "hidden_size": [Count(1)],
    "cell": [StrOptions(set(CELLS))],
    "num_layers": [Count(1)],
    "embedding_dim": [None, Count(1)],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "solver": [StrOptions(set(SOLVERS))],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "momentum": [Interval(Real, 0, 1, closed="both")],
    "beta_1": [Interval(Real, 0, 1, closed="left")],
    "beta_2": [Interval(Real, 0, 1, closed="left")],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "batch_size": [Count(1)],
    "max_iter": [Count(1)],
    "tol": [Interval(Real, 0, None, closed="left")],
    "n_iter_no_change": [Count(1)],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "clip_norm": [None, Interval(Real, 0, None, closed="neither")],
    "warm_start": ["boolean"],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "dtype": [StrOptions({"float32", "float64"})],
}


def python_number(value):
    """``value`` as a Python int or float when it is a NumPy scalar, else as it is.

    A search hands parameters over as NumPy scalars (``randint``, arrays of
    values): np.int8(8) * 50 overflows (a fit ran no minibatch), an unsigned
    one turns ``-(-n // k)`` into an OverflowError, and an np.float64 makes
    float32 arithmetic float64 (NumPy 2's promotion). Python numbers do none
    of that.
    """
    return value.item() if isinstance(value, np.generic) else value


@lru_cache(maxsize=8)
def _param_shapes(spec):
    """{name: shape} of the weights of ``spec``; cached, since the initialisation behind it (an LSTM's QR
    at H=512: 90 ms) would otherwise be paid by every call to partial_fit."""
    return {k: v.shape for k, v in init_params(spec, np.random.default_rng(0), np.float32).items()}


class InconsistentVersionWarning(UserWarning):
    """Warning raised when a skrnn object is loaded by another skrnn version than the one that saved it.

    The file may load, but nothing guarantees that the model behaves the
    same: refit it with the installed version where you can. As with
    scikit-learn's own :class:`~sklearn.exceptions.InconsistentVersionWarning`,
    a filter on this class turns such loads into errors (or silences them).

    Parameters
    ----------
    estimator_name : str
        The class of the object loaded.
    current_skrnn_version : str
        The skrnn version installed.
    original_skrnn_version : str
        The skrnn version that saved the object, or ``"unknown"`` for a file
        that does not record one.

    Examples
    --------
    >>> import warnings
    >>> from skrnn import InconsistentVersionWarning, WordTokenizer
    >>> tokenizer = WordTokenizer().fit(["a b"])
    >>> state = tokenizer.__getstate__()
    >>> state["_skrnn_version"] = "0.0.1"  # as an older skrnn saved it
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", InconsistentVersionWarning)
    ...     try:
    ...         WordTokenizer.__new__(WordTokenizer).__setstate__(state)
    ...     except InconsistentVersionWarning as w:
    ...         print(w.original_skrnn_version)
    0.0.1
    """

    def __init__(self, *, estimator_name, current_skrnn_version, original_skrnn_version):
        self.estimator_name = estimator_name
        self.current_skrnn_version = current_skrnn_version
        self.original_skrnn_version = original_skrnn_version

    def __str__(self):
        return (
            f"Trying to unpickle {self.estimator_name} from skrnn version {self.original_skrnn_version} when "
            f"using version {self.current_skrnn_version}. This might lead to breaking code or invalid results. "
            "Use at your own risk."
        )


class VersionStampMixin:
    """Stamp pickles with the skrnn version and warn when loading another one.

    scikit-learn stamps ``_sklearn_version`` only on classes from its own
    modules, so skrnn records its own: ``__getstate__`` adds
    ``_skrnn_version``, and ``__setstate__`` warns (``InconsistentVersionWarning``),
    naming both versions, when a model saved by one version is loaded by
    another, or when the state records none (``__getstate__`` did not write
    it). pickle, joblib and ``skops.io`` all go through these two methods.
    Put it left of ``BaseEstimator``, whose ``__getstate__``/``__setstate__``
    it extends.
    """

    def __getstate__(self):
        state = super().__getstate__()
        state["_skrnn_version"] = __version__
        return state

    def __setstate__(self, state):
        saved = state.pop("_skrnn_version", "unknown")
        if saved != __version__:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_skrnn_version=__version__,
                    original_skrnn_version=saved,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)


class BaseRNN(VersionStampMixin, BaseEstimator):
    """Fit glue shared by the recurrent estimators.

    Fitted state is plain data, so that pickle, joblib and skops all load it:
    ``weights_`` (dict of named arrays), ``_optimizer_state`` (dict),
    ``_rng_state`` (the Generator's state dict, so that ``warm_start``
    continues the same random stream), ``_validation_seed`` (int or None:
    the early-stopping split, kept under ``warm_start``), ``_no_improvement_count``
    (int or None: early stopping's count, carried on under ``warm_start``) and
    ``_fitted_architecture`` (dict).
    """

    # Hyperparameters that shape the network. Predicting reads them as they
    # were at fit: set_params(hidden_size=...) on a fitted model would
    # otherwise fail on the weights' shapes, and pooling=... silently change
    # its output.
    _ARCHITECTURE = ("hidden_size", "cell", "num_layers", "embedding_dim")

    def _architecture(self, *, fitted):
        """{name: value} of ``_ARCHITECTURE``: as fitted, or as set now (for fitting,
        and for models pickled before the fitted copy existed)."""
        saved = getattr(self, "_fitted_architecture", None) if fitted else None
        if saved is not None:
            return dict(saved)
        return {name: python_number(getattr(self, name)) for name in self._ARCHITECTURE}

    def _refuse_early_stopping(self):
        """partial_fit holds no data out: it refuses early_stopping=True, as MLPClassifier's does, rather than
        ignore it."""
        if self.early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True: each call trains one epoch on the data it is "
                "given and holds none out. Call set_params(early_stopping=False) first, or use fit."
            )

    def _resumes(self, incremental):
        """Whether a fit (``incremental``: partial_fit) continues from the fitted weights: under warm_start,
        and always in partial_fit."""
        return (self.warm_start or incremental) and hasattr(self, "weights_")

    def _is_warm(self):
        """``_resumes`` for the call that is running (see ``_continuing``)."""
        return self._resumes(getattr(self, "_incremental", False))

    @contextmanager
    def _continuing(self, incremental):
        """Make the warm-start machinery resume during partial_fit too."""
        self._incremental = incremental
        try:
            yield
        finally:
            del self._incremental

    def _generator(self):
        """The training Generator: resumed under warm_start, else seeded from random_state."""
        rng = np.random.default_rng()
        if self._is_warm() and hasattr(self, "_rng_state"):
            rng.bit_generator.state = self._rng_state
            return rng
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        return np.random.default_rng(seed)

    def _patience(self, validating):
        """The no-improvement count that a warm fit with early stopping carries on (None: none)."""
        return getattr(self, "_no_improvement_count", None) if validating and self._is_warm() else None

    def _split_seed(self, rng):
        """Seed of the early-stopping split: under warm_start the previous fit's,
        so that no fit trains on what an earlier one validated on."""
        saved = getattr(self, "_validation_seed", None)
        if self._is_warm() and saved is not None:
            return saved
        return int(rng.integers(np.iinfo(np.int32).max))

    def _start_training(self, spec, rng):
        """(params, optimizer) to train: fresh, or the fitted ones under warm_start."""
        dtype = np.dtype(self.dtype)
        if self._is_warm():
            old_shapes = {k: v.shape for k, v in self.weights_.items()}
            if _param_shapes(spec) != old_shapes:
                before, now = self._architecture(fitted=True), self._architecture(fitted=False)
                changed = [f"{name}={before[name]!r} -> {now[name]!r}" for name in now if before.get(name) != now[name]]
                raise ValueError(
                    "warm_start=True needs the architecture of the previous fit, but "
                    f"{', '.join(changed) if changed else 'the input (its vocabulary or features) changed'}. "
                    "Set warm_start=False to start afresh."
                )
            params = {k: v.astype(dtype, copy=True) for k, v in self.weights_.items()}
        else:
            try:
                params = init_params(spec, rng, dtype)
            except MemoryError as exc:
                hint = ""
                if spec.input_kind == "tokens":
                    hint = (
                        " With token ids the inputs are the largest id plus one: renumber sparse ids to "
                        "0..n-1 first, e.g. with np.unique(X, return_inverse=True)."
                    )
                raise MemoryError(
                    f"The network's weights for {spec.n_inputs:,} inputs and hidden_size={spec.hidden_size} "
                    f"don't fit in memory.{hint}"
                ) from exc
        optimizer = make_optimizer(
            self.solver, params, learning_rate=python_number(self.learning_rate),
            momentum=python_number(self.momentum), beta_1=python_number(self.beta_1), beta_2=python_number(self.beta_2),
        )
        state = getattr(self, "_optimizer_state", None) if self._is_warm() else None
        # After set_params(solver=...) the saved statistics are another solver's
        # (Adam's moments are not SGD's momentum): the new solver starts afresh.
        if state is not None and state.keys() == {"t", *optimizer.state}:
            optimizer.load_state_dict(state)
        return params, optimizer

    def _finish_training(self, params, optimizer, rng, history, n_items, split_seed, *, validated):
        """Copy training results into fitted attributes (all plain data).

        ``validated``: this call held out validation data (``early_stopping``, not ``partial_fit``).
        """
        BUFFERS.trim()  # the workspaces of training are free now
        warm = self._is_warm()
        if split_seed is not None or not warm:
            self._validation_seed = split_seed
        self.weights_ = params
        self._fitted_architecture = self._architecture(fitted=False)
        self._optimizer_state = optimizer.state_dict()
        self._rng_state = rng.bit_generator.state
        previous_curve = list(self.loss_curve_) if warm and hasattr(self, "loss_curve_") else []
        self.loss_curve_ = previous_curve + history.loss_curve
        # partial_fit counts its calls on; a fit (warm or not) counts its own epochs, as MLPClassifier
        self.n_iter_ = history.n_iter + (self.n_iter_ if warm and getattr(self, "_incremental", False) else 0)
        self.t_ = (self.t_ if warm and hasattr(self, "t_") else 0) + n_items
        # As MLPClassifier: with a validation split the weights kept are the best
        # validation epoch's, which the smallest training loss does not describe.
        self.best_loss_ = None if validated else float(min(self.loss_curve_)) if self.loss_curve_ else np.inf
        if validated:
            previous = list(self.validation_scores_) if warm and getattr(self, "validation_scores_", None) else []
            self.validation_scores_ = previous + history.validation_scores
            # the score of the weights kept, on this fit's validation data
            self.best_validation_score_ = float(history.best_validation_score)
            self._no_improvement_count = history.no_improvement
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self._no_improvement_count = None
        self._skrnn_version = __version__
