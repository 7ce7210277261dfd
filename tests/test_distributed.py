"""Searches scaled out to a Dask cluster through joblib's Dask backend.

A real LocalCluster with two worker processes runs a search for each estimator.
A scorer that records the process it runs in shows that the cross-validation
fits ran on the workers (and not in this process), with BLAS capped at one
thread there, and the search picks what the same search picks locally.
"""

import logging
import os
import uuid
import warnings
from pathlib import Path

import distributed
import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_info

from skrnn import RNNCharGenerator, RNNSequenceClassifier

TEXTS = ["good", "not good", "very good", "bad", "not bad", "very bad"] * 4
LABELS = ["pos", "neg", "pos", "neg", "pos", "neg"] * 4
# Every word holds every character, so that each fold can score every other one.
WORDS = ["".join(np.random.default_rng(i).permutation(list("abcde"))) * 2 for i in range(16)]
GRID = {"hidden_size": [4, 8], "learning_rate": [0.003, 0.03]}
N_SPLITS = 2


def blas_threads():
    """Threads of every BLAS library loaded in this process."""
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


class RecordingScorer:
    """``estimator.score`` that also writes down the process it ran in and its BLAS threads.

    One file per call under ``folder``, which a LocalCluster's workers share with
    this process, named ``<pid>-<random>.txt`` and holding the BLAS thread counts.
    """

    def __init__(self, folder):
        self.folder = folder

    def __call__(self, estimator, X, y=None):
        record = Path(self.folder) / f"{os.getpid()}-{uuid.uuid4().hex}.txt"
        record.write_text(" ".join(map(str, blas_threads())))
        return estimator.score(X, y) if y is not None else estimator.score(X)


def records(folder):
    """[(pid, [BLAS threads, ...]), ...]: one per scorer call."""
    return [
        (int(path.name.split("-")[0]), [int(n) for n in path.read_text().split()])
        for path in sorted(Path(folder).iterdir())
    ]


@pytest.fixture(scope="module")
def client():
    # processes=True: two real worker processes, each started by a nanny, as
    # `dask worker` starts them on other machines.
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.ERROR, death_timeout=60,
    ) as cluster, distributed.Client(cluster, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
        yield client


def test_dask_workers_cap_blas_threads(client):
    # The nanny starts each worker with OMP/MKL/OPENBLAS_NUM_THREADS=1
    # (dask config distributed.nanny.pre-spawn-environ).
    per_worker = client.run(blas_threads)
    assert len(per_worker) == 2
    for threads in per_worker.values():
        assert threads and set(threads) == {1}


@pytest.mark.parametrize(
    "estimator, X, y",
    [
        (RNNSequenceClassifier(max_iter=3, random_state=0), TEXTS, LABELS),
        (RNNCharGenerator(max_iter=1, random_state=0), WORDS, None),
    ],
    ids=["classifier", "generator"],
)
def test_dask_search_runs_on_workers_and_matches_local(client, estimator, X, y, tmp_path):
    local_log, dask_log = tmp_path / "local", tmp_path / "dask"
    local_log.mkdir()
    dask_log.mkdir()

    def search(log):
        return GridSearchCV(estimator, GRID, cv=N_SPLITS, scoring=RecordingScorer(str(log)), n_jobs=2)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        local = search(local_log).set_params(n_jobs=1).fit(X, y)
        with joblib.parallel_backend("dask"):
            remote = search(dask_log).fit(X, y)

    n_fits = len(remote.cv_results_["params"]) * N_SPLITS
    worker_pids = set(client.run(os.getpid).values())
    dask_records = records(dask_log)
    # The recorder works: the local search scored every fit in this process.
    assert {pid for pid, _ in records(local_log)} == {os.getpid()}
    # Every cross-validation fit ran on a worker, and both workers took part.
    assert len(dask_records) == n_fits
    assert {pid for pid, _ in dask_records} == worker_pids
    assert os.getpid() not in worker_pids
    # One BLAS thread per worker process while it fitted and scored.
    assert all(threads and set(threads) == {1} for _, threads in dask_records)
    # The cluster finds what the local run finds, to the bit.
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])
