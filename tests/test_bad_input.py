"""Bad input gets a clear error before any kernel runs; odd-but-valid input works.

Every case is one row of a table, run against mlpfast and, where meaningful,
against scikit-learn on the same input:

* ``BAD_FIT`` / ``BAD_PREDICT`` / ``BAD_PARTIAL_FIT``: calls that must raise.
  ``sklearn="same"`` means scikit-learn raises the same exception type (and,
  with ``same_message``, the same message: both go through scikit-learn's
  validation).  ``sklearn="deviates"`` marks a documented difference, with
  the reason; ``sklearn="skip"`` a case scikit-learn must not be run on (it
  would try to allocate the memory that mlpfast refuses up front).
* ``WORKING_LAYOUTS``: inputs that must work and give bit-for-bit the model
  of the C-contiguous float copy (the copy scikit-learn's validation makes).

New features (sample_weight, sparse input, new solvers or losses) extend the
tables with rows; the test functions stay as they are.
"""
import dataclasses
import re
import time
import typing
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from conftest import (
    FastClassifier,
    FastRegressor,
    SkMLPClassifier,
    SkMLPRegressor,
    assert_same_validation_message,
    engine_only,
)

N_ROWS, N_FEATURES = 30, 4
SMALL = dict(hidden_layer_sizes=(3,), max_iter=2, random_state=0)


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N_ROWS, N_FEATURES))
    y_class = np.arange(N_ROWS) % 3
    y_reg = rng.standard_normal(N_ROWS)
    return X, y_class, y_reg


X0, Y_CLASS, Y_REG = _data()

KINDS = {
    "classifier": (FastClassifier, SkMLPClassifier, Y_CLASS),
    "regressor": (FastRegressor, SkMLPRegressor, Y_REG),
}


def _outcome(call):
    """The exception ``call()`` raises, or None; warnings are silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            try:
                call()
            except Exception as exc:  # noqa: BLE001
                return exc
    return None


@dataclasses.dataclass
class Bad:
    """One bad input: ``run(cls, y)`` makes the call that must fail."""

    id: str
    run: typing.Callable
    raises: type
    match: str = ""
    kinds: tuple = ("classifier", "regressor")
    sklearn: str = "same"          # "same", "deviates" or "skip"
    same_message: bool = False
    why: str = ""                  # for "deviates"/"skip"


def _fit(X=None, y=None, **params):
    def run(cls, y_default):
        est = cls(**dict(SMALL, **params))
        return est.fit(X0 if X is None else X, y_default if y is None else y)
    return run


def _with_nan(X):
    X = X.copy()
    X[3, 1] = np.nan
    return X


def _y_with(value):
    def run(cls, y_default):
        y = y_default.astype(np.float64).copy()
        y[2] = value
        return cls(**SMALL).fit(X0, y)
    return run


BAD_FIT = [
    # -- values ---------------------------------------------------------------
    Bad("X_nan", _fit(X=_with_nan(X0)), ValueError, "NaN", same_message=True),
    Bad("X_inf", _fit(X=np.where(X0 > 1, np.inf, X0)), ValueError, "infinity",
        same_message=True),
    Bad("X_minus_inf", _fit(X=np.where(X0 > 1, -np.inf, X0)), ValueError, "infinity",
        same_message=True),
    Bad("X_float64_overflow_from_longdouble",
        _fit(X=np.full((N_ROWS, N_FEATURES), np.longdouble("1e400"))), ValueError,
        "infinity|too large", same_message=True),
    Bad("y_nan", _y_with(np.nan), ValueError, "NaN", same_message=True),
    Bad("y_inf", _y_with(np.inf), ValueError, "infinity", same_message=True),
    # -- shapes ---------------------------------------------------------------
    Bad("X_1d", _fit(X=X0[:, 0]), ValueError, "Expected 2D array", same_message=True),
    Bad("X_3d", _fit(X=X0[:, :, None]), ValueError, "dim 3", same_message=True),
    Bad("X_scalar", _fit(X=1.5), ValueError, "Expected 2D array", same_message=True),
    Bad("X_none", lambda cls, y: cls(**SMALL).fit(None, y), ValueError,
        "Expected 2D array", same_message=True),
    Bad("X_ragged", _fit(X=[[1.0, 2.0], [3.0]] * 15), ValueError, "inhomogeneous",
        same_message=True),
    Bad("X_0_rows", _fit(X=X0[:0], y=np.zeros(0)), ValueError, "0 sample",
        same_message=True),
    Bad("X_0_features", _fit(X=X0[:, :0]), ValueError, "0 feature", same_message=True),
    Bad("y_3d", lambda cls, y: cls(**SMALL).fit(X0, y[:, None, None]), ValueError,
        "dim 3", same_message=True),
    Bad("y_0_columns", _fit(y=np.zeros((N_ROWS, 0))), ValueError, "0 feature",
        same_message=True),
    Bad("y_too_short", lambda cls, y: cls(**SMALL).fit(X0, y[:-1]), ValueError,
        "inconsistent numbers of samples", same_message=True),
    Bad("y_too_long", lambda cls, y: cls(**SMALL).fit(X0, np.r_[y, y[:1]]), ValueError,
        "inconsistent numbers of samples", same_message=True),
    Bad("one_row_with_early_stopping",
        lambda cls, y: cls(early_stopping=True, **SMALL).fit(X0[:1], y[:1]),
        ValueError, "n_samples=1", same_message=True),
    Bad("validation_set_too_small",
        lambda cls, y: cls(early_stopping=True, validation_fraction=0.05, **SMALL).fit(
            X0[:20], y[:20]),
        ValueError, "validation set is too small", same_message=True),
    # -- dtypes ---------------------------------------------------------------
    Bad("X_complex", _fit(X=X0 + 1j), ValueError, "Complex data not supported",
        same_message=True),
    Bad("y_complex", lambda cls, y: cls(**SMALL).fit(X0, y + 1j), ValueError,
        "Complex data not supported", same_message=True),
    Bad("X_object_strings", _fit(X=np.full((N_ROWS, N_FEATURES), "a", dtype=object)),
        ValueError, "could not convert string to float", same_message=True),
    Bad("X_strings", _fit(X=np.full((N_ROWS, N_FEATURES), "a")), ValueError,
        "could not convert string to float", same_message=True),
    Bad("X_object_none", _fit(X=np.full((N_ROWS, N_FEATURES), None, dtype=object)),
        ValueError, "NaN", same_message=True),
    Bad("X_structured", _fit(X=np.zeros(N_ROWS, dtype=[("a", "f8"), ("b", "f8")])),
        TypeError, "Cannot cast", same_message=True),
    Bad("X_void", _fit(X=np.zeros((N_ROWS, N_FEATURES), dtype="V8")), ValueError,
        "sequence", same_message=True),
    Bad("X_datetime", _fit(X=np.zeros((N_ROWS, N_FEATURES), dtype="M8[s]")), TypeError,
        "datetime64.*not numbers", sklearn="deviates",
        why="scikit-learn converts datetime64 X silently to seconds/ns since the epoch"),
    Bad("X_timedelta", _fit(X=np.ones((N_ROWS, N_FEATURES), dtype="m8[ms]")), TypeError,
        "timedelta64.*not numbers", sklearn="deviates",
        why="scikit-learn converts timedelta64 X silently to a unit-dependent count"),
    Bad("y_strings_regression", lambda cls, y: cls(**SMALL).fit(X0, y.astype(str)),
        TypeError, "numeric targets", kinds=("regressor",)),
    Bad("y_words_regression", lambda cls, y: cls(**SMALL).fit(X0, np.full(N_ROWS, "a")),
        TypeError, "numeric targets", kinds=("regressor",)),
    Bad("y_datetime_regression",
        lambda cls, y: cls(**SMALL).fit(X0, np.arange(N_ROWS).astype("M8[D]")),
        TypeError, "numeric targets", kinds=("regressor",)),
    Bad("y_object_classifier_mixed",
        lambda cls, y: cls(**SMALL).fit(X0, np.array(["a", 1] * (N_ROWS // 2), dtype=object)),
        TypeError, "not supported between", kinds=("classifier",), same_message=True),
    Bad("y_float_labels_classifier", lambda cls, y: cls(**SMALL).fit(X0, y + 0.5),
        ValueError, "Unknown label type", kinds=("classifier",), same_message=True),
    Bad("y_multiclass_multioutput",
        lambda cls, y: cls(**SMALL).fit(X0, np.c_[np.arange(N_ROWS) % 3, np.arange(N_ROWS) % 4]),
        ValueError, "", kinds=("classifier",), same_message=True),
    # -- sparse input and sample weights (only where implemented) -------------
    Bad("sparse_X_nan", lambda cls, y: cls(**SMALL).fit(sp.csr_matrix(_with_nan(X0)), y),
        ValueError, "NaN"),
    Bad("sample_weight_too_short",
        lambda cls, y: cls(**SMALL).fit(X0, y, sample_weight=np.ones(N_ROWS - 1)),
        ValueError, "sample_weight|Sample weights", same_message=True),
    Bad("sample_weight_2d",
        lambda cls, y: cls(**SMALL).fit(X0, y, sample_weight=np.ones((N_ROWS, 2))),
        ValueError, "1D", same_message=True),
    Bad("sample_weight_nan",
        lambda cls, y: cls(**SMALL).fit(X0, y, sample_weight=np.r_[np.nan, np.ones(N_ROWS - 1)]),
        ValueError, "NaN", same_message=True),
]

# Constructor values that scikit-learn's parameter constraints reject (the
# same table format as test_estimator_behaviour's INVALID_PARAMS, which has
# the basic ones): compared with scikit-learn, type and message.
INVALID_CONSTRUCTOR = [
    dict(hidden_layer_sizes=0),
    dict(hidden_layer_sizes=-3),
    dict(hidden_layer_sizes="auto"),
    dict(activation="Relu"),
    dict(activation=None),
    dict(solver="SGD"),
    dict(solver=None),
    dict(learning_rate="optimal"),
    dict(batch_size=0),
    dict(batch_size=-1),
    dict(batch_size=1.5),
    dict(batch_size="AUTO"),
    dict(alpha=np.nan),
    dict(alpha=np.inf),
    dict(alpha="0.1"),
    dict(learning_rate_init=-0.1),
    dict(learning_rate_init=np.inf),
    dict(learning_rate_init=np.nan),
    dict(power_t=np.nan),
    dict(max_iter=-1),
    dict(max_iter=2.0),
    dict(tol=np.nan),
    dict(tol=np.inf),
    dict(momentum=-0.1),
    dict(momentum=np.nan),
    dict(validation_fraction=-0.1),
    dict(validation_fraction=1.5),
    dict(validation_fraction=np.nan),
    dict(beta_1=-0.1),
    dict(beta_1=np.nan),
    dict(beta_2=1.0),
    dict(beta_2=1.5),
    dict(epsilon=-1e-8),
    dict(epsilon=np.inf),
    dict(n_iter_no_change=-1),
    dict(max_fun=-5),
    dict(random_state=1.5),
    dict(random_state=2**32),
]

BAD_SIZES = [
    # Non-integer widths: scikit-learn fails inside numpy with a TypeError;
    # int() would have truncated 5.5 to 5 silently.
    Bad("hidden_5.5", _fit(hidden_layer_sizes=(5.5,)), TypeError, "must hold integers"),
    Bad("hidden_5.0", _fit(hidden_layer_sizes=(5.0,)), TypeError, "must hold integers"),
    Bad("hidden_numpy_float", _fit(hidden_layer_sizes=np.array([4.0, 2.0])), TypeError,
        "must hold integers"),
    Bad("hidden_bool", _fit(hidden_layer_sizes=(True,)), TypeError, "must hold integers"),
    Bad("hidden_inf", _fit(hidden_layer_sizes=(np.inf,)), TypeError, "must hold integers"),
    Bad("hidden_nan", _fit(hidden_layer_sizes=(np.nan,)), TypeError, "must hold integers",
        sklearn="deviates", why="scikit-learn raises OverflowError from numpy's RNG"),
    Bad("hidden_string_item", _fit(hidden_layer_sizes=("5",)), TypeError,
        "must hold integers"),
    Bad("hidden_none_item", _fit(hidden_layer_sizes=(None,)), TypeError,
        "must hold integers"),
    Bad("hidden_nested", _fit(hidden_layer_sizes=((5,),)), TypeError, "must hold integers"),
    Bad("hidden_2d_array", _fit(hidden_layer_sizes=np.ones((2, 2), dtype=int)), TypeError,
        "1-D"),
    Bad("hidden_zero", _fit(hidden_layer_sizes=(5, 0)), ValueError,
        r"hidden_layer_sizes must be > 0, got \[5, 0\]\.", same_message=True),
    Bad("hidden_negative", _fit(hidden_layer_sizes=[-2]), ValueError, "must be > 0",
        same_message=True),
    Bad("hidden_negative_float", _fit(hidden_layer_sizes=[-1.5]), ValueError,
        "must be > 0", same_message=True),
    # Too large: fail before allocating, saying how much memory was asked.
    # scikit-learn's first allocation fails (MemoryError) or numpy refuses the
    # shape (ValueError); NetworkTooLargeError is both.
    Bad("hidden_1e12", _fit(hidden_layer_sizes=(10**12,)), MemoryError,
        r"needs about [\d.]+ TiB"),
    Bad("hidden_1e12_int", _fit(hidden_layer_sizes=10**12), MemoryError,
        r"needs about [\d.]+ TiB"),
    Bad("hidden_1e10_1e10", _fit(hidden_layer_sizes=(10**10, 10**10)), MemoryError,
        "sys.maxsize"),
    Bad("hidden_2_63", _fit(hidden_layer_sizes=(2**63,)), ValueError, "sys.maxsize"),
    Bad("hidden_2_70", _fit(hidden_layer_sizes=(2**70, 3)), ValueError, "sys.maxsize"),
    Bad("hidden_more_than_ram", _fit(hidden_layer_sizes=(10**9,)), MemoryError,
        r"needs about [\d.]+ GiB .*more than the .* of memory", sklearn="skip",
        why="scikit-learn would really try to allocate 37 GiB (and succeed on a big machine)"),
]


def _params(kind_cases):
    out = []
    for case in kind_cases:
        for kind in case.kinds:
            marks = [engine_only] if case.sklearn == "deviates" else []
            out.append(pytest.param(case, kind, id=f"{case.id}-{kind}", marks=marks))
    return out


def _check_bad(case, kind):
    fast_cls, ref_cls, y = KINDS[kind]
    start = time.perf_counter()
    error = _outcome(lambda: case.run(fast_cls, y))
    elapsed = time.perf_counter() - start
    assert error is not None, f"{case.id}: mlpfast accepted the input"
    assert isinstance(error, case.raises), (
        f"{case.id}: mlpfast raised {type(error).__name__}: {error}")
    assert str(error), f"{case.id}: empty message"
    if case.match:
        assert re.search(case.match, str(error)), (
            f"{case.id}: message {str(error)!r} does not match {case.match!r}")
    # Validation fails fast: nothing was trained or allocated at scale.
    assert elapsed < 5.0, f"{case.id}: took {elapsed:.1f} s to fail"
    if case.sklearn == "skip":
        return error, None
    ref_error = _outcome(lambda: case.run(ref_cls, y))
    if case.sklearn == "same":
        assert ref_error is not None, f"{case.id}: scikit-learn accepts it"
        assert isinstance(ref_error, case.raises), (
            f"{case.id}: scikit-learn raises {type(ref_error).__name__}: {ref_error}")
        assert isinstance(error, type(ref_error)) or isinstance(ref_error, type(error)) or (
            case.raises in type(ref_error).__mro__), (
            f"{case.id}: {type(error).__name__} vs scikit-learn's {type(ref_error).__name__}")
        if case.same_message:
            assert str(error) == str(ref_error)
    return error, ref_error


@pytest.mark.parametrize("case,kind", _params(BAD_FIT))
def test_bad_fit_input(case, kind):
    _check_bad(case, kind)


@pytest.mark.parametrize("case,kind", _params(BAD_SIZES))
def test_bad_hidden_layer_sizes(case, kind):
    _check_bad(case, kind)


@pytest.mark.parametrize("kwargs", INVALID_CONSTRUCTOR, ids=[repr(k) for k in INVALID_CONSTRUCTOR])
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_invalid_constructor_values_like_sklearn(kwargs, kind, method):
    fast_cls, ref_cls, y = KINDS[kind]
    extra = {"classes": np.unique(Y_CLASS)} if method == "partial_fit" and kind == "classifier" else {}
    if method == "partial_fit" and kind == "classifier" and "solver" in kwargs:
        pytest.skip("partial_fit is hidden for an invalid solver")
    error = _outcome(lambda: getattr(fast_cls(**kwargs), method)(X0, y, **extra))
    ref_error = _outcome(lambda: getattr(ref_cls(**kwargs), method)(X0, y, **extra))
    assert ref_error is not None  # precondition: scikit-learn rejects it
    assert type(error) is type(ref_error), f"{type(error).__name__}: {error}"
    assert_same_validation_message(error, ref_error)
    assert list(kwargs)[0] in str(error)


# ---------------------------------------------------------------------------
# prediction and partial_fit
# ---------------------------------------------------------------------------


def _fitted(cls, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cls(**SMALL).fit(X0, y)


def _predict(X, method="predict"):
    def run(cls, y):
        return getattr(_fitted(cls, y), method)(X)
    return run


BAD_PREDICT = [
    Bad("too_few_features", _predict(X0[:, :3]), ValueError, "3 features", same_message=True),
    Bad("too_many_features", _predict(np.c_[X0, X0]), ValueError, "8 features",
        same_message=True),
    Bad("too_few_features_proba", _predict(X0[:, :3], "predict_proba"), ValueError,
        "3 features", kinds=("classifier",), same_message=True),
    Bad("1d", _predict(X0[0]), ValueError, "Expected 2D array", same_message=True),
    Bad("0_rows", _predict(X0[:0]), ValueError, "0 sample", same_message=True),
    Bad("nan", _predict(_with_nan(X0)), ValueError, "NaN", same_message=True),
    Bad("inf_proba", _predict(np.where(X0 > 1, np.inf, X0), "predict_proba"), ValueError,
        "infinity", kinds=("classifier",), same_message=True),
    # The fast path for plain float arrays leaves the finiteness check to
    # the kernel: one row, the last entry, float32.
    Bad("nan_one_row", _predict(_with_nan(X0)[3:4]), ValueError, "NaN", same_message=True),
    Bad("minus_inf_last_entry", _predict(np.where(np.arange(X0.size).reshape(X0.shape)
                                                  == X0.size - 1, -np.inf, X0)),
        ValueError, "infinity", same_message=True),
    Bad("nan_float32", _predict(_with_nan(X0).astype(np.float32)), ValueError, "NaN",
        same_message=True),
    Bad("complex", _predict(X0 + 1j), ValueError, "Complex", same_message=True),
    Bad("strings", _predict(np.full((3, N_FEATURES), "a")), ValueError, "strings",
        same_message=True),
    Bad("datetime", _predict(np.zeros((3, N_FEATURES), dtype="M8[s]")), TypeError,
        "not numbers"),
    Bad("score_y_mismatch", lambda cls, y: _fitted(cls, y).score(X0, y[:-1]), ValueError,
        "inconsistent numbers of samples", same_message=True),
]


@pytest.mark.parametrize("case,kind", _params(BAD_PREDICT))
def test_bad_predict_input(case, kind):
    _check_bad(case, kind)


def _partial(first, second, classes=(0, 1, 2)):
    """partial_fit on ``first`` (X, y) then on ``second``."""
    def run(cls, y):
        est = cls(**SMALL)
        kwargs = {"classes": list(classes)} if cls in (FastClassifier, SkMLPClassifier) else {}
        est.partial_fit(*first(y), **kwargs)
        est.partial_fit(*second(y))
        return est
    return run


BAD_PARTIAL_FIT = [
    Bad("unseen_label", _partial(lambda y: (X0, y % 2), lambda y: (X0, y), classes=(0, 1)),
        ValueError, "classes not in", kinds=("classifier",), same_message=True),
    Bad("string_label_unseen",
        _partial(lambda y: (X0, np.where(y % 2, "b", "a")),
                 lambda y: (X0, np.where(y % 2, "b", "c")), classes=("a", "b")),
        ValueError, "classes not in", kinds=("classifier",), same_message=True),
    Bad("other_features", _partial(lambda y: (X0, y), lambda y: (X0[:, :3], y)),
        ValueError, "3 features", same_message=True),
    Bad("other_outputs", _partial(lambda y: (X0, y), lambda y: (X0, np.c_[y, y])),
        ValueError, "", kinds=("regressor",)),
    Bad("nan_second_call", _partial(lambda y: (X0, y), lambda y: (_with_nan(X0), y)),
        ValueError, "NaN", same_message=True),
    Bad("classes_missing_first_call",
        lambda cls, y: cls(**SMALL).partial_fit(X0, y), ValueError,
        "classes must be passed", kinds=("classifier",), same_message=True),
]


@pytest.mark.parametrize("case,kind", _params(BAD_PARTIAL_FIT))
def test_bad_partial_fit_input(case, kind):
    _check_bad(case, kind)


# ---------------------------------------------------------------------------
# odd but valid inputs: same model as the C-contiguous float copy
# ---------------------------------------------------------------------------


def _memmap(tmp_path, array, mode="r"):
    path = tmp_path / f"x_{array.dtype.str.replace('<', 'l').replace('>', 'b')}.dat"
    out = np.memmap(path, dtype=array.dtype, mode="w+", shape=array.shape)
    out[...] = array
    out.flush()
    del out
    return np.memmap(path, dtype=array.dtype, mode=mode, shape=array.shape)


def _read_only(array):
    array = np.array(array)
    array.setflags(write=False)
    return array


def _integral(X):
    return np.round(3 * X)


# name -> (variant of X, the float copy scikit-learn's validation makes of it)
WORKING_LAYOUTS = {
    "fortran": (np.asfortranarray, lambda X: X),
    "row_strided": (lambda X: np.repeat(X, 2, axis=0)[::2], lambda X: X),
    "column_strided": (lambda X: np.repeat(X, 3, axis=1)[:, ::3], lambda X: X),
    "negative_strides": (lambda X: X[::-1, ::-1].copy()[::-1, ::-1], lambda X: X),
    "non_contiguous_2d_slice": (lambda X: np.pad(X, 2)[2:-2, 2:-2], lambda X: X),
    "read_only": (_read_only, lambda X: X),
    "memmap_r": ("memmap_r", lambda X: X),
    "memmap_c": ("memmap_c", lambda X: X),
    "memmap_float32": ("memmap_f32", lambda X: X.astype(np.float32)),
    "big_endian_f8": (lambda X: X.astype(">f8"), lambda X: X),
    # scikit-learn's validation turns '>f4' into float64 (not float32): so do we.
    "big_endian_f4": (lambda X: X.astype(">f4"), lambda X: X.astype(np.float32).astype(np.float64)),
    "float32_fortran_read_only": (lambda X: _read_only(np.asfortranarray(X, dtype=np.float32)),
                                  lambda X: X.astype(np.float32)),
    "float16": (lambda X: X.astype(np.float16), lambda X: X.astype(np.float16).astype(np.float64)),
    "int64": (lambda X: _integral(X).astype(np.int64), _integral),
    "int8_fortran": (lambda X: np.asfortranarray(_integral(X).astype(np.int8)), _integral),
    "uint32": (lambda X: np.abs(_integral(X)).astype(np.uint32), lambda X: np.abs(_integral(X))),
    "bool": (lambda X: X > 0, lambda X: (X > 0).astype(np.float64)),
    "object_floats": (lambda X: X.astype(object), lambda X: X),
    # Accepted by fit, as by scikit-learn's (predict takes numbers only, see BAD_PREDICT).
    "numeric_strings": (lambda X: X.astype(str), lambda X: X.astype(str).astype(np.float64)),
    "list_of_lists": (lambda X: X.tolist(), lambda X: X),
}


FIT_ONLY_LAYOUTS = ("numeric_strings",)


def _variant(name, tmp_path):
    make, make_copy = WORKING_LAYOUTS[name]
    if isinstance(make, str):
        source = X0.astype(np.float32) if make == "memmap_f32" else X0
        X = _memmap(tmp_path, source, mode="c" if make == "memmap_c" else "r")
    else:
        X = make(X0)
    return X, np.ascontiguousarray(make_copy(X0))


def _assert_same_model(a, b):
    assert len(a.coefs_) == len(b.coefs_)
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert u.dtype == v.dtype
        assert_array_equal(u, v)
    assert a.loss_curve_ == b.loss_curve_


@pytest.mark.parametrize("name", list(WORKING_LAYOUTS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_input_variants_match_c_float_copy(name, kind, tmp_path):
    fast_cls, ref_cls, y = KINDS[kind]
    X, X_copy = _variant(name, tmp_path)
    snapshot = np.array(X, dtype=object if name == "list_of_lists" else None, copy=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = fast_cls(**SMALL).fit(X, y)
        ref = fast_cls(**SMALL).fit(X_copy, y)
        sk = ref_cls(**SMALL).fit(X, y)
    _assert_same_model(est, ref)
    assert est.coefs_[0].dtype == sk.coefs_[0].dtype  # the dtype scikit-learn picks
    X_predict = X_copy if name in FIT_ONLY_LAYOUTS else X
    assert_array_equal(est.predict(X_predict), ref.predict(X_copy))
    if kind == "classifier":
        assert_array_equal(est.predict_proba(X_predict), ref.predict_proba(X_copy))
    assert est.score(X_predict, y) == ref.score(X_copy, y)
    # The input is never written to.
    assert_array_equal(np.array(X, dtype=snapshot.dtype), snapshot)


@pytest.mark.parametrize("name", ["fortran", "read_only", "memmap_r", "big_endian_f8",
                                  "int64", "bool"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_partial_fit_input_variants_match_c_float_copy(name, kind, tmp_path):
    fast_cls, _, y = KINDS[kind]
    X, X_copy = _variant(name, tmp_path)
    kwargs = {"classes": np.unique(y)} if kind == "classifier" else {}
    a, b = fast_cls(**SMALL), fast_cls(**SMALL)
    for _ in range(2):
        a.partial_fit(X, y, **kwargs)
        b.partial_fit(X_copy, y, **kwargs)
    _assert_same_model(a, b)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("n_rows", [1, 2])
def test_tiny_data_sets_work_like_sklearn(kind, n_rows):
    fast_cls, ref_cls, y = KINDS[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = fast_cls(**SMALL).fit(X0[:n_rows], y[:n_rows])
        ref = ref_cls(**SMALL).fit(X0[:n_rows], y[:n_rows])
    for u, v in zip(est.coefs_, ref.coefs_):
        np.testing.assert_allclose(u, v, rtol=1e-9, atol=1e-12)
    assert_array_equal(est.predict(X0).shape, ref.predict(X0).shape)


# ---------------------------------------------------------------------------
# the size check itself
# ---------------------------------------------------------------------------


@engine_only
def test_size_check_runs_before_any_allocation(monkeypatch):
    from mlpfast import _network

    def refuse(*args, **kwargs):  # pragma: no cover - must not be reached
        raise AssertionError("parameters were allocated before the size check")

    monkeypatch.setattr(_network.NetworkLayout, "__init__", refuse)
    with pytest.raises(MemoryError, match="needs about"):
        FastClassifier(hidden_layer_sizes=(10**12,)).fit(X0, Y_CLASS)


@engine_only
@pytest.mark.parametrize("hidden,batch_size,match", [
    ((10**5, 10**5), "auto", r"100000 x 100000 weight matrix .* BLAS"),
    ((20_000_000,), 200, r"batch of 200 rows of a 20000000-wide layer .* BLAS"),
    ((5_000_000,), 1000, r"batch of 1000 rows .* BLAS"),
])
def test_blas_int_limit(monkeypatch, hidden, batch_size, match):
    # On a machine with enough memory these fail on the 32-bit BLAS sizes
    # instead: pretend the memory is unlimited.
    from mlpfast import _checks

    monkeypatch.setattr(_checks, "_memory_limit", lambda: None)
    X = X0 if batch_size == "auto" else np.zeros((1000, N_FEATURES))
    y = np.arange(len(X)) % 3
    with pytest.raises(ValueError, match=match) as info:
        FastClassifier(hidden_layer_sizes=hidden, batch_size=batch_size).fit(X, y)
    assert not isinstance(info.value, MemoryError)


@engine_only
def test_size_error_is_both_memory_and_value_error():
    from mlpfast._checks import NetworkTooLargeError

    assert issubclass(NetworkTooLargeError, MemoryError)
    assert issubclass(NetworkTooLargeError, ValueError)
    with pytest.raises(NetworkTooLargeError) as info:
        FastRegressor(hidden_layer_sizes=(10**12,)).fit(X0, Y_REG)
    message = str(info.value)
    assert "hidden_layer_sizes" in message and "bytes" in message
    assert f"{N_FEATURES}, 1000000000000, 1" in message  # the layers asked for


@engine_only
def test_memory_limit_read_only_for_fits_larger_than_this_process_holds(monkeypatch):
    # A fit needing less than SURELY_AVAILABLE_BYTES fits in any limit this
    # process (numpy, scipy and scikit-learn loaded) runs under: the limit is
    # not read.  Larger fits are checked against it.
    from mlpfast import _checks
    from mlpfast._checks import NetworkTooLargeError

    reads = []
    monkeypatch.setattr(_checks, "_memory_limit", lambda: reads.append(1) or 10 * 2**20)
    import resource
    held = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # Linux: KiB
    assert held > _checks.SURELY_AVAILABLE_BYTES
    small = _checks.check_network_size([64, 100, 10], np.float64, 1797, 200, "adam")
    assert small < _checks.SURELY_AVAILABLE_BYTES and reads == []
    with pytest.raises(NetworkTooLargeError, match="more than the 10.0 MiB of memory"):
        _checks.check_network_size([784, 2048, 10], np.float64, 1000, 200, "adam")
    assert reads == [1]
