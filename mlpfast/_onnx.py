"""Export a fitted multi-layer perceptron as an ONNX graph.

The graph is written node by node with ``onnx.helper``: one ``MatMul`` and
one ``Add`` per layer, the nodes of the hidden activation after every hidden
layer, those of the output activation after the last one, then the nodes that turn the network
output into what ``predict`` and ``predict_proba`` return. The same graph
writer serves :func:`to_onnx` and the skl2onnx converter of
``mlpfast._skl2onnx``; only the place the nodes go differs.

``onnx`` is imported inside the functions that need it, so mlpfast imports
without the ``onnx`` extra.
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor
from sklearn.utils.validation import check_is_fitted

from mlpfast._activations import ACTIVATIONS, HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATION_OF_LOSS
from mlpfast._estimators import MLPClassifier, MLPRegressor

if TYPE_CHECKING:
    import onnx

# The oldest opset whose Softmax normalises along one named axis; every
# other operator used here has kept its meaning since then.
MIN_OPSET = 13
# Default opset: recent enough for any current runtime to have every
# operator, old enough for onnxruntime releases of the last few years.
DEFAULT_OPSET = 17

# A logistic output strictly above this means the positive class (or, for
# multilabel, the label present), as LabelBinarizer.inverse_transform decides.
_DECISION_THRESHOLD = 0.5


_CLASSIFIERS = (MLPClassifier, SklearnMLPClassifier)
_REGRESSORS = (MLPRegressor, SklearnMLPRegressor)

ONNX_EXTRA_MESSAGE = "{what} needs the 'onnx' extra: pip install 'mlpfast[onnx]'"


def import_onnx(what: str) -> Any:
    """Import ``onnx``, or raise an ImportError naming the extra to install."""
    try:
        import onnx
    except ImportError as error:
        raise ImportError(ONNX_EXTRA_MESSAGE.format(what=what)) from error
    return onnx


# ----------------------------------------------------------------------
# What the graph computes, read off a fitted estimator
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkSpec:
    """Everything the graph needs from a fitted estimator.

    ``task`` is 'regression', 'binary', 'multiclass' or 'multilabel'.
    ``class_lookup`` holds the label of each decoded class index (None for
    regression and multilabel, whose labels are the indicator matrix).
    """

    coefs: tuple[np.ndarray, ...]
    intercepts: tuple[np.ndarray, ...]
    hidden_activation: str
    output_activation: str
    task: str
    class_lookup: np.ndarray | None
    n_features: int
    n_outputs: int

    @property
    def n_probability_columns(self) -> int:
        """Width of the ``probabilities`` output of a classifier."""
        return 2 if self.task == "binary" else self.n_outputs

    @property
    def label_is_matrix(self) -> bool:
        """True when ``label`` is 2-D: multilabel indicators."""
        return self.task == "multilabel"


def check_export_dtype(dtype: Any) -> np.dtype:
    """The float dtype of the exported graph, float32 or float64."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"dtype must be numpy.float32 or numpy.float64, got {dtype!r}") from error
    if resolved not in (np.float32, np.float64):
        raise TypeError(f"dtype must be numpy.float32 or numpy.float64, got {resolved}")
    return resolved


def describe_network(estimator: Any, dtype: np.dtype) -> NetworkSpec:
    """Read a fitted MLP into a :class:`NetworkSpec` with weights of ``dtype``."""
    if not isinstance(estimator, _CLASSIFIERS + _REGRESSORS):
        raise TypeError(
            "expected a fitted MLPClassifier or MLPRegressor (mlpfast or "
            f"scikit-learn), got {type(estimator).__name__}"
        )
    check_is_fitted(estimator)
    hidden = estimator.activation
    if hidden not in HIDDEN_ACTIVATIONS:
        raise ValueError(
            f"hidden activation {hidden!r} has no ONNX export; "
            f"supported: {', '.join(HIDDEN_ACTIVATIONS)}"
        )
    output = estimator.out_activation_
    if output not in OUTPUT_ACTIVATION_OF_LOSS.values():
        raise ValueError(f"output activation {output!r} has no ONNX export")
    task, class_lookup = _classification_of(estimator)
    coefs = tuple(np.asarray(coef, dtype=dtype) for coef in estimator.coefs_)
    return NetworkSpec(
        coefs=coefs,
        intercepts=tuple(np.asarray(b, dtype=dtype) for b in estimator.intercepts_),
        hidden_activation=hidden,
        output_activation=output,
        task=task,
        class_lookup=class_lookup,
        n_features=coefs[0].shape[0],
        n_outputs=coefs[-1].shape[1],
    )


def _classification_of(estimator: Any) -> tuple[str, np.ndarray | None]:
    """The task and the class-index-to-label lookup of an estimator."""
    if isinstance(estimator, _REGRESSORS):
        return "regression", None
    task = {
        "binary": "binary",
        "multiclass": "multiclass",
        "multilabel-indicator": "multilabel",
    }.get(estimator._label_binarizer.y_type_)
    if task is None:
        raise ValueError(
            f"classifier target type {estimator._label_binarizer.y_type_!r} has no ONNX export"
        )
    if task == "multilabel":
        return task, None
    lookup = onnx_labels(np.asarray(estimator.classes_))
    if task == "binary" and len(lookup) == 1:
        # Fitted on one class: inverse_transform answers it for every row.
        lookup = np.repeat(lookup, 2)
    return task, lookup


def onnx_labels(classes: np.ndarray) -> np.ndarray:
    """Class labels as an ONNX-representable array: int64, float64 or str.

    Booleans become int64 (0 and 1 compare equal to False and True); a
    labels array of another kind raises TypeError.
    """
    kind = classes.dtype.kind
    if kind in "biu":
        if kind == "u" and classes.size and classes.max() > np.iinfo(np.int64).max:
            raise ValueError("unsigned class labels above the int64 range cannot be exported")
        return classes.astype(np.int64)
    if kind == "f":
        return classes.astype(np.float64)
    if kind == "U" or (kind == "O" and all(isinstance(c, str) for c in classes)):
        return classes.astype(object)
    raise TypeError(
        f"class labels of dtype {classes.dtype} cannot be ONNX labels; "
        "integer, bool, float and str labels can"
    )


def label_element_type(onnx_module: Any, spec: NetworkSpec) -> int:
    """ONNX element type of a classifier's ``label`` output."""
    tensor_proto = onnx_module.TensorProto
    if spec.label_is_matrix:
        return tensor_proto.INT64
    return {"i": tensor_proto.INT64, "f": tensor_proto.DOUBLE,
            "O": tensor_proto.STRING}[spec.class_lookup.dtype.kind]


# ----------------------------------------------------------------------
# The graph, written through a small interface
# ----------------------------------------------------------------------
class GraphWriter(Protocol):
    """Where the nodes and constants of the graph go."""

    def constant(self, hint: str, value: np.ndarray) -> str:
        """Add a constant tensor; return its (unique) name."""

    def node(self, op_type: str, inputs: Sequence[str], hint: str,
             output: str | None = None, **attributes: Any) -> str:
        """Add a node with one output; return that output's name."""


def write_network(writer: GraphWriter, spec: NetworkSpec, input_name: str,
                  output_names: Sequence[str]) -> None:
    """Write the network of ``spec`` from ``input_name`` to ``output_names``.

    ``output_names`` is ``[variable]`` for a regressor and ``[label,
    probabilities]`` for a classifier.
    """
    network_output = _write_layers(writer, spec, input_name)
    if spec.task == "regression":
        _write_regression_output(writer, spec, network_output, output_names[0])
        return
    label_name, probabilities_name = output_names
    if spec.task == "multiclass":
        _write_multiclass_outputs(writer, spec, network_output, label_name, probabilities_name)
    elif spec.task == "binary":
        _write_binary_outputs(writer, spec, network_output, label_name, probabilities_name)
    else:
        _write_multilabel_outputs(writer, spec, network_output, label_name, probabilities_name)


def _write_layers(writer: GraphWriter, spec: NetworkSpec, input_name: str) -> str:
    activations = input_name
    last = len(spec.coefs) - 1
    for index, (coef, intercept) in enumerate(zip(spec.coefs, spec.intercepts)):
        weights = writer.constant(f"coef_{index}", coef)
        bias = writer.constant(f"intercept_{index}", intercept)
        product = writer.node("MatMul", [activations, weights], f"matmul_{index}")
        activations = writer.node("Add", [product, bias], f"add_{index}")
        function = spec.output_activation if index == last else spec.hidden_activation
        write_activation = ACTIVATIONS[function].onnx_nodes
        if write_activation is not None:
            activations = write_activation(writer, activations, f"{function}_{index}",
                                           coef.dtype)
    return activations


def _write_regression_output(writer: GraphWriter, spec: NetworkSpec, values: str,
                             output_name: str) -> None:
    # predict returns a vector for a single output.
    if spec.n_outputs == 1:
        _write_flatten(writer, values, output_name)
    else:
        writer.node("Identity", [values], "variable", output=output_name)


def _write_multiclass_outputs(writer: GraphWriter, spec: NetworkSpec, probabilities: str,
                              label_name: str, probabilities_name: str) -> None:
    writer.node("Identity", [probabilities], "probabilities", output=probabilities_name)
    # ArgMax keeps the first maximum, as numpy's argmax in predict does.
    best = writer.node("ArgMax", [probabilities], "argmax", axis=1, keepdims=0)
    _write_label_lookup(writer, spec, best, label_name)


def _write_binary_outputs(writer: GraphWriter, spec: NetworkSpec, positive: str,
                          label_name: str, probabilities_name: str) -> None:
    dtype = spec.coefs[0].dtype
    one = writer.constant("one", np.ones(1, dtype=dtype))
    negative = writer.node("Sub", [one, positive], "negative_probability")
    writer.node("Concat", [negative, positive], "probabilities", output=probabilities_name,
                axis=1)
    is_positive = _write_threshold(writer, spec, positive)
    _write_label_lookup(writer, spec, _write_flatten(writer, is_positive, None), label_name)


def _write_multilabel_outputs(writer: GraphWriter, spec: NetworkSpec, probabilities: str,
                              label_name: str, probabilities_name: str) -> None:
    writer.node("Identity", [probabilities], "probabilities", output=probabilities_name)
    indicators = _write_threshold(writer, spec, probabilities)
    writer.node("Identity", [indicators], "label", output=label_name)


def _write_threshold(writer: GraphWriter, spec: NetworkSpec, probabilities: str) -> str:
    """0/1 int64 tensor: probability strictly above one half."""
    threshold = writer.constant(
        "threshold", np.array([_DECISION_THRESHOLD], dtype=spec.coefs[0].dtype)
    )
    above = writer.node("Greater", [probabilities, threshold], "above_threshold")
    return writer.node("Cast", [above], "indicator", to=_onnx_int64())


def _write_label_lookup(writer: GraphWriter, spec: NetworkSpec, class_index: str,
                        label_name: str) -> None:
    lookup = writer.constant("classes", spec.class_lookup)
    writer.node("Gather", [lookup, class_index], "label", output=label_name, axis=0)


def _write_flatten(writer: GraphWriter, values: str, output_name: str | None) -> str:
    shape = writer.constant("vector_shape", np.array([-1], dtype=np.int64))
    return writer.node("Reshape", [values, shape], "flatten", output=output_name)


def _onnx_int64() -> int:
    return import_onnx("ONNX export").TensorProto.INT64


# ----------------------------------------------------------------------
# The stand-alone model
# ----------------------------------------------------------------------
class _ModelProtoWriter:
    """Collects nodes and initializers for one ``onnx.GraphProto``."""

    def __init__(self, onnx_module: Any, reserved_names: Sequence[str]) -> None:
        self._onnx = onnx_module
        self._used_names = set(reserved_names)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []

    def _unique(self, hint: str) -> str:
        name, suffix = hint, 1
        while name in self._used_names:
            suffix += 1
            name = f"{hint}_{suffix}"
        self._used_names.add(name)
        return name

    def constant(self, hint: str, value: np.ndarray) -> str:
        name = self._unique(hint)
        self.initializers.append(self._onnx.numpy_helper.from_array(value, name))
        return name

    def node(self, op_type: str, inputs: Sequence[str], hint: str,
             output: str | None = None, **attributes: Any) -> str:
        output = self._unique(hint) if output is None else output
        self.nodes.append(self._onnx.helper.make_node(
            op_type, list(inputs), [output], name=self._unique(f"{op_type}_{hint}"),
            **attributes,
        ))
        return output


def to_onnx(estimator: Any, *, dtype: Any = np.float32, target_opset: int | None = None,
            name: str | None = None) -> onnx.ModelProto:
    """Export a fitted multi-layer perceptron as an ONNX model.

    The model needs only an ONNX runtime to run (no scikit-learn, no
    skl2onnx) and computes what ``predict`` and ``predict_proba`` return.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        A fitted mlpfast estimator (scikit-learn's fitted
        ``MLPClassifier``/``MLPRegressor`` are accepted too).
    dtype : numpy.float32 or numpy.float64, default=numpy.float32
        Float type of the input, the weights and the real-valued outputs.
    target_opset : int, default=None
        ONNX opset of the default domain, from 13 to the installed onnx's
        latest. None means 17, or the installed onnx's latest if older.
    name : str, default=None
        Graph name; None gives ``"mlpfast_" + type(estimator).__name__``.

    Returns
    -------
    model : onnx.ModelProto
        One input, ``"X"``, of shape ``[N, n_features]`` and type ``dtype``.

        A regressor has one output, ``"variable"``: ``predict(X)``, of shape
        ``[N]`` for a single target and ``[N, n_outputs]`` otherwise.

        A classifier has two outputs:

        - ``"label"``: ``predict(X)``. Shape ``[N]``, int64 for integer or
          bool classes (bools as 0/1), double for float classes, string for
          str classes. Multilabel: the 0/1 indicator matrix ``[N, n_labels]``
          as int64.
        - ``"probabilities"``: ``predict_proba(X)``, ``[N, n_classes]`` of
          type ``dtype`` (two columns ``[1 - p, p]`` for a binary problem,
          one per label for multilabel).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    TypeError
        If ``estimator`` is not an MLP, ``dtype`` is not float32/float64,
        or the class labels are neither numbers nor strings.
    ValueError
        If ``target_opset`` is out of range, or unsigned class labels do not
        fit in int64.
    ImportError
        If the ``onnx`` package (the 'onnx' extra) is missing.

    Examples
    --------
    >>> import numpy as np, onnxruntime
    >>> from sklearn.datasets import load_iris
    >>> import mlpfast
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = mlpfast.MLPClassifier(max_iter=300, random_state=0).fit(X, y)
    >>> session = onnxruntime.InferenceSession(
    ...     mlpfast.to_onnx(clf).SerializeToString(),
    ...     providers=["CPUExecutionProvider"])
    >>> label, proba = session.run(None, {"X": X.astype(np.float32)})
    """
    onnx_module = import_onnx("to_onnx")
    export_dtype = check_export_dtype(dtype)
    opset = _check_opset(onnx_module, target_opset)
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a str or None, got {type(name).__name__}")
    spec = describe_network(estimator, export_dtype)

    output_names = ["variable"] if spec.task == "regression" else ["label", "probabilities"]
    writer = _ModelProtoWriter(onnx_module, ["X", *output_names])
    write_network(writer, spec, "X", output_names)

    helper = onnx_module.helper
    float_type = helper.np_dtype_to_tensor_dtype(export_dtype)
    graph = helper.make_graph(
        writer.nodes,
        name or f"mlpfast_{type(estimator).__name__}",
        [helper.make_tensor_value_info("X", float_type, ["N", spec.n_features])],
        _output_value_infos(onnx_module, spec, float_type, output_names),
        initializer=writer.initializers,
    )
    opset_imports = [helper.make_opsetid("", opset)]
    from mlpfast import __version__

    return helper.make_model(
        graph,
        opset_imports=opset_imports,
        ir_version=helper.find_min_ir_version_for(opset_imports),
        producer_name="mlpfast",
        producer_version=__version__,
        doc_string=f"{type(estimator).__name__} exported by mlpfast.to_onnx",
    )


def _check_opset(onnx_module: Any, target_opset: Any) -> int:
    latest = onnx_module.defs.onnx_opset_version()
    if target_opset is None:
        return min(DEFAULT_OPSET, latest)
    if isinstance(target_opset, bool) or not isinstance(target_opset, numbers.Integral):
        raise TypeError(f"target_opset must be an int or None, got {target_opset!r}")
    if not MIN_OPSET <= target_opset <= latest:
        raise ValueError(
            f"target_opset must be between {MIN_OPSET} and {latest} (the installed "
            f"onnx's latest), got {target_opset}"
        )
    return int(target_opset)


def _output_value_infos(onnx_module: Any, spec: NetworkSpec, float_type: int,
                        output_names: Sequence[str]) -> list[Any]:
    make = onnx_module.helper.make_tensor_value_info
    if spec.task == "regression":
        shape = ["N"] if spec.n_outputs == 1 else ["N", spec.n_outputs]
        return [make(output_names[0], float_type, shape)]
    label_shape = ["N", spec.n_outputs] if spec.label_is_matrix else ["N"]
    return [
        make(output_names[0], label_element_type(onnx_module, spec), label_shape),
        make(output_names[1], float_type, ["N", spec.n_probability_columns]),
    ]
