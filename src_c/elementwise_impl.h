/*
 * Body of the element-wise kernels, written once for both precisions.
 * elementwise.c includes this file twice, with these macros defined:
 *   REAL        double or float
 *   SFX         name suffix, _f64 or _f32
 *   EXP, LOG, TANH, SQRT   the libm functions of that precision
 *   REAL_EPS    machine epsilon of REAL (scikit-learn clips probabilities to it)
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

/* Max-subtracted softmax of one row, in place. */
static void MLPF_NAME(softmax_row, SFX)(REAL *row, ptrdiff_t n_cols)
{
    REAL row_max = row[0];
    for (ptrdiff_t j = 1; j < n_cols; j++) {
        if (row[j] > row_max) {
            row_max = row[j];
        }
    }
    for (ptrdiff_t j = 0; j < n_cols; j++) {
        row[j] = EXP(row[j] - row_max);
    }
    REAL total = MLPF_NAME(pairwise_sum, SFX)(row, n_cols, 1);
    for (ptrdiff_t j = 0; j < n_cols; j++) {
        row[j] /= total;
    }
}

static inline REAL MLPF_NAME(logistic, SFX)(REAL z)
{
    return (REAL)1 / ((REAL)1 + EXP(-z));
}

/* NaN passes through (as numpy.maximum does), so divergence stays visible. */
static inline REAL MLPF_NAME(relu, SFX)(REAL z)
{
    return z < 0 ? (REAL)0 : z;
}

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

void MLPF_NAME(mlpf_bias_activation, SFX)(REAL *z, const REAL *bias, ptrdiff_t n_rows,
                                          ptrdiff_t n_cols, int activation)
{
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        REAL *row = z + i * n_cols;
        switch (activation) {
        case MLPF_LOGISTIC:
            for (ptrdiff_t j = 0; j < n_cols; j++) {
                row[j] = MLPF_NAME(logistic, SFX)(row[j] + bias[j]);
            }
            break;
        case MLPF_TANH:
            for (ptrdiff_t j = 0; j < n_cols; j++) {
                row[j] = TANH(row[j] + bias[j]);
            }
            break;
        case MLPF_RELU:
            for (ptrdiff_t j = 0; j < n_cols; j++) {
                row[j] = MLPF_NAME(relu, SFX)(row[j] + bias[j]);
            }
            break;
        case MLPF_SOFTMAX:
            for (ptrdiff_t j = 0; j < n_cols; j++) {
                row[j] += bias[j];
            }
            MLPF_NAME(softmax_row, SFX)(row, n_cols);
            break;
        default: /* identity */
            for (ptrdiff_t j = 0; j < n_cols; j++) {
                row[j] += bias[j];
            }
        }
    }
}

/*
 * delta *= f'(z), with f' written in terms of the activation a = f(z)
 * that the forward pass kept.
 */
void MLPF_NAME(mlpf_multiply_derivative, SFX)(const REAL *a, REAL *delta, ptrdiff_t n,
                                              int activation)
{
    switch (activation) {
    case MLPF_LOGISTIC:
        for (ptrdiff_t i = 0; i < n; i++) {
            delta[i] = (delta[i] * a[i]) * ((REAL)1 - a[i]);
        }
        break;
    case MLPF_TANH:
        for (ptrdiff_t i = 0; i < n; i++) {
            delta[i] *= (REAL)1 - a[i] * a[i];
        }
        break;
    case MLPF_RELU:
        /* Assigning +0 (not multiplying by a 0/1 mask) keeps the sign of
           zero that scikit-learn's masked assignment produces. */
        for (ptrdiff_t i = 0; i < n; i++) {
            delta[i] = a[i] == 0 ? (REAL)0 : delta[i];
        }
        break;
    default: /* identity: f' = 1 */
        break;
    }
}

/*
 * Mean loss of a batch, and the output delta (out - y) in the same pass.
 * The delta is the gradient of the loss with respect to the pre-activation
 * for each loss's canonical output activation; probabilities are clipped in
 * the loss only, never in the delta.
 */
double MLPF_NAME(mlpf_loss_and_output_delta, SFX)(const REAL *out, const REAL *y,
                                                  REAL *delta, ptrdiff_t n_rows,
                                                  ptrdiff_t n_cols, int loss)
{
    const ptrdiff_t n = n_rows * n_cols;
    double total = 0.0;
    switch (loss) {
    case MLPF_LOG_LOSS:
        for (ptrdiff_t i = 0; i < n; i++) {
            total -= MLPF_NAME(xlogy, SFX)(y[i], MLPF_NAME(clip_probability, SFX)(out[i]));
            delta[i] = out[i] - y[i];
        }
        return total / (double)n_rows;
    case MLPF_BINARY_LOG_LOSS:
        for (ptrdiff_t i = 0; i < n; i++) {
            REAL p = MLPF_NAME(clip_probability, SFX)(out[i]);
            total -= MLPF_NAME(xlogy, SFX)(y[i], p) +
                     MLPF_NAME(xlogy, SFX)((REAL)1 - y[i], (REAL)1 - p);
            delta[i] = out[i] - y[i];
        }
        return total / (double)n_rows;
    default: /* squared error, averaged over rows and outputs, halved */
        for (ptrdiff_t i = 0; i < n; i++) {
            double residual = (double)y[i] - (double)out[i];
            total += residual * residual;
            delta[i] = out[i] - y[i];
        }
        return 0.5 * total / (double)n;
    }
}

/* grad = (grad + alpha * weights) / n_samples: the L2 term, then the mean. */
void MLPF_NAME(mlpf_finish_weight_gradient, SFX)(REAL *grad, const REAL *weights,
                                                 ptrdiff_t n, double alpha,
                                                 double n_samples)
{
    const REAL alpha_r = (REAL)alpha, n_samples_r = (REAL)n_samples;
    for (ptrdiff_t i = 0; i < n; i++) {
        grad[i] = (grad[i] + alpha_r * weights[i]) / n_samples_r;
    }
}

/*
 * Bias gradient: the mean of delta over rows.  numpy sums a (n, 1) column
 * pairwise but accumulates wider arrays row after row; both orders are kept.
 */
void MLPF_NAME(mlpf_column_means, SFX)(const REAL *delta, ptrdiff_t n_rows,
                                       ptrdiff_t n_cols, REAL *out)
{
    const REAL n_rows_r = (REAL)n_rows;
    if (n_cols == 1) {
        out[0] = MLPF_NAME(pairwise_sum, SFX)(delta, n_rows, 1) / n_rows_r;
        return;
    }
    for (ptrdiff_t j = 0; j < n_cols; j++) {
        out[j] = 0;
    }
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        const REAL *row = delta + i * n_cols;
        for (ptrdiff_t j = 0; j < n_cols; j++) {
            out[j] += row[j];
        }
    }
    for (ptrdiff_t j = 0; j < n_cols; j++) {
        out[j] /= n_rows_r;
    }
}

void MLPF_NAME(mlpf_sgd_update, SFX)(REAL *params, REAL *velocity, const REAL *grad,
                                     ptrdiff_t n, const mlpf_sgd_step *step)
{
    const REAL rate = (REAL)step->learning_rate, momentum = (REAL)step->momentum;
    if (step->nesterov) {
        for (ptrdiff_t i = 0; i < n; i++) {
            REAL v = momentum * velocity[i] - rate * grad[i];
            velocity[i] = v;
            params[i] += momentum * v - rate * grad[i];
        }
    } else {
        for (ptrdiff_t i = 0; i < n; i++) {
            REAL v = momentum * velocity[i] - rate * grad[i];
            velocity[i] = v;
            params[i] += v;
        }
    }
}

/*
 * The moments are kept in REAL, but the step itself is taken in double, as
 * scikit-learn's float64 learning-rate scalar promotes it for float32 weights.
 */
void MLPF_NAME(mlpf_adam_update, SFX)(REAL *params, REAL *m, REAL *v, const REAL *grad,
                                      ptrdiff_t n, const mlpf_adam_step *step)
{
    const REAL beta_1 = (REAL)step->beta_1, one_minus_beta_1 = (REAL)(1.0 - step->beta_1);
    const REAL beta_2 = (REAL)step->beta_2, one_minus_beta_2 = (REAL)(1.0 - step->beta_2);
    const REAL epsilon = (REAL)step->epsilon;
    const double neg_rate = -step->learning_rate;
    for (ptrdiff_t i = 0; i < n; i++) {
        REAL g = grad[i];
        REAL m_i = beta_1 * m[i] + one_minus_beta_1 * g;
        REAL v_i = beta_2 * v[i] + one_minus_beta_2 * (g * g);
        m[i] = m_i;
        v[i] = v_i;
        double update = (neg_rate * (double)m_i) / (double)(SQRT(v_i) + epsilon);
        params[i] = (REAL)((double)params[i] + update);
    }
}

#undef MLPF_NAME
#undef MLPF_NAME_
