/*
 * Instantiates vecmath_impl.h for double and float: the constants and
 * polynomials of each precision are here, the algorithms there.
 *
 * Coefficients were fitted for this file (mpmath, 50 digits): exp's by a
 * weighted minimax fit (Lawson's iteration) of the relative error on
 * |r| <= ln2/2 (+0.02 % margin for the rounding of k); tanh's are Padé
 * approximants of g(z) = (tanh(x)/x - 1) / z, z = x^2, from its Taylor
 * series (Bernoulli numbers).  Errors of the approximations alone, relative:
 * exp double 3.6e-18, float 3.1e-9; tanh double 5.6e-19, float 6.5e-11 on
 * |x| <= 0.8 (used below 0.75); against half an ulp, 1.1e-16 and 6.0e-8.
 * Measured with rounding, against the true values: exp 0.78 ulp, tanh
 * 1.02 ulp (float: every input; double: millions of points).
 *
 * expm1, log1p and erf: weighted minimax polynomials by the Remez exchange
 * on 800 to 1500 Chebyshev points, each weight the share of the fitted
 * function's error in the final result, then the coefficients rounded to
 * the precision one at a time from the lowest degree up, the others fitted
 * again after each.  Errors below are those weighted ones, with the
 * rounded coefficients:
 *   expm1: (expm1(r) - r) / r^2 - 1/2 on |r| <= ln2/2 (+0.02 %), weight
 *     r^2 max(1 / |expm1(r)|, 2 / |2 exp(r) - 1|) (k = 0 and k = 1, the
 *     results that are smallest next to the tail): double 1.9e-18, float
 *     2.5e-9;
 *   log1p: (2 atanh(s) / s - 2) / s^2 on |s| <= 0.1716 (+0.1 %), weight
 *     s^2 / 2 (its share of log(1 + f)): double 1.3e-18, float 8.2e-10;
 *   erf, |x| <= 1: erf(x) / x - 1 in x^2 - 1/2, relative error of erf:
 *     double 1.8e-18, float 2.2e-9;
 *   erf, 1 <= x <= 6 (float 4): G = erfc(x) exp(x^2), weight
 *     exp(-x^2) / erf(x): float a polynomial in x - 1 (Remez), 5.0e-10;
 *     double the rational G(1) + d P(d) / Q(d), d = x - 1, by linearised
 *     weighted least squares with Sanathanan-Koerner reweighting on 300
 *     Chebyshev points (a polynomial needs degree 22 there), rounded the
 *     same way, then P re-expanded around G(1) and rounded: 2.3e-18.
 * Measured with rounding, against the true values (mpmath for double,
 * float: every input): expm1 0.90 ulp (float 0.90), log1p 0.85 (0.84),
 * erf 0.80 (0.94), 1.0 for erf at the smallest normal numbers, where
 * x + x Q(x^2) rounds twice on the subnormals' spacing.
 *
 * erfc (double; float is the double kernel rounded once): below 1 it is
 * 1 - erf with erf's Q; from 1 on exp(-x^2) F(u) / x, u = 1 / x^2,
 * F = x erfc(x) exp(x^2) = 1/sqrt(pi) + u P(u) / Q(u), degrees 10 and 10,
 * fitted relative to F on [1/745.3, 1] (x up to 27.3, where erfc has
 * underflowed) by linearised weighted least squares with Sanathanan-Koerner
 * and Lawson reweighting on 400 Chebyshev points in u, coefficients rounded
 * from the lowest degree up with the others fitted again: 1.1e-18.  (A
 * rational in x - 1 reaches 1.9e-17 with degrees 8 and 9, but its Horner
 * sums, terms of one sign up to d = 26, round to 8 ulp of G.)  Measured
 * against mpmath: 2.7 ulp at most (near x = 1.1, where erfc lies just below
 * 1/8 and v = u P / Q is a quarter of F: v's own rounding errors are what
 * is left), 1.35 ulp from x = 1.2 on, 1.65 below 1; float 0.50 ulp over
 * every float in [-10.1, 10.1] (against scipy's double erfc).
 *
 * The normal distribution's tail (normal_kernel) uses erfc's F in double;
 * float has a fit of its own, degrees 4 and 4, u in [1/113, 1] (x up to
 * 15, past float's underflow of Phi), linearised weighted least squares
 * with Sanathanan-Koerner and Lawson reweighting on 3000 Chebyshev points
 * against scipy's erfcx, coefficients rounded to float from the lowest
 * degree up with the others fitted again: 1.8e-9 relative (2.7 ulp of F as
 * evaluated in float: its Horner sums round).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

/*
 * GCC's default -ftrapping-math keeps a floating-point operation from being
 * executed where the source would not execute it (it might raise an FP
 * exception flag), so it will not if-convert `c ? f(x) : y` once its passes
 * have moved f's arithmetic into a branch, or specialised a clamped
 * constant into a copied path: every loop here then stays scalar on SSE2
 * and AVX2.  Nothing reads the exception flags, and the option changes no
 * result (rounding, NaN, inf, signed zeros and the ban on contraction are
 * untouched: tests/test_vecmath.py), so it is turned off for this file.
 * clang assumes it by default.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "mlpfast_vecmath.h"

/* The array loops are cloned per CPU: see mlpfast_dispatch.h. */
#include "mlpfast_dispatch.h"

/* ---- double ------------------------------------------------------------ */

/* exp(r) - 1 - r = r^2 * (c2 + c3 r + ... + c11 r^9), minimax, |r| <= ln2/2. */
static inline double exp_tail_f64(double r)
{
    double q = 0x1.ad7f652ff472ep-26;        /* c11 */
    q = q * r + 0x1.28ad7d5da7eecp-22;
    q = q * r + 0x1.71df2569a1ca7p-19;
    q = q * r + 0x1.a0199a0171085p-16;
    q = q * r + 0x1.a01a012a45929p-13;
    q = q * r + 0x1.6c16c1842de98p-10;
    q = q * r + 0x1.1111111127c31p-7;
    q = q * r + 0x1.555555555086cp-5;
    q = q * r + 0x1.55555555554fap-3;
    q = q * r + 0x1.000000000000ap-1;         /* c2 */
    return (r * r) * q;
}

/* Padé [3/4] of g(z): numerator and denominator, all terms of one sign. */
static inline double tanh_num_f64(double z)
{
    return ((-1.2768640219620611777e-6 * z - 3.7348272642390289449e-4) * z
            - 2.3529411764705882353e-2) * z - 3.3333333333333333333e-1;
}

static inline double tanh_den_f64(double z)
{
    return (((1.3058836588248352954e-6 * z + 4.0221216691804927099e-4) * z
             + 2.7450980392156862745e-2) * z + 4.7058823529411764706e-1) * z + 1.0;
}

/* (expm1(r) - r) / r^2 - 1/2 ~ c2' + c3 r + ... + c12 r^10, |r| <= ln2/2,
   minimax of the error it gives expm1 (and 2 exp(r) - 1, for k = 1). */
static inline double expm1_poly_f64(double r)
{
    double q = 0x1.1dc5432b1d568p-29;        /* c12 */
    q = q * r + 0x1.af63688839829p-26;
    q = q * r + 0x1.27e5e33a139ddp-22;
    q = q * r + 0x1.71ddf61503425p-19;
    q = q * r + 0x1.a01a013d12a8fp-16;
    q = q * r + 0x1.a01a01b0899ccp-13;
    q = q * r + 0x1.6c16c16c2643dp-10;
    q = q * r + 0x1.111111110f5ecp-7;
    q = q * r + 0x1.5555555555535p-5;
    q = q * r + 0x1.5555555555559p-3;         /* c3 */
    return q * r + 0x1.56631f1e98db8p-60;     /* c2' */
}

/* P(z) ~ (2 atanh(s) / s - 2) / z, z = s^2 <= 0.02947, minimax. */
static inline double log1p_poly_f64(double z)
{
    double p = 0x1.2f14ab0e44cffp-3;
    p = p * z + 0x1.39a04c7c797dep-3;
    p = p * z + 0x1.74664c3055b21p-3;
    p = p * z + 0x1.c71c51cd7b636p-3;
    p = p * z + 0x1.2492494234225p-2;
    p = p * z + 0x1.999999997f98bp-2;
    return p * z + 0x1.5555555555593p-1;
}

/* Q ~ erf(x) / x - 1 in w = z - 1/2, z = x^2 <= 1, minimax (relative error
   of erf).  Centred, the terms cancel less than in z (Horner's rounding). */
static inline double erf_small_poly_f64(double w)
{
    double q = 0x1.e901ceeb07a2ap-35;
    q = q * w - 0x1.adfbe7c6a8883p-31;
    q = q * w + 0x1.42ab9f7a6f1adp-27;
    q = q * w - 0x1.bf8b784d21604p-24;
    q = q * w + 0x1.1ad5dbd259329p-20;
    q = q * w - 0x1.429e94bca21f5p-17;
    q = q * w + 0x1.486638c71bae0p-14;
    q = q * w - 0x1.263991b7a77c0p-11;
    q = q * w + 0x1.c82aa249d9c18p-9;
    q = q * w - 0x1.2b902b7b2f487p-6;
    q = q * w + 0x1.454368017b053p-4;
    q = q * w - 0x1.1fd16292151fdp-2;
    return q * w - 0x1.1ae14dc34815ap-5;
}

/* G ~ erfc(a) exp(a^2) = G(1) + d P(d) / Q(d), d = a - 1, 1 <= a <= 6,
   degrees 5 and 6, Q(0) = 1: weighted least squares of the error it gives
   erf (weight exp(-a^2) / erf(a)), Sanathanan-Koerner iteration.  Near
   a = 1, where that weight is largest, the rounding errors of the
   quotient are scaled down by d; no sum cancels (P < 0 < Q, d >= 0). */
static inline double erfc_scaled_f64(double d)
{
    double p = -0x1.8db570cb68071p-11;
    p = p * d - 0x1.5f4b5825f1169p-7;
    p = p * d - 0x1.09ebcfcce72aep-4;
    p = p * d - 0x1.ae3ef2214ea04p-3;
    p = p * d - 0x1.74bd48a6ae3b8p-2;
    p = p * d - 0x1.17c4e3f17c03bp-2;
    double q = 0x1.d110c59c5b6e0p-10;
    q = q * d + 0x1.c124909b38a9dp-6;
    q = q * d + 0x1.7c3e9bd76e70ep-3;
    q = q * d + 0x1.67106c4dc3946p-1;
    q = q * d + 0x1.8d0d945de0a3ep+0;
    q = q * d + 0x1.e5b7c88e4d539p+0;
    q = q * d + 1.0;
    return 0x1.b5d8780f956b2p-2 + d * (p / q);
}

/* u P(u) / Q(u) ~ a erfc(a) exp(a^2) - 1/sqrt(pi), u = 1 / a^2,
   1 <= a <= 27.3: fitted relative to a erfc(a) exp(a^2) (erfc's tail,
   a >= 1).  P < 0 < Q, u > 0: no sum cancels. */
static const double erfc_big_p_f64[11] = {  /* highest degree first */
    -0x1.54a3b123124ccp-2, -0x1.5c77a799020e9p+7, -0x1.25fc7f249dec4p+11,
    -0x1.26e13c6847973p+13, -0x1.f26370518ffe3p+13, -0x1.9ccbcc9ef0ee3p+13,
    -0x1.69903af36a765p+12, -0x1.595136b83b909p+10, -0x1.63574348686f7p+7,
    -0x1.6c9ec89426cd4p+3, -0x1.20dd750429ac7p-2
};
static const double erfc_big_q_f64[11] = {
    0x1.79b491073e470p+8, 0x1.b343a8457f042p+12, 0x1.2d22ea8563cdep+15,
    0x1.67785c2fbda12p+16, 0x1.b053ea94efdcep+16, 0x1.1bd62d1c04e1bp+16,
    0x1.a755f9adad964p+14, 0x1.699def1faee93p+12, 0x1.5874e88d20bd3p+9,
    0x1.4f22e356d6716p+5, 1.0
};

static inline double erfc_big_f64(double u)
{
    double p = erfc_big_p_f64[0], q = erfc_big_q_f64[0];
    for (int i = 1; i < 11; i++) {
        p = p * u + erfc_big_p_f64[i];
        q = q * u + erfc_big_q_f64[i];
    }
    return u * (p / q);
}

#define REAL double
#define UINT uint64_t
#define SFX _f64
#define VM_FABS fabs
#define VM_COPYSIGN copysign
#define VM_MANT_BITS 52
#define VM_EXP_BIAS 1023
#define VM_LOG2E 0x1.71547652b82fep+0
#define VM_LN2_HI 0x1.62e42fee00000p-1       /* 32 significant bits */
#define VM_LN2_LO 0x1.a39ef35793c76p-33
#define VM_SHIFTER 0x1.8p52
#define VM_SHIFTER_BITS 0x4338000000000000u
#define VM_EXP_MAX 710.0                      /* > log(DBL_MAX) = 709.78 */
#define VM_EXP_MIN -746.0                     /* < log(2^-1075) = -745.13 */
#define VM_TANH_SMALL 0.75
#define VM_TANH_EXP_MAX 40.0                  /* 2 / (e^40 + 1) < 2^-55 */
#define VM_EXPM1_MIN -40.0                    /* e^-40 < 2^-54: expm1 is -1 */
#define VM_SCALE_MIN -708.0                   /* round(x / ln 2) >= -1021 */
#define VM_SCALE_MAX 709.0                    /* round(x / ln 2) <= 1023 */
#define VM_TINY 0x1p-54                       /* x (1 + x/2) rounds to x below */
#define VM_ONE_BITS 0x3ff0000000000000u
#define VM_SQRT_HALF_BITS 0x3fe6a09e667f3bcdu   /* sqrt(1/2) */
#define VM_MANT_MASK 0x000fffffffffffffu
#define VM_ERF_SMALL 1.0
#define VM_ERF_MAX 6.0                        /* erfc(5.93) < 2^-54: erf is 1 */
#define VM_ERF_CENTER 1.0
#define VM_SPLITTER 0x1.0000002p+27           /* 2^27 + 1 */
#define VM_ERFC_MAX 27.3                      /* erfc(27.23) < 2^-1075: erfc is 0 */
#define VM_INV_SQRT_PI 0x1.20dd750429b6dp-1
#define VM_INV_SQRT_2PI 0x1.9884533d43651p-2
#define VM_NORMAL_MAX 40.0                    /* exp(-800) rounds to 0 */
#define VM_ERFC_BIG_DEGREE 10
#include "vecmath_impl.h"
#undef REAL
#undef UINT
#undef SFX
#undef VM_FABS
#undef VM_COPYSIGN
#undef VM_MANT_BITS
#undef VM_EXP_BIAS
#undef VM_LOG2E
#undef VM_LN2_HI
#undef VM_LN2_LO
#undef VM_SHIFTER
#undef VM_SHIFTER_BITS
#undef VM_EXP_MAX
#undef VM_EXP_MIN
#undef VM_TANH_SMALL
#undef VM_TANH_EXP_MAX
#undef VM_EXPM1_MIN
#undef VM_SCALE_MIN
#undef VM_SCALE_MAX
#undef VM_TINY
#undef VM_ONE_BITS
#undef VM_SQRT_HALF_BITS
#undef VM_MANT_MASK
#undef VM_ERF_SMALL
#undef VM_ERF_MAX
#undef VM_ERF_CENTER
#undef VM_SPLITTER
#undef VM_ERFC_MAX
#undef VM_INV_SQRT_PI
#undef VM_INV_SQRT_2PI
#undef VM_NORMAL_MAX
#undef VM_ERFC_BIG_DEGREE

/* ---- float ------------------------------------------------------------- */

/* exp(r) - 1 - r = r^2 * (c2 + c3 r + ... + c6 r^4), minimax, |r| <= ln2/2. */
static inline float exp_tail_f32(float r)
{
    float q = 0x1.6a2416p-10f;                 /* c6 */
    q = q * r + 0x1.1239f2p-7f;
    q = q * r + 0x1.5558f2p-5f;
    q = q * r + 0x1.555492p-3f;
    q = q * r + 0x1.fffffcp-2f;                /* c2 */
    return (r * r) * q;
}

/* Padé [2/2] of g(z). */
static inline float tanh_num_f32(float z)
{
    return (-6.4133397466730800064e-6f * z - 1.6161616161616161616e-2f) * z
           - 3.3333333333333333333e-1f;
}

static inline float tanh_den_f32(float z)
{
    return (1.7508417508417508418e-2f * z + 4.4848484848484848485e-1f) * z + 1.0f;
}

/* (expm1(r) - r) / r^2 - 1/2 ~ c2' + c3 r + ... + c7 r^5, |r| <= ln2/2,
   minimax of the error it gives expm1 (and 2 exp(r) - 1, for k = 1). */
static inline float expm1_poly_f32(float r)
{
    float q = 0x1.9f043ap-13f;                 /* c7 */
    q = q * r + 0x1.6d8446p-10f;
    q = q * r + 0x1.111706p-7f;
    q = q * r + 0x1.5554acp-5f;
    q = q * r + 0x1.55554ep-3f;                /* c3 */
    return q * r + 0x1.33977ep-28f;            /* c2' */
}

/* P(z) ~ (2 atanh(s) / s - 2) / z, z = s^2 <= 0.02947, minimax. */
static inline float log1p_poly_f32(float z)
{
    float p = 0x1.31e3fep-2f;
    p = p * z + 0x1.995ec2p-2f;
    return p * z + 0x1.55557ap-1f;
}

/* Q ~ erf(x) / x - 1 in w = z - 1/2, z = x^2 <= 1, minimax (relative error
   of erf).  Centred, the terms cancel less than in z (Horner's rounding). */
static inline float erf_small_poly_f32(float w)
{
    float q = 0x1.515344p-14f;
    q = q * w - 0x1.289ec0p-11f;
    q = q * w + 0x1.c81616p-9f;
    q = q * w - 0x1.2b8d90p-6f;
    q = q * w + 0x1.454374p-4f;
    q = q * w - 0x1.1fd164p-2f;
    return q * w - 0x1.1ae14ep-5f;
}

/* G ~ erfc(a) exp(a^2) in d = a - 1, 1 <= a <= 4, minimax of the error it
   gives erf (weight exp(-a^2) / erf(a)).  Centred where that weight is
   largest, so that Horner's rounding errors are small there. */
static inline float erfc_scaled_f32(float d)
{
    float q = -0x1.d614bcp-16f;
    q = q * d + 0x1.504e3cp-12f;
    q = q * d - 0x1.c12bc8p-10f;
    q = q * d + 0x1.866944p-8f;
    q = q * d - 0x1.06d99cp-6f;
    q = q * d + 0x1.31ea6ep-5f;
    q = q * d - 0x1.4451a6p-4f;
    q = q * d + 0x1.3c24a2p-3f;
    q = q * d - 0x1.17c4d8p-2f;
    return q * d + 0x1.b5d878p-2f;
}

/* u P(u) / Q(u) ~ a erfc(a) exp(a^2) - 1/sqrt(pi), u = 1 / a^2,
   1 <= a <= 10.6 (where float's erfc underflows), degrees 4 and 4,
   Q(0) = 1: fitted relative to a erfc(a) exp(a^2) (the normal
   distribution's tail; float has no erfc of its own).  P < 0 < Q, u > 0:
   no sum cancels. */
static const float erfc_big_p_f32[5] = {  /* highest degree first */
    -0x1.fc91eap-6f, -0x1.0da096p+1f, -0x1.3348e8p+2f, -0x1.301caep+1f, -0x1.20dd60p-2f
};
static const float erfc_big_q_f32[5] = {
    0x1.6a4e82p+2f, 0x1.9828e2p+4f, 0x1.c28938p+4f, 0x1.3d821ep+3f, 1.0f
};


#define REAL float
#define UINT uint32_t
#define SFX _f32
#define VM_FABS fabsf
#define VM_COPYSIGN copysignf
#define VM_MANT_BITS 23
#define VM_EXP_BIAS 127
#define VM_LOG2E 0x1.715476p+0f
#define VM_LN2_HI 0x1.62e400p-1f              /* 15 significant bits */
#define VM_LN2_LO 0x1.7f7d1cp-20f
#define VM_SHIFTER 0x1.8p23f
#define VM_SHIFTER_BITS 0x4b400000u
#define VM_EXP_MAX 89.0f                      /* > log(FLT_MAX) = 88.72 */
#define VM_EXP_MIN -104.0f                    /* < log(2^-150) = -103.97 */
#define VM_TANH_SMALL 0.75f
#define VM_TANH_EXP_MAX 20.0f                 /* 2 / (e^20 + 1) < 2^-26 */
#define VM_EXPM1_MIN -20.0f                   /* e^-20 < 2^-25: expm1 is -1 */
#define VM_SCALE_MIN -87.0f                   /* round(x / ln 2) >= -126 */
#define VM_SCALE_MAX 88.0f                    /* round(x / ln 2) <= 127 */
#define VM_TINY 0x1p-25f
#define VM_ONE_BITS 0x3f800000u
#define VM_SQRT_HALF_BITS 0x3f3504f3u
#define VM_MANT_MASK 0x007fffffu
#define VM_ERF_SMALL 1.0f
#define VM_ERF_MAX 4.0f                       /* erfc(3.92) < 2^-25: erf is 1 */
#define VM_ERF_CENTER 1.0f
#define VM_SPLITTER 0x1.002p+12f              /* 2^12 + 1 */
#define VM_INV_SQRT_PI 0x1.20dd76p-1f
#define VM_INV_SQRT_2PI 0x1.988454p-2f
#define VM_NORMAL_MAX 15.0f                   /* exp(-112.5) rounds to 0; 2^k's halves stay normal */
#define VM_ERFC_BIG_DEGREE 4
#include "vecmath_impl.h"

/*
 * erfc for float: the double kernel on each element, rounded once to float
 * (within about half an ulp of float, subnormals included: the double
 * result is normal down to float's underflow at x = 10.05).  A float
 * kernel of its own would need exp(-x^2) with x^2 carried in two parts and
 * a fit of its own, for little speed: the loop vectorises all the same.
 */
MLPF_DISPATCH void mlpf_erfc_inplace_f32(float *x, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        x[i] = (float)erfc_kernel_f64((double)x[i]);
    }
}
