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
 *   static inline helpers, suffixed with SFX:
 *     exp_tail(r)   exp(r) - 1 - r  for |r| <= ln2 / 2
 *     tanh_num(z), tanh_den(z)      (tanh(x) / x - 1) / z ~ num / den, z = x*x
 *   MLPF_DISPATCH   attribute giving the array loops their per-CPU clones
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
 * the callers apply 2^k.
 */
static inline REAL MLPF_VM(exp_reduced)(REAL x, REAL kd)
{
    REAL k = kd - VM_SHIFTER;
    /* Cody-Waite: k * VM_LN2_HI and x - k * VM_LN2_HI are exact; r_lo is
       the rounding error of r, carried to the end. */
    REAL r_hi = x - k * VM_LN2_HI;
    REAL k_lo = k * VM_LN2_LO;
    REAL r = r_hi - k_lo;
    REAL r_lo = (r_hi - r) - k_lo;
    /* exp(r) = 1 + r + tail: 1 + r split exactly into s + s_lo (|r| < 1),
       so that only the last addition rounds at the result's ulp. */
    REAL s = (REAL)1 + r;
    REAL s_lo = ((REAL)1 - s) + r;
    return s + (s_lo + (r_lo + MLPF_VM(exp_tail)(r)));
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
    REAL hd = (kd - VM_SHIFTER) * (REAL)0.5 + VM_SHIFTER;   /* k1 = round(k / 2) */
    UINT k_bits = MLPF_VM(bits)(kd), k1_bits = MLPF_VM(bits)(hd);
    UINT scale1 = (k1_bits - (UINT)VM_SHIFTER_BITS + (UINT)VM_EXP_BIAS) << VM_MANT_BITS;
    UINT scale2 = (k_bits - k1_bits + (UINT)VM_EXP_BIAS) << VM_MANT_BITS;
    REAL p = MLPF_VM(exp_reduced)(xc, kd);
    return (p * MLPF_VM(from_bits)(scale1)) * MLPF_VM(from_bits)(scale2);
}

/*
 * exp(x) for 0 <= x (or NaN) as exp_kernel computes it, for x up to
 * VM_TANH_EXP_MAX, beyond which it returns exp(VM_TANH_EXP_MAX): tanh's
 * result is 1 from there on either way.  Without the lower clamp and with
 * one power-of-two factor (2^k is a normal number there): eight fewer
 * operations per value, the same bits.
 */
static inline REAL MLPF_VM(exp_for_tanh)(REAL x)
{
    REAL xc = x > VM_TANH_EXP_MAX ? VM_TANH_EXP_MAX : x;
    REAL kd = xc * VM_LOG2E + VM_SHIFTER;
    UINT scale = (MLPF_VM(bits)(kd) - (UINT)VM_SHIFTER_BITS + (UINT)VM_EXP_BIAS)
                 << VM_MANT_BITS;
    return MLPF_VM(exp_reduced)(xc, kd) * MLPF_VM(from_bits)(scale);
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

MLPF_DISPATCH void MLPF_VM(mlpf_exp_inplace)(REAL *x, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        x[i] = MLPF_VM(exp_kernel)(x[i]);
    }
}

MLPF_DISPATCH void MLPF_VM(mlpf_tanh_inplace)(REAL *x, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        x[i] = MLPF_VM(tanh_kernel)(x[i]);
    }
}

MLPF_DISPATCH void MLPF_VM(mlpf_logistic_inplace)(REAL *x, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        x[i] = MLPF_VM(logistic_kernel)(x[i]);
    }
}

#undef MLPF_VM
#undef MLPF_VM_NAME
#undef MLPF_VM_CAT
