"""What bench/activation_epochs.py and bench/training_rules_epochs.py share.

Both time single ``_kernels.train_epoch`` calls (Adam, one thread) of a
classification workload's quick rows under variants of the network or of
the training rules, and print each variant's time as a multiple of a
reference variant's.
"""

import time
from typing import NamedTuple

import numpy as np

from runners import import_mlpfast

import_mlpfast()
from mlpfast import _kernels  # noqa: E402
from mlpfast._network import NetworkLayout  # noqa: E402


class EpochInputs(NamedTuple):
    """A workload's quick rows as ``train_epoch`` takes them."""

    X: np.ndarray
    Y: np.ndarray          # one-hot uint8 labels
    layout: NetworkLayout
    batch_size: int
    order: np.ndarray      # a fixed permutation of the rows


def epoch_inputs(workload):
    """The quick rows of a classification workload, with its network and batch size."""
    X, y = workload.make_data(workload.rows.pick("quick"))
    classes = np.unique(y)
    Y = (y[:, None] == classes).astype(np.uint8)
    layout = NetworkLayout([X.shape[1], *workload.params["hidden_layer_sizes"], len(classes)])
    batch_size = min(workload.params.get("batch_size", 200), len(X))
    order = np.random.default_rng(0).permutation(len(X)).astype(np.intp)
    return EpochInputs(X, Y, layout, batch_size, order)


def epoch_cpu_seconds(network, inputs, params, optimizer, warmup_epochs=0, **options):
    """CPU seconds of one ``train_epoch`` call, after ``warmup_epochs`` untimed ones.

    ``options`` go to ``train_epoch`` (``dropout=``).
    """
    with optimizer.kernel_state() as state:
        for _ in range(warmup_epochs):
            _kernels.train_epoch(network, inputs.X, inputs.Y, inputs.order, inputs.batch_size,
                                 params, *state, **options)
        start = time.process_time()
        _kernels.train_epoch(network, inputs.X, inputs.Y, inputs.order, inputs.batch_size,
                             params, *state, **options)
        return time.process_time() - start


def print_ratios(workload, seconds, reference, name_width=14, digits=3):
    """Each variant's milliseconds and its ratio to ``reference``'s."""
    print(f"{workload.name}: {workload.description}, {workload.rows.pick('quick')} rows")
    for name, value in seconds.items():
        print(f"  {name:{name_width}s} {value * 1e3:9.2f} ms  x{value / seconds[reference]:.{digits}f}")
