"""Epoch time with each training rule beyond scikit-learn, as a multiple of none.

Run from anywhere::

    python bench/training_rules_epochs.py                  # medium32, digits
    python bench/training_rules_epochs.py --only medium64 --repeats 3

For each classification workload of ``workloads.py`` (its ``quick`` rows) it
times one ``_kernels.train_epoch`` (Adam, relu, the workload's network and
batch size) per rule: none, ``dropout`` 0.2 on every hidden layer,
``max_grad_norm`` (the extra pass runs whether or not it clips),
``weight_decay``, and all three. CPU seconds on one thread (BLAS limited to
one thread, no helper thread), so that the time is the work done whatever
else shares the machine. Rules alternate within each repeat; the minimum
over repeats is reported, and its ratio to no rule. The cosine schedule
sets one number per epoch and is not timed.
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
from mlpfast._network import glorot_uniform_params  # noqa: E402
from mlpfast._solvers import AdamOptimizer  # noqa: E402

RULES = {
    "none": {},
    "dropout 0.2": {"dropout": 0.2},
    "max_grad_norm": {"max_grad_norm": 1.0},
    "weight_decay": {"weight_decay": 0.01},
    "all three": {"dropout": 0.2, "max_grad_norm": 1.0, "weight_decay": 0.01},
}


def epoch_seconds(workload, repeats):
    """Minimum CPU seconds of one epoch per rule.

    Parameters
    ----------
    workload : workloads.Workload
        A classification workload.
    repeats : int

    Returns
    -------
    dict of str to float
    """
    inputs = epoch_inputs(workload)
    n_hidden = len(inputs.layout.layer_units) - 2
    net = _kernels.Network(inputs.layout, "relu", "softmax", 1e-4)
    best = {name: np.inf for name in RULES}
    with threadpool_limits(1):
        for _ in range(repeats):
            for name, rules in RULES.items():
                params = glorot_uniform_params(inputs.layout, "relu", np.random.RandomState(0),
                                               inputs.X.dtype)
                optimizer = AdamOptimizer(len(params), inputs.X.dtype, 1e-3, 0.9, 0.999, 1e-8,
                                          weight_decay=rules.get("weight_decay", 0.0),
                                          max_grad_norm=rules.get("max_grad_norm"))
                dropout = None
                if "dropout" in rules:
                    dropout = _kernels.Dropout([rules["dropout"]] * n_hidden, key=1)
                best[name] = min(best[name], epoch_cpu_seconds(net, inputs, params, optimizer,
                                                               dropout=dropout))
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="medium32,digits",
                        help="comma-separated classification workloads")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for workload_name in args.only.split(","):
        workload = WORKLOADS[workload_name]
        print_ratios(workload, epoch_seconds(workload, args.repeats), "none")


if __name__ == "__main__":
    main()
