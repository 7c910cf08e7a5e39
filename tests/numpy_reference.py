"""A small plain-numpy multilayer perceptron, used as the oracle of the kernel tests.

It is written for readability, not speed, and shares no code with mlpfast:
the parameter offsets are computed here from the layer widths.

Conventions (those of mlpfast's flat parameter vector):

* ``layer_units`` lists every layer width, the input first and the output last.
* The flat vector holds every weight matrix first, each row-major with shape
  ``(fan_in, fan_out)``, layer after layer, then every bias vector.
* The loss is paired with the output activation (its canonical link):
  identity -> half mean squared error (mean over rows *and* outputs),
  softmax -> multiclass log loss, logistic -> binary log loss summed over the
  output columns; both log losses are means over rows.  The L2 term
  ``0.5 * alpha * sum(W**2) / n_rows`` is added; biases are not penalised.
* The gradient is scikit-learn's: the output delta is ``p - y`` for every
  loss.  For the log losses that is the exact gradient of the loss.  For the
  squared error with ``k`` outputs the data part of the gradient is ``k`` times
  the gradient of the reported loss (the loss averages over outputs, the
  delta does not); the L2 part is exact.

All arithmetic is done in float64, whatever the dtype of the inputs.
"""
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, ndtr, xlogy

from mlpfast import _activations

# Which activations the tests exercise comes from mlpfast's table, so a new
# hidden activation fails here ("unknown activation") until it has its own
# reference below.  Output activations: those written here (the Poisson
# loss's exp output is checked against scikit-learn instead).
HIDDEN_ACTIVATIONS = _activations.HIDDEN_ACTIVATIONS
OUTPUT_ACTIVATIONS = ("identity", "logistic", "softmax")
# The activations whose derivative this reference computes from the
# pre-activation z (derivative_from_pre_activation); tests/test_tables.py
# checks that the kernels keep f'(z) for exactly these.
DERIVATIVE_NEEDS_Z = ("elu", "gelu", "silu", "softplus")
# PyTorch's defaults for the activations scikit-learn lacks.
LEAKY_RELU_SLOPE = 0.01
SOFTPLUS_THRESHOLD = 20.0


# ---------------------------------------------------------------------------
# flat parameter layout
# ---------------------------------------------------------------------------


def parameter_offsets(layer_units):
    """Where each block lives in the flat vector.

    Returns
    -------
    weight_starts : list of int
        Start of layer ``l``'s weight matrix.
    bias_starts : list of int
        Start of layer ``l``'s bias vector.
    n_params : int
    """
    position = 0
    weight_starts = []
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        weight_starts.append(position)
        position += fan_in * fan_out
    bias_starts = []
    for fan_out in layer_units[1:]:
        bias_starts.append(position)
        position += fan_out
    return weight_starts, bias_starts, position


def n_parameters(layer_units):
    return parameter_offsets(layer_units)[2]


def unpack(params, layer_units):
    """Weight matrices and bias vectors (float64 copies) of a flat vector."""
    weight_starts, bias_starts, n_params = parameter_offsets(layer_units)
    params = np.asarray(params, dtype=np.float64)
    if params.shape != (n_params,):
        raise ValueError(f"expected {n_params} parameters, got shape {params.shape}")
    weights, biases = [], []
    for layer, (fan_in, fan_out) in enumerate(zip(layer_units[:-1], layer_units[1:])):
        start = weight_starts[layer]
        weights.append(params[start:start + fan_in * fan_out].reshape(fan_in, fan_out).copy())
        start = bias_starts[layer]
        biases.append(params[start:start + fan_out].copy())
    return weights, biases


def pack(weights, biases):
    """The flat vector of a list of weight matrices and a list of bias vectors."""
    blocks = [np.ravel(w) for w in weights] + [np.ravel(b) for b in biases]
    return np.concatenate(blocks).astype(np.float64)


# ---------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------


def activate(z, name):
    """The activation ``name`` applied to pre-activations ``z`` (a new array)."""
    if name == "identity":
        return z.copy()
    if name == "logistic":
        return expit(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, LEAKY_RELU_SLOPE * z)
    if name == "elu":
        return np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))
    if name == "gelu":
        return z * ndtr(z)          # ndtr: the normal CDF, accurate in both tails
    if name == "silu":
        return z * expit(z)
    if name == "softplus":
        return np.where(z > SOFTPLUS_THRESHOLD, z, np.logaddexp(0.0, z))
    if name == "softmax":
        shifted = np.exp(z - z.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    raise ValueError(f"unknown activation {name!r}")


def derivative_from_output(a, name):
    """f'(z) of a hidden activation, written in terms of its output a = f(z)."""
    if name == "identity":
        return np.ones_like(a)
    if name == "logistic":
        return a * (1.0 - a)
    if name == "tanh":
        return 1.0 - a * a
    if name == "relu":
        return (a > 0).astype(a.dtype)
    if name == "leaky_relu":
        return np.where(a > 0, 1.0, LEAKY_RELU_SLOPE)
    raise ValueError(f"unknown hidden activation {name!r} (or its derivative needs z)")


def derivative_from_pre_activation(z, name):
    """f'(z) of a hidden activation of DERIVATIVE_NEEDS_Z, from z."""
    if name == "elu":
        return np.where(z > 0, 1.0, np.exp(np.minimum(z, 0.0)))
    if name == "gelu":
        return ndtr(z) + z * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    if name == "silu":
        # sigma(z) + z sigma(z) sigma(-z): no 1 - sigma(z) to cancel.
        return expit(z) + z * expit(z) * expit(-z)
    if name == "softplus":
        return np.where(z > SOFTPLUS_THRESHOLD, 1.0, expit(z))
    raise ValueError(f"unknown hidden activation {name!r} (or its derivative needs only a)")


def derivative(z, a, name):
    """f'(z) of a hidden activation, from z or from a = f(z) as it needs."""
    if name in DERIVATIVE_NEEDS_Z:
        return derivative_from_pre_activation(z, name)
    return derivative_from_output(a, name)


# ---------------------------------------------------------------------------
# forward pass, loss, backward pass
# ---------------------------------------------------------------------------


def pre_activations_and_activations(params, layer_units, X, hidden, output):
    """Both the pre-activations z_l and the activations a_l of every layer.

    Returns
    -------
    zs : list of ndarray
        ``zs[l]`` is the pre-activation of layer ``l + 1``.
    activations : list of ndarray
        ``activations[0]`` is X (as float64), ``activations[-1]`` the output.
    """
    weights, biases = unpack(params, layer_units)
    a = np.asarray(X, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != layer_units[0]:
        raise ValueError(f"X must have shape (n, {layer_units[0]}), got {a.shape}")
    zs, activations = [], [a]
    last = len(weights) - 1
    for layer, (w, b) in enumerate(zip(weights, biases)):
        z = a @ w + b
        a = activate(z, output if layer == last else hidden)
        zs.append(z)
        activations.append(a)
    return zs, activations


def forward(params, layer_units, X, hidden, output):
    """Activations of every layer, the input first and the network output last."""
    return pre_activations_and_activations(params, layer_units, X, hidden, output)[1]


def data_loss(p, Y, output, clip_eps=np.finfo(np.float64).eps):
    """Mean loss of predictions p against targets Y (no L2 term).

    Log losses clip the probabilities to ``[clip_eps, 1 - clip_eps]``.
    """
    p = np.asarray(p, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    n_rows = p.shape[0]
    if output == "identity":
        return 0.5 * np.mean((Y - p) ** 2)
    clipped = np.clip(p, clip_eps, 1.0 - clip_eps)
    if output == "softmax":
        return -np.sum(xlogy(Y, clipped)) / n_rows
    if output == "logistic":
        return -np.sum(xlogy(Y, clipped) + xlogy(1.0 - Y, 1.0 - clipped)) / n_rows
    raise ValueError(f"unknown output activation {output!r}")


def l2_term(params, layer_units, alpha, n_rows):
    weights, _ = unpack(params, layer_units)
    return 0.5 * alpha * sum(np.sum(w * w) for w in weights) / n_rows


def loss(params, layer_units, X, Y, hidden, output, alpha,
         clip_eps=np.finfo(np.float64).eps):
    """Mean data loss plus the L2 term, for (X, Y) taken as one batch."""
    p = forward(params, layer_units, X, hidden, output)[-1]
    return data_loss(p, Y, output, clip_eps) + l2_term(params, layer_units, alpha, X.shape[0])


def weighted_loss(params, layer_units, X, Y, hidden, output, alpha, sample_weight,
                  clip_eps=np.finfo(np.float64).eps):
    """``loss`` with weighted rows, as scikit-learn weighs them.

    The weighted mean of the rows' data losses plus the L2 term divided by
    the weight sum instead of the number of rows.
    """
    p = forward(params, layer_units, X, hidden, output)[-1]
    Y = np.asarray(Y, dtype=np.float64)
    row_losses = [data_loss(p[i:i + 1], Y[i:i + 1], output, clip_eps) for i in range(len(p))]
    weight_sum = np.sum(sample_weight, dtype=np.float64)
    return (np.average(row_losses, weights=sample_weight)
            + l2_term(params, layer_units, alpha, weight_sum))


def loss_and_gradient(params, layer_units, X, Y, hidden, output, alpha,
                      clip_eps=np.finfo(np.float64).eps):
    """Loss of (X, Y) as one batch, and its gradient as a flat float64 vector.

    The gradient follows scikit-learn's convention (module docstring).
    """
    weights, _ = unpack(params, layer_units)
    zs, activations = pre_activations_and_activations(params, layer_units, X, hidden, output)
    Y = np.asarray(Y, dtype=np.float64)
    n_rows = activations[0].shape[0]
    value = data_loss(activations[-1], Y, output, clip_eps)
    value += 0.5 * alpha * sum(np.sum(w * w) for w in weights) / n_rows

    n_layers = len(weights)
    weight_grads = [None] * n_layers
    bias_grads = [None] * n_layers
    delta = activations[-1] - Y  # d loss / d z of the output layer (times k for squared error)
    for layer in range(n_layers - 1, -1, -1):
        weight_grads[layer] = (activations[layer].T @ delta + alpha * weights[layer]) / n_rows
        bias_grads[layer] = delta.sum(axis=0) / n_rows
        if layer > 0:
            delta = (delta @ weights[layer].T) * derivative(
                zs[layer - 1], activations[layer], hidden
            )
    return value, pack(weight_grads, bias_grads)


# ---------------------------------------------------------------------------
# optimizers
# ---------------------------------------------------------------------------


@dataclass
class SGDState:
    """SGD with (optionally Nesterov) momentum; ``velocity`` is the moment."""

    learning_rate: float
    momentum: float
    nesterov: bool
    velocity: np.ndarray

    def step(self, params, grad):
        """New parameters after one step; the velocity is updated."""
        self.velocity = self.momentum * self.velocity - self.learning_rate * grad
        if self.nesterov:
            update = self.momentum * self.velocity - self.learning_rate * grad
        else:
            update = self.velocity
        return params + update


@dataclass
class AdamState:
    """Adam; ``t`` counts the steps, ``learning_rate`` is the last corrected rate."""

    learning_rate_init: float
    beta_1: float
    beta_2: float
    epsilon: float
    m: np.ndarray
    v: np.ndarray
    t: int = 0
    learning_rate: float = field(default=None)

    def __post_init__(self):
        if self.learning_rate is None:
            self.learning_rate = self.learning_rate_init

    def step(self, params, grad):
        """New parameters after one step; moments, t and learning_rate are updated."""
        self.t += 1
        self.m = self.beta_1 * self.m + (1.0 - self.beta_1) * grad
        self.v = self.beta_2 * self.v + (1.0 - self.beta_2) * grad * grad
        self.learning_rate = (self.learning_rate_init
                              * np.sqrt(1.0 - self.beta_2 ** self.t)
                              / (1.0 - self.beta_1 ** self.t))
        return params - self.learning_rate * self.m / (np.sqrt(self.v) + self.epsilon)


def batch_slices(n_samples, batch_size):
    """Consecutive [start, stop) slices of length batch_size, the last one shorter."""
    return [slice(start, min(start + batch_size, n_samples))
            for start in range(0, n_samples, batch_size)]


def epoch(params, layer_units, X, Y, sample_order, batch_size, hidden, output, alpha,
          state, clip_eps=np.finfo(np.float64).eps):
    """One epoch of mini-batch training.

    Batches are consecutive slices of ``sample_order``; after each batch the
    optimizer ``state`` (SGDState or AdamState) takes one step.

    Returns
    -------
    params : ndarray
        The parameters after the epoch (float64, a new array).
    loss_sum : float
        Sum over batches of the batch loss times the batch length.
    """
    params = np.asarray(params, dtype=np.float64).copy()
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    loss_sum = 0.0
    for rows in batch_slices(len(sample_order), batch_size):
        index = sample_order[rows]
        batch_loss, grad = loss_and_gradient(params, layer_units, X[index], Y[index],
                                             hidden, output, alpha, clip_eps)
        loss_sum += batch_loss * len(index)
        params = state.step(params, grad)
    return params, loss_sum
