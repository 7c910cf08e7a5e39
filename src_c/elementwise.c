/* Instantiates the element-wise kernels of elementwise_impl.h for double and float. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "mlpfast_dispatch.h"
#include "mlpfast_elementwise.h"
#include "mlpfast_vecmath.h"

/*
 * MLPF_SHUFFLE4(a, b, i, j, k, l): the vector (c[i], c[j], c[k], c[l]) of
 * the lanes c = a0..a3 b0..b3 of two 4-lane vectors, through the compiler's
 * generic vector extension (lowered to each clone's instruction set); GCC's
 * needs the lane index vector type `lane4` in scope.  Undefined elsewhere:
 * mlpf_transpose then copies element by element.
 */
#if defined(__clang__)
#define MLPF_SHUFFLE4(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#elif defined(__GNUC__) && __GNUC__ >= 7
#define MLPF_SHUFFLE4(a, b, i, j, k, l) __builtin_shuffle(a, b, (lane4){i, j, k, l})
#endif

#define REAL double
#define LANE_INT int64_t
#define SFX _f64
#define EXP_INPLACE mlpf_exp_inplace_f64
#define LOGISTIC_INPLACE mlpf_logistic_inplace_f64
#define LOG log
#define TANH_INPLACE mlpf_tanh_inplace_f64
#define SQRT sqrt
#define REAL_EPS DBL_EPSILON
#include "elementwise_impl.h"
#undef REAL
#undef LANE_INT
#undef SFX
#undef EXP_INPLACE
#undef LOGISTIC_INPLACE
#undef LOG
#undef TANH_INPLACE
#undef SQRT
#undef REAL_EPS

#define REAL float
#define LANE_INT int32_t
#define SFX _f32
#define EXP_INPLACE mlpf_exp_inplace_f32
#define LOGISTIC_INPLACE mlpf_logistic_inplace_f32
#define LOG logf
#define TANH_INPLACE mlpf_tanh_inplace_f32
#define SQRT sqrtf
#define REAL_EPS FLT_EPSILON
#include "elementwise_impl.h"
