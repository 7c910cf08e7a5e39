"""``mlpfast.to_sklearn`` / ``mlpfast.from_sklearn`` against scikit-learn itself.

What is checked, in both directions:

- the converted model is the other library's class, with equal ``get_params()``,
  bitwise-equal weights of the same dtype and equal fitted attributes;
- its predictions match the source model's up to rounding (the two libraries
  evaluate the same weights with different kernels), and converting back gives
  bitwise the source model's predictions;
- ``partial_fit`` and ``warm_start`` fits continue as in the source library:
  across libraries within the parity tolerances of ``conftest`` (far below the
  difference a reset optimizer makes, which a control asserts), and bitwise
  after a round trip within one library;
- the two models share no memory; pickling the converted model works;
- unfitted models, wrong types and malformed weights are rejected, and an
  unreadable scikit-learn optimizer is dropped with a warning.
"""
import copy
import pickle
import warnings

import numpy as np
import pytest
from conftest import (
    ATOL32,
    ATOL64,
    RTOL32,
    RTOL64,
    assert_training_state_close,
    assert_weights_close,
    is_classification,
    make_data,
)
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

import mlpfast
from mlpfast._activations import HIDDEN_ACTIVATIONS, SKLEARN_HIDDEN_ACTIVATIONS

TASKS = ("binary", "multiclass", "multilabel", "reg1", "reg2")

# The same weights evaluated by different matrix-product and activation kernels:
# the results may differ by the rounding of a few operations per layer.
PREDICTION_RTOL = {np.float32: 100 * np.finfo(np.float32).eps,
                   np.float64: 100 * np.finfo(np.float64).eps}

PARITY_TOLERANCES = {np.float32: (RTOL32, ATOL32), np.float64: (RTOL64, ATOL64)}

SOLVERS = {
    "adam": dict(solver="adam", learning_rate_init=0.01),
    "sgd-nesterov-invscaling": dict(solver="sgd", learning_rate="invscaling",
                                    learning_rate_init=0.05, power_t=0.3),
    # tol is so large that every epoch counts as idle: the adaptive rate drops,
    # so the current learning rate must be carried over too.
    "sgd-classic-adaptive": dict(solver="sgd", nesterovs_momentum=False,
                                 learning_rate="adaptive", learning_rate_init=0.05,
                                 tol=10.0, n_iter_no_change=1),
    "lbfgs": dict(solver="lbfgs"),
}

FITTED_ATTRIBUTES = (
    "n_features_in_", "n_layers_", "n_outputs_", "out_activation_", "classes_",
    "loss_", "best_loss_", "loss_curve_", "validation_scores_",
    "best_validation_score_", "t_", "n_iter_", "_no_improvement_count",
)


_SKLEARN_PARAMS = {name for cls in (SkMLPClassifier, SkMLPRegressor)
                   for name in cls().get_params()}


def _sklearn_held(params):
    """The parameters a scikit-learn MLP holds too."""
    return {name: value for name, value in params.items() if name in _SKLEARN_PARAMS}


def _mlpfast_own(estimator):
    """The parameters only mlpfast's MLPs have."""
    return {name: value for name, value in estimator.get_params().items()
            if name not in _SKLEARN_PARAMS}


def _classes_for(task):
    return (mlpfast.MLPClassifier, SkMLPClassifier) if is_classification(task) else (
        mlpfast.MLPRegressor, SkMLPRegressor)


def _params(solver, **overrides):
    params = dict(hidden_layer_sizes=(9, 5), batch_size=32, max_iter=4, random_state=3)
    params.update(SOLVERS[solver])
    params.update(overrides)
    return params


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def _partial_fit(estimator, X, y, n_calls):
    classes = {}
    if isinstance(estimator, (mlpfast.MLPClassifier, SkMLPClassifier)):
        classes = dict(classes=np.unique(y) if y.ndim == 1 else np.arange(y.shape[1]))
    for _ in range(n_calls):
        estimator.partial_fit(X, y, **classes)
    return estimator


def _weights(estimator):
    return estimator.coefs_ + estimator.intercepts_


def assert_weights_identical(converted, source):
    assert len(converted.coefs_) == len(source.coefs_)
    assert len(converted.intercepts_) == len(source.intercepts_)
    for index, (a, b) in enumerate(zip(_weights(converted), _weights(source))):
        assert a.dtype == b.dtype and a.shape == b.shape, f"parameter array {index}"
        assert_array_equal(a, b, err_msg=f"parameter array {index}")


def assert_attributes_equal(converted, source):
    for name in FITTED_ATTRIBUTES:
        assert hasattr(converted, name) == hasattr(source, name), name
        if hasattr(source, name):
            value, expected = getattr(converted, name), getattr(source, name)
            if isinstance(expected, np.ndarray):
                assert value.dtype == expected.dtype, name
            assert_array_equal(np.asarray(value), np.asarray(expected), err_msg=name)
    if hasattr(source, "_label_binarizer"):
        binarizer, expected = converted._label_binarizer, source._label_binarizer
        assert type(binarizer) is type(expected)
        assert binarizer.y_type_ == expected.y_type_
        assert binarizer.sparse_input_ == expected.sparse_input_
        assert binarizer.get_params() == expected.get_params()
        assert_array_equal(binarizer.classes_, expected.classes_)


def assert_predictions_match(converted, source, X):
    """Same labels, and outputs equal up to the rounding of the other library's kernels."""
    rtol = PREDICTION_RTOL[source.coefs_[0].dtype.type]
    predicted, expected = converted.predict(X), source.predict(X)
    assert predicted.dtype == expected.dtype and predicted.shape == expected.shape
    if hasattr(source, "predict_proba"):
        assert_array_equal(predicted, expected)
        proba, expected_proba = converted.predict_proba(X), source.predict_proba(X)
        assert proba.dtype == expected_proba.dtype
        assert_allclose(proba, expected_proba, rtol=rtol, atol=rtol)
    else:
        assert_allclose(predicted, expected, rtol=rtol, atol=rtol * np.abs(expected).max())


def assert_predictions_identical(a, b, X):
    assert_array_equal(a.predict(X), b.predict(X))
    if hasattr(b, "predict_proba"):
        proba, expected = a.predict_proba(X), b.predict_proba(X)
        assert proba.dtype == expected.dtype
        assert_array_equal(proba, expected)


def assert_continued_alike(fast, reference, dtype):
    """Same training trajectory in both libraries, within the parity tolerances."""
    rtol, atol = PARITY_TOLERANCES[dtype]
    assert_weights_close(fast, reference, rtol=rtol, atol=atol)
    if hasattr(reference, "loss_curve_"):
        assert_training_state_close(fast, reference, rtol=rtol, atol=atol)
    else:  # lbfgs keeps no loss history
        assert fast.n_iter_ == reference.n_iter_
        assert_allclose(fast.loss_, reference.loss_, rtol=rtol, atol=atol)


def max_relative_difference(a, b):
    return max(np.abs(u - v).max() / np.abs(v).max() for u, v in zip(_weights(a), _weights(b)))


# --------------------------------------------------------------------------
# conversion of a fitted model
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["adam", "sgd-classic-adaptive", "lbfgs"])
@pytest.mark.parametrize("task", TASKS)
def test_to_sklearn_copies_the_fitted_model(task, solver, dtype):
    fast_class, sklearn_class = _classes_for(task)
    X, y = make_data(task, dtype=dtype)
    fast = _fit(fast_class(**_params(solver)), X, y)

    converted = mlpfast.to_sklearn(fast)

    assert type(converted) is sklearn_class
    assert converted.get_params() == _sklearn_held(fast.get_params())
    assert_weights_identical(converted, fast)
    assert_attributes_equal(converted, fast)
    assert_predictions_match(converted, fast, X)
    back = mlpfast.from_sklearn(converted)
    assert type(back) is fast_class
    assert back.get_params() == fast.get_params()
    assert_predictions_identical(back, fast, X)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["adam", "sgd-nesterov-invscaling", "lbfgs"])
@pytest.mark.parametrize("task", TASKS)
def test_from_sklearn_copies_the_fitted_model(task, solver, dtype):
    fast_class, sklearn_class = _classes_for(task)
    X, y = make_data(task, dtype=dtype)
    reference = _fit(sklearn_class(**_params(solver)), X, y)

    converted = mlpfast.from_sklearn(reference)

    assert type(converted) is fast_class
    assert _sklearn_held(converted.get_params()) == reference.get_params()
    assert _mlpfast_own(converted) == _mlpfast_own(fast_class())
    assert_weights_identical(converted, reference)
    assert_attributes_equal(converted, reference)
    assert_predictions_match(converted, reference, X)
    back = mlpfast.to_sklearn(converted)
    assert type(back) is sklearn_class
    assert_predictions_identical(back, reference, X)


def test_early_stopping_state_is_carried_over():
    X, y = make_data("multiclass")
    params = _params("adam", early_stopping=True, validation_fraction=0.2, max_iter=6)
    fast = _fit(mlpfast.MLPClassifier(**params), X, y)

    reference = _fit(SkMLPClassifier(**params), X, y)

    converted = mlpfast.to_sklearn(fast)

    assert converted.best_validation_score_ == fast.best_validation_score_
    assert converted.validation_scores_ == fast.validation_scores_
    best_layers = fast._layout.coef_views(fast._best_params) + fast._layout.intercept_views(
        fast._best_params)
    for converted_best, best in zip(converted._best_coefs + converted._best_intercepts,
                                    best_layers):
        assert_array_equal(converted_best, best)
    # scikit-learn's snapshot after an early-stopping fit is the coefs_ and
    # intercepts_ lists themselves; the converted model is linked the same way.
    assert reference._best_coefs is reference.coefs_
    assert reference._best_intercepts is reference.intercepts_
    assert converted._best_coefs is converted.coefs_
    assert converted._best_intercepts is converted.intercepts_
    back = mlpfast.from_sklearn(converted)
    assert_array_equal(back._best_params, fast._best_params)
    assert back._best_params is back._params
    assert fast._best_params is fast._params


def test_separate_snapshot_stays_separate():
    # Without early stopping the snapshot is a copy of the initial weights in
    # both libraries, not linked to the trained ones.
    X, y = make_data("multiclass")
    params = _params("adam")
    fast = _fit(mlpfast.MLPClassifier(**params), X, y)
    reference = _fit(SkMLPClassifier(**params), X, y)

    converted = mlpfast.to_sklearn(fast)
    back = mlpfast.from_sklearn(reference)

    assert converted._best_coefs is not converted.coefs_
    assert converted._best_intercepts is not converted.intercepts_
    for converted_best, best in zip(converted._best_coefs + converted._best_intercepts,
                                    reference._best_coefs + reference._best_intercepts):
        assert_array_equal(converted_best, best)
    assert back._best_params is not back._params
    assert_array_equal(back._best_params, fast._best_params)


def test_feature_names_are_carried_over():
    pandas = pytest.importorskip("pandas")
    X, y = make_data("binary")
    frame = pandas.DataFrame(X, columns=[f"feature_{i}" for i in range(X.shape[1])])
    fast = _fit(mlpfast.MLPClassifier(**_params("adam")), frame, y)

    converted = mlpfast.to_sklearn(fast)

    assert_array_equal(converted.feature_names_in_, fast.feature_names_in_)
    assert_predictions_match(converted, fast, frame)
    back = mlpfast.from_sklearn(converted)
    assert_array_equal(back.feature_names_in_, fast.feature_names_in_)
    with pytest.raises(ValueError, match="feature names"):
        back.predict(frame.rename(columns={"feature_0": "renamed"}))


def test_random_state_instance_is_copied_not_shared():
    X, y = make_data("reg1")
    fast = _fit(mlpfast.MLPRegressor(**_params("adam", random_state=np.random.RandomState(5))),
                X, y)

    converted = mlpfast.to_sklearn(fast)

    assert converted.random_state is not fast.random_state
    expected_state = fast.random_state.get_state()
    for part, expected in zip(converted.random_state.get_state(), expected_state):
        assert_array_equal(part, expected)


# --------------------------------------------------------------------------
# training continues where it stopped
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["adam", "sgd-nesterov-invscaling", "sgd-classic-adaptive"])
@pytest.mark.parametrize("task", ["multiclass", "reg2"])
def test_partial_fit_continues_after_to_sklearn(task, solver, dtype):
    X, y = make_data(task, dtype=dtype)
    fast = _partial_fit(_classes_for(task)[0](**_params(solver)), X, y, 3)
    converted = mlpfast.to_sklearn(fast)
    converted_without_optimizer = mlpfast.to_sklearn(fast)
    del converted_without_optimizer._optimizer
    round_trip = mlpfast.from_sklearn(mlpfast.to_sklearn(fast))
    if solver == "sgd-classic-adaptive":
        assert converted._optimizer.learning_rate < converted._optimizer.learning_rate_init

    for model in (fast, converted, converted_without_optimizer, round_trip):
        _partial_fit(model, X, y, 3)

    assert_continued_alike(fast, converted, dtype)
    assert_weights_identical(round_trip, fast)
    # Control: without the optimizer state the weights end far outside the tolerance.
    assert max_relative_difference(converted_without_optimizer, fast) > 1000 * (
        PARITY_TOLERANCES[dtype][0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["adam", "sgd-nesterov-invscaling", "sgd-classic-adaptive"])
@pytest.mark.parametrize("task", ["binary", "reg1"])
def test_partial_fit_continues_after_from_sklearn(task, solver, dtype):
    X, y = make_data(task, dtype=dtype)
    if not is_classification(task):
        # float64 targets would make scikit-learn keep float64 moments (see below).
        y = y.astype(dtype)
    reference = _partial_fit(_classes_for(task)[1](**_params(solver)), X, y, 3)
    converted = mlpfast.from_sklearn(reference)
    round_trip = mlpfast.to_sklearn(mlpfast.from_sklearn(reference))

    for model in (reference, converted, round_trip):
        _partial_fit(model, X, y, 3)

    assert_continued_alike(converted, reference, dtype)
    assert_weights_identical(round_trip, reference)
    assert round_trip._optimizer.learning_rate == reference._optimizer.learning_rate


@pytest.mark.parametrize("solver", ["adam", "sgd-nesterov-invscaling"])
def test_float64_moments_of_a_float32_sklearn_regressor_are_rounded(solver):
    # scikit-learn's backward pass promotes float32 X and float64 targets to
    # float64, and so do its moments; mlpfast's kernels keep them in float32.
    X, y = make_data("reg2", dtype=np.float32)
    reference = _partial_fit(SkMLPRegressor(**_params(solver)), X, y, 3)
    moment_names = ("ms", "vs") if solver == "adam" else ("velocities",)
    assert {getattr(reference._optimizer, name)[0].dtype for name in moment_names} == {
        np.dtype(np.float64)}

    converted = mlpfast.from_sklearn(reference)

    for converted_moment, name in zip(
            (converted._optimizer.moment_1, getattr(converted._optimizer, "moment_2", None)),
            moment_names):
        layers = getattr(reference._optimizer, name)
        expected = np.concatenate([layer.ravel() for layer in layers[:2]]
                                  + [layer.ravel() for layer in layers[2:]])
        assert converted_moment.dtype == np.float32
        assert_array_equal(converted_moment, expected.astype(np.float32))
    _partial_fit(converted, X, y, 3)
    _partial_fit(reference, X, y, 3)
    assert_continued_alike(converted, reference, np.float32)


@pytest.mark.parametrize("solver, overrides", [
    ("adam", {}),
    ("sgd-classic-adaptive", {}),
    ("lbfgs", {}),
    # After an early-stopping fit the best-weights snapshot is the live
    # weights; the second fit either replaces it with a better one or, when it
    # finds no better score, ends on its last epoch through that link.
    ("adam", dict(early_stopping=True, validation_fraction=0.2, learning_rate_init=0.001)),
    ("adam", dict(early_stopping=True, validation_fraction=0.2, learning_rate_init=0.01)),
], ids=["adam", "sgd-adaptive", "lbfgs", "adam-early-stopping-new-best",
        "adam-early-stopping-no-new-best"])
def test_warm_start_fit_continues_after_conversion(solver, overrides):
    X, y = make_data("multiclass")
    params = _params(solver, warm_start=True, max_iter=3, **overrides)
    fast = _fit(mlpfast.MLPClassifier(**params), X, y)
    reference = _fit(SkMLPClassifier(**params), X, y)
    to_reference = mlpfast.to_sklearn(fast)
    from_reference = mlpfast.from_sklearn(reference)
    first_best_score = getattr(reference, "best_validation_score_", None)

    for model in (fast, reference, to_reference, from_reference):
        _fit(model, X, y)

    assert_continued_alike(fast, to_reference, np.float64)
    assert_continued_alike(from_reference, reference, np.float64)
    if params.get("early_stopping"):
        # precondition: the case the id names
        new_best = reference.best_validation_score_ > first_best_score
        assert new_best == (params["learning_rate_init"] == 0.001)


# --------------------------------------------------------------------------
# ownership and pickling
# --------------------------------------------------------------------------


def _arrays_in(value, seen=None):
    """Every ndarray reachable from ``value`` through containers and object attributes."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return []
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, (list, tuple)):
        children = list(value)
    elif hasattr(value, "__dict__") and not isinstance(value, (type, np.random.RandomState)):
        children = list(vars(value).values())
    else:
        children = []
    return [array for child in children for array in _arrays_in(child, seen)]


@pytest.mark.parametrize("solver", ["adam", "sgd-classic-adaptive"])
@pytest.mark.parametrize("convert", [mlpfast.to_sklearn, mlpfast.from_sklearn])
def test_converted_model_shares_no_memory(convert, solver):
    X, y = make_data("multiclass")
    source_class = mlpfast.MLPClassifier if convert is mlpfast.to_sklearn else SkMLPClassifier
    source = _partial_fit(source_class(**_params(solver)), X, y, 2)

    converted = convert(source)

    converted_arrays = _arrays_in(converted)
    source_arrays = _arrays_in(source)
    assert _arrays_in(converted._optimizer) and _arrays_in(source._optimizer)
    for converted_array in converted_arrays:
        for source_array in source_arrays:
            assert not np.shares_memory(converted_array, source_array)
    # Training and editing one model leaves the other as it was.
    converted_weights = copy.deepcopy(_weights(converted))
    _partial_fit(source, X, y, 1)
    for array, expected in zip(_weights(converted), converted_weights):
        assert_array_equal(array, expected)
    source_weights = copy.deepcopy(_weights(source))
    converted.coefs_[0][...] += 1.0
    _partial_fit(converted, X, y, 1)
    for array, expected in zip(_weights(source), source_weights):
        assert_array_equal(array, expected)


@pytest.mark.parametrize("convert", [mlpfast.to_sklearn, mlpfast.from_sklearn])
def test_converted_model_pickles(convert):
    X, y = make_data("multilabel", dtype=np.float32)
    source_class = mlpfast.MLPClassifier if convert is mlpfast.to_sklearn else SkMLPClassifier
    converted = convert(_partial_fit(source_class(**_params("adam")), X, y, 2))

    restored = pickle.loads(pickle.dumps(converted))

    assert type(restored) is type(converted)
    assert_predictions_identical(restored, converted, X)
    _partial_fit(restored, X, y, 2)
    _partial_fit(converted, X, y, 2)
    assert_weights_identical(restored, converted)


# --------------------------------------------------------------------------
# rejected input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("unfitted", [mlpfast.MLPClassifier(), mlpfast.MLPRegressor()])
def test_to_sklearn_rejects_unfitted(unfitted):
    with pytest.raises(NotFittedError):
        mlpfast.to_sklearn(unfitted)


@pytest.mark.parametrize("unfitted", [SkMLPClassifier(), SkMLPRegressor()])
def test_from_sklearn_rejects_unfitted(unfitted):
    with pytest.raises(NotFittedError):
        mlpfast.from_sklearn(unfitted)


@pytest.mark.parametrize("wrong", [SkMLPClassifier(), LogisticRegression(), "model", None])
def test_to_sklearn_rejects_other_types(wrong):
    with pytest.raises(TypeError, match=r"to_sklearn expects a fitted "
                                        r"mlpfast\.MLPClassifier or mlpfast\.MLPRegressor"):
        mlpfast.to_sklearn(wrong)


@pytest.mark.parametrize("wrong", [mlpfast.MLPClassifier(), LogisticRegression(), 3])
def test_from_sklearn_rejects_other_types(wrong):
    with pytest.raises(TypeError, match=r"from_sklearn expects a fitted "
                                        r"sklearn\.MLPClassifier or sklearn\.MLPRegressor"):
        mlpfast.from_sklearn(wrong)


def _fitted_sklearn_regressor():
    X, y = make_data("reg1")
    return _fit(SkMLPRegressor(**_params("adam")), X, y)


def test_from_sklearn_rejects_layers_that_do_not_chain():
    reference = _fitted_sklearn_regressor()
    reference.coefs_[1] = reference.coefs_[1][:-1]
    with pytest.raises(ValueError, match=r"layer 1 does not fit the network"):
        mlpfast.from_sklearn(reference)


def test_from_sklearn_rejects_mixed_dtypes():
    reference = _fitted_sklearn_regressor()
    reference.intercepts_[0] = reference.intercepts_[0].astype(np.float32)
    with pytest.raises(ValueError, match=r"must all be float32 or all float64, got dtypes "
                                         r"\['float32', 'float64'\]"):
        mlpfast.from_sklearn(reference)


def test_unreadable_sklearn_optimizer_is_dropped_with_a_warning():
    X, y = make_data("reg1")
    reference = _partial_fit(SkMLPRegressor(**_params("adam")), X, y, 2)
    del reference._optimizer.vs

    with pytest.warns(UserWarning, match=r"'vs'.*starts with a fresh optimizer"):
        converted = mlpfast.from_sklearn(reference)

    assert not hasattr(converted, "_optimizer")
    # Continuing then matches scikit-learn continuing with a reset optimizer.
    del reference._optimizer
    _partial_fit(converted, X, y, 2)
    _partial_fit(reference, X, y, 2)
    assert_continued_alike(converted, reference, np.float64)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_to_sklearn_refuses_a_parameter_sklearn_lacks_away_from_its_default():
    X, y = make_data("multiclass")
    fast = mlpfast.MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0,
                                 class_weight="balanced").fit(X, y)
    with pytest.raises(ValueError, match="no parameter 'class_weight'.*"
                                         r"set_params\(class_weight=None\)"):
        mlpfast.to_sklearn(fast)
    converted = mlpfast.to_sklearn(fast.set_params(class_weight=None))
    assert_weights_identical(converted, fast)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_to_sklearn_refuses_a_value_sklearn_does_not_accept():
    X, y = make_data("reg1")
    fast = mlpfast.MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=3,
                                random_state=0).fit(X, y)
    fast.activation = "softmax"   # a value mlpfast's own validation would refuse too
    with pytest.raises(ValueError, match="cannot hold this model.*'activation' parameter"):
        mlpfast.to_sklearn(fast)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("activation", sorted(set(HIDDEN_ACTIVATIONS)
                                              - set(SKLEARN_HIDDEN_ACTIVATIONS)))
def test_to_sklearn_refuses_mlpfasts_own_activations(activation):
    X, y = make_data("multiclass")
    fast = mlpfast.MLPClassifier(hidden_layer_sizes=(4,), activation=activation, max_iter=2,
                                 random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=f"cannot hold this model.*'activation'.*{activation}"):
        mlpfast.to_sklearn(fast)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_to_sklearn_refuses_the_huber_loss():
    X, y = make_data("reg1")
    fast = mlpfast.MLPRegressor(hidden_layer_sizes=(4,), loss="huber", max_iter=2,
                                random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="cannot hold this model.*'loss'.*huber"):
        mlpfast.to_sklearn(fast)
