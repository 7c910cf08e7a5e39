"""Learning-rate schedules: the values of the estimators' ``learning_rate``.

One entry per schedule in ``SCHEDULES``, read by parameter validation (the
options), by the optimizers of ``mlpfast._solvers`` (the rate at each epoch,
what a stall does) and by ``mlpfast._interop`` (which schedules
scikit-learn's MLP has).

scikit-learn's schedules drive SGD only; its Adam ignores ``learning_rate``.
'cosine' is mlpfast's own and drives both: for Adam it sets the rate before
bias correction (``learning_rate_init``'s role).

To add a schedule: a subclass of ``Schedule`` overriding the hooks it
needs, and an entry in ``SCHEDULES``.
"""
import math


class Schedule:
    """A learning-rate schedule: hooks the optimizers call, each a no-op here.

    Attributes
    ----------
    name : str
        The ``learning_rate`` value that selects it.
    in_sklearn : bool
        Whether scikit-learn's MLP has it.
    drives_adam : bool
        Whether Adam follows it (scikit-learn's schedules drive SGD only).
    """

    name = ""
    in_sklearn = True
    drives_adam = False

    def rate_at_epoch_start(self, rate_init, rate, epoch, max_iter):
        """The rate of epoch ``epoch`` (0-based, ``n_iter_`` at its start).

        Parameters
        ----------
        rate_init : float
            ``learning_rate_init``.
        rate : float
            The rate in force.
        epoch : int
        max_iter : int
        """
        return rate

    def rate_after_epoch(self, rate_init, rate, samples_seen, power_t):
        """The rate after an epoch, ``samples_seen`` (``t_``) samples into training."""
        return rate

    def after_stall(self, rate):
        """What ``n_iter_no_change`` epochs without improvement do.

        Returns
        -------
        new_rate : float or None
            The rate to go on with, or None: training stops.
        message : str
            What verbose training prints after the stall's own message.
        """
        return None, " Stopping."


class Constant(Schedule):
    """``learning_rate_init`` throughout."""

    name = "constant"


class InverseScaling(Schedule):
    """scikit-learn's 'invscaling': ``rate_init / (samples_seen + 1) ** power_t``
    after each epoch."""

    name = "invscaling"

    def rate_after_epoch(self, rate_init, rate, samples_seen, power_t):
        return float(rate_init) / (samples_seen + 1) ** power_t


class Adaptive(Schedule):
    """scikit-learn's 'adaptive': a stall divides the rate by 5 until it is at
    most 1e-6, and only then stops training."""

    name = "adaptive"
    SMALLEST_RATE = 1e-6

    def after_stall(self, rate):
        if rate <= self.SMALLEST_RATE:
            return None, " Learning rate too small. Stopping."
        rate /= 5.0
        return rate, " Setting learning rate to %f" % rate


class Cosine(Schedule):
    """Cosine annealing over ``max_iter`` epochs, set at the start of each epoch.

    ``rate_init * (1 + cos(pi * epoch / max_iter)) / 2`` during epoch
    ``epoch`` (0-based): PyTorch's ``CosineAnnealingLR`` in closed form with
    ``T_max = max_iter`` and ``eta_min = 0``. ``epoch`` is ``n_iter_`` at the
    epoch's start, which every ``fit`` (a warm start too) and every
    ``partial_fit`` call start at 0, as scikit-learn does: each ``fit``
    anneals anew, and ``partial_fit`` always trains at ``rate_init``.
    """

    name = "cosine"
    in_sklearn = False
    drives_adam = True

    def rate_at_epoch_start(self, rate_init, rate, epoch, max_iter):
        return rate_init * 0.5 * (1.0 + math.cos(math.pi * epoch / max_iter))


SCHEDULES = {schedule.name: schedule
             for schedule in (Constant(), InverseScaling(), Adaptive(), Cosine())}


def sklearn_schedule(name):
    """The schedule scikit-learn's MLP trains on with in place of ``name``.

    ``name`` itself where scikit-learn has it; else 'constant': a model
    converted to scikit-learn's goes on at the rate its optimizer reached.
    """
    return name if SCHEDULES[name].in_sklearn else Constant.name
