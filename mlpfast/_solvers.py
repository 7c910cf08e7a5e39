"""Stochastic solvers: optimizer state and the step rules around it.

The kernels in ``mlpfast._kernels`` take an optimizer's step state
(``kernel_state``) and update it at every step; ``mlpfast._training`` calls
``epoch_begins`` before each epoch and ``iteration_ends`` after it, which
apply the learning-rate schedule (``mlpfast._schedules``), and, after epochs
without improvement, ``trigger_stopping``. The epoch driver itself
(``EpochRunner``) is in ``mlpfast._training``.

Both optimizers also carry the step rules beyond scikit-learn's, which the
kernel applies at every step (see ``_kernels.StepState``): decoupled weight
decay (``weight_decay``) and gradient-norm clipping (``max_grad_norm``).
"""
import contextlib

import numpy as np

from mlpfast import _kernels
from mlpfast._schedules import SCHEDULES


class SGDOptimizer:
    """Stochastic gradient descent with momentum and an optional schedule.

    Parameters
    ----------
    n_params : int
    dtype : numpy dtype of the parameters
    learning_rate_init : float
    lr_schedule : str
        A schedule of ``mlpfast._schedules.SCHEDULES``.
    momentum : float
    nesterov : bool
    power_t : float
    weight_decay : float, default=0.0
    max_grad_norm : float or None, default=None

    Attributes
    ----------
    learning_rate : float
        The rate of the next epoch.
    moment_1 : ndarray of shape (n_params,)
        The velocities, updated in place by the kernel.
    """

    name = "sgd"

    def __init__(self, n_params, dtype, learning_rate_init, lr_schedule, momentum,
                 nesterov, power_t, *, weight_decay=0.0, max_grad_norm=None):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = bool(nesterov)
        self.power_t = power_t
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.moment_1 = np.zeros(n_params, dtype=dtype)

    @contextlib.contextmanager
    def kernel_state(self):
        """train_epoch's optimizer arguments: (step state, velocities, None).

        The kernel updates the velocities in place.  The rate changes only
        between epochs (the schedule), so nothing is adopted afterwards.
        """
        step = _kernels.StepState.sgd(self.learning_rate, self.momentum, self.nesterov,
                                      **_step_rules(self))
        yield step, self.moment_1, None

    def epoch_begins(self, epoch, max_iter):
        """Apply the schedule before epoch ``epoch`` (0-based) of ``max_iter``."""
        self.learning_rate = SCHEDULES[self.lr_schedule].rate_at_epoch_start(
            self.learning_rate_init, self.learning_rate, epoch, max_iter)

    def iteration_ends(self, time_step):
        """Apply the schedule after an epoch; ``time_step`` is samples seen."""
        self.learning_rate = SCHEDULES[self.lr_schedule].rate_after_epoch(
            self.learning_rate_init, self.learning_rate, time_step, self.power_t)

    def trigger_stopping(self, msg, verbose):
        """Decide whether training stops after ``n_iter_no_change`` idle epochs.

        The adaptive schedule divides the rate by 5 instead, until it drops
        to 1e-6.
        """
        new_rate, message = SCHEDULES[self.lr_schedule].after_stall(self.learning_rate)
        if verbose:
            print(msg + message)
        if new_rate is None:
            return True
        self.learning_rate = new_rate
        return False


class AdamOptimizer:
    """Adam (Kingma and Ba, 2014).

    Parameters
    ----------
    n_params : int
    dtype : numpy dtype of the parameters
    learning_rate_init, beta_1, beta_2, epsilon : float
    lr_schedule : str, default='constant'
        A schedule of ``mlpfast._schedules.SCHEDULES``; Adam follows only
        those that drive it ('cosine'), and keeps ``learning_rate_init``
        under scikit-learn's, as scikit-learn's Adam does.
    weight_decay : float, default=0.0
    max_grad_norm : float or None, default=None

    Attributes
    ----------
    t : int
        Steps taken (mini-batches), adopted from the kernel's step state
        (kernel_state).
    learning_rate : float
        The bias-corrected rate of the last step, adopted likewise.
    scheduled_rate : float
        The rate before bias correction of the coming steps:
        ``learning_rate_init``, or the schedule's rate of the epoch.
    moment_1, moment_2 : ndarray of shape (n_params,)
        First and second moment estimates, updated in place by the kernel.
    """

    name = "adam"

    def __init__(self, n_params, dtype, learning_rate_init, beta_1, beta_2, epsilon, *,
                 lr_schedule="constant", weight_decay=0.0, max_grad_norm=None):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.scheduled_rate = float(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.lr_schedule = lr_schedule
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.t = 0
        self.moment_1 = np.zeros(n_params, dtype=dtype)
        self.moment_2 = np.zeros(n_params, dtype=dtype)

    @contextlib.contextmanager
    def kernel_state(self):
        """train_epoch's optimizer arguments: (step state, moment_1, moment_2).

        The kernel updates the moments in place and advances the step state
        batch by batch; its step count and rate are adopted on leaving the
        block, also after an epoch that stopped early (Ctrl-C, zero weights).
        """
        step = _kernels.StepState.adam(self.scheduled_rate, self.learning_rate,
                                       self.beta_1, self.beta_2, self.epsilon, self.t,
                                       **_step_rules(self))
        try:
            yield step, self.moment_1, self.moment_2
        finally:
            self.t = step.t
            self.learning_rate = step.learning_rate

    def epoch_begins(self, epoch, max_iter):
        """Apply a schedule that drives Adam before epoch ``epoch`` of ``max_iter``."""
        schedule = SCHEDULES[self.lr_schedule]
        if schedule.drives_adam:
            self.scheduled_rate = schedule.rate_at_epoch_start(
                self.learning_rate_init, self.scheduled_rate, epoch, max_iter)

    def iteration_ends(self, time_step):
        """Nothing: the schedules that drive Adam set its rate at an epoch's start."""

    def trigger_stopping(self, msg, verbose):
        if verbose:
            print(msg + " Stopping.")
        return True


def _step_rules(optimizer):
    """The StepState builders' keyword arguments for the rules beyond scikit-learn's."""
    return {"weight_decay": optimizer.weight_decay, "max_grad_norm": optimizer.max_grad_norm}


def follow_step_rules(optimizer, estimator):
    """Give ``optimizer`` the estimator's ``weight_decay`` and ``max_grad_norm``.

    ``make_optimizer`` calls it, and ``mlpfast._training`` again at every
    ``fit`` and ``partial_fit``: an optimizer kept from an earlier call
    (``partial_fit``), loaded, or converted from scikit-learn's steps with
    the rules the estimator has now.
    """
    optimizer.weight_decay = estimator.weight_decay
    optimizer.max_grad_norm = estimator.max_grad_norm


def make_optimizer(estimator, n_params, dtype):
    """The optimizer that ``estimator.solver`` names, from its parameters."""
    if estimator.solver == "sgd":
        optimizer = SGDOptimizer(
            n_params, dtype, estimator.learning_rate_init, estimator.learning_rate,
            estimator.momentum, estimator.nesterovs_momentum, estimator.power_t,
        )
    else:
        optimizer = AdamOptimizer(
            n_params, dtype, estimator.learning_rate_init, estimator.beta_1,
            estimator.beta_2, estimator.epsilon, lr_schedule=estimator.learning_rate,
        )
    follow_step_rules(optimizer, estimator)
    return optimizer
