"""skl2onnx converters for mlpfast's estimators.

After :func:`register_skl2onnx`, ``skl2onnx.to_onnx`` converts pipelines
that hold an mlpfast ``MLPClassifier`` or ``MLPRegressor``. The converter
writes the same graph as :func:`mlpfast.to_onnx`, into skl2onnx's container
instead of a stand-alone model. skl2onnx is imported only when registering
or converting.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mlpfast._estimators import MLPClassifier, MLPRegressor
from mlpfast._onnx import (
    MIN_OPSET,
    ONNX_EXTRA_MESSAGE,
    NetworkSpec,
    describe_network,
    import_onnx,
    label_element_type,
    write_network,
)

_ALIASES = {MLPClassifier: "MlpfastMLPClassifier", MLPRegressor: "MlpfastMLPRegressor"}


def register_skl2onnx() -> None:
    """Let skl2onnx convert mlpfast's ``MLPClassifier`` and ``MLPRegressor``.

    Registers a shape calculator and a converter for each class with
    ``skl2onnx.update_registered_converter``; calling it again changes
    nothing. The converted estimator has the outputs :func:`mlpfast.to_onnx`
    documents, in the float type of its input. A classifier takes
    skl2onnx's ``zipmap`` option (default True, as for scikit-learn's
    classifiers); pass ``options={"zipmap": False}`` to keep the
    ``probabilities`` matrix.

    Raises
    ------
    ImportError
        If skl2onnx (part of the 'onnx' extra) is missing.

    Examples
    --------
    >>> import numpy as np, skl2onnx
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> import mlpfast
    >>> mlpfast.register_skl2onnx()
    >>> X, y = load_iris(return_X_y=True)
    >>> pipe = make_pipeline(StandardScaler(), mlpfast.MLPClassifier(random_state=0)).fit(X, y)
    >>> model = skl2onnx.to_onnx(pipe, X[:1].astype(np.float32), options={"zipmap": False})
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError as error:
        raise ImportError(ONNX_EXTRA_MESSAGE.format(what="register_skl2onnx")) from error
    update_registered_converter(
        MLPClassifier, _ALIASES[MLPClassifier], _set_output_types, _convert,
        overwrite=True, options={"zipmap": [True, False], "nocl": [False]},
    )
    update_registered_converter(
        MLPRegressor, _ALIASES[MLPRegressor], _set_output_types, _convert, overwrite=True,
    )


def _input_dtype(operator: Any) -> np.dtype:
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    input_type = operator.inputs[0].type
    if isinstance(input_type, FloatTensorType):
        return np.dtype(np.float32)
    if isinstance(input_type, DoubleTensorType):
        return np.dtype(np.float64)
    raise TypeError(
        f"{type(operator.raw_operator).__name__} converts float or double input, "
        f"got {type(input_type).__name__}"
    )


def _set_output_types(operator: Any) -> None:
    """skl2onnx shape calculator: type and shape of every output."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    dtype = _input_dtype(operator)
    spec = describe_network(operator.raw_operator, dtype)
    float_tensor = FloatTensorType if dtype == np.float32 else DoubleTensorType
    n_rows = operator.inputs[0].get_first_dimension()
    if spec.task == "regression":
        shape = [n_rows] if spec.n_outputs == 1 else [n_rows, spec.n_outputs]
        operator.outputs[0].type = float_tensor(shape)
        return
    label_shape = [n_rows, spec.n_outputs] if spec.label_is_matrix else [n_rows]
    operator.outputs[0].type = _label_tensor_class(spec)(label_shape)
    operator.outputs[1].type = float_tensor([n_rows, spec.n_probability_columns])


def _label_tensor_class(spec: NetworkSpec) -> type:
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        Int64TensorType,
        StringTensorType,
    )

    onnx = import_onnx("register_skl2onnx")
    return {
        onnx.TensorProto.INT64: Int64TensorType,
        onnx.TensorProto.DOUBLE: DoubleTensorType,
        onnx.TensorProto.STRING: StringTensorType,
    }[label_element_type(onnx, spec)]


def _convert(scope: Any, operator: Any, container: Any) -> None:
    """skl2onnx converter: the network's nodes, written into ``container``."""
    opset = container.target_opset
    if opset is not None and opset < MIN_OPSET:
        raise ValueError(f"mlpfast's ONNX export needs target_opset >= {MIN_OPSET}, got {opset}")
    spec = describe_network(operator.raw_operator, _input_dtype(operator))
    write_network(
        _ContainerWriter(scope, container),
        spec,
        operator.inputs[0].full_name,
        [output.full_name for output in operator.outputs],
    )


class _ContainerWriter:
    """Adds the graph's nodes and constants to a skl2onnx container."""

    def __init__(self, scope: Any, container: Any) -> None:
        self._scope = scope
        self._container = container
        self._numpy_helper = import_onnx("register_skl2onnx").numpy_helper

    def constant(self, hint: str, value: np.ndarray) -> str:
        name = self._scope.get_unique_variable_name(hint)
        tensor = self._numpy_helper.from_array(value, name)
        # The container copies a TensorProto's raw bytes, which strings lack.
        content = value.ravel() if value.dtype == object else tensor
        self._container.add_initializer(name, tensor.data_type, list(value.shape), content)
        return name

    def node(self, op_type: str, inputs: Sequence[str], hint: str,
             output: str | None = None, **attributes: Any) -> str:
        output = self._scope.get_unique_variable_name(hint) if output is None else output
        self._container.add_node(
            op_type, list(inputs), [output],
            name=self._scope.get_unique_operator_name(f"{op_type}_{hint}"), **attributes,
        )
        return output
