"""
mlpfast on a dask cluster
=========================

mlpfast on a dask cluster: block-wise training and a distributed grid search.

A ``distributed.LocalCluster`` with two worker processes, listening on
127.0.0.1 only, stands in for a real cluster (point ``Client`` at a
scheduler's address instead and the rest stays the same).

1. ``dask_ml.wrappers.Incremental`` trains an ``MLPClassifier`` on a dask
   array of scikit-learn's digits, one ``partial_fit`` call per row block,
   run on the workers.  The result is checked against the same
   ``partial_fit`` calls made here on the numpy blocks.
2. scikit-learn's ``GridSearchCV`` runs its fits on the workers through
   joblib's dask backend.

The cluster is closed at the end.  Prints accuracies, the best parameters
and which worker ran how many tasks.
"""
# requires: dask distributed dask_ml
import collections
import warnings

import dask.array as da
import joblib
import numpy as np
from dask_ml.wrappers import Incremental
from distributed import Client, LocalCluster, get_task_stream
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split

from mlpfast import MLPClassifier

BLOCK_ROWS = 300
PASSES = 15
MODEL_PARAMS = {"hidden_layer_sizes": (64,), "batch_size": 50, "random_state": 0}


def tasks_per_worker(stream):
    return dict(collections.Counter(task["worker"] for task in stream.data))


def train_incrementally(X_train, y_train, classes):
    """PASSES passes of partial_fit over the row blocks, on the workers."""
    X_blocks = da.from_array(X_train, chunks=(BLOCK_ROWS, X_train.shape[1]))
    y_blocks = da.from_array(y_train, chunks=BLOCK_ROWS)
    # Blocks in their stored order, so the run can be replayed exactly below.
    incremental = Incremental(MLPClassifier(**MODEL_PARAMS), shuffle_blocks=False)
    incremental.fit(X_blocks, y_blocks, classes=classes)
    for _ in range(PASSES - 1):
        incremental.partial_fit(X_blocks, y_blocks, classes=classes)
    return incremental


def replay_in_process(X_train, y_train, classes):
    """The same partial_fit calls on the same numpy blocks, in this process."""
    model = MLPClassifier(**MODEL_PARAMS)
    for _ in range(PASSES):
        for start in range(0, len(X_train), BLOCK_ROWS):
            rows = slice(start, start + BLOCK_ROWS)
            model.partial_fit(X_train[rows], y_train[rows], classes=classes)
    return model


def main():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, random_state=0)
    classes = np.unique(y)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        print(f"scheduler {client.scheduler.address}, workers {sorted(client.run(lambda: 0))}")

        with get_task_stream(client) as stream:
            incremental = train_incrementally(X_train, y_train, classes)
        model = incremental.estimator_
        replayed = replay_in_process(X_train, y_train, classes)
        same = all(np.array_equal(ours, theirs) for ours, theirs in zip(
            model.coefs_ + model.intercepts_, replayed.coefs_ + replayed.intercepts_))
        print(f"\nIncremental: {PASSES} passes over {len(X_train)} rows in blocks of "
              f"{BLOCK_ROWS}, {model.t_} rows seen")
        print("  dask tasks (array blocks, partial_fit calls) per worker",
              tasks_per_worker(stream))
        print(f"  test accuracy {model.score(X_test, y_test):.4f}; "
              f"weights identical to the in-process replay: {same}")

        grid = {"alpha": [1e-4, 1e-2], "hidden_layer_sizes": [(32,), (64,)]}
        search = GridSearchCV(MLPClassifier(max_iter=40, random_state=0), grid, cv=3, n_jobs=-1)
        with get_task_stream(client) as stream, joblib.parallel_config(backend="dask"), \
                warnings.catch_warnings():
            # 40 epochs is short on purpose; the warning would repeat for every fit.
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X_train, y_train)
        print(f"\nGridSearchCV on the dask backend: {len(search.cv_results_['params'])} candidates "
              f"x 3 folds")
        print(f"  dask tasks (batches of fits) per worker {tasks_per_worker(stream)}")
        print(f"  best parameters {search.best_params_}, cross-validated accuracy "
              f"{search.best_score_:.4f}, test accuracy {search.score(X_test, y_test):.4f}")
    print("\ncluster closed")


if __name__ == "__main__":  # the worker processes import this file too
    main()
