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
#include "vecmath_impl.h"
