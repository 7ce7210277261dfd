import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import chdtrc, softmax

from skrnn._core.sampling import Sampler, log_softmax


def random_logits(seed, V=65):
    return np.random.default_rng(seed).standard_normal(V) * 3


def frequencies(logits, n, seed=0, block=64, dtype=np.float64, **kwargs):
    """Frequencies of n tokens a Sampler draws from the same logits."""
    draw = Sampler(np.random.default_rng(seed), len(logits), block=block, dtype=dtype, **kwargs)
    return np.bincount([draw(logits) for _ in range(n)], minlength=len(logits)) / n


def chi_square_pvalue(observed, expected):
    """P-value of Pearson's goodness-of-fit test (scipy.stats is slow to import)."""
    statistic = np.sum((observed - expected) ** 2 / expected)
    return chdtrc(len(observed) - 1, statistic)


def entropy(p):
    p = p[p > 0]
    return -np.sum(p * np.log(p))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_extreme_logits_are_finite(dtype):
    logits = np.array([[1e4, -1e4, 0.0, 1e4], [-1e4, -1e4, 3.0, 2.0]], dtype=dtype)
    logp = log_softmax(logits)
    assert logp.dtype == dtype
    assert np.all(np.isfinite(logp))
    assert_allclose(np.exp(logp).sum(axis=-1), 1.0, atol=1e-6)
    assert_allclose(logp[0], [-np.log(2), -1e4 - np.log(2) - 1e4, -1e4 - np.log(2),
                              -np.log(2)], rtol=1e-6)


def test_log_softmax_follows_axis():
    logits = np.random.default_rng(0).standard_normal((3, 4))
    assert_allclose(np.exp(log_softmax(logits, axis=0)), softmax(logits, axis=0))
    expected = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert_allclose(log_softmax(logits), expected, rtol=1e-14)


# -- Sampler: the stream sampler generation uses (Gumbel-max, noise drawn in blocks) --


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("temperature", [0.5, 1.0, 3.0])
def test_sampler_frequencies_match_softmax(temperature, dtype):
    logits, n = np.array([1.0, 0.5, -1.0, 2.0, 0.0, -3.0], dtype=dtype), 10000
    observed = frequencies(logits, n, dtype=dtype, temperature=temperature) * n
    expected = softmax(logits.astype(np.float64) / temperature) * n
    assert chi_square_pvalue(observed, expected) > 1e-3


def test_sampler_top_k_frequencies_match_renormalised_softmax():
    logits, n = np.array([1.0, 0.5, -1.0, 2.0, 0.0, -3.0]), 10000
    observed = frequencies(logits, n, top_k=3, temperature=0.7) * n
    expected = np.where(logits >= 0.5, np.exp(logits / 0.7), 0.0)
    expected *= n / expected.sum()
    keep = expected > 0
    assert observed[~keep].sum() == 0
    assert chi_square_pvalue(observed[keep], expected[keep]) > 1e-3


GREEDY = [{"temperature": 0}, {"top_k": 1, "temperature": 2.0}, {"temperature": 0, "top_k": 3}]


@pytest.mark.parametrize("kwargs", GREEDY, ids=["temperature=0", "top_k=1", "temperature=0,top_k=3"])
def test_sampler_greedy_picks_argmax_ties_to_lowest_index(kwargs):
    draw = Sampler(np.random.default_rng(0), 65, **kwargs)
    for seed in range(20):
        logits = random_logits(seed)
        assert draw(logits) == np.argmax(logits)
    logits = np.array([0.0, 2.0, 1.0, 2.0])
    draw = Sampler(np.random.default_rng(0), 4, **kwargs)
    assert [draw(logits) for _ in range(20)] == [1] * 20


@pytest.mark.parametrize("temperature", [1.0, 3.0])
def test_sampler_top_k_samples_only_from_k_largest(temperature):
    logits, k = random_logits(0), 5
    freq = frequencies(logits, 2000, top_k=k, temperature=temperature)
    assert set(np.flatnonzero(freq)) == set(np.argsort(logits)[-k:])


@pytest.mark.parametrize("logits, kept", [([0.0, 2.0, 1.0, 2.0], {1, 3}), ([0.0, 2.0, 1.0, 1.0], {1, 2})])
def test_sampler_top_k_breaks_ties_to_lowest_index(logits, kept):
    assert set(np.flatnonzero(frequencies(np.array(logits), 300, top_k=2))) == kept


@pytest.mark.parametrize("top_k", [8, 20])
def test_sampler_top_k_at_least_vocabulary_keeps_all(top_k):
    logits = random_logits(0, V=8)
    assert_allclose(frequencies(logits, 500, top_k=top_k), frequencies(logits, 500))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_sampler_returns_python_int(dtype):
    logits = np.array([1, 3, 2], dtype=dtype)
    noise = dtype if np.dtype(dtype).kind == "f" else np.float64
    for kwargs in ({}, {"temperature": 0}, {"top_k": 2}, {"temperature": 2.0}):
        assert type(Sampler(np.random.default_rng(0), 3, dtype=noise, **kwargs)(logits)) is int


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("temperature", [0.01, 1.0, 1e6])
def test_sampler_extreme_logits(temperature, dtype):
    logits = np.array([-1e4, 1e4, 0.0], dtype=dtype)
    draw = Sampler(np.random.default_rng(0), 3, temperature, dtype=dtype)
    draws = [draw(logits) for _ in range(300)]
    if temperature < 1e3:
        assert draws == [1] * 300
    else:  # a huge temperature flattens the distribution, with no overflow
        assert set(draws) == {0, 1, 2}


@pytest.mark.parametrize("kwargs", [{}, {"top_k": 10}, {"temperature": 2.0}])
def test_sampler_is_deterministic_for_a_seed_across_blocks(kwargs):
    logits = random_logits(0, V=20)
    runs = []
    for _ in range(2):
        draw = Sampler(np.random.default_rng(7), 20, block=3, **kwargs)  # 3 draws per block: many refills
        runs.append([draw(logits) for _ in range(50)])
    assert runs[0] == runs[1] and len(set(runs[0])) > 1


def test_sampler_higher_temperature_is_more_diverse():
    logits = random_logits(0, V=20)
    h = [entropy(frequencies(logits, 4000, temperature=t)) for t in (0.5, 1.0, 2.0)]
    assert h[0] < h[1] < h[2]


class _ZeroExponentials:
    """A generator whose exponential draws are all exactly 0, as float32 ones are once in 2**23."""

    def standard_exponential(self, size, dtype):
        return np.zeros(size, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", [{}, {"temperature": 2.0}, {"top_k": 3}])
def test_sampler_zero_exponential_does_not_pick_an_unlikely_token(dtype, kwargs):
    # -log(0) = inf made every token's noise inf: argmax picked index 0, whose logit is 60 below the best
    logits = np.array([-60.0, 0.0, -5.0, -7.0], dtype=dtype)
    with np.errstate(all="raise"):  # and no divide-by-zero warning on the way
        assert Sampler(_ZeroExponentials(), 4, dtype=dtype, **kwargs)(logits) == 1
