"""Numerical parity of mlpfast with scikit-learn's MLPClassifier / MLPRegressor.

Promise: a fit with the same parameters and ``random_state`` gives ``coefs_``
and ``intercepts_`` within rtol 1e-9 (float64; float32: rtol 1e-4) of
scikit-learn's, identical predicted labels, and equal ``loss_curve_``,
``n_iter_``, ``t_``, ``best_loss_`` and ``validation_scores_``.

The grids combine axes (rotating the cheap binary axes such as shuffle /
early_stopping through the others) instead of taking the full Cartesian
product, so every value of every axis is exercised with every task and solver
while the file stays fast.
"""

import copy
import io
import itertools
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from conftest import (
    ALL_TASKS,
    ATOL32,
    ATOL64,
    RTOL32,
    RTOL64,
    SkMLPClassifier,
    SkMLPRegressor,
    FastClassifier,
    FastRegressor,
    assert_fitted_close,
    assert_predictions_close,
    assert_weights_close,
    engine_only,
    estimator_pair,
    fit_both,
    fit_quiet,
    is_classification,
    make_data,
)

import mlpfast
from mlpfast._activations import SKLEARN_HIDDEN_ACTIVATIONS

ACTIVATIONS = SKLEARN_HIDDEN_ACTIVATIONS

SOLVERS = {
    "adam": dict(solver="adam", learning_rate_init=0.01),
    "sgd-nesterov0.9": dict(solver="sgd", momentum=0.9, nesterovs_momentum=True,
                            learning_rate_init=0.02),
    "sgd-classic0.9": dict(solver="sgd", momentum=0.9, nesterovs_momentum=False,
                           learning_rate_init=0.02),
    "sgd-nesterov0": dict(solver="sgd", momentum=0.0, nesterovs_momentum=True,
                          learning_rate_init=0.05),
    "sgd-classic0": dict(solver="sgd", momentum=0.0, nesterovs_momentum=False,
                         learning_rate_init=0.05),
}

BASE = dict(hidden_layer_sizes=(10, 6), batch_size=32, max_iter=5,
            validation_fraction=0.2, random_state=7)


def _params(**overrides):
    p = dict(BASE)
    p.update(overrides)
    return p


def _check(task, params, dtype=np.float64, data_seed=0):
    X, y = make_data(task, dtype=dtype, seed=data_seed)
    fast, ref = fit_both(task, params, X, y)
    if dtype == np.float32:
        for arr in fast.coefs_ + fast.intercepts_:
            assert arr.dtype == np.float32
        assert_fitted_close(fast, ref, X, rtol=RTOL32, atol=ATOL32)
    else:
        for arr in fast.coefs_ + fast.intercepts_:
            assert arr.dtype == np.float64
        assert_fitted_close(fast, ref, X, rtol=RTOL64, atol=ATOL64)
    return fast, ref


# --------------------------------------------------------------------------
# main grid: solver x activation x task; shuffle / early_stopping rotated so
# that, for each (solver, task), the 4 activations cover all 4 combinations.
# --------------------------------------------------------------------------


def _main_grid():
    cases = []
    for (s, solver), (t, task), (a, act) in itertools.product(
        enumerate(SOLVERS), enumerate(ALL_TASKS), enumerate(ACTIVATIONS)
    ):
        shuffle = a % 2 == 0
        early = (a // 2 + s + t) % 2 == 1
        cases.append(pytest.param(
            solver, task, act, shuffle, early,
            id=f"{solver}-{task}-{act}-{'shuf' if shuffle else 'noshuf'}-"
               f"{'es' if early else 'noes'}",
        ))
    return cases


@pytest.mark.parametrize("solver, task, activation, shuffle, early_stopping", _main_grid())
def test_parity_main_grid(solver, task, activation, shuffle, early_stopping):
    params = _params(activation=activation, shuffle=shuffle,
                     early_stopping=early_stopping, **SOLVERS[solver])
    _check(task, params)


@pytest.mark.parametrize("task", ALL_TASKS)
@pytest.mark.parametrize("solver", ["adam", "sgd-nesterov0.9"])
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("early_stopping", [True, False])
def test_parity_task_shuffle_early_stopping(task, solver, shuffle, early_stopping):
    params = _params(activation="tanh", hidden_layer_sizes=(12,), shuffle=shuffle,
                     early_stopping=early_stopping, **SOLVERS[solver])
    _check(task, params, data_seed=2)


# --------------------------------------------------------------------------
# learning-rate schedules (sgd)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["multiclass", "reg2", "binary"])
@pytest.mark.parametrize("solver", ["sgd-nesterov0.9", "sgd-classic0.9", "sgd-classic0"])
@pytest.mark.parametrize("power_t", [0.5, 0.25])
def test_parity_invscaling(task, solver, power_t):
    params = _params(activation="relu", learning_rate="invscaling", power_t=power_t,
                     max_iter=6, **SOLVERS[solver])
    params["learning_rate_init"] = 0.2
    _check(task, params)


@pytest.mark.parametrize("task", ["multiclass", "reg1", "multilabel"])
@pytest.mark.parametrize("solver", ["sgd-nesterov0.9", "sgd-classic0"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_parity_adaptive_rate_shrinks(task, solver, early_stopping):
    # tol is huge, so no epoch counts as an improvement: every
    # n_iter_no_change + 1 epochs the rate is divided by 5, until it falls
    # below 1e-6 and training stops ("Learning rate too small").
    params = _params(activation="tanh", learning_rate="adaptive", tol=10.0,
                     n_iter_no_change=1, max_iter=30, early_stopping=early_stopping,
                     **SOLVERS[solver])
    fast, ref = _check(task, params)
    # preconditions on the reference run: the schedule really did something
    assert ref._optimizer.learning_rate < params["learning_rate_init"]
    assert ref.n_iter_ < params["max_iter"]


# --------------------------------------------------------------------------
# batch sizes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 7, 50, "auto", 150, 149])
@pytest.mark.parametrize("task, solver, early_stopping", [
    ("binary", "adam", False),
    ("reg2", "sgd-nesterov0.9", False),
    ("multiclass", "sgd-classic0.9", True),
])
def test_parity_batch_sizes(batch_size, task, solver, early_stopping):
    # 150 rows: 7 does not divide n, 149 leaves a 1-row batch, 'auto' = n.
    params = _params(activation="relu", batch_size=batch_size, max_iter=3,
                     early_stopping=early_stopping, **SOLVERS[solver])
    _check(task, params)


@pytest.mark.parametrize("task, solver, early_stopping", [
    ("binary", "adam", False),
    ("reg1", "sgd-nesterov0.9", False),
    ("multiclass", "adam", True),   # clipped against n_train after the split
])
def test_parity_batch_size_larger_than_n(task, solver, early_stopping):
    params = _params(activation="logistic", batch_size=500,
                     early_stopping=early_stopping, **SOLVERS[solver])
    X, y = make_data(task)
    fast_cls, ref_cls = estimator_pair(task)
    msg = "Got `batch_size` less than 1 or larger than sample size"
    with pytest.warns(UserWarning, match=msg):
        fast = fit_quiet(fast_cls(**params), X, y)
    with pytest.warns(UserWarning, match=msg):
        ref = fit_quiet(ref_cls(**params), X, y)
    assert_fitted_close(fast, ref, X)


# --------------------------------------------------------------------------
# architectures and regularisation
# --------------------------------------------------------------------------

HIDDEN_CASES = [
    ((1,), "relu", "binary", "adam"),
    ((20,), "logistic", "multiclass", "sgd-nesterov0.9"),
    ((8, 1), "tanh", "reg2", "sgd-classic0.9"),
    ((1, 5), "identity", "multilabel", "adam"),
    ((6, 4, 3), "relu", "reg1", "sgd-classic0"),
    ((5, 1, 4), "tanh", "multiclass", "adam"),
    ((7, 5, 3), "logistic", "binary", "sgd-nesterov0.9"),
    ([9, 4, 2], "identity", "reg2", "adam"),      # list instead of tuple
    (6, "relu", "multilabel", "sgd-nesterov0.9"),  # int instead of sequence
]


@pytest.mark.parametrize(
    "hidden, activation, task, solver", HIDDEN_CASES,
    ids=[f"{h}-{a}-{t}-{s}" for h, a, t, s in HIDDEN_CASES],
)
def test_parity_hidden_layer_sizes(hidden, activation, task, solver):
    params = _params(hidden_layer_sizes=hidden, activation=activation, **SOLVERS[solver])
    _check(task, params)


@pytest.mark.parametrize("task", ["binary", "reg1"])
def test_parity_no_hidden_layer(task):
    # scikit-learn accepts hidden_layer_sizes=() (a linear / logistic model)
    params = _params(hidden_layer_sizes=(), **SOLVERS["adam"])
    fast, ref = _check(task, params)
    assert fast.n_layers_ == 2


@pytest.mark.parametrize("alpha", [0.0, 1e-2, 1.0])
@pytest.mark.parametrize("task", ["multiclass", "reg1", "multilabel"])
@pytest.mark.parametrize("solver", ["adam", "sgd-nesterov0.9"])
def test_parity_alpha(alpha, task, solver):
    params = _params(activation="relu", alpha=alpha, **SOLVERS[solver])
    _check(task, params)


@pytest.mark.parametrize("task", ["binary", "reg2"])
def test_parity_adam_betas_epsilon(task):
    params = _params(activation="tanh", beta_1=0.5, beta_2=0.9, epsilon=1e-4,
                     learning_rate_init=0.03, solver="adam")
    _check(task, params)


# --------------------------------------------------------------------------
# float32 input
# --------------------------------------------------------------------------


def _float32_grid():
    solvers = ["adam", "sgd-nesterov0.9", "sgd-classic0"]
    cases = []
    for (s, solver), (t, task), (a, act) in itertools.product(
        enumerate(solvers), enumerate(ALL_TASKS), enumerate(ACTIVATIONS)
    ):
        if (s + t + a) % 2:  # half of the grid: every pair of axes still covered
            continue
        early = (s + t) % 2 == 1
        shuffle = a < 2
        cases.append(pytest.param(
            solver, task, act, shuffle, early,
            id=f"{solver}-{task}-{act}-{'shuf' if shuffle else 'noshuf'}-"
               f"{'es' if early else 'noes'}",
        ))
    return cases


@pytest.mark.parametrize("solver, task, activation, shuffle, early_stopping", _float32_grid())
def test_parity_float32(solver, task, activation, shuffle, early_stopping):
    params = _params(activation=activation, shuffle=shuffle,
                     early_stopping=early_stopping, **SOLVERS[solver])
    fast, ref = _check(task, params, dtype=np.float32)
    X, _ = make_data(task, dtype=np.float32)
    if not is_classification(task):
        assert fast.predict(X).dtype == np.float32


@pytest.mark.parametrize("task", ["multiclass", "reg1"])
@pytest.mark.parametrize("learning_rate", ["invscaling", "adaptive"])
def test_parity_float32_schedules(task, learning_rate):
    params = _params(activation="relu", learning_rate=learning_rate, tol=10.0,
                     n_iter_no_change=1, max_iter=8, **SOLVERS["sgd-nesterov0.9"])
    _check(task, params, dtype=np.float32)


# --------------------------------------------------------------------------
# random_state variants
# --------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["binary", "reg2"])
def test_parity_random_state_instance(task):
    # A RandomState instance is used as is; its state carries across calls.
    X, y = make_data(task)
    fast_cls, ref_cls = estimator_pair(task)
    params = _params(activation="relu", warm_start=True, **SOLVERS["adam"])
    fast = fast_cls(**{**params, "random_state": np.random.RandomState(3)})
    ref = ref_cls(**{**params, "random_state": np.random.RandomState(3)})
    for _ in range(2):
        fit_quiet(fast, X, y)
        fit_quiet(ref, X, y)
        assert_fitted_close(fast, ref, X)
    # the generators were advanced identically
    assert (fast.random_state.randint(2**31) == ref.random_state.randint(2**31))


@pytest.mark.parametrize("task", ["multiclass", "reg1"])
def test_parity_random_state_none_uses_global_rng(task):
    X, y = make_data(task)
    fast_cls, ref_cls = estimator_pair(task)
    params = _params(activation="tanh", random_state=None, early_stopping=True,
                     **SOLVERS["sgd-nesterov0.9"])
    state = np.random.get_state()
    try:
        np.random.seed(12345)
        fast = fit_quiet(fast_cls(**params), X, y)
        after_fast = np.random.randint(2**31)
        np.random.seed(12345)
        ref = fit_quiet(ref_cls(**params), X, y)
        after_ref = np.random.randint(2**31)
    finally:
        np.random.set_state(state)
    assert_fitted_close(fast, ref, X)
    assert after_fast == after_ref


# --------------------------------------------------------------------------
# partial_fit streams
# --------------------------------------------------------------------------

PARTIAL_CASES = [
    ("binary", "adam", True, "int"),
    ("multiclass", "sgd-nesterov0.9", True, "int"),
    ("multiclass", "adam", False, "instance"),
    ("multilabel", "sgd-classic0.9", True, "int"),
    ("reg1", "adam", True, "instance"),
    ("reg2", "sgd-nesterov0.9", False, "int"),
    ("reg1", "sgd-classic0", True, "int"),
]


@pytest.mark.parametrize("task, solver, shuffle, seed_kind", PARTIAL_CASES)
def test_parity_partial_fit_stream(task, solver, shuffle, seed_kind):
    X, y = make_data(task, n_samples=180)
    fast_cls, ref_cls = estimator_pair(task)
    params = _params(activation="relu", shuffle=shuffle, batch_size=16, **SOLVERS[solver])
    params.pop("max_iter")
    if seed_kind == "instance":
        fast = fast_cls(**{**params, "random_state": np.random.RandomState(5)})
        ref = ref_cls(**{**params, "random_state": np.random.RandomState(5)})
    else:
        fast, ref = fast_cls(**params), ref_cls(**params)
    chunks = [slice(0, 70), slice(70, 120), slice(120, 180)]
    for k, sl in enumerate(chunks):
        kwargs = {}
        if k == 0 and task in ("binary", "multiclass"):
            kwargs["classes"] = np.unique(y)
        elif k == 0 and task == "multilabel":
            kwargs["classes"] = np.arange(y.shape[1])
        fast.partial_fit(X[sl], y[sl], **kwargs)
        ref.partial_fit(X[sl], y[sl], **kwargs)
        assert fast.n_iter_ == ref.n_iter_ == 1
        assert_fitted_close(fast, ref, X)


@pytest.mark.parametrize("task, solver", [("multiclass", "adam"), ("reg2", "sgd-nesterov0.9")])
def test_parity_partial_fit_after_fit(task, solver):
    # partial_fit after fit continues the fitted optimizer
    X, y = make_data(task)
    params = _params(activation="tanh", max_iter=3, **SOLVERS[solver])
    fast, ref = fit_both(task, params, X, y)
    for sl in (slice(0, 90), slice(90, 150)):
        fast.partial_fit(X[sl], y[sl])
        ref.partial_fit(X[sl], y[sl])
        assert_fitted_close(fast, ref, X)


def test_parity_partial_fit_classes_superset_of_first_chunk():
    # the first chunk lacks class 2, which is announced through `classes`
    X, y = make_data("multiclass")
    order = np.argsort(y == 2, kind="stable")
    X, y = X[order], y[order]
    params = _params(activation="relu", **SOLVERS["adam"])
    params.pop("max_iter")
    fast, ref = FastClassifier(**params), SkMLPClassifier(**params)
    for k, sl in enumerate([slice(0, 60), slice(60, 150)]):
        kwargs = {"classes": np.array([0, 1, 2])} if k == 0 else {}
        fast.partial_fit(X[sl], y[sl], **kwargs)
        ref.partial_fit(X[sl], y[sl], **kwargs)
        assert_fitted_close(fast, ref, X)


# --------------------------------------------------------------------------
# warm start
# --------------------------------------------------------------------------


@pytest.mark.parametrize("task, solver, early_stopping", [
    ("binary", "adam", False),
    ("multiclass", "sgd-nesterov0.9", True),
    ("multilabel", "adam", True),
    ("reg2", "sgd-classic0.9", False),
    ("reg1", "adam", True),
])
def test_parity_warm_start_refit(task, solver, early_stopping):
    X, y = make_data(task)
    fast_cls, ref_cls = estimator_pair(task)
    params = _params(activation="relu", warm_start=True, max_iter=3,
                     early_stopping=early_stopping, **SOLVERS[solver])
    fast, ref = fast_cls(**params), ref_cls(**params)
    fit_quiet(fast, X, y)
    fit_quiet(ref, X, y)
    assert_fitted_close(fast, ref, X)
    # second fit: continues from the current weights, different rows and max_iter
    fast.set_params(max_iter=4)
    ref.set_params(max_iter=4)
    fit_quiet(fast, X[20:], y[20:])
    fit_quiet(ref, X[20:], y[20:])
    assert_fitted_close(fast, ref, X)
    assert len(ref.loss_curve_) == 7  # accumulated over both fits


@pytest.mark.parametrize("task", ["multiclass", "reg1"])
def test_parity_refit_without_warm_start_reinitialises(task):
    X, y = make_data(task)
    params = _params(activation="tanh", **SOLVERS["adam"])
    fast, ref = fit_both(task, params, X, y)
    fit_quiet(fast, X[::-1], y[::-1])
    fit_quiet(ref, X[::-1], y[::-1])
    assert_fitted_close(fast, ref, X)


# --------------------------------------------------------------------------
# warm start after early stopping: the best-weights snapshot
# --------------------------------------------------------------------------
# scikit-learn ends an early-stopping fit with ``coefs_ = _best_coefs``: its
# snapshot is then the live weights, which later training moves in place. A
# warm-start fit that finds no better validation score (best_validation_score_
# carries over) therefore ends on its last epoch, not on the earlier best.

# (task, solver, learning-rate factor, random_state, the refit finds a new best)
WARM_EARLY_STOPPING = [
    ("binary", "adam", 1, 0, False),
    ("binary", "adam", 1, 2, True),
    ("multiclass", "adam", 10, 0, False),
    ("multiclass", "sgd-nesterov0.9", 3, 2, False),
    ("multilabel", "sgd-nesterov0.9", 1, 0, False),
    ("reg1", "adam", 10, 4, False),
    ("reg1", "adam", 1, 0, True),
    ("reg2", "sgd-nesterov0.9", 3, 7, False),
]

# Cases whose refit finds no new best, where the snapshot's aliasing decides.
NO_NEW_BEST = [("multiclass", "adam", 10, 0), ("reg1", "adam", 10, 4)]


def _warm_early_stopping_params(solver, rate_factor, seed, **overrides):
    params = _params(activation="relu", warm_start=True, early_stopping=True, max_iter=3,
                     random_state=seed, **SOLVERS[solver])
    params["learning_rate_init"] *= rate_factor
    params.update(overrides)
    return params


def _refit_both(fast, ref, X, y):
    """A warm-start fit of both; True when it found a better validation score."""
    best_before = ref.best_validation_score_
    fit_quiet(fast, X, y)
    fit_quiet(ref, X, y)
    assert_fitted_close(fast, ref, X)
    return ref.best_validation_score_ > best_before


@pytest.mark.parametrize("task, solver, rate_factor, seed, new_best", WARM_EARLY_STOPPING)
def test_parity_warm_start_after_early_stopping(task, solver, rate_factor, seed, new_best):
    X, y = make_data(task)
    params = _warm_early_stopping_params(solver, rate_factor, seed)
    fast, ref = fit_both(task, params, X, y)
    assert_fitted_close(fast, ref, X)

    assert _refit_both(fast, ref, X, y) == new_best  # precondition
    _refit_both(fast, ref, X, y)  # continues from whichever weights the refit ended on
    assert len(ref.validation_scores_) == 9


def _pickle_round_trip(estimator):
    return pickle.loads(pickle.dumps(estimator))


@pytest.mark.parametrize("copy_model", [_pickle_round_trip, copy.deepcopy],
                         ids=["pickle", "deepcopy"])
@pytest.mark.parametrize("task, solver, rate_factor, seed", NO_NEW_BEST)
def test_parity_warm_start_after_early_stopping_and_copy(task, solver, rate_factor, seed,
                                                         copy_model):
    # Pickling keeps scikit-learn's aliasing: coefs_ and _best_coefs are one
    # list, stored once.
    X, y = make_data(task)
    params = _warm_early_stopping_params(solver, rate_factor, seed)
    fast, ref = fit_both(task, params, X, y)
    fast, ref = copy_model(fast), copy_model(ref)
    assert not _refit_both(fast, ref, X, y)  # precondition: no new best
    fast, ref = copy_model(fast), copy_model(ref)
    _refit_both(fast, ref, X, y)


@engine_only
@pytest.mark.parametrize("task, solver, rate_factor, seed", NO_NEW_BEST)
def test_parity_warm_start_after_early_stopping_and_save_load(task, solver, rate_factor, seed):
    # scikit-learn has no model files: its counterpart of save + load is pickle.
    X, y = make_data(task)
    params = _warm_early_stopping_params(solver, rate_factor, seed)
    fast, ref = fit_both(task, params, X, y)
    file = io.BytesIO()
    mlpfast.save(fast, file)
    file.seek(0)
    fast, ref = mlpfast.load(file), _pickle_round_trip(ref)
    assert not _refit_both(fast, ref, X, y)


@pytest.mark.parametrize("task", ["multiclass", "reg1"])
def test_parity_partial_fit_after_early_stopping(task):
    X, y = make_data(task)
    solver, rate_factor, seed = {"multiclass": ("adam", 10, 0), "reg1": ("adam", 10, 4)}[task]
    fast, ref = fit_both(task, _warm_early_stopping_params(solver, rate_factor, seed), X, y)
    for est in (fast, ref):
        with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
            est.partial_fit(X, y)
    assert_fitted_close(fast, ref, X)
    # With early stopping switched off, scikit-learn trains one epoch (moving
    # the aliased snapshot) before the stopping rule fails on best_loss_=None.
    for est in (fast, ref):
        est.set_params(early_stopping=False)
        with pytest.raises(TypeError):
            est.partial_fit(X, y)
    assert_fitted_close(fast, ref, X)
    for est in (fast, ref):
        est.set_params(early_stopping=True)
    assert not _refit_both(fast, ref, X, y)  # precondition: no new best


@pytest.mark.parametrize("task, solver, rate_factor, seed", NO_NEW_BEST)
def test_parity_cold_refit_then_warm_start_after_early_stopping(task, solver, rate_factor,
                                                                seed):
    # A fit without warm_start starts over from a separate snapshot of the new
    # initial weights; its end makes the snapshot the live weights again.
    X, y = make_data(task)
    params = _warm_early_stopping_params(solver, rate_factor, seed, warm_start=False)
    fast, ref = fit_both(task, params, X[::-1], y[::-1])
    fit_quiet(fast, X, y)
    fit_quiet(ref, X, y)
    assert_fitted_close(fast, ref, X)
    for est in (fast, ref):
        est.set_params(warm_start=True)
    assert not _refit_both(fast, ref, X, y)  # precondition: no new best


@pytest.mark.parametrize("task, solver, rate_factor, seed", NO_NEW_BEST)
def test_parity_lbfgs_between_early_stopping_fits(task, solver, rate_factor, seed):
    # scikit-learn's L-BFGS writes its result into the coefs_ list, which is
    # the snapshot's list after an early-stopping fit.
    X, y = make_data(task)
    params = _warm_early_stopping_params(solver, rate_factor, seed)
    fast, ref = fit_both(task, params, X, y)
    for est in (fast, ref):
        est.set_params(solver="lbfgs", max_iter=5)
    fit_quiet(fast, X, y)
    fit_quiet(ref, X, y)
    assert_weights_close(fast, ref)
    for est in (fast, ref):
        est.set_params(solver=solver, max_iter=3)
    _refit_both(fast, ref, X, y)


# --------------------------------------------------------------------------
# stopping rules
# --------------------------------------------------------------------------


@pytest.mark.parametrize("task, solver, extra", [
    ("binary", "adam", dict(tol=0.5, n_iter_no_change=2)),
    ("reg2", "sgd-nesterov0.9", dict(tol=5.0, n_iter_no_change=1)),
    ("multiclass", "adam", dict(learning_rate_init=0.05, n_iter_no_change=3)),
    ("reg1", "sgd-classic0.9", dict(learning_rate_init=0.05, n_iter_no_change=2)),
])
def test_parity_early_stopping_stops_before_max_iter(task, solver, extra):
    params = _params(activation="relu", early_stopping=True, max_iter=60,
                     **{**SOLVERS[solver], **extra})
    fast, ref = _check(task, params)
    assert ref.n_iter_ < params["max_iter"]  # precondition: it did stop early
    assert ref.best_loss_ is None


@pytest.mark.parametrize("solver", ["adam", "sgd-nesterov0.9", "sgd-classic0"])
@pytest.mark.parametrize("task", ["multiclass", "reg1"])
def test_parity_tol_n_iter_no_change_stopping(solver, task):
    params = _params(activation="tanh", tol=10.0, n_iter_no_change=3, max_iter=50,
                     **SOLVERS[solver])
    fast, ref = _check(task, params)
    assert ref.n_iter_ == 5  # n_iter_no_change + 2 epochs


def test_parity_invscaling_tol_stopping():
    params = _params(activation="relu", tol=10.0, n_iter_no_change=2, max_iter=50,
                     learning_rate="invscaling", **SOLVERS["sgd-nesterov0.9"])
    fast, ref = _check("reg2", params)
    assert ref.n_iter_ < 50


def test_parity_natural_convergence():
    # default tol / n_iter_no_change, stops on its own before max_iter
    params = _params(activation="relu", hidden_layer_sizes=(8,), max_iter=300,
                     batch_size=50, learning_rate_init=0.05, solver="adam")
    fast, ref = _check("binary", params)
    assert ref.n_iter_ < params["max_iter"]


# --------------------------------------------------------------------------
# verbose output
# --------------------------------------------------------------------------

VERBOSE_CASES = [
    ("binary", dict(solver="adam")),
    ("multiclass", dict(solver="adam", early_stopping=True, tol=0.5,
                        n_iter_no_change=2, max_iter=20)),
    ("reg1", dict(solver="sgd", learning_rate="adaptive", tol=10.0,
                  n_iter_no_change=1, max_iter=40, learning_rate_init=0.02)),
    ("reg2", dict(solver="sgd", tol=10.0, n_iter_no_change=2, max_iter=20,
                  learning_rate_init=0.02)),
    ("multilabel", dict(solver="sgd", early_stopping=True, learning_rate="adaptive",
                        tol=10.0, n_iter_no_change=1, max_iter=40,
                        learning_rate_init=0.02)),
    ("reg1", dict(solver="adam", verbose=2, max_iter=3)),
]


@pytest.mark.parametrize("task, extra", VERBOSE_CASES)
def test_parity_verbose_output(task, extra, capsys):
    X, y = make_data(task)
    fast_cls, ref_cls = estimator_pair(task)
    params = _params(activation="relu", **{"verbose": True, **extra})
    capsys.readouterr()
    fast = fit_quiet(fast_cls(**params), X, y)
    out_fast = capsys.readouterr().out
    ref = fit_quiet(ref_cls(**params), X, y)
    out_ref = capsys.readouterr().out
    assert out_ref.count("Iteration") == ref.n_iter_  # precondition
    assert out_fast == out_ref
    assert_fitted_close(fast, ref, X)


def test_parity_verbose_partial_fit(capsys):
    X, y = make_data("multiclass")
    params = _params(activation="relu", verbose=True, **SOLVERS["sgd-nesterov0.9"])
    fast, ref = FastClassifier(**params), SkMLPClassifier(**params)
    capsys.readouterr()
    for k, sl in enumerate([slice(0, 75), slice(75, 150)]):
        kw = {"classes": np.unique(y)} if k == 0 else {}
        fast.partial_fit(X[sl], y[sl], **kw)
    out_fast = capsys.readouterr().out
    for k, sl in enumerate([slice(0, 75), slice(75, 150)]):
        kw = {"classes": np.unique(y)} if k == 0 else {}
        ref.partial_fit(X[sl], y[sl], **kw)
    out_ref = capsys.readouterr().out
    assert out_ref  # precondition
    assert out_fast == out_ref


def test_verbose_false_prints_nothing(capsys):
    X, y = make_data("binary")
    capsys.readouterr()
    fit_quiet(FastClassifier(**_params(**SOLVERS["adam"])), X, y)
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------
# prediction methods
# --------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("solver", ["adam", "sgd-nesterov0.9"])
def test_parity_predict_proba_log_proba_score(task, solver):
    X, y = make_data(task)
    X_new, y_new = make_data(task, seed=3)  # same generator, other draw
    params = _params(activation="logistic", max_iter=8, **SOLVERS[solver])
    fast, ref = fit_both(task, params, X, y)
    for Z in (X, X_new, X_new[:1]):
        pf, pr = fast.predict_proba(Z), ref.predict_proba(Z)
        assert pf.shape == pr.shape and pf.dtype == pr.dtype
        assert_allclose(pf, pr, rtol=RTOL64, atol=ATOL64)
        lf, lr = fast.predict_log_proba(Z), ref.predict_log_proba(Z)
        assert lf.shape == lr.shape and lf.dtype == lr.dtype
        assert_allclose(lf, lr, rtol=RTOL64, atol=ATOL64)
        assert_array_equal(fast.predict(Z), ref.predict(Z))
    for Z, t in ((X, y), (X_new, y_new)):
        assert_allclose(fast.score(Z, t), ref.score(Z, t), rtol=RTOL64, atol=ATOL64)
    w = np.linspace(0.5, 2.0, len(y_new))
    assert_allclose(fast.score(X_new, y_new, sample_weight=w),
                    ref.score(X_new, y_new, sample_weight=w), rtol=RTOL64)


@pytest.mark.parametrize("task", ["reg1", "reg2"])
def test_parity_regressor_predict_score(task):
    X, y = make_data(task)
    X_new, y_new = make_data(task, seed=3)
    params = _params(activation="relu", max_iter=8, **SOLVERS["adam"])
    fast, ref = fit_both(task, params, X, y)
    assert_predictions_close(fast, ref, X_new)
    assert_allclose(fast.score(X_new, y_new), ref.score(X_new, y_new), rtol=RTOL64)
    w = np.linspace(0.5, 2.0, len(y_new))
    assert_allclose(fast.score(X_new, y_new, sample_weight=w),
                    ref.score(X_new, y_new, sample_weight=w), rtol=RTOL64)


def test_parity_predict_float32_model_on_float64_input():
    X32, y = make_data("reg1", dtype=np.float32)
    params = _params(activation="tanh", **SOLVERS["adam"])
    fast, ref = fit_both("reg1", params, X32, y)
    X64 = X32.astype(np.float64)
    pf, pr = fast.predict(X64), ref.predict(X64)
    assert pf.dtype == pr.dtype
    assert_allclose(pf, pr, rtol=RTOL32, atol=ATOL32)


# --------------------------------------------------------------------------
# labels
# --------------------------------------------------------------------------

LABEL_SETS = {
    "str3": np.array(["cat", "dog", "emu"]),
    "str2": np.array(["no", "yes"]),
    "object3": np.array(["a", "bb", "ccc"], dtype=object),
    "int-noncontig": np.array([-1, 5, 70]),
    "float-int-valued": np.array([-1.0, 2.0]),
    "bool": np.array([False, True]),
}


@pytest.mark.parametrize("labels", LABEL_SETS, ids=list(LABEL_SETS))
@pytest.mark.parametrize("early_stopping", [False, True])
def test_parity_label_types(labels, early_stopping):
    names = LABEL_SETS[labels]
    task = "multiclass" if len(names) == 3 else "binary"
    X, yi = make_data(task)
    y = names[yi]
    params = _params(activation="relu", early_stopping=early_stopping, **SOLVERS["adam"])
    fast, ref = fit_both(task, params, X, y)
    assert_fitted_close(fast, ref, X)
    assert fast.predict(X).dtype == ref.predict(X).dtype
    assert fast.score(X, y) == ref.score(X, y)


def test_parity_string_labels_partial_fit():
    X, yi = make_data("multiclass")
    y = LABEL_SETS["str3"][yi]
    params = _params(activation="relu", **SOLVERS["sgd-nesterov0.9"])
    fast, ref = FastClassifier(**params), SkMLPClassifier(**params)
    for k, sl in enumerate([slice(0, 50), slice(50, 100), slice(100, 150)]):
        kw = {"classes": ["emu", "cat", "dog"]} if k == 0 else {}
        fast.partial_fit(X[sl], y[sl], **kw)
        ref.partial_fit(X[sl], y[sl], **kw)
    assert_fitted_close(fast, ref, X)


def test_parity_list_inputs():
    X, y = make_data("multiclass")
    params = _params(activation="tanh", **SOLVERS["adam"])
    fast, ref = fit_both("multiclass", params, X.tolist(), y.tolist())
    assert_fitted_close(fast, ref, X)


def test_parity_regression_column_target():
    X, y = make_data("reg1")
    params = _params(activation="relu", **SOLVERS["adam"])
    from sklearn.exceptions import DataConversionWarning
    with pytest.warns(DataConversionWarning):
        fast = fit_quiet(FastRegressor(**params), X, y[:, None])
    with pytest.warns(DataConversionWarning):
        ref = fit_quiet(SkMLPRegressor(**params), X, y[:, None])
    assert_fitted_close(fast, ref, X)
    assert fast.predict(X).shape == (len(y),)


def test_parity_regression_int_target():
    X, y = make_data("reg1")
    y_int = np.round(3 * y).astype(np.int64)
    params = _params(activation="relu", **SOLVERS["sgd-nesterov0.9"])
    fast, ref = fit_both("reg1", params, X, y_int)
    assert_fitted_close(fast, ref, X)


def test_parity_float32_regression_float32_target():
    X, y = make_data("reg2", dtype=np.float32)
    params = _params(activation="relu", **SOLVERS["adam"])
    fast, ref = fit_both("reg2", params, X, y.astype(np.float32))
    assert_fitted_close(fast, ref, X, rtol=RTOL32, atol=ATOL32)
    assert fast.predict(X).dtype == np.float32
