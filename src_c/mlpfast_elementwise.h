/*
 * mlpfast element-wise kernels: everything an MLP does between two matrix
 * products.  Each function exists in a double (_f64) and a float (_f32)
 * version, generated from one body in elementwise_impl.h.
 *
 * The arithmetic follows scikit-learn's numpy expressions operation by
 * operation (same order, same divisions, same summation order) so that a
 * float64 fit reproduces scikit-learn's weights up to libm rounding.  The
 * library must therefore be compiled without floating-point contraction
 * (-ffp-contract=off): a fused multiply-add rounds differently.
 */
#ifndef MLPFAST_ELEMENTWISE_H
#define MLPFAST_ELEMENTWISE_H

#include <stddef.h>

#include "mlpfast_tables.h"

/* One SGD step: v = momentum*v - lr*g, then params += v (or the Nesterov look-ahead). */
typedef struct {
    double learning_rate;
    double momentum;
    int nesterov;
} mlpf_sgd_step;

/* One Adam step; learning_rate is the bias-corrected rate of this step. */
typedef struct {
    double learning_rate;
    double beta_1;
    double beta_2;
    double epsilon;
} mlpf_adam_step;

/*
 * How the raw gradient sums of a run of parameters become their gradient:
 * (sum + alpha * W) / weight_sum for weights, sum / weight_sum for biases.
 */
typedef struct {
    double alpha;       /* L2 penalty strength */
    int add_l2;         /* 1 for weights, 0 for biases (no L2 term) */
    double weight_sum;  /* the batch's sample-weight sum (its row count unweighted) */
} mlpf_gradient_finish;

#define MLPF_DECLARE(REAL, SFX)                                                  \
    void mlpf_bias_activation##SFX(REAL *z, const REAL *bias, ptrdiff_t n_rows,  \
                                   ptrdiff_t n_cols, int activation,             \
                                   REAL *kept_z);                                \
    void mlpf_multiply_derivative##SFX(const REAL *z, const REAL *a, REAL *delta, \
                                       ptrdiff_t n, int activation);            \
    double mlpf_loss_and_output_delta##SFX(const REAL *out, const REAL *y,       \
                                           const REAL *sample_weight,            \
                                           REAL *delta, ptrdiff_t n_rows,        \
                                           ptrdiff_t n_cols, int loss,           \
                                           double loss_parameter);               \
    void mlpf_finish_weight_gradient##SFX(REAL *grad, const REAL *weights,       \
                                          ptrdiff_t n, double alpha,            \
                                          double weight_sum);                   \
    void mlpf_column_sums##SFX(const REAL *delta, ptrdiff_t n_rows,              \
                               ptrdiff_t n_cols, REAL *out, int accumulate);     \
    void mlpf_divide##SFX(REAL *x, ptrdiff_t n, double divisor);                 \
    REAL mlpf_sum##SFX(const REAL *x, ptrdiff_t n);                              \
    void mlpf_transpose##SFX(const REAL *src, ptrdiff_t n_rows, ptrdiff_t n_cols, \
                             REAL *dst);                                         \
    int mlpf_all_finite##SFX(const REAL *x, ptrdiff_t n);                        \
    void mlpf_sgd_finish_update##SFX(REAL *params, REAL *velocity,               \
                                     const REAL *grad, const REAL *grad_second,  \
                                     ptrdiff_t n,                                \
                                     const mlpf_gradient_finish *finish,         \
                                     const mlpf_sgd_step *step);                 \
    void mlpf_adam_finish_update##SFX(REAL *params, REAL *m, REAL *v,            \
                                      const REAL *grad, const REAL *grad_second, \
                                      ptrdiff_t n,                               \
                                      const mlpf_gradient_finish *finish,        \
                                      const mlpf_adam_step *step);

MLPF_DECLARE(double, _f64)
MLPF_DECLARE(float, _f32)

/*
 * Subnormal numbers flushed to zero by the calling thread's floating-point
 * unit until mlpf_flush_subnormals_end(saved) restores its previous mode
 * (x86 with SSE: MXCSR's flush-to-zero and denormals-are-zero bits;
 * aarch64: FPCR's FZ bit; a no-op elsewhere).  For the optimizer step, see
 * elementwise.c.
 */
unsigned mlpf_flush_subnormals_begin(void);
void mlpf_flush_subnormals_end(unsigned saved);

#undef MLPF_DECLARE

#endif /* MLPFAST_ELEMENTWISE_H */
