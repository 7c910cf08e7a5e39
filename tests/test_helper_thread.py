"""The helper thread of training: split batches, the two-thread runner, the choice.

``mlpfast._kernels.train_epoch`` computes every mini-batch of at least
``SPLIT_MIN_ROWS`` (64) rows as two halves whose raw gradients are added (at
its default ``n_parts=2``; tests/test_thread_team.py checks more parts);
``threads=ThreadTeam()`` runs the halves on two threads.  What is checked here:

* the two ways give bit-for-bit the same epoch (parameters, optimizer state,
  loss) over a grid of dtypes, inputs, targets, weights, optimizers,
  activations and batch sizes around the split threshold;
* the split changes rounding only: one epoch matches the plain-numpy oracle
  of ``tests/numpy_reference.py`` (which never splits a batch) driven with the
  same batches; sample weights are checked there as repeated rows;
* the helper is an OS thread that lives exactly as long as the call (it is
  seen in ``/proc/self/task`` during the call and is gone after it), also
  when the call ends in Ctrl-C or a zero weight sum;
* ``mlpfast._threads.HelperThreadChoice`` rules the helper out where it
  should, explores both choices, keeps the faster per row, and forgets
  timings after ``DECISION_SECONDS``; the estimators follow it epoch by epoch;
* estimator fits are identical whether the helper is forced on, forced off or
  ruled out, match scikit-learn within the parity tolerances, and fits in two
  Python threads at once match sequential ones.
"""
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import types
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse
from numpy.testing import assert_allclose, assert_array_equal
from threadpoolctl import ThreadpoolController, threadpool_limits

import numpy_reference as ref
from conftest import (
    ATOL32,
    ATOL64,
    RTOL32,
    RTOL64,
    FastClassifier,
    FastRegressor,
    SkMLPClassifier,
    SkMLPRegressor,
    assert_fitted_close,
    assert_same_warnings,
    assert_weights_identical,
    engine_only,
    fit_quiet,
    fit_recording_warnings,
    make_data,
)
from mlpfast import _kernels, _threads
from mlpfast._inputs import kernel_matrix
from mlpfast._kernels import SPLIT_MIN_ROWS
from mlpfast._network import NetworkLayout
from mlpfast._solvers import AdamOptimizer, SGDOptimizer
from mlpfast._threads import HelperThreadChoice


def helper_arg(use_helper):
    """The kernels' helper_thread argument: a new HelperThread, or None."""
    return _kernels.ThreadTeam() if use_helper else None
ALPHA = 1e-2

needs_proc_tasks = pytest.mark.skipif(
    not os.path.isdir("/proc/self/task"), reason="needs Linux's /proc/self/task")


def blas_reaches_two_threads():
    """Whether threadpoolctl can give BLAS two threads here (an OpenBLAS that
    started with one thread, as under user-mode emulation, cannot)."""
    with threadpool_limits(limits=2, user_api="blas"):
        return _threads._blas_thread_limit() >= 2


needs_two_blas_threads = pytest.mark.skipif(
    not blas_reaches_two_threads(), reason="this BLAS cannot run two threads here")


@pytest.fixture(autouse=True)
def fresh_helper_timings(monkeypatch):
    """Every test starts with no recorded timings and leaves none behind."""
    monkeypatch.setattr(_threads, "_helper_thread_timings", {})
    monkeypatch.setattr(_threads, "_openblas_threads_ended", -np.inf)


def assert_bitwise_equal(actual, expected, what):
    """Same dtype, shape and bits (NaN payloads and the sign of zero included)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape, what
    bits = np.dtype(f"u{actual.dtype.itemsize}")
    assert_array_equal(actual.view(bits), expected.view(bits), err_msg=what)


# ---------------------------------------------------------------------------
# kernel problems
# ---------------------------------------------------------------------------

UNITS = (7, 10, 6, 3)
# Not a multiple of any batch size below: every epoch ends on a shorter batch
# (235 = 3 * 64 + 43: a last batch that is itself split, into 22 + 21 rows).
N_ROWS = 235
BATCH_SIZES = (1, 32, SPLIT_MIN_ROWS - 1, SPLIT_MIN_ROWS, SPLIT_MIN_ROWS + 1, 200, N_ROWS)
HIDDEN = ("relu", "tanh", "logistic")
# (output activation, target kind): label targets stay bool, as the
# estimators pass binarized classes.
TARGETS = (
    ("softmax", "labels"), ("softmax", "values"),
    ("logistic", "labels"), ("logistic", "values"),
    ("identity", "values"), ("exp", "values"),
)
SOLVERS = ("sgd", "sgd_nesterov", "adam")
DTYPES = (np.float64, np.float32)


def make_optimizer(solver, n_params, dtype):
    if solver == "adam":
        return AdamOptimizer(n_params, dtype, 0.005, 0.9, 0.999, 1e-8)
    optimizer = SGDOptimizer(n_params, dtype, 0.05, "constant", 0.9, solver == "sgd_nesterov",
                             0.5)
    optimizer.learning_rate = 0.005  # the kernel must read the current rate, not the initial
    return optimizer


def random_targets(output, kind, n_rows, n_outputs, rng):
    if output == "softmax":
        labels = np.eye(n_outputs, dtype=bool)[rng.integers(0, n_outputs, n_rows)]
    elif output == "logistic":
        labels = rng.random((n_rows, n_outputs)) < 0.4
    elif output == "identity":
        return rng.standard_normal((n_rows, n_outputs))
    else:  # exp: Poisson counts
        return rng.poisson(1.5, (n_rows, n_outputs)).astype(np.float64)
    return labels if kind == "labels" else labels.astype(np.float64)


def make_problem(dtype, sparse, output, kind, weighted, seed, units=UNITS, n_rows=N_ROWS):
    """Kernel inputs: X (C array or KernelCsr), Y, weights, start params, 2 row orders."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, units[0]))
    if sparse:
        X[rng.random(X.shape) < 0.6] = 0.0
        X[5] = 0.0  # a row without stored entries
        X = scipy.sparse.csr_matrix(X)
    Y = random_targets(output, kind, n_rows, units[-1], rng)
    if Y.dtype != bool:
        Y = np.ascontiguousarray(Y, dtype=dtype)
    layout = NetworkLayout(units)
    return dict(
        units=units,
        X=kernel_matrix(X, dtype),
        Y=Y,
        weights=rng.uniform(0.1, 3.0, n_rows).astype(dtype) if weighted else None,
        params=(rng.uniform(-1.0, 1.0, layout.n_params) * 0.5).astype(dtype),
        orders=[rng.permutation(n_rows).astype(np.intp) for _ in range(2)],
        dtype=dtype,
    )


def run_epochs(problem, net, solver, batch_size, helper_thread):
    """Train from the problem's start point over its row orders; return the final state."""
    params = problem["params"].copy()
    optimizer = make_optimizer(solver, len(params), problem["dtype"])
    helper = helper_arg(helper_thread)  # one thread for all epochs, as in a fit
    losses = []
    for order in problem["orders"]:
        with optimizer.kernel_state() as optimizer_state:
            losses.append(_kernels.train_epoch(
                net, problem["X"], problem["Y"], order, batch_size, params, *optimizer_state,
                problem["weights"], threads=helper))
    if helper is not None:
        helper.close()
    state = dict(losses=np.array(losses), params=params, moment_1=optimizer.moment_1)
    if solver == "adam":
        state.update(moment_2=optimizer.moment_2, t=optimizer.t,
                     learning_rate=np.float64(optimizer.learning_rate))
    return state


def assert_same_training_state(with_helper, without_helper, where):
    assert with_helper.keys() == without_helper.keys()
    for name, value in without_helper.items():
        if name == "t":
            assert with_helper["t"] == value, f"{where}: Adam t"
        else:
            assert_bitwise_equal(with_helper[name], value, f"{where}: {name}")


# ---------------------------------------------------------------------------
# helper thread on or off: the same epoch, bit for bit
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_helper_thread_gives_bitwise_identical_epochs(dtype, sparse, solver):
    # Every hidden activation with every output and target kind, at every
    # batch size; sample weights alternate through the grid so that each
    # batch size and each combination runs both weighted and unweighted.
    combinations = [(hidden, output, kind) for hidden in HIDDEN for output, kind in TARGETS]
    for b, batch_size in enumerate(BATCH_SIZES):
        for c, (hidden, output, kind) in enumerate(combinations):
            weighted = (b + c) % 2 == 1
            problem = make_problem(dtype, sparse, output, kind, weighted, seed=c)
            net = _kernels.Network(NetworkLayout(UNITS), hidden, output, ALPHA)
            with_helper = run_epochs(problem, net, solver, batch_size, True)
            without_helper = run_epochs(problem, net, solver, batch_size, False)
            where = (f"batch_size={batch_size} {hidden}->{output} targets={kind} "
                     f"weighted={weighted}")
            assert_same_training_state(with_helper, without_helper, where)
            # Not a comparison of two diverged or frozen runs.
            assert np.all(np.isfinite(with_helper["params"])), where
            assert np.all(np.isfinite(with_helper["losses"])), where
            assert not np.array_equal(with_helper["params"], problem["params"]), where


@pytest.mark.parametrize("units", [(12, 4), (20, 64, 32, 5)], ids=["no-hidden", "wider"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_helper_thread_identical_for_other_network_shapes(dtype, units):
    # A network without hidden layer (one product per half), and wider
    # layers than the grid's, with a batch size that is not a power of two.
    for batch_size in (SPLIT_MIN_ROWS, 97, 128, 400):
        problem = make_problem(dtype, False, "softmax", "labels", True, seed=batch_size,
                               units=units, n_rows=403)
        net = _kernels.Network(NetworkLayout(units), "tanh", "softmax", ALPHA)
        assert_same_training_state(run_epochs(problem, net, "adam", batch_size, True),
                                   run_epochs(problem, net, "adam", batch_size, False),
                                   f"units={units} batch_size={batch_size}")


def test_helper_thread_ignored_for_a_single_row_sample():
    # One row: batch size 1, no split; the flag must be harmless.
    problem = make_problem(np.float64, False, "softmax", "labels", False, seed=3, n_rows=1)
    net = _kernels.Network(NetworkLayout(UNITS), "relu", "softmax", ALPHA)
    assert_same_training_state(run_epochs(problem, net, "adam", 1, True),
                               run_epochs(problem, net, "adam", 1, False), "one row")


# ---------------------------------------------------------------------------
# the split changes rounding, not the math: the numpy oracle
# ---------------------------------------------------------------------------

# float64: the oracle sums each batch in one product, the kernel in two
# halves, so results differ by rounding only; measured worst relative
# difference after one epoch: 9e-14.  The absolute floor (relative to the
# largest magnitude compared) covers entries near zero, whose error is a few
# ulps of the larger terms summed into them.  float32 is compared with the
# float64 oracle (test_kernels.py's tolerances and reasoning).
REFERENCE_TOLERANCES = {np.float64: (1e-12, 1e-14), np.float32: (1e-4, 1e-5)}


def assert_close_to_reference(actual, expected, dtype, what):
    rtol, atol_rel = REFERENCE_TOLERANCES[dtype]
    expected = np.asarray(expected, dtype=np.float64)
    assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol,
                    atol=atol_rel * np.max(np.abs(expected)), err_msg=what)


def reference_state(solver, n_params):
    if solver == "adam":
        return ref.AdamState(0.005, 0.9, 0.999, 1e-8, np.zeros(n_params), np.zeros(n_params))
    return ref.SGDState(0.005, 0.9, solver == "sgd_nesterov", np.zeros(n_params))


def reference_moments(solver, state):
    if solver == "adam":
        return dict(moment_1=state.m, moment_2=state.v)
    return dict(moment_1=state.velocity)


def check_against_reference(problem, hidden, output, solver, batch_size, expected_params,
                            expected_loss_sum, state, where):
    dtype = problem["dtype"]
    net = _kernels.Network(NetworkLayout(problem["units"]), hidden, output, ALPHA)
    params = problem["params"].copy()
    optimizer = make_optimizer(solver, len(params), dtype)
    with optimizer.kernel_state() as optimizer_state:
        loss_sum = _kernels.train_epoch(net, problem["X"], problem["Y"], problem["orders"][0],
                                        batch_size, params, *optimizer_state,
                                        problem["weights"], threads=helper_arg(True))
    assert_close_to_reference(params, expected_params, dtype, f"{where}: params")
    assert_close_to_reference(loss_sum, expected_loss_sum, dtype, f"{where}: loss sum")
    for name, expected in reference_moments(solver, state).items():
        assert_close_to_reference(getattr(optimizer, name), expected, dtype,
                                  f"{where}: {name}")
    if solver == "adam":
        assert optimizer.t == state.t == -(-problem["X"].shape[0] // batch_size)
        assert_allclose(optimizer.learning_rate, state.learning_rate, rtol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("solver", SOLVERS)
def test_split_epoch_matches_numpy_reference(solver, dtype):
    for batch_size in BATCH_SIZES[2:]:  # the split ones
        for c, (hidden, (output, kind)) in enumerate(
                (h, t) for h in ref.HIDDEN_ACTIVATIONS for t in TARGETS
                if t[0] in ref.OUTPUT_ACTIVATIONS):
            problem = make_problem(dtype, False, output, kind, False, seed=100 + c)
            state = reference_state(solver, len(problem["params"]))
            expected_params, expected_loss_sum = ref.epoch(
                problem["params"], UNITS, problem["X"], problem["Y"], problem["orders"][0],
                batch_size, hidden, output, ALPHA, state, clip_eps=np.finfo(dtype).eps)
            check_against_reference(problem, hidden, output, solver, batch_size,
                                    expected_params, expected_loss_sum, state,
                                    f"batch_size={batch_size} {hidden}->{output} {kind}")


def weighted_reference_epoch(problem, hidden, output, batch_size, state):
    """The oracle's epoch with integer sample weights taken as repeated rows.

    A batch whose row i has weight w_i has the weighted-mean loss and
    gradient of the batch in which row i appears w_i times (weight 0: not at
    all); the epoch's loss sum counts the batch's rows, as the kernel's does.
    """
    params = problem["params"].astype(np.float64)
    X = np.asarray(problem["X"], dtype=np.float64)
    Y = np.asarray(problem["Y"], dtype=np.float64)
    counts = problem["weights"].astype(np.intp)
    loss_sum = 0.0
    for rows in ref.batch_slices(N_ROWS, batch_size):
        index = problem["orders"][0][rows]
        repeated = np.repeat(index, counts[index])
        batch_loss, grad = ref.loss_and_gradient(params, UNITS, X[repeated], Y[repeated],
                                                 hidden, output, ALPHA)
        loss_sum += batch_loss * len(index)
        params = state.step(params, grad)
    return params, loss_sum


@pytest.mark.parametrize("solver", ["sgd_nesterov", "adam"])
def test_split_weighted_epoch_matches_repeated_rows_reference(solver):
    rng = np.random.default_rng(5)
    weights = rng.integers(0, 4, N_ROWS).astype(np.float64)  # about a quarter are 0
    for batch_size in BATCH_SIZES[2:]:
        for hidden, output in (("relu", "softmax"), ("tanh", "identity"),
                               ("logistic", "logistic")):
            problem = make_problem(np.float64, False, output, "values", False, seed=batch_size)
            problem["weights"] = weights
            state = reference_state(solver, len(problem["params"]))
            expected_params, expected_loss_sum = weighted_reference_epoch(
                problem, hidden, output, batch_size, state)
            check_against_reference(problem, hidden, output, solver, batch_size,
                                    expected_params, expected_loss_sum, state,
                                    f"weighted batch_size={batch_size} {hidden}->{output}")


# ---------------------------------------------------------------------------
# the helper thread lives exactly as long as its call
# ---------------------------------------------------------------------------


def thread_ids():
    return set(os.listdir("/proc/self/task"))


def threads_seen_during(call):
    """Ids of the threads that appear while call() runs, except the watcher's own."""
    before = thread_ids()
    seen = set()
    running = threading.Event()
    done = threading.Event()

    def watch():
        running.set()
        while not done.is_set():
            seen.update(thread_ids())
        seen.update(thread_ids())

    watcher = threading.Thread(target=watch)
    watcher.start()
    running.wait()
    try:
        call()
    finally:
        done.set()
        watcher.join()
    return seen - before - {str(watcher.native_id)}


def long_epoch_call(batch_size, helper_thread):
    # Tens of milliseconds in the kernel, with the GIL released: the watcher
    # lists the threads thousands of times meanwhile.
    problem = make_problem(np.float64, False, "softmax", "labels", False, seed=8,
                           units=(30, 200, 3), n_rows=20_000)
    problem["orders"] = problem["orders"][:1]  # one call: one helper thread
    net = _kernels.Network(NetworkLayout(problem["units"]), "relu", "softmax", ALPHA)
    return lambda: run_epochs(problem, net, "adam", batch_size, helper_thread)


@needs_proc_tasks
def test_helper_thread_runs_during_the_call_only():
    call = long_epoch_call(64, True)
    # A first call lets other libraries start the threads they keep (a BLAS
    # pool started at its first threaded product, as seen on an AVX2 EPYC in
    # the full suite); only threads of the watched call count.
    call()
    started = threads_seen_during(call)
    # Threads that appeared and are still there belong to other libraries'
    # pools starting in the background of a full suite (seen once in CI: four
    # at once); mlpfast's helper is the one that came and went.  A helper
    # that outlived its call would leave none that came and went.
    came_and_went = started - thread_ids()
    assert len(came_and_went) == 1, (
        f"expected one helper thread that ends with its call, saw {came_and_went} "
        f"(and {started - came_and_went} still running)")
    # No thread without one.
    assert threads_seen_during(long_epoch_call(64, False)) == set()


@needs_proc_tasks
def test_many_short_calls_leave_no_thread_behind():
    problem = make_problem(np.float64, False, "softmax", "labels", True, seed=9, n_rows=40)
    net = _kernels.Network(NetworkLayout(UNITS), "relu", "softmax", ALPHA)
    params = problem["params"].copy()
    optimizer = make_optimizer("adam", len(params), np.float64)
    order = problem["orders"][0]

    def epoch():
        with optimizer.kernel_state() as optimizer_state:
            return _kernels.train_epoch(net, problem["X"], problem["Y"], order, 40, params,
                                        *optimizer_state, problem["weights"],
                                        threads=helper_arg(True))

    epoch()  # whatever a first call starts lazily (BLAS) is not a leak
    before = thread_ids()
    for _ in range(300):
        epoch()
    assert thread_ids() <= before, f"threads left running: {thread_ids() - before}"
    assert optimizer.t == 301
    assert np.all(np.isfinite(params))


def test_zero_weight_batch_stops_the_epoch_the_same_with_helper():
    problem = make_problem(np.float64, False, "logistic", "labels", True, seed=10)
    problem["orders"][0] = np.arange(N_ROWS, dtype=np.intp)
    problem["weights"][80:120] = 0.0  # the third batch of 40
    net = _kernels.Network(NetworkLayout(UNITS), "tanh", "logistic", ALPHA)
    states = []
    for helper_thread in (True, False):
        params = problem["params"].copy()
        optimizer = make_optimizer("adam", len(params), np.float64)
        with (pytest.raises(ZeroDivisionError, match="Weights sum to zero"),
              optimizer.kernel_state() as optimizer_state):
            _kernels.train_epoch(net, problem["X"], problem["Y"], problem["orders"][0], 40,
                                 params, *optimizer_state, problem["weights"],
                                 threads=helper_arg(helper_thread))
        states.append(dict(params=params, moment_1=optimizer.moment_1,
                           moment_2=optimizer.moment_2, t=optimizer.t))
    assert_same_training_state(*states, where="zero weight sum")
    assert states[0]["t"] == 2  # the two batches before the zero-weight one


INTERRUPT_SIGNAL_AFTER = 0.5   # seconds into the epoch
INTERRUPT_STOP_WITHIN = 5.0    # seconds after the signal (a batch takes a few ms)
INTERRUPT_KILL_AFTER = 60.0    # the whole subprocess: a hang fails the test

INTERRUPT_SCRIPT = textwrap.dedent("""
    import json, os, signal, threading, time
    import numpy as np
    from mlpfast import _kernels
    from mlpfast._network import NetworkLayout
    from mlpfast._solvers import AdamOptimizer

    def helper_arg(use_helper):
        return _kernels.ThreadTeam() if use_helper else None

    signal_after = float(os.environ["SIGNAL_AFTER"])
    units = (32, 384, 384, 4)
    layout = NetworkLayout(units)
    net = _kernels.Network(layout, "relu", "softmax", 1e-4)
    rng = np.random.default_rng(0)
    n_rows, batch_size = 240_000, 64   # a few seconds of batches
    X = rng.standard_normal((n_rows, units[0])).astype(np.float32)
    Y = np.eye(units[-1], dtype=bool)[rng.integers(0, units[-1], n_rows)]
    order = rng.permutation(n_rows).astype(np.intp)
    params = (rng.uniform(-1, 1, layout.n_params) * 0.05).astype(np.float32)
    optimizer = AdamOptimizer(layout.n_params, np.float32, 1e-3, 0.9, 0.999, 1e-8)

    def n_threads():
        return len(os.listdir("/proc/self/task"))

    threads_before = n_threads()
    sent = {}

    def interrupt():
        sent["at"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(signal_after, interrupt)
    timer.start()
    try:
        with optimizer.kernel_state() as optimizer_state:
            _kernels.train_epoch(net, X, Y, order, batch_size, params, *optimizer_state,
                                 threads=helper_arg(True))
        interrupted = False
    except KeyboardInterrupt:
        interrupted = True
    ended = time.monotonic()
    timer.join()
    threads_after = n_threads()

    # Training goes on: a short epoch from the interrupted state, with and
    # without the helper, from identical copies.
    results = []
    for helper_thread in (True, False):
        p = params.copy()
        o = AdamOptimizer(layout.n_params, np.float32, 1e-3, 0.9, 0.999, 1e-8)
        o.moment_1[...] = optimizer.moment_1
        o.moment_2[...] = optimizer.moment_2
        o.t = optimizer.t
        with o.kernel_state() as optimizer_state:
            loss = _kernels.train_epoch(net, X[:500], Y[:500], np.arange(500), batch_size, p,
                                        *optimizer_state,
                                        threads=helper_arg(helper_thread))
        results.append((loss, p.tobytes(), o.moment_1.tobytes(), o.moment_2.tobytes(), o.t))
    print(json.dumps(dict(
        interrupted=interrupted,
        signal_sent="at" in sent,
        stopped_after_signal=ended - sent.get("at", float("nan")),
        t=optimizer.t,
        n_batches=-(-n_rows // batch_size),
        finite=bool(np.isfinite(params).all()),
        threads_before=threads_before,
        threads_after=threads_after,
        next_epoch_finite=bool(np.isfinite(results[0][0])),
        next_epoch_same_with_and_without_helper=results[0] == results[1],
    )), flush=True)
""")


@needs_proc_tasks
@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs POSIX signals")
def test_ctrl_c_during_a_helper_thread_epoch_ends_cleanly(tmp_path):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               SIGNAL_AFTER=str(INTERRUPT_SIGNAL_AFTER))
    try:
        result = subprocess.run([sys.executable, "-c", INTERRUPT_SCRIPT], capture_output=True,
                                text=True, timeout=INTERRUPT_KILL_AFTER, env=env,
                                cwd=tmp_path, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"train_epoch with a helper thread hung after SIGINT; output: {exc.stdout!r}")
    assert result.returncode == 0, f"the subprocess crashed:\n{result.stderr[-3000:]}"
    run = json.loads(result.stdout.strip().splitlines()[-1])
    assert run["signal_sent"] and run["interrupted"], run
    assert run["stopped_after_signal"] < INTERRUPT_STOP_WITHIN, run
    assert 0 < run["t"] < run["n_batches"], f"Adam's t was not written back: {run}"
    assert run["finite"], run
    assert run["threads_after"] == run["threads_before"], f"helper not joined: {run}"
    assert run["next_epoch_finite"] and run["next_epoch_same_with_and_without_helper"], run


# ---------------------------------------------------------------------------
# HelperThreadChoice
# ---------------------------------------------------------------------------


class FakeClock:
    """time.monotonic / time.perf_counter that move only when told to."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    perf_counter = monotonic


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(_threads, "time", types.SimpleNamespace(
        monotonic=fake.monotonic, perf_counter=fake.perf_counter))
    return fake


@pytest.fixture
def two_cores_two_blas_threads(monkeypatch):
    """Rule out the host: the choice sees two cores and no BLAS limit."""
    monkeypatch.delenv(_threads.THREADS_VARIABLE, raising=False)
    monkeypatch.setattr(_threads, "_usable_cores", lambda: 2)
    monkeypatch.setattr(_threads, "_blas_thread_limit", lambda: 2)


SMALL_UNITS = (8, 16, 3)
# SAMPLES_PER_CHOICE calls each way, alternately, the helper first
EXPLORATION = [True, False] * 2


def test_choice_offered_for_large_products(two_cores_two_blas_threads):
    # Large products too: the halves on two threads, each with a one-thread
    # BLAS, or BLAS's own threads.
    for rows in (64, 4096):
        choice = HelperThreadChoice.for_training((784, 1024, 1024, 10), rows, np.float32, 2)
        assert isinstance(choice, HelperThreadChoice)
        assert choice.blas_threads_alone  # the other choice: BLAS's own threads
    assert not HelperThreadChoice.for_training(SMALL_UNITS, 64, np.float64, 2).blas_threads_alone


def test_choice_ruled_out_for_batches_that_are_not_split(two_cores_two_blas_threads):
    assert HelperThreadChoice.for_training(SMALL_UNITS, SPLIT_MIN_ROWS - 1, np.float64, 2) is None
    assert HelperThreadChoice.for_training(SMALL_UNITS, SPLIT_MIN_ROWS, np.float64, 2) is not None


def test_choice_ruled_out_on_one_core(monkeypatch):
    monkeypatch.delenv(_threads.THREADS_VARIABLE, raising=False)
    monkeypatch.setattr(_threads, "_blas_thread_limit", lambda: 2)
    monkeypatch.setattr(_threads, "_usable_cores", lambda: 1)
    assert HelperThreadChoice.for_training(SMALL_UNITS, 64, np.float64, 2) is None
    monkeypatch.setattr(_threads, "_usable_cores", lambda: 2)
    assert HelperThreadChoice.for_training(SMALL_UNITS, 64, np.float64, 2) is not None
    # A count of threads already read is taken as it is.
    assert HelperThreadChoice.for_training(SMALL_UNITS, 64, np.float64, 2, threads=1) is None
    monkeypatch.setattr(_threads, "_usable_cores", lambda: 1)
    assert HelperThreadChoice.for_training(SMALL_UNITS, 64, np.float64, 2, threads=2) is not None


@needs_two_blas_threads
def test_choice_ruled_out_under_a_one_thread_blas_limit(monkeypatch):
    monkeypatch.delenv(_threads.THREADS_VARIABLE, raising=False)
    monkeypatch.setattr(_threads, "_usable_cores", lambda: 2)
    with threadpool_limits(limits=2, user_api="blas"):  # the control: allowed
        assert _threads._blas_thread_limit() == 2
        assert HelperThreadChoice.for_training(SMALL_UNITS, 64, np.float64, 2) is not None
        with threadpool_limits(limits=1, user_api="blas"):
            assert _threads._blas_thread_limit() == 1
            assert HelperThreadChoice.for_training(SMALL_UNITS, 64, np.float64, 2) is None


def test_choice_explores_both_then_keeps_the_faster_per_row(clock):
    choice = HelperThreadChoice((SMALL_UNITS, 64, "<f8"))
    # Alternately, the helper first, SAMPLES_PER_CHOICE calls each way.
    assert _threads.SAMPLES_PER_CHOICE == 2
    seconds = {True: [9.0, 2.0], False: [1.0, 0.9]}  # per 100 / 40 rows
    rows = {True: 100, False: 40}
    for call in range(_threads.SAMPLES_PER_CHOICE):
        for expected in (True, False):
            assert choice.use_helper() is expected
            choice.record(expected, seconds[expected][call], rows[expected])
            clock.now += 0.05
    # Fastest per row: with the helper 0.020 s (the 0.090 outlier does not
    # count), without 0.0225 s, though fewer seconds per call.
    for _ in range(3):
        assert choice.use_helper() is True
    timed = choice._timings[True]
    assert timed[:3] == (1000.0, 0.02, 2) and timed.last == pytest.approx(1000.1)


def test_choice_times_each_way_in_a_row_where_switching_is_costly(clock):
    # Training calls that may use OpenBLAS's threads: a call with the helper
    # right after theirs is slowed, so each way's calls are timed in a row.
    choice = HelperThreadChoice(((784, 1024, 1024, 10), 512, "<f4"),
                                blas_threads_alone=True, back_to_back=True)
    for expected in [True, True, False, False]:
        assert choice.use_helper() is expected
        choice.record(expected, 1.0 if expected else 2.0, 1000)
    assert choice.use_helper() is True
    # Not between L-BFGS evaluations, nor without OpenBLAS's threads.
    for blas_threads_alone, back_to_back in [(True, False), (False, True)]:
        other = HelperThreadChoice(((64, 100, 10), 1797, "<f8", back_to_back), 2,
                                   blas_threads_alone, back_to_back)
        for expected in EXPLORATION:
            assert other.use_helper() is expected
            other.record(expected, 1.0, 1797)
    # Further calls do not change the choice until the timings expire.
    choice.record(True, 5.0, 100)
    assert choice.use_helper() is True


def time_both_ways(choice, clock, helper_seconds, plain_seconds):
    """Time both ways as training on small layers does: alternately, then
    once more the slower way, CONFIRM_SECONDS later (the fake clock is left
    there)."""
    for used in EXPLORATION:
        assert choice.use_helper() is used
        choice.record(used, helper_seconds if used else plain_seconds, 10)
    clock.now += _threads.CONFIRM_SECONDS
    slower = helper_seconds > plain_seconds
    assert choice.use_helper() is slower
    choice.record(slower, helper_seconds if slower else plain_seconds, 10)


def test_choice_times_again_after_decision_seconds(clock):
    choice = HelperThreadChoice((SMALL_UNITS, 64, "<f8"))
    # Rounds start at 1000: the helper faster, by less than MARGIN_PER_DECISION.
    time_both_ways(choice, clock, 1.0, 1.05)
    clock.now = 1000.0 + _threads.DECISION_SECONDS - 0.5
    assert choice.use_helper() is True      # both timings still young: the faster
    clock.now = 1000.0 + _threads.DECISION_SECONDS + 0.5
    # Both expired: timed again, alternately; now without is faster.
    time_both_ways(choice, clock, 3.0, 2.0)
    assert choice.use_helper() is False


def test_choice_times_the_slower_way_once_more_after_confirm_seconds(clock):
    # Both helper calls ran while the other core was busy for a moment:
    # without the helper looks faster, until the helper is timed again.
    choice = HelperThreadChoice((SMALL_UNITS, 64, "<f8"))
    for used in EXPLORATION:
        assert choice.use_helper() is used
        choice.record(used, 2.0 if used else 1.0, 10)
    clock.now += _threads.CONFIRM_SECONDS - 0.01
    assert choice.use_helper() is False
    clock.now += 0.01
    assert choice.use_helper() is True           # the slower way, once more
    choice.record(True, 0.5, 10)                 # the other core is free again
    assert choice.use_helper() is False          # now the slower way, confirmed once
    choice.record(False, 1.0, 10)
    for _ in range(3):
        assert choice.use_helper() is True


@pytest.mark.parametrize("helper_faster", [True, False])
def test_openblas_threads_slower_are_not_timed_once_more(clock, helper_faster):
    # Where the other way is OpenBLAS's threads and switching back to the
    # helper is costly, only the helper's timings are confirmed: OpenBLAS's
    # calls have no spinning neighbour to be slowed by.
    seconds = {True: 0.01, False: 0.015} if helper_faster else {True: 0.015, False: 0.01}

    def run(choice, used):
        clock.now += seconds[used]
        choice.record(used, seconds[used], 1000)

    costly = HelperThreadChoice(((784, 1024, 1024, 10), 512, "<f4"),
                                blas_threads_alone=True, back_to_back=True)
    for used in (True, True, False, False):
        assert costly.use_helper() is used
        run(costly, used)
    clock.now += _threads.CONFIRM_SECONDS
    # Confirmed: the helper, once more, then the faster; not: the helper.
    assert costly.use_helper() is True
    run(costly, True)
    assert costly.use_helper() is helper_faster
    # The same timings where a switch is not costly: the slower way once more.
    cheap = HelperThreadChoice(((784, 1024, 1024, 10), 256, "<f4"))
    for used in EXPLORATION:
        assert cheap.use_helper() is used
        run(cheap, used)
    clock.now += _threads.CONFIRM_SECONDS
    assert cheap.use_helper() is not helper_faster


def test_choice_spread_over_confirm_seconds_is_not_timed_once_more(clock):
    # The slower way's calls already lie CONFIRM_SECONDS apart (two fits, or
    # epochs of a partial_fit stream): no confirmation.
    choice = HelperThreadChoice((SMALL_UNITS, 64, "<f8"))
    for used, seconds in [(True, 1.0), (False, 2.0), (True, 1.0), (False, 2.0)]:
        assert choice.use_helper() is used
        choice.record(used, seconds, 10)
        clock.now += _threads.CONFIRM_SECONDS
    for _ in range(3):
        assert choice.use_helper() is True
        clock.now += _threads.CONFIRM_SECONDS
    # The control: the same calls without the pause between the slower way's.
    choice = HelperThreadChoice((SMALL_UNITS, 128, "<f8"))
    for used, seconds in [(True, 1.0), (True, 1.0), (False, 2.0), (False, 2.0)]:
        choice.record(used, seconds, 10)
    clock.now += _threads.CONFIRM_SECONDS
    assert choice.use_helper() is False


@pytest.mark.parametrize("helper_seconds, plain_seconds, decisions", [
    (1.0, 1.5, 5.0),     # 50 % slower without the helper: kept 5 x DECISION_SECONDS
    (2.4, 1.2, 10.0),    # twice as slow with it: 10 x
    (1.0, 9.0, 10.0),    # nine times as slow: no longer than MAX_DECISIONS x
])
def test_choice_with_a_wide_margin_is_kept_longer(clock, helper_seconds, plain_seconds,
                                                  decisions):
    assert (_threads.MARGIN_PER_DECISION, _threads.MAX_DECISIONS) == (0.1, 10)
    faster = helper_seconds < plain_seconds
    choice = HelperThreadChoice((SMALL_UNITS, 64, "<f8"))
    time_both_ways(choice, clock, helper_seconds, plain_seconds)  # rounds start at 1000
    clock.now = 1000.0 + decisions * _threads.DECISION_SECONDS - 0.5
    for _ in range(2):  # still decided: no timing round of the other way
        assert choice.use_helper() is faster
        choice.record(faster, helper_seconds if faster else plain_seconds, 10)
    clock.now = 1000.0 + decisions * _threads.DECISION_SECONDS + 0.5
    # Expired: both ways timed again, alternately, the helper first.
    for expected in EXPLORATION:
        assert choice.use_helper() is expected
        choice.record(expected, helper_seconds if expected else plain_seconds, 10)
    assert choice.use_helper() is faster


def test_choice_timings_are_shared_by_network_batch_size_and_dtype(
        clock, two_cores_two_blas_threads):
    first = HelperThreadChoice.for_training(list(SMALL_UNITS), 64, np.float64, 2)
    for _ in range(_threads.SAMPLES_PER_CHOICE):
        first.record(True, 1.0, 64)
    same = HelperThreadChoice.for_training(SMALL_UNITS, 64, np.dtype("float64"), 2)
    assert same.use_helper() is False       # the helper's timings are known
    for other in (HelperThreadChoice.for_training(SMALL_UNITS, 128, np.float64, 2),
                  HelperThreadChoice.for_training(SMALL_UNITS, 64, np.float32, 2),
                  HelperThreadChoice.for_training((8, 17, 3), 64, np.float64, 2)):
        assert other.use_helper() is True   # nothing known for these


def test_timing_calls_cover_whole_batches_worth_timing_call_seconds(clock):
    choice = HelperThreadChoice((SMALL_UNITS, 64, "<f8"))
    # Nothing timed yet: no estimate, the whole epoch.
    assert choice.call_rows(3000, 64) == 3000
    choice.record(True, 0.5, 3000)        # 1/6000 s per row, 64 rows 0.0107 s
    assert _threads.TIMING_CALL_SECONDS == 0.05
    assert choice.call_rows(3000, 64) == 5 * 64   # ceil(0.05 / 0.0107) batches
    assert choice.call_rows(100, 64) == 100       # no more than what is left
    choice.record(False, 0.5, 5 * 64)      # 1/640 s per row: slower
    assert choice.call_rows(3000, 64) == 5 * 64   # the fastest per row sets it
    choice.record(True, 0.05, 300)
    choice.record(False, 0.5, 320)
    # Both ways timed twice: the faster's calls cover the rest of an epoch ...
    assert choice.call_rows(3000, 64) == 3000 and choice.use_helper() is True
    # ... until the slower way is timed once more: whole batches again.
    clock.now += _threads.CONFIRM_SECONDS
    assert choice.call_rows(3000, 64) == 5 * 64 and choice.use_helper() is False
    # At least one batch, however slow a row.
    slow = HelperThreadChoice(((8, 4096, 3), 64, "<f8"))
    slow.record(True, 10.0, 64)
    assert slow.call_rows(3000, 64) == 64


def test_call_rows_and_use_helper_decide_once(clock):
    # The helper is faster; the slower way's confirmation falls due between
    # sizing a call as the rest of the epoch and choosing its threads: the
    # call still runs the way it was sized for, and the next one confirms.
    choice = HelperThreadChoice((SMALL_UNITS, 64, "<f8"))
    for used, seconds in [(True, 1.0), (True, 1.0), (False, 2.0), (False, 2.0)]:
        choice.record(used, seconds, 10)
    clock.now += _threads.CONFIRM_SECONDS - 0.001
    assert choice.call_rows(3000, 64) == 3000
    clock.now += 0.002
    assert choice.use_helper() is True
    choice.record(True, 1.0, 10)
    assert choice.use_helper() is False     # decided afresh: the confirmation


def test_helper_call_after_openblas_threads_only_settles(clock):
    # After a call on OpenBLAS's threads, the next call with the helper trains
    # while OpenBLAS's idle worker winds down: it is not counted.
    choice = HelperThreadChoice(((784, 1024, 1024, 10), 512, "<f4"),
                                blas_threads_alone=True, back_to_back=True)
    for used, seconds in [(True, 1.0), (True, 1.05), (False, 1.2), (False, 1.3)]:
        assert choice.use_helper() is used
        choice.record(used, seconds, 1000)
    assert choice.use_helper() is True    # the helper is faster
    assert _threads.OPENBLAS_SPIN_SECONDS == 0.1
    clock.now += 0.05
    choice.record(True, 0.05, 1000)       # begun as OpenBLAS's call ended: not counted
    assert choice._timings[True][1:3] == (0.001, 2)
    assert choice.use_helper() is True
    clock.now += 0.05
    choice.record(True, 0.05, 1000)       # begun 0.05 s after it: not counted either
    assert choice._timings[True][1:3] == (0.001, 2)
    clock.now += 0.91
    choice.record(True, 0.9, 1000)        # begun 0.11 s after it: counted
    assert choice._timings[True][1:3] == (0.0009, 3)
    # Without OpenBLAS's threads (small products), and between calls that
    # are not back to back (L-BFGS evaluations), every call counts.
    for units, blas_threads_alone, back_to_back in [(SMALL_UNITS, False, True),
                                                    ((64, 100, 10), True, False)]:
        other = HelperThreadChoice((units, 1797, "<f8"), blas_threads_alone, back_to_back)
        other.record(False, 1.0, 10)
        other.record(True, 9.0, 10)
        assert other._timings[True][1:3] == (0.9, 1)


def test_settling_spans_the_choices_of_a_stream(clock):
    # Each partial_fit call makes a HelperThreadChoice of its own: the call
    # with the helper after another call's OpenBLAS threads settles too.
    key = ((784, 1024, 1024, 10), 512, "<f4")
    first = HelperThreadChoice(key, blas_threads_alone=True, back_to_back=True)
    for used, seconds in [(True, 1.0), (True, 1.05), (False, 1.2), (False, 1.3)]:
        first.record(used, seconds, 1000)
    second = HelperThreadChoice(key, blas_threads_alone=True, back_to_back=True)
    assert second.use_helper() is True
    clock.now += 0.05
    second.record(True, 0.05, 1000)       # settling: not counted
    assert second._timings[True][1:3] == (0.001, 2)
    clock.now += _threads.OPENBLAS_SPIN_SECONDS + 0.9
    third = HelperThreadChoice(key, blas_threads_alone=True, back_to_back=True)
    third.record(True, 0.9, 1000)         # begun after OpenBLAS's spin: counted
    assert third._timings[True][1:3] == (0.0009, 3)


def test_training_calls_are_back_to_back_and_lbfgs_calls_are_not(
        monkeypatch, two_cores_two_blas_threads):
    made = []
    real_init = HelperThreadChoice.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(HelperThreadChoice, "__init__", init)
    X, y = make_data("multiclass", n_samples=301)
    fit_quiet(FastClassifier(hidden_layer_sizes=(16,), batch_size=64, max_iter=2), X, y)
    fit_quiet(FastClassifier(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=2), X, y)
    assert [choice.back_to_back for choice in made] == [True, False]


@pytest.fixture
def blas_thread_counts_restored():
    """Put every BLAS's thread count back as it was, whatever the test leaves."""
    libraries = ThreadpoolController().select(user_api="blas").lib_controllers
    counts = [library.num_threads for library in libraries]
    yield
    for library, count in zip(libraries, counts):
        library.set_num_threads(count)


@needs_two_blas_threads
def test_overlapping_fits_do_not_rule_out_the_helper_for_good(monkeypatch,
                                                             blas_thread_counts_restored):
    # Two fits in two Python threads, A starting first and ending first: each
    # applies the thread policy for its whole epoch loop (small products: one
    # BLAS thread) and undoes it at its end.
    monkeypatch.setattr(_threads, "_usable_cores", lambda: 2)
    with threadpool_limits(limits=2, user_api="blas"):
        assert HelperThreadChoice.for_training(SMALL_UNITS, 64, np.float64, 2) is not None
        fit_a = _threads.single_blas_thread()
        fit_a.__enter__()
        fit_b = _threads.single_blas_thread()
        fit_b.__enter__()
        fit_a.__exit__(None, None, None)
        fit_b.__exit__(None, None, None)
        # Both fits are over: no limit holds, so nothing rules the helper out.
        assert _threads._blas_thread_limit() == 2
        assert HelperThreadChoice.for_training(SMALL_UNITS, 64, np.float64, 2) is not None


# ---------------------------------------------------------------------------
# the estimators follow the choice, epoch by epoch
# ---------------------------------------------------------------------------


def spy_on_train_epoch(monkeypatch, on_call=None, calls=None):
    """Record the helper_thread flag of every train_epoch call the estimators make.

    ``on_call(used_helper, share)`` is told each call's share of its epoch's
    rows; ``calls``, a list, gets (used_helper, rows) of each call.
    """
    flags = []
    real_train_epoch = _kernels.train_epoch

    def train_epoch(*args, threads=None, rows=None, **kwargs):
        used = threads is not None
        flags.append(used)
        n_rows = len(args[3])   # the sample order: the epoch's rows
        start, stop = rows if rows is not None else (0, n_rows)
        if calls is not None:
            calls.append((used, stop - start))
        if on_call is not None:
            on_call(used, (stop - start) / n_rows)
        return real_train_epoch(*args, threads=threads, rows=rows, **kwargs)

    monkeypatch.setattr(_kernels, "train_epoch", train_epoch)
    return flags


def epoch_seconds_by_choice(monkeypatch, clock, helper_seconds, plain_seconds, calls=None):
    """Make each epoch seem to take the given seconds, by whether it used the
    helper; a call over part of an epoch, that part of them."""
    # (the clock fixture makes mlpfast._threads time calls with the fake clock)
    def advance(used_helper, share):
        clock.now += (helper_seconds if used_helper else plain_seconds) * share

    return spy_on_train_epoch(monkeypatch, advance, calls)


CHOICE_FIT = dict(hidden_layer_sizes=(16,), batch_size=64, max_iter=10, tol=0.0,
                  n_iter_no_change=100, random_state=0)


@engine_only
@pytest.mark.parametrize("helper_faster", [True, False])
def test_fit_explores_then_keeps_the_faster_choice(monkeypatch, clock,
                                                   two_cores_two_blas_threads, helper_faster):
    X, y = make_data("multiclass", n_samples=301)
    # Epochs of 0.1 or 0.3 s: 10 of them stay within DECISION_SECONDS.
    calls = []
    flags = epoch_seconds_by_choice(monkeypatch, clock, *((0.1, 0.3) if helper_faster
                                                          else (0.3, 0.1)), calls)
    fit_quiet(FastClassifier(**CHOICE_FIT), X, y)
    assert (_threads.SAMPLES_PER_CHOICE, _threads.TIMING_CALL_SECONDS) == (2, 0.05)
    # The first call, with nothing timed yet, is a whole epoch of 301 rows
    # (5 batches of 64).  Then the timing calls cover whole batches worth
    # 0.05 s at the fastest rate timed so far (3 batches at 0.1 s per epoch,
    # 1 at 0.3 s), each epoch's last call what is left of it.  Once both ways
    # are timed twice, the faster trains whole epochs, but for one more
    # timing of the slower way once its round is CONFIRM_SECONDS old (its
    # calls were timed less than CONFIRM_SECONDS apart).
    if helper_faster:
        expected = ([(True, 301)]                          # epoch 1
                    + [(False, 192), (True, 109)]           # epoch 2
                    + [(False, 192), (True, 109)]           # epoch 3
                    + [(False, 192), (True, 109)]           # epoch 4: the confirmation
                    + [(True, 301)] * 6)
    else:
        expected = ([(True, 301)]
                    + [(False, 64), (True, 192), (False, 45)]
                    + [(False, 301)]
                    + [(True, 192), (False, 109)]           # the confirmation
                    + [(False, 301)] * 6)
    assert calls == expected
    assert sum(rows for _, rows in calls) == 10 * 301
    timings = _threads._helper_thread_timings[((8, 16, 3), 64, "<f8", 2)]
    # seconds per row (of the fake clock, whose sums of 0.1s round)
    assert timings[True][1] == pytest.approx((0.1 if helper_faster else 0.3) / 301, rel=1e-9)
    # A second fit of the same network within DECISION_SECONDS reuses them.
    del flags[:]
    fit_quiet(FastClassifier(**CHOICE_FIT), X, y)
    assert flags == [helper_faster] * 10


@engine_only
def test_partial_fit_stream_times_each_choice_across_calls(monkeypatch, clock,
                                                          two_cores_two_blas_threads):
    X, y = make_data("reg1", n_samples=640)
    flags = epoch_seconds_by_choice(monkeypatch, clock, 0.1, 0.2)
    est = FastRegressor(hidden_layer_sizes=(16,), batch_size=64, random_state=0)
    for chunk in np.split(np.arange(640), 10):  # each call: one epoch, one split batch
        est.partial_fit(X[chunk], y[chunk])
    # The slower way's calls lie 0.3 s apart (CONFIRM_SECONDS or more): no
    # confirmation.
    assert flags == EXPLORATION + [True] * 6


@engine_only
def test_fit_ruled_out_never_asks_for_the_helper(monkeypatch):
    monkeypatch.delenv(_threads.THREADS_VARIABLE, raising=False)
    monkeypatch.setattr(_threads, "_usable_cores", lambda: 1)
    flags = spy_on_train_epoch(monkeypatch)
    X, y = make_data("binary", n_samples=301)
    fit_quiet(FastClassifier(**CHOICE_FIT), X, y)
    assert flags == [False] * 10
    assert _threads._helper_thread_timings == {}


# ---------------------------------------------------------------------------
# estimators: helper forced on, forced off, ruled out; and scikit-learn
# ---------------------------------------------------------------------------

# two_batch_calls: every train_epoch call covers two batches (what is left
# at the end of an epoch), alternately with and without the helper, as
# timing calls do.
HELPER_MODES = ("forced_on", "forced_off", "ruled_out", "two_batch_calls")


def apply_helper_mode(monkeypatch, mode):
    """Patch HelperThreadChoice so that fits run as ``mode`` says, whatever the host."""
    if mode == "ruled_out":
        monkeypatch.setattr(HelperThreadChoice, "for_training",
                            classmethod(lambda cls, units, batch_size, dtype, *_, **__: None))
        return
    monkeypatch.setattr(
        HelperThreadChoice, "for_training",
        classmethod(lambda cls, units, batch_size, dtype, n_parts, back_to_back=True, **_:
                    cls((tuple(units), batch_size, np.dtype(dtype).str, n_parts), n_parts,
                        back_to_back=back_to_back)))
    if mode == "two_batch_calls":
        monkeypatch.setattr(HelperThreadChoice, "call_rows",
                            lambda self, n_rows, batch_size: min(n_rows, 2 * batch_size))
        calls = itertools.count()
        monkeypatch.setattr(HelperThreadChoice, "use_helper",
                            lambda self: next(calls) % 2 == 0)
        return
    use = mode == "forced_on"
    monkeypatch.setattr(HelperThreadChoice, "use_helper", lambda self: use)


def fit_in_mode(monkeypatch, mode, make_estimator, X, y, sample_weight=None):
    """Fit a new estimator under a helper mode; return it and its recorded warnings."""
    with monkeypatch.context() as patch:
        apply_helper_mode(patch, mode)
        calls = []
        flags = spy_on_train_epoch(patch, calls=calls)
        est = make_estimator()
        caught = fit_recording_warnings(est, X, y, sample_weight=sample_weight)
    if mode == "two_batch_calls":
        assert flags[:4] == [True, False, True, False], flags
        assert max(rows for _, rows in calls) == 128, calls   # the batches are of 64
    else:
        assert flags and all(flag == (mode == "forced_on") for flag in flags), (mode, flags)
    return est, caught


ESTIMATOR_CASES = {
    "multiclass-adam": ("multiclass", dict(solver="adam", learning_rate_init=0.01)),
    "multilabel-sgd": ("multilabel", dict(solver="sgd", momentum=0.9,
                                          nesterovs_momentum=True, learning_rate_init=0.05)),
    "binary-sgd-classic-es": ("binary", dict(solver="sgd", momentum=0.9,
                                             nesterovs_momentum=False, early_stopping=True,
                                             learning_rate_init=0.05)),
    "reg2-adam-noshuffle": ("reg2", dict(solver="adam", shuffle=False)),
    "reg1-sgd-invscaling": ("reg1", dict(solver="sgd", learning_rate="invscaling",
                                         learning_rate_init=0.2)),
}


@engine_only
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", list(ESTIMATOR_CASES))
def test_fit_same_in_every_helper_mode_and_matches_sklearn(monkeypatch, case, dtype, weighted):
    task, solver_params = ESTIMATOR_CASES[case]
    # 301 rows in batches of 64: four split batches and a split last one of
    # 45 (with early stopping: 240 training rows, the last batch 48).
    X, y = make_data(task, n_samples=301, dtype=dtype)
    sample_weight = (np.random.default_rng(1).uniform(0.2, 2.0, len(X)) if weighted
                     else None)
    params = dict(hidden_layer_sizes=(24, 12), activation="tanh", batch_size=64,
                  max_iter=4, random_state=3, **solver_params)
    fast_cls, ref_cls = ((FastClassifier, SkMLPClassifier) if task in
                         ("binary", "multiclass", "multilabel")
                         else (FastRegressor, SkMLPRegressor))
    fits = {mode: fit_in_mode(monkeypatch, mode, lambda: fast_cls(**params), X, y,
                              sample_weight)
            for mode in HELPER_MODES}

    forced_on, on_warnings = fits["forced_on"]
    for mode in ("forced_off", "ruled_out", "two_batch_calls"):
        other, other_warnings = fits[mode]
        assert_weights_identical(forced_on, other)
        assert forced_on.loss_curve_ == other.loss_curve_, mode
        assert forced_on.validation_scores_ == other.validation_scores_, mode
        assert (forced_on.n_iter_, forced_on.t_) == (other.n_iter_, other.t_), mode
        assert on_warnings == other_warnings, mode

    reference = ref_cls(**params)
    ref_warnings = fit_recording_warnings(reference, X, y, sample_weight=sample_weight)
    assert_same_warnings(on_warnings, ref_warnings)
    rtol, atol = (RTOL64, ATOL64) if dtype == np.float64 else (RTOL32, ATOL32)
    assert_fitted_close(forced_on, reference, X, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------
# fits with helper threads in two Python threads at once
# ---------------------------------------------------------------------------


@engine_only
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_concurrent_fits_with_helper_threads_match_sequential(monkeypatch,
                                                             blas_thread_counts_restored):
    apply_helper_mode(monkeypatch, "forced_on")
    flags = spy_on_train_epoch(monkeypatch)
    X, y_class = make_data("multiclass", n_samples=600)
    _, y_reg = make_data("reg1", n_samples=600)
    jobs = [
        [(FastClassifier, y_class, dict(solver="adam", random_state=i)),
         (FastRegressor, y_reg, dict(solver="sgd", momentum=0.9, random_state=i))]
        for i in range(2)
    ]

    def run(thread_jobs, barrier=None):
        if barrier is not None:
            barrier.wait()
        return [cls(hidden_layer_sizes=(32, 16), batch_size=64, max_iter=5, **params)
                .fit(X, y) for cls, y, params in thread_jobs]

    expected = [run(thread_jobs) for thread_jobs in jobs]
    assert flags and all(flags)
    barrier = threading.Barrier(len(jobs))
    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = [pool.submit(run, thread_jobs, barrier) for thread_jobs in jobs]
        results = [future.result(timeout=120) for future in futures]
    for got_jobs, want_jobs in zip(results, expected):
        for got, want in zip(got_jobs, want_jobs):
            assert_weights_identical(got, want)
            assert got.loss_curve_ == want.loss_curve_


@engine_only
@needs_two_blas_threads
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("large", [False, True])
def test_blas_threads_of_each_call_and_counts_restored(
        monkeypatch, blas_thread_counts_restored, solver, large):
    # Every kernel call with the helper runs BLAS on one thread; without it,
    # on one thread too for small products, on BLAS's own threads for
    # products of SINGLE_THREAD_MAX_MACS multiply-adds and more.  Afterwards
    # the counts are back.
    monkeypatch.setattr(_threads, "_usable_cores", lambda: 2)
    X, y = make_data("multiclass", n_samples=300)
    if large:
        X = np.repeat(X, 128, axis=1)  # 300 x width x 512 products
    assert (300 * X.shape[1] * 512 >= _threads.SINGLE_THREAD_MAX_MACS) == large
    kernel = "train_epoch" if solver == "adam" else "loss_gradient"
    limits = {True: set(), False: set()}
    real_kernel = getattr(_kernels, kernel)

    def spy(*args, threads=None, **kwargs):
        limits[threads is not None].add(_threads._blas_thread_limit())
        return real_kernel(*args, threads=threads, **kwargs)

    with threadpool_limits(limits=2, user_api="blas"):
        for use_helper in (True, False):
            with monkeypatch.context() as patch:
                patch.setattr(HelperThreadChoice, "use_helper", lambda self, use=use_helper: use)
                patch.setattr(_kernels, kernel, spy)
                FastClassifier(hidden_layer_sizes=(512,), solver=solver, batch_size=300,
                               max_iter=2, random_state=0).fit(X, y)
        assert _threads._blas_thread_limit() == 2
    assert limits == {True: {1}, False: {2 if large else 1}}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_rows", [31, 200, 4096 + 77])
def test_loss_gradient_same_bits_with_the_helper(dtype, n_rows):
    # The L-BFGS pass: chunks (4096 rows) split in halves, on one thread or two.
    rng = np.random.default_rng(0)
    units = (7, 16, 3)
    layout = NetworkLayout(units)
    network = _kernels.Network(layout, "tanh", "softmax", 1e-3)
    X = rng.standard_normal((n_rows, units[0])).astype(dtype)
    Y = np.eye(units[-1], dtype=dtype)[rng.integers(0, units[-1], n_rows)]
    weights = rng.uniform(0.5, 2.0, n_rows).astype(dtype)
    params = (0.3 * rng.standard_normal(layout.n_params)).astype(dtype)
    results = []
    for helper in (False, True):
        grad = np.empty_like(params)
        loss = _kernels.loss_gradient(network, X, Y, params, grad, weights,
                                      threads=helper_arg(helper))
        results.append((loss, grad))
    assert results[0][0] == results[1][0]
    assert_array_equal(results[0][1], results[1][1])


def test_a_closed_helper_thread_leaves_the_halves_on_the_calling_thread():
    problem = make_problem(np.float64, False, "softmax", "labels", False, seed=11)
    net = _kernels.Network(NetworkLayout(problem["units"]), "relu", "softmax", ALPHA)
    results = []
    for close_first in (False, True):
        params = problem["params"].copy()
        optimizer = make_optimizer("adam", len(params), np.float64)
        helper = _kernels.ThreadTeam()
        if close_first:
            helper.close()
        for order in problem["orders"]:
            with optimizer.kernel_state() as optimizer_state:
                _kernels.train_epoch(net, problem["X"], problem["Y"], order, 64, params,
                                     *optimizer_state, threads=helper)
        helper.close()  # closing twice is harmless
        results.append(params)
    assert_bitwise_equal(results[1], results[0], "closed helper")


@needs_proc_tasks
@engine_only
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_fit_ends_its_helper_thread(monkeypatch, solver):
    apply_helper_mode(monkeypatch, "forced_on")
    X, y = make_data("multiclass", n_samples=400)
    model = FastClassifier(hidden_layer_sizes=(32,), solver=solver, batch_size=64,
                           max_iter=5, random_state=0)
    # A first fit lets other libraries start the threads they keep (OpenBLAS
    # starts its pool at its first threaded call, which a loaded machine's
    # timing may route a fit to); only a thread the second fit leaves counts.
    model.fit(X, y)
    before = thread_ids()
    model.fit(X, y)
    assert thread_ids() == before


@engine_only
def test_fit_on_layers_that_may_use_openblas_threads_times_each_way_in_a_row(
        monkeypatch, clock, two_cores_two_blas_threads):
    # 64 -> 2048 -> 3, batch 64: the largest product (64 x 64 x 2048) reaches
    # SINGLE_THREAD_MAX_MACS, so the other way is OpenBLAS's threads and each
    # switch to the helper is costly: the helper's timing calls come first,
    # then OpenBLAS's, and the first call with the helper after them trains
    # without being counted.  The helper being faster, OpenBLAS's threads are
    # not timed once more (no confirmation: see _confirms).
    X, y = make_data("multiclass", n_samples=301)
    X = np.tile(X, (1, -(-64 // X.shape[1])))[:, :64]    # 64 features
    assert _threads._largest_product((64, 2048, 3), 64) >= _threads.SINGLE_THREAD_MAX_MACS
    calls = []
    epoch_seconds_by_choice(monkeypatch, clock, 0.1, 0.3, calls)
    recorded = []
    real_record = HelperThreadChoice.record

    def record(self, used_helper, seconds, n_rows):
        recorded.append((used_helper,
                         self._settling(used_helper, _threads.time.monotonic() - seconds)))
        real_record(self, used_helper, seconds, n_rows)

    monkeypatch.setattr(HelperThreadChoice, "record", record)
    fit_quiet(FastClassifier(**dict(CHOICE_FIT, hidden_layer_sizes=(2048,))), X, y)
    assert calls == ([(True, 301)]                       # epoch 1
                     + [(True, 192), (False, 109)]        # epoch 2: the helper's second,
                     + [(False, 192), (True, 109)]        # then OpenBLAS's two in a row
                     + [(True, 301)] * 7)
    # Only the helper's calls that begin within OPENBLAS_SPIN_SECONDS of the end
    # of OpenBLAS's last call are left uncounted: here the one right after it
    # (109 rows, 0.036 s) and the whole epoch after that.
    settling = [i for i, (_, was_settling) in enumerate(recorded) if was_settling]
    assert settling == [4, 5]
    assert [used for used, _ in recorded] == [used for used, _ in calls]
