"""``fit``'s own validation set (``X_val``, ``y_val``, ``sample_weight_val``)
and ``validation_loss_curve_``.

The references share no code with mlpfast's training:

- a model's validation loss is recomputed from its ``coefs_`` and
  ``intercepts_`` with the plain-numpy network and loss of
  ``tests/numpy_reference.py``;
- the rows the internal early-stopping split holds out are drawn again here
  the way scikit-learn draws them (``held_out_rows``);
- the model after epoch k of an early-stopping fit on X with ``X_val`` is
  the model a fit of k epochs on X without early stopping ends with
  (``test_with_X_val_every_row_of_X_trains`` says when that holds exactly);
- the validation scores are the estimator's ``score`` on ``X_val``;
- the messages for X_val and y_val given alone are those of scikit-learn's
  ``HistGradientBoostingClassifier.fit``, whose rules ``fit`` follows.
"""
import copy
import inspect
import warnings

import numpy as np
import pytest
import scipy.sparse
from numpy.testing import assert_allclose
from sklearn.callback import ScoringMonitor
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.preprocessing import LabelBinarizer

import numpy_reference as ref
from conftest import (
    EndOnlyCallback,
    StopAfter,
    assert_weights_identical,
    engine_only,
    estimator_pair,
    fit_quiet,
    is_classification,
    make_data,
)

pytestmark = engine_only  # scikit-learn's MLP takes no X_val and records no validation loss

import mlpfast  # noqa: E402
from mlpfast import MLPClassifier, MLPRegressor  # noqa: E402

TASKS = ("binary", "multiclass", "multilabel", "reg1", "reg2")
BASE = dict(hidden_layer_sizes=(8,), activation="tanh", solver="adam", learning_rate_init=0.01,
            batch_size=32, alpha=1e-3, max_iter=12, random_state=3, early_stopping=True)
N_TRAIN = 110   # of make_data's 150 rows; the other 40 are X_val
RTOL_LOSS = 1e-9


# --------------------------------------------------------------------------
# references
# --------------------------------------------------------------------------


def _weights(n, seed):
    return np.random.RandomState(seed).uniform(0.2, 3.0, n)


def _data(task, weighted):
    """(X, y, sample_weight) of all rows, and the same split as training rows and X_val."""
    X, y = make_data(task)
    sample_weight = _weights(len(X), seed=1) if weighted else None

    def rows(part):
        return X[part], y[part], None if sample_weight is None else sample_weight[part]

    return (X, y, sample_weight), rows(slice(None, N_TRAIN)), rows(slice(N_TRAIN, None))


def loss_targets(task, y_train, y):
    """y as the loss takes it: binarized on y_train's classes, one column per output."""
    if is_classification(task):
        return LabelBinarizer().fit(y_train).transform(y)
    return np.asarray(y, dtype=np.float64).reshape(len(y), -1)


def reference_loss(model, X, Y, sample_weight):
    """The loss of ``loss_curve_`` for ``model``'s weights on (X, Y), in plain numpy."""
    layer_units = [model.coefs_[0].shape[0]] + [coef.shape[1] for coef in model.coefs_]
    params = ref.pack(model.coefs_, model.intercepts_)
    args = (params, layer_units, X, Y, model.activation, model.out_activation_, model.alpha)
    if sample_weight is None:
        return ref.loss(*args)
    return ref.weighted_loss(*args, sample_weight)


def held_out_rows(task, params, X, y, sample_weight, warm_started=False):
    """The training and validation rows of early stopping's split, drawn as scikit-learn does.

    A fit makes a RandomState from ``random_state``; unless it is
    warm-started, it first draws the initial weights (uniform, a weight
    matrix then a bias vector per layer). Then ``train_test_split`` draws
    from it, stratified by the binarized targets of single-output
    classifiers.

    Returns
    -------
    training, validation : tuple of (X, y, sample_weight)
    """
    Y = loss_targets(task, y, y)
    random_state = np.random.RandomState(params["random_state"])
    layer_units = [X.shape[1], *params["hidden_layer_sizes"], Y.shape[1]]
    if not warm_started:
        for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
            random_state.uniform(size=(fan_in, fan_out))
            random_state.uniform(size=fan_out)
    stratify = Y if is_classification(task) and Y.shape[1] == 1 else None
    arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
    parts = train_test_split(*arrays, test_size=params.get("validation_fraction", 0.1),
                             random_state=random_state, stratify=stratify)
    training, validation = parts[0::2], parts[1::2]
    if sample_weight is None:
        training, validation = (*training, None), (*validation, None)
    return tuple(training), tuple(validation)


class EpochModels(EndOnlyCallback):
    """Keeps the model callbacks are shown at the end of every epoch."""

    def __init__(self):
        self.models = []

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name == "epoch":
            self.models.append(fitted_estimator)


def _fit_with_validation(task, params, weighted, source, callbacks=()):
    """Fit with X_val (``source='X_val'``) or the internal split ('split').

    Returns
    -------
    est : fitted estimator
    validation : (X_val, Y_val, sample_weight_val)
        The validation rows, targets as the loss takes them.
    """
    (X, y, sample_weight), training, (X_val, y_val, sample_weight_val) = _data(task, weighted)
    est = estimator_pair(task)[0](**params).set_callbacks(*callbacks)
    if source == "X_val":
        fit_quiet(est, training[0], training[1], sample_weight=training[2], X_val=X_val,
                  y_val=y_val, sample_weight_val=sample_weight_val)
        y_train = training[1]
    else:
        fit_quiet(est, X, y, sample_weight=sample_weight)
        _, (X_val, y_val, sample_weight_val) = held_out_rows(task, params, X, y, sample_weight)
        y_train = y
    return est, (X_val, loss_targets(task, y_train, y_val), sample_weight_val), y_val


# --------------------------------------------------------------------------
# the validation loss curve
# --------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["X_val", "split"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("task", TASKS)
def test_best_entry_is_the_loss_of_the_fitted_model(task, weighted, source):
    est, (X_val, Y_val, sample_weight_val), y_val = _fit_with_validation(
        task, BASE, weighted, source)
    curve = est.validation_loss_curve_
    assert isinstance(curve, list) and all(isinstance(value, float) for value in curve)
    assert len(curve) == len(est.validation_scores_) == len(est.loss_curve_) == est.n_iter_
    # Early stopping keeps the first epoch with the highest score.
    best = int(np.argmax(est.validation_scores_))
    # The rows are the validation rows (for the split: reproduced here).
    assert_allclose(est.score(X_val, y_val, sample_weight=sample_weight_val),
                    est.validation_scores_[best], rtol=1e-12)
    assert_allclose(curve[best], reference_loss(est, X_val, Y_val, sample_weight_val),
                    rtol=RTOL_LOSS)


@pytest.mark.parametrize("source", ["X_val", "split"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("task", ["binary", "multiclass", "reg2"])
def test_every_entry_is_the_loss_of_that_epochs_model(task, weighted, source):
    recorder = EpochModels()
    est, (X_val, Y_val, sample_weight_val), _ = _fit_with_validation(
        task, dict(BASE, n_iter_no_change=3), weighted, source, callbacks=[recorder])
    curve = est.validation_loss_curve_
    assert len(recorder.models) == len(curve) == est.n_iter_
    for epoch, model in enumerate(recorder.models, start=1):
        assert_allclose(curve[epoch - 1], reference_loss(model, X_val, Y_val, sample_weight_val),
                        rtol=RTOL_LOSS, err_msg=f"epoch {epoch}")
        # The callbacks' copy holds the record up to its epoch, its own copy.
        assert model.validation_loss_curve_ == curve[:epoch]
        assert model.validation_loss_curve_ is not curve


def test_float32_curve_is_the_float64_loss_to_float32_precision():
    (X, y, _), training, (X_val, y_val, _) = _data("multiclass", weighted=False)
    est = fit_quiet(MLPClassifier(**BASE), training[0].astype(np.float32), training[1],
                    X_val=X_val, y_val=y_val)
    best = int(np.argmax(est.validation_scores_))
    Y_val = loss_targets("multiclass", training[1], y_val)
    assert_allclose(est.validation_loss_curve_[best],
                    reference_loss(est, X_val.astype(np.float32), Y_val, None), rtol=1e-5)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_without_early_stopping_there_is_no_validation_loss(solver):
    X, y = make_data("multiclass")
    params = dict(BASE, solver=solver, early_stopping=False)
    est = fit_quiet(MLPClassifier(**params), X, y)
    if solver == "lbfgs":
        # L-BFGS sets none of the per-epoch records, as in scikit-learn.
        sk = fit_quiet(SkMLPClassifier(**params), X, y)
        for name in ("loss_curve_", "validation_scores_"):
            assert not hasattr(sk, name) and not hasattr(est, name)
        assert not hasattr(est, "validation_loss_curve_")
    else:
        assert est.validation_scores_ is None
        assert est.validation_loss_curve_ is None
    # lbfgs ignores early_stopping=True, as scikit-learn does.
    est = fit_quiet(MLPClassifier(**dict(params, solver="lbfgs", early_stopping=True)), X, y)
    assert not hasattr(est, "validation_loss_curve_")


@pytest.mark.parametrize("source", ["X_val", "split"])
def test_warm_start_appends_as_to_validation_scores(source):
    # scikit-learn's validation_scores_ grow over warm-started fits (its
    # initialisation, which starts them, runs on the first fit only).
    (X, y, _), training, (X_val, y_val, _) = _data("multiclass", weighted=False)
    params = dict(BASE, warm_start=True, n_iter_no_change=100, max_iter=4)
    sk = fit_quiet(SkMLPClassifier(**params), X, y)
    fit_quiet(sk, X, y)
    assert len(sk.validation_scores_) == 8

    est = fit_quiet(MLPClassifier(**params), X, y)
    first_curve = list(est.validation_loss_curve_)
    recorder = EpochModels()
    est.set_callbacks(recorder)
    if source == "X_val":
        fit_quiet(est, *training[:2], X_val=X_val, y_val=y_val)
        validation = (X_val, loss_targets("multiclass", training[1], y_val), None)
    else:
        fit_quiet(est, X, y)
        # Warm-started, scikit-learn draws no weights before the split.
        _, (X_val, y_val, _) = held_out_rows("multiclass", params, X, y, None,
                                             warm_started=True)
        validation = (X_val, loss_targets("multiclass", y, y_val), None)
    assert len(est.validation_loss_curve_) == len(est.validation_scores_) == 8
    assert est.validation_loss_curve_[:4] == first_curve
    for value, model in zip(est.validation_loss_curve_[4:], recorder.models):
        assert_allclose(value, reference_loss(model, *validation), rtol=RTOL_LOSS)


def test_kept_epochs_entry_is_the_fitted_models_loss_after_a_warm_start_without_new_best():
    # Such a fit ends on its last epoch's weights, as scikit-learn's does.
    _, (X, y, _), (X_val, y_val, _) = _data("multiclass", weighted=False)
    est = fit_quiet(MLPClassifier(**dict(BASE, warm_start=True)), X, y, X_val=X_val,
                    y_val=y_val)
    best_before = est.best_validation_score_
    est.set_params(learning_rate_init=1.0, max_iter=3)
    fit_quiet(est, X, y, X_val=X_val, y_val=y_val)
    assert est.best_validation_score_ == best_before   # the case under test
    assert_allclose(est.validation_loss_curve_[-1],
                    reference_loss(est, X_val, loss_targets("multiclass", y, y_val), None),
                    rtol=RTOL_LOSS)


def test_converted_model_continues_with_unknown_losses_as_nan():
    # A scikit-learn model has validation scores but no validation losses:
    # warm-started, its epochs' entries are NaN, the new ones are measured.
    X, y = make_data("multiclass")
    params = dict(BASE, warm_start=True, n_iter_no_change=100, max_iter=3)
    est = mlpfast.from_sklearn(fit_quiet(SkMLPClassifier(**params), X, y))
    fit_quiet(est, X, y)
    curve = est.validation_loss_curve_
    assert len(curve) == len(est.validation_scores_) == 6
    assert np.isnan(curve[:3]).all() and np.isfinite(curve[3:]).all()


# --------------------------------------------------------------------------
# training with X_val
# --------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("task, solver", [("multiclass", "adam"), ("multiclass", "sgd"),
                                          ("reg1", "adam"), ("reg2", "sgd")])
def test_with_X_val_every_row_of_X_trains(task, solver, weighted):
    # With X_val nothing is split off and the random state draws no split:
    # the initial weights and every shuffle draw the same numbers as a fit
    # without early stopping. So the model after epoch k is, bit for bit,
    # that of a fit of k epochs without early stopping, as long as
    # (a) early stopping does not end the fit first (n_iter_no_change >=
    # max_iter) and (b) the steps do not depend on the stopping measure:
    # true of 'adam' and of 'sgd' with a constant or 'invscaling' rate,
    # not of 'adaptive', whose rate falls when the measure stalls (the
    # validation score with early stopping, the training loss without).
    cls = estimator_pair(task)[0]
    _, (X, y, sample_weight), (X_val, y_val, sample_weight_val) = _data(task, weighted)
    params = dict(BASE, solver=solver, max_iter=8, n_iter_no_change=8)
    recorder = EpochModels()
    est = fit_quiet(cls(**params).set_callbacks(recorder), X, y, sample_weight=sample_weight,
                    X_val=X_val, y_val=y_val, sample_weight_val=sample_weight_val)
    assert est.n_iter_ == 8 and est.t_ == 8 * len(X)
    Y_val = loss_targets(task, y, y_val)
    plain_fits = []
    for epoch, model in enumerate(recorder.models, start=1):
        plain = fit_quiet(cls(**dict(params, early_stopping=False, max_iter=epoch)), X, y,
                          sample_weight=sample_weight)
        plain_fits.append(plain)
        assert_weights_identical(model, plain)
        assert est.loss_curve_[:epoch] == plain.loss_curve_
        assert_allclose(est.validation_scores_[epoch - 1],
                        plain.score(X_val, y_val, sample_weight=sample_weight_val),
                        rtol=1e-12)
        assert_allclose(est.validation_loss_curve_[epoch - 1],
                        reference_loss(plain, X_val, Y_val, sample_weight_val), rtol=RTOL_LOSS)
    # The fit ends on its best epoch's weights.
    best = int(np.argmax(est.validation_scores_))
    assert_weights_identical(est, plain_fits[best])


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("task", ["binary", "reg1"])
def test_X_val_drawn_as_the_split_reproduces_the_split_fit_without_shuffling(task, weighted):
    # The split fit draws a permutation for the split before its first
    # shuffle; a fit given the same rows as X_val does not. Without
    # shuffling nothing else is drawn and both fits are the same; with it
    # they shuffle differently.
    cls = estimator_pair(task)[0]
    (X, y, sample_weight), _, _ = _data(task, weighted)
    for shuffle in (False, True):
        params = dict(BASE, shuffle=shuffle, max_iter=6)
        split = fit_quiet(cls(**params), X, y, sample_weight=sample_weight)
        training, (X_val, y_val, sample_weight_val) = held_out_rows(task, params, X, y,
                                                                   sample_weight)
        given = fit_quiet(cls(**params), training[0], training[1], sample_weight=training[2],
                          X_val=X_val, y_val=y_val, sample_weight_val=sample_weight_val)
        if shuffle:
            assert given.loss_curve_ != split.loss_curve_
            continue
        assert_weights_identical(given, split)
        for name in ("loss_curve_", "validation_scores_", "validation_loss_curve_"):
            assert getattr(given, name) == getattr(split, name), name


def test_X_val_takes_the_dtype_of_X():
    _, (X, y, _), (X_val, y_val, _) = _data("multiclass", weighted=False)
    X32 = X.astype(np.float32)
    as_float64 = fit_quiet(MLPClassifier(**BASE), X32, y, X_val=X_val, y_val=y_val)
    as_float32 = fit_quiet(MLPClassifier(**BASE), X32, y, X_val=X_val.astype(np.float32),
                           y_val=y_val)
    assert as_float64.coefs_[0].dtype == np.float32
    assert_weights_identical(as_float64, as_float32)
    assert as_float64.validation_loss_curve_ == as_float32.validation_loss_curve_
    assert as_float64.validation_scores_ == as_float32.validation_scores_


@pytest.mark.parametrize("sparse_format", ["csr", "csc"])
def test_sparse_X_val_validates_as_the_dense_one(sparse_format):
    _, (X, y, _), (X_val, y_val, _) = _data("reg2", weighted=False)
    dense = fit_quiet(MLPRegressor(**BASE), X, y, X_val=X_val, y_val=y_val)
    sparse = fit_quiet(MLPRegressor(**BASE), X, y,
                       X_val=scipy.sparse.csr_matrix(X_val).asformat(sparse_format), y_val=y_val)
    assert sparse.n_iter_ == dense.n_iter_
    assert_allclose(sparse.validation_loss_curve_, dense.validation_loss_curve_, rtol=1e-12)
    assert_allclose(sparse.validation_scores_, dense.validation_scores_, rtol=1e-12)


def test_string_labels_and_a_y_val_with_some_of_the_classes():
    _, (X, y, _), (X_val, y_val, _) = _data("multiclass", weighted=False)
    names = np.array(["ant", "bee", "cat"], dtype=object)
    keep = y_val != 2   # no "cat" among the validation rows
    est = fit_quiet(MLPClassifier(**BASE), X, names[y], X_val=X_val[keep],
                    y_val=names[y_val[keep]])
    best = int(np.argmax(est.validation_scores_))
    assert est.validation_scores_[best] == est.score(X_val[keep], names[y_val[keep]])
    Y_val = loss_targets("multiclass", names[y], names[y_val[keep]])
    assert_allclose(est.validation_loss_curve_[best],
                    reference_loss(est, X_val[keep], Y_val, None), rtol=RTOL_LOSS)


def test_column_y_val_warns_as_a_column_y_does():
    _, (X, y, _), (X_val, y_val, _) = _data("binary", weighted=False)
    flat = fit_quiet(MLPClassifier(**BASE), X, y, X_val=X_val, y_val=y_val)
    with pytest.warns(DataConversionWarning):
        column = fit_quiet(MLPClassifier(**BASE), X, y, X_val=X_val, y_val=y_val[:, None])
    assert column.validation_loss_curve_ == flat.validation_loss_curve_


def test_feature_names_of_X_val_are_checked_as_at_predict():
    pd = pytest.importorskip("pandas")
    _, (X, y, _), (X_val, y_val, _) = _data("multiclass", weighted=False)
    columns = [f"f{i}" for i in range(X.shape[1])]
    frame, frame_val = pd.DataFrame(X, columns=columns), pd.DataFrame(X_val, columns=columns)
    named = fit_quiet(MLPClassifier(**BASE), frame, y, X_val=frame_val, y_val=y_val)
    plain = fit_quiet(MLPClassifier(**BASE), X, y, X_val=X_val, y_val=y_val)
    assert named.validation_loss_curve_ == plain.validation_loss_curve_
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        fit_quiet(MLPClassifier(**BASE), frame, y, X_val=X_val, y_val=y_val)
    renamed = frame_val.rename(columns={"f0": "other"})
    with pytest.raises(ValueError, match="feature names should match"):
        fit_quiet(MLPClassifier(**BASE), frame, y, X_val=renamed, y_val=y_val)


# --------------------------------------------------------------------------
# callbacks and partial_fit
# --------------------------------------------------------------------------


def test_callbacks_score_the_training_data_and_may_stop_a_fit_with_X_val():
    _, (X, y, _), (X_val, y_val, _) = _data("reg1", weighted=False)
    monitor = ScoringMonitor(scoring="r2")
    est = MLPRegressor(**dict(BASE, n_iter_no_change=100))
    fit_quiet(est.set_callbacks(monitor, StopAfter(4)), X, y, X_val=X_val, y_val=y_val)
    assert est.n_iter_ == len(est.validation_loss_curve_) == 4
    rows = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    assert len(rows) == 4
    (root,) = [row for row in monitor.get_logs().data if row["task_name"] == "fit"]
    # The monitor scores the final (best epoch's) model on the training rows.
    assert_allclose(root["r2"], est.score(X, y), rtol=1e-12)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_partial_fit_takes_no_validation_set(cls):
    assert "X_val" not in inspect.signature(cls.partial_fit).parameters
    X, y = make_data("multiclass")
    kwargs = {"classes": np.unique(y)} if cls is MLPClassifier else {}
    with pytest.raises(TypeError, match="X_val"):
        cls(**dict(BASE, early_stopping=False)).partial_fit(X, y, X_val=X, y_val=y, **kwargs)


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------


def _classifier_case(**overrides):
    _, (X, y, sample_weight), (X_val, y_val, _) = _data("multiclass", weighted=False)
    return dict({"X": X, "y": y, "X_val": X_val, "y_val": y_val}, **overrides)


@pytest.mark.parametrize("shared_with_hgb, fit_args, message", [
    (True, dict(y_val=None), "X_val is provided, but y_val was not provided."),
    (True, dict(X_val=None), "y_val is provided, but X_val was not provided."),
    (False, dict(X_val=None, y_val=None, sample_weight_val=np.ones(40)),
     "sample_weight_val is provided, but X_val and y_val were not provided."),
])
def test_incomplete_validation_set_is_refused(shared_with_hgb, fit_args, message):
    case = _classifier_case(**fit_args)
    X, y = case.pop("X"), case.pop("y")
    with pytest.raises(ValueError) as raised:
        MLPClassifier(**BASE).fit(X, y, **case)
    assert str(raised.value) == message
    if shared_with_hgb:
        with pytest.raises(ValueError) as hgb_raised:
            HistGradientBoostingClassifier(early_stopping=True).fit(X, y, **case)
        assert str(hgb_raised.value) == message


def test_X_val_needs_early_stopping_as_in_hist_gradient_boosting():
    case = _classifier_case()
    X, y = case.pop("X"), case.pop("y")
    with pytest.raises(ValueError, match="early_stopping is False"):
        HistGradientBoostingClassifier(early_stopping=False).fit(X, y, **case)
    with pytest.raises(ValueError, match=r"^X_val and y_val are passed to fit while at the same "
                                         r"time early_stopping is False\. When passing X_val "
                                         r"and y_val to fit, early_stopping should be set to "
                                         r"True\.$"):
        MLPClassifier(**dict(BASE, early_stopping=False)).fit(X, y, **case)
    with pytest.raises(ValueError, match="solver is 'lbfgs', which does not stop early"):
        MLPClassifier(**dict(BASE, solver="lbfgs")).fit(X, y, **case)


def _nan_at_first(X):
    X = X.copy()
    X[0, 0] = np.nan
    return X


def _inf_at_first(X):
    X = X.copy()
    X[0, 0] = np.inf
    return X


@pytest.mark.parametrize("change, error, message", [
    (lambda c: dict(X_val=c["X_val"][:, :5]), ValueError,
     "X_val has 5 features, but MLPClassifier is expecting 8 features as input."),
    (lambda c: dict(X_val=_nan_at_first(c["X_val"])), ValueError, "Input X_val contains NaN."),
    (lambda c: dict(X_val=_inf_at_first(c["X_val"])), ValueError,
     "Input X_val contains infinity"),
    (lambda c: dict(X_val=c["X_val"][:1], y_val=c["y_val"][:1]), ValueError,
     r"Found array with 1 sample\(s\) .* a minimum of 2 is required"),
    (lambda c: dict(X_val=c["X_val"][:, 0]), ValueError, "Expected 2D array, got 1D array"),
    (lambda c: dict(X_val=c["X_val"].astype("datetime64[s]")), TypeError,
     "X_val has dtype datetime64"),
    (lambda c: dict(y_val=c["y_val"] + 1), ValueError,
     r"`y_val` has classes not in `self.classes_`. `self.classes_` has \[0 1 2\]. "
     r"'y_val' has \[1 2 3\]."),
    (lambda c: dict(y_val=c["y_val"].astype(str)), ValueError,
     "`y_val` has classes not in `self.classes_`"),
    (lambda c: dict(y_val=np.stack([c["y_val"]] * 2, axis=1)), ValueError,
     r"y_val must hold one class label per row, as y did; got shape \(40, 2\)."),
    (lambda c: dict(y_val=c["y_val"][:-1]), ValueError,
     r"inconsistent numbers of samples: \[40, 39\]"),
    (lambda c: dict(y_val=np.where(c["y_val"] == 0, np.nan, c["y_val"])), ValueError,
     "Input y_val contains NaN."),
    (lambda c: dict(sample_weight_val=np.ones(39)), ValueError,
     r"sample_weight_val.shape == \(39,\), expected \(40,\)!"),
    (lambda c: dict(sample_weight_val=np.zeros(40)), ValueError,
     "Sample weights must contain at least one non-zero number."),
])
def test_bad_classifier_validation_sets_are_refused(change, error, message):
    case = _classifier_case()
    case.update(change(case))
    X, y = case.pop("X"), case.pop("y")
    with pytest.raises(error, match=message):
        MLPClassifier(**BASE).fit(X, y, **case)


def test_multilabel_y_val_must_be_an_indicator_of_as_many_labels():
    _, (X, y, _), (X_val, y_val, _) = _data("multilabel", weighted=False)
    fit_quiet(MLPClassifier(**BASE), X, y, X_val=X_val, y_val=y_val)
    for bad in (y_val[:, :2], y_val[:, 0]):
        with pytest.raises(ValueError, match="y_val must be a label indicator matrix with 3 "
                                             "columns, as y was"):
            MLPClassifier(**BASE).fit(X, y, X_val=X_val, y_val=bad)


@pytest.mark.parametrize("change, error, message", [
    (lambda y_val: y_val[:, 0], ValueError,
     r"y_val has 1 target\(s\) per row, but y had 2."),
    (lambda y_val: np.hstack([y_val, y_val]), ValueError,
     r"y_val has 4 target\(s\) per row, but y had 2."),
    (lambda y_val: np.where(y_val > 0, np.inf, y_val), ValueError,
     "Input y_val contains infinity"),
    (lambda y_val: y_val.astype(bool), None, None),
    (lambda y_val: (y_val > 0).astype(str), TypeError,
     "MLPRegressor needs numeric targets, got y_val of dtype <U5"),
])
def test_bad_regressor_validation_targets_are_refused(change, error, message):
    _, (X, y, _), (X_val, y_val, _) = _data("reg2", weighted=False)
    if error is None:   # bool targets are numbers to the regressor, as in y
        fit_quiet(MLPRegressor(**BASE), X, y, X_val=X_val, y_val=change(y_val))
        return
    with pytest.raises(error, match=message):
        MLPRegressor(**BASE).fit(X, y, X_val=X_val, y_val=change(y_val))


def test_refused_validation_set_leaves_a_fitted_model_unchanged():
    _, (X, y, _), (X_val, y_val, _) = _data("multiclass", weighted=False)
    est = fit_quiet(MLPClassifier(**dict(BASE, warm_start=True)), X, y)
    before = copy.deepcopy(est)
    with pytest.raises(ValueError, match="y_val"):
        est.fit(X, y, X_val=X_val, y_val=y_val + 5)
    assert_weights_identical(est, before)
    assert est.validation_loss_curve_ == before.validation_loss_curve_


def test_default_fit_is_unchanged_by_the_new_arguments():
    # None for all three is the fit without them (scikit-learn's parity
    # tests guard that fit itself).
    (X, y, sample_weight), _, _ = _data("binary", weighted=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = MLPClassifier(**BASE).fit(X, y, sample_weight)
        explicit = MLPClassifier(**BASE).fit(X, y, sample_weight, X_val=None, y_val=None,
                                             sample_weight_val=None)
    assert_weights_identical(plain, explicit)
    assert plain.validation_loss_curve_ == explicit.validation_loss_curve_
