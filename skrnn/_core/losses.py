"""Masked, weighted softmax cross-entropy."""

import numpy as np


def softmax_cross_entropy(logits, targets, weights=None):
    """Mean cross-entropy and its gradient.

    logits   (M, C) floats (any leading shape flattens to M rows)
    targets  (M,) integer class ids
    weights  (M,) non-negative row weights, or None for all ones; a padded
             step gets weight 0 and contributes nothing
    Returns (loss, dlogits): loss = sum_i w_i * -log softmax(logits_i)[y_i] / sum_i w_i
    (0 when every weight is 0) and dlogits with the shape of ``logits``.
    """
    shape = logits.shape
    z = logits.reshape(-1, shape[-1])
    targets = targets.reshape(-1)
    rows = np.arange(z.shape[0])
    # log-sum-exp with the row maximum taken out: finite for any finite logits
    p = z - z.max(axis=1, keepdims=True)
    target_logit = p[rows, targets]
    np.exp(p, out=p)
    sums = p.sum(axis=1)
    nll = np.log(sums) - target_logit  # (M,)
    p /= sums[:, None]  # softmax, reused as the gradient buffer
    p[rows, targets] -= 1
    if weights is None:
        total = z.shape[0]
        loss = float(nll.sum()) / total if total else 0.0
        p *= p.dtype.type(1.0 / max(total, 1))
    else:
        weights = weights.reshape(-1)
        total = float(weights.sum())
        if total <= 0:
            return 0.0, np.zeros(shape, dtype=logits.dtype)
        loss = float(np.dot(weights.astype(np.float64), nll.astype(np.float64))) / total
        p *= (weights / total).astype(p.dtype)[:, None]
    return loss, p.reshape(shape)
