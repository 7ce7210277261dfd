"""Masked, weighted softmax cross-entropy against a direct float64 formula."""

import numpy as np
import pytest

from skrnn._core.losses import softmax_cross_entropy


def _reference(logits, targets, weights=None):
    """The textbook formula in float64, one row at a time."""
    z = np.asarray(logits, dtype=np.float64).reshape(-1, logits.shape[-1])
    y = targets.reshape(-1)
    w = np.ones(len(z)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    nll = np.empty(len(z))
    grad = np.empty_like(z)
    for i, row in enumerate(z):
        m = row.max()
        lse = m + np.log(np.exp(row - m).sum())
        nll[i] = lse - row[y[i]]
        grad[i] = np.exp(row - lse)
        grad[i, y[i]] -= 1
    total = w.sum()
    if total <= 0:
        return 0.0, np.zeros(logits.shape)
    return float(w @ nll / total), (grad * (w / total)[:, None]).reshape(logits.shape)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_softmax_cross_entropy_matches_formula(weighted, dtype, rtol):
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal((5, 7, 11)) * 3).astype(dtype)
    targets = rng.integers(0, 11, size=(5, 7))
    weights = rng.uniform(0, 2, size=(5, 7)) * (rng.random((5, 7)) > 0.3) if weighted else None
    loss, dlogits = softmax_cross_entropy(logits, targets, weights)
    ref_loss, ref_grad = _reference(logits, targets, weights)
    assert dlogits.shape == logits.shape and dlogits.dtype == dtype
    np.testing.assert_allclose(loss, ref_loss, rtol=rtol)
    np.testing.assert_allclose(dlogits, ref_grad, rtol=rtol, atol=rtol * 1e-2)


def test_softmax_cross_entropy_zero_weight_rows_contribute_nothing():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((6, 4))
    targets = rng.integers(0, 4, size=6)
    weights = np.array([1.0, 0.0, 2.0, 0.0, 1.0, 0.5])
    loss, dlogits = softmax_cross_entropy(logits, targets, weights)
    kept = weights > 0
    loss_kept, dlogits_kept = softmax_cross_entropy(logits[kept], targets[kept], weights[kept])
    np.testing.assert_allclose(loss, loss_kept, rtol=1e-12)
    np.testing.assert_array_equal(dlogits[~kept], 0)
    np.testing.assert_allclose(dlogits[kept], dlogits_kept, rtol=1e-12)


def test_softmax_cross_entropy_all_zero_weights():
    logits = np.random.default_rng(2).standard_normal((3, 5)).astype(np.float32)
    loss, dlogits = softmax_cross_entropy(logits, np.array([0, 1, 2]), np.zeros(3))
    assert loss == 0.0
    assert dlogits.shape == (3, 5) and dlogits.dtype == np.float32
    np.testing.assert_array_equal(dlogits, 0)


def test_softmax_cross_entropy_no_rows():
    loss, dlogits = softmax_cross_entropy(np.zeros((0, 5)), np.zeros(0, dtype=int))
    assert loss == 0.0 and dlogits.shape == (0, 5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_extreme_logits_stay_finite(dtype):
    """Rows far apart in scale: each is still shifted by its own maximum where needed."""
    logits = np.array([[1e4, 0.0, -1e4],  # confident and right
                       [0.0, 1e4, -1e4],  # confident and wrong
                       [-1e4, -1e4 + 1, -1e4 + 2],  # every logit 1e4 below the batch maximum
                       [0.5, -0.5, 0.0]], dtype=dtype)
    targets = np.array([0, 0, 1, 2])
    loss, dlogits = softmax_cross_entropy(logits, targets)
    assert np.isfinite(loss) and np.all(np.isfinite(dlogits))
    ref_loss, ref_grad = _reference(logits, targets)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-6)
    np.testing.assert_allclose(dlogits, ref_grad, rtol=1e-5, atol=1e-7)


def test_softmax_cross_entropy_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((4, 3, 5))
    targets = rng.integers(0, 5, size=(4, 3))
    weights = rng.uniform(0, 1, size=(4, 3))
    _, dlogits = softmax_cross_entropy(logits, targets, weights)
    eps = 1e-6
    numeric = np.zeros_like(logits)
    for i in np.ndindex(logits.shape):
        shifted = logits.copy()
        shifted[i] += eps
        plus = softmax_cross_entropy(shifted, targets, weights)[0]
        shifted[i] -= 2 * eps
        minus = softmax_cross_entropy(shifted, targets, weights)[0]
        numeric[i] = (plus - minus) / (2 * eps)
    np.testing.assert_allclose(dlogits, numeric, rtol=1e-6, atol=1e-9)


def test_softmax_cross_entropy_rejects_targets_out_of_range():
    with pytest.raises(IndexError, match="targets"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))


@pytest.mark.parametrize("far", [False, True])  # True: rows so far below the batch's maximum that they are redone
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_overwriting_the_logits_gives_the_same(far, dtype):
    rng = np.random.default_rng(3)
    logits = (rng.standard_normal((4, 6, 9)) * 3).astype(dtype)
    if far:
        logits[0] -= 1000
    targets = rng.integers(0, 9, size=(4, 6))
    loss, dlogits = softmax_cross_entropy(logits, targets)
    given = logits.copy()
    loss_over, dlogits_over = softmax_cross_entropy(given, targets, overwrite_logits=True)
    assert loss_over == loss
    np.testing.assert_array_equal(dlogits_over, dlogits)
    # written in place unless a row would be redone from the logits
    assert np.shares_memory(dlogits_over, given) == (not far)
