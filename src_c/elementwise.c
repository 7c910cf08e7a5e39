/* Instantiates the element-wise kernels of elementwise_impl.h for double and float. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "mlpfast_dispatch.h"
#include "mlpfast_elementwise.h"
#include "mlpfast_vecmath.h"

#define REAL double
#define SFX _f64
#define EXP_INPLACE mlpf_exp_inplace_f64
#define LOGISTIC_INPLACE mlpf_logistic_inplace_f64
#define LOG log
#define TANH_INPLACE mlpf_tanh_inplace_f64
#define SQRT sqrt
#define REAL_EPS DBL_EPSILON
#include "elementwise_impl.h"
#undef REAL
#undef SFX
#undef EXP_INPLACE
#undef LOGISTIC_INPLACE
#undef LOG
#undef TANH_INPLACE
#undef SQRT
#undef REAL_EPS

#define REAL float
#define SFX _f32
#define EXP_INPLACE mlpf_exp_inplace_f32
#define LOGISTIC_INPLACE mlpf_logistic_inplace_f32
#define LOG logf
#define TANH_INPLACE mlpf_tanh_inplace_f32
#define SQRT sqrtf
#define REAL_EPS FLT_EPSILON
#include "elementwise_impl.h"
