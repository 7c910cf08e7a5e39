"""Per-call costs that epochs alone do not show: mlpfast against scikit-learn and numpy.

``python bench/call_overhead.py`` times, interleaved in one process run:

Against scikit-learn (ratio scikit-learn / mlpfast), on the digits network
(64 -> 100 -> 10, adam, float64) and, for ``partial_fit``, on
784 -> 256 -> 128 -> 10 (adam, float32 synthetic data):

* ``partial_fit 200 rows``: one call of a stream of 200-row chunks (what
  ``dask_ml.Incremental`` and online learning do);
* ``partial_fit 200 rows, classes``: the same with ``classes`` given to
  every call, as ``dask_ml``'s ``Incremental`` gives them (digits);
* ``partial_fit 200 rows, 1 thread``: the same under
  ``threadpool_limits(1)``, where neither library starts a thread (mlpfast
  runs without its helper thread);
* ``fit 1 epoch``: a whole fit of one epoch (validation, initialisation,
  threads, the epoch, the fitted attributes);
* ``early-stopping epoch``: seconds per epoch of a 30-epoch fit with
  ``early_stopping=True`` (an epoch on 90 % of the rows and a validation
  score on the rest).

Against numpy, on one row, for a model of each network (those two, the
784-wide one in float64 and 784 -> 1024 -> 1024 -> 10 in float32, whose
weights outgrow the L2 cache): ``predict`` and
``predict_proba`` against numpy's bare forward pass with the same weights
(``X @ W + b`` and the activation per layer, then softmax and argmax),
with the ratios mlpfast / numpy and the difference predict - predict_proba.

Each line gives medians over ``--repeats`` rounds (a round of ``predict``
times many calls and divides), each round after a pause that lets the
threads of the round before wind down.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits
from workloads import load_scaled_digits, synthetic_classification

CHUNK_ROWS = 200
EARLY_STOPPING_EPOCHS = 30
# Calls per round of a one-row prediction: long enough for the clock.
PREDICT_CALLS = 2000
# Pause before each round: after a threaded product, OpenBLAS's idle threads
# spin for about 0.1 s on the core the next round needs (numpy's before
# mlpfast's on 784 -> 1024 -> 1024 -> 10 made predict look 30-40 us slower
# than predict_proba, timed next).
SETTLE_SECONDS = 0.2
# name -> (estimator parameters, dtype of X: the weights' dtype)
NETWORKS = {
    "digits": (dict(hidden_layer_sizes=(100,), random_state=0), np.float64),
    "784-256-128": (dict(hidden_layer_sizes=(256, 128), random_state=0), np.float32),
    "784-256-128 f64": (dict(hidden_layer_sizes=(256, 128), random_state=0), np.float64),
    "784-1024-1024": (dict(hidden_layer_sizes=(1024, 1024), random_state=0), np.float32),
}
# The networks partial_fit is timed on (the others: one-row predictions only).
STREAM_NETWORKS = ("digits", "784-256-128")


def load_data(network):
    """(X, y) of a network: scaled digits, or 2,000 synthetic 784-feature rows."""
    if network == "digits":
        return load_scaled_digits(1797)
    return synthetic_classification(2000, n_features=784, n_classes=10,
                                    dtype=NETWORKS[network][1])


def started_stream(cls, X, y, params=None):
    """An estimator after the first partial_fit call of a stream of chunks.

    ``params``: the estimator's parameters, those of the digits network
    when None (as ``bench/test_bench_training.py`` uses it).
    """
    estimator = cls(**(NETWORKS["digits"][0] if params is None else params))
    estimator.partial_fit(X[:CHUNK_ROWS], y[:CHUNK_ROWS], classes=np.unique(y))
    return estimator


def partial_fit_calls(cls, X, y, params, calls, classes_each_call=False):
    """Seconds of each of ``calls`` partial_fit calls on 200-row chunks.

    ``classes_each_call``: pass ``classes`` to every call, as
    ``dask_ml.wrappers.Incremental`` does, not to the first alone.
    """
    estimator = started_stream(cls, X, y, params)
    more = dict(classes=np.unique(y)) if classes_each_call else {}
    seconds = []
    for call in range(calls):
        start = (call * CHUNK_ROWS) % (len(X) - CHUNK_ROWS)
        began = time.perf_counter()
        estimator.partial_fit(X[start:start + CHUNK_ROWS], y[start:start + CHUNK_ROWS], **more)
        seconds.append(time.perf_counter() - began)
    return seconds


def one_thread_partial_fit_calls(cls, X, y, params, calls):
    """partial_fit_calls under a threadpoolctl limit of one BLAS thread."""
    with threadpool_limits(limits=1, user_api="blas"):
        return partial_fit_calls(cls, X, y, params, calls)


def one_epoch_fit(cls, X, y, params):
    """Seconds of a whole fit of one epoch."""
    began = time.perf_counter()
    cls(max_iter=1, **params).fit(X, y)
    return time.perf_counter() - began


def early_stopping_epoch(cls, X, y, params):
    """Seconds per epoch of a fit with early stopping that runs all its epochs."""
    estimator = cls(max_iter=EARLY_STOPPING_EPOCHS, early_stopping=True, tol=0.0,
                    n_iter_no_change=EARLY_STOPPING_EPOCHS, **params)
    began = time.perf_counter()
    estimator.fit(X, y)
    return (time.perf_counter() - began) / estimator.n_iter_


def numpy_forward_predict(coefs, intercepts, classes):
    """Numpy's bare forward pass with the given weights (ReLU hidden layers,
    softmax output), then argmax: the predicted labels of X."""
    def predict(X):
        activations = X
        for coef, intercept in zip(coefs[:-1], intercepts[:-1]):
            activations = np.maximum(activations @ coef + intercept, 0)
        logits = activations @ coefs[-1] + intercepts[-1]
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        proba = exp / exp.sum(axis=1, keepdims=True)
        return classes[proba.argmax(axis=1)]
    return predict


def seconds_per_call(function, row):
    """Seconds per call of ``function(row)`` over PREDICT_CALLS calls."""
    began = time.perf_counter()
    for _ in range(PREDICT_CALLS):
        function(row)
    return (time.perf_counter() - began) / PREDICT_CALLS


def compare_with_sklearn(implementations, data, repeats):
    measurements = {
        "partial_fit 200 rows": (
            STREAM_NETWORKS,
            lambda cls, X, y, params: np.median(partial_fit_calls(cls, X, y, params, 50))),
        "partial_fit 200 rows, classes": (
            ("digits",),
            lambda cls, X, y, params: np.median(
                partial_fit_calls(cls, X, y, params, 50, classes_each_call=True))),
        "partial_fit 200 rows, 1 thread": (
            STREAM_NETWORKS,
            lambda cls, X, y, params: np.median(
                one_thread_partial_fit_calls(cls, X, y, params, 50))),
        "fit 1 epoch": (("digits",), one_epoch_fit),
        "early-stopping epoch": (("digits",), early_stopping_epoch),
    }
    print(f"{'measurement':31s} {'network':15s} {'mlpfast ms':>11s} {'sklearn ms':>11s} "
          f"{'x sklearn':>10s}")
    for name, (networks, measure) in measurements.items():
        for network in networks:
            X, y = data[network]
            seconds = {impl: [] for impl in implementations}
            for _ in range(repeats):
                for impl, cls in implementations.items():
                    time.sleep(SETTLE_SECONDS)
                    seconds[impl].append(measure(cls, X, y, NETWORKS[network][0]))
            fast, reference = (np.median(seconds[impl]) for impl in implementations)
            print(f"{name:31s} {network:15s} {fast * 1e3:11.3f} {reference * 1e3:11.3f} "
                  f"{reference / fast:9.2f}x")


def compare_with_numpy(cls, data, repeats):
    print(f"\n{'one-row prediction':18s} {'network':15s} {'numpy us':>9s} {'predict us':>11s} "
          f"{'proba us':>9s} {'predict/numpy':>14s} {'proba/numpy':>12s} "
          f"{'predict-proba us':>17s}")
    for network, (params, _) in NETWORKS.items():
        X, y = data[network]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = cls(max_iter=2, **params).fit(X[:1000], y[:1000])
        row = np.ascontiguousarray(X[:1])
        ways = {
            "numpy": numpy_forward_predict(model.coefs_, model.intercepts_, model.classes_),
            "predict": model.predict,
            "proba": model.predict_proba,
        }
        assert ways["numpy"](X[:50]).tolist() == model.predict(X[:50]).tolist()
        seconds = {way: [] for way in ways}
        for _ in range(repeats):
            for way, function in ways.items():
                time.sleep(SETTLE_SECONDS)
                seconds[way].append(seconds_per_call(function, row))
        numpy_s, predict_s, proba_s = (np.median(seconds[way]) for way in ways)
        print(f"{'':18s} {network:15s} {numpy_s * 1e6:9.2f} {predict_s * 1e6:11.2f} "
              f"{proba_s * 1e6:9.2f} {predict_s / numpy_s:14.2f} {proba_s / numpy_s:12.2f} "
              f"{(predict_s - proba_s) * 1e6:17.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="rounds per measurement")
    args = parser.parse_args()

    import sklearn.neural_network
    from runners import import_mlpfast

    implementations = {"mlpfast": import_mlpfast().MLPClassifier,
                       "sklearn": sklearn.neural_network.MLPClassifier}
    data = {network: load_data(network) for network in NETWORKS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        compare_with_sklearn(implementations, data, args.repeats)
    compare_with_numpy(implementations["mlpfast"], data, args.repeats)


if __name__ == "__main__":
    main()
