/*
 * Body of the element-wise kernels, written once for both precisions.
 * elementwise.c includes this file twice, with these macros defined:
 *   REAL        double or float
 *   LANE_INT    the signed integer of REAL's width (vector shuffle indices)
 *   SFX         name suffix, _f64 or _f32
 *   LOG, SQRT   the libm functions of that precision
 *   EXP_INPLACE, TANH_INPLACE, LOGISTIC_INPLACE, LOG1P_INPLACE,
 *   NORMAL_CDF_PDF, EXPM1_EXP, EXP_NEG_ABS
 *               the array functions of that precision from mlpfast_vecmath.h
 *   REAL_EPS    machine epsilon of REAL (scikit-learn clips probabilities to it)
 * The loops over whole arrays are marked MLPF_DISPATCH: setup.py compiles
 * this file once per SIMD path (mlpfast_dispatch.h, mlpfast_simd.h); the
 * baseline copy has two-lane vectors only.
 */

#define MLPF_NAME_(base, sfx) base##sfx
#define MLPF_NAME(base, sfx) MLPF_NAME_(base, sfx)

/*
 * Sum of n values spaced `stride` apart, in numpy's pairwise order: eight
 * running partial sums over blocks of up to 128 values, halves above that.
 * numpy uses this order whenever it reduces along a contiguous axis, so the
 * softmax denominators and single-output bias gradients round like numpy's.
 */
static REAL MLPF_NAME(pairwise_sum, SFX)(const REAL *x, ptrdiff_t n, ptrdiff_t stride)
{
    if (n < 8) {
        REAL total = 0;
        for (ptrdiff_t i = 0; i < n; i++) {
            total += x[i * stride];
        }
        return total;
    }
    if (n <= 128) {
        REAL partial[8];
        ptrdiff_t i;
        for (int j = 0; j < 8; j++) {
            partial[j] = x[j * stride];
        }
        for (i = 8; i < n - (n % 8); i += 8) {
            for (int j = 0; j < 8; j++) {
                partial[j] += x[(i + j) * stride];
            }
        }
        REAL total = ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
                     ((partial[4] + partial[5]) + (partial[6] + partial[7]));
        for (; i < n; i++) {
            total += x[i * stride];
        }
        return total;
    }
    ptrdiff_t half = n / 2;
    half -= half % 8;
    return MLPF_NAME(pairwise_sum, SFX)(x, half, stride) +
           MLPF_NAME(pairwise_sum, SFX)(x + half * stride, n - half, stride);
}

/* z[i, :] += bias for each row of a row-major block. */
static void MLPF_NAME(add_bias, SFX)(REAL *z, const REAL *bias, ptrdiff_t n_rows,
                                     ptrdiff_t n_cols)
{
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        REAL *row = z + i * n_cols;
        for (ptrdiff_t j = 0; j < n_cols; j++) {
            row[j] += bias[j];
        }
    }
}

/*
 * Max-subtracted softmax of a block of rows, in place, in scikit-learn's
 * order: x - max(x) per row, exp, then division by each row's sum.  The
 * exponentials of the whole block are one vector call.
 */
static void MLPF_NAME(softmax_rows, SFX)(REAL *z, ptrdiff_t n_rows, ptrdiff_t n_cols)
{
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        REAL *row = z + i * n_cols;
        REAL row_max = row[0];
        for (ptrdiff_t j = 1; j < n_cols; j++) {
            if (row[j] > row_max) {
                row_max = row[j];
            }
        }
        for (ptrdiff_t j = 0; j < n_cols; j++) {
            row[j] -= row_max;
        }
    }
    EXP_INPLACE(z, n_rows * n_cols);
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        REAL *row = z + i * n_cols;
        REAL total = MLPF_NAME(pairwise_sum, SFX)(row, n_cols, 1);
        for (ptrdiff_t j = 0; j < n_cols; j++) {
            row[j] /= total;
        }
    }
}

/* ---- Activations --------------------------------------------------------
 * One forward kernel per line of MLPF_ACTIVATIONS (mlpfast_tables.h), and
 * one derivative kernel per line with the MLPF_HIDDEN role whose
 * keeps_derivative is 0:
 *   forward_NAME(z, kept, n_rows, n_cols)
 *       f applied in place to a row-major block of pre-activations whose
 *       bias is already added.  A keeps_derivative activation also writes
 *       f'(z) to kept, unless kept is NULL (predict has no backward pass);
 *       the others ignore kept.
 *   derivative_NAME(a, delta, n)
 *       delta *= f'(z) over n elements, from a = f(z) as the forward pass
 *       kept it.
 * A keeps_derivative activation's backward pass is delta *= kept.  The
 * dispatch switches below name every kernel of every line, so a line
 * without its kernels does not build.
 */

static inline void MLPF_NAME(forward_identity, SFX)(REAL *z, REAL *kept, ptrdiff_t n_rows,
                                                    ptrdiff_t n_cols)
{
    (void)z, (void)kept, (void)n_rows, (void)n_cols;
}

static inline void MLPF_NAME(forward_logistic, SFX)(REAL *z, REAL *kept, ptrdiff_t n_rows,
                                                    ptrdiff_t n_cols)
{
    (void)kept;
    LOGISTIC_INPLACE(z, n_rows * n_cols);
}

static inline void MLPF_NAME(forward_tanh, SFX)(REAL *z, REAL *kept, ptrdiff_t n_rows,
                                                ptrdiff_t n_cols)
{
    (void)kept;
    TANH_INPLACE(z, n_rows * n_cols);
}

/* NaN passes through (as numpy.maximum does), so divergence stays visible. */
static inline void MLPF_NAME(forward_relu, SFX)(REAL *z, REAL *kept, ptrdiff_t n_rows,
                                                ptrdiff_t n_cols)
{
    (void)kept;
    for (ptrdiff_t i = 0; i < n_rows * n_cols; i++) {
        z[i] = z[i] < 0 ? (REAL)0 : z[i];
    }
}

static inline void MLPF_NAME(forward_softmax, SFX)(REAL *z, REAL *kept, ptrdiff_t n_rows,
                                                   ptrdiff_t n_cols)
{
    (void)kept;
    MLPF_NAME(softmax_rows, SFX)(z, n_rows, n_cols);
}

static inline void MLPF_NAME(forward_exp, SFX)(REAL *z, REAL *kept, ptrdiff_t n_rows,
                                               ptrdiff_t n_cols)
{
    (void)kept;
    EXP_INPLACE(z, n_rows * n_cols);
}

/*
 * The activations scikit-learn lacks are PyTorch's, torch.nn.functional's
 * with its default parameters: values and derivatives agree to a few ulps.
 * Transcendental functions go over a block at a time: their argument goes
 * into a scratch block on the stack, one in-place vector call transforms
 * it (as EXP_INPLACE does), and a loop finishes f, and f' where it is
 * kept, from there.  Computing f' in the forward pass, from what f has
 * already computed, leaves the backward pass one multiplication: SiLU's
 * and softplus's derivatives need no function of their own that way, and
 * ELU's and GELU's share the forward pass's exponential.
 */

/*
 * Elements per call of a forward kernel: enough for a vector function's
 * wide loop to pay for the call, few enough that the block is still in L1
 * cache when the activation reads what the bias pass wrote.  Also the
 * length of the scratch blocks.
 */
#ifndef MLPF_ACTIVATION_BLOCK
#define MLPF_ACTIVATION_BLOCK 1024
#endif

/* for (start, count) over the consecutive runs of at most
   MLPF_ACTIVATION_BLOCK elements of [0, n): one scratch block each. */
#define MLPF_RUNS(start, count, n)                                             \
    for (ptrdiff_t start = 0, count;                                          \
         count = (n) - start < MLPF_ACTIVATION_BLOCK ? (n) - start            \
                                                     : MLPF_ACTIVATION_BLOCK, \
         start < (n);                                                         \
         start += MLPF_ACTIVATION_BLOCK)

/* PyTorch's defaults: leaky_relu's negative_slope, softplus's threshold
   (with beta = 1); mlpfast/_activations.py's ONNX nodes repeat them. */
static const REAL MLPF_NAME(leaky_relu_slope, SFX) = (REAL)0.01;
static const REAL MLPF_NAME(softplus_threshold, SFX) = 20;

/* z above 0, 0.01 z otherwise; NaN stays NaN. */
static MLPF_INLINE void MLPF_NAME(forward_leaky_relu, SFX)(REAL *z, REAL *kept,
                                                           ptrdiff_t n_rows, ptrdiff_t n_cols)
{
    const REAL slope = MLPF_NAME(leaky_relu_slope, SFX);
    (void)kept;
    for (ptrdiff_t i = 0; i < n_rows * n_cols; i++) {
        z[i] *= z[i] > 0 ? (REAL)1 : slope;
    }
}

/*
 * ELU (alpha = 1): z above 0, expm1(z) otherwise; f' is 1 above 0 and
 * exp(z) otherwise.  Not a + 1, which is exp(z) too but cancels as a nears
 * -1, with relative error eps / exp(z): 1e-12 already at z = -8.4 in
 * double.  EXPM1_EXP gives both from one argument reduction.  NaN stays
 * NaN, and its f' is 1 (the comparison fails).
 */
static MLPF_INLINE void MLPF_NAME(forward_elu, SFX)(REAL *z, REAL *kept, ptrdiff_t n_rows,
                                                    ptrdiff_t n_cols)
{
    REAL t[MLPF_ACTIVATION_BLOCK], e[MLPF_ACTIVATION_BLOCK];
    MLPF_RUNS(start, count, n_rows * n_cols) {
        REAL *x = z + start;
        memcpy(t, x, (size_t)count * sizeof(REAL));
        EXPM1_EXP(t, e, count);
        if (kept != NULL) {
            for (ptrdiff_t i = 0; i < count; i++) {
                kept[start + i] = x[i] <= 0 ? e[i] : (REAL)1;
            }
        }
        for (ptrdiff_t i = 0; i < count; i++) {
            x[i] = x[i] <= 0 ? t[i] : x[i];
        }
    }
}

/*
 * The exact GELU, z Phi(z), with the normal distribution function Phi, and
 * f' = Phi(z) + z phi(z), phi the normal density: src_c/vecmath's
 * NORMAL_CDF_PDF gives both from one exponential.  Its Phi is accurate
 * relative to itself through the lower tail (erfc's form), where PyTorch's
 * 1 + erf(z / sqrt 2) cancels: digits are lost below z = -3, none are left
 * below z = -8.3.
 */
static MLPF_INLINE void MLPF_NAME(forward_gelu, SFX)(REAL *z, REAL *kept, ptrdiff_t n_rows,
                                                     ptrdiff_t n_cols)
{
    REAL t[MLPF_ACTIVATION_BLOCK], e[MLPF_ACTIVATION_BLOCK];
    MLPF_RUNS(start, count, n_rows * n_cols) {
        REAL *x = z + start;
        memcpy(t, x, (size_t)count * sizeof(REAL));
        NORMAL_CDF_PDF(t, e, count);
        if (kept != NULL) {
            for (ptrdiff_t i = 0; i < count; i++) {
                kept[start + i] = t[i] + x[i] * e[i];
            }
        }
        for (ptrdiff_t i = 0; i < count; i++) {
            x[i] = x[i] * t[i];
        }
    }
}

/*
 * sigma(z) = 1 / (1 + t) for z >= 0 and t / (1 + t) below, t = exp(-|z|)
 * from EXP_NEG_ABS: one division, and exp never overflows.  Within 2.5
 * ulp (t's 1, the sum, the quotient and the product); 0 where t is (z
 * below -708, float -87), where sigma is below the smallest normal number
 * times 1.5.
 */
static MLPF_INLINE REAL MLPF_NAME(sigma_of, SFX)(REAL z, REAL t)
{
    REAL d = (REAL)1 / ((REAL)1 + t);
    return z < 0 ? t * d : d;
}

/*
 * SiLU, z sigma(z).  f' = sigma (1 + z (1 - sigma)) = sigma + a (1 - sigma):
 * from sigma and a, with no second division.
 */
static MLPF_INLINE void MLPF_NAME(forward_silu, SFX)(REAL *z, REAL *kept, ptrdiff_t n_rows,
                                                     ptrdiff_t n_cols)
{
    REAL t[MLPF_ACTIVATION_BLOCK];
    MLPF_RUNS(start, count, n_rows * n_cols) {
        REAL *x = z + start;
        EXP_NEG_ABS(x, t, count);
        if (kept != NULL) {
            for (ptrdiff_t i = 0; i < count; i++) {
                REAL sigma = MLPF_NAME(sigma_of, SFX)(x[i], t[i]);
                REAL a = x[i] * sigma;
                kept[start + i] = sigma + a * ((REAL)1 - sigma);
                x[i] = a;
            }
        } else {
            for (ptrdiff_t i = 0; i < count; i++) {
                x[i] *= MLPF_NAME(sigma_of, SFX)(x[i], t[i]);
            }
        }
    }
}

/*
 * log1p(exp(z)) = max(z, 0) + log1p(exp(-|z|)), and z itself above the
 * threshold (beta = 1): log1p's argument is in [0, 1], the sum adds two
 * terms of one sign, and t = exp(-|z|) is also what sigma(z) = f' takes
 * (sigma_of), exactly 1 above the threshold.  (From a it would be
 * -expm1(-a), as accurate, but a does not tell on which side of the
 * threshold z was: log1p(exp(z)) passes 20 from z = 20 - 2.1e-9 on, where
 * PyTorch's derivative is sigma(z) = 1 - 2.1e-9.)  NaN stays NaN, and its
 * f' is 1.
 */
static MLPF_INLINE void MLPF_NAME(forward_softplus, SFX)(REAL *z, REAL *kept,
                                                         ptrdiff_t n_rows, ptrdiff_t n_cols)
{
    const REAL bound = MLPF_NAME(softplus_threshold, SFX);
    REAL t[MLPF_ACTIVATION_BLOCK];
    MLPF_RUNS(start, count, n_rows * n_cols) {
        REAL *x = z + start;
        EXP_NEG_ABS(x, t, count);
        if (kept != NULL) {
            for (ptrdiff_t i = 0; i < count; i++) {
                REAL sigma = MLPF_NAME(sigma_of, SFX)(x[i], t[i]);
                kept[start + i] = x[i] <= bound ? sigma : (REAL)1;
            }
        }
        LOG1P_INPLACE(t, count);
        for (ptrdiff_t i = 0; i < count; i++) {
            REAL value = (x[i] > 0 ? x[i] : (REAL)0) + t[i];
            x[i] = x[i] <= bound ? value : x[i];
        }
    }
}

static inline void MLPF_NAME(derivative_identity, SFX)(const REAL *a, REAL *delta, ptrdiff_t n)
{
    (void)a, (void)delta, (void)n;  /* f' = 1 */
}

static inline void MLPF_NAME(derivative_logistic, SFX)(const REAL *a, REAL *delta, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        delta[i] = (delta[i] * a[i]) * ((REAL)1 - a[i]);
    }
}

static inline void MLPF_NAME(derivative_tanh, SFX)(const REAL *a, REAL *delta, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        delta[i] *= (REAL)1 - a[i] * a[i];
    }
}

/* Assigning +0 (not multiplying by a 0/1 mask) keeps the sign of zero that
   scikit-learn's masked assignment produces. */
static inline void MLPF_NAME(derivative_relu, SFX)(const REAL *a, REAL *delta, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        delta[i] = a[i] == 0 ? (REAL)0 : delta[i];
    }
}

/* From a: a > 0 exactly where z > 0 (0.01 z is -0 or below for z <= 0). */
static MLPF_INLINE void MLPF_NAME(derivative_leaky_relu, SFX)(const REAL *a, REAL *delta,
                                                              ptrdiff_t n)
{
    const REAL slope = MLPF_NAME(leaky_relu_slope, SFX);
    for (ptrdiff_t i = 0; i < n; i++) {
        delta[i] *= a[i] > 0 ? (REAL)1 : slope;
    }
}

/* The backward pass of a keeps_derivative activation. */
static MLPF_INLINE void MLPF_NAME(multiply_kept, SFX)(const REAL *kept, REAL *delta,
                                                      ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        delta[i] *= kept[i];
    }
}
#undef MLPF_RUNS

#define MLPF_FORWARD_CASE_(NAME, name, roles, keeps)                           \
    case MLPF_##NAME:                                                          \
        MLPF_NAME(forward_##name, SFX)(block, block_kept, rows, n_cols);       \
        break;

/*
 * z = f(z + bias) in place; kept, unless NULL, receives f'(z + bias) (for
 * a keeps_derivative activation's backward pass).
 */
MLPF_DISPATCH void MLPF_NAME(mlpf_bias_activation, SFX)(REAL *z, const REAL *bias, ptrdiff_t n_rows,
                                          ptrdiff_t n_cols, int activation, REAL *kept)
{
    if (n_cols <= 0) {
        return;
    }
    /* Bias on a block of rows, then the activation over the whole block,
       still in L1 cache. */
    ptrdiff_t block_rows = n_cols >= MLPF_ACTIVATION_BLOCK ? 1 : MLPF_ACTIVATION_BLOCK / n_cols;
    for (ptrdiff_t start = 0; start < n_rows; start += block_rows) {
        ptrdiff_t rows = n_rows - start < block_rows ? n_rows - start : block_rows;
        REAL *block = z + start * n_cols;
        REAL *block_kept = kept != NULL ? kept + start * n_cols : NULL;
        MLPF_NAME(add_bias, SFX)(block, bias, rows, n_cols);
        switch (activation) {
        MLPF_ACTIVATIONS(MLPF_FORWARD_CASE_)
        default:
            mlpf_unknown_code("activation", activation);
        }
    }
}
#undef MLPF_FORWARD_CASE_

/* A case for each MLPF_HIDDEN line: derivative_NAME, or the product with
   the kept f'(z); output-only activations have none. */
#define MLPF_DERIVATIVE_OF_0(name) MLPF_NAME(derivative_##name, SFX)(a, delta, n)
#define MLPF_DERIVATIVE_OF_1(name) MLPF_NAME(multiply_kept, SFX)(kept, delta, n)
#define MLPF_DERIVATIVE_CASE_MLPF_HIDDEN(NAME, name, keeps)                    \
    case MLPF_##NAME:                                                          \
        MLPF_DERIVATIVE_OF_##keeps(name);                                      \
        break;
#define MLPF_DERIVATIVE_CASE_MLPF_OUTPUT_ONLY(NAME, name, keeps)
#define MLPF_DERIVATIVE_CASE_(NAME, name, roles, keeps)                        \
    MLPF_DERIVATIVE_CASE_##roles(NAME, name, keeps)

/* delta *= f'(z) for a hidden layer's activation: from a (derivative_NAME),
   or kept by the forward pass (keeps_derivative; NULL otherwise). */
MLPF_DISPATCH void MLPF_NAME(mlpf_multiply_derivative, SFX)(const REAL *kept, const REAL *a,
                                                            REAL *delta, ptrdiff_t n,
                                                            int activation)
{
    switch (activation) {
    MLPF_ACTIVATIONS(MLPF_DERIVATIVE_CASE_)
    default:
        mlpf_unknown_code("hidden activation", activation);
    }
}
#undef MLPF_DERIVATIVE_CASE_
#undef MLPF_DERIVATIVE_CASE_MLPF_OUTPUT_ONLY
#undef MLPF_DERIVATIVE_CASE_MLPF_HIDDEN
#undef MLPF_DERIVATIVE_OF_1
#undef MLPF_DERIVATIVE_OF_0

/* ---- Losses -------------------------------------------------------------
 * One pair of kernels per line of MLPF_LOSSES (mlpfast_tables.h):
 *   loss_term_NAME(target, p, parameter, gradient)
 *       the loss of one output p against its target, as the row sum adds
 *       it, and in *gradient its derivative with respect to the output
 *       pre-activation (through the loss's output activation).  parameter
 *       is the network's loss parameter, read only by the losses whose
 *       table line says has_parameter.
 *   loss_scale_NAME(n_cols)
 *       the factor the (weighted) sum over rows is multiplied by at the end.
 * The arithmetic of scikit-learn's losses is scikit-learn's, operation by
 * operation.
 */

/* Probability clipped away from 0 and 1 before its logarithm is taken. */
static inline REAL MLPF_NAME(clip_probability, SFX)(REAL p)
{
    const REAL low = REAL_EPS, high = (REAL)1 - REAL_EPS;
    return p < low ? low : (p > high ? high : p);
}

/* x * log(p), defined as 0 where x == 0 (scipy.special.xlogy). */
static inline double MLPF_NAME(xlogy, SFX)(REAL x, REAL p)
{
    return x == 0 ? 0.0 : (double)x * (double)LOG(p);
}

/* Squared error, averaged over outputs and halved by its scale. */
static inline double MLPF_NAME(loss_term_squared_error, SFX)(REAL target, REAL p,
                                                             double parameter, REAL *gradient)
{
    (void)parameter;
    double residual = (double)target - (double)p;
    *gradient = p - target;
    return residual * residual;
}

static inline double MLPF_NAME(loss_scale_squared_error, SFX)(ptrdiff_t n_cols)
{
    return 0.5 / (double)n_cols;
}

/* Probabilities are clipped in the loss only, never in the gradient. */
static inline double MLPF_NAME(loss_term_log_loss, SFX)(REAL target, REAL p, double parameter,
                                                        REAL *gradient)
{
    (void)parameter;
    *gradient = p - target;
    return -MLPF_NAME(xlogy, SFX)(target, MLPF_NAME(clip_probability, SFX)(p));
}

static inline double MLPF_NAME(loss_scale_log_loss, SFX)(ptrdiff_t n_cols)
{
    (void)n_cols;
    return 1.0;
}

static inline double MLPF_NAME(loss_term_binary_log_loss, SFX)(REAL target, REAL p,
                                                               double parameter,
                                                               REAL *gradient)
{
    (void)parameter;
    REAL clipped = MLPF_NAME(clip_probability, SFX)(p);
    *gradient = p - target;
    return -(MLPF_NAME(xlogy, SFX)(target, clipped) +
             MLPF_NAME(xlogy, SFX)((REAL)1 - target, (REAL)1 - clipped));
}

static inline double MLPF_NAME(loss_scale_binary_log_loss, SFX)(ptrdiff_t n_cols)
{
    (void)n_cols;
    return 1.0;
}

/* Half Poisson deviance. */
static inline double MLPF_NAME(loss_term_poisson, SFX)(REAL target, REAL p, double parameter,
                                                       REAL *gradient)
{
    (void)parameter;
    *gradient = p - target;
    return MLPF_NAME(xlogy, SFX)(target, target / p) - (double)target + (double)p;
}

static inline double MLPF_NAME(loss_scale_poisson, SFX)(ptrdiff_t n_cols)
{
    (void)n_cols;
    return 1.0;
}

/*
 * Huber loss of the residual d = target - p with threshold delta (the
 * parameter): 0.5 d^2 where |d| <= delta, delta (|d| - 0.5 delta) beyond,
 * whose gradient is p - target clipped to [-delta, delta].  On squared
 * error's scale: the term is twice the loss, and the shared scale halves
 * it and averages it over outputs.  Within delta every operation is
 * squared error's own, so a fit whose residuals all stay within delta is
 * a squared-error fit, bit for bit.
 */
static inline double MLPF_NAME(loss_term_huber, SFX)(REAL target, REAL p, double parameter,
                                                     REAL *gradient)
{
    const double delta = parameter;
    double residual = (double)target - (double)p;
    double size = fabs(residual);
    /* Not `size <= delta`: a NaN residual takes squared error's branch, so
       that it reaches the gradient, as it does with squared error. */
    if (!(size > delta)) {
        return MLPF_NAME(loss_term_squared_error, SFX)(target, p, parameter, gradient);
    }
    *gradient = residual > 0 ? (REAL)-delta : (REAL)delta;
    return 2.0 * (delta * (size - 0.5 * delta));
}

static inline double MLPF_NAME(loss_scale_huber, SFX)(ptrdiff_t n_cols)
{
    return MLPF_NAME(loss_scale_squared_error, SFX)(n_cols);
}

/*
 * Loss of a batch, and the output delta in the same pass.
 *
 * Returns the loss summed over rows (each row times its sample weight, when
 * sample_weight is not NULL) and scaled by the loss's scale; dividing by the
 * rows' weight sum gives scikit-learn's loss.  The delta is each output's
 * loss gradient (loss_term_NAME) times the row's weight.  loss_parameter
 * goes to every loss_term_NAME (see there).
 */
#define MLPF_LOSS_TERM_CASE_(NAME, name, OUTPUT, is_default, has_parameter)    \
    case MLPF_##NAME##_LOSS:                                                   \
        row_loss += MLPF_NAME(loss_term_##name, SFX)(y_row[j], out_row[j],     \
                                                     loss_parameter,           \
                                                     &delta_row[j]);           \
        break;
#define MLPF_LOSS_SCALE_CASE_(NAME, name, OUTPUT, is_default, has_parameter)   \
    case MLPF_##NAME##_LOSS:                                                   \
        total *= MLPF_NAME(loss_scale_##name, SFX)(n_cols);                    \
        break;

double MLPF_NAME(mlpf_loss_and_output_delta, SFX)(const REAL *out, const REAL *y,
                                                  const REAL *sample_weight, REAL *delta,
                                                  ptrdiff_t n_rows, ptrdiff_t n_cols,
                                                  int loss, double loss_parameter)
{
    double total = 0.0;
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        const REAL *out_row = out + i * n_cols, *y_row = y + i * n_cols;
        REAL *delta_row = delta + i * n_cols;
        double row_loss = 0.0;
        for (ptrdiff_t j = 0; j < n_cols; j++) {
            switch (loss) {
            MLPF_LOSSES(MLPF_LOSS_TERM_CASE_)
            default:
                mlpf_unknown_code("loss", loss);
            }
        }
        if (sample_weight != NULL) {
            row_loss *= (double)sample_weight[i];
            for (ptrdiff_t j = 0; j < n_cols; j++) {
                delta_row[j] *= sample_weight[i];
            }
        }
        total += row_loss;
    }
    switch (loss) {
    MLPF_LOSSES(MLPF_LOSS_SCALE_CASE_)
    default:
        mlpf_unknown_code("loss", loss);
    }
    return total;
}
#undef MLPF_LOSS_TERM_CASE_
#undef MLPF_LOSS_SCALE_CASE_

/*
 * x[i] / divisor for every i.  When the divisor is a power of two (a batch
 * of 32 or 256 unweighted rows) its reciprocal is exact, and multiplying by
 * it gives the same bits as dividing, several times faster.
 */
static inline void MLPF_NAME(divide_in_place, SFX)(REAL *x, ptrdiff_t n, double divisor)
{
    int exponent;
    const REAL divisor_r = (REAL)divisor;
    if (frexp(divisor, &exponent) == 0.5 && (REAL)(1.0 / divisor) * divisor_r == (REAL)1) {
        const REAL reciprocal = (REAL)(1.0 / divisor);
        for (ptrdiff_t i = 0; i < n; i++) {
            x[i] *= reciprocal;
        }
    } else {
        for (ptrdiff_t i = 0; i < n; i++) {
            x[i] /= divisor_r;
        }
    }
}

/* grad += alpha * weights: scikit-learn's L2 term, before the mean. */
static inline void MLPF_NAME(add_l2_term, SFX)(REAL *grad, const REAL *weights, ptrdiff_t n,
                                               double alpha)
{
    const REAL alpha_r = (REAL)alpha;
    for (ptrdiff_t i = 0; i < n; i++) {
        grad[i] = grad[i] + alpha_r * weights[i];
    }
}

/* grad = (grad + alpha * weights) / weight_sum: the L2 term, then the mean. */
MLPF_DISPATCH void MLPF_NAME(mlpf_finish_weight_gradient, SFX)(REAL *grad, const REAL *weights,
                                                 ptrdiff_t n, double alpha,
                                                 double weight_sum)
{
    MLPF_NAME(add_l2_term, SFX)(grad, weights, n, alpha);
    MLPF_NAME(divide_in_place, SFX)(grad, n, weight_sum);
}

/*
 * Column sums of delta into out, or added onto out when accumulate is set.
 * A fresh sum keeps numpy's order: a (n, 1) column is summed pairwise,
 * wider arrays row after row.
 */
MLPF_DISPATCH void MLPF_NAME(mlpf_column_sums, SFX)(const REAL *delta, ptrdiff_t n_rows,
                                      ptrdiff_t n_cols, REAL *out, int accumulate)
{
    if (n_cols == 1 && !accumulate) {
        out[0] = MLPF_NAME(pairwise_sum, SFX)(delta, n_rows, 1);
        return;
    }
    if (!accumulate) {
        for (ptrdiff_t j = 0; j < n_cols; j++) {
            out[j] = 0;
        }
    }
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        const REAL *row = delta + i * n_cols;
        for (ptrdiff_t j = 0; j < n_cols; j++) {
            out[j] += row[j];
        }
    }
}

/*
 * z (n_out) = x (n_in) @ w (n_in x n_out, row-major): one row through a
 * layer, each z[j] summed over i in increasing order from 0 (the same bits
 * on every SIMD path).  Four rows of w at a time stream past z, which
 * stays in L1: w is read in order, as the hardware prefetcher likes best.
 * BLAS is not called here: one_row_matmul (_kernels.pyx) runs this on two
 * threads at once, where OpenBLAS would start threads of its own for each
 * half.
 */
MLPF_DISPATCH void MLPF_NAME(mlpf_row_times_matrix, SFX)(const REAL *restrict x,
                                                         const REAL *restrict w,
                                                         ptrdiff_t n_in, ptrdiff_t n_out,
                                                         REAL *restrict z)
{
    for (ptrdiff_t j = 0; j < n_out; j++) {
        z[j] = 0;
    }
    ptrdiff_t i = 0;
    for (; i + 4 <= n_in; i += 4) {
        const REAL x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
        const REAL *w0 = w + i * n_out, *w1 = w0 + n_out, *w2 = w1 + n_out, *w3 = w2 + n_out;
        /* The columns before w0's next 64-byte boundary first: the vector
           loop's loads of w0 (and of all four rows, when a row is a multiple
           of 64 bytes) then never straddle two cache lines, which took a
           third more time on unaligned weights. */
        ptrdiff_t lead = (ptrdiff_t)((64 - (uintptr_t)w0 % 64) % 64 / sizeof(REAL));
        lead = lead < n_out ? lead : n_out;
        for (ptrdiff_t j = 0; j < lead; j++) {
            z[j] = (((z[j] + x0 * w0[j]) + x1 * w1[j]) + x2 * w2[j]) + x3 * w3[j];
        }
        for (ptrdiff_t j = lead; j < n_out; j++) {
            z[j] = (((z[j] + x0 * w0[j]) + x1 * w1[j]) + x2 * w2[j]) + x3 * w3[j];
        }
    }
    for (; i < n_in; i++) {
        const REAL xi = x[i];
        const REAL *row = w + i * n_out;
        for (ptrdiff_t j = 0; j < n_out; j++) {
            z[j] += xi * row[j];
        }
    }
}

/*
 * dst (n_cols x n_rows) = src (n_rows x n_cols) transposed, both row-major.
 * By 4 x 4 blocks held in four vectors and transposed with shuffles, where
 * the compiler has them (elementwise.c: MLPF_SHUFFLE4): a plain
 * double loop stores one element per row of dst, and an 8 x 8 tile copied
 * through a local array was not vectorised either: the shuffles take less
 * than half their time (bench/MEASUREMENTS.md, 'Transpose by shuffles').
 */
MLPF_DISPATCH void MLPF_NAME(mlpf_transpose, SFX)(const REAL *src, ptrdiff_t n_rows,
                                                  ptrdiff_t n_cols, REAL *dst)
{
    ptrdiff_t i0 = 0;
#ifdef MLPF_SHUFFLE4
    typedef REAL vec4 __attribute__((vector_size(4 * sizeof(REAL))));
    typedef LANE_INT lane4 __attribute__((vector_size(4 * sizeof(REAL)), unused));
    for (; i0 + 4 <= n_rows; i0 += 4) {
        ptrdiff_t j0 = 0;
        for (; j0 + 4 <= n_cols; j0 += 4) {
            vec4 r0, r1, r2, r3;
            memcpy(&r0, src + (i0 + 0) * n_cols + j0, sizeof r0);
            memcpy(&r1, src + (i0 + 1) * n_cols + j0, sizeof r1);
            memcpy(&r2, src + (i0 + 2) * n_cols + j0, sizeof r2);
            memcpy(&r3, src + (i0 + 3) * n_cols + j0, sizeof r3);
            /* Interleave row pairs, then swap the pairs' halves. */
            vec4 even01 = MLPF_SHUFFLE4(r0, r1, 0, 4, 2, 6);
            vec4 odd01 = MLPF_SHUFFLE4(r0, r1, 1, 5, 3, 7);
            vec4 even23 = MLPF_SHUFFLE4(r2, r3, 0, 4, 2, 6);
            vec4 odd23 = MLPF_SHUFFLE4(r2, r3, 1, 5, 3, 7);
            vec4 c0 = MLPF_SHUFFLE4(even01, even23, 0, 1, 4, 5);
            vec4 c1 = MLPF_SHUFFLE4(odd01, odd23, 0, 1, 4, 5);
            vec4 c2 = MLPF_SHUFFLE4(even01, even23, 2, 3, 6, 7);
            vec4 c3 = MLPF_SHUFFLE4(odd01, odd23, 2, 3, 6, 7);
            memcpy(dst + (j0 + 0) * n_rows + i0, &c0, sizeof c0);
            memcpy(dst + (j0 + 1) * n_rows + i0, &c1, sizeof c1);
            memcpy(dst + (j0 + 2) * n_rows + i0, &c2, sizeof c2);
            memcpy(dst + (j0 + 3) * n_rows + i0, &c3, sizeof c3);
        }
        for (; j0 < n_cols; j0++) {   /* columns past the last whole block */
            for (int a = 0; a < 4; a++) {
                dst[j0 * n_rows + i0 + a] = src[(i0 + a) * n_cols + j0];
            }
        }
    }
#endif
    for (; i0 < n_rows; i0++) {       /* rows past the last whole block, or all */
        for (ptrdiff_t j = 0; j < n_cols; j++) {
            dst[j * n_rows + i0] = src[i0 * n_cols + j];
        }
    }
}

/* Sum of a contiguous vector, in numpy's order (a batch's weight sum). */
REAL MLPF_NAME(mlpf_sum, SFX)(const REAL *x, ptrdiff_t n)
{
    return MLPF_NAME(pairwise_sum, SFX)(x, n, 1);
}

/* 1 when no x[i] is NaN or infinite: x - x is 0 exactly for finite x, NaN otherwise. */
MLPF_DISPATCH int MLPF_NAME(mlpf_all_finite, SFX)(const REAL *x, ptrdiff_t n)
{
    int finite = 1;
    for (ptrdiff_t i = 0; i < n; i++) {
        finite &= (x[i] - x[i]) == (REAL)0;
    }
    return finite;
}

MLPF_DISPATCH void MLPF_NAME(mlpf_divide, SFX)(REAL *x, ptrdiff_t n, double divisor)
{
    MLPF_NAME(divide_in_place, SFX)(x, n, divisor);
}

/*
 * Elements per block of the fused gradient finish and optimizer step: the
 * block's finished gradient stays in L1 cache between the two.
 */
#define MLPF_STEP_BLOCK 512

/*
 * The gradient of a block (elements start to start + n of a run) from its
 * raw sums: the batch parts' sums added in part order, ((part 0 + part 1)
 * + part 2) + ..., then update's L2 term and mean, in
 * finish_weight_gradient's order, then its clipping scale.  Adding the
 * parts here, block by block, is the reduction of the parts' gradients:
 * no pass of its own over memory.
 */
static inline void MLPF_NAME(finished_gradient, SFX)(REAL *out, const REAL *const *grad_parts,
                                                     int n_parts, ptrdiff_t start,
                                                     const REAL *params, ptrdiff_t n,
                                                     const mlpf_run_update *update)
{
    if (n_parts > 1) {
        const REAL *first = grad_parts[0] + start, *second = grad_parts[1] + start;
        for (ptrdiff_t i = 0; i < n; i++) {
            out[i] = first[i] + second[i];
        }
        for (int part = 2; part < n_parts; part++) {
            const REAL *more = grad_parts[part] + start;
            for (ptrdiff_t i = 0; i < n; i++) {
                out[i] += more[i];
            }
        }
    } else {
        memcpy(out, grad_parts[0] + start, (size_t)n * sizeof(REAL));
    }
    if (update->add_l2) {
        MLPF_NAME(add_l2_term, SFX)(out, params, n, update->alpha);
    }
    MLPF_NAME(divide_in_place, SFX)(out, n, update->weight_sum);
    /* Multiplying by 1 changes nothing: skipped. */
    if (update->scale != 1.0) {
        const REAL scale = (REAL)update->scale;
        for (ptrdiff_t i = 0; i < n; i++) {
            out[i] *= scale;
        }
    }
}

/* Decoupled weight decay of a block, before the optimizer's update. */
static inline void MLPF_NAME(decay, SFX)(REAL *params, ptrdiff_t n,
                                         const mlpf_run_update *update)
{
    if (update->decay_factor != 1.0) {
        const REAL factor = (REAL)update->decay_factor;
        for (ptrdiff_t i = 0; i < n; i++) {
            params[i] *= factor;
        }
    }
}

/*
 * The sum of squares of a run's finished gradient (finished_gradient,
 * without clipping), accumulated in double, block by block through a
 * buffer in L1 cache: gradient clipping needs the norm of the whole
 * gradient before any step, which then finishes the gradient again rather
 * than store it (writing it back would cost more memory traffic than the
 * recomputation). Eight running sums (element i into sum i % 8, added
 * pairwise at the end) fix the order, so every clone gives the same bits,
 * and let the compiler use vectors: one running sum is a chain of
 * dependent additions, which made clipping cost a tenth of a float32 epoch.
 */
MLPF_DISPATCH double MLPF_NAME(mlpf_finished_gradient_squares, SFX)(const REAL *const *grad_parts,
                                                              int n_parts,
                                                              const REAL *params, ptrdiff_t n,
                                                              const mlpf_run_update *update)
{
    mlpf_run_update unscaled = *update;
    unscaled.scale = 1.0;
    double partial[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    REAL g[MLPF_STEP_BLOCK];
    /* MLPF_STEP_BLOCK is a multiple of 8: element i of the run goes to sum i % 8. */
    for (ptrdiff_t start = 0; start < n; start += MLPF_STEP_BLOCK) {
        ptrdiff_t count = n - start < MLPF_STEP_BLOCK ? n - start : MLPF_STEP_BLOCK;
        MLPF_NAME(finished_gradient, SFX)(g, grad_parts, n_parts, start, params + start, count,
                                          &unscaled);
        ptrdiff_t i = 0;
        for (; i + 8 <= count; i += 8) {
            for (int j = 0; j < 8; j++) {
                partial[j] += (double)g[i + j] * (double)g[i + j];
            }
        }
        for (int j = 0; i < count; i++, j++) {
            partial[j] += (double)g[i] * (double)g[i];
        }
    }
    return ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
           ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

MLPF_DISPATCH void MLPF_NAME(mlpf_sgd_finish_update, SFX)(REAL *params, REAL *velocity,
                                                    const REAL *const *grad_parts,
                                                    int n_parts, ptrdiff_t n,
                                                    const mlpf_run_update *update,
                                                    const mlpf_sgd_step *step)
{
    const REAL rate = (REAL)step->learning_rate, momentum = (REAL)step->momentum;
    REAL g[MLPF_STEP_BLOCK];
    for (ptrdiff_t start = 0; start < n; start += MLPF_STEP_BLOCK) {
        ptrdiff_t count = n - start < MLPF_STEP_BLOCK ? n - start : MLPF_STEP_BLOCK;
        REAL *p = params + start, *vel = velocity + start;
        MLPF_NAME(finished_gradient, SFX)(g, grad_parts, n_parts, start, p, count, update);
        MLPF_NAME(decay, SFX)(p, count, update);
        if (step->nesterov) {
            for (ptrdiff_t i = 0; i < count; i++) {
                REAL v = momentum * vel[i] - rate * g[i];
                vel[i] = v;
                p[i] += momentum * v - rate * g[i];
            }
        } else {
            for (ptrdiff_t i = 0; i < count; i++) {
                REAL v = momentum * vel[i] - rate * g[i];
                vel[i] = v;
                p[i] += v;
            }
        }
    }
}

/*
 * The moments are kept in REAL, but the step itself is taken in double, as
 * scikit-learn's float64 learning-rate scalar promotes it for float32 weights.
 */
MLPF_DISPATCH void MLPF_NAME(mlpf_adam_finish_update, SFX)(REAL *params, REAL *m, REAL *v,
                                                     const REAL *const *grad_parts,
                                                     int n_parts, ptrdiff_t n,
                                                     const mlpf_run_update *update,
                                                     const mlpf_adam_step *step)
{
    const REAL beta_1 = (REAL)step->beta_1, one_minus_beta_1 = (REAL)(1.0 - step->beta_1);
    const REAL beta_2 = (REAL)step->beta_2, one_minus_beta_2 = (REAL)(1.0 - step->beta_2);
    const REAL epsilon = (REAL)step->epsilon;
    const double neg_rate = -step->learning_rate;
    REAL g[MLPF_STEP_BLOCK];
    for (ptrdiff_t start = 0; start < n; start += MLPF_STEP_BLOCK) {
        ptrdiff_t count = n - start < MLPF_STEP_BLOCK ? n - start : MLPF_STEP_BLOCK;
        REAL *p = params + start, *m_block = m + start, *v_block = v + start;
        MLPF_NAME(finished_gradient, SFX)(g, grad_parts, n_parts, start, p, count, update);
        MLPF_NAME(decay, SFX)(p, count, update);
        for (ptrdiff_t i = 0; i < count; i++) {
            REAL m_i = beta_1 * m_block[i] + one_minus_beta_1 * g[i];
            REAL v_i = beta_2 * v_block[i] + one_minus_beta_2 * (g[i] * g[i]);
            m_block[i] = m_i;
            v_block[i] = v_i;
            double update_i = (neg_rate * (double)m_i) / (double)(SQRT(v_i) + epsilon);
            p[i] = (REAL)((double)p[i] + update_i);
        }
    }
}

/*
 * Inverted dropout of a block of a hidden layer's activations a (n_rows x
 * n_cols, row-major): mask[k] = 1 where unit k survives (mlpf_dropout_draw),
 * dropped[k] = a[k] * scale there and 0 elsewhere.  `a` itself stays as it
 * is: the activation's derivative reads it.
 */
MLPF_DISPATCH void MLPF_NAME(mlpf_dropout_forward, SFX)(const REAL *a, REAL *dropped,
                                                  unsigned char *mask, ptrdiff_t n_rows,
                                                  ptrdiff_t n_cols,
                                                  const mlpf_dropout_draw *draw)
{
    const REAL scale = (REAL)draw->scale;
    const uint32_t key_low = draw->key_low, key_high = draw->key_high;
    const uint32_t threshold = draw->threshold;
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        /* 32-bit counters: check_rows keeps a batch's layer under 2**31 values. */
        const uint32_t row_counter = (uint32_t)((draw->first_row + i) * n_cols);
        const REAL *a_row = a + i * n_cols;
        REAL *dropped_row = dropped + i * n_cols;
        unsigned char *mask_row = mask + i * n_cols;
        for (ptrdiff_t j = 0; j < n_cols; j++) {
            uint32_t hash = mlpf_mix32(mlpf_mix32((row_counter + (uint32_t)j) ^ key_low)
                                       ^ key_high);
            unsigned char keep = hash >= threshold;
            mask_row[j] = keep;
            dropped_row[j] = keep ? a_row[j] * scale : (REAL)0;
        }
    }
}

/* delta[k] times the dropout mask's factor: scale where mask[k], else 0. */
MLPF_DISPATCH void MLPF_NAME(mlpf_dropout_backward, SFX)(REAL *delta, const unsigned char *mask,
                                                   ptrdiff_t n, double scale)
{
    const REAL scale_r = (REAL)scale;
    for (ptrdiff_t i = 0; i < n; i++) {
        delta[i] = mask[i] ? delta[i] * scale_r : (REAL)0;
    }
}

#undef MLPF_NAME
#undef MLPF_NAME_
