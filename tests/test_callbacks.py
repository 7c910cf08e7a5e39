"""scikit-learn's callback API (``sklearn.callback``) on mlpfast's estimators.

The callbacks are scikit-learn's own (``ProgressBar``, ``ScoringMonitor``)
and a small ``FitCallback`` subclass that records every hook call. What a
callback is shown is checked against references computed without any
callback: the model after epoch ``k`` of a long fit must be the model a fit
with ``max_iter=k`` ends with (the loop is deterministic for a fixed
``random_state``), and the monitor's scores must be those of such refits,
recomputed with scikit-learn's metrics.
"""
import pickle
import warnings
from collections import Counter

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.callback import (
    AutoPropagatedCallback,
    FitCallback,
    ProgressBar,
    ScoringMonitor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss, r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conftest import SUBTASK_NAMES, EndOnlyCallback, StopAfter, engine_only, fit_quiet, make_data

pytestmark = engine_only  # scikit-learn's MLP has no callback support

from mlpfast import MLPClassifier, MLPRegressor  # noqa: E402

class RecordingCallback(FitCallback):
    """Records the hooks called, and the model shown at the end of each subtask."""

    def __init__(self):
        self.calls = []
        self.models_after_subtask = []

    def setup(self, estimator, context):
        self.calls.append(("setup", type(estimator).__name__))

    def teardown(self, estimator, context):
        self.calls.append(("teardown", type(estimator).__name__))

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None, metadata=None,
                          fitted_estimator=None):
        self.calls.append(("begin", context))

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, metadata=None,
                        fitted_estimator=None):
        self.calls.append(("end", context))
        if context.task_name in SUBTASK_NAMES:
            self.models_after_subtask.append(fitted_estimator)

    def hooks(self, hook, task_name):
        return [ctx for name, ctx in self.calls if name == hook and
                getattr(ctx, "task_name", None) == task_name]


class PropagatedRecordingCallback(RecordingCallback):
    """The recorder, auto-propagated from a meta-estimator to every sub-estimator."""

    max_propagation_depth = None


class FailAtSubtask(RecordingCallback):
    """Raises at the end of the second subtask."""

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, metadata=None,
                        fitted_estimator=None):
        super().on_fit_task_end(estimator, context)
        if context.task_name in SUBTASK_NAMES and context.task_id == 1:
            raise RuntimeError("callback failed")


def _root_of(context):
    while context.parent is not None:
        context = context.parent
    return context


def _data(kind):
    if kind == "classifier":
        return make_data("multiclass", n_samples=120)
    return make_data("reg1", n_samples=120)


def _estimator(kind, solver, **params):
    cls = MLPClassifier if kind == "classifier" else MLPRegressor
    return cls(hidden_layer_sizes=(8,), solver=solver, random_state=0, **params)


def _independent_score(kind, model, X, y, sample_weight):
    """The monitor's score, computed by scikit-learn's metrics on the model's output."""
    if kind == "classifier":
        return -log_loss(y, model.predict_proba(X), sample_weight=sample_weight,
                         labels=model.classes_)
    return r2_score(y, model.predict(X), sample_weight=sample_weight)


def _params_of(model):
    return np.concatenate([a.ravel() for a in model.coefs_ + model.intercepts_])


CASES = [("classifier", "adam"), ("classifier", "sgd"), ("classifier", "lbfgs"),
         ("regressor", "adam"), ("regressor", "lbfgs")]


@pytest.mark.parametrize("kind, solver", CASES)
def test_one_task_per_epoch_or_iteration(kind, solver):
    X, y = _data(kind)
    # Loose tolerances: training converges well before max_iter.
    est = _estimator(kind, solver, max_iter=300, tol=1e-2, n_iter_no_change=2)
    recorder = RecordingCallback()
    est.set_callbacks(recorder).fit(X, y)
    assert est.n_iter_ < est.max_iter  # the task count follows convergence, not max_iter

    subtask_name = "lbfgs iteration" if solver == "lbfgs" else "epoch"
    begins, ends = recorder.hooks("begin", subtask_name), recorder.hooks("end", subtask_name)
    assert len(begins) == len(ends) == est.n_iter_
    assert [ctx.task_id for ctx in ends] == list(range(est.n_iter_))
    (root,) = recorder.hooks("begin", "fit")
    assert recorder.hooks("end", "fit") == [root]
    assert root.estimator_name == type(est).__name__ and root.parent is None
    assert all(ctx.parent is root for ctx in ends)
    # Hooks pair up in order: each subtask ends before the next begins.
    names = [name for name, _ in recorder.calls]
    assert names == (["setup", "begin"] + ["begin", "end"] * est.n_iter_
                     + ["end", "teardown"])


@pytest.mark.parametrize("kind, solver", CASES)
def test_callbacks_see_the_model_after_each_subtask(kind, solver):
    """Snapshots and monitor scores match fits stopped by max_iter=k."""
    X, y = _data(kind)
    sample_weight = np.random.default_rng(0).uniform(0.5, 2.0, size=X.shape[0])
    n_epochs = 4
    recorder = RecordingCallback()
    scoring = "neg_log_loss" if kind == "classifier" else "r2"
    monitor = ScoringMonitor(scoring=scoring)
    est = _estimator(kind, solver, max_iter=n_epochs).set_callbacks(recorder, monitor)
    fit_quiet(est, X, y, sample_weight=sample_weight)
    assert est.n_iter_ == n_epochs

    rows = [row for row in monitor.get_logs().data if row["task_name"] in SUBTASK_NAMES]
    assert [row["task_id"] for row in rows] == list(range(n_epochs))
    assert len(recorder.models_after_subtask) == n_epochs
    for k, (shown, row) in enumerate(zip(recorder.models_after_subtask, rows), start=1):
        reference = fit_quiet(_estimator(kind, solver, max_iter=k), X, y,
                              sample_weight=sample_weight)
        # Kept after training went on, the snapshot still holds epoch k's weights.
        assert_array_equal(_params_of(shown), _params_of(reference))
        assert shown.n_iter_ == k
        if solver != "lbfgs":
            assert shown.loss_curve_ == reference.loss_curve_
        assert_array_equal(shown.predict(X), reference.predict(X))
        expected = _independent_score(kind, reference, X, y, sample_weight)
        assert_allclose(row[scoring], expected, rtol=1e-12)
    (root_row,) = [row for row in monitor.get_logs().data if row["task_name"] == "fit"]
    assert_allclose(root_row[scoring],
                    _independent_score(kind, est, X, y, sample_weight), rtol=1e-12)


# mlpfast's training rules, all on (the callbacks' fitted copies carry the
# optimizer's step rules; dropout's masks depend on no callback).
_RULES = {"dropout": 0.2, "weight_decay": 0.01, "max_grad_norm": 1.0,
          "learning_rate": "cosine"}


@pytest.mark.parametrize("kind, solver, early_stopping, rules", [
    ("classifier", "adam", False, {}), ("classifier", "sgd", True, {}),
    ("classifier", "lbfgs", False, {}), ("regressor", "adam", True, {}),
    ("regressor", "sgd", False, {}), ("regressor", "lbfgs", False, {}),
    ("classifier", "adam", True, _RULES), ("regressor", "sgd", False, _RULES),
])
def test_callbacks_leave_results_unchanged(kind, solver, early_stopping, rules):
    X, y = _data(kind)
    params = {"max_iter": 15, "early_stopping": early_stopping, "n_iter_no_change": 3,
              **rules}
    plain = fit_quiet(_estimator(kind, solver, **params), X, y)
    monitor = ScoringMonitor(scoring="neg_log_loss" if kind == "classifier" else "r2")
    watched = _estimator(kind, solver, **params).set_callbacks(RecordingCallback(), monitor)
    fit_quiet(watched, X, y)
    assert_array_equal(watched._params, plain._params)
    assert watched.n_iter_ == plain.n_iter_
    if solver != "lbfgs":
        assert watched.loss_curve_ == plain.loss_curve_
        assert watched.validation_scores_ == plain.validation_scores_
        assert watched.validation_loss_curve_ == plain.validation_loss_curve_
        assert watched.t_ == plain.t_


class TrainTheCopy(EndOnlyCallback):
    """Trains the model it is shown one more epoch, at the end of every epoch."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name == "epoch":
            # The copy carries the callbacks, this one included.
            fitted_estimator.set_callbacks().partial_fit(self.X, self.y)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_training_the_copy_leaves_the_fit_alone(solver):
    X, y = _data("regressor")
    plain = fit_quiet(_estimator("regressor", solver, max_iter=5), X, y)
    est = _estimator("regressor", solver, max_iter=5).set_callbacks(TrainTheCopy(X, y))
    fit_quiet(est, X, y)
    assert_array_equal(est._params, plain._params)
    assert est.loss_curve_ == plain.loss_curve_


class KeepFittedModel(EndOnlyCallback):
    """Keeps the model shown at the end of the ``fit`` task."""

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name == "fit":
            self.fitted = fitted_estimator


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_copy_after_early_stopping_warm_starts_as_the_model(kind):
    # After an early-stopping fit the model's best-weights snapshot is its live
    # weights (scikit-learn's state; see test_parity_sklearn): a warm start that
    # finds no better score ends on its last epoch. The copy's snapshot must be
    # the copy's own weights, not the model's.
    X, y = _data(kind)
    keeper = KeepFittedModel()
    est = _estimator(kind, "adam", warm_start=True, early_stopping=True, max_iter=3,
                     learning_rate_init=0.3, validation_fraction=0.2).set_callbacks(keeper)
    fit_quiet(est, X, y)
    fitted_copy = keeper.fitted.set_callbacks()
    weights_after_first_fit = est._params.copy()
    best_score = est.best_validation_score_

    fit_quiet(fitted_copy, X, y)
    assert fitted_copy.best_validation_score_ == best_score  # precondition: no new best
    assert_array_equal(est._params, weights_after_first_fit)
    fit_quiet(est.set_callbacks(), X, y)
    assert_array_equal(fitted_copy._params, est._params)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_partial_fit_is_one_task_with_one_epoch(kind):
    X, y = _data(kind)
    recorder = RecordingCallback()
    monitor = ScoringMonitor(scoring="neg_log_loss" if kind == "classifier" else "r2")
    est = _estimator(kind, "adam").set_callbacks(recorder, monitor)
    reference = _estimator(kind, "adam")
    extra = {"classes": np.unique(y)} if kind == "classifier" else {}
    n_calls = 3
    for call in range(n_calls):
        est.partial_fit(X, y, **extra)
        reference.partial_fit(X, y, **extra)
        # The epoch's snapshot is the model this call ends with.
        assert_array_equal(_params_of(recorder.models_after_subtask[-1]), est._params)
    assert_array_equal(est._params, reference._params)
    roots = recorder.hooks("begin", "partial_fit")
    epochs = recorder.hooks("end", "epoch")
    assert len(roots) == len(epochs) == n_calls
    assert [epoch.parent for epoch in epochs] == roots
    assert [ctx.task_id for ctx in epochs] == [0] * n_calls
    assert Counter(name for name, _ in recorder.calls) == {
        "setup": n_calls, "teardown": n_calls, "begin": 2 * n_calls, "end": 2 * n_calls}
    # One monitor run per call, each with the root and its epoch.
    runs = monitor.get_logs(select="all")
    assert [sorted(row["task_name"] for row in run.data) for run in runs] == [
        ["epoch", "partial_fit"]] * n_calls


@pytest.mark.parametrize("kind, solver, early_stopping", [
    ("classifier", "adam", False), ("classifier", "sgd", True),
    ("regressor", "adam", False), ("classifier", "lbfgs", False),
    ("regressor", "lbfgs", False),
])
def test_stop_request_ends_training_cleanly(kind, solver, early_stopping):
    """Stopped after k subtasks, the model is the model of a max_iter=k fit."""
    X, y = _data(kind)
    n_subtasks = 3
    params = {"max_iter": 50, "early_stopping": early_stopping}
    est = _estimator(kind, solver, **params).set_callbacks(StopAfter(n_subtasks))
    with warnings.catch_warnings():
        # A stop on request is not a convergence failure.
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    params["max_iter"] = n_subtasks
    reference = fit_quiet(_estimator(kind, solver, **params), X, y)
    assert est.n_iter_ == reference.n_iter_ == n_subtasks
    assert_array_equal(est._params, reference._params)
    assert_array_equal(est.predict(X), reference.predict(X))
    if solver != "lbfgs":
        assert est.loss_curve_ == reference.loss_curve_
        assert est.t_ == reference.t_
    if early_stopping:
        assert est.validation_scores_ == reference.validation_scores_
        assert est.best_validation_score_ == reference.best_validation_score_


def test_teardown_runs_when_a_callback_fails():
    X, y = _data("classifier")
    recorder = FailAtSubtask()
    est = _estimator("classifier", "adam", max_iter=10).set_callbacks(recorder)
    with pytest.raises(RuntimeError, match="callback failed"):
        est.fit(X, y)
    assert recorder.calls[-1] == ("teardown", "MLPClassifier")
    assert len(recorder.hooks("end", "epoch")) == 2
    assert not hasattr(est, "_callback_fit_ctx")


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_callbacks_propagate_through_pipeline_and_grid_search(n_jobs):
    X, y = _data("classifier")
    n_epochs, n_candidates, n_splits = 3, 2, 2
    pipe = make_pipeline(StandardScaler(), _estimator("classifier", "adam", max_iter=n_epochs))
    search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-2]}, cv=n_splits,
                          n_jobs=n_jobs)
    recorder = PropagatedRecordingCallback()
    assert isinstance(recorder, AutoPropagatedCallback)
    # The monitor sits on the network itself and reports across processes.
    monitor = ScoringMonitor(scoring="accuracy")
    search.set_params(estimator__mlpclassifier=pipe[-1].set_callbacks(monitor))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.set_callbacks(recorder).fit(X, y)

    n_fits = n_candidates * n_splits + 1  # with the refit
    runs = monitor.get_logs(select="all")
    epoch_rows = [row for run in runs for row in run.data if row["task_name"] == "epoch"]
    assert len(epoch_rows) == n_fits * n_epochs
    # Every network fit hangs in the search's task tree.
    assert {run.estimator_name for run in runs} == {"GridSearchCV"}
    if n_jobs is None:
        network_roots = [ctx for ctx in recorder.hooks("begin", "fit")
                         if ctx.estimator_name == "MLPClassifier"]
        assert len(network_roots) == n_fits
        assert {ctx.source_estimator_name for ctx in network_roots} == {"Pipeline"}
        epochs = recorder.hooks("end", "epoch")
        assert len(epochs) == n_fits * n_epochs
        assert {_root_of(ctx).estimator_name for ctx in epochs} == {"GridSearchCV"}
        assert Counter(ctx.parent for ctx in epochs) == {root: n_epochs for root in network_roots}
    # Propagated callbacks are removed again after the fit.
    assert search.best_estimator_[-1]._skl_callbacks == [monitor]


def test_progress_bar_in_grid_search(capsys):
    pytest.importorskip("rich")
    X, y = _data("classifier")
    pipe = make_pipeline(StandardScaler(), _estimator("classifier", "adam", max_iter=3))
    search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.set_callbacks(ProgressBar(max_propagation_depth=None)).fit(X, y)
    out = capsys.readouterr().out
    assert "Pipeline - fit-final-estimator | MLPClassifier - fit" in out
    assert "100%" in out


def test_clone_and_pickle_keep_callbacks():
    X, y = _data("regressor")
    recorder, monitor = RecordingCallback(), ScoringMonitor(scoring="r2")
    est = _estimator("regressor", "adam", max_iter=3).set_callbacks(recorder, monitor)

    cloned = clone(est)
    assert cloned._skl_callbacks == [recorder, monitor]  # shared, as scikit-learn does
    fit_quiet(cloned, X, y)
    assert len(recorder.hooks("end", "epoch")) == 3

    fit_quiet(est, X, y)
    restored = pickle.loads(pickle.dumps(est))
    assert_array_equal(restored.predict(X), est.predict(X))
    restored_recorder, restored_monitor = restored._skl_callbacks
    assert isinstance(restored_monitor, ScoringMonitor)
    restored_recorder.calls.clear()
    fit_quiet(restored, X, y)
    assert_array_equal(restored._params, est._params)
    assert len(restored_recorder.hooks("end", "epoch")) == 3
    # The copied monitor keeps the earlier runs and adds the new one.
    assert len(restored_monitor.get_logs(select="all")) == 3
    assert len(monitor.get_logs(select="all")) == 2

    est.set_callbacks()
    assert not hasattr(est, "_skl_callbacks")
    with pytest.raises(TypeError, match="FitCallback"):
        est.set_callbacks(object())


def test_model_copies_only_for_callbacks_that_take_them(monkeypatch):
    """No per-epoch copy of the model without a callback asking for it."""
    X, y = _data("classifier")

    def refuse(self, *args, **kwargs):
        raise AssertionError("a fitted copy was made")

    monkeypatch.setattr(MLPClassifier, "_fitted_state", refuse)
    for solver in ("adam", "lbfgs"):
        fit_quiet(_estimator("classifier", solver, max_iter=3), X, y)
        fit_quiet(_estimator("classifier", solver, max_iter=3).set_callbacks(StopAfter(5)),
                  X, y)
    with pytest.raises(AssertionError, match="a fitted copy was made"):
        fit_quiet(_estimator("classifier", "adam", max_iter=3).set_callbacks(
            RecordingCallback()), X, y)
