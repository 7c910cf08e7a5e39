"""The activation and loss tables agree everywhere they are read.

The kernels' C tables (src_c/mlpfast_tables.h) say what exists;
mlpfast._activations adds the Python facts and checks the names at import.
These tests pin the rest: codes, roles, the typing Literals, parameter
validation, docstrings, the ONNX operators and the numpy reference.
"""
import re
import typing

import numpy as np
import pytest
from sklearn.datasets import make_classification

import mlpfast
import numpy_reference as ref
from mlpfast import _activations, _estimators, _kernels
from mlpfast._activations import (
    ACTIVATIONS, HIDDEN_ACTIVATIONS, LOSSES, OUTPUT_ACTIVATION_OF_LOSS, REGRESSION_LOSSES,
    SKLEARN_HIDDEN_ACTIVATIONS,
)
from mlpfast._network import NetworkLayout, glorot_uniform_params
from mlpfast._schedules import SCHEDULES

from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

ESTIMATORS = (mlpfast.MLPClassifier, mlpfast.MLPRegressor)


def test_python_tables_follow_the_kernels_tables():
    kernel_activations = _kernels.activation_table()
    assert list(ACTIVATIONS) == [name for name, _, _, _ in kernel_activations]
    assert [code for _, code, _, _ in kernel_activations] == list(range(len(ACTIVATIONS)))
    assert HIDDEN_ACTIVATIONS == tuple(name for name, _, hidden, _ in kernel_activations
                                       if hidden)
    kernel_losses = _kernels.loss_table()
    assert list(LOSSES) == [name for name, _, _, _, _ in kernel_losses]
    assert [code for _, code, _, _, _ in kernel_losses] == list(range(len(LOSSES)))
    assert OUTPUT_ACTIVATION_OF_LOSS == {name: output for name, _, output, _, _ in kernel_losses}
    assert set(OUTPUT_ACTIVATION_OF_LOSS.values()) <= set(ACTIVATIONS)
    assert [LOSSES[name].parameter is not None for name, _, _, _, _ in kernel_losses] == [
        has_parameter for _, _, _, _, has_parameter in kernel_losses]


def test_tables_hold_scikit_learns_activations_and_losses():
    assert set(SKLEARN_HIDDEN_ACTIVATIONS) == set(
        SkMLPClassifier._parameter_constraints["activation"][0].options)
    assert set(SKLEARN_HIDDEN_ACTIVATIONS) <= set(HIDDEN_ACTIVATIONS)
    assert {"squared_error", "poisson"} <= set(REGRESSION_LOSSES)
    # scikit-learn's own output activation for each of its losses.
    assert OUTPUT_ACTIVATION_OF_LOSS["squared_error"] == "identity"
    assert OUTPUT_ACTIVATION_OF_LOSS["poisson"] == "exp"
    assert OUTPUT_ACTIVATION_OF_LOSS["log_loss"] == "softmax"
    assert OUTPUT_ACTIVATION_OF_LOSS["binary_log_loss"] == "logistic"
    # ... and they are the losses a network trains with when none is named.
    assert _kernels.DEFAULT_LOSS_OF_OUTPUT == {
        "identity": "squared_error", "exp": "poisson", "softmax": "log_loss",
        "logistic": "binary_log_loss"}


def test_typing_literals_are_the_tables():
    assert set(typing.get_args(_estimators.Activation)) == set(HIDDEN_ACTIVATIONS)
    assert set(typing.get_args(_estimators.RegressionLoss)) == set(REGRESSION_LOSSES)


# The training rules of mlpfast's own, on both estimators (tests/test_training_rules.py).
TRAINING_RULES = {"dropout", "weight_decay", "max_grad_norm"}


@pytest.mark.parametrize("estimator_class", ESTIMATORS, ids=lambda c: c.__name__)
def test_parameter_validation_accepts_exactly_the_tables(estimator_class):
    constraints = estimator_class._parameter_constraints
    assert constraints["activation"][0].options == set(HIDDEN_ACTIVATIONS)
    assert constraints["learning_rate"][0].options == set(SCHEDULES)
    if estimator_class is mlpfast.MLPRegressor:
        assert constraints["loss"][0].options == set(REGRESSION_LOSSES)
        loss_parameters = {LOSSES[name].parameter for name in REGRESSION_LOSSES} - {None}
        assert (constraints.keys()
                == SkMLPRegressor._parameter_constraints.keys() | loss_parameters
                | TRAINING_RULES)
    else:
        # class_weight is mlpfast's own (tests/test_class_weight.py).
        assert (constraints.keys()
                == SkMLPClassifier._parameter_constraints.keys() | {"class_weight"}
                | TRAINING_RULES)


def test_schedules_scikit_learn_has_are_its_own():
    sklearn_options = SkMLPClassifier._parameter_constraints["learning_rate"][0].options
    assert {name for name, schedule in SCHEDULES.items() if schedule.in_sklearn} == sklearn_options
    assert set(typing.get_args(_estimators.LearningRateSchedule)) == set(SCHEDULES)


def _documented_options(estimator_class, parameter):
    listed = re.search(parameter + r" : \{([^}]*)\}", estimator_class.__doc__).group(1)
    return {name.strip(" '") for name in listed.split(",")}


def test_docstrings_list_the_tables():
    # MLPRegressor's docstring refers to MLPClassifier's for `activation`.
    assert _documented_options(mlpfast.MLPClassifier, "activation") == set(HIDDEN_ACTIVATIONS)
    assert _documented_options(mlpfast.MLPRegressor, "loss") == set(REGRESSION_LOSSES)
    assert _documented_options(mlpfast.MLPClassifier, "learning_rate") == set(SCHEDULES)


@pytest.mark.parametrize("name", HIDDEN_ACTIVATIONS)
def test_every_hidden_activation_has_a_numpy_reference(name):
    z = np.linspace(-3.0, 3.0, 13).reshape(1, -1)
    a = ref.activate(z, name)
    assert a.shape == z.shape
    assert ref.derivative(z, a, name).shape == z.shape


def test_kernels_keep_the_derivative_of_the_activations_the_reference_differentiates_from_z():
    # f' of the others is a function of a = f(z), which the backward pass has.
    keeps = {name for name, _, _, keeps in _kernels.activation_table() if keeps}
    assert keeps == set(ref.DERIVATIVE_NEEDS_Z)


class _RecordingWriter:
    """A GraphWriter (mlpfast._onnx) that records the nodes written to it."""

    def __init__(self):
        self.nodes = []

    def constant(self, hint, value):
        return hint

    def node(self, op_type, inputs, hint, output=None, **attributes):
        self.nodes.append((op_type, attributes))
        return hint


def test_every_activation_has_onnx_operators():
    onnx = pytest.importorskip("onnx")
    from mlpfast._onnx import MIN_OPSET

    for facts in ACTIVATIONS.values():
        if facts.onnx_nodes is None:
            assert facts.name == "identity"
            continue
        writer = _RecordingWriter()
        assert facts.onnx_nodes(writer, "x", facts.name, np.float32) == facts.name
        assert writer.nodes, facts.name
        for op_type, attributes in writer.nodes:
            # The oldest opset to_onnx writes has every operator.
            schema = onnx.defs.get_schema(op_type, MIN_OPSET)
            assert set(attributes) <= set(schema.attributes), (facts.name, op_type)


@pytest.mark.parametrize("name", [name for name in ACTIVATIONS if name not in HIDDEN_ACTIVATIONS])
def test_network_rejects_output_only_activations_in_hidden_layers(name):
    with pytest.raises(ValueError, match="hidden activation"):
        _kernels.Network(NetworkLayout((3, 4, 2)), name, "softmax", 0.0)


@pytest.mark.parametrize("name", ["swish", "", "Relu"])
def test_network_rejects_names_outside_the_tables(name):
    with pytest.raises(ValueError, match="hidden activation"):
        _kernels.Network(NetworkLayout((3, 4, 2)), name, "softmax", 0.0)
    with pytest.raises(ValueError, match="output activation"):
        _kernels.Network(NetworkLayout((3, 4, 2)), "relu", name, 0.0)


@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
def test_initial_weights_use_the_tables_bound_factor(hidden):
    """The largest initial weight stays within the table's Glorot bound and
    comes close to it (100 draws of each 10 x 10 layer)."""
    layout = NetworkLayout((10, 10, 10))
    params = glorot_uniform_params(layout, hidden, np.random.RandomState(0), np.float64)
    bound = np.sqrt(ACTIVATIONS[hidden].init_bound_factor / 20)
    for coef in layout.coef_views(params):
        assert bound * 0.95 < np.abs(coef).max() <= bound


def test_import_fails_when_the_tables_disagree():
    facts = _activations._ACTIVATION_FACTS[:-1]
    kernel_names = [name for name, _, _, _ in _kernels.activation_table()]
    with pytest.raises(ImportError, match=r"in the kernels only \['exp'\]"):
        _activations._matched("activation", facts, kernel_names)
    extra = facts + (_activations.ActivationFacts("swish", onnx_nodes=None),)
    with pytest.raises(ImportError, match=r"in mlpfast._activations only \['swish'\]"):
        _activations._matched("activation", extra, kernel_names[:-1])


def test_import_fails_when_the_loss_table_is_inconsistent():
    table = _kernels.loss_table()
    _activations._check_losses(table, LOSSES)
    # A second default loss for an output activation, then none for it.
    second_default = table + [("absolute_error", len(table), "identity", True, False)]
    with pytest.raises(ImportError, match="exactly one default loss"):
        _activations._check_losses(second_default, LOSSES)
    no_default = [entry[:3] + (entry[3] and entry[2] != "exp",) + entry[4:]
                  for entry in table]
    with pytest.raises(ImportError, match="exactly one default loss"):
        _activations._check_losses(no_default, LOSSES)
    # A kernel that reads a parameter no estimator parameter holds.
    with pytest.raises(ImportError, match="'poisson' loss takes a parameter"):
        _activations._check_losses(
            [entry[:4] + (entry[0] == "poisson" or entry[4],) for entry in table], LOSSES)


@pytest.mark.parametrize("loss", list(LOSSES))
def test_network_takes_each_loss_with_its_output_and_parameter(loss):
    layout = NetworkLayout((3, 4, 2))
    output = OUTPUT_ACTIVATION_OF_LOSS[loss]
    parameter = 1.0 if LOSSES[loss].parameter is not None else None
    _kernels.Network(layout, "relu", output, 0.0, loss, parameter)
    other = "softmax" if output != "softmax" else "identity"
    with pytest.raises(ValueError, match=f"the '{loss}' loss goes with the '{output}' output"):
        _kernels.Network(layout, "relu", other, 0.0, loss, parameter)
    wrong = None if parameter is not None else 1.0
    with pytest.raises(ValueError, match=f"the '{loss}' loss takes (a|no) loss_parameter"):
        _kernels.Network(layout, "relu", output, 0.0, loss, wrong)
    with pytest.raises(ValueError, match="unsupported loss 'absolute_error'"):
        _kernels.Network(layout, "relu", output, 0.0, "absolute_error")


def test_constraint_for_options_beyond_scikit_learns():
    """The constraint a new activation will get: scikit-learn's class, the new set."""
    constraints = _estimators._with_options(
        SkMLPClassifier._parameter_constraints, "activation", HIDDEN_ACTIVATIONS + ("gelu",))
    (constraint,) = constraints["activation"]
    assert type(constraint) is type(SkMLPClassifier._parameter_constraints["activation"][0])
    assert constraint.is_satisfied_by("gelu") and constraint.is_satisfied_by("relu")
    assert not constraint.is_satisfied_by("swish")
    assert SkMLPClassifier._parameter_constraints["activation"][0].options == set(
        SKLEARN_HIDDEN_ACTIVATIONS)
