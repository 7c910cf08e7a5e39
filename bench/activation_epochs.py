"""Epoch time of each hidden activation, as a multiple of relu's.

Run from anywhere::

    python bench/activation_epochs.py                       # digits, medium32
    python bench/activation_epochs.py --only medium64 --repeats 3
    python bench/activation_epochs.py --only digits --warmup-epochs 30

For each workload of ``workloads.py`` (its ``quick`` rows) it times one
``_kernels.train_epoch`` (Adam, the workload's network and batch size) per
activation, in CPU seconds on one thread: BLAS limited to one thread and no
helper thread, so that the time is the work done, whatever else shares the
machine (wall-clock fits on the 2 shared cores differ by a factor of two
from run to run). Activations alternate within each repeat; the minimum over
repeats is reported, and its ratio to relu's.

By default the epoch timed is the first, from the initial weights. Some
kernels cost more for larger pre-activations (GELU's normal distribution
takes a cheaper form for runs of values near 0, which the first epoch has
most of): ``--warmup-epochs K`` times the epoch after K untimed ones
instead.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

from epoch_timing import epoch_cpu_seconds, epoch_inputs, print_ratios  # noqa: E402
from workloads import WORKLOADS  # noqa: E402

from mlpfast import _kernels  # noqa: E402
from mlpfast._activations import HIDDEN_ACTIVATIONS  # noqa: E402
from mlpfast._network import glorot_uniform_params  # noqa: E402
from mlpfast._solvers import AdamOptimizer  # noqa: E402


def epoch_seconds(workload, activations, repeats, warmup_epochs=0):
    """Minimum CPU seconds of one epoch per activation.

    Parameters
    ----------
    workload : workloads.Workload
        A classification workload.
    activations : list of str
    repeats : int
    warmup_epochs : int, default=0
        Untimed epochs before the timed one, from the same initial weights.

    Returns
    -------
    dict of str to float
    """
    inputs = epoch_inputs(workload)
    best = {name: np.inf for name in activations}
    with threadpool_limits(1):
        for _ in range(repeats):
            for name in activations:
                net = _kernels.Network(inputs.layout, name, "softmax", 1e-4)
                params = glorot_uniform_params(inputs.layout, name, np.random.RandomState(0),
                                               inputs.X.dtype)
                optimizer = AdamOptimizer(len(params), inputs.X.dtype, 1e-3, 0.9, 0.999, 1e-8)
                best[name] = min(best[name], epoch_cpu_seconds(net, inputs, params, optimizer,
                                                               warmup_epochs))
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="digits,medium32",
                        help="comma-separated classification workloads")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup-epochs", type=int, default=0,
                        help="untimed epochs before the timed one")
    args = parser.parse_args()
    activations = ["relu"] + [name for name in HIDDEN_ACTIVATIONS if name != "relu"]
    for workload_name in args.only.split(","):
        workload = WORKLOADS[workload_name]
        seconds = epoch_seconds(workload, activations, args.repeats, args.warmup_epochs)
        print_ratios(workload, seconds, "relu", name_width=11, digits=2)


if __name__ == "__main__":
    main()
