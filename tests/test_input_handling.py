"""Input handling as in scikit-learn: dtypes, pandas, labels, degenerate shapes.

Every behaviour is compared with scikit-learn's MLPClassifier/MLPRegressor
(same dtypes, same warnings, same error types and messages); scikit-learn's
rules are in its source: ``_validate_input``, ``_fit`` and ``partial_fit`` in
``sklearn/neural_network/_multilayer_perceptron.py``, and ``validate_data``
and ``check_array`` in ``sklearn/utils/validation.py``.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import (
    ALL_TASKS,
    ATOL32,
    ATOL64,
    RTOL32,
    RTOL64,
    FastClassifier,
    FastRegressor,
    SkMLPClassifier,
    SkMLPRegressor,
    assert_fitted_close,
    assert_predictions_close,
    assert_same_warnings,
    estimator_pair,
    fit_both,
    is_classification,
    make_data,
)
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import DataConversionWarning
from sklearn.preprocessing import LabelBinarizer

from mlpfast._inputs import class_positions, indicator_matrix

SOLVERS = ("sgd", "adam", "lbfgs")
SMALL = dict(hidden_layer_sizes=(6,), max_iter=4, batch_size=32, random_state=0,
             learning_rate_init=0.01)


def _p(solver="adam", **overrides):
    p = dict(SMALL, solver=solver)
    p.update(overrides)
    return p


def _assert_close(fast, ref, X, solver, dtype=np.float64):
    if dtype == np.float32:
        rtol, atol = RTOL32, ATOL32
    elif solver == "lbfgs":
        rtol, atol = 1e-7, 1e-10
    else:
        rtol, atol = RTOL64, ATOL64
    if solver == "lbfgs":
        for a, b in zip(fast.coefs_ + fast.intercepts_, ref.coefs_ + ref.intercepts_):
            assert a.dtype == b.dtype and a.shape == b.shape
            assert_allclose(a, b, rtol=rtol, atol=atol)
        assert fast.n_iter_ == ref.n_iter_
        assert_predictions_close(fast, ref, X, rtol=rtol, atol=atol)
    else:
        assert_fitted_close(fast, ref, X, rtol=rtol, atol=atol)


def _outcome(func, *args, **kwargs):
    """(result or None, error (type, message) or None, warnings [(type, message)])."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            result, error = func(*args, **kwargs), None
        except Exception as exc:  # noqa: BLE001 - compared with scikit-learn
            result, error = None, (type(exc), str(exc))
    return result, error, [(w.category, str(w.message)) for w in record]


def _assert_same_outcome(fast_outcome, ref_outcome):
    _, e_fast, w_fast = fast_outcome
    _, e_ref, w_ref = ref_outcome
    assert e_fast == e_ref, f"errors differ:\n mlpfast: {e_fast}\n sklearn: {e_ref}"
    assert_same_warnings(w_fast, w_ref)


def _as_dtype(X, dtype):
    """X converted to dtype with values of moderate size."""
    if dtype == "bool":
        return X > 0
    if dtype == "uint8":
        return np.clip(np.round(2 * X + 6), 0, 255).astype(np.uint8)
    if dtype.startswith("int"):
        return np.round(2 * X).astype(dtype)
    return X.astype(dtype)


# ==========================================================================
# dtypes of X at fit
# ==========================================================================


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("task", ALL_TASKS)
def test_float32_kept_by_stochastic_solvers(task, solver):
    X, y = make_data(task, dtype=np.float32)
    fast, ref = fit_both(task, _p(solver), X, y)
    for arr in fast.coefs_ + fast.intercepts_:
        assert arr.dtype == np.float32
    if is_classification(task):
        assert fast.predict_proba(X).dtype == ref.predict_proba(X).dtype == np.float32
    else:
        assert fast.predict(X).dtype == ref.predict(X).dtype == np.float32
    _assert_close(fast, ref, X, solver, dtype=np.float32)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_float32_X_int_y_regression(solver):
    X, y = make_data("reg1", dtype=np.float32)
    y = np.round(3 * y).astype(np.int64)
    fast, ref = fit_both("reg1", _p(solver), X, y)
    assert fast.coefs_[0].dtype == np.float32
    assert fast.predict(X).dtype == ref.predict(X).dtype == np.float32
    _assert_close(fast, ref, X, solver, dtype=np.float32)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("x_dtype", ["int64", "int32", "uint8", "float16", "bool"])
@pytest.mark.parametrize("task", ["multiclass", "reg2"])
def test_other_X_dtypes_become_float64(task, x_dtype, solver):
    X, y = make_data(task)
    X = _as_dtype(X, x_dtype)
    fast, ref = fit_both(task, _p(solver), X, y)
    for arr in fast.coefs_ + fast.intercepts_:
        assert arr.dtype == np.float64
    _assert_close(fast, ref, X, solver)


@pytest.mark.parametrize("layout", ["F-order", "strided", "list", "readonly"])
@pytest.mark.parametrize("task", ["binary", "reg1"])
def test_array_layouts(task, layout):
    X, y = make_data(task, n_features=10)
    if layout == "F-order":
        X = np.asfortranarray(X)
    elif layout == "strided":
        X = X[:, ::2]
    elif layout == "list":
        X, y = X.tolist(), y.tolist()
    else:
        X.setflags(write=False)
    fast, ref = fit_both(task, _p(), X, y)
    _assert_close(fast, ref, np.asarray(X), "adam")


# ==========================================================================
# dtype of predictions (§13): numpy's promotion of X with the weights
# ==========================================================================

PREDICT_X_DTYPES = ["float64", "float32", "float16", "int64", "int32", "int8", "uint8",
                    "bool"]




@pytest.mark.parametrize("model", ["sgd-float64", "sgd-float32", "lbfgs-float32"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "reg1", "reg2"])
def test_predict_dtype_rules(task, model):
    solver, fit_dtype = model.split("-")
    X, y = make_data(task, dtype=np.dtype(fit_dtype))
    fast, ref = fit_both(task, _p(solver), X, y)
    for x_dtype in PREDICT_X_DTYPES:
        X_pred = _as_dtype(make_data(task, seed=1)[0], x_dtype)
        methods = ["predict", "predict_proba", "predict_log_proba"] \
            if is_classification(task) else ["predict"]
        for method in methods:
            pf, pr = getattr(fast, method)(X_pred), getattr(ref, method)(X_pred)
            assert pf.dtype == pr.dtype, f"{method} on {x_dtype}: {pf.dtype} != {pr.dtype}"
            assert pf.shape == pr.shape
            if method == "predict" and is_classification(task):
                continue
            # a float32-trained model differs from scikit-learn's at float32
            # precision (lbfgs included: its objective runs in float32)
            tol = 1e-4 if fit_dtype == "float32" or pr.dtype == np.float32 else 1e-9
            finite = np.isfinite(pr)
            assert_array_equal(np.isfinite(pf), finite)
            assert_allclose(pf[finite], pr[finite], rtol=tol,
                            atol=tol * max(1.0, np.abs(pr[finite]).max()),
                            err_msg=f"{method} on {x_dtype}")


@pytest.mark.parametrize("x_dtype", ["int64", "float32"])
@pytest.mark.parametrize("task", ["multiclass", "reg1"])
def test_predict_dtype_sparse_input(task, x_dtype):
    X, y = make_data(task)
    fast, ref = fit_both(task, _p("sgd"), X, y)
    X_pred = sp.csr_matrix(_as_dtype(X, x_dtype))
    method = "predict_proba" if is_classification(task) else "predict"
    pf, pr = getattr(fast, method)(X_pred), getattr(ref, method)(X_pred)
    assert pf.dtype == pr.dtype
    assert_allclose(pf, pr, rtol=1e-9, atol=1e-12)


# ==========================================================================
# pandas
# ==========================================================================


def _frame(X, prefix="f"):
    return pd.DataFrame(X, columns=[f"{prefix}{i}" for i in range(X.shape[1])])


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("task", ["multiclass", "reg1"])
def test_dataframe_feature_names(task, solver):
    X, y = make_data(task)
    df, y_pd = _frame(X), pd.Series(y, name="target")
    fast, ref = fit_both(task, _p(solver), df, y_pd)
    assert_array_equal(fast.feature_names_in_, ref.feature_names_in_)
    assert fast.feature_names_in_.dtype == ref.feature_names_in_.dtype
    _assert_close(fast, ref, df, solver)
    # predicting on a DataFrame: no warning, same result as the ndarray
    out_fast = _outcome(fast.predict, df)
    _assert_same_outcome(out_fast, _outcome(ref.predict, df))
    assert out_fast[2] == []
    # ndarray after fitting on a DataFrame: UserWarning, as sklearn
    out_fast, out_ref = _outcome(fast.predict, X), _outcome(ref.predict, X)
    assert out_ref[2] and out_ref[2][0][0] is UserWarning
    _assert_same_outcome(out_fast, out_ref)


@pytest.mark.parametrize("task", ["binary", "reg2"])
def test_dataframe_at_predict_after_ndarray_fit(task):
    X, y = make_data(task)
    fast, ref = fit_both(task, _p(), X, y)
    assert not hasattr(fast, "feature_names_in_")
    for method in (["predict", "predict_proba"] if is_classification(task) else ["predict"]):
        out_fast = _outcome(getattr(fast, method), _frame(X))
        out_ref = _outcome(getattr(ref, method), _frame(X))
        assert out_ref[2] and out_ref[2][0][0] is UserWarning
        _assert_same_outcome(out_fast, out_ref)
    out_fast, out_ref = _outcome(fast.score, _frame(X), y), _outcome(ref.score, _frame(X), y)
    _assert_same_outcome(out_fast, out_ref)


@pytest.mark.parametrize("change", ["reordered", "renamed", "missing"])
def test_dataframe_feature_name_mismatch(change):
    X, y = make_data("multiclass")
    df = _frame(X)
    fast, ref = fit_both("multiclass", _p(), df, y)
    if change == "reordered":
        other = df[df.columns[::-1]]
    elif change == "renamed":
        other = _frame(X, prefix="g")
    else:
        other = df.iloc[:, :-1]
    _assert_same_outcome(_outcome(fast.predict, other), _outcome(ref.predict, other))
    assert _outcome(ref.predict, other)[1] is not None


@pytest.mark.parametrize("columns", ["int", "mixed"])
def test_dataframe_non_string_column_names(columns):
    X, y = make_data("binary")
    df = pd.DataFrame(X)
    if columns == "mixed":
        df.columns = ["a"] + list(range(1, X.shape[1]))
    outs = [_outcome(cls(**_p()).fit, df, y) for cls in (FastClassifier, SkMLPClassifier)]
    _assert_same_outcome(*outs)
    if outs[1][0] is not None:
        assert hasattr(outs[0][0], "feature_names_in_") == hasattr(outs[1][0],
                                                                  "feature_names_in_")
        _assert_close(outs[0][0], outs[1][0], X, "adam")


def test_dataframe_mixed_column_dtypes_and_nullable():
    X, y = make_data("reg1")
    df = _frame(X)
    df["f0"] = (df["f0"] > 0).astype(int)
    df["f1"] = df["f1"].astype("float32")
    df["f2"] = df["f2"].astype("Float64")
    fast, ref = fit_both("reg1", _p(), df, y)
    assert fast.coefs_[0].dtype == ref.coefs_[0].dtype
    _assert_close(fast, ref, df, "adam")


@pytest.mark.parametrize("task", ["multiclass", "reg1"])
def test_dataframe_warm_start_and_partial_fit_feature_names(task):
    X, y = make_data(task)
    df = _frame(X)
    fast_cls, ref_cls = estimator_pair(task)
    extra = {"classes": np.unique(y)} if is_classification(task) else {}
    fast, ref = fast_cls(**_p("sgd")), ref_cls(**_p("sgd"))
    _assert_same_outcome(_outcome(fast.partial_fit, df, y, **extra),
                         _outcome(ref.partial_fit, df, y, **extra))
    # second call on an ndarray: feature-name warning from partial_fit
    _assert_same_outcome(_outcome(fast.partial_fit, X, y), _outcome(ref.partial_fit, X, y))
    assert_fitted_close(fast, ref, df)
    fast, ref = fast_cls(**_p("adam", warm_start=True)), ref_cls(**_p("adam", warm_start=True))
    for data in (df, X, df):
        _assert_same_outcome(_outcome(fast.fit, data, y), _outcome(ref.fit, data, y))
    assert_fitted_close(fast, ref, df)


def test_dataframe_early_stopping():
    X, y = make_data("binary")
    fast, ref = fit_both("binary", _p(early_stopping=True, validation_fraction=0.2,
                                      max_iter=6), _frame(X), pd.Series(y))
    assert_fitted_close(fast, ref, _frame(X))


# ==========================================================================
# labels
# ==========================================================================


def _labels(kind, y):
    names = {
        "str": np.array(["cat", "dog", "emu"]),
        "object-str": np.array(["cat", "dog", "emu"], dtype=object),
        "float": np.array([-1.0, 2.0, 7.0]),
        "negative-int": np.array([-3, 7, 100]),
        "bool": np.array([True, False, True]),
    }[kind]
    return names[y]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", ["str", "object-str", "float", "negative-int"])
def test_label_types_multiclass(kind, solver):
    X, y = make_data("multiclass")
    y = _labels(kind, y)
    fast, ref = fit_both("multiclass", _p(solver), X, y)
    assert fast.classes_.dtype == ref.classes_.dtype
    assert fast.predict(X).dtype == ref.predict(X).dtype
    _assert_close(fast, ref, X, solver)
    assert_allclose(fast.score(X, y), ref.score(X, y))


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", ["str", "bool"])
def test_label_types_binary(kind, solver):
    X, y = make_data("binary")
    y = np.array(["no", "yes"])[y] if kind == "str" else y.astype(bool)
    fast, ref = fit_both("binary", _p(solver), X, y)
    assert_array_equal(fast.classes_, ref.classes_)
    assert fast.predict(X).dtype == ref.predict(X).dtype
    _assert_close(fast, ref, X, solver)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("labels", ["int-str", "str-None", "int-float-str", "continuous"])
def test_mixed_label_types_error(labels, method):
    X, y = make_data("binary", n_samples=40)
    values = {"int-str": [1, "a"], "str-None": ["a", None], "int-float-str": [1, 2.5, "a"],
              "continuous": [-1.5, 0.25, 7.0]}
    y = np.array([values[labels][i % len(values[labels])] for i in range(len(X))],
                 dtype=object)
    kwargs = {"classes": np.unique(y.astype(str))} if method == "partial_fit" else {}
    outs = [_outcome(getattr(cls(**_p("sgd")), method), X, y, **kwargs)
            for cls in (FastClassifier, SkMLPClassifier)]
    _assert_same_outcome(*outs)
    if method == "fit":
        assert outs[1][1] is not None


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("label", [0, 3, "only"])
def test_single_class(label, solver):
    X, y = make_data("binary")
    y = np.full(len(X), label, dtype=object if isinstance(label, str) else np.int64)
    if isinstance(label, str):
        y = y.astype(str)
    fast, ref = fit_both("binary", _p(solver), X, y)
    assert len(fast.classes_) == 1 and fast.classes_[0] == label
    proba = fast.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert_array_equal(fast.predict(X), np.full(len(X), label))
    _assert_close(fast, ref, X, solver)
    assert_allclose(fast.predict_log_proba(X), ref.predict_log_proba(X), rtol=1e-7)
    assert fast.score(X, y) == ref.score(X, y) == 1.0


@pytest.mark.parametrize("classes, y", [
    (np.array([0, 1, 2]), np.array([2, 0, 1, 1, 0])),              # multiclass
    (np.array([0, 1, 2]), np.array([1, 1, 2])),                    # a subset: binary-looking
    (np.array([0, 1, 2]), np.array([2, 2])),                       # one label of three
    (np.array([-3, 7]), np.array([7, -3, 7])),                     # binary
    (np.array([-3, 7]), np.array([7, 7])),                         # one label of two
    (np.array([0, 1, 2]), np.array([2.0, 0.0, 1.0])),              # float labels, int classes
    (np.array([0, 1, 300]), np.array([1, 0, 1], dtype=np.uint8)),  # narrower labels
    (np.array(["cat", "dog", "emu"]), np.array(["emu", "cat"])),
    (np.array(["cat", "dog", "emu"], dtype=object), np.array(["dog", "emu"], dtype=object)),
    (np.array([False, True]), np.array([True, False, True])),
])
def test_indicator_matrix_is_label_binarizers(classes, y):
    binarizer = LabelBinarizer().fit(classes)
    positions = class_positions(y, binarizer.classes_)
    assert positions is not None
    got = indicator_matrix(positions, len(binarizer.classes_))
    want = binarizer.transform(y).astype(bool)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert_array_equal(got, want)


@pytest.mark.parametrize("classes, y", [
    (np.array([0, 1, 2]), np.array([0, 3])),                       # an unknown label
    (np.array([0, 1, 2]), np.array([0.5, 1.0])),                   # between two classes
    (np.array(["a", "b"]), np.array([1, 2], dtype=object)),        # types that do not compare
    (np.array([0, 1]), np.array([[0, 1], [1, 0]])),                # not 1-D
])
def test_class_positions_leaves_other_labels_to_scikit_learn(classes, y):
    assert class_positions(y, classes) is None


@pytest.mark.parametrize("stream", ["multiclass", "binary", "strings"])
def test_partial_fit_stream_of_class_subsets_matches_sklearn(stream):
    X, y = make_data("multiclass", n_samples=240)
    if stream == "binary":
        y = y % 2
    names = np.array(["cat", "dog", "emu", "fox", "gnu"])
    labels = names[y] if stream == "strings" else y
    classes = np.unique(labels)
    order = np.argsort(y, kind="stable")   # chunks of one or two classes each
    fast, ref = (cls(**_p("sgd", batch_size=16)) for cls in (FastClassifier, SkMLPClassifier))
    for est in (fast, ref):
        for i, chunk in enumerate(np.array_split(order, 8)):
            est.partial_fit(X[chunk], labels[chunk], **({"classes": classes} if i == 0 else {}))
    assert_fitted_close(fast, ref, X)


# ==========================================================================
# shapes
# ==========================================================================


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("task", ALL_TASKS)
def test_no_hidden_layer(task, solver):
    X, y = make_data(task)
    fast, ref = fit_both(task, _p(solver, hidden_layer_sizes=()), X, y)
    assert fast.n_layers_ == ref.n_layers_ == 2
    assert len(fast.coefs_) == 1 and fast.coefs_[0].shape == ref.coefs_[0].shape
    _assert_close(fast, ref, X, solver)


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_no_hidden_layer_partial_fit_and_sparse(solver):
    X, y = make_data("reg2")
    X[np.abs(X) < 0.7] = 0.0
    params = _p(solver, hidden_layer_sizes=[])
    fast, ref = FastRegressor(**params), SkMLPRegressor(**params)
    for est in (fast, ref):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.partial_fit(sp.csr_matrix(X), y)
    _assert_close(fast, ref, X, solver)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("task", ["binary", "multiclass", "reg1"])
def test_column_vector_y(task, solver):
    # (n, 1) y: DataConversionWarning and ravel, for the regressor and the
    # classifier (fit_both compares all warnings, text included).
    X, y = make_data(task)
    fast, ref = fit_both(task, _p(solver), X, y.reshape(-1, 1))
    out_ref = _outcome(estimator_pair(task)[1](**_p(solver)).fit, X, y.reshape(-1, 1))
    assert any(issubclass(c, DataConversionWarning) for c, _ in out_ref[2])
    assert fast.n_outputs_ == ref.n_outputs_ == (3 if task == "multiclass" else 1)
    _assert_close(fast, ref, X, solver)


def test_column_vector_y_partial_fit():
    X, y = make_data("reg1")
    fast, ref = FastRegressor(**_p("sgd")), SkMLPRegressor(**_p("sgd"))
    _assert_same_outcome(_outcome(fast.partial_fit, X, y[:, None]),
                         _outcome(ref.partial_fit, X, y[:, None]))
    assert_fitted_close(fast, ref, X)


@pytest.mark.parametrize("method", ["fit", "partial_fit", "fit-lbfgs"])
def test_multiclass_multioutput_error(method):
    X, y = make_data("multiclass")
    Y = np.c_[y, (y + 1) % 3]
    solver = "lbfgs" if method == "fit-lbfgs" else "adam"
    kwargs = {"classes": [0, 1, 2]} if method == "partial_fit" else {}
    name = "partial_fit" if method == "partial_fit" else "fit"
    outs = [_outcome(getattr(cls(**_p(solver)), name), X, Y, **kwargs)
            for cls in (FastClassifier, SkMLPClassifier)]
    _assert_same_outcome(*outs)
    assert outs[1][1] is not None
    assert outs[1][1][0] is ValueError
    if method != "partial_fit":  # partial_fit: "Unknown label type: ..."
        assert outs[1][1][1] == (
            "Multioutput target data is not supported with label binarization")


@pytest.mark.parametrize("y_kind", ["object-numeric", "int", "float32", "bool"])
def test_regression_target_types(y_kind):
    X, y = make_data("reg1")
    y = {
        "object-numeric": y.astype(object),
        "int": np.round(3 * y).astype(np.int64),
        "float32": y.astype(np.float32),
        "bool": y > 0,
    }[y_kind]
    outs = [_outcome(cls(**_p()).fit, X, y) for cls in (FastRegressor, SkMLPRegressor)]
    _assert_same_outcome(*outs)
    if outs[1][0] is not None:
        _assert_close(outs[0][0], outs[1][0], X, "adam")
