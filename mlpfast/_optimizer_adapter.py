"""Optimizer state translated between mlpfast and scikit-learn.

Both libraries keep the same optimizer state between ``partial_fit`` calls;
only its layout differs:

=================  ===========================  ==================================
state              mlpfast (``_solvers``)       scikit-learn (``_stochastic_optimizers``)
=================  ===========================  ==================================
SGD velocities     ``moment_1``, one flat       ``velocities``, one array per
                   vector in the network's      coefficient matrix then one per
                   parameter layout             intercept vector
Adam moments       ``moment_1``, ``moment_2``   ``ms``, ``vs`` (same per-layer lists)
Adam step count    ``t``                        ``t``
current rate       ``learning_rate``            ``learning_rate``
hyperparameters    ``learning_rate_init``, ``lr_schedule``, ``momentum``,
                   ``nesterov``, ``power_t`` (SGD); ``beta_1``, ``beta_2``,
                   ``epsilon`` (Adam): the same names in both
=================  ===========================  ==================================

scikit-learn's optimizers are private classes. This module is the only place
that touches them: it reads and writes exactly the attributes above, and
raises :class:`OptimizerStateError` when an optimizer does not have them
with the expected shapes (another scikit-learn version, say), so that the
caller can drop the state instead of training on garbage.
"""
import numpy as np
from sklearn.neural_network import _stochastic_optimizers as _sklearn_optimizers

from mlpfast import _solvers
from mlpfast._schedules import sklearn_schedule

_SGD_SETTINGS = ("learning_rate_init", "lr_schedule", "momentum", "nesterov", "power_t")
_ADAM_SETTINGS = ("learning_rate_init", "beta_1", "beta_2", "epsilon")


class OptimizerStateError(ValueError):
    """An optimizer whose state cannot be translated."""


def optimizer_to_sklearn(optimizer, layout, params):
    """scikit-learn's optimizer holding the state of an mlpfast optimizer.

    Parameters
    ----------
    optimizer : mlpfast._solvers.SGDOptimizer or mlpfast._solvers.AdamOptimizer
    layout : mlpfast._network.NetworkLayout
        The layout of the optimizer's flat moment vectors.
    params : list of ndarray
        The scikit-learn estimator's ``coefs_ + intercepts_``; only their
        shapes and dtypes are used.

    Returns
    -------
    sklearn.neural_network._stochastic_optimizers.SGDOptimizer or AdamOptimizer
        Owns copies of the moments.
    """
    name = getattr(optimizer, "name", None)
    if name == "sgd":
        settings = _read_settings(optimizer, _SGD_SETTINGS)
        # As the converted estimator's learning_rate (mlpfast._interop).
        settings["lr_schedule"] = sklearn_schedule(settings["lr_schedule"])
        converted = _sklearn_optimizers.SGDOptimizer(params, **settings)
        converted.velocities = _per_layer_copies(optimizer.moment_1, layout)
    elif name == "adam":
        settings = _read_settings(optimizer, _ADAM_SETTINGS)
        converted = _sklearn_optimizers.AdamOptimizer(params, **settings)
        converted.t = int(optimizer.t)
        converted.ms = _per_layer_copies(optimizer.moment_1, layout)
        converted.vs = _per_layer_copies(optimizer.moment_2, layout)
    else:
        raise OptimizerStateError(f"unknown mlpfast optimizer {type(optimizer).__name__}")
    converted.learning_rate = float(optimizer.learning_rate)
    return converted


def optimizer_from_sklearn(optimizer, layout, dtype):
    """mlpfast's optimizer holding the state of a scikit-learn optimizer.

    Parameters
    ----------
    optimizer : sklearn.neural_network._stochastic_optimizers.SGDOptimizer or AdamOptimizer
    layout : mlpfast._network.NetworkLayout
        The layout of the network the optimizer trains.
    dtype : numpy dtype
        The dtype of the network's parameters; the kernels need the moments
        in the same dtype.

    Returns
    -------
    mlpfast._solvers.SGDOptimizer or mlpfast._solvers.AdamOptimizer

    Raises
    ------
    OptimizerStateError
        When the optimizer lacks an expected attribute or its moment arrays
        do not fit the network.
    """
    # Subclass checks would accept subclasses with other state; exact types only.
    if type(optimizer) is _sklearn_optimizers.SGDOptimizer:
        settings = _read_settings(optimizer, _SGD_SETTINGS)
        converted = _solvers.SGDOptimizer(layout.n_params, dtype, **settings)
        converted.moment_1[...] = _flat_copy(optimizer, "velocities", layout, dtype)
    elif type(optimizer) is _sklearn_optimizers.AdamOptimizer:
        settings = _read_settings(optimizer, _ADAM_SETTINGS)
        converted = _solvers.AdamOptimizer(layout.n_params, dtype, **settings)
        converted.t = int(_read_attribute(optimizer, "t"))
        converted.moment_1[...] = _flat_copy(optimizer, "ms", layout, dtype)
        converted.moment_2[...] = _flat_copy(optimizer, "vs", layout, dtype)
    else:
        raise OptimizerStateError(
            f"unknown scikit-learn optimizer {type(optimizer).__name__}")
    converted.learning_rate = float(_read_attribute(optimizer, "learning_rate"))
    return converted


def _read_attribute(optimizer, name):
    try:
        return getattr(optimizer, name)
    except AttributeError:
        raise OptimizerStateError(
            f"{type(optimizer).__name__} has no attribute {name!r}") from None


def _read_settings(optimizer, names):
    return {name: _read_attribute(optimizer, name) for name in names}


def _per_layer_copies(flat, layout):
    """The flat moment vector as owned per-layer arrays, coefficients first."""
    views = layout.coef_views(flat) + layout.intercept_views(flat)
    return [view.copy() for view in views]


def _flat_copy(optimizer, name, layout, dtype):
    """A per-layer moment list of a scikit-learn optimizer as one flat vector."""
    arrays = _read_attribute(optimizer, name)
    n_layers = layout.n_weight_layers
    expected_shapes = (
        [(fan_in, fan_out) for fan_in, fan_out in zip(layout.layer_units[:-1],
                                                      layout.layer_units[1:])]
        + [(fan_out,) for fan_out in layout.layer_units[1:]]
    )
    shapes = [np.shape(array) for array in arrays]
    if shapes != expected_shapes:
        raise OptimizerStateError(
            f"{type(optimizer).__name__}.{name} has arrays of shapes {shapes}, "
            f"the network needs {expected_shapes}"
        )
    return layout.pack(arrays[:n_layers], arrays[n_layers:], dtype)
