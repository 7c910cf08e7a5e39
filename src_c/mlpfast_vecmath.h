/*
 * mlpfast vector math: exp, tanh and the logistic function over arrays, in
 * place, for double (_f64) and float (_f32).
 *
 * Why not libm: glibc's tanh/exp are scalar calls per element and dominated
 * the forward pass of tanh and logistic networks.  These loops are written
 * branch-free (selects instead of branches, integer bit tricks for 2^k) so
 * the compiler vectorises them, and on x86-64 Linux they are compiled for
 * SSE2, AVX2 and AVX-512F with the best picked at load time.
 *
 * Accuracy: within about one ulp of the correctly rounded result over the
 * whole range (tests/test_vecmath.py checks <= 2 ulp), with libm's special
 * cases: exp overflows to +inf and underflows through the subnormals to +0;
 * tanh keeps the sign of zero, saturates to +-1 and is exact (x) for tiny x;
 * logistic(x) is 1 / (1 + exp(-x)) exactly as scipy.special.expit computes
 * it (so it is 0, not subnormal, below about -709.78); NaN in gives NaN out.
 * No fused multiply-adds and no reassociation, so every dispatch target
 * returns bit-identical results.
 */
#ifndef MLPFAST_VECMATH_H
#define MLPFAST_VECMATH_H

#include <stddef.h>

void mlpf_exp_inplace_f64(double *x, ptrdiff_t n);
void mlpf_tanh_inplace_f64(double *x, ptrdiff_t n);
void mlpf_logistic_inplace_f64(double *x, ptrdiff_t n);

void mlpf_exp_inplace_f32(float *x, ptrdiff_t n);
void mlpf_tanh_inplace_f32(float *x, ptrdiff_t n);
void mlpf_logistic_inplace_f32(float *x, ptrdiff_t n);

#endif /* MLPFAST_VECMATH_H */
