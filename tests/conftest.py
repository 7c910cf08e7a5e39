"""Shared helpers for the mlpfast test-suite.

The estimators under test are ``FastClassifier`` / ``FastRegressor``.  They are
mlpfast's classes, unless the environment variable
``MLPFAST_TEST_AGAINST_SKLEARN=1`` is set: then they are scikit-learn's own
classes.  That mode validates the test logic itself (every parity test must
pass trivially); tests of features mlpfast deliberately does not implement
are marked ``engine_only`` and skipped in that mode.

The test modules import the helpers below with ``from conftest import ...``
(``tests/`` has no ``__init__.py``, so pytest puts it on ``sys.path``).
"""

import ast
import functools
import os
import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import (
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.callback import FitCallback
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

AGAINST_SKLEARN = os.environ.get("MLPFAST_TEST_AGAINST_SKLEARN", "") == "1"

# Fits cut their batches into as many parts as the machine gives them
# threads (mlpfast._threads.batch_parts), which changes a fit's last bits.
# The suite fixes two parts, as on one or two cores, so that it checks the
# same bits on any machine; tests/test_thread_team.py sets other counts.
os.environ.setdefault("MLPFAST_NUM_THREADS", "2")

if AGAINST_SKLEARN:
    FastClassifier, FastRegressor = SkMLPClassifier, SkMLPRegressor
else:
    from mlpfast import MLPClassifier as FastClassifier
    from mlpfast import MLPRegressor as FastRegressor

# Tests of behaviour that only mlpfast has (NotImplementedError for features
# that scikit-learn supports) cannot pass against scikit-learn itself.
engine_only = pytest.mark.skipif(
    AGAINST_SKLEARN,
    reason="mlpfast-specific behaviour; MLPFAST_TEST_AGAINST_SKLEARN=1",
)

# Tolerances of the parity promise.
RTOL64, ATOL64 = 1e-9, 1e-12
RTOL32, ATOL32 = 1e-4, 1e-6

CLASSIFICATION_TASKS = ("binary", "multiclass", "multilabel")
REGRESSION_TASKS = ("reg1", "reg2")
ALL_TASKS = CLASSIFICATION_TASKS + REGRESSION_TASKS


def pytest_report_header(config):
    target = "scikit-learn (MLPFAST_TEST_AGAINST_SKLEARN=1)" if AGAINST_SKLEARN else "mlpfast"
    return f"mlpfast tests: estimators under test = {target}"


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _make_data(task, n_samples, n_features, seed):
    if task == "binary":
        X, y = make_classification(
            n_samples=n_samples, n_features=n_features, n_informative=4,
            n_redundant=2, n_classes=2, random_state=seed,
        )
    elif task == "multiclass":
        X, y = make_classification(
            n_samples=n_samples, n_features=n_features, n_informative=5,
            n_redundant=1, n_classes=3, n_clusters_per_class=1, random_state=seed,
        )
    elif task == "multilabel":
        X, y = make_multilabel_classification(
            n_samples=n_samples, n_features=n_features, n_classes=3,
            n_labels=2, random_state=seed,
        )
        X = (X - X.mean(axis=0)) / X.std(axis=0)
    elif task in ("reg1", "reg2"):
        X, y = make_regression(
            n_samples=n_samples, n_features=n_features, n_informative=5,
            n_targets=1 if task == "reg1" else 2, noise=5.0, random_state=seed,
        )
        y = (y - y.mean(axis=0)) / y.std(axis=0)
    else:  # pragma: no cover
        raise ValueError(task)
    return np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(y)


def make_data(task, n_samples=150, n_features=8, seed=0, dtype=np.float64):
    """Fresh (writable, C-contiguous) copies of a small data set for ``task``.

    Classification targets are int; regression targets float64.  Only X is
    cast to ``dtype``.
    """
    X, y = _make_data(task, n_samples, n_features, seed)
    return X.astype(dtype, copy=True), y.copy()


def is_classification(task):
    return task in CLASSIFICATION_TASKS


def estimator_pair(task):
    """(mlpfast class, scikit-learn class) for a task name."""
    if is_classification(task):
        return FastClassifier, SkMLPClassifier
    return FastRegressor, SkMLPRegressor


# --------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------


def fit_quiet(est, X, y, **fit_params):
    """``est.fit`` with ConvergenceWarning silenced (max_iter is tiny on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **fit_params)


def fit_recording_warnings(est, X, y, **fit_params):
    """``est.fit``; return the warnings it emitted as a list of (category, message)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        est.fit(X, y, **fit_params)
    return [(w.category, str(w.message)) for w in record]


def assert_same_warnings(fast_warnings, ref_warnings):
    """Same warnings (messages, in order); categories equal to or subclasses of sklearn's."""
    assert [m for _, m in fast_warnings] == [m for _, m in ref_warnings], (
        f"warnings differ:\n mlpfast: {fast_warnings}\n sklearn: {ref_warnings}")
    for (cf, _), (cr, _) in zip(fast_warnings, ref_warnings):
        assert issubclass(cf, cr), f"warning category {cf} is not a {cr}"


_OPTION_SET = re.compile(r"\{[^{}]*\}")


def assert_same_validation_message(error, ref_error):
    """Equal messages, but for the set of options an invalid ``activation``
    or ``learning_rate`` lists: the estimators under test's own (mlpfast's
    has activations and a schedule scikit-learn lacks too), in a set's
    iteration order."""
    message, ref_message = str(error), str(ref_error)
    for name in ("activation", "learning_rate"):
        if f"'{name}' parameter" in message:
            options = _OPTION_SET.search(message).group()
            assert (ast.literal_eval(options)
                    == FastClassifier._parameter_constraints[name][0].options)
            message = message.replace(options, "{...}")
            ref_message = _OPTION_SET.sub("{...}", ref_message, count=1)
    assert message == ref_message


def fit_both(task, params, X, y):
    """Fit mlpfast and scikit-learn with identical parameters; return (fast, ref).

    Both must emit the same warnings (ConvergenceWarning included).
    """
    fast_cls, ref_cls = estimator_pair(task)
    fast, ref = fast_cls(**params), ref_cls(**params)
    w_fast = fit_recording_warnings(fast, X, y)
    w_ref = fit_recording_warnings(ref, X, y)
    assert_same_warnings(w_fast, w_ref)
    return fast, ref


# --------------------------------------------------------------------------
# callbacks (sklearn.callback)
# --------------------------------------------------------------------------

# The tasks mlpfast opens below a fit's root task (mlpfast._callbacks).
SUBTASK_NAMES = ("epoch", "lbfgs iteration")


class EndOnlyCallback(FitCallback):
    """A callback acting at the end of tasks only: the other hooks do nothing."""

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass


class StopAfter(EndOnlyCallback):
    """Asks to stop training at the end of subtask number ``n_subtasks``."""

    def __init__(self, n_subtasks):
        self.n_subtasks = n_subtasks

    def on_fit_task_end(self, estimator, context):
        return context.task_name in SUBTASK_NAMES and context.task_id + 1 == self.n_subtasks


# --------------------------------------------------------------------------
# comparisons
# --------------------------------------------------------------------------


def assert_weights_close(fast, ref, rtol=RTOL64, atol=ATOL64):
    assert isinstance(fast.coefs_, list) and isinstance(fast.intercepts_, list)
    assert len(fast.coefs_) == len(ref.coefs_)
    assert len(fast.intercepts_) == len(ref.intercepts_)
    for i, (a, b) in enumerate(zip(fast.coefs_, ref.coefs_)):
        assert a.shape == b.shape, f"coefs_[{i}] shape {a.shape} != {b.shape}"
        assert a.dtype == b.dtype, f"coefs_[{i}] dtype {a.dtype} != {b.dtype}"
        assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"coefs_[{i}]")
    for i, (a, b) in enumerate(zip(fast.intercepts_, ref.intercepts_)):
        assert a.shape == b.shape, f"intercepts_[{i}] shape {a.shape} != {b.shape}"
        assert a.dtype == b.dtype, f"intercepts_[{i}] dtype {a.dtype} != {b.dtype}"
        assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"intercepts_[{i}]")


def _assert_optional_close(name, a, b, rtol, atol):
    if b is None:
        assert a is None, f"{name}: expected None, got {a!r}"
        return
    assert a is not None, f"{name}: got None, expected {b!r}"
    assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                    rtol=rtol, atol=atol, err_msg=name)


def assert_training_state_close(fast, ref, rtol=RTOL64, atol=ATOL64):
    """Public attributes describing the training run."""
    assert fast.n_iter_ == ref.n_iter_, f"n_iter_ {fast.n_iter_} != {ref.n_iter_}"
    assert fast.t_ == ref.t_, f"t_ {fast.t_} != {ref.t_}"
    assert len(fast.loss_curve_) == len(ref.loss_curve_), (
        f"len(loss_curve_) {len(fast.loss_curve_)} != {len(ref.loss_curve_)}")
    assert_allclose(np.asarray(fast.loss_curve_, dtype=np.float64),
                    np.asarray(ref.loss_curve_, dtype=np.float64),
                    rtol=rtol, atol=atol, err_msg="loss_curve_")
    assert_allclose(float(fast.loss_), float(ref.loss_), rtol=rtol, atol=atol,
                    err_msg="loss_")
    _assert_optional_close("best_loss_", fast.best_loss_, ref.best_loss_, rtol, atol)
    if ref.validation_scores_ is None:
        assert fast.validation_scores_ is None
    else:
        assert len(fast.validation_scores_) == len(ref.validation_scores_), (
            f"len(validation_scores_) {len(fast.validation_scores_)} "
            f"!= {len(ref.validation_scores_)}")
        _assert_optional_close("validation_scores_", fast.validation_scores_,
                               ref.validation_scores_, rtol, atol)
    _assert_optional_close("best_validation_score_", fast.best_validation_score_,
                           ref.best_validation_score_, rtol, atol)


def assert_predictions_close(fast, ref, X, rtol=RTOL64, atol=ATOL64):
    pf, pr = fast.predict(X), ref.predict(X)
    assert pf.shape == pr.shape, f"predict shape {pf.shape} != {pr.shape}"
    assert pf.dtype == pr.dtype, f"predict dtype {pf.dtype} != {pr.dtype}"
    if hasattr(ref, "classes_"):
        assert_array_equal(pf, pr, err_msg="predict (labels)")
        qf, qr = fast.predict_proba(X), ref.predict_proba(X)
        assert qf.shape == qr.shape and qf.dtype == qr.dtype
        assert_allclose(qf, qr, rtol=rtol, atol=atol, err_msg="predict_proba")
    else:
        assert_allclose(pf, pr, rtol=rtol, atol=atol, err_msg="predict")


def assert_structure_equal(fast, ref):
    assert fast.n_layers_ == ref.n_layers_
    assert fast.n_outputs_ == ref.n_outputs_
    assert fast.out_activation_ == ref.out_activation_
    assert fast.n_features_in_ == ref.n_features_in_
    if hasattr(ref, "classes_"):
        assert_array_equal(fast.classes_, ref.classes_)
        assert fast.classes_.dtype == ref.classes_.dtype


def assert_fitted_close(fast, ref, X, rtol=RTOL64, atol=ATOL64):
    """Full parity check of two fitted estimators (weights, state, predictions)."""
    assert_structure_equal(fast, ref)
    assert_weights_close(fast, ref, rtol, atol)
    assert_training_state_close(fast, ref, rtol, atol)
    assert_predictions_close(fast, ref, X, rtol, atol)


def assert_weights_identical(a, b):
    """Bit-for-bit equality of two models' parameters (same implementation)."""
    assert len(a.coefs_) == len(b.coefs_)
    for i, (u, v) in enumerate(zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_)):
        assert u.dtype == v.dtype and u.shape == v.shape
        assert_array_equal(u, v, err_msg=f"parameter array {i}")


@pytest.fixture
def global_random_seed():
    """The seed fixture scikit-learn's own tests take (its default, 42)."""
    return 42
