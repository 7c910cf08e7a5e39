"""Batches cut into k parts on k threads (issue 16): the ThreadTeam, the cut, the count.

``train_epoch`` and ``loss_gradient`` cut each batch (or chunk) into up to
``n_parts`` parts of at least ``PART_MIN_ROWS`` rows, run them on the caller's
thread and the helpers of a ``ThreadTeam``, and add the parts' gradients up
range by range of the parameter vector in the step.  Checked here, for k = 1
to 8 (more threads than this machine's cores, on purpose):

* the threads change no bit: a team, a team with fewer helpers than parts,
  and no team give the same epoch (parameters, moments, loss), also with
  dropout and gradient clipping, dense and sparse, at batch sizes around the
  thresholds where the number of parts changes;
* the cut changes rounding only: each k matches the plain-numpy oracle
  (``tests/numpy_reference.py``, which never cuts a batch);
* ``loss_gradient`` likewise, against k = 1;
* the estimators under ``MLPFAST_NUM_THREADS=k``: the same bits with helpers
  on, off and ruled out, and scikit-learn's model within the parity
  tolerances;
* how k is chosen (``threads_available``: the variable, cores, cgroup quota,
  BLAS limits) and that a forked child process trains with threads of its own.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numpy.testing import assert_allclose
from threadpoolctl import threadpool_limits

import numpy_reference as ref
from conftest import FastClassifier, SkMLPClassifier, assert_fitted_close, engine_only, fit_quiet
from mlpfast import _kernels, _threads
from mlpfast._kernels import MAX_PARTS, PART_MIN_ROWS
from mlpfast._network import NetworkLayout
from test_helper_thread import (
    ALPHA,
    TARGETS,
    UNITS,
    apply_helper_mode,
    assert_bitwise_equal,
    assert_close_to_reference,
    assert_same_training_state,
    make_optimizer,
    make_problem,
    reference_moments,
    reference_state,
)

PART_COUNTS = range(1, 9)
# Around the thresholds where a batch gets one part more (multiples of
# PART_MIN_ROWS) and a last short batch (235 rows = 3 x 64 + 43 and so on).
BATCH_SIZES = (1, PART_MIN_ROWS - 1, 2 * PART_MIN_ROWS - 1, 2 * PART_MIN_ROWS, 97, 200, 235)
N_ROWS = 235


def team_for(n_parts, helpers=None):
    """A ThreadTeam of ``helpers`` (default: one per part beyond the first), or None."""
    helpers = n_parts - 1 if helpers is None else helpers
    return _kernels.ThreadTeam(helpers) if helpers > 0 else None


def run_epochs(problem, net, solver, batch_size, n_parts, team, dropout_rate=0.0,
               max_grad_norm=0.0):
    """Train from the problem's start over its row orders with n_parts parts; the end state."""
    params = problem["params"].copy()
    optimizer = make_optimizer(solver, len(params), problem["dtype"])
    optimizer.max_grad_norm = max_grad_norm or None
    dropout = (_kernels.Dropout([dropout_rate] * (len(problem["units"]) - 2), 12345)
               if dropout_rate else None)
    losses = []
    for order in problem["orders"]:
        with optimizer.kernel_state() as optimizer_state:
            losses.append(_kernels.train_epoch(
                net, problem["X"], problem["Y"], order, batch_size, params, *optimizer_state,
                problem["weights"], threads=team, n_parts=n_parts, dropout=dropout))
    state = dict(losses=np.array(losses), params=params, moment_1=optimizer.moment_1)
    if solver == "adam":
        state.update(moment_2=optimizer.moment_2, t=optimizer.t)
    return state


@pytest.mark.parametrize("n_parts", PART_COUNTS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_threads_change_no_bit_for_any_part_count(dtype, sparse, n_parts):
    full, few = team_for(n_parts), team_for(n_parts, helpers=min(1, n_parts - 1))
    try:
        for b, batch_size in enumerate(BATCH_SIZES):
            output, kind = TARGETS[b % len(TARGETS)]
            problem = make_problem(dtype, sparse, output, kind, weighted=b % 2 == 1, seed=b,
                                   n_rows=N_ROWS)
            net = _kernels.Network(NetworkLayout(UNITS), "tanh", output, ALPHA)
            solver = ("adam", "sgd_nesterov")[b % 2]
            alone = run_epochs(problem, net, solver, batch_size, n_parts, None)
            where = f"k={n_parts} batch_size={batch_size}"
            assert_same_training_state(run_epochs(problem, net, solver, batch_size, n_parts,
                                                  full), alone, f"{where} team")
            # Fewer helpers than parts: the others run on the caller's thread.
            assert_same_training_state(run_epochs(problem, net, solver, batch_size, n_parts,
                                                  few), alone, f"{where} one helper")
    finally:
        for team in (full, few):
            if team is not None:
                team.close()


@pytest.mark.parametrize("n_parts", [3, 5, 8])
def test_threads_change_no_bit_with_dropout_and_clipping(n_parts):
    problem = make_problem(np.float64, False, "softmax", "labels", False, seed=7,
                           units=(6, 40, 30, 3), n_rows=N_ROWS)
    net = _kernels.Network(NetworkLayout(problem["units"]), "relu", "softmax", ALPHA)
    team = team_for(n_parts)
    try:
        for batch_size in (64, 200):
            rules = dict(dropout_rate=0.3, max_grad_norm=0.05)
            assert_same_training_state(
                run_epochs(problem, net, "adam", batch_size, n_parts, team, **rules),
                run_epochs(problem, net, "adam", batch_size, n_parts, None, **rules),
                f"k={n_parts} batch_size={batch_size}")
    finally:
        team.close()


@pytest.mark.parametrize("n_parts", PART_COUNTS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_cut_epoch_matches_numpy_reference(dtype, n_parts):
    # The oracle computes each batch whole; the parts change rounding only
    # (tolerances: test_helper_thread.REFERENCE_TOLERANCES, whose reasoning
    # holds for k partial sums as for two: a few more roundings of the same terms).
    team = team_for(n_parts)
    try:
        for c, batch_size in enumerate((64, 200, 235)):
            output, kind = ("softmax", "labels") if c % 2 == 0 else ("identity", "values")
            problem = make_problem(dtype, False, output, kind, False, seed=200 + c)
            state = reference_state("adam", len(problem["params"]))
            expected_params, expected_loss_sum = ref.epoch(
                problem["params"], UNITS, problem["X"], problem["Y"], problem["orders"][0],
                batch_size, "relu", output, ALPHA, state, clip_eps=np.finfo(dtype).eps)
            net = _kernels.Network(NetworkLayout(UNITS), "relu", output, ALPHA)
            params = problem["params"].copy()
            optimizer = make_optimizer("adam", len(params), dtype)
            with optimizer.kernel_state() as optimizer_state:
                loss_sum = _kernels.train_epoch(
                    net, problem["X"], problem["Y"], problem["orders"][0], batch_size, params,
                    *optimizer_state, None, threads=team, n_parts=n_parts)
            where = f"k={n_parts} batch_size={batch_size}"
            assert_close_to_reference(params, expected_params, dtype, f"{where}: params")
            assert_close_to_reference(loss_sum, expected_loss_sum, dtype, f"{where}: loss")
            for name, expected in reference_moments("adam", state).items():
                assert_close_to_reference(getattr(optimizer, name), expected, dtype,
                                          f"{where}: {name}")
    finally:
        if team is not None:
            team.close()


@pytest.mark.parametrize("n_parts", PART_COUNTS)
@pytest.mark.parametrize("n_rows", [40, 300, 5000])
def test_loss_gradient_for_any_part_count(n_parts, n_rows):
    # 5000 rows: two chunks, the second with fewer parts than the first.
    problem = make_problem(np.float64, False, "softmax", "values", True, seed=5,
                           n_rows=n_rows)
    net = _kernels.Network(NetworkLayout(UNITS), "relu", "softmax", ALPHA)
    Y = np.ascontiguousarray(problem["Y"], dtype=np.float64)

    def loss_and_grad(parts, team):
        grad = np.empty_like(problem["params"])
        loss = _kernels.loss_gradient(net, problem["X"], Y, problem["params"], grad,
                                      problem["weights"], threads=team, n_parts=parts)
        return loss, grad

    team = team_for(n_parts)
    try:
        loss, grad = loss_and_grad(n_parts, team)
        team_loss, team_grad = loss_and_grad(n_parts, None)
    finally:
        if team is not None:
            team.close()
    assert team_loss == loss
    assert_bitwise_equal(team_grad, grad, f"k={n_parts} gradient")
    whole_loss, whole_grad = loss_and_grad(1, None)
    # Rounding only: sums of up to 5000 float64 terms in other groupings.
    assert_allclose(loss, whole_loss, rtol=1e-13)
    assert_allclose(grad, whole_grad, rtol=1e-11, atol=1e-14 * np.max(np.abs(whole_grad)))


def test_part_counts_out_of_range_are_refused():
    problem = make_problem(np.float64, False, "softmax", "labels", False, seed=1)
    net = _kernels.Network(NetworkLayout(UNITS), "relu", "softmax", ALPHA)
    params = problem["params"].copy()
    optimizer = make_optimizer("adam", len(params), np.float64)
    for bad in (0, MAX_PARTS + 1):
        with pytest.raises(ValueError, match="n_parts must be in"):
            with optimizer.kernel_state() as optimizer_state:
                _kernels.train_epoch(net, problem["X"], problem["Y"], problem["orders"][0], 64,
                                     params, *optimizer_state, None, n_parts=bad)
    for bad in (0, MAX_PARTS):
        with pytest.raises(ValueError, match="n_helpers must be in"):
            _kernels.ThreadTeam(bad)
    team = _kernels.ThreadTeam(3)
    assert team.n_helpers == 3
    team.close()
    assert team.n_helpers == 0


# ---------------------------------------------------------------------------
# the estimators under MLPFAST_NUM_THREADS=k
# ---------------------------------------------------------------------------


@engine_only
@pytest.mark.parametrize("n_threads", PART_COUNTS)
def test_fit_with_k_threads_same_in_every_mode_and_matches_sklearn(monkeypatch, n_threads):
    monkeypatch.setenv(_threads.THREADS_VARIABLE, str(n_threads))
    rng = np.random.default_rng(n_threads)
    X = rng.standard_normal((500, 12))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (X[:, 2] > 1)
    params = dict(hidden_layer_sizes=(30, 20), batch_size=200, max_iter=4, random_state=0)
    fitted = {}
    for mode in ("forced_on", "forced_off", "ruled_out"):
        with monkeypatch.context() as patch:
            apply_helper_mode(patch, mode)
            fitted[mode] = fit_quiet(FastClassifier(**params), X, y)
    for mode in ("forced_off", "ruled_out"):
        for ours, theirs in zip(fitted[mode].coefs_ + fitted[mode].intercepts_,
                                fitted["forced_on"].coefs_ + fitted["forced_on"].intercepts_):
            assert_bitwise_equal(ours, theirs, f"k={n_threads} {mode}")
    assert_fitted_close(fitted["forced_on"], fit_quiet(SkMLPClassifier(**params), X, y), X)


def test_threads_available_reads_the_variable(monkeypatch):
    monkeypatch.setenv(_threads.THREADS_VARIABLE, "5")
    assert _threads.threads_available() == 5
    assert _threads.batch_parts() == 5
    monkeypatch.setenv(_threads.THREADS_VARIABLE, "1")
    assert _threads.threads_available() == 1
    assert _threads.batch_parts() == 2   # one thread computes two parts in turn
    # A count already read is taken as it is, not read again.
    assert _threads.batch_parts(threads=3) == 3
    assert _threads.batch_parts(threads=1) == 2
    monkeypatch.setenv(_threads.THREADS_VARIABLE, str(10 * MAX_PARTS))
    assert _threads.threads_available() == MAX_PARTS
    for bad in ("0", "-2", "two", "1.5"):
        monkeypatch.setenv(_threads.THREADS_VARIABLE, bad)
        with pytest.raises(ValueError, match=_threads.THREADS_VARIABLE):
            _threads.threads_available()


def test_threads_available_follows_cores_and_blas_limits(monkeypatch):
    monkeypatch.delenv(_threads.THREADS_VARIABLE, raising=False)
    monkeypatch.setattr(_threads, "_usable_cores", lambda: 6)
    # A real limit of one BLAS thread (a BLAS may refuse to go above the
    # threads it started with, so higher limits are patched in below).
    with threadpool_limits(limits=1, user_api="blas"):
        assert _threads.threads_available() == 1
        assert _threads.batch_parts() == 2
    with monkeypatch.context() as patch:
        patch.setattr(_threads, "_blas_thread_limit", lambda: 16)
        assert _threads.threads_available() == 6
    with monkeypatch.context() as patch:
        patch.setattr(_threads, "_blas_thread_limit", lambda: 4)
        assert _threads.threads_available() == 4
        # A fit of this process holding BLAS at one thread does not change
        # the count that another fit sees.
        with _threads.single_blas_thread():
            patch.setattr(_threads, "_blas_thread_limit", lambda: 1)
            assert _threads.threads_available() == 4
        assert _threads._blas_limit_outside is None


@pytest.mark.parametrize("files, expected", [
    ({"cpu.max": "250000 100000\n"}, 3),
    ({"cpu.max": "max 100000\n"}, None),
    ({"cpu.max": "50000 100000\n"}, 1),
    ({"cpu/cpu.cfs_quota_us": "400000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 4),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({}, None),
])
def test_cgroup_quota_is_read(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert _threads._cgroup_cpu_quota(str(tmp_path)) == expected


@engine_only
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_trains_with_threads_of_its_own(tmp_path):
    # The process keeps its helper threads across fits; a child forked after
    # a fit has the team's memory but not its threads, and must not wait
    # for them.
    script = textwrap.dedent("""
        import os, sys
        import numpy as np
        from mlpfast import MLPClassifier, _threads
        rng = np.random.default_rng(0)
        X = rng.standard_normal((400, 8)); y = (X[:, 0] > 0).astype(int)
        def fit():
            return MLPClassifier(hidden_layer_sizes=(16,), batch_size=100, max_iter=3,
                                 random_state=0).fit(X, y).coefs_[0]
        first = fit()
        assert _threads._shared_team is not None, "the first fit kept no team"
        pid = os.fork()
        if pid == 0:
            code = 0 if np.array_equal(fit(), first) else 3
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
    """)
    env = dict(os.environ, MLPFAST_NUM_THREADS="3")
    result = subprocess.run([sys.executable, "-c", script], env=env, timeout=120,
                            capture_output=True, text=True,
                            cwd=tmp_path)  # not the repository root: the installed mlpfast
    assert result.returncode == 0, result.stderr
