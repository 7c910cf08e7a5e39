"""mlpfast.to_onnx and the skl2onnx converter: ONNX graphs of fitted MLPs.

The reference is the estimator itself: onnxruntime's outputs must equal
``predict`` (labels exactly) and ``predict_proba`` / regression outputs to
1e-5 for float32 graphs, with the same shapes and label types.
"""
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conftest import ATOL64, RTOL64, engine_only

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

import mlpfast
from mlpfast import MLPClassifier, MLPRegressor
from mlpfast._activations import HIDDEN_ACTIVATIONS

pytestmark = [
    engine_only,
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

ATOL32 = 1e-5
N_FEATURES = 6


def _features(dtype=np.float32, n_samples=150, seed=0):
    return np.random.default_rng(seed).standard_normal((n_samples, N_FEATURES)).astype(dtype)


def _classification(n_classes, dtype=np.float32):
    X, y = make_classification(n_samples=150, n_features=N_FEATURES, n_informative=4,
                               n_classes=n_classes, random_state=0)
    return X.astype(dtype), y


def _regression_targets(X, n_outputs):
    """Smooth targets of unit scale, so 1e-5 is a float32-sized tolerance."""
    weights = np.random.default_rng(1).standard_normal((X.shape[1], n_outputs)) / X.shape[1]
    y = np.tanh(X.astype(np.float64) @ weights) + 0.1 * np.sin(3 * X[:, :n_outputs])
    return y[:, 0] if n_outputs == 1 else y


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def _run(model, X):
    """Check the model with onnx, run it with onnxruntime; outputs by name."""
    onnx.checker.check_model(model, full_check=True)
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {input_name: X})))


def _assert_classifier_outputs(outputs, clf, X, atol=ATOL32):
    expected_labels = clf.predict(X)
    assert outputs["label"].shape == expected_labels.shape
    assert_array_equal(outputs["label"], expected_labels)
    assert outputs["probabilities"].dtype == X.dtype
    assert_allclose(outputs["probabilities"], clf.predict_proba(X), rtol=0, atol=atol)


# ----------------------------------------------------------------------
# Classifiers
# ----------------------------------------------------------------------
def _binary_int():
    X, y = _classification(2)
    return X, y + 3


def _multiclass_int(dtype=np.float32):
    return _classification(4, dtype)


def _multiclass_str():
    X, y = _classification(3)
    return X, np.array(["setosa", "versicolor", "virginica"])[y]


def _binary_bool():
    X, y = _classification(2)
    return X, y == 1


def _multiclass_float():
    X, y = _classification(3)
    return X, y * 10.0 - 5  # integral floats: a classification target


def _single_class():
    X, y = _classification(2)
    return X, np.full(len(y), "only")


def _multilabel():
    X, y = make_multilabel_classification(n_samples=150, n_features=N_FEATURES, n_classes=4,
                                          random_state=0)
    return X.astype(np.float32), y


@pytest.mark.parametrize("make_data, label_dtype, label_ndim", [
    (_binary_int, np.int64, 1),
    (_binary_bool, np.int64, 1),
    (_single_class, object, 1),
    (_multiclass_int, np.int64, 1),
    (_multiclass_str, object, 1),
    (_multiclass_float, np.float64, 1),
    (_multilabel, np.int64, 2),
], ids=["binary", "binary-bool", "single-class", "multiclass-int", "multiclass-str",
        "multiclass-float", "multilabel"])
def test_classifier_outputs_match_predict_and_predict_proba(make_data, label_dtype, label_ndim):
    X, y = make_data()
    clf = _fit(MLPClassifier(hidden_layer_sizes=(12,), max_iter=40, random_state=0), X, y)
    outputs = _run(mlpfast.to_onnx(clf), X)
    assert list(outputs) == ["label", "probabilities"]
    assert outputs["label"].dtype == label_dtype
    assert outputs["label"].ndim == label_ndim
    _assert_classifier_outputs(outputs, clf, X)


def test_binary_probabilities_are_two_columns():
    X, y = _binary_int()
    clf = _fit(MLPClassifier(hidden_layer_sizes=(8,), max_iter=40, random_state=0), X, y)
    probabilities = _run(mlpfast.to_onnx(clf), X)["probabilities"]
    assert probabilities.shape == (len(X), 2)
    assert_allclose(probabilities.sum(axis=1), 1, atol=ATOL32)


def test_labels_of_a_nearly_balanced_binary_model_follow_the_strict_threshold():
    # Many rows near p = 0.5: the labels must still be exactly predict's.
    X, y = _binary_int()
    clf = _fit(MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, learning_rate_init=1e-4,
                             random_state=0), X, y)
    assert np.abs(clf.predict_proba(X)[:, 1] - 0.5).min() < 0.05
    _assert_classifier_outputs(_run(mlpfast.to_onnx(clf), X), clf, X)


def _wide_range_rows(X):
    """X and X * 8: pre-activations past softplus's threshold and far into
    the negative tails."""
    return np.vstack([X, X * 8])


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_each_hidden_activation(activation):
    X, y = _multiclass_int()
    clf = _fit(MLPClassifier(hidden_layer_sizes=(10, 7), activation=activation, max_iter=40,
                             random_state=0), X, y)
    X = _wide_range_rows(X)
    _assert_classifier_outputs(_run(mlpfast.to_onnx(clf), X), clf, X)


@pytest.mark.parametrize("activation", [
    pytest.param(name, marks=pytest.mark.xfail(
        strict=True, reason="onnxruntime's CPU provider has no float64 Erf"))
    if name == "gelu" else name
    for name in HIDDEN_ACTIVATIONS
])
def test_float64_export_of_each_hidden_activation(activation):
    X, y = _multiclass_int(np.float64)
    clf = _fit(MLPClassifier(hidden_layer_sizes=(10, 7), activation=activation, max_iter=40,
                             random_state=0), X, y)
    X = _wide_range_rows(X)
    outputs = _run(mlpfast.to_onnx(clf, dtype=np.float64), X)
    assert_array_equal(outputs["label"], clf.predict(X))
    assert_allclose(outputs["probabilities"], clf.predict_proba(X), rtol=RTOL64, atol=ATOL64)


# ----------------------------------------------------------------------
# Regressors
# ----------------------------------------------------------------------
@pytest.mark.parametrize("n_outputs, loss", [
    (1, "squared_error"), (3, "squared_error"), (1, "poisson"), (2, "poisson"),
])
def test_regressor_output_matches_predict_in_values_and_shape(n_outputs, loss):
    X = _features()
    y = _regression_targets(X, n_outputs)
    if loss == "poisson":
        y = np.exp(y)
    reg = _fit(MLPRegressor(loss=loss, hidden_layer_sizes=(12,), max_iter=40, random_state=0),
               X, y)
    outputs = _run(mlpfast.to_onnx(reg), X)
    assert list(outputs) == ["variable"]
    expected = reg.predict(X)
    assert outputs["variable"].shape == expected.shape
    assert outputs["variable"].dtype == np.float32
    assert_allclose(outputs["variable"], expected, rtol=0, atol=ATOL32)


def test_scikit_learn_regressor_with_poisson_loss_and_two_outputs():
    X = _features()
    y = np.exp(_regression_targets(X, 2))
    reg = _fit(SklearnMLPRegressor(loss="poisson", hidden_layer_sizes=(9,), max_iter=30,
                                   random_state=0), X, y)
    outputs = _run(mlpfast.to_onnx(reg), X)
    assert_allclose(outputs["variable"], reg.predict(X), rtol=0, atol=ATOL32)


# ----------------------------------------------------------------------
# Options of the export
# ----------------------------------------------------------------------
def test_float64_export_matches_to_float64_rounding():
    X, y = _multiclass_str()
    X = X.astype(np.float64)
    clf = _fit(MLPClassifier(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=40,
                             random_state=0), X, y)
    model = mlpfast.to_onnx(clf, dtype=np.float64)
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    outputs = _run(model, X)
    assert_array_equal(outputs["label"], clf.predict(X))
    assert_allclose(outputs["probabilities"], clf.predict_proba(X), rtol=RTOL64, atol=ATOL64)

    reg = _fit(MLPRegressor(hidden_layer_sizes=(10,), max_iter=40, random_state=0),
               X, _regression_targets(X, 2))
    values = _run(mlpfast.to_onnx(reg, dtype="float64"), X)["variable"]
    assert values.dtype == np.float64
    assert_allclose(values, reg.predict(X), rtol=RTOL64, atol=ATOL64)


def test_float32_export_of_float64_weights():
    X, y = _multiclass_int()
    clf = _fit(MLPClassifier(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=40,
                             random_state=0), X.astype(np.float64), y)
    assert clf.coefs_[0].dtype == np.float64
    _assert_classifier_outputs(_run(mlpfast.to_onnx(clf), X), clf, X)


def test_declared_input_and_outputs():
    X, y = _multilabel()
    clf = _fit(MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0), X, y)
    graph = mlpfast.to_onnx(clf).graph

    def shape(value_info):
        return [d.dim_value or d.dim_param for d in value_info.type.tensor_type.shape.dim]

    assert [i.name for i in graph.input] == ["X"]
    assert shape(graph.input[0]) == ["N", N_FEATURES]
    assert [(o.name, shape(o)) for o in graph.output] == [
        ("label", ["N", 4]), ("probabilities", ["N", 4])]


def test_opset_and_name():
    X, y = _multiclass_int()
    clf = _fit(MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0), X, y)
    default = mlpfast.to_onnx(clf)
    assert [(o.domain, o.version) for o in default.opset_import] == [("", 17)]
    assert default.graph.name == "mlpfast_MLPClassifier"
    oldest = mlpfast.to_onnx(clf, target_opset=13, name="digits")
    assert [(o.domain, o.version) for o in oldest.opset_import] == [("", 13)]
    assert oldest.graph.name == "digits"
    _assert_classifier_outputs(_run(oldest, X), clf, X)


def test_export_and_inference_need_neither_skl2onnx_nor_onnx_ml_operators(monkeypatch):
    X, y = _multiclass_str()
    clf = _fit(MLPClassifier(hidden_layer_sizes=(6,), max_iter=20, random_state=0), X, y)
    monkeypatch.setitem(sys.modules, "skl2onnx", None)  # any import of it now fails
    model = mlpfast.to_onnx(clf)
    assert {node.domain for node in model.graph.node} == {""}
    assert [o.domain for o in model.opset_import] == [""]
    _assert_classifier_outputs(_run(model, X), clf, X)


# ----------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------
def test_unfitted_estimator_raises_not_fitted():
    with pytest.raises(NotFittedError):
        mlpfast.to_onnx(MLPClassifier())
    with pytest.raises(NotFittedError):
        mlpfast.to_onnx(MLPRegressor())


def test_other_estimators_are_rejected():
    X, y = _multiclass_int()
    with pytest.raises(TypeError, match="MLPClassifier or MLPRegressor.*LogisticRegression"):
        mlpfast.to_onnx(LogisticRegression().fit(X, y))


@pytest.mark.parametrize("dtype", [np.float16, np.int64, "complex128", "no such type"])
def test_unsupported_dtype(dtype):
    X, y = _binary_int()
    clf = _fit(MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0), X, y)
    with pytest.raises(TypeError, match="dtype must be numpy.float32 or numpy.float64"):
        mlpfast.to_onnx(clf, dtype=dtype)


def test_bad_target_opset_and_name():
    X, y = _binary_int()
    clf = _fit(MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0), X, y)
    with pytest.raises(ValueError, match="target_opset must be between 13"):
        mlpfast.to_onnx(clf, target_opset=12)
    with pytest.raises(ValueError, match="target_opset must be between 13"):
        mlpfast.to_onnx(clf, target_opset=onnx.defs.onnx_opset_version() + 1)
    with pytest.raises(TypeError, match="target_opset must be an int"):
        mlpfast.to_onnx(clf, target_opset="17")
    with pytest.raises(TypeError, match="name must be a str"):
        mlpfast.to_onnx(clf, name=3)


def test_unsupported_class_labels():
    X, y = _binary_int()
    clf = _fit(MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0), X,
               np.array(["2024-01-01", "2025-06-30"], dtype="datetime64[D]")[y % 2])
    with pytest.raises(TypeError, match=r"class labels of dtype datetime64\[D\]"):
        mlpfast.to_onnx(clf)


def test_labels_beyond_int64():
    X, y = _binary_int()
    labels = np.array([1, np.iinfo(np.int64).max + 1], dtype=np.uint64)
    clf = _fit(MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0), X,
               labels[y % 2])
    with pytest.raises(ValueError, match="above the int64 range"):
        mlpfast.to_onnx(clf)


def test_activation_without_onnx_operator():
    X, y = _binary_int()
    clf = _fit(MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0), X, y)
    clf.activation = "softmax"  # set after fit: no hidden-layer export for it
    with pytest.raises(ValueError, match="hidden activation 'softmax' has no ONNX export"):
        mlpfast.to_onnx(clf)


def test_missing_onnx_names_the_extra(monkeypatch):
    X, y = _binary_int()
    clf = _fit(MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0), X, y)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"'onnx' extra: pip install 'mlpfast\[onnx\]'"):
        mlpfast.to_onnx(clf)


def test_missing_skl2onnx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    with pytest.raises(ImportError, match=r"'onnx' extra: pip install 'mlpfast\[onnx\]'"):
        mlpfast.register_skl2onnx()


# ----------------------------------------------------------------------
# Pipelines through skl2onnx
# ----------------------------------------------------------------------
@pytest.fixture
def skl2onnx():
    module = pytest.importorskip("skl2onnx")
    mlpfast.register_skl2onnx()
    mlpfast.register_skl2onnx()  # a second registration changes nothing
    return module


@pytest.mark.parametrize("make_data", [_binary_int, _multiclass_str, _multilabel],
                         ids=["binary", "multiclass-str", "multilabel"])
def test_classifier_pipeline_through_skl2onnx(skl2onnx, make_data):
    X, y = make_data()
    X = X * 10 + 3  # the scaler has something to undo
    pipeline = _fit(make_pipeline(StandardScaler(), MLPClassifier(
        hidden_layer_sizes=(10,), max_iter=40, random_state=0)), X, y)
    model = skl2onnx.to_onnx(pipeline, X[:1], options={"zipmap": False})
    outputs = _run(model, X)
    assert list(outputs) == ["label", "probabilities"]
    _assert_classifier_outputs(outputs, pipeline, X)


def test_classifier_pipeline_with_zipmap(skl2onnx):
    X, y = _multiclass_str()
    pipeline = _fit(make_pipeline(StandardScaler(), MLPClassifier(
        hidden_layer_sizes=(10,), max_iter=40, random_state=0)), X, y)
    outputs = _run(skl2onnx.to_onnx(pipeline, X[:1]), X)
    assert_array_equal(outputs["output_label"], pipeline.predict(X))
    per_row = np.array([[row[label] for label in pipeline.classes_]
                        for row in outputs["output_probability"]])
    assert_allclose(per_row, pipeline.predict_proba(X), rtol=0, atol=ATOL32)


@pytest.mark.parametrize("n_outputs, loss, dtype", [
    (1, "squared_error", np.float32), (2, "squared_error", np.float64), (1, "poisson", np.float32),
])
def test_regressor_pipeline_through_skl2onnx(skl2onnx, n_outputs, loss, dtype):
    X = _features(dtype) * 10 + 3
    y = _regression_targets(StandardScaler().fit_transform(X), n_outputs)
    if loss == "poisson":
        y = np.exp(y)
    pipeline = _fit(make_pipeline(StandardScaler(), MLPRegressor(
        loss=loss, hidden_layer_sizes=(10,), max_iter=40, random_state=0)), X, y)
    values = _run(skl2onnx.to_onnx(pipeline, X[:1]), X)["variable"]
    expected = pipeline.predict(X)
    assert values.shape == expected.shape
    assert values.dtype == dtype
    atol = ATOL32 if dtype == np.float32 else ATOL64
    assert_allclose(values, expected, rtol=0 if dtype == np.float32 else RTOL64, atol=atol)


def test_skl2onnx_rejects_integer_input(skl2onnx):
    X, y = _multiclass_int()
    clf = _fit(MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0), X, y)
    with pytest.raises(TypeError, match="converts float or double input, got Int64TensorType"):
        skl2onnx.to_onnx(clf, X[:1].astype(np.int64), options={"zipmap": False})
