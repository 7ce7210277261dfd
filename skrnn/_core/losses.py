"""Masked, weighted softmax cross-entropy."""

import numpy as np


def softmax_cross_entropy(logits, targets, weights=None, *, overwrite_logits=False):
    """Mean cross-entropy and its gradient.

    logits   (M, C) floats (any leading shape flattens to M rows)
    targets  (M,) integer class ids
    weights  (M,) non-negative row weights, or None for all ones; a padded
             step gets weight 0 and contributes nothing
    overwrite_logits  dlogits may be written into ``logits`` (a training
             step, which needs them no more): one array fewer in the cache
             (at N=32, T=64, V=65 a step then touches 0.5 MB less, which
             counts once other work has evicted it from the caches)
    Returns (loss, dlogits): loss = sum_i w_i * -log softmax(logits_i)[y_i] / sum_i w_i
    (0 when every weight is 0) and dlogits with the shape of ``logits``.

    Speed: with C around 65, a reduction along each row (``max(axis=1)``,
    ``sum(axis=1)``) or a row-broadcast op runs numpy's inner loop once per
    row and costs 4-8x the same work on one flat array, which made the loss
    cost as much as the recurrent layer at H=64. So the softmax is shifted by
    the largest logit of the whole batch, one flat reduction, rather than by
    each row's own maximum; rows whose own maximum lies so far below it that
    their exponentials would underflow are recomputed with their own
    (``_rows_far_below``). Row sums are an ``einsum``, which loops over the
    flat data and calls no BLAS.
    """
    shape = logits.shape
    z = logits.reshape(-1, shape[-1])
    targets = targets.reshape(-1)
    M, C = z.shape
    if weights is not None:
        weights = weights.reshape(-1)
        total = float(weights.sum())
    else:
        total = float(M)
    if M == 0 or total <= 0:
        return 0.0, np.zeros(shape, dtype=logits.dtype)
    if targets.min() < 0 or targets.max() >= C:
        raise IndexError(f"targets must lie in [0, {C}); got {targets.min()}..{targets.max()}.")
    at_target = np.arange(M) * C + targets  # flat index of each row's target
    top = z.max()
    # In place only when no row can end up far below the batch maximum (every exponential is then
    # above sqrt(tiny)): such rows are redone from the logits themselves.
    in_place = overwrite_logits and top - z.min() < -0.5 * np.log(np.finfo(z.dtype).tiny)
    p = np.subtract(z, top, out=z if in_place else None)  # also the gradient buffer
    shifted_target = p.ravel()[at_target]
    np.exp(p, out=p)
    sums = np.einsum("ij->i", p)
    far = sums < np.sqrt(np.finfo(p.dtype).tiny)
    if far.any():
        _rows_far_below(z, p, sums, shifted_target, np.flatnonzero(far), targets)
    nll = np.log(sums)
    nll -= shifted_target  # -log softmax(z_i)[y_i]
    if weights is None:
        loss = float(nll.sum(dtype=np.float64)) / total
        row_scale = 1.0 / total
    else:
        loss = float(np.dot(weights.astype(np.float64), nll.astype(np.float64))) / total
        row_scale = (weights / total).astype(p.dtype)
    # dlogits_i = w_i / total * (softmax(z_i) - onehot(y_i))
    p *= (row_scale / sums)[:, None]
    p.ravel()[at_target] -= row_scale
    return loss, p.reshape(shape)


def _rows_far_below(z, p, sums, shifted_target, rows, targets):
    """Redo ``rows`` of p, sums and shifted_target with each row's own maximum."""
    zr = z[rows]
    zr = zr - zr.max(axis=1, keepdims=True)
    shifted_target[rows] = zr[np.arange(len(rows)), targets[rows]]
    np.exp(zr, out=zr)
    p[rows] = zr
    sums[rows] = zr.sum(axis=1)
