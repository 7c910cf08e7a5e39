"""Training of a validated, initialised estimator: stochastic epochs and L-BFGS.

The estimators (``mlpfast._estimators``) check the data, initialise the
network and then hand over to ``fit_stochastic`` ('sgd', 'adam') or
``fit_lbfgs``; everything from there to the fitted weights happens here.
The numeric work runs in ``mlpfast._kernels``, the optimizers' state and
step settings live in ``mlpfast._solvers``.

Training reads and writes the estimator's own attributes: its parameter
vector, random state and optimizer, and the fitted attributes that record
progress (``loss_curve_``, ``validation_scores_``, ``validation_loss_curve_``,
``best_loss_``, ``best_validation_score_``, ``n_iter_``, ``t_``, ``loss_``,
``_no_improvement_count``, ``_best_params``). They stay attributes of the
estimator because scikit-learn's tests, pickling, ``mlpfast._persistence``,
``mlpfast._interop`` and the callbacks' fitted copies read them there;
``reset_progress`` is where they start.

A stochastic fit, in order:

1. the early-stopping validation rows: the user's validation set
   (``fit``'s ``X_val``, ``y_val``, ``sample_weight_val``), checked by the
   estimator, or else rows ``_hold_out_validation`` splits off; either
   way a ``Dataset`` in the form of the training rows, wrapped in a
   ``Validation``;
2. ``_epoch_runner`` builds the ``EpochRunner``, which runs one epoch
   (shuffle, mini-batches, the kernel's forward, backward and step);
3. ``_run_epochs`` loops over epochs: the loss curve, verbose messages,
   ``_track_improvement`` (validation score and loss, best loss or score,
   best weights), the optimizer's schedule, ``_stops_after_no_improvement``
   and the callbacks' per-epoch subtasks;
4. ``_end_on_best_params`` ends an early-stopping fit on its best weights.

Where a new training feature goes:

- a learning-rate schedule: an entry of ``mlpfast._schedules``, which the
  optimizers apply in ``epoch_begins``, ``iteration_ends`` and
  ``trigger_stopping``, called by ``_run_epochs`` around every epoch;
- a per-step rule (as weight decay and gradient clipping): the optimizer's
  step state (``mlpfast._solvers``, ``_kernels.StepState``), which
  ``EpochRunner.run_epoch`` hands to the kernel that computes and applies
  each batch's gradient;
- dropout reaches the kernel through ``EpochRunner`` too (``_dropout``);
- another per-epoch record: ``_track_improvement``, with its list
  started in ``reset_progress`` and named in ``PER_EPOCH_LISTS`` (as the
  validation scores and the validation loss curve are);
- class weights reach training, the split and the validation score and
  loss inside the sample weights (``MLPClassifier._sample_weighting``,
  which weighs a validation set given to ``fit`` with the class weights of
  the training labels).
"""
from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np
import scipy.optimize
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from mlpfast import _checks, _kernels
from mlpfast._callbacks import LbfgsIterationTasks
from mlpfast._inputs import kernel_matrix
from mlpfast._network import aligned_copy
from mlpfast._solvers import follow_step_rules, make_optimizer
from mlpfast._threads import (HelperThreadChoice, batch_parts, call_kernel, threads_available,
                              training_threads)

STOCHASTIC_SOLVERS = ("sgd", "adam")

# Fitted attributes that grow by one entry per epoch. Fitted copies of the
# model made for callbacks get copies of them, since training goes on
# appending to the originals.
PER_EPOCH_LISTS = ("loss_curve_", "validation_scores_", "validation_loss_curve_")

# Where the L-BFGS convergence warning sends users.
_SCALING_DOCS_URL = "https://scikit-learn.org/stable/modules/preprocessing.html"

# The L-BFGS convergence warning points at the user's fit call: counted from
# the function that warns, the frames are _warn_if_lbfgs_failed, fit_lbfgs,
# _BaseMLP._fit, fit (or MLPRegressor.partial_fit), scikit-learn's
# with_callbacks wrapper around it, and the caller.
_USER_CALL_STACKLEVEL = 6


class Dataset(NamedTuple):
    """Rows to train or score on.

    Attributes
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples, n_outputs)
        The targets, binarized for a classifier.
    sample_weight : ndarray of shape (n_samples,) or None
    """

    X: Any
    y: Any
    sample_weight: Any


def reset_progress(estimator):
    """Start the training record of a freshly initialised estimator.

    As scikit-learn's initialisation does, the best-weights snapshot starts
    for every solver, the loss curve, the stopping counters and the
    validation record only for the stochastic solvers: 'lbfgs' sets no
    per-epoch record, ``validation_loss_curve_`` included.
    """
    # A separate copy at first; at the end of every early-stopping fit it
    # becomes the live vector itself (see _end_on_best_params), as
    # scikit-learn's _best_coefs does.
    estimator._best_params = estimator._params.copy()
    if estimator.solver not in STOCHASTIC_SOLVERS:
        return

    estimator.loss_curve_ = []
    estimator._no_improvement_count = 0
    if estimator.early_stopping:
        estimator.validation_scores_ = []
        estimator.validation_loss_curve_ = []
        estimator.best_validation_score_ = -np.inf
        estimator.best_loss_ = None
    else:
        estimator.best_loss_ = np.inf
        estimator.validation_scores_ = None
        estimator.validation_loss_curve_ = None
        estimator.best_validation_score_ = None


# ----------------------------------------------------------------------
# Stochastic solvers
# ----------------------------------------------------------------------
def fit_stochastic(estimator, X, y, sample_weight, incremental, tasks, validation_rows=None):
    """Train with 'sgd' or 'adam': up to ``max_iter`` epochs, or one for ``partial_fit``.

    Parameters
    ----------
    estimator : mlpfast estimator
        Initialised (or fitted, for warm starts and ``partial_fit``); its
        parameters, optimizer and progress attributes are updated in place.
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Validated input.
    y : ndarray of shape (n_samples, n_outputs)
        Targets, binarized for a classifier.
    sample_weight : ndarray of shape (n_samples,) or None
    incremental : bool
        Whether this is a ``partial_fit`` call.
    tasks : mlpfast._callbacks.FitTasks
        The callback tasks of this call; each epoch is a subtask.
    validation_rows : Dataset or None
        The user's validation set for early stopping, in the form of the
        training rows (targets binarized for a classifier). It takes the
        place of the split: all of X trains, and the random state draws no
        split, so the shuffles draw from it right after the initial weights
        (the epochs see other orders than those of a fit that splits).
    """
    if not incremental or not hasattr(estimator, "_optimizer"):
        estimator._optimizer = make_optimizer(estimator, estimator._layout.n_params,
                                              estimator._params.dtype)
    follow_step_rules(estimator._optimizer, estimator)
    if estimator.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    continue_validation_loss_curve(estimator)

    training = Dataset(X, y, sample_weight)
    if estimator.early_stopping and validation_rows is None:
        training, validation_rows = _hold_out_validation(estimator, training)
    validation = None if validation_rows is None else Validation(estimator, validation_rows)
    runner = _epoch_runner(estimator, training, _dropout(estimator))
    with training_threads(runner.helper_threads):
        _run_epochs(estimator, runner, validation, tasks, incremental)
    if validation is not None:
        _end_on_best_params(estimator)


def continue_validation_loss_curve(estimator):
    """Give a model fitted without ``validation_loss_curve_`` one to continue.

    Models converted from scikit-learn's, or saved before the record
    existed, have the validation scores of their epochs but not the
    losses: those entries are NaN, so that entry ``i`` of both records is
    still epoch ``i + 1``'s. Without validation scores the record is None,
    as after a fit without early stopping.
    """
    if hasattr(estimator, "validation_loss_curve_"):
        return
    earlier_scores = getattr(estimator, "validation_scores_", None)
    estimator.validation_loss_curve_ = (None if earlier_scores is None
                                        else [np.nan] * len(earlier_scores))


def _hold_out_validation(estimator, data):
    """Split off the early-stopping validation rows, as scikit-learn does.

    Returns
    -------
    training, validation : Dataset
    """
    stratify = data.y if is_classifier(estimator) and estimator.n_outputs_ == 1 else None
    arrays = data if data.sample_weight is not None else data[:2]
    parts = train_test_split(
        *arrays, random_state=estimator._random_state,
        test_size=estimator.validation_fraction, stratify=stratify,
    )
    X_train, X_val, y_train, y_val = parts[:4]
    sample_weight_train, sample_weight_val = parts[4:] or (None, None)
    if X_val.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' or "
            "the size of your dataset."
        )
    return (Dataset(X_train, y_train, sample_weight_train),
            Dataset(X_val, y_val, sample_weight_val))


class Validation:
    """The early-stopping validation rows, scored and measured after every epoch.

    Parameters
    ----------
    estimator : mlpfast estimator
        Initialised; its network, weights' dtype and (for a classifier)
        label binarizer are read once, here.
    rows : Dataset
        The validation rows, in the form of the training rows.

    Attributes
    ----------
    y : ndarray of shape (n_val, n_outputs) or (n_val,)
        The targets as the estimator predicts them: labels for a classifier,
        which its score compares with its predictions.
    sample_weight : ndarray of shape (n_val,) or None
    """

    def __init__(self, estimator, rows):
        self.y = rows.y
        if is_classifier(estimator):
            self.y = estimator._label_binarizer.inverse_transform(rows.y)
        self.sample_weight = rows.sample_weight
        # The kernels' inputs, converted once for all epochs.
        dtype = estimator._params.dtype
        self._network = estimator._network()
        self._kernel_X = kernel_matrix(rows.X, dtype)
        self._kernel_Y = np.ascontiguousarray(rows.y, dtype=dtype)
        self._kernel_sample_weight = (None if rows.sample_weight is None
                                      else np.ascontiguousarray(rows.sample_weight, dtype=dtype))

    def measure(self, estimator):
        """The score and the loss of the validation rows under the current weights.

        One forward pass serves both. The score is the estimator's (NaN when
        its predictions are not finite); the loss is measured as
        ``loss_curve_`` measures a loss: scikit-learn's loss of the whole set
        as one batch, the (weighted) mean data loss plus
        ``0.5 * alpha * ||W||^2`` divided by the rows' weight sum (their
        number, without weights).

        Returns
        -------
        score, loss : float
        """
        params = estimator._params
        out = _kernels.forward(self._network, self._kernel_X, params)
        y_pred = estimator._prediction_of(out)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            score = np.nan
        else:
            score = estimator._score_function(self.y, y_pred, self.sample_weight)
        # After the score: rows the score rejects (weights summing to zero)
        # fail with scikit-learn's error, as without the loss.
        loss = _kernels.outputs_loss(self._network, out, self._kernel_Y, params,
                                     self._kernel_sample_weight)
        return score, loss


def _clipped_batch_size(batch_size, n_samples):
    """The mini-batch size: 'auto' or ``batch_size`` clipped to [1, n_samples]."""
    if batch_size == "auto":
        return min(200, n_samples)
    if batch_size > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. It is going "
            "to be clipped"
        )
    return int(np.clip(batch_size, 1, n_samples))


def _dropout(estimator):
    """The dropout of this fit or ``partial_fit`` call, or None without any.

    Its key comes from the random state without drawing from it: a digest
    of the state the shuffles will start from and of ``t_``, the samples
    trained on before this call. So the shuffles (and the validation split)
    are those of the same fit without dropout, a fit is reproducible under
    an integer ``random_state``, and each later call (``partial_fit``, a
    warm start) gets new masks, even without shuffling, which leaves the
    random state where it was.
    """
    rates = _checks.dropout_rates(estimator.dropout, estimator._layout.n_weight_layers - 1)
    if not any(rates):
        return None
    state = estimator._random_state.get_state(legacy=False)["state"]
    seed = np.random.SeedSequence([int(word) for word in state["key"]]
                                  + [state["pos"], int(estimator.t_)])
    (key,) = seed.generate_state(1, dtype=np.uint64)
    return _kernels.Dropout(rates, int(key))


def _epoch_runner(estimator, training, dropout=None):
    """The epoch driver over the training rows, converted to the weights' dtype."""
    dtype = estimator._params.dtype
    batch_size = _clipped_batch_size(estimator.batch_size, training.X.shape[0])
    sample_weight = training.sample_weight
    threads = threads_available()
    n_parts = batch_parts(threads)
    return EpochRunner(
        estimator._network(),
        kernel_matrix(training.X, dtype),
        # Binarized classes stay bool (1 byte), converted batch by batch.
        np.ascontiguousarray(training.y, dtype=bool if training.y.dtype == bool else dtype),
        None if sample_weight is None else np.ascontiguousarray(sample_weight, dtype=dtype),
        batch_size,
        estimator.shuffle,
        n_parts,
        HelperThreadChoice.for_training(estimator._layout.layer_units, batch_size, dtype,
                                        n_parts, threads=threads),
        dropout,
    )


class EpochRunner:
    """Runs training epochs over one training set.

    The sample order persists across epochs: each shuffle permutes the
    previous order, drawing from the random state exactly as scikit-learn
    does, so the batches are the same as scikit-learn's.

    Parameters
    ----------
    network : mlpfast._kernels.Network
    X : ndarray of shape (n_samples, n_features) or CSR matrix, as the kernels take it
    Y : ndarray of shape (n_samples, n_outputs), C-contiguous, X's dtype or bool
    sample_weight : ndarray of shape (n_samples,), X's dtype, or None
    batch_size : int
        Already clipped to [1, n_samples].
    shuffle_rows : bool
    n_parts : int
        The parts each batch is cut into (``mlpfast._threads.batch_parts``).
    helper_threads : mlpfast._threads.HelperThreadChoice or None
        Decides, call by call, whether the kernel runs the parts on helper
        threads (None: never), and is told how long each call took; a call
        is an epoch, or a few of its batches while the choice times both
        ways.
    dropout : mlpfast._kernels.Dropout or None
        The dropout of the hidden layers, None without.
    """

    def __init__(self, network, X, Y, sample_weight, batch_size, shuffle_rows, n_parts,
                 helper_threads=None, dropout=None):
        self.network = network
        self.X = X
        self.Y = Y
        self.sample_weight = sample_weight
        self.batch_size = batch_size
        self.shuffle_rows = shuffle_rows
        self.n_parts = n_parts
        self.helper_threads = helper_threads
        self.dropout = dropout
        self.sample_order = np.arange(X.shape[0], dtype=np.intp)

    def run_epoch(self, params, optimizer, random_state):
        """One pass over the data; returns scikit-learn's epoch loss.

        ``random_state`` is a ``numpy.random.RandomState``.
        """
        if self.shuffle_rows:
            # sklearn.utils.shuffle permutes np.arange(n) in place with the
            # random state and indexes with it; the same swaps made on the
            # order itself give the same order, without the argument
            # validation that cost a tenth of a digits-sized epoch
            # (bench/MEASUREMENTS.md, 'Epoch shuffle').
            random_state.shuffle(self.sample_order)
        n_rows = self.X.shape[0]
        loss_sum, start = 0.0, 0
        while start < n_rows:
            # The thread choice may time a long epoch a few batches at a
            # time; the runs end exactly as one call would.
            stop = n_rows
            if self.helper_threads is not None:
                stop = start + self.helper_threads.call_rows(n_rows - start, self.batch_size)
            with optimizer.kernel_state() as (step, moment_1, moment_2):
                loss_sum = call_kernel(
                    self.helper_threads, _kernels.train_epoch, stop - start,
                    self.network, self.X, self.Y, self.sample_order, self.batch_size,
                    params, step, moment_1, moment_2, self.sample_weight,
                    n_parts=self.n_parts, rows=(start, stop), loss_sum=loss_sum,
                    dropout=self.dropout,
                )
            start = stop
        return loss_sum / n_rows


def _run_epochs(estimator, runner, validation, tasks, incremental):
    """The epoch loop: loss curve, stopping rules, schedules, messages.

    Each epoch is a subtask of ``tasks``; a callback may stop training
    after any epoch. ``partial_fit`` (``incremental``) runs one epoch.
    ``validation`` is the early-stopping ``Validation``, or None.
    """
    n_samples = runner.X.shape[0]
    try:
        estimator.n_iter_ = 0
        for _ in range(estimator.max_iter):
            epoch = tasks.begin_subtask("epoch", estimator._fitted_state)
            estimator._optimizer.epoch_begins(estimator.n_iter_, estimator.max_iter)
            estimator.loss_ = runner.run_epoch(estimator._params, estimator._optimizer,
                                               estimator._random_state)
            estimator.n_iter_ += 1
            estimator.t_ += n_samples
            estimator.loss_curve_.append(estimator.loss_)
            if estimator.verbose:
                print("Iteration %d, loss = %.8f" % (estimator.n_iter_, estimator.loss_))

            _track_improvement(estimator, validation)
            estimator._optimizer.iteration_ends(estimator.t_)
            converged = _stops_after_no_improvement(estimator, validation is not None)

            stop_requested = tasks.end_subtask(epoch, estimator._fitted_state)
            if converged or stop_requested or incremental:
                break

            if estimator.n_iter_ == estimator.max_iter:
                warnings.warn(
                    "Stochastic Optimizer: Maximum iterations (%d) reached and "
                    "the optimization hasn't converged yet." % estimator.max_iter,
                    ConvergenceWarning,
                )
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.")


def _track_improvement(estimator, validation):
    """Count epochs without improvement; keep the best loss, or score and weights.

    Without early stopping (``validation`` None) the measure is the epoch's
    training loss, with it the validation score, kept in
    ``validation_scores_``; the validation loss goes to
    ``validation_loss_curve_`` beside it.
    """
    if validation is not None:
        score, loss = validation.measure(estimator)
        estimator.validation_scores_.append(score)
        estimator.validation_loss_curve_.append(loss)
        if estimator.verbose:
            print("Validation score: %f" % estimator.validation_scores_[-1])
        if score < estimator.best_validation_score_ + estimator.tol:
            estimator._no_improvement_count += 1
        else:
            estimator._no_improvement_count = 0
        if score > estimator.best_validation_score_:
            estimator.best_validation_score_ = score
            estimator._best_params = estimator._params.copy()
    else:
        loss = estimator.loss_curve_[-1]
        if loss > estimator.best_loss_ - estimator.tol:
            estimator._no_improvement_count += 1
        else:
            estimator._no_improvement_count = 0
        if loss < estimator.best_loss_:
            estimator.best_loss_ = loss


def _stops_after_no_improvement(estimator, early_stopping):
    """Whether ``n_iter_no_change`` epochs without improvement end training.

    The optimizer decides (the adaptive SGD schedule lowers its rate and
    goes on instead); when training goes on, the count starts again.
    """
    if estimator._no_improvement_count <= estimator.n_iter_no_change:
        return False
    if early_stopping:
        msg = (
            "Validation score did not improve more than "
            "tol=%f for %d consecutive epochs." % (estimator.tol, estimator.n_iter_no_change)
        )
    else:
        msg = (
            "Training loss did not improve more than tol=%f"
            " for %d consecutive epochs." % (estimator.tol, estimator.n_iter_no_change)
        )
    converged = estimator._optimizer.trigger_stopping(msg, estimator.verbose)
    if not converged:
        estimator._no_improvement_count = 0
    return converged


def _end_on_best_params(estimator):
    """End an early-stopping fit on the snapshot, which becomes the live weights.

    scikit-learn ends such a fit with ``coefs_ = _best_coefs`` (and the
    intercepts), so from then on its snapshot *is* the weight arrays:
    later training moves it in place, until a better validation score
    replaces it with a copy. A warm-start fit that finds no better score
    thus ends on its last epoch's weights, not on the earlier best ones.
    ``_best_params is _params`` is that state here; it survives pickling
    (one object, pickled once) and the L-BFGS solver. Weights assigned to
    ``coefs_``/``intercepts_`` by hand get a new vector and leave the
    snapshot behind, as assigning new lists does in scikit-learn.
    """
    if estimator._best_params is not estimator._params:
        # Copied in, not adopted: the snapshot may be shared with copies
        # of this model made for callbacks (see _BaseMLP._fitted_state).
        estimator._params[...] = estimator._best_params
        estimator._best_params = estimator._params


# ----------------------------------------------------------------------
# L-BFGS
# ----------------------------------------------------------------------
def fit_lbfgs(estimator, X, y, sample_weight, tasks):
    """Full-batch L-BFGS-B on the flat parameter vector, as scikit-learn runs it.

    scipy evaluates the objective in the dtype of the starting vector
    (float32 weights after a float32 initialisation) and returns float64
    parameters, which the fitted model keeps, as scikit-learn's does.

    Parameters
    ----------
    estimator : mlpfast estimator
        Initialised or warm-started; gets the result's parameters,
        ``n_iter_`` and ``loss_``.
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Validated input.
    y : ndarray of shape (n_samples, n_outputs)
        Targets, binarized for a classifier.
    sample_weight : ndarray of shape (n_samples,) or None
    tasks : mlpfast._callbacks.FitTasks
        The callback tasks of this call; each iteration is a subtask.
    """
    dtype = estimator._params.dtype
    X = kernel_matrix(X, dtype)
    Y = np.ascontiguousarray(y, dtype=dtype)
    if sample_weight is not None:
        sample_weight = np.ascontiguousarray(sample_weight, dtype=dtype)
    network = estimator._network()
    threads = threads_available()
    n_parts = batch_parts(threads)
    helper_threads = HelperThreadChoice.for_training(
        estimator._layout.layer_units, min(X.shape[0], _kernels.MAX_CHUNK_ROWS), dtype,
        n_parts, back_to_back=False, threads=threads)

    def loss_and_gradient(params):
        # A new gradient array at every call: scipy keeps earlier ones.
        params = np.ascontiguousarray(params, dtype=dtype)
        grad = np.empty_like(params)
        loss = call_kernel(helper_threads, _kernels.loss_gradient, X.shape[0],
                           network, X, Y, params, grad, sample_weight, n_parts=n_parts)
        return loss, grad

    iteration_tasks = None
    if tasks.has_callbacks:
        iteration_tasks = LbfgsIterationTasks(tasks, estimator._params,
                                              estimator._fitted_state)
    with training_threads(helper_threads):
        result = scipy.optimize.minimize(
            loss_and_gradient,
            estimator._params,
            method="L-BFGS-B",
            jac=True,
            options={"maxfun": estimator.max_fun, "maxiter": estimator.max_iter,
                     "gtol": estimator.tol},
            callback=iteration_tasks,
        )
    if iteration_tasks is not None and iteration_tasks.stop_requested:
        # Stopped on request: not a convergence failure.
        estimator.n_iter_ = result.nit
    else:
        estimator.n_iter_ = _warn_if_lbfgs_failed(result, estimator.max_iter)
    estimator.loss_ = result.fun
    snapshot_is_live = getattr(estimator, "_best_params", None) is estimator._params
    estimator._set_params_vector(estimator._layout, aligned_copy(result.x, np.float64))
    if snapshot_is_live:
        # scikit-learn writes the result into the coefs_/intercepts_ lists,
        # which are its snapshot's lists after an early-stopping fit.
        estimator._best_params = estimator._params


def _warn_if_lbfgs_failed(result, max_iter):
    """scikit-learn's ConvergenceWarning for an unsuccessful L-BFGS run.

    Returns
    -------
    n_iter : int
        Iterations run, at most max_iter.
    """
    n_iter = min(result.nit, max_iter)
    if result.status != 0:
        message = (
            f"lbfgs failed to converge after {n_iter} iteration(s) "
            f"(status={result.status}):\n{result.message}\n"
        )
        if n_iter == max_iter:
            message += (
                "\nIncrease the number of iterations to improve the convergence "
                f"(max_iter={max_iter})."
            )
        message += (
            "\nYou might also want to scale the data as shown in:\n    " + _SCALING_DOCS_URL
        )
        warnings.warn(message, ConvergenceWarning, stacklevel=_USER_CALL_STACKLEVEL)
    return n_iter
