"""The per-call fast paths give what the general paths give, errors included.

Shortcuts serve calls on a few rows (a ``partial_fit`` stream, a one-row
``predict``):

* plain input (a C-contiguous float ndarray of the fitted width, 1-D
  targets) skips ``validate_data`` on a stream's later calls;
* parameter validation runs again only when the parameters changed;
* an integer ``random_state`` reseeds the estimator's own generator;
* ``predict`` on at most ``FEW_ROWS`` rows runs ``_kernels.forward_few_rows``;
* multiclass labels come from ``_kernels.row_argmax`` (numpy's argmax is the
  reference).

The references are independent of the shortcuts: the same data given in a
form that takes the general path (an F-ordered copy runs ``validate_data``,
``_kernels.forward`` is the general forward pass), a fresh ``RandomState``,
and scikit-learn's own estimators for every error (type and message). The
shortcuts compute with the same kernels on the same rows, so results must be
identical to the bit: no tolerance.
"""
import copy
import pickle

import numpy as np
import pytest
import scipy.sparse
from conftest import engine_only, make_data
from numpy.testing import assert_array_equal
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

import mlpfast._estimators
from mlpfast import MLPClassifier, MLPRegressor, _checks, _kernels

pytestmark = engine_only

PARAMS = dict(hidden_layer_sizes=(7, 5), random_state=0, batch_size=16)
BLOCK_ROWS = 40
KINDS = {
    "classifier": (MLPClassifier, SkMLPClassifier, "multiclass"),
    "regressor": (MLPRegressor, SkMLPRegressor, "reg1"),
}


def _stream_kwargs(kind, y):
    return {"classes": np.unique(y)} if kind == "classifier" else {}


def _started(cls, kind, X, y):
    """An estimator after the first partial_fit call of a stream."""
    return cls(**PARAMS).partial_fit(X[:BLOCK_ROWS], y[:BLOCK_ROWS], **_stream_kwargs(kind, y))


def _assert_same_model(a, b):
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert u.dtype == v.dtype
        assert_array_equal(u, v)
    assert a.loss_curve_ == b.loss_curve_
    assert a.t_ == b.t_


@pytest.fixture
def validate_data_calls(monkeypatch):
    """Counts the estimators' calls of scikit-learn's validate_data."""
    calls = []
    original = mlpfast._estimators.validate_data

    def counting(*args, **kwargs):
        calls.append(kwargs.get("reset"))
        return original(*args, **kwargs)

    monkeypatch.setattr(mlpfast._estimators, "validate_data", counting)
    return calls


# ---------------------------------------------------------------------------
# partial_fit streams: the fast path against the validated path
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shuffle", [True, False])
def test_partial_fit_stream_matches_validated_stream(kind, dtype, shuffle,
                                                     validate_data_calls):
    cls, _, task = KINDS[kind]
    X, y = make_data(task, n_samples=5 * BLOCK_ROWS, dtype=dtype)
    fast = cls(**PARAMS, shuffle=shuffle)
    validated = cls(**PARAMS, shuffle=shuffle)
    for start in range(0, len(X), BLOCK_ROWS):
        block = slice(start, start + BLOCK_ROWS)
        kwargs = _stream_kwargs(kind, y) if start == 0 else {}
        del validate_data_calls[:]
        fast.partial_fit(X[block], y[block], **kwargs)
        # Only the first call (which sets n_features_in_) validates plain input.
        assert validate_data_calls == ([True] if start == 0 else [])
        validated.partial_fit(np.asfortranarray(X[block]), y[block], **kwargs)
        assert validate_data_calls[-1] is (start == 0)
        _assert_same_model(fast, validated)
    assert_array_equal(fast.predict(X), validated.predict(X))


@pytest.mark.parametrize("kind", list(KINDS))
def test_partial_fit_stream_matches_sklearn(kind):
    # Many calls with an int seed: every call shuffles with a generator
    # seeded anew, as scikit-learn's check_random_state gives it.
    cls, sk_cls, task = KINDS[kind]
    X, y = make_data(task, n_samples=6 * BLOCK_ROWS)
    fast, reference = cls(**PARAMS), sk_cls(**PARAMS)
    for start in range(0, len(X), BLOCK_ROWS):
        block = slice(start, start + BLOCK_ROWS)
        kwargs = _stream_kwargs(kind, y) if start == 0 else {}
        fast.partial_fit(X[block], y[block], **kwargs)
        reference.partial_fit(X[block], y[block], **kwargs)
    # The parity promise's float64 tolerance (conftest.RTOL64): the same
    # operations, where BLAS may sum products in another order.
    for ours, theirs in zip(fast.coefs_ + fast.intercepts_,
                            reference.coefs_ + reference.intercepts_):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    assert_array_equal(fast.predict(X), reference.predict(X))


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("make_variant", [
    lambda X: np.round(3 * X).astype(np.int64),
    lambda X: scipy.sparse.csr_matrix(X),
    lambda X: X.tolist(),
], ids=["int64", "csr", "list"])
def test_partial_fit_other_inputs_train_as_before(kind, make_variant, validate_data_calls):
    # Inputs the fast path leaves to validate_data train as their float copy.
    cls, _, task = KINDS[kind]
    X, y = make_data(task, n_samples=2 * BLOCK_ROWS)
    variant = make_variant(X[BLOCK_ROWS:])
    converted = np.asarray(variant.toarray() if scipy.sparse.issparse(variant) else variant,
                           dtype=np.float64)
    a, b = _started(cls, kind, X, y), _started(cls, kind, X, y)
    del validate_data_calls[:]
    a.partial_fit(variant, y[BLOCK_ROWS:])
    assert validate_data_calls == [False]
    b.partial_fit(np.asfortranarray(converted), y[BLOCK_ROWS:])
    _assert_same_model(a, b)


def _with_value(X, value):
    X = X.copy()
    X[3, 1] = value
    return X


# name -> the second call's (X, y) from the stream's X and y; every one is
# an error that scikit-learn's own partial_fit raises.
BAD_SECOND_CALLS = {
    "nan_X": lambda X, y: (_with_value(X, np.nan), y),
    "inf_X": lambda X, y: (_with_value(X, np.inf), y),
    "float32_nan_X": lambda X, y: (_with_value(X, np.nan).astype(np.float32), y),
    "nan_y": lambda X, y: (X, np.where(np.arange(len(y)) == 2, np.nan, y)),
    "wrong_n_features": lambda X, y: (np.ascontiguousarray(X[:, :-1]), y),
    "one_d_X": lambda X, y: (X[0], y[:1]),
    "three_d_X": lambda X, y: (X[:, :, None], y),
    "fewer_labels": lambda X, y: (X, y[:-1]),
    "complex_X": lambda X, y: (X.astype(np.complex128), y),
    "string_X": lambda X, y: (np.full(X.shape, "a"), y),
    "object_X": lambda X, y: (np.full(X.shape, None, dtype=object), y),
    "sparse_wrong_n_features": lambda X, y: (scipy.sparse.csr_matrix(X[:, :-1]), y),
    "fortran_nan_X": lambda X, y: (np.asfortranarray(_with_value(X, np.nan)), y),
}
CLASSIFIER_ONLY = {
    "unseen_label": lambda X, y: (X, np.where(np.arange(len(y)) == 0, 7, y)),
    "string_labels_for_int_classes": lambda X, y: (X, y.astype(str)),
}


def _error_of(call):
    with pytest.raises(Exception) as info:
        call()
    return type(info.value), str(info.value)


def _outcome(call):
    """None if call() returns, else its error's type and message."""
    try:
        call()
    except Exception as error:
        return type(error), str(error)
    return None


@pytest.mark.parametrize("kind,case", [(kind, case) for kind in KINDS for case in
                                       list(BAD_SECOND_CALLS) + list(CLASSIFIER_ONLY)
                                       if kind == "classifier" or case in BAD_SECOND_CALLS])
def test_partial_fit_errors_are_sklearn_errors(kind, case):
    cls, sk_cls, task = KINDS[kind]
    X, y = make_data(task, n_samples=2 * BLOCK_ROWS)
    bad_X, bad_y = {**BAD_SECOND_CALLS, **CLASSIFIER_ONLY}[case](X[BLOCK_ROWS:], y[BLOCK_ROWS:])
    ours = _started(cls, kind, X, y)
    theirs = _started(sk_cls, kind, X, y)
    weights = ours._params.copy()
    assert _error_of(lambda: ours.partial_fit(bad_X, bad_y)) == \
        _error_of(lambda: theirs.partial_fit(bad_X, bad_y))
    assert_array_equal(ours._params, weights)  # nothing trained


def test_partial_fit_classes_mismatch_is_sklearn_error():
    X, y = make_data("multiclass", n_samples=2 * BLOCK_ROWS)
    ours = _started(MLPClassifier, "classifier", X, y)
    theirs = _started(SkMLPClassifier, "classifier", X, y)
    other = np.array([0, 1, 5])
    assert _error_of(lambda: ours.partial_fit(X, y, classes=other)) == \
        _error_of(lambda: theirs.partial_fit(X, y, classes=other))


@pytest.mark.parametrize("given", [
    "classes_ itself", "equal array", "other integer dtype", "list", "reversed",
    "with a duplicate", "one class more", "one class less"])
def test_classes_given_again_are_checked_as_sklearn_checks_them(given, monkeypatch):
    # dask_ml's Incremental passes classes on every call. Whatever form they
    # take, the call does what scikit-learn's does (trains, or raises its
    # error) and trains as a call without classes would; classes equal to
    # classes_ (same dtype) skip unique_labels.
    X, y = make_data("multiclass", n_samples=2 * BLOCK_ROWS)
    ours = _started(MLPClassifier, "classifier", X, y)
    theirs = _started(SkMLPClassifier, "classifier", X, y)
    without = _started(MLPClassifier, "classifier", X, y)
    known = ours.classes_
    classes = {
        "classes_ itself": known,
        "equal array": known.copy(),
        "other integer dtype": known.astype(np.int32),
        "list": known.tolist(),
        "reversed": known[::-1].copy(),
        "with a duplicate": np.concatenate([known, known[:1]]),
        "one class more": np.append(known, known.max() + 1),
        "one class less": known[:-1].copy(),
    }[given]
    unique_labels_calls = []
    original = mlpfast._estimators.unique_labels
    monkeypatch.setattr(mlpfast._estimators, "unique_labels",
                        lambda *a: unique_labels_calls.append(1) or original(*a))
    rest_X, rest_y = X[BLOCK_ROWS:], y[BLOCK_ROWS:]
    expected = _outcome(lambda: theirs.partial_fit(rest_X, rest_y, classes=classes))
    assert _outcome(lambda: ours.partial_fit(rest_X, rest_y, classes=classes)) == expected
    if expected is None:
        _assert_same_model(ours, without.partial_fit(rest_X, rest_y))
    if given in ("classes_ itself", "equal array"):
        assert unique_labels_calls == []
    else:
        assert unique_labels_calls == [1]


# ---------------------------------------------------------------------------
# Parameter validation
# ---------------------------------------------------------------------------


def test_parameters_snapshot_tells_types_and_mutable_values_apart():
    snapshot = _checks.parameters_snapshot
    base = {"alpha": 1e-4, "hidden_layer_sizes": (100,), "verbose": False, "tol": None}
    assert snapshot(base) == snapshot(dict(base))
    assert snapshot(base) != snapshot({**base, "verbose": 0})
    assert snapshot({**base, "max_iter": 1}) != snapshot({**base, "max_iter": 1.0})
    assert snapshot(base) != snapshot({**base, "hidden_layer_sizes": (100.0,)})
    assert snapshot({**base, "seed": np.random.RandomState(0)}) == \
        snapshot({**base, "seed": np.random.RandomState(1)})
    for mutable in ([100], {"a": 1}, np.array([100]), ((1, [2]),)):
        assert snapshot({**base, "hidden_layer_sizes": mutable}) is None


@pytest.fixture
def validations(monkeypatch):
    """Counts the estimators' runs of scikit-learn's parameter validation."""
    calls = []
    original = MLPClassifier._validate_params

    def counting(self):
        calls.append(type(self).__name__)
        return original(self)

    monkeypatch.setattr(MLPClassifier, "_validate_params", counting)
    return calls


def test_parameters_validated_again_only_when_changed(validations):
    X, y = make_data("multiclass", n_samples=2 * BLOCK_ROWS)
    est = _started(MLPClassifier, "classifier", X, y)
    est.partial_fit(X, y)
    assert len(validations) == 1
    est.set_params(alpha=1e-3)
    est.partial_fit(X, y)
    assert len(validations) == 2
    # A list may change in place: validated at every call.
    est.set_params(hidden_layer_sizes=[7, 5])
    est.partial_fit(X, y)
    est.partial_fit(X, y)
    assert len(validations) == 4


@pytest.mark.parametrize("name,value", [("alpha", -1.0), ("learning_rate_init", 0.0),
                                        ("max_iter", 1.5), ("weight_decay", -1.0)])
def test_invalid_parameter_set_in_a_stream_raises(name, value):
    X, y = make_data("multiclass", n_samples=2 * BLOCK_ROWS)
    est = _started(MLPClassifier, "classifier", X, y)
    est.partial_fit(X, y)
    est.set_params(**{name: value})
    with pytest.raises(ValueError, match=f"The '{name}' parameter of MLPClassifier must be"):
        est.partial_fit(X, y)


# ---------------------------------------------------------------------------
# The reseeded generator
# ---------------------------------------------------------------------------


def _same_state(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a.get_state(), b.get_state()))


def test_int_seed_gives_a_freshly_seeded_generator_each_call():
    X, y = make_data("multiclass", n_samples=2 * BLOCK_ROWS)
    est = _started(MLPClassifier, "classifier", X, y)
    generator = est._fresh_random_state()
    generator.uniform(size=5)
    assert _same_state(est._fresh_random_state(), np.random.RandomState(0))
    # A copy (as callbacks get) makes its own generator, and leaves the
    # original's alone.
    duplicate = copy.copy(est)
    duplicate.partial_fit(X, y)
    assert duplicate._random_state is not est._fresh_random_state()


@pytest.mark.parametrize("duplicate", [lambda est: pickle.loads(pickle.dumps(est)),
                                       copy.deepcopy], ids=["pickle", "deepcopy"])
def test_duplicated_stream_goes_on_as_the_original(duplicate):
    # The shortcuts' state (the last validated parameters, the reseeded
    # generator) is not pickled, and a duplicate makes its own.
    X, y = make_data("multiclass", n_samples=3 * BLOCK_ROWS)
    est = _started(MLPClassifier, "classifier", X, y)
    est.partial_fit(X[BLOCK_ROWS:2 * BLOCK_ROWS], y[BLOCK_ROWS:2 * BLOCK_ROWS])
    twin = duplicate(est)
    if duplicate is not copy.deepcopy:
        assert not {"_validated_parameters", "_seeded_random_state"} & set(vars(twin))
    for model in (est, twin):
        model.partial_fit(X[2 * BLOCK_ROWS:], y[2 * BLOCK_ROWS:])
    _assert_same_model(est, twin)
    assert twin._random_state is not est._random_state


def test_random_state_instance_is_used_as_given():
    state = np.random.RandomState(3)
    est = MLPClassifier(**{**PARAMS, "random_state": state})
    assert est._fresh_random_state() is state


# ---------------------------------------------------------------------------
# predict on few rows
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted_models():
    models = {}
    for kind, (cls, _, task) in KINDS.items():
        for dtype in (np.float64, np.float32):
            X, y = make_data(task, n_samples=4 * BLOCK_ROWS, dtype=dtype)
            models[kind, np.dtype(dtype).name] = (cls(**PARAMS, max_iter=3).fit(X, y), X)
    return models


def _outputs(model, X):
    return model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_rows", [1, 2, 7, _kernels.FEW_ROWS, _kernels.FEW_ROWS + 1])
def test_few_rows_prediction_is_the_general_forward_pass(fitted_models, kind, dtype, n_rows):
    model, X = fitted_models[kind, dtype]
    rows = np.ascontiguousarray(X[:n_rows])
    general = _kernels.forward(model._network(), rows, model._params)
    assert_array_equal(_kernels.forward_few_rows(model._network(), rows, model._params)
                       if n_rows <= _kernels.FEW_ROWS else general, general)
    # The fast path against the validated one (an F-ordered copy).
    assert_array_equal(_outputs(model, rows), _outputs(model, np.asfortranarray(rows)))
    assert_array_equal(model.predict(rows), model.predict(np.asfortranarray(rows)))
    if kind == "classifier":
        assert_array_equal(model.predict_proba(rows), general)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_float32_rows_on_float64_model_predict_as_their_float64_copy(fitted_models):
    model, X = fitted_models["classifier", "float64"]
    rows = X[:3]
    assert_array_equal(model.predict_proba(rows.astype(np.float32)),
                       model.predict_proba(rows.astype(np.float32).astype(np.float64)))


BAD_PREDICT_ROWS = {
    "nan": lambda X: _with_value(X, np.nan)[:5],
    "inf": lambda X: _with_value(X, -np.inf)[:5],
    "one_row_nan": lambda X: _with_value(X, np.nan)[3:4],
    "wrong_n_features": lambda X: np.ascontiguousarray(X[:1, :-1]),
    "one_d": lambda X: X[0],
    "complex": lambda X: X[:1].astype(np.complex128),
    "strings": lambda X: np.full(X[:1].shape, "a"),
    "object_none": lambda X: np.full(X[:1].shape, None, dtype=object),
    "zero_rows": lambda X: X[:0],
}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("case", list(BAD_PREDICT_ROWS))
def test_few_rows_prediction_errors_are_sklearn_errors(fitted_models, kind, case):
    model, X = fitted_models[kind, "float64"]
    _, sk_cls, task = KINDS[kind]
    X_train, y_train = make_data(task, n_samples=4 * BLOCK_ROWS)
    reference = sk_cls(**PARAMS, max_iter=1).fit(X_train, y_train)
    rows = BAD_PREDICT_ROWS[case](X)
    assert _error_of(lambda: model.predict(rows)) == _error_of(lambda: reference.predict(rows))


def test_forward_few_rows_checks_its_arguments():
    model = MLPRegressor(**PARAMS, max_iter=1)
    X, y = make_data("reg1", n_samples=BLOCK_ROWS)
    model.partial_fit(X, y)
    network, params = model._network(), model._params
    with pytest.raises(ValueError, match="1 to"):
        _kernels.forward_few_rows(network, X, params)
    with pytest.raises(ValueError, match="C-contiguous"):
        _kernels.forward_few_rows(network, np.asfortranarray(X[:2]), params)
    with pytest.raises(ValueError, match="dtype"):
        _kernels.forward_few_rows(network, X[:2], params.astype(np.float32))
    with pytest.raises(ValueError, match="columns"):
        _kernels.forward_few_rows(network, np.ascontiguousarray(X[:2, :-1]), params)
    assert _kernels.forward_few_rows(network, _with_value(X, np.nan)[3:4], params,
                                     require_finite=True) is None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_row_argmax_is_numpys_argmax(dtype):
    # Ties (values drawn from a few integers), NaNs (numpy's argmax takes the
    # first NaN) and infinities, in every position of rows of 1 to 12 columns.
    rng = np.random.default_rng(0)
    for n_columns in range(1, 13):
        values = rng.integers(-2, 3, size=(300, n_columns)).astype(dtype)
        values[rng.random(values.shape) < 0.1] = np.nan
        values[rng.random(values.shape) < 0.05] = np.inf
        values[rng.random(values.shape) < 0.05] = -np.inf
        assert_array_equal(_kernels.row_argmax(values), values.argmax(axis=1))
    assert _kernels.row_argmax(np.empty((0, 3), dtype=dtype)).shape == (0,)


def test_row_argmax_checks_its_argument():
    with pytest.raises(ValueError, match="at least one column"):
        _kernels.row_argmax(np.empty((2, 0)))
    with pytest.raises(ValueError, match="C-contiguous"):
        _kernels.row_argmax(np.asfortranarray(np.ones((2, 3))))
    with pytest.raises(ValueError, match="float32 or float64"):
        _kernels.row_argmax(np.ones((2, 3), dtype=np.int64))
