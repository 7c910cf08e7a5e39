"""The Huber loss, ``MLPRegressor(loss='huber', huber_delta=...)``.

Two references that share no code with the kernels: PyTorch's float64
autograd (``torch.nn.HuberLoss``) for the loss, its gradient and a few
epochs of training, and mlpfast's own squared-error fit (pinned to
scikit-learn's by the parity suite) for a Huber fit whose residuals all stay
within delta, which must be that fit bit for bit.

Tolerances: the loss and gradient of outputs given directly (a one-layer
network on the identity matrix, whose products are exact) differ from
PyTorch's by the rounding of a few sums, so to rtol 1e-12. Training goes
through matrix products and tanh/logistic, whose BLAS summation order and
libm rounding differ from PyTorch's in the last bits, and a few epochs
carry that on: rtol 1e-9, the project's float64 parity tolerance.
"""
import warnings

import numpy as np
import pytest
from conftest import RTOL64, engine_only
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning

from mlpfast import MLPClassifier, MLPRegressor, _kernels
from mlpfast._activations import LOSSES, OUTPUT_ACTIVATION_OF_LOSS
from mlpfast._network import NetworkLayout, glorot_uniform_params

pytestmark = engine_only  # scikit-learn has no Huber loss

# The loss and gradient of given outputs: a few sums apart from PyTorch's.
RTOL_OUTPUTS = 1e-12


def _outputs_loss_gradient(outputs, targets, loss="huber", delta=1.0):
    """The kernels' loss of ``outputs`` against ``targets`` and its gradient
    with respect to each output.

    A one-layer identity network on the n x n identity matrix outputs its
    weight matrix itself (biases 0), and the gradient of that weight matrix
    is the outputs' gradient (every product with the identity is exact).
    """
    n_rows, n_outputs = outputs.shape
    layout = NetworkLayout((n_rows, n_outputs))
    params = layout.pack([outputs], [np.zeros(n_outputs)], np.float64)
    parameter = delta if LOSSES[loss].parameter is not None else None
    net = _kernels.Network(layout, "identity", "identity", 0.0, loss, parameter)
    grad = np.empty_like(params)
    value = _kernels.loss_gradient(net, np.eye(n_rows), targets, params, grad)
    return value, layout.coef_views(grad)[0]


def _straddling_problem(n_rows, n_outputs, delta, seed=0):
    """Outputs and targets whose residuals lie on both sides of ±delta."""
    rng = np.random.RandomState(seed)
    outputs = rng.normal(size=(n_rows, n_outputs))
    targets = outputs + rng.normal(scale=2 * delta, size=(n_rows, n_outputs))
    residuals = np.abs(targets - outputs)
    assert (residuals < delta).any() and (residuals > delta).any()
    return outputs, targets


def _torch_huber(outputs, targets, delta):
    """PyTorch's mean Huber loss of the outputs and its gradient with respect to them."""
    torch = pytest.importorskip("torch")
    p = torch.tensor(outputs, dtype=torch.float64, requires_grad=True)
    value = torch.nn.HuberLoss(delta=delta)(p, torch.tensor(targets, dtype=torch.float64))
    value.backward()
    return value.item(), p.grad.numpy()


@pytest.mark.parametrize("delta", [0.25, 1.0, 3.0])
def test_one_output_loss_and_gradient_are_torchs(delta):
    outputs, targets = _straddling_problem(40, 1, delta)
    value, gradient = _outputs_loss_gradient(outputs, targets, delta=delta)
    torch_value, torch_gradient = _torch_huber(outputs, targets, delta)
    assert_allclose(value, torch_value, rtol=RTOL_OUTPUTS)
    assert_allclose(gradient, torch_gradient, rtol=RTOL_OUTPUTS, atol=0)


def test_several_outputs_average_as_squared_error_does():
    """The loss is the mean over rows and outputs (PyTorch's mean over all
    elements); the gradient, as scikit-learn's squared-error gradient, is not
    divided by the number of outputs, and within delta it is squared error's."""
    delta, n_outputs = 0.7, 3
    outputs, targets = _straddling_problem(30, n_outputs, delta)
    value, gradient = _outputs_loss_gradient(outputs, targets, delta=delta)
    torch_value, torch_gradient = _torch_huber(outputs, targets, delta)
    assert_allclose(value, torch_value, rtol=RTOL_OUTPUTS)
    assert_allclose(gradient, n_outputs * torch_gradient, rtol=RTOL_OUTPUTS, atol=0)

    squared_value, squared_gradient = _outputs_loss_gradient(outputs, targets, "squared_error")
    assert_allclose(squared_value, ((outputs - targets) ** 2).mean() / 2, rtol=RTOL_OUTPUTS)
    within = np.abs(targets - outputs) <= delta
    assert_array_equal(gradient[within], squared_gradient[within])


def test_gradient_is_clipped_at_delta():
    delta = 0.5
    outputs, targets = _straddling_problem(50, 2, delta)
    _, gradient = _outputs_loss_gradient(outputs, targets, delta=delta)
    per_row = gradient * len(outputs)   # undo the mean over rows
    residuals = targets - outputs
    assert np.abs(per_row).max() <= delta * (1 + 1e-15)
    beyond = np.abs(residuals) > delta
    assert_allclose(per_row[beyond], -delta * np.sign(residuals[beyond]), rtol=1e-15)
    assert_allclose(per_row[~beyond], -residuals[~beyond], rtol=1e-15)


# ----------------------------------------------------------------------
# Training against PyTorch
# ----------------------------------------------------------------------
def _training_data(n_outputs):
    X, y = make_regression(n_samples=60, n_features=5, n_targets=n_outputs, noise=1.0,
                           random_state=0)
    y = y / y.std()
    # A few outliers, so that the linear branch matters.
    y[::7] += 4.0
    return X, y


def _torch_training(X, y, units, hidden, delta, alpha, rate, epochs, params):
    """Full-batch gradient descent in PyTorch from ``params`` (mlpfast's layout);
    returns the per-layer weights, biases and per-epoch losses.

    The loss is the Huber loss plus scikit-learn's L2 term
    ``0.5 * alpha * ||W||^2 / n``; the gradient is taken of the Huber loss
    times the number of outputs (the sum over outputs, averaged over rows:
    see test_several_outputs_average_as_squared_error_does).
    """
    torch = pytest.importorskip("torch")
    layout = NetworkLayout(units)
    activation = {"identity": torch.nn.Identity, "relu": torch.nn.ReLU,
                  "tanh": torch.nn.Tanh, "logistic": torch.nn.Sigmoid}[hidden]
    layers = []
    for coef, intercept in zip(layout.coef_views(params), layout.intercept_views(params)):
        linear = torch.nn.Linear(*coef.shape, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(coef.T))
            linear.bias.copy_(torch.tensor(intercept))
        layers += [linear, activation()]
    model = torch.nn.Sequential(*layers[:-1])   # the output layer is linear
    inputs = torch.tensor(X)
    targets = torch.tensor(y.reshape(len(y), -1))
    huber = torch.nn.HuberLoss(delta=delta)
    weights = [layer.weight for layer in layers[::2]]
    losses = []
    for _ in range(epochs):
        model.zero_grad()
        data_loss = huber(model(inputs), targets)
        l2 = 0.5 * alpha * sum((w ** 2).sum() for w in weights) / len(X)
        (targets.shape[1] * data_loss + l2).backward()
        losses.append((data_loss + l2).item())
        with torch.no_grad():
            for parameter in model.parameters():
                parameter -= rate * parameter.grad
    coefs = [w.detach().numpy().T for w in weights]
    intercepts = [layer.bias.detach().numpy() for layer in layers[::2]]
    return coefs, intercepts, losses


@pytest.mark.parametrize("epochs", [1, 5])
@pytest.mark.parametrize("hidden, n_outputs", [("relu", 1), ("tanh", 1), ("logistic", 2),
                                               ("tanh", 3)])
def test_sgd_training_is_torchs(hidden, n_outputs, epochs):
    pytest.importorskip("torch")
    X, y = _training_data(n_outputs)
    delta, alpha, rate = 0.8, 1e-2, 0.05
    model = MLPRegressor(
        loss="huber", huber_delta=delta, hidden_layer_sizes=(7,), activation=hidden,
        solver="sgd", momentum=0.0, learning_rate_init=rate, batch_size=len(X),
        shuffle=False, alpha=alpha, max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    # The fit's initial weights: its first draws from RandomState(0).
    units = (X.shape[1], 7, n_outputs)
    initial = glorot_uniform_params(NetworkLayout(units), hidden, np.random.RandomState(0),
                                    np.float64)
    coefs, intercepts, losses = _torch_training(X, y, units, hidden, delta, alpha, rate,
                                                epochs, initial)
    for ours, theirs in zip(model.coefs_ + model.intercepts_, coefs + intercepts):
        assert_allclose(ours, theirs, rtol=RTOL64, atol=1e-12)
    assert_allclose(model.loss_curve_, losses, rtol=RTOL64)


# ----------------------------------------------------------------------
# Within delta, a Huber fit is a squared-error fit
# ----------------------------------------------------------------------
FIT_MODES = {
    "lbfgs": dict(solver="lbfgs", max_iter=30),
    "sgd": dict(solver="sgd", learning_rate_init=0.01, max_iter=8),
    "adam": dict(solver="adam", learning_rate_init=0.01, max_iter=8),
    "adam_early_stopping": dict(solver="adam", learning_rate_init=0.01, max_iter=8,
                                early_stopping=True, n_iter_no_change=2),
    "sgd_two_outputs": dict(solver="sgd", learning_rate_init=0.01, max_iter=8),
}


def _fit(loss, delta, mode, dtype=np.float64, sample_weight=None):
    X, y = _training_data(2 if mode == "sgd_two_outputs" else 1)
    model = MLPRegressor(loss=loss, huber_delta=delta, hidden_layer_sizes=(6,),
                         random_state=0, **FIT_MODES[mode])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X.astype(dtype), y, sample_weight=sample_weight)


def _assert_same_fit(a, b):
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert u.dtype == v.dtype
        assert_array_equal(u, v)
    assert a.loss_ == b.loss_
    for name in ("loss_curve_", "validation_scores_"):
        assert getattr(a, name, None) == getattr(b, name, None), name


# Targets have standard deviation about 1 (outliers about 4 more): no
# residual comes near this delta.
LARGE_DELTA = 100.0


@pytest.mark.parametrize("mode", list(FIT_MODES))
def test_huber_within_delta_is_exactly_squared_error(mode):
    huber = _fit("huber", LARGE_DELTA, mode)
    assert huber.out_activation_ == "identity"
    _assert_same_fit(huber, _fit("squared_error", LARGE_DELTA, mode))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huber_within_delta_is_exactly_squared_error_weighted(dtype):
    weights = np.random.RandomState(1).uniform(0.5, 2.0, size=60)
    _assert_same_fit(_fit("huber", LARGE_DELTA, "sgd", dtype, weights),
                     _fit("squared_error", LARGE_DELTA, "sgd", dtype, weights))


def _train_incrementally(loss, delta):
    """partial_fit three times, then a warm-start fit."""
    X, y = _training_data(1)
    model = MLPRegressor(loss=loss, huber_delta=delta, hidden_layer_sizes=(6,),
                         learning_rate_init=0.01, random_state=0)
    for _ in range(3):
        model.partial_fit(X, y)
    model.set_params(warm_start=True, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def test_incremental_huber_within_delta_is_exactly_squared_error():
    _assert_same_fit(_train_incrementally("huber", LARGE_DELTA),
                     _train_incrementally("squared_error", LARGE_DELTA))


@pytest.mark.parametrize("mode", list(FIT_MODES))
def test_a_small_delta_changes_the_fit(mode):
    small, large = _fit("huber", 0.1, mode), _fit("huber", LARGE_DELTA, mode)
    assert not np.allclose(small.coefs_[0], large.coefs_[0])
    assert small.loss_ < large.loss_   # its loss grows only linearly with the residuals


def test_a_small_delta_changes_incremental_training():
    small, large = _train_incrementally("huber", 0.1), _train_incrementally("huber",
                                                                            LARGE_DELTA)
    assert not np.allclose(small.coefs_[0], large.coefs_[0])


def test_a_changed_delta_is_used_by_the_next_fit():
    """The network the model caches follows ``huber_delta``."""
    X, y = _training_data(1)

    def warm_start_with(second_delta):
        model = MLPRegressor(loss="huber", huber_delta=LARGE_DELTA, solver="sgd",
                             learning_rate_init=0.05, max_iter=1, hidden_layer_sizes=(6,),
                             random_state=0, warm_start=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
            return model.set_params(huber_delta=second_delta).fit(X, y)

    changed, unchanged = warm_start_with(0.1), warm_start_with(LARGE_DELTA)
    assert np.abs(changed.coefs_[0] - unchanged.coefs_[0]).max() > 1e-4


def test_a_loss_of_another_output_leaves_the_network_alone():
    """Changing ``loss`` after a fit does not change the fitted network's output:
    a Poisson model keeps predicting, and continues with its own loss."""
    X, y = _training_data(1)
    y = np.abs(y)
    model = MLPRegressor(loss="poisson", hidden_layer_sizes=(6,), max_iter=3,
                         random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    predictions = model.predict(X)
    model.set_params(loss="huber")
    assert_array_equal(model.predict(X), predictions)
    assert model._network_loss() == (None, None)


# ----------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------
def test_huber_is_a_regression_loss_of_the_identity_output():
    assert LOSSES["huber"].regression
    assert LOSSES["huber"].parameter == "huber_delta"
    assert OUTPUT_ACTIVATION_OF_LOSS["huber"] == "identity"
    model = MLPRegressor()
    assert model.huber_delta == 1.0
    assert "huber_delta" in model.get_params()


def test_huber_delta_is_keyword_only():
    with pytest.raises(TypeError):
        MLPRegressor("huber", (5,), "relu", 1.0)


@pytest.mark.parametrize("delta", [0, 0.0, -1.0, float("nan"), float("inf"), "1.0", None])
def test_invalid_huber_delta_is_rejected_as_scikit_learn_rejects_parameters(delta):
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = _training_data(1)
    message = (r"The 'huber_delta' parameter of MLPRegressor must be a float in the range "
               r"\(0.0, inf\). Got .* instead.")
    with pytest.raises(InvalidParameterError, match=message):
        MLPRegressor(loss="huber", huber_delta=delta).fit(X, y)


def test_huber_delta_constraint_is_scikit_learns_interval():
    from sklearn.utils._param_validation import Interval

    (constraint,) = MLPRegressor._parameter_constraints["huber_delta"]
    assert type(constraint) is Interval
    assert constraint.is_satisfied_by(1e-12) and constraint.is_satisfied_by(3)
    assert not constraint.is_satisfied_by(0.0)


def test_the_classifier_has_no_huber_loss():
    with pytest.raises(TypeError, match="unexpected keyword argument 'loss'"):
        MLPClassifier(loss="huber")
    with pytest.raises(ValueError, match="Invalid parameter 'loss'"):
        MLPClassifier().set_params(loss="huber")
    assert "huber_delta" not in MLPClassifier().get_params()


def test_network_rejects_a_delta_that_is_not_positive():
    layout = NetworkLayout((2, 1))
    for delta in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="loss_parameter must be a positive number"):
            _kernels.Network(layout, "relu", "identity", 0.0, "huber", delta)
