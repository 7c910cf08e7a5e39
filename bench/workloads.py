"""Workload definitions shared by ``compare.py`` and the pytest-benchmark suite.

A workload is a data set, a network shape and the estimator hyper-parameters,
in three sizes: ``full`` (``python bench/compare.py``), ``quick``
(``--quick``) and ``small`` (``pytest bench/``). Data are synthetic and seeded
(no download) except ``digits``, which scikit-learn ships.

Every fit runs a fixed number of epochs: ``max_iter=epochs, tol=0`` and
``n_iter_no_change=epochs`` so that no early stop cuts a timing short.
"""

import argparse
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import numpy as np
from sklearn.datasets import load_digits

RANDOM_STATE = 0
DATA_SEED = 0


@dataclass(frozen=True)
class Sizes:
    """One integer per run mode.

    Parameters
    ----------
    full, quick, small : int
        Value for ``compare.py``, ``compare.py --quick`` and ``pytest bench/``.
    """

    full: int
    quick: int
    small: int

    def pick(self, mode):
        """Return the value for ``mode``: "full", "quick" or "small"."""
        return getattr(self, mode)


@dataclass(frozen=True)
class Workload:
    """A benchmark workload.

    Parameters
    ----------
    name : str
        Short identifier used by ``--only`` and in the reports.
    description : str
        One line for humans: shape, solver, dtype.
    task : {"classification", "regression"}
        Selects ``MLPClassifier`` or ``MLPRegressor``.
    make_data : callable
        ``make_data(n_rows) -> (X, y)``.
    rows : Sizes
        Number of training rows per mode.
    epochs : Sizes
        Number of epochs (L-BFGS: iterations) per mode.
    params : dict
        Estimator hyper-parameters other than the stopping rule.
    """

    name: str
    description: str
    task: str
    make_data: Callable[[int], tuple]
    rows: Sizes
    epochs: Sizes
    params: dict = field(default_factory=dict)


def load_scaled_digits(n_rows):
    """Return the first ``n_rows`` digits images scaled to [0, 1] and labels.

    Parameters
    ----------
    n_rows : int
        Number of rows (at most 1797).

    Returns
    -------
    X : ndarray of shape (n_rows, 64), float64
    y : ndarray of shape (n_rows,), int
    """
    X, y = load_digits(return_X_y=True)
    return X[:n_rows] / 16.0, y[:n_rows]


def random_teacher_outputs(X, n_outputs, rng):
    """Outputs of a random one-hidden-layer tanh network applied to ``X``.

    Gives synthetic data a learnable, non-linear structure.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
    n_outputs : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of shape (n_rows, n_outputs)
    """
    n_features = X.shape[1]
    hidden = rng.standard_normal((n_features, 32), dtype=X.dtype) / np.sqrt(n_features)
    readout = rng.standard_normal((32, n_outputs), dtype=X.dtype)
    return np.tanh(X @ hidden) @ readout


def synthetic_classification(n_rows, n_features, n_classes, dtype):
    """Seeded Gaussian features with labels from a random teacher network.

    The float32 and float64 versions hold the same values (the data are drawn
    in float32 and cast).

    Parameters
    ----------
    n_rows, n_features, n_classes : int
    dtype : numpy dtype
        dtype of the returned ``X``.

    Returns
    -------
    X : ndarray of shape (n_rows, n_features)
    y : ndarray of shape (n_rows,), int64
    """
    rng = np.random.default_rng(DATA_SEED)
    X = rng.standard_normal((n_rows, n_features), dtype=np.float32)
    logits = random_teacher_outputs(X, n_classes, rng)
    logits += 0.3 * rng.standard_normal(logits.shape, dtype=np.float32)
    return X.astype(dtype, copy=False), logits.argmax(axis=1)


def synthetic_regression(n_rows, n_features, dtype):
    """Seeded Gaussian features with a standardised non-linear noisy target.

    Parameters
    ----------
    n_rows, n_features : int
    dtype : numpy dtype

    Returns
    -------
    X : ndarray of shape (n_rows, n_features)
    y : ndarray of shape (n_rows,)
    """
    rng = np.random.default_rng(DATA_SEED)
    X = rng.standard_normal((n_rows, n_features)).astype(dtype, copy=False)
    y = random_teacher_outputs(X, 1, rng).ravel()
    y += 0.1 * rng.standard_normal(n_rows).astype(dtype, copy=False)
    return X, (y - y.mean()) / y.std()


MEDIUM_PARAMS = dict(hidden_layer_sizes=(256, 128), solver="adam", batch_size=256)

WORKLOADS = {
    w.name: w
    for w in (
        Workload(
            name="digits",
            description="digits 1797x64 -> 100 -> 10, adam, float64",
            task="classification",
            make_data=load_scaled_digits,
            rows=Sizes(1797, 1797, 1797),
            epochs=Sizes(100, 30, 5),
            params=dict(hidden_layer_sizes=(100,), solver="adam"),
        ),
        Workload(
            name="medium32",
            description="60000x784 -> 256 -> 128 -> 10, batch 256, adam, float32",
            task="classification",
            make_data=partial(
                synthetic_classification, n_features=784, n_classes=10, dtype=np.float32
            ),
            rows=Sizes(60_000, 10_000, 2_000),
            epochs=Sizes(5, 2, 1),
            params=MEDIUM_PARAMS,
        ),
        Workload(
            name="medium64",
            description="60000x784 -> 256 -> 128 -> 10, batch 256, adam, float64",
            task="classification",
            make_data=partial(
                synthetic_classification, n_features=784, n_classes=10, dtype=np.float64
            ),
            rows=Sizes(60_000, 10_000, 2_000),
            epochs=Sizes(3, 2, 1),
            params=MEDIUM_PARAMS,
        ),
        Workload(
            name="wide32",
            description="20000x784 -> 1024 -> 1024 -> 10, batch 512, adam, float32",
            task="classification",
            make_data=partial(
                synthetic_classification, n_features=784, n_classes=10, dtype=np.float32
            ),
            rows=Sizes(20_000, 4_000, 1_024),
            epochs=Sizes(3, 2, 1),
            params=dict(hidden_layer_sizes=(1024, 1024), solver="adam", batch_size=512),
        ),
        Workload(
            name="tiny_sgd",
            description="20000x32 -> 64 -> 64 -> 10 tanh, batch 32, sgd momentum 0.9, float64",
            task="classification",
            make_data=partial(
                synthetic_classification, n_features=32, n_classes=10, dtype=np.float64
            ),
            rows=Sizes(20_000, 5_000, 1_000),
            epochs=Sizes(10, 3, 2),
            params=dict(
                hidden_layer_sizes=(64, 64),
                activation="tanh",
                solver="sgd",
                batch_size=32,
                learning_rate_init=0.01,
                momentum=0.9,
            ),
        ),
        Workload(
            name="regression",
            description="20000x100 -> 128 -> 64 -> 1 regression, adam, float64",
            task="regression",
            make_data=partial(synthetic_regression, n_features=100, dtype=np.float64),
            rows=Sizes(20_000, 5_000, 1_000),
            epochs=Sizes(20, 5, 2),
            params=dict(hidden_layer_sizes=(128, 64), solver="adam"),
        ),
        Workload(
            name="lbfgs",
            description="digits 1797x64 -> 100 -> 10, lbfgs (per iteration), float64",
            task="classification",
            make_data=load_scaled_digits,
            rows=Sizes(1797, 1797, 1797),
            epochs=Sizes(200, 50, 10),
            params=dict(hidden_layer_sizes=(100,), solver="lbfgs"),
        ),
    )
}


def select_workloads(names=None):
    """Return workloads by name, in definition order when ``names`` is None.

    Parameters
    ----------
    names : list of str or None

    Returns
    -------
    list of Workload

    Raises
    ------
    KeyError
        If a name is unknown; the message lists the known names.
    """
    if names is None:
        return list(WORKLOADS.values())
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown:
        raise KeyError(f"unknown workload(s) {unknown}; known: {list(WORKLOADS)}")
    return [WORKLOADS[name] for name in names]


def estimator_params(workload, epochs):
    """Hyper-parameters for a fit of exactly ``epochs`` epochs (or iterations).

    Parameters
    ----------
    workload : Workload
    epochs : int

    Returns
    -------
    dict
    """
    return dict(
        workload.params,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs,
        random_state=RANDOM_STATE,
    )


def make_estimator(module, workload, epochs):
    """Build an unfitted ``MLPClassifier``/``MLPRegressor`` from ``module``.

    Parameters
    ----------
    module : module
        ``sklearn.neural_network`` or ``mlpfast``: anything exposing both classes.
    workload : Workload
    epochs : int

    Returns
    -------
    estimator
    """
    cls = module.MLPClassifier if workload.task == "classification" else module.MLPRegressor
    return cls(**estimator_params(workload, epochs))


def layer_units(workload, X, y):
    """Units per layer, input and output included, as scikit-learn builds them.

    Workloads are multi-class (one output per class) or single-target
    regression (one output).

    Parameters
    ----------
    workload : Workload
    X : ndarray of shape (n_rows, n_features)
    y : ndarray of shape (n_rows,)

    Returns
    -------
    list of int
    """
    n_outputs = 1 if workload.task == "regression" else len(np.unique(y))
    return [X.shape[1], *workload.params["hidden_layer_sizes"], n_outputs]


def effective_batch_size(workload, n_rows):
    """Rows per mini-batch as scikit-learn uses them (L-BFGS: the whole set).

    Parameters
    ----------
    workload : Workload
    n_rows : int

    Returns
    -------
    int
    """
    if workload.params["solver"] == "lbfgs":
        return n_rows
    return resolve_batch_size(workload.params.get("batch_size", "auto"), n_rows)


def resolve_batch_size(batch_size, n_rows):
    """Resolve a ``batch_size`` parameter as scikit-learn does.

    Parameters
    ----------
    batch_size : int or "auto"
    n_rows : int

    Returns
    -------
    int
        ``min(200, n_rows)`` for ``"auto"``, else ``batch_size`` clipped to
        ``[1, n_rows]``.
    """
    if batch_size == "auto":
        return min(200, n_rows)
    return max(1, min(batch_size, n_rows))


def training_flops_per_epoch(units, n_rows):
    """Floating-point operations of the GEMMs of one training epoch.

    Counts ``2*m*n*k`` per GEMM: forward ``a @ W`` for every layer, backward
    ``delta @ W.T`` for every layer but the first, and the weight gradient
    ``a.T @ delta`` for every layer.

    Parameters
    ----------
    units : list of int
        Units per layer, input and output included.
    n_rows : int
        Rows seen per epoch.

    Returns
    -------
    int
    """
    weight_sizes = [fan_in * fan_out for fan_in, fan_out in zip(units[:-1], units[1:])]
    return 2 * n_rows * (3 * sum(weight_sizes) - weight_sizes[0])


def rows_for_prediction(X, n_rows):
    """``n_rows`` rows taken cyclically from ``X`` (C-contiguous).

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
    n_rows : int

    Returns
    -------
    ndarray of shape (n_rows, n_features)
    """
    return np.ascontiguousarray(X[np.arange(n_rows) % X.shape[0]])


def workload_list(text):
    """Workloads named in a comma-separated list (an argparse type)."""
    try:
        return select_workloads(text.split(","))
    except KeyError as exc:
        raise argparse.ArgumentTypeError(exc.args[0]) from exc


def add_selection_arguments(parser, quick_help):
    """The ``--quick`` and ``--only`` options every benchmark script takes.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    quick_help : str
        What ``--quick`` makes smaller in that script.
    """
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument(
        "--only",
        type=workload_list,
        help=f"comma-separated workload names, from: {','.join(WORKLOADS)}",
    )
