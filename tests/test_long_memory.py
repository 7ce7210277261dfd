"""Gated cells keep information over long sequences (issue: GRU and LSTM cells).

The task: 50 token ids, the first one (2 or 3) is the label, the 49 after it
are noise from 8 other ids. With ``pooling="last"`` the head sees only the
final state, so the first symbol must survive 49 noisy steps.
"""

import numpy as np
import pytest

from skrnn import RNNSequenceClassifier


def _first_symbol_task(n_samples, seed, n_steps=50):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n_samples)
    X = rng.integers(4, 12, (n_samples, n_steps))
    X[:, 0] = 2 + y
    return X, y


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_gated_cells_remember_the_first_of_50_symbols(cell):
    X_train, y_train = _first_symbol_task(512, seed=0)
    X_test, y_test = _first_symbol_task(256, seed=1)
    clf = RNNSequenceClassifier(
        cell=cell, hidden_size=16, embedding_dim=None, pooling="last",
        learning_rate=0.01, alpha=1e-3, batch_size=32, max_iter=40,
        n_iter_no_change=40, random_state=0,
    ).fit(X_train, y_train)
    # Nothing after the first step carries the label: chance is 0.5.
    assert clf.score(X_test, y_test) >= 0.95
