"""Estimator behaviour of mlpfast: API, attributes, errors, pickling, inputs.

Wherever possible the expected behaviour is obtained by running scikit-learn
on the same input rather than hard-coded.
"""

import copy
import inspect
import numbers
import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conftest import (
    AGAINST_SKLEARN,
    ALL_TASKS,
    RTOL64,
    ATOL64,
    RTOL32,
    ATOL32,
    FastClassifier,
    FastRegressor,
    SkMLPClassifier,
    SkMLPRegressor,
    assert_fitted_close,
    assert_same_validation_message,
    assert_same_warnings,
    assert_training_state_close,
    assert_weights_close,
    assert_weights_identical,
    engine_only,
    estimator_pair,
    fit_both,
    fit_quiet,
    fit_recording_warnings,
    is_classification,
    make_data,
)
PARAMS = dict(hidden_layer_sizes=(8, 5), max_iter=5, batch_size=32, random_state=0,
              learning_rate_init=0.01)

# Parameters mlpfast has beyond scikit-learn's, with their defaults.
# mlpfast's training rules, on both estimators, at their defaults.
_RULE_DEFAULTS = {"dropout": 0.0, "weight_decay": 0.0, "max_grad_norm": None}
OWN_PARAMETERS = {
    FastClassifier: {} if AGAINST_SKLEARN else {"class_weight": None, **_RULE_DEFAULTS},
    FastRegressor: {} if AGAINST_SKLEARN else {"huber_delta": 1.0, **_RULE_DEFAULTS},
}

EXPECTED_OUTPUTS = {  # task -> (n_outputs_, out_activation_)
    "binary": (1, "logistic"),
    "multiclass": (3, "softmax"),
    "multilabel": (3, "logistic"),
    "reg1": (1, "identity"),
    "reg2": (2, "identity"),
}


def _partial_fit_kwargs(task, y):
    if task in ("binary", "multiclass"):
        return {"classes": np.unique(y)}
    if task == "multilabel":
        return {"classes": np.arange(y.shape[1])}
    return {}


def _capture(fn):
    """Run fn; return the exception it raised (fails the test if none)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn()
        except Exception as exc:  # noqa: BLE001
            return exc
    pytest.fail(f"{fn} did not raise")


def _forward(est, X):
    """Independent numpy forward pass from the public coefs_/intercepts_."""
    act = {
        "identity": lambda z: z,
        "logistic": expit,
        "tanh": np.tanh,
        "relu": lambda z: np.maximum(z, 0),
    }
    a = np.asarray(X, dtype=np.float64)
    n = len(est.coefs_)
    for i, (W, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        a = a @ W.astype(np.float64) + b.astype(np.float64)
        if i < n - 1:
            a = act[est.activation](a)
    if est.out_activation_ == "softmax":
        e = np.exp(a - a.max(axis=1, keepdims=True))
        a = e / e.sum(axis=1, keepdims=True)
    elif est.out_activation_ == "logistic":
        a = expit(a)
    return a


def _model_output(est, X):
    if est.out_activation_ == "identity":
        out = est.predict(X)
        return out.reshape(len(X), -1)
    proba = est.predict_proba(X)
    return proba[:, 1:] if est.n_outputs_ == 1 else proba


# --------------------------------------------------------------------------
# fitted attributes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("task", ALL_TASKS)
@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fitted_attributes(task, early_stopping, dtype):
    X, y = make_data(task, dtype=dtype)
    params = dict(PARAMS, early_stopping=early_stopping, validation_fraction=0.2)
    fast, ref = fit_both(task, params, X, y)
    n_out, out_act = EXPECTED_OUTPUTS[task]

    assert fast.n_layers_ == ref.n_layers_ == 4
    assert fast.n_outputs_ == ref.n_outputs_ == n_out
    assert fast.out_activation_ == ref.out_activation_ == out_act
    assert isinstance(fast.n_layers_, numbers.Integral)
    assert isinstance(fast.n_outputs_, numbers.Integral)
    assert fast.n_features_in_ == X.shape[1]
    assert isinstance(fast.n_features_in_, numbers.Integral)

    units = [X.shape[1], 8, 5, n_out]
    assert isinstance(fast.coefs_, list) and isinstance(fast.intercepts_, list)
    assert len(fast.coefs_) == len(fast.intercepts_) == 3
    for i in range(3):
        W, b = fast.coefs_[i], fast.intercepts_[i]
        assert isinstance(W, np.ndarray) and isinstance(b, np.ndarray)
        assert W.shape == ref.coefs_[i].shape == (units[i], units[i + 1])
        assert b.shape == ref.intercepts_[i].shape == (units[i + 1],)
        assert W.dtype == b.dtype == ref.coefs_[i].dtype == dtype

    n_train = len(X) - (int(np.ceil(0.2 * len(X))) if early_stopping else 0)
    assert isinstance(fast.n_iter_, numbers.Integral) and fast.n_iter_ == 5
    assert isinstance(fast.t_, numbers.Integral) and fast.t_ == 5 * n_train
    assert isinstance(fast.loss_, numbers.Real)
    assert isinstance(fast.loss_curve_, list) and len(fast.loss_curve_) == 5
    assert all(isinstance(v, numbers.Real) for v in fast.loss_curve_)
    assert fast.loss_ == fast.loss_curve_[-1]
    if early_stopping:
        assert fast.best_loss_ is None
        assert isinstance(fast.validation_scores_, list)
        assert len(fast.validation_scores_) == 5
        assert isinstance(fast.best_validation_score_, numbers.Real)
        assert fast.best_validation_score_ == max(fast.validation_scores_)
    else:
        assert isinstance(fast.best_loss_, numbers.Real)
        assert fast.best_loss_ == min(fast.loss_curve_)
        assert fast.validation_scores_ is None
        assert fast.best_validation_score_ is None

    if is_classification(task):
        assert isinstance(fast.classes_, np.ndarray)
        assert_array_equal(fast.classes_, ref.classes_)
        assert fast.classes_.dtype == ref.classes_.dtype
        proba = fast.predict_proba(X)
        assert proba.shape == (len(X), max(n_out, 2) if task != "multilabel" else n_out)
        assert proba.dtype == ref.predict_proba(X).dtype
        pred = fast.predict(X)
        assert pred.shape == ref.predict(X).shape and pred.dtype == ref.predict(X).dtype
    else:
        assert not hasattr(fast, "classes_")
        pred = fast.predict(X)
        assert pred.shape == ((len(X),) if n_out == 1 else (len(X), n_out))
        assert pred.dtype == ref.predict(X).dtype == dtype


def test_unfitted_estimator_has_no_fitted_attributes():
    for est in (FastClassifier(), FastRegressor()):
        for attr in ("coefs_", "intercepts_", "n_iter_", "loss_curve_", "n_layers_",
                     "n_features_in_", "classes_", "t_"):
            assert not hasattr(est, attr), attr


@pytest.mark.parametrize("task", ALL_TASKS)
def test_coefs_are_the_weights_used_for_prediction(task):
    X, y = make_data(task)
    est = fit_quiet(estimator_pair(task)[0](activation="tanh", **PARAMS), X, y)
    assert_allclose(_model_output(est, X), _forward(est, X), rtol=RTOL64, atol=ATOL64)
    # in-place edits of the public arrays are seen by predict (as in sklearn)
    est.coefs_[0] *= 0.5
    est.intercepts_[-1] += 0.25
    assert_allclose(_model_output(est, X), _forward(est, X), rtol=RTOL64, atol=ATOL64)


@pytest.mark.parametrize("task", ["multiclass", "reg2"])
def test_fit_is_deterministic(task):
    X, y = make_data(task)
    cls = estimator_pair(task)[0]
    a = fit_quiet(cls(early_stopping=True, **PARAMS), X, y)
    b = fit_quiet(cls(early_stopping=True, **PARAMS), X, y)
    assert_weights_identical(a, b)
    assert a.loss_curve_ == b.loss_curve_
    assert a.validation_scores_ == b.validation_scores_


def test_fit_and_partial_fit_return_self():
    X, y = make_data("multiclass")
    est = FastClassifier(**PARAMS)
    assert fit_quiet(est, X, y) is est
    assert est.partial_fit(X, y) is est
    reg = FastRegressor(**PARAMS)
    Xr, yr = make_data("reg1")
    assert fit_quiet(reg, Xr, yr) is reg
    assert reg.partial_fit(Xr, yr) is reg


def test_n_iter_after_partial_fit_and_t_accumulates():
    X, y = make_data("binary")
    est = FastClassifier(**PARAMS)
    est.partial_fit(X, y, classes=[0, 1])
    est.partial_fit(X, y)
    assert est.n_iter_ == 1
    assert est.t_ == 2 * len(X)
    assert len(est.loss_curve_) == 2


# --------------------------------------------------------------------------
# partial_fit / warm_start errors
# --------------------------------------------------------------------------


def _assert_same_error(fast_fn, ref_fn, exc_type=ValueError):
    e_fast, e_ref = _capture(fast_fn), _capture(ref_fn)
    assert isinstance(e_ref, exc_type)  # precondition on sklearn
    assert isinstance(e_fast, exc_type), f"{type(e_fast).__name__}: {e_fast}"
    assert_same_validation_message(e_fast, e_ref)
    return e_fast


def _assert_same_loss_error(fast_fn, ref_fn):
    """scikit-learn's error for an invalid regression ``loss``, listing the
    regressor's own losses (scikit-learn's and mlpfast's)."""
    e_fast, e_ref = _capture(fast_fn), _capture(ref_fn)
    assert type(e_fast) is type(e_ref)
    options = re.compile(r"\{([^}]*)\}")
    assert options.sub("{}", str(e_fast)) == options.sub("{}", str(e_ref))
    listed = {name.strip(" '") for name in options.search(str(e_fast)).group(1).split(",")}
    assert listed == FastRegressor._parameter_constraints["loss"][0].options


def test_partial_fit_requires_classes_on_first_call():
    X, y = make_data("multiclass")
    e = _assert_same_error(lambda: FastClassifier(**PARAMS).partial_fit(X, y),
                           lambda: SkMLPClassifier(**PARAMS).partial_fit(X, y))
    assert "classes must be passed on the first call to partial_fit" in str(e)


def test_partial_fit_unseen_labels():
    X, y = make_data("multiclass")

    def run(cls):
        est = cls(**PARAMS)
        est.partial_fit(X[y < 2], y[y < 2], classes=[0, 1])
        est.partial_fit(X, y)

    e = _assert_same_error(lambda: run(FastClassifier), lambda: run(SkMLPClassifier))
    assert "`y` has classes not in `self.classes_`" in str(e)


def test_partial_fit_different_classes_on_second_call():
    X, y = make_data("multiclass")

    def run(cls):
        est = cls(**PARAMS)
        est.partial_fit(X, y, classes=[0, 1, 2])
        est.partial_fit(X[y < 2], y[y < 2], classes=[0, 1])

    _assert_same_error(lambda: run(FastClassifier), lambda: run(SkMLPClassifier))


def test_partial_fit_same_classes_again_is_fine():
    X, y = make_data("multiclass")
    est = FastClassifier(**PARAMS)
    est.partial_fit(X, y, classes=[0, 1, 2])
    est.partial_fit(X, y, classes=[2, 1, 0])
    assert_array_equal(est.classes_, [0, 1, 2])


@pytest.mark.parametrize("task", ["binary", "reg1"])
def test_partial_fit_rejects_early_stopping(task):
    X, y = make_data(task)
    fast_cls, ref_cls = estimator_pair(task)
    kw = _partial_fit_kwargs(task, y)
    e = _assert_same_error(
        lambda: fast_cls(early_stopping=True, **PARAMS).partial_fit(X, y, **kw),
        lambda: ref_cls(early_stopping=True, **PARAMS).partial_fit(X, y, **kw))
    assert "partial_fit does not support early_stopping=True" in str(e)


def test_warm_start_classes_mismatch():
    X, y = make_data("multiclass")

    def run(cls):
        est = cls(warm_start=True, **PARAMS)
        fit_quiet(est, X, y)
        fit_quiet(est, X[y < 2], y[y < 2])

    e = _assert_same_error(lambda: run(FastClassifier), lambda: run(SkMLPClassifier))
    assert "warm_start can only be used where `y` has the same classes" in str(e)


@pytest.mark.parametrize("task", ["multiclass", "reg1"])
def test_warm_start_feature_mismatch(task):
    X, y = make_data(task)
    fast_cls, ref_cls = estimator_pair(task)

    def run(cls):
        est = cls(warm_start=True, **PARAMS)
        fit_quiet(est, X, y)
        fit_quiet(est, X[:, :5], y)

    _assert_same_error(lambda: run(fast_cls), lambda: run(ref_cls))


def test_refit_without_warm_start_accepts_new_shapes():
    X, y = make_data("multiclass")
    est = fit_quiet(FastClassifier(**PARAMS), X, y)
    fit_quiet(est, X[:, :5], (y > 0).astype(int))
    assert est.n_features_in_ == 5
    assert est.coefs_[0].shape == (5, 8)
    assert est.n_outputs_ == 1
    assert_array_equal(est.classes_, [0, 1])


# --------------------------------------------------------------------------
# early stopping restores the best weights
# --------------------------------------------------------------------------


@pytest.mark.parametrize("task, solver", [("reg1", "sgd"), ("reg2", "adam"),
                                          ("multiclass", "sgd")])
def test_early_stopping_restores_best_weights(task, solver):
    X, y = make_data(task)
    cls = estimator_pair(task)[0]
    params = dict(hidden_layer_sizes=(10,), batch_size=16, random_state=3,
                  solver=solver, learning_rate_init=0.1 if solver == "sgd" else 0.05,
                  early_stopping=True, validation_fraction=0.2, max_iter=25,
                  n_iter_no_change=25, tol=0.0)
    est = fit_quiet(cls(**params), X, y)
    scores = est.validation_scores_
    assert len(scores) == est.n_iter_ == 25
    best = int(np.argmax(scores))
    assert est.best_validation_score_ == scores[best] == max(scores)
    assert best < est.n_iter_ - 1  # precondition: the last epoch is not the best

    # the kept weights are those after epoch `best + 1`: a run stopped there ends
    # with exactly the same weights (the first `best + 1` epochs are identical)
    short = fit_quiet(cls(**{**params, "max_iter": best + 1}), X, y)
    assert short.best_validation_score_ == est.best_validation_score_
    assert_weights_identical(est, short)

    # and scoring them on the validation split reproduces the best score
    rng = np.random.RandomState(params["random_state"])
    units = [X.shape[1], 10, est.n_outputs_]
    for fan_in, fan_out in zip(units[:-1], units[1:]):  # init draws come first
        rng.uniform(size=(fan_in, fan_out))
        rng.uniform(size=fan_out)
    _, X_val, _, y_val = train_test_split(X, y, random_state=rng, test_size=0.2)
    assert_allclose(est.score(X_val, y_val), est.best_validation_score_, rtol=1e-12)
    assert short.loss_curve_ == est.loss_curve_[: best + 1]


# --------------------------------------------------------------------------
# pickling
# --------------------------------------------------------------------------


@pytest.mark.parametrize("task, solver", [("multiclass", "adam"), ("binary", "sgd"),
                                          ("multilabel", "adam"), ("reg2", "sgd"),
                                          ("reg1", "adam")])
def test_pickle_round_trip(task, solver):
    X, y = make_data(task)
    cls = estimator_pair(task)[0]
    est = fit_quiet(cls(solver=solver, warm_start=True, early_stopping=False,
                        **PARAMS), X, y)
    loaded = pickle.loads(pickle.dumps(est))
    assert type(loaded) is type(est)
    assert loaded.get_params() == est.get_params()
    assert_weights_identical(loaded, est)
    assert_array_equal(loaded.predict(X), est.predict(X))
    if is_classification(task):
        assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
        assert_array_equal(loaded.classes_, est.classes_)
    for attr in ("n_iter_", "t_", "loss_", "loss_curve_", "best_loss_", "n_layers_",
                 "n_outputs_", "out_activation_", "n_features_in_",
                 "validation_scores_", "best_validation_score_"):
        assert getattr(loaded, attr) == getattr(est, attr), attr

    # continued training of the unpickled copy and of the original stays
    # identical: a warm-start refit, then partial_fit (optimizer state) ...
    before = [w.copy() for w in loaded.coefs_ + loaded.intercepts_]
    fit_quiet(est, X[::-1], y[::-1])
    fit_quiet(loaded, X[::-1], y[::-1])
    assert_weights_identical(loaded, est)
    assert loaded.loss_curve_ == est.loss_curve_
    for sl in (slice(0, 70), slice(70, 150)):
        est.partial_fit(X[sl], y[sl])
        loaded.partial_fit(X[sl], y[sl])
        assert_weights_identical(loaded, est)
        assert loaded.loss_curve_ == est.loss_curve_
        assert loaded.t_ == est.t_
    changed = [not np.array_equal(b, w) for b, w in
               zip(before, loaded.coefs_ + loaded.intercepts_)]
    assert all(changed), "training after unpickling left some coefs_ unchanged"
    # ... and the public arrays are the ones the model predicts with
    assert_allclose(_model_output(loaded, X), _forward(loaded, X), rtol=RTOL64, atol=ATOL64)
    assert_array_equal(loaded.predict(X), est.predict(X))


def test_pickle_partial_fit_stream_matches_sklearn():
    # pickle in the middle of a partial_fit stream, then continue; compare to sklearn
    X, y = make_data("multiclass")
    fast, ref = FastClassifier(**PARAMS), SkMLPClassifier(**PARAMS)
    fast.partial_fit(X[:75], y[:75], classes=[0, 1, 2])
    ref.partial_fit(X[:75], y[:75], classes=[0, 1, 2])
    fast = pickle.loads(pickle.dumps(fast))
    fast.partial_fit(X[75:], y[75:])
    ref.partial_fit(X[75:], y[75:])
    assert_fitted_close(fast, ref, X)


def test_pickle_unfitted_and_deepcopy():
    est = FastRegressor(hidden_layer_sizes=(4,), alpha=0.1)
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.get_params() == est.get_params()
    X, y = make_data("reg1")
    fit_quiet(est, X, y)
    dup = copy.deepcopy(est)
    assert_weights_identical(dup, est)
    dup.coefs_[0][...] = 0.0
    assert not np.array_equal(dup.coefs_[0], est.coefs_[0])  # independent storage


# --------------------------------------------------------------------------
# input variants
# --------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["multiclass", "multilabel", "reg2"])
def test_read_only_inputs(task):
    X, y = make_data(task)
    cls = estimator_pair(task)[0]
    ref = fit_quiet(cls(early_stopping=True, **PARAMS), X, y)
    Xr, yr = X.copy(), y.copy()
    Xr.setflags(write=False)
    yr.setflags(write=False)
    est = fit_quiet(cls(early_stopping=True, **PARAMS), Xr, yr)
    assert_weights_identical(est, ref)
    assert_array_equal(est.predict(Xr), ref.predict(X))
    kw = _partial_fit_kwargs(task, y)
    a, b = cls(**PARAMS), cls(**PARAMS)
    a.partial_fit(X, y, **kw)
    b.partial_fit(Xr, yr, **kw)
    assert_weights_identical(a, b)


@pytest.mark.parametrize("task", ["binary", "reg1"])
@pytest.mark.parametrize("variant", ["fortran", "int", "strided", "list"])
def test_input_layouts_match_c_float64(task, variant):
    X, y = make_data(task)
    if variant == "int":
        X = np.round(3 * X)  # integral values: the int copy is exact
    if variant == "fortran":
        Xv = np.asfortranarray(X)
    elif variant == "int":
        Xv = X.astype(np.int64)
    elif variant == "strided":
        big = np.zeros((X.shape[0] * 2, X.shape[1] * 2))
        big[::2, ::2] = X
        Xv = big[::2, ::2]
    else:
        Xv = X.tolist()
    cls = estimator_pair(task)[0]
    ref = fit_quiet(cls(**PARAMS), np.ascontiguousarray(X, dtype=np.float64), y)
    est = fit_quiet(cls(**PARAMS), Xv, y)
    for w in est.coefs_ + est.intercepts_:
        assert w.dtype == np.float64
    assert_weights_close(est, ref, rtol=RTOL64, atol=ATOL64)
    assert_training_state_close(est, ref, rtol=RTOL64, atol=ATOL64)
    if is_classification(task):
        assert_array_equal(est.predict(Xv), ref.predict(X))
    else:
        assert_allclose(est.predict(Xv), ref.predict(X), rtol=RTOL64, atol=ATOL64)


def test_predict_on_int_and_fortran_input():
    X, y = make_data("reg2")
    X = np.round(3 * X)
    fast, ref = fit_both("reg2", PARAMS, X, y)
    for Z in (X.astype(np.int64), np.asfortranarray(X), X.astype(np.float32)):
        pf, pr = fast.predict(Z), ref.predict(Z)
        assert pf.dtype == pr.dtype
        assert_allclose(pf, pr, rtol=RTOL64, atol=ATOL64)


def test_float32_fortran_input():
    X, y = make_data("multiclass", dtype=np.float32)
    a = fit_quiet(FastClassifier(**PARAMS), X, y)
    b = fit_quiet(FastClassifier(**PARAMS), np.asfortranarray(X), y)
    assert b.coefs_[0].dtype == np.float32
    assert_weights_close(b, a, rtol=RTOL32, atol=ATOL32)


# --------------------------------------------------------------------------
# scikit-learn API: params, clone, repr, meta-estimators
# --------------------------------------------------------------------------


@pytest.mark.parametrize("fast_cls, ref_cls", [(FastClassifier, SkMLPClassifier),
                                               (FastRegressor, SkMLPRegressor)])
def test_signature_and_get_params_match_sklearn(fast_cls, ref_cls):
    sf = inspect.signature(fast_cls.__init__).parameters
    sr = inspect.signature(ref_cls.__init__).parameters
    assert list(sf)[:len(sr)] == list(sr)
    for name in sr:
        assert sf[name].kind == sr[name].kind, name
        assert sf[name].default == sr[name].default, name
    # mlpfast's own parameters follow, keyword-only, with defaults that keep
    # scikit-learn's model.
    own = {name: sf[name] for name in list(sf)[len(sr):]}
    assert {name: p.default for name, p in own.items()} == OWN_PARAMETERS[fast_cls]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in own.values())
    assert fast_cls().get_params() == {**ref_cls().get_params(), **OWN_PARAMETERS[fast_cls]}
    assert fast_cls.__name__ == ref_cls.__name__


def test_regressor_loss_is_first_positional():
    est = FastRegressor("squared_error", (5,), "tanh")
    assert est.loss == "squared_error"
    assert est.hidden_layer_sizes == (5,)
    assert est.activation == "tanh"
    X, y = make_data("reg1")
    _assert_same_loss_error(lambda: FastRegressor((50,)).fit(X, y),
                            lambda: SkMLPRegressor((50,)).fit(X, y))
    with pytest.raises(TypeError):
        FastClassifier((5,), "relu", "adam")  # solver is keyword-only


def test_set_params_and_clone():
    est = FastClassifier(hidden_layer_sizes=(4,))
    assert est.set_params(alpha=0.5, max_iter=7) is est
    assert est.get_params()["alpha"] == 0.5 and est.max_iter == 7
    with pytest.raises(ValueError):
        est.set_params(not_a_param=1)
    X, y = make_data("binary")
    fit_quiet(est, X, y)
    c = clone(est)
    assert c is not est
    assert c.get_params() == est.get_params()
    assert not hasattr(c, "coefs_")


def test_constructor_does_not_validate():
    est = FastClassifier(alpha=-1, solver="foo", hidden_layer_sizes=[5, 0])
    assert est.alpha == -1 and est.solver == "foo"
    assert est.hidden_layer_sizes == [5, 0]  # stored as given, not converted
    clone(est)


@pytest.mark.parametrize("kwargs", [
    {},
    dict(hidden_layer_sizes=(5,), max_iter=5),
    dict(solver="sgd", learning_rate="adaptive", momentum=0.5, random_state=3,
         early_stopping=True, alpha=0.01, batch_size=16),
])
def test_repr_matches_sklearn(kwargs):
    assert repr(FastClassifier(**kwargs)) == repr(SkMLPClassifier(**kwargs))
    assert repr(FastRegressor(**kwargs)) == repr(SkMLPRegressor(**kwargs))


def test_estimator_type_and_tags():
    assert is_classifier(FastClassifier()) and not is_regressor(FastClassifier())
    assert is_regressor(FastRegressor()) and not is_classifier(FastRegressor())


@pytest.mark.parametrize("task", ["multiclass", "reg1"])
def test_cross_val_score_and_pipeline_match_sklearn(task):
    X, y = make_data(task)
    fast_cls, ref_cls = estimator_pair(task)
    params = dict(PARAMS, early_stopping=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sf = cross_val_score(make_pipeline(StandardScaler(), fast_cls(**params)), X, y, cv=3)
        sr = cross_val_score(make_pipeline(StandardScaler(), ref_cls(**params)), X, y, cv=3)
    assert_allclose(sf, sr, rtol=RTOL64, atol=ATOL64)


def test_grid_search_works():
    X, y = make_data("binary")
    gs = GridSearchCV(FastClassifier(**PARAMS), {"alpha": [1e-4, 1e-1]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gs.fit(X, y)
    assert gs.best_params_["alpha"] in (1e-4, 1e-1)
    assert gs.predict(X).shape == (len(X),)


# --------------------------------------------------------------------------
# sample weights
# --------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["binary", "reg2"])
def test_sample_weight_none_is_accepted(task):
    X, y = make_data(task)
    cls = estimator_pair(task)[0]
    a = fit_quiet(cls(**PARAMS), X, y, sample_weight=None)
    b = fit_quiet(cls(**PARAMS), X, y)
    assert_weights_identical(a, b)
    cls(**PARAMS).partial_fit(X, y, sample_weight=None, **_partial_fit_kwargs(task, y))


# --------------------------------------------------------------------------
# parameter validation
# --------------------------------------------------------------------------

INVALID_PARAMS = [
    dict(alpha=-1),
    dict(solver="foo"),
    dict(batch_size=0),
    dict(batch_size="big"),
    dict(hidden_layer_sizes=3.0),
    dict(hidden_layer_sizes="10"),
    dict(activation="softmax"),
    dict(learning_rate="foo"),
    dict(learning_rate_init=0.0),
    dict(power_t=-0.5),
    dict(max_iter=0),
    dict(shuffle="yes"),
    dict(random_state="seed"),
    dict(random_state=-1),
    dict(tol=-1.0),
    dict(verbose="loud"),
    dict(warm_start="no"),
    dict(momentum=1.5),
    dict(nesterovs_momentum=None),
    dict(early_stopping="yes"),
    dict(validation_fraction=1.0),
    dict(beta_1=1.0),
    dict(beta_2=-0.1),
    dict(epsilon=0.0),
    dict(n_iter_no_change=0),
    dict(n_iter_no_change=2.5),
    dict(max_fun=0),
]


@pytest.mark.parametrize("kwargs", INVALID_PARAMS, ids=[str(k) for k in INVALID_PARAMS])
@pytest.mark.parametrize("task", ["multiclass", "reg1"])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_invalid_parameters_raise_like_sklearn(kwargs, task, method):
    if method == "partial_fit" and task == "multiclass" and "solver" in kwargs:
        pytest.skip("sklearn hides MLPClassifier.partial_fit for non-stochastic solvers")
    X, y = make_data(task)
    fast_cls, ref_cls = estimator_pair(task)
    kw = _partial_fit_kwargs(task, y) if method == "partial_fit" else {}
    e = _assert_same_error(lambda: getattr(fast_cls(**kwargs), method)(X, y, **kw),
                           lambda: getattr(ref_cls(**kwargs), method)(X, y, **kw))
    assert list(kwargs)[0] in str(e)


@pytest.mark.parametrize("cls", [FastClassifier, FastRegressor])
def test_invalid_loss_for_regressor_and_hidden_layer_sizes(cls):
    X, y = make_data("reg1" if cls is FastRegressor else "binary")
    with pytest.raises(ValueError, match=r"hidden_layer_sizes must be > 0, got \[5, 0\]\."):
        cls(hidden_layer_sizes=[5, 0]).fit(X, y)
    with pytest.raises(ValueError, match=r"hidden_layer_sizes must be > 0, got \[-1\]\."):
        cls(hidden_layer_sizes=(-1,)).fit(X, y)
    if cls is FastRegressor:
        _assert_same_loss_error(lambda: FastRegressor(loss="absolute_error").fit(X, y),
                                lambda: SkMLPRegressor(loss="absolute_error").fit(X, y))


def test_validation_set_too_small():
    X, y = make_data("reg1", n_samples=15)
    params = dict(PARAMS, early_stopping=True, validation_fraction=0.05)
    e = _assert_same_error(lambda: FastRegressor(**params).fit(X, y),
                           lambda: SkMLPRegressor(**params).fit(X, y))
    assert "The validation set is too small" in str(e)


def test_multiclass_multioutput_target_rejected():
    X, _ = make_data("multiclass")
    y = np.stack([np.arange(len(X)) % 3, np.arange(len(X)) % 4], axis=1)
    _assert_same_error(lambda: FastClassifier(**PARAMS).fit(X, y),
                       lambda: SkMLPClassifier(**PARAMS).fit(X, y))


# --------------------------------------------------------------------------
# prediction-time errors and warnings
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba", "score"])
def test_not_fitted_error(method):
    X, y = make_data("binary")
    args = (X, y) if method == "score" else (X,)
    e = _assert_same_error(lambda: getattr(FastClassifier(), method)(*args),
                           lambda: getattr(SkMLPClassifier(), method)(*args),
                           exc_type=NotFittedError)
    if method in ("predict", "score"):
        _assert_same_error(lambda: getattr(FastRegressor(), method)(*args),
                           lambda: getattr(SkMLPRegressor(), method)(*args),
                           exc_type=NotFittedError)


@pytest.mark.parametrize("task", ["multiclass", "reg2"])
def test_feature_count_mismatch_at_predict(task):
    X, y = make_data(task)
    fast, ref = fit_both(task, PARAMS, X, y)
    methods = ["predict"] + (["predict_proba", "predict_log_proba"]
                             if is_classification(task) else [])
    for m in methods:
        for Z in (X[:, :3], np.hstack([X, X])):
            _assert_same_error(lambda: getattr(fast, m)(Z), lambda: getattr(ref, m)(Z))


@pytest.mark.parametrize("task", ["multiclass", "reg1"])
def test_nan_input_rejected_like_sklearn(task):
    X, y = make_data(task)
    Xn = X.copy()
    Xn[3, 2] = np.nan
    fast_cls, ref_cls = estimator_pair(task)
    _assert_same_error(lambda: fast_cls(**PARAMS).fit(Xn, y),
                       lambda: ref_cls(**PARAMS).fit(Xn, y))
    fast, ref = fit_both(task, PARAMS, X, y)
    _assert_same_error(lambda: fast.predict(Xn), lambda: ref.predict(Xn))


@pytest.mark.parametrize("momentum", [0.9, 0.0])
def test_non_finite_weights_raise(momentum):
    X, y = make_data("reg1")
    y = y * 1e6
    params = dict(hidden_layer_sizes=(10,), solver="sgd", learning_rate_init=1e10,
                  momentum=momentum, max_iter=5, random_state=0)

    def run(cls):
        with np.errstate(all="ignore"):
            cls(**params).fit(X, y)

    e = _assert_same_error(lambda: run(FastRegressor), lambda: run(SkMLPRegressor))
    assert str(e).startswith("Solver produced non-finite parameter weights.")


@pytest.mark.parametrize("task", ["binary", "reg2"])
def test_convergence_warning_like_sklearn(task):
    X, y = make_data(task)
    fast_cls, ref_cls = estimator_pair(task)
    w_fast = fit_recording_warnings(fast_cls(**PARAMS), X, y)
    w_ref = fit_recording_warnings(ref_cls(**PARAMS), X, y)
    assert any(issubclass(c, ConvergenceWarning) for c, _ in w_ref)  # precondition
    assert_same_warnings(w_fast, w_ref)
    # no ConvergenceWarning from partial_fit
    est = fast_cls(**PARAMS)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.partial_fit(X, y, **_partial_fit_kwargs(task, y))


def test_single_column_proba_for_binary_and_log_proba_of_zero():
    X, y = make_data("binary")
    fast, ref = fit_both("binary", dict(PARAMS, max_iter=20, learning_rate_init=0.1),
                         X, y)
    p = fast.predict_proba(X * 50)
    assert p.shape == (len(X), 2)
    assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    with np.errstate(divide="ignore"):
        assert_allclose(fast.predict_log_proba(X * 50), ref.predict_log_proba(X * 50),
                        rtol=RTOL64, atol=ATOL64)


@pytest.mark.parametrize("labels", [
    np.array([0, 1, 2, 3]), np.array(["cat", "dog", "emu"]),
    np.array(["cat", "dog"], dtype=object), np.array([False, True]), np.array([-1.0, 2.0]),
])
@pytest.mark.parametrize("weights", [None, "positive", "some zero"])
def test_validation_accuracy_is_accuracy_scores(labels, weights):
    # Early stopping scores the model's own labels without accuracy_score's
    # input checks; the value must be accuracy_score's, bit for bit.
    rng = np.random.default_rng(0)
    y_true, y_pred = (labels[rng.integers(len(labels), size=97)] for _ in range(2))
    if weights is not None:
        weights = rng.uniform(0.1, 3.0, size=97) * (rng.uniform(size=97) < 0.7
                                                    if weights == "some zero" else 1.0)
    got = FastClassifier()._score_function(y_true, y_pred, weights)
    want = accuracy_score(y_true, y_pred, sample_weight=weights)
    assert type(got) is float and got == want
    assert 0.0 < got < 1.0      # the control: neither all right nor all wrong


def test_validation_accuracy_of_multilabel_targets_is_subset_accuracy():
    y_true = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0]])
    y_pred = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]])
    assert FastClassifier()._score_function(y_true, y_pred, None) == 2 / 3


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("weights", [None, "positive", "some zero"])
def test_validation_r2_is_r2_scores(dtype, n_outputs, weights):
    # Early stopping scores the model's own predictions without r2_score's
    # input checks; the value must be r2_score's, bit for bit.
    from sklearn.metrics import r2_score

    rng = np.random.default_rng(1)
    y_true = rng.normal(size=(83, n_outputs)).astype(dtype)
    y_pred = (y_true + rng.normal(scale=0.5, size=y_true.shape)).astype(dtype)
    if n_outputs == 1:
        y_pred = y_pred.ravel()     # as the regressor predicts one output
    if weights is not None:
        weights = (rng.uniform(0.1, 3.0, size=83) * (rng.uniform(size=83) < 0.7
                   if weights == "some zero" else 1.0)).astype(dtype)
    got = FastRegressor()._score_function(y_true, y_pred, weights)
    want = r2_score(y_true, y_pred, sample_weight=weights)
    assert type(got) is float and got == want
    assert 0.0 < got < 1.0


@pytest.mark.parametrize("case", ["constant output", "exact output", "one row",
                                  "float64 weights"])
def test_validation_r2_special_cases_are_r2_scores(case):
    from sklearn.metrics import r2_score

    rng = np.random.default_rng(2)
    y_true = rng.normal(size=(20, 2)).astype(np.float32)
    y_pred = y_true + np.float32(0.25)
    weights = None
    if case == "constant output":
        y_true[:, 1] = 3.0
    elif case == "exact output":
        y_pred[:, 0] = y_true[:, 0]
    elif case == "one row":
        y_true, y_pred = y_true[:1], y_pred[:1]
    else:
        weights = rng.uniform(0.5, 1.5, size=20)
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        got = FastRegressor()._score_function(y_true, y_pred, weights)
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        want = r2_score(y_true, y_pred, sample_weight=weights)
    assert np.array_equal(got, want, equal_nan=True)
    assert [type(w.message) for w in ours] == [type(w.message) for w in theirs]


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_lbfgs_convergence_warning_points_at_the_callers_line(method):
    # MLPRegressor keeps partial_fit with 'lbfgs' (as scikit-learn does),
    # which runs a whole L-BFGS fit through the same frames.
    X, y = make_data("reg1")
    est = FastRegressor(solver="lbfgs", max_iter=2, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1
        getattr(est, method)(X, y)
    [warning] = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert (warning.filename, warning.lineno) == (__file__, line)
