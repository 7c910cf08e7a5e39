/*
 * mlpfast vector math: exp, tanh, the logistic function, expm1, log1p, erf
 * and erfc over arrays, in place, for double (_f64) and float (_f32); and
 * what the activations need: two pairs, each from one argument reduction,
 * the normal distribution function Phi and density phi (GELU and its
 * derivative: mlpf_normal_cdf_pdf, x = Phi(x), pdf = phi(x)) and expm1
 * with exp (ELU and its derivative: mlpf_expm1_exp, x = expm1(x), e =
 * exp(x)), and exp(-|x|) (SiLU's and softplus's logistic function:
 * mlpf_exp_neg_abs, e = exp(-|x|)); their two arrays must not overlap.
 *
 * Why not libm: glibc's tanh/exp are scalar calls per element and dominated
 * the forward pass of tanh and logistic networks; its expm1, log1p, erf and
 * erfc (for ELU, softplus and GELU) are scalar and slower still.  These loops
 * are written branch-free (selects instead of branches, integer bit tricks
 * for 2^k) so the compiler vectorises them, and on x86-64 they are
 * compiled for SSE2, AVX2 and AVX-512, the best the CPU runs chosen at the
 * first call (mlpfast_simd.h).
 *
 * Accuracy: within about one ulp of the correctly rounded result over the
 * whole range (tests/test_vecmath.py checks <= 2 ulp), with libm's special
 * cases: exp overflows to +inf and underflows through the subnormals to +0;
 * tanh keeps the sign of zero, saturates to +-1 and is exact (x) for tiny x;
 * logistic(x) is 1 / (1 + exp(-x)) exactly as scipy.special.expit computes
 * it (so it is 0, not subnormal, below about -709.78); expm1 is exact near 0
 * (no cancellation; expm1(x) = x, -0 included, for tiny x), overflows to
 * +inf and goes to -1; log1p likewise near 0, is -inf at -1, NaN below,
 * +inf at +inf; erf is odd (erf(-0) = -0), exactly ±1 from where erf rounds
 * to 1 (|x| > 5.9216, float 3.9192) and at ±inf; erfc is accurate relative
 * to itself through the tail (within 2.7 ulp measured, float about half an
 * ulp) and rounds into the subnormals down to 0 (x > 27.23, float 10.05),
 * is 2 - erfc(-x) for negative x, 0 at +inf and 2 at -inf; Phi is
 * accurate relative to itself through the lower tail (4.0 ulp measured,
 * float 5.1) and phi within 2 ulp, both rounding into the subnormals, Phi
 * 0 and 1 and phi 0 at -inf and +inf.  NaN in gives NaN out.
 * expm1_exp and exp_neg_abs trade a little accuracy for speed (they are
 * most of the activations' cost): within 2 ulp (tests/test_vecmath.py),
 * expm1 exact near 0 (x for tiny x, -0 included); exp is 0 and expm1 -1
 * where exp(x) is below 3.3e-308 (float 1.6e-38, x < -708, float -87),
 * instead of rounding into the subnormals, and both are +inf from x = 709
 * (float 88) on, a little before exp overflows.
 * No fused multiply-adds and no reassociation, so every dispatch target
 * returns bit-identical results.
 */
#ifndef MLPFAST_VECMATH_H
#define MLPFAST_VECMATH_H

#include <stddef.h>

void mlpf_exp_inplace_f64(double *x, ptrdiff_t n);
void mlpf_tanh_inplace_f64(double *x, ptrdiff_t n);
void mlpf_logistic_inplace_f64(double *x, ptrdiff_t n);
void mlpf_expm1_inplace_f64(double *x, ptrdiff_t n);
void mlpf_log1p_inplace_f64(double *x, ptrdiff_t n);
void mlpf_erf_inplace_f64(double *x, ptrdiff_t n);
void mlpf_erfc_inplace_f64(double *x, ptrdiff_t n);
void mlpf_normal_cdf_pdf_f64(double *x, double *pdf, ptrdiff_t n);
void mlpf_expm1_exp_f64(double *x, double *e, ptrdiff_t n);
void mlpf_exp_neg_abs_f64(const double *x, double *e, ptrdiff_t n);

void mlpf_exp_inplace_f32(float *x, ptrdiff_t n);
void mlpf_tanh_inplace_f32(float *x, ptrdiff_t n);
void mlpf_logistic_inplace_f32(float *x, ptrdiff_t n);
void mlpf_expm1_inplace_f32(float *x, ptrdiff_t n);
void mlpf_log1p_inplace_f32(float *x, ptrdiff_t n);
void mlpf_erf_inplace_f32(float *x, ptrdiff_t n);
void mlpf_erfc_inplace_f32(float *x, ptrdiff_t n);
void mlpf_normal_cdf_pdf_f32(float *x, float *pdf, ptrdiff_t n);
void mlpf_expm1_exp_f32(float *x, float *e, ptrdiff_t n);
void mlpf_exp_neg_abs_f32(const float *x, float *e, ptrdiff_t n);

#endif /* MLPFAST_VECMATH_H */
