"""BLAS thread policy for training.

A threaded BLAS call only pays when the product is large: on small layers
the second thread costs more to wake than it saves, and it stalls badly when
the other core is busy (measured here: 20 adam epochs on digits, batch 200,
64 -> 100 -> 10, took 29 ms/epoch with 2 BLAS threads on a loaded machine
and 2.9 ms/epoch with 1).  So training whose largest per-batch product is
below ``SINGLE_THREAD_MAX_MACS`` multiply-adds runs BLAS on one thread.
Larger networks keep whatever limit is in force, so limits that users set
with threadpoolctl are respected; this policy only ever lowers the count.
mlpfast starts no threads of its own.
"""
import contextlib

from threadpoolctl import ThreadpoolController

SINGLE_THREAD_MAX_MACS = 1 << 23

_controller = None


def _blas_controller():
    # Built on first use, once scipy's BLAS is loaded; inspecting the
    # loaded libraries costs about 0.3 ms, limiting through it about 10 us.
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


def largest_product_macs(layer_units, n_rows):
    """Multiply-adds of the largest matrix product in a pass over n_rows rows."""
    return max(n_rows * fan_in * fan_out
               for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]))


def blas_threads_for(layer_units, n_rows):
    """Context manager applying the thread policy to products of n_rows rows."""
    if largest_product_macs(layer_units, n_rows) < SINGLE_THREAD_MAX_MACS:
        return _blas_controller().limit(limits=1, user_api="blas")
    return contextlib.nullcontext()
