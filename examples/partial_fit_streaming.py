"""
Learning from a stream with partial_fit
=======================================

Learn from a stream of mini-batches with ``partial_fit``.

The training data arrives chunk by chunk from a generator, as it would from a
file or a queue too large to hold at once. Each chunk is one ``partial_fit``
call, and the accuracy on a fixed held-out set is printed as the model learns.

A scikit-learn ``MLPClassifier`` with the same parameters is fed the same
stream; at the end both models hold the same weights up to rounding, since
mlpfast takes the same steps as scikit-learn.
"""
import time

import numpy as np
from sklearn.datasets import make_classification
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

import mlpfast

CHUNK_ROWS = 1000
N_PASSES = 3
PARAMS = dict(hidden_layer_sizes=(64, 32), learning_rate_init=0.002, batch_size=100,
              random_state=0)


def chunk_stream(X, y, chunk_rows, n_passes):
    """Yield (X_chunk, y_chunk) pairs, ``n_passes`` times over the rows in order."""
    for _ in range(n_passes):
        for start in range(0, X.shape[0], chunk_rows):
            yield X[start:start + chunk_rows], y[start:start + chunk_rows]


def main():
    X, y = make_classification(n_samples=9000, n_features=30, n_informative=12,
                               n_classes=4, n_clusters_per_class=2, random_state=0)
    X_train, y_train, X_held_out, y_held_out = X[:8000], y[:8000], X[8000:], y[8000:]
    classes = np.unique(y)

    fast = mlpfast.MLPClassifier(**PARAMS)
    reference = SklearnMLPClassifier(**PARAMS)
    fast_seconds = reference_seconds = 0.0
    print(f"chunks of {CHUNK_ROWS} rows, {N_PASSES} passes over {X_train.shape[0]} rows")
    print("chunk  held-out accuracy")
    for index, (X_chunk, y_chunk) in enumerate(
            chunk_stream(X_train, y_train, CHUNK_ROWS, N_PASSES), start=1):
        started = time.perf_counter()
        fast.partial_fit(X_chunk, y_chunk, classes=classes)
        fast_seconds += time.perf_counter() - started
        started = time.perf_counter()
        reference.partial_fit(X_chunk, y_chunk, classes=classes)
        reference_seconds += time.perf_counter() - started
        if index % 4 == 0:
            print(f"{index:5d}  {fast.score(X_held_out, y_held_out):.4f}")

    largest_gap = max(np.abs(a - b).max() for a, b in zip(
        fast.coefs_ + fast.intercepts_, reference.coefs_ + reference.intercepts_))
    print(f"final held-out accuracy: mlpfast {fast.score(X_held_out, y_held_out):.4f}, "
          f"scikit-learn {reference.score(X_held_out, y_held_out):.4f}")
    print(f"largest difference between the two models' weights: {largest_gap:.1e}")
    print(f"time in partial_fit: mlpfast {fast_seconds:.2f} s, "
          f"scikit-learn {reference_seconds:.2f} s")


if __name__ == "__main__":
    main()
