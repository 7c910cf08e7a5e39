/*
 * Body of the vector math functions, written once for both precisions.
 * vecmath.c includes this file twice, with these defined:
 *   REAL, UINT      the floating type and the unsigned integer of its width
 *   SFX             name suffix, _f64 or _f32
 *   VM_FABS, VM_COPYSIGN          fabs/copysign of that precision (inlined)
 *   VM_MANT_BITS, VM_EXP_BIAS     stored mantissa bits, exponent bias
 *   VM_LOG2E, VM_LN2_HI, VM_LN2_LO
 *                   1/ln 2, and ln 2 split so that k * VM_LN2_HI is exact
 *   VM_SHIFTER, VM_SHIFTER_BITS   1.5 * 2^VM_MANT_BITS and its bit pattern
 *   VM_EXP_MIN, VM_EXP_MAX        below, above them exp is 0, inf
 *   VM_TANH_SMALL   below it tanh uses its rational form, above it exp
 *   VM_TANH_EXP_MAX where tanh's exp(2|x|) stops: 1 - 2 / (exp + 1) is 1
 *   VM_EXPM1_MIN    below it expm1 is -1
 *   VM_SCALE_MIN, VM_SCALE_MAX    from one to the other 2^round(x / ln 2)
 *                   is a normal number (exp_split)
 *   VM_TINY         below it (in magnitude) expm1(x) and log1p(x) round to x
 *   VM_ONE_BITS, VM_SQRT_HALF_BITS, VM_MANT_MASK
 *                   bit patterns of 1 and sqrt(1/2), the stored mantissa's mask
 *   VM_ERF_SMALL    below it erf uses its series form, above it exp
 *   VM_ERF_MAX      from it on erf is 1
 *   VM_ERF_CENTER   the origin of erfc_scaled's variable
 *   VM_SPLITTER     2^s + 1 splitting a number into two s-bit halves (Dekker)
 *   VM_ERFC_MAX     (double only) from it on erfc is 0; defines erfc_kernel
 *                   and mlpf_erfc_inplace (float's is in vecmath.c)
 *   VM_INV_SQRT_PI, VM_INV_SQRT_2PI   1 / sqrt(pi), 1 / sqrt(2 pi)
 *   VM_NORMAL_MAX   from it on (in magnitude) Phi is 0 or 1 and phi 0
 *   static inline helpers, suffixed with SFX:
 *     exp_tail(r)   exp(r) - 1 - r  for |r| <= ln2 / 2
 *     tanh_num(z), tanh_den(z)      (tanh(x) / x - 1) / z ~ num / den, z = x*x
 *     expm1_poly(r) (expm1(r) - r) / r^2 - 1/2  for |r| <= ln2 / 2
 *     log1p_poly(z) (2 atanh(s) / s - 2) / z, z = s^2 <= 0.0295
 *     erf_small_poly(w)             erf(x) / x - 1, w = x^2 - 1/2, |x| <= 1
 *     erfc_scaled(d)                erfc(a) exp(a^2), d = a - VM_ERF_CENTER
 *     erfc_big(u)   (double) a erfc(a) exp(a^2) - VM_INV_SQRT_PI, u = 1 / a^2,
 *                   for a >= 1 up to erfc's underflow
 *   erfc_big_p, erfc_big_q (SFX-suffixed tables, highest degree first),
 *   VM_ERFC_BIG_DEGREE              erfc_big's rational (float: for the
 *                   normal distribution alone), and its degree
 *   MLPF_DISPATCH   marks the array loops, compiled once per SIMD path
 *
 * Every function is straight-line code (no branches, no libm calls) so the
 * loops over arrays vectorise; both sides of each select are computed and
 * discarded lanes may hold inf/NaN, which is harmless.  With GCC this needs
 * -fno-trapping-math (set for vecmath.c alone, see there).
 */

#define MLPF_VM_CAT(a, b) a##b
#define MLPF_VM_NAME(a, b) MLPF_VM_CAT(a, b)
#define MLPF_VM(base) MLPF_VM_NAME(base, SFX)

/* Bit casts through memcpy: well defined, and compiled to no instruction. */
static inline UINT MLPF_VM(bits)(REAL x)
{
    UINT u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline REAL MLPF_VM(from_bits)(UINT u)
{
    REAL x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/*
 * exp(x) = 2^k * exp(r), k = round(x / ln 2), r = x - k ln 2, |r| <= ln2/2.
 *
 * Rounding x / ln 2 by adding the shifter 1.5 * 2^p leaves k in the low
 * mantissa bits (no float-to-int conversion, which SSE2/AVX2 lack for
 * 64-bit integers): kd = x / ln 2 + shifter.  exp_reduced returns exp(r),
 * the callers apply 2^k.  x_lo extends the argument to x + x_lo for
 * |x_lo| < about 2^-40 (a product's rounding error, for erf); callers
 * without one pass 0, which compiles away (k_lo - 0 is k_lo, -0 included).
 */
static inline REAL MLPF_VM(exp_reduced)(REAL x, REAL x_lo, REAL kd)
{
    REAL k = kd - VM_SHIFTER;
    /* Cody-Waite: k * VM_LN2_HI and x - k * VM_LN2_HI are exact; r_lo is
       the rounding error of r, carried to the end. */
    REAL r_hi = x - k * VM_LN2_HI;
    REAL k_lo = k * VM_LN2_LO - x_lo;
    REAL r = r_hi - k_lo;
    REAL r_lo = (r_hi - r) - k_lo;
    /* exp(r) = 1 + r + tail: 1 + r split exactly into s + s_lo (|r| < 1),
       so that only the last addition rounds at the result's ulp. */
    REAL s = (REAL)1 + r;
    REAL s_lo = ((REAL)1 - s) + r;
    return s + (s_lo + (r_lo + MLPF_VM(exp_tail)(r)));
}

/* 2^k as two factors 2^k1 * 2^k2, k1 = round(k / 2), k2 = k - k1, for k
   in kd's low bits (see exp_kernel). */
static inline void MLPF_VM(two_factors)(REAL kd, REAL *scale1, REAL *scale2)
{
    REAL hd = (kd - VM_SHIFTER) * (REAL)0.5 + VM_SHIFTER;   /* k1 = round(k / 2) */
    UINT k_bits = MLPF_VM(bits)(kd), k1_bits = MLPF_VM(bits)(hd);
    *scale1 = MLPF_VM(from_bits)((k1_bits - (UINT)VM_SHIFTER_BITS + (UINT)VM_EXP_BIAS)
                                 << VM_MANT_BITS);
    *scale2 = MLPF_VM(from_bits)((k_bits - k1_bits + (UINT)VM_EXP_BIAS) << VM_MANT_BITS);
}

/*
 * exp(x) for every x.  2^k is applied as two factors 2^k1 * 2^k2, k1 ~ k/2,
 * each a normal number once x is clamped to [VM_EXP_MIN, VM_EXP_MAX]: the
 * first product is exact, the second rounds once, so results near the
 * overflow threshold and in the subnormal range come out right, and the
 * clamp bounds still give inf and 0 (±inf included).  Both clamps test the
 * original x: NaN fails both and propagates through r.
 */
static inline REAL MLPF_VM(exp_kernel)(REAL x)
{
    REAL xc = x > VM_EXP_MAX ? VM_EXP_MAX : x;
    xc = x < VM_EXP_MIN ? VM_EXP_MIN : xc;
    REAL kd = xc * VM_LOG2E + VM_SHIFTER;
    REAL scale1, scale2;
    MLPF_VM(two_factors)(kd, &scale1, &scale2);
    REAL p = MLPF_VM(exp_reduced)(xc, (REAL)0, kd);
    return (p * scale1) * scale2;
}

/*
 * exp(x + x_lo) as exp_kernel computes exp(x) (x_lo = 0), for x where 2^k is
 * a normal number (-708 < x < 709, float -87 < x < 88) or NaN: without the
 * clamps and with one power-of-two factor, eight fewer operations per value.
 */
static inline REAL MLPF_VM(exp_normal_range)(REAL x, REAL x_lo)
{
    REAL kd = x * VM_LOG2E + VM_SHIFTER;
    UINT scale = (MLPF_VM(bits)(kd) - (UINT)VM_SHIFTER_BITS + (UINT)VM_EXP_BIAS)
                 << VM_MANT_BITS;
    return MLPF_VM(exp_reduced)(x, x_lo, kd) * MLPF_VM(from_bits)(scale);
}

/*
 * exp(x) for 0 <= x (or NaN) up to VM_TANH_EXP_MAX, beyond which it returns
 * exp(VM_TANH_EXP_MAX): tanh's result is 1 from there on either way.
 */
static inline REAL MLPF_VM(exp_for_tanh)(REAL x)
{
    REAL xc = x > VM_TANH_EXP_MAX ? VM_TANH_EXP_MAX : x;
    return MLPF_VM(exp_normal_range)(xc, (REAL)0);
}

/*
 * tanh(x) = sign(x) * t(a), a = |x|, in two forms sharing one division:
 *   a <  VM_TANH_SMALL: t = a + a*z * num(z)/den(z), z = a*a: odd, no
 *       cancellation, and exactly a once a*z underflows, so tiny x give x;
 *   a >= VM_TANH_SMALL: t = 1 - 2 / (exp(2a) + 1), which saturates to 1
 *       (exp overflows to inf, 2/inf = 0) without a NaN.
 * At the threshold 2 / (exp(2a) + 1) is 0.37, so its relative error reaches
 * the result scaled down by that much.  NaN is not small: it goes through
 * exp.  copysign restores the sign, -0 included.
 */
static inline REAL MLPF_VM(tanh_kernel)(REAL x)
{
    REAL a = VM_FABS(x);
    REAL z = a * a;
    REAL e = MLPF_VM(exp_for_tanh)(a + a);
    int small = a < VM_TANH_SMALL;
    REAL num = small ? MLPF_VM(tanh_num)(z) : (REAL)2;
    REAL den = small ? MLPF_VM(tanh_den)(z) : e + (REAL)1;
    REAL d = num / den;
    REAL t = small ? a + (a * z) * d : (REAL)1 - d;
    return VM_COPYSIGN(t, x);
}

/* scipy.special.expit's own formula, so results match it to exp's rounding. */
static inline REAL MLPF_VM(logistic_kernel)(REAL x)
{
    return (REAL)1 / ((REAL)1 + MLPF_VM(exp_kernel)(-x));
}

/* The rounding error of sum = fl(a + b): a + b = sum + two_sum_err exactly
   (Knuth's TwoSum, any order of magnitudes, finite a and b). */
static inline REAL MLPF_VM(two_sum_err)(REAL a, REAL b, REAL sum)
{
    REAL b_part = sum - a;
    REAL a_part = sum - b_part;
    return (a - a_part) + (b - b_part);
}

/* The rounding error of prod = fl(a b): a b = prod + two_prod_err exactly
   (Dekker: a and b split into halves whose products are exact; no
   overflow or underflow in the products). */
static inline REAL MLPF_VM(two_prod_err)(REAL a, REAL b, REAL prod)
{
    REAL sa = a * VM_SPLITTER, sb = b * VM_SPLITTER;
    REAL a_hi = sa - (sa - a), b_hi = sb - (sb - b);
    REAL a_lo = a - a_hi, b_lo = b - b_hi;
    return (((a_hi * b_hi - prod) + a_hi * b_lo) + a_lo * b_hi) + a_lo * b_lo;
}

/*
 * expm1(x) = exp(x) - 1 = 2 * (h - 1/2 + h r + h tail(r)), h = 2^(k-1),
 * with k and r as in exp_kernel and exp(r) = 1 + r + tail(r).  h - 1/2 is
 * a + a_err exactly (TwoSum; a_err is 0 unless |k| > 53) and h r is exact;
 * the sum a + h r is split exactly into sum + err (TwoSum), so only the
 * last addition rounds at the result's ulp, whatever the sign and size of
 * the result.  The factor 2 is exact (or overflows, correctly); using
 * 2^(k-1) keeps the scale normal up to k = 1024 (float: 128).  For k = 0
 * this is r + tail(r) rounded once: no cancellation near 0.  Below VM_TINY,
 * expm1(x) rounds to x, which is returned (this keeps -0 and the
 * subnormals).  Clamping: above VM_EXP_MAX the result is inf, below
 * VM_EXPM1_MIN it is -1 (exp(x) is under a quarter ulp of 1); NaN fails
 * both tests and propagates.
 */
/* expm1's reduction of a clamped xc: kd (k in its low bits), r + r_lo and
   tail(r), exp(r) = 1 + r + tail. */
static inline REAL MLPF_VM(expm1_reduce)(REAL xc, REAL *r, REAL *r_lo, REAL *tail)
{
    REAL kd = xc * VM_LOG2E + VM_SHIFTER;
    REAL k = kd - VM_SHIFTER;
    REAL r_hi = xc - k * VM_LN2_HI;
    REAL k_lo = k * VM_LN2_LO;
    *r = r_hi - k_lo;
    *r_lo = (r_hi - *r) - k_lo;
    /* tail = r^2 / 2 + r^2 (c3 r + ...): the rounding errors of the smaller
       term are scaled by r / 3. */
    REAL r2 = *r * *r;
    *tail = (REAL)0.5 * r2 + r2 * MLPF_VM(expm1_poly)(*r);
    return kd;
}

/* 2 (h - 1/2 + h r + h tail), h = 2^(k-1), for 2^(k-1) normal. */
static inline REAL MLPF_VM(expm1_finish)(REAL kd, REAL r, REAL r_lo, REAL tail)
{
    UINT h_bits = (MLPF_VM(bits)(kd) - (UINT)VM_SHIFTER_BITS + (UINT)(VM_EXP_BIAS - 1))
                  << VM_MANT_BITS;
    REAL h = MLPF_VM(from_bits)(h_bits);                       /* 2^(k-1) */
    REAL a = h - (REAL)0.5;
    REAL a_err = MLPF_VM(two_sum_err)(h, (REAL)-0.5, a);
    REAL b = h * r;
    REAL sum = a + b;
    REAL err = MLPF_VM(two_sum_err)(a, b, sum);
    return (REAL)2 * (sum + (err + (a_err + h * (r_lo + tail))));
}

static inline REAL MLPF_VM(expm1_kernel)(REAL x)
{
    REAL xc = x > VM_EXP_MAX ? VM_EXP_MAX : x;
    xc = x < VM_EXPM1_MIN ? VM_EXPM1_MIN : xc;
    REAL r, r_lo, tail;
    REAL kd = MLPF_VM(expm1_reduce)(xc, &r, &r_lo, &tail);
    REAL e = MLPF_VM(expm1_finish)(kd, r, r_lo, tail);
    return VM_FABS(x) < VM_TINY ? x : e;
}

/*
 * The activations' exponential: exp(x) = s (1 + u), s = 2^k returned and
 * u = expm1(r) = r + exp_tail(r) in *u, for x where 2^k is a normal number
 * (VM_SCALE_MIN <= x <= VM_SCALE_MAX) or NaN.  exp_kernel's reduction
 * without its carried low parts (r_lo, the exact split of 1 + r) and with
 * one power-of-two factor: exp_neg_abs's loop is 33 vector instructions
 * per 8 values where exp's is 50 (AVX-512, GCC 12), for exp within 1.0 ulp
 * instead of 0.8 (measured: tests/test_vecmath.py).  r's rounding error,
 * at most half an ulp of r (|r| <= ln2 / 2), reaches exp(x) shrunk by
 * |r| <= 0.35; exp_tail's fit error is 2^-62 relative.
 */
static inline REAL MLPF_VM(exp_split)(REAL x, REAL *u)
{
    REAL kd = x * VM_LOG2E + VM_SHIFTER;
    REAL k = kd - VM_SHIFTER;
    REAL r = (x - k * VM_LN2_HI) - k * VM_LN2_LO;
    *u = r + MLPF_VM(exp_tail)(r);
    return MLPF_VM(from_bits)((MLPF_VM(bits)(kd) - (UINT)VM_SHIFTER_BITS + (UINT)VM_EXP_BIAS)
                              << VM_MANT_BITS);
}

/*
 * exp(-|x|), for SiLU's and softplus's logistic function: in (0, 1], so
 * one clamp, and 0 from where exp would leave exp_split's normal 2^k
 * (-|x| < VM_SCALE_MIN: exp(-708) is 3.3e-308, float exp(-87) 1.6e-38,
 * both within a few times the smallest normal number).  NaN stays NaN.
 */
static inline REAL MLPF_VM(exp_neg_abs_kernel)(REAL x)
{
    REAL a = -VM_FABS(x);
    REAL ac = a < VM_SCALE_MIN ? VM_SCALE_MIN : a;
    REAL u;
    REAL s = MLPF_VM(exp_split)(ac, &u);
    REAL e = s + s * u;
    return a < VM_SCALE_MIN ? (REAL)0 : e;
}

/*
 * expm1(x), returned, and exp(x) in *e, from one exp_split: what ELU and
 * its derivative need.  exp = s + s u and expm1 = (s - 1) + s u: s u is
 * exact (s is a power of two), and so is s - 1 for |k| <= 53 (beyond, it
 * is -1 or s up to far below the result's ulp); each result rounds once
 * after u's own error.  For k = 0 (|x| < ln2 / 2) expm1 is u itself: no
 * cancellation near 0, and tiny x give x (r = x exactly, exp_tail(x)
 * negligible), -0 kept by a select.  Below VM_SCALE_MIN exp is 0 (as in
 * exp_neg_abs) and expm1 -1; above VM_SCALE_MAX (709, float 88, a little
 * short of exp's own overflow at 709.78 and 88.72) both are +inf: ELU
 * uses neither for x > 0.  NaN gives NaN for both.
 */
static inline REAL MLPF_VM(expm1_exp_kernel)(REAL x, REAL *e)
{
    REAL xc = x < VM_SCALE_MIN ? VM_SCALE_MIN : x;
    xc = x > VM_SCALE_MAX ? VM_SCALE_MAX : xc;
    REAL u;
    REAL s = MLPF_VM(exp_split)(xc, &u);
    REAL su = s * u;
    REAL ex = s + su;
    REAL em1 = (s - (REAL)1) + su;
    ex = x < VM_SCALE_MIN ? (REAL)0 : ex;
    em1 = x < VM_SCALE_MIN ? (REAL)-1 : em1;
    *e = x > VM_SCALE_MAX ? (REAL)INFINITY : ex;
    em1 = x > VM_SCALE_MAX ? (REAL)INFINITY : em1;
    return x == (REAL)0 ? x : em1;
}

/*
 * log1p(x) = k ln 2 + log(1 + f), for 1 + x = 2^k (1 + f) exactly,
 * sqrt(1/2) <= 1 + f < sqrt(2):
 *   u = 1 + x rounded, e its exact error (TwoSum); k and m = u / 2^k from
 *   u's bits (biased so that m lands in [sqrt(1/2), sqrt(2))); then
 *   f = m - 1 + e / 2^k, kept as f + f_lo (f = x exactly when k = 0, so
 *   small x lose nothing to the rounding of 1 + x).
 *   log(1 + f) = 2 atanh(s), s = f / (2 + f), |s| <= 0.1716, written as
 *   f - f^2/2 + s (f^2/2 + R), R = 2 atanh(s) / s - 2 = z P(z), z = s^2:
 *   f is exact, f^2/2 small next to it, and the division's error only
 *   reaches the last, smallest term.  f_lo adds f_lo / (1 + f) ~ f_lo (1 - f).
 * k is read as an integer from the exponent field and converted through
 * the shifter (no int64-to-double instruction before AVX-512DQ).  The scale
 * 2^(1-k) of e is normal for every finite u (and 0 for the largest
 * exponent, where e no longer matters).  Special cases by selects: x < -1
 * gives NaN, -1 gives -inf, +inf gives +inf, tiny x (±0, subnormals) give
 * x; NaN propagates through the arithmetic.
 */
static inline REAL MLPF_VM(log1p_kernel)(REAL x)
{
    REAL u = (REAL)1 + x;
    REAL e = MLPF_VM(two_sum_err)((REAL)1, x, u);
    UINT ub = MLPF_VM(bits)(u) + (UINT)(VM_ONE_BITS - VM_SQRT_HALF_BITS);
    UINT kb = ub >> VM_MANT_BITS;                               /* k + bias */
    REAL m = MLPF_VM(from_bits)((ub & (UINT)VM_MANT_MASK) + (UINT)VM_SQRT_HALF_BITS);
    REAL scale = MLPF_VM(from_bits)(((UINT)(2 * VM_EXP_BIAS + 1) - kb) << VM_MANT_BITS);
    REAL k = MLPF_VM(from_bits)(kb + (UINT)VM_SHIFTER_BITS) - (VM_SHIFTER + (REAL)VM_EXP_BIAS);
    REAL f_hi = m - (REAL)1;
    REAL f_lo = (e * scale) * (REAL)0.5;                        /* e / 2^k */
    REAL f = f_hi + f_lo;
    REAL f_lo2 = (f_hi - f) + f_lo;
    REAL s = f / ((REAL)2 + f);
    REAL z = s * s;
    REAL hfsq = (REAL)0.5 * (f * f);
    REAL tail = z * MLPF_VM(log1p_poly)(z);
    REAL low = k * VM_LN2_LO + f_lo2 * ((REAL)1 - f);
    REAL y = k * VM_LN2_HI + (f - (hfsq - (s * (hfsq + tail) + low)));
    y = x < (REAL)-1 ? (REAL)NAN : y;
    y = x == (REAL)-1 ? -(REAL)INFINITY : y;
    y = x == (REAL)INFINITY ? (REAL)INFINITY : y;
    return VM_FABS(x) < VM_TINY ? x : y;
}

/*
 * erf(x) = sign(x) * e(a), a = |x| clamped to VM_ERF_MAX (erf is 1 there in
 * this precision), both forms computed and one selected:
 *   a <  VM_ERF_SMALL: e = a + a Q(a^2 - 1/2), Q ~ erf(a) / a - 1: no
 *       cancellation (|a Q| <= 0.19 e), and a + a Q rounds to a for tiny a;
 *   a >= VM_ERF_SMALL: e = 1 - exp(-a^2) G(a), G = erfc_scaled ~ erfc(a)
 *       exp(a^2).  erfc(a) <= 0.16 <= erf(a) / 5 there, so errors of the
 *       product reach erf shrunk 4 times in ulps at a = 1, and far more
 *       beyond.  a^2 is carried as z_hi + z_lo into exp: its rounding
 *       error alone would be up to an ulp of erfc.
 * ±inf give ±1, ±0 keep their sign (copysign), NaN propagates.
 */
static inline REAL MLPF_VM(erf_kernel)(REAL x)
{
    REAL a = VM_FABS(x);
    REAL ac = a > VM_ERF_MAX ? VM_ERF_MAX : a;
    REAL z = ac * ac;
    REAL small = ac + ac * MLPF_VM(erf_small_poly)(z - (REAL)0.5);
    /* a^2 = z_hi + z_lo, z_hi exact and z_lo to its own rounding: Dekker's
       split of a into halves whose products are exact (without a fused
       multiply-add, the way to get the rounding error of a * a). */
    REAL split = ac * VM_SPLITTER;
    REAL a_hi = split - (split - ac);
    REAL a_lo = ac - a_hi;
    REAL z_hi = a_hi * a_hi;
    REAL z_lo = a_lo * (ac + a_hi);
    REAL tail = MLPF_VM(exp_normal_range)(-z_hi, -z_lo)
                * MLPF_VM(erfc_scaled)(ac - VM_ERF_CENTER);
    REAL t = ac < VM_ERF_SMALL ? small : (REAL)1 - tail;
    return VM_COPYSIGN(t, x);
}

#ifdef VM_ERFC_MAX
/*
 * erfc(x), accurate relative to itself down to where it underflows:
 *   a = |x| <  1: 1 - erf(a) = (1 - a) - a Q(a^2 - 1/2), Q as in erf (1 - a
 *       carried exactly as s + s_err by TwoSum, a^2 - 1/2 from z_hi + z_lo);
 *       erfc >= 0.157 there, and a Q's error reaches it at most as is;
 *   a >= 1: exp(-a^2) G(a), G = F(u) / a ~ erfc(a) exp(a^2), u = 1 / a^2,
 *       F = erfc_big ~ 1/sqrt(pi) + u P(u) / Q(u), a rational fit relative
 *       to F itself over [1, VM_ERFC_MAX] (erf's erfc_scaled is fitted for
 *       1 - its product, and is not accurate in this tail).  u P / Q is at
 *       most a third of F (at a = 1) and shrinks like u beyond, so its
 *       rounding errors reach G scaled down.
 *       a^2 = z_hi + z_lo as in erf; k is rounded from their sum, and 2^k is
 *       applied as two factors as in exp_kernel, after the product with G,
 *       so that results below the normal range round once into the
 *       subnormals instead of flushing.
 * Above VM_ERFC_MAX erfc is 0 (+inf included); negative x give
 * 2 - erfc(|x|), which does not cancel (erfc(|x|) <= 1), so -inf gives 2;
 * NaN gives x + x (x quieted).
 */
static inline REAL MLPF_VM(erfc_kernel)(REAL x)
{
    REAL a = VM_FABS(x);
    REAL ac = a > VM_ERFC_MAX ? VM_ERFC_MAX : a;
    REAL split = ac * VM_SPLITTER;
    REAL a_hi = split - (split - ac);
    REAL a_lo = ac - a_hi;
    REAL z_hi = a_hi * a_hi;
    REAL z_lo = a_lo * (ac + a_hi);
    /* a < 1 */
    REAL w = (z_hi - (REAL)0.5) + z_lo;
    REAL aq = ac * MLPF_VM(erf_small_poly)(w);
    REAL s = (REAL)1 - ac;
    REAL s_err = MLPF_VM(two_sum_err)((REAL)1, -ac, s);
    REAL small = s + (s_err - aq);
    /* a >= 1 */
    REAL z = z_hi + z_lo;
    REAL kd = -z * VM_LOG2E + VM_SHIFTER;
    REAL scale1, scale2;
    MLPF_VM(two_factors)(kd, &scale1, &scale2);
    /* exp(-a^2) / 2^k = s + e_lo unrounded: exp_reduced's steps. */
    REAL k = kd - VM_SHIFTER;
    REAL r_hi = -z_hi - k * VM_LN2_HI;
    REAL k_lo = k * VM_LN2_LO + z_lo;
    REAL r = r_hi - k_lo;
    REAL r_lo = (r_hi - r) - k_lo;
    REAL s1 = (REAL)1 + r;
    REAL e_lo = (((REAL)1 - s1) + r) + (r_lo + MLPF_VM(exp_tail)(r));
    /* F = f + f_lo exactly (|v| < F / 3), g + g_lo = F / a to the rounding
       of g_lo (F - g a from g a split exactly), then p = (s1 + e_lo)(g +
       g_lo) with s1 g exact as p_hi + p_err: only the last sum rounds at
       p's ulp, and the errors of v, e_lo and g_lo are all that is left. */
    REAL v = MLPF_VM(erfc_big)((REAL)1 / z);
    REAL f = VM_INV_SQRT_PI + v;
    REAL f_lo = (VM_INV_SQRT_PI - f) + v;
    REAL g = f / ac;
    REAL ga = g * ac;
    REAL g_lo = (((f - ga) - MLPF_VM(two_prod_err)(g, ac, ga)) + f_lo) / ac;
    REAL p_hi = s1 * g;
    REAL p = p_hi + (MLPF_VM(two_prod_err)(s1, g, p_hi) + (s1 * g_lo + e_lo * g));
    REAL big = (p * scale1) * scale2;
    REAL t = ac < (REAL)1 ? small : big;
    t = a > VM_ERFC_MAX ? (REAL)0 : t;
    t = x < 0 ? (REAL)2 - t : t;
    /* NaN: x itself (quieted), not the arithmetic's NaN, whose sign can
       differ between the scalar and the vector code. */
    return x == x ? t : x + x;
}
#endif

/*
 * erfc_big's rational in y = 1 / u, without the division: returns
 * y^n P(1 / y) and puts y^n Q(1 / y) in *q_out (u P / Q is their quotient
 * over y), n = VM_ERFC_BIG_DEGREE, Horner's order from the other end of
 * the coefficient tables erfc_big_p, erfc_big_q.  For y >= 1 no sum
 * cancels either (P < 0 < Q).
 */
static inline REAL MLPF_VM(erfc_big_reversed)(REAL y, REAL *q_out)
{
    REAL p = MLPF_VM(erfc_big_p)[VM_ERFC_BIG_DEGREE];
    REAL q = MLPF_VM(erfc_big_q)[VM_ERFC_BIG_DEGREE];
    for (int i = VM_ERFC_BIG_DEGREE - 1; i >= 0; i--) {
        p = p * y + MLPF_VM(erfc_big_p)[i];
        q = q * y + MLPF_VM(erfc_big_q)[i];
    }
    *q_out = q;
    return p;
}

/*
 * The standard normal distribution function Phi(x), returned, and its
 * density phi(x) = exp(-x^2 / 2) / sqrt(2 pi), in *pdf: what GELU and its
 * derivative need, from one exponential.
 *   y = x^2 / 2 is carried exactly as y_hi + y_lo (Dekker's split, as in
 *   erfc), so that the exponential sees the true argument: with w = |x| /
 *   sqrt 2, w^2 is y and exp(-y) is both phi's factor and erfc(w)'s.
 *   h = Phi(-|x|) = erfc(w) / 2, then Phi(x) = h for x < 0, 1 - h above:
 *     y < 1 (w < 1): h = 1/2 - m (1 + Q(y - 1/2)), m = |x| / (2 sqrt 2),
 *       Q as in erf; m carried as m + m_lo (c_hi + c_lo: the constant's
 *       rounding alone would be 1.5 ulp of h at w = 1), and
 *       1/2 - m by TwoSum: h >= 0.078 there, and the rounding of m Q
 *       reaches it at most as is;
 *     y >= 1: h = exp(-y) F(u) / (2 w), u = 1 / y, F = w erfc(w) exp(w^2)
 *       = 1/sqrt(pi) + u P(u) / Q(u), erfc_big's rational (double: erfc's
 *       own fit; float: a fit of its own, vecmath.c), evaluated in y as
 *       erfc_big_reversed, and 1 / w = w / y: one division where erfc has
 *       four, for an error of a few ulps of h.
 *   2^k of the exponential is applied in two factors after the products,
 *   as in erfc, so that h and phi round into the subnormals.
 * |x| is clamped to VM_NORMAL_MAX, where h and phi have underflowed to 0:
 * Phi(+inf) = 1, Phi(-inf) = 0, phi(±inf) = 0.  NaN gives NaN for both.
 * Measured against mpmath (double) and against the double kernel (float):
 * Phi within 4.0 ulp, phi within 2.0 (double; near x = -1.86, where the
 * tail form's roundings add up), float 5.1 and 1.7; see
 * tests/test_vecmath.py.
 */

/* What both forms share, in normal_parts: |x| clamped (ac) and split
   exactly (a_hi + a_lo, a_hi of half the digits), y = y_hi + y_lo, and
   exp(-y) = p * scale1 * scale2.  Returns phi. */
typedef struct {
    REAL ac, a_hi, a_lo, y_hi, y_lo, p, scale1, scale2;
} MLPF_VM(normal_parts);

static inline REAL MLPF_VM(normal_common)(REAL x, MLPF_VM(normal_parts) *n)
{
    REAL a = VM_FABS(x);
    n->ac = a > VM_NORMAL_MAX ? VM_NORMAL_MAX : a;
    REAL split = n->ac * VM_SPLITTER;
    n->a_hi = split - (split - n->ac);
    n->a_lo = n->ac - n->a_hi;
    n->y_hi = (REAL)0.5 * (n->a_hi * n->a_hi);
    n->y_lo = (REAL)0.5 * (n->a_lo * (n->ac + n->a_hi));
    REAL kd = -(n->y_hi + n->y_lo) * VM_LOG2E + VM_SHIFTER;
    MLPF_VM(two_factors)(kd, &n->scale1, &n->scale2);
    n->p = MLPF_VM(exp_reduced)(-n->y_hi, -n->y_lo, kd);
    return ((n->p * VM_INV_SQRT_2PI) * n->scale1) * n->scale2;
}

/* h = Phi(-|x|) for y < 1 (see normal_kernel).  m = |x| c, c = 1/(2 sqrt 2)
   = c_hi + c_lo with c_hi of 9 bits: a_hi c_hi is exact in both
   precisions, and the rest is below 2^-11 of m. */
static inline REAL MLPF_VM(normal_small_tail)(const MLPF_VM(normal_parts) *n)
{
    const REAL c_hi = (REAL)0x1.6ap-2, c_lo = (REAL)0x1.3cccfe7799211p-15;
    REAL m = n->a_hi * c_hi;
    REAL m_lo = n->a_lo * c_hi + n->ac * c_lo;
    REAL mq = (m + m_lo) * MLPF_VM(erf_small_poly)((n->y_hi - (REAL)0.5) + n->y_lo);
    REAL s = (REAL)0.5 - m;
    REAL s_err = MLPF_VM(two_sum_err)((REAL)0.5, -m, s);
    return s + (s_err - (m_lo + mq));
}

/* normal_kernel where y < 1 is known, with the same bits. */
static inline REAL MLPF_VM(normal_small)(REAL x, REAL *pdf)
{
    MLPF_VM(normal_parts) n;
    *pdf = MLPF_VM(normal_common)(x, &n);
    REAL h = MLPF_VM(normal_small_tail)(&n);
    return x < 0 ? h : (REAL)1 - h;
}

static inline REAL MLPF_VM(normal_kernel)(REAL x, REAL *pdf)
{
    MLPF_VM(normal_parts) n;
    REAL phi = MLPF_VM(normal_common)(x, &n);
    REAL h_small = MLPF_VM(normal_small_tail)(&n);
    /* F / (2 w) = (w / 2) (1/sqrt(pi) + P~ / (y Q~)) / y with P~, Q~ the
       reversed polynomials: one division. */
    REAL y = n.y_hi + n.y_lo;
    REAL q;
    REAL p = MLPF_VM(erfc_big_reversed)(y, &q);
    REAL yq = y * q;
    REAL w = n.ac * (REAL)0.70710678118654752440;
    REAL g = (VM_INV_SQRT_PI * yq + p) / (y * yq);
    REAL h_big = ((n.p * (((REAL)0.5 * w) * g)) * n.scale1) * n.scale2;
    REAL h = n.y_hi < (REAL)1 ? h_small : h_big;
    REAL cdf = x < 0 ? h : (REAL)1 - h;
    /* NaN: x itself (quieted), as erfc does. */
    *pdf = x == x ? phi : x + x;
    return x == x ? cdf : x + x;
}

/* The array functions, mlpf_<name>_inplace<SFX>: <name>_kernel on each
   element, in place. */
#define MLPF_VM_ARRAY_FUNCTION(name)                                         \
    MLPF_DISPATCH void MLPF_VM(mlpf_##name##_inplace)(REAL *x, ptrdiff_t n)  \
    {                                                                        \
        for (ptrdiff_t i = 0; i < n; i++) {                                  \
            x[i] = MLPF_VM(name##_kernel)(x[i]);                             \
        }                                                                    \
    }

MLPF_VM_ARRAY_FUNCTION(exp)
MLPF_VM_ARRAY_FUNCTION(tanh)
MLPF_VM_ARRAY_FUNCTION(logistic)
MLPF_VM_ARRAY_FUNCTION(expm1)
MLPF_VM_ARRAY_FUNCTION(log1p)
MLPF_VM_ARRAY_FUNCTION(erf)
#ifdef VM_ERFC_MAX
MLPF_VM_ARRAY_FUNCTION(erfc)
#endif

/* e = exp(-|x|) over arrays (exp_neg_abs_kernel). */
MLPF_DISPATCH void MLPF_VM(mlpf_exp_neg_abs)(const REAL *restrict x, REAL *restrict e, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        e[i] = MLPF_VM(exp_neg_abs_kernel)(x[i]);
    }
}

/* x = expm1(x) and e = exp(x) over arrays (expm1_exp_kernel). */
MLPF_DISPATCH void MLPF_VM(mlpf_expm1_exp)(REAL *restrict x, REAL *restrict e, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        x[i] = MLPF_VM(expm1_exp_kernel)(x[i], &e[i]);
    }
}

/*
 * x = Phi(x) and pdf = phi(x) over arrays (normal_kernel).  Runs of
 * VM_NORMAL_RUN values all below 1.4 in magnitude (y < 0.98) take
 * normal_small, with normal_kernel's bits but without the tail's form:
 * the common case of pre-activations near 0 then costs little more than
 * one exponential.  The run's length is the same for every instruction
 * set, and each value's result does not depend on the branch taken, so
 * every dispatch target and every mix of values gives the same bits.
 */
#define VM_NORMAL_RUN 16
MLPF_DISPATCH void MLPF_VM(mlpf_normal_cdf_pdf)(REAL *restrict x, REAL *restrict pdf, ptrdiff_t n)
{
    ptrdiff_t start = 0;
    for (; start + VM_NORMAL_RUN <= n; start += VM_NORMAL_RUN) {
        REAL *xs = x + start, *ps = pdf + start;
        int all_small = 1;
        for (int i = 0; i < VM_NORMAL_RUN; i++) {
            all_small &= VM_FABS(xs[i]) < (REAL)1.4;
        }
        if (all_small) {
            for (int i = 0; i < VM_NORMAL_RUN; i++) {
                xs[i] = MLPF_VM(normal_small)(xs[i], &ps[i]);
            }
        } else {
            for (int i = 0; i < VM_NORMAL_RUN; i++) {
                xs[i] = MLPF_VM(normal_kernel)(xs[i], &ps[i]);
            }
        }
    }
    for (ptrdiff_t i = start; i < n; i++) {
        x[i] = MLPF_VM(normal_kernel)(x[i], &pdf[i]);
    }
}
#undef VM_NORMAL_RUN

#undef MLPF_VM_ARRAY_FUNCTION
#undef MLPF_VM
#undef MLPF_VM_NAME
#undef MLPF_VM_CAT
