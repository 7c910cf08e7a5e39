"""Extreme values: saturation without NaN, and divergence reported, never returned.

* The compiled activations saturate: logistic is ``1 / (1 + exp(-z))`` (as
  scipy's expit), so ``exp`` overflowing to inf gives exactly 0, never NaN;
  softmax subtracts the row maximum; tanh is ±1; log losses clip the
  probabilities, so a saturated wrong prediction costs a finite
  ``-log(eps)``.
* A fitted model predicts on inputs up to |x| = 1e30 (float32 and float64)
  without NaN, as scikit-learn does.
* All-equal rows and constant targets train like scikit-learn.
* A diverging fit ends with scikit-learn's "Solver produced non-finite
  parameter weights" ValueError, exactly when scikit-learn's does; a model
  with NaN weights is never returned as fitted.
"""
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from conftest import FastClassifier, FastRegressor, SkMLPClassifier, SkMLPRegressor, engine_only

import numpy_reference as ref
from mlpfast import _kernels
from mlpfast._activations import HIDDEN_ACTIVATIONS, SKLEARN_HIDDEN_ACTIVATIONS
from mlpfast._network import NetworkLayout

DTYPES = (np.float64, np.float32)
HIDDEN = HIDDEN_ACTIVATIONS
# The hidden activations for the estimators under test: scikit-learn's own
# lacks some (conftest, MLPFAST_TEST_AGAINST_SKLEARN).
ESTIMATOR_HIDDEN = [name if name in SKLEARN_HIDDEN_ACTIVATIONS
                    else pytest.param(name, marks=engine_only) for name in HIDDEN]
EXTREME = np.array([-1e30, -1e4, -800.0, -100.0, -20.0, 0.0, 20.0, 100.0, 800.0, 1e4, 1e30])


def _dtype_id(dtype):
    return np.dtype(dtype).name


def _network(units, hidden, output, alpha=0.0):
    return _kernels.Network(NetworkLayout(units), hidden, output, alpha)


def _identity_params(units, dtype):
    """Weights: identity blocks (ones for a 1 x 1 layer), biases 0."""
    weights = [np.eye(a, b) for a, b in zip(units[:-1], units[1:])]
    biases = [np.zeros(b) for b in units[1:]]
    return ref.pack(weights, biases).astype(dtype)


# ---------------------------------------------------------------------------
# the compiled activations
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=_dtype_id)
def test_logistic_output_saturates_to_0_and_1(dtype):
    X = EXTREME.astype(dtype).reshape(-1, 1)
    with np.errstate(over="ignore"):
        out = _kernels.forward(_network((1, 1), "relu", "logistic"), X,
                               _identity_params((1, 1), dtype))[:, 0]
    assert np.isfinite(out).all()
    assert ((out >= 0) & (out <= 1)).all()
    assert out[0] == 0 and out[-1] == 1          # |z| = 1e30: exactly saturated
    assert out[2] == 0 or out[2] < 1e-300        # exp(800) overflows: 1/(1+inf) = 0
    assert out[5] == 0.5
    expected = expit(EXTREME.astype(np.float64))
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    assert_allclose(out, expected, rtol=rtol, atol=1e-300 if dtype == np.float64 else 1e-38)


@pytest.mark.parametrize("dtype", DTYPES, ids=_dtype_id)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_hidden_activations_saturate_without_nan(hidden, dtype):
    X = EXTREME.astype(dtype).reshape(-1, 1)
    units = (1, 1, 1)
    out = _kernels.forward(_network(units, hidden, "identity"), X,
                           _identity_params(units, dtype))[:, 0]
    assert not np.isnan(out).any()
    expected = ref.activate(EXTREME.reshape(-1, 1).astype(np.float64), hidden)[:, 0]
    if dtype == np.float32:
        expected = expected.astype(np.float32)
    # Absolute slack of the smallest normal number: float32 expf(100)
    # overflows, so logistic(-100) is 0 here and a denormal 3.8e-44 in scipy.
    assert_allclose(out, expected, rtol=1e-6, atol=np.finfo(dtype).tiny)
    if hidden == "logistic":
        assert out[0] == 0 and out[-1] == 1
    if hidden == "tanh":
        assert out[0] == -1 and out[-1] == 1


SOFTMAX_ROWS = np.array([
    [1e30, -1e30, 0.0],
    [-1e30, 1e30, 1e30],
    [1e30, 1e30, 1e30],
    [-1e30, -1e30, -1e30],
    [800.0, 0.0, -800.0],
    [-800.0, -800.0, -801.0],
    [1e4, 1e4 - 1.0, -1e4],
    [0.0, 0.0, 0.0],
])


@pytest.mark.parametrize("dtype", DTYPES, ids=_dtype_id)
def test_softmax_is_max_subtracted(dtype):
    X = SOFTMAX_ROWS.astype(dtype)
    out = _kernels.forward(_network((3, 3), "relu", "softmax"), X,
                           _identity_params((3, 3), dtype))
    assert np.isfinite(out).all()
    assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)
    expected = ref.activate(SOFTMAX_ROWS, "softmax")
    assert_allclose(out, expected, rtol=1e-6, atol=1e-7)
    assert_array_equal(out[0], [1, 0, 0])
    assert_allclose(out[2], [1 / 3] * 3, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES, ids=_dtype_id)
@pytest.mark.parametrize("output", ["softmax", "logistic"])
def test_log_loss_of_saturated_wrong_predictions_is_finite(output, dtype):
    # Every prediction saturated on the wrong class: the loss is the clipped
    # -log(eps) per row, the gradient p - y is finite.
    units = (3, 3)
    X = np.array([[1e30, -1e30, 0.0], [-1e30, 1e30, -1e30]], dtype=dtype)
    Y = np.array([[0, 1, 0], [1, 0, 1]], dtype=dtype)
    params = _identity_params(units, dtype)
    grad = np.empty_like(params)
    loss = _kernels.loss_gradient(_network(units, "relu", output, alpha=1e-4), X, Y,
                                  params, grad)
    eps = np.finfo(dtype).eps
    assert np.isfinite(loss) and np.isfinite(grad).all()
    expected = ref.loss(params, units, X, Y, "relu", output, 1e-4, clip_eps=eps)
    assert_allclose(loss, expected, rtol=1e-5)
    assert loss >= -np.log(eps) * 0.99  # each row costs at least one clipped term


@pytest.mark.parametrize("dtype", DTYPES, ids=_dtype_id)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_training_epoch_on_extreme_inputs_is_finite_or_flags_divergence(hidden, dtype):
    # One epoch on |x| up to 1e30 with a logistic output: probabilities and the
    # log loss must stay finite (no inf - inf, no log(0)); the weights may
    # grow huge but the loss is never NaN.
    from mlpfast._solvers import SGDOptimizer

    rng = np.random.default_rng(0)
    units = (3, 4, 1)
    X = (rng.standard_normal((16, 3)) * 1e30).astype(dtype)
    Y = rng.integers(0, 2, (16, 1)).astype(dtype)
    params = (rng.uniform(-0.5, 0.5, NetworkLayout(units).n_params)).astype(dtype)
    optimizer = SGDOptimizer(len(params), dtype, 1e-40, "constant", 0.0, False, 0.5)
    with np.errstate(all="ignore"), optimizer.kernel_state() as optimizer_state:
        loss_sum = _kernels.train_epoch(_network(units, hidden, "logistic"), X, Y,
                                        np.arange(16, dtype=np.intp), 4, params,
                                        *optimizer_state)
    assert not np.isnan(loss_sum)
    assert np.isfinite(params).all()


# ---------------------------------------------------------------------------
# fitted estimators on extreme inputs
# ---------------------------------------------------------------------------


def _classification(kind, n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    if kind == "binary":
        y = (X[:, 0] > 0).astype(int)
    elif kind == "multiclass":
        y = np.argmax(X[:, :3], axis=1)
    else:
        y = (X[:, :3] > 0).astype(int)
    return X, y


def _fit_pair(fast_cls, ref_cls, params, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fast_cls(**params).fit(X, y), ref_cls(**params).fit(X, y)


@pytest.mark.parametrize("dtype", DTYPES, ids=_dtype_id)
@pytest.mark.parametrize("hidden", ESTIMATOR_HIDDEN)
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_predict_proba_on_inputs_up_to_1e30(kind, hidden, dtype):
    # Activations scikit-learn lacks: the same checks but the comparison.
    X, y = _classification(kind)
    params = dict(hidden_layer_sizes=(6, 4), activation=hidden, max_iter=20,
                  learning_rate_init=0.05, random_state=0)
    if hidden in SKLEARN_HIDDEN_ACTIVATIONS:
        fast, sk = _fit_pair(FastClassifier, SkMLPClassifier, params, X.astype(dtype), y)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fast, sk = FastClassifier(**params).fit(X.astype(dtype), y), None
    for scale in (1e10, 1e20, 1e30, -1e30):
        Z = (X * scale).astype(dtype)
        Z[0], Z[1], Z[2] = scale, -scale, 0.0
        with np.errstate(all="ignore"):
            proba = fast.predict_proba(Z)
            log_proba = fast.predict_log_proba(Z)
        assert np.isfinite(proba).all(), f"NaN/inf probabilities at scale {scale}"
        assert ((proba >= 0) & (proba <= 1)).all()
        if kind != "multilabel":
            assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
        assert not np.isnan(log_proba).any()
        if sk is not None:
            with np.errstate(all="ignore"):
                assert_allclose(proba, sk.predict_proba(Z), rtol=1e-5, atol=1e-6)
            assert_array_equal(fast.predict(Z), sk.predict(Z))


@pytest.mark.parametrize("hidden", SKLEARN_HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("kind", ["multiclass", "regression"])
def test_fit_on_inputs_of_1e30_matches_sklearn_outcome(kind, hidden):
    # float64: either both fit with finite weights, or both raise the
    # non-finite-weights ValueError; never NaN weights returned.
    if kind == "regression":
        X, y = make_regression(60, 5, random_state=0)
        fast_cls, ref_cls = FastRegressor, SkMLPRegressor
    else:
        X, y = _classification("multiclass")
        fast_cls, ref_cls = FastClassifier, SkMLPClassifier
    X = X * 1e30
    params = dict(hidden_layer_sizes=(6, 4), activation=hidden, max_iter=3, random_state=0)
    outcomes = []
    for cls in (fast_cls, ref_cls):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", ConvergenceWarning)
            try:
                est = cls(**params).fit(X, y)
            except ValueError as exc:
                assert str(exc).startswith("Solver produced non-finite parameter weights")
                outcomes.append("diverged")
                continue
        assert all(np.isfinite(w).all() for w in est.coefs_ + est.intercepts_)
        assert not np.isnan(est.loss_curve_).any()
        outcomes.append("fitted")
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("hidden", ESTIMATOR_HIDDEN)
@pytest.mark.parametrize("kind", ["multiclass", "regression"])
def test_float32_fit_on_extreme_inputs_never_returns_nan_weights(kind, hidden):
    # float32 overflows earlier than scikit-learn's float64-promoted backward
    # pass in regression (see the README); the rule that matters holds.
    if kind == "regression":
        X, y = make_regression(60, 5, random_state=0)
        cls = FastRegressor
    else:
        X, y = _classification("multiclass")
        cls = FastClassifier
    for scale in (1e10, 1e20, 1e30):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", ConvergenceWarning)
            try:
                est = cls(hidden_layer_sizes=(6,), activation=hidden, max_iter=3,
                          random_state=0).fit((X * scale).astype(np.float32), y)
            except ValueError as exc:
                assert str(exc).startswith("Solver produced non-finite parameter weights")
                continue
        assert all(np.isfinite(w).all() for w in est.coefs_ + est.intercepts_)


@pytest.mark.parametrize("case", ["equal_rows", "constant_target", "both"])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_degenerate_data_trains_like_sklearn(case, kind):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 4))
    if case in ("equal_rows", "both"):
        X = np.tile(X[:1], (40, 1))
    if kind == "classifier":
        y = np.arange(40) % 2
        y = np.full(40, 7) if case != "equal_rows" else y
        fast_cls, ref_cls = FastClassifier, SkMLPClassifier
    else:
        y = rng.standard_normal(40)
        y = np.full(40, 3.5) if case != "equal_rows" else y
        fast_cls, ref_cls = FastRegressor, SkMLPRegressor
    params = dict(hidden_layer_sizes=(5,), max_iter=15, random_state=0)
    fast, sk = _fit_pair(fast_cls, ref_cls, params, X, y)
    for a, b in zip(fast.coefs_ + fast.intercepts_, sk.coefs_ + sk.intercepts_):
        assert np.isfinite(a).all()
        assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert_allclose(fast.loss_curve_, sk.loss_curve_, rtol=1e-9)
    assert_array_equal(fast.predict(X).shape, sk.predict(X).shape)
    if kind == "classifier":
        assert_array_equal(fast.predict(X), sk.predict(X))
        assert_allclose(fast.predict_proba(X), sk.predict_proba(X), rtol=1e-9)
    else:
        assert_allclose(fast.predict(X), sk.predict(X), rtol=1e-9)


# ---------------------------------------------------------------------------
# diverging fits
# ---------------------------------------------------------------------------

DIVERGING = [
    # (estimator kind, activation, momentum, nesterov, early_stopping)
    ("regressor", "relu", 0.9, True, False),
    ("regressor", "relu", 0.0, False, False),
    ("regressor", "identity", 0.9, False, False),
    ("regressor", "relu", 0.9, True, True),   # early stopping restores finite weights
    ("classifier", "relu", 0.9, True, False),
    ("classifier", "identity", 0.0, False, False),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=_dtype_id)
@pytest.mark.parametrize("kind,activation,momentum,nesterov,early_stopping", DIVERGING)
def test_diverging_sgd_ends_like_sklearn(kind, activation, momentum, nesterov,
                                         early_stopping, dtype):
    if kind == "regressor":
        X, y = make_regression(100, 6, random_state=0)
        fast_cls, ref_cls = FastRegressor, SkMLPRegressor
    else:
        X, y = make_classification(100, 6, random_state=0)
        fast_cls, ref_cls = FastClassifier, SkMLPClassifier
    X = X.astype(dtype)
    params = dict(solver="sgd", learning_rate_init=1e6, momentum=momentum,
                  nesterovs_momentum=nesterov, early_stopping=early_stopping,
                  activation=activation, hidden_layer_sizes=(8,), max_iter=20,
                  random_state=0)
    outcomes = []
    for cls in (fast_cls, ref_cls):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", ConvergenceWarning)
            try:
                est = cls(**params).fit(X, y)
            except ValueError as exc:
                assert str(exc) == (
                    "Solver produced non-finite parameter weights. The input data may "
                    "contain large values and need to be preprocessed.")
                outcomes.append("non-finite error")
                continue
        assert all(np.isfinite(w).all() for w in est.coefs_ + est.intercepts_)
        # With early stopping the best (finite) weights come back, but the
        # loss curve records the divergence (NaN) in the same epochs as
        # scikit-learn's.
        outcomes.append(("fitted", tuple(np.isnan(est.loss_curve_))))
    assert outcomes[0] == outcomes[1], outcomes
    if not early_stopping and outcomes[0] != "non-finite error":
        assert not any(outcomes[0][1])


def test_diverging_partial_fit_raises_like_sklearn():
    X, y = make_regression(100, 6, random_state=0)
    params = dict(solver="sgd", learning_rate_init=1e6, hidden_layer_sizes=(8,),
                  random_state=0)
    messages = []
    for cls in (FastRegressor, SkMLPRegressor):
        est = cls(**params)
        with np.errstate(all="ignore"):
            for _ in range(20):
                try:
                    est.partial_fit(X, y)
                except ValueError as exc:
                    messages.append(str(exc))
                    break
            else:
                messages.append(None)
    assert messages[0] == messages[1]
    assert messages[0] is not None and messages[0].startswith("Solver produced non-finite")


def _two_partial_fits(cls, X, y, params, zero_input_weights):
    """partial_fit twice, the weights of input 2 set in between."""
    est = cls(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.partial_fit(X, y, classes=[0, 1])
        est.coefs_[0][2] = zero_input_weights * np.sign(est.coefs_[0][2])
        est.partial_fit(X, y)
    return est


@pytest.mark.parametrize("solver, alpha, weights_in_tiny", [
    ("sgd", 1800.0, 3.0),   # normal weights that one step shrinks by 10: into the subnormals
    ("sgd", 0.0, 0.5),      # subnormal weights, no gradient: kept by scikit-learn
    ("adam", 0.0, 0.5),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_optimizer_step_flushes_subnormal_weights_to_zero(solver, alpha, weights_in_tiny,
                                                          dtype):
    # Input 2 is always 0, so its weights' gradient is the L2 term alone.
    # Where scikit-learn's step leaves them subnormal, mlpfast's stores 0
    # (products with subnormal weights take microcode assists); everything
    # else is scikit-learn's step.
    tiny = np.finfo(dtype).tiny
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(40, 4)).astype(dtype)
    X[:, 2] = 0.0
    y = (X[:, 0] > 0.5).astype(int)
    params = dict(hidden_layer_sizes=(5,), solver=solver, batch_size=40, alpha=alpha,
                  learning_rate_init=0.02, momentum=0.0, random_state=0)
    fast, reference = (_two_partial_fits(cls, X, y, params, weights_in_tiny * tiny)
                       for cls in (FastClassifier, SkMLPClassifier))
    row = reference.coefs_[0][2]
    assert np.all((row != 0) & (np.abs(row) < tiny))  # the control: subnormal there
    assert_array_equal(fast.coefs_[0][2], 0.0)
    others = np.delete(np.arange(4), 2)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert_allclose(fast.coefs_[0][others], reference.coefs_[0][others], rtol=rtol)
    assert_allclose(fast.coefs_[1], reference.coefs_[1], rtol=rtol)


def test_training_leaves_the_callers_subnormals_alone():
    # The step's flush-to-zero mode ends with the step: numpy in this thread
    # still computes subnormal numbers after a fit.
    X, y = make_classification(n_samples=200, n_features=6, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        FastClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y)
    half = np.array([np.finfo(np.float64).tiny]) / np.float64(2.0)
    assert half[0] != 0 and half[0] < np.finfo(np.float64).tiny
