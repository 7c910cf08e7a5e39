"""BLAS thread policy for training.

A threaded BLAS call pays only when the product is large and the other cores
are free.  On small layers the second thread costs more to wake than it
saves, and whenever another process keeps a core busy, OpenBLAS's threads
spin waiting for each other and a product takes many times longer (measured
here, 2 cores: 20 adam epochs on digits, 64 -> 100 -> 10, batch 200, took
29 ms/epoch with 2 BLAS threads on a loaded machine and 2.9 ms/epoch with 1;
a 784 -> 256 -> 128 -> 10 float32 fit, batch 256, went from 0.08 s/epoch on
an idle machine to 1.2 s/epoch with the other core busy).

So:

- training whose largest per-batch product is below
  ``SINGLE_THREAD_MAX_MACS`` multiply-adds runs BLAS on one thread;
- for larger products, one product of the real shape is timed on one thread
  and on the threads in force, and the faster setting is kept for
  ``DECISION_SECONDS`` (a grid search or a ``partial_fit`` stream does not
  pay for the probe at every call).

Either way the count is only ever lowered, so limits that users set with
threadpoolctl are respected.  mlpfast starts no threads of its own.
"""
import contextlib
import time

import numpy as np
from scipy.linalg import blas as scipy_blas
from threadpoolctl import ThreadpoolController

SINGLE_THREAD_MAX_MACS = 1 << 23
DECISION_SECONDS = 10.0
PROBE_REPEATS = 3

_controller = None
# (shape, dtype) -> (time of the decision, whether threads paid off)
_decisions = {}


def _blas_controller():
    # Built on first use, once scipy's BLAS is loaded; inspecting the
    # loaded libraries costs about 0.3 ms, limiting through it about 10 us.
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


def _largest_product(layer_units, n_rows):
    """(m, k, n) of the largest product in a pass over n_rows rows."""
    return max(((n_rows, fan_in, fan_out)
                for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:])),
               key=lambda shape: shape[0] * shape[1] * shape[2])


def _best_time(gemm, a, b, repeats):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        gemm(1.0, a, b)
        best = min(best, time.perf_counter() - start)
    return best


def _threads_pay_off(shape, dtype):
    """Time one product of this shape with one thread and with the threads in force."""
    m, k, n = shape
    gemm = scipy_blas.sgemm if dtype == np.float32 else scipy_blas.dgemm
    # Fortran order: scipy's BLAS wrappers would copy C-ordered operands.
    # The values do not matter for the time (0.5: no denormals), and filled
    # arrays take no temporary memory, unlike random draws.
    a = np.full((m, k), 0.5, dtype=dtype, order="F")
    b = np.full((k, n), 0.5, dtype=dtype, order="F")
    gemm(1.0, a, b)  # warm up: page in the operands, wake the pool
    threaded = _best_time(gemm, a, b, PROBE_REPEATS)
    with _blas_controller().limit(limits=1, user_api="blas"):
        single = _best_time(gemm, a, b, PROBE_REPEATS)
    return threaded < single


def blas_threads_for(layer_units, n_rows, dtype):
    """Context manager applying the thread policy to products of n_rows rows.

    Parameters
    ----------
    layer_units : sequence of int
        Layer widths, input first.
    n_rows : int
        Rows per product (the batch size, or the chunk of a full pass).
    dtype : numpy dtype of the products
    """
    shape = _largest_product(layer_units, n_rows)
    if shape[0] * shape[1] * shape[2] >= SINGLE_THREAD_MAX_MACS:
        key = (shape, np.dtype(dtype).str)
        decided_at, threads_pay = _decisions.get(key, (-np.inf, False))
        if time.monotonic() - decided_at > DECISION_SECONDS:
            threads_pay = _threads_pay_off(shape, dtype)
            _decisions[key] = (time.monotonic(), threads_pay)
        if threads_pay:
            return contextlib.nullcontext()
    return _blas_controller().limit(limits=1, user_api="blas")
