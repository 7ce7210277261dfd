"""Choosing the next token from logits: greedy, temperature and top-k sampling.

``sample_next`` runs once per generated token on a short 1-D vector, so it
uses a few small ufunc calls, ``rng.random()`` and ``searchsorted`` rather than
``rng.choice``, whose per-call overhead dominates at this size.
"""

import numpy as np


def softmax(logits, axis=-1):
    """Probabilities along ``axis``; subtracting the max keeps exp from overflowing."""
    logits = np.asarray(logits)
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def log_softmax(logits, axis=-1):
    """Log-probabilities along ``axis``: z - logsumexp(z), finite even for 1e4."""
    logits = np.asarray(logits)
    z = logits - logits.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def sample_next(logits, rng, temperature=1.0, top_k=None):
    """Index of the next token, drawn from (V,) ``logits``; returns an int.

    ``temperature=0`` is greedy (argmax, ties to the lowest index). Otherwise
    sample from softmax(logits / temperature): a higher temperature flattens
    the distribution and gives more diverse samples. ``top_k`` keeps only the
    k largest logits eligible (ties broken towards the lowest index, so
    ``top_k=1`` is greedy); ``top_k >= V`` keeps all.
    """
    logits = np.asarray(logits)
    if temperature == 0 or top_k == 1:
        return int(logits.argmax())
    if logits.dtype.kind != "f":
        logits = logits.astype(np.float64)
    index = None
    if top_k is not None and top_k < logits.shape[0]:
        index = (-logits).argsort(kind="stable")[:top_k]
        logits = logits[index]
    # At this size the call overhead outweighs the arithmetic, so this uses the
    # cheapest spellings: x[x.argmax()] for max, np.add.accumulate for cumsum.
    # The weights stay unnormalised: scaling the uniform draw by their total
    # replaces the division by the sum.
    w = logits - logits[logits.argmax()]
    if temperature != 1:
        w *= 1.0 / temperature
    np.exp(w, out=w)
    np.add.accumulate(w, out=w)
    j = int(w.searchsorted(rng.random() * w[-1], "right"))
    j = min(j, w.shape[0] - 1)  # u * total can round up to the total itself
    return j if index is None else int(index[j])
