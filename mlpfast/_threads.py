"""Thread policy for training.

BLAS runs on one thread while mlpfast trains (``single_blas_thread``), and
the second core, when there is one, is used by a thread of training's own
(``HelperThreadChoice``): every mini-batch of at least 32 rows, and every
chunk of the L-BFGS full-data pass, is computed as two halves, always (the
result does not depend on the threads), and the halves run on two threads.

Splitting the whole batch beats letting BLAS split each product: it also
shares the element-wise work and the optimizer step, and the threads meet
twice per batch instead of at every product.  Measured here (2 cores, per
epoch): 784 -> 1024 -> 1024 -> 10 float32, batch 512: 388 ms with
OpenBLAS's two threads, 215 ms with the halves on two threads;
784 -> 256 -> 128 -> 10 float32, batch 256: 201 ms and 155 ms;
64 -> 100 -> 10 on digits, batch 200: 1.53 ms on one thread, 1.18 ms on
two.  It also keeps results reproducible: OpenBLAS's threaded products
round differently from its one-thread products (784-deep products differ
in the last bits), so a fit that let BLAS pick threads by load would not
give the same weights twice.

Whether the second thread pays depends on the batch (a 32-row batch is too
little work to share) and on what else the machine is doing: a waiting
thread polls, and when another process holds the other core the halves
wait for each other.  So calls are timed with and without the helper, and
the faster choice is kept for ``DECISION_SECONDS`` before both are timed
again.  The helper is never used under a threadpoolctl limit of one BLAS
thread (so ``threadpool_limits(1)`` around a fit, or a joblib worker with
one thread, keeps training on one thread), while another fit of this
process is running, or on one core.  mlpfast uses no OpenMP.
"""
import contextlib
import os
import threading
import time

import numpy as np
from threadpoolctl import ThreadpoolController

from mlpfast import _kernels

DECISION_SECONDS = 10.0

_controller = None
# (layer units, rows per call, dtype) -> {uses helper thread: (time, s per row)}
_helper_thread_timings = {}


def _blas_controller():
    # Built on first use, once scipy's BLAS is loaded; inspecting the
    # loaded libraries costs about 0.3 ms, limiting through it about 10 us.
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


_single_thread_lock = threading.Lock()
_single_thread_users = 0
_single_thread_limiter = None


@contextlib.contextmanager
def single_blas_thread():
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


@contextlib.contextmanager
def training_threads(choice):
    """The threads of one fit: BLAS on one thread, and ``choice``'s helper
    thread (a HelperThreadChoice, or None) ended when the fit ends."""
    try:
        with single_blas_thread():
            yield
    finally:
        if choice is not None:
            choice.close()


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
    """Whether each kernel call runs its halves on two threads.

    Parameters
    ----------
    key : hashable
        What the timings are kept under: the same network, rows per call and
        dtype share them across fits (a ``partial_fit`` stream times each
        choice once per ``DECISION_SECONDS``, not once per call).
    """

    def __init__(self, key):
        self._timings = _helper_thread_timings.setdefault(key, {})
        self._thread = None

    def thread(self):
        """The helper thread, started on first use and kept until ``close``."""
        if self._thread is None:
            self._thread = _kernels.HelperThread()
        return self._thread

    def close(self):
        """End the helper thread, if one was started."""
        if self._thread is not None:
            self._thread.close()
            self._thread = None

    @classmethod
    def for_training(cls, layer_units, n_rows, dtype):
        """The choice for calls over n_rows rows at a time, or None when ruled out.

        Call it before entering ``single_blas_thread``.  The helper is ruled
        out for batches too small to be split in halves, under a threadpoolctl
        limit of one BLAS thread (another fit running in this process sets
        one too), and on one core.
        """
        if (n_rows < _kernels.MIN_SPLIT_BATCH_ROWS or _usable_cores() < 2
                or _blas_thread_limit() < 2):
            return None
        return cls((tuple(layer_units), n_rows, np.dtype(dtype).str))

    def use_helper(self):
        """True to run the next call on two threads."""
        now = time.monotonic()
        for choice in (True, False):
            timed_at, _ = self._timings.get(choice, (-np.inf, None))
            if now - timed_at > DECISION_SECONDS:
                return choice
        return self._timings[True][1] <= self._timings[False][1]

    def record(self, used_helper, seconds, n_rows):
        """Keep the time of a call over n_rows rows run with or without the helper."""
        self._timings[used_helper] = (time.monotonic(), seconds / n_rows)


def call_kernel(choice, kernel, n_rows, *args):
    """``kernel(*args, helper_thread=...)``, as ``choice`` decides, timed for it.

    The helper thread is ``choice.thread()`` or None.

    Parameters
    ----------
    choice : HelperThreadChoice or None
        None runs the kernel on this thread alone.
    kernel : callable
        A kernel of mlpfast._kernels taking ``helper_thread``.
    n_rows : int
        Rows the call computes (the timings are per row).
    """
    if choice is None:
        return kernel(*args)
    use_helper = choice.use_helper()
    started = time.perf_counter()
    result = kernel(*args, helper_thread=choice.thread() if use_helper else None)
    choice.record(use_helper, time.perf_counter() - started, n_rows)
    return result
