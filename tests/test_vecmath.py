"""Accuracy of the vectorised exp, tanh and logistic of src_c/vecmath.c.

They are reached through the public kernel ``_kernels.forward``: in a
network of 1-wide layers with unit weights and zero biases every product and
bias addition around the activation is exact (x * 1 + 0 == x, also for
subnormals, ±inf and NaN), so the output is exactly f(x): tanh and logistic as
the hidden activation under an identity output, exp as the output
activation.  Wider layers with identity weight matrices check the bias add
and the blocking of rows in ``mlpf_bias_activation`` (x * 1 plus exact zeros
stays x for finite x), and softmax.

One thing this path cannot show: the matrix-vector product sums from +0, so
-0 reaches the activation as +0 and the sign of tanh(-0) is not observable
here (the C function keeps it: it ends in copysign).

Errors are measured in ulps of the reference's dtype (np.spacing at the
reference).  References: numpy / scipy, as scikit-learn computes them, and
for float64 the true value from long double (80-bit on x86; skipped where
long double is plain double).  float32 results are compared with the same
functions evaluated in float64, the float32 truth to 1e-16.

Bounds: 2 ulp (the functions measure about 1.05 ulp for tanh and 0.8 for exp
against the truth; numpy's own SIMD versions, about 1.2 and 0.75).  logistic
is scipy.special.expit's formula 1 / (1 + exp(-x)) and inherits its
rounding: where exp(-x) lies in [2^p, 2^(p+1)) (p = 53 or 24 mantissa bits)
1 + exp(-x) is a rounding tie, and a one-ulp difference of exp moves the
result by up to four ulps, for scipy as for us.  So logistic is checked to be
exactly that formula with an exp within one ulp of the correctly rounded one,
and within 2 ulp of scipy outside that band.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit

from mlpfast import _kernels
from mlpfast._network import NetworkLayout

DTYPES = (np.float64, np.float32)
HAVE_LONG_DOUBLE = np.finfo(np.longdouble).nmant >= 63
MAX_ULP = 2.0


def apply(kind, x):
    """f(x) through forward() of an exact 1-wide network, x's dtype."""
    x = np.ascontiguousarray(x).reshape(-1, 1)
    if kind == "exp":
        net = _kernels.Network(NetworkLayout([1, 1]), "identity", "exp", 0.0)
        params = np.array([1.0, 0.0], dtype=x.dtype)   # W0, b0
    else:
        net = _kernels.Network(NetworkLayout([1, 1, 1]), kind, "identity", 0.0)
        params = np.array([1.0, 1.0, 0.0, 0.0], dtype=x.dtype)   # W0, W1, b0, b1
    return _kernels.forward(net, x, params).ravel()


def true_values(kind, x):
    """The exact f(x) (long double for float64, double for float32)."""
    wide = x.astype(np.longdouble if x.dtype == np.float64 else np.float64)
    with np.errstate(over="ignore"):
        if kind == "exp":
            return np.exp(wide)
        if kind == "tanh":
            return np.tanh(wide)
        return 1 / (1 + np.exp(-wide))


def ulp_error(got, ref):
    """|got - ref| in ulps of got's dtype at ref; 0 where equal (NaN == NaN)
    and inf where only one side is finite."""
    dtype = got.dtype
    wide = np.longdouble if dtype == np.float64 else np.float64
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = ref.astype(dtype)
        diff = np.abs(got.astype(wide) - ref.astype(wide))
        err = diff / np.spacing(np.abs(rounded)).astype(wide)
    err = np.where(np.isfinite(got) & np.isfinite(rounded), err, np.inf)
    same = (got == rounded) | (np.isnan(got) & np.isnan(rounded))
    return np.where(same, 0.0, err)


def assert_within_ulps(got, ref, x, max_ulp=MAX_ULP):
    err = ulp_error(got, ref)
    worst = int(np.argmax(err))
    assert err[worst] <= max_ulp, (
        f"{err[worst]:.3g} ulp at x={x[worst]!r}: got {got[worst]!r}, expected {ref[worst]!r}"
    )


def grid(dtype):
    """Both signs of: subnormals and tiny values up to 1e-8, 1e-8..1, 1..25,
    20..800 (past exp's overflow and underflow), dense and random."""
    info = np.finfo(dtype)
    rs = np.random.RandomState(0)
    positive = np.concatenate([
        np.geomspace(info.smallest_subnormal, info.smallest_normal, 2000),
        np.geomspace(info.smallest_normal, 1e-8, 20000),
        np.geomspace(1e-8, 1, 50000),
        np.linspace(0, 1, 50001),
        np.linspace(1, 25, 100001),
        np.linspace(20, 800, 50001),
        10 ** rs.uniform(-8, 0, 50000),
        rs.uniform(0, 25, 100000),
        rs.uniform(0.5, 1.0, 50000),     # around tanh's change of form
    ]).astype(dtype)
    return np.concatenate([positive, -positive])


def numpy_reference(kind, x):
    """What scikit-learn computes: numpy/scipy in float64; for float32 the
    same functions in float64 (numpy's own float32 exp is ~3 ulp off)."""
    x64 = x.astype(np.float64)
    with np.errstate(over="ignore"):
        if kind == "exp":
            return np.exp(x64)
        if kind == "tanh":
            return np.tanh(x64)
        return expit(x64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["tanh", "exp"])
def test_matches_numpy(kind, dtype):
    x = grid(dtype)
    got = apply(kind, x)
    assert got.dtype == dtype
    assert_within_ulps(got, numpy_reference(kind, x), x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["tanh", "exp"])
def test_matches_true_value(kind, dtype):
    if dtype == np.float64 and not HAVE_LONG_DOUBLE:
        pytest.skip("long double is plain double here: no float64 truth")
    x = grid(dtype)
    assert_within_ulps(apply(kind, x), true_values(kind, x), x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logistic_is_scipys_formula(dtype):
    x = grid(dtype)
    got = apply("logistic", x)
    assert got.dtype == dtype
    # exp(-x) correctly rounded, and its neighbours.
    if dtype == np.float64 and not HAVE_LONG_DOUBLE:
        e = np.exp(-x)
    else:
        with np.errstate(over="ignore"):
            e = true_values("exp", -x).astype(dtype)
    one = dtype(1)
    with np.errstate(over="ignore"):
        candidates = [one / (one + np.nextafter(e, dtype(direction)))
                      for direction in (-np.inf, np.inf)] + [one / (one + e)]
    is_formula = np.zeros(x.shape, dtype=bool)
    for c in candidates:
        is_formula |= got == c
    worst = int(np.argmin(is_formula))
    assert is_formula.all(), f"x={x[worst]!r}: got {got[worst]!r}, exp(-x)={e[worst]!r}"

    # Within 2 ulp of scipy itself, outside the band where 1 + exp(-x) ties.
    p = np.finfo(dtype).nmant + 1
    tie_band = (e >= 2.0 ** p) & (e < 2.0 ** (p + 1))
    sp = expit(x)
    assert sp.dtype == dtype
    assert_within_ulps(got[~tie_band], sp[~tie_band], x[~tie_band])


@pytest.mark.parametrize("dtype", DTYPES)
def test_special_values(dtype):
    info = np.finfo(dtype)
    tiny = np.array([info.smallest_subnormal, 3 * info.smallest_subnormal,
                     info.smallest_normal, 1e-30], dtype=dtype)
    inf, nan = np.inf, np.nan

    # tanh: odd, exact for tiny x, saturates to exactly ±1, NaN through.
    x = np.concatenate([tiny, -tiny, np.array([0.0, inf, -inf, nan, 30, -30, 1e30, -1e30],
                                              dtype=dtype)])
    expected = np.concatenate([tiny, -tiny, np.array([0, 1, -1, nan, 1, -1, 1, -1],
                                                     dtype=dtype)])
    assert_array_equal(apply("tanh", x), expected)

    # exp: overflow to inf, underflow through the subnormals to 0, exp(0) = 1.
    big = 710.0 if dtype == np.float64 else 89.0
    x = np.array([0.0, inf, -inf, nan, big, -big - 40, 1e30, -1e30], dtype=dtype)
    assert_array_equal(apply("exp", x), np.array([1, inf, 0, nan, inf, 0, inf, 0], dtype=dtype))
    log_max = np.log(info.max.astype(np.float64))
    below, above = np.nextafter(dtype(log_max), dtype(0)), np.nextafter(dtype(log_max), dtype(inf))
    assert np.isfinite(apply("exp", np.array([below]))[0])
    assert apply("exp", np.array([above]))[0] == inf
    # The smallest subnormal, and 0 half an ulp below it, as libm gives.
    log_min = np.log(np.float64(info.smallest_subnormal))
    x = np.array([log_min, log_min - 0.7], dtype=dtype)
    assert_array_equal(apply("exp", x), np.array([info.smallest_subnormal, 0], dtype=dtype))

    # logistic: exactly 1 and 0 at the ends, 1/2 at 0, no NaN from inf / inf.
    x = np.array([0.0, inf, -inf, nan, 40, -800, 1e30, -1e30], dtype=dtype)
    assert_array_equal(apply("logistic", x),
                       np.array([0.5, 1, 0, nan, 1, 0, 1, 0], dtype=dtype))
    assert_array_equal(apply("logistic", x), expit(x))


def identity_network(width, hidden, output, n_hidden, dtype, rng):
    """Identity-weight network of `width`-wide layers: random biases on the
    first layer, zero biases after it, so the output is f(X + b) exactly
    around the activation."""
    layout = NetworkLayout([width] * (n_hidden + 2))
    params = np.zeros(layout.n_params, dtype=dtype)
    for offset in layout.coef_offsets:
        params[offset:offset + width * width] = np.eye(width, dtype=dtype).ravel()
    bias = rng.uniform(-1, 1, width).astype(dtype)
    offset = layout.intercept_offsets[0]
    params[offset:offset + width] = bias
    return _kernels.Network(layout, hidden, output, 0.0), params, bias


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("width", [1, 3, 37, 64, 1500])
@pytest.mark.parametrize("kind", ["tanh", "logistic", "exp", "softmax"])
def test_bias_activation_blocks(kind, width, dtype):
    # Wide layers: the bias is added per column and rows are processed in
    # blocks of about 1024 elements; odd widths leave partial blocks and
    # vector remainders, 1500 columns is one row per block.
    if width == 1 and kind == "softmax":
        pytest.skip("softmax needs two or more outputs")
    rng = np.random.default_rng(width)
    n_rows = 3 if width == 1500 else 203
    X = rng.uniform(-4, 4, (n_rows, width)).astype(dtype)
    if kind in ("tanh", "logistic"):
        net, params, bias = identity_network(width, kind, "identity", 1, dtype, rng)
    else:
        net, params, bias = identity_network(width, "identity", kind, 0, dtype, rng)
    got = _kernels.forward(net, X, params)
    assert got.dtype == dtype
    z = X + bias                  # the kernel's bias add, same rounding
    if kind != "softmax":
        assert_within_ulps(got.ravel(), numpy_reference(kind, z).ravel(), z.ravel())
        return
    shifted = (z - z.max(axis=1, keepdims=True)).astype(np.float64)
    e = np.exp(shifted)
    # exp within an ulp or two per entry, then a sum and a division.
    assert_allclose(got, e / e.sum(axis=1, keepdims=True), rtol=8 * np.finfo(dtype).eps)
