"""The forward pass of one dense row: products without BLAS, large ones in halves.

A one-row pass (``_kernels.forward`` or ``forward_few_rows`` on one dense
row) computes each layer's product with ``row_times_matrix`` (each output
summed over the inner index in order from 0), the product of a layer whose
weights reach ``SPLIT_MIN_BYTES`` (512 KiB) as two such sums over the halves
of the inner index, added, the second half on a ``ThreadTeam``'s helper when
one is given, and leaves layers of ``ONE_ROW_BLAS_MIN_BYTES`` (2 MiB) or more
to BLAS, as before.  What is checked here:

* against an independent reference: the same network in float64 numpy,
  within a bound on the rounding of each float32 or float64 sum (the size of
  the terms summed, not of the result);
* the thread does not matter: with a team, without one, with a helper asleep
  or another call holding the shared team, the same bits;
* ``forward_few_rows`` and ``forward`` agree to the bit, through the
  estimators' ``predict_proba`` / ``predict`` and their general path;
* ``_threads.one_row_team``'s policy: the shared team when more than one
  thread may run and no fit holds it, else None;
* the flat weight vector starts on a cache line however a model got it, and
  weights elsewhere (one element off) give the same checked results.

The kernel's bits on every SIMD path are checked in tests/c/platform_smoke.c
(against the plain loop) and tests/test_dispatch_paths.py (whole models).
"""
import pickle
import threading
import time
import warnings

import numpy as np
import pytest
from conftest import fit_quiet
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SklearnClassifier

import mlpfast
from mlpfast import MLPClassifier, MLPRegressor, _kernels, _threads

# Layer widths (input first).  784 x 256 is split in both dtypes (784 KiB
# and 1.5 MiB); 256 x 256 float32 is 256 KiB (under the threshold) and 512
# KiB in float64 (at it); 301 x 437 leaves remainders everywhere (odd inner
# size, columns not a multiple of a vector, rows one element apart in
# alignment); 784 x 1024 (3 and 6 MiB) goes to BLAS, 1024 x 10 to the loop.
NETWORKS = {
    "784-256-128": (784, 256, 128),
    "256-256-10": (256, 256, 10),
    "301-437-3": (301, 437, 3),
    "784-1024-10": (784, 1024, 10),
}


def fitted_regressor(widths, dtype, activation="relu"):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, widths[0])).astype(dtype)
    y = rng.standard_normal((64, widths[-1])).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPRegressor(hidden_layer_sizes=widths[1:-1], activation=activation,
                             max_iter=2, random_state=0).fit(X, y)
    return model, rng.standard_normal((5, widths[0])).astype(dtype)


def rounding_bound(model, row, dtype):
    """The regressor's output for one row in float64 numpy from its own
    (rounded) weights, and a bound on the rounding error of a pass in dtype.

    Each product sum of n terms rounds with an error of at most n * u times
    the sum of the terms' magnitudes (u: the dtype's unit roundoff; two
    halves added are one more rounding, n + 1); the bias adds one rounding
    of the result's size, the activation at most another; ReLU passes errors
    on unchanged or drops them; the next layer carries the errors of its
    inputs through |W|.
    """
    u = np.finfo(dtype).eps / 2
    a = row.astype(np.float64)
    error = np.zeros_like(a)
    for index, (coef, intercept) in enumerate(zip(model.coefs_, model.intercepts_)):
        W, b = coef.astype(np.float64), intercept.astype(np.float64)
        z = a @ W + b
        terms = np.abs(a) @ np.abs(W)
        error = error @ np.abs(W) + (W.shape[0] + 1) * u * terms + 2 * u * np.abs(z)
        a = z if index == len(model.coefs_) - 1 else np.maximum(z, 0)
    return a, error


def reference_with_bound(model, row):
    """The float64 reference and how far a pass in the model's dtype may be
    from it: the pass's rounding bound plus the reference's own (float64)."""
    expected, own = rounding_bound(model, row, model.coefs_[0].dtype)
    return expected, own + rounding_bound(model, row, np.float64)[1]


def off_the_line(params):
    """A copy of params starting one element past a 16-byte boundary: never on a
    cache line, as a vector from elsewhere than mlpfast may start."""
    buffer = np.empty(params.shape[0] + 1, dtype=params.dtype)
    buffer[1:] = params
    return buffer[1:]


@pytest.mark.parametrize("placed", ["aligned", "off the line"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("network", NETWORKS)
def test_one_row_pass_is_the_float64_reference_to_rounding(network, dtype, placed):
    model, rows = fitted_regressor(NETWORKS[network], dtype)
    params = model._params if placed == "aligned" else off_the_line(model._params)
    team = _kernels.ThreadTeam(1)
    try:
        for row in rows:
            row = row[None, :]
            expected, bound = reference_with_bound(model, row)
            got = _kernels.forward_few_rows(model._network(), row, params, threads=team)
            assert got.dtype == dtype
            assert np.all(np.abs(got - expected) <= bound), (got - expected, bound)
    finally:
        team.close()


@pytest.mark.parametrize("placed", ["aligned", "off the line"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("network", NETWORKS)
def test_the_threads_change_no_bit(network, dtype, placed):
    model, rows = fitted_regressor(NETWORKS[network], dtype, activation="tanh")
    network_ = model._network()
    params = model._params if placed == "aligned" else off_the_line(model._params)
    team = _kernels.ThreadTeam(1)
    try:
        for row in rows:
            row = np.ascontiguousarray(row[None, :])
            alone = _kernels.forward_few_rows(network_, row, params)
            # Back to back (the helper polls), after it fell asleep (its part
            # runs here), through forward's own path.
            for _ in range(3):
                assert_array_equal(_kernels.forward_few_rows(network_, row, params,
                                                             threads=team), alone)
            time.sleep(0.01)
            assert_array_equal(_kernels.forward_few_rows(network_, row, params,
                                                         threads=team), alone)
            assert_array_equal(_kernels.forward(network_, row, params, threads=team), alone)
            assert_array_equal(_kernels.forward(network_, row, params), alone)
    finally:
        team.close()


def test_split_layers_follow_the_size_of_their_weights():
    model32, _ = fitted_regressor(NETWORKS["256-256-10"], np.float32)
    network = model32._network()
    # 256 x 256 weights: 256 KiB in float32, under SPLIT_MIN_BYTES (512 KiB),
    # and 512 KiB in float64.
    assert not network.splits_one_row(4)
    assert network.splits_one_row(8)
    wide, _ = fitted_regressor(NETWORKS["784-256-128"], np.float32)
    assert wide._network().splits_one_row(4)
    # 784 x 1024 from ONE_ROW_BLAS_MIN_BYTES (2 MiB) on: BLAS, no halves.
    widest, _ = fitted_regressor(NETWORKS["784-1024-10"], np.float32)
    assert not widest._network().splits_one_row(4)
    assert not widest._network().splits_one_row(8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_row_matches_more_rows_to_rounding(dtype):
    # Two rows go through BLAS's products (another order of summation): equal
    # to rounding, which the reference bound covers for both.
    model, rows = fitted_regressor(NETWORKS["784-256-128"], dtype)
    both = _kernels.forward(model._network(), rows[:2], model._params)
    for i in range(2):
        expected, bound = reference_with_bound(model, rows[i:i + 1])
        one = _kernels.forward(model._network(), rows[i:i + 1], model._params)
        assert np.all(np.abs(one - expected) <= bound)
        assert np.all(np.abs(both[i] - expected) <= bound)


@pytest.fixture
def classifier():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((120, 784)).astype(np.float32)
    y = rng.integers(0, 4, 120)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(hidden_layer_sizes=(256,), max_iter=2, random_state=0).fit(X, y)
    return model, X


def test_estimator_one_row_fast_path_equals_its_general_path(classifier):
    model, X = classifier
    assert model._network().splits_one_row(X.itemsize)
    for i in range(4):
        row = np.ascontiguousarray(X[i:i + 1])
        proba = model.predict_proba(row)
        # forward's general path on the same row: the same kernels, so the
        # same bits.
        general = _kernels.forward(model._network(), row, model._params)
        assert_array_equal(proba, general)
        assert_array_equal(model.predict(row), model.classes_[np.argmax(general, axis=1)])
    assert not _threads._shared_team_in_use   # given back after each call


@pytest.fixture
def fresh_one_row_check(monkeypatch):
    """one_row_team reads threads_available() again at its next call."""
    monkeypatch.setattr(_threads, "_one_row_threads", (-np.inf, False))


def test_one_row_team_is_the_shared_team_when_threads_may_run(monkeypatch,
                                                            fresh_one_row_check):
    monkeypatch.setenv(_threads.THREADS_VARIABLE, "2")
    team = _threads.one_row_team()
    try:
        assert isinstance(team, _kernels.ThreadTeam)
        assert team is _threads._shared_team
        assert _threads._shared_team_in_use
        # Held: a second call (another thread's prediction) gets none.
        assert _threads.one_row_team() is None
    finally:
        _threads.release_one_row_team(team)
    assert not _threads._shared_team_in_use
    _threads.release_one_row_team(None)   # nothing to give back


def test_one_row_team_is_none_on_one_thread(monkeypatch, fresh_one_row_check):
    monkeypatch.setenv(_threads.THREADS_VARIABLE, "1")
    assert _threads.one_row_team() is None
    # Read again only after ONE_ROW_RECHECK_SECONDS.
    monkeypatch.setenv(_threads.THREADS_VARIABLE, "2")
    assert _threads.one_row_team() is None
    monkeypatch.setattr(_threads, "_one_row_threads", (time.monotonic() - 1, False))
    team = _threads.one_row_team()
    assert team is not None
    _threads.release_one_row_team(team)


def test_one_row_team_is_none_while_a_fit_holds_it(monkeypatch, fresh_one_row_check):
    monkeypatch.setenv(_threads.THREADS_VARIABLE, "2")
    team, shared = _threads._acquire_team(1)
    try:
        assert shared
        assert _threads.one_row_team() is None
    finally:
        _threads._release_team(team, shared)


def test_predictions_from_threads_at_once_are_each_alone_or_on_the_team(classifier):
    # Several Python threads predicting one row at a time: one may hold the
    # team, the others run their halves in turn; every answer has the bits
    # of the one-thread pass.
    model, X = classifier
    rows = [np.ascontiguousarray(X[i:i + 1]) for i in range(8)]
    expected = [_kernels.forward(model._network(), row, model._params) for row in rows]
    failures = []

    def predict_many(offset):
        for repeat in range(200):
            i = (offset + repeat) % len(rows)
            if not np.array_equal(model.predict_proba(rows[i]), expected[i]):
                failures.append(i)

    threads = [threading.Thread(target=predict_many, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert not _threads._shared_team_in_use


def starts_on_a_line(model):
    return model._params.ctypes.data % 64 == 0


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_weights_start_on_a_cache_line_however_they_came(solver, tmp_path):
    # Every way a model gets its flat vector: a fit, weights set by hand,
    # unpickling, loading a file, conversion from scikit-learn.
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((60, 7)), rng.integers(0, 3, 60)
    model = fit_quiet(MLPClassifier(hidden_layer_sizes=(5,), solver=solver, max_iter=3,
                                    random_state=0), X, y)
    reference = fit_quiet(SklearnClassifier(hidden_layer_sizes=(5,), max_iter=3,
                                            random_state=0), X, y)
    assert starts_on_a_line(model)

    unpickled = pickle.loads(pickle.dumps(model))
    assert starts_on_a_line(unpickled)
    assert_array_equal(unpickled.predict_proba(X), model.predict_proba(X))

    mlpfast.save(model, tmp_path / "model.mlpf")
    assert starts_on_a_line(mlpfast.load(tmp_path / "model.mlpf"))
    assert starts_on_a_line(mlpfast.from_sklearn(reference))

    by_hand = fit_quiet(clone(model), X, y)
    by_hand.coefs_ = [off_the_line(coef.ravel()).reshape(coef.shape) for coef in model.coefs_]
    by_hand.predict(X)
    assert starts_on_a_line(by_hand)


def test_unpickled_early_stopping_model_keeps_its_snapshot_as_its_weights():
    # After an early-stopping fit the best weights are the weights themselves
    # (one object): moving the unpickled vector onto a cache line keeps that.
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((80, 7)), rng.integers(0, 3, 80)
    model = fit_quiet(MLPClassifier(hidden_layer_sizes=(5,), early_stopping=True, max_iter=5,
                                    random_state=0), X, y)
    assert model._best_params is model._params
    unpickled = pickle.loads(pickle.dumps(model))
    assert unpickled._best_params is unpickled._params
    assert starts_on_a_line(unpickled)
