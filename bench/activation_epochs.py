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
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

from runners import import_mlpfast  # noqa: E402
from workloads import WORKLOADS  # noqa: E402

import_mlpfast()
from mlpfast import _kernels  # noqa: E402
from mlpfast._activations import HIDDEN_ACTIVATIONS  # noqa: E402
from mlpfast._network import NetworkLayout, glorot_uniform_params  # noqa: E402
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
    X, y = workload.make_data(workload.rows.pick("quick"))
    classes = np.unique(y)
    Y = (y[:, None] == classes).astype(np.uint8)
    layout = NetworkLayout([X.shape[1], *workload.params["hidden_layer_sizes"], len(classes)])
    batch_size = min(workload.params.get("batch_size", 200), len(X))
    order = np.random.default_rng(0).permutation(len(X)).astype(np.intp)
    best = {name: np.inf for name in activations}
    with threadpool_limits(1):
        for _ in range(repeats):
            for name in activations:
                net = _kernels.Network(layout, name, "softmax", 1e-4)
                params = glorot_uniform_params(layout, name, np.random.RandomState(0),
                                               X.dtype)
                optimizer = AdamOptimizer(len(params), X.dtype, 1e-3, 0.9, 0.999, 1e-8)
                with optimizer.kernel_state() as state:
                    for _ in range(warmup_epochs):
                        _kernels.train_epoch(net, X, Y, order, batch_size, params, *state)
                    start = time.process_time()
                    _kernels.train_epoch(net, X, Y, order, batch_size, params, *state)
                    best[name] = min(best[name], time.process_time() - start)
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
        print(f"{workload.name}: {workload.description}, {workload.rows.pick('quick')} rows")
        for name in activations:
            ratio = seconds[name] / seconds["relu"]
            print(f"  {name:11s} {seconds[name] * 1e3:9.2f} ms  x{ratio:.2f}")


if __name__ == "__main__":
    main()
