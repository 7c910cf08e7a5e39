"""Predict mlpfast's epoch time on 4 to 32 cores from what 2 cores can measure.

Run from anywhere (the repository root is the usual place)::

    python bench/scaling_model.py --quick
    python bench/scaling_model.py --only digits,wide32 --scaling-json bench/scaling.json

The model is of k-way training: each batch of b rows is cut into k parts of
about b/k rows, each part's forward and backward pass runs on its own
thread into its own gradient buffer, then each thread sums the k partial
gradients of a 1/k slice of the flat parameter vector and takes the
optimizer step on that slice; the threads meet twice per batch. Per batch::

    T_batch(k) = T_part(ceil(b / k)) + T_step(k) + T_cross(k) + 2 T_meet(k)
    T_step(k)  = (k + s) * P * bytes / bandwidth(k)      (k + 1 for L-BFGS)
    T_cross(k) = 2 (k - 1) / k * P * bytes * c_cross
    T_meet(k)  = T_meet(2) + (k - 2) * t_post               (0 at k = 1)

``P`` parameters of ``bytes`` each; ``s`` the other vectors the step reads
and writes (Adam: parameters and two moments, read and written, s = 6; SGD
with momentum s = 4); ``c_cross`` the extra time per byte of reading what
another core wrote: each thread reads the other threads' partial gradients
of its slice and the parameters they stepped. A part never has fewer than
``MIN_PART_ROWS`` rows, so small batches use fewer threads. The epoch's
batches (and the shorter last one) are summed, and the prediction is the
measured one-core epoch times ``T_epoch(k) / T_epoch(1)``: the model gives
the speed-up, the one-core measurement the absolute time. L-BFGS: one pass
over all rows per iteration, one meeting, and scipy's step (the measured
one-core time less the pass) serial.

Measured here, pinned to one core with BLAS on one thread: ``T_part`` with
``mlpfast._kernels.loss_gradient`` on that many rows as one part
(``n_parts=1``; it includes the call's own overhead);
memory bandwidth of ``numpy.add`` over arrays of the network's size on one
core and, on two threads, on two cores; ``c_cross`` from copies of an array
another core has just written against one the copying core wrote;
``T_meet(2)`` from ``loss_gradient`` on 64 and 128 rows in two parts with and
without a helper thread (``ThreadTeam(1)``): on a shared machine an upper bound (a
meeting waits while another process holds the other core; ``--meeting-us``
gives another value). Nothing is fitted to the measured two-core epochs,
which check the model. Assumed: bandwidth beyond two cores grows with k at
the two-core per-core rate, capped at ``--memory-bandwidth`` once the step's
working set leaves the cores' L2 caches; a meeting of k threads costs a
two-thread meeting plus ``t_post`` (``--post-us``, default 0.2 us: an
uncontended lock, atomic add and condition signal) for each further helper,
since mlpfast's ThreadTeam posts to its helpers one after the other (each
polls a counter of its own, so they wake together) and the caller then
waits for each in turn. A workload whose two-core run had its second core taken by
another process (``second_core_was_busy``) gets no extrapolation through its
two-core times.

Next to it, for the large layers, BLAS-threaded products: the one-core epoch
with its GEMM-only floor replaced by the floor on k threads, the floor
extrapolated by Amdahl's law from its 1- and 2-thread times. And
scikit-learn and PyTorch: Amdahl's law with the parallel fraction fitted to
their 1- and 2-core epoch times. The 1- and 2-core times are the fastest
repeats of ``scaling.py``'s children, run here unless ``--scaling-json``
gives a ``scaling.py`` result with k = 1 and 2. See bench/README.md.
"""

import argparse
import json
import math
import os
import sys
import threading
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import numpy as np  # noqa: E402
import scaling  # noqa: E402
from compare import cpu_model, log  # noqa: E402
from gemm_floor import batch_plan  # noqa: E402
from runners import import_mlpfast  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
from workloads import (  # noqa: E402
    WORKLOADS,
    add_selection_arguments,
    effective_batch_size,
    layer_units,
    select_workloads,
)

TARGET_CORES = (4, 8, 16, 32)
ALL_COUNTS = (1, 2, *TARGET_CORES)
# Below about 32 rows a part's products are too short to pay for a meeting
# (mlpfast splits a batch in two from 64 rows on).
MIN_PART_ROWS = 32
# Vectors besides the k gradients the fused step reads and writes, per
# solver: parameters, and Adam's two moments or SGD's velocities.
STEP_VECTORS = {"adam": 6, "sgd": 4}
DEFAULT_MEMORY_BANDWIDTH_GBS = 100.0
DEFAULT_L2_BYTES = 1 << 20
# Each component's time is the fastest of its calls over this budget: the
# cost of the work itself, which another process on a shared core only
# ever adds to.
CALL_BUDGET_S = 0.2
MIN_CALLS = 5
# Rows of the calls a meeting is measured with, and their longer budget:
# more calls, more chances of one while the other core is free.
MEETING_ROWS = (64, 128)
# A meeting's cost per helper beyond the first (see the module docstring).
POST_SECONDS = 0.2e-6
MEETING_BUDGET_S = 1.0
CROSS_CORE_ROUNDS = 200
# A two-core GEMM floor this much slower than the one-core floor means
# another process held the second core (see second_core_was_busy).
BUSY_FLOOR_RATIO = 1.25
# Streams shorter than this are timed at this length: on two threads, numpy
# calls on short arrays measure the lock Python threads share, not memory.
MIN_STREAM_ELEMENTS = 1 << 16
# Data rows made for a model: enough for every class of a classification
# workload to appear (the output layer's width depends on it).
MIN_DATA_ROWS = 1024
# scikit-learn's default L2 penalty, which every workload keeps.
ALPHA = 1e-4


def parse_args(argv=None):
    """Parse the command line.

    Parameters
    ----------
    argv : list of str or None

    Returns
    -------
    argparse.Namespace
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_selection_arguments(parser, "quick rows and epochs")
    parser.add_argument(
        "--scaling-json",
        type=Path,
        help="a scaling.py result (same mode) with k=1 and 2, instead of measuring them",
    )
    parser.add_argument(
        "--memory-bandwidth",
        type=float,
        default=DEFAULT_MEMORY_BANDWIDTH_GBS,
        help="assumed memory bandwidth of the whole socket, GB/s (default %(default)s)",
    )
    parser.add_argument(
        "--meeting-us",
        type=float,
        help="two-thread meeting time in microseconds, instead of measuring it",
    )
    parser.add_argument(
        "--post-us",
        type=float,
        default=POST_SECONDS * 1e6,
        help="microseconds a meeting takes per helper beyond the first (an assumption)",
    )
    parser.add_argument(
        "--json", type=Path, default=BENCH_DIR / "scaling_model.json", help="output JSON file"
    )
    return parser.parse_args(argv)


def fastest_call_seconds(function, budget_s=CALL_BUDGET_S, min_calls=MIN_CALLS):
    """Fastest of repeated calls of ``function()`` (after a warm-up call)."""
    function()
    best, calls = math.inf, 0
    deadline = time.perf_counter() + budget_s
    while calls < min_calls or time.perf_counter() < deadline:
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
        calls += 1
    return best


def l2_cache_bytes():
    """One core's L2 cache size from sysfs, or ``DEFAULT_L2_BYTES``."""
    try:
        text = Path("/sys/devices/system/cpu/cpu0/cache/index2/size").read_text().strip()
    except OSError:
        return DEFAULT_L2_BYTES
    units = {"K": 1 << 10, "M": 1 << 20}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


class LossGradient:
    """``loss_gradient`` on a workload's network and data, ready to time.

    Parameters
    ----------
    workload : workloads.Workload
    n_rows : int
        Rows of data to make (the most any call takes).
    """

    def __init__(self, workload, n_rows):
        mlpfast = import_mlpfast()
        from mlpfast._network import NetworkLayout

        self.kernels = mlpfast._kernels
        X, y = workload.make_data(n_rows)
        units = layer_units(workload, X, y)
        if workload.task == "regression":
            Y, output = y.reshape(-1, 1), "identity"
        else:
            Y, output = (y[:, None] == np.unique(y)[None, :]), "softmax"
        self.X = np.ascontiguousarray(X)
        self.Y = np.ascontiguousarray(Y, dtype=X.dtype)
        layout = NetworkLayout(units)
        self.net = self.kernels.Network(
            layout, workload.params.get("activation", "relu"), output, ALPHA
        )
        rng = np.random.default_rng(0)
        self.params = (rng.uniform(-0.1, 0.1, layout.n_params)).astype(X.dtype)
        self.grad = np.empty_like(self.params)

    def seconds(self, rows, n_parts=1, team=None, budget_s=CALL_BUDGET_S):
        """Fastest time of the loss and gradient of the first ``rows`` rows,
        cut into up to ``n_parts`` parts, on ``team``'s threads or this one."""
        X, Y = self.X[:rows], self.Y[:rows]
        return fastest_call_seconds(
            lambda: self.kernels.loss_gradient(
                self.net, X, Y, self.params, self.grad, threads=team, n_parts=n_parts
            ),
            budget_s,
        )


def measure_meeting_seconds(cpus):
    """One meeting of two spinning threads, from mlpfast's helper thread.

    ``loss_gradient`` on r rows in two parts runs two halves of r/2: in turn
    without a helper (``2 h + c``), on two threads with one (``h + meeting +
    c``); with ``h`` from an r/2-row call, ``meeting = t_helper - t_alone +
    t_half``. On
    the digits network, whose halves are short, for r = 64 and 128, the
    smaller estimate: when another process holds the helper's core, a call
    waits for it, and on a shared machine the estimate is an upper bound.

    Parameters
    ----------
    cpus : list of int
        Two CPU ids to run on.

    Returns
    -------
    float
        Seconds, at least 0.
    """
    os.sched_setaffinity(0, cpus)
    digits = LossGradient(WORKLOADS["digits"], max(MEETING_ROWS))
    helper = digits.kernels.ThreadTeam(1)
    estimates = []
    try:
        with threadpool_limits(1):
            for rows in MEETING_ROWS:
                alone = digits.seconds(rows, n_parts=2)
                together = digits.seconds(rows, n_parts=2, team=helper,
                                          budget_s=MEETING_BUDGET_S)
                half = digits.seconds(rows // 2)
                estimates.append(together - alone + half)
    finally:
        helper.close()
    return max(0.0, min(estimates))


def streaming_bandwidth(n_elements, dtype, threads):
    """Bytes per second of ``numpy.add`` streams, one per thread, run together.

    Each thread adds two arrays of ``n_elements`` (at least
    ``MIN_STREAM_ELEMENTS``) into a third, numpy releasing the GIL, so the
    working set is that of a step over a network of about that many
    parameters.

    Parameters
    ----------
    n_elements : int
    dtype : numpy dtype
    threads : int

    Returns
    -------
    float
    """
    n_elements = max(n_elements, MIN_STREAM_ELEMENTS)
    arrays = [[np.ones(n_elements, dtype) for _ in range(3)] for _ in range(threads)]
    repeats = max(3, int(2e8 // (3 * n_elements * np.dtype(dtype).itemsize)))
    start_together = threading.Barrier(threads)

    def stream(a, b, out):
        start_together.wait()
        for _ in range(repeats):
            np.add(a, b, out=out)

    def run_all():
        workers = [threading.Thread(target=stream, args=trio) for trio in arrays]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    seconds = fastest_call_seconds(run_all, min_calls=3)
    return threads * repeats * 3 * n_elements * np.dtype(dtype).itemsize / seconds


def cross_core_seconds_per_byte(n_elements, dtype, cpus, rounds=CROSS_CORE_ROUNDS):
    """Extra seconds per byte of reading data another core has just written.

    A writer thread on ``cpus[0]`` updates an array; then a reader on
    ``cpus[1]`` copies it, and, in the same round, copies an array of its own
    that it has just written: the difference of the fastest copies, per byte.
    Arrays of ``n_elements`` (at least ``MIN_STREAM_ELEMENTS``): once they
    outgrow the writer's cache, the data come from the shared cache or
    memory either way and the difference vanishes.

    Parameters
    ----------
    n_elements : int
    dtype : numpy dtype
    cpus : list of int
        Two CPU ids.
    rounds : int

    Returns
    -------
    float
        At least 0.
    """
    n_elements = max(n_elements, MIN_STREAM_ELEMENTS)
    shared, own, sink = (np.zeros(n_elements, dtype) for _ in range(3))
    turn = threading.Barrier(2)
    remote, local = [], []

    def writer():
        os.sched_setaffinity(0, cpus[:1])  # this thread only (Linux)
        for _ in range(rounds):
            np.add(shared, 1, out=shared)
            turn.wait()  # written
            turn.wait()  # read

    def reader():
        os.sched_setaffinity(0, cpus[1:2])
        for _ in range(rounds):
            np.add(own, 1, out=own)
            start = time.perf_counter()
            np.copyto(sink, own)
            local.append(time.perf_counter() - start)
            turn.wait()
            start = time.perf_counter()
            np.copyto(sink, shared)
            remote.append(time.perf_counter() - start)
            turn.wait()

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return max(0.0, (min(remote) - min(local)) / shared.nbytes)


def aggregate_bandwidth(k, working_set, bandwidth, l2_bytes, socket_bandwidth):
    """Bytes per second k cores stream together (the model's assumption).

    Parameters
    ----------
    k : int
    working_set : float
        Bytes the step touches.
    bandwidth : dict
        Measured ``{1: one core, 2: two cores together}``, bytes per second.
    l2_bytes : int
        One core's L2 cache.
    socket_bandwidth : float
        Cap, bytes per second, once the working set is larger than k L2 caches.

    Returns
    -------
    float
    """
    if k <= 2:
        return bandwidth[k]
    total = k * bandwidth[2] / 2
    return min(total, socket_bandwidth) if working_set > k * l2_bytes else total


def amdahl_seconds(t1, t2, k):
    """Amdahl's law through a 1- and a 2-thread time.

    Parameters
    ----------
    t1, t2 : float
        Times on one and two threads.
    k : int

    Returns
    -------
    seconds : float
    parallel_fraction : float
        ``2 (1 - t2 / t1)``, clipped to [0, 1] (0 when two threads were slower).
    """
    fraction = min(1.0, max(0.0, 2 * (1 - t2 / t1)))
    return t1 * ((1 - fraction) + fraction / k), fraction


class KWayModel:
    """The k-way epoch model of one workload (see the module docstring).

    The epoch time is ``work(k)``, without meetings, plus ``meetings(k)``
    times a two-thread meeting.

    Parameters
    ----------
    workload : workloads.Workload
    mode : {"full", "quick"}
    measured_1 : float
        The measured one-core epoch; L-BFGS's serial part (scipy's step) is
        that less the one-core pass.
    l2_bytes : int
    socket_bandwidth : float
        Bytes per second.

    Attributes
    ----------
    bandwidth : dict
        ``{1: bytes/s, 2: bytes/s}`` streamed at this network's size; set it
        (:func:`streaming_bandwidth`) before calling :meth:`work`.
    cross_core : float
        Extra seconds per byte read from another core's cache
        (:func:`cross_core_seconds_per_byte`); set it with ``bandwidth``.
    """

    def __init__(self, workload, mode, measured_1, l2_bytes, socket_bandwidth):
        self.n_rows = workload.rows.pick(mode)
        self.lbfgs = workload.params["solver"] == "lbfgs"
        self.plan = batch_plan(self.n_rows, effective_batch_size(workload, self.n_rows))
        self.step_vectors = 1 if self.lbfgs else STEP_VECTORS[workload.params["solver"]]
        self.measured_1 = measured_1
        self.bandwidth = self.cross_core = None
        self.l2_bytes, self.socket_bandwidth = l2_bytes, socket_bandwidth
        largest_batch = max(rows for rows, _ in self.plan)
        self.kernel = LossGradient(workload, min(self.n_rows, max(largest_batch, MIN_DATA_ROWS)))
        self.bytes_per_param = self.kernel.params.itemsize
        self.n_params = self.kernel.params.size
        self.part_seconds = {}

    def threads_for(self, rows, k):
        """Threads a batch of ``rows`` rows uses: k, or fewer for parts of MIN_PART_ROWS."""
        return max(1, min(k, rows // MIN_PART_ROWS))

    def part(self, rows):
        """Measured (and remembered) seconds of one part of ``rows`` rows."""
        if rows not in self.part_seconds:
            self.part_seconds[rows] = self.kernel.seconds(rows)
        return self.part_seconds[rows]

    def ranges_for(self, k):
        """Threads the step of a call with k parts takes: one range each, but
        no more than one per ``MIN_RANGE_PARAMS`` parameters beyond two
        (``step_ranges`` in mlpfast/_kernels.pyx)."""
        return max(min(2, k), min(k, self.n_params // self.kernel.kernels.MIN_RANGE_PARAMS))

    def step(self, parts, ranges):
        """Seconds of the reduction of ``parts`` gradients and the step, on
        ``ranges`` threads together.

        L-BFGS: the reduction alone (scipy steps), on the calling thread
        (loss_gradient adds the parts' gradients once per pass), none for
        one part.
        """
        if self.lbfgs:
            if parts == 1:
                return 0.0
            ranges = 1
        moved = (parts + self.step_vectors) * self.n_params * self.bytes_per_param
        return moved / aggregate_bandwidth(
            ranges, moved, self.bandwidth, self.l2_bytes, self.socket_bandwidth
        )

    def cross(self, k):
        """Seconds a thread spends per batch reading what other cores wrote.

        The k - 1 other threads' partial gradients of its slice, and the
        parameters the other threads stepped: ``(k - 1) / k`` of the vector
        each, read by all threads at once.
        """
        return 2 * (k - 1) / k * self.n_params * self.bytes_per_param * self.cross_core

    def batches(self):
        """``(rows, count)`` of the batches of an epoch; L-BFGS: one pass of all rows."""
        return [(self.n_rows, 1)] if self.lbfgs else self.plan

    def work(self, k):
        """Seconds of an epoch (L-BFGS: an iteration) on k threads, meetings left out."""
        seconds = sum(
            count * (self.part(-(-rows // self.threads_for(rows, k)))
                     + self.step(self.threads_for(rows, k), self.ranges_for(k))
                     + self.cross(self.threads_for(rows, k)))
            for rows, count in self.batches()
        )
        if self.lbfgs:
            serial = max(0.0, self.measured_1 - self.part(self.n_rows))
            seconds += serial
        return seconds

    def meetings(self, k, meeting_2, post):
        """Seconds of the meetings of an epoch on k threads.

        Two meetings per batch (L-BFGS: one per pass), each a two-thread
        meeting plus ``post`` per helper beyond the first of the threads the
        batch uses (none on one thread).
        """
        per_batch = 1 if self.lbfgs else 2
        seconds = 0.0
        for rows, count in self.batches():
            threads = self.threads_for(rows, k)
            if threads > 1:
                seconds += count * per_batch * (meeting_2 + (threads - 2) * post)
        return seconds

    def epoch(self, k, meeting_2, post=0.0):
        """Modelled seconds of an epoch on k threads, with meetings of
        ``meeting_2`` and ``post`` per further helper."""
        return self.work(k) + self.meetings(k, meeting_2, post)


def blas_threaded_seconds(mlpfast_1, floor_1, floor_2, k):
    """One-core mlpfast epoch with its GEMM floor run on k BLAS threads instead."""
    floor_k, _ = amdahl_seconds(floor_1, floor_2, k)
    return mlpfast_1 - floor_1 + floor_k


def load_measured(path, workloads, mode):
    """1- and 2-core timings: from a scaling.py JSON file, or measured now.

    The fastest repeat of each, like the components: on a shared machine,
    another process on the second core slowed some 2-core fits of a quick
    run by 2 to 15 times, and its medians with them.

    Returns
    -------
    dict
        ``{workload: {implementation or "gemm floor": {1: s, 2: s}}}`` (None
        where a time is missing).
    """
    if path is not None:
        report = json.loads(path.read_text())
        if report["mode"] != mode:
            raise SystemExit(f"{path} is a {report['mode']} run, not {mode}")
        timings = report["timings"]
    else:
        cpus = scaling.available_cpus()
        if len(cpus) < 2:
            raise SystemExit("the model needs two usable cores to measure")
        settings = scaling.SETTINGS[mode]
        timings, _ = scaling.measure(
            workloads, mode, [1, 2], cpus[:2], settings["rounds"], settings["repeats"]
        )
    # JSON keeps the core counts as strings.
    return {
        workload.name: {
            impl: {int(k): record["s_per_epoch_min"] for k, record in by_count.items()}
            for impl, by_count in timings[workload.name].items()
        }
        for workload in workloads
    }


def build_models(workloads, mode, measured, socket_bandwidth, cpus):
    """A KWayModel per workload with a one-core mlpfast time, its parts measured.

    Parts run pinned to one core with BLAS on one thread; bandwidth is
    streamed on one core and on two.

    Returns
    -------
    dict of str to KWayModel
    """
    l2_bytes = l2_cache_bytes()
    models = {}
    for workload in workloads:
        mlpfast_1 = measured[workload.name]["mlpfast"][1]
        if mlpfast_1 is None:
            log(f"[{workload.name}] no one-core mlpfast time: skipped")
            continue
        log(f"[{workload.name}] measuring parts and bandwidth")
        model = KWayModel(workload, mode, mlpfast_1, l2_bytes, socket_bandwidth)
        dtype = model.kernel.params.dtype
        os.sched_setaffinity(0, cpus[:2])
        model.bandwidth = {2: streaming_bandwidth(model.n_params, dtype, 2)}
        model.cross_core = cross_core_seconds_per_byte(model.n_params, dtype, cpus[:2])
        os.sched_setaffinity(0, cpus[:1])
        with threadpool_limits(1):
            model.bandwidth[1] = streaming_bandwidth(model.n_params, dtype, 1)
            for k in ALL_COUNTS:
                model.work(k)  # measures every part size now, on one core
        models[workload.name] = model
    os.sched_setaffinity(0, cpus)
    return models


def second_core_was_busy(times):
    """Whether a workload's two-core run was disturbed by another process.

    Its GEMM floor on two BLAS threads took over ``BUSY_FLOOR_RATIO`` times
    its one-thread time: small products may gain nothing from a second
    thread, but none lose that much unless the second core was taken.

    Parameters
    ----------
    times : dict
        A workload's entry of :func:`load_measured`.

    Returns
    -------
    bool
    """
    floor = times["gemm floor"]
    return floor[1] is None or floor[2] is None or floor[2] > BUSY_FLOOR_RATIO * floor[1]


def predict(workloads, mode, measured, socket_bandwidth, meeting_2=None, post=POST_SECONDS):
    """Every row of the prediction table, and the measured components.

    Returns
    -------
    rows : list of dict
        ``workload``, ``model`` and ``seconds`` per k (1, 2 and TARGET_CORES;
        1 and 2 as measured where measured).
    components : dict
        Per workload: bandwidths, part times and parameters, and the model's
        two-core epoch over the measured one; and the meeting.

    Parameters
    ----------
    workloads : list of workloads.Workload
    mode : {"full", "quick"}
    measured : dict
        What :func:`load_measured` returns.
    socket_bandwidth : float
        Bytes per second.
    meeting_2 : float or None
        Seconds of a two-thread meeting; None: measure it.
    post : float, default=POST_SECONDS
        Seconds a meeting takes per helper beyond the first.
    """
    cpus = scaling.available_cpus()
    if meeting_2 is None:
        log("measuring a meeting of two threads")
        meeting_2 = measure_meeting_seconds(cpus[:2])
    models = build_models(workloads, mode, measured, socket_bandwidth, cpus)
    components = {
        "meeting_2_s": meeting_2,
        "l2_bytes": l2_cache_bytes(),
        "workloads": {
            name: {
                "n_params": model.n_params,
                "bandwidth_gbs": {k: value / 1e9 for k, value in model.bandwidth.items()},
                "cross_core_us_per_kib": model.cross_core * 1024e6,
                "cross_seconds": {k: model.cross(k) for k in ALL_COUNTS},
                "part_seconds": model.part_seconds,
                "step_seconds": {k: model.step(k, model.ranges_for(k)) for k in ALL_COUNTS},
                "model_over_measured_2": model.epoch(2, meeting_2, post)
                / model.epoch(1, meeting_2, post)
                * model.measured_1 / measured[name]["mlpfast"][2]
                if measured[name]["mlpfast"][2] else None,
            }
            for name, model in models.items()
        },
    }
    rows = []
    for name, model in models.items():
        times = measured[name]
        kway = {k: model.epoch(k, meeting_2, post) for k in ALL_COUNTS}
        rows.append(dict(workload=name, model="mlpfast k-way (model)",
                         seconds={k: model.measured_1 * kway[k] / kway[1] for k in ALL_COUNTS}))
        busy = second_core_was_busy(times)
        rows.append(dict(workload=name, model="mlpfast measured" + " (2nd core busy)" * busy,
                         seconds={1: model.measured_1, 2: times["mlpfast"][2]}))
        # Extrapolations through a disturbed two-core time would only
        # extrapolate the disturbance: those rows keep the measured times.
        if not busy:
            floor = times["gemm floor"]
            rows.append(dict(
                workload=name, model="mlpfast BLAS threads (model)",
                seconds={k: blas_threaded_seconds(model.measured_1, floor[1], floor[2], k)
                         for k in ALL_COUNTS}))
        for impl in ("sklearn", "torch"):
            t1, t2 = times.get(impl, {}).get(1), times.get(impl, {}).get(2)
            if t1 is None or t2 is None:
                continue
            if busy:
                rows.append(dict(workload=name, model=f"{impl} measured (2nd core busy)",
                                 seconds={1: t1, 2: t2}))
                continue
            _, fraction = amdahl_seconds(t1, t2, 2)
            seconds = {k: amdahl_seconds(t1, t2, k)[0] for k in TARGET_CORES}
            rows.append(dict(workload=name, model=f"{impl} (Amdahl, p={fraction:.2f})",
                             seconds={1: t1, 2: t2, **seconds}))
    return rows, components


def format_table(rows):
    """Aligned text table of seconds per epoch, a column per core count."""
    headers = ["workload", "model"] + [f"k={k}" for k in ALL_COUNTS]
    cells = [
        [row["workload"], row["model"]]
        + [f"{row['seconds'][k]:.4g}" if row["seconds"].get(k) is not None else "-"
           for k in ALL_COUNTS]
        for row in rows
    ]
    widths = [max(len(cell) for cell in column) for column in zip(headers, *cells)]

    def line(values):
        return "  ".join(
            f"{value:<{width}}" if index < 2 else f"{value:>{width}}"
            for index, (value, width) in enumerate(zip(values, widths))
        )

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *map(line, cells)])


def main(argv=None):
    """Measure the components, print the model's table and write the JSON file."""
    args = parse_args(argv)
    if not hasattr(os, "sched_setaffinity"):
        raise SystemExit("the model pins itself to one and two cores: Linux only")
    mode = "quick" if args.quick else "full"
    workloads = args.only or select_workloads()
    measured = load_measured(args.scaling_json, workloads, mode)
    meeting_2 = None if args.meeting_us is None else args.meeting_us * 1e-6
    rows, components = predict(workloads, mode, measured, args.memory_bandwidth * 1e9, meeting_2,
                               args.post_us * 1e-6)
    lines = [
        f"mode: {mode}; CPU: {cpu_model()}; seconds per epoch (L-BFGS: per iteration)",
        f"two-thread meeting: {components['meeting_2_s'] * 1e6:.1f} us "
        + ("given" if args.meeting_us is not None else "measured (an upper bound on a shared "
           "machine)"),
        f"measured here: L2 {components['l2_bytes'] >> 10} KiB per core; assumed: socket "
        f"bandwidth {args.memory_bandwidth:g} GB/s beyond L2, {args.post_us:g} us per further "
        f"helper in a meeting, parts >= "
        f"{MIN_PART_ROWS} rows",
        "k=1, k=2: measured (scaling.py children, fastest repeat); k-way: measured one-core "
        "epoch x modelled speed-up; its k=2 against 'mlpfast measured' checks the model "
        "(nothing is fitted to it)",
        "check, k-way model / measured at k=2: " + ", ".join(
            f"{name} {info['model_over_measured_2']:.2f}"
            for name, info in components["workloads"].items()
            if info["model_over_measured_2"] and not second_core_was_busy(measured[name])),
    ]
    lines += [
        f"{name}: {info['n_params']} parameters, streaming "
        + ", ".join(f"{gbs:.1f} GB/s on {k} core{'s' * (k > 1)}"
                    for k, gbs in info["bandwidth_gbs"].items())
        + f"; another core's writes cost {info['cross_core_us_per_kib']:.3f} us/KiB more"
        for name, info in components["workloads"].items()
    ]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(
        {"mode": mode, "header": lines, "measured": measured, "components": components,
         "rows": rows}, indent=2, default=str))
    print("\n".join(lines))
    print()
    print(format_table(rows))


if __name__ == "__main__":
    main()
