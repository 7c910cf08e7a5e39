"""Stochastic solvers: optimizer state and the epoch driver.

Everything that happens inside an epoch runs in ``mlpfast._kernels``; this
module keeps what happens between epochs (shuffling, learning-rate
schedules) and the state that lives across them.
"""
import contextlib

import numpy as np

from mlpfast import _kernels
from mlpfast._threads import call_kernel


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
    helper_threads : mlpfast._threads.HelperThreadChoice or None
        Decides, call by call, whether the kernel adds a second thread
        (None: never), and is told how long each call took; a call is an
        epoch, or a few of its batches while the choice times both ways.
    """

    def __init__(self, network, X, Y, sample_weight, batch_size, shuffle_rows,
                 helper_threads=None):
        self.network = network
        self.X = X
        self.Y = Y
        self.sample_weight = sample_weight
        self.batch_size = batch_size
        self.shuffle_rows = shuffle_rows
        self.helper_threads = helper_threads
        self.sample_order = np.arange(X.shape[0], dtype=np.intp)

    def run_epoch(self, params, optimizer, random_state):
        """One pass over the data; returns scikit-learn's epoch loss.

        ``random_state`` is a ``numpy.random.RandomState``.
        """
        if self.shuffle_rows:
            # sklearn.utils.shuffle permutes np.arange(n) in place with the
            # random state and indexes with it; the same swaps made on the
            # order itself give the same order, without the argument
            # validation that cost a tenth of a digits-sized epoch.
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
                    rows=(start, stop), loss_sum=loss_sum,
                )
            start = stop
        return loss_sum / n_rows
