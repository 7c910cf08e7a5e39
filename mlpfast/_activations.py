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

from dataclasses import dataclass
from typing import Any

from mlpfast import _kernels


@dataclass(frozen=True)
class ActivationFacts:
    """What the Python layer knows of one activation of the kernels' table.

    Attributes
    ----------
    name : str
        The name of ``activation=`` and ``out_activation_``.
    onnx_node : tuple of (str, dict) or None
        The ONNX operator applying it and the operator's attributes; None
        when it adds no node (identity).
    init_bound_factor : float
        Weights and biases of every layer of a network with this hidden
        activation start uniform in ``±sqrt(factor / (fan_in + fan_out))``
        (Glorot): scikit-learn's factor is 2 for logistic and 6 otherwise.
    in_sklearn : bool
        scikit-learn's MLP has it: a model using it converts with
        :func:`mlpfast.to_sklearn`.
    """

    name: str
    onnx_node: tuple[str, dict[str, Any]] | None
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


_ACTIVATION_FACTS = (
    ActivationFacts("identity", onnx_node=None),
    ActivationFacts("logistic", onnx_node=("Sigmoid", {}), init_bound_factor=2.0),
    ActivationFacts("tanh", onnx_node=("Tanh", {})),
    ActivationFacts("relu", onnx_node=("Relu", {})),
    ActivationFacts("softmax", onnx_node=("Softmax", {"axis": 1})),
    ActivationFacts("exp", onnx_node=("Exp", {})),
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
