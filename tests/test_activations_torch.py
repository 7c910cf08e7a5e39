"""The activations scikit-learn lacks, against PyTorch's.

'leaky_relu', 'elu', 'gelu', 'silu' and 'softplus' are
``torch.nn.functional``'s with its default parameters.  Their values and
derivatives, through mlpfast's kernels, are compared with PyTorch's float64
autograd at points spanning [-1e30, 1e30] (0, the subnormals and the
smallest normal numbers, the thresholds of the activations and of exp's
range, the roots of the derivatives), and with the independent numpy/scipy
reference of ``tests/numpy_reference.py``; whole training steps are compared
with a PyTorch network trained on scikit-learn's loss.

The kernels are reached through their public entry points:

* values: ``_kernels.forward`` of a network of 1-wide layers with unit
  weights and zero biases, where ``x * 1 + 0`` around the activation is
  exact (as in test_vecmath.py);
* derivatives: ``_kernels.loss_gradient`` of a 1 -> n -> 1 network on one
  input row of 1, whose first layer holds the points as weights (so its
  pre-activations are the points, exactly), whose output weights are 1 and
  whose output bias is so large that the logistic output is exactly 1: with
  target 0 the output delta is exactly 1, the hidden deltas are exactly 1,
  and the gradient of the hidden biases is f'(x) itself.

Tolerances
----------
Agreement is to RTOL = 1e-12 relative, plus two allowances, each derived
from the size of what is rounded, never fitted to the results:

* Where a formula adds terms that cancel, its rounding error is relative to
  the terms, not to the result: ROUNDINGS * eps * (sum of the terms' sizes).
  That is PyTorch's GELU 0.5 x (1 + erf(x / sqrt 2)), where 1 + erf
  cancels for x below -3 (1.7e-12 relative at x = -4, no correct digit
  below -8.3; mlpfast's erfc does not cancel, and is compared with the
  reference to RTOL there), and the derivatives of GELU and SiLU near their
  roots (x = -0.75, -1.28), which any float evaluation computes as a sum of
  terms of size 0.5 to 1.  ROUNDINGS = 8: each result takes at most about
  five roundings of eps / 2 plus one or two libm or vector-math calls of at
  most 2 ulp, each relative to the terms at most.
* Results below max(1, |x|) times the smallest normal number come from a
  factor (exp, sigma, Phi) in the subnormal range, where fewer digits are
  kept and libraries round or flush differently (PyTorch's softplus(-745)
  is 0, the correctly rounded 2^-1074 is mlpfast's): an absolute allowance
  of that size.

float32 results are compared with the float64 kernels at the same points, to
ROUNDINGS float32 eps of the terms, each term weighted by one plus the
condition number of the exponential it goes through where its argument is
rounded: GELU's erfc(-x / sqrt 2) and exp(-x^2 / 2), whose relative error
is about x^2 times that of their argument (float32's erfc underflows near
x = -13, where x^2 = 170).
"""
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import erf, expit, ndtr
from sklearn.exceptions import ConvergenceWarning

import numpy_reference as ref
from conftest import engine_only
from mlpfast import MLPClassifier, _kernels
from mlpfast._activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from mlpfast._network import NetworkLayout, glorot_uniform_params

torch = pytest.importorskip("torch")
functional = torch.nn.functional

pytestmark = engine_only

NEW_ACTIVATIONS = tuple(name for name in HIDDEN_ACTIVATIONS if not ACTIVATIONS[name].in_sklearn)
# torch.nn.functional's defaults: negative_slope=0.01, alpha=1.0,
# approximate='none', beta=1 and threshold=20.
TORCH_FUNCTIONS = {
    "leaky_relu": functional.leaky_relu,
    "elu": functional.elu,
    "gelu": functional.gelu,
    "silu": functional.silu,
    "softplus": functional.softplus,
}

RTOL = 1e-12
ROUNDINGS = 8
GELU_ROOT = -0.7517916243912368     # gelu'(x) = 0
SILU_ROOT = -1.2784645427610738     # silu'(x) = 0


def test_every_activation_scikit_learn_lacks_has_a_torch_reference():
    assert set(NEW_ACTIVATIONS) == set(TORCH_FUNCTIONS)


def points(dtype):
    """Points spanning [-1e30, 1e30] of ``dtype``, sorted."""
    info = np.finfo(dtype)
    special = [
        0.0, info.smallest_subnormal, info.tiny, 2.0**-60, 1e-8,   # 2^-60: Phi, sigma ~ 1/2
        0.5, 1.0, 3.0, 4.0, 5.0, 8.0, 8.3, 13.0, 26.0, 37.5, 38.0, 38.5, 40.0,
        88.7, 103.9, 708.4, 709.78, 745.1, 1e4, 1e10, 1e20, 1e30,
        -GELU_ROOT, -SILU_ROOT,
    ]
    with np.errstate(over="ignore"):
        special = np.array(special, dtype=dtype)
    special = special[special <= dtype(1e30)]      # float32 overflows beyond
    threshold = dtype(20)        # softplus's, and the band below it where
    band = [threshold, threshold - dtype(2.1e-9), threshold + dtype(2.1e-9)]  # log1p(exp(x)) > 20
    near = np.concatenate([np.nextafter(special, np.inf), np.nextafter(special, -np.inf)])
    grid = np.concatenate([np.linspace(-45, 45, 181), np.geomspace(1e-30, 1e30, 61)])
    x = np.concatenate([special, near, band, np.nextafter(band, np.inf),
                        np.nextafter(band, -np.inf), grid.astype(dtype)]).astype(dtype)
    x = np.unique(np.concatenate([x, -x]))
    return x[np.abs(x) <= dtype(1e30)]


def kernel_values(name, x):
    """f(x) through forward(): x * 1 + 0 around the activation is exact."""
    net = _kernels.Network(NetworkLayout([1, 1, 1]), name, "identity", 0.0)
    params = np.array([1.0, 1.0, 0.0, 0.0], dtype=x.dtype)   # W0, W1, b0, b1
    return _kernels.forward(net, x.reshape(-1, 1), params).ravel()


def kernel_derivatives(name, x):
    """f'(x) through loss_gradient() (module docstring)."""
    layout = NetworkLayout([1, len(x), 1])
    params = np.zeros(layout.n_params, dtype=x.dtype)
    layout.coef_views(params)[0][0] = x
    layout.coef_views(params)[1][:, 0] = 1
    # sigma(max / 4 + sum f(x)) is 1: the sum is at most 1e33.
    layout.intercept_views(params)[1][0] = np.finfo(x.dtype).max / 4
    net = _kernels.Network(layout, name, "logistic", 0.0)
    grad = np.empty_like(params)
    one, zero = np.ones((1, 1), dtype=x.dtype), np.zeros((1, 1), dtype=x.dtype)
    _kernels.loss_gradient(net, one, zero, params, grad)
    return layout.intercept_views(grad)[0].copy()


def torch_values_and_derivatives(name, x):
    """PyTorch's f(x) and f'(x) in float64 autograd."""
    points_tensor = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    values = TORCH_FUNCTIONS[name](points_tensor)
    values.sum().backward()
    return values.detach().numpy(), points_tensor.grad.numpy()


def normal_density(x):
    with np.errstate(over="ignore"):
        return np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)


def torch_terms(name, x, value, derivative):
    """Sizes of the terms PyTorch's formulas add, for f and f' (module docstring)."""
    if name == "gelu":
        twice_cdf = 1 + np.abs(erf(x / np.sqrt(2)))
        return 0.5 * np.abs(x) * twice_cdf, 0.5 * twice_cdf + np.abs(x) * normal_density(x)
    return own_terms(name, x, value, derivative)


def own_terms(name, x, value, derivative):
    """Sizes of the terms mlpfast's kernels add, for f and f'."""
    if name == "gelu":
        return np.abs(value), ndtr(x) + np.abs(x) * normal_density(x)
    if name == "silu":
        # sigma (1 + x (1 - sigma)): 1 - sigma cancels too, as sigma nears 1.
        sigma = expit(x)
        return np.abs(value), sigma * (1 + np.abs(x) * (1 + sigma))
    return np.abs(value), np.abs(derivative)


def subnormal_allowance(x, dtype):
    return np.maximum(np.abs(x.astype(np.float64)), 1) * np.finfo(dtype).tiny


def assert_close(actual, expected, terms, x, what):
    tolerance = (RTOL * np.abs(expected) + ROUNDINGS * np.finfo(np.float64).eps * terms
                 + subnormal_allowance(x, np.float64))
    error = np.abs(actual - expected)
    bad = ~(error <= tolerance)
    assert not bad.any(), (
        f"{what}: at x = {x[bad][:5]}: {actual[bad][:5]} vs {expected[bad][:5]} "
        f"(tolerance {tolerance[bad][:5]})")


@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
def test_values_and_derivatives_equal_torch(name):
    x = points(np.float64)
    values, derivatives = kernel_values(name, x), kernel_derivatives(name, x)
    assert np.isfinite(values).all() and np.isfinite(derivatives).all()
    expected_values, expected_derivatives = torch_values_and_derivatives(name, x)
    value_terms, derivative_terms = torch_terms(name, x, expected_values, expected_derivatives)
    assert_close(values, expected_values, value_terms, x, f"{name}(x)")
    assert_close(derivatives, expected_derivatives, derivative_terms, x, f"{name}'(x)")


@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
def test_values_and_derivatives_equal_the_numpy_reference(name):
    # Accurate where PyTorch's GELU cancels: to RTOL of the result there.
    x = points(np.float64)
    values, derivatives = kernel_values(name, x), kernel_derivatives(name, x)
    z = x.reshape(1, -1)
    with np.errstate(over="ignore", invalid="ignore"):
        expected_values = ref.activate(z, name).ravel()
        expected_derivatives = ref.derivative(z, expected_values.reshape(1, -1), name).ravel()
    value_terms, derivative_terms = own_terms(name, x, expected_values, expected_derivatives)
    assert_close(values, expected_values, value_terms, x, f"{name}(x)")
    assert_close(derivatives, expected_derivatives, derivative_terms, x, f"{name}'(x)")


def float32_scales(name, x, value, derivative):
    """own_terms, each weighted by one plus the condition number of the
    exponential it goes through (module docstring): GELU's alone.

    Phi(x) = erfc(-x / sqrt 2) / 2 has the condition number |x| phi / Phi,
    at most x^2 + 1 below 0 (Mills' ratio) and 0.5 above; exp(-x^2 / 2) in
    x phi(x) has x^2 / 2.
    """
    if name != "gelu":
        return own_terms(name, x, value, derivative)
    cdf_condition = np.where(x < 0, x * x + 1, 0.5)
    return (np.abs(value) * (1 + cdf_condition),
            ndtr(x) * (1 + cdf_condition) + np.abs(x) * normal_density(x) * (1 + 0.5 * x * x))


@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
def test_float32_kernels_round_like_float32(name):
    x = points(np.float32)
    values, derivatives = kernel_values(name, x), kernel_derivatives(name, x)
    assert np.isfinite(values).all() and np.isfinite(derivatives).all()
    x64 = x.astype(np.float64)
    expected_values, expected_derivatives = kernel_values(name, x64), kernel_derivatives(name, x64)
    value_scale, derivative_scale = float32_scales(name, x64, expected_values,
                                                   expected_derivatives)
    for what, actual, expected, scale in (
            (f"{name}(x)", values, expected_values, value_scale),
            (f"{name}'(x)", derivatives, expected_derivatives, derivative_scale)):
        tolerance = (ROUNDINGS * np.finfo(np.float32).eps * scale
                     + subnormal_allowance(x, np.float32))
        error = np.abs(actual.astype(np.float64) - expected)
        bad = ~(error <= tolerance)
        assert not bad.any(), (
            f"{what}: at x = {x[bad][:5]}: {actual[bad][:5]} vs {expected[bad][:5]}")


# ---------------------------------------------------------------------------
# training steps
# ---------------------------------------------------------------------------

HIDDEN_LAYER_SIZES = (7, 5)
ALPHA = 0.01
LEARNING_RATE = 0.1


def training_data():
    """60 rows of 4 features, 3 classes; x3 so that pre-activations reach
    past softplus's threshold and into the negative tails."""
    rng = np.random.default_rng(0)
    X = 3 * rng.standard_normal((60, 4))
    y = np.argmax(X[:, :3] + rng.standard_normal((60, 3)), axis=1)
    return X, y


def torch_training(name, params, layout, X, y, batch_size, epochs):
    """The weights after mini-batch SGD (momentum 0) on scikit-learn's loss:
    mean cross-entropy of the softmax output plus 0.5 alpha ||W||^2 / rows."""
    weights = [torch.tensor(w.T.copy(), requires_grad=True) for w in layout.coef_views(params)]
    biases = [torch.tensor(b.copy(), requires_grad=True) for b in layout.intercept_views(params)]
    X_tensor, y_tensor = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            rows = slice(start, start + batch_size)
            output = X_tensor[rows]
            for layer, (weight, bias) in enumerate(zip(weights, biases)):
                output = functional.linear(output, weight, bias)
                if layer < len(weights) - 1:
                    output = TORCH_FUNCTIONS[name](output)
            n_rows = output.shape[0]
            loss = (functional.cross_entropy(output, y_tensor[rows])
                    + 0.5 * ALPHA * sum((w * w).sum() for w in weights) / n_rows)
            loss.backward()
            with torch.no_grad():
                for parameter in weights + biases:
                    parameter -= LEARNING_RATE * parameter.grad
                    parameter.grad = None
    return ([w.detach().numpy().T for w in weights], [b.detach().numpy() for b in biases])


@pytest.mark.parametrize("batch_size, epochs", [(60, 1), (16, 4)],
                         ids=["one-full-batch-step", "four-epochs"])
@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
def test_training_equals_torch(name, batch_size, epochs):
    # The estimator draws its initial weights as glorot_uniform_params does
    # from RandomState(random_state); with shuffle=False its batches are
    # consecutive rows.  Every step's gradient agrees to a few ulps, and a
    # few steps amplify that little: rtol 1e-9 has a wide margin.
    X, y = training_data()
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN_LAYER_SIZES, activation=name, solver="sgd",
                        momentum=0.0, learning_rate_init=LEARNING_RATE, alpha=ALPHA,
                        batch_size=batch_size, max_iter=epochs, shuffle=False,
                        n_iter_no_change=epochs + 1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    layout = NetworkLayout((X.shape[1], *HIDDEN_LAYER_SIZES, 3))
    initial = glorot_uniform_params(layout, name, np.random.RandomState(0), np.float64)
    coefs, intercepts = torch_training(name, initial, layout, X, y, batch_size, epochs)
    for got, expected in zip(clf.coefs_ + clf.intercepts_, coefs + intercepts):
        assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    assert not np.allclose(clf.coefs_[0], layout.coef_views(initial)[0], rtol=1e-3)
