"""Activations and losses: what the Python layer knows of each, one table each.

The compiled kernels hold the list of what exists (``src_c/mlpfast_tables.h``,
read through :func:`mlpfast._kernels.activation_table` and
:func:`mlpfast._kernels.loss_table`): names, codes, which activations a hidden
layer may use, which output activation each loss goes with, which loss an
output activation trains with when none is named, which losses take a
parameter. This module adds what only Python uses (the initialisation bound,
the ONNX operator, whether scikit-learn has it, the estimator parameter
holding a loss's parameter) and checks at import that both tables name the
same entries, so an activation or loss added on one side and forgotten on the
other fails at ``import mlpfast``, not in a fit.

Everything else reads these tables: the estimators' parameter validation,
the initialisation (:mod:`mlpfast._network`), the ONNX export
(:mod:`mlpfast._onnx`), :func:`mlpfast.to_sklearn` and the tests. The typing
``Literal`` of the estimators' signatures cannot be computed; a test checks
it against :data:`HIDDEN_ACTIVATIONS` and :data:`REGRESSION_LOSSES`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlpfast import _kernels

#: ``write(writer, x, hint, dtype) -> name``: adds to ``writer`` (an
#: :class:`mlpfast._onnx.GraphWriter`) the ONNX nodes applying an activation
#: to the tensor named ``x``, with names from ``hint`` and constants of
#: ``dtype``, and returns the name of the result.
OnnxWriter = Callable[[Any, str, str, np.dtype], str]


@dataclass(frozen=True)
class ActivationFacts:
    """What the Python layer knows of one activation of the kernels' table.

    Attributes
    ----------
    name : str
        The name of ``activation=`` and ``out_activation_``.
    onnx_nodes : OnnxWriter or None
        Writes the ONNX nodes applying it (:func:`_onnx_operator` where one
        operator does); None when it adds no node (identity).
    init_bound_factor : float
        Weights and biases of every layer of a network with this hidden
        activation start uniform in ``±sqrt(factor / (fan_in + fan_out))``
        (Glorot): scikit-learn's factor is 2 for logistic and 6 otherwise,
        and 6 for the activations it lacks too.
    in_sklearn : bool
        scikit-learn's MLP has it: a model using it converts with
        :func:`mlpfast.to_sklearn`.
    """

    name: str
    onnx_nodes: OnnxWriter | None
    init_bound_factor: float = 6.0
    in_sklearn: bool = True


@dataclass(frozen=True)
class LossFacts:
    """What the Python layer knows of one loss of the kernels' table.

    Attributes
    ----------
    name : str
        scikit-learn's name of the loss.
    regression : bool
        A value of ``MLPRegressor(loss=...)``; the classifier's losses
        follow from the target type.
    parameter : str or None
        The estimator parameter holding the loss's parameter (the kernels'
        ``loss_parameter``), for exactly the losses the kernels' table says
        take one.
    """

    name: str
    regression: bool
    parameter: str | None = None


def _onnx_operator(op_type: str, **attributes: Any) -> OnnxWriter:
    """The OnnxWriter of one node: ``op_type`` with ``attributes``."""
    def write(writer, x, hint, dtype):
        return writer.node(op_type, [x], hint, **attributes)
    return write


def _onnx_constant(writer, hint, value, dtype):
    return writer.constant(hint, np.array([value], dtype=dtype))


# The activations scikit-learn lacks are PyTorch's, with its defaults, as the
# kernels compute them (src_c/elementwise_impl.h).  Their graphs use only
# operators that onnxruntime runs in float64 too, with constants of the
# graph's dtype: its CPU provider has float32 kernels alone for Elu,
# Softplus and Erf, and LeakyRelu's alpha is a float32 attribute (0.01 is
# not one).  Erf has no replacement: onnxruntime runs GELU graphs in
# float32 only.
_LEAKY_RELU_SLOPE = 0.01
_SOFTPLUS_THRESHOLD = 20.0


def _onnx_leaky_relu(writer, x, hint, dtype):
    """Max(x, 0.01 x): x above 0, 0.01 x below."""
    slope = _onnx_constant(writer, "leaky_relu_slope", _LEAKY_RELU_SLOPE, dtype)
    return writer.node("Max", [x, writer.node("Mul", [x, slope], f"{hint}_low")], hint)


def _onnx_above(writer, x, hint, threshold, dtype):
    """The bool tensor x > threshold."""
    bound = _onnx_constant(writer, f"{hint}_threshold", threshold, dtype)
    return writer.node("Greater", [x, bound], f"{hint}_above")


def _onnx_elu(writer, x, hint, dtype):
    """Where(x > 0, x, Exp(x) - 1): alpha = 1."""
    exp = writer.node("Exp", [x], f"{hint}_exp")
    below = writer.node("Sub", [exp, _onnx_constant(writer, "one", 1.0, dtype)],
                        f"{hint}_below")
    return writer.node("Where", [_onnx_above(writer, x, hint, 0.0, dtype), x, below], hint)


def _onnx_gelu(writer, x, hint, dtype):
    """x * 0.5 * (1 + Erf(x / sqrt 2)), the exact GELU.

    Opset 20's Gelu operator is newer than the default opset.  1 + Erf
    cancels below x = -5 or so (the kernels use erfc), to an absolute
    error of a few ulps of x, far below what predictions resolve.
    """
    scaled = writer.node("Mul", [x, _onnx_constant(writer, "sqrt_half", np.sqrt(0.5), dtype)],
                         f"{hint}_scaled")
    erf = writer.node("Erf", [scaled], f"{hint}_erf")
    twice_cdf = writer.node("Add", [erf, _onnx_constant(writer, "one", 1.0, dtype)],
                            f"{hint}_twice_cdf")
    half_x = writer.node("Mul", [x, _onnx_constant(writer, "half", 0.5, dtype)],
                         f"{hint}_half_x")
    return writer.node("Mul", [half_x, twice_cdf], hint)


def _onnx_silu(writer, x, hint, dtype):
    """x * Sigmoid(x)."""
    return writer.node("Mul", [x, writer.node("Sigmoid", [x], f"{hint}_sigmoid")], hint)


def _onnx_softplus(writer, x, hint, dtype):
    """Where(x > 20, x, Log(1 + Exp(x))): beta = 1, threshold 20."""
    exp = writer.node("Exp", [x], f"{hint}_exp")
    one_plus = writer.node("Add", [exp, _onnx_constant(writer, "one", 1.0, dtype)],
                           f"{hint}_one_plus_exp")
    smooth = writer.node("Log", [one_plus], f"{hint}_smooth")
    above = _onnx_above(writer, x, hint, _SOFTPLUS_THRESHOLD, dtype)
    return writer.node("Where", [above, x, smooth], hint)


_ACTIVATION_FACTS = (
    ActivationFacts("identity", onnx_nodes=None),
    ActivationFacts("logistic", onnx_nodes=_onnx_operator("Sigmoid"), init_bound_factor=2.0),
    ActivationFacts("tanh", onnx_nodes=_onnx_operator("Tanh")),
    ActivationFacts("relu", onnx_nodes=_onnx_operator("Relu")),
    ActivationFacts("leaky_relu", onnx_nodes=_onnx_leaky_relu, in_sklearn=False),
    ActivationFacts("elu", onnx_nodes=_onnx_elu, in_sklearn=False),
    ActivationFacts("gelu", onnx_nodes=_onnx_gelu, in_sklearn=False),
    ActivationFacts("silu", onnx_nodes=_onnx_silu, in_sklearn=False),
    ActivationFacts("softplus", onnx_nodes=_onnx_softplus, in_sklearn=False),
    ActivationFacts("softmax", onnx_nodes=_onnx_operator("Softmax", axis=1)),
    ActivationFacts("exp", onnx_nodes=_onnx_operator("Exp")),
)

_LOSS_FACTS = (
    LossFacts("squared_error", regression=True),
    LossFacts("log_loss", regression=False),
    LossFacts("binary_log_loss", regression=False),
    LossFacts("poisson", regression=True),
    LossFacts("huber", regression=True, parameter="huber_delta"),
)


def _matched(kind, facts, kernel_names):
    """``facts`` by name, in the kernels' order; ImportError unless the names agree."""
    by_name = {entry.name: entry for entry in facts}
    missing_here = [name for name in kernel_names if name not in by_name]
    missing_there = [name for name in by_name if name not in kernel_names]
    if missing_here or missing_there or len(by_name) != len(facts):
        raise ImportError(
            f"mlpfast's {kind} tables disagree: in the kernels only {missing_here}, "
            f"in mlpfast._activations only {missing_there} (rebuild the extension, "
            "or add the entry to both tables)"
        )
    return {name: by_name[name] for name in kernel_names}


def _check_losses(kernel_losses, losses):
    """ImportError unless the loss table's defaults and parameters are consistent.

    A network named no loss trains with its output activation's default
    loss (:class:`mlpfast._kernels.Network`), so each output activation of
    a loss has exactly one; and a loss has an estimator parameter (its
    ``LossFacts.parameter``) exactly when its kernel reads one.
    """
    outputs = {output for _, _, output, _, _ in kernel_losses}
    defaults = [output for _, _, output, is_default, _ in kernel_losses if is_default]
    if sorted(defaults) != sorted(outputs):
        raise ImportError(
            "each output activation must have exactly one default loss; the defaults "
            f"of the kernels' loss table are for {sorted(defaults)}, its output "
            f"activations {sorted(outputs)}"
        )
    for name, _, _, _, has_parameter in kernel_losses:
        if (losses[name].parameter is not None) != has_parameter:
            raise ImportError(
                f"the kernels' {name!r} loss takes {'a' if has_parameter else 'no'} "
                f"parameter, but its LossFacts.parameter is {losses[name].parameter!r}"
            )


_kernel_activations = _kernels.activation_table()
_kernel_losses = _kernels.loss_table()

#: Every activation, by name, in the kernels' order.
ACTIVATIONS: dict[str, ActivationFacts] = _matched(
    "activation", _ACTIVATION_FACTS, [entry[0] for entry in _kernel_activations])
#: Every loss, by name, in the kernels' order.
LOSSES: dict[str, LossFacts] = _matched(
    "loss", _LOSS_FACTS, [entry[0] for entry in _kernel_losses])

#: The values of ``activation=``: activations with the hidden role.
HIDDEN_ACTIVATIONS: tuple[str, ...] = tuple(
    name for name, _, hidden, _ in _kernel_activations if hidden)
#: The hidden activations scikit-learn's MLP has too.
SKLEARN_HIDDEN_ACTIVATIONS: tuple[str, ...] = tuple(
    name for name in HIDDEN_ACTIVATIONS if ACTIVATIONS[name].in_sklearn)
#: The output activation each loss goes with, by loss name.
OUTPUT_ACTIVATION_OF_LOSS: dict[str, str] = {
    name: output for name, _, output, _, _ in _kernel_losses}
#: The values of ``MLPRegressor(loss=...)``.
REGRESSION_LOSSES: tuple[str, ...] = tuple(
    name for name, facts in LOSSES.items() if facts.regression)

_check_losses(_kernel_losses, LOSSES)
