"""
=====================================
A grid search on a Dask cluster
=====================================

Run the cross-validation fits of a
:class:`~sklearn.model_selection.GridSearchCV` on the workers of a Dask
cluster through joblib's Dask backend, and check that they find what the same
search finds in this process.

By default the example starts a small :class:`~distributed.LocalCluster` of
two single-threaded workers, so it runs anywhere. To use a real cluster,
start ``dask scheduler`` on one machine and ``dask worker
tcp://SCHEDULER:8786 --nworkers -1 --nthreads 1`` on each of the others, and
set the environment variable ``SKRNN_DASK_SCHEDULER=tcp://SCHEDULER:8786``
before running this script; nothing else changes. The user guide's
:ref:`dask` page explains the set-up. Without Dask installed (``pip install
".[distributed]"`` in a clone) the example runs the search with joblib's own process
pool instead.

The data are 8 x 8 images of handwritten digits from scikit-learn, read by
:class:`~skrnn.RNNSequenceClassifier` as sequences of 8 rows of 8 pixels.
"""

# %%
# The search
# ----------
# A grid over ``hidden_size`` and ``learning_rate``, three folds: 18 fits.
# Every fit is seeded by ``random_state``, wherever it runs.
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skrnn import RNNSequenceClassifier

warnings.simplefilter("ignore", ConvergenceWarning)  # 10 epochs are a budget, not convergence

digits = load_digits()
X, y = digits.images[:600] / 16.0, digits.target[:600]  # (600, 8 steps, 8 features)
param_grid = {"hidden_size": [16, 32, 64], "learning_rate": [0.003, 0.01]}


def make_search():
    return GridSearchCV(RNNSequenceClassifier(max_iter=10, random_state=0), param_grid, cv=3)


# %%
# The cluster
# -----------
# ``Client(address)`` connects to a running scheduler; ``LocalCluster`` starts
# one here. ``processes=False`` keeps its workers in this process, which is
# what lets the example run inside a documentation build; in a script of
# your own, ``LocalCluster(n_workers=2, threads_per_worker=1)`` (processes, the
# default) under ``if __name__ == "__main__":`` gives each worker its own
# process, with BLAS capped at one thread by Dask's nanny, as on a cluster.
import os
import time

import joblib

address = os.environ.get("SKRNN_DASK_SCHEDULER")
try:
    from distributed import Client, LocalCluster
except ImportError:  # Dask is optional
    Client = LocalCluster = None

start = time.perf_counter()
if Client is None:
    print("Dask is not installed: the search runs in two joblib worker processes instead.")
    with joblib.parallel_config(backend="loky", n_jobs=2):
        distributed_search = make_search().fit(X, y)
else:
    cluster = None
    if not address:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    with Client(address or cluster) as client:
        print(f"{len(client.scheduler_info()['workers'])} workers at {client.scheduler.address}")
        with joblib.parallel_config(backend="dask"):
            distributed_search = make_search().fit(X, y)
    if cluster is not None:
        cluster.close()
print(f"on the workers: {time.perf_counter() - start:.1f} s")

# %%
# The same search, here
# ---------------------
# With no backend configured, the fits run one after another in this
# process. The scores match to the bit.
import numpy as np

start = time.perf_counter()
local_search = make_search().fit(X, y)
print(f"in this process: {time.perf_counter() - start:.1f} s")
same = np.array_equal(distributed_search.cv_results_["mean_test_score"], local_search.cv_results_["mean_test_score"])
print(f"identical cross-validated scores: {same}; best parameters {distributed_search.best_params_}")

# %%
# The scores
# ----------
import matplotlib.pyplot as plt

results = distributed_search.cv_results_
labels = [f"H={p['hidden_size']}\nlr={p['learning_rate']}" for p in results["params"]]
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.bar(range(len(labels)), results["mean_test_score"], yerr=results["std_test_score"], color="C0")
ax.set_xticks(range(len(labels)), labels)
ax.set_ylabel("3-fold accuracy")
ax.set_ylim(0, 1)
ax.set_title("RNNSequenceClassifier on digits, 10 epochs")
fig.tight_layout()
plt.show()
