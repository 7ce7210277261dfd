"""scikit-learn's common estimator checks over every skrnn estimator."""

import inspect

from sklearn.utils.estimator_checks import parametrize_with_checks

from skrnn import CharTokenizer, RNNSequenceClassifier, WordTokenizer

# Small and fast. float64 so that predicting a subset of rows gives exactly
# the rows of predicting all of them (check_methods_subset_invariance uses
# atol=1e-7; float32 GEMV and GEMM round differently at that level).
# batch_size=32 holds the whole training set of the sample_weight checks (15
# rows, about 30 once repeated) in one minibatch: weighting a row then equals
# repeating it exactly, which minibatches of different compositions cannot.
CHECKED_CLASSIFIER = RNNSequenceClassifier(
    hidden_size=8, max_iter=50, learning_rate=0.02, batch_size=32, dtype="float64", random_state=0
)

# Every check passes; list an expected failure here with the reason a reviewer would accept.
EXPECTED_FAILURES = {}


def expected_failed_checks(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


# An expected failure that passes is an error where scikit-learn can say so (1.7 and later).
STRICT = {"xfail_strict": True} if "xfail_strict" in inspect.signature(parametrize_with_checks).parameters else {}


@parametrize_with_checks(
    [CHECKED_CLASSIFIER, CharTokenizer(), WordTokenizer()],
    expected_failed_checks=expected_failed_checks,
    **STRICT,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
