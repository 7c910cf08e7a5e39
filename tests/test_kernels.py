"""Tests of the compiled kernels in mlpfast._kernels.

The oracle is tests/numpy_reference.py, a plain-numpy MLP that computes in
float64 and lays out the flat parameter vector with its own offsets.  Besides
comparing with it, the gradient is checked against central finite differences
of the kernel's own loss, so a mistake shared by the kernel and the reference
would still be caught.

Tolerances
----------
float64 comparisons use rtol 1e-10 plus an absolute floor of 1e-12 times the
largest magnitude compared: entries that are sums with cancellation (bias
gradients, identity outputs near 0) carry an absolute rounding error of a few
ulps of the *largest* terms, not of themselves.

float32 results are compared with the float64 reference evaluated at the very
same (float32-representable) point, so the difference is the float32
rounding of the kernel alone: float32 has eps = 1.2e-7, and the quantities here
are sums of at most a few dozen terms through at most four layers, so the
error is a few 1e-6 of the largest magnitude; rtol 1e-4 with an absolute floor
of 1e-5 of the largest magnitude leaves a margin of ten or more.
"""
import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import numpy_reference as ref
from mlpfast import _kernels
from mlpfast._network import NetworkLayout
from mlpfast._solvers import AdamOptimizer, SGDOptimizer

HIDDEN = ref.HIDDEN_ACTIVATIONS
OUTPUTS = ref.OUTPUT_ACTIVATIONS
DTYPES = (np.float64, np.float32)

# Layer widths: no hidden layer (one and several outputs), 1-wide hidden
# layers, a single output after hidden layers, and a deeper net.
SHAPES = (
    (3, 1),
    (4, 3),
    (3, 1, 2),
    (2, 4, 3, 1),
    (5, 7, 3),
    (4, 6, 1, 5, 2),
)

ALPHA = 0.3

TOLERANCES = {
    # dtype: (rtol, atol relative to the largest magnitude compared)
    np.float64: (1e-10, 1e-12),
    np.float32: (1e-4, 1e-5),
}


def assert_close(actual, expected, dtype, err_msg=""):
    rtol, atol_rel = TOLERANCES[dtype]
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-300)
    assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol,
                    atol=atol_rel * scale, err_msg=err_msg)


def dtype_id(dtype):
    return np.dtype(dtype).name


# ---------------------------------------------------------------------------
# problems
# ---------------------------------------------------------------------------


def random_params(layer_units, rng):
    """Glorot-scaled uniform weights and U(-0.5, 0.5) biases, in float64."""
    weights = []
    biases = []
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
        biases.append(rng.uniform(-0.5, 0.5, fan_out))
    return ref.pack(weights, biases)


def random_targets(output, n_rows, n_outputs, rng):
    if output == "identity":
        return rng.standard_normal((n_rows, n_outputs))
    if output == "logistic":
        return rng.integers(0, 2, (n_rows, n_outputs)).astype(np.float64)
    # softmax: one-hot rows (the canonical-link gradient assumes rows sum to 1)
    return np.eye(n_outputs)[rng.integers(0, n_outputs, n_rows)]


def make_problem(layer_units, output, n_rows, dtype, seed):
    """X, Y and params in ``dtype``, C-contiguous."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, layer_units[0]))
    Y = random_targets(output, n_rows, layer_units[-1], rng)
    params = random_params(layer_units, rng)
    return (np.ascontiguousarray(X, dtype=dtype), np.ascontiguousarray(Y, dtype=dtype),
            np.ascontiguousarray(params, dtype=dtype))


def make_network(layer_units, hidden, output, alpha=ALPHA):
    return _kernels.Network(NetworkLayout(layer_units), hidden, output, alpha)


def test_reference_layout_matches_network_layout():
    # The reference computes its own offsets; they must describe the same
    # layout as NetworkLayout, or every comparison below would be meaningless.
    for units in SHAPES:
        layout = NetworkLayout(units)
        weight_starts, bias_starts, n_params = ref.parameter_offsets(units)
        assert tuple(weight_starts) == layout.coef_offsets
        assert tuple(bias_starts) == layout.intercept_offsets
        assert n_params == layout.n_params


# ---------------------------------------------------------------------------
# (a) forward
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("n_rows", [1, 23])
@pytest.mark.parametrize("layer_units", SHAPES, ids=str)
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_forward_matches_reference(hidden, output, layer_units, n_rows, dtype):
    X, _, params = make_problem(layer_units, output, n_rows, dtype, seed=1)
    net = make_network(layer_units, hidden, output)
    out = _kernels.forward(net, X, params)
    assert out.dtype == dtype
    assert out.shape == (n_rows, layer_units[-1])
    expected = ref.forward(params, layer_units, X, hidden, output)[-1]
    assert_close(out, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_forward_require_finite(bad, dtype):
    # None as soon as any entry of X is not finite, wherever it is; the
    # output otherwise, equal to the unchecked call's.
    layer_units = (5, 7, 3)
    X, _, params = make_problem(layer_units, "softmax", 40, dtype, seed=4)
    net = make_network(layer_units, "relu", "softmax")
    assert_array_equal(_kernels.forward(net, X, params, require_finite=True),
                       _kernels.forward(net, X, params))
    for index in [(0, 0), (17, 3), (39, 4)]:
        X_bad = X.copy()
        X_bad[index] = bad
        assert _kernels.forward(net, X_bad, params, require_finite=True) is None
        assert _kernels.forward(net, X_bad[index[0]:index[0] + 1], params,
                                require_finite=True) is None


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
def test_forward_more_rows_than_one_chunk(dtype):
    # The kernel predicts in chunks of 4096 rows; 4096 + 7 rows cross a boundary.
    layer_units = (3, 4, 2)
    X, _, params = make_problem(layer_units, "softmax", 4096 + 7, dtype, seed=2)
    net = make_network(layer_units, "tanh", "softmax")
    out = _kernels.forward(net, X, params)
    expected = ref.forward(params, layer_units, X, "tanh", "softmax")[-1]
    assert_close(out, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
def test_forward_of_zero_rows(dtype):
    layer_units = (3, 4, 2)
    _, _, params = make_problem(layer_units, "identity", 1, dtype, seed=3)
    out = _kernels.forward(make_network(layer_units, "relu", "identity"),
                           np.empty((0, 3), dtype=dtype), params)
    assert out.shape == (0, 2)
    assert out.dtype == dtype


# ---------------------------------------------------------------------------
# (b) loss and gradient against the reference
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("n_rows", [1, 23])
@pytest.mark.parametrize("layer_units", SHAPES, ids=str)
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_loss_gradient_matches_reference(hidden, output, layer_units, n_rows, dtype):
    X, Y, params = make_problem(layer_units, output, n_rows, dtype, seed=4)
    net = make_network(layer_units, hidden, output)
    grad = np.full(params.shape, np.nan, dtype=dtype)  # must be overwritten entirely
    params_before = params.copy()
    loss = _kernels.loss_gradient(net, X, Y, params, grad)
    expected_loss, expected_grad = ref.loss_and_gradient(
        params, layer_units, X, Y, hidden, output, ALPHA,
        clip_eps=np.finfo(dtype).eps,
    )
    assert isinstance(loss, float)
    assert_close(loss, expected_loss, dtype, err_msg="loss")
    assert_close(grad, expected_grad, dtype, err_msg="gradient")
    assert_array_equal(params, params_before)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("n_rows, layer_units", [
    # Backpropagation through layers 1 and 2 (100 -> 120 and 120 -> 90, 12000
    # and 10800 weights): in halves of 47 rows both products are below
    # TRANSPOSED_COPY_MAX_MACS and use copies of W^T; in halves of 90 the
    # first is above it and reads W itself; in halves of 100 both do.
    # Widths that are not multiples of the copies' blocks.
    (94, (13, 100, 120, 90, 3)),
    (180, (13, 100, 120, 90, 3)),
    (200, (13, 100, 120, 90, 3)),
    (70, (6, 4, 5, 7, 2)),
])
def test_loss_gradient_with_and_without_transposed_copies(n_rows, layer_units, dtype):
    X, Y, params = make_problem(layer_units, "softmax", n_rows, dtype, seed=31)
    net = make_network(layer_units, "tanh", "softmax")
    grad = np.full(params.shape, np.nan, dtype=dtype)
    loss = _kernels.loss_gradient(net, X, Y, params, grad)
    expected_loss, expected_grad = ref.loss_and_gradient(
        params, layer_units, X, Y, "tanh", "softmax", ALPHA, clip_eps=np.finfo(dtype).eps)
    assert_close(loss, expected_loss, dtype, err_msg="loss")
    assert_close(grad, expected_grad, dtype, err_msg="gradient")


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
def test_l2_term_penalises_weights_only(dtype):
    # loss(alpha) - loss(0) is the L2 term; gradient difference is alpha*W/n
    # on the weights and exactly zero on the biases.
    layer_units = (4, 6, 1, 5, 2)
    n_rows = 9
    X, Y, params = make_problem(layer_units, "softmax", n_rows, dtype, seed=5)
    grad_0 = np.empty_like(params)
    grad_a = np.empty_like(params)
    loss_0 = _kernels.loss_gradient(make_network(layer_units, "tanh", "softmax", 0.0),
                                    X, Y, params, grad_0)
    loss_a = _kernels.loss_gradient(make_network(layer_units, "tanh", "softmax", ALPHA),
                                    X, Y, params, grad_a)
    assert_close(loss_a - loss_0, ref.l2_term(params, layer_units, ALPHA, n_rows), dtype)
    n_weights = ref.parameter_offsets(layer_units)[1][0]
    p64 = params.astype(np.float64)
    diff = grad_a.astype(np.float64) - grad_0.astype(np.float64)
    assert_close(diff[:n_weights], ALPHA * p64[:n_weights] / n_rows, dtype)
    assert_array_equal(diff[n_weights:], 0.0)


# ---------------------------------------------------------------------------
# (c) finite-difference gradient check
# ---------------------------------------------------------------------------

# Central differences: the error is the truncation h**2/6 * |f'''| plus the
# rounding of the two loss values, about eps64 * |f| / h.  With h = 1e-5 and
# |f|, |f'''| of order 1..10 (smooth activations, weights of order 1) both are
# ~1e-11..1e-10 (the largest difference observed over all cases below is
# 2.2e-10), so an absolute tolerance of 1e-8 (plus rtol 1e-6) keeps a margin
# of ~50 and still separates a correct gradient from a wrong term by orders
# of magnitude (a wrong factor or a missing term shows up at 1e-3 and above).
FD_STEP = 1e-5
FD_RTOL, FD_ATOL = 1e-6, 1e-8
# float32 analytic gradients against float64 finite differences: the
# difference is the float32 rounding of the analytic gradient (a few 1e-6 of
# its largest entry, see the module docstring); the finite-difference error
# above is negligible next to it.
FD32_RTOL, FD32_ATOL_REL = 1e-4, 1e-5
FD_SHAPES = ((4, 3), (5, 7, 3), (4, 6, 1, 5, 2))
FD_MAX_PER_BLOCK = 12  # parameters checked per weight matrix / bias vector
RELU_MARGIN = 1e-3     # smallest |pre-activation| allowed for relu: no kink within reach


def indices_to_check(layer_units, rng):
    """Every parameter of a small net; otherwise a random sample of each block."""
    weight_starts, bias_starts, n_params = ref.parameter_offsets(layer_units)
    starts = list(weight_starts) + list(bias_starts) + [n_params]
    chosen = []
    for start, stop in zip(starts[:-1], starts[1:]):
        block = np.arange(start, stop)
        if len(block) > FD_MAX_PER_BLOCK:
            block = np.sort(rng.choice(block, FD_MAX_PER_BLOCK, replace=False))
        chosen.extend(block.tolist())
    return np.array(chosen)


def smooth_problem(layer_units, hidden, output, n_rows, dtype, seed):
    """A problem at which the loss is smooth in every checked direction.

    relu: every hidden pre-activation at least RELU_MARGIN away from 0 (a step
    of 1e-5 moves them by far less).  Log losses: probabilities well inside
    (eps, 1 - eps), so clipping is inactive.
    """
    for attempt in range(200):
        X, Y, params = make_problem(layer_units, output, n_rows, dtype, seed + 1000 * attempt)
        zs, activations = ref.pre_activations_and_activations(
            params, layer_units, X, hidden, output)
        smooth = True
        if hidden == "relu" and len(zs) > 1:
            smooth = min(np.min(np.abs(z)) for z in zs[:-1]) > RELU_MARGIN
        if output != "identity" and layer_units[-1] > 1:
            p = activations[-1]
            smooth = smooth and np.all((p > 1e-6) & (p < 1 - 1e-6))
        if smooth:
            return X, Y, params
    raise AssertionError("no smooth problem found")  # pragma: no cover


def consistent_objective(layer_units, hidden, output, X, Y):
    """The function whose exact gradient the kernel's gradient is.

    For log losses that is the reported loss.  For the squared error with k
    outputs, the kernel's (scikit-learn's) gradient is k times the gradient of
    the reported *data* loss (the delta p - y is not divided by k) plus the
    exact gradient of the L2 term: the gradient of
    ``loss_alpha + (k - 1) * loss_0``.
    """
    k = layer_units[-1]
    net_alpha = make_network(layer_units, hidden, output, ALPHA)
    net_zero = make_network(layer_units, hidden, output, 0.0)
    scratch = np.empty(NetworkLayout(layer_units).n_params, dtype=np.float64)

    def objective(params):
        value = _kernels.loss_gradient(net_alpha, X, Y, params, scratch)
        if output == "identity" and k > 1:
            value += (k - 1) * _kernels.loss_gradient(net_zero, X, Y, params, scratch)
        return value

    return objective


def central_differences(objective, params, indices):
    result = np.empty(len(indices))
    for position, i in enumerate(indices):
        up = params.copy()
        down = params.copy()
        up[i] += FD_STEP
        down[i] -= FD_STEP
        # The step actually taken, after rounding of params[i] +- h.
        result[position] = (objective(up) - objective(down)) / (up[i] - down[i])
    return result


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("layer_units", FD_SHAPES, ids=str)
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_gradient_matches_finite_differences(hidden, output, layer_units, dtype):
    X, Y, params = smooth_problem(layer_units, hidden, output, 13, dtype, seed=6)
    grad = np.empty_like(params)
    _kernels.loss_gradient(make_network(layer_units, hidden, output), X, Y, params, grad)

    # Finite differences always in float64, at the same point.
    X64, Y64, params64 = (a.astype(np.float64) for a in (X, Y, params))
    objective = consistent_objective(layer_units, hidden, output, X64, Y64)
    indices = indices_to_check(layer_units, np.random.default_rng(7))
    numeric = central_differences(objective, params64, indices)
    analytic = grad[indices].astype(np.float64)
    if dtype == np.float64:
        assert_allclose(analytic, numeric, rtol=FD_RTOL, atol=FD_ATOL)
    else:
        scale = max(np.max(np.abs(numeric)), 1e-3)
        assert_allclose(analytic, numeric, rtol=FD32_RTOL, atol=FD32_ATOL_REL * scale)


def test_squared_error_gradient_quirk_is_a_factor_of_n_outputs():
    # Pins down the documented scikit-learn convention the check above relies
    # on: with alpha = 0 and k outputs, gradient == k * d(reported loss).
    layer_units = (4, 5, 3)
    X, Y, params = smooth_problem(layer_units, "tanh", "identity", 11, np.float64, seed=8)
    net = make_network(layer_units, "tanh", "identity", 0.0)
    grad = np.empty_like(params)
    _kernels.loss_gradient(net, X, Y, params, grad)
    scratch = np.empty_like(params)
    indices = np.arange(len(params))
    numeric = central_differences(
        lambda p: _kernels.loss_gradient(net, X, Y, p, scratch), params, indices)
    assert_allclose(grad, 3 * numeric, rtol=FD_RTOL, atol=FD_ATOL)


# ---------------------------------------------------------------------------
# (d) one training epoch against the reference epoch
# ---------------------------------------------------------------------------

EPOCH_UNITS = (5, 7, 4, 3)
EPOCH_ROWS = 37
EPOCH_ACTIVATIONS = (("relu", "softmax"), ("tanh", "identity"), ("logistic", "logistic"),
                     ("identity", "identity"))
SGD_LEARNING_RATE_INIT = 0.1
SGD_LEARNING_RATE = 0.05  # the current (scheduled) rate, which the kernel must use
MOMENTUM = 0.9
ADAM = dict(learning_rate_init=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-8)


def make_optimizers(solver, n_params, dtype):
    """The kernel's optimizer and the reference's, in the same initial state."""
    if solver == "adam":
        optimizer = AdamOptimizer(n_params, dtype, ADAM["learning_rate_init"],
                                  ADAM["beta_1"], ADAM["beta_2"], ADAM["epsilon"])
        state = ref.AdamState(m=np.zeros(n_params), v=np.zeros(n_params), **ADAM)
        return optimizer, state
    nesterov = solver == "sgd_nesterov"
    optimizer = SGDOptimizer(n_params, dtype, SGD_LEARNING_RATE_INIT, "constant", MOMENTUM,
                             nesterov, 0.5)
    optimizer.learning_rate = SGD_LEARNING_RATE
    state = ref.SGDState(SGD_LEARNING_RATE, MOMENTUM, nesterov, np.zeros(n_params))
    return optimizer, state


def check_optimizer_state(optimizer, state, dtype):
    if optimizer.name == "adam":
        assert optimizer.t == state.t
        assert isinstance(optimizer.t, int)
        expected_rate = (ADAM["learning_rate_init"] * np.sqrt(1 - ADAM["beta_2"] ** state.t)
                         / (1 - ADAM["beta_1"] ** state.t))
        assert_allclose(state.learning_rate, expected_rate, rtol=1e-14)
        assert_allclose(optimizer.learning_rate, expected_rate, rtol=1e-14)
        assert optimizer.moment_1.dtype == dtype and optimizer.moment_2.dtype == dtype
        assert_close(optimizer.moment_1, state.m, dtype, err_msg="adam m")
        assert_close(optimizer.moment_2, state.v, dtype, err_msg="adam v")
    else:
        assert optimizer.learning_rate == SGD_LEARNING_RATE  # read, never written
        assert optimizer.moment_1.dtype == dtype
        assert_close(optimizer.moment_1, state.velocity, dtype, err_msg="velocity")


def run_and_compare_epochs(hidden, output, solver, dtype, batch_size, n_epochs=2):
    layer_units = EPOCH_UNITS
    X, Y, params = make_problem(layer_units, output, EPOCH_ROWS, dtype, seed=9)
    net = make_network(layer_units, hidden, output)
    optimizer, state = make_optimizers(solver, len(params), dtype)
    expected_params = params.astype(np.float64)
    X_before, Y_before = X.copy(), Y.copy()
    rng = np.random.default_rng(10)
    n_batches = -(-EPOCH_ROWS // batch_size)
    for epoch in range(n_epochs):
        order = rng.permutation(EPOCH_ROWS).astype(np.intp)
        order_before = order.copy()
        with optimizer.kernel_state() as optimizer_state:
            loss_sum = _kernels.train_epoch(net, X, Y, order, batch_size, params,
                                            *optimizer_state)
        expected_params, expected_loss_sum = ref.epoch(
            expected_params, layer_units, X, Y, order, batch_size, hidden, output, ALPHA,
            state, clip_eps=np.finfo(dtype).eps)
        where = f"epoch {epoch}"
        assert isinstance(loss_sum, float)
        assert_close(loss_sum, expected_loss_sum, dtype, err_msg=f"{where}: loss_sum")
        assert params.dtype == dtype
        assert_close(params, expected_params, dtype, err_msg=f"{where}: params")
        check_optimizer_state(optimizer, state, dtype)
        if solver == "adam":
            assert optimizer.t == (epoch + 1) * n_batches
        assert_array_equal(order, order_before)
    assert_array_equal(X, X_before)
    assert_array_equal(Y, Y_before)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("solver", ["sgd", "sgd_nesterov", "adam"])
@pytest.mark.parametrize("hidden,output", EPOCH_ACTIVATIONS)
def test_train_epoch_matches_reference(hidden, output, solver, dtype):
    # 37 rows in batches of 10: three full batches and one of 7; two epochs
    # with different shuffles, so the optimizer state carries over.
    run_and_compare_epochs(hidden, output, solver, dtype, batch_size=10)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("solver", ["sgd_nesterov", "adam"])
@pytest.mark.parametrize("batch_size", [1, 8, EPOCH_ROWS])
def test_train_epoch_batch_sizes(batch_size, solver, dtype):
    run_and_compare_epochs("relu", "logistic", solver, dtype, batch_size)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("solver", ["sgd_nesterov", "adam"])
@pytest.mark.parametrize("with_helper", [False, True], ids=["one_thread", "helper"])
def test_epoch_in_runs_of_batches_is_one_call(solver, dtype, with_helper):
    # The thread choice times long epochs a few batches at a time: an epoch
    # trained as consecutive runs must end bit for bit as one call does
    # (parameters, optimizer state and the loss sum, chained through
    # loss_sum).  Batches of 70 rows are split in halves, so the helper
    # thread is used when given.
    layer_units, n_rows, batch_size = (6, 9, 4), 400, 70
    X, Y, params = make_problem(layer_units, "softmax", n_rows, dtype, seed=21)
    net = make_network(layer_units, "tanh", "softmax")
    order = np.random.default_rng(22).permutation(n_rows).astype(np.intp)
    whole_params, runs_params = params.copy(), params.copy()
    whole_optimizer, _ = make_optimizers(solver, len(params), dtype)
    runs_optimizer, _ = make_optimizers(solver, len(params), dtype)
    helper = _kernels.ThreadTeam() if with_helper else None
    try:
        with whole_optimizer.kernel_state() as optimizer_state:
            whole_loss = _kernels.train_epoch(net, X, Y, order, batch_size, whole_params,
                                              *optimizer_state)
        runs_loss = 0.0
        # Runs of 1, 2 and 1 batches, then the rest (two full batches and
        # the short last one).
        for start, stop in [(0, 70), (70, 210), (210, 280), (280, n_rows)]:
            with runs_optimizer.kernel_state() as optimizer_state:
                runs_loss = _kernels.train_epoch(net, X, Y, order, batch_size, runs_params,
                                                 *optimizer_state, threads=helper,
                                                 rows=(start, stop), loss_sum=runs_loss)
    finally:
        if helper is not None:
            helper.close()
    assert runs_loss == whole_loss
    assert_array_equal(runs_params, whole_params)
    assert_array_equal(runs_optimizer.moment_1, whole_optimizer.moment_1)
    if solver == "adam":
        assert_array_equal(runs_optimizer.moment_2, whole_optimizer.moment_2)
        assert runs_optimizer.t == whole_optimizer.t == 6
        assert runs_optimizer.learning_rate == whole_optimizer.learning_rate


# The gradient's mean, bit for bit.  A 1 -> 1 identity network whose input
# is zero on every row but the first has exact products (x0 * W + b, then
# x0 * delta0 plus exact zeros), so its gradient can be written in numpy
# operation for operation: (x0 * delta0 + alpha * W) / weight_sum, and the
# bias's pairwise delta sums (one per batch half from SPLIT_MIN_ROWS rows)
# over weight_sum.  Weight sums that are powers of two take the kernel's
# multiplication by the exact reciprocal, the others its division; both must
# give numpy's division exactly.
MEAN_WEIGHT_SUMS = [(63, None), (64, None), (100, None), (128, None), (200, None),
                    (70, 0.37), (80, 0.05)]


def one_input_problem(n_rows, row_weight, dtype):
    rng = np.random.default_rng(n_rows)
    X = np.zeros((n_rows, 1), dtype=dtype)
    X[0, 0] = 1.7
    Y = rng.standard_normal((n_rows, 1)).astype(dtype)
    params = np.array([0.3, -0.2], dtype=dtype)             # W, b
    sample_weight = None if row_weight is None else np.full(n_rows, row_weight, dtype=dtype)
    return X, Y, params, sample_weight


def numpy_gradient(X, Y, params, sample_weight, split):
    """(W, b) gradient of the one-input problem, in numpy, in the kernel's order."""
    dtype = params.dtype.type
    W, b = params
    delta = (X[:, 0] * W + b) - Y[:, 0]
    weight_sum = dtype(len(X))
    if sample_weight is not None:
        delta = delta * sample_weight
        weight_sum = np.sum(sample_weight)
    first = (len(X) + 1) // 2 if split else len(X)
    bias_sum = np.sum(delta[:first]) + np.sum(delta[first:]) if split else np.sum(delta)
    coef_grad = (X[0, 0] * delta[0] + dtype(ALPHA) * W) / weight_sum
    return np.array([coef_grad, bias_sum / weight_sum], dtype=params.dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
@pytest.mark.parametrize("n_rows, row_weight", MEAN_WEIGHT_SUMS)
def test_gradient_mean_is_exactly_numpys_division(n_rows, row_weight, dtype):
    X, Y, params, sample_weight = one_input_problem(n_rows, row_weight, dtype)
    net = make_network((1, 1), "relu", "identity")
    split = n_rows >= _kernels.SPLIT_MIN_ROWS
    expected = numpy_gradient(X, Y, params, sample_weight, split)

    grad = np.empty_like(params)
    _kernels.loss_gradient(net, X, Y, params, grad, sample_weight)
    assert_array_equal(grad, expected)

    # One batch of SGD without momentum: params - rate * grad, from the fused
    # gradient finish and step of train_epoch.
    rate = 0.1
    optimizer = SGDOptimizer(2, dtype, rate, "constant", 0.0, False, 0.5)
    stepped = params.copy()
    with optimizer.kernel_state() as optimizer_state:
        _kernels.train_epoch(net, X, Y, np.arange(n_rows), n_rows, stepped, *optimizer_state,
                             sample_weight)
    zero = dtype(0)
    assert_array_equal(stepped, params + (zero * zero - dtype(rate) * expected))


def test_train_epoch_loss_sum_of_one_batch_is_n_times_the_loss():
    layer_units = EPOCH_UNITS
    X, Y, params = make_problem(layer_units, "softmax", EPOCH_ROWS, np.float64, seed=11)
    net = make_network(layer_units, "tanh", "softmax")
    loss = _kernels.loss_gradient(net, X, Y, params, np.empty_like(params))
    optimizer, _ = make_optimizers("sgd", len(params), np.float64)
    with optimizer.kernel_state() as optimizer_state:
        loss_sum = _kernels.train_epoch(net, X, Y, np.arange(EPOCH_ROWS), EPOCH_ROWS,
                                        params, *optimizer_state)
    assert_allclose(loss_sum, EPOCH_ROWS * loss, rtol=1e-12)


# ---------------------------------------------------------------------------
# (e) argument checking and read-only inputs
# ---------------------------------------------------------------------------

CHECK_UNITS = (4, 5, 3)
CHECK_ROWS = 10


@pytest.fixture
def small():
    X, Y, params = make_problem(CHECK_UNITS, "softmax", CHECK_ROWS, np.float64, seed=12)
    return dict(
        net=make_network(CHECK_UNITS, "relu", "softmax"), X=X, Y=Y, params=params,
        grad=np.empty_like(params), order=np.arange(CHECK_ROWS, dtype=np.intp),
        batch_size=4,
        optimizer=AdamOptimizer(len(params), np.float64, 0.01, 0.9, 0.999, 1e-8),
    )


def call_forward(a):
    return _kernels.forward(a["net"], a["X"], a["params"])


def call_loss_gradient(a):
    return _kernels.loss_gradient(a["net"], a["X"], a["Y"], a["params"], a["grad"])


def call_train_epoch(a):
    with a["optimizer"].kernel_state() as optimizer_state:
        return _kernels.train_epoch(a["net"], a["X"], a["Y"], a["order"], a["batch_size"],
                                    a["params"], *optimizer_state)


KERNEL_CALLS = {"forward": call_forward, "loss_gradient": call_loss_gradient,
                "train_epoch": call_train_epoch}

BAD_ARGUMENTS = {
    "X_too_wide": ("X", lambda a: np.ones((CHECK_ROWS, CHECK_UNITS[0] + 1))),
    "X_too_narrow": ("X", lambda a: np.ones((CHECK_ROWS, CHECK_UNITS[0] - 1))),
    "params_too_long": ("params", lambda a: np.zeros(len(a["params"]) + 1)),
    "params_too_short": ("params", lambda a: np.zeros(len(a["params"]) - 1)),
    "X_float32_params_float64": ("X", lambda a: a["X"].astype(np.float32)),
    "X_not_c_contiguous": ("X", lambda a: np.asfortranarray(a["X"])),
    "Y_too_wide": ("Y", lambda a: np.ones((CHECK_ROWS, CHECK_UNITS[-1] + 1))),
    "Y_too_narrow": ("Y", lambda a: np.ones((CHECK_ROWS, CHECK_UNITS[-1] - 1))),
    "Y_fewer_rows": ("Y", lambda a: a["Y"][:-1].copy()),
    "grad_too_long": ("grad", lambda a: np.zeros(len(a["params"]) + 1)),
    "grad_too_short": ("grad", lambda a: np.zeros(len(a["params"]) - 1)),
    "grad_float32": ("grad", lambda a: np.zeros(len(a["params"]), dtype=np.float32)),
    "order_index_n": ("order", lambda a: np.r_[a["order"][:-1], CHECK_ROWS].astype(np.intp)),
    "order_index_negative": ("order", lambda a: np.r_[-1, a["order"][1:]].astype(np.intp)),
    "order_too_short": ("order", lambda a: a["order"][:-1].copy()),
    "order_too_long": ("order", lambda a: np.r_[a["order"], 0].astype(np.intp)),
    "batch_size_0": ("batch_size", lambda a: 0),
    "batch_size_negative": ("batch_size", lambda a: -3),
    "batch_size_above_n": ("batch_size", lambda a: CHECK_ROWS + 1),
    "optimizer_state_too_short": (
        "optimizer", lambda a: AdamOptimizer(len(a["params"]) - 1, np.float64, 0.01, 0.9,
                                             0.999, 1e-8)),
    "params_read_only": ("params", lambda a: read_only(a["params"])),
}

# Which kernels take each argument (train_epoch computes no gradient into a
# caller's buffer; forward takes neither Y nor an order).
APPLIES_TO = {
    "X": ("forward", "loss_gradient", "train_epoch"),
    "params": ("forward", "loss_gradient", "train_epoch"),
    "Y": ("loss_gradient", "train_epoch"),
    "grad": ("loss_gradient",),
    "order": ("train_epoch",),
    "batch_size": ("train_epoch",),
    "optimizer": ("train_epoch",),
}


@pytest.mark.parametrize("rows", [(0, 0), (5, 5), (6, 5), (-1, 5), (0, CHECK_ROWS + 1)])
def test_train_epoch_rejects_bad_rows(small, rows):
    params_before = small["params"].copy()
    with pytest.raises(ValueError, match="rows must satisfy"):
        with small["optimizer"].kernel_state() as optimizer_state:
            _kernels.train_epoch(small["net"], small["X"], small["Y"], small["order"],
                                 small["batch_size"], small["params"], *optimizer_state,
                                 rows=rows)
    assert_array_equal(small["params"], params_before)


def read_only(array):
    array = array.copy()
    array.setflags(write=False)
    return array


BAD_CASES = [
    (kernel, case)
    for case, (argument, _) in BAD_ARGUMENTS.items()
    for kernel in APPLIES_TO[argument]
    # params are only read by forward and loss_gradient: read-only is fine there
    if not (case == "params_read_only" and kernel != "train_epoch")
]


@pytest.mark.parametrize("kernel,case", BAD_CASES, ids=[f"{k}-{c}" for k, c in BAD_CASES])
def test_bad_arguments_raise_value_error(small, kernel, case):
    argument, make_bad = BAD_ARGUMENTS[case]
    small[argument] = make_bad(small)
    params_before = np.array(small["params"], copy=True)
    optimizer = small["optimizer"]
    moments_before = (optimizer.moment_1.copy(), optimizer.moment_2.copy(), optimizer.t)
    with pytest.raises(ValueError):
        KERNEL_CALLS[kernel](small)
    # Nothing was touched before the arguments were rejected.
    assert_array_equal(small["params"], params_before)
    assert_array_equal(optimizer.moment_1, moments_before[0])
    assert_array_equal(optimizer.moment_2, moments_before[1])
    assert optimizer.t == moments_before[2]


def test_loss_gradient_of_zero_rows_raises(small):
    small["X"] = np.empty((0, CHECK_UNITS[0]))
    small["Y"] = np.empty((0, CHECK_UNITS[-1]))
    with pytest.raises(ValueError):
        call_loss_gradient(small)


def test_unknown_output_activation_raises():
    with pytest.raises(ValueError):
        _kernels.Network(NetworkLayout(CHECK_UNITS), "relu", "relu", 0.0)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
def test_read_only_inputs_work(dtype):
    X, Y, params = make_problem(CHECK_UNITS, "identity", CHECK_ROWS, dtype, seed=13)
    net = make_network(CHECK_UNITS, "tanh", "identity")
    order = np.random.default_rng(14).permutation(CHECK_ROWS).astype(np.intp)
    X_ro, Y_ro, params_ro, order_ro = (read_only(a) for a in (X, Y, params, order))

    assert_array_equal(_kernels.forward(net, X_ro, params_ro), _kernels.forward(net, X, params))

    grad, grad_ro = np.empty_like(params), np.empty_like(params)
    loss = _kernels.loss_gradient(net, X, Y, params, grad)
    loss_ro = _kernels.loss_gradient(net, X_ro, Y_ro, params_ro, grad_ro)
    assert loss_ro == loss
    assert_array_equal(grad_ro, grad)

    trained, trained_ro = params.copy(), params.copy()
    optimizer = SGDOptimizer(len(params), dtype, 0.1, "constant", 0.9, True, 0.5)
    optimizer_ro = SGDOptimizer(len(params), dtype, 0.1, "constant", 0.9, True, 0.5)
    with optimizer.kernel_state() as optimizer_state:
        loss_sum = _kernels.train_epoch(net, X, Y, order, 3, trained, *optimizer_state)
    with optimizer_ro.kernel_state() as optimizer_state:
        loss_sum_ro = _kernels.train_epoch(net, X_ro, Y_ro, order_ro, 3, trained_ro,
                                           *optimizer_state)
    assert loss_sum_ro == loss_sum
    assert_array_equal(trained_ro, trained)
    assert not np.array_equal(trained, params)  # the epoch did update the weights
    assert_array_equal(optimizer_ro.moment_1, optimizer.moment_1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("output, n_outputs", [("logistic", 3), ("softmax", 4)])
def test_train_epoch_bool_targets_equal_float_targets(dtype, output, n_outputs):
    """Classifier targets may stay bool; the epoch is bit-identical to float targets."""
    rng = np.random.default_rng(7)
    layout = NetworkLayout([5, 6, n_outputs])
    net = _kernels.Network(layout, "tanh", output, 1e-3)
    X = rng.standard_normal((23, 5)).astype(dtype)
    if output == "softmax":
        labels = np.eye(n_outputs, dtype=bool)[rng.integers(0, n_outputs, 23)]
    else:
        labels = rng.random((23, n_outputs)) < 0.5
    order = rng.permutation(23).astype(np.intp)
    start = (rng.standard_normal(layout.n_params) * 0.3).astype(dtype)
    results = []
    for Y in (labels, labels.astype(dtype), labels.view(np.uint8)):
        params = start.copy()
        optimizer = AdamOptimizer(layout.n_params, dtype, 0.01, 0.9, 0.999, 1e-8)
        with optimizer.kernel_state() as optimizer_state:
            loss = _kernels.train_epoch(net, X, Y, order, 7, params, *optimizer_state)
        results.append((loss, params, optimizer.moment_1, optimizer.moment_2))
    for loss, params, m, v in results[1:]:
        assert loss == results[0][0]
        assert_array_equal(params, results[0][1])
        assert_array_equal(m, results[0][2])
        assert_array_equal(v, results[0][3])
    assert not np.array_equal(results[0][1], start)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
def test_outputs_loss_is_the_reference_loss_of_those_outputs(dtype, output, weighted):
    """outputs_loss of given outputs against the numpy reference's loss of the
    same outputs (so BLAS, which may round differently by call size, is out
    of the comparison).

    Every term summed is positive, so the sums' relative error is bounded by
    the terms' count times eps: 300 row losses, and the L2 term's dot of 63
    weights (in float32 for float32: sdot). float32 row losses are each
    within a few float32 ulp (logf, clipping), below that bound."""
    layer_units = (6, 7, 3 if output != "identity" else 2)
    X, Y, params = make_problem(layer_units, output, 300, dtype, seed=21)
    weights = (np.random.default_rng(22).uniform(0.1, 2.0, 300).astype(dtype)
               if weighted else np.ones(300, dtype=dtype))
    net = make_network(layer_units, "tanh", output)
    out = _kernels.forward(net, X, params)
    got = _kernels.outputs_loss(net, out, Y, params, weights if weighted else None)

    p = out.astype(np.float64)
    row_losses = [ref.data_loss(p[i:i + 1], Y[i:i + 1].astype(np.float64), output,
                                np.finfo(dtype).eps) for i in range(300)]
    weight_sum = np.sum(weights, dtype=np.float64)
    expected = (np.average(row_losses, weights=weights.astype(np.float64))
                + ref.l2_term(params.astype(np.float64), layer_units, ALPHA, weight_sum))
    eps = float(np.finfo(dtype).eps)
    assert got == pytest.approx(expected, rel=300 * eps)


def test_outputs_loss_checks_its_arguments():
    X, Y, params = make_problem(CHECK_UNITS, "softmax", CHECK_ROWS, np.float64, seed=23)
    net = make_network(CHECK_UNITS, "relu", "softmax")
    out = _kernels.forward(net, X, params)
    with pytest.raises(ValueError, match="Y has shape"):
        _kernels.outputs_loss(net, out, Y[:-1], params)
    with pytest.raises(ValueError, match="outputs"):
        _kernels.outputs_loss(net, out[:, :2].copy(), Y[:, :2].copy(), params)
    with pytest.raises(ValueError, match="params"):
        _kernels.outputs_loss(net, out, Y, params[:-1])
    with pytest.raises(ValueError, match="sample_weight"):
        _kernels.outputs_loss(net, out, Y, params, np.ones(CHECK_ROWS - 1))
    with pytest.raises(ZeroDivisionError):
        _kernels.outputs_loss(net, out, Y, params, np.zeros(CHECK_ROWS))
    with pytest.raises(ValueError, match="zero samples"):
        _kernels.outputs_loss(net, out[:0], Y[:0], params)


def _peak_traced_bytes(call):
    """Peak of the memory tracemalloc sees allocated during call() (numpy's
    arrays included)."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("hidden", HIDDEN)
def test_derivatives_are_kept_only_where_they_need_the_pre_activations(hidden):
    """The workspace holds f'(z) of the hidden layers for the activations
    whose derivative needs z (keeps_derivative), at least one f'(z) per row
    of a chunk and at most two (a chunk and its second half have workspaces
    of their own); predict keeps none."""
    layer_units = (6, 40, 30, 3)
    X, Y, params = make_problem(layer_units, "softmax", 500, np.float64, seed=0)
    grad = np.empty_like(params)

    def peaks(activation):
        net = make_network(layer_units, activation, "softmax")
        return (_peak_traced_bytes(lambda: _kernels.loss_gradient(net, X, Y, params, grad)),
                _peak_traced_bytes(lambda: _kernels.forward(net, X, params)))

    (gradient_peak, forward_peak), (relu_gradient_peak, relu_forward_peak) = (
        peaks(hidden), peaks("relu"))
    z_bytes = X.shape[0] * sum(layer_units[1:-1]) * X.itemsize   # 280 KB
    # The Python objects of a call come and go by a few hundred bytes.
    noise = z_bytes / 100
    assert abs(forward_peak - relu_forward_peak) < noise
    extra = gradient_peak - relu_gradient_peak
    if hidden in ref.DERIVATIVE_NEEDS_Z:
        assert z_bytes - noise < extra < 2 * z_bytes + noise
    else:
        assert abs(extra) < noise
