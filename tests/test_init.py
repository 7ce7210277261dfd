import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skrnn._core.init import glorot_uniform, orthogonal, orthogonal_blocks, zeros


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_glorot_uniform_shape_dtype_and_bounds(dtype):
    W = glorot_uniform(np.random.default_rng(0), 7, 5, dtype)
    assert W.shape == (7, 5)
    assert W.dtype == dtype
    assert np.all(np.abs(W) <= np.sqrt(6 / 12))


def test_glorot_uniform_variance_is_two_over_fan_sum():
    W = glorot_uniform(np.random.default_rng(0), 200, 300, np.float64)
    assert W.var() == pytest.approx(2 / 500, rel=0.05)
    assert W.mean() == pytest.approx(0, abs=0.01)


@pytest.mark.parametrize("n_rows, n_cols", [(6, 6), (8, 3), (3, 8)])
@pytest.mark.parametrize("dtype, atol", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_orthogonal_rows_or_columns_are_orthonormal(n_rows, n_cols, dtype, atol):
    Q = orthogonal(np.random.default_rng(0), n_rows, n_cols, dtype)
    assert Q.shape == (n_rows, n_cols)
    assert Q.dtype == dtype
    gram = Q.T @ Q if n_rows >= n_cols else Q @ Q.T
    assert_allclose(gram, np.eye(min(n_rows, n_cols)), atol=atol)


def test_orthogonal_gain_scales_the_matrix():
    Q = orthogonal(np.random.default_rng(0), 4, 4, np.float64)
    Q2 = orthogonal(np.random.default_rng(0), 4, 4, np.float64, gain=2.0)
    assert_allclose(Q2, 2.0 * Q, rtol=1e-15)


def test_orthogonal_blocks_each_gate_block_is_orthogonal():
    H, G = 5, 4
    W = orthogonal_blocks(np.random.default_rng(0), H, G, np.float32)
    assert W.shape == (H, G * H)
    assert W.dtype == np.float32
    blocks = [W[:, g * H:(g + 1) * H] for g in range(G)]
    for block in blocks:
        assert_allclose(block.T @ block, np.eye(H), atol=1e-5)
    assert not np.allclose(blocks[0], blocks[1])


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: glorot_uniform(rng, 4, 3, np.float32),
        lambda rng: orthogonal(rng, 4, 3, np.float32),
        lambda rng: orthogonal_blocks(rng, 3, 3, np.float32),
    ],
)
def test_initialiser_is_deterministic_for_a_seed(make):
    assert_array_equal(make(np.random.default_rng(42)), make(np.random.default_rng(42)))
    assert not np.array_equal(
        make(np.random.default_rng(42)), make(np.random.default_rng(43))
    )


def test_zeros_shape_and_dtype():
    b = zeros((3, 4), np.float32)
    assert b.shape == (3, 4)
    assert b.dtype == np.float32
    assert not b.any()
