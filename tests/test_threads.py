"""Concurrency: many threads on one fitted model; a fit beside predictions.

The kernels release the GIL and allocate their workspace per call, so calls
from several threads run at once and must not share scratch memory. Results
are compared bit for bit with the same calls made one after another.
"""
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from conftest import FastClassifier, FastRegressor

# catch_warnings is not thread-safe: silence convergence warnings module-wide.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

N_THREADS = 8
ROUNDS = 6


def _data(n_rows=3000, n_features=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_features))
    y_class = np.argmax(X[:, :4] + 0.3 * rng.standard_normal((n_rows, 4)), axis=1)
    y_reg = X[:, 0] - 2 * X[:, 1] + 0.1 * rng.standard_normal(n_rows)
    return X, y_class, y_reg


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.fixture(scope="module")
def fitted():
    X, y_class, y_reg = _data()
    params = dict(hidden_layer_sizes=(64, 32), max_iter=5, random_state=0)
    clf = _fit(FastClassifier(**params), X, y_class)
    reg = _fit(FastRegressor(**params), X, y_reg)
    clf32 = _fit(FastClassifier(**params), X.astype(np.float32), y_class)
    return dict(X=X, y_class=y_class, y_reg=y_reg, clf=clf, reg=reg, clf32=clf32)


def _inputs(fitted):
    """Per-thread inputs of different sizes (one crossing a predict chunk)."""
    X = fitted["X"]
    big = np.concatenate([X, X[:1500]])  # 4500 rows
    return [X[: 50 + 37 * i] if i % 3 else big for i in range(N_THREADS)]


def _calls(fitted, X, rows):
    clf, reg, clf32 = fitted["clf"], fitted["reg"], fitted["clf32"]
    y_class = np.resize(fitted["y_class"], rows)
    y_reg = np.resize(fitted["y_reg"], rows)
    return {
        "clf.predict": lambda: clf.predict(X),
        "clf.predict_proba": lambda: clf.predict_proba(X),
        "clf.score": lambda: clf.score(X, y_class),
        "clf32.predict_proba": lambda: clf32.predict_proba(X.astype(np.float32)),
        "reg.predict": lambda: reg.predict(X),
        "reg.score": lambda: reg.score(X, y_reg),
    }


def _run_all(calls):
    return {name: call() for name, call in calls.items()}


def test_predict_proba_score_from_8_threads_match_sequential(fitted):
    inputs = _inputs(fitted)
    expected = [_run_all(_calls(fitted, X, len(X))) for X in inputs]
    barrier = threading.Barrier(N_THREADS)

    def worker(i):
        X = inputs[i]
        calls = _calls(fitted, X, len(X))
        barrier.wait()
        return [_run_all(calls) for _ in range(ROUNDS)]

    with ThreadPoolExecutor(N_THREADS) as pool:
        results = list(pool.map(worker, range(N_THREADS)))
    for i, rounds in enumerate(results):
        for got in rounds:
            for name, value in got.items():
                assert_array_equal(value, expected[i][name], err_msg=f"thread {i}: {name}")


def test_fit_in_one_thread_does_not_disturb_predict_in_others(fitted):
    X, y_class = fitted["X"], fitted["y_class"]
    clf = fitted["clf"]
    expected_proba = clf.predict_proba(X)
    expected_labels = clf.predict(X)
    # The model trained in the background, and its sequential twin.
    params = dict(hidden_layer_sizes=(48,), max_iter=8, random_state=3, batch_size=64)
    twin = _fit(FastClassifier(**params), X, y_class)

    stop = threading.Event()
    fitted_in_thread = []

    def trainer():
        try:
            for _ in range(3):
                fitted_in_thread.append(_fit(FastClassifier(**params), X, y_class))
        finally:
            stop.set()

    def predictor():
        n = 0
        while not stop.is_set() or n < 3:
            assert_array_equal(clf.predict_proba(X), expected_proba)
            assert_array_equal(clf.predict(X), expected_labels)
            n += 1
        return n

    with ThreadPoolExecutor(N_THREADS) as pool:
        training = pool.submit(trainer)
        predictions = [pool.submit(predictor) for _ in range(N_THREADS - 1)]
        training.result()
        counts = [future.result() for future in predictions]
    assert min(counts) >= 3
    for est in fitted_in_thread:
        for a, b in zip(est.coefs_ + est.intercepts_, twin.coefs_ + twin.intercepts_):
            assert_array_equal(a, b)


def test_concurrent_fits_of_separate_estimators_are_independent():
    X, y_class, y_reg = _data(n_rows=600, seed=1)
    jobs = [
        (FastClassifier, y_class, dict(hidden_layer_sizes=(16,), max_iter=6, random_state=i,
                                       solver=("adam", "sgd")[i % 2]))
        for i in range(4)
    ] + [
        (FastRegressor, y_reg, dict(hidden_layer_sizes=(8, 8), max_iter=6, random_state=i,
                                    early_stopping=bool(i % 2)))
        for i in range(4)
    ]
    expected = [_fit(cls(**params), X, y) for cls, y, params in jobs]
    barrier = threading.Barrier(len(jobs))

    def run(job):
        cls, y, params = job
        barrier.wait()
        return _fit(cls(**params), X, y)

    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(run, jobs))
    for got, want in zip(results, expected):
        for a, b in zip(got.coefs_ + got.intercepts_, want.coefs_ + want.intercepts_):
            assert_array_equal(a, b)
        assert got.loss_curve_ == want.loss_curve_
