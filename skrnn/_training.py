"""The minibatch loop shared by every skrnn estimator.

An estimator supplies two callables, ``run_epoch`` (one pass over the training
batches, returning the mean training loss) and, with early stopping,
``validation_score`` (higher is better). ``fit_epochs`` does the rest the way
``MLPClassifier`` users expect: tolerance-based stopping on the training loss
or the validation score, restoring the best weights, a ``ConvergenceWarning``
when ``max_iter`` runs out, one line per epoch with ``verbose``, and two
things MLP does not do: a diverging run (non-finite loss, gradient or
weights) stops with the last finite weights and a warning that says what to
change, and Ctrl-C stops after the current batch instead of leaving half an
update behind.
"""

import os
import signal
import sys
import sysconfig
import threading
import time
import warnings
from contextlib import contextmanager
from contextvars import ContextVar

import joblib
import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning

from ._core.denormals import flush_denormals
from ._core.losses import softmax_cross_entropy
from ._core.network import backward, forward
from ._core.optimizers import SOLVERS, add_l2_penalty, clip_grad_norm
from ._core.recurrent import blas_limit, loop_threads


# Called as ON_BATCH.get()(items done in this epoch, items in the epoch or None)
# after every batch, when set: the command line draws its progress bar with it.
ON_BATCH = ContextVar("ON_BATCH", default=None)


def report_batch(done, total):
    """Tell a listener (if any) how far the current epoch has got."""
    listener = ON_BATCH.get()
    if listener is not None:
        listener(done, total)


class TrainingDiverged(ArithmeticError):
    """A loss, gradient or weight became non-finite during training."""


# A fit inside GridSearchCV runs under joblib's Parallel, which scikit-learn calls: all three are skipped.
_INTERNAL = tuple(
    os.path.dirname(os.path.abspath(path))
    for path in (__file__, sklearn.__file__, joblib.__file__)
)
_PACKAGE = _INTERNAL[0]
_STDLIB = os.path.abspath(sysconfig.get_paths()["stdlib"])


def user_stacklevel():
    """Stack level of the first caller outside skrnn, scikit-learn and joblib, for warnings.

    ``fit`` is reached through scikit-learn's ``_fit_context`` wrapper and our
    own helpers, so a fixed stacklevel would point at library code.

    In a worker (joblib's processes or threads) no caller is user code: the
    first one outside is the standard library's process or thread start-up,
    so the warning points at the outermost skrnn frame instead, as
    scikit-learn's own warnings point at its code.
    """
    frame, level, own = sys._getframe(1), 1, None
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith(_INTERNAL):
            if own is not None and path.startswith(_STDLIB) and "site-packages" not in path:
                return own
            return level
        if path.startswith(_PACKAGE):
            own = level
        frame, level = frame.f_back, level + 1
    return level if own is None else own


def make_optimizer(solver, params, *, learning_rate, momentum=0.9, nesterov=True, beta_1=0.9, beta_2=0.999):
    """The optimizer named ``solver``, updating ``params`` in place."""
    if solver == "sgd":
        return SOLVERS[solver](params, learning_rate=learning_rate, momentum=momentum, nesterov=nesterov)
    if solver == "adam":
        return SOLVERS[solver](params, learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2)
    return SOLVERS[solver](params, learning_rate=learning_rate)


def train_step(params, spec, optimizer, X, lengths, targets, weights=None, state0=None, *,
               alpha=0.0, clip_norm=None, dropout=0.0, rng=None):
    """Forward, loss, backward, L2 penalty, clipping and one optimizer update.

    Returns (loss, states): the batch loss (before the update) and the state
    after each row's last step, for truncated BPTT (None for a many-to-one
    batch run in length groups, see ``length_groups``). Raises TrainingDiverged,
    leaving ``params`` untouched, when the loss or the gradient is not finite,
    or when the loss exceeds 100 times that of a uniform guess (log C nats):
    weights that large are finite but useless, and only get worse.
    """
    # Subnormals flushed for the update too: weights and Adam's moments decay
    # into them where only the L2 term, or nothing, pulls on them.
    with blas_limit(loop_threads(len(X), spec.hidden_size)), flush_denormals():
        groups = length_groups(lengths, spec.hidden_size, weights) if spec.pooling and state0 is None else None
        if groups is None:
            logits, states, cache = forward(params, spec, X, lengths, state0, dropout=dropout, rng=rng)
            loss, dlogits = softmax_cross_entropy(logits, targets, weights, overwrite_logits=True)
            grads = backward(params, dlogits, cache)
        else:
            loss, grads = _grouped_gradients(params, spec, X, lengths, targets, weights, groups, dropout, rng)
            states = None
        # The update on one thread: the solvers' axpy calls run on scipy's
        # OpenBLAS, the products on numpy's, and with two threads each the
        # pools' idle workers spin and take the cores from each other. Measured
        # on 2 cores, an RNN step at H=512 took 88-100 ms so, 39 ms all on one
        # thread, 29-31 ms with only the (memory-bound) update on one.
        with blas_limit(1):
            if alpha:
                add_l2_penalty(params, grads, alpha)
            norm = clip_grad_norm(grads, clip_norm)
            if not (np.isfinite(loss) and np.isfinite(norm)):
                raise TrainingDiverged(f"loss={loss}, gradient norm={norm}")
            exploded = 100 * np.log(max(params["W_hy"].shape[1], 2))
            if loss > exploded:
                raise TrainingDiverged(f"loss {loss:.3g} is over 100 times that of a uniform guess")
            optimizer.step(grads)
    return loss, states


# A minibatch whose padded steps would hold this many (row, step, unit) cells or more, and more
# padding than real steps, is split into length groups (see ``length_groups``).
GROUP_CELLS = 1 << 21


def length_groups(lengths, hidden_size, weights=None):
    """Rows of a many-to-one minibatch in groups of similar length, or None to run it whole.

    The time loop skips the rows that have ended, but the workspace (input
    projections, gate caches, their gradients) and the weight-gradient products
    span the batch's longest row: one text of 23,000 characters among SMS made
    its batch of 16 take 1.5 GB to train (batch_size=64: 5.6 GB), as much as 16
    such texts; in groups, 0.37 GB (0.42 GB). Rows sorted by decreasing length
    are grouped greedily so that each group's padded cells are at most twice
    its real ones; the groups' gradients add up to the batch's
    (``_grouped_gradients``). Small batches run whole: a group costs a pass of
    its own, and there the padding is cheap.
    """
    lengths = np.asarray(lengths)
    longest = int(lengths.max(initial=0))
    if len(lengths) * longest * hidden_size < GROUP_CELLS or 2 * int(lengths.sum()) >= len(lengths) * longest:
        return None
    if weights is not None and not float(np.sum(weights)) > 0:
        return None  # nothing to learn from (train_step's loss is 0 and its gradient zero)
    order = np.argsort(-lengths, kind="stable")
    groups, start = [], 0
    while start < len(order):
        head, real, stop = int(lengths[order[start]]), 0, start
        while stop < len(order) and head * (stop - start + 1) <= 2 * (real + int(lengths[order[stop]])):
            real += int(lengths[order[stop]])
            stop += 1
        groups.append(order[start:stop])
        start = stop
    return groups


def _grouped_gradients(params, spec, X, lengths, targets, weights, groups, dropout, rng):
    """Loss and gradients of a minibatch run one length group at a time: each group's
    loss is its weighted mean, so it counts with its share of the batch's weight."""
    total = float(np.sum(weights)) if weights is not None else float(len(lengths))
    loss, grads = 0.0, None
    for rows in groups:
        steps = max(int(lengths[rows].max()), 1)
        w = weights[rows] if weights is not None else None
        logits, _, cache = forward(params, spec, X[rows, :steps], lengths[rows], dropout=dropout, rng=rng)
        group_loss, dlogits = softmax_cross_entropy(logits, targets[rows], w, overwrite_logits=True)
        share = (float(w.sum()) if w is not None else float(len(rows))) / total
        dlogits *= dlogits.dtype.type(share)
        loss += group_loss * share
        group_grads = backward(params, dlogits, cache)
        if grads is None:
            grads = group_grads
        else:
            for name, g in group_grads.items():
                grads[name] += g
    return loss, grads


def params_finite(params):
    return all(np.isfinite(v).all() for v in params.values())


def copy_params(params):
    return {k: v.copy() for k, v in params.items()}


def restore_params(params, saved):
    """Copy ``saved`` into the arrays of ``params`` (the optimizer holds those arrays)."""
    for k, v in saved.items():
        params[k][...] = v


class StopRequest:
    """Set by Ctrl-C while training; the loop checks it between batches."""

    def __init__(self):
        self.requested = False
        self.aborted = False  # a second Ctrl-C: fit raises KeyboardInterrupt where the first one would stop

    def raise_if_aborted(self, name):
        if self.aborted:
            raise KeyboardInterrupt(f"{name}: fit aborted by a second Ctrl-C")


@contextmanager
def interruptible(name="model"):
    """Turn SIGINT into a stop request checked between batches.

    A second Ctrl-C makes ``fit_epochs`` raise KeyboardInterrupt, at the
    same safe points where the first one stops it (never inside a batch or
    the buffer pool): a model search or a script around ``fit`` would
    otherwise go on to its next fit, and could only be stopped by killing
    it. Outside the main thread (joblib workers, notebooks' background
    threads) signals cannot be caught, and a KeyboardInterrupt raised
    mid-batch is handled by ``fit_epochs`` instead.
    """
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):
        stop.aborted = stop.requested
        stop.requested = True
        if not stop.aborted:
            try:
                print(f"\n{name}: stopping after this minibatch (Ctrl-C again: fit raises KeyboardInterrupt "
                      "and keeps nothing)", file=sys.stderr, flush=True)
            except (OSError, RuntimeError, ValueError):  # the signal came during another write to stderr
                pass

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


class EpochHistory:
    """What ``fit_epochs`` learned: the estimator copies it into its attributes."""

    def __init__(self):
        self.loss_curve = []
        self.validation_scores = []
        self.best_loss = np.inf
        self.best_validation_score = -np.inf
        self.n_iter = 0
        self.no_improvement = 0  # epochs since the last improvement, when the fit ended
        self.stopped_by = None  # None, "tol", "interrupt", "diverged"


def fit_epochs(params, optimizer, run_epoch, validation_score=None, *, max_iter, tol, n_iter_no_change,
               verbose=0, name="model", describe_epoch=None, unit="items", describe_validation=None,
               validation_name="validation score", patience=None, warn_unconverged=True):
    """Run epochs until convergence, ``max_iter``, divergence or Ctrl-C.

    run_epoch(stop) -> (mean training loss, items seen); it checks
    ``stop.requested`` between batches and returns early when it is set.
    validation_score() -> float, higher is better (None: stop on the
    training loss, as MLPClassifier does without early stopping).
    With a validation score, the best weights seen are restored at the end.
    describe_epoch(epoch) -> str, extra text for the verbose line, whose
    throughput counts ``unit`` per second, and whose validation part is
    describe_validation(score) -> str (default ", validation score {score}"),
    and which a verbose fit that stops early calls ``validation_name``.
    patience: with a validation score, the no-improvement count of the fit
    that this one continues (warm_start), as MLPClassifier carries it; the
    weights it starts from, that fit's best, are scored before the first
    epoch and kept unless an epoch beats them.
    warn_unconverged: a ``ConvergenceWarning`` when ``max_iter`` epochs ran
    without converging (off for partial_fit: one epoch per call is its point).
    """
    history = EpochHistory()
    describe_validation = describe_validation or (lambda score: f", validation score {score:.4f}")
    best = copy_params(params) if validation_score is not None else None
    best_epoch = 0  # 0: the weights the fit started from
    last_good = (copy_params(params), optimizer.state_dict())
    with interruptible(name) as stop:
        if validation_score is not None and patience is not None:
            history.best_validation_score = float(validation_score())
            history.no_improvement = patience
        for _ in range(max_iter):
            start = time.perf_counter()
            try:
                loss, n_items = run_epoch(stop)
                if not params_finite(params):
                    raise TrainingDiverged("non-finite weights after an update")
            except TrainingDiverged as exc:
                restore_params(params, last_good[0])
                optimizer.load_state_dict(last_good[1])
                history.stopped_by = "diverged"
                kept = ("the weights of the last finite epoch were restored" if history.n_iter else
                        "no epoch finished, so the model keeps the weights it started from (untrained, unless "
                        "a warm start)")
                warnings.warn(
                    f"{name}: training diverged in epoch {history.n_iter + 1} ({exc}); {kept}, and training "
                    "stopped. Use a smaller learning_rate, or set clip_norm (e.g. clip_norm=1.0).",
                    RuntimeWarning,
                    stacklevel=user_stacklevel(),
                )
                break
            except KeyboardInterrupt:
                stop.requested = True
                loss, n_items = np.nan, 0
            stop.raise_if_aborted(name)
            if stop.requested and not np.isfinite(loss):
                history.stopped_by = "interrupt"
                break
            history.n_iter += 1
            history.loss_curve.append(float(loss))
            seconds = time.perf_counter() - start
            # an epoch cut short by Ctrl-C: its loss is the mean over the batches that ran
            line = f"Epoch {history.n_iter}{' (interrupted)' if stop.requested else ''}: loss {loss:.4f}"
            if validation_score is not None:
                score = float(validation_score())
                history.validation_scores.append(score)
                line += describe_validation(score)
                improved = score > history.best_validation_score + tol
                if score > history.best_validation_score:
                    history.best_validation_score = score
                    best, best_epoch = copy_params(params), history.n_iter
            else:
                improved = loss < history.best_loss - tol
            history.best_loss = min(history.best_loss, float(loss))
            last_good = (copy_params(params), optimizer.state_dict())
            if verbose:
                rate = n_items / seconds if seconds > 0 else float("inf")
                line += f", {seconds:.2f} s, {rate:,.0f} {unit}/s"
                if describe_epoch is not None:
                    line += describe_epoch(history.n_iter)
                print(line, flush=True)
            history.no_improvement = 0 if improved else history.no_improvement + 1
            if stop.requested:
                history.stopped_by = "interrupt"
                break
            if history.no_improvement >= n_iter_no_change:
                history.stopped_by = "tol"
                break
        stop.raise_if_aborted(name)  # the second Ctrl-C came during a validation pass or a verbose line
    restored = best is not None and bool(history.validation_scores)
    if restored:
        restore_params(params, best)
    if verbose and history.stopped_by == "tol":
        watched = validation_name if validation_score is not None else "training loss"
        epochs = f"{n_iter_no_change} consecutive epoch{'s' if n_iter_no_change > 1 else ''}"
        if history.n_iter < n_iter_no_change:  # the count went on from an earlier warm fit
            epochs += ", counting the previous fits'"
        print(f"{watched[:1].upper()}{watched[1:]} did not improve by more than tol={tol} for {epochs}. Stopping.",
              flush=True)
    if verbose and restored and history.n_iter > best_epoch:
        kept = f"epoch {best_epoch}" if best_epoch else "the previous fit's best"
        print(f"Keeping the weights of {kept}{describe_validation(history.best_validation_score)}.", flush=True)
    if history.stopped_by == "interrupt":
        kept = "best weights so far (by validation score)" if restored else "weights of the last update"
        warnings.warn(
            f"{name}: training interrupted in epoch {history.n_iter + (not history.loss_curve)}; the "
            f"estimator keeps the {kept} and is ready to use. Call fit again with "
            "warm_start=True (or partial_fit) to go on.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    elif warn_unconverged and history.stopped_by is None and history.n_iter >= max_iter:
        warnings.warn(
            f"{name}: maximum iterations ({max_iter}) reached and the optimization hasn't converged yet.",
            ConvergenceWarning,
            stacklevel=user_stacklevel(),
        )
    return history
