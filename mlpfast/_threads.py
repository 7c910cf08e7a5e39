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
threadpoolctl are respected.

Small products leave the second core idle, so for them training may use a
thread of its own instead (``HelperThreadChoice``): each mini-batch of at
least 32 rows is computed as two halves, always (the result does not depend
on the threads), and the halves then run on two threads.  That thread is
used only when no threadpoolctl limit holds BLAS to one thread and the
process may run on two cores; and, as whether it pays depends on what else
the machine is doing, epochs are timed with and without it and the faster
choice is kept for ``DECISION_SECONDS`` before both are timed again.
"""
import contextlib
import os
import threading
import time

import numpy as np
from scipy.linalg import blas as scipy_blas
from threadpoolctl import ThreadpoolController

from mlpfast import _kernels

SINGLE_THREAD_MAX_MACS = 1 << 23
DECISION_SECONDS = 10.0
PROBE_REPEATS = 3

_controller = None
# (shape, dtype) -> (time of the decision, whether threads paid off)
_decisions = {}
# (layer units, batch size, dtype) -> {uses helper thread: (time, s per row)}
_helper_thread_timings = {}


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
    return _single_blas_thread()


_single_thread_lock = threading.Lock()
_single_thread_users = 0
_single_thread_limiter = None


@contextlib.contextmanager
def _single_blas_thread():
    """One BLAS thread while any fit of this process is inside.

    A threadpoolctl limit restores, on exit, the counts it found on entry; two
    fits that overlap in time would restore out of order and the later one
    would leave the earlier one's limit of 1 in force for good.  So the first
    fit to enter sets the limit and the last to leave restores the counts.
    """
    global _single_thread_users, _single_thread_limiter
    with _single_thread_lock:
        if _single_thread_users == 0:
            _single_thread_limiter = _blas_controller().limit(limits=1, user_api="blas")
        _single_thread_users += 1
    try:
        yield
    finally:
        with _single_thread_lock:
            _single_thread_users -= 1
            if _single_thread_users == 0:
                _single_thread_limiter.restore_original_limits()
                _single_thread_limiter = None


def _usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def _blas_thread_limit():
    """The fewest threads any loaded BLAS may use now (threadpoolctl limits included)."""
    counts = [info["num_threads"] for info in _blas_controller().select(user_api="blas").info()]
    return min(counts, default=1)


class HelperThreadChoice:
    """Whether each training epoch runs its batch halves on two threads.

    Parameters
    ----------
    key : hashable
        What the timings are kept under: the same network, batch size and
        dtype share them across fits (a ``partial_fit`` stream times each
        choice once per ``DECISION_SECONDS``, not once per call).
    """

    def __init__(self, key):
        self._timings = _helper_thread_timings.setdefault(key, {})

    @classmethod
    def for_training(cls, layer_units, batch_size, dtype):
        """The choice for this training, or None when the helper thread is ruled out.

        It is ruled out for batches too small to be split in halves, for
        products large enough to use BLAS's own threads, under a threadpoolctl
        limit of one BLAS thread (another fit running in this process sets
        one too), and on one core.
        """
        m, k, n = _largest_product(layer_units, batch_size)
        if (batch_size < _kernels.MIN_SPLIT_BATCH_ROWS or m * k * n >= SINGLE_THREAD_MAX_MACS
                or _usable_cores() < 2 or _blas_thread_limit() < 2):
            return None
        return cls((tuple(layer_units), batch_size, np.dtype(dtype).str))

    def use_helper(self):
        """True to run the next epoch on two threads."""
        now = time.monotonic()
        for choice in (True, False):
            timed_at, _ = self._timings.get(choice, (-np.inf, None))
            if now - timed_at > DECISION_SECONDS:
                return choice
        return self._timings[True][1] <= self._timings[False][1]

    def record(self, used_helper, seconds, n_rows):
        """Keep the time of an epoch of n_rows rows run with or without the helper."""
        self._timings[used_helper] = (time.monotonic(), seconds / n_rows)
