"""Weight initialisers. All randomness comes from a ``numpy.random.Generator``."""

import numpy as np


def glorot_uniform(rng, fan_in, fan_out, dtype):
    """Glorot & Bengio (2010) uniform init: U(-a, a), a = sqrt(6 / (fan_in + fan_out)).

    Returns a (fan_in, fan_out) array of ``dtype``. Keeps the variance of
    activations and gradients about equal across a layer: Var = 2 / (fan_in + fan_out).
    """
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out)).astype(dtype, copy=False)


def orthogonal(rng, n_rows, n_cols, dtype, gain=1.0):
    """Random (n_rows, n_cols) matrix with orthonormal columns or rows, times ``gain``.

    QR of a Gaussian matrix (Saxe et al., 2014), as ``torch.nn.init.orthogonal_``.
    Columns are orthonormal when n_rows >= n_cols, rows otherwise. Scaling by
    the signs of diag(R) makes Q uniform over orthogonal matrices rather than
    biased by the QR convention.
    """
    transpose = n_rows < n_cols
    shape = (n_cols, n_rows) if transpose else (n_rows, n_cols)
    q, r = np.linalg.qr(rng.standard_normal(shape))  # (rows, cols) with rows >= cols
    q *= np.copysign(1.0, np.diag(r))
    if transpose:
        q = q.T
    return (gain * q).astype(dtype, copy=False)


def orthogonal_blocks(rng, H, G, dtype, gain=1.0):
    """(H, G*H) recurrent matrix of G stacked gates, each (H, H) block orthogonal.

    An orthogonal (H, G*H) matrix would only make the rows orthonormal; each
    gate multiplies h by its own block, so each block is made orthogonal.
    """
    return np.concatenate(
        [orthogonal(rng, H, H, dtype, gain) for _ in range(G)], axis=1
    )


def zeros(shape, dtype):
    """Array of zeros, used for biases."""
    return np.zeros(shape, dtype=dtype)
