/* Instantiates the element-wise kernels of elementwise_impl.h for double and float. */
#include <float.h>
#include <math.h>

#include "mlpfast_elementwise.h"

#define REAL double
#define SFX _f64
#define EXP exp
#define LOG log
#define TANH tanh
#define SQRT sqrt
#define REAL_EPS DBL_EPSILON
#include "elementwise_impl.h"
#undef REAL
#undef SFX
#undef EXP
#undef LOG
#undef TANH
#undef SQRT
#undef REAL_EPS

#define REAL float
#define SFX _f32
#define EXP expf
#define LOG logf
#define TANH tanhf
#define SQRT sqrtf
#define REAL_EPS FLT_EPSILON
#include "elementwise_impl.h"
