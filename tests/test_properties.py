"""Property tests (hypothesis): random shapes, batch sizes, dtypes, activations.

* The compiled forward pass, loss + gradient and one training epoch equal the
  plain-numpy reference (tests/numpy_reference.py) for random architectures,
  1-wide layers included, random batch sizes (1, all rows, sizes that do not
  divide the row count), both dtypes, every activation and optimizer.
* Estimator fits on random small problems never crash: they either fit
  (finite weights, predictions of the right shape) or raise scikit-learn's
  non-finite-weights ValueError; in float64 they agree with scikit-learn.

The forward pass is held to a rounding bound per output entry
(forward_error_bound): eps of the dtype times the size of the terms each value
sums, through every layer, not times the result, which may be their small
difference; the losses' absolute slack (loss_rounding) carries that bound
through the loss.  Gradients and epochs keep the tolerances of
tests/test_kernels.py: float64 rtol 1e-10 with an absolute floor of 1e-12
times the largest magnitude compared; float32 rtol 1e-4 with a floor of 1e-5
of the largest magnitude (an epoch in float32: 1e-3 and 1e-4, as rounding
differences compound over its batches).  A float32
relu network whose hidden pre-activation comes within 1e-4 of the kink is
skipped (``assume``): there float32 and float64 may take different sides of
it, which is rounding, not a bug.

Examples are few (``max_examples`` 25-40; MLPFAST_PROPERTY_SCALE=N runs N
times as many) and there is no deadline, so the module runs in seconds; it
also runs under the debug (ASan) build in CI.
"""
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning

import numpy_reference as ref
from conftest import (
    AGAINST_SKLEARN, FastClassifier, FastRegressor, SkMLPClassifier, SkMLPRegressor,
)
from mlpfast import _kernels
from mlpfast._activations import SKLEARN_HIDDEN_ACTIVATIONS
from mlpfast._network import NetworkLayout
from mlpfast._solvers import AdamOptimizer, SGDOptimizer

SETTINGS = dict(deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow])
# MLPFAST_PROPERTY_SCALE=N runs N times as many examples (for a soak run).
_SCALE = int(os.environ.get("MLPFAST_PROPERTY_SCALE", "1"))
KERNEL_EXAMPLES = 40 * _SCALE
ESTIMATOR_EXAMPLES = 25 * _SCALE

DTYPES = (np.float64, np.float32)
TOLERANCE = {np.float64: (1e-10, 1e-12), np.float32: (1e-4, 1e-5)}
EPOCH_TOLERANCE = {np.float64: (1e-10, 1e-12), np.float32: (1e-3, 1e-4)}
KINK_MARGIN = 1e-4


def assert_close(actual, expected, dtype, tolerance=TOLERANCE, err_msg="", floor=0.0):
    rtol, atol_rel = tolerance[dtype]
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-300)
    assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol,
                    atol=max(atol_rel * scale, floor), err_msg=err_msg)


# Largest |f'(z)| of each hidden activation (its Lipschitz constant): an error
# in z moves f(z) by at most this much.  gelu's derivative peaks at 1.129 and
# silu's at 1.100 (both overshoot 1); leaky_relu's negative slope is 0.01.
LIPSCHITZ = {"identity": 1.0, "relu": 1.0, "leaky_relu": 1.0, "tanh": 1.0, "elu": 1.0,
             "softplus": 1.0, "logistic": 0.25, "gelu": 1.13, "silu": 1.1}
# An activation's own rounding, in ulps of its output: tests/test_vecmath.py
# bounds the vector functions by 2 ulp and logistic's 1 / (1 + exp(-z)) by 4.
ACTIVATION_ULPS = 4


def forward_error_bound(p, params, X):
    """Per output entry, a bound on the forward pass's rounding error in p's dtype.

    Rounding is relative to the terms summed, not to their sum: a unit's
    z = sum_i a_i w_i + b, with fan-in n, is n + 1 terms, each passing
    through at most n + 1 roundings (its product, then at most n additions)
    of at most eps / 2 each, so its error is at most (n + 1) eps / 2 times
    sum_i |a_i| |w_i| + |b| (Higham's gamma_{n+1}; charging a whole eps per
    rounding leaves a factor 2 for second-order terms and for BLAS's
    summation order, which may differ from call shape to call shape).
    Errors already in the inputs a_i add |w| times theirs.  An activation
    adds its Lipschitz constant times the error of z, plus its own rounding:
    ACTIVATION_ULPS of its output and one eps of z through its slope (gelu
    evaluates erfc at the rounded z / sqrt 2).  The magnitudes are the
    float64 reference's, widened by the error bound (the kernel sums its own
    rounded activations).  So a result that is the small difference of large
    terms gets the absolute tolerance of those terms, as it must.
    """
    eps = float(np.finfo(p["dtype"]).eps)
    weights, biases = ref.unpack(np.asarray(params, dtype=np.float64), p["units"])
    zs, activations = ref.pre_activations_and_activations(params, p["units"], X, p["hidden"],
                                                          p["output"])
    magnitude = np.abs(activations[0])
    error = np.zeros_like(magnitude)            # X is exact: the reference reads the same values
    for layer, (w, b) in enumerate(zip(weights, biases)):
        z, a = zs[layer], activations[layer + 1]
        n = w.shape[0]
        z_error = error @ np.abs(w) + (n + 1) * eps * (magnitude @ np.abs(w) + np.abs(b))
        if layer < len(weights) - 1:
            slope = LIPSCHITZ[p["hidden"]]
            error = slope * (z_error + eps * np.abs(z)) + ACTIVATION_ULPS * eps * np.abs(a)
            magnitude = np.abs(a) + error
        elif p["output"] == "identity":
            error = z_error
        elif p["output"] == "logistic":
            error = 0.25 * (z_error + eps * np.abs(z)) + ACTIVATION_ULPS * eps * np.abs(a)
        else:
            # softmax p_i = exp(z_i - m) / sum_j exp(z_j - m), m the row's max: an
            # absolute error d in an exponent is a relative error d of its exp.
            # The exponent's: z_i's error, m's, and the subtraction's rounding;
            # exp's own ACTIVATION_ULPS.  p_i's relative error: its exp's, plus the
            # sum's (at most the largest exp's, plus one eps per addition), plus
            # the division's eps.
            shifted = z - z.max(axis=1, keepdims=True)
            exponent = (z_error + z_error.max(axis=1, keepdims=True) + eps * np.abs(shifted)
                        + ACTIVATION_ULPS * eps)
            relative = (exponent + exponent.max(axis=1, keepdims=True)
                        + (z.shape[1] + 1) * eps)
            error = relative * np.abs(a)
    return error


def gradient_floor(p):
    """Absolute rounding floor of a gradient.

    The output delta p - y has an absolute error of a few eps (p is a
    rounded probability or output): a saturated network has tiny gradients
    made of that rounding (float32 rounds p = 1 - 6e-10 to 1, a delta of 0
    instead of -6e-10), which the backward pass scales by activations and
    weights.
    """
    eps = float(np.finfo(p["dtype"]).eps)
    n_weight_layers = len(p["units"]) - 1
    x_max = float(np.max(np.abs(p["X"]), initial=0.0))
    w_max = float(np.max(np.abs(p["params"]), initial=0.0))
    return 64 * eps * (1 + x_max) * (1 + w_max) ** n_weight_layers


def make_problem(dtype, hidden, output, units, n_rows, seed, x_scale, alpha):
    """A network, data set and parameter vector (dtype, C-contiguous) from a seed."""
    n_features, n_outputs = units[0], units[-1]
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_features)) * x_scale
    if output == "identity":
        Y = rng.standard_normal((n_rows, n_outputs))
    elif output == "logistic":
        Y = rng.integers(0, 2, (n_rows, n_outputs)).astype(np.float64)
    else:
        Y = np.eye(n_outputs)[rng.integers(0, n_outputs, n_rows)]
    weights, biases = [], []
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
        biases.append(rng.uniform(-0.5, 0.5, fan_out))
    params = ref.pack(weights, biases)
    return dict(dtype=dtype, hidden=hidden, output=output, units=units, alpha=alpha,
                X=np.ascontiguousarray(X, dtype=dtype), Y=np.ascontiguousarray(Y, dtype=dtype),
                params=np.ascontiguousarray(params, dtype=dtype), rng=rng)


@st.composite
def problems(draw):
    """A random network, data set and parameter vector (dtype, C-contiguous)."""
    dtype = draw(st.sampled_from(DTYPES))
    hidden = draw(st.sampled_from(ref.HIDDEN_ACTIVATIONS))
    output = draw(st.sampled_from(ref.OUTPUT_ACTIVATIONS))
    n_features = draw(st.integers(1, 6))
    hidden_widths = draw(st.lists(st.integers(1, 8), min_size=0, max_size=3))
    n_outputs = draw(st.integers(1, 4))
    units = (n_features, *hidden_widths, n_outputs)
    n_rows = draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    x_scale = draw(st.sampled_from([0.1, 1.0, 10.0]))
    alpha = draw(st.sampled_from([0.0, 1e-4, 0.5]))
    return make_problem(dtype, hidden, output, units, n_rows, seed, x_scale, alpha)


# Found by hypothesis on an AVX2 EPYC (OpenBLAS Haswell kernels), and failing
# here too under the former rtol 1e-4: one float32 output, 1.74e-4, is the
# difference of terms about 0.1 large, so its rounding error (3.3e-8, a few
# eps32 of the terms) is 1.9e-4 of itself.
CANCELLING_OUTPUT = make_problem(np.float32, "relu", "identity", (1, 8, 8, 5, 1), n_rows=1,
                                 seed=4, x_scale=0.1, alpha=0.0)


def loss_rounding(p, params, X, Y):
    """Absolute slack of the data loss: the forward pass's rounding carried through it.

    With E the outputs' error bound (forward_error_bound), the squared error
    0.5 mean (y - out)^2 moves by at most mean(|y - out| E' + E'^2 / 2), where
    E' adds the subtraction's rounding eps (|y| + |out|): a residual that
    cancels (out close to y) leaves a loss far smaller than the terms
    rounded.  A log loss's -log q, for each probability q it logs (p where
    y = 1; 1 - p, one more rounding, where a binary y = 0), moves by at most
    E_q / q, q taken at its smallest, q - E_q, floored at the clipping's eps:
    ill-conditioned near saturation.  The loss's own summation and logs are
    sums of non-negative terms, covered by the relative tolerance.
    """
    eps = float(np.finfo(p["dtype"]).eps)
    Y = np.asarray(Y, np.float64)
    out = ref.forward(params, p["units"], X, p["hidden"], p["output"])[-1]
    error = forward_error_bound(p, params, X)
    if p["output"] == "identity":
        error = error + eps * (np.abs(Y) + np.abs(out))
        return float(np.mean(np.abs(Y - out) * error + 0.5 * error * error))

    def log_slack(q, q_error):
        return q_error / np.maximum(q - q_error, eps)

    terms = Y * log_slack(out, error)
    if p["output"] == "logistic":
        terms += (1.0 - Y) * log_slack(1.0 - out, error + eps)
    return float(np.sum(terms)) / len(X)


def network(p):
    return _kernels.Network(NetworkLayout(p["units"]), p["hidden"], p["output"], p["alpha"])


def away_from_kinks(p, params, X):
    """False if a float32 relu pre-activation is within KINK_MARGIN of 0."""
    if p["dtype"] != np.float32 or p["hidden"] != "relu" or len(p["units"]) < 3:
        return True
    zs, _ = ref.pre_activations_and_activations(params, p["units"], X, p["hidden"],
                                                p["output"])
    return min(float(np.min(np.abs(z))) for z in zs[:-1]) > KINK_MARGIN


@settings(max_examples=KERNEL_EXAMPLES, **SETTINGS)
@given(problems())
@example(CANCELLING_OUTPUT)
def test_forward_equals_reference(p):
    out = _kernels.forward(network(p), p["X"], p["params"])
    assert out.dtype == p["dtype"] and out.shape == (len(p["X"]), p["units"][-1])
    expected = ref.forward(p["params"], p["units"], p["X"], p["hidden"], p["output"])[-1]
    # No rtol: each entry's bound is absolute, from the terms it sums.
    bound = forward_error_bound(p, p["params"], p["X"])
    error = np.abs(np.asarray(out, dtype=np.float64) - expected)
    assert np.all(error <= bound), (
        f"forward error beyond its rounding bound: worst error / bound "
        f"{np.max(error / np.maximum(bound, 1e-300)):.3g}\n{out}\n{expected}")


@settings(max_examples=KERNEL_EXAMPLES, **SETTINGS)
@given(problems())
def test_loss_and_gradient_equal_reference(p):
    assume(away_from_kinks(p, p["params"], p["X"]))
    grad = np.full_like(p["params"], np.nan)
    params_before = p["params"].copy()
    loss = _kernels.loss_gradient(network(p), p["X"], p["Y"], p["params"], grad)
    expected_loss, expected_grad = ref.loss_and_gradient(
        p["params"], p["units"], p["X"], p["Y"], p["hidden"], p["output"], p["alpha"],
        clip_eps=np.finfo(p["dtype"]).eps)
    slack = loss_rounding(p, p["params"], p["X"], p["Y"])
    assert_allclose(loss, expected_loss, rtol=TOLERANCE[p["dtype"]][0],
                    atol=TOLERANCE[p["dtype"]][1] * abs(expected_loss) + slack, err_msg="loss")
    assert_close(grad, expected_grad, p["dtype"], err_msg="gradient", floor=gradient_floor(p))
    np.testing.assert_array_equal(p["params"], params_before)


@settings(max_examples=KERNEL_EXAMPLES, **SETTINGS)
@given(problems(), st.sampled_from(["sgd", "sgd_nesterov", "adam"]), st.data())
def test_training_epoch_equals_reference(p, solver, data):
    dtype, units = p["dtype"], p["units"]
    n_rows = len(p["X"])
    # 1, every row, and everything between (most do not divide n_rows).
    batch_size = data.draw(st.one_of(st.just(1), st.just(n_rows), st.integers(1, n_rows)),
                           label="batch_size")
    order = p["rng"].permutation(n_rows).astype(np.intp)
    n_params = len(p["params"])
    # Steps small against the curvature (about |x|^2): large SGD steps turn the
    # epoch chaotic, and the comparison would measure amplified rounding.
    x_norm2 = float(np.max(np.sum(p["X"].astype(np.float64) ** 2, axis=1)))
    rate = 0.05 / (1.0 + x_norm2)
    if solver == "adam":
        optimizer = AdamOptimizer(n_params, dtype, rate, 0.9, 0.999, 1e-8)
        state = ref.AdamState(learning_rate_init=rate, beta_1=0.9, beta_2=0.999,
                              epsilon=1e-8, m=np.zeros(n_params), v=np.zeros(n_params))
    else:
        nesterov = solver == "sgd_nesterov"
        optimizer = SGDOptimizer(n_params, dtype, rate, "constant", 0.9, nesterov, 0.5)
        state = ref.SGDState(rate, 0.9, nesterov, np.zeros(n_params))

    # The reference epoch, batch by batch, checking the kink margin on the way.
    expected = p["params"].astype(np.float64)
    expected_loss_sum = slack = 0.0
    for rows in ref.batch_slices(n_rows, batch_size):
        index = order[rows]
        assume(away_from_kinks(p, expected, p["X"][index]))
        slack += len(index) * loss_rounding(p, expected, p["X"][index], p["Y"][index])
        batch_loss, grad = ref.loss_and_gradient(
            expected, units, p["X"][index], p["Y"][index], p["hidden"], p["output"],
            p["alpha"], clip_eps=np.finfo(dtype).eps)
        expected_loss_sum += batch_loss * len(index)
        expected = state.step(expected, grad)

    params = p["params"].copy()
    with optimizer.kernel_state() as optimizer_state:
        loss_sum = _kernels.train_epoch(network(p), p["X"], p["Y"], order, batch_size, params,
                                        *optimizer_state)
    assert_allclose(loss_sum, expected_loss_sum, rtol=EPOCH_TOLERANCE[dtype][0],
                    atol=EPOCH_TOLERANCE[dtype][1] * abs(expected_loss_sum) + slack,
                    err_msg="loss_sum")
    assert_close(params, expected, dtype, EPOCH_TOLERANCE, err_msg="params")
    if solver == "adam":
        assert optimizer.t == state.t == -(-n_rows // batch_size)


@settings(max_examples=KERNEL_EXAMPLES, **SETTINGS)
@given(problems(), st.integers(1, 5))
def test_batch_larger_than_data_is_rejected_by_the_kernel(p, extra):
    # The estimators clip batch_size; the kernel itself refuses, never reads past.
    n_params = len(p["params"])
    optimizer = SGDOptimizer(n_params, p["dtype"], 0.1, "constant", 0.9, True, 0.5)
    params = p["params"].copy()
    with (pytest.raises(ValueError, match="batch_size"),
          optimizer.kernel_state() as optimizer_state):
        _kernels.train_epoch(network(p), p["X"], p["Y"], np.arange(len(p["X"])),
                             len(p["X"]) + extra, params, *optimizer_state)
    np.testing.assert_array_equal(params, p["params"])


# ---------------------------------------------------------------------------
# estimators
# ---------------------------------------------------------------------------


def _available_solvers():
    """sgd and adam, plus lbfgs once this build implements it."""
    solvers = ["sgd", "adam"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            FastRegressor(solver="lbfgs", hidden_layer_sizes=(2,), max_iter=1).fit(
                np.eye(3), np.arange(3.0))
        solvers.append("lbfgs")
    except NotImplementedError:
        pass
    return solvers


SOLVERS = _available_solvers()
TASKS = ("binary", "multiclass", "multilabel", "regression", "regression2")
# The hidden activations of the estimators under test (scikit-learn's own,
# under MLPFAST_TEST_AGAINST_SKLEARN, lacks some).
ESTIMATOR_ACTIVATIONS = SKLEARN_HIDDEN_ACTIVATIONS if AGAINST_SKLEARN else ref.HIDDEN_ACTIVATIONS


@st.composite
def estimator_problems(draw, activations=ESTIMATOR_ACTIVATIONS):
    task = draw(st.sampled_from(TASKS))
    n_rows = draw(st.integers(4, 40))
    n_features = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_features))
    if task == "binary":
        y = np.arange(n_rows) % 2
    elif task == "multiclass":
        y = np.arange(n_rows) % 3
    elif task == "multilabel":
        y = rng.integers(0, 2, (n_rows, 3))
    elif task == "regression":
        y = rng.standard_normal(n_rows)
    else:
        y = rng.standard_normal((n_rows, 2))
    rng.shuffle(y)
    params = dict(
        hidden_layer_sizes=tuple(draw(st.lists(st.integers(1, 6), min_size=0, max_size=3))),
        activation=draw(st.sampled_from(activations)),
        solver=draw(st.sampled_from(SOLVERS)),
        batch_size=draw(st.one_of(st.just("auto"), st.just(1), st.integers(2, 2 * n_rows))),
        learning_rate_init=draw(st.sampled_from([1e-3, 0.1, 1.0])),
        learning_rate=draw(st.sampled_from(["constant", "invscaling", "adaptive"])),
        alpha=draw(st.sampled_from([0.0, 1e-4, 1.0])),
        early_stopping=draw(st.booleans()) and n_rows >= 20,
        shuffle=draw(st.booleans()),
        max_iter=draw(st.integers(1, 3)),
        random_state=seed % 1000,
    )
    dtype = draw(st.sampled_from(DTYPES))
    return task, X.astype(dtype), y, params


def _fit(cls, params, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence, batch clipping
        with np.errstate(all="ignore"):
            try:
                return cls(**params).fit(X, y), None
            except ValueError as exc:
                return None, exc


@settings(max_examples=ESTIMATOR_EXAMPLES, **SETTINGS)
@given(estimator_problems(SKLEARN_HIDDEN_ACTIVATIONS))
def test_estimator_fits_never_crash_and_match_sklearn(problem):
    task, X, y, params = problem
    classifier = task not in ("regression", "regression2")
    fast_cls, ref_cls = (FastClassifier, SkMLPClassifier) if classifier else (
        FastRegressor, SkMLPRegressor)
    est, error = _fit(fast_cls, params, X, y)
    ref_est, ref_error = _fit(ref_cls, params, X, y)
    if error is not None:
        # The only acceptable failures are scikit-learn's own, e.g. a split
        # whose validation part cannot be stratified, or divergence.
        assert ref_error is not None, f"mlpfast raised {error!r}; scikit-learn fitted"
        assert type(error) is type(ref_error) and str(error) == str(ref_error)
        return
    assert ref_error is None, f"scikit-learn raised {ref_error!r}; mlpfast fitted"
    for w in est.coefs_ + est.intercepts_:
        assert np.isfinite(w).all() and w.dtype == ref_est.coefs_[0].dtype
    assert [w.shape for w in est.coefs_] == [w.shape for w in ref_est.coefs_]
    prediction = est.predict(X)
    assert prediction.shape == ref_est.predict(X).shape
    if classifier:
        with np.errstate(all="ignore"):
            proba = est.predict_proba(X)
            ref_proba = ref_est.predict_proba(X)
        # NaN only as in scikit-learn: when huge (finite) weights overflow the
        # float32 logits to inf in the matrix product, before any exp.
        if np.isnan(proba).any():
            assert X.dtype == np.float32 and np.isnan(ref_proba).any()
        finite = proba[~np.isnan(proba)]
        assert ((finite >= 0) & (finite <= 1)).all()
    if X.dtype == np.float64 and params["solver"] != "lbfgs":
        for a, b in zip(est.coefs_ + est.intercepts_, ref_est.coefs_ + ref_est.intercepts_):
            assert_allclose(a, b, rtol=1e-7, atol=1e-9)
        assert est.n_iter_ == ref_est.n_iter_


@settings(max_examples=ESTIMATOR_EXAMPLES, **SETTINGS)
@given(estimator_problems(), st.integers(1, 3))
def test_partial_fit_sequences_never_crash(problem, n_calls):
    task, X, y, params = problem
    if params["solver"] == "lbfgs" or params["early_stopping"]:
        params = dict(params, solver="adam", early_stopping=False)
    classifier = task not in ("regression", "regression2")
    est = (FastClassifier if classifier else FastRegressor)(**params)
    kwargs = {}
    if task in ("binary", "multiclass"):
        kwargs["classes"] = np.unique(y)
    elif task == "multilabel":
        kwargs["classes"] = np.arange(y.shape[1])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for _ in range(n_calls):
            try:
                est.partial_fit(X, y, **kwargs)
            except ValueError as exc:
                assert str(exc).startswith("Solver produced non-finite parameter weights")
                return
    assert est.predict(X).shape[0] == X.shape[0]
    assert all(np.isfinite(w).all() for w in est.coefs_ + est.intercepts_)
