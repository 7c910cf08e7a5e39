"""Accuracy of the vectorised exp, tanh and logistic of src_c/vecmath.c, of
its expm1, log1p, erf and erfc (called directly, through the test hook
``_kernels.vecmath_inplace``), and of its normal_cdf_pdf, expm1_exp and
exp_neg_abs (called in builds of vecmath.c through ctypes).

exp, tanh and logistic are reached through the public kernel ``_kernels.forward``: in a
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
import ctypes
import platform
import subprocess
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import erf, erfc, expit, ndtr

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


# ---- expm1, log1p, erf: called directly --------------------------------------

NEW_KINDS = ("expm1", "log1p", "erf")


def direct(kind, x):
    """mlpf_<kind>_inplace_f64/_f32 applied to a copy of x."""
    y = np.array(x, copy=True, order="C").ravel()
    _kernels.vecmath_inplace(kind, y)
    return y


def reference_hi_lo(kind, x):
    """The true f(x) as hi + lo: hi rounded to x's dtype (±inf past its
    overflow threshold), lo the rest, in float64.

    float64: mpmath (the test skips without it); float32: numpy / scipy in
    float64, whose error (about 2^-52) is far below float32's ulp.
    Only for x in f's domain (log1p: x >= -1).
    """
    dtype = x.dtype
    if dtype == np.float32:
        x64 = x.astype(np.float64)
        with np.errstate(divide="ignore", over="ignore"):
            ref = {"expm1": np.expm1, "log1p": np.log1p, "erf": erf, "erfc": erfc,
                   "exp": np.exp}[kind](x64)
            hi = ref.astype(np.float32)
        finite = np.isfinite(hi)
        lo = np.where(finite, ref - np.where(finite, hi, 0).astype(np.float64), 0.0)
        return hi, lo
    mpmath = pytest.importorskip("mpmath")
    f = {"expm1": mpmath.expm1, "log1p": mpmath.log1p, "erf": mpmath.erf,
         "erfc": mpmath.erfc, "exp": mpmath.exp}[kind]
    hi = np.empty(x.shape)
    lo = np.zeros(x.shape)
    with mpmath.workdps(40):
        for i, v in enumerate(x.tolist()):
            if np.isnan(v):
                hi[i] = np.nan
                continue
            if kind == "erfc" and abs(v) > 30:      # mpmath overflows on huge x
                hi[i] = 0.0 if v > 0 else 2.0       # lo: below 1e-390
                continue
            exact = f(mpmath.mpf(v))
            hi[i] = float(exact)
            if np.isfinite(hi[i]):
                lo[i] = float(exact - hi[i])
    return hi, lo


def ulp_error_hi_lo(got, hi, lo):
    """|got - (hi + lo)| in ulps of got's dtype at hi + lo (the ulp below a
    power of two where the truth lies below it); 0 where got == hi, NaN and
    NaN included; inf where only one of got, hi is finite."""
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs((got.astype(np.float64) - hi.astype(np.float64)) - lo)
        mag = np.abs(hi)
        ulp = np.spacing(mag).astype(np.float64)
        power_of_two = np.frexp(mag)[0] == 0.5
        below = power_of_two & (np.sign(lo) == -np.sign(hi)) & (mag > np.finfo(got.dtype).smallest_normal)
        ulp = np.where(below, ulp / 2, ulp)
        err = diff / ulp
    err = np.where(np.isfinite(got) & np.isfinite(hi), err, np.inf)
    same = (got == hi) | (np.isnan(got) & np.isnan(hi))
    return np.where(same, 0.0, err)


def random_bits(dtype, n, rng):
    """n values with uniformly random bit patterns, NaN and inf excluded: every
    binade of both signs, subnormals included, about equally often."""
    uint = np.uint64 if dtype == np.float64 else np.uint32
    bits = rng.integers(0, np.iinfo(uint).max, size=n, dtype=uint, endpoint=True)
    x = bits.view(dtype)
    return x[np.isfinite(x)]


def both_signs(*parts):
    x = np.concatenate(parts)
    return np.concatenate([x, -x])


def new_kind_points(kind, dtype):
    """Random bit patterns, dense near 0, and dense around each function's
    changes of form and thresholds (float64 fewer: its truth is mpmath)."""
    rng = np.random.default_rng(14)
    n = 4000 if dtype == np.float64 else 200000
    info = np.finfo(dtype)
    tiny = 2.0 ** -(info.nmant + 1)                 # below it f(x) rounds to x
    near_zero = both_signs(10 ** rng.uniform(np.log10(info.smallest_normal), 0, n),
                           tiny * rng.uniform(0.25, 4, n // 4),
                           rng.uniform(0, 1, n))
    if kind == "expm1":
        log_max = np.log(float(info.max))
        minus_one = 37.5 if dtype == np.float64 else 17.4   # exp(-x) half an ulp of 1
        special = np.concatenate([
            rng.uniform(-50, 50, n),
            both_signs(np.log(2) / 2 + rng.uniform(-1e-3, 1e-3, n // 4)),  # k = 0 to ±1
            log_max + rng.uniform(-1, 1, n // 4),
            -minus_one + rng.uniform(-2, 2, n // 4),
        ])
    elif kind == "log1p":
        special = np.concatenate([
            -1 + 10 ** rng.uniform(-17, 0, n),                      # near -1
            10 ** rng.uniform(0, np.log10(float(info.max)), n),     # large
            np.sqrt(2) - 1 + rng.uniform(-1e-3, 1e-3, n // 4),      # k = 0 to 1
            np.sqrt(0.5) - 1 + rng.uniform(-1e-3, 1e-3, n // 4),    # k = 0 to -1
            rng.uniform(-1, 4, n),
        ])
        near_zero = near_zero[near_zero > -1]
    else:
        one = 5.9 if dtype == np.float64 else 3.9            # erf rounds to 1 above
        special = both_signs(
            rng.uniform(0, 7, n),
            1 + rng.uniform(-0.05, 0.05, n // 2),             # change of form
            one + rng.uniform(-0.2, 0.2, n // 4),
        )
    x = np.concatenate([random_bits(dtype, n, rng), near_zero.astype(dtype), special.astype(dtype)])
    if kind == "log1p":
        x = x[x >= -1]
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", NEW_KINDS)
def test_new_kinds_within_2_ulp(kind, dtype):
    x = new_kind_points(kind, dtype)
    got = direct(kind, x)
    assert got.dtype == dtype
    hi, lo = reference_hi_lo(kind, x)
    err = ulp_error_hi_lo(got, hi, lo)
    worst = int(np.argmax(err))
    assert err[worst] <= MAX_ULP, (
        f"{err[worst]:.3g} ulp at x={x[worst]!r}: got {got[worst]!r}, expected {hi[worst]!r}"
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_new_kinds_special_values(dtype):
    info = np.finfo(dtype)
    inf, nan = np.inf, np.nan
    tiny = np.array([info.smallest_subnormal, 3 * info.smallest_subnormal,
                     info.smallest_normal, 2.0 ** -(info.nmant + 3)], dtype=dtype)
    tiny = np.concatenate([tiny, -tiny])

    def check(kind, x, expected):
        x = np.array(x, dtype=dtype)
        got = direct(kind, x)
        assert_array_equal(got, np.array(expected, dtype=dtype))
        assert_array_equal(np.signbit(got), np.signbit(np.array(expected, dtype=dtype)))

    # expm1: exact for tiny x (signed zeros, subnormals), -1 and inf at the ends.
    big = 710.0 if dtype == np.float64 else 89.0
    check("expm1", np.concatenate([[0.0, -0.0], tiny]), np.concatenate([[0.0, -0.0], tiny]))
    check("expm1", [inf, -inf, nan, big, -big, 1e30, -1e30, -40],
          [inf, -1, nan, inf, -1, inf, -1, -1])
    log_max = np.log(info.max.astype(np.float64))
    below, above = np.nextafter(dtype(log_max), dtype(0)), np.nextafter(dtype(log_max), dtype(inf))
    assert np.isfinite(direct("expm1", np.array([below]))[0])
    assert direct("expm1", np.array([above]))[0] == inf

    # log1p: -inf at -1, NaN below, exact for tiny x, +inf at +inf.
    below_minus_one = np.nextafter(dtype(-1), dtype(-inf))
    check("log1p", np.concatenate([[0.0, -0.0], tiny]), np.concatenate([[0.0, -0.0], tiny]))
    check("log1p", [-1, below_minus_one, -2, -inf, inf, nan],
          [-inf, nan, nan, nan, inf, nan])
    assert_allclose(direct("log1p", np.array([info.max])), np.log(info.max.astype(np.float64)),
                    rtol=2 * info.eps)

    # erf: odd, ±0 kept, exactly ±1 from where erf rounds to 1, NaN through.
    one = 6.0 if dtype == np.float64 else 4.0
    check("erf", [0.0, -0.0, inf, -inf, nan, one, -one, 30, -30, 1e30, -1e30, info.max],
          [0.0, -0.0, 1, -1, nan, 1, -1, 1, -1, 1, -1, 1])
    # Subnormal x: erf(x) = 2x / sqrt(pi), to the subnormal's rounding.
    x = tiny[tiny > 0]
    assert_allclose(direct("erf", x), 2 / np.sqrt(np.pi) * x.astype(np.float64),
                    rtol=2 * info.eps, atol=float(info.smallest_subnormal))


@pytest.mark.parametrize("dtype", DTYPES)
def test_new_kinds_signs_and_order(dtype):
    # erf is odd, bit for bit.
    x = np.abs(new_kind_points("erf", dtype))
    pos, neg = direct("erf", x), direct("erf", -x)
    assert_array_equal(neg, -pos)
    # expm1, log1p and erf have x's sign (zeros included) and never
    # decrease, also across their changes of form.
    for kind in NEW_KINDS:
        x = np.sort(new_kind_points(kind, dtype))
        got = direct(kind, x)
        assert_array_equal(np.signbit(got), np.signbit(x))
        assert (got[1:] >= got[:-1]).all(), kind


# ---- erfc: relative to itself in the tail --------------------------------------

# Measured (src_c/vecmath.c header): double 2.7 ulp at worst against mpmath
# (a little above 1, where erfc is just below a power of two
# and v = u P(u) / Q(u) a quarter of F: v's rounding errors are what is
# left); float, the double kernel rounded once: 0.50 ulp over every float in
# [-10.1, 10.1] against scipy's double erfc.
ERFC_MAX_ULP = {np.float64: 3.0, np.float32: 0.6}


def erfc_points(dtype):
    """Random bit patterns, dense near 0, around the change of form at 1 and
    across the tail down to the underflow (27.2, float 10.05) and past it."""
    rng = np.random.default_rng(15)
    n = 4000 if dtype == np.float64 else 200000
    info = np.finfo(dtype)
    zero = 27.3 if dtype == np.float64 else 10.1
    x = np.concatenate([
        random_bits(dtype, n, rng),
        both_signs(10 ** rng.uniform(np.log10(info.smallest_normal), 0, n // 2)),
        rng.uniform(-7, zero + 1, n),
        1 + rng.uniform(-0.15, 0.15, n),
        -1 + rng.uniform(-0.05, 0.05, n // 4),
        rng.uniform(zero - 3, zero + 0.2, n),
    ])
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_erfc_within_bound(dtype):
    x = erfc_points(dtype)
    got = direct("erfc", x)
    assert got.dtype == dtype
    hi, lo = reference_hi_lo("erfc", x)
    err = ulp_error_hi_lo(got, hi, lo)
    worst = int(np.argmax(err))
    assert err[worst] <= ERFC_MAX_ULP[dtype], (
        f"{err[worst]:.3g} ulp at x={x[worst]!r}: got {got[worst]!r}, expected {hi[worst]!r}"
    )
    # The tail is not flushed: subnormal results where erfc is subnormal.
    info = np.finfo(dtype)
    sub = (hi > 0) & (hi < info.smallest_normal)
    assert sub.any()
    assert (got[sub] > 0).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_erfc_special_values_and_order(dtype):
    info = np.finfo(dtype)
    inf, nan = np.inf, np.nan
    zero = 27.3 if dtype == np.float64 else 10.1          # erfc rounds to 0 above
    x = np.array([0.0, -0.0, info.smallest_subnormal, -info.smallest_subnormal,
                  info.smallest_normal, inf, -inf, nan, zero, -zero, 30, -30,
                  1e30, -1e30, info.max, -info.max], dtype=dtype)
    expected = np.array([1, 1, 1, 1, 1, 0, 2, nan, 0, 2, 0, 2, 0, 2, 0, 2], dtype=dtype)
    got = direct("erfc", x)
    assert_array_equal(got, expected)
    assert not np.signbit(got[~np.isnan(got)]).any()
    # erfc(-x) = 2 - erfc(x) as computed, bit for bit; never increasing.
    x = np.abs(erfc_points(dtype))
    x = x[np.isfinite(x)]
    if dtype == np.float64:
        assert_array_equal(direct("erfc", -x), 2 - direct("erfc", x))
    x = np.sort(np.concatenate([x, -x]))
    got = direct("erfc", x)
    assert (got[1:] <= got[:-1]).all()


# ---- every dispatch target gives the same bits -------------------------------

VECMATH_KINDS = ("exp", "tanh", "logistic") + NEW_KINDS + ("erfc",)
SRC_C = Path(__file__).resolve().parent.parent / "src_c"
# setup.py's optimisation and floating-point flags (the ban on contraction
# above all), then one instruction set: x86-64's SSE2 baseline, AVX2, AVX-512F.
COMMON_FLAGS = ["-O3", "-ffp-contract=off", "-fno-math-errno"]
TARGET_FLAGS = {"sse2": [], "avx2": ["-mavx2"], "avx512f": ["-mavx512f"]}


def cpu_flags():
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


@pytest.fixture(scope="module")
def single_target_builds(tmp_path_factory):
    """src_c/vecmath.c built once per instruction set (without
    MLPF_SIMD_COPY: plain names, that one target alone), as ctypes
    libraries; the ones this CPU can run."""
    if platform.machine() not in ("x86_64", "AMD64") or not (SRC_C / "vecmath.c").exists():
        pytest.skip("x86-64 sources needed")
    compiler = (sysconfig.get_config_var("CC") or "cc").split()
    flags = cpu_flags()
    tmp = tmp_path_factory.mktemp("vecmath")
    libs = {}
    for target, extra in TARGET_FLAGS.items():
        if target != "sse2" and target not in flags:
            continue
        out = tmp / f"vecmath_{target}.so"
        command = compiler + COMMON_FLAGS + ["-fPIC", "-shared", f"-I{SRC_C}", *extra, str(SRC_C / "vecmath.c"),
                                             "-o", str(out)]
        try:
            built = subprocess.run(command, capture_output=True).returncode == 0
        except OSError:
            built = False
        if built:
            libs[target] = ctypes.CDLL(str(out))
        elif target == "sse2":
            pytest.skip("no C compiler to build the single-target libraries")
    return libs


def call_library(lib, kind, x):
    y = np.array(x, copy=True, order="C")
    suffix = "f64" if y.dtype == np.float64 else "f32"
    function = getattr(lib, f"mlpf_{kind}_inplace_{suffix}")
    function.restype = None
    function(y.ctypes.data_as(ctypes.c_void_p), ctypes.c_ssize_t(y.size))
    return y


def dispatch_inputs(dtype, rng, *parts):
    """Random bit patterns, values in [-40, 40], the given parts and special
    values; odd lengths, so that vector loops leave remainders."""
    return np.concatenate([random_bits(dtype, 100001, rng),
                           rng.uniform(-40, 40, 100001).astype(dtype), *parts,
                           np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1], dtype=dtype)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", VECMATH_KINDS)
def test_dispatch_targets_agree(single_target_builds, kind, dtype):
    # The installed module runs the best clone for this CPU; each library
    # here one instruction set, SSE2 included.  Compared as bits, so NaN
    # payloads and signed zeros count.
    x = dispatch_inputs(dtype, np.random.default_rng(3))
    uint = np.uint64 if dtype == np.float64 else np.uint32
    expected = direct(kind, x).view(uint)
    for target, lib in single_target_builds.items():
        assert_array_equal(call_library(lib, kind, x).view(uint), expected, err_msg=target)


# ---- what the activations call: normal_cdf_pdf (GELU), expm1_exp (ELU), ----
# ---- exp_neg_abs (SiLU, softplus) ----
# Not behind the test hook (which takes one array): called in the libraries
# built above, whose bits the installed module's are (GELU's and ELU's
# values through forward() below, and test_pair_functions_dispatch_targets_agree).

PAIR_FUNCTIONS = ("normal_cdf_pdf", "expm1_exp", "exp_neg_abs")


def call_pair(lib, name, x):
    """mlpf_<name>_f64/_f32 of the library on a copy of x: (x's result, the
    second array's); exp_neg_abs leaves x as it is."""
    y = np.array(x, copy=True, order="C")
    second = np.empty_like(y)
    suffix = "f64" if y.dtype == np.float64 else "f32"
    function = getattr(lib, f"mlpf_{name}_{suffix}")
    function.restype = None
    function(y.ctypes.data_as(ctypes.c_void_p), second.ctypes.data_as(ctypes.c_void_p),
             ctypes.c_ssize_t(y.size))
    return y, second


@pytest.fixture(scope="module")
def baseline_library(single_target_builds):
    return single_target_builds["sse2"]


def normal_points(dtype):
    """Random bit patterns, dense around 0, both sides of the change of form
    at |x| = sqrt 2, across the lower tail down to Phi's underflow (38.5,
    float 14.2) and past it."""
    rng = np.random.default_rng(21)
    n = 3000 if dtype == np.float64 else 100000
    zero = 38.6 if dtype == np.float64 else 14.3
    x = np.concatenate([
        random_bits(dtype, n, rng),
        both_signs(10 ** rng.uniform(-30, 0, n // 2)),
        rng.uniform(-1.5, 1.5, n),
        np.sqrt(2) + rng.uniform(-0.05, 0.05, n // 4),
        -np.sqrt(2) + rng.uniform(-0.05, 0.05, n // 4),
        rng.uniform(-zero, zero, n),
        -np.geomspace(1.5, zero, n),
    ])
    return x.astype(dtype)


def normal_reference(x):
    """Phi(x) and phi(x) as hi + lo pairs (see reference_hi_lo): mpmath for
    float64; scipy's float64 ndtr and exp for float32 (errors near 2^-52
    relative, far below float32's ulp)."""
    if x.dtype == np.float32:
        x64 = x.astype(np.float64)
        cdf, pdf = ndtr(x64), np.exp(-0.5 * x64 * x64) / np.sqrt(2 * np.pi)
        pairs = []
        for ref in (cdf, pdf):
            hi = ref.astype(np.float32)
            pairs.append((hi, ref - hi.astype(np.float64)))
        return pairs
    mpmath = pytest.importorskip("mpmath")
    out = [(np.empty(x.shape), np.zeros(x.shape)) for _ in range(2)]
    with mpmath.workdps(40):
        for i, v in enumerate(x.tolist()):
            if np.isnan(v):
                for hi, _ in out:
                    hi[i] = np.nan
                continue
            if abs(v) > 40:            # mpmath is slow out there; both underflowed
                out[0][0][i], out[1][0][i] = (1.0 if v > 0 else 0.0), 0.0
                continue
            for (hi, lo), exact in zip(out, (mpmath.ncdf(v), mpmath.npdf(v))):
                hi[i] = float(exact)
                lo[i] = float(exact - hi[i])
    return out


# Measured (src_c/vecmath_impl.h, normal_kernel): Phi within 4.0 ulp in
# double, 5.1 in float, phi within 2.0 and 1.7.  The bound is the rounding
# budget of the tail form, |x| >= sqrt 2: w = |x| / sqrt 2, y Q~, the sum
# over it, y (y Q~), the division, two products and exp's own 0.8 ulp,
# each at most half an ulp or so of h, about 5 ulp; float's rational adds
# its 2.7 ulp of F, measured as evaluated in float (its Horner sums round
# at float's precision).  phi: exp, the constant's rounding and one
# product.
NORMAL_MAX_ULP = {np.float64: (5.0, 2.5), np.float32: (6.5, 2.5)}


@pytest.mark.parametrize("dtype", DTYPES)
def test_normal_cdf_pdf_within_bound(baseline_library, dtype):
    x = normal_points(dtype)
    cdf, pdf = call_pair(baseline_library, "normal_cdf_pdf", x)
    for what, got, (hi, lo), bound in zip(("Phi", "phi"), (cdf, pdf), normal_reference(x),
                                          NORMAL_MAX_ULP[dtype]):
        err = ulp_error_hi_lo(got, hi, lo)
        # Subnormal results keep fewer digits: checked to their spacing.
        sub = np.abs(hi) < np.finfo(dtype).smallest_normal
        spacing = np.finfo(dtype).smallest_subnormal
        err = np.where(sub, np.abs(got.astype(np.float64) - hi) / spacing, err)
        worst = int(np.argmax(err))
        assert err[worst] <= bound, (
            f"{what}: {err[worst]:.3g} ulp at x={x[worst]!r}: got {got[worst]!r}, "
            f"expected {hi[worst]!r}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_normal_cdf_pdf_special_values(baseline_library, dtype):
    info = np.finfo(dtype)
    inf, nan = np.inf, np.nan
    x = np.array([0.0, -0.0, inf, -inf, nan, 1e30, -1e30, info.max, -info.max,
                  info.smallest_subnormal, -info.smallest_subnormal], dtype=dtype)
    cdf, pdf = call_pair(baseline_library, "normal_cdf_pdf", x)
    density_at_0 = dtype(1 / np.sqrt(2 * np.pi))
    assert_array_equal(cdf, np.array([0.5, 0.5, 1, 0, nan, 1, 0, 1, 0, 0.5, 0.5], dtype=dtype))
    assert_array_equal(pdf, np.array([density_at_0] * 2 + [0, 0, nan] + [0] * 4
                                     + [density_at_0] * 2, dtype=dtype))
    assert not np.signbit(cdf[~np.isnan(cdf)]).any()
    assert not np.signbit(pdf[~np.isnan(pdf)]).any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("offset", [0, 5, 16])
def test_normal_cdf_pdf_does_not_depend_on_the_neighbours(baseline_library, dtype, offset):
    # Runs of 16 values all below 1.4 in magnitude take the short form:
    # the same values again, each run with one value of the tail form among
    # them (every 16th, shifted by offset), must give the same bits.
    rng = np.random.default_rng(offset)
    x = rng.uniform(-1.399, 1.399, 16 * 64 + 7).astype(dtype)
    mixed = x.copy()
    mixed[offset::16] = 3.0
    kept = np.ones(x.shape, dtype=bool)
    kept[offset::16] = False
    uint = np.uint64 if dtype == np.float64 else np.uint32
    for got, mixed_got in zip(call_pair(baseline_library, "normal_cdf_pdf", x),
                              call_pair(baseline_library, "normal_cdf_pdf", mixed)):
        assert_array_equal(got[kept].view(uint), mixed_got[kept].view(uint))


# expm1_exp and exp_neg_abs use exp_split (src_c/vecmath_impl.h): exp rounds
# once after u's rounding and r's (which reaches it shrunk by |r| <= ln2 / 2);
# expm1 = (s - 1) + s u likewise, but for k = ±1 its sum cancels down to
# 0.3, which doubles u's error in ulps of the result.  Measured (random
# points over the range, mpmath; float, 2 million points against numpy in
# float64): expm1 1.82 ulp (float 1.50, both near x = 0.35, k = 1), exp
# 1.00 (0.96), exp(-|x|) 0.89 (0.96).  Where 2^round(x / ln 2) would not be
# normal: exp is 0 and expm1 -1 below SCALE_RANGE, both +inf above.
FAST_EXP_MAX_ULP = 2.0
SCALE_RANGE = {np.float64: (-708.0, 709.0), np.float32: (-87.0, 88.0)}


def fast_exp_points(dtype):
    rng = np.random.default_rng(22)
    info = np.finfo(dtype)
    low, high = SCALE_RANGE[dtype]
    n = 4000 if dtype == np.float64 else 100000
    x = np.concatenate([random_bits(dtype, n, rng),
                        rng.uniform(low - 40, high + 40, n),
                        rng.uniform(-5, 5, n),
                        both_signs(np.log(2) / 2 + rng.uniform(-1e-3, 1e-3, n // 4)),  # k = 0, ±1
                        both_signs(np.geomspace(info.smallest_subnormal, 1, n // 2)),
                        np.array([low, high, -40, -20])])
    x = x.astype(dtype)
    edges = np.array([low, high], dtype=dtype)
    return np.concatenate([x, np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf)])


def assert_fast_exp_within_bound(got, x, kind, what):
    """got = kind(x) (exp or expm1) within FAST_EXP_MAX_ULP where x is inside
    SCALE_RANGE."""
    low, high = SCALE_RANGE[x.dtype.type]
    inside = (x >= low) & (x <= high)
    hi, lo = reference_hi_lo(kind, x[inside])
    err = ulp_error_hi_lo(got[inside], hi, lo)
    worst = int(np.argmax(err))
    assert err[worst] <= FAST_EXP_MAX_ULP, (
        f"{what}: {err[worst]:.3g} ulp at x={x[inside][worst]!r}: got {got[inside][worst]!r}, "
        f"expected {hi[worst]!r}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_expm1_exp_within_bound(baseline_library, dtype):
    x = fast_exp_points(dtype)
    em1, e = call_pair(baseline_library, "expm1_exp", x)
    assert_fast_exp_within_bound(em1, x, "expm1", "expm1")
    assert_fast_exp_within_bound(e, x, "exp", "exp")
    low, high = SCALE_RANGE[dtype]
    assert (em1[x < low] == -1).all() and (e[x < low] == 0).all()
    assert (em1[x > high] == np.inf).all() and (e[x > high] == np.inf).all()
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, -1e-300], dtype=dtype)
    em1, e = call_pair(baseline_library, "expm1_exp", special)
    assert_array_equal(em1, np.array([0, 0, np.inf, -1, np.nan, 1e-300, -1e-300], dtype=dtype))
    assert_array_equal(np.signbit(em1[:2]), [False, True])
    assert_array_equal(e, np.array([1, 1, np.inf, 0, np.nan, 1, 1], dtype=dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_neg_abs_within_bound(baseline_library, dtype):
    x = fast_exp_points(dtype)
    kept, e = call_pair(baseline_library, "exp_neg_abs", x)
    assert_array_equal(kept, x)                 # its input is read only
    assert_fast_exp_within_bound(e, -np.abs(x), "exp", "exp(-|x|)")
    assert (e[-np.abs(x) < SCALE_RANGE[dtype][0]] == 0).all()
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan], dtype=dtype)
    _, e = call_pair(baseline_library, "exp_neg_abs", special)
    assert_array_equal(e, np.array([1, 1, 0, 0, np.nan], dtype=dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", PAIR_FUNCTIONS)
def test_pair_functions_dispatch_targets_agree(single_target_builds, name, dtype):
    # Values below 1.4 in magnitude: normal_cdf_pdf's runs of the short form.
    rng = np.random.default_rng(4)
    x = dispatch_inputs(dtype, rng, rng.uniform(-1.4, 1.4, 100001).astype(dtype))
    uint = np.uint64 if dtype == np.float64 else np.uint32
    expected = call_pair(single_target_builds["sse2"], name, x)
    for target, lib in single_target_builds.items():
        for got, want in zip(call_pair(lib, name, x), expected):
            assert_array_equal(got.view(uint), want.view(uint), err_msg=target)


@pytest.mark.parametrize("dtype", DTYPES)
def test_installed_gelu_and_elu_use_these_bits(baseline_library, dtype):
    # The installed module runs the best clone for this CPU: GELU's value is
    # x Phi(x) (one product) and ELU's expm1(x) below 0, so its forward pass
    # shows the clone's bits.  (The output layer's "* 1 + 0" turns -0, GELU's
    # value far below 0, into +0: hence the + 0 here.)
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.uniform(-40, 40, 3001), rng.uniform(-1.4, 1.4, 3001)]).astype(dtype)
    uint = np.uint64 if dtype == np.float64 else np.uint32
    zero = dtype(0)
    cdf, _ = call_pair(baseline_library, "normal_cdf_pdf", x)
    assert_array_equal(apply("gelu", x).view(uint), (x * cdf + zero).view(uint))
    em1, _ = call_pair(baseline_library, "expm1_exp", x)
    assert_array_equal(apply("elu", x).view(uint), (np.where(x <= 0, em1, x) + zero).view(uint))
