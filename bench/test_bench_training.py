"""pytest-benchmark suite: mlpfast against scikit-learn on small workloads.

Run with ``pytest bench/`` (the default test run collects ``tests/`` only).
Every workload of ``workloads.py`` runs in its ``small`` size. Benchmarks of
one workload and measurement share a group, so the report puts mlpfast and
scikit-learn side by side; ``extra_info`` holds epochs and rows, to turn fit
times into seconds per epoch. An implementation that cannot be imported, or
raises ``NotImplementedError`` (mlpfast's L-BFGS for now), is skipped.
"""

from functools import cache

import pytest
import sklearn.neural_network
from call_overhead import CHUNK_ROWS, started_stream
from runners import import_mlpfast, load_implementations
from workloads import WORKLOADS, load_scaled_digits, rows_for_prediction

IMPLEMENTATIONS = {impl.name: impl for impl in load_implementations(("mlpfast", "sklearn"))}
FIT_ROUNDS = 3
PREDICT_ROUNDS = 5
ONE_ROW_ITERATIONS = 50
PREDICT_ROWS = 10_000

workload_names = pytest.mark.parametrize("workload_name", list(WORKLOADS))
implementation_names = pytest.mark.parametrize("implementation_name", list(IMPLEMENTATIONS))


def available_implementation(name):
    """The named implementation; skips the test when it is not importable."""
    implementation = IMPLEMENTATIONS[name]
    if implementation.fit is None:
        pytest.skip(f"{name} {implementation.unavailable}")
    return implementation


@cache
def small_data(workload_name):
    """``(X, y)`` of a workload's small size, made once per session."""
    workload = WORKLOADS[workload_name]
    return workload.make_data(workload.rows.small)


def fit_or_skip(implementation, workload, X, y, epochs):
    """Fit, turning ``NotImplementedError`` into a skip."""
    try:
        return implementation.fit(workload, X, y, epochs)
    except NotImplementedError as exc:
        pytest.skip(f"{implementation.name}: {exc}")


@cache
def fitted_model(implementation_name, workload_name):
    """A model fitted on the small data, made once per session."""
    workload = WORKLOADS[workload_name]
    X, y = small_data(workload_name)
    implementation = available_implementation(implementation_name)
    return fit_or_skip(implementation, workload, X, y, workload.epochs.small)


@workload_names
@implementation_names
def test_fit(benchmark, workload_name, implementation_name):
    implementation = available_implementation(implementation_name)
    workload = WORKLOADS[workload_name]
    X, y = small_data(workload_name)
    epochs = workload.epochs.small
    benchmark.group = f"fit {workload_name}"
    benchmark.extra_info.update(epochs=epochs, rows=X.shape[0])
    model = benchmark.pedantic(
        fit_or_skip, args=(implementation, workload, X, y, epochs), rounds=FIT_ROUNDS
    )
    assert model.n_iter_ >= 1


@workload_names
@implementation_names
def test_predict_one_row(benchmark, workload_name, implementation_name):
    model = fitted_model(implementation_name, workload_name)
    X, _ = small_data(workload_name)
    one_row = X[:1].copy()
    benchmark.group = f"predict 1 row {workload_name}"
    predictions = benchmark.pedantic(
        model.predict, args=(one_row,), rounds=PREDICT_ROUNDS, iterations=ONE_ROW_ITERATIONS
    )
    assert predictions.shape == (1,)


@workload_names
@implementation_names
def test_predict_many_rows(benchmark, workload_name, implementation_name):
    model = fitted_model(implementation_name, workload_name)
    X, _ = small_data(workload_name)
    many_rows = rows_for_prediction(X, PREDICT_ROWS)
    benchmark.group = f"predict {PREDICT_ROWS} rows {workload_name}"
    predictions = benchmark.pedantic(model.predict, args=(many_rows,), rounds=PREDICT_ROUNDS)
    assert predictions.shape == (PREDICT_ROWS,)


@pytest.mark.parametrize("implementation_name", ["mlpfast", "sklearn"])
def test_partial_fit_call(benchmark, implementation_name):
    # One call of a stream of 200-row digits chunks: per-call validation and
    # setup weigh as much as the epoch (see call_overhead.py).
    module = import_mlpfast() if implementation_name == "mlpfast" else sklearn.neural_network
    X, y = load_scaled_digits(1797)
    estimator = started_stream(module.MLPClassifier, X, y)
    chunk = slice(CHUNK_ROWS, 2 * CHUNK_ROWS)
    benchmark.group = f"partial_fit {CHUNK_ROWS} rows digits"
    benchmark.pedantic(estimator.partial_fit, args=(X[chunk], y[chunk]),
                       rounds=PREDICT_ROUNDS, iterations=ONE_ROW_ITERATIONS)
    # every benchmarked call trained on its chunk (pedantic may add a call of its own)
    assert estimator.t_ > CHUNK_ROWS * PREDICT_ROUNDS * ONE_ROW_ITERATIONS
    assert estimator.t_ % CHUNK_ROWS == 0
