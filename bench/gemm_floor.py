"""What BLAS alone can do on this machine: GEMM peak and per-workload GEMM floor.

The peak is a large square ``sgemm``/``dgemm`` through numpy. The floor of a
workload is the time of exactly the GEMMs one training epoch needs (same
batch size, same layer shapes, see
:func:`workloads.training_flops_per_epoch`), run back to back with
``numpy.matmul`` into preallocated ``out=`` buffers and nothing else: an
implementation calling the same BLAS for its products cannot train faster
(PyTorch calls MKL/oneDNN instead, and a noisy machine can blur either).
"""

import time

import numpy as np


def call_seconds(function, repeats):
    """Wall times of ``repeats`` calls of ``function()``, after one warm-up.

    Parameters
    ----------
    function : callable
    repeats : int

    Returns
    -------
    list of float
    """
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def gemm_peak_gflops(dtype, size=2048, repeats=5):
    """Measured GFLOP/s of a ``size``-cubed matrix product.

    Parameters
    ----------
    dtype : numpy dtype
        float32 measures ``sgemm``, float64 ``dgemm``.
    size : int
    repeats : int

    Returns
    -------
    float
    """
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    out = np.empty((size, size), dtype=dtype)
    # The fastest call: a peak is what the machine can do, and on a shared
    # machine other work only ever slows a call down (a median halved the
    # sgemm peak in a run that started next to another process).
    seconds = min(call_seconds(lambda: np.matmul(a, b, out=out), repeats))
    return 2 * size**3 / seconds / 1e9


def batch_plan(n_rows, batch_size):
    """Batch sizes of one epoch as ``(rows, count)`` pairs.

    Parameters
    ----------
    n_rows, batch_size : int

    Returns
    -------
    list of tuple of int
        Full batches, then the shorter last batch if there is one.
    """
    full, rest = divmod(n_rows, batch_size)
    return [(rows, count) for rows, count in ((batch_size, full), (rest, 1)) if rows and count]


def batch_gemm_operands(batch_rows, units, dtype, rng):
    """Operands and output buffers of every GEMM of one mini-batch.

    Parameters
    ----------
    batch_rows : int
    units : list of int
        Units per layer, input and output included.
    dtype : numpy dtype
    rng : numpy.random.Generator

    Returns
    -------
    list of tuple
        ``(left, right, out)`` for ``numpy.matmul(left, right, out=out)``.
    """
    products = []
    for layer, (fan_in, fan_out) in enumerate(zip(units[:-1], units[1:])):
        activation = rng.random((batch_rows, fan_in), dtype=dtype)
        weight = rng.random((fan_in, fan_out), dtype=dtype)
        delta = rng.random((batch_rows, fan_out), dtype=dtype)
        products.append((activation, weight, np.empty((batch_rows, fan_out), dtype)))
        if layer > 0:
            products.append((delta, weight.T, np.empty((batch_rows, fan_in), dtype)))
        products.append((activation.T, delta, np.empty((fan_in, fan_out), dtype)))
    return products


def epoch_gemms(n_rows, batch_size, units, dtype):
    """A function running the GEMMs alone of one epoch on preallocated buffers.

    Its time is the workload's GEMM floor.

    Parameters
    ----------
    n_rows, batch_size : int
    units : list of int
    dtype : numpy dtype

    Returns
    -------
    callable
    """
    rng = np.random.default_rng(0)
    plan = [
        (batch_gemm_operands(rows, units, dtype, rng), count)
        for rows, count in batch_plan(n_rows, batch_size)
    ]

    def run():
        for products, count in plan:
            for _ in range(count):
                for left, right, out in products:
                    np.matmul(left, right, out=out)

    return run
