"""The implementations under comparison, behind one ``fit`` signature.

Each implementation fits a workload with ``fit(workload, X, y, epochs)`` and
returns an object with ``predict(X)``, ``n_iter_`` and ``loss_``. An
implementation that cannot be imported is returned with ``fit=None`` and the
reason, so reports can show it as n/a.
"""

import importlib
import math
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import sklearn.neural_network
from sklearn.exceptions import ConvergenceWarning
from workloads import make_estimator

IMPLEMENTATION_NAMES = ("mlpfast", "sklearn", "torch")
REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Implementation:
    """A fitter under comparison.

    Parameters
    ----------
    name : str
        One of :data:`IMPLEMENTATION_NAMES`.
    fit : callable or None
        ``fit(workload, X, y, epochs) -> fitted``; None when unavailable.
    version : str
        Version string, or "" when unavailable.
    origin : str
        Where the package was imported from, or "" when unavailable.
    unavailable : str
        Why ``fit`` is None ("" when available).
    """

    name: str
    fit: Optional[Callable]
    version: str = ""
    origin: str = ""
    unavailable: str = ""


def cgroup_cpu_limit(path="/sys/fs/cgroup/cpu.max"):
    """Cores' worth of CPU time a cgroup v2 quota allows, or None without a quota.

    Parameters
    ----------
    path : str
        The cgroup's ``cpu.max`` file: ``"<quota> <period>"`` or ``"max ..."``.

    Returns
    -------
    int or None
        The quota rounded up to whole cores (a 1.5-core quota keeps two
        threads busy part of the time).
    """
    try:
        with open(path) as limit:
            quota, period = limit.read().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def usable_cores():
    """Number of cores this process may run on.

    The affinity mask (all cores where the platform has none), lowered to a
    cgroup v2 CPU quota when there is one.
    """
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_limit()
    return cores if quota is None else min(cores, quota)


def package_dir(module):
    """Directory a package was imported from."""
    return str(Path(module.__file__).parent)


def estimator_fitter(module):
    """A ``fit`` function for a module exposing scikit-learn's MLP classes.

    Parameters
    ----------
    module : module
        ``sklearn.neural_network`` or ``mlpfast``.

    Returns
    -------
    callable
    """

    def fit(workload, X, y, epochs):
        estimator = make_estimator(module, workload, epochs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return estimator.fit(X, y)

    return fit


def import_mlpfast():
    """Import mlpfast, preferring the working tree (in-place builds) of this repo.

    Returns
    -------
    module
    """
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    return importlib.import_module("mlpfast")


def load_mlpfast():
    """The mlpfast implementation, or an unavailable one with the import error."""
    try:
        mlpfast = import_mlpfast()
        fit = estimator_fitter(mlpfast)
    except Exception as exc:  # an engine under construction may fail in any way
        return Implementation("mlpfast", None, unavailable=f"not importable: {exc!r}")
    version = getattr(mlpfast, "__version__", "?")
    return Implementation("mlpfast", fit, version=version, origin=package_dir(mlpfast))


def load_sklearn():
    """The scikit-learn implementation."""
    return Implementation(
        "sklearn",
        estimator_fitter(sklearn.neural_network),
        version=sklearn.__version__,
        origin=package_dir(sklearn),
    )


def load_torch():
    """The PyTorch reference, using as many threads as there are usable cores."""
    try:
        import torch
        import torch_reference
    except ImportError as exc:
        return Implementation("torch", None, unavailable=f"not importable: {exc!r}")
    torch.set_num_threads(usable_cores())

    def fit(workload, X, y, epochs):
        params = make_estimator(sklearn.neural_network, workload, epochs).get_params()
        return torch_reference.fit_torch(params, workload.task, X, y)

    return Implementation("torch", fit, version=torch.__version__, origin=package_dir(torch))


LOADERS = {"mlpfast": load_mlpfast, "sklearn": load_sklearn, "torch": load_torch}


def load_implementations(names=IMPLEMENTATION_NAMES):
    """Load implementations by name, in the given order.

    Parameters
    ----------
    names : sequence of str

    Returns
    -------
    list of Implementation
    """
    return [LOADERS[name]() for name in names]
