"""``class_weight`` on MLPClassifier, against scikit-learn.

scikit-learn's MLPClassifier has no ``class_weight``; a fit with
``class_weight=cw`` must be its fit with ``sample_weight=cw[y]`` (times the
caller's ``sample_weight``), for every solver and task, early stopping
included, and mlpfast's own fit with those sample weights to the bit. The
per-sample weights are made here with scikit-learn's
``compute_sample_weight`` and ``compute_class_weight``, combined as its
forests combine them ('balanced' counting the samples with their
``sample_weight``), and for ``partial_fit`` as SGDClassifier does (the
weights of all the classes, looked up for each batch). Errors are
scikit-learn's own: DecisionTreeClassifier's parameter validation (it takes
the same values), SGDClassifier.partial_fit's refusal of 'balanced',
compute_class_weight's rules for a dict's labels.
"""
import inspect
import typing

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import SGDClassifier
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight

from conftest import (
    FastClassifier,
    SkMLPClassifier,
    assert_fitted_close,
    assert_predictions_close,
    assert_same_warnings,
    assert_structure_equal,
    assert_weights_close,
    assert_weights_identical,
    engine_only,
    fit_quiet,
    fit_recording_warnings,
    make_data,
)

pytestmark = engine_only  # scikit-learn's MLPClassifier has no class_weight

# The promise: float64 fits agree to rounding of the last bits.
RTOL = 1e-12
# L-BFGS carries the last-bit differences of the kernels' gradients from
# numpy's to about 1e-13 in 20 iterations, class weights or not (the fits
# with class weights equal mlpfast's own with the sample weights, to the bit),
# which weights near zero show as relative differences.
LBFGS_ATOL = 1e-12

TASKS = ("binary", "multiclass", "multilabel")

CLASS_WEIGHTS = {  # task -> a dict (a list of dicts for multilabel)
    "binary": {0: 1.0, 1: 3.5},
    # Class 0 left out: it weighs 1.
    "multiclass": {1: 2.0, 2: 5.0},
    "multilabel": [{0: 1.0, 1: 2.0}, {0: 0.5, 1: 3.0}, {1: 4.0}],
}

PARAMS = dict(hidden_layer_sizes=(6,), batch_size=32, random_state=3)
SOLVER_PARAMS = {
    "lbfgs": dict(solver="lbfgs", max_iter=20),
    "sgd": dict(solver="sgd", learning_rate_init=0.05, max_iter=8),
    "adam": dict(solver="adam", learning_rate_init=0.01, max_iter=8),
}
EARLY_STOPPING = dict(early_stopping=True, validation_fraction=0.2, n_iter_no_change=3,
                      max_iter=15)


def _data(task, n_samples=150):
    """Classes of unequal sizes, so that 'balanced' weighs them differently."""
    if task == "multilabel":
        return make_data("multilabel", n_samples=n_samples)
    n_classes = 2 if task == "binary" else 3
    X, y = make_classification(
        n_samples=n_samples, n_features=8, n_informative=5, n_redundant=1,
        n_classes=n_classes, n_clusters_per_class=1,
        weights=[0.7, 0.3] if n_classes == 2 else [0.55, 0.3, 0.15], random_state=0,
    )
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def _sample_weight(n_samples):
    return np.random.default_rng(1).uniform(0.2, 3.0, n_samples)


def reference_sample_weight(class_weight, y, sample_weight=None):
    """``class_weight[y]`` times ``sample_weight``, as scikit-learn's forests make it."""
    if class_weight == "balanced" and sample_weight is not None:
        per_output = []
        for column in y.reshape(len(y), -1).T:
            classes = np.unique(column)
            weights = compute_class_weight("balanced", classes=classes, y=column,
                                           sample_weight=sample_weight)
            per_output.append(dict(zip(classes, weights)))
        class_weight = per_output if y.ndim == 2 else per_output[0]
    expanded = compute_sample_weight(class_weight, y)
    return expanded if sample_weight is None else expanded * sample_weight


def _fit_pair(params, class_weight, X, y, sample_weight=None):
    """mlpfast fitted with class_weight; scikit-learn with the weights it stands for.

    Both must emit the same warnings.
    """
    fast = FastClassifier(class_weight=class_weight, **params)
    ref = SkMLPClassifier(**params)
    fast_warnings = fit_recording_warnings(fast, X, y, sample_weight=sample_weight)
    ref_warnings = fit_recording_warnings(
        ref, X, y, sample_weight=reference_sample_weight(class_weight, y, sample_weight))
    assert_same_warnings(fast_warnings, ref_warnings)
    return fast, ref


def _assert_matches_sklearn(fast, ref, X):
    """Parity with scikit-learn's fit; L-BFGS fits keep no per-epoch record."""
    if fast.solver != "lbfgs":
        assert_fitted_close(fast, ref, X, rtol=RTOL, atol=0)
        return
    assert_structure_equal(fast, ref)
    assert_weights_close(fast, ref, rtol=RTOL, atol=LBFGS_ATOL)
    assert fast.n_iter_ == ref.n_iter_
    assert_allclose(fast.loss_, ref.loss_, rtol=RTOL, atol=0)
    assert_predictions_close(fast, ref, X, rtol=RTOL, atol=LBFGS_ATOL)


def _assert_same_fit(a, b):
    """Two mlpfast fits are one: parameters and training record to the bit."""
    assert_weights_identical(a, b)
    for name in ("loss_curve_", "validation_scores_", "best_validation_score_", "n_iter_"):
        assert getattr(a, name, None) == getattr(b, name, None), name


def _grid():
    cases = []
    for solver in SOLVER_PARAMS:
        for early_stopping in ((False, True) if solver != "lbfgs" else (False,)):
            for task in TASKS:
                for kind in ("balanced", "dict"):
                    for weighted in (False, True):
                        cases.append((solver, early_stopping, task, kind, weighted))
    return cases


@pytest.mark.parametrize("solver, early_stopping, task, kind, weighted", _grid())
def test_class_weight_is_sample_weight_of_the_classes(solver, early_stopping, task, kind,
                                                      weighted):
    X, y = _data(task)
    params = {**PARAMS, **SOLVER_PARAMS[solver], **(EARLY_STOPPING if early_stopping else {})}
    class_weight = "balanced" if kind == "balanced" else CLASS_WEIGHTS[task]
    sample_weight = _sample_weight(len(y)) if weighted else None

    fast, ref = _fit_pair(params, class_weight, X, y, sample_weight)

    # validation_scores_ and best_validation_score_ included: the
    # validation rows are weighted the same way.
    _assert_matches_sklearn(fast, ref, X)
    own = fit_quiet(FastClassifier(**params), X, y,
                    sample_weight=reference_sample_weight(class_weight, y, sample_weight))
    _assert_same_fit(fast, own)


def test_weights_change_the_fit():
    # Guards the test above against weights that do nothing.
    X, y = _data("multiclass")
    params = {**PARAMS, **SOLVER_PARAMS["adam"], **EARLY_STOPPING}
    weighted = fit_quiet(FastClassifier(class_weight="balanced", **params), X, y)
    plain = fit_quiet(FastClassifier(**params), X, y)
    assert not np.array_equal(weighted.coefs_[0], plain.coefs_[0])
    assert weighted.validation_scores_ != plain.validation_scores_


@pytest.mark.parametrize("task", TASKS)
def test_balanced_weights_are_those_of_compute_sample_weight(task):
    # Without sample_weight, scikit-learn's own function gives the weights.
    X, y = _data(task)
    params = {**PARAMS, **SOLVER_PARAMS["sgd"]}
    fast = fit_quiet(FastClassifier(class_weight="balanced", **params), X, y)
    own = fit_quiet(FastClassifier(**params), X, y,
                    sample_weight=compute_sample_weight("balanced", y))
    _assert_same_fit(fast, own)


def test_float32_input_trains_on_the_same_weights():
    X, y = _data("multiclass")
    X = X.astype(np.float32)
    params = {**PARAMS, **SOLVER_PARAMS["adam"], **EARLY_STOPPING}
    fast = fit_quiet(FastClassifier(class_weight="balanced", **params), X, y)
    own = fit_quiet(FastClassifier(**params), X, y,
                    sample_weight=compute_sample_weight("balanced", y))
    assert fast.coefs_[0].dtype == np.float32
    _assert_same_fit(fast, own)


def test_explicit_none_and_empty_dict_leave_the_weights_alone():
    X, y = _data("multiclass")
    sample_weight = _sample_weight(len(y))
    params = {**PARAMS, **SOLVER_PARAMS["adam"]}
    default = fit_quiet(FastClassifier(**params), X, y, sample_weight=sample_weight)
    for class_weight in (None, {}):
        fast = fit_quiet(FastClassifier(class_weight=class_weight, **params), X, y,
                         sample_weight=sample_weight)
        _assert_same_fit(fast, default)


# --------------------------------------------------------------------------
# partial_fit and warm starts
# --------------------------------------------------------------------------

PARTIAL_FIT_CASES = {  # task -> class_weight
    "binary": {0: 1.0, 1: 3.5},
    "multiclass": {2: 5.0},
    # Full dicts: a batch's column may hold one value only.
    "multilabel": [{0: 1.0, 1: 2.0}, {0: 0.5, 1: 3.0}, {0: 1.0, 1: 4.0}],
}


def _batch_reference_weight(class_weight, classes, y_batch, sample_weight):
    """A batch's weights as SGDClassifier.partial_fit makes them: all the classes'."""
    if y_batch.ndim == 2:
        expanded = compute_sample_weight(class_weight, y_batch)
    else:
        weights = compute_class_weight(class_weight, classes=classes, y=y_batch)
        expanded = weights[np.searchsorted(classes, y_batch)]
    return expanded if sample_weight is None else expanded * sample_weight


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("task", TASKS)
def test_partial_fit_weighs_each_batch_from_the_dict(task, solver, weighted):
    X, y = _data(task)
    params = {**PARAMS, **SOLVER_PARAMS[solver]}
    params.pop("max_iter")
    class_weight = PARTIAL_FIT_CASES[task]
    classes = np.arange(y.shape[1]) if task == "multilabel" else np.unique(y)
    sample_weight = _sample_weight(len(y)) if weighted else None
    # The first batch lacks a class.
    order = np.argsort(y if y.ndim == 1 else y[:, 0], kind="stable")
    X, y = X[order], y[order]
    batches = [slice(0, 40), slice(40, 100), slice(100, 150)]

    fast = FastClassifier(class_weight=class_weight, **params)
    ref = SkMLPClassifier(**params)
    own = FastClassifier(**params)
    for sl in batches:
        batch_weight = None if sample_weight is None else sample_weight[sl]
        reference = _batch_reference_weight(class_weight, classes, y[sl], batch_weight)
        fast.partial_fit(X[sl], y[sl], sample_weight=batch_weight, classes=classes)
        ref.partial_fit(X[sl], y[sl], sample_weight=reference, classes=classes)
        own.partial_fit(X[sl], y[sl], sample_weight=reference, classes=classes)
        _assert_matches_sklearn(fast, ref, X)
        _assert_same_fit(fast, own)
    first_output = y[batches[0]] if y.ndim == 1 else y[batches[0], 0]
    assert len(np.unique(first_output)) == 1


@pytest.mark.parametrize("class_weight", ["balanced", {0: 2.0, 1: 0.5, 2: 1.5}])
@pytest.mark.parametrize("solver", ["lbfgs", "sgd", "adam"])
def test_warm_start_weighs_each_fit_by_its_labels(solver, class_weight):
    X, y = _data("multiclass")
    params = {**PARAMS, **SOLVER_PARAMS[solver], "warm_start": True}
    fast = FastClassifier(class_weight=class_weight, **params)
    ref = SkMLPClassifier(**params)
    own = FastClassifier(**params)
    for rows in (slice(0, 100), slice(50, 150)):
        reference = reference_sample_weight(class_weight, y[rows])
        fit_quiet(fast, X[rows], y[rows])
        fit_quiet(ref, X[rows], y[rows], sample_weight=reference)
        fit_quiet(own, X[rows], y[rows], sample_weight=reference)
        _assert_same_fit(fast, own)
        if solver != "lbfgs":
            _assert_matches_sklearn(fast, ref, X)
    if solver == "lbfgs":
        # Two L-BFGS runs carry the kernels' last-bit differences further,
        # to about 1e-10: the tolerance of mlpfast's L-BFGS parity tests.
        assert_weights_close(fast, ref, rtol=1e-7, atol=1e-10)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def _error(call):
    with pytest.raises(Exception) as caught:
        call()
    return caught.value


@pytest.mark.parametrize("bad", ["bal", "balanced_subsample", 3, 1.5, ("a",), np.ones(2)])
def test_bad_values_get_scikit_learns_parameter_error(bad):
    X, y = _data("binary")
    fast = _error(lambda: FastClassifier(class_weight=bad).fit(X, y))
    tree = _error(lambda: DecisionTreeClassifier(class_weight=bad).fit(X, y))
    assert type(fast) is type(tree) is InvalidParameterError
    assert str(fast) == str(tree).replace("DecisionTreeClassifier", "MLPClassifier")


def test_partial_fit_refuses_balanced_as_sgd_classifier_does():
    X, y = _data("multiclass")
    classes = np.unique(y)
    fast = _error(lambda: FastClassifier(class_weight="balanced", solver="sgd")
                  .partial_fit(X, y, classes=classes))
    sgd = _error(lambda: SGDClassifier(class_weight="balanced").partial_fit(X, y,
                                                                             classes=classes))
    assert type(fast) is type(sgd) is ValueError
    assert str(fast) == str(sgd)
    # Later calls too: the weights would be those of one batch.
    model = FastClassifier(solver="sgd", max_iter=2).partial_fit(X, y, classes=classes)
    model.set_params(class_weight="balanced")
    with pytest.raises(ValueError, match=r"^class_weight 'balanced' is not supported"):
        model.partial_fit(X, y)


def test_dict_labels_follow_compute_class_weight():
    X, y = _data("multiclass")
    classes = np.unique(y)
    params = {**PARAMS, **SOLVER_PARAMS["lbfgs"]}
    # A label that is not a class, while a class is left out: an error.
    unknown = {0: 1.0, 1: 2.0, 7: 3.0}
    fast = _error(lambda: FastClassifier(class_weight=unknown, **params).fit(X, y))
    expected = _error(lambda: compute_class_weight(unknown, classes=classes, y=y))
    assert type(fast) is type(expected) is ValueError
    assert str(fast) == str(expected)
    # Every class given: the extra label is ignored, as there.
    extra = fit_quiet(FastClassifier(class_weight={0: 1.0, 1: 2.0, 2: 3.0, 7: 4.0},
                                     **params), X, y)
    exact = fit_quiet(FastClassifier(class_weight={0: 1.0, 1: 2.0, 2: 3.0}, **params), X, y)
    _assert_same_fit(extra, exact)


@pytest.mark.parametrize("class_weight, match", [
    ({0: 1.0, 1: 2.0}, r"multilabel y \(3 outputs\).*list of dicts"),
    ([{0: 1.0, 1: 2.0}] * 2, r"one dict per output of y; y has 3 output\(s\)"),
    ([{0: 1.0}, "balanced", {1: 2.0}], r"one dict per output of y"),
])
def test_multilabel_takes_a_dict_per_output(class_weight, match):
    X, y = _data("multilabel")
    with pytest.raises(ValueError, match=match):
        FastClassifier(class_weight=class_weight, max_iter=2).fit(X, y)


def test_a_list_of_one_dict_serves_a_single_output():
    X, y = _data("binary")
    params = {**PARAMS, **SOLVER_PARAMS["adam"]}
    listed = fit_quiet(FastClassifier(class_weight=[{1: 3.0}], **params), X, y)
    plain = fit_quiet(FastClassifier(class_weight={1: 3.0}, **params), X, y)
    _assert_same_fit(listed, plain)


def test_balanced_refuses_a_class_whose_samples_weigh_nothing():
    # scikit-learn's classifiers would weigh the class infinitely, and fail later.
    X, y = _data("binary")
    sample_weight = (y == 1).astype(float)
    with pytest.raises(ValueError, match=r"cannot weigh the classes \[0\]"):
        FastClassifier(class_weight="balanced").fit(X, y, sample_weight=sample_weight)


def test_weights_all_zero_get_scikit_learns_sample_weight_error():
    X, y = _data("binary")
    fast = _error(lambda: FastClassifier(class_weight={0: 0.0, 1: 0.0}).fit(X, y))
    ref = _error(lambda: SkMLPClassifier().fit(X, y, sample_weight=np.zeros(len(y))))
    assert type(fast) is type(ref) is ValueError
    assert str(fast) == str(ref)


# --------------------------------------------------------------------------
# The parameter
# --------------------------------------------------------------------------


@pytest.mark.parametrize("class_weight", [None, "balanced", {0: 2.0}, [{0: 1.0, 1: 2.0}]])
def test_get_params_and_clone(class_weight):
    est = FastClassifier(hidden_layer_sizes=(4,), class_weight=class_weight)
    assert est.get_params()["class_weight"] == class_weight
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert copy.set_params(class_weight="balanced").class_weight == "balanced"


def test_signature_keyword_only_with_a_resolvable_hint():
    parameter = inspect.signature(FastClassifier).parameters["class_weight"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert parameter.default is None
    hint = typing.get_type_hints(FastClassifier.__init__)["class_weight"]
    assert type(None) in typing.get_args(hint)
    assert typing.Literal["balanced"] in typing.get_args(hint)


def test_string_labels():
    X, y = _data("multiclass")
    labels = np.array(["ant", "bee", "cat"])[y]
    params = {**PARAMS, **SOLVER_PARAMS["sgd"]}
    class_weight = {"bee": 2.0, "cat": 5.0}
    fast, ref = _fit_pair(params, class_weight, X, labels)
    _assert_matches_sklearn(fast, ref, X)
    assert_array_equal(fast.classes_, ["ant", "bee", "cat"])
