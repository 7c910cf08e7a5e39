"""Parity with scikit-learn for the "complete drop-in" features.

* ``solver='lbfgs'`` (scipy L-BFGS-B on the flat parameter vector),
* ``sample_weight`` in ``fit`` / ``partial_fit`` / ``score`` for every solver,
* sparse input (CSR, CSC, COO, sparse arrays),
* ``MLPRegressor(loss='poisson')``.

Tolerances: stochastic solvers (a few epochs) float64 rtol 1e-9, float32
rtol 1e-4 (conftest); L-BFGS rtol 1e-7.  L-BFGS runs are kept either short
(a handful of iterations, ConvergenceWarning) or on well-conditioned problems
(alpha=1, tol=1e-3): on long, poorly conditioned runs scikit-learn itself
lands on different weights when X is perturbed by 1e-15, so no implementation
with another summation order can promise parity there.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import (
    ALL_TASKS,
    ATOL32,
    ATOL64,
    RTOL32,
    RTOL64,
    FastClassifier,
    FastRegressor,
    SkMLPClassifier,
    SkMLPRegressor,
    assert_fitted_close,
    assert_predictions_close,
    assert_same_warnings,
    assert_structure_equal,
    assert_weights_close,
    estimator_pair,
    fit_quiet,
    is_classification,
    make_data,
)
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split

from mlpfast._activations import SKLEARN_HIDDEN_ACTIVATIONS

RTOL_LBFGS, ATOL_LBFGS = 1e-7, 1e-10
ACTIVATIONS = SKLEARN_HIDDEN_ACTIVATIONS
LBFGS_ONLY_MISSING = ("loss_curve_", "best_loss_", "validation_scores_",
                      "best_validation_score_")

STOCHASTIC = {
    "adam": dict(solver="adam", learning_rate_init=0.01),
    "sgd": dict(solver="sgd", momentum=0.9, nesterovs_momentum=True,
                learning_rate_init=0.02),
}
STOCHASTIC_BASE = dict(hidden_layer_sizes=(8,), activation="tanh", batch_size=32,
                       max_iter=5, random_state=3)
LBFGS_BASE = dict(solver="lbfgs", hidden_layer_sizes=(6,), activation="tanh",
                  max_iter=12, random_state=1)


def _params(solver, **overrides):
    if solver == "lbfgs":
        p = dict(LBFGS_BASE)
    else:
        p = dict(STOCHASTIC_BASE, **STOCHASTIC[solver])
    p.update(overrides)
    return p


def _record(callable_, *args, **kwargs):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        callable_(*args, **kwargs)
    return [(w.category, str(w.message)) for w in record]


def _fit_pair(task, params, X, y, X_ref=None, **fit_params):
    """Fit mlpfast on X and scikit-learn on X_ref (default X); same warnings.

    Returns (fast, ref, ref_warnings).
    """
    fast_cls, ref_cls = estimator_pair(task)
    fast, ref = fast_cls(**params), ref_cls(**params)
    w_fast = _record(fast.fit, X, y, **fit_params)
    w_ref = _record(ref.fit, X if X_ref is None else X_ref, y, **fit_params)
    assert_same_warnings(w_fast, w_ref)
    return fast, ref, w_ref


def _has_convergence_warning(record):
    return any(issubclass(c, ConvergenceWarning) for c, _ in record)


def _assert_lbfgs_close(fast, ref, X, rtol=RTOL_LBFGS, atol=ATOL_LBFGS):
    """Parity of two lbfgs fits: weights, n_iter_, loss_, predictions."""
    assert_structure_equal(fast, ref)
    assert_weights_close(fast, ref, rtol=rtol, atol=atol)
    assert fast.n_iter_ == ref.n_iter_, f"n_iter_ {fast.n_iter_} != {ref.n_iter_}"
    assert fast.t_ == ref.t_ == 0, f"t_ {fast.t_} (sklearn {ref.t_})"
    assert_allclose(float(fast.loss_), float(ref.loss_), rtol=rtol, atol=atol,
                    err_msg="loss_")
    for name in LBFGS_ONLY_MISSING:
        assert not hasattr(fast, name) and not hasattr(ref, name), name
    assert_predictions_close(fast, ref, X, rtol=rtol, atol=atol)


def _assert_close_any_solver(fast, ref, X, solver, dtype=np.float64):
    if solver == "lbfgs":
        # float32 X: scikit-learn's L-BFGS objective runs in float32 (see
        # test_lbfgs_float32_X_gives_float64_params).
        tol = (RTOL32, ATOL32) if dtype == np.float32 else (RTOL_LBFGS, ATOL_LBFGS)
        _assert_lbfgs_close(fast, ref, X, *tol)
    elif dtype == np.float32:
        assert_fitted_close(fast, ref, X, rtol=RTOL32, atol=ATOL32)
    else:
        assert_fitted_close(fast, ref, X, rtol=RTOL64, atol=ATOL64)


def _weights(n, seed=0, low=0.2, high=3.0):
    return np.random.RandomState(seed).uniform(low, high, n)


# ==========================================================================
# L-BFGS
# ==========================================================================


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("task", ALL_TASKS)
def test_lbfgs_short_run_hits_convergence_warning(task, activation):
    # max_iter far too small: same ConvergenceWarning text (checked by
    # _fit_pair), same weights after exactly max_iter iterations.
    alpha = 1e-2 if activation in ("tanh", "relu") else 1e-4
    params = _params("lbfgs", activation=activation, alpha=alpha, max_iter=8)
    X, y = make_data(task)
    fast, ref, w_ref = _fit_pair(task, params, X, y)
    assert _has_convergence_warning(w_ref)
    assert ref.n_iter_ == 8
    _assert_lbfgs_close(fast, ref, X)


def test_lbfgs_convergence_warning_text():
    X, y = make_data("binary")
    params = _params("lbfgs", max_iter=3)
    _, _, w_ref = _fit_pair("binary", params, X, y)
    (category, message), = w_ref
    assert category is ConvergenceWarning
    assert message == (
        "lbfgs failed to converge after 3 iteration(s) (status=1):\n"
        "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT\n\n"
        "Increase the number of iterations to improve the convergence (max_iter=3).\n"
        "You might also want to scale the data as shown in:\n"
        "    https://scikit-learn.org/stable/modules/preprocessing.html"
    )


# Well-conditioned problems (strong L2, tol=1e-3) on which scikit-learn's own
# result is stable under 1e-15 perturbations of X.
CONVERGING = [(t, a) for t in ALL_TASKS for a in ("identity", "logistic", "tanh")
              if (t, a) != ("reg2", "tanh")] + [("reg1", "relu")]


@pytest.mark.parametrize("task, activation", CONVERGING,
                         ids=[f"{t}-{a}" for t, a in CONVERGING])
def test_lbfgs_converges(task, activation):
    params = _params("lbfgs", activation=activation, alpha=1.0, tol=1e-3, max_iter=300)
    X, y = make_data(task)
    fast, ref, w_ref = _fit_pair(task, params, X, y)
    assert w_ref == [] and ref.n_iter_ < 300
    _assert_lbfgs_close(fast, ref, X)


@pytest.mark.parametrize("task", ALL_TASKS)
def test_lbfgs_float32_X_gives_float64_params(task):
    # The fitted params are float64 (scipy's x), but scikit-learn's objective
    # runs in float32: scipy hands it x cast to x0's dtype (float32, the
    # initial weights' dtype), so loss and gradient are float32 computations.
    # Its own result moves by ~4e-4 (relative) after 12 iterations when X is
    # merely made F-ordered; hence float32 tolerances and a short run.
    X, y = make_data(task, dtype=np.float32)
    fast, ref, _ = _fit_pair(task, _params("lbfgs", max_iter=4), X, y)
    for arr in ref.coefs_ + ref.intercepts_:
        assert arr.dtype == np.float64
    _assert_lbfgs_close(fast, ref, X, rtol=RTOL32, atol=ATOL32)  # dtypes compared too


@pytest.mark.parametrize("task", ["multiclass", "reg2"])
def test_lbfgs_warm_start(task):
    X, y = make_data(task)
    params = _params("lbfgs", warm_start=True, max_iter=6)
    fast, ref, _ = _fit_pair(task, params, X, y)
    for _ in range(2):
        w_fast, w_ref = _record(fast.fit, X, y), _record(ref.fit, X, y)
        assert_same_warnings(w_fast, w_ref)
        _assert_lbfgs_close(fast, ref, X)


def test_lbfgs_regressor_partial_fit_runs_full_fit():
    # scikit-learn quirk: MLPRegressor.partial_fit exists for lbfgs and runs
    # a whole (warm-started) L-BFGS fit of max_iter iterations.
    X, y = make_data("reg1")
    params = _params("lbfgs", max_iter=7)
    fast, ref = FastRegressor(**params), SkMLPRegressor(**params)
    for _ in range(2):
        w_fast, w_ref = _record(fast.partial_fit, X, y), _record(ref.partial_fit, X, y)
        assert_same_warnings(w_fast, w_ref)
        assert ref.n_iter_ == 7
        _assert_lbfgs_close(fast, ref, X)


def test_lbfgs_classifier_has_no_partial_fit():
    assert not hasattr(SkMLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(FastClassifier(solver="lbfgs"), "partial_fit")


@pytest.mark.parametrize("task", ["binary", "reg1"])
def test_lbfgs_max_fun(task):
    X, y = make_data(task)
    params = _params("lbfgs", max_iter=50, max_fun=6)
    fast, ref, w_ref = _fit_pair(task, params, X, y)
    assert _has_convergence_warning(w_ref) and ref.n_iter_ < 50
    assert "F,G EVALUATIONS EXCEEDS LIMIT" in w_ref[0][1]
    _assert_lbfgs_close(fast, ref, X)


@pytest.mark.parametrize("hidden", [(), (7, 5)], ids=["no-hidden", "two-hidden"])
@pytest.mark.parametrize("task", ["multilabel", "reg1"])
def test_lbfgs_layouts(task, hidden):
    X, y = make_data(task)
    fast, ref, _ = _fit_pair(task, _params("lbfgs", hidden_layer_sizes=hidden), X, y)
    _assert_lbfgs_close(fast, ref, X)


# ==========================================================================
# sample_weight
# ==========================================================================

SOLVERS = ("sgd", "adam", "lbfgs")


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("task", ALL_TASKS)
def test_sample_weight_fit_parity(task, solver):
    X, y = make_data(task)
    sw = _weights(len(X))
    fast, ref, _ = _fit_pair(task, _params(solver), X, y, sample_weight=sw)
    _assert_close_any_solver(fast, ref, X, solver)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_sample_weight_float32_parity(solver):
    X, y = make_data("multiclass", dtype=np.float32)
    sw = _weights(len(X), seed=1)
    fast, ref, _ = _fit_pair("multiclass", _params(solver), X, y, sample_weight=sw)
    _assert_close_any_solver(fast, ref, X, solver, dtype=np.float32)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("task", ["binary", "reg2"])
def test_sample_weight_negative_accepted(task, solver):
    X, y = make_data(task)
    sw = _weights(len(X), seed=2, low=-0.5, high=2.0)
    assert (sw < 0).any()
    fast, ref, _ = _fit_pair(task, _params(solver), X, y, sample_weight=sw)
    _assert_close_any_solver(fast, ref, X, solver)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("task", ["multiclass", "reg1"])
def test_sample_weight_scalar(task, solver):
    X, y = make_data(task)
    c = 2.5
    fast, ref, _ = _fit_pair(task, _params(solver), X, y, sample_weight=c)
    _assert_close_any_solver(fast, ref, X, solver)
    cls = estimator_pair(task)[0]
    # A scalar is broadcast ...
    full = fit_quiet(cls(**_params(solver)), X, y, sample_weight=np.full(len(X), c))
    assert_weights_close(fast, full, rtol=1e-12, atol=1e-14)
    # ... and the data term is normalised by the weight sum but the L2 term is
    # only divided by it: a constant weight c acts like alpha / c.
    scaled_alpha = fit_quiet(cls(**_params(solver, alpha=1e-4 / c)), X, y)
    rtol = RTOL_LBFGS if solver == "lbfgs" else RTOL64
    assert_weights_close(fast, scaled_alpha, rtol=rtol, atol=1e-10)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "reg1", "reg2"])
def test_sample_weight_early_stopping(task, solver):
    # The validation score (accuracy / R^2) is weighted with the held-out
    # rows' weights; validation_scores_ are compared at rtol 1e-9.
    X, y = make_data(task)
    sw = _weights(len(X), seed=3, low=0.1, high=5.0)
    params = _params(solver, early_stopping=True, validation_fraction=0.2, max_iter=8,
                     n_iter_no_change=3)
    fast, ref, _ = _fit_pair(task, params, X, y, sample_weight=sw)
    assert_fitted_close(fast, ref, X)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("task", ALL_TASKS)
def test_sample_weight_partial_fit(task, solver):
    X, y = make_data(task)
    sw = _weights(len(X), seed=4)
    fast_cls, ref_cls = estimator_pair(task)
    params = _params(solver)
    fast, ref = fast_cls(**params), ref_cls(**params)
    extra = {"classes": np.unique(y) if y.ndim == 1 else np.arange(y.shape[1])}
    if not is_classification(task):
        extra = {}
    for chunk in np.array_split(np.arange(len(X)), 3):
        for est in (fast, ref):
            est.partial_fit(X[chunk], y[chunk], sample_weight=sw[chunk], **extra)
    assert_fitted_close(fast, ref, X)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("task", ALL_TASKS)
def test_score_with_sample_weight(task, solver):
    X, y = make_data(task)
    fast, ref, _ = _fit_pair(task, _params(solver), X, y)
    sw = _weights(len(X), seed=5)
    s_fast, s_ref = fast.score(X, y, sample_weight=sw), ref.score(X, y, sample_weight=sw)
    assert_allclose(s_fast, s_ref, rtol=1e-9)
    metric = accuracy_score if is_classification(task) else r2_score
    assert_allclose(s_fast, metric(y, fast.predict(X), sample_weight=sw), rtol=1e-12)


def _integer_weights_and_repeats(task, n_samples):
    X, y = make_data(task, n_samples=n_samples)
    w = np.random.RandomState(6).randint(0, 4, n_samples)
    return X, y, w, np.repeat(X, w, axis=0), np.repeat(y, w, axis=0)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("task", ["binary", "multiclass", "reg2"])
def test_integer_weights_equal_repeated_rows(task, solver):
    # Holds exactly in scikit-learn for a full batch: lbfgs, or sgd/adam with
    # batch_size >= n (here 'auto' = n, n <= 200 after repetition) without
    # shuffling.  Zero weights drop the row.
    X, y, w, X_rep, y_rep = _integer_weights_and_repeats(task, 60)
    assert len(X_rep) <= 200 and (w == 0).any()
    params = _params(solver, batch_size="auto", shuffle=False)
    cls = estimator_pair(task)[0]
    weighted = fit_quiet(cls(**params), X, y, sample_weight=w)
    repeated = fit_quiet(cls(**params), X_rep, y_rep)
    rtol = RTOL_LBFGS if solver == "lbfgs" else RTOL64
    assert_weights_close(weighted, repeated, rtol=rtol, atol=1e-10)
    assert weighted.n_iter_ == repeated.n_iter_
    assert_allclose(weighted.loss_, repeated.loss_, rtol=rtol)
    if solver == "lbfgs":
        # and against scikit-learn's weighted fit
        ref = fit_quiet(estimator_pair(task)[1](**params), X, y, sample_weight=w)
        _assert_lbfgs_close(weighted, ref, X)


@pytest.mark.parametrize("method", ["fit", "partial_fit", "score"])
@pytest.mark.parametrize("bad", ["all-zero", "too-short", "2d", "2d-column", "nan"])
def test_sample_weight_errors(bad, method):
    X, y = make_data("binary", n_samples=40)
    n = len(X)
    sample_weight = {
        "all-zero": np.zeros(n),
        "too-short": np.ones(n - 1),
        "2d": np.ones((n, 2)),
        "2d-column": np.ones((n, 1)),
        "nan": np.r_[np.ones(n - 1), np.nan],
    }[bad]
    errors = []
    for cls in (FastClassifier, SkMLPClassifier):
        est = cls(hidden_layer_sizes=(3,), max_iter=2, solver="sgd", random_state=0)
        if method == "score":
            fit_quiet(est, X, y)
        kwargs = {"classes": [0, 1]} if method == "partial_fit" else {}
        with pytest.raises(Exception) as exc_info:
            getattr(est, method)(X, y, sample_weight=sample_weight, **kwargs)
        errors.append((type(exc_info.value), str(exc_info.value)))
    assert errors[0] == errors[1]


def _fit_outcomes(task, params, X, y, **fit_params):
    """[(error type, message) or None] for mlpfast and scikit-learn."""
    outcomes = []
    for cls in estimator_pair(task):
        try:
            fit_quiet(cls(**params), X, y, **fit_params)
            outcomes.append(None)
        except Exception as exc:  # noqa: BLE001 - compared with scikit-learn
            outcomes.append((type(exc), str(exc)))
    return outcomes


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("task", ["binary", "reg1"])
def test_sample_weight_batch_with_zero_weight_sum(task, solver):
    # Weights are fine overall, but the first mini-batch's weights sum to 0:
    # scikit-learn's loss (np.average) raises ZeroDivisionError there.
    X, y = make_data(task)
    sw = np.ones(len(X))
    sw[:32] = 0.0
    fast, ref = _fit_outcomes(task, _params(solver, shuffle=False), X, y, sample_weight=sw)
    assert ref == (ZeroDivisionError, "Weights sum to zero, can't be normalized")
    assert fast == ref


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("task", ["binary", "reg1"])
def test_sample_weight_sum_zero_not_all_zero(task, solver):
    # +1/-1 weights: accepted by the input check, but they sum to 0.
    X, y = make_data(task)
    sw = np.where(np.arange(len(X)) % 2 == 0, 1.0, -1.0)
    fast, ref = _fit_outcomes(task, _params(solver, batch_size=len(X)), X, y,
                              sample_weight=sw)
    assert ref == (ZeroDivisionError, "Weights sum to zero, can't be normalized")
    assert fast == ref


@pytest.mark.parametrize("task", ["multiclass", "reg1"])
def test_sample_weight_zero_on_validation_rows(task):
    # Zero weights exactly on the early-stopping validation rows: the weighted
    # validation score rejects them (ValueError from the metric).
    X, y = make_data(task)
    params = _params("adam", early_stopping=True, validation_fraction=0.2, max_iter=3)
    rng = np.random.RandomState(params["random_state"])
    units = [X.shape[1], *params["hidden_layer_sizes"], 1 if task == "reg1" else 3]
    for fan_in, fan_out in zip(units[:-1], units[1:]):  # the init draws
        rng.uniform(size=(fan_in, fan_out))
        rng.uniform(size=fan_out)
    _, test = train_test_split(np.arange(len(X)), random_state=rng, test_size=0.2)
    sw = np.ones(len(X))
    sw[test] = 0.0
    fast, ref = _fit_outcomes(task, params, X, y, sample_weight=sw)
    assert ref is not None and fast == ref


# ==========================================================================
# sparse input
# ==========================================================================


def _sparse_dense_data(task, dtype=np.float64, density=0.35, n_samples=150):
    X, y = make_data(task, dtype=dtype, n_samples=n_samples)
    mask = np.random.RandomState(7).rand(*X.shape) < density
    X = np.where(mask, X, 0).astype(dtype)
    return X, y


def _csr_int64_indices(X):
    X = sp.csr_matrix(X)
    X.indices = X.indices.astype(np.int64)
    X.indptr = X.indptr.astype(np.int64)
    return X


SPARSE_FORMATS = {
    "csr": sp.csr_matrix,
    "csc": sp.csc_matrix,
    "coo": sp.coo_matrix,
    "csr_array": sp.csr_array,
    "csc_array": sp.csc_array,
    "lil": sp.lil_matrix,
    "csr-int64-indices": _csr_int64_indices,
}


def _check_sparse(task, solver, X_sparse, X_dense, y, params, dtype=np.float64,
                  **fit_params):
    """mlpfast sparse == mlpfast dense, and == scikit-learn sparse."""
    fast, ref, w_ref = _fit_pair(task, params, X_sparse, y, **fit_params)
    _assert_close_any_solver(fast, ref, X_sparse, solver, dtype=dtype)
    dense = estimator_pair(task)[0](**params)
    assert_same_warnings(_record(dense.fit, X_dense, y, **fit_params), w_ref)
    if dtype == np.float32:
        rtol, atol = RTOL32, ATOL32
    else:
        rtol, atol = (RTOL_LBFGS, ATOL_LBFGS) if solver == "lbfgs" else (RTOL64, ATOL64)
    assert_weights_close(fast, dense, rtol=rtol, atol=atol)
    if solver != "lbfgs":
        assert_allclose(fast.loss_curve_, dense.loss_curve_, rtol=rtol, atol=atol)
    assert_predictions_close(fast, dense, X_dense, rtol=rtol, atol=atol)
    return fast, ref


@pytest.mark.parametrize("fmt", list(SPARSE_FORMATS))
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("task", ["binary", "multiclass", "reg2"])
def test_sparse_formats(task, solver, fmt):
    X, y = _sparse_dense_data(task)
    _check_sparse(task, solver, SPARSE_FORMATS[fmt](X), X, y, _params(solver))


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("task", ["multilabel", "reg1"])
def test_sparse_csr_other_tasks_and_weights(task, solver):
    X, y = _sparse_dense_data(task)
    _check_sparse(task, solver, sp.csr_matrix(X), X, y, _params(solver),
                  sample_weight=_weights(len(X), seed=8))


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("task", ["multiclass", "reg1"])
def test_sparse_float32(task, solver):
    X, y = _sparse_dense_data(task, dtype=np.float32)
    fast, _ = _check_sparse(task, solver, sp.csr_matrix(X), X, y, _params(solver),
                            dtype=np.float32)
    for arr in fast.coefs_ + fast.intercepts_:
        assert arr.dtype == np.float32


def test_sparse_float32_lbfgs_float64_params():
    # float32 tolerances and a short run: see test_lbfgs_float32_X_gives_float64_params.
    X, y = _sparse_dense_data("binary", dtype=np.float32)
    fast, _ = _check_sparse("binary", "lbfgs", sp.csr_matrix(X), X, y,
                            _params("lbfgs", max_iter=4), dtype=np.float32)
    assert fast.coefs_[0].dtype == np.float64


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("task", ["multiclass", "reg2"])
def test_predict_on_sparse(task, fmt):
    X, y = _sparse_dense_data(task)
    fast, ref, _ = _fit_pair(task, _params("adam"), X, y)
    X_sparse = SPARSE_FORMATS[fmt](X)
    assert_predictions_close(fast, ref, X_sparse)
    if is_classification(task):
        assert_array_equal(fast.predict(X_sparse), fast.predict(X))
        assert_allclose(fast.predict_proba(X_sparse), fast.predict_proba(X),
                        rtol=RTOL64, atol=ATOL64)
        assert_allclose(fast.predict_log_proba(X_sparse), ref.predict_log_proba(X_sparse),
                        rtol=RTOL64, atol=ATOL64)
    else:
        assert_allclose(fast.predict(X_sparse), fast.predict(X), rtol=RTOL64, atol=ATOL64)
    assert_allclose(fast.score(X_sparse, y), ref.score(X_sparse, y), rtol=RTOL64)


def _unsorted_indices(X_csr):
    X = X_csr.copy()
    for i in range(X.shape[0]):
        lo, hi = X.indptr[i], X.indptr[i + 1]
        X.indices[lo:hi] = X.indices[lo:hi][::-1].copy()
        X.data[lo:hi] = X.data[lo:hi][::-1].copy()
    X.has_sorted_indices = False
    return X


def _explicit_zeros(X_dense):
    rows, cols = np.nonzero(X_dense)
    zr, zc = np.nonzero(X_dense == 0)
    pick = np.random.RandomState(9).rand(len(zr)) < 0.3
    data = np.r_[X_dense[rows, cols], np.zeros(pick.sum())]
    X = sp.coo_matrix((data, (np.r_[rows, zr[pick]], np.r_[cols, zc[pick]])),
                      shape=X_dense.shape).tocsr()
    return X


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", ["unsorted-indices", "explicit-zeros"])
def test_sparse_unusual_structure(kind, solver):
    task = "multiclass"
    X, y = _sparse_dense_data(task)
    if kind == "unsorted-indices":
        X_sparse = _unsorted_indices(sp.csr_matrix(X))
        assert not X_sparse.has_sorted_indices
        X_sparse.has_sorted_indices = False
    else:
        X_sparse = _explicit_zeros(X)
        assert X_sparse.nnz > np.count_nonzero(X)
    assert_array_equal(X_sparse.toarray(), X)
    fast, _ = _check_sparse(task, solver, X_sparse, X, y, _params(solver))
    assert_array_equal(X_sparse.toarray(), X)  # input untouched
    assert_predictions_close(fast, fast, X_sparse)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "reg1"])
def test_sparse_early_stopping(task, solver, weighted):
    X, y = _sparse_dense_data(task)
    params = _params(solver, early_stopping=True, validation_fraction=0.2, max_iter=8,
                     n_iter_no_change=3)
    fit_params = {"sample_weight": _weights(len(X), seed=11)} if weighted else {}
    fast, _ = _check_sparse(task, solver, sp.csr_matrix(X), X, y, params, **fit_params)
    assert fast.validation_scores_ is not None


@pytest.mark.parametrize("task", ["multiclass", "reg1"])
def test_sparse_partial_fit(task):
    X, y = _sparse_dense_data(task)
    X_sparse = sp.csr_matrix(X)
    fast_cls, ref_cls = estimator_pair(task)
    params = _params("sgd")
    fast, ref, dense = fast_cls(**params), ref_cls(**params), fast_cls(**params)
    extra = {"classes": np.unique(y)} if is_classification(task) else {}
    for chunk in np.array_split(np.arange(len(X)), 3):
        fast.partial_fit(X_sparse[chunk], y[chunk], **extra)
        ref.partial_fit(X_sparse[chunk], y[chunk], **extra)
        dense.partial_fit(X[chunk], y[chunk], **extra)
    assert_fitted_close(fast, ref, X)
    assert_weights_close(fast, dense)


# ==========================================================================
# Poisson loss
# ==========================================================================


def _poisson_data(n_samples=150, n_targets=1, seed=0):
    X, _ = make_data("reg1", n_samples=n_samples)
    rng = np.random.RandomState(seed)
    beta = rng.normal(scale=0.3, size=(X.shape[1], n_targets))
    y = rng.poisson(np.exp(X @ beta + 0.2)).astype(np.float64)
    return X, (y.ravel() if n_targets == 1 else y)


@pytest.mark.parametrize("n_targets", [1, 2])
@pytest.mark.parametrize("solver", SOLVERS)
def test_poisson_parity(solver, n_targets):
    X, y = _poisson_data(n_targets=n_targets)
    assert (y == 0).any() and (y >= 0).all()
    params = _params(solver, loss="poisson")
    fast, ref, _ = _fit_pair("reg1", params, X, y)
    assert fast.out_activation_ == ref.out_activation_ == "exp"
    _assert_close_any_solver(fast, ref, X, solver)
    pred = fast.predict(X)
    assert (pred > 0).all()
    assert_allclose(fast.score(X, y), ref.score(X, y), rtol=1e-9)


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh"])
def test_poisson_lbfgs_converges(activation):
    X, y = _poisson_data()
    params = _params("lbfgs", loss="poisson", activation=activation, alpha=1.0, tol=1e-2,
                     max_iter=300)
    fast, ref, w_ref = _fit_pair("reg1", params, X, y)
    assert w_ref == [] and ref.n_iter_ < 300
    _assert_lbfgs_close(fast, ref, X)


@pytest.mark.parametrize("solver", SOLVERS)
def test_poisson_sample_weight_and_sparse(solver):
    X, y = _poisson_data(seed=1)
    X = np.where(np.random.RandomState(2).rand(*X.shape) < 0.4, X, 0.0)
    params = _params(solver, loss="poisson")
    _check_sparse("reg1", solver, sp.csr_matrix(X), X, y, params,
                  sample_weight=_weights(len(X), seed=10))


@pytest.mark.parametrize("solver", SOLVERS)
def test_poisson_negative_targets_not_rejected(solver):
    # scikit-learn documents y >= 0 but does not check it: the loss becomes
    # NaN (xlogy of a negative ratio), the gradient p - y stays finite.
    X, y = make_data("reg1")
    assert (y < 0).any()
    params = _params(solver, loss="poisson")
    fast, ref = FastRegressor(**params), SkMLPRegressor(**params)
    # scikit-learn's lbfgs run also emits numpy RuntimeWarnings (overflow in
    # exp, division by zero) on its way; only the other warnings are compared.
    w_fast, w_ref = [[w for w in _record(est.fit, X, y) if w[0] is not RuntimeWarning]
                     for est in (fast, ref)]
    assert_same_warnings(w_fast, w_ref)
    assert np.isnan(ref.loss_) and np.isnan(fast.loss_)
    rtol = RTOL_LBFGS if solver == "lbfgs" else RTOL64
    assert_weights_close(fast, ref, rtol=rtol, atol=ATOL_LBFGS)
    assert fast.n_iter_ == ref.n_iter_
    assert_predictions_close(fast, ref, X, rtol=rtol, atol=ATOL_LBFGS)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_poisson_float32(solver):
    X, y = _poisson_data()
    X = X.astype(np.float32)
    fast, ref, _ = _fit_pair("reg1", _params(solver, loss="poisson"), X, y)
    _assert_close_any_solver(fast, ref, X, solver, dtype=np.float32)
    assert fast.predict(X).dtype == ref.predict(X).dtype == np.float32


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_poisson_partial_fit(solver):
    X, y = _poisson_data()
    params = _params(solver, loss="poisson")
    fast, ref = FastRegressor(**params), SkMLPRegressor(**params)
    for chunk in np.array_split(np.arange(len(X)), 3):
        fast.partial_fit(X[chunk], y[chunk])
        ref.partial_fit(X[chunk], y[chunk])
    assert_fitted_close(fast, ref, X)
