"""Thread policy for training.

BLAS runs on one thread while mlpfast trains (``single_blas_thread``), and
the other cores, when there are some, are used by threads of training's own
(``HelperThreadChoice``): every mini-batch, and every chunk of the L-BFGS
full-data pass, is cut into ``batch_parts()`` parts of at least
``PART_MIN_ROWS`` rows, always, and the parts run on that many threads (the
caller's and the helpers of a ``ThreadTeam``), each into a gradient of its
own; then each thread adds up the parts' gradients over its range of the
flat parameter vector and takes the optimizer step there.  The result does
not depend on the threads; it depends, in its last bits, on the number of
parts: ``threads_available()``, at least 2, so one and two cores give the
same bits, and ``MLPFAST_NUM_THREADS`` fixes it.

Splitting the batch beats letting BLAS split each product on small and
medium layers: the element-wise work and the optimizer step are shared
too, and the threads meet twice per batch instead of at every product.
Splitting the rows leaves k gradients to add; each thread adds them over
its own slice of the vector, fused with the step, so the reduction costs
no pass of its own and no thread waits for another's slice (bench/README.md
has the scaling model).
On 2 cores, in one process: a digits epoch (64 -> 100 -> 10, batch 200)
took about a third less time with the halves on two threads than on one,
a 784 -> 256 -> 128 -> 10 float32 epoch (batch 256) about a quarter less
than with OpenBLAS's two threads.  On layers whose products
reach ``SINGLE_THREAD_MAX_MACS`` multiply-adds, the halves each stream the
whole weight matrices, which OpenBLAS's threads share out: for those, the
choice is between the halves and OpenBLAS's threads (then the batch halves
run one after the other).  On 784 -> 1024 -> 1024 -> 10 float32, batch
512, the halves were about a tenth faster (OpenBLAS's threads were the
faster before the optimizer step was fused into one pass).  Giving the
helper half of each optimizer step while OpenBLAS's threads do the
products was tried: a few percent faster on that network, far slower on
the 784 -> 256 -> 128 one (OpenBLAS's idle worker spins between products
on the helper's core).  Figures: bench/MEASUREMENTS.md, 'Batch halves and
BLAS threads'.

Whether the helpers pay depends on the batch (a batch of fewer than 64
rows is too little work to share) and on what else the machine is doing: a waiting
thread polls, and when another process holds the other core the threads
wait for each other.  So calls are timed with and without the helper, and
the faster choice is kept for ``DECISION_SECONDS`` (longer, the wider the
margin) before both are timed again (each over SAMPLES_PER_CHOICE calls,
the fastest counting).  A timing call of training covers a few batches
(``TIMING_CALL_SECONDS`` of work), not a whole epoch, and a training call
with the helper right after one on OpenBLAS's threads is not counted (their
idle worker spins on the helper's core for about 0.1 s).  The
helper is never used under a threadpoolctl limit of one BLAS thread (so
``threadpool_limits(1)`` around a fit, or a joblib worker with one thread,
keeps training on one thread), while another fit of this process is
running, or on one core; then BLAS runs on one thread.
mlpfast uses no OpenMP.

Results: a batch is split the same way whatever the threads, so the
helpers change no bit.  OpenBLAS's threaded products round differently
from its one-thread products (784-deep products differ in the last bits),
so on the large layers that may use them, a fit's last bits can depend on
which choice was faster at the time.
"""
import atexit
import contextlib
import math
import os
import threading
import time
from typing import NamedTuple

import numpy as np
from threadpoolctl import ThreadpoolController

from mlpfast import _kernels

# How long a choice is kept before both ways are timed again: long enough
# that fits of a few long epochs, run one after another, do not spend most
# of their epochs timing (a 784 -> 256 -> 128 -> 10 fit of 5 epochs did).
DECISION_SECONDS = 30.0
# Timing the slower way again costs in proportion to how much slower it was,
# and a wide margin is unlikely to turn with the machine's load: each
# MARGIN_PER_DECISION of margin keeps a choice DECISION_SECONDS more, up to
# MAX_DECISIONS times as long (784 -> 256 -> 128 -> 10 float32, much faster
# with the helper: timed again every DECISION_SECONDS, one fit of 5 epochs
# in three spent 2 of them the slow way in bench/compare.py;
# bench/MEASUREMENTS.md, 'Thread choice margin').
MARGIN_PER_DECISION = 0.1
MAX_DECISIONS = 10
# A choice made while the other core was briefly busy must not stand for
# minutes: after a call, OpenBLAS's idle threads spin for about 0.1 s
# (2^28 cycles), and digits-sized epochs with the helper took about three
# times as long right after a scikit-learn fit (bench/MEASUREMENTS.md,
# 'Thread choice after a scikit-learn fit').  So when the slower way's
# calls were all timed within CONFIRM_SECONDS, it is timed once more when
# its round is that old.
CONFIRM_SECONDS = 0.25
# Calls timed each way before choosing, alternately, or one way's calls in
# a row where each switch from OpenBLAS's threads to the helper costs a
# slowed call (``HelperThreadChoice._switch_is_costly``); the fastest
# counts, so one call slowed by something else (the helper's start, a cold
# cache, another process) does not decide for DECISION_SECONDS.
SAMPLES_PER_CHOICE = 2
# A timing call covers whole batches worth about this many seconds, not a
# whole epoch: each epoch timed the slower way cost a fit of three long
# 784 -> 1024 -> 1024 -> 10 epochs (slower without the helper) about a
# twentieth of its time (bench/MEASUREMENTS.md, 'Timing calls of a few
# batches').
TIMING_CALL_SECONDS = 0.05
SINGLE_THREAD_MAX_MACS = 1 << 23
# The variable that sets how many threads (and batch parts) fits use.
THREADS_VARIABLE = "MLPFAST_NUM_THREADS"

_controller = None
# (layer units, rows per call, dtype, parts) -> {uses the helpers: TimingRound}
_helper_thread_timings = {}
# After a call on OpenBLAS's threads, its idle workers spin for about this
# long (OpenBLAS's THREAD_TIMEOUT, 2^28 cycles), on the cores the helpers
# need: calls with the helpers that start within it are not counted
# (HelperThreadChoice._settling).
OPENBLAS_SPIN_SECONDS = 0.1
# When the latest training call on OpenBLAS's threads ended (time.monotonic),
# of any HelperThreadChoice: each call of a partial_fit stream makes one.
_openblas_threads_ended = -np.inf


class TimingRound(NamedTuple):
    """The calls timed one way since its timing last started afresh."""

    started: float          # time.monotonic() of the round's first call
    fastest: float          # fastest seconds per row
    calls: int
    last: float             # time.monotonic() of the round's latest call


NO_ROUND = TimingRound(-np.inf, np.inf, 0, -np.inf)


def _blas_controller():
    # Built on first use, once scipy's BLAS is loaded, and kept: inspecting
    # the loaded libraries costs some thirty times as much as limiting
    # through it (bench/MEASUREMENTS.md, 'threadpoolctl controller').
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
    global _single_thread_users, _single_thread_limiter, _blas_limit_outside
    with _single_thread_lock:
        if _single_thread_users == 0:
            _blas_limit_outside = _blas_thread_limit()
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
                _blas_limit_outside = None


@contextlib.contextmanager
def training_threads(choice):
    """The threads of one fit, given its HelperThreadChoice (or None).

    BLAS on one thread for the whole fit, unless the choice may pick
    OpenBLAS's threads (call_kernel then holds the limit while the helper
    is used); the fit gives back its helper threads and any such limit when it ends.
    """
    try:
        if choice is not None and choice.blas_threads_alone:
            yield
        else:
            with single_blas_thread():
                yield
    finally:
        if choice is not None:
            choice.close()


def _largest_product(layer_units, n_rows):
    """Multiply-adds of the largest product in a pass over n_rows rows."""
    return max(n_rows * fan_in * fan_out
               for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]))


def _cgroup_cpu_quota(root="/sys/fs/cgroup"):
    """Cores' worth of CPU time the process's cgroup allows, rounded up, or
    None without a quota (or off Linux).

    Reads cgroup v2's ``cpu.max`` ("QUOTA PERIOD", or "max PERIOD"), else
    cgroup v1's ``cpu/cpu.cfs_quota_us`` and ``cpu.cfs_period_us`` (-1: none).
    """
    try:
        with open(os.path.join(root, "cpu.max")) as limit:
            quota, period = limit.read().split()[:2]
    except (OSError, ValueError):
        try:
            with open(os.path.join(root, "cpu", "cpu.cfs_quota_us")) as quota_file, \
                    open(os.path.join(root, "cpu", "cpu.cfs_period_us")) as period_file:
                quota, period = quota_file.read().strip(), period_file.read().strip()
        except OSError:
            return None
    if quota in ("max", "-1"):
        return None
    try:
        return max(1, math.ceil(int(quota) / int(period)))
    except (ValueError, ZeroDivisionError):
        return None


# The cgroup quota as last read, and when (time.monotonic()): reading it
# takes about 20 us, a tenth of a short partial_fit call, and a quota
# rarely changes while a process runs.
QUOTA_REREAD_SECONDS = 10.0
_quota_read = (-np.inf, None)


def _usable_cores():
    """The cores this process may run on: its affinity mask, and its cgroup's
    quota (read again after QUOTA_REREAD_SECONDS)."""
    global _quota_read
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        cores = os.cpu_count() or 1
    now = time.monotonic()
    if now - _quota_read[0] > QUOTA_REREAD_SECONDS:
        _quota_read = (now, _cgroup_cpu_quota())
    quota = _quota_read[1]
    return cores if quota is None else min(cores, quota)


# The BLAS thread limit in force outside mlpfast's own (single_blas_thread):
# read when a fit is the first to enter, so that a fit running beside
# another cuts its batches as it would alone.
_blas_limit_outside = None


def _blas_thread_limit():
    """The fewest threads any loaded BLAS may use now (threadpoolctl limits included)."""
    counts = [info["num_threads"] for info in _blas_controller().select(user_api="blas").info()]
    return min(counts, default=1)


def _blas_threads_outside_fits():
    """``_blas_thread_limit()`` as it is outside mlpfast's own limit of one
    (single_blas_thread): the OPENBLAS_NUM_THREADS / OMP_NUM_THREADS the
    BLAS read and the user's threadpoolctl limits."""
    if _blas_limit_outside is not None:
        return _blas_limit_outside
    return _blas_thread_limit()


def threads_available():
    """How many threads a fit may use.

    ``MLPFAST_NUM_THREADS`` when set; otherwise the cores this process may
    run on (affinity mask, cgroup quota), no more than BLAS may use (a
    ``threadpoolctl`` limit, ``OMP_NUM_THREADS`` and the like).  At most
    ``MAX_PARTS``.

    Raises
    ------
    ValueError
        If ``MLPFAST_NUM_THREADS`` is not a positive integer.
    """
    setting = os.environ.get(THREADS_VARIABLE, "").strip()
    if setting:
        try:
            threads = int(setting)
        except ValueError:
            threads = 0
        if threads < 1:
            raise ValueError(f"{THREADS_VARIABLE} must be a positive integer, got {setting!r}")
    else:
        threads = min(_usable_cores(), _blas_threads_outside_fits())
    return max(1, min(threads, _kernels.MAX_PARTS))


def batch_parts(threads=None):
    """How many parts a fit cuts its batches into: ``threads_available()``,
    at least 2 (one core computes the two parts in turn, with the bits of
    two cores).  ``threads``: ``threads_available()`` if already read (it
    costs several microseconds, a few percent of a small ``partial_fit``)."""
    return max(2, threads_available() if threads is None else threads)


_team_lock = threading.Lock()
_shared_team = None        # the process's ThreadTeam, started on first use
_shared_team_in_use = False


def _take_shared_team(n_helpers):
    """The process's ThreadTeam, with at least n_helpers helpers, marked in
    use; None while another call holds it.  Started on first use, restarted
    larger when a call needs more helpers."""
    global _shared_team, _shared_team_in_use
    with _team_lock:
        if _shared_team_in_use:
            return None
        if _shared_team is None or _shared_team.n_helpers < n_helpers:
            if _shared_team is not None:
                _shared_team.close()
            _shared_team = _kernels.ThreadTeam(n_helpers)
        _shared_team_in_use = True
        return _shared_team


def _acquire_team(n_helpers):
    """A ThreadTeam of at least n_helpers helpers for one fit, and whether it is shared.

    The process keeps one team across fits (a ``partial_fit`` stream would
    otherwise start its threads at every call); a fit that finds it in use
    gets a team of its own.
    """
    team = _take_shared_team(n_helpers)
    if team is not None:
        return team, True
    return _kernels.ThreadTeam(n_helpers), False


# How long one_row_team trusts its last threads_available() (7 to 8 us to
# read, more than a third of a one-row pass it would share).
ONE_ROW_RECHECK_SECONDS = 1.0
_one_row_threads = (-np.inf, False)   # (when to read again, more than one thread)


def one_row_team():
    """The shared ThreadTeam for a one-row forward pass, or None.

    None when one thread is all a fit may use (``threads_available()``, read
    again after ``ONE_ROW_RECHECK_SECONDS``) or while a fit holds the team:
    the pass then runs its halves in turn, with the same result.  Never
    waits and never starts a private team.  Give it back with
    ``release_one_row_team``.
    """
    global _one_row_threads
    now = time.monotonic()
    if now >= _one_row_threads[0]:
        _one_row_threads = (now + ONE_ROW_RECHECK_SECONDS, threads_available() > 1)
    if not _one_row_threads[1]:
        return None
    return _take_shared_team(1)


def release_one_row_team(team):
    """Give back what ``one_row_team`` gave (None included)."""
    if team is not None:
        _release_team(team, True)


def _release_team(team, shared):
    """Give back a team from ``_acquire_team``."""
    global _shared_team_in_use
    if shared:
        with _team_lock:
            _shared_team_in_use = False
    else:
        team.close()


def _close_shared_team():
    global _shared_team
    with _team_lock:
        if _shared_team is not None and not _shared_team_in_use:
            _shared_team.close()
        _shared_team = None


def _forget_shared_team():
    """In a forked child: the team's threads stayed in the parent."""
    global _shared_team, _shared_team_in_use, _team_lock
    if _shared_team is not None:
        _shared_team.abandon()
    _shared_team, _shared_team_in_use = None, False
    _team_lock = threading.Lock()


atexit.register(_close_shared_team)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_shared_team)


class HelperThreadChoice:
    """Whether each kernel call runs its parts on the helper threads.

    Parameters
    ----------
    key : hashable
        What the timings are kept under: the same network, rows per call,
        dtype and parts share them across fits (a ``partial_fit`` stream
        times each choice once per ``DECISION_SECONDS``, not once per call).
    n_parts : int, default=2
        The parts the calls cut batches into; they run on ``n_parts - 1``
        helpers and the caller's thread.
    blas_threads_alone : bool
        Whether the calls without the helper use OpenBLAS's threads (large
        products) rather than one BLAS thread.
    back_to_back : bool
        Whether the calls follow one another directly, as training epochs
        do (not L-BFGS evaluations, with scipy's step in between); see
        ``_settling``.
    """

    def __init__(self, key, n_parts=2, blas_threads_alone=False, back_to_back=False):
        self._timings = _helper_thread_timings.setdefault(key, {})
        self.n_parts = n_parts
        self._team = None
        self._team_is_shared = False
        self._one_blas_thread = None
        self.blas_threads_alone = blas_threads_alone
        self.back_to_back = back_to_back
        self._planned = None            # call_rows's decision for the next call

    def hold_one_blas_thread(self, hold):
        """Keep BLAS on one thread from now on (hold) or give it its threads back.

        For choices whose calls without the helper use BLAS's threads.  The
        limit stays between calls made the same way: given back between two
        calls with the helper, OpenBLAS's threads would run what comes in
        between (scipy's L-BFGS step) and then spin on the helper's core
        (L-BFGS on digits: about a fifth slower per iteration;
        bench/MEASUREMENTS.md, 'One-thread BLAS limit between helper calls').
        """
        if hold and self._one_blas_thread is None:
            self._one_blas_thread = single_blas_thread()
            self._one_blas_thread.__enter__()
        elif not hold and self._one_blas_thread is not None:
            self._one_blas_thread.__exit__(None, None, None)
            self._one_blas_thread = None

    def team(self):
        """The helper threads, taken on first use and kept until ``close``."""
        if self._team is None:
            self._team, self._team_is_shared = _acquire_team(self.n_parts - 1)
        return self._team

    def close(self):
        """Give back the helper threads, if taken, and any BLAS limit held."""
        self.hold_one_blas_thread(False)
        if self._team is not None:
            _release_team(self._team, self._team_is_shared)
            self._team = None

    @classmethod
    def for_training(cls, layer_units, n_rows, dtype, n_parts, back_to_back=True,
                     threads=None):
        """The choice for calls over n_rows rows at a time, or None when ruled out.

        Call it before entering ``single_blas_thread``.  The helpers are
        ruled out for batches too small to be cut in parts, where one thread
        is available (``threads_available``: one core, a threadpoolctl limit
        of one BLAS thread), and while another fit of this process runs.
        ``n_parts``: see the class; ``back_to_back``: see the class;
        ``threads``: ``threads_available()`` if already read.
        """
        if threads is None:
            threads = threads_available()
        if (n_rows < _kernels.SPLIT_MIN_ROWS or threads < 2
                or _single_thread_users > 0):
            return None
        return cls((tuple(layer_units), n_rows, np.dtype(dtype).str, n_parts), n_parts,
                   _largest_product(layer_units, n_rows) >= SINGLE_THREAD_MAX_MACS,
                   back_to_back)

    def _keep_seconds(self):
        """How long timings decide: DECISION_SECONDS, longer the wider their margin.

        Rounds still being timed count as no margin.
        """
        rounds = [self._timings.get(choice, NO_ROUND) for choice in (True, False)]
        if min(timed.calls for timed in rounds) < SAMPLES_PER_CHOICE:
            return DECISION_SECONDS
        fast, slow = sorted(timed.fastest for timed in rounds)
        margin = slow / fast - 1.0 if fast > 0 else np.inf
        return DECISION_SECONDS * min(max(margin / MARGIN_PER_DECISION, 1.0), MAX_DECISIONS)

    def _current_round(self, choice, now):
        """choice's TimingRound, a fresh one (no calls) if it has expired."""
        timed = self._timings.get(choice, NO_ROUND)
        if now - timed.started > self._keep_seconds():
            return TimingRound(now, np.inf, 0, now)
        return timed

    def _next_call(self):
        """(whether the next call uses the helper, whether it is a timing call).

        SAMPLES_PER_CHOICE calls each way are timed, alternately, the helper
        first (or the helper's calls first, then the others, where a switch
        is costly); then the way with the faster call per row is kept until
        its timing is ``_keep_seconds()`` old, except for one more call of
        the slower way once its round is CONFIRM_SECONDS old, if its calls
        were all timed within CONFIRM_SECONDS and ``_confirms`` says so.
        """
        now = time.monotonic()
        with_helper = self._current_round(True, now)
        without = self._current_round(False, now)
        if min(with_helper.calls, without.calls) < SAMPLES_PER_CHOICE:
            if self._switch_is_costly():
                return with_helper.calls < SAMPLES_PER_CHOICE, True
            return with_helper.calls <= without.calls, True
        helper_faster = with_helper.fastest <= without.fastest
        slower = without if helper_faster else with_helper
        if (self._confirms(helper_faster) and slower.calls == SAMPLES_PER_CHOICE
                and slower.last - slower.started < CONFIRM_SECONDS
                and now - slower.started >= CONFIRM_SECONDS):
            return not helper_faster, True
        return helper_faster, False

    def use_helper(self):
        """True to run the next call on the helper threads (see ``_next_call``).

        What ``call_rows`` decided, if it was asked for this call: decided
        again, a round's age could cross a boundary in between, and a call
        sized as a whole epoch run the slower way.
        """
        planned, self._planned = self._planned, None
        return self._next_call()[0] if planned is None else planned

    def call_rows(self, n_rows, batch_size):
        """How many of the n_rows left the next training call should cover.

        All of them, unless the next call is a timing call and a timing
        from this round or the last says that batches worth
        TIMING_CALL_SECONDS cover fewer: then those whole batches.  The
        next ``use_helper()`` keeps the way decided here.
        """
        self._planned, timing = self._next_call()
        if not timing:
            return n_rows
        per_row = min(timed.fastest for timed in self._timings.values()) \
            if self._timings else np.inf
        if not np.isfinite(per_row) or per_row <= 0:
            return n_rows
        batches = max(1, int(np.ceil(TIMING_CALL_SECONDS / (per_row * batch_size))))
        return min(n_rows, batches * batch_size)

    def _confirms(self, helper_faster):
        """Whether the slower way's quick round is timed once more (``_next_call``).

        The confirmation guards the helper's timings against OpenBLAS's
        threads spinning on its core (after a scikit-learn fit, say).  The
        other way's have no such neighbour: the helper stops polling within
        0.2 ms of its last call.  So where the helper is the faster way and
        a switch back to it is costly (``_switch_is_costly``), there is
        nothing to confirm, and a confirmation would cost its slower call
        and a settling call after it: the first 6-epoch fit of 784 -> 256 ->
        128 -> 10 float32 in a process spent a twelfth of its time on the
        timing of OpenBLAS's threads, half of it on the confirmation
        (bench/MEASUREMENTS.md, 'No confirmation of OpenBLAS's threads').
        """
        return not (helper_faster and self._switch_is_costly())

    def _switch_is_costly(self):
        """Whether a call with the helper right after one on OpenBLAS's threads is slowed.

        After a call on OpenBLAS's threads, its idle worker spins for about
        0.1 s on the helper's core: between training epochs, a 1024-row
        call of 784 -> 1024 -> 1024 -> 10 float32 with the helper then took
        nearly twice as long.  Not between L-BFGS evaluations: there the
        first call with the helper after one on OpenBLAS's threads was not
        slowed (digits, 64 -> 100 -> 10), while the helper's first calls of
        a fit were, two to four times over (timed first, in a row, they made
        the helper look slower per row than OpenBLAS's threads: the fit then
        chose OpenBLAS's threads, slightly slower per iteration in
        ``compare.py --quick``).  Figures: bench/MEASUREMENTS.md, 'Switching
        to the helper after OpenBLAS'.
        """
        return self.back_to_back and self.blas_threads_alone

    def _settling(self, use_helper, started):
        """Whether a call with the helper that started at ``started`` only let
        OpenBLAS's threads wind down.

        Such a call (see ``_switch_is_costly``): one that starts within
        OPENBLAS_SPIN_SECONDS of the end of a call on OpenBLAS's threads,
        trains but is not counted.  Counting it made L-BFGS on digits choose
        OpenBLAS's threads (about a quarter slower per iteration), where the
        switch is not costly (bench/MEASUREMENTS.md, 'Switching to the
        helper after OpenBLAS'); counting the calls after the first in that
        window made a stream of 200-row ``partial_fit`` calls (784 -> 256 ->
        128 -> 10 float32, 2 ms each) choose OpenBLAS's threads, 1.45 ms per
        call's kernel against 1.18 with the helper.
        """
        return (use_helper and self._switch_is_costly()
                and started - _openblas_threads_ended < OPENBLAS_SPIN_SECONDS)

    def record(self, used_helper, seconds, n_rows):
        """Count a call over n_rows rows, just ended, run with or without the helper.

        A call that was settling (``_settling``) is not counted.
        """
        global _openblas_threads_ended
        now = time.monotonic()
        settling = self._settling(used_helper, now - seconds)
        if not used_helper and self.blas_threads_alone:
            _openblas_threads_ended = now
        self._planned = None
        if settling:
            return
        timed = self._current_round(used_helper, now)
        self._timings[used_helper] = TimingRound(
            timed.started, min(timed.fastest, seconds / n_rows), timed.calls + 1, now)


def call_kernel(choice, kernel, n_rows, *args, **kwargs):
    """``kernel(*args, **kwargs, threads=...)``, as ``choice`` decides, timed for it.

    The threads are ``choice.team()`` or None.

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
        return kernel(*args, **kwargs)
    use_helper = choice.use_helper()
    if choice.blas_threads_alone:
        # One BLAS thread beside the helper; otherwise the fit holds one.
        choice.hold_one_blas_thread(use_helper)
    started = time.perf_counter()
    result = kernel(*args, **kwargs, threads=choice.team() if use_helper else None)
    choice.record(use_helper, time.perf_counter() - started, n_rows)
    return result
