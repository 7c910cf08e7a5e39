"""Stochastic solvers: optimizer state and learning-rate schedules.

The kernels in ``mlpfast._kernels`` take an optimizer's step state
(``kernel_state``) and update it at every step; between epochs ``mlpfast._training``
calls its schedule (``iteration_ends``) and, after epochs without
improvement, ``trigger_stopping``. The epoch driver itself
(``EpochRunner``) is in ``mlpfast._training``.
"""
import contextlib

import numpy as np

from mlpfast import _kernels


class SGDOptimizer:
    """Stochastic gradient descent with momentum and an optional schedule.

    Parameters
    ----------
    n_params : int
    dtype : numpy dtype of the parameters
    learning_rate_init : float
    lr_schedule : {'constant', 'invscaling', 'adaptive'}
    momentum : float
    nesterov : bool
    power_t : float

    Attributes
    ----------
    learning_rate : float
        The rate of the next epoch.
    moment_1 : ndarray of shape (n_params,)
        The velocities, updated in place by the kernel.
    """

    name = "sgd"

    def __init__(self, n_params, dtype, learning_rate_init, lr_schedule, momentum,
                 nesterov, power_t):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = bool(nesterov)
        self.power_t = power_t
        self.moment_1 = np.zeros(n_params, dtype=dtype)

    @contextlib.contextmanager
    def kernel_state(self):
        """train_epoch's optimizer arguments: (step state, velocities, None).

        The kernel updates the velocities in place.  The rate changes only
        between epochs (the schedule), so nothing is adopted afterwards.
        """
        step = _kernels.StepState.sgd(self.learning_rate, self.momentum, self.nesterov)
        yield step, self.moment_1, None

    def iteration_ends(self, time_step):
        """Apply the schedule after an epoch; ``time_step`` is samples seen."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg, verbose):
        """Decide whether training stops after ``n_iter_no_change`` idle epochs.

        The adaptive schedule divides the rate by 5 instead, until it drops
        to 1e-6.
        """
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


class AdamOptimizer:
    """Adam (Kingma and Ba, 2014).

    Attributes
    ----------
    t : int
        Steps taken (mini-batches), adopted from the kernel's step state
        (kernel_state).
    learning_rate : float
        The bias-corrected rate of the last step, adopted likewise.
    moment_1, moment_2 : ndarray of shape (n_params,)
        First and second moment estimates, updated in place by the kernel.
    """

    name = "adam"

    def __init__(self, n_params, dtype, learning_rate_init, beta_1, beta_2, epsilon):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
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
        step = _kernels.StepState.adam(self.learning_rate_init, self.learning_rate,
                                       self.beta_1, self.beta_2, self.epsilon, self.t)
        try:
            yield step, self.moment_1, self.moment_2
        finally:
            self.t = step.t
            self.learning_rate = step.learning_rate

    def iteration_ends(self, time_step):
        """Adam has no schedule between epochs."""

    def trigger_stopping(self, msg, verbose):
        if verbose:
            print(msg + " Stopping.")
        return True


def make_optimizer(estimator, n_params, dtype):
    """The optimizer that ``estimator.solver`` names, from its parameters."""
    if estimator.solver == "sgd":
        return SGDOptimizer(
            n_params, dtype, estimator.learning_rate_init, estimator.learning_rate,
            estimator.momentum, estimator.nesterovs_momentum, estimator.power_t,
        )
    return AdamOptimizer(
        n_params, dtype, estimator.learning_rate_init, estimator.beta_1,
        estimator.beta_2, estimator.epsilon,
    )
