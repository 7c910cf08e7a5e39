"""Per-call costs that epochs alone do not show: mlpfast against scikit-learn.

``python bench/call_overhead.py`` times, interleaved in one process run, on
the digits network (64 -> 100 -> 10, adam, float64):

* ``partial_fit 200 rows``: one call of a stream of 200-row chunks;
* ``fit 1 epoch``: a whole fit of one epoch (validation, initialisation,
  threads, the epoch, the fitted attributes);
* ``early-stopping epoch``: seconds per epoch of a 30-epoch fit with
  ``early_stopping=True`` (an epoch on 90 % of the rows and a validation
  score on the rest).

Each line gives medians over ``--repeats`` rounds and the ratio
scikit-learn / mlpfast.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from workloads import load_scaled_digits

CHUNK_ROWS = 200
EARLY_STOPPING_EPOCHS = 30
NETWORK = dict(hidden_layer_sizes=(100,), random_state=0)


def started_stream(cls, X, y):
    """An estimator after the first partial_fit call of a stream of chunks."""
    estimator = cls(**NETWORK)
    estimator.partial_fit(X[:CHUNK_ROWS], y[:CHUNK_ROWS], classes=np.unique(y))
    return estimator


def partial_fit_calls(cls, X, y, calls):
    """Seconds of each of ``calls`` partial_fit calls on 200-row chunks."""
    estimator = started_stream(cls, X, y)
    seconds = []
    for call in range(calls):
        start = (call * CHUNK_ROWS) % (len(X) - CHUNK_ROWS)
        began = time.perf_counter()
        estimator.partial_fit(X[start:start + CHUNK_ROWS], y[start:start + CHUNK_ROWS])
        seconds.append(time.perf_counter() - began)
    return seconds


def one_epoch_fit(cls, X, y):
    """Seconds of a whole fit of one epoch."""
    began = time.perf_counter()
    cls(max_iter=1, **NETWORK).fit(X, y)
    return time.perf_counter() - began


def early_stopping_epoch(cls, X, y):
    """Seconds per epoch of a fit with early stopping that runs all its epochs."""
    estimator = cls(max_iter=EARLY_STOPPING_EPOCHS, early_stopping=True, tol=0.0,
                    n_iter_no_change=EARLY_STOPPING_EPOCHS, **NETWORK)
    began = time.perf_counter()
    estimator.fit(X, y)
    return (time.perf_counter() - began) / estimator.n_iter_


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="rounds per measurement")
    args = parser.parse_args()

    import sklearn.neural_network
    from runners import import_mlpfast

    implementations = {"mlpfast": import_mlpfast().MLPClassifier,
                       "sklearn": sklearn.neural_network.MLPClassifier}
    X, y = load_scaled_digits(1797)
    measurements = {
        "partial_fit 200 rows": lambda cls: np.median(partial_fit_calls(cls, X, y, 50)),
        "fit 1 epoch": lambda cls: one_epoch_fit(cls, X, y),
        "early-stopping epoch": lambda cls: early_stopping_epoch(cls, X, y),
    }
    print(f"{'measurement':22s} {'mlpfast ms':>11s} {'sklearn ms':>11s} {'x sklearn':>10s}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, measure in measurements.items():
            seconds = {impl: [] for impl in implementations}
            for _ in range(args.repeats):
                for impl, cls in implementations.items():
                    seconds[impl].append(measure(cls))
            fast, reference = (np.median(seconds[impl]) for impl in implementations)
            print(f"{name:22s} {fast * 1e3:11.3f} {reference * 1e3:11.3f} "
                  f"{reference / fast:9.2f}x")


if __name__ == "__main__":
    main()
